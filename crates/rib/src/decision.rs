//! The decision process: which of the paths to one destination is best
//! (RFC 4271 §9.1.2.2, with the tie-breakers of RFC 4456 §9 and common
//! practice).
//!
//! The RFC describes the process as a series of eliminations over the set of
//! candidate paths, not as a comparison of two paths at a time, and that
//! matters: MED is only compared between paths from the same neighbouring
//! AS, so "a beats b" is not transitive (a beats b on MED, b beats c on
//! router ID, c beats a on MED of another AS...), and sorting with such a
//! comparator gives an answer that depends on the input order. Eliminating
//! from the whole set, step by step, gives the same winner whatever the
//! order; `best_path` does exactly that and reports the step that decided.

use std::cmp::Ordering;
use std::net::{IpAddr, Ipv4Addr};

use ribbit_wire::attribute::{Origin, PathAttributes};
use smallvec::SmallVec;

/// The indices of the candidates still in the running: on the stack up to
/// 16 (a destination rarely has more paths; a route server's, about one
/// per client).
type Survivors = SmallVec<[usize; 16]>;

/// What the decision reads of a path's attributes. Implemented by
/// [`PathAttributes`], and by anything that can answer more cheaply (the
/// tables read these few values straight from the wire form).
pub trait PathFacts {
    /// LOCAL_PREF.
    fn local_pref(&self) -> Option<u32>;
    /// The AS_PATH length as the decision counts it (an AS_SET counts
    /// one, confederation segments none); 0 without AS_PATH.
    fn path_len(&self) -> usize;
    /// ORIGIN.
    fn origin(&self) -> Option<Origin>;
    /// MULTI_EXIT_DISC.
    fn med(&self) -> Option<u32>;
    /// The neighbouring AS: the first AS of the path outside
    /// confederation segments.
    fn neighbor_as(&self) -> Option<u32>;
    /// ORIGINATOR_ID.
    fn originator_id(&self) -> Option<Ipv4Addr>;
    /// The number of CLUSTER_LIST entries.
    fn cluster_list_len(&self) -> usize;
}

impl PathFacts for PathAttributes {
    fn local_pref(&self) -> Option<u32> {
        self.local_pref
    }

    fn path_len(&self) -> usize {
        self.as_path.as_ref().map_or(0, |p| p.path_len())
    }

    fn origin(&self) -> Option<Origin> {
        self.origin
    }

    fn med(&self) -> Option<u32> {
        self.med
    }

    fn neighbor_as(&self) -> Option<u32> {
        self.as_path.as_ref().and_then(|p| p.first())
    }

    fn originator_id(&self) -> Option<Ipv4Addr> {
        self.originator_id
    }

    fn cluster_list_len(&self) -> usize {
        self.cluster_list.len()
    }
}

/// One candidate path and what the decision needs to know about where it
/// came from.
#[derive(Debug)]
pub struct Candidate<'a, A: ?Sized = PathAttributes> {
    /// The path's attributes (after import policy).
    pub attributes: &'a A,
    /// The neighbor that sent it; `None` for a locally originated path.
    pub peer: Option<PeerInfo>,
    /// Whether the next hop resolves (RFC 4271 §9.1.2: unresolvable next
    /// hops are not eligible).
    pub reachable: bool,
    /// The IGP cost to the next hop, where known.
    pub igp_cost: Option<u32>,
    /// When the path was received, in any increasing unit (for "oldest
    /// eBGP path").
    pub received: u64,
    /// The ADD-PATH path identifier the neighbor gave it (RFC 7911), which
    /// tells apart the paths one neighbor sends for one destination.
    pub path_id: Option<u32>,
}

impl<A: ?Sized> Clone for Candidate<'_, A> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<A: ?Sized> Copy for Candidate<'_, A> {}

/// The neighbor a path came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerInfo {
    /// Its address.
    pub address: IpAddr,
    /// Its BGP identifier.
    pub router_id: Ipv4Addr,
    /// Whether the session is eBGP.
    pub ebgp: bool,
}

/// Options of the decision process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DecisionOptions {
    /// Compare MED between paths from different neighbouring ASes too.
    pub always_compare_med: bool,
    /// Prefer the oldest of otherwise equal eBGP paths (stability over
    /// determinism, RFC 5004).
    pub prefer_oldest: bool,
}

/// The step of the decision that picked the winner, for "why did this path
/// win" answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Step {
    /// Only one eligible path.
    OnlyPath,
    /// Highest LOCAL_PREF.
    LocalPref,
    /// Locally originated.
    LocalOrigin,
    /// Shortest AS_PATH.
    AsPathLength,
    /// Lowest ORIGIN.
    Origin,
    /// Lowest MED among paths from the same neighbouring AS.
    Med,
    /// eBGP over iBGP.
    External,
    /// Lowest IGP cost to the next hop.
    IgpCost,
    /// Oldest eBGP path.
    Oldest,
    /// Lowest ORIGINATOR_ID or BGP identifier.
    RouterId,
    /// Shortest CLUSTER_LIST.
    ClusterList,
    /// Lowest neighbor address.
    PeerAddress,
    /// Lowest ADD-PATH path identifier: two paths from one neighbor.
    PathId,
}

/// The winner and the step that decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Index of the best path in the candidates.
    pub best: usize,
    /// The step at which the last competitor was eliminated.
    pub step: Step,
}

/// LOCAL_PREF when absent: the usual default (RFC 4271 §5.1.5 leaves it to
/// configuration; every major implementation uses 100).
const DEFAULT_LOCAL_PREF: u32 = 100;

fn local_pref<A: PathFacts + ?Sized>(c: &Candidate<'_, A>) -> u32 {
    c.attributes.local_pref().unwrap_or(DEFAULT_LOCAL_PREF)
}

fn path_len<A: PathFacts + ?Sized>(c: &Candidate<'_, A>) -> usize {
    c.attributes.path_len()
}

fn origin<A: PathFacts + ?Sized>(c: &Candidate<'_, A>) -> u8 {
    // An absent ORIGIN (a malformed path kept by policy) ranks last.
    c.attributes.origin().map_or(u8::MAX, |o| match o {
        Origin::Igp => 0,
        Origin::Egp => 1,
        Origin::Incomplete => 2,
    })
}

/// MED, 0 when absent (RFC 4271 §9.1.2.2 (c)).
fn med<A: PathFacts + ?Sized>(c: &Candidate<'_, A>) -> u32 {
    c.attributes.med().unwrap_or(0)
}

/// The neighbouring AS: the first AS of the path (RFC 4271 §9.1.2.2 (c));
/// locally originated paths and empty paths have none.
fn neighbor_as<A: PathFacts + ?Sized>(c: &Candidate<'_, A>) -> Option<u32> {
    c.attributes.neighbor_as()
}

/// The identifier compared in the router ID step: ORIGINATOR_ID when
/// present (RFC 4456 §9), else the neighbor's BGP identifier.
fn router_id<A: PathFacts + ?Sized>(c: &Candidate<'_, A>) -> u32 {
    c.attributes
        .originator_id()
        .or(c.peer.map(|p| p.router_id))
        .map_or(0, u32::from)
}

/// What the steps before MED compare (LOCAL_PREF, locally originated,
/// AS_PATH length, ORIGIN), as one key: the smaller, the more preferred.
pub type BeforeMed = (std::cmp::Reverse<u32>, bool, usize, u8);

/// The [`BeforeMed`] key of a path with `attributes`, locally originated
/// or not. Those four steps each keep the paths with the best value, so
/// together they keep the paths with the smallest key: a path whose key is
/// greater than the best path's is gone before MED compares anything, and
/// neither adding nor removing it can change which path wins (RFC 4271
/// §9.1.2.2; MED is what makes the order depend on other paths).
pub fn before_med<A: PathFacts + ?Sized>(attributes: &A, local: bool) -> BeforeMed {
    let c = Candidate {
        attributes,
        peer: (!local).then_some(PeerInfo {
            address: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            router_id: Ipv4Addr::UNSPECIFIED,
            ebgp: false,
        }),
        reachable: true,
        igp_cost: None,
        received: 0,
        path_id: None,
    };
    (
        std::cmp::Reverse(local_pref(&c)),
        c.peer.is_some(),
        path_len(&c),
        origin(&c),
    )
}

/// Keep the candidates with the smallest `key`.
fn keep_min<K: Ord, A: ?Sized>(
    set: &mut Survivors,
    all: &[Candidate<'_, A>],
    key: impl Fn(&Candidate<'_, A>) -> K,
) {
    let Some(best) = set.iter().filter_map(|&i| all.get(i)).map(&key).min() else {
        return;
    };
    set.retain(|&mut i| {
        all.get(i)
            .is_some_and(|c| key(c).cmp(&best) == Ordering::Equal)
    });
}

/// Pick the best path (RFC 4271 §9.1.2.2). `None` when no candidate is
/// eligible.
pub fn best_path<A: PathFacts + ?Sized>(
    all: &[Candidate<'_, A>],
    options: DecisionOptions,
) -> Option<Decision> {
    let mut set: Survivors = (0..all.len())
        .filter(|&i| all.get(i).is_some_and(|c| c.reachable))
        .collect();
    let mut step = Step::OnlyPath;
    let done = |set: &Survivors| set.len() <= 1;
    macro_rules! eliminate {
        ($step:expr, $body:expr) => {
            if !done(&set) {
                let before = set.len();
                $body;
                if set.len() < before {
                    step = $step;
                }
            }
        };
    }
    eliminate!(
        Step::LocalPref,
        keep_min(&mut set, all, |c| std::cmp::Reverse(local_pref(c)))
    );
    eliminate!(
        Step::LocalOrigin,
        keep_min(&mut set, all, |c| c.peer.is_some())
    );
    eliminate!(Step::AsPathLength, keep_min(&mut set, all, path_len));
    eliminate!(Step::Origin, keep_min(&mut set, all, origin));
    eliminate!(Step::Med, {
        if options.always_compare_med {
            keep_min(&mut set, all, med);
        } else {
            // Remove every path whose MED is higher than that of another
            // remaining path from the same neighbouring AS.
            let snapshot = set.clone();
            set.retain(|&mut i| {
                let Some(c) = all.get(i) else { return false };
                let asn = neighbor_as(c);
                !snapshot
                    .iter()
                    .filter_map(|&j| all.get(j))
                    .any(|o| neighbor_as(o) == asn && med(o) < med(c))
            });
        }
    });
    eliminate!(
        Step::External,
        keep_min(&mut set, all, |c| !c.peer.is_some_and(|p| p.ebgp))
    );
    eliminate!(
        Step::IgpCost,
        keep_min(&mut set, all, |c| c.igp_cost.unwrap_or(0))
    );
    if options.prefer_oldest
        && set
            .iter()
            .filter_map(|&i| all.get(i))
            .all(|c| c.peer.is_some_and(|p| p.ebgp))
    {
        eliminate!(Step::Oldest, keep_min(&mut set, all, |c| c.received));
    }
    eliminate!(Step::RouterId, keep_min(&mut set, all, router_id));
    eliminate!(
        Step::ClusterList,
        keep_min(&mut set, all, |c| c.attributes.cluster_list_len())
    );
    eliminate!(
        Step::PeerAddress,
        keep_min(&mut set, all, |c| c.peer.map(|p| p.address))
    );
    eliminate!(Step::PathId, keep_min(&mut set, all, |c| c.path_id));
    // Paths still equal after every step came from the same neighbor with
    // the same path identifier: the same path, given twice. The first wins.
    set.first().map(|&best| Decision { best, step })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use ribbit_wire::attribute::AsPath;

    fn attrs(lp: Option<u32>, path: &[u32], med: Option<u32>) -> PathAttributes {
        PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::sequence(path.to_vec())),
            local_pref: lp,
            med,
            ..PathAttributes::default()
        }
    }

    fn peer(n: u8, ebgp: bool) -> Option<PeerInfo> {
        Some(PeerInfo {
            address: IpAddr::V4(Ipv4Addr::new(192, 0, 2, n)),
            router_id: Ipv4Addr::new(10, 0, 0, n),
            ebgp,
        })
    }

    fn cand<'a>(a: &'a PathAttributes, p: Option<PeerInfo>) -> Candidate<'a> {
        Candidate {
            attributes: a,
            peer: p,
            reachable: true,
            igp_cost: None,
            received: 0,
            path_id: None,
        }
    }

    #[test]
    fn steps_in_order() {
        let lp200 = attrs(Some(200), &[1, 2, 3], None);
        let short = attrs(None, &[1], None);
        let d = best_path(
            &[cand(&short, peer(1, true)), cand(&lp200, peer(2, true))],
            DecisionOptions::default(),
        )
        .unwrap();
        assert_eq!(
            d,
            Decision {
                best: 1,
                step: Step::LocalPref
            }
        );
        let long = attrs(None, &[1, 2], None);
        let d = best_path(
            &[cand(&long, peer(1, true)), cand(&short, peer(2, true))],
            DecisionOptions::default(),
        )
        .unwrap();
        assert_eq!(
            d,
            Decision {
                best: 1,
                step: Step::AsPathLength
            }
        );
        // Equal but for eBGP/iBGP.
        let d = best_path(
            &[cand(&short, peer(1, false)), cand(&short, peer(2, true))],
            DecisionOptions::default(),
        )
        .unwrap();
        assert_eq!(
            d,
            Decision {
                best: 1,
                step: Step::External
            }
        );
        // Equal but for the router ID.
        let d = best_path(
            &[cand(&short, peer(5, true)), cand(&short, peer(4, true))],
            DecisionOptions::default(),
        )
        .unwrap();
        assert_eq!(
            d,
            Decision {
                best: 1,
                step: Step::RouterId
            }
        );
        // Unreachable next hops are not eligible.
        let mut unreachable = cand(&lp200, peer(2, true));
        unreachable.reachable = false;
        let d = best_path(
            &[unreachable, cand(&short, peer(1, true))],
            DecisionOptions::default(),
        )
        .unwrap();
        assert_eq!(
            d,
            Decision {
                best: 1,
                step: Step::OnlyPath
            }
        );
        assert_eq!(best_path(&[unreachable], DecisionOptions::default()), None);
    }

    #[test]
    fn med_only_within_a_neighbor_as() {
        // a: AS 1, MED 10; b: AS 2, MED 0; c: AS 1, MED 5.
        let a = attrs(None, &[1], Some(10));
        let b = attrs(None, &[2], Some(0));
        let c = attrs(None, &[1], Some(5));
        let cands = [
            cand(&a, peer(1, true)),
            cand(&b, peer(9, true)),
            cand(&c, peer(3, true)),
        ];
        // MED removes a (c has the lower MED in AS 1); b and c go on to the
        // router ID step, where c (10.0.0.3) beats b (10.0.0.9).
        let d = best_path(&cands, DecisionOptions::default()).unwrap();
        assert_eq!(d.best, 2);
        // Comparing MED across ASes, b wins at the MED step.
        let d = best_path(
            &cands,
            DecisionOptions {
                always_compare_med: true,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(
            d,
            Decision {
                best: 1,
                step: Step::Med
            }
        );
    }

    proptest! {
        /// A path whose [`before_med`] key is greater than the winner's
        /// changes nothing, added or removed, whatever MED does among the
        /// others ([`Shared::unchanged_by`] relies on it).
        #[test]
        fn a_path_out_before_med_changes_nothing(
            paths in proptest::collection::vec((proptest::option::of(98u32..102), 1usize..4, 1u32..4, proptest::option::of(0u32..3), any::<bool>(), 0u8..8, any::<bool>()), 2..10),
            always in any::<bool>(),
            oldest in any::<bool>(),
        ) {
            let owned: Vec<(PathAttributes, Option<PeerInfo>, bool)> = paths
                .iter()
                .map(|&(lp, len, first, m, ebgp, n, reachable)| {
                    let mut path = vec![first];
                    path.extend(std::iter::repeat_n(64_512, len - 1));
                    // Neighbor 0: a locally originated path.
                    (attrs(lp, &path, m), (n > 0).then(|| peer(n, ebgp)).flatten(), reachable)
                })
                .collect();
            let cands: Vec<Candidate<'_>> = owned
                .iter()
                .enumerate()
                .map(|(i, (a, p, r))| Candidate { path_id: Some(i as u32), reachable: *r, received: i as u64, ..cand(a, *p) })
                .collect();
            let options = DecisionOptions { always_compare_med: always, prefer_oldest: oldest };
            let key = |c: &Candidate<'_>| before_med(c.attributes, c.peer.is_none());
            // The last candidate arrives after the others.
            let (last, rest) = cands.split_last().unwrap();
            let Some(d) = best_path(rest, options) else { return Ok(()) };
            if key(last) > key(&rest[d.best]) || !last.reachable {
                prop_assert_eq!(best_path(&cands, options).map(|x| x.best), Some(d.best));
            }
            // Any one of the others leaves.
            let Some(whole) = best_path(&cands, options) else { return Ok(()) };
            for i in 0..cands.len() {
                let out = key(&cands[i]) > key(&cands[whole.best]) || !cands[i].reachable;
                if i == whole.best || !out {
                    continue;
                }
                let fewer: Vec<Candidate<'_>> = cands.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, c)| *c).collect();
                let best = best_path(&fewer, options).map(|x| x.best + usize::from(x.best >= i));
                prop_assert_eq!(best, Some(whole.best));
            }
        }

        /// The winner does not depend on the order of the candidates.
        #[test]
        fn order_does_not_matter(
            paths in proptest::collection::vec((proptest::option::of(90u32..110), 1usize..4, 1u32..4, proptest::option::of(0u32..3), any::<bool>(), 1u8..8), 1..8),
            seed in any::<u64>(),
            always in any::<bool>(),
        ) {
            let owned: Vec<(PathAttributes, Option<PeerInfo>)> = paths
                .iter()
                .map(|&(lp, len, first, m, ebgp, n)| {
                    let mut path = vec![first];
                    path.extend(std::iter::repeat_n(64_512, len - 1));
                    (attrs(lp, &path, m), peer(n, ebgp))
                })
                .collect();
            // Each path of one neighbor has its own identifier, as ADD-PATH gives them.
            let cands: Vec<Candidate<'_>> = owned
                .iter()
                .enumerate()
                .map(|(i, (a, p))| Candidate { path_id: Some(i as u32), ..cand(a, *p) })
                .collect();
            let options = DecisionOptions { always_compare_med: always, ..Default::default() };
            let best = best_path(&cands, options).map(|d| d.best);
            // A deterministic shuffle of the same candidates.
            let mut order: Vec<usize> = (0..cands.len()).collect();
            let mut x = seed | 1;
            for i in (1..order.len()).rev() {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17;
                order.swap(i, (x % (i as u64 + 1)) as usize);
            }
            let shuffled: Vec<Candidate<'_>> = order.iter().map(|&i| cands[i]).collect();
            let again = best_path(&shuffled, options).map(|d| order[d.best]);
            prop_assert_eq!(best, again);
        }
    }
}
