//! A deterministic synthetic full table for the benchmarks: IPv4 prefixes
//! (mostly /24, some /16 to /23), grouped in runs of 3 or 4 consecutive
//! prefixes that share an attribute set, one UPDATE per run, as a table
//! dump arrives. Every set is distinct (its origin AS is), with AS paths of
//! 2 to 6 ASes, a MED on half of them and 0 to 3 communities.

use std::net::Ipv4Addr;

use ribbit_wire::attribute::{AsPath, Community, Origin, PathAttributes};
use ribbit_wire::nlri::{NlriList, PrefixNlri};
use ribbit_wire::{EncodeContext, Family, NextHop, UpdatePacker};

/// A generated table: encoded UPDATE messages, header included.
pub struct Table {
    /// The UPDATEs.
    pub updates: Vec<Vec<u8>>,
    /// Prefixes announced.
    pub prefixes: usize,
    /// Distinct attribute sets.
    pub sets: usize,
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// `prefixes` prefixes from the neighbor of AS `peer_as` with next hop
/// `next_hop`.
pub fn full_table(prefixes: usize, peer_as: u32, next_hop: Ipv4Addr) -> Table {
    view(prefixes, peer_as, next_hop, 0)
}

/// One neighbor's view of the same prefixes as every other `variant`:
/// the same prefixes in the same UPDATEs, each variant with attributes of
/// its own (a route server's clients all announcing the same table).
/// Variant 0 is [`full_table`].
pub fn view(prefixes: usize, peer_as: u32, next_hop: Ipv4Addr, variant: u64) -> Table {
    view_of(prefixes, peer_as, next_hop, variant, |_| true)
}

/// The UPDATEs of [`view`] whose position `keep` admits, the others left
/// out (a churn of part of a table, without the memory of the rest).
/// `sets` still counts every UPDATE's.
pub fn view_of(
    prefixes: usize,
    peer_as: u32,
    next_hop: Ipv4Addr,
    variant: u64,
    keep: impl Fn(usize) -> bool,
) -> Table {
    // The prefixes and their grouping come from one generator, the
    // attributes from another, so that every variant has the same prefixes.
    let mut shape = Rng(0x9e37_79b9_7f4a_7c15);
    let mut rng = Rng(0x2545_f491_4f6c_dd1d ^ variant.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let packer = UpdatePacker::new(EncodeContext::default());
    let mut updates = Vec::new();
    let mut i = 0usize;
    let mut sets = 0usize;
    let transit = [3356u32, 1299, 174, 2914, 6939, 6453, 3257, 6762, 9002, 1273];
    while i < prefixes {
        let run = if shape.below(3) == 0 { 4 } else { 3 };
        let run = run.min(prefixes - i);
        let nlri: Vec<PrefixNlri> = (i..i + run)
            .map(|n| {
                // /24 steps from 1.0.0.0; a prefix aligned to a shorter
                // length sometimes takes it (distinct keys either way).
                let k = match shape.below(20) {
                    0 => (n.trailing_zeros()).min(8),
                    1 | 2 => (n.trailing_zeros()).min(2),
                    _ => 0,
                };
                let addr = Ipv4Addr::from(0x0100_0000u32.wrapping_add((n as u32) << 8));
                PrefixNlri {
                    path_id: None,
                    prefix: ipnet::Ipv4Net::new(addr, 24 - k as u8)
                        .unwrap()
                        .trunc()
                        .into(),
                }
            })
            .collect();
        let hops = 1 + rng.below(5) as usize;
        let mut path = vec![peer_as];
        for _ in 1..hops {
            path.push(transit[rng.below(transit.len() as u64) as usize]);
        }
        path.push(100_000 + sets as u32);
        let communities = (0..rng.below(4))
            .map(|c| Community::new(peer_as as u16, (rng.below(500) + c) as u16))
            .collect();
        let attrs = PathAttributes {
            origin: Some(if rng.below(10) == 0 {
                Origin::Incomplete
            } else {
                Origin::Igp
            }),
            as_path: Some(AsPath::sequence(path)),
            med: (rng.below(2) == 0).then(|| rng.below(1000) as u32),
            communities,
            ..PathAttributes::default()
        };
        if !keep(sets) {
            sets += 1;
            i += run;
            continue;
        }
        let mut buf = Vec::new();
        packer
            .announce(
                Family::IPV4_UNICAST,
                &attrs,
                NextHop::V4(next_hop),
                &NlriList::Prefixes(nlri),
                &mut buf,
            )
            .unwrap();
        updates.push(buf);
        sets += 1;
        i += run;
    }
    Table {
        updates,
        prefixes,
        sets,
    }
}
