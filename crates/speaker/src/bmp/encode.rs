//! What the taps and the RIB know, as BMP messages (RFC 7854 §4): per-peer
//! headers of sessions, Peer Up and Peer Down, Route Monitoring of
//! UPDATEs as received or sent and of routes the RIB holds, End-of-RIB.
//! No I/O: the client in [`super`] writes what these produce.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::SystemTime;

use ribbit_bmp::{flags, info, Message, PeerDownReason, PeerHeader, PeerType, PeerUp, Tlv};
use ribbit_fsm::DownReason;
use ribbit_rib::RouteView;
use ribbit_wire::{
    AttributesView, Capability, EncodeContext, Family, Message as BgpMessage, MessageType,
    NlriList, Open, Update, UpdatePacker, HEADER_LEN,
};

use crate::tap::TapSession;

/// The RIB a Route Monitoring message reports on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// Adj-RIB-In before import policy (no flag).
    PrePolicy,
    /// Adj-RIB-In after import policy (L).
    PostPolicy,
    /// Adj-RIB-Out after export policy (O and L, RFC 8671 §4).
    AdjRibOut,
    /// The Loc-RIB (peer type 3, RFC 9069).
    LocRib,
}

/// The speaker itself, as the Loc-RIB peer of RFC 9069 sees it.
#[derive(Debug, Clone)]
pub struct Local {
    /// Our AS.
    pub asn: u32,
    /// Our BGP identifier.
    pub router_id: Ipv4Addr,
}

/// The per-peer header of a session's messages for `view`, stamped `at`.
pub fn peer_header(session: &TapSession, view: View, at: SystemTime) -> PeerHeader {
    let mut h = PeerHeader::global(session.peer, session.peer_asn, session.peer_id, at);
    // RFC 7854 §4.2: A is set when the UPDATEs carry 2-octet AS_PATHs,
    // which is what a session without the 4-octet AS capability uses.
    if !session.negotiated.four_octet_as {
        h.flags |= flags::A;
    }
    match view {
        View::PrePolicy => {}
        View::PostPolicy => h.flags |= flags::L,
        View::AdjRibOut => h.flags |= flags::O | flags::L,
        View::LocRib => {}
    }
    h
}

/// The per-peer header of the Loc-RIB instance (RFC 9069 §4.1): peer type
/// 3, zero address and distinguisher, our AS and identifier; F clear, as
/// Ribbit's Loc-RIB is not filtered.
pub fn loc_rib_header(local: &Local, at: SystemTime) -> PeerHeader {
    let mut h = PeerHeader::global(
        IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        local.asn,
        local.router_id,
        at,
    );
    h.peer_type = PeerType::LocRib;
    h
}

/// A BGP message as bytes (encoding an OPEN or a NOTIFICATION does not
/// depend on the session).
fn bgp_bytes(m: &BgpMessage) -> Vec<u8> {
    m.to_bytes(&EncodeContext::default())
}

/// The Peer Up of an established session (RFC 7854 §4.10), with both OPENs
/// as the session negotiated them (encoded again from their decoded form:
/// every capability is kept, unknown ones byte for byte).
pub fn peer_up(session: &TapSession) -> Message {
    let n = &session.negotiated;
    let local_address = session.local.map(|a| a.ip()).unwrap_or(match session.peer {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    });
    Message::PeerUp(Box::new(PeerUp {
        peer: peer_header(session, View::PrePolicy, session.up_at),
        local_address,
        local_port: session.local.map_or(0, |a| a.port()),
        remote_port: session.remote.map_or(0, |a| a.port()),
        sent_open: bgp_bytes(&BgpMessage::Open(n.local_open.clone())),
        received_open: bgp_bytes(&BgpMessage::Open(n.peer_open.clone())),
        information: Vec::new(),
    }))
}

/// The Peer Up of the Loc-RIB instance (RFC 9069 §5.3): no addresses or
/// ports; the OPEN, sent and received alike, describes the local router;
/// the VRF/Table Name TLV names the table.
pub fn loc_rib_up(local: &Local, families: &[Family], at: SystemTime) -> Message {
    let caps = families
        .iter()
        .map(|f| Capability::Multiprotocol(*f))
        .collect();
    let open = bgp_bytes(&BgpMessage::Open(Open::new(
        local.asn,
        0,
        local.router_id,
        caps,
    )));
    Message::PeerUp(Box::new(PeerUp {
        peer: loc_rib_header(local, at),
        local_address: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        local_port: 0,
        remote_port: 0,
        sent_open: open.clone(),
        received_open: open,
        information: vec![Tlv::string(info::VRF_TABLE_NAME, "global")],
    }))
}

/// The Peer Down of a session that ended (RFC 7854 §4.9).
pub fn peer_down(session: &TapSession, reason: &DownReason, at: SystemTime) -> Message {
    let reason = match reason {
        DownReason::NotificationSent(n) => {
            PeerDownReason::LocalNotification(bgp_bytes(&BgpMessage::Notification(n.clone())))
        }
        DownReason::NotificationReceived(n) => {
            PeerDownReason::RemoteNotification(bgp_bytes(&BgpMessage::Notification(n.clone())))
        }
        DownReason::ConnectionClosed => PeerDownReason::RemoteNoData,
        // Stopped without a NOTIFICATION: RFC 4271 §8.1.2 Event 2,
        // ManualStop.
        DownReason::Stopped => PeerDownReason::LocalFsm(2),
    };
    Message::PeerDown {
        peer: peer_header(session, View::PrePolicy, at),
        reason,
    }
}

/// The whole BGP messages in `buf` (back to back, as the taps hand them
/// over); stops at the first that is not whole.
pub fn bgp_messages(buf: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = buf;
    std::iter::from_fn(move || {
        let len = match rest.get(16..18)? {
            &[a, b] => usize::from(u16::from_be_bytes([a, b])),
            _ => return None,
        };
        if len < HEADER_LEN {
            return None;
        }
        let (m, tail) = (rest.get(..len)?, rest.get(len..)?);
        rest = tail;
        Some(m)
    })
}

/// Whether a whole BGP message is an UPDATE.
pub fn is_update(message: &[u8]) -> bool {
    message.get(18).copied() == Some(MessageType::Update as u8)
}

/// Append Route Monitoring messages for `routes` (as the RIB holds them)
/// with `header`, each in one UPDATE encoded with `ctx` (the context of
/// the session the view belongs to, so that a collector decodes them with
/// the OPENs of the Peer Up). Returns how many messages went out.
pub fn routes(
    routes: &[RouteView],
    header: &PeerHeader,
    ctx: EncodeContext,
    out: &mut Vec<u8>,
) -> usize {
    let packer = UpdatePacker::new(ctx);
    let mut update = Vec::new();
    let mut sent = 0usize;
    for r in routes {
        update.clear();
        // The tables keep a set's attributes encoded as a 4-octet AS
        // session sends them: for such a session they go as they are,
        // without being decoded and encoded again.
        let wire = r
            .attrs
            .wire()
            .filter(|_| ctx.four_octet_as)
            .and_then(|set| Some((AttributesView::parse(set.attribute_bytes())?, set)));
        let packed = match wire {
            Some((view, set)) => {
                packer.announce_encoded(r.family, view, set.next_hop(), &r.nlri, &mut update)
            }
            None => {
                let a = r.attrs.get();
                packer.announce(r.family, &a.attributes, a.next_hop, &r.nlri, &mut update)
            }
        };
        if packed.is_err() {
            // A route whose attributes do not fit a message was not sent
            // to any peer either; the collector does without it.
            continue;
        }
        sent = sent.saturating_add(monitor(header, &update, out));
    }
    sent
}

/// Append a Route Monitoring message withdrawing `nlri`.
pub fn withdraw(
    header: &PeerHeader,
    ctx: EncodeContext,
    family: Family,
    nlri: &NlriList,
    out: &mut Vec<u8>,
) -> usize {
    let mut update = Vec::new();
    if UpdatePacker::new(ctx)
        .withdraw(family, nlri, &mut update)
        .is_err()
    {
        return 0;
    }
    monitor(header, &update, out)
}

/// Append an End-of-RIB (RFC 4724 §2) for each family, which tells a
/// collector that the dump of the view is complete.
pub fn end_of_rib(
    header: &PeerHeader,
    ctx: EncodeContext,
    families: &BTreeSet<Family>,
    out: &mut Vec<u8>,
) {
    for f in families {
        let eor = BgpMessage::Update(Update::end_of_rib(*f)).to_bytes(&ctx);
        let _ = header.route_monitoring(&eor, out);
    }
}

/// One Route Monitoring message per UPDATE in `updates`.
fn monitor(header: &PeerHeader, updates: &[u8], out: &mut Vec<u8>) -> usize {
    bgp_messages(updates)
        .filter(|m| header.route_monitoring(m, out).is_ok())
        .count()
}

/// The context UPDATEs of the session's Adj-RIB-In are in (what the peer
/// sends us), as an encoding context.
pub fn received_context(session: &TapSession) -> EncodeContext {
    let n = &session.negotiated;
    EncodeContext {
        four_octet_as: n.four_octet_as,
        add_path: n.add_path_receive,
        extended_message: n.extended_message_receive,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bgp_messages_splits_and_stops_at_garbage() {
        let ka = BgpMessage::Keepalive.to_bytes(&EncodeContext::default());
        let up = BgpMessage::Update(Update::end_of_rib(Family::IPV4_UNICAST))
            .to_bytes(&EncodeContext::default());
        let mut buf = ka.clone();
        buf.extend_from_slice(&up);
        buf.extend_from_slice(&[0xff; 17]);
        let all: Vec<&[u8]> = bgp_messages(&buf).collect();
        assert_eq!(all, vec![&ka[..], &up[..]]);
        assert!(!is_update(all[0]) && is_update(all[1]));
    }

    /// Routes from the tables go out in wire form when the context has
    /// 4-octet AS numbers: the same bytes as encoding their decoded
    /// attributes, IPv4 and IPv6; a 2-octet context decodes them.
    #[test]
    fn wire_routes_encode_as_their_decoded_attributes_do() {
        use ribbit_rib::{AttrSet, PeerConfig, Rib, RibOptions, SessionInfo};
        use ribbit_wire::attribute::{AsPath, Community, Origin};
        use ribbit_wire::nlri::PrefixNlri;
        use ribbit_wire::update::{MpNlri, MpReach};
        use ribbit_wire::{NextHop, PathAttributes};

        let mut rib = Rib::new(RibOptions::new(65000, Ipv4Addr::new(10, 0, 0, 1)));
        let peer = rib.add_peer(PeerConfig::new("192.0.2.1".parse().unwrap(), 65001, 65000));
        rib.peer_up(
            peer,
            SessionInfo {
                router_id: Ipv4Addr::new(10, 0, 1, 1),
                families: vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST],
                encode: EncodeContext::default(),
                local_v4: Some(Ipv4Addr::new(192, 0, 2, 254)),
                local_v6: None,
                llgr: false,
                graceful_restart: None,
            },
        );
        let attributes = PathAttributes {
            origin: Some(Origin::Egp),
            as_path: Some(AsPath::sequence(vec![65001, 4_200_000_001, 174])),
            next_hop: Some(Ipv4Addr::new(192, 0, 2, 1)),
            med: Some(20),
            communities: vec![Community(0xfde9_0064), Community::NO_EXPORT],
            ..PathAttributes::default()
        };
        let v4 = Update {
            attributes: attributes.clone(),
            announced: vec![PrefixNlri {
                path_id: None,
                prefix: "198.51.100.0/24".parse().unwrap(),
            }],
            ..Update::default()
        };
        let v6 = Update {
            attributes: PathAttributes {
                next_hop: None,
                ..attributes
            },
            mp_reach: Some(MpReach {
                family: Family::IPV6_UNICAST,
                next_hop: NextHop::V6 {
                    global: "2001:db8::1".parse().unwrap(),
                    link_local: None,
                },
                nlri: MpNlri::Decoded(NlriList::Prefixes(vec![PrefixNlri {
                    path_id: None,
                    prefix: "2001:db8:100::/48".parse().unwrap(),
                }])),
            }),
            ..Update::default()
        };
        rib.apply_update(peer, &v4);
        rib.apply_update(peer, &v6);
        let header = PeerHeader::global(
            "192.0.2.1".parse().unwrap(),
            65001,
            Ipv4Addr::new(10, 0, 1, 1),
            SystemTime::UNIX_EPOCH,
        );
        let two_octet = EncodeContext {
            four_octet_as: false,
            ..EncodeContext::default()
        };
        for family in [Family::IPV4_UNICAST, Family::IPV6_UNICAST] {
            let wire = rib.loc_rib_page(family, None, 10);
            assert_eq!(wire.len(), 1, "{family}");
            assert!(wire[0].attrs.wire().is_some());
            let decoded: Vec<RouteView> = wire
                .iter()
                .map(|r| RouteView {
                    attrs: AttrSet::new(r.attrs.get().clone()),
                    ..r.clone()
                })
                .collect();
            assert!(decoded[0].attrs.wire().is_none());
            for ctx in [EncodeContext::default(), two_octet] {
                let (mut a, mut b) = (Vec::new(), Vec::new());
                assert_eq!(routes(&wire, &header, ctx, &mut a), 1);
                assert_eq!(routes(&decoded, &header, ctx, &mut b), 1);
                assert_eq!(a, b, "{family}, 4-octet AS: {}", ctx.four_octet_as);
            }
        }
    }
}
