//! Every condition and every action, evaluation order, copy-on-write.

use std::net::Ipv4Addr;
use std::sync::Arc;

use ipnet::IpNet;
use ribbit_wire::attribute::{
    AsPath, Community, ExtendedCommunity, LargeCommunity, Segment, SegmentType,
};
use ribbit_wire::update::NextHop;
use ribbit_wire::{Family, Origin, PathAttributes};

use super::*;

fn peer(address: &str, asn: u32, local: Option<&str>) -> PeerFacts {
    PeerFacts {
        address: address.parse().unwrap(),
        asn,
        local_asn: 65000,
        local_address: local.map(|l| l.parse().unwrap()),
    }
}

fn v4_route() -> RouteAttrs {
    RouteAttrs {
        next_hop: NextHop::V4(Ipv4Addr::new(192, 0, 2, 1)),
        attributes: PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::sequence(vec![65001, 65002, 65003])),
            communities: vec![Community::new(65001, 1), Community::new(65001, 2)],
            extended_communities: vec!["target:65001:7".parse().unwrap()],
            large_communities: vec!["65001:1:1".parse().unwrap()],
            ..PathAttributes::default()
        },
    }
}

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

/// A chain of one policy of these rules, defaulting to accept.
fn chain(rules: Vec<Rule>) -> PolicyChain {
    PolicyChain::new(
        vec![Arc::new(Policy {
            name: "p".into(),
            rules,
        })],
        Verdict::Accept,
    )
}

fn matching(condition: Condition) -> Rule {
    Rule {
        conditions: vec![condition],
        verdict: Some(Verdict::Reject),
        ..Rule::default()
    }
}

fn doing(action: Action) -> Rule {
    Rule {
        actions: vec![action],
        ..Rule::default()
    }
}

struct Case {
    family: Family,
    prefix: Option<IpNet>,
    peer: PeerFacts,
    source: Option<PeerFacts>,
}

impl Case {
    fn v4() -> Case {
        Case {
            family: Family::IPV4_UNICAST,
            prefix: Some(net("10.1.0.0/16")),
            peer: peer("192.0.2.1", 65001, Some("192.0.2.254")),
            source: Some(peer("192.0.2.1", 65001, Some("192.0.2.254"))),
        }
    }

    fn run(&self, chain: &PolicyChain, attrs: &RouteAttrs) -> Outcome {
        let subject = Subject {
            family: self.family,
            prefix: self.prefix,
            peer: &self.peer,
            source: self.source.as_ref(),
        };
        chain.apply(&subject, attrs)
    }

    /// Whether a rule that rejects on `condition` rejects the route.
    fn holds(&self, condition: Condition, attrs: &RouteAttrs) -> bool {
        self.run(&chain(vec![matching(condition)]), attrs) == Outcome::Reject
    }

    /// The attributes after one action (the original ones when unchanged).
    fn after(&self, action: Action, attrs: &RouteAttrs) -> RouteAttrs {
        match self.run(&chain(vec![doing(action)]), attrs) {
            Outcome::Accept(Some(a)) => *a,
            Outcome::Accept(None) => attrs.clone(),
            Outcome::Reject => panic!("rejected"),
        }
    }

    /// Whether the action leaves the attributes alone without copying.
    fn unchanged(&self, action: Action, attrs: &RouteAttrs) -> bool {
        self.run(&chain(vec![doing(action)]), attrs) == Outcome::Accept(None)
    }
}

fn prefix_set(entries: &[&str]) -> Arc<PrefixSet> {
    Arc::new(PrefixSet::new(
        "ps",
        entries.iter().map(|e| e.parse::<PrefixEntry>().unwrap()),
    ))
}

fn as_path_set(patterns: &[&str]) -> Arc<AsPathSet> {
    Arc::new(AsPathSet::new("as", patterns.iter().copied()).unwrap())
}

fn communities<T: CommunityValue>(entries: &[&str]) -> Arc<CommunitySet<T>> {
    Arc::new(CommunitySet::parse("cs", entries).unwrap())
}

// ---------------------------------------------------------------- chains

#[test]
fn pass_through() {
    assert!(PolicyChain::accept_all().is_pass_through());
    assert!(!PolicyChain::reject_all().is_pass_through());
    assert!(!chain(Vec::new()).is_pass_through());
    let c = Case::v4();
    let r = v4_route();
    assert_eq!(c.run(&PolicyChain::accept_all(), &r), Outcome::Accept(None));
    assert_eq!(c.run(&PolicyChain::reject_all(), &r), Outcome::Reject);
}

#[test]
fn chain_default_applies_when_no_rule_decides() {
    let c = Case::v4();
    let r = v4_route();
    let no_match = matching(Condition::NeighborAsn(vec![1]));
    let mut ch = chain(vec![no_match]);
    assert_eq!(c.run(&ch, &r), Outcome::Accept(None));
    ch.default = Verdict::Reject;
    assert_eq!(c.run(&ch, &r), Outcome::Reject);
    // Changes made on the way are kept with a default accept.
    let mut ch = chain(vec![doing(Action::Med(Amount::Set(5)))]);
    match c.run(&ch, &r) {
        Outcome::Accept(Some(a)) => assert_eq!(a.attributes.med, Some(5)),
        other => panic!("{other:?}"),
    }
    ch.default = Verdict::Reject;
    assert_eq!(c.run(&ch, &r), Outcome::Reject);
}

#[test]
fn rules_fall_through_and_see_earlier_changes() {
    let c = Case::v4();
    let r = v4_route();
    // Rule 1 tags, rule 2 matches on the tag and sets LOCAL_PREF, rule 3
    // accepts; rule 4 would reject but is never reached.
    let tag = Community::new(65000, 99);
    let rules = vec![
        doing(Action::Communities(CommunityEdit {
            add: vec![tag],
            ..CommunityEdit::default()
        })),
        Rule {
            conditions: vec![Condition::Communities(vec![communities(&["65000:99"])])],
            actions: vec![Action::LocalPref(Amount::Set(300))],
            ..Rule::default()
        },
        Rule {
            verdict: Some(Verdict::Accept),
            ..Rule::default()
        },
        Rule {
            verdict: Some(Verdict::Reject),
            ..Rule::default()
        },
    ];
    let mut ch = chain(rules);
    ch.default = Verdict::Reject;
    match c.run(&ch, &r) {
        Outcome::Accept(Some(a)) => {
            assert_eq!(a.attributes.local_pref, Some(300));
            assert!(a.attributes.communities.contains(&tag));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn verdicts_end_the_whole_chain() {
    let c = Case::v4();
    let r = v4_route();
    let accepting = Arc::new(Policy {
        name: "a".into(),
        rules: vec![Rule {
            actions: vec![Action::Med(Amount::Set(1))],
            verdict: Some(Verdict::Accept),
            ..Rule::default()
        }],
    });
    let rejecting = Arc::new(Policy {
        name: "r".into(),
        rules: vec![Rule {
            verdict: Some(Verdict::Reject),
            ..Rule::default()
        }],
    });
    let ch = PolicyChain::new(vec![accepting.clone(), rejecting.clone()], Verdict::Reject);
    assert!(matches!(c.run(&ch, &r), Outcome::Accept(Some(_))));
    let ch = PolicyChain::new(vec![rejecting, accepting], Verdict::Accept);
    assert_eq!(c.run(&ch, &r), Outcome::Reject);
    assert!(ch.uses("a") && ch.uses("r") && !ch.uses("x"));
}

#[test]
fn next_policy_after_the_end_of_one() {
    let c = Case::v4();
    let r = v4_route();
    let first = Arc::new(Policy {
        name: "first".into(),
        rules: vec![doing(Action::Med(Amount::Set(10)))],
    });
    let second = Arc::new(Policy {
        name: "second".into(),
        rules: vec![doing(Action::Med(Amount::Add(5)))],
    });
    let ch = PolicyChain::new(vec![first, second], Verdict::Accept);
    match c.run(&ch, &r) {
        Outcome::Accept(Some(a)) => assert_eq!(a.attributes.med, Some(15)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_rule_without_conditions_always_matches() {
    let c = Case::v4();
    assert_eq!(
        c.run(
            &chain(vec![Rule {
                verdict: Some(Verdict::Reject),
                ..Rule::default()
            }]),
            &v4_route()
        ),
        Outcome::Reject
    );
}

#[test]
fn all_conditions_of_a_rule_must_hold() {
    let c = Case::v4();
    let r = v4_route();
    let both = |asn: u32, origin: Origin| Rule {
        conditions: vec![
            Condition::NeighborAsn(vec![asn]),
            Condition::Origin(vec![origin]),
        ],
        verdict: Some(Verdict::Reject),
        ..Rule::default()
    };
    assert_eq!(
        c.run(&chain(vec![both(65001, Origin::Igp)]), &r),
        Outcome::Reject
    );
    assert_eq!(
        c.run(&chain(vec![both(65001, Origin::Egp)]), &r),
        Outcome::Accept(None)
    );
    assert_eq!(
        c.run(&chain(vec![both(1, Origin::Igp)]), &r),
        Outcome::Accept(None)
    );
}

// ------------------------------------------------------------ conditions

#[test]
fn prefix_condition() {
    let c = Case::v4();
    let r = v4_route();
    assert!(c.holds(
        Condition::Prefix(vec![prefix_set(&["10.0.0.0/8 le 16"])]),
        &r
    ));
    assert!(!c.holds(Condition::Prefix(vec![prefix_set(&["10.0.0.0/8"])]), &r));
    // Any of the sets.
    assert!(c.holds(
        Condition::Prefix(vec![
            prefix_set(&["10.0.0.0/8"]),
            prefix_set(&["10.1.0.0/16"])
        ]),
        &r
    ));
    // An IPv6 entry does not match an IPv4 prefix.
    assert!(!c.holds(Condition::Prefix(vec![prefix_set(&["::/0 le 128"])]), &r));
    // No prefix (Flowspec): never.
    let flow = Case {
        family: Family::IPV4_FLOWSPEC,
        prefix: None,
        ..Case::v4()
    };
    assert!(!flow.holds(
        Condition::Prefix(vec![prefix_set(&["0.0.0.0/0 le 32"])]),
        &r
    ));
}

#[test]
fn as_path_conditions() {
    let c = Case::v4();
    let r = v4_route();
    assert!(c.holds(Condition::AsPath(vec![as_path_set(&["_65002_"])]), &r));
    assert!(c.holds(Condition::AsPath(vec![as_path_set(&["^65001_"])]), &r));
    assert!(c.holds(Condition::AsPath(vec![as_path_set(&["_65003$"])]), &r));
    assert!(!c.holds(Condition::AsPath(vec![as_path_set(&["_65003_65002_"])]), &r));
    assert!(c.holds(
        Condition::AsPath(vec![as_path_set(&["^1$"]), as_path_set(&["65002"])]),
        &r
    ));
    // A missing AS_PATH is the empty text.
    let mut none = v4_route();
    none.attributes.as_path = None;
    assert!(c.holds(Condition::AsPath(vec![as_path_set(&["^$"])]), &none));
    // An AS_SET in braces.
    let mut set = v4_route();
    set.attributes.as_path = Some(AsPath {
        segments: vec![
            Segment {
                kind: SegmentType::Sequence,
                asns: vec![65001],
            },
            Segment {
                kind: SegmentType::Set,
                asns: vec![7, 8],
            },
        ],
    });
    assert!(c.holds(
        Condition::AsPath(vec![as_path_set(&["^65001 \\{7,8\\}$"])]),
        &set
    ));
    assert!(c.holds(Condition::AsPath(vec![as_path_set(&["_8_"])]), &set));

    let len = |min, max| Condition::AsPathLength { min, max };
    assert!(c.holds(len(3, 3), &r));
    assert!(c.holds(len(0, 3), &r));
    assert!(!c.holds(len(4, 10), &r));
    assert!(!c.holds(len(0, 2), &r));
    assert!(c.holds(len(0, 0), &none));
    // An AS_SET counts one.
    assert!(c.holds(len(2, 2), &set));
}

#[test]
fn a_prepend_changes_what_later_as_path_conditions_see() {
    let c = Case::v4();
    let rules = vec![
        // Builds the text once (no match)...
        matching(Condition::AsPath(vec![as_path_set(&["^65000_"])])),
        // ...then changes the path...
        doing(Action::AsPathPrepend {
            asn: None,
            count: 1,
        }),
        // ...and this must see the new text.
        matching(Condition::AsPath(vec![as_path_set(&["^65000 65001_"])])),
    ];
    assert_eq!(c.run(&chain(rules), &v4_route()), Outcome::Reject);
}

#[test]
fn community_conditions() {
    let c = Case::v4();
    let r = v4_route();
    assert!(c.holds(Condition::Communities(vec![communities(&["65001:2"])]), &r));
    assert!(c.holds(Condition::Communities(vec![communities(&["65001:*"])]), &r));
    assert!(!c.holds(
        Condition::Communities(vec![communities(&["65002:*", "no-export"])]),
        &r
    ));
    assert!(c.holds(
        Condition::ExtendedCommunities(vec![communities::<ExtendedCommunity>(&["target:65001:*"])]),
        &r
    ));
    assert!(!c.holds(
        Condition::ExtendedCommunities(vec![communities::<ExtendedCommunity>(&["origin:65001:*"])]),
        &r
    ));
    assert!(c.holds(
        Condition::LargeCommunities(vec![communities::<LargeCommunity>(&["65001:*:1"])]),
        &r
    ));
    assert!(!c.holds(
        Condition::LargeCommunities(vec![communities::<LargeCommunity>(&["65001:*:2"])]),
        &r
    ));
    let mut bare = v4_route();
    bare.attributes.communities.clear();
    assert!(!c.holds(Condition::Communities(vec![communities(&["*:*"])]), &bare));
}

#[test]
fn neighbor_and_source_conditions() {
    let c = Case::v4();
    let r = v4_route();
    assert!(c.holds(Condition::Neighbor(vec![net("192.0.2.1/32")]), &r));
    assert!(c.holds(
        Condition::Neighbor(vec![net("2001:db8::/32"), net("192.0.2.0/24")]),
        &r
    ));
    assert!(!c.holds(Condition::Neighbor(vec![net("192.0.2.2/32")]), &r));
    assert!(c.holds(Condition::NeighborAsn(vec![1, 65001]), &r));
    assert!(!c.holds(Condition::NeighborAsn(vec![65002]), &r));

    // On export: the peer is the receiver, the source another neighbor.
    let export = Case {
        peer: peer("198.51.100.9", 65009, Some("198.51.100.1")),
        ..Case::v4()
    };
    assert!(export.holds(Condition::Source(vec![net("192.0.2.0/24")]), &r));
    assert!(!export.holds(Condition::Source(vec![net("198.51.100.0/24")]), &r));
    assert!(export.holds(Condition::SourceAsn(vec![65001]), &r));
    assert!(!export.holds(Condition::SourceAsn(vec![65009]), &r));
    assert!(!export.holds(Condition::Neighbor(vec![net("192.0.2.0/24")]), &r));
    // A local route has no source.
    let local = Case {
        source: None,
        ..Case::v4()
    };
    assert!(!local.holds(Condition::Source(vec![net("0.0.0.0/0"), net("::/0")]), &r));
    assert!(!local.holds(Condition::SourceAsn(vec![65001]), &r));
    assert!(local.holds(
        Condition::Not(Box::new(Condition::Source(vec![net("0.0.0.0/0")]))),
        &r
    ));
}

#[test]
fn next_hop_origin_family_conditions() {
    let c = Case::v4();
    let r = v4_route();
    assert!(c.holds(Condition::NextHop(vec![net("192.0.2.0/24")]), &r));
    assert!(!c.holds(Condition::NextHop(vec![net("192.0.3.0/24")]), &r));
    let mut v6 = v4_route();
    v6.next_hop = NextHop::V6 {
        global: "2001:db8::1".parse().unwrap(),
        link_local: Some("fe80::1".parse().unwrap()),
    };
    assert!(c.holds(Condition::NextHop(vec![net("2001:db8::/32")]), &v6));
    assert!(c.holds(Condition::NextHop(vec![net("fe80::/10")]), &v6));
    assert!(!c.holds(Condition::NextHop(vec![net("0.0.0.0/0")]), &v6));
    let mut flow = v4_route();
    flow.next_hop = NextHop::Empty;
    assert!(!c.holds(
        Condition::NextHop(vec![net("0.0.0.0/0"), net("::/0")]),
        &flow
    ));

    assert!(c.holds(Condition::Origin(vec![Origin::Egp, Origin::Igp]), &r));
    assert!(!c.holds(Condition::Origin(vec![Origin::Incomplete]), &r));
    let mut no_origin = v4_route();
    no_origin.attributes.origin = None;
    assert!(!c.holds(
        Condition::Origin(vec![Origin::Igp, Origin::Egp, Origin::Incomplete]),
        &no_origin
    ));

    assert!(c.holds(Condition::Family(vec![Family::IPV4_UNICAST]), &r));
    assert!(!c.holds(Condition::Family(vec![Family::IPV6_UNICAST]), &r));
}

#[test]
fn not_condition() {
    let c = Case::v4();
    let r = v4_route();
    assert!(!c.holds(
        Condition::Not(Box::new(Condition::NeighborAsn(vec![65001]))),
        &r
    ));
    assert!(c.holds(
        Condition::Not(Box::new(Condition::NeighborAsn(vec![65002]))),
        &r
    ));
}

// --------------------------------------------------------------- actions

#[test]
fn local_pref_and_med() {
    let c = Case::v4();
    let r = v4_route();
    // No LOCAL_PREF: `+`/`-` start from 100.
    assert_eq!(
        c.after(Action::LocalPref(Amount::Set(200)), &r)
            .attributes
            .local_pref,
        Some(200)
    );
    assert_eq!(
        c.after(Action::LocalPref(Amount::Add(10)), &r)
            .attributes
            .local_pref,
        Some(110)
    );
    assert_eq!(
        c.after(Action::LocalPref(Amount::Subtract(10)), &r)
            .attributes
            .local_pref,
        Some(90)
    );
    let mut high = v4_route();
    high.attributes.local_pref = Some(u32::MAX - 5);
    high.attributes.med = Some(3);
    // Saturation both ways.
    assert_eq!(
        c.after(Action::LocalPref(Amount::Add(10)), &high)
            .attributes
            .local_pref,
        Some(u32::MAX)
    );
    assert_eq!(
        c.after(Action::Med(Amount::Subtract(10)), &high)
            .attributes
            .med,
        Some(0)
    );
    assert_eq!(
        c.after(Action::Med(Amount::Add(u32::MAX)), &high)
            .attributes
            .med,
        Some(u32::MAX)
    );
    // No MED counts as 0.
    assert_eq!(
        c.after(Action::Med(Amount::Add(7)), &r).attributes.med,
        Some(7)
    );
    assert_eq!(
        c.after(Action::Med(Amount::Set(9)), &r).attributes.med,
        Some(9)
    );
    // Setting what is there copies nothing.
    assert!(c.unchanged(Action::Med(Amount::Set(3)), &high));
    assert!(c.unchanged(Action::Med(Amount::Add(0)), &high));
    let mut top = v4_route();
    top.attributes.local_pref = Some(u32::MAX);
    assert!(c.unchanged(Action::LocalPref(Amount::Add(10)), &top));
}

#[test]
fn community_edits() {
    let c = Case::v4();
    let r = v4_route();
    let edit = |set: Option<&[&str]>, remove: &[&str], add: &[&str]| {
        Action::Communities(CommunityEdit {
            set: set.map(|s| s.iter().map(|t| t.parse().unwrap()).collect()),
            remove: if remove.is_empty() {
                vec![]
            } else {
                vec![communities(remove)]
            },
            add: add.iter().map(|t| t.parse().unwrap()).collect(),
        })
    };
    let list = |a: RouteAttrs| -> Vec<String> {
        a.attributes
            .communities
            .iter()
            .map(ToString::to_string)
            .collect()
    };
    assert_eq!(
        list(c.after(edit(None, &[], &["no-export"]), &r)),
        ["65001:1", "65001:2", "no-export"]
    );
    // Adding one already there changes nothing.
    assert!(c.unchanged(edit(None, &[], &["65001:1"]), &r));
    // Remove with a pattern.
    assert_eq!(
        list(c.after(edit(None, &["65001:*"], &[]), &r)),
        Vec::<String>::new()
    );
    assert_eq!(list(c.after(edit(None, &["*:2"], &[]), &r)), ["65001:1"]);
    assert!(c.unchanged(edit(None, &["65002:*"], &[]), &r));
    // Set, then remove, then add.
    assert_eq!(
        list(c.after(edit(Some(&["1:1", "2:2"]), &["1:*"], &["3:3"]), &r)),
        ["2:2", "3:3"]
    );
    assert!(c.unchanged(edit(Some(&["65001:1", "65001:2"]), &[], &[]), &r));
    assert_eq!(
        list(c.after(edit(Some(&[]), &[], &[]), &r)),
        Vec::<String>::new()
    );
    // Remove by several sets: any of them.
    let two = Action::Communities(CommunityEdit {
        remove: vec![communities(&["65001:1"]), communities(&["65001:2"])],
        ..CommunityEdit::default()
    });
    assert_eq!(list(c.after(two, &r)), Vec::<String>::new());

    let ext = Action::ExtendedCommunities(CommunityEdit {
        remove: vec![communities::<ExtendedCommunity>(&["target:*:*"])],
        add: vec!["origin:65000:1".parse().unwrap()],
        ..CommunityEdit::default()
    });
    let after = c.after(ext, &r);
    assert_eq!(
        after.attributes.extended_communities,
        vec!["origin:65000:1".parse::<ExtendedCommunity>().unwrap()]
    );
    let large = Action::LargeCommunities(CommunityEdit {
        set: Some(vec!["65000:0:0".parse().unwrap()]),
        remove: vec![communities::<LargeCommunity>(&["65000:*:*"])],
        add: vec!["65000:1:1".parse().unwrap()],
    });
    assert_eq!(
        c.after(large, &r).attributes.large_communities,
        vec!["65000:1:1".parse::<LargeCommunity>().unwrap()]
    );
}

#[test]
fn as_path_prepend() {
    let c = Case::v4();
    let r = v4_route();
    let after = c.after(
        Action::AsPathPrepend {
            asn: None,
            count: 2,
        },
        &r,
    );
    assert_eq!(
        after.attributes.as_path,
        Some(AsPath::sequence(vec![65000, 65000, 65001, 65002, 65003]))
    );
    let after = c.after(
        Action::AsPathPrepend {
            asn: Some(64999),
            count: 1,
        },
        &r,
    );
    assert_eq!(
        after.attributes.as_path,
        Some(AsPath::sequence(vec![64999, 65001, 65002, 65003]))
    );
    let mut none = v4_route();
    none.attributes.as_path = None;
    let after = c.after(
        Action::AsPathPrepend {
            asn: None,
            count: 1,
        },
        &none,
    );
    assert_eq!(
        after.attributes.as_path,
        Some(AsPath::sequence(vec![65000]))
    );
    assert!(c.unchanged(
        Action::AsPathPrepend {
            asn: None,
            count: 0
        },
        &r
    ));
}

#[test]
fn next_hop_actions() {
    let r = v4_route();
    // IPv4 session, IPv4 route.
    let c = Case::v4();
    assert_eq!(
        c.after(Action::NextHop(NextHopAction::SelfAddress), &r)
            .next_hop,
        NextHop::V4(Ipv4Addr::new(192, 0, 2, 254))
    );
    assert_eq!(
        c.after(Action::NextHop(NextHopAction::Peer), &r).next_hop,
        NextHop::V4(Ipv4Addr::new(192, 0, 2, 1))
    );
    assert!(
        c.unchanged(Action::NextHop(NextHopAction::Peer), &r),
        "already the peer's"
    );
    assert_eq!(
        c.after(
            Action::NextHop(NextHopAction::Address("198.51.100.1".parse().unwrap())),
            &r
        )
        .next_hop,
        NextHop::V4(Ipv4Addr::new(198, 51, 100, 1))
    );
    // An IPv6 address cannot be an IPv4 route's next hop (RFC 8950 is not used here).
    assert!(c.unchanged(
        Action::NextHop(NextHopAction::Address("2001:db8::1".parse().unwrap())),
        &r
    ));
    // No local address known: unchanged.
    let unknown = Case {
        peer: peer("192.0.2.1", 65001, None),
        ..Case::v4()
    };
    assert!(unknown.unchanged(Action::NextHop(NextHopAction::SelfAddress), &r));

    // IPv6 session, IPv6 route.
    let v6 = Case {
        family: Family::IPV6_UNICAST,
        prefix: Some(net("2001:db8:1::/48")),
        peer: peer("2001:db8::2", 65001, Some("2001:db8::1")),
        source: None,
    };
    let mut r6 = v4_route();
    r6.next_hop = NextHop::V6 {
        global: "2001:db8::99".parse().unwrap(),
        link_local: Some("fe80::99".parse().unwrap()),
    };
    assert_eq!(
        v6.after(Action::NextHop(NextHopAction::SelfAddress), &r6)
            .next_hop,
        NextHop::V6 {
            global: "2001:db8::1".parse().unwrap(),
            link_local: None
        }
    );
    // IPv6 route over an IPv4 session: the mapped address.
    let mixed = Case {
        peer: peer("192.0.2.1", 65001, Some("192.0.2.254")),
        ..v6
    };
    assert_eq!(
        mixed
            .after(Action::NextHop(NextHopAction::SelfAddress), &r6)
            .next_hop,
        NextHop::V6 {
            global: Ipv4Addr::new(192, 0, 2, 254).to_ipv6_mapped(),
            link_local: None
        }
    );
    // Flowspec has no next hop to change.
    let mut flow = v4_route();
    flow.next_hop = NextHop::Empty;
    assert!(c.unchanged(Action::NextHop(NextHopAction::SelfAddress), &flow));
}

#[test]
fn origin_action() {
    let c = Case::v4();
    let r = v4_route();
    assert_eq!(
        c.after(Action::Origin(Origin::Incomplete), &r)
            .attributes
            .origin,
        Some(Origin::Incomplete)
    );
    assert!(c.unchanged(Action::Origin(Origin::Igp), &r));
}

#[test]
fn copy_on_write() {
    let c = Case::v4();
    let r = v4_route();
    // MED absent: subtracting from 0 gives 0, which is a change (MED now present).
    let rules = vec![Rule {
        conditions: vec![Condition::NeighborAsn(vec![65001])],
        actions: vec![
            Action::Origin(Origin::Igp),
            Action::Med(Amount::Subtract(1)),
        ],
        verdict: Some(Verdict::Accept),
        ..Rule::default()
    }];
    assert!(matches!(c.run(&chain(rules), &r), Outcome::Accept(Some(_))));
    // Matches but changes nothing: no copy.
    let rules = vec![Rule {
        actions: vec![
            Action::Origin(Origin::Igp),
            Action::LocalPref(Amount::Set(100)),
        ],
        ..Rule::default()
    }];
    let mut with_lp = v4_route();
    with_lp.attributes.local_pref = Some(100);
    assert_eq!(c.run(&chain(rules), &with_lp), Outcome::Accept(None));
    // Changes that undo each other: no new attributes.
    let rules = vec![
        doing(Action::Med(Amount::Set(1))),
        doing(Action::Communities(CommunityEdit {
            add: vec![Community::new(1, 1)],
            ..CommunityEdit::default()
        })),
        doing(Action::Communities(CommunityEdit {
            remove: vec![communities(&["1:1"])],
            ..CommunityEdit::default()
        })),
    ];
    let mut with_med = v4_route();
    with_med.attributes.med = Some(1);
    assert_eq!(c.run(&chain(rules), &with_med), Outcome::Accept(None));
    // A rejected route's changes do not matter.
    let rules = vec![
        doing(Action::Med(Amount::Set(5))),
        matching(Condition::NeighborAsn(vec![65001])),
    ];
    assert_eq!(c.run(&chain(rules), &r), Outcome::Reject);
}

// -------------------------------------------------------------- registry

#[test]
fn registry_builds_chains() {
    let mut p = Policies::new();
    assert!(p.is_empty());
    p.insert(Policy {
        name: "a".into(),
        rules: vec![],
    });
    p.insert(Policy {
        name: "b".into(),
        rules: vec![],
    });
    assert_eq!(p.len(), 2);
    let ch = p.chain(&["b", "a"], Verdict::Reject).unwrap();
    let names: Vec<&str> = ch.policies.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["b", "a"]);
    assert_eq!(ch.default, Verdict::Reject);
    // Shared, not copied.
    assert!(Arc::ptr_eq(&ch.policies[1], p.get("a").unwrap()));
    let e = p.chain(&["a", "nope"], Verdict::Accept).unwrap_err();
    assert_eq!(e, UnknownPolicy("nope".into()));
    assert_eq!(e.to_string(), "there is no policy named \"nope\"");
    let empty: [&str; 0] = [];
    assert!(p.chain(&empty, Verdict::Accept).unwrap().is_pass_through());
    assert!(p
        .insert(Policy {
            name: "a".into(),
            rules: vec![Rule::default()]
        })
        .is_some());
    assert_eq!(p.get("a").unwrap().rules.len(), 1);
    assert!(p.remove("a").is_some());
    assert_eq!(p.iter().count(), 1);
}

#[test]
fn verdicts_and_amounts_parse() {
    assert_eq!("accept".parse::<Verdict>(), Ok(Verdict::Accept));
    assert_eq!("reject".parse::<Verdict>(), Ok(Verdict::Reject));
    assert!("deny".parse::<Verdict>().is_err());
    assert_eq!(Verdict::Reject.to_string(), "reject");
    assert_eq!("200".parse::<Amount>(), Ok(Amount::Set(200)));
    assert_eq!("+10".parse::<Amount>(), Ok(Amount::Add(10)));
    assert_eq!("-10".parse::<Amount>(), Ok(Amount::Subtract(10)));
    for bad in ["", "+", "--1", "+-1", "++1", "4294967296", "ten", "1.5"] {
        assert!(bad.parse::<Amount>().is_err(), "{bad}");
    }
    assert_eq!(
        "x".parse::<Amount>().unwrap_err().to_string(),
        "\"x\" is not a value from 0 to 4294967295, +N or -N"
    );
    assert_eq!(Amount::Subtract(3).to_string(), "-3");
}

#[test]
fn addresses_and_prefixes() {
    assert_eq!(
        parse_address_or_prefix("192.0.2.1"),
        Ok(net("192.0.2.1/32"))
    );
    assert_eq!(
        parse_address_or_prefix("2001:db8::/32"),
        Ok(net("2001:db8::/32"))
    );
    assert_eq!(
        parse_address_or_prefix("192.0.2.1/24")
            .unwrap_err()
            .to_string(),
        "\"192.0.2.1/24\" has host bits set (the network is 192.0.2.0/24)"
    );
    assert_eq!(
        parse_address_or_prefix("peer").unwrap_err().to_string(),
        "\"peer\" is not an IP address or prefix"
    );
}
