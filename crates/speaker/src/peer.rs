//! The task that runs one neighbor: it drives the session state machine,
//! carries out what it asks (connect, send, close), hands what the neighbor
//! announces to the RIB task and writes what the RIB task has for it (the
//! neighbor's static routes among them: they are routes injected into the
//! RIB for it, see `crate::announce`).

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::{Bytes, BytesMut};
use tokio::net::TcpStream;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::{debug, info, warn, Instrument};

use ribbit_fsm::{ConnId, DownReason, Input, Negotiated, Output, Session, SessionConfig, State};
use ribbit_rib::{GracefulDown, MaxPrefixAction, MaxPrefixHit, PeerId, SessionInfo};
use ribbit_wire::capability::Capability;
use ribbit_wire::notification::{code, subcode};
use ribbit_wire::route_refresh::RefreshSubtype;
use ribbit_wire::update::NextHop;
use ribbit_wire::{
    DecodeContext, Family, Message, MessageType, Notification, PathAttributes, RouteRefresh, Update,
};

use crate::net::connect::{self, TransportSettings};
use crate::net::connection::{ConnEvent, Connection, LINGER, READ_QUEUE};
use crate::rib_task::{Batch, RibControl, RibHandle, RibUpdate};
use crate::tap::{TapMode, TapRecord, TapSession, TapSink, Taps};

/// Everything a neighbor's task needs to know.
#[derive(Debug, Clone)]
pub struct PeerSettings {
    /// The neighbor's address.
    pub address: IpAddr,
    /// The neighbor's TCP port.
    pub port: u16,
    /// Socket settings.
    pub transport: TransportSettings,
    /// The session's settings.
    pub session: SessionConfig,
    /// Whether the session starts at once (`enabled`); otherwise it waits
    /// for [`PeerCommand::Enable`], refusing connections meanwhile.
    pub enabled: bool,
    /// The neighbor in the RIB.
    pub id: PeerId,
    /// How long to stay down after a maximum-prefix teardown, per family
    /// (`None` for a family: until restarted by hand).
    pub max_prefix_restart: Vec<(Option<Family>, Option<Duration>)>,
    /// Graceful restart (RFC 4724) as we announced it: how long the routes
    /// of a restarting peer are kept once it is back, at most, waiting for
    /// its End-of-RIB. `None`: we did not announce it.
    pub graceful_restart: Option<Duration>,
    /// Long-lived graceful restart (RFC 9494) as we announced it: the
    /// longest we keep a peer's routes as long-lived stale (the peer's own
    /// stale time applies when shorter). `None`: we did not announce it.
    pub long_lived_stale_time: Option<Duration>,
    /// Set while the speaker restarts (RFC 4724 §4.1): our OPENs carry the
    /// Restart State bit. Shared by every neighbor; the RIB task clears it.
    pub restarting: Arc<AtomicBool>,
}

/// How many session events a subscriber of them may fall behind before it
/// misses some (a session going down and up again makes about ten).
pub const SESSION_EVENTS: usize = 4096;

/// Where the neighbors publish their [`PeerEvent`]s. Subscribers of every
/// event get them all; subscribers of session events get only state
/// changes and NOTIFICATIONs, so that what keeps track of sessions (the
/// HTTP API's tracker) is not woken for each UPDATE of a table load. An
/// event nobody subscribed to is not sent (nor made, when it costs).
#[derive(Debug, Clone)]
pub struct EventBus {
    all: broadcast::Sender<PeerEvent>,
    sessions: broadcast::Sender<PeerEvent>,
}

impl EventBus {
    /// A bus where a subscriber of every event may fall `capacity` events
    /// behind before it misses some, and one of session events
    /// [`SESSION_EVENTS`].
    pub fn new(capacity: usize) -> Self {
        // A channel's buffer is allocated whole up front (tens of bytes
        // per slot): session events are rare and need no large one.
        EventBus {
            all: broadcast::channel(capacity.max(1)).0,
            sessions: broadcast::channel(SESSION_EVENTS).0,
        }
    }

    /// Every event, from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<PeerEvent> {
        self.all.subscribe()
    }

    /// State changes and NOTIFICATIONs, from now on.
    pub fn subscribe_sessions(&self) -> broadcast::Receiver<PeerEvent> {
        self.sessions.subscribe()
    }

    /// Whether anyone takes every event: events that cost something to
    /// make (UPDATEs, OPENs) are only made then.
    pub fn wanted(&self) -> bool {
        self.all.receiver_count() > 0
    }

    /// Send an event to whoever subscribed to it.
    pub fn publish(&self, event: PeerEvent) {
        let session = matches!(
            event,
            PeerEvent::State { .. } | PeerEvent::Notification { .. }
        );
        if session && self.sessions.receiver_count() > 0 {
            let _ = self.sessions.send(event.clone());
        }
        if self.wanted() {
            let _ = self.all.send(event);
        }
    }
}

/// Something a neighbor did, for subscribers.
#[derive(Debug, Clone)]
pub enum PeerEvent {
    /// The session state changed.
    State {
        /// The neighbor.
        peer: IpAddr,
        /// Old state.
        from: State,
        /// New state.
        to: State,
    },
    /// An UPDATE was received.
    Update {
        /// The neighbor.
        peer: IpAddr,
        /// The UPDATE as decoded.
        update: Arc<Update>,
    },
    /// A ROUTE-REFRESH was received: a request, or the BoRR / EoRR that
    /// frame the neighbor's answer to ours (RFC 7313).
    RouteRefresh {
        /// The neighbor.
        peer: IpAddr,
        /// The message.
        refresh: RouteRefresh,
    },
    /// The subscriber fell behind and missed this many events (only from
    /// [`crate::speaker::Events::next`]).
    Lagged {
        /// How many.
        missed: u64,
    },
    /// A NOTIFICATION was sent or received.
    Notification {
        /// The neighbor.
        peer: IpAddr,
        /// True when the neighbor sent it.
        received: bool,
        /// The NOTIFICATION.
        notification: ribbit_wire::Notification,
    },
    /// An OPEN was sent or received (on any connection to the neighbor,
    /// one that loses a collision too).
    Open {
        /// The neighbor.
        peer: IpAddr,
        /// True when the neighbor sent it.
        received: bool,
        /// The OPEN.
        open: Arc<ribbit_wire::Open>,
    },
    /// A KEEPALIVE was sent or received.
    Keepalive {
        /// The neighbor.
        peer: IpAddr,
        /// True when the neighbor sent it.
        received: bool,
    },
    /// The session reached Established with what both OPENs agreed on
    /// (published just before the state change to Established).
    Negotiated {
        /// The neighbor.
        peer: IpAddr,
        /// What was negotiated, both OPENs included.
        negotiated: Arc<Negotiated>,
    },
}

impl PeerEvent {
    /// The neighbor the event is about; `None` for [`PeerEvent::Lagged`].
    pub fn peer(&self) -> Option<IpAddr> {
        match self {
            PeerEvent::State { peer, .. }
            | PeerEvent::Update { peer, .. }
            | PeerEvent::RouteRefresh { peer, .. }
            | PeerEvent::Notification { peer, .. }
            | PeerEvent::Open { peer, .. }
            | PeerEvent::Keepalive { peer, .. }
            | PeerEvent::Negotiated { peer, .. } => Some(*peer),
            PeerEvent::Lagged { .. } => None,
        }
    }
}

/// One line per event, for logs and test failures.
impl std::fmt::Display for PeerEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PeerEvent::State { peer, from, to } => write!(f, "{peer}: {from} -> {to}"),
            PeerEvent::Update { peer, update } => match update.end_of_rib_family() {
                Some(family) => write!(f, "{peer}: End-of-RIB {family}"),
                None => write!(
                    f,
                    "{peer}: UPDATE {} withdrawn, {} announced{}{}{}",
                    update.withdrawn.len(),
                    update.announced.len(),
                    match &update.mp_reach {
                        Some(m) => format!(", {} {} announced", m.nlri.len(), m.family),
                        None => String::new(),
                    },
                    match &update.mp_unreach {
                        Some(m) => format!(", {} {} withdrawn", m.nlri.len(), m.family),
                        None => String::new(),
                    },
                    if update.issues.is_empty() {
                        String::new()
                    } else {
                        format!(", issues: {:?}", update.issues)
                    },
                ),
            },
            PeerEvent::RouteRefresh { peer, refresh } => {
                write!(
                    f,
                    "{peer}: ROUTE-REFRESH {} {}",
                    refresh.family,
                    refresh.subtype.name()
                )
            }
            PeerEvent::Lagged { missed } => write!(f, "{missed} events missed"),
            PeerEvent::Open {
                peer,
                received,
                open,
            } => write!(
                f,
                "{peer}: OPEN {} AS {} hold time {} router ID {}",
                if *received { "received" } else { "sent" },
                open.asn(),
                open.hold_time,
                open.router_id
            ),
            PeerEvent::Keepalive { peer, received } => write!(
                f,
                "{peer}: KEEPALIVE {}",
                if *received { "received" } else { "sent" }
            ),
            PeerEvent::Negotiated { peer, negotiated } => write!(
                f,
                "{peer}: negotiated hold time {}, families {:?}",
                negotiated.hold_time,
                negotiated
                    .families
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
            ),
            PeerEvent::Notification {
                peer,
                received,
                notification,
            } => write!(
                f,
                "{peer}: NOTIFICATION {} {notification} data {:02x?}",
                if *received { "received" } else { "sent" },
                notification.data
            ),
        }
    }
}

/// A route of an Adj-RIB-In or Adj-RIB-Out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedRoute {
    /// Its family.
    pub family: Family,
    /// The NLRI in Ribbit's text form (`10.0.0.0/24`, a flow rule, ...).
    pub nlri: String,
    /// ADD-PATH path identifier.
    pub path_id: Option<u32>,
    /// The next hop.
    pub next_hop: Option<NextHop>,
    /// The path attributes; for IPv4 unicast with an IPv4 next hop, NEXT_HOP
    /// holds it too, as on the wire.
    pub attributes: Arc<PathAttributes>,
}

/// Messages counted by type (RFC 4271 §4.1 type codes 1 to 5).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct MessageCounts {
    /// OPEN.
    pub open: u64,
    /// UPDATE.
    pub update: u64,
    /// NOTIFICATION.
    pub notification: u64,
    /// KEEPALIVE.
    pub keepalive: u64,
    /// ROUTE-REFRESH (RFC 2918).
    pub route_refresh: u64,
}

impl MessageCounts {
    /// Count one message by its whole bytes (the type is at offset 18).
    fn count(&mut self, message: &[u8]) {
        let slot = match message.get(18) {
            Some(1) => &mut self.open,
            Some(2) => &mut self.update,
            Some(3) => &mut self.notification,
            Some(4) => &mut self.keepalive,
            Some(5) => &mut self.route_refresh,
            _ => return,
        };
        *slot = slot.saturating_add(1);
    }

    /// All messages.
    pub fn total(&self) -> u64 {
        self.open
            .saturating_add(self.update)
            .saturating_add(self.notification)
            .saturating_add(self.keepalive)
            .saturating_add(self.route_refresh)
    }
}

/// What was negotiated on an established session, for people and APIs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct SessionSummary {
    /// Our address and port on the connection.
    pub local: Option<SocketAddr>,
    /// The peer's address and port.
    pub remote: Option<SocketAddr>,
    /// The peer's BGP identifier.
    pub peer_router_id: std::net::Ipv4Addr,
    /// The peer's AS.
    pub peer_asn: u32,
    /// The families both sides offered.
    pub families: Vec<String>,
    /// The hold time in force, seconds.
    pub hold_time: u16,
    /// The keepalive interval, seconds.
    pub keepalive: u16,
    /// 4-octet AS numbers (RFC 6793).
    pub four_octet_as: bool,
    /// Route refresh (RFC 2918).
    pub route_refresh: bool,
    /// Enhanced route refresh (RFC 7313).
    pub enhanced_route_refresh: bool,
    /// Families we send ADD-PATH path identifiers for (RFC 7911).
    pub add_path_send: Vec<String>,
    /// Families the peer sends path identifiers for.
    pub add_path_receive: Vec<String>,
    /// We may send messages up to 65535 bytes (RFC 8654).
    pub extended_message: bool,
    /// The peer's graceful restart time, when it announced the capability.
    pub peer_graceful_restart: Option<u16>,
    /// Every capability of the peer's OPEN, by name.
    pub peer_capabilities: Vec<String>,
}

impl SessionSummary {
    fn new(n: &Negotiated, local: Option<SocketAddr>, remote: Option<SocketAddr>) -> Self {
        let names = |set: &ribbit_wire::FamilySet| set.iter().map(|f| f.to_string()).collect();
        SessionSummary {
            local,
            remote,
            peer_router_id: n.peer_open.router_id,
            peer_asn: n.peer_asn,
            families: n.families.iter().map(ToString::to_string).collect(),
            hold_time: n.hold_time,
            keepalive: n.keepalive,
            four_octet_as: n.four_octet_as,
            route_refresh: n.route_refresh,
            enhanced_route_refresh: n.enhanced_route_refresh,
            add_path_send: names(&n.add_path_send),
            add_path_receive: names(&n.add_path_receive),
            extended_message: n.extended_message_send,
            peer_graceful_restart: n.peer_graceful_restart.as_ref().map(|g| g.restart_time),
            peer_capabilities: n
                .peer_open
                .capabilities
                .iter()
                .map(|c| c.name().to_string())
                .collect(),
        }
    }
}

/// A neighbor's session as its task sees it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct NeighborInfo {
    /// The session state.
    #[serde(serialize_with = "state_name")]
    pub state: State,
    /// When the session last came up (or went down, when it is down),
    /// seconds since the Unix epoch; `None` when it never changed.
    pub since: Option<u64>,
    /// How many times the session came up.
    pub established: u64,
    /// What was negotiated, while established.
    pub session: Option<SessionSummary>,
    /// Why the session last went down.
    pub last_down: Option<String>,
    /// Messages received.
    pub received: MessageCounts,
    /// Messages sent.
    pub sent: MessageCounts,
}

fn state_name<S: serde::Serializer>(state: &State, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&state.to_string())
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Requests to a neighbor's task.
#[derive(Debug)]
pub enum PeerCommand {
    /// The neighbor connected to us.
    Accepted(TcpStream),
    /// Stop the session with an optional shutdown communication, then end the task.
    Shutdown(Option<String>, oneshot::Sender<()>),
    /// The neighbor was removed from the configuration: stop the session
    /// with Cease / Peer De-configured (RFC 4486), then end the task.
    Remove(oneshot::Sender<()>),
    /// Ask the neighbor to send its routes of a family again (RFC 2918).
    RouteRefresh(Family),
    /// Send the neighbor our routes of a family again, as if it had asked
    /// with a ROUTE-REFRESH (a soft reset out).
    SendAgain(Family),
    /// The current state.
    State(oneshot::Sender<State>),
    /// The session's state, negotiated settings and counters.
    Info(oneshot::Sender<NeighborInfo>),
    /// Start the session (of a disabled neighbor).
    Enable,
    /// Stop the session with Cease / Administrative Shutdown and an
    /// optional message (RFC 9003); it stays down until enabled.
    Disable(Option<String>),
    /// Stop the session with Cease / Administrative Reset and start it
    /// again (RFC 4486).
    Reset(Option<String>),
}

struct PeerTask {
    settings: PeerSettings,
    session: Session,
    conns: HashMap<ConnId, Connection>,
    /// Messages the FSM produced while a writer's queue was full.
    backlog: HashMap<ConnId, VecDeque<Vec<u8>>>,
    /// Connections let go of, still handing over their last NOTIFICATION.
    closing: Vec<JoinHandle<()>>,
    /// Route refreshes asked for while the backlog was not empty: answered
    /// once it drains, so that a peer asking again and again without
    /// reading gets one more copy of the table queued, not one per request.
    refresh_pending: Vec<Family>,
    local_addrs: HashMap<ConnId, SocketAddr>,
    remote_addrs: HashMap<ConnId, SocketAddr>,
    next_id: ConnId,
    connecting: Option<JoinHandle<()>>,
    /// Numbers the connect attempts, so that the result of an abandoned one
    /// is never taken for the current one's.
    attempt: u64,
    conn_events: mpsc::Sender<ConnEvent>,
    flushed: mpsc::Sender<ConnId>,
    connected: mpsc::Sender<(u64, std::io::Result<TcpStream>)>,
    established: Option<(ConnId, Box<Negotiated>)>,
    events: EventBus,
    /// The recorders (MRT, BMP), and the session as they know it.
    taps: Arc<Taps>,
    tap_session: Option<Arc<TapSession>>,
    /// Records for lossless recorders that had no room, in order.
    tap_waiting: VecDeque<(TapSink, TapRecord)>,
    rib: RibHandle,
    /// Counts the sessions that came up; the RIB ignores what belongs to an
    /// earlier one.
    epoch: u64,
    /// An UPDATE waiting for room in the RIB's queue. While one waits, no
    /// further message is read: TCP pushes back on the peer.
    waiting: Option<RibUpdate>,
    /// Where the RIB's batches for a session that just came up arrive,
    /// until the task's loop takes it over.
    new_batches: Option<mpsc::Receiver<Batch>>,
    /// A batch was handed to the writer; the RIB hears "ready" once it is
    /// all out of the backlog.
    batch_in_flight: bool,
    alarms: mpsc::UnboundedSender<MaxPrefixHit>,
    /// When a session torn down for too many prefixes starts again.
    restart_at: Option<Instant>,
    /// Stale paths of a restarting peer, per family, until when they are
    /// kept (RFC 4724 §4.2), and how long they then stay as long-lived
    /// stale (RFC 9494 §4.2).
    stale_until: Vec<(Family, Instant, Option<Duration>)>,
    /// Families kept stale when the session went down, awaiting its return.
    stale: Vec<Family>,
    received: MessageCounts,
    sent: MessageCounts,
    /// When the state last went to or from Established (Unix seconds).
    since: Option<u64>,
    established_count: u64,
    last_down: Option<String>,
    /// The Restart State bit our OPENs carry now.
    restart_bit: bool,
}

/// Start the task of one neighbor.
pub fn spawn(
    settings: PeerSettings,
    events: EventBus,
    taps: Arc<Taps>,
    rib: RibHandle,
    seed: u64,
) -> (mpsc::Sender<PeerCommand>, JoinHandle<()>) {
    let (cmd_tx, cmd_rx) = mpsc::channel(64);
    let span = tracing::info_span!("neighbor", peer = %settings.address);
    let handle = tokio::spawn(run(settings, events, taps, rib, seed, cmd_rx).instrument(span));
    (cmd_tx, handle)
}

async fn run(
    settings: PeerSettings,
    events: EventBus,
    taps: Arc<Taps>,
    rib: RibHandle,
    seed: u64,
    mut commands: mpsc::Receiver<PeerCommand>,
) {
    let (conn_tx, mut conn_rx) = mpsc::channel(READ_QUEUE);
    let (flushed_tx, mut flushed_rx) = mpsc::channel(16);
    let (connected_tx, mut connected_rx) = mpsc::channel(2);
    let (alarms_tx, mut alarms_rx) = mpsc::unbounded_channel();
    // The RIB's batches for the current session (see `new_batches`).
    let mut batches: Option<mpsc::Receiver<Batch>> = None;
    let session = Session::new(settings.session.clone(), seed);
    let mut task = PeerTask {
        settings,
        session,
        conns: HashMap::new(),
        backlog: HashMap::new(),
        closing: Vec::new(),
        refresh_pending: Vec::new(),
        local_addrs: HashMap::new(),
        remote_addrs: HashMap::new(),
        next_id: 1,
        connecting: None,
        attempt: 0,
        conn_events: conn_tx,
        flushed: flushed_tx,
        connected: connected_tx,
        established: None,
        events,
        taps,
        tap_session: None,
        tap_waiting: VecDeque::new(),
        rib,
        epoch: 0,
        waiting: None,
        new_batches: None,
        batch_in_flight: false,
        alarms: alarms_tx,
        restart_at: None,
        stale_until: Vec::new(),
        stale: Vec::new(),
        received: MessageCounts::default(),
        sent: MessageCounts::default(),
        since: None,
        established_count: 0,
        last_down: None,
        restart_bit: false,
    };
    task.sync_restart_state();
    if task.settings.enabled {
        task.handle(Input::Start);
    }
    loop {
        task.sync_restart_state();
        // Timers that fell due while events kept the task busy fire here, so
        // a flood of UPDATEs never holds back our KEEPALIVEs. (Messages are
        // handled first: each one restarts the hold timer, so a queued
        // KEEPALIVE is never mistaken for silence.)
        let now = task.now();
        if task.session.poll_timeout().is_some_and(|t| t <= now) {
            task.session.handle_timeout(now);
        }
        task.carry_out();
        let deadline = task.session.poll_timeout().map(Instant::from_std);
        // A lossless recorder that is behind holds the session back, as
        // the RIB does: nothing is read or written until it has room.
        let tap_front = task.tap_waiting.front().map(|(sink, _)| sink.tx.clone());
        let writer_idle = task.writer_idle() && tap_front.is_none();
        let reading = task.waiting.is_none() && tap_front.is_none();
        if let Some(rx) = task.new_batches.take() {
            batches = Some(rx);
        }
        if task.established.is_none() {
            batches = None;
        }
        let updates = task.rib.updates.clone();
        tokio::select! {
            biased;
            cmd = commands.recv() => match cmd {
                Some(PeerCommand::Shutdown(message, done)) => {
                    task.stop(message.as_deref()).await;
                    let _ = done.send(());
                    return;
                }
                Some(PeerCommand::Remove(done)) => {
                    let n = Notification::new(code::CEASE, subcode::PEER_DECONFIGURED, Vec::new());
                    task.stop_with(&n).await;
                    let _ = done.send(());
                    return;
                }
                Some(cmd) => task.command(cmd),
                // Nobody can reach this neighbor any more: stop it cleanly.
                None => {
                    task.stop(None).await;
                    return;
                }
            },
            Ok(permit) = updates.reserve(), if task.waiting.is_some() => {
                if let Some(u) = task.waiting.take() {
                    permit.send(u);
                }
            }
            Some(permit) = reserve(tap_front.as_ref()) => {
                if let Some((_, record)) = task.tap_waiting.pop_front() {
                    permit.send(record);
                }
            }
            Some(id) = flushed_rx.recv() => {
                // The writer made progress: the peer reads (RFC 9687 asks
                // about progress, not about an empty queue).
                task.drain_backlog(id);
                task.handle(Input::Flushed(id));
                if task.backlog.get(&id).is_none_or(|b| b.is_empty()) {
                    for family in std::mem::take(&mut task.refresh_pending) {
                        task.refresh(family);
                    }
                    task.batch_written();
                }
            }
            Some(batch) = next_batch(&mut batches), if writer_idle => task.write_batch(batch),
            Some(hit) = alarms_rx.recv() => task.max_prefix(hit),
            () = sleep_until(task.restart_at), if task.restart_at.is_some() => {
                task.restart_at = None;
                info!("restarting after a maximum-prefix teardown");
                task.handle(Input::Start);
            }
            () = sleep_until(task.stale_deadline()), if !task.stale_until.is_empty() => task.stale_expired(),
            Some(ev) = conn_rx.recv(), if reading => {
                let mut ev = Some(ev);
                let mut handled = 0;
                // Messages already queued are handled here rather than one
                // turn of the loop each (a turn sets up every branch again),
                // each carried out before the next is read, and none once
                // the RIB's queue is full.
                while let Some(e) = ev.take() {
                    match e {
                        ConnEvent::Message(id, bytes) => task.message(id, bytes),
                        ConnEvent::Closed(id) => {
                            task.handle(Input::Closed(id));
                            break;
                        }
                    }
                    task.carry_out();
                    handled += 1;
                    if task.waiting.is_some() || handled >= READ_BURST {
                        break;
                    }
                    ev = conn_rx.try_recv().ok();
                }
            }
            Some((attempt, result)) = connected_rx.recv() => {
                if attempt == task.attempt {
                    task.connect_result(result);
                }
            }
            () = sleep_until(deadline) => {
                let now = task.now();
                task.session.handle_timeout(now);
            }
        }
    }
}

/// Messages the neighbor task handles in one turn of its loop when they
/// are queued (timers are checked between turns).
const READ_BURST: usize = 64;

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// Room in a recorder's queue; never when there is no recorder waited for.
async fn reserve(tx: Option<&mpsc::Sender<TapRecord>>) -> Option<mpsc::Permit<'_, TapRecord>> {
    match tx {
        Some(tx) => tx.reserve().await.ok(),
        None => std::future::pending().await,
    }
}

async fn next_batch(batches: &mut Option<mpsc::Receiver<Batch>>) -> Option<Batch> {
    match batches {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

impl PeerTask {
    /// Our OPENs carry the Restart State bit while the speaker restarts.
    fn sync_restart_state(&mut self) {
        let now = self.settings.restarting.load(AtomicOrdering::Acquire);
        if now != self.restart_bit {
            self.session.set_restarting(now);
            self.restart_bit = now;
        }
    }

    /// The state machine's clock: tokio's, so that tests may pause it.
    fn now(&self) -> std::time::Instant {
        Instant::now().into_std()
    }

    fn handle(&mut self, input: Input<'_>) {
        let now = self.now();
        self.session.handle(now, input);
    }

    fn message(&mut self, id: ConnId, bytes: BytesMut) {
        self.received.count(&bytes);
        self.session_message_event(&bytes, true);
        // UPDATEs the RIB is done with, to decode the next ones into: a
        // few at a time, for one lock every few messages.
        let room = self.session.spare_room();
        if room > ribbit_fsm::session::SPARE_UPDATES / 2 {
            let session = &mut self.session;
            self.rib.spares.take(room, |u| session.recycle(u));
        }
        let now = self.now();
        self.session.handle(now, Input::Message(id, &bytes));
        if let Some(session) = self.tapped(id) {
            self.tap(TapRecord::Received {
                session,
                at: SystemTime::now(),
                message: bytes.freeze(),
            });
        }
    }

    /// Publish an OPEN or KEEPALIVE, sent or received, to the subscribers
    /// (ExaBGP's `open` and `keepalive` events), when anyone listens.
    fn session_message_event(&self, bytes: &[u8], received: bool) {
        if !self.events.wanted() {
            return;
        }
        let peer = self.settings.address;
        let event = match bytes.get(18).copied() {
            Some(t) if t == MessageType::Keepalive as u8 => PeerEvent::Keepalive { peer, received },
            Some(t) if t == MessageType::Open as u8 => {
                // Decoded again here (the state machine has its own copy):
                // it happens once per connection.
                match Message::decode(bytes, &DecodeContext::default()) {
                    Ok(Message::Open(open)) => PeerEvent::Open {
                        peer,
                        received,
                        open: Arc::new(open),
                    },
                    _ => return,
                }
            }
            _ => return,
        };
        self.events.publish(event);
    }

    /// The session as the recorders know it, when `id` is the established
    /// connection and somebody records.
    fn tapped(&self, id: ConnId) -> Option<Arc<TapSession>> {
        match (&self.established, &self.tap_session) {
            (Some((established, _)), Some(s)) if *established == id && self.taps.active() => {
                Some(Arc::clone(s))
            }
            _ => None,
        }
    }

    /// Hand a record to every recorder: lossy ones drop it when full,
    /// lossless ones keep it here, in order, until they have room.
    fn tap(&mut self, record: TapRecord) {
        self.taps.track(&record);
        let sent = matches!(record, TapRecord::Sent { .. });
        for sink in self.taps.sinks() {
            if sent && !sink.wants_sent {
                continue;
            }
            if self.tap_waiting.iter().any(|(s, _)| s.id == sink.id) {
                self.tap_waiting.push_back((sink, record.clone()));
                continue;
            }
            match sink.tx.try_send(record.clone()) {
                Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => {}
                Err(mpsc::error::TrySendError::Full(r)) => match sink.mode {
                    TapMode::Lossy => {
                        sink.dropped
                            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    TapMode::Lossless => self.tap_waiting.push_back((sink, r)),
                },
            }
        }
    }

    fn command(&mut self, cmd: PeerCommand) {
        match cmd {
            PeerCommand::Accepted(stream) => {
                let id = self.new_connection(stream);
                self.handle(Input::Accepted(id));
            }
            PeerCommand::RouteRefresh(family) => {
                if let Some((id, n)) = &self.established {
                    if n.route_refresh && n.families.contains(&family) {
                        let bytes = Message::RouteRefresh(RouteRefresh::request(family))
                            .to_bytes(&n.encode_context());
                        let id = *id;
                        self.send(id, bytes);
                    }
                }
            }
            PeerCommand::SendAgain(family) => self.refresh(family),
            PeerCommand::State(reply) => {
                let _ = reply.send(self.session.state());
            }
            PeerCommand::Info(reply) => {
                let session = self.established.as_ref().map(|(id, n)| {
                    let remote = self.remote_addrs.get(id).copied();
                    SessionSummary::new(n, self.local_addrs.get(id).copied(), remote)
                });
                let _ = reply.send(NeighborInfo {
                    state: self.session.state(),
                    since: self.since,
                    established: self.established_count,
                    session,
                    last_down: self.last_down.clone(),
                    received: self.received,
                    sent: self.sent,
                });
            }
            PeerCommand::Enable => {
                self.restart_at = None;
                self.handle(Input::Start);
            }
            PeerCommand::Disable(message) => {
                self.restart_at = None;
                self.handle(Input::Stop(message.as_deref()));
            }
            PeerCommand::Reset(message) => {
                let n = match message {
                    Some(text) => Notification::shutdown(subcode::ADMINISTRATIVE_RESET, &text),
                    None => {
                        Notification::new(code::CEASE, subcode::ADMINISTRATIVE_RESET, Vec::new())
                    }
                };
                self.handle(Input::Cease(&n));
                self.handle(Input::Start);
            }
            PeerCommand::Shutdown(..) | PeerCommand::Remove(_) => {}
        }
    }

    fn new_connection(&mut self, stream: TcpStream) -> ConnId {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        if let Ok(local) = stream.local_addr() {
            self.local_addrs.insert(id, local);
        }
        if let Ok(remote) = stream.peer_addr() {
            self.remote_addrs.insert(id, remote);
        }
        let conn = Connection::spawn(id, stream, self.conn_events.clone(), self.flushed.clone());
        self.conns.insert(id, conn);
        id
    }

    fn connect_result(&mut self, result: std::io::Result<TcpStream>) {
        self.connecting = None;
        match result {
            Ok(stream) => {
                let id = self.new_connection(stream);
                self.handle(Input::Connected(id));
            }
            Err(e) => {
                debug!(error = %e, "connection attempt failed");
                self.handle(Input::ConnectFailed);
            }
        }
    }

    /// Stop the session (Cease to the peer) and let go of every connection,
    /// giving their writers up to [`LINGER`] to send the NOTIFICATION.
    async fn stop(&mut self, message: Option<&str>) {
        self.handle(Input::Stop(message));
        self.let_go().await;
    }

    /// Like [`PeerTask::stop`], with a NOTIFICATION of our choosing.
    async fn stop_with(&mut self, n: &Notification) {
        self.handle(Input::Cease(n));
        self.let_go().await;
    }

    /// Let go of every connection once the state machine stopped.
    async fn let_go(&mut self) {
        self.carry_out();
        if let Some(c) = self.connecting.take() {
            c.abort();
        }
        let closing: Vec<_> = std::mem::take(&mut self.closing);
        for task in closing {
            let _ = tokio::time::timeout(LINGER, task).await;
        }
        self.conns.clear();
    }

    /// Carry out everything the state machine asked for.
    fn carry_out(&mut self) {
        while let Some(output) = self.session.poll_output() {
            match output {
                Output::Connect => self.start_connect(),
                Output::Send(id, bytes) => self.send(id, bytes),
                Output::Close(id) => self.close(id),
                Output::StateChanged { from, to } => {
                    info!(%from, %to, "state changed");
                    if to == State::Established || from == State::Established {
                        self.since = Some(unix_now());
                    }
                    if to == State::Established {
                        self.established_count = self.established_count.saturating_add(1);
                    }
                    self.events.publish(PeerEvent::State {
                        peer: self.settings.address,
                        from,
                        to,
                    });
                    if self.taps.active() {
                        let local = &self.settings.session.local;
                        self.tap(TapRecord::State {
                            peer: self.settings.address,
                            local_asn: local.asn,
                            peer_asn: local.peer_asn,
                            local: self.local_addrs.values().next().map(SocketAddr::ip),
                            from,
                            to,
                            at: SystemTime::now(),
                        });
                    }
                }
                Output::Established(id, n) => self.established(id, n),
                Output::Update(u) => self.update(u),
                Output::RouteRefresh(rr) => {
                    self.events.publish(PeerEvent::RouteRefresh {
                        peer: self.settings.address,
                        refresh: rr,
                    });
                    match rr.subtype {
                        RefreshSubtype::Request => {
                            info!(family = %rr.family, "route refresh requested");
                            self.refresh(rr.family);
                        }
                        // RFC 7313 §4: BoRR and EoRR only frame the peer's own
                        // re-advertisement; they ask nothing of us. Reserved
                        // subtypes are ignored.
                        other => {
                            debug!(family = %rr.family, subtype = other.name(), "route refresh marker");
                        }
                    }
                }
                Output::NotificationSent(n) => {
                    warn!(notification = %n, "NOTIFICATION sent");
                    self.events.publish(PeerEvent::Notification {
                        peer: self.settings.address,
                        received: false,
                        notification: n,
                    });
                }
                Output::NotificationReceived(n) => {
                    warn!(notification = %n, "NOTIFICATION received");
                    self.events.publish(PeerEvent::Notification {
                        peer: self.settings.address,
                        received: true,
                        notification: n,
                    });
                }
                Output::Down(reason) => {
                    match &reason {
                        DownReason::Stopped => info!("session stopped"),
                        other => warn!(reason = %other, "session down"),
                    }
                    self.down(&reason);
                }
            }
        }
    }

    /// Let go of a connection. A NOTIFICATION still waiting behind a full
    /// writer queue is handed over anyway (RFC 4271 §6: it goes out before
    /// the connection closes), bounded by [`LINGER`]; what else waited is
    /// dropped with the connection.
    fn close(&mut self, id: ConnId) {
        self.local_addrs.remove(&id);
        self.remote_addrs.remove(&id);
        let Some(conn) = self.conns.remove(&id) else {
            return;
        };
        let last: Vec<Vec<u8>> = self
            .backlog
            .remove(&id)
            .unwrap_or_default()
            .into_iter()
            .filter(|m| m.get(18) == Some(&(MessageType::Notification as u8)))
            .collect();
        self.closing.retain(|t| !t.is_finished());
        self.closing.push(tokio::spawn(conn.close(last)));
    }

    fn start_connect(&mut self) {
        if let Some(old) = self.connecting.take() {
            old.abort();
        }
        self.attempt = self.attempt.wrapping_add(1);
        let attempt = self.attempt;
        let peer = SocketAddr::new(self.settings.address, self.settings.port);
        let transport = self.settings.transport.clone();
        let tx = self.connected.clone();
        let timeout = self
            .settings
            .session
            .connect_retry
            .max(Duration::from_secs(1));
        self.connecting = Some(tokio::spawn(async move {
            let result = connect::connect(peer, &transport, timeout).await;
            let _ = tx.send((attempt, result)).await;
        }));
    }

    fn send(&mut self, id: ConnId, bytes: Vec<u8>) {
        if !self.conns.contains_key(&id) {
            return;
        }
        if let Some(session) = self.tapped(id).filter(|_| self.taps.wants_sent()) {
            self.tap(TapRecord::Sent {
                session,
                at: SystemTime::now(),
                messages: Bytes::copy_from_slice(&bytes),
            });
        }
        let Some(conn) = self.conns.get(&id) else {
            return;
        };
        self.sent.count(&bytes);
        // OPENs and KEEPALIVEs go one per call (batches are UPDATEs).
        self.session_message_event(&bytes, false);
        let backlog = self.backlog.entry(id).or_default();
        if !backlog.is_empty() {
            backlog.push_back(bytes);
            return;
        }
        if let Err(bytes) = conn.try_send(bytes) {
            backlog.push_back(bytes);
        }
    }

    fn drain_backlog(&mut self, id: ConnId) {
        let (Some(conn), Some(backlog)) = (self.conns.get(&id), self.backlog.get_mut(&id)) else {
            return;
        };
        while let Some(bytes) = backlog.pop_front() {
            if let Err(bytes) = conn.try_send(bytes) {
                backlog.push_front(bytes);
                break;
            }
        }
    }

    /// Answer a route refresh request: announce the family again, or, while
    /// the writer is behind, once it has caught up.
    fn refresh(&mut self, family: Family) {
        let behind = self
            .established
            .as_ref()
            .and_then(|(id, _)| self.backlog.get(id))
            .is_some_and(|b| !b.is_empty());
        if !behind {
            self.announce_again(family);
        } else if !self.refresh_pending.contains(&family) {
            self.refresh_pending.push(family);
        }
    }

    fn established(&mut self, id: ConnId, n: Box<Negotiated>) {
        info!(
            families = ?n.families.iter().map(ToString::to_string).collect::<Vec<_>>(),
            hold_time = n.hold_time,
            "session established"
        );
        self.epoch = self.epoch.wrapping_add(1);
        let local = self.local_addrs.get(&id).map(SocketAddr::ip);
        let session = SessionInfo {
            router_id: n.peer_open.router_id,
            families: n.families.clone(),
            encode: n.encode_context(),
            local_v4: match local {
                Some(IpAddr::V4(a)) => Some(a),
                _ => None,
            },
            local_v6: match local {
                Some(IpAddr::V6(a)) => Some(a),
                _ => None,
            },
            llgr: !self.long_lived(&n).is_empty(),
            graceful_restart: n.peer_graceful_restart.as_ref().map(|g| g.restarting),
        };
        // Families kept stale that the peer no longer says it preserved
        // (RFC 4724 §4.2: absent from its new capability, or without the
        // F bit) are dropped now; the others wait for its End-of-RIB.
        let preserved: Vec<Family> = n
            .peer_graceful_restart
            .as_ref()
            .map(|g| {
                g.families
                    .iter()
                    .filter(|f| f.forwarding_preserved)
                    .map(|f| f.family)
                    .collect()
            })
            .unwrap_or_default();
        for family in std::mem::take(&mut self.stale) {
            if !preserved.contains(&family) {
                let _ = self.rib.control.send(RibControl::PurgeStale {
                    peer: self.settings.id,
                    family,
                });
                self.stale_until.retain(|(f, _, _)| *f != family);
            }
        }
        let (sink, batches) = mpsc::channel(2);
        self.new_batches = Some(batches);
        // What is still stale waits for the peer's End-of-RIB, at most the
        // stale time.
        if let Some(stale_time) = self.settings.graceful_restart {
            let until = Instant::now() + stale_time;
            for (_, t, then) in &mut self.stale_until {
                *t = until;
                *then = None;
            }
        }
        self.batch_in_flight = false;
        let _ = self.rib.control.send(RibControl::Up {
            peer: self.settings.id,
            epoch: self.epoch,
            session: Box::new(session),
            sink,
            alarms: self.alarms.clone(),
        });
        if self.events.wanted() {
            self.events.publish(PeerEvent::Negotiated {
                peer: self.settings.address,
                negotiated: Arc::new((*n).clone()),
            });
        }
        if self.taps.active() {
            let tap = Arc::new(TapSession {
                peer: self.settings.address,
                remote: self.remote_addrs.get(&id).copied(),
                local: self.local_addrs.get(&id).copied(),
                local_asn: self.settings.session.local.asn,
                peer_asn: n.peer_asn,
                peer_id: n.peer_open.router_id,
                negotiated: Arc::new((*n).clone()),
                up_at: SystemTime::now(),
            });
            self.tap_session = Some(Arc::clone(&tap));
            self.tap(TapRecord::Up(tap));
        }
        self.established = Some((id, n));
    }

    /// The session went down: the RIB withdraws the peer's routes, or keeps
    /// them as stale while a peer that announced graceful restart comes back
    /// (RFC 4724 §4.2: only when the session ended without a NOTIFICATION;
    /// RFC 8538 extends that to NOTIFICATIONs other than Hard Reset when
    /// both sides set the N bit, which Ribbit does not yet).
    fn down(&mut self, reason: &DownReason) {
        self.last_down = Some(reason.to_string());
        if let Some(session) = self.tap_session.take() {
            self.tap(TapRecord::Down {
                session,
                at: SystemTime::now(),
                reason: reason.clone(),
            });
        }
        let graceful = match (self.established.take(), self.settings.graceful_restart) {
            (Some((_, n)), Some(_)) if *reason == DownReason::ConnectionClosed => {
                Some(self.graceful_down(&n))
            }
            _ => None,
        }
        .filter(|g| !g.families.is_empty() || !g.long_lived.is_empty());
        if graceful.is_none() {
            self.stale.clear();
            self.stale_until.clear();
        }
        let _ = self.rib.control.send(RibControl::Down {
            peer: self.settings.id,
            epoch: self.epoch,
            graceful,
        });
        self.established = None;
        self.refresh_pending.clear();
        self.new_batches = None;
        self.batch_in_flight = false;
        // An UPDATE of the old session still waiting for the RIB is of no
        // use any more.
        self.waiting = None;
    }

    /// The earliest end of a stale period.
    fn stale_deadline(&self) -> Option<Instant> {
        self.stale_until.iter().map(|(_, t, _)| *t).min()
    }

    /// The peer did not come back in time, or did not finish its
    /// re-advertisement in time: its stale routes go, or become long-lived
    /// stale for the long-lived stale time (the RIB knows which).
    fn stale_expired(&mut self) {
        let now = Instant::now();
        let (expired, kept): (Vec<_>, Vec<_>) =
            self.stale_until.iter().partition(|(_, t, _)| *t <= now);
        self.stale_until = kept;
        for (family, _, long_lived) in expired {
            match long_lived {
                Some(d) => {
                    info!(%family, seconds = d.as_secs(), "routes of the restarting neighbor kept as long-lived stale");
                    self.stale_until.push((family, now + d, None));
                }
                None => {
                    info!(%family, "stale routes of the restarting neighbor dropped");
                    self.stale.retain(|f| *f != family);
                }
            }
            let _ = self.rib.control.send(RibControl::PurgeStale {
                peer: self.settings.id,
                family,
            });
        }
    }

    /// The families the peer announced long-lived graceful restart for,
    /// with the stale time that applies (the shorter of its and ours),
    /// when we announced it too (RFC 9494 §4).
    fn long_lived(&self, n: &Negotiated) -> Vec<(Family, Duration)> {
        let Some(ours) = self.settings.long_lived_stale_time else {
            return Vec::new();
        };
        n.peer_open
            .capabilities
            .iter()
            .find_map(|c| match c {
                Capability::LongLivedGracefulRestart(v) => Some(v),
                _ => None,
            })
            .map(|v| {
                v.iter()
                    .filter(|l| n.families.contains(&l.family) && l.stale_time > 0)
                    .map(|l| {
                        (
                            l.family,
                            Duration::from_secs(u64::from(l.stale_time)).min(ours),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// What the RIB keeps of a peer whose session ended without a
    /// NOTIFICATION, and the timers that bound it: the families it
    /// announced graceful restart for stay stale for its restart time
    /// (RFC 4724 §4.2), then long-lived stale for the long-lived stale time
    /// where both sides announced it (RFC 9494 §4.2; straight away when
    /// the restart time is zero or the family had no graceful restart).
    fn graceful_down(&mut self, n: &Negotiated) -> GracefulDown {
        let now = Instant::now();
        let (gr_families, restart) = n
            .peer_graceful_restart
            .as_ref()
            .filter(|g| g.restart_time > 0)
            .map(|g| {
                (
                    g.families.iter().map(|f| f.family).collect::<Vec<_>>(),
                    Duration::from_secs(u64::from(g.restart_time)),
                )
            })
            .unwrap_or_default();
        let long_lived = self.long_lived(n);
        let mut down = GracefulDown::default();
        for family in &n.families {
            let ll = long_lived
                .iter()
                .find(|(f, _)| f == family)
                .map(|(_, d)| *d);
            let deadline = if gr_families.contains(family) {
                down.families.push(*family);
                if ll.is_some() {
                    down.long_lived.push(*family);
                }
                Some((now + restart, ll))
            } else if let Some(d) = ll {
                down.long_lived.push(*family);
                Some((now + d, None))
            } else {
                None
            };
            if let Some((until, then)) = deadline {
                self.stale_until.retain(|(f, _, _)| f != family);
                self.stale_until.push((*family, until, then));
                if !self.stale.contains(family) {
                    self.stale.push(*family);
                }
            }
        }
        down
    }

    /// Whether the established connection's writer has nothing waiting
    /// (so a batch from the RIB can go straight to it).
    fn writer_idle(&self) -> bool {
        self.established
            .as_ref()
            .and_then(|(id, _)| self.backlog.get(id))
            .is_none_or(|b| b.is_empty())
            && !self.batch_in_flight
    }

    /// Hand a batch from the RIB to the writer, as it is: one buffer of
    /// whole messages. The RIB hears "ready" once the writer reports
    /// progress with nothing of ours waiting, so that about two batches at
    /// most are between the RIB and the socket.
    fn write_batch(&mut self, batch: Batch) {
        let Some((id, _)) = self.established.as_ref() else {
            return;
        };
        let id = *id;
        self.send(id, batch);
        self.batch_in_flight = true;
    }

    /// Tell the RIB the last batch is out of the backlog, so it sends more.
    fn batch_written(&mut self) {
        let Some((id, _)) = self.established.as_ref() else {
            return;
        };
        if self.batch_in_flight && self.backlog.get(id).is_none_or(|b| b.is_empty()) {
            self.batch_in_flight = false;
            let _ = self.rib.control.send(RibControl::Ready {
                peer: self.settings.id,
                epoch: self.epoch,
            });
        }
    }

    /// The RIB found the peer over a maximum-prefix limit. Warnings and
    /// withdraw-excess are the RIB's business; a teardown ends the session
    /// with Cease / Maximum Number of Prefixes Reached (RFC 4486 §4: AFI,
    /// SAFI and the limit as data) and, when configured, restarts it later.
    fn max_prefix(&mut self, hit: MaxPrefixHit) {
        if hit.action != MaxPrefixAction::Teardown || self.established.is_none() {
            return;
        }
        let mut data = Vec::with_capacity(7);
        data.extend_from_slice(&hit.family.afi.0.to_be_bytes());
        data.push(hit.family.safi.0);
        data.extend_from_slice(&hit.limit.to_be_bytes());
        let n = Notification::new(code::CEASE, subcode::MAX_PREFIXES_REACHED, data);
        self.handle(Input::Cease(&n));
        let restart = self
            .settings
            .max_prefix_restart
            .iter()
            .find(|(f, _)| f.is_none_or(|f| f == hit.family))
            .and_then(|(_, r)| *r);
        if let Some(after) = restart {
            info!(seconds = after.as_secs(), "session restarts later");
            self.restart_at = Some(Instant::now() + after);
        }
    }

    /// Ask the RIB to send a family again (RFC 2918): its routes, the
    /// injected ones included, framed by BoRR and EoRR when enhanced route
    /// refresh was negotiated (RFC 7313 §4; the RIB produces both markers,
    /// so that they surround exactly the re-advertisement).
    fn announce_again(&mut self, family: Family) {
        let Some((_, n)) = self.established.as_ref() else {
            return;
        };
        if !n.families.contains(&family) {
            return;
        }
        let _ = self.rib.control.send(RibControl::Refresh {
            peer: self.settings.id,
            epoch: self.epoch,
            family,
            end_marker: n.enhanced_route_refresh,
        });
    }

    fn update(&mut self, update: Arc<Update>) {
        for issue in &update.issues {
            warn!(issue = %issue, "malformed attribute (RFC 7606)");
        }
        if let Some(family) = update.end_of_rib_family() {
            info!(%family, "End-of-RIB received");
            self.stale_until.retain(|(f, _, _)| *f != family);
            self.stale.retain(|f| *f != family);
        }
        if self.events.wanted() {
            self.events.publish(PeerEvent::Update {
                peer: self.settings.address,
                update: Arc::clone(&update),
            });
        }
        let u = RibUpdate {
            peer: self.settings.id,
            epoch: self.epoch,
            update,
        };
        // Straight into the RIB's queue when there is room; otherwise the
        // UPDATE waits here and no further message is read until it is in.
        if let Err(e) = self.rib.updates.try_send(u) {
            match e {
                mpsc::error::TrySendError::Full(u) => self.waiting = Some(u),
                mpsc::error::TrySendError::Closed(_) => {
                    warn!("the RIB is gone; UPDATE not stored");
                }
            }
        }
    }
}
