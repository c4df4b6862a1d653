//! Ribbit's JSON form of BGP messages.
//!
//! One schema serves `ribbit decode`, the HTTP API and the event stream, so
//! it is written down as types: every document here is a `Serialize` struct
//! whose fields are the JSON members. The rules, also in `docs/json.md`:
//!
//! - member names are kebab-case and never carry data: prefixes, next hops
//!   and families are values, so a reader needs no key guessing;
//! - a member that does not apply is absent, never `null`; lists that may be
//!   empty (`announced`, `withdrawn`, `capabilities`) are always present;
//! - addresses and prefixes are strings in their usual text form, byte
//!   strings are lower-case hex without `0x`, numbers are JSON integers;
//! - families use Ribbit's names (`ipv4-unicast`, `ipv6-flowspec`, and
//!   `afi-N-safi-M` for the others).
//!
//! ```text
//! {"type":"update","length":60,"withdrawn":[],"announced":[{"family":"ipv4-unicast",
//!  "prefix":"10.0.0.0/24","next-hop":"192.0.2.1"}],"attributes":{"origin":"igp",...}}
//! ```

use std::net::{IpAddr, Ipv4Addr};

use serde::Serialize;

use ribbit_wire::attribute::{AsPath, SegmentType};
use ribbit_wire::capability::Capability as WireCapability;
use ribbit_wire::error::{Action, AttributeIssue};
use ribbit_wire::nlri::flowspec::{Component, FlowspecNlri};
use ribbit_wire::nlri::{Label, NlriList};
use ribbit_wire::route_refresh::RefreshSubtype;
use ribbit_wire::update::{MpNlri, NextHop};
use ribbit_wire::{Family, Message as WireMessage, PathAttributes, Update as WireUpdate};

/// One BGP message. The `type` member says which.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Message {
    /// `"type": "open"`.
    Open(Open),
    /// `"type": "update"` (boxed: far larger than the other variants).
    Update(Box<Update>),
    /// `"type": "notification"`.
    Notification(Notification),
    /// `"type": "keepalive"`.
    Keepalive(Keepalive),
    /// `"type": "route-refresh"`.
    RouteRefresh(RouteRefresh),
}

impl Message {
    /// The JSON form of a decoded message that was `length` bytes long on
    /// the wire (header included).
    pub fn new(msg: &WireMessage, length: usize) -> Message {
        match msg {
            WireMessage::Open(o) => Message::Open(Open::new(o, length)),
            WireMessage::Update(u) => Message::Update(Box::new(Update::new(u, length))),
            WireMessage::Notification(n) => Message::Notification(Notification::new(n, length)),
            WireMessage::Keepalive => Message::Keepalive(Keepalive { length }),
            WireMessage::RouteRefresh(r) => Message::RouteRefresh(RouteRefresh {
                length,
                family: r.family.to_string(),
                subtype: match r.subtype {
                    RefreshSubtype::Reserved(v) => format!("reserved-{v}"),
                    s => s.name().to_string(),
                },
            }),
        }
    }
}

/// A KEEPALIVE: nothing but its length.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Keepalive {
    /// Bytes on the wire, header included (always 19).
    pub length: usize,
}

/// A ROUTE-REFRESH (RFC 2918, RFC 7313).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct RouteRefresh {
    /// Bytes on the wire, header included.
    pub length: usize,
    /// The family to refresh.
    pub family: String,
    /// `refresh` (a request), `begin` or `end` of an enhanced refresh, or
    /// `reserved-N` for other values.
    pub subtype: String,
}

/// A NOTIFICATION.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Notification {
    /// Bytes on the wire, header included.
    pub length: usize,
    /// Error code.
    pub code: u8,
    /// Error subcode.
    pub subcode: u8,
    /// The code's name (`Cease`).
    pub code_name: &'static str,
    /// The subcode's name (`Administrative Shutdown`).
    pub subcode_name: &'static str,
    /// The data field, hex.
    pub data: String,
    /// The shutdown communication of a Cease / Administrative Shutdown or
    /// Reset (RFC 9003), when the data holds one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shutdown_message: Option<String>,
}

impl Notification {
    fn new(n: &ribbit_wire::Notification, length: usize) -> Notification {
        Notification {
            length,
            code: n.code,
            subcode: n.subcode,
            code_name: n.code_name(),
            subcode_name: n.subcode_name(),
            data: hex(&n.data),
            shutdown_message: n.shutdown_message().map(str::to_string),
        }
    }
}

/// An OPEN.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Open {
    /// Bytes on the wire, header included.
    pub length: usize,
    /// BGP version (4).
    pub version: u8,
    /// The sender's AS: the 4-octet AS capability's value when present,
    /// else the My AS field.
    pub asn: u32,
    /// The 2-octet My AS field as sent (AS_TRANS, 23456, for a 4-octet AS).
    pub my_as: u16,
    /// Proposed hold time, seconds.
    pub hold_time: u16,
    /// BGP identifier.
    pub router_id: Ipv4Addr,
    /// The capabilities, in the order received.
    pub capabilities: Vec<Capability>,
}

impl Open {
    /// The JSON form of an OPEN that was `length` bytes on the wire.
    pub fn new(o: &ribbit_wire::Open, length: usize) -> Open {
        Open {
            length,
            version: o.version,
            asn: o.asn(),
            my_as: o.my_as,
            hold_time: o.hold_time,
            router_id: o.router_id,
            capabilities: o.capabilities.iter().map(Capability::new).collect(),
        }
    }
}

/// One capability: its code and name, plus the members of its kind.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Capability {
    /// Capability code.
    pub code: u8,
    /// Ribbit's name for it (`multiprotocol`, `asn4`, `add-path`, `unknown`, ...).
    pub name: &'static str,
    /// Multiprotocol: the family.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// 4-octet AS: the AS number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asn: Option<u32>,
    /// ADD-PATH: the mode of each family.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modes: Option<Vec<AddPathMode>>,
    /// Extended next hop: which next-hop AFI each family may use.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_hops: Option<Vec<NextHopEncoding>>,
    /// Graceful restart: the restart time, seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart_time: Option<u16>,
    /// Graceful restart: the R bit (the sender has restarted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restarting: Option<bool>,
    /// Graceful restart: the N bit (RFC 8538).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notification: Option<bool>,
    /// Graceful restart and long-lived graceful restart: the families.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub families: Option<Vec<RestartFamily>>,
    /// Role (RFC 9234): `provider`, `rs`, `rs-client`, `customer`, `peer`
    /// or `unknown`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<&'static str>,
    /// Hostname: the host name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Hostname: the domain name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// Software version: the text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Unknown capabilities, and the role's wire value: the value, hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// One family of an ADD-PATH capability.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct AddPathMode {
    /// The family.
    pub family: String,
    /// `receive`, `send` or `send/receive`.
    pub mode: &'static str,
}

/// One entry of an extended next hop capability (RFC 8950).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct NextHopEncoding {
    /// The NLRI family.
    pub family: String,
    /// The AFI of the next hop (2 for IPv6).
    pub next_hop_afi: u16,
}

/// One family of a graceful restart or long-lived graceful restart capability.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct RestartFamily {
    /// The family.
    pub family: String,
    /// The F bit: forwarding state was preserved.
    pub forwarding_preserved: bool,
    /// Long-lived graceful restart: how long stale routes are kept, seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stale_time: Option<u32>,
}

impl Capability {
    fn new(c: &WireCapability) -> Capability {
        let mut out = Capability {
            code: c.code(),
            name: c.name(),
            ..Capability::default()
        };
        match c {
            WireCapability::Multiprotocol(f) => out.family = Some(f.to_string()),
            WireCapability::RouteRefresh
            | WireCapability::EnhancedRouteRefresh
            | WireCapability::ExtendedMessage => {}
            WireCapability::ExtendedNextHop(list) => {
                out.next_hops = Some(
                    list.iter()
                        .map(|(f, afi)| NextHopEncoding {
                            family: f.to_string(),
                            next_hop_afi: afi.0,
                        })
                        .collect(),
                );
            }
            WireCapability::Role(r) => {
                out.role = Some(r.name());
                out.value = Some(hex(&[r.code()]));
            }
            WireCapability::GracefulRestart {
                restarting,
                notification,
                restart_time,
                families,
            } => {
                out.restart_time = Some(*restart_time);
                out.restarting = Some(*restarting);
                out.notification = Some(*notification);
                out.families = Some(
                    families
                        .iter()
                        .map(|f| RestartFamily {
                            family: f.family.to_string(),
                            forwarding_preserved: f.forwarding_preserved,
                            stale_time: None,
                        })
                        .collect(),
                );
            }
            WireCapability::FourOctetAs(asn) => out.asn = Some(*asn),
            WireCapability::AddPath(list) => {
                out.modes = Some(
                    list.iter()
                        .map(|(f, m)| AddPathMode {
                            family: f.to_string(),
                            mode: m.name(),
                        })
                        .collect(),
                );
            }
            WireCapability::LongLivedGracefulRestart(list) => {
                out.families = Some(
                    list.iter()
                        .map(|f| RestartFamily {
                            family: f.family.to_string(),
                            forwarding_preserved: f.forwarding_preserved,
                            stale_time: Some(f.stale_time),
                        })
                        .collect(),
                );
            }
            WireCapability::Fqdn { hostname, domain } => {
                out.hostname = Some(hostname.clone());
                out.domain = Some(domain.clone());
            }
            WireCapability::SoftwareVersion(v) => out.version = Some(v.clone()),
            WireCapability::Unknown { value, .. } => out.value = Some(hex(value)),
        }
        out
    }
}

/// An UPDATE.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Update {
    /// Bytes on the wire, header included.
    pub length: usize,
    /// Withdrawn routes: the Withdrawn Routes field, then MP_UNREACH_NLRI.
    pub withdrawn: Vec<Route>,
    /// Announced routes: the NLRI field, then MP_REACH_NLRI, each with its next hop.
    pub announced: Vec<Route>,
    /// The path attributes of the announced routes.
    pub attributes: Attributes,
    /// The family this UPDATE is the End-of-RIB marker of (RFC 4724), if it is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_of_rib: Option<String>,
    /// NLRI of families Ribbit does not decode, as received.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub undecoded: Vec<Undecoded>,
    /// Errors RFC 7606 lets the session survive, and what to do about them.
    /// With `treat-as-withdraw`, every announced route must be handled as
    /// withdrawn.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub issues: Vec<Issue>,
}

impl Update {
    /// The JSON of a decoded UPDATE that was `length` bytes on the wire.
    pub fn new(u: &WireUpdate, length: usize) -> Update {
        let mut withdrawn: Vec<Route> = u
            .withdrawn
            .iter()
            .map(|n| Route::prefix(Family::IPV4_UNICAST, n.path_id, n.prefix))
            .collect();
        let mut announced: Vec<Route> = u
            .announced
            .iter()
            .map(|n| {
                let mut r = Route::prefix(Family::IPV4_UNICAST, n.path_id, n.prefix);
                r.next_hop = u.attributes.next_hop.map(IpAddr::V4);
                r
            })
            .collect();
        let mut undecoded = Vec::new();
        if let Some(m) = &u.mp_unreach {
            match &m.nlri {
                MpNlri::Decoded(list) => withdrawn.extend(routes(m.family, list)),
                MpNlri::Raw(bytes) => undecoded.push(Undecoded {
                    family: m.family.to_string(),
                    attribute: "mp-unreach-nlri",
                    next_hop: None,
                    nlri: hex(bytes),
                }),
            }
        }
        if let Some(m) = &u.mp_reach {
            let (global, link_local) = next_hop_parts(&m.next_hop);
            match &m.nlri {
                MpNlri::Decoded(list) => {
                    announced.extend(routes(m.family, list).map(|mut r| {
                        r.next_hop = global;
                        r.link_local_next_hop = link_local;
                        r
                    }));
                }
                MpNlri::Raw(bytes) => undecoded.push(Undecoded {
                    family: m.family.to_string(),
                    attribute: "mp-reach-nlri",
                    next_hop: global,
                    nlri: hex(bytes),
                }),
            }
        }
        // An empty MP_UNREACH_NLRI of a family Ribbit does not decode is
        // still an End-of-RIB marker; it is reported as that, not as NLRI.
        let end_of_rib = u.end_of_rib_family();
        if end_of_rib.is_some() {
            undecoded.clear();
        }
        Update {
            length,
            withdrawn,
            announced,
            attributes: Attributes::new(&u.attributes),
            end_of_rib: end_of_rib.map(|f| f.to_string()),
            undecoded,
            issues: u.issues.iter().map(Issue::new).collect(),
        }
    }
}

/// The MP_REACH_NLRI next hop as (global, link-local) addresses.
fn next_hop_parts(hop: &NextHop) -> (Option<IpAddr>, Option<IpAddr>) {
    match hop {
        NextHop::Empty => (None, None),
        NextHop::V4(a) => (Some(IpAddr::V4(*a)), None),
        NextHop::V6 { global, link_local } => {
            (Some(IpAddr::V6(*global)), link_local.map(IpAddr::V6))
        }
    }
}

/// NLRI of a family Ribbit does not decode.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Undecoded {
    /// The family (`afi-N-safi-M`).
    pub family: String,
    /// Where they came from: `mp-reach-nlri` (announced) or `mp-unreach-nlri` (withdrawn).
    pub attribute: &'static str,
    /// The next hop of announced NLRI, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_hop: Option<IpAddr>,
    /// The NLRI bytes, hex.
    pub nlri: String,
}

/// An error in one path attribute that RFC 7606 lets the session survive.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Issue {
    /// Offset of the attribute from the start of the message (0 when the
    /// problem is a missing attribute).
    pub offset: usize,
    /// The attribute type code.
    pub type_code: u8,
    /// `attribute-discard` (the attribute was dropped, routes kept) or
    /// `treat-as-withdraw` (every announced route must be handled as withdrawn).
    pub action: &'static str,
    /// What was wrong.
    pub reason: String,
}

impl Issue {
    fn new(i: &AttributeIssue) -> Issue {
        Issue {
            offset: i.offset,
            type_code: i.type_code,
            action: match i.action {
                Action::AttributeDiscard => "attribute-discard",
                Action::TreatAsWithdraw => "treat-as-withdraw",
                Action::SessionReset => "session-reset",
            },
            reason: i.reason.to_string(),
        }
    }
}

/// A route: one NLRI of any family, with its next hop when announced.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Route {
    /// The family.
    pub family: String,
    /// The prefix (every family but Flowspec).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// The ADD-PATH path identifier, when negotiated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_id: Option<u32>,
    /// Announced routes: the next hop (NEXT_HOP for IPv4 unicast in the NLRI
    /// field, the MP_REACH_NLRI next hop otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_hop: Option<IpAddr>,
    /// Announced routes: the IPv6 link-local next hop, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link_local_next_hop: Option<IpAddr>,
    /// Labeled and VPN routes: the label values (RFC 8277), outermost first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<u32>>,
    /// VPN and Flowspec VPN routes: the route distinguisher.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rd: Option<String>,
    /// Flowspec: the match components, in type order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flow: Option<Vec<FlowComponent>>,
    /// Flowspec: the rule in one line of the text grammar Ribbit and
    /// ExaBGP read (`destination-ipv4 10.0.0.0/24 destination-port =80`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

impl Route {
    fn prefix(family: Family, path_id: Option<u32>, prefix: ribbit_wire::Prefix) -> Route {
        Route {
            family: family.to_string(),
            prefix: Some(prefix.to_string()),
            path_id,
            ..Route::default()
        }
    }

    fn flow(family: Family, n: &FlowspecNlri) -> Route {
        let text = n.exabgp_string(family.afi);
        let rule = text.strip_prefix("flow ").unwrap_or(&text).to_string();
        Route {
            family: family.to_string(),
            path_id: n.path_id,
            rd: n.rd.map(|rd| rd.to_string()),
            flow: Some(n.components.iter().map(FlowComponent::new).collect()),
            rule: Some(rule),
            ..Route::default()
        }
    }
}

fn label_values(stack: &[Label]) -> Vec<u32> {
    stack.iter().map(|l| l.value()).collect()
}

/// The routes of an NLRI list of `family`, without next hops.
pub fn routes(family: Family, list: &NlriList) -> Box<dyn Iterator<Item = Route> + '_> {
    match list {
        NlriList::Prefixes(v) => Box::new(
            v.iter()
                .map(move |n| Route::prefix(family, n.path_id, n.prefix)),
        ),
        NlriList::Labeled(v) => Box::new(v.iter().map(move |n| {
            let mut r = Route::prefix(family, n.path_id, n.prefix);
            r.labels = Some(label_values(&n.labels));
            r
        })),
        NlriList::Vpn(v) => Box::new(v.iter().map(move |n| {
            let mut r = Route::prefix(family, n.path_id, n.prefix);
            r.labels = Some(label_values(&n.labels));
            r.rd = Some(n.rd.to_string());
            r
        })),
        NlriList::Flowspec(v) => Box::new(v.iter().map(move |n| Route::flow(family, n))),
    }
}

/// One Flowspec match component.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct FlowComponent {
    /// The component (`destination-prefix`, `source-prefix`, `ip-protocol`,
    /// `port`, `destination-port`, `source-port`, `icmp-type`, `icmp-code`,
    /// `tcp-flags`, `packet-length`, `dscp`, `fragment`, `flow-label`); the
    /// same names for IPv4 and IPv6.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Prefix components: the prefix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// IPv6 prefix components: the offset of the pattern (RFC 8956), when not 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u8>,
    /// Operator components: one string per OR-ed group, its AND-ed terms
    /// joined by `&` (`=80`, `>=1024&<=2048`, `syn`, `!=fin+push`).
    #[serde(rename = "match", skip_serializing_if = "Option::is_none")]
    pub matches: Option<Vec<String>>,
}

impl FlowComponent {
    fn new(c: &Component) -> FlowComponent {
        let kind = c.kind().name();
        match c {
            Component::DestinationPrefix(p) | Component::SourcePrefix(p) => FlowComponent {
                kind,
                prefix: Some(p.prefix.to_string()),
                offset: (p.offset != 0).then_some(p.offset),
                matches: None,
            },
            Component::Numeric { .. } | Component::Bitmask { .. } => FlowComponent {
                kind,
                prefix: None,
                offset: None,
                matches: Some(c.exabgp_values()),
            },
        }
    }
}

/// The path attributes; absent attributes are absent members.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Attributes {
    /// ORIGIN: `igp`, `egp` or `incomplete`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<&'static str>,
    /// AS_PATH (merged with AS4_PATH from 2-octet peers), nearest AS first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub as_path: Option<Vec<Segment>>,
    /// NEXT_HOP (the next hop of IPv4 unicast routes in the NLRI field).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_hop: Option<Ipv4Addr>,
    /// MULTI_EXIT_DISC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub med: Option<u32>,
    /// LOCAL_PREF.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_pref: Option<u32>,
    /// ATOMIC_AGGREGATE: `true` when present.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub atomic_aggregate: bool,
    /// AGGREGATOR (merged with AS4_AGGREGATOR from 2-octet peers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aggregator: Option<Aggregator>,
    /// COMMUNITIES: `65000:100`, or the name of a well-known one (`no-export`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub communities: Vec<String>,
    /// ORIGINATOR_ID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub originator_id: Option<Ipv4Addr>,
    /// CLUSTER_LIST.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cluster_list: Vec<Ipv4Addr>,
    /// EXTENDED COMMUNITIES in text form (`target:65000:1`, `rate-limit:9600`,
    /// `0x` and 16 hex digits for unknown types).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extended_communities: Vec<String>,
    /// IPv6 address specific extended communities (RFC 5701) in text form.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ipv6_extended_communities: Vec<String>,
    /// LARGE_COMMUNITY: `global:local1:local2`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub large_communities: Vec<String>,
    /// AIGP metric (RFC 7311).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aigp: Option<u64>,
    /// Only to Customer (RFC 9234): the AS that set it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub otc: Option<u32>,
    /// Attributes Ribbit does not interpret, as received.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unknown: Vec<UnknownAttribute>,
}

impl Attributes {
    /// The JSON form of decoded path attributes.
    pub fn new(a: &PathAttributes) -> Attributes {
        Attributes {
            origin: a.origin.map(|o| o.name()),
            as_path: a.as_path.as_ref().map(segments),
            next_hop: a.next_hop,
            med: a.med,
            local_pref: a.local_pref,
            atomic_aggregate: a.atomic_aggregate,
            aggregator: a.aggregator.map(|g| Aggregator {
                asn: g.asn,
                address: g.address,
            }),
            communities: a.communities.iter().map(ToString::to_string).collect(),
            originator_id: a.originator_id,
            cluster_list: a.cluster_list.clone(),
            extended_communities: a
                .extended_communities
                .iter()
                .map(ToString::to_string)
                .collect(),
            ipv6_extended_communities: a
                .ipv6_extended_communities
                .iter()
                .map(ToString::to_string)
                .collect(),
            large_communities: a
                .large_communities
                .iter()
                .map(ToString::to_string)
                .collect(),
            aigp: a.aigp,
            otc: a.otc,
            unknown: a
                .unknown
                .iter()
                .map(|u| UnknownAttribute {
                    type_code: u.type_code,
                    flags: u.flags,
                    value: hex(&u.value),
                })
                .collect(),
        }
    }
}

fn segments(path: &AsPath) -> Vec<Segment> {
    path.segments
        .iter()
        .map(|s| Segment {
            kind: match s.kind {
                SegmentType::Sequence => "sequence",
                SegmentType::Set => "set",
                SegmentType::ConfedSequence => "confed-sequence",
                SegmentType::ConfedSet => "confed-set",
            },
            asns: s.asns.clone(),
        })
        .collect()
}

/// One AS_PATH segment.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Segment {
    /// `sequence`, `set`, `confed-sequence` or `confed-set`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The AS numbers.
    pub asns: Vec<u32>,
}

/// AGGREGATOR.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Aggregator {
    /// The AS that formed the aggregate.
    pub asn: u32,
    /// The BGP identifier of the speaker that formed it.
    pub address: Ipv4Addr,
}

/// An attribute Ribbit does not interpret.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct UnknownAttribute {
    /// Type code.
    pub type_code: u8,
    /// Flags as received.
    pub flags: u8,
    /// The value, hex.
    pub value: String,
}

/// A bare NLRI field decoded on its own (`ribbit decode --family`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct NlriDocument {
    /// Always `nlri`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The family the bytes were read as.
    pub family: String,
    /// The routes, without next hops.
    pub nlri: Vec<Route>,
}

impl NlriDocument {
    /// The document for the NLRI `list` of `family`.
    pub fn new(family: Family, list: &NlriList) -> NlriDocument {
        NlriDocument {
            kind: "nlri",
            family: family.to_string(),
            nlri: routes(family, list).collect(),
        }
    }
}

/// Lower-case hex, no prefix.
fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len().saturating_mul(2));
    for b in bytes {
        // Writing to a String cannot fail.
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use ribbit_wire::DecodeContext;
    use serde_json::{json, Value};

    fn bytes(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(char::is_ascii_hexdigit).collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn decode_with(s: &str, ctx: &DecodeContext) -> Value {
        let b = bytes(s);
        let msg = WireMessage::decode(&b, ctx).unwrap();
        serde_json::to_value(Message::new(&msg, b.len())).unwrap()
    }

    fn decode(s: &str) -> Value {
        decode_with(s, &DecodeContext::default())
    }

    #[test]
    fn ipv4_update() {
        let v = decode("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF004F02000000384001010040020E02030000AAAA0000AAAA0000AAAAC0070800AA00AA0A0A0A0A4006004003040A0A0A0A8004040000000040050400000064");
        assert_eq!(
            v,
            json!({
                "type": "update",
                "length": 79,
                "withdrawn": [],
                "announced": [],
                "attributes": {
                    "origin": "igp",
                    "as-path": [{"type": "sequence", "asns": [43690, 43690, 43690]}],
                    "next-hop": "10.10.10.10",
                    "med": 0,
                    "local-pref": 100,
                    "atomic-aggregate": true,
                    "aggregator": {"asn": 11141290, "address": "10.10.10.10"}
                }
            })
        );
        let ctx = DecodeContext {
            add_path: [Family::IPV4_UNICAST].into_iter().collect(),
            ..DecodeContext::default()
        };
        let v = decode_with("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF:0040:02:00000020400101004002004003040A00000140050400000064C0100800020048000000010102030420C1000201", &ctx);
        assert_eq!(
            v["announced"],
            json!([{"family": "ipv4-unicast", "prefix": "193.0.2.1/32", "path-id": 16909060, "next-hop": "10.0.0.1"}])
        );
        assert_eq!(
            v["attributes"]["extended-communities"],
            json!(["target:72:1"])
        );
    }

    #[test]
    fn add_path_vpn_and_communities() {
        let ctx = DecodeContext {
            add_path: [Family::IPV4_VPN].into_iter().collect(),
            ..DecodeContext::default()
        };
        let v = decode_with("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF:0066:02:0000004F40010100400200400304C0A8000140050400000064C0101000020000000000000002000100000001800E240001800C0000000000000000C0A80001000000000A7004E2C100000064000000640A0000", &ctx);
        assert_eq!(
            v["announced"],
            json!([{"family": "ipv4-vpn", "prefix": "10.0.0.0/24", "path-id": 10, "next-hop": "192.168.0.1", "labels": [20012], "rd": "100:100"}])
        );
        assert_eq!(v["attributes"]["as-path"], json!([]));
        let v = decode("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF:004C:02:0000003040010100400200400304FFFFFFFF40050400000064C020180000000100000002000000030000000A0000000B0000000C200A000007");
        assert_eq!(
            v["attributes"]["large-communities"],
            json!(["1:2:3", "10:11:12"])
        );
    }

    #[test]
    fn flowspec_and_end_of_rib() {
        let v = decode("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF:0057:02:000000404001010040020040050400000064C008087814000078147814C010088006000000000000800E1900018500001301200A00000202200A00000103810605910C38");
        assert_eq!(
            v["announced"],
            json!([{
                "family": "ipv4-flowspec",
                "flow": [
                    {"type": "destination-prefix", "prefix": "10.0.0.2/32"},
                    {"type": "source-prefix", "prefix": "10.0.0.1/32"},
                    {"type": "ip-protocol", "match": ["=tcp"]},
                    {"type": "destination-port", "match": ["=3128"]}
                ],
                "rule": "destination-ipv4 10.0.0.2/32 source-ipv4 10.0.0.1/32 protocol =tcp destination-port =3128"
            }])
        );
        assert_eq!(
            v["attributes"]["communities"],
            json!(["30740:0", "30740:30740"])
        );
        assert_eq!(
            v["attributes"]["extended-communities"],
            json!(["rate-limit:0"])
        );
        let v = decode("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF:001E:02:00000007900F0003000186");
        assert_eq!(v["end-of-rib"], "ipv4-flowspec-vpn");
        let v = decode("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF:0017:02:00000000");
        assert_eq!(
            v,
            json!({"type": "update", "length": 23, "withdrawn": [], "announced": [], "attributes": {}, "end-of-rib": "ipv4-unicast"})
        );
    }

    #[test]
    fn issues_are_reported() {
        // ORIGIN with value 7: RFC 7606 treat-as-withdraw.
        let v = decode("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF:0030:02:0000001540010107400200400304010203044005040000006418080808");
        assert_eq!(v["issues"][0]["action"], "treat-as-withdraw");
        assert_eq!(v["issues"][0]["type-code"], 1);
        assert_eq!(v["issues"][0]["offset"], 23);
    }

    #[test]
    fn open() {
        let v = decode("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00510104FFFD00B40A000002340206010400010001020641040000FFFD02224B201F4578614247502F6D61696E2D633261326561386562642D3230323430373135");
        assert_eq!(
            v,
            json!({
                "type": "open", "length": 81, "version": 4, "asn": 65533, "my-as": 65533,
                "hold-time": 180, "router-id": "10.0.0.2",
                "capabilities": [
                    {"code": 1, "name": "multiprotocol", "family": "ipv4-unicast"},
                    {"code": 65, "name": "asn4", "asn": 65533},
                    {"code": 75, "name": "software-version", "version": "ExaBGP/main-c2a2ea8ebd-20240715"}
                ]
            })
        );
    }

    #[test]
    fn notification_keepalive_refresh() {
        let v = decode("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF 0019 03 0602 036d6f6f");
        assert_eq!(
            v,
            json!({
                "type": "notification", "length": 25, "code": 6, "subcode": 2,
                "code-name": "Cease", "subcode-name": "Administrative Shutdown",
                "data": "036d6f6f", "shutdown-message": "moo"
            })
        );
        assert_eq!(
            decode("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF 0013 04"),
            json!({"type": "keepalive", "length": 19})
        );
        assert_eq!(
            decode("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF 0017 05 0002 0101"),
            json!({"type": "route-refresh", "length": 23, "family": "ipv6-unicast", "subtype": "begin"})
        );
    }

    #[test]
    fn bare_nlri() {
        let list = NlriList::decode(
            &mut ribbit_wire::reader::Reader::new(&[24, 10, 0, 0, 0], 0),
            Family::IPV4_UNICAST,
            false,
            false,
        )
        .unwrap();
        let v = serde_json::to_value(NlriDocument::new(Family::IPV4_UNICAST, &list)).unwrap();
        assert_eq!(
            v,
            json!({"type": "nlri", "family": "ipv4-unicast", "nlri": [
                {"family": "ipv4-unicast", "prefix": "10.0.0.0/24"},
                {"family": "ipv4-unicast", "prefix": "0.0.0.0/0"}
            ]})
        );
    }
}
