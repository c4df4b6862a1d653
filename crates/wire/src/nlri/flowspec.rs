//! Flow Specification NLRI: RFC 8955 (IPv4, SAFI 133 and 134) and RFC 8956
//! (IPv6), decoded strictly and encoded canonically.
//!
//! One flowspec NLRI is a list of match components in strictly increasing
//! type order (RFC 8955 §4.2), behind a length that counts the route
//! distinguisher of the VPN variant (RFC 8955 §8) as well:
//!
//! ```text
//!  +-------------------------------------------+
//!  | Path Identifier (4 octets, ADD-PATH only) |
//!  +-------------------------------------------+
//!  | Length: 1 octet if < 240, else 2 octets   |
//!  |   0xFnnn (12-bit value, at most 4095)     |
//!  +-------------------------------------------+
//!  | Route Distinguisher (8 octets, VPN only)  |
//!  +-------------------------------------------+
//!  | Component: type (1 octet) + body          |
//!  | ...  (types strictly increasing)          |
//!  +-------------------------------------------+
//!
//!  prefix body, IPv4 (RFC 8955 §4.2.2.1):
//!    length in bits (1) | prefix (ceil(length / 8))
//!  prefix body, IPv6 (RFC 8956 §3.1):
//!    length (1) | offset (1) | pattern: bits offset..length (ceil((length - offset) / 8))
//!  operator body (RFC 8955 §4.2.1): {operator (1) | value (1, 2, 4 or 8)} ... until e
//!
//!      0   1   2   3   4   5   6   7
//!    +---+---+---+---+---+---+---+---+
//!    | e | a |  len  | 0 |lt |gt |eq |   numeric operator (types 3-8, 10, 11, 13)
//!    +---+---+---+---+---+---+---+---+
//!    | e | a |  len  | 0 | 0 |not| m |   bitmask operator (types 9, 12)
//!    +---+---+---+---+---+---+---+---+
//! ```
//!
//! Decisions taken here:
//!
//! - RFC 8955 §4.2 makes a malformed flowspec NLRI an error for the whole
//!   message, so decoding never skips or repairs anything: any violation is a
//!   [`DecodeError`] with [`Reason::InvalidNetwork`] at the offending byte.
//! - The AND bit of the first operator of a list "SHOULD be encoded as unset
//!   and MUST be treated as always unset on decoding" (RFC 8955 §4.2.1.1): it
//!   is accepted, ignored and stored as `false`, and never written.
//! - The reserved operator bits (0x08 numeric, 0x0c bitmask) "MUST be set to
//!   0 on NLRI encoding and MUST be ignored during decoding" (RFC 8955
//!   §4.2.1.1, §4.2.1.2), and so are the reserved bits of the fragment
//!   bitmask (§4.2.2.12): they are dropped on decode, never written, and are
//!   not an error.
//! - Operator values are decoded at whatever size the sender used and
//!   re-encoded at the smallest of 1, 2, 4 or 8 octets that holds them (as
//!   ExaBGP does). RFC 8955 asks for 1-octet values for several types, but
//!   the wider forms are unambiguous, so they are accepted, not rejected.
//! - The 2-octet length form is accepted for any length (RFC 8955 §4.1 says
//!   a short length "can" use one octet) and written only from 240 on.
//! - ExaBGP (up to at least 6.0) writes an IPv6 prefix with a non-zero offset
//!   as the whole ceil(length / 8) octets of the address instead of the
//!   RFC 8956 §3.1 pattern. When an IPv6 NLRI does not decode with the RFC
//!   layout, it is decoded again with that layout before giving up, so rules
//!   sent by ExaBGP are understood; the RFC reading wins whenever both work.
//!   Encoding always follows RFC 8956.
//! - A [`FlowPrefix`] is kept canonical: address bits outside
//!   `offset..length` are zero (RFC 8956 §3.1 does not transmit them).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use super::{read_path_id, write_path_id, Prefix, RouteDistinguisher};
use crate::error::{DecodeError, Reason};
use crate::family::Afi;
use crate::reader::{Reader, Truncated};

/// The largest NLRI length the 2-octet form can express (RFC 8955 §4.1).
pub const MAX_NLRI_LENGTH: usize = 0x0fff;

/// Lengths from this value on need the 2-octet form (RFC 8955 §4.1).
const EXTENDED_LENGTH_FROM: usize = 0xf0;

// Operator byte bits shared by both operator kinds (RFC 8955 §4.2.1.1).
const OP_END: u8 = 0x80;
const OP_AND: u8 = 0x40;
const OP_LEN: u8 = 0x30;
// Numeric operator (RFC 8955 §4.2.1.1).
const NUM_LT: u8 = 0x04;
const NUM_GT: u8 = 0x02;
const NUM_EQ: u8 = 0x01;
// Bitmask operator (RFC 8955 §4.2.1.2).
const BIT_NOT: u8 = 0x02;
const BIT_MATCH: u8 = 0x01;
/// The defined fragment bits (RFC 8955 §4.2.2.12); the others are reserved.
const FRAGMENT_BITS: u64 = 0x0f;

/// The component types of RFC 8955 §4.2.2 and RFC 8956 §3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ComponentType {
    /// Type 1: destination prefix.
    DestinationPrefix,
    /// Type 2: source prefix.
    SourcePrefix,
    /// Type 3: IP protocol (IPv4) or upper-layer protocol / next header (IPv6).
    IpProtocol,
    /// Type 4: source or destination port.
    Port,
    /// Type 5: destination port.
    DestinationPort,
    /// Type 6: source port.
    SourcePort,
    /// Type 7: ICMP type.
    IcmpType,
    /// Type 8: ICMP code.
    IcmpCode,
    /// Type 9: TCP flags (bitmask).
    TcpFlags,
    /// Type 10: packet length.
    PacketLength,
    /// Type 11: DSCP (IPv4) or traffic class (IPv6).
    Dscp,
    /// Type 12: fragment flags (bitmask).
    Fragment,
    /// Type 13: flow label (IPv6 only, RFC 8956 §3.7).
    FlowLabel,
}

impl ComponentType {
    /// Every type, in wire order.
    pub const ALL: [ComponentType; 13] = [
        ComponentType::DestinationPrefix,
        ComponentType::SourcePrefix,
        ComponentType::IpProtocol,
        ComponentType::Port,
        ComponentType::DestinationPort,
        ComponentType::SourcePort,
        ComponentType::IcmpType,
        ComponentType::IcmpCode,
        ComponentType::TcpFlags,
        ComponentType::PacketLength,
        ComponentType::Dscp,
        ComponentType::Fragment,
        ComponentType::FlowLabel,
    ];

    /// The type code on the wire.
    pub fn code(self) -> u8 {
        match self {
            ComponentType::DestinationPrefix => 1,
            ComponentType::SourcePrefix => 2,
            ComponentType::IpProtocol => 3,
            ComponentType::Port => 4,
            ComponentType::DestinationPort => 5,
            ComponentType::SourcePort => 6,
            ComponentType::IcmpType => 7,
            ComponentType::IcmpCode => 8,
            ComponentType::TcpFlags => 9,
            ComponentType::PacketLength => 10,
            ComponentType::Dscp => 11,
            ComponentType::Fragment => 12,
            ComponentType::FlowLabel => 13,
        }
    }

    /// The type with this wire code, if it is one of the 13 known ones.
    pub fn from_code(code: u8) -> Option<ComponentType> {
        ComponentType::ALL.into_iter().find(|t| t.code() == code)
    }

    /// The key ExaBGP uses for this component in JSON and in commands.
    pub fn exabgp_name(self, afi: Afi) -> &'static str {
        let v6 = afi == Afi::IPV6;
        match self {
            ComponentType::DestinationPrefix if v6 => "destination-ipv6",
            ComponentType::DestinationPrefix => "destination-ipv4",
            ComponentType::SourcePrefix if v6 => "source-ipv6",
            ComponentType::SourcePrefix => "source-ipv4",
            ComponentType::IpProtocol if v6 => "next-header",
            ComponentType::IpProtocol => "protocol",
            ComponentType::Port => "port",
            ComponentType::DestinationPort => "destination-port",
            ComponentType::SourcePort => "source-port",
            ComponentType::IcmpType => "icmp-type",
            ComponentType::IcmpCode => "icmp-code",
            ComponentType::TcpFlags => "tcp-flags",
            ComponentType::PacketLength => "packet-length",
            ComponentType::Dscp if v6 => "traffic-class",
            ComponentType::Dscp => "dscp",
            ComponentType::Fragment => "fragment",
            ComponentType::FlowLabel => "flow-label",
        }
    }

    /// The type an ExaBGP key names, for either family, including ExaBGP's
    /// configuration aliases `destination` and `source`.
    pub fn from_exabgp_name(name: &str) -> Option<ComponentType> {
        Some(match name {
            "destination-ipv4" | "destination-ipv6" | "destination" => {
                ComponentType::DestinationPrefix
            }
            "source-ipv4" | "source-ipv6" | "source" => ComponentType::SourcePrefix,
            "protocol" | "next-header" => ComponentType::IpProtocol,
            "port" => ComponentType::Port,
            "destination-port" => ComponentType::DestinationPort,
            "source-port" => ComponentType::SourcePort,
            "icmp-type" => ComponentType::IcmpType,
            "icmp-code" => ComponentType::IcmpCode,
            "tcp-flags" => ComponentType::TcpFlags,
            "packet-length" => ComponentType::PacketLength,
            "dscp" | "traffic-class" => ComponentType::Dscp,
            "fragment" => ComponentType::Fragment,
            "flow-label" => ComponentType::FlowLabel,
            _ => return None,
        })
    }

    /// Whether the component carries a prefix (types 1 and 2).
    pub fn is_prefix(self) -> bool {
        matches!(
            self,
            ComponentType::DestinationPrefix | ComponentType::SourcePrefix
        )
    }

    /// Whether the component uses bitmask operators (types 9 and 12, RFC 8955 §4.2.1.2).
    pub fn is_bitmask(self) -> bool {
        matches!(self, ComponentType::TcpFlags | ComponentType::Fragment)
    }

    /// Whether the component uses numeric operators (RFC 8955 §4.2.1.1).
    pub fn is_numeric(self) -> bool {
        !self.is_prefix() && !self.is_bitmask()
    }

    /// Whether the type exists in flowspec of `afi`: flow label is IPv6 only
    /// (RFC 8956 §3.7); the others exist in both.
    pub fn exists_in(self, afi: Afi) -> bool {
        match self {
            ComponentType::FlowLabel => afi == Afi::IPV6,
            _ => afi == Afi::IPV4 || afi == Afi::IPV6,
        }
    }

    /// The largest value the matched packet field can hold, which is what the
    /// text parsers accept. The wire allows up to 8 octets for every operator
    /// type, and decoding keeps whatever arrives. DSCP is allowed a full
    /// octet because IPv6 uses the same type for the traffic class; the
    /// fragment bitmask has four defined bits (RFC 8955 §4.2.2.12).
    pub fn max_value(self) -> u64 {
        match self {
            ComponentType::DestinationPrefix | ComponentType::SourcePrefix => 0,
            ComponentType::Fragment => FRAGMENT_BITS,
            ComponentType::IpProtocol
            | ComponentType::IcmpType
            | ComponentType::IcmpCode
            | ComponentType::Dscp => 0xff,
            ComponentType::Port
            | ComponentType::DestinationPort
            | ComponentType::SourcePort
            | ComponentType::TcpFlags
            | ComponentType::PacketLength => 0xffff,
            ComponentType::FlowLabel => 0xf_ffff,
        }
    }

    /// A family-neutral name for messages.
    /// Ribbit's name of the type, the same for both families
    /// (`destination-prefix`, `ip-protocol`, `dscp`, ...).
    pub fn name(self) -> &'static str {
        match self {
            ComponentType::DestinationPrefix => "destination-prefix",
            ComponentType::SourcePrefix => "source-prefix",
            ComponentType::IpProtocol => "ip-protocol",
            ComponentType::Port => "port",
            ComponentType::DestinationPort => "destination-port",
            ComponentType::SourcePort => "source-port",
            ComponentType::IcmpType => "icmp-type",
            ComponentType::IcmpCode => "icmp-code",
            ComponentType::TcpFlags => "tcp-flags",
            ComponentType::PacketLength => "packet-length",
            ComponentType::Dscp => "dscp",
            ComponentType::Fragment => "fragment",
            ComponentType::FlowLabel => "flow-label",
        }
    }
}

/// `type N (name)`, for error messages.
impl fmt::Display for ComponentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "type {} ({})", self.code(), self.name())
    }
}

/// The prefix of a destination or source component. For IPv6, `offset` is
/// the first bit that the pattern matches (RFC 8956 §3.1); IPv4 has no
/// offset and keeps it at 0.
///
/// Build it with [`FlowPrefix::new`] to keep it canonical: the bits outside
/// `offset..length` are never transmitted, so two prefixes that differ only
/// there are the same rule on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlowPrefix {
    /// The prefix (for IPv6: the address bits up to the length).
    pub prefix: Prefix,
    /// IPv6 only: the number of leading bits the pattern skips.
    pub offset: u8,
}

impl FlowPrefix {
    /// A canonical flow prefix: host bits beyond the length and, for IPv6,
    /// bits before the offset are cleared.
    pub fn new(prefix: Prefix, offset: u8) -> FlowPrefix {
        let prefix = match prefix.trunc() {
            IpNet::V6(p) => {
                let keep = u128::MAX.checked_shr(u32::from(offset)).unwrap_or(0);
                let addr = Ipv6Addr::from(u128::from(p.network()) & keep);
                IpNet::V6(Ipv6Net::new(addr, p.prefix_len()).unwrap_or(p))
            }
            v4 => v4,
        };
        FlowPrefix { prefix, offset }
    }

    /// The address bits left-aligned in 128 bits, and the length.
    fn bits(&self) -> (u128, u8) {
        match self.prefix {
            IpNet::V4(p) => (
                u128::from(u32::from(p.network()))
                    .checked_shl(96)
                    .unwrap_or(0),
                p.prefix_len(),
            ),
            IpNet::V6(p) => (u128::from(p.network()), p.prefix_len()),
        }
    }

    /// Octets after the type code on the wire for `afi`.
    fn encoded_len(&self, afi: Afi) -> usize {
        let len = self.prefix.prefix_len();
        if afi == Afi::IPV6 {
            let bits = len.saturating_sub(self.offset.min(len));
            usize::from(bits).div_ceil(8).saturating_add(2)
        } else {
            usize::from(len).div_ceil(8).saturating_add(1)
        }
    }

    /// Append the body (length, offset for IPv6, bits) for `afi`.
    fn encode(&self, afi: Afi, out: &mut Vec<u8>) {
        let (bits, len) = self.bits();
        out.push(len);
        if afi == Afi::IPV6 {
            // RFC 8956 §3.1: the pattern is bits offset..length, shifted to
            // the front and padded with zeros to an octet boundary.
            let offset = self.offset.min(len);
            out.push(offset);
            let pattern = bits.checked_shl(u32::from(offset)).unwrap_or(0);
            let n = usize::from(len.saturating_sub(offset)).div_ceil(8);
            out.extend(pattern.to_be_bytes().iter().take(n));
        } else {
            let n = usize::from(len).div_ceil(8);
            out.extend(bits.to_be_bytes().iter().take(n));
        }
    }
}

/// ExaBGP's spelling: `10.0.0.0/24` for IPv4, `2001:db8::/32/0`
/// (address/length/offset) for IPv6.
impl fmt::Display for FlowPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.prefix {
            IpNet::V4(p) => write!(f, "{p}"),
            IpNet::V6(p) => write!(f, "{p}/{}", self.offset),
        }
    }
}

/// Accepts `10.0.0.0/24`, `2001:db8::/32`, `2001:db8::/32/0` and bare
/// addresses (host prefixes); the offset defaults to 0, as in ExaBGP.
impl FromStr for FlowPrefix {
    type Err = FlowspecError;

    fn from_str(s: &str) -> Result<FlowPrefix, FlowspecError> {
        let s = s.trim();
        let bad = |reason| FlowspecError::Parse {
            input: s.to_string(),
            reason,
        };
        let (net, offset) = match s.matches('/').count() {
            0 | 1 => (s, None),
            2 => match s.rsplit_once('/') {
                Some((net, off)) => (
                    net,
                    Some(off.parse::<u8>().map_err(|_| bad("invalid offset"))?),
                ),
                None => (s, None),
            },
            _ => return Err(bad("too many '/'")),
        };
        let prefix = if net.contains('/') {
            net.parse::<IpNet>().map_err(|_| bad("invalid prefix"))?
        } else {
            IpNet::from(net.parse::<IpAddr>().map_err(|_| bad("invalid address"))?)
        };
        let offset = offset.unwrap_or(0);
        match prefix {
            IpNet::V4(_) if offset != 0 => Err(bad("IPv4 flowspec prefixes have no offset")),
            _ if offset > prefix.prefix_len() => Err(FlowspecError::BadOffset {
                offset,
                length: prefix.prefix_len(),
            }),
            _ => Ok(FlowPrefix::new(prefix, offset)),
        }
    }
}

/// One `{operator, value}` pair of a numeric component (RFC 8955 §4.2.1.1).
/// The end-of-list bit is not stored: it is set on the last pair on encode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NumericOp {
    /// AND with the previous pair (else OR). Always false on the first pair.
    pub and: bool,
    /// Matches values less than `value`.
    pub lt: bool,
    /// Matches values greater than `value`.
    pub gt: bool,
    /// Matches values equal to `value`.
    pub eq: bool,
    /// The operand.
    pub value: u64,
}

impl NumericOp {
    fn flags(&self) -> u8 {
        let mut f = 0;
        if self.lt {
            f |= NUM_LT;
        }
        if self.gt {
            f |= NUM_GT;
        }
        if self.eq {
            f |= NUM_EQ;
        }
        f
    }

    /// ExaBGP's operator spelling; `true` and `false` stand alone.
    fn symbol(&self) -> &'static str {
        match (self.lt, self.gt, self.eq) {
            (false, false, false) => "false",
            (false, false, true) => "=",
            (false, true, false) => ">",
            (false, true, true) => ">=",
            (true, false, false) => "<",
            (true, false, true) => "<=",
            (true, true, false) => "!=",
            (true, true, true) => "true",
        }
    }
}

/// One `{operator, value}` pair of a bitmask component (RFC 8955 §4.2.1.2).
/// The end-of-list bit is not stored: it is set on the last pair on encode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct BitmaskOp {
    /// AND with the previous pair (else OR). Always false on the first pair.
    pub and: bool,
    /// Negate the test.
    pub not: bool,
    /// Match: all bits of `value` must be set (else: any of them).
    pub matches: bool,
    /// The bitmask.
    pub value: u64,
}

impl BitmaskOp {
    fn flags(&self) -> u8 {
        let mut f = 0;
        if self.not {
            f |= BIT_NOT;
        }
        if self.matches {
            f |= BIT_MATCH;
        }
        f
    }

    /// ExaBGP's operator spelling: ``, `!`, `=` or `!=`.
    fn symbol(&self) -> &'static str {
        match (self.not, self.matches) {
            (false, false) => "",
            (true, false) => "!",
            (false, true) => "=",
            (true, true) => "!=",
        }
    }
}

/// One match component of a flowspec rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Component {
    /// Type 1: destination prefix.
    DestinationPrefix(FlowPrefix),
    /// Type 2: source prefix.
    SourcePrefix(FlowPrefix),
    /// A numeric-operator component (types 3-8, 10, 11, 13).
    Numeric {
        /// Which one.
        kind: ComponentType,
        /// The pairs, ORed, with AND binding tighter (RFC 8955 §4.2.1.1).
        ops: Vec<NumericOp>,
    },
    /// A bitmask-operator component (types 9 and 12).
    Bitmask {
        /// Which one.
        kind: ComponentType,
        /// The pairs, ORed, with AND binding tighter (RFC 8955 §4.2.1.2).
        ops: Vec<BitmaskOp>,
    },
}

impl Component {
    /// The component type.
    pub fn kind(&self) -> ComponentType {
        match self {
            Component::DestinationPrefix(_) => ComponentType::DestinationPrefix,
            Component::SourcePrefix(_) => ComponentType::SourcePrefix,
            Component::Numeric { kind, .. } | Component::Bitmask { kind, .. } => *kind,
        }
    }

    /// Number of `{operator, value}` pairs (1 for a prefix).
    fn op_count(&self) -> usize {
        match self {
            Component::DestinationPrefix(_) | Component::SourcePrefix(_) => 1,
            Component::Numeric { ops, .. } => ops.len(),
            Component::Bitmask { ops, .. } => ops.len(),
        }
    }

    /// The strings ExaBGP puts in its JSON list for this component: the
    /// prefix for types 1 and 2; otherwise one string per OR-group, its
    /// AND-ed pairs joined by `&`.
    ///
    /// Numeric pairs read `=80`, `>1024`, `>=1024`, `<`, `<=`, `!=443`, and
    /// `true` / `false` when all or none of lt, gt, eq are set (the value is
    /// irrelevant then and not shown, as ExaBGP does). Protocols and ICMP
    /// types use ExaBGP's names where it has one (`=tcp`, `=echo-request`).
    /// Bitmask pairs are the flag names joined by `+` (bits without a name
    /// as one hex number, `0` for no bit), after `!` for not, `=` for match
    /// or `!=` for both: `syn`, `=fin+push`, `!=push`.
    pub fn exabgp_values(&self) -> Vec<String> {
        match self {
            Component::DestinationPrefix(p) | Component::SourcePrefix(p) => vec![p.to_string()],
            Component::Numeric { kind, ops } => group_terms(ops.iter().map(|op| {
                let term = match (op.lt, op.gt, op.eq) {
                    (false, false, false) | (true, true, true) => op.symbol().to_string(),
                    _ => format!("{}{}", op.symbol(), numeric_value_text(*kind, op.value)),
                };
                (op.and, term)
            })),
            Component::Bitmask { kind, ops } => group_terms(ops.iter().map(|op| {
                let term = format!("{}{}", op.symbol(), bitmask_value_text(*kind, op.value));
                (op.and, term)
            })),
        }
    }

    /// Build a component from ExaBGP strings, the inverse of
    /// [`Component::exabgp_values`]: one prefix for types 1 and 2, else a
    /// list of OR-groups (see [`parse_numeric`] and [`parse_bitmask`]).
    pub fn parse_exabgp<S: AsRef<str>>(
        kind: ComponentType,
        afi: Afi,
        groups: &[S],
    ) -> Result<Component, FlowspecError> {
        if !kind.exists_in(afi) {
            return Err(FlowspecError::NotInFamily { kind, afi: afi.0 });
        }
        if groups.is_empty() {
            return Err(FlowspecError::NoOperators(kind));
        }
        if kind.is_prefix() {
            let [one] = groups else {
                return Err(FlowspecError::Parse {
                    input: join_groups(groups),
                    reason: "a prefix component takes exactly one prefix",
                });
            };
            let p: FlowPrefix = one.as_ref().parse()?;
            check_prefix_family(&p, afi)?;
            return Ok(if kind == ComponentType::DestinationPrefix {
                Component::DestinationPrefix(p)
            } else {
                Component::SourcePrefix(p)
            });
        }
        if kind.is_bitmask() {
            let mut ops = Vec::new();
            for g in groups {
                ops.extend(parse_bitmask(kind, g.as_ref())?);
            }
            Ok(Component::Bitmask { kind, ops })
        } else {
            let mut ops = Vec::new();
            for g in groups {
                ops.extend(parse_numeric(kind, g.as_ref())?);
            }
            Ok(Component::Numeric { kind, ops })
        }
    }

    /// Octets on the wire, type code included.
    fn encoded_len(&self, afi: Afi) -> usize {
        let body = match self {
            Component::DestinationPrefix(p) | Component::SourcePrefix(p) => p.encoded_len(afi),
            Component::Numeric { ops, .. } => ops_len(ops.iter().map(|o| o.value)),
            Component::Bitmask { ops, .. } => ops_len(ops.iter().map(|o| o.value)),
        };
        body.saturating_add(1)
    }

    /// Append type code and body.
    fn encode(&self, afi: Afi, out: &mut Vec<u8>) {
        out.push(self.kind().code());
        match self {
            Component::DestinationPrefix(p) | Component::SourcePrefix(p) => p.encode(afi, out),
            Component::Numeric { ops, .. } => {
                write_ops(ops.iter().map(|o| (o.flags(), o.and, o.value)), out)
            }
            Component::Bitmask { ops, .. } => {
                write_ops(ops.iter().map(|o| (o.flags(), o.and, o.value)), out)
            }
        }
    }
}

/// A flowspec rule that cannot be encoded, or text that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
pub enum FlowspecError {
    /// Flowspec exists for IPv4 and IPv6 only.
    #[error("flowspec is defined for IPv4 and IPv6 only, not AFI {0}")]
    UnsupportedAfi(u16),
    /// A rule needs at least one component (RFC 8955 §4.2).
    #[error("a flowspec rule needs at least one component")]
    NoComponents,
    /// Components must be in strictly increasing type order (RFC 8955 §4.2).
    #[error("{next} follows {previous}: components must be in increasing type order")]
    OutOfOrder {
        /// The earlier component.
        previous: ComponentType,
        /// The component that breaks the order.
        next: ComponentType,
    },
    /// A type appears twice (RFC 8955 §4.2).
    #[error("{0} appears twice")]
    Duplicate(ComponentType),
    /// The type does not exist in this family (flow label in IPv4).
    #[error("{kind} does not exist in flowspec of AFI {afi}")]
    NotInFamily {
        /// The component type.
        kind: ComponentType,
        /// The AFI.
        afi: u16,
    },
    /// An operator list with no pair cannot be encoded.
    #[error("{0} has no operator")]
    NoOperators(ComponentType),
    /// The variant does not fit the type (a bitmask list on a port, ...).
    #[error("{0} does not take this kind of operator")]
    WrongOperatorKind(ComponentType),
    /// The prefix belongs to the other family.
    #[error("prefix {prefix} does not belong to AFI {afi}")]
    PrefixFamily {
        /// The prefix.
        prefix: Prefix,
        /// The AFI of the rule.
        afi: u16,
    },
    /// An IPv4 prefix with an offset, or an IPv6 offset past the length.
    #[error("offset {offset} is not allowed with prefix length {length}")]
    BadOffset {
        /// The offset.
        offset: u8,
        /// The prefix length.
        length: u8,
    },
    /// More than 4095 octets (RFC 8955 §4.1).
    #[error("the rule takes {0} octets, more than the 4095 a flowspec NLRI can hold")]
    TooLong(usize),
    /// A value larger than its packet field.
    #[error("value {value} is too large for {kind} (at most {max})")]
    ValueTooLarge {
        /// The component type.
        kind: ComponentType,
        /// The value given.
        value: u64,
        /// The largest allowed.
        max: u64,
    },
    /// Text that does not parse.
    #[error("cannot parse {input:?}: {reason}")]
    Parse {
        /// The offending text.
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// A Flow Specification NLRI: one rule (RFC 8955 §4, RFC 8956 §3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FlowspecNlri {
    /// The ADD-PATH path identifier, when negotiated.
    pub path_id: Option<u32>,
    /// The route distinguisher of SAFI 134 (RFC 8955 §8).
    pub rd: Option<RouteDistinguisher>,
    /// The components, in strictly increasing type order.
    pub components: Vec<Component>,
}

impl FlowspecNlri {
    /// Reads ONE NLRI: [path id if `add_path`] length (1 octet, or 2 octets
    /// in the 0xFnnn form for 240 and more, at most 4095) [RD, 8 octets, if
    /// `vpn`] components. Every violation of RFC 8955 / RFC 8956 is an error
    /// (see the module documentation for what is tolerated).
    pub fn decode(
        r: &mut Reader<'_>,
        afi: Afi,
        vpn: bool,
        add_path: bool,
    ) -> Result<FlowspecNlri, DecodeError> {
        if afi != Afi::IPV4 && afi != Afi::IPV6 {
            return Err(invalid(
                r.offset(),
                "flowspec NLRI of an AFI other than IPv4 or IPv6",
            ));
        }
        let path_id = read_path_id(r, add_path)?;
        let length_at = r.offset();
        let b0 = r
            .u8()
            .map_err(|t| truncated(t, "flowspec NLRI without its length"))?;
        // RFC 8955 §4.1: a high nibble of 0xF announces the 2-octet form.
        let length = if b0 & 0xf0 == 0xf0 {
            let b1 = r
                .u8()
                .map_err(|t| truncated(t, "flowspec NLRI length cut short"))?;
            usize::from(u16::from_be_bytes([b0 & 0x0f, b1]))
        } else {
            usize::from(b0)
        };
        let mut body = r.sub(length).map_err(|_| {
            invalid(
                length_at,
                "flowspec NLRI length runs past the end of the NLRI field",
            )
        })?;
        let rd = if vpn {
            let b = body
                .array::<8>()
                .map_err(|t| truncated(t, "flowspec NLRI too short for its route distinguisher"))?;
            Some(RouteDistinguisher::from_bytes(b))
        } else {
            None
        };
        let components = match decode_components(body.clone(), afi, Layout::Rfc, length_at) {
            Ok(c) => c,
            // ExaBGP's IPv6 layout; the RFC error is the one reported.
            Err(e) if afi == Afi::IPV6 => {
                decode_components(body, afi, Layout::Exabgp, length_at).map_err(|_| e)?
            }
            Err(e) => return Err(e),
        };
        Ok(FlowspecNlri {
            path_id,
            rd,
            components,
        })
    }

    /// Append the NLRI in wire form; the RD is written iff `self.rd` is
    /// `Some`. Assumes [`FlowspecNlri::validate`] passes: the components are
    /// written in the order they are stored, and a rule over 4095 octets
    /// gets a wrong length rather than a panic.
    pub fn encode(&self, afi: Afi, add_path: bool, out: &mut Vec<u8>) {
        write_path_id(self.path_id, add_path, out);
        let body = self.body_len(afi);
        if body < EXTENDED_LENGTH_FROM {
            out.push(u8::try_from(body).unwrap_or(0));
        } else {
            let v = u16::try_from(body.min(MAX_NLRI_LENGTH)).unwrap_or(0x0fff) | 0xf000;
            out.extend_from_slice(&v.to_be_bytes());
        }
        if let Some(rd) = self.rd {
            out.extend_from_slice(&rd.to_bytes());
        }
        for c in &self.components {
            c.encode(afi, out);
        }
    }

    /// The number of octets [`FlowspecNlri::encode`] appends.
    pub fn encoded_len(&self, afi: Afi, add_path: bool) -> usize {
        let body = self.body_len(afi);
        let id = if add_path { 4 } else { 0 };
        let length_field = if body < EXTENDED_LENGTH_FROM { 1 } else { 2 };
        body.saturating_add(id).saturating_add(length_field)
    }

    /// Octets counted by the length field: RD and components.
    fn body_len(&self, afi: Afi) -> usize {
        let rd = if self.rd.is_some() { 8 } else { 0 };
        self.components
            .iter()
            .fold(rd, |n: usize, c| n.saturating_add(c.encoded_len(afi)))
    }

    /// Check what encoding takes for granted: a known family, at least one
    /// component, types strictly increasing, each type allowed in the family
    /// and carried by the right variant, operator lists not empty, prefixes
    /// of the family with a valid offset, no reserved fragment bit, and at
    /// most 4095 octets. Other values are not range-checked: the wire takes
    /// up to 8 octets for any of them.
    pub fn validate(&self, afi: Afi) -> Result<(), FlowspecError> {
        if afi != Afi::IPV4 && afi != Afi::IPV6 {
            return Err(FlowspecError::UnsupportedAfi(afi.0));
        }
        if self.components.is_empty() {
            return Err(FlowspecError::NoComponents);
        }
        let mut previous: Option<ComponentType> = None;
        for c in &self.components {
            let kind = c.kind();
            match previous {
                Some(p) if p == kind => return Err(FlowspecError::Duplicate(kind)),
                Some(p) if p > kind => {
                    return Err(FlowspecError::OutOfOrder {
                        previous: p,
                        next: kind,
                    })
                }
                _ => {}
            }
            previous = Some(kind);
            if !kind.exists_in(afi) {
                return Err(FlowspecError::NotInFamily { kind, afi: afi.0 });
            }
            match c {
                Component::DestinationPrefix(p) | Component::SourcePrefix(p) => {
                    check_prefix_family(p, afi)?;
                }
                Component::Numeric { kind, .. } if !kind.is_numeric() => {
                    return Err(FlowspecError::WrongOperatorKind(*kind));
                }
                Component::Bitmask { kind, .. } if !kind.is_bitmask() => {
                    return Err(FlowspecError::WrongOperatorKind(*kind));
                }
                Component::Bitmask {
                    kind: ComponentType::Fragment,
                    ops,
                } => {
                    // RFC 8955 §4.2.2.12: reserved bits MUST be 0 on encoding.
                    if let Some(op) = ops.iter().find(|o| o.value > FRAGMENT_BITS) {
                        return Err(FlowspecError::ValueTooLarge {
                            kind,
                            value: op.value,
                            max: FRAGMENT_BITS,
                        });
                    }
                }
                _ => {}
            }
            if c.op_count() == 0 {
                return Err(FlowspecError::NoOperators(kind));
            }
        }
        let len = self.body_len(afi);
        if len > MAX_NLRI_LENGTH {
            return Err(FlowspecError::TooLong(len));
        }
        Ok(())
    }

    /// Put the components in type order (for rules built from text in any
    /// order, as ExaBGP accepts them).
    pub fn sort_components(&mut self) {
        self.components.sort_by_key(Component::kind);
    }

    /// `(ExaBGP key, ExaBGP values)` for each component, in order: the body
    /// of ExaBGP's JSON object for the rule (without `rd` and `string`).
    pub fn exabgp_components(&self, afi: Afi) -> Vec<(&'static str, Vec<String>)> {
        self.components
            .iter()
            .map(|c| (c.kind().exabgp_name(afi), c.exabgp_values()))
            .collect()
    }

    /// ExaBGP's `string` member: `flow destination-ipv4 10.0.0.2/32 protocol
    /// =tcp destination-port [ >8080&<8088 =3128 ] rd 65535:65536`. A
    /// component with more than one pair is bracketed, as ExaBGP does.
    pub fn exabgp_string(&self, afi: Afi) -> String {
        let mut s = String::from("flow");
        for c in &self.components {
            s.push(' ');
            s.push_str(c.kind().exabgp_name(afi));
            let values = c.exabgp_values().join(" ");
            if c.op_count() > 1 {
                s.push_str(" [ ");
                s.push_str(&values);
                s.push_str(" ]");
            } else {
                s.push(' ');
                s.push_str(&values);
            }
        }
        if let Some(rd) = self.rd {
            s.push_str(" rd ");
            s.push_str(&rd.to_string());
        }
        s
    }
}

/// Parse one OR-group of a numeric component: terms joined by `&`, each an
/// optional operator (`=`, `==`, `<`, `>`, `<=`, `>=`, `!=`; none means `=`)
/// and a value (decimal, `0x` hex, or a protocol / ICMP type / ICMP code
/// name), or `true` / `false` alone. The first term gets `and = false`, the
/// others `and = true`; values must fit [`ComponentType::max_value`].
pub fn parse_numeric(kind: ComponentType, s: &str) -> Result<Vec<NumericOp>, FlowspecError> {
    if !kind.is_numeric() {
        return Err(FlowspecError::WrongOperatorKind(kind));
    }
    split_group(s)?
        .into_iter()
        .enumerate()
        .map(|(i, term)| parse_numeric_term(kind, term, i > 0))
        .collect()
}

/// Parse one OR-group of a bitmask component: terms joined by `&`, each an
/// optional operator (`!`, `=`, `!=`; none tests for any of the bits) and
/// flag names or numbers joined by `+` (`syn`, `=fin+push`,
/// `last-fragment`). The first term gets `and = false`, the others
/// `and = true`; values must fit [`ComponentType::max_value`].
pub fn parse_bitmask(kind: ComponentType, s: &str) -> Result<Vec<BitmaskOp>, FlowspecError> {
    if !kind.is_bitmask() {
        return Err(FlowspecError::WrongOperatorKind(kind));
    }
    split_group(s)?
        .into_iter()
        .enumerate()
        .map(|(i, term)| parse_bitmask_term(kind, term, i > 0))
        .collect()
}

// ---------------------------------------------------------------- decoding

/// How IPv6 prefix components are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// RFC 8956 §3.1: the pattern is bits offset..length.
    Rfc,
    /// ExaBGP: the ceil(length / 8) first octets of the address, whatever the offset.
    Exabgp,
}

fn invalid(offset: usize, what: &'static str) -> DecodeError {
    DecodeError::new(offset, Reason::InvalidNetwork(what))
}

fn truncated(t: Truncated, what: &'static str) -> DecodeError {
    invalid(t.offset, what)
}

/// Decode the components filling `body` (after the RD).
fn decode_components(
    mut body: Reader<'_>,
    afi: Afi,
    layout: Layout,
    length_at: usize,
) -> Result<Vec<Component>, DecodeError> {
    let mut out = Vec::new();
    let mut previous: u8 = 0;
    while !body.is_empty() {
        let at = body.offset();
        let code = body
            .u8()
            .map_err(|t| truncated(t, "flowspec component type missing"))?;
        let kind = ComponentType::from_code(code)
            .ok_or_else(|| invalid(at, "unknown flowspec component type"))?;
        if !kind.exists_in(afi) {
            return Err(invalid(at, "flow label component in IPv4 flowspec"));
        }
        // RFC 8955 §4.2: strictly increasing order, hence no duplicates.
        if code == previous {
            return Err(invalid(at, "duplicate flowspec component type"));
        }
        if code < previous {
            return Err(invalid(at, "flowspec components out of type order"));
        }
        previous = code;
        let component = match kind {
            ComponentType::DestinationPrefix => {
                Component::DestinationPrefix(read_prefix(&mut body, afi, layout)?)
            }
            ComponentType::SourcePrefix => {
                Component::SourcePrefix(read_prefix(&mut body, afi, layout)?)
            }
            _ if kind.is_bitmask() => {
                // RFC 8955 §4.2.2.12: reserved fragment bits are ignored.
                let mask = if kind == ComponentType::Fragment {
                    FRAGMENT_BITS
                } else {
                    u64::MAX
                };
                let ops = read_ops(&mut body)?
                    .into_iter()
                    .enumerate()
                    .map(|(i, (op, value))| BitmaskOp {
                        // RFC 8955 §4.2.1.1: ignored on the first pair.
                        and: i > 0 && op & OP_AND != 0,
                        not: op & BIT_NOT != 0,
                        matches: op & BIT_MATCH != 0,
                        value: value & mask,
                    })
                    .collect();
                Component::Bitmask { kind, ops }
            }
            _ => {
                let ops = read_ops(&mut body)?
                    .into_iter()
                    .enumerate()
                    .map(|(i, (op, value))| NumericOp {
                        // RFC 8955 §4.2.1.1: ignored on the first pair.
                        and: i > 0 && op & OP_AND != 0,
                        lt: op & NUM_LT != 0,
                        gt: op & NUM_GT != 0,
                        eq: op & NUM_EQ != 0,
                        value,
                    })
                    .collect();
                Component::Numeric { kind, ops }
            }
        };
        out.push(component);
    }
    if out.is_empty() {
        return Err(invalid(length_at, "flowspec NLRI without components"));
    }
    Ok(out)
}

/// Read a prefix body (after the type code).
fn read_prefix(body: &mut Reader<'_>, afi: Afi, layout: Layout) -> Result<FlowPrefix, DecodeError> {
    let at = body.offset();
    let len = body
        .u8()
        .map_err(|t| truncated(t, "flowspec prefix length runs past the NLRI length"))?;
    if afi == Afi::IPV6 {
        if len > 128 {
            return Err(invalid(at, "IPv6 flowspec prefix longer than 128 bits"));
        }
        let offset_at = body.offset();
        let offset = body
            .u8()
            .map_err(|t| truncated(t, "flowspec prefix offset runs past the NLRI length"))?;
        let pattern_bits = len
            .checked_sub(offset)
            .ok_or_else(|| invalid(offset_at, "IPv6 flowspec prefix offset beyond its length"))?;
        let (bits, shift) = match layout {
            Layout::Rfc => (pattern_bits, offset),
            Layout::Exabgp => (len, 0),
        };
        let bytes = body
            .take(usize::from(bits).div_ceil(8))
            .map_err(|t| truncated(t, "flowspec prefix runs past the NLRI length"))?;
        let addr = left_aligned(bytes)
            .checked_shr(u32::from(shift))
            .unwrap_or(0);
        let net = Ipv6Net::new(Ipv6Addr::from(addr), len)
            .map_err(|_| invalid(at, "IPv6 flowspec prefix longer than 128 bits"))?;
        Ok(FlowPrefix::new(IpNet::V6(net), offset))
    } else {
        if len > 32 {
            return Err(invalid(at, "IPv4 flowspec prefix longer than 32 bits"));
        }
        let bytes = body
            .take(usize::from(len).div_ceil(8))
            .map_err(|t| truncated(t, "flowspec prefix runs past the NLRI length"))?;
        let addr = left_aligned(bytes).checked_shr(96).unwrap_or(0);
        let addr = Ipv4Addr::from(u32::try_from(addr).unwrap_or(0));
        let net = Ipv4Net::new(addr, len)
            .map_err(|_| invalid(at, "IPv4 flowspec prefix longer than 32 bits"))?;
        Ok(FlowPrefix::new(IpNet::V4(net), 0))
    }
}

/// Up to 16 octets as the high bits of a u128.
fn left_aligned(bytes: &[u8]) -> u128 {
    let mut a = [0u8; 16];
    for (d, s) in a.iter_mut().zip(bytes) {
        *d = *s;
    }
    u128::from_be_bytes(a)
}

/// Read `{operator, value}` pairs up to the one with the end-of-list bit; a
/// list that reaches the end of the NLRI first is an error. Reserved bits
/// are left in the operator for the caller, which looks only at the defined
/// ones (RFC 8955 §4.2.1.1, §4.2.1.2: ignored during decoding).
fn read_ops(body: &mut Reader<'_>) -> Result<Vec<(u8, u64)>, DecodeError> {
    let mut out = Vec::new();
    loop {
        let op = body.u8().map_err(|t| {
            truncated(
                t,
                "flowspec operator list has no end-of-list bit before the NLRI length",
            )
        })?;
        let bytes = body
            .take(value_size(op))
            .map_err(|t| truncated(t, "flowspec operator value runs past the NLRI length"))?;
        let value = bytes
            .iter()
            .fold(0u64, |v, b| v.checked_shl(8).unwrap_or(0) | u64::from(*b));
        out.push((op, value));
        if op & OP_END != 0 {
            return Ok(out);
        }
    }
}

/// The value size coded in an operator's len bits (RFC 8955 §4.2.1.1).
fn value_size(op: u8) -> usize {
    match op & OP_LEN {
        0x00 => 1,
        0x10 => 2,
        0x20 => 4,
        _ => 8,
    }
}

// ---------------------------------------------------------------- encoding

/// The len bits and size of the smallest encoding of `value`.
fn value_encoding(value: u64) -> (u8, usize) {
    if value <= 0xff {
        (0x00, 1)
    } else if value <= 0xffff {
        (0x10, 2)
    } else if value <= 0xffff_ffff {
        (0x20, 4)
    } else {
        (0x30, 8)
    }
}

/// Octets of an operator list with these values.
fn ops_len(values: impl Iterator<Item = u64>) -> usize {
    values.fold(0usize, |n, v| {
        n.saturating_add(value_encoding(v).1).saturating_add(1)
    })
}

/// Write `(flags, and, value)` pairs, setting e on the last one and never
/// setting a on the first (RFC 8955 §4.2.1.1).
fn write_ops(ops: impl ExactSizeIterator<Item = (u8, bool, u64)>, out: &mut Vec<u8>) {
    let last = ops.len().saturating_sub(1);
    for (i, (flags, and, value)) in ops.enumerate() {
        let (len_bits, size) = value_encoding(value);
        let mut op = flags | len_bits;
        if i == last {
            op |= OP_END;
        }
        if and && i > 0 {
            op |= OP_AND;
        }
        out.push(op);
        out.extend(value.to_be_bytes().iter().skip(8usize.saturating_sub(size)));
    }
}

fn check_prefix_family(p: &FlowPrefix, afi: Afi) -> Result<(), FlowspecError> {
    let length = p.prefix.prefix_len();
    match p.prefix {
        IpNet::V4(_) if afi == Afi::IPV4 => {
            if p.offset != 0 {
                return Err(FlowspecError::BadOffset {
                    offset: p.offset,
                    length,
                });
            }
        }
        IpNet::V6(_) if afi == Afi::IPV6 => {
            if p.offset > length {
                return Err(FlowspecError::BadOffset {
                    offset: p.offset,
                    length,
                });
            }
        }
        _ => {
            return Err(FlowspecError::PrefixFamily {
                prefix: p.prefix,
                afi: afi.0,
            })
        }
    }
    Ok(())
}

// -------------------------------------------------------------------- text

/// IP protocol names ExaBGP prints and accepts (IANA protocol numbers).
const PROTOCOLS: [(&str, u64); 13] = [
    ("icmp", 1),
    ("igmp", 2),
    ("tcp", 6),
    ("egp", 8),
    ("udp", 17),
    ("rsvp", 46),
    ("gre", 47),
    ("esp", 50),
    ("ah", 51),
    ("ospf", 89),
    ("ipip", 94),
    ("pim", 103),
    ("sctp", 132),
];

/// ICMP type names ExaBGP prints and accepts (IANA ICMP parameters).
const ICMP_TYPES: [(&str, u64); 16] = [
    ("echo-reply", 0),
    ("unreachable", 3),
    ("redirect", 5),
    ("echo-request", 8),
    ("router-advertisement", 9),
    ("router-solicit", 10),
    ("time-exceeded", 11),
    ("parameter-problem", 12),
    ("timestamp", 13),
    ("timestamp-reply", 14),
    ("photuris", 40),
    ("experimental-mobility", 41),
    ("extended-echo-request", 42),
    ("extended-echo-reply", 43),
    ("experimental-one", 253),
    ("experimental-two", 254),
];

/// ICMP code names accepted on input. Codes are always printed as numbers:
/// the same number means different things under different types.
const ICMP_CODES: [(&str, u64); 24] = [
    ("network-unreachable", 0),
    ("host-unreachable", 1),
    ("protocol-unreachable", 2),
    ("port-unreachable", 3),
    ("fragmentation-needed", 4),
    ("source-route-failed", 5),
    ("destination-network-unknown", 6),
    ("destination-host-unknown", 7),
    ("source-host-isolated", 8),
    ("destination-network-prohibited", 9),
    ("destination-host-prohibited", 10),
    ("network-unreachable-for-tos", 11),
    ("host-unreachable-for-tos", 12),
    ("communication-prohibited-by-filtering", 13),
    ("host-precedence-violation", 14),
    ("precedence-cutoff-in-effect", 15),
    ("redirect-for-network", 0),
    ("redirect-for-host", 1),
    ("redirect-for-tos-and-net", 2),
    ("redirect-for-tos-and-host", 3),
    ("ttl-eq-zero-during-transit", 0),
    ("ttl-eq-zero-during-reassembly", 1),
    ("required-option-missing", 1),
    ("ip-header-bad", 2),
];

/// TCP flag bits (RFC 9293 §3.1 and RFC 3168 for ece / cwr, RFC 3540 for ns),
/// lowest first, as ExaBGP names them.
const TCP_FLAGS: [(&str, u64); 9] = [
    ("fin", 0x01),
    ("syn", 0x02),
    ("rst", 0x04),
    ("push", 0x08),
    ("ack", 0x10),
    ("urg", 0x20),
    ("ece", 0x40),
    ("cwr", 0x80),
    ("ns", 0x100),
];

/// Fragment bits (RFC 8955 §4.2.2.12), lowest first, as ExaBGP names them.
const FRAGMENT_FLAGS: [(&str, u64); 4] = [
    ("dont-fragment", 0x01),
    ("is-fragment", 0x02),
    ("first-fragment", 0x04),
    ("last-fragment", 0x08),
];

fn flag_names(kind: ComponentType) -> &'static [(&'static str, u64)] {
    match kind {
        ComponentType::TcpFlags => &TCP_FLAGS,
        ComponentType::Fragment => &FRAGMENT_FLAGS,
        _ => &[],
    }
}

/// Group `(and, term)` pairs into OR-groups joined by `&`.
fn group_terms(terms: impl Iterator<Item = (bool, String)>) -> Vec<String> {
    let mut groups: Vec<String> = Vec::new();
    for (and, term) in terms {
        match groups.last_mut() {
            Some(g) if and => {
                g.push('&');
                g.push_str(&term);
            }
            _ => groups.push(term),
        }
    }
    groups
}

fn numeric_value_text(kind: ComponentType, value: u64) -> String {
    let names: &[(&str, u64)] = match kind {
        ComponentType::IpProtocol => &PROTOCOLS,
        ComponentType::IcmpType => &ICMP_TYPES,
        _ => &[],
    };
    match names.iter().find(|(_, v)| *v == value) {
        Some((name, _)) => (*name).to_string(),
        None => value.to_string(),
    }
}

fn bitmask_value_text(kind: ComponentType, value: u64) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut rest = value;
    for (name, bit) in flag_names(kind) {
        if value & bit != 0 {
            parts.push((*name).to_string());
            rest &= !bit;
        }
    }
    if rest != 0 || parts.is_empty() {
        parts.push(if rest == 0 {
            "0".to_string()
        } else {
            format!("{rest:#x}")
        });
    }
    parts.join("+")
}

fn join_groups<S: AsRef<str>>(groups: &[S]) -> String {
    groups
        .iter()
        .map(|g| g.as_ref())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Split an OR-group into its `&` terms, refusing empty ones.
fn split_group(s: &str) -> Result<Vec<&str>, FlowspecError> {
    let terms: Vec<&str> = s.trim().split('&').map(str::trim).collect();
    if terms.iter().any(|t| t.is_empty()) {
        return Err(FlowspecError::Parse {
            input: s.to_string(),
            reason: "empty term",
        });
    }
    Ok(terms)
}

/// A decimal or `0x` hexadecimal number.
fn parse_number(s: &str) -> Option<u64> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None if s.bytes().all(|b| b.is_ascii_digit()) => s.parse().ok(),
        None => None,
    }
}

fn check_max(kind: ComponentType, value: u64) -> Result<u64, FlowspecError> {
    if value > kind.max_value() {
        return Err(FlowspecError::ValueTooLarge {
            kind,
            value,
            max: kind.max_value(),
        });
    }
    Ok(value)
}

fn parse_numeric_term(
    kind: ComponentType,
    term: &str,
    and: bool,
) -> Result<NumericOp, FlowspecError> {
    let bad = |reason| FlowspecError::Parse {
        input: term.to_string(),
        reason,
    };
    let lower = term.to_ascii_lowercase();
    let all = |on| NumericOp {
        and,
        lt: on,
        gt: on,
        eq: on,
        value: 0,
    };
    match lower.as_str() {
        "true" => return Ok(all(true)),
        "false" => return Ok(all(false)),
        _ => {}
    }
    // Longest operators first: "<=" before "<", "==" and "!=" before "=".
    const OPERATORS: [(&str, bool, bool, bool); 7] = [
        ("<=", true, false, true),
        (">=", false, true, true),
        ("!=", true, true, false),
        ("==", false, false, true),
        ("<", true, false, false),
        (">", false, true, false),
        ("=", false, false, true),
    ];
    let (lt, gt, eq, rest) = OPERATORS
        .iter()
        .find_map(|(sym, lt, gt, eq)| lower.strip_prefix(sym).map(|r| (*lt, *gt, *eq, r)))
        .unwrap_or((false, false, true, lower.as_str()));
    if rest.is_empty() {
        return Err(bad("operator without a value"));
    }
    let names: &[(&str, u64)] = match kind {
        ComponentType::IpProtocol => &PROTOCOLS,
        ComponentType::IcmpType => &ICMP_TYPES,
        ComponentType::IcmpCode => &ICMP_CODES,
        _ => &[],
    };
    let value = match parse_number(rest) {
        Some(v) => v,
        None => names
            .iter()
            .find(|(n, _)| *n == rest)
            .map(|(_, v)| *v)
            .ok_or_else(|| bad("not a number or a known name"))?,
    };
    Ok(NumericOp {
        and,
        lt,
        gt,
        eq,
        value: check_max(kind, value)?,
    })
}

fn parse_bitmask_term(
    kind: ComponentType,
    term: &str,
    and: bool,
) -> Result<BitmaskOp, FlowspecError> {
    let bad = |reason| FlowspecError::Parse {
        input: term.to_string(),
        reason,
    };
    let lower = term.to_ascii_lowercase();
    let (not, matches, rest) = if let Some(r) = lower.strip_prefix("!=") {
        (true, true, r)
    } else if let Some(r) = lower.strip_prefix('!') {
        (true, false, r)
    } else if let Some(r) = lower.strip_prefix('=') {
        (false, true, r)
    } else {
        (false, false, lower.as_str())
    };
    let mut value = 0u64;
    for part in rest.split('+') {
        // "urgent" is ExaBGP's older spelling of urg.
        let part = if kind == ComponentType::TcpFlags && part == "urgent" {
            "urg"
        } else {
            part
        };
        let bits = match parse_number(part) {
            Some(v) => v,
            None => flag_names(kind)
                .iter()
                .find(|(n, _)| *n == part)
                .map(|(_, v)| *v)
                .ok_or_else(|| bad("not a number or a known flag"))?,
        };
        value |= bits;
    }
    Ok(BitmaskOp {
        and,
        not,
        matches,
        value: check_max(kind, value)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::hex;
    use proptest::prelude::*;

    const V4: Afi = Afi::IPV4;
    const V6: Afi = Afi::IPV6;

    /// Decode one NLRI that must fill `bytes` exactly.
    fn dec(bytes: &[u8], afi: Afi, vpn: bool, add_path: bool) -> Result<FlowspecNlri, DecodeError> {
        let mut r = Reader::new(bytes, 0);
        let n = FlowspecNlri::decode(&mut r, afi, vpn, add_path)?;
        assert!(r.is_empty(), "NLRI did not consume its bytes");
        Ok(n)
    }

    fn enc(n: &FlowspecNlri, afi: Afi, add_path: bool) -> Vec<u8> {
        let mut out = Vec::new();
        n.encode(afi, add_path, &mut out);
        assert_eq!(out.len(), n.encoded_len(afi, add_path));
        out
    }

    fn err_at(bytes: &[u8], afi: Afi, vpn: bool) -> (usize, &'static str) {
        let mut r = Reader::new(bytes, 1000);
        let e = FlowspecNlri::decode(&mut r, afi, vpn, false).unwrap_err();
        let Reason::InvalidNetwork(what) = e.reason else {
            panic!("unexpected reason {:?}", e.reason)
        };
        assert_eq!(e.notification().subcode, 10);
        (e.offset - 1000, what)
    }

    /// Decode, compare with ExaBGP's JSON values and string, re-encode.
    fn vector(
        nlri: &str,
        afi: Afi,
        vpn: bool,
        json: &[(&str, &[&str])],
        string: &str,
    ) -> FlowspecNlri {
        let bytes = hex(nlri);
        let n = dec(&bytes, afi, vpn, false).unwrap();
        let got = n.exabgp_components(afi);
        let want: Vec<(&str, Vec<String>)> = json
            .iter()
            .map(|(k, v)| (*k, v.iter().map(|s| s.to_string()).collect()))
            .collect();
        assert_eq!(got, want);
        assert_eq!(n.exabgp_string(afi), string);
        n.validate(afi).unwrap();
        // Text round trip: the JSON strings parse back into the same rule.
        for c in &n.components {
            let back = Component::parse_exabgp(c.kind(), afi, &c.exabgp_values()).unwrap();
            assert_eq!(&back, c);
        }
        n
    }

    fn vector_roundtrip(nlri: &str, afi: Afi, vpn: bool, json: &[(&str, &[&str])], string: &str) {
        let n = vector(nlri, afi, vpn, json, string);
        assert_eq!(enc(&n, afi, false), hex(nlri));
    }

    // ExaBGP conformance vectors (qa decoding/ and encoding/): the NLRI is
    // cut out of the MP_REACH_NLRI of each raw UPDATE.

    #[test]
    fn exabgp_bgp_flow_1_ipv6() {
        vector_roundtrip(
            "28 0180002a0229b8192500000000000000002e69 024000beeff00e00000000 038106 0c000400028008",
            V6,
            false,
            &[
                ("destination-ipv6", &["2a02:29b8:1925::2e69/128/0"]),
                ("source-ipv6", &["beef:f00e::/64/0"]),
                ("next-header", &["=tcp"]),
                ("fragment", &["first-fragment", "is-fragment", "last-fragment"]),
            ],
            "flow destination-ipv6 2a02:29b8:1925::2e69/128/0 source-ipv6 beef:f00e::/64/0 \
             next-header =tcp fragment [ first-fragment is-fragment last-fragment ]",
        );
    }

    #[test]
    fn exabgp_bgp_flow_2_to_4_tcp_flags() {
        vector_roundtrip(
            "05 0901048109",
            V4,
            false,
            &[("tcp-flags", &["=rst", "=fin+push"])],
            "flow tcp-flags [ =rst =fin+push ]",
        );
        vector_roundtrip(
            "09 09001000804201c240",
            V4,
            false,
            &[("tcp-flags", &["ack", "cwr&!fin&!ece"])],
            "flow tcp-flags [ ack cwr&!fin&!ece ]",
        );
        vector_roundtrip(
            "05 090090c241",
            V4,
            false,
            &[("tcp-flags", &["ack+cwr&!fin+ece"])],
            "flow tcp-flags [ ack+cwr&!fin+ece ]",
        );
    }

    #[test]
    fn exabgp_conf_flow_vpn_with_rd() {
        let n = vector(
            "0e 0000ffff00010000 02200a000001",
            V4,
            true,
            &[("source-ipv4", &["10.0.0.1/32"])],
            "flow source-ipv4 10.0.0.1/32 rd 65535:65536",
        );
        assert_eq!(n.rd.unwrap().to_string(), "65535:65536");
        assert_eq!(enc(&n, V4, false), hex("0e 0000ffff00010000 02200a000001"));
    }

    #[test]
    fn exabgp_conf_flow_ipv4() {
        vector_roundtrip(
            "13 01200a000002 02200a000001 038106 05910c38",
            V4,
            false,
            &[
                ("destination-ipv4", &["10.0.0.2/32"]),
                ("source-ipv4", &["10.0.0.1/32"]),
                ("protocol", &["=tcp"]),
                ("destination-port", &["=3128"]),
            ],
            "flow destination-ipv4 10.0.0.2/32 source-ipv4 10.0.0.1/32 protocol =tcp destination-port =3128",
        );
        vector_roundtrip(
            "03 0c8008",
            V4,
            false,
            &[("fragment", &["last-fragment"])],
            "flow fragment last-fragment",
        );
        vector_roundtrip(
            "03 0c8108",
            V4,
            false,
            &[("fragment", &["=last-fragment"])],
            "flow fragment =last-fragment",
        );
        vector_roundtrip(
            "0c 0a02c854012c120190d401f4",
            V4,
            false,
            &[("packet-length", &[">200&<300", ">400&<500"])],
            "flow packet-length [ >200&<300 >400&<500 ]",
        );
        vector_roundtrip(
            "1c 0120c0a80001 02200a00000a 038606 048600 059601bb 060650961f90",
            V4,
            false,
            &[
                ("destination-ipv4", &["192.168.0.1/32"]),
                ("source-ipv4", &["10.0.0.10/32"]),
                ("protocol", &["!=tcp"]),
                ("port", &["!=0"]),
                ("destination-port", &["!=443"]),
                ("source-port", &["!=80", "!=8080"]),
            ],
            "flow destination-ipv4 192.168.0.1/32 source-ipv4 10.0.0.10/32 protocol !=tcp port !=0 \
             destination-port !=443 source-port [ !=80 !=8080 ]",
        );
        vector_roundtrip(
            "1c 01200a000002 02200a000001 038106 05910c38 09000200044001c308",
            V4,
            false,
            &[
                ("destination-ipv4", &["10.0.0.2/32"]),
                ("source-ipv4", &["10.0.0.1/32"]),
                ("protocol", &["=tcp"]),
                ("destination-port", &["=3128"]),
                ("tcp-flags", &["syn", "rst&fin&!=push"]),
            ],
            "flow destination-ipv4 10.0.0.2/32 source-ipv4 10.0.0.1/32 protocol =tcp \
             destination-port =3128 tcp-flags [ syn rst&fin&!=push ]",
        );
    }

    #[test]
    fn exabgp_conf_flow_redirect_every_ipv4_type() {
        vector_roundtrip(
            "4c 0120c0a80001 02200a000001 0301068111 040150911f90 05121f90541f98910c38 06920400 \
             070103010881 00 080101 8100 09002080 04 0a02c854012c120190d401f4 0b010a8114 0c00048008",
            V4,
            false,
            &[
                ("destination-ipv4", &["192.168.0.1/32"]),
                ("source-ipv4", &["10.0.0.1/32"]),
                ("protocol", &["=tcp", "=udp"]),
                ("port", &["=80", "=8080"]),
                ("destination-port", &[">8080&<8088", "=3128"]),
                ("source-port", &[">1024"]),
                ("icmp-type", &["=unreachable", "=echo-request", "=echo-reply"]),
                ("icmp-code", &["=1", "=0"]),
                ("tcp-flags", &["urg", "rst"]),
                ("packet-length", &[">200&<300", ">400&<500"]),
                ("dscp", &["=10", "=20"]),
                ("fragment", &["first-fragment", "last-fragment"]),
            ],
            "flow destination-ipv4 192.168.0.1/32 source-ipv4 10.0.0.1/32 protocol [ =tcp =udp ] \
             port [ =80 =8080 ] destination-port [ >8080&<8088 =3128 ] source-port >1024 \
             icmp-type [ =unreachable =echo-request =echo-reply ] icmp-code [ =1 =0 ] \
             tcp-flags [ urg rst ] packet-length [ >200&<300 >400&<500 ] dscp [ =10 =20 ] \
             fragment [ first-fragment last-fragment ]",
        );
    }

    #[test]
    fn exabgp_ipv6_offset_layout_is_understood_and_rewritten_per_rfc() {
        // ExaBGP sends ::1/128/120 as 16 address octets, not the 1-octet
        // RFC 8956 pattern; the RFC reading fails, the ExaBGP one is used.
        let exabgp =
            "30 0180002a020b80001500007aca39fffeaea87a 028078000000000000000000000000000000 01 \
                      038111 0b8165 0d9107dd";
        let n = vector(
            exabgp,
            V6,
            false,
            &[
                ("destination-ipv6", &["2a02:b80:15:0:7aca:39ff:feae:a87a/128/0"]),
                ("source-ipv6", &["::1/128/120"]),
                ("next-header", &["=udp"]),
                ("traffic-class", &["=101"]),
                ("flow-label", &["=2013"]),
            ],
            "flow destination-ipv6 2a02:b80:15:0:7aca:39ff:feae:a87a/128/0 source-ipv6 ::1/128/120 \
             next-header =udp traffic-class =101 flow-label =2013",
        );
        let rfc = hex("21 0180002a020b80001500007aca39fffeaea87a 02807801 038111 0b8165 0d9107dd");
        assert_eq!(enc(&n, V6, false), rfc);
        assert_eq!(dec(&rfc, V6, false, false).unwrap(), n);
    }

    #[test]
    fn rfc8955_examples() {
        // RFC 8955 §4.3: packets to 192.0.2.0/24 and TCP port 25.
        vector_roundtrip(
            "0b 0118c00002 038106 048119",
            V4,
            false,
            &[
                ("destination-ipv4", &["192.0.2.0/24"]),
                ("protocol", &["=tcp"]),
                ("port", &["=25"]),
            ],
            "flow destination-ipv4 192.0.2.0/24 protocol =tcp port =25",
        );
        // RFC 8955 §4.3: packets to 192.0.2.0/24 from 203.0.113.0/24 and
        // port {range [137, 139] or 8080}.
        vector_roundtrip(
            "12 0118c00002 0218cb0071 04 0389 458b 911f90",
            V4,
            false,
            &[
                ("destination-ipv4", &["192.0.2.0/24"]),
                ("source-ipv4", &["203.0.113.0/24"]),
                ("port", &[">=137&<=139", "=8080"]),
            ],
            "flow destination-ipv4 192.0.2.0/24 source-ipv4 203.0.113.0/24 port [ >=137&<=139 =8080 ]",
        );
    }

    #[test]
    fn rfc8956_examples() {
        // RFC 8956 §3.8.1 and §3.8.2 (offset 64, then offset 65: the pattern
        // is shifted by bits, not octets).
        vector_roundtrip(
            "12 01200020010db8 026840123456789a 038106",
            V6,
            false,
            &[
                ("destination-ipv6", &["2001:db8::/32/0"]),
                ("source-ipv6", &["::1234:5678:9a00:0/104/64"]),
                ("next-header", &["=tcp"]),
            ],
            "flow destination-ipv6 2001:db8::/32/0 source-ipv6 ::1234:5678:9a00:0/104/64 next-header =tcp",
        );
        vector_roundtrip(
            "0f 01200020010db8 0268412468acf134",
            V6,
            false,
            &[
                ("destination-ipv6", &["2001:db8::/32/0"]),
                ("source-ipv6", &["::1234:5678:9a00:0/104/65"]),
            ],
            "flow destination-ipv6 2001:db8::/32/0 source-ipv6 ::1234:5678:9a00:0/104/65",
        );
    }

    #[test]
    fn every_component_type() {
        // One rule per type, both families where it exists, wire checked by hand.
        let cases: [(Afi, &str, &str, &[&str]); 16] = [
            (V4, "05 0118c00002", "destination-ipv4", &["192.0.2.0/24"]),
            (V4, "02 0200", "source-ipv4", &["0.0.0.0/0"]),
            (V6, "03 010000", "destination-ipv6", &["::/0/0"]),
            (
                V6,
                "0b 024000 20010db800000000",
                "source-ipv6",
                &["2001:db8::/64/0"],
            ),
            (V4, "03 03812f", "protocol", &["=gre"]),
            (V6, "03 03813a", "next-header", &["=58"]),
            (V4, "03 048535", "port", &["<=53"]),
            (V4, "06 05 a3 00000050", "destination-port", &[">=80"]),
            (V4, "04 06 94 1f90", "source-port", &["<8080"]),
            (V4, "03 07810b", "icmp-type", &["=time-exceeded"]),
            (V4, "03 088704", "icmp-code", &["true"]),
            (V4, "03 098302", "tcp-flags", &["!=syn"]),
            (
                V4,
                "06 0a 12 05dc 80 00",
                "packet-length",
                &[">1500", "false"],
            ),
            (V6, "03 0b8120", "traffic-class", &["=32"]),
            (
                V4,
                "05 0c 0201 8202",
                "fragment",
                &["!dont-fragment", "!is-fragment"],
            ),
            (V6, "06 0d a2 000fffff", "flow-label", &[">1048575"]),
        ];
        for (afi, wire, name, values) in cases {
            let bytes = hex(wire);
            let n = dec(&bytes, afi, false, false).unwrap();
            assert_eq!(
                n.exabgp_components(afi),
                vec![(name, values.iter().map(|s| s.to_string()).collect())],
                "{wire}"
            );
            let kind = ComponentType::from_exabgp_name(name).unwrap();
            assert_eq!(n.components[0].kind(), kind);
            // Values are re-encoded at their smallest size.
            let again = dec(&enc(&n, afi, false), afi, false, false).unwrap();
            assert_eq!(again, n);
        }
        // 8-octet values survive, and 2-octet encodings of small values shrink.
        let n = dec(&hex("0a 05 b1 0000000100000000"), V4, false, false).unwrap();
        assert_eq!(n.components[0].exabgp_values(), ["=4294967296"]);
        assert_eq!(enc(&n, V4, false), hex("0a 05 b1 0000000100000000"));
        let n = dec(&hex("04 03 91 0006"), V4, false, false).unwrap();
        assert_eq!(enc(&n, V4, false), hex("03 038106"));
    }

    #[test]
    fn component_type_names() {
        for t in ComponentType::ALL {
            assert_eq!(ComponentType::from_code(t.code()), Some(t));
            for afi in [V4, V6] {
                assert_eq!(ComponentType::from_exabgp_name(t.exabgp_name(afi)), Some(t));
            }
            assert_eq!(
                [t.is_prefix(), t.is_numeric(), t.is_bitmask()]
                    .iter()
                    .filter(|b| **b)
                    .count(),
                1
            );
        }
        assert_eq!(ComponentType::from_code(0), None);
        assert_eq!(ComponentType::from_code(14), None);
        assert_eq!(
            ComponentType::from_exabgp_name("destination"),
            Some(ComponentType::DestinationPrefix)
        );
        assert_eq!(
            ComponentType::from_exabgp_name("source"),
            Some(ComponentType::SourcePrefix)
        );
        assert_eq!(ComponentType::IpProtocol.exabgp_name(V4), "protocol");
        assert_eq!(ComponentType::Dscp.exabgp_name(V6), "traffic-class");
        assert!(!ComponentType::FlowLabel.exists_in(V4));
        assert_eq!(ComponentType::Fragment.to_string(), "type 12 (fragment)");
    }

    #[test]
    fn decode_errors() {
        // (bytes, afi, vpn, offset of the offending byte within bytes)
        let cases: [(&str, Afi, bool, usize, &str); 17] = [
            ("03 0e8101", V4, false, 1, "unknown"),
            ("03 008101", V4, false, 1, "unknown"),
            ("06 038106 038111", V4, false, 4, "duplicate"),
            ("06 058150 038106", V4, false, 4, "order"),
            ("00", V4, false, 0, "without components"),
            ("08 0000fde800000001", V4, true, 0, "without components"),
            ("05 0381", V4, false, 0, "past the end"),
            ("03 039100 50", V4, false, 3, "value runs past"),
            ("03 030106", V4, false, 4, "end-of-list"),
            ("06 012101020304", V4, false, 2, "longer than 32"),
            ("03 018100", V6, false, 2, "longer than 128"),
            ("05 0108090000", V6, false, 3, "offset beyond"),
            ("03 0d8101", V4, false, 1, "flow label"),
            ("04 0118c000", V4, false, 3, "prefix runs past"),
            ("f0", V4, false, 1, "length cut short"),
            ("", V4, false, 0, "without its length"),
            ("04 00000001", V4, true, 1, "route distinguisher"),
        ];
        for (wire, afi, vpn, at, what) in cases {
            let (offset, reason) = err_at(&hex(wire), afi, vpn);
            assert_eq!(offset, at, "{wire}: {reason}");
            assert!(reason.contains(what), "{wire}: {reason}");
        }
        // Not a flowspec family at all.
        let mut r = Reader::new(&[3, 3, 0x81, 6], 0);
        assert!(FlowspecNlri::decode(&mut r, Afi::L2VPN, false, false).is_err());
        // Flow label is fine in IPv6.
        assert!(dec(&hex("03 0d8101"), V6, false, false).is_ok());
        // ADD-PATH identifier cut short.
        let mut r = Reader::new(&[0, 0, 1], 0);
        assert!(FlowspecNlri::decode(&mut r, V4, false, true).is_err());
    }

    #[test]
    fn reserved_bits_are_ignored_on_decode_and_never_written() {
        // RFC 8955 §4.2.1.1, §4.2.1.2, §4.2.2.12: MUST be ignored during decoding.
        for (wire, value, clean) in [
            ("03 038906", "=tcp", "03 038106"),
            ("03 098502", "=syn", "03 098102"),
            ("03 098902", "=syn", "03 098102"),
            ("03 0c80f8", "last-fragment", "03 0c8008"),
            ("04 0c90ff04", "first-fragment", "03 0c8004"),
        ] {
            let n = dec(&hex(wire), V4, false, false).unwrap();
            assert_eq!(n.components[0].exabgp_values(), [value], "{wire}");
            assert_eq!(enc(&n, V4, false), hex(clean), "{wire}");
        }
    }

    #[test]
    fn first_and_bit_is_ignored_on_decode_and_never_written() {
        let n = dec(&hex("05 0541508116"), V4, false, false).unwrap();
        assert_eq!(n.components[0].exabgp_values(), ["=80", "=22"]);
        assert_eq!(enc(&n, V4, false), hex("05 0501508116"));
        let mut n = n;
        if let Component::Numeric { ops, .. } = &mut n.components[0] {
            ops[0].and = true;
        }
        assert_eq!(enc(&n, V4, false), hex("05 0501508116"));
    }

    #[test]
    fn two_octet_length_form() {
        // 100 ports: 1 + 100 * 3 = 301 octets > 240.
        let ops: Vec<NumericOp> = (0..100u64)
            .map(|i| NumericOp {
                eq: true,
                value: 1000 + i,
                ..Default::default()
            })
            .collect();
        let n = FlowspecNlri {
            path_id: Some(9),
            rd: None,
            components: vec![Component::Numeric {
                kind: ComponentType::DestinationPort,
                ops,
            }],
        };
        n.validate(V4).unwrap();
        let wire = enc(&n, V4, true);
        assert_eq!(&wire[..6], &[0, 0, 0, 9, 0xf1, 0x2d]);
        assert_eq!(wire.len(), 4 + 2 + 301);
        assert_eq!(dec(&wire, V4, false, true).unwrap(), n);
        // Boundary: 239 octets take one length octet, more take two.
        let one = |count: u64| FlowspecNlri {
            path_id: None,
            rd: None,
            components: vec![Component::Numeric {
                kind: ComponentType::Port,
                ops: (0..count)
                    .map(|v| NumericOp {
                        eq: true,
                        value: v,
                        ..Default::default()
                    })
                    .collect(),
            }],
        };
        // Type (1) + 2 octets per op: 1 + 2 * 119 = 239.
        let n239 = one(119);
        assert_eq!(n239.encoded_len(V4, false), 240);
        assert_eq!(enc(&n239, V4, false)[0], 239);
        // Plus a 2-octet destination 0.0.0.0/0: 241.
        let mut n241 = n239.clone();
        n241.components.insert(
            0,
            Component::DestinationPrefix(FlowPrefix::new("0.0.0.0/0".parse().unwrap(), 0)),
        );
        let w = enc(&n241, V4, false);
        assert_eq!(&w[..2], &[0xf0, 241]);
        assert_eq!(dec(&w, V4, false, false).unwrap(), n241);
        // The 2-octet form is accepted for short lengths too.
        let n = dec(&hex("f003 038106"), V4, false, false).unwrap();
        assert_eq!(enc(&n, V4, false), hex("03 038106"));
        // A length above what the buffer holds.
        assert!(dec(&hex("ffff 038106"), V4, false, false).is_err());
        // validate refuses rules that do not fit 4095 octets.
        assert!(matches!(
            one(2100).validate(V4),
            Err(FlowspecError::TooLong(_))
        ));
    }

    #[test]
    fn absolute_offsets_and_several_nlri() {
        let bytes = hex("03 038106 03 038111 03 0e8101");
        let mut r = Reader::new(&bytes, 40);
        assert!(FlowspecNlri::decode(&mut r, V4, false, false).is_ok());
        assert!(FlowspecNlri::decode(&mut r, V4, false, false).is_ok());
        let e = FlowspecNlri::decode(&mut r, V4, false, false).unwrap_err();
        assert_eq!(e.offset, 40 + 9);
    }

    fn rule(components: Vec<Component>) -> FlowspecNlri {
        FlowspecNlri {
            path_id: None,
            rd: None,
            components,
        }
    }

    fn port(ops: &[&str]) -> Component {
        Component::parse_exabgp(ComponentType::Port, V4, ops).unwrap()
    }

    #[test]
    fn validate_rules() {
        let dst4 = Component::DestinationPrefix("10.0.0.0/8".parse().unwrap());
        let dst6 = Component::DestinationPrefix("2001:db8::/32".parse().unwrap());
        assert_eq!(rule(vec![]).validate(V4), Err(FlowspecError::NoComponents));
        assert_eq!(
            rule(vec![port(&["=1"])]).validate(Afi(3)),
            Err(FlowspecError::UnsupportedAfi(3))
        );
        assert_eq!(
            rule(vec![port(&["=1"]), port(&["=2"])]).validate(V4),
            Err(FlowspecError::Duplicate(ComponentType::Port))
        );
        let mut out_of_order = rule(vec![port(&["=1"]), dst4.clone()]);
        assert!(matches!(
            out_of_order.validate(V4),
            Err(FlowspecError::OutOfOrder { .. })
        ));
        out_of_order.sort_components();
        assert_eq!(out_of_order.validate(V4), Ok(()));
        assert!(matches!(
            rule(vec![dst6.clone()]).validate(V4),
            Err(FlowspecError::PrefixFamily { .. })
        ));
        assert!(matches!(
            rule(vec![dst4.clone()]).validate(V6),
            Err(FlowspecError::PrefixFamily { .. })
        ));
        let label = Component::Numeric {
            kind: ComponentType::FlowLabel,
            ops: vec![NumericOp {
                eq: true,
                value: 1,
                ..Default::default()
            }],
        };
        assert!(matches!(
            rule(vec![label.clone()]).validate(V4),
            Err(FlowspecError::NotInFamily { .. })
        ));
        assert_eq!(rule(vec![label]).validate(V6), Ok(()));
        let empty = Component::Numeric {
            kind: ComponentType::Port,
            ops: vec![],
        };
        assert_eq!(
            rule(vec![empty]).validate(V4),
            Err(FlowspecError::NoOperators(ComponentType::Port))
        );
        let wrong = Component::Bitmask {
            kind: ComponentType::Port,
            ops: vec![BitmaskOp::default()],
        };
        assert_eq!(
            rule(vec![wrong]).validate(V4),
            Err(FlowspecError::WrongOperatorKind(ComponentType::Port))
        );
        let wrong = Component::Numeric {
            kind: ComponentType::SourcePrefix,
            ops: vec![NumericOp::default()],
        };
        assert!(rule(vec![wrong]).validate(V4).is_err());
        let off4 = FlowPrefix {
            prefix: "10.0.0.0/8".parse().unwrap(),
            offset: 1,
        };
        assert!(matches!(
            rule(vec![Component::SourcePrefix(off4)]).validate(V4),
            Err(FlowspecError::BadOffset { .. })
        ));
        let frag = Component::Bitmask {
            kind: ComponentType::Fragment,
            ops: vec![BitmaskOp {
                value: 0x10,
                ..Default::default()
            }],
        };
        assert!(matches!(
            rule(vec![frag]).validate(V4),
            Err(FlowspecError::ValueTooLarge { .. })
        ));
        let off6 = FlowPrefix {
            prefix: "2001:db8::/32".parse().unwrap(),
            offset: 33,
        };
        assert!(matches!(
            rule(vec![Component::SourcePrefix(off6)]).validate(V6),
            Err(FlowspecError::BadOffset { .. })
        ));
    }

    #[test]
    fn flow_prefix_text() {
        let p: FlowPrefix = "2a02:b80:15::7aca:39ff:feae:a87a/128/0".parse().unwrap();
        assert_eq!(p.to_string(), "2a02:b80:15:0:7aca:39ff:feae:a87a/128/0");
        let p: FlowPrefix = "2001:db8::1/128/64".parse().unwrap();
        assert_eq!(p.to_string(), "::1/128/64");
        let p: FlowPrefix = "2001:db8::/32".parse().unwrap();
        assert_eq!(p.offset, 0);
        let p: FlowPrefix = "10.1.2.3/8".parse().unwrap();
        assert_eq!(p.to_string(), "10.0.0.0/8");
        let p: FlowPrefix = "10.1.2.3".parse().unwrap();
        assert_eq!(p.to_string(), "10.1.2.3/32");
        assert!("10.0.0.0/8/1".parse::<FlowPrefix>().is_err());
        assert!("10.0.0.0/8/0".parse::<FlowPrefix>().is_ok());
        assert!("2001:db8::/32/33".parse::<FlowPrefix>().is_err());
        assert!("2001:db8::/129".parse::<FlowPrefix>().is_err());
        assert!("nonsense".parse::<FlowPrefix>().is_err());
        assert!("::/0/0/0".parse::<FlowPrefix>().is_err());
    }

    #[test]
    fn parse_numeric_spellings() {
        let op = |and, lt, gt, eq, value| NumericOp {
            and,
            lt,
            gt,
            eq,
            value,
        };
        let k = ComponentType::DestinationPort;
        assert_eq!(
            parse_numeric(k, "80").unwrap(),
            [op(false, false, false, true, 80)]
        );
        assert_eq!(
            parse_numeric(k, ">1024").unwrap(),
            [op(false, false, true, false, 1024)]
        );
        assert_eq!(
            parse_numeric(k, ">=1024&<=2048").unwrap(),
            [
                op(false, false, true, true, 1024),
                op(true, true, false, true, 2048)
            ]
        );
        assert_eq!(
            parse_numeric(k, "!=443").unwrap(),
            [op(false, true, true, false, 443)]
        );
        assert_eq!(
            parse_numeric(k, "==0x50").unwrap(),
            [op(false, false, false, true, 80)]
        );
        assert_eq!(
            parse_numeric(k, "true").unwrap(),
            [op(false, true, true, true, 0)]
        );
        assert_eq!(
            parse_numeric(k, "false&<5").unwrap(),
            [
                op(false, false, false, false, 0),
                op(true, true, false, false, 5)
            ]
        );
        let p = ComponentType::IpProtocol;
        assert_eq!(
            parse_numeric(p, "tcp").unwrap(),
            [op(false, false, false, true, 6)]
        );
        assert_eq!(
            parse_numeric(p, "=TCP").unwrap(),
            [op(false, false, false, true, 6)]
        );
        assert_eq!(
            parse_numeric(ComponentType::IcmpType, "=echo-request").unwrap()[0].value,
            8
        );
        assert_eq!(
            parse_numeric(ComponentType::IcmpCode, "=port-unreachable").unwrap()[0].value,
            3
        );
        for bad in [
            "", "&=80", "=80&", "=", ">=", "=foo", "80x", "-1", "= 80 80",
        ] {
            assert!(parse_numeric(k, bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            parse_numeric(p, "=300"),
            Err(FlowspecError::ValueTooLarge {
                kind: p,
                value: 300,
                max: 255
            })
        );
        assert_eq!(
            parse_numeric(ComponentType::TcpFlags, "=1"),
            Err(FlowspecError::WrongOperatorKind(ComponentType::TcpFlags))
        );
        assert!(parse_numeric(ComponentType::DestinationPrefix, "=1").is_err());
    }

    #[test]
    fn parse_bitmask_spellings() {
        let op = |and, not, matches, value| BitmaskOp {
            and,
            not,
            matches,
            value,
        };
        let t = ComponentType::TcpFlags;
        assert_eq!(
            parse_bitmask(t, "rst&fin&!=push").unwrap(),
            [
                op(false, false, false, 4),
                op(true, false, false, 1),
                op(true, true, true, 8)
            ]
        );
        assert_eq!(
            parse_bitmask(t, "=fin+push").unwrap(),
            [op(false, false, true, 9)]
        );
        assert_eq!(
            parse_bitmask(t, "!SYN").unwrap(),
            [op(false, true, false, 2)]
        );
        assert_eq!(
            parse_bitmask(t, "urgent").unwrap(),
            [op(false, false, false, 0x20)]
        );
        assert_eq!(
            parse_bitmask(t, "ns+0x200").unwrap(),
            [op(false, false, false, 0x300)]
        );
        let f = ComponentType::Fragment;
        assert_eq!(
            parse_bitmask(f, "last-fragment").unwrap(),
            [op(false, false, false, 8)]
        );
        assert_eq!(
            parse_bitmask(f, "=first-fragment+last-fragment").unwrap(),
            [op(false, false, true, 12)]
        );
        for bad in ["", "syn&", "=", "syn+", "fin+bogus", "!!syn"] {
            assert!(parse_bitmask(t, bad).is_err(), "{bad:?}");
        }
        assert!(parse_bitmask(f, "syn").is_err());
        assert!(parse_bitmask(f, "0x10").is_err());
        assert!(parse_bitmask(ComponentType::Port, "syn").is_err());
        // Unnamed bits print as hex and parse back.
        let c = Component::Bitmask {
            kind: t,
            ops: vec![op(false, false, true, 0x1201), op(false, false, false, 0)],
        };
        assert_eq!(c.exabgp_values(), ["=fin+0x1200", "0"]);
    }

    #[test]
    fn parse_exabgp_components() {
        let c = Component::parse_exabgp(
            ComponentType::DestinationPort,
            V4,
            &[">8080&<8088", "=3128"],
        )
        .unwrap();
        assert_eq!(c.exabgp_values(), [">8080&<8088", "=3128"]);
        let Component::Numeric { ops, .. } = &c else {
            panic!()
        };
        assert_eq!(
            ops.iter().map(|o| o.and).collect::<Vec<_>>(),
            [false, true, false]
        );
        assert!(
            Component::parse_exabgp(ComponentType::DestinationPrefix, V4, &["2001:db8::/32"])
                .is_err()
        );
        assert!(Component::parse_exabgp(
            ComponentType::DestinationPrefix,
            V4,
            &["10.0.0.0/8", "10.0.0.0/9"]
        )
        .is_err());
        assert!(Component::parse_exabgp(ComponentType::FlowLabel, V4, &["=1"]).is_err());
        assert!(Component::parse_exabgp::<&str>(ComponentType::Port, V4, &[]).is_err());
        let c = Component::parse_exabgp(ComponentType::SourcePrefix, V6, &["::1/128/120"]).unwrap();
        assert_eq!(
            c,
            Component::SourcePrefix(FlowPrefix::new("::1/128".parse().unwrap(), 120))
        );
    }

    // ---------------------------------------------------------------- proptest

    fn arb_value(max: u64) -> impl Strategy<Value = u64> {
        prop_oneof![
            0..=max.min(0xff),
            0..=max.min(0xffff),
            0..=max.min(0xffff_ffff),
            0..=max
        ]
    }

    fn arb_numeric(kind: ComponentType, max: u64) -> impl Strategy<Value = Component> {
        prop::collection::vec((any::<[bool; 4]>(), arb_value(max)), 1..24).prop_map(move |v| {
            Component::Numeric {
                kind,
                ops: v
                    .into_iter()
                    .enumerate()
                    .map(|(i, ([and, lt, gt, eq], value))| NumericOp {
                        and: and && i > 0,
                        lt,
                        gt,
                        eq,
                        value,
                    })
                    .collect(),
            }
        })
    }

    fn arb_bitmask(kind: ComponentType, max: u64) -> impl Strategy<Value = Component> {
        prop::collection::vec((any::<[bool; 3]>(), arb_value(max)), 1..24).prop_map(move |v| {
            Component::Bitmask {
                kind,
                ops: v
                    .into_iter()
                    .enumerate()
                    .map(|(i, ([and, not, matches], value))| BitmaskOp {
                        and: and && i > 0,
                        not,
                        matches,
                        value,
                    })
                    .collect(),
            }
        })
    }

    fn arb_prefix(afi: Afi) -> BoxedStrategy<FlowPrefix> {
        if afi == V4 {
            (any::<u32>(), 0u8..=32)
                .prop_map(|(a, l)| {
                    FlowPrefix::new(IpNet::V4(Ipv4Net::new(a.into(), l).unwrap()), 0)
                })
                .boxed()
        } else {
            (any::<u128>(), 0u8..=128)
                .prop_flat_map(|(a, l)| (Just(a), Just(l), 0..=l))
                .prop_map(|(a, l, o)| {
                    FlowPrefix::new(IpNet::V6(Ipv6Net::new(a.into(), l).unwrap()), o)
                })
                .boxed()
        }
    }

    /// Any component valid in `afi`; `text` caps values at what the parsers accept.
    fn arb_component(afi: Afi, text: bool) -> BoxedStrategy<Component> {
        let kinds: Vec<ComponentType> = ComponentType::ALL
            .into_iter()
            .filter(|k| k.exists_in(afi))
            .collect();
        prop::sample::select(kinds)
            .prop_flat_map(move |kind| {
                // Reserved fragment bits do not survive decoding (validate refuses them).
                let max = if text || kind == ComponentType::Fragment {
                    kind.max_value()
                } else {
                    u64::MAX
                };
                match kind {
                    ComponentType::DestinationPrefix => arb_prefix(afi)
                        .prop_map(Component::DestinationPrefix)
                        .boxed(),
                    ComponentType::SourcePrefix => {
                        arb_prefix(afi).prop_map(Component::SourcePrefix).boxed()
                    }
                    k if k.is_bitmask() => arb_bitmask(k, max).boxed(),
                    k => arb_numeric(k, max).boxed(),
                }
            })
            .boxed()
    }

    fn arb_rule(afi: Afi) -> impl Strategy<Value = (FlowspecNlri, bool)> {
        (
            prop::collection::vec(arb_component(afi, false), 1..8),
            any::<Option<u32>>(),
            any::<Option<[u8; 8]>>(),
        )
            .prop_map(|(mut components, path_id, rd)| {
                components.sort_by_key(Component::kind);
                components.dedup_by_key(|c| c.kind());
                let n = FlowspecNlri {
                    path_id,
                    rd: rd.map(RouteDistinguisher::from_bytes),
                    components,
                };
                (n, path_id.is_some())
            })
    }

    proptest! {
        #[test]
        fn encode_decode_identity_ipv4((n, add_path) in arb_rule(V4)) {
            prop_assert_eq!(n.validate(V4), Ok(()));
            let wire = enc(&n, V4, add_path);
            prop_assert_eq!(dec(&wire, V4, n.rd.is_some(), add_path).unwrap(), n);
        }

        #[test]
        fn encode_decode_identity_ipv6((n, add_path) in arb_rule(V6)) {
            prop_assert_eq!(n.validate(V6), Ok(()));
            let wire = enc(&n, V6, add_path);
            prop_assert_eq!(dec(&wire, V6, n.rd.is_some(), add_path).unwrap(), n);
        }

        #[test]
        fn text_round_trip(c in prop_oneof![arb_component(V4, true), arb_component(V6, true)]) {
            let afi = match &c {
                Component::DestinationPrefix(p) | Component::SourcePrefix(p) if p.prefix.addr().is_ipv4() => V4,
                _ => V6,
            };
            // true / false print without their (irrelevant) value.
            let mut want = c.clone();
            if let Component::Numeric { ops, .. } = &mut want {
                for op in ops.iter_mut().filter(|o| o.lt == o.gt && o.gt == o.eq) {
                    op.value = 0;
                }
            }
            let back = Component::parse_exabgp(c.kind(), afi, &c.exabgp_values()).unwrap();
            prop_assert_eq!(back, want);
        }

        #[test]
        fn decode_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..600), v6: bool, vpn: bool, add_path: bool) {
            let afi = if v6 { V6 } else { V4 };
            let mut r = Reader::new(&bytes, 0);
            while !r.is_empty() {
                let before = r.remaining();
                let Ok(n) = FlowspecNlri::decode(&mut r, afi, vpn, add_path) else { break };
                prop_assert!(r.remaining() < before);
                // Whatever decodes is valid and re-encodes to something that
                // decodes to the same rule.
                prop_assert_eq!(n.validate(afi), Ok(()));
                let wire = enc(&n, afi, add_path);
                prop_assert_eq!(dec(&wire, afi, vpn, add_path).unwrap(), n);
            }
        }

        #[test]
        fn decode_never_panics_on_near_valid_input((n, add_path) in arb_rule(V6), flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4)) {
            let mut wire = enc(&n, V6, add_path);
            for (i, b) in flips {
                let i = i.index(wire.len());
                wire[i] = b;
            }
            let mut r = Reader::new(&wire, 0);
            let _ = FlowspecNlri::decode(&mut r, V6, n.rd.is_some(), add_path);
        }
    }
}
