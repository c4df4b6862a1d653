//! The harness still works: a small table through the floor (injector
//! straight into the monitor) on loopback, in well under a second.

use std::path::PathBuf;
use std::time::Duration;

use ribbit_bench::driver::{run, RunSpec, TempDir};
use ribbit_bench::gen::{write_table, TableSpec};
use ribbit_bench::inject::prepare;
use ribbit_bench::targets::{Kind, Plan};
use ribbit_wire::EncodeContext;

#[test]
fn floor_run_delivers_every_prefix() {
    let spec = TableSpec {
        prefixes: 5_000,
        ..TableSpec::default()
    };
    let mut table = Vec::new();
    write_table(&spec, &mut table).unwrap();
    let prepared = prepare(table.as_slice(), EncodeContext::default()).unwrap();
    assert_eq!(prepared.prefixes, 5_000);
    assert_eq!(prepared.peers[0].sets, 1_500);
    let plan = Plan {
        // Not the default port, so that a benchmark running meanwhile is not disturbed.
        port: 11_989,
        injectors: prepared.peers.iter().map(|p| (p.address, p.asn)).collect(),
        route_server: false,
        ribbit_bin: PathBuf::new(),
    };
    let dir = TempDir::new("smoke").unwrap();
    let r = run(&RunSpec {
        kind: Kind::Floor,
        plan: &plan,
        loads: &prepared.peers,
        expected: prepared.prefixes,
        timeout: Duration::from_secs(20),
        dir: &dir.0,
        churn: false,
    });
    assert_eq!(r.error, None);
    assert_eq!(r.held, 5_000);
    assert!(r.complete.is_some());
    // Every UPDATE plus End-of-RIB arrived.
    assert_eq!(r.updates, prepared.peers[0].update_count as u64 + 1);
}
