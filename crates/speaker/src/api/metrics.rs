//! `GET /metrics`: what the speaker knows, in the Prometheus text
//! exposition format (version 0.0.4), for Prometheus and the scrapers that
//! read it (docs/api.md#metrics).
//!
//! Every value is read from the speaker when the scrape comes (neighbor
//! sessions, RIB counters) or from what the API itself keeps (its
//! [`Tracker`](super::events::Tracker) of NOTIFICATIONs, its open event
//! streams): nothing is counted twice, and the numbers are the ones
//! `/v1/stats` and `/v1/neighbors/{address}` answer.
//!
//! The exposition is written here rather than with the `prometheus-client`
//! crate: that crate is built around metrics that live in a registry and
//! are updated in place, whereas every value here is a snapshot taken at
//! scrape time, so it would only be used as a text encoder; the 0.0.4
//! format is a few lines of grammar (`# HELP`, `# TYPE`, `name{labels}
//! value`, three escapes), all our values are integers, and writing it
//! keeps a dependency (and its OpenMetrics-only output, which older
//! scrapers and `curl | grep` users read less easily) out of the build.
//!
//! Other parts of Ribbit add their own metrics through a
//! [`MetricsRegistry`] (the process API's queue depth and drops, once it
//! exists): they implement [`MetricsSource`], and each scrape asks them.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use tokio::task::JoinSet;
use tracing::warn;

use ribbit_fsm::State as FsmState;
use ribbit_rib::{PeerStats, RibStats};

use super::model::LastNotification;
use super::{ask, ApiError, AppState, NoParams, PATIENCE};
use crate::peer::{MessageCounts, NeighborInfo};

/// The media type of the answer: the Prometheus text format 0.0.4.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The type of a metric family, as its `# TYPE` line says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only goes up (until the process, or the thing counted, starts
    /// again); its name ends with `_total`.
    Counter,
    /// Goes up and down; also used for `_info` families (value 1, the
    /// facts in labels), which 0.0.4 has no type of its own for.
    Gauge,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
        }
    }
}

/// A metric or label name of the format: `[a-zA-Z_:][a-zA-Z0-9_:]*`
/// (colons only in metric names, and `__` starts the names Prometheus
/// keeps for itself).
fn valid_name(name: &str, metric: bool) -> bool {
    let ok = |c: char, first: bool| {
        c.is_ascii_alphabetic()
            || c == '_'
            || (metric && c == ':')
            || (!first && c.is_ascii_digit())
    };
    let mut chars = name.chars();
    chars.next().is_some_and(|c| ok(c, true))
        && chars.all(|c| ok(c, false))
        && (metric || !name.starts_with("__"))
}

/// `# HELP` text: backslash and newline escaped.
fn escape_help(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// A label value: backslash, double quote and newline escaped.
fn escape_label(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// A scrape's text, family by family.
///
/// The format wants each family's samples together, after its `# HELP` and
/// `# TYPE` lines, and each family once: [`Exposition::family`] writes the
/// head and hands out a writer for the samples, and refuses (with a
/// warning, writing nothing) a family whose name is invalid, already
/// written, or a counter without `_total`, since one bad family would make
/// Prometheus reject the whole scrape.
#[derive(Debug, Default)]
pub struct Exposition {
    text: String,
    names: HashSet<String>,
}

impl Exposition {
    /// An empty exposition.
    pub fn new() -> Exposition {
        Exposition::default()
    }

    /// Start the family `name`; its samples follow through the writer.
    pub fn family(&mut self, name: &str, kind: Kind, help: &str) -> FamilyWriter<'_> {
        let problem = if !valid_name(name, true) {
            Some("is not a valid metric name")
        } else if self.names.contains(name) {
            Some("is already written")
        } else if kind == Kind::Counter && !name.ends_with("_total") {
            Some("is a counter without _total")
        } else {
            None
        };
        if let Some(problem) = problem {
            warn!(metric = name, "metrics: left out: {problem}");
            return FamilyWriter {
                text: None,
                name: String::new(),
            };
        }
        self.names.insert(name.to_string());
        let t = &mut self.text;
        t.push_str("# HELP ");
        t.push_str(name);
        t.push(' ');
        escape_help(help, t);
        t.push('\n');
        let _ = writeln!(t, "# TYPE {name} {}", kind.name());
        FamilyWriter {
            text: Some(t),
            name: name.to_string(),
        }
    }

    /// The text, to send.
    pub fn finish(self) -> String {
        self.text
    }
}

/// Writes the samples of one family (see [`Exposition::family`]).
#[derive(Debug)]
pub struct FamilyWriter<'a> {
    /// `None` for a refused family: its samples are dropped.
    text: Option<&'a mut String>,
    name: String,
}

impl FamilyWriter<'_> {
    /// One sample: `name{labels} value`. A sample with an invalid label
    /// name is left out (with a warning).
    pub fn sample(&mut self, labels: &[(&str, &str)], value: u64) -> &mut Self {
        let Some(t) = self.text.as_deref_mut() else {
            return self;
        };
        if let Some((bad, _)) = labels.iter().find(|(k, _)| !valid_name(k, false)) {
            warn!(
                metric = self.name,
                label = bad,
                "metrics: sample left out: invalid label name"
            );
            return self;
        }
        t.push_str(&self.name);
        if !labels.is_empty() {
            t.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    t.push(',');
                }
                t.push_str(k);
                t.push_str("=\"");
                escape_label(v, t);
                t.push('"');
            }
            t.push('}');
        }
        let _ = writeln!(t, " {value}");
        self
    }
}

/// Something outside the API with metrics of its own, asked on every
/// scrape: the process API's supervisor reports its queues through it
/// (`ribbit_process_queue_lines`, `ribbit_process_events_dropped_total`...,
/// see `process/metrics.rs`).
///
/// `collect` runs on the API's request task and must not block: it should
/// read counters the source keeps (atomics, a short lock), not compute.
pub trait MetricsSource: Send + Sync {
    /// Write this source's families, `ribbit_`-prefixed and named by the
    /// Prometheus conventions (see [`Exposition::family`]).
    fn collect(&self, out: &mut Exposition);
}

/// The [`MetricsSource`]s a running API asks on each scrape, by name.
/// [`ApiServer::metrics`](super::ApiServer::metrics) gives it.
#[derive(Default)]
pub struct MetricsRegistry {
    sources: Mutex<Vec<(String, Arc<dyn MetricsSource>)>>,
}

impl std::fmt::Debug for MetricsRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = self.lock().iter().map(|(n, _)| n.clone()).collect();
        f.debug_struct("MetricsRegistry")
            .field("sources", &names)
            .finish()
    }
}

impl MetricsRegistry {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(String, Arc<dyn MetricsSource>)>> {
        // Registering is one push or removal: a panic elsewhere cannot
        // leave the list half-changed, so a poisoned lock is still good.
        self.sources.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Ask `source` from the next scrape on; it replaces a source
    /// registered under the same name.
    pub fn register(&self, name: &str, source: Arc<dyn MetricsSource>) {
        let mut list = self.lock();
        list.retain(|(n, _)| n != name);
        list.push((name.to_string(), source));
    }

    /// Stop asking the source `name`; whether there was one.
    pub fn unregister(&self, name: &str) -> bool {
        let mut list = self.lock();
        let before = list.len();
        list.retain(|(n, _)| n != name);
        list.len() != before
    }

    /// Let every source write its families, in the order they came.
    pub fn collect(&self, out: &mut Exposition) {
        // Cloned out of the lock, so that a slow source does not hold up
        // registering.
        let sources: Vec<Arc<dyn MetricsSource>> =
            self.lock().iter().map(|(_, s)| Arc::clone(s)).collect();
        for s in sources {
            s.collect(out);
        }
    }
}

/// What one neighbor looks like at scrape time.
#[derive(Debug, Clone)]
pub struct NeighborSnapshot {
    /// Its address.
    pub address: IpAddr,
    /// Its configured AS.
    pub peer_asn: u32,
    /// Whether the configuration starts its session.
    pub enabled: bool,
    /// Its session, as its task answered (`None`: it did not).
    pub info: Option<NeighborInfo>,
    /// Its RIB counters (`None`: the RIB does not know it).
    pub rib: Option<PeerStats>,
    /// The last NOTIFICATION the API saw sent or received.
    pub last_notification: Option<LastNotification>,
}

/// Everything one scrape shows, gathered before any of it is written.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Ribbit's version.
    pub version: &'static str,
    /// Now, Unix seconds (for the uptime of sessions).
    pub now: u64,
    /// The neighbors, in configuration order.
    pub neighbors: Vec<NeighborSnapshot>,
    /// The RIB's sizes and counters.
    pub rib: RibStats,
    /// Event streams open on the API.
    pub event_streams: u64,
}

/// The six states of RFC 4271 §8, with the names the rest of the API uses.
const STATES: [(FsmState, &str); 6] = [
    (FsmState::Idle, "idle"),
    (FsmState::Connect, "connect"),
    (FsmState::Active, "active"),
    (FsmState::OpenSent, "open-sent"),
    (FsmState::OpenConfirm, "open-confirm"),
    (FsmState::Established, "established"),
];

/// Message types, as the `type` label names them.
fn by_type(c: &MessageCounts) -> [(&'static str, u64); 5] {
    [
        ("open", c.open),
        ("update", c.update),
        ("notification", c.notification),
        ("keepalive", c.keepalive),
        ("route-refresh", c.route_refresh),
    ]
}

impl NeighborSnapshot {
    fn up(&self) -> bool {
        match &self.info {
            Some(i) => i.state == FsmState::Established,
            // The task did not answer: the RIB still knows whether it
            // holds a session for the neighbor.
            None => self.rib.as_ref().is_some_and(|r| r.up),
        }
    }
}

/// The family label of RIB counters: counters without a family count NLRI
/// of families that were not negotiated or that Ribbit does not decode.
fn family_label(f: Option<ribbit_wire::Family>) -> String {
    f.map_or_else(|| "other".to_string(), |f| f.to_string())
}

/// Write a snapshot, the built-in families in a fixed order.
pub fn write(s: &Snapshot, out: &mut Exposition) {
    out.family(
        "ribbit_build_info",
        Kind::Gauge,
        "Ribbit's version, in the label; always 1.",
    )
    .sample(&[("version", s.version)], 1);

    let addrs: Vec<String> = s.neighbors.iter().map(|n| n.address.to_string()).collect();
    let each = |out: &mut Exposition,
                name: &str,
                kind: Kind,
                help: &str,
                f: &dyn Fn(&NeighborSnapshot, &str, &mut FamilyWriter<'_>)| {
        let mut w = out.family(name, kind, help);
        for (n, a) in s.neighbors.iter().zip(&addrs) {
            f(n, a, &mut w);
        }
    };

    each(
        out,
        "ribbit_neighbor_enabled",
        Kind::Gauge,
        "1 when the configuration starts the neighbor's session, 0 when it is disabled.",
        &|n, a, w| {
            w.sample(&[("neighbor", a)], u64::from(n.enabled));
        },
    );
    each(
        out,
        "ribbit_neighbor_up",
        Kind::Gauge,
        "1 when the session is established, 0 otherwise.",
        &|n, a, w| {
            let asn = n.peer_asn.to_string();
            w.sample(&[("neighbor", a), ("peer_asn", &asn)], u64::from(n.up()));
        },
    );
    each(
        out,
        "ribbit_neighbor_state",
        Kind::Gauge,
        "The session's state (RFC 4271 section 8): 1 for the current one, 0 for the other five.",
        &|n, a, w| {
            if let Some(i) = &n.info {
                for (state, name) in STATES {
                    w.sample(
                        &[("neighbor", a), ("state", name)],
                        u64::from(i.state == state),
                    );
                }
            }
        },
    );
    each(
        out,
        "ribbit_neighbor_established_seconds",
        Kind::Gauge,
        "How long the session has been established, seconds; 0 when it is not.",
        &|n, a, w| {
            if let Some(i) = &n.info {
                let secs = match (i.state, i.since) {
                    (FsmState::Established, Some(since)) => s.now.saturating_sub(since),
                    _ => 0,
                };
                w.sample(&[("neighbor", a)], secs);
            }
        },
    );
    each(
        out,
        "ribbit_neighbor_last_transition_timestamp_seconds",
        Kind::Gauge,
        "When the session last came up or went down, Unix seconds; absent when it never did.",
        &|n, a, w| {
            if let Some(since) = n.info.as_ref().and_then(|i| i.since) {
                w.sample(&[("neighbor", a)], since);
            }
        },
    );
    each(
        out,
        "ribbit_neighbor_established_total",
        Kind::Counter,
        "Times the session came up since the neighbor was added; more than 1 means it flapped.",
        &|n, a, w| {
            if let Some(i) = &n.info {
                w.sample(&[("neighbor", a)], i.established);
            }
        },
    );
    each(
        out,
        "ribbit_neighbor_last_notification_info",
        Kind::Gauge,
        "The last NOTIFICATION sent to or received from the neighbor since the API started (RFC 4271 section 4.5), in the labels; always 1.",
        &|n, a, w| {
            if let Some(l) = &n.last_notification {
                let (code, subcode) = (l.code.to_string(), l.subcode.to_string());
                w.sample(
                    &[
                        ("neighbor", a),
                        ("direction", l.direction),
                        ("code", &code),
                        ("subcode", &subcode),
                        ("code_name", l.code_name),
                        ("subcode_name", l.subcode_name),
                    ],
                    1,
                );
            }
        },
    );
    each(
        out,
        "ribbit_neighbor_last_notification_timestamp_seconds",
        Kind::Gauge,
        "When the last NOTIFICATION was sent or received, Unix seconds.",
        &|n, a, w| {
            if let Some(l) = &n.last_notification {
                w.sample(&[("neighbor", a)], l.time);
            }
        },
    );
    for (name, help, pick) in [
        (
            "ribbit_messages_received_total",
            "BGP messages received from the neighbor, by type.",
            (|i: &NeighborInfo| i.received) as fn(&NeighborInfo) -> MessageCounts,
        ),
        (
            "ribbit_messages_sent_total",
            "BGP messages sent to the neighbor, by type.",
            |i: &NeighborInfo| i.sent,
        ),
    ] {
        each(out, name, Kind::Counter, help, &|n, a, w| {
            if let Some(i) = &n.info {
                for (t, v) in by_type(&pick(i)) {
                    w.sample(&[("neighbor", a), ("type", t)], v);
                }
            }
        });
    }

    type Pick = fn(&ribbit_rib::PeerFamilyStats) -> u64;
    let per_family: [(&str, Kind, &str, Pick); 6] = [
        (
            "ribbit_prefixes_received_total",
            Kind::Counter,
            "Announcements received from the neighbor, by family, since it was added.",
            |c| c.received,
        ),
        (
            "ribbit_prefixes_accepted",
            Kind::Gauge,
            "Paths from the neighbor held now, after import policy, by family.",
            |c| u64::from(c.accepted),
        ),
        (
            "ribbit_prefixes_rejected_total",
            Kind::Counter,
            "Announcements from the neighbor refused by import policy or checks, by family.",
            |c| c.rejected,
        ),
        (
            "ribbit_prefixes_withdrawn_total",
            Kind::Counter,
            "Withdrawals received from the neighbor, by family.",
            |c| c.withdrawn,
        ),
        (
            "ribbit_prefixes_ignored_total",
            Kind::Counter,
            "NLRI from the neighbor ignored, by family (family=\"other\": not negotiated or not decoded).",
            |c| c.ignored,
        ),
        (
            "ribbit_prefixes_advertised",
            Kind::Gauge,
            "Paths advertised to the neighbor now (its Adj-RIB-Out), by family.",
            |c| u64::from(c.advertised),
        ),
    ];
    for (name, kind, help, pick) in per_family {
        each(out, name, kind, help, &|n, a, w| {
            for c in n.rib.iter().flat_map(|r| &r.families) {
                let family = family_label(c.family);
                w.sample(&[("neighbor", a), ("family", &family)], pick(c));
            }
        });
    }

    let mut w = out.family(
        "ribbit_rib_destinations",
        Kind::Gauge,
        "Destinations (prefixes, flow rules, ...) with at least one path in the Loc-RIB, by family.",
    );
    for f in &s.rib.families {
        w.sample(&[("family", &f.family.to_string())], as_u64(f.destinations));
    }
    let mut w = out.family(
        "ribbit_rib_paths",
        Kind::Gauge,
        "Paths in the Loc-RIB, by family.",
    );
    for f in &s.rib.families {
        w.sample(&[("family", &f.family.to_string())], as_u64(f.paths));
    }
    out.family(
        "ribbit_rib_attribute_sets",
        Kind::Gauge,
        "Distinct path attribute sets the RIB holds (each is stored once and shared).",
    )
    .sample(&[], as_u64(s.rib.attribute_sets));
    out.family(
        "ribbit_api_event_streams",
        Kind::Gauge,
        "Event streams (GET /v1/events) open on the API.",
    )
    .sample(&[], s.event_streams);
}

fn as_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Gather a snapshot from the speaker and what the API keeps.
async fn snapshot(s: &super::Inner) -> Result<Snapshot, ApiError> {
    let rib = ask("its counters", s.speaker.rib_stats()).await?;
    let neighbors = s.speaker.config_snapshot().neighbors;
    // Every neighbor's task is asked at once: a route server has hundreds,
    // and one after the other would make the scrape as slow as their sum.
    let mut asks = JoinSet::new();
    for n in &neighbors {
        let speaker = Arc::clone(&s.speaker);
        let addr = n.address;
        asks.spawn(async move {
            let info = tokio::time::timeout(PATIENCE, speaker.neighbor_info(addr)).await;
            (addr, info.ok().flatten())
        });
    }
    let mut infos: HashMap<IpAddr, NeighborInfo> = HashMap::new();
    while let Some(done) = asks.join_next().await {
        // A neighbor removed meanwhile, or that did not answer in time,
        // gets no session metrics rather than made-up ones.
        if let Ok((addr, Some(info))) = done {
            infos.insert(addr, info);
        }
    }
    let neighbors = neighbors
        .iter()
        .map(|n| NeighborSnapshot {
            address: n.address,
            peer_asn: n.peer_asn,
            enabled: n.enabled,
            info: infos.remove(&n.address),
            rib: rib.peers.iter().find(|p| p.address == n.address).cloned(),
            last_notification: s.tracker.get(n.address).last_notification,
        })
        .collect();
    Ok(Snapshot {
        version: env!("CARGO_PKG_VERSION"),
        now: now_secs(),
        neighbors,
        rib,
        event_streams: s.streams.get(),
    })
}

/// `GET /metrics`.
pub(super) async fn metrics(
    State(s): State<AppState>,
    params: Result<Query<NoParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    params?;
    let snap = snapshot(&s).await?;
    let mut out = Exposition::new();
    write(&snap, &mut out);
    s.metrics.collect(&mut out);
    Ok((
        [(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))],
        out.finish(),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_escapes_follow_the_format() {
        assert!(valid_name("ribbit_up", true));
        assert!(valid_name("a:b_1", true));
        assert!(!valid_name("1abc", true));
        assert!(!valid_name("a-b", true));
        assert!(!valid_name("", true));
        assert!(!valid_name("a:b", false));
        assert!(!valid_name("__name__", false));
        let mut e = Exposition::new();
        e.family("x_total", Kind::Counter, "a \\ b\nc \"q\"")
            .sample(&[("l", "a\\b\"c\nd")], 3)
            .sample(&[], 0);
        assert_eq!(
            e.finish(),
            "# HELP x_total a \\\\ b\\nc \"q\"\n# TYPE x_total counter\nx_total{l=\"a\\\\b\\\"c\\nd\"} 3\nx_total 0\n"
        );
    }

    #[test]
    fn bad_families_and_samples_are_left_out() {
        let mut e = Exposition::new();
        e.family("ok", Kind::Gauge, "h").sample(&[], 1);
        e.family("ok", Kind::Gauge, "again").sample(&[], 2);
        e.family("no_suffix", Kind::Counter, "h").sample(&[], 3);
        e.family("bad-name", Kind::Gauge, "h").sample(&[], 4);
        e.family("g", Kind::Gauge, "h")
            .sample(&[("bad-label", "x")], 5)
            .sample(&[("good", "x")], 6);
        assert_eq!(
            e.finish(),
            "# HELP ok h\n# TYPE ok gauge\nok 1\n# HELP g h\n# TYPE g gauge\ng{good=\"x\"} 6\n"
        );
    }

    struct Fixed(u64);
    impl MetricsSource for Fixed {
        fn collect(&self, out: &mut Exposition) {
            out.family("ribbit_test_depth", Kind::Gauge, "test")
                .sample(&[], self.0);
        }
    }

    #[test]
    fn the_registry_asks_its_sources_by_name() {
        let r = MetricsRegistry::default();
        r.register("a", Arc::new(Fixed(1)));
        r.register("a", Arc::new(Fixed(2)));
        let mut e = Exposition::new();
        r.collect(&mut e);
        assert!(e.finish().ends_with("ribbit_test_depth 2\n"));
        assert!(r.unregister("a"));
        assert!(!r.unregister("a"));
        let mut e = Exposition::new();
        r.collect(&mut e);
        assert_eq!(e.finish(), "");
    }

    #[test]
    fn a_snapshot_is_written_one_hot_and_by_family() {
        let info = NeighborInfo {
            state: FsmState::Established,
            since: Some(1000),
            established: 2,
            session: None,
            last_down: None,
            received: MessageCounts {
                open: 1,
                update: 4,
                ..MessageCounts::default()
            },
            sent: MessageCounts::default(),
        };
        let snap = Snapshot {
            version: "9.9.9",
            now: 1060,
            neighbors: vec![NeighborSnapshot {
                address: "192.0.2.1".parse().unwrap(),
                peer_asn: 65002,
                enabled: true,
                info: Some(info),
                rib: Some(PeerStats {
                    peer: ribbit_rib::PeerId(0),
                    address: "192.0.2.1".parse().unwrap(),
                    up: true,
                    families: vec![ribbit_rib::PeerFamilyStats {
                        family: None,
                        ignored: 3,
                        ..Default::default()
                    }],
                }),
                last_notification: None,
            }],
            rib: RibStats {
                families: vec![],
                attribute_sets: 7,
                peers: vec![],
            },
            event_streams: 0,
        };
        let mut e = Exposition::new();
        write(&snap, &mut e);
        let text = e.finish();
        let has = |line: &str| text.lines().any(|l| l == line);
        assert!(has("ribbit_build_info{version=\"9.9.9\"} 1"), "{text}");
        assert!(has(
            "ribbit_neighbor_up{neighbor=\"192.0.2.1\",peer_asn=\"65002\"} 1"
        ));
        assert!(has(
            "ribbit_neighbor_state{neighbor=\"192.0.2.1\",state=\"established\"} 1"
        ));
        assert!(has(
            "ribbit_neighbor_state{neighbor=\"192.0.2.1\",state=\"idle\"} 0"
        ));
        assert_eq!(
            text.lines()
                .filter(|l| l.starts_with("ribbit_neighbor_state{"))
                .count(),
            6
        );
        assert!(has(
            "ribbit_neighbor_established_seconds{neighbor=\"192.0.2.1\"} 60"
        ));
        assert!(has(
            "ribbit_neighbor_established_total{neighbor=\"192.0.2.1\"} 2"
        ));
        assert!(has(
            "ribbit_messages_received_total{neighbor=\"192.0.2.1\",type=\"update\"} 4"
        ));
        assert!(has(
            "ribbit_prefixes_ignored_total{neighbor=\"192.0.2.1\",family=\"other\"} 3"
        ));
        assert!(has("ribbit_rib_attribute_sets 7"));
        assert!(!text.contains("ribbit_neighbor_last_notification_info{"));
    }
}
