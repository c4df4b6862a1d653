//! The running speaker: listeners, one task per neighbor, the RIB task,
//! and the routing of accepted connections to their neighbor.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::sync::{Mutex, RwLock};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use ribbit_fsm::{LocalSettings, SessionConfig, State};
use ribbit_rib::{
    AddPathSend, MaxPrefix, MaxPrefixAction, PeerConfig, PeerId, Rib, RibOptions, RibStats, Verdict,
};
use ribbit_wire::capability::{Capability, GracefulRestartFamily, LongLivedFamily};
use ribbit_wire::{Family, NlriList};

use crate::config::{
    AddPathSendConfig, Config, MaxPrefixAction as MaxPrefixConfigAction, NeighborConfig,
};
use crate::net::connect::{self, TransportSettings};
use crate::net::sockopt;
use crate::peer::{self, EventBus, PeerCommand, PeerEvent, PeerSettings, ReceivedRoute};
use crate::rib_task::{self, AdjTable, RibControl, RibHandle, RibQuery, RoutePage};
use crate::rib_view::DestinationLine;
use crate::tap::{TapMode, TapReceiver, Taps};

/// A speaker that could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: io::Error,
    },
    /// A TCP-MD5 key could not be installed on a listening socket.
    #[error("cannot set the TCP-MD5 key of neighbor {peer} on {addr}: {source}")]
    Md5 {
        /// The neighbor.
        peer: IpAddr,
        /// The listening address.
        addr: SocketAddr,
        /// Why.
        source: io::Error,
    },
}

/// Routes read from the RIB at a time when a table is read in pages: a
/// re-sync line's worth.
const TABLE_PAGE: usize = crate::api::events::ROUTES_PER_LINE;

/// A neighbor's Adj-RIB-In or Adj-RIB-Out read a page at a time
/// ([`Speaker::adj_rib_pages`]): the RIB is held for a page, and the
/// reader holds a page of memory, whatever the table's size.
pub(crate) struct AdjRibPages<'a> {
    speaker: &'a Speaker,
    peer: IpAddr,
    table: AdjTable,
    /// The families still to read, the current one first.
    families: Vec<Family>,
    /// Where the current family's next page starts.
    after: Option<NlriList>,
}

impl AdjRibPages<'_> {
    /// The next page of routes; `None` once the table is read (or the
    /// neighbor is gone).
    pub(crate) async fn next_page(&mut self) -> Option<Vec<ReceivedRoute>> {
        loop {
            let family = *self.families.first()?;
            let after = self.after.take();
            let page = self
                .speaker
                .adj_rib_page(self.peer, family, self.table, after, TABLE_PAGE)
                .await?;
            match page.next {
                Some(n) => self.after = Some(n),
                None => {
                    self.families.remove(0);
                }
            }
            if !page.routes.is_empty() {
                return Some(page.routes);
            }
        }
    }
}

/// A running BGP speaker.
pub struct Speaker {
    /// The neighbors, shared with the accept loops (which look up the
    /// neighbor of each connection). Changed only by the methods that add
    /// and remove neighbors; never locked across an await.
    neighbors: Arc<RwLock<HashMap<IpAddr, Running>>>,
    /// The configuration the speaker started with, with the neighbors added
    /// and removed since: what a new neighbor's settings are derived from.
    config: Mutex<Config>,
    /// Listening sockets, for the TCP-MD5 keys of neighbors added later.
    listening: Vec<Arc<TcpListener>>,
    listeners: Vec<JoinHandle<()>>,
    local: Vec<SocketAddr>,
    events: EventBus,
    taps: Arc<Taps>,
    /// The `[mrt]` recorder, if configured.
    mrt: Option<crate::mrt_dump::MrtDump>,
    /// The `[[bmp]]` collectors' clients.
    bmp: crate::bmp::Clients,
    pub(crate) rib: RibHandle,
    /// Says when the RIB's thread ended.
    rib_task: oneshot::Receiver<()>,
    /// Seeds the back-off jitter of each new neighbor differently.
    spawned: AtomicU64,
    /// The RIB's number for the next neighbor added.
    next_id: AtomicU32,
    /// Set once the speaker is stopped; [`Speaker::serve`] waits for it.
    stopped: watch::Sender<bool>,
    /// Set while we restart and defer route selection (RFC 4724 §4.1).
    restarting: Arc<AtomicBool>,
}

/// A neighbor's running task and how to reach it.
struct Running {
    commands: mpsc::Sender<PeerCommand>,
    id: PeerId,
    transport: TransportSettings,
    task: JoinHandle<()>,
}

/// A neighbor could not be added, removed or changed.
#[derive(Debug, thiserror::Error)]
pub enum NeighborError {
    /// No neighbor has this address.
    #[error("no neighbor {0}")]
    Unknown(IpAddr),
    /// A neighbor with this address exists.
    #[error("neighbor {0} already exists")]
    Exists(IpAddr),
    /// The speaker is shutting down.
    #[error("the speaker is shutting down")]
    Stopped,
    /// The neighbor's settings are not valid.
    #[error("{0}")]
    Invalid(crate::config::ConfigError),
    /// Its TCP-MD5 key could not be installed on a listening socket.
    #[error("cannot set the TCP-MD5 key of neighbor {peer} on {addr}: {source}")]
    Md5 {
        /// The neighbor.
        peer: IpAddr,
        /// The listening address.
        addr: SocketAddr,
        /// Why.
        source: io::Error,
    },
}

/// The RIB's settings of the speaker.
pub fn rib_options(config: &Config) -> RibOptions {
    let g = &config.global;
    RibOptions {
        local_as: g.asn,
        router_id: g.router_id,
        cluster_id: Some(g.cluster_id),
        decision: g.decision_options(),
        blackhole: match g.blackhole {
            Verdict::Accept => ribbit_rib::BlackholeAction::Accept,
            Verdict::Reject => ribbit_rib::BlackholeAction::Reject,
        },
    }
}

/// The RIB's view of a configured neighbor.
pub fn rib_peer_config(config: &Config, n: &NeighborConfig) -> PeerConfig {
    let (import, export) = config.policy_chains(n);
    PeerConfig {
        address: n.address,
        peer_as: n.peer_asn,
        local_as: n.local_asn,
        route_reflector_client: n.route_reflector_client,
        route_server_client: n.route_server_client,
        next_hop_self: n.next_hop_self,
        next_hop_unchanged: n.next_hop_unchanged,
        send_med: n.send_med,
        allow_own_as: n.allow_own_as,
        import,
        export,
        max_prefix: n
            .max_prefix
            .iter()
            .map(|m| MaxPrefix {
                family: m.family,
                limit: m.limit,
                action: match m.action {
                    MaxPrefixConfigAction::Warn => MaxPrefixAction::Warn,
                    MaxPrefixConfigAction::WithdrawExcess => MaxPrefixAction::WithdrawExcess,
                    MaxPrefixConfigAction::Teardown => MaxPrefixAction::Teardown,
                },
            })
            .collect(),
        add_path_send: n
            .families
            .iter()
            .map(|f| {
                (
                    *f,
                    match n.add_path_send {
                        AddPathSendConfig::All => AddPathSend::All,
                        AddPathSendConfig::Best(k) => AddPathSend::Best(k),
                    },
                )
            })
            .collect(),
        keep_adj_rib_in: n.keep_adj_rib_in,
        role: n.role,
        flowspec_validation: n.flowspec_validation,
    }
}

/// The session settings of a configured neighbor.
pub fn peer_settings(config: &Config, n: &NeighborConfig, id: PeerId) -> PeerSettings {
    let mut extra = vec![Capability::SoftwareVersion(format!(
        "Ribbit/{}",
        env!("CARGO_PKG_VERSION")
    ))];
    if n.graceful_restart {
        // RFC 4724 §3: we keep no forwarding state (Ribbit programs no FIB),
        // so the F bits are clear; the capability tells the peer to keep
        // our routes while we restart and that we keep its routes while it
        // restarts.
        extra.push(Capability::GracefulRestart {
            restarting: false,
            notification: false,
            restart_time: u16::try_from(n.graceful_restart_time.as_secs()).unwrap_or(u16::MAX),
            families: n
                .families
                .iter()
                .map(|f| GracefulRestartFamily {
                    family: *f,
                    forwarding_preserved: false,
                })
                .collect(),
        });
    }
    let long_lived = n.graceful_restart && !n.long_lived_stale_time.is_zero();
    if long_lived {
        // RFC 9494 §2: the stale time is 24 bits of seconds.
        let stale_time = u32::try_from(n.long_lived_stale_time.as_secs())
            .unwrap_or(u32::MAX)
            .min(0x00ff_ffff);
        extra.push(Capability::LongLivedGracefulRestart(
            n.families
                .iter()
                .map(|f| LongLivedFamily {
                    family: *f,
                    forwarding_preserved: false,
                    stale_time,
                })
                .collect(),
        ));
    }
    let local = LocalSettings {
        asn: n.local_asn,
        peer_asn: n.peer_asn,
        router_id: config.global.router_id,
        hold_time: n.hold_time,
        families: n.families.clone(),
        route_refresh: n.route_refresh,
        enhanced_route_refresh: n.enhanced_route_refresh,
        extended_message: n.extended_message,
        add_path: n.add_path.clone(),
        extended_next_hop: Vec::new(),
        role: n.role,
        extra,
    };
    let mut session = SessionConfig::new(local);
    session.passive = n.passive;
    session.connect_retry = n.connect_retry;
    session.delay_open = n.delay_open;
    PeerSettings {
        address: n.address,
        port: n.port,
        transport: TransportSettings {
            local_address: n.local_address,
            md5_key: n.md5_password.as_ref().map(|k| k.as_bytes().to_vec()),
            outgoing_ttl: n.outgoing_ttl(),
            minimum_ttl: n.minimum_ttl(),
        },
        session,
        enabled: n.enabled,
        id,
        max_prefix_restart: n.max_prefix.iter().map(|m| (m.family, m.restart)).collect(),
        graceful_restart: n.graceful_restart.then_some(n.graceful_restart_time),
        long_lived_stale_time: long_lived.then_some(n.long_lived_stale_time),
        restarting: Arc::new(AtomicBool::new(false)),
    }
}

impl Speaker {
    /// Bind the listeners and start the neighbors (the disabled ones wait
    /// to be enabled).
    pub async fn start(config: &Config) -> Result<Speaker, StartError> {
        Speaker::launch(config)
    }

    /// [`Speaker::start`] for callers that are not async themselves; it
    /// must run within a tokio runtime, which it spawns its tasks on.
    pub fn launch(config: &Config) -> Result<Speaker, StartError> {
        // Every listener first: when one cannot be bound, nothing has been
        // started that would outlive the error.
        let mut bound_listeners = Vec::new();
        let mut local = Vec::new();
        for addr in &config.global.listen {
            let listener = bind_listener(config, *addr)?;
            let bound = listener.local_addr().unwrap_or(*addr);
            info!(addr = %bound, "listening");
            local.push(bound);
            bound_listeners.push(listener);
        }
        let events = EventBus::new(config.global.event_buffer);
        let mut rib = Rib::new(rib_options(config));
        let mut ids = Vec::new();
        for n in &config.neighbors {
            let id = rib.add_peer(rib_peer_config(config, n));
            // The static routes are injected routes of the neighbor: the
            // RIB sends them whenever the session comes up.
            for r in crate::announce::static_routes(config, n) {
                if let Err(e) = rib.inject(&[id], r.family, &r.nlri, &r.route) {
                    warn!(peer = %n.address, error = %e, "static routes not announced");
                }
            }
            ids.push(id);
        }
        let names = config
            .neighbors
            .iter()
            .zip(&ids)
            .map(|(n, id)| (*id, n.address))
            .collect();
        // A restart (`ribbit run --graceful-restart`): route selection
        // waits for the End-of-RIB of the neighbors we offered graceful
        // restart to (RFC 4724 §4.1), at most the selection deferral time.
        if config.global.restarting {
            let waited = config
                .neighbors
                .iter()
                .zip(&ids)
                .filter(|(n, _)| n.graceful_restart && n.enabled)
                .map(|(_, id)| *id);
            rib.defer_selection(waited);
        }
        let deferring = rib.deferring();
        let restarting = Arc::new(AtomicBool::new(false));
        let (rib, rib_task) = rib_task::spawn(rib, names, Arc::clone(&restarting));
        if deferring {
            let control = rib.control.clone();
            let after = config.global.selection_deferral_time;
            info!(
                seconds = after.as_secs(),
                "restarting: route selection deferred until the neighbors' End-of-RIB"
            );
            tokio::spawn(async move {
                tokio::time::sleep(after).await;
                let _ = control.send(RibControl::EndDeferral);
            });
        }
        // The recorders (BMP, MRT) open their taps before any session can
        // come up.
        let taps = Arc::new(Taps::default());
        let bmp = crate::bmp::Clients::start(
            &config.bmp,
            &crate::bmp::Local {
                asn: config.global.asn,
                router_id: config.global.router_id,
            },
            &taps,
            &rib.control,
        );
        let listening: Vec<Arc<TcpListener>> = bound_listeners.into_iter().map(Arc::new).collect();
        let neighbors = Arc::new(RwLock::new(HashMap::new()));
        let mrt = config.mrt.as_ref().map(|m| {
            crate::mrt_dump::MrtDump::start(m, config.global.router_id, &taps, rib.clone())
        });
        let mut speaker = Speaker {
            neighbors,
            config: Mutex::new(config.clone()),
            listening,
            listeners: Vec::new(),
            local,
            events,
            taps,
            mrt,
            bmp,
            rib,
            rib_task,
            spawned: AtomicU64::new(0),
            next_id: AtomicU32::new(u32::try_from(ids.len()).unwrap_or(u32::MAX)),
            stopped: watch::channel(false).0,
            restarting,
        };
        for (n, id) in config.neighbors.iter().zip(ids) {
            speaker.spawn_neighbor(config, n, id);
        }
        // Connections are taken once every neighbor is known: a peer that
        // connected while Ribbit started waits in the listen backlog until
        // then, where an earlier accept would refuse it as unknown (and it
        // might not try again for minutes).
        speaker.listeners = speaker
            .listening
            .iter()
            .map(|l| tokio::spawn(accept_loop(Arc::clone(l), Arc::clone(&speaker.neighbors))))
            .collect();
        Ok(speaker)
    }

    /// Start the task of a neighbor the RIB knows as `id`.
    fn spawn_neighbor(&self, config: &Config, n: &NeighborConfig, id: PeerId) {
        let mut settings = peer_settings(config, n, id);
        settings.restarting = Arc::clone(&self.restarting);
        let transport = settings.transport.clone();
        let i = self.spawned.fetch_add(1, Ordering::Relaxed);
        let seed =
            u64::from(u32::from(config.global.router_id)) ^ i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let (commands, task) = peer::spawn(
            settings,
            self.events.clone(),
            Arc::clone(&self.taps),
            self.rib.clone(),
            seed,
        );
        if let Some(path) = &n.inject_mrt {
            crate::mrt_routes::spawn_inject(
                self.rib.clone(),
                id,
                n.address,
                path.clone(),
                n.inject_mrt_peer,
            );
        }
        let running = Running {
            commands,
            id,
            transport,
            task,
        };
        if let Ok(mut map) = self.neighbors.write() {
            map.insert(n.address, running);
        }
    }

    /// Add a neighbor at run time, with the settings of `n` and the global
    /// ones the speaker runs with (policies, routes for every neighbor).
    /// It starts at once unless `n.enabled` is false.
    pub fn add_neighbor_config(&self, n: NeighborConfig) -> Result<(), NeighborError> {
        if *self.stopped.borrow() {
            return Err(NeighborError::Stopped);
        }
        if self.sender(n.address).is_some() {
            return Err(NeighborError::Exists(n.address));
        }
        if let Some(key) = &n.md5_password {
            for l in &self.listening {
                let addr = l.local_addr().map_err(|_| NeighborError::Stopped)?;
                if addr.is_ipv6() == n.address.is_ipv6() {
                    sockopt::set_md5(l.as_fd(), n.address, key.as_bytes()).map_err(|source| {
                        NeighborError::Md5 {
                            peer: n.address,
                            addr,
                            source,
                        }
                    })?;
                }
            }
        }
        let config = {
            let mut c = self.config.lock().map_err(|_| NeighborError::Stopped)?;
            c.neighbors.push(n.clone());
            c.clone()
        };
        let id = PeerId(self.next_id.fetch_add(1, Ordering::Relaxed));
        self.rib
            .control
            .send(RibControl::AddPeer {
                config: Box::new(rib_peer_config(&config, &n)),
                id,
            })
            .map_err(|_| NeighborError::Stopped)?;
        let routes = crate::announce::static_routes(&config, &n);
        if !routes.is_empty() {
            self.rib
                .control
                .send(RibControl::Inject {
                    peers: vec![id],
                    routes,
                    reply: None,
                })
                .map_err(|_| NeighborError::Stopped)?;
        }
        self.spawn_neighbor(&config, &n, id);
        info!(peer = %n.address, "neighbor added");
        Ok(())
    }

    /// The configuration the speaker runs with (neighbors added and removed
    /// since the start included).
    pub fn config_snapshot(&self) -> Config {
        match self.config.lock() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Remove a neighbor: its session ends with Cease / Peer De-configured
    /// (RFC 4486), its routes are withdrawn from everyone.
    pub async fn remove_neighbor(&self, peer: IpAddr) -> Result<(), NeighborError> {
        let running = self
            .neighbors
            .write()
            .map_err(|_| NeighborError::Stopped)?
            .remove(&peer)
            .ok_or(NeighborError::Unknown(peer))?;
        if let Ok(mut c) = self.config.lock() {
            c.neighbors.retain(|n| n.address != peer);
        }
        let (done, rx) = oneshot::channel();
        if running
            .commands
            .send(PeerCommand::Remove(done))
            .await
            .is_ok()
        {
            let _ = tokio::time::timeout(Duration::from_secs(6), rx).await;
        }
        let _ = tokio::time::timeout(Duration::from_secs(1), running.task).await;
        let _ = self
            .rib
            .control
            .send(RibControl::RemovePeer { peer: running.id });
        info!(%peer, "neighbor removed");
        Ok(())
    }

    async fn command(&self, peer: IpAddr, cmd: PeerCommand) -> Result<(), NeighborError> {
        let tx = self.sender(peer).ok_or(NeighborError::Unknown(peer))?;
        tx.send(cmd).await.map_err(|_| NeighborError::Stopped)
    }

    /// Start the session of a disabled neighbor.
    pub async fn enable_neighbor(&self, peer: IpAddr) -> Result<(), NeighborError> {
        self.command(peer, PeerCommand::Enable).await
    }

    /// Stop a neighbor's session (Cease / Administrative Shutdown with the
    /// message, RFC 9003) until it is enabled again.
    pub async fn disable_neighbor(
        &self,
        peer: IpAddr,
        message: Option<String>,
    ) -> Result<(), NeighborError> {
        self.command(peer, PeerCommand::Disable(message)).await
    }

    /// Reset a neighbor's session (Cease / Administrative Reset with the
    /// message); it comes up again.
    pub async fn reset_neighbor(
        &self,
        peer: IpAddr,
        message: Option<String>,
    ) -> Result<(), NeighborError> {
        self.command(peer, PeerCommand::Reset(message)).await
    }

    /// The addresses of the neighbors.
    pub fn neighbor_addresses(&self) -> Vec<IpAddr> {
        let mut v: Vec<IpAddr> = self
            .neighbors
            .read()
            .map(|m| m.keys().copied().collect())
            .unwrap_or_default();
        v.sort_unstable();
        v
    }

    /// The configuration of a neighbor, as it runs.
    pub fn neighbor_config(&self, peer: IpAddr) -> Option<NeighborConfig> {
        self.config
            .lock()
            .ok()?
            .neighbors
            .iter()
            .find(|n| n.address == peer)
            .cloned()
    }

    fn sender(&self, peer: IpAddr) -> Option<mpsc::Sender<PeerCommand>> {
        self.neighbors
            .read()
            .ok()?
            .get(&peer)
            .map(|r| r.commands.clone())
    }

    /// Take `new`'s settings for everything but the neighbors, which the
    /// caller adds, removes and updates one by one.
    pub(crate) fn replace_config(&self, new: &Config) {
        if let Ok(mut c) = self.config.lock() {
            let neighbors = std::mem::take(&mut c.neighbors);
            *c = new.clone();
            c.neighbors = neighbors;
        }
    }

    /// Replace the settings of a running neighbor in the snapshot (after
    /// its routing settings were applied to the RIB).
    pub(crate) fn update_neighbor_config(&self, n: NeighborConfig) {
        if let Ok(mut c) = self.config.lock() {
            if let Some(slot) = c.neighbors.iter_mut().find(|o| o.address == n.address) {
                *slot = n;
            }
        }
    }

    pub(crate) fn id(&self, peer: IpAddr) -> Option<PeerId> {
        self.neighbors.read().ok()?.get(&peer).map(|r| r.id)
    }

    /// The RIB's number of a neighbor.
    pub(crate) fn peer_id(&self, peer: IpAddr) -> Option<PeerId> {
        self.id(peer)
    }

    /// Look at the running configuration without copying it; `None` when
    /// its lock was poisoned.
    pub(crate) fn config_snapshot_ref<R>(&self, f: impl FnOnce(&Config) -> R) -> Option<R> {
        self.config.lock().ok().map(|c| f(&c))
    }

    /// The addresses the speaker listens on (with the ports really bound).
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.local
    }

    /// A raw view of every session for a recorder (MRT, BMP): the messages
    /// as received (and, with `sent`, as sent) and the sessions' ups and
    /// downs; see [`crate::tap`] for what `mode` means when it falls behind.
    pub fn tap(&self, mode: TapMode, capacity: usize, sent: bool) -> TapReceiver {
        self.taps.open(mode, capacity, sent)
    }

    /// The `[[bmp]]` collectors' metrics, for the HTTP API's `/metrics`.
    pub fn bmp_metrics(&self) -> Arc<crate::bmp::Metrics> {
        self.bmp.metrics()
    }

    /// Every event of every neighbor, from now on.
    pub fn subscribe(&self) -> Events {
        Events {
            rx: self.events.subscribe(),
        }
    }

    /// Only the session events of every neighbor (state changes and
    /// NOTIFICATIONs), from now on: for keeping track of sessions without
    /// being woken by every UPDATE.
    pub fn subscribe_sessions(&self) -> Events {
        Events {
            rx: self.events.subscribe_sessions(),
        }
    }

    /// Call `handler` with every UPDATE any neighbor sends, from now on,
    /// in a task of its own (so a slow handler holds up no session; if it
    /// falls more than `event-buffer` events behind, it misses some and is told so
    /// in the log).
    pub fn on_update<F>(&self, mut handler: F) -> JoinHandle<()>
    where
        F: FnMut(IpAddr, &ribbit_wire::Update) + Send + 'static,
    {
        let mut events = self.subscribe();
        tokio::spawn(async move {
            while let Some(e) = events.next().await {
                match e {
                    PeerEvent::Update { peer, update } => handler(peer, &update),
                    PeerEvent::Lagged { missed } => {
                        warn!(missed, "an on_update handler fell behind; UPDATEs missed");
                    }
                    _ => {}
                }
            }
        })
    }

    async fn ask<T>(
        &self,
        peer: IpAddr,
        make: impl FnOnce(oneshot::Sender<T>) -> PeerCommand,
    ) -> Option<T> {
        let tx = self.sender(peer)?;
        let (reply, rx) = oneshot::channel();
        tx.send(make(reply)).await.ok()?;
        rx.await.ok()
    }

    /// A neighbor's session: state, since when, what was negotiated,
    /// messages counted by type.
    pub async fn neighbor_info(&self, peer: IpAddr) -> Option<crate::peer::NeighborInfo> {
        self.ask(peer, PeerCommand::Info).await
    }

    /// The session state of a neighbor.
    pub async fn state(&self, peer: IpAddr) -> Option<State> {
        self.ask(peer, PeerCommand::State).await
    }

    pub(crate) async fn ask_rib<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> RibQuery,
    ) -> Option<T> {
        let (reply, rx) = oneshot::channel();
        self.rib.control.send(RibControl::Query(make(reply))).ok()?;
        rx.await.ok()
    }

    /// What a neighbor announced to us and we accepted (after import policy).
    pub async fn adj_rib_in(&self, peer: IpAddr) -> Option<Vec<ReceivedRoute>> {
        let peer = self.id(peer)?;
        self.ask_rib(|reply| RibQuery::AdjRibIn {
            peer,
            pre_policy: false,
            reply,
        })
        .await
    }

    /// What a neighbor announced to us before import policy (only kept
    /// with `keep-adj-rib-in`).
    pub async fn adj_rib_in_pre_policy(&self, peer: IpAddr) -> Option<Vec<ReceivedRoute>> {
        let peer = self.id(peer)?;
        self.ask_rib(|reply| RibQuery::AdjRibIn {
            peer,
            pre_policy: true,
            reply,
        })
        .await
    }

    /// A page of a neighbor's Adj-RIB-In or Adj-RIB-Out in one family
    /// ([`Rib::adj_rib_in_page`](ribbit_rib::Rib::adj_rib_in_page)): a
    /// table read this way holds the RIB and memory for a page at a time.
    pub(crate) async fn adj_rib_page(
        &self,
        peer: IpAddr,
        family: Family,
        table: AdjTable,
        after: Option<NlriList>,
        limit: usize,
    ) -> Option<RoutePage> {
        let peer = self.id(peer)?;
        self.ask_rib(|reply| RibQuery::AdjRibPage {
            peer,
            family,
            table,
            after,
            limit,
            reply,
        })
        .await
    }

    /// A neighbor's table to read a page at a time, the families in
    /// `families` (all when `None`).
    pub(crate) fn adj_rib_pages(
        &self,
        peer: IpAddr,
        table: AdjTable,
        families: Option<&[Family]>,
    ) -> AdjRibPages<'_> {
        AdjRibPages {
            speaker: self,
            peer,
            table,
            families: Family::known()
                .filter(|f| families.is_none_or(|v| v.contains(f)))
                .collect(),
            after: None,
        }
    }

    /// A neighbor's routes as a re-sync gives them (to a program, to an
    /// event stream), to read a page at a time: as received when
    /// `keep-adj-rib-in` keeps them, else as accepted; the families in
    /// `families` (all when `None`).
    pub(crate) fn resync_table(
        &self,
        peer: IpAddr,
        families: Option<&[Family]>,
    ) -> AdjRibPages<'_> {
        let pre_policy = self
            .neighbor_config(peer)
            .is_some_and(|n| n.keep_adj_rib_in);
        self.adj_rib_pages(peer, AdjTable::In { pre_policy }, families)
    }

    /// What we sent a neighbor (its Adj-RIB-Out).
    pub async fn adj_rib_out(&self, peer: IpAddr) -> Option<Vec<ReceivedRoute>> {
        let peer = self.id(peer)?;
        self.ask_rib(|reply| RibQuery::AdjRibOut { peer, reply })
            .await
    }

    /// Every path of a family (or of a prefix and its more-specifics), with
    /// the best one and why it won.
    pub async fn paths(
        &self,
        family: Family,
        within: Option<ipnet::IpNet>,
    ) -> Option<Vec<DestinationLine>> {
        self.ask_rib(|reply| RibQuery::Paths {
            family,
            within,
            reply,
        })
        .await
    }

    /// Apply the routing settings of `config` (policies, route reflection,
    /// route server, next hop, limits...) to the running neighbors it
    /// shares with the one the speaker started with, without touching their
    /// sessions: the RIB evaluates their routes again from the pre-policy
    /// copy where one is kept (`keep-adj-rib-in`), else asks the peer for
    /// its routes again with a ROUTE-REFRESH (RFC 2918). Returns the
    /// neighbors that were asked.
    pub async fn reconfigure_routing(&self, config: &Config) -> Vec<(IpAddr, Family)> {
        let mut refreshed = Vec::new();
        for n in &config.neighbors {
            let Some(peer) = self.id(n.address) else {
                continue;
            };
            let (reply, rx) = oneshot::channel();
            let sent = self.rib.control.send(RibControl::Reconfigure {
                peer,
                config: Box::new(rib_peer_config(config, n)),
                reply,
            });
            if sent.is_err() {
                break;
            }
            for family in rx.await.unwrap_or_default() {
                if self.route_refresh(n.address, family).await {
                    refreshed.push((n.address, family));
                }
            }
        }
        refreshed
    }

    /// Table sizes and counters.
    pub async fn rib_stats(&self) -> Option<RibStats> {
        self.ask_rib(|reply| RibQuery::Stats { reply }).await
    }

    /// Whether route selection is deferred while the speaker restarts
    /// (`ribbit run --graceful-restart`, RFC 4724 §4.1): nothing is sent
    /// until the neighbors' End-of-RIB or the selection deferral time.
    pub async fn deferring_selection(&self) -> bool {
        self.ask_rib(|reply| RibQuery::Deferring { reply })
            .await
            .unwrap_or(false)
    }

    /// Ask a neighbor to send its routes of `family` again (RFC 2918).
    pub async fn route_refresh(&self, peer: IpAddr, family: Family) -> bool {
        self.command(peer, PeerCommand::RouteRefresh(family))
            .await
            .is_ok()
    }

    /// Send an End-of-RIB for `family` to a neighbor (ExaBGP's `announce
    /// eor`), after the routes already handed to the speaker for it. False
    /// when the neighbor is unknown or its session is not up with the
    /// family.
    pub async fn send_end_of_rib(&self, peer: IpAddr, family: Family) -> bool {
        let Some(id) = self.peer_id(peer) else {
            return false;
        };
        let (reply, answer) = oneshot::channel();
        if self
            .rib
            .control
            .send(RibControl::EndOfRib {
                peer: id,
                family,
                reply,
            })
            .is_err()
        {
            return false;
        }
        answer.await.unwrap_or(false)
    }

    /// Send a neighbor our routes of `family` again (its Adj-RIB-Out, the
    /// injected routes included), as if it had asked with a ROUTE-REFRESH:
    /// a soft reset out. Nothing is sent while the session is not
    /// established or does not carry the family.
    pub async fn send_again(&self, peer: IpAddr, family: Family) -> Result<(), NeighborError> {
        self.command(peer, PeerCommand::SendAgain(family)).await
    }

    /// Stop every session with Cease / Administrative Shutdown and the
    /// given message (RFC 9003), and wait until the NOTIFICATIONs are out
    /// (each bounded by the linger time). [`Speaker::serve`] then returns.
    pub async fn stop(&self, message: Option<String>) {
        self.stopped.send_replace(true);
        for l in &self.listeners {
            l.abort();
        }
        let running: Vec<Running> = self
            .neighbors
            .write()
            .map(|mut m| m.drain().map(|(_, r)| r).collect())
            .unwrap_or_default();
        let mut waits = Vec::new();
        for tx in running.iter().map(|r| &r.commands) {
            let (done, rx) = oneshot::channel();
            if tx
                .send(PeerCommand::Shutdown(message.clone(), done))
                .await
                .is_ok()
            {
                waits.push(rx);
            }
        }
        for rx in waits {
            let _ = tokio::time::timeout(Duration::from_secs(5), rx).await;
        }
        // Each neighbor task ends once its connections are closed, their
        // NOTIFICATIONs written (or the linger time is up).
        for r in running {
            let _ = tokio::time::timeout(Duration::from_secs(1), r.task).await;
        }
        // After the neighbors: their last state changes are recorded.
        if let Some(m) = &self.mrt {
            m.stop().await;
        }
        // The collectors get the Peer Downs, then a Termination.
        self.bmp.stop().await;
    }

    /// Run until the speaker is stopped ([`Speaker::stop`], from another
    /// task) or its RIB task fails.
    pub async fn serve(&self) -> Result<(), ServeError> {
        let mut stopped = self.stopped.subscribe();
        tokio::select! {
            r = stopped.wait_for(|s| *s) => {
                let _ = r;
                Ok(())
            }
            () = self.rib.control.closed() => Err(ServeError::RibFailed),
        }
    }

    /// [`Speaker::stop`], then wait for the RIB task to end.
    pub async fn shutdown(self, message: Option<String>) {
        self.stop(message).await;
        // The neighbor tasks held the last senders of the RIB's channels
        // besides ours: dropping it ends the RIB task.
        drop(self.rib);
        let _ = tokio::time::timeout(Duration::from_secs(1), self.rib_task).await;
    }
}

/// A subscription to the events of every neighbor ([`Speaker::subscribe`]).
#[derive(Debug)]
pub struct Events {
    rx: broadcast::Receiver<PeerEvent>,
}

impl Events {
    /// The next event; `None` once the speaker is gone. A subscriber that
    /// fell more than `event-buffer` events behind gets [`PeerEvent::Lagged`] with
    /// the number it missed, then the events that follow.
    pub async fn next(&mut self) -> Option<PeerEvent> {
        match self.rx.recv().await {
            Ok(e) => Some(e),
            Err(broadcast::error::RecvError::Lagged(missed)) => Some(PeerEvent::Lagged { missed }),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }

    /// The next event, with the channel's own error for lag and close.
    pub async fn recv(&mut self) -> Result<PeerEvent, broadcast::error::RecvError> {
        self.rx.recv().await
    }

    /// The next event if one is waiting.
    pub fn try_recv(&mut self) -> Result<PeerEvent, broadcast::error::TryRecvError> {
        self.rx.try_recv()
    }

    /// The channel itself, for consumers that handle lag themselves.
    pub fn into_receiver(self) -> broadcast::Receiver<PeerEvent> {
        self.rx
    }
}

/// Why [`Speaker::serve`] returned early.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The RIB task ended: a bug; the speaker cannot go on.
    #[error("the RIB task ended unexpectedly")]
    RibFailed,
}

/// Bind one listening address, with the TCP-MD5 keys of the neighbors of its
/// address family and, when one of them uses GTSM, TTL 255.
fn bind_listener(config: &Config, addr: SocketAddr) -> Result<TcpListener, StartError> {
    let listener = connect::listen(addr).map_err(|source| StartError::Listen { addr, source })?;
    let neighbors = config
        .neighbors
        .iter()
        .filter(|n| n.address.is_ipv6() == addr.is_ipv6());
    let mut gtsm = false;
    for n in neighbors {
        if let Some(key) = &n.md5_password {
            sockopt::set_md5(listener.as_fd(), n.address, key.as_bytes()).map_err(|source| {
                StartError::Md5 {
                    peer: n.address,
                    addr,
                    source,
                }
            })?;
        }
        gtsm |= n.minimum_ttl().is_some();
    }
    // GTSM (RFC 5082): the SYN-ACK leaves from the listening socket, before
    // a connection is matched to its neighbor. A GTSM peer drops it unless
    // it has TTL 255, so send everything with 255 when some neighbor uses
    // GTSM (the TTL matters to no one else). The minimum TTL can only be set
    // per neighbor, on the accepted socket: a spoofed far-away SYN still
    // completes the handshake, and is then dropped before it is read.
    if gtsm {
        sockopt::set_ttl(listener.as_fd(), addr.is_ipv6(), 255)
            .map_err(|source| StartError::Listen { addr, source })?;
    }
    Ok(listener)
}

async fn accept_loop(listener: Arc<TcpListener>, neighbors: Arc<RwLock<HashMap<IpAddr, Running>>>) {
    loop {
        let (stream, from) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        // IPv6 listeners are IPv6-only (see `connect::listen`): no mapped
        // IPv4 addresses show up here.
        let ip = from.ip();
        let found = neighbors.read().ok().and_then(|m| {
            m.get(&ip)
                .map(|r| (r.commands.clone(), r.transport.clone()))
        });
        let Some((tx, transport)) = found else {
            // Unknown source: closed before anything is read.
            debug!(%from, "connection from an unknown address refused");
            drop(stream);
            continue;
        };
        if let Err(e) = transport.apply_ttl(stream.as_fd(), ip.is_ipv6()) {
            warn!(%from, error = %e, "cannot apply TTL settings; connection dropped");
            continue;
        }
        // Never wait on one neighbor: a busy one must not hold up the
        // connections of all the others.
        if let Err(e) = tx.try_send(PeerCommand::Accepted(stream)) {
            debug!(%from, error = %e, "neighbor busy or gone; connection dropped");
        }
    }
}
