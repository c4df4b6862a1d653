//! What the interop tests share: real BGP daemons started as child processes
//! in a temporary directory and stopped by their PID (also when a test fails),
//! bounded waits, and Ribbit in-process with the routes every test announces.
//!
//! Each `tests/interop_<daemon>.rs` is its own test binary and uses a part of
//! this module, hence the `dead_code` allowance.

#![allow(dead_code)]

pub mod daemon;
pub mod ribbit;
pub mod scenario;

use std::fmt::Display;
use std::future::Future;
use std::time::{Duration, Instant};

#[allow(unused_imports)]
pub use daemon::{find_binary, frr_bgpd, run_cli, Daemon, Lab};
#[allow(unused_imports)]
pub use ribbit::{
    announced, expect_cease, expect_peer_route, Ribbit, RibbitSide, SeenRoute, RIBBIT_V4,
    RIBBIT_V4_NEXT_HOP, RIBBIT_V6, RIBBIT_V6_NEXT_HOP,
};

/// How long a session may take to come up. GoBGP waits a random 5 to 10 s
/// before its first connection; everything else takes about a second.
pub const ESTABLISHED: Duration = Duration::from_secs(30);
/// How long routes, refreshes and notifications may take to show.
pub const PROPAGATE: Duration = Duration::from_secs(10);
/// How often a condition is polled.
const POLL: Duration = Duration::from_millis(100);

/// Wait until `check` returns `Ok`, polling every 100 ms, for at most
/// `timeout`. On timeout the test fails with `what` and the last `Err`
/// (what was seen instead).
pub async fn eventually<T, E, F, Fut>(what: impl Display, timeout: Duration, mut check: F) -> T
where
    E: Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let start = Instant::now();
    loop {
        let last = match check().await {
            Ok(v) => return v,
            Err(e) => e,
        };
        if start.elapsed() >= timeout {
            panic!("timed out after {timeout:?} waiting for {what}; last seen: {last}");
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Prints how long each step of a test took (shown with `--nocapture`, and
/// with the output of a failed test).
pub struct Steps {
    name: &'static str,
    start: Instant,
    last: Instant,
}

impl Steps {
    /// Start timing the test `name`.
    pub fn new(name: &'static str) -> Steps {
        let now = Instant::now();
        Steps {
            name,
            start: now,
            last: now,
        }
    }

    /// One step done.
    pub fn done(&mut self, what: &str) {
        let now = Instant::now();
        eprintln!(
            "interop {}: {what} ({:.2} s; {:.2} s since start)",
            self.name,
            (now - self.last).as_secs_f64(),
            (now - self.start).as_secs_f64()
        );
        self.last = now;
    }
}
