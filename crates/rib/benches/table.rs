//! The RIB end to end on part of a synthetic full table: decoding and
//! applying the UPDATEs of one neighbor, then producing the UPDATEs for
//! one monitor. Throughput is per prefix. The whole table, with memory per
//! path, is `tests/full_table.rs`.

// criterion's macros generate public functions without documentation.
#![allow(missing_docs)]

#[path = "support/gen.rs"]
mod gen;

use std::net::{IpAddr, Ipv4Addr};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ribbit_rib::{PeerConfig, PeerId, Rib, RibOptions, SessionInfo};
use ribbit_wire::update::Update;
use ribbit_wire::{DecodeContext, EncodeContext, Family, HEADER_LEN};

fn session(id: u8) -> SessionInfo {
    SessionInfo {
        router_id: Ipv4Addr::new(10, 0, 1, id),
        families: vec![Family::IPV4_UNICAST],
        encode: EncodeContext::default(),
        local_v4: Some(Ipv4Addr::new(192, 0, 2, 254)),
        local_v6: None,
        llgr: false,
        graceful_restart: None,
    }
}

fn setup() -> (Rib, PeerId, PeerId) {
    let mut rib = Rib::new(RibOptions::new(65000, Ipv4Addr::new(10, 0, 0, 1)));
    let src = rib.add_peer(PeerConfig::new(
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        65001,
        65000,
    ));
    let mon = rib.add_peer(PeerConfig::new(
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)),
        65002,
        65000,
    ));
    rib.peer_up(src, session(1));
    rib.peer_up(mon, session(2));
    (rib, src, mon)
}

fn table(c: &mut Criterion) {
    let n = 100_000;
    let t = gen::full_table(n, 65001, Ipv4Addr::new(192, 0, 2, 1));
    assert_eq!(t.prefixes, n);
    assert!(t.sets > n / 4);
    let ctx = DecodeContext::default();
    let mut g = c.benchmark_group("rib");
    g.sample_size(10);
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("apply_and_send_100k", |b| {
        b.iter_batched(
            setup,
            |(mut rib, src, mon)| {
                let mut u = Update::default();
                let mut out = Vec::new();
                for chunk in t.updates.chunks(1000) {
                    for m in chunk {
                        u.decode_into(&m[HEADER_LEN..], &ctx).unwrap();
                        rib.apply_update(src, &u);
                    }
                    while rib.has_pending(mon) {
                        out.clear();
                        rib.take_messages(mon, 256 * 1024, &mut out);
                    }
                }
                rib
            },
            criterion::BatchSize::PerIteration,
        )
    });
    g.bench_function("apply_only_100k", |b| {
        b.iter_batched(
            setup,
            |(mut rib, src, _)| {
                let mut u = Update::default();
                for m in &t.updates {
                    u.decode_into(&m[HEADER_LEN..], &ctx).unwrap();
                    rib.apply_update(src, &u);
                }
                rib
            },
            criterion::BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, table);
criterion_main!(benches);
