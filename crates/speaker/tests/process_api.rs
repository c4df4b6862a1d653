//! The process API end to end: Ribbit in-process with `[[process]]`
//! programs (the Python scripts of `tests/scripts`, written as ExaBGP's
//! documentation writes them), a second in-process Ribbit as its peer.
//!
//! Each test has its own addresses (127.0.3.x) and ports (113xx):
//! - `events_in_exabgp_42_shapes`: state and update events as ExaBGP 4.2
//!   writes them; the same events in Ribbit's JSON to a second program;
//!   a program limited to other neighbors hears nothing.
//! - `commands_answered_in_order_with_ids`: `version`, `show ...`,
//!   malformed commands (an `error` naming what was wrong, then the next
//!   command answered as if nothing happened), ids echoed, the session
//!   untouched; `teardown` reaches the peer as a Cease.
//! - `slow_reader_drop`, `slow_reader_block`: a program that does not read
//!   while the peer sends thousands of UPDATEs: the session stays up,
//!   another program gets every update, the slow one's queue overflows as
//!   configured (counted), and once it reads it gets a gap and a re-sync
//!   of the whole table.
//! - `crashing_program_restarted`: a program that exits at once is started
//!   again with back-off, counted, and the session does not notice.

mod support;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ribbit::config::Config;
use ribbit::peer::PeerEvent;
use ribbit::process::{ControlRequest, Processes};
use ribbit::Speaker;
use ribbit_fsm::State;
use serde_json::Value;
use support::{eventually, Lab, ESTABLISHED, PROPAGATE};

fn script(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/scripts")
        .join(name)
        .display()
        .to_string()
}

/// Two speakers: A (under test, with the programs) and B, its peer, which
/// announces `routes` (TOML `[[neighbor.route]]` tables).
struct Pair {
    a: Arc<Speaker>,
    b: Speaker,
    a_addr: IpAddr,
    b_addr: IpAddr,
    processes: Option<Processes>,
    requests: tokio::sync::mpsc::UnboundedReceiver<ControlRequest>,
}

/// The families of both sides.
const FAMILIES: &str = r#"["ipv4-unicast", "ipv6-unicast", "ipv4-flowspec"]"#;

fn routes_toml(n: usize) -> String {
    // Each route with its own MED: one UPDATE each.
    (0..n)
        .map(|i| {
            format!(
                "[[neighbor.route]]\nprefix = \"10.{}.{}.0/24\"\nnext-hop = \"198.18.0.1\"\nmed = {i}\n",
                100 + i / 256,
                i % 256
            )
        })
        .collect()
}

impl Pair {
    /// `n`: the test's number, which picks its addresses and ports.
    /// `processes`: `[[process]]` tables for A.
    async fn start(lab: &Lab, n: u8, processes: &str, routes: usize) -> Pair {
        Pair::start_with(lab, n, processes, routes, true).await
    }

    /// With `enabled` false, A's session waits for [`Pair::enable`]: the
    /// programs then see it from the start.
    async fn start_with(lab: &Lab, n: u8, processes: &str, routes: usize, enabled: bool) -> Pair {
        let a_addr: IpAddr = format!("127.0.3.{}", n * 10 + 1).parse().unwrap();
        let b_addr: IpAddr = format!("127.0.3.{}", n * 10 + 2).parse().unwrap();
        let a_port = 11300 + u16::from(n) * 2;
        let b_port = a_port + 1;
        let a_toml = format!(
            r#"
[global]
asn = 65001
router-id = "{a_addr}"
listen = ["{a_addr}:{a_port}"]
# Small, so that a blocked program falls behind the speaker with a few
# thousand UPDATEs (slow_reader_block).
event-buffer = 4096

[[neighbor]]
address = "{b_addr}"
port = {b_port}
local-address = "{a_addr}"
asn = 65002
connect-retry = 1
enabled = {enabled}
families = {FAMILIES}

{processes}
"#
        );
        let b_toml = format!(
            r#"
[global]
asn = 65002
router-id = "{b_addr}"
listen = ["{b_addr}:{b_port}"]

[[neighbor]]
address = "{a_addr}"
port = {a_port}
local-address = "{b_addr}"
asn = 65001
passive = true
families = {FAMILIES}

{}
"#,
            routes_toml(routes)
        );
        let a_cfg = Config::parse(&a_toml, "a.toml").unwrap_or_else(|e| panic!("{e}"));
        let b_cfg = Config::parse(&b_toml, "b.toml").unwrap_or_else(|e| panic!("{e}"));
        let b = Speaker::start(&b_cfg).await.expect("start B");
        let a = Arc::new(Speaker::start(&a_cfg).await.expect("start A"));
        let (procs, requests) =
            Processes::start(&a_cfg.processes, Arc::clone(&a), lab.dir().to_path_buf());
        Pair {
            a,
            b,
            a_addr,
            b_addr,
            processes: Some(procs),
            requests,
        }
    }

    async fn enable(&self) {
        self.a.enable_neighbor(self.b_addr).await.expect("enable");
    }

    async fn established(&self) {
        let (a, peer) = (&self.a, self.b_addr);
        eventually(
            "A's session with B established",
            ESTABLISHED,
            || async move {
                match a.state(peer).await {
                    Some(State::Established) => Ok(()),
                    s => Err(format!("{s:?}")),
                }
            },
        )
        .await;
    }

    fn processes(&self) -> &Processes {
        self.processes.as_ref().expect("running")
    }

    async fn stop(mut self) {
        if let Some(p) = self.processes.take() {
            p.stop().await;
        }
        self.b.stop(None).await;
        self.a.stop(None).await;
    }
}

/// The lines of a log file written by a script.
fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn json_lines(path: &Path) -> Vec<Value> {
    lines(path)
        .iter()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Every prefix announced in the ExaBGP update events of a log.
fn exabgp_prefixes(path: &Path) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    for v in json_lines(path) {
        if v["type"] != "update" {
            continue;
        }
        if let Some(fams) = v["neighbor"]["message"]["update"]["announce"].as_object() {
            for hops in fams.values() {
                for list in hops.as_object().into_iter().flat_map(|m| m.values()) {
                    for r in list.as_array().into_iter().flatten() {
                        if let Some(p) = r["nlri"].as_str() {
                            out.insert(p.to_string());
                        }
                    }
                }
            }
        }
    }
    out
}

fn process_toml(name: &str, run: &str, extra: &str) -> String {
    format!("[[process]]\nname = \"{name}\"\nrun = \"{run}\"\n{extra}\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_in_exabgp_42_shapes() {
    let lab = Lab::new("process-events");
    let exa_log = lab.path("exabgp.log");
    let ribbit_log = lab.path("ribbit.log");
    let other_log = lab.path("other.log");
    let session_log = lab.path("session.log");
    let procs = [
        process_toml(
            "exa",
            &format!("{} {}", script("log-events.py"), exa_log.display()),
            "receive = [\"update\", \"state\", \"notification\"]",
        ),
        process_toml(
            "session",
            &format!("{} {}", script("log-events.py"), session_log.display()),
            "receive = [\"open\", \"keepalive\", \"negotiated\"]",
        ),
        process_toml(
            "own",
            &format!("{} {}", script("log-events.py"), ribbit_log.display()),
            "encoder = \"ribbit\"",
        ),
        process_toml(
            "elsewhere",
            &format!("{} {}", script("log-events.py"), other_log.display()),
            "neighbors = []",
        ),
        // A neighbor that never comes up, for the program above.
        "[[neighbor]]\naddress = \"127.0.3.19\"\nasn = 65009\nenabled = false\n".to_string(),
    ]
    .join("\n");
    // `neighbors = []` is refused: check it, then run without that one.
    let refused = Config::parse(
        &format!("[global]\nasn = 1\nrouter-id = \"1.1.1.1\"\n{procs}"),
        "x.toml",
    )
    .unwrap_err()
    .to_string();
    assert!(refused.contains("neighbors is empty"), "{refused}");
    let procs = procs.replace("neighbors = []", "neighbors = [\"127.0.3.19\"]");
    let pair = Pair::start_with(&lab, 1, &procs, 2, false).await;
    // The programs are running before the session starts.
    eventually("the programs running", PROPAGATE, || {
        let running = pair
            .processes()
            .status()
            .iter()
            .all(|s| s.state == "running");
        async move {
            if running {
                Ok(())
            } else {
                Err("not yet")
            }
        }
    })
    .await;
    pair.enable().await;
    pair.established().await;

    let log = exa_log.clone();
    let b = pair.b_addr;
    let a = pair.a_addr;
    eventually(
        "ExaBGP events: connected, up and both routes",
        PROPAGATE,
        || {
            let log = log.clone();
            async move {
                let v = json_lines(&log);
                let states: Vec<&str> = v
                    .iter()
                    .filter(|m| m["type"] == "state")
                    .filter_map(|m| m["neighbor"]["state"].as_str())
                    .collect();
                let prefixes = exabgp_prefixes(&log);
                if states.contains(&"connected")
                    && states.contains(&"up")
                    && prefixes.contains("10.100.0.0/24")
                    && prefixes.contains("10.100.1.0/24")
                {
                    Ok(())
                } else {
                    Err(format!("states {states:?}, prefixes {prefixes:?}"))
                }
            }
        },
    )
    .await;
    let v = json_lines(&exa_log);
    let up = v
        .iter()
        .find(|m| m["neighbor"]["state"] == "up")
        .expect("up");
    // The envelope of ExaBGP 4.2 (seen from ExaBGP 4.2.21 itself).
    assert_eq!(up["exabgp"], "4.0.1");
    assert_eq!(up["type"], "state");
    assert_eq!(up["pid"], std::process::id());
    for member in ["time", "host", "ppid", "counter"] {
        assert!(up.get(member).is_some(), "{member} missing: {up}");
    }
    assert_eq!(
        up["neighbor"]["address"],
        serde_json::json!({ "local": a.to_string(), "peer": b.to_string() })
    );
    assert_eq!(
        up["neighbor"]["asn"],
        serde_json::json!({ "local": 65001, "peer": 65002 })
    );
    let update = v
        .iter()
        .find(|m| {
            m["type"] == "update" && m["neighbor"]["message"]["update"]["announce"].is_object()
        })
        .expect("an update");
    assert_eq!(update["neighbor"]["direction"], "receive");
    let u = &update["neighbor"]["message"]["update"];
    assert_eq!(u["attribute"]["origin"], "igp");
    assert_eq!(u["attribute"]["as-path"], serde_json::json!([65002]));
    assert_eq!(u["attribute"]["confederation-path"], serde_json::json!([]));
    assert!(
        u["announce"]["ipv4 unicast"]["198.18.0.1"].is_array(),
        "{u}"
    );
    // Counters count per neighbor, one by one.
    let counters: Vec<u64> = v.iter().filter_map(|m| m["counter"].as_u64()).collect();
    assert!(
        counters.windows(2).all(|w| w[1] == w[0] + 1),
        "{counters:?}"
    );

    // The session's messages, for the program that asked for them: the
    // OPEN and KEEPALIVE B sent (not ours), and what was negotiated.
    let log = session_log.clone();
    let v = eventually("open, keepalive and negotiated events", PROPAGATE, || {
        let log = log.clone();
        async move {
            let v = json_lines(&log);
            let kinds: Vec<&str> = v.iter().filter_map(|m| m["type"].as_str()).collect();
            if ["open", "keepalive", "negotiated"]
                .iter()
                .all(|k| kinds.contains(k))
            {
                Ok(v)
            } else {
                Err(format!("{kinds:?}"))
            }
        }
    })
    .await;
    assert!(
        v.iter()
            .filter(|m| m["type"] == "open" || m["type"] == "keepalive")
            .all(|m| m["neighbor"]["direction"] == "receive"),
        "{v:?}"
    );
    let open = v.iter().find(|m| m["type"] == "open").expect("open");
    assert_eq!(open["neighbor"]["open"]["asn"], 65002, "{open}");
    assert_eq!(open["neighbor"]["open"]["version"], 4, "{open}");
    assert_eq!(
        open["neighbor"]["open"]["router_id"],
        b.to_string(),
        "{open}"
    );
    let negotiated = &v
        .iter()
        .find(|m| m["type"] == "negotiated")
        .expect("negotiated")["neighbor"]["negotiated"];
    assert_eq!(negotiated["asn4"], true, "{negotiated}");
    // Both Ribbits offer extended messages (RFC 8654).
    assert_eq!(negotiated["message_size"], 65535, "{negotiated}");
    assert!(negotiated["hold_time"].as_u64().is_some(), "{negotiated}");
    let families: Vec<&str> = negotiated["families"]
        .as_array()
        .expect("families")
        .iter()
        .filter_map(|f| f.as_str())
        .collect();
    assert!(families.contains(&"ipv4 unicast"), "{negotiated}");
    assert!(families.contains(&"ipv4 flow"), "{negotiated}");

    // The same in Ribbit's JSON (the HTTP API's event stream lines).
    let log = ribbit_log.clone();
    eventually("Ribbit events", PROPAGATE, || {
        let log = log.clone();
        async move {
            let v = json_lines(&log);
            let up = v
                .iter()
                .any(|m| m["type"] == "state" && m["to"] == "established");
            let routes = v
                .iter()
                .filter(|m| m["type"] == "update")
                .flat_map(|m| m["announced"].as_array().cloned().unwrap_or_default())
                .count();
            if up && routes >= 2 {
                Ok(())
            } else {
                Err(format!("{v:?}"))
            }
        }
    })
    .await;

    // A session going down: the reason names the NOTIFICATION.
    pair.b.stop(Some("maintenance".to_string())).await;
    let log = exa_log.clone();
    let down = eventually("a down event", PROPAGATE, || {
        let log = log.clone();
        async move {
            json_lines(&log)
                .into_iter()
                .find(|m| m["neighbor"]["state"] == "down")
                .ok_or("no down yet")
        }
    })
    .await;
    let reason = down["neighbor"]["reason"].as_str().unwrap_or_default();
    assert!(
        reason.starts_with("peer reset, message (notification received (6,2))"),
        "{reason}"
    );
    assert!(
        json_lines(&exa_log)
            .iter()
            .any(|m| m["type"] == "notification" && m["neighbor"]["direction"] == "receive"),
        "the NOTIFICATION itself is an event too"
    );
    // The program of another neighbor heard nothing at all.
    assert!(lines(&other_log).is_empty(), "{:?}", lines(&other_log));
    pair.stop().await;
    // Stopping: ExaBGP's shutdown notification was the last line.
    let last = json_lines(&exa_log).pop().expect("lines");
    assert_eq!(last["notification"], "shutdown", "{last}");
}

/// Write a file whole: a program polling for it never sees half of it.
fn write_atomically(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_answered_in_order_with_ids() {
    let lab = Lab::new("process-commands");
    let log = lab.path("replies.log");
    let commands = lab.path("commands.txt");
    let procs = process_toml(
        "cli",
        &format!(
            "{} {} {}",
            script("log-events.py"),
            log.display(),
            commands.display()
        ),
        "receive = []",
    );
    let pair = Pair::start(&lab, 2, &procs, 1).await;
    pair.established().await;
    let b = pair.b_addr;
    let a = pair.a.clone();
    eventually("B's route in A", PROPAGATE, || {
        let a = a.clone();
        async move {
            match a.adj_rib_in(b).await {
                Some(v) if !v.is_empty() => Ok(()),
                other => Err(format!("{other:?}")),
            }
        }
    })
    .await;
    let mut peer_events = pair.b.subscribe();
    // A line too long to be a command, of 16 MiB and a byte: refused
    // without being held whole, and the next line is read as usual.
    let too_long = format!("announce route {}", "1".repeat((16 << 20) + 1 - 15));
    // The program waits for its commands until now.
    write_atomically(
        &commands,
        &[
            "version",
            "announce route 10.0.0.0/33 next-hop 192.0.2.1",
            "@q1 show neighbor summary",
            "@q2 bogus command",
            "@q3 show adj-rib in",
            "neighbor 192.0.2.99 announce route-refresh ipv4 unicast",
            "@q7 show adj-rib out extensive",
            "# a comment",
            &too_long,
            "@q4 neighbor 127.0.3.22 teardown 7",
            "@q5 neighbor 127.0.3.22 teardown 4",
            "silence-ack",
            "version",
            "enable-ack",
            "@q6 disable-ack",
            "bogus again",
            "enable-ack",
            "@end version",
        ]
        .join("\n"),
    );
    let logp = log.clone();
    eventually("the last answer", PROPAGATE, || {
        let logp = logp.clone();
        async move {
            let l = lines(&logp);
            if l.iter().any(|x| x.starts_with("@end done")) {
                Ok(())
            } else {
                Err(format!("{l:#?}"))
            }
        }
    })
    .await;
    // The Adj-RIB-Out lines depend on what A sends B back: not checked.
    let l: Vec<String> = lines(&log)
        .into_iter()
        .filter(|x| !x.starts_with("@q7 neighbor"))
        .collect();
    let expect = |i: usize, prefix: &str| {
        assert!(
            l.get(i).is_some_and(|x| x.starts_with(prefix)),
            "line {i} should start with {prefix:?}: {l:#?}"
        );
    };
    expect(0, "ribbit ");
    expect(1, "done");
    // The malformed prefix: the column and what was wrong.
    expect(2, "error column 16: ");
    assert!(l[2].contains("10.0.0.0/33"), "{}", l[2]);
    // The summary, with its id on every line, then done.
    expect(3, "@q1 Peer ");
    expect(4, "@q1 127.0.3.22");
    assert!(l[4].contains("established"), "{}", l[4]);
    // Up for h:mm:ss, and B's UPDATEs counted (its route and End-of-RIB),
    // as the neighbor's own task counts them.
    let columns: Vec<&str> = l[4].split_whitespace().collect();
    let up = columns.get(3).copied().unwrap_or_default();
    assert!(
        up.split(':').count() == 3 && up.split(':').all(|x| x.parse::<u64>().is_ok()),
        "uptime in {}",
        l[4]
    );
    let updates: u64 = columns.last().and_then(|x| x.parse().ok()).unwrap_or(0);
    assert!(updates >= 2, "UPDATEs received in {}", l[4]);
    // #sent is what the RIB counts in B's Adj-RIB-Out.
    let sent: usize = columns[columns.len() - 2].parse().unwrap();
    assert_eq!(
        sent,
        pair.a.adj_rib_out(b).await.map_or(usize::MAX, |v| v.len()),
        "{}",
        l[4]
    );
    expect(5, "@q1 done");
    // Columns count in the whole line, the id included.
    expect(6, "@q2 error column 5: ");
    assert!(l[6].contains("\"bogus\""), "{}", l[6]);
    // B's route as ExaBGP shows an Adj-RIB-In.
    assert_eq!(
        l[7],
        "@q3 neighbor 127.0.3.22 ipv4 unicast 10.100.0.0/24 next-hop 198.18.0.1"
    );
    assert_eq!(l[8], "@q3 done");
    assert_eq!(l[9], "error no neighbor 192.0.2.99");
    assert_eq!(l[10], "@q7 done");
    assert_eq!(l[11], "done", "the comment");
    expect(12, "error a line of more than 16777216 bytes (");
    expect(13, "@q4 error teardown 7: ");
    assert_eq!(l[14], "@q5 done");
    // silence-ack: no answer to it nor to the version (its output line is
    // still written); enable-ack: done.
    expect(15, "ribbit ");
    assert_eq!(l[16], "done");
    // disable-ack is answered, then nothing until enable-ack.
    assert_eq!(l[17], "@q6 done");
    assert_eq!(l[18], "done");
    expect(19, "@end ribbit ");
    assert_eq!(l[20], "@end done");
    assert_eq!(l.len(), 21, "{l:#?}");

    // teardown 4 reached B as Cease / Administrative Reset.
    let n = tokio::time::timeout(PROPAGATE, async {
        loop {
            match peer_events.next().await {
                Some(PeerEvent::Notification {
                    received: true,
                    notification,
                    ..
                }) => return notification,
                Some(_) => {}
                None => panic!("B stopped"),
            }
        }
    })
    .await
    .expect("a NOTIFICATION at B");
    assert_eq!((n.code, n.subcode), (6, 4));
    // The session comes back, and the program's counters show it all.
    pair.established().await;
    let s = &pair.processes().status()[0];
    assert_eq!(s.counters.errors, 6, "{s:?}");
    assert_eq!(s.counters.commands, 18, "{s:?}");
    pair.stop().await;
}

/// A table written in one go: the speaker takes it in batches, reads the
/// next while the RIB applies the one before, and still answers every
/// command in order, a control command in the middle after the routes
/// before it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_written_at_once_is_answered_in_order() {
    const ROUTES: usize = 25_000;
    let lab = Lab::new("process-at-once");
    let log = lab.path("replies.log");
    let commands = lab.path("commands.txt");
    let procs = process_toml(
        "table",
        &format!(
            "{} {} {} --at-once",
            script("log-events.py"),
            log.display(),
            commands.display()
        ),
        "receive = []",
    );
    let pair = Pair::start(&lab, 11, &procs, 0).await;
    pair.established().await;
    let prefix = |i: usize| format!("10.{}.{}.0/24", i / 256, i % 256);
    let mut written = Vec::new();
    let mut expected = std::collections::BTreeMap::new();
    for i in 0..ROUTES {
        // Runs of routes with the same attributes, and a few that differ.
        let med = if i % 1000 < 3 { 7 } else { 5 };
        written.push(format!(
            "@r{i} announce route {} next-hop 192.0.2.1 med {med}",
            prefix(i)
        ));
        expected.insert(prefix(i), med);
        if i == 12_345 {
            written.push("@v version".to_string());
        }
        if i % 5000 == 4999 {
            written.push(format!("@w{i} withdraw route {}", prefix(i - 10)));
            expected.remove(&prefix(i - 10));
        }
    }
    written.push("@end version".to_string());
    write_atomically(&commands, &written.join("\n"));
    let logp = log.clone();
    let replies = eventually("the last answer", PROPAGATE, || {
        let logp = logp.clone();
        async move {
            let l = lines(&logp);
            if l.last().is_some_and(|x| x == "@end done") {
                Ok(l)
            } else {
                Err(format!("{} lines, the last {:?}", l.len(), l.last()))
            }
        }
    })
    .await;
    // Each command answered once, in the order written; the versions
    // print their line first.
    let mut want = Vec::new();
    for l in &written {
        let id = l.split_whitespace().next().unwrap_or_default();
        if l.ends_with(" version") {
            want.push(format!("{id} ribbit"));
        }
        want.push(format!("{id} done"));
    }
    let got: Vec<String> = replies
        .iter()
        .map(|l| {
            if l.contains(" ribbit ") {
                l.split(" ribbit ").next().unwrap_or_default().to_string() + " ribbit"
            } else {
                l.clone()
            }
        })
        .collect();
    assert_eq!(got.len(), want.len(), "answers");
    if let Some(i) = (0..got.len()).find(|&i| got[i] != want[i]) {
        panic!("answer {i}: {:?} where {:?} was due", got[i], want[i]);
    }
    // B holds every route announced and not withdrawn, with its MED.
    let want_b: Vec<String> = expected
        .iter()
        .map(|(p, med)| format!("ipv4-unicast {p} med {med}"))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    eventually("B holds the table", PROPAGATE, || async {
        let seen = b_sees(&pair).await;
        if seen == want_b {
            Ok(())
        } else {
            Err(format!("{} routes of {}", seen.len(), want_b.len()))
        }
    })
    .await;
    pair.stop().await;
}

/// A program that does not read, another that does, and a peer sending
/// `routes` UPDATEs; the slow one starts reading when `go` appears.
async fn slow_reader(n: u8, policy: &str, queue: usize, routes: usize) -> (Lab, PathBuf, Pair) {
    let lab = Lab::new(&format!("process-slow-{policy}"));
    let go = lab.path("go");
    let slow_log = lab.path("slow.log");
    let fast_log = lab.path("fast.log");
    let procs = [
        process_toml(
            "slow",
            &format!(
                "{} {} {}",
                script("never-read.py"),
                go.display(),
                slow_log.display()
            ),
            &format!("queue = {queue}\non-overflow = \"{policy}\""),
        ),
        process_toml(
            "fast",
            &format!("{} {}", script("log-events.py"), fast_log.display()),
            "",
        ),
    ]
    .join("\n");
    let pair = Pair::start(&lab, n, &procs, routes).await;
    pair.established().await;
    // Every route reaches the program that reads.
    let fast = fast_log.clone();
    eventually(
        "the reading program gets every route",
        PROPAGATE * 6,
        || {
            let fast = fast.clone();
            async move {
                let got = exabgp_prefixes(&fast).len();
                if got == routes {
                    Ok(())
                } else {
                    Err(format!("{got} of {routes}"))
                }
            }
        },
    )
    .await;
    (lab, slow_log, pair)
}

/// After the slow program reads: a gap, then the whole table, then the end
/// of the re-sync.
async fn check_resync(lab: &Lab, slow_log: &Path, pair: &Pair, routes: usize) {
    assert_eq!(
        pair.a.state(pair.b_addr).await,
        Some(State::Established),
        "the session stays up"
    );
    std::fs::write(lab.path("go"), "").unwrap();
    let log = slow_log.to_path_buf();
    eventually(
        "a gap, then a re-sync of every route",
        PROPAGATE * 3,
        || {
            let log = log.clone();
            async move {
                let v = json_lines(&log);
                // A gap may come while the program does not read yet (the
                // pipe takes some lines): what counts is the last one, and
                // what the program knows after it.
                let gap = v.iter().rposition(|m| m["type"] == "gap");
                let end = v.iter().rposition(|m| m["type"] == "resync");
                match (gap, end) {
                    (Some(g), Some(e)) if g < e => {
                        let after: std::collections::BTreeSet<String> = v[g..]
                            .iter()
                            .filter(|m| m["type"] == "update")
                            .flat_map(|m| {
                                m["neighbor"]["message"]["update"]["announce"]["ipv4 unicast"]
                                    ["198.18.0.1"]
                                    .as_array()
                                    .cloned()
                                    .unwrap_or_default()
                            })
                            .filter_map(|r| r["nlri"].as_str().map(str::to_string))
                            .collect();
                        if after.len() == routes {
                            Ok(())
                        } else {
                            Err(format!("{} routes in the re-sync", after.len()))
                        }
                    }
                    _ => Err(format!("gap {gap:?}, end {end:?}, {} lines", v.len())),
                }
            }
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_reader_drop() {
    let routes = 3000;
    let (lab, slow_log, pair) = slow_reader(3, "drop", 50, routes).await;
    let s = pair
        .processes()
        .status()
        .into_iter()
        .find(|s| s.name == "slow")
        .unwrap();
    assert!(
        s.counters.events_dropped > 0,
        "the full queue drops events: {s:?}"
    );
    assert_eq!(s.on_overflow, "drop");
    assert!(s.queued <= 50, "{s:?}");
    // `/metrics` says the same as the status.
    let mut scrape = ribbit::api::metrics::Exposition::new();
    pair.processes().metrics().collect(&mut scrape);
    let scrape = scrape.finish();
    let dropped: u64 = scrape
        .lines()
        .find_map(|l| l.strip_prefix("ribbit_process_events_dropped_total{process=\"slow\"} "))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no drop counter for slow in\n{scrape}"));
    assert!(dropped >= s.counters.events_dropped, "{dropped} {s:?}");
    assert!(
        scrape.contains("ribbit_process_queue_capacity_lines{process=\"slow\"} 50\n"),
        "{scrape}"
    );
    check_resync(&lab, &slow_log, &pair, routes).await;
    let s = pair.processes().status();
    assert!(
        s.iter().any(|s| s.name == "slow" && s.counters.gaps >= 1),
        "{s:?}"
    );
    assert!(
        s.iter()
            .all(|s| s.name != "fast" || s.counters.events_dropped == 0),
        "{s:?}"
    );
    pair.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_reader_block() {
    // More UPDATEs than the speaker's event buffer (event-buffer = 4096),
    // the queue and the program's pipe (1 MiB, about 2,500 lines of 400
    // bytes) together: a blocked program falls behind the speaker.
    let routes = 10_000;
    let (lab, slow_log, pair) = slow_reader(4, "block", 20, routes).await;
    let s = pair
        .processes()
        .status()
        .into_iter()
        .find(|s| s.name == "slow")
        .unwrap();
    assert_eq!(
        s.counters.events_dropped, 0,
        "block drops nothing itself: {s:?}"
    );
    assert_eq!(s.queued, 20, "the queue is full: {s:?}");
    check_resync(&lab, &slow_log, &pair, routes).await;
    let s = pair.processes().status();
    assert!(
        s.iter()
            .any(|s| s.name == "slow" && s.counters.events_missed > 0 && s.counters.gaps >= 1),
        "{s:?}"
    );
    pair.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crashing_program_restarted() {
    let lab = Lab::new("process-crash");
    let log = lab.path("pids.log");
    let procs = process_toml(
        "crash",
        &format!("{} {}", script("crash.py"), log.display()),
        "restart-backoff = 0\nrestart-backoff-max = 1",
    );
    let pair = Pair::start(&lab, 5, &procs, 1).await;
    pair.established().await;
    let p = log.clone();
    eventually("four runs", PROPAGATE, || {
        let p = p.clone();
        async move {
            let pids = lines(&p);
            if pids.len() >= 4 {
                Ok(())
            } else {
                Err(format!("{pids:?}"))
            }
        }
    })
    .await;
    let pids = lines(&log);
    let distinct: std::collections::BTreeSet<&String> = pids.iter().collect();
    assert_eq!(distinct.len(), pids.len(), "a new process each time");
    let s = &pair.processes().status()[0];
    assert!(s.counters.starts >= 4 && s.counters.exits >= 3, "{s:?}");
    // Back-off: 0, 0.1, 0.2, 0.4 s...: four runs took at least 0.3 s, and
    // the speaker never noticed.
    assert_eq!(pair.a.state(pair.b_addr).await, Some(State::Established));
    // Each run's event thread ends with the run, events or not.
    let threads = || {
        std::fs::read_dir("/proc/self/task")
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter(|t| {
                        std::fs::read_to_string(t.path().join("comm"))
                            .is_ok_and(|c| c.trim() == "process-crash")
                    })
                    .count()
            })
            .unwrap_or(0)
    };
    eventually("at most one event thread", PROPAGATE, || {
        let n = threads();
        async move {
            if n <= 1 {
                Ok(())
            } else {
                Err(format!("{n} threads"))
            }
        }
    })
    .await;
    pair.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_from_a_program() {
    let lab = Lab::new("process-shutdown");
    let log = lab.path("replies.log");
    let commands = lab.path("commands.txt");
    std::fs::write(&commands, "reload\nshutdown\n").unwrap();
    let procs = process_toml(
        "stopper",
        &format!(
            "{} {} {}",
            script("log-events.py"),
            log.display(),
            commands.display()
        ),
        "receive = []",
    );
    let mut pair = Pair::start(&lab, 6, &procs, 0).await;
    let first = tokio::time::timeout(PROPAGATE, pair.requests.recv())
        .await
        .expect("a request");
    assert_eq!(first, Some(ControlRequest::Reload));
    let second = tokio::time::timeout(PROPAGATE, pair.requests.recv())
        .await
        .expect("a request");
    assert_eq!(second, Some(ControlRequest::Shutdown));
    let p = log.clone();
    eventually("the answers", PROPAGATE, || {
        let p = p.clone();
        async move {
            let l = lines(&p);
            if l == ["reload in progress", "done", "shutdown in progress", "done"] {
                Ok(())
            } else {
                Err(format!("{l:?}"))
            }
        }
    })
    .await;
    pair.stop().await;
}

/// What B has from A: `prefix med N` lines, sorted, every family.
async fn b_sees(pair: &Pair) -> Vec<String> {
    let mut out: Vec<String> = pair
        .b
        .adj_rib_in(pair.a_addr)
        .await
        .unwrap_or_default()
        .iter()
        .map(|r| {
            let mut l = format!("{} {}", r.family, r.nlri);
            // Only unusual next hops are named: most routes here use 192.0.2.1.
            if let Some(nh) = r
                .attributes
                .next_hop
                .filter(|nh| nh.octets() != [192, 0, 2, 1])
            {
                l.push_str(&format!(" next-hop {nh}"));
            }
            if let Some(m) = r.attributes.med {
                l.push_str(&format!(" med {m}"));
            }
            if !r.attributes.communities.is_empty() {
                let c: Vec<String> = r
                    .attributes
                    .communities
                    .iter()
                    .map(|c| c.to_string())
                    .collect();
                l.push_str(&format!(" community {}", c.join(",")));
            }
            l
        })
        .collect();
    out.sort();
    out
}

async fn wait_b_sees(pair: &Pair, what: &str, expected: &[&str]) {
    eventually(what, PROPAGATE, || async {
        let seen = b_sees(pair).await;
        if seen == expected {
            Ok(())
        } else {
            Err(format!("{seen:#?}"))
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_announced_by_a_program_reach_the_peer() {
    let lab = Lab::new("process-announce");
    let log = lab.path("replies.log");
    let commands = lab.path("commands.txt");
    let procs = process_toml(
        "routes",
        &format!(
            "{} {} {}",
            script("log-events.py"),
            log.display(),
            commands.display()
        ),
        "receive = []\non-exit = \"withdraw\"\nrestart-backoff = 60\nrestart-backoff-max = 60",
    );
    let pair = Pair::start(&lab, 7, &procs, 0).await;
    pair.established().await;
    let mut b_events = pair.b.subscribe();
    write_atomically(
        &commands,
        &[
            "announce route 198.51.100.0/24 next-hop 192.0.2.1 med 10 community [65000:1]",
            "announce ipv6 unicast 2001:db8:1::/48 next-hop 2001:db8::1 med 20",
            "announce attributes next-hop 192.0.2.1 med 30 nlri 198.51.101.0/24 198.51.102.0/24",
            // The speaker sends routes like the one before them together:
            // the same attributes, the same next hop, or not.
            "announce route 198.51.108.0/24 next-hop 192.0.2.1 med 30",
            "announce route 198.51.109.0/24 next-hop 192.0.2.9 med 30",
            "announce route 198.51.110.0/24 next-hop 192.0.2.9 med 31",
            "neighbor 127.0.3.72 announce route 198.51.103.0/24 next-hop 192.0.2.1",
            "announce flow route { match { destination 198.51.104.0/24; destination-port =80; } then { discard; } }",
            "withdraw route 198.51.102.0/24",
            "@w announce route 198.51.105.0/24 next-hop 192.0.2.1 watchdog dog withdraw",
            "announce route 198.51.106.0/24 next-hop 192.0.2.1 watchdog dog",
            "withdraw watchdog dog",
            "@last neighbor 127.0.3.99 announce route 198.51.107.0/24 next-hop 192.0.2.1",
            "@eor announce eor",
            "@flush flush adj-rib out",
            "@eor6 announce eor ipv6 unicast",
        ]
        .join("\n"),
    );
    // The watchdog's routes are not there: one held, both withdrawn.
    let expected = [
        "ipv4-flowspec destination 198.51.104.0/24 destination-port =80",
        "ipv4-unicast 198.51.100.0/24 med 10 community 65000:1",
        "ipv4-unicast 198.51.101.0/24 med 30",
        "ipv4-unicast 198.51.103.0/24",
        "ipv4-unicast 198.51.108.0/24 med 30",
        "ipv4-unicast 198.51.109.0/24 next-hop 192.0.2.9 med 30",
        "ipv4-unicast 198.51.110.0/24 next-hop 192.0.2.9 med 31",
        "ipv6-unicast 2001:db8:1::/48 med 20",
    ];
    let logp = log.clone();
    eventually("every answer", PROPAGATE, || {
        let logp = logp.clone();
        async move {
            let l = lines(&logp);
            if l.len() >= 16 {
                Ok(l)
            } else {
                Err(format!("{l:#?}"))
            }
        }
    })
    .await;
    let l = lines(&log);
    assert_eq!(
        &l[..12],
        [
            "done", "done", "done", "done", "done", "done", "done", "done", "done", "@w done",
            "done", "done"
        ],
        "{l:#?}"
    );
    assert_eq!(l[12], "@last error no neighbor 127.0.3.99");
    assert_eq!(
        &l[13..16],
        ["@eor done", "@flush done", "@eor6 done"],
        "{l:#?}"
    );
    // B saw the End-of-RIB after the routes announced before it, and the
    // routes again after the flush.
    let target: ribbit_wire::Prefix = "198.51.100.0/24".parse().unwrap();
    let mut announced = 0;
    let mut eor_after_routes = false;
    let mut eor6 = false;
    let deadline = tokio::time::Instant::now() + PROPAGATE;
    while announced < 2 || !eor_after_routes || !eor6 {
        let e = match tokio::time::timeout_at(deadline, b_events.next()).await {
            Ok(Some(e)) => e,
            other => panic!(
                "B: {announced} announcements of {target}, End-of-RIB after them {eor_after_routes}, IPv6 End-of-RIB {eor6}; then {other:?}"
            ),
        };
        if let ribbit::peer::PeerEvent::Update { update, .. } = e {
            match update.end_of_rib_family() {
                Some(f) if f == ribbit_wire::Family::IPV4_UNICAST => {
                    eor_after_routes |= announced > 0;
                }
                Some(f) if f == ribbit_wire::Family::IPV6_UNICAST => eor6 = true,
                _ => {
                    if update.announced.iter().any(|n| n.prefix == target) {
                        announced += 1;
                    }
                }
            }
        }
    }
    // The flow rule's text depends on Ribbit's NLRI text: compare the
    // unicast routes exactly and the flow rule by its destination.
    eventually("B gets the routes", PROPAGATE, || async {
        let seen = b_sees(&pair).await;
        let unicast: Vec<String> = seen
            .iter()
            .filter(|s| !s.starts_with("ipv4-flowspec"))
            .cloned()
            .collect();
        let flows: Vec<&String> = seen
            .iter()
            .filter(|s| s.starts_with("ipv4-flowspec"))
            .collect();
        let want: Vec<String> = expected[1..].iter().map(|s| s.to_string()).collect();
        if unicast == want && flows.len() == 1 && flows[0].contains("198.51.104.0/24") {
            Ok(())
        } else {
            Err(format!("{seen:#?}"))
        }
    })
    .await;
    // The program ends (on-exit = "withdraw"): B loses every route of it.
    let pid = pair.processes().status()[0].pid.expect("running");
    std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    wait_b_sees(&pair, "the routes withdrawn when the program died", &[]).await;
    pair.stop().await;
}

#[test]
fn scripts_are_executable() {
    use std::os::unix::fs::PermissionsExt;
    for s in [
        "log-events.py",
        "never-read.py",
        "crash.py",
        "relay.py",
        "announce-routes.py",
    ] {
        let mode = std::fs::metadata(script(s)).unwrap().permissions().mode();
        assert!(mode & 0o111 != 0, "{s} is not executable");
    }
}

// ------------------------------------------------------------ conformance

/// ExaBGP's encoding vectors (`shared/conformance/exabgp-qa/encoding`) sent
/// through a program to Ribbit, and what the peer receives compared with
/// the UPDATEs ExaBGP sent, by content (as `conformance_encode.rs` does:
/// attributes decoded and compared with communities sorted, the NEXT_HOP
/// that ExaBGP adds beside MP_REACH_NLRI left out, one item per NLRI).
mod conformance {
    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};

    use ribbit_exabgp::text::{self, Command, ParseErrorKind};
    use ribbit_wire::attribute::flags;
    use ribbit_wire::{DecodeContext, Family, FamilySet, Message, MpNlri, NextHop, Update};

    pub fn qa_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/exabgp-qa")
    }

    pub fn hex(s: &str) -> Vec<u8> {
        let digits: Vec<u8> = s
            .chars()
            .filter_map(|c| c.to_digit(16).and_then(|d| u8::try_from(d).ok()))
            .collect();
        digits.chunks_exact(2).map(|p| (p[0] << 4) | p[1]).collect()
    }

    /// Files not run, and why.
    pub const SKIPPED_FILES: &[(&str, &str)] = &[
        ("conf-llnh-update.ci", "the link-local next hop comes from the session"),
        ("conf-no-asn4.ci", "Ribbit always offers 4-octet AS numbers"),
        ("extended-nexthop.ci", "Ribbit does not offer the extended next hop capability"),
        ("conf-ebgp.ci", "its commands carry the AS path ExaBGP sent on eBGP; a session would prepend our AS again (conformance_encode.rs covers it)"),
        ("conf-ipself4.ci", "next-hop self is our session address, not ExaBGP's 127.0.0.1"),
        ("conf-ipself6.ci", "next-hop self is our session address, not ExaBGP's ::1"),
        ("conf-generic-attribute.ci", "ExaBGP's UPDATE has an unknown attribute with well-known flags, on which a session resets (RFC 4271 §6.3); conformance_encode.rs compares its bytes"),
    ];

    /// Groups N of a file: the commands and the UPDATEs ExaBGP sent.
    pub fn groups(ci: &str) -> Vec<(String, Vec<String>, Vec<Vec<u8>>)> {
        let mut out: Vec<(String, Vec<String>, Vec<Vec<u8>>)> = Vec::new();
        for line in ci.lines().map(str::trim) {
            let Some((group, rest)) = line.split_once(':') else {
                continue;
            };
            if out.last().is_none_or(|g| g.0 != group)
                && (rest.starts_with("cmd:") || rest.starts_with("raw:"))
            {
                out.push((group.to_string(), Vec::new(), Vec::new()));
            }
            let Some(g) = out.last_mut() else { continue };
            if let Some(c) = rest.strip_prefix("cmd:") {
                g.1.push(c.to_string());
            } else if let Some(r) = rest.strip_prefix("raw:") {
                g.2.push(hex(r));
            }
        }
        out
    }

    /// Whether a command is sent: route commands Ribbit carries (not
    /// End-of-RIB, which the speaker sends itself).
    pub fn sendable(cmd: &str) -> Result<(), String> {
        match text::parse(cmd) {
            Ok(c) => match c.command {
                Command::EndOfRib(_) => Err("End-of-RIB is the speaker's own".into()),
                _ => Ok(()),
            },
            Err(e) if e.kind == ParseErrorKind::Unsupported => Err(e.message),
            Err(e) => Err(format!("does not parse: {e}")),
        }
    }

    /// One item per NLRI, normalised.
    pub fn items(u: &Update) -> Vec<String> {
        let mut attrs = u.attributes.clone();
        let classic_next_hop = attrs.next_hop.take();
        attrs.communities.sort();
        attrs.extended_communities.sort();
        attrs.large_communities.sort();
        for a in &mut attrs.unknown {
            a.flags &= !flags::EXTENDED_LENGTH;
        }
        let mut out = Vec::new();
        for n in &u.withdrawn {
            out.push(format!("withdraw ipv4-unicast {n:?}"));
        }
        for n in &u.announced {
            out.push(format!(
                "announce ipv4-unicast {n:?} next-hop {classic_next_hop:?} {attrs:?}"
            ));
        }
        let mp =
            |f: Family, nlri: &MpNlri, what: &str, nh: Option<NextHop>, out: &mut Vec<String>| {
                if let MpNlri::Decoded(list) = nlri {
                    for n in list.iter() {
                        out.push(format!("{what} {f} {n:?} next-hop {nh:?} {attrs:?}"));
                    }
                }
            };
        if let Some(r) = &u.mp_reach {
            mp(r.family, &r.nlri, "announce", Some(r.next_hop), &mut out);
        }
        if let Some(r) = &u.mp_unreach {
            mp(r.family, &r.nlri, "withdraw", None, &mut out);
        }
        out
    }

    /// The last item of each NLRI, sorted: a group that announces one NLRI
    /// twice ends with the second, which is all a RIB sends once it has
    /// both (ExaBGP sends both).
    pub fn latest(items: impl IntoIterator<Item = String>) -> Vec<String> {
        let mut by_nlri: BTreeMap<String, String> = BTreeMap::new();
        for i in items {
            // "announce FAMILY NLRI next-hop ..." / "withdraw FAMILY NLRI".
            let key = i
                .split_once(' ')
                .map(|(_, rest)| rest.split(" next-hop ").next().unwrap_or(rest).to_string())
                .unwrap_or_else(|| i.clone());
            by_nlri.insert(key, i);
        }
        by_nlri.into_values().collect()
    }

    pub fn expected(raws: &[Vec<u8>], ctx: &DecodeContext) -> Result<Vec<String>, String> {
        let mut all = Vec::new();
        for m in raws {
            match Message::decode(m, ctx) {
                Ok(Message::Update(u)) => all.extend(items(&u)),
                other => return Err(format!("ExaBGP's UPDATE does not decode: {other:?}")),
            }
        }
        Ok(latest(all))
    }

    pub fn add_path(file: &str) -> FamilySet {
        let mut s = FamilySet::EMPTY;
        match file {
            "conf-addpath.ci" => {
                s.insert(Family::IPV4_UNICAST);
                s.insert(Family::IPV4_VPN);
            }
            "conf-path-information.ci" => s.insert(Family::IPV4_UNICAST),
            _ => {}
        }
        s
    }

    /// Report of a run.
    #[derive(Default)]
    pub struct Report {
        pub compared: usize,
        pub groups: usize,
        pub skipped: BTreeMap<String, Vec<String>>,
        pub failures: Vec<String>,
    }
}

/// Two speakers for the conformance run: A with the relay program, B
/// collecting every UPDATE from A.
struct QaPair {
    pair: Pair,
    received: Arc<std::sync::Mutex<Vec<Arc<ribbit_wire::Update>>>>,
    collector: tokio::task::JoinHandle<()>,
    dir: PathBuf,
    replies: PathBuf,
    next: usize,
    sent: usize,
}

const ALL_FAMILIES: &str = r#"["ipv4-unicast", "ipv6-unicast", "ipv4-multicast", "ipv6-multicast", "ipv4-labeled-unicast", "ipv6-labeled-unicast", "ipv4-vpn", "ipv6-vpn", "ipv4-flowspec", "ipv6-flowspec", "ipv4-flowspec-vpn", "ipv6-flowspec-vpn"]"#;

impl QaPair {
    async fn start(lab: &Lab, n: u8, add_path: &[&str]) -> QaPair {
        let dir = lab.path(&format!("cmds-{n}"));
        std::fs::create_dir_all(&dir).unwrap();
        let replies = lab.path(&format!("replies-{n}.log"));
        let a_addr = format!("127.0.3.{}", n * 10 + 1);
        let b_addr = format!("127.0.3.{}", n * 10 + 2);
        let a_port = 11300 + u16::from(n) * 2;
        let b_port = a_port + 1;
        let (send, recv): (Vec<String>, Vec<String>) = add_path
            .iter()
            .map(|f| (format!("{f} = \"send\""), format!("{f} = \"receive\"")))
            .unzip();
        let a_toml = format!(
            r#"
[global]
asn = 65533
router-id = "{a_addr}"
listen = ["{a_addr}:{a_port}"]

[[neighbor]]
address = "{b_addr}"
port = {b_port}
local-address = "{a_addr}"
asn = 65533
connect-retry = 1
families = {ALL_FAMILIES}
add-path = {{ {} }}

[[process]]
name = "relay"
run = "{} {} {}"
receive = []
"#,
            send.join(", "),
            script("relay.py"),
            dir.display(),
            replies.display()
        );
        let b_toml = format!(
            r#"
[global]
asn = 65533
router-id = "{b_addr}"
listen = ["{b_addr}:{b_port}"]

[[neighbor]]
address = "{a_addr}"
port = {a_port}
local-address = "{b_addr}"
asn = 65533
passive = true
families = {ALL_FAMILIES}
add-path = {{ {} }}
"#,
            recv.join(", ")
        );
        let a_cfg = Config::parse(&a_toml, "a.toml").unwrap_or_else(|e| panic!("{e}"));
        let b_cfg = Config::parse(&b_toml, "b.toml").unwrap_or_else(|e| panic!("{e}"));
        let b = Speaker::start(&b_cfg).await.expect("B");
        let received = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut events = b.subscribe();
        let sink = Arc::clone(&received);
        let collector = tokio::spawn(async move {
            while let Some(e) = events.next().await {
                if let PeerEvent::Update { update, .. } = e {
                    if update.end_of_rib_family().is_none() {
                        sink.lock().unwrap().push(update);
                    }
                }
            }
        });
        let a = Arc::new(Speaker::start(&a_cfg).await.expect("A"));
        let (procs, requests) =
            Processes::start(&a_cfg.processes, Arc::clone(&a), lab.dir().to_path_buf());
        let pair = Pair {
            a,
            b,
            a_addr: a_addr.parse().unwrap(),
            b_addr: b_addr.parse().unwrap(),
            processes: Some(procs),
            requests,
        };
        pair.established().await;
        // The End-of-RIBs of the start are not wanted; neither is anything
        // before the first group.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        received.lock().unwrap().clear();
        QaPair {
            pair,
            received,
            collector,
            dir,
            replies,
            next: 1,
            sent: 0,
        }
    }

    /// Send commands through the program; the replies.
    async fn send(&mut self, commands: &[String]) -> Vec<String> {
        write_atomically(&self.dir.join(self.next.to_string()), &commands.join("\n"));
        self.next += 1;
        let before = self.sent;
        self.sent += commands.len();
        let (want, path) = (self.sent, self.replies.clone());
        let all = eventually("the answers", PROPAGATE, || {
            let path = path.clone();
            async move {
                let l = lines(&path);
                if l.len() >= want {
                    Ok(l)
                } else {
                    Err(format!("{} of {want}", l.len()))
                }
            }
        })
        .await;
        all[before..self.sent].to_vec()
    }

    /// What B received since the last call, as items, once `want` items
    /// came (or a second passed without any more).
    async fn take(&self, want: usize) -> Vec<String> {
        let mut last = 0;
        let mut quiet = 0;
        loop {
            let items: Vec<String> = self
                .received
                .lock()
                .unwrap()
                .iter()
                .flat_map(|u| conformance::items(u))
                .collect();
            if items.len() >= want && quiet >= 2 || quiet >= 10 {
                self.received.lock().unwrap().clear();
                return conformance::latest(items);
            }
            if items.len() == last {
                quiet += 1;
            } else {
                quiet = 0;
                last = items.len();
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    /// Withdraw everything announced (through the library: the test's
    /// cleanup, not what is tested) and wait until B has nothing.
    async fn clear(&self, commands: &[String]) {
        use ribbit_exabgp::text::{Command, Withdrawal};
        let list: Vec<Withdrawal> = commands
            .iter()
            .filter_map(|c| ribbit_exabgp::text::parse(c).ok())
            .filter_map(|c| match c.command {
                Command::Announce(a) => Some(Withdrawal {
                    family: a.family,
                    nlri: a.nlri,
                }),
                _ => None,
            })
            .collect();
        let _ = self.pair.a.withdraw_all(&[], &list).await;
        let (b, a) = (&self.pair.b, self.pair.a_addr);
        eventually("B's table from A empty", PROPAGATE, || async move {
            match b.adj_rib_in(a).await {
                Some(v) if v.is_empty() => Ok(()),
                other => Err(format!("{:?}", other.map(|v| v.len()))),
            }
        })
        .await;
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        self.received.lock().unwrap().clear();
    }

    async fn stop(self) {
        self.collector.abort();
        self.pair.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exabgp_conformance_through_a_process() {
    use conformance::*;
    let lab = Lab::new("process-conformance");
    let dir = qa_dir();
    assert!(
        dir.is_dir(),
        "conformance data not found at {}",
        dir.display()
    );
    let mut names: Vec<String> = std::fs::read_dir(dir.join("encoding"))
        .expect("encoding/")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| n.ends_with(".ci"))
        .collect();
    names.sort();
    let mut report = Report::default();
    // One pair without ADD-PATH, one with it for the files that need it.
    let mut plain = QaPair::start(&lab, 8, &[]).await;
    let mut addpath = QaPair::start(&lab, 9, &["ipv4-unicast", "ipv4-vpn"]).await;
    for name in &names {
        if SKIPPED_FILES.iter().any(|(f, _)| f == name) {
            continue;
        }
        let ci = std::fs::read_to_string(dir.join("encoding").join(name)).unwrap();
        let ap = add_path(name);
        let qa = if ap.is_empty() {
            &mut plain
        } else {
            &mut addpath
        };
        let ctx = ribbit_wire::DecodeContext {
            add_path: ap,
            ..ribbit_wire::DecodeContext::default()
        };
        // The groups of a file follow one another on one session (a
        // group may withdraw what an earlier one announced); everything
        // is withdrawn at the end of the file.
        let mut announced = Vec::new();
        for (group, cmds, raws) in groups(&ci) {
            let mut send = Vec::new();
            for c in &cmds {
                match sendable(c) {
                    Ok(()) => send.push(c.clone()),
                    Err(why) => report
                        .skipped
                        .entry(why)
                        .or_default()
                        .push(format!("{name}: {c}")),
                }
            }
            if send.is_empty() {
                continue;
            }
            // ExaBGP's UPDATEs of the group, less the End-of-RIBs.
            let want = match expected(&raws, &ctx) {
                Ok(w) => w,
                Err(e) => {
                    report.failures.push(format!("{name} group {group}: {e}"));
                    continue;
                }
            };
            let answers = qa.send(&send).await;
            for (c, a) in send.iter().zip(&answers) {
                if a != "done" {
                    report.failures.push(format!("{name}: {c}\n  answered {a}"));
                }
            }
            let got = qa.take(want.len()).await;
            report.groups += 1;
            report.compared += send.len();
            if got != want {
                report.failures.push(format!(
                    "{name} group {group} (first: {})\n  Ribbit sent:\n    {}\n  ExaBGP sent:\n    {}",
                    send[0],
                    got.join("\n    "),
                    want.join("\n    ")
                ));
            }
            announced.extend(send);
        }
        qa.clear(&announced).await;
    }
    plain.stop().await;
    addpath.stop().await;
    let skipped: usize = report.skipped.values().map(Vec::len).sum();
    println!(
        "{} commands sent through a process in {} groups and compared with ExaBGP's UPDATEs; {} skipped; {} files skipped",
        report.compared,
        report.groups,
        skipped,
        SKIPPED_FILES.len()
    );
    for (f, why) in SKIPPED_FILES {
        println!("  skipped file {f}: {why}");
    }
    for (why, cmds) in &report.skipped {
        println!("  skipped ({why}): {}", cmds.len());
    }
    for f in &report.failures {
        println!("FAILED {f}");
    }
    assert!(
        report.failures.is_empty(),
        "{} failures (see above)",
        report.failures.len()
    );
    // 89 when written: every command of the families Ribbit carries.
    assert!(
        report.compared >= 85,
        "only {} commands compared",
        report.compared
    );
}

/// The routes GoBGP has from a neighbor: `prefix as-path [..] med N`, sorted.
async fn gobgp_adj_in(cli: &Path, lab: &Lab, neighbor: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for family in ["ipv4", "ipv6"] {
        let text = support::run_cli(
            cli,
            &[
                "-u",
                "127.0.3.102",
                "-p",
                "11398",
                "neighbor",
                neighbor,
                "adj-in",
                "-a",
                family,
                "-j",
            ],
            lab.dir(),
        )
        .await?;
        let v: Value = serde_json::from_str(&text).map_err(|e| format!("{e}: {text}"))?;
        for paths in v.as_object().into_iter().flat_map(|m| m.values()) {
            for p in paths.as_array().into_iter().flatten() {
                let mut line = p["nlri"]["prefix"].as_str().unwrap_or_default().to_string();
                for a in p["attrs"].as_array().into_iter().flatten() {
                    match a["type"].as_u64() {
                        Some(2) => {
                            let asns: Vec<String> = a["as_paths"]
                                .as_array()
                                .into_iter()
                                .flatten()
                                .flat_map(|s| s["asns"].as_array().cloned().unwrap_or_default())
                                .map(|n| n.to_string())
                                .collect();
                            line.push_str(&format!(" as-path [{}]", asns.join(" ")));
                        }
                        Some(4) => line.push_str(&format!(" med {}", a["metric"])),
                        Some(8) => {
                            let c: Vec<String> = a["communities"]
                                .as_array()
                                .into_iter()
                                .flatten()
                                .filter_map(Value::as_u64)
                                .map(|n| format!("{}:{}", n >> 16, n & 0xffff))
                                .collect();
                            line.push_str(&format!(" community {}", c.join(",")));
                        }
                        Some(32) => {
                            let c: Vec<String> = a["value"]
                                .as_array()
                                .into_iter()
                                .flatten()
                                .map(|l| {
                                    format!("{}:{}:{}", l["ASN"], l["LocalData1"], l["LocalData2"])
                                })
                                .collect();
                            line.push_str(&format!(" large {}", c.join(",")));
                        }
                        _ => {}
                    }
                }
                out.push(line);
            }
        }
    }
    out.sort();
    Ok(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exabgp_style_script_to_gobgp() {
    let lab = Lab::new("process-gobgp");
    let gobgpd = support::find_binary("gobgpd", "gobgpd");
    let cli = support::find_binary("gobgp", "gobgpd");
    lab.write(
        "gobgpd.toml",
        r#"
[global.config]
  as = 65002
  router-id = "127.0.3.102"
  port = 11321
  local-address-list = ["127.0.3.102"]

[[neighbors]]
  [neighbors.config]
    neighbor-address = "127.0.3.101"
    peer-as = 65001
  [neighbors.transport.config]
    local-address = "127.0.3.102"
    passive-mode = true
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv6-unicast"
"#,
    );
    let mut command = std::process::Command::new(gobgpd);
    command.args([
        "-f",
        "gobgpd.toml",
        "-p",
        "--pprof-disable",
        "--api-hosts",
        "127.0.3.102:11398",
    ]);
    let daemon = support::Daemon::spawn("gobgpd", &lab, command, &[]);
    let c = cli.clone();
    let l = lab.dir().to_path_buf();
    eventually("gobgpd's API", PROPAGATE, || {
        let (c, l) = (c.clone(), l.clone());
        let running = daemon.check_running();
        async move {
            running?;
            support::run_cli(&c, &["-u", "127.0.3.102", "-p", "11398", "global"], &l).await
        }
    })
    .await;
    let a_toml = format!(
        r#"
[global]
asn = 65001
router-id = "127.0.3.101"
listen = ["127.0.3.101:11320"]

[[neighbor]]
address = "127.0.3.102"
port = 11321
local-address = "127.0.3.101"
asn = 65002
connect-retry = 1
families = ["ipv4-unicast", "ipv6-unicast"]

[[process]]
name = "announce"
run = "{}"
receive = []
"#,
        script("announce-routes.py")
    );
    let a_cfg = Config::parse(&a_toml, "a.toml").unwrap_or_else(|e| panic!("{e}"));
    let a = Arc::new(Speaker::start(&a_cfg).await.expect("A"));
    let (procs, _requests) =
        Processes::start(&a_cfg.processes, Arc::clone(&a), lab.dir().to_path_buf());
    let want = [
        "100.10.0.0/24 as-path [65001] med 5 community 65001:100",
        "100.30.0.0/24 as-path [65001] large 65001:1:2",
        "100.30.1.0/24 as-path [65001] large 65001:1:2",
        "2001:db8:30::/48 as-path [65001] med 7",
    ];
    let c = cli.clone();
    eventually(
        "GoBGP receives the script's routes",
        support::ESTABLISHED,
        || {
            let c = c.clone();
            let lab = &lab;
            async move {
                let got = gobgp_adj_in(&c, lab, "127.0.3.101").await?;
                if got == want {
                    Ok(())
                } else {
                    Err(format!("{got:#?}"))
                }
            }
        },
    )
    .await;
    let s = &procs.status()[0];
    assert_eq!((s.counters.commands, s.counters.errors), (5, 0), "{s:?}");
    procs.stop().await;
    a.stop(None).await;
    drop(daemon);
}
