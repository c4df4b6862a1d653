//! TABLE_DUMP_V2 (RFC 6396 §4.3) with the ADD-PATH subtypes of RFC 8050.
//!
//! A dump starts with one PEER_INDEX_TABLE naming every peer, followed by
//! one RIB record per prefix holding every peer's path to it; a RIB entry
//! names its peer by index into that table.
//!
//! ```text
//!  PEER_INDEX_TABLE: Collector BGP ID (4) | View Name Length (2) | View Name
//!                    | Peer Count (2) | Peer Entries
//!  Peer Entry:       Peer Type (1) | Peer BGP ID (4) | Peer IP (4/16) | Peer AS (2/4)
//!  RIB_AFI_SAFI:     Sequence (4) | Prefix Length (1) | Prefix | Entry Count (2) | Entries
//!  RIB_GENERIC:      Sequence (4) | AFI (2) | SAFI (1) | NLRI | Entry Count (2) | Entries
//!  RIB Entry:        Peer Index (2) | Originated Time (4) | [Path Identifier (4)]
//!                    | Attribute Length (2) | BGP Attributes
//! ```

use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;
use ribbit_wire::family::NlriKind;
use ribbit_wire::reader::Reader;
use ribbit_wire::{Afi, AttributeIssue, Family, NextHop, NlriList, PathAttributes, Prefix, Safi};

use crate::attrs::{
    encode_attributes, patch_u16, read_ip, read_prefix, write_ip, write_prefix, AttrDecoder,
};
use crate::error::{truncated, At, ErrorKind};

/// TABLE_DUMP_V2 subtype codes (RFC 6396 §4.3, RFC 8050 §4).
pub mod subtype {
    /// PEER_INDEX_TABLE.
    pub const PEER_INDEX_TABLE: u16 = 1;
    /// RIB_IPV4_UNICAST.
    pub const RIB_IPV4_UNICAST: u16 = 2;
    /// RIB_IPV4_MULTICAST.
    pub const RIB_IPV4_MULTICAST: u16 = 3;
    /// RIB_IPV6_UNICAST.
    pub const RIB_IPV6_UNICAST: u16 = 4;
    /// RIB_IPV6_MULTICAST.
    pub const RIB_IPV6_MULTICAST: u16 = 5;
    /// RIB_GENERIC.
    pub const RIB_GENERIC: u16 = 6;
    /// RIB_IPV4_UNICAST_ADDPATH.
    pub const RIB_IPV4_UNICAST_ADDPATH: u16 = 8;
    /// RIB_IPV4_MULTICAST_ADDPATH.
    pub const RIB_IPV4_MULTICAST_ADDPATH: u16 = 9;
    /// RIB_IPV6_UNICAST_ADDPATH.
    pub const RIB_IPV6_UNICAST_ADDPATH: u16 = 10;
    /// RIB_IPV6_MULTICAST_ADDPATH.
    pub const RIB_IPV6_MULTICAST_ADDPATH: u16 = 11;
    /// RIB_GENERIC_ADDPATH.
    pub const RIB_GENERIC_ADDPATH: u16 = 12;
}

/// A TABLE_DUMP_V2 record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableDumpV2 {
    /// The table of peers the RIB records refer to.
    PeerIndexTable(PeerIndexTable),
    /// The paths to one prefix (or one NLRI, for RIB_GENERIC).
    Rib(Rib),
}

/// PEER_INDEX_TABLE (RFC 6396 §4.3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerIndexTable {
    /// The BGP identifier of the collector.
    pub collector_id: Ipv4Addr,
    /// The name of the view dumped; empty when there is none.
    pub view_name: String,
    /// The peers, in index order.
    pub peers: Vec<Peer>,
}

/// One peer of a [`PeerIndexTable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer {
    /// The peer's BGP identifier.
    pub bgp_id: Ipv4Addr,
    /// The peer's address.
    pub address: IpAddr,
    /// The peer's AS number. Always written in 4 octets.
    pub asn: u32,
}

/// A RIB record: every peer's path to one prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rib {
    /// Incremented per RIB record of one dump (wraps at 2^32).
    pub sequence: u32,
    /// The family of the NLRI.
    pub family: Family,
    /// Written as RIB_GENERIC even for a family that has a subtype of its own.
    pub generic: bool,
    /// The ADD-PATH form (RFC 8050): each entry carries a path identifier.
    pub add_path: bool,
    /// The prefix or NLRI.
    pub nlri: RibNlri,
    /// One entry per path.
    pub entries: Vec<RibEntry>,
}

/// What a RIB record is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RibNlri {
    /// A unicast or multicast prefix.
    Prefix(Prefix),
    /// A single NLRI of another family (labeled, VPN, Flowspec), from RIB_GENERIC.
    Other(NlriList),
}

/// One path in a [`Rib`] record.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RibEntry {
    /// Index of the peer in the dump's [`PeerIndexTable`].
    pub peer_index: u16,
    /// When the route was received, in seconds since the Unix epoch.
    pub originated: u32,
    /// The ADD-PATH path identifier (only in the ADD-PATH subtypes).
    pub path_id: Option<u32>,
    /// The path attributes, AS numbers in 4 octets (RFC 6396 §4.3.4).
    /// An IPv4 next hop is [`PathAttributes::next_hop`].
    pub attributes: PathAttributes,
    /// The next hop of the MP_REACH_NLRI attribute, which in a table dump
    /// holds only the next hop (RFC 6396 §4.3.4).
    pub mp_next_hop: Option<NextHop>,
    /// RFC 7606 findings of the BGP codec while decoding the attributes
    /// (attribute discarded, or the route would be treated as withdrawn).
    /// Ignored when writing.
    pub issues: Vec<AttributeIssue>,
}

impl RibEntry {
    /// The next hop: MP_REACH_NLRI's if there is one, else NEXT_HOP's.
    pub fn next_hop(&self) -> Option<NextHop> {
        self.mp_next_hop
            .or_else(|| self.attributes.next_hop.map(NextHop::V4))
    }
}

impl Rib {
    /// The prefix, for unicast and multicast records.
    pub fn prefix(&self) -> Option<Prefix> {
        match &self.nlri {
            RibNlri::Prefix(p) => Some(*p),
            RibNlri::Other(_) => None,
        }
    }

    /// The subtype this record is written with.
    pub fn subtype(&self) -> Result<u16, ErrorKind> {
        use subtype::*;
        let specific = match self.family {
            Family::IPV4_UNICAST => Some((RIB_IPV4_UNICAST, RIB_IPV4_UNICAST_ADDPATH)),
            Family::IPV4_MULTICAST => Some((RIB_IPV4_MULTICAST, RIB_IPV4_MULTICAST_ADDPATH)),
            Family::IPV6_UNICAST => Some((RIB_IPV6_UNICAST, RIB_IPV6_UNICAST_ADDPATH)),
            Family::IPV6_MULTICAST => Some((RIB_IPV6_MULTICAST, RIB_IPV6_MULTICAST_ADDPATH)),
            _ => None,
        };
        let (plain, add_path) =
            match (specific, self.generic) {
                (Some(pair), false) => pair,
                (_, true) => (RIB_GENERIC, RIB_GENERIC_ADDPATH),
                (None, false) => return Err(ErrorKind::Unencodable(
                    "only IPv4 and IPv6 unicast and multicast have RIB subtypes: use RIB_GENERIC",
                )),
            };
        Ok(if self.add_path { add_path } else { plain })
    }
}

impl TableDumpV2 {
    /// The subtype this record is written with.
    pub fn subtype(&self) -> Result<u16, ErrorKind> {
        match self {
            TableDumpV2::PeerIndexTable(_) => Ok(subtype::PEER_INDEX_TABLE),
            TableDumpV2::Rib(rib) => rib.subtype(),
        }
    }

    /// Decode the body of a record of `subtype`; `None` for subtypes this
    /// crate does not know (e.g. GEO_PEER_TABLE of RFC 6397).
    pub(crate) fn decode(
        subtype: u16,
        body: &[u8],
        base: usize,
        decoder: &mut AttrDecoder,
    ) -> Option<Result<TableDumpV2, At>> {
        use subtype::*;
        let mut r = Reader::new(body, base);
        let mut rib = |family, generic, add_path, r: &mut Reader<'_>| {
            decode_rib(r, family, generic, add_path, decoder).map(TableDumpV2::Rib)
        };
        Some(match subtype {
            PEER_INDEX_TABLE => decode_peer_index(&mut r).map(TableDumpV2::PeerIndexTable),
            RIB_IPV4_UNICAST => rib(Family::IPV4_UNICAST, false, false, &mut r),
            RIB_IPV4_MULTICAST => rib(Family::IPV4_MULTICAST, false, false, &mut r),
            RIB_IPV6_UNICAST => rib(Family::IPV6_UNICAST, false, false, &mut r),
            RIB_IPV6_MULTICAST => rib(Family::IPV6_MULTICAST, false, false, &mut r),
            RIB_IPV4_UNICAST_ADDPATH => rib(Family::IPV4_UNICAST, false, true, &mut r),
            RIB_IPV4_MULTICAST_ADDPATH => rib(Family::IPV4_MULTICAST, false, true, &mut r),
            RIB_IPV6_UNICAST_ADDPATH => rib(Family::IPV6_UNICAST, false, true, &mut r),
            RIB_IPV6_MULTICAST_ADDPATH => rib(Family::IPV6_MULTICAST, false, true, &mut r),
            RIB_GENERIC | RIB_GENERIC_ADDPATH => {
                let at = r.offset();
                let family = (|| {
                    let _sequence = r.u32().ok()?;
                    let afi = r.u16().ok()?;
                    let safi = r.u8().ok()?;
                    Some(Family::new(Afi(afi), Safi(safi)))
                })();
                let Some(family) = family else {
                    return Some(Err(At::new(
                        at,
                        ErrorKind::Truncated {
                            what: "RIB_GENERIC header",
                            needed: 7,
                            available: u64::try_from(body.len()).unwrap_or(u64::MAX),
                        },
                    )));
                };
                // RFC 6396 §4.3.3: a family the reader does not know makes
                // the rest of the record unreadable (the NLRI has no length).
                family.nlri_kind()?;
                let mut r = Reader::new(body, base);
                rib(family, true, subtype == RIB_GENERIC_ADDPATH, &mut r)
            }
            _ => return None,
        })
    }

    /// Append the body of the record.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) -> Result<(), ErrorKind> {
        match self {
            TableDumpV2::PeerIndexTable(t) => encode_peer_index(t, out),
            TableDumpV2::Rib(rib) => encode_rib(rib, out),
        }
    }
}

/// Peer Type bits (RFC 6396 §4.3.1): bit 7 (value 1) IPv6 address, bit 6
/// (value 2) 4-octet AS number.
const PEER_IPV6: u8 = 0x01;
const PEER_AS4: u8 = 0x02;

fn decode_peer_index(r: &mut Reader<'_>) -> Result<PeerIndexTable, At> {
    let collector_id = r.ipv4().map_err(truncated("collector BGP ID"))?;
    let name_len = r.u16().map_err(truncated("view name length"))?;
    let name = r
        .take(usize::from(name_len))
        .map_err(truncated("view name"))?;
    let view_name = String::from_utf8_lossy(name).into_owned();
    let count = r.u16().map_err(truncated("peer count"))?;
    // Each peer takes at least 11 bytes: never reserve more than the record holds.
    let mut peers = Vec::with_capacity(usize::from(count).min(r.remaining() / 11));
    for _ in 0..count {
        let peer_type = r.u8().map_err(truncated("peer type"))?;
        let bgp_id = r.ipv4().map_err(truncated("peer BGP ID"))?;
        let address = read_ip(r, peer_type & PEER_IPV6 != 0, "peer address")?;
        let asn = if peer_type & PEER_AS4 != 0 {
            r.u32().map_err(truncated("peer AS"))?
        } else {
            u32::from(r.u16().map_err(truncated("peer AS"))?)
        };
        peers.push(Peer {
            bgp_id,
            address,
            asn,
        });
    }
    Ok(PeerIndexTable {
        collector_id,
        view_name,
        peers,
    })
}

fn encode_peer_index(t: &PeerIndexTable, out: &mut Vec<u8>) -> Result<(), ErrorKind> {
    out.extend_from_slice(&t.collector_id.octets());
    let name = u16::try_from(t.view_name.len())
        .map_err(|_| ErrorKind::Unencodable("view name longer than 65535 bytes"))?;
    out.extend_from_slice(&name.to_be_bytes());
    out.extend_from_slice(t.view_name.as_bytes());
    let count = u16::try_from(t.peers.len())
        .map_err(|_| ErrorKind::Unencodable("more than 65535 peers"))?;
    out.extend_from_slice(&count.to_be_bytes());
    for p in &t.peers {
        let v6 = if p.address.is_ipv6() { PEER_IPV6 } else { 0 };
        out.push(PEER_AS4 | v6);
        out.extend_from_slice(&p.bgp_id.octets());
        write_ip(&p.address, out);
        out.extend_from_slice(&p.asn.to_be_bytes());
    }
    Ok(())
}

fn decode_rib(
    r: &mut Reader<'_>,
    family: Family,
    generic: bool,
    add_path: bool,
    decoder: &mut AttrDecoder,
) -> Result<Rib, At> {
    let sequence = r.u32().map_err(truncated("sequence number"))?;
    let nlri = if generic {
        r.take(3).map_err(truncated("AFI and SAFI"))?;
        decode_generic_nlri(r, family)?
    } else {
        RibNlri::Prefix(read_prefix(r, family.afi == Afi::IPV6)?)
    };
    let count = r.u16().map_err(truncated("entry count"))?;
    // Each entry takes at least 8 bytes.
    let mut entries = Vec::with_capacity(usize::from(count).min(r.remaining() / 8));
    for _ in 0..count {
        // Filled in place: a RibEntry is a few hundred bytes, too many to
        // move around once per path.
        entries.push(RibEntry::default());
        if let Some(entry) = entries.last_mut() {
            decode_entry(r, add_path, decoder, entry)?;
        }
    }
    if !r.is_empty() {
        return Err(At::malformed(r.offset(), "bytes after the last RIB entry"));
    }
    Ok(Rib {
        sequence,
        family,
        generic,
        add_path,
        nlri,
        entries,
    })
}

/// The one NLRI of a RIB_GENERIC record. Its length is not given, so it is
/// worked out from the NLRI's own length field. In the ADD-PATH form the
/// path identifier is in each RIB entry, as GoBGP and OpenBGPD write it
/// (RFC 8050 puts it in the NLRI, but no known writer does).
fn decode_generic_nlri(r: &mut Reader<'_>, family: Family) -> Result<RibNlri, At> {
    let at = r.offset();
    let first = r.rest().first().copied().map(usize::from);
    let second = r.rest().get(1).copied().map(usize::from);
    let len = match (family.nlri_kind(), first) {
        (_, None) => None,
        (Some(NlriKind::Flowspec | NlriKind::FlowspecVpn), Some(f)) if f >= 0xf0 => {
            // RFC 8955 §4: lengths of 240 and more take two octets.
            second.map(|s| ((f & 0x0f) << 8 | s).saturating_add(2))
        }
        (Some(NlriKind::Flowspec | NlriKind::FlowspecVpn), Some(f)) => Some(f.saturating_add(1)),
        (Some(_), Some(bits)) => Some(bits.div_ceil(8).saturating_add(1)),
        (None, Some(_)) => None,
    };
    let len = len.ok_or_else(|| At::malformed(at, "RIB_GENERIC NLRI"))?;
    let mut sub = r.sub(len).map_err(truncated("RIB_GENERIC NLRI"))?;
    let list = NlriList::decode(&mut sub, family, false, false)
        .map_err(|e| At::new(e.offset, ErrorKind::Bgp(e)))?;
    if list.len() != 1 {
        return Err(At::malformed(at, "RIB_GENERIC NLRI"));
    }
    Ok(match list {
        NlriList::Prefixes(v) => match v.first() {
            Some(p) => RibNlri::Prefix(p.prefix),
            None => return Err(At::malformed(at, "RIB_GENERIC NLRI")),
        },
        other => RibNlri::Other(other),
    })
}

fn decode_entry(
    r: &mut Reader<'_>,
    add_path: bool,
    decoder: &mut AttrDecoder,
    entry: &mut RibEntry,
) -> Result<(), At> {
    entry.peer_index = r.u16().map_err(truncated("peer index"))?;
    entry.originated = r.u32().map_err(truncated("originated time"))?;
    entry.path_id = if add_path {
        Some(r.u32().map_err(truncated("path identifier"))?)
    } else {
        None
    };
    let len = r.u16().map_err(truncated("attribute length"))?;
    let at = r.offset();
    let bytes = r.take(usize::from(len)).map_err(truncated("attributes"))?;
    entry.mp_next_hop = decoder.parse(bytes, at, true)?;
    entry.attributes = decoder.take_attributes();
    entry.issues = decoder.take_issues();
    Ok(())
}

fn encode_rib(rib: &Rib, out: &mut Vec<u8>) -> Result<(), ErrorKind> {
    out.extend_from_slice(&rib.sequence.to_be_bytes());
    let v6 = rib.family.afi == Afi::IPV6;
    if rib.generic {
        out.extend_from_slice(&rib.family.afi.0.to_be_bytes());
        out.push(rib.family.safi.0);
    }
    match &rib.nlri {
        RibNlri::Prefix(p) => {
            if matches!(p, IpNet::V6(_)) != v6 {
                return Err(ErrorKind::Unencodable("prefix of another family"));
            }
            write_prefix(p, out);
        }
        RibNlri::Other(list) => {
            if !rib.generic || list.len() != 1 {
                return Err(ErrorKind::Unencodable(
                    "a non-prefix NLRI needs RIB_GENERIC and exactly one NLRI",
                ));
            }
            list.encode(rib.family, false, out);
        }
    }
    let count = u16::try_from(rib.entries.len())
        .map_err(|_| ErrorKind::Unencodable("more than 65535 RIB entries"))?;
    out.extend_from_slice(&count.to_be_bytes());
    for e in &rib.entries {
        out.extend_from_slice(&e.peer_index.to_be_bytes());
        out.extend_from_slice(&e.originated.to_be_bytes());
        if rib.add_path {
            out.extend_from_slice(&e.path_id.unwrap_or(0).to_be_bytes());
        }
        let len_at = out.len();
        out.extend_from_slice(&[0, 0]);
        encode_attributes(&e.attributes, e.mp_next_hop.as_ref(), true, out);
        patch_u16(out, len_at, "attributes longer than 65535 bytes")?;
    }
    Ok(())
}
