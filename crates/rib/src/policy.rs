//! Routing policies: named lists of rules that match routes and accept,
//! reject or change them, applied on import (from a neighbor, before the
//! decision process) and on export (to a neighbor, after the export rules).

use std::net::IpAddr;

use ipnet::IpNet;
use ribbit_wire::Family;

use crate::route::RouteAttrs;

/// What a policy is applied to, besides the attributes.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// The route's family.
    pub family: Family,
    /// The destination prefix, for the families that have one (not Flowspec).
    pub prefix: Option<IpNet>,
    /// The neighbor: the one that sent the route on import, the one it is
    /// sent to on export.
    pub peer: &'a PeerFacts,
    /// The neighbor the route was learned from (on import the same as
    /// `peer`); `None` for a locally originated route.
    pub source: Option<&'a PeerFacts>,
}

/// The facts about a neighbor that policies match on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerFacts {
    /// Its address.
    pub address: IpAddr,
    /// Its AS.
    pub asn: u32,
    /// Our AS on the session.
    pub local_asn: u32,
    /// Our address on the session, for `next-hop self`.
    pub local_address: Option<IpAddr>,
}

/// The result of applying policies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The route is dropped.
    Reject,
    /// The route passes; with new attributes when a rule changed them.
    Accept(Option<Box<RouteAttrs>>),
}

/// Whether a route that no rule decided is accepted or rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Verdict {
    /// Accepted.
    #[default]
    Accept,
    /// Rejected.
    Reject,
}

/// The policies of one direction of one neighbor, applied in order, and
/// what happens to a route none of them decided.
#[derive(Debug, Clone, Default)]
pub struct PolicyChain {
    /// What happens when no policy decides.
    pub default: Verdict,
}

impl PolicyChain {
    /// No policy: every route passes unchanged.
    pub fn accept_all() -> PolicyChain {
        PolicyChain::default()
    }

    /// Whether applying the chain can neither reject nor change a route,
    /// so that callers can skip it.
    pub fn is_pass_through(&self) -> bool {
        self.default == Verdict::Accept
    }

    /// Apply the chain to a route.
    pub fn apply(&self, _subject: &Subject<'_>, _attrs: &RouteAttrs) -> Outcome {
        match self.default {
            Verdict::Accept => Outcome::Accept(None),
            Verdict::Reject => Outcome::Reject,
        }
    }
}
