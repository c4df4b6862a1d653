//! `ribbit healthcheck`: a program for `[[process]]` (or ExaBGP) that
//! announces service addresses while a check command succeeds, for
//! anycast. It takes the options of ExaBGP's healthcheck and behaves as it
//! does:
//!
//! - the check (`--cmd`, run by `sh -c`) runs every `--interval` seconds,
//!   every `--fast-interval` while the state is changing;
//! - `--rise` successes in a row make the service up, `--fall` failures
//!   down; while the file `--disable` exists it is disabled;
//! - each address (`--ip`) is announced with MED `--up-metric`,
//!   `--down-metric` or `--disabled-metric` by state (each further address
//!   gets `--increase` more), or withdrawn when down with
//!   `--withdraw-on-down`; the announcement is repeated every check, as
//!   ExaBGP's does, so a peer that lost it gets it back;
//! - on SIGTERM or SIGINT every address is withdrawn before exiting.
//!
//! Commands are printed on standard output, each followed by waiting for
//! its `done` or `error` unless `--no-ack` (lines that are events, JSON,
//! are skipped). It ends when its input or output is closed (the speaker
//! is gone). Unlike ExaBGP's, it never adds addresses to the loopback
//! interface: `--ip` is required, `--no-ip-setup` is accepted and changes
//! nothing.

use std::io::{self, BufRead, Write};
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::{ExitCode, Stdio};
use std::time::Duration;

use clap::{Args, Parser};
use ipnet::IpNet;
use tokio::sync::mpsc;

/// Options of `ribbit healthcheck` (ExaBGP's names).
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Print API commands for Ribbit's process API (or ExaBGP's): announce the \
--ip addresses with a MED that says whether --cmd succeeds. Example in ribbit.toml:\n\n\
[[process]]\nname = \"web\"\nrun = \"ribbit healthcheck --cmd 'curl -sf http://127.0.0.1/' --ip 192.0.2.10/32\""
)]
pub struct HealthcheckArgs {
    /// The check: a shell command whose exit status 0 means healthy.
    /// Without it the service is always healthy.
    #[arg(
        long = "cmd",
        visible_alias = "command",
        short = 'c',
        value_name = "CMD"
    )]
    pub command: Option<String>,
    /// Seconds between checks (fractions allowed); 0: announce once, then exit.
    #[arg(long, short = 'i', value_name = "N", default_value_t = 5.0)]
    pub interval: f64,
    /// Seconds between checks while the state is changing.
    #[arg(
        long = "fast-interval",
        short = 'f',
        value_name = "N",
        default_value_t = 1.0
    )]
    pub fast_interval: f64,
    /// Seconds the check may take before it counts as failed.
    #[arg(long, short = 't', value_name = "N", default_value_t = 5.0)]
    pub timeout: f64,
    /// Successes in a row before the service is up.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub rise: u32,
    /// Failures in a row before the service is down.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub fall: u32,
    /// While this file exists the service is disabled.
    #[arg(long, value_name = "FILE")]
    pub disable: Option<PathBuf>,
    /// An address or prefix to announce (repeatable; at least one).
    #[arg(long = "ip", value_name = "IP", value_parser = parse_ip)]
    pub ips: Vec<IpNet>,
    /// The next hop of the announcements (default: self).
    #[arg(long = "next-hop", short = 'N', value_name = "IP")]
    pub next_hop: Option<IpAddr>,
    /// MED of the first address when up.
    #[arg(long = "up-metric", value_name = "M", default_value_t = 100)]
    pub up_metric: u32,
    /// MED of the first address when down.
    #[arg(long = "down-metric", value_name = "M", default_value_t = 1000)]
    pub down_metric: u32,
    /// MED of the first address when disabled.
    #[arg(long = "disabled-metric", value_name = "M", default_value_t = 500)]
    pub disabled_metric: u32,
    /// How much more MED each further address gets.
    #[arg(long, value_name = "M", default_value_t = 1)]
    pub increase: u32,
    /// Withdraw the addresses when down instead of raising their MED.
    #[arg(long = "withdraw-on-down")]
    pub withdraw_on_down: bool,
    /// Communities of the announcements (`65000:1 65000:2`).
    #[arg(long, value_name = "COMMUNITY")]
    pub community: Option<String>,
    /// Communities when down or disabled, instead of --community.
    #[arg(long = "disabled-community", value_name = "COMMUNITY")]
    pub disabled_community: Option<String>,
    /// Extended communities of the announcements.
    #[arg(long = "extended-community", value_name = "EXTENDEDCOMMUNITY")]
    pub extended_community: Option<String>,
    /// Large communities of the announcements.
    #[arg(long = "large-community", value_name = "LARGECOMMUNITY")]
    pub large_community: Option<String>,
    /// AS path of the announcements (`65000 65001`).
    #[arg(long = "as-path", value_name = "ASPATH")]
    pub as_path: Option<String>,
    /// AS path when up, instead of --as-path.
    #[arg(long = "up-as-path", value_name = "ASPATH")]
    pub up_as_path: Option<String>,
    /// AS path when down, instead of --as-path.
    #[arg(long = "down-as-path", value_name = "ASPATH")]
    pub down_as_path: Option<String>,
    /// AS path when disabled, instead of --as-path.
    #[arg(long = "disabled-as-path", value_name = "ASPATH")]
    pub disabled_as_path: Option<String>,
    /// LOCAL_PREF of the announcements.
    #[arg(long = "local-preference", value_name = "P")]
    pub local_preference: Option<u32>,
    /// ADD-PATH path identifier of the announcements.
    #[arg(long = "path-id", value_name = "PATHID")]
    pub path_id: Option<u32>,
    /// Announce to this neighbor only (repeatable).
    #[arg(long = "neighbor", value_name = "NEIGHBOR")]
    pub neighbors: Vec<IpAddr>,
    /// Run this shell command on every state change (STATE in its
    /// environment), repeatable.
    #[arg(long, value_name = "CMD")]
    pub execute: Vec<String>,
    /// Run this when the service becomes up.
    #[arg(long = "up-execute", value_name = "CMD")]
    pub up_execute: Vec<String>,
    /// Run this when the service becomes down.
    #[arg(long = "down-execute", value_name = "CMD")]
    pub down_execute: Vec<String>,
    /// Run this when the service becomes disabled.
    #[arg(long = "disabled-execute", value_name = "CMD")]
    pub disabled_execute: Vec<String>,
    /// Do not wait for `done` after each command (for a speaker with acks off).
    #[arg(long = "no-ack", short = 'a')]
    pub no_ack: bool,
    /// A name for the logs.
    #[arg(long, short = 'n', value_name = "NAME")]
    pub name: Option<String>,
    /// Write the process id to this file.
    #[arg(long, short = 'p', value_name = "FILE")]
    pub pid: Option<PathBuf>,
    /// Log each check and state on standard error.
    #[arg(long, short = 'd')]
    pub debug: bool,
    /// Log nothing.
    #[arg(long, short = 's')]
    pub silent: bool,
    /// Accepted for ExaBGP compatibility: Ribbit never sets up loopback addresses.
    #[arg(long = "no-ip-setup")]
    pub no_ip_setup: bool,
    /// Read options from FILE first, one long option per line, as
    /// ExaBGP's healthcheck does (`interval = 10`, `withdraw-on-down`);
    /// the command line's win.
    #[arg(long, short = 'F', value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// `--config FILE`: ExaBGP's healthcheck configuration file, one long
/// option per line (`interval = 10`, `withdraw-on-down`), read before the
/// command line's options.
#[derive(Debug, Parser)]
#[command(name = "ribbit healthcheck", args_override_self = true)]
struct WithConfig {
    #[command(flatten)]
    args: HealthcheckArgs,
}

fn parse_ip(s: &str) -> Result<IpNet, String> {
    if let Ok(n) = s.parse::<IpNet>() {
        if n.trunc() != n {
            return Err(format!(
                "{s} has host bits set (the network is {})",
                n.trunc()
            ));
        }
        return Ok(n);
    }
    s.parse::<IpAddr>()
        .map(IpNet::from)
        .map_err(|_| format!("{s:?} is not an address or a prefix"))
}

/// The options of a configuration file as command line words.
pub fn config_file_args(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.split_once('=') {
            Some((k, v)) => {
                out.push(format!("--{}", k.trim()));
                out.push(v.trim().to_string());
            }
            None => out.push(format!("--{line}")),
        }
    }
    out
}

/// Parse the arguments after `ribbit healthcheck`, with `--config FILE`
/// (ExaBGP's option) expanded first.
pub fn parse_args<I: IntoIterator<Item = String>>(argv: I) -> Result<HealthcheckArgs, clap::Error> {
    let mut words: Vec<String> = Vec::new();
    let mut it = argv.into_iter();
    let mut rest = Vec::new();
    while let Some(w) = it.next() {
        let file = if w == "--config" || w == "-F" {
            it.next()
        } else {
            w.strip_prefix("--config=").map(str::to_string)
        };
        match file {
            Some(f) => match std::fs::read_to_string(&f) {
                Ok(t) => words.extend(config_file_args(&t)),
                Err(e) => {
                    return Err(clap::Error::raw(
                        clap::error::ErrorKind::Io,
                        format!("cannot read {f}: {e}\n"),
                    ))
                }
            },
            None => rest.push(w),
        }
    }
    words.extend(rest);
    WithConfig::try_parse_from(std::iter::once("ribbit healthcheck".to_string()).chain(words))
        .map(|w| w.args)
}

/// The service's state, as ExaBGP's healthcheck names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthState {
    /// Before the first check.
    Init,
    /// The disable file exists.
    Disabled,
    /// Checks succeed, not yet `rise` of them.
    Rising,
    /// Checks fail, not yet `fall` of them.
    Falling,
    /// Up.
    Up,
    /// Down.
    Down,
}

impl HealthState {
    /// The name in logs and in STATE for `--execute`.
    pub fn name(self) -> &'static str {
        match self {
            HealthState::Init => "INIT",
            HealthState::Disabled => "DISABLED",
            HealthState::Rising => "RISING",
            HealthState::Falling => "FALLING",
            HealthState::Up => "UP",
            HealthState::Down => "DOWN",
        }
    }
}

/// The state machine of ExaBGP's healthcheck: the next state and count of
/// checks in a row, from a check's result.
pub fn step(
    state: HealthState,
    checks: u32,
    ok: bool,
    disabled: bool,
    rise: u32,
    fall: u32,
) -> (HealthState, u32) {
    use HealthState::*;
    // A rise or fall of 1 goes straight to the end state.
    let shortcut = |s: HealthState| match s {
        Rising if rise <= 1 => Up,
        Falling if fall <= 1 => Down,
        s => s,
    };
    if state != Disabled && disabled {
        return (Disabled, checks);
    }
    let (next, checks) = match state {
        Init if ok => (Rising, 1),
        Init => (Falling, 1),
        Disabled if !disabled => (Init, checks),
        Disabled => (Disabled, checks),
        Rising if ok && checks + 1 >= rise => (Up, checks + 1),
        Rising if ok => (Rising, checks + 1),
        Rising => (Falling, 1),
        Falling if !ok && checks + 1 >= fall => (Down, checks + 1),
        Falling if !ok => (Falling, checks + 1),
        Falling => (Rising, 1),
        Up if !ok => (Falling, 1),
        Up => (Up, checks),
        Down if ok => (Rising, 1),
        Down => (Down, checks),
    };
    if next != state {
        (shortcut(next), checks)
    } else {
        (next, checks)
    }
}

/// The commands that announce (or withdraw) every address for a state:
/// none for the transient states. `exit` withdraws everything.
pub fn commands(a: &HealthcheckArgs, state: HealthState, exit: bool) -> Vec<String> {
    let (mut metric, as_path) = match state {
        HealthState::Up => (a.up_metric, a.up_as_path.as_ref()),
        HealthState::Down => (a.down_metric, a.down_as_path.as_ref()),
        HealthState::Disabled => (a.disabled_metric, a.disabled_as_path.as_ref()),
        _ if exit => (0, None),
        _ => return Vec::new(),
    };
    let as_path = as_path.or(a.as_path.as_ref());
    let next_hop = a
        .next_hop
        .map_or_else(|| "self".to_string(), |n| n.to_string());
    let selectors = if a.neighbors.is_empty() {
        String::new()
    } else {
        let list: Vec<String> = a
            .neighbors
            .iter()
            .map(|n| format!("neighbor {n}"))
            .collect();
        format!("{} ", list.join(", "))
    };
    let mut out = Vec::new();
    for ip in &a.ips {
        let withdraw = exit || (a.withdraw_on_down && state != HealthState::Up);
        let mut c = format!(
            "{selectors}{} route {ip} next-hop {next_hop}",
            if withdraw { "withdraw" } else { "announce" }
        );
        if !withdraw {
            c.push_str(&format!(" med {metric}"));
            if let Some(lp) = a.local_preference {
                c.push_str(&format!(" local-preference {lp}"));
            }
            let community = match state {
                HealthState::Down | HealthState::Disabled => {
                    a.disabled_community.as_ref().or(a.community.as_ref())
                }
                _ => a.community.as_ref(),
            };
            if let Some(x) = community {
                c.push_str(&format!(" community [ {x} ]"));
            }
            if let Some(x) = &a.extended_community {
                c.push_str(&format!(" extended-community [ {x} ]"));
            }
            if let Some(x) = &a.large_community {
                c.push_str(&format!(" large-community [ {x} ]"));
            }
            if let Some(x) = as_path {
                c.push_str(&format!(" as-path [ {x} ]"));
            }
        }
        if let Some(id) = a.path_id {
            c.push_str(&format!(" path-information {id}"));
        }
        metric = metric.saturating_add(a.increase);
        out.push(c);
    }
    out
}

/// Why `ribbit healthcheck` stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum HealthcheckError {
    /// An option's value is wrong.
    #[error("{0}")]
    Options(String),
    /// The runtime could not start.
    #[error("cannot start the runtime: {0}")]
    Runtime(#[source] io::Error),
    /// The pid file could not be written.
    #[error("cannot write {path}: {source}")]
    PidFile {
        /// The file.
        path: String,
        /// Why.
        source: io::Error,
    },
}

/// How the loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// `--interval 0`: announced once.
    Once,
    /// The speaker is gone (input or output closed).
    Gone,
    /// SIGTERM or SIGINT: withdraw, then exit.
    Signal,
}

struct Io {
    acks: Option<mpsc::UnboundedReceiver<String>>,
    log: bool,
    name: String,
}

impl Io {
    fn log(&self, what: &str) {
        if self.log {
            eprintln!("healthcheck{}: {what}", self.name);
        }
    }

    /// Print one command and wait for its answer; false when the speaker
    /// is gone.
    async fn send(&mut self, command: &str) -> bool {
        let mut out = io::stdout().lock();
        if writeln!(out, "{command}")
            .and_then(|()| out.flush())
            .is_err()
        {
            return false;
        }
        drop(out);
        let Some(acks) = self.acks.as_mut() else {
            return true;
        };
        loop {
            match acks.recv().await {
                None => return false,
                Some(l) => {
                    // Skip events (JSON) and other output: the answer is
                    // `done` or `error ...`.
                    let l = l.trim();
                    if l == "done" {
                        return true;
                    }
                    if l.starts_with("error") {
                        self.log(&format!("{command}: {l}"));
                        return true;
                    }
                }
            }
        }
    }
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.0))
}

/// Run the check once: true when it exits 0 within the timeout.
async fn check(a: &HealthcheckArgs) -> bool {
    let Some(cmd) = &a.command else {
        return true;
    };
    let child = tokio::process::Command::new("sh")
        .args(["-c", cmd])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn();
    let Ok(mut child) = child else {
        return false;
    };
    match tokio::time::timeout(secs(a.timeout), child.wait()).await {
        Ok(Ok(status)) => status.success(),
        _ => false,
    }
}

fn run_hooks(a: &HealthcheckArgs, state: HealthState) {
    let specific = match state {
        HealthState::Up => &a.up_execute,
        HealthState::Down => &a.down_execute,
        HealthState::Disabled => &a.disabled_execute,
        _ => &a.execute[..0],
    };
    for cmd in specific.iter().chain(&a.execute) {
        let _ = std::process::Command::new("sh")
            .args(["-c", cmd])
            .env("STATE", state.name())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

async fn main_loop(a: &HealthcheckArgs, io: &mut Io) -> End {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).ok();
    let mut int = signal(SignalKind::interrupt()).ok();
    let mut state = HealthState::Init;
    let mut checks = 0;
    loop {
        let disabled = a.disable.as_ref().is_some_and(|f| f.exists());
        let ok = disabled || check(a).await;
        let (next, n) = step(state, checks, ok, disabled, a.rise, a.fall);
        if next != state {
            io.log(&format!("{} -> {}", state.name(), next.name()));
            run_hooks(a, next);
        }
        state = next;
        checks = n;
        // Announced at every check, as ExaBGP's healthcheck does.
        for c in commands(a, state, false) {
            if !io.send(&c).await {
                return End::Gone;
            }
        }
        let wait = match state {
            HealthState::Rising | HealthState::Falling => secs(a.fast_interval),
            _ if a.interval <= 0.0 => return End::Once,
            _ => secs(a.interval),
        };
        let gone = async {
            match io.acks.as_mut() {
                // With acks, the closed input says the speaker is gone.
                Some(acks) if acks.is_closed() => {}
                _ => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = gone => return End::Gone,
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => return End::Signal,
            _ = async { match int.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => return End::Signal,
        }
    }
}

/// Run `ribbit healthcheck` until the speaker goes away or a signal stops it.
pub fn run(a: &HealthcheckArgs) -> Result<ExitCode, HealthcheckError> {
    // With --config, the options are read again: the file's, then the
    // command line's (this process's own arguments after `healthcheck`).
    let expanded;
    let a = if a.config.is_some() {
        let argv: Vec<String> = std::env::args()
            .skip_while(|w| w != "healthcheck")
            .skip(1)
            .collect();
        expanded = parse_args(argv).map_err(|e| HealthcheckError::Options(e.to_string()))?;
        &expanded
    } else {
        a
    };
    if a.ips.is_empty() {
        return Err(HealthcheckError::Options(
            "give the addresses to announce with --ip (Ribbit does not take them from the loopback interface)".into(),
        ));
    }
    if a.rise == 0 || a.fall == 0 {
        return Err(HealthcheckError::Options(
            "--rise and --fall must be at least 1".into(),
        ));
    }
    if !a.interval.is_finite() || !a.fast_interval.is_finite() || !a.timeout.is_finite() {
        return Err(HealthcheckError::Options(
            "intervals and timeout must be numbers of seconds".into(),
        ));
    }
    if let Some(p) = &a.pid {
        std::fs::write(p, format!("{}\n", std::process::id())).map_err(|source| {
            HealthcheckError::PidFile {
                path: p.display().to_string(),
                source,
            }
        })?;
    }
    // ExaBGP's healthcheck does not wait for answers when run by hand.
    let interactive = std::io::IsTerminal::is_terminal(&io::stdout());
    let acks = (!a.no_ack && !interactive).then(|| {
        let (tx, rx) = mpsc::unbounded_channel();
        // Standard input is read on a thread of its own: the answers and
        // events of the speaker, and its closing.
        std::thread::spawn(move || {
            for line in io::stdin().lock().lines() {
                match line {
                    Ok(l) => {
                        if tx.send(l).is_err() {
                            return;
                        }
                    }
                    Err(_) => return,
                }
            }
        });
        rx
    });
    let mut io = Io {
        acks,
        log: a.debug && !a.silent,
        name: a
            .name
            .as_ref()
            .map(|n| format!("[{n}]"))
            .unwrap_or_default(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(HealthcheckError::Runtime)?;
    runtime.block_on(async {
        match main_loop(a, &mut io).await {
            End::Signal => {
                io.log("stopping: withdrawing");
                for c in commands(a, HealthState::Init, true) {
                    if !io.send(&c).await {
                        break;
                    }
                }
            }
            End::Once | End::Gone => {}
        }
    });
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use HealthState::*;

    fn args(extra: &[&str]) -> HealthcheckArgs {
        parse_args(
            ["--ip", "192.0.2.10/32", "--ip", "192.0.2.11"]
                .iter()
                .chain(extra)
                .map(|s| s.to_string()),
        )
        .unwrap()
    }

    #[test]
    fn state_machine_as_exabgp() {
        // Failing from the start, fall 3: falling, falling, down.
        let (s, n) = step(Init, 0, false, false, 3, 3);
        assert_eq!((s, n), (Falling, 1));
        let (s, n) = step(s, n, false, false, 3, 3);
        assert_eq!((s, n), (Falling, 2));
        let (s, n) = step(s, n, false, false, 3, 3);
        assert_eq!((s, n), (Down, 3));
        // One success starts rising; a failure falls again.
        let (s, n) = step(s, n, true, false, 3, 3);
        assert_eq!((s, n), (Rising, 1));
        let (s, n) = step(s, n, false, false, 3, 3);
        assert_eq!((s, n), (Falling, 1));
        // rise 1: up at once.
        assert_eq!(step(Init, 0, true, false, 1, 3).0, Up);
        assert_eq!(step(Down, 3, true, false, 1, 3).0, Up);
        assert_eq!(step(Up, 3, false, false, 3, 1).0, Down);
        // Disabled wins, then starts over.
        assert_eq!(step(Up, 3, true, true, 3, 3).0, Disabled);
        assert_eq!(step(Disabled, 3, true, true, 3, 3).0, Disabled);
        assert_eq!(step(Disabled, 3, true, false, 3, 3).0, Init);
    }

    #[test]
    fn commands_per_state() {
        let a = args(&["--community", "65000:1", "--next-hop", "192.0.2.1"]);
        assert_eq!(
            commands(&a, Up, false),
            [
                "announce route 192.0.2.10/32 next-hop 192.0.2.1 med 100 community [ 65000:1 ]",
                "announce route 192.0.2.11/32 next-hop 192.0.2.1 med 101 community [ 65000:1 ]",
            ]
        );
        assert!(commands(&a, Rising, false).is_empty());
        assert!(commands(&a, Down, false)[0].contains("med 1000"));
        assert!(commands(&a, Disabled, false)[0].contains("med 500"));
        assert_eq!(
            commands(&a, Init, true)[1],
            "withdraw route 192.0.2.11/32 next-hop 192.0.2.1"
        );
        let w = args(&[
            "--withdraw-on-down",
            "--neighbor",
            "127.0.0.2",
            "--path-id",
            "7",
        ]);
        assert_eq!(
            commands(&w, Down, false)[0],
            "neighbor 127.0.0.2 withdraw route 192.0.2.10/32 next-hop self path-information 7"
        );
        assert!(commands(&w, Up, false)[0].starts_with("neighbor 127.0.0.2 announce route"));
        // Every command is one Ribbit's grammar takes.
        for s in [Up, Down, Disabled] {
            for c in commands(&a, s, false).iter().chain(&commands(&w, s, false)) {
                ribbit_exabgp::text::parse(c).unwrap_or_else(|e| panic!("{c}: {e}"));
            }
        }
    }

    #[test]
    fn options_and_config_file() {
        assert!(parse_args(["--ip".to_string(), "10.0.0.1/24".to_string()]).is_err());
        let dir = std::env::temp_dir().join(format!("hc-conf-{}", std::process::id()));
        std::fs::write(
            &dir,
            "# ExaBGP's form\ninterval = 10\nwithdraw-on-down\ncommand = curl -sf http://127.0.0.1/\n",
        )
        .unwrap();
        let a = parse_args(
            [
                "--config",
                dir.to_str().unwrap(),
                "--ip",
                "192.0.2.1",
                "--interval",
                "2",
            ]
            .iter()
            .map(|s| s.to_string()),
        )
        .unwrap();
        let _ = std::fs::remove_file(&dir);
        assert!(a.withdraw_on_down);
        assert_eq!(a.command.as_deref(), Some("curl -sf http://127.0.0.1/"));
        // The command line comes after the file: it wins.
        assert_eq!(a.interval, 2.0);
    }
}
