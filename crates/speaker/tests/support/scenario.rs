//! Scenario tests of Ribbit's RIB with real daemons: a topology of BGP
//! speakers around one in-process Ribbit, the routes each of them announces,
//! the table each observer must end up with, and a clock for failovers.
//!
//! The expected tables are not written out route by route. Each test states,
//! per prefix, whose path Ribbit must select (and why, in a comment), and
//! [`Topology::expected_table`] derives what every observer must receive from
//! that path with the export rules under test: RFC 4271 for eBGP (our AS
//! prepended, next hop self, no MED, no LOCAL_PREF), RFC 4456 for route
//! reflection (client and non-client rules, ORIGINATOR_ID, CLUSTER_LIST, next
//! hop unchanged), RFC 7947 for the route server (AS_PATH, NEXT_HOP and MED
//! untouched) and RFC 1997 for NO_EXPORT and NO_ADVERTISE.
//!
//! Daemons here peer with Ribbit only, never with each other, and are
//! passive: Ribbit connects to each, so that no daemon's own first-connect
//! delay (GoBGP waits 5 to 10 s) slows a test down.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use ribbit::config::Config;
use ribbit::peer::ReceivedRoute;
use ribbit::rib_view::step_text;
use ribbit::Speaker;
use ribbit_fsm::State;
use ribbit_rib::Step;
use ribbit_wire::update::NextHop;
use ribbit_wire::Family;
use serde_json::Value;

use super::{eventually, find_binary, run_cli, Daemon, Lab, Steps, ESTABLISHED, PROPAGATE};

/// How long a session that comes back may take to show its routes: Ribbit
/// reconnects with its connect-retry back-off (1 s doubled per failed
/// attempt while the peer refused) and the routes follow.
pub const SESSION_BACK: Duration = ESTABLISHED;

/// NO_EXPORT (RFC 1997), as the observers' tables show it.
pub const NO_EXPORT: &str = "65535:65281";
/// NO_ADVERTISE (RFC 1997).
pub const NO_ADVERTISE: &str = "65535:65282";
/// How long a failover may take, from the withdraw to the monitor showing
/// the next best path: the issue's requirement.
pub const FAILOVER: Duration = Duration::from_secs(1);
/// How often a failover is polled.
const FAILOVER_POLL: Duration = Duration::from_millis(50);
/// How long a failover is watched at most before the test gives up, so that
/// a slow failover is reported with its duration rather than as a timeout.
const FAILOVER_GIVE_UP: Duration = Duration::from_secs(10);
/// LOCAL_PREF a speaker gives a route that has none (eBGP routes): the
/// common default, also Ribbit's (`decision.rs`).
const DEFAULT_LOCAL_PREF: u32 = 100;
/// LOCAL_PREF the iBGP announcers send with every route.
pub const IBGP_LOCAL_PREF: u32 = 100;

/// ORIGIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Origin {
    /// IGP (0).
    #[default]
    Igp,
    /// EGP (1).
    Egp,
    /// INCOMPLETE (2).
    Incomplete,
}

impl Origin {
    fn from_code(code: u64) -> Option<Origin> {
        match code {
            0 => Some(Origin::Igp),
            1 => Some(Origin::Egp),
            2 => Some(Origin::Incomplete),
            _ => None,
        }
    }

    /// BIRD's constant for the filter language.
    fn bird(self) -> &'static str {
        match self {
            Origin::Igp => "ORIGIN_IGP",
            Origin::Egp => "ORIGIN_EGP",
            Origin::Incomplete => "ORIGIN_INCOMPLETE",
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Origin::Igp => "igp",
            Origin::Egp => "egp",
            Origin::Incomplete => "incomplete",
        })
    }
}

/// One route as an observer holds it, with every attribute the scenarios
/// check.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Route {
    /// `198.51.100.0/28`.
    pub prefix: String,
    /// NEXT_HOP.
    pub next_hop: String,
    /// AS_PATH, nearest AS first (sequences only here).
    pub as_path: Vec<u32>,
    /// ORIGIN; `None` if missing.
    pub origin: Option<Origin>,
    /// MULTI_EXIT_DISC.
    pub med: Option<u32>,
    /// LOCAL_PREF.
    pub local_pref: Option<u32>,
    /// Communities as `65000:100`, sorted (the attribute is a set).
    pub communities: Vec<String>,
    /// Large communities as `65000:1:2`, sorted.
    pub large_communities: Vec<String>,
    /// ORIGINATOR_ID (RFC 4456).
    pub originator_id: Option<Ipv4Addr>,
    /// CLUSTER_LIST (RFC 4456), in order.
    pub cluster_list: Vec<Ipv4Addr>,
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let origin = self.origin.map_or("none".to_string(), |o| o.to_string());
        write!(
            f,
            "{} via {} as-path {:?} origin {origin} med {:?} local-pref {:?} communities {:?} \
             large {:?}",
            self.prefix,
            self.next_hop,
            self.as_path,
            self.med,
            self.local_pref,
            self.communities,
            self.large_communities
        )?;
        if let Some(o) = self.originator_id {
            write!(f, " originator {o}")?;
        }
        if !self.cluster_list.is_empty() {
            write!(f, " cluster-list {:?}", self.cluster_list)?;
        }
        Ok(())
    }
}

/// One route a daemon announces to Ribbit, described as Ribbit receives it.
#[derive(Debug, Clone)]
pub struct Announcement {
    /// The prefix.
    pub prefix: &'static str,
    /// AS_PATH as Ribbit receives it. On eBGP the daemon adds its own AS,
    /// so the path must start with it; on iBGP it is sent as is.
    pub as_path: Vec<u32>,
    /// ORIGIN.
    pub origin: Origin,
    /// MULTI_EXIT_DISC.
    pub med: Option<u32>,
    /// Communities.
    pub communities: Vec<String>,
    /// Large communities.
    pub large_communities: Vec<String>,
}

impl Announcement {
    /// A route with ORIGIN IGP, no MED and the given communities.
    pub fn new(prefix: &'static str, as_path: &[u32], communities: &[&str]) -> Announcement {
        Announcement {
            prefix,
            as_path: as_path.to_vec(),
            origin: Origin::Igp,
            med: None,
            communities: communities.iter().map(|c| c.to_string()).collect(),
            large_communities: Vec::new(),
        }
    }

    /// With this ORIGIN.
    pub fn origin(mut self, origin: Origin) -> Announcement {
        self.origin = origin;
        self
    }

    /// With this MED.
    pub fn med(mut self, med: u32) -> Announcement {
        self.med = Some(med);
        self
    }

    /// With this large community.
    pub fn large(mut self, community: &str) -> Announcement {
        self.large_communities.push(community.to_string());
        self
    }

    fn has_community(&self, community: &str) -> bool {
        self.communities.iter().any(|c| c == community)
    }

    /// The part of the AS path the daemon is given: all of it on iBGP; on
    /// eBGP all but the first AS, which the daemon prepends itself.
    fn source_path(&self, peer: &PeerSpec, ebgp: bool) -> Vec<u32> {
        if !ebgp {
            return self.as_path.clone();
        }
        match self.as_path.split_first() {
            Some((first, rest)) if *first == peer.asn => rest.to_vec(),
            _ => panic!(
                "scenario error: {} from {} (AS {}) over eBGP must have a path starting with \
                 {}, not {:?}",
                self.prefix, peer.name, peer.asn, peer.asn, self.as_path
            ),
        }
    }
}

/// Which daemon plays a peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// gobgpd, driven through the `gobgp` client.
    GoBgp,
    /// BIRD 2, driven through `birdc`.
    Bird,
}

/// How Ribbit treats a neighbor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// An ordinary eBGP or iBGP neighbor.
    Plain,
    /// A route reflector client (RFC 4456).
    RrClient,
    /// An iBGP neighbor of a route reflector that is not its client.
    RrNonClient,
    /// A route server client (RFC 7947).
    RsClient,
}

/// One daemon around Ribbit.
#[derive(Debug, Clone)]
pub struct PeerSpec {
    /// A short name: `a`, `b`, `c`, `m` (the monitor), `e`.
    pub name: &'static str,
    /// The daemon.
    pub kind: Kind,
    /// Its address, also where it listens.
    pub address: Ipv4Addr,
    /// Its BGP port.
    pub port: u16,
    /// Its gRPC API port (GoBGP only).
    pub api_port: u16,
    /// Its AS.
    pub asn: u32,
    /// Its BGP identifier.
    pub router_id: Ipv4Addr,
    /// The next hop of its routes: never in 127/8, which GoBGP treats as a
    /// withdraw (trap G1 of interop-lab.md), so that its routes can reach a
    /// GoBGP observer unchanged through a route reflector or server.
    pub next_hop: Ipv4Addr,
    /// How Ribbit treats it.
    pub role: Role,
    /// An import policy on Ribbit's side for this neighbor that sets
    /// LOCAL_PREF on one prefix: (prefix, value).
    pub import_local_pref: Option<(&'static str, u32)>,
    /// What it announces.
    pub announcements: Vec<Announcement>,
}

impl PeerSpec {
    fn announcement(&self, prefix: &str) -> Option<&Announcement> {
        self.announcements.iter().find(|a| a.prefix == prefix)
    }

    fn policy_name(&self) -> String {
        format!("{}-local-pref", self.name)
    }
}

/// Ribbit's own settings.
#[derive(Debug, Clone)]
pub struct RibbitSpec {
    /// Our AS.
    pub asn: u32,
    /// Our address on every session, our router id, where we listen.
    pub address: Ipv4Addr,
    /// Where we listen.
    pub port: u16,
    /// `[global] cluster-id`, for route reflection.
    pub cluster_id: Option<Ipv4Addr>,
    /// `[global] always-compare-med`.
    pub always_compare_med: bool,
}

/// Whose path Ribbit must select, per prefix: the name of a peer, or
/// `None` when no path is left.
pub type Best = BTreeMap<&'static str, Option<&'static str>>;

/// Ribbit and the daemons around it.
#[derive(Debug, Clone)]
pub struct Topology {
    /// Ribbit.
    pub ribbit: RibbitSpec,
    /// The daemons.
    pub peers: Vec<PeerSpec>,
}

impl Topology {
    /// The peer named `name`.
    pub fn peer(&self, name: &str) -> &PeerSpec {
        self.peers
            .iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("scenario error: no peer named {name}"))
    }

    /// Replace what `peer` announces for the announcement's prefix (a
    /// changed route, announced next with [`Change::Announce`]).
    pub fn replace_announcement(&mut self, peer: &str, a: Announcement) {
        let spec = self
            .peers
            .iter_mut()
            .find(|p| p.name == peer)
            .unwrap_or_else(|| panic!("scenario error: no peer named {peer}"));
        match spec.announcements.iter_mut().find(|x| x.prefix == a.prefix) {
            Some(old) => *old = a,
            None => spec.announcements.push(a),
        }
    }

    fn ebgp(&self, peer: &PeerSpec) -> bool {
        peer.asn != self.ribbit.asn
    }

    /// Ribbit's configuration file, as a user writes it (key names from
    /// docs/config.md).
    pub fn ribbit_toml(&self) -> String {
        let r = &self.ribbit;
        let mut toml = format!(
            "[global]\nasn = {}\nrouter-id = \"{}\"\nlisten = [\"{}:{}\"]\n",
            r.asn, r.address, r.address, r.port
        );
        if let Some(id) = r.cluster_id {
            toml.push_str(&format!("cluster-id = \"{id}\"\n"));
        }
        if r.always_compare_med {
            toml.push_str("always-compare-med = true\n");
        }
        for p in &self.peers {
            if let Some((prefix, value)) = p.import_local_pref {
                toml.push_str(&format!(
                    "\n[[policy]]\nname = \"{name}\"\n\n[[policy.rule]]\n\
                     match = {{ prefix = [\"{prefix}\"] }}\n\
                     then = {{ local-pref = {value} }}\n",
                    name = p.policy_name(),
                ));
            }
        }
        for p in &self.peers {
            toml.push_str(&format!(
                "\n[[neighbor]]\ndescription = \"{name}\"\naddress = \"{address}\"\n\
                 port = {port}\nlocal-address = \"{local}\"\nasn = {asn}\n\
                 connect-retry = 1\n",
                name = p.name,
                address = p.address,
                port = p.port,
                local = r.address,
                asn = p.asn,
            ));
            match p.role {
                Role::Plain | Role::RrNonClient => {}
                Role::RrClient => toml.push_str("route-reflector-client = true\n"),
                Role::RsClient => toml.push_str("route-server-client = true\n"),
            }
            if p.import_local_pref.is_some() {
                toml.push_str(&format!("import = [\"{}\"]\n", p.policy_name()));
            }
        }
        toml
    }

    /// Check that `best` names a path for every announced prefix, and only
    /// announced paths: a typo in a test must fail it, not pass it.
    fn check_best(&self, best: &Best) {
        for p in &self.peers {
            for a in &p.announcements {
                assert!(
                    best.contains_key(a.prefix),
                    "scenario error: no best path stated for {} (announced by {})",
                    a.prefix,
                    p.name
                );
            }
        }
        for (prefix, winner) in best {
            if let Some(w) = winner {
                assert!(
                    self.peer(w).announcement(prefix).is_some(),
                    "scenario error: {w} does not announce {prefix}"
                );
            }
        }
    }

    /// Whether Ribbit may send `observer` the path of `source`.
    fn exported(&self, source: &PeerSpec, observer: &PeerSpec, a: &Announcement) -> bool {
        // RFC 1997: NO_ADVERTISE goes to no peer at all; NO_EXPORT not
        // outside the AS. A route server client is outside it too (BIRD as a
        // route server does the same).
        if a.has_community(NO_ADVERTISE) {
            return false;
        }
        let to_ebgp = self.ebgp(observer);
        if to_ebgp && a.has_community(NO_EXPORT) {
            return false;
        }
        if self.ebgp(source) || to_ebgp {
            return true;
        }
        // iBGP to iBGP (RFC 4456 §6): a client's route goes to every iBGP
        // peer, a non-client's to clients only; without reflection, to none
        // (RFC 4271 §9.2).
        matches!(
            (source.role, observer.role),
            (Role::RrClient, _) | (Role::RrNonClient, Role::RrClient)
        )
    }

    /// The path of `source` as Ribbit must send it to `observer`.
    fn transformed(&self, source: &PeerSpec, observer: &PeerSpec, a: &Announcement) -> Route {
        let from_ibgp = !self.ebgp(source);
        let mut route = Route {
            prefix: a.prefix.to_string(),
            next_hop: source.next_hop.to_string(),
            as_path: a.as_path.clone(),
            origin: Some(a.origin),
            med: a.med,
            local_pref: None,
            communities: sorted(&a.communities),
            large_communities: sorted(&a.large_communities),
            originator_id: None,
            cluster_list: Vec::new(),
        };
        if !self.ebgp(observer) {
            // iBGP: next hop unchanged (RFC 4271 §5.1.3), LOCAL_PREF as
            // after the import policy (§5.1.5), MED kept. A reflected route
            // gets the originator's BGP identifier and our cluster id
            // (RFC 4456 §8); a route from eBGP is not reflected and gets
            // neither.
            let received = if from_ibgp {
                IBGP_LOCAL_PREF
            } else {
                DEFAULT_LOCAL_PREF
            };
            route.local_pref = Some(match source.import_local_pref {
                Some((prefix, value)) if prefix == a.prefix => value,
                _ => received,
            });
            if from_ibgp {
                route.originator_id = Some(source.router_id);
                route.cluster_list = self.ribbit.cluster_id.into_iter().collect();
            }
        } else if observer.role == Role::RsClient {
            // RFC 7947 §2.2: a route server leaves AS_PATH, NEXT_HOP and MED
            // as they came; LOCAL_PREF is never sent on eBGP.
        } else {
            // Plain eBGP (RFC 4271 §5.1.2-5.1.4): our AS first, our address
            // as next hop (the original next hop is not on a subnet shared
            // with the observer), no MED from another AS, no LOCAL_PREF.
            route.as_path.insert(0, self.ribbit.asn);
            route.next_hop = self.ribbit.address.to_string();
            route.med = None;
        }
        route
    }

    /// The prefixes `observer` announces itself. What Ribbit sends a peer
    /// for a prefix that peer announced is left out of the comparisons:
    /// without ADD-PATH a speaker sends a peer either nothing or its best
    /// path other than the peer's own (RFC 7947 §2.3 discusses both for
    /// route servers), and on eBGP the peer drops a path with its own AS.
    fn own_prefixes(observer: &PeerSpec) -> Vec<&'static str> {
        observer.announcements.iter().map(|a| a.prefix).collect()
    }

    /// Exactly what `observer` must hold from Ribbit once Ribbit selected
    /// `best`, leaving out the prefixes the observer announces itself.
    pub fn expected_table(&self, observer: &str, best: &Best) -> Vec<Route> {
        self.check_best(best);
        let observer = self.peer(observer);
        let own = Self::own_prefixes(observer);
        let mut out = Vec::new();
        for (prefix, winner) in best {
            let Some(winner) = winner else { continue };
            if own.contains(prefix) {
                continue;
            }
            let source = self.peer(winner);
            let a = source
                .announcement(prefix)
                .unwrap_or_else(|| panic!("scenario error: {winner} does not announce {prefix}"));
            if source.name != observer.name && self.exported(source, observer, a) {
                out.push(self.transformed(source, observer, a));
            }
        }
        out
    }
}

fn sorted(list: &[String]) -> Vec<String> {
    let mut v = list.to_vec();
    v.sort();
    v
}

/// `Ok` if `seen` is exactly `expected` (one route per prefix, every
/// attribute equal), else every difference.
pub fn compare_tables(seen: &[Route], expected: &[Route]) -> Result<(), String> {
    let problems = table_diff(seen, expected);
    if problems.is_empty() {
        Ok(())
    } else {
        let lines: Vec<String> = problems.into_iter().map(|(_, p)| p).collect();
        Err(lines.join("\n    "))
    }
}

/// The differences between `seen` and `expected`, each with its prefix.
fn table_diff(seen: &[Route], expected: &[Route]) -> Vec<(String, String)> {
    let mut by_prefix: BTreeMap<&str, Vec<&Route>> = BTreeMap::new();
    for r in seen {
        by_prefix.entry(&r.prefix).or_default().push(r);
    }
    let mut problems = Vec::new();
    for e in expected {
        let problem = match by_prefix.remove(e.prefix.as_str()).as_deref() {
            None | Some([]) => format!("missing: {e}"),
            Some([r]) if *r == e => continue,
            Some([r]) => format!("expected {e}\n      seen {r}"),
            Some(many) => format!(
                "{} paths for {} (expected one): {}",
                many.len(),
                e.prefix,
                list(many.iter().copied())
            ),
        };
        problems.push((e.prefix.clone(), problem));
    }
    for (prefix, routes) in by_prefix {
        for r in routes {
            problems.push((prefix.to_string(), format!("unexpected: {r}")));
        }
    }
    problems
}

/// A route of Ribbit's Adj-RIB-In in the same form, for failure messages.
fn route_from_received(r: &ReceivedRoute) -> Route {
    let a = &r.attributes;
    let mut route = Route {
        prefix: r.nlri.clone(),
        next_hop: match r.next_hop {
            Some(NextHop::V4(addr)) => addr.to_string(),
            Some(NextHop::V6 { global, .. }) => global.to_string(),
            Some(NextHop::Empty) | None => String::new(),
        },
        as_path: a
            .as_path
            .iter()
            .flat_map(|p| p.segments.iter())
            .flat_map(|s| s.asns.iter().copied())
            .collect(),
        origin: a.origin.and_then(|o| Origin::from_code(o as u64)),
        med: a.med,
        local_pref: a.local_pref,
        communities: a
            .communities
            .iter()
            .map(|c| format!("{}:{}", c.high(), c.low()))
            .collect(),
        large_communities: a
            .large_communities
            .iter()
            .map(ToString::to_string)
            .collect(),
        originator_id: a.originator_id,
        cluster_list: a.cluster_list.clone(),
    };
    route.communities.sort();
    route.large_communities.sort();
    route
}

fn list<'a>(routes: impl Iterator<Item = &'a Route>) -> String {
    let v: Vec<String> = routes.map(ToString::to_string).collect();
    if v.is_empty() {
        "none".to_string()
    } else {
        v.join("; ")
    }
}

/// A running gobgpd and its command line client.
struct GoBgp {
    daemon: Daemon,
    cli: PathBuf,
    host: String,
    port: String,
    dir: PathBuf,
}

impl GoBgp {
    fn config(spec: &PeerSpec, ribbit: &RibbitSpec) -> String {
        // Only Ribbit as neighbor, passive (Ribbit connects at once; GoBGP's
        // own first connect waits 5 to 10 s, trap G3); listening on its own
        // address only (trap G5). GoBGP has a minimum-advertisement-interval
        // setting but does not delay its UPDATEs by it: its withdraws reach a
        // peer in about 25 ms (measured while writing these tests), so the
        // failover bound below measures Ribbit, not GoBGP.
        format!(
            r#"
[global.config]
  as = {asn}
  router-id = "{router_id}"
  port = {port}
  local-address-list = ["{address}"]

[[neighbors]]
  [neighbors.config]
    neighbor-address = "{ribbit}"
    peer-as = {ribbit_asn}
  [neighbors.transport.config]
    local-address = "{address}"
    passive-mode = true
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
"#,
            asn = spec.asn,
            router_id = spec.router_id,
            port = spec.port,
            address = spec.address,
            ribbit = ribbit.address,
            ribbit_asn = ribbit.asn,
        )
    }

    async fn start(lab: &Lab, spec: &PeerSpec, ribbit: &RibbitSpec) -> GoBgp {
        let gobgpd = find_binary("gobgpd", "gobgpd");
        let cli = find_binary("gobgp", "gobgpd");
        let file = format!("{}.toml", spec.name);
        lab.write(&file, &GoBgp::config(spec, ribbit));
        let api = format!("{}:{}", spec.address, spec.api_port);
        let mut command = Command::new(gobgpd);
        // -p: log to stdout (<name>.out); no pprof listener (trap G5).
        command.args(["-f", &file, "-p", "--pprof-disable", "--api-hosts", &api]);
        let daemon = Daemon::spawn(spec.name, lab, command, &[]);
        let gobgp = GoBgp {
            daemon,
            cli,
            host: spec.address.to_string(),
            port: spec.api_port.to_string(),
            dir: lab.dir().to_path_buf(),
        };
        eventually(
            format!("{}'s API (gobgpd) to answer", spec.name),
            PROPAGATE,
            || async {
                gobgp.daemon.check_running()?;
                gobgp.run(&["global"]).await
            },
        )
        .await;
        gobgp
    }

    async fn run(&self, args: &[&str]) -> Result<String, String> {
        let mut all = vec!["-u", &self.host, "-p", &self.port];
        all.extend_from_slice(args);
        run_cli(&self.cli, &all, &self.dir).await
    }

    /// Put a route in GoBGP's global RIB. With an explicit next hop GoBGP
    /// keeps it even on eBGP (a local route with a given next hop is not
    /// rewritten to the session address).
    async fn announce(&self, spec: &PeerSpec, a: &Announcement, ebgp: bool) {
        let path = a
            .source_path(spec, ebgp)
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let next_hop = spec.next_hop.to_string();
        let origin = a.origin.to_string();
        let med = a.med.map(|m| m.to_string());
        let local_pref = IBGP_LOCAL_PREF.to_string();
        let communities = a.communities.join(",");
        let large = a.large_communities.join(",");
        let mut args = vec![
            "global", "rib", "add", a.prefix, "-a", "ipv4", "nexthop", &next_hop, "origin", &origin,
        ];
        if !path.is_empty() {
            args.extend(["aspath", &path]);
        }
        if let Some(med) = &med {
            args.extend(["med", med]);
        }
        // GoBGP would not send LOCAL_PREF on eBGP anyway; given on iBGP so
        // that what Ribbit receives is stated, not a default.
        if !ebgp {
            args.extend(["local-pref", &local_pref]);
        }
        if !communities.is_empty() {
            args.extend(["community", &communities]);
        }
        if !large.is_empty() {
            args.extend(["large-community", &large]);
        }
        self.run(&args)
            .await
            .unwrap_or_else(|e| panic!("{}: cannot add {}: {e}", spec.name, a.prefix));
    }

    async fn withdraw(&self, prefix: &str) -> Result<String, String> {
        self.run(&["global", "rib", "del", prefix, "-a", "ipv4"])
            .await
    }

    /// What the neighbor sent, as GoBGP received it (`adj-in`, before any
    /// policy: GoBGP has none configured here anyway).
    async fn adj_in(&self, neighbor: Ipv4Addr) -> Result<Vec<Route>, String> {
        let text = self
            .run(&[
                "neighbor",
                &neighbor.to_string(),
                "adj-in",
                "-a",
                "ipv4",
                "-j",
            ])
            .await?;
        let v: Value = serde_json::from_str(&text).map_err(|e| format!("{e}: {text}"))?;
        let Some(map) = v.as_object() else {
            return Err(format!("adj-in: not an object: {v}"));
        };
        let mut out = Vec::new();
        for paths in map.values() {
            for path in paths.as_array().into_iter().flatten() {
                out.push(gobgp_route(path));
            }
        }
        Ok(out)
    }

    /// Lines of GoBGP's log that explain a missing route.
    fn warnings(&self) -> Vec<String> {
        self.daemon
            .log_text()
            .lines()
            .filter(|l| l.contains("level=warning") || l.contains("level=error"))
            .map(str::to_string)
            .collect()
    }
}

/// A GoBGP path in JSON: `attrs` is a list of attributes by type code.
fn gobgp_route(path: &Value) -> Route {
    let mut r = Route {
        prefix: path["nlri"]["prefix"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        ..Route::default()
    };
    let number = |v: &Value| v.as_u64().and_then(|n| u32::try_from(n).ok());
    let address = |v: &Value| v.as_str().and_then(|s| s.parse::<Ipv4Addr>().ok());
    for attr in path["attrs"].as_array().into_iter().flatten() {
        match attr["type"].as_u64() {
            Some(1) => r.origin = attr["value"].as_u64().and_then(Origin::from_code),
            Some(2) => {
                for seg in attr["as_paths"].as_array().into_iter().flatten() {
                    r.as_path.extend(
                        seg["asns"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(number),
                    );
                }
            }
            Some(3) | Some(14) => {
                r.next_hop = attr["nexthop"].as_str().unwrap_or_default().to_string();
            }
            Some(4) => r.med = number(&attr["metric"]),
            Some(5) => r.local_pref = number(&attr["value"]),
            Some(8) => {
                for c in attr["communities"].as_array().into_iter().flatten() {
                    if let Some(c) = number(c) {
                        r.communities.push(format!("{}:{}", c >> 16, c & 0xffff));
                    }
                }
            }
            Some(9) => r.originator_id = address(&attr["value"]),
            Some(10) => {
                r.cluster_list = attr["value"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(address)
                    .collect();
            }
            Some(32) => {
                for c in attr["value"].as_array().into_iter().flatten() {
                    r.large_communities.push(format!(
                        "{}:{}:{}",
                        c["ASN"], c["LocalData1"], c["LocalData2"]
                    ));
                }
            }
            _ => {}
        }
    }
    r.communities.sort();
    r.large_communities.sort();
    r
}

/// A running BIRD and its control socket.
struct Bird {
    daemon: Daemon,
    birdc: PathBuf,
    dir: PathBuf,
    socket: String,
    log: String,
}

impl Bird {
    fn config(spec: &PeerSpec, ribbit: &RibbitSpec, ebgp: bool) -> String {
        // Each route's attributes are set in the export filter towards
        // Ribbit: MED and communities set there are sent even on eBGP (BIRD
        // drops a MED it did not originate for that peer), and NO_EXPORT /
        // NO_ADVERTISE added there are sent (BIRD honours them before the
        // filter), which is what the scenarios need.
        let mut statics = String::new();
        let mut filter = String::new();
        for a in &spec.announcements {
            statics.push_str(&format!("  route {} unreachable;\n", a.prefix));
            let mut set = String::new();
            for asn in a.source_path(spec, ebgp).iter().rev() {
                set.push_str(&format!("      bgp_path.prepend({asn});\n"));
            }
            set.push_str(&format!("      bgp_origin = {};\n", a.origin.bird()));
            if let Some(med) = a.med {
                set.push_str(&format!("      bgp_med = {med};\n"));
            }
            if !ebgp {
                set.push_str(&format!("      bgp_local_pref = {IBGP_LOCAL_PREF};\n"));
            }
            for c in &a.communities {
                let (hi, lo) = c.split_once(':').expect("community as a:b");
                set.push_str(&format!("      bgp_community.add(({hi}, {lo}));\n"));
            }
            for c in &a.large_communities {
                let parts: Vec<&str> = c.split(':').collect();
                set.push_str(&format!(
                    "      bgp_large_community.add(({}));\n",
                    parts.join(", ")
                ));
            }
            filter.push_str(&format!(
                "    if proto = \"static4\" && net = {} then {{\n{set}      accept;\n    }}\n",
                a.prefix
            ));
        }
        let statics = if statics.is_empty() {
            String::new()
        } else {
            format!("protocol static static4 {{\n  ipv4;\n{statics}}}\n")
        };
        // As a route server client, BIRD gets paths whose first AS is not
        // Ribbit's and whose next hop is another client's. `enforce first
        // as` is off by default; it is stated because a route server client
        // must have it off. `multihop` (needed anyway on loopback, trap B1)
        // makes BIRD resolve any next hop recursively instead of requiring
        // it on a shared subnet, so third-party next hops are accepted (and
        // shown unreachable, as nothing routes 198.18/15 here).
        let rs_client = if spec.role == Role::RsClient {
            "  enforce first as off;\n"
        } else {
            ""
        };
        format!(
            r#"
log "{name}.log" all;
router id {router_id};

protocol device {{ }}

{statics}
protocol bgp ribbit {{
  local {address} port {port} as {asn};
  neighbor {ribbit} port {ribbit_port} as {ribbit_asn};
  strict bind yes;            # listen on {address}:{port} only (trap B4)
  multihop;                   # 127.x is not "directly connected" for BIRD (B1)
  passive on;                 # Ribbit connects
{rs_client}  ipv4 {{
    import all;
    # BIRD's own next hop would be its 127.x address, which GoBGP observers
    # treat as a withdraw (G1).
    next hop address {next_hop};
    export filter {{
{filter}      reject;
    }};
  }};
}}
"#,
            name = spec.name,
            router_id = spec.router_id,
            address = spec.address,
            port = spec.port,
            asn = spec.asn,
            ribbit = ribbit.address,
            ribbit_port = ribbit.port,
            ribbit_asn = ribbit.asn,
            next_hop = spec.next_hop,
        )
    }

    async fn start(lab: &Lab, spec: &PeerSpec, ribbit: &RibbitSpec, ebgp: bool) -> Bird {
        let bird = find_binary("bird", "bird2");
        let birdc = find_binary("birdc", "bird2");
        let conf = format!("{}.conf", spec.name);
        let socket = format!("{}.ctl", spec.name);
        let pid = format!("{}.pid", spec.name);
        let log = format!("{}.log", spec.name);
        lab.write(&conf, &Bird::config(spec, ribbit, ebgp));
        let mut command = Command::new(bird);
        command.args(["-f", "-c", &conf, "-s", &socket, "-P", &pid]);
        let daemon = Daemon::spawn(spec.name, lab, command, &[&log]);
        let bird = Bird {
            daemon,
            birdc,
            dir: lab.dir().to_path_buf(),
            socket,
            log,
        };
        eventually(
            format!("{}'s control socket (BIRD) to answer", spec.name),
            PROPAGATE,
            || async {
                bird.daemon.check_running()?;
                bird.run(&["show", "status"]).await
            },
        )
        .await;
        bird
    }

    /// One birdc command (always a whole command: birdc alone is
    /// interactive, trap B7).
    async fn run(&self, args: &[&str]) -> Result<String, String> {
        let mut all = vec!["-s", self.socket.as_str()];
        all.extend_from_slice(args);
        run_cli(&self.birdc, &all, &self.dir).await
    }

    /// The routes BIRD took from Ribbit. On eBGP BIRD gives every route a
    /// LOCAL_PREF of its own (100) and discards one received, logging it: a
    /// LOCAL_PREF from Ribbit is caught through the log, and the one shown is
    /// BIRD's and left out.
    async fn routes(&self, ebgp: bool) -> Result<Vec<Route>, String> {
        let text = self
            .run(&["show", "route", "all", "protocol", "ribbit"])
            .await?;
        let mut routes = parse_bird_routes(&text);
        let rejected = self.rejections();
        if !rejected.is_empty() {
            return Err(format!(
                "BIRD discarded what Ribbit sent:\n    {}",
                rejected.join("\n    ")
            ));
        }
        if ebgp {
            for r in &mut routes {
                r.local_pref = None;
            }
        }
        Ok(routes)
    }

    /// Lines of BIRD's log where it discarded or refused an attribute or a
    /// route from Ribbit.
    fn rejections(&self) -> Vec<String> {
        let text = std::fs::read_to_string(self.dir.join(&self.log)).unwrap_or_default();
        text.lines()
            .filter(|l| {
                l.contains("Discarding") || l.contains("Malformed") || l.contains("Invalid")
            })
            .map(str::to_string)
            .collect()
    }
}

/// `birdc show route all` as routes. A route starts with a line naming its
/// prefix (or, for a second path of the same prefix, an indented line with
/// the protocol in brackets); its attributes follow as `BGP.name: value`.
pub fn parse_bird_routes(text: &str) -> Vec<Route> {
    let mut out: Vec<Route> = Vec::new();
    for line in text.lines() {
        if line.is_empty() || line.starts_with("BIRD ") || line.starts_with("Table ") {
            continue;
        }
        if !line.starts_with(char::is_whitespace) {
            let prefix = line.split_whitespace().next().unwrap_or_default();
            out.push(Route {
                prefix: prefix.to_string(),
                ..Route::default()
            });
            continue;
        }
        if line.contains(" [ribbit ") {
            let prefix = out.last().map(|r| r.prefix.clone()).unwrap_or_default();
            out.push(Route {
                prefix,
                ..Route::default()
            });
            continue;
        }
        let Some(r) = out.last_mut() else { continue };
        let Some((name, value)) = line.trim().split_once(": ") else {
            continue;
        };
        let numbers = |v: &str| -> Vec<u32> {
            v.split(|c: char| !c.is_ascii_digit())
                .filter_map(|n| n.parse().ok())
                .collect()
        };
        match name {
            "BGP.origin" => {
                r.origin = match value {
                    "IGP" => Some(Origin::Igp),
                    "EGP" => Some(Origin::Egp),
                    "Incomplete" => Some(Origin::Incomplete),
                    _ => None,
                }
            }
            "BGP.as_path" => r.as_path = numbers(value),
            "BGP.next_hop" => {
                r.next_hop = value
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_string();
            }
            "BGP.med" => r.med = value.parse().ok(),
            "BGP.local_pref" => r.local_pref = value.parse().ok(),
            // (65120,7) (65535,65281)
            "BGP.community" => {
                r.communities = value
                    .split(')')
                    .map(numbers)
                    .filter_map(|n| match n.as_slice() {
                        &[hi, lo] => Some(format!("{hi}:{lo}")),
                        _ => None,
                    })
                    .collect();
                r.communities.sort();
            }
            // (65120, 1, 1)
            "BGP.large_community" => {
                r.large_communities = value
                    .split(')')
                    .map(numbers)
                    .filter_map(|n| match n.as_slice() {
                        &[a, b, c] => Some(format!("{a}:{b}:{c}")),
                        _ => None,
                    })
                    .collect();
                r.large_communities.sort();
            }
            "BGP.originator_id" => r.originator_id = value.trim().parse().ok(),
            "BGP.cluster_list" => {
                r.cluster_list = value
                    .split_whitespace()
                    .filter_map(|a| a.parse().ok())
                    .collect();
            }
            _ => {}
        }
    }
    out
}

/// A daemon of the scenario.
enum Node {
    GoBgp(GoBgp),
    Bird(Bird),
}

impl Node {
    fn daemon(&self) -> &Daemon {
        match self {
            Node::GoBgp(g) => &g.daemon,
            Node::Bird(b) => &b.daemon,
        }
    }
}

/// A scenario running: the daemons, Ribbit, and the test's lab directory.
pub struct Scenario {
    /// The topology it runs.
    pub topo: Topology,
    /// Timing of the steps.
    pub steps: Steps,
    // Fields drop in order: Ribbit, then the daemons (stopped by PID, logs
    // printed if the test failed), then the lab directory.
    speaker: Option<Speaker>,
    nodes: Vec<(&'static str, Node)>,
    lab: Lab,
}

impl Scenario {
    /// Start every daemon with its routes, then Ribbit; wait until Ribbit
    /// has every session Established and every announced route in its
    /// Adj-RIB-In.
    pub async fn start(name: &'static str, topo: Topology) -> Scenario {
        Scenario::start_with(name, topo, "").await
    }

    /// [`Scenario::start`] with `extra` appended to Ribbit's configuration
    /// (sections the topology does not describe, such as `[[bmp]]`).
    pub async fn start_with(name: &'static str, topo: Topology, extra: &str) -> Scenario {
        let lab = Lab::new(name);
        let mut steps = Steps::new(name);
        let mut nodes = Vec::new();
        for p in &topo.peers {
            let ebgp = topo.ebgp(p);
            let node = match p.kind {
                Kind::GoBgp => {
                    let g = GoBgp::start(&lab, p, &topo.ribbit).await;
                    // Before the session is up, so that GoBGP sends them all
                    // in its first UPDATEs.
                    for a in &p.announcements {
                        g.announce(p, a, ebgp).await;
                    }
                    Node::GoBgp(g)
                }
                Kind::Bird => Node::Bird(Bird::start(&lab, p, &topo.ribbit, ebgp).await),
            };
            nodes.push((p.name, node));
        }
        steps.done("daemons started with their routes");

        let text = topo.ribbit_toml() + extra;
        let config = Config::parse(&text, "scenario.toml")
            .unwrap_or_else(|e| panic!("Ribbit's configuration does not load:\n{e}\n{text}"));
        let speaker = Speaker::start(&config)
            .await
            .unwrap_or_else(|e| panic!("Ribbit does not start: {e}\n{text}"));
        let mut scenario = Scenario {
            topo,
            steps,
            speaker: Some(speaker),
            nodes,
            lab,
        };
        for p in &scenario.topo.peers {
            let peer = IpAddr::V4(p.address);
            eventually(
                format!(
                    "Ribbit's session with {} ({peer}) to be Established",
                    p.name
                ),
                ESTABLISHED,
                || async {
                    scenario.all_running();
                    match scenario.speaker().state(peer).await {
                        Some(State::Established) => Ok(()),
                        other => Err(format!("{other:?}")),
                    }
                },
            )
            .await;
        }
        scenario.steps.done("every session Established");
        for p in &scenario.topo.peers {
            if !p.announcements.is_empty() {
                scenario.wait_received(p).await;
                scenario
                    .steps
                    .done(&format!("{}'s routes in Ribbit's Adj-RIB-In", p.name));
            }
        }
        scenario
    }

    /// Fail the test at once if a daemon exited (a port taken by a process
    /// left over from an interrupted run, a config it refused): waiting for
    /// it would only turn that into a timeout.
    fn all_running(&self) {
        for (name, node) in &self.nodes {
            if let Err(e) = node.daemon().check_running() {
                panic!("daemon {name} is not running: {e}");
            }
        }
    }

    fn speaker(&self) -> &Speaker {
        self.speaker.as_ref().expect("Ribbit was shut down")
    }

    fn node(&self, name: &str) -> &Node {
        self.nodes
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, node)| node)
            .unwrap_or_else(|| panic!("scenario error: no daemon named {name}"))
    }

    /// Wait until Ribbit's Adj-RIB-In from `p` holds every route `p`
    /// announces. Until then a route missing at an observer may only be
    /// late; after, a missing route is Ribbit's doing.
    async fn wait_received(&self, p: &PeerSpec) {
        let peer = IpAddr::V4(p.address);
        eventually(
            format!("Ribbit to receive the routes of {} ({peer})", p.name),
            PROPAGATE,
            || async {
                let routes = self.speaker().adj_rib_in(peer).await.unwrap_or_default();
                let missing: Vec<&str> = p
                    .announcements
                    .iter()
                    .map(|a| a.prefix)
                    .filter(|prefix| !routes.iter().any(|r| r.nlri == *prefix))
                    .collect();
                if missing.is_empty() {
                    Ok(())
                } else {
                    let held: Vec<&str> = routes.iter().map(|r| r.nlri.as_str()).collect();
                    Err(format!("missing {missing:?}; holds {held:?}"))
                }
            },
        )
        .await;
    }

    /// What `observer` holds from Ribbit, leaving out the prefixes it
    /// announces itself (see [`Topology::expected_table`]).
    pub async fn observed(&self, observer: &str) -> Result<Vec<Route>, String> {
        let spec = self.topo.peer(observer);
        let ebgp = self.topo.ebgp(spec);
        self.all_running();
        let node = self.node(observer);
        let routes = match node {
            Node::GoBgp(g) => g.adj_in(self.topo.ribbit.address).await?,
            Node::Bird(b) => b.routes(ebgp).await?,
        };
        let own = Topology::own_prefixes(spec);
        Ok(routes
            .into_iter()
            .filter(|r| !own.contains(&r.prefix.as_str()))
            .collect())
    }

    /// `Ok` if `observer` holds exactly what `best` implies; else the
    /// differences, what Ribbit received and what it sent the observer for
    /// those prefixes, and the observer's complaints about what it got.
    async fn check(&self, observer: &str, best: &Best) -> Result<(), String> {
        let expected = self.topo.expected_table(observer, best);
        let seen = self.observed(observer).await?;
        let diff = table_diff(&seen, &expected);
        if diff.is_empty() {
            return Ok(());
        }
        let mut msg = format!("{observer}'s table from Ribbit:");
        for (_, problem) in &diff {
            msg.push_str(&format!("\n    {problem}"));
        }
        let prefixes: Vec<&str> = diff.iter().map(|(p, _)| p.as_str()).collect();
        msg.push_str("\n  Ribbit's Adj-RIB-In for those prefixes:");
        for p in &self.topo.peers {
            let routes = self
                .speaker()
                .adj_rib_in(IpAddr::V4(p.address))
                .await
                .unwrap_or_default();
            for r in routes
                .iter()
                .filter(|r| prefixes.contains(&r.nlri.as_str()))
            {
                msg.push_str(&format!(
                    "\n    from {}: {}",
                    p.name,
                    route_from_received(r)
                ));
            }
        }
        let spec = self.topo.peer(observer);
        let sent = self
            .speaker()
            .adj_rib_out(IpAddr::V4(spec.address))
            .await
            .unwrap_or_default();
        msg.push_str(&format!(
            "\n  Ribbit's Adj-RIB-Out to {observer} for those prefixes:"
        ));
        for r in sent.iter().filter(|r| prefixes.contains(&r.nlri.as_str())) {
            msg.push_str(&format!("\n    {}", route_from_received(r)));
        }
        if let Node::GoBgp(g) = self.node(observer) {
            let warnings = g.warnings();
            if !warnings.is_empty() {
                msg.push_str(&format!(
                    "\n  {observer}'s log (GoBGP treats a 127/8 next hop as a withdraw):\n    {}",
                    warnings.join("\n    ")
                ));
            }
        }
        Err(msg)
    }

    /// Wait until every observer holds exactly what `best` implies.
    pub async fn wait_tables(&mut self, what: &str, best: &Best, observers: &[&str]) {
        self.wait_tables_within(what, best, observers, PROPAGATE)
            .await;
    }

    /// Wait until every observer holds exactly what `best` implies, for at
    /// most `timeout`.
    pub async fn wait_tables_within(
        &mut self,
        what: &str,
        best: &Best,
        observers: &[&str],
        timeout: Duration,
    ) {
        self.topo.check_best(best);
        for observer in observers {
            eventually(
                format!("{what}: {observer} to hold exactly the expected routes"),
                timeout,
                || self.check(observer, best),
            )
            .await;
        }
        self.steps
            .done(&format!("{what}: {observers:?} as expected"));
    }

    /// Check for `FAILOVER` (polling every 50 ms) that the observers keep
    /// exactly what `best` implies: a route that must not be sent (NO_EXPORT,
    /// a non-client's route to a non-client) and shows up late is caught. All
    /// routes are in Ribbit's Adj-RIB-In before this runs, and the issue
    /// wants any change propagated within that time.
    pub async fn hold_tables(&mut self, what: &str, best: &Best, observers: &[&str]) {
        let start = Instant::now();
        while start.elapsed() < FAILOVER {
            for observer in observers {
                if let Err(e) = self.check(observer, best).await {
                    panic!(
                        "{what}: {observer}'s table changed {:?} after it matched:\n{e}",
                        start.elapsed()
                    );
                }
            }
            tokio::time::sleep(FAILOVER_POLL).await;
        }
        self.steps
            .done(&format!("{what}: {observers:?} unchanged for {FAILOVER:?}"));
    }

    /// Make a change happen on a daemon.
    async fn apply(&self, change: Change) {
        match (change, self.node(change.peer())) {
            (Change::Withdraw(peer, prefix), Node::GoBgp(g)) => {
                g.withdraw(prefix)
                    .await
                    .unwrap_or_else(|e| panic!("{peer}: cannot withdraw {prefix}: {e}"));
            }
            (Change::Announce(peer, prefix), Node::GoBgp(g)) => {
                let spec = self.topo.peer(peer);
                let a = spec.announcement(prefix).unwrap_or_else(|| {
                    panic!("scenario error: {peer} has no announcement of {prefix}")
                });
                g.announce(spec, a, self.topo.ebgp(spec)).await;
            }
            (Change::StopSession(peer), Node::Bird(b)) => {
                b.run(&["disable", "ribbit"])
                    .await
                    .unwrap_or_else(|e| panic!("{peer}: cannot disable the session: {e}"));
            }
            (Change::StartSession(peer), Node::Bird(b)) => {
                b.run(&["enable", "ribbit"])
                    .await
                    .unwrap_or_else(|e| panic!("{peer}: cannot enable the session: {e}"));
            }
            (change, _) => panic!("scenario error: {change:?} is not supported on that daemon"),
        }
    }

    /// Check what Ribbit itself says (`Speaker::paths`, the data of
    /// `ribbit show paths`): for each prefix, the best path is the one from
    /// the peer `best` names, and it won at `step` of the decision process.
    /// A winner right for a wrong reason (a MED compared across ASes, a
    /// router id compared where the addresses should decide) is caught here
    /// even where the observers' tables cannot tell.
    pub async fn check_reasons(&mut self, what: &str, best: &Best, reasons: &[(&str, Step)]) {
        let lines = self
            .speaker()
            .paths(Family::IPV4_UNICAST, None)
            .await
            .unwrap_or_default();
        let names: BTreeMap<IpAddr, &str> = self
            .topo
            .peers
            .iter()
            .map(|p| (IpAddr::V4(p.address), p.name))
            .collect();
        let mut problems = Vec::new();
        for &(prefix, step) in reasons {
            let winner = best.get(prefix).copied().flatten();
            let Some(line) = lines.iter().find(|l| l.nlri == prefix) else {
                problems.push(format!("{prefix}: not in Ribbit's table"));
                continue;
            };
            let chosen = line
                .paths
                .iter()
                .find(|p| p.best)
                .and_then(|p| p.peer)
                .and_then(|a| names.get(&a).copied());
            let wanted = Some(step_text(step));
            if chosen != winner || line.reason != wanted {
                let paths: Vec<String> = line
                    .paths
                    .iter()
                    .map(|p| {
                        let from = p.peer.and_then(|a| names.get(&a).copied());
                        format!(
                            "{}{} via {} path [{}]",
                            if p.best { "*" } else { "" },
                            from.unwrap_or("local"),
                            p.next_hop,
                            p.as_path
                        )
                    })
                    .collect();
                problems.push(format!(
                    "{prefix}: best from {chosen:?} because {:?}; expected from {winner:?} \
                     because {wanted:?}; paths: {}",
                    line.reason,
                    paths.join(", ")
                ));
            }
        }
        assert!(
            problems.is_empty(),
            "{what}: Ribbit's own view of its choices:\n    {}",
            problems.join("\n    ")
        );
        self.steps
            .done(&format!("{what}: Ribbit's reasons as expected"));
    }

    /// Make a change whose effect is not timed (a session coming back up
    /// takes Ribbit's connect retry, not the RIB's time).
    pub async fn change(&mut self, what: &str, change: Change) {
        self.apply(change).await;
        self.steps.done(what);
    }

    /// Measure a failover: from just before `change` is made until
    /// `observer` holds exactly what `best` implies, polling every 50 ms,
    /// and check it took at most [`FAILOVER`]. Returns how long it took.
    pub async fn failover(
        &mut self,
        what: &str,
        change: Change,
        best: &Best,
        observer: &str,
    ) -> Duration {
        self.topo.check_best(best);
        let start = Instant::now();
        self.apply(change).await;
        let elapsed = loop {
            let last = match self.check(observer, best).await {
                Ok(()) => break start.elapsed(),
                Err(e) => e,
            };
            if start.elapsed() > FAILOVER_GIVE_UP {
                panic!(
                    "{what}: {observer} still not as expected {FAILOVER_GIVE_UP:?} after the \
                     change:\n{last}"
                );
            }
            tokio::time::sleep(FAILOVER_POLL).await;
        };
        self.steps.done(&format!(
            "{what}: {observer} converged {:.0} ms after the change",
            elapsed.as_secs_f64() * 1000.0
        ));
        assert!(
            elapsed <= FAILOVER,
            "{what}: {observer} showed the next best path {elapsed:?} after the change; the \
             issue allows {FAILOVER:?}"
        );
        elapsed
    }

    /// Shut Ribbit down (Cease to every neighbor); the daemons and the lab
    /// directory go when the scenario is dropped.
    pub async fn finish(mut self) {
        if let Some(speaker) = self.speaker.take() {
            speaker.shutdown(None).await;
        }
        self.steps.done("Ribbit shut down");
    }
}

/// A change made on a daemon during a scenario.
#[derive(Debug, Clone, Copy)]
pub enum Change {
    /// The GoBGP peer withdraws the prefix (`gobgp global rib del`).
    Withdraw(&'static str, &'static str),
    /// The GoBGP peer announces its route for the prefix (again, or as
    /// changed with [`Topology::replace_announcement`]: GoBGP then sends the
    /// new path, which replaces the old one, RFC 4271 §3.1).
    Announce(&'static str, &'static str),
    /// The BIRD peer closes its session with Ribbit (`birdc disable`: a
    /// Cease, then the TCP connection closes), withdrawing all its paths.
    StopSession(&'static str),
    /// The BIRD peer accepts Ribbit's connections again (`birdc enable`).
    StartSession(&'static str),
}

impl Change {
    fn peer(self) -> &'static str {
        match self {
            Change::Withdraw(peer, _)
            | Change::Announce(peer, _)
            | Change::StopSession(peer)
            | Change::StartSession(peer) => peer,
        }
    }
}

/// A [`Best`] from a list.
pub fn best(entries: &[(&'static str, Option<&'static str>)]) -> Best {
    entries.iter().copied().collect()
}
