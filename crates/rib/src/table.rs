//! One destination's paths, stored compactly.
//!
//! Every path the neighbors sent for a destination (the post-policy
//! Adj-RIB-In of every neighbor) and the locally originated ones live
//! together in the destination, in arrival order: the Loc-RIB is the path
//! of each destination whose [`flag::BEST`] is set. A path is 16 bytes for
//! IPv4 and IPv6 (attribute set handle, neighbor and flags, path
//! identifier); a destination with one path (most of a full table) holds
//! it inline, with no allocation of its own, and several in one allocation
//! behind one pointer.

use thin_vec::ThinVec;

use crate::intern::WireSet;

/// The neighbor index of locally originated paths (neighbor indices are
/// below it: they share a word with the flags).
pub(crate) const LOCAL: u32 = 0x03ff_ffff;

/// Path flags, in the top bits of the word that holds the neighbor.
pub(crate) mod flag {
    /// The best of the paths from other neighbors than the best path's,
    /// when that neighbor sent only the best path here: what it gets as a
    /// route server client (RFC 7947 §2.3.2), known without another
    /// decision. Set only while a route server client is configured.
    pub const RUNNER_UP: u32 = 1 << 26;
    /// A Flowspec rule that failed validation (RFC 8955 §6): kept, never
    /// best.
    pub const INVALID: u32 = 1 << 27;
    /// The path carries an ADD-PATH path identifier.
    pub const PATH_ID: u32 = 1 << 28;
    /// Kept while its neighbor restarts (RFC 4724 §4.2).
    pub const STALE: u32 = 1 << 29;
    /// Made long-lived stale by us (RFC 9494 §4.2): LLGR_STALE added.
    pub const LLGR: u32 = 1 << 30;
    /// The best path of its destination.
    pub const BEST: u32 = 1 << 31;
}

/// One path to a destination: 16 bytes for IPv4 and IPv6.
#[derive(Debug, Clone)]
pub(crate) struct Path<X> {
    /// Next hop and attributes, after import policy.
    pub attrs: WireSet,
    /// The neighbor it came from ([`LOCAL`] for our own routes) and the
    /// [`flag`]s.
    word: u32,
    /// The ADD-PATH path identifier (meaningful with [`flag::PATH_ID`]).
    path_id: u32,
    /// Sent back in the NLRI (label stack); `()` for plain prefixes.
    pub extra: X,
}

impl<X> Path<X> {
    /// A path from neighbor `peer` (below [`LOCAL`], or it).
    pub fn new(attrs: WireSet, peer: u32, path_id: Option<u32>, extra: X) -> Path<X> {
        Path {
            attrs,
            word: peer.min(LOCAL) | if path_id.is_some() { flag::PATH_ID } else { 0 },
            path_id: path_id.unwrap_or(0),
            extra,
        }
    }

    /// The neighbor it came from.
    pub fn peer(&self) -> u32 {
        self.word & LOCAL
    }

    /// The path identifier as received.
    pub fn path_id(&self) -> Option<u32> {
        self.has(flag::PATH_ID).then_some(self.path_id)
    }

    /// Whether a flag is set.
    pub fn has(&self, f: u32) -> bool {
        self.word & f != 0
    }

    /// Set a flag.
    pub fn set(&mut self, f: u32) {
        self.word |= f & !LOCAL;
    }

    /// Clear a flag.
    pub fn clear(&mut self, f: u32) {
        self.word &= !(f & !LOCAL);
    }

    /// Whether this is the path `peer` sent with `path_id`.
    pub fn is(&self, peer: u32, path_id: Option<u32>) -> bool {
        self.peer() == peer && self.path_id() == path_id
    }
}

/// The paths of one destination: one inline, or any other number behind
/// a thin pointer (so that the whole is no larger than one path).
#[derive(Debug, Clone)]
enum Paths<X> {
    One(Path<X>),
    /// None (an empty `ThinVec` allocates nothing) or two and more: one
    /// allocation, its length and capacity in front of the paths, so that
    /// reading them is one load from the destination, not two.
    Many(ThinVec<Path<X>>),
}

/// A destination: its paths in the order they arrived (the decision's
/// "oldest" is the first), the best one flagged.
#[derive(Debug, Clone)]
pub(crate) struct Dest<X> {
    paths: Paths<X>,
}

impl<X> Default for Dest<X> {
    fn default() -> Self {
        Dest {
            paths: Paths::Many(ThinVec::new()),
        }
    }
}

impl<X> Dest<X> {
    /// Every path, in arrival order.
    pub fn paths(&self) -> &[Path<X>] {
        match &self.paths {
            Paths::One(p) => std::slice::from_ref(p),
            Paths::Many(v) => v.as_slice(),
        }
    }

    /// Every path, to change flags in place.
    pub fn paths_mut(&mut self) -> &mut [Path<X>] {
        match &mut self.paths {
            Paths::One(p) => std::slice::from_mut(p),
            Paths::Many(v) => v.as_mut_slice(),
        }
    }

    /// The best path, if one is eligible.
    pub fn best(&self) -> Option<&Path<X>> {
        self.paths().iter().find(|p| p.has(flag::BEST))
    }

    /// Whether no path is left.
    pub fn is_empty(&self) -> bool {
        self.paths().is_empty()
    }

    /// Change the list of paths through a vector: one path goes back
    /// inline, several keep an allocation of their exact size.
    fn edit<R>(&mut self, f: impl FnOnce(&mut ThinVec<Path<X>>) -> R) -> R {
        let mut v = match std::mem::replace(&mut self.paths, Paths::Many(ThinVec::new())) {
            Paths::One(p) => {
                let mut v = ThinVec::with_capacity(2);
                v.push(p);
                v
            }
            Paths::Many(v) => v,
        };
        let r = f(&mut v);
        self.paths = match v.len() {
            0 => Paths::Many(ThinVec::new()),
            1 => match v.pop() {
                Some(p) => Paths::One(p),
                None => Paths::Many(ThinVec::new()),
            },
            _ => {
                v.shrink_to_fit();
                Paths::Many(v)
            }
        };
        r
    }

    /// Add a path, replacing the one from the same neighbor with the same
    /// path identifier (the new one counts as the most recent); returns
    /// the replaced one.
    pub fn upsert(&mut self, path: Path<X>) -> Option<Path<X>> {
        let id = path.path_id();
        let peer = path.peer();
        if let Paths::One(p) = &mut self.paths {
            if p.is(peer, id) {
                return Some(std::mem::replace(p, path));
            }
        }
        if self.is_empty() {
            self.paths = Paths::One(path);
            return None;
        }
        if let Paths::Many(v) = &mut self.paths {
            // In place (two paths or more: not empty, checked above): a
            // route server's destinations have a path per client, and
            // every arrival passes here.
            return match v.iter().position(|p| p.is(peer, id)) {
                Some(i) => {
                    // The new one is the most recent: last.
                    let tail = v.get_mut(i..)?;
                    tail.rotate_left(1);
                    let last = tail.last_mut()?;
                    Some(std::mem::replace(last, path))
                }
                None => {
                    // A quarter more at a time: few reallocations as a
                    // route server's clients each add theirs, and little
                    // room left unused (a full table of destinations
                    // would pay for a doubling).
                    if v.len() == v.capacity() {
                        v.reserve_exact(v.len() / 4 + 1);
                    }
                    v.push(path);
                    None
                }
            };
        }
        self.edit(|v| {
            let old = v.iter().position(|p| p.is(peer, id)).map(|i| v.remove(i));
            v.push(path);
            old
        })
    }

    /// Remove the path `peer` sent with `path_id`.
    pub fn remove(&mut self, peer: u32, path_id: Option<u32>) -> Option<Path<X>> {
        if let Paths::One(p) = &self.paths {
            if !p.is(peer, path_id) {
                return None;
            }
            return match std::mem::replace(&mut self.paths, Paths::Many(ThinVec::new())) {
                Paths::One(p) => Some(p),
                Paths::Many(_) => None,
            };
        }
        if !self.paths().iter().any(|p| p.is(peer, path_id)) {
            return None;
        }
        self.edit(|v| {
            let i = v.iter().position(|p| p.is(peer, path_id))?;
            Some(v.remove(i))
        })
    }

    /// Keep the paths for which `keep` is true; returns the removed ones.
    pub fn retain(&mut self, mut keep: impl FnMut(&Path<X>) -> bool) -> Vec<Path<X>> {
        if self.paths().iter().all(&mut keep) {
            return Vec::new();
        }
        self.edit(|v| {
            let mut removed = Vec::new();
            let mut i = 0;
            while i < v.len() {
                if v.get(i).is_some_and(&mut keep) {
                    i += 1;
                } else {
                    removed.push(v.remove(i));
                }
            }
            removed
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intern::Interner;
    use crate::route::RouteAttrs;
    use ribbit_wire::{NextHop, PathAttributes};

    fn path(interner: &mut Interner, peer: u32, id: Option<u32>) -> Path<()> {
        let attrs = interner.intern(&RouteAttrs {
            next_hop: NextHop::Empty,
            attributes: PathAttributes::default(),
        });
        Path::new(attrs, peer, id, ())
    }

    #[test]
    fn paths_of_one_destination() {
        assert_eq!(std::mem::size_of::<Path<()>>(), 16);
        assert_eq!(std::mem::size_of::<Dest<()>>(), 16);
        let mut i = Interner::new();
        let mut d = Dest::default();
        assert!(d.upsert(path(&mut i, 1, None)).is_none());
        assert!(d.upsert(path(&mut i, 1, None)).is_some());
        assert_eq!(d.paths().len(), 1);
        // ADD-PATH: same neighbor, other identifiers are other paths.
        assert!(d.upsert(path(&mut i, 1, Some(1))).is_none());
        assert!(d.upsert(path(&mut i, 1, Some(2))).is_none());
        assert!(d.upsert(path(&mut i, 2, None)).is_none());
        assert_eq!(d.paths().len(), 4);
        // A replaced path moves to the end: arrival order.
        assert!(d.upsert(path(&mut i, 1, Some(1))).is_some());
        assert_eq!(d.paths().last().unwrap().path_id(), Some(1));
        assert!(d.remove(1, Some(3)).is_none());
        assert!(d.remove(1, Some(1)).is_some());
        assert_eq!(d.retain(|p| p.peer() != 1).len(), 2);
        assert_eq!(d.paths().len(), 1);
        assert!(d.best().is_none());
        let mut p = path(&mut i, LOCAL, Some(7));
        p.set(flag::STALE | flag::BEST);
        assert!(p.has(flag::STALE) && p.has(flag::BEST) && p.peer() == LOCAL);
        p.clear(flag::BEST);
        assert!(!p.has(flag::BEST) && p.path_id() == Some(7));
        assert!(d.remove(2, None).is_some());
        assert!(d.is_empty());
    }
}
