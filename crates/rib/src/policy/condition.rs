//! What a rule matches on.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use ipnet::IpNet;
use ribbit_wire::attribute::{Community, ExtendedCommunity, LargeCommunity};
use ribbit_wire::update::NextHop;
use ribbit_wire::{Family, Origin};

use super::as_path::AsPathSet;
use super::community::{CommunitySet, CommunityValue};
use super::prefix_set::PrefixSet;
use super::Eval;

/// Why an address or prefix in a condition cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidAddress {
    /// The text as written.
    pub text: String,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for InvalidAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} {}", self.text, self.reason)
    }
}

impl std::error::Error for InvalidAddress {}

/// An address (`192.0.2.1`, taken as a /32 or /128) or a prefix
/// (`192.0.2.0/24`, host bits clear), for conditions on neighbors and next
/// hops.
pub fn parse_address_or_prefix(text: &str) -> Result<IpNet, InvalidAddress> {
    let t = text.trim();
    if let Ok(a) = t.parse::<IpAddr>() {
        return Ok(IpNet::from(a));
    }
    let fail = |reason: String| InvalidAddress {
        text: text.to_string(),
        reason,
    };
    let net: IpNet = t
        .parse()
        .map_err(|_| fail("is not an IP address or prefix".to_string()))?;
    if net.trunc() != net {
        return Err(fail(format!(
            "has host bits set (the network is {})",
            net.trunc()
        )));
    }
    Ok(net)
}

/// One condition of a rule. A rule matches when all of its conditions
/// hold; a condition that lists several values or sets holds when any of
/// them matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// The prefix is in one of the sets. Never holds for routes without a
    /// prefix (Flowspec).
    Prefix(Vec<Arc<PrefixSet>>),
    /// One of the sets' expressions matches the AS path's text.
    AsPath(Vec<Arc<AsPathSet>>),
    /// The AS path length, counted as the decision process counts it (an
    /// AS_SET is one, confederation segments zero), is in `min..=max`.
    AsPathLength {
        /// Shortest.
        min: u32,
        /// Longest.
        max: u32,
    },
    /// The route carries a community in one of the sets.
    Communities(Vec<Arc<CommunitySet<Community>>>),
    /// The route carries an extended community in one of the sets.
    ExtendedCommunities(Vec<Arc<CommunitySet<ExtendedCommunity>>>),
    /// The route carries a large community in one of the sets.
    LargeCommunities(Vec<Arc<CommunitySet<LargeCommunity>>>),
    /// The neighbor ([`super::Subject::peer`]) has an address within one of these.
    Neighbor(Vec<IpNet>),
    /// The neighbor is in one of these ASes.
    NeighborAsn(Vec<u32>),
    /// The route was learned from a neighbor with an address within one
    /// of these; never holds for a locally originated route.
    Source(Vec<IpNet>),
    /// The route was learned from a neighbor in one of these ASes; never
    /// holds for a locally originated route.
    SourceAsn(Vec<u32>),
    /// The next hop (the global address for IPv6, or the link-local one)
    /// is within one of these; never holds for Flowspec.
    NextHop(Vec<IpNet>),
    /// The ORIGIN is one of these; never holds when it is missing.
    Origin(Vec<Origin>),
    /// The route's family is one of these.
    Family(Vec<Family>),
    /// The condition does not hold.
    Not(Box<Condition>),
}

fn within(nets: &[IpNet], addr: IpAddr) -> bool {
    nets.iter().any(|n| n.contains(&addr))
}

fn communities<T: CommunityValue>(sets: &[Arc<CommunitySet<T>>], ev: &Eval<'_>) -> bool {
    let list = T::list(&ev.attrs().attributes);
    !list.is_empty() && sets.iter().any(|s| s.contains_any(list))
}

impl Condition {
    /// Whether the condition holds for the route as the rules before have
    /// left it.
    pub(super) fn holds(&self, ev: &mut Eval<'_>) -> bool {
        match self {
            Condition::Prefix(sets) => ev
                .subject
                .prefix
                .is_some_and(|p| sets.iter().any(|s| s.contains(&p))),
            Condition::AsPath(sets) => {
                let text = ev.as_path_text();
                sets.iter().any(|s| s.is_match(text))
            }
            Condition::AsPathLength { min, max } => {
                let len = ev
                    .attrs()
                    .attributes
                    .as_path
                    .as_ref()
                    .map_or(0, |p| p.path_len());
                let len = u32::try_from(len).unwrap_or(u32::MAX);
                *min <= len && len <= *max
            }
            Condition::Communities(sets) => communities(sets, ev),
            Condition::ExtendedCommunities(sets) => communities(sets, ev),
            Condition::LargeCommunities(sets) => communities(sets, ev),
            Condition::Neighbor(nets) => within(nets, ev.subject.peer.address),
            Condition::NeighborAsn(asns) => asns.contains(&ev.subject.peer.asn),
            Condition::Source(nets) => ev.subject.source.is_some_and(|s| within(nets, s.address)),
            Condition::SourceAsn(asns) => ev.subject.source.is_some_and(|s| asns.contains(&s.asn)),
            Condition::NextHop(nets) => match ev.attrs().next_hop {
                NextHop::Empty => false,
                NextHop::V4(a) => within(nets, IpAddr::V4(a)),
                NextHop::V6 { global, link_local } => {
                    within(nets, IpAddr::V6(global))
                        || link_local.is_some_and(|l| within(nets, IpAddr::V6(l)))
                }
            },
            Condition::Origin(origins) => ev
                .attrs()
                .attributes
                .origin
                .is_some_and(|o| origins.contains(&o)),
            Condition::Family(families) => families.contains(&ev.subject.family),
            Condition::Not(inner) => !inner.holds(ev),
        }
    }
}
