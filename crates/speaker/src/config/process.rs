//! `[[process]]`: programs Ribbit runs and talks to in ExaBGP's process API
//! (`docs/process.md`): their standard output is read as commands, events
//! are written to their standard input as JSON lines.
//!
//! ```toml
//! [[process]]
//! name = "controller"
//! run = "/usr/local/bin/controller.py --flag"   # split like a shell would
//! encoder = "exabgp"                           # or "ribbit"
//! neighbors = ["*"]                            # which neighbors it hears about and may command
//! receive = ["update", "state", "notification"]
//! ```

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::Duration;

use serde::Deserialize;
use toml::de::DeTable;
use toml::Spanned;

use super::report::Report;
use super::values::{backoff, number};
use crate::process::shell;

/// Lines a program may have waiting to be read when `queue` is not given.
pub const DEFAULT_QUEUE: usize = 10_000;
/// The first wait before a program that exited is started again.
pub const DEFAULT_RESTART_BACKOFF: Duration = Duration::from_secs(1);
/// The longest wait between two starts of a program that keeps exiting.
pub const DEFAULT_RESTART_BACKOFF_MAX: Duration = Duration::from_secs(60);

/// The JSON a program is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoder {
    /// ExaBGP's API v4 JSON, as ExaBGP 4.2 writes it (`encoder = "exabgp"`,
    /// the default; `"json"` is accepted as ExaBGP names it).
    Exabgp,
    /// Ribbit's own JSON, the lines of the HTTP API's event stream
    /// (`encoder = "ribbit"`).
    Ribbit,
}

/// The kinds of event a program can be sent (`receive`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventKind {
    /// UPDATEs received from a neighbor (End-of-RIB included).
    Update,
    /// Session state changes: `connected`, `up`, `down` with the reason.
    State,
    /// NOTIFICATIONs sent to or received from a neighbor.
    Notification,
    /// ROUTE-REFRESH messages received.
    Refresh,
    /// OPEN messages received.
    Open,
    /// KEEPALIVE messages received.
    Keepalive,
    /// What a session negotiated, when it comes up.
    Negotiated,
}

impl EventKind {
    /// The kinds and their names in `receive`.
    pub const ALL: [(EventKind, &'static str); 7] = [
        (EventKind::Update, "update"),
        (EventKind::State, "state"),
        (EventKind::Notification, "notification"),
        (EventKind::Refresh, "refresh"),
        (EventKind::Open, "open"),
        (EventKind::Keepalive, "keepalive"),
        (EventKind::Negotiated, "negotiated"),
    ];

    /// The name in `receive`.
    pub fn name(self) -> &'static str {
        EventKind::ALL
            .iter()
            .find(|(k, _)| *k == self)
            .map_or("", |(_, n)| n)
    }
}

/// ExaBGP message kinds a program may ask for that Ribbit does not send:
/// operational messages are ExaBGP's own (a draft never published as an
/// RFC), which Ribbit neither sends nor decodes.
const NOT_YET: [&str; 1] = ["operational"];

/// Which neighbors a program hears about and may command (`neighbors`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NeighborScope {
    /// `["*"]`: every neighbor, those added at run time included.
    All,
    /// These neighbors only.
    Only(BTreeSet<IpAddr>),
}

impl NeighborScope {
    /// Whether `peer` is in scope.
    pub fn contains(&self, peer: IpAddr) -> bool {
        match self {
            NeighborScope::All => true,
            NeighborScope::Only(set) => set.contains(&peer),
        }
    }
}

/// What happens when a program does not read its events as fast as they
/// come (`on-overflow`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overflow {
    /// `"block"` (the default): the program waits: its events are held and
    /// its commands are not read until it has read what is queued for it.
    /// Sessions and other programs go on; events it falls behind by more
    /// than the speaker's event buffer are reported as a gap with a re-sync.
    Block,
    /// `"drop"`: events that do not fit in the queue are dropped and
    /// counted; once there is room again the program gets a `gap` event
    /// with the count, then a re-sync of what it missed.
    Drop,
}

/// What happens to the routes a program announced when it exits
/// (`on-exit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnExit {
    /// `"keep"` (the default, as ExaBGP does): they stay announced; the
    /// program's next run can withdraw or replace them.
    Keep,
    /// `"withdraw"`: they are withdrawn at once.
    Withdraw,
}

/// One `[[process]]`, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessConfig {
    /// `name`: unique; names the program in logs and in the API.
    pub name: String,
    /// `run` as written.
    pub run: String,
    /// `run` split into the program and its arguments.
    pub argv: Vec<String>,
    /// `encoder`.
    pub encoder: Encoder,
    /// `neighbors` (default `["*"]`).
    pub neighbors: NeighborScope,
    /// `receive` (default `["update", "state"]`).
    pub receive: BTreeSet<EventKind>,
    /// `queue`: lines that may wait for the program to read them (default 10000).
    pub queue: usize,
    /// `on-overflow` (default block).
    pub on_overflow: Overflow,
    /// `on-exit` (default keep).
    pub on_exit: OnExit,
    /// `restart-backoff`: the first wait before a program that exited is
    /// started again, doubled at each exit in a row (default 1 s).
    pub restart_backoff: Duration,
    /// `restart-backoff-max`: the longest wait (default 60 s).
    pub restart_backoff_max: Duration,
    /// `ack`: whether commands are answered `done` / `error` (default true,
    /// as ExaBGP's `exabgp.api.ack`).
    pub ack: bool,
    /// The line of the table in the file.
    pub line: usize,
}

impl ProcessConfig {
    /// A process with the defaults of every optional key.
    pub fn new(name: impl Into<String>, argv: Vec<String>) -> ProcessConfig {
        ProcessConfig {
            name: name.into(),
            run: argv.join(" "),
            argv,
            encoder: Encoder::Exabgp,
            neighbors: NeighborScope::All,
            receive: [EventKind::Update, EventKind::State].into_iter().collect(),
            queue: DEFAULT_QUEUE,
            on_overflow: Overflow::Block,
            on_exit: OnExit::Keep,
            restart_backoff: DEFAULT_RESTART_BACKOFF,
            restart_backoff_max: DEFAULT_RESTART_BACKOFF_MAX,
            ack: true,
            line: 0,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawProcess {
    name: Option<Spanned<String>>,
    run: Option<Spanned<String>>,
    encoder: Option<Spanned<String>>,
    neighbors: Option<Spanned<Vec<Spanned<String>>>>,
    receive: Option<Spanned<Vec<Spanned<String>>>>,
    queue: Option<Spanned<i64>>,
    on_overflow: Option<Spanned<String>>,
    on_exit: Option<Spanned<String>>,
    restart_backoff: Option<Spanned<i64>>,
    restart_backoff_max: Option<Spanned<i64>>,
    ack: Option<bool>,
}

/// Read one `[[process]]` table. Neighbor addresses are checked against
/// the configured neighbors by the caller, once all are read.
pub(super) fn read(r: &mut Report<'_>, table: Spanned<DeTable<'_>>) -> Option<ProcessConfig> {
    let line = r.line(table.span().start);
    let span = table.span();
    let raw: RawProcess = r.deserialize(table, "process")?;
    let Some(name) = raw.name else {
        r.error(&span, "process", "name is missing (name = \"controller\")");
        return None;
    };
    let ctx = format!("process {}", name.get_ref());
    let mut ok = true;
    if name.get_ref().trim().is_empty() || name.get_ref().chars().any(char::is_control) {
        r.error(
            &name.span(),
            "process",
            "name must be printable text, not empty",
        );
        ok = false;
    }
    let Some(run) = raw.run else {
        r.error(
            &span,
            &ctx,
            "run is missing: the command line of the program (run = \"/usr/local/bin/controller.py --flag\")",
        );
        return None;
    };
    let argv = match shell::split(run.get_ref()) {
        Ok(argv) => argv,
        Err(e) => {
            r.error(&run.span(), &ctx, format!("run: {e}"));
            ok = false;
            Vec::new()
        }
    };
    let mut p = ProcessConfig::new(name.get_ref().trim(), argv);
    p.run = run.get_ref().clone();
    p.line = line;

    if let Some(e) = &raw.encoder {
        match e.get_ref().as_str() {
            "exabgp" | "json" => p.encoder = Encoder::Exabgp,
            "ribbit" => p.encoder = Encoder::Ribbit,
            "text" => {
                r.error(
                    &e.span(),
                    &ctx,
                    "encoder \"text\" (ExaBGP's text events) is not supported: use \"exabgp\" (ExaBGP's JSON) or \"ribbit\"",
                );
                ok = false;
            }
            other => {
                r.error(
                    &e.span(),
                    &ctx,
                    format!("encoder {other:?} is not known (expected \"exabgp\" or \"ribbit\")"),
                );
                ok = false;
            }
        }
    }

    if let Some(list) = &raw.neighbors {
        let items = list.get_ref();
        if items.iter().any(|i| i.get_ref() == "*") {
            if items.len() > 1 {
                r.error(
                    &list.span(),
                    &ctx,
                    "neighbors: \"*\" already means every neighbor; give it alone",
                );
                ok = false;
            }
        } else {
            let mut set = BTreeSet::new();
            for item in items {
                match item.get_ref().trim().parse::<IpAddr>() {
                    Ok(a) => {
                        set.insert(a);
                    }
                    Err(_) => {
                        r.error(
                            &item.span(),
                            &ctx,
                            format!(
                                "neighbors: {:?} is not an IP address (or \"*\" for every neighbor)",
                                item.get_ref()
                            ),
                        );
                        ok = false;
                    }
                }
            }
            if items.is_empty() {
                r.error(
                    &list.span(),
                    &ctx,
                    "neighbors is empty: give addresses, or [\"*\"] for every neighbor",
                );
                ok = false;
            }
            p.neighbors = NeighborScope::Only(set);
        }
    }

    if let Some(list) = &raw.receive {
        p.receive.clear();
        for item in list.get_ref() {
            let word = item.get_ref().trim();
            if let Some((kind, _)) = EventKind::ALL.iter().find(|(_, n)| *n == word) {
                p.receive.insert(*kind);
            } else if NOT_YET.contains(&word) {
                r.error(
                    &item.span(),
                    &ctx,
                    format!(
                        "receive: {word:?} events are not available (Ribbit sends update, state, notification, refresh, open, keepalive and negotiated)"
                    ),
                );
                ok = false;
            } else {
                let names: Vec<&str> = EventKind::ALL.iter().map(|(_, n)| *n).collect();
                r.error(
                    &item.span(),
                    &ctx,
                    format!(
                        "receive: {word:?} is not an event kind (expected {})",
                        names.join(", ")
                    ),
                );
                ok = false;
            }
        }
    }

    if let Some(q) = &raw.queue {
        match number::<usize>(r, &ctx, "queue", q, 1..=10_000_000) {
            Some(n) => p.queue = n,
            None => ok = false,
        }
    }
    if let Some(v) = &raw.on_overflow {
        match v.get_ref().as_str() {
            "block" => p.on_overflow = Overflow::Block,
            "drop" => p.on_overflow = Overflow::Drop,
            other => {
                r.error(
                    &v.span(),
                    &ctx,
                    format!("on-overflow {other:?} is not known (expected \"block\" or \"drop\")"),
                );
                ok = false;
            }
        }
    }
    if let Some(v) = &raw.on_exit {
        match v.get_ref().as_str() {
            "keep" => p.on_exit = OnExit::Keep,
            "withdraw" => p.on_exit = OnExit::Withdraw,
            other => {
                r.error(
                    &v.span(),
                    &ctx,
                    format!("on-exit {other:?} is not known (expected \"keep\" or \"withdraw\")"),
                );
                ok = false;
            }
        }
    }
    match backoff(
        r,
        &ctx,
        "restart-backoff",
        (
            raw.restart_backoff.as_ref(),
            raw.restart_backoff_max.as_ref(),
        ),
        (0..=3600, 1..=86_400),
        (p.restart_backoff, p.restart_backoff_max),
        &span,
    ) {
        Some((first, longest)) => {
            p.restart_backoff = first;
            p.restart_backoff_max = longest;
        }
        None => ok = false,
    }
    if let Some(a) = raw.ack {
        p.ack = a;
    }
    ok.then_some(p)
}

/// Checks across tables: names are unique, and listed neighbors are
/// configured ones (a typo must not leave a program hearing nothing).
pub(super) fn check_all(
    r: &mut Report<'_>,
    processes: &[ProcessConfig],
    neighbors: &[super::NeighborConfig],
) {
    for (i, p) in processes.iter().enumerate() {
        let ctx = format!("process {}", p.name);
        if let Some(first) = processes[..i].iter().find(|o| o.name == p.name) {
            r.error_at_line(
                p.line,
                &ctx,
                format!("name is already that of the process at line {}", first.line),
            );
        }
        if let NeighborScope::Only(set) = &p.neighbors {
            for a in set {
                if !neighbors.iter().any(|n| n.address == *a) {
                    r.error_at_line(
                        p.line,
                        &ctx,
                        format!("neighbors: {a} is not a configured neighbor"),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    use super::*;

    const HEAD: &str = r#"
[global]
asn = 65000
router-id = "192.0.2.1"

[[neighbor]]
address = "127.0.0.2"
asn = 65001
"#;

    fn parse(body: &str) -> Result<Config, String> {
        Config::parse(&format!("{HEAD}{body}"), "t.toml").map_err(|e| e.to_string())
    }

    #[test]
    fn the_issue_example_and_defaults() {
        let c = parse(
            r#"
[[process]]
name = "controller"
run = "/usr/local/bin/controller.py --flag"   # a command line, split like a shell would
encoder = "exabgp"                           # or "ribbit"
neighbors = ["*"]                            # which neighbors it hears about and may command
receive = ["update", "state", "notification"]

[[process]]
name = "health"
run = "ribbit healthcheck --cmd 'test -e /tmp/up' --ip 192.0.2.10/32"
"#,
        )
        .unwrap();
        let p = &c.processes[0];
        assert_eq!(p.name, "controller");
        assert_eq!(p.argv, ["/usr/local/bin/controller.py", "--flag"]);
        assert_eq!(p.encoder, Encoder::Exabgp);
        assert_eq!(p.neighbors, NeighborScope::All);
        assert_eq!(
            p.receive,
            [EventKind::Update, EventKind::State, EventKind::Notification]
                .into_iter()
                .collect()
        );
        let h = &c.processes[1];
        assert_eq!(
            h.argv,
            [
                "ribbit",
                "healthcheck",
                "--cmd",
                "test -e /tmp/up",
                "--ip",
                "192.0.2.10/32"
            ]
        );
        // By default a process gets every neighbor's updates and state changes.
        assert_eq!(
            h.receive,
            [EventKind::Update, EventKind::State].into_iter().collect()
        );
        assert_eq!(h.queue, DEFAULT_QUEUE);
        assert_eq!(h.on_overflow, Overflow::Block);
        assert_eq!(h.on_exit, OnExit::Keep);
        assert!(h.ack);
    }

    #[test]
    fn every_key() {
        let c = parse(
            r#"
[[process]]
name = "p"
run = "./p.py"
encoder = "ribbit"
neighbors = ["127.0.0.2"]
receive = ["refresh"]
queue = 50
on-overflow = "drop"
on-exit = "withdraw"
restart-backoff = 2
restart-backoff-max = 10
ack = false
"#,
        )
        .unwrap();
        let p = &c.processes[0];
        assert_eq!(p.encoder, Encoder::Ribbit);
        assert!(p.neighbors.contains("127.0.0.2".parse().unwrap()));
        assert!(!p.neighbors.contains("127.0.0.3".parse().unwrap()));
        assert_eq!(p.queue, 50);
        assert_eq!(p.on_overflow, Overflow::Drop);
        assert_eq!(p.on_exit, OnExit::Withdraw);
        assert_eq!(p.restart_backoff, Duration::from_secs(2));
        assert_eq!(p.restart_backoff_max, Duration::from_secs(10));
        assert!(!p.ack);
    }

    #[test]
    fn problems_one_line_each() {
        let e = parse(
            r#"
[[process]]
name = "a"
run = "x"
neighbors = ["127.0.0.9"]

[[process]]
name = "b"
run = "x 'unclosed"
encoder = "text"
neighbors = ["bogus"]
receive = ["update", "operational", "updates"]
on-overflow = "wait"
queue = 0
restart-backoff = 100
restart-backoff-max = 10

[[process]]
name = "a"
run = "y"
"#,
        )
        .unwrap_err();
        for expected in [
            "t.toml:17: process b: run: the single quote opened at character 3 is not closed",
            "encoder \"text\" (ExaBGP's text events) is not supported",
            "neighbors: \"bogus\" is not an IP address",
            "t.toml:10: process a: neighbors: 127.0.0.9 is not a configured neighbor",
            "receive: \"operational\" events are not available",
            "receive: \"updates\" is not an event kind",
            "on-overflow \"wait\" is not known",
            "queue 0 is out of range",
            "t.toml:26: process a: name is already that of the process at line 10",
            "restart-backoff 100 s is longer than restart-backoff-max 10 s",
        ] {
            assert!(e.contains(expected), "{expected:?} not in:\n{e}");
        }
    }

    #[test]
    fn missing_name_and_run() {
        let e = parse("\n[[process]]\nrun = \"x\"\n\n[[process]]\nname = \"b\"\n").unwrap_err();
        assert!(e.contains("name is missing"), "{e}");
        assert!(e.contains("process b: run is missing"), "{e}");
    }
}
