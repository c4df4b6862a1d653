//! The running speaker: listeners, one task per neighbor, and the routing
//! of accepted connections to their neighbor.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsFd;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use ribbit_fsm::{LocalSettings, SessionConfig, State};
use ribbit_wire::capability::Capability;
use ribbit_wire::Family;

use crate::config::{Config, NeighborConfig};
use crate::net::connect::{self, TransportSettings};
use crate::net::sockopt;
use crate::peer::{self, PeerCommand, PeerEvent, PeerSettings, ReceivedRoute};

/// How many events a slow subscriber may fall behind before it misses some.
const EVENT_BUFFER: usize = 4096;

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

/// A running BGP speaker.
pub struct Speaker {
    peers: Arc<HashMap<IpAddr, mpsc::Sender<PeerCommand>>>,
    tasks: Vec<JoinHandle<()>>,
    listeners: Vec<JoinHandle<()>>,
    local: Vec<SocketAddr>,
    events: broadcast::Sender<PeerEvent>,
}

/// The session settings of a configured neighbor.
pub fn peer_settings(config: &Config, n: &NeighborConfig) -> PeerSettings {
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
        role: None,
        extra: vec![Capability::SoftwareVersion(format!(
            "Ribbit/{}",
            env!("CARGO_PKG_VERSION")
        ))],
    };
    let mut session = SessionConfig::new(local);
    session.passive = n.passive;
    session.connect_retry = n.connect_retry;
    session.delay_open = n.delay_open;
    let all = n.family_set();
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
        routes: config
            .routes_for(n, all)
            .into_iter()
            .map(|r| r.announcement())
            .collect(),
    }
}

impl Speaker {
    /// Bind the listeners and start every enabled neighbor.
    pub async fn start(config: &Config) -> Result<Speaker, StartError> {
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
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let mut peers = HashMap::new();
        let mut tasks = Vec::new();
        // Transport settings by neighbor address, for accepted connections.
        let mut transport = HashMap::new();
        for (i, n) in config
            .neighbors
            .iter()
            .enumerate()
            .filter(|(_, n)| n.enabled)
        {
            let settings = peer_settings(config, n);
            transport.insert(n.address, settings.transport.clone());
            let seed = u64::from(u32::from(config.global.router_id))
                ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            let (tx, handle) = peer::spawn(settings, events.clone(), seed);
            peers.insert(n.address, tx);
            tasks.push(handle);
        }
        let peers = Arc::new(peers);
        let transport = Arc::new(transport);
        let listeners = bound_listeners
            .into_iter()
            .map(|l| tokio::spawn(accept_loop(l, Arc::clone(&peers), Arc::clone(&transport))))
            .collect();
        Ok(Speaker {
            peers,
            tasks,
            listeners,
            local,
            events,
        })
    }

    /// The addresses the speaker listens on (with the ports really bound).
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.local
    }

    /// Session events of every neighbor, from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<PeerEvent> {
        self.events.subscribe()
    }

    async fn ask<T>(
        &self,
        peer: IpAddr,
        make: impl FnOnce(oneshot::Sender<T>) -> PeerCommand,
    ) -> Option<T> {
        let tx = self.peers.get(&peer)?;
        let (reply, rx) = oneshot::channel();
        tx.send(make(reply)).await.ok()?;
        rx.await.ok()
    }

    /// The session state of a neighbor.
    pub async fn state(&self, peer: IpAddr) -> Option<State> {
        self.ask(peer, PeerCommand::State).await
    }

    /// What a neighbor announced to us.
    pub async fn adj_rib_in(&self, peer: IpAddr) -> Option<Vec<ReceivedRoute>> {
        self.ask(peer, PeerCommand::AdjRibIn).await
    }

    /// Ask a neighbor to send its routes of `family` again (RFC 2918).
    pub async fn route_refresh(&self, peer: IpAddr, family: Family) -> bool {
        match self.peers.get(&peer) {
            Some(tx) => tx.send(PeerCommand::RouteRefresh(family)).await.is_ok(),
            None => false,
        }
    }

    /// Stop every session with Cease / Administrative Shutdown and the
    /// given message (RFC 9003), and wait until the NOTIFICATIONs are out.
    pub async fn shutdown(self, message: Option<String>) {
        for l in &self.listeners {
            l.abort();
        }
        let mut waits = Vec::new();
        for tx in self.peers.values() {
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
        for t in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(1), t).await;
        }
    }
}

/// Bind one listening address, with the TCP-MD5 keys of the neighbors of its
/// address family and, when one of them uses GTSM, TTL 255.
fn bind_listener(config: &Config, addr: SocketAddr) -> Result<TcpListener, StartError> {
    let listener = connect::listen(addr).map_err(|source| StartError::Listen { addr, source })?;
    let neighbors = config
        .neighbors
        .iter()
        .filter(|n| n.enabled && n.address.is_ipv6() == addr.is_ipv6());
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

async fn accept_loop(
    listener: TcpListener,
    peers: Arc<HashMap<IpAddr, mpsc::Sender<PeerCommand>>>,
    transport: Arc<HashMap<IpAddr, TransportSettings>>,
) {
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
        let Some(tx) = peers.get(&ip) else {
            // Unknown source: closed before anything is read.
            debug!(%from, "connection from an unknown address refused");
            drop(stream);
            continue;
        };
        if let Some(t) = transport.get(&ip) {
            if let Err(e) = t.apply_ttl(stream.as_fd(), ip.is_ipv6()) {
                warn!(%from, error = %e, "cannot apply TTL settings; connection dropped");
                continue;
            }
        }
        // Never wait on one neighbor: a busy one must not hold up the
        // connections of all the others.
        if let Err(e) = tx.try_send(PeerCommand::Accepted(stream)) {
            debug!(%from, error = %e, "neighbor busy or gone; connection dropped");
        }
    }
}
