//! Routing policies: named lists of rules that match routes and accept,
//! reject or change them, applied on import (from a neighbor, before the
//! decision process) and on export (to a neighbor, after the export rules).
//!
//! The model is that of GoBGP's statements and BIRD's filters:
//! - a [`Policy`] is a name and an ordered list of [`Rule`]s;
//! - a rule has [`Condition`]s, all of which must hold for it to match,
//!   [`Action`]s that change the route when it matches, and optionally a
//!   final [`Verdict`];
//! - a [`PolicyChain`] is the policies of one direction of one neighbor, in
//!   order, and a default verdict.
//!
//! A route goes through the rules of the first policy, then of the next,
//! and so on. A matching rule with a verdict ends the evaluation of the
//! whole chain there; a matching rule without one applies its changes and
//! evaluation goes on with the next rule, whose conditions see the changed
//! route. A route that reaches the end of the chain gets the chain's
//! default verdict, with the changes made on the way.
//!
//! Sets of prefixes, AS-path expressions and communities are built once
//! ([`PrefixSet`], [`AsPathSet`], [`CommunitySet`]) and shared by the rules
//! that name them. Applying a chain copies the attributes only when an
//! action changes them, and builds the AS path's text at most once per
//! route (again after a prepend).

mod action;
mod as_path;
mod community;
mod condition;
mod prefix_set;

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;

use ipnet::IpNet;
use ribbit_wire::Family;

use crate::route::RouteAttrs;

pub use action::{Action, Amount, CommunityEdit, InvalidAmount, NextHopAction, DEFAULT_LOCAL_PREF};
pub use as_path::{as_path_text, write_as_path_text, AsPathSet, InvalidAsPathRegex};
pub use community::{
    AdminPattern, CommunityPattern, CommunitySet, CommunityValue, Entry, ExtendedCommunityPattern,
    Field, InvalidCommunityEntry, LargeCommunityPattern,
};
pub use condition::{parse_address_or_prefix, Condition, InvalidAddress};
pub use prefix_set::{InvalidPrefixEntry, PrefixEntry, PrefixSet};

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Verdict {
    /// Accepted.
    #[default]
    Accept,
    /// Rejected.
    Reject,
}

impl Verdict {
    /// `accept` or `reject`.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Accept => "accept",
            Verdict::Reject => "reject",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A verdict other than `accept` or `reject`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidVerdict(pub String);

impl fmt::Display for InvalidVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} is not accept or reject", self.0)
    }
}

impl std::error::Error for InvalidVerdict {}

impl FromStr for Verdict {
    type Err = InvalidVerdict;

    fn from_str(s: &str) -> Result<Verdict, InvalidVerdict> {
        match s.trim() {
            "accept" => Ok(Verdict::Accept),
            "reject" => Ok(Verdict::Reject),
            other => Err(InvalidVerdict(other.to_string())),
        }
    }
}

/// One rule: when all its conditions hold (or it has none), its actions
/// change the route and its verdict, if any, ends the evaluation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rule {
    /// A name for people, if given.
    pub name: Option<String>,
    /// What must hold, all of it.
    pub conditions: Vec<Condition>,
    /// What changes, in this order.
    pub actions: Vec<Action>,
    /// Accept or reject, ending the evaluation; `None`: go on.
    pub verdict: Option<Verdict>,
}

/// A named, ordered list of rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Its name, unique in a [`Policies`].
    pub name: String,
    /// The rules, tried in order.
    pub rules: Vec<Rule>,
}

/// The policies of one direction of one neighbor, applied in order, and
/// what happens to a route none of them decided.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyChain {
    /// The policies, in order.
    pub policies: Vec<Arc<Policy>>,
    /// What happens when no policy decides.
    pub default: Verdict,
}

/// The state of one route going through a chain: the attributes as
/// received and the changed copy, made on the first change; the AS path's
/// text, made on the first AS-path condition.
pub(crate) struct Eval<'a> {
    subject: &'a Subject<'a>,
    original: &'a RouteAttrs,
    changed: Option<Box<RouteAttrs>>,
    path_text: Option<String>,
}

impl<'a> Eval<'a> {
    fn new(subject: &'a Subject<'a>, original: &'a RouteAttrs) -> Self {
        Eval {
            subject,
            original,
            changed: None,
            path_text: None,
        }
    }

    /// The route as the rules so far have left it.
    fn attrs(&self) -> &RouteAttrs {
        self.changed.as_deref().unwrap_or(self.original)
    }

    /// The route, to change: copied on the first call.
    fn attrs_mut(&mut self) -> &mut RouteAttrs {
        let original = self.original;
        self.changed
            .get_or_insert_with(|| Box::new(original.clone()))
    }

    /// The text of the AS path (see [`as_path_text`]).
    fn as_path_text(&mut self) -> &str {
        if self.path_text.is_none() {
            let mut text = String::new();
            if let Some(path) = &self.attrs().attributes.as_path {
                write_as_path_text(path, &mut text);
            }
            self.path_text = Some(text);
        }
        self.path_text.as_deref().unwrap_or_default()
    }

    /// The AS path changed: its text must be made again.
    fn as_path_changed(&mut self) {
        self.path_text = None;
    }

    /// Accept, with the changed attributes if they differ from those
    /// received (changes may have undone each other).
    fn accept(self) -> Outcome {
        match self.changed {
            Some(changed) if *changed != *self.original => Outcome::Accept(Some(changed)),
            _ => Outcome::Accept(None),
        }
    }
}

impl PolicyChain {
    /// No policy: every route passes unchanged.
    pub fn accept_all() -> PolicyChain {
        PolicyChain::default()
    }

    /// No policy, and every route is rejected.
    pub fn reject_all() -> PolicyChain {
        PolicyChain {
            policies: Vec::new(),
            default: Verdict::Reject,
        }
    }

    /// These policies, in order, then `default`.
    pub fn new(policies: Vec<Arc<Policy>>, default: Verdict) -> PolicyChain {
        PolicyChain { policies, default }
    }

    /// Whether applying the chain can neither reject nor change a route,
    /// so that callers can skip it.
    pub fn is_pass_through(&self) -> bool {
        self.policies.is_empty() && self.default == Verdict::Accept
    }

    /// Whether the chain uses the policy of this name, so that a change
    /// to it re-evaluates the routes the chain applies to.
    pub fn uses(&self, policy: &str) -> bool {
        self.policies.iter().any(|p| p.name == policy)
    }

    /// Apply the chain to a route.
    pub fn apply(&self, subject: &Subject<'_>, attrs: &RouteAttrs) -> Outcome {
        let mut ev = Eval::new(subject, attrs);
        for policy in &self.policies {
            for rule in &policy.rules {
                if !rule.conditions.iter().all(|c| c.holds(&mut ev)) {
                    continue;
                }
                for action in &rule.actions {
                    action.apply(&mut ev);
                }
                match rule.verdict {
                    Some(Verdict::Reject) => return Outcome::Reject,
                    Some(Verdict::Accept) => return ev.accept(),
                    None => {}
                }
            }
        }
        match self.default {
            Verdict::Accept => ev.accept(),
            Verdict::Reject => Outcome::Reject,
        }
    }
}

/// A policy name that no policy has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownPolicy(pub String);

impl fmt::Display for UnknownPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "there is no policy named {:?}", self.0)
    }
}

impl std::error::Error for UnknownPolicy {}

/// The policies by name, from which the chains of the neighbors are built.
/// Replacing a policy here does not change the chains already built: the
/// caller builds them again (and re-evaluates the routes of the chains that
/// [use](PolicyChain::uses) it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policies {
    by_name: BTreeMap<String, Arc<Policy>>,
}

impl Policies {
    /// No policies.
    pub fn new() -> Policies {
        Policies::default()
    }

    /// Add a policy, replacing the one of the same name, which is returned.
    pub fn insert(&mut self, policy: Policy) -> Option<Arc<Policy>> {
        self.by_name.insert(policy.name.clone(), Arc::new(policy))
    }

    /// Remove a policy.
    pub fn remove(&mut self, name: &str) -> Option<Arc<Policy>> {
        self.by_name.remove(name)
    }

    /// The policy of this name.
    pub fn get(&self, name: &str) -> Option<&Arc<Policy>> {
        self.by_name.get(name)
    }

    /// The policies, by name.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Policy>> {
        self.by_name.values()
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// The chain of the policies named, in order, then `default`; an error
    /// names the first name that no policy has.
    pub fn chain<S: AsRef<str>>(
        &self,
        names: &[S],
        default: Verdict,
    ) -> Result<PolicyChain, UnknownPolicy> {
        let policies = names
            .iter()
            .map(|n| {
                self.get(n.as_ref())
                    .cloned()
                    .ok_or_else(|| UnknownPolicy(n.as_ref().to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(PolicyChain::new(policies, default))
    }
}

#[cfg(test)]
mod tests;
