//! Communities: standard (RFC 1997), extended (RFC 4360, with the Flowspec
//! actions of RFC 8955 §7), IPv6 address specific extended (RFC 5701) and
//! large (RFC 8092).
//!
//! Each has a text form, ExaBGP's where ExaBGP has one (`65000:100`,
//! `no-export`, `target:65000:1`, `rate-limit:9600`, `redirect:65000:1`,
//! `65000:1:2`), so that configs and commands read the same in both.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// A community that cannot be parsed from text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} {text:?}")]
pub struct InvalidCommunity {
    /// Which kind of community was expected.
    pub kind: &'static str,
    /// The text.
    pub text: String,
}

fn invalid(kind: &'static str, text: &str) -> InvalidCommunity {
    InvalidCommunity {
        kind,
        text: text.to_string(),
    }
}

/// A standard community (RFC 1997): two 16-bit halves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Community(pub u32);

/// Well-known communities with their names (IANA "BGP Well-known Communities").
const WELL_KNOWN: [(u32, &str); 9] = [
    (0xFFFF_0000, "graceful-shutdown"),
    (0xFFFF_0001, "accept-own"),
    (0xFFFF_0006, "llgr-stale"),
    (0xFFFF_0007, "no-llgr"),
    (0xFFFF_029A, "blackhole"),
    (0xFFFF_FF01, "no-export"),
    (0xFFFF_FF02, "no-advertise"),
    (0xFFFF_FF03, "no-export-subconfed"),
    (0xFFFF_FF04, "nopeer"),
];

impl Community {
    /// NO_EXPORT (RFC 1997).
    pub const NO_EXPORT: Community = Community(0xFFFF_FF01);
    /// NO_ADVERTISE (RFC 1997).
    pub const NO_ADVERTISE: Community = Community(0xFFFF_FF02);
    /// NO_EXPORT_SUBCONFED (RFC 1997).
    pub const NO_EXPORT_SUBCONFED: Community = Community(0xFFFF_FF03);
    /// NOPEER (RFC 3765).
    pub const NOPEER: Community = Community(0xFFFF_FF04);
    /// BLACKHOLE (RFC 7999).
    pub const BLACKHOLE: Community = Community(0xFFFF_029A);
    /// GRACEFUL_SHUTDOWN (RFC 8326).
    pub const GRACEFUL_SHUTDOWN: Community = Community(0xFFFF_0000);
    /// LLGR_STALE (RFC 9494).
    pub const LLGR_STALE: Community = Community(0xFFFF_0006);
    /// NO_LLGR (RFC 9494).
    pub const NO_LLGR: Community = Community(0xFFFF_0007);

    /// A community from its two halves.
    pub fn new(high: u16, low: u16) -> Community {
        Community((u32::from(high) << 16) | u32::from(low))
    }

    /// The high half (usually an AS number).
    pub fn high(self) -> u16 {
        (self.0 >> 16) as u16
    }

    /// The low half.
    pub fn low(self) -> u16 {
        (self.0 & 0xffff) as u16
    }

    /// The well-known name, if it has one.
    pub fn well_known_name(self) -> Option<&'static str> {
        WELL_KNOWN.iter().find(|w| w.0 == self.0).map(|w| w.1)
    }
}

impl fmt::Display for Community {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.well_known_name() {
            Some(name) => f.write_str(name),
            None => write!(f, "{}:{}", self.high(), self.low()),
        }
    }
}

/// Parses `65000:100`, a well-known name, or a plain 32-bit number.
impl FromStr for Community {
    type Err = InvalidCommunity;

    fn from_str(s: &str) -> Result<Community, InvalidCommunity> {
        let lower = s.to_ascii_lowercase();
        let name = lower.replace('_', "-");
        if let Some(w) = WELL_KNOWN.iter().find(|w| w.1 == name) {
            return Ok(Community(w.0));
        }
        if let Some((a, b)) = s.split_once(':') {
            let a = a.parse().map_err(|_| invalid("community", s))?;
            let b = b.parse().map_err(|_| invalid("community", s))?;
            return Ok(Community::new(a, b));
        }
        s.parse()
            .map(Community)
            .map_err(|_| invalid("community", s))
    }
}

/// A large community (RFC 8092): global administrator and two local parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LargeCommunity {
    /// Global administrator (an AS number).
    pub global: u32,
    /// First local data part.
    pub local1: u32,
    /// Second local data part.
    pub local2: u32,
}

impl fmt::Display for LargeCommunity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.global, self.local1, self.local2)
    }
}

impl FromStr for LargeCommunity {
    type Err = InvalidCommunity;

    fn from_str(s: &str) -> Result<LargeCommunity, InvalidCommunity> {
        let mut parts = s.split(':').map(|p| p.parse::<u32>());
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(Ok(global)), Some(Ok(local1)), Some(Ok(local2)), None) => Ok(LargeCommunity {
                global,
                local1,
                local2,
            }),
            _ => Err(invalid("large community", s)),
        }
    }
}

/// An extended community (RFC 4360): eight bytes, the first one or two of
/// which give its type. Kept as bytes; [`ExtendedCommunity::kind`] reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExtendedCommunity(pub [u8; 8]);

/// What an extended community means, for the types Ribbit knows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ExtendedKind {
    /// Route target (RFC 4360 §4): an administrator and a number.
    RouteTarget(Admin),
    /// Route origin (RFC 4360 §5).
    RouteOrigin(Admin),
    /// Flowspec traffic-rate in bytes per second (RFC 8955 §7.3); 0 means discard.
    TrafficRateBytes {
        /// Informational AS number.
        asn: u16,
        /// Bytes per second.
        rate: f32,
    },
    /// Flowspec traffic-rate in packets per second (RFC 8955 §7.3).
    TrafficRatePackets {
        /// Informational AS number.
        asn: u16,
        /// Packets per second.
        rate: f32,
    },
    /// Flowspec traffic-action (RFC 8955 §7.4).
    TrafficAction {
        /// Sample and log the traffic.
        sample: bool,
        /// Stop evaluating further rules.
        terminal: bool,
    },
    /// Flowspec redirect to a VRF by route target (RFC 8955 §7.4, RFC 7674).
    Redirect(Admin),
    /// Flowspec traffic-marking: rewrite the DSCP (RFC 8955 §7.4).
    TrafficMarking(u8),
    /// Redirect to an IP next hop, the older form ExaBGP calls
    /// `redirect-to-nexthop` (`copy` is ExaBGP's `copy-to-nexthop`); the
    /// address is the UPDATE's next hop.
    RedirectToNextHop {
        /// Copy rather than redirect.
        copy: bool,
    },
    /// Redirect to an IPv4 address (draft-ietf-idr-flowspec-redirect-ip,
    /// ExaBGP's `redirect-to-nexthop-ietf`).
    RedirectToIpv4 {
        /// The target address.
        addr: Ipv4Addr,
        /// Copy rather than redirect.
        copy: bool,
    },
    /// Any other type.
    Other,
}

/// The administrator and number of a two-part extended community.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Admin {
    /// 2-octet AS : 4-octet number.
    As2(u16, u32),
    /// IPv4 address : 2-octet number.
    Ipv4(Ipv4Addr, u16),
    /// 4-octet AS : 2-octet number.
    As4(u32, u16),
}

impl fmt::Display for Admin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Admin::As2(a, n) => write!(f, "{a}:{n}"),
            Admin::Ipv4(a, n) => write!(f, "{a}:{n}"),
            Admin::As4(a, n) => write!(f, "{a}:{n}"),
        }
    }
}

impl Admin {
    /// The six value bytes and the high type octet of this administrator
    /// (0x00, 0x01 or 0x02, RFC 4360 §3, RFC 5668).
    fn to_parts(self) -> (u8, [u8; 6]) {
        match self {
            Admin::As2(a, n) => {
                let [a0, a1] = a.to_be_bytes();
                let [n0, n1, n2, n3] = n.to_be_bytes();
                (0x00, [a0, a1, n0, n1, n2, n3])
            }
            Admin::Ipv4(a, n) => {
                let [a0, a1, a2, a3] = a.octets();
                let [n0, n1] = n.to_be_bytes();
                (0x01, [a0, a1, a2, a3, n0, n1])
            }
            Admin::As4(a, n) => {
                let [a0, a1, a2, a3] = a.to_be_bytes();
                let [n0, n1] = n.to_be_bytes();
                (0x02, [a0, a1, a2, a3, n0, n1])
            }
        }
    }

    fn from_parts(high: u8, v: [u8; 6]) -> Option<Admin> {
        let [a, b, c, d, e, f] = v;
        match high & 0x3f {
            0x00 => Some(Admin::As2(
                u16::from_be_bytes([a, b]),
                u32::from_be_bytes([c, d, e, f]),
            )),
            0x01 => Some(Admin::Ipv4(
                Ipv4Addr::new(a, b, c, d),
                u16::from_be_bytes([e, f]),
            )),
            0x02 => Some(Admin::As4(
                u32::from_be_bytes([a, b, c, d]),
                u16::from_be_bytes([e, f]),
            )),
            _ => None,
        }
    }

    fn parse(s: &str) -> Option<Admin> {
        let (a, n) = s.rsplit_once(':')?;
        if let Ok(addr) = a.parse::<Ipv4Addr>() {
            return Some(Admin::Ipv4(addr, n.parse().ok()?));
        }
        let asn: u32 = a.parse().ok()?;
        match u16::try_from(asn) {
            Ok(asn) => Some(Admin::As2(asn, n.parse().ok()?)),
            Err(_) => Some(Admin::As4(asn, n.parse().ok()?)),
        }
    }
}

impl ExtendedCommunity {
    fn build(high: u8, low: u8, value: [u8; 6]) -> ExtendedCommunity {
        let [a, b, c, d, e, f] = value;
        ExtendedCommunity([high, low, a, b, c, d, e, f])
    }

    /// A route target.
    pub fn route_target(admin: Admin) -> Self {
        let (high, v) = admin.to_parts();
        Self::build(high, 0x02, v)
    }

    /// A route origin.
    pub fn route_origin(admin: Admin) -> Self {
        let (high, v) = admin.to_parts();
        Self::build(high, 0x03, v)
    }

    /// Flowspec traffic-rate in bytes per second (0 discards).
    pub fn traffic_rate_bytes(asn: u16, rate: f32) -> Self {
        let [a, b] = asn.to_be_bytes();
        let [c, d, e, f] = rate.to_be_bytes();
        Self::build(0x80, 0x06, [a, b, c, d, e, f])
    }

    /// Flowspec traffic-rate in packets per second.
    pub fn traffic_rate_packets(asn: u16, rate: f32) -> Self {
        let [a, b] = asn.to_be_bytes();
        let [c, d, e, f] = rate.to_be_bytes();
        Self::build(0x80, 0x0c, [a, b, c, d, e, f])
    }

    /// Flowspec traffic-action.
    pub fn traffic_action(sample: bool, terminal: bool) -> Self {
        let bits = (u8::from(sample) << 1) | u8::from(terminal);
        Self::build(0x80, 0x07, [0, 0, 0, 0, 0, bits])
    }

    /// Flowspec redirect to the VRF with this route target.
    pub fn redirect(admin: Admin) -> Self {
        let (high, v) = admin.to_parts();
        // 0x8008 (AS-2), 0x8108 (IPv4), 0x8208 (AS-4): RFC 7674 §3.
        Self::build(0x80 | high, 0x08, v)
    }

    /// Flowspec traffic-marking with this DSCP.
    pub fn traffic_marking(dscp: u8) -> Self {
        Self::build(0x80, 0x09, [0, 0, 0, 0, 0, dscp & 0x3f])
    }

    /// Redirect (or copy) to the UPDATE's next hop.
    pub fn redirect_to_next_hop(copy: bool) -> Self {
        Self::build(0x08, 0x00, [0, 0, 0, 0, 0, u8::from(copy)])
    }

    /// Redirect (or copy) to an IPv4 address.
    pub fn redirect_to_ipv4(addr: Ipv4Addr, copy: bool) -> Self {
        let [a, b, c, d] = addr.octets();
        Self::build(0x01, 0x0c, [a, b, c, d, 0, u8::from(copy)])
    }

    /// The 64-bit value, as ExaBGP prints it.
    pub fn value(self) -> u64 {
        u64::from_be_bytes(self.0)
    }

    /// Whether the community may cross AS boundaries (RFC 4360 §2: the
    /// Transitive bit is 0 for transitive types).
    pub fn is_transitive(self) -> bool {
        self.0[0] & 0x40 == 0
    }

    /// What the community means.
    pub fn kind(self) -> ExtendedKind {
        let [high, low, a, b, c, d, e, f] = self.0;
        let v = [a, b, c, d, e, f];
        match (high, low) {
            (0x00..=0x02, 0x02) => {
                Admin::from_parts(high, v).map_or(ExtendedKind::Other, ExtendedKind::RouteTarget)
            }
            (0x00..=0x02, 0x03) => {
                Admin::from_parts(high, v).map_or(ExtendedKind::Other, ExtendedKind::RouteOrigin)
            }
            (0x80, 0x06) => ExtendedKind::TrafficRateBytes {
                asn: u16::from_be_bytes([a, b]),
                rate: f32::from_be_bytes([c, d, e, f]),
            },
            (0x80, 0x0c) => ExtendedKind::TrafficRatePackets {
                asn: u16::from_be_bytes([a, b]),
                rate: f32::from_be_bytes([c, d, e, f]),
            },
            (0x80, 0x07) => ExtendedKind::TrafficAction {
                sample: f & 0x02 != 0,
                terminal: f & 0x01 != 0,
            },
            (0x80..=0x82, 0x08) => Admin::from_parts(high & 0x03, v)
                .map_or(ExtendedKind::Other, ExtendedKind::Redirect),
            (0x80, 0x09) => ExtendedKind::TrafficMarking(f & 0x3f),
            (0x08, 0x00) => ExtendedKind::RedirectToNextHop {
                copy: f & 0x01 != 0,
            },
            (0x01, 0x0c) => ExtendedKind::RedirectToIpv4 {
                addr: Ipv4Addr::new(a, b, c, d),
                copy: f & 0x01 != 0,
            },
            _ => ExtendedKind::Other,
        }
    }
}

/// A rate as ExaBGP prints it: an integer when it is one.
fn rate_text(rate: f32) -> String {
    if rate.fract() == 0.0 && rate.abs() < 1e15 {
        format!("{}", rate as i64)
    } else {
        format!("{rate}")
    }
}

/// ExaBGP's spellings: `target:65000:1`, `origin:192.0.2.1:5`,
/// `rate-limit:9600`, `rate-limit:1000:packets`, `redirect:65000:1`,
/// `mark 10`, `action sample-terminal`, `redirect-to-nexthop`,
/// `copy-to-nexthop`, `redirect-to-nexthop-ietf 192.0.2.1`, and
/// `0x` followed by 16 hex digits for anything else.
impl fmt::Display for ExtendedCommunity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind() {
            ExtendedKind::RouteTarget(a) => write!(f, "target:{a}"),
            ExtendedKind::RouteOrigin(a) => write!(f, "origin:{a}"),
            ExtendedKind::TrafficRateBytes { rate, .. } => {
                write!(f, "rate-limit:{}", rate_text(rate))
            }
            ExtendedKind::TrafficRatePackets { rate, .. } => {
                write!(f, "rate-limit:{}:packets", rate_text(rate))
            }
            ExtendedKind::TrafficAction { sample, terminal } => {
                let words = match (sample, terminal) {
                    (true, true) => "sample-terminal",
                    (true, false) => "sample",
                    (false, true) => "terminal",
                    (false, false) => "none",
                };
                write!(f, "action {words}")
            }
            ExtendedKind::Redirect(a) => write!(f, "redirect:{a}"),
            ExtendedKind::TrafficMarking(dscp) => write!(f, "mark {dscp}"),
            ExtendedKind::RedirectToNextHop { copy: false } => f.write_str("redirect-to-nexthop"),
            ExtendedKind::RedirectToNextHop { copy: true } => f.write_str("copy-to-nexthop"),
            ExtendedKind::RedirectToIpv4 { addr, copy } => {
                let verb = if copy { "copy" } else { "redirect" };
                write!(f, "{verb}-to-nexthop-ietf {addr}")
            }
            ExtendedKind::Other => write!(f, "0x{:016x}", self.value()),
        }
    }
}

/// Parses what [`Display`](fmt::Display) writes; `:` may stand for the space
/// in `mark:10`, `action:sample` and `redirect-to-nexthop-ietf:192.0.2.1`.
impl FromStr for ExtendedCommunity {
    type Err = InvalidCommunity;

    fn from_str(s: &str) -> Result<ExtendedCommunity, InvalidCommunity> {
        let err = || invalid("extended community", s);
        let t = s.trim();
        if let Some(hex) = t.strip_prefix("0x") {
            return u64::from_str_radix(hex, 16)
                .map(|v| ExtendedCommunity(v.to_be_bytes()))
                .map_err(|_| err());
        }
        match t {
            "redirect-to-nexthop" => return Ok(Self::redirect_to_next_hop(false)),
            "copy-to-nexthop" => return Ok(Self::redirect_to_next_hop(true)),
            _ => {}
        }
        let (word, rest) = t
            .split_once([' ', ':'])
            .map(|(w, r)| (w, r.trim()))
            .ok_or_else(err)?;
        let parse_rate = |r: &str| r.parse::<f32>().ok().filter(|v| v.is_finite() && *v >= 0.0);
        match word {
            "target" => Admin::parse(rest).map(Self::route_target).ok_or_else(err),
            "origin" => Admin::parse(rest).map(Self::route_origin).ok_or_else(err),
            "redirect" => Admin::parse(rest).map(Self::redirect).ok_or_else(err),
            "rate-limit" => match rest.split_once(':') {
                Some((r, "packets")) => parse_rate(r)
                    .map(|r| Self::traffic_rate_packets(0, r))
                    .ok_or_else(err),
                Some((r, "bytes")) | Some((r, "")) => parse_rate(r)
                    .map(|r| Self::traffic_rate_bytes(0, r))
                    .ok_or_else(err),
                Some(_) => Err(err()),
                None => parse_rate(rest)
                    .map(|r| Self::traffic_rate_bytes(0, r))
                    .ok_or_else(err),
            },
            "mark" => rest
                .parse::<u8>()
                .ok()
                .filter(|d| *d < 64)
                .map(Self::traffic_marking)
                .ok_or_else(err),
            "action" => match rest {
                "sample-terminal" | "terminal-sample" => Ok(Self::traffic_action(true, true)),
                "sample" => Ok(Self::traffic_action(true, false)),
                "terminal" => Ok(Self::traffic_action(false, true)),
                "none" => Ok(Self::traffic_action(false, false)),
                _ => Err(err()),
            },
            "redirect-to-nexthop-ietf" | "copy-to-nexthop-ietf" => rest
                .parse()
                .map(|a| Self::redirect_to_ipv4(a, word.starts_with("copy")))
                .map_err(|_| err()),
            _ => Err(err()),
        }
    }
}

/// An IPv6 address specific extended community (RFC 5701): type, sub-type,
/// a global administrator IPv6 address and a 2-byte local administrator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ipv6ExtendedCommunity(pub [u8; 20]);

impl Ipv6ExtendedCommunity {
    /// Type octet.
    pub fn type_high(&self) -> u8 {
        self.0[0]
    }

    /// Sub-type octet.
    pub fn sub_type(&self) -> u8 {
        self.0[1]
    }

    /// Global administrator.
    pub fn address(&self) -> Ipv6Addr {
        let mut b = [0u8; 16];
        b.copy_from_slice(self.0.get(2..18).unwrap_or(&[0; 16]));
        Ipv6Addr::from(b)
    }

    /// Local administrator.
    pub fn local(&self) -> u16 {
        u16::from_be_bytes([self.0[18], self.0[19]])
    }

    /// A community from its parts.
    pub fn new(type_high: u8, sub_type: u8, address: Ipv6Addr, local: u16) -> Self {
        let mut b = [0u8; 20];
        b[0] = type_high;
        b[1] = sub_type;
        if let Some(dst) = b.get_mut(2..18) {
            dst.copy_from_slice(&address.octets());
        }
        let [l0, l1] = local.to_be_bytes();
        b[18] = l0;
        b[19] = l1;
        Ipv6ExtendedCommunity(b)
    }
}

/// `target:2001:db8::1:100` (sub-type 0x02), `origin:…` (0x03),
/// `redirect-to-ipv6:…` / `redirect:…` for the Flowspec redirect (RFC 8956 §6,
/// type 0x00 sub-type 0x0d... see `new` for raw values), or
/// `0x` + 40 hex digits.
impl fmt::Display for Ipv6ExtendedCommunity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let word = match (self.type_high() & 0x3f, self.sub_type()) {
            (0x00, 0x02) => Some("target"),
            (0x00, 0x03) => Some("origin"),
            (0x00, 0x0b) => Some("redirect"),
            _ => None,
        };
        match word {
            Some(w) => write!(f, "{w}:{}:{}", self.address(), self.local()),
            None => {
                f.write_str("0x")?;
                for b in self.0 {
                    write!(f, "{b:02x}")?;
                }
                Ok(())
            }
        }
    }
}

impl FromStr for Ipv6ExtendedCommunity {
    type Err = InvalidCommunity;

    fn from_str(s: &str) -> Result<Self, InvalidCommunity> {
        let err = || invalid("IPv6 extended community", s);
        if let Some(hex) = s.strip_prefix("0x") {
            if hex.len() != 40 {
                return Err(err());
            }
            let mut b = [0u8; 20];
            for (i, out) in b.iter_mut().enumerate() {
                let pair = hex
                    .get(i.saturating_mul(2)..i.saturating_mul(2).saturating_add(2))
                    .ok_or_else(err)?;
                *out = u8::from_str_radix(pair, 16).map_err(|_| err())?;
            }
            return Ok(Ipv6ExtendedCommunity(b));
        }
        let (word, rest) = s.split_once(':').ok_or_else(err)?;
        let sub = match word {
            "target" => 0x02,
            "origin" => 0x03,
            "redirect" => 0x0b,
            _ => return Err(err()),
        };
        let (addr, local) = rest.rsplit_once(':').ok_or_else(err)?;
        let addr: Ipv6Addr = addr.parse().map_err(|_| err())?;
        let local: u16 = local.parse().map_err(|_| err())?;
        Ok(Ipv6ExtendedCommunity::new(0x00, sub, addr, local))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard() {
        assert_eq!(
            "65000:100".parse::<Community>().unwrap(),
            Community::new(65000, 100)
        );
        assert_eq!(
            "no-export".parse::<Community>().unwrap(),
            Community::NO_EXPORT
        );
        assert_eq!(
            "NO_EXPORT".parse::<Community>().unwrap(),
            Community::NO_EXPORT
        );
        assert_eq!(Community::BLACKHOLE.to_string(), "blackhole");
        assert_eq!(Community::new(30740, 0).to_string(), "30740:0");
        assert!("70000:1".parse::<Community>().is_err());
    }

    #[test]
    fn large() {
        let l: LargeCommunity = "4200000000:1:2".parse().unwrap();
        assert_eq!(l.to_string(), "4200000000:1:2");
        assert!("1:2".parse::<LargeCommunity>().is_err());
    }

    /// Values and strings from ExaBGP's conformance vectors.
    #[test]
    fn extended_matches_exabgp() {
        for (value, text) in [
            (9225060886715039744u64, "rate-limit:0"),
            (9225060887890886656, "rate-limit:9600"),
            (9226749737724149760, "rate-limit:1000:packets"),
            (9225060888033428217, "rate-limit:1250000000"),
            (9225903013837668471, "redirect:65001:119"),
            (9225342361691750403, "action sample-terminal"),
            (9225624944803780142, "redirect:258:33756718"),
            (576460752303423488, "redirect-to-nexthop"),
            (576460752303423489, "copy-to-nexthop"),
            (75436401910611968, "redirect-to-nexthop-ietf 1.2.3.4"),
            (562992903094282, "target:10:10"),
            (72832373356232709, "target:192.168.94.12:5"),
            (72909745732131672, "origin:7.7.7.7:7000"),
            (842122827761311, "target:65000:99999"),
        ] {
            let c = ExtendedCommunity(value.to_be_bytes());
            assert_eq!(c.to_string(), text, "{value:#x}");
            assert_eq!(
                text.parse::<ExtendedCommunity>().unwrap().value(),
                value,
                "{text}"
            );
        }
        assert_eq!(
            "mark 10".parse::<ExtendedCommunity>().unwrap(),
            ExtendedCommunity::traffic_marking(10)
        );
        assert!("rate-limit:-1".parse::<ExtendedCommunity>().is_err());
        let odd = ExtendedCommunity([0x43, 0, 1, 2, 3, 4, 5, 6]);
        assert_eq!(odd.to_string().parse::<ExtendedCommunity>().unwrap(), odd);
        assert!(!odd.is_transitive());
    }

    #[test]
    fn ipv6_extended() {
        let c: Ipv6ExtendedCommunity = "target:2001:db8::1:100".parse().unwrap();
        assert_eq!(c.address(), "2001:db8::1".parse::<Ipv6Addr>().unwrap());
        assert_eq!(c.local(), 100);
        assert_eq!(c.to_string(), "target:2001:db8::1:100");
        let raw = Ipv6ExtendedCommunity([7; 20]);
        assert_eq!(
            raw.to_string().parse::<Ipv6ExtendedCommunity>().unwrap(),
            raw
        );
    }
}
