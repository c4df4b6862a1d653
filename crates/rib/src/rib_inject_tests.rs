//! Routes injected for neighbors ([`Rib::inject`]): ExaBGP's semantics,
//! checked on the messages each neighbor gets, decoded back.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ribbit_wire::attribute::{AsPath, Community, Origin, PathAttributes};
use ribbit_wire::nlri::{NlriList, PrefixNlri};
use ribbit_wire::route_refresh::RefreshSubtype;
use ribbit_wire::{DecodeContext, Family, Message, NextHop};

use super::tests::{
    announce, attrs, drain, ip, peer, pfx, rib, session, v4, withdraw, Received, LOCAL_AS, V4, V6,
};
use super::*;

fn nlri(prefixes: &[&str]) -> NlriList {
    NlriList::Prefixes(
        prefixes
            .iter()
            .map(|p| PrefixNlri {
                path_id: None,
                prefix: pfx(p),
            })
            .collect(),
    )
}

fn with_id(prefix: &str, id: u32) -> NlriList {
    NlriList::Prefixes(vec![PrefixNlri {
        path_id: Some(id),
        prefix: pfx(prefix),
    }])
}

/// A route as a program gives it: next hop, MED, maybe LOCAL_PREF, no
/// ORIGIN or AS_PATH.
fn given(nh: &str, med: u32, local_pref: Option<u32>) -> Injection {
    Injection {
        next_hop: InjectNextHop::Given(NextHop::V4(v4(nh))),
        attributes: PathAttributes {
            med: Some(med),
            local_pref,
            communities: vec![Community::NO_EXPORT],
            ..PathAttributes::default()
        },
    }
}

/// A neighbor added but not up yet.
fn added(rib: &mut Rib, n: u8, asn: u32) -> PeerId {
    rib.add_peer(PeerConfig::new(
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, n)),
        asn,
        LOCAL_AS,
    ))
}

fn up(rib: &mut Rib, p: PeerId, n: u8) {
    rib.peer_up(p, session(&format!("10.0.1.{n}"), "192.0.2.254"));
}

fn got(rib: &mut Rib, p: PeerId) -> Received {
    let mut r = Received::default();
    drain(rib, p, &mut r);
    r
}

/// Every message due for a neighbor, decoded, in order.
fn messages(rib: &mut Rib, p: PeerId) -> Vec<Message> {
    let ctx: DecodeContext = EncodeContext::default().mirror();
    let mut all = Vec::new();
    while rib.has_pending(p) {
        let mut out = Vec::new();
        rib.take_messages(p, 64 * 1024, &mut out);
        all.extend(out.iter().map(|m| Message::decode(m, &ctx).unwrap()));
    }
    all
}

#[test]
fn ebgp_and_ibgp_get_exabgp_defaults_and_nobody_else_gets_them() {
    let mut rib = rib();
    let ebgp = peer(&mut rib, 2, 65002);
    let ibgp = peer(&mut rib, 3, LOCAL_AS);
    let other = peer(&mut rib, 4, 65004);
    for p in [ebgp, ibgp, other] {
        got(&mut rib, p);
    }
    let n = rib
        .inject(
            &[ebgp, ibgp],
            V4,
            &nlri(&["10.9.0.0/24"]),
            &given("192.0.2.50", 10, Some(300)),
        )
        .unwrap();
    assert_eq!(n, 2);
    let n = rib
        .inject(
            &[ibgp],
            V4,
            &nlri(&["10.9.1.0/24"]),
            &given("192.0.2.51", 11, None),
        )
        .unwrap();
    assert_eq!(n, 1);

    let e = got(&mut rib, ebgp);
    let (nh, a) = e.get("10.9.0.0/24").expect("eBGP neighbor got it");
    assert_eq!(*nh, NextHop::V4(v4("192.0.2.50")), "the next hop as given");
    assert_eq!(a.origin, Some(Origin::Igp), "ORIGIN added");
    assert_eq!(a.as_path, Some(AsPath::sequence(vec![LOCAL_AS])), "our AS");
    assert_eq!(a.local_pref, None, "no LOCAL_PREF on eBGP");
    assert_eq!(a.med, Some(10), "MED kept");
    // NO_EXPORT does not hold an injected route back from eBGP: it goes
    // as given.
    assert_eq!(a.communities, vec![Community::NO_EXPORT]);
    assert!(e.get("10.9.1.0/24").is_none());

    let i = got(&mut rib, ibgp);
    let (_, a) = i.get("10.9.0.0/24").unwrap();
    assert_eq!(a.as_path, Some(AsPath::default()), "empty AS_PATH on iBGP");
    assert_eq!(a.local_pref, Some(300), "LOCAL_PREF as given");
    let (nh, a) = i.get("10.9.1.0/24").unwrap();
    assert_eq!(*nh, NextHop::V4(v4("192.0.2.51")));
    assert_eq!(a.local_pref, Some(100), "LOCAL_PREF 100 when absent");

    // Not part of the decision, not sent to anyone else.
    assert!(rib.destination_prefix(V4, pfx("10.9.0.0/24")).is_none());
    assert_eq!(rib.loc_rib(V4).count(), 0);
    assert!(!rib.has_pending(other));
    assert_eq!(rib.injected(ibgp, V4).len(), 2);
    assert_eq!(rib.injected_count(ebgp), 1);
    assert_eq!(
        rib.stats().peers[usize::try_from(ebgp.0).unwrap()].families[0].advertised,
        1
    );
}

#[test]
fn next_hop_self_is_our_session_address() {
    let mut rib = rib();
    let e = peer(&mut rib, 2, 65002);
    let local = Injection {
        next_hop: InjectNextHop::Local,
        attributes: PathAttributes::default(),
    };
    rib.inject(&[e], V4, &nlri(&["10.1.0.0/16"]), &local)
        .unwrap();
    let v6 = NlriList::Prefixes(vec![PrefixNlri {
        path_id: None,
        prefix: pfx("2001:db8:1::/48"),
    }]);
    rib.inject(&[e], V6, &v6, &local).unwrap();
    let r = got(&mut rib, e);
    assert_eq!(
        r.get("10.1.0.0/16").unwrap().0,
        NextHop::V4(v4("192.0.2.254"))
    );
    // The session is IPv4: an IPv6 route gets the IPv4-mapped address.
    let (nh, _) = &r.routes[&(V6, pfx("2001:db8:1::/48"), None)];
    assert_eq!(
        *nh,
        NextHop::V6 {
            global: v4("192.0.2.254").to_ipv6_mapped(),
            link_local: None
        }
    );
    // The next hop follows the session: another local address after a flap.
    rib.peer_down(e, None);
    let mut s = session("10.0.1.2", "192.0.2.253");
    s.families = vec![V4];
    rib.peer_up(e, s);
    let r = got(&mut rib, e);
    assert_eq!(
        r.get("10.1.0.0/16").unwrap().0,
        NextHop::V4(v4("192.0.2.253"))
    );
    // Listed as `next-hop self`.
    assert_eq!(
        rib.injected(e, V4)[0].injection.next_hop,
        InjectNextHop::Local
    );
}

#[test]
fn a_later_injection_replaces_and_retract_withdraws() {
    let mut rib = rib();
    let e = peer(&mut rib, 2, 65002);
    let mut r = got(&mut rib, e);
    let p = nlri(&["10.2.0.0/24", "10.2.1.0/24"]);
    rib.inject(&[e], V4, &p, &given("192.0.2.50", 1, None))
        .unwrap();
    drain(&mut rib, e, &mut r);
    assert_eq!(r.get("10.2.0.0/24").unwrap().1.med, Some(1));
    // The same again: nothing to send.
    rib.inject(&[e], V4, &p, &given("192.0.2.50", 1, None))
        .unwrap();
    assert!(!rib.has_pending(e));
    // Another MED for one of them: that one is sent again, replaced.
    let before = r.messages;
    rib.inject(
        &[e],
        V4,
        &nlri(&["10.2.1.0/24"]),
        &given("192.0.2.50", 2, None),
    )
    .unwrap();
    drain(&mut rib, e, &mut r);
    assert_eq!(r.messages - before, 1);
    assert_eq!(r.get("10.2.1.0/24").unwrap().1.med, Some(2));
    assert_eq!(r.get("10.2.0.0/24").unwrap().1.med, Some(1));
    assert_eq!(rib.injected(e, V4).len(), 2);
    // Withdrawn: gone from the neighbor (Received checks it had it).
    assert_eq!(rib.retract(&[e], V4, &nlri(&["10.2.0.0/24"])), 1);
    drain(&mut rib, e, &mut r);
    assert!(r.get("10.2.0.0/24").is_none());
    assert_eq!(rib.retract(&[e], V4, &nlri(&["10.2.0.0/24"])), 0);
    assert!(!rib.has_pending(e));
    assert_eq!(rib.retract_all(e, None), 1);
    drain(&mut rib, e, &mut r);
    assert!(r.routes.is_empty());
    assert_eq!(rib.injected_count(e), 0);
}

#[test]
fn injected_routes_take_precedence_over_the_rib_for_that_neighbor_only() {
    let mut rib = rib();
    let src = peer(&mut rib, 1, 65001);
    let m = peer(&mut rib, 2, 65002);
    let m2 = peer(&mut rib, 3, 65003);
    let mut seen = got(&mut rib, m);
    let mut seen2 = got(&mut rib, m2);
    rib.apply_update(
        src,
        &announce(&["10.0.0.0/8"], attrs(&[65001], "192.0.2.1")),
    );
    drain(&mut rib, m, &mut seen);
    assert_eq!(
        seen.get("10.0.0.0/8").unwrap().1.as_path,
        Some(AsPath::sequence(vec![LOCAL_AS, 65001]))
    );
    rib.inject(
        &[m],
        V4,
        &nlri(&["10.0.0.0/8"]),
        &given("192.0.2.60", 7, None),
    )
    .unwrap();
    drain(&mut rib, m, &mut seen);
    let (nh, a) = seen.get("10.0.0.0/8").unwrap();
    assert_eq!(*nh, NextHop::V4(v4("192.0.2.60")));
    assert_eq!(a.as_path, Some(AsPath::sequence(vec![LOCAL_AS])));
    // The other neighbor keeps the RIB's route.
    drain(&mut rib, m2, &mut seen2);
    assert_eq!(
        seen2.get("10.0.0.0/8").unwrap().1.as_path,
        Some(AsPath::sequence(vec![LOCAL_AS, 65001]))
    );
    // The RIB's changes do not reach the neighbor while it has the
    // injected route.
    rib.apply_update(src, &withdraw(&["10.0.0.0/8"]));
    drain(&mut rib, m, &mut seen);
    assert_eq!(
        seen.get("10.0.0.0/8").unwrap().0,
        NextHop::V4(v4("192.0.2.60"))
    );
    drain(&mut rib, m2, &mut seen2);
    assert!(seen2.get("10.0.0.0/8").is_none());
    rib.apply_update(
        src,
        &announce(&["10.0.0.0/8"], attrs(&[65001, 65010], "192.0.2.1")),
    );
    drain(&mut rib, m, &mut seen);
    assert_eq!(
        seen.get("10.0.0.0/8").unwrap().0,
        NextHop::V4(v4("192.0.2.60"))
    );
    // Retracted: the RIB's route comes back in its place.
    rib.retract(&[m], V4, &nlri(&["10.0.0.0/8"]));
    drain(&mut rib, m, &mut seen);
    assert_eq!(
        seen.get("10.0.0.0/8").unwrap().1.as_path,
        Some(AsPath::sequence(vec![LOCAL_AS, 65001, 65010]))
    );
    // The Adj-RIB-Out shows what the neighbor has.
    let out = rib.adj_rib_out(m, V4);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].attrs.next_hop, NextHop::V4(v4("192.0.2.254")));
}

#[test]
fn injected_routes_survive_flaps_and_are_sent_again_on_refresh() {
    let mut rib = rib();
    let e = added(&mut rib, 2, 65002);
    // Injected while the session is down: kept, nothing due.
    rib.inject(
        &[e],
        V4,
        &nlri(&["10.3.0.0/24"]),
        &given("192.0.2.50", 1, None),
    )
    .unwrap();
    assert!(!rib.has_pending(e));
    for _ in 0..2 {
        up(&mut rib, e, 2);
        let msgs = messages(&mut rib, e);
        // The route, then End-of-RIB.
        let first_eor = msgs
            .iter()
            .position(|m| matches!(m, Message::Update(u) if u.end_of_rib_family() == Some(V4)))
            .expect("End-of-RIB");
        let route = msgs
            .iter()
            .position(|m| matches!(m, Message::Update(u) if !u.announced.is_empty()))
            .expect("the injected route");
        assert!(route < first_eor, "{msgs:?}");
        rib.peer_down(e, None);
        assert!(!rib.has_pending(e));
    }
    up(&mut rib, e, 2);
    messages(&mut rib, e);
    // Enhanced route refresh: BoRR, the route, EoRR, all from the RIB.
    rib.refresh(e, V4, true);
    let msgs = messages(&mut rib, e);
    assert_eq!(msgs.len(), 3, "{msgs:?}");
    assert!(
        matches!(&msgs[0], Message::RouteRefresh(r) if r.subtype == RefreshSubtype::Begin && r.family == V4)
    );
    assert!(matches!(&msgs[1], Message::Update(u) if u.announced.len() == 1));
    assert!(
        matches!(&msgs[2], Message::RouteRefresh(r) if r.subtype == RefreshSubtype::End && r.family == V4)
    );
    // A plain refresh: the route again, no markers.
    rib.refresh(e, V4, false);
    let msgs = messages(&mut rib, e);
    assert_eq!(msgs.len(), 1, "{msgs:?}");
    // An empty family still gets BoRR and EoRR.
    rib.refresh(e, V6, true);
    let msgs = messages(&mut rib, e);
    assert_eq!(msgs.len(), 2, "{msgs:?}");
}

#[test]
fn add_path_neighbors_get_every_injected_path_id() {
    let mut rib = rib();
    let ap = {
        let id = rib.add_peer({
            let mut c = PeerConfig::new(ip("192.0.2.2"), 65002, LOCAL_AS);
            c.add_path_send = vec![(V4, AddPathSend::Best(1))];
            c
        });
        let mut s = session("10.0.1.2", "192.0.2.254");
        s.encode.add_path = [V4].into_iter().collect();
        rib.peer_up(id, s);
        id
    };
    let plain = peer(&mut rib, 3, 65003);
    let ctx = EncodeContext {
        add_path: [V4].into_iter().collect(),
        ..EncodeContext::default()
    };
    let take = |rib: &mut Rib, p: PeerId, r: &mut Received, ctx: &EncodeContext| {
        while rib.has_pending(p) {
            let mut out = Vec::new();
            rib.take_messages(p, 64 * 1024, &mut out);
            r.apply(&out, ctx);
        }
    };
    let mut seen = Received::default();
    let mut seen_plain = got(&mut rib, plain);
    take(&mut rib, ap, &mut seen, &ctx);
    let both = [ap, plain];
    rib.inject(
        &both,
        V4,
        &with_id("10.4.0.0/24", 2),
        &given("192.0.2.52", 2, None),
    )
    .unwrap();
    rib.inject(
        &both,
        V4,
        &with_id("10.4.0.0/24", 1),
        &given("192.0.2.51", 1, None),
    )
    .unwrap();
    take(&mut rib, ap, &mut seen, &ctx);
    let key = |id| (V4, pfx("10.4.0.0/24"), Some(id));
    assert_eq!(seen.routes.len(), 2, "{:?}", seen.routes);
    assert_eq!(seen.routes[&key(1)].0, NextHop::V4(v4("192.0.2.51")));
    assert_eq!(seen.routes[&key(2)].0, NextHop::V4(v4("192.0.2.52")));
    // Without ADD-PATH: the lowest identifier's.
    drain(&mut rib, plain, &mut seen_plain);
    assert_eq!(
        seen_plain.get("10.4.0.0/24").unwrap().0,
        NextHop::V4(v4("192.0.2.51"))
    );
    // Withdrawing identifier 1: withdrawn by its identifier with ADD-PATH;
    // replaced by identifier 2's route without.
    rib.retract(&both, V4, &with_id("10.4.0.0/24", 1));
    take(&mut rib, ap, &mut seen, &ctx);
    assert_eq!(seen.routes.len(), 1);
    assert!(seen.routes.contains_key(&key(2)));
    drain(&mut rib, plain, &mut seen_plain);
    assert_eq!(
        seen_plain.get("10.4.0.0/24").unwrap().0,
        NextHop::V4(v4("192.0.2.52"))
    );
    let listed = rib.injected(ap, V4);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].nlri, with_id("10.4.0.0/24", 2));
}

#[test]
fn two_octet_as_neighbors_and_ipv6_next_hops() {
    let mut rib = Rib::new(RibOptions::new(4_200_000_000, v4("10.0.0.1")));
    let id = rib.add_peer(PeerConfig::new(ip("192.0.2.2"), 65002, 4_200_000_000));
    let mut s = session("10.0.1.2", "192.0.2.254");
    s.encode.four_octet_as = false;
    let ctx = s.encode;
    rib.peer_up(id, s);
    let v6 = NlriList::Prefixes(vec![PrefixNlri {
        path_id: None,
        prefix: pfx("2001:db8:5::/48"),
    }]);
    let global: Ipv6Addr = "2001:db8::5".parse().unwrap();
    let route = Injection {
        next_hop: InjectNextHop::Given(NextHop::V6 {
            global,
            link_local: None,
        }),
        attributes: PathAttributes {
            as_path: Some(AsPath::sequence(vec![4_200_000_001])),
            ..PathAttributes::default()
        },
    };
    rib.inject(&[id], V6, &v6, &route).unwrap();
    let mut r = Received::default();
    while rib.has_pending(id) {
        let mut out = Vec::new();
        rib.take_messages(id, 64 * 1024, &mut out);
        r.apply(&out, &ctx);
    }
    let (nh, a) = &r.routes[&(V6, pfx("2001:db8:5::/48"), None)];
    assert_eq!(
        *nh,
        NextHop::V6 {
            global,
            link_local: None
        }
    );
    // AS_TRANS and AS4_PATH on the wire, merged back on decode (RFC 6793).
    assert_eq!(
        a.as_path,
        Some(AsPath::sequence(vec![4_200_000_000, 4_200_000_001]))
    );
}

#[test]
fn errors_and_removed_neighbors() {
    let mut rib = rib();
    let e = peer(&mut rib, 2, 65002);
    let p = nlri(&["10.6.0.0/24"]);
    assert_eq!(
        rib.inject(&[e, PeerId(99)], V4, &p, &given("192.0.2.1", 0, None)),
        Err(InjectError::UnknownPeer(PeerId(99)))
    );
    let no_nh = Injection {
        next_hop: InjectNextHop::Given(NextHop::Empty),
        attributes: PathAttributes::default(),
    };
    assert_eq!(
        rib.inject(&[e], V4, &p, &no_nh),
        Err(InjectError::MissingNextHop(V4))
    );
    let unknown = Family::new(ribbit_wire::Afi(99), ribbit_wire::Safi(1));
    assert_eq!(
        rib.inject(&[e], unknown, &p, &given("192.0.2.1", 0, None)),
        Err(InjectError::Family(unknown))
    );
    // NLRI of another family are skipped.
    assert_eq!(
        rib.inject(&[e], V6, &p, &given("192.0.2.1", 0, None)),
        Ok(0)
    );
    assert_eq!(rib.injected_count(e), 0);
    rib.inject(&[e], V4, &p, &given("192.0.2.1", 0, None))
        .unwrap();
    rib.remove_peer(e);
    assert_eq!(rib.injected_count(e), 0);
    assert!(rib.injected(e, V4).is_empty());
}

#[test]
fn injected_routes_go_through_the_export_policy() {
    let mut rib = rib();
    let mon = added(&mut rib, 2, 65002);
    up(&mut rib, mon, 2);
    rib.inject(
        &[mon],
        V4,
        &nlri(&["10.9.0.0/16"]),
        &given("192.0.2.9", 5, None),
    )
    .expect("injected");
    let mut seen = Received::default();
    drain(&mut rib, mon, &mut seen);
    assert!(seen.get("10.9.0.0/16").is_some());
    // An export policy that refuses everything: the route is withdrawn.
    let mut c = rib.peer_config(mon).unwrap().clone();
    c.export.default = crate::policy::Verdict::Reject;
    assert_eq!(rib.reconfigure_peer(mon, c), Reconfigured::Done);
    drain(&mut rib, mon, &mut seen);
    assert!(seen.get("10.9.0.0/16").is_none(), "{:?}", seen.routes);
}
