//! One destination's paths, stored compactly.
//!
//! Every path the neighbors sent for a destination (the post-policy
//! Adj-RIB-In of every neighbor) and the locally originated ones live
//! together in the destination, best first: the Loc-RIB is the first path
//! of each destination whose [`flag::BEST`] is set. A path is 24 bytes for
//! IPv4 and IPv6 (attribute set handle, neighbor, path identifier, arrival
//! number, flags), and a destination with one path (most of a full table)
//! holds it inline, with no allocation of its own.

use crate::intern::WireSet;

/// The neighbor index of locally originated paths.
pub(crate) const LOCAL: u32 = u32::MAX;

/// Path flags.
pub(crate) mod flag {
    /// The path carries an ADD-PATH path identifier.
    pub const PATH_ID: u8 = 1;
    /// Kept while its neighbor restarts (RFC 4724 §4.2).
    pub const STALE: u8 = 2;
    /// Made long-lived stale by us (RFC 9494 §4.2): LLGR_STALE added.
    pub const LLGR: u8 = 4;
    /// The best path of its destination (always the first).
    pub const BEST: u8 = 8;
}

/// One path to a destination.
#[derive(Debug, Clone)]
pub(crate) struct Path<X> {
    /// Next hop and attributes, after import policy.
    pub attrs: WireSet,
    /// The neighbor it came from ([`LOCAL`] for our own routes).
    pub peer: u32,
    /// The ADD-PATH path identifier (meaningful with [`flag::PATH_ID`]).
    pub path_id: u32,
    /// Arrival number, for "prefer the oldest" (RFC 5004).
    pub seq: u32,
    /// [`flag`] bits.
    pub flags: u8,
    /// Sent back in the NLRI (label stack); `()` for plain prefixes.
    pub extra: X,
}

impl<X> Path<X> {
    /// The path identifier as received.
    pub fn path_id(&self) -> Option<u32> {
        (self.flags & flag::PATH_ID != 0).then_some(self.path_id)
    }

    /// Whether a flag is set.
    pub fn has(&self, f: u8) -> bool {
        self.flags & f != 0
    }

    /// Whether this is the path `peer` sent with `path_id`.
    pub fn is(&self, peer: u32, path_id: Option<u32>) -> bool {
        self.peer == peer && self.path_id() == path_id
    }
}

/// The paths of one destination: one inline, or any other number
/// (an empty boxed slice does not allocate).
#[derive(Debug, Clone)]
enum Paths<X> {
    One(Path<X>),
    Many(Box<[Path<X>]>),
}

/// A destination: its paths, the best first.
#[derive(Debug, Clone)]
pub(crate) struct Dest<X> {
    paths: Paths<X>,
}

impl<X> Default for Dest<X> {
    fn default() -> Self {
        Dest {
            paths: Paths::Many(Box::default()),
        }
    }
}

impl<X> Dest<X> {
    /// Every path, the best (if any) first.
    pub fn paths(&self) -> &[Path<X>] {
        match &self.paths {
            Paths::One(p) => std::slice::from_ref(p),
            Paths::Many(v) => v,
        }
    }

    /// Every path, to change flags or order in place.
    pub fn paths_mut(&mut self) -> &mut [Path<X>] {
        match &mut self.paths {
            Paths::One(p) => std::slice::from_mut(p),
            Paths::Many(v) => v,
        }
    }

    /// The best path, if one is eligible.
    pub fn best(&self) -> Option<&Path<X>> {
        self.paths().first().filter(|p| p.has(flag::BEST))
    }

    /// Whether no path is left.
    pub fn is_empty(&self) -> bool {
        self.paths().is_empty()
    }

    /// Change the list of paths through a vector (multi-path changes are
    /// rare enough that the round trip through the heap does not matter).
    fn edit<R>(&mut self, f: impl FnOnce(&mut Vec<Path<X>>) -> R) -> R {
        let mut v = match std::mem::replace(&mut self.paths, Paths::Many(Box::default())) {
            Paths::One(p) => vec![p],
            Paths::Many(b) => b.into_vec(),
        };
        let r = f(&mut v);
        self.paths = match v.len() {
            1 => match v.pop() {
                Some(p) => Paths::One(p),
                None => Paths::Many(Box::default()),
            },
            _ => Paths::Many(v.into_boxed_slice()),
        };
        r
    }

    /// Add a path, replacing the one from the same neighbor with the same
    /// path identifier; returns the replaced one.
    pub fn upsert(&mut self, path: Path<X>) -> Option<Path<X>> {
        let id = path.path_id();
        if let Paths::One(p) = &mut self.paths {
            if p.is(path.peer, id) {
                return Some(std::mem::replace(p, path));
            }
        }
        if self.is_empty() {
            self.paths = Paths::One(path);
            return None;
        }
        self.edit(|v| match v.iter_mut().find(|p| p.is(path.peer, id)) {
            Some(p) => Some(std::mem::replace(p, path)),
            None => {
                v.push(path);
                None
            }
        })
    }

    /// Remove the path `peer` sent with `path_id`.
    pub fn remove(&mut self, peer: u32, path_id: Option<u32>) -> Option<Path<X>> {
        if let Paths::One(p) = &self.paths {
            if !p.is(peer, path_id) {
                return None;
            }
            return match std::mem::replace(&mut self.paths, Paths::Many(Box::default())) {
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
        Path {
            attrs: interner.intern(&RouteAttrs {
                next_hop: NextHop::Empty,
                attributes: PathAttributes::default(),
            }),
            peer,
            path_id: id.unwrap_or(0),
            seq: 0,
            flags: if id.is_some() { flag::PATH_ID } else { 0 },
            extra: (),
        }
    }

    #[test]
    fn paths_of_one_destination() {
        assert_eq!(std::mem::size_of::<Path<()>>(), 24);
        assert_eq!(std::mem::size_of::<Dest<()>>(), 24);
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
        assert!(d.remove(1, Some(3)).is_none());
        assert!(d.remove(1, Some(1)).is_some());
        assert_eq!(d.retain(|p| p.peer != 1).len(), 2);
        assert_eq!(d.paths().len(), 1);
        assert!(d.best().is_none());
        assert!(d.remove(2, None).is_some());
        assert!(d.is_empty());
    }
}
