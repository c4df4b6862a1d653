//! Receive routes and report when the expected number of prefixes is held.
//!
//! `monitor --expect 1050000 (--listen 127.0.9.3:11979 | --connect 127.0.9.1:11979 --local 127.0.9.3)`

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::Ordering;
use std::thread;
use std::time::{Duration, Instant};

use clap::Parser;
use ribbit_bench::monitor;
use ribbit_bench::session::{self, Session, Speaker};
use ribbit_wire::Family;

/// Count the prefixes a BGP peer sends.
#[derive(Debug, Parser)]
struct Args {
    /// Prefixes that make the table complete.
    #[arg(long)]
    expect: usize,
    /// Wait for the peer on this address (passive).
    #[arg(long, conflicts_with = "connect")]
    listen: Option<SocketAddr>,
    /// Connect to the peer (active).
    #[arg(long)]
    connect: Option<SocketAddr>,
    /// Local address when connecting.
    #[arg(long, default_value = "127.0.9.3")]
    local: IpAddr,
    /// Our AS.
    #[arg(long, default_value_t = 65200)]
    asn: u32,
    /// Our BGP identifier.
    #[arg(long, default_value = "127.0.9.3")]
    router_id: Ipv4Addr,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 300)]
    timeout: u64,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a = Args::parse();
    let stream = match (a.listen, a.connect) {
        (Some(l), _) => session::listen(l)?.accept()?.0,
        (None, Some(c)) => session::connect(a.local, c, Duration::from_secs(60))?,
        (None, None) => return Err("--listen or --connect".into()),
    };
    let me = Speaker {
        asn: a.asn,
        router_id: a.router_id,
        hold_time: 240,
    };
    let sess = Session::establish(stream, &me, &[Family::IPV4_UNICAST])?;
    let closer = sess.closer()?;
    let established = Instant::now();
    let (progress, handle) = monitor::spawn(sess, a.expect, None);
    let deadline = established + Duration::from_secs(a.timeout);
    loop {
        thread::sleep(Duration::from_millis(10));
        if let Some(at) = progress.complete_at.lock().ok().and_then(|c| *c) {
            println!(
                "holding {} prefixes {:.3} s after Established ({} UPDATEs)",
                progress.held.load(Ordering::Relaxed),
                at.duration_since(established).as_secs_f64(),
                progress.updates.load(Ordering::Relaxed)
            );
            break;
        }
        if let Some(e) = progress.ended.lock().ok().and_then(|e| e.clone()) {
            return Err(format!("session ended: {e}").into());
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "timeout: {} of {} prefixes held",
                progress.held.load(Ordering::Relaxed),
                a.expect
            )
            .into());
        }
    }
    closer.close();
    let _ = handle.join();
    Ok(())
}
