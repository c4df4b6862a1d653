//! Flowspec validation (RFC 8955 §6) through the RIB: rules that fail are
//! kept but never best, so a neighbor never receives them, and they come
//! back when unicast routing makes them valid.

use ribbit_wire::nlri::flowspec::{Component, FlowPrefix, FlowspecNlri};
use ribbit_wire::update::{MpNlri, MpReach, MpUnreach, Update};
use ribbit_wire::{Family, NextHop};

use super::tests::{announce, attrs, drain, pfx, rib, session, withdraw, Received, V4};
use super::*;
use crate::flow_validation::FlowInvalid;

const FLOW4: Family = Family::IPV4_FLOWSPEC;

/// A neighbor up with IPv4 unicast and IPv4 Flowspec.
fn flow_peer(rib: &mut Rib, n: u8, asn: u32, f: impl FnOnce(&mut PeerConfig)) -> PeerId {
    let mut c = PeerConfig::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, n)), asn, 65000);
    f(&mut c);
    let id = rib.add_peer(c);
    let mut s = session(&format!("10.0.1.{n}"), "192.0.2.254");
    s.families = vec![V4, FLOW4];
    rib.peer_up(id, s);
    id
}

fn rule(dest: &str) -> FlowspecNlri {
    FlowspecNlri {
        path_id: None,
        rd: None,
        components: vec![Component::DestinationPrefix(FlowPrefix::new(pfx(dest), 0))],
    }
}

fn announce_flow(dest: &str, path: &[u32]) -> Update {
    let mut a = attrs(path, "192.0.2.1");
    a.next_hop = None;
    Update {
        attributes: a,
        mp_reach: Some(MpReach {
            family: FLOW4,
            next_hop: NextHop::Empty,
            nlri: MpNlri::Decoded(NlriList::Flowspec(vec![rule(dest)])),
        }),
        ..Update::default()
    }
}

fn withdraw_flow(dest: &str) -> Update {
    Update {
        mp_unreach: Some(MpUnreach {
            family: FLOW4,
            nlri: MpNlri::Decoded(NlriList::Flowspec(vec![rule(dest)])),
        }),
        ..Update::default()
    }
}

/// The destination prefixes of the rules the Loc-RIB holds as best.
fn best_rules(rib: &Rib) -> Vec<String> {
    rib.loc_rib(FLOW4)
        .filter_map(|r| match &r.nlri {
            NlriList::Flowspec(v) => v.first().and_then(|f| {
                f.components.iter().find_map(|c| match c {
                    Component::DestinationPrefix(p) => Some(p.prefix.to_string()),
                    _ => None,
                })
            }),
            _ => None,
        })
        .collect()
}

#[test]
fn rules_are_valid_only_from_whoever_routes_the_destination() {
    let mut rib = rib();
    let a = flow_peer(&mut rib, 1, 65001, |_| {});
    let b = flow_peer(&mut rib, 2, 65002, |_| {});
    let ibgp = flow_peer(&mut rib, 3, 65000, |_| {});
    rib.apply_update(a, &announce(&["10.0.0.0/8"], attrs(&[65001], "192.0.2.1")));
    rib.apply_update(a, &announce_flow("10.1.0.0/24", &[65001]));
    rib.apply_update(b, &announce_flow("10.2.0.0/24", &[65002]));
    // A routes 10.0.0.0/8: its rule is valid; B's is not (rule b).
    assert_eq!(best_rules(&rib), vec!["10.1.0.0/24"]);
    assert_eq!(
        rib.flow_invalid(FLOW4, b, &rule("10.2.0.0/24")),
        Some(FlowInvalid::OtherOriginator)
    );
    let list = NlriList::Flowspec(vec![rule("10.2.0.0/24")]);
    let d = rib
        .destination(FLOW4, list.iter().next().expect("one rule"))
        .expect("B's rule is held");
    assert_eq!(d.paths[0].ineligible, Some(Ineligible::FlowspecValidation));
    // B comes to route 10.2.0.0/16: its rule becomes valid.
    rib.apply_update(b, &announce(&["10.2.0.0/16"], attrs(&[65002], "192.0.2.2")));
    assert_eq!(best_rules(&rib), vec!["10.1.0.0/24", "10.2.0.0/24"]);
    assert_eq!(rib.flow_invalid(FLOW4, b, &rule("10.2.0.0/24")), None);
    // A more specific route from another AS inside A's rule (rule c).
    rib.apply_update(b, &announce(&["10.1.0.0/25"], attrs(&[65002], "192.0.2.2")));
    assert_eq!(best_rules(&rib), vec!["10.2.0.0/24"]);
    assert_eq!(
        rib.flow_invalid(FLOW4, a, &rule("10.1.0.0/24")),
        Some(FlowInvalid::MoreSpecificFromOtherAs)
    );
    rib.apply_update(b, &withdraw(&["10.1.0.0/25"]));
    assert_eq!(best_rules(&rib), vec!["10.1.0.0/24", "10.2.0.0/24"]);
    // B goes away: its unicast routes and its rule with it.
    rib.peer_down(b, None);
    assert_eq!(best_rules(&rib), vec!["10.1.0.0/24"]);
    // From iBGP, validation is off by default.
    rib.apply_update(ibgp, &announce_flow("192.0.2.0/24", &[]));
    assert_eq!(best_rules(&rib), vec!["10.1.0.0/24", "192.0.2.0/24"]);
    // An eBGP neighbor configured not to be validated is taken as it comes.
    let trusted = flow_peer(&mut rib, 5, 65005, |c| c.flowspec_validation = false);
    rib.apply_update(trusted, &announce_flow("198.51.100.0/24", &[65005]));
    assert!(best_rules(&rib).contains(&"198.51.100.0/24".to_string()));
    rib.apply_update(a, &withdraw_flow("10.1.0.0/24"));
    assert!(!best_rules(&rib).contains(&"10.1.0.0/24".to_string()));
}

#[test]
fn a_neighbor_only_receives_valid_rules() {
    let mut rib = rib();
    let a = flow_peer(&mut rib, 1, 65001, |_| {});
    let b = flow_peer(&mut rib, 2, 65002, |_| {});
    let mon = flow_peer(&mut rib, 4, 65004, |_| {});
    let mut seen = Received::default();
    drain(&mut rib, mon, &mut seen);
    rib.apply_update(a, &announce(&["10.0.0.0/8"], attrs(&[65001], "192.0.2.1")));
    rib.apply_update(b, &announce_flow("10.2.0.0/24", &[65002]));
    rib.apply_update(a, &announce_flow("10.1.0.0/24", &[65001]));
    drain(&mut rib, mon, &mut seen);
    let sent: Vec<String> = rib
        .adj_rib_out(mon, FLOW4)
        .iter()
        .map(|r| format!("{:?}", r.nlri))
        .collect();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].contains("10.1.0.0/24"), "{sent:?}");
    // B's rule becomes valid: it is sent too.
    rib.apply_update(b, &announce(&["10.2.0.0/16"], attrs(&[65002], "192.0.2.2")));
    drain(&mut rib, mon, &mut seen);
    assert_eq!(rib.adj_rib_out(mon, FLOW4).len(), 2);
}
