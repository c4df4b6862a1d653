//! The RIB end to end on part of a synthetic full table: decoding and
//! applying the UPDATEs of one neighbor, then producing the UPDATEs for
//! one monitor. Throughput is per prefix. `apply_only_1m` applies a whole
//! table, where the index is spread over radix slots and every lookup
//! misses the caches. The whole table with memory per path is
//! `tests/full_table.rs`.

// criterion's macros generate public functions without documentation.
#![allow(missing_docs)]

#[path = "support/gen.rs"]
mod gen;
#[path = "support/peers.rs"]
mod peers;

use std::net::Ipv4Addr;

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
use ribbit_rib::{ExportMemo, PeerId, Rib};
use ribbit_wire::update::Update;
use ribbit_wire::{DecodeContext, HEADER_LEN};

/// Decode and apply `updates` from `src` as the speaker's RIB task does:
/// UPDATEs come in bursts, the table warmed for 32 at a time.
fn apply(rib: &mut Rib, src: PeerId, updates: &[Vec<u8>], ctx: &DecodeContext) {
    let mut group: Vec<Update> = Vec::new();
    for ms in updates.chunks(32) {
        group.resize_with(ms.len(), Update::default);
        for (u, m) in group.iter_mut().zip(ms) {
            u.decode_into(&m[HEADER_LEN..], ctx).unwrap();
        }
        rib.warm(group.iter());
        for u in &group {
            rib.apply_update(src, u);
        }
    }
}

/// A benchmark of applying `updates` alone, no message produced.
fn apply_only(
    g: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    updates: &[Vec<u8>],
    ctx: &DecodeContext,
) {
    g.bench_function(name, |b| {
        b.iter_batched(
            peers::source_and_monitor,
            |(mut rib, src, _)| {
                apply(&mut rib, src, updates, ctx);
                rib
            },
            criterion::BatchSize::PerIteration,
        )
    });
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
            peers::source_and_monitor,
            |(mut rib, src, mon)| {
                let mut out = Vec::new();
                for chunk in t.updates.chunks(1000) {
                    apply(&mut rib, src, chunk, &ctx);
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
    apply_only(&mut g, "apply_only_100k", &t.updates, &ctx);
    g.finish();

    let n = 1_050_000;
    let t = gen::full_table(n, 65001, Ipv4Addr::new(192, 0, 2, 1));
    let mut g = c.benchmark_group("rib");
    g.sample_size(10);
    g.throughput(Throughput::Elements(n as u64));
    apply_only(&mut g, "apply_only_1m", &t.updates, &ctx);
    g.bench_function("apply_and_send_1m", |b| {
        b.iter_batched(
            peers::source_and_monitor,
            |(mut rib, src, mon)| {
                apply_and_send(&mut rib, src, mon, &t.updates, &ctx);
                rib
            },
            criterion::BatchSize::PerIteration,
        )
    });
    g.finish();
}

/// The RIB task's loop over a whole table: bursts of 512 UPDATEs applied,
/// then a round of at most 256 KiB of messages for the monitor (which
/// takes them at once), the export results shared through one memo kept
/// from round to round.
fn apply_and_send(
    rib: &mut Rib,
    src: PeerId,
    mon: PeerId,
    updates: &[Vec<u8>],
    ctx: &DecodeContext,
) {
    let mut memo = ExportMemo::default();
    let mut out = Vec::new();
    for burst in updates.chunks(512) {
        apply(rib, src, burst, ctx);
        out.clear();
        rib.take_round(&mut memo, mon, 256 * 1024, &mut out);
        memo.clear();
    }
    while rib.has_pending(mon) {
        out.clear();
        rib.take_round(&mut memo, mon, 256 * 1024, &mut out);
        memo.clear();
    }
}

criterion_group!(benches, table);
criterion_main!(benches);
