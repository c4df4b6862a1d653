//! The process API's throughput, both ways, for Ribbit (`ribbit run` with a
//! `[[process]]`) or ExaBGP 4.2 (the same program as its `process`):
//!
//! - `--direction announce`: a program writes N `announce route` commands
//!   (prepared before the session is up, written in large writes once it
//!   is, acks off) and a GoBGP peer receives them; timed from the program's
//!   first write to GoBGP holding N destinations. With `--peer monitor` the
//!   receiver is this harness's own BGP peer instead (it decodes and counts
//!   the prefixes as they arrive, so the figure is the speaker's and not
//!   GoBGP's).
//! - `--direction receive`: a raw BGP speaker (this harness) sends a
//!   generated table of N prefixes; the program reads the JSON events and
//!   counts the prefixes; timed from the first UPDATE written to the
//!   program having counted N.
//!
//! `process-api --target ribbit|exabgp --direction announce|receive
//! [--peer gobgp|monitor] [--routes 1000000] [--ribbit target/release/ribbit]`.
//! Needs `gobgpd` and `gobgp` (announce to GoBGP), `exabgp` (target exabgp)
//! and `python3`. Addresses 127.0.3.200-213, ports 11390-11398. Prints one
//! line with the rate and the CPU time of the target (alone, and with the
//! programs it runs): on a shared two-core machine the wall time of a
//! CPU-bound run moves with the neighbours' load, its CPU time less.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::{Parser, ValueEnum};
use ribbit_bench::gen::{self, TableSpec};
use ribbit_bench::inject;
use ribbit_bench::session::{self, Session, Speaker};
use ribbit_bench::targets;
use ribbit_wire::EncodeContext;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Target {
    Ribbit,
    Exabgp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Direction {
    Announce,
    Receive,
}

/// Who receives the announced routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Receiver {
    /// GoBGP, polled with `gobgp global rib summary`.
    Gobgp,
    /// The harness's own peer, counting prefixes as UPDATEs arrive.
    Monitor,
}

/// Measure the process API one way.
#[derive(Debug, Parser)]
struct Args {
    /// Which speaker runs the program.
    #[arg(long, value_enum)]
    target: Target,
    /// Which way the routes go.
    #[arg(long, value_enum)]
    direction: Direction,
    /// Who receives the announced routes (`--direction announce`).
    #[arg(long, value_enum, default_value_t = Receiver::Gobgp)]
    peer: Receiver,
    /// Ribbit's `[global] event-buffer` (default: Ribbit's own default).
    #[arg(long)]
    event_buffer: Option<usize>,
    /// The program's `queue` (lines and events that may wait for it).
    #[arg(long, default_value_t = 1_000_000)]
    queue: usize,
    /// How many routes.
    #[arg(long, default_value_t = 1_000_000)]
    routes: usize,
    /// The ribbit binary.
    #[arg(long, default_value = "target/release/ribbit")]
    ribbit: PathBuf,
    /// Working directory (configurations, programs, logs).
    #[arg(long, default_value = "/tmp/ribbit-process-bench")]
    dir: PathBuf,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 900)]
    timeout: u64,
}

/// The announcing program: N commands prepared first, written at once
/// when the session is up (it waits for the `up` state event).
const ANNOUNCER: &str = r#"#!/usr/bin/env python3
import sys, time
n, out, target = int(sys.argv[1]), sys.argv[2], sys.argv[3]
lines = []
for i in range(n):
    a = (11 << 24) + (i << 8)
    lines.append("announce route %d.%d.%d.0/24 next-hop 198.18.0.1\n" % (a >> 24, (a >> 16) & 255, (a >> 8) & 255))
text = "".join(lines)
for line in sys.stdin:
    if '"up"' in line:
        break
t0 = time.time()
if target == "ribbit":
    sys.stdout.write("silence-ack\n")
sys.stdout.write(text)
sys.stdout.flush()
with open(out, "w") as f:
    f.write("%f %f\n" % (t0, time.time()))
for line in sys.stdin:
    pass
"#;

/// The receiving program: counts the prefixes in the JSON it reads.
const COUNTER: &str = r#"#!/usr/bin/env python3
import sys, time
n, out = int(sys.argv[1]), sys.argv[2]
stdin = sys.stdin.buffer
seen = 0
tail = b""
while True:
    chunk = stdin.read1(1 << 20)
    if not chunk:
        break
    # A word cut between two reads is counted with the end of the last.
    seen += (tail + chunk).count(b'"nlri"')
    tail = chunk[-5:]
    if seen >= n:
        with open(out, "w") as f:
            f.write("%f %d\n" % (time.time(), seen))
        break
while stdin.read1(1 << 20):
    pass
"#;

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// A child process killed when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn write_exec(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
}

fn spawn(dir: &Path, name: &str, cmd: &mut Command) -> std::io::Result<Running> {
    let log = std::fs::File::create(dir.join(format!("{name}.log")))?;
    let err = log.try_clone()?;
    Ok(Running(
        cmd.current_dir(dir)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()?,
    ))
}

/// The target's session: its address and port, the neighbor, who connects.
struct Peering<'a> {
    local: &'a str,
    port: u16,
    neighbor: &'a str,
    neighbor_as: u32,
    passive: bool,
}

/// Start the target with one neighbor and one program.
#[allow(
    clippy::too_many_arguments,
    reason = "each argument is one setting of the generated configuration"
)]
fn start_target(
    a: &Args,
    p: &Peering<'_>,
    program: &str,
    receive: &str,
) -> std::io::Result<Running> {
    let Peering {
        local,
        port,
        neighbor,
        neighbor_as,
        passive,
    } = *p;
    match a.target {
        Target::Ribbit => {
            let connect = if passive {
                "passive = true".to_string()
            } else {
                format!("port = {}", port + 1)
            };
            let queue = a.queue;
            let buffer = a
                .event_buffer
                .map_or(String::new(), |n| format!("event-buffer = {n}\n"));
            let conf = format!(
                r#"[global]
asn = 65001
router-id = "{local}"
listen = ["{local}:{port}"]
{buffer}
[api]
enabled = false

[[neighbor]]
address = "{neighbor}"
local-address = "{local}"
asn = {neighbor_as}
{connect}
connect-retry = 1

[[process]]
name = "bench"
run = "{program}"
receive = [{receive}]
queue = {queue}
"#
            );
            std::fs::write(a.dir.join("ribbit.toml"), conf)?;
            let bin = std::fs::canonicalize(&a.ribbit)?;
            spawn(
                &a.dir,
                "ribbit",
                Command::new(bin).args(["run", "--config", "ribbit.toml"]),
            )
        }
        Target::Exabgp => {
            let mode = if passive {
                "passive;".to_string()
            } else {
                format!("connect {};", port + 1)
            };
            let receive = if receive.contains("update") {
                "receive { parsed; update; }"
            } else {
                ""
            };
            let conf = format!(
                r#"process bench {{
    run {program};
    encoder json;
}}
neighbor {neighbor} {{
    router-id {local};
    local-address {local};
    local-as 65001;
    peer-as {neighbor_as};
    {mode}
    family {{ ipv4 unicast; }}
    api {{
        processes [ bench ];
        neighbor-changes;
        {receive}
    }}
}}
"#
            );
            std::fs::write(a.dir.join("exabgp.conf"), conf)?;
            spawn(
                &a.dir,
                "exabgp",
                Command::new("exabgp")
                    .args(["--root", ".", "exabgp.conf"])
                    .env("exabgp_tcp_bind", local)
                    .env("exabgp_tcp_port", port.to_string())
                    .env("exabgp_daemon_user", "root")
                    .env("exabgp_api_ack", "false"),
            )
        }
    }
}

/// Wait for a file a program writes; its words.
fn wait_file(path: &Path, timeout: Duration) -> Result<Vec<String>, String> {
    let end = Instant::now() + timeout;
    loop {
        if let Ok(t) = std::fs::read_to_string(path) {
            if t.ends_with('\n') {
                return Ok(t.split_whitespace().map(str::to_string).collect());
            }
        }
        if Instant::now() > end {
            return Err(format!("{} not written in {timeout:?}", path.display()));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn receive(a: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let t = Instant::now();
    let mut mrt = Vec::new();
    gen::write_table(
        &TableSpec {
            prefixes: a.routes,
            ..TableSpec::default()
        },
        &mut mrt,
    )?;
    let prepared = inject::prepare(&mrt[..], EncodeContext::default())?;
    let load = prepared
        .peers
        .first()
        .ok_or("no peer in the table")?
        .clone();
    eprintln!(
        "table: {} prefixes in {} UPDATEs, prepared in {:.1} s",
        load.prefixes,
        load.update_count,
        t.elapsed().as_secs_f64()
    );
    let counter = a.dir.join("counter.py");
    write_exec(&counter, COUNTER)?;
    let done = a.dir.join("received.txt");
    let _ = std::fs::remove_file(&done);
    let program = format!("{} {} {}", counter.display(), load.prefixes, done.display());
    let (local, me) = ("127.0.3.201", "127.0.3.200");
    let peering = Peering {
        local,
        port: 11390,
        neighbor: me,
        neighbor_as: load.asn,
        passive: true,
    };
    let target = start_target(a, &peering, &program, "\"update\"")?;
    let to = SocketAddr::new(local.parse()?, 11390);
    let stream = session::connect(me.parse::<IpAddr>()?, to, Duration::from_secs(30))?;
    let speaker = Speaker {
        asn: load.asn,
        router_id: load.router_id,
        hold_time: 240,
    };
    let sess = Session::establish(stream, &speaker, &load.families)?;
    let Session { writer, reader, .. } = sess;
    let _drain = inject::drain(reader);
    // Let the program see the session come up first.
    std::thread::sleep(Duration::from_millis(500));
    let t0 = now();
    inject::send(&writer, &load, |_| {})?;
    let words = wait_file(&done, Duration::from_secs(a.timeout))?;
    let end: f64 = words.first().ok_or("empty result")?.parse()?;
    report(a, load.prefixes, end - t0, &target);
    Ok(())
}

fn gobgp_destinations(api: &str) -> Option<usize> {
    let out = Command::new("gobgp")
        .args([
            "-u", api, "-p", "11397", "global", "rib", "summary", "-a", "ipv4",
        ])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    // "Table ipv4-unicast\nDestination: N, Path: N"
    text.split("Destination:")
        .nth(1)?
        .split(',')
        .next()?
        .trim()
        .parse()
        .ok()
}

fn announce(a: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let (gobgp, me) = ("127.0.3.211", "127.0.3.210");
    let conf = format!(
        r#"[global.config]
  as = 65002
  router-id = "{gobgp}"
  port = 11392
  local-address-list = ["{gobgp}"]

[[neighbors]]
  [neighbors.config]
    neighbor-address = "{me}"
    peer-as = 65001
  [neighbors.transport.config]
    local-address = "{gobgp}"
    passive-mode = true
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
"#
    );
    std::fs::write(a.dir.join("gobgpd.toml"), conf)?;
    let _gobgpd = spawn(
        &a.dir,
        "gobgpd",
        Command::new("gobgpd").args([
            "-f",
            "gobgpd.toml",
            "-p",
            "--pprof-disable",
            "--api-hosts",
            &format!("{gobgp}:11397"),
        ]),
    )?;
    std::thread::sleep(Duration::from_secs(2));
    let (program, started) = announcer(a)?;
    // The target connects to GoBGP's port (11392 = 11391 + 1).
    let peering = Peering {
        local: me,
        port: 11391,
        neighbor: gobgp,
        neighbor_as: 65002,
        passive: false,
    };
    let target = start_target(a, &peering, &program, "\"state\"")?;
    let words = wait_file(&started, Duration::from_secs(a.timeout))?;
    let t0: f64 = words.first().ok_or("empty")?.parse()?;
    let written: f64 = words.get(1).ok_or("empty")?.parse()?;
    eprintln!("the program wrote its commands in {:.2} s", written - t0);
    let end = Instant::now() + Duration::from_secs(a.timeout);
    let mut last = 0;
    loop {
        let n = gobgp_destinations(gobgp).unwrap_or(0);
        if n >= a.routes {
            break;
        }
        if n != last {
            last = n;
        }
        if Instant::now() > end {
            return Err(format!("GoBGP has {last} of {} after {:?}", a.routes, a.timeout).into());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    report(a, a.routes, now() - t0, &target);
    Ok(())
}

/// Write the announcing program; its command line and the file where it
/// notes when it started and finished writing.
fn announcer(a: &Args) -> std::io::Result<(String, PathBuf)> {
    let announcer = a.dir.join("announcer.py");
    write_exec(&announcer, ANNOUNCER)?;
    let started = a.dir.join("announced.txt");
    let _ = std::fs::remove_file(&started);
    let target = match a.target {
        Target::Ribbit => "ribbit",
        Target::Exabgp => "exabgp",
    };
    let program = format!(
        "{} {} {} {target}",
        announcer.display(),
        a.routes,
        started.display()
    );
    Ok((program, started))
}

/// The target connects to the harness's peer, which counts what arrives.
fn announce_to_monitor(a: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let (monitor, me) = ("127.0.3.213", "127.0.3.212");
    let addr = SocketAddr::new(monitor.parse()?, 11398);
    let listener = session::listen(addr)?;
    let (program, started) = announcer(a)?;
    // The target connects to the monitor's port (11398 = 11397 + 1).
    let peering = Peering {
        local: me,
        port: 11397,
        neighbor: monitor,
        neighbor_as: 65002,
        passive: false,
    };
    let target = start_target(a, &peering, &program, "\"state\"")?;
    let (stream, _) = listener.accept()?;
    let speaker = Speaker {
        asn: 65002,
        router_id: "127.0.3.213".parse()?,
        hold_time: 240,
    };
    let sess = Session::establish(stream, &speaker, &[ribbit_wire::Family::IPV4_UNICAST])?;
    let (progress, _counting) = ribbit_bench::monitor::spawn(sess, a.routes, None);
    let words = wait_file(&started, Duration::from_secs(a.timeout))?;
    let t0: f64 = words.first().ok_or("empty")?.parse()?;
    let written: f64 = words.get(1).ok_or("empty")?.parse()?;
    eprintln!("the program wrote its commands in {:.2} s", written - t0);
    let end = Instant::now() + Duration::from_secs(a.timeout);
    loop {
        let complete = *progress
            .complete_at
            .lock()
            .map_err(|_| "monitor poisoned")?;
        if let Some(at) = complete {
            // The monitor's clock is an Instant; the program's is the epoch.
            let done = now() - at.elapsed().as_secs_f64();
            let updates = progress.updates.load(std::sync::atomic::Ordering::Relaxed);
            eprintln!("the monitor got them in {updates} UPDATEs");
            report(a, a.routes, done - t0, &target);
            return Ok(());
        }
        if let Some(why) = progress
            .ended
            .lock()
            .map_err(|_| "monitor poisoned")?
            .clone()
        {
            return Err(format!("the monitor's session ended: {why}").into());
        }
        if Instant::now() > end {
            let held = progress.held.load(std::sync::atomic::Ordering::Relaxed);
            return Err(format!(
                "the monitor has {held} of {} after {:?}",
                a.routes, a.timeout
            )
            .into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Print the result, with the CPU time the target used: once it has been
/// idle for a moment (its RIB may still be applying what the program has
/// already seen), at most a few seconds after the end.
fn report(a: &Args, routes: usize, secs: f64, target: &Running) {
    let pid = target.0.id();
    let mut cpu = targets::process_usage(pid).cpu_seconds;
    for _ in 0..50 {
        std::thread::sleep(Duration::from_millis(100));
        let now = targets::process_usage(pid).cpu_seconds;
        let busy = now - cpu > 0.01;
        cpu = now;
        if !busy {
            break;
        }
    }
    let with_programs = targets::tree_usage(pid).cpu_seconds;
    let rate = routes as f64 / secs.max(1e-9);
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "{:?} {:?}: {routes} routes in {secs:.2} s = {rate:.0} routes/s, CPU {cpu:.2} s ({with_programs:.2} s with its programs)",
        a.target, a.direction
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a = Args::parse();
    std::fs::create_dir_all(&a.dir)?;
    match a.direction {
        Direction::Receive => receive(&a),
        Direction::Announce => match a.peer {
            Receiver::Gobgp => announce(&a),
            Receiver::Monitor => announce_to_monitor(&a),
        },
    }
}
