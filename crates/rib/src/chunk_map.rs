//! An ordered map stored as sorted runs ("chunks") of up to [`CHUNK`]
//! entries, themselves found through a small B-tree of separators, and,
//! once large, spread over radix slots by the top bits of the key.
//!
//! A `BTreeMap` keeps its nodes between half and completely full, and a
//! table that arrives in key order (a BGP table dump does) leaves nearly
//! all of them half full: with 8-byte keys and 24-byte values that is
//! about 60 bytes per entry. Here a run that receives keys in order is
//! filled completely before the next one starts, and runs split in the
//! middle only for keys inserted between existing ones, so a table costs
//! close to the size of its entries. A run that keys reach in random
//! order grows its allocation a few entries at a time rather than taking
//! a full run's room at once.
//!
//! A full table is reached in random order (UPDATEs come grouped by
//! attribute set, not by prefix), so each lookup is a chain of cache
//! misses, one per level it goes through. Past [`SPREAD_AT`] entries the
//! map is split into 65,536 independent ones by the key's top 16 bits
//! ([`Radix`], which follows the key order): for IPv4 that is one slot per
//! /16, which holds a few tens of prefixes in a full table. A slot holds
//! its entries as one flat run while they are at most [`FLAT`] (no B-tree:
//! the slot, its keys, its values: three places), and as runs under a
//! B-tree beyond.
//!
//! ```text
//!   slots (by the key's top 16 bits)
//!   ...
//!   [0x0a01] Flat: keys [10.1.0.0/16, 10.1.2.0/24, ...]  vals [7, 3, ...]
//!   [0x0a02] Runs: B-tree { sep -> run of <= 32, sep -> run, ... }
//!   ...
//! ```

use std::collections::BTreeMap;
use std::ops::Bound;

/// Entries at which a map spreads over radix slots: one per slot. The
/// slot array (48 bytes a slot, 3 MiB) costs 48 bytes per entry when it
/// is made and 3 in a full table, and a table on its way to a full one
/// spends little of its load in one deep B-tree.
pub(crate) const SPREAD_AT: usize = 1 << SLOT_BITS;
/// Radix slots of a spread map (the key's top 16 bits).
pub(crate) const SLOT_BITS: u32 = 16;
const SLOTS: usize = 1 << SLOT_BITS;

/// Entries a slot holds as one flat run before it takes a B-tree of runs.
pub(crate) const FLAT: usize = 2 * CHUNK;

/// The top 32 bits of a key's order: `a <= b` implies `a.radix() <=
/// b.radix()`. Keys without such bits keep 0 (one slot).
pub(crate) trait Radix {
    /// Whether a run is searched by comparing every key of it rather than
    /// by halving: for small keys that compare like integers. A run's
    /// keys are reached at random places of a large table, and a binary
    /// search waits for each cache line it reads in turn (and for each
    /// branch it mispredicts), where a scan reads all of them at once.
    const SCAN: bool = false;

    /// The bits.
    fn radix(&self) -> u32 {
        0
    }
}

impl<K: Radix> Radix for (K, u32) {
    fn radix(&self) -> u32 {
        self.0.radix()
    }
}

/// The sorted map.
#[derive(Debug, Clone)]
pub(crate) struct ChunkMap<K, V> {
    /// One map, or [`SLOTS`] by radix.
    slots: Vec<Slot<K, V>>,
    len: usize,
    /// Entries at which it spreads.
    spread_at: usize,
}

impl<K: Ord + Clone + Radix, V> Default for ChunkMap<K, V> {
    fn default() -> Self {
        ChunkMap {
            slots: vec![Slot::default()],
            len: 0,
            spread_at: SPREAD_AT,
        }
    }
}

impl<K: Ord + Clone + Radix, V> ChunkMap<K, V> {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty map that spreads at `n` entries (for tests).
    #[cfg(test)]
    fn spreading_at(n: usize) -> Self {
        ChunkMap {
            spread_at: n,
            ..Self::default()
        }
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn slot(&self, key: &K) -> usize {
        if self.slots.len() == 1 {
            0
        } else {
            (key.radix() >> (32 - SLOT_BITS)) as usize
        }
    }

    /// Spread the entries over the radix slots, in order.
    fn spread(&mut self) {
        let Some(one) = self.slots.pop() else {
            return;
        };
        self.slots = (0..SLOTS).map(|_| Slot::default()).collect();
        let runs = match one {
            Slot::Flat(run) => vec![run],
            Slot::Runs(runs) => runs.runs.into_values().collect(),
        };
        for (k, v) in runs.into_iter().flat_map(Run::into_iter) {
            let i = self.slot(&k);
            if let Some(slot) = self.slots.get_mut(i) {
                slot.insert(k, v);
            }
        }
    }

    /// Spread first when the map has grown to it.
    fn make_room(&mut self) {
        if self.slots.len() == 1 && self.len >= self.spread_at {
            self.spread();
        }
    }

    /// The value of `key`.
    pub fn get(&self, key: &K) -> Option<&V> {
        self.slots.get(self.slot(key))?.get(key)
    }

    /// The value of `key`, to change.
    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        let i = self.slot(key);
        self.slots.get_mut(i)?.get_mut(key)
    }

    /// Bring into the cache what looking up each of `keys` reads, a stage
    /// at a time for all of them: the slots, then every cache line of each
    /// flat slot's keys and values. Within a stage the loads do not depend
    /// on each other, so the processor has many cache misses in flight at
    /// once, where one lookup after another waits for each in turn (slot,
    /// then keys, then values). Returns a value made of what was read.
    pub fn warm(&self, keys: &[K]) -> u64
    where
        V: Copy,
    {
        const LINE: usize = 64;
        let mut seen = 0u64;
        for k in keys {
            if let Some(s) = self.slots.get(self.slot(k)) {
                seen = seen.wrapping_add(s.len() as u64);
            }
        }
        let key_step = (LINE / std::mem::size_of::<K>().max(1)).max(1);
        let val_step = (LINE / std::mem::size_of::<V>().max(1)).max(1);
        for k in keys {
            if let Some(Slot::Flat(run)) = self.slots.get(self.slot(k)) {
                for key in run.keys.iter().step_by(key_step) {
                    seen = seen.wrapping_add(u64::from(key.radix()));
                }
                for v in run.vals.iter().step_by(val_step) {
                    std::hint::black_box(*v);
                }
            }
        }
        seen
    }

    /// The value of `key`, inserted with `make` when missing, and whether
    /// it was: for values copied out (destination numbers), found or put
    /// in place in one descent unless a run has to be split (`None`
    /// cannot happen).
    pub fn get_or_insert_copy(&mut self, key: K, make: impl FnOnce() -> V) -> Option<(V, bool)>
    where
        V: Copy,
    {
        self.make_room();
        let i = self.slot(&key);
        let r = self.slots.get_mut(i)?.get_or_insert_copy(key, make);
        if r.1 {
            self.len += 1;
        }
        Some(r)
    }

    /// Set the value of `key`; returns the old one.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        self.make_room();
        let i = self.slot(&key);
        let old = self.slots.get_mut(i)?.insert(key, value);
        if old.is_none() {
            self.len += 1;
        }
        old
    }

    /// Remove `key`; returns its value.
    pub fn remove(&mut self, key: &K) -> Option<V> {
        let i = self.slot(key);
        let v = self.slots.get_mut(i)?.remove(key)?;
        self.len -= 1;
        Some(v)
    }

    /// The first entry.
    pub fn first(&self) -> Option<(&K, &V)> {
        self.slots.iter().find_map(|s| s.first())
    }

    /// The first entry with a key greater than `key`.
    pub fn next_after(&self, key: &K) -> Option<(&K, &V)> {
        let i = self.slot(key);
        self.slots
            .get(i)?
            .next_after(key)
            .or_else(|| self.slots.get(i + 1..)?.iter().find_map(|s| s.first()))
    }

    /// Entries from `start` on, in key order.
    pub fn range_from(&self, start: Bound<K>) -> impl Iterator<Item = (&K, &V)> + '_ {
        let i = match &start {
            Bound::Included(k) | Bound::Excluded(k) => self.slot(k),
            Bound::Unbounded => 0,
        };
        let first = self.slots.get(i).map(|s| s.range_from(start));
        let rest = self
            .slots
            .get(i + 1..)
            .unwrap_or_default()
            .iter()
            .flat_map(|s| s.iter());
        first.into_iter().flatten().chain(rest)
    }

    /// Entries with keys in `start..=end`, in key order.
    pub fn range_inclusive(&self, start: K, end: K) -> impl Iterator<Item = (&K, &V)> + '_ {
        self.range_from(Bound::Included(start))
            .take_while(move |(k, _)| *k <= &end)
    }

    /// Every entry, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> + '_ {
        self.slots.iter().flat_map(|s| s.iter())
    }

    /// Keep the entries for which `keep` is true: one pass, where removing
    /// many keys one by one would search and shift a run for each.
    pub fn retain(&mut self, mut keep: impl FnMut(&K, &V) -> bool) {
        let mut len = 0;
        for s in &mut self.slots {
            s.retain(&mut keep);
            len += s.len();
        }
        self.len = len;
    }
}

/// One radix slot (or the whole map before it spreads): a flat run while
/// it holds at most [`FLAT`] entries, runs under a B-tree beyond. A slot
/// that shrinks back keeps its B-tree.
#[derive(Debug, Clone)]
enum Slot<K, V> {
    Flat(Run<K, V>),
    Runs(Runs<K, V>),
}

impl<K, V> Default for Slot<K, V> {
    fn default() -> Self {
        Slot::Flat(Run {
            keys: Vec::new(),
            vals: Vec::new(),
        })
    }
}

impl<K: Ord + Clone + Radix, V> Slot<K, V> {
    fn len(&self) -> usize {
        match self {
            Slot::Flat(run) => run.len(),
            Slot::Runs(runs) => runs.len,
        }
    }

    fn get(&self, key: &K) -> Option<&V> {
        match self {
            Slot::Flat(run) => run.vals.get(run.find(key).ok()?),
            Slot::Runs(runs) => runs.get(key),
        }
    }

    fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        match self {
            Slot::Flat(run) => {
                let i = run.find(key).ok()?;
                run.vals.get_mut(i)
            }
            Slot::Runs(runs) => runs.get_mut(key),
        }
    }

    /// A flat run that is full, as runs under a B-tree.
    fn runs_of(run: &mut Run<K, V>) -> Runs<K, V> {
        let mut runs = Runs::default();
        for (k, v) in std::mem::replace(run, Run::with_capacity(0)).into_iter() {
            runs.insert_new(k, v);
        }
        runs
    }

    fn get_or_insert_copy(&mut self, key: K, make: impl FnOnce() -> V) -> (V, bool)
    where
        V: Copy,
    {
        match self {
            Slot::Runs(runs) => runs.get_or_insert_copy(key, make),
            Slot::Flat(run) => match run.find(&key) {
                Ok(i) => match run.vals.get(i) {
                    Some(v) => (*v, false),
                    None => (make(), false),
                },
                Err(i) if run.len() < FLAT => {
                    let v = make();
                    run.insert(i, key, v);
                    (v, true)
                }
                Err(_) => {
                    let mut runs = Self::runs_of(run);
                    let r = runs.get_or_insert_copy(key, make);
                    *self = Slot::Runs(runs);
                    r
                }
            },
        }
    }

    fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self {
            Slot::Runs(runs) => runs.insert(key, value),
            Slot::Flat(run) => match run.find(&key) {
                Ok(i) => run.vals.get_mut(i).map(|v| std::mem::replace(v, value)),
                Err(i) if run.len() < FLAT => {
                    run.insert(i, key, value);
                    None
                }
                Err(_) => {
                    let mut runs = Self::runs_of(run);
                    let old = runs.insert(key, value);
                    *self = Slot::Runs(runs);
                    old
                }
            },
        }
    }

    fn remove(&mut self, key: &K) -> Option<V> {
        match self {
            Slot::Flat(run) => {
                let (_, v) = run.remove(run.find(key).ok()?)?;
                if run.is_empty() {
                    *run = Run::with_capacity(0);
                }
                Some(v)
            }
            Slot::Runs(runs) => runs.remove(key),
        }
    }

    fn first(&self) -> Option<(&K, &V)> {
        match self {
            Slot::Flat(run) => run.entry(0),
            Slot::Runs(runs) => runs.first(),
        }
    }

    fn next_after(&self, key: &K) -> Option<(&K, &V)> {
        match self {
            Slot::Flat(run) => run.entry(match run.find(key) {
                Ok(i) => i + 1,
                Err(i) => i,
            }),
            Slot::Runs(runs) => runs.next_after(key),
        }
    }

    /// The runs of this slot from the one that holds (or would hold) `from`
    /// on, all of them without.
    fn runs_from(&self, from: Option<&K>) -> impl Iterator<Item = &Run<K, V>> + '_ {
        let (flat, tree) = match self {
            Slot::Flat(run) => (Some(run), None),
            Slot::Runs(runs) => {
                let sep = from.and_then(|k| runs.runs.range(..=k).next_back().map(|(s, _)| s));
                let range = match sep {
                    Some(s) => runs.runs.range::<K, _>(s..),
                    None => runs.runs.range::<K, _>(..),
                };
                (None, Some(range.map(|(_, r)| r)))
            }
        };
        flat.into_iter().chain(tree.into_iter().flatten())
    }

    fn range_from(&self, start: Bound<K>) -> impl Iterator<Item = (&K, &V)> + '_ {
        let from = match &start {
            Bound::Included(k) | Bound::Excluded(k) => Some(k),
            Bound::Unbounded => None,
        };
        let runs = self.runs_from(from);
        let skip = move |k: &K| match &start {
            Bound::Included(s) => k < s,
            Bound::Excluded(s) => k <= s,
            Bound::Unbounded => false,
        };
        runs.flat_map(|r| r.iter())
            .skip_while(move |(k, _)| skip(k))
    }

    fn iter(&self) -> impl Iterator<Item = (&K, &V)> + '_ {
        self.runs_from(None).flat_map(|r| r.iter())
    }

    fn retain(&mut self, keep: impl FnMut(&K, &V) -> bool) {
        match self {
            Slot::Flat(run) => {
                run.retain(keep);
                if run.is_empty() {
                    *run = Run::with_capacity(0);
                }
            }
            Slot::Runs(runs) => runs.retain(keep),
        }
    }
}

/// Entries per run.
pub(crate) const CHUNK: usize = 32;

/// Entries a run that is not filled in key order grows by at a time.
const GROW: usize = 8;

/// One run: its keys and their values in two arrays, so that finding a
/// key reads only keys (32 IPv4 keys are 4 cache lines, where pairs with
/// a destination number would be 8) and an entry costs the key and the
/// value without padding (12 bytes for an IPv4 key and a number, not 16).
#[derive(Debug, Clone)]
struct Run<K, V> {
    keys: Vec<K>,
    vals: Vec<V>,
}

impl<K: Ord + Radix, V> Run<K, V> {
    /// An empty run with room for `n` entries.
    fn with_capacity(n: usize) -> Self {
        Run {
            keys: Vec::with_capacity(n),
            vals: Vec::with_capacity(n),
        }
    }

    fn len(&self) -> usize {
        self.keys.len()
    }

    fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Where `key` is (`Ok`) or would go (`Err`).
    fn find(&self, key: &K) -> Result<usize, usize> {
        if !K::SCAN {
            return self.keys.binary_search(key);
        }
        // The keys below it, counted without a branch per key.
        let i: usize = self.keys.iter().map(|k| usize::from(k < key)).sum();
        match self.keys.get(i) {
            Some(k) if k == key => Ok(i),
            _ => Err(i),
        }
    }

    fn first_key(&self) -> Option<&K> {
        self.keys.first()
    }

    fn entry(&self, i: usize) -> Option<(&K, &V)> {
        Some((self.keys.get(i)?, self.vals.get(i)?))
    }

    /// Insert at `i`, growing by [`GROW`] entries when full (never past
    /// [`CHUNK`], or [`FLAT`] for a slot's flat run): runs that keys reach
    /// in random order are split in halves and fill slowly, and space
    /// allocated ahead of them would be a third of the table's.
    fn insert(&mut self, i: usize, key: K, value: V) {
        let len = self.keys.len();
        if len == self.keys.capacity() {
            let limit = if len < CHUNK { CHUNK } else { FLAT };
            let step = GROW.min(limit.saturating_sub(len)).max(1);
            self.keys.reserve_exact(step);
            self.vals.reserve_exact(step);
        }
        self.keys.insert(i, key);
        self.vals.insert(i, value);
    }

    /// Remove the entry at `i` (which must exist).
    fn remove(&mut self, i: usize) -> Option<(K, V)> {
        if i >= self.keys.len() || i >= self.vals.len() {
            return None;
        }
        Some((self.keys.remove(i), self.vals.remove(i)))
    }

    /// The entries from `at` on, moved to a new run with room to grow.
    fn split_off(&mut self, at: usize, room: usize) -> Self {
        let mut right = Run::with_capacity(room);
        right.keys.extend(self.keys.drain(at..));
        right.vals.extend(self.vals.drain(at..));
        right
    }

    /// Append the entries of `other`.
    fn append(&mut self, other: Run<K, V>) {
        self.keys.reserve_exact(other.keys.len());
        self.vals.reserve_exact(other.vals.len());
        self.keys.extend(other.keys);
        self.vals.extend(other.vals);
    }

    fn iter(&self) -> impl Iterator<Item = (&K, &V)> + '_ {
        self.keys.iter().zip(self.vals.iter())
    }

    /// Keep the entries for which `keep` is true.
    fn retain(&mut self, mut keep: impl FnMut(&K, &V) -> bool) {
        let flags: Vec<bool> = self.iter().map(|(k, v)| keep(k, v)).collect();
        let mut i = 0;
        self.keys.retain(|_| {
            i += 1;
            flags.get(i - 1).copied().unwrap_or(true)
        });
        let mut i = 0;
        self.vals.retain(|_| {
            i += 1;
            flags.get(i - 1).copied().unwrap_or(true)
        });
    }

    fn into_iter(self) -> impl Iterator<Item = (K, V)> {
        self.keys.into_iter().zip(self.vals)
    }
}

/// One sorted map of runs: the whole map when small, one radix slot of it
/// when large.
#[derive(Debug, Clone)]
struct Runs<K, V> {
    /// Runs by separator: a key no greater than any key of its run and
    /// greater than every key of the runs before.
    runs: BTreeMap<K, Run<K, V>>,
    len: usize,
}

impl<K: Ord + Clone, V> Default for Runs<K, V> {
    fn default() -> Self {
        Runs {
            runs: BTreeMap::new(),
            len: 0,
        }
    }
}

impl<K: Ord + Clone + Radix, V> Runs<K, V> {
    /// The separator of the run that holds (or would hold) `key`.
    fn run_of(&self, key: &K) -> Option<&K> {
        self.runs
            .range(..=key)
            .next_back()
            .or_else(|| self.runs.iter().next())
            .map(|(s, _)| s)
    }

    /// The value of `key`.
    fn get(&self, key: &K) -> Option<&V> {
        let run = self.runs.range(..=key).next_back()?.1;
        let i = run.find(key).ok()?;
        run.vals.get(i)
    }

    /// The value of `key`, to change.
    fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        let run = self.runs.range_mut(..=key).next_back()?.1;
        let i = run.find(key).ok()?;
        run.vals.get_mut(i)
    }

    /// [`ChunkMap::get_or_insert_copy`] in this map.
    fn get_or_insert_copy(&mut self, key: K, make: impl FnOnce() -> V) -> (V, bool)
    where
        V: Copy,
    {
        if let Some((_, run)) = self.runs.range_mut(..=&key).next_back() {
            match run.find(&key) {
                Ok(i) => {
                    if let Some(v) = run.vals.get(i) {
                        return (*v, false);
                    }
                }
                Err(i) if run.len() < CHUNK => {
                    let v = make();
                    run.insert(i, key, v);
                    self.len += 1;
                    return (v, true);
                }
                Err(_) => {}
            }
        }
        let v = make();
        self.insert_new(key, v);
        (v, true)
    }

    /// Set the value of `key`; returns the old one. One descent when the
    /// key is there or its run has room.
    fn insert(&mut self, key: K, value: V) -> Option<V> {
        if let Some((_, run)) = self.runs.range_mut(..=&key).next_back() {
            match run.find(&key) {
                Ok(i) => return run.vals.get_mut(i).map(|v| std::mem::replace(v, value)),
                Err(i) if run.len() < CHUNK => {
                    run.insert(i, key, value);
                    self.len += 1;
                    return None;
                }
                Err(_) => {}
            }
        }
        self.insert_new(key, value);
        None
    }

    /// Insert a key known to be absent; returns where it went (run
    /// separator and index).
    fn insert_new(&mut self, key: K, value: V) -> (K, usize) {
        self.len += 1;
        let Some(sep) = self.run_of(&key).cloned() else {
            let mut run = Run::with_capacity(GROW);
            run.insert(0, key.clone(), value);
            self.runs.insert(key.clone(), run);
            return (key, 0);
        };
        let last_run = self.runs.last_key_value().is_some_and(|(s, _)| *s == sep);
        let Some(run) = self.runs.get_mut(&sep) else {
            return (sep, 0);
        };
        let i = run.find(&key).unwrap_or_else(|i| i);
        if run.len() < CHUNK {
            run.insert(i, key.clone(), value);
            if key < sep {
                // A new smallest key: the first run's separator moves down.
                if let Some(run) = self.runs.remove(&sep) {
                    self.runs.insert(key.clone(), run);
                }
                return (key, i);
            }
            return (sep, i);
        }
        if i == run.len() && last_run {
            // Appending in key order: start a new run, leave this one full.
            let mut next = Run::with_capacity(CHUNK);
            next.insert(0, key.clone(), value);
            self.runs.insert(key.clone(), next);
            return (key, 0);
        }
        // Split in the middle, each half with room to grow by a step.
        let mut right = run.split_off(CHUNK / 2, CHUNK / 2 + GROW);
        let mut left = Run::with_capacity(CHUNK / 2 + GROW);
        left.append(std::mem::replace(run, Run::with_capacity(0)));
        *run = left;
        let at = if i <= CHUNK / 2 {
            run.insert(i, key.clone(), value);
            None
        } else {
            right.insert(i - CHUNK / 2, key.clone(), value);
            Some(i - CHUNK / 2)
        };
        let right_sep = right.first_key().cloned();
        let mut left_sep = sep.clone();
        if key < sep {
            if let Some(run) = self.runs.remove(&sep) {
                self.runs.insert(key.clone(), run);
            }
            left_sep = key;
        }
        if let Some(s) = right_sep {
            self.runs.insert(s.clone(), right);
            if let Some(j) = at {
                return (s, j);
            }
        }
        (left_sep, i)
    }

    /// Remove `key`; returns its value.
    fn remove(&mut self, key: &K) -> Option<V> {
        let sep = self.runs.range(..=key).next_back()?.0.clone();
        let run = self.runs.get_mut(&sep)?;
        let i = run.find(key).ok()?;
        let (_, v) = run.remove(i)?;
        self.len -= 1;
        if run.is_empty() {
            self.runs.remove(&sep);
        } else if run.len() < CHUNK / 4 {
            self.merge_after(&sep);
        }
        Some(v)
    }

    /// Merge the run of `sep` with the next one when both fit in one.
    fn merge_after(&mut self, sep: &K) {
        let Some(next_sep) = self
            .runs
            .range((Bound::Excluded(sep), Bound::Unbounded))
            .next()
            .map(|(k, _)| k.clone())
        else {
            return;
        };
        let fits = match (self.runs.get(sep), self.runs.get(&next_sep)) {
            (Some(a), Some(b)) => a.len() + b.len() <= CHUNK,
            _ => false,
        };
        if !fits {
            return;
        }
        if let Some(next) = self.runs.remove(&next_sep) {
            if let Some(run) = self.runs.get_mut(sep) {
                run.append(next);
            }
        }
    }

    /// The first entry.
    fn first(&self) -> Option<(&K, &V)> {
        self.runs.values().next().and_then(|r| r.entry(0))
    }

    /// The first entry with a key greater than `key`.
    fn next_after(&self, key: &K) -> Option<(&K, &V)> {
        let mut runs = match self.runs.range(..=key).next_back() {
            Some((sep, _)) => self.runs.range(sep..),
            None => return self.first(),
        };
        let (_, run) = runs.next()?;
        let i = match run.find(key) {
            Ok(i) => i + 1,
            Err(i) => i,
        };
        run.entry(i)
            .or_else(|| runs.next().and_then(|(_, r)| r.entry(0)))
    }

    /// Keep the entries for which `keep` is true; runs left sparse are
    /// packed again.
    fn retain(&mut self, mut keep: impl FnMut(&K, &V) -> bool) {
        let mut removed = 0usize;
        for run in self.runs.values_mut() {
            let before = run.len();
            run.retain(&mut keep);
            removed += before - run.len();
        }
        if removed == 0 {
            return;
        }
        self.len -= removed;
        // Runs keep their separator: still no greater than their keys and
        // above every key before.
        self.runs.retain(|_, r| !r.is_empty());
        if self.runs.len() > 1 && self.len < self.runs.len() * CHUNK / 2 {
            self.compact();
        }
    }

    /// Repack every entry into full runs.
    fn compact(&mut self) {
        let old = std::mem::take(&mut self.runs);
        let mut run = Run::with_capacity(CHUNK);
        for (_, r) in old {
            for (k, v) in r.into_iter() {
                if run.len() == CHUNK {
                    let full = std::mem::replace(&mut run, Run::with_capacity(CHUNK));
                    if let Some(s) = full.first_key().cloned() {
                        self.runs.insert(s, full);
                    }
                }
                let at = run.len();
                run.insert(at, k, v);
            }
        }
        if let Some(s) = run.first_key().cloned() {
            self.runs.insert(s, run);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn in_order_inserts_fill_runs() {
        let mut m = ChunkMap::new();
        for i in 0..10_000u32 {
            m.insert(i, i);
        }
        assert_eq!(m.len(), 10_000);
        let Some(Slot::Runs(runs)) = m.slots.first() else {
            panic!("10,000 entries are past a flat run");
        };
        assert_eq!(runs.runs.len(), 10_000usize.div_ceil(CHUNK));
        assert_eq!(m.get(&5000), Some(&5000));
        assert_eq!(m.next_after(&9999), None);
        assert_eq!(m.next_after(&41).map(|(k, _)| *k), Some(42));
        assert_eq!(m.range_inclusive(10, 20).count(), 11);
    }

    /// 256 keys a slot: spread maps have flat slots and slots of runs.
    impl Radix for u16 {
        const SCAN: bool = true;

        fn radix(&self) -> u32 {
            u32::from(*self) << 8
        }
    }

    impl Radix for u32 {}

    proptest! {
        /// Behaves as a BTreeMap under any mix of operations, spread over
        /// radix slots or not.
        #[test]
        fn agrees_with_btreemap(
            ops in proptest::collection::vec((0u8..20, 0u16..600), 1..3000),
            spread in proptest::option::of(0usize..400),
        ) {
            let mut m = match spread {
                Some(n) => ChunkMap::spreading_at(n),
                None => ChunkMap::new(),
            };
            let mut b = BTreeMap::new();
            for (op, k) in ops {
                match op {
                    0..=5 => prop_assert_eq!(m.insert(k, u32::from(k) * 3), b.insert(k, u32::from(k) * 3)),
                    6..=11 => {
                        let had = b.contains_key(&k);
                        let got = m.get_or_insert_copy(k, || u32::from(k) * 7);
                        prop_assert_eq!(got, Some((*b.entry(k).or_insert(u32::from(k) * 7), !had)));
                    }
                    12..=18 => prop_assert_eq!(m.remove(&k), b.remove(&k)),
                    _ => {
                        m.retain(|key, _| key % 7 != k % 7);
                        b.retain(|key, _| key % 7 != k % 7);
                    }
                }
                prop_assert_eq!(m.len(), b.len());
            }
            prop_assert!(m.iter().eq(b.iter()));
            for k in [0u16, 1, 100, 299, 599] {
                prop_assert_eq!(m.get(&k), b.get(&k));
                prop_assert!(m.range_from(Bound::Excluded(k)).eq(b.range((Bound::Excluded(k), Bound::Unbounded))));
                prop_assert!(m.range_from(Bound::Included(k)).eq(b.range(k..)));
                prop_assert!(m.range_inclusive(k, k + 50).eq(b.range(k..=k + 50)));
                prop_assert_eq!(m.next_after(&k), b.range((Bound::Excluded(k), Bound::Unbounded)).next());
            }
            prop_assert_eq!(m.first(), b.iter().next());
            // Warming reads flat slots and slots of runs, present keys and
            // absent ones, without a change.
            let keys: Vec<u16> = (0..600).step_by(7).collect();
            m.warm(&keys);
            prop_assert!(m.iter().eq(b.iter()));
            for slot in &m.slots {
                let runs = match slot {
                    Slot::Flat(run) => {
                        prop_assert!(run.len() <= FLAT);
                        prop_assert!(run.keys.windows(2).all(|w| w[0] < w[1]));
                        prop_assert_eq!(run.keys.len(), run.vals.len());
                        continue;
                    }
                    Slot::Runs(runs) => runs,
                };
                let mut last: Option<u16> = None;
                for (sep, run) in &runs.runs {
                    prop_assert!(run.len() <= CHUNK && !run.is_empty());
                    // A separator no greater than its run's keys and
                    // above every key before.
                    let first = *run.first_key().unwrap();
                    prop_assert!(*sep <= first);
                    prop_assert!(last.is_none_or(|l| l < *sep));
                    prop_assert!(run.keys.windows(2).all(|w| w[0] < w[1]));
                    prop_assert_eq!(run.keys.len(), run.vals.len());
                    last = run.keys.last().copied();
                }
            }
            prop_assert_eq!(m.slots.iter().map(Slot::len).sum::<usize>(), m.len());
        }
    }
}
