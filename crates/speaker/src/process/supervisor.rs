//! A program's life: started with pipes on its standard input and output,
//! its three tasks (events, commands, writer) beside it, restarted with
//! back-off when it exits, stopped gently when Ribbit stops.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::watch;
use tracing::{debug, info, warn};

use super::encode::EventEncoder;
use super::queue::{bump, write_lines, Outbox};
use super::{dispatch, pipe};
use super::{Program, Shared, STOP_GRACE};
use crate::config::OnExit;

/// The shortest wait between two starts once a program keeps exiting,
/// even with `restart-backoff = 0`.
const MIN_BACKOFF: Duration = Duration::from_millis(100);

/// Run `program` until `stop` says so, starting it again whenever it exits.
pub(crate) async fn supervise(
    shared: Arc<Shared>,
    program: Arc<Program>,
    mut stop: watch::Receiver<bool>,
) {
    let cfg = &program.config;
    let mut backoff = cfg.restart_backoff;
    loop {
        if *stop.borrow() {
            break;
        }
        let started = Instant::now();
        match spawn(&shared.base_dir, cfg) {
            Ok(child) => {
                bump(&program.counters.starts);
                info!(process = %cfg.name, pid = ?child.id(), "process started");
                let stopping = run(&shared, &program, child, &mut stop).await;
                if stopping {
                    break;
                }
            }
            Err(e) => {
                bump(&program.counters.exits);
                warn!(process = %cfg.name, run = %cfg.run, error = %e, "cannot start the process");
            }
        }
        if cfg.on_exit == OnExit::Withdraw {
            dispatch::withdraw_all(&shared, &program).await;
        }
        // A run that lasted longer than the longest wait was not part of a
        // crash loop: the next restart is quick again.
        if started.elapsed() >= cfg.restart_backoff_max {
            backoff = cfg.restart_backoff;
        }
        let wait = backoff;
        backoff = (backoff * 2).max(MIN_BACKOFF).min(cfg.restart_backoff_max);
        program.live().next_start = Some(Instant::now() + wait);
        info!(process = %cfg.name, wait = ?wait, "process will be started again");
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            _ = stop.changed() => break,
        }
    }
    let mut live = program.live();
    live.stopped = true;
    live.next_start = None;
}

/// The program's path: `ribbit` is this very program when Ribbit runs as
/// `ribbit` (so `run = "ribbit healthcheck ..."` needs no PATH), a
/// relative path with a `/` is taken from `base_dir`.
fn program_path(base_dir: &Path, first: &str) -> PathBuf {
    if first == "ribbit" {
        if let Ok(me) = std::env::current_exe() {
            if me.file_name().is_some_and(|n| n == "ribbit") {
                return me;
            }
        }
    }
    let p = Path::new(first);
    if p.is_relative() && first.contains('/') {
        base_dir.join(p)
    } else {
        p.to_path_buf()
    }
}

fn spawn(base_dir: &Path, cfg: &crate::config::ProcessConfig) -> std::io::Result<Child> {
    let Some((first, args)) = cfg.argv.split_first() else {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "empty command line",
        ));
    };
    let mut c = Command::new(program_path(base_dir, first));
    c.args(args)
        .current_dir(base_dir)
        .env("RIBBIT_PROCESS", &cfg.name)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    c.spawn()
}

/// One run of the program, until it exits (false) or Ribbit stops (true).
async fn run(
    shared: &Arc<Shared>,
    program: &Arc<Program>,
    mut child: Child,
    stop: &mut watch::Receiver<bool>,
) -> bool {
    let cfg = &program.config;
    let (stdin, stdout, stderr) = (child.stdin.take(), child.stdout.take(), child.stderr.take());
    let (outbox, rx) = Outbox::new(cfg.queue, cfg.on_overflow, Arc::clone(&program.counters));
    {
        let mut live = program.live();
        live.pid = child.id();
        live.outbox = Some(outbox.clone());
        live.next_start = None;
    }
    // Larger pipes both ways: a burst of events or of commands crosses in
    // fewer, larger reads and writes. Where the system refuses, the pipes
    // keep their size and work as well, only slower under load.
    let grown = [
        stdin.as_ref().map(|p| pipe::grow(p, pipe::PIPE_SIZE)),
        stdout.as_ref().map(|p| pipe::grow(p, pipe::PIPE_SIZE)),
    ];
    if let Some(e) = grown.into_iter().flatten().find_map(Result::err) {
        debug!(process = %cfg.name, error = %e, "pipes keep their size");
    }
    let writer = stdin.map(|s| tokio::spawn(write_lines(rx, s)));
    let name = cfg.name.clone();
    let logger = stderr.map(|e| {
        tokio::spawn(async move {
            // What the program says on its standard error goes to the log.
            let mut lines = BufReader::new(e).lines();
            while let Ok(Some(l)) = lines.next_line().await {
                warn!(process = %name, "{l}");
            }
        })
    });
    let events = tokio::spawn(dispatch::events(
        Arc::clone(shared),
        Arc::clone(program),
        outbox.clone(),
    ));
    // Boxed so that dropping it below really drops it (and its handle on
    // the queue, which must be gone for the program's input to close).
    let mut commands = Box::pin(dispatch::commands(
        Arc::clone(shared),
        Arc::clone(program),
        outbox.clone(),
        stdout,
    ));
    let mut commands_done = false;
    let stopping = loop {
        tokio::select! {
            status = child.wait() => {
                match status {
                    Ok(s) => warn!(process = %cfg.name, status = %s, "process exited"),
                    Err(e) => warn!(process = %cfg.name, error = %e, "process lost"),
                }
                break false;
            }
            () = &mut commands, if !commands_done => {
                // Its output is closed; it may still be running.
                commands_done = true;
            }
            _ = stop.changed() => break true,
        }
    };
    events.abort();
    let _ = events.await;
    if stopping {
        // ExaBGP's last word to its programs, then the end of their input.
        let enc = EventEncoder::new(cfg.encoder, &[], cfg.neighbors.clone());
        if let Some(l) = enc.shutdown() {
            outbox.try_put(&l);
        }
    }
    drop(commands);
    program.live().outbox = None;
    drop(outbox);
    if let Some(w) = writer {
        if stopping {
            let _ = tokio::time::timeout(Duration::from_secs(1), w).await;
        } else {
            w.abort();
        }
    }
    if stopping {
        stop_child(&mut child, &cfg.name).await;
    }
    if let Some(l) = logger {
        let _ = tokio::time::timeout(Duration::from_millis(200), l).await;
    }
    bump(&program.counters.exits);
    program.live().pid = None;
    stopping
}

/// Closed input first (most programs end there), then SIGTERM, then SIGKILL.
async fn stop_child(child: &mut Child, name: &str) {
    if tokio::time::timeout(STOP_GRACE, child.wait()).await.is_ok() {
        return;
    }
    if let Some(pid) = child.id() {
        // Without unsafe code there is no kill(2) here: the kill program
        // sends the signal.
        let _ = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await;
        if tokio::time::timeout(STOP_GRACE, child.wait()).await.is_ok() {
            return;
        }
    }
    warn!(process = %name, "process did not stop; killed");
    let _ = child.kill().await;
}
