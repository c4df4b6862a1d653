//! The benchmark driver: runs the monitor and the injectors in this one
//! process (one clock) around each target daemon, and prints a markdown
//! table of the results.
//!
//! ```text
//! full-table [--scenario full-table|route-server] [--targets floor,bird,gobgp,frr,openbgpd,ribbit]
//!            [--runs 2] [--prefixes N] [--peers N] [--timeout 300] [--mrt FILE] [--port 11979]
//! ```

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use ribbit_bench::driver::{self, median, RunResult, RunSpec, TempDir};
use ribbit_bench::gen::{write_table, TableSpec};
use ribbit_bench::inject;
use ribbit_bench::targets::{self, Kind, Plan};
use ribbit_wire::EncodeContext;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    /// One peer with the whole table (1,050,000 prefixes by default).
    FullTable,
    /// Ten route-server clients, each with its own view of the same
    /// 100,000 prefixes (targets in route-server mode).
    RouteServer,
    /// The full table, then 10 % of it withdrawn and re-announced with a
    /// changed attribute: time until the monitor holds the new version.
    Churn,
}

/// Full-table benchmark of BGP daemons on loopback.
#[derive(Debug, Parser)]
struct Args {
    /// What to measure.
    #[arg(long, value_enum, default_value_t = Scenario::FullTable)]
    scenario: Scenario,
    /// Comma-separated targets: floor, ribbit, bird, gobgp, frr, openbgpd.
    #[arg(long, default_value = "floor,bird,gobgp,frr,openbgpd")]
    targets: String,
    /// Runs per target (median and spread are reported).
    #[arg(long, default_value_t = 2)]
    runs: usize,
    /// Prefixes (default: 1,050,000 for full-table, 100,000 for route-server).
    #[arg(long)]
    prefixes: Option<usize>,
    /// Peers in the generated table (default: 1, or 10 for route-server).
    #[arg(long)]
    peers: Option<usize>,
    /// Seed of the generated table.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Use this dump instead of generating one.
    #[arg(long)]
    mrt: Option<PathBuf>,
    /// Seconds before a run is given up.
    #[arg(long, default_value_t = 300)]
    timeout: u64,
    /// The target's BGP port (GoBGP's API takes the next one).
    #[arg(long, default_value_t = 11979)]
    port: u16,
    /// The Ribbit binary.
    #[arg(long, default_value = "target/release/ribbit")]
    ribbit_bin: PathBuf,
    /// Before each run, wait up to this many seconds for the machine to
    /// have had no cargo or rustc process for 10 s (0: do not wait).
    #[arg(long, default_value_t = 1800)]
    wait_idle: u64,
}

/// Wait until no build has run for 10 s, or `limit` passed.
fn wait_idle(limit: Duration) {
    let start = Instant::now();
    let mut quiet_since = Instant::now();
    let mut told = false;
    while start.elapsed() < limit {
        if driver::builds_running() {
            quiet_since = Instant::now();
            if !told {
                eprintln!("waiting for the builds running on this machine to finish");
                told = true;
            }
        } else if quiet_since.elapsed() >= Duration::from_secs(10) {
            return;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_default()
}

fn line(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
            })
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

fn mib(kib: u64) -> String {
    if kib >= 1024 * 1024 {
        format!("{:.2} GiB", kib as f64 / 1024.0 / 1024.0)
    } else {
        format!("{:.0} MiB", kib as f64 / 1024.0)
    }
}

fn fmt_spread(v: &[f64]) -> (String, String) {
    match median(v) {
        None => ("–".into(), "–".into()),
        Some((m, lo, hi)) if v.len() > 1 => (format!("{m:.2}"), format!("{lo:.2}–{hi:.2}")),
        Some((m, _, _)) => (format!("{m:.2}"), "–".into()),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a = Args::parse();
    let route_server = a.scenario == Scenario::RouteServer;
    let kinds: Vec<Kind> = a
        .targets
        .split(',')
        .map(|t| Kind::parse(t.trim()).ok_or_else(|| format!("unknown target {t}")))
        .collect::<Result<_, _>>()?;
    let top = TempDir::new("top")?;
    let mrt = match &a.mrt {
        Some(p) => p.clone(),
        None => {
            let spec = TableSpec {
                prefixes: a
                    .prefixes
                    .unwrap_or(if route_server { 100_000 } else { 1_050_000 }),
                peers: a.peers.unwrap_or(if route_server { 10 } else { 1 }),
                seed: a.seed,
                ..TableSpec::default()
            };
            let path = top.0.join("table.mrt");
            let t = Instant::now();
            let stats = write_table(&spec, BufWriter::new(File::create(&path)?))?;
            eprintln!(
                "table: {} prefixes x {} peer(s), {} attribute sets per peer, mean AS path {:.2}, written in {:.1} s",
                stats.prefixes, stats.peers, stats.sets, stats.mean_path_len, t.elapsed().as_secs_f64()
            );
            path
        }
    };
    let t = Instant::now();
    let prepared = inject::prepare(BufReader::new(File::open(&mrt)?), EncodeContext::default())?;
    let paths: usize = prepared.peers.iter().map(|p| p.prefixes).sum();
    eprintln!(
        "pre-encoded {} UPDATEs ({:.1} MB) for {} paths to {} prefixes in {:.1} s",
        prepared.peers.iter().map(|p| p.update_count).sum::<usize>(),
        prepared
            .peers
            .iter()
            .map(|p| p.updates.len())
            .sum::<usize>() as f64
            / 1e6,
        paths,
        prepared.prefixes,
        t.elapsed().as_secs_f64()
    );
    let plan = Plan {
        port: a.port,
        injectors: prepared
            .peers
            .iter()
            .map(|p| (p.address, p.asn))
            .collect::<Vec<(IpAddr, u32)>>(),
        route_server,
        ribbit_bin: a.ribbit_bin.clone(),
    };
    let mut results: Vec<(Kind, Vec<RunResult>)> = kinds.iter().map(|k| (*k, Vec::new())).collect();
    // Runs interleaved (every target once, then again) so that a burst of
    // noise on the shared machine does not land on one target only.
    for run in 0..a.runs {
        for (kind, out) in results.iter_mut() {
            if a.wait_idle > 0 {
                wait_idle(Duration::from_secs(a.wait_idle));
            }
            let load_before = loadavg();
            let dir = TempDir::new(&format!("{}-{run}", kind.name()))?;
            let spec = RunSpec {
                kind: *kind,
                plan: &plan,
                loads: &prepared.peers,
                expected: prepared.prefixes,
                timeout: Duration::from_secs(a.timeout),
                dir: &dir.0,
                churn: a.scenario == Scenario::Churn,
            };
            let r = driver::run(&spec);
            eprintln!(
                "run {} {}: all prefixes after {:?} s, last UPDATE after {:?} s, churn {:?} s (dipped to {:?}), {} held, {} UPDATEs, peak {} KiB, CPU {:.1} s, load {load_before} before{}{}",
                run + 1,
                kind.name(),
                r.complete.map(|s| (s * 1000.0).round() / 1000.0),
                r.last_update.map(|s| (s * 1000.0).round() / 1000.0),
                r.churn.map(|s| (s * 1000.0).round() / 1000.0),
                r.dipped_to,
                r.held,
                r.updates,
                r.usage.hwm_kib,
                r.usage.cpu_seconds,
                if r.noisy { ", builds were running" } else { "" },
                r.error.as_deref().map(|e| format!(", error: {e}")).unwrap_or_default()
            );
            out.push(r);
            // Let sockets in TIME_WAIT and the daemon's exit settle.
            std::thread::sleep(Duration::from_secs(1));
        }
    }

    println!(
        "### {} — {} prefixes × {} peer(s), {} run(s) each\n",
        match a.scenario {
            Scenario::FullTable => "full-table",
            Scenario::RouteServer => "route-server",
            Scenario::Churn => "churn",
        },
        prepared.prefixes,
        prepared.peers.len(),
        a.runs
    );
    println!(
        "Machine: {} cores, {}, {}; {}.\n",
        line("nproc", &[]),
        cpu_model(),
        line("uname", &["-sr"]),
        line("date", &["-u", "+%Y-%m-%d %H:%M UTC"])
    );
    let churn = a.scenario == Scenario::Churn;
    println!(
        "| target | version | s to all prefixes (median) | spread | s to last UPDATE |{} peak memory (VmHWM) | bytes per path | CPU s | runs ok |",
        if churn { " churn: s to consistent | spread |" } else { "" }
    );
    println!(
        "|---|---|---|---|---|{}---|---|---|---|",
        if churn { "---|---|" } else { "" }
    );
    // Medians of the time to all prefixes, for the comparison below.
    let mut medians: Vec<(Kind, f64)> = Vec::new();
    for (kind, runs) in &results {
        let ok: Vec<&RunResult> = runs.iter().filter(|r| r.error.is_none()).collect();
        let complete: Vec<f64> = ok.iter().filter_map(|r| r.complete).collect();
        if let Some((m, _, _)) = median(&complete) {
            medians.push((*kind, m));
        }
        let last: Vec<f64> = ok.iter().filter_map(|r| r.last_update).collect();
        let (m, spread) = fmt_spread(&complete);
        let (lm, _) = fmt_spread(&last);
        let churned: Vec<f64> = ok.iter().filter_map(|r| r.churn).collect();
        let (cm, cspread) = fmt_spread(&churned);
        let churn_cols = if churn {
            format!(" {cm} | {cspread} |")
        } else {
            String::new()
        };
        let noisy = runs.iter().filter(|r| r.noisy).count();
        let hwm = ok.iter().map(|r| r.usage.hwm_kib).max().unwrap_or(0);
        let cpu: Vec<f64> = ok.iter().map(|r| r.usage.cpu_seconds).collect();
        let (mem, per_path, cpu_s) = if *kind == Kind::Floor || ok.is_empty() {
            ("–".into(), "–".into(), "–".into())
        } else {
            (
                mib(hwm),
                format!("{:.0}", hwm as f64 * 1024.0 / paths as f64),
                median(&cpu).map_or("–".into(), |(m, _, _)| format!("{m:.1}")),
            )
        };
        let errors: Vec<&str> = runs.iter().filter_map(|r| r.error.as_deref()).collect();
        let mut notes: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        if noisy > 0 {
            notes.push(format!("builds running during {noisy} run(s)"));
        }
        let note = if notes.is_empty() {
            String::new()
        } else {
            format!(" ({})", notes.join("; "))
        };
        println!(
            "| {} | {} | {m} | {spread} | {lm} |{churn_cols} {mem} | {per_path} | {cpu_s} | {}/{}{note} |",
            kind.name(),
            targets::version(*kind, &plan),
            ok.len(),
            runs.len()
        );
    }
    compare(&medians, &plan);
    Ok(())
}

/// Ribbit's median against each other daemon's, in total and above the
/// floor, as the targets are stated.
fn compare(medians: &[(Kind, f64)], plan: &Plan) {
    let time = |k: Kind| medians.iter().find(|(x, _)| *x == k).map(|(_, t)| *t);
    let Some(ours) = time(Kind::Ribbit) else {
        return;
    };
    let floor = time(Kind::Floor);
    let others: Vec<(Kind, f64)> = medians
        .iter()
        .filter(|(k, _)| !matches!(k, Kind::Ribbit | Kind::Floor))
        .copied()
        .collect();
    if !others.is_empty() {
        println!();
    }
    for (kind, theirs) in others {
        let (total, above) = driver::speedup(ours, theirs, floor);
        let above = match (above, floor) {
            (Some(x), Some(f)) => format!(", {x:.2}× above the floor ({f:.2} s)"),
            _ => String::new(),
        };
        println!(
            "Ribbit against {}: {total:.2}× as fast in total{above}.",
            targets::version(kind, plan)
        );
    }
}
