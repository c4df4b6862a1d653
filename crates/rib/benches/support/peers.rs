//! The neighbors of the benchmarks and the full-table measurements: an
//! eBGP source of the table and an eBGP monitor, IPv4 unicast.

use std::net::{IpAddr, Ipv4Addr};

use ribbit_rib::{PeerConfig, PeerId, Rib, RibOptions, SessionInfo};
use ribbit_wire::{EncodeContext, Family};

/// An IPv4 unicast session with BGP identifier `router_id`.
pub fn session(router_id: [u8; 4]) -> SessionInfo {
    SessionInfo {
        router_id: Ipv4Addr::from(router_id),
        families: vec![Family::IPV4_UNICAST],
        encode: EncodeContext::default(),
        local_v4: Some(Ipv4Addr::new(192, 0, 2, 254)),
        local_v6: None,
        llgr: false,
        graceful_restart: None,
    }
}

/// A RIB (AS 65000) with the table's source (AS 65001, 192.0.2.1) and a
/// monitor (AS 65002, 192.0.2.2), both up.
pub fn source_and_monitor() -> (Rib, PeerId, PeerId) {
    let mut rib = Rib::new(RibOptions::new(65000, Ipv4Addr::new(10, 0, 0, 1)));
    let src = rib.add_peer(PeerConfig::new(
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        65001,
        65000,
    ));
    let mon = rib.add_peer(PeerConfig::new(
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)),
        65002,
        65000,
    ));
    rib.peer_up(src, session([10, 0, 1, 1]));
    rib.peer_up(mon, session([10, 0, 1, 2]));
    (rib, src, mon)
}
