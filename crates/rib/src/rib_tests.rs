//! Tests of the tables through the public API: decision steps as seen in
//! the Loc-RIB, import and export rules, and the messages produced, decoded
//! back with the wire codec.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use ribbit_wire::attribute::{AsPath, Community, Origin, PathAttributes, Segment, SegmentType};
use ribbit_wire::capability::Role;
use ribbit_wire::nlri::{Nlri, NlriList, PrefixNlri};
use ribbit_wire::update::{MpNlri, MpReach, MpUnreach, Update};
use ribbit_wire::{DecodeContext, EncodeContext, Family, FamilySet, Message, NextHop, Prefix};

use super::*;
use crate::policy::Verdict;

pub(crate) const V4: Family = Family::IPV4_UNICAST;
pub(crate) const V6: Family = Family::IPV6_UNICAST;
pub(crate) const LOCAL_AS: u32 = 65000;

pub(crate) fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

pub(crate) fn v4(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

pub(crate) fn pfx(s: &str) -> Prefix {
    s.parse().unwrap()
}

pub(crate) fn rib() -> Rib {
    Rib::new(RibOptions::new(LOCAL_AS, v4("10.0.0.1")))
}

/// Attributes with an AS path and next hop.
pub(crate) fn attrs(path: &[u32], nh: &str) -> PathAttributes {
    PathAttributes {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath::sequence(path.to_vec())),
        next_hop: Some(v4(nh)),
        ..PathAttributes::default()
    }
}

pub(crate) fn announce(prefixes: &[&str], a: PathAttributes) -> Update {
    Update {
        attributes: a,
        announced: prefixes
            .iter()
            .map(|p| PrefixNlri {
                path_id: None,
                prefix: pfx(p),
            })
            .collect(),
        ..Update::default()
    }
}

pub(crate) fn withdraw(prefixes: &[&str]) -> Update {
    Update {
        withdrawn: prefixes
            .iter()
            .map(|p| PrefixNlri {
                path_id: None,
                prefix: pfx(p),
            })
            .collect(),
        ..Update::default()
    }
}

pub(crate) fn session(router_id: &str, local: &str) -> SessionInfo {
    SessionInfo {
        router_id: v4(router_id),
        families: vec![V4, V6],
        encode: EncodeContext::default(),
        local_v4: Some(v4(local)),
        local_v6: Some("2001:db8::ffff".parse().unwrap()),
        llgr: false,
        graceful_restart: None,
    }
}

/// A neighbor `n` (address 192.0.2.n, router ID 10.0.1.n) of AS `asn`, up.
pub(crate) fn peer_with(rib: &mut Rib, n: u8, asn: u32, f: impl FnOnce(&mut PeerConfig)) -> PeerId {
    let mut c = PeerConfig::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, n)), asn, LOCAL_AS);
    f(&mut c);
    let id = rib.add_peer(c);
    rib.peer_up(id, session(&format!("10.0.1.{n}"), "192.0.2.254"));
    id
}

pub(crate) fn peer(rib: &mut Rib, n: u8, asn: u32) -> PeerId {
    peer_with(rib, n, asn, |_| {})
}

/// The best path's neighbor for a prefix.
fn best_peer(rib: &Rib, p: &str) -> Option<PeerId> {
    let d = rib.destination_prefix(V4, pfx(p))?;
    d.paths.iter().find(|x| x.best).and_then(|x| x.route.peer)
}

fn best_step(rib: &Rib, p: &str) -> Option<Step> {
    rib.destination_prefix(V4, pfx(p))?.step
}

/// What a neighbor holds after every message it was given: prefix and
/// path id to (next hop, attributes), and the End-of-RIB families seen.
#[derive(Debug, Default)]
pub(crate) struct Received {
    pub routes: BTreeMap<(Family, Prefix, Option<u32>), (NextHop, PathAttributes)>,
    pub eor: Vec<Family>,
    pub eorr: Vec<Family>,
    pub messages: usize,
    pub bytes: usize,
}

impl Received {
    pub(crate) fn apply(&mut self, msgs: &[Vec<u8>], ctx: &EncodeContext) {
        let dctx: DecodeContext = ctx.mirror();
        for m in msgs {
            self.messages += 1;
            self.bytes += m.len();
            assert!(m.len() <= ctx.max_message_len());
            match Message::decode(m, &dctx).expect("a message we produced decodes") {
                Message::Update(u) => {
                    assert!(u.issues.is_empty(), "{:?}", u.issues);
                    if let Some(f) = u.end_of_rib_family() {
                        self.eor.push(f);
                        continue;
                    }
                    for w in &u.withdrawn {
                        assert!(self.routes.remove(&(V4, w.prefix, w.path_id)).is_some());
                    }
                    if let Some(MpUnreach {
                        family,
                        nlri: MpNlri::Decoded(NlriList::Prefixes(v)),
                    }) = &u.mp_unreach
                    {
                        for w in v {
                            assert!(self
                                .routes
                                .remove(&(*family, w.prefix, w.path_id))
                                .is_some());
                        }
                    }
                    let mut a = u.attributes.clone();
                    let nh = a.next_hop.take();
                    for n in &u.announced {
                        self.routes.insert(
                            (V4, n.prefix, n.path_id),
                            (NextHop::V4(nh.expect("NEXT_HOP")), a.clone()),
                        );
                    }
                    if let Some(MpReach {
                        family,
                        next_hop,
                        nlri: MpNlri::Decoded(NlriList::Prefixes(v)),
                    }) = &u.mp_reach
                    {
                        for n in v {
                            self.routes
                                .insert((*family, n.prefix, n.path_id), (*next_hop, a.clone()));
                        }
                    }
                }
                Message::RouteRefresh(r) => self.eorr.push(r.family),
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    pub(crate) fn get(&self, p: &str) -> Option<&(NextHop, PathAttributes)> {
        self.routes.get(&(V4, pfx(p), None))
    }
}

/// Take everything due for a neighbor.
pub(crate) fn drain(rib: &mut Rib, peer: PeerId, into: &mut Received) {
    let ctx = rib
        .sh
        .peer(peer.0)
        .and_then(|p| p.session.as_ref())
        .map(|s| s.encode)
        .unwrap();
    let mut guard = 0;
    while rib.has_pending(peer) {
        let mut out = Vec::new();
        let n = rib.take_messages(peer, 64 * 1024, &mut out);
        assert_eq!(n, out.iter().map(Vec::len).sum::<usize>());
        into.apply(&out, &ctx);
        guard += 1;
        assert!(guard < 100_000);
    }
}

fn received(rib: &mut Rib, peer: PeerId) -> Received {
    let mut r = Received::default();
    drain(rib, peer, &mut r);
    r
}

// ---------------------------------------------------------------------
// Decision steps, seen through the tables.

#[test]
fn local_pref_wins_over_path_length() {
    let mut rib = rib();
    let a = peer(&mut rib, 1, LOCAL_AS);
    let b = peer(&mut rib, 2, LOCAL_AS);
    let mut long = attrs(&[1, 2, 3], "192.0.2.1");
    long.local_pref = Some(200);
    rib.apply_update(a, &announce(&["10.0.0.0/8"], long));
    rib.apply_update(b, &announce(&["10.0.0.0/8"], attrs(&[1], "192.0.2.2")));
    assert_eq!(best_peer(&rib, "10.0.0.0/8"), Some(a));
    assert_eq!(best_step(&rib, "10.0.0.0/8"), Some(Step::LocalPref));
}

#[test]
fn local_pref_from_ebgp_is_ignored() {
    let mut rib = rib();
    let a = peer(&mut rib, 1, 65001);
    let b = peer(&mut rib, 2, 65002);
    let mut lp = attrs(&[65001, 1, 2], "192.0.2.1");
    lp.local_pref = Some(500);
    rib.apply_update(a, &announce(&["10.0.0.0/8"], lp));
    rib.apply_update(b, &announce(&["10.0.0.0/8"], attrs(&[65002], "192.0.2.2")));
    assert_eq!(best_peer(&rib, "10.0.0.0/8"), Some(b));
    let d = rib.destination_prefix(V4, pfx("10.0.0.0/8")).unwrap();
    assert!(d
        .paths
        .iter()
        .all(|p| p.route.attrs.attributes.local_pref.is_none()));
}

#[test]
fn as_path_length_counts_sets_once_and_confed_segments_not() {
    let mut rib = rib();
    let a = peer(&mut rib, 1, 65001);
    let b = peer(&mut rib, 2, 65002);
    // a: 65001 {7 8 9} (length 2) plus a confed segment (length 0).
    let mut with_set = attrs(&[65001], "192.0.2.1");
    with_set.as_path = Some(AsPath {
        segments: vec![
            Segment {
                kind: SegmentType::ConfedSequence,
                asns: vec![64512, 64513, 64514],
            },
            Segment {
                kind: SegmentType::Sequence,
                asns: vec![65001],
            },
            Segment {
                kind: SegmentType::Set,
                asns: vec![7, 8, 9],
            },
        ],
    });
    rib.apply_update(a, &announce(&["10.0.0.0/8"], with_set));
    rib.apply_update(
        b,
        &announce(&["10.0.0.0/8"], attrs(&[65002, 5, 6], "192.0.2.2")),
    );
    assert_eq!(best_peer(&rib, "10.0.0.0/8"), Some(a));
    assert_eq!(best_step(&rib, "10.0.0.0/8"), Some(Step::AsPathLength));
}

#[test]
fn origin_then_med_within_one_neighbor_as() {
    let mut rib = rib();
    let a = peer(&mut rib, 1, 65001);
    let b = peer(&mut rib, 2, 65001);
    let c = peer(&mut rib, 3, 65003);
    let mut incomplete = attrs(&[65001], "192.0.2.1");
    incomplete.origin = Some(Origin::Incomplete);
    rib.apply_update(a, &announce(&["10.0.0.0/8"], incomplete));
    rib.apply_update(b, &announce(&["10.0.0.0/8"], attrs(&[65001], "192.0.2.2")));
    assert_eq!(best_peer(&rib, "10.0.0.0/8"), Some(b));
    assert_eq!(best_step(&rib, "10.0.0.0/8"), Some(Step::Origin));

    // MED: a (AS 65001, MED 10), b (AS 65001, MED 5), c (AS 65003, MED 1).
    let mut rib = self::rib();
    let a = peer(&mut rib, 1, 65001);
    let b = peer(&mut rib, 9, 65001);
    let c2 = peer(&mut rib, 3, 65003);
    let with_med = |asn, nh: &str, med| {
        let mut x = attrs(&[asn], nh);
        x.med = Some(med);
        x
    };
    rib.apply_update(
        a,
        &announce(&["10.0.0.0/8"], with_med(65001, "192.0.2.1", 10)),
    );
    rib.apply_update(
        b,
        &announce(&["10.0.0.0/8"], with_med(65001, "192.0.2.9", 5)),
    );
    rib.apply_update(
        c2,
        &announce(&["10.0.0.0/8"], with_med(65003, "192.0.2.3", 50)),
    );
    // MED removes a (b is lower in AS 65001); b and c go on to the router
    // ID, where c (10.0.1.3) beats b (10.0.1.9).
    assert_eq!(best_peer(&rib, "10.0.0.0/8"), Some(c2));
    assert_eq!(best_step(&rib, "10.0.0.0/8"), Some(Step::RouterId));
    // Comparing MED across ASes, b wins on MED.
    let mut opts = RibOptions::new(LOCAL_AS, v4("10.0.0.1"));
    opts.decision.always_compare_med = true;
    let mut rib = Rib::new(opts);
    let a = peer(&mut rib, 1, 65001);
    let b = peer(&mut rib, 9, 65001);
    let c3 = peer(&mut rib, 3, 65003);
    rib.apply_update(
        a,
        &announce(&["10.0.0.0/8"], with_med(65001, "192.0.2.1", 10)),
    );
    rib.apply_update(
        b,
        &announce(&["10.0.0.0/8"], with_med(65001, "192.0.2.9", 5)),
    );
    rib.apply_update(
        c3,
        &announce(&["10.0.0.0/8"], with_med(65003, "192.0.2.3", 50)),
    );
    assert_eq!(best_peer(&rib, "10.0.0.0/8"), Some(b));
    assert_eq!(best_step(&rib, "10.0.0.0/8"), Some(Step::Med));
    let _ = c;
}

#[test]
fn ebgp_over_ibgp_then_router_id_cluster_list_and_address() {
    let mut rib = rib();
    let i = peer(&mut rib, 1, LOCAL_AS);
    let e = peer(&mut rib, 2, 65002);
    rib.apply_update(i, &announce(&["10.0.0.0/8"], attrs(&[65002], "192.0.2.1")));
    rib.apply_update(e, &announce(&["10.0.0.0/8"], attrs(&[65002], "192.0.2.2")));
    assert_eq!(best_peer(&rib, "10.0.0.0/8"), Some(e));
    assert_eq!(best_step(&rib, "10.0.0.0/8"), Some(Step::External));

    // Two iBGP paths: ORIGINATOR_ID stands for the router ID.
    let mut rib = self::rib();
    let a = peer(&mut rib, 1, LOCAL_AS);
    let b = peer(&mut rib, 2, LOCAL_AS);
    let mut reflected = attrs(&[65009], "192.0.2.1");
    reflected.originator_id = Some(v4("10.9.9.9"));
    rib.apply_update(a, &announce(&["10.0.0.0/8"], reflected));
    rib.apply_update(b, &announce(&["10.0.0.0/8"], attrs(&[65009], "192.0.2.2")));
    // a's originator 10.9.9.9 loses to b's router ID 10.0.1.2.
    assert_eq!(best_peer(&rib, "10.0.0.0/8"), Some(b));
    assert_eq!(best_step(&rib, "10.0.0.0/8"), Some(Step::RouterId));

    // Same originator: the shorter CLUSTER_LIST wins.
    let mut rib = self::rib();
    let a = peer(&mut rib, 1, LOCAL_AS);
    let b = peer(&mut rib, 2, LOCAL_AS);
    let mut one = attrs(&[65009], "192.0.2.1");
    one.originator_id = Some(v4("10.9.9.9"));
    one.cluster_list = vec![v4("10.8.0.1"), v4("10.8.0.2")];
    let mut two = one.clone();
    two.next_hop = Some(v4("192.0.2.2"));
    two.cluster_list = vec![v4("10.8.0.3")];
    rib.apply_update(a, &announce(&["10.0.0.0/8"], one));
    rib.apply_update(b, &announce(&["10.0.0.0/8"], two));
    assert_eq!(best_peer(&rib, "10.0.0.0/8"), Some(b));
    assert_eq!(best_step(&rib, "10.0.0.0/8"), Some(Step::ClusterList));

    // Same everything but the neighbor address (same router ID).
    let mut rib = self::rib();
    let a = rib.add_peer(PeerConfig::new(ip("192.0.2.7"), 65001, LOCAL_AS));
    let b = rib.add_peer(PeerConfig::new(ip("192.0.2.6"), 65001, LOCAL_AS));
    rib.peer_up(a, session("10.0.1.1", "192.0.2.254"));
    rib.peer_up(b, session("10.0.1.1", "192.0.2.254"));
    rib.apply_update(a, &announce(&["10.0.0.0/8"], attrs(&[65001], "192.0.2.7")));
    rib.apply_update(b, &announce(&["10.0.0.0/8"], attrs(&[65001], "192.0.2.6")));
    assert_eq!(best_peer(&rib, "10.0.0.0/8"), Some(b));
    assert_eq!(best_step(&rib, "10.0.0.0/8"), Some(Step::PeerAddress));
}

#[test]
fn withdraw_moves_best_to_the_next_candidate() {
    let mut rib = rib();
    let a = peer(&mut rib, 1, 65001);
    let b = peer(&mut rib, 2, 65002);
    let c = peer(&mut rib, 3, 65003);
    rib.apply_update(a, &announce(&["10.0.0.0/8"], attrs(&[65001], "192.0.2.1")));
    rib.apply_update(
        b,
        &announce(&["10.0.0.0/8"], attrs(&[65002, 1], "192.0.2.2")),
    );
    rib.apply_update(
        c,
        &announce(&["10.0.0.0/8"], attrs(&[65003, 1, 2], "192.0.2.3")),
    );
    assert_eq!(best_peer(&rib, "10.0.0.0/8"), Some(a));
    let r = rib.apply_update(a, &withdraw(&["10.0.0.0/8"]));
    assert_eq!(r.withdrawn, 1);
    assert_eq!(best_peer(&rib, "10.0.0.0/8"), Some(b));
    rib.apply_update(b, &withdraw(&["10.0.0.0/8"]));
    assert_eq!(best_peer(&rib, "10.0.0.0/8"), Some(c));
    assert_eq!(best_step(&rib, "10.0.0.0/8"), Some(Step::OnlyPath));
    rib.apply_update(c, &withdraw(&["10.0.0.0/8"]));
    assert!(rib.destination_prefix(V4, pfx("10.0.0.0/8")).is_none());
    assert_eq!(rib.stats().families[0].paths, 0);
}

#[test]
fn unreachable_next_hops_are_not_eligible() {
    let mut rib = rib();
    let a = peer(&mut rib, 1, 65001);
    let b = peer(&mut rib, 2, 65002);
    // Our own address as next hop, and 0.0.0.0.
    rib.apply_update(
        a,
        &announce(&["10.0.0.0/8"], attrs(&[65001], "192.0.2.254")),
    );
    rib.apply_update(
        b,
        &announce(&["10.0.0.0/8"], attrs(&[65002, 1, 2], "0.0.0.0")),
    );
    let d = rib.destination_prefix(V4, pfx("10.0.0.0/8")).unwrap();
    assert!(d.paths.iter().all(|p| !p.best));
    assert!(d
        .paths
        .iter()
        .all(|p| p.ineligible == Some(Ineligible::UnreachableNextHop)));
    assert_eq!(rib.loc_rib(V4).count(), 0);
    rib.apply_update(
        b,
        &announce(&["10.0.0.0/8"], attrs(&[65002, 1, 2], "192.0.2.2")),
    );
    assert_eq!(best_peer(&rib, "10.0.0.0/8"), Some(b));
}

// ---------------------------------------------------------------------
// Import rules.

#[test]
fn loop_detection() {
    let mut rib = rib();
    let a = peer(&mut rib, 1, 65001);
    let r = rib.apply_update(
        a,
        &announce(&["10.0.0.0/8"], attrs(&[65001, LOCAL_AS, 7], "192.0.2.1")),
    );
    assert_eq!((r.announced, r.rejected), (0, 1));
    // allow-own-as 1 accepts one occurrence, not two.
    let mut rib = self::rib();
    let a = peer_with(&mut rib, 1, 65001, |c| c.allow_own_as = 1);
    let r = rib.apply_update(
        a,
        &announce(&["10.0.0.0/8"], attrs(&[65001, LOCAL_AS, 7], "192.0.2.1")),
    );
    assert_eq!(r.announced, 1);
    let r = rib.apply_update(
        a,
        &announce(
            &["10.1.0.0/16"],
            attrs(&[65001, LOCAL_AS, LOCAL_AS], "192.0.2.1"),
        ),
    );
    assert_eq!(r.rejected, 1);
    // Our ORIGINATOR_ID, our cluster ID.
    let i = peer(&mut rib, 2, LOCAL_AS);
    let mut mine = attrs(&[7], "192.0.2.2");
    mine.originator_id = Some(v4("10.0.0.1"));
    assert_eq!(
        rib.apply_update(i, &announce(&["10.2.0.0/16"], mine))
            .rejected,
        1
    );
    let mut looped = attrs(&[7], "192.0.2.2");
    looped.cluster_list = vec![v4("10.5.5.5"), v4("10.0.0.1")];
    assert_eq!(
        rib.apply_update(i, &announce(&["10.2.0.0/16"], looped))
            .rejected,
        1
    );
    // A looped announcement replaces what the neighbor had before.
    let r = rib.apply_update(
        a,
        &announce(
            &["10.0.0.0/8"],
            attrs(&[65001, LOCAL_AS, LOCAL_AS], "192.0.2.1"),
        ),
    );
    assert_eq!(r.rejected, 1);
    assert!(rib.destination_prefix(V4, pfx("10.0.0.0/8")).is_none());
}

#[test]
fn blackhole_handling() {
    let mut rib = rib();
    let a = peer(&mut rib, 1, 65001);
    let mut bh = attrs(&[65001], "192.0.2.1");
    bh.communities = vec![Community::BLACKHOLE];
    rib.apply_update(a, &announce(&["192.0.2.99/32"], bh.clone()));
    let d = rib.destination_prefix(V4, pfx("192.0.2.99/32")).unwrap();
    assert!(d.paths[0]
        .route
        .attrs
        .attributes
        .communities
        .contains(&Community::NO_EXPORT));
    let mut opts = RibOptions::new(LOCAL_AS, v4("10.0.0.1"));
    opts.blackhole = BlackholeAction::Reject;
    let mut rib = Rib::new(opts);
    let a = peer(&mut rib, 1, 65001);
    assert_eq!(
        rib.apply_update(a, &announce(&["192.0.2.99/32"], bh))
            .rejected,
        1
    );
}

#[test]
fn import_policy_reject_and_treat_as_withdraw() {
    let mut rib = rib();
    let a = peer_with(&mut rib, 1, 65001, |c| c.import.default = Verdict::Reject);
    let r = rib.apply_update(a, &announce(&["10.0.0.0/8"], attrs(&[65001], "192.0.2.1")));
    assert_eq!((r.announced, r.rejected), (0, 1));
    assert!(rib.loc_rib(V4).next().is_none());
    let s = rib.stats();
    let c = s.peers[0].families[0];
    assert_eq!((c.received, c.rejected, c.accepted), (1, 1, 0));

    let b = peer(&mut rib, 2, 65002);
    rib.apply_update(b, &announce(&["10.0.0.0/8"], attrs(&[65002], "192.0.2.2")));
    let mut bad = announce(&["10.0.0.0/8"], attrs(&[65002], "192.0.2.2"));
    bad.issues.push(ribbit_wire::AttributeIssue {
        offset: 0,
        type_code: 1,
        reason: ribbit_wire::Reason::InvalidOrigin(9),
        action: ribbit_wire::Action::TreatAsWithdraw,
    });
    let r = rib.apply_update(b, &bad);
    assert_eq!((r.announced, r.withdrawn), (0, 1));
    assert!(rib.loc_rib(V4).next().is_none());
}

#[test]
fn families_not_negotiated_are_ignored() {
    let mut rib = rib();
    let a = rib.add_peer(PeerConfig::new(ip("192.0.2.1"), 65001, LOCAL_AS));
    let mut s = session("10.0.1.1", "192.0.2.254");
    s.families = vec![V6];
    rib.peer_up(a, s);
    let r = rib.apply_update(a, &announce(&["10.0.0.0/8"], attrs(&[65001], "192.0.2.1")));
    assert_eq!((r.announced, r.ignored), (0, 1));
    // Neighbors that are not up are ignored altogether.
    let b = rib.add_peer(PeerConfig::new(ip("192.0.2.2"), 65002, LOCAL_AS));
    let r = rib.apply_update(b, &announce(&["10.0.0.0/8"], attrs(&[65002], "192.0.2.2")));
    assert_eq!(r, UpdateReport::default());
}

// ---------------------------------------------------------------------
// Export rules.

#[test]
fn ebgp_export_prepends_sets_next_hop_and_strips_local_pref_and_med() {
    let mut rib = rib();
    let i = peer(&mut rib, 1, LOCAL_AS);
    let e = peer(&mut rib, 2, 65002);
    let keep = peer_with(&mut rib, 3, 65003, |c| {
        c.next_hop_unchanged = true;
        c.send_med = true;
    });
    let mut a = attrs(&[65009], "192.0.2.1");
    a.local_pref = Some(300);
    a.med = Some(42);
    a.originator_id = Some(v4("10.7.7.7"));
    a.cluster_list = vec![v4("10.7.7.8")];
    rib.apply_update(i, &announce(&["10.0.0.0/8"], a));
    let got = received(&mut rib, e);
    let (nh, sent) = got.get("10.0.0.0/8").unwrap();
    assert_eq!(*nh, NextHop::V4(v4("192.0.2.254")));
    assert_eq!(sent.as_path, Some(AsPath::sequence(vec![LOCAL_AS, 65009])));
    assert_eq!(sent.local_pref, None);
    assert_eq!(sent.med, None);
    assert_eq!(sent.originator_id, None);
    assert!(sent.cluster_list.is_empty());
    assert_eq!(got.eor, vec![V4, V6]);
    let got = received(&mut rib, keep);
    let (nh, sent) = got.get("10.0.0.0/8").unwrap();
    assert_eq!(*nh, NextHop::V4(v4("192.0.2.1")));
    assert_eq!(sent.med, Some(42));
}

#[test]
fn ibgp_learned_paths_are_not_readvertised_to_ibgp() {
    let mut rib = rib();
    let i1 = peer(&mut rib, 1, LOCAL_AS);
    let i2 = peer(&mut rib, 2, LOCAL_AS);
    let e = peer(&mut rib, 3, 65003);
    rib.apply_update(i1, &announce(&["10.0.0.0/8"], attrs(&[65009], "192.0.2.1")));
    rib.apply_update(e, &announce(&["10.1.0.0/16"], attrs(&[65003], "192.0.2.3")));
    let got = received(&mut rib, i2);
    assert!(got.get("10.0.0.0/8").is_none());
    // eBGP-learned go to iBGP as they are, with LOCAL_PREF 100 added.
    let (nh, sent) = got.get("10.1.0.0/16").unwrap();
    assert_eq!(*nh, NextHop::V4(v4("192.0.2.3")));
    assert_eq!(sent.as_path, Some(AsPath::sequence(vec![65003])));
    assert_eq!(sent.local_pref, Some(100));
    // Never back to the neighbor it came from.
    assert!(received(&mut rib, i1).get("10.0.0.0/8").is_none());
    // With next-hop-self, our address.
    let nhs = peer_with(&mut rib, 4, LOCAL_AS, |c| c.next_hop_self = true);
    let got = received(&mut rib, nhs);
    assert_eq!(
        got.get("10.1.0.0/16").unwrap().0,
        NextHop::V4(v4("192.0.2.254"))
    );
}

#[test]
fn route_reflection() {
    let mut opts = RibOptions::new(LOCAL_AS, v4("10.0.0.1"));
    opts.cluster_id = Some(v4("10.255.0.1"));
    let mut rib = Rib::new(opts);
    let c1 = peer_with(&mut rib, 1, LOCAL_AS, |c| c.route_reflector_client = true);
    let c2 = peer_with(&mut rib, 2, LOCAL_AS, |c| c.route_reflector_client = true);
    let n1 = peer(&mut rib, 3, LOCAL_AS);
    let n2 = peer(&mut rib, 4, LOCAL_AS);
    // From a client: to the other clients and to non-clients.
    rib.apply_update(
        c1,
        &announce(&["10.1.0.0/16"], attrs(&[65009], "192.0.2.1")),
    );
    // From a non-client: to clients only.
    let mut from_nc = attrs(&[65008], "192.0.2.3");
    from_nc.originator_id = Some(v4("10.3.3.3"));
    from_nc.cluster_list = vec![v4("10.254.0.1")];
    rib.apply_update(n1, &announce(&["10.3.0.0/16"], from_nc));
    let to_c2 = received(&mut rib, c2);
    let to_n2 = received(&mut rib, n2);
    let to_c1 = received(&mut rib, c1);
    let (_, r) = to_c2.get("10.1.0.0/16").unwrap();
    assert_eq!(r.originator_id, Some(v4("10.0.1.1")));
    assert_eq!(r.cluster_list, vec![v4("10.255.0.1")]);
    assert!(to_n2.get("10.1.0.0/16").is_some());
    assert!(to_c1.get("10.1.0.0/16").is_none());
    let (_, r) = to_c2.get("10.3.0.0/16").unwrap();
    // ORIGINATOR_ID kept, our cluster prepended.
    assert_eq!(r.originator_id, Some(v4("10.3.3.3")));
    assert_eq!(r.cluster_list, vec![v4("10.255.0.1"), v4("10.254.0.1")]);
    assert!(to_c1.get("10.3.0.0/16").is_some());
    assert!(to_n2.get("10.3.0.0/16").is_none());
}

#[test]
fn route_server_is_transparent() {
    let mut rib = rib();
    let rs = |c: &mut PeerConfig| c.route_server_client = true;
    let a = peer_with(&mut rib, 1, 65001, rs);
    let b = peer_with(&mut rib, 2, 65002, rs);
    let mut x = attrs(&[65001, 7], "192.0.2.1");
    x.med = Some(9);
    rib.apply_update(a, &announce(&["10.0.0.0/8"], x));
    let got = received(&mut rib, b);
    let (nh, sent) = got.get("10.0.0.0/8").unwrap();
    assert_eq!(*nh, NextHop::V4(v4("192.0.2.1")));
    assert_eq!(sent.as_path, Some(AsPath::sequence(vec![65001, 7])));
    assert_eq!(sent.med, Some(9));
    // Not back to the client it came from.
    assert!(received(&mut rib, a).get("10.0.0.0/8").is_none());
}

#[test]
fn route_server_client_gets_the_best_path_it_may_have() {
    let mut rib = rib();
    let rs = |c: &mut PeerConfig| c.route_server_client = true;
    let a = peer_with(&mut rib, 1, 65001, rs);
    let b = peer_with(&mut rib, 2, 65002, rs);
    let c = peer_with(&mut rib, 3, 65003, rs);
    rib.apply_update(a, &announce(&["10.0.0.0/8"], attrs(&[65001], "192.0.2.1")));
    rib.apply_update(
        b,
        &announce(&["10.0.0.0/8"], attrs(&[65002, 5], "192.0.2.2")),
    );
    // a's path is best overall; a itself gets b's.
    let got = received(&mut rib, a);
    assert_eq!(
        got.get("10.0.0.0/8").unwrap().0,
        NextHop::V4(v4("192.0.2.2"))
    );
    let got = received(&mut rib, c);
    assert_eq!(
        got.get("10.0.0.0/8").unwrap().0,
        NextHop::V4(v4("192.0.2.1"))
    );
}

#[test]
fn well_known_communities() {
    let mut rib = rib();
    let src = peer(&mut rib, 1, 65001);
    let e = peer(&mut rib, 2, 65002);
    let i = peer(&mut rib, 3, LOCAL_AS);
    let with = |c: Community| {
        let mut a = attrs(&[65001], "192.0.2.1");
        a.communities = vec![c];
        a
    };
    rib.apply_update(
        src,
        &announce(&["10.1.0.0/16"], with(Community::NO_ADVERTISE)),
    );
    rib.apply_update(src, &announce(&["10.2.0.0/16"], with(Community::NO_EXPORT)));
    rib.apply_update(
        src,
        &announce(&["10.3.0.0/16"], with(Community::NO_EXPORT_SUBCONFED)),
    );
    rib.apply_update(
        src,
        &announce(&["10.4.0.0/16"], with(Community::new(65001, 1))),
    );
    let to_e = received(&mut rib, e);
    let to_i = received(&mut rib, i);
    assert!(to_e.get("10.1.0.0/16").is_none() && to_i.get("10.1.0.0/16").is_none());
    assert!(to_e.get("10.2.0.0/16").is_none() && to_i.get("10.2.0.0/16").is_some());
    assert!(to_e.get("10.3.0.0/16").is_none() && to_i.get("10.3.0.0/16").is_some());
    assert!(to_e.get("10.4.0.0/16").is_some() && to_i.get("10.4.0.0/16").is_some());
}

#[test]
fn otc_ingress() {
    let mut rib = rib();
    let with_otc = |asn: u32, otc: Option<u32>| {
        let mut a = attrs(&[asn], "192.0.2.9");
        a.otc = otc;
        a
    };
    // From a customer (our role provider): OTC is a leak.
    let cust = peer_with(&mut rib, 1, 65001, |c| c.role = Some(Role::Provider));
    assert_eq!(
        rib.apply_update(cust, &announce(&["10.1.0.0/16"], with_otc(65001, Some(7))))
            .rejected,
        1
    );
    assert_eq!(
        rib.apply_update(cust, &announce(&["10.1.0.0/16"], with_otc(65001, None)))
            .announced,
        1
    );
    // From an RS client (our role RS): the same.
    let rsc = peer_with(&mut rib, 2, 65002, |c| c.role = Some(Role::RouteServer));
    assert_eq!(
        rib.apply_update(
            rsc,
            &announce(&["10.2.0.0/16"], with_otc(65002, Some(65002)))
        )
        .rejected,
        1
    );
    // From a peer: OTC must be its AS; added when absent.
    let p = peer_with(&mut rib, 3, 65003, |c| c.role = Some(Role::Peer));
    assert_eq!(
        rib.apply_update(p, &announce(&["10.3.0.0/16"], with_otc(65003, Some(65099))))
            .rejected,
        1
    );
    assert_eq!(
        rib.apply_update(p, &announce(&["10.3.0.0/16"], with_otc(65003, Some(65003))))
            .announced,
        1
    );
    assert_eq!(
        rib.apply_update(p, &announce(&["10.4.0.0/16"], with_otc(65003, None)))
            .announced,
        1
    );
    let d = rib.destination_prefix(V4, pfx("10.4.0.0/16")).unwrap();
    assert_eq!(d.paths[0].route.attrs.attributes.otc, Some(65003));
    // From a provider (our role customer) or an RS (our role RS client): added.
    let prov = peer_with(&mut rib, 4, 65004, |c| c.role = Some(Role::Customer));
    rib.apply_update(prov, &announce(&["10.5.0.0/16"], with_otc(65004, None)));
    let d = rib.destination_prefix(V4, pfx("10.5.0.0/16")).unwrap();
    assert_eq!(d.paths[0].route.attrs.attributes.otc, Some(65004));
    let rs = peer_with(&mut rib, 5, 65005, |c| {
        c.role = Some(Role::RouteServerClient)
    });
    rib.apply_update(
        rs,
        &announce(&["10.6.0.0/16"], with_otc(65005, Some(65111))),
    );
    let d = rib.destination_prefix(V4, pfx("10.6.0.0/16")).unwrap();
    assert_eq!(d.paths[0].route.attrs.attributes.otc, Some(65111));
}

#[test]
fn otc_egress() {
    let mut rib = rib();
    let src = peer(&mut rib, 1, 65001);
    let cust = peer_with(&mut rib, 2, 65002, |c| c.role = Some(Role::Provider));
    let prov = peer_with(&mut rib, 3, 65003, |c| c.role = Some(Role::Customer));
    let pr = peer_with(&mut rib, 4, 65004, |c| c.role = Some(Role::Peer));
    let rs = peer_with(&mut rib, 5, 65005, |c| {
        c.role = Some(Role::RouteServerClient)
    });
    let rsc = peer_with(&mut rib, 6, 65006, |c| c.role = Some(Role::RouteServer));
    rib.apply_update(
        src,
        &announce(&["10.1.0.0/16"], attrs(&[65001], "192.0.2.1")),
    );
    let mut leaked = attrs(&[65001], "192.0.2.1");
    leaked.otc = Some(65001);
    rib.apply_update(src, &announce(&["10.2.0.0/16"], leaked));
    // Without OTC: to customers, peers and RS clients with OTC = our AS;
    // to providers and route servers as is.
    for (p, want) in [
        (cust, Some(LOCAL_AS)),
        (pr, Some(LOCAL_AS)),
        (rsc, Some(LOCAL_AS)),
        (prov, None),
        (rs, None),
    ] {
        let got = received(&mut rib, p);
        assert_eq!(got.get("10.1.0.0/16").unwrap().1.otc, want, "{p}");
        // With OTC: only to customers and RS clients.
        let has = got.get("10.2.0.0/16").is_some();
        assert_eq!(has, p == cust || p == rsc, "{p}");
    }
}

// ---------------------------------------------------------------------
// Prefix limits, ADD-PATH, graceful restart.

#[test]
fn max_prefix_actions() {
    for action in [
        MaxPrefixAction::Warn,
        MaxPrefixAction::WithdrawExcess,
        MaxPrefixAction::Teardown,
    ] {
        let mut rib = rib();
        let a = peer_with(&mut rib, 1, 65001, |c| {
            c.max_prefix = vec![MaxPrefix {
                family: None,
                limit: 2,
                action,
            }]
        });
        let r = rib.apply_update(
            a,
            &announce(
                &["10.1.0.0/16", "10.2.0.0/16"],
                attrs(&[65001], "192.0.2.1"),
            ),
        );
        assert_eq!((r.announced, r.max_prefix), (2, None));
        // Replacing an existing prefix is not a new one.
        let r = rib.apply_update(
            a,
            &announce(&["10.1.0.0/16"], attrs(&[65001, 1], "192.0.2.1")),
        );
        assert_eq!(r.max_prefix, None);
        let r = rib.apply_update(
            a,
            &announce(
                &["10.3.0.0/16", "10.4.0.0/16"],
                attrs(&[65001], "192.0.2.1"),
            ),
        );
        let hit = r.max_prefix.unwrap();
        assert_eq!(
            (hit.family, hit.limit, hit.count, hit.action),
            (V4, 2, 3, action)
        );
        let kept = rib.loc_rib(V4).count();
        match action {
            MaxPrefixAction::Warn => assert_eq!((kept, r.announced), (4, 2)),
            _ => assert_eq!((kept, r.rejected), (2, 2)),
        }
        // Reported once until the count drops under the limit again.
        let r = rib.apply_update(a, &announce(&["10.5.0.0/16"], attrs(&[65001], "192.0.2.1")));
        assert_eq!(r.max_prefix, None);
    }
}

fn add_path_update(prefix: &str, id: u32, a: PathAttributes) -> Update {
    Update {
        attributes: a,
        announced: vec![PrefixNlri {
            path_id: Some(id),
            prefix: pfx(prefix),
        }],
        ..Update::default()
    }
}

#[test]
fn add_path_receive_and_send() {
    let mut rib = rib();
    let ap: FamilySet = [V4].into_iter().collect();
    let src = rib.add_peer(PeerConfig::new(ip("192.0.2.1"), 65001, LOCAL_AS));
    rib.peer_up(src, session("10.0.1.1", "192.0.2.254"));
    // Three paths from one neighbor, told apart by path identifier.
    for (id, len) in [(1u32, 3usize), (2, 1), (3, 2)] {
        let path: Vec<u32> = std::iter::repeat_n(65001, len).collect();
        rib.apply_update(
            src,
            &add_path_update(
                "10.0.0.0/8",
                id,
                attrs(&path, &format!("192.0.2.{}", 10 + id)),
            ),
        );
    }
    let d = rib.destination_prefix(V4, pfx("10.0.0.0/8")).unwrap();
    assert_eq!(d.paths.len(), 3);
    assert_eq!(d.paths[0].route.path_id, Some(2));
    assert_eq!(d.step, Some(Step::AsPathLength));
    // A page of the neighbor's routes is never cut inside a destination.
    let page = rib.adj_rib_in_page(src, V4, false, None, 1);
    assert_eq!(page.len(), 3);
    let NlriList::Prefixes(first) = &page[0].nlri else {
        panic!()
    };
    assert!(rib
        .adj_rib_in_page(src, V4, false, Some(Nlri::Prefix(&first[0])), 1)
        .is_empty());

    let mk = |rib: &mut Rib, n: u8, mode: Option<AddPathSend>| {
        let id = rib.add_peer({
            let mut c = PeerConfig::new(
                IpAddr::V4(Ipv4Addr::new(192, 0, 2, n)),
                65000 + u32::from(n),
                LOCAL_AS,
            );
            c.add_path_send = mode.map(|m| vec![(V4, m)]).unwrap_or_default();
            c
        });
        let mut s = session(&format!("10.0.1.{n}"), "192.0.2.254");
        s.encode.add_path = ap;
        rib.peer_up(id, s);
        id
    };
    let best2 = mk(&mut rib, 2, Some(AddPathSend::Best(2)));
    let all = mk(&mut rib, 3, Some(AddPathSend::All));
    let default = mk(&mut rib, 4, None);
    let got = received(&mut rib, best2);
    let hops: Vec<NextHop> = got.routes.values().map(|v| v.0).collect();
    assert_eq!(got.routes.len(), 2);
    assert!(hops.contains(&NextHop::V4(v4("192.0.2.254"))));
    // The two best by path length: ids 2 and 3 of the source.
    let paths: Vec<usize> = got
        .routes
        .values()
        .map(|v| v.1.as_path.as_ref().unwrap().path_len())
        .collect();
    assert_eq!(
        {
            let mut p = paths.clone();
            p.sort();
            p
        },
        vec![2, 3]
    );
    assert_eq!(received(&mut rib, all).routes.len(), 3);
    assert_eq!(received(&mut rib, default).routes.len(), 1);
    // Withdrawing one path withdraws exactly it, by its sent identifier.
    let before = rib.adj_rib_out(all, V4);
    rib.apply_update(
        src,
        &Update {
            withdrawn: vec![PrefixNlri {
                path_id: Some(1),
                prefix: pfx("10.0.0.0/8"),
            }],
            ..Update::default()
        },
    );
    let mut got = Received::default();
    for r in &before {
        let NlriList::Prefixes(v) = &r.nlri else {
            panic!()
        };
        got.routes.insert(
            (V4, v[0].prefix, v[0].path_id),
            (r.attrs.next_hop, r.attrs.attributes.clone()),
        );
    }
    drain(&mut rib, all, &mut got);
    assert_eq!(got.routes.len(), 2);
    assert_eq!(rib.adj_rib_out(all, V4).len(), 2);
}

#[test]
fn graceful_restart_keeps_stale_paths_until_end_of_rib() {
    let mut rib = rib();
    let a = peer(&mut rib, 1, 65001);
    let mon = peer(&mut rib, 2, 65002);
    rib.apply_update(
        a,
        &announce(
            &["10.1.0.0/16", "10.2.0.0/16"],
            attrs(&[65001], "192.0.2.1"),
        ),
    );
    let mut seen = received(&mut rib, mon);
    assert_eq!(seen.routes.len(), 2);
    rib.peer_down(
        a,
        Some(GracefulDown {
            families: vec![V4],
            long_lived: vec![],
        }),
    );
    let d = rib.destination_prefix(V4, pfx("10.1.0.0/16")).unwrap();
    assert!(d.paths[0].route.stale && d.paths[0].best);
    // Nothing changes for the others while the neighbor restarts.
    assert!(!rib.has_pending(mon));
    rib.peer_up(a, session("10.0.1.1", "192.0.2.254"));
    // 10.1/16 comes back, 10.2/16 does not; End-of-RIB purges it.
    rib.apply_update(
        a,
        &announce(&["10.1.0.0/16"], attrs(&[65001, 9], "192.0.2.1")),
    );
    assert!(
        !rib.destination_prefix(V4, pfx("10.1.0.0/16"))
            .unwrap()
            .paths[0]
            .route
            .stale
    );
    assert!(rib.destination_prefix(V4, pfx("10.2.0.0/16")).is_some());
    rib.apply_update(a, &Update::end_of_rib(V4));
    assert!(rib.destination_prefix(V4, pfx("10.2.0.0/16")).is_none());
    drain(&mut rib, mon, &mut seen);
    assert_eq!(seen.routes.len(), 1);
    assert_eq!(
        seen.get("10.1.0.0/16").unwrap().1.as_path,
        Some(AsPath::sequence(vec![LOCAL_AS, 65001, 9]))
    );

    // The restart timer runs out instead: the stale paths go.
    rib.peer_down(
        a,
        Some(GracefulDown {
            families: vec![V4],
            long_lived: vec![],
        }),
    );
    rib.purge_stale(a, V4);
    assert_eq!(rib.loc_rib(V4).count(), 0);
    // Without graceful restart, at once.
    rib.peer_up(a, session("10.0.1.1", "192.0.2.254"));
    rib.apply_update(a, &announce(&["10.1.0.0/16"], attrs(&[65001], "192.0.2.1")));
    rib.peer_down(a, None);
    assert_eq!(rib.loc_rib(V4).count(), 0);
}

#[test]
fn long_lived_stale_paths() {
    let mut rib = rib();
    let a = peer(&mut rib, 1, 65001);
    let b = peer(&mut rib, 2, 65002);
    let llgr_mon = peer_with(&mut rib, 3, 65003, |_| {});
    rib.peer_down(llgr_mon, None);
    let mut s = session("10.0.1.3", "192.0.2.254");
    s.llgr = true;
    rib.peer_up(llgr_mon, s);
    let plain_mon = peer(&mut rib, 4, 65004);
    rib.apply_update(
        a,
        &announce(
            &["10.1.0.0/16", "10.2.0.0/16"],
            attrs(&[65001], "192.0.2.1"),
        ),
    );
    let mut no_llgr = attrs(&[65001], "192.0.2.1");
    no_llgr.communities = vec![Community::NO_LLGR];
    rib.apply_update(a, &announce(&["10.3.0.0/16"], no_llgr));
    // b has a worse path to 10.2/16.
    rib.apply_update(
        b,
        &announce(&["10.2.0.0/16"], attrs(&[65002, 1, 2], "192.0.2.2")),
    );
    let mut to_llgr = received(&mut rib, llgr_mon);
    let mut to_plain = received(&mut rib, plain_mon);
    rib.peer_down(
        a,
        Some(GracefulDown {
            families: vec![V4],
            long_lived: vec![V4],
        }),
    );
    // Restart time over: long-lived stale.
    rib.purge_stale(a, V4);
    let d = rib.destination_prefix(V4, pfx("10.1.0.0/16")).unwrap();
    assert!(d.paths[0].llgr_stale && d.paths[0].best);
    assert!(d.paths[0]
        .route
        .attrs
        .attributes
        .communities
        .contains(&Community::LLGR_STALE));
    // NO_LLGR paths are withdrawn; LLGR-stale ones are least preferred.
    assert!(rib.destination_prefix(V4, pfx("10.3.0.0/16")).is_none());
    assert_eq!(best_peer(&rib, "10.2.0.0/16"), Some(b));
    drain(&mut rib, llgr_mon, &mut to_llgr);
    drain(&mut rib, plain_mon, &mut to_plain);
    assert!(to_llgr
        .get("10.1.0.0/16")
        .unwrap()
        .1
        .communities
        .contains(&Community::LLGR_STALE));
    assert!(to_plain.get("10.1.0.0/16").is_none());
    assert!(to_plain.get("10.2.0.0/16").is_some() && to_plain.get("10.3.0.0/16").is_none());
    // Long-lived time over too.
    rib.purge_stale(a, V4);
    assert!(rib.destination_prefix(V4, pfx("10.1.0.0/16")).is_none());
    assert_eq!(best_peer(&rib, "10.2.0.0/16"), Some(b));
}

// ---------------------------------------------------------------------
// Adj-RIB-Out and messages.

#[test]
fn adj_rib_out_keeps_only_the_latest_state() {
    let mut rib = rib();
    let a = peer(&mut rib, 1, 65001);
    let mon = peer(&mut rib, 2, 65002);
    let mut seen = received(&mut rib, mon);
    assert_eq!(seen.eor, vec![V4, V6]);
    let before = seen.messages;
    for i in 0..1000u32 {
        let u = if i % 2 == 0 {
            announce(&["10.0.0.0/8"], attrs(&[65001, i], "192.0.2.1"))
        } else {
            withdraw(&["10.0.0.0/8"])
        };
        rib.apply_update(a, &u);
    }
    rib.apply_update(
        a,
        &announce(&["10.0.0.0/8"], attrs(&[65001, 7], "192.0.2.1")),
    );
    drain(&mut rib, mon, &mut seen);
    assert_eq!(seen.messages - before, 1);
    assert_eq!(
        seen.get("10.0.0.0/8").unwrap().1.as_path,
        Some(AsPath::sequence(vec![LOCAL_AS, 65001, 7]))
    );
    // A change that changes back sends nothing.
    rib.apply_update(
        a,
        &announce(&["10.0.0.0/8"], attrs(&[65001, 8], "192.0.2.1")),
    );
    rib.apply_update(
        a,
        &announce(&["10.0.0.0/8"], attrs(&[65001, 7], "192.0.2.1")),
    );
    let n = seen.messages;
    drain(&mut rib, mon, &mut seen);
    assert_eq!(seen.messages, n);
    assert_eq!(rib.adj_rib_out(mon, V4).len(), 1);
}

#[test]
fn budget_packing_and_end_of_rib() {
    let mut rib = rib();
    let a = peer(&mut rib, 1, 65001);
    // 3000 prefixes over 3 attribute sets.
    for set in 0..3u32 {
        let prefixes: Vec<String> = (0..1000u32)
            .map(|i| format!("{}.{}.{}.0/24", 20 + set, i / 256, i % 256))
            .collect();
        let refs: Vec<&str> = prefixes.iter().map(String::as_str).collect();
        rib.apply_update(a, &announce(&refs, attrs(&[65001, set], "192.0.2.1")));
    }
    let mon = peer(&mut rib, 2, 65002);
    assert!(rib.pending_peers().contains(&mon));
    let mut seen = Received::default();
    let ctx = EncodeContext::default();
    let mut calls = 0;
    while rib.has_pending(mon) {
        let mut out = Vec::new();
        let n = rib.take_messages(mon, 5000, &mut out);
        assert!(!out.is_empty());
        // About the budget: never more than one message beyond it.
        assert!(n <= 5000 + 4096, "{n}");
        seen.apply(&out, &ctx);
        calls += 1;
    }
    assert_eq!(seen.routes.len(), 3000);
    // The empty IPv6 table is done first; each End-of-RIB once.
    seen.eor.sort();
    assert_eq!(seen.eor, vec![V4, V6]);
    // 3 sets of 1000 /24s (4 bytes each): 3 full-ish UPDATEs per set at most.
    assert!(seen.messages <= 3 * 3 + 2, "{}", seen.messages);
    assert!(calls >= 3);
    // A budget of 0 still gives one message.
    rib.apply_update(a, &announce(&["30.0.0.0/8"], attrs(&[65001], "192.0.2.1")));
    let mut out = Vec::new();
    assert!(rib.take_messages(mon, 0, &mut out) > 0);
    assert_eq!(out.len(), 1);
}

#[test]
fn refresh_resends_with_an_end_marker() {
    let mut rib = rib();
    let a = peer(&mut rib, 1, 65001);
    let mon = peer(&mut rib, 2, 65002);
    rib.apply_update(
        a,
        &announce(&["10.0.0.0/8", "11.0.0.0/8"], attrs(&[65001], "192.0.2.1")),
    );
    let mut seen = received(&mut rib, mon);
    let n = seen.messages;
    rib.refresh(mon, V4, true);
    drain(&mut rib, mon, &mut seen);
    // BoRR, one UPDATE with both prefixes again, then the EoRR (RFC 7313
    // §4); no End-of-RIB.
    assert_eq!(seen.messages - n, 3);
    assert_eq!(seen.eorr, vec![V4, V4]);
    assert_eq!(seen.eor, vec![V4, V6]);
}

#[test]
fn end_of_rib_on_demand_follows_what_was_due() {
    let mut rib = rib();
    let a = peer(&mut rib, 1, 65001);
    let mon = peer(&mut rib, 2, 65002);
    let mut seen = received(&mut rib, mon);
    assert_eq!(
        seen.eor,
        vec![V4, V6],
        "the first table ends with End-of-RIB"
    );
    let prefixes: Vec<String> = (0..200).map(|i| format!("10.{i}.0.0/16")).collect();
    let list: Vec<&str> = prefixes.iter().map(String::as_str).collect();
    for (i, chunk) in list.chunks(10).enumerate() {
        let hop = format!("192.0.2.{}", i + 1);
        rib.apply_update(a, &announce(chunk, attrs(&[65001, 65100 + i as u32], &hop)));
    }
    assert!(rib.send_end_of_rib(mon, V4));
    // Small takes: the End-of-RIB comes in the message after the last route.
    let ctx = rib
        .sh
        .peer(mon.0)
        .and_then(|p| p.session.as_ref())
        .map(|s| s.encode)
        .unwrap();
    let mut routes_before_eor = None;
    let mut guard = 0;
    while rib.has_pending(mon) {
        let mut out = Vec::new();
        rib.take_messages(mon, 100, &mut out);
        for m in out {
            seen.apply(&[m], &ctx);
            if seen.eor.len() == 3 && routes_before_eor.is_none() {
                routes_before_eor = Some(seen.routes.len());
            }
        }
        guard += 1;
        assert!(guard < 10_000);
    }
    assert_eq!(seen.eor, vec![V4, V6, V4]);
    assert_eq!(routes_before_eor, Some(200));
    // Not up with the family, or not up at all: refused.
    let down = peer(&mut rib, 3, 65003);
    rib.peer_down(down, None);
    assert!(!rib.send_end_of_rib(down, V4));
}

#[test]
fn ipv6_and_locally_originated_routes() {
    let mut rib = rib();
    let e = peer(&mut rib, 2, 65002);
    let i = peer(&mut rib, 3, LOCAL_AS);
    let mut a = attrs(&[], "0.0.0.0");
    a.next_hop = None;
    a.med = Some(5);
    let nh = NextHop::V6 {
        global: "2001:db8::1".parse().unwrap(),
        link_local: None,
    };
    let n = PrefixNlri {
        path_id: None,
        prefix: pfx("2001:db8:1::/48"),
    };
    assert!(rib.originate(V6, Nlri::Prefix(&n), RouteAttrs::new(a, Some(nh))));
    let d = rib.destination_prefix(V6, pfx("2001:db8:1::/48")).unwrap();
    assert_eq!(d.paths[0].route.peer, None);
    let to_e = received(&mut rib, e);
    let (hop, sent) = to_e
        .routes
        .get(&(V6, pfx("2001:db8:1::/48"), None))
        .unwrap();
    assert_eq!(
        *hop,
        NextHop::V6 {
            global: "2001:db8::ffff".parse().unwrap(),
            link_local: None
        }
    );
    assert_eq!(sent.as_path, Some(AsPath::sequence(vec![LOCAL_AS])));
    // Our own MED goes out.
    assert_eq!(sent.med, Some(5));
    let to_i = received(&mut rib, i);
    let (hop, sent) = to_i
        .routes
        .get(&(V6, pfx("2001:db8:1::/48"), None))
        .unwrap();
    assert_eq!(*hop, nh);
    assert_eq!(sent.as_path, Some(AsPath::default()));
    assert!(rib.withdraw_local(V6, Nlri::Prefix(&n)));
    let mut to_e2 = to_e;
    drain(&mut rib, e, &mut to_e2);
    assert!(to_e2.routes.is_empty());
    assert_eq!(
        rib.longest_match(V6, "2001:db8:1::5".parse().unwrap())
            .map(|r| r.path_id),
        None
    );
}

#[test]
fn queries() {
    let mut rib = rib();
    let a = peer_with(&mut rib, 1, 65001, |c| c.keep_adj_rib_in = true);
    let mut lp = attrs(&[65001], "192.0.2.1");
    lp.local_pref = Some(7);
    rib.apply_update(
        a,
        &announce(
            &["10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "11.0.0.0/8"],
            lp,
        ),
    );
    let lm = rib.longest_match(V4, ip("10.1.2.3")).unwrap();
    assert_eq!(
        lm.nlri,
        NlriList::Prefixes(vec![PrefixNlri {
            path_id: None,
            prefix: pfx("10.1.2.0/24")
        }])
    );
    assert_eq!(rib.more_specifics(V4, pfx("10.0.0.0/8")).count(), 3);
    let page = rib.loc_rib_page(V4, None, 2);
    assert_eq!(page.len(), 2);
    let NlriList::Prefixes(last) = &page[1].nlri else {
        panic!()
    };
    let rest = rib.loc_rib_page(V4, Some(Nlri::Prefix(&last[0])), 10);
    assert_eq!(rest.len(), 2);
    // One set for the four: one decoded copy in an answer.
    let best: Vec<RouteView> = rib.loc_rib(V4).collect();
    assert_eq!(best.len(), 4);
    assert!(best.iter().all(|r| r.attrs.same(&best[0].attrs)));
    // Pre-policy keeps LOCAL_PREF as received; post-policy ignored it (eBGP).
    let pre = rib.adj_rib_in(a, V4, true);
    let post = rib.adj_rib_in(a, V4, false);
    assert_eq!(pre.len(), 4);
    assert_eq!(pre[0].attrs.attributes.local_pref, Some(7));
    assert_eq!(post[0].attrs.attributes.local_pref, None);
    // One UPDATE, one attribute set: its routes share one decoded copy.
    assert!(pre.iter().all(|r| r.attrs.same(&pre[0].attrs)));
    assert!(post.iter().all(|r| r.attrs.same(&post[0].attrs)));
    // In pages: the same routes in the same order.
    for pre_policy in [true, false] {
        let mut after: Option<NlriList> = None;
        let mut pages = Vec::new();
        loop {
            let cursor = after.as_ref().and_then(|l| l.iter().next());
            let page = rib.adj_rib_in_page(a, V4, pre_policy, cursor, 3);
            let Some(last) = page.last() else {
                break;
            };
            after = Some(last.nlri.clone());
            pages.push(page.into_iter().map(|r| r.nlri).collect::<Vec<_>>());
        }
        let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
        assert_eq!(sizes, [3, 1], "pre-policy {pre_policy}");
        let whole: Vec<NlriList> = rib
            .adj_rib_in(a, V4, pre_policy)
            .into_iter()
            .map(|r| r.nlri)
            .collect();
        assert_eq!(pages.concat(), whole);
    }
    let s = rib.stats();
    assert_eq!(s.families[0].destinations, 4);
    assert!(s.attribute_sets >= 2);
}

#[test]
fn reconfigure_reimports_or_asks_for_a_refresh() {
    let mut rib = rib();
    let kept = peer_with(&mut rib, 1, 65001, |c| c.keep_adj_rib_in = true);
    let plain = peer(&mut rib, 2, 65002);
    let mon = peer(&mut rib, 3, 65003);
    rib.apply_update(
        kept,
        &announce(&["10.1.0.0/16"], attrs(&[65001], "192.0.2.1")),
    );
    rib.apply_update(
        plain,
        &announce(&["10.2.0.0/16"], attrs(&[65002], "192.0.2.2")),
    );
    let mut seen = received(&mut rib, mon);
    assert_eq!(seen.routes.len(), 2);
    let mut c = rib.peer_config(kept).unwrap().clone();
    c.import.default = Verdict::Reject;
    assert_eq!(rib.reconfigure_peer(kept, c.clone()), Reconfigured::Done);
    assert!(rib.destination_prefix(V4, pfx("10.1.0.0/16")).is_none());
    // Back to accepting: the kept copy comes back without a refresh.
    c.import.default = Verdict::Accept;
    assert_eq!(rib.reconfigure_peer(kept, c), Reconfigured::Done);
    assert!(rib.destination_prefix(V4, pfx("10.1.0.0/16")).is_some());
    let mut c = rib.peer_config(plain).unwrap().clone();
    c.import.default = Verdict::Reject;
    assert_eq!(
        rib.reconfigure_peer(plain, c),
        Reconfigured::NeedsRefresh(vec![V4, V6])
    );
    // Export policy change: only differences are sent.
    let mut c = rib.peer_config(mon).unwrap().clone();
    c.export.default = Verdict::Reject;
    assert_eq!(rib.reconfigure_peer(mon, c), Reconfigured::Done);
    drain(&mut rib, mon, &mut seen);
    assert!(seen.routes.is_empty());
}

/// Churn costs no memory beyond the table's: a set that no path holds any
/// more leaves the interner at once (replaced, withdrawn, its neighbor
/// down), not at the next purge; one still held outside the tables (an
/// answer being read) stays until a purge finds it unused.
#[test]
fn sets_leave_the_interner_with_their_last_path() {
    let mut rib = rib();
    let a = peer(&mut rib, 1, 65001);
    let b = peer(&mut rib, 2, 65002);
    let mon = peer(&mut rib, 3, 65003);
    let mut seen = received(&mut rib, mon);
    let sets = |rib: &Rib| rib.stats().attribute_sets;
    for round in 0..50u32 {
        rib.apply_update(
            a,
            &announce(
                &["10.0.0.0/8", "11.0.0.0/8"],
                attrs(&[65001, round], "192.0.2.1"),
            ),
        );
        rib.apply_update(
            b,
            &announce(&["10.0.0.0/8"], attrs(&[65002, round], "192.0.2.2")),
        );
        assert_eq!(sets(&rib), 2, "round {round}");
    }
    drain(&mut rib, mon, &mut seen);
    assert_eq!(
        seen.get("11.0.0.0/8").unwrap().1.as_path,
        Some(AsPath::sequence([LOCAL_AS, 65001, 49]))
    );
    rib.apply_update(b, &withdraw(&["10.0.0.0/8"]));
    assert_eq!(sets(&rib), 1);
    // Read from outside (an API page) while it is withdrawn.
    let page = rib.adj_rib_in(a, V4, false);
    rib.peer_down(a, None);
    assert_eq!(sets(&rib), 1);
    drop(page);
    rib.sh.purge();
    assert_eq!(sets(&rib), 0);
    drain(&mut rib, mon, &mut seen);
    assert!(seen.routes.is_empty());
    // A neighbor whose routes are also kept before import policy: the set
    // leaves with the last of its two holders, whichever goes last.
    let kept = peer_with(&mut rib, 4, 65004, |c| c.keep_adj_rib_in = true);
    for round in 0..20u32 {
        rib.apply_update(
            kept,
            &announce(&["12.0.0.0/8"], attrs(&[65004, round], "192.0.2.4")),
        );
        assert_eq!(sets(&rib), 1, "round {round}");
    }
    rib.apply_update(kept, &withdraw(&["12.0.0.0/8"]));
    assert_eq!(sets(&rib), 0);
    // Down with its routes kept both ways: the purge comes after both went.
    rib.apply_update(
        kept,
        &announce(&["12.0.0.0/8"], attrs(&[65004, 99], "192.0.2.4")),
    );
    rib.peer_down(kept, None);
    assert_eq!(sets(&rib), 0);
}

/// Random announcements and withdrawals from six neighbors (route server
/// clients or plain eBGP, local preference set on import for some): every
/// decision the shortcut of [`Shared::decide_after`] skips is checked
/// against the full one (debug builds), the shortcut is taken often, and
/// the monitor ends with each destination's best path.
#[test]
fn skipped_decisions_match_full_ones() {
    for route_server in [false, true] {
        let mut rib = rib();
        // Neighbors 3 and 6 are iBGP: their LOCAL_PREF counts, and their
        // paths share a neighbouring AS, so MED compares them.
        let asn = |n: u8| {
            if n.is_multiple_of(3) {
                LOCAL_AS
            } else {
                65000 + u32::from(n)
            }
        };
        let peers: Vec<PeerId> = (1..=6u8)
            .map(|n| {
                peer_with(&mut rib, n, asn(n), |c| {
                    c.route_server_client = route_server
                })
            })
            .collect();
        let mon = peer(&mut rib, 9, 65009);
        let mut seen = received(&mut rib, mon);
        let prefixes: Vec<String> = (0..24).map(|i| format!("10.{i}.0.0/16")).collect();
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        for _ in 0..4000 {
            let from = peers[next(6) as usize];
            let p = prefixes[next(24) as usize].as_str();
            if next(8) == 0 {
                rib.apply_update(from, &withdraw(&[p]));
                continue;
            }
            let n = from.0 as u8 + 1;
            let ibgp = asn(n) == LOCAL_AS;
            let mut path = vec![if ibgp { 65100 } else { asn(n) }];
            path.extend((0..next(4)).map(|i| 64_512 + i as u32));
            let mut a = attrs(&path, &format!("192.0.2.{n}"));
            a.med = (next(2) == 0).then(|| next(3) as u32);
            if ibgp {
                a.local_pref = Some(99 + next(3) as u32);
            }
            if next(4) == 0 {
                a.origin = Some(Origin::Incomplete);
            }
            rib.apply_update(from, &announce(&[p], a));
        }
        let shortcuts = rib.sh.shortcuts.get();
        assert!(
            shortcuts > 500,
            "route server {route_server}: {shortcuts} decisions skipped"
        );
        drain(&mut rib, mon, &mut seen);
        for p in &prefixes {
            let best = rib
                .destination_prefix(V4, pfx(p))
                .and_then(|d| d.paths.into_iter().find(|x| x.best));
            assert_eq!(seen.get(p).is_some(), best.is_some(), "{p}");
        }
    }
}

#[test]
fn remove_peer_withdraws_its_paths() {
    let mut rib = rib();
    let a = peer(&mut rib, 1, 65001);
    let mon = peer(&mut rib, 2, 65002);
    rib.apply_update(a, &announce(&["10.0.0.0/8"], attrs(&[65001], "192.0.2.1")));
    let mut seen = received(&mut rib, mon);
    rib.remove_peer(a);
    assert!(rib.peer_config(a).is_none());
    drain(&mut rib, mon, &mut seen);
    assert!(seen.routes.is_empty());
    // Its sets went with its paths.
    assert_eq!(rib.stats().attribute_sets, 0);
}

// ---------------------------------------------------------------------
// Random sequences against a model.

mod model {
    use super::*;
    use proptest::prelude::*;

    const PREFIXES: [&str; 6] = [
        "10.0.0.0/8",
        "10.1.0.0/16",
        "10.1.2.0/24",
        "192.168.0.0/16",
        "0.0.0.0/0",
        "203.0.113.7/32",
    ];

    #[derive(Debug, Clone)]
    enum Op {
        /// Neighbor, prefix, path length, MED.
        Announce(usize, usize, usize, Option<u32>),
        Withdraw(usize, usize),
        /// Let the monitor take messages with this budget.
        Take(usize),
        /// A neighbor's session goes down (and comes back up).
        Bounce(usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (0..3usize, 0..PREFIXES.len(), 1..4usize, proptest::option::of(0..3u32))
                .prop_map(|(p, x, l, m)| Op::Announce(p, x, l, m)),
            3 => (0..3usize, 0..PREFIXES.len()).prop_map(|(p, x)| Op::Withdraw(p, x)),
            2 => (0..3000usize).prop_map(Op::Take),
            1 => (0..3usize).prop_map(Op::Bounce),
        ]
    }

    fn attrs_for(p: usize, len: usize, med: Option<u32>) -> PathAttributes {
        let asn = 65001 + p as u32;
        let mut path = vec![asn];
        path.extend(std::iter::repeat_n(64_512, len - 1));
        let mut a = attrs(&path, &format!("192.0.2.{}", p + 1));
        a.med = med;
        a
    }

    /// Three neighbors (two in the same AS so that MED matters) and a monitor.
    fn setup() -> (Rib, Vec<PeerId>, PeerId) {
        let mut rib = rib();
        let peers = vec![
            peer(&mut rib, 1, 65001),
            peer(&mut rib, 2, 65001),
            peer(&mut rib, 3, 65003),
        ];
        let mon = peer(&mut rib, 9, 65009);
        (rib, peers, mon)
    }

    /// A monitor that takes every path (ADD-PATH send, RFC 7911).
    fn add_path_monitor(rib: &mut Rib) -> (PeerId, EncodeContext) {
        let mut c = PeerConfig::new(ip("192.0.2.10"), 65010, LOCAL_AS);
        c.add_path_send = vec![(V4, AddPathSend::All)];
        let id = rib.add_peer(c);
        let mut s = session("10.0.1.10", "192.0.2.254");
        s.encode.add_path = [V4].into_iter().collect();
        let ctx = s.encode;
        rib.peer_up(id, s);
        (id, ctx)
    }

    /// What the monitors should get for a path: the eBGP export.
    fn ebgp_export(a: &PathAttributes) -> (NextHop, PathAttributes) {
        let mut e = a.clone();
        let mut path = e.as_path.take().unwrap_or_default();
        path.prepend(LOCAL_AS, 1);
        e.as_path = Some(path);
        e.med = None;
        e.local_pref = None;
        e.next_hop = None;
        (NextHop::V4(v4("192.0.2.254")), e)
    }

    /// Best paths as (prefix, neighbor, attributes).
    fn best(rib: &Rib) -> Vec<(String, Option<PeerId>, RouteAttrs)> {
        rib.loc_rib(V4)
            .map(|r| {
                let NlriList::Prefixes(v) = &r.nlri else {
                    panic!()
                };
                (v[0].prefix.to_string(), r.peer, r.attrs.get().clone())
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Incremental best paths equal a table built from the final state
        /// alone, and the monitor, decoding everything it was sent, holds
        /// exactly the eBGP export of the Loc-RIB.
        #[test]
        fn incremental_tables_match_a_recomputation(ops in proptest::collection::vec(op(), 1..60)) {
            let (mut rib, peers, mon) = setup();
            let (all, all_ctx) = add_path_monitor(&mut rib);
            let mut seen = Received::default();
            let mut seen_all = Received::default();
            let ctx = EncodeContext::default();
            // The final state per (neighbor, prefix).
            let mut state: BTreeMap<(usize, usize), PathAttributes> = BTreeMap::new();
            for op in &ops {
                match *op {
                    Op::Announce(p, x, len, med) => {
                        let a = attrs_for(p, len, med);
                        rib.apply_update(peers[p], &announce(&[PREFIXES[x]], a.clone()));
                        state.insert((p, x), a);
                    }
                    Op::Withdraw(p, x) => {
                        rib.apply_update(peers[p], &withdraw(&[PREFIXES[x]]));
                        state.remove(&(p, x));
                    }
                    Op::Take(budget) => {
                        let mut out = Vec::new();
                        rib.take_messages(mon, budget, &mut out);
                        seen.apply(&out, &ctx);
                        out.clear();
                        rib.take_messages(all, budget, &mut out);
                        seen_all.apply(&out, &all_ctx);
                    }
                    Op::Bounce(p) => {
                        rib.peer_down(peers[p], None);
                        rib.peer_up(peers[p], session(&format!("10.0.1.{}", p + 1), "192.0.2.254"));
                        state.retain(|k, _| k.0 != p);
                    }
                }
            }
            drain(&mut rib, mon, &mut seen);
            drain(&mut rib, all, &mut seen_all);

            let (mut fresh, fpeers, _) = setup();
            for ((p, x), a) in &state {
                fresh.apply_update(fpeers[*p], &announce(&[PREFIXES[*x]], a.clone()));
            }
            let got = best(&rib);
            prop_assert_eq!(&got, &best(&fresh));

            let mut want = BTreeMap::new();
            for (prefix, _, a) in &got {
                want.insert((V4, pfx(prefix), None), ebgp_export(&a.attributes));
            }
            prop_assert_eq!(&seen.routes, &want);
            // The ADD-PATH monitor holds every path, each once.
            let mut want_all: Vec<String> = state
                .iter()
                .map(|((_, x), a)| format!("{} {:?}", pfx(PREFIXES[*x]), ebgp_export(a)))
                .collect();
            want_all.sort();
            let mut got_all: Vec<String> = seen_all
                .routes
                .iter()
                .map(|((_, p, _), v)| format!("{p} {v:?}"))
                .collect();
            got_all.sort();
            prop_assert_eq!(got_all, want_all);
            let mut eor = seen.eor.clone();
            eor.sort();
            prop_assert_eq!(eor, vec![V4, V6]);
            // The Adj-RIB-Out agrees with what the monitor holds.
            prop_assert_eq!(rib.adj_rib_out(mon, V4).len(), want.len());
        }
    }
}

// ---------------------------------------------------------------------
// More families and sessions.

#[test]
fn labeled_and_vpn_routes_keep_their_labels() {
    use ribbit_wire::nlri::{Label, LabeledNlri, RouteDistinguisher, VpnNlri};
    let mut rib = rib();
    let fams = vec![Family::IPV4_LABELED, Family::IPV4_VPN];
    let src = rib.add_peer(PeerConfig::new(ip("192.0.2.1"), 65001, LOCAL_AS));
    let mon = rib.add_peer(PeerConfig::new(ip("192.0.2.2"), 65002, LOCAL_AS));
    for (p, id) in [(src, "10.0.1.1"), (mon, "10.0.1.2")] {
        let mut s = session(id, "192.0.2.254");
        s.families = fams.clone();
        rib.peer_up(p, s);
    }
    let labeled = |label: u32| LabeledNlri {
        path_id: None,
        labels: vec![Label(Label::new(label).0 | 1)],
        prefix: pfx("10.0.0.0/8"),
    };
    let vpn = VpnNlri {
        path_id: None,
        labels: vec![Label(Label::new(300).0 | 1)],
        rd: "65000:7".parse::<RouteDistinguisher>().unwrap(),
        prefix: pfx("10.0.0.0/8"),
    };
    let reach = |family, nlri| Update {
        attributes: attrs(&[65001], "192.0.2.1"),
        mp_reach: Some(MpReach {
            family,
            next_hop: NextHop::V4(v4("192.0.2.1")),
            nlri: MpNlri::Decoded(nlri),
        }),
        ..Update::default()
    };
    rib.apply_update(
        src,
        &reach(Family::IPV4_LABELED, NlriList::Labeled(vec![labeled(100)])),
    );
    rib.apply_update(
        src,
        &reach(Family::IPV4_VPN, NlriList::Vpn(vec![vpn.clone()])),
    );
    // A new label for the same prefix replaces the path.
    rib.apply_update(
        src,
        &reach(Family::IPV4_LABELED, NlriList::Labeled(vec![labeled(200)])),
    );
    assert_eq!(
        rib.stats().families.iter().map(|f| f.paths).sum::<usize>(),
        2
    );
    let decode_all = |rib: &mut Rib| {
        let mut out = Vec::new();
        while rib.has_pending(mon) {
            rib.take_messages(mon, 1 << 16, &mut out);
        }
        out.iter()
            .filter_map(
                |m| match Message::decode(m, &DecodeContext::default()).unwrap() {
                    Message::Update(u) => Some(u),
                    _ => None,
                },
            )
            .collect::<Vec<_>>()
    };
    let sent = decode_all(&mut rib);
    let nlri: Vec<NlriList> = sent
        .iter()
        .filter_map(|u| u.mp_reach.as_ref())
        .filter_map(|r| match &r.nlri {
            MpNlri::Decoded(l) => Some(l.clone()),
            MpNlri::Raw(_) => None,
        })
        .collect();
    assert!(nlri.contains(&NlriList::Labeled(vec![labeled(200)])));
    assert!(nlri.contains(&NlriList::Vpn(vec![vpn.clone()])));
    // Withdrawn with the withdrawal label (RFC 8277 §2.4): still found.
    let mut gone = labeled(0);
    gone.labels = vec![Label::WITHDRAW];
    rib.apply_update(
        src,
        &Update {
            mp_unreach: Some(MpUnreach {
                family: Family::IPV4_LABELED,
                nlri: MpNlri::Decoded(NlriList::Labeled(vec![gone])),
            }),
            ..Update::default()
        },
    );
    let sent = decode_all(&mut rib);
    let withdrawn: usize = sent
        .iter()
        .filter_map(|u| u.mp_unreach.as_ref())
        .map(|w| w.nlri.len())
        .sum();
    assert_eq!(withdrawn, 1);
    assert_eq!(rib.adj_rib_out(mon, Family::IPV4_VPN).len(), 1);
    assert!(rib.adj_rib_out(mon, Family::IPV4_LABELED).is_empty());
}

#[test]
fn prefer_oldest_among_equal_ebgp_paths() {
    let mut opts = RibOptions::new(LOCAL_AS, v4("10.0.0.1"));
    opts.decision.prefer_oldest = true;
    let mut rib = Rib::new(opts);
    let a = peer(&mut rib, 1, 65001);
    let b = peer(&mut rib, 2, 65002);
    // b's path arrives first; a would win on router ID.
    rib.apply_update(b, &announce(&["10.0.0.0/8"], attrs(&[65002], "192.0.2.2")));
    rib.apply_update(a, &announce(&["10.0.0.0/8"], attrs(&[65001], "192.0.2.1")));
    assert_eq!(best_peer(&rib, "10.0.0.0/8"), Some(b));
    assert_eq!(best_step(&rib, "10.0.0.0/8"), Some(Step::Oldest));
    // Replaced, b's path is the newest: a is now the oldest.
    rib.apply_update(b, &announce(&["10.0.0.0/8"], attrs(&[65002], "192.0.2.2")));
    assert_eq!(best_peer(&rib, "10.0.0.0/8"), Some(a));
}

#[test]
fn two_octet_as_neighbors_get_as4_path() {
    let mut rib = rib();
    let src = peer(&mut rib, 1, 65001);
    let old = rib.add_peer(PeerConfig::new(ip("192.0.2.2"), 65002, LOCAL_AS));
    let mut s = session("10.0.1.2", "192.0.2.254");
    s.encode.four_octet_as = false;
    rib.peer_up(old, s);
    rib.apply_update(
        src,
        &announce(&["10.0.0.0/8"], attrs(&[65001, 4_200_000_000], "192.0.2.1")),
    );
    let mut got = Received::default();
    let mut out = Vec::new();
    while rib.has_pending(old) {
        rib.take_messages(old, 1 << 16, &mut out);
    }
    got.apply(&out, &s_ctx(false));
    // Decoded with AS4_PATH merged back: the real path.
    assert_eq!(
        got.get("10.0.0.0/8").unwrap().1.as_path,
        Some(AsPath::sequence(vec![LOCAL_AS, 65001, 4_200_000_000]))
    );
}

fn s_ctx(four: bool) -> EncodeContext {
    EncodeContext {
        four_octet_as: four,
        ..EncodeContext::default()
    }
}

#[test]
fn nothing_is_due_for_a_neighbor_that_is_down() {
    let mut rib = rib();
    let a = peer(&mut rib, 1, 65001);
    let mon = peer(&mut rib, 2, 65002);
    rib.apply_update(a, &announce(&["10.0.0.0/8"], attrs(&[65001], "192.0.2.1")));
    rib.peer_down(mon, None);
    assert!(!rib.has_pending(mon));
    let mut out = Vec::new();
    assert_eq!(rib.take_messages(mon, 1000, &mut out), 0);
    assert!(rib.adj_rib_out(mon, V4).is_empty());
    // Back up: everything again, then End-of-RIB.
    rib.peer_up(mon, session("10.0.1.2", "192.0.2.254"));
    let got = received(&mut rib, mon);
    assert_eq!(got.routes.len(), 1);
    assert_eq!(got.eor.len(), 2);
}

#[test]
fn a_neighbor_that_takes_nothing_costs_no_more_than_the_table() {
    let mut rib = rib();
    let src = peer(&mut rib, 1, 65001);
    let fast = peer(&mut rib, 2, 65002);
    let stuck = peer(&mut rib, 3, 65003);
    let mut seen_fast = received(&mut rib, fast);
    let mut seen_stuck = received(&mut rib, stuck);
    // 200,000 changes to 10 prefixes; `stuck` takes nothing meanwhile.
    let prefixes = [
        "10.0.0.0/8",
        "11.0.0.0/8",
        "12.0.0.0/8",
        "13.0.0.0/8",
        "14.0.0.0/8",
        "15.0.0.0/8",
        "16.0.0.0/8",
        "17.0.0.0/8",
        "18.0.0.0/8",
        "19.0.0.0/8",
    ];
    for i in 0..20_000u32 {
        let a = attrs(&[65001, 64512 + i % 7], "192.0.2.1");
        rib.apply_update(src, &announce(&prefixes, a));
        if i % 100 == 0 {
            drain(&mut rib, fast, &mut seen_fast);
        }
        let AnyFamily::V4(t) = &rib.families[&V4] else {
            panic!()
        };
        assert!(t.log_len() <= 2 * 65_536 + 10, "{}", t.log_len());
    }
    drain(&mut rib, fast, &mut seen_fast);
    // The stuck neighbor was moved to a walk: it gets the latest state,
    // each prefix once.
    let before = seen_stuck.messages;
    drain(&mut rib, stuck, &mut seen_stuck);
    assert_eq!(seen_stuck.messages - before, 1);
    for p in prefixes {
        assert_eq!(seen_stuck.get(p).unwrap().1, seen_fast.get(p).unwrap().1);
    }
}

#[test]
fn a_neighbor_moved_to_a_walk_still_hears_of_withdrawn_destinations() {
    let mut rib = rib();
    let src = peer(&mut rib, 1, 65001);
    let stuck = peer(&mut rib, 3, 65003);
    let mut seen = received(&mut rib, stuck);
    let gone = ["20.0.0.0/8", "21.0.0.0/8", "22.0.0.0/8"];
    rib.apply_update(src, &announce(&gone, attrs(&[65001], "192.0.2.1")));
    rib.apply_update(
        src,
        &announce(&["30.0.0.0/8"], attrs(&[65001], "192.0.2.1")),
    );
    drain(&mut rib, stuck, &mut seen);
    assert_eq!(seen.routes.len(), 4);
    // Withdrawn while `stuck` takes nothing, then enough churn to move it
    // from the change log to a walk of the table, which does not hold the
    // withdrawn destinations any more.
    rib.apply_update(src, &withdraw(&gone));
    for i in 0..140_000u32 {
        let a = attrs(&[65001, 64512 + i % 7], "192.0.2.1");
        rib.apply_update(src, &announce(&["10.0.0.0/8"], a));
    }
    drain(&mut rib, stuck, &mut seen);
    for p in gone {
        assert!(seen.get(p).is_none(), "{p} still held");
    }
    assert!(seen.get("30.0.0.0/8").is_some() && seen.get("10.0.0.0/8").is_some());
    assert_eq!(rib.adj_rib_out(stuck, V4).len(), 2);
}

#[test]
fn destination_numbers_are_reused_only_once_nothing_holds_them() {
    let mut rib = rib();
    let src = peer(&mut rib, 1, 65001);
    let mon = peer(&mut rib, 2, 65002);
    let mut seen = received(&mut rib, mon);
    let mut to_src = received(&mut rib, src);
    // Rounds of 100 prefixes announced, and the previous round's
    // withdrawn: numbers freed once both neighbors read the change log
    // serve the next rounds, and what the monitor holds always matches
    // the table.
    let round = |r: u32| -> Vec<String> {
        (0..100u32)
            .map(|i| format!("{}.{}.{}.0/24", 10 + r % 50, i, r / 50))
            .collect()
    };
    for r in 0..200u32 {
        let now = round(r);
        let now: Vec<&str> = now.iter().map(String::as_str).collect();
        rib.apply_update(src, &announce(&now, attrs(&[65001, r], "192.0.2.1")));
        if r > 0 {
            let prev = round(r - 1);
            let prev: Vec<&str> = prev.iter().map(String::as_str).collect();
            rib.apply_update(src, &withdraw(&prev));
        }
        drain(&mut rib, mon, &mut seen);
        drain(&mut rib, src, &mut to_src);
        assert_eq!(seen.routes.len(), 100, "round {r}");
        for p in &now {
            let (_, a) = seen.get(p).unwrap();
            assert_eq!(
                a.as_path,
                Some(AsPath::sequence([LOCAL_AS, 65001, r])),
                "{p}"
            );
        }
    }
    let AnyFamily::V4(t) = &rib.families[&V4] else {
        panic!()
    };
    // Numbers were reused: far fewer than the 20,000 destinations seen.
    assert!(t.numbers() < 1_000, "{}", t.numbers());
    assert_eq!(rib.stats().families[0].destinations, 100);
}

/// Route server clients (RFC 7947) hear of changes besides their best path
/// only when they concern them (see `family_rib::hint`): whatever the
/// order of announcements, withdrawals and takes, what each client was sent
/// is what a full re-send gives.
mod route_server_model {
    use super::*;
    use proptest::prelude::*;

    const PREFIXES: [&str; 4] = ["10.0.0.0/8", "11.0.0.0/8", "12.0.0.0/8", "13.0.0.0/8"];

    #[derive(Debug, Clone)]
    enum Op {
        /// Client announces a prefix: path length, NO_EXPORT.
        Announce(usize, usize, usize, bool),
        Withdraw(usize, usize),
        /// A client takes what is due.
        Take(usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (0..4usize, 0..PREFIXES.len(), 1..4usize, proptest::bool::weighted(0.2))
                .prop_map(|(p, x, l, n)| Op::Announce(p, x, l, n)),
            3 => (0..4usize, 0..PREFIXES.len()).prop_map(|(p, x)| Op::Withdraw(p, x)),
            3 => (0..4usize).prop_map(Op::Take),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn clients_get_what_a_full_resend_gives(ops in proptest::collection::vec(op(), 1..80)) {
            let mut rib = rib();
            let clients: Vec<PeerId> = (0..4u8)
                .map(|i| peer_with(&mut rib, i + 1, 65001 + u32::from(i), |c| c.route_server_client = true))
                .collect();
            let mut seen: Vec<Received> = clients.iter().map(|c| received(&mut rib, *c)).collect();
            for op in ops {
                match op {
                    Op::Announce(p, x, len, no_export) => {
                        let asn = 65001 + p as u32;
                        let mut path = vec![asn];
                        path.extend(std::iter::repeat_n(64_512, len - 1));
                        let mut a = attrs(&path, &format!("192.0.2.{}", p + 1));
                        if no_export {
                            a.communities.push(Community::NO_EXPORT);
                        }
                        rib.apply_update(clients[p], &announce(&[PREFIXES[x]], a));
                    }
                    Op::Withdraw(p, x) => {
                        rib.apply_update(clients[p], &withdraw(&[PREFIXES[x]]));
                    }
                    Op::Take(p) => drain(&mut rib, clients[p], &mut seen[p]),
                }
            }
            for (c, got) in clients.iter().zip(seen.iter_mut()) {
                drain(&mut rib, *c, got);
                let before = got.routes.clone();
                rib.refresh(*c, V4, false);
                drain(&mut rib, *c, got);
                prop_assert_eq!(&got.routes, &before);
                // And never its own path back (RFC 7947 §2.3.2).
                for (_, a) in got.routes.values() {
                    let first = a.as_path.as_ref().and_then(|p| p.segments.first()).and_then(|s| s.asns.first().copied());
                    prop_assert_ne!(first, Some(65001 + c.0));
                }
            }
        }
    }
}

#[test]
fn restarting_defers_selection_until_end_of_rib() {
    let mut rib = rib();
    let a = peer_with(&mut rib, 1, 65001, |_| {});
    rib.peer_down(a, None);
    let b = rib.add_peer(PeerConfig::new(ip("192.0.2.2"), 65002, LOCAL_AS));
    let mon = rib.add_peer(PeerConfig::new(ip("192.0.2.3"), 65003, LOCAL_AS));
    // We restart and wait for A and B; the monitor did not negotiate
    // graceful restart (it is not waited for).
    rib.defer_selection([a, b]);
    let gr = |n: &str, r: Option<bool>| {
        let mut s = session(n, "192.0.2.254");
        s.graceful_restart = r;
        s
    };
    rib.peer_up(a, gr("10.0.1.1", Some(false)));
    rib.peer_up(mon, gr("10.0.1.3", None));
    rib.apply_update(a, &announce(&["10.0.0.0/8"], attrs(&[65001], "192.0.2.1")));
    assert!(rib.deferring());
    assert!(
        !rib.has_pending(mon),
        "nothing is sent while selection is deferred"
    );
    // A's End-of-RIB for both its families: B is still awaited.
    rib.apply_update(a, &Update::end_of_rib(V4));
    rib.apply_update(a, &Update::end_of_rib(V6));
    assert!(rib.deferring());
    // B comes up having restarted itself (R bit): not waited for.
    rib.peer_up(b, gr("10.0.1.2", Some(true)));
    assert!(!rib.deferring());
    let seen = received(&mut rib, mon);
    assert!(seen.get("10.0.0.0/8").is_some());
    assert_eq!(seen.eor, vec![V4, V6]);

    // The timer ends it when a neighbor never comes.
    rib.defer_selection([PeerId(99)]);
    assert!(rib.deferring());
    rib.end_deferral();
    assert!(!rib.deferring());
}

#[test]
fn destination_pages_hold_every_path_of_every_destination() {
    let mut rib = rib();
    let a = peer(&mut rib, 1, 65001);
    let b = peer(&mut rib, 2, 65002);
    rib.apply_update(
        a,
        &announce(&["10.0.0.0/8", "11.0.0.0/8"], attrs(&[65001], "192.0.2.1")),
    );
    rib.apply_update(b, &announce(&["11.0.0.0/8"], attrs(&[65002], "192.0.2.2")));
    // No best path (unspecified next hop), yet a path a dump must show.
    rib.apply_update(b, &announce(&["12.0.0.0/8"], attrs(&[65002], "0.0.0.0")));
    assert_eq!(rib.loc_rib(V4).count(), 2);
    let first = rib.destinations_page(V4, None, 2);
    assert_eq!(first.len(), 2);
    assert_eq!(first[0].paths.len(), 1);
    assert_eq!(first[1].paths.len(), 2);
    assert!(first[1].paths[0].best);
    let NlriList::Prefixes(last) = &first[1].paths[0].route.nlri else {
        panic!()
    };
    assert_eq!(last[0].prefix, pfx("11.0.0.0/8"));
    let rest = rib.destinations_page(V4, Some(Nlri::Prefix(&last[0])), 10);
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].paths.len(), 1);
    assert_eq!(rest[0].paths[0].route.peer, Some(b));
    assert!(!rest[0].paths[0].best);
    assert!(rib.destinations_page(V6, None, 10).is_empty());
    assert_eq!(rib.peer_router_id(b), Some(v4("10.0.1.2")));
}

#[test]
fn observe_gives_the_neighbors_path_and_the_best() {
    let mut rib = rib();
    let a = peer(&mut rib, 1, 65001);
    let b = peer(&mut rib, 2, 65002);
    let n = PrefixNlri {
        path_id: None,
        prefix: pfx("10.0.0.0/8"),
    };
    assert!(matches!(
        rib.observe(V4, Nlri::Prefix(&n), Some(a)),
        (None, None)
    ));
    rib.apply_update(a, &announce(&["10.0.0.0/8"], attrs(&[65001], "192.0.2.1")));
    rib.apply_update(
        b,
        &announce(&["10.0.0.0/8"], attrs(&[65002, 1], "192.0.2.2")),
    );
    // B's path is not the best (longer AS path): both come back.
    let (mine, best) = rib.observe(V4, Nlri::Prefix(&n), Some(b));
    assert_eq!(mine.and_then(|r| r.peer), Some(b));
    assert_eq!(best.and_then(|r| r.peer), Some(a));
    // A withdraws: A has nothing, B is best.
    rib.apply_update(a, &withdraw(&["10.0.0.0/8"]));
    let (mine, best) = rib.observe(V4, Nlri::Prefix(&n), Some(a));
    assert!(mine.is_none());
    assert_eq!(best.and_then(|r| r.peer), Some(b));
}

/// Path hiding through the runner-up the decision flags: the best path's
/// own client gets the runner-up, the next path when its export policy
/// refuses the runner-up, and a new runner-up that did not change the best
/// path.
#[test]
fn route_server_client_whose_path_is_best_gets_the_runner_up() {
    use crate::policy::{Condition, Policy, PolicyChain, Rule, Verdict};
    use std::sync::Arc;
    let mut rib = rib();
    let rs = |c: &mut PeerConfig| c.route_server_client = true;
    let a = peer_with(&mut rib, 1, 65001, rs);
    let b = peer_with(&mut rib, 2, 65002, rs);
    let c = peer_with(&mut rib, 3, 65003, rs);
    let d = peer_with(&mut rib, 4, 65004, rs);
    let next_hop = |rib: &mut Rib, p| received(rib, p).get("10.0.0.0/8").map(|r| r.0);
    rib.apply_update(a, &announce(&["10.0.0.0/8"], attrs(&[65001], "192.0.2.1")));
    rib.apply_update(
        c,
        &announce(&["10.0.0.0/8"], attrs(&[65003, 5, 6], "192.0.2.3")),
    );
    assert_eq!(next_hop(&mut rib, a), Some(NextHop::V4(v4("192.0.2.3"))));
    // b's path is better than c's, not than a's: only a hears of it.
    rib.apply_update(
        b,
        &announce(&["10.0.0.0/8"], attrs(&[65002, 5], "192.0.2.2")),
    );
    let mut seen = received(&mut rib, a);
    assert_eq!(
        seen.get("10.0.0.0/8").map(|r| r.0),
        Some(NextHop::V4(v4("192.0.2.2")))
    );
    assert_eq!(next_hop(&mut rib, d), Some(NextHop::V4(v4("192.0.2.1"))));
    // a refuses what b sends: the path after the runner-up.
    let mut config = rib.peer_config(a).unwrap().clone();
    config.export = PolicyChain::new(
        vec![Arc::new(Policy {
            name: "not-from-b".into(),
            rules: vec![Rule {
                name: None,
                conditions: vec![Condition::SourceAsn(vec![65002])],
                actions: vec![],
                verdict: Some(Verdict::Reject),
            }],
        })],
        Verdict::Accept,
    );
    rib.reconfigure_peer(a, config);
    drain(&mut rib, a, &mut seen);
    assert_eq!(
        seen.get("10.0.0.0/8").map(|r| r.0),
        Some(NextHop::V4(v4("192.0.2.3")))
    );
}

/// A round of passes sharing one [`ExportMemo`] gives every neighbor what
/// a pass of its own gives it: only neighbors alike in all the export rules
/// read share a result (two route server clients do; a plain eBGP peer, one
/// with next-hop unchanged, one with another local address, iBGP peers, a
/// reflector client, a provider-role peer and one with an export policy
/// each get their own).
#[test]
fn a_round_shares_export_results_only_between_alike_neighbors() {
    use crate::policy::{Action, Amount, Policy, PolicyChain, Rule};
    use std::sync::Arc;
    fn build() -> (Rib, Vec<PeerId>) {
        let mut rib = rib();
        let ebgp = peer(&mut rib, 1, 65001);
        let ibgp = peer_with(&mut rib, 2, LOCAL_AS, |c| c.route_reflector_client = true);
        let mut targets = vec![
            peer_with(&mut rib, 3, 65003, |c| c.route_server_client = true),
            peer_with(&mut rib, 4, 65004, |c| c.route_server_client = true),
            peer(&mut rib, 5, 65005),
            peer_with(&mut rib, 6, 65006, |c| c.next_hop_unchanged = true),
            peer(&mut rib, 7, LOCAL_AS),
            peer_with(&mut rib, 8, LOCAL_AS, |c| c.route_reflector_client = true),
            peer_with(&mut rib, 9, 65009, |c| c.role = Some(Role::Provider)),
            peer_with(&mut rib, 10, 65010, |c| {
                c.export = PolicyChain::new(
                    vec![Arc::new(Policy {
                        name: "med".into(),
                        rules: vec![Rule {
                            name: None,
                            conditions: vec![],
                            actions: vec![Action::Med(Amount::Set(7))],
                            verdict: None,
                        }],
                    })],
                    Verdict::Accept,
                )
            }),
        ];
        // Alike in configuration, not in our address on the session.
        let other = rib.add_peer(PeerConfig::new(ip("192.0.2.11"), 65005, LOCAL_AS));
        rib.peer_up(other, session("10.0.1.11", "192.0.2.253"));
        targets.push(other);
        let mut med = attrs(&[65001, 7], "192.0.2.1");
        med.med = Some(50);
        rib.apply_update(ebgp, &announce(&["10.1.0.0/16", "10.1.1.0/24"], med));
        let mut no_export = attrs(&[65001, 8], "192.0.2.1");
        no_export.communities = vec![Community::NO_EXPORT];
        rib.apply_update(ebgp, &announce(&["10.2.0.0/16"], no_export));
        let mut internal = attrs(&[65020], "192.0.2.2");
        internal.local_pref = Some(200);
        rib.apply_update(ibgp, &announce(&["10.3.0.0/16", "10.1.2.0/24"], internal));
        (rib, targets)
    }
    let (mut alone, targets) = build();
    let (mut round, _) = build();
    let mut memo = ExportMemo::default();
    let mut rounds = 0;
    while targets.iter().any(|t| round.has_pending(*t)) {
        for t in &targets {
            let mut a = Vec::new();
            let mut b = Vec::new();
            alone.take_into(*t, 512, &mut a);
            round.take_round(&mut memo, *t, 512, &mut b);
            assert_eq!(a, b, "neighbor {t:?}, round {rounds}");
        }
        memo.clear();
        rounds += 1;
        assert!(rounds < 1000);
    }
    // The neighbors are not all alike: what they got differs.
    let got: Vec<Received> = {
        let (mut rib, _) = build();
        targets.iter().map(|t| received(&mut rib, *t)).collect()
    };
    let nh = |r: &Received| r.get("10.1.0.0/16").map(|x| x.0);
    assert_eq!(nh(&got[0]), Some(NextHop::V4(v4("192.0.2.1"))));
    assert_eq!(nh(&got[2]), Some(NextHop::V4(v4("192.0.2.254"))));
    assert_eq!(nh(&got[8]), Some(NextHop::V4(v4("192.0.2.253"))));
    assert_eq!(got[7].get("10.1.0.0/16").and_then(|x| x.1.med), Some(7));
}

/// Export results are reused from round to round (their room and their
/// bytes' buffer): what a round sends after new UPDATEs arrived is made
/// anew, byte for byte what a pass of its own sends.
#[test]
fn export_results_reused_between_rounds_are_made_anew() {
    fn build() -> (Rib, PeerId, PeerId) {
        let mut rib = rib();
        let source = peer(&mut rib, 1, 65001);
        let monitor = peer(&mut rib, 2, 65002);
        (rib, source, monitor)
    }
    let (mut alone, source, monitor) = build();
    let (mut round, _, _) = build();
    let mut memo = ExportMemo::default();
    for i in 0..40u32 {
        // Sets of different lengths, so that a reused buffer holding a
        // longer set's bytes would show.
        let path: Vec<u32> = (0..=(i % 7)).map(|x| 65001 + x * 10 + i).collect();
        let mut a = attrs(&path, "192.0.2.1");
        a.med = (i % 2 == 0).then_some(i);
        let prefix = format!("10.{i}.0.0/16");
        let update = announce(&[&prefix], a);
        alone.apply_update(source, &update);
        round.apply_update(source, &update);
        let (mut x, mut y) = (Vec::new(), Vec::new());
        alone.take_into(monitor, 4096, &mut x);
        round.take_round(&mut memo, monitor, 4096, &mut y);
        memo.clear();
        assert_eq!(x, y, "round {i}");
        assert!(!y.is_empty(), "round {i}");
    }
    assert!(
        !round.has_pending(monitor),
        "everything was sent in its round"
    );
}
