//! Round trips writer → reader for every record type, compressed streams,
//! and malformed input.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};

use ribbit_wire::attribute::{Community, LargeCommunity};
use ribbit_wire::nlri::{FlowspecNlri, PrefixNlri};
use ribbit_wire::{
    AsPath, EncodeContext, Family, Message, NextHop, NlriList, Origin, PathAttributes, Update,
};

use super::*;
use crate::bgp4mp::state;

fn attrs(asns: &[u32]) -> PathAttributes {
    PathAttributes {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath::sequence(asns.to_vec())),
        med: Some(50),
        communities: vec![Community::new(65000, 1), Community::new(65000, 2)],
        large_communities: vec![LargeCommunity {
            global: 4_200_000_000,
            local1: 1,
            local2: 2,
        }],
        ..PathAttributes::default()
    }
}

fn v4_entry(peer_index: u16, path_id: Option<u32>) -> RibEntry {
    let mut attributes = attrs(&[65001, 4_200_000_000, 65003]);
    attributes.next_hop = Some(Ipv4Addr::new(198, 18, 0, 1));
    RibEntry {
        peer_index,
        originated: 1_700_000_000,
        path_id,
        attributes,
        mp_next_hop: None,
        issues: Vec::new(),
    }
}

fn v6_entry(peer_index: u16, path_id: Option<u32>) -> RibEntry {
    RibEntry {
        peer_index,
        originated: 1_700_000_001,
        path_id,
        attributes: attrs(&[65002]),
        mp_next_hop: Some(NextHop::V6 {
            global: "2001:db8:ffff::1".parse().unwrap(),
            link_local: Some("fe80::1".parse().unwrap()),
        }),
        issues: Vec::new(),
    }
}

fn peer_index() -> Record {
    Record {
        timestamp: 1_700_000_000,
        microseconds: None,
        body: Body::TableDumpV2(TableDumpV2::PeerIndexTable(PeerIndexTable {
            collector_id: Ipv4Addr::new(192, 0, 2, 1),
            view_name: "master4".into(),
            peers: vec![
                Peer {
                    bgp_id: Ipv4Addr::new(192, 0, 2, 2),
                    address: "127.0.9.1".parse().unwrap(),
                    asn: 65001,
                },
                Peer {
                    bgp_id: Ipv4Addr::new(192, 0, 2, 3),
                    address: "2001:db8::3".parse().unwrap(),
                    asn: 4_200_000_000,
                },
            ],
        })),
    }
}

fn rib(family: Family, generic: bool, add_path: bool, nlri: RibNlri, v6: bool) -> Record {
    let path_id = |i| add_path.then_some(i);
    let entries = if v6 {
        vec![v6_entry(1, path_id(7)), v6_entry(0, path_id(8))]
    } else {
        vec![v4_entry(0, path_id(1)), v4_entry(1, path_id(2))]
    };
    Record {
        timestamp: 1_700_000_000,
        microseconds: None,
        body: Body::TableDumpV2(TableDumpV2::Rib(Rib {
            sequence: 42,
            family,
            generic,
            add_path,
            nlri,
            entries,
        })),
    }
}

fn prefix(s: &str) -> RibNlri {
    RibNlri::Prefix(s.parse().unwrap())
}

fn update_bytes() -> Vec<u8> {
    let mut attributes = attrs(&[65001, 4_200_000_000]);
    attributes.next_hop = Some(Ipv4Addr::new(198, 18, 0, 1));
    let u = Update {
        attributes,
        announced: vec![PrefixNlri {
            path_id: None,
            prefix: "10.0.0.0/8".parse().unwrap(),
        }],
        ..Update::default()
    };
    Message::Update(u).to_bytes(&EncodeContext::default())
}

fn bgp4mp(as4: bool, microseconds: Option<u32>, event: Bgp4mpEvent, v6: bool) -> Record {
    let (peer_ip, local_ip): (IpAddr, IpAddr) = if v6 {
        (
            "2001:db8::1".parse().unwrap(),
            "2001:db8::2".parse().unwrap(),
        )
    } else {
        ("127.0.9.1".parse().unwrap(), "127.0.9.2".parse().unwrap())
    };
    Record {
        timestamp: 1_700_000_002,
        microseconds,
        body: Body::Bgp4mp(Bgp4mp {
            peer_as: if as4 { 4_200_000_000 } else { 65001 },
            local_as: 65000,
            interface: 0,
            peer_ip,
            local_ip,
            as4,
            event,
        }),
    }
}

/// Every kind of record this crate writes, each once.
fn every_record() -> Vec<Record> {
    let flow = FlowspecNlri::decode(
        &mut ribbit_wire::reader::Reader::new(&[0x05, 0x01, 0x18, 0xc0, 0x00, 0x02], 0),
        ribbit_wire::Afi::IPV4,
        false,
        false,
    )
    .unwrap();
    let mut out = vec![
        peer_index(),
        rib(
            Family::IPV4_UNICAST,
            false,
            false,
            prefix("10.1.0.0/16"),
            false,
        ),
        rib(
            Family::IPV4_MULTICAST,
            false,
            false,
            prefix("224.1.0.0/16"),
            false,
        ),
        rib(
            Family::IPV6_UNICAST,
            false,
            false,
            prefix("2001:db8::/33"),
            true,
        ),
        rib(
            Family::IPV6_MULTICAST,
            false,
            false,
            prefix("ff00::/8"),
            true,
        ),
        rib(
            Family::IPV4_UNICAST,
            false,
            true,
            prefix("10.2.0.0/24"),
            false,
        ),
        rib(
            Family::IPV4_MULTICAST,
            false,
            true,
            prefix("224.2.0.0/24"),
            false,
        ),
        rib(
            Family::IPV6_UNICAST,
            false,
            true,
            prefix("2001:db8:1::/48"),
            true,
        ),
        rib(
            Family::IPV6_MULTICAST,
            false,
            true,
            prefix("ff01::/16"),
            true,
        ),
        rib(
            Family::IPV4_UNICAST,
            true,
            false,
            prefix("0.0.0.0/0"),
            false,
        ),
        rib(Family::IPV6_UNICAST, true, true, prefix("::/0"), true),
        rib(
            Family::IPV4_FLOWSPEC,
            true,
            false,
            RibNlri::Other(NlriList::Flowspec(vec![flow.clone()])),
            false,
        ),
        rib(
            Family::IPV4_FLOWSPEC,
            true,
            true,
            RibNlri::Other(NlriList::Flowspec(vec![flow])),
            false,
        ),
        Record {
            timestamp: 1,
            microseconds: None,
            body: Body::TableDump(Box::new(TableDump {
                view: 0,
                sequence: 9,
                prefix: "10.3.0.0/16".parse().unwrap(),
                status: 1,
                originated: 2,
                peer_ip: "127.0.9.1".parse().unwrap(),
                peer_as: 65001,
                attributes: {
                    let mut a = attrs(&[65001, 4_200_000_000]);
                    a.next_hop = Some(Ipv4Addr::new(198, 18, 0, 1));
                    a
                },
                mp_next_hop: None,
                issues: Vec::new(),
            })),
        },
        Record {
            timestamp: 1,
            microseconds: None,
            body: Body::TableDump(Box::new(TableDump {
                view: 0,
                sequence: 10,
                prefix: "2001:db8::/32".parse().unwrap(),
                status: 1,
                originated: 2,
                peer_ip: "2001:db8::1".parse().unwrap(),
                peer_as: 65001,
                attributes: attrs(&[65001]),
                mp_next_hop: Some(NextHop::V6 {
                    global: "2001:db8::1".parse().unwrap(),
                    link_local: None,
                }),
                issues: Vec::new(),
            })),
        },
        Record {
            timestamp: 5,
            microseconds: Some(0),
            body: Body::Other {
                mrt_type: mrt_type::ISIS_ET,
                subtype: 0,
                data: vec![1, 2, 3],
            },
        },
    ];
    for as4 in [false, true] {
        for us in [None, Some(999_999)] {
            for v6 in [false, true] {
                out.push(bgp4mp(
                    as4,
                    us,
                    Bgp4mpEvent::StateChange {
                        old: state::OPEN_CONFIRM,
                        new: state::ESTABLISHED,
                    },
                    v6,
                ));
                for local in [false, true] {
                    for add_path in [false, true] {
                        out.push(bgp4mp(
                            as4,
                            us,
                            Bgp4mpEvent::Message {
                                local,
                                add_path,
                                bytes: update_bytes(),
                            },
                            v6,
                        ));
                    }
                }
            }
        }
    }
    out
}

fn write_all(records: &[Record]) -> Vec<u8> {
    let mut w = MrtWriter::new(Vec::new());
    for r in records {
        w.write(r).unwrap();
    }
    w.into_inner().unwrap()
}

#[test]
fn every_record_type_round_trips() {
    let records = every_record();
    let bytes = write_all(&records);
    let back: Vec<Record> = MrtReader::new(bytes.as_slice())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(back.len(), records.len());
    for (a, b) in records.iter().zip(&back) {
        assert_eq!(a, b);
    }
    // And the bytes are the same when written again.
    assert_eq!(write_all(&back), bytes);
    // Every subtype of BGP4MP appears: 0, 1, 4..=11, in both types.
    let mut seen: Vec<(u16, u16)> = records
        .iter()
        .map(|r| r.type_and_subtype().unwrap())
        .collect();
    seen.sort();
    seen.dedup();
    for t in [mrt_type::BGP4MP, mrt_type::BGP4MP_ET] {
        for s in [0, 1, 4, 5, 6, 7, 8, 9, 10, 11] {
            assert!(seen.contains(&(t, s)), "missing {t}/{s}");
        }
    }
    for s in 1..=12 {
        if s != 7 {
            assert!(
                seen.contains(&(mrt_type::TABLE_DUMP_V2, s)),
                "missing 13/{s}"
            );
        }
    }
}

#[test]
fn header_layout_follows_rfc_6396() {
    // A BGP4MP_ET STATE_CHANGE_AS4 over IPv4, byte by byte (RFC 6396 §2, §3, §4.4.1).
    let r = bgp4mp(
        true,
        Some(0x0001_0203),
        Bgp4mpEvent::StateChange {
            old: state::ACTIVE,
            new: state::CONNECT,
        },
        false,
    );
    let mut out = Vec::new();
    r.encode(&mut out).unwrap();
    let want: Vec<u8> = [
        &1_700_000_002u32.to_be_bytes()[..],
        &[0, 17, 0, 5],         // BGP4MP_ET, STATE_CHANGE_AS4
        &[0, 0, 0, 4 + 20 + 4], // length counts the microseconds
        &[0, 1, 2, 3],          // microseconds
        &4_200_000_000u32.to_be_bytes(),
        &65000u32.to_be_bytes(),
        &[0, 0, 0, 1], // interface, AFI IPv4
        &[127, 0, 9, 1, 127, 0, 9, 2],
        &[0, 3, 0, 2],
    ]
    .concat();
    assert_eq!(out, want);
    let (back, used) = decode(&out).unwrap();
    assert_eq!(used, out.len());
    assert_eq!(back, r);
}

#[test]
fn decoded_messages_and_next_hops() {
    let r = bgp4mp(
        true,
        None,
        Bgp4mpEvent::Message {
            local: false,
            add_path: false,
            bytes: update_bytes(),
        },
        false,
    );
    let Body::Bgp4mp(b) = &r.body else { panic!() };
    let Some(Ok(Message::Update(u))) = b.message() else {
        panic!()
    };
    assert_eq!(
        u.attributes.as_path,
        Some(AsPath::sequence(vec![65001, 4_200_000_000]))
    );
    let Body::TableDumpV2(TableDumpV2::Rib(rib4)) = &rib(
        Family::IPV4_UNICAST,
        false,
        false,
        prefix("10.0.0.0/8"),
        false,
    )
    .body
    else {
        panic!()
    };
    assert_eq!(
        rib4.entries[0].next_hop(),
        Some(NextHop::V4(Ipv4Addr::new(198, 18, 0, 1)))
    );
    assert_eq!(rib4.prefix(), Some("10.0.0.0/8".parse().unwrap()));
}

#[test]
fn as4_path_in_a_2_octet_table_dump_is_merged() {
    // TABLE_DUMP v1 has 2-octet AS_PATHs: an AS above 65535 travels as
    // AS_TRANS in AS_PATH and for real in AS4_PATH (RFC 6793), and is read back whole.
    let records = every_record();
    let v1 = records
        .iter()
        .find(|r| matches!(r.body, Body::TableDump(_)))
        .unwrap();
    let mut out = Vec::new();
    v1.encode(&mut out).unwrap();
    assert!(
        out.windows(2).any(|w| w == [0x5b, 0xa0]),
        "AS_TRANS written"
    );
    assert_eq!(&decode(&out).unwrap().0, v1);
}

#[test]
fn gzip_and_bzip2_are_read_transparently() {
    let records = every_record();
    let plain = write_all(&records);

    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&plain[..100]).unwrap();
    let mut gz_bytes = gz.finish().unwrap();
    // A second gzip member, as `cat a.gz b.gz` makes.
    let mut gz2 = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz2.write_all(&plain[100..]).unwrap();
    gz_bytes.extend(gz2.finish().unwrap());

    let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
    bz.write_all(&plain).unwrap();
    let bz_bytes = bz.finish().unwrap();

    for (bytes, kind) in [
        (gz_bytes, Compression::Gzip),
        (bz_bytes, Compression::Bzip2),
        (plain.clone(), Compression::None),
    ] {
        let reader = MrtReader::new(bytes.as_slice()).unwrap();
        assert_eq!(reader.compression(), kind);
        let back: Vec<Record> = reader.collect::<Result<_, _>>().unwrap();
        assert_eq!(back, records);
    }
    assert_eq!(MrtReader::new(&[][..]).unwrap().count(), 0);
}

#[test]
fn truncation_anywhere_is_an_error_with_an_offset_never_a_panic() {
    let records = every_record();
    let bytes = write_all(&records[..4]);
    for cut in 1..bytes.len() {
        let results: Vec<Result<Record, Error>> = MrtReader::new(&bytes[..cut]).unwrap().collect();
        let errors: Vec<&Error> = results.iter().filter_map(|r| r.as_ref().err()).collect();
        let ok = results.iter().filter(|r| r.is_ok()).count();
        // Whole records before the cut are read; the partial one is one error.
        let mut whole = 0;
        let mut at = 0;
        while at < cut {
            let (_, used) = decode(&bytes[at..]).unwrap();
            if at + used > cut {
                break;
            }
            at += used;
            whole += 1;
        }
        assert_eq!(ok, whole, "cut at {cut}");
        if at == cut {
            assert!(errors.is_empty(), "cut at {cut}");
        } else {
            assert_eq!(errors.len(), 1, "cut at {cut}");
            assert!(errors[0].offset >= at as u64 && errors[0].offset <= cut as u64);
            assert!(matches!(errors[0].kind, ErrorKind::Truncated { .. }));
        }
    }
}

#[test]
fn a_malformed_record_is_skipped_and_reading_goes_on() {
    let records = every_record();
    let mut bytes = Vec::new();
    records[1].encode(&mut bytes).unwrap();
    // Peer IP address family 7 in a BGP4MP record: malformed, but framed.
    let mut bad = Vec::new();
    records
        .iter()
        .find(|r| matches!(r.body, Body::Bgp4mp(_)) && r.microseconds.is_none())
        .unwrap()
        .encode(&mut bad)
        .unwrap();
    bad[HEADER_LEN + 6 + 1] = 7;
    let bad_at = bytes.len() as u64;
    bytes.extend_from_slice(&bad);
    records[2].encode(&mut bytes).unwrap();
    let results: Vec<_> = MrtReader::new(bytes.as_slice()).unwrap().collect();
    assert_eq!(results.len(), 3);
    assert_eq!(results[0].as_ref().unwrap(), &records[1]);
    let err = results[1].as_ref().unwrap_err();
    assert_eq!(err.offset, bad_at + HEADER_LEN as u64 + 6);
    assert!(matches!(err.kind, ErrorKind::Malformed("address family")));
    assert_eq!(results[2].as_ref().unwrap(), &records[2]);
}

#[test]
fn garbled_lengths_and_counts() {
    // A length of 4 GiB: refused before any allocation.
    let mut h = vec![0, 0, 0, 0, 0, 13, 0, 2, 0xff, 0xff, 0xff, 0xff];
    let mut r = MrtReader::new(h.as_slice()).unwrap();
    assert!(matches!(
        r.next().unwrap().unwrap_err().kind,
        ErrorKind::TooLong { .. }
    ));
    assert!(r.next().is_none());
    // Below the limit but beyond the data: truncated.
    h[8..12].copy_from_slice(&1000u32.to_be_bytes());
    h.extend_from_slice(&[0; 10]);
    let e = MrtReader::new(h.as_slice())
        .unwrap()
        .next()
        .unwrap()
        .unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Truncated { .. }));
    assert_eq!(e.offset, 12);
    // An entry count of 65535 with no entries.
    let body = [0, 0, 0, 1, 8, 10, 0xff, 0xff];
    let mut rec = vec![0, 0, 0, 0, 0, 13, 0, 2, 0, 0, 0, body.len() as u8];
    rec.extend_from_slice(&body);
    let e = decode(&rec).unwrap_err();
    assert_eq!(e.offset, 20);
    // Bytes after the last entry.
    let mut body = vec![0, 0, 0, 1, 8, 10, 0, 0, 0xaa];
    body.truncate(9);
    let mut rec = vec![0, 0, 0, 0, 0, 13, 0, 2, 0, 0, 0, body.len() as u8];
    rec.extend_from_slice(&body);
    assert!(matches!(
        decode(&rec).unwrap_err().kind,
        ErrorKind::Malformed(_)
    ));
    // A prefix length of 33.
    let body = [0, 0, 0, 1, 33, 10, 0, 0, 0, 0, 0, 0];
    let mut rec = vec![0, 0, 0, 0, 0, 13, 0, 2, 0, 0, 0, body.len() as u8];
    rec.extend_from_slice(&body);
    let e = decode(&rec).unwrap_err();
    assert_eq!(e.offset, 16);
    // Unknown types and subtypes are kept raw.
    let rec = [0, 0, 0, 0, 0, 13, 0, 7, 0, 0, 0, 1, 9];
    assert_eq!(
        decode(&rec).unwrap().0.body,
        Body::Other {
            mrt_type: 13,
            subtype: 7,
            data: vec![9]
        }
    );
}

#[test]
fn flipped_bytes_never_panic() {
    // Deterministic corruption of every byte of every record, several values each.
    let bytes = write_all(&every_record());
    let mut errors = 0;
    for i in 0..bytes.len() {
        for x in [0x01u8, 0x80, 0xff] {
            let mut b = bytes.clone();
            b[i] ^= x;
            for r in MrtReader::new(b.as_slice()).unwrap() {
                errors += usize::from(r.is_err());
            }
        }
    }
    assert!(errors > 0);
}

#[test]
fn unencodable_records_write_nothing() {
    let mut w = MrtWriter::new(Vec::new());
    let r = bgp4mp(
        false,
        None,
        Bgp4mpEvent::StateChange { old: 1, new: 2 },
        false,
    );
    let Body::Bgp4mp(mut b) = r.body.clone() else {
        panic!()
    };
    b.peer_as = 4_200_000_000;
    let bad = Record {
        body: Body::Bgp4mp(b),
        ..r.clone()
    };
    assert!(matches!(
        w.write(&bad).unwrap_err().kind,
        ErrorKind::Unencodable(_)
    ));
    // A flowspec NLRI without RIB_GENERIC.
    let Body::TableDumpV2(TableDumpV2::Rib(mut rib)) = every_record()[11].body.clone() else {
        panic!()
    };
    rib.generic = false;
    let bad = Record {
        timestamp: 0,
        microseconds: None,
        body: Body::TableDumpV2(TableDumpV2::Rib(rib)),
    };
    assert!(w.write(&bad).is_err());
    // A microsecond timestamp on TABLE_DUMP_V2.
    let mut p = peer_index();
    p.microseconds = Some(1);
    assert!(w.write(&p).is_err());
    assert!(w.into_inner().unwrap().is_empty());
}
