//! Round trips, and decodes of bytes written by hand from the RFC layouts.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;

use crate::*;

/// A KEEPALIVE-sized BGP message of `kind` with `body`.
fn bgp(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![0xff; 16];
    m.extend_from_slice(&u16::try_from(19 + body.len()).unwrap().to_be_bytes());
    m.push(kind);
    m.extend_from_slice(body);
    m
}

fn peer(address: IpAddr) -> PeerHeader {
    PeerHeader {
        peer_type: PeerType::Global,
        flags: 0,
        distinguisher: 0,
        address,
        asn: 65001,
        bgp_id: Ipv4Addr::new(192, 0, 2, 1),
        seconds: 1_700_000_000,
        micros: 123_456,
    }
}

fn round_trip(m: &Message) {
    let bytes = m.to_bytes().unwrap();
    assert_eq!(frame_len(&bytes).unwrap(), Some(bytes.len()));
    let (back, used) = decode(&bytes).unwrap();
    assert_eq!(used, bytes.len());
    assert_eq!(&back, m);
}

#[test]
fn every_message_type_round_trips() {
    let v4 = peer(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)));
    let v6 = peer(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1))).with(flags::V);
    // An empty UPDATE body: withdrawn length 0, attributes length 0.
    let update = bgp(2, &[0, 0, 0, 0]);
    round_trip(&Message::RouteMonitoring {
        peer: v4.clone().with(flags::L),
        update: update.clone(),
    });
    round_trip(&Message::RouteMonitoring {
        peer: v6.clone().with(flags::O | flags::L),
        update,
    });
    round_trip(&Message::StatisticsReport {
        peer: v4.clone(),
        stats: vec![
            Stat {
                kind: stat::REJECTED,
                value: StatValue::Counter(7),
            },
            Stat {
                kind: stat::ADJ_RIB_IN,
                value: StatValue::Gauge(1_050_000),
            },
            Stat {
                kind: stat::ADJ_RIB_IN_PER_AFI_SAFI,
                value: StatValue::FamilyGauge {
                    afi: 2,
                    safi: 1,
                    value: 42,
                },
            },
            Stat {
                kind: 999,
                value: StatValue::Raw(vec![1, 2, 3]),
            },
        ],
    });
    let notification = bgp(3, &[6, 2]);
    for reason in [
        PeerDownReason::LocalNotification(notification.clone()),
        PeerDownReason::LocalFsm(18),
        PeerDownReason::RemoteNotification(notification),
        PeerDownReason::RemoteNoData,
        PeerDownReason::Deconfigured,
        PeerDownReason::LocalTlv(vec![Tlv::string(info::STRING, "bye")]),
        PeerDownReason::Other {
            code: 77,
            data: vec![9],
        },
    ] {
        round_trip(&Message::PeerDown {
            peer: v6.clone(),
            reason,
        });
    }
    let open = bgp(1, &[4, 0xfd, 0xe9, 0, 90, 192, 0, 2, 1, 0]);
    round_trip(&Message::PeerUp(Box::new(PeerUp {
        peer: v4.clone(),
        local_address: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)),
        local_port: 179,
        remote_port: 40000,
        sent_open: open.clone(),
        received_open: open.clone(),
        information: vec![Tlv::string(info::STRING, "hello")],
    })));
    round_trip(&Message::PeerUp(Box::new(PeerUp {
        peer: v6,
        local_address: IpAddr::V6(Ipv6Addr::LOCALHOST),
        local_port: 4000,
        remote_port: 179,
        sent_open: open.clone(),
        received_open: open,
        information: vec![],
    })));
    round_trip(&Message::Initiation(vec![
        Tlv::string(info::SYS_NAME, "ribbit"),
        Tlv::string(info::SYS_DESCR, "Ribbit 0.1"),
    ]));
    round_trip(&Message::Termination(vec![Tlv {
        kind: info::TERMINATION_REASON,
        value: termination::ADMIN_CLOSE.to_be_bytes().to_vec(),
    }]));
    round_trip(&Message::RouteMirroring {
        peer: v4.clone(),
        tlvs: vec![Tlv {
            kind: 1,
            value: vec![0, 1],
        }],
    });
    round_trip(&Message::Unknown {
        kind: 99,
        body: vec![1, 2, 3],
    });
    let mut loc_rib = v4;
    loc_rib.peer_type = PeerType::LocRib;
    loc_rib.address = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
    round_trip(&Message::RouteMonitoring {
        peer: loc_rib.with(flags::F),
        update: bgp(2, &[0, 0, 0, 0]),
    });
}

#[test]
fn per_peer_header_is_42_bytes_and_v_follows_the_address() {
    let m = Message::PeerDown {
        peer: peer(IpAddr::V6(Ipv6Addr::LOCALHOST)),
        reason: PeerDownReason::RemoteNoData,
    };
    let bytes = m.to_bytes().unwrap();
    assert_eq!(bytes.len(), COMMON_HEADER_LEN + PER_PEER_HEADER_LEN + 1);
    assert_eq!(bytes[7], flags::V, "V set from the IPv6 address");
}

/// An Initiation and a Peer Down written byte by byte from RFC 7854 §4.
#[test]
fn hand_made_bytes_decode() {
    let mut init = vec![3, 0, 0, 0, 0, 4];
    init.extend_from_slice(&[0, 2, 0, 3, b'r', b'0', b'1']);
    init.extend_from_slice(&[0, 1, 0, 2, b'v', b'1']);
    let len = init.len() as u8;
    init[4] = len;
    let (m, used) = decode(&init).unwrap();
    assert_eq!(used, init.len());
    assert_eq!(
        m,
        Message::Initiation(vec![
            Tlv::string(info::SYS_NAME, "r01"),
            Tlv::string(info::SYS_DESCR, "v1"),
        ])
    );

    let mut down = vec![3, 0, 0, 0, 51, 2];
    down.extend_from_slice(&[0, 0]); // global peer, no flags
    down.extend_from_slice(&[0; 8]); // distinguisher
    down.extend_from_slice(&[0; 12]);
    down.extend_from_slice(&[10, 0, 0, 1]); // IPv4 in the last 4 bytes
    down.extend_from_slice(&65002u32.to_be_bytes());
    down.extend_from_slice(&[10, 0, 0, 1]);
    down.extend_from_slice(&5u32.to_be_bytes());
    down.extend_from_slice(&6u32.to_be_bytes());
    down.extend_from_slice(&[2, 0, 18]); // local close, FSM event 18
    let (m, _) = decode(&down).unwrap();
    let Message::PeerDown { peer, reason } = m else {
        panic!("not a peer down: {m:?}");
    };
    assert_eq!(peer.address, IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
    assert_eq!(peer.asn, 65002);
    assert_eq!((peer.seconds, peer.micros), (5, 6));
    assert_eq!(reason, PeerDownReason::LocalFsm(18));
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    assert_eq!(frame_len(&[3, 0, 0]).unwrap(), None);
    assert!(matches!(
        frame_len(&[1, 0, 0, 0, 6, 4]),
        Err(Error::Version(1))
    ));
    assert!(matches!(
        frame_len(&[3, 0, 0, 0, 5, 4]),
        Err(Error::Length { length: 5, .. })
    ));
    assert!(matches!(
        frame_len(&[3, 0xff, 0, 0, 0, 4]),
        Err(Error::Length { .. })
    ));
    // A TLV longer than the message.
    assert!(matches!(
        decode(&[3, 0, 0, 0, 10, 4, 0, 0, 0, 9]),
        Err(Error::Truncated { .. })
    ));
    // A route monitoring message whose UPDATE has no marker.
    let mut rm = vec![3, 0, 0, 0, 0, 0];
    rm.extend_from_slice(&[0; 42]);
    rm.extend_from_slice(&[0; 19]);
    rm[4] = rm.len() as u8;
    assert!(matches!(decode(&rm), Err(Error::Malformed { .. })));
    // A statistics count far above what the message holds.
    let mut st = vec![3, 0, 0, 0, 0, 1];
    st.extend_from_slice(&[0; 42]);
    st.extend_from_slice(&u32::MAX.to_be_bytes());
    st[4] = st.len() as u8;
    assert!(matches!(decode(&st), Err(Error::Truncated { .. })));
    // Encoding refuses what is not a BGP message.
    let m = Message::RouteMonitoring {
        peer: peer(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        update: vec![1, 2, 3],
    };
    let mut out = vec![7];
    assert!(matches!(m.encode(&mut out), Err(Error::NotBgp { .. })));
    assert_eq!(out, vec![7], "nothing written on error");
}

proptest! {
    /// Any bytes: no panic, and what decodes encodes back to a message that
    /// decodes the same.
    #[test]
    fn decode_never_panics(kind in 0u8..8, body in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut buf = vec![3, 0, 0, 0, 0, kind];
        buf.extend_from_slice(&body);
        let len = u32::try_from(buf.len()).unwrap();
        buf[1..5].copy_from_slice(&len.to_be_bytes());
        if let Ok((m, used)) = decode(&buf) {
            prop_assert_eq!(used, buf.len());
            let again = m.to_bytes().unwrap();
            prop_assert_eq!(decode(&again).unwrap().0, m);
        }
    }
}
