//! `ribbit healthcheck`, the health-check program in the box:
//! - `standalone_flips_on_the_check`: run by hand, its standard output
//!   says up (MED 100), then down (MED 1000) once the check fails `--fall`
//!   times, disabled (MED 500) while the disable file exists, and up again;
//! - `waits_for_acks_and_withdraws_on_sigterm`: with acks it sends the
//!   next command only after `done`, skips events, and withdraws every
//!   address on SIGTERM;
//! - `under_process_peer_sees_the_route_flip`: run by `[[process]]`, a
//!   peer sees the route's MED follow the check, then the route withdrawn
//!   with `--withdraw-on-down`.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use support::Lab;

const RIBBIT: &str = env!("CARGO_BIN_EXE_ribbit");

/// The lines a child prints, as they come.
struct Output {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Output {
    fn spawn(args: &[&str], stdin: Stdio) -> Output {
        let mut child = Command::new(RIBBIT)
            .arg("healthcheck")
            .args(args)
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start ribbit healthcheck");
        let out = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    return;
                }
            }
        });
        Output { child, lines }
    }

    /// The next line, within `within`.
    fn next(&self, within: Duration) -> Option<String> {
        self.lines.recv_timeout(within).ok()
    }

    /// Lines until one contains `what`; fails after `within`.
    fn until(&self, what: &str, within: Duration) -> Vec<String> {
        let end = Instant::now() + within;
        let mut seen = Vec::new();
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    let hit = l.contains(what);
                    seen.push(l);
                    if hit {
                        return seen;
                    }
                }
                Err(_) => panic!("no line with {what:?} within {within:?}; saw {seen:#?}"),
            }
        }
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn touch(p: &Path) {
    std::fs::write(p, "").unwrap();
}

#[test]
fn standalone_flips_on_the_check() {
    let lab = Lab::new("healthcheck-standalone");
    let healthy = lab.path("healthy");
    let disabled = lab.path("disabled");
    touch(&healthy);
    let check = format!("test -e {}", healthy.display());
    let disable = disabled.display().to_string();
    let out = Output::spawn(
        &[
            "--cmd",
            &check,
            "--ip",
            "192.0.2.10/32",
            "--ip",
            "2001:db8::10",
            "--next-hop",
            "192.0.2.1",
            "--interval",
            "0.2",
            "--fast-interval",
            "0.05",
            "--rise",
            "2",
            "--fall",
            "3",
            "--disable",
            &disable,
            "--community",
            "65000:1",
            "--no-ack",
        ],
        Stdio::null(),
    );
    let t = Duration::from_secs(10);
    // Rising twice, then up: both addresses, the second one MED + 1.
    let first = out.next(t).expect("a first line");
    assert_eq!(
        first,
        "announce route 192.0.2.10/32 next-hop 192.0.2.1 med 100 community [ 65000:1 ]"
    );
    assert_eq!(
        out.next(t).as_deref(),
        Some("announce route 2001:db8::10/128 next-hop 192.0.2.1 med 101 community [ 65000:1 ]")
    );
    // Failing: nothing while falling, then down after three failures.
    std::fs::remove_file(&healthy).unwrap();
    let failed_at = Instant::now();
    let seen = out.until("med 1000", t);
    assert!(
        seen.iter()
            .all(|l| l.contains("med 10") && !l.contains("med 1000") || l == seen.last().unwrap()),
        "{seen:#?}"
    );
    // Three checks 0.05 s apart after the first failure: not before.
    assert!(failed_at.elapsed() >= Duration::from_millis(100));
    // Disabled wins over the check.
    touch(&disabled);
    out.until("med 500", t);
    std::fs::remove_file(&disabled).unwrap();
    touch(&healthy);
    let seen = out.until("192.0.2.10/32 next-hop 192.0.2.1 med 100", t);
    assert!(
        seen.iter().all(|l| !l.starts_with("withdraw")),
        "nothing withdrawn without --withdraw-on-down: {seen:#?}"
    );
}

#[test]
fn waits_for_acks_and_withdraws_on_sigterm() {
    let lab = Lab::new("healthcheck-acks");
    let healthy = lab.path("healthy");
    let check = format!("test -e {}", healthy.display());
    let mut out = Output::spawn(
        &[
            "--cmd",
            &check,
            "--ip",
            "192.0.2.10/32",
            "--ip",
            "192.0.2.11/32",
            "--interval",
            "0.1",
            "--fast-interval",
            "0.05",
            "--rise",
            "1",
            "--fall",
            "1",
            "--withdraw-on-down",
        ],
        Stdio::piped(),
    );
    let mut stdin = out.child.stdin.take().expect("stdin");
    let t = Duration::from_secs(10);
    // Down from the start, withdrawn; the second command waits for the
    // first one's answer.
    assert_eq!(
        out.next(t).as_deref(),
        Some("withdraw route 192.0.2.10/32 next-hop self")
    );
    assert_eq!(out.next(Duration::from_millis(500)), None, "waits for done");
    // An event is not an answer.
    writeln!(stdin, "{{\"exabgp\": \"4.0.1\", \"type\": \"state\"}}").unwrap();
    assert_eq!(
        out.next(Duration::from_millis(300)),
        None,
        "an event is no ack"
    );
    writeln!(stdin, "done").unwrap();
    assert_eq!(
        out.next(t).as_deref(),
        Some("withdraw route 192.0.2.11/32 next-hop self")
    );
    writeln!(stdin, "error something").unwrap();
    touch(&healthy);
    // Answer everything from now on.
    let mut answers = stdin;
    let (tx, rx) = mpsc::channel::<String>();
    let lines = std::mem::replace(&mut out.lines, rx);
    std::thread::spawn(move || {
        for l in lines.iter() {
            let _ = writeln!(answers, "done");
            if tx.send(l).is_err() {
                return;
            }
        }
    });
    out.until("announce route 192.0.2.11/32 next-hop self med 101", t);
    // SIGTERM: every address withdrawn, then the end.
    let pid = out.child.id().to_string();
    let st = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(st.success());
    let seen = out.until("withdraw route 192.0.2.11/32", t);
    assert!(
        seen.iter()
            .any(|l| l == "withdraw route 192.0.2.10/32 next-hop self"),
        "{seen:#?}"
    );
    let end = Instant::now() + t;
    loop {
        if let Some(status) = out.child.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(Instant::now() < end, "still running after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn ends_when_the_speaker_goes_away() {
    // With acks, a closed input is the speaker gone: the program ends.
    let mut out = Output::spawn(
        &["--ip", "192.0.2.10", "--interval", "0.05", "--rise", "1"],
        Stdio::piped(),
    );
    let stdin = out.child.stdin.take().expect("stdin");
    assert!(out.next(Duration::from_secs(10)).is_some());
    drop(stdin);
    let end = Instant::now() + Duration::from_secs(10);
    while out.child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < end, "still running with its input closed");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn refuses_wrong_options() {
    let o = Command::new(RIBBIT)
        .args(["healthcheck", "--cmd", "true"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--ip"), "{o:?}");
    let o = Command::new(RIBBIT)
        .args(["healthcheck", "--ip", "10.0.0.1/24"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("host bits"),
        "{o:?}"
    );
}

/// What B has from A: `prefix med N`, sorted.
async fn routes_at(b: &ribbit::Speaker, a: std::net::IpAddr) -> Vec<String> {
    let mut v: Vec<String> = b
        .adj_rib_in(a)
        .await
        .unwrap_or_default()
        .iter()
        .map(|r| match r.attributes.med {
            Some(m) => format!("{} med {m}", r.nlri),
            None => r.nlri.clone(),
        })
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_process_peer_sees_the_route_flip() {
    use ribbit::config::Config;
    use ribbit::process::Processes;
    use std::sync::Arc;
    use support::{eventually, PROPAGATE};

    let lab = Lab::new("healthcheck-process");
    let healthy = lab.path("healthy");
    touch(&healthy);
    let common = format!(
        "--cmd 'test -e {}' --next-hop 192.0.2.1 --interval 0.2 --fast-interval 0.1 --rise 2 --fall 2",
        healthy.display()
    );
    let a_toml = format!(
        r#"
[global]
asn = 65001
router-id = "127.0.3.81"
listen = ["127.0.3.81:11381"]

[[neighbor]]
address = "127.0.3.82"
port = 11382
local-address = "127.0.3.81"
asn = 65002
connect-retry = 1

[[process]]
name = "metric"
run = "{RIBBIT} healthcheck --ip 192.0.2.10/32 {common}"
receive = ["update", "state"]

[[process]]
name = "withdraw"
run = "{RIBBIT} healthcheck --ip 192.0.2.20/32 --withdraw-on-down {common}"
"#
    );
    let b_toml = r#"
[global]
asn = 65002
router-id = "127.0.3.82"
listen = ["127.0.3.82:11382"]

[[neighbor]]
address = "127.0.3.81"
port = 11381
local-address = "127.0.3.82"
asn = 65001
passive = true
"#;
    let a_cfg = Config::parse(&a_toml, "a.toml").unwrap_or_else(|e| panic!("{e}"));
    let b_cfg = Config::parse(b_toml, "b.toml").unwrap_or_else(|e| panic!("{e}"));
    let b = ribbit::Speaker::start(&b_cfg).await.expect("B");
    let a = Arc::new(ribbit::Speaker::start(&a_cfg).await.expect("A"));
    let (procs, _requests) =
        Processes::start(&a_cfg.processes, Arc::clone(&a), lab.dir().to_path_buf());
    let a_addr: std::net::IpAddr = "127.0.3.81".parse().unwrap();
    let expect = |want: Vec<&'static str>| {
        let b = &b;
        move || {
            let want = want.clone();
            async move {
                let seen = routes_at(b, a_addr).await;
                if seen == want {
                    Ok(())
                } else {
                    Err(format!("{seen:?}"))
                }
            }
        }
    };
    eventually(
        "both routes up (MED 100)",
        PROPAGATE * 3,
        expect(vec!["192.0.2.10/32 med 100", "192.0.2.20/32 med 100"]),
    )
    .await;
    std::fs::remove_file(&healthy).unwrap();
    eventually(
        "the check failing: MED 1000, and the other withdrawn",
        PROPAGATE,
        expect(vec!["192.0.2.10/32 med 1000"]),
    )
    .await;
    touch(&healthy);
    eventually(
        "healthy again",
        PROPAGATE,
        expect(vec!["192.0.2.10/32 med 100", "192.0.2.20/32 med 100"]),
    )
    .await;
    // Every command was answered done: no errors counted.
    for s in procs.status() {
        assert_eq!(s.counters.errors, 0, "{s:?}");
        assert!(s.counters.commands >= 3, "up, down, up: {s:?}");
    }
    // Stopping: each healthcheck withdraws its address on SIGTERM (or has
    // its input closed first and ends); the session is then stopped.
    procs.stop().await;
    b.stop(None).await;
    a.stop(None).await;
}
