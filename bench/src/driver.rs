//! One measured run: start the target, connect the monitor, connect the
//! injectors and send, wait until the monitor holds every prefix and the
//! stream has gone quiet, read the target's memory and CPU, stop it.

use std::fs;
use std::io::Write;
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use ribbit_wire::Family;

use crate::inject::{self, PeerLoad};
use crate::monitor::{self, Progress, Watch};
use crate::session::{self, Closer, Session, Speaker};
use crate::targets::{self, Kind, Plan, Running, Usage, MONITOR, MONITOR_AS, TARGET};

/// How long the stream must stay quiet after the table is complete before
/// the run counts as converged (later UPDATEs are best-path changes).
pub const QUIET: Duration = Duration::from_secs(3);

/// What one run measured.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// Seconds from the first UPDATE written to the monitor holding every prefix.
    pub complete: Option<f64>,
    /// Seconds from the first UPDATE written to the last UPDATE received
    /// (before a quiet period of [`QUIET`]).
    pub last_update: Option<f64>,
    /// Prefixes the monitor held at the end.
    pub held: usize,
    /// UPDATEs the monitor received.
    pub updates: u64,
    /// The target's peak memory and CPU.
    pub usage: Usage,
    /// Churn: seconds from the first withdrawal written to the monitor
    /// holding every prefix, the churned ones in their new version.
    pub churn: Option<f64>,
    /// Churn: the fewest prefixes the monitor held meanwhile (a target that
    /// merges the withdrawal with the new announcement never dips).
    pub dipped_to: Option<usize>,
    /// Builds (cargo, rustc) ran on the machine during the run.
    pub noisy: bool,
    /// What went wrong, if anything.
    pub error: Option<String>,
}

/// Everything a run needs.
#[derive(Debug)]
pub struct RunSpec<'a> {
    /// The target.
    pub kind: Kind,
    /// Addresses, ports, mode.
    pub plan: &'a Plan,
    /// The pre-encoded load, one per injector.
    pub loads: &'a [PeerLoad],
    /// Distinct prefixes the monitor must end up holding.
    pub expected: usize,
    /// Give up after this long.
    pub timeout: Duration,
    /// A fresh directory for the run (configs, logs).
    pub dir: &'a Path,
    /// After the table is loaded, withdraw and re-announce 10 % of it.
    pub churn: bool,
}

fn speaker(asn: u32, router_id: std::net::Ipv4Addr) -> Speaker {
    Speaker {
        asn,
        router_id,
        hold_time: 240,
    }
}

const FAMILIES: [Family; 1] = [Family::IPV4_UNICAST];

/// Perform one run.
pub fn run(spec: &RunSpec<'_>) -> RunResult {
    let mut result = RunResult {
        complete: None,
        last_update: None,
        held: 0,
        updates: 0,
        usage: Usage::default(),
        churn: None,
        dipped_to: None,
        noisy: builds_running(),
        error: None,
    };
    let mut target: Option<Running> = None;
    let mut closers: Vec<Closer> = Vec::new();
    let mut threads = Vec::new();
    let outcome = (|| -> Result<(), String> {
        let deadline = Instant::now() + spec.timeout;
        let port = spec.plan.port;
        // Where sessions go: the target, or the monitor itself for the floor.
        let (progress, monitor_sessions): (Vec<(Arc<Progress>, usize)>, SocketAddr) = if spec.kind
            == Kind::Floor
        {
            let addr = SocketAddr::new(IpAddr::V4(MONITOR), port);
            let listener = session::listen(addr).map_err(|e| format!("listen {addr}: {e}"))?;
            // One monitor session per injector, each expecting that
            // injector's prefixes: accept them on a thread while the
            // injectors connect.
            let n = spec.loads.len();
            let expected: Vec<usize> = spec.loads.iter().map(|l| l.prefixes).collect();
            let acceptor = thread::spawn(move || {
                let mut out = Vec::new();
                for exp in expected.into_iter().take(n) {
                    let (s, _) = listener.accept().map_err(|e| e.to_string())?;
                    s.set_nodelay(true).map_err(|e| e.to_string())?;
                    let sess = Session::establish(s, &speaker(MONITOR_AS, MONITOR), &FAMILIES)
                        .map_err(|e| e.to_string())?;
                    out.push((sess, exp));
                }
                Ok::<_, String>(out)
            });
            let (inj_closers, inj_threads, _, sent, first) = start_injectors(spec, addr, deadline)?;
            let sessions = acceptor.join().map_err(|_| "acceptor panicked")??;
            let mut progress = Vec::new();
            for (sess, exp) in sessions {
                closers.push(sess.closer().map_err(|e| e.to_string())?);
                let (p, h) = monitor::spawn(sess, exp, None);
                threads.push(h);
                progress.push((p, exp));
            }
            closers.extend(inj_closers);
            threads.extend(inj_threads);
            let done = Done {
                sent: &sent,
                injectors: spec.loads.len(),
                target: None,
            };
            return wait(spec, &progress, first, deadline, &done, &mut result);
        } else {
            let dir = spec.dir;
            let config =
                targets::write_config(spec.kind, spec.plan, dir).map_err(|e| e.to_string())?;
            let cmd = targets::command(spec.kind, spec.plan, &config, dir)
                .ok_or("no command for the target")?;
            let running = Running::start(cmd, dir).map_err(|e| format!("start: {e}"))?;
            target = Some(running);
            let to = SocketAddr::new(IpAddr::V4(TARGET), port);
            let stream = session::connect(IpAddr::V4(MONITOR), to, Duration::from_secs(60))
                .map_err(|e| format!("monitor: {e}"))?;
            let sess = Session::establish(stream, &speaker(MONITOR_AS, MONITOR), &FAMILIES)
                .map_err(|e| format!("monitor session: {e}"))?;
            closers.push(sess.closer().map_err(|e| e.to_string())?);
            let watch = spec.churn.then(|| {
                let churned: Vec<_> = spec
                    .loads
                    .iter()
                    .flat_map(|l| l.churned.iter().copied())
                    .collect();
                Watch::new(&churned, inject::CHURN_MARK)
            });
            let (p, h) = monitor::spawn(sess, spec.expected, watch);
            threads.push(h);
            (vec![(p, spec.expected)], to)
        };
        let (inj_closers, inj_threads, writers, sent, first) =
            start_injectors(spec, monitor_sessions, deadline)?;
        closers.extend(inj_closers);
        threads.extend(inj_threads);
        let done = Done {
            sent: &sent,
            injectors: spec.loads.len(),
            target: target.as_ref(),
        };
        let mut r = wait(spec, &progress, first, deadline, &done, &mut result);
        if r.is_ok() && spec.churn {
            r = churn(spec, &progress, &writers, deadline, &done, &mut result);
        }
        if let Some(t) = target.as_mut() {
            if let Some(status) = t.exited() {
                return Err(format!("target exited: {status}"));
            }
            result.usage = t.usage();
        }
        r
    })();
    if let Err(e) = outcome {
        result.error = Some(e);
    }
    for c in &closers {
        c.close();
    }
    if let Some(t) = target {
        t.stop();
    }
    for t in threads {
        let _ = t.join();
    }
    result
}

/// What [`start_injectors`] hands back: closers, threads, the writers (for
/// churn), how many injectors have written everything, the first write.
type Started = (
    Vec<Closer>,
    Vec<thread::JoinHandle<()>>,
    Vec<Arc<Mutex<TcpStream>>>,
    Arc<AtomicUsize>,
    Instant,
);

/// Connect every injector to `to`, establish, and start sending on threads
/// of their own. Returns when every first UPDATE is on its way, with the
/// earliest first-write instant.
fn start_injectors(
    spec: &RunSpec<'_>,
    to: SocketAddr,
    deadline: Instant,
) -> Result<Started, String> {
    let mut closers = Vec::new();
    let mut threads = Vec::new();
    let mut sessions = Vec::new();
    for load in spec.loads {
        let left = deadline.saturating_duration_since(Instant::now());
        let stream = session::connect(load.address, to, left.min(Duration::from_secs(60)))
            .map_err(|e| format!("injector {}: {e}", load.address))?;
        let IpAddr::V4(_) = load.address else {
            return Err("IPv6 injectors are not supported".into());
        };
        let sess = Session::establish(stream, &speaker(load.asn, load.router_id), &load.families)
            .map_err(|e| format!("injector {} session: {e}", load.address))?;
        closers.push(sess.closer().map_err(|e| e.to_string())?);
        sessions.push(sess);
    }
    let writers: Vec<Arc<Mutex<TcpStream>>> = sessions.iter().map(|s| s.writer.clone()).collect();
    let sent = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = std::sync::mpsc::channel();
    for (sess, load) in sessions.into_iter().zip(spec.loads.iter().cloned()) {
        let tx = tx.clone();
        let sent = sent.clone();
        threads.push(thread::spawn(move || {
            let Session { writer, reader, .. } = sess;
            let drain = inject::drain(reader);
            // Report the first write at once: the monitor may not be
            // reading yet (floor), and the send lasts until it does.
            let first_tx = tx.clone();
            let r = inject::send(&writer, &load, move |t| {
                let _ = first_tx.send(Ok(t));
            });
            match r {
                Ok(_) => {
                    sent.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => {
                    let _ = tx.send(Err(e.to_string()));
                }
            }
            let _ = drain.join();
        }));
    }
    drop(tx);
    let mut first: Option<Instant> = None;
    for r in rx.iter().take(spec.loads.len()) {
        let t = r.map_err(|e| format!("send: {e}"))?;
        first = Some(first.map_or(t, |f| f.min(t)));
    }
    Ok((closers, threads, writers, sent, first.ok_or("no injector")?))
}

/// Wait until every monitor session is complete and the stream has been
/// quiet for [`QUIET`], or the deadline.
fn wait(
    spec: &RunSpec<'_>,
    progress: &[(Arc<Progress>, usize)],
    first: Instant,
    deadline: Instant,
    done: &Done<'_>,
    result: &mut RunResult,
) -> Result<(), String> {
    let secs = |t: Instant| t.saturating_duration_since(first).as_secs_f64();
    let mut idle = IdleCheck::default();
    loop {
        thread::sleep(Duration::from_millis(20));
        let complete: Option<Instant> = progress
            .iter()
            .map(|(p, _)| p.complete_at.lock().ok().and_then(|c| *c))
            .collect::<Option<Vec<_>>>()
            .and_then(|v| v.into_iter().max());
        let last: Option<Instant> = progress
            .iter()
            .filter_map(|(p, _)| p.last_update_at.lock().ok().and_then(|c| *c))
            .max();
        result.held = progress
            .iter()
            .map(|(p, _)| p.held.load(Ordering::Relaxed))
            .sum();
        result.updates = progress
            .iter()
            .map(|(p, _)| p.updates.load(Ordering::Relaxed))
            .sum();
        if let Some(e) = progress
            .iter()
            .find_map(|(p, _)| p.ended.lock().ok().and_then(|e| e.clone()))
        {
            return Err(format!("monitor session ended: {e}"));
        }
        result.noisy |= builds_running();
        let idle_now = idle.idle(done);
        if let (Some(c), Some(l)) = (complete, last) {
            result.complete = Some(secs(c));
            if l.elapsed() >= QUIET && done.all_sent() && idle_now {
                result.last_update = Some(secs(l));
                return Ok(());
            }
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "timeout after {:.0} s with {} prefixes held",
                spec.timeout.as_secs_f64(),
                result.held
            ));
        }
    }
}

/// Withdraw and re-announce the churned prefixes (the initial send is over,
/// so the writers are free), then wait until the monitor holds every prefix
/// in its new version and the stream has been quiet for [`QUIET`].
fn churn(
    spec: &RunSpec<'_>,
    progress: &[(Arc<Progress>, usize)],
    writers: &[Arc<Mutex<TcpStream>>],
    deadline: Instant,
    done: &Done<'_>,
    result: &mut RunResult,
) -> Result<(), String> {
    let mut idle = IdleCheck::default();
    let mut first = None;
    for (w, load) in writers.iter().zip(spec.loads) {
        let mut w = w.lock().map_err(|_| "writer lock poisoned")?;
        first.get_or_insert_with(Instant::now);
        w.write_all(&load.churn_withdraw)
            .and_then(|()| w.write_all(&load.churn_announce))
            .map_err(|e| format!("churn: {e}"))?;
    }
    let first = first.ok_or("no injector")?;
    loop {
        thread::sleep(Duration::from_millis(20));
        result.noisy |= builds_running();
        let consistent = progress
            .iter()
            .map(|(p, _)| p.consistent_at.lock().ok().and_then(|c| *c))
            .collect::<Option<Vec<_>>>()
            .and_then(|v| v.into_iter().max());
        let last = progress
            .iter()
            .filter_map(|(p, _)| p.last_update_at.lock().ok().and_then(|c| *c))
            .max();
        if let Some(e) = progress
            .iter()
            .find_map(|(p, _)| p.ended.lock().ok().and_then(|e| e.clone()))
        {
            return Err(format!("monitor session ended: {e}"));
        }
        let idle_now = idle.idle(done);
        if let (Some(c), Some(l)) = (consistent, last) {
            result.churn = Some(c.saturating_duration_since(first).as_secs_f64());
            if l.elapsed() >= QUIET && idle_now {
                result.dipped_to = progress
                    .iter()
                    .map(|(p, _)| p.dipped_to.load(Ordering::Relaxed))
                    .min();
                return Ok(());
            }
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "churn: timeout after {:.0} s",
                spec.timeout.as_secs_f64()
            ));
        }
    }
}

/// What tells that the target has finished: every injector wrote all it
/// had, and the target stopped using CPU.
#[derive(Debug)]
struct Done<'a> {
    sent: &'a AtomicUsize,
    injectors: usize,
    target: Option<&'a Running>,
}

impl Done<'_> {
    fn all_sent(&self) -> bool {
        self.sent.load(Ordering::Relaxed) >= self.injectors
    }
}

/// Samples the target's CPU time: it is idle when it used less than 5 % of
/// a core over the last second. A quiet monitor alone is not enough: a
/// route server may still be working through its peers' paths without a
/// best path changing for a few seconds.
#[derive(Debug, Default)]
struct IdleCheck {
    samples: std::collections::VecDeque<(Instant, f64)>,
}

impl IdleCheck {
    fn idle(&mut self, done: &Done<'_>) -> bool {
        let Some(target) = done.target else {
            return true;
        };
        let now = Instant::now();
        if self
            .samples
            .back()
            .is_none_or(|(t, _)| now.duration_since(*t) >= Duration::from_millis(250))
        {
            self.samples.push_back((now, target.usage().cpu_seconds));
        }
        while self.samples.len() > 2
            && self
                .samples
                .get(1)
                .is_some_and(|(t, _)| now.duration_since(*t) >= Duration::from_secs(1))
        {
            self.samples.pop_front();
        }
        match (self.samples.front(), self.samples.back()) {
            (Some((t0, c0)), Some((t1, c1)))
                if t1.duration_since(*t0) >= Duration::from_secs(1) =>
            {
                (c1 - c0) < 0.05 * t1.duration_since(*t0).as_secs_f64()
            }
            _ => false,
        }
    }
}

/// Whether a Rust build is running on the machine (other engineers share
/// it): a `cargo` or `rustc` process, found by name in /proc.
pub fn builds_running() -> bool {
    let Ok(entries) = fs::read_dir("/proc") else {
        return false;
    };
    entries.flatten().any(|e| {
        fs::read_to_string(e.path().join("comm"))
            .map(|c| {
                matches!(
                    c.trim(),
                    "cargo" | "rustc" | "cargo-clippy" | "clippy-driver"
                )
            })
            .unwrap_or(false)
    })
}

/// A fresh temporary directory under the system's, removed by [`TempDir::drop`].
#[derive(Debug)]
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// Create `<tmp>/ribbit-bench-<pid>-<name>`.
    pub fn new(name: &str) -> std::io::Result<TempDir> {
        let p = std::env::temp_dir().join(format!("ribbit-bench-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p)?;
        Ok(TempDir(p))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::env::var_os("RIBBIT_BENCH_KEEP").is_none() {
            let _ = fs::remove_dir_all(&self.0);
        }
    }
}

/// How many times as fast `ours` is as `theirs` (seconds to all
/// prefixes): in total, and above the harness's `floor` (the design's
/// measure: ../shared/design/benchmarks.md asks for under a third of the
/// fastest daemon's time above the floor). `None` above the floor when a
/// time is not above it.
pub fn speedup(ours: f64, theirs: f64, floor: Option<f64>) -> (f64, Option<f64>) {
    let total = theirs / ours;
    let above = floor.and_then(|f| {
        let (o, t) = (ours - f, theirs - f);
        (o > 0.0 && t > 0.0).then(|| t / o)
    });
    (total, above)
}

/// Median and spread (min–max) of some figures.
pub fn median(values: &[f64]) -> Option<(f64, f64, f64)> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    let m = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    Some((m, v[0], v[n - 1]))
}

#[cfg(test)]
mod speedup_tests {
    use super::speedup;

    #[test]
    fn in_total_and_above_the_floor() {
        let (total, above) = speedup(1.08, 2.19, Some(0.24));
        assert!((total - 2.028).abs() < 0.001, "{total}");
        assert!((above.unwrap() - 2.321).abs() < 0.001, "{above:?}");
        assert_eq!(speedup(1.0, 2.0, None).1, None);
        // A time at or under the floor has nothing above it.
        assert_eq!(speedup(0.2, 2.0, Some(0.24)).1, None);
    }
}
