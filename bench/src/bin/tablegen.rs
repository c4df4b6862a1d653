//! Write the benchmark table as MRT TABLE_DUMP_V2.
//!
//! `tablegen --out table.mrt [--prefixes 1050000] [--peers 1] [--seed 1]`

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use ribbit_bench::gen::{write_table, TableSpec};

/// Write a deterministic, realistic IPv4 table as MRT TABLE_DUMP_V2.
#[derive(Debug, Parser)]
struct Args {
    /// Where to write the dump.
    #[arg(long)]
    out: PathBuf,
    /// Unique prefixes.
    #[arg(long, default_value_t = 1_050_000)]
    prefixes: usize,
    /// Peers (each a different view of the same prefixes).
    #[arg(long, default_value_t = 1)]
    peers: usize,
    /// Distinct attribute sets per prefix.
    #[arg(long, default_value_t = 0.3)]
    distinct_ratio: f64,
    /// The seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a = Args::parse();
    let spec = TableSpec {
        prefixes: a.prefixes,
        peers: a.peers,
        distinct_ratio: a.distinct_ratio,
        seed: a.seed,
    };
    let t = Instant::now();
    let stats = write_table(&spec, BufWriter::new(File::create(&a.out)?))?;
    eprintln!(
        "{}: {} prefixes ({:.1} % /24), {} peer(s), {} attribute sets per peer, mean AS path {:.2} hops, in {:.1} s",
        a.out.display(),
        stats.prefixes,
        100.0 * stats.slash24 as f64 / stats.prefixes.max(1) as f64,
        stats.peers,
        stats.sets,
        stats.mean_path_len,
        t.elapsed().as_secs_f64()
    );
    Ok(())
}
