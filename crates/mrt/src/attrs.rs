//! Path attributes, next hops and prefixes as MRT table dumps store them.
//!
//! RIB entries carry BGP path attributes exactly as in an UPDATE, with one
//! exception (RFC 6396 §4.3.4): MP_REACH_NLRI holds only the next hop length
//! and the next hop, because AFI, SAFI and NLRI are already in the record.
//! Decoding therefore takes MP_REACH_NLRI out and hands the other attributes
//! to the BGP codec of `ribbit-wire`, as the attribute field of an UPDATE
//! without NLRI.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use ribbit_wire::attribute::{flags, type_code, write_attribute};
use ribbit_wire::reader::Reader;
use ribbit_wire::{AttributeIssue, DecodeContext, FamilySet, NextHop, PathAttributes, Update};

use crate::error::{truncated, At, ErrorKind};

/// The decoded attribute field of a RIB entry.
#[derive(Debug, Default)]
pub(crate) struct Attrs {
    pub(crate) attributes: PathAttributes,
    pub(crate) mp_next_hop: Option<NextHop>,
    pub(crate) issues: Vec<AttributeIssue>,
}

/// Where the codec's errors point inside the synthesized UPDATE body: the
/// codec counts from the start of a message, header included.
const BODY_BASE: usize = ribbit_wire::HEADER_LEN;
/// Withdrawn routes length and total path attribute length.
const BODY_PREFIX: usize = 4;

/// Decode an attribute field found at `at` (offset in the record).
pub(crate) fn decode_attributes(bytes: &[u8], at: usize, four_octet_as: bool) -> Result<Attrs, At> {
    AttrDecoder::default().decode(bytes, at, four_octet_as)
}

/// The buffers [`decode_attributes`] works in, kept from one attribute
/// field to the next: a dump has one field per path, millions of them, and
/// allocating the synthesized UPDATE and its decoder's state for each one
/// costs more than decoding it.
#[derive(Debug, Default)]
pub(crate) struct AttrDecoder {
    /// The synthesized UPDATE body: withdrawn routes length, total path
    /// attribute length, the attributes without MP_REACH_NLRI.
    body: Vec<u8>,
    /// (offset in `body`, offset in the record) of each attribute copied, to
    /// point errors at the record's bytes.
    segments: Vec<(usize, usize)>,
    update: Update,
}

impl AttrDecoder {
    /// Decode an attribute field found at `at` (offset in the record).
    pub(crate) fn decode(
        &mut self,
        bytes: &[u8],
        at: usize,
        four_octet_as: bool,
    ) -> Result<Attrs, At> {
        let mp_next_hop = self.parse(bytes, at, four_octet_as)?;
        Ok(Attrs {
            attributes: self.take_attributes(),
            mp_next_hop,
            issues: self.take_issues(),
        })
    }

    /// The attributes of the last field parsed, taken out of the decoder
    /// and written straight where the caller keeps them: a
    /// `PathAttributes` is a few hundred bytes, and each move of one per
    /// path shows in a profile.
    pub(crate) fn take_attributes(&mut self) -> PathAttributes {
        std::mem::take(&mut self.update.attributes)
    }

    /// The RFC 7606 findings of the last field parsed.
    pub(crate) fn take_issues(&mut self) -> Vec<AttributeIssue> {
        std::mem::take(&mut self.update.issues)
    }

    /// Decode an attribute field found at `at` (offset in the record) and
    /// keep the result until [`AttrDecoder::take_attributes`] and
    /// [`AttrDecoder::take_issues`]; returns the MP_REACH_NLRI next hop.
    pub(crate) fn parse(
        &mut self,
        bytes: &[u8],
        at: usize,
        four_octet_as: bool,
    ) -> Result<Option<NextHop>, At> {
        let body = &mut self.body;
        let segments = &mut self.segments;
        body.clear();
        segments.clear();
        body.extend_from_slice(&[0; BODY_PREFIX]);
        let mut mp_next_hop = None;
        let mut r = Reader::new(bytes, at);
        while !r.is_empty() {
            let start = r.offset();
            let whole = r.rest();
            let fl = r.u8().map_err(truncated("attribute flags"))?;
            let code = r.u8().map_err(truncated("attribute type"))?;
            let len = if fl & flags::EXTENDED_LENGTH != 0 {
                usize::from(r.u16().map_err(truncated("attribute length"))?)
            } else {
                usize::from(r.u8().map_err(truncated("attribute length"))?)
            };
            let value_at = r.offset();
            let value = r.take(len).map_err(truncated("attribute value"))?;
            if code == type_code::MP_REACH_NLRI {
                if mp_next_hop.is_some() {
                    return Err(At::malformed(start, "MP_REACH_NLRI repeated"));
                }
                mp_next_hop = Some(decode_mp_next_hop(value, value_at)?);
                continue;
            }
            let used = r.offset().saturating_sub(start);
            segments.push((body.len(), start));
            let flags_at = body.len();
            body.extend_from_slice(whole.get(..used).unwrap_or(&[]));
            if let (Some(expected), Some(f)) = (expected_flags(code), body.get_mut(flags_at)) {
                *f = repair_flags(fl, expected);
            }
        }
        let alen = u16::try_from(body.len().saturating_sub(BODY_PREFIX))
            .map_err(|_| At::malformed(at, "attribute field longer than 65535 bytes"))?;
        if let Some(slot) = body.get_mut(2..4) {
            slot.copy_from_slice(&alen.to_be_bytes());
        }
        let segments = &self.segments;
        let map = |offset: usize| -> usize {
            let rel = offset.saturating_sub(BODY_BASE);
            segments
                .iter()
                .rev()
                .find(|(synth, _)| *synth <= rel)
                .map_or(at, |(synth, orig)| {
                    orig.saturating_add(rel.saturating_sub(*synth))
                })
        };
        let ctx = DecodeContext {
            four_octet_as,
            add_path: FamilySet::EMPTY,
            // The record's own length bounds the field, not a BGP session's.
            extended_message: true,
        };
        self.update.decode_into(&self.body, &ctx).map_err(|e| {
            let offset = map(e.offset);
            At::new(offset, ErrorKind::Bgp(e))
        })?;
        for issue in &mut self.update.issues {
            issue.offset = map(issue.offset);
        }
        Ok(mp_next_hop)
    }
}

/// The Optional and Transitive bits each known attribute has on the wire
/// (RFC 4271 §5 and the RFCs of each attribute).
fn expected_flags(code: u8) -> Option<u8> {
    use type_code::*;
    const WELL_KNOWN: u8 = flags::TRANSITIVE;
    const OPT: u8 = flags::OPTIONAL;
    const OPT_TRANS: u8 = flags::OPTIONAL | flags::TRANSITIVE;
    Some(match code {
        ORIGIN | AS_PATH | NEXT_HOP | LOCAL_PREF | ATOMIC_AGGREGATE => WELL_KNOWN,
        MED | ORIGINATOR_ID | CLUSTER_LIST | AIGP => OPT,
        AGGREGATOR
        | COMMUNITIES
        | EXTENDED_COMMUNITIES
        | AS4_PATH
        | AS4_AGGREGATOR
        | IPV6_EXTENDED_COMMUNITIES
        | LARGE_COMMUNITIES
        | OTC => OPT_TRANS,
        _ => return None,
    })
}

/// A table dump records what the collector stored, not bytes from the
/// wire, and some writers do not keep the flags: BIRD 2 writes NEXT_HOP
/// and LOCAL_PREF with flags 0 in its TABLE_DUMP_V2 files. The flags of a
/// known attribute carry no information a reader of a dump needs, so they
/// are set to what the attribute has on the wire (keeping the length form),
/// rather than making the BGP codec discard the attribute (RFC 7606 §3 c).
fn repair_flags(fl: u8, expected: u8) -> u8 {
    let partial = if expected == flags::OPTIONAL | flags::TRANSITIVE {
        fl & flags::PARTIAL
    } else {
        0
    };
    expected | partial | (fl & flags::EXTENDED_LENGTH)
}

/// The next hop of an MP_REACH_NLRI in a table dump. RFC 6396 §4.3.4 keeps
/// only the next hop length and the next hop; some writers put the whole
/// attribute (AFI, SAFI, next hop, reserved octet, NLRI) there, which is told
/// apart by its length: the short form is exactly one length octet plus the
/// address, and the long form starts with an AFI whose first octet is 0.
fn decode_mp_next_hop(value: &[u8], at: usize) -> Result<NextHop, At> {
    let mut r = Reader::new(value, at);
    let first = usize::from(value.first().copied().unwrap_or(0));
    if value.len() != first.saturating_add(1) {
        // The full attribute: skip AFI and SAFI.
        r.take(3).map_err(truncated("MP_REACH_NLRI AFI and SAFI"))?;
    }
    let len = r.u8().map_err(truncated("MP_REACH_NLRI next hop length"))?;
    let nh_at = r.offset();
    let nh = r
        .take(usize::from(len))
        .map_err(truncated("MP_REACH_NLRI next hop"))?;
    next_hop_from(nh).ok_or_else(|| At::malformed(nh_at, "MP_REACH_NLRI next hop length"))
}

/// A next hop from its address bytes: none, IPv4, IPv6, or IPv6 global and link-local.
fn next_hop_from(bytes: &[u8]) -> Option<NextHop> {
    let v6 = |b: &[u8]| <[u8; 16]>::try_from(b).ok().map(Ipv6Addr::from);
    match bytes.len() {
        0 => Some(NextHop::Empty),
        4 => <[u8; 4]>::try_from(bytes)
            .ok()
            .map(|a| NextHop::V4(Ipv4Addr::from(a))),
        16 => Some(NextHop::V6 {
            global: v6(bytes)?,
            link_local: None,
        }),
        32 => Some(NextHop::V6 {
            global: v6(bytes.get(..16)?)?,
            link_local: Some(v6(bytes.get(16..)?)?),
        }),
        _ => None,
    }
}

/// Append an attribute field: the attributes in ascending type order with
/// the short MP_REACH_NLRI of RFC 6396 §4.3.4 in its place when there is an
/// `mp_next_hop`.
pub(crate) fn encode_attributes(
    attributes: &PathAttributes,
    mp_next_hop: Option<&NextHop>,
    four_octet_as: bool,
    out: &mut Vec<u8>,
) {
    attributes.encode_range(0..=type_code::MP_REACH_NLRI, four_octet_as, out);
    if let Some(nh) = mp_next_hop {
        let mut value = Vec::with_capacity(33);
        value.push(0);
        match nh {
            NextHop::Empty => {}
            NextHop::V4(a) => value.extend_from_slice(&a.octets()),
            NextHop::V6 { global, link_local } => {
                value.extend_from_slice(&global.octets());
                if let Some(ll) = link_local {
                    value.extend_from_slice(&ll.octets());
                }
            }
        }
        let len = u8::try_from(value.len().saturating_sub(1)).unwrap_or(0);
        if let Some(l) = value.first_mut() {
            *l = len;
        }
        write_attribute(flags::OPTIONAL, type_code::MP_REACH_NLRI, &value, out);
    }
    attributes.encode_range(
        type_code::MP_REACH_NLRI.saturating_add(1)..=u8::MAX,
        four_octet_as,
        out,
    );
}

/// Append a 2-byte length of what was written after `at`, into the slot at `at`.
pub(crate) fn patch_u16(out: &mut [u8], at: usize, what: &'static str) -> Result<(), ErrorKind> {
    let len = out.len().saturating_sub(at.saturating_add(2));
    let len = u16::try_from(len).map_err(|_| ErrorKind::Unencodable(what))?;
    if let Some(slot) = out.get_mut(at..at.saturating_add(2)) {
        slot.copy_from_slice(&len.to_be_bytes());
    }
    Ok(())
}

/// Read an IPv4 or IPv6 address.
pub(crate) fn read_ip(r: &mut Reader<'_>, v6: bool, what: &'static str) -> Result<IpAddr, At> {
    if v6 {
        r.ipv6().map(IpAddr::V6).map_err(truncated(what))
    } else {
        r.ipv4().map(IpAddr::V4).map_err(truncated(what))
    }
}

/// Append an address in its natural length.
pub(crate) fn write_ip(ip: &IpAddr, out: &mut Vec<u8>) {
    match ip {
        IpAddr::V4(a) => out.extend_from_slice(&a.octets()),
        IpAddr::V6(a) => out.extend_from_slice(&a.octets()),
    }
}

/// Read a prefix as in BGP NLRI: length in bits, then the bytes holding
/// them (RFC 6396 §4.3.2). Bits beyond the length are cleared.
pub(crate) fn read_prefix(r: &mut Reader<'_>, v6: bool) -> Result<IpNet, At> {
    let at = r.offset();
    let len = r.u8().map_err(truncated("prefix length"))?;
    let max = if v6 { 128 } else { 32 };
    if len > max {
        return Err(At::malformed(at, "prefix length"));
    }
    let bytes = r
        .take(usize::from(len).div_ceil(8))
        .map_err(truncated("prefix"))?;
    Ok(if v6 {
        let mut a = [0u8; 16];
        for (d, s) in a.iter_mut().zip(bytes) {
            *d = *s;
        }
        IpNet::V6(
            Ipv6Net::new(Ipv6Addr::from(a), len)
                .map_err(|_| At::malformed(at, "prefix length"))?
                .trunc(),
        )
    } else {
        let mut a = [0u8; 4];
        for (d, s) in a.iter_mut().zip(bytes) {
            *d = *s;
        }
        IpNet::V4(
            Ipv4Net::new(Ipv4Addr::from(a), len)
                .map_err(|_| At::malformed(at, "prefix length"))?
                .trunc(),
        )
    })
}

/// Append a prefix as in BGP NLRI.
pub(crate) fn write_prefix(prefix: &IpNet, out: &mut Vec<u8>) {
    let len = prefix.prefix_len();
    out.push(len);
    let n = usize::from(len).div_ceil(8);
    match prefix {
        IpNet::V4(p) => out.extend_from_slice(p.network().octets().get(..n).unwrap_or(&[])),
        IpNet::V6(p) => out.extend_from_slice(p.network().octets().get(..n).unwrap_or(&[])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ribbit_wire::{AsPath, Origin};

    #[test]
    fn short_and_long_mp_reach_give_the_same_next_hop() {
        let nh: Ipv6Addr = "2001:db8::1".parse().unwrap();
        let mut short = vec![16];
        short.extend_from_slice(&nh.octets());
        let mut long = vec![0, 2, 1, 16];
        long.extend_from_slice(&nh.octets());
        long.extend_from_slice(&[0, 32, 0x20, 0x01, 0x0d, 0xb8]);
        let want = NextHop::V6 {
            global: nh,
            link_local: None,
        };
        assert_eq!(decode_mp_next_hop(&short, 0).unwrap(), want);
        assert_eq!(decode_mp_next_hop(&long, 0).unwrap(), want);
        assert!(decode_mp_next_hop(&[5, 1, 2, 3, 4, 5], 0).is_err());
        assert!(decode_mp_next_hop(&[], 0).is_err());
    }

    #[test]
    fn attributes_round_trip_and_errors_point_into_the_record() {
        let attributes = PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::sequence(vec![65001, 4_200_000_000])),
            med: Some(7),
            ..PathAttributes::default()
        };
        let nh = NextHop::V6 {
            global: "2001:db8::1".parse().unwrap(),
            link_local: Some("fe80::1".parse().unwrap()),
        };
        let mut out = Vec::new();
        encode_attributes(&attributes, Some(&nh), true, &mut out);
        let back = decode_attributes(&out, 100, true).unwrap();
        assert_eq!(back.attributes, attributes);
        assert_eq!(back.mp_next_hop, Some(nh));
        assert!(back.issues.is_empty());

        // BIRD's NEXT_HOP and LOCAL_PREF with flags 0: read as if well-known.
        let bird = [
            0x40, 1, 1, 0, 0x00, 3, 4, 198, 18, 0, 1, 0x00, 5, 4, 0, 0, 0, 100,
        ];
        let back = decode_attributes(&bird, 0, true).unwrap();
        assert!(back.issues.is_empty(), "{:?}", back.issues);
        assert_eq!(back.attributes.next_hop, Some(Ipv4Addr::new(198, 18, 0, 1)));
        assert_eq!(back.attributes.local_pref, Some(100));

        // ORIGIN 7 at record offset 100: an issue that points at byte 100.
        let bad = [0x40, 1, 1, 7];
        let back = decode_attributes(&bad, 100, true).unwrap();
        assert_eq!(back.issues.len(), 1);
        assert_eq!(back.issues[0].offset, 100);
        // A value running past the field.
        let err = decode_attributes(&[0x40, 1, 5, 0], 100, true).unwrap_err();
        assert!(matches!(err.kind, ErrorKind::Truncated { .. }));
        assert_eq!(err.offset, 103);
    }

    #[test]
    fn prefixes_clear_host_bits_and_refuse_long_lengths() {
        let mut r = Reader::new(&[20, 10, 1, 0xff], 0);
        assert_eq!(
            read_prefix(&mut r, false).unwrap(),
            "10.1.240.0/20".parse::<IpNet>().unwrap()
        );
        assert!(read_prefix(&mut Reader::new(&[33, 1, 2, 3, 4, 5], 0), false).is_err());
        assert!(read_prefix(&mut Reader::new(&[24, 1, 2], 0), false).is_err());
        let mut out = Vec::new();
        write_prefix(&"2001:db8::/33".parse().unwrap(), &mut out);
        assert_eq!(out, [33, 0x20, 0x01, 0x0d, 0xb8, 0]);
    }

    /// What one decode gives, comparable.
    fn outcome(r: Result<Attrs, At>) -> String {
        match r {
            Ok(a) => format!("{:?} {:?} {:?}", a.attributes, a.mp_next_hop, a.issues),
            Err(e) => format!("error at {}: {}", e.offset, e.kind),
        }
    }

    fn field(asns: &[u32], med: Option<u32>, communities: u8, mp: bool) -> Vec<u8> {
        let attributes = PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::sequence(asns.to_vec())),
            med,
            communities: (0..u16::from(communities))
                .map(|i| ribbit_wire::attribute::Community::new(65000, i))
                .collect(),
            next_hop: (!mp).then_some(Ipv4Addr::new(198, 18, 0, 1)),
            ..PathAttributes::default()
        };
        let nh = mp.then(|| NextHop::V6 {
            global: "2001:db8::1".parse().unwrap(),
            link_local: None,
        });
        let mut out = Vec::new();
        encode_attributes(&attributes, nh.as_ref(), true, &mut out);
        out
    }

    proptest::proptest! {
        /// A decoder reused from field to field (valid, garbled or cut)
        /// gives what a new one gives each time: nothing carries over.
        #[test]
        fn a_reused_decoder_forgets_the_last_field(
            fields in proptest::collection::vec(
                (
                    proptest::collection::vec(proptest::num::u32::ANY, 0..6),
                    proptest::option::of(proptest::num::u32::ANY),
                    0u8..5,
                    proptest::bool::ANY,
                    proptest::option::of((0usize..64, proptest::num::u8::ANY)),
                    proptest::option::of(0usize..64),
                ),
                1..12,
            )
        ) {
            let mut reused = AttrDecoder::default();
            for (asns, med, communities, mp, flip, cut) in fields {
                let mut bytes = field(&asns, med, communities, mp);
                if let Some((at, x)) = flip {
                    if let Some(b) = bytes.get_mut(at) {
                        *b ^= x;
                    }
                }
                if let Some(cut) = cut {
                    bytes.truncate(cut);
                }
                let four = asns.len() % 2 == 0;
                proptest::prop_assert_eq!(
                    outcome(reused.decode(&bytes, 7, four)),
                    outcome(decode_attributes(&bytes, 7, four))
                );
            }
        }
    }
}
