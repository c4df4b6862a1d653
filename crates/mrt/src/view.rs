//! Zero-copy views of records: the fields of a TABLE_DUMP_V2 RIB record and
//! of a path attribute field, read in place from a [`RawRecord`] without
//! allocating. They serve readers that look at a few fields of every route
//! (filters, the bgpdump one-line format) and would otherwise pay for the
//! full decode of [`RawRecord::decode`] on each one.
//!
//! A view checks the framing it walks (lengths, counts) and nothing else:
//! attribute values are handed out as bytes for the caller to interpret.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use ribbit_wire::attribute::{flags, type_code};
use ribbit_wire::reader::Reader;
use ribbit_wire::{Afi, Family, Prefix, Safi};

use crate::error::{truncated, At, Error};
use crate::reader::RawRecord;
use crate::table_dump_v2::subtype as td2;

/// A TABLE_DUMP_V2 RIB record (RFC 6396 §4.3.2, §4.3.3; RFC 8050 §4).
#[derive(Debug, Clone)]
pub struct RibView<'a> {
    /// The record's sequence number.
    pub sequence: u32,
    /// The family of the NLRI.
    pub family: Family,
    /// An ADD-PATH subtype: each entry has a path identifier.
    pub add_path: bool,
    /// A RIB_GENERIC record.
    pub generic: bool,
    /// The prefix, host bits cleared.
    pub prefix: Prefix,
    /// The prefix as the record holds it: its length in bits and the
    /// bytes that hold them (host bits as written).
    pub prefix_raw: (u8, &'a [u8]),
    entries: Entries<'a>,
}

/// One entry of a [`RibView`]: one path.
#[derive(Debug, Clone, Copy)]
pub struct EntryView<'a> {
    /// Index of the peer in the PEER_INDEX_TABLE.
    pub peer_index: u16,
    /// When the route was received, seconds since the Unix epoch.
    pub originated: u32,
    /// The ADD-PATH path identifier, in the ADD-PATH subtypes.
    pub path_id: Option<u32>,
    /// The attribute field, 4-octet AS numbers (RFC 6396 §4.3.4).
    pub attributes: &'a [u8],
    /// Offset of the attribute field from the start of the record.
    pub attributes_at: usize,
}

/// The entries of a [`RibView`], in record order.
#[derive(Debug, Clone)]
pub struct Entries<'a> {
    left: u16,
    reader: Reader<'a>,
    add_path: bool,
    record: u64,
    failed: bool,
}

impl<'a> RibView<'a> {
    /// The view of a TABLE_DUMP_V2 RIB record; `None` for other records
    /// (PEER_INDEX_TABLE, other types, unknown subtypes) and for RIB_GENERIC
    /// records of families other than IPv4 and IPv6 unicast and multicast,
    /// whose NLRI only the full decoder ([`RawRecord::decode`]) reads.
    pub fn of(raw: &RawRecord<'a>) -> Option<Result<RibView<'a>, Error>> {
        if raw.mrt_type != crate::mrt_type::TABLE_DUMP_V2 {
            return None;
        }
        use td2::*;
        let (family, generic, add_path) = match raw.subtype {
            RIB_IPV4_UNICAST => (Family::IPV4_UNICAST, false, false),
            RIB_IPV4_MULTICAST => (Family::IPV4_MULTICAST, false, false),
            RIB_IPV6_UNICAST => (Family::IPV6_UNICAST, false, false),
            RIB_IPV6_MULTICAST => (Family::IPV6_MULTICAST, false, false),
            RIB_IPV4_UNICAST_ADDPATH => (Family::IPV4_UNICAST, false, true),
            RIB_IPV4_MULTICAST_ADDPATH => (Family::IPV4_MULTICAST, false, true),
            RIB_IPV6_UNICAST_ADDPATH => (Family::IPV6_UNICAST, false, true),
            RIB_IPV6_MULTICAST_ADDPATH => (Family::IPV6_MULTICAST, false, true),
            RIB_GENERIC | RIB_GENERIC_ADDPATH => {
                let afi = raw.message.get(4..6)?;
                let safi = *raw.message.get(6)?;
                let afi = afi.first_chunk::<2>().map_or(0, |a| u16::from_be_bytes(*a));
                let family = Family::new(Afi(afi), Safi(safi));
                if !matches!(family.safi, Safi::UNICAST | Safi::MULTICAST)
                    || !matches!(family.afi, Afi::IPV4 | Afi::IPV6)
                {
                    return None;
                }
                (family, true, raw.subtype == RIB_GENERIC_ADDPATH)
            }
            _ => return None,
        };
        Some(Self::parse(raw, family, generic, add_path).map_err(|e| e.at(raw.offset)))
    }

    fn parse(
        raw: &RawRecord<'a>,
        family: Family,
        generic: bool,
        add_path: bool,
    ) -> Result<RibView<'a>, At> {
        let mut r = Reader::new(raw.message, crate::HEADER_LEN);
        let sequence = r.u32().map_err(truncated("sequence number"))?;
        if generic {
            r.take(3).map_err(truncated("AFI and SAFI"))?;
        }
        let (prefix, prefix_raw) = read_prefix_raw(&mut r, family.afi == Afi::IPV6)?;
        let left = r.u16().map_err(truncated("entry count"))?;
        Ok(RibView {
            sequence,
            family,
            add_path,
            generic,
            prefix,
            prefix_raw,
            entries: Entries {
                left,
                reader: r,
                add_path,
                record: raw.offset,
                failed: false,
            },
        })
    }

    /// The entries.
    pub fn entries(&self) -> Entries<'a> {
        self.entries.clone()
    }

    /// How many entries the record declares.
    pub fn entry_count(&self) -> u16 {
        self.entries.left
    }
}

impl<'a> Entries<'a> {
    /// Where the next entry starts, as an offset in the record's message,
    /// and how many entries are left: what [`Entries::resume`] takes to
    /// go on from here without holding a borrow of the record.
    pub(crate) fn suspend(&self) -> (usize, u16) {
        let at = self.reader.offset().saturating_sub(crate::HEADER_LEN);
        (at, self.left)
    }

    /// The entries of the record whose message is `message`, from the
    /// position [`Entries::suspend`] gave.
    pub(crate) fn resume(
        message: &'a [u8],
        (at, left): (usize, u16),
        add_path: bool,
        record: u64,
    ) -> Entries<'a> {
        Entries {
            left,
            reader: Reader::new(
                message.get(at..).unwrap_or(&[]),
                crate::HEADER_LEN.saturating_add(at),
            ),
            add_path,
            record,
            failed: false,
        }
    }

    fn next_entry(&mut self) -> Result<EntryView<'a>, At> {
        let r = &mut self.reader;
        let peer_index = r.u16().map_err(truncated("peer index"))?;
        let originated = r.u32().map_err(truncated("originated time"))?;
        let path_id = if self.add_path {
            Some(r.u32().map_err(truncated("path identifier"))?)
        } else {
            None
        };
        let len = r.u16().map_err(truncated("attribute length"))?;
        let attributes_at = r.offset();
        let attributes = r.take(usize::from(len)).map_err(truncated("attributes"))?;
        Ok(EntryView {
            peer_index,
            originated,
            path_id,
            attributes,
            attributes_at,
        })
    }
}

impl<'a> Iterator for Entries<'a> {
    type Item = Result<EntryView<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        if self.left == 0 {
            if !self.reader.is_empty() {
                self.failed = true;
                let at = At::malformed(self.reader.offset(), "bytes after the last RIB entry");
                return Some(Err(at.at(self.record)));
            }
            return None;
        }
        self.left = self.left.saturating_sub(1);
        match self.next_entry() {
            Ok(e) => Some(Ok(e)),
            Err(e) => {
                // The entries have no framing of their own: after a bad
                // one, the rest of the record cannot be found.
                self.failed = true;
                Some(Err(e.at(self.record)))
            }
        }
    }
}

/// Read a prefix as in BGP NLRI (RFC 4271 §4.3): the prefix with its host
/// bits cleared, and its length and bytes as read.
pub(crate) fn read_prefix_raw<'a>(
    r: &mut Reader<'a>,
    v6: bool,
) -> Result<(Prefix, (u8, &'a [u8])), At> {
    let at = r.offset();
    let len = r.u8().map_err(truncated("prefix length"))?;
    let bytes = r
        .take(usize::from(len).div_ceil(8))
        .map_err(truncated("prefix"))?;
    let prefix = prefix_from(bytes, len, v6).ok_or_else(|| At::malformed(at, "prefix length"))?;
    Ok((prefix, (len, bytes)))
}

/// A prefix from the bytes that hold its `len` bits.
pub(crate) fn prefix_from(bytes: &[u8], len: u8, v6: bool) -> Option<Prefix> {
    if v6 {
        let mut a = [0u8; 16];
        for (d, s) in a.iter_mut().zip(bytes) {
            *d = *s;
        }
        Ipv6Net::new(Ipv6Addr::from(a), len)
            .ok()
            .map(|n| IpNet::V6(n.trunc()))
    } else {
        let mut a = [0u8; 4];
        for (d, s) in a.iter_mut().zip(bytes) {
            *d = *s;
        }
        Ipv4Net::new(Ipv4Addr::from(a), len)
            .ok()
            .map(|n| IpNet::V4(n.trunc()))
    }
}

/// The path attributes of a RIB entry or an UPDATE, each as the bytes of its
/// value (RFC 4271 §4.3). When an attribute appears twice, the first one is
/// kept (RFC 7606 §3 g).
#[derive(Debug, Clone, Copy, Default)]
pub struct AttrView<'a> {
    /// ORIGIN.
    pub origin: Option<&'a [u8]>,
    /// AS_PATH.
    pub as_path: Option<&'a [u8]>,
    /// NEXT_HOP.
    pub next_hop: Option<&'a [u8]>,
    /// MULTI_EXIT_DISC.
    pub med: Option<&'a [u8]>,
    /// LOCAL_PREF.
    pub local_pref: Option<&'a [u8]>,
    /// ATOMIC_AGGREGATE is present.
    pub atomic_aggregate: bool,
    /// AGGREGATOR.
    pub aggregator: Option<&'a [u8]>,
    /// COMMUNITIES.
    pub communities: Option<&'a [u8]>,
    /// MP_REACH_NLRI (in a table dump, often only the next hop: RFC 6396 §4.3.4).
    pub mp_reach: Option<&'a [u8]>,
    /// MP_UNREACH_NLRI.
    pub mp_unreach: Option<&'a [u8]>,
    /// AS4_PATH (RFC 6793).
    pub as4_path: Option<&'a [u8]>,
    /// AS4_AGGREGATOR (RFC 6793).
    pub as4_aggregator: Option<&'a [u8]>,
}

impl<'a> AttrView<'a> {
    /// Walk the attribute field `bytes`; error offsets count from its start.
    pub fn read(bytes: &'a [u8]) -> Result<AttrView<'a>, Error> {
        Self::parse(bytes, 0).map_err(|e| e.at(0))
    }

    /// Walk the attribute field `bytes`, found at `at` in its record.
    pub(crate) fn parse(bytes: &'a [u8], at: usize) -> Result<AttrView<'a>, At> {
        let mut v = AttrView::default();
        let mut r = Reader::new(bytes, at);
        while !r.is_empty() {
            let fl = r.u8().map_err(truncated("attribute flags"))?;
            let code = r.u8().map_err(truncated("attribute type"))?;
            let len = if fl & flags::EXTENDED_LENGTH != 0 {
                usize::from(r.u16().map_err(truncated("attribute length"))?)
            } else {
                usize::from(r.u8().map_err(truncated("attribute length"))?)
            };
            let value = r.take(len).map_err(truncated("attribute value"))?;
            let slot = match code {
                type_code::ORIGIN => &mut v.origin,
                type_code::AS_PATH => &mut v.as_path,
                type_code::NEXT_HOP => &mut v.next_hop,
                type_code::MED => &mut v.med,
                type_code::LOCAL_PREF => &mut v.local_pref,
                type_code::ATOMIC_AGGREGATE => {
                    v.atomic_aggregate = true;
                    continue;
                }
                type_code::AGGREGATOR => &mut v.aggregator,
                type_code::COMMUNITIES => &mut v.communities,
                type_code::MP_REACH_NLRI => &mut v.mp_reach,
                type_code::MP_UNREACH_NLRI => &mut v.mp_unreach,
                type_code::AS4_PATH => &mut v.as4_path,
                type_code::AS4_AGGREGATOR => &mut v.as4_aggregator,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(value);
            }
        }
        Ok(v)
    }
}

/// The origin AS of an AS_PATH given as bytes: the last AS of its last
/// segment when that is an AS_SEQUENCE (RFC 4271 §5.1.2); the members of an
/// AS_SET when the path ends with one (an aggregate has no single origin).
/// An empty path (a route of the collector's own AS) has none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OriginAs<'a> {
    /// No AS in the path.
    None,
    /// One origin.
    One(u32),
    /// The AS numbers of a final AS_SET (or AS_CONFED_SET), as bytes.
    Set {
        /// The AS numbers, `width` bytes each.
        asns: &'a [u8],
        /// 2 or 4.
        width: usize,
    },
}

impl OriginAs<'_> {
    /// Whether `asn` is the origin, or one of the final AS_SET.
    pub fn is(&self, asn: u32) -> bool {
        match *self {
            OriginAs::None => false,
            OriginAs::One(a) => a == asn,
            OriginAs::Set { asns, width } => {
                asns.chunks_exact(width.max(1)).any(|c| asn_of(c) == asn)
            }
        }
    }
}

fn asn_of(c: &[u8]) -> u32 {
    match *c {
        [a, b] => u32::from(u16::from_be_bytes([a, b])),
        [a, b, cc, d] => u32::from_be_bytes([a, b, cc, d]),
        _ => 0,
    }
}

/// The origin of an AS_PATH of `width`-octet AS numbers (2 or 4); `None`
/// for a malformed path.
pub fn origin_as(path: &[u8], width: usize) -> Option<OriginAs<'_>> {
    let mut r = Reader::new(path, 0);
    let mut origin = OriginAs::None;
    while !r.is_empty() {
        let kind = r.u8().ok()?;
        let n = usize::from(r.u8().ok()?);
        let asns = r.take(n.checked_mul(width)?).ok()?;
        origin = match kind {
            1 | 4 if n > 0 => OriginAs::Set { asns, width },
            2 | 3 => match asns.rchunks_exact(width).next() {
                Some(last) => OriginAs::One(asn_of(last)),
                None => origin,
            },
            1 | 4 => origin,
            _ => return None,
        };
    }
    Some(origin)
}

/// The peer address of a BGP4MP record and whether it is IPv6, read in
/// place: (peer AS, local AS, peer address, local address, offset of the
/// BGP message or the state fields).
pub(crate) fn bgp4mp_header(
    body: &[u8],
    base: usize,
    as4: bool,
) -> Result<(u32, u32, IpAddr, IpAddr, usize), At> {
    let mut r = Reader::new(body, base);
    let asn = |r: &mut Reader<'_>, what| {
        if as4 {
            r.u32().map_err(truncated(what))
        } else {
            r.u16().map(u32::from).map_err(truncated(what))
        }
    };
    let peer_as = asn(&mut r, "peer AS")?;
    let local_as = asn(&mut r, "local AS")?;
    r.u16().map_err(truncated("interface index"))?;
    let afi_at = r.offset();
    let (peer, local) = match r.u16().map_err(truncated("address family"))? {
        1 => (
            IpAddr::V4(r.ipv4().map_err(truncated("peer address"))?),
            IpAddr::V4(r.ipv4().map_err(truncated("local address"))?),
        ),
        2 => (
            IpAddr::V6(r.ipv6().map_err(truncated("peer address"))?),
            IpAddr::V6(r.ipv6().map_err(truncated("local address"))?),
        ),
        _ => return Err(At::malformed(afi_at, "address family")),
    };
    Ok((peer_as, local_as, peer, local, r.offset()))
}
