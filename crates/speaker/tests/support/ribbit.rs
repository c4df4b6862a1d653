//! Ribbit's side of an interop test: the configuration (as TOML text, as a
//! user writes it), the routes Ribbit announces, and waits on the session
//! state, the Adj-RIB-In and the events of the in-process speaker.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use ribbit::config::Config;
use ribbit::peer::{PeerEvent, ReceivedRoute};
use ribbit::Speaker;
use ribbit_fsm::State;
use ribbit_wire::update::{MpNlri, NextHop};
use ribbit_wire::{Family, Nlri, Notification, PathAttributes, Update};
use tokio::sync::broadcast;

use super::{eventually, ESTABLISHED, PROPAGATE};

/// The IPv4 route every test's Ribbit announces.
pub const RIBBIT_V4: &str = "203.0.113.0/26";
/// Its next hop: not in 127/8, which GoBGP treats as withdraw (and FRR
/// calls martian).
pub const RIBBIT_V4_NEXT_HOP: &str = "198.18.0.100";
/// The IPv6 route every test's Ribbit announces.
pub const RIBBIT_V6: &str = "2001:db8:100::/48";
/// Its next hop: over an IPv4 session, `self` would be `::ffff:127.x.y.z`,
/// which BIRD refuses.
pub const RIBBIT_V6_NEXT_HOP: &str = "2001:db8:ffff::100";
/// The AS path Ribbit's routes are originated with (before our AS).
const ORIGIN_AS: u32 = 64600;

/// A route as one side of a session shows it, in a form every daemon's
/// output can be brought to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SeenRoute {
    /// `198.51.100.0/28`, `2001:db8:1::/48`.
    pub prefix: String,
    /// The next hop address (IPv6: the global one).
    pub next_hop: String,
    /// The AS numbers of the path, nearest first (all sequences here).
    pub as_path: Vec<u32>,
    /// MULTI_EXIT_DISC.
    pub med: Option<u32>,
    /// LOCAL_PREF.
    pub local_pref: Option<u32>,
    /// Communities as `65000:100`.
    pub communities: Vec<String>,
    /// Large communities as `65000:1:2`.
    pub large_communities: Vec<String>,
}

impl fmt::Display for SeenRoute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} via {} as-path {:?} med {:?} local-pref {:?} communities {:?} large {:?}",
            self.prefix,
            self.next_hop,
            self.as_path,
            self.med,
            self.local_pref,
            self.communities,
            self.large_communities
        )
    }
}

impl SeenRoute {
    /// A route of Ribbit's Adj-RIB-In in this form.
    pub fn from_received(r: &ReceivedRoute) -> SeenRoute {
        let next_hop = match r.next_hop {
            Some(NextHop::V4(a)) => a.to_string(),
            Some(NextHop::V6 { global, .. }) => global.to_string(),
            Some(NextHop::Empty) | None => String::new(),
        };
        SeenRoute {
            prefix: r.nlri.clone(),
            next_hop,
            ..SeenRoute::from_attributes(&r.attributes)
        }
    }

    fn from_attributes(a: &PathAttributes) -> SeenRoute {
        SeenRoute {
            as_path: a
                .as_path
                .iter()
                .flat_map(|p| p.segments.iter())
                .flat_map(|s| s.asns.iter().copied())
                .collect(),
            med: a.med,
            local_pref: a.local_pref,
            communities: a.communities.iter().map(ToString::to_string).collect(),
            large_communities: a
                .large_communities
                .iter()
                .map(ToString::to_string)
                .collect(),
            ..SeenRoute::default()
        }
    }
}

fn list(routes: &[SeenRoute]) -> String {
    if routes.is_empty() {
        return "no routes".to_string();
    }
    routes
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// `Ok` if `seen` holds `expected`. A `local_pref` of `None` in `expected`
/// (an eBGP route: LOCAL_PREF is not sent) also accepts 100, the default a
/// receiver gives such routes.
pub fn expect_peer_route(seen: &[SeenRoute], expected: &SeenRoute) -> Result<(), String> {
    let Some(route) = seen.iter().find(|r| r.prefix == expected.prefix) else {
        return Err(format!("{} not among: {}", expected.prefix, list(seen)));
    };
    let mut route = route.clone();
    if expected.local_pref.is_none() && route.local_pref == Some(100) {
        route.local_pref = None;
    }
    if route == *expected {
        Ok(())
    } else {
        Err(format!("expected {expected}, seen {route}"))
    }
}

/// Ribbit's end of a session with one daemon.
#[derive(Debug, Clone)]
pub struct RibbitSide {
    /// Our AS.
    pub asn: u32,
    /// Our address (also the router id) and where we listen.
    pub address: Ipv4Addr,
    /// Our listening port.
    pub port: u16,
    /// The daemon's address.
    pub peer: Ipv4Addr,
    /// The daemon's port.
    pub peer_port: u16,
    /// The daemon's AS.
    pub peer_asn: u32,
    /// Wait for the daemon to connect instead of connecting.
    pub passive: bool,
    /// Offer enhanced route refresh (RFC 7313). Off for ExaBGP 4.2, which
    /// offers it but fails on every ROUTE-REFRESH it receives.
    pub enhanced_route_refresh: bool,
}

impl RibbitSide {
    /// Whether the session is iBGP.
    pub fn ibgp(&self) -> bool {
        self.asn == self.peer_asn
    }

    /// The configuration file, as a user would write it.
    pub fn toml(&self) -> String {
        format!(
            r#"
[global]
asn = {asn}
router-id = "{address}"
listen = ["{address}:{port}"]

# `ribbit run` would serve the HTTP API on 127.0.0.1:50179, which a
# Ribbit run beside the tests (a benchmark, another suite) may hold.
[api]
enabled = false

[[neighbor]]
address = "{peer}"
port = {peer_port}
local-address = "{address}"
asn = {peer_asn}
passive = {passive}
enhanced-route-refresh = {enhanced}
families = ["ipv4-unicast", "ipv6-unicast"]
connect-retry = 1

[[neighbor.route]]
prefix = "{RIBBIT_V4}"
next-hop = "{RIBBIT_V4_NEXT_HOP}"
as-path = [{ORIGIN_AS}]
med = 10
local-pref = 250                # sent on iBGP only
communities = ["{ORIGIN_AS}:100"]

[[neighbor.route]]
prefix = "{RIBBIT_V6}"
next-hop = "{RIBBIT_V6_NEXT_HOP}"
as-path = [{ORIGIN_AS}]
med = 20
large-communities = ["{ORIGIN_AS}:1:2"]
"#,
            asn = self.asn,
            address = self.address,
            port = self.port,
            peer = self.peer,
            peer_port = self.peer_port,
            peer_asn = self.peer_asn,
            passive = self.passive,
            enhanced = self.enhanced_route_refresh,
        )
    }

    /// Ribbit's two routes as the daemon must show them: our AS prepended
    /// on eBGP, LOCAL_PREF on iBGP only.
    pub fn expected_at_peer(&self) -> [SeenRoute; 2] {
        let as_path = if self.ibgp() {
            vec![ORIGIN_AS]
        } else {
            vec![self.asn, ORIGIN_AS]
        };
        [
            SeenRoute {
                prefix: RIBBIT_V4.to_string(),
                next_hop: RIBBIT_V4_NEXT_HOP.to_string(),
                as_path: as_path.clone(),
                med: Some(10),
                local_pref: self.ibgp().then_some(250),
                communities: vec![format!("{ORIGIN_AS}:100")],
                large_communities: Vec::new(),
            },
            SeenRoute {
                prefix: RIBBIT_V6.to_string(),
                next_hop: RIBBIT_V6_NEXT_HOP.to_string(),
                as_path,
                med: Some(20),
                local_pref: self.ibgp().then_some(100),
                communities: Vec::new(),
                large_communities: vec![format!("{ORIGIN_AS}:1:2")],
            },
        ]
    }
}

/// Ribbit running in-process with one neighbor.
pub struct Ribbit {
    speaker: Option<Speaker>,
    /// The daemon's address.
    pub peer: IpAddr,
    /// The configuration it runs.
    pub side: RibbitSide,
}

impl Ribbit {
    /// Parse the configuration text and start the speaker.
    pub async fn start(side: RibbitSide) -> Ribbit {
        let text = side.toml();
        let config = Config::parse(&text, "interop.toml")
            .unwrap_or_else(|e| panic!("Ribbit's configuration does not load:\n{e}\n{text}"));
        let speaker = Speaker::start(&config)
            .await
            .unwrap_or_else(|e| panic!("Ribbit does not start: {e}"));
        Ribbit {
            speaker: Some(speaker),
            peer: IpAddr::V4(side.peer),
            side,
        }
    }

    /// The running speaker.
    pub fn speaker(&self) -> &Speaker {
        self.speaker.as_ref().expect("Ribbit was shut down")
    }

    /// Wait until the session is Established; returns how long it took.
    pub async fn wait_established(&self) -> Duration {
        let start = Instant::now();
        eventually(
            format!("Ribbit's session with {} to be Established", self.peer),
            ESTABLISHED,
            || async {
                match self.speaker().state(self.peer).await {
                    Some(State::Established) => Ok(()),
                    other => Err(format!("{other:?}")),
                }
            },
        )
        .await;
        start.elapsed()
    }

    /// Wait until Ribbit's Adj-RIB-In holds each expected route with exactly
    /// these attributes and the right family.
    pub async fn wait_routes(&self, expected: &[SeenRoute]) {
        eventually(
            format!("Ribbit to receive {}", list(expected)),
            PROPAGATE,
            || async {
                let routes = self
                    .speaker()
                    .adj_rib_in(self.peer)
                    .await
                    .unwrap_or_default();
                let seen: Vec<SeenRoute> = routes.iter().map(SeenRoute::from_received).collect();
                for e in expected {
                    let route = seen.iter().find(|r| r.prefix == e.prefix);
                    if route != Some(e) {
                        return Err(format!("Adj-RIB-In: {}", list(&seen)));
                    }
                }
                for r in &routes {
                    if r.family != family_of(&r.nlri) {
                        return Err(format!("{} filed under {}", r.nlri, r.family));
                    }
                }
                Ok(())
            },
        )
        .await;
    }

    /// Events from now on.
    pub fn subscribe(&self) -> ribbit::speaker::Events {
        self.speaker().subscribe()
    }

    /// Ask the daemon to send the families of `routes` again (RFC 2918 ROUTE-REFRESH, one per family, all at once),
    /// and wait until UPDATEs announcing each of their prefixes arrive.
    pub async fn refresh_from_peer(&self, routes: &[SeenRoute]) {
        let mut events = self.subscribe();
        let mut missing: Vec<&str> = routes.iter().map(|r| r.prefix.as_str()).collect();
        let mut families: Vec<Family> = missing.iter().map(|p| family_of(p)).collect();
        families.dedup();
        for family in families {
            assert!(
                self.speaker().route_refresh(self.peer, family).await,
                "route_refresh({}, {family}) refused",
                self.peer
            );
        }
        let peer = self.peer;
        let wait = async {
            while !missing.is_empty() {
                match events.recv().await {
                    Ok(PeerEvent::Update { peer: p, update }) if p == peer => {
                        let again = announced(&update);
                        missing.retain(|m| !again.iter().any(|a| a == m));
                    }
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => {
                        panic!("Ribbit's events ended during the refresh")
                    }
                }
            }
        };
        if tokio::time::timeout(PROPAGATE, wait).await.is_err() {
            panic!(
                "after ROUTE-REFRESH, no UPDATE from {peer} within {PROPAGATE:?} announcing {}",
                list(routes)
            );
        }
    }

    /// Shut Ribbit down with Cease / Administrative Shutdown and `message`,
    /// and return the NOTIFICATION it reports having sent to the daemon.
    pub async fn shutdown(&mut self, message: Option<&str>) -> Notification {
        let speaker = self.speaker.take().expect("Ribbit was shut down already");
        let mut events = speaker.subscribe();
        speaker.shutdown(message.map(str::to_string)).await;
        loop {
            match events.try_recv() {
                Ok(PeerEvent::Notification {
                    peer,
                    received: false,
                    notification,
                }) if peer == self.peer => return notification,
                Ok(_) | Err(broadcast::error::TryRecvError::Lagged(_)) => {}
                Err(e) => panic!("Ribbit reported no NOTIFICATION sent to {}: {e}", self.peer),
            }
        }
    }
}

/// The family of a unicast prefix.
fn family_of(prefix: &str) -> Family {
    if prefix.contains(':') {
        Family::IPV6_UNICAST
    } else {
        Family::IPV4_UNICAST
    }
}

/// The prefixes an UPDATE announces (IPv4 NLRI field and MP_REACH_NLRI).
pub fn announced(update: &Update) -> Vec<String> {
    let mut out: Vec<String> = update
        .announced
        .iter()
        .map(|n| n.prefix.to_string())
        .collect();
    if let Some(r) = &update.mp_reach {
        if let MpNlri::Decoded(l) = &r.nlri {
            for n in l.iter() {
                if let Nlri::Prefix(p) = n {
                    out.push(p.prefix.to_string());
                }
            }
        }
    }
    out
}

/// Check the NOTIFICATION Ribbit sent on shutdown: Cease (6) /
/// Administrative Shutdown (2), with the message.
pub fn expect_cease(n: &Notification, message: Option<&str>) {
    assert_eq!(
        (n.code, n.subcode),
        (6, 2),
        "Ribbit sent {n} on shutdown, not Cease / Administrative Shutdown"
    );
    assert_eq!(n.shutdown_message(), message, "shutdown message of {n}");
}
