//! Path attributes (RFC 4271 §4.3, §5) and their RFC 7606 error handling.
//!
//! ```text
//!  +-----------------+-----------------+----------------------+---------+
//!  | Flags (1)       | Type code (1)   | Length (1, or 2 when | Value   |
//!  | O T P E 0 0 0 0 |                 | the E flag is set)   |         |
//!  +-----------------+-----------------+----------------------+---------+
//!  O optional, T transitive, P partial, E extended length
//! ```
//!
//! [`PathAttributes`] holds every attribute Ribbit understands in a typed
//! field and keeps the others byte-exact in [`PathAttributes::unknown`].
//! MP_REACH_NLRI and MP_UNREACH_NLRI carry routes, not attributes of routes,
//! and live in [`crate::update::Update`].

pub mod as_path;
pub mod community;

use std::net::Ipv4Addr;

pub use as_path::{AsPath, Segment, SegmentType, AS_TRANS};
pub use community::{
    Admin, Community, ExtendedCommunity, ExtendedKind, Ipv6ExtendedCommunity, LargeCommunity,
};

use crate::error::{Action, Reason};

/// Attribute type codes (IANA "BGP Path Attributes").
pub mod type_code {
    /// ORIGIN (RFC 4271).
    pub const ORIGIN: u8 = 1;
    /// AS_PATH (RFC 4271).
    pub const AS_PATH: u8 = 2;
    /// NEXT_HOP (RFC 4271).
    pub const NEXT_HOP: u8 = 3;
    /// MULTI_EXIT_DISC (RFC 4271).
    pub const MED: u8 = 4;
    /// LOCAL_PREF (RFC 4271).
    pub const LOCAL_PREF: u8 = 5;
    /// ATOMIC_AGGREGATE (RFC 4271).
    pub const ATOMIC_AGGREGATE: u8 = 6;
    /// AGGREGATOR (RFC 4271).
    pub const AGGREGATOR: u8 = 7;
    /// COMMUNITIES (RFC 1997).
    pub const COMMUNITIES: u8 = 8;
    /// ORIGINATOR_ID (RFC 4456).
    pub const ORIGINATOR_ID: u8 = 9;
    /// CLUSTER_LIST (RFC 4456).
    pub const CLUSTER_LIST: u8 = 10;
    /// MP_REACH_NLRI (RFC 4760).
    pub const MP_REACH_NLRI: u8 = 14;
    /// MP_UNREACH_NLRI (RFC 4760).
    pub const MP_UNREACH_NLRI: u8 = 15;
    /// EXTENDED COMMUNITIES (RFC 4360).
    pub const EXTENDED_COMMUNITIES: u8 = 16;
    /// AS4_PATH (RFC 6793).
    pub const AS4_PATH: u8 = 17;
    /// AS4_AGGREGATOR (RFC 6793).
    pub const AS4_AGGREGATOR: u8 = 18;
    /// IPv6 Address Specific Extended Community (RFC 5701).
    pub const IPV6_EXTENDED_COMMUNITIES: u8 = 25;
    /// AIGP (RFC 7311).
    pub const AIGP: u8 = 26;
    /// LARGE_COMMUNITY (RFC 8092).
    pub const LARGE_COMMUNITIES: u8 = 32;
    /// Only to Customer (RFC 9234).
    pub const OTC: u8 = 35;
}

/// Attribute flag bits (RFC 4271 §4.3).
pub mod flags {
    /// Optional (1) or well-known (0).
    pub const OPTIONAL: u8 = 0x80;
    /// Transitive.
    pub const TRANSITIVE: u8 = 0x40;
    /// Partial: some speaker on the way did not recognise this optional transitive attribute.
    pub const PARTIAL: u8 = 0x20;
    /// The length field has two octets.
    pub const EXTENDED_LENGTH: u8 = 0x10;
}

/// ORIGIN values (RFC 4271 §4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Origin {
    /// Learned from an interior protocol.
    Igp = 0,
    /// Learned from EGP.
    Egp = 1,
    /// Learned some other way.
    Incomplete = 2,
}

impl Origin {
    /// The name ExaBGP and most daemons use.
    pub fn name(self) -> &'static str {
        match self {
            Origin::Igp => "igp",
            Origin::Egp => "egp",
            Origin::Incomplete => "incomplete",
        }
    }
}

impl std::str::FromStr for Origin {
    type Err = String;

    fn from_str(s: &str) -> Result<Origin, String> {
        match s.to_ascii_lowercase().as_str() {
            "igp" | "i" => Ok(Origin::Igp),
            "egp" | "e" => Ok(Origin::Egp),
            "incomplete" | "?" => Ok(Origin::Incomplete),
            _ => Err(format!(
                "invalid origin {s:?} (expected igp, egp or incomplete)"
            )),
        }
    }
}

/// AGGREGATOR (RFC 4271 §5.1.7), with the AS number reconciled from
/// AS4_AGGREGATOR when the peer has only 2-octet AS numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Aggregator {
    /// The AS that formed the aggregate.
    pub asn: u32,
    /// The BGP identifier of the speaker that formed it.
    pub address: Ipv4Addr,
}

/// An attribute Ribbit does not interpret, kept as received.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RawAttribute {
    /// Flags as received (the extended-length bit is recomputed on encode).
    pub flags: u8,
    /// Type code.
    pub type_code: u8,
    /// The value bytes.
    pub value: Vec<u8>,
}

/// The path attributes of an UPDATE, except MP_REACH_NLRI and MP_UNREACH_NLRI.
///
/// Empty lists mean "attribute absent": RFC 7606 makes an empty COMMUNITIES,
/// EXTENDED_COMMUNITIES, LARGE_COMMUNITY or CLUSTER_LIST malformed, so
/// nothing is lost.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct PathAttributes {
    /// ORIGIN.
    pub origin: Option<Origin>,
    /// AS_PATH, merged with AS4_PATH when received from a 2-octet speaker.
    pub as_path: Option<AsPath>,
    /// NEXT_HOP (IPv4 unicast NLRI only; MP families carry theirs in MP_REACH_NLRI).
    pub next_hop: Option<Ipv4Addr>,
    /// MULTI_EXIT_DISC.
    pub med: Option<u32>,
    /// LOCAL_PREF.
    pub local_pref: Option<u32>,
    /// ATOMIC_AGGREGATE.
    pub atomic_aggregate: bool,
    /// AGGREGATOR (merged with AS4_AGGREGATOR).
    pub aggregator: Option<Aggregator>,
    /// COMMUNITIES.
    pub communities: Vec<Community>,
    /// ORIGINATOR_ID.
    pub originator_id: Option<Ipv4Addr>,
    /// CLUSTER_LIST.
    pub cluster_list: Vec<Ipv4Addr>,
    /// EXTENDED COMMUNITIES.
    pub extended_communities: Vec<ExtendedCommunity>,
    /// IPv6 Address Specific Extended Communities.
    pub ipv6_extended_communities: Vec<Ipv6ExtendedCommunity>,
    /// The AIGP metric (RFC 7311 TLV type 1).
    pub aigp: Option<u64>,
    /// LARGE_COMMUNITY.
    pub large_communities: Vec<LargeCommunity>,
    /// Only to Customer (RFC 9234): the AS that set it.
    pub otc: Option<u32>,
    /// Attributes Ribbit does not interpret, in ascending type order.
    pub unknown: Vec<RawAttribute>,
}

/// The flags a known attribute must have (optional and transitive bits).
pub(crate) fn expected_flags(code: u8) -> Option<u8> {
    use type_code::*;
    const WELL_KNOWN: u8 = flags::TRANSITIVE;
    const OPT_TRANS: u8 = flags::OPTIONAL | flags::TRANSITIVE;
    const OPT: u8 = flags::OPTIONAL;
    Some(match code {
        ORIGIN | AS_PATH | NEXT_HOP | LOCAL_PREF | ATOMIC_AGGREGATE => WELL_KNOWN,
        MED | ORIGINATOR_ID | CLUSTER_LIST | MP_REACH_NLRI | MP_UNREACH_NLRI | AIGP => OPT,
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

/// What RFC 7606 (and the RFCs it points to) says to do with a malformed
/// instance of each attribute.
pub(crate) fn malformed_action(code: u8) -> Action {
    use type_code::*;
    match code {
        // RFC 7606 §7.6, §7.7; RFC 6793 §6.
        ATOMIC_AGGREGATE | AGGREGATOR | AS4_PATH | AS4_AGGREGATOR => Action::AttributeDiscard,
        // RFC 7606 §7.11, §5.3: without them the routes cannot be found.
        MP_REACH_NLRI | MP_UNREACH_NLRI => Action::SessionReset,
        _ => Action::TreatAsWithdraw,
    }
}

/// Attribute bytes, parsed into a [`PathAttributes`] field by [`decode_value`].
pub(crate) struct Incoming<'a> {
    pub code: u8,
    pub value: &'a [u8],
}

/// Intermediate values that need the whole attribute list before they
/// settle (RFC 6793 §4.2.3 reconciliation).
#[derive(Default)]
pub(crate) struct As4Pending {
    pub as4_path: Option<AsPath>,
    pub as4_aggregator: Option<Aggregator>,
}

fn length_error(code: u8, len: usize) -> Reason {
    Reason::AttributeLength {
        type_code: code,
        length: u16::try_from(len).unwrap_or(u16::MAX),
    }
}

fn u32_of(v: &[u8]) -> Option<u32> {
    <[u8; 4]>::try_from(v).ok().map(u32::from_be_bytes)
}

fn chunks<const N: usize>(v: &[u8]) -> impl Iterator<Item = [u8; N]> + '_ {
    v.chunks_exact(N)
        .filter_map(|c| <[u8; N]>::try_from(c).ok())
}

/// A non-zero multiple of `n` (RFC 7606 §7.8, §7.10, §7.14; RFC 8092 §6).
fn nonzero_multiple(len: usize, n: usize) -> bool {
    len != 0 && len.checked_rem(n) == Some(0)
}

/// Parse one known attribute's value into `attrs`, whose lists are empty
/// (the caller cleared them and discards repeated attributes); an AS_PATH
/// is decoded into `spare_path`'s memory when it holds some. Returns the
/// reason when it is malformed; the caller applies [`malformed_action`].
pub(crate) fn decode_value(
    attrs: &mut PathAttributes,
    pending: &mut As4Pending,
    spare_path: &mut Option<AsPath>,
    a: Incoming<'_>,
    four_octet_as: bool,
) -> Result<(), Reason> {
    use type_code::*;
    let code = a.code;
    let v = a.value;
    let len = v.len();
    match code {
        ORIGIN => {
            let [o] = <[u8; 1]>::try_from(v).map_err(|_| length_error(code, len))?;
            attrs.origin = Some(match o {
                0 => Origin::Igp,
                1 => Origin::Egp,
                2 => Origin::Incomplete,
                other => return Err(Reason::InvalidOrigin(other)),
            });
        }
        AS_PATH => {
            let mut path = spare_path.take().unwrap_or_default();
            path.decode_into(v, four_octet_as).map_err(|e| {
                Reason::MalformedAsPath(match e {
                    as_path::AsPathError::Truncated => "segment runs past the attribute",
                    as_path::AsPathError::UnknownSegmentType(_) => "unknown segment type",
                    as_path::AsPathError::EmptySegment => "empty segment",
                })
            })?;
            attrs.as_path = Some(path);
        }
        NEXT_HOP => {
            let nh = u32_of(v).ok_or_else(|| length_error(code, len))?;
            attrs.next_hop = Some(Ipv4Addr::from(nh));
        }
        MED => attrs.med = Some(u32_of(v).ok_or_else(|| length_error(code, len))?),
        LOCAL_PREF => attrs.local_pref = Some(u32_of(v).ok_or_else(|| length_error(code, len))?),
        ATOMIC_AGGREGATE => {
            if len != 0 {
                return Err(length_error(code, len));
            }
            attrs.atomic_aggregate = true;
        }
        AGGREGATOR => {
            let (asn, addr) = match (four_octet_as, len) {
                (true, 8) => (v.get(..4).and_then(u32_of), v.get(4..).and_then(u32_of)),
                (false, 6) => (
                    v.get(..2)
                        .and_then(|b| <[u8; 2]>::try_from(b).ok())
                        .map(|b| u32::from(u16::from_be_bytes(b))),
                    v.get(2..).and_then(u32_of),
                ),
                _ => (None, None),
            };
            let (Some(asn), Some(addr)) = (asn, addr) else {
                return Err(length_error(code, len));
            };
            attrs.aggregator = Some(Aggregator {
                asn,
                address: Ipv4Addr::from(addr),
            });
        }
        COMMUNITIES => {
            if !nonzero_multiple(len, 4) {
                return Err(length_error(code, len));
            }
            attrs
                .communities
                .extend(chunks::<4>(v).map(|c| Community(u32::from_be_bytes(c))));
        }
        ORIGINATOR_ID => {
            attrs.originator_id = Some(Ipv4Addr::from(
                u32_of(v).ok_or_else(|| length_error(code, len))?,
            ));
        }
        CLUSTER_LIST => {
            if !nonzero_multiple(len, 4) {
                return Err(length_error(code, len));
            }
            attrs
                .cluster_list
                .extend(chunks::<4>(v).map(Ipv4Addr::from));
        }
        EXTENDED_COMMUNITIES => {
            if !nonzero_multiple(len, 8) {
                return Err(length_error(code, len));
            }
            attrs
                .extended_communities
                .extend(chunks::<8>(v).map(ExtendedCommunity));
        }
        IPV6_EXTENDED_COMMUNITIES => {
            if !nonzero_multiple(len, 20) {
                return Err(length_error(code, len));
            }
            attrs
                .ipv6_extended_communities
                .extend(chunks::<20>(v).map(Ipv6ExtendedCommunity));
        }
        LARGE_COMMUNITIES => {
            if !nonzero_multiple(len, 12) {
                return Err(length_error(code, len));
            }
            attrs.large_communities.extend(chunks::<12>(v).map(|c| {
                let [a, b, cc, d, e, f, g, h, i, j, k, l] = c;
                LargeCommunity {
                    global: u32::from_be_bytes([a, b, cc, d]),
                    local1: u32::from_be_bytes([e, f, g, h]),
                    local2: u32::from_be_bytes([i, j, k, l]),
                }
            }));
        }
        OTC => attrs.otc = Some(u32_of(v).ok_or_else(|| length_error(code, len))?),
        AIGP => attrs.aigp = Some(decode_aigp(v)?),
        AS4_PATH => {
            let path = AsPath::decode(v, true).map_err(|_| Reason::OptionalAttribute {
                type_code: code,
                detail: "malformed AS4_PATH",
            })?;
            // RFC 6793 §6: confederation segments in AS4_PATH are discarded.
            if path.segments.iter().any(|s| s.kind.is_confed()) {
                return Err(Reason::OptionalAttribute {
                    type_code: code,
                    detail: "confederation segment in AS4_PATH",
                });
            }
            pending.as4_path = Some(path);
        }
        AS4_AGGREGATOR => {
            let (Some(asn), Some(addr)) =
                (v.get(..4).and_then(u32_of), v.get(4..).and_then(u32_of))
            else {
                return Err(length_error(code, len));
            };
            if len != 8 {
                return Err(length_error(code, len));
            }
            pending.as4_aggregator = Some(Aggregator {
                asn,
                address: Ipv4Addr::from(addr),
            });
        }
        _ => {
            return Err(Reason::OptionalAttribute {
                type_code: code,
                detail: "not a known attribute",
            })
        }
    }
    Ok(())
}

/// AIGP (RFC 7311 §3): TLVs of type(1) length(2, including the header)
/// value; type 1 carries the 8-byte metric and must come first.
fn decode_aigp(v: &[u8]) -> Result<u64, Reason> {
    let bad = |detail| Reason::OptionalAttribute {
        type_code: type_code::AIGP,
        detail,
    };
    let mut r = crate::reader::Reader::new(v, 0);
    let mut metric = None;
    while !r.is_empty() {
        let ty = r.u8().map_err(|_| bad("truncated TLV"))?;
        let len = usize::from(r.u16().map_err(|_| bad("truncated TLV"))?);
        let body = r
            .take(len.checked_sub(3).ok_or(bad("TLV length below 3"))?)
            .map_err(|_| bad("TLV runs past the attribute"))?;
        if ty == 1 {
            if metric.is_some() {
                return Err(bad("more than one AIGP TLV"));
            }
            let b = <[u8; 8]>::try_from(body).map_err(|_| bad("AIGP TLV is not 11 bytes"))?;
            metric = Some(u64::from_be_bytes(b));
        }
    }
    metric.ok_or(bad("no AIGP TLV"))
}

/// Apply RFC 6793 §4.2.3 once every attribute is known.
pub(crate) fn reconcile_as4(attrs: &mut PathAttributes, pending: As4Pending) {
    // An AGGREGATOR with a real 2-octet AS means the aggregate was formed by
    // an old speaker after AS4_* were attached: both AS4 attributes are stale.
    if let (Some(agg), Some(_)) = (attrs.aggregator, pending.as4_aggregator) {
        if agg.asn != AS_TRANS {
            return;
        }
    }
    if let Some(as4) = pending.as4_aggregator {
        attrs.aggregator = Some(as4);
    }
    if let (Some(path), Some(as4)) = (attrs.as_path.as_ref(), pending.as4_path.as_ref()) {
        attrs.as_path = Some(path.merge_as4(as4));
    }
}

/// Append one attribute header and value, choosing the extended-length form
/// only when the value needs it.
pub fn write_attribute(flags: u8, code: u8, value: &[u8], out: &mut Vec<u8>) {
    match u8::try_from(value.len()) {
        Ok(len) => {
            out.extend_from_slice(&[flags & !flags::EXTENDED_LENGTH, code, len]);
        }
        Err(_) => {
            let len = u16::try_from(value.len()).unwrap_or(u16::MAX);
            let [hi, lo] = len.to_be_bytes();
            out.extend_from_slice(&[flags | flags::EXTENDED_LENGTH, code, hi, lo]);
        }
    }
    out.extend_from_slice(value);
}

/// Write an attribute whose value is produced by `fill`, patching the length
/// in place so that no temporary buffer is needed.
pub(crate) fn write_attribute_with(
    flags: u8,
    code: u8,
    out: &mut Vec<u8>,
    fill: impl FnOnce(&mut Vec<u8>),
) {
    let start = out.len();
    // Reserve the extended form; shrink afterwards if one byte suffices.
    out.extend_from_slice(&[flags | flags::EXTENDED_LENGTH, code, 0, 0]);
    let value_start = out.len();
    fill(out);
    let len = out.len().saturating_sub(value_start);
    if let Ok(short) = u8::try_from(len) {
        out.remove(start.saturating_add(3));
        if let Some(f) = out.get_mut(start) {
            *f = flags & !flags::EXTENDED_LENGTH;
        }
        if let Some(l) = out.get_mut(start.saturating_add(2)) {
            *l = short;
        }
    } else {
        let [hi, lo] = u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes();
        if let Some(l) = out.get_mut(start.saturating_add(2)..start.saturating_add(4)) {
            l.copy_from_slice(&[hi, lo]);
        }
    }
}

impl PathAttributes {
    /// Remove every attribute, keeping the buffers for the next UPDATE.
    pub fn clear(&mut self) {
        self.origin = None;
        self.as_path = None;
        self.next_hop = None;
        self.med = None;
        self.local_pref = None;
        self.atomic_aggregate = false;
        self.aggregator = None;
        self.communities.clear();
        self.originator_id = None;
        self.cluster_list.clear();
        self.extended_communities.clear();
        self.ipv6_extended_communities.clear();
        self.aigp = None;
        self.large_communities.clear();
        self.otc = None;
        self.unknown.clear();
    }

    /// Whether no attribute is set.
    pub fn is_empty(&self) -> bool {
        *self == PathAttributes::default()
    }

    /// Append the attributes with type codes in `range`, in ascending type
    /// order (RFC 4271 §5 asks senders to order them), unknown ones in their
    /// place. `four_octet_as` false writes the 2-octet forms with AS4_PATH and
    /// AS4_AGGREGATOR where some AS does not fit (RFC 6793 §4.2.2).
    pub fn encode_range(
        &self,
        range: std::ops::RangeInclusive<u8>,
        four_octet_as: bool,
        out: &mut Vec<u8>,
    ) {
        use type_code::*;
        let mut unknown = self
            .unknown
            .iter()
            .filter(|u| range.contains(&u.type_code))
            .peekable();
        // Expanded once per code rather than a loop over them: each
        // expansion's `match` folds to its one arm (a loop dispatched
        // through a jump table mispredicted on every attribute, most of
        // the encoding's time when sets are interned).
        macro_rules! known {
            ($code:expr, $out:expr) => {
                if range.contains(&$code) {
                    while let Some(u) = unknown.next_if(|u| u.type_code < $code) {
                        write_attribute(u.flags, u.type_code, &u.value, $out);
                    }
                    self.encode_known($code, four_octet_as, $out);
                }
            };
        }
        known!(ORIGIN, out);
        known!(AS_PATH, out);
        known!(NEXT_HOP, out);
        known!(MED, out);
        known!(LOCAL_PREF, out);
        known!(ATOMIC_AGGREGATE, out);
        known!(AGGREGATOR, out);
        known!(COMMUNITIES, out);
        known!(ORIGINATOR_ID, out);
        known!(CLUSTER_LIST, out);
        known!(EXTENDED_COMMUNITIES, out);
        known!(AS4_PATH, out);
        known!(AS4_AGGREGATOR, out);
        known!(IPV6_EXTENDED_COMMUNITIES, out);
        known!(AIGP, out);
        known!(LARGE_COMMUNITIES, out);
        known!(OTC, out);
        for u in unknown {
            write_attribute(u.flags, u.type_code, &u.value, out);
        }
    }

    /// Append all attributes (see [`PathAttributes::encode_range`]).
    pub fn encode(&self, four_octet_as: bool, out: &mut Vec<u8>) {
        self.encode_range(0..=u8::MAX, four_octet_as, out);
    }

    #[inline(always)]
    fn encode_known(&self, code: u8, four_octet_as: bool, out: &mut Vec<u8>) {
        use type_code::*;
        let f = expected_flags(code).unwrap_or(flags::OPTIONAL);
        match code {
            ORIGIN => {
                if let Some(o) = self.origin {
                    write_attribute(f, code, &[o as u8], out);
                }
            }
            AS_PATH => {
                if let Some(p) = &self.as_path {
                    write_attribute_with(f, code, out, |o| p.encode(four_octet_as, o));
                }
            }
            NEXT_HOP => {
                if let Some(nh) = self.next_hop {
                    write_attribute(f, code, &nh.octets(), out);
                }
            }
            MED => {
                if let Some(v) = self.med {
                    write_attribute(f, code, &v.to_be_bytes(), out);
                }
            }
            LOCAL_PREF => {
                if let Some(v) = self.local_pref {
                    write_attribute(f, code, &v.to_be_bytes(), out);
                }
            }
            ATOMIC_AGGREGATE if self.atomic_aggregate => {
                write_attribute(f, code, &[], out);
            }
            AGGREGATOR => {
                if let Some(a) = self.aggregator {
                    if four_octet_as {
                        let mut v = [0u8; 8];
                        v[..4].copy_from_slice(&a.asn.to_be_bytes());
                        v[4..].copy_from_slice(&a.address.octets());
                        write_attribute(f, code, &v, out);
                    } else {
                        let two = u16::try_from(a.asn).unwrap_or(AS_TRANS as u16);
                        let mut v = [0u8; 6];
                        v[..2].copy_from_slice(&two.to_be_bytes());
                        v[2..].copy_from_slice(&a.address.octets());
                        write_attribute(f, code, &v, out);
                    }
                }
            }
            COMMUNITIES if !self.communities.is_empty() => {
                write_attribute_with(f, code, out, |o| {
                    for c in &self.communities {
                        o.extend_from_slice(&c.0.to_be_bytes());
                    }
                });
            }
            ORIGINATOR_ID => {
                if let Some(id) = self.originator_id {
                    write_attribute(f, code, &id.octets(), out);
                }
            }
            CLUSTER_LIST if !self.cluster_list.is_empty() => {
                write_attribute_with(f, code, out, |o| {
                    for c in &self.cluster_list {
                        o.extend_from_slice(&c.octets());
                    }
                });
            }
            EXTENDED_COMMUNITIES if !self.extended_communities.is_empty() => {
                write_attribute_with(f, code, out, |o| {
                    for c in &self.extended_communities {
                        o.extend_from_slice(&c.0);
                    }
                });
            }
            AS4_PATH => {
                // Only towards 2-octet peers, and only when needed (RFC 6793 §4.2.2).
                if let Some(p) = self
                    .as_path
                    .as_ref()
                    .filter(|p| !four_octet_as && p.needs_four_octets())
                {
                    let as4 = p.as4_path();
                    write_attribute_with(f, code, out, |o| as4.encode(true, o));
                }
            }
            AS4_AGGREGATOR => {
                if let Some(a) = self
                    .aggregator
                    .filter(|a| !four_octet_as && a.asn > u32::from(u16::MAX))
                {
                    let mut v = [0u8; 8];
                    v[..4].copy_from_slice(&a.asn.to_be_bytes());
                    v[4..].copy_from_slice(&a.address.octets());
                    write_attribute(f, code, &v, out);
                }
            }
            IPV6_EXTENDED_COMMUNITIES if !self.ipv6_extended_communities.is_empty() => {
                write_attribute_with(f, code, out, |o| {
                    for c in &self.ipv6_extended_communities {
                        o.extend_from_slice(&c.0);
                    }
                });
            }
            AIGP => {
                if let Some(m) = self.aigp {
                    let mut v = [0u8; 11];
                    v[..3].copy_from_slice(&[1, 0, 11]);
                    v[3..].copy_from_slice(&m.to_be_bytes());
                    write_attribute(f, code, &v, out);
                }
            }
            LARGE_COMMUNITIES if !self.large_communities.is_empty() => {
                write_attribute_with(f, code, out, |o| {
                    for c in &self.large_communities {
                        o.extend_from_slice(&c.global.to_be_bytes());
                        o.extend_from_slice(&c.local1.to_be_bytes());
                        o.extend_from_slice(&c.local2.to_be_bytes());
                    }
                });
            }
            OTC => {
                if let Some(v) = self.otc {
                    write_attribute(f, code, &v.to_be_bytes(), out);
                }
            }
            _ => {}
        }
    }
}
