//! A family's destinations by number: an ordered index from key to a
//! stable destination number, and the destinations themselves in a dense
//! array by that number.
//!
//! The number is what the change log carries and what each neighbor's
//! Adj-RIB-Out is indexed by, so that producing a neighbor's messages
//! reads the destination and what the neighbor was sent at two known
//! places (two cache misses at most, none when the numbers come in order),
//! instead of searching two large ordered maps. Numbers are handed out in
//! order of arrival, so a full table arriving in random prefix order is
//! still read and written sequentially in the arrays.
//!
//! ```text
//!   index (ordered, by key)        dests (by number)       Adj-RIB-Out of a neighbor
//!   10.0.0.0/8   -> 2              0: [path, path]         0: hash sent
//!   10.1.0.0/16  -> 0              1: []  (idle)           1: 0 (nothing)
//!   192.0.2.0/24 -> 1              2: [path]               2: hash sent
//! ```
//!
//! A destination that loses its last path keeps its number ("idle") while
//! anything may still refer to it: an entry of the change log, a
//! neighbor's Adj-RIB-Out (the withdrawal is not sent yet), a route
//! injected for a neighbor. The family frees idle numbers once nothing
//! does ([`Dests::idle`], [`Dests::release`]), so that a number is never
//! reused while something could mistake the new destination for the old.

use crate::chunk_map::{ChunkMap, Radix};
use crate::table::Dest;

/// Keys [`Dests::for_each_mut`] takes at a time to visit in number order
/// (16 bytes each while it runs).
const VISIT_BATCH: usize = 65_536;

/// The destinations of one family, by key and by number.
#[derive(Debug)]
pub(crate) struct Dests<K, X> {
    /// Key to number, in key order (walks, queries, import).
    index: ChunkMap<K, u32>,
    /// Destinations by number; freed numbers hold an empty one.
    dests: Vec<Dest<X>>,
    /// Numbers free for reuse.
    free: Vec<u32>,
    /// Numbers of destinations left without a path, with their keys: to
    /// free once nothing refers to them.
    idle: Vec<(u32, K)>,
    /// Destinations with at least one path.
    live: usize,
}

impl<K: Ord + Clone + Radix, X> Default for Dests<K, X> {
    fn default() -> Self {
        Dests {
            index: ChunkMap::new(),
            dests: Vec::new(),
            free: Vec::new(),
            idle: Vec::new(),
            live: 0,
        }
    }
}

impl<K: Ord + Clone + Radix, X> Dests<K, X> {
    /// Destinations with at least one path.
    pub fn live(&self) -> usize {
        self.live
    }

    /// Keys in the index, idle ones included.
    pub fn indexed(&self) -> usize {
        self.index.len()
    }

    /// Numbers handed out, free ones included (for tests).
    #[cfg(test)]
    pub fn numbers(&self) -> usize {
        self.dests.len()
    }

    /// The number of `key`.
    pub fn id(&self, key: &K) -> Option<u32> {
        self.index.get(key).copied()
    }

    /// Bring into the cache what looking up each of `keys` reads
    /// ([`ChunkMap::warm`]): for the prefixes of many UPDATEs, before they
    /// are applied one by one.
    pub fn warm(&self, keys: &[K]) -> u64 {
        self.index.warm(keys)
    }

    /// The destination numbered `id`.
    pub fn at(&self, id: u32) -> Option<&Dest<X>> {
        self.dests.get(id as usize)
    }

    /// The destination numbered `id`, to change (see [`Dests::changed`]).
    pub fn at_mut(&mut self, id: u32) -> Option<&mut Dest<X>> {
        self.dests.get_mut(id as usize)
    }

    /// The destination of `key`, with or without paths.
    pub fn get(&self, key: &K) -> Option<&Dest<X>> {
        self.at(self.id(key)?)
    }

    /// The destination of `key` when it has a path.
    pub fn get_live(&self, key: &K) -> Option<&Dest<X>> {
        self.get(key).filter(|d| !d.is_empty())
    }

    /// The number of `key`, given one when it has none; and whether it was
    /// new (its destination is empty then).
    pub fn entry(&mut self, key: K) -> Option<(u32, bool)> {
        let free = &mut self.free;
        let dests = &mut self.dests;
        self.index.get_or_insert_copy(key, || match free.pop() {
            Some(id) => id,
            None => {
                dests.push(Dest::default());
                u32::try_from(dests.len() - 1).unwrap_or(u32::MAX)
            }
        })
    }

    /// Take back a number [`Dests::entry`] just gave and nothing used.
    pub fn discard(&mut self, key: &K, id: u32) {
        if self.at(id).is_some_and(Dest::is_empty) && self.index.remove(key).is_some() {
            self.free.push(id);
        }
    }

    /// Record that the destination `id` of `key` went from `was_empty` to
    /// its current state: counts it, and keeps an emptied one idle.
    pub fn changed(&mut self, id: u32, key: &K, was_empty: bool) {
        let empty = self.at(id).is_none_or(Dest::is_empty);
        match (was_empty, empty) {
            (true, false) => self.live = self.live.saturating_add(1),
            (false, true) => {
                self.live = self.live.saturating_sub(1);
                self.idle.push((id, key.clone()));
            }
            _ => {}
        }
    }

    /// Keep a destination made for something other than a path (a route
    /// injected for a neighbor) idle, so that its number is freed later.
    pub fn keep_idle(&mut self, id: u32, key: K) {
        self.idle.push((id, key));
    }

    /// How many numbers wait to be freed.
    pub fn idle(&self) -> usize {
        self.idle.len()
    }

    /// Free the idle numbers that nothing refers to any more (`held`:
    /// whether something still does), forgetting their keys; the others
    /// stay idle. Only to be called when no change log entry is unread.
    pub fn release(&mut self, mut held: impl FnMut(u32, &K) -> bool) {
        let mut idle = std::mem::take(&mut self.idle);
        // In number order: the destinations and the Adj-RIB-Outs `held`
        // reads are read in increasing addresses. An idle entry's key has
        // its number in the index until the number is freed here, so a
        // number listed twice is the same destination: freed once.
        idle.sort_unstable_by_key(|(id, _)| *id);
        idle.dedup_by_key(|(id, _)| *id);
        let bulk = idle.len() > self.index.len() / 16;
        let mut gone: Vec<u32> = Vec::new();
        let mut mask = if bulk {
            vec![false; self.dests.len()]
        } else {
            Vec::new()
        };
        for (id, key) in idle {
            if !self.at(id).is_some_and(Dest::is_empty) {
                // Back in use.
                continue;
            }
            if held(id, &key) {
                self.idle.push((id, key));
            } else if bulk {
                if let Some(m) = mask.get_mut(id as usize) {
                    *m = true;
                }
            } else if self.index.get(&key) == Some(&id) {
                self.index.remove(&key);
                gone.push(id);
            }
        }
        if bulk {
            // Many (a neighbor's whole table): one pass over the index.
            self.index.retain(|_, id| {
                let free = mask.get(*id as usize).copied().unwrap_or(false);
                if free {
                    gone.push(*id);
                }
                !free
            });
        }
        for id in gone {
            if let Some(d) = self.dests.get_mut(id as usize) {
                *d = Dest::default();
            }
            self.free.push(id);
        }
    }

    /// The keys from `start` on with their numbers, in key order, idle
    /// ones included.
    pub fn keys_from(&self, start: std::ops::Bound<K>) -> impl Iterator<Item = (&K, u32)> + '_ {
        self.index.range_from(start).map(|(k, id)| (k, *id))
    }

    /// Every destination with a path, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &Dest<X>)> + '_ {
        self.index
            .iter()
            .filter_map(|(k, id)| Some((k, self.dests.get(*id as usize)?)))
            .filter(|(_, d)| !d.is_empty())
    }

    /// Destinations with a path from `start` on, in key order.
    pub fn range_from(
        &self,
        start: std::ops::Bound<K>,
    ) -> impl Iterator<Item = (&K, &Dest<X>)> + '_ {
        self.index
            .range_from(start)
            .filter_map(|(k, id)| Some((k, self.dests.get(*id as usize)?)))
            .filter(|(_, d)| !d.is_empty())
    }

    /// Destinations with a path with keys in `start..=end`, in key order.
    pub fn range_inclusive(&self, start: K, end: K) -> impl Iterator<Item = (&K, &Dest<X>)> + '_ {
        self.index
            .range_inclusive(start, end)
            .filter_map(|(k, id)| Some((k, self.dests.get(*id as usize)?)))
            .filter(|(_, d)| !d.is_empty())
    }

    /// The first key (idle ones included) and its number.
    pub fn first(&self) -> Option<(&K, u32)> {
        self.index.first().map(|(k, id)| (k, *id))
    }

    /// The first key after `key` (idle ones included) and its number.
    pub fn next_after(&self, key: &K) -> Option<(&K, u32)> {
        self.index.next_after(key).map(|(k, id)| (k, *id))
    }

    /// Visit every destination with a path to change it, in key order by
    /// batches and in number order within each (`f` gets the key, the
    /// number and the destination; emptied ones become idle).
    pub fn for_each_mut(&mut self, mut f: impl FnMut(&K, u32, &mut Dest<X>)) {
        let Dests {
            index,
            dests,
            idle,
            live,
            ..
        } = self;
        // In key order the numbers, given in order of arrival, are
        // anywhere: each batch of keys is visited in number order, so that
        // the destinations (and, through the change log, each neighbor's
        // Adj-RIB-Out) are read in increasing addresses, not at random.
        let mut keys = index.iter();
        let mut batch: Vec<(u32, &K)> = Vec::new();
        loop {
            batch.clear();
            batch.extend(keys.by_ref().take(VISIT_BATCH).map(|(k, id)| (*id, k)));
            if batch.is_empty() {
                return;
            }
            batch.sort_unstable_by_key(|(id, _)| *id);
            for &(id, key) in &batch {
                let Some(d) = dests.get_mut(id as usize) else {
                    continue;
                };
                if d.is_empty() {
                    continue;
                }
                f(key, id, d);
                if d.is_empty() {
                    *live = live.saturating_sub(1);
                    idle.push((id, key.clone()));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intern::Interner;
    use crate::route::RouteAttrs;
    use crate::table::Path;
    use ribbit_wire::{NextHop, PathAttributes};

    fn path(i: &mut Interner, peer: u32) -> Path<()> {
        let attrs = i.intern(&RouteAttrs {
            next_hop: NextHop::Empty,
            attributes: PathAttributes::default(),
        });
        Path::new(attrs, peer, None, ())
    }

    #[test]
    fn numbers_are_stable_and_freed_only_when_unheld() {
        let mut i = Interner::new();
        let mut d: Dests<u32, ()> = Dests::default();
        let (a, new) = d.entry(30).unwrap();
        assert!(new);
        let (b, _) = d.entry(10).unwrap();
        assert_eq!(d.entry(30), Some((a, false)));
        for (id, key) in [(a, 30), (b, 10)] {
            d.at_mut(id).unwrap().upsert(path(&mut i, 1));
            d.changed(id, &key, true);
        }
        assert_eq!(d.live(), 2);
        assert_eq!(d.iter().map(|(k, _)| *k).collect::<Vec<_>>(), [10, 30]);
        // Emptied: idle, still numbered, not listed.
        d.at_mut(a).unwrap().remove(1, None);
        d.changed(a, &30, false);
        assert_eq!((d.live(), d.idle(), d.id(&30)), (1, 1, Some(a)));
        assert!(d.get_live(&30).is_none() && d.get(&30).is_some());
        assert_eq!(d.iter().count(), 1);
        // Held: kept.
        d.release(|id, _| id == a);
        assert_eq!((d.idle(), d.id(&30)), (1, Some(a)));
        // Back in use before being freed: no longer idle.
        d.at_mut(a).unwrap().upsert(path(&mut i, 2));
        d.changed(a, &30, true);
        d.release(|_, _| false);
        assert_eq!((d.idle(), d.id(&30), d.live()), (0, Some(a), 2));
        // Emptied twice: listed twice, freed once, its number reused.
        for _ in 0..2 {
            d.at_mut(a).unwrap().remove(2, None);
            d.changed(a, &30, false);
            d.at_mut(a).unwrap().upsert(path(&mut i, 2));
            d.changed(a, &30, true);
        }
        d.at_mut(a).unwrap().remove(2, None);
        d.changed(a, &30, false);
        d.release(|_, _| false);
        assert_eq!((d.idle(), d.id(&30), d.live()), (0, None, 1));
        assert_eq!(d.entry(20), Some((a, true)));
        assert_eq!(d.entry(40).map(|(id, _)| id), Some(2));
        // An unused new number is taken back.
        d.discard(&40, 2);
        assert_eq!(d.id(&40), None);
        assert_eq!(d.entry(50), Some((2, true)));
        // Emptied while visiting: idle.
        d.for_each_mut(|_, _, dest| {
            dest.retain(|_| false);
        });
        assert_eq!((d.live(), d.idle()), (0, 1));
    }
}
