//! A scripted peer misbehaving against Ribbit.
//!
//! Each test starts a lab of its own (addresses 127.0.2.16n+k, port
//! 11950+n): Ribbit (R) with a well-behaved neighbor G, itself a Ribbit
//! speaker, and one or more neighbors played by the test through a raw TCP
//! socket and bytes built with `ribbit_wire` (F). F misbehaves; the test
//! reads back the NOTIFICATION that RFC 4271 §6 prescribes and checks that R
//! closes the connection. The session with G has a 3 s hold time and must
//! stay Established through every fault: a Ribbit that stalled for more
//! than a couple of seconds would lose it.
//!
//! Every wait has a deadline. The tests run on tokio's current-thread
//! runtime, so R's tasks, G's tasks and the scripted peer share one thread.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use ribbit::config::Config;
use ribbit::peer::{PeerEvent, ReceivedRoute};
use ribbit::speaker::Events as Receiver;
use ribbit::Speaker;
use ribbit_fsm::State;
use ribbit_wire::capability::Capability;
use ribbit_wire::message::MAX_MESSAGE_LEN;
use ribbit_wire::nlri::PrefixNlri;
use ribbit_wire::{
    AsPath, DecodeContext, EncodeContext, Family, Message, Notification, Open, Origin,
    RouteRefresh, Update, MARKER,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::time::{sleep, timeout_at, Instant};

const R_ASN: u32 = 65000;
const F_ASN: u32 = 65010;
const G_ASN: u32 = 65020;

/// Address `k` of lab `n`.
fn addr(n: u8, k: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 2, 16 * n + k)
}

fn port(n: u8) -> u16 {
    11950 + u16::from(n)
}

async fn start(name: &str, text: &str) -> Speaker {
    let config = Config::parse(text, name).unwrap_or_else(|e| panic!("{name}: {e}"));
    match Speaker::start(&config).await {
        Ok(s) => s,
        Err(e) => panic!("{name}: the speaker did not start: {e}"),
    }
}

// ---------------------------------------------------------------------------
// The lab: R, G, and the addresses of the scripted peers

/// A scripted neighbor of R: its address number and extra TOML lines.
struct Scripted<'a> {
    k: u8,
    extra: &'a str,
}

struct Lab {
    n: u8,
    r: Speaker,
    g: Speaker,
    rx: Receiver,
    seen: Vec<PeerEvent>,
    /// Where in `seen` the session with G was up.
    up_at: usize,
}

impl Lab {
    async fn start(n: u8, scripted: &[Scripted<'_>]) -> Lab {
        let (r_ip, g_ip, p) = (addr(n, 1), addr(n, 2), port(n));
        let mut r_text = format!(
            r#"
[global]
asn = {R_ASN}
router-id = "{r_ip}"
listen = ["{r_ip}:{p}"]

# G, the well-behaved neighbor.
[[neighbor]]
address = "{g_ip}"
asn = {G_ASN}
passive = true
hold-time = 3

[[neighbor.route]]
prefix = "10.99.0.0/24"
"#
        );
        for s in scripted {
            r_text.push_str(&format!(
                r#"
[[neighbor]]
address = "{}"
asn = {F_ASN}
passive = true
connect-retry = 1
families = ["ipv4-unicast", "ipv6-unicast"]
{}
"#,
                addr(n, s.k),
                s.extra
            ));
        }
        let r = start("r.toml", &r_text).await;
        let rx = r.subscribe();
        let g = start(
            "g.toml",
            &format!(
                r#"
[global]
asn = {G_ASN}
router-id = "{g_ip}"
listen = []

[[neighbor]]
address = "{r_ip}"
port = {p}
local-address = "{g_ip}"
asn = {R_ASN}
connect-retry = 1
hold-time = 3
"#
            ),
        )
        .await;
        let mut lab = Lab {
            n,
            r,
            g,
            rx,
            seen: Vec::new(),
            up_at: 0,
        };
        let g_ip = IpAddr::V4(g_ip);
        lab.wait_event(
            Duration::from_secs(10),
            "G Established",
            |e| matches!(e, PeerEvent::State { peer, to: State::Established, .. } if *peer == g_ip),
        )
        .await;
        lab.up_at = lab.seen.len();
        lab
    }

    fn r_addr(&self) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(addr(self.n, 1)), port(self.n))
    }

    fn poll(&mut self) {
        loop {
            match self.rx.try_recv() {
                Ok(e) => self.seen.push(e),
                Err(TryRecvError::Lagged(k)) => panic!("R: {k} events lost"),
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

    /// Wait for an event of R's, looking at those not seen yet too.
    async fn wait_event(
        &mut self,
        within: Duration,
        what: &str,
        matches: impl Fn(&PeerEvent) -> bool,
    ) -> usize {
        let deadline = Instant::now() + within;
        let mut i = 0;
        loop {
            while let Some(e) = self.seen.get(i) {
                if matches(e) {
                    return i;
                }
                i += 1;
            }
            match timeout_at(deadline, self.rx.recv()).await {
                Ok(Ok(e)) => self.seen.push(e),
                Ok(Err(RecvError::Lagged(k))) => panic!("R: {k} events lost"),
                Ok(Err(RecvError::Closed)) => panic!("R is gone"),
                Err(_) => panic!("R: no {what} within {within:?}; events:\n{}", self.dump()),
            }
        }
    }

    /// The session with G never left Established since the lab started,
    /// and both ends still say Established.
    async fn assert_good_session_up(&mut self) {
        self.poll();
        let g_ip = IpAddr::V4(addr(self.n, 2));
        let dropped = self.seen[self.up_at..].iter().any(|e| {
            matches!(e, PeerEvent::State { peer, from: State::Established, .. } if *peer == g_ip)
        });
        assert!(!dropped, "the session with G went down:\n{}", self.dump());
        assert_eq!(self.r.state(g_ip).await, Some(State::Established));
        let r_ip = IpAddr::V4(addr(self.n, 1));
        assert_eq!(self.g.state(r_ip).await, Some(State::Established));
    }

    /// R sent this NOTIFICATION to scripted peer `k` (its own account).
    fn assert_reported(&mut self, k: u8, code: u8, subcode: u8) {
        self.poll();
        let f_ip = IpAddr::V4(addr(self.n, k));
        let found = self.seen.iter().any(|e| {
            matches!(e, PeerEvent::Notification { peer, received: false, notification }
                if *peer == f_ip && (notification.code, notification.subcode) == (code, subcode))
        });
        assert!(
            found,
            "R did not report sending {code}/{subcode} to {f_ip}:\n{}",
            self.dump()
        );
    }

    async fn stop(mut self) {
        self.assert_good_session_up().await;
        self.g.shutdown(None).await;
        self.r.shutdown(None).await;
    }
}

// ---------------------------------------------------------------------------
// The scripted peer

/// Why no message came.
#[derive(Debug)]
#[allow(dead_code)] // the fields are read through Debug, in failure messages
enum End {
    /// EOF.
    Closed,
    /// A read error (a reset also means closed).
    Error(io::Error),
    /// Nothing within the time given.
    Timeout,
    /// Bytes that are not a whole message before EOF.
    Partial(Vec<u8>),
}

struct Peer {
    name: String,
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Peer {
    /// Connect from address `k` of the lab to R.
    async fn connect(lab: &Lab, k: u8) -> Peer {
        let s = TcpSocket::new_v4().expect("socket");
        Peer::connect_socket(lab, k, s).await
    }

    async fn connect_socket(lab: &Lab, k: u8, s: TcpSocket) -> Peer {
        let from = addr(lab.n, k);
        s.bind(SocketAddr::new(IpAddr::V4(from), 0)).expect("bind");
        let stream = tokio::time::timeout(Duration::from_secs(3), s.connect(lab.r_addr()))
            .await
            .expect("connect timed out")
            .expect("connect");
        Peer {
            name: from.to_string(),
            stream,
            buf: Vec::new(),
        }
    }

    async fn send(&mut self, bytes: &[u8]) {
        self.stream
            .write_all(bytes)
            .await
            .unwrap_or_else(|e| panic!("{}: write failed: {e}", self.name));
    }

    /// The next whole message (header included).
    async fn next(&mut self, within: Duration) -> Result<Vec<u8>, End> {
        let deadline = Instant::now() + within;
        loop {
            if self.buf.len() >= 19 {
                let len = usize::from(u16::from_be_bytes([self.buf[16], self.buf[17]]));
                assert!(
                    self.buf[..16] == MARKER && len >= 19,
                    "{}: R sent a bad header {:02x?}",
                    self.name,
                    &self.buf[..19]
                );
                if self.buf.len() >= len {
                    return Ok(self.buf.drain(..len).collect());
                }
            }
            let mut chunk = [0u8; 16384];
            match timeout_at(deadline, self.stream.read(&mut chunk)).await {
                Err(_) => return Err(End::Timeout),
                Ok(Ok(0)) if self.buf.is_empty() => return Err(End::Closed),
                Ok(Ok(0)) => return Err(End::Partial(std::mem::take(&mut self.buf))),
                Ok(Ok(n)) => self.buf.extend_from_slice(&chunk[..n]),
                Ok(Err(e)) => return Err(End::Error(e)),
            }
        }
    }

    async fn next_message(&mut self, within: Duration) -> Message {
        let bytes = match self.next(within).await {
            Ok(b) => b,
            Err(e) => panic!("{}: no message from R: {e:?}", self.name),
        };
        let ctx = DecodeContext {
            extended_message: true,
            ..DecodeContext::default()
        };
        Message::decode(&bytes, &ctx)
            .unwrap_or_else(|e| panic!("{}: R sent {bytes:02x?}: {e}", self.name))
    }

    /// R's OPEN, sent as soon as it accepted the connection.
    async fn expect_open(&mut self) -> Open {
        match self.next_message(Duration::from_secs(3)).await {
            Message::Open(o) => o,
            other => panic!("{}: expected R's OPEN, got {other:?}", self.name),
        }
    }

    /// Complete the OPEN exchange; R is Established when this returns.
    async fn establish(&mut self, open: &[u8]) {
        let theirs = self.expect_open().await;
        assert_eq!(theirs.asn(), R_ASN);
        self.send(open).await;
        self.send(&keepalive()).await;
        loop {
            match self.next_message(Duration::from_secs(3)).await {
                Message::Keepalive => return,
                Message::Notification(n) => panic!("{}: R refused the OPEN: {n}", self.name),
                _ => {}
            }
        }
    }

    /// The next NOTIFICATION, skipping KEEPALIVEs and UPDATEs.
    async fn expect_notification(&mut self, within: Duration) -> Notification {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next(left).await {
                Ok(bytes) => {
                    if bytes[18] == 3 {
                        return Notification::decode(&bytes[19..]).expect("NOTIFICATION");
                    }
                    assert!(
                        matches!(bytes[18], 2 | 4),
                        "{}: expected a NOTIFICATION, got {bytes:02x?}",
                        self.name
                    );
                }
                Err(e) => panic!("{}: no NOTIFICATION from R: {e:?}", self.name),
            }
        }
    }

    /// R closes the connection, sending nothing more.
    async fn expect_closed(&mut self) {
        match self.next(Duration::from_secs(3)).await {
            Err(End::Closed | End::Error(_)) => {}
            Ok(m) => panic!("{}: R sent {m:02x?} after its NOTIFICATION", self.name),
            Err(e) => panic!("{}: the connection was not closed: {e:?}", self.name),
        }
    }

    /// Whatever R sent within `d`, decoded; panics if the connection closed.
    async fn messages_for(&mut self, d: Duration) -> Vec<Message> {
        let deadline = Instant::now() + d;
        let mut out = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next(left).await {
                Ok(b) => out.push(
                    Message::decode(&b, &DecodeContext::default())
                        .unwrap_or_else(|e| panic!("{}: {b:02x?}: {e}", self.name)),
                ),
                Err(End::Timeout) => return out,
                Err(e) => panic!("{}: the connection ended: {e:?}", self.name),
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Messages

fn keepalive() -> Vec<u8> {
    Message::Keepalive.to_bytes(&EncodeContext::default())
}

/// A well-formed OPEN of F: IPv4 and IPv6 unicast, route refresh, 4-octet AS.
fn f_open(id: Ipv4Addr, hold: u16) -> Vec<u8> {
    f_open_with(id, hold, vec![])
}

fn f_open_with(id: Ipv4Addr, hold: u16, extra: Vec<Capability>) -> Vec<u8> {
    let mut caps = vec![
        Capability::Multiprotocol(Family::IPV4_UNICAST),
        Capability::Multiprotocol(Family::IPV6_UNICAST),
        Capability::RouteRefresh,
    ];
    caps.extend(extra);
    Message::Open(Open::new(F_ASN, hold, id, caps)).to_bytes(&EncodeContext::default())
}

/// A message of type `kind` around `body`, with the right length.
fn frame(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut m = MARKER.to_vec();
    m.extend_from_slice(&u16::try_from(19 + body.len()).unwrap().to_be_bytes());
    m.push(kind);
    m.extend_from_slice(body);
    m
}

/// An OPEN body from its fields; `params` are the optional parameters as
/// written, `plen` the optional parameters length claimed for them.
fn open_body(version: u8, hold: u16, id: Ipv4Addr, plen: u8, params: &[u8]) -> Vec<u8> {
    let mut b = vec![version];
    b.extend_from_slice(&(F_ASN as u16).to_be_bytes());
    b.extend_from_slice(&hold.to_be_bytes());
    b.extend_from_slice(&id.octets());
    b.push(plen);
    b.extend_from_slice(params);
    b
}

/// An UPDATE body from raw path attributes and IPv4 NLRI.
fn update_body(attributes: &[u8], nlri: &[u8]) -> Vec<u8> {
    let mut b = vec![0, 0];
    b.extend_from_slice(&u16::try_from(attributes.len()).unwrap().to_be_bytes());
    b.extend_from_slice(attributes);
    b.extend_from_slice(nlri);
    b
}

/// ORIGIN IGP, AS_PATH [F_ASN], NEXT_HOP `nh`: a well-formed attribute set.
fn base_attributes(origin: &[u8], nh: Ipv4Addr) -> Vec<u8> {
    let mut a = vec![0x40, 1, u8::try_from(origin.len()).unwrap()];
    a.extend_from_slice(origin);
    a.extend_from_slice(&[0x40, 2, 6, 2, 1]);
    a.extend_from_slice(&F_ASN.to_be_bytes());
    a.extend_from_slice(&[0x40, 3, 4]);
    a.extend_from_slice(&nh.octets());
    a
}

fn prefix(p: &str) -> PrefixNlri {
    PrefixNlri {
        path_id: None,
        prefix: p.parse().expect("prefix"),
    }
}

/// An UPDATE announcing `prefixes` from F, well formed.
fn announce(nh: Ipv4Addr, prefixes: &[&str]) -> Vec<u8> {
    let mut u = Update::default();
    u.attributes.origin = Some(Origin::Igp);
    u.attributes.as_path = Some(AsPath::sequence(vec![F_ASN]));
    u.attributes.next_hop = Some(nh);
    u.announced = prefixes.iter().map(|p| prefix(p)).collect();
    Message::Update(u).to_bytes(&EncodeContext::default())
}

/// IPv4 NLRI field bytes of `p`.
fn nlri(p: &str) -> Vec<u8> {
    let net: ipnet::Ipv4Net = p.parse().expect("prefix");
    let bytes = usize::from(net.prefix_len()).div_ceil(8);
    let mut v = vec![net.prefix_len()];
    v.extend_from_slice(&net.network().octets()[..bytes]);
    v
}

fn nlris(rib: &[ReceivedRoute]) -> Vec<&str> {
    let mut v: Vec<&str> = rib.iter().map(|r| r.nlri.as_str()).collect();
    v.sort_unstable();
    v
}

// ---------------------------------------------------------------------------
// OPEN errors

/// One misbehaviour of a scripted neighbor and the NOTIFICATION it must get.
struct Case {
    /// The scripted neighbor (its address number) that plays it.
    k: u8,
    what: &'static str,
    /// Complete the OPEN exchange before sending `bytes`.
    established: bool,
    bytes: Vec<u8>,
    /// Code and subcode.
    expect: (u8, u8),
    /// The data, where RFC 4271 §6 defines it.
    data: Option<Vec<u8>>,
}

/// Play `case` on a new connection: R answers with the NOTIFICATION,
/// reports it, closes the connection, and the session is not up.
async fn play(lab: &mut Lab, case: Case) {
    let Case {
        k,
        what,
        established,
        bytes,
        expect,
        data,
    } = case;
    let mut f = Peer::connect(lab, k).await;
    if established {
        f.establish(&f_open(addr(lab.n, k), 90)).await;
    } else {
        f.expect_open().await;
    }
    f.send(&bytes).await;
    let n = f.expect_notification(Duration::from_secs(3)).await;
    assert_eq!(
        (n.code, n.subcode),
        expect,
        "{what}: got {n} data {:02x?}",
        n.data
    );
    if let Some(d) = data {
        assert_eq!(n.data, d, "{what}: data of {n}");
    }
    f.expect_closed().await;
    lab.assert_reported(k, expect.0, expect.1);
    let f_ip = IpAddr::V4(addr(lab.n, k));
    assert_ne!(lab.r.state(f_ip).await, Some(State::Established));
    assert_eq!(lab.r.adj_rib_in(f_ip).await, Some(Vec::new()));
}

fn scripted(ks: std::ops::RangeInclusive<u8>) -> Vec<Scripted<'static>> {
    ks.map(|k| Scripted { k, extra: "" }).collect()
}

/// Each malformed OPEN gets its NOTIFICATION (RFC 4271 §6.2) and the
/// connection is closed; the session never comes up.
#[tokio::test]
async fn malformed_open_gets_its_notification() {
    const N: u8 = 1;
    let mut lab = Lab::start(N, &scripted(3..=9)).await;
    // One capabilities parameter: multiprotocol IPv4 unicast.
    let caps = [2u8, 6, 1, 4, 0, 1, 0, 1];
    let open = |version, hold, id, plen, params: &[u8]| {
        frame(1, &open_body(version, hold, id, plen, params))
    };
    let cases = [
        Case {
            k: 3,
            what: "version 3",
            established: false,
            bytes: open(3, 90, addr(N, 3), 8, &caps),
            expect: (2, 1),
            // The largest version we support, in two octets.
            data: Some(vec![0, 4]),
        },
        Case {
            k: 4,
            what: "BGP identifier 0.0.0.0",
            established: false,
            bytes: open(4, 90, Ipv4Addr::UNSPECIFIED, 8, &caps),
            expect: (2, 3),
            data: None,
        },
        Case {
            k: 5,
            what: "an optional parameter of type 1 (authentication, deprecated)",
            established: false,
            bytes: open(4, 90, addr(N, 5), 4, &[1, 2, 0xab, 0xcd]),
            expect: (2, 4),
            data: None,
        },
        Case {
            k: 6,
            what: "optional parameters length 20 with 8 bytes of parameters",
            established: false,
            bytes: open(4, 90, addr(N, 6), 20, &caps),
            expect: (2, 0),
            data: None,
        },
        Case {
            k: 7,
            what: "a capability longer than its parameter",
            established: false,
            bytes: open(4, 90, addr(N, 7), 8, &[2, 6, 1, 9, 0, 1, 0, 1]),
            expect: (2, 0),
            data: None,
        },
        Case {
            k: 8,
            what: "hold time 2",
            established: false,
            bytes: open(4, 2, addr(N, 8), 8, &caps),
            expect: (2, 6),
            data: None,
        },
        Case {
            k: 9,
            what: "an OPEN too short for its fixed fields",
            established: false,
            bytes: frame(1, &[4, 0xfe]),
            expect: (1, 2),
            // The erroneous length field (RFC 4271 §6.1): 19 + 2 bytes.
            data: Some(vec![0, 21]),
        },
    ];
    for case in cases {
        play(&mut lab, case).await;
    }
    lab.stop().await;
}

/// An OPEN with hold time 1: OPEN Message Error / Unacceptable Hold Time.
#[tokio::test]
async fn open_with_hold_time_1_is_refused() {
    const N: u8 = 2;
    let mut lab = Lab::start(N, &[Scripted { k: 3, extra: "" }]).await;
    let mut f = Peer::connect(&lab, 3).await;
    f.expect_open().await;
    f.send(&f_open(addr(N, 3), 1)).await;
    let n = f.expect_notification(Duration::from_secs(3)).await;
    assert_eq!((n.code, n.subcode), (2, 6), "got {n}");
    f.expect_closed().await;
    lab.assert_reported(3, 2, 6);
    lab.stop().await;
}

// ---------------------------------------------------------------------------
// UPDATE errors

/// MP_REACH_NLRI errors leave the routes unknowable: RFC 7606 §7.11 says
/// session reset. Its length running past the attribute field (nothing else
/// announced) is a Malformed Attribute List (3/1); a broken length inside it
/// is an Optional Attribute Error (3/9).
#[tokio::test]
async fn update_with_broken_mp_reach_length_resets_the_session() {
    const N: u8 = 3;
    let mut lab = Lab::start(N, &scripted(3..=5)).await;
    let mut attrs = base_attributes(&[0], addr(N, 3));
    // MP_REACH_NLRI, IPv6 unicast, claiming 200 bytes of which 30 follow.
    let mut mp_overrun = attrs.clone();
    mp_overrun.extend_from_slice(&[0x80, 14, 200, 0, 2, 1, 16]);
    mp_overrun.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    mp_overrun.extend_from_slice(&[0, 48, 0x20, 0x01, 0x0d, 0xb8, 0, 3]);
    // Next hop length 5 for IPv6 unicast (16 or 32 allowed).
    attrs.extend_from_slice(&[0x80, 14, 17, 0, 2, 1, 5, 1, 2, 3, 4, 5, 0]);
    attrs.extend_from_slice(&[48, 0x20, 0x01, 0x0d, 0xb8, 0, 3]);
    let bad_next_hop_len = attrs;
    // MP_REACH_NLRI of 2 bytes: not even AFI and SAFI.
    let mut too_short = base_attributes(&[0], addr(N, 5));
    too_short.extend_from_slice(&[0x80, 14, 2, 0, 2]);

    let update = |attributes: &[u8]| frame(2, &update_body(attributes, &[]));
    let cases = [
        Case {
            k: 3,
            what: "MP_REACH_NLRI length past the attributes",
            established: true,
            bytes: update(&mp_overrun),
            expect: (3, 1),
            data: None,
        },
        Case {
            k: 4,
            what: "MP_REACH_NLRI with next hop length 5",
            established: true,
            bytes: update(&bad_next_hop_len),
            expect: (3, 9),
            // RFC 4271 §6.3 wants the attribute as data: see
            // optional_attribute_error_carries_the_attribute.
            data: None,
        },
        Case {
            k: 5,
            what: "MP_REACH_NLRI of 2 bytes",
            established: true,
            bytes: update(&too_short),
            expect: (3, 9),
            data: None,
        },
    ];
    for case in cases {
        play(&mut lab, case).await;
    }
    lab.stop().await;
}

/// RFC 4271 §6.3: the Data of an Optional Attribute Error is the erroneous
/// attribute (type, length and value).
#[tokio::test]
async fn optional_attribute_error_carries_the_attribute() {
    const N: u8 = 9;
    let mut lab = Lab::start(N, &scripted(3..=3)).await;
    let mp = [
        0x80, 14, 17, 0, 2, 1, 5, 1, 2, 3, 4, 5, 0, 48, 0x20, 0x01, 0x0d, 0xb8, 0, 3,
    ];
    let mut attrs = base_attributes(&[0], addr(N, 3));
    attrs.extend_from_slice(&mp);
    let case = Case {
        k: 3,
        what: "MP_REACH_NLRI with next hop length 5",
        established: true,
        bytes: frame(2, &update_body(&attrs, &[])),
        expect: (3, 9),
        data: Some(mp.to_vec()),
    };
    play(&mut lab, case).await;
    lab.stop().await;
}

/// ORIGIN with length 2 is treat-as-withdraw (RFC 7606 §7.1): the session
/// stays up, a route it re-announces is withdrawn, a new one never appears;
/// the same for IPv6 in MP_REACH_NLRI.
#[tokio::test]
async fn update_with_bad_origin_length_is_treat_as_withdraw() {
    const N: u8 = 4;
    let mut lab = Lab::start(N, &[Scripted { k: 3, extra: "" }]).await;
    let f_ip = IpAddr::V4(addr(N, 3));
    let nh = addr(N, 3);
    let mut f = Peer::connect(&lab, 3).await;
    f.establish(&f_open(nh, 90)).await;

    // IPv6 route through MP_REACH_NLRI, with a given ORIGIN value field.
    let v6 = |origin: &[u8]| {
        let mut a = base_attributes(origin, nh);
        a.truncate(a.len() - 7); // no NEXT_HOP for MP routes
        a.extend_from_slice(&[0x80, 14, 28, 0, 2, 1, 16]);
        a.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4]);
        a.extend_from_slice(&[0, 48, 0x20, 0x01, 0x0d, 0xb8, 0, 4]);
        frame(2, &update_body(&a, &[]))
    };
    f.send(&announce(nh, &["10.4.1.0/24", "10.4.2.0/24"])).await;
    f.send(&v6(&[0])).await;
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let rib = lab.r.adj_rib_in(f_ip).await.expect("neighbor");
        if rib.len() == 3 {
            assert_eq!(
                nlris(&rib),
                vec!["10.4.1.0/24", "10.4.2.0/24", "2001:db8:4::/48"]
            );
            break;
        }
        assert!(Instant::now() < deadline, "routes not received: {rib:?}");
        sleep(Duration::from_millis(20)).await;
    }

    // ORIGIN of two bytes: 10.4.1.0/24 again, and 10.4.3.0/24 new.
    let mut bad = nlri("10.4.1.0/24");
    bad.extend(nlri("10.4.3.0/24"));
    f.send(&frame(2, &update_body(&base_attributes(&[0, 0], nh), &bad)))
        .await;
    f.send(&v6(&[0, 0])).await;
    // A good UPDATE after them shows they were all handled.
    f.send(&announce(nh, &["10.4.4.0/24"])).await;
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let rib = lab.r.adj_rib_in(f_ip).await.expect("neighbor");
        if rib.iter().any(|r| r.nlri == "10.4.4.0/24") {
            assert_eq!(nlris(&rib), vec!["10.4.2.0/24", "10.4.4.0/24"]);
            break;
        }
        assert!(Instant::now() < deadline, "10.4.4.0/24 never came: {rib:?}");
        sleep(Duration::from_millis(20)).await;
    }
    // R saw the problem as treat-as-withdraw, sent no NOTIFICATION, and
    // the session is up.
    lab.poll();
    let withdrawn = lab
        .seen
        .iter()
        .filter(|e| matches!(e, PeerEvent::Update { peer, update } if *peer == f_ip && update.treat_as_withdraw()))
        .count();
    assert_eq!(withdrawn, 2, "{}", lab.dump());
    let notified = lab
        .seen
        .iter()
        .any(|e| matches!(e, PeerEvent::Notification { peer, .. } if *peer == f_ip));
    assert!(!notified, "{}", lab.dump());
    for m in f.messages_for(Duration::from_millis(300)).await {
        assert!(!matches!(m, Message::Notification(_)), "R sent {m:?}");
    }
    assert_eq!(lab.r.state(f_ip).await, Some(State::Established));
    lab.stop().await;
}

/// RFC 4271 §5.1.5: LOCAL_PREF received from an external peer is ignored;
/// the route itself is kept.
#[tokio::test]
async fn local_pref_from_an_external_peer_is_ignored() {
    const N: u8 = 11;
    let lab = Lab::start(N, &[Scripted { k: 3, extra: "" }]).await;
    let f_ip = IpAddr::V4(addr(N, 3));
    let nh = addr(N, 3);
    let mut f = Peer::connect(&lab, 3).await;
    f.establish(&f_open(nh, 90)).await;
    let mut a = base_attributes(&[0], nh);
    a.extend_from_slice(&[0x40, 5, 4, 0, 0, 1, 0xf4]); // LOCAL_PREF 500
    f.send(&frame(2, &update_body(&a, &nlri("10.11.1.0/24"))))
        .await;
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let rib = lab.r.adj_rib_in(f_ip).await.expect("neighbor");
        if let Some(route) = rib.first() {
            assert_eq!(route.nlri, "10.11.1.0/24");
            assert_eq!(route.attributes.local_pref, None);
            assert_eq!(route.attributes.next_hop, Some(nh));
            break;
        }
        assert!(Instant::now() < deadline, "route not received");
        sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(lab.r.state(f_ip).await, Some(State::Established));
    lab.stop().await;
}

// ---------------------------------------------------------------------------
// Message header errors

/// An UPDATE of `total` bytes announcing /32s from F.
fn big_update(nh: Ipv4Addr, total: usize) -> Vec<u8> {
    let mut u = Update::default();
    u.attributes.origin = Some(Origin::Igp);
    u.attributes.as_path = Some(AsPath::sequence(vec![F_ASN]));
    u.attributes.next_hop = Some(nh);
    let ctx = EncodeContext {
        extended_message: true,
        ..EncodeContext::default()
    };
    let mut i: u32 = 0;
    loop {
        let bytes = Message::Update(u.clone()).to_bytes(&ctx);
        if bytes.len() >= total {
            return bytes;
        }
        let a = Ipv4Addr::from(0x0a05_0000 + i);
        u.announced.push(prefix(&format!("{a}/32")));
        i += 1;
    }
}

/// With `extended-message = false` Ribbit did not offer RFC 8654, so an
/// UPDATE over 4096 bytes is a Bad Message Length whose data is the length
/// (RFC 4271 §6.1), even though the peer offered it. With the default
/// (offered), the same UPDATE is accepted from a peer that did not offer
/// it: what Ribbit may receive depends on what Ribbit announced.
#[tokio::test]
async fn message_over_4096_bytes_without_extended_message() {
    const N: u8 = 5;
    let mut lab = Lab::start(
        N,
        &[
            Scripted {
                k: 3,
                extra: "extended-message = false",
            },
            Scripted { k: 4, extra: "" },
        ],
    )
    .await;

    let mut f = Peer::connect(&lab, 3).await;
    let theirs = f.expect_open().await;
    assert!(!theirs
        .capabilities
        .iter()
        .any(|c| matches!(c, Capability::ExtendedMessage)));
    f.send(&f_open_with(
        addr(N, 3),
        90,
        vec![Capability::ExtendedMessage],
    ))
    .await;
    f.send(&keepalive()).await;
    let big = big_update(addr(N, 3), 5000);
    assert!(big.len() > MAX_MESSAGE_LEN);
    f.send(&big).await;
    let n = f.expect_notification(Duration::from_secs(3)).await;
    assert_eq!((n.code, n.subcode), (1, 2), "got {n}");
    assert_eq!(
        n.data,
        u16::try_from(big.len()).unwrap().to_be_bytes().to_vec()
    );
    f.expect_closed().await;
    lab.assert_reported(3, 1, 2);
    assert_eq!(
        lab.r.adj_rib_in(IpAddr::V4(addr(N, 3))).await,
        Some(Vec::new())
    );

    // Control: Ribbit offered extended messages (the default).
    let mut f = Peer::connect(&lab, 4).await;
    f.establish(&f_open(addr(N, 4), 90)).await;
    let big = big_update(addr(N, 4), 5000);
    let count = match Message::decode(
        &big,
        &DecodeContext {
            extended_message: true,
            ..DecodeContext::default()
        },
    ) {
        Ok(Message::Update(u)) => u.announced.len(),
        other => panic!("{other:?}"),
    };
    f.send(&big).await;
    let f_ip = IpAddr::V4(addr(N, 4));
    let deadline = Instant::now() + Duration::from_secs(3);
    while lab.r.adj_rib_in(f_ip).await.map(|r| r.len()) != Some(count) {
        assert!(
            Instant::now() < deadline,
            "the {}-byte UPDATE was not taken",
            big.len()
        );
        sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(lab.r.state(f_ip).await, Some(State::Established));
    lab.stop().await;
}

/// A bad marker is Connection Not Synchronized (1/1); an unknown message
/// type is Bad Message Type (1/3) with the type as data (RFC 4271 §6.1).
#[tokio::test]
async fn bad_marker_and_unknown_type() {
    const N: u8 = 6;
    let mut lab = Lab::start(N, &scripted(3..=5)).await;
    let mut bad_marker = keepalive();
    bad_marker[3] = 0;
    let cases = [
        Case {
            k: 3,
            what: "a KEEPALIVE with a bad marker",
            established: true,
            bytes: bad_marker,
            expect: (1, 1),
            data: None,
        },
        Case {
            k: 4,
            what: "message type 7",
            established: true,
            bytes: frame(7, &[0; 4]),
            expect: (1, 3),
            // The erroneous type field.
            data: Some(vec![7]),
        },
        Case {
            k: 5,
            what: "a KEEPALIVE of 20 bytes",
            established: true,
            bytes: frame(4, &[0]),
            expect: (1, 2),
            // The erroneous length field.
            data: Some(vec![0, 20]),
        },
    ];
    for case in cases {
        play(&mut lab, case).await;
    }
    lab.stop().await;
}

// ---------------------------------------------------------------------------
// Timers

/// A peer that completes the OPEN exchange with hold time 3 and then says
/// nothing: Hold Timer Expired (4/0) three seconds after its last message.
#[tokio::test]
async fn hold_timer_expires_on_a_silent_peer() {
    const N: u8 = 7;
    let mut lab = Lab::start(N, &[Scripted { k: 3, extra: "" }]).await;
    let mut f = Peer::connect(&lab, 3).await;
    let theirs = f.expect_open().await;
    assert_eq!(theirs.hold_time, 90);
    f.send(&f_open(addr(N, 3), 3)).await;
    f.send(&keepalive()).await;
    let silent_since = Instant::now();
    let n = f.expect_notification(Duration::from_secs(6)).await;
    let after = silent_since.elapsed();
    assert_eq!((n.code, n.subcode), (4, 0), "got {n}");
    assert!(
        after >= Duration::from_millis(2900) && after <= Duration::from_millis(4500),
        "Hold Timer Expired after {after:?}, expected about 3 s"
    );
    f.expect_closed().await;
    lab.assert_reported(3, 4, 0);
    lab.stop().await;
}

// ---------------------------------------------------------------------------
// A peer that does not read

/// State (1 ESTABLISHED, ...), `tx_queue` and `rx_queue` of the TCP socket
/// from `local` to `remote`, from /proc/net/tcp: bytes the kernel holds for
/// it (sent but not acknowledged, or not sent yet; received but not read).
fn kernel_socket(local: SocketAddr, remote: SocketAddr) -> Option<(u8, u64, u64)> {
    let hex = |a: SocketAddr| match a {
        SocketAddr::V4(v4) => format!(
            "{:08X}:{:04X}",
            u32::from_ne_bytes(v4.ip().octets()),
            v4.port()
        ),
        SocketAddr::V6(_) => unreachable!("IPv4 only"),
    };
    let (l, r) = (hex(local), hex(remote));
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    table.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() > 4 && f[1] == l && f[2] == r {
            let (tx, rx) = f[4].split_once(':')?;
            Some((
                u8::from_str_radix(f[3], 16).ok()?,
                u64::from_str_radix(tx, 16).ok()?,
                u64::from_str_radix(rx, 16).ok()?,
            ))
        } else {
            None
        }
    })
}

/// Routes R announces to the peer that does not read, and the large
/// communities each carries (to make the messages bigger, so that the
/// kernel's buffers hold only a part of them). Each has its own MED, so
/// that each is an UPDATE of its own: routes sharing attributes are
/// packed together.
const SLOW_ROUTES: u32 = 1000;
const SLOW_LARGE_COMMUNITIES: u32 = 20;
/// Route refresh requests F sends while it does not read.
const SLOW_REFRESHES: usize = 50;

/// SLOW_ROUTES `[[neighbor.route]]` tables, each with SLOW_LARGE_COMMUNITIES.
fn slow_routes() -> String {
    let communities: Vec<String> = (0..SLOW_LARGE_COMMUNITIES)
        .map(|i| format!("\"{R_ASN}:{i}:{i}\""))
        .collect();
    let communities = communities.join(", ");
    let mut routes = String::new();
    for i in 0..SLOW_ROUTES {
        let p = Ipv4Addr::from(0x0a08_0000 + (i << 8));
        routes.push_str(&format!(
            "\n[[neighbor.route]]\nprefix = \"{p}/24\"\nmed = {i}\nlarge-communities = [{communities}]\n"
        ));
    }
    routes
}

/// A socket for F with a small receive buffer, and a small MSS so that R's
/// send buffer, which the kernel sizes from the MSS, stays small too.
fn slow_socket() -> TcpSocket {
    let socket =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    socket.set_tcp_mss(536).expect("TCP_MAXSEG");
    socket.set_nonblocking(true).expect("O_NONBLOCK");
    TcpSocket::from_std_stream(std::net::TcpStream::from(socket))
}

/// F completes the OPEN exchange (hold time 0: no keepalives either way)
/// and then does not read, with a small receive buffer, while R has
/// SLOW_ROUTES routes to announce to it; F also asks SLOW_REFRESHES times
/// for a route refresh.
///
/// Asserted:
/// - R stays responsive: `state()` of F and of G answer within 500 ms
///   throughout, and the session with G (hold time 3 s) stays Established;
/// - R was really pushed back: when F starts reading, the kernel holds
///   (R's send queue plus F's receive queue, from /proc/net/tcp) less than
///   what R then delivers, so the rest waited in R's own queues;
/// - nothing is dropped: every route and the End-of-RIB arrive once F reads;
/// - the refresh requests received meanwhile do not pile up: R answers them
///   with at most two more copies of the table, not one copy each (an
///   unbounded backlog a peer could grow at will).
///
/// Not asserted: R's memory use itself (the process is shared with the
/// other tests), and the RFC 9687 send hold timer (8 minutes at least).
#[tokio::test]
async fn peer_that_stops_reading_is_pushed_back() {
    const N: u8 = 8;
    let routes = slow_routes();
    let mut lab = Lab::start(
        N,
        &[Scripted {
            k: 3,
            extra: &routes,
        }],
    )
    .await;
    let f_ip = IpAddr::V4(addr(N, 3));
    let g_ip = IpAddr::V4(addr(N, 2));

    let socket = slow_socket();
    let mut f = Peer::connect_socket(&lab, 3, socket).await;
    let f_local = f.stream.local_addr().expect("local address");
    f.send(&f_open(addr(N, 3), 0)).await;
    f.send(&keepalive()).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while lab.r.state(f_ip).await != Some(State::Established) {
        assert!(Instant::now() < deadline, "F never Established");
        sleep(Duration::from_millis(20)).await;
    }

    // F does not read for 4 s; R must keep answering.
    let refresh = Message::RouteRefresh(RouteRefresh::request(Family::IPV4_UNICAST))
        .to_bytes(&EncodeContext::default());
    let stall_end = Instant::now() + Duration::from_secs(4);
    let mut slowest = Duration::ZERO;
    let mut refreshed = false;
    while Instant::now() < stall_end {
        for peer in [f_ip, g_ip] {
            let asked = Instant::now();
            let state = tokio::time::timeout(Duration::from_secs(2), lab.r.state(peer))
                .await
                .unwrap_or_else(|_| panic!("state({peer}) did not answer within 2 s"));
            slowest = slowest.max(asked.elapsed());
            let want = Some(State::Established);
            assert_eq!(state, want, "{peer} while F does not read");
        }
        if !refreshed
            && stall_end.saturating_duration_since(Instant::now()) < Duration::from_secs(3)
        {
            for _ in 0..SLOW_REFRESHES {
                f.send(&refresh).await;
            }
            refreshed = true;
        }
        sleep(Duration::from_millis(100)).await;
    }
    assert!(
        slowest < Duration::from_millis(500),
        "state() took {slowest:?} while F did not read"
    );
    lab.assert_good_session_up().await;
    let (_, r_tx, _) = kernel_socket(lab.r_addr(), f_local).expect("R's socket in /proc/net/tcp");
    let (_, _, f_rx) = kernel_socket(f_local, lab.r_addr()).expect("F's socket in /proc/net/tcp");

    // Now F reads everything, until R has been quiet for a second.
    let mut copies = std::collections::HashMap::<String, u32>::new();
    let mut end_of_ribs = 0;
    let mut total = 0usize;
    // Bytes of the first announcement of the table, End-of-RIB included.
    let mut first_table = 0usize;
    let read_deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(
            Instant::now() < read_deadline,
            "F could not read it all in 60 s"
        );
        let bytes = match f.next(Duration::from_secs(1)).await {
            Ok(b) => b,
            Err(End::Timeout) => break,
            Err(e) => panic!("the connection to F ended: {e:?}"),
        };
        total += bytes.len();
        match Message::decode(&bytes, &DecodeContext::default()) {
            Ok(Message::Update(u)) => {
                if u.end_of_rib_family() == Some(Family::IPV4_UNICAST) {
                    end_of_ribs += 1;
                    if end_of_ribs == 1 {
                        first_table = total;
                    }
                }
                for p in &u.announced {
                    *copies.entry(p.prefix.to_string()).or_default() += 1;
                }
            }
            Ok(Message::Open(_) | Message::Keepalive) => {}
            other => panic!("R sent {other:?} to the slow peer"),
        }
    }
    eprintln!(
        "slow peer: {total} bytes delivered, {first_table} in the first table; at the end \
         of the stall the kernel held {} (R's send queue {r_tx}, F's receive queue {f_rx}); \
         slowest state() {slowest:?}; {end_of_ribs} End-of-RIB",
        r_tx + f_rx,
    );
    // F had read nothing: the kernel held the first bytes of the stream.
    assert!(
        (first_table as u64) > r_tx + f_rx,
        "the kernel buffered the whole table ({first_table} bytes): R was never pushed \
         back (make SLOW_ROUTES larger)"
    );
    assert_eq!(copies.len(), SLOW_ROUTES as usize, "routes were dropped");
    let most = copies.values().copied().max().unwrap_or(0);
    let least = copies.values().copied().min().unwrap_or(0);
    // The refresh restarts the pass over the table: the routes R had
    // already queued come again, the others (still due when the request
    // came) once, after it.
    assert!(least >= 1);
    assert!(
        most >= 2,
        "the refresh requests were not answered: no route came twice"
    );
    assert!(
        most <= 3,
        "{SLOW_REFRESHES} refresh requests from a peer that does not read made R queue \
         the table {most} times"
    );
    // F offers plain route refresh only (RFC 2918): the answer is the routes
    // alone; End-of-RIB comes once, after the first table (RFC 4724 §2).
    assert_eq!(end_of_ribs, 1, "{end_of_ribs} End-of-RIB");
    assert_eq!(lab.r.state(f_ip).await, Some(State::Established));

    lab.stop().await;
}

/// R lets go of a connection (here: it shuts down) whose peer does not
/// read, so that its writer can never finish: R must still close the
/// socket within seconds (after a grace period for the NOTIFICATION), not
/// keep it, and the writer, for as long as the peer keeps its end open.
/// The same happens when the RFC 9687 send hold timer gives up on a peer.
#[tokio::test]
async fn connection_let_go_is_closed_even_if_the_peer_does_not_read() {
    const N: u8 = 10;
    let routes = slow_routes();
    let lab = Lab::start(
        N,
        &[Scripted {
            k: 3,
            extra: &routes,
        }],
    )
    .await;
    let f_ip = IpAddr::V4(addr(N, 3));
    let mut f = Peer::connect_socket(&lab, 3, slow_socket()).await;
    let f_local = f.stream.local_addr().expect("local address");
    f.send(&f_open(addr(N, 3), 0)).await;
    f.send(&keepalive()).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while lab.r.state(f_ip).await != Some(State::Established) {
        assert!(Instant::now() < deadline, "F never Established");
        sleep(Duration::from_millis(20)).await;
    }
    sleep(Duration::from_secs(1)).await;
    // Each route's UPDATE has more than 19 + 4 + 3 + 12 x 20 bytes: the
    // kernel holds less than the table, so R's writer is stuck in a write.
    let table = u64::from(SLOW_ROUTES) * u64::from(26 + 12 * SLOW_LARGE_COMMUNITIES);
    let r_addr = lab.r_addr();
    let (state, r_tx, _) = kernel_socket(r_addr, f_local).expect("R's socket");
    let (_, _, f_rx) = kernel_socket(f_local, r_addr).expect("F's socket");
    assert_eq!(state, 1, "R's socket is ESTABLISHED");
    assert!(
        r_tx + f_rx < table,
        "the kernel holds {} bytes, the whole table: R's writer is not stuck",
        r_tx + f_rx
    );

    lab.stop().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while let Some((1, tx, _)) = kernel_socket(r_addr, f_local) {
        assert!(
            Instant::now() < deadline,
            "R's socket to a peer that does not read is still open 10 s after the \
             shutdown, {tx} bytes in its send queue"
        );
        sleep(Duration::from_millis(100)).await;
    }
    drop(f);
}

// ---------------------------------------------------------------------------
// The RIB's limits and graceful restart, seen from a scripted peer

/// RFC 4486 §4: past its limit, a `teardown` neighbor gets Cease / Maximum
/// Number of Prefixes Reached with AFI, SAFI and the limit; its routes are
/// gone; it is refused until the restart time has passed, then welcome.
#[tokio::test]
async fn max_prefix_teardown_then_restart() {
    const N: u8 = 12;
    let lab = Lab::start(
        N,
        &[Scripted {
            k: 3,
            extra: r#"max-prefix = { limit = 2, action = "teardown", restart = 2 }"#,
        }],
    )
    .await;
    let f_ip = IpAddr::V4(addr(N, 3));
    let nh = addr(N, 3);
    let mut f = Peer::connect(&lab, 3).await;
    f.establish(&f_open(nh, 90)).await;
    f.send(&announce(nh, &["10.12.1.0/24", "10.12.2.0/24"]))
        .await;
    f.send(&announce(nh, &["10.12.3.0/24"])).await;
    let n = f.expect_notification(Duration::from_secs(3)).await;
    assert_eq!((n.code, n.subcode), (6, 1), "{n}");
    assert_eq!(n.data, vec![0, 1, 1, 0, 0, 0, 2], "AFI 1, SAFI 1, limit 2");
    f.expect_closed().await;
    let deadline = Instant::now() + Duration::from_secs(3);
    while lab.r.adj_rib_in(f_ip).await.map(|r| r.len()) != Some(0) {
        assert!(Instant::now() < deadline, "routes kept after the teardown");
        sleep(Duration::from_millis(20)).await;
    }
    // Within the restart time the session stays down: a new connection is
    // closed without an OPEN.
    let mut early = Peer::connect(&lab, 3).await;
    early.expect_closed().await;
    sleep(Duration::from_millis(2500)).await;
    let mut again = Peer::connect(&lab, 3).await;
    again.establish(&f_open(nh, 90)).await;
    assert_eq!(lab.r.state(f_ip).await, Some(State::Established));
    lab.stop().await;
}

/// The Graceful Restart capability F announces: IPv4 unicast, with the F
/// bit as given.
fn graceful_restart(restart_time: u16, restarting: bool, preserved: bool) -> Capability {
    Capability::GracefulRestart {
        restarting,
        notification: false,
        restart_time,
        families: vec![ribbit_wire::capability::GracefulRestartFamily {
            family: Family::IPV4_UNICAST,
            forwarding_preserved: preserved,
        }],
    }
}

async fn wait_routes(lab: &Lab, peer: IpAddr, expected: &[&str], what: &str) {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let rib = lab.r.adj_rib_in(peer).await.expect("neighbor");
        if nlris(&rib) == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: R holds {:?}, expected {expected:?}",
            nlris(&rib)
        );
        sleep(Duration::from_millis(20)).await;
    }
}

/// RFC 4724 §4.2: when the TCP connection of a peer that announced
/// graceful restart fails, its routes stay (stale) while it restarts; when
/// it is back, its End-of-RIB removes the stale routes it did not announce
/// again. A second peer whose restart time runs out loses its routes then.
#[tokio::test]
async fn graceful_restart_keeps_routes_until_end_of_rib() {
    const N: u8 = 13;
    let extra = "graceful-restart = true\ngraceful-restart-time = 30";
    let lab = Lab::start(N, &[Scripted { k: 3, extra }, Scripted { k: 4, extra }]).await;
    let (f_ip, nh) = (IpAddr::V4(addr(N, 3)), addr(N, 3));
    let (h_ip, h_nh) = (IpAddr::V4(addr(N, 4)), addr(N, 4));

    let mut f = Peer::connect(&lab, 3).await;
    let theirs = f.expect_open().await;
    assert!(
        theirs.capabilities.iter().any(|c| matches!(
            c,
            Capability::GracefulRestart {
                restart_time: 30,
                ..
            }
        )),
        "R's OPEN lacks graceful restart: {:?}",
        theirs.capabilities
    );
    f.send(&f_open_with(
        nh,
        90,
        vec![graceful_restart(30, false, true)],
    ))
    .await;
    f.send(&keepalive()).await;
    f.send(&announce(nh, &["10.13.1.0/24", "10.13.2.0/24"]))
        .await;
    let mut h = Peer::connect(&lab, 4).await;
    h.establish(&f_open_with(
        h_nh,
        90,
        vec![graceful_restart(1, false, true)],
    ))
    .await;
    h.send(&announce(h_nh, &["10.13.9.0/24"])).await;
    wait_routes(&lab, f_ip, &["10.13.1.0/24", "10.13.2.0/24"], "before").await;
    wait_routes(&lab, h_ip, &["10.13.9.0/24"], "before").await;

    // Both connections fail without a NOTIFICATION.
    drop(f);
    drop(h);
    sleep(Duration::from_millis(300)).await;
    wait_routes(
        &lab,
        f_ip,
        &["10.13.1.0/24", "10.13.2.0/24"],
        "F restarting",
    )
    .await;
    // H's restart time (1 s) runs out: its routes go.
    sleep(Duration::from_millis(1200)).await;
    wait_routes(&lab, h_ip, &[], "H's restart time over").await;
    wait_routes(
        &lab,
        f_ip,
        &["10.13.1.0/24", "10.13.2.0/24"],
        "F still restarting",
    )
    .await;

    // F is back and announces one of its two routes, then End-of-RIB.
    let mut f = Peer::connect(&lab, 3).await;
    f.establish(&f_open_with(nh, 90, vec![graceful_restart(30, true, true)]))
        .await;
    f.send(&announce(nh, &["10.13.1.0/24"])).await;
    wait_routes(
        &lab,
        f_ip,
        &["10.13.1.0/24", "10.13.2.0/24"],
        "before F's End-of-RIB",
    )
    .await;
    f.send(
        &Message::Update(Update::end_of_rib(Family::IPV4_UNICAST))
            .to_bytes(&EncodeContext::default()),
    )
    .await;
    wait_routes(&lab, f_ip, &["10.13.1.0/24"], "after F's End-of-RIB").await;
    lab.stop().await;
}
