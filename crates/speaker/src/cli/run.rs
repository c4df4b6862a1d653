//! `ribbit run --config FILE`: keep the configured sessions up until
//! interrupted, with the HTTP API (`[api]`) beside them.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, ValueEnum};
use tracing::{info, warn};
use tracing_subscriber::EnvFilter;

use crate::api::{ApiServer, ApiStartError};
use crate::config::Config;
use crate::process::{self, ControlRequest, Processes};
use crate::speaker::{Speaker, StartError};

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// For people.
    Text,
    /// One JSON object per line.
    Json,
}

/// Arguments of `ribbit run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The configuration file (TOML; see docs/config.md).
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: PathBuf,
    /// Log format. The levels come from the RIBBIT_LOG (else RUST_LOG)
    /// environment variable, per module (e.g. `info,ribbit::peer=debug`);
    /// the default is `info`.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Check the configuration and exit.
    #[arg(long)]
    pub check: bool,
    /// This start is a restart (RFC 4724): the OPENs to neighbors with
    /// `graceful-restart` carry the Restart State bit, so that they keep
    /// our routes, and routes are sent only once those neighbors have sent
    /// their End-of-RIB (or after `selection-deferral-time`).
    #[arg(long, short = 'r')]
    pub graceful_restart: bool,
}

/// Why `ribbit run` stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The configuration is wrong (every problem is listed).
    #[error("{0}")]
    Config(#[from] crate::config::ConfigError),
    /// Listening failed.
    #[error("{0}")]
    Start(#[from] StartError),
    /// The API's address could not be bound.
    #[error("{0}")]
    Api(#[from] ApiStartError),
    /// The runtime could not start.
    #[error("cannot start the runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

fn init_logging(format: LogFormat) {
    // RIBBIT_LOG, or the usual RUST_LOG, with tracing's directives
    // (`info`, `ribbit::peer=debug,ribbit_rib=trace`).
    let filter = EnvFilter::try_from_env("RIBBIT_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only for a terminal: logs written to files stay plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Run `ribbit run`.
pub fn run(args: &RunArgs) -> Result<ExitCode, RunError> {
    // Every configuration problem is reported before any session starts.
    let mut config = Config::load(&args.config)?;
    config.global.restarting = args.graceful_restart;
    if args.check {
        println!(
            "{}: ok ({} neighbors)",
            args.config.display(),
            config.neighbors.len()
        );
        return Ok(ExitCode::SUCCESS);
    }
    init_logging(args.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(RunError::Runtime)?;
    runtime.block_on(async {
        let config = Arc::new(config);
        // The API's address first: when it is taken, no session has started.
        let api_listener = match config.api.enabled {
            true => Some(ApiServer::bind(config.api.listen).await?),
            false => None,
        };
        let speaker = Arc::new(Speaker::start(&config).await?);
        // POST /v1/reload reads the file again with the code SIGHUP runs.
        let api = api_listener.map(|l| {
            ApiServer::serve_file(
                l,
                Arc::clone(&config),
                Arc::clone(&speaker),
                Some(args.config.clone()),
            )
        });
        if let Some(api) = &api {
            api.metrics().register("bmp", speaker.bmp_metrics());
        }
        // The [[process]] programs, run from the configuration file's
        // directory; they may ask for a shutdown, reload or restart.
        let base_dir = config_dir(&args.config);
        let (processes, mut requests) =
            Processes::start(&config.processes, Arc::clone(&speaker), base_dir);
        if let Some(api) = &api {
            api.metrics().register("process", processes.metrics());
        }
        loop {
            let request = tokio::select! {
                signal = wait_for_signal() => match signal {
                    Signal::Stop => break,
                    Signal::Reload => Some(ControlRequest::Reload),
                },
                r = requests.recv() => r,
            };
            match request {
                Some(ControlRequest::Shutdown) | None => break,
                Some(r) => {
                    let reset = r == ControlRequest::Restart;
                    if let Err(e) = process::reload::reload(&speaker, &args.config, reset).await {
                        warn!("reload refused: {e}");
                    }
                }
            }
        }
        info!("shutting down");
        processes.stop().await;
        if let Some(api) = api {
            api.stop().await;
        }
        match sole_owner(speaker).await {
            Ok(speaker) => {
                speaker
                    .shutdown(Some("Ribbit shutting down".to_string()))
                    .await
            }
            // Only when an API request outlived the API's own stop: the
            // sessions still get their Cease.
            Err(shared) => shared.stop(Some("Ribbit shutting down".to_string())).await,
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// The speaker once nothing else holds it (the API's tasks let go of it as
/// they end), waiting a little for that.
async fn sole_owner(mut speaker: Arc<Speaker>) -> Result<Speaker, Arc<Speaker>> {
    for _ in 0..50 {
        match Arc::try_unwrap(speaker) {
            Ok(s) => return Ok(s),
            Err(shared) => speaker = shared,
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Arc::try_unwrap(speaker)
}

/// The directory of the configuration file (the current one for a bare
/// file name).
fn config_dir(config: &std::path::Path) -> PathBuf {
    let dir = config.parent().unwrap_or(std::path::Path::new("."));
    let dir = if dir.as_os_str().is_empty() {
        std::path::Path::new(".")
    } else {
        dir
    };
    std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf())
}

/// What a signal asks for.
enum Signal {
    /// SIGINT or SIGTERM.
    Stop,
    /// SIGHUP: read the configuration again.
    Reload,
}

/// The next signal that asks something of the speaker.
async fn wait_for_signal() -> Signal {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).ok();
    let mut hup = signal(SignalKind::hangup()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => Signal::Stop,
        Some(()) = recv(&mut term) => Signal::Stop,
        Some(()) = recv(&mut hup) => Signal::Reload,
    }
}

async fn recv(signal: &mut Option<tokio::signal::unix::Signal>) -> Option<()> {
    match signal {
        Some(s) => s.recv().await,
        None => std::future::pending().await,
    }
}
