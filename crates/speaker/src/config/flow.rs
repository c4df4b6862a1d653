//! `[[flow]]` and `[[neighbor.flow]]`: static Flowspec rules to announce
//! (RFC 8955 for IPv4, RFC 8956 for IPv6).
//!
//! ```toml
//! [[flow]]
//! match = { destination = "10.0.0.0/24", protocol = ["=udp"], source-port = ["=53"] }
//! then = { discard = true, community = ["100:100"] }
//! ```
//!
//! The keys of `match` are ExaBGP's component names and their values its
//! operator syntax, parsed by the codec's own parsers
//! ([`parse_numeric`], [`parse_bitmask`]) so that a rule reads the same in
//! a configuration, an API command and ExaBGP's output. The keys of `then`
//! are ExaBGP's action words. The checked rule is a [`FlowRule`], the same
//! type the library's builders make.

use std::net::IpAddr;
use std::ops::Range;

use ipnet::IpNet;
use ribbit_exabgp::text::Announcement;
use ribbit_wire::attribute::{Community, ExtendedCommunity, ExtendedKind, LargeCommunity};
use ribbit_wire::nlri::flowspec::{
    parse_bitmask, parse_numeric, Component, ComponentType, FlowPrefix, FlowspecError,
};
use ribbit_wire::nlri::{FlowspecNlri, RouteDistinguisher};
use ribbit_wire::{Afi, Family, PathAttributes, Safi};
use serde::de::IgnoredAny;
use serde::Deserialize;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::report::Report;
use crate::route::{max_value, FlowAction, FlowRule, RouteTarget};

/// A static Flowspec rule, checked: its match, actions and communities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowConfig {
    /// The rule (`match`, `then`, `family`, `rd`).
    pub rule: FlowRule,
    /// `name`: a label for people, used in messages.
    pub name: Option<String>,
    /// The line of the rule's table in the file, for later messages.
    pub line: usize,
}

impl FlowConfig {
    /// The family: `ipv4-flowspec`, `ipv6-flowspec` or their VPN variants.
    pub fn family(&self) -> Family {
        self.rule.family()
    }

    /// The rule as an announcement of ExaBGP's grammar, which the session
    /// encodes as it encodes the static routes ([`Announcement::encode`]).
    pub fn announcement(&self) -> Announcement {
        self.rule.announcement()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawFlow {
    name: Option<Spanned<String>>,
    family: Option<Spanned<String>>,
    rd: Option<Spanned<String>>,
    // `match` and `then` are taken out before deserializing, so that their
    // keys are named in messages; they are named here for the list of keys.
    #[serde(rename = "match")]
    #[allow(dead_code, reason = "always taken out before")]
    matching: Option<IgnoredAny>,
    #[allow(dead_code, reason = "always taken out before")]
    then: Option<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawMatch {
    destination: Option<Spanned<String>>,
    source: Option<Spanned<String>>,
    protocol: Option<Spanned<Values>>,
    next_header: Option<Spanned<Values>>,
    port: Option<Spanned<Values>>,
    destination_port: Option<Spanned<Values>>,
    source_port: Option<Spanned<Values>>,
    icmp_type: Option<Spanned<Values>>,
    icmp_code: Option<Spanned<Values>>,
    tcp_flags: Option<Spanned<Values>>,
    packet_length: Option<Spanned<Values>>,
    dscp: Option<Spanned<Values>>,
    traffic_class: Option<Spanned<Values>>,
    fragment: Option<Spanned<Values>>,
    flow_label: Option<Spanned<Values>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawThen {
    accept: Option<Spanned<bool>>,
    discard: Option<Spanned<bool>>,
    rate_limit: Option<Spanned<toml::Value>>,
    rate_limit_packets: Option<Spanned<toml::Value>>,
    redirect: Option<Spanned<String>>,
    redirect_to_nexthop: Option<Spanned<bool>>,
    copy_to_nexthop: Option<Spanned<bool>>,
    next_hop: Option<Spanned<String>>,
    redirect_to_nexthop_ietf: Option<Spanned<String>>,
    mark: Option<Spanned<i64>>,
    action: Option<Spanned<String>>,
    // The issue's example writes `community`, ExaBGP's word; `[[route]]`
    // writes `communities`. Both are taken.
    #[serde(alias = "communities")]
    community: Option<Spanned<Values>>,
    #[serde(alias = "extended-communities")]
    extended_community: Option<Spanned<Values>>,
    #[serde(alias = "large-communities")]
    large_community: Option<Spanned<Values>>,
}

/// A string, an integer, or a list of them (`protocol = "=udp"`,
/// `port = 53`, `port = ["=80", ">=8000&<=8080"]`); integers stand for
/// their decimal text, which the operator syntax reads as `=N`.
enum Values {
    One(String),
    Many(Vec<Spanned<Value>>),
}

/// One item of [`Values`].
struct Value(String);

struct ValueVisitor;

impl serde::de::Visitor<'_> for ValueVisitor {
    type Value = String;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string or an integer")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor).map(Value)
    }
}

impl<'de> Deserialize<'de> for Values {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Values, D::Error> {
        struct Visitor;

        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Values;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string, an integer or a list of them")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Values, E> {
                Ok(Values::One(v.to_string()))
            }

            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Values, E> {
                Ok(Values::One(v.to_string()))
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Values, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Spanned<Value>>()? {
                    items.push(item);
                }
                Ok(Values::Many(items))
            }
        }

        d.deserialize_any(Visitor)
    }
}

/// The items of a [`Values`], each with its position.
fn items(v: &Spanned<Values>) -> Vec<Spanned<String>> {
    match v.get_ref() {
        Values::One(s) => vec![Spanned::new(v.span(), s.clone())],
        Values::Many(items) => items
            .iter()
            .map(|i| Spanned::new(i.span(), i.get_ref().0.clone()))
            .collect(),
    }
}

/// The name of a flow table in messages: `flow NAME` (or `flow`), under
/// the neighbor's name if it has one.
fn context(parent: &str, table: &DeTable<'_>) -> String {
    let name = table
        .get("name")
        .and_then(|v| v.get_ref().as_str())
        .map(str::trim)
        .filter(|n| !n.is_empty());
    let own = match name {
        Some(n) => format!("flow {n}"),
        None => "flow".to_string(),
    };
    if parent.is_empty() {
        own
    } else {
        format!("{parent}: {own}")
    }
}

/// Deserialize the sub-table `key` (`match`, `then`) of a flow.
fn sub_table<T: serde::de::DeserializeOwned>(
    r: &mut Report<'_>,
    ctx: &str,
    key: &str,
    key_span: &Range<usize>,
    value: Spanned<DeValue<'_>>,
) -> Option<T> {
    let span = value.span();
    match value.into_inner() {
        DeValue::Table(t) => r.deserialize(Spanned::new(span, t), &format!("{ctx}: {key}")),
        _ => {
            let example = if key == "match" {
                "match = { destination = \"10.0.0.0/24\" }"
            } else {
                "then = { discard = true }"
            };
            r.error(
                key_span,
                ctx,
                format!("{key} must be a table, such as {example}"),
            );
            None
        }
    }
}

/// A prefix as `[[flow]]` writes it: `10.0.0.0/24`, `2001:db8::/32`, or
/// `::1234:0:0/96/64` (an IPv6 pattern and the offset it starts at, RFC
/// 8956 §3.1, in ExaBGP's spelling).
fn flow_prefix(
    r: &mut Report<'_>,
    ctx: &str,
    key: &str,
    v: &Spanned<String>,
) -> Option<(FlowPrefix, IpNet)> {
    let text = v.get_ref().trim();
    let mut fail = |m: String| {
        r.error(&v.span(), ctx, format!("match {key} {m}"));
        None
    };
    let (net_text, offset) = match text.matches('/').count() {
        0 => {
            let one = if text.contains(':') { 128 } else { 32 };
            return match text.parse::<IpAddr>() {
                Ok(_) => fail(format!(
                    "{text} has no length (write {text}/{one} for one address)"
                )),
                Err(_) => fail(format!("{text:?} is not an IPv4 or IPv6 prefix")),
            };
        }
        1 => (text, 0u8),
        2 => {
            let Some((net, off)) = text.rsplit_once('/') else {
                return fail(format!("{text:?} is not an IPv4 or IPv6 prefix"));
            };
            match off.parse::<u8>() {
                Ok(o) => (net, o),
                Err(_) => {
                    return fail(format!(
                        "{text:?}: the offset {off:?} is not a number of bits"
                    ))
                }
            }
        }
        _ => return fail(format!("{text:?} is not an IPv4 or IPv6 prefix")),
    };
    let Ok(net) = net_text.parse::<IpNet>() else {
        return fail(format!("{text:?} is not an IPv4 or IPv6 prefix"));
    };
    if net.trunc() != net {
        return fail(format!(
            "{net} has host bits set (the network is {})",
            net.trunc()
        ));
    }
    if offset > 0 {
        if net.addr().is_ipv4() {
            return fail(format!(
                "{text}: IPv4 prefixes have no offset (offsets are IPv6's, RFC 8956 §3.1)"
            ));
        }
        if offset > net.prefix_len() {
            return fail(format!(
                "{text}: the offset {offset} is past the length {}",
                net.prefix_len()
            ));
        }
    }
    let p = FlowPrefix::new(net, offset);
    if p.prefix != net {
        return fail(format!(
            "{text}: the bits before the offset are set, and they are never sent (RFC 8956 §3.1); write {p}"
        ));
    }
    Some((p, net))
}

/// An example of the values of a component, for messages.
fn example(kind: ComponentType) -> &'static str {
    match kind {
        ComponentType::IpProtocol => "=udp, =6 or !=tcp",
        ComponentType::IcmpType => "=echo-request or =8",
        ComponentType::IcmpCode => "=0 or <=3",
        ComponentType::TcpFlags => "syn, =syn+ack or !rst",
        ComponentType::Fragment => "is-fragment or !dont-fragment",
        ComponentType::Dscp => "=46 or >=40&<=47",
        ComponentType::FlowLabel => "=2013",
        _ => "=53 or >=1024&<=2048",
    }
}

/// The operators and values of one numeric or bitmask component.
fn component(
    r: &mut Report<'_>,
    ctx: &str,
    key: &str,
    kind: ComponentType,
    v: &Spanned<Values>,
) -> Option<Component> {
    let list = items(v);
    if list.is_empty() {
        r.error(
            &v.span(),
            ctx,
            format!("match {key} is empty (leave the key out to match any {key})"),
        );
        return None;
    }
    let max = max_value(kind);
    let mut numeric = Vec::new();
    let mut bitmask = Vec::new();
    let mut ok = true;
    for item in &list {
        let text = item.get_ref().trim();
        let parsed = if kind.is_bitmask() {
            parse_bitmask(kind, text).map(|ops| {
                let big = ops.iter().map(|o| o.value).find(|v| *v > max);
                bitmask.extend(ops);
                big
            })
        } else {
            parse_numeric(kind, text).map(|ops| {
                let big = ops.iter().map(|o| o.value).find(|v| *v > max);
                numeric.extend(ops);
                big
            })
        };
        let message = match parsed {
            Ok(None) => continue,
            Ok(Some(value)) | Err(FlowspecError::ValueTooLarge { value, .. }) => {
                let why = if kind == ComponentType::Dscp {
                    ": a DSCP is 6 bits, RFC 2474"
                } else {
                    ""
                };
                format!("match {key} {text:?}: {value} is out of range (0 to {max}{why})")
            }
            Err(FlowspecError::Parse { reason, .. }) => format!(
                "match {key} {text:?} is not valid: {reason} (write values such as {})",
                example(kind)
            ),
            Err(e) => format!("match {key} {text:?}: {e}"),
        };
        r.error(&item.span(), ctx, message);
        ok = false;
    }
    if !ok {
        return None;
    }
    Some(if kind.is_bitmask() {
        Component::Bitmask { kind, ops: bitmask }
    } else {
        Component::Numeric { kind, ops: numeric }
    })
}

/// A rate in units per second: a number, 0 or more, that fits the
/// 4-octet IEEE float of the community (RFC 8955 §7).
fn rate(r: &mut Report<'_>, ctx: &str, key: &str, v: &Spanned<toml::Value>) -> Option<f32> {
    let n = match v.get_ref() {
        toml::Value::Integer(i) => Some(*i as f64),
        toml::Value::Float(f) => Some(*f),
        _ => None,
    };
    let unit = if key == "rate-limit" {
        "bytes"
    } else {
        "packets"
    };
    match n {
        Some(n) if n >= 0.0 && n.is_finite() && (n as f32).is_finite() => Some(n as f32),
        Some(_) => {
            r.error(
                &v.span(),
                ctx,
                format!(
                    "then {key} {} is out of range (0 or more {unit} per second)",
                    match v.get_ref() {
                        toml::Value::Integer(i) => i.to_string(),
                        // Debug keeps the exponent: 1e300, not 300 digits.
                        other => format!("{:?}", other.as_float().unwrap_or(f64::NAN)),
                    }
                ),
            );
            None
        }
        None => {
            r.error(
                &v.span(),
                ctx,
                format!(
                    "then {key} must be a number of {unit} per second, not {}",
                    v.get_ref().type_str()
                ),
            );
            None
        }
    }
}

/// `true`, or a problem: a flag cannot be switched off, only left out.
fn flag(r: &mut Report<'_>, ctx: &str, key: &str, v: &Spanned<bool>) -> bool {
    if !*v.get_ref() {
        r.error(
            &v.span(),
            ctx,
            format!("then {key} = false is not allowed (leave the key out)"),
        );
    }
    *v.get_ref()
}

/// The components of `match`, in their keys' order, with the key that
/// gave each.
fn numeric_keys(m: &RawMatch) -> [(&'static str, ComponentType, Option<&Spanned<Values>>); 13] {
    [
        ("protocol", ComponentType::IpProtocol, m.protocol.as_ref()),
        (
            "next-header",
            ComponentType::IpProtocol,
            m.next_header.as_ref(),
        ),
        ("port", ComponentType::Port, m.port.as_ref()),
        (
            "destination-port",
            ComponentType::DestinationPort,
            m.destination_port.as_ref(),
        ),
        (
            "source-port",
            ComponentType::SourcePort,
            m.source_port.as_ref(),
        ),
        ("icmp-type", ComponentType::IcmpType, m.icmp_type.as_ref()),
        ("icmp-code", ComponentType::IcmpCode, m.icmp_code.as_ref()),
        ("tcp-flags", ComponentType::TcpFlags, m.tcp_flags.as_ref()),
        (
            "packet-length",
            ComponentType::PacketLength,
            m.packet_length.as_ref(),
        ),
        ("dscp", ComponentType::Dscp, m.dscp.as_ref()),
        (
            "traffic-class",
            ComponentType::Dscp,
            m.traffic_class.as_ref(),
        ),
        ("fragment", ComponentType::Fragment, m.fragment.as_ref()),
        (
            "flow-label",
            ComponentType::FlowLabel,
            m.flow_label.as_ref(),
        ),
    ]
}

fn version(afi: Afi) -> u8 {
    if afi == Afi::IPV6 {
        6
    } else {
        4
    }
}

/// Read one flow table; `parent` names the neighbor it is under, if any.
pub(super) fn read(
    r: &mut Report<'_>,
    parent: &str,
    mut table: Spanned<DeTable<'_>>,
) -> Option<FlowConfig> {
    let ctx = context(parent, table.get_ref());
    let ctx = ctx.as_str();
    let span = table.span();
    let line = r.line(span.start);
    let match_entry = table.get_mut().remove_entry("match");
    let then_entry = table.get_mut().remove_entry("then");
    let raw = r.deserialize::<RawFlow>(table, ctx);
    let (matching, match_span) = match match_entry {
        Some((k, v)) => {
            let s = v.span();
            (sub_table::<RawMatch>(r, ctx, "match", &k.span(), v), s)
        }
        None => {
            r.error(
                &span,
                ctx,
                "match is required: a flow rule matches at least one component (RFC 8955 §4.2)",
            );
            (None, span.clone())
        }
    };
    let then = match then_entry {
        Some((k, v)) => sub_table::<RawThen>(r, ctx, "then", &k.span(), v),
        // No actions: matching traffic is accepted (RFC 8955 §7).
        None => Some(RawThen::default()),
    };
    let raw = raw?;
    let m = matching?;
    let t = then?;
    let mut ok = true;

    // The family: from `family`, checked against the prefixes.
    let family = match &raw.family {
        None => None,
        Some(v) => {
            let text = v.get_ref().trim();
            match text.parse::<Family>() {
                Ok(f)
                    if matches!(f.safi, Safi::FLOWSPEC | Safi::FLOWSPEC_VPN)
                        && matches!(f.afi, Afi::IPV4 | Afi::IPV6) =>
                {
                    Some((f, v.span()))
                }
                _ => {
                    r.error(
                        &v.span(),
                        ctx,
                        format!("family {text:?} is not a Flowspec family (ipv4-flowspec, ipv6-flowspec, ipv4-flowspec-vpn or ipv6-flowspec-vpn)"),
                    );
                    ok = false;
                    None
                }
            }
        }
    };
    let rd = match &raw.rd {
        None => None,
        Some(v) => match v.get_ref().trim().parse::<RouteDistinguisher>() {
            Ok(rd) => Some((rd, v.span())),
            Err(_) => {
                r.error(
                    &v.span(),
                    ctx,
                    format!(
                        "rd {:?} is not a route distinguisher (such as 65000:1, 4200000000:1 or 192.0.2.1:1)",
                        v.get_ref()
                    ),
                );
                ok = false;
                None
            }
        },
    };
    match (&family, &rd) {
        (Some((f, _)), Some((_, at))) if f.safi != Safi::FLOWSPEC_VPN => {
            r.error(
                at,
                ctx,
                format!("rd is for the Flowspec VPN families (ipv4-flowspec-vpn, ipv6-flowspec-vpn, RFC 8955 §8), and family is {f}"),
            );
            ok = false;
        }
        (Some((f, at)), None) if f.safi == Safi::FLOWSPEC_VPN && raw.rd.is_none() => {
            r.error(
                at,
                ctx,
                format!("family {f} needs rd, the route distinguisher (RFC 8955 §8)"),
            );
            ok = false;
        }
        _ => {}
    }

    // The prefixes, which say the family unless `family` does.
    let mut components: Vec<(Component, &'static str, Range<usize>)> = Vec::new();
    let mut rule_afi: Option<(Afi, String)> = family
        .as_ref()
        .map(|(f, _)| (f.afi, format!("family is {f}")));
    for (key, kind, value) in [
        (
            "destination",
            ComponentType::DestinationPrefix,
            &m.destination,
        ),
        ("source", ComponentType::SourcePrefix, &m.source),
    ] {
        let Some(v) = value else { continue };
        let Some((p, net)) = flow_prefix(r, ctx, key, v) else {
            ok = false;
            continue;
        };
        let afi = if net.addr().is_ipv4() {
            Afi::IPV4
        } else {
            Afi::IPV6
        };
        match &rule_afi {
            Some((a, why)) if *a != afi => {
                r.error(
                    &v.span(),
                    ctx,
                    format!(
                        "match {key} {net} is IPv{} and {why} (IPv{}): a rule is of one family",
                        version(afi),
                        version(*a)
                    ),
                );
                ok = false;
                continue;
            }
            Some(_) => {}
            None => rule_afi = Some((afi, format!("{key} {net}"))),
        }
        let c = if kind == ComponentType::DestinationPrefix {
            Component::DestinationPrefix(p)
        } else {
            Component::SourcePrefix(p)
        };
        components.push((c, key, v.span()));
    }
    let keys = numeric_keys(&m);
    // With no prefix and no `family`, the IPv6 names say IPv6, as in
    // ExaBGP; otherwise the rule is IPv4.
    let (afi, why) = rule_afi.unwrap_or_else(|| {
        let v6 = keys
            .iter()
            .find(|(k, _, v)| {
                v.is_some() && matches!(*k, "next-header" | "traffic-class" | "flow-label")
            })
            .map(|(k, _, _)| *k);
        match v6 {
            Some(k) => (Afi::IPV6, format!("{k} is IPv6's")),
            None => (Afi::IPV4, "with no prefix or family it is IPv4".to_string()),
        }
    });
    for (key, kind, value) in keys {
        let Some(v) = value else { continue };
        if let Some((_, first, _)) = components.iter().find(|(c, _, _)| c.kind() == kind) {
            r.error(
                &v.span(),
                ctx,
                format!("match {key} and {first} are the same component, {kind}: give it once"),
            );
            ok = false;
            continue;
        }
        if !kind.exists_in(afi) {
            r.error(
                &v.span(),
                ctx,
                format!(
                    "match {key}: the rule is IPv{} ({why}), and IPv4 Flowspec has no flow label (RFC 8956 §3.7 defines it for IPv6)",
                    version(afi)
                ),
            );
            ok = false;
            continue;
        }
        match component(r, ctx, key, kind, v) {
            Some(c) => components.push((c, key, v.span())),
            None => ok = false,
        }
    }
    if components.is_empty() && ok {
        r.error(
            &match_span,
            ctx,
            "match is empty: a flow rule matches at least one component (RFC 8955 §4.2)",
        );
        ok = false;
    }

    // The actions, each with where it was written.
    let mut actions: Vec<(FlowAction, Range<usize>)> = Vec::new();
    let mut attributes = PathAttributes::default();
    if let Some(v) = &t.accept {
        ok &= flag(r, ctx, "accept", v);
        if let Some(d) = t.discard.as_ref().filter(|d| *d.get_ref()) {
            r.error(
                &d.span(),
                ctx,
                "then accept and discard cannot both be given",
            );
            ok = false;
        }
    }
    if let Some(v) = &t.discard {
        if flag(r, ctx, "discard", v) {
            actions.push((FlowAction::Discard, v.span()));
        } else {
            ok = false;
        }
    }
    if let Some(v) = &t.rate_limit {
        match rate(r, ctx, "rate-limit", v) {
            Some(x) => actions.push((FlowAction::RateLimit(x), v.span())),
            None => ok = false,
        }
    }
    if let Some(v) = &t.rate_limit_packets {
        match rate(r, ctx, "rate-limit-packets", v) {
            Some(x) => actions.push((FlowAction::RateLimitPackets(x), v.span())),
            None => ok = false,
        }
    }
    if let Some(v) = &t.redirect {
        let text = v.get_ref().trim();
        match text.parse::<RouteTarget>() {
            Ok(rt) => actions.push((FlowAction::Redirect(rt), v.span())),
            Err(_) => {
                let m = if text.parse::<IpAddr>().is_ok() {
                    format!("then redirect {text} is an address, and redirect takes a route target (such as 65000:1); to send the traffic to an address, use redirect-to-nexthop with next-hop, or redirect-to-nexthop-ietf")
                } else {
                    format!("then redirect {text:?} is not a route target (such as 65000:1, 4200000000:1 or 192.0.2.1:1)")
                };
                r.error(&v.span(), ctx, m);
                ok = false;
            }
        }
    }
    let next_hop = match &t.next_hop {
        None => None,
        Some(v) => match v.get_ref().trim().parse::<IpAddr>() {
            Ok(a) if a.is_unspecified() || a.is_multicast() => {
                r.error(
                    &v.span(),
                    ctx,
                    format!("then next-hop {a} is not a unicast address"),
                );
                ok = false;
                None
            }
            Ok(IpAddr::V6(a)) if afi == Afi::IPV4 => {
                r.error(
                    &v.span(),
                    ctx,
                    format!("then next-hop {a} is IPv6, and an IPv4 rule needs an IPv4 next-hop (extended next hop, RFC 8950, is not configurable yet)"),
                );
                ok = false;
                None
            }
            Ok(a) => Some((a, v.span())),
            Err(_) => {
                r.error(
                    &v.span(),
                    ctx,
                    format!("then next-hop {:?} is not an IP address", v.get_ref()),
                );
                ok = false;
                None
            }
        },
    };
    let mut uses_next_hop = false;
    for (key, copy, value) in [
        ("redirect-to-nexthop", false, &t.redirect_to_nexthop),
        ("copy-to-nexthop", true, &t.copy_to_nexthop),
    ] {
        let Some(v) = value else { continue };
        if !flag(r, ctx, key, v) {
            ok = false;
            continue;
        }
        uses_next_hop = true;
        match (&next_hop, &t.next_hop) {
            (Some((a, _)), _) => actions.push((
                if copy {
                    FlowAction::CopyToNextHop(*a)
                } else {
                    FlowAction::RedirectToNextHop(*a)
                },
                v.span(),
            )),
            // Already reported.
            (None, Some(_)) => ok = false,
            (None, None) => {
                r.error(
                    &v.span(),
                    ctx,
                    format!("then {key} needs next-hop, the address the traffic goes to"),
                );
                ok = false;
            }
        }
    }
    if let Some(v) = &t.redirect_to_nexthop_ietf {
        match v.get_ref().trim().parse::<IpAddr>() {
            Ok(a) => actions.push((FlowAction::RedirectToIp(a), v.span())),
            Err(_) => {
                r.error(
                    &v.span(),
                    ctx,
                    format!(
                        "then redirect-to-nexthop-ietf {:?} is not an IP address",
                        v.get_ref()
                    ),
                );
                ok = false;
            }
        }
    }
    if let Some(v) = &t.mark {
        match u8::try_from(*v.get_ref()).ok().filter(|d| *d < 64) {
            Some(d) => actions.push((FlowAction::Mark(d), v.span())),
            None => {
                r.error(
                    &v.span(),
                    ctx,
                    format!(
                        "then mark {} is out of range (0 to 63: a DSCP is 6 bits, RFC 2474)",
                        v.get_ref()
                    ),
                );
                ok = false;
            }
        }
    }
    if let Some(v) = &t.action {
        let (sample, terminal) = match v.get_ref().trim() {
            "sample" => (true, false),
            "terminal" => (false, true),
            "sample-terminal" | "terminal-sample" => (true, true),
            other => {
                r.error(
                    &v.span(),
                    ctx,
                    format!("then action {other:?} is not sample, terminal or sample-terminal"),
                );
                ok = false;
                (false, false)
            }
        };
        if sample || terminal {
            actions.push((FlowAction::TrafficAction { sample, terminal }, v.span()));
        }
    }
    if let Some(v) = &t.community {
        for item in items(v) {
            match item.get_ref().trim().parse::<Community>() {
                Ok(c) if !attributes.communities.contains(&c) => attributes.communities.push(c),
                Ok(_) => {}
                Err(_) => {
                    r.error(
                        &item.span(),
                        ctx,
                        format!(
                            "then community {:?} is not a community (such as 65000:100 or no-export)",
                            item.get_ref()
                        ),
                    );
                    ok = false;
                }
            }
        }
    }
    if let Some(v) = &t.extended_community {
        for item in items(v) {
            let Ok(c) = item.get_ref().trim().parse::<ExtendedCommunity>() else {
                r.error(
                    &item.span(),
                    ctx,
                    format!(
                        "then extended-community {:?} is not an extended community (such as target:65000:100 or rate-limit:9600)",
                        item.get_ref()
                    ),
                );
                ok = false;
                continue;
            };
            // A Flowspec action written as a community is that action, so
            // that two of one kind are caught below.
            match FlowAction::from_extended(c, next_hop.as_ref().map(|(a, _)| *a)) {
                Some(a) => {
                    if matches!(
                        a,
                        FlowAction::RedirectToNextHop(_) | FlowAction::CopyToNextHop(_)
                    ) {
                        uses_next_hop = true;
                    }
                    actions.push((a, item.span()));
                }
                None if matches!(c.kind(), ExtendedKind::RedirectToNextHop { .. }) => {
                    r.error(
                        &item.span(),
                        ctx,
                        format!("then extended-community {c} needs next-hop, the address the traffic goes to"),
                    );
                    ok = false;
                }
                None if !attributes.extended_communities.contains(&c) => {
                    attributes.extended_communities.push(c);
                }
                None => {}
            }
        }
    }
    if let Some(v) = &t.large_community {
        for item in items(v) {
            match item.get_ref().trim().parse::<LargeCommunity>() {
                Ok(c) if !attributes.large_communities.contains(&c) => {
                    attributes.large_communities.push(c)
                }
                Ok(_) => {}
                Err(_) => {
                    r.error(
                        &item.span(),
                        ctx,
                        format!(
                            "then large-community {:?} is not a large community (such as 65000:1:2)",
                            item.get_ref()
                        ),
                    );
                    ok = false;
                }
            }
        }
    }
    if let (Some((_, at)), false) = (&next_hop, uses_next_hop) {
        r.error(
            at,
            ctx,
            "then next-hop is only for redirect-to-nexthop and copy-to-nexthop (a Flowspec rule has no next hop otherwise)",
        );
        ok = false;
    }
    // Two actions of one kind (two traffic rates, two markings, ...),
    // RFC 8955 §7: reported where the second is written. The same action
    // twice (a community and its key) is sent once.
    let mut kept: Vec<(FlowAction, Range<usize>)> = Vec::new();
    for (a, at) in actions {
        if kept.iter().any(|(k, _)| *k == a) {
            continue;
        }
        if let Some((first, _)) = kept.iter().find(|(k, _)| k.slot().0 == a.slot().0) {
            r.error(
                &at,
                ctx,
                format!("then {first} and {a} cannot both be given: {}", a.slot().1),
            );
            ok = false;
            continue;
        }
        kept.push((a, at));
    }

    if !ok {
        return None;
    }
    let safi = if rd.is_some() {
        Safi::FLOWSPEC_VPN
    } else {
        Safi::FLOWSPEC
    };
    let nlri = FlowspecNlri {
        path_id: None,
        rd: rd.map(|(rd, _)| rd),
        components: components.into_iter().map(|(c, _, _)| c).collect(),
    };
    let actions = kept.into_iter().map(|(a, _)| a).collect();
    match FlowRule::new(Family::new(afi, safi), nlri, actions, attributes) {
        Ok(rule) => Some(FlowConfig {
            rule,
            name: raw.name.map(|n| n.into_inner().trim().to_string()),
            line,
        }),
        Err(e) => {
            // What the checks above leave: a rule too long for one NLRI.
            r.error(&span, ctx, e);
            None
        }
    }
}

/// The same rule (family and NLRI) twice in one list of flows.
pub(super) fn duplicates(r: &mut Report<'_>, ctx: &str, flows: &[FlowConfig]) {
    for (i, f) in flows.iter().enumerate() {
        let same = flows[..i]
            .iter()
            .find(|o| o.family() == f.family() && o.rule.nlri() == f.rule.nlri());
        if let Some(first) = same {
            r.error_at_line(
                f.line,
                ctx,
                format!(
                    "flow {} is given twice (first at line {})",
                    f.rule.text().trim_start_matches("flow "),
                    first.line
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Config;
    use super::*;
    use crate::route::Op;
    use ribbit_wire::FamilySet;

    const HEAD: &str = "[global]\nasn = 65000\nrouter-id = \"192.0.2.1\"\nlisten = []\n";

    fn parse(body: &str) -> Config {
        let text = format!("{HEAD}{body}");
        Config::parse(&text, "t.toml").unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    /// The problems, one string per line, without the file name.
    fn problems(body: &str) -> Vec<String> {
        let text = format!("{HEAD}{body}");
        match Config::parse(&text, "t.toml") {
            Ok(c) => panic!("loaded: {c:?}"),
            Err(e) => e
                .problems()
                .iter()
                .map(|p| format!("{}: {}", p.line, p.message))
                .collect(),
        }
    }

    /// One flow with `line` as its only table line, and its one problem.
    fn problem(line: &str) -> String {
        let p = problems(&format!("[[flow]]\n{line}\n"));
        assert_eq!(p.len(), 1, "{p:?}");
        p[0].clone()
    }

    fn ext(rule: &FlowRule) -> Vec<String> {
        rule.attributes()
            .extended_communities
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn the_issue_example_as_written() {
        let c = parse(
            r#"
[[flow]]
match = { destination = "10.0.0.0/24", protocol = ["=udp"], source-port = ["=53"] }
then = { discard = true, community = ["100:100"] }
"#,
        );
        let f = &c.flows[0];
        assert_eq!(f.line, 6);
        assert_eq!(f.family(), Family::IPV4_FLOWSPEC);
        assert_eq!(
            f.rule.text(),
            "flow destination-ipv4 10.0.0.0/24 protocol =udp source-port =53"
        );
        assert_eq!(f.rule.actions(), vec![FlowAction::Discard]);
        let a = f.announcement();
        assert_eq!(a.attributes.communities, vec![Community::new(100, 100)]);
        assert_eq!(ext(&f.rule), vec!["rate-limit:0"]);
        // The builders make the same rule.
        let built = crate::route::Flow::matching()
            .destination("10.0.0.0/24".parse().unwrap())
            .protocol(Op::eq(17))
            .source_port(Op::eq(53))
            .then()
            .discard()
            .community("100:100".parse().unwrap())
            .build()
            .unwrap();
        assert_eq!(f.rule, built);
    }

    #[test]
    fn every_match_key() {
        let c = parse(
            r#"
[[flow]]
name = "v4"
match.destination = "10.0.0.0/24"
match.source = "192.0.2.0/24"
match.protocol = ["=tcp", "=udp"]
match.port = 80
match.destination-port = [">=1024&<=2048", "=8080"]
match.source-port = "!=0"
match.icmp-type = "=echo-request"
match.icmp-code = [0, 1]
match.tcp-flags = "=syn&!ack"
match.packet-length = "<=1500"
match.dscp = "=46"
match.fragment = ["is-fragment", "!dont-fragment"]

[[flow]]
name = "v6"
match.destination = "2001:db8::/32"
match.source = "0:0:1234::/64/32"
match.next-header = "=udp"
match.traffic-class = 10
match.flow-label = "=2013"
"#,
        );
        assert_eq!(c.flows[0].name.as_deref(), Some("v4"));
        assert_eq!(
            c.flows[0].rule.text(),
            "flow destination-ipv4 10.0.0.0/24 source-ipv4 192.0.2.0/24 protocol [ =tcp =udp ] port =80 destination-port [ >=1024&<=2048 =8080 ] source-port !=0 icmp-type =echo-request icmp-code [ =0 =1 ] tcp-flags [ =syn&!ack ] packet-length <=1500 dscp =46 fragment [ is-fragment !dont-fragment ]"
        );
        assert_eq!(c.flows[1].family(), Family::IPV6_FLOWSPEC);
        assert_eq!(
            c.flows[1].rule.text(),
            "flow destination-ipv6 2001:db8::/32/0 source-ipv6 0:0:1234::/64/32 next-header =udp traffic-class =10 flow-label =2013"
        );
    }

    #[test]
    fn the_family() {
        let c = parse(
            r#"
[[flow]]
match = { port = 80 }

[[flow]]
family = "ipv6-flowspec"
match = { port = 80 }

[[flow]]
match = { flow-label = 1 }

[[flow]]
match = { next-header = "=tcp" }

[[flow]]
family = "ipv4-flowspec-vpn"
rd = "65000:1"
match = { destination = "10.0.0.0/8" }

[[flow]]
rd = "192.0.2.1:7"
match = { destination = "2001:db8::/32" }
"#,
        );
        let families: Vec<String> = c.flows.iter().map(|f| f.family().to_string()).collect();
        assert_eq!(
            families,
            [
                "ipv4-flowspec",
                "ipv6-flowspec",
                "ipv6-flowspec",
                "ipv6-flowspec",
                "ipv4-flowspec-vpn",
                "ipv6-flowspec-vpn"
            ]
        );
        assert_eq!(
            c.flows[4].rule.text(),
            "flow destination-ipv4 10.0.0.0/8 rd 65000:1"
        );
    }

    #[test]
    fn every_then_key() {
        let c = parse(
            r#"
[[flow]]
match = { destination = "10.0.0.0/24" }
then = { accept = true, community = "1:1", extended-community = ["target:65000:1"], large-community = ["65000:1:2"] }

[[flow]]
match = { destination = "10.0.0.1/32" }
then = { rate-limit = 9600, redirect = "65000:7", mark = 10, action = "sample-terminal" }

[[flow]]
match = { destination = "10.0.0.2/32" }
then = { rate-limit-packets = 1.5, redirect-to-nexthop = true, next-hop = "198.18.0.1", redirect-to-nexthop-ietf = "192.0.2.9" }

[[flow]]
match = { destination = "10.0.0.3/32" }
then = { copy-to-nexthop = true, next-hop = "198.18.0.2", action = "terminal" }

[[flow]]
match = { destination = "2001:db8::/32" }
then = { redirect-to-nexthop = true, next-hop = "2001:db8::1", action = "sample", communities = ["2:2"], extended-communities = "origin:65000:1", large-communities = "1:2:3" }

[[flow]]
match = { destination = "10.0.0.4/32" }
then = { extended-community = ["rate-limit:100", "redirect:65000:1", "action terminal", "mark 3"] }
"#,
        );
        let f = &c.flows;
        assert!(f[0].rule.actions().is_empty());
        assert_eq!(f[0].rule.attributes().communities[0].to_string(), "1:1");
        assert_eq!(ext(&f[0].rule), ["target:65000:1"]);
        assert_eq!(
            f[0].rule.attributes().large_communities[0].to_string(),
            "65000:1:2"
        );
        assert_eq!(
            ext(&f[1].rule),
            [
                "rate-limit:9600",
                "redirect:65000:7",
                "mark 10",
                "action sample-terminal"
            ]
        );
        assert_eq!(
            ext(&f[2].rule),
            [
                "rate-limit:1.5:packets",
                "redirect-to-nexthop",
                "redirect-to-nexthop-ietf 192.0.2.9"
            ]
        );
        assert_eq!(f[2].announcement().next_hop.to_string(), "198.18.0.1");
        assert_eq!(ext(&f[3].rule), ["copy-to-nexthop", "action terminal"]);
        assert_eq!(f[3].rule.next_hop(), Some("198.18.0.2".parse().unwrap()));
        assert_eq!(
            ext(&f[4].rule),
            ["origin:65000:1", "redirect-to-nexthop", "action sample"]
        );
        assert_eq!(f[4].announcement().next_hop.to_string(), "2001:db8::1");
        assert_eq!(f[4].rule.attributes().communities[0].to_string(), "2:2");
        assert_eq!(
            f[4].rule.attributes().large_communities[0].to_string(),
            "1:2:3"
        );
        assert_eq!(
            f[5].rule.actions(),
            vec![
                FlowAction::RateLimit(100.0),
                FlowAction::Redirect("65000:1".parse().unwrap()),
                FlowAction::TrafficAction {
                    sample: false,
                    terminal: true
                },
                FlowAction::Mark(3)
            ]
        );
    }

    #[test]
    fn match_problems() {
        let cases = [
            (
                r#"match = { destination = "10.0.0.1/24" }"#,
                "6: flow: match destination 10.0.0.1/24 has host bits set (the network is 10.0.0.0/24)",
            ),
            (
                r#"match = { destination = "10.0.0.1" }"#,
                "6: flow: match destination 10.0.0.1 has no length (write 10.0.0.1/32 for one address)",
            ),
            (
                r#"match = { source = "2001:db8::1" }"#,
                "6: flow: match source 2001:db8::1 has no length (write 2001:db8::1/128 for one address)",
            ),
            (
                r#"match = { destination = "ten" }"#,
                "6: flow: match destination \"ten\" is not an IPv4 or IPv6 prefix",
            ),
            (
                r#"match = { destination = "10.0.0.0/8/4" }"#,
                "6: flow: match destination 10.0.0.0/8/4: IPv4 prefixes have no offset (offsets are IPv6's, RFC 8956 §3.1)",
            ),
            (
                r#"match = { destination = "::/8/9" }"#,
                "6: flow: match destination ::/8/9: the offset 9 is past the length 8",
            ),
            (
                r#"match = { destination = "2001:db8::/32/16" }"#,
                "6: flow: match destination 2001:db8::/32/16: the bits before the offset are set, and they are never sent (RFC 8956 §3.1); write 0:db8::/32/16",
            ),
            (
                r#"match = { destination = "::/8/x" }"#,
                "6: flow: match destination \"::/8/x\": the offset \"x\" is not a number of bits",
            ),
            (
                r#"match = { destination = "10.0.0.0/8", source = "2001:db8::/32" }"#,
                "6: flow: match source 2001:db8::/32 is IPv6 and destination 10.0.0.0/8 (IPv4): a rule is of one family",
            ),
            (
                "family = \"ipv6-flowspec\"\nmatch = { destination = \"10.0.0.0/8\" }",
                "7: flow: match destination 10.0.0.0/8 is IPv4 and family is ipv6-flowspec (IPv6): a rule is of one family",
            ),
            (
                r#"match = { source-port = ["=>53"] }"#,
                "6: flow: match source-port \"=>53\" is not valid: not a number or a known name (write values such as =53 or >=1024&<=2048)",
            ),
            (
                r#"match = { protocol = "=udpp" }"#,
                "6: flow: match protocol \"=udpp\" is not valid: not a number or a known name (write values such as =udp, =6 or !=tcp)",
            ),
            (
                r#"match = { port = ">" }"#,
                "6: flow: match port \">\" is not valid: operator without a value (write values such as =53 or >=1024&<=2048)",
            ),
            (
                r#"match = { port = "=1&" }"#,
                "6: flow: match port \"=1&\" is not valid: empty term (write values such as =53 or >=1024&<=2048)",
            ),
            (
                r#"match = { tcp-flags = "sin" }"#,
                "6: flow: match tcp-flags \"sin\" is not valid: not a number or a known flag (write values such as syn, =syn+ack or !rst)",
            ),
            (
                r#"match = { protocol = "=300" }"#,
                "6: flow: match protocol \"=300\": 300 is out of range (0 to 255)",
            ),
            (
                r#"match = { destination-port = 70000 }"#,
                "6: flow: match destination-port \"70000\": 70000 is out of range (0 to 65535)",
            ),
            (
                r#"match = { dscp = "=64" }"#,
                "6: flow: match dscp \"=64\": 64 is out of range (0 to 63: a DSCP is 6 bits, RFC 2474)",
            ),
            (
                r#"match = { fragment = "0x10" }"#,
                "6: flow: match fragment \"0x10\": 16 is out of range (0 to 15)",
            ),
            (
                r#"match = { flow-label = "=1048576" }"#,
                "6: flow: match flow-label \"=1048576\": 1048576 is out of range (0 to 1048575)",
            ),
            (
                r#"match = { destination = "10.0.0.0/8", flow-label = 1 }"#,
                "6: flow: match flow-label: the rule is IPv4 (destination 10.0.0.0/8), and IPv4 Flowspec has no flow label (RFC 8956 §3.7 defines it for IPv6)",
            ),
            (
                r#"match = { protocol = "=tcp", next-header = "=udp" }"#,
                "6: flow: match next-header and protocol are the same component, type 3 (ip-protocol): give it once",
            ),
            (
                r#"match = { port = [] }"#,
                "6: flow: match port is empty (leave the key out to match any port)",
            ),
            (r#"match = {}"#, "6: flow: match is empty: a flow rule matches at least one component (RFC 8955 §4.2)"),
            (
                r#"match = { ports = 80 }"#,
                "6: flow: match: unknown key ports (did you mean port?)",
            ),
            (
                r#"match = { port = true }"#,
                "6: flow: match: port must be a string, an integer or a list of them, not boolean `true`",
            ),
            (
                r#"match = "10.0.0.0/8""#,
                "6: flow: match must be a table, such as match = { destination = \"10.0.0.0/24\" }",
            ),
            (
                r#"then = { discard = true }"#,
                "5: flow: match is required: a flow rule matches at least one component (RFC 8955 §4.2)",
            ),
        ];
        for (line, expected) in cases {
            assert_eq!(problem(line), expected, "{line}");
        }
    }

    #[test]
    fn family_problems() {
        let m = "match = { port = 80 }";
        for (lines, expected) in [
            (
                "family = \"ipv4-unicast\"",
                "6: flow: family \"ipv4-unicast\" is not a Flowspec family (ipv4-flowspec, ipv6-flowspec, ipv4-flowspec-vpn or ipv6-flowspec-vpn)",
            ),
            (
                "family = \"ipv4-flowspec\"\nrd = \"65000:1\"",
                "7: flow: rd is for the Flowspec VPN families (ipv4-flowspec-vpn, ipv6-flowspec-vpn, RFC 8955 §8), and family is ipv4-flowspec",
            ),
            (
                "family = \"ipv6-flowspec-vpn\"",
                "6: flow: family ipv6-flowspec-vpn needs rd, the route distinguisher (RFC 8955 §8)",
            ),
            (
                "rd = \"x:1\"",
                "6: flow: rd \"x:1\" is not a route distinguisher (such as 65000:1, 4200000000:1 or 192.0.2.1:1)",
            ),
            ("colour = 1", "6: flow: unknown key colour (expected one of: name, family, rd, match, then)"),
        ] {
            assert_eq!(problem(&format!("{lines}\n{m}")), expected, "{lines}");
        }
    }

    #[test]
    fn then_problems() {
        let cases = [
            ("discard = false", "7: flow: then discard = false is not allowed (leave the key out)"),
            ("accept = false", "7: flow: then accept = false is not allowed (leave the key out)"),
            ("accept = true, discard = true", "7: flow: then accept and discard cannot both be given"),
            (
                "discard = true, rate-limit = 10",
                "7: flow: then discard and rate-limit 10 cannot both be given: a rule has one traffic rate (discard is a rate of 0)",
            ),
            (
                "rate-limit = 10, rate-limit-packets = 10",
                "7: flow: then rate-limit 10 and rate-limit 10 packets cannot both be given: a rule has one traffic rate (discard is a rate of 0)",
            ),
            (
                "mark = 1, extended-community = \"mark 2\"",
                "7: flow: then mark 1 and mark 2 cannot both be given: a rule marks with one DSCP",
            ),
            (
                "redirect = \"65000:1\", extended-community = \"redirect:65000:2\"",
                "7: flow: then redirect 65000:1 and redirect 65000:2 cannot both be given: a rule redirects to one route target",
            ),
            (
                "redirect-to-nexthop = true, copy-to-nexthop = true, next-hop = \"198.18.0.1\"",
                "7: flow: then redirect-to-nexthop 198.18.0.1 and copy-to-nexthop 198.18.0.1 cannot both be given: both use the rule's one next hop",
            ),
            ("rate-limit = -1", "7: flow: then rate-limit -1 is out of range (0 or more bytes per second)"),
            ("rate-limit = 1e300", "7: flow: then rate-limit 1e300 is out of range (0 or more bytes per second)"),
            (
                "rate-limit = \"fast\"",
                "7: flow: then rate-limit must be a number of bytes per second, not string",
            ),
            (
                "rate-limit-packets = -2.5",
                "7: flow: then rate-limit-packets -2.5 is out of range (0 or more packets per second)",
            ),
            (
                "redirect = \"192.0.2.1\"",
                "7: flow: then redirect 192.0.2.1 is an address, and redirect takes a route target (such as 65000:1); to send the traffic to an address, use redirect-to-nexthop with next-hop, or redirect-to-nexthop-ietf",
            ),
            (
                "redirect = \"65000\"",
                "7: flow: then redirect \"65000\" is not a route target (such as 65000:1, 4200000000:1 or 192.0.2.1:1)",
            ),
            (
                "redirect = \"4200000000:70000\"",
                "7: flow: then redirect \"4200000000:70000\" is not a route target (such as 65000:1, 4200000000:1 or 192.0.2.1:1)",
            ),
            (
                "redirect-to-nexthop = true",
                "7: flow: then redirect-to-nexthop needs next-hop, the address the traffic goes to",
            ),
            (
                "copy-to-nexthop = true",
                "7: flow: then copy-to-nexthop needs next-hop, the address the traffic goes to",
            ),
            (
                "extended-community = \"redirect-to-nexthop\"",
                "7: flow: then extended-community redirect-to-nexthop needs next-hop, the address the traffic goes to",
            ),
            (
                "next-hop = \"198.18.0.1\"",
                "7: flow: then next-hop is only for redirect-to-nexthop and copy-to-nexthop (a Flowspec rule has no next hop otherwise)",
            ),
            (
                "redirect-to-nexthop = true, next-hop = \"2001:db8::1\"",
                "7: flow: then next-hop 2001:db8::1 is IPv6, and an IPv4 rule needs an IPv4 next-hop (extended next hop, RFC 8950, is not configurable yet)",
            ),
            (
                "redirect-to-nexthop = true, next-hop = \"224.0.0.1\"",
                "7: flow: then next-hop 224.0.0.1 is not a unicast address",
            ),
            (
                "redirect-to-nexthop = true, next-hop = \"here\"",
                "7: flow: then next-hop \"here\" is not an IP address",
            ),
            (
                "redirect-to-nexthop-ietf = \"there\"",
                "7: flow: then redirect-to-nexthop-ietf \"there\" is not an IP address",
            ),
            ("mark = 64", "7: flow: then mark 64 is out of range (0 to 63: a DSCP is 6 bits, RFC 2474)"),
            ("mark = -1", "7: flow: then mark -1 is out of range (0 to 63: a DSCP is 6 bits, RFC 2474)"),
            ("action = \"log\"", "7: flow: then action \"log\" is not sample, terminal or sample-terminal"),
            (
                "community = [\"100:x\"]",
                "7: flow: then community \"100:x\" is not a community (such as 65000:100 or no-export)",
            ),
            (
                "extended-community = [\"tarjet:1:1\"]",
                "7: flow: then extended-community \"tarjet:1:1\" is not an extended community (such as target:65000:100 or rate-limit:9600)",
            ),
            (
                "large-community = [\"1:2\"]",
                "7: flow: then large-community \"1:2\" is not a large community (such as 65000:1:2)",
            ),
            ("dicard = true", "7: flow: then: unknown key dicard (did you mean discard?)"),
            ("discard = \"yes\"", "7: flow: then: discard must be true or false, not string \"yes\""),
        ];
        for (then, expected) in cases {
            let p = problems(&format!(
                "[[flow]]\nmatch = {{ port = 80 }}\nthen = {{ {then} }}\n"
            ));
            assert_eq!(p, [expected], "{then}");
        }
        assert_eq!(
            problem("match = { port = 80 }\nthen = 1"),
            "7: flow: then must be a table, such as then = { discard = true }"
        );
    }

    #[test]
    fn names_in_messages_and_every_problem_at_once() {
        let p = problems(
            r#"
[[flow]]
name = "dns"
match = { destination = "10.0.0.1/24", port = "=x" }
then = { mark = 99 }

[[neighbor]]
address = "127.0.0.2"
asn = 65001
families = ["ipv4-unicast"]

[[neighbor.flow]]
match = { port = 80 }
"#,
        );
        assert_eq!(
            p,
            [
                "8: flow dns: match destination 10.0.0.1/24 has host bits set (the network is 10.0.0.0/24)",
                "8: flow dns: match port \"=x\" is not valid: not a number or a known name (write values such as =53 or >=1024&<=2048)",
                "9: flow dns: then mark 99 is out of range (0 to 63: a DSCP is 6 bits, RFC 2474)",
                "16: neighbor 127.0.0.2: flow port =80 is ipv4-flowspec, which is not in this neighbor's families (ipv4-unicast)",
            ]
        );
    }

    #[test]
    fn duplicate_rules() {
        let p = problems(
            r#"
[[flow]]
match = { port = 80, destination = "10.0.0.0/8" }

[[flow]]
match = { destination = "10.0.0.0/8", port = "=80" }
then = { discard = true }

[[neighbor]]
address = "127.0.0.2"
asn = 65001
families = ["ipv6-flowspec"]

[[neighbor.flow]]
match = { flow-label = 1 }

[[neighbor.flow]]
match = { flow-label = "=1" }
"#,
        );
        assert_eq!(
            p,
            [
                "9: flow destination-ipv4 10.0.0.0/8 port =80 is given twice (first at line 6)",
                "21: neighbor 127.0.0.2: flow flow-label =1 is given twice (first at line 18)",
            ]
        );
    }

    #[test]
    fn every_key_is_documented() {
        let docs = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/config.md"),
        )
        .unwrap();
        assert!(docs.contains("## `[[flow]]` and `[[neighbor.flow]]`"));
        for key in [
            "match",
            "then",
            "family",
            "rd",
            "name",
            "destination",
            "source",
            "protocol",
            "port",
            "destination-port",
            "source-port",
            "icmp-type",
            "icmp-code",
            "tcp-flags",
            "packet-length",
            "dscp",
            "fragment",
            "flow-label",
            "accept",
            "discard",
            "rate-limit",
            "rate-limit-packets",
            "redirect",
            "redirect-to-nexthop",
            "copy-to-nexthop",
            "next-hop",
            "redirect-to-nexthop-ietf",
            "mark",
            "action",
            "community",
            "extended-community",
            "large-community",
        ] {
            assert!(docs.contains(&format!("| `{key}` |")), "{key}");
        }
        for ipv6_name in ["next-header", "traffic-class"] {
            assert!(docs.contains(&format!("| `{ipv6_name}` |")), "{ipv6_name}");
        }
    }

    #[test]
    fn flows_for_a_neighbor() {
        let c = parse(
            r#"
[[flow]]
match = { destination = "10.0.0.0/8" }
then = { discard = true }

[[flow]]
match = { destination = "2001:db8::/32" }

[[flow]]
match = { destination = "10.1.0.0/16" }

[[neighbor]]
address = "127.0.0.2"
asn = 65001
families = ["ipv4-unicast", "ipv4-flowspec", "ipv6-flowspec"]

[[neighbor.flow]]
match = { destination = "10.0.0.0/8" }
then = { rate-limit = 100 }

[[neighbor.flow]]
match = { port = 1 }
"#,
        );
        let n = &c.neighbors[0];
        assert_eq!(n.flows.len(), 2);
        let texts = |set: FamilySet| -> Vec<String> {
            c.flows_for(n, set)
                .iter()
                .map(|f| f.rule.to_string())
                .collect()
        };
        // The neighbor's own rule replaces the global one with the same
        // match; the others follow the negotiated families.
        assert_eq!(
            texts(n.family_set()),
            [
                "flow destination-ipv6 2001:db8::/32/0",
                "flow destination-ipv4 10.1.0.0/16",
                "flow destination-ipv4 10.0.0.0/8 then rate-limit 100",
                "flow port =1",
            ]
        );
        let mut v4 = FamilySet::EMPTY;
        v4.insert(Family::IPV4_FLOWSPEC);
        assert_eq!(texts(v4).len(), 3);
        assert!(texts(FamilySet::EMPTY).is_empty());
    }
}
