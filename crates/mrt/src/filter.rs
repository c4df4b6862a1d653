//! Which routes and events of a dump a reader wants: by prefix, origin AS,
//! peer and kind. Filters of different kinds must all hold; the values of
//! one kind are alternatives.

use std::net::IpAddr;

use ribbit_wire::attribute::SegmentType;
use ribbit_wire::{AsPath, Prefix};

use crate::view::OriginAs;

/// What a line of output is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A path of a RIB dump (TABLE_DUMP, TABLE_DUMP_V2).
    Table,
    /// A route announced by an UPDATE (BGP4MP).
    Update,
    /// A route withdrawn by an UPDATE (BGP4MP).
    Withdraw,
    /// A session state change (BGP4MP STATE_CHANGE).
    State,
    /// Another BGP message: OPEN, NOTIFICATION, KEEPALIVE, ROUTE-REFRESH.
    Message,
}

impl Kind {
    fn bit(self) -> u8 {
        match self {
            Kind::Table => 1,
            Kind::Update => 2,
            Kind::Withdraw => 4,
            Kind::State => 8,
            Kind::Message => 16,
        }
    }
}

/// How a prefix filter compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrefixMatch {
    /// The very prefix.
    Exact,
    /// The prefix or one inside it.
    MoreSpecific,
}

/// The selection. The default keeps everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Prefixes; a route matches when it matches one of them.
    pub prefixes: Vec<(Prefix, PrefixMatch)>,
    /// Origin AS numbers (the last AS of the path, or a member of a final
    /// AS_SET).
    pub origin_as: Vec<u32>,
    /// Peer addresses.
    pub peers: Vec<IpAddr>,
    /// Kinds of line, as a bit set; 0 keeps every kind.
    kinds: u8,
}

impl Filter {
    /// Keep lines of `kind` (in addition to those kept already; by default
    /// every kind is kept).
    pub fn allow(&mut self, kind: Kind) {
        self.kinds |= kind.bit();
    }

    /// Whether lines of `kind` can be kept at all.
    pub fn wants(&self, kind: Kind) -> bool {
        self.kinds == 0 || self.kinds & kind.bit() != 0
    }

    /// Whether the origin AS is needed to decide (so that readers compute it
    /// only then).
    pub fn needs_origin(&self) -> bool {
        !self.origin_as.is_empty()
    }

    /// Whether lines about routes without a prefix (state changes, other
    /// messages) can be kept: not when a prefix or an origin is asked for.
    pub fn wants_routeless(&self) -> bool {
        self.prefixes.is_empty() && self.origin_as.is_empty()
    }

    /// Whether `peer` passes the peer filter.
    pub fn peer(&self, peer: IpAddr) -> bool {
        self.peers.is_empty() || self.peers.contains(&peer)
    }

    /// Whether `prefix` passes the prefix filter.
    pub fn prefix(&self, prefix: &Prefix) -> bool {
        self.prefixes.is_empty()
            || self.prefixes.iter().any(|(p, how)| match how {
                PrefixMatch::Exact => p == prefix,
                PrefixMatch::MoreSpecific => p.contains(prefix),
            })
    }

    /// Whether `origin` passes the origin filter.
    pub fn origin(&self, origin: &OriginAs<'_>) -> bool {
        self.origin_as.is_empty() || self.origin_as.iter().any(|a| origin.is(*a))
    }

    /// Whether a decoded AS_PATH passes the origin filter: its last AS when
    /// it ends with a sequence, any member of a final set.
    pub fn origin_path(&self, path: Option<&AsPath>) -> bool {
        if self.origin_as.is_empty() {
            return true;
        }
        let Some(last) = path.and_then(|p| p.segments.last()) else {
            return false;
        };
        match last.kind {
            SegmentType::Sequence | SegmentType::ConfedSequence => {
                last.asns.last().is_some_and(|a| self.origin_as.contains(a))
            }
            SegmentType::Set | SegmentType::ConfedSet => {
                last.asns.iter().any(|a| self.origin_as.contains(a))
            }
        }
    }

    /// Whether a line without a route (a state change or a message) passes.
    pub fn routeless(&self, kind: Kind, peer: IpAddr) -> bool {
        self.wants(kind) && self.wants_routeless() && self.peer(peer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_prefixes_origins_and_peers_combine() {
        let mut f = Filter::default();
        assert!(f.wants(Kind::Table) && f.wants(Kind::State) && f.wants_routeless());
        f.allow(Kind::Withdraw);
        assert!(f.wants(Kind::Withdraw) && !f.wants(Kind::Table));
        f.prefixes
            .push(("10.0.0.0/8".parse().unwrap(), PrefixMatch::MoreSpecific));
        f.prefixes
            .push(("192.0.2.0/24".parse().unwrap(), PrefixMatch::Exact));
        assert!(f.prefix(&"10.1.0.0/16".parse().unwrap()));
        assert!(f.prefix(&"10.0.0.0/8".parse().unwrap()));
        assert!(!f.prefix(&"11.0.0.0/8".parse().unwrap()));
        assert!(f.prefix(&"192.0.2.0/24".parse().unwrap()));
        assert!(!f.prefix(&"192.0.2.0/25".parse().unwrap()));
        assert!(!f.routeless(Kind::Withdraw, "127.0.0.1".parse().unwrap()));
        f.origin_as.push(65001);
        assert!(f.origin(&OriginAs::One(65001)));
        assert!(!f.origin(&OriginAs::One(65002)));
        assert!(!f.origin(&OriginAs::None));
        let set = [0, 0, 0xfd, 0xe9, 0, 0, 0, 7];
        assert!(f.origin(&OriginAs::Set {
            asns: &set,
            width: 4
        }));
        assert!(f.origin_path(Some(&AsPath::sequence(vec![7, 65001]))));
        assert!(!f.origin_path(Some(&AsPath::sequence(vec![65001, 7]))));
        assert!(!f.origin_path(None));
        f.peers.push("127.0.0.1".parse().unwrap());
        assert!(f.peer("127.0.0.1".parse().unwrap()));
        assert!(!f.peer("127.0.0.2".parse().unwrap()));
    }
}
