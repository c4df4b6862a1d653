//! Send a table dump to a BGP speaker as fast as it reads.
//!
//! `inject --mrt table.mrt --to 127.0.9.1:11979 [--peer 0] [--local 127.0.9.10] [--asn N]`
//!
//! Reads the dump, builds and encodes every UPDATE of one peer of the dump
//! before connecting, connects (active side), sends them, then End-of-RIB,
//! and keeps the session up with KEEPALIVEs until interrupted. Prints the
//! instant of the first UPDATE written (seconds since the Unix epoch) and
//! how long the writing took.

use std::fs::File;
use std::io::BufReader;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;
use ribbit_bench::inject;
use ribbit_bench::session::{self, Session, Speaker};
use ribbit_wire::EncodeContext;

/// Inject a table dump into a BGP session.
#[derive(Debug, Parser)]
struct Args {
    /// The MRT TABLE_DUMP_V2 file (gzip and bzip2 read as well).
    #[arg(long)]
    mrt: std::path::PathBuf,
    /// Where to connect.
    #[arg(long)]
    to: SocketAddr,
    /// Which peer of the dump to send (index in its PEER_INDEX_TABLE).
    #[arg(long, default_value_t = 0)]
    peer: usize,
    /// Local address (default: the peer's address in the dump).
    #[arg(long)]
    local: Option<IpAddr>,
    /// Our AS (default: the peer's AS in the dump).
    #[arg(long)]
    asn: Option<u32>,
    /// Our BGP identifier (default: the peer's in the dump).
    #[arg(long)]
    router_id: Option<Ipv4Addr>,
    /// Close the session this long after End-of-RIB (default: never).
    #[arg(long)]
    hold_for: Option<u64>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a = Args::parse();
    let t = Instant::now();
    let prepared = inject::prepare(
        BufReader::new(File::open(&a.mrt)?),
        EncodeContext::default(),
    )?;
    let load = prepared
        .peers
        .get(a.peer)
        .ok_or("no such peer in the dump")?
        .clone();
    eprintln!(
        "prepared {} UPDATEs ({} bytes) for {} prefixes in {} attribute sets in {:.2} s",
        load.update_count,
        load.updates.len(),
        load.prefixes,
        load.sets,
        t.elapsed().as_secs_f64()
    );
    let local = a.local.unwrap_or(load.address);
    let stream = session::connect(local, a.to, Duration::from_secs(60))?;
    let me = Speaker {
        asn: a.asn.unwrap_or(load.asn),
        router_id: a.router_id.unwrap_or(load.router_id),
        hold_time: 240,
    };
    let sess = Session::establish(stream, &me, &load.families)?;
    let closer = sess.closer()?;
    let Session { writer, reader, .. } = sess;
    let drain = inject::drain(reader);
    let first = inject::send(&writer, &load, |_| {})?;
    let wall =
        SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs_f64() - first.elapsed().as_secs_f64();
    println!("first UPDATE written at {wall:.6}");
    println!(
        "all {} UPDATEs and End-of-RIB written after {:.3} s",
        load.update_count,
        first.elapsed().as_secs_f64()
    );
    match a.hold_for {
        Some(s) => {
            thread::sleep(Duration::from_secs(s));
            closer.close();
        }
        None => {
            let received = drain.join().unwrap_or(0);
            eprintln!("session closed by the peer ({received} bytes received)");
            return Ok(());
        }
    }
    let _ = drain.join();
    Ok(())
}
