//! `ribbit mrt` against Debian's `bgpdump -m`, line by line, on every file:
//! dumps written by Ribbit's own `MrtWriter`, hand-made records of every
//! kind bgpdump prints (its quirks included), the fixtures of
//! `crates/mrt/tests/data` (BIRD, FRR, OpenBGPD, GoBGP), and dumps that BIRD
//! and GoBGP write during the test while `ribbit mrt replay` sends them a
//! table. Also: filters, JSON, broken records, and the replayed routes
//! counted in GoBGP's and BIRD's tables.
//!
//! Addresses 127.0.5.x and ports 11501 to 11599 are this file's. Also:
//! Ribbit's own `[mrt]` recorder against a GoBGP announcing routes (its
//! updates and table files through `bgpdump -m`; rotation; ADD-PATH
//! sessions in the `_ADDPATH` subtypes), and `inject-mrt` sending a dump's
//! routes to a GoBGP.

mod support;

use std::fs;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use ribbit_mrt::bgp4mp::{state, Bgp4mp, Bgp4mpEvent};
use ribbit_mrt::{
    Body, MrtWriter, Peer, PeerIndexTable, Record, Rib, RibEntry, RibNlri, TableDumpV2,
};
use ribbit_wire::attribute::{Aggregator, Community, LargeCommunity};
use ribbit_wire::{AsPath, Family, NextHop, Origin, PathAttributes, Prefix};
use serde_json::Value;
use support::{find_binary, Daemon, Lab};

fn ribbit() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ribbit"))
}

/// Run a command to completion within `limit` (killed by its PID after).
fn run(mut c: Command, limit: Duration) -> Output {
    let shown = format!("{c:?}");
    let child = c
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{shown}: {e}"));
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => out.unwrap_or_else(|e| panic!("{shown}: {e}")),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("{shown} took more than {limit:?}");
        }
    }
}

/// `bgpdump -m FILE`, its lines.
fn bgpdump(file: &Path) -> Vec<String> {
    let mut c = Command::new(find_binary("bgpdump", "bgpdump"));
    c.arg("-m").arg(file);
    let out = run(c, Duration::from_secs(60));
    assert!(
        out.status.success(),
        "bgpdump -m {}: {:?}",
        file.display(),
        out
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// `ribbit mrt ARGS`: lines, exit code, standard error.
fn ribbit_mrt(args: &[&str]) -> (Vec<String>, i32, String) {
    let mut c = ribbit();
    c.arg("mrt").args(args);
    let out = run(c, Duration::from_secs(60));
    (
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect(),
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Both tools on `file`, compared line by line; returns the line count.
fn same_as_bgpdump(file: &Path) -> usize {
    let theirs = bgpdump(file);
    let (ours, _, err) = ribbit_mrt(&["--format", "bgpdump", file.to_str().unwrap()]);
    for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        assert_eq!(a, b, "{}: line {} differs\n{err}", file.display(), i + 1);
    }
    assert_eq!(
        ours.len(),
        theirs.len(),
        "{}: {} lines from ribbit, {} from bgpdump\n{err}",
        file.display(),
        ours.len(),
        theirs.len()
    );
    ours.len()
}

// ---------------------------------------------------------------- tables

/// The peers of the generated table.
fn peers() -> Vec<Peer> {
    vec![
        Peer {
            bgp_id: Ipv4Addr::new(127, 0, 5, 9),
            address: "127.0.5.9".parse().unwrap(),
            asn: 65010,
        },
        Peer {
            bgp_id: Ipv4Addr::new(10, 0, 0, 2),
            address: "2001:db8::2".parse().unwrap(),
            asn: 4_200_000_002,
        },
        Peer {
            bgp_id: Ipv4Addr::new(10, 0, 0, 3),
            address: "127.0.5.99".parse().unwrap(),
            asn: 65003,
        },
    ]
}

/// Attributes of path `i` of peer `p`: varied AS paths (4-octet ASNs, sets),
/// communities (well-known ones too), MED, LOCAL_PREF, aggregates.
fn attributes(p: usize, i: usize) -> PathAttributes {
    let peer_as = peers()[p].asn;
    let mut path = vec![peer_as, 3356 + (i % 7) as u32];
    if i.is_multiple_of(5) {
        path.push(4_200_000_000 + i as u32);
    }
    path.push(64_512 + (i % 300) as u32);
    let mut as_path = AsPath::sequence(path);
    if i.is_multiple_of(11) {
        as_path
            .segments
            .push(ribbit_wire::attribute::as_path::Segment {
                kind: ribbit_wire::attribute::SegmentType::Set,
                asns: vec![65100, 65101 + (i % 3) as u32],
            });
    }
    let mut communities = Vec::new();
    for k in 0..(i % 4) {
        communities.push(Community::new(65000 + k as u16, (i % 1000) as u16));
    }
    if i.is_multiple_of(13) {
        communities.push(Community::NO_EXPORT);
        communities.push(Community::BLACKHOLE);
    }
    PathAttributes {
        origin: Some([Origin::Igp, Origin::Egp, Origin::Incomplete][i % 3]),
        as_path: Some(as_path),
        med: i.is_multiple_of(2).then_some(i as u32 * 10),
        local_pref: (p == 2).then_some(100 + (i % 3) as u32),
        atomic_aggregate: i.is_multiple_of(17),
        aggregator: i.is_multiple_of(17).then_some(Aggregator {
            asn: 4_200_000_017,
            address: Ipv4Addr::new(192, 0, 2, 17),
        }),
        communities,
        large_communities: if i.is_multiple_of(3) {
            vec![LargeCommunity {
                global: peer_as,
                local1: 1,
                local2: i as u32,
            }]
        } else {
            Vec::new()
        },
        ..PathAttributes::default()
    }
}

fn v4_prefix(i: usize) -> Prefix {
    let len = [24u8, 24, 23, 22, 20, 16][i % 6];
    // One /16 each: unique whatever the length.
    let a = Ipv4Addr::from(0x0b00_0000u32 + ((i as u32) << 16) + ((i as u32 % 7) << 8));
    Prefix::V4(ipnet::Ipv4Net::new(a, len).unwrap().trunc())
}

fn v6_prefix(i: usize) -> Prefix {
    let a: std::net::Ipv6Addr = format!("2001:db8:{:x}::", 0x1000 + i * 16).parse().unwrap();
    Prefix::V6(
        ipnet::Ipv6Net::new(a, if i.is_multiple_of(2) { 48 } else { 44 })
            .unwrap()
            .trunc(),
    )
}

/// A TABLE_DUMP_V2 dump from Ribbit's writer: `n4` IPv4 and `n6` IPv6
/// prefixes, three peers (the first two on every prefix, the third on every
/// third), then the same prefixes again in the ADD-PATH subtypes.
fn table(n4: usize, n6: usize, add_path_too: bool) -> Vec<u8> {
    let mut w = MrtWriter::new(Vec::new());
    let ts = 1_764_000_000;
    w.write(&Record {
        timestamp: ts,
        microseconds: None,
        body: Body::TableDumpV2(TableDumpV2::PeerIndexTable(PeerIndexTable {
            collector_id: Ipv4Addr::new(127, 0, 5, 1),
            view_name: String::new(),
            peers: peers(),
        })),
    })
    .unwrap();
    let mut seq = 0;
    for add_path in [false, true] {
        if add_path && !add_path_too {
            break;
        }
        for (family, n) in [(Family::IPV4_UNICAST, n4), (Family::IPV6_UNICAST, n6)] {
            for i in 0..n {
                let v6 = family == Family::IPV6_UNICAST;
                let prefix = if v6 { v6_prefix(i) } else { v4_prefix(i) };
                let mut entries = Vec::new();
                for p in 0..3 {
                    if p == 2 && i % 3 != 0 {
                        continue;
                    }
                    let mut attributes = attributes(p, i);
                    let mp_next_hop = if v6 {
                        Some(NextHop::V6 {
                            global: format!("2001:db8:ffff::{}", p + 1).parse().unwrap(),
                            link_local: (p == 1).then(|| "fe80::1".parse().unwrap()),
                        })
                    } else {
                        attributes.next_hop = Some(Ipv4Addr::new(198, 18, 0, 1 + p as u8));
                        None
                    };
                    entries.push(RibEntry {
                        peer_index: p as u16,
                        originated: ts - 100 + i as u32,
                        path_id: add_path.then_some(p as u32 + 1),
                        attributes,
                        mp_next_hop,
                        issues: Vec::new(),
                    });
                }
                w.write(&Record {
                    timestamp: ts,
                    microseconds: None,
                    body: Body::TableDumpV2(TableDumpV2::Rib(Rib {
                        sequence: seq,
                        family,
                        generic: false,
                        add_path,
                        nlri: RibNlri::Prefix(prefix),
                        entries,
                    })),
                })
                .unwrap();
                seq += 1;
            }
        }
    }
    w.into_inner().unwrap()
}

/// BGP4MP records from Ribbit's writer: state changes and UPDATEs of every
/// subtype, with and without microseconds.
fn messages() -> Vec<u8> {
    use ribbit_wire::{EncodeContext, Message, NlriList, UpdatePacker};
    let mut w = MrtWriter::new(Vec::new());
    let mut n = 0;
    for us in [None, Some(42)] {
        for as4 in [true, false] {
            w.write(&Record {
                timestamp: 1_764_000_100,
                microseconds: us,
                body: Body::Bgp4mp(Bgp4mp {
                    peer_as: 65010,
                    local_as: 65000,
                    interface: 0,
                    peer_ip: "127.0.5.9".parse().unwrap(),
                    local_ip: "127.0.5.1".parse().unwrap(),
                    as4,
                    event: Bgp4mpEvent::StateChange {
                        old: state::OPEN_CONFIRM,
                        new: state::ESTABLISHED,
                    },
                }),
            })
            .unwrap();
            for local in [false, true] {
                for add_path in [false, true] {
                    let ctx = EncodeContext {
                        four_octet_as: as4,
                        add_path: if add_path {
                            Family::known().collect()
                        } else {
                            ribbit_wire::FamilySet::EMPTY
                        },
                        ..EncodeContext::default()
                    };
                    let packer = UpdatePacker::new(ctx);
                    let mut bytes = Vec::new();
                    let nlri = |v6: bool| {
                        NlriList::Prefixes(
                            (0..3)
                                .map(|k| ribbit_wire::nlri::PrefixNlri {
                                    path_id: add_path.then_some(k + 7),
                                    prefix: if v6 {
                                        v6_prefix(n + k as usize)
                                    } else {
                                        v4_prefix(n + k as usize)
                                    },
                                })
                                .collect(),
                        )
                    };
                    let a = attributes(0, n);
                    packer
                        .announce(
                            Family::IPV4_UNICAST,
                            &a,
                            NextHop::V4(Ipv4Addr::new(198, 18, 0, 1)),
                            &nlri(false),
                            &mut bytes,
                        )
                        .unwrap();
                    packer
                        .announce(
                            Family::IPV6_UNICAST,
                            &a,
                            NextHop::V6 {
                                global: "2001:db8:ffff::1".parse().unwrap(),
                                link_local: None,
                            },
                            &nlri(true),
                            &mut bytes,
                        )
                        .unwrap();
                    packer
                        .withdraw(Family::IPV4_UNICAST, &nlri(false), &mut bytes)
                        .unwrap();
                    packer
                        .withdraw(Family::IPV6_UNICAST, &nlri(true), &mut bytes)
                        .unwrap();
                    Message::Keepalive.encode(&ctx, &mut bytes);
                    n += 3;
                    // One record per message, as collectors write them.
                    let mut at = 0;
                    while at < bytes.len() {
                        let len = u16::from_be_bytes([bytes[at + 16], bytes[at + 17]]) as usize;
                        w.write(&Record {
                            timestamp: 1_764_000_101,
                            microseconds: us,
                            body: Body::Bgp4mp(Bgp4mp {
                                peer_as: 65010,
                                local_as: 65000,
                                interface: 0,
                                peer_ip: "127.0.5.9".parse().unwrap(),
                                local_ip: "127.0.5.1".parse().unwrap(),
                                as4,
                                event: Bgp4mpEvent::Message {
                                    local,
                                    add_path,
                                    bytes: bytes[at..at + len].to_vec(),
                                },
                            }),
                        })
                        .unwrap();
                        at += len;
                    }
                }
            }
        }
    }
    w.into_inner().unwrap()
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ribbit-mrt-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn bzip2(bytes: &[u8]) -> Vec<u8> {
    let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

// ---------------------------------------------------------------- tests

#[test]
fn ribbit_written_dumps_decode_like_bgpdump() {
    let dir = temp_dir("own");
    let t = table(600, 150, true);
    let m = messages();
    for (name, bytes) in [
        ("table.mrt", t.clone()),
        ("table.mrt.gz", gzip(&t)),
        ("table.mrt.bz2", bzip2(&t)),
        ("messages.mrt", m.clone()),
        ("messages.mrt.gz", gzip(&m)),
    ] {
        let path = dir.join(name);
        fs::write(&path, bytes).unwrap();
        let lines = same_as_bgpdump(&path);
        assert!(lines > 100, "{name}: {lines} lines");
    }
    // 600 IPv4 and 150 IPv6 prefixes, 2 paths each and a third on one in
    // three, twice (plain and ADD-PATH).
    let n = 2 * ((600 + 150) * 2 + 200 + 50);
    assert_eq!(same_as_bgpdump(&dir.join("table.mrt")), n);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn fixtures_of_other_implementations_decode_like_bgpdump() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../mrt/tests/data");
    let mut files = 0;
    for e in fs::read_dir(&data).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_some_and(|x| x == "mrt") {
            assert!(same_as_bgpdump(&path) >= 40, "{}", path.display());
            files += 1;
        }
    }
    assert_eq!(files, 8);
}

/// Records written byte by byte for what Ribbit's writer does not produce:
/// bgpdump's quirks (2-octet paths with AS4_PATH, confederations, the
/// `_LOCAL_ADDPATH` peer, IPv4 in MP_REACH_NLRI, an IPv6 withdrawal in a
/// `_LOCAL` record of an IPv4 session, absent attributes, TABLE_DUMP).
fn quirks() -> Vec<u8> {
    fn hdr(ts: u32, t: u16, st: u16, body: &[u8], us: Option<u32>) -> Vec<u8> {
        let mut v = ts.to_be_bytes().to_vec();
        v.extend(t.to_be_bytes());
        v.extend(st.to_be_bytes());
        let extra = if us.is_some() { 4 } else { 0 };
        v.extend(((body.len() + extra) as u32).to_be_bytes());
        if let Some(us) = us {
            v.extend(us.to_be_bytes());
        }
        v.extend(body);
        v
    }
    fn attr(flags: u8, code: u8, val: &[u8]) -> Vec<u8> {
        let mut v = vec![flags, code, val.len() as u8];
        v.extend(val);
        v
    }
    fn path(segs: &[(u8, &[u32])], w: usize) -> Vec<u8> {
        let mut v = Vec::new();
        for (t, a) in segs {
            v.push(*t);
            v.push(a.len() as u8);
            for x in *a {
                if w == 2 {
                    v.extend((*x as u16).to_be_bytes());
                } else {
                    v.extend(x.to_be_bytes());
                }
            }
        }
        v
    }
    fn pfx(p: &str) -> Vec<u8> {
        let p: Prefix = p.parse().unwrap();
        let n = (p.prefix_len() as usize).div_ceil(8);
        let mut v = vec![p.prefix_len()];
        match p.addr() {
            IpAddr::V4(a) => v.extend(&a.octets()[..n]),
            IpAddr::V6(a) => v.extend(&a.octets()[..n]),
        }
        v
    }
    fn update(w: &[u8], a: &[u8], n: &[u8]) -> Vec<u8> {
        let mut b = (w.len() as u16).to_be_bytes().to_vec();
        b.extend(w);
        b.extend((a.len() as u16).to_be_bytes());
        b.extend(a);
        b.extend(n);
        let mut m = vec![0xff; 16];
        m.extend(((19 + b.len()) as u16).to_be_bytes());
        m.push(2);
        m.extend(b);
        m
    }
    fn bgp4mp(st: u16, msg: &[u8], as4: bool, v6: bool, us: Option<u32>) -> Vec<u8> {
        let mut b = Vec::new();
        if as4 {
            b.extend(65001u32.to_be_bytes());
            b.extend(65000u32.to_be_bytes());
        } else {
            b.extend(65001u16.to_be_bytes());
            b.extend(65000u16.to_be_bytes());
        }
        b.extend([0, 0, 0, if v6 { 2 } else { 1 }]);
        if v6 {
            b.extend(
                "2001:db8::5"
                    .parse::<std::net::Ipv6Addr>()
                    .unwrap()
                    .octets(),
            );
            b.extend(
                "2001:db8::6"
                    .parse::<std::net::Ipv6Addr>()
                    .unwrap()
                    .octets(),
            );
        } else {
            b.extend([127, 0, 5, 7, 127, 0, 5, 8]);
        }
        b.extend(msg);
        hdr(100, if us.is_some() { 17 } else { 16 }, st, &b, us)
    }
    let nh = attr(0x40, 3, &[198, 18, 0, 1]);
    let full = [
        attr(0x40, 1, &[0]),
        attr(
            0x40,
            2,
            &path(&[(2, &[65001, 4_200_000_000]), (1, &[7, 8, 9])], 4),
        ),
        nh.clone(),
        attr(0x80, 4, &3_000_000_000u32.to_be_bytes()),
        attr(0x40, 5, &4_000_000_000u32.to_be_bytes()),
        attr(0x40, 6, &[]),
        attr(0xc0, 7, &[0, 0, 0xfd, 0xea, 10, 0, 0, 1]),
        attr(
            0xc0,
            8,
            &[
                0xff, 0xff, 0xff, 0x01, 0xff, 0xff, 0xff, 0x03, 0xfd, 0xe8, 0, 1,
            ],
        ),
    ]
    .concat();
    let two_octet = [
        attr(0x40, 1, &[2]),
        attr(0x40, 2, &path(&[(2, &[65001, 23456]), (1, &[1, 2])], 2)),
        attr(0xc0, 17, &path(&[(2, &[4_200_000_001]), (1, &[1, 2])], 4)),
        nh.clone(),
        attr(0xc0, 7, &[0x5b, 0xa0, 10, 0, 0, 2]),
        attr(0xc0, 18, &[0xfa, 0x56, 0xea, 0x01, 10, 0, 0, 3]),
    ]
    .concat();
    let confed = [
        attr(0x40, 1, &[1]),
        attr(0x40, 2, &path(&[(3, &[1, 2]), (4, &[3, 4]), (2, &[5])], 4)),
        nh,
    ]
    .concat();
    let ap = |id: u32, p: &str| [id.to_be_bytes().to_vec(), pfx(p)].concat();
    let mut mpr = vec![0, 2, 1, 32];
    mpr.extend(
        "2001:db8::1"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets(),
    );
    mpr.extend("fe80::1".parse::<std::net::Ipv6Addr>().unwrap().octets());
    mpr.push(0);
    mpr.extend(pfx("2001:db8:1::/48"));
    let mut mpu = vec![0, 2, 1];
    mpu.extend(pfx("2001:db8:2::/48"));
    let v6 = [
        attr(0x40, 1, &[0]),
        attr(0x40, 2, &path(&[(2, &[65001])], 4)),
        attr(0x80, 14, &mpr),
        attr(0x80, 15, &mpu),
    ]
    .concat();
    let mut mpr4 = vec![0, 1, 2, 4, 198, 18, 0, 9, 0];
    mpr4.extend(pfx("10.5.0.0/16"));
    let v4mp = [
        attr(0x40, 1, &[0]),
        attr(0x40, 2, &path(&[(2, &[65001])], 4)),
        attr(0x40, 5, &4_000_000_000u32.to_be_bytes()),
        attr(0x80, 14, &mpr4),
    ]
    .concat();
    let w = pfx("10.9.0.0/16");
    let n = [pfx("10.1.0.0/16"), pfx("10.2.0.0/24")].concat();
    let mut out = Vec::new();
    for st in [1, 4, 6, 7] {
        let as4 = matches!(st, 4 | 7);
        let a = if as4 { &full } else { &two_octet };
        out.extend(bgp4mp(st, &update(&w, a, &n), as4, false, None));
    }
    let m2 = update(&ap(5, "10.9.0.0/16"), &confed, &ap(7, "10.1.0.0/16"));
    for st in [8, 9, 10, 11] {
        out.extend(bgp4mp(st, &m2, st % 2 == 1, false, None));
        out.extend(bgp4mp(st, &m2, st % 2 == 1, false, Some(5)));
    }
    for st in [4, 7] {
        out.extend(bgp4mp(st, &update(&[], &v6, &[]), true, false, None));
        out.extend(bgp4mp(
            st,
            &update(&[], &v6, &[]),
            true,
            true,
            Some(999_999),
        ));
    }
    out.extend(bgp4mp(4, &update(&[], &v4mp, &[]), true, false, None));
    // TABLE_DUMP (RFC 6396 §4.2): 2-octet paths with AS4_PATH, and IPv6.
    let td = |v6: bool, prefix: &[u8], len: u8, peer: &[u8], attrs: &[u8]| {
        let mut b = vec![0, 0, 0, 1];
        b.extend(prefix);
        b.extend([len, 1, 0, 0, 0, 50]);
        b.extend(peer);
        b.extend(65009u16.to_be_bytes());
        b.extend((attrs.len() as u16).to_be_bytes());
        b.extend(attrs);
        hdr(300, 12, if v6 { 2 } else { 1 }, &b, None)
    };
    out.extend(td(false, &[10, 7, 0, 0], 16, &[127, 0, 5, 9], &two_octet));
    let mut abbr = vec![32];
    abbr.extend(
        "2001:db8::1"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets(),
    );
    abbr.extend("fe80::1".parse::<std::net::Ipv6Addr>().unwrap().octets());
    let v6attrs = [
        attr(0x40, 1, &[0]),
        attr(0x40, 2, &path(&[(2, &[65009])], 2)),
        attr(0x80, 14, &abbr),
    ]
    .concat();
    out.extend(td(
        true,
        &"2001:db8:9::"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets(),
        48,
        &"2001:db8::9"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets(),
        &v6attrs,
    ));
    // A RIB entry with ORIGIN alone: no path, no next hop.
    let mut peer = vec![127, 0, 5, 1, 0, 0, 0, 1, 2, 1, 1, 1, 1, 127, 0, 5, 9];
    peer.extend(4_200_000_000u32.to_be_bytes());
    out.extend(hdr(200, 13, 1, &peer, None));
    let mut rib = vec![0, 0, 0, 0];
    rib.extend(pfx("10.1.0.0/16"));
    rib.extend([0, 1, 0, 0, 0, 0, 0, 199]);
    let o = attr(0x40, 1, &[0]);
    rib.extend((o.len() as u16).to_be_bytes());
    rib.extend(o);
    out.extend(hdr(200, 13, 2, &rib, None));
    out
}

#[test]
fn bgpdump_quirks_are_reproduced() {
    let dir = temp_dir("quirks");
    let path = dir.join("quirks.mrt");
    fs::write(&path, quirks()).unwrap();
    assert_eq!(same_as_bgpdump(&path), 40);
    let (lines, code, _) = ribbit_mrt(&["--format", "bgpdump", path.to_str().unwrap()]);
    assert_eq!(code, 0);
    // A few of the quirks, spelled out.
    for want in [
        // AS4_PATH merged into a 2-octet path, AS4_AGGREGATOR for AS_TRANS.
        "BGP4MP|100|A|127.0.5.7|65001|10.1.0.0/16|65001 4200000001 {1,2}|INCOMPLETE|198.18.0.1|0|0||NAG|4200000001 10.0.0.3|",
        // The `_LOCAL_ADDPATH` subtypes print the local side.
        "BGP4MP_AP|100|W|127.0.5.8|65000|10.9.0.0/16|5",
        // An IPv6 withdrawal in a `_LOCAL` record of an IPv4 session.
        "BGP4MP_LOCAL|100|W|7f00:507::|65001|2001:db8:2::/48",
        // LOCAL_PREF of IPv4 in MP_REACH_NLRI as a signed number.
        "BGP4MP|100|A|127.0.5.7|65001|10.5.0.0/16|65001|IGP|198.18.0.9|-294967296|0||NAG||",
        "TABLE_DUMP2|200|B|127.0.5.9|4200000000|10.1.0.0/16||IGP|255.255.255.255|0|0||NAG||",
    ] {
        assert!(lines.iter().any(|l| l == want), "{want}\nnot in\n{}", lines.join("\n"));
    }
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn filters_json_and_broken_records() {
    let dir = temp_dir("filters");
    let path = dir.join("table.mrt");
    fs::write(&path, table(300, 60, false)).unwrap();
    let p = path.to_str().unwrap();
    let all = bgpdump(&path);
    let count = |args: &[&str]| {
        let mut a = vec!["--format", "bgpdump"];
        a.extend_from_slice(args);
        a.push(p);
        let (lines, code, err) = ribbit_mrt(&a);
        assert_eq!(code, 0, "{err}");
        lines
    };
    // --prefix: exact; --more-specific: the prefix and inside.
    let exact = count(&["--prefix", "11.1.1.0/24"]);
    assert_eq!(
        exact,
        all.iter()
            .filter(|l| l.contains("|11.1.1.0/24|"))
            .cloned()
            .collect::<Vec<_>>()
    );
    assert_eq!(exact.len(), 2);
    let inside = count(&["--more-specific", "11.0.0.0/12"]);
    let want: Vec<_> = all
        .iter()
        .filter(|l| {
            let pfx: Prefix = l.split('|').nth(5).unwrap().parse().unwrap();
            "11.0.0.0/12".parse::<Prefix>().unwrap().contains(&pfx)
        })
        .cloned()
        .collect();
    assert!(want.len() > 10);
    assert_eq!(inside, want);
    // --origin-as: the last AS of the path, or one of a final set.
    let origin = count(&["--origin-as", "64612"]);
    let want: Vec<_> = all
        .iter()
        .filter(|l| {
            let path = l.split('|').nth(6).unwrap();
            path.ends_with(" 64612") || (path.contains("64612 {") && path.ends_with('}'))
        })
        .cloned()
        .collect();
    assert!(!want.is_empty());
    assert_eq!(origin, want);
    // --peer and --type.
    let v6peer = count(&["--peer", "2001:db8::2"]);
    assert_eq!(v6peer.len(), 360);
    assert!(v6peer
        .iter()
        .all(|l| l.contains("|2001:db8::2|4200000002|")));
    assert!(count(&["--type", "update"]).is_empty());
    assert_eq!(count(&["--type", "table"]).len(), all.len());

    // JSON: one line per path, the same routes as bgpdump.
    let (json, code, err) = ribbit_mrt(&[p]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(json.len(), all.len());
    for (j, b) in json.iter().zip(&all) {
        let v: Value = serde_json::from_str(j).unwrap();
        let f: Vec<&str> = b.split('|').collect();
        assert_eq!(v["type"], "rib");
        assert_eq!(v["peer"]["address"], f[3]);
        assert_eq!(v["peer"]["asn"].to_string(), f[4]);
        assert_eq!(v["route"]["prefix"], f[5]);
        assert_eq!(v["route"]["next-hop"], f[8]);
        let asns: Vec<String> = v["attributes"]["as-path"][0]["asns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.to_string())
            .collect();
        assert!(f[6].starts_with(&asns.join(" ")), "{j}\n{b}");
    }
    let (json, _, _) = ribbit_mrt(&["--origin-as", "64612", "--peer", "127.0.5.9", p]);
    assert!(!json.is_empty());
    assert_eq!(
        json.len(),
        origin.iter().filter(|l| l.contains("|127.0.5.9|")).count()
    );

    // A broken record in the middle: reported with the file and byte offset,
    // exit status 1, and the records after it are still printed.
    let mut bytes = table(10, 0, false);
    let good = bytes.clone();
    let first_rib = {
        let plen = u32::from_be_bytes(bytes[8..12].try_into().unwrap()) as usize;
        12 + plen
    };
    // Entry count of the first RIB record: 200 entries that are not there.
    let rlen =
        u32::from_be_bytes(bytes[first_rib + 8..first_rib + 12].try_into().unwrap()) as usize;
    let count_at = first_rib + 12 + 4 + 1 + 3;
    bytes[count_at..count_at + 2].copy_from_slice(&200u16.to_be_bytes());
    assert!(count_at < first_rib + 12 + rlen);
    let broken = dir.join("broken.mrt");
    fs::write(&broken, &bytes).unwrap();
    let good_path = dir.join("good.mrt");
    fs::write(&good_path, &good).unwrap();
    for format in ["bgpdump", "json"] {
        let (lines, code, err) = ribbit_mrt(&["--format", format, broken.to_str().unwrap()]);
        assert_eq!(code, 1, "{format}: {err}");
        assert!(
            err.contains(&format!("{}: byte ", broken.display())),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
        // Paths of the 9 other prefixes, from 2 or 3 peers each.
        let (all, _, _) = ribbit_mrt(&["--format", format, good_path.to_str().unwrap()]);
        assert!(
            lines.len() >= all.len() - 3 && lines.len() < all.len(),
            "{format}: {} of {}",
            lines.len(),
            all.len()
        );
    }
    // A truncated file: the whole records before the cut, then an error.
    let cut = dir.join("cut.mrt");
    fs::write(&cut, &good[..good.len() - 5]).unwrap();
    let (lines, code, err) = ribbit_mrt(&["--format", "bgpdump", cut.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("truncated MRT message"), "{err}");
    assert!(!lines.is_empty());
    fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------- live

/// `ribbit mrt replay` in the background.
struct Replay(Option<Child>, PathBuf);

impl Replay {
    fn start(lab: &Lab, table: &Path, to: &str, local: &str) -> Replay {
        let log = lab.path("replay.log");
        let out = fs::File::create(&log).unwrap();
        let child = ribbit()
            .args([
                "mrt",
                "replay",
                table.to_str().unwrap(),
                "--to",
                to,
                "--local",
                local,
            ])
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        Replay(Some(child), log)
    }

    fn log(&self) -> String {
        fs::read_to_string(&self.1).unwrap_or_default()
    }

    /// Ctrl-C, as a person would: the session ends with a Cease.
    fn stop(&mut self) -> std::process::ExitStatus {
        let mut child = self.0.take().unwrap();
        let _ = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status();
        let start = Instant::now();
        loop {
            if let Ok(Some(s)) = child.try_wait() {
                return s;
            }
            if start.elapsed() > Duration::from_secs(10) {
                let _ = child.kill();
                panic!("replay ignored SIGINT\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Replay {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Poll `check` every 200 ms for at most `limit`.
fn wait_for(what: &str, limit: Duration, mut check: impl FnMut() -> Result<(), String>) {
    let start = Instant::now();
    loop {
        match check() {
            Ok(()) => return,
            Err(e) if start.elapsed() > limit => panic!("timed out waiting for {what}: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}

fn cli(program: &Path, args: &[&str]) -> String {
    let mut c = Command::new(program);
    c.args(args);
    let out = run(c, Duration::from_secs(10));
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

#[test]
fn gobgp_holds_the_replayed_table_and_its_dump_decodes_like_bgpdump() {
    let lab = Lab::new("mrt-gobgp");
    let table_path = lab.path("table.mrt");
    fs::write(&table_path, table(400, 80, false)).unwrap();
    let config = r#"
[global.config]
  as = 65000
  router-id = "127.0.5.1"
  port = 11501
  local-address-list = ["127.0.5.1"]
[[neighbors]]
  [neighbors.config]
    neighbor-address = "127.0.5.9"
    peer-as = 65010
  [neighbors.transport.config]
    local-address = "127.0.5.1"
    passive-mode = true
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv6-unicast"
[[mrt-dump]]
  [mrt-dump.config]
    dump-type = "updates"
    file-name = "gobgp-updates.mrt"
"#;
    lab.write("gobgp.toml", config);
    let mut cmd = Command::new(find_binary("gobgpd", "gobgpd"));
    cmd.args([
        "-f",
        "gobgp.toml",
        "-p",
        "--api-hosts",
        "127.0.5.1:11502",
        "--pprof-disable",
    ]);
    let mut gobgpd = Daemon::spawn("gobgpd", &lab, cmd, &[]);
    let gobgp = find_binary("gobgp", "gobgpd");
    let g = |args: &[&str]| {
        let mut a = vec!["-u", "127.0.5.1", "-p", "11502"];
        a.extend_from_slice(args);
        cli(&gobgp, &a)
    };
    wait_for("gobgpd's API", Duration::from_secs(10), || {
        gobgpd.check_running()?;
        let t = g(&["global"]);
        t.contains("65000").then_some(()).ok_or(t)
    });
    let mut replay = Replay::start(&lab, &table_path, "127.0.5.1:11501", "127.0.5.9");
    let count = |family: &str| -> Result<usize, String> {
        let t = g(&["global", "rib", "-a", family, "summary"]);
        // "Table ipv4-unicast\nDestination: 400, Path: 400"
        t.split("Destination: ")
            .nth(1)
            .and_then(|r| r.split(',').next())
            .and_then(|n| n.trim().parse().ok())
            .ok_or(t)
    };
    wait_for(
        "GoBGP to hold 400 + 80 prefixes",
        Duration::from_secs(30),
        || {
            gobgpd.check_running()?;
            let (v4, v6) = (count("ipv4")?, count("ipv6")?);
            (v4 == 400 && v6 == 80)
                .then_some(())
                .ok_or(format!("{v4} IPv4, {v6} IPv6\n{}", replay.log()))
        },
    );
    let status = replay.stop();
    assert!(status.success(), "{status}\n{}", replay.log());
    let log = replay.log();
    assert!(log.contains("480 prefixes in"), "{log}");
    // GoBGP writes its dump behind its RIB: wait for it to catch up.
    let dump = lab.path("gobgp-updates.mrt");
    wait_for(
        "GoBGP's dump of the routes",
        Duration::from_secs(10),
        || {
            let (lines, _, err) = ribbit_mrt(&["--type", "update", dump.to_str().unwrap()]);
            (lines.len() >= 480)
                .then_some(())
                .ok_or(format!("{} lines {err}", lines.len()))
        },
    );
    gobgpd.stop();
    let lines = same_as_bgpdump(&dump);
    // Every prefix announced once (GoBGP dumps received UPDATEs).
    assert!(lines >= 480, "{lines}");
    let (ours, code, err) = ribbit_mrt(&[
        "--format",
        "bgpdump",
        "--type",
        "update",
        dump.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(ours.len(), 480);
}

#[test]
fn bird_dumps_of_the_replayed_table_decode_like_bgpdump() {
    let lab = Lab::new("mrt-bird");
    let table_path = lab.path("table.mrt");
    fs::write(&table_path, table(400, 80, false)).unwrap();
    let config = r#"
log "bird.log" all;
router id 127.0.5.1;
mrtdump "bird-bgp4mp.mrt";
mrtdump protocols { states, messages };
protocol device { }
protocol bgp replay {
  local 127.0.5.1 port 11503 as 65000;
  neighbor 127.0.5.9 as 65010;
  strict bind yes;
  passive yes;
  multihop;
  ipv4 { import all; export none; };
  ipv6 { import all; export none; };
}
"#;
    lab.write("bird.conf", config);
    let mut cmd = Command::new(find_binary("bird", "bird2"));
    cmd.args(["-f", "-c", "bird.conf", "-s", "bird.ctl"]);
    let mut bird = Daemon::spawn("bird", &lab, cmd, &["bird.log"]);
    let birdc = find_binary("birdc", "bird2");
    let ctl = lab.path("bird.ctl");
    let b = |args: &[&str]| {
        let mut a = vec!["-s", ctl.to_str().unwrap()];
        a.extend_from_slice(args);
        cli(&birdc, &a)
    };
    wait_for("BIRD's control socket", Duration::from_secs(10), || {
        bird.check_running()?;
        let t = b(&["show", "status"]);
        t.contains("Daemon is up").then_some(()).ok_or(t)
    });
    let mut replay = Replay::start(&lab, &table_path, "127.0.5.1:11503", "127.0.5.9");
    wait_for(
        "BIRD to hold 400 + 80 prefixes",
        Duration::from_secs(30),
        || {
            bird.check_running()?;
            let t = b(&["show", "route", "count"]);
            t.contains("480 of 480 routes for 480 networks")
                .then_some(())
                .ok_or(format!("{t}\n{}", replay.log()))
        },
    );
    for (table, file) in [
        ("master4", "bird-master4.mrt"),
        ("master6", "bird-master6.mrt"),
    ] {
        let t = b(&[
            "mrt",
            "dump",
            "table",
            &format!("\"{table}\""),
            "to",
            &format!("\"{file}\""),
        ]);
        assert!(!t.contains("rror"), "{t}");
    }
    let status = replay.stop();
    assert!(status.success(), "{status}\n{}", replay.log());
    wait_for("BIRD's table dumps", Duration::from_secs(10), || {
        for f in ["bird-master4.mrt", "bird-master6.mrt"] {
            let n = fs::metadata(lab.path(f)).map(|m| m.len()).unwrap_or(0);
            if n < 1000 {
                return Err(format!("{f}: {n} bytes"));
            }
        }
        Ok(())
    });
    bird.stop();
    assert_eq!(same_as_bgpdump(&lab.path("bird-master4.mrt")), 400);
    assert_eq!(same_as_bgpdump(&lab.path("bird-master6.mrt")), 80);
    let messages = same_as_bgpdump(&lab.path("bird-bgp4mp.mrt"));
    assert!(messages >= 480, "{messages}");
    // The session's way up and down is in BIRD's dump too.
    let (states, code, _) = ribbit_mrt(&[
        "--type",
        "state",
        lab.path("bird-bgp4mp.mrt").to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    assert!(
        states
            .iter()
            .any(|l| l.contains("\"new-state\":\"established\"")),
        "{states:?}"
    );
}

// ------------------------------------------------ Ribbit's own recorder

/// A GoBGP listening on `addr` (`port`, API on `api`) for a Ribbit at
/// `ribbit` in AS `ribbit_as`, IPv4 and IPv6 unicast; with `dump`, it
/// records the UPDATEs it receives into that file (`mrt-dump`); with
/// `add_paths`, it sends up to 8 paths per IPv4 prefix (RFC 7911).
fn gobgp_peer(
    lab: &Lab,
    (addr, port, api, asn): (&str, u16, u16, u32),
    (ribbit, ribbit_as): (&str, u32),
    dump: Option<&str>,
    add_paths: bool,
) -> (Daemon, impl Fn(&[&str]) -> String) {
    let add_paths = if add_paths {
        "    [neighbors.afi-safis.add-paths.config]\n      send-max = 8\n"
    } else {
        ""
    };
    let mut config = format!(
        r#"
[global.config]
  as = {asn}
  router-id = "{addr}"
  port = {port}
  local-address-list = ["{addr}"]
[[neighbors]]
  [neighbors.config]
    neighbor-address = "{ribbit}"
    peer-as = {ribbit_as}
  [neighbors.transport.config]
    local-address = "{addr}"
    passive-mode = true
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
{add_paths}  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv6-unicast"
"#
    );
    if let Some(file) = dump {
        config.push_str(&format!(
            "[[mrt-dump]]\n  [mrt-dump.config]\n    dump-type = \"updates\"\n    file-name = \"{file}\"\n"
        ));
    }
    lab.write("gobgp.toml", &config);
    let api = format!("{addr}:{api}");
    let mut cmd = Command::new(find_binary("gobgpd", "gobgpd"));
    cmd.args([
        "-f",
        "gobgp.toml",
        "-p",
        "--api-hosts",
        &api,
        "--pprof-disable",
    ]);
    let gobgpd = Daemon::spawn("gobgpd", lab, cmd, &[]);
    let gobgp = find_binary("gobgp", "gobgpd");
    let (host, api_port) = api
        .split_once(':')
        .map(|(h, p)| (h.to_string(), p.to_string()))
        .unwrap();
    let g = move |args: &[&str]| {
        let mut a = vec!["-u", host.as_str(), "-p", api_port.as_str()];
        a.extend_from_slice(args);
        cli(&gobgp, &a)
    };
    let want = asn.to_string();
    wait_for("gobgpd's API", Duration::from_secs(10), || {
        gobgpd.check_running()?;
        let t = g(&["global"]);
        t.contains(&want).then_some(()).ok_or(t)
    });
    (gobgpd, g)
}

/// A Ribbit in this process, on a runtime of its own.
fn ribbit_speaker(toml: &str) -> (tokio::runtime::Runtime, ribbit::Speaker) {
    let config = ribbit::config::Config::parse(toml, "ribbit.toml").unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let speaker = rt.block_on(ribbit::Speaker::start(&config)).unwrap();
    (rt, speaker)
}

/// The fields of a `bgpdump -m` line.
fn fields(line: &str) -> Vec<&str> {
    line.split('|').collect()
}

/// The dump files of a pattern's prefix in `dir`, finished ones only, in
/// name (= time) order.
fn dumps(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with(prefix) && !name.ends_with(".partial")
        })
        .collect();
    v.sort();
    v
}

/// What GoBGP announces in the recorder test: (family, prefix, MED,
/// community), in two batches more than one rotation interval apart.
fn announced_by_gobgp() -> [Vec<(&'static str, String, u32, String)>; 2] {
    let first = (0..5)
        .map(|i| {
            (
                "ipv4",
                format!("10.61.{i}.0/24"),
                i * 10,
                format!("65101:{i}"),
            )
        })
        .chain((1..4).map(|i| {
            (
                "ipv6",
                format!("2001:db8:61:{i}::/64"),
                100 + i,
                format!("65101:{}", 100 + i),
            )
        }))
        .collect();
    let second = (0..3)
        .map(|i| {
            (
                "ipv4",
                format!("10.62.{i}.0/24"),
                200 + i,
                format!("65101:{}", 200 + i),
            )
        })
        .collect();
    [first, second]
}

#[test]
fn ribbit_records_gobgps_updates_and_table_like_bgpdump_reads_them() {
    let lab = Lab::new("mrt-recorder");
    let dir = lab.dir().display().to_string();
    let (mut gobgpd, g) = gobgp_peer(
        &lab,
        ("127.0.5.101", 11561, 11562, 65101),
        ("127.0.5.100", 65100),
        None,
        false,
    );
    let toml = format!(
        r#"
[global]
asn = 65100
router-id = "127.0.5.100"
listen = ["127.0.5.100:11560"]
[mrt]
updates = "{dir}/updates.%Y%m%d.%H%M%S.mrt.gz"
updates-interval = 2
table = "{dir}/rib.%Y%m%d.%H%M%S.mrt.gz"
table-interval = 2
compress = "gzip"
[[neighbor]]
address = "127.0.5.101"
port = 11561
local-address = "127.0.5.100"
asn = 65101
families = ["ipv4-unicast", "ipv6-unicast"]
"#
    );
    let (rt, speaker) = ribbit_speaker(&toml);
    let peer: IpAddr = "127.0.5.101".parse().unwrap();
    let batches = announced_by_gobgp();
    let mut expected = Vec::new();
    for (n, batch) in batches.iter().enumerate() {
        if n > 0 {
            // The next batch lands in another updates file.
            std::thread::sleep(Duration::from_millis(2500));
        }
        for (family, prefix, med, community) in batch {
            let nh = if *family == "ipv4" {
                "127.0.5.101"
            } else {
                "2001:db8::101"
            };
            let med = med.to_string();
            let t = g(&[
                "global",
                "rib",
                "add",
                "-a",
                family,
                prefix,
                "nexthop",
                nh,
                "origin",
                "igp",
                "med",
                &med,
                "community",
                community,
            ]);
            assert!(!t.contains("rror"), "{t}");
        }
        expected.extend(batch.iter().cloned());
        let want = expected.len();
        wait_for(
            "Ribbit to hold GoBGP's routes",
            Duration::from_secs(40),
            || {
                gobgpd.check_running()?;
                let n = rt.block_on(speaker.adj_rib_in(peer)).map_or(0, |r| r.len());
                (n == want).then_some(()).ok_or(format!("{n} of {want}"))
            },
        );
    }
    // A snapshot taken after the last batch arrived holds every route.
    let since = dumps(lab.dir(), "rib.").len();
    let mut table = PathBuf::new();
    wait_for(
        "a table snapshot with every route",
        Duration::from_secs(15),
        || {
            let all = dumps(lab.dir(), "rib.");
            // The first new one may have started before the last route came.
            let newest = all
                .get(since + 1..)
                .and_then(|v| v.last())
                .ok_or("none yet")?;
            table = newest.clone();
            Ok(())
        },
    );
    rt.block_on(speaker.shutdown(None));
    drop(rt);
    gobgpd.stop();

    // The table: one line per prefix, GoBGP's attributes.
    let lines = bgpdump(&table);
    assert_eq!(same_as_bgpdump(&table), expected.len(), "{lines:#?}");
    for (family, prefix, med, community) in &expected {
        let line = lines
            .iter()
            .find(|l| fields(l)[5] == prefix.as_str())
            .unwrap_or_else(|| panic!("{prefix} not in the table: {lines:#?}"));
        let f = fields(line);
        assert_eq!(&f[..5][2..], ["B", "127.0.5.101", "65101"], "{line}");
        assert_eq!(
            (f[6], f[7], f[10], f[11]),
            ("65101", "IGP", med.to_string().as_str(), community.as_str()),
            "{line}"
        );
        if *family == "ipv4" {
            assert_eq!(f[8], "127.0.5.101", "{line}");
        }
    }

    // The updates: rotated, each file clean, together every announcement
    // and the session's way up.
    let files = dumps(lab.dir(), "updates.");
    assert!(files.len() >= 2, "{files:?}");
    let mut announced = Vec::new();
    let mut states = Vec::new();
    for f in &files {
        same_as_bgpdump(f);
        for l in bgpdump(f) {
            let x = fields(&l);
            assert_eq!(x[0], "BGP4MP_ET", "{l}");
            match x[2] {
                "A" => {
                    assert_eq!(&x[3..5], ["127.0.5.101", "65101"], "{l}");
                    announced.push((x[5].to_string(), x[10].to_string(), x[11].to_string()));
                }
                "STATE" => states.push(l.clone()),
                _ => {}
            }
        }
    }
    for (_, prefix, med, community) in &expected {
        assert!(
            announced.contains(&(prefix.clone(), med.to_string(), community.clone())),
            "{prefix} not announced in {files:?}: {announced:?}"
        );
    }
    assert_eq!(announced.len(), expected.len(), "{announced:?}");
    // OpenConfirm (5) to Established (6), and back to Idle at shutdown.
    assert!(states.iter().any(|l| l.ends_with("|5|6")), "{states:?}");
    assert!(states.iter().any(|l| l.ends_with("|6|1")), "{states:?}");
}

#[test]
fn inject_mrt_announces_a_dumps_routes_to_gobgp() {
    let lab = Lab::new("mrt-inject");
    let (n4, n6) = (300, 60);
    let table_path = lab.path("table.mrt");
    fs::write(&table_path, table(n4, n6, false)).unwrap();
    let (mut gobgpd, g) = gobgp_peer(
        &lab,
        ("127.0.5.111", 11566, 11567, 65120),
        ("127.0.5.110", 65150),
        Some("gobgp-updates.mrt"),
        false,
    );
    let toml = format!(
        r#"
[global]
asn = 65150
router-id = "127.0.5.110"
listen = ["127.0.5.110:11565"]
[[neighbor]]
address = "127.0.5.111"
port = 11566
local-address = "127.0.5.110"
asn = 65120
families = ["ipv4-unicast", "ipv6-unicast"]
inject-mrt = "{}"
"#,
        table_path.display()
    );
    let (rt, speaker) = ribbit_speaker(&toml);
    let count = |family: &str| -> Result<usize, String> {
        let t = g(&["global", "rib", "-a", family, "summary"]);
        t.split("Destination: ")
            .nth(1)
            .and_then(|r| r.split(',').next())
            .and_then(|n| n.trim().parse().ok())
            .ok_or(t)
    };
    wait_for(
        "GoBGP to hold the dump's routes",
        Duration::from_secs(40),
        || {
            gobgpd.check_running()?;
            let (v4, v6) = (count("ipv4")?, count("ipv6")?);
            (v4 == n4 && v6 == n6)
                .then_some(())
                .ok_or(format!("{v4} IPv4, {v6} IPv6"))
        },
    );
    // Nothing more arrives (the other peers of the dump are not sent).
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!((count("ipv4").unwrap(), count("ipv6").unwrap()), (n4, n6));
    // GoBGP writes its dump behind its RIB: wait for it to catch up.
    let dump = lab.path("gobgp-updates.mrt");
    wait_for(
        "GoBGP's dump of the routes",
        Duration::from_secs(10),
        || {
            let (lines, _, err) = ribbit_mrt(&["--type", "update", dump.to_str().unwrap()]);
            (lines.len() >= n4 + n6)
                .then_some(())
                .ok_or(format!("{} lines {err}", lines.len()))
        },
    );
    rt.block_on(speaker.shutdown(None));
    drop(rt);
    gobgpd.stop();

    // What GoBGP received, as its own dump has it: peer 0's paths with our
    // AS in front (injected routes keep their MED, as ExaBGP's do).
    same_as_bgpdump(&dump);
    let mut seen = std::collections::BTreeMap::new();
    for l in bgpdump(&dump) {
        let f = fields(&l);
        if f[2] == "A" {
            assert_eq!(&f[3..5], ["127.0.5.110", "65150"], "{l}");
            seen.insert(
                f[5].to_string(),
                (
                    f[6].to_string(),
                    f[7].to_string(),
                    f[8].to_string(),
                    f[10].to_string(),
                ),
            );
        }
    }
    assert_eq!(seen.len(), n4 + n6);
    for i in 0..n4 {
        let prefix = v4_prefix(i).to_string();
        let (path, origin, nh, med) = seen
            .get(&prefix)
            .unwrap_or_else(|| panic!("{prefix} not received"));
        let a = attributes(0, i);
        let dump_path: Vec<String> = a
            .as_path
            .unwrap()
            .segments
            .iter()
            .map(|s| match s.kind {
                ribbit_wire::attribute::SegmentType::Set => format!(
                    "{{{}}}",
                    s.asns
                        .iter()
                        .map(|x| x.to_string())
                        .collect::<Vec<_>>()
                        .join(",")
                ),
                _ => s
                    .asns
                    .iter()
                    .map(|x| x.to_string())
                    .collect::<Vec<_>>()
                    .join(" "),
            })
            .collect();
        assert_eq!(*path, format!("65150 {}", dump_path.join(" ")), "{prefix}");
        assert_eq!(origin, ["IGP", "EGP", "INCOMPLETE"][i % 3], "{prefix}");
        assert_eq!(nh, "198.18.0.1", "{prefix}");
        assert_eq!(*med, a.med.unwrap_or(0).to_string(), "{prefix}");
    }
    for i in 0..n6 {
        assert!(
            seen.contains_key(&v6_prefix(i).to_string()),
            "{}",
            v6_prefix(i)
        );
    }
}

#[test]
fn add_path_sessions_are_recorded_in_the_addpath_subtypes() {
    let lab = Lab::new("mrt-addpath");
    let dir = lab.dir().display().to_string();
    let (mut gobgpd, g) = gobgp_peer(
        &lab,
        ("127.0.5.131", 11576, 11577, 65131),
        ("127.0.5.130", 65130),
        None,
        true,
    );
    // (prefix, GoBGP's local identifier, MED): two paths to one prefix.
    let paths = [
        ("10.70.0.0/24", "5", "5"),
        ("10.70.0.0/24", "6", "6"),
        ("10.70.1.0/24", "7", "7"),
    ];
    for (prefix, id, med) in paths {
        let t = g(&[
            "global",
            "rib",
            "add",
            "-a",
            "ipv4",
            prefix,
            "identifier",
            id,
            "nexthop",
            "127.0.5.131",
            "origin",
            "igp",
            "med",
            med,
        ]);
        assert!(!t.contains("rror"), "{t}");
    }
    let toml = format!(
        r#"
[global]
asn = 65130
router-id = "127.0.5.130"
listen = ["127.0.5.130:11575"]
[mrt]
updates = "{dir}/updates.%s.mrt"
updates-interval = 0
table = "{dir}/rib.%Y%m%d.%H%M%S.mrt"
table-interval = 2
[[neighbor]]
address = "127.0.5.131"
port = 11576
local-address = "127.0.5.130"
asn = 65131
families = ["ipv4-unicast", "ipv6-unicast"]
add-path = {{ ipv4-unicast = "receive" }}
"#
    );
    let (rt, speaker) = ribbit_speaker(&toml);
    let peer: IpAddr = "127.0.5.131".parse().unwrap();
    wait_for(
        "Ribbit to hold GoBGP's three paths",
        Duration::from_secs(40),
        || {
            gobgpd.check_running()?;
            let n = rt.block_on(speaker.adj_rib_in(peer)).map_or(0, |r| r.len());
            (n == paths.len()).then_some(()).ok_or(format!("{n} paths"))
        },
    );
    let since = dumps(lab.dir(), "rib.").len();
    let mut table = PathBuf::new();
    wait_for("a table snapshot", Duration::from_secs(15), || {
        let all = dumps(lab.dir(), "rib.");
        table = all
            .get(since + 1..)
            .and_then(|v| v.last())
            .ok_or("none yet")?
            .clone();
        Ok(())
    });
    rt.block_on(speaker.shutdown(None));
    drop(rt);
    gobgpd.stop();

    // (prefix, MED) of every path, as each file has it; path identifiers
    // are GoBGP's, distinct per prefix.
    let expected: Vec<(String, String)> = paths
        .iter()
        .map(|(p, _, med)| (p.to_string(), med.to_string()))
        .collect();
    let files = dumps(lab.dir(), "updates.");
    assert_eq!(files.len(), 1, "{files:?}");
    for (file, kind, type_name) in [
        (&files[0], "A", "BGP4MP_ET_AP"),
        (&table, "B", "TABLE_DUMP2_AP"),
    ] {
        same_as_bgpdump(file);
        let lines = bgpdump(file);
        let mut seen: Vec<(String, String)> = Vec::new();
        let mut ids = Vec::new();
        for l in lines.iter().filter(|l| fields(l)[2] == kind) {
            let f = fields(l);
            // With a path identifier after the prefix.
            assert_eq!(f[0], type_name, "{l}");
            ids.push((f[5].to_string(), f[6].to_string()));
            seen.push((f[5].to_string(), f[11].to_string()));
        }
        seen.sort();
        assert_eq!(seen, expected, "{}: {lines:#?}", file.display());
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), paths.len(), "{ids:?}");
    }
}
