//! The RIB task: the one owner of the routing tables ([`ribbit_rib::Rib`]).
//!
//! Neighbor tasks hand it what their peers announce and take from it what
//! their peers are to be sent. Two channels lead in:
//! - a bounded one for UPDATEs: when the RIB falls behind, a neighbor task
//!   waits for room before it reads the next message from its socket (TCP
//!   then pushes back on the peer), while its timers keep running, so
//!   KEEPALIVEs go on and no UPDATE is ever dropped;
//! - an unbounded one for session events, flow control and queries, which
//!   are few and must never wait behind a flood of UPDATEs. It is polled
//!   first.
//!
//! Each established neighbor gets its messages in batches of about
//! [`BATCH_BYTES`], one batch at a time: the next one is produced when the
//! neighbor says it wrote the last. What a slow peer has not taken yet stays
//! in the RIB as "pending" (latest state per prefix), so a slow or stuck
//! peer costs no memory beyond its Adj-RIB-Out, however much churn there is.
//!
//! UPDATEs and session events carry the session's epoch (it changes each
//! time the session comes up), so that UPDATEs still queued when a session
//! went down are never applied to the next one.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError};

use tokio::sync::{mpsc, oneshot};
use tracing::{error, info, warn};

use ribbit_rib::{
    ExportMemo, GracefulDown, InjectError, InjectedRoute, Injection, MaxPrefixHit, PeerConfig,
    PeerId, Reconfigured, Rib, RibStats, RouteView, SessionInfo,
};
use ribbit_wire::{Family, Nlri, NlriList, Update};

use crate::peer::ReceivedRoute;

/// How many UPDATEs may wait for the RIB before neighbor tasks wait.
pub const UPDATE_QUEUE: usize = 1024;
/// About how many bytes of messages a neighbor is given at a time.
pub const BATCH_BYTES: usize = 256 * 1024;
/// How many inputs the RIB applies before it produces messages: large
/// enough to amortise grouping by attribute set, small enough that peers
/// hear of changes promptly.
const BURST: usize = 512;

/// UPDATEs the RIB brings the table's places into the cache for at once
/// ([`Rib::warm`]): a hundred prefixes or so, whose cache lines stay in
/// the cache until they are applied.
const WARM_GROUP: usize = 32;

/// A batch of complete BGP messages for one neighbor, back to back: one
/// buffer, written as it is.
pub type Batch = Vec<u8>;

/// An UPDATE received on an established session.
#[derive(Debug)]
pub struct RibUpdate {
    /// The neighbor.
    pub peer: PeerId,
    /// The session it came on.
    pub epoch: u64,
    /// The UPDATE.
    pub update: Arc<Update>,
}

/// Routes of one family sharing attributes, to inject ([`Rib::inject`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InjectRoutes {
    /// The family.
    pub family: Family,
    /// The NLRI.
    pub nlri: NlriList,
    /// Next hop and attributes.
    pub route: Injection,
}

/// What a neighbor task tells the RIB task, besides UPDATEs.
#[derive(Debug)]
pub enum RibControl {
    /// The session came up: the neighbor's Adj-RIB-Out is due.
    Up {
        /// The neighbor.
        peer: PeerId,
        /// The new session's epoch.
        epoch: u64,
        /// What was negotiated.
        session: Box<SessionInfo>,
        /// Where its messages go.
        sink: mpsc::Sender<Batch>,
        /// Where the RIB reports a maximum-prefix violation.
        alarms: mpsc::UnboundedSender<MaxPrefixHit>,
    },
    /// The session went down.
    Down {
        /// The neighbor.
        peer: PeerId,
        /// The session that ended.
        epoch: u64,
        /// Paths kept as stale (graceful restart), or `None`.
        graceful: Option<GracefulDown>,
    },
    /// The neighbor wrote the last batch: send more.
    Ready {
        /// The neighbor.
        peer: PeerId,
        /// Its session.
        epoch: u64,
    },
    /// The peer asked for a ROUTE-REFRESH of a family.
    Refresh {
        /// The neighbor.
        peer: PeerId,
        /// Its session.
        epoch: u64,
        /// The family.
        family: Family,
        /// Whether an EoRR ends the answer (RFC 7313; the BoRR went out).
        end_marker: bool,
    },
    /// The graceful-restart timer of a neighbor ran out: drop its stale paths.
    PurgeStale {
        /// The neighbor.
        peer: PeerId,
        /// The family.
        family: Family,
    },
    /// A neighbor's routing settings changed (policies, route reflection,
    /// limits...): its routes are evaluated again, sessions stay up. The
    /// answer lists the families whose import needs the peer's routes again
    /// (no pre-policy copy kept): the caller asks for a ROUTE-REFRESH.
    Reconfigure {
        /// The neighbor.
        peer: PeerId,
        /// Its new settings.
        config: Box<PeerConfig>,
        /// The families to refresh.
        reply: oneshot::Sender<Vec<Family>>,
    },
    /// A neighbor was added at run time. The RIB numbers neighbors in the
    /// order they are added and never reuses a number, so the speaker knows
    /// the number before the RIB task has seen the neighbor: `id`.
    AddPeer {
        /// Its settings.
        config: Box<PeerConfig>,
        /// Its number in the RIB.
        id: PeerId,
    },
    /// A neighbor was removed: its routes are withdrawn.
    RemovePeer {
        /// The neighbor.
        peer: PeerId,
    },
    /// Routes injected for neighbors (a program's announcements, static
    /// routes; see [`Rib::inject`]). The answer: how many (neighbor, route)
    /// pairs were injected, or the first error (routes before it stay).
    Inject {
        /// The neighbors.
        peers: Vec<PeerId>,
        /// The routes.
        routes: Vec<InjectRoutes>,
        /// The answer, if wanted.
        reply: Option<oneshot::Sender<Result<usize, InjectError>>>,
    },
    /// Injected routes withdrawn ([`Rib::retract`]). The answer: how many
    /// (neighbor, route) pairs were.
    Retract {
        /// The neighbors.
        peers: Vec<PeerId>,
        /// The routes, by family.
        routes: Vec<(Family, NlriList)>,
        /// The answer, if wanted.
        reply: Option<oneshot::Sender<usize>>,
    },
    /// An End-of-RIB for a family to a neighbor, after what is due for it
    /// now ([`Rib::send_end_of_rib`]). The answer: whether the session is
    /// up with the family.
    EndOfRib {
        /// The neighbor.
        peer: PeerId,
        /// The family.
        family: Family,
        /// The answer.
        reply: oneshot::Sender<bool>,
    },
    /// The selection deferral timer ran out (RFC 4724 §4.1): route
    /// selection goes on without the End-of-RIBs still awaited.
    EndDeferral,
    /// A question about the tables.
    Query(RibQuery),
    /// Report route changes to an observer from now on (see
    /// [`RibChange`]).
    Observe(Observer),
}

/// A change of the routes, for an observer (a BMP collector's client):
/// the views that UPDATEs do not show as they are received.
#[derive(Debug, Clone)]
pub enum RibChange {
    /// A neighbor's path for one NLRI after import policy changed: the
    /// path now, or `None` when it has none (withdrawn or refused).
    PostPolicy {
        /// The neighbor's address.
        peer: IpAddr,
        /// The family.
        family: Family,
        /// The NLRI (one).
        nlri: NlriList,
        /// The path now.
        route: Option<RouteView>,
    },
    /// The best path of one NLRI may have changed: the best path now, or
    /// `None` when there is none.
    LocRib {
        /// The family.
        family: Family,
        /// The NLRI (one).
        nlri: NlriList,
        /// The best path now.
        route: Option<RouteView>,
    },
    /// Routes changed in a way not reported one by one (a neighbor's
    /// policies were reconfigured): the observer starts over from the
    /// tables.
    Resync,
}

/// Who gets [`RibChange`]s, and which.
#[derive(Debug)]
pub struct Observer {
    /// Where the changes go. The RIB never waits for it: when it is full,
    /// a change is dropped and counted in `dropped`, and the observer
    /// starts over from the tables.
    pub tx: mpsc::Sender<RibChange>,
    /// Changes dropped because `tx` was full.
    pub dropped: Arc<std::sync::atomic::AtomicU64>,
    /// Whether it wants [`RibChange::PostPolicy`].
    pub post_policy: bool,
    /// Whether it wants [`RibChange::LocRib`].
    pub loc_rib: bool,
}

impl Observer {
    /// Hand over a change; `false` once the observer is gone.
    fn send(&self, c: RibChange) -> bool {
        match self.tx.try_send(c) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.dropped
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                true
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }
}

/// One NLRI as a list of one.
fn one(n: Nlri<'_>) -> NlriList {
    match n {
        Nlri::Prefix(p) => NlriList::Prefixes(vec![*p]),
        Nlri::Labeled(l) => NlriList::Labeled(vec![l.clone()]),
        Nlri::Vpn(v) => NlriList::Vpn(vec![v.clone()]),
        Nlri::Flowspec(f) => NlriList::Flowspec(vec![f.clone()]),
    }
}

/// Every NLRI an UPDATE announces or withdraws, by family.
fn touched(u: &Update) -> Vec<(Family, NlriList)> {
    let mut out = Vec::new();
    for p in u.withdrawn.iter().chain(u.announced.iter()) {
        out.push((Family::IPV4_UNICAST, NlriList::Prefixes(vec![*p])));
    }
    let mp = u
        .mp_reach
        .as_ref()
        .map(|r| (r.family, &r.nlri))
        .into_iter()
        .chain(u.mp_unreach.as_ref().map(|r| (r.family, &r.nlri)));
    for (family, nlri) in mp {
        if let ribbit_wire::MpNlri::Decoded(list) = nlri {
            out.extend(list.iter().map(|n| (family, one(n))));
        }
    }
    out
}

/// Where the page after `page` starts, when one may follow: a page asked
/// for `limit` routes that got fewer was the last.
fn next_after(page: &[RouteView], limit: usize) -> Option<NlriList> {
    if page.len() < limit {
        return None;
    }
    page.last().map(|r| r.nlri.clone())
}

/// Which of a neighbor's tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdjTable {
    /// What it sent us: after import policy, or before (`pre_policy`, only
    /// kept with `keep-adj-rib-in`).
    In {
        /// Before import policy.
        pre_policy: bool,
    },
    /// What we sent it.
    Out,
}

/// A page of a neighbor's Adj-RIB-In or Adj-RIB-Out
/// ([`RibQuery::AdjRibPage`]).
#[derive(Debug, Default)]
pub struct RoutePage {
    /// The routes.
    pub routes: Vec<ReceivedRoute>,
    /// The NLRI to ask the next page after; `None` when this was the last.
    pub next: Option<NlriList>,
}

/// A question about the tables, answered on its oneshot channel.
pub enum RibQuery {
    /// What a neighbor sent (after import policy, or before when kept).
    AdjRibIn {
        /// The neighbor.
        peer: PeerId,
        /// Before import policy (only when `keep-adj-rib-in` is set).
        pre_policy: bool,
        /// The answer.
        reply: oneshot::Sender<Vec<ReceivedRoute>>,
    },
    /// A page of a neighbor's table in one family: at least `limit`
    /// routes after the destination `after` when there are that many,
    /// whole destinations ([`Rib::adj_rib_in_page`]).
    AdjRibPage {
        /// The neighbor.
        peer: PeerId,
        /// The family.
        family: Family,
        /// Which table.
        table: AdjTable,
        /// The NLRI of the last destination of the previous page.
        after: Option<NlriList>,
        /// How many.
        limit: usize,
        /// The routes, and the NLRI to ask the next page after (`None`
        /// once the table is done).
        reply: oneshot::Sender<RoutePage>,
    },
    /// What a neighbor was sent.
    AdjRibOut {
        /// The neighbor.
        peer: PeerId,
        /// The answer.
        reply: oneshot::Sender<Vec<ReceivedRoute>>,
    },
    /// Every path of every destination of a family (or of the destinations
    /// a prefix covers), with the best one and why it won.
    Paths {
        /// The family.
        family: Family,
        /// Only this prefix and its more-specifics.
        within: Option<ipnet::IpNet>,
        /// The answer.
        reply: oneshot::Sender<Vec<crate::rib_view::DestinationLine>>,
    },
    /// Every path of one prefix (unicast and multicast families).
    Destination {
        /// The family.
        family: Family,
        /// The prefix.
        prefix: ipnet::IpNet,
        /// The answer: empty when there is no such destination.
        reply: oneshot::Sender<Vec<crate::rib_view::DestinationLine>>,
    },
    /// Every path of the most specific destination containing an address.
    LongestMatch {
        /// The family.
        family: Family,
        /// The address.
        addr: IpAddr,
        /// The answer: empty when no destination contains it.
        reply: oneshot::Sender<Vec<crate::rib_view::DestinationLine>>,
    },
    /// Up to `limit` destinations of a prefix family, in order, after
    /// `after` (from the start when `None`).
    Page {
        /// The family.
        family: Family,
        /// The last destination of the previous page.
        after: Option<ipnet::IpNet>,
        /// How many.
        limit: usize,
        /// The answer.
        reply: oneshot::Sender<Vec<crate::rib_view::DestinationLine>>,
    },
    /// Up to `limit` destinations of a family in order after `after`, each
    /// with every path (post-policy Adj-RIB-In of every neighbor): one page
    /// of a table dump.
    Dump {
        /// The family.
        family: Family,
        /// The NLRI of the last destination of the previous page.
        after: Option<NlriList>,
        /// How many.
        limit: usize,
        /// The answer.
        reply: oneshot::Sender<Vec<ribbit_rib::DestinationView>>,
    },
    /// The neighbors the RIB knows: number, address, AS, BGP identifier
    /// (of the current or last session; zero before any).
    Peers {
        /// The answer.
        reply: oneshot::Sender<Vec<(PeerId, IpAddr, u32, std::net::Ipv4Addr)>>,
    },
    /// Table sizes and counters.
    Stats {
        /// The answer.
        reply: oneshot::Sender<RibStats>,
    },
    /// Whether route selection is deferred while we restart.
    Deferring {
        /// The answer.
        reply: oneshot::Sender<bool>,
    },
    /// The routes injected for a neighbor, every family.
    Injected {
        /// The neighbor.
        peer: PeerId,
        /// The answer.
        reply: oneshot::Sender<Vec<InjectedRoute>>,
    },
    /// A page of one view of the routes in one family, as the RIB holds
    /// them (next hop and attributes apart): what a BMP collector is sent
    /// when it connects ([`crate::bmp`]), read a page at a time.
    Routes {
        /// Which view.
        view: RouteSource,
        /// The family.
        family: Family,
        /// The NLRI of the last destination of the previous page.
        after: Option<NlriList>,
        /// How many (whole destinations: a few more when ADD-PATH gives
        /// the last one several).
        limit: usize,
        /// The routes (none when the neighbor is unknown), and the NLRI to
        /// ask the next page after (`None` once the view is done).
        reply: oneshot::Sender<(Vec<RouteView>, Option<NlriList>)>,
    },
}

/// A view of the routes ([`RibQuery::Routes`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteSource {
    /// What a neighbor sent us: after import policy, or before it
    /// (`pre_policy`, only kept with `keep-adj-rib-in`).
    AdjRibIn {
        /// The neighbor's address.
        peer: IpAddr,
        /// Before import policy.
        pre_policy: bool,
    },
    /// What we sent a neighbor.
    AdjRibOut {
        /// The neighbor's address.
        peer: IpAddr,
    },
    /// The best paths.
    LocRib,
}

impl std::fmt::Debug for RibQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RibQuery::AdjRibIn { .. } => "RibQuery::AdjRibIn",
            RibQuery::AdjRibPage { .. } => "RibQuery::AdjRibPage",
            RibQuery::AdjRibOut { .. } => "RibQuery::AdjRibOut",
            RibQuery::Paths { .. } => "RibQuery::Paths",
            RibQuery::Stats { .. } => "RibQuery::Stats",
            RibQuery::Deferring { .. } => "RibQuery::Deferring",
            RibQuery::Destination { .. } => "RibQuery::Destination",
            RibQuery::LongestMatch { .. } => "RibQuery::LongestMatch",
            RibQuery::Page { .. } => "RibQuery::Page",
            RibQuery::Injected { .. } => "RibQuery::Injected",
            RibQuery::Dump { .. } => "RibQuery::Dump",
            RibQuery::Peers { .. } => "RibQuery::Peers",
            RibQuery::Routes { .. } => "RibQuery::Routes",
        })
    }
}

/// How neighbor tasks and the speaker reach the RIB task.
#[derive(Debug, Clone)]
pub struct RibHandle {
    /// Session events, flow control, queries.
    pub control: mpsc::UnboundedSender<RibControl>,
    /// UPDATEs.
    pub updates: mpsc::Sender<RibUpdate>,
    /// UPDATEs the RIB is done with and nobody else holds.
    pub spares: Arc<SpareUpdates>,
}

/// UPDATEs the RIB has applied and nobody else holds, for the neighbor
/// tasks to decode the next ones into ([`ribbit_fsm::Session::recycle`]).
/// A full table is hundreds of thousands of UPDATEs of several allocations
/// each, made on one thread and, without this, freed on another (where
/// glibc's allocator takes the first thread's arena lock).
#[derive(Debug, Default)]
pub struct SpareUpdates {
    kept: std::sync::Mutex<Vec<Arc<Update>>>,
}

/// The most spare UPDATEs kept, for all neighbors: enough for a busy
/// neighbor task to find some whenever it looks (it takes up to
/// [`ribbit_fsm::session::SPARE_UPDATES`] at a time), and for a whole
/// batch a program's event task hands back at once (up to 1,024 events,
/// `process::dispatch`): with 256, three in four of a table streamed to a
/// program were freed there and decoded afresh. Past it, applied UPDATEs
/// are freed; the spares are small ([`SPARE_PREFIXES`]).
const SPARES_KEPT: usize = 1024;

/// A spare UPDATE with more room than this many prefixes is freed, not
/// kept: what the spares hold stays small.
const SPARE_PREFIXES: usize = 256;

impl SpareUpdates {
    /// Keep those of `spent` that nobody else holds, while there is room;
    /// the others are handed back.
    pub fn keep(&self, spent: impl IntoIterator<Item = Arc<Update>>) -> Vec<Arc<Update>> {
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        let mut rest = Vec::new();
        for mut u in spent {
            let small = Arc::get_mut(&mut u).is_some_and(|u| {
                u.announced
                    .capacity()
                    .saturating_add(u.withdrawn.capacity())
                    <= SPARE_PREFIXES
            });
            if small && kept.len() < SPARES_KEPT {
                kept.push(u);
            } else {
                rest.push(u);
            }
        }
        rest
    }

    /// Hand up to `n` spare UPDATEs to `give`.
    pub fn take(&self, n: usize, give: impl FnMut(Arc<Update>)) {
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        let from = kept.len().saturating_sub(n);
        kept.drain(from..).for_each(give);
    }
}

/// The address of each neighbor the RIB knows, for messages.
type Names = HashMap<PeerId, IpAddr>;

/// Start the RIB task with its tables. `restarting` is set while the RIB
/// defers route selection (RFC 4724 §4.1; see [`Rib::defer_selection`]):
/// the neighbor tasks set the Restart State bit of their OPENs from it,
/// and the RIB task clears it once the deferral ends.
pub fn spawn(
    rib: Rib,
    names: HashMap<PeerId, IpAddr>,
    restarting: Arc<AtomicBool>,
) -> (RibHandle, oneshot::Receiver<()>) {
    let (control, control_rx) = mpsc::unbounded_channel();
    let (updates, updates_rx) = mpsc::channel(UPDATE_QUEUE);
    let span = tracing::info_span!("rib");
    restarting.store(rib.deferring(), Ordering::Release);
    let spares = Arc::new(SpareUpdates::default());
    let task = RibTask {
        rib,
        names,
        sessions: HashMap::new(),
        restarting,
        observers: Vec::new(),
        spares: Arc::clone(&spares),
    };
    // A thread of its own, named `rib` (as `top -H` shows it): the RIB
    // does most of the work during a table load and then stays on one
    // core, with its tables in that core's caches and its allocations in
    // one allocator arena, instead of moving between the runtime's workers
    // at every wake-up. It needs no timer or socket, only channels, so the
    // runtime's handle can drive it there.
    let runtime = tokio::runtime::Handle::current();
    let (done, ended) = oneshot::channel();
    let run = move || {
        runtime.block_on(tracing::Instrument::instrument(
            task.run(control_rx, updates_rx),
            span,
        ));
        let _ = done.send(());
    };
    if let Err(e) = std::thread::Builder::new().name("rib".into()).spawn(run) {
        // Without a thread the speaker cannot store a route: its RIB
        // handle finds the channels closed and `serve` reports it.
        error!(error = %e, "cannot start the RIB's thread");
    }
    (
        RibHandle {
            control,
            updates,
            spares: Arc::clone(&spares),
        },
        ended,
    )
}

/// An established neighbor, as the RIB task sees it.
struct Session {
    epoch: u64,
    sink: mpsc::Sender<Batch>,
    alarms: mpsc::UnboundedSender<MaxPrefixHit>,
    /// The neighbor has written everything it was given.
    ready: bool,
}

struct RibTask {
    rib: Rib,
    names: Names,
    sessions: HashMap<PeerId, Session>,
    restarting: Arc<AtomicBool>,
    /// Who gets [`RibChange`]s.
    observers: Vec<Observer>,
    /// Where applied UPDATEs go back to the neighbor tasks.
    spares: Arc<SpareUpdates>,
}

impl RibTask {
    async fn run(
        mut self,
        mut control: mpsc::UnboundedReceiver<RibControl>,
        mut updates: mpsc::Receiver<RibUpdate>,
    ) {
        // UPDATEs are taken off their queue up to BURST at a time: each
        // one taken alone would wake a neighbor waiting for room in it
        // (a system call while a table loads, as the queue is full then);
        // taken together, the room is given back once.
        let mut inbox = Vec::with_capacity(BURST);
        let mut open = true;
        let mut questions = Vec::new();
        // Export results shared by the neighbors of a round of
        // `send_pending` (it holds `Rc`s: kept here, on the RIB's thread).
        let mut memo = ExportMemo::default();
        loop {
            tokio::select! {
                biased;
                c = control.recv() => match c {
                    Some(c) => self.control_or_ask(c, &mut questions),
                    // The speaker is gone.
                    None => return,
                },
                n = updates.recv_many(&mut inbox, BURST), if open => open = n > 0,
            }
            // Apply them, session events first (a neighbor's session is up
            // before its UPDATEs are read: it said so before sending them),
            // then produce messages for every neighbor that can take them.
            for group in inbox.chunks(WARM_GROUP) {
                self.rib.warm(group.iter().map(|u| &*u.update));
                for u in group {
                    while let Ok(c) = control.try_recv() {
                        self.control_or_ask(c, &mut questions);
                    }
                    self.update(u);
                }
            }
            if !questions.is_empty() {
                // An answer reflects every UPDATE received before the
                // question (whoever saw an End-of-RIB event and then asks
                // finds the routes it closed): those still queued are
                // applied first, as many as are queued now (while a table
                // loads, the queue never empties).
                for _ in 0..updates.len() {
                    while let Ok(c) = control.try_recv() {
                        self.control_or_ask(c, &mut questions);
                    }
                    match updates.try_recv() {
                        Ok(u) => {
                            self.update(&u);
                            inbox.push(u);
                        }
                        Err(_) => break,
                    }
                }
                for q in questions.drain(..) {
                    self.control(q);
                }
            }
            if !inbox.is_empty() {
                // The applied UPDATEs nobody else holds go back to the
                // neighbor tasks to decode into; the rest are let go of on
                // the runtime's workers, where the neighbor tasks made
                // them: off the RIB's thread (freeing is a tenth of its
                // time during a table load), and in the allocator arena
                // they came from.
                let rest = self.spares.keep(inbox.drain(..).map(|u| u.update));
                if !rest.is_empty() {
                    tokio::spawn(async move { drop(rest) });
                }
            }
            if self.restarting.load(Ordering::Acquire) && !self.rib.deferring() {
                info!("route selection no longer deferred: every neighbor gets its routes");
                self.restarting.store(false, Ordering::Release);
            }
            self.send_pending(&mut memo);
        }
    }

    /// Act on a control message now, or, for a question about the tables,
    /// once the UPDATEs queued before it are applied (see [`RibTask::run`]).
    fn control_or_ask(&mut self, c: RibControl, questions: &mut Vec<RibControl>) {
        if matches!(c, RibControl::Query(_)) {
            questions.push(c);
        } else {
            self.control(c);
        }
    }

    /// Tell the observers what an UPDATE of `peer` changed: its path
    /// after import policy and the best path of each NLRI it carried.
    fn observe_update(&mut self, peer: PeerId, update: &Update) {
        let Some(address) = self.names.get(&peer).copied() else {
            return;
        };
        let post = self.observers.iter().any(|o| o.post_policy);
        let best = self.observers.iter().any(|o| o.loc_rib);
        for (family, nlri) in touched(update) {
            let Some(n) = nlri.iter().next() else {
                continue;
            };
            let (mine, best_now) = self.rib.observe(family, n, Some(peer));
            let mut changes = Vec::with_capacity(2);
            if post {
                changes.push((
                    true,
                    RibChange::PostPolicy {
                        peer: address,
                        family,
                        nlri: nlri.clone(),
                        route: mine,
                    },
                ));
            }
            if best {
                changes.push((
                    false,
                    RibChange::LocRib {
                        family,
                        nlri,
                        route: best_now,
                    },
                ));
            }
            for (is_post, c) in changes {
                self.observers.retain(|o| {
                    let wants = if is_post { o.post_policy } else { o.loc_rib };
                    !wants || o.send(c.clone())
                });
            }
        }
    }

    /// The NLRI `peer` has paths for (all families, or one), when an
    /// observer follows the Loc-RIB: after the neighbor's paths go, their
    /// best paths are reported again.
    fn held_by(&self, peer: PeerId, family: Option<Family>) -> Vec<(Family, NlriList)> {
        if !self.observers.iter().any(|o| o.loc_rib) {
            return Vec::new();
        }
        Family::known()
            .filter(|f| family.is_none_or(|x| x == *f))
            .flat_map(|f| self.rib.adj_rib_in(peer, f, false))
            .map(|r| (r.family, r.nlri))
            .collect()
    }

    /// Tell the Loc-RIB observers the best path of each of `held` now.
    fn observe_best(&mut self, held: Vec<(Family, NlriList)>) {
        for (family, nlri) in held {
            let Some(n) = nlri.iter().next() else {
                continue;
            };
            let (_, route) = self.rib.observe(family, n, None);
            let c = RibChange::LocRib {
                family,
                nlri: nlri.clone(),
                route,
            };
            self.observers.retain(|o| !o.loc_rib || o.send(c.clone()));
        }
    }

    fn current(&self, peer: PeerId, epoch: u64) -> bool {
        self.sessions.get(&peer).is_some_and(|s| s.epoch == epoch)
    }

    fn name(&self, peer: PeerId) -> String {
        self.names
            .get(&peer)
            .map_or_else(|| peer.to_string(), ToString::to_string)
    }

    fn update(&mut self, u: &RibUpdate) {
        if !self.current(u.peer, u.epoch) {
            // Queued before its session went down.
            return;
        }
        let report = self.rib.apply_update(u.peer, &u.update);
        if !self.observers.is_empty() {
            self.observe_update(u.peer, &u.update);
        }
        if let Some(hit) = report.max_prefix {
            warn!(
                peer = %self.name(u.peer),
                family = %hit.family,
                limit = hit.limit,
                count = hit.count,
                action = ?hit.action,
                "maximum number of prefixes exceeded"
            );
            if let Some(s) = self.sessions.get(&u.peer) {
                let _ = s.alarms.send(hit);
            }
        }
    }

    fn control(&mut self, c: RibControl) {
        match c {
            RibControl::Up {
                peer,
                epoch,
                session,
                sink,
                alarms,
            } => {
                self.rib.peer_up(peer, *session);
                self.sessions.insert(
                    peer,
                    Session {
                        epoch,
                        sink,
                        alarms,
                        ready: true,
                    },
                );
            }
            RibControl::Down {
                peer,
                epoch,
                graceful,
            } => {
                if self.current(peer, epoch) {
                    self.sessions.remove(&peer);
                    if graceful.is_some() {
                        info!(peer = %self.name(peer), "keeping the routes of a restarting neighbor as stale");
                    }
                    let held = self.held_by(peer, None);
                    self.rib.peer_down(peer, graceful);
                    self.observe_best(held);
                }
            }
            RibControl::Ready { peer, epoch } => {
                if let Some(s) = self.sessions.get_mut(&peer).filter(|s| s.epoch == epoch) {
                    s.ready = true;
                }
            }
            RibControl::Refresh {
                peer,
                epoch,
                family,
                end_marker,
            } => {
                if self.current(peer, epoch) {
                    self.rib.refresh(peer, family, end_marker);
                }
            }
            RibControl::PurgeStale { peer, family } => {
                let held = self.held_by(peer, Some(family));
                self.rib.purge_stale(peer, family);
                self.observe_best(held);
            }
            RibControl::Reconfigure {
                peer,
                config,
                reply,
            } => {
                // What can change a neighbor's routes after import policy
                // or the best paths: then the observers start over (the
                // same comparison the RIB makes; PolicyChain has no
                // equality, its Debug form shows every rule).
                let changes_routes = self.rib.peer_config(peer).is_none_or(|old| {
                    format!("{:?}", old.import) != format!("{:?}", config.import)
                        || old.allow_own_as != config.allow_own_as
                        || old.role != config.role
                        || old.local_as != config.local_as
                        || old.peer_as != config.peer_as
                        || old.route_reflector_client != config.route_reflector_client
                        || old.address != config.address
                });
                if changes_routes {
                    self.observers.retain(|o| o.send(RibChange::Resync));
                }
                let refresh = match self.rib.reconfigure_peer(peer, *config) {
                    Reconfigured::Done => Vec::new(),
                    Reconfigured::NeedsRefresh(families) => families,
                };
                let _ = reply.send(refresh);
            }
            RibControl::AddPeer { config, id } => {
                let address = config.address;
                let peer = self.rib.add_peer(*config);
                if peer != id {
                    // Only a bug can get here: every neighbor is added
                    // through this channel, in order.
                    tracing::error!(%peer, expected = %id, %address, "neighbor numbering out of step");
                }
                self.names.insert(peer, address);
            }
            RibControl::RemovePeer { peer } => {
                self.sessions.remove(&peer);
                let held = self.held_by(peer, None);
                self.rib.remove_peer(peer);
                self.observe_best(held);
                self.names.remove(&peer);
            }
            RibControl::EndDeferral => {
                if self.rib.deferring() {
                    info!("selection deferral timer expired: routes are sent without the End-of-RIBs still awaited");
                    self.rib.end_deferral();
                }
            }
            RibControl::EndOfRib {
                peer,
                family,
                reply,
            } => {
                let _ = reply.send(self.rib.send_end_of_rib(peer, family));
            }
            RibControl::Inject {
                peers,
                routes,
                reply,
            } => {
                let mut total = Ok(0usize);
                for r in &routes {
                    match self.rib.inject(&peers, r.family, &r.nlri, &r.route) {
                        Ok(n) => total = total.map(|t| t.saturating_add(n)),
                        Err(e) => {
                            total = Err(e);
                            break;
                        }
                    }
                }
                if let Some(reply) = reply {
                    let _ = reply.send(total);
                } else if let Err(e) = total {
                    warn!(error = %e, "routes not injected");
                }
            }
            RibControl::Retract {
                peers,
                routes,
                reply,
            } => {
                let n = routes
                    .iter()
                    .map(|(family, nlri)| self.rib.retract(&peers, *family, nlri))
                    .sum();
                if let Some(reply) = reply {
                    let _ = reply.send(n);
                }
            }
            RibControl::Query(q) => self.query(q),
            RibControl::Observe(o) => self.observers.push(o),
        }
    }

    /// Give every neighbor that wrote its last batch the next one, sharing
    /// the export rules' results between them in `memo`.
    fn send_pending(&mut self, memo: &mut ExportMemo) {
        for peer in self.rib.pending_peers() {
            let Some(s) = self.sessions.get_mut(&peer) else {
                continue;
            };
            if !s.ready {
                continue;
            }
            let mut batch = Vec::with_capacity(BATCH_BYTES + BATCH_BYTES / 8);
            self.rib.take_round(memo, peer, BATCH_BYTES, &mut batch);
            if batch.is_empty() {
                continue;
            }
            match s.sink.try_send(batch) {
                Ok(()) => s.ready = false,
                // The neighbor holds one batch at a time and only says it is
                // ready once it took the last, so the channel has room; if
                // its task is gone, its Down is on the way.
                Err(e) => warn!(peer = %peer, error = %e, "neighbor did not take its batch"),
            }
        }
        // The results are valid while nothing is applied.
        memo.clear();
    }

    /// A page of a neighbor's Adj-RIB-In or Adj-RIB-Out.
    fn adj_page(
        &self,
        peer: PeerId,
        table: AdjTable,
        family: Family,
        after: Option<Nlri<'_>>,
        limit: usize,
    ) -> Vec<RouteView> {
        match table {
            AdjTable::In { pre_policy } => self
                .rib
                .adj_rib_in_page(peer, family, pre_policy, after, limit),
            AdjTable::Out => self.rib.adj_rib_out_page(peer, family, after, limit),
        }
    }

    fn query(&self, q: RibQuery) {
        match q {
            RibQuery::Routes {
                view,
                family,
                after,
                limit,
                reply,
            } => {
                let id = |addr: IpAddr| {
                    self.names
                        .iter()
                        .find(|(_, a)| **a == addr)
                        .map(|(id, _)| *id)
                };
                let cursor = after.as_ref().and_then(|l| l.iter().next());
                let routes = match view {
                    RouteSource::AdjRibIn { peer, pre_policy } => id(peer)
                        .map(|p| {
                            let table = AdjTable::In { pre_policy };
                            self.adj_page(p, table, family, cursor, limit)
                        })
                        .unwrap_or_default(),
                    RouteSource::AdjRibOut { peer } => id(peer)
                        .map(|p| self.adj_page(p, AdjTable::Out, family, cursor, limit))
                        .unwrap_or_default(),
                    RouteSource::LocRib => self.rib.loc_rib_page(family, cursor, limit),
                };
                let next = next_after(&routes, limit);
                let _ = reply.send((routes, next));
            }
            RibQuery::AdjRibIn {
                peer,
                pre_policy,
                reply,
            } => {
                let _ = reply.send(crate::rib_view::adj_rib_in(&self.rib, peer, pre_policy));
            }
            RibQuery::AdjRibPage {
                peer,
                family,
                table,
                after,
                limit,
                reply,
            } => {
                let cursor = after.as_ref().and_then(|l| l.iter().next());
                let views = self.adj_page(peer, table, family, cursor, limit);
                let next = next_after(&views, limit);
                let _ = reply.send(RoutePage {
                    routes: crate::rib_view::received_routes_of(&views),
                    next,
                });
            }
            RibQuery::AdjRibOut { peer, reply } => {
                let _ = reply.send(crate::rib_view::adj_rib_out(&self.rib, peer));
            }
            RibQuery::Paths {
                family,
                within,
                reply,
            } => {
                let _ = reply.send(crate::rib_view::paths(
                    &self.rib,
                    &self.names,
                    family,
                    within,
                ));
            }
            RibQuery::Stats { reply } => {
                let _ = reply.send(self.rib.stats());
            }
            RibQuery::Deferring { reply } => {
                let _ = reply.send(self.rib.deferring());
            }
            RibQuery::Destination {
                family,
                prefix,
                reply,
            } => {
                let _ = reply.send(crate::rib_view::destination(
                    &self.rib,
                    &self.names,
                    family,
                    prefix,
                ));
            }
            RibQuery::LongestMatch {
                family,
                addr,
                reply,
            } => {
                let _ = reply.send(crate::rib_view::longest_match(
                    &self.rib,
                    &self.names,
                    family,
                    addr,
                ));
            }
            RibQuery::Page {
                family,
                after,
                limit,
                reply,
            } => {
                let _ = reply.send(crate::rib_view::page(
                    &self.rib,
                    &self.names,
                    family,
                    after,
                    limit,
                ));
            }
            RibQuery::Dump {
                family,
                after,
                limit,
                reply,
            } => {
                let after = after.as_ref().and_then(|l| l.iter().next());
                let page = self.rib.destinations_page(family, after, limit);
                let _ = reply.send(page);
            }
            RibQuery::Peers { reply } => {
                let peers = self
                    .rib
                    .peers()
                    .filter_map(|id| {
                        let c = self.rib.peer_config(id)?;
                        let router_id = self.rib.peer_router_id(id)?;
                        Some((id, c.address, c.peer_as, router_id))
                    })
                    .collect();
                let _ = reply.send(peers);
            }
            RibQuery::Injected { peer, reply } => {
                let routes = self
                    .rib
                    .families()
                    .flat_map(|f| self.rib.injected(peer, f))
                    .collect();
                let _ = reply.send(routes);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ribbit_wire::nlri::PrefixNlri;

    fn with_prefixes(n: usize) -> Arc<Update> {
        let prefix = PrefixNlri {
            path_id: None,
            prefix: "10.0.0.0/24".parse().unwrap(),
        };
        Arc::new(Update {
            announced: vec![prefix; n],
            ..Update::default()
        })
    }

    #[test]
    fn spares_keep_only_small_unshared_updates_up_to_a_bound() {
        let spares = SpareUpdates::default();
        let shared = with_prefixes(1);
        let held = Arc::clone(&shared);
        let rest = spares.keep([shared, with_prefixes(2), with_prefixes(SPARE_PREFIXES + 1)]);
        // The shared one and the large one come back.
        assert_eq!(rest.len(), 2);
        assert!(rest.iter().any(|u| Arc::ptr_eq(u, &held)));
        let rest = spares.keep((0..SPARES_KEPT).map(|_| with_prefixes(1)));
        assert_eq!(rest.len(), 1, "kept up to SPARES_KEPT");
        let mut got = Vec::new();
        spares.take(10, |u| got.push(u));
        assert_eq!(got.len(), 10);
        spares.take(usize::MAX, |u| got.push(u));
        assert_eq!(got.len(), SPARES_KEPT);
    }
}
