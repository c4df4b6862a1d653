//! Scenario tests of Ribbit's RIB with real daemons on loopback: GoBGP
//! (`gobgpd`) and BIRD 2 (`bird`) from Debian, each its own process with its
//! own address in 127.0.7.0/24 and ports in 11701-11799; Ribbit runs
//! in-process.
//!
//! Three peers announce the same prefixes with different attributes: A and B
//! are GoBGP, C is BIRD. A monitor (M) receives what Ribbit selected. Each
//! prefix is decided by a different step of the decision process:
//!
//! | prefix | A | B | C | decided by |
//! |---|---|---|---|---|
//! | `AS_PATH` .0/28 | path 1 | path 3 (prepended) | path 2 (prepended) | AS path length: A |
//! | `ORIGIN` .16/28 | INCOMPLETE | IGP | EGP | ORIGIN: B |
//! | `MED` .32/28 | AS 65001, MED 50 | AS 65001, MED 10 | AS 65003, MED 5 | MED within an AS, then router id: B; with always-compare-med: C |
//! | `ROUTER_ID` .48/28 | id 10.0.0.2 | id 10.0.0.1 | - | router id: B (although A's address is lower) |
//! | `PEER_ADDRESS` .64/28 | id 10.0.0.2 | - | id 10.0.0.2 | lowest neighbor address: A |
//! | `LOCAL_PREF` .80/28 | - | path 1 | path 2, import policy LOCAL_PREF 200 | LOCAL_PREF: C |
//! | `EBGP` .96/28 (route reflector test) | iBGP | - | - (E: eBGP, MED 20) | eBGP over iBGP: E |
//! | `NO_EXPORT` .112/28 | - | - | NO_EXPORT | sent on iBGP only |
//! | `NO_ADVERTISE` .128/28 | - | - | NO_ADVERTISE | sent to nobody |
//! | `C_ONLY` .144/28 | - | - | MED 7 | one path; C's session going down withdraws it |
//! | `B_ONLY` .160/28 | - | one path | - | one path (a non-client's, in the RR test) |
//!
//! Every prefix carries a community naming the peer that sent it, so a
//! route's communities also tell whose path won. The tests check the
//! monitor's whole table, every attribute of every route, exactly (no route
//! more, none less); `support::scenario` derives the expected tables from the
//! winners stated here and the export rules of each mode.
//!
//! - `plain_ebgp`: Ribbit AS 65000, everybody eBGP; the monitor is BIRD (a
//!   GoBGP monitor would drop every route: Ribbit's next hop is its own
//!   127.0.7.x address, which GoBGP treats as a withdraw).
//! - `route_reflector`: A, C, B and the monitor iBGP in AS 65000; A and the
//!   monitor are clients, B and C not; E (BIRD) is eBGP. B, C and E are
//!   checked as well: non-clients get no non-client route, E no NO_EXPORT.
//! - `route_server`: Ribbit a route server, everybody an eBGP client; with
//!   always-compare-med. C (BIRD) is checked as well, for third-party next
//!   hops and paths that do not start with Ribbit's AS.
//!
//! In each, the initial tables must hold for a second (a route that must
//! not be sent and shows up late is caught), and Ribbit's own view
//! (`Speaker::paths`) must give each best path for the reason stated. Then
//! the best path's source withdraws it and the monitor must show the next
//! candidate within one second (polled every 50 ms, timed from the command);
//! a peer's session goes down and every path it sent must move to the next
//! candidate or disappear, within one second too. On the way back the path
//! is announced again (best again within a second) and the session comes
//! back (every table as at first). The plain test also replaces a best path
//! by a worse one without a withdraw (an implicit withdraw).
//!
//! Measured while writing these: every failover showed at the monitor 5 to
//! 60 ms after the command; GoBGP and BIRD pass a withdraw on in about
//! 25 ms themselves (neither delays UPDATEs with an advertisement timer), so
//! the bound is about Ribbit.

mod support;

use std::net::Ipv4Addr;

use ribbit_rib::Step;

use support::scenario::{
    best, compare_tables, parse_bird_routes, Announcement, Best, Change, Kind, Origin, PeerSpec,
    RibbitSpec, Role, Route, Scenario, Topology, NO_ADVERTISE, NO_EXPORT, SESSION_BACK,
};

const AS_PATH: &str = "198.51.100.0/28";
const ORIGIN: &str = "198.51.100.16/28";
const MED: &str = "198.51.100.32/28";
const ROUTER_ID: &str = "198.51.100.48/28";
const PEER_ADDRESS: &str = "198.51.100.64/28";
const LOCAL_PREF: &str = "198.51.100.80/28";
const EBGP: &str = "198.51.100.96/28";
const NO_EXPORT_ROUTE: &str = "198.51.100.112/28";
const NO_ADVERTISE_ROUTE: &str = "198.51.100.128/28";
const C_ONLY: &str = "198.51.100.144/28";
const B_ONLY: &str = "198.51.100.160/28";

/// Ribbit's AS in every test.
const RIBBIT_AS: u32 = 65000;
/// The route reflector's cluster id: not its router id, so that a
/// CLUSTER_LIST made of the router id is caught.
const CLUSTER_ID: Ipv4Addr = Ipv4Addr::new(10, 255, 0, 1);
/// The LOCAL_PREF Ribbit's import policy gives C's path for `LOCAL_PREF`.
const POLICY_LOCAL_PREF: u32 = 200;

/// Addresses and ports of one test: Ribbit at 127.0.7.`base`, listening on
/// `port`; peer number i at 127.0.7.(`base` + i), BGP port `port` + 2i, API
/// port `port` + 2i + 1. Tests of this file run in parallel, each on its
/// own block.
struct Plan {
    base: u8,
    port: u16,
}

impl Plan {
    fn ribbit(&self, cluster_id: Option<Ipv4Addr>, always_compare_med: bool) -> RibbitSpec {
        RibbitSpec {
            asn: RIBBIT_AS,
            address: Ipv4Addr::new(127, 0, 7, self.base),
            port: self.port,
            cluster_id,
            always_compare_med,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn peer(
        &self,
        i: u8,
        name: &'static str,
        kind: Kind,
        asn: u32,
        router_id: [u8; 4],
        role: Role,
        announcements: Vec<Announcement>,
    ) -> PeerSpec {
        let port = self.port + 2 * u16::from(i);
        PeerSpec {
            name,
            kind,
            address: Ipv4Addr::new(127, 0, 7, self.base + i),
            port,
            api_port: port + 1,
            asn,
            router_id: Ipv4Addr::from(router_id),
            // 198.18.0.0/15 (RFC 2544): routed nowhere, not in 127/8.
            next_hop: Ipv4Addr::new(198, 18, 0, 10 + i),
            role,
            import_local_pref: None,
            announcements,
        }
    }
}

/// A's routes (GoBGP). Paths are as Ribbit receives them: over eBGP A
/// (AS 65001) adds 65001 itself; over iBGP (route reflector test, A in
/// AS 65000) it sends the same paths, as routes it learned from AS 65001.
fn routes_a(with_ebgp_case: bool) -> Vec<Announcement> {
    let mut v = vec![
        Announcement::new(AS_PATH, &[65001], &["64601:1"]).large("64601:1:1"),
        Announcement::new(ORIGIN, &[65001], &["64601:2"]).origin(Origin::Incomplete),
        Announcement::new(MED, &[65001], &["64601:3"]).med(50),
        Announcement::new(ROUTER_ID, &[65001], &["64601:4"]),
        Announcement::new(PEER_ADDRESS, &[65001], &["64601:5"]),
    ];
    if with_ebgp_case {
        // As long as E's path, from another neighbouring AS (MED not
        // compared): only eBGP over iBGP tells them apart.
        v.push(Announcement::new(EBGP, &[65020], &["64601:7"]));
    }
    v
}

/// B's routes (GoBGP, same neighbouring AS as A).
fn routes_b() -> Vec<Announcement> {
    vec![
        Announcement::new(AS_PATH, &[65001, 65001, 65001], &["64602:1"]),
        Announcement::new(ORIGIN, &[65001], &["64602:2"]),
        Announcement::new(MED, &[65001], &["64602:3"]).med(10),
        Announcement::new(ROUTER_ID, &[65001], &["64602:4"]),
        // B, not A, competes with C here: in the route reflector test A is a
        // client, gets C's path reflected with LOCAL_PREF 200, prefers it
        // and withdraws its own (a speaker advertises its best path only);
        // B, a non-client, never gets C's path.
        Announcement::new(LOCAL_PREF, &[65001], &["64602:6"]),
        Announcement::new(B_ONLY, &[65001], &["64602:11"]).large("64602:11:2"),
    ]
}

/// C's routes (BIRD, neighbouring AS 65003).
fn routes_c() -> Vec<Announcement> {
    vec![
        Announcement::new(AS_PATH, &[65003, 65003], &["64603:1"]),
        Announcement::new(ORIGIN, &[65003], &["64603:2"]).origin(Origin::Egp),
        Announcement::new(MED, &[65003], &["64603:3"]).med(5),
        Announcement::new(PEER_ADDRESS, &[65003], &["64603:5"]),
        Announcement::new(LOCAL_PREF, &[65003, 65003], &["64603:6"]),
        Announcement::new(NO_EXPORT_ROUTE, &[65003], &["64603:8", NO_EXPORT]),
        Announcement::new(NO_ADVERTISE_ROUTE, &[65003], &["64603:9", NO_ADVERTISE]),
        Announcement::new(C_ONLY, &[65003], &["64603:10"])
            .med(7)
            .large("64603:10:3"),
    ]
}

/// C with Ribbit's import policy that sets LOCAL_PREF on `LOCAL_PREF`.
fn with_policy(mut c: PeerSpec) -> PeerSpec {
    c.import_local_pref = Some((LOCAL_PREF, POLICY_LOCAL_PREF));
    c
}

/// Ribbit's choices with everybody up, common to the three modes but for
/// `MED` (and `EBGP`, route reflector only), given by the caller.
fn all_up(med: &'static str) -> Best {
    best(&[
        // A's path is 1 AS long, C's 2, B's 3.
        (AS_PATH, Some("a")),
        // Same length: IGP (B) before EGP (C) before INCOMPLETE (A).
        (ORIGIN, Some("b")),
        (MED, Some(med)),
        // A and B are equal up to the router id: B's 10.0.0.1 is lower than
        // A's 10.0.0.2, although A's address is the lower one.
        (ROUTER_ID, Some("b")),
        // A and C are equal up to the router id (same id; with route
        // reflection C has its own, higher): the lower neighbor address, A's.
        (PEER_ADDRESS, Some("a")),
        // The import policy's LOCAL_PREF 200 beats B's shorter path.
        (LOCAL_PREF, Some("c")),
        // Single paths; which peers get them is the export rules' business.
        (NO_EXPORT_ROUTE, Some("c")),
        (NO_ADVERTISE_ROUTE, Some("c")),
        (C_ONLY, Some("c")),
        (B_ONLY, Some("b")),
    ])
}

/// Why Ribbit selects each path with everybody up (the step of the
/// decision process that eliminated the last competitor), as `all_up`
/// explains it; `med` and `peer_address` differ between the modes.
fn reasons_all_up(med: Step, peer_address: Step) -> Vec<(&'static str, Step)> {
    vec![
        (AS_PATH, Step::AsPathLength),
        (ORIGIN, Step::Origin),
        (MED, med),
        (ROUTER_ID, Step::RouterId),
        (PEER_ADDRESS, peer_address),
        (LOCAL_PREF, Step::LocalPref),
        (NO_EXPORT_ROUTE, Step::OnlyPath),
        (NO_ADVERTISE_ROUTE, Step::OnlyPath),
        (C_ONLY, Step::OnlyPath),
        (B_ONLY, Step::OnlyPath),
    ]
}

/// What changes once C's session is down.
fn without_c(best: &mut Best) {
    // B's 3-AS path is all that is left.
    best.insert(AS_PATH, Some("b"));
    // B's path, at the default LOCAL_PREF, is all that is left.
    best.insert(LOCAL_PREF, Some("b"));
    for only_c in [NO_EXPORT_ROUTE, NO_ADVERTISE_ROUTE, C_ONLY] {
        best.insert(only_c, None);
    }
}

/// Plain eBGP: Ribbit prepends its AS, puts itself as next hop, drops MED,
/// sends no LOCAL_PREF and no NO_EXPORT route.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_ebgp() {
    let plan = Plan {
        base: 1,
        port: 11701,
    };
    let topo = Topology {
        ribbit: plan.ribbit(None, false),
        peers: vec![
            plan.peer(
                1,
                "a",
                Kind::GoBgp,
                65001,
                [10, 0, 0, 2],
                Role::Plain,
                routes_a(false),
            ),
            plan.peer(
                2,
                "b",
                Kind::GoBgp,
                65001,
                [10, 0, 0, 1],
                Role::Plain,
                routes_b(),
            ),
            with_policy(plan.peer(
                3,
                "c",
                Kind::Bird,
                65003,
                [10, 0, 0, 2],
                Role::Plain,
                routes_c(),
            )),
            plan.peer(
                4,
                "m",
                Kind::Bird,
                65004,
                [10, 0, 0, 9],
                Role::Plain,
                Vec::new(),
            ),
        ],
    };
    let mut s = Scenario::start("rib-plain", topo).await;
    // MED: A and B share neighbouring AS 65001, where B's 10 beats A's 50;
    // C's 5 is from AS 65003 and not compared. B and C are then equal down
    // to the router id, where B's 10.0.0.1 beats C's 10.0.0.2.
    let mut best = all_up("b");
    s.wait_tables("all up", &best, &["m"]).await;
    s.hold_tables("all up", &best, &["m"]).await;
    // MED: the last competitor, C, falls at the router id.
    let reasons = reasons_all_up(Step::RouterId, Step::PeerAddress);
    s.check_reasons("all up", &best, &reasons).await;

    // A withdraws the best path; C's 2-AS path is next.
    best.insert(AS_PATH, Some("c"));
    s.failover(
        "A withdraws AS_PATH",
        Change::Withdraw("a", AS_PATH),
        &best,
        "m",
    )
    .await;

    without_c(&mut best);
    s.failover(
        "C's session goes down",
        Change::StopSession("c"),
        &best,
        "m",
    )
    .await;
    s.hold_tables("C down", &best, &["m"]).await;

    back_to_all_up(&mut s, "b", &["m"]).await;

    // A replaces its best path with a 4-AS one, no withdraw in between: the
    // new path replaces the old one in Ribbit (RFC 4271 §3.1) and C's 2-AS
    // path is best.
    s.topo.replace_announcement(
        "a",
        Announcement::new(AS_PATH, &[65001, 65001, 65001, 65001], &["64601:12"]),
    );
    let mut best = all_up("b");
    best.insert(AS_PATH, Some("c"));
    s.failover(
        "A replaces AS_PATH with a longer path",
        Change::Announce("a", AS_PATH),
        &best,
        "m",
    )
    .await;
    s.hold_tables("A's longer path", &best, &["m"]).await;
    s.finish().await;
}

/// The way back, once A withdrew `AS_PATH` and C's session went down: A
/// announces it again (its 1-AS path is best again, within a second), then
/// C's session comes back and every table is as with everybody up.
/// `med`: whose `MED` path wins with everybody up.
async fn back_to_all_up(s: &mut Scenario, med: &'static str, observers: &[&str]) {
    let mut best = all_up(med);
    without_c(&mut best);
    // Without C, B's MED 10 beats A's 50 (same neighbouring AS).
    best.insert(MED, Some("b"));
    best.insert(AS_PATH, Some("a"));
    s.failover(
        "A announces AS_PATH again",
        Change::Announce("a", AS_PATH),
        &best,
        "m",
    )
    .await;
    s.change("C's session enabled again", Change::StartSession("c"))
        .await;
    let best = all_up(med);
    s.wait_tables_within("C back", &best, observers, SESSION_BACK)
        .await;
    s.hold_tables("C back", &best, observers).await;
}

/// Route reflection (RFC 4456): a client's path goes to every iBGP peer, a
/// non-client's to clients only, with ORIGINATOR_ID and CLUSTER_LIST; an
/// eBGP path is preferred to an iBGP one and is not "reflected".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_reflector() {
    let plan = Plan {
        base: 31,
        port: 11731,
    };
    // E, eBGP, announces EBGP only.
    // With a MED: a MED received over eBGP is passed on over iBGP
    // (RFC 4271 §5.1.4; Ribbit's `send-med` is true on iBGP). A's path is
    // from another neighbouring AS, so the MEDs are not compared.
    let e_routes = vec![Announcement::new(EBGP, &[65005], &["64605:7"]).med(20)];
    let topo = Topology {
        ribbit: plan.ribbit(Some(CLUSTER_ID), false),
        peers: vec![
            plan.peer(
                1,
                "a",
                Kind::GoBgp,
                RIBBIT_AS,
                [10, 0, 0, 2],
                Role::RrClient,
                routes_a(true),
            ),
            plan.peer(
                2,
                "b",
                Kind::GoBgp,
                RIBBIT_AS,
                [10, 0, 0, 1],
                Role::RrNonClient,
                routes_b(),
            ),
            // Its own router id: a BIRD drops a reflected path whose
            // ORIGINATOR_ID is its own, and A's paths reach C reflected.
            with_policy(plan.peer(
                3,
                "c",
                Kind::Bird,
                RIBBIT_AS,
                [10, 0, 0, 3],
                Role::RrNonClient,
                routes_c(),
            )),
            plan.peer(
                4,
                "m",
                Kind::GoBgp,
                RIBBIT_AS,
                [10, 0, 0, 9],
                Role::RrClient,
                Vec::new(),
            ),
            plan.peer(
                5,
                "e",
                Kind::Bird,
                65005,
                [10, 0, 0, 5],
                Role::Plain,
                e_routes,
            ),
        ],
    };
    let mut s = Scenario::start("rib-rr", topo).await;
    // MED: as with eBGP, B's 10 beats A's 50 within AS 65001, and B's router
    // id (10.0.0.1) beats C's (10.0.0.3).
    let mut best = all_up("b");
    // E's eBGP path beats A's iBGP path, all else equal.
    best.insert(EBGP, Some("e"));
    let observers = ["m", "b", "c", "e"];
    s.wait_tables("all up", &best, &observers).await;
    s.hold_tables("all up", &best, &observers).await;
    // PEER_ADDRESS: A and C differ in router id here.
    let mut reasons = reasons_all_up(Step::RouterId, Step::RouterId);
    reasons.push((EBGP, Step::External));
    s.check_reasons("all up", &best, &reasons).await;

    // A (a client) withdraws; C's path, from a non-client, is next: the
    // monitor (a client) gets it, B (a non-client) loses the path it had.
    best.insert(AS_PATH, Some("c"));
    s.failover(
        "A withdraws AS_PATH",
        Change::Withdraw("a", AS_PATH),
        &best,
        "m",
    )
    .await;
    s.wait_tables("AS_PATH from C", &best, &observers).await;

    // E goes down: A's iBGP path is next, now reflected.
    best.insert(EBGP, Some("a"));
    s.failover(
        "E's session goes down",
        Change::StopSession("e"),
        &best,
        "m",
    )
    .await;
    let down = ["m", "b", "c"];
    s.wait_tables("E down", &best, &down).await;
    s.hold_tables("E down", &best, &down).await;

    // The way back: A announces AS_PATH again (best again within a second),
    // then E's session comes back and EBGP is E's again.
    best.insert(AS_PATH, Some("a"));
    s.failover(
        "A announces AS_PATH again",
        Change::Announce("a", AS_PATH),
        &best,
        "m",
    )
    .await;
    s.change("E's session enabled again", Change::StartSession("e"))
        .await;
    best.insert(EBGP, Some("e"));
    s.wait_tables_within("E back", &best, &observers, SESSION_BACK)
        .await;
    s.hold_tables("E back", &best, &observers).await;
    s.finish().await;
}

/// Route server (RFC 7947): AS_PATH, NEXT_HOP and MED passed on untouched,
/// with always-compare-med.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_server() {
    let plan = Plan {
        base: 61,
        port: 11761,
    };
    let topo = Topology {
        ribbit: plan.ribbit(None, true),
        peers: vec![
            plan.peer(
                1,
                "a",
                Kind::GoBgp,
                65001,
                [10, 0, 0, 2],
                Role::RsClient,
                routes_a(false),
            ),
            plan.peer(
                2,
                "b",
                Kind::GoBgp,
                65001,
                [10, 0, 0, 1],
                Role::RsClient,
                routes_b(),
            ),
            with_policy(plan.peer(
                3,
                "c",
                Kind::Bird,
                65003,
                [10, 0, 0, 2],
                Role::RsClient,
                routes_c(),
            )),
            // GoBGP does not check that a path starts with its neighbor's AS,
            // so it takes the route server's paths as they are.
            plan.peer(
                4,
                "m",
                Kind::GoBgp,
                65004,
                [10, 0, 0, 9],
                Role::RsClient,
                Vec::new(),
            ),
        ],
    };
    let mut s = Scenario::start("rib-rs", topo).await;
    // MED: compared across neighbouring ASes, C's 5 is the lowest.
    let mut best = all_up("c");
    // C is checked on the paths of others it gets: ROUTER_ID and B_ONLY.
    let observers = ["m", "c"];
    s.wait_tables("all up", &best, &observers).await;
    s.hold_tables("all up", &best, &observers).await;
    let reasons = reasons_all_up(Step::Med, Step::PeerAddress);
    s.check_reasons("all up", &best, &reasons).await;

    best.insert(AS_PATH, Some("c"));
    s.failover(
        "A withdraws AS_PATH",
        Change::Withdraw("a", AS_PATH),
        &best,
        "m",
    )
    .await;

    without_c(&mut best);
    // Without C, B's MED 10 beats A's 50.
    best.insert(MED, Some("b"));
    s.failover(
        "C's session goes down",
        Change::StopSession("c"),
        &best,
        "m",
    )
    .await;
    s.hold_tables("C down", &best, &["m"]).await;

    back_to_all_up(&mut s, "c", &observers).await;
    s.finish().await;
}

/// The parser of `birdc show route all`, on BIRD 2.0.12's output: a test
/// that passes because a parser drops attributes would prove nothing.
#[test]
fn bird_output_parses() {
    let text = [
        "BIRD 2.0.12 ready.",
        "Table master4:",
        "198.51.100.0/28      unreachable [ribbit 16:59:23.303 from 127.0.7.3] * (100) [AS65001?]",
        "\tType: BGP univ",
        "\tBGP.origin: Incomplete",
        "\tBGP.as_path: 65001 65002",
        "\tBGP.next_hop: 198.18.0.11",
        "\tBGP.med: 50",
        "\tBGP.local_pref: 300",
        "\tBGP.community: (65535,65281) (65001,1)",
        "\tBGP.large_community: (65001, 2, 3)",
        "\tBGP.originator_id: 10.0.0.5",
        "\tBGP.cluster_list: 10.255.0.1 10.255.0.2",
        "198.51.100.16/28     unreachable [ribbit 16:59:23.303 from 127.0.7.3] * (100) [AS65001i]",
        "\tType: BGP univ",
        "\tBGP.origin: IGP",
        "\tBGP.as_path: 65001",
        "\tBGP.next_hop: 127.0.7.1",
        "\tBGP.local_pref: 100",
        "                     unreachable [ribbit 16:59:24.100 from 127.0.7.3] (100) [AS65001e]",
        "\tType: BGP univ",
        "\tBGP.origin: EGP",
    ]
    .join("\n");
    let routes = parse_bird_routes(&text);
    let expected = vec![
        Route {
            prefix: "198.51.100.0/28".into(),
            next_hop: "198.18.0.11".into(),
            as_path: vec![65001, 65002],
            origin: Some(Origin::Incomplete),
            med: Some(50),
            local_pref: Some(300),
            communities: vec!["65001:1".into(), "65535:65281".into()],
            large_communities: vec!["65001:2:3".into()],
            originator_id: Some(Ipv4Addr::new(10, 0, 0, 5)),
            cluster_list: vec![Ipv4Addr::new(10, 255, 0, 1), Ipv4Addr::new(10, 255, 0, 2)],
        },
        Route {
            prefix: "198.51.100.16/28".into(),
            next_hop: "127.0.7.1".into(),
            as_path: vec![65001],
            origin: Some(Origin::Igp),
            local_pref: Some(100),
            ..Route::default()
        },
        // A second path of the same prefix is a route of its own, so that
        // duplicates are seen.
        Route {
            prefix: "198.51.100.16/28".into(),
            origin: Some(Origin::Egp),
            ..Route::default()
        },
    ];
    assert_eq!(routes, expected);
    // And two paths for one prefix fail a table comparison.
    let err = compare_tables(&routes, &expected[..2]).unwrap_err();
    assert!(err.contains("2 paths for 198.51.100.16/28"), "{err}");
}
