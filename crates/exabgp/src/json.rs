//! BGP messages in ExaBGP's API v4 JSON form.
//!
//! ExaBGP prints one JSON object per message for the programs it runs:
//!
//! ```text
//! { "exabgp": "4.0.1", "time": 1700000000.5, "host": "rs1", "pid": 42, "ppid": 1,
//!   "counter": 1, "type": "update",
//!   "neighbor": { "address": { "local": "192.0.2.1", "peer": "192.0.2.2" },
//!                 "asn": { "local": 65000, "peer": 65001 }, "router-id": "192.0.2.2",
//!                 "direction": "in",
//!                 "message": { "update": { "attribute": { ... },
//!                                          "announce": { "ipv4 unicast": { "<next hop>": [ { "nlri": "10.0.0.0/24" } ] } },
//!                                          "withdraw": { "ipv4 unicast": [ { "nlri": "10.1.0.0/24" } ] } } } } }
//! ```
//!
//! Programs written for ExaBGP parse exactly these names and value forms, so
//! [`message`] reproduces them, quirks included: data in object keys
//! (families, next hops, capability codes), AS paths flattened by segment
//! type, the names ExaBGP gives extended communities. Where ExaBGP 4 writes
//! something that is not JSON (AIGP as a bare `0x...` hex number) the number
//! is written as a JSON integer instead. Ribbit's own JSON, with a stable
//! schema and no data in keys, lives in the `ribbit` crate.
//!
//! Every function here is pure: the caller supplies the time, host name,
//! process ids and message counter in [`Neighbor`], so output is
//! reproducible.

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr};

use serde_json::{json, Map, Value};

use ribbit_wire::attribute::{flags, AsPath, ExtendedCommunity, ExtendedKind, SegmentType};
use ribbit_wire::capability::Capability;
use ribbit_wire::nlri::flowspec::FlowspecNlri;
use ribbit_wire::nlri::{Label, LabeledNlri, NlriList, PrefixNlri, VpnNlri};
use ribbit_wire::route_refresh::RefreshSubtype;
use ribbit_wire::update::{MpNlri, NextHop};
use ribbit_wire::{
    Afi, Family, Message, Notification, Open, PathAttributes, RouteRefresh, Safi, Update,
};

/// The API version ExaBGP 4 announces in the `exabgp` member; programs
/// check it to know which JSON dialect they are reading.
pub const API_VERSION: &str = "4.0.1";

/// Which way the message went, as ExaBGP's `direction` member says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Received from the peer.
    In,
    /// Sent to the peer.
    Out,
}

impl Direction {
    /// `"in"` or `"out"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
        }
    }
}

/// Everything in ExaBGP's JSON that does not come from the message itself:
/// the session it was seen on and the envelope ExaBGP wraps it in.
#[derive(Debug, Clone, PartialEq)]
pub struct Neighbor {
    /// Our address on the session.
    pub local_address: IpAddr,
    /// The peer's address.
    pub peer_address: IpAddr,
    /// Our AS number.
    pub local_as: u32,
    /// The peer's AS number.
    pub peer_as: u32,
    /// The peer's BGP identifier.
    pub router_id: Ipv4Addr,
    /// Whether the message was received or sent.
    pub direction: Direction,
    /// Seconds since the Unix epoch when the message was seen.
    pub time: f64,
    /// The host name of the machine.
    pub host: String,
    /// The process id of the speaker.
    pub pid: u32,
    /// The process id of its parent.
    pub ppid: u32,
    /// The number of messages reported for this neighbor so far, this one included.
    pub counter: u64,
}

impl Neighbor {
    /// The context ExaBGP's own decoder uses when no session exists:
    /// 127.0.0.1 on both ends, router id 127.0.0.1, direction `in`,
    /// counter 1, time 0 and no host or process ids.
    pub fn decoder(local_as: u32, peer_as: u32) -> Neighbor {
        let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
        Neighbor {
            local_address: loopback,
            peer_address: loopback,
            local_as,
            peer_as,
            router_id: Ipv4Addr::LOCALHOST,
            direction: Direction::In,
            time: 0.0,
            host: String::new(),
            pid: 0,
            ppid: 0,
            counter: 1,
        }
    }
}

/// The ASN ExaBGP's decoder assumes for both ends when none is given.
pub const DEFAULT_DECODER_ASN: u32 = 65533;

/// The whole ExaBGP JSON object for one message.
pub fn message(msg: &Message, neighbor: &Neighbor) -> Value {
    let (kind, content): (&str, Option<(&str, Value)>) = match msg {
        Message::Update(u) => ("update", Some(("message", update(u)))),
        Message::Open(o) => ("open", Some(("open", open(o)))),
        Message::Notification(n) => ("notification", Some(("notification", notification(n)))),
        Message::Keepalive => ("keepalive", None),
        Message::RouteRefresh(r) => ("refresh", Some(("route-refresh", route_refresh(r)))),
    };
    let mut n = Map::new();
    n.insert(
        "address".into(),
        json!({ "local": neighbor.local_address.to_string(), "peer": neighbor.peer_address.to_string() }),
    );
    n.insert(
        "asn".into(),
        json!({ "local": neighbor.local_as, "peer": neighbor.peer_as }),
    );
    n.insert("router-id".into(), json!(neighbor.router_id.to_string()));
    n.insert("direction".into(), json!(neighbor.direction.as_str()));
    if let Some((key, value)) = content {
        n.insert(key.into(), value);
    }
    // A time that is not finite cannot be a JSON number; 0 keeps the member.
    let time = serde_json::Number::from_f64(neighbor.time).unwrap_or_else(|| 0.into());
    json!({
        "exabgp": API_VERSION,
        "time": time,
        "host": neighbor.host,
        "pid": neighbor.pid,
        "ppid": neighbor.ppid,
        "counter": neighbor.counter,
        "type": kind,
        "neighbor": n,
    })
}

/// The content of `neighbor.message` for an UPDATE: `{"update": {...}}`, or
/// `{"eor": {"afi": ..., "safi": ...}}` for an End-of-RIB marker.
///
/// Routes of an UPDATE that RFC 7606 says to treat as withdrawn are listed
/// under `withdraw`, without attributes: a program that acts on what it
/// reads then removes them, which is what the RFC asks of a receiver.
pub fn update(u: &Update) -> Value {
    if let Some(family) = u.end_of_rib_family() {
        return json!({ "eor": { "afi": afi_name(family.afi), "safi": safi_name(family.safi) } });
    }
    let withdraw_all = u.treat_as_withdraw();
    let mut announce = Map::new();
    let mut withdraw = Map::new();

    let ipv4 = family_key(Family::IPV4_UNICAST);
    if !u.withdrawn.is_empty() {
        let list = u.withdrawn.iter().map(prefix_nlri).collect();
        push_withdrawn(&mut withdraw, &ipv4, list);
    }
    if let Some(m) = &u.mp_unreach {
        if let MpNlri::Decoded(list) = &m.nlri {
            push_withdrawn(
                &mut withdraw,
                &family_key(m.family),
                nlri_values(m.family, list, None),
            );
        }
    }
    if !u.announced.is_empty() {
        let list: Vec<Value> = u.announced.iter().map(prefix_nlri).collect();
        if withdraw_all {
            push_withdrawn(&mut withdraw, &ipv4, list);
        } else {
            let hop = u
                .attributes
                .next_hop
                .map_or_else(|| "null".to_string(), |a| a.to_string());
            push_announced(&mut announce, &ipv4, &hop, list);
        }
    }
    if let Some(m) = &u.mp_reach {
        if let MpNlri::Decoded(list) = &m.nlri {
            let key = family_key(m.family);
            if withdraw_all {
                push_withdrawn(&mut withdraw, &key, nlri_values(m.family, list, None));
            } else {
                let hop = next_hop_key(&m.next_hop, list);
                let values = nlri_values(m.family, list, Some(&m.next_hop));
                push_announced(&mut announce, &key, &hop, values);
            }
        }
    }

    let mut body = Map::new();
    let attrs = if withdraw_all {
        Map::new()
    } else {
        attributes(&u.attributes)
    };
    if !attrs.is_empty() {
        body.insert("attribute".into(), Value::Object(attrs));
    }
    if !announce.is_empty() {
        body.insert("announce".into(), Value::Object(announce));
    }
    if !withdraw.is_empty() {
        body.insert("withdraw".into(), Value::Object(withdraw));
    }
    json!({ "update": body })
}

/// File announced routes under their family and next hop; an empty list
/// (an MP_REACH_NLRI without NLRI) files nothing, as ExaBGP lists routes,
/// not attributes.
fn push_announced(announce: &mut Map<String, Value>, family: &str, hop: &str, list: Vec<Value>) {
    if list.is_empty() {
        return;
    }
    let by_hop = announce
        .entry(family.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(by_hop) = by_hop {
        let entry = by_hop
            .entry(hop.to_string())
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(v) = entry {
            v.extend(list);
        }
    }
}

/// File withdrawn routes under their family; an empty list (an
/// MP_UNREACH_NLRI without NLRI beside other withdrawals) files nothing.
fn push_withdrawn(withdraw: &mut Map<String, Value>, family: &str, list: Vec<Value>) {
    if list.is_empty() {
        return;
    }
    let entry = withdraw
        .entry(family.to_string())
        .or_insert_with(|| Value::Array(Vec::new()));
    if let Value::Array(v) = entry {
        v.extend(list);
    }
}

/// The key ExaBGP files the routes of `list` under (see
/// [`push_next_hop_key`]).
fn next_hop_key(hop: &NextHop, list: &NlriList) -> String {
    let mut key = String::new();
    push_next_hop_key(&mut key, Some(*hop), matches!(list, NlriList::Flowspec(_)));
    key
}

/// Append the key ExaBGP files announced routes under: the next hop (IPv6:
/// its global address), `no-nexthop` for Flowspec without one, `null` for
/// other routes without one.
pub fn push_next_hop_key(out: &mut String, hop: Option<NextHop>, flowspec: bool) {
    use std::fmt::Write as _;
    match hop {
        None | Some(NextHop::Empty) if flowspec => out.push_str("no-nexthop"),
        None | Some(NextHop::Empty) => out.push_str("null"),
        Some(NextHop::V4(a)) => ribbit_wire::text::push_ipv4(out, a),
        // ExaBGP names IPv6 next hops by their global address only.
        Some(NextHop::V6 { global, .. }) => {
            let _ = write!(out, "{global}");
        }
    }
}

/// ExaBGP's name of a family, `"ipv4 unicast"` style, for any AFI/SAFI.
pub fn family_key(family: Family) -> String {
    let mut key = String::new();
    push_family_key(&mut key, family);
    key
}

/// [`family_key`] appended to `out`, without allocating for the known
/// names.
pub fn push_family_key(out: &mut String, family: Family) {
    out.push_str(&afi_name(family.afi));
    out.push(' ');
    out.push_str(&safi_name(family.safi));
}

/// ExaBGP's name of an AFI (`ipv4`, `ipv6`, `l2vpn`, `bgp-ls`); the number
/// for others. Known names are borrowed: an event stream names a family per
/// UPDATE.
pub fn afi_name(afi: Afi) -> Cow<'static, str> {
    let name = match afi.0 {
        1 => "ipv4",
        2 => "ipv6",
        25 => "l2vpn",
        16388 => "bgp-ls",
        n => return n.to_string().into(),
    };
    Cow::Borrowed(name)
}

/// ExaBGP's name of a SAFI (`unicast`, `nlri-mpls`, `mpls-vpn`, `flow`,
/// ...); the number for others.
pub fn safi_name(safi: Safi) -> Cow<'static, str> {
    let name = match safi.0 {
        1 => "unicast",
        2 => "multicast",
        4 => "nlri-mpls",
        5 => "mcast-vpn",
        65 => "vpls",
        70 => "evpn",
        71 => "bgp-ls",
        72 => "bgp-ls-vpn",
        73 => "sr-policy",
        85 => "mup",
        128 => "mpls-vpn",
        132 => "rtc",
        133 => "flow",
        134 => "flow-vpn",
        n => return n.to_string().into(),
    };
    Cow::Borrowed(name)
}

/// `"afi/safi"` as in capability listings (`ipv4/unicast`).
fn family_slash(family: Family) -> String {
    format!("{}/{}", afi_name(family.afi), safi_name(family.safi))
}

/// A path identifier the way ExaBGP prints it: dotted like an IPv4 address.
fn path_info(id: u32) -> String {
    Ipv4Addr::from(id).to_string()
}

/// `[[label, raw entry]]`: ExaBGP lists each label value beside the whole
/// 24-bit stack entry (with traffic class and bottom-of-stack bits).
fn labels(stack: &[Label]) -> Value {
    Value::Array(stack.iter().map(|l| json!([l.value(), l.0])).collect())
}

fn prefix_nlri(n: &PrefixNlri) -> Value {
    let mut o = Map::new();
    o.insert("nlri".into(), json!(n.prefix.to_string()));
    if let Some(id) = n.path_id {
        o.insert("path-information".into(), json!(path_info(id)));
    }
    Value::Object(o)
}

fn labeled_nlri(n: &LabeledNlri) -> Value {
    let mut o = Map::new();
    o.insert("nlri".into(), json!(n.prefix.to_string()));
    if let Some(id) = n.path_id {
        o.insert("path-information".into(), json!(path_info(id)));
    }
    o.insert("label".into(), labels(&n.labels));
    Value::Object(o)
}

fn vpn_nlri(n: &VpnNlri) -> Value {
    let mut o = Map::new();
    o.insert("nlri".into(), json!(n.prefix.to_string()));
    if let Some(id) = n.path_id {
        o.insert("path-information".into(), json!(path_info(id)));
    }
    o.insert("label".into(), labels(&n.labels));
    o.insert("rd".into(), json!(n.rd.to_string()));
    Value::Object(o)
}

/// One Flowspec rule: a member per component (`"destination-ipv4":
/// ["10.0.0.0/24"]`), then `rd`, the API v4 `next-hop` when the route has
/// one, and ExaBGP's one-line `string`.
fn flow_nlri(afi: Afi, n: &FlowspecNlri, hop: Option<&NextHop>) -> Value {
    let mut o = Map::new();
    for (key, values) in n.exabgp_components(afi) {
        o.insert(key.into(), json!(values));
    }
    if let Some(rd) = n.rd {
        o.insert("rd".into(), json!(rd.to_string()));
    }
    if let Some(id) = n.path_id {
        o.insert("path-information".into(), json!(path_info(id)));
    }
    match hop {
        Some(NextHop::V4(a)) => {
            o.insert("next-hop".into(), json!(a.to_string()));
        }
        Some(NextHop::V6 { global, .. }) => {
            o.insert("next-hop".into(), json!(global.to_string()));
        }
        Some(NextHop::Empty) | None => {}
    }
    o.insert("string".into(), json!(n.exabgp_string(afi)));
    Value::Object(o)
}

/// The JSON of each NLRI of a list of `family`, as ExaBGP lists them under
/// `announce` and `withdraw`. `hop` is the MP_REACH_NLRI next hop of
/// announced routes (Flowspec rules repeat it in API v4).
pub fn nlri_values(family: Family, list: &NlriList, hop: Option<&NextHop>) -> Vec<Value> {
    match list {
        NlriList::Prefixes(v) => v.iter().map(prefix_nlri).collect(),
        NlriList::Labeled(v) => v.iter().map(labeled_nlri).collect(),
        NlriList::Vpn(v) => v.iter().map(vpn_nlri).collect(),
        NlriList::Flowspec(v) => v.iter().map(|n| flow_nlri(family.afi, n, hop)).collect(),
    }
}

/// The `attribute` object: every path attribute but NEXT_HOP (ExaBGP files
/// the next hop with the routes) and the MP ones.
pub fn attributes(a: &PathAttributes) -> Map<String, Value> {
    let mut o = Map::new();
    if let Some(origin) = a.origin {
        o.insert("origin".into(), json!(origin.name()));
    }
    // ExaBGP ignores an empty AS_PATH (as iBGP routes carry) altogether.
    if let Some(path) = a.as_path.as_ref().filter(|p| !p.segments.is_empty()) {
        as_path(path, &mut o);
    }
    if let Some(med) = a.med {
        o.insert("med".into(), json!(med));
    }
    if let Some(lp) = a.local_pref {
        o.insert("local-preference".into(), json!(lp));
    }
    if a.atomic_aggregate {
        o.insert("atomic-aggregate".into(), json!(true));
    }
    if let Some(agg) = a.aggregator {
        o.insert(
            "aggregator".into(),
            json!(format!("{}:{}", agg.asn, agg.address)),
        );
    }
    if !a.communities.is_empty() {
        let list: Vec<Value> = a
            .communities
            .iter()
            .map(|c| json!([c.high(), c.low()]))
            .collect();
        o.insert("community".into(), Value::Array(list));
    }
    if let Some(id) = a.originator_id {
        o.insert("originator-id".into(), json!(id.to_string()));
    }
    if !a.cluster_list.is_empty() {
        let list: Vec<String> = a.cluster_list.iter().map(ToString::to_string).collect();
        o.insert("cluster-list".into(), json!(list));
    }
    if !a.extended_communities.is_empty() {
        let list: Vec<Value> = a
            .extended_communities
            .iter()
            .map(|c| json!({ "value": c.value(), "string": extended_community_string(*c) }))
            .collect();
        o.insert("extended-community".into(), Value::Array(list));
    }
    if !a.ipv6_extended_communities.is_empty() {
        // ExaBGP 4 does not know RFC 5701 communities and prints them as a
        // generic attribute. (ExaBGP 5 names them, but gives each a 160-bit
        // integer value that most JSON readers cannot hold.)
        let mut value = Vec::with_capacity(a.ipv6_extended_communities.len().saturating_mul(20));
        for c in &a.ipv6_extended_communities {
            value.extend_from_slice(&c.0);
        }
        let code = ribbit_wire::attribute::type_code::IPV6_EXTENDED_COMMUNITIES;
        generic(code, flags::OPTIONAL | flags::TRANSITIVE, &value, &mut o);
    }
    if let Some(aigp) = a.aigp {
        o.insert("aigp".into(), json!(aigp));
    }
    if !a.large_communities.is_empty() {
        let list: Vec<Value> = a
            .large_communities
            .iter()
            .map(|c| json!([c.global, c.local1, c.local2]))
            .collect();
        o.insert("large-community".into(), Value::Array(list));
    }
    if let Some(otc) = a.otc {
        o.insert("otc".into(), json!(otc));
    }
    for u in &a.unknown {
        generic(u.type_code, u.flags, &u.value, &mut o);
    }
    o
}

/// An attribute ExaBGP does not interpret: `"attribute-0xTT-0xFF": "0xVALUE"`.
/// ExaBGP sets the Partial bit of the optional transitive attributes it
/// passes on, and shows the flags it would send.
fn generic(code: u8, fl: u8, value: &[u8], o: &mut Map<String, Value>) {
    let shown = if fl & flags::OPTIONAL != 0 && fl & flags::TRANSITIVE != 0 {
        fl | flags::PARTIAL
    } else {
        fl
    };
    o.insert(
        format!("attribute-0x{code:02X}-0x{shown:02X}"),
        json!(upper_hex(value)),
    );
}

/// `0x` and upper-case hex digits, ExaBGP's form for raw bytes.
fn upper_hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len().saturating_mul(2).saturating_add(2));
    s.push_str("0x");
    for b in bytes {
        s.push_str(&format!("{b:02X}"));
    }
    s
}

/// ExaBGP 4 flattens the path by segment type: all AS_SEQUENCE numbers in
/// `as-path`, AS_SET in `as-set`, confederation ones in
/// `confederation-path` and `confederation-set`. The two sequences are
/// always present (possibly empty), the sets only when not empty.
fn as_path(path: &AsPath, o: &mut Map<String, Value>) {
    let collect = |kind: SegmentType| -> Vec<u32> {
        path.segments
            .iter()
            .filter(|s| s.kind == kind)
            .flat_map(|s| s.asns.iter().copied())
            .collect()
    };
    let set = collect(SegmentType::Set);
    let confed_set = collect(SegmentType::ConfedSet);
    o.insert("as-path".into(), json!(collect(SegmentType::Sequence)));
    if !set.is_empty() {
        o.insert("as-set".into(), json!(set));
    }
    o.insert(
        "confederation-path".into(),
        json!(collect(SegmentType::ConfedSequence)),
    );
    if !confed_set.is_empty() {
        o.insert("confederation-set".into(), json!(confed_set));
    }
}

/// ExaBGP's text for an extended community, the `string` beside its value.
///
/// Route targets and origins follow ExaBGP's classes: a 2-octet-AS origin
/// shows its 4-octet number as an IPv4 address (`origin:100:0.0.3.232`),
/// the 4-octet-AS forms carry ExaBGP 4's `L` suffix (`target:70000L:1`).
/// Flowspec actions use the spellings Ribbit shares with ExaBGP
/// (`rate-limit:9600`, `redirect:65000:1`, `mark 10`, ...). Anything else
/// is `0x` and 16 upper-case hex digits.
pub fn extended_community_string(c: ExtendedCommunity) -> String {
    let [high, low, a, b, cc, d, e, f] = c.0;
    let u16_at = |x: u8, y: u8| u16::from_be_bytes([x, y]);
    // The transitive bit (0x40) does not change the meaning (RFC 4360 §2).
    match (high & !0x40, low) {
        (0x00, 0x02) => {
            return format!(
                "target:{}:{}",
                u16_at(a, b),
                u32::from_be_bytes([cc, d, e, f])
            )
        }
        (0x01, 0x02) => return format!("target:{}:{}", Ipv4Addr::new(a, b, cc, d), u16_at(e, f)),
        (0x02, 0x02) => {
            return format!(
                "target:{}L:{}",
                u32::from_be_bytes([a, b, cc, d]),
                u16_at(e, f)
            )
        }
        (0x00, 0x03) => return format!("origin:{}:{}", u16_at(a, b), Ipv4Addr::new(cc, d, e, f)),
        (0x01, 0x03) => return format!("origin:{}:{}", Ipv4Addr::new(a, b, cc, d), u16_at(e, f)),
        (0x02, 0x03) => {
            return format!(
                "origin:{}L:{}",
                u32::from_be_bytes([a, b, cc, d]),
                u16_at(e, f)
            )
        }
        // Layer 2 info (RFC 4761 §3.2.4): encapsulation, control flags, MTU, reserved.
        (0x80, 0x0a) => return format!("l2info:{a}:{b}:{}:{}", u16_at(cc, d), u16_at(e, f)),
        _ => {}
    }
    match c.kind() {
        ExtendedKind::RouteTarget(_) | ExtendedKind::RouteOrigin(_) | ExtendedKind::Other => {
            format!("0x{:016X}", c.value())
        }
        _ => c.to_string(),
    }
}

/// The `open` object: version, the 2-octet My AS field, hold time, router
/// id and the capabilities keyed by their code. Several capabilities with
/// one code (one Multiprotocol per family) are merged, as ExaBGP does.
pub fn open(o: &Open) -> Value {
    let mut caps: Map<String, Value> = Map::new();
    for c in &o.capabilities {
        let key = c.code().to_string();
        match c {
            Capability::Multiprotocol(f) => {
                let entry = caps
                    .entry(key)
                    .or_insert_with(|| json!({ "name": "multiprotocol", "families": [] }));
                if let Some(Value::Array(v)) = entry.get_mut("families") {
                    v.push(json!(family_slash(*f)));
                }
            }
            Capability::AddPath(modes) => {
                let entry = caps
                    .entry(key)
                    .or_insert_with(|| json!({ "name": "addpath" }));
                if let Value::Object(m) = entry {
                    for (f, mode) in modes {
                        m.insert(family_slash(*f), json!(mode.name()));
                    }
                }
            }
            other => {
                caps.insert(key, capability(other));
            }
        }
    }
    json!({
        "version": o.version,
        "asn": o.my_as,
        "hold_time": o.hold_time,
        "router_id": o.router_id.to_string(),
        "capabilities": caps,
    })
}

/// One capability other than Multiprotocol and ADD-PATH.
fn capability(c: &Capability) -> Value {
    match c {
        Capability::RouteRefresh => json!({ "name": "route-refresh", "variant": "RFC" }),
        Capability::EnhancedRouteRefresh => json!({ "name": "enhanced-route-refresh" }),
        Capability::ExtendedMessage => json!({ "name": "extended-message" }),
        Capability::FourOctetAs(asn) => json!({ "name": "asn4", "asn4": asn }),
        Capability::ExtendedNextHop(list) => {
            let conversion: Vec<String> = list
                .iter()
                .map(|(f, nh)| format!("{}/{}", family_slash(*f), afi_name(*nh)))
                .collect();
            json!({ "name": "nexthop", "conversion": conversion })
        }
        Capability::GracefulRestart {
            restarting,
            restart_time,
            families,
            ..
        } => {
            // ExaBGP's labels, kept as they are: the per-family F bit
            // shows as "restart" and the R bit as "forwarding".
            let mut per_family = Map::new();
            for f in families {
                let flagged: Vec<&str> = if f.forwarding_preserved {
                    vec!["restart"]
                } else {
                    vec![]
                };
                per_family.insert(family_slash(f.family), json!(flagged));
            }
            let restart: Vec<&str> = if *restarting {
                vec!["forwarding"]
            } else {
                vec![]
            };
            json!({
                "name": "graceful restart",
                "time": restart_time,
                "address family flags": per_family,
                "restart flags": restart,
            })
        }
        Capability::Fqdn { hostname, domain } => {
            json!({ "name": "hostname", "host-name": hostname, "domain-name": domain })
        }
        Capability::SoftwareVersion(v) => json!({ "software": v }),
        Capability::Role(r) => json!({ "name": "role", "role": r.name(), "value": r.code() }),
        Capability::LongLivedGracefulRestart(list) => {
            let mut per_family = Map::new();
            for f in list {
                per_family.insert(
                    family_slash(f.family),
                    json!({ "forwarding": f.forwarding_preserved, "stale-time": f.stale_time }),
                );
            }
            json!({ "name": "long-lived graceful restart", "families": per_family })
        }
        Capability::Multiprotocol(_) | Capability::AddPath(_) | Capability::Unknown { .. } => {
            let mut value = Vec::new();
            c.encode_value(&mut value);
            json!({ "name": "unknown", "value": c.code(), "raw": upper_hex(&value) })
        }
    }
}

/// The `notification` object: code, subcode and the data in ExaBGP's hex form.
pub fn notification(n: &Notification) -> Value {
    json!({ "code": n.code, "subcode": n.subcode, "data": upper_hex(&n.data) })
}

/// The `route-refresh` object: family and ExaBGP's subtype name
/// (`query`, `begin`, `end`).
pub fn route_refresh(r: &RouteRefresh) -> Value {
    let subtype = match r.subtype {
        RefreshSubtype::Request => "query".to_string(),
        RefreshSubtype::Begin => "begin".to_string(),
        RefreshSubtype::End => "end".to_string(),
        RefreshSubtype::Reserved(v) => v.to_string(),
    };
    json!({ "afi": afi_name(r.family.afi), "safi": safi_name(r.family.safi), "subtype": subtype })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ribbit_wire::DecodeContext;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(char::is_ascii_hexdigit).collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn known_names_are_borrowed() {
        for afi in [1, 2, 25, 16388] {
            assert!(matches!(afi_name(Afi(afi)), Cow::Borrowed(_)), "{afi}");
        }
        for safi in [1, 2, 4, 5, 65, 70, 71, 72, 73, 85, 128, 132, 133, 134] {
            assert!(matches!(safi_name(Safi(safi)), Cow::Borrowed(_)), "{safi}");
        }
        assert_eq!(family_key(Family::new(Afi(7), Safi(9))), "7 9");
    }

    fn decode(s: &str) -> Value {
        let msg = Message::decode(&hex(s), &DecodeContext::default()).unwrap();
        message(&msg, &Neighbor::decoder(65533, 65533))
    }

    /// Found by the `event_json` fuzz target: an MP_UNREACH_NLRI without
    /// NLRI beside a classic withdrawal lists no family of its own (it is
    /// not an End-of-RIB then, and ExaBGP lists routes, not attributes).
    #[test]
    fn an_empty_mp_list_beside_routes_lists_nothing() {
        use ribbit_wire::nlri::PrefixNlri;
        use ribbit_wire::update::{MpNlri, MpUnreach};
        let u = Update {
            withdrawn: vec![PrefixNlri {
                path_id: None,
                prefix: "0.0.0.0/0".parse().unwrap(),
            }],
            mp_unreach: Some(MpUnreach {
                family: Family::IPV6_UNICAST,
                nlri: MpNlri::Decoded(NlriList::Prefixes(Vec::new())),
            }),
            ..Update::default()
        };
        assert_eq!(
            update(&u),
            json!({ "update": { "withdraw": { "ipv4 unicast": [ { "nlri": "0.0.0.0/0" } ] } } })
        );
    }

    #[test]
    fn envelope_and_unicast_update() {
        let v = decode("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF003C020000001C4001010040020040030465016501800404000000C840050400000064000000002001010101");
        assert_eq!(v["exabgp"], "4.0.1");
        assert_eq!(v["type"], "update");
        assert_eq!(v["counter"], 1);
        let n = &v["neighbor"];
        assert_eq!(
            n["address"],
            json!({ "local": "127.0.0.1", "peer": "127.0.0.1" })
        );
        assert_eq!(n["asn"], json!({ "local": 65533, "peer": 65533 }));
        assert_eq!(n["router-id"], "127.0.0.1");
        assert_eq!(n["direction"], "in");
        let u = &n["message"]["update"];
        assert_eq!(
            u["attribute"],
            json!({ "origin": "igp", "med": 200, "local-preference": 100 })
        );
        let routes = &u["announce"]["ipv4 unicast"]["101.1.101.1"];
        assert_eq!(routes.as_array().map(Vec::len), Some(5));
        assert_eq!(routes[4], json!({ "nlri": "1.1.1.1/32" }));
    }

    #[test]
    fn end_of_rib() {
        let v = decode("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF001702 00000000");
        assert_eq!(
            v["neighbor"]["message"],
            json!({ "eor": { "afi": "ipv4", "safi": "unicast" } })
        );
        let v = decode("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF001E02 00000007900F0003000285");
        assert_eq!(
            v["neighbor"]["message"],
            json!({ "eor": { "afi": "ipv6", "safi": "flow" } })
        );
    }

    #[test]
    fn as_path_flattened_and_aggregator() {
        let v = decode("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF004F02000000384001010040020E02030000AAAA0000AAAA0000AAAAC0070800AA00AA0A0A0A0A4006004003040A0A0A0A8004040000000040050400000064");
        let a = &v["neighbor"]["message"]["update"]["attribute"];
        assert_eq!(a["as-path"], json!([43690, 43690, 43690]));
        assert_eq!(a["confederation-path"], json!([]));
        assert!(a.get("as-set").is_none());
        assert_eq!(a["aggregator"], "11141290:10.10.10.10");
        assert_eq!(a["atomic-aggregate"], true);
    }

    #[test]
    fn open_capabilities() {
        let v = decode("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00510104FFFD00B40A000002340206010400010001020641040000FFFD02224B201F4578614247502F6D61696E2D633261326561386562642D3230323430373135");
        assert_eq!(v["type"], "open");
        let o = &v["neighbor"]["open"];
        assert_eq!(o["asn"], 65533);
        assert_eq!(o["hold_time"], 180);
        assert_eq!(o["router_id"], "10.0.0.2");
        assert_eq!(
            o["capabilities"]["1"],
            json!({ "name": "multiprotocol", "families": ["ipv4/unicast"] })
        );
        assert_eq!(
            o["capabilities"]["65"],
            json!({ "name": "asn4", "asn4": 65533 })
        );
        assert_eq!(
            o["capabilities"]["75"],
            json!({ "software": "ExaBGP/main-c2a2ea8ebd-20240715" })
        );
    }

    #[test]
    fn flow_with_next_hop_v4_form() {
        let v = decode("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF:004B:02:000000344001010040020040050400000064C010080800000000000000800E180001860405060708000E0000FFFF0001000002200A000003");
        let r = &v["neighbor"]["message"]["update"]["announce"]["ipv4 flow-vpn"]["5.6.7.8"][0];
        assert_eq!(
            *r,
            json!({
                "source-ipv4": ["10.0.0.3/32"],
                "rd": "65535:65536",
                "next-hop": "5.6.7.8",
                "string": "flow source-ipv4 10.0.0.3/32 rd 65535:65536"
            })
        );
    }

    #[test]
    fn other_messages() {
        let v = decode("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF 0013 04");
        assert_eq!(v["type"], "keepalive");
        assert!(v["neighbor"].get("message").is_none());
        let v = decode("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF 0017 05 0002 0001");
        assert_eq!(v["type"], "refresh");
        assert_eq!(
            v["neighbor"]["route-refresh"],
            json!({ "afi": "ipv6", "safi": "unicast", "subtype": "query" })
        );
        let v = decode("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF 0017 03 0602 01 41");
        assert_eq!(
            v["neighbor"]["notification"],
            json!({ "code": 6, "subcode": 2, "data": "0x0141" })
        );
    }

    #[test]
    fn extended_community_names() {
        let s = |v: u64| extended_community_string(ExtendedCommunity(v.to_be_bytes()));
        assert_eq!(s(844854426862568), "origin:100:0.0.3.232");
        assert_eq!(s(563808946882512), "target:200:2000");
        assert_eq!(s(72620548618196848), "target:0.1.19.200:6000");
        assert_eq!(s(9226187895601526928), "l2info:1:2:13398:30864");
        assert_eq!(s(9225060887890886656), "rate-limit:9600");
        assert_eq!(s(576460752303423489), "copy-to-nexthop");
        assert_eq!(s(0x0202_0001_1170_0001), "target:70000L:1");
        assert_eq!(s(0x0306_0000_0000_0001), "0x0306000000000001");
    }

    #[test]
    fn generic_attributes_show_partial_bit() {
        let mut a = PathAttributes::default();
        a.unknown.push(ribbit_wire::attribute::RawAttribute {
            flags: 0xc0,
            type_code: 0x99,
            value: vec![0, 0, 0, 0x64],
        });
        a.unknown.push(ribbit_wire::attribute::RawAttribute {
            flags: 0x80,
            type_code: 0x98,
            value: vec![1],
        });
        let o = attributes(&a);
        assert_eq!(o["attribute-0x99-0xE0"], "0x00000064");
        assert_eq!(o["attribute-0x98-0x80"], "0x01");
    }
}
