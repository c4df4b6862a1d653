//! Scenario and property tests of the session state machine, driven through
//! its public interface with a scripted peer and a simulated clock.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use proptest::prelude::*;

use ribbit_fsm::{ConnId, DownReason, Input, LocalSettings, Output, Session, SessionConfig, State};
use ribbit_wire::capability::Capability;
use ribbit_wire::{EncodeContext, Family, Message, Notification, Open, Update};

const LOCAL_ID: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);

fn settings() -> LocalSettings {
    LocalSettings {
        asn: 65000,
        peer_asn: 65001,
        router_id: LOCAL_ID,
        hold_time: 90,
        families: vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST],
        route_refresh: true,
        enhanced_route_refresh: true,
        extended_message: true,
        add_path: vec![],
        extended_next_hop: vec![],
        role: None,
        extra: vec![],
    }
}

fn peer_open(router_id: Ipv4Addr, hold: u16) -> Vec<u8> {
    let caps = vec![
        Capability::Multiprotocol(Family::IPV4_UNICAST),
        Capability::RouteRefresh,
    ];
    Message::Open(Open::new(65001, hold, router_id, caps)).to_bytes(&EncodeContext::default())
}

fn keepalive() -> Vec<u8> {
    Message::Keepalive.to_bytes(&EncodeContext::default())
}

fn update() -> Vec<u8> {
    let mut u = Update::default();
    u.attributes.origin = Some(ribbit_wire::Origin::Igp);
    u.attributes.as_path = Some(ribbit_wire::AsPath::sequence(vec![65001]));
    u.attributes.next_hop = Some(Ipv4Addr::new(198, 51, 100, 1));
    u.announced = vec![ribbit_wire::nlri::PrefixNlri {
        path_id: None,
        prefix: "10.0.0.0/24".parse().unwrap(),
    }];
    Message::Update(u).to_bytes(&EncodeContext::default())
}

/// A session, a clock, and everything it has output so far.
struct Harness {
    session: Session,
    now: Instant,
    out: Vec<Output>,
}

impl Harness {
    fn new(config: SessionConfig) -> Harness {
        Harness {
            session: Session::new(config, 42),
            now: Instant::now(),
            out: Vec::new(),
        }
    }

    fn active() -> Harness {
        Harness::new(SessionConfig::new(settings()))
    }

    fn input(&mut self, input: Input<'_>) -> Vec<Output> {
        self.session.handle(self.now, input);
        self.drain()
    }

    fn drain(&mut self) -> Vec<Output> {
        let mut got = Vec::new();
        while let Some(o) = self.session.poll_output() {
            got.push(o);
        }
        self.out.extend(got.iter().cloned());
        got
    }

    /// Advance the clock by `d`, firing timers on the way.
    fn advance(&mut self, d: Duration) -> Vec<Output> {
        let end = self.now + d;
        let mut got = Vec::new();
        while let Some(t) = self.session.poll_timeout().filter(|t| *t <= end) {
            self.now = t.max(self.now);
            self.session.handle_timeout(self.now);
            got.extend(self.drain());
        }
        self.now = end;
        got
    }

    /// Bring connection `id` to Established as the outbound side.
    fn establish(&mut self, id: ConnId) {
        self.input(Input::Start);
        self.input(Input::Connected(id));
        self.input(Input::Message(
            id,
            &peer_open(Ipv4Addr::new(192, 0, 2, 2), 90),
        ));
        self.input(Input::Message(id, &keepalive()));
        assert_eq!(self.session.state(), State::Established);
    }
}

/// The messages sent on a connection, decoded.
fn sent(out: &[Output], id: ConnId) -> Vec<Message> {
    out.iter()
        .filter_map(|o| match o {
            Output::Send(c, b) if *c == id => {
                Some(Message::decode(b, &Default::default()).unwrap())
            }
            _ => None,
        })
        .collect()
}

fn notifications(out: &[Output]) -> Vec<(u8, u8)> {
    out.iter()
        .filter_map(|o| match o {
            Output::NotificationSent(n) => Some((n.code, n.subcode)),
            _ => None,
        })
        .collect()
}

#[test]
fn active_open_to_established() {
    let mut h = Harness::active();
    let out = h.input(Input::Start);
    assert!(out.contains(&Output::Connect));
    assert_eq!(h.session.state(), State::Connect);
    let out = h.input(Input::Connected(1));
    assert!(matches!(sent(&out, 1)[..], [Message::Open(_)]));
    assert_eq!(h.session.state(), State::OpenSent);
    let out = h.input(Input::Message(
        1,
        &peer_open(Ipv4Addr::new(192, 0, 2, 2), 30),
    ));
    assert_eq!(sent(&out, 1), vec![Message::Keepalive]);
    assert_eq!(h.session.state(), State::OpenConfirm);
    let out = h.input(Input::Message(1, &keepalive()));
    let negotiated = out.iter().find_map(|o| match o {
        Output::Established(1, n) => Some(n.clone()),
        _ => None,
    });
    let negotiated = negotiated.expect("Established output");
    assert_eq!(negotiated.hold_time, 30);
    assert_eq!(negotiated.families, vec![Family::IPV4_UNICAST]);
    assert!(out.contains(&Output::StateChanged {
        from: State::OpenConfirm,
        to: State::Established
    }));
    assert_eq!(h.session.negotiated().map(|n| n.keepalive), Some(10));

    // UPDATEs come out decoded.
    let out = h.input(Input::Message(1, &update()));
    assert!(matches!(&out[..], [Output::Update(u)] if u.announced.len() == 1));

    // Keepalives every 10 s; the peer's keepalives hold the session up.
    for _ in 0..5 {
        let out = h.advance(Duration::from_secs(10));
        assert_eq!(sent(&out, 1), vec![Message::Keepalive]);
        h.input(Input::Message(1, &keepalive()));
    }
    assert_eq!(h.session.state(), State::Established);
}

#[test]
fn hold_timer_expiry_and_automatic_restart_with_backoff() {
    let mut h = Harness::active();
    h.establish(1);
    let out = h.advance(Duration::from_secs(91));
    assert_eq!(notifications(&out), vec![(4, 0)]);
    assert!(out
        .iter()
        .any(|o| matches!(o, Output::Down(DownReason::NotificationSent(_)))));
    assert!(out.contains(&Output::Close(1)));
    assert_eq!(h.session.state(), State::Idle);
    // It comes back by itself after the back-off: the 30 s base, 0.75-1.0 jitter.
    let out = h.advance(Duration::from_secs(22));
    assert!(!out.contains(&Output::Connect));
    let out = h.advance(Duration::from_secs(9));
    assert!(out.contains(&Output::Connect), "{out:?}");
}

#[test]
fn connect_retry_backs_off_exponentially() {
    let mut h = Harness::active();
    h.input(Input::Start);
    let mut gaps = Vec::new();
    for _ in 0..6 {
        h.input(Input::ConnectFailed);
        assert_eq!(h.session.state(), State::Active);
        let next = h.session.poll_timeout().unwrap();
        gaps.push(next - h.now);
        h.now = next;
        h.session.handle_timeout(h.now);
        assert!(h.drain().contains(&Output::Connect));
    }
    for pair in gaps.windows(2) {
        assert!(
            pair[1] >= pair[0] || pair[1] >= Duration::from_secs(225),
            "{gaps:?}"
        );
    }
    // Capped at 300 s (with jitter, at least 225 s).
    assert!(
        gaps[5] <= Duration::from_secs(300) && gaps[5] >= Duration::from_secs(225),
        "{gaps:?}"
    );
    // The base after the first failure, twice that after the second.
    assert!(
        gaps[0] >= Duration::from_secs(22) && gaps[0] <= Duration::from_secs(30),
        "{gaps:?}"
    );
    assert!(
        gaps[1] >= Duration::from_secs(45) && gaps[1] <= Duration::from_secs(60),
        "{gaps:?}"
    );
}

#[test]
fn passive_waits_and_accepts() {
    let mut config = SessionConfig::new(settings());
    config.passive = true;
    let mut h = Harness::new(config);
    let out = h.input(Input::Start);
    assert!(!out.contains(&Output::Connect));
    assert_eq!(h.session.state(), State::Active);
    assert_eq!(h.advance(Duration::from_secs(600)), vec![]);
    let out = h.input(Input::Accepted(7));
    assert!(matches!(sent(&out, 7)[..], [Message::Open(_)]));
    h.input(Input::Message(
        7,
        &peer_open(Ipv4Addr::new(192, 0, 2, 2), 90),
    ));
    h.input(Input::Message(7, &keepalive()));
    assert_eq!(h.session.state(), State::Established);
}

#[test]
fn idle_refuses_connections() {
    let mut h = Harness::active();
    let out = h.input(Input::Accepted(3));
    assert_eq!(out, vec![Output::Close(3)]);
}

#[test]
fn delay_open_waits_for_the_peer_or_the_timer() {
    let mut config = SessionConfig::new(settings());
    config.delay_open = Some(Duration::from_secs(5));
    let mut h = Harness::new(config.clone());
    h.input(Input::Start);
    let out = h.input(Input::Connected(1));
    assert!(sent(&out, 1).is_empty());
    let out = h.advance(Duration::from_secs(5));
    assert!(matches!(sent(&out, 1)[..], [Message::Open(_)]));

    // The peer's OPEN first: ours and a KEEPALIVE go out together.
    let mut h = Harness::new(config);
    h.input(Input::Start);
    h.input(Input::Connected(1));
    let out = h.input(Input::Message(
        1,
        &peer_open(Ipv4Addr::new(192, 0, 2, 2), 90),
    ));
    assert!(matches!(
        sent(&out, 1)[..],
        [Message::Open(_), Message::Keepalive]
    ));
    assert_eq!(h.session.state(), State::OpenConfirm);
}

#[test]
fn collision_keeps_the_connection_of_the_higher_identifier() {
    // The peer's identifier is higher than ours: its connection (inbound) wins.
    let mut h = Harness::active();
    h.input(Input::Start);
    h.input(Input::Connected(1));
    h.input(Input::Accepted(2));
    assert_eq!(h.session.connections(), 2);
    h.input(Input::Message(
        1,
        &peer_open(Ipv4Addr::new(192, 0, 2, 9), 90),
    ));
    let out = h.input(Input::Message(
        2,
        &peer_open(Ipv4Addr::new(192, 0, 2, 9), 90),
    ));
    assert_eq!(notifications(&out), vec![(6, 7)]);
    assert!(out.contains(&Output::Close(1)));
    assert_eq!(h.session.connections(), 1);
    h.input(Input::Message(2, &keepalive()));
    assert_eq!(h.session.state(), State::Established);

    // Ours is higher: our outbound connection wins.
    let mut h = Harness::active();
    h.input(Input::Start);
    h.input(Input::Connected(1));
    h.input(Input::Accepted(2));
    h.input(Input::Message(
        2,
        &peer_open(Ipv4Addr::new(192, 0, 2, 0), 90),
    ));
    let out = h.input(Input::Message(
        1,
        &peer_open(Ipv4Addr::new(192, 0, 2, 0), 90),
    ));
    assert!(out.contains(&Output::Close(2)));
    h.input(Input::Message(1, &keepalive()));
    assert_eq!(h.session.state(), State::Established);
}

/// RFC 4271 §6.8: collision detection comes before the KEEPALIVE, so the
/// losing connection never confirms the OPEN it received.
#[test]
fn a_connection_that_loses_the_collision_sends_no_keepalive() {
    let mut h = Harness::active();
    h.input(Input::Start);
    h.input(Input::Connected(1));
    h.input(Input::Accepted(2));
    // Ours (192.0.2.1) is higher: our outbound connection 1 must win.
    h.input(Input::Message(
        1,
        &peer_open(Ipv4Addr::new(192, 0, 2, 0), 90),
    ));
    let out = h.input(Input::Message(
        2,
        &peer_open(Ipv4Addr::new(192, 0, 2, 0), 90),
    ));
    let on_loser = sent(&out, 2);
    assert!(!on_loser.contains(&Message::Keepalive), "{on_loser:?}");
    assert!(
        matches!(on_loser[..], [Message::Notification(ref n)] if (n.code, n.subcode) == (6, 7))
    );
    assert!(out.contains(&Output::Close(2)));
    h.input(Input::Message(1, &keepalive()));
    assert_eq!(h.session.state(), State::Established);
}

#[test]
fn established_session_rejects_another_connection() {
    let mut h = Harness::active();
    h.establish(1);
    let out = h.input(Input::Accepted(2));
    assert_eq!(notifications(&out), vec![(6, 5)]);
    assert!(out.contains(&Output::Close(2)));
    assert_eq!(h.session.state(), State::Established);
}

#[test]
fn open_errors_get_their_notification() {
    let mut h = Harness::active();
    h.input(Input::Start);
    h.input(Input::Connected(1));
    let wrong_as = Message::Open(Open::new(65099, 90, Ipv4Addr::new(192, 0, 2, 2), vec![]))
        .to_bytes(&EncodeContext::default());
    let out = h.input(Input::Message(1, &wrong_as));
    assert_eq!(notifications(&out), vec![(2, 2)]);
    assert_eq!(h.session.state(), State::Idle);

    // Hold time 1 is rejected by the codec with 2/6.
    let mut h = Harness::active();
    h.input(Input::Start);
    h.input(Input::Connected(1));
    let mut bad = peer_open(Ipv4Addr::new(192, 0, 2, 2), 90);
    bad[22..24].copy_from_slice(&[0, 1]);
    let out = h.input(Input::Message(1, &bad));
    assert_eq!(notifications(&out), vec![(2, 6)]);
}

#[test]
fn unexpected_messages_are_fsm_errors() {
    // An UPDATE in OpenSent: 5/1 (RFC 6608).
    let mut h = Harness::active();
    h.input(Input::Start);
    h.input(Input::Connected(1));
    assert_eq!(
        notifications(&h.input(Input::Message(1, &update()))),
        vec![(5, 1)]
    );
    // An OPEN in Established: 5/3.
    let mut h = Harness::active();
    h.establish(1);
    let out = h.input(Input::Message(
        1,
        &peer_open(Ipv4Addr::new(192, 0, 2, 2), 90),
    ));
    assert_eq!(notifications(&out), vec![(5, 3)]);
    assert!(out.iter().any(|o| matches!(o, Output::Down(_))));
}

#[test]
fn update_errors_reset_or_survive_as_rfc7606_says() {
    let mut local = settings();
    local.extended_message = false;
    let mut h = Harness::new(SessionConfig::new(local));
    h.establish(1);
    // A bad attribute length on ORIGIN: treat-as-withdraw, the session stays.
    let mut bad_origin = update();
    let at = bad_origin
        .windows(3)
        .position(|w| w == [0x40, 0x01, 0x01])
        .unwrap();
    bad_origin[at + 3] = 9;
    let out = h.input(Input::Message(1, &bad_origin));
    assert!(matches!(&out[..], [Output::Update(u)] if u.treat_as_withdraw()));
    assert_eq!(h.session.state(), State::Established);
    // A message over 4096 bytes without the extended message capability: 1/2.
    let mut big = update();
    big.resize(5000, 0);
    big[16..18].copy_from_slice(&5000u16.to_be_bytes());
    let out = h.input(Input::Message(1, &big));
    assert_eq!(notifications(&out), vec![(1, 2)]);
    assert_eq!(h.session.state(), State::Idle);
}

#[test]
fn stop_sends_cease_with_the_shutdown_message() {
    let mut h = Harness::active();
    h.establish(1);
    let out = h.input(Input::Stop(Some("maintenance window")));
    let cease = out.iter().find_map(|o| match o {
        Output::NotificationSent(n) => Some(n.clone()),
        _ => None,
    });
    assert_eq!(
        cease.as_ref().and_then(Notification::shutdown_message),
        Some("maintenance window")
    );
    assert!(out.contains(&Output::Down(DownReason::Stopped)));
    assert_eq!(h.session.state(), State::Idle);
    // Stopped sessions stay down.
    assert!(h.advance(Duration::from_secs(3600)).is_empty());
}

#[test]
fn cease_sends_the_given_notification_and_stays_down() {
    let mut h = Harness::active();
    h.establish(1);
    // RFC 4486 §4: maximum number of prefixes reached, with AFI/SAFI and the limit.
    let n = Notification::new(6, 1, vec![0, 1, 1, 0, 0, 0, 100]);
    let out = h.input(Input::Cease(&n));
    assert!(out.contains(&Output::NotificationSent(n)));
    assert_eq!(notifications(&out), vec![(6, 1)]);
    assert!(out.contains(&Output::Down(DownReason::Stopped)));
    assert_eq!(h.session.state(), State::Idle);
    assert!(h.advance(Duration::from_secs(3600)).is_empty());
    // Start brings it back.
    h.input(Input::Start);
    assert_ne!(h.session.state(), State::Idle);
}

#[test]
fn notification_from_the_peer_ends_the_session() {
    let mut h = Harness::active();
    h.establish(1);
    let cease =
        Message::Notification(Notification::shutdown(2, "bye")).to_bytes(&EncodeContext::default());
    let out = h.input(Input::Message(1, &cease));
    assert!(out.iter().any(|o| matches!(o, Output::Down(DownReason::NotificationReceived(n)) if n.shutdown_message() == Some("bye"))));
    assert!(notifications(&out).is_empty());
}

/// RFC 4271 §6.4: a NOTIFICATION too short to carry its codes ends the
/// session, and is not answered with one.
#[test]
fn a_short_notification_is_not_answered() {
    let mut h = Harness::active();
    h.establish(1);
    let mut short = keepalive();
    short[18] = 3; // a NOTIFICATION of 19 bytes: no code, no subcode
    let out = h.input(Input::Message(1, &short));
    assert!(notifications(&out).is_empty(), "{out:?}");
    assert!(out.contains(&Output::Close(1)));
    assert!(out
        .iter()
        .any(|o| matches!(o, Output::Down(DownReason::ConnectionClosed))));
}

/// RFC 6286 §2.3: with equal BGP identifiers, the AS numbers decide the
/// collision, so exactly one connection survives.
#[test]
fn collision_with_equal_identifiers_is_decided_by_as() {
    let mut h = Harness::active();
    h.input(Input::Start);
    h.input(Input::Connected(1));
    h.input(Input::Accepted(2));
    // Same identifier as ours; the peer's AS (65001) is higher than ours
    // (65000): its connection, our inbound one, wins.
    h.input(Input::Message(1, &peer_open(LOCAL_ID, 90)));
    let out = h.input(Input::Message(2, &peer_open(LOCAL_ID, 90)));
    assert!(out.contains(&Output::Close(1)), "{out:?}");
    assert_eq!(h.session.connections(), 1);
    h.input(Input::Message(2, &keepalive()));
    assert_eq!(h.session.state(), State::Established);
}

#[test]
fn send_hold_timer_closes_a_peer_that_does_not_read() {
    let mut config = SessionConfig::new(settings());
    config.send_hold = Some(Duration::from_secs(20));
    let mut h = Harness::new(config);
    h.establish(1);
    h.input(Input::Flushed(1));
    // Keepalives go out every 30 s; the peer keeps sending its own but never
    // drains ours.
    let mut closed = false;
    for _ in 0..10 {
        let out = h.advance(Duration::from_secs(10));
        h.input(Input::Message(1, &keepalive()));
        if notifications(&out).contains(&(8, 0)) {
            closed = true;
            break;
        }
    }
    assert!(closed, "send hold timer never fired");
}

#[test]
fn route_refresh_only_for_negotiated_families() {
    let mut h = Harness::active();
    h.establish(1);
    let rr = |f| {
        Message::RouteRefresh(ribbit_wire::RouteRefresh::request(f))
            .to_bytes(&EncodeContext::default())
    };
    let out = h.input(Input::Message(1, &rr(Family::IPV4_UNICAST)));
    assert!(matches!(&out[..], [Output::RouteRefresh(_)]));
    assert!(h
        .input(Input::Message(1, &rr(Family::IPV6_FLOWSPEC)))
        .is_empty());
}

/// Inputs a property test may throw at the machine.
#[derive(Debug, Clone)]
enum Step {
    Start,
    Stop,
    Connected(ConnId),
    ConnectFailed,
    Accepted(ConnId),
    Closed(ConnId),
    Open(ConnId, u8),
    Keepalive(ConnId),
    Update(ConnId),
    Garbage(ConnId, Vec<u8>),
    Flushed(ConnId),
    Wait(u16),
}

fn step() -> impl Strategy<Value = Step> {
    let id = 1u64..4;
    prop_oneof![
        Just(Step::Start),
        Just(Step::Stop),
        id.clone().prop_map(Step::Connected),
        Just(Step::ConnectFailed),
        id.clone().prop_map(Step::Accepted),
        id.clone().prop_map(Step::Closed),
        (id.clone(), any::<u8>()).prop_map(|(i, r)| Step::Open(i, r)),
        id.clone().prop_map(Step::Keepalive),
        id.clone().prop_map(Step::Update),
        (id.clone(), proptest::collection::vec(any::<u8>(), 0..40))
            .prop_map(|(i, b)| Step::Garbage(i, b)),
        id.prop_map(Step::Flushed),
        (0u16..400).prop_map(Step::Wait),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    /// Whatever happens: never Established without a valid OPEN and a
    /// KEEPALIVE on that connection, at most two connections, a timer armed
    /// in every state that needs one, and output only for live connections.
    #[test]
    fn invariants_hold_for_any_event_sequence(steps in proptest::collection::vec(step(), 1..80)) {
        let mut h = Harness::active();
        let mut open_ok: std::collections::HashSet<ConnId> = Default::default();
        let mut confirmed: std::collections::HashSet<ConnId> = Default::default();
        for s in steps {
            match s {
                Step::Start => { h.input(Input::Start); }
                Step::Stop => { h.input(Input::Stop(None)); }
                Step::Connected(i) => { h.input(Input::Connected(i)); }
                Step::ConnectFailed => { h.input(Input::ConnectFailed); }
                Step::Accepted(i) => { h.input(Input::Accepted(i)); }
                Step::Closed(i) => { h.input(Input::Closed(i)); }
                Step::Open(i, r) => {
                    let id = Ipv4Addr::new(192, 0, 2, r.max(2));
                    h.input(Input::Message(i, &peer_open(id, 90)));
                    open_ok.insert(i);
                }
                Step::Keepalive(i) => {
                    h.input(Input::Message(i, &keepalive()));
                    if open_ok.contains(&i) { confirmed.insert(i); }
                }
                Step::Update(i) => { h.input(Input::Message(i, &update())); }
                Step::Garbage(i, b) => { h.input(Input::Message(i, &b)); }
                Step::Flushed(i) => { h.input(Input::Flushed(i)); }
                Step::Wait(s) => { h.advance(Duration::from_secs(u64::from(s))); }
            }
            let state = h.session.state();
            prop_assert!(h.session.connections() <= 2);
            if state == State::Established {
                prop_assert!(h.session.negotiated().is_some());
                prop_assert!(!confirmed.is_empty(), "Established without OPEN + KEEPALIVE");
            }
            if matches!(state, State::Connect | State::OpenSent | State::OpenConfirm | State::Established) {
                prop_assert!(h.session.poll_timeout().is_some(), "no timer armed in {state}");
            }
            if state == State::Active {
                // Not passive: a retry is always scheduled.
                prop_assert!(h.session.poll_timeout().is_some(), "no retry armed in Active");
            }
        }
    }
}

#[test]
fn updates_are_decoded_into_recycled_ones_nobody_else_holds() {
    let mut h = Harness::active();
    h.establish(1);
    let first = match &h.input(Input::Message(1, &update()))[..] {
        [Output::Update(u)] => u.clone(),
        other => panic!("{other:?}"),
    };
    // A second UPDATE, with other attributes and two prefixes.
    let mut other = Update::default();
    other.attributes.origin = Some(ribbit_wire::Origin::Incomplete);
    other.attributes.next_hop = Some(Ipv4Addr::new(198, 51, 100, 9));
    other.attributes.med = Some(7);
    other.announced = ["10.9.0.0/16", "10.8.1.0/24"]
        .iter()
        .map(|p| ribbit_wire::nlri::PrefixNlri {
            path_id: None,
            prefix: p.parse().unwrap(),
        })
        .collect();
    let bytes = Message::Update(other.clone()).to_bytes(&EncodeContext::default());

    // Still shared (the copy the test keeps): not used, decoded afresh.
    let kept = first.clone();
    h.session.recycle(first);
    let fresh = match &h.input(Input::Message(1, &bytes))[..] {
        [Output::Update(u)] => u.clone(),
        other => panic!("{other:?}"),
    };
    assert!(!std::sync::Arc::ptr_eq(&fresh, &kept));
    // (Without an AS_PATH: an RFC 7606 issue, treat-as-withdraw.)
    assert_eq!(fresh.announced, other.announced);
    assert!(fresh.treat_as_withdraw());

    // Given back unshared: the next UPDATE is decoded into it, with nothing
    // left over from what it held.
    let spare_at = std::sync::Arc::as_ptr(&kept);
    // (The harness keeps a copy of every output.)
    h.out.clear();
    h.session.recycle(kept);
    let reused = match &h.input(Input::Message(1, &bytes))[..] {
        [Output::Update(u)] => u.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(std::sync::Arc::as_ptr(&reused), spare_at);
    assert_eq!(*reused, *fresh);
    assert!(reused.attributes.as_path.is_none());

    // Kept up to a bound, and let go of when the session goes down.
    for _ in 0..100 {
        h.session.recycle(std::sync::Arc::new(Update::default()));
    }
    assert_eq!(h.session.spare_room(), 0);
    let out = h.input(Input::Closed(1));
    assert!(out.iter().any(|o| matches!(o, Output::Down(_))), "{out:?}");
    assert_eq!(h.session.spare_room(), ribbit_fsm::session::SPARE_UPDATES);
}
