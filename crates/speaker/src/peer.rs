//! The task that runs one neighbor: it drives the session state machine,
//! carries out what it asks (connect, send, close), announces the
//! neighbor's static routes once the session is up, and keeps what the
//! neighbor announced (its Adj-RIB-In).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::net::TcpStream;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::{debug, info, warn, Instrument};

use ribbit_exabgp::text::{Announcement, EncodeSettings, Peering};
use ribbit_fsm::{ConnId, DownReason, Input, Negotiated, Output, Session, SessionConfig, State};
use ribbit_wire::nlri::{Nlri, NlriList};
use ribbit_wire::route_refresh::RefreshSubtype;
use ribbit_wire::update::{MpNlri, NextHop};
use ribbit_wire::{Family, Message, MessageType, PathAttributes, RouteRefresh, Update};

use crate::net::connect::{self, TransportSettings};
use crate::net::connection::{ConnEvent, Connection, LINGER, READ_QUEUE};

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
    /// Routes announced to this neighbor once the session is up.
    pub routes: Vec<Announcement>,
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
    /// A NOTIFICATION was sent or received.
    Notification {
        /// The neighbor.
        peer: IpAddr,
        /// True when the neighbor sent it.
        received: bool,
        /// The NOTIFICATION.
        notification: ribbit_wire::Notification,
    },
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

/// A route the neighbor announced, as kept in its Adj-RIB-In.
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
    /// The path attributes (shared by the routes of one UPDATE).
    pub attributes: Arc<PathAttributes>,
}

/// Requests to a neighbor's task.
#[derive(Debug)]
pub enum PeerCommand {
    /// The neighbor connected to us.
    Accepted(TcpStream),
    /// Stop the session with an optional shutdown communication, then end the task.
    Shutdown(Option<String>, oneshot::Sender<()>),
    /// Ask the neighbor to send its routes of a family again (RFC 2918).
    RouteRefresh(Family),
    /// The current state.
    State(oneshot::Sender<State>),
    /// A copy of the Adj-RIB-In.
    AdjRibIn(oneshot::Sender<Vec<ReceivedRoute>>),
}

type RibKey = (Family, String, Option<u32>);

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
    next_id: ConnId,
    connecting: Option<JoinHandle<()>>,
    /// Numbers the connect attempts, so that the result of an abandoned one
    /// is never taken for the current one's.
    attempt: u64,
    conn_events: mpsc::Sender<ConnEvent>,
    flushed: mpsc::Sender<ConnId>,
    connected: mpsc::Sender<(u64, std::io::Result<TcpStream>)>,
    established: Option<(ConnId, Box<Negotiated>)>,
    adj_rib_in: BTreeMap<RibKey, ReceivedRoute>,
    events: broadcast::Sender<PeerEvent>,
}

/// Start the task of one neighbor.
pub fn spawn(
    settings: PeerSettings,
    events: broadcast::Sender<PeerEvent>,
    seed: u64,
) -> (mpsc::Sender<PeerCommand>, JoinHandle<()>) {
    let (cmd_tx, cmd_rx) = mpsc::channel(64);
    let span = tracing::info_span!("neighbor", peer = %settings.address);
    let handle = tokio::spawn(run(settings, events, seed, cmd_rx).instrument(span));
    (cmd_tx, handle)
}

async fn run(
    settings: PeerSettings,
    events: broadcast::Sender<PeerEvent>,
    seed: u64,
    mut commands: mpsc::Receiver<PeerCommand>,
) {
    let (conn_tx, mut conn_rx) = mpsc::channel(READ_QUEUE);
    let (flushed_tx, mut flushed_rx) = mpsc::channel(16);
    let (connected_tx, mut connected_rx) = mpsc::channel(2);
    let session = Session::new(settings.session.clone(), seed);
    let mut task = PeerTask {
        settings,
        session,
        conns: HashMap::new(),
        backlog: HashMap::new(),
        closing: Vec::new(),
        refresh_pending: Vec::new(),
        local_addrs: HashMap::new(),
        next_id: 1,
        connecting: None,
        attempt: 0,
        conn_events: conn_tx,
        flushed: flushed_tx,
        connected: connected_tx,
        established: None,
        adj_rib_in: BTreeMap::new(),
        events,
    };
    task.handle(Input::Start);
    loop {
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
        tokio::select! {
            biased;
            cmd = commands.recv() => match cmd {
                Some(PeerCommand::Shutdown(message, done)) => {
                    task.stop(message.as_deref()).await;
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
            Some(id) = flushed_rx.recv() => {
                // The writer made progress: the peer reads (RFC 9687 asks
                // about progress, not about an empty queue).
                task.drain_backlog(id);
                task.handle(Input::Flushed(id));
                if task.backlog.get(&id).is_none_or(|b| b.is_empty()) {
                    for family in std::mem::take(&mut task.refresh_pending) {
                        task.refresh(family);
                    }
                }
            }
            Some(ev) = conn_rx.recv() => match ev {
                ConnEvent::Message(id, bytes) => task.message(id, bytes),
                ConnEvent::Closed(id) => task.handle(Input::Closed(id)),
            },
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

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

impl PeerTask {
    /// The state machine's clock: tokio's, so that tests may pause it.
    fn now(&self) -> std::time::Instant {
        Instant::now().into_std()
    }

    fn handle(&mut self, input: Input<'_>) {
        let now = self.now();
        self.session.handle(now, input);
    }

    fn message(&mut self, id: ConnId, bytes: BytesMut) {
        let now = self.now();
        self.session.handle(now, Input::Message(id, &bytes));
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
            PeerCommand::State(reply) => {
                let _ = reply.send(self.session.state());
            }
            PeerCommand::AdjRibIn(reply) => {
                let _ = reply.send(self.adj_rib_in.values().cloned().collect());
            }
            PeerCommand::Shutdown(..) => {}
        }
    }

    fn new_connection(&mut self, stream: TcpStream) -> ConnId {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        if let Ok(local) = stream.local_addr() {
            self.local_addrs.insert(id, local);
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
                    let _ = self.events.send(PeerEvent::State {
                        peer: self.settings.address,
                        from,
                        to,
                    });
                }
                Output::Established(id, n) => self.established(id, n),
                Output::Update(u) => self.update(*u),
                Output::RouteRefresh(rr) => {
                    let _ = self.events.send(PeerEvent::RouteRefresh {
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
                    let _ = self.events.send(PeerEvent::Notification {
                        peer: self.settings.address,
                        received: false,
                        notification: n,
                    });
                }
                Output::NotificationReceived(n) => {
                    warn!(notification = %n, "NOTIFICATION received");
                    let _ = self.events.send(PeerEvent::Notification {
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
                    self.established = None;
                    self.refresh_pending.clear();
                    self.adj_rib_in.clear();
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
        let Some(conn) = self.conns.get(&id) else {
            return;
        };
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
            self.announce(Some(family), true);
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
        self.established = Some((id, n));
        self.announce(None, false);
    }

    /// Send the static routes (of one family, or all). When the session
    /// comes up, End-of-RIB follows for each negotiated family (RFC 4724 §2);
    /// a refresh is framed by BoRR and EoRR when enhanced route refresh was
    /// negotiated (RFC 7313 §4).
    fn announce(&mut self, only: Option<Family>, refresh: bool) {
        let Some((id, n)) = self.established.as_ref() else {
            return;
        };
        let id = *id;
        let local_ip = self.local_addrs.get(&id).map(SocketAddr::ip);
        let settings = EncodeSettings {
            context: n.encode_context(),
            peering: Some(Peering {
                local_as: n.local_open.asn(),
                peer_as: n.peer_asn,
            }),
            next_hop_self: local_ip,
            extended_next_hop: !n.extended_next_hop.is_empty(),
        };
        let families: Vec<Family> = n
            .families
            .iter()
            .copied()
            .filter(|f| only.is_none_or(|o| o == *f))
            .collect();
        let enhanced = refresh && n.enhanced_route_refresh;
        let marker = |family, subtype| {
            Message::RouteRefresh(RouteRefresh { family, subtype }).to_bytes(&n.encode_context())
        };
        let mut out = Vec::new();
        if enhanced {
            out.extend(families.iter().map(|f| marker(*f, RefreshSubtype::Begin)));
        }
        for route in &self.settings.routes {
            if !families.contains(&route.family) {
                continue;
            }
            match route.encode(&settings) {
                Ok(messages) => out.extend(messages),
                Err(e) => warn!(error = %e, family = %route.family, "route not announced"),
            }
        }
        if enhanced {
            out.extend(families.iter().map(|f| marker(*f, RefreshSubtype::End)));
        } else if !refresh {
            for f in families {
                out.push(Message::Update(Update::end_of_rib(f)).to_bytes(&settings.context));
            }
        }
        for bytes in out {
            self.send(id, bytes);
        }
    }

    fn update(&mut self, update: Update) {
        let update = Arc::new(update);
        for issue in &update.issues {
            warn!(issue = %issue, "malformed attribute (RFC 7606)");
        }
        let mut attributes = update.attributes.clone();
        // RFC 4271 §5.1.5: LOCAL_PREF from an external peer is ignored.
        if self.established.as_ref().is_some_and(|(_, n)| !n.is_ibgp()) {
            attributes.local_pref = None;
        }
        let attributes = Arc::new(attributes);
        // Routes of families the session did not negotiate are not kept
        // (RFC 4760 §6: a speaker only sends what the peer said it takes).
        let negotiated = |f: Family| {
            let ok = self
                .established
                .as_ref()
                .is_some_and(|(_, n)| n.families.contains(&f));
            if !ok {
                warn!(family = %f, "routes of a family that was not negotiated ignored");
            }
            ok
        };
        let v4 = (!update.withdrawn.is_empty() || !update.announced.is_empty())
            && negotiated(Family::IPV4_UNICAST);
        let unreach = update.mp_unreach.as_ref().filter(|u| negotiated(u.family));
        let reach = update.mp_reach.as_ref().filter(|r| negotiated(r.family));
        for n in update.withdrawn.iter().filter(|_| v4) {
            self.adj_rib_in
                .remove(&(Family::IPV4_UNICAST, n.prefix.to_string(), n.path_id));
        }
        if let Some(u) = unreach {
            if let MpNlri::Decoded(list) = &u.nlri {
                for (text, path_id) in nlri_keys(list, u.family) {
                    self.adj_rib_in.remove(&(u.family, text, path_id));
                }
            }
        }
        let withdraw_all = update.treat_as_withdraw();
        let v4_next_hop = update.attributes.next_hop.map(NextHop::V4);
        for n in update.announced.iter().filter(|_| v4) {
            let key = (Family::IPV4_UNICAST, n.prefix.to_string(), n.path_id);
            self.store(key, v4_next_hop, &attributes, withdraw_all);
        }
        if let Some(r) = reach {
            if let MpNlri::Decoded(list) = &r.nlri {
                for (text, path_id) in nlri_keys(list, r.family) {
                    self.store(
                        (r.family, text, path_id),
                        Some(r.next_hop),
                        &attributes,
                        withdraw_all,
                    );
                }
            }
        }
        let _ = self.events.send(PeerEvent::Update {
            peer: self.settings.address,
            update,
        });
    }

    fn store(
        &mut self,
        key: RibKey,
        next_hop: Option<NextHop>,
        attributes: &Arc<PathAttributes>,
        withdraw: bool,
    ) {
        if withdraw {
            // RFC 7606 §2 treat-as-withdraw: the announcement removes the route.
            self.adj_rib_in.remove(&key);
            return;
        }
        let route = ReceivedRoute {
            family: key.0,
            nlri: key.1.clone(),
            path_id: key.2,
            next_hop,
            attributes: Arc::clone(attributes),
        };
        self.adj_rib_in.insert(key, route);
    }
}

/// Text keys of the NLRI of a list: the prefix, or the rule for Flowspec.
fn nlri_keys(list: &NlriList, family: Family) -> Vec<(String, Option<u32>)> {
    list.iter()
        .map(|n| match n {
            Nlri::Prefix(p) => (p.prefix.to_string(), p.path_id),
            Nlri::Labeled(l) => (l.prefix.to_string(), l.path_id),
            Nlri::Vpn(v) => (format!("{} {}", v.rd, v.prefix), v.path_id),
            Nlri::Flowspec(f) => (f.exabgp_string(family.afi), f.path_id),
        })
        .collect()
}
