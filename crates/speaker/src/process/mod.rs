//! The process API: programs configured with `[[process]]` run beside the
//! speaker and talk to it as they would to ExaBGP (`docs/process.md`).
//! Each program's standard output is read line by line as commands of
//! ExaBGP's API (answered `done` or `error <reason>`); events are written
//! to its standard input as JSON lines, in ExaBGP's API v4 shapes or in
//! Ribbit's own.
//!
//! | module | what |
//! |---|---|
//! | `shell` | splitting `run` into words as a shell would, without a shell |
//! | `command` | the lines a program writes, parsed: route commands through `ribbit_exabgp::text`, the control commands here; command ids |
//! | `dispatch` | carrying out a command on the [`Speaker`], replies and acks |
//! | `encode` | events as lines: ExaBGP 4.2's JSON or Ribbit's, gap and re-sync |
//! | `queue` | each program's bounded queue, its overflow policy and counters, the writer |
//! | `pipe` | the pipes to and from a program, grown to 1 MiB |
//! | `supervisor` | starting a program, restarting it with back-off, stopping it |
//! | `show` | the text of `show neighbor`, `show adj-rib`, `show processes` |
//! | `reload` | `reload` and `restart`: the configuration file applied again |
//!
//! Every program has its own tasks (events, commands, writer) and its own
//! subscription to the speaker's events: one that does not read holds up
//! only itself.

pub mod command;
pub mod dispatch;
pub mod encode;
mod lines;
mod metrics;
mod pipe;
pub mod queue;
pub mod reload;
pub mod shell;
mod show;
mod supervisor;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::config::{Overflow, ProcessConfig};
use crate::speaker::Speaker;
use queue::{CounterValues, Counters, Outbox};

/// What a program asks of the whole of Ribbit, for `ribbit run` to carry
/// out (the speaker cannot stop or reload itself from inside).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlRequest {
    /// `shutdown`: stop Ribbit, as SIGTERM does.
    Shutdown,
    /// `reload`: read the configuration file again and apply it.
    Reload,
    /// `restart`: reload, then restart every session.
    Restart,
}

/// How long a program has to exit once its input is closed, before it is
/// sent SIGTERM, and again before SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(2);

/// The programs of the configuration, running.
pub struct Processes {
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// What the tasks of every program share.
pub(crate) struct Shared {
    pub(crate) speaker: Arc<Speaker>,
    pub(crate) programs: Vec<Arc<Program>>,
    pub(crate) requests: mpsc::UnboundedSender<ControlRequest>,
    /// Where relative program paths are found and programs run.
    pub(crate) base_dir: PathBuf,
}

/// One configured program and what is known of its current run.
pub(crate) struct Program {
    pub(crate) config: ProcessConfig,
    pub(crate) counters: Arc<Counters>,
    pub(crate) live: Mutex<Live>,
    /// Its routes and watchdogs, kept across its runs.
    pub(crate) routes: Mutex<dispatch::RouteState>,
}

/// The current run of a program.
#[derive(Default)]
pub(crate) struct Live {
    pub(crate) pid: Option<u32>,
    pub(crate) outbox: Option<Outbox>,
    pub(crate) next_start: Option<Instant>,
    pub(crate) stopped: bool,
}

impl Program {
    pub(crate) fn live(&self) -> std::sync::MutexGuard<'_, Live> {
        // A panic while holding the lock leaves plain values behind.
        self.live.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn status(&self) -> ProcessStatus {
        let live = self.live();
        let state = if live.stopped {
            "stopped"
        } else if live.pid.is_some() {
            "running"
        } else {
            "restarting"
        };
        ProcessStatus {
            name: self.config.name.clone(),
            run: self.config.run.clone(),
            state,
            pid: live.pid,
            queue: self.config.queue,
            queued: live.outbox.as_ref().map_or(0, Outbox::len),
            on_overflow: match self.config.on_overflow {
                Overflow::Block => "block",
                Overflow::Drop => "drop",
            },
            restart_in: live
                .next_start
                .map(|t| t.saturating_duration_since(Instant::now()).as_secs_f64()),
            counters: self.counters.values(),
        }
    }
}

/// A program as `show processes` and [`Processes::status`] describe it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ProcessStatus {
    /// `name`.
    pub name: String,
    /// `run`.
    pub run: String,
    /// `running`, `restarting` (waiting to be started again) or `stopped`.
    pub state: &'static str,
    /// The process id of the current run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// The queue's size (`queue`).
    pub queue: usize,
    /// Lines waiting in it now.
    pub queued: usize,
    /// `on-overflow`.
    pub on_overflow: &'static str,
    /// Seconds until the next start, while restarting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart_in: Option<f64>,
    /// What happened so far.
    pub counters: CounterValues,
}

impl Processes {
    /// Start every program of `configs` beside `speaker`. Relative program
    /// paths are taken from `base_dir` (the configuration file's directory),
    /// which is also the programs' working directory. The receiver gets
    /// what programs ask of the whole of Ribbit (`shutdown`, `reload`,
    /// `restart`).
    pub fn start(
        configs: &[ProcessConfig],
        speaker: Arc<Speaker>,
        base_dir: PathBuf,
    ) -> (Processes, mpsc::UnboundedReceiver<ControlRequest>) {
        let (requests, rx) = mpsc::unbounded_channel();
        let programs: Vec<Arc<Program>> = configs
            .iter()
            .map(|c| {
                Arc::new(Program {
                    config: c.clone(),
                    counters: Arc::new(Counters::default()),
                    live: Mutex::new(Live::default()),
                    routes: Mutex::new(dispatch::RouteState::default()),
                })
            })
            .collect();
        let shared = Arc::new(Shared {
            speaker,
            programs,
            requests,
            base_dir,
        });
        let (stop, stop_rx) = watch::channel(false);
        let tasks = shared
            .programs
            .iter()
            .map(|p| {
                tokio::spawn(supervisor::supervise(
                    Arc::clone(&shared),
                    Arc::clone(p),
                    stop_rx.clone(),
                ))
            })
            .collect();
        (
            Processes {
                shared,
                stop,
                tasks,
            },
            rx,
        )
    }

    /// Every program's state, queue and counters.
    pub fn status(&self) -> Vec<ProcessStatus> {
        self.shared.programs.iter().map(|p| p.status()).collect()
    }

    /// The programs' queues and counters for `/metrics`, to register with
    /// [`crate::api::ApiServer::metrics`].
    pub fn metrics(&self) -> Arc<dyn crate::api::metrics::MetricsSource> {
        Arc::new(metrics::ProcessMetrics(Arc::clone(&self.shared)))
    }

    /// Stop every program: each is told Ribbit is stopping (ExaBGP's
    /// shutdown notification), its input is closed, and it gets
    /// [`STOP_GRACE`] to exit before SIGTERM, then as long before SIGKILL.
    /// Returns once all are gone; the speaker is then no longer held.
    pub async fn stop(self) {
        self.stop.send_replace(true);
        for t in self.tasks {
            // Each supervisor bounds its own wait; this bounds a bug.
            let _ = tokio::time::timeout(STOP_GRACE * 3, t).await;
        }
    }
}
