//! The HTTP API and the `ribbit` CLI commands that use it, against a
//! running speaker with real BGP sessions.
//!
//! Each lab is three Ribbit speakers in this process: A (under test, with
//! the API) and its eBGP neighbors B and C, which connect to it over
//! loopback and announce routes; A also has a disabled neighbor D. Lab `k`
//! uses the addresses 127.0.6.{10k+1..10k+9} and port 11600+k for A, so
//! that the tests run in parallel; the API listens on a free port of
//! 127.0.0.1. Every wait has a deadline.
//!
//! The contract test reads `/openapi.json` and, for every path, method and
//! documented status, makes a request that must get that status, and checks
//! the answer against the documented schema (with a small checker of the
//! schema keywords the document uses; it refuses any other keyword, and
//! any member the document does not describe).

use std::net::{IpAddr, SocketAddr};
use std::ops::ControlFlow;
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Duration;

use ribbit::api::ApiServer;
use ribbit::cli::client::Client;
use ribbit::config::Config;
use ribbit::Speaker;
use ribbit_wire::Family;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::{sleep, timeout, Instant};

const TOKEN: &str = "lab-token-0123456789";
const WITHIN: Duration = Duration::from_secs(15);

// ---------------------------------------------------------------------------
// The lab

struct Lab {
    a: Arc<Speaker>,
    b: Option<Speaker>,
    c: Option<Speaker>,
    api: ApiServer,
    url: String,
    k: u8,
}

impl Lab {
    fn ip(&self, last: u8) -> String {
        format!("127.0.6.{}", self.k * 10 + last)
    }

    fn client(&self) -> Client {
        Client::new(&self.url, Some(TOKEN.to_string())).expect("client")
    }

    async fn get(&self, path: &str) -> Value {
        match self.client().get_json::<Value>(path).await {
            Ok(v) => v,
            Err(e) => panic!("GET {path}: {e}"),
        }
    }

    async fn stop(mut self) {
        self.api.stop().await;
        for s in [self.b.take(), self.c.take()].into_iter().flatten() {
            s.shutdown(None).await;
        }
        if let Ok(a) = Arc::try_unwrap(self.a) {
            a.shutdown(None).await;
        }
    }
}

fn a_config(k: u8) -> String {
    let ip = |last: u8| format!("127.0.6.{}", k * 10 + last);
    format!(
        r#"
[global]
asn = 65001
router-id = "{a}"
listen = ["{a}:{port}"]

[api]
token = "{TOKEN}"

[[policy]]
name = "no-10-99"
[[policy.rule]]
match = {{ prefix = ["10.99.0.0/24"] }}
then = "reject"

[[neighbor]]
address = "{b}"
asn = 65002
description = "B"
passive = true
connect-retry = 1
families = ["ipv4-unicast", "ipv6-unicast"]
keep-adj-rib-in = true
import = "no-10-99"

[[neighbor]]
address = "{c}"
asn = 65003
passive = true
connect-retry = 1

[[neighbor]]
address = "{d}"
asn = 65009
enabled = false
"#,
        a = ip(1),
        b = ip(2),
        c = ip(3),
        d = ip(9),
        port = 11600 + u16::from(k),
    )
}

fn b_config(k: u8) -> String {
    let ip = |last: u8| format!("127.0.6.{}", k * 10 + last);
    format!(
        r#"
[global]
asn = 65002
router-id = "{b}"
listen = []

[[neighbor]]
address = "{a}"
port = {port}
local-address = "{b}"
asn = 65001
families = ["ipv4-unicast", "ipv6-unicast"]
connect-retry = 1

[[neighbor.route]]
prefix = "10.0.0.0/16"

[[neighbor.route]]
prefix = "10.0.1.0/24"
communities = ["65002:1"]
med = 7

[[neighbor.route]]
prefix = "10.99.0.0/24"

[[neighbor.route]]
prefix = "2001:db8:2::/48"
next-hop = "2001:db8::2"
"#,
        a = ip(1),
        b = ip(2),
        port = 11600 + u16::from(k),
    )
}

fn c_config(k: u8) -> String {
    let ip = |last: u8| format!("127.0.6.{}", k * 10 + last);
    format!(
        r#"
[global]
asn = 65003
router-id = "{c}"
listen = []

[[neighbor]]
address = "{a}"
port = {port}
local-address = "{c}"
asn = 65001
connect-retry = 1

[[neighbor.route]]
prefix = "10.0.0.0/16"
as-path = [65300, 65301]

[[neighbor.route]]
prefix = "10.3.0.0/24"
"#,
        a = ip(1),
        c = ip(3),
        port = 11600 + u16::from(k),
    )
}

fn parse(name: &str, text: &str) -> Config {
    Config::parse(text, name).unwrap_or_else(|e| panic!("{name}: {e}"))
}

async fn start(name: &str, text: &str) -> Speaker {
    Speaker::start(&parse(name, text))
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Start A from `text` with its API on a free port of 127.0.0.1.
async fn start_with_api(text: &str) -> (Arc<Speaker>, ApiServer) {
    let mut config = parse("a.toml", text);
    config.api.listen = "127.0.0.1:0".parse().unwrap();
    let config = Arc::new(config);
    let a = Arc::new(Speaker::start(&config).await.expect("A starts"));
    let api = ApiServer::start(Arc::clone(&config), Arc::clone(&a))
        .await
        .expect("the API starts");
    (a, api)
}

/// Start a lab and wait until A has B's and C's routes.
async fn lab(k: u8) -> Lab {
    let (a, api) = start_with_api(&a_config(k)).await;
    let url = format!("http://{}", api.local_addr());
    let b = start("b.toml", &b_config(k)).await;
    let c = start("c.toml", &c_config(k)).await;
    let lab = Lab {
        a,
        b: Some(b),
        c: Some(c),
        api,
        url,
        k,
    };
    lab.converged().await;
    lab
}

impl Lab {
    /// Wait until both sessions are up and A's tables hold every route.
    async fn converged(&self) {
        let deadline = Instant::now() + WITHIN;
        let c = self.ip(3);
        loop {
            let v4 = self.get("/v1/rib/ipv4-unicast").await;
            let v6 = self.get("/v1/rib/ipv6-unicast").await;
            let out = self
                .get(&format!("/v1/neighbors/{c}/adj-rib-out/ipv4-unicast"))
                .await;
            let ok = v4["destinations"].as_array().map_or(0, Vec::len) == 3
                && v4["destinations"][0]["paths"]
                    .as_array()
                    .map_or(0, Vec::len)
                    == 2
                && v6["destinations"].as_array().map_or(0, Vec::len) == 1
                && out["routes"]
                    .as_array()
                    .is_some_and(|r| r.iter().any(|r| r["nlri"] == "10.0.1.0/24"));
            if ok {
                return;
            }
            if Instant::now() > deadline {
                panic!("lab {} did not converge: {v4}\n{v6}\n{out}", self.k);
            }
            sleep(Duration::from_millis(100)).await;
        }
    }
}

// ---------------------------------------------------------------------------
// Raw HTTP, for what the client does not send (other hosts, no token)

struct Raw {
    status: u16,
    headers: String,
    body: Value,
}

async fn raw(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)]) -> Raw {
    raw_body(addr, method, path, headers, "").await
}

/// A request with a body (its Content-Type among `headers`).
async fn raw_body(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Raw {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        req.push_str(&format!("Host: {addr}\r\n"));
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).await.expect("write");
    let mut buf = Vec::new();
    timeout(WITHIN, s.read_to_end(&mut buf))
        .await
        .expect("answer in time")
        .expect("read");
    let text = String::from_utf8_lossy(&buf).to_string();
    let (head, body) = text.split_once("\r\n\r\n").expect("a head");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    let body = serde_json::from_str(body).unwrap_or_else(|e| panic!("{head}\n{body}: {e}"));
    Raw {
        status,
        headers: head.to_ascii_lowercase(),
        body,
    }
}

/// An error answer: its status, a JSON body with one `error` member, and
/// the message containing `want`.
async fn expect_error(lab: &Lab, path: &str, status: u16, want: &str) {
    let auth = format!("Bearer {TOKEN}");
    let r = raw(
        lab.api.local_addr(),
        "GET",
        path,
        &[("Authorization", &auth)],
    )
    .await;
    assert_eq!(r.status, status, "GET {path}: {}", r.body);
    let obj = r.body.as_object().expect("an object");
    assert_eq!(obj.len(), 1, "GET {path}: only error: {}", r.body);
    let msg = obj["error"].as_str().expect("error is a string");
    assert!(msg.contains(want), "GET {path}: {msg:?} lacks {want:?}");
    assert!(!msg.contains('\n'), "one line: {msg:?}");
}

// ---------------------------------------------------------------------------
// A stream that falls behind, with resync=true

/// Addresses 127.0.6.71 (A) and .72 (B), port 11607: A with a small event
/// buffer, so that a client that does not read loses events within a few
/// thousand UPDATEs.
fn resync_a_config() -> String {
    format!(
        r#"
[global]
asn = 65001
router-id = "127.0.6.71"
listen = ["127.0.6.71:11607"]
event-buffer = 16

[api]
token = "{TOKEN}"

[[neighbor]]
address = "127.0.6.72"
asn = 65002
passive = true
"#
    )
}

/// B announces `routes` prefixes, each with its own MED: an UPDATE each.
fn resync_b_config(routes: usize) -> String {
    let mut text = r#"
[global]
asn = 65002
router-id = "127.0.6.72"
listen = []

[[neighbor]]
address = "127.0.6.71"
port = 11607
local-address = "127.0.6.72"
asn = 65001
connect-retry = 1
"#
    .to_string();
    for i in 0..routes {
        text.push_str(&format!(
            "[[neighbor.route]]\nprefix = \"10.{}.{}.0/24\"\nmed = {i}\n",
            100 + i / 256,
            i % 256
        ));
    }
    text
}

/// An event stream read straight off its socket, when the test says so.
struct RawStream {
    socket: TcpStream,
    buf: Vec<u8>,
}

impl RawStream {
    /// `GET path` over HTTP/1.0 (the body is the bytes until the server
    /// closes: no chunks) from a socket with a small receive buffer, so
    /// that not reading soon stops the server from writing.
    async fn open(addr: SocketAddr, path: &str) -> RawStream {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
        let mut socket = socket.connect(addr).await.expect("connect");
        let req =
            format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\nAuthorization: Bearer {TOKEN}\r\n\r\n");
        socket.write_all(req.as_bytes()).await.expect("write");
        let mut s = RawStream {
            socket,
            buf: Vec::new(),
        };
        let head = s.until_bytes(b"\r\n\r\n").await;
        let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
        assert!(
            head.starts_with("http/1.0 200") || head.starts_with("http/1.1 200"),
            "{head}"
        );
        assert!(!head.contains("chunked"), "{head}");
        s
    }

    /// The bytes up to and including `end`.
    async fn until_bytes(&mut self, end: &[u8]) -> Vec<u8> {
        loop {
            if let Some(i) = self.buf.windows(end.len()).position(|w| w == end) {
                return self.buf.drain(..i + end.len()).collect();
            }
            let mut chunk = [0u8; 65536];
            let n = timeout(WITHIN, self.socket.read(&mut chunk))
                .await
                .expect("stream data in time")
                .expect("read");
            assert!(n > 0, "the stream ended");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    async fn next(&mut self) -> Value {
        let line = self.until_bytes(b"\n").await;
        serde_json::from_slice(&line).expect("each line is JSON")
    }

    /// Read until an event matches; returns the events read.
    async fn until(&mut self, f: impl Fn(&Value) -> bool) -> Vec<Value> {
        let mut seen = Vec::new();
        loop {
            let v = self.next().await;
            let done = f(&v);
            seen.push(v);
            if done {
                return seen;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_with_resync_gets_the_tables_again_after_losing_events() {
    let routes = 4000;
    let (a, api) = start_with_api(&resync_a_config()).await;
    let b_addr: IpAddr = "127.0.6.72".parse().unwrap();

    // The stream starts with a re-sync: B's state, no route yet.
    let mut s = RawStream::open(api.local_addr(), "/v1/events?resync=true&type=state,update").await;
    let first = s.until(|e| e["type"] == "resync-end").await;
    assert_eq!(first.len(), 2, "{first:?}");
    assert_eq!(first[0]["type"], "resync-state");
    assert_eq!(first[0]["neighbor"], "127.0.6.72");
    assert_ne!(first[0]["state"], "established", "{first:?}");
    assert_eq!(first[1]["neighbors"], 1);
    assert_eq!(first[1]["routes"], 0);

    // B comes and sends its table while the client does not read.
    let b = start("b.toml", &resync_b_config(routes)).await;
    let deadline = Instant::now() + WITHIN;
    loop {
        let held = a.adj_rib_in(b_addr).await.map_or(0, |t| t.len());
        if held == routes {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "A holds {held} of {routes} routes"
        );
        sleep(Duration::from_millis(50)).await;
    }

    // The client reads again: events, the news that it lost some, then
    // the state and table again, whole.
    let seen = s
        .until(|e| e["type"] == "resync-end" && e["routes"] == routes)
        .await;
    let lost = seen
        .iter()
        .rposition(|e| e["type"] == "lost")
        .unwrap_or_else(|| panic!("no lost event in {} lines", seen.len()));
    assert!(
        seen[lost]["count"].as_u64().unwrap_or(0) > 0,
        "{}",
        seen[lost]
    );
    let resync = &seen[lost + 1..];
    let state = resync
        .iter()
        .find(|e| e["type"] == "resync-state")
        .expect("B's state in the re-sync");
    assert_eq!(state["state"], "established");
    let prefixes: std::collections::BTreeSet<&str> = resync
        .iter()
        .filter(|e| e["type"] == "resync-routes")
        .inspect(|e| assert_eq!(e["neighbor"], "127.0.6.72"))
        .flat_map(|e| e["routes"].as_array().unwrap())
        .map(|r| r["nlri"].as_str().unwrap())
        .collect();
    assert_eq!(prefixes.len(), routes);
    assert!(prefixes.contains("10.100.0.0/24") && prefixes.contains("10.115.159.0/24"));
    let end = resync.last().unwrap();
    assert_eq!(end["neighbors"], 1);

    // And the stream goes on: B leaves.
    b.shutdown(None).await;
    s.until(|e| e["type"] == "state" && e["from"] == "established")
        .await;
    drop(s);
    api.stop().await;
    if let Ok(a) = Arc::try_unwrap(a) {
        a.shutdown(None).await;
    }
}

// ---------------------------------------------------------------------------
// The event stream, read in a task

struct Stream {
    lines: mpsc::UnboundedReceiver<Value>,
    task: tokio::task::JoinHandle<()>,
}

async fn open_stream(lab: &Lab, query: &str) -> Stream {
    let before = stream_count(lab).await;
    let client = lab.client();
    let path = format!("/v1/events{query}");
    let (tx, lines) = mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        let r = client
            .lines(&path, |l| {
                let v: Value = serde_json::from_slice(l).expect("each line is JSON");
                let _ = tx.send(v);
                Ok(ControlFlow::Continue(()))
            })
            .await;
        if let Err(e) = r {
            panic!("{path}: {e}");
        }
    });
    // Subscribed once the API counts it.
    wait_streams(lab, before + 1).await;
    Stream { lines, task }
}

impl Stream {
    async fn next(&mut self, what: &str) -> Value {
        match timeout(WITHIN, self.lines.recv()).await {
            Ok(Some(v)) => v,
            Ok(None) => panic!("the stream ended, waiting for {what}"),
            Err(_) => panic!("no {what} within {WITHIN:?}"),
        }
    }

    /// Read until an event matches; returns the events read.
    async fn until(&mut self, what: &str, f: impl Fn(&Value) -> bool) -> Vec<Value> {
        let mut seen = Vec::new();
        loop {
            let v = self.next(what).await;
            let done = f(&v);
            seen.push(v);
            if done {
                return seen;
            }
        }
    }
}

async fn stream_count(lab: &Lab) -> u64 {
    lab.get("/v1/stats").await["event-streams"]
        .as_u64()
        .expect("event-streams")
}

async fn wait_streams(lab: &Lab, n: u64) {
    let deadline = Instant::now() + WITHIN;
    loop {
        let now = stream_count(lab).await;
        if now == n {
            return;
        }
        if Instant::now() > deadline {
            panic!("{now} event streams open, not {n}");
        }
        sleep(Duration::from_millis(50)).await;
    }
}

// ---------------------------------------------------------------------------
// Endpoints

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_answers_with_what_the_speaker_has() {
    let lab = lab(1).await;
    let (b, c, d) = (lab.ip(2), lab.ip(3), lab.ip(9));

    let list = lab.get("/v1/neighbors").await;
    let n = list["neighbors"].as_array().expect("neighbors");
    assert_eq!(n.len(), 3, "{list}");
    assert_eq!(n[0]["address"], b.as_str());
    assert_eq!(n[0]["state"], "established");
    assert_eq!(n[0]["description"], "B");
    assert!(n[0]["state-since"].as_u64().is_some(), "{list}");
    // B's routes less the one its import policy rejects.
    assert_eq!(n[0]["prefixes"]["accepted"], 3, "{list}");
    assert_eq!(n[1]["state"], "established");
    assert_eq!(n[2]["address"], d.as_str());
    assert_eq!(n[2]["state"], "disabled");

    let detail = lab.get(&format!("/v1/neighbors/{b}")).await;
    assert_eq!(detail["asn"], 65002);
    assert_eq!(detail["local-asn"], 65001);
    assert_eq!(detail["keep-adj-rib-in"], true);
    assert_eq!(detail["established-count"], 1);
    assert!(
        detail["updates-received"].as_u64().unwrap_or(0) >= 2,
        "{detail}"
    );
    let counters = detail["counters"].as_array().expect("counters");
    let v4 = counters
        .iter()
        .find(|c| c["family"] == "ipv4-unicast")
        .expect("ipv4 counters");
    assert_eq!(v4["accepted"], 2, "{detail}");
    assert_eq!(v4["rejected"], 1, "10.99.0.0/24: {detail}");

    // The Loc-RIB: 10.0.0.0/16 from both, B's shorter AS path wins.
    let rib = lab.get("/v1/rib/ipv4-unicast").await;
    let dests = rib["destinations"].as_array().expect("destinations");
    let nlris: Vec<&str> = dests.iter().filter_map(|d| d["nlri"].as_str()).collect();
    assert_eq!(nlris, ["10.0.0.0/16", "10.0.1.0/24", "10.3.0.0/24"]);
    assert_eq!(dests[0]["reason"], "shortest AS path");
    assert_eq!(dests[0]["paths"][0]["neighbor"], b.as_str());
    assert_eq!(dests[0]["paths"][0]["best"], true);
    assert_eq!(dests[0]["paths"][1]["neighbor"], c.as_str());
    assert_eq!(dests[0]["paths"][1]["best"], false);
    assert_eq!(
        dests[0]["paths"][1]["attributes"]["as-path"][0]["asns"],
        serde_json::json!([65003, 65300, 65301])
    );
    assert_eq!(dests[1]["paths"][0]["attributes"]["med"], 7);
    assert_eq!(
        dests[1]["paths"][0]["attributes"]["communities"],
        serde_json::json!(["65002:1"])
    );

    // The same, as the runtime sees it.
    let runtime = lab
        .a
        .paths(Family::IPV4_UNICAST, None)
        .await
        .expect("paths");
    assert_eq!(runtime.len(), dests.len());

    // Lookups.
    let one = lab.get("/v1/rib/ipv4-unicast?prefix=10.0.0.0/16").await;
    assert_eq!(one["destinations"].as_array().map(Vec::len), Some(1));
    assert_eq!(one["destinations"][0]["nlri"], "10.0.0.0/16");
    let none = lab.get("/v1/rib/ipv4-unicast?prefix=10.0.0.0/8").await;
    assert_eq!(none["destinations"], serde_json::json!([]));
    let lm = lab
        .get("/v1/rib/ipv4-unicast?longest-match=10.0.1.77")
        .await;
    assert_eq!(lm["destinations"][0]["nlri"], "10.0.1.0/24", "{lm}");
    let lm = lab.get("/v1/rib/ipv4-unicast?longest-match=10.0.2.1").await;
    assert_eq!(lm["destinations"][0]["nlri"], "10.0.0.0/16", "{lm}");
    let lm = lab
        .get("/v1/rib/ipv4-unicast?longest-match=192.0.2.1")
        .await;
    assert_eq!(lm["destinations"], serde_json::json!([]));
    let ms = lab
        .get("/v1/rib/ipv4-unicast?more-specifics=10.0.0.0/16")
        .await;
    let ms: Vec<&Value> = ms["destinations"].as_array().unwrap().iter().collect();
    assert_eq!(
        ms.iter().map(|d| d["nlri"].clone()).collect::<Vec<_>>(),
        ["10.0.0.0/16", "10.0.1.0/24"]
    );
    let v6 = lab.get("/v1/rib/ipv6-unicast").await;
    assert_eq!(v6["destinations"][0]["nlri"], "2001:db8:2::/48");
    assert_eq!(v6["destinations"][0]["paths"][0]["next-hop"], "2001:db8::2");
    let flow = lab.get("/v1/rib/ipv4-flowspec").await;
    assert_eq!(flow["destinations"], serde_json::json!([]));

    // Pages: one at a time, following next, give the whole table.
    let mut got = Vec::new();
    let mut path = "/v1/rib/ipv4-unicast?limit=1".to_string();
    loop {
        let page = lab.get(&path).await;
        let d = page["destinations"].as_array().unwrap();
        assert_eq!(d.len(), 1, "{page}");
        got.push(d[0]["nlri"].as_str().unwrap().to_string());
        match page["next"].as_str() {
            Some(next) => {
                path = format!(
                    "/v1/rib/ipv4-unicast?limit=1&after={}",
                    next.replace('/', "%2F")
                )
            }
            None => break,
        }
    }
    assert_eq!(got, nlris);

    // Adj-RIB-In after and before import policy, Adj-RIB-Out.
    let adj = lab
        .get(&format!("/v1/neighbors/{b}/adj-rib-in/ipv4-unicast"))
        .await;
    assert_eq!(adj["table"], "adj-rib-in");
    let routes: Vec<&str> = adj["routes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["nlri"].as_str())
        .collect();
    assert_eq!(routes, ["10.0.0.0/16", "10.0.1.0/24"]);
    assert_eq!(adj["routes"][0]["next-hop"], b.as_str());
    let pre = lab
        .get(&format!(
            "/v1/neighbors/{b}/adj-rib-in/ipv4-unicast?pre-policy=true"
        ))
        .await;
    assert_eq!(pre["table"], "adj-rib-in-pre-policy");
    let routes: Vec<&str> = pre["routes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["nlri"].as_str())
        .collect();
    assert_eq!(routes, ["10.0.0.0/16", "10.0.1.0/24", "10.99.0.0/24"]);
    // Page by page (straight from the RIB's table), the same routes.
    let out_whole = lab
        .get(&format!("/v1/neighbors/{c}/adj-rib-out/ipv4-unicast"))
        .await;
    assert_eq!(out_whole["routes"].as_array().map(Vec::len), Some(2));
    for (table, whole) in [
        (format!("{b}/adj-rib-in/ipv4-unicast?limit=1"), &adj),
        (
            format!("{b}/adj-rib-in/ipv4-unicast?limit=1&pre-policy=true"),
            &pre,
        ),
        (format!("{c}/adj-rib-out/ipv4-unicast?limit=1"), &out_whole),
    ] {
        let mut walked = Vec::new();
        let mut after = String::new();
        loop {
            let page = lab.get(&format!("/v1/neighbors/{table}{after}")).await;
            assert_eq!(page["routes"].as_array().map(Vec::len), Some(1), "{page}");
            walked.push(page["routes"][0].clone());
            match page["next"].as_str() {
                Some(n) => after = format!("&after={n}"),
                None => break,
            }
        }
        assert_eq!(&Value::Array(walked), &whole["routes"], "{table}");
    }
    let lm = lab
        .get(&format!(
            "/v1/neighbors/{b}/adj-rib-in/ipv4-unicast?longest-match=10.0.1.1"
        ))
        .await;
    assert_eq!(lm["routes"].as_array().map(Vec::len), Some(1), "{lm}");
    assert_eq!(lm["routes"][0]["nlri"], "10.0.1.0/24");
    let v6 = lab
        .get(&format!("/v1/neighbors/{b}/adj-rib-in/ipv6-unicast"))
        .await;
    assert_eq!(v6["routes"][0]["nlri"], "2001:db8:2::/48");
    let out = lab
        .get(&format!(
            "/v1/neighbors/{c}/adj-rib-out/ipv4-unicast?prefix=10.0.1.0/24"
        ))
        .await;
    assert_eq!(out["table"], "adj-rib-out");
    assert_eq!(out["routes"].as_array().map(Vec::len), Some(1), "{out}");
    // Sent to C over eBGP: A's AS first, then B's.
    assert_eq!(
        out["routes"][0]["attributes"]["as-path"][0]["asns"],
        serde_json::json!([65001, 65002])
    );

    let stats = lab.get("/v1/stats").await;
    let fams = stats["families"].as_array().expect("families");
    let v4 = fams
        .iter()
        .find(|f| f["family"] == "ipv4-unicast")
        .expect("ipv4");
    assert_eq!(v4["destinations"], 3, "{stats}");
    assert_eq!(v4["paths"], 4, "{stats}");
    assert_eq!(stats["event-streams"], 0);

    // The document is served without a token.
    let doc = raw(lab.api.local_addr(), "GET", "/openapi.json", &[]).await;
    assert_eq!(doc.status, 200);
    assert_eq!(doc.body["openapi"], "3.1.0");
    lab.stop().await;
}

// ---------------------------------------------------------------------------
// Bad requests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_a_4xx_that_says_what_was_wrong_and_disturb_nothing() {
    let lab = lab(2).await;
    let (b, c, d) = (lab.ip(2), lab.ip(3), lab.ip(9));
    let rib_before = lab.get("/v1/rib/ipv4-unicast").await;

    let cases: Vec<(String, u16, &str)> = vec![
        (
            "/v1/neighbors/127.0.6.250".into(),
            404,
            "no neighbor 127.0.6.250 (the neighbors are",
        ),
        (
            "/v1/neighbors/not-an-address".into(),
            400,
            "\"not-an-address\" is not an IP address",
        ),
        (
            format!("/v1/neighbors/{d}/adj-rib-in/ipv4-unicast"),
            404,
            "is disabled",
        ),
        (
            "/v1/neighbors/127.0.6.250/adj-rib-out/ipv4-unicast".into(),
            404,
            "no neighbor 127.0.6.250",
        ),
        (
            "/v1/rib/ipv4-unicst".into(),
            400,
            "unknown address family \"ipv4-unicst\"",
        ),
        (
            "/v1/rib/ipv4-unicast?prefix=10.0.0.1/16".into(),
            400,
            "prefix: 10.0.0.1/16 has bits set beyond its length (did you mean 10.0.0.0/16?)",
        ),
        (
            "/v1/rib/ipv4-unicast?prefix=10.0.0.0/40".into(),
            400,
            "prefix: \"10.0.0.0/40\" is not a prefix",
        ),
        (
            "/v1/rib/ipv4-unicast?more-specifics=2001:db8::/32".into(),
            400,
            "is IPv6, and the family ipv4-unicast is IPv4",
        ),
        (
            "/v1/rib/ipv4-unicast?longest-match=10.0.0.0/8".into(),
            400,
            "longest-match: \"10.0.0.0/8\" is not an IP address",
        ),
        (
            "/v1/rib/ipv4-unicast?prefix=10.0.0.0/8&more-specifics=10.0.0.0/8".into(),
            400,
            "prefix and more-specifics cannot be combined",
        ),
        (
            "/v1/rib/ipv4-flowspec?prefix=10.0.0.0/8".into(),
            400,
            "prefix lookups are for the unicast and multicast families",
        ),
        (
            "/v1/rib/ipv4-unicast?limit=many".into(),
            400,
            "limit: \"many\" is not a number from 1 to 100000",
        ),
        (
            "/v1/rib/ipv4-unicast?after=banana".into(),
            400,
            "after: \"banana\" is not a prefix",
        ),
        (
            "/v1/rib/ipv4-unicast?colour=green".into(),
            400,
            "unknown parameter colour (expected one of: prefix, longest-match",
        ),
        (
            "/v1/rib/ipv4-unicast?pre-policy=true".into(),
            400,
            "pre-policy applies to the Adj-RIB-In only",
        ),
        (
            format!("/v1/neighbors/{c}/adj-rib-in/ipv4-unicast?pre-policy=true"),
            400,
            "does not keep its routes before import policy (set keep-adj-rib-in = true",
        ),
        (
            format!("/v1/neighbors/{b}/adj-rib-in/ipv4-unicast?pre-policy=maybe"),
            400,
            "pre-policy: \"maybe\" is not true or false",
        ),
        (
            "/v1/neighbors?verbose=1".into(),
            400,
            "unknown parameter verbose (this endpoint takes none)",
        ),
        (
            "/v1/events?type=updates".into(),
            400,
            "type: unknown event type \"updates\"",
        ),
        (
            "/v1/events?neighbor=127.0.6.250".into(),
            404,
            "neighbor: 127.0.6.250 is not a configured neighbor",
        ),
        (
            "/v1/events?family=ipv5".into(),
            400,
            "unknown address family \"ipv5\"",
        ),
        (
            "/v1/events?resync=yes".into(),
            400,
            "resync: expected true or false, not \"yes\"",
        ),
        ("/v1/routes".into(), 404, "no endpoint GET /v1/routes"),
    ];
    for (path, status, want) in &cases {
        expect_error(&lab, path, *status, want).await;
    }

    // Access: no token, the wrong one, another scheme, another host.
    let addr = lab.api.local_addr();
    let r = raw(addr, "GET", "/v1/neighbors", &[]).await;
    assert_eq!(r.status, 401);
    assert!(r.body["error"]
        .as_str()
        .unwrap()
        .contains("this API needs a token"));
    assert!(
        r.headers.contains("www-authenticate: bearer"),
        "{}",
        r.headers
    );
    let r = raw(
        addr,
        "GET",
        "/v1/neighbors",
        &[("Authorization", "Bearer nope")],
    )
    .await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (401, Some("wrong token"))
    );
    let r = raw(
        addr,
        "GET",
        "/v1/stats",
        &[("Authorization", "Basic dXNlcg==")],
    )
    .await;
    assert_eq!(r.status, 401);
    assert!(r.body["error"].as_str().unwrap().contains("not Basic"));
    let auth = format!("Bearer {TOKEN}");
    let r = raw(
        addr,
        "GET",
        "/v1/neighbors",
        &[("Host", "attacker.example:50179"), ("Authorization", &auth)],
    )
    .await;
    assert_eq!(r.status, 403);
    assert!(r.body["error"]
        .as_str()
        .unwrap()
        .contains("addressed to localhost or an IP address"));
    let r = raw(
        addr,
        "GET",
        "/v1/neighbors",
        &[("Host", "localhost:50179"), ("Authorization", &auth)],
    )
    .await;
    assert_eq!(r.status, 200);
    let r = raw(addr, "PUT", "/v1/neighbors", &[("Authorization", &auth)]).await;
    assert_eq!(r.status, 405);
    assert_eq!(
        r.body["error"],
        "PUT is not allowed on /v1/neighbors: it answers GET, POST"
    );
    // The write side refuses unknown parameters as the read side does.
    let r = raw(
        addr,
        "POST",
        "/v1/reload?force=1",
        &[("Authorization", &auth)],
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(
        r.body["error"],
        "unknown parameter force (this endpoint takes none)"
    );
    // Without a configuration file, a reload is refused and says why.
    let r = raw(addr, "POST", "/v1/reload", &[("Authorization", &auth)]).await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(
        r.body["error"]
            .as_str()
            .unwrap()
            .contains("ribbit run --config"),
        "{}",
        r.body
    );
    let wrong = Client::new(&lab.url, Some("nope".into())).unwrap();
    match wrong.get_json::<Value>("/v1/neighbors").await {
        Err(ribbit::cli::client::ClientError::Api { status, message }) => {
            assert_eq!((status.as_u16(), message.as_str()), (401, "wrong token"))
        }
        other => panic!("{other:?}"),
    }

    // Nothing was disturbed: the sessions are up, the tables the same.
    for peer in [&b, &c] {
        assert_eq!(
            lab.a.state(peer.parse().unwrap()).await,
            Some(ribbit_fsm::State::Established)
        );
    }
    assert_eq!(lab.get("/v1/rib/ipv4-unicast").await, rib_before);
    let detail = lab.get(&format!("/v1/neighbors/{b}")).await;
    assert_eq!(detail["established-count"], 1, "{detail}");
    lab.stop().await;
}

// ---------------------------------------------------------------------------
// Events

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_stream_carries_filtered_events_and_ends_with_its_client() {
    let mut lab = lab(3).await;
    let (b, c) = (lab.ip(2), lab.ip(3));

    let mut of_c = open_stream(
        &lab,
        &format!("?neighbor={c}&type=update&family=ipv4-unicast"),
    )
    .await;
    let mut b_state = open_stream(&lab, &format!("?neighbor={b}&type=state,notification")).await;
    let mut v6 = open_stream(&lab, "?type=update&family=ipv6-unicast").await;
    // Never matches: it must still end when its client goes away.
    let idle = open_stream(&lab, &format!("?neighbor={c}&type=route-refresh")).await;
    assert_eq!(stream_count(&lab).await, 4);
    idle.task.abort();
    wait_streams(&lab, 3).await;

    // C goes and comes back: its UPDATEs, End-of-RIB last.
    lab.c.take().unwrap().shutdown(None).await;
    lab.c = Some(start("c.toml", &c_config(3)).await);
    let seen = of_c
        .until("C's End-of-RIB", |e| e["end-of-rib"] == "ipv4-unicast")
        .await;
    let mut announced = Vec::new();
    for e in &seen {
        assert_eq!(e["type"], "update", "{e}");
        assert_eq!(e["neighbor"], c.as_str());
        assert!(e["time"].as_f64().is_some());
        for r in e["announced"].as_array().unwrap() {
            assert_eq!(r["family"], "ipv4-unicast");
            announced.push(r["prefix"].as_str().unwrap().to_string());
        }
    }
    announced.sort();
    assert_eq!(announced, ["10.0.0.0/16", "10.3.0.0/24"]);

    // B is shut down with a message: A receives the NOTIFICATION and the
    // session goes down; then B comes back.
    lab.b
        .take()
        .unwrap()
        .shutdown(Some("maintenance".into()))
        .await;
    let seen = b_state
        .until("B down", |e| {
            e["type"] == "state" && e["from"] == "established"
        })
        .await;
    let n = seen
        .iter()
        .find(|e| e["type"] == "notification")
        .unwrap_or_else(|| panic!("no notification: {seen:?}"));
    assert_eq!(n["direction"], "received");
    assert_eq!(n["code"], 6);
    assert_eq!(n["subcode"], 2);
    assert_eq!(n["shutdown-message"], "maintenance");
    assert!(seen.iter().all(|e| e["neighbor"] == b.as_str()));
    lab.b = Some(start("b.toml", &b_config(3)).await);
    b_state.until("B up", |e| e["to"] == "established").await;
    // The IPv6 stream only ever saw IPv6 routes, whatever B sent.
    let seen = v6
        .until("B's IPv6 End-of-RIB", |e| e["end-of-rib"] == "ipv6-unicast")
        .await;
    let mut prefixes = Vec::new();
    for e in &seen {
        assert_eq!(e["neighbor"], b.as_str(), "{e}");
        for r in e["announced"]
            .as_array()
            .unwrap()
            .iter()
            .chain(e["withdrawn"].as_array().unwrap())
        {
            assert_eq!(r["family"], "ipv6-unicast", "{e}");
            prefixes.push(r["prefix"].clone());
        }
    }
    assert_eq!(prefixes, ["2001:db8:2::/48"]);

    // The detail saw it all: two sessions, the NOTIFICATION.
    let detail = lab.get(&format!("/v1/neighbors/{b}")).await;
    assert_eq!(detail["established-count"], 2, "{detail}");
    assert_eq!(
        detail["last-notification"]["shutdown-message"],
        "maintenance"
    );
    assert_eq!(detail["last-notification"]["direction"], "received");
    assert_eq!(detail["state"], "established");

    // Stopping the API ends the streams.
    let streams = [of_c, b_state, v6];
    lab.api.stop().await;
    for s in streams {
        timeout(WITHIN, s.task)
            .await
            .expect("the stream ends with the API")
            .expect("cleanly");
    }
    for s in [lab.b.take(), lab.c.take()].into_iter().flatten() {
        s.shutdown(None).await;
    }
}

// ---------------------------------------------------------------------------
// The contract

/// The schema keywords the checker understands; the document may use no
/// other, so that nothing it says goes unchecked.
const KEYWORDS: &[&str] = &[
    "type",
    "properties",
    "required",
    "items",
    "enum",
    "const",
    "oneOf",
    "$ref",
    "minimum",
    "format",
    "description",
];

fn resolve<'a>(doc: &'a Value, reference: &str) -> &'a Value {
    let path = reference.strip_prefix("#/").expect("local reference");
    let mut v = doc;
    for part in path.split('/') {
        v = &v[part];
    }
    assert!(!v.is_null(), "{reference} resolves to nothing");
    v
}

fn keywords_known(schema: &Value, at: &str) {
    let Some(obj) = schema.as_object() else {
        return;
    };
    for (k, v) in obj {
        assert!(
            KEYWORDS.contains(&k.as_str()),
            "{at}: keyword {k} is not checked"
        );
        match k.as_str() {
            "properties" => {
                for (name, s) in v.as_object().expect("properties") {
                    keywords_known(s, &format!("{at}.{name}"));
                }
            }
            "items" => keywords_known(v, &format!("{at}[]")),
            "oneOf" => {
                for s in v.as_array().expect("oneOf") {
                    keywords_known(s, at);
                }
            }
            _ => {}
        }
    }
}

/// Check `v` against `schema`; every problem is pushed to `errs`.
fn check(doc: &Value, schema: &Value, v: &Value, at: &str, errs: &mut Vec<String>) {
    if let Some(r) = schema["$ref"].as_str() {
        return check(doc, resolve(doc, r), v, at, errs);
    }
    if let Some(alts) = schema["oneOf"].as_array() {
        let fits = alts
            .iter()
            .filter(|s| {
                let mut e = Vec::new();
                check(doc, s, v, at, &mut e);
                e.is_empty()
            })
            .count();
        if fits != 1 {
            errs.push(format!("{at}: fits {fits} of the oneOf schemas: {v}"));
        }
        return;
    }
    if let Some(c) = schema.get("const") {
        if v != c {
            errs.push(format!("{at}: {v} is not {c}"));
        }
    }
    if let Some(e) = schema["enum"].as_array() {
        if !e.contains(v) {
            errs.push(format!("{at}: {v} is not one of {e:?}"));
        }
    }
    if let Some(t) = schema["type"].as_str() {
        let ok = match t {
            "object" => v.is_object(),
            "array" => v.is_array(),
            "string" => v.is_string(),
            "integer" => v.is_i64() || v.is_u64(),
            "number" => v.is_number(),
            "boolean" => v.is_boolean(),
            other => panic!("{at}: type {other} is not checked"),
        };
        if !ok {
            errs.push(format!("{at}: {v} is not of type {t}"));
            return;
        }
    }
    if let (Some(min), Some(n)) = (schema["minimum"].as_f64(), v.as_f64()) {
        if n < min {
            errs.push(format!("{at}: {n} is below {min}"));
        }
    }
    if let (Some("ipv4"), Some(s)) = (schema["format"].as_str(), v.as_str()) {
        if s.parse::<std::net::Ipv4Addr>().is_err() {
            errs.push(format!("{at}: {s:?} is not an IPv4 address"));
        }
    }
    if let Some(obj) = v.as_object() {
        if let Some(props) = schema["properties"].as_object() {
            for (k, val) in obj {
                match props.get(k) {
                    Some(s) => check(doc, s, val, &format!("{at}.{k}"), errs),
                    None => errs.push(format!("{at}: member {k} is not documented")),
                }
            }
        }
        for r in schema["required"].as_array().into_iter().flatten() {
            let r = r.as_str().expect("required names");
            if !obj.contains_key(r) {
                errs.push(format!("{at}: required member {r} is missing"));
            }
        }
    }
    if let (Some(items), Some(list)) = (schema.get("items"), v.as_array()) {
        for (i, item) in list.iter().enumerate() {
            check(doc, items, item, &format!("{at}[{i}]"), errs);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_endpoint_answers_with_the_documented_schema() {
    let mut lab = lab(4).await;
    let (b, c) = (lab.ip(2), lab.ip(3));
    let addr = lab.api.local_addr();
    let doc = raw(addr, "GET", "/openapi.json", &[]).await.body;
    assert_eq!(doc["openapi"], "3.1.0");
    for (name, s) in doc["components"]["schemas"].as_object().expect("schemas") {
        keywords_known(s, name);
    }
    let auth = format!("Bearer {TOKEN}");
    let mut checked = Vec::new();
    let mut events_schema = None;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            if method != "get" {
                checked.extend(write_cases(&lab, &doc, path, method, op).await);
                continue;
            }
            // Real values for the parameters: B, a family, a prefix.
            let good = path
                .replace("{address}", &b)
                .replace("{family}", "ipv4-unicast");
            let good = match path.as_str() {
                "/v1/rib/{family}" => format!("{good}?more-specifics=10.0.0.0/8&limit=2"),
                "/v1/neighbors/{address}/adj-rib-in/{family}" => format!("{good}?pre-policy=true"),
                _ => good,
            };
            for (status, resp) in op["responses"].as_object().expect("responses") {
                let resp = match resp["$ref"].as_str() {
                    Some(r) => resolve(&doc, r),
                    None => resp,
                };
                let content = resp["content"].as_object().expect("content");
                let (ctype, media) = content.iter().next().expect("a media type");
                if path == "/v1/events" && status == "200" {
                    assert_eq!(ctype, "application/x-ndjson");
                    events_schema = Some(media["schema"].clone());
                    continue;
                }
                // The Prometheus text, not JSON: tests/metrics.rs parses
                // and checks it.
                if path == "/metrics" && status == "200" {
                    assert!(ctype.starts_with("text/plain; version=0.0.4"), "{ctype}");
                    continue;
                }
                let (headers, url): (Vec<(&str, &str)>, String) = match status.as_str() {
                    "200" => (vec![("Authorization", &auth)], good.clone()),
                    "400" => (
                        vec![("Authorization", &auth)],
                        format!(
                            "{}{}bogus=1",
                            good,
                            if good.contains('?') { "&" } else { "?" }
                        ),
                    ),
                    "401" => (vec![("Authorization", "Bearer wrong")], good.clone()),
                    "403" => (
                        vec![("Authorization", &auth), ("Host", "rebound.example")],
                        good.clone(),
                    ),
                    "404" => (
                        vec![("Authorization", &auth)],
                        if path.contains("{address}") {
                            path.replace("{address}", "127.0.6.250")
                                .replace("{family}", "ipv4-unicast")
                        } else {
                            format!("{path}?neighbor=127.0.6.250")
                        },
                    ),
                    // Only a speaker that does not answer gives 503.
                    "503" => continue,
                    other => panic!("{path}: status {other} has no request that makes it"),
                };
                let r = raw(addr, "GET", &url, &headers).await;
                assert_eq!(r.status.to_string(), *status, "GET {url}: {}", r.body);
                assert!(
                    r.headers.contains(&format!("content-type: {ctype}")),
                    "GET {url}: {}",
                    r.headers
                );
                let mut errs = Vec::new();
                check(
                    &doc,
                    &media["schema"],
                    &r.body,
                    &format!("GET {url} {status}"),
                    &mut errs,
                );
                assert!(errs.is_empty(), "{}", errs.join("\n"));
                checked.push(format!("{path} {status}"));
            }
        }
    }
    assert!(checked.len() >= 30, "{checked:?}");

    // The stream: every line fits the Event schema, through a session
    // going down and up again (state, notification, update events).
    let schema = events_schema.expect("/v1/events documents its 200");
    // A stream with resync=true starts with the state and table of each
    // neighbor, which fit it too.
    let mut synced = open_stream(&lab, "?resync=true").await;
    let seen = synced
        .until("the re-sync's end", |e| e["type"] == "resync-end")
        .await;
    for kind in ["resync-state", "resync-routes"] {
        assert!(seen.iter().any(|e| e["type"] == kind), "{kind}: {seen:?}");
    }
    for e in &seen {
        let mut errs = Vec::new();
        check(&doc, &schema, e, "event", &mut errs);
        assert!(errs.is_empty(), "{}", errs.join("\n"));
    }
    let mut all = open_stream(&lab, "").await;
    let mut session = open_stream(&lab, "?type=open,keepalive,negotiated").await;
    lab.c.take().unwrap().shutdown(Some("bye".into())).await;
    lab.c = Some(start("c.toml", &c_config(4)).await);
    let seen = all
        .until("C's End-of-RIB", |e| {
            e["neighbor"] == c.as_str() && e["end-of-rib"] == "ipv4-unicast"
        })
        .await;
    let kinds: std::collections::BTreeSet<&str> =
        seen.iter().filter_map(|e| e["type"].as_str()).collect();
    assert!(
        ["state", "notification", "update"]
            .iter()
            .all(|k| kinds.contains(k)),
        "{kinds:?}"
    );
    for e in &seen {
        let mut errs = Vec::new();
        check(&doc, &schema, e, "event", &mut errs);
        assert!(errs.is_empty(), "{}", errs.join("\n"));
    }
    // The session messages, asked for by type, fit it too.
    let seen = session
        .until("C's negotiation", |e| {
            e["neighbor"] == c.as_str() && e["type"] == "negotiated"
        })
        .await;
    assert!(
        seen.iter()
            .any(|e| e["type"] == "open" && e["direction"] == "received"),
        "{seen:?}"
    );
    assert!(
        seen.iter().all(
            |e| ["open", "keepalive", "negotiated"].contains(&e["type"].as_str().unwrap_or(""))
        ),
        "{seen:?}"
    );
    for e in &seen {
        let mut errs = Vec::new();
        check(&doc, &schema, e, "event", &mut errs);
        assert!(errs.is_empty(), "{}", errs.join("\n"));
    }
    // Every member of the detail, with a NOTIFICATION in it now.
    let d = raw(
        addr,
        "GET",
        &format!("/v1/neighbors/{c}"),
        &[("Authorization", &auth)],
    )
    .await;
    assert!(d.body["last-notification"].is_object(), "{}", d.body);
    let mut errs = Vec::new();
    check(
        &doc,
        &json_ref("NeighborDetail"),
        &d.body,
        "detail",
        &mut errs,
    );
    assert!(errs.is_empty(), "{}", errs.join("\n"));
    all.task.abort();
    lab.stop().await;
}

/// The request of the contract test for a status of a write endpoint:
/// URL, Content-Type and body; `None` for a status no request here makes.
/// The lab's neighbors: B (established), D (disabled, deleted here); N
/// (127.0.6.48) is added disabled, then enabled and disabled.
fn write_case(lab: &Lab, path: &str, status: &str) -> Option<(String, &'static str, String)> {
    let (b, c, d, n) = (lab.ip(2), lab.ip(3), lab.ip(9), lab.ip(8));
    let json = "application/json";
    let at = |who: &str| path.replace("{address}", who);
    Some(match (path, status) {
        ("/v1/neighbors", "201") => (
            at(""),
            json,
            format!(r#"{{"address": "{n}", "asn": 65008, "enabled": false}}"#),
        ),
        ("/v1/neighbors", "400") => (
            at(""),
            json,
            r#"{"address": "127.0.6.47", "asn": 1, "bogus": 1}"#.into(),
        ),
        ("/v1/neighbors", "409") => (
            at(""),
            json,
            format!(r#"{{"address": "{b}", "asn": 65002}}"#),
        ),
        ("/v1/neighbors/{address}", "200") => (at(&d), json, String::new()),
        ("/v1/announce" | "/v1/withdraw", "200") => (
            at(""),
            json,
            format!(r#"{{"prefix": "10.77.0.0/24", "next-hop": "self", "neighbors": ["{c}"]}}"#),
        ),
        ("/v1/announce" | "/v1/withdraw", "400") => {
            (at(""), json, r#"{"prefix": "10.77.0.0/33"}"#.into())
        }
        ("/v1/announce" | "/v1/withdraw", "404") => (
            at(""),
            json,
            r#"{"prefix": "10.77.0.0/24", "neighbors": ["127.0.6.250"]}"#.into(),
        ),
        ("/v1/announce" | "/v1/withdraw", "415") => (at(""), "application/xml", "<a/>".into()),
        ("/v1/neighbors/{address}/soft-reset", "200") => {
            (at(&b), json, r#"{"direction": "both"}"#.into())
        }
        ("/v1/neighbors/{address}/soft-reset", "400") => {
            (at(&b), json, r#"{"direction": "sideways"}"#.into())
        }
        // N is enabled then, and not established (no one at its address).
        ("/v1/neighbors/{address}/soft-reset", "409") => (at(&n), json, String::new()),
        // N was disabled just before.
        ("/v1/neighbors/{address}/reset", "409") => (at(&n), json, String::new()),
        (p, "200") if p.starts_with("/v1/neighbors/{address}/") => (at(&n), json, String::new()),
        (p, "400") if p.starts_with("/v1/neighbors/{address}") => {
            if p == "/v1/neighbors/{address}" {
                (at("not-an-address"), json, String::new())
            } else {
                (at(&n), json, r#"{"bogus": 1}"#.into())
            }
        }
        (p, "404") if p.starts_with("/v1/neighbors/{address}") => {
            (at("127.0.6.250"), json, String::new())
        }
        ("/v1/reload", "400") => (at(""), json, r#"{"bogus": 1}"#.into()),
        // The lab's API was started without a file.
        ("/v1/reload", "409") => (at(""), json, String::new()),
        _ => return None,
    })
}

/// Every documented status of a write endpoint: its request gets it, with
/// an answer of the documented schema.
async fn write_cases(lab: &Lab, doc: &Value, path: &str, method: &str, op: &Value) -> Vec<String> {
    let addr = lab.api.local_addr();
    let auth = format!("Bearer {TOKEN}");
    let n = lab.ip(8);
    let verb = method.to_ascii_uppercase();
    let mut checked = Vec::new();
    for (status, resp) in op["responses"].as_object().expect("responses") {
        let resp = match resp["$ref"].as_str() {
            Some(r) => resolve(doc, r),
            None => resp,
        };
        let (_, media) = resp["content"]
            .as_object()
            .and_then(|c| c.iter().next())
            .expect("a media type");
        let case = match status.as_str() {
            // Token and host are checked before anything: the good
            // request of the endpoint, which is then refused.
            "401" | "403" => write_case(lab, path, "200")
                .or_else(|| write_case(lab, path, "201"))
                .or_else(|| write_case(lab, path, "409")),
            // 503: only a speaker that does not answer; 500: only a
            // TCP-MD5 key the kernel refuses; reload's 200 needs `ribbit
            // run`'s file: tests/cli_api.rs checks it.
            "503" | "500" => continue,
            "200" if path == "/v1/reload" => continue,
            s => write_case(lab, path, s),
        };
        let Some((url, ctype, body)) = case else {
            panic!("{verb} {path}: status {status} has no request that makes it");
        };
        let mut headers = vec![("Content-Type", ctype)];
        match status.as_str() {
            "401" => headers.push(("Authorization", "Bearer wrong")),
            "403" => headers.extend([
                ("Authorization", auth.as_str()),
                ("Host", "rebound.example"),
            ]),
            _ => headers.push(("Authorization", auth.as_str())),
        }
        let pre = match (path, status.as_str()) {
            ("/v1/neighbors/{address}/reset", "409") => Some("disable"),
            ("/v1/neighbors/{address}/soft-reset", "409") => Some("enable"),
            _ => None,
        };
        if let Some(p) = pre {
            let r = raw(
                addr,
                "POST",
                &format!("/v1/neighbors/{n}/{p}"),
                &[("Authorization", &auth)],
            )
            .await;
            assert_eq!(r.status, 200, "{p} {n}: {}", r.body);
        }
        let r = raw_body(addr, &verb, &url, &headers, &body).await;
        assert_eq!(
            r.status.to_string(),
            *status,
            "{verb} {url} {body}: {}",
            r.body
        );
        let mut errs = Vec::new();
        check(
            doc,
            &media["schema"],
            &r.body,
            &format!("{verb} {url} {status}"),
            &mut errs,
        );
        assert!(errs.is_empty(), "{}", errs.join("\n"));
        checked.push(format!("{verb} {path} {status}"));
    }
    checked
}

fn json_ref(name: &str) -> Value {
    serde_json::json!({ "$ref": format!("#/components/schemas/{name}") })
}

#[test]
fn the_checker_finds_what_is_wrong() {
    let doc: Value = serde_json::from_str(ribbit::api::OPENAPI).unwrap();
    let errors = |v: Value, schema: &str| {
        let mut errs = Vec::new();
        check(&doc, &json_ref(schema), &v, "v", &mut errs);
        errs
    };
    assert!(errors(serde_json::json!({"error": "x"}), "Error").is_empty());
    assert_eq!(
        errors(serde_json::json!({}), "Error"),
        ["v: required member error is missing"]
    );
    assert_eq!(
        errors(serde_json::json!({"error": "x", "extra": 1}), "Error"),
        ["v: member extra is not documented"]
    );
    assert_eq!(
        errors(serde_json::json!({"error": 5}), "Error"),
        ["v.error: 5 is not of type string"]
    );
    let e = errors(
        serde_json::json!({"type": "state", "time": 1.5, "neighbor": "x", "from": "idle", "to": "up"}),
        "Event",
    );
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].contains("fits 0 of the oneOf"), "{e:?}");
}

// ---------------------------------------------------------------------------
// The CLI

async fn ribbit(args: Vec<String>, env: Vec<(&'static str, String)>) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_ribbit"))
            .args(&args)
            .env_remove("RIBBIT_TOKEN")
            .env_remove("RIBBIT_API")
            .envs(env)
            .output()
            .expect("ribbit runs")
    })
    .await
    .expect("joined")
}

fn text(o: &Output) -> (String, String, i32) {
    (
        String::from_utf8_lossy(&o.stdout).to_string(),
        String::from_utf8_lossy(&o.stderr).to_string(),
        o.status.code().unwrap_or(-1),
    )
}

impl Lab {
    async fn cli(&self, args: &[&str]) -> (String, String, i32) {
        let mut all: Vec<String> = args.iter().map(ToString::to_string).collect();
        all.extend(["--api".to_string(), self.url.clone()]);
        all.extend(["--token".to_string(), TOKEN.to_string()]);
        text(&ribbit(all, Vec::new()).await)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_shows_neighbors_routes_and_events() {
    let mut lab = lab(5).await;
    let (b, c, d) = (lab.ip(2), lab.ip(3), lab.ip(9));

    let (out, err, code) = lab.cli(&["neighbor"]).await;
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("Peer"), "{out}");
    assert!(
        lines[1].starts_with(&b) && lines[1].contains("established") && lines[1].ends_with("B"),
        "{out}"
    );
    assert!(
        lines[3].starts_with(&d) && lines[3].contains("disabled"),
        "{out}"
    );
    let (out, _, code) = lab.cli(&["neighbor", "--json"]).await;
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(v["neighbors"].as_array().map(Vec::len), Some(3));

    let (out, err, code) = lab.cli(&["neighbor", &b]).await;
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with(&format!(
            "BGP neighbor {b}, port 179, remote AS 65002, local AS 65001"
        )),
        "{out}"
    );
    assert!(out.contains("State: established, for "), "{out}");
    assert!(out.contains("Sessions established: 1"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.trim_start().starts_with("ipv4-unicast")
                && l.split_whitespace().nth(3) == Some("1")),
        "one rejected: {out}"
    );

    let (out, err, code) = lab.cli(&["neighbor", &b, "adj-in"]).await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        format!("10.0.0.0/16 next-hop {b} origin igp as-path [65002]\n10.0.1.0/24 next-hop {b} origin igp as-path [65002] med 7 communities 65002:1\n")
    );
    let (out, _, code) = lab.cli(&["neighbor", &b, "adj-in", "--pre-policy"]).await;
    assert_eq!(code, 0);
    assert!(out.contains("10.99.0.0/24"), "{out}");
    let (out, _, code) = lab
        .cli(&["neighbor", &b, "adj-in", "2001:db8:2::/48"])
        .await;
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "2001:db8:2::/48 next-hop 2001:db8::2 origin igp as-path [65002]\n"
    );
    let (out, _, code) = lab.cli(&["neighbor", &c, "adj-out", "10.0.1.9"]).await;
    assert_eq!(code, 0);
    assert!(out.starts_with("10.0.1.0/24 next-hop "), "{out}");
    let (out, _, code) = lab.cli(&["neighbor", &c, "adj-out", "--json"]).await;
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(v["table"], "adj-rib-out");

    // `ribbit rib` is the runtime's text of every destination.
    let runtime: String = lab
        .a
        .paths(Family::IPV4_UNICAST, None)
        .await
        .expect("paths")
        .iter()
        .map(ToString::to_string)
        .collect();
    let (out, err, code) = lab.cli(&["rib"]).await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, runtime);
    assert!(
        out.contains("10.0.0.0/16  (best: shortest AS path)\n"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "  *> from {b} next-hop {b} origin igp as-path [65002]\n"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "     from {c} next-hop {c} origin igp as-path [65003 65300 65301]\n"
        )),
        "{out}"
    );
    let (out, _, code) = lab.cli(&["rib", "10.0.0.0/16"]).await;
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 3, "{out}");
    assert!(
        out.starts_with("10.0.0.0/16  (best: shortest AS path)"),
        "{out}"
    );
    let (out, _, code) = lab.cli(&["rib", "10.0.1.200"]).await;
    assert_eq!(code, 0);
    assert!(out.starts_with("10.0.1.0/24  (best: only path)"), "{out}");
    let (out, _, code) = lab.cli(&["rib", "10.0.0.0/8", "--more-specifics"]).await;
    assert_eq!(code, 0);
    assert_eq!(out, runtime);
    let (out, _, code) = lab.cli(&["rib", "-a", "ipv6-unicast"]).await;
    assert_eq!(code, 0);
    assert!(
        out.starts_with("2001:db8:2::/48  (best: only path)"),
        "{out}"
    );
    let (out, _, code) = lab.cli(&["rib", "2001:db8:2::/48", "--json"]).await;
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(v["family"], "ipv6-unicast");

    // Errors: the API's message, exit status 1; unreachable: 2.
    let (_, err, code) = lab.cli(&["rib", "10.0.0.1/16"]).await;
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "ribbit: prefix: 10.0.0.1/16 has bits set beyond its length (did you mean 10.0.0.0/16?)\n"
    );
    let (_, err, code) = lab.cli(&["rib", "10.200.0.0/24"]).await;
    assert_eq!(
        (code, err.as_str()),
        (1, "ribbit: 10.200.0.0/24: no route in ipv4-unicast\n")
    );
    let (_, err, code) = lab.cli(&["rib", "-a", "ipv4-unicst"]).await;
    assert_eq!(code, 1);
    assert!(
        err.starts_with("ribbit: unknown address family \"ipv4-unicst\""),
        "{err}"
    );
    let (_, err, code) = lab.cli(&["neighbor", "127.0.6.250"]).await;
    assert_eq!(code, 1);
    assert!(err.starts_with("ribbit: no neighbor 127.0.6.250"), "{err}");
    let o = ribbit(
        vec![
            "neighbor".into(),
            "--api".into(),
            lab.url.clone(),
            "--token".into(),
            "nope".into(),
        ],
        Vec::new(),
    )
    .await;
    assert_eq!(text(&o).1, "ribbit: wrong token\n");
    assert_eq!(text(&o).2, 1);
    let o = ribbit(
        vec!["neighbor".into(), "--api".into(), lab.url.clone()],
        Vec::new(),
    )
    .await;
    assert!(
        text(&o).1.contains("this API needs a token"),
        "{:?}",
        text(&o)
    );
    // RIBBIT_API and RIBBIT_TOKEN stand for the options.
    let o = ribbit(
        vec!["stats".into()],
        vec![
            ("RIBBIT_API", lab.url.clone()),
            ("RIBBIT_TOKEN", TOKEN.to_string()),
        ],
    )
    .await;
    let (out, err, code) = text(&o);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.lines().any(|l| l.starts_with("ipv4-unicast")
            && l.split_whitespace().collect::<Vec<_>>() == ["ipv4-unicast", "3", "4"]),
        "{out}"
    );
    let o = ribbit(
        vec![
            "neighbor".into(),
            "--api".into(),
            "http://127.0.0.1:1".into(),
        ],
        Vec::new(),
    )
    .await;
    let (_, err, code) = text(&o);
    assert_eq!(code, 2);
    assert!(
        err.starts_with("ribbit: cannot reach the API at http://127.0.0.1:1"),
        "{err}"
    );
    let o = ribbit(
        vec!["rib".into(), "--api".into(), "https://127.0.0.1".into()],
        Vec::new(),
    )
    .await;
    assert_eq!(text(&o).2, 2);
    let (_, err, code) = lab.cli(&["neighbor", &b, "adj-out", "--pre-policy"]).await;
    assert_eq!(code, 2);
    assert!(err.contains("--pre-policy goes with adj-in"), "{err}");

    // Completions.
    for shell in ["bash", "zsh", "fish"] {
        let o = ribbit(vec!["completions".into(), shell.into()], Vec::new()).await;
        let (out, err, code) = text(&o);
        assert_eq!(code, 0, "{err}");
        assert!(
            out.contains("neighbor") && out.contains("monitor") && out.contains("more-specifics"),
            "{shell}"
        );
    }

    // `ribbit monitor`: B's NOTIFICATION and state change, as JSON lines.
    let args = vec![
        "monitor".to_string(),
        "--neighbor".into(),
        b.clone(),
        "--type".into(),
        "state".into(),
        "--type".into(),
        "notification".into(),
        "--count".into(),
        "2".into(),
        "--api".into(),
        lab.url.clone(),
        "--token".into(),
        TOKEN.into(),
    ];
    let monitor = tokio::spawn(ribbit(args, Vec::new()));
    wait_streams(&lab, 1).await;
    lab.b
        .take()
        .unwrap()
        .shutdown(Some("cli test".into()))
        .await;
    let o = timeout(WITHIN, monitor)
        .await
        .expect("monitor ends")
        .expect("joined");
    let (out, err, code) = text(&o);
    assert_eq!(code, 0, "{err}");
    let events: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(events.len(), 2, "{out}");
    assert_eq!(events[0]["type"], "notification");
    assert_eq!(events[0]["shutdown-message"], "cli test");
    assert_eq!(events[1]["type"], "state");
    assert_eq!(events[1]["from"], "established");
    let (_, err, code) = lab.cli(&["monitor", "--type", "everything"]).await;
    assert_eq!(code, 1);
    assert!(err.contains("unknown event type \"everything\""), "{err}");
    wait_streams(&lab, 0).await;
    lab.stop().await;
}

// ---------------------------------------------------------------------------
// `ribbit run` starts the API; [api] in the configuration

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ribbit_run_serves_the_api_and_refuses_a_taken_address() {
    let dir = std::env::temp_dir().join(format!("ribbit-api-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("run.toml");
    std::fs::write(
        &file,
        r#"
[global]
asn = 65001
router-id = "127.0.6.61"
listen = ["127.0.6.61:11661"]

[api]
listen = "127.0.0.1:11662"

[[neighbor]]
address = "127.0.6.62"
asn = 65002
passive = true
"#,
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ribbit"))
        .args(["run", "-c"])
        .arg(&file)
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("ribbit run");
    let url = "http://127.0.0.1:11662";
    let client = Client::new(url, None).unwrap();
    let deadline = Instant::now() + WITHIN;
    let list = loop {
        match client.get_json::<Value>("/v1/neighbors").await {
            Ok(v) => break v,
            Err(e) if Instant::now() > deadline => panic!("no API: {e}"),
            Err(_) => sleep(Duration::from_millis(100)).await,
        }
    };
    assert_eq!(list["neighbors"][0]["address"], "127.0.6.62");
    assert_eq!(list["neighbors"][0]["state"], "active");

    // A second one on the same API address stops before any session.
    let second = dir.join("second.toml");
    std::fs::write(
        &second,
        std::fs::read_to_string(&file)
            .unwrap()
            .replace("11661", "11663"),
    )
    .unwrap();
    let o = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_ribbit"))
            .args(["run", "-c"])
            .arg(&second)
            .output()
            .expect("ribbit run")
    })
    .await
    .unwrap();
    let (_, err, code) = text(&o);
    assert_eq!(code, 2);
    assert!(
        err.contains("ribbit: cannot listen on 127.0.0.1:11662 for the API: "),
        "{err}"
    );
    assert!(!err.contains("state changed"), "no session started: {err}");

    // SIGTERM: it stops, and the API with it.
    let pid = i32::try_from(child.id()).expect("pid");
    // kill(1) rather than libc::kill, which would need `unsafe` here.
    let _ = Command::new("kill").arg(pid.to_string()).status();
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .expect("wait");
    assert!(status.success(), "{status}");
    assert!(client.get_json::<Value>("/v1/neighbors").await.is_err());
    let _ = std::fs::remove_dir_all(&dir);
}

fn config_errors(text: &str) -> Vec<String> {
    match Config::parse(text, "t.toml") {
        Ok(_) => Vec::new(),
        Err(e) => e.problems().iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn the_api_section_is_checked() {
    const GLOBAL: &str = "[global]\nasn = 65000\nrouter-id = \"192.0.2.1\"\n";
    let c = parse("t.toml", GLOBAL);
    assert!(c.api.enabled);
    assert_eq!(
        c.api.listen,
        "127.0.0.1:50179".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(c.api.token, None);

    let c = parse(
        "t.toml",
        &format!("{GLOBAL}[api]\nlisten = \"[::1]\"\ntoken = \"abc\"\nenabled = false\n"),
    );
    assert_eq!(c.api.listen, "[::1]:50179".parse::<SocketAddr>().unwrap());
    assert_eq!(c.api.token.as_ref().map(|t| t.as_str()), Some("abc"));
    assert!(!c.api.enabled);
    assert!(
        !format!("{:?}", c.api).contains("abc"),
        "the token is hidden"
    );
    let c = parse(
        "t.toml",
        &format!(
            "{GLOBAL}[api]\nlisten = \"0.0.0.0:8080\"\nallow-remote = true\ntoken = \"abc\"\n"
        ),
    );
    assert_eq!(c.api.listen.ip(), "0.0.0.0".parse::<IpAddr>().unwrap());

    let cases = [
        (
            "[api]\nlisten = \"192.0.2.1:50179\"\n",
            "t.toml:5: api: listen 192.0.2.1:50179 is not a loopback address: other hosts could reach the API (set allow-remote = true, with a token, if that is meant)",
        ),
        (
            "[api]\nlisten = \"0.0.0.0:1\"\nallow-remote = true\n",
            "t.toml:4: api: allow-remote = true needs a token: without one, anyone who reaches the API can read every route",
        ),
        (
            "[api]\ntoken = \"two words\"\n",
            "t.toml:5: api: token must be printable ASCII without spaces (it is sent in an HTTP header)",
        ),
        ("[api]\ntoken = \"\"\n", "t.toml:5: api: token is empty (leave it out for no token)"),
        ("[api]\nlisten = \"127.0.0.1:0\"\n", "t.toml:5: api: listen \"127.0.0.1:0\" has port 0"),
        (
            "[api]\nlisten = \"localhost:80\"\n",
            "t.toml:5: api: listen \"localhost:80\" is not a socket address (such as 127.0.0.1:50179, [::1]:50179 or 127.0.0.1)",
        ),
        (
            "[api]\nlisen = \"127.0.0.1:1\"\n",
            "t.toml:5: api: unknown key lisen (did you mean listen?)",
        ),
        (
            "[api]\ncolour = 1\n",
            "t.toml:5: api: unknown key colour (expected one of: enabled, listen, token, allow-remote)",
        ),
        ("[[api]]\n", "t.toml:4: api must be a table: [api]"),
    ];
    for (section, want) in cases {
        assert_eq!(
            config_errors(&format!("{GLOBAL}{section}")),
            [want],
            "{section}"
        );
    }
}
