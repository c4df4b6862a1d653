//! Daemon processes: a temporary directory per test, finding the binaries,
//! starting a daemon in the foreground with its output in a file, running its
//! command line client with a time limit, and stopping it by its PID.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Mutex, Once};
use std::time::{Duration, Instant};

/// How long a daemon has to exit after SIGTERM before it gets SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// How long a command line client may take.
const CLI_TIMEOUT: Duration = Duration::from_secs(10);
/// How many lines of each log are printed when a test fails.
const LOG_TAIL: usize = 200;

/// The working directory of one test: configs, sockets, logs. Removed at
/// the end of a test that passed, kept (and named) when it failed.
pub struct Lab {
    dir: PathBuf,
}

impl Lab {
    /// A fresh directory for the test `name`; also sends Ribbit's logs to
    /// the test's output (shown when it fails; level from `RIBBIT_LOG`).
    pub fn new(name: &str) -> Lab {
        init_tracing();
        let dir =
            std::env::temp_dir().join(format!("ribbit-interop-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        Lab { dir }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A path in the directory.
    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }

    /// Write a file in the directory and return its path.
    pub fn write(&self, file: &str, contents: &str) -> PathBuf {
        let path = self.path(file);
        fs::write(&path, contents)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        path
    }

    /// Write an executable script in the directory.
    pub fn write_executable(&self, file: &str, contents: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = self.write(file, contents);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755))
            .unwrap_or_else(|e| panic!("cannot chmod {}: {e}", path.display()));
        path
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "interop: files of the failed test kept in {}",
                self.dir.display()
            );
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

fn init_tracing() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let filter = tracing_subscriber::EnvFilter::try_from_env("RIBBIT_LOG")
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(false)
            .with_test_writer()
            .try_init();
    });
}

/// The path of an installed program, searched in `PATH` and the sbin
/// directories. A missing program fails the test: the interop tests must
/// never pass by skipping.
pub fn find_binary(name: &str, package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs = std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/local/sbin"].map(PathBuf::from));
    for dir in dirs {
        let candidate = dir.join(name);
        if candidate.is_file() {
            return candidate;
        }
    }
    missing(name, package)
}

/// FRR's bgpd, which is not on `PATH` (the `bgpd` there is OpenBGPD's).
pub fn frr_bgpd() -> PathBuf {
    let listed = Command::new("dpkg").args(["-L", "frr"]).output();
    if let Ok(out) = listed {
        let text = String::from_utf8_lossy(&out.stdout);
        if let Some(line) = text.lines().find(|l| l.ends_with("/bgpd")) {
            let path = PathBuf::from(line.trim());
            if path.is_file() {
                return path;
            }
        }
    }
    missing("FRR bgpd", "frr")
}

fn missing(name: &str, package: &str) -> ! {
    panic!(
        "{name} is not installed (Debian package `{package}`). The interop tests need the real \
         daemons: run ./scripts/test as root, which installs them (or \
         `apt-get install bird2 gobgpd frr openbgpd exabgp`)."
    )
}

/// A daemon started by a test, stopped by its PID when dropped (so also when
/// the test fails), after which its logs are printed if the test failed.
pub struct Daemon {
    name: String,
    child: Mutex<Child>,
    pid: u32,
    logs: Vec<PathBuf>,
    stopped: bool,
}

impl Daemon {
    /// Start `command` in the foreground from the lab directory, with its
    /// stdout and stderr in `<name>.out` there. `logs` are further log files
    /// (relative to the lab directory) to print if the test fails.
    pub fn spawn(name: &str, lab: &Lab, mut command: Command, logs: &[&str]) -> Daemon {
        let out_path = lab.path(&format!("{name}.out"));
        let out = fs::File::create(&out_path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", out_path.display()));
        let err = out
            .try_clone()
            .unwrap_or_else(|e| panic!("cannot duplicate a file handle: {e}"));
        command
            .current_dir(lab.dir())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} ({command:?}): {e}"));
        let pid = child.id();
        let mut all_logs = vec![out_path];
        all_logs.extend(logs.iter().map(|l| lab.path(l)));
        Daemon {
            name: name.to_string(),
            child: Mutex::new(child),
            pid,
            logs: all_logs,
            stopped: false,
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// `Err` with the exit status if the daemon is no longer running.
    pub fn check_running(&self) -> Result<(), String> {
        let mut child = self.child.lock().unwrap_or_else(|e| e.into_inner());
        match child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(format!("{} (pid {}) exited: {status}", self.name, self.pid)),
            Err(e) => Err(format!("{} (pid {}): {e}", self.name, self.pid)),
        }
    }

    /// Everything the daemon logged so far, all log files together.
    pub fn log_text(&self) -> String {
        let mut text = String::new();
        for path in &self.logs {
            if let Ok(t) = fs::read_to_string(path) {
                text.push_str(&t);
            }
        }
        text
    }

    /// Stop the daemon: SIGTERM to its PID, SIGKILL if it is still there
    /// after a grace period, and wait until it is gone. Returns how long it
    /// took. The daemons here exit in about 2 s on SIGTERM.
    pub fn stop(&mut self) -> Duration {
        let start = Instant::now();
        if self.stopped {
            return Duration::ZERO;
        }
        self.stopped = true;
        let child = self.child.get_mut().unwrap_or_else(|e| e.into_inner());
        // The child is not reaped before the wait below, so its PID cannot
        // have been reused by another process.
        if matches!(child.try_wait(), Ok(None)) {
            signal(self.pid, "TERM");
            while start.elapsed() < STOP_GRACE {
                if !matches!(child.try_wait(), Ok(None)) {
                    return start.elapsed();
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            eprintln!(
                "interop: {} (pid {}) ignored SIGTERM for {STOP_GRACE:?}; SIGKILL",
                self.name, self.pid
            );
            let _ = child.kill();
        }
        let _ = child.wait();
        start.elapsed()
    }

    fn dump_logs(&self) {
        for path in &self.logs {
            let Ok(text) = fs::read_to_string(path) else {
                eprintln!("---- {} log {}: not found", self.name, path.display());
                continue;
            };
            let lines: Vec<&str> = text.lines().collect();
            let from = lines.len().saturating_sub(LOG_TAIL);
            eprintln!(
                "---- {} (pid {}) log {} (last {} of {} lines)",
                self.name,
                self.pid,
                path.display(),
                lines.len() - from,
                lines.len()
            );
            for line in &lines[from..] {
                eprintln!("{line}");
            }
        }
        eprintln!("---- end of {} logs", self.name);
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() {
            self.dump_logs();
        }
    }
}

/// Send a signal with kill(1) (the crate forbids the `unsafe` of libc::kill).
fn signal(pid: u32, sig: &str) {
    let kill = ["/usr/bin/kill", "/bin/kill"]
        .into_iter()
        .find(|p| Path::new(p).is_file())
        .unwrap_or("kill");
    let _ = Command::new(kill)
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Run a command line client to completion (at most 10 s) and return its
/// standard output, or `Err` with the status and standard error.
pub async fn run_cli(
    program: impl AsRef<Path>,
    args: &[&str],
    cwd: &Path,
) -> Result<String, String> {
    let program = program.as_ref().to_path_buf();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let cwd = cwd.to_path_buf();
    tokio::task::spawn_blocking(move || run_blocking(&program, &args, &cwd))
        .await
        .unwrap_or_else(|e| Err(format!("client task failed: {e}")))
}

fn run_blocking(program: &Path, args: &[String], cwd: &Path) -> Result<String, String> {
    let shown = format!("{} {}", program.display(), args.join(" "));
    let child = Command::new(program)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{shown}: cannot start: {e}"))?;
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let output = match rx.recv_timeout(CLI_TIMEOUT) {
        Ok(Ok(o)) => o,
        Ok(Err(e)) => return Err(format!("{shown}: {e}")),
        Err(_) => {
            // Still running, so still our child: the PID is its own.
            signal(pid, "KILL");
            return Err(format!("{shown}: no answer within {CLI_TIMEOUT:?}"));
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if output.status.success() {
        Ok(stdout)
    } else {
        Err(format!(
            "{shown}: {}: {}{}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim(),
            stdout.trim()
        ))
    }
}
