//! OPEN negotiation: what two speakers agreed on (RFC 4271 §6.2, RFC 5492,
//! RFC 4760, RFC 6793, RFC 7911, RFC 8654, RFC 8950, RFC 9234).

use std::net::Ipv4Addr;

use ribbit_wire::attribute::AS_TRANS;
use ribbit_wire::capability::{AddPathMode, Capability, GracefulRestartFamily, Role};
use ribbit_wire::notification::{code, subcode};
use ribbit_wire::{Afi, DecodeContext, EncodeContext, Family, FamilySet, Notification, Open};

/// What this speaker offers on a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalSettings {
    /// Our AS.
    pub asn: u32,
    /// The AS the peer must have.
    pub peer_asn: u32,
    /// Our BGP identifier.
    pub router_id: Ipv4Addr,
    /// Hold time we propose, seconds (0, or 3 and more).
    pub hold_time: u16,
    /// Families we want.
    pub families: Vec<Family>,
    /// Advertise route refresh (RFC 2918).
    pub route_refresh: bool,
    /// Advertise enhanced route refresh (RFC 7313).
    pub enhanced_route_refresh: bool,
    /// Advertise the extended message capability (RFC 8654).
    pub extended_message: bool,
    /// ADD-PATH modes we offer, per family (RFC 7911).
    pub add_path: Vec<(Family, AddPathMode)>,
    /// Extended next hop encodings we accept (RFC 8950): NLRI family and next-hop AFI.
    pub extended_next_hop: Vec<(Family, Afi)>,
    /// Our BGP role (RFC 9234), if configured.
    pub role: Option<Role>,
    /// Extra capabilities to advertise as they are (graceful restart, FQDN, ...).
    pub extra: Vec<Capability>,
}

impl LocalSettings {
    /// The OPEN we send.
    pub fn open(&self) -> Open {
        let mut caps: Vec<Capability> = self
            .families
            .iter()
            .copied()
            .map(Capability::Multiprotocol)
            .collect();
        if self.route_refresh {
            caps.push(Capability::RouteRefresh);
        }
        if self.enhanced_route_refresh {
            caps.push(Capability::EnhancedRouteRefresh);
        }
        caps.push(Capability::FourOctetAs(self.asn));
        if !self.add_path.is_empty() {
            caps.push(Capability::AddPath(self.add_path.clone()));
        }
        if self.extended_message {
            caps.push(Capability::ExtendedMessage);
        }
        if !self.extended_next_hop.is_empty() {
            caps.push(Capability::ExtendedNextHop(self.extended_next_hop.clone()));
        }
        if let Some(role) = self.role {
            caps.push(Capability::Role(role));
        }
        caps.extend(self.extra.iter().cloned());
        Open::new(self.asn, self.hold_time, self.router_id, caps)
    }
}

/// What both sides agreed on. The codec takes its contexts from here for
/// every message after the OPEN exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// The OPEN we sent.
    pub local_open: Open,
    /// The OPEN the peer sent.
    pub peer_open: Open,
    /// The peer's AS (4-octet capability or My AS).
    pub peer_asn: u32,
    /// Families both sides announced (RFC 4760 §8).
    pub families: Vec<Family>,
    /// Both sides have 4-octet AS numbers (RFC 6793).
    pub four_octet_as: bool,
    /// Both sides support route refresh.
    pub route_refresh: bool,
    /// Both sides support enhanced route refresh (RFC 7313).
    pub enhanced_route_refresh: bool,
    /// Families where we receive path identifiers.
    pub add_path_receive: FamilySet,
    /// Families where we send path identifiers.
    pub add_path_send: FamilySet,
    /// We may send messages up to 65535 bytes (the peer announced it).
    pub extended_message_send: bool,
    /// We accept messages up to 65535 bytes (we announced it).
    pub extended_message_receive: bool,
    /// Extended next hop encodings both announced.
    pub extended_next_hop: Vec<(Family, Afi)>,
    /// Hold time in seconds: the smaller of both, 0 meaning none.
    pub hold_time: u16,
    /// Keepalive interval in seconds: a third of the hold time (RFC 4271 §10).
    pub keepalive: u16,
    /// What the peer announced of graceful restart (RFC 4724), limited to
    /// the negotiated families.
    pub peer_graceful_restart: Option<PeerGracefulRestart>,
}

/// The peer's Graceful Restart capability (RFC 4724 §3), for the families
/// both sides negotiated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerGracefulRestart {
    /// How long to keep its routes when the session drops, in seconds.
    pub restart_time: u16,
    /// The peer has just restarted (R bit).
    pub restarting: bool,
    /// The peer supports the graceful NOTIFICATION of RFC 8538 (N bit).
    pub notification: bool,
    /// Families whose forwarding state the peer may preserve, with the F bit.
    pub families: Vec<GracefulRestartFamily>,
}

impl Negotiated {
    /// How to decode what the peer sends.
    pub fn decode_context(&self) -> DecodeContext {
        DecodeContext {
            four_octet_as: self.four_octet_as,
            add_path: self.add_path_receive,
            extended_message: self.extended_message_receive,
        }
    }

    /// How to encode what we send.
    pub fn encode_context(&self) -> EncodeContext {
        EncodeContext {
            four_octet_as: self.four_octet_as,
            add_path: self.add_path_send,
            extended_message: self.extended_message_send,
        }
    }

    /// Whether the peer is in our AS.
    pub fn is_ibgp(&self) -> bool {
        self.peer_asn == self.local_open.asn()
    }
}

fn notification(sub: u8, data: Vec<u8>) -> Notification {
    Notification::new(code::OPEN, sub, data)
}

/// Check the peer's OPEN against our settings and work out what was agreed.
/// Errors are the NOTIFICATION to send (RFC 4271 §6.2, RFC 5492 §5).
pub fn negotiate(
    local: &LocalSettings,
    local_open: &Open,
    peer: &Open,
) -> Result<Negotiated, Notification> {
    let peer_asn = peer.asn();
    // RFC 6793 §4.1: a 4-octet capable peer with a 2-octet AS puts the same
    // value in My AS; one that needs 4 octets puts AS_TRANS there.
    let my_as_ok = u16::try_from(peer_asn).map_or(peer.my_as == AS_TRANS as u16, |two| {
        two == peer.my_as || peer.my_as == AS_TRANS as u16
    });
    if peer_asn != local.peer_asn || !my_as_ok {
        return Err(notification(
            subcode::BAD_PEER_AS,
            peer.my_as.to_be_bytes().to_vec(),
        ));
    }
    // RFC 6286 §2.2: within one AS the identifiers must differ.
    if peer_asn == local.asn && peer.router_id == local.router_id {
        return Err(notification(
            subcode::BAD_BGP_IDENTIFIER,
            peer.router_id.octets().to_vec(),
        ));
    }

    let caps = &peer.capabilities;
    let peer_families: Vec<Family> = caps
        .iter()
        .filter_map(|c| match c {
            Capability::Multiprotocol(f) => Some(*f),
            _ => None,
        })
        .collect();
    // RFC 4760 §8: a speaker that sends no multiprotocol capability speaks
    // IPv4 unicast only.
    let families: Vec<Family> = local
        .families
        .iter()
        .copied()
        .filter(|f| {
            if peer_families.is_empty() {
                *f == Family::IPV4_UNICAST
            } else {
                peer_families.contains(f)
            }
        })
        .collect();
    if families.is_empty() {
        // RFC 5492 §5: tell the peer which capabilities we needed.
        let mut data = Vec::new();
        for f in &local.families {
            Capability::Multiprotocol(*f).encode(&mut data);
        }
        return Err(notification(subcode::UNSUPPORTED_CAPABILITY, data));
    }

    // RFC 9234 §4.2: roles must be a valid pair when both announce one.
    let peer_role = caps.iter().find_map(|c| match c {
        Capability::Role(r) => Some(*r),
        _ => None,
    });
    if let (Some(ours), Some(theirs)) = (local.role, peer_role) {
        let ok = matches!(
            (ours, theirs),
            (Role::Provider, Role::Customer)
                | (Role::Customer, Role::Provider)
                | (Role::RouteServer, Role::RouteServerClient)
                | (Role::RouteServerClient, Role::RouteServer)
                | (Role::Peer, Role::Peer)
        );
        if !ok {
            return Err(notification(subcode::ROLE_MISMATCH, vec![theirs.code()]));
        }
    }

    let has = |want: fn(&Capability) -> bool| caps.iter().any(want);
    let four_octet_as = has(|c| matches!(c, Capability::FourOctetAs(_)));
    let peer_rr = has(|c| matches!(c, Capability::RouteRefresh));
    let peer_err = has(|c| matches!(c, Capability::EnhancedRouteRefresh));
    let peer_ext_msg = has(|c| matches!(c, Capability::ExtendedMessage));

    let peer_add_path: Vec<(Family, AddPathMode)> = caps
        .iter()
        .filter_map(|c| match c {
            Capability::AddPath(v) => Some(v.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    let mut add_path_receive = FamilySet::EMPTY;
    let mut add_path_send = FamilySet::EMPTY;
    for (family, ours) in &local.add_path {
        if !families.contains(family) {
            continue;
        }
        if let Some((_, theirs)) = peer_add_path.iter().find(|(f, _)| f == family) {
            // RFC 7911 §4: we receive when we said receive and they said send.
            if ours.receives() && theirs.sends() {
                add_path_receive.insert(*family);
            }
            if ours.sends() && theirs.receives() {
                add_path_send.insert(*family);
            }
        }
    }

    let peer_enh: Vec<(Family, Afi)> = caps
        .iter()
        .filter_map(|c| match c {
            Capability::ExtendedNextHop(v) => Some(v.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    let extended_next_hop = local
        .extended_next_hop
        .iter()
        .copied()
        .filter(|e| peer_enh.contains(e))
        .collect();

    let peer_graceful_restart = caps.iter().find_map(|c| match c {
        Capability::GracefulRestart {
            restarting,
            notification,
            restart_time,
            families: gr_families,
        } => Some(PeerGracefulRestart {
            restart_time: *restart_time,
            restarting: *restarting,
            notification: *notification,
            families: gr_families
                .iter()
                .copied()
                .filter(|g| families.contains(&g.family))
                .collect(),
        }),
        _ => None,
    });

    let hold_time = local.hold_time.min(peer.hold_time);
    Ok(Negotiated {
        local_open: local_open.clone(),
        peer_open: peer.clone(),
        peer_asn,
        families,
        four_octet_as,
        route_refresh: local.route_refresh && (peer_rr || peer_err),
        enhanced_route_refresh: local.enhanced_route_refresh && peer_err,
        add_path_receive,
        add_path_send,
        extended_message_send: local.extended_message && peer_ext_msg,
        extended_message_receive: local.extended_message,
        extended_next_hop,
        hold_time,
        keepalive: hold_time / 3,
        peer_graceful_restart,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local() -> LocalSettings {
        LocalSettings {
            asn: 65000,
            peer_asn: 4_200_000_000,
            router_id: Ipv4Addr::new(192, 0, 2, 1),
            hold_time: 90,
            families: vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST],
            route_refresh: true,
            enhanced_route_refresh: true,
            extended_message: true,
            add_path: vec![
                (Family::IPV4_UNICAST, AddPathMode::Both),
                (Family::IPV6_UNICAST, AddPathMode::Receive),
            ],
            extended_next_hop: vec![],
            role: None,
            extra: vec![],
        }
    }

    fn peer(caps: Vec<Capability>) -> Open {
        Open::new(4_200_000_000, 30, Ipv4Addr::new(192, 0, 2, 2), caps)
    }

    #[test]
    fn intersects_capabilities() {
        let l = local();
        let p = peer(vec![
            Capability::Multiprotocol(Family::IPV4_UNICAST),
            Capability::Multiprotocol(Family::IPV6_UNICAST),
            Capability::Multiprotocol(Family::IPV4_FLOWSPEC),
            Capability::RouteRefresh,
            Capability::AddPath(vec![
                (Family::IPV4_UNICAST, AddPathMode::Receive),
                (Family::IPV6_UNICAST, AddPathMode::Send),
            ]),
        ]);
        let n = negotiate(&l, &l.open(), &p).unwrap();
        assert_eq!(n.families, vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST]);
        assert_eq!(n.hold_time, 30);
        assert_eq!(n.keepalive, 10);
        assert!(n.four_octet_as && n.route_refresh && !n.enhanced_route_refresh);
        assert!(n.add_path_send.contains(Family::IPV4_UNICAST));
        assert!(!n.add_path_receive.contains(Family::IPV4_UNICAST));
        assert!(n.add_path_receive.contains(Family::IPV6_UNICAST));
        assert!(!n.extended_message_send && n.extended_message_receive);
        assert_eq!(p.my_as, 23456);
    }

    #[test]
    fn graceful_restart_is_kept_for_negotiated_families() {
        let l = local();
        let gr = |family| GracefulRestartFamily {
            family,
            forwarding_preserved: true,
        };
        let p = peer(vec![
            Capability::Multiprotocol(Family::IPV4_UNICAST),
            Capability::GracefulRestart {
                restarting: true,
                notification: false,
                restart_time: 120,
                families: vec![gr(Family::IPV4_UNICAST), gr(Family::IPV4_FLOWSPEC)],
            },
        ]);
        let n = negotiate(&l, &l.open(), &p).unwrap();
        let g = n.peer_graceful_restart.unwrap();
        assert_eq!((g.restart_time, g.restarting), (120, true));
        assert_eq!(g.families, vec![gr(Family::IPV4_UNICAST)]);
        assert!(negotiate(&l, &l.open(), &peer(vec![]))
            .unwrap()
            .peer_graceful_restart
            .is_none());
    }

    #[test]
    fn rejects_wrong_peer_as_and_identifier() {
        let l = local();
        let mut p = Open::new(65001, 90, Ipv4Addr::new(192, 0, 2, 2), vec![]);
        let e = negotiate(&l, &l.open(), &p).unwrap_err();
        assert_eq!(
            (e.code, e.subcode, e.data.clone()),
            (2, 2, vec![0xfd, 0xe9])
        );
        // iBGP with our own identifier.
        let mut ibgp = local();
        ibgp.peer_asn = 65000;
        p = Open::new(65000, 90, Ipv4Addr::new(192, 0, 2, 1), vec![]);
        assert_eq!(negotiate(&ibgp, &ibgp.open(), &p).unwrap_err().subcode, 3);
        // A 2-octet speaker cannot claim a 4-octet AS.
        let two = Open {
            version: 4,
            my_as: 23456,
            hold_time: 90,
            router_id: Ipv4Addr::new(1, 1, 1, 1),
            capabilities: vec![],
        };
        assert_eq!(negotiate(&l, &l.open(), &two).unwrap_err().subcode, 2);
    }

    #[test]
    fn no_common_family_is_unsupported_capability() {
        let l = local();
        let p = peer(vec![Capability::Multiprotocol(Family::IPV4_FLOWSPEC)]);
        let e = negotiate(&l, &l.open(), &p).unwrap_err();
        assert_eq!((e.code, e.subcode), (2, 7));
        assert_eq!(&e.data[..6], &[1, 4, 0, 1, 0, 1]);
        // No multiprotocol capability at all means IPv4 unicast.
        let n = negotiate(&l, &l.open(), &peer(vec![])).unwrap();
        assert_eq!(n.families, vec![Family::IPV4_UNICAST]);
    }

    #[test]
    fn role_mismatch() {
        let mut l = local();
        l.role = Some(Role::Customer);
        let p = peer(vec![Capability::Role(Role::Customer)]);
        assert_eq!(negotiate(&l, &l.open(), &p).unwrap_err().subcode, 11);
        let p = peer(vec![Capability::Role(Role::Provider)]);
        assert!(negotiate(&l, &l.open(), &p).is_ok());
    }
}
