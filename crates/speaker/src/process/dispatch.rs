//! Carrying out what a program asks, and feeding it events.
//!
//! Commands are handled one at a time in the order the program wrote them,
//! and answered in that order: output lines (for `show ...`), then `done`
//! or `error <reason>` when acks are on. Route commands are the exception
//! to one-at-a-time: consecutive announcements (or withdrawals) for the
//! same neighbors that the program wrote in one go are handed to the
//! speaker in one call, then each is answered; the answers are the same,
//! and a program that writes a million routes is not a million calls.
//! While the RIB task applies a batch, the next one is read (at most
//! [`MAX_SENT`] wait so); any other command, and the program's falling
//! silent, waits until the routes before it are applied and answered.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use tokio::process::ChildStdout;
use tracing::{debug, info, warn};

use ribbit_exabgp::text::{Announcement, ApiCommand, Command, NeighborSelector, Withdrawal};
use ribbit_wire::nlri::{FlowspecNlri, LabeledNlri, PrefixNlri, VpnNlri};
use ribbit_wire::{Family, NlriList};

use super::command::{self, AckSwitch, Line, Request, Rib};
use super::encode::{Ends, EventEncoder, GapCause};
use super::lines::{self, Lines, Next};
use super::queue::{bump, Closed, EventLines, Outbox};
use super::{show, ControlRequest, Program, Shared};
use crate::announce::Submitted;
use crate::api::events::resync_ready;
use crate::config::{EventKind, NeighborScope};
use crate::event_thread::{self, Relayed};
use crate::peer::PeerEvent;
use crate::rib_task::AdjTable;
use crate::speaker::Speaker;

/// The most route commands handed to the speaker in one call.
pub const MAX_BATCH: usize = 10_000;

/// The most batches handed to the speaker and not yet applied: the next
/// batch is read while the RIB task applies these.
pub const MAX_SENT: usize = 2;

/// How often a program's event task looks whether a dropped program has
/// room again for its gap and re-sync, when no event comes.
const GAP_CHECK: Duration = Duration::from_millis(100);

/// Events the program's task takes from its relay at a time: enough for
/// large writes during a burst, few enough that a re-sync check or a
/// command's reply is not held up behind a whole table.
const EVENT_BATCH: usize = 1024;

// ------------------------------------------------------------------ routes

/// Routes handed to the speaker in one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Announce these.
    Announce(Vec<Announcement>),
    /// Withdraw these.
    Withdraw(Vec<Withdrawal>),
}

/// The one place where routes of programs reach the speaker: one call for
/// every announcement of a batch ([`Speaker::announce_all`]), one for every
/// withdrawal ([`Speaker::withdraw_all`]). `neighbors` empty: every
/// neighbor configured for each route's family.
pub async fn send_routes(
    speaker: &Speaker,
    neighbors: &[IpAddr],
    change: Change,
) -> Result<(), String> {
    match change {
        Change::Announce(list) => speaker
            .announce_all(neighbors, &list)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string()),
        Change::Withdraw(list) => speaker
            .withdraw_all(neighbors, &list)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string()),
    }
}

/// The neighbors of a route command without selectors for a program
/// limited to some neighbors: those of them configured for the family
/// (ExaBGP sends a route to the neighbors that have its family).
fn with_family(speaker: &Speaker, neighbors: &[IpAddr], family: Family) -> Vec<IpAddr> {
    neighbors
        .iter()
        .copied()
        .filter(|p| {
            speaker
                .neighbor_config(*p)
                .is_some_and(|n| n.families.contains(&family))
        })
        .collect()
}

/// One NLRI, as the program's routes are remembered: labels are not part
/// of what a route is (a withdrawal carries none).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Item {
    Prefix(PrefixNlri),
    Labeled(LabeledNlri),
    Vpn(VpnNlri),
    Flow(FlowspecNlri),
}

fn items(list: &NlriList) -> Vec<Item> {
    match list {
        NlriList::Prefixes(v) => v.iter().map(|n| Item::Prefix(*n)).collect(),
        NlriList::Labeled(v) => v
            .iter()
            .map(|n| {
                let mut n = n.clone();
                n.labels.clear();
                Item::Labeled(n)
            })
            .collect(),
        NlriList::Vpn(v) => v
            .iter()
            .map(|n| {
                let mut n = n.clone();
                n.labels.clear();
                Item::Vpn(n)
            })
            .collect(),
        NlriList::Flowspec(v) => v.iter().cloned().map(Item::Flow).collect(),
    }
}

/// Items of one family back into a list (they are all of one layout).
fn list_of(items: Vec<Item>) -> Option<NlriList> {
    let mut it = items.into_iter().peekable();
    Some(match it.peek()? {
        Item::Prefix(_) => NlriList::Prefixes(
            it.filter_map(|i| match i {
                Item::Prefix(n) => Some(n),
                _ => None,
            })
            .collect(),
        ),
        Item::Labeled(_) => NlriList::Labeled(
            it.filter_map(|i| match i {
                Item::Labeled(n) => Some(n),
                _ => None,
            })
            .collect(),
        ),
        Item::Vpn(_) => NlriList::Vpn(
            it.filter_map(|i| match i {
                Item::Vpn(n) => Some(n),
                _ => None,
            })
            .collect(),
        ),
        Item::Flow(_) => NlriList::Flowspec(
            it.filter_map(|i| match i {
                Item::Flow(n) => Some(n),
                _ => None,
            })
            .collect(),
        ),
    })
}

/// What a program announced that outlives its runs: the routes per
/// neighbor (kept only with `on-exit = "withdraw"`, which needs them) and
/// its watchdogs.
#[derive(Debug, Default)]
pub(crate) struct RouteState {
    ledger: HashMap<IpAddr, HashMap<Family, HashSet<Item>>>,
    /// Per watchdog: its routes and for which neighbors, and whether they
    /// are announced now.
    watchdogs: HashMap<String, Watchdog>,
}

#[derive(Debug, Default)]
struct Watchdog {
    routes: Vec<(Vec<IpAddr>, Announcement)>,
    announced: bool,
}

impl RouteState {
    /// Remember a change that went to `neighbors`, each only for the
    /// families it has (`has`).
    fn record(
        &mut self,
        neighbors: &[IpAddr],
        change: &Change,
        has: impl Fn(IpAddr, Family) -> bool,
    ) {
        for peer in neighbors {
            let per = self.ledger.entry(*peer).or_default();
            match change {
                Change::Announce(list) => {
                    for a in list.iter().filter(|a| !a.held && has(*peer, a.family)) {
                        per.entry(a.family).or_default().extend(items(&a.nlri));
                    }
                }
                Change::Withdraw(list) => {
                    for w in list {
                        if let Some(set) = per.get_mut(&w.family) {
                            for i in items(&w.nlri) {
                                set.remove(&i);
                            }
                        }
                    }
                }
            }
        }
    }

    /// Everything recorded, as withdrawals per neighbor; forgotten.
    fn take_all(&mut self) -> Vec<(IpAddr, Vec<Withdrawal>)> {
        std::mem::take(&mut self.ledger)
            .into_iter()
            .map(|(peer, families)| {
                let list = families
                    .into_iter()
                    .filter_map(|(family, set)| {
                        list_of(set.into_iter().collect()).map(|nlri| Withdrawal { family, nlri })
                    })
                    .collect();
                (peer, list)
            })
            .collect()
    }
}

/// With `on-exit = "withdraw"`: withdraw every route the program announced
/// and did not withdraw.
pub(crate) async fn withdraw_all(shared: &Shared, program: &Program) {
    let all = program
        .routes
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take_all();
    for (peer, list) in all {
        if list.is_empty() {
            continue;
        }
        let n: usize = list.iter().map(|w| w.nlri.len()).sum();
        match send_routes(&shared.speaker, &[peer], Change::Withdraw(list)).await {
            Ok(()) => {
                info!(process = %program.config.name, %peer, routes = n, "routes of the exited process withdrawn")
            }
            Err(e) => {
                warn!(process = %program.config.name, %peer, error = %e, "cannot withdraw the routes of the exited process")
            }
        }
    }
}

// ------------------------------------------------------------------ events

/// Feed a program the events it receives until its queue closes.
pub(crate) async fn events(shared: Arc<Shared>, program: Arc<Program>, outbox: Outbox) {
    let cfg = &program.config;
    let receive: Vec<EventKind> = cfg.receive.iter().copied().collect();
    if receive.is_empty() {
        return;
    }
    let mut enc = EventEncoder::new(cfg.encoder, &receive, cfg.neighbors.clone());
    // Two stages: a forwarder takes the speaker's events as they come
    // (cheap: they are shared, not copied) into a queue of the program's
    // size, and this task encodes them. Encoding is the costly part; done
    // here, beside the forwarder, a burst of UPDATEs does not make the
    // program fall behind the speaker's event buffer.
    let sub = shared.speaker.subscribe().into_receiver();
    let scope = cfg.neighbors.clone();
    // A thread rather than a task (see crate::event_thread). It ends when
    // this task's end closes its queue or the speaker goes away.
    let relay = event_thread::relay(format!("process-{}", cfg.name), sub, cfg.queue, move |e| {
        e.peer().is_some_and(|p| scope.contains(p))
    });
    let mut rx = match relay {
        Ok(rx) => rx,
        Err(e) => {
            warn!(process = %cfg.name, error = %e, "cannot start the event thread; no events");
            return;
        }
    };
    // Sessions may be up before the program starts (at Ribbit's start, or
    // when it is restarted): it is told what it missed, subscribed first
    // so that nothing falls between the two.
    if initial(&shared, &mut enc, &outbox).await.is_err() {
        return;
    }
    let mut ends: HashMap<IpAddr, Option<Ends>> = HashMap::new();
    let mut gap = Gap {
        missed: 0,
        since: std::time::Instant::now(),
        cause: GapCause::QueueFull,
    };
    let mut last_event = std::time::Instant::now();
    let mut tick = tokio::time::interval(GAP_CHECK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The events the relay has ready are taken together, their lines
    // encoded into blocks of the queue and handed to the writer a block
    // at a time: a burst goes to the program in large writes.
    let mut batch: Vec<Relayed> = Vec::new();
    let mut lines = EventLines::default();
    // The batch's UPDATEs, offered back to the neighbor tasks once encoded
    // (`SpareUpdates`): while a table streams to a program this task is
    // often the last to hold them, and freeing them here was a seventh of
    // its time while the neighbor task allocated new ones.
    let mut spent: Vec<Arc<ribbit_wire::Update>> = Vec::new();
    loop {
        let taken = tokio::select! {
            n = rx.recv_many(&mut batch, EVENT_BATCH) => Some(n),
            _ = tick.tick() => None,
        };
        // Time for the gap and the re-sync once the program has read half
        // its queue and the speaker has been quiet for a moment: every
        // event it sent is then taken (delivered or dropped) and applied
        // to the tables the re-sync reads (events are published before
        // the RIB applies them, so a re-sync in a burst could miss some).
        // A speaker never quiet that long (steady churn) does not put it
        // off for more than a second.
        if gap.missed > 0
            && taken.is_none()
            && outbox.room() * 2 >= outbox.capacity()
            && resync_ready(rx.is_empty(), last_event.elapsed(), gap.since.elapsed())
        {
            if resync(&shared, &program, &mut enc, &outbox, gap.missed, gap.cause)
                .await
                .is_err()
            {
                return;
            }
            gap.missed = 0;
            ends.clear();
        }
        match taken {
            None => continue,
            // The relay is gone (the speaker stopped).
            Some(0) => return,
            Some(_) => last_event = std::time::Instant::now(),
        }
        for item in batch.drain(..) {
            let e = match item {
                Ok(e) => e,
                Err(n) => {
                    program
                        .counters
                        .events_missed
                        .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
                    if gap.missed == 0 {
                        gap.since = std::time::Instant::now();
                    }
                    gap.missed += n;
                    gap.cause = GapCause::FellBehind;
                    continue;
                }
            };
            let peer = match &e {
                PeerEvent::State { peer, to, .. } => {
                    // Up: our address on the new session is known (and the
                    // neighbor's settings may have changed since the last
                    // one): looked up afresh, then kept until the next
                    // session.
                    if *to == ribbit_fsm::State::Established {
                        ends.remove(peer);
                    }
                    *peer
                }
                other => match other.peer() {
                    Some(peer) => peer,
                    None => continue,
                },
            };
            if !enc.in_scope(peer) {
                continue;
            }
            let end = match ends.get(&peer) {
                Some(e) => *e,
                None => {
                    let e = session_ends(&shared.speaker, peer).await;
                    ends.insert(peer, e);
                    e
                }
            };
            lines.add(|out| enc.event(&e, |_| end, out));
            if let PeerEvent::Update { update, .. } = e {
                spent.push(update);
            }
            if lines.is_full() {
                if queue_lines(&outbox, &mut lines, &mut gap).await.is_err() {
                    return;
                }
                // Written while the rest of the batch is encoded: the
                // program reads text still in the cache, and the queue
                // does not grow into memory never touched before.
                outbox.flush();
            }
        }
        if queue_lines(&outbox, &mut lines, &mut gap).await.is_err() {
            return;
        }
        outbox.flush();
        drop(shared.speaker.rib.spares.keep(spent.drain(..)));
    }
}

/// Events a program missed since its last re-sync: how many, since when,
/// and why.
struct Gap {
    missed: u64,
    since: std::time::Instant,
    cause: GapCause,
}

/// Queue the encoded event lines; those dropped for want of room count as
/// missed.
async fn queue_lines(outbox: &Outbox, lines: &mut EventLines, gap: &mut Gap) -> Result<(), Closed> {
    if lines.is_empty() {
        return Ok(());
    }
    let dropped = outbox.events(lines).await?;
    if dropped > 0 {
        if gap.missed == 0 {
            gap.since = std::time::Instant::now();
        }
        gap.missed += dropped;
        gap.cause = GapCause::QueueFull;
    }
    Ok(())
}

/// A neighbor's session ends for ExaBGP's envelope: our address on the
/// session while it is up, else the configured or listening one.
async fn session_ends(speaker: &Speaker, peer: IpAddr) -> Option<Ends> {
    let mut ends = speaker
        .neighbor_config(peer)
        .map(|n| Ends::of(&n, speaker.local_addrs()))?;
    if let Some(local) = speaker
        .neighbor_info(peer)
        .await
        .and_then(|i| i.session)
        .and_then(|s| s.local)
    {
        ends.local_address = local.ip();
    }
    Some(ends)
}

/// The state and table of every established neighbor in scope.
async fn initial(shared: &Shared, enc: &mut EventEncoder, outbox: &Outbox) -> Result<(), Closed> {
    let speaker = &shared.speaker;
    for peer in speaker.neighbor_addresses() {
        if !enc.in_scope(peer) {
            continue;
        }
        let state = speaker.state(peer).await;
        if state != Some(ribbit_fsm::State::Established) {
            continue;
        }
        give_neighbor(speaker, enc, outbox, peer, state).await?;
    }
    Ok(())
}

/// A neighbor's state line, then its table ([`Speaker::resync_table`],
/// a page at a time) when the program receives updates. Returns how many
/// routes were given.
async fn give_neighbor(
    speaker: &Speaker,
    enc: &mut EventEncoder,
    outbox: &Outbox,
    peer: IpAddr,
    state: Option<ribbit_fsm::State>,
) -> Result<usize, Closed> {
    let ends = session_ends(speaker, peer).await;
    let mut lines = Vec::new();
    enc.resync_state(peer, ends, state, &mut lines);
    for l in lines {
        outbox.wait_put(&l).await?;
    }
    outbox.flush();
    if !enc.receives(EventKind::Update) {
        return Ok(0);
    }
    let (mut table, mut given) = (speaker.resync_table(peer, None), 0);
    while let Some(routes) = table.next_page().await {
        given += routes.len();
        let mut lines = Vec::new();
        enc.resync_routes(peer, ends, &routes, &mut lines);
        for l in lines {
            outbox.wait_put(&l).await?;
        }
        outbox.flush();
    }
    Ok(given)
}

/// The gap line, then each neighbor's state and table, then the end line.
async fn resync(
    shared: &Shared,
    program: &Program,
    enc: &mut EventEncoder,
    outbox: &Outbox,
    missed: u64,
    cause: GapCause,
) -> Result<(), Closed> {
    bump(&program.counters.gaps);
    warn!(process = %program.config.name, missed, reason = ?cause, "process missed events; re-sync");
    outbox.wait_put(&enc.gap(missed, cause)).await?;
    let speaker = &shared.speaker;
    let (mut neighbors, mut routes) = (0, 0);
    for peer in speaker.neighbor_addresses() {
        if !enc.in_scope(peer) {
            continue;
        }
        neighbors += 1;
        let state = speaker.state(peer).await;
        routes += give_neighbor(speaker, enc, outbox, peer, state).await?;
    }
    outbox.wait_put(&enc.resync_end(neighbors, routes)).await?;
    outbox.flush();
    Ok(())
}

// ---------------------------------------------------------------- commands

/// Read and carry out a program's commands until its output closes.
pub(crate) async fn commands(
    shared: Arc<Shared>,
    program: Arc<Program>,
    outbox: Outbox,
    stdout: Option<ChildStdout>,
) {
    let Some(stdout) = stdout else {
        return;
    };
    let mut lines = Lines::new(stdout, lines::MAX_LINE);
    let mut d = Dispatcher {
        ack: program.config.ack,
        shared,
        program,
        outbox,
        batch: Batch::default(),
        sent: VecDeque::new(),
    };
    loop {
        let text = match lines.next() {
            Some(Next::Whole(line)) => String::from_utf8_lossy(lines.get(line)),
            Some(Next::TooLong(len)) => {
                bump(&d.program.counters.commands);
                let e = format!(
                    "a line of more than {} bytes ({len} read) is not a command: skipped",
                    lines::MAX_LINE
                );
                if d.carry_out(Work::Answer(None, Err(e))).await.is_err() {
                    return;
                }
                continue;
            }
            None if lines.ended() => break,
            None => {
                // Nothing whole is buffered: read what the program wrote
                // without waiting; only when it wrote nothing more do the
                // batched routes go to the speaker, and their commands get
                // their answers, before waiting.
                let read = match lines.read_now() {
                    Some(r) => r,
                    None => {
                        if d.flush().await.is_err() || d.settle().await.is_err() {
                            return;
                        }
                        lines.read().await
                    }
                };
                if read.is_err() {
                    break;
                }
                continue;
            }
        };
        let text = text.trim_end_matches('\r');
        if text.trim().is_empty() {
            continue;
        }
        bump(&d.program.counters.commands);
        if let Some(work) = d.take(text) {
            if d.carry_out(work).await.is_err() {
                return;
            }
        }
    }
    if d.flush().await.is_ok() {
        let _ = d.settle().await;
    }
}

/// Route commands waiting to go to the speaker together.
#[derive(Debug, Default)]
struct Batch {
    neighbors: Vec<IpAddr>,
    change: Option<Change>,
    /// The id of each command in it, to answer them in order.
    ids: Vec<Option<String>>,
}

/// What a line still needs once [`Dispatcher::take`] has done what needs
/// no waiting; each is carried out after the batch before it is sent.
enum Work {
    /// A route that starts a new batch.
    NewBatch(Option<String>, Vec<IpAddr>, Route),
    /// Only the answer.
    Answer(Option<String>, Result<(), String>),
    /// A route command that is not a route, to these neighbors.
    Routes(Option<String>, Vec<IpAddr>, RouteControl),
    /// Any other command.
    Command(Option<String>, Request),
}

/// The route commands that carry no route.
enum RouteControl {
    /// `announce route-refresh FAMILY`.
    Refresh(Family),
    /// `announce eor FAMILY`.
    EndOfRib(Family),
    /// `announce watchdog NAME` (true) / `withdraw watchdog NAME`.
    Watchdog(String, bool),
}

/// One route command's change, on its way into a batch.
// Moved once, into the batch: a Box would be an allocation per command.
#[allow(clippy::large_enum_variant)]
enum Route {
    Announce(Announcement),
    Withdraw(Withdrawal),
}

impl Batch {
    /// Whether a command of this kind for these neighbors may join.
    fn fits(&self, neighbors: &[IpAddr], route: &Route) -> bool {
        match &self.change {
            None => true,
            Some(c) => {
                self.neighbors == neighbors
                    && matches!(c, Change::Announce(_)) == matches!(route, Route::Announce(_))
                    && self.ids.len() < MAX_BATCH
            }
        }
    }

    /// Add a command's route (after [`Batch::fits`]). A route that differs
    /// from the one before it only in its NLRI joins that one's NLRI list,
    /// as the speaker would group them anyway: ten thousand commands of a
    /// table are one entry, not ten thousand to move and free.
    fn add(&mut self, neighbors: Vec<IpAddr>, id: Option<String>, route: Route) {
        self.ids.push(id);
        match (&mut self.change, route) {
            (Some(Change::Announce(v)), Route::Announce(a)) => {
                let joined = v
                    .last_mut()
                    .is_some_and(|last| same_but_nlri(last, &a) && last.nlri.extend_from(&a.nlri));
                if !joined {
                    v.push(a);
                }
            }
            (Some(Change::Withdraw(v)), Route::Withdraw(w)) => {
                let joined = v
                    .last_mut()
                    .is_some_and(|last| last.family == w.family && last.nlri.extend_from(&w.nlri));
                if !joined {
                    v.push(w);
                }
            }
            (slot, route) => {
                *slot = Some(match route {
                    Route::Announce(a) => Change::Announce(vec![a]),
                    Route::Withdraw(w) => Change::Withdraw(vec![w]),
                });
                self.neighbors = neighbors;
            }
        }
    }
}

/// Whether two announcements are the same but for their NLRI.
fn same_but_nlri(a: &Announcement, b: &Announcement) -> bool {
    // Every field named, so that a new one is not forgotten here.
    let Announcement {
        family,
        nlri: _,
        next_hop,
        attributes,
        watchdog,
        held,
        name,
    } = a;
    *family == b.family
        && *next_hop == b.next_hop
        && *held == b.held
        && *watchdog == b.watchdog
        && *name == b.name
        && *attributes == b.attributes
}

struct Dispatcher {
    shared: Arc<Shared>,
    program: Arc<Program>,
    outbox: Outbox,
    ack: bool,
    batch: Batch,
    /// Batches handed to the speaker, oldest first, their commands not
    /// answered yet.
    sent: VecDeque<Sent>,
}

/// A batch handed to the speaker.
struct Sent {
    /// The id of each of its commands, to answer them in order.
    ids: Vec<Option<String>>,
    /// The routes queued for the RIB task (none when all were held), or
    /// why they were refused.
    outcome: Result<Option<Submitted>, String>,
    /// The change and where it went, to remember once applied (`on-exit =
    /// "withdraw"`).
    record: Option<(Vec<IpAddr>, Change)>,
}

impl Dispatcher {
    /// Do what a line asks that needs no waiting: a route joins the
    /// batch here, which is what nearly every line of a busy program is
    /// (`None`: nothing is left to do).
    fn take(&mut self, text: &str) -> Option<Work> {
        match command::parse(text) {
            Err(e) => {
                debug!(process = %self.program.config.name, line = text, error = %e.message, "command refused");
                Some(Work::Answer(e.id, Err(e.message)))
            }
            Ok(Line {
                id,
                request: Request::Route(cmd),
            }) => self.take_route(id, cmd),
            Ok(Line { id, request }) => Some(Work::Command(id, request)),
        }
    }

    /// Carry out what [`Dispatcher::take`] left, after the routes batched
    /// before it.
    async fn carry_out(&mut self, work: Work) -> Result<(), Closed> {
        self.flush().await?;
        // A new batch is read while the speaker applies the one before;
        // anything else is answered after the routes before it.
        if !matches!(work, Work::NewBatch(..)) {
            self.settle().await?;
        }
        match work {
            Work::NewBatch(id, neighbors, route) => {
                self.batch.add(neighbors, id, route);
                Ok(())
            }
            Work::Answer(id, r) => self.answer(id.as_deref(), Vec::new(), r).await,
            Work::Routes(id, neighbors, what) => self.route_control(id, neighbors, what).await,
            Work::Command(id, request) => self.control(id, request).await,
        }
    }

    /// Reply lines, then the ack, each prefixed with the command's id.
    async fn answer(
        &mut self,
        id: Option<&str>,
        lines: Vec<String>,
        result: Result<(), String>,
    ) -> Result<(), Closed> {
        self.reply_lines(id, lines).await?;
        if let Err(e) = &result {
            bump(&self.program.counters.errors);
            if !self.ack {
                warn!(process = %self.program.config.name, error = %e, "command failed (acks are off)");
            }
        }
        if self.ack {
            let ack = match result {
                Ok(()) => "done".to_string(),
                // One line, whatever the message holds.
                Err(e) => format!("error {}", e.replace(['\n', '\r'], " ")),
            };
            self.reply_lines(id, vec![ack]).await?;
        }
        Ok(())
    }

    /// Lines of an answer, each with the command's id when it had one.
    async fn reply_lines(&mut self, id: Option<&str>, lines: Vec<String>) -> Result<(), Closed> {
        for l in lines {
            let line = match id {
                Some(id) => format!("@{id} {l}"),
                None => l,
            };
            self.outbox.reply(&line).await?;
        }
        Ok(())
    }

    /// The neighbors that selectors pick among the program's, or why not.
    fn select(&self, selectors: &[NeighborSelector]) -> Result<Vec<IpAddr>, String> {
        select(
            &self.shared.speaker,
            &self.program.config.neighbors,
            selectors,
        )
    }

    /// Where a route command goes: `None` for every neighbor of the
    /// route's family (no selector, every neighbor in scope); else the
    /// neighbors, and whether they were named (a named neighbor without
    /// the family is an error; one that is only in scope is skipped).
    fn targets(
        &self,
        selectors: &[NeighborSelector],
    ) -> Result<Option<(Vec<IpAddr>, bool)>, String> {
        if selectors.is_empty() && self.program.config.neighbors == NeighborScope::All {
            return Ok(None);
        }
        Ok(Some((self.select(selectors)?, !selectors.is_empty())))
    }

    /// A route command: an announcement or withdrawal joins the batch
    /// when it fits.
    fn take_route(&mut self, id: Option<String>, cmd: ApiCommand) -> Option<Work> {
        let targets = match self.targets(&cmd.neighbors) {
            Ok(t) => t,
            Err(e) => return Some(Work::Answer(id, Err(e))),
        };
        let control = |what| {
            let neighbors = match &targets {
                None => self.shared.speaker.neighbor_addresses(),
                Some((v, _)) => v.clone(),
            };
            Some(Work::Routes(id.clone(), neighbors, what))
        };
        let route = match cmd.command {
            Command::Announce(a) => Route::Announce(a),
            Command::Withdraw(w) => Route::Withdraw(w),
            Command::RouteRefresh(f) => return control(RouteControl::Refresh(f)),
            Command::EndOfRib(f) => return control(RouteControl::EndOfRib(f)),
            Command::AnnounceWatchdog(name) => return control(RouteControl::Watchdog(name, true)),
            Command::WithdrawWatchdog(name) => return control(RouteControl::Watchdog(name, false)),
        };
        let family = match &route {
            Route::Announce(a) => a.family,
            Route::Withdraw(w) => w.family,
        };
        // To the named neighbors, to the program's that have the family,
        // or (empty) to every neighbor that has it.
        let to = match &targets {
            None => Vec::new(),
            Some((v, true)) => v.clone(),
            Some((v, false)) => with_family(&self.shared.speaker, v, family),
        };
        if targets.is_some() && to.is_empty() {
            // None of the program's neighbors has the family.
            return Some(Work::Answer(id, Ok(())));
        }
        if let Route::Announce(a) = &route {
            if let Some(w) = &a.watchdog {
                self.watch(w, &to, a);
            }
        }
        if !self.batch.fits(&to, &route) {
            return Some(Work::NewBatch(id, to, route));
        }
        self.batch.add(to, id, route);
        None
    }

    /// The route commands that are not routes, to `neighbors`.
    async fn route_control(
        &mut self,
        id: Option<String>,
        neighbors: Vec<IpAddr>,
        what: RouteControl,
    ) -> Result<(), Closed> {
        let speaker = Arc::clone(&self.shared.speaker);
        let r = match what {
            RouteControl::Refresh(family) => {
                let mut asked = 0;
                for p in &neighbors {
                    if speaker.route_refresh(*p, family).await {
                        asked += 1;
                    }
                }
                if asked == 0 {
                    Err("no selected neighbor could be asked for a route refresh".to_string())
                } else {
                    Ok(())
                }
            }
            RouteControl::EndOfRib(family) => {
                // After the routes of this program handed over before it
                // (the batch is sent). A neighbor whose session is not up
                // gets its End-of-RIB after its first table anyway
                // (RFC 4724 §2).
                let mut configured = 0;
                for p in &neighbors {
                    let has = speaker
                        .neighbor_config(*p)
                        .is_some_and(|n| n.families.contains(&family));
                    if has {
                        configured += 1;
                        speaker.send_end_of_rib(*p, family).await;
                    }
                }
                if configured == 0 {
                    Err(format!("no selected neighbor is configured for {family}"))
                } else {
                    Ok(())
                }
            }
            RouteControl::Watchdog(name, announce) => self.watchdog(&name, announce).await,
        };
        self.answer(id.as_deref(), Vec::new(), r).await
    }

    fn watch(&self, name: &str, neighbors: &[IpAddr], a: &Announcement) {
        let mut s = self
            .program
            .routes
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let w = s.watchdogs.entry(name.to_string()).or_default();
        let mut kept = a.clone();
        kept.held = false;
        w.routes.push((neighbors.to_vec(), kept));
        if !a.held {
            w.announced = true;
        }
    }

    /// `announce watchdog NAME` / `withdraw watchdog NAME`.
    async fn watchdog(&mut self, name: &str, announce: bool) -> Result<(), String> {
        let routes = {
            let mut s = self
                .program
                .routes
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let Some(w) = s.watchdogs.get_mut(name) else {
                return Err(format!("no route uses the watchdog {name:?}"));
            };
            w.announced = announce;
            w.routes.clone()
        };
        for (neighbors, a) in routes {
            let change = if announce {
                Change::Announce(vec![a])
            } else {
                Change::Withdraw(vec![Withdrawal {
                    family: a.family,
                    nlri: a.nlri,
                }])
            };
            self.send(&neighbors, change).await?;
        }
        Ok(())
    }

    /// Hand the waiting routes to the speaker. Their commands are
    /// answered once it has applied them ([`Dispatcher::settle`]); until
    /// then the program's next lines are read, with at most [`MAX_SENT`]
    /// batches waiting so.
    async fn flush(&mut self) -> Result<(), Closed> {
        let batch = std::mem::take(&mut self.batch);
        if let Some(change) = batch.change {
            let sent = self.submit(batch.neighbors, change, batch.ids);
            self.sent.push_back(sent);
        }
        while self.sent.len() > MAX_SENT {
            self.settle_oldest().await?;
        }
        Ok(())
    }

    /// Answer the commands of every batch handed to the speaker, once it
    /// has applied them.
    async fn settle(&mut self) -> Result<(), Closed> {
        while !self.sent.is_empty() {
            self.settle_oldest().await?;
        }
        Ok(())
    }

    async fn settle_oldest(&mut self) -> Result<(), Closed> {
        let Some(sent) = self.sent.pop_front() else {
            return Ok(());
        };
        let r = self.applied(sent.outcome, sent.record).await;
        // Without acks a success has nothing to say.
        if self.ack || r.is_err() {
            for id in sent.ids {
                self.answer(id.as_deref(), Vec::new(), r.clone()).await?;
            }
        }
        Ok(())
    }

    /// Routes to the speaker, at once (watchdogs).
    async fn send(&mut self, neighbors: &[IpAddr], change: Change) -> Result<(), String> {
        let sent = self.submit(neighbors.to_vec(), change, Vec::new());
        self.applied(sent.outcome, sent.record).await
    }

    /// Queue routes for the speaker's RIB task.
    fn submit(&self, neighbors: Vec<IpAddr>, change: Change, ids: Vec<Option<String>>) -> Sent {
        let keep = self.program.config.on_exit == crate::config::OnExit::Withdraw;
        // Held routes (the `withdraw` keyword with a watchdog) are known,
        // not sent.
        let change = match change {
            Change::Announce(mut v) => {
                v.retain(|a| !a.held);
                Change::Announce(v)
            }
            w => w,
        };
        if matches!(&change, Change::Announce(v) if v.is_empty()) {
            return Sent {
                ids,
                outcome: Ok(None),
                record: None,
            };
        }
        let speaker = &self.shared.speaker;
        let outcome = match &change {
            Change::Announce(list) => speaker.submit_announcements(&neighbors, list),
            Change::Withdraw(list) => speaker.submit_withdrawals(&neighbors, list),
        };
        Sent {
            ids,
            outcome: outcome.map(Some).map_err(|e| e.to_string()),
            record: keep.then_some((neighbors, change)),
        }
    }

    /// Wait until routes handed to the speaker are applied; remember them
    /// for `on-exit = "withdraw"` when they were.
    async fn applied(
        &self,
        outcome: Result<Option<Submitted>, String>,
        record: Option<(Vec<IpAddr>, Change)>,
    ) -> Result<(), String> {
        if let Some(submitted) = outcome? {
            submitted.applied().await.map_err(|e| e.to_string())?;
        }
        if let Some((neighbors, c)) = record {
            let speaker = &self.shared.speaker;
            // No neighbor named: it went to every neighbor of its family.
            let to = if neighbors.is_empty() {
                speaker.neighbor_addresses()
            } else {
                neighbors
            };
            let families: HashMap<IpAddr, Vec<Family>> = to
                .iter()
                .filter_map(|p| speaker.neighbor_config(*p).map(|n| (*p, n.families)))
                .collect();
            self.program
                .routes
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .record(&to, &c, |p, f| {
                    families.get(&p).is_some_and(|v| v.contains(&f))
                });
        }
        Ok(())
    }

    async fn control(&mut self, id: Option<String>, request: Request) -> Result<(), Closed> {
        let id = id.as_deref();
        let speaker = Arc::clone(&self.shared.speaker);
        let scope = self.program.config.neighbors.clone();
        match request {
            Request::Route(_) => Ok(()),
            Request::Comment(text) => {
                info!(process = %self.program.config.name, "{text}");
                self.answer(id, Vec::new(), Ok(())).await
            }
            Request::Ack(AckSwitch::Enable) => {
                self.ack = true;
                self.answer(id, Vec::new(), Ok(())).await
            }
            Request::Ack(AckSwitch::Disable) => {
                // This one is still answered.
                self.answer(id, Vec::new(), Ok(())).await?;
                self.ack = false;
                Ok(())
            }
            Request::Ack(AckSwitch::Silence) => {
                self.ack = false;
                Ok(())
            }
            Request::Shutdown | Request::Reload | Request::Restart => {
                let (what, req) = match request {
                    Request::Shutdown => ("shutdown", ControlRequest::Shutdown),
                    Request::Reload => ("reload", ControlRequest::Reload),
                    _ => ("restart", ControlRequest::Restart),
                };
                info!(process = %self.program.config.name, "{what} asked by the process");
                let r =
                    self.shared.requests.send(req).map_err(|_| {
                        format!("{what} is not possible: Ribbit runs as a library here")
                    });
                let lines = match r {
                    Ok(()) => vec![format!("{what} in progress")],
                    Err(_) => Vec::new(),
                };
                self.answer(id, lines, r).await
            }
            Request::Version => {
                let line = format!(
                    "ribbit {} (ExaBGP API {})",
                    env!("CARGO_PKG_VERSION"),
                    ribbit_exabgp::json::API_VERSION
                );
                self.answer(id, vec![line], Ok(())).await
            }
            Request::Help => self.answer(id, show::help(), Ok(())).await,
            Request::ShowProcesses => {
                let lines = show::processes(&self.shared.programs);
                self.answer(id, lines, Ok(())).await
            }
            Request::ShowNeighbor { address, view } => {
                let r = show::neighbors(&self.shared, &scope, address, view).await;
                match r {
                    Ok(lines) => self.answer(id, lines, Ok(())).await,
                    Err(e) => self.answer(id, Vec::new(), Err(e)).await,
                }
            }
            // `show adj-rib in|out [ADDRESS] [extensive]`: ExaBGP's lines,
            // `neighbor 192.0.2.2 ipv4 unicast 10.0.0.0/24 next-hop
            // 192.0.2.2`, written a page of the RIB at a time (a full
            // table is a million lines).
            Request::ShowAdjRib {
                rib,
                address,
                extensive,
            } => {
                let peers = match show::neighbors_in(&speaker, &scope, address) {
                    Ok(p) => p,
                    Err(e) => return self.answer(id, Vec::new(), Err(e)).await,
                };
                let table = match rib {
                    Rib::In => AdjTable::In { pre_policy: false },
                    Rib::Out => AdjTable::Out,
                };
                for p in peers {
                    let mut pages = speaker.adj_rib_pages(p, table, None);
                    while let Some(routes) = pages.next_page().await {
                        let lines = routes
                            .iter()
                            .map(|r| show::route_line(p, r, extensive))
                            .collect();
                        self.reply_lines(id, lines).await?;
                    }
                }
                self.answer(id, Vec::new(), Ok(())).await
            }
            Request::Teardown { neighbors, code } => {
                let r = self.teardown(&neighbors, code).await;
                self.answer(id, Vec::new(), r).await
            }
            Request::FlushAdjRibOut { neighbors } => {
                let r = match self.select(&neighbors) {
                    Err(e) => Err(e),
                    Ok(list) => {
                        // ExaBGP sends every route again; so does Ribbit,
                        // from each neighbor's Adj-RIB-Out (framed by BoRR
                        // and EoRR with enhanced route refresh, RFC 7313
                        // §4).
                        let speaker = &self.shared.speaker;
                        let mut resent = 0;
                        for p in list {
                            if speaker.state(p).await != Some(ribbit_fsm::State::Established) {
                                continue;
                            }
                            let families = speaker
                                .neighbor_config(p)
                                .map(|n| n.families)
                                .unwrap_or_default();
                            for f in families {
                                let _ = speaker.send_again(p, f).await;
                            }
                            resent += 1;
                        }
                        if resent == 0 {
                            Err("no selected neighbor has a session up".to_string())
                        } else {
                            Ok(())
                        }
                    }
                };
                self.answer(id, Vec::new(), r).await
            }
            Request::ClearAdjRib { neighbors, rib } => {
                let r = self.clear(&neighbors, rib).await;
                self.answer(id, Vec::new(), r).await
            }
        }
    }

    async fn teardown(&self, selectors: &[NeighborSelector], code: u8) -> Result<(), String> {
        let neighbors = self.select(selectors)?;
        let speaker = &self.shared.speaker;
        for p in neighbors {
            let r = match code {
                // Cease / Administrative Shutdown, then up again, as
                // ExaBGP's teardown lets the session come back.
                2 => match speaker.disable_neighbor(p, None).await {
                    Ok(()) => speaker.enable_neighbor(p).await,
                    Err(e) => Err(e),
                },
                4 => speaker.reset_neighbor(p, None).await,
                other => {
                    return Err(format!(
                        "teardown {other}: Ribbit sends Cease subcode 2 (administrative shutdown) or 4 (administrative reset)"
                    ))
                }
            };
            r.map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    async fn clear(&mut self, selectors: &[NeighborSelector], rib: Rib) -> Result<(), String> {
        let neighbors = self.select(selectors)?;
        match rib {
            // ExaBGP forgets what it received; Ribbit's Adj-RIB-In is the
            // source of its routes, so it is learnt again instead: a route
            // refresh of every family (RFC 2918), a soft inbound reset.
            Rib::In => {
                for p in neighbors {
                    let families = self
                        .shared
                        .speaker
                        .neighbor_config(p)
                        .map(|n| n.families)
                        .unwrap_or_default();
                    for f in families {
                        self.shared.speaker.route_refresh(p, f).await;
                    }
                }
                Ok(())
            }
            // Withdraw what this program announced to them.
            Rib::Out => {
                if self.program.config.on_exit != crate::config::OnExit::Withdraw {
                    return Err(
                        "clear adj-rib out needs on-exit = \"withdraw\" (which keeps the list of the program's routes) in this build of Ribbit"
                            .to_string(),
                    );
                }
                let taken: Vec<(IpAddr, Vec<Withdrawal>)> = {
                    let mut s = self
                        .program
                        .routes
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner);
                    neighbors
                        .iter()
                        .filter_map(|p| {
                            let families = s.ledger.remove(p)?;
                            let list = families
                                .into_iter()
                                .filter_map(|(family, set)| {
                                    list_of(set.into_iter().collect())
                                        .map(|nlri| Withdrawal { family, nlri })
                                })
                                .collect();
                            Some((*p, list))
                        })
                        .collect()
                };
                for (p, list) in taken {
                    if !list.is_empty() {
                        send_routes(&self.shared.speaker, &[p], Change::Withdraw(list)).await?;
                    }
                }
                Ok(())
            }
        }
    }
}

/// The neighbors selectors pick, among those in `scope`; no selector:
/// every neighbor in scope.
pub fn select(
    speaker: &Speaker,
    scope: &NeighborScope,
    selectors: &[NeighborSelector],
) -> Result<Vec<IpAddr>, String> {
    let all = speaker.neighbor_addresses();
    if selectors.is_empty() {
        return Ok(all.into_iter().filter(|p| scope.contains(*p)).collect());
    }
    let router_id = speaker.config_snapshot().global.router_id;
    let mut out = Vec::new();
    for s in selectors {
        let Some(n) = speaker.neighbor_config(s.address) else {
            return Err(format!("no neighbor {}", s.address));
        };
        if !scope.contains(s.address) {
            return Err(format!(
                "neighbor {} is not one of this process's neighbors",
                s.address
            ));
        }
        let matches = s.local_address.is_none_or(|a| n.local_address == Some(a))
            && s.local_as.is_none_or(|a| a == n.local_asn)
            && s.peer_as.is_none_or(|a| a == n.peer_asn)
            && s.router_id.is_none_or(|r| r == router_id);
        if !matches {
            return Err(format!(
                "neighbor {} does not match the selector (local-ip, local-as, peer-as or router-id differ)",
                s.address
            ));
        }
        if !out.contains(&s.address) {
            out.push(s.address);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ribbit_exabgp::text::parse;

    fn route(line: &str) -> Route {
        match parse(line).expect("a valid command").command {
            Command::Announce(a) => Route::Announce(a),
            Command::Withdraw(w) => Route::Withdraw(w),
            other => panic!("not a route: {other:?}"),
        }
    }

    fn prefixes(list: &NlriList) -> Vec<String> {
        match list {
            NlriList::Prefixes(v) => v.iter().map(|n| n.prefix.to_string()).collect(),
            other => panic!("not prefixes: {other:?}"),
        }
    }

    #[test]
    fn routes_differing_only_in_nlri_join_the_one_before() {
        let mut b = Batch::default();
        for (i, line) in [
            "announce route 10.0.0.0/24 next-hop 192.0.2.1 med 5",
            "announce route 10.0.1.0/24 next-hop 192.0.2.1 med 5",
            // Another MED, another next hop, held: each starts an entry.
            "announce route 10.0.2.0/24 next-hop 192.0.2.1 med 6",
            "announce route 10.0.3.0/24 next-hop 192.0.2.2 med 6",
            "announce route 10.0.4.0/24 next-hop 192.0.2.2 med 6 watchdog w withdraw",
            // Back to an earlier set: joins only the one just before.
            "announce route 10.0.5.0/24 next-hop 192.0.2.1 med 5",
            "announce route 10.0.6.0/24 next-hop 192.0.2.1 med 5",
        ]
        .into_iter()
        .enumerate()
        {
            let r = route(line);
            assert!(b.fits(&[], &r));
            b.add(Vec::new(), Some(i.to_string()), r);
        }
        // Every command is answered, in order.
        let ids: Vec<_> = b.ids.iter().map(|i| i.as_deref().unwrap_or("")).collect();
        assert_eq!(ids, ["0", "1", "2", "3", "4", "5", "6"]);
        let Some(Change::Announce(v)) = &b.change else {
            panic!("announcements expected: {:?}", b.change);
        };
        let lists: Vec<_> = v.iter().map(|a| prefixes(&a.nlri)).collect();
        assert_eq!(
            lists,
            [
                vec!["10.0.0.0/24", "10.0.1.0/24"],
                vec!["10.0.2.0/24"],
                vec!["10.0.3.0/24"],
                vec!["10.0.4.0/24"],
                vec!["10.0.5.0/24", "10.0.6.0/24"],
            ]
        );
        assert_eq!(v[0].attributes.med, Some(5));
        assert!(v[3].held && !v[2].held);
        // A withdrawal does not join announcements: the batch goes first.
        assert!(!b.fits(&[], &route("withdraw route 10.0.0.0/24")));
    }

    #[test]
    fn withdrawals_of_one_family_join() {
        let mut b = Batch::default();
        for line in [
            "withdraw route 10.0.0.0/24",
            "withdraw route 10.0.1.0/24",
            "withdraw route 2001:db8::/32",
            "withdraw route 10.0.2.0/24",
        ] {
            b.add(Vec::new(), None, route(line));
        }
        let Some(Change::Withdraw(v)) = &b.change else {
            panic!("withdrawals expected: {:?}", b.change);
        };
        let lists: Vec<_> = v.iter().map(|w| prefixes(&w.nlri)).collect();
        assert_eq!(
            lists,
            [
                vec!["10.0.0.0/24", "10.0.1.0/24"],
                vec!["2001:db8::/32"],
                vec!["10.0.2.0/24"],
            ]
        );
        assert_eq!(b.ids.len(), 4);
        // Other neighbors: a batch of their own.
        let to = ["192.0.2.9".parse().expect("an address")];
        assert!(!b.fits(&to, &route("withdraw route 10.0.3.0/24")));
    }
}
