//! Address families: AFI/SAFI pairs (RFC 4760 §3) and the names people use for them.

use std::fmt;
use std::str::FromStr;

/// Address Family Identifier (IANA "Address Family Numbers").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Afi(pub u16);

impl Afi {
    /// IPv4.
    pub const IPV4: Afi = Afi(1);
    /// IPv6.
    pub const IPV6: Afi = Afi(2);
    /// Layer-2 VPN (RFC 4761, EVPN).
    pub const L2VPN: Afi = Afi(25);
}

/// Subsequent Address Family Identifier (IANA "SAFI Values").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Safi(pub u8);

impl Safi {
    /// Unicast forwarding.
    pub const UNICAST: Safi = Safi(1);
    /// Multicast forwarding (RPF).
    pub const MULTICAST: Safi = Safi(2);
    /// Labeled unicast (RFC 8277).
    pub const LABELED: Safi = Safi(4);
    /// MPLS-labeled VPN address (RFC 4364, RFC 4659).
    pub const VPN: Safi = Safi(128);
    /// Dissemination of Flow Specification rules (RFC 8955).
    pub const FLOWSPEC: Safi = Safi(133);
    /// L3VPN Flow Specification rules (RFC 8955 §8).
    pub const FLOWSPEC_VPN: Safi = Safi(134);
}

/// How the NLRI of a family is laid out on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NlriKind {
    /// A plain prefix (unicast and multicast).
    Prefix,
    /// Label stack then prefix (RFC 8277).
    Labeled,
    /// Label stack, route distinguisher, prefix (RFC 4364).
    Vpn,
    /// Flow specification (RFC 8955, RFC 8956).
    Flowspec,
    /// Route distinguisher then flow specification (RFC 8955 §8).
    FlowspecVpn,
}

/// An AFI/SAFI pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Family {
    /// The address family.
    pub afi: Afi,
    /// The subsequent address family.
    pub safi: Safi,
}

/// Every family Ribbit decodes the NLRI of, with its config name and its ExaBGP name.
const KNOWN: [(Family, &str, &str, NlriKind); 12] = [
    (
        Family::IPV4_UNICAST,
        "ipv4-unicast",
        "ipv4 unicast",
        NlriKind::Prefix,
    ),
    (
        Family::IPV6_UNICAST,
        "ipv6-unicast",
        "ipv6 unicast",
        NlriKind::Prefix,
    ),
    (
        Family::IPV4_MULTICAST,
        "ipv4-multicast",
        "ipv4 multicast",
        NlriKind::Prefix,
    ),
    (
        Family::IPV6_MULTICAST,
        "ipv6-multicast",
        "ipv6 multicast",
        NlriKind::Prefix,
    ),
    (
        Family::IPV4_LABELED,
        "ipv4-labeled-unicast",
        "ipv4 nlri-mpls",
        NlriKind::Labeled,
    ),
    (
        Family::IPV6_LABELED,
        "ipv6-labeled-unicast",
        "ipv6 nlri-mpls",
        NlriKind::Labeled,
    ),
    (Family::IPV4_VPN, "ipv4-vpn", "ipv4 mpls-vpn", NlriKind::Vpn),
    (Family::IPV6_VPN, "ipv6-vpn", "ipv6 mpls-vpn", NlriKind::Vpn),
    (
        Family::IPV4_FLOWSPEC,
        "ipv4-flowspec",
        "ipv4 flow",
        NlriKind::Flowspec,
    ),
    (
        Family::IPV6_FLOWSPEC,
        "ipv6-flowspec",
        "ipv6 flow",
        NlriKind::Flowspec,
    ),
    (
        Family::IPV4_FLOWSPEC_VPN,
        "ipv4-flowspec-vpn",
        "ipv4 flow-vpn",
        NlriKind::FlowspecVpn,
    ),
    (
        Family::IPV6_FLOWSPEC_VPN,
        "ipv6-flowspec-vpn",
        "ipv6 flow-vpn",
        NlriKind::FlowspecVpn,
    ),
];

impl Family {
    /// IPv4 unicast (1/1).
    pub const IPV4_UNICAST: Family = Family::new(Afi::IPV4, Safi::UNICAST);
    /// IPv6 unicast (2/1).
    pub const IPV6_UNICAST: Family = Family::new(Afi::IPV6, Safi::UNICAST);
    /// IPv4 multicast (1/2).
    pub const IPV4_MULTICAST: Family = Family::new(Afi::IPV4, Safi::MULTICAST);
    /// IPv6 multicast (2/2).
    pub const IPV6_MULTICAST: Family = Family::new(Afi::IPV6, Safi::MULTICAST);
    /// IPv4 labeled unicast (1/4).
    pub const IPV4_LABELED: Family = Family::new(Afi::IPV4, Safi::LABELED);
    /// IPv6 labeled unicast (2/4).
    pub const IPV6_LABELED: Family = Family::new(Afi::IPV6, Safi::LABELED);
    /// VPNv4 (1/128).
    pub const IPV4_VPN: Family = Family::new(Afi::IPV4, Safi::VPN);
    /// VPNv6 (2/128).
    pub const IPV6_VPN: Family = Family::new(Afi::IPV6, Safi::VPN);
    /// IPv4 Flowspec (1/133).
    pub const IPV4_FLOWSPEC: Family = Family::new(Afi::IPV4, Safi::FLOWSPEC);
    /// IPv6 Flowspec (2/133).
    pub const IPV6_FLOWSPEC: Family = Family::new(Afi::IPV6, Safi::FLOWSPEC);
    /// IPv4 Flowspec VPN (1/134).
    pub const IPV4_FLOWSPEC_VPN: Family = Family::new(Afi::IPV4, Safi::FLOWSPEC_VPN);
    /// IPv6 Flowspec VPN (2/134).
    pub const IPV6_FLOWSPEC_VPN: Family = Family::new(Afi::IPV6, Safi::FLOWSPEC_VPN);

    /// A family from its numbers.
    pub const fn new(afi: Afi, safi: Safi) -> Family {
        Family { afi, safi }
    }

    /// Every family whose NLRI Ribbit understands.
    pub fn known() -> impl Iterator<Item = Family> {
        KNOWN.iter().map(|k| k.0)
    }

    fn entry(self) -> Option<&'static (Family, &'static str, &'static str, NlriKind)> {
        KNOWN.iter().find(|k| k.0 == self)
    }

    /// Position in the table of known families (for bit sets).
    fn index(self) -> Option<u32> {
        KNOWN
            .iter()
            .position(|k| k.0 == self)
            .and_then(|i| u32::try_from(i).ok())
    }

    /// The NLRI layout, for the families Ribbit decodes.
    pub fn nlri_kind(self) -> Option<NlriKind> {
        self.entry().map(|k| k.3)
    }

    /// Whether the family carries IPv6 prefixes.
    pub fn is_ipv6(self) -> bool {
        self.afi == Afi::IPV6
    }

    /// The ExaBGP name (`"ipv4 unicast"`, `"ipv6 flow"`, ...), for known families.
    pub fn exabgp_name(self) -> Option<&'static str> {
        self.entry().map(|k| k.2)
    }

    /// Parse an ExaBGP name such as `"ipv4 flow"`.
    pub fn from_exabgp_name(name: &str) -> Option<Family> {
        KNOWN.iter().find(|k| k.2 == name).map(|k| k.0)
    }
}

/// Ribbit's names are `ipv4-unicast` style for known families and `afi-N-safi-M` otherwise.
impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.entry() {
            Some(k) => f.write_str(k.1),
            None => write!(f, "afi-{}-safi-{}", self.afi.0, self.safi.0),
        }
    }
}

/// A family name that Ribbit does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown address family {0:?} (expected one of ipv4-unicast, ipv6-unicast, ipv4-multicast, ipv6-multicast, ipv4-labeled-unicast, ipv6-labeled-unicast, ipv4-vpn, ipv6-vpn, ipv4-flowspec, ipv6-flowspec, ipv4-flowspec-vpn, ipv6-flowspec-vpn, or afi-N-safi-M)")]
pub struct UnknownFamily(pub String);

impl FromStr for Family {
    type Err = UnknownFamily;

    fn from_str(s: &str) -> Result<Family, UnknownFamily> {
        if let Some(k) = KNOWN.iter().find(|k| k.1 == s || k.2 == s) {
            return Ok(k.0);
        }
        let numeric = s
            .strip_prefix("afi-")
            .and_then(|rest| rest.split_once("-safi-"))
            .and_then(|(a, b)| Some(Family::new(Afi(a.parse().ok()?), Safi(b.parse().ok()?))));
        numeric.ok_or_else(|| UnknownFamily(s.to_string()))
    }
}

/// A set of known families, as a bit set (no allocation, `Copy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct FamilySet(u32);

impl FamilySet {
    /// The empty set.
    pub const EMPTY: FamilySet = FamilySet(0);

    /// Add a family; unknown families cannot be members and are ignored.
    pub fn insert(&mut self, family: Family) {
        if let Some(i) = family.index() {
            self.0 |= 1u32.checked_shl(i).unwrap_or(0);
        }
    }

    /// Whether the family is a member.
    #[inline]
    pub fn contains(&self, family: Family) -> bool {
        family
            .index()
            .is_some_and(|i| self.0 & 1u32.checked_shl(i).unwrap_or(0) != 0)
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }

    /// The members, in table order.
    pub fn iter(&self) -> impl Iterator<Item = Family> + '_ {
        Family::known().filter(|f| self.contains(*f))
    }
}

impl FromIterator<Family> for FamilySet {
    fn from_iter<I: IntoIterator<Item = Family>>(iter: I) -> Self {
        let mut set = FamilySet::EMPTY;
        for f in iter {
            set.insert(f);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for f in Family::known() {
            assert_eq!(f.to_string().parse::<Family>(), Ok(f));
            assert_eq!(Family::from_exabgp_name(f.exabgp_name().unwrap()), Some(f));
        }
        let odd = Family::new(Afi(16388), Safi(71));
        assert_eq!(odd.to_string(), "afi-16388-safi-71");
        assert_eq!("afi-16388-safi-71".parse::<Family>(), Ok(odd));
        assert!("ipv5-unicast".parse::<Family>().is_err());
    }

    #[test]
    fn set_membership() {
        let set: FamilySet = [Family::IPV6_UNICAST, Family::IPV4_FLOWSPEC]
            .into_iter()
            .collect();
        assert!(set.contains(Family::IPV6_UNICAST));
        assert!(!set.contains(Family::IPV4_UNICAST));
        assert!(!set.contains(Family::new(Afi(99), Safi(1))));
        assert_eq!(set.iter().count(), 2);
    }
}
