//! `GET /metrics` against a running speaker with real BGP sessions.
//!
//! A (under test, with the API and a token) has three neighbors: B, which
//! announces three IPv4 prefixes (one refused by A's import policy) and
//! one IPv6 prefix; C, which announces nothing and so gets B's routes from
//! A; and D, disabled. B and C are Ribbit speakers in this process that
//! connect to A over loopback. The addresses are 127.0.6.181-189 and A
//! listens on port 11680 (reserved for this file); the API listens on a
//! free port of 127.0.0.1. Every wait has a deadline.
//!
//! The answer is parsed with a small parser of the text format written
//! here (every line is a comment or `name{labels} value`) that also checks
//! the format's rules: HELP and TYPE once per family and before its
//! samples, a family's samples together, counters named `_total`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ribbit::api::metrics::{Exposition, Kind, MetricsSource};
use ribbit::api::ApiServer;
use ribbit::config::Config;
use ribbit::Speaker;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{sleep, timeout, Instant};

const TOKEN: &str = "metrics-token-0123456789";
const WITHIN: Duration = Duration::from_secs(20);
const A: &str = "127.0.6.181";
const B: &str = "127.0.6.182";
const C: &str = "127.0.6.183";
const D: &str = "127.0.6.189";
const PORT: u16 = 11680;

fn a_config() -> String {
    format!(
        r#"
[global]
asn = 65001
router-id = "{A}"
listen = ["{A}:{PORT}"]

[api]
token = "{TOKEN}"

[[policy]]
name = "no-10-99"
[[policy.rule]]
match = {{ prefix = ["10.99.0.0/24"] }}
then = "reject"

[[neighbor]]
address = "{B}"
asn = 65002
passive = true
connect-retry = 1
families = ["ipv4-unicast", "ipv6-unicast"]
import = "no-10-99"

[[neighbor]]
address = "{C}"
asn = 65003
passive = true
connect-retry = 1

[[neighbor]]
address = "{D}"
asn = 65009
enabled = false
"#
    )
}

fn b_config() -> String {
    format!(
        r#"
[global]
asn = 65002
router-id = "{B}"
listen = []

[[neighbor]]
address = "{A}"
port = {PORT}
local-address = "{B}"
asn = 65001
families = ["ipv4-unicast", "ipv6-unicast"]
connect-retry = 1

[[neighbor.route]]
prefix = "10.0.0.0/16"

[[neighbor.route]]
prefix = "10.0.1.0/24"

[[neighbor.route]]
prefix = "10.99.0.0/24"

[[neighbor.route]]
prefix = "2001:db8:2::/48"
next-hop = "2001:db8::2"
"#
    )
}

fn c_config() -> String {
    format!(
        r#"
[global]
asn = 65003
router-id = "{C}"
listen = []

[[neighbor]]
address = "{A}"
port = {PORT}
local-address = "{C}"
asn = 65001
connect-retry = 1
"#
    )
}

async fn start(name: &str, text: &str) -> Speaker {
    let config = Config::parse(text, name).unwrap_or_else(|e| panic!("{name}: {e}"));
    Speaker::start(&config)
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

// ---------------------------------------------------------------------------
// HTTP

struct Answer {
    status: u16,
    /// The head, lowercased.
    head: String,
    body: String,
}

async fn get(addr: SocketAddr, path: &str, token: Option<&str>) -> Answer {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(t) = token {
        req.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.expect("write");
    let mut buf = Vec::new();
    timeout(WITHIN, s.read_to_end(&mut buf))
        .await
        .expect("answer in time")
        .expect("read");
    let text = String::from_utf8(buf).expect("UTF-8");
    let (head, body) = text.split_once("\r\n\r\n").expect("a head");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    Answer {
        status,
        head: head.to_ascii_lowercase(),
        body: body.to_string(),
    }
}

// ---------------------------------------------------------------------------
// The text format

#[derive(Debug, Default)]
struct Scrape {
    help: HashMap<String, String>,
    types: HashMap<String, String>,
    samples: Vec<(String, BTreeMap<String, String>, f64)>,
}

/// The labels after `{`: `a="x",b="y"}`, values with the escapes `\\`,
/// `\"` and `\n`; and what follows the `}`.
fn parse_labels(text: &str) -> Result<(BTreeMap<String, String>, &str), String> {
    let mut labels = BTreeMap::new();
    let mut rest = text;
    if let Some(after) = rest.strip_prefix('}') {
        return Ok((labels, after));
    }
    loop {
        let eq = rest.find('=').ok_or("label without =")?;
        let key = &rest[..eq];
        let key_ok = key
            .chars()
            .enumerate()
            .all(|(i, c)| c.is_ascii_alphabetic() || c == '_' || (i > 0 && c.is_ascii_digit()));
        if key.is_empty() || !key_ok {
            return Err(format!("bad label name {key:?}"));
        }
        let quoted = rest[eq + 1..]
            .strip_prefix('"')
            .ok_or("label value not quoted")?;
        let mut value = String::new();
        let mut chars = quoted.char_indices();
        let close = loop {
            match chars.next().ok_or("unclosed label value")? {
                (_, '\\') => match chars.next().ok_or("lone backslash")?.1 {
                    '\\' => value.push('\\'),
                    '"' => value.push('"'),
                    'n' => value.push('\n'),
                    c => return Err(format!("bad escape \\{c}")),
                },
                (i, '"') => break i,
                (_, c) => value.push(c),
            }
        };
        if labels.insert(key.to_string(), value).is_some() {
            return Err(format!("label {key} twice"));
        }
        let after = &quoted[close + 1..];
        if let Some(more) = after.strip_prefix(',') {
            rest = more;
        } else if let Some(end) = after.strip_prefix('}') {
            return Ok((labels, end));
        } else {
            return Err("expected , or } after a label".into());
        }
    }
}

/// `name{labels} value` (labels optional).
fn parse_sample(line: &str) -> Result<(String, BTreeMap<String, String>, f64), String> {
    let end = line.find(['{', ' ']).ok_or("no value")?;
    let name = &line[..end];
    let name_ok = name.chars().enumerate().all(|(i, c)| {
        c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit())
    });
    if name.is_empty() || !name_ok {
        return Err(format!("bad metric name {name:?}"));
    }
    let (labels, rest) = match line[end..].strip_prefix('{') {
        Some(inner) => parse_labels(inner)?,
        None => (BTreeMap::new(), &line[end..]),
    };
    let value = rest.strip_prefix(' ').ok_or("no space before the value")?;
    let value: f64 = value.parse().map_err(|_| format!("bad value {value:?}"))?;
    Ok((name.to_string(), labels, value))
}

/// Parse a whole answer, checking the format's rules as it goes.
fn parse(text: &str) -> Result<Scrape, String> {
    let mut s = Scrape::default();
    // Families whose samples are over: a sample of one of them later
    // would split the family.
    let mut closed: HashSet<String> = HashSet::new();
    let mut current: Option<String> = None;
    for (n, line) in text.lines().enumerate() {
        let at = |e: String| format!("line {}: {e}: {line:?}", n + 1);
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest
                .split_once(' ')
                .ok_or_else(|| at("HELP without text".into()))?;
            if s.help.insert(name.to_string(), help.to_string()).is_some() {
                return Err(at(format!("second HELP for {name}")));
            }
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest
                .split_once(' ')
                .ok_or_else(|| at("TYPE without type".into()))?;
            if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind) {
                return Err(at(format!("unknown type {kind}")));
            }
            if s.types.insert(name.to_string(), kind.to_string()).is_some() {
                return Err(at(format!("second TYPE for {name}")));
            }
            if kind == "counter" && !name.ends_with("_total") {
                return Err(at(format!("counter {name} without _total")));
            }
        } else if line.starts_with('#') {
            // Another comment.
        } else if line.is_empty() {
            return Err(at("empty line".into()));
        } else {
            let (name, labels, value) = parse_sample(line).map_err(at)?;
            if !s.help.contains_key(&name) || !s.types.contains_key(&name) {
                return Err(at(format!("{name} has no HELP or TYPE before it")));
            }
            if current.as_deref() != Some(&name) {
                if closed.contains(&name) {
                    return Err(at(format!("the samples of {name} are not together")));
                }
                closed.extend(current.replace(name.clone()));
            }
            s.samples.push((name, labels, value));
        }
    }
    if !text.ends_with('\n') {
        return Err("the last line has no newline".into());
    }
    Ok(s)
}

impl Scrape {
    /// The value of the one sample of `name` whose labels include `want`.
    fn value(&self, name: &str, want: &[(&str, &str)]) -> Option<f64> {
        let found: Vec<f64> = self
            .samples
            .iter()
            .filter(|(n, l, _)| {
                n == name
                    && want
                        .iter()
                        .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|(_, _, v)| *v)
            .collect();
        assert!(found.len() <= 1, "{name} {want:?}: {found:?}");
        found.first().copied()
    }

    fn get(&self, name: &str, want: &[(&str, &str)]) -> f64 {
        self.value(name, want)
            .unwrap_or_else(|| panic!("no sample {name} {want:?}"))
    }
}

#[test]
fn the_parser_refuses_what_the_format_does_not_allow() {
    let head = "# HELP a_total x\n# TYPE a_total counter\n";
    let ok = parse(&format!("{head}a_total{{l=\"q\\\"\\\\\\n\",m=\"\"}} 3\n")).unwrap();
    assert_eq!(ok.get("a_total", &[("l", "q\"\\\n"), ("m", "")]), 3.0);
    for bad in [
        "a_total 1\n".to_string(),
        format!("{head}a_total{{l=\"x\"}} 1"),
        format!("{head}a_total{{l=x}} 1\n"),
        format!("{head}a_total{{l=\"x\"\n"),
        format!("{head}a_total{{l=\"x\",l=\"y\"}} 1\n"),
        format!("{head}a_total one\n"),
        format!("{head}{head}"),
        "# HELP a x\n# TYPE a counter\n".to_string(),
        format!("{head}# HELP b x\n# TYPE b gauge\na_total 1\nb 1\na_total 2\n"),
    ] {
        assert!(parse(&bad).is_err(), "{bad:?} parsed");
    }
}

// ---------------------------------------------------------------------------
// The lab

/// A source of the kind the process supervisor is to register: its value
/// changes between scrapes, as a queue depth does.
struct Queue(AtomicU64);

impl MetricsSource for Queue {
    fn collect(&self, out: &mut Exposition) {
        out.family(
            "ribbit_test_queue_depth",
            Kind::Gauge,
            "A test source's queue.",
        )
        .sample(&[("process", "test")], self.0.load(Ordering::Relaxed));
        // A name the API already writes: left out, the scrape stays valid.
        out.family("ribbit_rib_paths", Kind::Gauge, "again")
            .sample(&[], 12345);
    }
}

async fn scrape(addr: SocketAddr) -> Scrape {
    let a = get(addr, "/metrics", Some(TOKEN)).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(
        a.head
            .contains("content-type: text/plain; version=0.0.4; charset=utf-8"),
        "{}",
        a.head
    );
    parse(&a.body).unwrap_or_else(|e| panic!("{e}\n{}", a.body))
}

/// Scrape until `ok` holds, or panic with the last scrape.
async fn until(addr: SocketAddr, what: &str, ok: impl Fn(&Scrape) -> bool) -> Scrape {
    let deadline = Instant::now() + WITHIN;
    loop {
        let s = scrape(addr).await;
        if ok(&s) {
            return s;
        }
        if Instant::now() > deadline {
            panic!("{what}: not within {WITHIN:?}: {s:#?}");
        }
        sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_tell_what_the_speaker_knows() {
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut config = Config::parse(&a_config(), "a.toml").expect("a.toml");
    config.api.listen = "127.0.0.1:0".parse().unwrap();
    let config = Arc::new(config);
    let a = Arc::new(Speaker::start(&config).await.expect("A starts"));
    let api = ApiServer::start(Arc::clone(&config), Arc::clone(&a))
        .await
        .expect("the API starts");
    let addr = api.local_addr();
    let queue = Arc::new(Queue(AtomicU64::new(3)));
    api.metrics().register("test", queue.clone());
    let b = start("b.toml", &b_config()).await;
    let c = start("c.toml", &c_config()).await;

    // Access: the token, as for /v1/.
    for token in [None, Some("wrong")] {
        let r = get(addr, "/metrics", token).await;
        assert_eq!(r.status, 401, "{token:?}: {}", r.body);
        assert!(r.body.contains("\"error\""), "{}", r.body);
    }
    let r = get(addr, "/metrics?bogus=1", Some(TOKEN)).await;
    assert_eq!(r.status, 400, "{}", r.body);

    let up = |s: &Scrape, n: &str| s.value("ribbit_neighbor_up", &[("neighbor", n)]) == Some(1.0);
    let s = until(addr, "B's and C's routes", |s| {
        up(s, B)
            && up(s, C)
            && s.value(
                "ribbit_prefixes_advertised",
                &[("neighbor", C), ("family", "ipv4-unicast")],
            ) == Some(2.0)
            && s.value(
                "ribbit_prefixes_accepted",
                &[("neighbor", B), ("family", "ipv6-unicast")],
            ) == Some(1.0)
    })
    .await;

    // Build and neighbors.
    assert_eq!(
        s.get(
            "ribbit_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        1.0
    );
    assert_eq!(
        s.get(
            "ribbit_neighbor_up",
            &[("neighbor", B), ("peer_asn", "65002")]
        ),
        1.0
    );
    assert_eq!(s.get("ribbit_neighbor_up", &[("neighbor", D)]), 0.0);
    assert_eq!(s.get("ribbit_neighbor_enabled", &[("neighbor", D)]), 0.0);
    assert_eq!(s.get("ribbit_neighbor_enabled", &[("neighbor", B)]), 1.0);
    let states: Vec<(&str, f64)> = s
        .samples
        .iter()
        .filter(|(n, l, _)| n == "ribbit_neighbor_state" && l["neighbor"] == B)
        .map(|(_, l, v)| (l["state"].as_str(), *v))
        .collect();
    assert_eq!(
        states,
        [
            ("idle", 0.0),
            ("connect", 0.0),
            ("active", 0.0),
            ("open-sent", 0.0),
            ("open-confirm", 0.0),
            ("established", 1.0)
        ]
    );
    assert_eq!(
        s.get("ribbit_neighbor_established_total", &[("neighbor", B)]),
        1.0
    );
    let since = s.get(
        "ribbit_neighbor_last_transition_timestamp_seconds",
        &[("neighbor", B)],
    );
    assert!(
        since >= started as f64 && since <= started as f64 + 60.0,
        "{since}"
    );
    let uptime = s.get("ribbit_neighbor_established_seconds", &[("neighbor", B)]);
    assert!((0.0..60.0).contains(&uptime), "{uptime}");

    // Messages: the same numbers the neighbor's task counts.
    let info = a.neighbor_info(B.parse().unwrap()).await.expect("B's info");
    let msg = |dir: &str, t: &str| s.get(dir, &[("neighbor", B), ("type", t)]);
    assert!(msg("ribbit_messages_received_total", "open") >= 1.0);
    assert!(msg("ribbit_messages_sent_total", "open") >= 1.0);
    assert!(msg("ribbit_messages_received_total", "update") >= 3.0);
    assert!(msg("ribbit_messages_received_total", "update") <= info.received.update as f64);
    assert!(msg("ribbit_messages_received_total", "keepalive") >= 1.0);
    assert_eq!(msg("ribbit_messages_received_total", "notification"), 0.0);

    // Prefixes: B sent three IPv4 prefixes, A's policy refused one.
    let pfx = |name: &str, n: &str, f: &str| s.get(name, &[("neighbor", n), ("family", f)]);
    assert_eq!(
        pfx("ribbit_prefixes_received_total", B, "ipv4-unicast"),
        3.0
    );
    assert_eq!(pfx("ribbit_prefixes_accepted", B, "ipv4-unicast"), 2.0);
    assert_eq!(
        pfx("ribbit_prefixes_rejected_total", B, "ipv4-unicast"),
        1.0
    );
    assert_eq!(
        pfx("ribbit_prefixes_withdrawn_total", B, "ipv4-unicast"),
        0.0
    );
    assert_eq!(pfx("ribbit_prefixes_accepted", B, "ipv6-unicast"), 1.0);
    assert_eq!(pfx("ribbit_prefixes_accepted", C, "ipv4-unicast"), 0.0);
    assert_eq!(pfx("ribbit_prefixes_advertised", C, "ipv4-unicast"), 2.0);

    // The RIB: as the speaker says, and what B's routes make.
    let stats = a.rib_stats().await.expect("stats");
    for f in &stats.families {
        let family = f.family.to_string();
        let l = [("family", family.as_str())];
        assert_eq!(
            s.get("ribbit_rib_destinations", &l),
            f.destinations as f64,
            "{family}"
        );
        assert_eq!(s.get("ribbit_rib_paths", &l), f.paths as f64, "{family}");
    }
    assert_eq!(
        s.get("ribbit_rib_destinations", &[("family", "ipv4-unicast")]),
        2.0
    );
    assert_eq!(
        s.get("ribbit_rib_destinations", &[("family", "ipv6-unicast")]),
        1.0
    );
    assert_eq!(
        s.get("ribbit_rib_attribute_sets", &[]),
        stats.attribute_sets as f64
    );
    assert!(s.get("ribbit_rib_attribute_sets", &[]) >= 1.0);
    assert_eq!(s.get("ribbit_api_event_streams", &[]), 0.0);

    // Every family of the API has its HELP and TYPE, whether or not it has
    // samples now, and every address family its table sizes.
    for name in [
        "ribbit_build_info",
        "ribbit_neighbor_enabled",
        "ribbit_neighbor_up",
        "ribbit_neighbor_state",
        "ribbit_neighbor_established_seconds",
        "ribbit_neighbor_last_transition_timestamp_seconds",
        "ribbit_neighbor_established_total",
        "ribbit_neighbor_last_notification_info",
        "ribbit_neighbor_last_notification_timestamp_seconds",
        "ribbit_messages_received_total",
        "ribbit_messages_sent_total",
        "ribbit_prefixes_received_total",
        "ribbit_prefixes_accepted",
        "ribbit_prefixes_rejected_total",
        "ribbit_prefixes_withdrawn_total",
        "ribbit_prefixes_ignored_total",
        "ribbit_prefixes_advertised",
        "ribbit_rib_destinations",
        "ribbit_rib_paths",
        "ribbit_rib_attribute_sets",
        "ribbit_api_event_streams",
    ] {
        assert!(s.help.contains_key(name), "no HELP for {name}");
        let want = if name.ends_with("_total") {
            "counter"
        } else {
            "gauge"
        };
        assert_eq!(
            s.types.get(name).map(String::as_str),
            Some(want),
            "TYPE of {name}"
        );
    }
    for family in ["ipv4-unicast", "ipv6-unicast"] {
        assert!(
            s.value("ribbit_rib_paths", &[("family", family)]).is_some(),
            "{family}"
        );
    }
    // No NOTIFICATION yet.
    assert_eq!(
        s.value("ribbit_neighbor_last_notification_info", &[("neighbor", C)]),
        None
    );

    // The registered source: asked on each scrape; its duplicate of a
    // built-in family is left out.
    assert_eq!(
        s.get("ribbit_test_queue_depth", &[("process", "test")]),
        3.0
    );
    assert!(!s.samples.iter().any(|(_, _, v)| *v == 12345.0));
    queue.0.store(5, Ordering::Relaxed);
    let s = scrape(addr).await;
    assert_eq!(
        s.get("ribbit_test_queue_depth", &[("process", "test")]),
        5.0
    );
    assert!(api.metrics().unregister("test"));
    let s = scrape(addr).await;
    assert!(!s.types.contains_key("ribbit_test_queue_depth"));

    // C goes away with a shutdown message and comes back: a flap, and the
    // NOTIFICATION it sent.
    c.shutdown(Some("maintenance".into())).await;
    let c = start("c.toml", &c_config()).await;
    let s = until(addr, "C back", |s| {
        up(s, C) && s.value("ribbit_neighbor_established_total", &[("neighbor", C)]) == Some(2.0)
    })
    .await;
    assert_eq!(
        s.get(
            "ribbit_neighbor_last_notification_info",
            &[
                ("neighbor", C),
                ("direction", "received"),
                ("code", "6"),
                ("subcode", "2"),
                ("code_name", "Cease"),
                ("subcode_name", "Administrative Shutdown"),
            ]
        ),
        1.0
    );
    let at = s.get(
        "ribbit_neighbor_last_notification_timestamp_seconds",
        &[("neighbor", C)],
    );
    assert!(at >= started as f64, "{at}");
    assert_eq!(
        s.get(
            "ribbit_messages_received_total",
            &[("neighbor", C), ("type", "notification")]
        ),
        1.0
    );
    // At least one OPEN per session; a connection attempt of C's that
    // lost a collision or was dropped during the restart counts too.
    let opens = s.get(
        "ribbit_messages_received_total",
        &[("neighbor", C), ("type", "open")],
    );
    assert!(opens >= 2.0, "{opens}");

    api.stop().await;
    b.shutdown(None).await;
    c.shutdown(None).await;
    if let Ok(a) = Arc::try_unwrap(a) {
        a.shutdown(None).await;
    }
}
