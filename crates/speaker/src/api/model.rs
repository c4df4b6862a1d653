//! The documents the API answers with: its contract, described member by
//! member in `openapi.json` and `docs/api.md`.
//!
//! They are the API's own types rather than the runtime's (`rib_view`,
//! `rib::RibStats`), so that the runtime can change its internals without
//! the API changing shape. They follow Ribbit's JSON rules (docs/json.md):
//! kebab-case members, absent rather than `null`, families by name.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use serde::Serialize;

use ribbit_fsm::State;
use ribbit_rib::{PeerFamilyStats, RibStats};
use ribbit_wire::update::NextHop;

use crate::config::NeighborConfig;
use crate::json;
use crate::peer::{MessageCounts, ReceivedRoute, SessionSummary};
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
    /// When the session last came up, or went down when it is down (Unix
    /// seconds), as the neighbor's task tells it; absent before the first
    /// change.
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
    /// When the session last came up, or went down when it is down (Unix
    /// seconds), as the neighbor's task tells it; absent before the first
    /// change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_since: Option<u64>,
    /// How many times the session came up since the neighbor was added.
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
    /// What was negotiated, while the session is established.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<Negotiated>,
    /// Messages received on the neighbor's sessions, by type.
    pub messages_received: MessageCounters,
    /// Messages sent, by type.
    pub messages_sent: MessageCounters,
    /// Why the session last went down, as the neighbor's task tells it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_down: Option<String>,
}

/// Messages counted by type (RFC 4271 §4.1, RFC 2918). The CLI reads it
/// back from the API's JSON.
#[derive(Debug, Clone, Copy, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct MessageCounters {
    /// OPEN.
    pub open: u64,
    /// UPDATE.
    pub update: u64,
    /// NOTIFICATION.
    pub notification: u64,
    /// KEEPALIVE.
    pub keepalive: u64,
    /// ROUTE-REFRESH.
    pub route_refresh: u64,
}

impl MessageCounters {
    /// The API form of the neighbor task's counters.
    pub fn new(c: &MessageCounts) -> MessageCounters {
        MessageCounters {
            open: c.open,
            update: c.update,
            notification: c.notification,
            keepalive: c.keepalive,
            route_refresh: c.route_refresh,
        }
    }
}

/// What an established session negotiated (RFC 5492 capabilities).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Negotiated {
    /// Our address and port on the connection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local: Option<SocketAddr>,
    /// The neighbor's address and port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote: Option<SocketAddr>,
    /// The neighbor's BGP identifier.
    pub router_id: Ipv4Addr,
    /// The neighbor's AS.
    pub asn: u32,
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
    /// Families the neighbor sends path identifiers for.
    pub add_path_receive: Vec<String>,
    /// Messages up to 65535 bytes (RFC 8654).
    pub extended_message: bool,
    /// The neighbor's graceful restart time (RFC 4724), when it announced
    /// the capability.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub graceful_restart: Option<u16>,
    /// Every capability of the neighbor's OPEN, by name.
    pub capabilities: Vec<String>,
}

impl Negotiated {
    /// The API form of the neighbor task's summary.
    pub fn new(s: &SessionSummary) -> Negotiated {
        Negotiated {
            local: s.local,
            remote: s.remote,
            router_id: s.peer_router_id,
            asn: s.peer_asn,
            families: s.families.clone(),
            hold_time: s.hold_time,
            keepalive: s.keepalive,
            four_octet_as: s.four_octet_as,
            route_refresh: s.route_refresh,
            enhanced_route_refresh: s.enhanced_route_refresh,
            add_path_send: s.add_path_send.clone(),
            add_path_receive: s.add_path_receive.clone(),
            extended_message: s.extended_message,
            graceful_restart: s.peer_graceful_restart,
            capabilities: s.peer_capabilities.clone(),
        }
    }
}

/// What a neighbor command did (`POST /v1/neighbors/{address}/...`,
/// `DELETE /v1/neighbors/{address}`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Done {
    /// The neighbor.
    pub neighbor: IpAddr,
    /// `removed`, `enabled`, `disabled`, `reset` or `soft-reset`.
    pub action: &'static str,
    /// Soft reset: `in`, `out` or `both`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<&'static str>,
    /// Soft reset: the families refreshed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub families: Vec<String>,
}

/// What became of one route (a JSON item, or a line of text) of
/// `POST /v1/announce` or `/v1/withdraw`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ItemResult {
    /// 1-based: the line of a text body, the item of a JSON array (1 for
    /// a single object).
    pub item: usize,
    /// The command, for a line of text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Whether it was carried out.
    pub ok: bool,
    /// Why not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `POST /v1/announce` and `/v1/withdraw` when every item was carried out.
#[derive(Debug, Clone, Serialize)]
pub struct RouteResults {
    /// One per item, in order.
    pub results: Vec<ItemResult>,
}

/// `POST /v1/announce` and `/v1/withdraw` (text) when a line failed: the
/// others were carried out, as a program's lines are.
#[derive(Debug, Clone, Serialize)]
pub struct RouteErrors {
    /// The first failure.
    pub error: String,
    /// One per line, in order.
    pub results: Vec<ItemResult>,
}

/// `POST /v1/reload`: what the reload did to each neighbor.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ReloadAnswer {
    /// The file read.
    pub file: String,
    /// Neighbors added and started.
    pub added: Vec<IpAddr>,
    /// Neighbors removed.
    pub removed: Vec<IpAddr>,
    /// Neighbors whose session settings changed: their session was reset.
    pub reset: Vec<IpAddr>,
    /// Neighbors whose policies, routing settings or static routes changed,
    /// applied without touching their session.
    pub changed: Vec<IpAddr>,
    /// Neighbors left as they were.
    pub untouched: Vec<IpAddr>,
    /// `[global]` settings that changed and only apply at the next start.
    pub needs_restart: Vec<&'static str>,
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
            session: None,
            messages_received: MessageCounters::default(),
            messages_sent: MessageCounters::default(),
            last_down: None,
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
