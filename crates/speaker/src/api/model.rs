//! The documents the API answers with: its contract, described member by
//! member in `openapi.json` and `docs/api.md`.
//!
//! They are the API's own types rather than the runtime's (`rib_view`,
//! `rib::RibStats`), so that the runtime can change its internals without
//! the API changing shape. They follow Ribbit's JSON rules (docs/json.md):
//! kebab-case members, absent rather than `null`, families by name.

use std::net::IpAddr;

use serde::Serialize;

use ribbit_fsm::State;
use ribbit_rib::{PeerFamilyStats, RibStats};
use ribbit_wire::update::NextHop;

use crate::config::NeighborConfig;
use crate::json;
use crate::peer::ReceivedRoute;
use crate::rib_view::{DestinationLine, PathLine};

/// A session state in the API's words: RFC 4271's names in kebab-case,
/// and `disabled` for a neighbor the configuration does not start.
pub fn state_name(state: Option<State>) -> &'static str {
    match state {
        None => "disabled",
        Some(State::Idle) => "idle",
        Some(State::Connect) => "connect",
        Some(State::Active) => "active",
        Some(State::OpenSent) => "open-sent",
        Some(State::OpenConfirm) => "open-confirm",
        Some(State::Established) => "established",
    }
}

/// A next hop as text: the address, `GLOBAL (LINK-LOCAL)` for an IPv6 one
/// with a link-local address, `-` for none (Flowspec).
pub fn next_hop_text(nh: Option<NextHop>) -> String {
    match nh {
        None | Some(NextHop::Empty) => "-".to_string(),
        Some(NextHop::V4(a)) => a.to_string(),
        Some(NextHop::V6 {
            global,
            link_local: None,
        }) => global.to_string(),
        Some(NextHop::V6 {
            global,
            link_local: Some(ll),
        }) => format!("{global} ({ll})"),
    }
}

/// `{"error": "..."}`: what was wrong with a request.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorBody {
    /// One line that says what was wrong.
    pub error: String,
}

/// Prefix counts of a neighbor, summed over its families.
#[derive(Debug, Clone, Copy, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct PrefixCounts {
    /// Paths currently accepted from it (after import policy).
    pub accepted: u64,
    /// Paths currently advertised to it.
    pub advertised: u64,
    /// Announcements received from it since it was added.
    pub received: u64,
}

impl PrefixCounts {
    /// The sums of per-family counters.
    pub fn sum(families: &[PeerFamilyStats]) -> PrefixCounts {
        let mut c = PrefixCounts::default();
        for f in families {
            c.accepted += u64::from(f.accepted);
            c.advertised += u64::from(f.advertised);
            c.received += f.received;
        }
        c
    }
}

/// One line of `GET /v1/neighbors`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct NeighborSummary {
    /// The neighbor's address.
    pub address: IpAddr,
    /// Its AS.
    pub asn: u32,
    /// Our AS on the session.
    pub local_asn: u32,
    /// The configured description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `idle`, `connect`, `active`, `open-sent`, `open-confirm`,
    /// `established`, or `disabled`.
    pub state: &'static str,
    /// When the session entered its current state (Unix seconds), when the
    /// API saw it happen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_since: Option<u64>,
    /// Prefix counts.
    pub prefixes: PrefixCounts,
}

/// `GET /v1/neighbors`.
#[derive(Debug, Clone, Serialize)]
pub struct NeighborList {
    /// Every configured neighbor, in configuration order.
    pub neighbors: Vec<NeighborSummary>,
}

/// Counters of a neighbor in one family.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct FamilyCounters {
    /// The family; absent for NLRI of families that were not negotiated or
    /// that Ribbit does not decode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// Announcements received.
    pub received: u64,
    /// Paths currently accepted (after import policy).
    pub accepted: u32,
    /// Announcements refused by import policy or checks.
    pub rejected: u64,
    /// Withdrawals received.
    pub withdrawn: u64,
    /// Paths currently advertised to the neighbor.
    pub advertised: u32,
    /// NLRI ignored.
    pub ignored: u64,
}

impl FamilyCounters {
    /// The API form of the RIB's counters.
    pub fn new(s: &PeerFamilyStats) -> FamilyCounters {
        FamilyCounters {
            family: s.family.map(|f| f.to_string()),
            received: s.received,
            accepted: s.accepted,
            rejected: s.rejected,
            withdrawn: s.withdrawn,
            advertised: s.advertised,
            ignored: s.ignored,
        }
    }
}

/// The last NOTIFICATION of a session, as the API saw it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct LastNotification {
    /// `sent` or `received`.
    pub direction: &'static str,
    /// When (Unix seconds).
    pub time: u64,
    /// Error code.
    pub code: u8,
    /// Error subcode.
    pub subcode: u8,
    /// The code's name.
    pub code_name: &'static str,
    /// The subcode's name.
    pub subcode_name: &'static str,
    /// The RFC 9003 shutdown communication, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shutdown_message: Option<String>,
}

/// `GET /v1/neighbors/{address}`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct NeighborDetail {
    /// The neighbor's address.
    pub address: IpAddr,
    /// Its TCP port.
    pub port: u16,
    /// Our configured address on the session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_address: Option<IpAddr>,
    /// Its AS.
    pub asn: u32,
    /// Our AS on the session.
    pub local_asn: u32,
    /// The configured description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether the configuration starts the session.
    pub enabled: bool,
    /// Whether we only wait for the neighbor to connect.
    pub passive: bool,
    /// The hold time we propose, seconds.
    pub hold_time: u16,
    /// The families we offer.
    pub families: Vec<String>,
    /// The neighbor is a route-server client.
    pub route_server_client: bool,
    /// The neighbor is a route-reflector client.
    pub route_reflector_client: bool,
    /// Routes are kept before import policy (`adj-rib-in?pre-policy=true`).
    pub keep_adj_rib_in: bool,
    /// The session state.
    pub state: &'static str,
    /// When the session entered its current state (Unix seconds), when the
    /// API saw it happen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_since: Option<u64>,
    /// How many times the session came up since the API started.
    pub established_count: u64,
    /// UPDATE messages received since the API started.
    pub updates_received: u64,
    /// The last NOTIFICATION sent or received since the API started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_notification: Option<LastNotification>,
    /// Prefix counts, summed over the families.
    pub prefixes: PrefixCounts,
    /// Counters per family.
    pub counters: Vec<FamilyCounters>,
}

impl NeighborDetail {
    /// The configured part; the rest is filled in by the caller.
    pub fn from_config(n: &NeighborConfig) -> NeighborDetail {
        NeighborDetail {
            address: n.address,
            port: n.port,
            local_address: n.local_address,
            asn: n.peer_asn,
            local_asn: n.local_asn,
            description: n.description.clone(),
            enabled: n.enabled,
            passive: n.passive,
            hold_time: n.hold_time,
            families: n.families.iter().map(ToString::to_string).collect(),
            route_server_client: n.route_server_client,
            route_reflector_client: n.route_reflector_client,
            keep_adj_rib_in: n.keep_adj_rib_in,
            state: state_name(None),
            state_since: None,
            established_count: 0,
            updates_received: 0,
            last_notification: None,
            prefixes: PrefixCounts::default(),
            counters: Vec::new(),
        }
    }
}

/// One path of a destination of the Loc-RIB.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Path {
    /// The neighbor it came from; absent for our own routes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub neighbor: Option<IpAddr>,
    /// The ADD-PATH path identifier it was received with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_id: Option<u32>,
    /// Whether it is the best path.
    pub best: bool,
    /// Kept while its neighbor restarts (graceful restart).
    pub stale: bool,
    /// Why it cannot be best, when it cannot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ineligible: Option<&'static str>,
    /// The next hop (`-` for none).
    pub next_hop: String,
    /// The path attributes.
    pub attributes: json::Attributes,
}

/// Every path of one destination, the best first, and why it won.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Destination {
    /// The destination: a prefix, `RD prefix` for VPN, a rule for Flowspec.
    pub nlri: String,
    /// The step of the decision process that picked the best path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    /// The paths, the best first.
    pub paths: Vec<Path>,
}

impl Destination {
    /// The API form of the runtime's view of a destination.
    pub fn new(d: DestinationLine) -> Destination {
        Destination {
            nlri: d.nlri,
            reason: d.reason,
            paths: d.paths.into_iter().map(path).collect(),
        }
    }
}

fn path(p: PathLine) -> Path {
    Path {
        neighbor: p.peer,
        path_id: p.path_id,
        best: p.best,
        stale: p.stale,
        ineligible: p.ineligible,
        next_hop: p.next_hop,
        attributes: p.attributes,
    }
}

/// `GET /v1/rib/{family}`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct RibPage {
    /// The family.
    pub family: String,
    /// The destinations, in table order.
    pub destinations: Vec<Destination>,
    /// There is more: pass this as `after` for the next page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// A route of an Adj-RIB-In or Adj-RIB-Out.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct AdjRoute {
    /// The destination: a prefix, `RD prefix` for VPN, a rule for Flowspec.
    pub nlri: String,
    /// The ADD-PATH path identifier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_id: Option<u32>,
    /// The next hop (`-` for none).
    pub next_hop: String,
    /// The path attributes.
    pub attributes: json::Attributes,
}

impl AdjRoute {
    /// The API form of a route of the runtime.
    pub fn new(r: &ReceivedRoute) -> AdjRoute {
        AdjRoute {
            nlri: r.nlri.clone(),
            path_id: r.path_id,
            next_hop: next_hop_text(r.next_hop),
            attributes: json::Attributes::new(&r.attributes),
        }
    }
}

/// `GET /v1/neighbors/{address}/adj-rib-in/{family}` and `.../adj-rib-out/{family}`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct AdjRibPage {
    /// The neighbor.
    pub neighbor: IpAddr,
    /// The family.
    pub family: String,
    /// `adj-rib-in`, `adj-rib-in-pre-policy` or `adj-rib-out`.
    pub table: &'static str,
    /// The routes, in table order.
    pub routes: Vec<AdjRoute>,
    /// There is more: pass this as `after` for the next page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// Size of one family's table.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct FamilySize {
    /// The family.
    pub family: String,
    /// Destinations with at least one path.
    pub destinations: u64,
    /// Paths.
    pub paths: u64,
}

/// Counters of one neighbor in `GET /v1/stats`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct NeighborCounters {
    /// The neighbor.
    pub address: IpAddr,
    /// Whether its session is up.
    pub up: bool,
    /// Counters per family.
    pub counters: Vec<FamilyCounters>,
}

/// `GET /v1/stats`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Stats {
    /// Table sizes per family.
    pub families: Vec<FamilySize>,
    /// Distinct attribute sets held.
    pub attribute_sets: u64,
    /// Counters per neighbor.
    pub neighbors: Vec<NeighborCounters>,
    /// Event streams (`GET /v1/events`) open now.
    pub event_streams: u64,
}

impl Stats {
    /// The API form of the RIB's statistics.
    pub fn new(s: &RibStats, event_streams: u64) -> Stats {
        Stats {
            families: s
                .families
                .iter()
                .map(|f| FamilySize {
                    family: f.family.to_string(),
                    destinations: f.destinations as u64,
                    paths: f.paths as u64,
                })
                .collect(),
            attribute_sets: s.attribute_sets as u64,
            neighbors: s
                .peers
                .iter()
                .map(|p| NeighborCounters {
                    address: p.address,
                    up: p.up,
                    counters: p.families.iter().map(FamilyCounters::new).collect(),
                })
                .collect(),
            event_streams,
        }
    }
}
