//! Property tests: encode then decode gives back the same message, for every
//! message type and every family, under every session context.

use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use proptest::collection::vec;
use proptest::prelude::*;

use ribbit_wire::attribute::{
    Aggregator, AsPath, Community, ExtendedCommunity, Ipv6ExtendedCommunity, LargeCommunity,
    Origin, PathAttributes, RawAttribute, Segment, SegmentType,
};
use ribbit_wire::capability::{AddPathMode, Capability, GracefulRestartFamily, Role};
use ribbit_wire::nlri::flowspec::{BitmaskOp, Component, ComponentType, FlowPrefix, NumericOp};
use ribbit_wire::nlri::{
    FlowspecNlri, Label, LabeledNlri, NlriList, PrefixNlri, RouteDistinguisher, VpnNlri,
};
use ribbit_wire::route_refresh::{RefreshSubtype, RouteRefresh};
use ribbit_wire::{
    Afi, DecodeContext, EncodeContext, Family, FamilySet, Message, MpNlri, MpReach, MpUnreach,
    NextHop, Notification, Open, Update,
};

fn v4_prefix() -> impl Strategy<Value = IpNet> {
    (any::<u32>(), 0u8..=32)
        .prop_map(|(a, l)| IpNet::V4(Ipv4Net::new(Ipv4Addr::from(a), l).unwrap().trunc()))
}

fn v6_prefix() -> impl Strategy<Value = IpNet> {
    (any::<u128>(), 0u8..=128)
        .prop_map(|(a, l)| IpNet::V6(Ipv6Net::new(Ipv6Addr::from(a), l).unwrap().trunc()))
}

fn prefix(afi: Afi) -> BoxedStrategy<IpNet> {
    if afi == Afi::IPV6 {
        v6_prefix().boxed()
    } else {
        v4_prefix().boxed()
    }
}

fn path_id(add_path: bool) -> BoxedStrategy<Option<u32>> {
    if add_path {
        any::<u32>().prop_map(Some).boxed()
    } else {
        Just(None).boxed()
    }
}

/// A label stack with the bottom-of-stack bit on the last entry only.
fn labels() -> impl Strategy<Value = Vec<Label>> {
    vec((0u32..(1 << 19), 0u32..8), 1..3).prop_map(|v| {
        let n = v.len();
        v.into_iter()
            .enumerate()
            .map(|(i, (value, tc))| Label((value << 4) | (tc << 1) | u32::from(i + 1 == n)))
            .collect()
    })
}

fn rd() -> impl Strategy<Value = RouteDistinguisher> {
    any::<[u8; 8]>().prop_map(RouteDistinguisher::from_bytes)
}

fn numeric_ops(max: u64) -> impl Strategy<Value = Vec<NumericOp>> {
    vec(
        (
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            0..=max,
        ),
        1..4,
    )
    .prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(i, (and, lt, gt, eq, value))| NumericOp {
                and: and && i > 0,
                lt,
                gt,
                eq,
                value,
            })
            .collect()
    })
}

fn bitmask_ops(max: u64) -> impl Strategy<Value = Vec<BitmaskOp>> {
    vec((any::<bool>(), any::<bool>(), any::<bool>(), 0..=max), 1..4).prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(i, (and, not, matches, value))| BitmaskOp {
                and: and && i > 0,
                not,
                matches,
                value,
            })
            .collect()
    })
}

fn flow_prefix(afi: Afi) -> BoxedStrategy<FlowPrefix> {
    if afi == Afi::IPV6 {
        (v6_prefix(), any::<u8>())
            .prop_map(|(p, o)| FlowPrefix::new(p, o % (p.prefix_len().saturating_add(1))))
            .boxed()
    } else {
        v4_prefix().prop_map(|p| FlowPrefix::new(p, 0)).boxed()
    }
}

/// A valid rule: a random subset of the component types, in type order.
fn flow_rule(afi: Afi) -> impl Strategy<Value = Vec<Component>> {
    let types: Vec<u8> = (1..=13).filter(|t| afi == Afi::IPV6 || *t != 13).collect();
    let n = types.len();
    (
        proptest::sample::subsequence(types, 1..=n),
        flow_prefix(afi),
        flow_prefix(afi),
        numeric_ops(u64::from(u16::MAX)),
        bitmask_ops(0xff),
    )
        .prop_map(move |(picked, dst, src, num, bits)| {
            picked
                .into_iter()
                .map(|code| {
                    let kind = ComponentType::from_code(code).unwrap();
                    match code {
                        1 => Component::DestinationPrefix(dst),
                        2 => Component::SourcePrefix(src),
                        9 | 12 => Component::Bitmask {
                            kind,
                            ops: bits
                                .iter()
                                .map(|o| BitmaskOp {
                                    value: o.value.min(kind.max_value()),
                                    ..*o
                                })
                                .collect(),
                        },
                        _ => Component::Numeric {
                            kind,
                            ops: num
                                .iter()
                                .map(|o| NumericOp {
                                    value: o.value.min(kind.max_value()),
                                    ..*o
                                })
                                .collect(),
                        },
                    }
                })
                .collect()
        })
}

fn nlri_list(family: Family, add_path: bool) -> BoxedStrategy<NlriList> {
    let afi = family.afi;
    let vpn_flow = family.safi == ribbit_wire::Safi::FLOWSPEC_VPN;
    match family.nlri_kind().unwrap() {
        ribbit_wire::family::NlriKind::Prefix => vec((path_id(add_path), prefix(afi)), 0..20)
            .prop_map(|v| {
                NlriList::Prefixes(
                    v.into_iter()
                        .map(|(path_id, prefix)| PrefixNlri { path_id, prefix })
                        .collect(),
                )
            })
            .boxed(),
        ribbit_wire::family::NlriKind::Labeled => {
            vec((path_id(add_path), labels(), prefix(afi)), 0..10)
                .prop_filter("fits the length byte", |v| {
                    v.iter()
                        .all(|(_, l, p)| l.len() * 24 + usize::from(p.prefix_len()) <= 255)
                })
                .prop_map(|v| {
                    NlriList::Labeled(
                        v.into_iter()
                            .map(|(path_id, labels, prefix)| LabeledNlri {
                                path_id,
                                labels,
                                prefix,
                            })
                            .collect(),
                    )
                })
                .boxed()
        }
        ribbit_wire::family::NlriKind::Vpn => {
            vec((path_id(add_path), labels(), rd(), prefix(afi)), 0..10)
                .prop_filter("fits the length byte", |v| {
                    v.iter()
                        .all(|(_, l, _, p)| l.len() * 24 + 64 + usize::from(p.prefix_len()) <= 255)
                })
                .prop_map(|v| {
                    NlriList::Vpn(
                        v.into_iter()
                            .map(|(path_id, labels, rd, prefix)| VpnNlri {
                                path_id,
                                labels,
                                rd,
                                prefix,
                            })
                            .collect(),
                    )
                })
                .boxed()
        }
        _ => vec((path_id(add_path), rd(), flow_rule(afi)), 0..4)
            .prop_map(move |v| {
                NlriList::Flowspec(
                    v.into_iter()
                        .map(|(path_id, rd, components)| FlowspecNlri {
                            path_id,
                            rd: vpn_flow.then_some(rd),
                            components,
                        })
                        .collect(),
                )
            })
            .boxed(),
    }
}

fn as_path(four_octet: bool) -> impl Strategy<Value = AsPath> {
    let kinds = prop_oneof![
        Just(SegmentType::Sequence),
        Just(SegmentType::Set),
        Just(SegmentType::ConfedSequence),
        Just(SegmentType::ConfedSet)
    ];
    vec((kinds, vec(any::<u32>(), 1..8)), 0..4).prop_map(move |mut segs| {
        // Confederation segments lead the path, as RFC 5065 §5.1 builds it.
        segs.sort_by_key(|(kind, _)| !kind.is_confed());
        AsPath {
            segments: segs
                .into_iter()
                .map(|(kind, mut asns)| {
                    // RFC 6793 cannot carry confederation members over 65535 to
                    // a 2-octet speaker: AS4_PATH has no confederation segments.
                    if !four_octet && kind.is_confed() {
                        asns.iter_mut().for_each(|a| *a &= 0xffff);
                    }
                    Segment { kind, asns }
                })
                .collect(),
        }
    })
}

prop_compose! {
    fn attributes(four_octet: bool)(
        origin in prop_oneof![Just(Origin::Igp), Just(Origin::Egp), Just(Origin::Incomplete)],
        path in as_path(four_octet),
        next_hop in any::<u32>(),
        med in proptest::option::of(any::<u32>()),
        local_pref in proptest::option::of(any::<u32>()),
        atomic_aggregate in any::<bool>(),
        aggregator in proptest::option::of((any::<u32>(), any::<u32>())),
        communities in vec(any::<u32>(), 0..5),
        originator_id in proptest::option::of(any::<u32>()),
        cluster_list in vec(any::<u32>(), 0..3),
        ext in vec(any::<[u8; 8]>(), 0..4),
        ext6 in vec(any::<[u8; 20]>(), 0..2),
        aigp in proptest::option::of(any::<u64>()),
        large in vec((any::<u32>(), any::<u32>(), any::<u32>()), 0..3),
        otc in proptest::option::of(any::<u32>()),
        unknown in vec((prop_oneof![Just(0xC0u8), Just(0x80), Just(0xE0)], prop_oneof![100u8..=120, 200u8..=250], vec(any::<u8>(), 0..300)), 0..2),
    ) -> PathAttributes {
        let mut unknown: Vec<RawAttribute> = unknown.into_iter().map(|(flags, type_code, value)| RawAttribute { flags, type_code, value }).collect();
        unknown.sort_by_key(|u| u.type_code);
        unknown.dedup_by_key(|u| u.type_code);
        PathAttributes {
            origin: Some(origin),
            as_path: Some(path),
            next_hop: Some(Ipv4Addr::from(next_hop)),
            med,
            local_pref,
            atomic_aggregate,
            aggregator: aggregator.map(|(asn, a)| Aggregator { asn, address: Ipv4Addr::from(a) }),
            communities: communities.into_iter().map(Community).collect(),
            originator_id: originator_id.map(Ipv4Addr::from),
            cluster_list: cluster_list.into_iter().map(Ipv4Addr::from).collect(),
            extended_communities: ext.into_iter().map(ExtendedCommunity).collect(),
            ipv6_extended_communities: ext6.into_iter().map(Ipv6ExtendedCommunity).collect(),
            aigp,
            large_communities: large.into_iter().map(|(global, local1, local2)| LargeCommunity { global, local1, local2 }).collect(),
            otc,
            unknown,
        }
    }
}

fn next_hop(family: Family) -> BoxedStrategy<NextHop> {
    use ribbit_wire::family::NlriKind;
    match family.nlri_kind().unwrap() {
        NlriKind::Flowspec | NlriKind::FlowspecVpn => prop_oneof![
            Just(NextHop::Empty),
            any::<u32>().prop_map(|a| NextHop::V4(Ipv4Addr::from(a)))
        ]
        .boxed(),
        _ if family.afi == Afi::IPV6 => (any::<u128>(), proptest::option::of(any::<u128>()))
            .prop_map(|(g, l)| NextHop::V6 {
                global: Ipv6Addr::from(g),
                link_local: l.map(Ipv6Addr::from),
            })
            .boxed(),
        // IPv4 NLRI may also have an IPv6 next hop (RFC 8950).
        _ => prop_oneof![
            any::<u32>().prop_map(|a| NextHop::V4(Ipv4Addr::from(a))),
            any::<u128>().prop_map(|g| NextHop::V6 {
                global: Ipv6Addr::from(g),
                link_local: None
            })
        ]
        .boxed(),
    }
}

fn context() -> impl Strategy<Value = EncodeContext> {
    (any::<bool>(), any::<u16>()).prop_map(|(four_octet_as, bits)| EncodeContext {
        four_octet_as,
        add_path: Family::known()
            .enumerate()
            .filter(|(i, _)| bits & (1 << i) != 0)
            .map(|(_, f)| f)
            .collect::<FamilySet>(),
        extended_message: true,
    })
}

fn family() -> impl Strategy<Value = Family> {
    proptest::sample::select(Family::known().collect::<Vec<_>>())
}

fn update() -> impl Strategy<Value = (EncodeContext, Update)> {
    (context(), family(), family()).prop_flat_map(|(ctx, reach_family, unreach_family)| {
        let ap4 = ctx.add_path.contains(Family::IPV4_UNICAST);
        let v4 = || {
            vec((path_id(ap4), v4_prefix()), 0..20).prop_map(|v| {
                v.into_iter()
                    .map(|(path_id, prefix)| PrefixNlri { path_id, prefix })
                    .collect::<Vec<_>>()
            })
        };
        (
            Just(ctx),
            v4(),
            v4(),
            attributes(ctx.four_octet_as),
            proptest::option::of((
                next_hop(reach_family),
                nlri_list(reach_family, ctx.add_path.contains(reach_family)),
            )),
            proptest::option::of(nlri_list(
                unreach_family,
                ctx.add_path.contains(unreach_family),
            )),
        )
            .prop_map(
                move |(ctx, withdrawn, announced, attributes, reach, unreach)| {
                    let update = Update {
                        withdrawn,
                        attributes,
                        announced,
                        mp_reach: reach.map(|(next_hop, nlri)| MpReach {
                            family: reach_family,
                            next_hop,
                            nlri: MpNlri::Decoded(nlri),
                        }),
                        mp_unreach: unreach.map(|nlri| MpUnreach {
                            family: unreach_family,
                            nlri: MpNlri::Decoded(nlri),
                        }),
                        issues: Vec::new(),
                    };
                    (ctx, update)
                },
            )
    })
}

fn capability() -> impl Strategy<Value = Capability> {
    prop_oneof![
        family().prop_map(Capability::Multiprotocol),
        Just(Capability::RouteRefresh),
        Just(Capability::EnhancedRouteRefresh),
        Just(Capability::ExtendedMessage),
        (0u8..6).prop_map(|r| Capability::Role(Role::from_code(r))),
        any::<u32>().prop_map(Capability::FourOctetAs),
        vec(
            (
                family(),
                prop_oneof![
                    Just(AddPathMode::Receive),
                    Just(AddPathMode::Send),
                    Just(AddPathMode::Both)
                ]
            ),
            1..4
        )
        .prop_map(Capability::AddPath),
        vec(family(), 1..3).prop_map(|v| Capability::ExtendedNextHop(
            v.into_iter().map(|f| (f, Afi::IPV6)).collect()
        )),
        (
            any::<bool>(),
            any::<bool>(),
            0u16..4096,
            vec((family(), any::<bool>()), 0..3)
        )
            .prop_map(|(r, n, t, f)| {
                Capability::GracefulRestart {
                    restarting: r,
                    notification: n,
                    restart_time: t,
                    families: f
                        .into_iter()
                        .map(|(family, forwarding_preserved)| GracefulRestartFamily {
                            family,
                            forwarding_preserved,
                        })
                        .collect(),
                }
            }),
        ("[a-z0-9.-]{0,20}", "[a-z0-9.-]{0,20}")
            .prop_map(|(hostname, domain)| Capability::Fqdn { hostname, domain }),
        "[ -~]{0,40}".prop_map(Capability::SoftwareVersion),
        (100u8..=127, vec(any::<u8>(), 0..20))
            .prop_map(|(code, value)| Capability::Unknown { code, value }),
    ]
}

fn message() -> impl Strategy<Value = (EncodeContext, Message)> {
    prop_oneof![
        update().prop_map(|(c, u)| (c, Message::Update(u))),
        (
            any::<u16>(),
            prop_oneof![Just(0u16), 3u16..],
            1u32..,
            vec(capability(), 0..30)
        )
            .prop_map(|(my_as, hold, id, caps)| {
                let open = Open {
                    version: 4,
                    my_as,
                    hold_time: hold,
                    router_id: Ipv4Addr::from(id),
                    capabilities: caps,
                };
                (EncodeContext::default(), Message::Open(open))
            }),
        (1u8..=8, any::<u8>(), vec(any::<u8>(), 0..100)).prop_map(|(c, s, d)| (
            EncodeContext::default(),
            Message::Notification(Notification::new(c, s, d))
        )),
        Just((EncodeContext::default(), Message::Keepalive)),
        (family(), 0u8..4).prop_map(|(family, s)| {
            let subtype = match s {
                0 => RefreshSubtype::Request,
                1 => RefreshSubtype::Begin,
                2 => RefreshSubtype::End,
                _ => RefreshSubtype::Reserved(77),
            };
            (
                EncodeContext::default(),
                Message::RouteRefresh(RouteRefresh { family, subtype }),
            )
        }),
    ]
}

fn mirror(ctx: &EncodeContext) -> DecodeContext {
    ctx.mirror()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn encode_then_decode_is_identity((ctx, message) in message()) {
        let bytes = message.to_bytes(&ctx);
        let decoded = Message::decode(&bytes, &mirror(&ctx));
        prop_assert_eq!(decoded, Ok(message));
    }

    #[test]
    fn decode_never_panics(bytes in vec(any::<u8>(), 0..600), ctx in context()) {
        let mut framed = vec![0xff; 16];
        framed.extend_from_slice(&((bytes.len() + 19) as u16).to_be_bytes());
        framed.push(2);
        framed.extend_from_slice(&bytes);
        let _ = Message::decode(&framed, &mirror(&ctx));
        let _ = Message::decode(&bytes, &mirror(&ctx));
    }
}
