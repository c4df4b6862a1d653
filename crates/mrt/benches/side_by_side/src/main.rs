//! Decode one MRT file with ribbit-mrt, with the bgpkit-parser crate and
//! (optionally) with external programs such as `bgpdump -m`, interleaved
//! over several rounds, and print the wall-clock and CPU time of each.
//!
//! ```text
//! mrt-side-by-side FILE [--rounds N] [--only NAME,NAME...] [--cmd NAME=SHELL COMMAND]...
//! ```
//!
//! On a shared machine the wall clock includes the time spent waiting for
//! a core; the CPU time (this thread's, from `/proc/thread-self/schedstat`,
//! or the child's user + system time from `/usr/bin/time`) does not, and is
//! the figure the ratios are taken from. Each round runs every job once,
//! starting at a different job each round; the summary gives the minimum
//! and the median over the rounds.
//!
//! Each reader goes through every route of the file and touches what it
//! decoded, so that nothing is optimised away:
//! - `ribbit routes`: [`ribbit_mrt::routes::Routes`], one [`Route`] per path:
//!   the peer (address, AS) from the PEER_INDEX_TABLE, the prefix, and every
//!   attribute decoded into a `PathAttributes` (AS path, communities, next
//!   hop...), shared between the paths whose attribute bytes are the same;
//!   the counterpart of bgpkit-parser's elems;
//! - `ribbit routes unshared`: the same, every attribute field decoded for
//!   its own route (`Routes::with_sharing(reader, false)`);
//! - `ribbit records`: `MrtReader` and the full decode into `Record`
//!   (each RIB entry's attributes into a `PathAttributes` of its own),
//!   the peer looked up in the PEER_INDEX_TABLE;
//! - `ribbit views`: the zero-copy views (`RibView`, `AttrView`) and the
//!   origin AS of each path, what the filters of `ribbit mrt` use;
//! - `ribbit bgpdump`: the `bgpdump -m` text of every path, into a
//!   buffer that is cleared after each record;
//! - `bgpkit elems`: `BgpkitParser::into_elem_iter`, one `BgpElem` per path
//!   (peer, prefix and the attributes decoded);
//! - `bgpkit records`: `into_record_iter`, the records decoded, not
//!   turned into elems;
//! - each `--cmd NAME=COMMAND`: the command run by `sh -c`, `{}` replaced by
//!   the file, its output to /dev/null (e.g. `bgpdump -m {}`).
//!
//! [`Route`]: ribbit_mrt::routes::Route

use std::fs::File;
use std::io::BufReader;
use std::process::Command;
use std::time::Instant;

use ribbit_mrt::bgpdump::Bgpdump;
use ribbit_mrt::filter::Filter;
use ribbit_mrt::routes::Routes;
use ribbit_mrt::view::{origin_as, AttrView, OriginAs, RibView};
use ribbit_mrt::{Body, MrtReader, TableDumpV2};

fn open(path: &str) -> BufReader<File> {
    BufReader::with_capacity(1 << 16, File::open(path).expect("open the file"))
}

/// This thread's CPU time in seconds (the first field of schedstat is the
/// time spent on a CPU, in nanoseconds).
fn thread_cpu() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(f64::NAN, |ns| ns as f64 / 1e9)
}

/// What one run of a job measured.
#[derive(Debug, Clone, Copy)]
struct Run {
    wall: f64,
    cpu: f64,
    routes: u64,
    check: u64,
}

type Job = Box<dyn Fn(&str) -> (u64, u64)>;

fn routes(path: &str, share: bool) -> (u64, u64) {
    let (mut routes, mut check) = (0u64, 0u64);
    let mut r = Routes::with_sharing(MrtReader::new(open(path)).expect("read"), share);
    while let Some(route) = r.next_route().expect("route") {
        routes += 1;
        check += route
            .attributes
            .as_path
            .as_ref()
            .map_or(0, |p| p.path_len() as u64);
        check += u64::from(route.peer.asn & 1);
    }
    if std::env::var_os("RIBBIT_ROUTES_STATS").is_some() {
        eprintln!("{:?}", r.stats());
    }
    (routes, check)
}

fn ribbit_routes(path: &str) -> (u64, u64) {
    routes(path, true)
}

fn ribbit_routes_unshared(path: &str) -> (u64, u64) {
    routes(path, false)
}

fn ribbit_records(path: &str) -> (u64, u64) {
    let (mut routes, mut check) = (0u64, 0u64);
    let mut peers = Vec::new();
    for r in MrtReader::new(open(path)).expect("read") {
        match r.expect("record").body {
            Body::TableDumpV2(TableDumpV2::PeerIndexTable(t)) => peers = t.peers,
            Body::TableDumpV2(TableDumpV2::Rib(rib)) => {
                for e in &rib.entries {
                    let peer = peers.get(usize::from(e.peer_index)).expect("peer");
                    routes += 1;
                    check += e
                        .attributes
                        .as_path
                        .as_ref()
                        .map_or(0, |p| p.path_len() as u64);
                    check += u64::from(peer.asn & 1);
                }
            }
            _ => {}
        }
    }
    (routes, check)
}

fn ribbit_views(path: &str) -> (u64, u64) {
    let (mut routes, mut check) = (0u64, 0u64);
    let mut reader = MrtReader::new(open(path)).expect("read");
    while let Some(raw) = reader.next_raw().expect("record") {
        if let Some(rib) = RibView::of(&raw) {
            for e in rib.expect("rib").entries() {
                let e = e.expect("entry");
                let a = AttrView::read(e.attributes).expect("attributes");
                routes += 1;
                if let Some(OriginAs::One(o)) = a.as_path.and_then(|p| origin_as(p, 4)) {
                    check += u64::from(o & 1);
                }
            }
        }
    }
    (routes, check)
}

fn ribbit_bgpdump(path: &str) -> (u64, u64) {
    let (mut routes, mut check) = (0u64, 0u64);
    let mut reader = MrtReader::new(open(path)).expect("read");
    let mut f = Bgpdump::new();
    let filter = Filter::default();
    let mut out = Vec::with_capacity(1 << 16);
    while let Some(raw) = reader.next_raw().expect("record") {
        routes += f.format(&raw, &filter, &mut out).expect("format") as u64;
        check += out.len() as u64;
        out.clear();
    }
    (routes, check)
}

fn bgpkit_elems(path: &str) -> (u64, u64) {
    let (mut routes, mut check) = (0u64, 0u64);
    for elem in bgpkit_parser::BgpkitParser::from_reader(open(path)).into_elem_iter() {
        routes += 1;
        check += elem.as_path.as_ref().map_or(0, |p| p.route_len() as u64);
        check += u64::from(elem.peer_asn.to_u32() & 1);
    }
    (routes, check)
}

fn bgpkit_records(path: &str) -> (u64, u64) {
    let (mut routes, mut check) = (0u64, 0u64);
    for record in bgpkit_parser::BgpkitParser::from_reader(open(path)).into_record_iter() {
        routes += 1;
        check += u64::from(record.common_header.length);
    }
    (routes, check)
}

/// Run a shell command under `/usr/bin/time`, its output to /dev/null:
/// its wall-clock and CPU time (user + system, the shell's included, which
/// is next to nothing).
fn external(cmd: &str) -> Run {
    let times = std::env::temp_dir().join(format!("mrt-side-by-side-{}.time", std::process::id()));
    let t = Instant::now();
    let status = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%e %U %S")
        .arg("-o")
        .arg(&times)
        .arg("sh")
        .arg("-c")
        .arg(format!("{cmd} > /dev/null"))
        .status()
        .expect("run the command");
    let wall = t.elapsed().as_secs_f64();
    assert!(status.success(), "{cmd} failed");
    let s = std::fs::read_to_string(&times).expect("time's output");
    let _ = std::fs::remove_file(&times);
    let f: Vec<f64> = s
        .lines()
        .last()
        .unwrap_or("")
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    Run {
        wall,
        cpu: f.get(1).copied().unwrap_or(f64::NAN) + f.get(2).copied().unwrap_or(f64::NAN),
        routes: 0,
        check: 0,
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut path = None;
    let mut rounds = 1usize;
    let mut only: Option<Vec<String>> = None;
    let mut commands: Vec<(String, String)> = Vec::new();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--rounds" => {
                rounds = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .expect("--rounds N")
            }
            "--only" => {
                only = Some(
                    args.next()
                        .expect("--only NAME,...")
                        .split(',')
                        .map(str::to_owned)
                        .collect(),
                )
            }
            "--cmd" => {
                let c = args.next().expect("--cmd NAME=COMMAND");
                let (name, cmd) = c.split_once('=').expect("--cmd NAME=COMMAND");
                commands.push((name.to_owned(), cmd.to_owned()));
            }
            _ => path = Some(a),
        }
    }
    let path = path.expect(
        "usage: mrt-side-by-side FILE [--rounds N] [--only NAME,...] [--cmd NAME=COMMAND]...",
    );

    let mut jobs: Vec<(String, Option<Job>, Option<String>)> = vec![
        (
            "ribbit routes".into(),
            Some(Box::new(ribbit_routes) as Job),
            None,
        ),
        (
            "ribbit routes unshared".into(),
            Some(Box::new(ribbit_routes_unshared)),
            None,
        ),
        (
            "ribbit records".into(),
            Some(Box::new(ribbit_records)),
            None,
        ),
        ("ribbit views".into(), Some(Box::new(ribbit_views)), None),
        (
            "ribbit bgpdump".into(),
            Some(Box::new(ribbit_bgpdump)),
            None,
        ),
        ("bgpkit elems".into(), Some(Box::new(bgpkit_elems)), None),
        (
            "bgpkit records".into(),
            Some(Box::new(bgpkit_records)),
            None,
        ),
    ];
    for (name, cmd) in commands {
        jobs.push((name, None, Some(cmd)));
    }
    if let Some(only) = &only {
        jobs.retain(|(name, _, cmd)| {
            cmd.is_some() || only.iter().any(|o| name.contains(o.as_str()))
        });
    }

    let mut runs: Vec<Vec<Run>> = vec![Vec::new(); jobs.len()];
    for round in 0..rounds {
        for k in 0..jobs.len() {
            let i = (k + round) % jobs.len();
            let (name, job, cmd) = &jobs[i];
            let run = match (job, cmd) {
                (Some(job), _) => {
                    let (t, c) = (Instant::now(), thread_cpu());
                    let (routes, check) = job(&path);
                    Run {
                        wall: t.elapsed().as_secs_f64(),
                        cpu: thread_cpu() - c,
                        routes,
                        check,
                    }
                }
                (None, Some(cmd)) => external(&cmd.replace("{}", &path)),
                (None, None) => unreachable!(),
            };
            println!(
                "round {} {name:<24} wall {:7.3} s  cpu {:7.3} s  {:>9} paths  (check {})",
                round + 1,
                run.wall,
                run.cpu,
                run.routes,
                run.check
            );
            runs[i].push(run);
        }
    }

    println!(
        "\n{:<32} {:>9} {:>9} {:>9} {:>9} {:>14}",
        "job", "cpu min", "cpu med", "wall min", "wall med", "cpu med/path"
    );
    // External programs are not asked how many paths they printed: they
    // go through the same file as the readers here.
    let paths = runs.iter().flatten().map(|r| r.routes).max().unwrap_or(0);
    for ((name, ..), r) in jobs.iter().zip(&runs) {
        let mut cpu: Vec<f64> = r.iter().map(|r| r.cpu).collect();
        let mut wall: Vec<f64> = r.iter().map(|r| r.wall).collect();
        let routes = match r.first().map_or(0, |r| r.routes) {
            0 => paths,
            n => n,
        };
        let (cmin, cmed) = (
            cpu.iter().copied().fold(f64::INFINITY, f64::min),
            median(&mut cpu),
        );
        let (wmin, wmed) = (
            wall.iter().copied().fold(f64::INFINITY, f64::min),
            median(&mut wall),
        );
        println!(
            "{name:<32} {cmin:8.3}s {cmed:8.3}s {wmin:8.3}s {wmed:8.3}s {:11.1} ns",
            cmed * 1e9 / routes.max(1) as f64
        );
    }
}
