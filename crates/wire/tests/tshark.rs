//! Cross-check of the encoder against Wireshark's BGP dissector, a decoder
//! no one here wrote.
//!
//! The test encodes a varied set of messages with the public API, writes them
//! into a pcap (one IPv4/TCP segment per message, 127.0.0.1:40000 to
//! 127.0.0.2:179, sequence numbers in order), has `tshark` dissect it as PDML
//! and compares what Wireshark read with what the messages were built from.
//! Every expected value below is written from the message's inputs and the
//! RFCs, not copied from either decoder. Any malformed packet or expert info
//! of severity warning or error fails the test too.
//!
//! Wireshark quirks this test steers around (Wireshark 4.0; see each case):
//!
//! - ADD-PATH is guessed from the bytes (`detect_add_path_prefix4`): an IPv4
//!   prefix list containing `0.0.0.0/0` next to other prefixes is taken as
//!   ADD-PATH, so the default route is withdrawn on its own.
//! - Flowspec DSCP (type 11) is read with the bitmask operator although
//!   RFC 8955 §4.2.2.11 gives it the numeric one; only `=` is used, whose bit
//!   (0x01) is the bitmask "match" bit.
//! - IPv6 Flowspec prefixes are read as ceil(length / 8) address octets,
//!   ignoring the RFC 8956 §3.1 offset, so only offset 0 is used.
//! - Capabilities 9 (role), 71 (long-lived GR) and 75 (software version) and
//!   attribute 35 (OTC) have no decoder in 4.0: their bytes (or only their
//!   length) are checked. A Wireshark that decodes them will show them
//!   differently and those expectations will need updating.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;

use ribbit_wire::attribute::{
    Admin, Aggregator, AsPath, Community, ExtendedCommunity, LargeCommunity, Origin,
    PathAttributes, Segment, SegmentType,
};
use ribbit_wire::capability::{AddPathMode, GracefulRestartFamily, LongLivedFamily, Role};
use ribbit_wire::nlri::flowspec::{
    BitmaskOp, Component, ComponentType, FlowPrefix, FlowspecNlri, NumericOp,
};
use ribbit_wire::nlri::{Label, LabeledNlri, PrefixNlri, RouteDistinguisher, VpnNlri};
use ribbit_wire::notification::subcode;
use ribbit_wire::route_refresh::RefreshSubtype;
use ribbit_wire::{
    Afi, Capability, EncodeContext, Family, Message, MessageType, MpNlri, MpReach, MpUnreach,
    NextHop, NlriList, Notification, Open, RouteRefresh, Update, UpdatePacker,
};

// ------------------------------------------------------------ expectations

/// Something Wireshark must have read in one message.
enum Check {
    /// Every occurrence of a field, in order.
    Values(&'static str, Vec<String>),
    /// One string per `parent` node: its descendants named in the list, as
    /// `last-name-segment=value`, in order.
    Groups(&'static str, &'static [&'static str], Vec<String>),
    /// Every occurrence of an address field with the `bgp.prefix_length`
    /// beside it, as `address/length`.
    Prefixes(&'static str, Vec<String>),
    /// Flowspec NLRI, one string per rule (see [`Frame::flowspec`]).
    Flowspec(Vec<String>),
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn val(field: &'static str, values: &[&str]) -> Check {
    Check::Values(field, strings(values))
}

fn groups(parent: &'static str, fields: &'static [&'static str], values: &[&str]) -> Check {
    Check::Groups(parent, fields, strings(values))
}

fn prefixes(field: &'static str, values: &[&str]) -> Check {
    Check::Prefixes(field, strings(values))
}

fn flowspec(rules: &[&str]) -> Check {
    Check::Flowspec(strings(rules))
}

/// Path attributes as `flags=.. type_code=.. length=..`.
fn attributes(values: &[&str]) -> Check {
    groups(
        "bgp.update.path_attribute",
        &[
            "bgp.update.path_attribute.flags",
            "bgp.update.path_attribute.type_code",
            "bgp.update.path_attribute.length",
        ],
        values,
    )
}

/// AS_PATH and AS4_PATH segments, in the order of the attributes.
fn segments(values: &[&str]) -> Check {
    groups(
        "bgp.update.path_attribute.as_path_segment",
        &[
            "bgp.update.path_attribute.as_path_segment.type",
            "bgp.update.path_attribute.as_path_segment.length",
            "bgp.update.path_attribute.as_path_segment.as2",
            "bgp.update.path_attribute.as_path_segment.as4",
        ],
        values,
    )
}

fn extended_communities(values: &[&str]) -> Check {
    groups(
        "bgp.ext_community",
        &[
            "bgp.ext_com.type",
            "bgp.ext_com.stype_tr_as2",
            "bgp.ext_com.stype_tr_IP4",
            "bgp.ext_com.stype_tr_as4",
            "bgp.ext_com.stype_tr_exp",
            "bgp.ext_com.value_as2",
            "bgp.ext_com.value_as4",
            "bgp.ext_com.value_IP4",
            "bgp.ext_com.value_an2",
            "bgp.ext_com.value_an4",
            "bgp.ext_com_flow.rate_limit",
            "bgp.ext_com_flow.sample",
            "bgp.ext_com_flow.traff_act",
            "bgp.ext_com.value_fs_dscp",
        ],
        values,
    )
}

fn capabilities(values: &[&str]) -> Check {
    groups(
        "bgp.cap",
        &[
            "bgp.cap.type",
            "bgp.cap.length",
            "bgp.cap.mp.afi",
            "bgp.cap.mp.safi",
            "bgp.cap.4as",
            "bgp.cap.gr.timers.restart_flag",
            "bgp.cap.gr.timers.notification_flag",
            "bgp.cap.gr.timers.restart_time",
            "bgp.cap.gr.afi",
            "bgp.cap.gr.safi",
            "bgp.cap.gr.flag.pfs",
            "bgp.cap.ap.afi",
            "bgp.cap.ap.safi",
            "bgp.cap.ap.sendreceive",
            "bgp.cap.enh.afi",
            "bgp.cap.enh.safi",
            "bgp.cap.enh.nhafi",
            "bgp.cap.orf.fqdn.hostname",
            "bgp.cap.orf.fqdn.domain_name",
            "bgp.cap.unknown",
        ],
        values,
    )
}

/// One message: its bytes as Ribbit encoded them and what Wireshark must see.
struct Case {
    name: &'static str,
    kind: MessageType,
    bytes: Vec<u8>,
    checks: Vec<Check>,
}

fn case(name: &'static str, kind: MessageType, bytes: Vec<u8>, checks: Vec<Check>) -> Case {
    Case {
        name,
        kind,
        bytes,
        checks,
    }
}

// ---------------------------------------------------------------- messages

fn pfx(s: &str) -> PrefixNlri {
    PrefixNlri {
        path_id: None,
        prefix: s.parse().unwrap(),
    }
}

fn prefix_list(list: &[&str]) -> NlriList {
    NlriList::Prefixes(list.iter().map(|s| pfx(s)).collect())
}

fn num(and: bool, lt: bool, gt: bool, eq: bool, value: u64) -> NumericOp {
    NumericOp {
        and,
        lt,
        gt,
        eq,
        value,
    }
}

fn eq(value: u64) -> NumericOp {
    num(false, false, false, true, value)
}

fn numeric(kind: ComponentType, ops: Vec<NumericOp>) -> Component {
    Component::Numeric { kind, ops }
}

fn bits(and: bool, not: bool, matches: bool, value: u64) -> BitmaskOp {
    BitmaskOp {
        and,
        not,
        matches,
        value,
    }
}

fn flow_prefix(s: &str) -> FlowPrefix {
    FlowPrefix::new(s.parse().unwrap(), 0)
}

fn rule(components: Vec<Component>) -> FlowspecNlri {
    FlowspecNlri {
        path_id: None,
        rd: None,
        components,
    }
}

/// One UPDATE from the packer (which must not split it).
fn packed(ctx: EncodeContext, f: impl FnOnce(&UpdatePacker, &mut Vec<u8>) -> usize) -> Vec<u8> {
    let mut out = Vec::new();
    assert_eq!(
        f(&UpdatePacker::new(ctx), &mut out),
        1,
        "the packer split a test UPDATE"
    );
    out
}

fn update(ctx: &EncodeContext, u: Update) -> Vec<u8> {
    Message::Update(u).to_bytes(ctx)
}

/// A session where both sides have 4-octet AS numbers.
fn four_octet_session() -> Vec<Case> {
    let ctx = EncodeContext::default();
    let mut cases = Vec::new();

    let open = Open::new(
        4_200_000_001,
        90,
        Ipv4Addr::new(192, 0, 2, 1),
        vec![
            Capability::Multiprotocol(Family::IPV4_UNICAST),
            Capability::Multiprotocol(Family::IPV6_UNICAST),
            Capability::Multiprotocol(Family::IPV4_LABELED),
            Capability::Multiprotocol(Family::IPV4_VPN),
            Capability::Multiprotocol(Family::IPV4_FLOWSPEC),
            Capability::Multiprotocol(Family::IPV6_FLOWSPEC),
            Capability::RouteRefresh,
            Capability::EnhancedRouteRefresh,
            Capability::FourOctetAs(4_200_000_001),
            Capability::GracefulRestart {
                restarting: true,
                notification: true,
                restart_time: 120,
                families: vec![
                    GracefulRestartFamily {
                        family: Family::IPV4_UNICAST,
                        forwarding_preserved: true,
                    },
                    GracefulRestartFamily {
                        family: Family::IPV6_UNICAST,
                        forwarding_preserved: false,
                    },
                ],
            },
            Capability::AddPath(vec![
                (Family::IPV4_UNICAST, AddPathMode::Both),
                (Family::IPV6_UNICAST, AddPathMode::Receive),
            ]),
            Capability::ExtendedNextHop(vec![(Family::IPV4_UNICAST, Afi::IPV6)]),
            Capability::ExtendedMessage,
            Capability::Role(Role::Customer),
            Capability::Fqdn {
                hostname: "r1".into(),
                domain: "example.net".into(),
            },
            Capability::SoftwareVersion("Ribbit/0.1".into()),
            Capability::LongLivedGracefulRestart(vec![
                LongLivedFamily {
                    family: Family::IPV4_UNICAST,
                    forwarding_preserved: true,
                    stale_time: 3600,
                },
                LongLivedFamily {
                    family: Family::IPV6_UNICAST,
                    forwarding_preserved: false,
                    stale_time: 86400,
                },
            ]),
        ],
    );
    cases.push(case(
        "OPEN with many capabilities",
        MessageType::Open,
        Message::Open(open).to_bytes(&ctx),
        vec![
            val("bgp.open.version", &["4"]),
            // The AS does not fit: AS_TRANS, and the real one in capability 65.
            val("bgp.open.myas", &["23456"]),
            val("bgp.open.holdtime", &["90"]),
            val("bgp.open.identifier", &["192.0.2.1"]),
            val("bgp.open.opt.len", &["161"]),
            capabilities(&[
                "type=1 length=4 afi=1 safi=1",
                "type=1 length=4 afi=2 safi=1",
                "type=1 length=4 afi=1 safi=4",
                "type=1 length=4 afi=1 safi=128",
                "type=1 length=4 afi=1 safi=133",
                "type=1 length=4 afi=2 safi=133",
                "type=2 length=0",
                "type=70 length=0",
                "type=65 length=4 4as=4200000001",
                "type=64 length=10 restart_flag=1 notification_flag=1 restart_time=120 \
                 afi=1 safi=1 pfs=1 afi=2 safi=1 pfs=0",
                "type=69 length=8 afi=1 safi=1 sendreceive=3 afi=2 safi=1 sendreceive=1",
                "type=5 length=6 afi=1 safi=1 nhafi=2",
                "type=6 length=0",
                // Not decoded by Wireshark 4.0: role 3 is customer (RFC 9234 §4.1).
                "type=9 length=1 unknown=03",
                "type=73 length=15 hostname=r1 domain_name=example.net",
                // Not decoded by Wireshark 4.0: length 10, "Ribbit/0.1".
                "type=75 length=11 unknown=0a:52:69:62:62:69:74:2f:30:2e:31",
                // Not decoded by Wireshark 4.0 (RFC 9494 §2): AFI, SAFI, flags
                // (F = 0x80), 24-bit stale time 3600 = 0x000e10, 86400 = 0x015180.
                "type=71 length=14 unknown=00:01:01:80:00:0e:10:00:02:01:00:01:51:80",
            ]),
        ],
    ));

    cases.push(case(
        "KEEPALIVE",
        MessageType::Keepalive,
        Message::Keepalive.to_bytes(&ctx),
        vec![],
    ));

    let attrs = PathAttributes {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath {
            segments: vec![
                Segment {
                    kind: SegmentType::Sequence,
                    asns: vec![65001, 4_200_000_001, 65002],
                },
                Segment {
                    kind: SegmentType::Set,
                    asns: vec![64512, 64513],
                },
            ],
        }),
        med: Some(100),
        local_pref: Some(200),
        atomic_aggregate: true,
        aggregator: Some(Aggregator {
            asn: 4_200_000_001,
            address: Ipv4Addr::new(192, 0, 2, 9),
        }),
        communities: vec![
            Community::new(65001, 100),
            Community::NO_EXPORT,
            Community::NO_ADVERTISE,
            Community::BLACKHOLE,
            Community::GRACEFUL_SHUTDOWN,
        ],
        originator_id: Some(Ipv4Addr::new(10, 0, 0, 1)),
        cluster_list: vec![Ipv4Addr::new(10, 0, 0, 2), Ipv4Addr::new(10, 0, 0, 3)],
        extended_communities: vec![
            ExtendedCommunity::route_target(Admin::As2(65001, 100)),
            ExtendedCommunity::route_target(Admin::Ipv4(Ipv4Addr::new(192, 0, 2, 1), 7)),
            ExtendedCommunity::route_target(Admin::As4(4_200_000_001, 9)),
            ExtendedCommunity::route_origin(Admin::As2(65001, 5)),
        ],
        aigp: Some(12_345_678_901),
        large_communities: vec![
            LargeCommunity {
                global: 4_200_000_001,
                local1: 1,
                local2: 2,
            },
            LargeCommunity {
                global: 65001,
                local1: 3,
                local2: 4,
            },
        ],
        otc: Some(65002),
        ..PathAttributes::default()
    };
    let nlri = [
        "198.51.100.0/24",
        "203.0.113.128/25",
        "10.0.0.0/8",
        "192.0.2.1/32",
    ];
    cases.push(case(
        "UPDATE ipv4 unicast, every attribute",
        MessageType::Update,
        packed(ctx, |p, out| {
            let nh = NextHop::V4(Ipv4Addr::new(192, 0, 2, 1));
            p.announce(Family::IPV4_UNICAST, &attrs, nh, &prefix_list(&nlri), out)
                .unwrap()
        }),
        vec![
            val("bgp.update.withdrawn_routes.length", &["0"]),
            // Ascending type order (RFC 4271 §5), flags per each attribute's RFC.
            attributes(&[
                "flags=0x40 type_code=1 length=1",
                "flags=0x40 type_code=2 length=24",
                "flags=0x40 type_code=3 length=4",
                "flags=0x80 type_code=4 length=4",
                "flags=0x40 type_code=5 length=4",
                "flags=0x40 type_code=6 length=0",
                "flags=0xc0 type_code=7 length=8",
                "flags=0xc0 type_code=8 length=20",
                "flags=0x80 type_code=9 length=4",
                "flags=0x80 type_code=10 length=8",
                "flags=0xc0 type_code=16 length=32",
                "flags=0x80 type_code=26 length=11",
                "flags=0xc0 type_code=32 length=24",
                // OTC (RFC 9234 §5): Wireshark 4.0 shows no value.
                "flags=0xc0 type_code=35 length=4",
            ]),
            val("bgp.update.path_attribute.origin", &["0"]),
            segments(&[
                "type=2 length=3 as4=65001 as4=4200000001 as4=65002",
                "type=1 length=2 as4=64512 as4=64513",
            ]),
            val("bgp.update.path_attribute.next_hop", &["192.0.2.1"]),
            val("bgp.update.path_attribute.multi_exit_disc", &["100"]),
            val("bgp.update.path_attribute.local_pref", &["200"]),
            val("bgp.update.path_attribute.aggregator_as", &["4200000001"]),
            val(
                "bgp.update.path_attribute.aggregator_origin",
                &["192.0.2.9"],
            ),
            val("bgp.update.path_attribute.community_as", &["65001"]),
            val("bgp.update.path_attribute.community_value", &["100"]),
            val(
                "bgp.update.path_attribute.community_wellknown",
                &["0xffffff01", "0xffffff02", "0xffff029a", "0xffff0000"],
            ),
            val("bgp.update.path_attribute.originator_id", &["10.0.0.1"]),
            val("bgp.path_attribute.cluster_id", &["10.0.0.2", "10.0.0.3"]),
            extended_communities(&[
                "type=0x00 stype_tr_as2=0x02 value_as2=65001 value_an4=100",
                "type=0x01 stype_tr_IP4=0x02 value_IP4=192.0.2.1 value_an2=7",
                "type=0x02 stype_tr_as4=0x02 value_as4=4200000001 value_an2=9",
                "type=0x00 stype_tr_as2=0x03 value_as2=65001 value_an4=5",
            ]),
            val("bgp.update.attribute.aigp.type", &["1"]),
            val("bgp.update.attribute.aigp.length", &["11"]),
            val(
                "bgp.update.attribute.aigp.accu_igp_metric",
                &["12345678901"],
            ),
            groups(
                "bgp.large_communities",
                &[
                    "bgp.large_communities.ga",
                    "bgp.large_communities.ldp1",
                    "bgp.large_communities.ldp2",
                ],
                &["ga=4200000001 ldp1=1 ldp2=2", "ga=65001 ldp1=3 ldp2=4"],
            ),
            prefixes("bgp.nlri_prefix", &nlri),
        ],
    ));

    let v6_attrs = PathAttributes {
        origin: Some(Origin::Incomplete),
        as_path: Some(AsPath::sequence(vec![65001])),
        med: Some(0),
        communities: vec![Community::new(65001, 6)],
        ..PathAttributes::default()
    };
    let v6_nlri = ["2001:db8:1::/48", "2001:db8:2:3::/64", "2001:db8::1/128"];
    cases.push(case(
        "UPDATE ipv6 unicast, global and link-local next hop",
        MessageType::Update,
        packed(ctx, |p, out| {
            let nh = NextHop::V6 {
                global: "2001:db8::1".parse().unwrap(),
                link_local: Some("fe80::1".parse().unwrap()),
            };
            p.announce(
                Family::IPV6_UNICAST,
                &v6_attrs,
                nh,
                &prefix_list(&v6_nlri),
                out,
            )
            .unwrap()
        }),
        vec![
            attributes(&[
                "flags=0x40 type_code=1 length=1",
                "flags=0x40 type_code=2 length=6",
                "flags=0x80 type_code=4 length=4",
                "flags=0xc0 type_code=8 length=4",
                // 2 + 1 + 1 + 32 + 1, then 7 + 9 + 17 of NLRI.
                "flags=0x80 type_code=14 length=70",
            ]),
            val("bgp.update.path_attribute.origin", &["2"]),
            segments(&["type=2 length=1 as4=65001"]),
            val("bgp.update.path_attribute.next_hop", &[]),
            val("bgp.update.path_attribute.multi_exit_disc", &["0"]),
            val("bgp.update.path_attribute.community_as", &["65001"]),
            val("bgp.update.path_attribute.community_value", &["6"]),
            val("bgp.update.path_attribute.mp_reach_nlri.afi", &["2"]),
            val("bgp.update.path_attribute.mp_reach_nlri.safi", &["1"]),
            val(
                "bgp.update.path_attribute.mp_reach_nlri.next_hop.ipv6",
                &["2001:db8::1"],
            ),
            val(
                "bgp.update.path_attribute.mp_reach_nlri.next_hop.ipv6.link_local",
                &["fe80::1"],
            ),
            val("bgp.update.path_attribute.mp_reach_nlri.nbr_snpa", &["0"]),
            prefixes("bgp.mp_reach_nlri_ipv6_prefix", &v6_nlri),
        ],
    ));

    let withdrawn = ["198.51.100.0/24", "10.0.0.0/8"];
    cases.push(case(
        "UPDATE ipv4 withdrawal",
        MessageType::Update,
        packed(ctx, |p, out| {
            p.withdraw(Family::IPV4_UNICAST, &prefix_list(&withdrawn), out)
                .unwrap()
        }),
        vec![
            val("bgp.update.withdrawn_routes.length", &["6"]),
            prefixes("bgp.withdrawn_prefix", &withdrawn),
            val("bgp.update.path_attributes.length", &["0"]),
        ],
    ));

    let withdrawn6 = ["2001:db8:1::/48", "2001:db8::1/128"];
    cases.push(case(
        "UPDATE ipv6 withdrawal (MP_UNREACH_NLRI)",
        MessageType::Update,
        packed(ctx, |p, out| {
            p.withdraw(Family::IPV6_UNICAST, &prefix_list(&withdrawn6), out)
                .unwrap()
        }),
        vec![
            val("bgp.update.withdrawn_routes.length", &["0"]),
            attributes(&["flags=0x80 type_code=15 length=27"]),
            val("bgp.update.path_attribute.mp_unreach_nlri.afi", &["2"]),
            val("bgp.update.path_attribute.mp_unreach_nlri.safi", &["1"]),
            prefixes("bgp.mp_unreach_nlri_ipv6_prefix", &withdrawn6),
        ],
    ));

    let mixed = Update {
        withdrawn: vec![pfx("172.16.0.0/12"), pfx("192.168.0.0/16")],
        attributes: PathAttributes {
            origin: Some(Origin::Egp),
            as_path: Some(AsPath::default()),
            next_hop: Some(Ipv4Addr::new(192, 0, 2, 2)),
            local_pref: Some(100),
            ..PathAttributes::default()
        },
        announced: vec![pfx("192.0.2.128/26")],
        ..Update::default()
    };
    cases.push(case(
        "UPDATE ipv4 withdrawal and announcement, empty AS_PATH",
        MessageType::Update,
        update(&ctx, mixed),
        vec![
            val("bgp.update.withdrawn_routes.length", &["6"]),
            prefixes("bgp.withdrawn_prefix", &["172.16.0.0/12", "192.168.0.0/16"]),
            attributes(&[
                "flags=0x40 type_code=1 length=1",
                "flags=0x40 type_code=2 length=0",
                "flags=0x40 type_code=3 length=4",
                "flags=0x40 type_code=5 length=4",
            ]),
            val("bgp.update.path_attribute.origin", &["1"]),
            segments(&[]),
            val("bgp.update.path_attribute.next_hop", &["192.0.2.2"]),
            val("bgp.update.path_attribute.local_pref", &["100"]),
            prefixes("bgp.nlri_prefix", &["192.0.2.128/26"]),
        ],
    ));

    // Alone, because Wireshark takes a /0 among other IPv4 prefixes for an
    // ADD-PATH path identifier (see the module documentation).
    let default_route = Update {
        withdrawn: vec![pfx("0.0.0.0/0")],
        ..Update::default()
    };
    cases.push(case(
        "UPDATE withdrawing the default route",
        MessageType::Update,
        update(&ctx, default_route),
        vec![
            val("bgp.update.withdrawn_routes.length", &["1"]),
            prefixes("bgp.withdrawn_prefix", &["0.0.0.0/0"]),
            val("bgp.update.path_attributes.length", &["0"]),
        ],
    ));

    let base = PathAttributes {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath::sequence(vec![65001])),
        ..PathAttributes::default()
    };
    let labeled = Update {
        attributes: base.clone(),
        mp_reach: Some(MpReach {
            family: Family::IPV4_LABELED,
            next_hop: NextHop::V4(Ipv4Addr::new(192, 0, 2, 1)),
            nlri: MpNlri::Decoded(NlriList::Labeled(vec![
                LabeledNlri {
                    path_id: None,
                    labels: vec![Label::new(16)],
                    prefix: "10.1.0.0/16".parse().unwrap(),
                },
                LabeledNlri {
                    path_id: None,
                    labels: vec![Label::new(100), Label::new(1_048_575)],
                    prefix: "10.2.3.0/24".parse().unwrap(),
                },
            ])),
        }),
        ..Update::default()
    };
    cases.push(case(
        "UPDATE ipv4 labeled unicast",
        MessageType::Update,
        update(&ctx, labeled),
        vec![
            attributes(&[
                "flags=0x40 type_code=1 length=1",
                "flags=0x40 type_code=2 length=6",
                "flags=0x80 type_code=14 length=25",
            ]),
            val("bgp.update.path_attribute.mp_reach_nlri.afi", &["1"]),
            val("bgp.update.path_attribute.mp_reach_nlri.safi", &["4"]),
            val(
                "bgp.update.path_attribute.mp_reach_nlri.next_hop.ipv4",
                &["192.0.2.1"],
            ),
            // Label bits count in the length (RFC 8277 §2.2): 24 + 16, 48 + 24.
            val("bgp.prefix_length", &["40", "72"]),
            val("bgp.label_stack", &["16 (bottom)", "100,1048575 (bottom)"]),
            val("bgp.mp_reach_nlri_ipv4_prefix", &["10.1.0.0", "10.2.3.0"]),
        ],
    ));

    let vpn = Update {
        attributes: PathAttributes {
            extended_communities: vec![ExtendedCommunity::route_target(Admin::As2(65001, 42))],
            ..base.clone()
        },
        mp_reach: Some(MpReach {
            family: Family::IPV4_VPN,
            next_hop: NextHop::V4(Ipv4Addr::new(192, 0, 2, 1)),
            nlri: MpNlri::Decoded(NlriList::Vpn(vec![
                VpnNlri {
                    path_id: None,
                    labels: vec![Label::new(1000)],
                    rd: RouteDistinguisher::As2 {
                        asn: 65001,
                        value: 42,
                    },
                    prefix: "172.16.0.0/16".parse().unwrap(),
                },
                VpnNlri {
                    path_id: None,
                    labels: vec![Label::new(2000)],
                    rd: RouteDistinguisher::Ipv4 {
                        addr: Ipv4Addr::new(192, 0, 2, 1),
                        value: 7,
                    },
                    prefix: "172.17.1.0/24".parse().unwrap(),
                },
                VpnNlri {
                    path_id: None,
                    labels: vec![Label::new(3000)],
                    rd: RouteDistinguisher::As4 {
                        asn: 4_200_000_001,
                        value: 3,
                    },
                    prefix: "172.18.0.1/32".parse().unwrap(),
                },
            ])),
        }),
        ..Update::default()
    };
    cases.push(case(
        "UPDATE vpnv4",
        MessageType::Update,
        update(&ctx, vpn),
        vec![
            attributes(&[
                "flags=0x40 type_code=1 length=1",
                "flags=0x40 type_code=2 length=6",
                "flags=0x80 type_code=14 length=62",
                "flags=0xc0 type_code=16 length=8",
            ]),
            val("bgp.update.path_attribute.mp_reach_nlri.afi", &["1"]),
            val("bgp.update.path_attribute.mp_reach_nlri.safi", &["128"]),
            // RFC 4364 §4.3.2: a zero RD before the next hop address.
            val(
                "bgp.update.path_attribute.mp_reach_nlri.next_hop.rd",
                &["0:0"],
            ),
            val(
                "bgp.update.path_attribute.mp_reach_nlri.next_hop.ipv4",
                &["192.0.2.1"],
            ),
            // 24 label bits + 64 RD bits + the prefix length.
            val("bgp.prefix_length", &["104", "112", "120"]),
            val(
                "bgp.label_stack",
                &["1000 (bottom)", "2000 (bottom)", "3000 (bottom)"],
            ),
            val("bgp.rd", &["65001:42", "192.0.2.1:7", "4200000001:3"]),
            val(
                "bgp.mp_reach_nlri_ipv4_prefix",
                &["172.16.0.0", "172.17.1.0", "172.18.0.1"],
            ),
            extended_communities(&["type=0x00 stype_tr_as2=0x02 value_as2=65001 value_an4=42"]),
        ],
    ));

    let vpn_withdrawal = Update {
        mp_unreach: Some(MpUnreach {
            family: Family::IPV4_VPN,
            nlri: MpNlri::Decoded(NlriList::Vpn(vec![VpnNlri {
                path_id: None,
                labels: vec![],
                rd: RouteDistinguisher::As2 {
                    asn: 65001,
                    value: 42,
                },
                prefix: "172.16.0.0/16".parse().unwrap(),
            }])),
        }),
        ..Update::default()
    };
    cases.push(case(
        "UPDATE vpnv4 withdrawal",
        MessageType::Update,
        update(&ctx, vpn_withdrawal),
        vec![
            attributes(&["flags=0x80 type_code=15 length=17"]),
            val("bgp.update.path_attribute.mp_unreach_nlri.afi", &["1"]),
            val("bgp.update.path_attribute.mp_unreach_nlri.safi", &["128"]),
            val("bgp.prefix_length", &["104"]),
            // RFC 8277 §2.4: the label field of a withdrawal is 0x800000.
            val("bgp.label_stack", &["0 (withdrawn)"]),
            val("bgp.rd", &["65001:42"]),
            val("bgp.mp_unreach_nlri_ipv4_prefix", &["172.16.0.0"]),
        ],
    ));

    let flow4 = rule(vec![
        Component::DestinationPrefix(flow_prefix("192.0.2.0/24")),
        Component::SourcePrefix(flow_prefix("10.0.0.0/8")),
        numeric(ComponentType::IpProtocol, vec![eq(6), eq(17)]),
        numeric(
            ComponentType::DestinationPort,
            vec![
                num(false, false, true, true, 1024),
                num(true, true, false, true, 65535),
            ],
        ),
        numeric(ComponentType::SourcePort, vec![eq(53)]),
        Component::Bitmask {
            kind: ComponentType::TcpFlags,
            ops: vec![
                bits(false, false, false, 0x02),
                bits(true, true, true, 0x11),
            ],
        },
        numeric(
            ComponentType::PacketLength,
            vec![
                num(false, false, true, true, 64),
                num(true, true, false, true, 1500),
            ],
        ),
        numeric(ComponentType::Dscp, vec![eq(46)]),
        Component::Bitmask {
            kind: ComponentType::Fragment,
            ops: vec![bits(false, false, false, 0x02)],
        },
    ]);
    let flow4_icmp = rule(vec![
        Component::DestinationPrefix(flow_prefix("198.51.100.7/32")),
        numeric(ComponentType::IpProtocol, vec![eq(1)]),
        numeric(ComponentType::IcmpType, vec![eq(8)]),
        numeric(ComponentType::IcmpCode, vec![eq(0)]),
    ]);
    let flow_attrs = PathAttributes {
        extended_communities: vec![
            ExtendedCommunity::traffic_rate_bytes(65001, 125_000.0),
            ExtendedCommunity::traffic_action(true, false),
            ExtendedCommunity::redirect(Admin::As2(65001, 300)),
            ExtendedCommunity::traffic_marking(10),
        ],
        ..base.clone()
    };
    let flow4_update = Update {
        attributes: flow_attrs.clone(),
        mp_reach: Some(MpReach {
            family: Family::IPV4_FLOWSPEC,
            next_hop: NextHop::Empty,
            nlri: MpNlri::Decoded(NlriList::Flowspec(vec![flow4, flow4_icmp])),
        }),
        ..Update::default()
    };
    cases.push(case(
        "UPDATE ipv4 flowspec",
        MessageType::Update,
        update(&ctx, flow4_update),
        vec![
            attributes(&[
                "flags=0x40 type_code=1 length=1",
                "flags=0x40 type_code=2 length=6",
                "flags=0x80 type_code=14 length=62",
                "flags=0xc0 type_code=16 length=32",
            ]),
            val("bgp.update.path_attribute.mp_reach_nlri.afi", &["1"]),
            val("bgp.update.path_attribute.mp_reach_nlri.safi", &["133"]),
            // RFC 8955 §5: no next hop.
            val("bgp.update.path_attribute.mp_reach_nlri.next_hop", &["00"]),
            val("bgp.flowspec_nlri.length", &["40", "15"]),
            flowspec(&[
                "1 192.0.2.0/24, 2 10.0.0.0/8, 3 =6 =17, 5 >=1024 &<=65535, 6 =53, \
                 9 0x02 &!=0x11, 10 >=64 &<=1500, 11 =0x2e, 12 0x02",
                "1 198.51.100.7/32, 3 =1, 7 =8, 8 =0",
            ]),
            extended_communities(&[
                // RFC 8955 §7: traffic-rate-bytes, traffic-action (S bit),
                // redirect AS-2 (RFC 7674), traffic-marking.
                "type=0x80 stype_tr_exp=0x06 value_as2=65001 rate_limit=125000",
                "type=0x80 stype_tr_exp=0x07 sample=1 traff_act=0",
                "type=0x80 stype_tr_exp=0x08 value_as2=65001 value_an4=300",
                "type=0x80 stype_tr_exp=0x09 value_fs_dscp=0x0a",
            ]),
        ],
    ));

    let flow6 = rule(vec![
        Component::DestinationPrefix(flow_prefix("2001:db8::/32")),
        Component::SourcePrefix(flow_prefix("2001:db8:1:2::/64")),
        numeric(ComponentType::IpProtocol, vec![eq(58)]),
        numeric(ComponentType::IcmpType, vec![eq(128)]),
        numeric(
            ComponentType::PacketLength,
            vec![
                num(false, true, false, false, 100),
                num(false, false, true, false, 1400),
            ],
        ),
        numeric(ComponentType::Dscp, vec![eq(46)]),
    ]);
    let flow6_ports = rule(vec![
        Component::DestinationPrefix(flow_prefix("2001:db8:abcd::/48")),
        numeric(ComponentType::IpProtocol, vec![eq(6)]),
        numeric(
            ComponentType::Port,
            vec![
                num(false, false, true, true, 8080),
                num(true, true, false, true, 8088),
            ],
        ),
        Component::Bitmask {
            kind: ComponentType::TcpFlags,
            ops: vec![bits(false, false, true, 0x12)],
        },
    ]);
    let flow6_update = Update {
        attributes: PathAttributes {
            extended_communities: vec![ExtendedCommunity::traffic_rate_bytes(0, 0.0)],
            ..flow_attrs
        },
        mp_reach: Some(MpReach {
            family: Family::IPV6_FLOWSPEC,
            next_hop: NextHop::Empty,
            nlri: MpNlri::Decoded(NlriList::Flowspec(vec![flow6, flow6_ports])),
        }),
        ..Update::default()
    };
    cases.push(case(
        "UPDATE ipv6 flowspec",
        MessageType::Update,
        update(&ctx, flow6_update),
        vec![
            attributes(&[
                "flags=0x40 type_code=1 length=1",
                "flags=0x40 type_code=2 length=6",
                "flags=0x80 type_code=14 length=62",
                "flags=0xc0 type_code=16 length=8",
            ]),
            val("bgp.update.path_attribute.mp_reach_nlri.afi", &["2"]),
            val("bgp.update.path_attribute.mp_reach_nlri.safi", &["133"]),
            val("bgp.flowspec_nlri.length", &["33", "22"]),
            flowspec(&[
                "1 2001:db8::/32 offset 0, 2 2001:db8:1:2::/64 offset 0, 3 =58, 7 =128, \
                 10 <100 >1400, 11 =0x2e",
                "1 2001:db8:abcd::/48 offset 0, 3 =6, 4 >=8080 &<=8088, 9 =0x12",
            ]),
            // Rate 0: discard.
            extended_communities(&["type=0x80 stype_tr_exp=0x06 value_as2=0 rate_limit=0"]),
        ],
    ));

    cases.push(case(
        "End-of-RIB ipv4 unicast",
        MessageType::Update,
        update(&ctx, Update::end_of_rib(Family::IPV4_UNICAST)),
        vec![
            val("bgp.update.withdrawn_routes.length", &["0"]),
            val("bgp.update.path_attributes.length", &["0"]),
        ],
    ));
    for (name, family, afi, safi) in [
        ("End-of-RIB ipv6 unicast", Family::IPV6_UNICAST, "2", "1"),
        (
            "End-of-RIB ipv4 flowspec",
            Family::IPV4_FLOWSPEC,
            "1",
            "133",
        ),
    ] {
        cases.push(case(
            name,
            MessageType::Update,
            update(&ctx, Update::end_of_rib(family)),
            vec![
                val("bgp.update.withdrawn_routes.length", &["0"]),
                attributes(&["flags=0x80 type_code=15 length=3"]),
                val("bgp.update.path_attribute.mp_unreach_nlri.afi", &[afi]),
                val("bgp.update.path_attribute.mp_unreach_nlri.safi", &[safi]),
            ],
        ));
    }

    // RFC 2918 §3 and RFC 7313 §3.2: AFI, subtype (0 request, 1 BoRR, 2 EoRR), SAFI.
    for (name, family, subtype, afi, sub, safi) in [
        (
            "ROUTE-REFRESH ipv4 unicast",
            Family::IPV4_UNICAST,
            RefreshSubtype::Request,
            "1",
            "0",
            "1",
        ),
        (
            "ROUTE-REFRESH BoRR ipv6 unicast",
            Family::IPV6_UNICAST,
            RefreshSubtype::Begin,
            "2",
            "1",
            "1",
        ),
        (
            "ROUTE-REFRESH EoRR ipv6 flowspec",
            Family::IPV6_FLOWSPEC,
            RefreshSubtype::End,
            "2",
            "2",
            "133",
        ),
    ] {
        cases.push(case(
            name,
            MessageType::RouteRefresh,
            Message::RouteRefresh(RouteRefresh { family, subtype }).to_bytes(&ctx),
            vec![
                val("bgp.route_refresh.afi", &[afi]),
                val("bgp.route_refresh.subtype", &[sub]),
                val("bgp.route_refresh.safi", &[safi]),
            ],
        ));
    }

    let shutdown = "Wartung: zurück um 14:00 UTC";
    cases.push(case(
        "NOTIFICATION Cease/Administrative Shutdown",
        MessageType::Notification,
        Message::Notification(Notification::shutdown(
            subcode::ADMINISTRATIVE_SHUTDOWN,
            shutdown,
        ))
        .to_bytes(&ctx),
        vec![
            val("bgp.notify.major_error", &["6"]),
            val("bgp.notify.minor_error_cease", &["2"]),
            // RFC 9003 §2: a length octet, then UTF-8 ("ü" takes two octets).
            val("bgp.notify.communication_length", &["29"]),
            val("bgp.notify.communication", &[shutdown]),
        ],
    ));
    cases
}

/// A session with a peer that has only 2-octet AS numbers.
fn two_octet_session() -> Vec<Case> {
    let ctx = EncodeContext {
        four_octet_as: false,
        ..EncodeContext::default()
    };
    let open = Open {
        version: 4,
        my_as: 65010,
        hold_time: 180,
        router_id: Ipv4Addr::new(192, 0, 2, 10),
        capabilities: vec![
            Capability::Multiprotocol(Family::IPV4_UNICAST),
            Capability::RouteRefresh,
        ],
    };
    let attrs = PathAttributes {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath {
            segments: vec![
                Segment {
                    kind: SegmentType::Sequence,
                    asns: vec![65010, 4_200_000_001, 65020],
                },
                Segment {
                    kind: SegmentType::Set,
                    asns: vec![4_200_000_002, 65030],
                },
            ],
        }),
        aggregator: Some(Aggregator {
            asn: 4_200_000_001,
            address: Ipv4Addr::new(192, 0, 2, 11),
        }),
        ..PathAttributes::default()
    };
    vec![
        case(
            "OPEN without the 4-octet AS capability",
            MessageType::Open,
            Message::Open(open).to_bytes(&ctx),
            vec![
                val("bgp.open.version", &["4"]),
                val("bgp.open.myas", &["65010"]),
                val("bgp.open.holdtime", &["180"]),
                val("bgp.open.identifier", &["192.0.2.10"]),
                capabilities(&["type=1 length=4 afi=1 safi=1", "type=2 length=0"]),
            ],
        ),
        case(
            "UPDATE to a 2-octet AS peer, with AS4_PATH and AS4_AGGREGATOR",
            MessageType::Update,
            packed(ctx, |p, out| {
                let nh = NextHop::V4(Ipv4Addr::new(192, 0, 2, 10));
                p.announce(
                    Family::IPV4_UNICAST,
                    &attrs,
                    nh,
                    &prefix_list(&["203.0.113.0/24"]),
                    out,
                )
                .unwrap()
            }),
            vec![
                attributes(&[
                    "flags=0x40 type_code=1 length=1",
                    "flags=0x40 type_code=2 length=14",
                    "flags=0x40 type_code=3 length=4",
                    "flags=0xc0 type_code=7 length=6",
                    "flags=0xc0 type_code=17 length=24",
                    "flags=0xc0 type_code=18 length=8",
                ]),
                // RFC 6793 §4.2.2: AS_TRANS for what does not fit, the real
                // path in AS4_PATH and the real aggregator in AS4_AGGREGATOR.
                segments(&[
                    "type=2 length=3 as2=65010 as2=23456 as2=65020",
                    "type=1 length=2 as2=23456 as2=65030",
                    "type=2 length=3 as4=65010 as4=4200000001 as4=65020",
                    "type=1 length=2 as4=4200000002 as4=65030",
                ]),
                val(
                    "bgp.update.path_attribute.aggregator_as",
                    &["23456", "4200000001"],
                ),
                val(
                    "bgp.update.path_attribute.aggregator_origin",
                    &["192.0.2.11", "192.0.2.11"],
                ),
                val("bgp.update.path_attribute.next_hop", &["192.0.2.10"]),
                prefixes("bgp.nlri_prefix", &["203.0.113.0/24"]),
            ],
        ),
    ]
}

// -------------------------------------------------------------------- pcap

/// The Internet checksum (RFC 1071) over the concatenation of `chunks`.
fn checksum(chunks: &[&[u8]]) -> u16 {
    let bytes: Vec<u8> = chunks.concat();
    let mut sum: u32 = bytes
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// A classic pcap file (LINKTYPE_RAW: each record is an IPv4 packet) with
/// one TCP segment per message, 127.0.0.1:40000 to 127.0.0.2:179, sequence
/// numbers following on so that the stream is in order.
fn pcap(messages: &[&[u8]]) -> Vec<u8> {
    const LINKTYPE_RAW: u32 = 101;
    let (src, dst) = (Ipv4Addr::new(127, 0, 0, 1), Ipv4Addr::new(127, 0, 0, 2));
    let mut out = Vec::new();
    // Global header: magic, version 2.4, GMT offset, accuracy, snaplen, link type.
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&65_535u32.to_le_bytes());
    out.extend_from_slice(&LINKTYPE_RAW.to_le_bytes());
    let mut seq = 1_000_000u32;
    for (i, msg) in messages.iter().enumerate() {
        let tcp_len = u16::try_from(20 + msg.len()).unwrap();
        let mut tcp = Vec::with_capacity(20);
        tcp.extend_from_slice(&40_000u16.to_be_bytes());
        tcp.extend_from_slice(&179u16.to_be_bytes());
        tcp.extend_from_slice(&seq.to_be_bytes());
        tcp.extend_from_slice(&1u32.to_be_bytes()); // ack
        tcp.extend_from_slice(&[0x50, 0x18]); // 20-byte header; PSH, ACK
        tcp.extend_from_slice(&65_535u16.to_be_bytes()); // window
        tcp.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent pointer
        let pseudo = [
            &src.octets()[..],
            &dst.octets(),
            &[0, 6],
            &tcp_len.to_be_bytes(),
        ]
        .concat();
        let c = checksum(&[&pseudo, &tcp, msg]);
        tcp[16..18].copy_from_slice(&c.to_be_bytes());

        let total = 20 + tcp_len;
        let id = u16::try_from(i + 1).unwrap();
        let mut ip = vec![0x45, 0];
        ip.extend_from_slice(&total.to_be_bytes());
        ip.extend_from_slice(&id.to_be_bytes());
        ip.extend_from_slice(&[0x40, 0, 64, 6, 0, 0]); // DF, TTL 64, TCP, checksum
        ip.extend_from_slice(&src.octets());
        ip.extend_from_slice(&dst.octets());
        let c = checksum(&[&ip]);
        ip[10..12].copy_from_slice(&c.to_be_bytes());

        // Record header: seconds, microseconds, captured and original length.
        out.extend_from_slice(&1_700_000_000u32.to_le_bytes());
        out.extend_from_slice(&u32::try_from(i * 1000).unwrap().to_le_bytes());
        out.extend_from_slice(&u32::from(total).to_le_bytes());
        out.extend_from_slice(&u32::from(total).to_le_bytes());
        out.extend_from_slice(&ip);
        out.extend_from_slice(&tcp);
        out.extend_from_slice(msg);
        seq = seq.wrapping_add(u32::try_from(msg.len()).unwrap());
    }
    out
}

// ------------------------------------------------------------------ tshark

/// One field (or protocol) of Wireshark's dissection tree.
struct Field {
    name: String,
    show: String,
    depth: usize,
}

/// One frame of the PDML output, its fields in document order.
struct Frame {
    fields: Vec<Field>,
}

impl Frame {
    /// The fields inside field `i`.
    fn descendants(&self, i: usize) -> &[Field] {
        let depth = self.fields[i].depth;
        let rest = &self.fields[i + 1..];
        let end = rest
            .iter()
            .position(|f| f.depth <= depth)
            .unwrap_or(rest.len());
        &rest[..end]
    }

    fn indices<'a>(&'a self, name: &'a str) -> impl Iterator<Item = usize> + 'a {
        (0..self.fields.len()).filter(move |&i| self.fields[i].name == name)
    }

    fn values(&self, name: &str) -> Vec<String> {
        self.indices(name)
            .map(|i| self.fields[i].show.clone())
            .collect()
    }

    fn groups(&self, parent: &str, names: &[&str]) -> Vec<String> {
        self.indices(parent)
            .map(|i| {
                let parts: Vec<String> = self
                    .descendants(i)
                    .iter()
                    .filter(|f| names.contains(&f.name.as_str()))
                    .map(|f| format!("{}={}", f.name.rsplit('.').next().unwrap(), f.show))
                    .collect();
                parts.join(" ")
            })
            .collect()
    }

    /// `address/length`, the length being the nearest `bgp.prefix_length`
    /// before the address at the same depth (within the same prefix node).
    fn prefixes(&self, name: &str) -> Vec<String> {
        self.indices(name)
            .map(|i| {
                let depth = self.fields[i].depth;
                let len = self.fields[..i]
                    .iter()
                    .rev()
                    .take_while(|f| f.depth >= depth)
                    .find(|f| f.depth == depth && f.name == "bgp.prefix_length")
                    .map_or("?", |f| f.show.as_str());
                format!("{}/{len}", self.fields[i].show)
            })
            .collect()
    }

    /// One string per flowspec NLRI: its components, separated by `, `, each
    /// the type code and either the prefix (`addr/len`, IPv6 with `offset N`)
    /// or the operator/value pairs. A pair is `&` when AND is set, then the
    /// flags (`!` not, `<` lt, `>` gt, `=` eq or match) and the value, as
    /// Wireshark shows it. The end-of-list bit must be set on the last pair
    /// only, or the component ends in `(bad end-of-list)`.
    fn flowspec(&self) -> Vec<String> {
        self.indices("bgp.flowspec_nlri")
            .map(|n| {
                let nlri = self.descendants(n);
                let filters: Vec<String> = (0..nlri.len())
                    .filter(|&i| nlri[i].name == "bgp.flowspec_nlri.filter")
                    .map(|i| {
                        let depth = nlri[i].depth;
                        let end = nlri[i + 1..]
                            .iter()
                            .position(|f| f.depth <= depth)
                            .map_or(nlri.len(), |p| i + 1 + p);
                        render_filter(&nlri[i + 1..end])
                    })
                    .collect();
                filters.join(", ")
            })
            .collect()
    }
}

fn render_filter(fields: &[Field]) -> String {
    let get = |name: &str| {
        fields
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.show.as_str())
    };
    let kind = get("bgp.flowspec_nlri.filter_type").unwrap_or("?");
    let v4 = get("bgp.flowspec_nlri.dst_prefix_filter")
        .or_else(|| get("bgp.flowspec_nlri.src_prefix_filter"));
    if let Some(addr) = v4 {
        return format!("{kind} {addr}/{}", get("bgp.prefix_length").unwrap_or("?"));
    }
    let v6 =
        get("bgp.flowspec_nlri.dst_ipv6_pref").or_else(|| get("bgp.flowspec_nlri.src_ipv6_pref"));
    if let Some(addr) = v6 {
        return format!(
            "{kind} {addr}/{} offset {}",
            get("bgp.flowspec_nlri.ipv6_pref_length").unwrap_or("?"),
            get("bgp.flowspec_nlri.ipv6_pref_offset").unwrap_or("?"),
        );
    }
    let mut ops = Vec::new();
    let mut ends = Vec::new();
    let mut op = String::new();
    for f in fields {
        let set = f.show == "1";
        match f.name.as_str() {
            "bgp.flowspec_nlri.opflags" => op.clear(),
            "bgp.flowspec_nlri.op.eol" => ends.push(set),
            "bgp.flowspec_nlri.op.and" if set => op.push('&'),
            "bgp.flowspec_nlri.op.flg_not" if set => op.push('!'),
            "bgp.flowspec_nlri.op.lt" if set => op.push('<'),
            "bgp.flowspec_nlri.op.gt" if set => op.push('>'),
            "bgp.flowspec_nlri.op.equal" | "bgp.flowspec_nlri.op.flg_match" if set => op.push('='),
            "bgp.flowspec_nlri.dec_val_8"
            | "bgp.flowspec_nlri.dec_val_16"
            | "bgp.flowspec_nlri.dec_val_32"
            | "bgp.flowspec_nlri.dec_val_64"
            | "bgp.flowspec_nlri.val_tcp.flags"
            | "bgp.flowspec_nlri.val_frag"
            | "bgp.flowspec_nlri.val_dsfield" => ops.push(format!("{op}{}", f.show)),
            _ => {}
        }
    }
    let mut text = format!("{kind} {}", ops.join(" "));
    let good_end = ends
        .split_last()
        .is_some_and(|(last, rest)| *last && !rest.contains(&true));
    if !good_end || ends.len() != ops.len() {
        text.push_str(" (bad end-of-list)");
    }
    text
}

/// The value of attribute `attr` in a PDML element line, unescaped.
fn attribute(line: &str, attr: &str) -> Option<String> {
    let key = format!(" {attr}=\"");
    let start = line.find(&key)? + key.len();
    let len = line[start..].find('"')?;
    let raw = &line[start..start + len];
    let mut out = String::new();
    let mut rest = raw;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let semi = rest[amp..].find(';').map_or(rest.len(), |s| amp + s);
        let entity = &rest[amp + 1..semi];
        let c = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            e if e.starts_with("#x") => u32::from_str_radix(&e[2..], 16)
                .ok()
                .and_then(char::from_u32),
            e if e.starts_with('#') => e[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match c {
            Some(c) => out.push(c),
            None => out.push_str(&rest[amp..(semi + 1).min(rest.len())]),
        }
        rest = &rest[(semi + 1).min(rest.len())..];
    }
    out.push_str(rest);
    Some(out)
}

/// Parse tshark's PDML: one element per line, `<field .../>` leaves and
/// `<field ...>` / `<proto ...>` nodes closed by their own lines.
fn parse_pdml(pdml: &str) -> Vec<Frame> {
    let mut frames = Vec::new();
    let mut depth = 0usize;
    for line in pdml.lines().map(str::trim) {
        if line.starts_with("<packet>") {
            frames.push(Frame { fields: Vec::new() });
            depth = 0;
        } else if line.starts_with("<field") || line.starts_with("<proto") {
            let frame = frames.last_mut().expect("PDML field outside a packet");
            frame.fields.push(Field {
                name: attribute(line, "name").unwrap_or_default(),
                show: attribute(line, "show").unwrap_or_default(),
                depth,
            });
            if !line.ends_with("/>") {
                depth += 1;
            }
        } else if line.starts_with("</field") || line.starts_with("</proto") {
            depth = depth.saturating_sub(1);
        }
    }
    frames
}

/// Dissect `pcap` with tshark, AS numbers read as `asn_len` ("2 octet" or
/// "4 octet"; Wireshark cannot know which the session negotiated).
fn tshark(pcap: &Path, config: &Path, asn_len: &str) -> Vec<Frame> {
    let program = std::env::var_os("TSHARK").unwrap_or_else(|| "tshark".into());
    let output = Command::new(&program)
        // Personal preferences must not change the dissection.
        .env("WIRESHARK_CONFIG_DIR", config)
        .arg("-n")
        .arg("-r")
        .arg(pcap)
        .args(["-o", "tcp.desegment_tcp_streams:TRUE"])
        .args(["-o", "bgp.desegment:TRUE"])
        .args(["-o", &format!("bgp.asn_len:{asn_len}")])
        .args(["-d", "tcp.port==179,bgp"])
        .args(["-T", "pdml"])
        .output();
    let output = match output {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "tshark is not installed ({}: {e}). This test cross-checks the encoder against \
             Wireshark's BGP dissector and cannot run without it: run scripts/test, which \
             installs it, or `apt-get install tshark` (set TSHARK to use another binary)",
            program.to_string_lossy()
        ),
        Err(e) => panic!("cannot run {}: {e}", program.to_string_lossy()),
    };
    assert!(
        output.status.success(),
        "tshark failed on {} ({}): {}",
        pcap.display(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    parse_pdml(&String::from_utf8(output.stdout).expect("tshark wrote PDML that is not UTF-8"))
}

/// Compare every case with its frame; returns the differences.
fn compare(capture: &str, cases: &[Case], frames: &[Frame]) -> Vec<String> {
    let mut failures = Vec::new();
    if frames.len() != cases.len() {
        failures.push(format!(
            "{capture}: {} messages written, tshark read {} frames",
            cases.len(),
            frames.len()
        ));
    }
    for (n, (case, frame)) in cases.iter().zip(frames).enumerate() {
        let mut differ = |what: String, expected: Vec<String>, actual: Vec<String>| {
            if expected != actual {
                failures.push(format!(
                    "{capture} frame {} ({}): {what}\n    encoded:   {expected:?}\n    \
                     wireshark: {actual:?}",
                    n + 1,
                    case.name
                ));
            }
        };
        // Wireshark must see exactly one message per frame, of the right
        // type and length, with nothing malformed or suspicious in it.
        differ(
            "bgp.type".into(),
            vec![(case.kind as u8).to_string()],
            frame.values("bgp.type"),
        );
        differ(
            "bgp.length".into(),
            vec![case.bytes.len().to_string()],
            frame.values("bgp.length"),
        );
        differ(
            "_ws.malformed".into(),
            vec![],
            frame.values("_ws.malformed"),
        );
        let experts: Vec<String> = frame
            .indices("_ws.expert")
            .filter_map(|i| {
                let fields = frame.descendants(i);
                let get = |name: &str| {
                    fields
                        .iter()
                        .find(|f| f.name == name)
                        .map(|f| f.show.clone())
                };
                // PI_WARN is 0x00600000, PI_ERROR 0x00800000.
                let severity: u32 = get("_ws.expert.severity")?.parse().ok()?;
                (severity >= 0x0060_0000).then(|| get("_ws.expert.message").unwrap_or_default())
            })
            .collect();
        differ(
            "expert infos of severity warning or error".into(),
            vec![],
            experts,
        );

        for check in &case.checks {
            match check {
                Check::Values(field, expected) => {
                    differ(field.to_string(), expected.clone(), frame.values(field))
                }
                Check::Groups(parent, names, expected) => differ(
                    format!("{parent} {names:?}"),
                    expected.clone(),
                    frame.groups(parent, names),
                ),
                Check::Prefixes(field, expected) => differ(
                    format!("{field} with bgp.prefix_length"),
                    expected.clone(),
                    frame.prefixes(field),
                ),
                Check::Flowspec(expected) => differ(
                    "flowspec components".into(),
                    expected.clone(),
                    frame.flowspec(),
                ),
            }
        }
    }
    failures
}

#[test]
fn wireshark_reads_what_ribbit_writes() {
    let dir = std::env::temp_dir().join(format!("ribbit-wire-tshark-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("wireshark-config");
    std::fs::create_dir_all(&config).unwrap();

    let mut failures = Vec::new();
    let mut files: Vec<PathBuf> = Vec::new();
    for (file, asn_len, cases) in [
        ("four-octet-as.pcap", "4 octet", four_octet_session()),
        ("two-octet-as.pcap", "2 octet", two_octet_session()),
    ] {
        let path = dir.join(file);
        let messages: Vec<&[u8]> = cases.iter().map(|c| c.bytes.as_slice()).collect();
        std::fs::write(&path, pcap(&messages)).unwrap();
        let frames = tshark(&path, &config, asn_len);
        failures.extend(compare(file, &cases, &frames));
        files.push(path);
    }

    if failures.is_empty() {
        std::fs::remove_dir_all(&dir).unwrap();
    } else {
        panic!(
            "Wireshark read something other than what was encoded:\n\n{}\n\nThe captures are \
             kept for inspection: {} (tshark -r FILE -d tcp.port==179,bgp -V)",
            failures.join("\n"),
            files
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
}
