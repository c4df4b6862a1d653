//! Typed builders for what Ribbit originates: [`Route`] for unicast
//! prefixes and [`Flow`] for Flowspec rules (RFC 8955 for IPv4, RFC 8956
//! for IPv6).
//!
//! Both end as an [`Announcement`] of ExaBGP's grammar, the one currency
//! that the configuration (`[[route]]`, `[[flow]]`), the process API, the
//! HTTP API and an embedding program share: the neighbor task encodes an
//! announcement for each session with [`Announcement::encode`].
//!
//! ```
//! use ribbit::route::{Flow, Op, Ops, Route};
//! use ribbit_exabgp::text::Announcement;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let route: Announcement = Route::new("10.0.0.0/24".parse()?)
//!     .next_hop("192.0.2.1".parse()?)
//!     .med(10)
//!     .community("65000:100".parse()?)
//!     .build()?;
//!
//! let rule = Flow::matching()
//!     .destination("10.0.0.0/24".parse()?)
//!     .protocol(Op::eq(17))
//!     .destination_port(Ops::range(1024..=2048))
//!     .then()
//!     .rate_limit(9600.0)
//!     .community("100:100".parse()?)
//!     .build()?;
//! assert_eq!(
//!     rule.text(),
//!     "flow destination-ipv4 10.0.0.0/24 protocol =udp destination-port [ >=1024&<=2048 ]"
//! );
//! # let _ = (route, rule.announcement());
//! # Ok(())
//! # }
//! ```
//!
//! A builder never panics: a mistake (a prefix with host bits, a port of
//! 70000, two prefixes of different families, two conflicting actions) is
//! kept and returned by `build` as a [`FlowError`] or [`RouteError`].

use std::fmt;
use std::net::IpAddr;
use std::ops::RangeInclusive;
use std::str::FromStr;

use ipnet::{IpNet, Ipv6Net};
use ribbit_exabgp::text::{Announcement, NextHopSpec};
use ribbit_wire::attribute::community::InvalidCommunity;
use ribbit_wire::attribute::{
    Admin, AsPath, Community, ExtendedCommunity, ExtendedKind, Ipv6ExtendedCommunity,
    LargeCommunity,
};
use ribbit_wire::nlri::flowspec::{
    parse_bitmask, parse_numeric, BitmaskOp, Component, ComponentType, FlowPrefix, FlowspecError,
    NumericOp,
};
use ribbit_wire::nlri::{FlowspecNlri, PathId, PrefixNlri, RouteDistinguisher};
use ribbit_wire::{Afi, Family, NlriList, Origin, PathAttributes, Safi};

// ------------------------------------------------------------------ routes

/// A unicast route that cannot be announced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// The prefix has bits set beyond its length.
    #[error("prefix {prefix} has host bits set (the network is {network})")]
    HostBits {
        /// The prefix as given.
        prefix: IpNet,
        /// What was probably meant.
        network: IpNet,
    },
    /// An IPv6 next hop for an IPv4 prefix, which needs extended next hop
    /// (RFC 8950).
    #[error("next hop {0} is IPv6, and an IPv4 prefix needs an IPv4 next hop (extended next hop, RFC 8950, is not supported yet)")]
    NextHopFamily(IpAddr),
    /// The unspecified address or a multicast address as next hop.
    #[error("next hop {0} is not a unicast address")]
    NextHopNotUnicast(IpAddr),
    /// AS 0 in the AS path (RFC 7607).
    #[error("the AS path contains AS 0, which is reserved (RFC 7607)")]
    AsZero,
}

/// A unicast route (IPv4 or IPv6, by its prefix) with its attributes,
/// built like a `[[route]]` table of the configuration.
///
/// The defaults are those of `[[route]]`: next hop `self` (our address on
/// each session), ORIGIN IGP, an empty AS_PATH. When sent, our AS is
/// prepended on eBGP and LOCAL_PREF 100 added on iBGP unless given.
///
/// ```
/// use ribbit::route::Route;
/// use ribbit_wire::Origin;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let a = Route::new("2001:db8::/32".parse()?)
///     .next_hop("2001:db8::1".parse()?)
///     .origin(Origin::Egp)
///     .as_path([65001, 65002])
///     .local_pref(200)
///     .large_community("65000:1:2".parse()?)
///     .build()?;
/// assert_eq!(a.attributes.local_pref, Some(200));
///
/// // A mistake is returned by build, never hidden.
/// assert!(Route::new("10.0.0.1/24".parse()?).build().is_err());
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    prefix: IpNet,
    path_id: Option<PathId>,
    next_hop: NextHopSpec,
    attributes: PathAttributes,
}

impl Route {
    /// A route to `prefix`, with next hop `self`, ORIGIN IGP and an empty
    /// AS_PATH.
    ///
    /// ```
    /// # use ribbit::route::Route;
    /// let r = Route::new("10.0.0.0/24".parse().unwrap());
    /// assert_eq!(r.prefix().to_string(), "10.0.0.0/24");
    /// ```
    pub fn new(prefix: IpNet) -> Route {
        Route {
            prefix,
            path_id: None,
            next_hop: NextHopSpec::SelfAddress,
            attributes: PathAttributes {
                origin: Some(Origin::Igp),
                as_path: Some(AsPath::default()),
                ..PathAttributes::default()
            },
        }
    }

    /// The prefix.
    ///
    /// ```
    /// # use ribbit::route::Route;
    /// let r = Route::new("2001:db8::/32".parse().unwrap());
    /// assert!(r.prefix().addr().is_ipv6());
    /// ```
    pub fn prefix(&self) -> IpNet {
        self.prefix
    }

    /// The next hop: an address. An IPv4 address for an IPv6 prefix is sent
    /// as `::ffff:a.b.c.d` unless the session negotiated extended next hop.
    ///
    /// ```
    /// # use ribbit::route::Route;
    /// let a = Route::new("10.0.0.0/24".parse().unwrap())
    ///     .next_hop("192.0.2.1".parse().unwrap())
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(a.next_hop.to_string(), "192.0.2.1");
    /// ```
    pub fn next_hop(mut self, address: IpAddr) -> Route {
        self.next_hop = NextHopSpec::Address(address);
        self
    }

    /// The next hop is our address on each session (the default).
    ///
    /// ```
    /// # use ribbit::route::Route;
    /// let a = Route::new("10.0.0.0/24".parse().unwrap()).next_hop_self().build().unwrap();
    /// assert_eq!(a.next_hop.to_string(), "self");
    /// ```
    pub fn next_hop_self(mut self) -> Route {
        self.next_hop = NextHopSpec::SelfAddress;
        self
    }

    /// The ADD-PATH path identifier (RFC 7911), sent to neighbors that
    /// negotiated ADD-PATH send for the family.
    ///
    /// ```
    /// # use ribbit::route::Route;
    /// # use ribbit_wire::{Nlri, NlriList};
    /// let a = Route::new("10.0.0.0/24".parse().unwrap()).path_id(7).build().unwrap();
    /// let NlriList::Prefixes(p) = &a.nlri else { unreachable!() };
    /// assert_eq!(p[0].path_id, Some(7));
    /// ```
    pub fn path_id(mut self, id: PathId) -> Route {
        self.path_id = Some(id);
        self
    }

    /// ORIGIN (IGP by default).
    ///
    /// ```
    /// # use ribbit::route::Route;
    /// # use ribbit_wire::Origin;
    /// let a = Route::new("10.0.0.0/24".parse().unwrap()).origin(Origin::Incomplete).build().unwrap();
    /// assert_eq!(a.attributes.origin, Some(Origin::Incomplete));
    /// ```
    pub fn origin(mut self, origin: Origin) -> Route {
        self.attributes.origin = Some(origin);
        self
    }

    /// AS_PATH as originated, one AS_SEQUENCE, before our AS is prepended
    /// for eBGP.
    ///
    /// ```
    /// # use ribbit::route::Route;
    /// let a = Route::new("10.0.0.0/24".parse().unwrap()).as_path([65001, 65002]).build().unwrap();
    /// assert_eq!(a.attributes.as_path.unwrap().to_string(), "65001 65002");
    /// ```
    pub fn as_path(self, asns: impl IntoIterator<Item = u32>) -> Route {
        let asns: Vec<u32> = asns.into_iter().collect();
        self.as_path_segments(AsPath::sequence(asns))
    }

    /// AS_PATH with any segments (sets, confederations), as originated.
    ///
    /// ```
    /// # use ribbit::route::Route;
    /// let path = "65001 (65002 65003)".parse().unwrap();
    /// let a = Route::new("10.0.0.0/24".parse().unwrap()).as_path_segments(path).build().unwrap();
    /// assert_eq!(a.attributes.as_path.unwrap().segments.len(), 2);
    /// ```
    pub fn as_path_segments(mut self, path: AsPath) -> Route {
        self.attributes.as_path = Some(path);
        self
    }

    /// MULTI_EXIT_DISC.
    ///
    /// ```
    /// # use ribbit::route::Route;
    /// let a = Route::new("10.0.0.0/24".parse().unwrap()).med(10).build().unwrap();
    /// assert_eq!(a.attributes.med, Some(10));
    /// ```
    pub fn med(mut self, med: u32) -> Route {
        self.attributes.med = Some(med);
        self
    }

    /// LOCAL_PREF, sent to iBGP neighbors only (RFC 4271 §5.1.5).
    ///
    /// ```
    /// # use ribbit::route::Route;
    /// let a = Route::new("10.0.0.0/24".parse().unwrap()).local_pref(300).build().unwrap();
    /// assert_eq!(a.attributes.local_pref, Some(300));
    /// ```
    pub fn local_pref(mut self, local_pref: u32) -> Route {
        self.attributes.local_pref = Some(local_pref);
        self
    }

    /// Add a community (RFC 1997); given twice, it is sent once.
    ///
    /// ```
    /// # use ribbit::route::Route;
    /// # use ribbit_wire::attribute::Community;
    /// let a = Route::new("10.0.0.0/24".parse().unwrap())
    ///     .community("65000:100".parse().unwrap())
    ///     .community(Community::NO_EXPORT)
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(a.attributes.communities.len(), 2);
    /// ```
    pub fn community(mut self, community: Community) -> Route {
        push_unique(&mut self.attributes.communities, community);
        self
    }

    /// Add an extended community (RFC 4360).
    ///
    /// ```
    /// # use ribbit::route::Route;
    /// let a = Route::new("10.0.0.0/24".parse().unwrap())
    ///     .extended_community("target:65000:1".parse().unwrap())
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(a.attributes.extended_communities[0].to_string(), "target:65000:1");
    /// ```
    pub fn extended_community(mut self, community: ExtendedCommunity) -> Route {
        push_unique(&mut self.attributes.extended_communities, community);
        self
    }

    /// Add a large community (RFC 8092).
    ///
    /// ```
    /// # use ribbit::route::Route;
    /// let a = Route::new("10.0.0.0/24".parse().unwrap())
    ///     .large_community("65000:1:2".parse().unwrap())
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(a.attributes.large_communities[0].to_string(), "65000:1:2");
    /// ```
    pub fn large_community(mut self, community: LargeCommunity) -> Route {
        push_unique(&mut self.attributes.large_communities, community);
        self
    }

    /// Check the route and make its announcement: the prefix has no host
    /// bits, the next hop is a unicast address of a family that can carry
    /// the prefix, and the AS path has no AS 0.
    ///
    /// ```
    /// # use ribbit::route::{Route, RouteError};
    /// let e = Route::new("10.0.0.0/24".parse().unwrap())
    ///     .next_hop("2001:db8::1".parse().unwrap())
    ///     .build()
    ///     .unwrap_err();
    /// assert!(matches!(e, RouteError::NextHopFamily(_)));
    /// ```
    pub fn build(self) -> Result<Announcement, RouteError> {
        if self.prefix.trunc() != self.prefix {
            return Err(RouteError::HostBits {
                prefix: self.prefix,
                network: self.prefix.trunc(),
            });
        }
        if let NextHopSpec::Address(a) = self.next_hop {
            if a.is_unspecified() || a.is_multicast() {
                return Err(RouteError::NextHopNotUnicast(a));
            }
            if matches!((self.prefix, a), (IpNet::V4(_), IpAddr::V6(_))) {
                return Err(RouteError::NextHopFamily(a));
            }
        }
        if self
            .attributes
            .as_path
            .as_ref()
            .is_some_and(|p| p.contains(0))
        {
            return Err(RouteError::AsZero);
        }
        let family = match self.prefix {
            IpNet::V4(_) => Family::IPV4_UNICAST,
            IpNet::V6(_) => Family::IPV6_UNICAST,
        };
        Ok(Announcement {
            family,
            nlri: NlriList::Prefixes(vec![PrefixNlri {
                path_id: self.path_id,
                prefix: self.prefix,
            }]),
            next_hop: self.next_hop,
            attributes: self.attributes,
            watchdog: None,
            held: false,
            name: None,
        })
    }
}

/// Same as [`Route::build`].
///
/// ```
/// # use ribbit::route::Route;
/// # use ribbit_exabgp::text::Announcement;
/// let a = Announcement::try_from(Route::new("10.0.0.0/24".parse().unwrap())).unwrap();
/// assert_eq!(a.family.to_string(), "ipv4-unicast");
/// ```
impl TryFrom<Route> for Announcement {
    type Error = RouteError;

    fn try_from(route: Route) -> Result<Announcement, RouteError> {
        route.build()
    }
}

fn push_unique<T: PartialEq>(list: &mut Vec<T>, v: T) {
    // Communities are sets: a repeated one would only waste bytes.
    if !list.contains(&v) {
        list.push(v);
    }
}

// ------------------------------------------------------------- operators

/// One comparison of a numeric Flowspec component (RFC 8955 §4.2.1.1):
/// `=`, `!=`, `<`, `<=`, `>`, `>=` a value. Combine them with
/// [`Op::and`] and [`Op::or`] into [`Ops`].
///
/// ```
/// use ribbit::route::Op;
///
/// assert_eq!(Op::eq(53).to_string(), "=53");
/// assert_eq!(Op::ge(1024).and(Op::le(2048)).to_string(), ">=1024&<=2048");
/// assert_eq!(Op::eq(80).or(Op::eq(443)).to_string(), "=80 =443");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Op(NumericOp);

impl Op {
    fn new(lt: bool, gt: bool, eq: bool, value: u32) -> Op {
        Op(NumericOp {
            and: false,
            lt,
            gt,
            eq,
            value: u64::from(value),
        })
    }

    /// Equal to `value`.
    ///
    /// ```
    /// # use ribbit::route::Op;
    /// assert_eq!(Op::eq(6).to_string(), "=6");
    /// ```
    pub fn eq(value: u32) -> Op {
        Op::new(false, false, true, value)
    }

    /// Not equal to `value`.
    ///
    /// ```
    /// # use ribbit::route::Op;
    /// assert_eq!(Op::ne(22).to_string(), "!=22");
    /// ```
    pub fn ne(value: u32) -> Op {
        Op::new(true, true, false, value)
    }

    /// Less than `value`.
    ///
    /// ```
    /// # use ribbit::route::Op;
    /// assert_eq!(Op::lt(1024).to_string(), "<1024");
    /// ```
    pub fn lt(value: u32) -> Op {
        Op::new(true, false, false, value)
    }

    /// Less than or equal to `value`.
    ///
    /// ```
    /// # use ribbit::route::Op;
    /// assert_eq!(Op::le(1500).to_string(), "<=1500");
    /// ```
    pub fn le(value: u32) -> Op {
        Op::new(true, false, true, value)
    }

    /// Greater than `value`.
    ///
    /// ```
    /// # use ribbit::route::Op;
    /// assert_eq!(Op::gt(1024).to_string(), ">1024");
    /// ```
    pub fn gt(value: u32) -> Op {
        Op::new(false, true, false, value)
    }

    /// Greater than or equal to `value`.
    ///
    /// ```
    /// # use ribbit::route::Op;
    /// assert_eq!(Op::ge(1024).to_string(), ">=1024");
    /// ```
    pub fn ge(value: u32) -> Op {
        Op::new(false, true, true, value)
    }

    /// Both this and `other` must hold.
    ///
    /// ```
    /// # use ribbit::route::Op;
    /// assert_eq!(Op::gt(10).and(Op::ne(20)).to_string(), ">10&!=20");
    /// ```
    pub fn and(self, other: Op) -> Ops {
        Ops::from(self).and(other)
    }

    /// This or `other` must hold.
    ///
    /// ```
    /// # use ribbit::route::{Op, Ops};
    /// assert_eq!(Op::eq(1).or(Ops::range(5..=9)).to_string(), "=1 >=5&<=9");
    /// ```
    pub fn or(self, other: impl Into<Ops>) -> Ops {
        Ops::from(self).or(other)
    }
}

/// ExaBGP's spelling of one comparison.
impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&Ops::from(*self).to_string())
    }
}

/// The comparisons of a numeric Flowspec component: groups joined by OR,
/// each group's comparisons joined by AND (RFC 8955 §4.2.1.1: AND binds
/// tighter). Built from [`Op`]s, or with [`Ops::range`] and
/// [`Ops::any_of`].
///
/// ```
/// use ribbit::route::{Op, Ops};
///
/// let ports = Ops::any_of([80, 443]).or(Ops::range(8000..=8080));
/// assert_eq!(ports.to_string(), "=80 =443 >=8000&<=8080");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ops {
    ops: Vec<NumericOp>,
    /// A range whose start is past its end: it would match nothing.
    empty_range: Option<(u32, u32)>,
}

impl Ops {
    /// From `start` to `end`, both included: `>=start&<=end`, or `=start`
    /// when they are equal. A range whose start is after its end matches
    /// nothing and makes the rule's `build` fail.
    ///
    /// ```
    /// # use ribbit::route::Ops;
    /// assert_eq!(Ops::range(1024..=2048).to_string(), ">=1024&<=2048");
    /// assert_eq!(Ops::range(53..=53).to_string(), "=53");
    /// ```
    pub fn range(range: RangeInclusive<u32>) -> Ops {
        let (start, end) = range.into_inner();
        if start == end {
            return Op::eq(start).into();
        }
        let mut ops = Op::ge(start).and(Op::le(end));
        if start > end {
            ops.empty_range = Some((start, end));
        }
        ops
    }

    /// Equal to any of `values`: `=a =b ...`. No value at all matches
    /// nothing, and makes the rule's `build` fail.
    ///
    /// ```
    /// # use ribbit::route::Ops;
    /// assert_eq!(Ops::any_of([6, 17]).to_string(), "=6 =17");
    /// ```
    pub fn any_of(values: impl IntoIterator<Item = u32>) -> Ops {
        Ops {
            ops: values.into_iter().map(|v| Op::eq(v).0).collect(),
            empty_range: None,
        }
    }

    /// These comparisons, or `other`.
    ///
    /// ```
    /// # use ribbit::route::{Op, Ops};
    /// assert_eq!(Ops::range(1..=2).or(Op::eq(9)).to_string(), ">=1&<=2 =9");
    /// ```
    pub fn or(mut self, other: impl Into<Ops>) -> Ops {
        let other = other.into();
        let mut more = other.ops.into_iter();
        if let Some(mut first) = more.next() {
            // The first pair of the other list starts a new OR-group.
            first.and = false;
            self.ops.push(first);
        }
        self.ops.extend(more);
        self.empty_range = self.empty_range.or(other.empty_range);
        self
    }

    /// AND `op` to the last group: `Ops::range(1..=9).and(Op::ne(5))` is
    /// `>=1&<=9&!=5`.
    ///
    /// ```
    /// # use ribbit::route::{Op, Ops};
    /// assert_eq!(Ops::range(1..=9).and(Op::ne(5)).to_string(), ">=1&<=9&!=5");
    /// ```
    pub fn and(mut self, op: Op) -> Ops {
        let mut op = op.0;
        op.and = !self.ops.is_empty();
        self.ops.push(op);
        self
    }
}

impl From<Op> for Ops {
    fn from(op: Op) -> Ops {
        Ops {
            ops: vec![op.0],
            empty_range: None,
        }
    }
}

/// ExaBGP's spelling: the OR-groups separated by spaces.
impl fmt::Display for Ops {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Packet length has no names for its values, so the numbers show.
        let c = Component::Numeric {
            kind: ComponentType::PacketLength,
            ops: self.ops.clone(),
        };
        f.write_str(&c.exabgp_values().join(" "))
    }
}

/// One test of a bitmask Flowspec component, TCP flags or fragment
/// (RFC 8955 §4.2.1.2): whether any or all of the bits of a mask are set,
/// or not. Combine them with [`Mask::and`] and [`Mask::or`] into [`Masks`].
///
/// ```
/// use ribbit::route::{tcp_flags, Mask};
///
/// assert_eq!(Mask::any(tcp_flags::SYN).to_string(), "0x2");
/// let syn_only = Mask::all(tcp_flags::SYN).and(Mask::not_any(tcp_flags::ACK));
/// assert_eq!(syn_only.to_string(), "=0x2&!0x10");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Mask(BitmaskOp);

impl Mask {
    fn new(not: bool, matches: bool, bits: u32) -> Mask {
        Mask(BitmaskOp {
            and: false,
            not,
            matches,
            value: u64::from(bits),
        })
    }

    /// At least one of `bits` is set.
    ///
    /// ```
    /// # use ribbit::route::{fragment, Mask};
    /// assert_eq!(Mask::any(fragment::IS_FRAGMENT).to_string(), "0x2");
    /// ```
    pub fn any(bits: u32) -> Mask {
        Mask::new(false, false, bits)
    }

    /// All of `bits` are set (the match bit of RFC 8955 §4.2.1.2).
    ///
    /// ```
    /// # use ribbit::route::{tcp_flags, Mask};
    /// assert_eq!(Mask::all(tcp_flags::SYN | tcp_flags::ACK).to_string(), "=0x12");
    /// ```
    pub fn all(bits: u32) -> Mask {
        Mask::new(false, true, bits)
    }

    /// None of `bits` is set.
    ///
    /// ```
    /// # use ribbit::route::{tcp_flags, Mask};
    /// assert_eq!(Mask::not_any(tcp_flags::RST).to_string(), "!0x4");
    /// ```
    pub fn not_any(bits: u32) -> Mask {
        Mask::new(true, false, bits)
    }

    /// Not all of `bits` are set.
    ///
    /// ```
    /// # use ribbit::route::{tcp_flags, Mask};
    /// assert_eq!(Mask::not_all(tcp_flags::FIN | tcp_flags::PUSH).to_string(), "!=0x9");
    /// ```
    pub fn not_all(bits: u32) -> Mask {
        Mask::new(true, true, bits)
    }

    /// Both this and `other` must hold.
    ///
    /// ```
    /// # use ribbit::route::{tcp_flags, Mask};
    /// let m = Mask::any(tcp_flags::SYN).and(Mask::not_any(tcp_flags::ACK));
    /// assert_eq!(m.to_string(), "0x2&!0x10");
    /// ```
    pub fn and(self, other: Mask) -> Masks {
        Masks::from(self).and(other)
    }

    /// This or `other` must hold.
    ///
    /// ```
    /// # use ribbit::route::{tcp_flags, Mask};
    /// let m = Mask::any(tcp_flags::SYN).or(Mask::any(tcp_flags::RST));
    /// assert_eq!(m.to_string(), "0x2 0x4");
    /// ```
    pub fn or(self, other: impl Into<Masks>) -> Masks {
        Masks::from(self).or(other)
    }
}

/// Written with numbers (the names depend on the component).
impl fmt::Display for Mask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&Masks::from(*self).to_string())
    }
}

/// The tests of a bitmask Flowspec component: groups joined by OR, each
/// group's tests joined by AND.
///
/// ```
/// use ribbit::route::{fragment, Mask, Masks};
///
/// let m: Masks = Mask::any(fragment::FIRST_FRAGMENT).or(Mask::any(fragment::LAST_FRAGMENT));
/// assert_eq!(m.to_string(), "0x4 0x8");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Masks(Vec<BitmaskOp>);

impl Masks {
    /// These tests, or `other`.
    ///
    /// ```
    /// # use ribbit::route::{Mask, Masks};
    /// let m = Masks::from(Mask::any(1)).or(Mask::all(6));
    /// assert_eq!(m.to_string(), "0x1 =0x6");
    /// ```
    pub fn or(mut self, other: impl Into<Masks>) -> Masks {
        let mut more = other.into().0.into_iter();
        if let Some(mut first) = more.next() {
            first.and = false;
            self.0.push(first);
        }
        self.0.extend(more);
        self
    }

    /// AND `mask` to the last group.
    ///
    /// ```
    /// # use ribbit::route::{Mask, Masks};
    /// let m = Masks::from(Mask::any(1)).and(Mask::not_any(2));
    /// assert_eq!(m.to_string(), "0x1&!0x2");
    /// ```
    pub fn and(mut self, mask: Mask) -> Masks {
        let mut op = mask.0;
        op.and = !self.0.is_empty();
        self.0.push(op);
        self
    }
}

impl From<Mask> for Masks {
    fn from(mask: Mask) -> Masks {
        Masks(vec![mask.0])
    }
}

/// The OR-groups separated by spaces, bits as hexadecimal numbers.
impl fmt::Display for Masks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let groups: Vec<String> = self
            .0
            .iter()
            .fold(Vec::new(), |mut groups: Vec<String>, op| {
                let symbol = match (op.not, op.matches) {
                    (false, false) => "",
                    (true, false) => "!",
                    (false, true) => "=",
                    (true, true) => "!=",
                };
                let term = format!("{symbol}{:#x}", op.value);
                match groups.last_mut() {
                    Some(g) if op.and => {
                        g.push('&');
                        g.push_str(&term);
                    }
                    _ => groups.push(term),
                }
                groups
            });
        f.write_str(&groups.join(" "))
    }
}

/// TCP flag bits for [`Mask`] (RFC 9293 §3.1; ECE and CWR from RFC 3168).
///
/// ```
/// use ribbit::route::{tcp_flags, Flow, Mask};
///
/// let rule = Flow::matching()
///     .destination("10.0.0.0/24".parse().unwrap())
///     .tcp_flags(Mask::all(tcp_flags::SYN).and(Mask::not_any(tcp_flags::ACK)))
///     .build()
///     .unwrap();
/// assert_eq!(rule.text(), "flow destination-ipv4 10.0.0.0/24 tcp-flags [ =syn&!ack ]");
/// ```
pub mod tcp_flags {
    /// FIN.
    pub const FIN: u32 = 0x01;
    /// SYN.
    pub const SYN: u32 = 0x02;
    /// RST.
    pub const RST: u32 = 0x04;
    /// PSH.
    pub const PUSH: u32 = 0x08;
    /// ACK.
    pub const ACK: u32 = 0x10;
    /// URG.
    pub const URG: u32 = 0x20;
    /// ECE (RFC 3168).
    pub const ECE: u32 = 0x40;
    /// CWR (RFC 3168).
    pub const CWR: u32 = 0x80;
}

/// Fragment bits for [`Mask`] (RFC 8955 §4.2.2.12).
///
/// ```
/// use ribbit::route::{fragment, Flow, Mask};
///
/// let rule = Flow::matching()
///     .destination("10.0.0.0/24".parse().unwrap())
///     .fragment(Mask::any(fragment::IS_FRAGMENT))
///     .build()
///     .unwrap();
/// assert_eq!(rule.text(), "flow destination-ipv4 10.0.0.0/24 fragment is-fragment");
/// ```
pub mod fragment {
    /// Don't Fragment (DF).
    pub const DONT_FRAGMENT: u32 = 0x01;
    /// Is a Fragment (IsF).
    pub const IS_FRAGMENT: u32 = 0x02;
    /// First Fragment (FF).
    pub const FIRST_FRAGMENT: u32 = 0x04;
    /// Last Fragment (LF).
    pub const LAST_FRAGMENT: u32 = 0x08;
}

/// IP protocol numbers (IANA "Assigned Internet Protocol Numbers") for
/// the protocol / next-header component.
///
/// ```
/// use ribbit::route::{protocol, Flow, Op};
///
/// let rule = Flow::matching()
///     .destination("2001:db8::/32".parse().unwrap())
///     .next_header(Op::eq(protocol::ICMPV6))
///     .build()
///     .unwrap();
/// assert_eq!(rule.text(), "flow destination-ipv6 2001:db8::/32/0 next-header =58");
/// ```
pub mod protocol {
    /// ICMP.
    pub const ICMP: u32 = 1;
    /// TCP.
    pub const TCP: u32 = 6;
    /// UDP.
    pub const UDP: u32 = 17;
    /// GRE.
    pub const GRE: u32 = 47;
    /// ESP.
    pub const ESP: u32 = 50;
    /// ICMPv6.
    pub const ICMPV6: u32 = 58;
    /// SCTP.
    pub const SCTP: u32 = 132;
}

// ----------------------------------------------------------------- actions

/// A Flowspec rule that cannot be announced.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FlowError {
    /// A rule matches on at least one component (RFC 8955 §4.2).
    #[error("a flow rule needs at least one match component")]
    NoComponents,
    /// A name that is not one of ExaBGP's component names.
    #[error("unknown match component {0:?} (expected destination, source, protocol, next-header, port, destination-port, source-port, icmp-type, icmp-code, tcp-flags, packet-length, dscp, traffic-class, fragment or flow-label)")]
    UnknownComponent(String),
    /// Text of a component that does not parse, or a value out of range.
    #[error("{name} {text:?}: {source}")]
    Component {
        /// The component's name.
        name: &'static str,
        /// The text given.
        text: String,
        /// Why.
        source: FlowspecError,
    },
    /// A value too large for the packet field the component matches.
    #[error("{name} value {value} is out of range (0 to {max})")]
    OutOfRange {
        /// The component's name.
        name: &'static str,
        /// The value given.
        value: u64,
        /// The largest the field holds.
        max: u64,
    },
    /// `Ops::range` with its start after its end.
    #[error("{name} range {start} to {end} is empty (the start is after the end)")]
    EmptyRange {
        /// The component's name.
        name: &'static str,
        /// Start.
        start: u32,
        /// End.
        end: u32,
    },
    /// A component with no comparison at all (`Ops::any_of([])`).
    #[error("{0} has no value to compare with")]
    NoValues(&'static str),
    /// A prefix with bits set beyond its length.
    #[error("{name} {prefix} has host bits set (the network is {network})")]
    HostBits {
        /// `destination` or `source`.
        name: &'static str,
        /// As given.
        prefix: String,
        /// What was probably meant.
        network: String,
    },
    /// A destination or source given twice.
    #[error("{0} is given twice: a rule matches one prefix of each kind")]
    PrefixTwice(&'static str),
    /// Prefixes of both families, or a prefix of the other family than
    /// the one asked for.
    #[error("{what} is IPv{found} and the rule is IPv{rule}: a rule is of one family")]
    MixedFamilies {
        /// What says the other family (`source 2001:db8::/32`).
        what: String,
        /// Its IP version (4 or 6).
        found: u8,
        /// The rule's IP version.
        rule: u8,
    },
    /// A component that does not exist in the rule's family (flow label
    /// in IPv4, RFC 8956 §3.7).
    #[error("{name} does not exist in IPv{version} Flowspec")]
    NotInFamily {
        /// The component's name.
        name: &'static str,
        /// The rule's IP version.
        version: u8,
    },
    /// A family that is not one of Flowspec's.
    #[error("{0} is not a Flowspec family (ipv4-flowspec, ipv6-flowspec, ipv4-flowspec-vpn, ipv6-flowspec-vpn)")]
    NotFlowspec(Family),
    /// A rule the codec refuses (too long, ...).
    #[error(transparent)]
    Invalid(#[from] FlowspecError),
    /// A traffic rate that is negative or not a number.
    #[error("rate {0} is not a rate (0 or more per second)")]
    Rate(f32),
    /// A DSCP above 63 in `mark` (DSCP is 6 bits, RFC 2474).
    #[error("mark {0} is out of range (a DSCP is 0 to 63)")]
    Dscp(u8),
    /// Two actions that cannot go together (two traffic rates, two
    /// markings, two next-hop redirects, ...), RFC 8955 §7.
    #[error("{first} and {second} cannot both be given: {why}")]
    ConflictingActions {
        /// The first action.
        first: String,
        /// The second action.
        second: String,
        /// Why not.
        why: &'static str,
    },
    /// An IPv6 next hop for an IPv4 rule.
    #[error("next hop {0} is IPv6, and an IPv4 rule needs an IPv4 next hop (extended next hop, RFC 8950, is not supported yet)")]
    NextHopFamily(IpAddr),
    /// The unspecified address or a multicast address as next hop.
    #[error("next hop {0} is not a unicast address")]
    NextHopNotUnicast(IpAddr),
    /// A route distinguisher with a family that has none, or none with
    /// one that needs it.
    #[error("{0}")]
    RouteDistinguisher(&'static str),
}

/// The route target of a Flowspec redirect (RFC 8955 §7, rt-redirect;
/// RFC 7674): `65000:1` (2-octet AS and 4-octet number), `4200000000:1`
/// (4-octet AS, RFC 5668) or `192.0.2.1:1` (IPv4 address).
///
/// ```
/// use ribbit::route::RouteTarget;
///
/// let rt: RouteTarget = "65000:100".parse().unwrap();
/// assert_eq!(rt.to_string(), "65000:100");
/// assert!("65000".parse::<RouteTarget>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RouteTarget(pub Admin);

impl FromStr for RouteTarget {
    type Err = InvalidCommunity;

    fn from_str(s: &str) -> Result<RouteTarget, InvalidCommunity> {
        let bad = || InvalidCommunity {
            kind: "route target",
            text: s.to_string(),
        };
        // The extended community parser knows the three administrator
        // forms; a redirect community carries exactly this route target.
        let t = s.trim();
        if t.matches(':').count() != 1 {
            return Err(bad());
        }
        match format!("redirect:{t}").parse::<ExtendedCommunity>() {
            Ok(c) => match c.kind() {
                ExtendedKind::Redirect(admin) => Ok(RouteTarget(admin)),
                _ => Err(bad()),
            },
            Err(_) => Err(bad()),
        }
    }
}

impl fmt::Display for RouteTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A Flowspec action (RFC 8955 §7 and the extended communities ExaBGP and
/// GoBGP use for redirects to an address). Each is carried as an extended
/// community; redirects to the next hop also set the UPDATE's next hop.
///
/// ```
/// use ribbit::route::{Flow, FlowAction};
///
/// let rule = Flow::matching()
///     .destination("10.0.0.0/24".parse().unwrap())
///     .then()
///     .discard()
///     .sample()
///     .build()
///     .unwrap();
/// assert_eq!(
///     rule.actions(),
///     vec![FlowAction::Discard, FlowAction::TrafficAction { sample: true, terminal: false }]
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FlowAction {
    /// Drop the traffic: traffic-rate-bytes of 0 (RFC 8955 §7, sub-type 0x06).
    Discard,
    /// Limit to this many bytes per second (traffic-rate-bytes).
    RateLimit(f32),
    /// Limit to this many packets per second (traffic-rate-packets, RFC
    /// 8955 §7, sub-type 0x0c).
    RateLimitPackets(f32),
    /// Sample (log) the traffic and/or stop evaluating the rules that
    /// follow (traffic-action, RFC 8955 §7, sub-type 0x07).
    TrafficAction {
        /// Sample.
        sample: bool,
        /// Terminal: the rules after this one are not applied.
        terminal: bool,
    },
    /// Redirect to the VRF that imports this route target (rt-redirect,
    /// RFC 8955 §7, RFC 7674).
    Redirect(RouteTarget),
    /// Redirect to this address, carried as the UPDATE's next hop with the
    /// community 0x0800 that ExaBGP calls `redirect-to-nexthop` and GoBGP
    /// `redirect-to-ip-nexthop` (draft-simpson-idr-flowspec-redirect).
    RedirectToNextHop(IpAddr),
    /// Copy to this address: the same community with its copy bit.
    CopyToNextHop(IpAddr),
    /// Redirect to this address, carried in the community itself
    /// (draft-ietf-idr-flowspec-redirect-ip; ExaBGP's
    /// `redirect-to-nexthop-ietf`).
    RedirectToIp(IpAddr),
    /// Rewrite the DSCP (traffic-marking, RFC 8955 §7, sub-type 0x09).
    Mark(u8),
}

// Rates are never NaN (`build` refuses them), so equality is reflexive.
impl Eq for FlowAction {}

impl FlowAction {
    /// The action an extended community stands for, if any; `next_hop` is
    /// the UPDATE's next hop, where redirect-to-nexthop sends the traffic.
    ///
    /// ```
    /// use ribbit::route::FlowAction;
    /// use ribbit_wire::attribute::ExtendedCommunity;
    ///
    /// let c: ExtendedCommunity = "rate-limit:9600".parse().unwrap();
    /// assert_eq!(FlowAction::from_extended(c, None), Some(FlowAction::RateLimit(9600.0)));
    /// let c: ExtendedCommunity = "target:65000:1".parse().unwrap();
    /// assert_eq!(FlowAction::from_extended(c, None), None);
    /// ```
    pub fn from_extended(c: ExtendedCommunity, next_hop: Option<IpAddr>) -> Option<FlowAction> {
        Some(match c.kind() {
            ExtendedKind::TrafficRateBytes { rate: 0.0, .. } => FlowAction::Discard,
            ExtendedKind::TrafficRateBytes { rate, .. } => FlowAction::RateLimit(rate),
            ExtendedKind::TrafficRatePackets { rate, .. } => FlowAction::RateLimitPackets(rate),
            ExtendedKind::TrafficAction { sample, terminal } => {
                FlowAction::TrafficAction { sample, terminal }
            }
            ExtendedKind::Redirect(admin) => FlowAction::Redirect(RouteTarget(admin)),
            ExtendedKind::TrafficMarking(dscp) => FlowAction::Mark(dscp),
            ExtendedKind::RedirectToNextHop { copy } => {
                let to = next_hop?;
                if copy {
                    FlowAction::CopyToNextHop(to)
                } else {
                    FlowAction::RedirectToNextHop(to)
                }
            }
            ExtendedKind::RedirectToIpv4 { addr, .. } => FlowAction::RedirectToIp(addr.into()),
            _ => return None,
        })
    }

    /// The name of the action, as `[[flow]]` writes it.
    ///
    /// ```
    /// # use ribbit::route::FlowAction;
    /// assert_eq!(FlowAction::Mark(10).name(), "mark");
    /// ```
    pub fn name(&self) -> &'static str {
        match self {
            FlowAction::Discard => "discard",
            FlowAction::RateLimit(_) => "rate-limit",
            FlowAction::RateLimitPackets(_) => "rate-limit-packets",
            FlowAction::TrafficAction { .. } => "action",
            FlowAction::Redirect(_) => "redirect",
            FlowAction::RedirectToNextHop(_) => "redirect-to-nexthop",
            FlowAction::CopyToNextHop(_) => "copy-to-nexthop",
            FlowAction::RedirectToIp(_) => "redirect-to-nexthop-ietf",
            FlowAction::Mark(_) => "mark",
        }
    }

    /// Check the values: rates finite and not negative, DSCP 0 to 63, next
    /// hops unicast.
    fn check(&self) -> Result<(), FlowError> {
        match *self {
            FlowAction::RateLimit(r) | FlowAction::RateLimitPackets(r)
                if !(r.is_finite() && r >= 0.0) =>
            {
                Err(FlowError::Rate(r))
            }
            // RFC 8955 §7 traffic-marking: the 6 low bits are the DSCP.
            FlowAction::Mark(d) if d > 63 => Err(FlowError::Dscp(d)),
            FlowAction::RedirectToNextHop(a)
            | FlowAction::CopyToNextHop(a)
            | FlowAction::RedirectToIp(a)
                if a.is_unspecified() || a.is_multicast() =>
            {
                Err(FlowError::NextHopNotUnicast(a))
            }
            _ => Ok(()),
        }
    }

    /// Which actions exclude each other: one traffic rate (discard is a
    /// rate of 0), one marking, one traffic-action, one route-target
    /// redirect, one redirect to an address in a community, and one use of
    /// the next hop (redirect or copy) per rule.
    pub(crate) fn slot(&self) -> (u8, &'static str) {
        match self {
            FlowAction::Discard | FlowAction::RateLimit(_) | FlowAction::RateLimitPackets(_) => {
                (0, "a rule has one traffic rate (discard is a rate of 0)")
            }
            FlowAction::TrafficAction { .. } => (1, "a rule has one traffic-action"),
            FlowAction::Redirect(_) => (2, "a rule redirects to one route target"),
            FlowAction::RedirectToNextHop(_) | FlowAction::CopyToNextHop(_) => {
                (3, "both use the rule's one next hop")
            }
            FlowAction::RedirectToIp(_) => (4, "a rule redirects to one address"),
            FlowAction::Mark(_) => (5, "a rule marks with one DSCP"),
        }
    }

    /// The extended community that carries the action (IPv6 redirects to
    /// an address are in the IPv6 address specific list instead).
    fn extended(&self) -> Option<ExtendedCommunity> {
        Some(match *self {
            // ExaBGP, Juniper and Arbor write discard with AS 0.
            FlowAction::Discard => ExtendedCommunity::traffic_rate_bytes(0, 0.0),
            FlowAction::RateLimit(r) => ExtendedCommunity::traffic_rate_bytes(0, r),
            FlowAction::RateLimitPackets(r) => ExtendedCommunity::traffic_rate_packets(0, r),
            FlowAction::TrafficAction { sample, terminal } => {
                ExtendedCommunity::traffic_action(sample, terminal)
            }
            FlowAction::Redirect(rt) => ExtendedCommunity::redirect(rt.0),
            FlowAction::RedirectToNextHop(_) => ExtendedCommunity::redirect_to_next_hop(false),
            FlowAction::CopyToNextHop(_) => ExtendedCommunity::redirect_to_next_hop(true),
            FlowAction::RedirectToIp(IpAddr::V4(a)) => {
                ExtendedCommunity::redirect_to_ipv4(a, false)
            }
            FlowAction::RedirectToIp(IpAddr::V6(_)) => return None,
            FlowAction::Mark(d) => ExtendedCommunity::traffic_marking(d),
        })
    }

    fn next_hop(&self) -> Option<IpAddr> {
        match *self {
            FlowAction::RedirectToNextHop(a) | FlowAction::CopyToNextHop(a) => Some(a),
            _ => None,
        }
    }
}

/// ExaBGP's words: `discard`, `rate-limit 9600`, `redirect 65000:1`,
/// `redirect-to-nexthop 192.0.2.1`, `mark 10`, `action sample`, ...
impl fmt::Display for FlowAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlowAction::Discard => f.write_str("discard"),
            FlowAction::RateLimit(r) => write!(f, "rate-limit {r}"),
            FlowAction::RateLimitPackets(r) => write!(f, "rate-limit {r} packets"),
            FlowAction::TrafficAction { sample, terminal } => {
                f.write_str(match (sample, terminal) {
                    (true, true) => "action sample-terminal",
                    (true, false) => "action sample",
                    (false, true) => "action terminal",
                    (false, false) => "action none",
                })
            }
            FlowAction::Redirect(rt) => write!(f, "redirect {rt}"),
            FlowAction::RedirectToNextHop(a) => write!(f, "redirect-to-nexthop {a}"),
            FlowAction::CopyToNextHop(a) => write!(f, "copy-to-nexthop {a}"),
            FlowAction::RedirectToIp(a) => write!(f, "redirect-to-nexthop-ietf {a}"),
            FlowAction::Mark(d) => write!(f, "mark {d}"),
        }
    }
}

// ------------------------------------------------------------------- rules

/// A checked Flowspec rule with its actions: what `[[flow]]`, the builders
/// and `Speaker::announce_flow` deal in. Made by [`Flow::build`] (or
/// [`FlowMatch::build`] for a rule without actions) or [`FlowRule::new`].
///
/// ```
/// use ribbit::route::{Flow, FlowRule};
///
/// let rule: FlowRule = Flow::matching()
///     .destination("10.0.0.0/24".parse().unwrap())
///     .then()
///     .discard()
///     .build()
///     .unwrap();
/// assert_eq!(rule.family().to_string(), "ipv4-flowspec");
/// let a = rule.announcement();
/// assert_eq!(a.attributes.extended_communities[0].to_string(), "rate-limit:0");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowRule {
    family: Family,
    nlri: FlowspecNlri,
    actions: Vec<FlowAction>,
    attributes: PathAttributes,
}

impl FlowRule {
    /// Check a rule made of parts: `family` is a Flowspec family (with
    /// `nlri.rd` exactly when it is a VPN one); the NLRI is valid for it
    /// (RFC 8955 §4.2: components in type order, once each); the actions
    /// do not exclude each other (see [`FlowAction`]); `attributes` are the
    /// other attributes to send (communities, ...), without a next hop.
    ///
    /// ```
    /// use ribbit::route::{FlowAction, FlowRule};
    /// use ribbit_wire::nlri::flowspec::{Component, ComponentType};
    /// use ribbit_wire::nlri::FlowspecNlri;
    /// use ribbit_wire::{Afi, Family, PathAttributes};
    ///
    /// let nlri = FlowspecNlri {
    ///     path_id: None,
    ///     rd: None,
    ///     components: vec![Component::parse_exabgp(ComponentType::Port, Afi::IPV4, &["=53"]).unwrap()],
    /// };
    /// let rule = FlowRule::new(
    ///     Family::IPV4_FLOWSPEC,
    ///     nlri,
    ///     vec![FlowAction::Discard],
    ///     PathAttributes::default(),
    /// )
    /// .unwrap();
    /// assert_eq!(rule.text(), "flow port =53");
    /// ```
    pub fn new(
        family: Family,
        mut nlri: FlowspecNlri,
        actions: Vec<FlowAction>,
        attributes: PathAttributes,
    ) -> Result<FlowRule, FlowError> {
        let vpn = match family.safi {
            Safi::FLOWSPEC => false,
            Safi::FLOWSPEC_VPN => true,
            _ => return Err(FlowError::NotFlowspec(family)),
        };
        match (vpn, nlri.rd.is_some()) {
            (true, false) => {
                return Err(FlowError::RouteDistinguisher(
                    "a Flowspec VPN rule needs a route distinguisher (RFC 8955 §8)",
                ))
            }
            (false, true) => {
                return Err(FlowError::RouteDistinguisher(
                    "a route distinguisher is for Flowspec VPN rules only (RFC 8955 §8)",
                ))
            }
            _ => {}
        }
        nlri.sort_components();
        nlri.validate(family.afi)?;
        for a in &actions {
            a.check()?;
        }
        check_conflicts(&actions)?;
        let v4 = family.afi == Afi::IPV4;
        if let Some(a) = actions.iter().find_map(FlowAction::next_hop) {
            if v4 && a.is_ipv6() {
                return Err(FlowError::NextHopFamily(a));
            }
        }
        Ok(FlowRule {
            family,
            nlri,
            actions,
            attributes,
        })
    }

    /// The family: IPv4 or IPv6 Flowspec, or their VPN variants.
    ///
    /// ```
    /// # use ribbit::route::Flow;
    /// let r = Flow::matching().destination("2001:db8::/32".parse().unwrap()).build().unwrap();
    /// assert_eq!(r.family().to_string(), "ipv6-flowspec");
    /// ```
    pub fn family(&self) -> Family {
        self.family
    }

    /// The NLRI: the match components in type order.
    ///
    /// ```
    /// # use ribbit::route::{Flow, Op};
    /// let r = Flow::matching().port(Op::eq(80)).destination("10.0.0.0/8".parse().unwrap()).build().unwrap();
    /// assert_eq!(r.nlri().components.len(), 2);
    /// ```
    pub fn nlri(&self) -> &FlowspecNlri {
        &self.nlri
    }

    /// The actions, in the order given.
    ///
    /// ```
    /// # use ribbit::route::{Flow, FlowAction};
    /// let r = Flow::matching().port(Op::eq(80)).then().mark(10).build().unwrap();
    /// # use ribbit::route::Op;
    /// assert_eq!(r.actions(), vec![FlowAction::Mark(10)]);
    /// ```
    pub fn actions(&self) -> Vec<FlowAction> {
        self.actions.clone()
    }

    /// The next hop the rule is sent with: the address of a redirect or
    /// copy to the next hop; none otherwise.
    ///
    /// ```
    /// # use ribbit::route::{Flow, Op};
    /// let r = Flow::matching().port(Op::eq(80)).then()
    ///     .redirect_to_nexthop("198.18.0.1".parse().unwrap()).build().unwrap();
    /// assert_eq!(r.next_hop(), Some("198.18.0.1".parse().unwrap()));
    /// ```
    pub fn next_hop(&self) -> Option<IpAddr> {
        self.actions.iter().find_map(FlowAction::next_hop)
    }

    /// The rule in ExaBGP's text (`flow destination-ipv4 10.0.0.0/24
    /// protocol =udp`), as Ribbit shows received rules.
    ///
    /// ```
    /// # use ribbit::route::{Flow, Op};
    /// let r = Flow::matching().destination("10.0.0.0/24".parse().unwrap()).protocol(Op::eq(6)).build().unwrap();
    /// assert_eq!(r.text(), "flow destination-ipv4 10.0.0.0/24 protocol =tcp");
    /// ```
    pub fn text(&self) -> String {
        self.nlri.exabgp_string(self.family.afi)
    }

    /// The attributes sent: those given, and the extended communities of
    /// the actions (sample and terminal in one traffic-action community).
    ///
    /// ```
    /// # use ribbit::route::{Flow, Op};
    /// let r = Flow::matching().port(Op::eq(80)).then().sample().terminal().build().unwrap();
    /// let ext = &r.attributes().extended_communities;
    /// assert_eq!(ext.len(), 1);
    /// assert_eq!(ext[0].to_string(), "action sample-terminal");
    /// ```
    pub fn attributes(&self) -> PathAttributes {
        let mut a = self.attributes.clone();
        for action in &self.actions {
            if let Some(c) = action.extended() {
                push_unique(&mut a.extended_communities, c);
            }
            if let FlowAction::RedirectToIp(IpAddr::V6(addr)) = action {
                // draft-ietf-idr-flowspec-redirect-ip: the IPv6 form is an
                // IPv6 address specific community of sub-type 0x0c, as
                // ExaBGP writes it.
                push_unique(
                    &mut a.ipv6_extended_communities,
                    Ipv6ExtendedCommunity::new(0x00, 0x0c, *addr, 0),
                );
            }
        }
        a
    }

    /// The announcement the neighbor tasks send.
    ///
    /// ```
    /// # use ribbit::route::{Flow, Op};
    /// let a = Flow::matching().port(Op::eq(80)).then().discard().build().unwrap().announcement();
    /// assert_eq!(a.family.to_string(), "ipv4-flowspec");
    /// ```
    pub fn announcement(&self) -> Announcement {
        Announcement {
            family: self.family,
            nlri: NlriList::Flowspec(vec![self.nlri.clone()]),
            next_hop: self
                .next_hop()
                .map_or(NextHopSpec::Absent, NextHopSpec::Address),
            attributes: self.attributes(),
            watchdog: None,
            held: false,
            name: None,
        }
    }
}

impl From<FlowRule> for Announcement {
    fn from(rule: FlowRule) -> Announcement {
        rule.announcement()
    }
}

/// `flow ... then ...` in ExaBGP's words.
impl fmt::Display for FlowRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())?;
        if !self.actions.is_empty() {
            f.write_str(" then")?;
            for a in &self.actions {
                write!(f, " {a}")?;
            }
        }
        Ok(())
    }
}

fn check_conflicts(actions: &[FlowAction]) -> Result<(), FlowError> {
    for (i, a) in actions.iter().enumerate() {
        let (slot, why) = a.slot();
        if let Some(b) = actions.iter().take(i).find(|b| b.slot().0 == slot) {
            return Err(FlowError::ConflictingActions {
                first: b.to_string(),
                second: a.to_string(),
                why,
            });
        }
    }
    Ok(())
}

/// What can be announced as a Flowspec rule: a [`FlowRule`], or a builder
/// ([`Flow`], [`FlowMatch`]) that is checked on the way. This is what
/// `Speaker::announce_flow` takes, so that a rule can be written in one
/// expression:
///
/// ```
/// use ribbit::route::{Flow, FlowError, FlowRule, IntoFlowRule};
///
/// // A stand-in with the signature of Speaker::announce_flow.
/// fn announce_flow(flow: impl IntoFlowRule) -> Result<FlowRule, FlowError> {
///     flow.into_flow_rule()
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// announce_flow(Flow::matching().destination("10.0.0.0/24".parse()?).then().community("100:100".parse()?))?;
/// # Ok(())
/// # }
/// ```
pub trait IntoFlowRule {
    /// Check and convert.
    fn into_flow_rule(self) -> Result<FlowRule, FlowError>;
}

impl IntoFlowRule for FlowRule {
    fn into_flow_rule(self) -> Result<FlowRule, FlowError> {
        Ok(self)
    }
}

impl IntoFlowRule for Flow {
    fn into_flow_rule(self) -> Result<FlowRule, FlowError> {
        self.build()
    }
}

impl IntoFlowRule for FlowMatch {
    fn into_flow_rule(self) -> Result<FlowRule, FlowError> {
        self.build()
    }
}

// ---------------------------------------------------------------- builders

/// The match side of a Flowspec rule: what traffic it is about (RFC 8955
/// §4.2, RFC 8956 §3). Start with [`Flow::matching`]; go on to the actions
/// with [`FlowMatch::then`].
///
/// The family follows from the prefixes (IPv4 or IPv6, never both); with
/// none, from [`FlowMatch::ipv6`] or a flow label (IPv6 only), else it is
/// IPv4. A component given twice ORs both lists, as ExaBGP does; a prefix
/// given twice is an error.
///
/// ```
/// use ribbit::route::{Flow, Op, Ops};
///
/// let rule = Flow::matching()
///     .source("2001:db8:1::/48".parse().unwrap())
///     .next_header(Op::eq(17))
///     .destination_port(Op::eq(53))
///     .packet_length(Ops::range(512..=1500))
///     .flow_label(Op::eq(2013))
///     .build()
///     .unwrap();
/// assert_eq!(
///     rule.text(),
///     "flow source-ipv6 2001:db8:1::/48/0 next-header =udp destination-port =53 packet-length [ >=512&<=1500 ] flow-label =2013"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FlowMatch {
    /// The family asked for with `ipv4()` / `ipv6()`.
    afi: Option<Afi>,
    /// The family of the first prefix, and what it was.
    prefix_afi: Option<(Afi, String)>,
    rd: Option<RouteDistinguisher>,
    components: Vec<Component>,
    /// The first mistake; `build` returns it.
    problem: Option<FlowError>,
}

/// A whole Flowspec rule being built: its match and, after
/// [`FlowMatch::then`], its actions and other attributes. `build` checks
/// it; [`IntoFlowRule`] lets `Speaker::announce_flow` take it as it is.
///
/// ```
/// use ribbit::route::{Flow, Op};
///
/// let rule = Flow::matching()
///     .destination("10.0.0.0/24".parse().unwrap())
///     .protocol(Op::eq(17))
///     .source_port(Op::eq(53))
///     .then()
///     .discard()
///     .community("100:100".parse().unwrap())
///     .build()
///     .unwrap();
/// assert_eq!(
///     rule.to_string(),
///     "flow destination-ipv4 10.0.0.0/24 protocol =udp source-port =53 then discard"
/// );
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Flow {
    matching: FlowMatch,
    actions: Vec<FlowAction>,
    attributes: PathAttributes,
    problem: Option<FlowError>,
}

impl Flow {
    /// Start a rule with its match components.
    ///
    /// ```
    /// # use ribbit::route::{Flow, Op};
    /// let m = Flow::matching().port(Op::eq(80));
    /// assert!(m.build().is_ok());
    /// ```
    pub fn matching() -> FlowMatch {
        FlowMatch::default()
    }
}

impl FlowMatch {
    fn fail(&mut self, e: FlowError) {
        self.problem.get_or_insert(e);
    }

    fn prefix(mut self, kind: ComponentType, prefix: IpNet, offset: u8) -> FlowMatch {
        let name = prefix_name(kind);
        if prefix.trunc() != prefix {
            self.fail(FlowError::HostBits {
                name,
                prefix: prefix.to_string(),
                network: prefix.trunc().to_string(),
            });
            return self;
        }
        let p = FlowPrefix::new(prefix, offset);
        if let (IpNet::V6(_), true) = (prefix, p.prefix != prefix) {
            // RFC 8956 §3.1: the bits before the offset are not sent.
            self.fail(FlowError::Component {
                name,
                text: format!("{prefix}/{offset}"),
                source: FlowspecError::Parse {
                    input: format!("{prefix}/{offset}"),
                    reason:
                        "bits before the offset are set, and they are never sent (RFC 8956 §3.1)",
                },
            });
            return self;
        }
        if offset > prefix.prefix_len() || (offset > 0 && prefix.addr().is_ipv4()) {
            self.fail(FlowError::Component {
                name,
                text: format!("{prefix}/{offset}"),
                source: FlowspecError::BadOffset {
                    offset,
                    length: prefix.prefix_len(),
                },
            });
            return self;
        }
        let afi = afi_of(&prefix);
        let what = format!("{name} {prefix}");
        if let Some((first, _)) = &self.prefix_afi {
            if *first != afi {
                let e = FlowError::MixedFamilies {
                    what,
                    found: version(afi),
                    rule: version(*first),
                };
                self.fail(e);
                return self;
            }
        } else {
            if let Some(asked) = self.afi.filter(|a| *a != afi) {
                self.fail(FlowError::MixedFamilies {
                    what,
                    found: version(afi),
                    rule: version(asked),
                });
                return self;
            }
            self.prefix_afi = Some((afi, what));
        }
        if self.components.iter().any(|c| c.kind() == kind) {
            self.fail(FlowError::PrefixTwice(name));
            return self;
        }
        self.components
            .push(if kind == ComponentType::DestinationPrefix {
                Component::DestinationPrefix(p)
            } else {
                Component::SourcePrefix(p)
            });
        self
    }

    fn numeric(mut self, kind: ComponentType, name: &'static str, ops: Ops) -> FlowMatch {
        if let Some((start, end)) = ops.empty_range {
            self.fail(FlowError::EmptyRange { name, start, end });
            return self;
        }
        if ops.ops.is_empty() {
            self.fail(FlowError::NoValues(name));
            return self;
        }
        let max = max_value(kind);
        if let Some(op) = ops.ops.iter().find(|o| o.value > max) {
            self.fail(FlowError::OutOfRange {
                name,
                value: op.value,
                max,
            });
            return self;
        }
        self.add(Component::Numeric { kind, ops: ops.ops })
    }

    fn bitmask(mut self, kind: ComponentType, name: &'static str, masks: Masks) -> FlowMatch {
        if masks.0.is_empty() {
            self.fail(FlowError::NoValues(name));
            return self;
        }
        let max = max_value(kind);
        if let Some(op) = masks.0.iter().find(|o| o.value > max) {
            self.fail(FlowError::OutOfRange {
                name,
                value: op.value,
                max,
            });
            return self;
        }
        self.add(Component::Bitmask { kind, ops: masks.0 })
    }

    /// Add a component, ORed with one of the same type given before.
    fn add(mut self, c: Component) -> FlowMatch {
        let existing = self.components.iter_mut().find(|e| e.kind() == c.kind());
        match (existing, c) {
            (Some(Component::Numeric { ops, .. }), Component::Numeric { ops: more, .. }) => {
                ops.extend(more.into_iter().enumerate().map(|(i, mut o)| {
                    // The first pair added starts its own OR-group.
                    if i == 0 {
                        o.and = false;
                    }
                    o
                }));
            }
            (Some(Component::Bitmask { ops, .. }), Component::Bitmask { ops: more, .. }) => {
                ops.extend(more.into_iter().enumerate().map(|(i, mut o)| {
                    if i == 0 {
                        o.and = false;
                    }
                    o
                }));
            }
            (_, c) => self.components.push(c),
        }
        self
    }

    /// Make the rule IPv4 Flowspec (RFC 8955); prefixes must then be IPv4.
    ///
    /// ```
    /// # use ribbit::route::{Flow, Op};
    /// let r = Flow::matching().ipv4().port(Op::eq(80)).build().unwrap();
    /// assert_eq!(r.family().to_string(), "ipv4-flowspec");
    /// ```
    pub fn ipv4(self) -> FlowMatch {
        self.family(Afi::IPV4)
    }

    /// Make the rule IPv6 Flowspec (RFC 8956): needed for a rule without a
    /// prefix or flow label.
    ///
    /// ```
    /// # use ribbit::route::{Flow, Op};
    /// let r = Flow::matching().ipv6().port(Op::eq(80)).build().unwrap();
    /// assert_eq!(r.family().to_string(), "ipv6-flowspec");
    /// ```
    pub fn ipv6(self) -> FlowMatch {
        self.family(Afi::IPV6)
    }

    fn family(mut self, afi: Afi) -> FlowMatch {
        if let Some((first, what)) = &self.prefix_afi {
            if *first != afi {
                let e = FlowError::MixedFamilies {
                    what: what.clone(),
                    found: version(*first),
                    rule: version(afi),
                };
                self.fail(e);
                return self;
            }
        }
        self.afi = Some(afi);
        self
    }

    /// Make it a Flowspec VPN rule (RFC 8955 §8) with this route
    /// distinguisher.
    ///
    /// ```
    /// # use ribbit::route::{Flow, Op};
    /// let r = Flow::matching().port(Op::eq(80)).rd("65000:1".parse().unwrap()).build().unwrap();
    /// assert_eq!(r.family().to_string(), "ipv4-flowspec-vpn");
    /// assert_eq!(r.text(), "flow port =80 rd 65000:1");
    /// ```
    pub fn rd(mut self, rd: RouteDistinguisher) -> FlowMatch {
        self.rd = Some(rd);
        self
    }

    /// Destination prefix (type 1).
    ///
    /// ```
    /// # use ribbit::route::Flow;
    /// let r = Flow::matching().destination("10.0.0.0/24".parse().unwrap()).build().unwrap();
    /// assert_eq!(r.text(), "flow destination-ipv4 10.0.0.0/24");
    /// assert!(Flow::matching().destination("10.0.0.1/24".parse().unwrap()).build().is_err());
    /// ```
    pub fn destination(self, prefix: IpNet) -> FlowMatch {
        self.prefix(ComponentType::DestinationPrefix, prefix, 0)
    }

    /// Source prefix (type 2).
    ///
    /// ```
    /// # use ribbit::route::Flow;
    /// let r = Flow::matching().source("192.0.2.0/24".parse().unwrap()).build().unwrap();
    /// assert_eq!(r.text(), "flow source-ipv4 192.0.2.0/24");
    /// ```
    pub fn source(self, prefix: IpNet) -> FlowMatch {
        self.prefix(ComponentType::SourcePrefix, prefix, 0)
    }

    /// IPv6 destination prefix matched from bit `offset` on (RFC 8956
    /// §3.1): the bits before the offset are not compared.
    ///
    /// ```
    /// # use ribbit::route::Flow;
    /// let r = Flow::matching().destination_offset("::1234:5678:9a00:0/104".parse().unwrap(), 64).build().unwrap();
    /// assert_eq!(r.text(), "flow destination-ipv6 ::1234:5678:9a00:0/104/64");
    /// ```
    pub fn destination_offset(self, prefix: Ipv6Net, offset: u8) -> FlowMatch {
        self.prefix(ComponentType::DestinationPrefix, prefix.into(), offset)
    }

    /// IPv6 source prefix matched from bit `offset` on (RFC 8956 §3.1).
    ///
    /// ```
    /// # use ribbit::route::Flow;
    /// let r = Flow::matching().source_offset("::1/128".parse().unwrap(), 120).build().unwrap();
    /// assert_eq!(r.text(), "flow source-ipv6 ::1/128/120");
    /// ```
    pub fn source_offset(self, prefix: Ipv6Net, offset: u8) -> FlowMatch {
        self.prefix(ComponentType::SourcePrefix, prefix.into(), offset)
    }

    /// IP protocol (type 3), 0 to 255; see [`protocol`].
    ///
    /// ```
    /// # use ribbit::route::{protocol, Flow, Op, Ops};
    /// let r = Flow::matching().protocol(Ops::any_of([protocol::TCP, protocol::UDP])).build().unwrap();
    /// assert_eq!(r.text(), "flow protocol [ =tcp =udp ]");
    /// ```
    pub fn protocol(self, ops: impl Into<Ops>) -> FlowMatch {
        self.numeric(ComponentType::IpProtocol, "protocol", ops.into())
    }

    /// IPv6's name of [`FlowMatch::protocol`]: the upper-layer protocol
    /// (type 3, RFC 8956 §3.2).
    ///
    /// ```
    /// # use ribbit::route::{Flow, Op};
    /// let r = Flow::matching().ipv6().next_header(Op::eq(6)).build().unwrap();
    /// assert_eq!(r.text(), "flow next-header =tcp");
    /// ```
    pub fn next_header(self, ops: impl Into<Ops>) -> FlowMatch {
        self.numeric(ComponentType::IpProtocol, "next-header", ops.into())
    }

    /// Source or destination port (type 4), 0 to 65535.
    ///
    /// ```
    /// # use ribbit::route::{Flow, Ops};
    /// let r = Flow::matching().port(Ops::range(1024..=2048)).build().unwrap();
    /// assert_eq!(r.text(), "flow port [ >=1024&<=2048 ]");
    /// ```
    pub fn port(self, ops: impl Into<Ops>) -> FlowMatch {
        self.numeric(ComponentType::Port, "port", ops.into())
    }

    /// Destination port (type 5), 0 to 65535.
    ///
    /// ```
    /// # use ribbit::route::{Flow, Op};
    /// let r = Flow::matching().destination_port(Op::eq(53)).build().unwrap();
    /// assert_eq!(r.text(), "flow destination-port =53");
    /// ```
    pub fn destination_port(self, ops: impl Into<Ops>) -> FlowMatch {
        self.numeric(
            ComponentType::DestinationPort,
            "destination-port",
            ops.into(),
        )
    }

    /// Source port (type 6), 0 to 65535.
    ///
    /// ```
    /// # use ribbit::route::{Flow, Op};
    /// let r = Flow::matching().source_port(Op::gt(1023)).build().unwrap();
    /// assert_eq!(r.text(), "flow source-port >1023");
    /// ```
    pub fn source_port(self, ops: impl Into<Ops>) -> FlowMatch {
        self.numeric(ComponentType::SourcePort, "source-port", ops.into())
    }

    /// ICMP (ICMPv6 in IPv6 rules) type (type 7), 0 to 255.
    ///
    /// ```
    /// # use ribbit::route::{Flow, Op};
    /// let r = Flow::matching().icmp_type(Op::eq(8)).build().unwrap();
    /// assert_eq!(r.text(), "flow icmp-type =echo-request");
    /// ```
    pub fn icmp_type(self, ops: impl Into<Ops>) -> FlowMatch {
        self.numeric(ComponentType::IcmpType, "icmp-type", ops.into())
    }

    /// ICMP (ICMPv6) code (type 8), 0 to 255.
    ///
    /// ```
    /// # use ribbit::route::{Flow, Op};
    /// let r = Flow::matching().icmp_code(Op::eq(0)).build().unwrap();
    /// assert_eq!(r.text(), "flow icmp-code =0");
    /// ```
    pub fn icmp_code(self, ops: impl Into<Ops>) -> FlowMatch {
        self.numeric(ComponentType::IcmpCode, "icmp-code", ops.into())
    }

    /// TCP flags (type 9); see [`tcp_flags`].
    ///
    /// ```
    /// # use ribbit::route::{tcp_flags, Flow, Mask};
    /// let r = Flow::matching().tcp_flags(Mask::any(tcp_flags::RST)).build().unwrap();
    /// assert_eq!(r.text(), "flow tcp-flags rst");
    /// ```
    pub fn tcp_flags(self, masks: impl Into<Masks>) -> FlowMatch {
        self.bitmask(ComponentType::TcpFlags, "tcp-flags", masks.into())
    }

    /// Packet length (type 10), 0 to 65535.
    ///
    /// ```
    /// # use ribbit::route::{Flow, Op};
    /// let r = Flow::matching().packet_length(Op::gt(1400)).build().unwrap();
    /// assert_eq!(r.text(), "flow packet-length >1400");
    /// ```
    pub fn packet_length(self, ops: impl Into<Ops>) -> FlowMatch {
        self.numeric(ComponentType::PacketLength, "packet-length", ops.into())
    }

    /// DSCP (type 11), 0 to 63: the 6-bit code point of RFC 2474 (RFC
    /// 8955 §4.2.2.11; IPv6 rules match the same bits, RFC 8956).
    ///
    /// ```
    /// # use ribbit::route::{Flow, Op};
    /// let r = Flow::matching().dscp(Op::eq(46)).build().unwrap();
    /// assert_eq!(r.text(), "flow dscp =46");
    /// assert!(Flow::matching().dscp(Op::eq(64)).build().is_err());
    /// ```
    pub fn dscp(self, ops: impl Into<Ops>) -> FlowMatch {
        self.numeric(ComponentType::Dscp, "dscp", ops.into())
    }

    /// IPv6's (ExaBGP's) name of [`FlowMatch::dscp`].
    ///
    /// ```
    /// # use ribbit::route::{Flow, Op};
    /// let r = Flow::matching().ipv6().traffic_class(Op::eq(46)).build().unwrap();
    /// assert_eq!(r.text(), "flow traffic-class =46");
    /// ```
    pub fn traffic_class(self, ops: impl Into<Ops>) -> FlowMatch {
        self.numeric(ComponentType::Dscp, "traffic-class", ops.into())
    }

    /// Fragment bits (type 12); see [`fragment`].
    ///
    /// ```
    /// # use ribbit::route::{fragment, Flow, Mask};
    /// let r = Flow::matching().fragment(Mask::not_any(fragment::DONT_FRAGMENT)).build().unwrap();
    /// assert_eq!(r.text(), "flow fragment !dont-fragment");
    /// ```
    pub fn fragment(self, masks: impl Into<Masks>) -> FlowMatch {
        self.bitmask(ComponentType::Fragment, "fragment", masks.into())
    }

    /// IPv6 flow label (type 13, RFC 8956 §3.7), 0 to 1048575. It exists
    /// in IPv6 only: a rule with a flow label and no prefix is IPv6.
    ///
    /// ```
    /// # use ribbit::route::{Flow, Op};
    /// let r = Flow::matching().flow_label(Op::eq(7)).build().unwrap();
    /// assert_eq!(r.family().to_string(), "ipv6-flowspec");
    /// assert!(Flow::matching().ipv4().flow_label(Op::eq(7)).build().is_err());
    /// ```
    pub fn flow_label(self, ops: impl Into<Ops>) -> FlowMatch {
        self.numeric(ComponentType::FlowLabel, "flow-label", ops.into())
    }

    /// A component in ExaBGP's text: its name (`destination-port`,
    /// `tcp-flags`, `destination`, `destination-ipv6`, ...) and its value:
    /// one prefix, or OR-groups separated by spaces, each `&`-joined
    /// terms (`=80 >=1024&<=2048`, `=syn&!ack`, `=udp`).
    ///
    /// ```
    /// # use ribbit::route::Flow;
    /// let r = Flow::matching()
    ///     .component_str("destination", "10.0.0.0/24")
    ///     .component_str("destination-port", ">=1024&<=2048")
    ///     .component_str("protocol", "=tcp =udp")
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(r.text(), "flow destination-ipv4 10.0.0.0/24 protocol [ =tcp =udp ] destination-port [ >=1024&<=2048 ]");
    /// assert!(Flow::matching().component_str("port", "=>80").build().is_err());
    /// ```
    pub fn component_str(mut self, name: &str, value: &str) -> FlowMatch {
        let Some(kind) = ComponentType::from_exabgp_name(name.trim()) else {
            self.fail(FlowError::UnknownComponent(name.to_string()));
            return self;
        };
        let name = component_name(kind, name.trim());
        let bad = |source| FlowError::Component {
            name,
            text: value.to_string(),
            source,
        };
        if kind.is_prefix() {
            let text = value.trim();
            return match text.parse::<FlowPrefix>() {
                Ok(p) => {
                    // Keep what was written, so that host bits are caught.
                    let written = text
                        .rsplit_once('/')
                        .filter(|_| text.matches('/').count() == 2)
                        .map_or(text, |(net, _)| net);
                    let net = written
                        .parse::<IpNet>()
                        .or_else(|_| written.parse::<IpAddr>().map(IpNet::from))
                        .unwrap_or(p.prefix);
                    self.prefix(kind, net, p.offset)
                }
                Err(e) => {
                    self.fail(bad(e));
                    self
                }
            };
        }
        let groups: Vec<&str> = value.split_whitespace().collect();
        if groups.is_empty() {
            self.fail(FlowError::NoValues(name));
            return self;
        }
        if kind.is_bitmask() {
            let mut ops = Vec::new();
            for g in groups {
                match parse_bitmask(kind, g) {
                    Ok(more) => ops.extend(more),
                    Err(e) => {
                        self.fail(bad(e));
                        return self;
                    }
                }
            }
            self.bitmask(kind, name, Masks(ops))
        } else {
            let mut ops = Vec::new();
            for g in groups {
                match parse_numeric(kind, g) {
                    Ok(more) => ops.extend(more),
                    Err(e) => {
                        self.fail(bad(e));
                        return self;
                    }
                }
            }
            self.numeric(
                kind,
                name,
                Ops {
                    ops,
                    empty_range: None,
                },
            )
        }
    }

    /// Go on to the actions.
    ///
    /// ```
    /// # use ribbit::route::{Flow, Op};
    /// let r = Flow::matching().port(Op::eq(80)).then().discard().build().unwrap();
    /// assert_eq!(r.actions().len(), 1);
    /// ```
    pub fn then(self) -> Flow {
        Flow {
            matching: self,
            actions: Vec::new(),
            attributes: PathAttributes::default(),
            problem: None,
        }
    }

    /// Check the rule and make it, without actions: matching traffic is
    /// accepted (RFC 8955 §7: accept is the default action), which is how
    /// BIRD's static flow routes are sent.
    ///
    /// ```
    /// # use ribbit::route::{Flow, FlowError};
    /// assert_eq!(Flow::matching().build().unwrap_err(), FlowError::NoComponents);
    /// ```
    pub fn build(self) -> Result<FlowRule, FlowError> {
        self.then().build()
    }

    /// The family the components say, and the rule's NLRI.
    fn finish(self) -> Result<(Family, FlowspecNlri), FlowError> {
        if let Some(e) = self.problem {
            return Err(e);
        }
        if self.components.is_empty() {
            return Err(FlowError::NoComponents);
        }
        let label = self
            .components
            .iter()
            .any(|c| c.kind() == ComponentType::FlowLabel);
        let afi = self
            .prefix_afi
            .as_ref()
            .map(|(a, _)| *a)
            .or(self.afi)
            .unwrap_or(if label { Afi::IPV6 } else { Afi::IPV4 });
        if let Some(c) = self.components.iter().find(|c| !c.kind().exists_in(afi)) {
            return Err(FlowError::NotInFamily {
                name: component_name(c.kind(), ""),
                version: version(afi),
            });
        }
        let safi = if self.rd.is_some() {
            Safi::FLOWSPEC_VPN
        } else {
            Safi::FLOWSPEC
        };
        Ok((
            Family::new(afi, safi),
            FlowspecNlri {
                path_id: None,
                rd: self.rd,
                components: self.components,
            },
        ))
    }
}

impl Flow {
    fn act(mut self, action: FlowAction) -> Flow {
        if let Err(e) = action.check() {
            self.problem.get_or_insert(e);
        }
        self.actions.push(action);
        self
    }

    /// Drop the matching traffic (a traffic rate of 0 bytes per second).
    ///
    /// ```
    /// # use ribbit::route::{Flow, Op};
    /// let r = Flow::matching().port(Op::eq(80)).then().discard().build().unwrap();
    /// assert_eq!(r.attributes().extended_communities[0].to_string(), "rate-limit:0");
    /// ```
    pub fn discard(self) -> Flow {
        self.act(FlowAction::Discard)
    }

    /// Limit the matching traffic to this many bytes per second.
    ///
    /// ```
    /// # use ribbit::route::{Flow, Op};
    /// let r = Flow::matching().port(Op::eq(80)).then().rate_limit(9600.0).build().unwrap();
    /// assert_eq!(r.attributes().extended_communities[0].to_string(), "rate-limit:9600");
    /// assert!(Flow::matching().port(Op::eq(80)).then().rate_limit(-1.0).build().is_err());
    /// ```
    pub fn rate_limit(self, bytes_per_second: f32) -> Flow {
        self.act(FlowAction::RateLimit(bytes_per_second))
    }

    /// Limit the matching traffic to this many packets per second.
    ///
    /// ```
    /// # use ribbit::route::{Flow, Op};
    /// let r = Flow::matching().port(Op::eq(80)).then().rate_limit_packets(100.0).build().unwrap();
    /// assert_eq!(r.attributes().extended_communities[0].to_string(), "rate-limit:100:packets");
    /// ```
    pub fn rate_limit_packets(self, packets_per_second: f32) -> Flow {
        self.act(FlowAction::RateLimitPackets(packets_per_second))
    }

    /// Redirect the matching traffic to the VRF that imports `target`.
    ///
    /// ```
    /// # use ribbit::route::{Flow, Op};
    /// let r = Flow::matching().port(Op::eq(80)).then().redirect("65000:1".parse().unwrap()).build().unwrap();
    /// assert_eq!(r.attributes().extended_communities[0].to_string(), "redirect:65000:1");
    /// ```
    pub fn redirect(self, target: RouteTarget) -> Flow {
        self.act(FlowAction::Redirect(target))
    }

    /// Redirect the matching traffic to `address`, sent as the rule's next
    /// hop (see [`FlowAction::RedirectToNextHop`]).
    ///
    /// ```
    /// # use ribbit::route::{Flow, Op};
    /// let a = Flow::matching().port(Op::eq(80)).then()
    ///     .redirect_to_nexthop("198.18.0.1".parse().unwrap())
    ///     .build().unwrap().announcement();
    /// assert_eq!(a.next_hop.to_string(), "198.18.0.1");
    /// assert_eq!(a.attributes.extended_communities[0].to_string(), "redirect-to-nexthop");
    /// ```
    pub fn redirect_to_nexthop(self, address: IpAddr) -> Flow {
        self.act(FlowAction::RedirectToNextHop(address))
    }

    /// Copy the matching traffic to `address`, sent as the rule's next hop.
    ///
    /// ```
    /// # use ribbit::route::{Flow, Op};
    /// let a = Flow::matching().port(Op::eq(80)).then()
    ///     .copy_to_nexthop("198.18.0.1".parse().unwrap())
    ///     .build().unwrap().announcement();
    /// assert_eq!(a.attributes.extended_communities[0].to_string(), "copy-to-nexthop");
    /// ```
    pub fn copy_to_nexthop(self, address: IpAddr) -> Flow {
        self.act(FlowAction::CopyToNextHop(address))
    }

    /// Redirect the matching traffic to `address`, carried in the community
    /// (see [`FlowAction::RedirectToIp`]).
    ///
    /// ```
    /// # use ribbit::route::{Flow, Op};
    /// let a = Flow::matching().port(Op::eq(80)).then()
    ///     .redirect_to_ip("192.0.2.1".parse().unwrap())
    ///     .build().unwrap().announcement();
    /// assert_eq!(a.attributes.extended_communities[0].to_string(), "redirect-to-nexthop-ietf 192.0.2.1");
    /// ```
    pub fn redirect_to_ip(self, address: IpAddr) -> Flow {
        self.act(FlowAction::RedirectToIp(address))
    }

    /// Rewrite the DSCP of the matching traffic, 0 to 63.
    ///
    /// ```
    /// # use ribbit::route::{Flow, Op};
    /// let r = Flow::matching().port(Op::eq(80)).then().mark(10).build().unwrap();
    /// assert_eq!(r.attributes().extended_communities[0].to_string(), "mark 10");
    /// assert!(Flow::matching().port(Op::eq(80)).then().mark(64).build().is_err());
    /// ```
    pub fn mark(self, dscp: u8) -> Flow {
        self.act(FlowAction::Mark(dscp))
    }

    fn traffic_action(mut self, sample: bool, terminal: bool) -> Flow {
        // Sample and terminal are two bits of one community.
        for a in &mut self.actions {
            if let FlowAction::TrafficAction {
                sample: s,
                terminal: t,
            } = a
            {
                *s |= sample;
                *t |= terminal;
                return self;
            }
        }
        self.act(FlowAction::TrafficAction { sample, terminal })
    }

    /// Sample (log) the matching traffic.
    ///
    /// ```
    /// # use ribbit::route::{Flow, Op};
    /// let r = Flow::matching().port(Op::eq(80)).then().sample().build().unwrap();
    /// assert_eq!(r.attributes().extended_communities[0].to_string(), "action sample");
    /// ```
    pub fn sample(self) -> Flow {
        self.traffic_action(true, false)
    }

    /// Apply no further Flowspec rule to the matching traffic.
    ///
    /// ```
    /// # use ribbit::route::{Flow, Op};
    /// let r = Flow::matching().port(Op::eq(80)).then().terminal().build().unwrap();
    /// assert_eq!(r.attributes().extended_communities[0].to_string(), "action terminal");
    /// ```
    pub fn terminal(self) -> Flow {
        self.traffic_action(false, true)
    }

    /// Any action, as a value.
    ///
    /// ```
    /// # use ribbit::route::{Flow, FlowAction, Op};
    /// let r = Flow::matching().port(Op::eq(80)).then().action(FlowAction::Mark(1)).build().unwrap();
    /// assert_eq!(r.actions(), vec![FlowAction::Mark(1)]);
    /// ```
    pub fn action(self, action: FlowAction) -> Flow {
        match action {
            FlowAction::TrafficAction { sample, terminal } => self.traffic_action(sample, terminal),
            other => self.act(other),
        }
    }

    /// Add a community (RFC 1997) to the rule's UPDATE.
    ///
    /// ```
    /// # use ribbit::route::{Flow, Op};
    /// let r = Flow::matching().port(Op::eq(80)).then().community("100:100".parse().unwrap()).build().unwrap();
    /// assert_eq!(r.attributes().communities[0].to_string(), "100:100");
    /// ```
    pub fn community(mut self, community: Community) -> Flow {
        push_unique(&mut self.attributes.communities, community);
        self
    }

    /// Add an extended community (RFC 4360). A Flowspec action given this
    /// way counts as that action: `rate-limit:100` and `discard()` are two
    /// traffic rates, which `build` refuses.
    ///
    /// ```
    /// # use ribbit::route::{Flow, FlowAction, Op};
    /// let r = Flow::matching().port(Op::eq(80)).then()
    ///     .extended_community("target:65000:1".parse().unwrap())
    ///     .extended_community("mark 10".parse().unwrap())
    ///     .build().unwrap();
    /// assert_eq!(r.actions(), vec![FlowAction::Mark(10)]);
    /// assert_eq!(r.attributes().extended_communities.len(), 2);
    /// ```
    pub fn extended_community(mut self, community: ExtendedCommunity) -> Flow {
        // Actions are kept as actions, so that conflicts show and the next
        // hop of a redirect is known; a redirect to the next hop needs an
        // address, which only redirect_to_nexthop gives.
        match FlowAction::from_extended(community, None) {
            Some(a) => self.action(a),
            None => {
                if matches!(community.kind(), ExtendedKind::RedirectToNextHop { .. }) {
                    self.problem.get_or_insert(FlowError::ConflictingActions {
                        first: community.to_string(),
                        second: "no next hop".to_string(),
                        why: "give the address with redirect_to_nexthop or copy_to_nexthop",
                    });
                }
                push_unique(&mut self.attributes.extended_communities, community);
                self
            }
        }
    }

    /// Add a large community (RFC 8092).
    ///
    /// ```
    /// # use ribbit::route::{Flow, Op};
    /// let r = Flow::matching().port(Op::eq(80)).then().large_community("65000:1:2".parse().unwrap()).build().unwrap();
    /// assert_eq!(r.attributes().large_communities[0].to_string(), "65000:1:2");
    /// ```
    pub fn large_community(mut self, community: LargeCommunity) -> Flow {
        push_unique(&mut self.attributes.large_communities, community);
        self
    }

    /// Check the rule and make it: the match as [`FlowMatch`] describes,
    /// the actions as [`FlowRule::new`] requires.
    ///
    /// ```
    /// # use ribbit::route::{Flow, FlowError, Op};
    /// let e = Flow::matching().port(Op::eq(80)).then().discard().rate_limit(10.0).build().unwrap_err();
    /// assert!(matches!(e, FlowError::ConflictingActions { .. }));
    /// ```
    pub fn build(self) -> Result<FlowRule, FlowError> {
        let (family, nlri) = self.matching.finish()?;
        if let Some(e) = self.problem {
            return Err(e);
        }
        FlowRule::new(family, nlri, self.actions, self.attributes)
    }
}

/// Same as [`Flow::build`].
///
/// ```
/// # use ribbit::route::{Flow, FlowRule, Op};
/// let r = FlowRule::try_from(Flow::matching().port(Op::eq(80)).then().discard()).unwrap();
/// assert_eq!(r.text(), "flow port =80");
/// ```
impl TryFrom<Flow> for FlowRule {
    type Error = FlowError;

    fn try_from(flow: Flow) -> Result<FlowRule, FlowError> {
        flow.build()
    }
}

/// [`Flow::build`], then [`FlowRule::announcement`].
///
/// ```
/// # use ribbit::route::{Flow, Op};
/// # use ribbit_exabgp::text::Announcement;
/// let a = Announcement::try_from(Flow::matching().port(Op::eq(80)).then().discard()).unwrap();
/// assert_eq!(a.family.to_string(), "ipv4-flowspec");
/// ```
impl TryFrom<Flow> for Announcement {
    type Error = FlowError;

    fn try_from(flow: Flow) -> Result<Announcement, FlowError> {
        flow.build().map(|r| r.announcement())
    }
}

fn afi_of(p: &IpNet) -> Afi {
    match p {
        IpNet::V4(_) => Afi::IPV4,
        IpNet::V6(_) => Afi::IPV6,
    }
}

fn version(afi: Afi) -> u8 {
    if afi == Afi::IPV6 {
        6
    } else {
        4
    }
}

fn prefix_name(kind: ComponentType) -> &'static str {
    if kind == ComponentType::DestinationPrefix {
        "destination"
    } else {
        "source"
    }
}

/// The name a component is called by in messages: the one given, when it
/// is one of ExaBGP's, else ExaBGP's IPv4 name.
fn component_name(kind: ComponentType, given: &str) -> &'static str {
    const NAMES: [&str; 15] = [
        "destination",
        "source",
        "protocol",
        "next-header",
        "port",
        "destination-port",
        "source-port",
        "icmp-type",
        "icmp-code",
        "tcp-flags",
        "packet-length",
        "dscp",
        "traffic-class",
        "fragment",
        "flow-label",
    ];
    if kind.is_prefix() {
        return prefix_name(kind);
    }
    NAMES
        .into_iter()
        .find(|n| *n == given)
        .unwrap_or_else(|| kind.exabgp_name(Afi::IPV4))
}

/// The largest value of the packet field a component matches. DSCP is 6
/// bits (RFC 2474; RFC 8955 §4.2.2.11), although the codec takes a whole
/// octet for ExaBGP's sake.
pub(crate) fn max_value(kind: ComponentType) -> u64 {
    match kind {
        ComponentType::Dscp => 63,
        k => k.max_value(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ribbit_exabgp::text::{self, Command};

    fn parse_api(line: &str) -> Announcement {
        match text::parse(line).unwrap().command {
            Command::Announce(a) => a,
            other => panic!("{other:?}"),
        }
    }

    /// The builders make exactly what ExaBGP's grammar makes of the same
    /// rule, so that the process API and the library agree.
    #[test]
    fn same_as_the_exabgp_grammar() {
        let built = Flow::matching()
            .destination("10.0.0.0/24".parse().unwrap())
            .source("10.1.0.0/16".parse().unwrap())
            .protocol(Op::eq(protocol::TCP))
            .destination_port(Ops::range(1024..=2048))
            .then()
            .discard()
            .redirect("65000:1".parse().unwrap())
            .mark(10)
            .sample()
            .community("1:2".parse().unwrap())
            .extended_community("target:1:1".parse().unwrap())
            .build()
            .unwrap()
            .announcement();
        let parsed = parse_api(
            "announce flow route { match { destination 10.0.0.0/24; source 10.1.0.0/16; protocol tcp; destination-port >=1024&<=2048; } then { discard; redirect 65000:1; mark 10; action sample; community [ 1:2 ]; extended-community [ target:1:1 ]; } }",
        );
        assert_eq!(built.family, parsed.family);
        assert_eq!(built.nlri, parsed.nlri);
        assert_eq!(built.next_hop, parsed.next_hop);
        let mut a = built.attributes.extended_communities.clone();
        let mut b = parsed.attributes.extended_communities.clone();
        a.sort();
        b.sort();
        assert_eq!(a, b);
        assert_eq!(built.attributes.communities, parsed.attributes.communities);

        let built = Flow::matching()
            .source_offset("::1/128".parse().unwrap(), 120)
            .next_header(Op::eq(17))
            .traffic_class(Op::eq(10))
            .flow_label(Op::eq(2013))
            .then()
            .redirect_to_nexthop("2001:db8::1".parse().unwrap())
            .build()
            .unwrap()
            .announcement();
        let parsed = parse_api(
            "announce ipv6 flow source-ipv6 ::1/128/120 next-header =udp traffic-class =10 flow-label =2013 next-hop 2001:db8::1 extended-community [redirect-to-nexthop]",
        );
        assert_eq!(built.family, parsed.family);
        assert_eq!(built.nlri, parsed.nlri);
        assert_eq!(built.next_hop, parsed.next_hop);
        assert_eq!(
            built.attributes.extended_communities,
            parsed.attributes.extended_communities
        );
    }

    /// The example of docs/library.md.
    #[test]
    fn the_library_doc_example() {
        let rule = Flow::matching()
            .destination("10.0.0.0/24".parse().unwrap())
            .source("192.0.2.0/24".parse().unwrap())
            .protocol(Op::eq(protocol::TCP))
            .destination_port(Ops::any_of([80, 443]).or(Ops::range(8000..=8080)))
            .tcp_flags(Mask::all(tcp_flags::SYN).and(Mask::not_any(tcp_flags::ACK)))
            .packet_length(Op::le(1500))
            .then()
            .rate_limit(125_000.0)
            .sample()
            .community("100:100".parse().unwrap())
            .build()
            .unwrap();
        assert_eq!(
            rule.text(),
            "flow destination-ipv4 10.0.0.0/24 source-ipv4 192.0.2.0/24 protocol =tcp \
             destination-port [ =80 =443 >=8000&<=8080 ] tcp-flags [ =syn&!ack ] packet-length <=1500"
        );
        let docs = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/library.md"),
        )
        .unwrap();
        assert!(
            docs.contains(".destination_port(Ops::any_of([80, 443]).or(Ops::range(8000..=8080)))")
        );
    }

    #[test]
    fn components_given_twice_are_ored() {
        let r = Flow::matching()
            .port(Op::eq(80))
            .port(Ops::range(8000..=8080))
            .component_str("port", "=443")
            .build()
            .unwrap();
        assert_eq!(r.text(), "flow port [ =80 >=8000&<=8080 =443 ]");
        assert_eq!(
            Flow::matching()
                .destination("10.0.0.0/8".parse().unwrap())
                .destination("11.0.0.0/8".parse().unwrap())
                .build()
                .unwrap_err(),
            FlowError::PrefixTwice("destination")
        );
    }

    #[test]
    #[allow(
        clippy::reversed_empty_ranges,
        reason = "an empty range is one of the mistakes tested"
    )]
    fn every_mistake_is_a_typed_error() {
        let m = || Flow::matching();
        // Written backwards on purpose: an empty range is an error.
        let (start, end) = (10, 1);
        let err = |f: FlowMatch| f.build().unwrap_err().to_string();
        assert_eq!(
            err(m()
                .destination("10.0.0.0/8".parse().unwrap())
                .source("2001:db8::/32".parse().unwrap())),
            "source 2001:db8::/32 is IPv6 and the rule is IPv4: a rule is of one family"
        );
        assert_eq!(
            err(m().ipv6().destination("10.0.0.0/8".parse().unwrap())),
            "destination 10.0.0.0/8 is IPv4 and the rule is IPv6: a rule is of one family"
        );
        assert_eq!(
            err(m().destination("10.0.0.0/8".parse().unwrap()).ipv6()),
            "destination 10.0.0.0/8 is IPv4 and the rule is IPv6: a rule is of one family"
        );
        assert_eq!(
            err(m().destination("10.0.0.1/8".parse().unwrap())),
            "destination 10.0.0.1/8 has host bits set (the network is 10.0.0.0/8)"
        );
        assert_eq!(
            err(m().port(Op::eq(70000))),
            "port value 70000 is out of range (0 to 65535)"
        );
        assert_eq!(
            err(m().protocol(Op::eq(256))),
            "protocol value 256 is out of range (0 to 255)"
        );
        assert_eq!(
            err(m().dscp(Op::eq(64))),
            "dscp value 64 is out of range (0 to 63)"
        );
        assert_eq!(
            err(m().flow_label(Op::eq(1 << 20))),
            "flow-label value 1048576 is out of range (0 to 1048575)"
        );
        assert_eq!(
            err(m().tcp_flags(Mask::any(0x10000))),
            "tcp-flags value 65536 is out of range (0 to 65535)"
        );
        assert_eq!(
            err(m().fragment(Mask::any(0x10))),
            "fragment value 16 is out of range (0 to 15)"
        );
        assert_eq!(
            err(m().port(Ops::range(start..=end))),
            "port range 10 to 1 is empty (the start is after the end)"
        );
        assert_eq!(
            err(m().port(Ops::any_of([]))),
            "port has no value to compare with"
        );
        assert_eq!(
            err(m().ipv4().flow_label(Op::eq(1))),
            "flow-label does not exist in IPv4 Flowspec"
        );
        assert_eq!(
            err(m().component_str("ports", "=80")),
            "unknown match component \"ports\" (expected destination, source, protocol, next-header, port, destination-port, source-port, icmp-type, icmp-code, tcp-flags, packet-length, dscp, traffic-class, fragment or flow-label)"
        );
        assert_eq!(
            err(m().component_str("port", "=>80")),
            "port \"=>80\": cannot parse \"=>80\": not a number or a known name"
        );
        assert_eq!(
            err(m().component_str("tcp-flags", "syn+bogus")),
            "tcp-flags \"syn+bogus\": cannot parse \"syn+bogus\": not a number or a known flag"
        );
        assert_eq!(
            err(m().component_str("port", " ")),
            "port has no value to compare with"
        );
        assert_eq!(
            err(m().destination_offset("2001:db8::/32".parse().unwrap(), 8)),
            "destination \"2001:db8::/32/8\": cannot parse \"2001:db8::/32/8\": bits before the offset are set, and they are never sent (RFC 8956 §3.1)"
        );
        assert_eq!(
            err(m().source_offset("::/8".parse().unwrap(), 9)),
            "source \"::/8/9\": offset 9 is not allowed with prefix length 8"
        );
        assert_eq!(err(m()), "a flow rule needs at least one match component");

        let then = || m().port(Op::eq(80)).then();
        let err = |f: Flow| f.build().unwrap_err().to_string();
        assert_eq!(
            err(then().discard().rate_limit(1.0)),
            "discard and rate-limit 1 cannot both be given: a rule has one traffic rate (discard is a rate of 0)"
        );
        assert_eq!(
            err(then().mark(1).mark(2)),
            "mark 1 and mark 2 cannot both be given: a rule marks with one DSCP"
        );
        assert_eq!(
            err(then()
                .redirect_to_nexthop("198.18.0.1".parse().unwrap())
                .copy_to_nexthop("198.18.0.2".parse().unwrap())),
            "redirect-to-nexthop 198.18.0.1 and copy-to-nexthop 198.18.0.2 cannot both be given: both use the rule's one next hop"
        );
        assert_eq!(
            err(then()
                .redirect("65000:1".parse().unwrap())
                .extended_community("redirect:65000:2".parse().unwrap())),
            "redirect 65000:1 and redirect 65000:2 cannot both be given: a rule redirects to one route target"
        );
        assert_eq!(
            err(then().extended_community("redirect-to-nexthop".parse().unwrap())),
            "redirect-to-nexthop and no next hop cannot both be given: give the address with redirect_to_nexthop or copy_to_nexthop"
        );
        assert_eq!(
            err(then().rate_limit(f32::NAN)),
            "rate NaN is not a rate (0 or more per second)"
        );
        assert_eq!(
            err(then().mark(64)),
            "mark 64 is out of range (a DSCP is 0 to 63)"
        );
        assert_eq!(
            err(then().redirect_to_nexthop("2001:db8::1".parse().unwrap())),
            "next hop 2001:db8::1 is IPv6, and an IPv4 rule needs an IPv4 next hop (extended next hop, RFC 8950, is not supported yet)"
        );
        assert_eq!(
            err(then().redirect_to_ip("0.0.0.0".parse().unwrap())),
            "next hop 0.0.0.0 is not a unicast address"
        );
    }

    #[test]
    fn the_same_action_twice_is_once() {
        let r = Flow::matching()
            .port(Op::eq(80))
            .then()
            .sample()
            .terminal()
            .sample()
            .build()
            .unwrap();
        assert_eq!(
            r.actions(),
            vec![FlowAction::TrafficAction {
                sample: true,
                terminal: true
            }]
        );
    }

    #[test]
    fn vpn_rules_need_their_rd() {
        let nlri = FlowspecNlri {
            path_id: None,
            rd: None,
            components: vec![Component::Numeric {
                kind: ComponentType::Port,
                ops: Ops::from(Op::eq(1)).ops,
            }],
        };
        let e = FlowRule::new(
            Family::IPV4_FLOWSPEC_VPN,
            nlri.clone(),
            Vec::new(),
            PathAttributes::default(),
        )
        .unwrap_err();
        assert!(matches!(e, FlowError::RouteDistinguisher(_)));
        let e = FlowRule::new(
            Family::IPV4_UNICAST,
            nlri,
            Vec::new(),
            PathAttributes::default(),
        )
        .unwrap_err();
        assert!(matches!(e, FlowError::NotFlowspec(_)));
    }

    #[test]
    fn actions_come_back_from_their_communities() {
        let rule = Flow::matching()
            .port(Op::eq(80))
            .then()
            .rate_limit_packets(5.0)
            .redirect_to_ip("192.0.2.9".parse().unwrap())
            .terminal()
            .copy_to_nexthop("198.18.0.1".parse().unwrap())
            .build()
            .unwrap();
        let a = rule.announcement();
        let back: Vec<FlowAction> = a
            .attributes
            .extended_communities
            .iter()
            .filter_map(|c| FlowAction::from_extended(*c, rule.next_hop()))
            .collect();
        assert_eq!(back, rule.actions());
    }

    #[test]
    fn route_errors() {
        assert_eq!(
            Route::new("10.0.0.0/24".parse().unwrap())
                .next_hop("224.0.0.1".parse().unwrap())
                .build()
                .unwrap_err(),
            RouteError::NextHopNotUnicast("224.0.0.1".parse().unwrap())
        );
        assert_eq!(
            Route::new("10.0.0.0/24".parse().unwrap())
                .as_path([65001, 0])
                .build()
                .unwrap_err(),
            RouteError::AsZero
        );
        let a = Route::new("2001:db8::/32".parse().unwrap())
            .next_hop("192.0.2.1".parse().unwrap())
            .build()
            .unwrap();
        assert_eq!(a.family, Family::IPV6_UNICAST);
    }
}
