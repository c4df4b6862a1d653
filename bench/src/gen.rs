//! The benchmark table: a deterministic, realistic IPv4 default-free zone
//! written as MRT TABLE_DUMP_V2 (method: shared/design/benchmarks.md).
//!
//! - Prefixes: unique, with the DFZ's length distribution (about 60 % /24,
//!   the rest mostly /16 to /23, a few /8 to /15), drawn from public unicast
//!   space (no 0/8, 10/8, 100.64/10, 127/8, 169.254/16, 172.16/12,
//!   192.168/16, 198.18/15, 224/3).
//! - Attribute sets: `prefixes * distinct_ratio` of them (0.3 by default:
//!   ~315,000 for 1.05M prefixes), each used by at least one prefix, a few
//!   by many (the skew of real tables, where big origins announce hundreds
//!   of prefixes with one set).
//! - AS paths of 1 to 10 hops (mean ~4.4), first hop the peer's AS, the
//!   others from a pool of 75,000 ASNs (2- and 4-octet); transit hops from
//!   the pool's first 1,000 (the big transit networks), origins from all of it.
//! - ORIGIN, MED (half the sets) and 0 to 6 communities vary per set.
//! - Several peers (route-server scenario): the same prefixes and the same
//!   grouping into sets and origin ASes, but each peer has its own paths
//!   (length and transit hops), so best paths differ per prefix.

use std::collections::HashSet;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};

use ipnet::{IpNet, Ipv4Net};
use ribbit_mrt::{
    Body, MrtWriter, Peer, PeerIndexTable, Record, Rib, RibEntry, RibNlri, TableDumpV2,
};
use ribbit_wire::attribute::Community;
use ribbit_wire::{AsPath, Family, Origin, PathAttributes};

use crate::rng::Rng;

/// What to generate.
#[derive(Debug, Clone)]
pub struct TableSpec {
    /// Unique prefixes.
    pub prefixes: usize,
    /// Peers, each with a path to every prefix.
    pub peers: usize,
    /// Distinct attribute sets per prefix (per peer).
    pub distinct_ratio: f64,
    /// The seed.
    pub seed: u64,
}

impl Default for TableSpec {
    fn default() -> Self {
        TableSpec {
            prefixes: 1_050_000,
            peers: 1,
            distinct_ratio: 0.3,
            seed: 1,
        }
    }
}

/// The peers of the generated table: peer `i` is 127.0.9.(10+i), AS
/// 65010+i, next hop 198.18.0.(10+i) (RFC 2544 space: GoBGP treats a 127/8
/// next hop as a withdraw).
pub fn peer(i: usize) -> (IpAddr, u32, Ipv4Addr) {
    let n = u8::try_from(10 + i).expect("at most 245 peers");
    (
        IpAddr::V4(Ipv4Addr::new(127, 0, 9, n)),
        65010 + u32::from(n) - 10,
        Ipv4Addr::new(198, 18, 0, n),
    )
}

/// Relative frequency of prefix lengths /8 to /24 in today's IPv4 DFZ
/// (rounded from public routing-table reports).
const LENGTH_WEIGHTS: [(u8, f64); 17] = [
    (8, 0.02),
    (9, 0.02),
    (10, 0.05),
    (11, 0.1),
    (12, 0.3),
    (13, 0.6),
    (14, 1.0),
    (15, 1.7),
    (16, 13.0),
    (17, 8.0),
    (18, 13.5),
    (19, 25.0),
    (20, 40.0),
    (21, 45.0),
    (22, 115.0),
    (23, 100.0),
    (24, 600.0),
];

/// AS path length weights for 1 to 10 hops (mean 4.42).
const PATH_LEN_WEIGHTS: [f64; 10] = [2.0, 10.0, 22.0, 24.0, 18.0, 11.0, 6.0, 4.0, 2.0, 1.0];

const ASN_POOL: u64 = 75_000;
const TRANSIT_POOL: u64 = 1_000;

/// The `i`-th ASN of the pool: 1 to 60,000 without AS_TRANS, then 4-octet
/// ones from 131,072. Never one of the harness's own (65010+, 65100, 65200).
fn pool_asn(i: u64) -> u32 {
    let i = u32::try_from(i).expect("pool index fits");
    if i < 60_000 {
        let a = i + 1;
        if a >= 23_456 {
            a + 1
        } else {
            a
        }
    } else {
        131_072 + (i - 60_000)
    }
}

fn excluded(a: u32) -> bool {
    let in_net = |net: u32, len: u32| (a ^ net) >> (32 - len) == 0;
    a >> 24 == 0
        || a >> 24 == 10
        || a >> 24 == 127
        || a >> 29 == 0b111
        || in_net(0x6440_0000, 10)
        || in_net(0xA9FE_0000, 16)
        || in_net(0xAC10_0000, 12)
        || in_net(0xC0A8_0000, 16)
        || in_net(0xC612_0000, 15)
}

/// The prefixes, sorted (a dump lists them in order).
pub fn prefixes(n: usize, rng: &mut Rng) -> Vec<Ipv4Net> {
    let total: f64 = LENGTH_WEIGHTS.iter().map(|w| w.1).sum();
    let mut counts: Vec<(u8, usize)> = LENGTH_WEIGHTS
        .iter()
        .map(|&(len, w)| (len, (n as f64 * w / total).round() as usize))
        .collect();
    let sum: usize = counts.iter().map(|c| c.1).sum();
    // Whatever rounding left over goes to /24, the largest group.
    let last = counts.last_mut().expect("lengths");
    last.1 = (last.1 + n).saturating_sub(sum);
    let mut seen: HashSet<u64> = HashSet::with_capacity(n);
    let mut out = Vec::with_capacity(n);
    for (len, count) in counts {
        let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
        let mut made = 0;
        let mut tries = 0u64;
        while made < count {
            tries += 1;
            assert!(
                tries < 100 * (count as u64) + 100_000,
                "cannot draw {count} unique /{len}"
            );
            let a = (rng.next_u64() as u32) & mask;
            if excluded(a) || !seen.insert(u64::from(a) << 8 | u64::from(len)) {
                continue;
            }
            out.push(Ipv4Net::new(Ipv4Addr::from(a), len).expect("valid length"));
            made += 1;
        }
    }
    out.sort();
    out
}

/// For each prefix, the index of its attribute set; every set in
/// `0..sets` is used at least once, low indexes by many prefixes.
pub fn set_assignment(n: usize, sets: usize, rng: &mut Rng) -> Vec<u32> {
    let sets = sets.clamp(1, n.max(1));
    let mut out: Vec<u32> = (0..sets as u32).collect();
    while out.len() < n {
        // u^3 skews the draw towards low indexes: a few sets get hundreds
        // of prefixes, most get one to three.
        let u = rng.unit();
        out.push(((u * u * u) * sets as f64) as u32);
    }
    // Fisher-Yates, so that prefixes sharing a set are spread over the table.
    for i in (1..out.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        out.swap(i, j);
    }
    out
}

/// What every peer's version of a set shares: origin AS, ORIGIN, MED, communities.
#[derive(Debug, Clone)]
struct SetBase {
    origin_as: u32,
    origin: Origin,
    med: Option<u32>,
    communities: Vec<Community>,
}

fn set_base(rng: &mut Rng) -> SetBase {
    let origin = match rng.below(100) {
        0..=84 => Origin::Igp,
        85..=97 => Origin::Incomplete,
        _ => Origin::Egp,
    };
    let med = (rng.below(2) == 0).then(|| rng.below(1000) as u32);
    let n = rng.weighted(&[30.0, 15.0, 20.0, 15.0, 10.0, 6.0, 4.0]);
    let mut communities: Vec<Community> = (0..n)
        .map(|_| {
            let high = pool_asn(rng.below(TRANSIT_POOL)) & 0xffff;
            Community::new(high as u16, rng.below(4000) as u16)
        })
        .collect();
    communities.sort();
    communities.dedup();
    SetBase {
        origin_as: pool_asn(rng.below(ASN_POOL)),
        origin,
        med,
        communities,
    }
}

/// One peer's attribute set built on `base`: its own AS first, its own transit hops.
fn set_for_peer(base: &SetBase, peer_as: u32, next_hop: Ipv4Addr, rng: &mut Rng) -> PathAttributes {
    let hops = rng.weighted(&PATH_LEN_WEIGHTS) + 1;
    let mut path = Vec::with_capacity(hops);
    path.push(peer_as);
    if hops >= 2 {
        for _ in 0..hops - 2 {
            path.push(pool_asn(rng.below(TRANSIT_POOL)));
        }
        path.push(base.origin_as);
    }
    PathAttributes {
        origin: Some(base.origin),
        as_path: Some(AsPath::sequence(path)),
        next_hop: Some(next_hop),
        med: base.med,
        communities: base.communities.clone(),
        ..PathAttributes::default()
    }
}

/// Summary of a generated table.
#[derive(Debug, Clone, Copy)]
pub struct TableStats {
    /// Prefixes written.
    pub prefixes: usize,
    /// Peers.
    pub peers: usize,
    /// Distinct attribute sets per peer.
    pub sets: usize,
    /// /24s among the prefixes.
    pub slash24: usize,
    /// Mean AS path length over all paths.
    pub mean_path_len: f64,
}

/// Generate the table and write it as MRT TABLE_DUMP_V2 to `out`.
pub fn write_table(spec: &TableSpec, out: impl Write) -> Result<TableStats, ribbit_mrt::Error> {
    let mut rng = Rng::new(spec.seed);
    let prefixes = prefixes(spec.prefixes, &mut rng);
    let n_sets = ((spec.prefixes as f64) * spec.distinct_ratio).round() as usize;
    let assignment = set_assignment(prefixes.len(), n_sets, &mut rng);
    let n_sets = n_sets.clamp(1, prefixes.len().max(1));
    // Per peer, the attribute sets, distinct within the peer.
    let mut sets: Vec<Vec<PathAttributes>> = Vec::with_capacity(spec.peers);
    let bases: Vec<SetBase> = (0..n_sets).map(|_| set_base(&mut rng)).collect();
    let mut hops_total = 0usize;
    for p in 0..spec.peers {
        let (_, asn, nh) = peer(p);
        let mut seen: HashSet<Vec<u8>> = HashSet::with_capacity(n_sets);
        let mut mine = Vec::with_capacity(n_sets);
        for base in &bases {
            // Draw again on the rare collision, so that the count is exact.
            loop {
                let a = set_for_peer(base, asn, nh, &mut rng);
                let mut key = Vec::with_capacity(64);
                a.encode(true, &mut key);
                if seen.insert(key) {
                    mine.push(a);
                    break;
                }
                // A collision on a one-hop path cannot be fixed by redrawing
                // hops alone: vary the MED.
                let mut b = a.clone();
                b.med = Some(rng.below(1_000_000) as u32);
                let mut key = Vec::with_capacity(64);
                b.encode(true, &mut key);
                if seen.insert(key) {
                    mine.push(b);
                    break;
                }
            }
        }
        sets.push(mine);
    }
    let mut w = MrtWriter::new(out);
    const TIME: u32 = 1_764_000_000;
    let peers = (0..spec.peers)
        .map(|p| {
            let (address, asn, _) = peer(p);
            let IpAddr::V4(id) = address else {
                unreachable!()
            };
            Peer {
                bgp_id: id,
                address,
                asn,
            }
        })
        .collect();
    w.write(&Record {
        timestamp: TIME,
        microseconds: None,
        body: Body::TableDumpV2(TableDumpV2::PeerIndexTable(PeerIndexTable {
            collector_id: Ipv4Addr::new(127, 0, 9, 254),
            view_name: String::new(),
            peers,
        })),
    })?;
    let mut slash24 = 0;
    for (i, (prefix, set)) in prefixes.iter().zip(&assignment).enumerate() {
        slash24 += usize::from(prefix.prefix_len() == 24);
        let entries = sets
            .iter()
            .enumerate()
            .map(|(p, peer_sets)| {
                let attributes = peer_sets[*set as usize].clone();
                hops_total += attributes.as_path.as_ref().map_or(0, AsPath::path_len);
                RibEntry {
                    peer_index: p as u16,
                    originated: TIME,
                    path_id: None,
                    attributes,
                    mp_next_hop: None,
                    issues: Vec::new(),
                }
            })
            .collect();
        w.write(&Record {
            timestamp: TIME,
            microseconds: None,
            body: Body::TableDumpV2(TableDumpV2::Rib(Rib {
                sequence: i as u32,
                family: Family::IPV4_UNICAST,
                generic: false,
                add_path: false,
                nlri: RibNlri::Prefix(IpNet::V4(*prefix)),
                entries,
            })),
        })?;
    }
    w.flush()?;
    let paths = prefixes.len() * spec.peers;
    Ok(TableStats {
        prefixes: prefixes.len(),
        peers: spec.peers,
        sets: n_sets,
        slash24,
        mean_path_len: hops_total as f64 / paths.max(1) as f64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_deterministic_and_realistic() {
        let spec = TableSpec {
            prefixes: 20_000,
            peers: 2,
            ..TableSpec::default()
        };
        let mut a = Vec::new();
        let stats = write_table(&spec, &mut a).unwrap();
        let mut b = Vec::new();
        write_table(&spec, &mut b).unwrap();
        assert_eq!(a, b);
        assert_eq!(stats.prefixes, 20_000);
        assert_eq!(stats.sets, 6_000);
        let share24 = stats.slash24 as f64 / 20_000.0;
        assert!((0.55..0.7).contains(&share24), "{share24}");
        assert!(
            (4.0..5.0).contains(&stats.mean_path_len),
            "{}",
            stats.mean_path_len
        );
        // Read back: unique prefixes, every path starting with its peer's AS,
        // and exactly `sets` distinct attribute sets per peer.
        let mut prefixes = HashSet::new();
        let mut distinct = [HashSet::new(), HashSet::new()];
        for r in ribbit_mrt::MrtReader::new(a.as_slice()).unwrap() {
            if let Body::TableDumpV2(TableDumpV2::Rib(rib)) = r.unwrap().body {
                assert!(prefixes.insert(rib.prefix().unwrap()));
                for e in rib.entries {
                    let (_, asn, _) = peer(usize::from(e.peer_index));
                    assert_eq!(e.attributes.as_path.as_ref().unwrap().first(), Some(asn));
                    let mut key = Vec::new();
                    e.attributes.encode(true, &mut key);
                    distinct[usize::from(e.peer_index)].insert(key);
                }
            }
        }
        assert_eq!(prefixes.len(), 20_000);
        assert_eq!(distinct[0].len(), 6_000);
        assert_eq!(distinct[1].len(), 6_000);
    }
}
