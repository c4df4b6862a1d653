//! Attribute sets shared by every path that carries them.
//!
//! A full table has about a million prefixes but only 150,000 to 400,000
//! distinct attribute sets: storing each set once and pointing to it from
//! every path is most of the memory a RIB saves. [`Interner::intern`] returns
//! the one shared copy of a set (hash-consing); [`Interner::purge`] drops the
//! sets no path uses any more, so memory follows the table, not its history.

use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use crate::route::RouteAttrs;

/// One interned set: the attributes and a number that names it for as
/// long as the interner lives.
#[derive(Debug)]
struct Shared {
    id: u64,
    attrs: RouteAttrs,
}

/// A shared, immutable attribute set. Equal sets interned by one
/// [`Interner`] are the same allocation, so comparing two is a pointer
/// comparison ([`AttrSet::same`]).
#[derive(Debug, Clone)]
pub struct AttrSet(Arc<Shared>);

impl AttrSet {
    /// A set that belongs to no interner (for views built on demand);
    /// its [`AttrSet::id`] is 0.
    pub fn detached(attrs: RouteAttrs) -> AttrSet {
        AttrSet(Arc::new(Shared { id: 0, attrs }))
    }

    /// The attributes.
    pub fn get(&self) -> &RouteAttrs {
        &self.0.attrs
    }

    /// The number the interner gave this set, unique among the sets it
    /// ever held (never reused, so it can key caches that outlive the set).
    pub fn id(&self) -> u64 {
        self.0.id
    }

    /// The address of the shared copy: equal for equal sets of one
    /// interner, for as long as the set lives.
    pub(crate) fn addr(&self) -> usize {
        Arc::as_ptr(&self.0) as usize
    }

    /// Whether two handles point to the same interned set.
    pub fn same(&self, other: &AttrSet) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// How many handles share this set (the interner's own included).
    pub fn users(&self) -> usize {
        Arc::strong_count(&self.0)
    }
}

impl std::ops::Deref for AttrSet {
    type Target = RouteAttrs;

    fn deref(&self) -> &RouteAttrs {
        &self.0.attrs
    }
}

/// Keyed by content, so a set can be found from a freshly decoded copy.
#[derive(Debug)]
struct Entry(Arc<Shared>);

impl PartialEq for Entry {
    fn eq(&self, other: &Entry) -> bool {
        self.0.attrs == other.0.attrs
    }
}

impl Eq for Entry {}

impl Hash for Entry {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.attrs.hash(state);
    }
}

impl std::borrow::Borrow<RouteAttrs> for Entry {
    fn borrow(&self) -> &RouteAttrs {
        &self.0.attrs
    }
}

/// The table of distinct attribute sets.
#[derive(Debug, Default)]
pub struct Interner {
    sets: HashSet<Entry>,
    next_id: u64,
}

impl Interner {
    /// An empty interner.
    pub fn new() -> Interner {
        Interner::default()
    }

    /// The shared copy of `attributes`, adding it if it is new.
    pub fn intern(&mut self, attributes: RouteAttrs) -> AttrSet {
        if let Some(e) = self.sets.get(&attributes) {
            return AttrSet(Arc::clone(&e.0));
        }
        self.next_id = self.next_id.wrapping_add(1);
        let shared = Arc::new(Shared {
            id: self.next_id,
            attrs: attributes,
        });
        self.sets.insert(Entry(Arc::clone(&shared)));
        AttrSet(shared)
    }

    /// The shared copy of an attribute set the caller only borrows (no
    /// clone when it is already known).
    pub fn intern_ref(&mut self, attributes: &RouteAttrs) -> AttrSet {
        match self.sets.get(attributes) {
            Some(e) => AttrSet(Arc::clone(&e.0)),
            None => self.intern(attributes.clone()),
        }
    }

    /// Drop the sets that nothing but the interner holds; returns how many.
    pub fn purge(&mut self) -> usize {
        self.purge_with(|_| {})
    }

    /// [`Interner::purge`], telling `dropped` the [`AttrSet::id`] of each
    /// set dropped (so that caches keyed by it can forget it).
    pub fn purge_with(&mut self, mut dropped: impl FnMut(u64)) -> usize {
        let before = self.sets.len();
        self.sets.retain(|e| {
            let keep = Arc::strong_count(&e.0) > 1;
            if !keep {
                dropped(e.0.id);
            }
            keep
        });
        before.saturating_sub(self.sets.len())
    }

    /// The number of distinct sets held.
    pub fn len(&self) -> usize {
        self.sets.len()
    }

    /// Whether no set is held.
    pub fn is_empty(&self) -> bool {
        self.sets.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ribbit_wire::attribute::{AsPath, Community, Origin};
    use ribbit_wire::update::NextHop;
    use ribbit_wire::PathAttributes;

    fn attrs(asn: u32, community: u32) -> RouteAttrs {
        RouteAttrs {
            next_hop: NextHop::V4("192.0.2.1".parse().unwrap()),
            attributes: PathAttributes {
                origin: Some(Origin::Igp),
                as_path: Some(AsPath::sequence(vec![asn])),
                communities: vec![Community(community)],
                ..PathAttributes::default()
            },
        }
    }

    #[test]
    fn equal_sets_are_shared_and_purged_when_unused() {
        let mut interner = Interner::new();
        let a = interner.intern(attrs(65001, 1));
        let b = interner.intern_ref(&attrs(65001, 1));
        let c = interner.intern(attrs(65002, 1));
        assert!(a.same(&b));
        assert!(!a.same(&c));
        assert_eq!(interner.len(), 2);
        assert_eq!(a.users(), 3);
        assert_eq!(a.attributes.as_path, Some(AsPath::sequence(vec![65001])));
        drop(c);
        assert_eq!(interner.purge(), 1);
        assert_eq!(interner.len(), 1);
        drop((a, b));
        assert_eq!(interner.purge(), 1);
        assert!(interner.is_empty());
    }

    #[test]
    fn a_table_shares_its_sets() {
        // 10,000 paths over 300 distinct sets: 300 allocations, not 10,000.
        let mut interner = Interner::new();
        let paths: Vec<AttrSet> = (0..10_000u32)
            .map(|i| interner.intern(attrs(64_512 + i % 300, 7)))
            .collect();
        assert_eq!(interner.len(), 300);
        assert!(paths[0].same(&paths[300]));
        assert_eq!(interner.purge(), 0);
    }
}
