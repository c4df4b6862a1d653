//! A full table through the RIB: 1,050,000 IPv4 prefixes with about
//! 315,000 distinct attribute sets from one eBGP neighbor, sent on to one
//! eBGP monitor. Prints resident memory per path and time per prefix.
//! Run with `cargo test --release -p ribbit-rib --test full_table -- --ignored --nocapture
//! --test-threads 1` (one test at a time: the memory figures are the
//! process's), or name one test (`full_table_in_random_order`).

#[path = "../benches/support/gen.rs"]
mod gen;
#[path = "../benches/support/peers.rs"]
mod peers;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use peers::{session, source_and_monitor};
use ribbit_rib::{PeerConfig, PeerId, Rib, RibOptions};
use ribbit_wire::update::Update;
use ribbit_wire::{DecodeContext, HEADER_LEN};

/// Nanoseconds of CPU this thread used (from /proc: what the RIB costs,
/// whatever else the machine runs).
fn cpu_ns() -> u128 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// The messages in a buffer of whole messages.
fn count_messages(mut buf: &[u8]) -> usize {
    let mut n = 0;
    while let Some(len) = buf
        .get(16..18)
        .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
    {
        n += 1;
        buf = &buf[len..];
    }
    n
}

/// Give `peer` everything it has pending; returns the UPDATEs.
fn drain(rib: &mut Rib, peer: PeerId, buf: &mut Vec<u8>) -> usize {
    let mut msgs = 0;
    while rib.has_pending(peer) {
        buf.clear();
        rib.take_into(peer, 256 * 1024, buf);
        msgs += count_messages(buf);
    }
    msgs
}

#[test]
#[ignore = "a million prefixes: run in release, alone"]
fn full_table_to_one_monitor() {
    full_table(false);
}

/// The same table with its UPDATEs in a random order, as it arrives from
/// a neighbor that groups prefixes by attribute set (the harness's
/// injector, most routers): the keys come in random order.
#[test]
#[ignore = "a million prefixes: run in release, alone"]
fn full_table_in_random_order() {
    full_table(true);
}

/// Route server: ten clients announce their own view of the same 100,000
/// prefixes (the harness's `route-server` scenario), interleaved a
/// thousand UPDATEs at a time and in random order within each; every
/// client, and a monitor that announces nothing, gets the best path it
/// may have of each prefix.
#[test]
#[ignore = "a million paths: run in release, alone"]
fn route_server_ten_clients() {
    let (clients, n) = (10usize, 100_000usize);
    let mut rib = Rib::new(RibOptions::new(65000, Ipv4Addr::new(10, 0, 0, 1)));
    let mut tables = Vec::new();
    let mut peers = Vec::new();
    for i in 0..=clients {
        let addr = Ipv4Addr::new(192, 0, 2, 1 + i as u8);
        let asn = 65001 + i as u32;
        let mut config = PeerConfig::new(IpAddr::V4(addr), asn, 65000);
        config.route_server_client = true;
        let peer = rib.add_peer(config);
        rib.peer_up(peer, session([10, 0, 1, 1 + i as u8]));
        peers.push(peer);
        if i < clients {
            // Each client in its own order: the paths of a prefix arrive
            // at different times, and the best path changes as they do.
            let mut t = gen::view(n, asn, addr, i as u64);
            shuffle_seeded(&mut t.updates, i as u64 + 1);
            tables.push(t);
        }
    }
    let before = rss_bytes();
    let ctx = DecodeContext::default();
    let mut u = Update::default();
    let mut buf = Vec::new();
    let mut sent = vec![0usize; peers.len()];
    let (mut apply_cpu, mut take_cpu) = (0u128, 0u128);
    let start = Instant::now();
    let rounds = tables.iter().map(|t| t.updates.len()).max().unwrap_or(0);
    // UPDATEs of each client between two rounds of producing messages.
    let step: usize = std::env::var("ROUTE_SERVER_STEP")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    for round in (0..rounds).step_by(step) {
        let c = cpu_ns();
        for (i, t) in tables.iter().enumerate() {
            for m in t.updates.iter().skip(round).take(step) {
                u.decode_into(&m[HEADER_LEN..], &ctx).unwrap();
                let r = rib.apply_update(peers[i], &u);
                assert_eq!(r.rejected, 0);
            }
        }
        apply_cpu += cpu_ns() - c;
        let c = cpu_ns();
        for (i, &p) in peers.iter().enumerate() {
            while rib.has_pending(p) {
                buf.clear();
                rib.take_into(p, 256 * 1024, &mut buf);
                sent[i] += count_messages(&buf);
            }
        }
        take_cpu += cpu_ns() - c;
    }
    let total = start.elapsed();
    let after = rss_bytes();
    let stats = rib.stats();
    let paths = stats.families[0].paths;
    assert_eq!(paths, n * clients);
    for (i, p) in stats.peers.iter().enumerate() {
        assert_eq!(p.families[0].advertised as usize, n, "client {i}");
    }
    let all = n * clients;
    println!(
        "{clients} clients x {n} prefixes: {} UPDATEs sent in all, {} attribute sets",
        sent.iter().sum::<usize>(),
        stats.attribute_sets
    );
    println!(
        "CPU time: decode+apply {:.0} ns/path, take {:.0} ns/path, all {:.0} ns/path; {:.2} s elapsed",
        apply_cpu as f64 / all as f64,
        take_cpu as f64 / all as f64,
        (apply_cpu + take_cpu) as f64 / all as f64,
        total.as_secs_f64()
    );
    println!(
        "memory: {} MB resident for the RIB, {:.1} bytes per path",
        (after - before) / 1_000_000,
        (after - before) as f64 / paths as f64
    );
}

/// Churn over a full table: ten rounds, each withdrawing a tenth of the
/// UPDATEs' prefixes (another tenth each round) and announcing them again
/// with attribute sets never seen before, as a flapping upstream does. The
/// tables keep the latest state of each prefix only (issue: "memory
/// bounded by table size, never by churn"): the monitor ends with every
/// prefix in its last version, the interner with as many sets as the
/// table has, and resident memory stays near the table's after each round.
#[test]
#[ignore = "a million prefixes: run in release, alone"]
fn full_table_churn_rounds() {
    let n = 1_050_000;
    let nh = Ipv4Addr::new(192, 0, 2, 1);
    let table = gen::full_table(n, 65001, nh);
    let rounds = 10u64;
    // Each round's UPDATEs made beforehand: the same prefixes in the same
    // UPDATEs as the table, one in ten, with new attributes.
    let churn: Vec<gen::Table> = (1..=rounds)
        .map(|r| gen::view_of(n, 65001, nh, r, |i| i % 10 == r as usize % 10))
        .collect();
    let before = rss_bytes();
    let (mut rib, src, mon) = source_and_monitor();
    let ctx = DecodeContext::default();
    let mut u = Update::default();
    let mut buf = Vec::new();
    for m in &table.updates {
        u.decode_into(&m[HEADER_LEN..], &ctx).unwrap();
        rib.apply_update(src, &u);
    }
    drain(&mut rib, mon, &mut buf);
    drain(&mut rib, src, &mut buf);
    let per_path = |rib: &Rib| (rss_bytes() - before) as f64 / rib.stats().families[0].paths as f64;
    let loaded = per_path(&rib);
    println!(
        "loaded: {} attribute sets, {loaded:.1} bytes per path",
        rib.stats().attribute_sets
    );
    let mut peak = loaded;
    for (r, round) in (1..=rounds).zip(&churn) {
        let cpu = cpu_ns();
        let mut churned = 0;
        for m in &round.updates {
            u.decode_into(&m[HEADER_LEN..], &ctx).unwrap();
            let withdraw = Update {
                withdrawn: u.announced.clone(),
                ..Update::default()
            };
            rib.apply_update(src, &withdraw);
            rib.apply_update(src, &u);
            churned += u.announced.len();
        }
        let msgs = drain(&mut rib, mon, &mut buf);
        drain(&mut rib, src, &mut buf);
        let cpu = cpu_ns() - cpu;
        let stats = rib.stats();
        assert_eq!(stats.families[0].paths, n);
        assert_eq!(stats.peers[1].families[0].advertised as usize, n);
        // Each round's sets replace as many of the table's.
        assert_eq!(stats.attribute_sets, table.sets, "round {r}: sets held");
        let now = per_path(&rib);
        peak = peak.max(now);
        println!(
            "round {r}: {churned} prefixes churned in {:.0} ns each, {msgs} UPDATEs to the monitor, {now:.1} bytes per path",
            cpu as f64 / churned as f64
        );
    }
    println!("after {rounds} rounds: at most {peak:.1} bytes per path, {loaded:.1} when loaded");
    assert!(
        peak < loaded * 1.25,
        "memory grew with churn: {peak:.1} bytes per path against {loaded:.1}"
    );
}

/// The neighbor with the full table goes down and comes back with the same
/// table (a session reset): the time to withdraw it from the monitor, the
/// time to take it again, and memory after each.
#[test]
#[ignore = "a million prefixes: run in release, alone"]
fn full_table_neighbor_resets() {
    let n = 1_050_000;
    let mut table = gen::full_table(n, 65001, Ipv4Addr::new(192, 0, 2, 1));
    shuffle(&mut table.updates);
    let before = rss_bytes();
    let (mut rib, src, mon) = source_and_monitor();
    let ctx = DecodeContext::default();
    let mut u = Update::default();
    let mut buf = Vec::new();
    let mb = || (rss_bytes() - before) / 1_000_000;
    for round in 0..3 {
        let cpu = cpu_ns();
        for chunk in table.updates.chunks(1000) {
            for m in chunk {
                u.decode_into(&m[HEADER_LEN..], &ctx).unwrap();
                rib.apply_update(src, &u);
            }
            drain(&mut rib, mon, &mut buf);
            drain(&mut rib, src, &mut buf);
        }
        let load = cpu_ns() - cpu;
        assert_eq!(rib.stats().families[0].paths, n);
        let loaded = mb();
        let cpu = cpu_ns();
        rib.peer_down(src, None);
        let msgs = drain(&mut rib, mon, &mut buf);
        let down = cpu_ns() - cpu;
        assert_eq!(rib.stats().families[0].paths, 0);
        println!(
            "round {round}: table taken in {} ms ({loaded} MB), withdrawn in {} ms ({msgs} UPDATEs, {} MB, {} sets left)",
            load / 1_000_000,
            down / 1_000_000,
            mb(),
            rib.stats().attribute_sets
        );
        rib.peer_up(src, session([10, 0, 1, 1]));
    }
}

/// Fisher-Yates with a fixed xorshift: the same order every run.
fn shuffle<T>(v: &mut [T]) {
    shuffle_seeded(v, 0);
}

/// [`shuffle`], one order per `seed`.
fn shuffle_seeded<T>(v: &mut [T], seed: u64) {
    let mut x = 0x2545_f491_4f6c_dd1du64 ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for i in (1..v.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.swap(i, (x % (i as u64 + 1)) as usize);
    }
}

fn full_table(shuffled: bool) {
    let n = 1_050_000;
    let mut table = gen::full_table(n, 65001, Ipv4Addr::new(192, 0, 2, 1));
    if shuffled {
        shuffle(&mut table.updates);
    }
    let wire: usize = table.updates.iter().map(Vec::len).sum();
    println!(
        "table: {} prefixes, {} attribute sets, {} UPDATEs, {} bytes",
        table.prefixes,
        table.sets,
        table.updates.len(),
        wire
    );
    let before = rss_bytes();
    let (mut rib, src, mon) = source_and_monitor();
    let ctx = DecodeContext::default();
    let mut u = Update::default();
    let mut out = Vec::new();
    let mut buf = Vec::new();
    let (mut sent_bytes, mut sent_msgs) = (0usize, 0usize);
    let mut apply_ns = 0u128;
    let mut take_ns = 0u128;
    let start = Instant::now();
    let cpu_start = cpu_ns();
    let (mut apply_cpu, mut take_cpu) = (0u128, 0u128);
    for chunk in table.updates.chunks(1000) {
        let t = Instant::now();
        let c = cpu_ns();
        for m in chunk {
            u.decode_into(&m[HEADER_LEN..], &ctx).unwrap();
            let r = rib.apply_update(src, &u);
            assert_eq!(r.rejected, 0);
        }
        apply_ns += t.elapsed().as_nanos();
        apply_cpu += cpu_ns() - c;
        // The runtime drains the monitor as its socket takes the bytes,
        // and reads the changes for the source too (nothing to send it).
        let t = Instant::now();
        let c = cpu_ns();
        while rib.has_pending(mon) {
            buf.clear();
            sent_bytes += rib.take_into(mon, 256 * 1024, &mut buf);
            sent_msgs += count_messages(&buf);
        }
        while rib.has_pending(src) {
            buf.clear();
            rib.take_into(src, 256 * 1024, &mut buf);
        }
        take_ns += t.elapsed().as_nanos();
        take_cpu += cpu_ns() - c;
    }
    let total = start.elapsed();
    let total_cpu = cpu_ns() - cpu_start;
    let after = rss_bytes();
    let stats = rib.stats();
    let paths = stats.families[0].paths;
    assert_eq!(paths, n);
    assert_eq!(stats.peers[1].families[0].advertised as usize, n);
    println!("attribute sets interned: {}", stats.attribute_sets);
    println!(
        "sent to the monitor: {sent_msgs} messages, {sent_bytes} bytes ({:.1} prefixes per UPDATE)",
        n as f64 / sent_msgs as f64
    );
    println!(
        "time: decode+apply {:.0} ns/prefix, take_messages {:.0} ns/prefix, end to end {:.0} ns/prefix",
        apply_ns as f64 / n as f64,
        take_ns as f64 / n as f64,
        total.as_nanos() as f64 / n as f64
    );
    println!(
        "CPU time: decode+apply {:.0} ns/prefix, take {:.0} ns/prefix, all {:.0} ns/prefix",
        apply_cpu as f64 / n as f64,
        take_cpu as f64 / n as f64,
        total_cpu as f64 / n as f64
    );
    println!(
        "memory: {} MB resident for the RIB, {:.1} bytes per path",
        (after - before) / 1_000_000,
        (after - before) as f64 / paths as f64
    );

    if std::env::var_os("FULL_TABLE_FIRST_ONLY").is_some() {
        // Profiling the load alone.
        return;
    }
    // A second monitor comes up with the table in place: a walk.
    let late = rib.add_peer(PeerConfig::new(
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 3)),
        65003,
        65000,
    ));
    let t = Instant::now();
    rib.peer_up(late, session([10, 0, 1, 3]));
    let (mut bytes, mut msgs) = (0usize, 0usize);
    while rib.has_pending(late) {
        out.clear();
        bytes += rib.take_messages(late, 256 * 1024, &mut out);
        msgs += out.len();
    }
    let walk = t.elapsed();
    println!(
        "a monitor coming up later: {msgs} messages, {bytes} bytes in {:.0} ms, {:.0} ns/prefix; {:.1} bytes per path now",
        walk.as_secs_f64() * 1000.0,
        walk.as_nanos() as f64 / n as f64,
        (rss_bytes() - before) as f64 / paths as f64
    );
    // Withdrawing the whole table.
    let t = Instant::now();
    rib.peer_down(src, None);
    println!(
        "peer_down alone: {:.0} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );
    for m in [mon, late] {
        while rib.has_pending(m) {
            out.clear();
            rib.take_messages(m, 256 * 1024, &mut out);
        }
    }
    println!(
        "the neighbor goes down: withdrawn from both monitors in {:.0} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );
    assert_eq!(rib.stats().families[0].paths, 0);
}
