//! The rules that decide whether a path may be sent to a neighbor and what
//! it looks like when it is (before the neighbor's export policy, which
//! runs after them so that it can override what they set).
//!
//! They depend only on the attribute set, on where the path came from and
//! on the neighbor, never on the prefix. [`plan`] decides from a few facts
//! of the set; the plan is then applied either to the decoded attributes
//! ([`apply`], when a policy needs them) or straight to the wire form
//! ([`apply_wire`], the common case: no decoding, no re-encoding), and
//! both give the same bytes (a property test checks it).

use std::net::{Ipv4Addr, Ipv6Addr};

use ribbit_wire::attribute::{flags, type_code, write_attribute};
use ribbit_wire::capability::Role;
use ribbit_wire::{EncodeContext, NextHop};

use crate::intern::{community_bit, Facts};
use crate::rib::{PeerConfig, SessionInfo};
use crate::route::RouteAttrs;

/// LOCAL_PREF given to paths sent over iBGP without one (the usual default).
pub(crate) const DEFAULT_LOCAL_PREF: u32 = 100;

/// Where a path came from, as far as the export rules care.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Source {
    /// Locally originated.
    pub local: bool,
    /// Learned over eBGP (route server clients included).
    pub ebgp: bool,
    /// Learned from a route reflector client.
    pub rr_client: bool,
    /// The BGP identifier of the neighbor it came from (ORIGINATOR_ID when
    /// reflected, RFC 4456 §8).
    pub router_id: Ipv4Addr,
}

/// Everything the export rules read of the neighbor a path is sent to,
/// copied out of its configuration and session: neighbors equal in it get
/// the same result for the same path, so a round of passes over several
/// neighbors computes it once for them all (`crate::rib::ExportMemo`).
/// The rules take nothing else of the neighbor, which keeps that true.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Target {
    /// A route server client (RFC 7947).
    pub route_server_client: bool,
    /// A route reflector client (RFC 4456).
    pub route_reflector_client: bool,
    /// Our BGP role on the session (RFC 9234), as configured for it.
    pub role: Option<Role>,
    /// Our AS on the session.
    pub local_as: u32,
    /// eBGP: the next hop is passed on unchanged.
    pub next_hop_unchanged: bool,
    /// eBGP: MED is passed on.
    pub send_med: bool,
    /// iBGP: our address as next hop.
    pub next_hop_self: bool,
    /// Whether the session is eBGP.
    pub ebgp: bool,
    /// Our cluster identifier (RFC 4456 §7).
    pub cluster_id: Ipv4Addr,
    /// It negotiated long-lived graceful restart (RFC 9494).
    pub llgr: bool,
    /// Our IPv4 address on the session, for next-hop self.
    pub local_v4: Option<Ipv4Addr>,
    /// Our IPv6 address on the session, for next-hop self.
    pub local_v6: Option<Ipv6Addr>,
    /// The neighbor's own address is IPv6 (which of ours `next-hop self`
    /// gives an injected route when both are known).
    pub ipv6_neighbor: bool,
    /// How what it is sent is encoded.
    pub encode: EncodeContext,
    /// It has an export policy: the rules' result is also decoded for it.
    pub typed: bool,
}

impl Target {
    /// The neighbor with configuration `config`, on `session`.
    pub fn new(
        config: &PeerConfig,
        session: &SessionInfo,
        ebgp: bool,
        cluster_id: Ipv4Addr,
    ) -> Target {
        Target {
            route_server_client: config.route_server_client,
            route_reflector_client: config.route_reflector_client,
            role: config.role,
            local_as: config.local_as,
            next_hop_unchanged: config.next_hop_unchanged,
            send_med: config.send_med,
            next_hop_self: config.next_hop_self,
            ebgp,
            cluster_id,
            llgr: session.llgr,
            local_v4: session.local_v4,
            local_v6: session.local_v6,
            ipv6_neighbor: config.address.is_ipv6(),
            encode: session.encode,
            typed: !config.export.is_pass_through(),
        }
    }
}

/// What the rules do to a path sent to one neighbor.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub(crate) struct Plan {
    /// Attribute type codes removed (bit n: type n, for n < 64).
    strip: u64,
    /// Our AS put in front of the AS_PATH.
    prepend: Option<u32>,
    /// LOCAL_PREF added when absent.
    local_pref: Option<u32>,
    /// ORIGINATOR_ID added when absent.
    originator_id: Option<Ipv4Addr>,
    /// Put in front of the CLUSTER_LIST.
    cluster_id: Option<Ipv4Addr>,
    /// OTC added when absent.
    otc: Option<u32>,
    /// The next hop replaced by ours.
    next_hop_self: bool,
}

fn bit(code: u8) -> u64 {
    1u64.checked_shl(u32::from(code)).unwrap_or(0)
}

/// Decide whether a path with these `facts` may be sent, and how it
/// changes: the well-known communities (RFC 1997, RFC 9494), iBGP split
/// horizon and route reflection (RFC 4271 §9.2, RFC 4456 §8), route leak
/// prevention (RFC 9234 §5), and the attribute rules of eBGP (RFC 4271
/// §5.1), iBGP and route servers (RFC 7947 §2.2).
pub(crate) fn plan(src: &Source, t: &Target, facts: &Facts) -> Option<Plan> {
    // NO_ADVERTISE: to nobody. NO_EXPORT and NO_EXPORT_SUBCONFED: not over
    // eBGP (without confederations both stop at the AS border). Route
    // server clients are external peers: RFC 7947 §2.2 keeps the route
    // server out of the AS path, not out of the AS boundary, and operators
    // expect NO_EXPORT to stay within the neighbor that set it.
    if facts.has(community_bit::NO_ADVERTISE) {
        return None;
    }
    if t.ebgp
        && (facts.has(community_bit::NO_EXPORT) || facts.has(community_bit::NO_EXPORT_SUBCONFED))
    {
        return None;
    }
    // iBGP-learned to iBGP: only as a route reflector. From a client to
    // everyone; from a non-client to clients only.
    if !src.local && !src.ebgp && !t.ebgp && !src.rr_client && !t.route_reflector_client {
        return None;
    }
    // Long-lived stale paths only to neighbors that negotiated LLGR
    // (RFC 9494 §4.5).
    if !t.llgr && facts.has(community_bit::LLGR_STALE) {
        return None;
    }
    // RFC 9234 §5 egress 2: a path with OTC is not sent to a provider, a
    // peer or a route server (our role customer, peer, RS client).
    if facts.otc.is_some()
        && matches!(
            t.role,
            Some(Role::Customer | Role::Peer | Role::RouteServerClient)
        )
    {
        return None;
    }
    let mut p = Plan::default();
    // RFC 9234 §5 egress 1: to a customer, a peer or an RS client (our
    // role provider, peer, route server), OTC with our AS when absent.
    if matches!(
        t.role,
        Some(Role::Provider | Role::Peer | Role::RouteServer)
    ) {
        p.otc = Some(t.local_as);
    }
    // Only meaningful inside an AS: LOCAL_PREF (RFC 4271 §5.1.5),
    // ORIGINATOR_ID and CLUSTER_LIST (RFC 4456 §8).
    let internal =
        bit(type_code::LOCAL_PREF) | bit(type_code::ORIGINATOR_ID) | bit(type_code::CLUSTER_LIST);
    if t.route_server_client {
        // RFC 7947 §2.2: transparent. No AS of ours, next hop and MED as
        // they are.
        p.strip = internal;
    } else if t.ebgp {
        p.strip = internal;
        // RFC 4271 §5.1.2: our AS in front.
        p.prepend = Some(t.local_as);
        // RFC 4271 §5.1.3: ourselves as next hop, unless configured not to.
        p.next_hop_self = !t.next_hop_unchanged;
        // RFC 4271 §5.1.4: a MED received from a neighboring AS is not
        // passed on to another. Our own routes keep the MED they were
        // given, and `send_med` passes every MED on.
        if !t.send_med && !src.local {
            p.strip |= bit(type_code::MED);
        }
    } else {
        // iBGP: LOCAL_PREF is always sent (RFC 4271 §5.1.5).
        p.local_pref = Some(DEFAULT_LOCAL_PREF);
        p.next_hop_self = t.next_hop_self;
        // RFC 4456 §8: reflecting an iBGP-learned path, record its
        // originator (unless already there) and our cluster.
        if !src.local && !src.ebgp {
            p.originator_id = Some(src.router_id);
            p.cluster_id = Some(t.cluster_id);
        }
    }
    Some(p)
}

/// What routes injected for a neighbor get ([`crate::Rib::inject`]): the
/// defaults ExaBGP applies to what a program announces (and Ribbit to the
/// static routes of its configuration), nothing else. On eBGP our AS in
/// front (RFC 4271 §5.1.2) and no LOCAL_PREF (§5.1.5); on iBGP LOCAL_PREF
/// 100 when absent (§5.1.5: it is always sent inside the AS). No community
/// rule, no next hop change, MED kept: the route goes as it was given.
pub(crate) fn injection_plan(t: &Target) -> Plan {
    if t.ebgp {
        Plan {
            strip: bit(type_code::LOCAL_PREF),
            prepend: Some(t.local_as),
            ..Plan::default()
        }
    } else {
        Plan {
            local_pref: Some(DEFAULT_LOCAL_PREF),
            ..Plan::default()
        }
    }
}

/// Our address on the session for a next hop of the same family; `None`
/// when the runtime does not know one (the next hop is then left as is).
fn next_hop_self(current: NextHop, t: &Target) -> Option<NextHop> {
    match current {
        NextHop::Empty => None,
        NextHop::V4(_) => t.local_v4.map(NextHop::V4),
        NextHop::V6 { .. } => t.local_v6.map(|global| NextHop::V6 {
            global,
            link_local: None,
        }),
    }
}

/// The next hop sent under `plan`.
pub(crate) fn next_hop(plan: &Plan, current: NextHop, t: &Target) -> NextHop {
    if plan.next_hop_self {
        next_hop_self(current, t).unwrap_or(current)
    } else {
        current
    }
}

/// Apply a plan to decoded attributes.
pub(crate) fn apply(plan: &Plan, attrs: &mut RouteAttrs, t: &Target) {
    attrs.next_hop = next_hop(plan, attrs.next_hop, t);
    let a = &mut attrs.attributes;
    let strip = |code: u8| plan.strip & bit(code) != 0;
    if strip(type_code::MED) {
        a.med = None;
    }
    if strip(type_code::LOCAL_PREF) {
        a.local_pref = None;
    }
    if strip(type_code::ORIGINATOR_ID) {
        a.originator_id = None;
    }
    if strip(type_code::CLUSTER_LIST) {
        a.cluster_list.clear();
    }
    if let Some(asn) = plan.prepend {
        let mut path = a.as_path.take().unwrap_or_default();
        path.prepend(asn, 1);
        a.as_path = Some(path);
    }
    if a.local_pref.is_none() {
        a.local_pref = plan.local_pref;
    }
    if a.originator_id.is_none() {
        a.originator_id = plan.originator_id;
    }
    if let Some(c) = plan.cluster_id {
        a.cluster_list.insert(0, c);
    }
    if a.otc.is_none() {
        a.otc = plan.otc;
    }
}

/// Apply a plan to attributes in wire form (4-octet AS numbers, as
/// [`ribbit_wire::EncodedAttributes`] writes them), writing the result to
/// `out`: attributes copied, removed, added or rewritten in type order,
/// exactly as encoding the result of [`apply`] would.
pub(crate) fn apply_wire(plan: &Plan, bytes: &[u8], out: &mut Vec<u8>) {
    out.clear();
    // Attributes added when absent, in type order.
    let mut present = [0u64; 4];
    for (_, code, _) in attributes(bytes) {
        if let Some(w) = present.get_mut(usize::from(code >> 6)) {
            *w |= bit(code & 63);
        }
    }
    let has = |code: u8| {
        present
            .get(usize::from(code >> 6))
            .is_some_and(|w| w & bit(code & 63) != 0)
    };
    let strip = |code: u8| plan.strip & bit(code) != 0;
    let mut adds: Vec<(u8, u8, Vec<u8>)> = Vec::new();
    if let Some(asn) = plan.prepend.filter(|_| !has(type_code::AS_PATH)) {
        let mut v = vec![2, 1];
        v.extend_from_slice(&asn.to_be_bytes());
        adds.push((flags::TRANSITIVE, type_code::AS_PATH, v));
    }
    let absent = |code: u8| !has(code) || strip(code);
    if let Some(lp) = plan.local_pref.filter(|_| absent(type_code::LOCAL_PREF)) {
        adds.push((
            flags::TRANSITIVE,
            type_code::LOCAL_PREF,
            lp.to_be_bytes().to_vec(),
        ));
    }
    if let Some(id) = plan
        .originator_id
        .filter(|_| absent(type_code::ORIGINATOR_ID))
    {
        adds.push((
            flags::OPTIONAL,
            type_code::ORIGINATOR_ID,
            id.octets().to_vec(),
        ));
    }
    if let Some(c) = plan.cluster_id.filter(|_| absent(type_code::CLUSTER_LIST)) {
        adds.push((
            flags::OPTIONAL,
            type_code::CLUSTER_LIST,
            c.octets().to_vec(),
        ));
    }
    if let Some(otc) = plan.otc.filter(|_| !has(type_code::OTC)) {
        adds.push((
            flags::OPTIONAL | flags::TRANSITIVE,
            type_code::OTC,
            otc.to_be_bytes().to_vec(),
        ));
    }
    let mut adds = adds.into_iter().peekable();
    for (fl, code, v) in attributes(bytes) {
        while let Some((f, c, v)) = adds.next_if(|a| a.1 < code) {
            write_attribute(f, c, &v, out);
        }
        if strip(code) {
            continue;
        }
        match code {
            // Written in pieces straight into `out` (one set exported per
            // attribute set and neighbor: no buffer of its own).
            type_code::AS_PATH if plan.prepend.is_some() => {
                let asn = plan.prepend.unwrap_or_default().to_be_bytes();
                match v {
                    // A first AS_SEQUENCE with room takes it.
                    [2, n, rest @ ..] if *n < 255 => {
                        write_header(fl, code, v.len() + 4, out);
                        out.extend_from_slice(&[2, n + 1]);
                        out.extend_from_slice(&asn);
                        out.extend_from_slice(rest);
                    }
                    _ => {
                        write_header(fl, code, v.len() + 6, out);
                        out.extend_from_slice(&[2, 1]);
                        out.extend_from_slice(&asn);
                        out.extend_from_slice(v);
                    }
                }
            }
            type_code::CLUSTER_LIST if plan.cluster_id.is_some() => {
                write_header(fl, code, v.len() + 4, out);
                out.extend_from_slice(&plan.cluster_id.unwrap_or(Ipv4Addr::UNSPECIFIED).octets());
                out.extend_from_slice(v);
            }
            _ => write_attribute(fl, code, v, out),
        }
    }
    for (f, c, v) in adds {
        write_attribute(f, c, &v, out);
    }
}

/// An attribute's header for a value of `len` bytes, as `write_attribute`
/// writes it (extended length exactly when the value needs it).
fn write_header(fl: u8, code: u8, len: usize, out: &mut Vec<u8>) {
    match u8::try_from(len) {
        Ok(l) => out.extend_from_slice(&[fl & !flags::EXTENDED_LENGTH, code, l]),
        Err(_) => {
            let [hi, lo] = u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes();
            out.extend_from_slice(&[fl | flags::EXTENDED_LENGTH, code, hi, lo]);
        }
    }
}

/// The attributes of a wire form: (flags, type code, value).
fn attributes(mut bytes: &[u8]) -> impl Iterator<Item = (u8, u8, &[u8])> {
    std::iter::from_fn(move || {
        let [fl, code, rest @ ..] = bytes else {
            return None;
        };
        let (len, rest) = if fl & flags::EXTENDED_LENGTH != 0 {
            match rest {
                [a, b, tail @ ..] => (usize::from(u16::from_be_bytes([*a, *b])), tail),
                _ => return None,
            }
        } else {
            match rest {
                [a, tail @ ..] => (usize::from(*a), tail),
                _ => return None,
            }
        };
        let (value, next) = (rest.get(..len)?, rest.get(len..)?);
        bytes = next;
        Some((*fl, *code, value))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intern::Interner;
    use proptest::prelude::*;
    use ribbit_wire::attribute::{AsPath, Community, Origin, Segment, SegmentType};
    use ribbit_wire::EncodeContext;
    use ribbit_wire::PathAttributes;
    use std::net::IpAddr;

    /// The facts [`plan`] reads, from decoded attributes.
    fn facts_of(a: &PathAttributes) -> Facts {
        let mut communities = 0;
        for (c, b) in [
            (Community::NO_EXPORT, community_bit::NO_EXPORT),
            (Community::NO_ADVERTISE, community_bit::NO_ADVERTISE),
            (
                Community::NO_EXPORT_SUBCONFED,
                community_bit::NO_EXPORT_SUBCONFED,
            ),
            (Community::LLGR_STALE, community_bit::LLGR_STALE),
            (Community::NO_LLGR, community_bit::NO_LLGR),
            (Community::BLACKHOLE, community_bit::BLACKHOLE),
        ] {
            if a.communities.contains(&c) {
                communities |= b;
            }
        }
        Facts {
            otc: a.otc,
            communities,
            ..Facts::default()
        }
    }

    fn session() -> SessionInfo {
        SessionInfo {
            router_id: Ipv4Addr::new(10, 0, 0, 9),
            families: Vec::new(),
            encode: EncodeContext::default(),
            local_v4: Some(Ipv4Addr::new(192, 0, 2, 254)),
            local_v6: None,
            llgr: true,
            graceful_restart: None,
        }
    }

    prop_compose! {
        fn attrs()(
            path in proptest::option::of(proptest::collection::vec((1u8..=2, proptest::collection::vec(1u32..100, 1..4)), 0..3)),
            long_first in any::<bool>(),
            med in proptest::option::of(0u32..10),
            lp in proptest::option::of(0u32..10),
            originator in proptest::option::of(1u32..5),
            clusters in proptest::collection::vec(1u32..5, 0..3),
            otc in proptest::option::of(1u32..5),
            communities in proptest::collection::vec(0u32..3, 0..3),
        ) -> PathAttributes {
            let mut segments: Vec<Segment> = path.unwrap_or_default().into_iter().map(|(k, asns)| Segment {
                kind: if k == 1 { SegmentType::Set } else { SegmentType::Sequence },
                asns,
            }).collect();
            if long_first {
                segments.insert(0, Segment { kind: SegmentType::Sequence, asns: vec![7; 255] });
            }
            PathAttributes {
                origin: Some(Origin::Igp),
                as_path: (!segments.is_empty() || med.is_some()).then_some(AsPath { segments }),
                med,
                local_pref: lp,
                originator_id: originator.map(Ipv4Addr::from),
                cluster_list: clusters.into_iter().map(Ipv4Addr::from).collect(),
                otc,
                communities: communities.into_iter().map(|c| Community::new(65000, c as u16)).collect(),
                ..PathAttributes::default()
            }
        }
    }

    proptest! {
        /// The plan applied to the wire form gives the bytes of the plan
        /// applied to the decoded attributes.
        #[test]
        fn wire_and_decoded_agree(
            a in attrs(),
            local in any::<bool>(),
            src_ebgp in any::<bool>(),
            rr_client in any::<bool>(),
            t_ebgp in any::<bool>(),
            rs in any::<bool>(),
            nhs in any::<bool>(),
            send_med in any::<bool>(),
            role in proptest::option::of(0u8..5),
        ) {
            let mut cfg = PeerConfig::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), if t_ebgp { 65001 } else { 65000 }, 65000);
            cfg.route_server_client = rs;
            cfg.route_reflector_client = rr_client;
            cfg.next_hop_self = nhs;
            cfg.next_hop_unchanged = nhs;
            cfg.send_med = send_med;
            cfg.role = role.map(Role::from_code);
            let s = session();
            let t = Target::new(&cfg, &s, t_ebgp, Ipv4Addr::new(10, 255, 0, 1));
            let src = Source { local, ebgp: src_ebgp, rr_client, router_id: Ipv4Addr::new(10, 0, 1, 1) };
            let mut typed = RouteAttrs { next_hop: NextHop::V4(Ipv4Addr::new(192, 0, 2, 7)), attributes: a };
            let mut interner = Interner::new();
            let set = interner.intern(&typed);
            prop_assert_eq!(plan(&src, &t, &set.facts()), plan(&src, &t, &facts_of(&typed.attributes)));
            let Some(p) = plan(&src, &t, &set.facts()) else { return Ok(()) };
            apply(&p, &mut typed, &t);
            let mut wire = Vec::new();
            apply_wire(&p, set.attribute_bytes(), &mut wire);
            let want = ribbit_wire::EncodedAttributes::new(&typed.attributes, true);
            prop_assert_eq!(&wire[..], want.as_bytes());
            prop_assert_eq!(next_hop(&p, set.next_hop(), &t), typed.next_hop);
        }
    }
}
