//! Two Ribbit speakers talking to each other in one process, over loopback.
//!
//! Each test has its own addresses in 127.0.1.0/24 and its own ports
//! (11900-11949), so that the tests can run in parallel. Every wait has a
//! deadline; a test that waits too long fails and prints what it saw.
//!
//! The tests run on tokio's current-thread runtime: a speaker's tasks only
//! run when the test awaits, so subscribing right after `Speaker::start`
//! sees every event from the first one on.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use ribbit::config::Config;
use ribbit::peer::{PeerEvent, ReceivedRoute};
use ribbit::speaker::Events as Receiver;
use ribbit::Speaker;
use ribbit_fsm::State;
use ribbit_wire::attribute::{Community, LargeCommunity};
use ribbit_wire::route_refresh::RefreshSubtype;
use ribbit_wire::{AsPath, Family, NextHop, Origin};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::time::{sleep, timeout_at, Instant};

// ---------------------------------------------------------------------------
// Helpers

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

async fn start(name: &str, text: &str) -> Speaker {
    let config = Config::parse(text, name).unwrap_or_else(|e| panic!("{name}: {e}"));
    match Speaker::start(&config).await {
        Ok(s) => s,
        Err(e) => panic!("{name}: the speaker did not start: {e}"),
    }
}

/// Every event one speaker published since the test subscribed, in order.
struct Events {
    name: &'static str,
    rx: Receiver,
    seen: Vec<PeerEvent>,
}

impl Events {
    fn new(name: &'static str, speaker: &Speaker) -> Events {
        Events {
            name,
            rx: speaker.subscribe(),
            seen: Vec::new(),
        }
    }

    fn push(&mut self, r: Result<PeerEvent, RecvError>) {
        match r {
            Ok(e) => self.seen.push(e),
            Err(RecvError::Lagged(n)) => panic!("{}: {n} events lost", self.name),
            Err(RecvError::Closed) => panic!("{}: the speaker is gone", self.name),
        }
    }

    /// Take in what has arrived, without waiting.
    fn poll(&mut self) {
        loop {
            match self.rx.try_recv() {
                Ok(e) => self.seen.push(e),
                Err(TryRecvError::Lagged(n)) => panic!("{}: {n} events lost", self.name),
                Err(TryRecvError::Empty | TryRecvError::Closed) => return,
            }
        }
    }

    fn dump(&self) -> String {
        self.seen
            .iter()
            .enumerate()
            .map(|(i, e)| format!("  {i}: {e}\n"))
            .collect()
    }

    /// The index of the first event at or after `from` that matches,
    /// waiting for it at most `within`.
    async fn wait(
        &mut self,
        from: usize,
        within: Duration,
        what: &str,
        matches: impl Fn(&PeerEvent) -> bool,
    ) -> usize {
        let deadline = Instant::now() + within;
        let mut i = from;
        loop {
            while let Some(e) = self.seen.get(i) {
                if matches(e) {
                    return i;
                }
                i += 1;
            }
            match timeout_at(deadline, self.rx.recv()).await {
                Ok(r) => self.push(r),
                Err(_) => panic!(
                    "{}: no {what} within {within:?}; events:\n{}",
                    self.name,
                    self.dump()
                ),
            }
        }
    }

    /// Collect events for `d`.
    async fn collect_for(&mut self, d: Duration) {
        let deadline = Instant::now() + d;
        while let Ok(r) = timeout_at(deadline, self.rx.recv()).await {
            self.push(r);
        }
    }
}

fn state_to(e: &PeerEvent, who: IpAddr, state: State) -> bool {
    matches!(e, PeerEvent::State { peer, to, .. } if *peer == who && *to == state)
}

fn end_of_rib(e: &PeerEvent, who: IpAddr, family: Family) -> bool {
    matches!(e, PeerEvent::Update { peer, update } if *peer == who && update.end_of_rib_family() == Some(family))
}

/// Poll `state()` until it is `want`, at most `within`.
async fn wait_state(speaker: &Speaker, peer: IpAddr, want: State, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let now = speaker.state(peer).await;
        if now == Some(want) {
            return;
        }
        if Instant::now() >= deadline {
            panic!("{peer} is {now:?}, not {want}, after {within:?}");
        }
        sleep(Duration::from_millis(50)).await;
    }
}

fn route<'a>(rib: &'a [ReceivedRoute], nlri: &str) -> &'a ReceivedRoute {
    rib.iter()
        .find(|r| r.nlri == nlri)
        .unwrap_or_else(|| panic!("{nlri} is not in the Adj-RIB-In: {rib:#?}"))
}

fn nlris(rib: &[ReceivedRoute]) -> Vec<&str> {
    let mut v: Vec<&str> = rib.iter().map(|r| r.nlri.as_str()).collect();
    v.sort_unstable();
    v
}

fn communities(list: &[&str]) -> Vec<Community> {
    list.iter().map(|c| c.parse().expect("community")).collect()
}

/// The IPv4 TCP sockets of this network namespace from /proc/net/tcp:
/// local address, remote address, state (1 ESTABLISHED, 2 SYN_SENT, ...).
/// The kernel writes the table in pieces, one `read` at a time: while other
/// tests open and close sockets, a socket can appear twice in one reading.
/// A socket is its two addresses, so the list holds each pair once.
fn tcp_sockets() -> Vec<(SocketAddr, SocketAddr, u8)> {
    let table = std::fs::read_to_string("/proc/net/tcp").expect("/proc/net/tcp");
    // "0100007F:2E7C": the address as the native-endian u32 of its bytes.
    let parse = |f: &str| -> Option<SocketAddr> {
        let (a, p) = f.split_once(':')?;
        let a = u32::from_str_radix(a, 16).ok()?.to_ne_bytes();
        Some(SocketAddr::new(
            IpAddr::V4(Ipv4Addr::from(a)),
            u16::from_str_radix(p, 16).ok()?,
        ))
    };
    let mut seen = std::collections::HashSet::new();
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            Some((
                parse(f.get(1)?)?,
                parse(f.get(2)?)?,
                u8::from_str_radix(f.get(3)?, 16).ok()?,
            ))
        })
        .filter(|(l, r, _)| seen.insert((*l, *r)))
        .collect()
}

/// TCP connections in state ESTABLISHED from `local` to `remote` (any ports).
fn established_tcp(local: Ipv4Addr, remote: Ipv4Addr) -> usize {
    tcp_sockets()
        .iter()
        .filter(|(l, r, state)| l.ip() == local && r.ip() == remote && *state == 1)
        .count()
}

// ---------------------------------------------------------------------------
// Sessions and routes

/// eBGP: B (passive) announces IPv4 and IPv6 routes of `[[neighbor.route]]`
/// and `[[route]]`; A (active, connect-retry 1) receives them with their
/// attributes, B's AS prepended, no LOCAL_PREF; End-of-RIB for each family.
/// A's route reaches B the same way.
#[tokio::test]
async fn ebgp_session_exchanges_ipv4_and_ipv6_routes() {
    let (a_ip, b_ip) = (ip("127.0.1.1"), ip("127.0.1.2"));
    let b = start(
        "b.toml",
        r#"
[global]
asn = 65002
router-id = "127.0.1.2"
listen = ["127.0.1.2:11901"]

[[neighbor]]
address = "127.0.1.1"
asn = 65001
passive = true
families = ["ipv4-unicast", "ipv6-unicast"]

[[neighbor.route]]
prefix = "10.2.0.0/24"
as-path = [65100]
med = 5
communities = ["65002:100", "no-export"]
large-communities = ["65002:1:2"]

[[route]]
prefix = "10.2.1.0/24"
next-hop = "192.0.2.7"
origin = "incomplete"
local-pref = 300

[[route]]
prefix = "2001:db8:2::/48"
next-hop = "2001:db8::2"
communities = ["65002:6"]
"#,
    )
    .await;
    let mut b_events = Events::new("B", &b);
    let a = start(
        "a.toml",
        r#"
[global]
asn = 65001
router-id = "127.0.1.1"
listen = []

[[neighbor]]
address = "127.0.1.2"
port = 11901
local-address = "127.0.1.1"
asn = 65002
families = ["ipv4-unicast", "ipv6-unicast"]
connect-retry = 1

[[neighbor.route]]
prefix = "10.1.0.0/24"
communities = ["65001:1"]
"#,
    )
    .await;
    let mut a_events = Events::new("A", &a);

    let within = Duration::from_secs(10);
    a_events
        .wait(0, within, "Established", |e| {
            state_to(e, b_ip, State::Established)
        })
        .await;
    b_events
        .wait(0, within, "Established", |e| {
            state_to(e, a_ip, State::Established)
        })
        .await;
    // End-of-RIB closes each family's initial announcements (RFC 4724 §2).
    for f in [Family::IPV4_UNICAST, Family::IPV6_UNICAST] {
        a_events
            .wait(0, within, &format!("End-of-RIB {f} from B"), |e| {
                end_of_rib(e, b_ip, f)
            })
            .await;
        b_events
            .wait(0, within, &format!("End-of-RIB {f} from A"), |e| {
                end_of_rib(e, a_ip, f)
            })
            .await;
    }

    let rib = a.adj_rib_in(b_ip).await.expect("B is a neighbor of A");
    assert_eq!(
        nlris(&rib),
        vec!["10.2.0.0/24", "10.2.1.0/24", "2001:db8:2::/48"]
    );

    let r = route(&rib, "10.2.0.0/24");
    assert_eq!(r.family, Family::IPV4_UNICAST);
    // next-hop defaults to self: B's address on the connection.
    assert_eq!(r.next_hop, Some(NextHop::V4(Ipv4Addr::new(127, 0, 1, 2))));
    let at = &r.attributes;
    assert_eq!(at.origin, Some(Origin::Igp));
    assert_eq!(at.as_path, Some(AsPath::sequence(vec![65002, 65100])));
    assert_eq!(at.med, Some(5));
    assert_eq!(at.local_pref, None, "LOCAL_PREF is not sent on eBGP");
    assert_eq!(at.communities, communities(&["65002:100", "no-export"]));
    assert_eq!(
        at.large_communities,
        vec![LargeCommunity {
            global: 65002,
            local1: 1,
            local2: 2
        }]
    );

    let r = route(&rib, "10.2.1.0/24");
    assert_eq!(r.next_hop, Some(NextHop::V4(Ipv4Addr::new(192, 0, 2, 7))));
    assert_eq!(r.attributes.origin, Some(Origin::Incomplete));
    assert_eq!(r.attributes.as_path, Some(AsPath::sequence(vec![65002])));
    assert_eq!(
        r.attributes.local_pref, None,
        "LOCAL_PREF is not sent on eBGP"
    );

    let r = route(&rib, "2001:db8:2::/48");
    assert_eq!(r.family, Family::IPV6_UNICAST);
    assert_eq!(
        r.next_hop,
        Some(NextHop::V6 {
            global: "2001:db8::2".parse::<Ipv6Addr>().unwrap(),
            link_local: None
        })
    );
    assert_eq!(r.attributes.as_path, Some(AsPath::sequence(vec![65002])));
    assert_eq!(r.attributes.communities, communities(&["65002:6"]));

    // The other direction.
    let rib = b.adj_rib_in(a_ip).await.expect("A is a neighbor of B");
    assert_eq!(nlris(&rib), vec!["10.1.0.0/24"]);
    let r = route(&rib, "10.1.0.0/24");
    assert_eq!(r.next_hop, Some(NextHop::V4(Ipv4Addr::new(127, 0, 1, 1))));
    assert_eq!(r.attributes.as_path, Some(AsPath::sequence(vec![65001])));
    assert_eq!(r.attributes.communities, communities(&["65001:1"]));

    a.shutdown(None).await;
    b.shutdown(None).await;
}

/// iBGP: no AS prepended, LOCAL_PREF 100 unless the route sets one, and
/// next-hop self for an IPv6 route over an IPv4 session as ::ffff:a.b.c.d.
#[tokio::test]
async fn ibgp_session_sends_local_pref_and_no_as() {
    let b_ip = ip("127.0.1.12");
    let b = start(
        "b.toml",
        r#"
[global]
asn = 65000
router-id = "127.0.1.12"
listen = ["127.0.1.12:11902"]

[[neighbor]]
address = "127.0.1.11"
asn = 65000
passive = true
families = ["ipv4-unicast", "ipv6-unicast"]

[[neighbor.route]]
prefix = "10.12.0.0/24"
communities = ["65000:12"]

[[route]]
prefix = "10.12.1.0/24"
local-pref = 250
as-path = [64999]

[[route]]
prefix = "2001:db8:12::/48"
"#,
    )
    .await;
    let a = start(
        "a.toml",
        r#"
[global]
asn = 65000
router-id = "127.0.1.11"
listen = []

[[neighbor]]
address = "127.0.1.12"
port = 11902
local-address = "127.0.1.11"
asn = 65000
families = ["ipv4-unicast", "ipv6-unicast"]
connect-retry = 1
"#,
    )
    .await;
    let mut a_events = Events::new("A", &a);
    let within = Duration::from_secs(10);
    for f in [Family::IPV4_UNICAST, Family::IPV6_UNICAST] {
        a_events
            .wait(0, within, &format!("End-of-RIB {f}"), |e| {
                end_of_rib(e, b_ip, f)
            })
            .await;
    }
    assert_eq!(a.state(b_ip).await, Some(State::Established));

    let rib = a.adj_rib_in(b_ip).await.expect("neighbor");
    assert_eq!(
        nlris(&rib),
        vec!["10.12.0.0/24", "10.12.1.0/24", "2001:db8:12::/48"]
    );
    let r = route(&rib, "10.12.0.0/24");
    assert_eq!(r.next_hop, Some(NextHop::V4(Ipv4Addr::new(127, 0, 1, 12))));
    assert_eq!(r.attributes.local_pref, Some(100));
    assert_eq!(
        r.attributes.as_path,
        Some(AsPath::default()),
        "iBGP does not prepend"
    );
    assert_eq!(r.attributes.communities, communities(&["65000:12"]));

    let r = route(&rib, "10.12.1.0/24");
    assert_eq!(r.attributes.local_pref, Some(250));
    assert_eq!(r.attributes.as_path, Some(AsPath::sequence(vec![64999])));

    let r = route(&rib, "2001:db8:12::/48");
    assert_eq!(r.family, Family::IPV6_UNICAST);
    assert_eq!(r.attributes.local_pref, Some(100));
    assert_eq!(
        r.next_hop,
        Some(NextHop::V6 {
            global: "::ffff:127.0.1.12".parse::<Ipv6Addr>().unwrap(),
            link_local: None
        })
    );

    a.shutdown(None).await;
    b.shutdown(None).await;
}

/// A asks B to refresh IPv4 unicast: B sends its IPv4 routes again between
/// BoRR and EoRR (RFC 7313), no End-of-RIB, and nothing of IPv6.
#[tokio::test]
async fn route_refresh_resends_the_family() {
    let b_ip = ip("127.0.1.22");
    let b = start(
        "b.toml",
        r#"
[global]
asn = 65022
router-id = "127.0.1.22"
listen = ["127.0.1.22:11903"]

[[neighbor]]
address = "127.0.1.21"
asn = 65021
passive = true
families = ["ipv4-unicast", "ipv6-unicast"]

[[neighbor.route]]
prefix = "10.22.0.0/24"

[[neighbor.route]]
prefix = "2001:db8:22::/48"
next-hop = "2001:db8::22"
"#,
    )
    .await;
    let a = start(
        "a.toml",
        r#"
[global]
asn = 65021
router-id = "127.0.1.21"
listen = []

[[neighbor]]
address = "127.0.1.22"
port = 11903
local-address = "127.0.1.21"
asn = 65022
families = ["ipv4-unicast", "ipv6-unicast"]
connect-retry = 1
"#,
    )
    .await;
    let mut a_events = Events::new("A", &a);
    let within = Duration::from_secs(10);
    for f in [Family::IPV4_UNICAST, Family::IPV6_UNICAST] {
        a_events
            .wait(0, within, &format!("End-of-RIB {f}"), |e| {
                end_of_rib(e, b_ip, f)
            })
            .await;
    }
    // Nothing more comes unasked.
    a_events.collect_for(Duration::from_millis(300)).await;
    let mark = a_events.seen.len();

    assert!(a.route_refresh(b_ip, Family::IPV4_UNICAST).await);
    let announced = a_events
        .wait(mark, Duration::from_secs(5), "the refreshed route", |e| {
            matches!(e, PeerEvent::Update { peer, update } if *peer == b_ip
                && update.announced.iter().any(|n| n.prefix.to_string() == "10.22.0.0/24"))
        })
        .await;
    // Enhanced route refresh is negotiated (both sides offer it by default):
    // the answer is framed by BoRR and EoRR (RFC 7313 §4), not End-of-RIB.
    let marker = |e: &PeerEvent, subtype: RefreshSubtype| {
        matches!(e, PeerEvent::RouteRefresh { peer, refresh } if *peer == b_ip
            && refresh.family == Family::IPV4_UNICAST && refresh.subtype == subtype)
    };
    let begin = a_events
        .wait(mark, Duration::from_secs(5), "BoRR", |e| {
            marker(e, RefreshSubtype::Begin)
        })
        .await;
    assert!(
        begin < announced,
        "BoRR came after the routes:\n{}",
        a_events.dump()
    );
    a_events
        .wait(
            announced,
            Duration::from_secs(5),
            "EoRR after the routes",
            |e| marker(e, RefreshSubtype::End),
        )
        .await;
    assert!(
        !a_events.seen[mark..]
            .iter()
            .any(|e| end_of_rib(e, b_ip, Family::IPV4_UNICAST)),
        "End-of-RIB after a refresh:\n{}",
        a_events.dump()
    );
    a_events.collect_for(Duration::from_millis(300)).await;
    let ipv6_after = a_events.seen[mark..].iter().any(|e| {
        matches!(e, PeerEvent::Update { peer, update } if *peer == b_ip
            && (update.mp_reach.is_some() || update.mp_unreach.is_some()))
    });
    assert!(
        !ipv6_after,
        "an IPv4 refresh re-sent IPv6 too:\n{}",
        a_events.dump()
    );
    assert_eq!(a.state(b_ip).await, Some(State::Established));

    a.shutdown(None).await;
    b.shutdown(None).await;
}

/// A shuts down with a message: B receives Cease / Administrative Shutdown
/// with that message (RFC 9003), leaves Established and forgets A's routes.
#[tokio::test]
async fn shutdown_sends_cease_with_the_message() {
    let a_ip = ip("127.0.1.31");
    let b = start(
        "b.toml",
        r#"
[global]
asn = 65032
router-id = "127.0.1.32"
listen = ["127.0.1.32:11904"]

[[neighbor]]
address = "127.0.1.31"
asn = 65031
passive = true
"#,
    )
    .await;
    let mut b_events = Events::new("B", &b);
    let a = start(
        "a.toml",
        r#"
[global]
asn = 65031
router-id = "127.0.1.31"
listen = []

[[neighbor]]
address = "127.0.1.32"
port = 11904
local-address = "127.0.1.31"
asn = 65032
connect-retry = 1

[[neighbor.route]]
prefix = "10.31.0.0/24"
"#,
    )
    .await;
    b_events
        .wait(0, Duration::from_secs(10), "End-of-RIB from A", |e| {
            end_of_rib(e, a_ip, Family::IPV4_UNICAST)
        })
        .await;
    let rib = b.adj_rib_in(a_ip).await.expect("neighbor");
    assert_eq!(nlris(&rib), vec!["10.31.0.0/24"]);
    let mark = b_events.seen.len();

    a.shutdown(Some("maintenance".to_string())).await;

    let i = b_events
        .wait(
            mark,
            Duration::from_secs(5),
            "NOTIFICATION from A",
            |e| matches!(e, PeerEvent::Notification { peer, received: true, .. } if *peer == a_ip),
        )
        .await;
    let PeerEvent::Notification { notification, .. } = &b_events.seen[i] else {
        unreachable!()
    };
    assert_eq!((notification.code, notification.subcode), (6, 2));
    assert_eq!(notification.shutdown_message(), Some("maintenance"));
    assert_eq!(
        notification.data,
        b"\x0bmaintenance".to_vec(),
        "RFC 9003: length octet, then UTF-8"
    );
    b_events
        .wait(i, Duration::from_secs(5), "leaving Established", |e| {
            matches!(e, PeerEvent::State { peer, from: State::Established, .. } if *peer == a_ip)
        })
        .await;
    let now = b.state(a_ip).await;
    assert!(
        matches!(now, Some(State::Idle | State::Active)),
        "B is {now:?} after A's shutdown"
    );
    assert_eq!(b.adj_rib_in(a_ip).await, Some(Vec::new()));

    b.shutdown(None).await;
}

// ---------------------------------------------------------------------------
// Failures

/// A expects AS 65099 but B is AS 65042: A sends OPEN Message Error / Bad
/// Peer AS, the session never comes up, and A's attempts back off
/// exponentially (1 s base, doubling, jitter 0.75-1) instead of retrying
/// every second: within 10 s that is at most 4-5 attempts, not 10.
#[tokio::test]
async fn wrong_peer_as_is_refused_and_retries_back_off() {
    let (a_ip, b_ip) = (ip("127.0.1.41"), ip("127.0.1.42"));
    let b = start(
        "b.toml",
        r#"
[global]
asn = 65042
router-id = "127.0.1.42"
listen = ["127.0.1.42:11905"]

[[neighbor]]
address = "127.0.1.41"
asn = 65041
passive = true
connect-retry = 1
"#,
    )
    .await;
    let mut b_events = Events::new("B", &b);
    let a = start(
        "a.toml",
        r#"
[global]
asn = 65041
router-id = "127.0.1.41"
listen = []

[[neighbor]]
address = "127.0.1.42"
port = 11905
local-address = "127.0.1.41"
asn = 65099
connect-retry = 1
"#,
    )
    .await;
    let mut a_events = Events::new("A", &a);
    let window = Duration::from_secs(10);
    a_events.collect_for(window).await;
    b_events.poll();

    let attempts = a_events
        .seen
        .iter()
        .filter(|e| state_to(e, b_ip, State::Connect))
        .count();
    assert!(
        (3..=5).contains(&attempts),
        "{attempts} connection attempts in {window:?} (expected 3 to 5 with back-off):\n{}",
        a_events.dump()
    );
    let sent_bad_as = a_events.seen.iter().any(|e| {
        matches!(e, PeerEvent::Notification { peer, received: false, notification }
            if *peer == b_ip && (notification.code, notification.subcode) == (2, 2))
    });
    assert!(sent_bad_as, "A sent no Bad Peer AS:\n{}", a_events.dump());
    let got_bad_as = b_events.seen.iter().any(|e| {
        matches!(e, PeerEvent::Notification { peer, received: true, notification }
            if *peer == a_ip && (notification.code, notification.subcode) == (2, 2))
    });
    assert!(
        got_bad_as,
        "B did not get Bad Peer AS:\n{}",
        b_events.dump()
    );
    for (events, peer) in [(&a_events, b_ip), (&b_events, a_ip)] {
        assert!(
            !events
                .seen
                .iter()
                .any(|e| state_to(e, peer, State::Established)),
            "{}: Established with the wrong AS:\n{}",
            events.name,
            events.dump()
        );
    }

    a.shutdown(None).await;
    b.shutdown(None).await;
}

/// Both sides connect (connect-retry 1, both listening): collision
/// detection (RFC 4271 §6.8) leaves exactly one session, on one TCP
/// connection, and it stays up.
#[tokio::test]
async fn connection_collision_leaves_one_session() {
    let (a4, b4) = (Ipv4Addr::new(127, 0, 1, 51), Ipv4Addr::new(127, 0, 1, 52));
    let (a_ip, b_ip) = (IpAddr::V4(a4), IpAddr::V4(b4));
    let a = start(
        "a.toml",
        r#"
[global]
asn = 65051
router-id = "127.0.1.51"
listen = ["127.0.1.51:11906"]

[[neighbor]]
address = "127.0.1.52"
port = 11907
local-address = "127.0.1.51"
asn = 65052
connect-retry = 1
hold-time = 9
"#,
    )
    .await;
    let b = start(
        "b.toml",
        r#"
[global]
asn = 65052
router-id = "127.0.1.52"
listen = ["127.0.1.52:11907"]

[[neighbor]]
address = "127.0.1.51"
port = 11906
local-address = "127.0.1.52"
asn = 65051
connect-retry = 1
hold-time = 9
"#,
    )
    .await;
    let mut a_events = Events::new("A", &a);
    let mut b_events = Events::new("B", &b);

    // Both started at once; give collision resolution and any retry time.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let up = a.state(b_ip).await == Some(State::Established)
            && b.state(a_ip).await == Some(State::Established);
        a_events.poll();
        b_events.poll();
        if up {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no session after 20 s\nA:\n{}B:\n{}",
            a_events.dump(),
            b_events.dump()
        );
        sleep(Duration::from_millis(50)).await;
    }
    let (a_mark, b_mark) = (a_events.seen.len(), b_events.seen.len());

    // Longer than the hold time: keepalives flow on the surviving connection.
    let watch = Duration::from_secs(10);
    tokio::join!(a_events.collect_for(watch), b_events.collect_for(watch));
    for (events, mark) in [(&a_events, a_mark), (&b_events, b_mark)] {
        let changes: Vec<String> = events.seen[mark..]
            .iter()
            .filter(|e| matches!(e, PeerEvent::State { .. }))
            .map(ToString::to_string)
            .collect();
        assert!(
            changes.is_empty(),
            "{}: the session did not stay up: {changes:?}\n{}",
            events.name,
            events.dump()
        );
    }
    assert_eq!(a.state(b_ip).await, Some(State::Established));
    assert_eq!(b.state(a_ip).await, Some(State::Established));
    // A reading can also miss a socket that moves in the kernel's table
    // meanwhile: a few readings, a connection too many persists in them all.
    let mut connections = (0, 0);
    for _ in 0..5 {
        connections = (established_tcp(a4, b4), established_tcp(b4, a4));
        if connections == (1, 1) {
            break;
        }
        sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        connections,
        (1, 1),
        "exactly one TCP connection between A and B"
    );
    // The test is about a collision: at least one side resolved one.
    let resolved = [&a_events, &b_events].iter().any(|events| {
        events.seen.iter().any(|e| {
            matches!(e, PeerEvent::Notification { received: false, notification, .. }
                if (notification.code, notification.subcode) == (6, 7))
        })
    });
    assert!(
        resolved,
        "no Cease / Connection Collision Resolution: the connections did not collide\nA:\n{}B:\n{}",
        a_events.dump(),
        b_events.dump()
    );

    a.shutdown(None).await;
    b.shutdown(None).await;
}

fn md5_configs(a: &str, b: &str, port: u16, key_a: &str, key_b: &str) -> (String, String) {
    let a_text = format!(
        r#"
[global]
asn = 65061
router-id = "{a}"
listen = []

[[neighbor]]
address = "{b}"
port = {port}
local-address = "{a}"
asn = 65062
connect-retry = 1
md5-password = "{key_a}"
"#
    );
    let b_text = format!(
        r#"
[global]
asn = 65062
router-id = "{b}"
listen = ["{b}:{port}"]

[[neighbor]]
address = "{a}"
asn = 65061
passive = true
md5-password = "{key_b}"
"#
    );
    (a_text, b_text)
}

async fn start_md5(name: &str, text: &str) -> Speaker {
    let config = Config::parse(text, name).unwrap_or_else(|e| panic!("{name}: {e}"));
    match Speaker::start(&config).await {
        Ok(s) => s,
        Err(e) => panic!(
            "{name}: cannot start with TCP-MD5 ({e}); does this kernel have \
             TCP_MD5SIG (CONFIG_TCP_MD5SIG)?"
        ),
    }
}

/// TCP-MD5 (RFC 2385) with the same key on both sides: the session comes up.
#[tokio::test]
async fn md5_same_key_establishes() {
    let (a_ip, b_ip) = (ip("127.0.1.61"), ip("127.0.1.62"));
    let (a_text, b_text) = md5_configs("127.0.1.61", "127.0.1.62", 11908, "s3cret", "s3cret");
    let b = start_md5("b.toml", &b_text).await;
    let a = start_md5("a.toml", &a_text).await;
    wait_state(&a, b_ip, State::Established, Duration::from_secs(10)).await;
    wait_state(&b, a_ip, State::Established, Duration::from_secs(5)).await;
    a.shutdown(None).await;
    b.shutdown(None).await;
}

/// Different keys: the kernel drops the SYNs signed with the wrong key, so
/// no TCP connection is ever made: A keeps trying (Connect) and never gets
/// to OpenSent, and B sees nothing at all. A's attempts, unanswered, back
/// off like refused ones: counted as SYN_SENT sockets (one local port per
/// attempt) in /proc/net/tcp over 8 s, about 4 (1 s base, doubling), not
/// one a second.
#[tokio::test]
async fn md5_different_keys_never_connect() {
    let (a_ip, b_ip) = (ip("127.0.1.63"), ip("127.0.1.64"));
    let b_port: SocketAddr = "127.0.1.64:11909".parse().unwrap();
    let (a_text, b_text) = md5_configs("127.0.1.63", "127.0.1.64", 11909, "alpha", "beta");
    let b = start_md5("b.toml", &b_text).await;
    let mut b_events = Events::new("B", &b);
    let a = start_md5("a.toml", &a_text).await;
    let mut a_events = Events::new("A", &a);

    let mut attempts = std::collections::BTreeSet::new();
    let window = Duration::from_secs(8);
    let end = Instant::now() + window;
    while Instant::now() < end {
        for (l, r, state) in tcp_sockets() {
            if l.ip() == a_ip && r == b_port && state == 2 {
                attempts.insert(l.port());
            }
        }
        a_events.poll();
        b_events.poll();
        sleep(Duration::from_millis(50)).await;
    }

    assert!(
        a_events
            .seen
            .iter()
            .any(|e| state_to(e, b_ip, State::Connect)),
        "A never tried:\n{}",
        a_events.dump()
    );
    for (events, peer) in [(&a_events, b_ip), (&b_events, a_ip)] {
        let got_further = events.seen.iter().any(|e| match e {
            PeerEvent::State { to, .. } => *to > State::Active,
            _ => true,
        });
        assert!(
            !got_further,
            "{}: a connection with {peer} was made despite different keys:\n{}",
            events.name,
            events.dump()
        );
    }
    assert!(
        (2..=6).contains(&attempts.len()),
        "{} connection attempts in {window:?} to a peer that drops them (expected 2 to 6 \
         with back-off)",
        attempts.len()
    );
    assert!(matches!(
        a.state(b_ip).await,
        Some(State::Idle | State::Connect | State::Active)
    ));
    a.shutdown(None).await;
    b.shutdown(None).await;
}

/// Read until EOF or an error, at most `within`; what was read.
async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> Result<Vec<u8>, String> {
    let deadline = Instant::now() + within;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) => return Ok(got),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            // A reset also closes it.
            Ok(Err(_)) => return Ok(got),
            Err(_) => return Err(format!("still open after {within:?}, read {got:02x?}")),
        }
    }
}

async fn connect_from(from: Ipv4Addr, to: SocketAddr) -> TcpStream {
    let s = TcpSocket::new_v4().expect("socket");
    s.bind(SocketAddr::new(IpAddr::V4(from), 0)).expect("bind");
    tokio::time::timeout(Duration::from_secs(2), s.connect(to))
        .await
        .expect("connect timed out")
        .expect("connect")
}

/// A connection from an address that is not a neighbor is closed at once:
/// no OPEN, no byte at all, and no session event. The same connection from
/// the neighbor's address gets an OPEN, so the refusal is by address.
#[tokio::test]
async fn unknown_source_address_is_refused() {
    let listen: SocketAddr = "127.0.1.71:11910".parse().unwrap();
    let b = start(
        "b.toml",
        r#"
[global]
asn = 65071
router-id = "127.0.1.71"
listen = ["127.0.1.71:11910"]

[[neighbor]]
address = "127.0.1.72"
asn = 65072
passive = true
"#,
    )
    .await;
    let mut events = Events::new("B", &b);
    // B's own start (Idle -> Active for its passive neighbor) comes first.
    events
        .wait(0, Duration::from_secs(2), "B's start", |e| {
            matches!(
                e,
                PeerEvent::State {
                    to: State::Active,
                    ..
                }
            )
        })
        .await;
    let mark = events.seen.len();

    let mut stranger = connect_from(Ipv4Addr::new(127, 0, 1, 79), listen).await;
    let got = read_until_closed(&mut stranger, Duration::from_secs(3))
        .await
        .expect("the stranger's connection was not closed");
    assert!(got.is_empty(), "a stranger was sent {got:02x?}");
    // Writing to it now fails or goes nowhere; either way nothing comes back.
    let _ = stranger.write_all(&[0xff; 19]).await;
    events.collect_for(Duration::from_millis(300)).await;
    assert!(
        events.seen[mark..].is_empty(),
        "the stranger caused events:\n{}",
        events.dump()
    );

    // Control: the configured neighbor gets an OPEN right away.
    let mut neighbor = connect_from(Ipv4Addr::new(127, 0, 1, 72), listen).await;
    let mut header = [0u8; 19];
    tokio::time::timeout(Duration::from_secs(3), neighbor.read_exact(&mut header))
        .await
        .expect("no OPEN for the neighbor")
        .expect("read");
    assert_eq!(header[18], 1, "the neighbor's first message is an OPEN");

    b.shutdown(None).await;
}

/// IPv6 transport: both speakers on ::1 (each knows the other by that
/// address and a port), IPv4 and IPv6 routes over the IPv6 session.
#[tokio::test]
async fn ipv6_transport() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        panic!("::1 is not available on this machine: IPv6 loopback is needed");
    }
    let peer = ip("::1");
    let b = start(
        "b.toml",
        r#"
[global]
asn = 65002
router-id = "192.0.2.72"
listen = ["[::1]:11912"]

[[neighbor]]
address = "::1"
port = 11911
asn = 65001
passive = true
families = ["ipv4-unicast", "ipv6-unicast"]

[[neighbor.route]]
prefix = "2001:db8:72::/48"
next-hop = "2001:db8:ffff::72"
"#,
    )
    .await;
    let a = start(
        "a.toml",
        r#"
[global]
asn = 65001
router-id = "192.0.2.71"
listen = ["[::1]:11911"]

[[neighbor]]
address = "::1"
port = 11912
asn = 65002
connect-retry = 1
families = ["ipv4-unicast", "ipv6-unicast"]

[[neighbor.route]]
prefix = "198.51.100.0/24"
next-hop = "198.18.0.71"
"#,
    )
    .await;
    wait_state(&a, peer, State::Established, Duration::from_secs(10)).await;
    wait_state(&b, peer, State::Established, Duration::from_secs(5)).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let at_a = a.adj_rib_in(peer).await.unwrap_or_default();
        let at_b = b.adj_rib_in(peer).await.unwrap_or_default();
        if nlris(&at_a) == ["2001:db8:72::/48"] && nlris(&at_b) == ["198.51.100.0/24"] {
            let v6 = route(&at_a, "2001:db8:72::/48");
            assert_eq!(v6.attributes.as_path, Some(AsPath::sequence(vec![65002])));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "routes missing: A has {:?}, B has {:?}",
            nlris(&at_a),
            nlris(&at_b)
        );
        sleep(Duration::from_millis(50)).await;
    }
    a.shutdown(None).await;
    b.shutdown(None).await;
}

fn gtsm_configs(a: &str, b: &str, port: u16, a_extra: &str, b_extra: &str) -> (String, String) {
    let a_text = format!(
        "[global]\nasn = 65001\nrouter-id = \"192.0.2.81\"\nlisten = [\"{a}:{port}\"]\n\n\
         [[neighbor]]\naddress = \"{b}\"\nport = {}\nlocal-address = \"{a}\"\nasn = 65002\nconnect-retry = 1\n{a_extra}\n",
        port + 1
    );
    let b_text = format!(
        "[global]\nasn = 65002\nrouter-id = \"192.0.2.82\"\nlisten = [\"{b}:{}\"]\n\n\
         [[neighbor]]\naddress = \"{a}\"\nport = {port}\nasn = 65001\npassive = true\n{b_extra}\n",
        port + 1
    );
    (a_text, b_text)
}

/// GTSM (RFC 5082): both sides with `ttl-security = 1` send with TTL 255
/// and accept only 255: the session comes up.
#[tokio::test]
async fn gtsm_on_both_sides_establishes() {
    let (a_ip, b_ip) = (ip("127.0.1.81"), ip("127.0.1.82"));
    let (a_text, b_text) = gtsm_configs(
        "127.0.1.81",
        "127.0.1.82",
        11913,
        "ttl-security = 1",
        "ttl-security = 1",
    );
    let b = start("b.toml", &b_text).await;
    let a = start("a.toml", &a_text).await;
    wait_state(&a, b_ip, State::Established, Duration::from_secs(10)).await;
    wait_state(&b, a_ip, State::Established, Duration::from_secs(5)).await;
    a.shutdown(None).await;
    b.shutdown(None).await;
}

/// GTSM on B only: A sends as a directly connected eBGP peer does, with
/// TTL 1, and B's kernel drops every packet below TTL 255: no session.
#[tokio::test]
async fn gtsm_drops_a_peer_that_does_not_send_ttl_255() {
    let (a_ip, b_ip) = (ip("127.0.1.83"), ip("127.0.1.84"));
    let (a_text, b_text) = gtsm_configs(
        "127.0.1.83",
        "127.0.1.84",
        11915,
        "multihop = 1",
        "ttl-security = 1",
    );
    let b = start("b.toml", &b_text).await;
    let a = start("a.toml", &a_text).await;
    sleep(Duration::from_secs(4)).await;
    assert_ne!(a.state(b_ip).await, Some(State::Established));
    assert_ne!(b.state(a_ip).await, Some(State::Established));
    assert!(b.adj_rib_in(a_ip).await.unwrap_or_default().is_empty());
    a.shutdown(None).await;
    b.shutdown(None).await;
}

/// A's routing settings for B in the policy test: `policy` is the import
/// policy list, `keep` whether the pre-policy copy is kept.
fn policy_config_a(keep: bool, import: &str) -> String {
    format!(
        r#"
[global]
asn = 65001
router-id = "127.0.1.90"
listen = ["127.0.1.90:11916"]

[[policy]]
name = "prefer"
[[policy.rule]]
match = {{ prefix = ["10.90.1.0/24"] }}
then = {{ local-pref = 300 }}
[[policy.rule]]
match = {{ prefix = ["10.90.2.0/24"] }}
then = "reject"

[[neighbor]]
address = "127.0.1.91"
asn = 65001
passive = true
keep-adj-rib-in = {keep}
import = [{import}]
"#
    )
}

/// RFC 4271 §9.1.1 with a changed import policy: the new policy applies
/// to the routes already received, from the pre-policy copy when it is
/// kept and by ROUTE-REFRESH otherwise, and the session never drops.
#[tokio::test]
async fn import_policy_change_applies_without_session_reset() {
    for keep in [true, false] {
        let b_ip = ip("127.0.1.91");
        let a = start("a.toml", &policy_config_a(keep, "")).await;
        let mut a_events = Events::new("A", &a);
        let b = start(
            "b.toml",
            r#"
[global]
asn = 65001
router-id = "127.0.1.91"
listen = []

[[neighbor]]
address = "127.0.1.90"
port = 11916
local-address = "127.0.1.91"
asn = 65001
connect-retry = 1

[[neighbor.route]]
prefix = "10.90.1.0/24"
[[neighbor.route]]
prefix = "10.90.2.0/24"
[[neighbor.route]]
prefix = "10.90.3.0/24"
"#,
        )
        .await;
        let within = Duration::from_secs(10);
        a_events
            .wait(0, within, "End-of-RIB from B", |e| {
                end_of_rib(e, b_ip, Family::IPV4_UNICAST)
            })
            .await;
        let rib = a.adj_rib_in(b_ip).await.expect("B is a neighbor");
        assert_eq!(
            nlris(&rib),
            vec!["10.90.1.0/24", "10.90.2.0/24", "10.90.3.0/24"]
        );
        assert_eq!(route(&rib, "10.90.1.0/24").attributes.local_pref, Some(100));

        let changed = Config::parse(&policy_config_a(keep, r#""prefer""#), "a.toml").unwrap();
        let refreshed = a.reconfigure_routing(&changed).await;
        assert_eq!(
            refreshed,
            if keep {
                Vec::new()
            } else {
                vec![(b_ip, Family::IPV4_UNICAST)]
            },
            "keep-adj-rib-in = {keep}"
        );
        let deadline = Instant::now() + within;
        loop {
            let rib = a.adj_rib_in(b_ip).await.expect("B is a neighbor");
            if nlris(&rib) == vec!["10.90.1.0/24", "10.90.3.0/24"]
                && route(&rib, "10.90.1.0/24").attributes.local_pref == Some(300)
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "keep-adj-rib-in = {keep}: the new policy did not apply: {rib:?}"
            );
            sleep(Duration::from_millis(20)).await;
        }
        a_events.poll();
        assert!(
            !a_events.seen.iter().any(|e| matches!(
                e,
                PeerEvent::State {
                    from: State::Established,
                    ..
                }
            )),
            "keep-adj-rib-in = {keep}: a session went down:\n{}",
            a_events.dump()
        );
        b.shutdown(None).await;
        a.shutdown(None).await;
    }
}

/// Neighbors added, disabled, enabled, reset and removed while the speaker
/// runs: the peer sees each step as it would on a router (sessions up,
/// Cease 6/2, 6/4 and 6/3, RFC 4486), and the other sessions never notice.
#[tokio::test]
async fn neighbors_change_at_run_time() {
    let (a_ip, b_ip) = (ip("127.0.1.92"), ip("127.0.1.93"));
    let a = start(
        "a.toml",
        r#"
[global]
asn = 65001
router-id = "127.0.1.92"
listen = ["127.0.1.92:11917"]
"#,
    )
    .await;
    assert!(a.neighbor_addresses().is_empty());
    let b = start(
        "b.toml",
        r#"
[global]
asn = 65002
router-id = "127.0.1.93"
listen = []

[[neighbor]]
address = "127.0.1.92"
port = 11917
local-address = "127.0.1.93"
asn = 65001
connect-retry = 1

[[neighbor.route]]
prefix = "10.93.0.0/24"
"#,
    )
    .await;
    let mut b_events = Events::new("B", &b);
    let b_as_neighbor = Config::parse(
        r#"
[global]
asn = 65001
router-id = "127.0.1.92"

[[neighbor]]
address = "127.0.1.93"
asn = 65002
passive = true
"#,
        "added.toml",
    )
    .unwrap()
    .neighbors
    .remove(0);
    let within = Duration::from_secs(10);
    a.add_neighbor_config(b_as_neighbor.clone()).unwrap();
    assert!(matches!(
        a.add_neighbor_config(b_as_neighbor),
        Err(ribbit::speaker::NeighborError::Exists(_))
    ));
    assert_eq!(a.neighbor_addresses(), vec![b_ip]);
    wait_state(&a, b_ip, State::Established, within).await;
    let deadline = Instant::now() + within;
    while a.adj_rib_in(b_ip).await.map(|r| r.len()) != Some(1) {
        assert!(Instant::now() < deadline, "B's route did not arrive");
        sleep(Duration::from_millis(20)).await;
    }

    let info = a.neighbor_info(b_ip).await.expect("B is a neighbor");
    assert_eq!(info.state, State::Established);
    assert_eq!(info.established, 1);
    let session = info.session.clone().expect("negotiated settings");
    assert_eq!(session.peer_asn, 65002);
    assert_eq!(session.families, vec!["ipv4-unicast"]);
    assert_eq!(session.remote.map(|r| r.ip()), Some(b_ip));
    assert!(session
        .peer_capabilities
        .iter()
        .any(|c| c == "route-refresh"));
    assert_eq!(info.received.open, 1);
    assert!(info.received.update >= 1, "{info:?}");
    assert_eq!(info.sent.open, 1);

    let cease = |e: &PeerEvent, sub: u8| {
        matches!(e, PeerEvent::Notification { peer, received: true, notification }
            if *peer == a_ip && notification.code == 6 && notification.subcode == sub)
    };
    a.disable_neighbor(b_ip, Some("maintenance".into()))
        .await
        .unwrap();
    let i = b_events
        .wait(0, within, "Cease 6/2 from A", |e| cease(e, 2))
        .await;
    wait_state(&a, b_ip, State::Idle, within).await;
    // Disabled: B's reconnections are refused, so it stays down.
    sleep(Duration::from_millis(1500)).await;
    assert_eq!(a.state(b_ip).await, Some(State::Idle));

    a.enable_neighbor(b_ip).await.unwrap();
    wait_state(&a, b_ip, State::Established, within).await;

    a.reset_neighbor(b_ip, None).await.unwrap();
    let i = b_events
        .wait(i + 1, within, "Cease 6/4 from A", |e| cease(e, 4))
        .await;
    wait_state(&a, b_ip, State::Established, within).await;

    a.remove_neighbor(b_ip).await.unwrap();
    b_events
        .wait(i + 1, within, "Cease 6/3 from A", |e| cease(e, 3))
        .await;
    assert!(a.neighbor_addresses().is_empty());
    assert_eq!(a.state(b_ip).await, None);
    assert!(matches!(
        a.remove_neighbor(b_ip).await,
        Err(ribbit::speaker::NeighborError::Unknown(_))
    ));
    b.shutdown(None).await;
    a.shutdown(None).await;
}

/// The library: a speaker built in code, a neighbor added with the
/// builder while it runs, UPDATEs seen through `on_update`, and `serve`
/// returning once the speaker is stopped. Bad settings are refused with
/// the configuration file's message.
#[tokio::test]
async fn library_builder_neighbor_and_handlers() {
    use ribbit::Neighbor;
    use std::sync::{Arc, Mutex};

    let b_ip = ip("127.0.1.95");
    let a = Arc::new(
        Speaker::builder()
            .asn(65001)
            .router_id("127.0.1.94".parse().unwrap())
            .listen(["127.0.1.94:11918".parse().unwrap()])
            .build()
            .expect("speaker"),
    );
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen_by_handler = Arc::clone(&seen);
    a.on_update(move |peer, update| {
        let prefixes: Vec<String> = update
            .announced
            .iter()
            .map(|n| n.prefix.to_string())
            .collect();
        seen_by_handler.lock().unwrap().push((peer, prefixes));
    });
    let bad = a.add_neighbor(Neighbor::new(b_ip, 65002).hold_time(2));
    let message = bad.expect_err("hold time 2").to_string();
    assert!(message.contains("hold-time 2 is not allowed"), "{message}");
    a.add_neighbor(
        Neighbor::new(b_ip, 65002)
            .passive(true)
            .families([Family::IPV4_UNICAST, Family::IPV4_FLOWSPEC]),
    )
    .expect("neighbor");
    let server = {
        let a = Arc::clone(&a);
        tokio::spawn(async move { a.serve().await })
    };
    let b = start(
        "b.toml",
        r#"
[global]
asn = 65002
router-id = "127.0.1.95"
listen = []

[[neighbor]]
address = "127.0.1.94"
port = 11918
local-address = "127.0.1.95"
asn = 65001
connect-retry = 1
families = ["ipv4-unicast", "ipv4-flowspec"]

[[neighbor.route]]
prefix = "10.95.0.0/24"
"#,
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = seen
            .lock()
            .unwrap()
            .iter()
            .any(|(p, v)| *p == b_ip && v == &["10.95.0.0/24".to_string()]);
        if got {
            break;
        }
        assert!(Instant::now() < deadline, "on_update saw no UPDATE from B");
        sleep(Duration::from_millis(20)).await;
    }
    assert!(!server.is_finished());

    // Routes and rules from the program reach B, and go again.
    use ribbit::route::{Flow, Op, Route};
    let rule = || {
        Flow::matching()
            .destination("10.94.0.0/24".parse().unwrap())
            .protocol(Op::eq(17))
            .then()
            .discard()
    };
    let route = || Route::new("10.94.1.0/24".parse().unwrap()).next_hop_self();
    a.announce_flow(rule()).expect("rule");
    a.announce_route(route()).expect("route");
    let a_ip = ip("127.0.1.94");
    let held = |rib: &[ReceivedRoute]| {
        let mut v: Vec<String> = rib.iter().map(|r| r.nlri.clone()).collect();
        v.sort();
        v
    };
    let both = vec![
        "10.94.1.0/24".to_string(),
        "flow destination-ipv4 10.94.0.0/24 protocol =udp".to_string(),
    ];
    let deadline = Instant::now() + Duration::from_secs(10);
    while held(&b.adj_rib_in(a_ip).await.unwrap_or_default()) != both {
        assert!(
            Instant::now() < deadline,
            "B holds {:?}",
            held(&b.adj_rib_in(a_ip).await.unwrap_or_default())
        );
        sleep(Duration::from_millis(20)).await;
    }
    a.withdraw_flow(rule()).expect("rule");
    a.withdraw_route(route()).expect("route");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !held(&b.adj_rib_in(a_ip).await.unwrap_or_default()).is_empty() {
        assert!(Instant::now() < deadline, "B still holds the routes");
        sleep(Duration::from_millis(20)).await;
    }
    a.stop(None).await;
    let served = tokio::time::timeout(Duration::from_secs(3), server)
        .await
        .expect("serve returns after stop");
    assert!(served.expect("task").is_ok());
    assert!(a
        .add_neighbor(Neighbor::new(ip("127.0.1.96"), 65003))
        .is_err());
    b.shutdown(None).await;
}

// ---------------------------------------------------------------------------
// Routes announced at run time (the programmable speaker)

/// Poll A's Adj-RIB-In from `peer` until `ok` holds, at most `within`.
async fn wait_rib_in(
    speaker: &Speaker,
    peer: IpAddr,
    within: Duration,
    what: &str,
    ok: impl Fn(&[ReceivedRoute]) -> bool,
) -> Vec<ReceivedRoute> {
    let deadline = Instant::now() + within;
    loop {
        let rib = speaker.adj_rib_in(peer).await.expect("a neighbor");
        if ok(&rib) {
            return rib;
        }
        assert!(Instant::now() < deadline, "{what}: Adj-RIB-In is {rib:#?}");
        sleep(Duration::from_millis(20)).await;
    }
}

fn announcement(line: &str) -> ribbit_exabgp::text::Announcement {
    match line.parse::<ribbit_exabgp::text::Command>() {
        Ok(ribbit_exabgp::text::Command::Announce(a)) => a,
        other => panic!("{line:?}: {other:?}"),
    }
}

fn withdrawal(line: &str) -> ribbit_exabgp::text::Withdrawal {
    match line.parse::<ribbit_exabgp::text::Command>() {
        Ok(ribbit_exabgp::text::Command::Withdraw(w)) => w,
        other => panic!("{line:?}: {other:?}"),
    }
}

/// B announces and withdraws routes at run time, as an ExaBGP program
/// would: A sees them with ExaBGP's eBGP treatment (B's AS prepended,
/// next-hop self as B's address), a later announcement replaces an earlier
/// one, a withdrawal removes it and B's static route is untouched; the
/// routes come back after a session reset and on ROUTE-REFRESH; errors
/// are typed.
#[tokio::test]
async fn routes_announced_and_withdrawn_at_run_time() {
    use ribbit::announce::AnnounceError;

    let (a_ip, b_ip) = (ip("127.0.1.100"), ip("127.0.1.101"));
    let b = start(
        "b.toml",
        r#"
[global]
asn = 65101
router-id = "127.0.1.101"
listen = ["127.0.1.101:11919"]

[[neighbor]]
address = "127.0.1.100"
asn = 65100
passive = true
families = ["ipv4-unicast"]

[[neighbor.route]]
prefix = "10.101.9.0/24"
"#,
    )
    .await;
    let a = start(
        "a.toml",
        r#"
[global]
asn = 65100
router-id = "127.0.1.100"
listen = []

[[neighbor]]
address = "127.0.1.101"
port = 11919
local-address = "127.0.1.100"
asn = 65101
families = ["ipv4-unicast"]
connect-retry = 1
"#,
    )
    .await;
    let within = Duration::from_secs(10);
    wait_rib_in(&a, b_ip, within, "the static route", |r| r.len() == 1).await;

    // To every neighbor of the family.
    let applied = b
        .announce(
            &[],
            &announcement("announce route 10.101.0.0/24 next-hop 192.0.2.9 med 10"),
        )
        .await
        .unwrap();
    assert_eq!((applied.neighbors, applied.routes), (1, 1));
    // To one neighbor, next-hop self, two prefixes at once.
    let applied = b
        .announce_all(
            &[a_ip],
            &[announcement(
                "announce attributes next-hop self community [65101:1] nlri 10.101.1.0/24 10.101.2.0/24",
            )],
        )
        .await
        .unwrap();
    assert_eq!(applied.routes, 2);
    let rib = wait_rib_in(&a, b_ip, within, "the announced routes", |r| r.len() == 4).await;
    let r = route(&rib, "10.101.0.0/24");
    assert_eq!(r.next_hop, Some(NextHop::V4(Ipv4Addr::new(192, 0, 2, 9))));
    assert_eq!(r.attributes.med, Some(10));
    assert_eq!(r.attributes.origin, Some(Origin::Igp));
    assert_eq!(r.attributes.as_path, Some(AsPath::sequence(vec![65101])));
    assert_eq!(r.attributes.local_pref, None);
    let r = route(&rib, "10.101.1.0/24");
    assert_eq!(r.next_hop, Some(NextHop::V4(Ipv4Addr::new(127, 0, 1, 101))));
    assert_eq!(r.attributes.communities, communities(&["65101:1"]));

    // A later announcement replaces; a withdrawal removes.
    b.announce(
        &[a_ip],
        &announcement("announce route 10.101.0.0/24 next-hop 192.0.2.9 med 20"),
    )
    .await
    .unwrap();
    wait_rib_in(&a, b_ip, within, "MED 20", |r| {
        r.iter()
            .any(|x| x.nlri == "10.101.0.0/24" && x.attributes.med == Some(20))
    })
    .await;
    let applied = b
        .withdraw(&[], &withdrawal("withdraw route 10.101.2.0/24"))
        .await
        .unwrap();
    assert_eq!(applied.routes, 1);
    let rib = wait_rib_in(&a, b_ip, within, "the withdrawal", |r| r.len() == 3).await;
    assert_eq!(
        nlris(&rib),
        vec!["10.101.0.0/24", "10.101.1.0/24", "10.101.9.0/24"]
    );
    assert_eq!(b.announced(a_ip).await.unwrap().len(), 3);

    // Errors, nothing sent.
    let v6 = announcement("announce route 2001:db8::/32 next-hop 2001:db8::1");
    assert_eq!(
        b.announce(&[a_ip], &v6).await,
        Err(AnnounceError::FamilyNotConfigured {
            neighbor: a_ip,
            family: Family::IPV6_UNICAST
        })
    );
    // To every neighbor: none has IPv6, nothing to do.
    assert_eq!(b.announce(&[], &v6).await.unwrap().routes, 0);
    let stranger = ip("127.0.1.119");
    assert_eq!(
        b.announce(
            &[stranger],
            &announcement("announce route 10.101.3.0/24 next-hop self")
        )
        .await,
        Err(AnnounceError::UnknownNeighbor(stranger))
    );
    let mut no_nh = announcement("announce route 10.101.3.0/24 next-hop self");
    no_nh.next_hop = ribbit_exabgp::text::NextHopSpec::Absent;
    assert_eq!(
        b.announce(&[a_ip], &no_nh).await,
        Err(AnnounceError::MissingNextHop(Family::IPV4_UNICAST))
    );

    // The routes outlive the session: back after a reset, before End-of-RIB.
    let mut a_events = Events::new("A", &a);
    b.reset_neighbor(a_ip, None).await.unwrap();
    let eor = a_events
        .wait(0, within, "End-of-RIB after the reset", |e| {
            end_of_rib(e, b_ip, Family::IPV4_UNICAST)
        })
        .await;
    let announced_before_eor = a_events.seen[..eor].iter().any(|e| {
        matches!(e, PeerEvent::Update { peer, update } if *peer == b_ip
            && update.announced.iter().any(|n| n.prefix.to_string() == "10.101.1.0/24"))
    });
    assert!(announced_before_eor, "{}", a_events.dump());
    wait_rib_in(&a, b_ip, within, "the routes after the reset", |r| {
        r.len() == 3
    })
    .await;

    // ROUTE-REFRESH: sent again, between BoRR and EoRR.
    let mark = a_events.seen.len();
    assert!(a.route_refresh(b_ip, Family::IPV4_UNICAST).await);
    let end = a_events
        .wait(mark, within, "EoRR", |e| {
            matches!(e, PeerEvent::RouteRefresh { peer, refresh } if *peer == b_ip
                && refresh.subtype == RefreshSubtype::End)
        })
        .await;
    let again = a_events.seen[mark..end].iter().any(|e| {
        matches!(e, PeerEvent::Update { peer, update } if *peer == b_ip
            && update.announced.iter().any(|n| n.prefix.to_string() == "10.101.0.0/24"))
    });
    assert!(again, "{}", a_events.dump());

    a.shutdown(None).await;
    b.shutdown(None).await;
}

/// A recorder's tap sees the session come up with both OPENs, every
/// UPDATE as received (bytes that decode to the routes the peer
/// announced), what we send when it asks for it, and the session going
/// down with its reason.
#[tokio::test]
async fn tap_sees_the_session_and_its_messages() {
    use ribbit::tap::{TapMode, TapRecord};
    use ribbit_wire::{DecodeContext, Message};

    let b = start(
        "b.toml",
        r#"
[global]
asn = 65042
router-id = "127.0.1.141"
listen = ["127.0.1.141:11941"]

[[neighbor]]
address = "127.0.1.140"
asn = 65040
passive = true

[[neighbor.route]]
prefix = "10.41.0.0/24"
communities = ["65042:7"]
"#,
    )
    .await;
    let a = start(
        "a.toml",
        r#"
[global]
asn = 65040
router-id = "127.0.1.140"
listen = []

[[neighbor]]
address = "127.0.1.141"
port = 11941
local-address = "127.0.1.140"
asn = 65042
connect-retry = 1

[[neighbor.route]]
prefix = "10.40.0.0/24"
"#,
    )
    .await;
    let mut tap = a.tap(TapMode::Lossless, 64, true);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut up = None;
    let mut received = Vec::new();
    let mut sent_bytes = 0usize;
    while received.is_empty() || sent_bytes == 0 {
        let record = timeout_at(deadline, tap.recv())
            .await
            .expect("the tap saw the session and an UPDATE each way within 10 s")
            .expect("the speaker runs");
        match record {
            TapRecord::Up(s) => up = Some(s),
            TapRecord::Received {
                session, message, ..
            } => {
                assert_eq!(session.peer, ip("127.0.1.141"));
                let ctx: DecodeContext = session.negotiated.decode_context();
                if let Ok(Message::Update(u)) = Message::decode(&message, &ctx) {
                    if !u.announced.is_empty() {
                        received.push(u);
                    }
                }
            }
            TapRecord::Sent { messages, .. } => sent_bytes += messages.len(),
            TapRecord::State { .. } | TapRecord::Down { .. } => {}
        }
    }
    let up = up.expect("Up comes before the first message");
    assert_eq!(up.peer_asn, 65042);
    assert_eq!(up.local_asn, 65040);
    assert_eq!(
        up.peer_id,
        "127.0.1.141".parse::<Ipv4Addr>().expect("address")
    );
    assert_eq!(up.negotiated.peer_open.asn(), 65042);
    assert_eq!(up.local.map(|l| l.ip()), Some(ip("127.0.1.140")));
    assert_eq!(
        up.remote,
        Some("127.0.1.141:11941".parse().expect("address"))
    );
    let announced: Vec<String> = received[0]
        .announced
        .iter()
        .map(|n| n.prefix.to_string())
        .collect();
    assert_eq!(announced, vec!["10.41.0.0/24".to_string()]);
    assert!(sent_bytes >= 19, "what we sent reached the tap");
    b.shutdown(None).await;
    let down = loop {
        let record = timeout_at(deadline, tap.recv())
            .await
            .expect("the tap saw the session end within 10 s")
            .expect("the speaker runs");
        if let TapRecord::Down { reason, .. } = record {
            break reason;
        }
    };
    assert!(
        matches!(down, ribbit_fsm::DownReason::NotificationReceived(_)),
        "{down:?}"
    );
    a.shutdown(None).await;
}

/// The Restart State bit of the Graceful Restart capability in the OPENs
/// `events` saw coming from `from`, in order.
fn restart_bits(events: &[PeerEvent], from: IpAddr) -> Vec<bool> {
    events
        .iter()
        .filter_map(|e| match e {
            PeerEvent::Open {
                peer,
                received: true,
                open,
            } if *peer == from => open.capabilities.iter().find_map(|c| match c {
                ribbit_wire::Capability::GracefulRestart { restarting, .. } => Some(*restarting),
                _ => None,
            }),
            _ => None,
        })
        .collect()
}

/// A restarting speaker (RFC 4724 §4.1): its OPENs carry the Restart State
/// bit, it sends nothing until its graceful-restart neighbors sent their
/// End-of-RIB (or its selection deferral timer runs out), and later OPENs
/// no longer carry the bit.
#[tokio::test]
async fn a_restarting_speaker_defers_selection() {
    let (a_ip, b_ip, c_ip) = (ip("127.0.1.150"), ip("127.0.1.151"), ip("127.0.1.152"));
    let a_text = |deferral: u16, absent: &str| {
        format!(
            r#"
[global]
asn = 65050
router-id = "127.0.1.150"
listen = ["127.0.1.150:11945"]
selection-deferral-time = {deferral}

[[neighbor]]
address = "127.0.1.151"
asn = 65051
passive = true
graceful-restart = true

[[neighbor]]
address = "127.0.1.152"
asn = 65052
passive = true
{absent}
"#
        )
    };
    let edge = |me: &str, asn: u32, extra: &str| {
        format!(
            r#"
[global]
asn = {asn}
router-id = "{me}"
listen = []

[[neighbor]]
address = "127.0.1.150"
port = 11945
local-address = "{me}"
asn = 65050
connect-retry = 1
{extra}
"#
        )
    };
    let b_text = edge(
        "127.0.1.151",
        65051,
        "graceful-restart = true\n\n[[neighbor.route]]\nprefix = \"10.51.0.0/24\"\n",
    );
    let c_text = edge("127.0.1.152", 65052, "");

    // 1. Every neighbor that is waited for sends its End-of-RIB.
    let mut config = Config::parse(&a_text(300, ""), "a.toml").expect("config");
    config.global.restarting = true;
    let a = Speaker::start(&config).await.expect("A starts");
    assert!(a.deferring_selection().await);
    let b = start("b.toml", &b_text).await;
    let mut b_events = Events::new("B", &b);
    let c = start("c.toml", &c_text).await;
    let mut c_events = Events::new("C", &c);
    c_events
        .wait(
            0,
            Duration::from_secs(10),
            "C's route from B through A",
            |e| {
                matches!(e, PeerEvent::Update { update, .. }
                if update.announced.iter().any(|n| n.prefix.to_string() == "10.51.0.0/24"))
            },
        )
        .await;
    assert!(!a.deferring_selection().await);
    b_events.poll();
    assert_eq!(
        restart_bits(&b_events.seen, a_ip),
        vec![true],
        "{}",
        b_events.dump()
    );
    // A later session of A's: no Restart State bit any more.
    a.reset_neighbor(b_ip, None).await.expect("reset");
    let from = b_events.seen.len();
    b_events
        .wait(from, Duration::from_secs(10), "B back up", |e| {
            state_to(e, a_ip, State::Established)
        })
        .await;
    assert_eq!(restart_bits(&b_events.seen, a_ip), vec![true, false]);
    for s in [a, b, c] {
        s.shutdown(None).await;
    }

    // 2. A neighbor that never comes: the deferral timer ends the wait.
    let absent = "[[neighbor]]\naddress = \"127.0.1.153\"\nport = 11947\nasn = 65053\ngraceful-restart = true\nconnect-retry = 60\n";
    let mut config = Config::parse(&a_text(4, absent), "a.toml").expect("config");
    config.global.restarting = true;
    let a = Speaker::start(&config).await.expect("A starts");
    let b = start("b.toml", &b_text).await;
    let c = start("c.toml", &c_text).await;
    let mut c_events = Events::new("C", &c);
    // B's routes are in A, and C has none while A defers.
    let deadline = Instant::now() + Duration::from_secs(10);
    while a.adj_rib_in(b_ip).await.unwrap_or_default().is_empty() {
        assert!(Instant::now() < deadline, "A never got B's route");
        sleep(Duration::from_millis(20)).await;
    }
    let before = a.deferring_selection().await;
    let c_has = !c.adj_rib_in(a_ip).await.unwrap_or_default().is_empty();
    let after = a.deferring_selection().await;
    assert!(before, "A still waits for the absent neighbor");
    if after {
        assert!(!c_has, "C got routes while A deferred selection");
    }
    c_events
        .wait(
            0,
            Duration::from_secs(15),
            "C's route once the timer ran out",
            |e| {
                matches!(e, PeerEvent::Update { update, .. }
                if update.announced.iter().any(|n| n.prefix.to_string() == "10.51.0.0/24"))
            },
        )
        .await;
    assert!(!a.deferring_selection().await);
    let _ = c_ip;
    for s in [a, b, c] {
        s.shutdown(None).await;
    }
}

/// The export policy of a neighbor applies to the routes Ribbit originates
/// (static routes here), as to the others.
#[tokio::test]
async fn static_routes_go_through_the_export_policy() {
    let a_ip = ip("127.0.1.160");
    let b = start(
        "b.toml",
        r#"
[global]
asn = 65061
router-id = "127.0.1.161"
listen = ["127.0.1.161:11948"]

[[neighbor]]
address = "127.0.1.160"
asn = 65060
passive = true
"#,
    )
    .await;
    let mut b_events = Events::new("B", &b);
    let a = start(
        "a.toml",
        r#"
[global]
asn = 65060
router-id = "127.0.1.160"
listen = []

[[policy]]
name = "out"
[[policy.rule]]
match = { prefix = ["10.60.1.0/24"] }
then = "reject"
[[policy.rule]]
then = { communities = { add = ["65060:1"] } }

[[route]]
prefix = "10.60.0.0/24"

[[route]]
prefix = "10.60.1.0/24"

[[neighbor]]
address = "127.0.1.161"
port = 11948
local-address = "127.0.1.160"
asn = 65061
connect-retry = 1
export = ["out"]
"#,
    )
    .await;
    b_events
        .wait(0, Duration::from_secs(10), "End-of-RIB from A", |e| {
            end_of_rib(e, a_ip, Family::IPV4_UNICAST)
        })
        .await;
    let rib = b.adj_rib_in(a_ip).await.expect("A is B's neighbor");
    assert_eq!(nlris(&rib), vec!["10.60.0.0/24"], "{rib:?}");
    assert_eq!(
        route(&rib, "10.60.0.0/24").attributes.communities,
        communities(&["65060:1"])
    );
    a.shutdown(None).await;
    b.shutdown(None).await;
}
