//! Decode and encode cost of UPDATEs carrying 1, 100 and 1,000 IPv4
//! prefixes that share one attribute set. Throughput is per prefix, so
//! criterion's "time per element" reads as ns per prefix.

// criterion's macros generate public functions without documentation.
#![allow(missing_docs)]

use std::hint::black_box;
use std::net::Ipv4Addr;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ribbit_wire::attribute::{AsPath, Community, Origin, PathAttributes};
use ribbit_wire::nlri::{NlriList, PrefixNlri};
use ribbit_wire::update::Update;
use ribbit_wire::{DecodeContext, EncodeContext, Family, NextHop, UpdatePacker, HEADER_LEN};

/// A typical Internet route's attributes: four-hop path, MED, two communities.
fn attributes() -> PathAttributes {
    PathAttributes {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath::sequence(vec![64500, 3356, 1299, 64511])),
        med: Some(10),
        communities: vec![Community::new(3356, 2), Community::new(64500, 100)],
        ..PathAttributes::default()
    }
}

/// `n` prefixes with the real table's mix of lengths: mostly /24, some /16-/23.
fn prefixes(n: u32) -> NlriList {
    NlriList::Prefixes(
        (0..n)
            .map(|i| {
                let len = if i % 5 == 0 { 16 + (i % 8) as u8 } else { 24 };
                let addr = Ipv4Addr::from(0x0b00_0000u32 + (i << 8));
                PrefixNlri {
                    path_id: None,
                    prefix: ipnet::Ipv4Net::new(addr, len).unwrap().trunc().into(),
                }
            })
            .collect(),
    )
}

/// The body of one UPDATE announcing `n` prefixes (extended messages so
/// that 1,000 prefixes fit in one).
fn update_body(n: u32) -> Vec<u8> {
    let ctx = EncodeContext {
        extended_message: true,
        ..EncodeContext::default()
    };
    let mut out = Vec::new();
    let nh = NextHop::V4(Ipv4Addr::new(192, 0, 2, 1));
    let count = UpdatePacker::new(ctx)
        .announce(
            Family::IPV4_UNICAST,
            &attributes(),
            nh,
            &prefixes(n),
            &mut out,
        )
        .unwrap();
    assert_eq!(count, 1);
    out.split_off(HEADER_LEN)
}

fn decode(c: &mut Criterion) {
    let ctx = DecodeContext {
        extended_message: true,
        ..DecodeContext::default()
    };
    let mut group = c.benchmark_group("decode_update");
    for n in [1u32, 100, 1000] {
        let body = update_body(n);
        group.throughput(Throughput::Elements(u64::from(n)));
        group.bench_with_input(BenchmarkId::from_parameter(n), &body, |b, body| {
            b.iter(|| Update::decode(black_box(body), &ctx).unwrap())
        });
    }
    group.finish();

    // The NLRI alone: withdrawals carry no attributes.
    let mut group = c.benchmark_group("decode_withdrawals");
    for n in [100u32, 1000] {
        let mut out = Vec::new();
        let ext = EncodeContext {
            extended_message: true,
            ..EncodeContext::default()
        };
        UpdatePacker::new(ext)
            .withdraw(Family::IPV4_UNICAST, &prefixes(n), &mut out)
            .unwrap();
        let body = out.split_off(HEADER_LEN);
        group.throughput(Throughput::Elements(u64::from(n)));
        group.bench_with_input(BenchmarkId::from_parameter(n), &body, |b, body| {
            b.iter(|| Update::decode(black_box(body), &ctx).unwrap())
        });
    }
    group.finish();

    // One attribute set, no NLRI: the per-set cost.
    let mut body = Vec::new();
    Update {
        attributes: attributes(),
        ..Update::default()
    }
    .encode_body(&EncodeContext::default(), &mut body);
    c.bench_function("decode_attribute_set", |b| {
        b.iter(|| Update::decode(black_box(&body), &ctx).unwrap())
    });
    // The same into a reused UPDATE, as a session decodes one after another.
    let mut reused = Update::default();
    c.bench_function("decode_into_attribute_set", |b| {
        b.iter(|| {
            reused.decode_into(black_box(&body), &ctx).unwrap();
            black_box(reused.attributes.communities.len())
        })
    });
    let mut group = c.benchmark_group("decode_into_update");
    for n in [100u32, 1000] {
        let body = update_body(n);
        group.throughput(Throughput::Elements(u64::from(n)));
        group.bench_with_input(BenchmarkId::from_parameter(n), &body, |b, body| {
            b.iter(|| {
                reused.decode_into(black_box(body), &ctx).unwrap();
                black_box(reused.announced.len())
            })
        });
    }
    group.finish();
}

fn encode(c: &mut Criterion) {
    let attrs = attributes();
    c.bench_function("encode_attribute_set", |b| {
        let mut out = Vec::with_capacity(256);
        b.iter(|| {
            out.clear();
            black_box(&attrs).encode(true, &mut out);
            out.len()
        })
    });
    let mut group = c.benchmark_group("encode_update");
    let nh = NextHop::V4(Ipv4Addr::new(192, 0, 2, 1));
    for n in [1u32, 100, 1000] {
        let list = prefixes(n);
        let packer = UpdatePacker::new(EncodeContext::default());
        group.throughput(Throughput::Elements(u64::from(n)));
        group.bench_with_input(BenchmarkId::from_parameter(n), &list, |b, list| {
            let mut out = Vec::with_capacity(16 * 1024);
            b.iter(|| {
                out.clear();
                packer
                    .announce(
                        Family::IPV4_UNICAST,
                        black_box(&attrs),
                        nh,
                        black_box(list),
                        &mut out,
                    )
                    .unwrap()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, decode, encode);
criterion_main!(benches);
