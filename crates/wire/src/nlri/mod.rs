//! Network Layer Reachability Information for every family Ribbit speaks.
//!
//! A prefix on the wire (RFC 4271 §4.3, RFC 4760 §5) is its length in bits
//! followed by just enough bytes to hold that many bits; ADD-PATH (RFC 7911
//! §3) puts a 4-byte path identifier in front when it was negotiated:
//!
//! ```text
//!  +--------------------------------+
//!  | Path Identifier (4, ADD-PATH)  |
//!  +--------------------------------+
//!  | Length (1 octet, in bits)      |
//!  +--------------------------------+
//!  | Prefix (ceil(Length/8) octets) |
//!  +--------------------------------+
//! ```
//!
//! Labeled (RFC 8277) and VPN (RFC 4364) NLRI put a label stack and a route
//! distinguisher between the length and the prefix, and count them in the
//! length. Flowspec (RFC 8955) has a layout of its own, in [`flowspec`].

pub mod flowspec;
mod rd;

use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::error::{DecodeError, Reason};
use crate::family::{Afi, Family, NlriKind};
use crate::notification::{code, subcode};
use crate::reader::Reader;

pub use flowspec::FlowspecNlri;
pub use rd::{InvalidRouteDistinguisher, RouteDistinguisher};

/// An IPv4 or IPv6 prefix. Host bits beyond the length are always zero.
pub type Prefix = IpNet;

/// An ADD-PATH path identifier (RFC 7911).
pub type PathId = u32;

const INVALID_NETWORK: (u8, u8) = (code::UPDATE, subcode::INVALID_NETWORK_FIELD);

/// A plain prefix, as in unicast and multicast families.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PrefixNlri {
    /// The ADD-PATH path identifier, when negotiated.
    pub path_id: Option<PathId>,
    /// The prefix.
    pub prefix: Prefix,
}

/// One MPLS label stack entry as carried in NLRI (RFC 3032 layout without TTL):
/// 20 bits of label, 3 bits of traffic class, 1 bottom-of-stack bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Label(pub u32);

impl Label {
    /// The value RFC 8277 §2.4 asks for in withdrawals.
    pub const WITHDRAW: Label = Label(0x80_0000);

    /// A label entry from a 20-bit label value (bottom-of-stack bit clear).
    pub fn new(value: u32) -> Label {
        Label((value & 0xf_ffff) << 4)
    }

    /// The 20-bit label value.
    pub fn value(self) -> u32 {
        self.0 >> 4
    }

    /// Whether the bottom-of-stack bit is set.
    pub fn is_bottom(self) -> bool {
        self.0 & 1 == 1
    }
}

/// A labeled prefix (RFC 8277).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LabeledNlri {
    /// The ADD-PATH path identifier, when negotiated.
    pub path_id: Option<PathId>,
    /// The label stack, bottom-of-stack bit as received (set on the last on encode).
    pub labels: Vec<Label>,
    /// The prefix.
    pub prefix: Prefix,
}

/// A VPN prefix (RFC 4364 §4.3.4, RFC 4659).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VpnNlri {
    /// The ADD-PATH path identifier, when negotiated.
    pub path_id: Option<PathId>,
    /// The label stack.
    pub labels: Vec<Label>,
    /// The route distinguisher.
    pub rd: RouteDistinguisher,
    /// The prefix.
    pub prefix: Prefix,
}

/// A list of NLRI of one family, typed by its layout.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NlriList {
    /// Unicast or multicast prefixes.
    Prefixes(Vec<PrefixNlri>),
    /// Labeled prefixes.
    Labeled(Vec<LabeledNlri>),
    /// VPN prefixes.
    Vpn(Vec<VpnNlri>),
    /// Flowspec rules, VPN or not.
    Flowspec(Vec<FlowspecNlri>),
}

/// One NLRI of any layout, borrowed from an [`NlriList`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nlri<'a> {
    /// A plain prefix.
    Prefix(&'a PrefixNlri),
    /// A labeled prefix.
    Labeled(&'a LabeledNlri),
    /// A VPN prefix.
    Vpn(&'a VpnNlri),
    /// A Flowspec rule.
    Flowspec(&'a FlowspecNlri),
}

impl NlriList {
    /// An empty list with the layout of `family`, for families Ribbit decodes.
    pub fn empty_for(family: Family) -> Option<NlriList> {
        Some(match family.nlri_kind()? {
            NlriKind::Prefix => NlriList::Prefixes(Vec::new()),
            NlriKind::Labeled => NlriList::Labeled(Vec::new()),
            NlriKind::Vpn => NlriList::Vpn(Vec::new()),
            NlriKind::Flowspec | NlriKind::FlowspecVpn => NlriList::Flowspec(Vec::new()),
        })
    }

    /// Number of NLRI.
    pub fn len(&self) -> usize {
        match self {
            NlriList::Prefixes(v) => v.len(),
            NlriList::Labeled(v) => v.len(),
            NlriList::Vpn(v) => v.len(),
            NlriList::Flowspec(v) => v.len(),
        }
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Append the NLRI of `other` when both lists have the same layout;
    /// false (and nothing appended) when they do not.
    pub fn extend_from(&mut self, other: &NlriList) -> bool {
        match (self, other) {
            (NlriList::Prefixes(a), NlriList::Prefixes(b)) => a.extend_from_slice(b),
            (NlriList::Labeled(a), NlriList::Labeled(b)) => a.extend_from_slice(b),
            (NlriList::Vpn(a), NlriList::Vpn(b)) => a.extend_from_slice(b),
            (NlriList::Flowspec(a), NlriList::Flowspec(b)) => a.extend_from_slice(b),
            _ => return false,
        }
        true
    }

    /// The NLRI, one by one.
    pub fn iter(&self) -> Box<dyn Iterator<Item = Nlri<'_>> + '_> {
        match self {
            NlriList::Prefixes(v) => Box::new(v.iter().map(Nlri::Prefix)),
            NlriList::Labeled(v) => Box::new(v.iter().map(Nlri::Labeled)),
            NlriList::Vpn(v) => Box::new(v.iter().map(Nlri::Vpn)),
            NlriList::Flowspec(v) => Box::new(v.iter().map(Nlri::Flowspec)),
        }
    }

    /// Decode a whole NLRI field of `family`. `withdraw` is true in
    /// MP_UNREACH_NLRI, where labeled NLRI may carry the RFC 8277 §2.4
    /// withdrawal label instead of a stack.
    pub fn decode(
        r: &mut Reader<'_>,
        family: Family,
        add_path: bool,
        withdraw: bool,
    ) -> Result<NlriList, DecodeError> {
        let kind = family.nlri_kind().ok_or_else(|| {
            DecodeError::new(
                r.offset(),
                Reason::InvalidNetwork("unsupported address family"),
            )
        })?;
        let afi = family.afi;
        Ok(match kind {
            NlriKind::Prefix if afi == Afi::IPV4 && !add_path => {
                let mut out = Vec::new();
                read_ipv4_prefixes_into(r, &mut out)?;
                NlriList::Prefixes(out)
            }
            NlriKind::Prefix => {
                // Typical UPDATEs carry short prefixes: ~4 bytes each.
                let mut out = Vec::with_capacity(r.remaining() / 4);
                while !r.is_empty() {
                    let path_id = read_path_id(r, add_path)?;
                    let prefix = read_prefix(r, afi)?;
                    out.push(PrefixNlri { path_id, prefix });
                }
                NlriList::Prefixes(out)
            }
            NlriKind::Labeled => {
                let mut out = Vec::new();
                while !r.is_empty() {
                    let path_id = read_path_id(r, add_path)?;
                    let parts = read_labeled(r, afi, withdraw, false)?;
                    out.push(LabeledNlri {
                        path_id,
                        labels: parts.labels,
                        prefix: parts.prefix,
                    });
                }
                NlriList::Labeled(out)
            }
            NlriKind::Vpn => {
                let mut out = Vec::new();
                while !r.is_empty() {
                    let path_id = read_path_id(r, add_path)?;
                    let LabeledParts { labels, rd, prefix } = read_labeled(r, afi, withdraw, true)?;
                    let rd = rd.ok_or_else(|| {
                        DecodeError::new(r.offset(), Reason::InvalidNetwork("VPN NLRI without RD"))
                    })?;
                    out.push(VpnNlri {
                        path_id,
                        labels,
                        rd,
                        prefix,
                    });
                }
                NlriList::Vpn(out)
            }
            NlriKind::Flowspec | NlriKind::FlowspecVpn => {
                let vpn = kind == NlriKind::FlowspecVpn;
                let mut out = Vec::new();
                while !r.is_empty() {
                    out.push(FlowspecNlri::decode(r, afi, vpn, add_path)?);
                }
                NlriList::Flowspec(out)
            }
        })
    }

    /// Append every NLRI of the list in wire form.
    pub fn encode(&self, family: Family, add_path: bool, out: &mut Vec<u8>) {
        for n in self.iter() {
            n.encode(family.afi, add_path, out);
        }
    }
}

impl Nlri<'_> {
    /// The encoded length of this NLRI.
    pub fn encoded_len(&self, afi: Afi, add_path: bool) -> usize {
        let id: usize = if add_path { 4 } else { 0 };
        let labels = |l: &[Label]| l.len().max(1).saturating_mul(3);
        let body = match self {
            Nlri::Prefix(n) => prefix_bytes(&n.prefix),
            Nlri::Labeled(n) => labels(&n.labels).saturating_add(prefix_bytes(&n.prefix)),
            Nlri::Vpn(n) => labels(&n.labels)
                .saturating_add(8)
                .saturating_add(prefix_bytes(&n.prefix)),
            Nlri::Flowspec(n) => return n.encoded_len(afi, add_path),
        };
        // One length byte in front of every layout but Flowspec.
        id.saturating_add(1).saturating_add(body)
    }

    /// Append this NLRI in wire form.
    pub fn encode(&self, afi: Afi, add_path: bool, out: &mut Vec<u8>) {
        match self {
            Nlri::Prefix(n) => {
                write_path_id(n.path_id, add_path, out);
                write_prefix(&n.prefix, out);
            }
            Nlri::Labeled(n) => {
                write_path_id(n.path_id, add_path, out);
                write_labeled(&n.labels, None, &n.prefix, out);
            }
            Nlri::Vpn(n) => {
                write_path_id(n.path_id, add_path, out);
                write_labeled(&n.labels, Some(n.rd), &n.prefix, out);
            }
            Nlri::Flowspec(n) => n.encode(afi, add_path, out),
        }
    }
}

/// Read a path identifier if ADD-PATH is on for this family and direction.
#[inline]
pub(crate) fn read_path_id(
    r: &mut Reader<'_>,
    add_path: bool,
) -> Result<Option<PathId>, DecodeError> {
    if !add_path {
        return Ok(None);
    }
    r.u32()
        .map(Some)
        .map_err(|t| DecodeError::truncated("ADD-PATH path identifier", t, INVALID_NETWORK))
}

/// Write a path identifier if ADD-PATH is on (0 when the NLRI has none).
#[inline]
pub(crate) fn write_path_id(path_id: Option<PathId>, add_path: bool, out: &mut Vec<u8>) {
    if add_path {
        out.extend_from_slice(&path_id.unwrap_or(0).to_be_bytes());
    }
}

/// Bytes needed for `bits` bits.
#[inline]
fn bytes_for(bits: u8) -> usize {
    usize::from(bits).div_ceil(8)
}

/// The number of address bytes of a prefix on the wire.
#[inline]
pub fn prefix_bytes(prefix: &Prefix) -> usize {
    bytes_for(prefix.prefix_len())
}

/// Read `len` bits of an address of `afi`, zeroing the bits beyond `len`
/// (RFC 4271 §4.3: trailing bits are irrelevant).
pub(crate) fn read_address_bits(
    r: &mut Reader<'_>,
    afi: Afi,
    len: u8,
) -> Result<Prefix, DecodeError> {
    let start = r.offset();
    let bad = |what| DecodeError::new(start, Reason::InvalidNetwork(what));
    let n = bytes_for(len);
    let bytes = r
        .take(n)
        .map_err(|t| DecodeError::truncated("prefix", t, INVALID_NETWORK))?;
    if afi == Afi::IPV6 {
        if len > 128 {
            return Err(bad("IPv6 prefix longer than 128 bits"));
        }
        let mut octets = [0u8; 16];
        octets
            .get_mut(..n)
            .ok_or_else(|| bad("IPv6 prefix longer than 128 bits"))?
            .copy_from_slice(bytes);
        let net = Ipv6Net::new(Ipv6Addr::from(octets), len)
            .map_err(|_| bad("IPv6 prefix longer than 128 bits"))?;
        Ok(IpNet::V6(net.trunc()))
    } else {
        if len > 32 {
            return Err(bad("IPv4 prefix longer than 32 bits"));
        }
        let mut octets = [0u8; 4];
        octets
            .get_mut(..n)
            .ok_or_else(|| bad("IPv4 prefix longer than 32 bits"))?
            .copy_from_slice(bytes);
        let net = Ipv4Net::new(Ipv4Addr::from(octets), len)
            .map_err(|_| bad("IPv4 prefix longer than 32 bits"))?;
        Ok(IpNet::V4(net.trunc()))
    }
}

/// The hot path of every full table: a run of IPv4 prefixes without path
/// identifiers, read straight from the slice with one bounds check per
/// prefix and no allocation but the output vector.
pub(crate) fn read_ipv4_prefixes_into(
    r: &mut Reader<'_>,
    out: &mut Vec<PrefixNlri>,
) -> Result<(), DecodeError> {
    let base = r.offset();
    let bytes = r.take_rest();
    // Room for prefixes of 3 bytes and more (/9 and longer: nearly every
    // route of a real table), so the vector is never moved while it fills;
    // no allocation at all for the common empty field.
    out.reserve(bytes.len() / 3);
    let mut rest = bytes;
    while let Some((&len, tail)) = rest.split_first() {
        let at = base.saturating_add(bytes.len().saturating_sub(rest.len()));
        if len > 32 {
            return Err(DecodeError::new(
                at,
                Reason::InvalidNetwork("IPv4 prefix longer than 32 bits"),
            ));
        }
        let n = bytes_for(len);
        let (Some(addr), Some(next)) = (tail.get(..n), tail.get(n..)) else {
            let cause = crate::reader::Truncated {
                offset: at.saturating_add(1),
                needed: n,
                available: tail.len(),
            };
            return Err(DecodeError::truncated("prefix", cause, INVALID_NETWORK));
        };
        // Load four bytes at once when the buffer has them (the bytes of the
        // next prefix are masked away below), else only the prefix's own.
        let raw = match tail.get(..4).and_then(|b| <[u8; 4]>::try_from(b).ok()) {
            Some(four) => u32::from_be_bytes(four),
            None => {
                let mut octets = [0u8; 4];
                if let Some(dst) = octets.get_mut(..n) {
                    dst.copy_from_slice(addr);
                }
                u32::from_be_bytes(octets)
            }
        };
        // Trailing bits are irrelevant (RFC 4271 §4.3): clear them.
        let mask = u32::MAX
            .checked_shl(32u32.saturating_sub(u32::from(len)))
            .unwrap_or(0);
        let network = Ipv4Addr::from(raw & mask);
        // `len` is at most 32 (checked above), so this cannot fail.
        let prefix = Ipv4Net::new_assert(network, len);
        out.push(PrefixNlri {
            path_id: None,
            prefix: IpNet::V4(prefix),
        });
        rest = next;
    }
    Ok(())
}

/// Read one length-prefixed prefix of `afi`.
#[inline]
pub(crate) fn read_prefix(r: &mut Reader<'_>, afi: Afi) -> Result<Prefix, DecodeError> {
    let len = r
        .u8()
        .map_err(|t| DecodeError::truncated("prefix length", t, INVALID_NETWORK))?;
    read_address_bits(r, afi, len)
}

/// Append the address bytes of `prefix` (no length byte).
pub(crate) fn write_address_bits(prefix: &Prefix, out: &mut Vec<u8>) {
    let n = prefix_bytes(prefix);
    match prefix {
        IpNet::V4(p) => out.extend(p.network().octets().iter().take(n)),
        IpNet::V6(p) => out.extend(p.network().octets().iter().take(n)),
    }
}

/// Append a length-prefixed prefix.
#[inline]
pub(crate) fn write_prefix(prefix: &Prefix, out: &mut Vec<u8>) {
    out.push(prefix.prefix_len());
    write_address_bits(prefix, out);
}

/// What a labeled or VPN NLRI holds besides its path identifier.
struct LabeledParts {
    labels: Vec<Label>,
    rd: Option<RouteDistinguisher>,
    prefix: Prefix,
}

/// Read labels, an optional RD and a prefix, all counted in one length byte.
fn read_labeled(
    r: &mut Reader<'_>,
    afi: Afi,
    withdraw: bool,
    with_rd: bool,
) -> Result<LabeledParts, DecodeError> {
    let start = r.offset();
    let bad = |what| DecodeError::new(start, Reason::InvalidNetwork(what));
    let mut bits = r
        .u8()
        .map_err(|t| DecodeError::truncated("NLRI length", t, INVALID_NETWORK))?;
    let mut labels = Vec::with_capacity(1);
    loop {
        bits = bits
            .checked_sub(24)
            .ok_or_else(|| bad("NLRI length too short for its label stack"))?;
        let [a, b, c] = r
            .array::<3>()
            .map_err(|t| DecodeError::truncated("label", t, INVALID_NETWORK))?;
        let label = Label(u32::from_be_bytes([0, a, b, c]));
        labels.push(label);
        // RFC 8277 §2.4: a withdrawal may carry 0x800000 instead of a stack.
        if label.is_bottom() || (withdraw && label == Label::WITHDRAW) {
            break;
        }
    }
    let rd = if with_rd {
        bits = bits
            .checked_sub(64)
            .ok_or_else(|| bad("NLRI length too short for its route distinguisher"))?;
        let b = r
            .array::<8>()
            .map_err(|t| DecodeError::truncated("route distinguisher", t, INVALID_NETWORK))?;
        Some(RouteDistinguisher::from_bytes(b))
    } else {
        None
    };
    let prefix = read_address_bits(r, afi, bits)?;
    Ok(LabeledParts { labels, rd, prefix })
}

/// Append labels (bottom-of-stack set on the last), RD and prefix with one length byte.
fn write_labeled(
    labels: &[Label],
    rd: Option<RouteDistinguisher>,
    prefix: &Prefix,
    out: &mut Vec<u8>,
) {
    let stack: &[Label] = if labels.is_empty() {
        &[Label::WITHDRAW]
    } else {
        labels
    };
    let rd_bits: usize = if rd.is_some() { 64 } else { 0 };
    let bits = stack
        .len()
        .saturating_mul(24)
        .saturating_add(rd_bits)
        .saturating_add(usize::from(prefix.prefix_len()));
    out.push(u8::try_from(bits).unwrap_or(u8::MAX));
    let last = stack.len().saturating_sub(1);
    for (i, label) in stack.iter().enumerate() {
        let mut v = label.0 & 0xff_fffe;
        if i == last && *label != Label::WITHDRAW {
            v |= 1;
        }
        let [_, a, b, c] = v.to_be_bytes();
        out.extend_from_slice(&[a, b, c]);
    }
    if let Some(rd) = rd {
        out.extend_from_slice(&rd.to_bytes());
    }
    write_address_bits(prefix, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8], family: Family, add_path: bool) -> Result<NlriList, DecodeError> {
        NlriList::decode(&mut Reader::new(bytes, 0), family, add_path, false)
    }

    #[test]
    fn lists_of_one_layout_extend_and_others_do_not() {
        let mut a = decode(&[8, 10, 24, 192, 0, 2], Family::IPV4_UNICAST, false).unwrap();
        let b = decode(&[16, 172, 16], Family::IPV4_UNICAST, false).unwrap();
        assert!(a.extend_from(&b));
        let got: Vec<String> = match &a {
            NlriList::Prefixes(v) => v.iter().map(|n| n.prefix.to_string()).collect(),
            _ => panic!("layout changed"),
        };
        assert_eq!(got, ["10.0.0.0/8", "192.0.2.0/24", "172.16.0.0/16"]);
        let mut flows = NlriList::Flowspec(Vec::new());
        assert!(!flows.extend_from(&b));
        assert!(flows.is_empty());
    }

    #[test]
    fn ipv4_prefixes_mask_trailing_bits() {
        let list = decode(
            &[0, 8, 10, 24, 192, 0, 0xff, 32, 1, 2, 3, 4],
            Family::IPV4_UNICAST,
            false,
        )
        .unwrap();
        let NlriList::Prefixes(v) = &list else {
            panic!()
        };
        let got: Vec<String> = v.iter().map(|n| n.prefix.to_string()).collect();
        assert_eq!(
            got,
            ["0.0.0.0/0", "10.0.0.0/8", "192.0.255.0/24", "1.2.3.4/32"]
        );
        let mut out = Vec::new();
        list.encode(Family::IPV4_UNICAST, false, &mut out);
        assert_eq!(out, [0, 8, 10, 24, 192, 0, 0xff, 32, 1, 2, 3, 4]);
        // Trailing host bits are dropped.
        let list = decode(&[7, 0xff], Family::IPV4_UNICAST, false).unwrap();
        assert_eq!(list.iter().count(), 1);
        let NlriList::Prefixes(v) = list else {
            panic!()
        };
        assert_eq!(v[0].prefix.to_string(), "254.0.0.0/7");
    }

    #[test]
    fn rejects_bad_prefixes() {
        let err = decode(&[33, 1, 2, 3, 4, 5], Family::IPV4_UNICAST, false).unwrap_err();
        assert_eq!(err.notification().subcode, subcode::INVALID_NETWORK_FIELD);
        assert!(decode(&[24, 1, 2], Family::IPV4_UNICAST, false).is_err());
        assert!(decode(&[129], Family::IPV6_UNICAST, false).is_err());
        assert!(decode(&[0, 0, 0], Family::IPV4_UNICAST, true).is_err());
    }

    #[test]
    fn add_path_ids() {
        let list = decode(&[0, 0, 0, 7, 16, 10, 1], Family::IPV4_UNICAST, true).unwrap();
        let NlriList::Prefixes(v) = list else {
            panic!()
        };
        assert_eq!(v[0].path_id, Some(7));
        assert_eq!(v[0].prefix.to_string(), "10.1.0.0/16");
    }

    #[test]
    fn labeled_and_vpn() {
        // 10.0.0.0/8 with label 16 (bottom of stack).
        let bytes = [32, 0x00, 0x01, 0x01, 10];
        let list = decode(&bytes, Family::IPV4_LABELED, false).unwrap();
        let NlriList::Labeled(v) = &list else {
            panic!()
        };
        assert_eq!(v[0].labels, vec![Label(0x101)]);
        assert_eq!(v[0].labels[0].value(), 16);
        let mut out = Vec::new();
        list.encode(Family::IPV4_LABELED, false, &mut out);
        assert_eq!(out, bytes);

        let mut bytes = vec![24 + 64 + 24, 0x00, 0x06, 0x41];
        bytes.extend_from_slice(&[0, 0, 0xfd, 0xe8, 0, 0, 0, 1]);
        bytes.extend_from_slice(&[192, 0, 2]);
        let list = decode(&bytes, Family::IPV4_VPN, false).unwrap();
        let NlriList::Vpn(v) = &list else { panic!() };
        assert_eq!(v[0].rd.to_string(), "65000:1");
        assert_eq!(v[0].labels[0].value(), 100);
        assert_eq!(v[0].prefix.to_string(), "192.0.2.0/24");
        let mut out = Vec::new();
        list.encode(Family::IPV4_VPN, false, &mut out);
        assert_eq!(out, bytes);
        // A label stack that never ends runs out of length.
        assert!(decode(&[24, 0, 0, 0x10], Family::IPV4_LABELED, false).is_err());
    }
}
