//! Decoded UPDATEs from four neighbors of different kinds applied to the
//! tables, with sessions going down and up between them: no panic, and
//! every message the RIB produces for a neighbor decodes under that
//! neighbor's session context, within the size the session allows.
//!
//! Input: one byte of settings, then records of a neighbor byte and a
//! length byte followed by that many bytes of UPDATE body. The neighbor
//! byte's low two bits choose the neighbor; bit 3 has every neighbor's
//! due messages taken after the record; its top three bits turn the
//! record into a session event instead (5 up again, 6 down gracefully, 7
//! down and up).
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use libfuzzer_sys::fuzz_target;
use ribbit_rib::{AddPathSend, GracefulDown, PeerConfig, PeerId, Rib, RibOptions, SessionInfo};
use ribbit_wire::{EncodeContext, Family, FamilySet, Message, Update};

const LOCAL_AS: u32 = 65000;

/// Neighbor `n`'s configuration: 0 eBGP with a 2-octet AS session, 1 a
/// route server client (or a route reflector client over iBGP), 2 iBGP,
/// 3 eBGP sent every path with ADD-PATH.
fn config(n: u8, settings: u8) -> PeerConfig {
    let address = IpAddr::V4(Ipv4Addr::new(192, 0, 2, n + 1));
    let ibgp = n == 2 || (n == 1 && settings & 2 != 0);
    let asn = if ibgp { LOCAL_AS } else { 65001 + u32::from(n) };
    let mut c = PeerConfig::new(address, asn, LOCAL_AS);
    match n {
        1 if ibgp => c.route_reflector_client = true,
        1 => c.route_server_client = settings & 1 != 0,
        3 => c.add_path_send = vec![(Family::IPV4_UNICAST, AddPathSend::All)],
        _ => {}
    }
    c.keep_adj_rib_in = settings & 4 != 0;
    c.allow_own_as = settings >> 6;
    c
}

/// Neighbor `n`'s session, as both ends encode it.
fn encode(n: u8, settings: u8) -> EncodeContext {
    let mut add_path = FamilySet::default();
    if n == 3 {
        add_path.insert(Family::IPV4_UNICAST);
    }
    EncodeContext {
        four_octet_as: n != 0,
        add_path,
        extended_message: settings & 8 != 0,
    }
}

fn session(n: u8, settings: u8) -> SessionInfo {
    SessionInfo {
        router_id: Ipv4Addr::new(10, 0, 1, n + 1),
        families: Family::known().collect(),
        encode: encode(n, settings),
        local_v4: Some(Ipv4Addr::new(192, 0, 2, 254)),
        local_v6: Some(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0xffff)),
        llgr: settings & 16 != 0,
        graceful_restart: Some(false),
    }
}

/// Every message due to each neighbor, decoded as it would read them.
fn drain(rib: &mut Rib, peers: &[PeerId], settings: u8) {
    for (n, &p) in (0u8..).zip(peers) {
        let sent_with = encode(n, settings);
        let (ctx, limit) = (sent_with.mirror(), sent_with.max_message_len());
        let mut rounds = 0;
        while rib.has_pending(p) && rounds < 64 {
            rounds += 1;
            let mut out = Vec::new();
            rib.take_messages(p, 16 * 1024, &mut out);
            for m in &out {
                assert!(m.len() <= limit, "a message of {} bytes", m.len());
                if let Err(e) = Message::decode(m, &ctx) {
                    panic!("neighbor {n} cannot read what it was sent: {e:?} {m:02x?}");
                }
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&settings, mut rest)) = data.split_first() else {
        return;
    };
    let mut options = RibOptions::new(LOCAL_AS, Ipv4Addr::new(10, 0, 0, 1));
    options.cluster_id = (settings & 32 != 0).then_some(Ipv4Addr::new(10, 0, 0, 9));
    let mut rib = Rib::new(options);
    let peers: Vec<PeerId> = (0..4u8)
        .map(|n| rib.add_peer(config(n, settings)))
        .collect();
    for (n, &p) in (0u8..).zip(&peers) {
        rib.peer_up(p, session(n, settings));
    }
    let mut update = Update::default();
    // Which sessions are up: the speaker only reports a session going
    // down when it was up, and up when it was down.
    let mut up = [true; 4];
    while let [who, len, tail @ ..] = rest {
        let n = who & 3;
        let peer = peers[usize::from(n)];
        let len = usize::from(*len).min(tail.len());
        let (body, next) = tail.split_at(len);
        rest = next;
        let was_up = up[usize::from(n)];
        match who >> 5 {
            // A session goes down, plainly or gracefully, and comes back.
            7 if was_up => {
                rib.peer_down(peer, None);
                rib.peer_up(peer, session(n, settings));
            }
            6 if was_up => {
                rib.peer_down(
                    peer,
                    Some(GracefulDown {
                        families: vec![Family::IPV4_UNICAST],
                        long_lived: vec![Family::IPV6_UNICAST],
                    }),
                );
                up[usize::from(n)] = false;
            }
            5 if !was_up => {
                rib.peer_up(peer, session(n, settings));
                up[usize::from(n)] = true;
            }
            5..=7 => {}
            _ => {
                let ctx = encode(n, settings).mirror();
                if update.decode_into(body, &ctx).is_ok() {
                    rib.apply_update(peer, &update);
                }
            }
        }
        if who & 8 != 0 {
            drain(&mut rib, &peers, settings);
        }
    }
    drain(&mut rib, &peers, settings);
});
