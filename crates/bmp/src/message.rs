//! BMP messages: the common header, the per-peer header and the message
//! bodies of RFC 7854 §4, RFC 8671 and RFC 9069.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::Error;
use crate::{flags, COMMON_HEADER_LEN, MAX_MESSAGE_LEN, VERSION};

/// Bytes of a BGP message header (RFC 4271 §4.1).
const BGP_HEADER_LEN: usize = 19;

/// BMP message types (RFC 7854 §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    /// 0: Route Monitoring.
    RouteMonitoring,
    /// 1: Statistics Report.
    StatisticsReport,
    /// 2: Peer Down Notification.
    PeerDown,
    /// 3: Peer Up Notification.
    PeerUp,
    /// 4: Initiation.
    Initiation,
    /// 5: Termination.
    Termination,
    /// 6: Route Mirroring.
    RouteMirroring,
}

impl MessageType {
    /// The type code.
    pub fn code(self) -> u8 {
        match self {
            MessageType::RouteMonitoring => 0,
            MessageType::StatisticsReport => 1,
            MessageType::PeerDown => 2,
            MessageType::PeerUp => 3,
            MessageType::Initiation => 4,
            MessageType::Termination => 5,
            MessageType::RouteMirroring => 6,
        }
    }

    /// The type of a code, if known.
    pub fn from_code(code: u8) -> Option<MessageType> {
        Some(match code {
            0 => MessageType::RouteMonitoring,
            1 => MessageType::StatisticsReport,
            2 => MessageType::PeerDown,
            3 => MessageType::PeerUp,
            4 => MessageType::Initiation,
            5 => MessageType::Termination,
            6 => MessageType::RouteMirroring,
            _ => return None,
        })
    }
}

/// Peer types (RFC 7854 §4.2, RFC 9069 §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerType {
    /// 0: Global Instance Peer.
    Global,
    /// 1: RD Instance Peer.
    Rd,
    /// 2: Local Instance Peer.
    Local,
    /// 3: Loc-RIB Instance Peer (RFC 9069).
    LocRib,
    /// Any other code.
    Other(u8),
}

impl PeerType {
    /// The type code.
    pub fn code(self) -> u8 {
        match self {
            PeerType::Global => 0,
            PeerType::Rd => 1,
            PeerType::Local => 2,
            PeerType::LocRib => 3,
            PeerType::Other(c) => c,
        }
    }

    /// The type of a code.
    pub fn from_code(code: u8) -> PeerType {
        match code {
            0 => PeerType::Global,
            1 => PeerType::Rd,
            2 => PeerType::Local,
            3 => PeerType::LocRib,
            c => PeerType::Other(c),
        }
    }
}

/// The per-peer header (RFC 7854 §4.2), 42 bytes:
///
/// ```text
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |   Peer Type   |  Peer Flags   |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |         Peer Distinguisher (present based on peer type)       |
/// |                                                               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                 Peer Address (16 bytes)                       |
/// ~                                                               ~
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                           Peer AS                             |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                         Peer BGP ID                           |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                    Timestamp (seconds)                        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                  Timestamp (microseconds)                     |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
///
/// Flags: `V L A O 0 0 0 0` ([`flags`]); on a Loc-RIB peer only `F`.
/// An IPv4 address sits in the last 4 bytes of the address field, the
/// others zero. The V flag is derived from the address when encoding
/// (except on Loc-RIB peers, whose address is zero, RFC 9069 §4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerHeader {
    /// Peer type.
    pub peer_type: PeerType,
    /// Flags ([`flags`]).
    pub flags: u8,
    /// Peer distinguisher (route distinguisher for RD peers; zero for
    /// global peers).
    pub distinguisher: u64,
    /// The peer's address.
    pub address: IpAddr,
    /// The peer's AS.
    pub asn: u32,
    /// The peer's BGP identifier.
    pub bgp_id: Ipv4Addr,
    /// When the information was received or the event happened: seconds
    /// since the Unix epoch.
    pub seconds: u32,
    /// Microseconds within `seconds`.
    pub micros: u32,
}

impl PeerHeader {
    /// A global-instance peer header for `address`, stamped `at`.
    pub fn global(address: IpAddr, asn: u32, bgp_id: Ipv4Addr, at: SystemTime) -> PeerHeader {
        let (seconds, micros) = timestamp(at);
        PeerHeader {
            peer_type: PeerType::Global,
            flags: 0,
            distinguisher: 0,
            address,
            asn,
            bgp_id,
            seconds,
            micros,
        }
    }

    /// The same header with `flag` set.
    pub fn with(mut self, flag: u8) -> PeerHeader {
        self.flags |= flag;
        self
    }

    /// Whether the L flag (post-policy) is set.
    pub fn post_policy(&self) -> bool {
        self.flags & flags::L != 0
    }

    /// Whether the O flag (Adj-RIB-Out, RFC 8671) is set.
    pub fn adj_rib_out(&self) -> bool {
        self.peer_type != PeerType::LocRib && self.flags & flags::O != 0
    }

    /// Whether the A flag (2-octet AS_PATH) is set.
    pub fn legacy_as_path(&self) -> bool {
        self.peer_type != PeerType::LocRib && self.flags & flags::A != 0
    }

    /// The flags as written: V follows the address, except on Loc-RIB peers.
    fn wire_flags(&self) -> u8 {
        if self.peer_type == PeerType::LocRib {
            return self.flags;
        }
        match self.address {
            IpAddr::V4(_) => self.flags & !flags::V,
            IpAddr::V6(_) => self.flags | flags::V,
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.peer_type.code());
        out.push(self.wire_flags());
        out.extend_from_slice(&self.distinguisher.to_be_bytes());
        put_address(self.address, out);
        out.extend_from_slice(&self.asn.to_be_bytes());
        out.extend_from_slice(&self.bgp_id.octets());
        out.extend_from_slice(&self.seconds.to_be_bytes());
        out.extend_from_slice(&self.micros.to_be_bytes());
    }

    fn decode(r: &mut Cursor<'_>) -> Result<PeerHeader, Error> {
        let peer_type = PeerType::from_code(r.u8("peer type")?);
        let flags = r.u8("peer flags")?;
        let distinguisher = r.u64("peer distinguisher")?;
        let raw = r.array::<16>("peer address")?;
        let v6 = peer_type != PeerType::LocRib && flags & flags::V != 0;
        let address = address_from(raw, v6, peer_type == PeerType::LocRib);
        Ok(PeerHeader {
            peer_type,
            flags,
            distinguisher,
            address,
            asn: r.u32("peer AS")?,
            bgp_id: Ipv4Addr::from(r.array::<4>("peer BGP ID")?),
            seconds: r.u32("timestamp")?,
            micros: r.u32("timestamp")?,
        })
    }

    /// Whether addresses in this peer's messages are IPv6 (V flag).
    fn v6(&self) -> bool {
        self.wire_flags() & flags::V != 0 && self.peer_type != PeerType::LocRib
    }
}

/// Seconds and microseconds since the Unix epoch (zero before it; the
/// seconds saturate in 2106).
fn timestamp(at: SystemTime) -> (u32, u32) {
    let d = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    (
        u32::try_from(d.as_secs()).unwrap_or(u32::MAX),
        d.subsec_micros(),
    )
}

/// A 16-byte address field: IPv4 in the last 4 bytes.
fn put_address(addr: IpAddr, out: &mut Vec<u8>) {
    match addr {
        IpAddr::V4(a) => {
            out.extend_from_slice(&[0; 12]);
            out.extend_from_slice(&a.octets());
        }
        IpAddr::V6(a) => out.extend_from_slice(&a.octets()),
    }
}

/// The address in a 16-byte field. With `guess` (Loc-RIB peers, which have
/// no V flag), twelve leading zeros mean IPv4.
fn address_from(raw: [u8; 16], v6: bool, guess: bool) -> IpAddr {
    let [_, _, _, _, _, _, _, _, _, _, _, _, a, b, c, d] = raw;
    let v4 = Ipv4Addr::new(a, b, c, d);
    if v6 || (guess && raw.iter().take(12).any(|&x| x != 0)) {
        IpAddr::V6(Ipv6Addr::from(raw))
    } else {
        IpAddr::V4(v4)
    }
}

/// A type-length-value of Initiation, Peer Up, Termination and Route
/// Mirroring messages (RFC 7854 §4.4): type (2), length (2), value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tlv {
    /// The type ([`crate::info`]).
    pub kind: u16,
    /// The value.
    pub value: Vec<u8>,
}

impl Tlv {
    /// A TLV holding a string.
    pub fn string(kind: u16, value: &str) -> Tlv {
        Tlv {
            kind,
            value: value.as_bytes().to_vec(),
        }
    }

    /// The value as text (lossy: invalid UTF-8 becomes U+FFFD).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.value).into_owned()
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        let len = u16::try_from(self.value.len()).map_err(|_| Error::TooLong {
            what: "information TLV",
            len: self.value.len(),
        })?;
        out.extend_from_slice(&self.kind.to_be_bytes());
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&self.value);
        Ok(())
    }

    fn decode_all(r: &mut Cursor<'_>) -> Result<Vec<Tlv>, Error> {
        let mut tlvs = Vec::new();
        while !r.is_empty() {
            let kind = r.u16("TLV type")?;
            let len = r.u16("TLV length")?;
            let value = r.take(usize::from(len), "TLV value")?.to_vec();
            tlvs.push(Tlv { kind, value });
        }
        Ok(tlvs)
    }
}

/// One statistic of a Statistics Report (RFC 7854 §4.8):
///
/// ```text
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |         Stat Type             |          Stat Len             |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                        Stat Data                              |
/// ~                                                               ~
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stat {
    /// The type ([`crate::stat`]).
    pub kind: u16,
    /// The value.
    pub value: StatValue,
}

/// The value of a statistic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatValue {
    /// A 32-bit counter (types 0-6, 11-13).
    Counter(u32),
    /// A 64-bit gauge (types 7, 8, 14, 15).
    Gauge(u64),
    /// A 64-bit gauge for one AFI/SAFI (types 9, 10, 16, 17): AFI (2),
    /// SAFI (1), gauge (8).
    FamilyGauge {
        /// AFI.
        afi: u16,
        /// SAFI.
        safi: u8,
        /// The gauge.
        value: u64,
    },
    /// A type not known here, or a known type whose length does not match
    /// it: the raw bytes.
    Raw(Vec<u8>),
}

impl Stat {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        let mut value = Vec::new();
        match &self.value {
            StatValue::Counter(c) => value.extend_from_slice(&c.to_be_bytes()),
            StatValue::Gauge(g) => value.extend_from_slice(&g.to_be_bytes()),
            StatValue::FamilyGauge {
                afi,
                safi,
                value: g,
            } => {
                value.extend_from_slice(&afi.to_be_bytes());
                value.push(*safi);
                value.extend_from_slice(&g.to_be_bytes());
            }
            StatValue::Raw(raw) => value.extend_from_slice(raw),
        }
        let len = u16::try_from(value.len()).map_err(|_| Error::TooLong {
            what: "statistic",
            len: value.len(),
        })?;
        out.extend_from_slice(&self.kind.to_be_bytes());
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&value);
        Ok(())
    }

    fn decode(r: &mut Cursor<'_>) -> Result<Stat, Error> {
        use crate::stat::*;
        let kind = r.u16("stat type")?;
        let len = r.u16("stat length")?;
        let raw = r.take(usize::from(len), "stat data")?;
        let value = match (kind, raw) {
            (REJECTED..=AS_CONFED_LOOP | TREAT_AS_WITHDRAW..=DUPLICATE_UPDATE, &[a, b, c, d]) => {
                StatValue::Counter(u32::from_be_bytes([a, b, c, d]))
            }
            (
                ADJ_RIB_IN | LOC_RIB | ADJ_RIB_OUT_PRE | ADJ_RIB_OUT_POST,
                &[a, b, c, d, e, f, g, h],
            ) => StatValue::Gauge(u64::from_be_bytes([a, b, c, d, e, f, g, h])),
            (
                ADJ_RIB_IN_PER_AFI_SAFI
                | LOC_RIB_PER_AFI_SAFI
                | ADJ_RIB_OUT_PRE_PER_AFI_SAFI
                | ADJ_RIB_OUT_POST_PER_AFI_SAFI,
                &[a0, a1, s, a, b, c, d, e, f, g, h],
            ) => StatValue::FamilyGauge {
                afi: u16::from_be_bytes([a0, a1]),
                safi: s,
                value: u64::from_be_bytes([a, b, c, d, e, f, g, h]),
            },
            _ => StatValue::Raw(raw.to_vec()),
        };
        Ok(Stat { kind, value })
    }
}

/// Why a peer went down (RFC 7854 §4.9, RFC 9069 §4.3):
///
/// ```text
/// +-+-+-+-+-+-+-+-+
/// |    Reason     | 1 byte
/// +-+-+-+-+-+-+-+-+---------------+
/// |            Data (present if Reason = 1, 2, 3 or 6)            |
/// ~                                                               ~
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerDownReason {
    /// 1: we closed the session and sent this NOTIFICATION (whole BGP
    /// message).
    LocalNotification(Vec<u8>),
    /// 2: we closed the session without a NOTIFICATION; the FSM event
    /// (RFC 4271 §8.1) that caused it.
    LocalFsm(u16),
    /// 3: the peer closed the session with this NOTIFICATION.
    RemoteNotification(Vec<u8>),
    /// 4: the peer closed the session without a NOTIFICATION.
    RemoteNoData,
    /// 5: the peer was de-configured; no more messages will come about it.
    Deconfigured,
    /// 6: (Loc-RIB) the local system closed it; information TLVs follow
    /// (RFC 9069 §4.3).
    LocalTlv(Vec<Tlv>),
    /// Any other reason code, with its data.
    Other {
        /// The code.
        code: u8,
        /// The data.
        data: Vec<u8>,
    },
}

/// A Peer Up Notification (RFC 7854 §4.10) after its per-peer header:
///
/// ```text
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                 Local Address (16 bytes)                      |
/// ~                                                               ~
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |         Local Port            |        Remote Port            |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                    Sent OPEN Message                          |
/// ~                                                               ~
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                  Received OPEN Message                        |
/// ~                                                               ~
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                 Information (variable)                        |
/// ~                                                               ~
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
///
/// The local address is IPv6 when the per-peer header's V flag is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerUp {
    /// The peer.
    pub peer: PeerHeader,
    /// Our address on the session.
    pub local_address: IpAddr,
    /// Our TCP port.
    pub local_port: u16,
    /// The peer's TCP port.
    pub remote_port: u16,
    /// The OPEN we sent: a whole BGP message.
    pub sent_open: Vec<u8>,
    /// The OPEN we received: a whole BGP message.
    pub received_open: Vec<u8>,
    /// Information TLVs.
    pub information: Vec<Tlv>,
}

/// A BMP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// Route Monitoring (RFC 7854 §4.6): one BGP UPDATE (whole message) of
    /// the peer, pre- or post-policy, Adj-RIB-In or -Out, or Loc-RIB.
    RouteMonitoring {
        /// The peer and which RIB.
        peer: PeerHeader,
        /// The UPDATE.
        update: Vec<u8>,
    },
    /// Statistics Report (RFC 7854 §4.8): stats count (4), then the stats.
    StatisticsReport {
        /// The peer.
        peer: PeerHeader,
        /// The statistics.
        stats: Vec<Stat>,
    },
    /// Peer Down Notification (RFC 7854 §4.9).
    PeerDown {
        /// The peer.
        peer: PeerHeader,
        /// Why.
        reason: PeerDownReason,
    },
    /// Peer Up Notification (RFC 7854 §4.10).
    PeerUp(Box<PeerUp>),
    /// Initiation (RFC 7854 §4.3): information TLVs (sysName and sysDescr
    /// required).
    Initiation(Vec<Tlv>),
    /// Termination (RFC 7854 §4.5): information TLVs (reason).
    Termination(Vec<Tlv>),
    /// Route Mirroring (RFC 7854 §4.7): TLVs (0: BGP message, 1:
    /// information code).
    RouteMirroring {
        /// The peer.
        peer: PeerHeader,
        /// The TLVs.
        tlvs: Vec<Tlv>,
    },
    /// A type this crate does not know (RFC 7854 §4.1: to be ignored),
    /// its body kept.
    Unknown {
        /// The type code.
        kind: u8,
        /// The body after the common header.
        body: Vec<u8>,
    },
}

impl Message {
    /// The type code of the message.
    pub fn kind(&self) -> u8 {
        match self {
            Message::RouteMonitoring { .. } => MessageType::RouteMonitoring.code(),
            Message::StatisticsReport { .. } => MessageType::StatisticsReport.code(),
            Message::PeerDown { .. } => MessageType::PeerDown.code(),
            Message::PeerUp(_) => MessageType::PeerUp.code(),
            Message::Initiation(_) => MessageType::Initiation.code(),
            Message::Termination(_) => MessageType::Termination.code(),
            Message::RouteMirroring { .. } => MessageType::RouteMirroring.code(),
            Message::Unknown { kind, .. } => *kind,
        }
    }

    /// Append the message to `out`. On error `out` is left as it was.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        let start = out.len();
        let r = self.encode_unchecked(out);
        if r.is_err() {
            out.truncate(start);
        }
        r
    }

    /// The message as bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        self.encode(&mut out)?;
        Ok(out)
    }

    fn encode_unchecked(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        let start = begin(out, self.kind());
        match self {
            Message::RouteMonitoring { peer, update } => {
                check_bgp(update, "Route Monitoring UPDATE")?;
                peer.encode(out);
                out.extend_from_slice(update);
            }
            Message::StatisticsReport { peer, stats } => {
                peer.encode(out);
                let count = u32::try_from(stats.len()).map_err(|_| Error::TooLong {
                    what: "Statistics Report",
                    len: stats.len(),
                })?;
                out.extend_from_slice(&count.to_be_bytes());
                for s in stats {
                    s.encode(out)?;
                }
            }
            Message::PeerDown { peer, reason } => {
                peer.encode(out);
                match reason {
                    PeerDownReason::LocalNotification(n) => {
                        check_bgp(n, "Peer Down NOTIFICATION")?;
                        out.push(1);
                        out.extend_from_slice(n);
                    }
                    PeerDownReason::LocalFsm(event) => {
                        out.push(2);
                        out.extend_from_slice(&event.to_be_bytes());
                    }
                    PeerDownReason::RemoteNotification(n) => {
                        check_bgp(n, "Peer Down NOTIFICATION")?;
                        out.push(3);
                        out.extend_from_slice(n);
                    }
                    PeerDownReason::RemoteNoData => out.push(4),
                    PeerDownReason::Deconfigured => out.push(5),
                    PeerDownReason::LocalTlv(tlvs) => {
                        out.push(6);
                        for t in tlvs {
                            t.encode(out)?;
                        }
                    }
                    PeerDownReason::Other { code, data } => {
                        out.push(*code);
                        out.extend_from_slice(data);
                    }
                }
            }
            Message::PeerUp(up) => {
                check_bgp(&up.sent_open, "Peer Up sent OPEN")?;
                check_bgp(&up.received_open, "Peer Up received OPEN")?;
                up.peer.encode(out);
                put_address(up.local_address, out);
                out.extend_from_slice(&up.local_port.to_be_bytes());
                out.extend_from_slice(&up.remote_port.to_be_bytes());
                out.extend_from_slice(&up.sent_open);
                out.extend_from_slice(&up.received_open);
                for t in &up.information {
                    t.encode(out)?;
                }
            }
            Message::Initiation(tlvs) | Message::Termination(tlvs) => {
                for t in tlvs {
                    t.encode(out)?;
                }
            }
            Message::RouteMirroring { peer, tlvs } => {
                peer.encode(out);
                for t in tlvs {
                    t.encode(out)?;
                }
            }
            Message::Unknown { body, .. } => out.extend_from_slice(body),
        }
        finish(out, start)
    }
}

/// Write a common header with a length to fill in; returns where it starts.
fn begin(out: &mut Vec<u8>, kind: u8) -> usize {
    let start = out.len();
    out.push(VERSION);
    out.extend_from_slice(&[0; 4]);
    out.push(kind);
    start
}

/// Fill in the length of the message that starts at `start`.
fn finish(out: &mut [u8], start: usize) -> Result<(), Error> {
    let len = out.len().saturating_sub(start);
    let wire = u32::try_from(len).map_err(|_| Error::TooLong {
        what: "BMP message",
        len,
    })?;
    let field = start
        .checked_add(1)
        .and_then(|from| out.get_mut(from..from.checked_add(4)?))
        .ok_or(Error::TooLong {
            what: "BMP message",
            len,
        })?;
    field.copy_from_slice(&wire.to_be_bytes());
    Ok(())
}

/// Whether `pdu` is one whole BGP message: 16-byte marker, length field
/// equal to its size.
fn check_bgp(pdu: &[u8], what: &'static str) -> Result<(), Error> {
    match bgp_len(pdu) {
        Some(len) if len == pdu.len() && pdu.iter().take(16).all(|&b| b == 0xff) => Ok(()),
        _ => Err(Error::NotBgp { what }),
    }
}

/// The length field of the BGP message at the start of `buf`.
fn bgp_len(buf: &[u8]) -> Option<usize> {
    match buf.get(16..18)? {
        &[a, b] => Some(usize::from(u16::from_be_bytes([a, b]))),
        _ => None,
    }
}

impl PeerHeader {
    /// Append a Route Monitoring message of this peer carrying `update`
    /// (one whole BGP UPDATE) to `out`, without copying it into a
    /// [`Message`] first.
    pub fn route_monitoring(&self, update: &[u8], out: &mut Vec<u8>) -> Result<(), Error> {
        check_bgp(update, "Route Monitoring UPDATE")?;
        let start = begin(out, MessageType::RouteMonitoring.code());
        self.encode(out);
        out.extend_from_slice(update);
        let r = finish(out, start);
        if r.is_err() {
            out.truncate(start);
        }
        r
    }
}

/// The length of the message at the start of `buf` once its common header
/// is there: `Ok(None)` when fewer than 6 bytes are, an error when the
/// header is not a BMP v3 header with a sane length.
pub fn frame_len(buf: &[u8]) -> Result<Option<usize>, Error> {
    let Some(&[version, a, b, c, d, _]) = buf.get(..COMMON_HEADER_LEN) else {
        return Ok(None);
    };
    if version != VERSION {
        return Err(Error::Version(version));
    }
    let length = u32::from_be_bytes([a, b, c, d]);
    if (length as usize) < COMMON_HEADER_LEN || length > MAX_MESSAGE_LEN {
        return Err(Error::Length {
            length,
            max: MAX_MESSAGE_LEN,
        });
    }
    Ok(Some(length as usize))
}

/// Decode the message at the start of `buf`; returns it and the bytes it
/// took. Never panics, whatever the input.
pub fn decode(buf: &[u8]) -> Result<(Message, usize), Error> {
    let len = frame_len(buf)?.ok_or(Error::Truncated {
        what: "common header",
        offset: 0,
        needed: COMMON_HEADER_LEN,
        available: buf.len(),
    })?;
    let whole = buf.get(..len).ok_or(Error::Truncated {
        what: "message",
        offset: 0,
        needed: len,
        available: buf.len(),
    })?;
    let mut r = Cursor {
        buf: whole,
        pos: COMMON_HEADER_LEN,
    };
    let kind = whole.get(5).copied().unwrap_or_default();
    let message = match MessageType::from_code(kind) {
        Some(MessageType::RouteMonitoring) => {
            let peer = PeerHeader::decode(&mut r)?;
            let update = r.bgp("Route Monitoring UPDATE")?;
            r.end("Route Monitoring")?;
            Message::RouteMonitoring { peer, update }
        }
        Some(MessageType::StatisticsReport) => {
            let peer = PeerHeader::decode(&mut r)?;
            let count = r.u32("stats count")?;
            // Each stat takes at least 4 bytes: the count cannot make us
            // reserve more than the message holds.
            let mut stats = Vec::with_capacity((count as usize).min(r.remaining() / 4));
            for _ in 0..count {
                stats.push(Stat::decode(&mut r)?);
            }
            r.end("Statistics Report")?;
            Message::StatisticsReport { peer, stats }
        }
        Some(MessageType::PeerDown) => {
            let peer = PeerHeader::decode(&mut r)?;
            let code = r.u8("peer down reason")?;
            let reason = match code {
                1 => PeerDownReason::LocalNotification(r.bgp("Peer Down NOTIFICATION")?),
                2 => PeerDownReason::LocalFsm(r.u16("FSM event code")?),
                3 => PeerDownReason::RemoteNotification(r.bgp("Peer Down NOTIFICATION")?),
                4 => PeerDownReason::RemoteNoData,
                5 => PeerDownReason::Deconfigured,
                6 => PeerDownReason::LocalTlv(Tlv::decode_all(&mut r)?),
                code => PeerDownReason::Other {
                    code,
                    data: r.take(r.remaining(), "peer down data")?.to_vec(),
                },
            };
            r.end("Peer Down")?;
            Message::PeerDown { peer, reason }
        }
        Some(MessageType::PeerUp) => {
            let peer = PeerHeader::decode(&mut r)?;
            let raw = r.array::<16>("local address")?;
            let local_address = address_from(raw, peer.v6(), peer.peer_type == PeerType::LocRib);
            let local_port = r.u16("local port")?;
            let remote_port = r.u16("remote port")?;
            let sent_open = r.bgp("Peer Up sent OPEN")?;
            let received_open = r.bgp("Peer Up received OPEN")?;
            let information = Tlv::decode_all(&mut r)?;
            Message::PeerUp(Box::new(PeerUp {
                peer,
                local_address,
                local_port,
                remote_port,
                sent_open,
                received_open,
                information,
            }))
        }
        Some(MessageType::Initiation) => Message::Initiation(Tlv::decode_all(&mut r)?),
        Some(MessageType::Termination) => Message::Termination(Tlv::decode_all(&mut r)?),
        Some(MessageType::RouteMirroring) => {
            let peer = PeerHeader::decode(&mut r)?;
            let tlvs = Tlv::decode_all(&mut r)?;
            Message::RouteMirroring { peer, tlvs }
        }
        None => Message::Unknown {
            kind,
            body: r.rest().to_vec(),
        },
    };
    Ok((message, len))
}

/// A bounds-checked reader over one message; offsets are from its start.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or(&[])
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], Error> {
        let truncated = Error::Truncated {
            what,
            offset: self.pos,
            needed: n,
            available: self.remaining(),
        };
        let end = self.pos.checked_add(n).ok_or(truncated.clone())?;
        let out = self.buf.get(self.pos..end).ok_or(truncated)?;
        self.pos = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], Error> {
        let bytes = self.take(N, what)?;
        let mut out = [0; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, Error> {
        Ok(u8::from_be_bytes(self.array(what)?))
    }

    fn u16(&mut self, what: &'static str) -> Result<u16, Error> {
        Ok(u16::from_be_bytes(self.array(what)?))
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, Error> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }

    fn u64(&mut self, what: &'static str) -> Result<u64, Error> {
        Ok(u64::from_be_bytes(self.array(what)?))
    }

    /// One whole BGP message: its header's length says how long.
    fn bgp(&mut self, what: &'static str) -> Result<Vec<u8>, Error> {
        let at = self.pos;
        let header = self.rest().get(..BGP_HEADER_LEN).ok_or(Error::Truncated {
            what,
            offset: at,
            needed: BGP_HEADER_LEN,
            available: self.remaining(),
        })?;
        let len = bgp_len(header).unwrap_or_default();
        if len < BGP_HEADER_LEN || header.iter().take(16).any(|&b| b != 0xff) {
            return Err(Error::Malformed { what, offset: at });
        }
        Ok(self.take(len, what)?.to_vec())
    }

    fn end(&self, what: &'static str) -> Result<(), Error> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(Error::Trailing {
                what,
                offset: self.pos,
                count: self.remaining(),
            })
        }
    }
}
