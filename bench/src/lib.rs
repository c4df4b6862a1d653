//! `ribbit-bench`: the full-table benchmark harness (not a test).
//!
//! `tablegen` writes the input table as MRT; `inject` and `monitor` are the
//! two ends of a measurement; `full-table` runs them both in one process
//! (one clock) around each target daemon and prints the results as a
//! markdown table. Method: shared/design/benchmarks.md; how to run:
//! bench/README.md.

pub mod driver;
pub mod gen;
pub mod inject;
pub mod monitor;
pub mod rng;
pub mod session;
pub mod targets;
