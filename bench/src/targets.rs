//! The daemons under test: a configuration generator and a start command
//! for each, and the measurements taken from /proc.
//!
//! Every target listens on 127.0.9.1 (AS 65100) and is passive: the
//! monitor (127.0.9.3, AS 65200) and the injectors (127.0.9.10 and up, AS
//! 65010 and up) connect to it, so no daemon's connect timer is measured.
//! Each is a plain eBGP router passing everything on; with `route_server`
//! every neighbor is a route-server client (no AS prepended, RFC 7947).
//! Recipes: shared/design/interop-lab.md.

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// The target's address.
pub const TARGET: Ipv4Addr = Ipv4Addr::new(127, 0, 9, 1);
/// The target's AS.
pub const TARGET_AS: u32 = 65100;
/// The monitor's address.
pub const MONITOR: Ipv4Addr = Ipv4Addr::new(127, 0, 9, 3);
/// The monitor's AS.
pub const MONITOR_AS: u32 = 65200;

/// A daemon under test, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// No target: the injector sends straight to the monitor.
    Floor,
    /// Ribbit (`ribbit run`).
    Ribbit,
    /// BIRD 2.
    Bird,
    /// GoBGP (gobgpd).
    Gobgp,
    /// FRR bgpd alone (no zebra).
    Frr,
    /// OpenBGPD.
    Openbgpd,
}

impl Kind {
    /// Parse a name as given on the command line.
    pub fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "floor" => Kind::Floor,
            "ribbit" => Kind::Ribbit,
            "bird" => Kind::Bird,
            "gobgp" => Kind::Gobgp,
            "frr" => Kind::Frr,
            "openbgpd" => Kind::Openbgpd,
            _ => return None,
        })
    }

    /// The name on the command line and in the results.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Floor => "floor",
            Kind::Ribbit => "ribbit",
            Kind::Bird => "bird",
            Kind::Gobgp => "gobgp",
            Kind::Frr => "frr",
            Kind::Openbgpd => "openbgpd",
        }
    }
}

/// Who takes part in a run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The target's BGP port.
    pub port: u16,
    /// The injectors: address and AS.
    pub injectors: Vec<(IpAddr, u32)>,
    /// Route-server mode.
    pub route_server: bool,
    /// The Ribbit binary.
    pub ribbit_bin: PathBuf,
}

/// Write the target's configuration into `dir`; returns its path.
pub fn write_config(kind: Kind, plan: &Plan, dir: &Path) -> io::Result<PathBuf> {
    let mut neighbors: Vec<(IpAddr, u32)> = plan.injectors.clone();
    neighbors.push((IpAddr::V4(MONITOR), MONITOR_AS));
    let port = plan.port;
    let mut c = String::new();
    let file = match kind {
        Kind::Floor => return Ok(dir.to_path_buf()),
        Kind::Ribbit => {
            // Route server: every neighbor a route server client (RFC 7947).
            let rs = if plan.route_server {
                "\nroute-server-client = true"
            } else {
                ""
            };
            let _ = writeln!(
                c,
                "[global]\nasn = {TARGET_AS}\nrouter-id = \"{TARGET}\"\nlisten = [\"{TARGET}:{port}\"]"
            );
            for (addr, asn) in &neighbors {
                let _ = writeln!(
                    c,
                    "\n[[neighbor]]\naddress = \"{addr}\"\nasn = {asn}\npassive = true\nlocal-address = \"{TARGET}\"{rs}"
                );
            }
            "ribbit.toml"
        }
        Kind::Bird => {
            let rs = if plan.route_server {
                "  rs client;\n"
            } else {
                ""
            };
            let _ = writeln!(
                c,
                "log \"bird.log\" {{ warning, error, fatal }};\nrouter id {TARGET};\nprotocol device {{ }}\n\
                 template bgp bench {{\n  local {TARGET} port {port} as {TARGET_AS};\n  strict bind yes;\n  \
                 multihop;\n  passive on;\n{rs}  ipv4 {{ import all; export all; }};\n}}"
            );
            for (i, (addr, asn)) in neighbors.iter().enumerate() {
                let _ = writeln!(
                    c,
                    "protocol bgp n{i} from bench {{ neighbor {addr} as {asn}; }}"
                );
            }
            "bird.conf"
        }
        Kind::Gobgp => {
            let _ = writeln!(
                c,
                "[global.config]\n  as = {TARGET_AS}\n  router-id = \"{TARGET}\"\n  port = {port}\n  \
                 local-address-list = [\"{TARGET}\"]"
            );
            for (addr, asn) in &neighbors {
                let _ = writeln!(
                    c,
                    "[[neighbors]]\n  [neighbors.config]\n    neighbor-address = \"{addr}\"\n    peer-as = {asn}\n  \
                     [neighbors.transport.config]\n    passive-mode = true\n    local-address = \"{TARGET}\""
                );
                if plan.route_server {
                    let _ = writeln!(
                        c,
                        "  [neighbors.route-server.config]\n    route-server-client = true"
                    );
                }
                let _ = writeln!(
                    c,
                    "  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = \"ipv4-unicast\""
                );
            }
            "gobgpd.toml"
        }
        Kind::Frr => {
            // No trailing comments: FRR refuses them (interop-lab trap F3).
            let _ = writeln!(
                c,
                "frr defaults traditional\nhostname bench\nlog stdout warnings\n!\nrouter bgp {TARGET_AS}\n \
                 bgp router-id {TARGET}\n no bgp ebgp-requires-policy\n no bgp network import-check"
            );
            for (addr, asn) in &neighbors {
                let _ = writeln!(
                    c,
                    " neighbor {addr} remote-as {asn}\n neighbor {addr} passive\n neighbor {addr} advertisement-interval 0"
                );
            }
            let _ = writeln!(c, " address-family ipv4 unicast");
            for (addr, _) in &neighbors {
                let _ = writeln!(c, "  neighbor {addr} activate");
                if plan.route_server {
                    let _ = writeln!(c, "  neighbor {addr} route-server-client");
                }
            }
            let _ = writeln!(c, " exit-address-family\n!");
            "frr.conf"
        }
        Kind::Openbgpd => {
            let _ = writeln!(
                c,
                "AS {TARGET_AS}\nrouter-id {TARGET}\nlisten on {TARGET} port {port}\nfib-update no\nsocket \"bgpd.sock\""
            );
            for (addr, asn) in &neighbors {
                let rs = if plan.route_server {
                    "\n\ttransparent-as yes"
                } else {
                    ""
                };
                let _ = writeln!(
                    c,
                    "neighbor {addr} {{\n\tremote-as {asn}\n\tpassive{rs}\n}}"
                );
            }
            let _ = writeln!(c, "allow from any\nallow to any");
            "bgpd.conf"
        }
    };
    let path = dir.join(file);
    fs::write(&path, c)?;
    Ok(path)
}

/// FRR's bgpd is not on PATH (the `bgpd` there is OpenBGPD's).
const FRR_BGPD: &str = "/usr/lib/frr/bgpd";

/// The command that starts the target in the foreground from `dir`.
pub fn command(kind: Kind, plan: &Plan, config: &Path, dir: &Path) -> Option<Command> {
    let mut cmd = match kind {
        Kind::Floor => return None,
        Kind::Ribbit => {
            let mut c = Command::new(&plan.ribbit_bin);
            c.arg("run")
                .arg("--config")
                .arg(config)
                .env("RIBBIT_LOG", "warn");
            c
        }
        Kind::Bird => {
            let mut c = Command::new("bird");
            c.arg("-f")
                .arg("-c")
                .arg(config)
                .arg("-s")
                .arg(dir.join("bird.ctl"));
            c
        }
        Kind::Gobgp => {
            let mut c = Command::new("gobgpd");
            c.arg("-f")
                .arg(config)
                .arg("-p")
                .arg("-l")
                .arg("warn")
                .arg(format!(
                    "--api-hosts={TARGET}:{}",
                    plan.port.wrapping_add(1)
                ))
                .arg("--pprof-disable");
            c
        }
        Kind::Frr => {
            let vty = dir.join("vty");
            let _ = fs::create_dir_all(&vty);
            let mut c = Command::new(FRR_BGPD);
            c.arg("-f")
                .arg(config)
                .args(["-Z", "-S", "-l"])
                .arg(TARGET.to_string())
                .arg("-p")
                .arg(plan.port.to_string())
                .args(["-P", "0", "-i"])
                .arg(dir.join("bgpd.pid"))
                .arg("--vty_socket")
                .arg(vty);
            c
        }
        Kind::Openbgpd => {
            let mut c = Command::new("bgpd");
            c.arg("-d").arg("-f").arg(config);
            c
        }
    };
    cmd.current_dir(dir);
    Some(cmd)
}

/// The version of the target's package (Debian), or of Ribbit.
pub fn version(kind: Kind, plan: &Plan) -> String {
    let package = match kind {
        Kind::Floor => return "-".into(),
        Kind::Ribbit => {
            return Command::new(&plan.ribbit_bin)
                .arg("--version")
                .output()
                .ok()
                .and_then(|o| String::from_utf8(o.stdout).ok())
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "ribbit (version unknown)".into())
        }
        Kind::Bird => "bird2",
        Kind::Gobgp => "gobgpd",
        Kind::Frr => "frr",
        Kind::Openbgpd => "openbgpd",
    };
    Command::new("dpkg-query")
        .args(["-W", "-f", "${Version}", package])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|v| format!("{package} {v}"))
        .unwrap_or_else(|| format!("{package} (version unknown)"))
}

/// A target process started by the harness.
#[derive(Debug)]
pub struct Running {
    child: Child,
}

/// Peak memory and CPU time of a process tree.
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    /// Sum of VmHWM over the processes, in KiB.
    pub hwm_kib: u64,
    /// Sum of user and system CPU time, in seconds (children reaped included).
    pub cpu_seconds: f64,
    /// Processes counted.
    pub processes: usize,
}

impl Running {
    /// Start `cmd` with its output into `dir/target.log`.
    pub fn start(mut cmd: Command, dir: &Path) -> io::Result<Running> {
        let log = fs::File::create(dir.join("target.log"))?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        Ok(Running { child })
    }

    /// The process ID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether it exited already (a broken configuration).
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Peak memory and CPU of the process and its descendants, now.
    pub fn usage(&self) -> Usage {
        tree_usage(self.pid())
    }

    /// Stop the process tree: SIGTERM to the process, then to any
    /// descendant left, SIGKILL after 15 s. Only these PIDs are signalled.
    pub fn stop(mut self) {
        let family = tree(self.pid());
        signal(self.pid(), "TERM");
        let deadline = Instant::now() + Duration::from_secs(15);
        while self.exited().is_none() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(50));
        }
        if self.exited().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        // Children that outlived their parent (none expected: OpenBGPD's
        // exit with it).
        for pid in family.into_iter().skip(1) {
            if Path::new(&format!("/proc/{pid}")).exists() {
                signal(pid, "KILL");
            }
        }
    }
}

/// Peak memory and CPU of the process `root` and its descendants, now.
pub fn tree_usage(root: u32) -> Usage {
    usage_of(&tree(root))
}

/// Peak memory and CPU of the process `pid` alone (with the children it
/// reaped), now.
pub fn process_usage(pid: u32) -> Usage {
    usage_of(&[pid])
}

fn usage_of(pids: &[u32]) -> Usage {
    let tick = clock_ticks();
    let mut u = Usage::default();
    for &pid in pids {
        let Some((hwm, ticks)) = proc_usage(pid) else {
            continue;
        };
        u.hwm_kib += hwm;
        u.cpu_seconds += ticks as f64 / tick;
        u.processes += 1;
    }
    u
}

fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .stderr(Stdio::null())
        .status();
}

fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// The fields of /proc/PID/stat after the command name.
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 1..];
    Some(rest.split_whitespace().map(str::to_string).collect())
}

/// VmHWM (KiB) and utime+stime+cutime+cstime (ticks) of one process.
fn proc_usage(pid: u32) -> Option<(u64, u64)> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let hwm = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    let f = stat_fields(pid)?;
    // Fields 14 to 17 of stat(5), counted from field 3 (the state).
    let ticks = (11..=14)
        .filter_map(|i| f.get(i).and_then(|v| v.parse::<u64>().ok()))
        .sum();
    Some((hwm, ticks))
}

/// `root` and all its descendants, root first.
fn tree(root: u32) -> Vec<u32> {
    let mut parent_of: Vec<(u32, u32)> = Vec::new();
    if let Ok(entries) = fs::read_dir("/proc") {
        for e in entries.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            if let Some(ppid) = stat_fields(pid).and_then(|f| f.get(1).and_then(|p| p.parse().ok()))
            {
                parent_of.push((pid, ppid));
            }
        }
    }
    let mut out = vec![root];
    let mut i = 0;
    while i < out.len() {
        let p = out[i];
        out.extend(parent_of.iter().filter(|(_, pp)| *pp == p).map(|(c, _)| *c));
        i += 1;
    }
    out
}
