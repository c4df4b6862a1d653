//! [`Routes`] against the full decode of the same stream, with and without
//! sharing, and on malformed input.

use std::net::Ipv4Addr;

use proptest::prelude::*;
use ribbit_wire::attribute::Community;
use ribbit_wire::{AsPath, Origin};

use super::*;
use crate::table_dump_v2::{PeerIndexTable, Rib, RibEntry, RibNlri};
use crate::{MrtWriter, Record};

fn peers() -> Record {
    let peer = |i: u8, asn| Peer {
        bgp_id: Ipv4Addr::new(192, 0, 2, i),
        address: if i == 2 {
            "2001:db8::2".parse().unwrap()
        } else {
            std::net::IpAddr::V4(Ipv4Addr::new(127, 0, 9, i))
        },
        asn,
    };
    Record {
        timestamp: 1_700_000_000,
        microseconds: None,
        body: Body::TableDumpV2(TableDumpV2::PeerIndexTable(PeerIndexTable {
            collector_id: Ipv4Addr::new(192, 0, 2, 1),
            view_name: String::new(),
            peers: vec![peer(0, 65000), peer(1, 4_200_000_000), peer(2, 65002)],
        })),
    }
}

/// The attributes of one path: `set` picks the AS path and communities.
fn attributes(peer: u16, set: u32, v6: bool) -> (PathAttributes, Option<NextHop>) {
    let a = PathAttributes {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath::sequence(vec![
            65000 + u32::from(peer),
            64_512 + set,
        ])),
        next_hop: (!v6).then(|| Ipv4Addr::new(198, 18, 0, 1 + peer as u8)),
        med: set.is_multiple_of(2).then_some(set),
        communities: (0..set % 4)
            .map(|i| Community::new(65000, i as u16))
            .collect(),
        ..PathAttributes::default()
    };
    let nh = v6.then(|| NextHop::V6 {
        global: "2001:db8:ffff::1".parse().unwrap(),
        link_local: None,
    });
    (a, nh)
}

/// A RIB record: `sets[i]` is the attribute set of peer `i`'s path, `None`
/// for no path from that peer.
fn rib(seq: u32, v6: bool, add_path: bool, generic: bool, sets: &[Option<u32>]) -> Record {
    let family = if v6 {
        Family::IPV6_UNICAST
    } else {
        Family::IPV4_UNICAST
    };
    let prefix = if v6 {
        format!("2001:db8:{:x}::/48", seq)
    } else {
        format!("10.{}.{}.0/24", seq >> 8, seq & 0xff)
    };
    let entries = sets
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let (attributes, mp_next_hop) = attributes(i as u16, (*s)?, v6);
            Some(RibEntry {
                peer_index: i as u16,
                originated: 1_600_000_000 + seq,
                path_id: add_path.then_some(seq * 10 + i as u32),
                attributes,
                mp_next_hop,
                issues: Vec::new(),
            })
        })
        .collect();
    Record {
        timestamp: 1_700_000_000,
        microseconds: None,
        body: Body::TableDumpV2(TableDumpV2::Rib(Rib {
            sequence: seq,
            family,
            generic,
            add_path,
            nlri: RibNlri::Prefix(prefix.parse().unwrap()),
            entries,
        })),
    }
}

fn write(records: &[Record]) -> Vec<u8> {
    let mut w = MrtWriter::new(Vec::new());
    for r in records {
        w.write(r).unwrap();
    }
    w.into_inner().unwrap()
}

/// What the full decoder says, one route per RIB entry, as a [`Route`].
fn expected(bytes: &[u8]) -> Vec<Route> {
    let mut peers = Vec::new();
    let mut out = Vec::new();
    for r in MrtReader::new(bytes).unwrap() {
        let r = r.unwrap();
        match r.body {
            Body::TableDumpV2(TableDumpV2::PeerIndexTable(t)) => peers = t.peers,
            Body::TableDumpV2(TableDumpV2::Rib(rib)) => {
                let Some(prefix) = rib.prefix() else { continue };
                for e in rib.entries {
                    out.push(Route {
                        timestamp: r.timestamp,
                        peer: peers[usize::from(e.peer_index)],
                        peer_index: e.peer_index,
                        family: rib.family,
                        prefix,
                        path_id: e.path_id,
                        originated: e.originated,
                        attributes: Arc::new(e.attributes),
                        mp_next_hop: e.mp_next_hop,
                        issues: e.issues,
                    });
                }
            }
            _ => {}
        }
    }
    out
}

fn routes(bytes: &[u8], share: bool) -> (Vec<Route>, RouteStats) {
    let mut r = Routes::with_sharing(MrtReader::new(bytes).unwrap(), share);
    let mut out = Vec::new();
    while let Some(route) = r.next_route().unwrap() {
        out.push(route);
    }
    (out, r.stats())
}

#[test]
fn routes_are_the_full_decode_and_consecutive_paths_share() {
    let mut records = vec![peers()];
    // Peer 0 keeps set 1 over three prefixes, peer 1 changes every time,
    // peer 2 appears and goes; every form of RIB record.
    let shapes: [(bool, bool, bool); 5] = [
        (false, false, false),
        (false, true, false),
        (true, false, false),
        (true, true, false),
        (false, false, true),
    ];
    let mut seq = 0;
    for (v6, add_path, generic) in shapes {
        for k in 0..3u32 {
            records.push(rib(
                seq,
                v6,
                add_path,
                generic,
                &[Some(1), Some(10 + k), (k != 1).then_some(5)],
            ));
            seq += 1;
        }
    }
    // Records that hold no table-dump routes are skipped, not errors.
    records.push(Record {
        timestamp: 1,
        microseconds: None,
        body: Body::Other {
            mrt_type: crate::mrt_type::OSPF2,
            subtype: 0,
            data: vec![1, 2, 3],
        },
    });
    let bytes = write(&records);
    let want = expected(&bytes);
    assert_eq!(want.len(), 5 * (3 + 3 + 2));

    let (shared, stats) = routes(&bytes, true);
    assert_eq!(shared, want);
    // The attribute bytes do not depend on ADD-PATH or RIB_GENERIC, only
    // on the family. Peer 0's fields: IPv4 six times in a row, IPv6 six
    // times, IPv4 three times; the first two of each run are decoded, the
    // rest shared: 4 + 4 + 1. Peer 2's (absent from every second record,
    // which leaves its run going): IPv4 four times, IPv6 four, IPv4 twice:
    // 2 + 2 + 0. Peer 1 never repeats itself.
    assert_eq!(stats.shared, 9 + 4);
    assert_eq!(stats.decoded + stats.shared, want.len() as u64);
    assert_eq!(stats.routes, want.len() as u64);
    assert_eq!(stats.skipped_records, 1);
    // Peer 0 in the first three records (route 0, 3 and 5): decoded,
    // decoded again and kept, shared.
    assert!(!Arc::ptr_eq(&shared[0].attributes, &shared[3].attributes));
    assert!(Arc::ptr_eq(&shared[3].attributes, &shared[5].attributes));
    assert_eq!(shared[5].peer_index, 0);
    assert!(!Arc::ptr_eq(&shared[1].attributes, &shared[4].attributes));

    let (alone, stats) = routes(&bytes, false);
    assert_eq!(alone, want);
    assert_eq!(stats.shared, 0);
    assert_eq!(
        shared[0].next_hop(),
        Some(NextHop::V4(Ipv4Addr::new(198, 18, 0, 1)))
    );
}

#[test]
fn bad_entries_end_their_record_and_reading_goes_on() {
    let good = rib(0, false, false, false, &[Some(1), Some(2)]);
    // Peer index 7 is not in the table of 3 peers.
    let mut stray = rib(1, false, false, false, &[Some(1), Some(2)]);
    if let Body::TableDumpV2(TableDumpV2::Rib(r)) = &mut stray.body {
        r.entries[1].peer_index = 7;
    }
    let mut bytes = write(&[peers(), good.clone()]);
    let stray_at = bytes.len();
    bytes.extend_from_slice(&write(&[stray]));
    bytes.extend_from_slice(&write(&[good]));
    let mut r = Routes::new(MrtReader::new(bytes.as_slice()).unwrap());
    let mut got = Vec::new();
    let mut errors = Vec::new();
    for x in &mut r {
        match x {
            Ok(route) => got.push(route.peer_index),
            Err(e) => errors.push(e),
        }
    }
    // The good record, the stray's first entry, the error, the good again.
    assert_eq!(got, [0, 1, 0, 0, 1]);
    assert_eq!(errors.len(), 1);
    assert!(matches!(errors[0].kind, crate::ErrorKind::Malformed(_)));
    // The error points at the second entry's peer index: after the header
    // (12), sequence (4), prefix (1 + 3), entry count (2) and the first
    // entry (8 + its attributes).
    let first = &bytes[stray_at + 12 + 4 + 4 + 2..];
    let first_len = 8 + usize::from(u16::from_be_bytes([first[6], first[7]]));
    let second = stray_at + 12 + 4 + 4 + 2 + first_len;
    assert_eq!(errors[0].offset, second as u64);
    assert_eq!(&bytes[second..second + 2], &[0, 7]);

    // Routes before any PEER_INDEX_TABLE have no peer: an error.
    let bytes = write(&[rib(0, false, false, false, &[Some(1)])]);
    let results: Vec<_> = Routes::new(MrtReader::new(bytes.as_slice()).unwrap()).collect();
    assert_eq!(results.len(), 1);
    assert!(results[0].is_err());
}

#[test]
fn flipped_bytes_give_what_the_full_decoder_gives_or_an_error() {
    let records = vec![
        peers(),
        rib(0, false, false, false, &[Some(1), Some(2), Some(3)]),
        rib(1, true, true, false, &[Some(1), None, Some(3)]),
        rib(2, true, true, false, &[Some(1), None, Some(3)]),
    ];
    let bytes = write(&records);
    // Issue offsets count from the record in one and from the attribute
    // field in the other.
    let plain = |mut r: Route| {
        for i in &mut r.issues {
            i.offset = 0;
        }
        r
    };
    let mut faults = 0;
    for i in 0..bytes.len() {
        for x in [0x01u8, 0x80, 0xff] {
            let mut b = bytes.clone();
            b[i] ^= x;
            let mut got = Vec::new();
            let mut errors = 0;
            for (n, r) in Routes::new(MrtReader::new(b.as_slice()).unwrap()).enumerate() {
                assert!(n < 100, "no end with byte {i} flipped");
                match r {
                    Ok(route) => got.push(plain(route)),
                    Err(_) => errors += 1,
                }
            }
            faults += errors;
            // Where the full decoder reads every record, so do the routes.
            let full: Result<Vec<Record>, _> = MrtReader::new(b.as_slice()).unwrap().collect();
            if full.is_ok() && errors == 0 {
                let want: Vec<Route> = expected(&b).into_iter().map(plain).collect();
                assert_eq!(got, want, "byte {i} ^ {x:#x}");
            }
        }
    }
    assert!(faults > 0);
}

proptest! {
    /// Sharing never changes what comes out: any sequence of attribute
    /// sets per peer gives the routes of the full decode.
    #[test]
    fn sharing_is_invisible(sets in proptest::collection::vec(
        proptest::collection::vec(proptest::option::of(0u32..4), 3), 1..20)
    ) {
        let mut records = vec![peers()];
        for (seq, s) in sets.iter().enumerate() {
            records.push(rib(seq as u32, seq % 3 == 0, seq % 2 == 0, false, s));
        }
        let bytes = write(&records);
        let want = expected(&bytes);
        prop_assert_eq!(routes(&bytes, true).0, want.clone());
        prop_assert_eq!(routes(&bytes, false).0, want);
    }
}
