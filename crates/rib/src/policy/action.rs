//! What a rule changes. Every action first works out whether it changes
//! anything, and only then asks for a copy of the attributes to change
//! ([`Eval::attrs_mut`]): a rule that sets what is already there copies
//! nothing.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;

use ribbit_wire::attribute::{AsPath, Community, ExtendedCommunity, LargeCommunity};
use ribbit_wire::update::NextHop;
use ribbit_wire::{Family, Origin};

use super::community::{CommunitySet, CommunityValue};
use super::Eval;

/// The LOCAL_PREF of a route that has none, as the decision process
/// reads it; `+N` and `-N` start from it.
pub const DEFAULT_LOCAL_PREF: u32 = 100;

/// A new value for LOCAL_PREF or MED.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Amount {
    /// `N`: this value.
    Set(u32),
    /// `+N`: the current value plus N, at most 4294967295.
    Add(u32),
    /// `-N`: the current value minus N, at least 0.
    Subtract(u32),
}

impl Amount {
    /// The value that results from `current`.
    pub fn apply(self, current: u32) -> u32 {
        match self {
            Amount::Set(v) => v,
            Amount::Add(v) => current.saturating_add(v),
            Amount::Subtract(v) => current.saturating_sub(v),
        }
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Amount::Set(v) => write!(f, "{v}"),
            Amount::Add(v) => write!(f, "+{v}"),
            Amount::Subtract(v) => write!(f, "-{v}"),
        }
    }
}

/// Why an amount cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidAmount(pub String);

impl fmt::Display for InvalidAmount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not a value from 0 to 4294967295, +N or -N",
            self.0
        )
    }
}

impl std::error::Error for InvalidAmount {}

/// `N`, `+N` or `-N`, N from 0 to 4294967295.
impl FromStr for Amount {
    type Err = InvalidAmount;

    fn from_str(s: &str) -> Result<Amount, InvalidAmount> {
        let t = s.trim();
        let number = |n: &str| {
            // `u32::from_str` takes a leading `+`; here the sign was
            // already read, so a second one is refused.
            if n.starts_with(['+', '-']) {
                return Err(InvalidAmount(s.to_string()));
            }
            n.trim()
                .parse::<u32>()
                .map_err(|_| InvalidAmount(s.to_string()))
        };
        if let Some(n) = t.strip_prefix('+') {
            number(n).map(Amount::Add)
        } else if let Some(n) = t.strip_prefix('-') {
            number(n).map(Amount::Subtract)
        } else {
            number(t).map(Amount::Set)
        }
    }
}

/// Where `next-hop` points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NextHopAction {
    /// `self`: our address on the session ([`super::PeerFacts::local_address`]
    /// of the subject's peer).
    SelfAddress,
    /// `peer`: the address of the subject's peer.
    Peer,
    /// This address.
    Address(IpAddr),
}

/// The next hop of `family` that `addr` gives, if it can be one: an IPv4
/// address for IPv4 families; an IPv6 address for IPv6 families, where an
/// IPv4 address is written as `::ffff:a.b.c.d` (RFC 4291 §2.5.5.2), as a
/// static route's is. An IPv6 address for an IPv4 family would need
/// extended next hop (RFC 8950) and gives nothing, and so does a route
/// without a next hop (Flowspec).
fn next_hop_of(family: Family, addr: IpAddr, current: &NextHop) -> Option<NextHop> {
    if *current == NextHop::Empty {
        return None;
    }
    match (family.is_ipv6(), addr) {
        (false, IpAddr::V4(a)) => Some(NextHop::V4(a)),
        (false, IpAddr::V6(_)) => None,
        (true, IpAddr::V6(a)) => Some(NextHop::V6 {
            global: a,
            link_local: None,
        }),
        (true, IpAddr::V4(a)) => Some(NextHop::V6 {
            global: a.to_ipv6_mapped(),
            link_local: None,
        }),
    }
}

/// A change to the communities of one kind, done in this order: `set`
/// replaces the list, `remove` drops those in any of the sets, `add`
/// appends those not already there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommunityEdit<T: CommunityValue> {
    /// The new list, replacing the old one.
    pub set: Option<Vec<T>>,
    /// Communities to drop: exact values, patterns and named sets.
    pub remove: Vec<Arc<CommunitySet<T>>>,
    /// Communities to add.
    pub add: Vec<T>,
}

impl<T: CommunityValue> Default for CommunityEdit<T> {
    fn default() -> Self {
        CommunityEdit {
            set: None,
            remove: Vec::new(),
            add: Vec::new(),
        }
    }
}

impl<T: CommunityValue> CommunityEdit<T> {
    /// The list that results from `current`, or `None` when it is the same.
    fn result(&self, current: &[T]) -> Option<Vec<T>> {
        let base: &[T] = self.set.as_deref().unwrap_or(current);
        let removed = |c: &T| self.remove.iter().any(|s| s.contains(*c));
        let needs_remove = base.iter().any(removed);
        let needs_add = self.add.iter().any(|a| !base.contains(a));
        if !needs_remove && !needs_add {
            return (base != current).then(|| base.to_vec());
        }
        let mut out: Vec<T> = base.iter().copied().filter(|c| !removed(c)).collect();
        for a in &self.add {
            if !out.contains(a) {
                out.push(*a);
            }
        }
        (out != current).then_some(out)
    }

    fn apply(&self, ev: &mut Eval<'_>) {
        if let Some(new) = self.result(T::list(&ev.attrs().attributes)) {
            *T::list_mut(&mut ev.attrs_mut().attributes) = new;
        }
    }
}

/// One change a rule makes to a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Set ORIGIN.
    Origin(Origin),
    /// Prepend an AS to the AS path.
    AsPathPrepend {
        /// The AS; `None`: our AS on the session
        /// ([`super::PeerFacts::local_asn`] of the subject's peer).
        asn: Option<u32>,
        /// How many times.
        count: u8,
    },
    /// Set the next hop.
    NextHop(NextHopAction),
    /// Set LOCAL_PREF, or add to it or subtract from it.
    LocalPref(Amount),
    /// Set MED, or add to it or subtract from it (a missing MED counts as 0).
    Med(Amount),
    /// Change the communities.
    Communities(CommunityEdit<Community>),
    /// Change the extended communities.
    ExtendedCommunities(CommunityEdit<ExtendedCommunity>),
    /// Change the large communities.
    LargeCommunities(CommunityEdit<LargeCommunity>),
}

impl Action {
    /// Change the route in `ev`, copying its attributes only if something
    /// changes.
    pub(super) fn apply(&self, ev: &mut Eval<'_>) {
        match self {
            Action::Origin(o) => {
                if ev.attrs().attributes.origin != Some(*o) {
                    ev.attrs_mut().attributes.origin = Some(*o);
                }
            }
            Action::AsPathPrepend { asn, count } => {
                if *count == 0 {
                    return;
                }
                let asn = asn.unwrap_or(ev.subject.peer.local_asn);
                let attrs = ev.attrs_mut();
                attrs
                    .attributes
                    .as_path
                    .get_or_insert_with(AsPath::default)
                    .prepend(asn, usize::from(*count));
                ev.as_path_changed();
            }
            Action::NextHop(target) => {
                let addr = match target {
                    NextHopAction::SelfAddress => ev.subject.peer.local_address,
                    NextHopAction::Peer => Some(ev.subject.peer.address),
                    NextHopAction::Address(a) => Some(*a),
                };
                let current = ev.attrs().next_hop;
                let new = addr.and_then(|a| next_hop_of(ev.subject.family, a, &current));
                if let Some(new) = new.filter(|n| *n != current) {
                    ev.attrs_mut().next_hop = new;
                }
            }
            Action::LocalPref(amount) => {
                let current = ev.attrs().attributes.local_pref;
                let new = amount.apply(current.unwrap_or(DEFAULT_LOCAL_PREF));
                if current != Some(new) {
                    ev.attrs_mut().attributes.local_pref = Some(new);
                }
            }
            Action::Med(amount) => {
                let current = ev.attrs().attributes.med;
                let new = amount.apply(current.unwrap_or(0));
                if current != Some(new) {
                    ev.attrs_mut().attributes.med = Some(new);
                }
            }
            Action::Communities(edit) => edit.apply(ev),
            Action::ExtendedCommunities(edit) => edit.apply(ev),
            Action::LargeCommunities(edit) => edit.apply(ev),
        }
    }
}
