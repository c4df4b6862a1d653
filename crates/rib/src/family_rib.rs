//! The tables of one family: destinations with their paths (Adj-RIBs-In
//! after policy and the Loc-RIB, see [`crate::table`]), the pre-policy
//! copies, and per neighbor what was last sent and what is due.
//!
//! What is due for a neighbor is what the family's change log holds past
//! its cursor (one log for every neighbor, see `ChangeLog`), the
//! destinations marked for it alone (`dirty`: its injected routes), and,
//! after the session comes up or a refresh, a walk of the whole table from
//! a cursor: never a copy of the table. Producing messages compares what
//! the neighbor should have now with what it was last sent, so a
//! destination that changed many times is sent once, in its latest state,
//! and one that changed back is not sent at all.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::ops::Bound;
use std::rc::Rc;

use ribbit_wire::attribute::Community;
use ribbit_wire::family::NlriKind;
use ribbit_wire::nlri::{Nlri, NlriList};
use ribbit_wire::route_refresh::{RefreshSubtype, RouteRefresh};
use ribbit_wire::{EncodeContext, Family, Message, NextHop, UpdatePacker};
use smallvec::SmallVec;

use crate::chunk_map::ChunkMap;
use crate::decision::best_path;
use crate::dests::Dests;
use crate::fast_hash::FastMap;
use crate::intern::{community_bit, AttrSet, SharedViews, WireSet};
use crate::key::{NlriKey, RouteKey};
use crate::prefix::{PrefixKey, V4Key, V6Key};
use crate::rib::{
    end_of_rib, import_policy, max_prefix, view, AddPathSend, DestinationView, ExportMemo,
    Exported, Ineligible, MaxPrefixAction, MaxPrefixHit, PathView, PeerId, RouteView, SessionInfo,
    Shared, UpdateReport,
};
use crate::route::RouteAttrs;
use crate::table::{flag, Dest, Path, LOCAL};

/// A family's tables, by key type.
#[derive(Debug)]
pub(crate) enum AnyFamily {
    /// IPv4 unicast and multicast.
    V4(FamilyRib<V4Key>),
    /// IPv6 unicast and multicast.
    V6(FamilyRib<V6Key>),
    /// Labeled, VPN and Flowspec families.
    Other(FamilyRib<NlriKey>),
}

impl AnyFamily {
    /// The tables for a family Ribbit decodes.
    pub fn new(family: Family) -> Option<AnyFamily> {
        Some(match family.nlri_kind()? {
            NlriKind::Prefix if family.is_ipv6() => AnyFamily::V6(FamilyRib::new(family)),
            NlriKind::Prefix => AnyFamily::V4(FamilyRib::new(family)),
            _ => AnyFamily::Other(FamilyRib::new(family)),
        })
    }
}

/// A route kept before import policy.
#[derive(Debug, Clone)]
struct PrePath<X> {
    attrs: WireSet,
    extra: X,
    stale: bool,
}

/// A neighbor's routes before import policy, by key and path identifier.
type PreTable<K> = BTreeMap<(K, Option<u32>), PrePath<<K as RouteKey>::Extra>>;

/// A route injected for one neighbor ([`crate::Rib::inject`]): the
/// attributes as given (ORIGIN and AS_PATH added when missing), shared
/// through the interner like any path's.
#[derive(Debug, Clone)]
pub(crate) struct Injected<X> {
    /// Next hop and attributes; the next hop is unused with
    /// `next_hop_self`.
    pub attrs: WireSet,
    /// The label stack, for labeled and VPN families.
    pub extra: X,
    /// `next-hop self`: our address on the session, resolved when sent.
    pub next_hop_self: bool,
}

/// A neighbor's injected routes, by key and path identifier (0 when none
/// was given, as ExaBGP sends it with ADD-PATH).
type InjectTable<K> = ChunkMap<(K, u32), Injected<<K as RouteKey>::Extra>>;

/// What a neighbor was last sent for destinations: per destination a
/// hash of what was sent (attributes, next hop, labels), which is all that
/// is needed to tell whether the current state differs. Dense arrays by
/// destination number ([`Dests`]): 8 bytes per destination without
/// ADD-PATH, grown only as far as the highest number sent (a neighbor that
/// is sent nothing costs nothing); with ADD-PATH, each path identifier
/// with its hash.
#[derive(Debug)]
enum Adj {
    /// One path per destination; 0: nothing sent (see [`nonzero_hash`]).
    Single(Vec<u64>),
    /// With ADD-PATH: the paths sent per destination, if any.
    Multi(Vec<Option<SentPaths>>),
}

/// (path identifier, hash) of each path sent for one destination with
/// ADD-PATH.
type SentPaths = Box<[(u32, u64)]>;

/// What the Adj-RIB-Out records of a path sent with hash `h`: never 0,
/// which means nothing sent (a hash of 0 counts as 1, one more collision
/// in 2^64 among those a 64-bit hash already accepts).
fn nonzero_hash(h: u64) -> u64 {
    h.max(1)
}

impl Adj {
    fn new(add_path: bool) -> Self {
        if add_path {
            Adj::Multi(Vec::new())
        } else {
            Adj::Single(Vec::new())
        }
    }

    /// What was sent for destination `id`: (path identifier, hash) pairs.
    fn get(&self, id: u32, out: &mut Vec<(u32, u64)>) {
        out.clear();
        let i = id as usize;
        match self {
            Adj::Single(v) => out.extend(v.get(i).filter(|h| **h != 0).map(|h| (0, *h))),
            Adj::Multi(v) => out.extend(
                v.get(i)
                    .into_iter()
                    .flatten()
                    .flat_map(|b| b.iter().copied()),
            ),
        }
    }

    /// Whether anything was sent for destination `id`.
    fn holds(&self, id: u32) -> bool {
        let i = id as usize;
        match self {
            Adj::Single(v) => v.get(i).is_some_and(|h| *h != 0),
            Adj::Multi(v) => v.get(i).is_some_and(Option::is_some),
        }
    }

    fn set(&mut self, id: u32, sent: &[(u32, u64)]) {
        let i = id as usize;
        match self {
            Adj::Single(v) => {
                let h = sent.first().map_or(0, |(_, h)| *h);
                if let Some(x) = v.get_mut(i) {
                    *x = h;
                } else if h != 0 {
                    v.resize(i + 1, 0);
                    if let Some(x) = v.get_mut(i) {
                        *x = h;
                    }
                }
            }
            Adj::Multi(v) => {
                let b = (!sent.is_empty()).then(|| SentPaths::from(sent));
                if let Some(x) = v.get_mut(i) {
                    *x = b;
                } else if b.is_some() {
                    v.resize_with(i + 1, || None);
                    if let Some(x) = v.get_mut(i) {
                        *x = b;
                    }
                }
            }
        }
    }
}

/// A pass over the whole table for one neighbor.
#[derive(Debug, Clone)]
struct Walk<K> {
    /// The last key handled; `None` before the first.
    from: Option<K>,
    /// Send every route even if the neighbor has it (ROUTE-REFRESH).
    force: bool,
    /// End-of-RIB after the pass.
    eor: bool,
    /// Enhanced route refresh end marker after the pass.
    eorr: bool,
    /// The session just came up: nothing ahead of the walk was sent.
    fresh: bool,
    /// A Beginning-of-RIB-Refresh is due before the walk's first message
    /// (RFC 7313 §4).
    borr: bool,
}

impl<K: Ord> Walk<K> {
    /// Whether `key` is still ahead of a walk that will send it and
    /// behind which nothing was sent, so that a change needs no mark.
    fn covers(&self, key: &K) -> bool {
        self.fresh && self.from.as_ref().is_none_or(|f| key > f)
    }
}

/// One neighbor's Adj-RIB-Out of the family and what is due.
#[derive(Debug)]
struct OutState<K: RouteKey> {
    /// ADD-PATH send negotiated: NLRI carry path identifiers.
    add_path: bool,
    adj: Adj,
    sent_paths: u32,
    /// Destinations due for this neighbor alone (injected routes).
    dirty: BTreeSet<K>,
    /// How far into the family's [`ChangeLog`] the neighbor is.
    cursor: u64,
    walk: Option<Walk<K>>,
}

impl<K: RouteKey> OutState<K> {
    fn new(add_path: bool, cursor: u64) -> Self {
        OutState {
            add_path,
            adj: Adj::new(add_path),
            sent_paths: 0,
            dirty: BTreeSet::new(),
            cursor,
            walk: None,
        }
    }
}

/// One entry of the [`ChangeLog`]: 16 bytes for IPv4.
#[derive(Debug)]
struct Change<K> {
    key: K,
    /// The destination's number ([`Dests`]).
    id: u32,
    /// [`BEST`]: its best path changed, every neighbor may need to hear of
    /// it; otherwise the one route server client it concerns, or [`ANY`]
    /// (see [`hint`]).
    hint: u32,
}

impl<K> Change<K> {
    /// Whether the best path changed.
    fn best(&self) -> bool {
        self.hint == BEST
    }
}

/// The destinations that changed, in the order they did, with whether
/// their best path changed; every neighbor reads it from its own cursor.
///
/// One entry per change, shared by every neighbor, costs less than a set
/// of due destinations per neighbor: an append, and a read per neighbor.
/// A destination that changes again before a neighbor got to it is in it
/// twice; the second time the neighbor has it already, and nothing is
/// sent. Entries every neighbor read are dropped, and a neighbor that
/// falls behind by more than the table's size is moved to a walk of the
/// table instead (see [`FamilyRib::trim_log`]): what is due for a slow
/// neighbor never costs more than the table, whatever the churn.
#[derive(Debug)]
struct ChangeLog<K> {
    entries: VecDeque<Change<K>>,
    /// The position of `entries[0]` since the family was created.
    base: u64,
}

impl<K> ChangeLog<K> {
    fn new() -> Self {
        ChangeLog {
            entries: VecDeque::new(),
            base: 0,
        }
    }

    /// The position after the last entry.
    fn end(&self) -> u64 {
        self.base.saturating_add(self.entries.len() as u64)
    }

    fn get(&self, pos: u64) -> Option<&Change<K>> {
        let i = usize::try_from(pos.checked_sub(self.base)?).ok()?;
        self.entries.get(i)
    }

    /// Drop the entries before `pos`.
    fn trim(&mut self, pos: u64) {
        let n = usize::try_from(pos.saturating_sub(self.base))
            .unwrap_or(usize::MAX)
            .min(self.entries.len());
        self.entries.drain(..n);
        self.base = self.base.saturating_add(n as u64);
        if self.entries.is_empty() && self.entries.capacity() > 4096 {
            // A burst is over: give its memory back.
            self.entries = VecDeque::new();
        }
    }
}

/// The tables of one family.
#[derive(Debug)]
pub(crate) struct FamilyRib<K: RouteKey> {
    family: Family,
    /// Destinations by key and by number.
    loc: Dests<K, K::Extra>,
    paths: usize,
    pre: FastMap<u32, PreTable<K>>,
    out: FastMap<u32, OutState<K>>,
    /// What changed, for the neighbors in `out`.
    log: ChangeLog<K>,
    /// Routes injected per neighbor; they outlive its sessions.
    inject: FastMap<u32, InjectTable<K>>,
    /// Idle destinations left after [`FamilyRib::release_idle`] last ran.
    idle_checked: usize,
    /// What [`FamilyRib::take`]'s batch works in, empty between calls.
    room: BatchRoom,
}

/// The routes of an injection table at `key`, by path identifier.
fn injected_at<'a, K: RouteKey>(
    m: &'a InjectTable<K>,
    key: &'a K,
) -> impl Iterator<Item = (u32, &'a Injected<K::Extra>)> + 'a {
    m.range_from(Bound::Included((key.clone(), 0)))
        .take_while(move |((k, _), _)| k == key)
        .map(|((_, id), r)| (*id, r))
}

/// What identifies the best path for change detection.
type BestSig<X> = Option<(u32, Option<u32>, usize, X)>;

fn best_sig<X: Clone>(d: &Dest<X>) -> BestSig<X> {
    d.best()
        .map(|p| (p.peer(), p.path_id(), p.attrs.addr(), p.extra.clone()))
}

/// Note that `key` changed (its best path, or only other paths), for the
/// neighbors whose export it may change (see [`ChangeLog`]); `hint` is
/// [`hint`] of the destination when its best path did not change.
fn touch<K: RouteKey>(
    out: &FastMap<u32, OutState<K>>,
    log: &mut ChangeLog<K>,
    key: &K,
    id: u32,
    best_changed: bool,
    hint: u32,
) {
    if !out.is_empty() {
        log.entries.push_back(Change {
            key: key.clone(),
            id,
            hint: if best_changed { BEST } else { hint },
        });
    }
}

/// [`Change::hint`] when the best path changed.
const BEST: u32 = u32::MAX;
/// [`Change::hint`] for every route server client (neighbor indices are
/// below [`LOCAL`], so neither is one).
const ANY: u32 = u32::MAX - 1;

/// Which route server clients a change to paths other than the best one
/// concerns (RFC 7947 §2.3.2, path hiding): a client gets the best path
/// unless it is withheld from it, and then the best it may have, which such
/// a change may alter. Without export policy the best path is withheld
/// from one client only, the neighbor it came from, when nothing else can
/// hold it back: no NO_EXPORT, NO_ADVERTISE, NO_EXPORT_SUBCONFED,
/// LLGR_STALE or OTC, and small enough to be sent anywhere. Then the hint
/// is that neighbor; otherwise [`ANY`].
fn hint<X>(d: &Dest<X>) -> u32 {
    let Some(best) = d.best() else {
        return ANY;
    };
    let f = best.attrs.facts();
    let held_back = f.has(community_bit::NO_EXPORT)
        || f.has(community_bit::NO_ADVERTISE)
        || f.has(community_bit::NO_EXPORT_SUBCONFED)
        || f.has(community_bit::LLGR_STALE)
        || f.otc.is_some()
        || best.attrs.attribute_bytes().len() > 3_000;
    if held_back {
        ANY
    } else {
        best.peer()
    }
}

/// The change log entries a neighbor may be behind by, at least, before it
/// is moved to a walk of the table (see [`FamilyRib::trim_log`]).
const LOG_SLACK: u64 = 65_536;

/// Bytes of an UPDATE besides attributes and NLRI (header, two lengths).
const UPDATE_OVERHEAD: usize = ribbit_wire::HEADER_LEN + 4;

/// Running size of the UPDATEs of one group, computed the way
/// [`UpdatePacker`] fills them.
#[derive(Debug, Clone, Copy)]
struct Acc {
    fixed: usize,
    room: usize,
    fill: usize,
    messages: usize,
}

impl Acc {
    fn new(fixed: usize, max: usize) -> Acc {
        Acc {
            fixed,
            room: max.saturating_sub(UPDATE_OVERHEAD).saturating_sub(fixed),
            fill: 0,
            messages: 0,
        }
    }

    /// The bytes that adding an NLRI of `n` bytes adds.
    fn cost(&self, n: usize) -> usize {
        if self.messages == 0 || self.fill.saturating_add(n) > self.room {
            UPDATE_OVERHEAD.saturating_add(self.fixed).saturating_add(n)
        } else {
            n
        }
    }

    fn add(&mut self, n: usize) {
        if self.messages == 0 || self.fill.saturating_add(n) > self.room {
            self.messages = self.messages.saturating_add(1);
            self.fill = n;
        } else {
            self.fill = self.fill.saturating_add(n);
        }
    }
}

/// The bytes of an MP_REACH_NLRI's fixed part for `next_hop` (AFI, SAFI,
/// next hop length and address, reserved octet), as the packer writes it.
fn mp_head_len(family: Family, next_hop: &NextHop) -> usize {
    let addr = match next_hop {
        NextHop::Empty => 0,
        NextHop::V4(_) => 4,
        NextHop::V6 {
            link_local: None, ..
        } => 16,
        NextHop::V6 {
            link_local: Some(_),
            ..
        } => 32,
    };
    let rd = if matches!(family.nlri_kind(), Some(NlriKind::Vpn)) && addr > 0 {
        if addr == 32 {
            16
        } else {
            8
        }
    } else {
        0
    };
    5 + addr + rd
}

/// Announcements of one attribute set.
struct Group {
    exported: Rc<Exported>,
    acc: Acc,
    /// NLRI in the group.
    count: u32,
}

/// Withdrawals, in [`Batch::items`].
const WITHDRAW: u32 = u32::MAX;

/// The messages being put together in one [`FamilyRib::take`]: the NLRI
/// in wire form, back to back in the order they come, each tagged with its
/// group (an attribute set, or withdrawn), sorted by group when encoded.
/// Nothing is allocated per group or per NLRI.
struct Batch {
    family: Family,
    ctx: EncodeContext,
    groups: Vec<Group>,
    /// The group of the last announcement (consecutive destinations often
    /// share their attribute set).
    last: Option<(u64, u32)>,
    withdrawn: u32,
    w_acc: Acc,
    bytes: usize,
    /// Its maps and vectors.
    room: BatchRoom,
}

/// The maps and vectors of a [`Batch`], empty, with the room they grew
/// to: kept by the family between [`FamilyRib::take`]s, so that a table's
/// load (a pass every few hundred UPDATEs) does not grow them from nothing
/// at every pass (rehashing the group index, reallocating the NLRI). The
/// groups hold export results (`Rc`, which the RIB's thread alone may
/// hold): only their number is kept, to allocate them at once.
#[derive(Default)]
struct BatchRoom {
    groups: usize,
    /// Group by export result hash.
    index: FastMap<u64, u32>,
    /// NLRI bytes, and per NLRI (group, end in `nlri`).
    nlri: Vec<u8>,
    items: Vec<(u32, u32)>,
    /// Where [`Batch::encode`] sorts.
    order: Vec<u32>,
    at: Vec<u32>,
    sorted: Vec<u8>,
    ends: Vec<u32>,
}

impl std::fmt::Debug for BatchRoom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchRoom")
            .field("nlri", &self.nlri.capacity())
            .field("items", &self.items.capacity())
            .finish()
    }
}

impl Batch {
    fn new(family: Family, ctx: EncodeContext, room: BatchRoom) -> Batch {
        let classic = family == Family::IPV4_UNICAST;
        Batch {
            family,
            ctx,
            groups: Vec::with_capacity(room.groups),
            last: None,
            withdrawn: 0,
            w_acc: Acc::new(if classic { 0 } else { 7 }, ctx.max_message_len()),
            bytes: 0,
            room,
        }
    }

    /// Its maps and vectors, emptied (nothing held: the groups' export
    /// results go), for the next batch.
    fn into_room(self) -> BatchRoom {
        let mut r = self.room;
        r.groups = self.groups.len();
        r.index.clear();
        r.nlri.clear();
        r.items.clear();
        r.order.clear();
        r.at.clear();
        r.sorted.clear();
        r.ends.clear();
        r
    }

    fn path_id_len(&self) -> usize {
        if self.ctx.add_path(self.family) {
            4
        } else {
            0
        }
    }

    /// The fixed part of an UPDATE announcing `e`.
    fn fixed(&self, e: &Exported) -> usize {
        let nh = e.next_hop;
        let len = e.encoded.len();
        if self.family == Family::IPV4_UNICAST && matches!(nh, NextHop::V4(_) | NextHop::Empty) {
            len + if matches!(nh, NextHop::V4(_)) { 7 } else { 0 }
        } else {
            len + 4 + mp_head_len(self.family, &nh)
        }
    }

    fn group_of(&self, hash: u64) -> Option<u32> {
        match self.last {
            Some((h, i)) if h == hash => Some(i),
            _ => self.room.index.get(&hash).copied(),
        }
    }

    fn announce_cost(&self, e: &Exported, n: usize) -> usize {
        match self
            .group_of(e.hash)
            .and_then(|i| self.groups.get(i as usize))
        {
            Some(g) => g.acc.cost(n),
            None => Acc::new(self.fixed(e), self.ctx.max_message_len()).cost(n),
        }
    }

    fn push<K: RouteKey>(&mut self, group: u32, key: &K, id: Option<u32>, extra: &K::Extra) {
        key.write_nlri(self.family, id, extra, &mut self.room.nlri);
        let end = u32::try_from(self.room.nlri.len()).unwrap_or(u32::MAX);
        self.room.items.push((group, end));
    }

    fn announce<K: RouteKey>(
        &mut self,
        key: &K,
        id: Option<u32>,
        e: &Rc<Exported>,
        extra: &K::Extra,
    ) {
        let n = key.wire_len(extra) + self.path_id_len();
        let i = match self.group_of(e.hash) {
            Some(i) => i,
            None => {
                let acc = Acc::new(self.fixed(e), self.ctx.max_message_len());
                self.groups.push(Group {
                    exported: Rc::clone(e),
                    acc,
                    count: 0,
                });
                let i = u32::try_from(self.groups.len() - 1).unwrap_or(WITHDRAW - 1);
                self.room.index.insert(e.hash, i);
                i
            }
        };
        self.last = Some((e.hash, i));
        if let Some(g) = self.groups.get_mut(i as usize) {
            self.bytes = self.bytes.saturating_add(g.acc.cost(n));
            g.acc.add(n);
            g.count = g.count.saturating_add(1);
        }
        self.push(i, key, id, extra);
    }

    fn withdraw_cost(&self, n: usize) -> usize {
        self.w_acc.cost(n)
    }

    /// Withdraw `key` (labels are not needed: RFC 8277 §2.4).
    fn withdraw<K: RouteKey>(&mut self, key: &K, id: Option<u32>) {
        let extra = K::Extra::default();
        let n = key.wire_len(&extra) + self.path_id_len();
        self.bytes = self.bytes.saturating_add(self.w_acc.cost(n));
        self.w_acc.add(n);
        self.withdrawn = self.withdrawn.saturating_add(1);
        self.push(WITHDRAW, key, id, &extra);
    }

    /// Encode everything, withdrawals first, appended to `out`.
    fn encode(&mut self, out: &mut Vec<u8>) {
        if self.room.items.is_empty() {
            return;
        }
        let packer = UpdatePacker::new(self.ctx);
        out.reserve(self.bytes);
        // Where each group's NLRI go once sorted: withdrawals first, then
        // the groups in the order they were made.
        let at = &mut self.room.at;
        at.clear();
        let mut next = self.withdrawn;
        at.push(0);
        for g in &self.groups {
            at.push(next);
            next = next.saturating_add(g.count);
        }
        let slot = |group: u32| {
            if group == WITHDRAW {
                0
            } else {
                group as usize + 1
            }
        };
        // Counting sort of the NLRI by group, keeping their order within.
        let order = &mut self.room.order;
        order.clear();
        order.resize(self.room.items.len(), 0);
        for (i, &(group, _)) in self.room.items.iter().enumerate() {
            if let Some(pos) = at.get_mut(slot(group)) {
                if let Some(o) = order.get_mut(*pos as usize) {
                    *o = u32::try_from(i).unwrap_or(u32::MAX);
                }
                *pos = pos.saturating_add(1);
            }
        }
        let order = &self.room.order;
        let (mut sorted, mut ends) = (
            std::mem::take(&mut self.room.sorted),
            std::mem::take(&mut self.room.ends),
        );
        let range = |i: u32| {
            let i = i as usize;
            let end = self.room.items.get(i).map_or(0, |x| x.1 as usize);
            let begin = match i.checked_sub(1) {
                Some(p) => self.room.items.get(p).map_or(0, |x| x.1 as usize),
                None => 0,
            };
            self.room.nlri.get(begin..end).unwrap_or_default()
        };
        let mut cursor = 0usize;
        let mut emit = |count: u32,
                        sorted: &mut Vec<u8>,
                        ends: &mut Vec<u32>,
                        f: &mut dyn FnMut(&[u8], &[u32])| {
            sorted.clear();
            ends.clear();
            for &i in order
                .get(cursor..cursor + count as usize)
                .unwrap_or_default()
            {
                sorted.extend_from_slice(range(i));
                ends.push(u32::try_from(sorted.len()).unwrap_or(u32::MAX));
            }
            cursor += count as usize;
            f(sorted, ends);
        };
        let family = self.family;
        if self.withdrawn > 0 {
            emit(self.withdrawn, &mut sorted, &mut ends, &mut |n, e| {
                // Cannot fail: a withdrawn NLRI always fits an empty UPDATE.
                let _ = packer.withdraw_wire(family, n, e, out);
            });
        }
        for g in &self.groups {
            emit(g.count, &mut sorted, &mut ends, &mut |n, e| {
                // Sets too large to go with one NLRI were refused on export;
                // a Flowspec rule that still does not fit is dropped here.
                let _ = packer.announce_wire(
                    family,
                    g.exported.encoded.view(),
                    g.exported.next_hop,
                    n,
                    e,
                    out,
                );
            });
        }
        self.room.sorted = sorted;
        self.room.ends = ends;
    }
}

/// One path a neighbor should have for a destination.
struct Want<X> {
    /// The path identifier it is sent with.
    id: u32,
    exported: Rc<Exported>,
    extra: X,
    /// What the Adj-RIB-Out keeps of it.
    hash: u64,
}

/// The eligible paths in decision order, given to `each` by index: the
/// best, then the best of the rest, and so on; long-lived stale paths
/// after all others. Stops when `each` returns false, so that finding the
/// first few (path hiding, ADD-PATH best N) costs a decision each, not a
/// ranking of every path.
fn rank<X>(sh: &Shared, paths: &[Path<X>], mut each: impl FnMut(usize) -> bool) {
    let facts = Shared::facts(paths);
    let mut c = sh.candidates(paths, &facts);
    let mut order: SmallVec<[usize; 8]> = SmallVec::new();
    loop {
        match best_path(&c, sh.options.decision) {
            Some(d) => {
                order.push(d.best);
                if let Some(x) = c.get_mut(d.best) {
                    x.reachable = false;
                }
                if !each(d.best) {
                    return;
                }
            }
            None => {
                // The long-lived stale tier, if it was held back.
                let mut again = false;
                for (i, x) in c.iter_mut().enumerate() {
                    let usable = paths
                        .get(i)
                        .is_some_and(|p| sh.reachable(&p.attrs.next_hop()));
                    if !order.contains(&i) && usable && !x.reachable {
                        x.reachable = true;
                        again = true;
                    }
                }
                if !again {
                    break;
                }
            }
        }
    }
}

impl<K: RouteKey> FamilyRib<K> {
    fn new(family: Family) -> Self {
        FamilyRib {
            family,
            loc: Dests::default(),
            paths: 0,
            pre: FastMap::default(),
            out: FastMap::default(),
            log: ChangeLog::new(),
            inject: FastMap::default(),
            idle_checked: 0,
            room: BatchRoom::default(),
        }
    }

    /// (destinations, paths).
    pub fn sizes(&self) -> (usize, usize) {
        (self.loc.live(), self.paths)
    }

    /// Paths in a neighbor's Adj-RIB-Out.
    pub fn advertised(&self, peer: u32) -> u32 {
        self.out.get(&peer).map_or(0, |o| o.sent_paths)
    }

    /// Start (or restart) a walk of the whole table (and of the routes
    /// injected for the neighbor) for a neighbor. `fresh`: the session just
    /// came up (with ADD-PATH send or not), nothing was sent yet. `eorr`:
    /// an enhanced route refresh, framed by BoRR and EoRR (RFC 7313 §4).
    pub fn start_walk(&mut self, peer: u32, force: bool, eorr: bool, fresh: Option<bool>) {
        if let Some(add_path) = fresh {
            self.out
                .insert(peer, OutState::new(add_path, self.log.end()));
        }
        let Some(st) = self.out.get_mut(&peer) else {
            return;
        };
        let prev = st.walk.take();
        st.walk = Some(Walk {
            from: None,
            force: force || prev.as_ref().is_some_and(|w| w.force),
            eor: fresh.is_some() || prev.as_ref().is_some_and(|w| w.eor),
            eorr: eorr || prev.as_ref().is_some_and(|w| w.eorr),
            // A BoRR not sent yet still goes first; a new refresh starts
            // with its own (RFC 7313 §4 lets a refresh restart).
            borr: eorr || prev.as_ref().is_some_and(|w| w.borr),
            // A walk restarted over a fresh one that has not moved yet
            // still covers what was not sent; any other does not.
            fresh: fresh.is_some() || prev.as_ref().is_some_and(|w| w.fresh && w.from.is_none()),
        });
    }

    /// Forget what was sent to a neighbor (its session went down).
    pub fn drop_out(&mut self, peer: u32) {
        self.out.remove(&peer);
        self.trim_log();
    }

    /// [`FamilyRib::trim_log`] once the log holds more than twice what a
    /// neighbor may be behind by (checked after each UPDATE, so that the
    /// log stays bounded even when no neighbor takes anything).
    pub fn maybe_trim_log(&mut self) {
        let limit = (self.loc.indexed() as u64).max(LOG_SLACK);
        if self.log.entries.len() as u64 > limit.saturating_mul(2) {
            self.trim_log();
        }
    }

    /// The change log's length (for tests).
    #[cfg(test)]
    pub fn log_len(&self) -> usize {
        self.log.entries.len()
    }

    /// Destination numbers handed out (for tests).
    #[cfg(test)]
    pub fn numbers(&self) -> usize {
        self.loc.numbers()
    }

    /// Drop the log entries every neighbor has read. A neighbor further
    /// behind than the table is large reads no more of it: it walks the
    /// table instead, comparing with what it was sent, which costs no more
    /// than the table whatever the churn.
    fn trim_log(&mut self) {
        let end = self.log.end();
        let limit = (self.loc.indexed() as u64).max(LOG_SLACK);
        let mut min = end;
        for st in self.out.values_mut() {
            if end.saturating_sub(st.cursor) > limit {
                let prev = st.walk.take();
                st.walk = Some(Walk {
                    from: None,
                    force: prev.as_ref().is_some_and(|w| w.force),
                    eor: prev.as_ref().is_some_and(|w| w.eor),
                    eorr: prev.as_ref().is_some_and(|w| w.eorr),
                    // What the walk passed was sent: it starts over, comparing.
                    fresh: false,
                    borr: prev.as_ref().is_some_and(|w| w.borr),
                });
                st.cursor = end;
            }
            min = min.min(st.cursor);
        }
        self.log.trim(min);
        self.release_idle();
    }

    /// Free the numbers of destinations left without a path once nothing
    /// refers to them any more (see [`Dests`]): no unread change log entry
    /// (the log is empty), no neighbor's Adj-RIB-Out (its withdrawal was
    /// sent), no route injected for a neighbor. Checked when the idle ones
    /// doubled since the last time, so each costs a bounded number of
    /// checks; those still held wait for the next time.
    fn release_idle(&mut self) {
        if !self.log.entries.is_empty()
            || self.loc.idle() < self.idle_checked.saturating_mul(2).max(64)
        {
            return;
        }
        let FamilyRib {
            loc, out, inject, ..
        } = self;
        loc.release(|id, key| {
            out.values().any(|o| o.adj.holds(id))
                || inject
                    .values()
                    .any(|m| injected_at(m, key).next().is_some())
        });
        self.idle_checked = self.loc.idle();
    }

    /// Forget everything of a removed neighbor but its paths.
    pub fn forget_peer(&mut self, peer: u32) {
        self.out.remove(&peer);
        self.pre.remove(&peer);
        self.inject.remove(&peer);
    }

    /// Mark `key` due for one neighbor, unless a fresh walk will reach it.
    fn mark(&mut self, peer: u32, key: &K) {
        if let Some(st) = self.out.get_mut(&peer) {
            if !st.walk.as_ref().is_some_and(|w| w.covers(key)) {
                st.dirty.insert(key.clone());
            }
        }
    }

    /// Inject a route for a neighbor (see [`crate::Rib::inject`]),
    /// replacing the one it had with the same NLRI and path identifier.
    /// Returns false when the NLRI does not belong in this family.
    pub fn inject(
        &mut self,
        peer: u32,
        nlri: Nlri<'_>,
        attrs: &WireSet,
        next_hop_self: bool,
    ) -> bool {
        let Some((key, path_id, extra)) = K::from_nlri(self.family, nlri) else {
            return false;
        };
        let at = (key, path_id.unwrap_or(0));
        let map = self.inject.entry(peer).or_default();
        match map.get_mut(&at) {
            Some(o) => {
                if o.attrs.same(attrs) && o.next_hop_self == next_hop_self && o.extra == extra {
                    // Announced again as it is: nothing to send.
                    return true;
                }
                o.attrs = attrs.clone();
                o.extra = extra;
                o.next_hop_self = next_hop_self;
            }
            None => {
                map.insert(
                    at.clone(),
                    Injected {
                        attrs: attrs.clone(),
                        extra,
                        next_hop_self,
                    },
                );
            }
        }
        // The neighbor's Adj-RIB-Out needs a number for the destination
        // even when no neighbor sent a path for it.
        if let Some((id, true)) = self.loc.entry(at.0.clone()) {
            self.loc.keep_idle(id, at.0.clone());
        }
        self.mark(peer, &at.0);
        true
    }

    /// Withdraw a route injected for a neighbor; returns whether it was.
    pub fn retract(&mut self, peer: u32, nlri: Nlri<'_>) -> bool {
        let Some((key, path_id, _)) = K::from_nlri(self.family, nlri) else {
            return false;
        };
        let Some(map) = self.inject.get_mut(&peer) else {
            return false;
        };
        if map.remove(&(key.clone(), path_id.unwrap_or(0))).is_none() {
            return false;
        }
        if map.is_empty() {
            self.inject.remove(&peer);
        }
        self.mark(peer, &key);
        true
    }

    /// Withdraw every route injected for a neighbor; returns how many.
    pub fn retract_all(&mut self, peer: u32) -> usize {
        let Some(map) = self.inject.remove(&peer) else {
            return 0;
        };
        let mut last: Option<&K> = None;
        let keys: Vec<K> = map
            .iter()
            .filter_map(|((k, _), _)| {
                let new = last != Some(k);
                last = Some(k);
                new.then(|| k.clone())
            })
            .collect();
        for k in &keys {
            self.mark(peer, k);
        }
        map.len()
    }

    /// The routes injected for a neighbor: (NLRI with its path identifier
    /// when one was given, attributes, next hop self).
    pub fn injected(&self, peer: u32) -> Vec<(NlriList, WireSet, bool)> {
        let Some(map) = self.inject.get(&peer) else {
            return Vec::new();
        };
        map.iter()
            .map(|((key, id), r)| {
                let mut nlri =
                    NlriList::empty_for(self.family).unwrap_or(NlriList::Prefixes(Vec::new()));
                let id = (*id != 0).then_some(*id);
                key.push_nlri(self.family, id, &r.extra, &mut nlri);
                (nlri, r.attrs.clone(), r.next_hop_self)
            })
            .collect()
    }

    /// How many routes are injected for a neighbor.
    pub fn injected_len(&self, peer: u32) -> usize {
        self.inject.get(&peer).map_or(0, ChunkMap::len)
    }

    /// Whether messages are due for a neighbor.
    pub fn has_pending(&self, peer: u32) -> bool {
        let end = self.log.end();
        self.out
            .get(&peer)
            .is_some_and(|o| !o.dirty.is_empty() || o.walk.is_some() || o.cursor < end)
    }

    fn adjust_accepted(&self, sh: &mut Shared, peer: u32, delta: i64) {
        if peer == LOCAL {
            return;
        }
        let family = self.family;
        if let Some(p) = sh.peer_mut(peer) {
            let c = p.counter(family);
            c.accepted = if delta < 0 {
                c.accepted.saturating_sub(1)
            } else {
                c.accepted.saturating_add(1)
            };
            let count = c.accepted;
            if let Some(m) = crate::rib::max_prefix(p, family) {
                if count <= m.limit {
                    p.max_reported.remove(&family);
                }
            }
        }
    }

    /// Insert or replace a path, decide, and mark the destination due.
    fn upsert(&mut self, sh: &mut Shared, key: K, path: Path<K::Extra>) {
        let peer = path.peer();
        let Some((id, _)) = self.loc.entry(key.clone()) else {
            return;
        };
        let Some(dest) = self.loc.at_mut(id) else {
            return;
        };
        let was_empty = dest.is_empty();
        let before = best_sig(dest);
        let new_attrs = path.attrs.addr();
        let new_extra = path.extra.clone();
        let old = dest.upsert(path);
        let same = old
            .as_ref()
            .is_some_and(|o| o.attrs.addr() == new_attrs && o.extra == new_extra);
        sh.decide_after(dest.paths_mut(), old.as_ref());
        let changed = before != best_sig(dest);
        let h = if changed { ANY } else { hint(dest) };
        self.loc.changed(id, &key, was_empty);
        match old {
            // Only flags (stale) changed: nothing anyone sees.
            Some(_) if same => return,
            // Released once the comparisons by address above are done.
            Some(o) => sh.release(o),
            None => {
                self.paths = self.paths.saturating_add(1);
                self.adjust_accepted(sh, peer, 1);
            }
        }
        touch(&self.out, &mut self.log, &key, id, changed, h);
    }

    /// Remove the path `peer` sent with `path_id` for `key`; whether there
    /// was one.
    fn remove_path(&mut self, sh: &mut Shared, peer: u32, key: &K, path_id: Option<u32>) -> bool {
        let Some(id) = self.loc.id(key) else {
            return false;
        };
        let Some(dest) = self.loc.at_mut(id) else {
            return false;
        };
        let before = best_sig(dest);
        let Some(removed) = dest.remove(peer, path_id) else {
            return false;
        };
        let (changed, h) = if dest.is_empty() {
            (true, ANY)
        } else {
            sh.decide(dest.paths_mut());
            let changed = before != best_sig(dest);
            (changed, if changed { ANY } else { hint(dest) })
        };
        self.loc.changed(id, key, false);
        self.paths = self.paths.saturating_sub(1);
        self.adjust_accepted(sh, peer, -1);
        touch(&self.out, &mut self.log, key, id, changed, h);
        sh.release(removed);
        true
    }

    /// Withdraw the path a neighbor (or [`LOCAL`]) has for an NLRI;
    /// whether there was one.
    pub fn withdraw(&mut self, sh: &mut Shared, peer: u32, nlri: Nlri<'_>) -> bool {
        K::from_nlri(self.family, nlri)
            .is_some_and(|(key, path_id, _)| self.remove_path(sh, peer, &key, path_id))
    }

    /// One announcement from a neighbor, `set` being the attributes after
    /// the import rules (`None`: refused by them).
    pub fn import_one(
        &mut self,
        sh: &mut Shared,
        peer: u32,
        nlri: Nlri<'_>,
        set: Option<(Option<&RouteAttrs>, &WireSet)>,
        report: &mut UpdateReport,
    ) {
        self.import_list(sh, peer, std::iter::once(nlri), set, report);
    }

    /// Announcements from a neighbor sharing one attribute set (one
    /// UPDATE's), `set` being the attributes after the import rules
    /// (`None`: refused by them). What does not depend on the prefix (the
    /// neighbor's settings, its counters, whether the next hop is usable)
    /// is looked up once, and each prefix costs one lookup in the table.
    pub fn import_list<'n>(
        &mut self,
        sh: &mut Shared,
        peer: u32,
        nlris: impl Iterator<Item = Nlri<'n>>,
        set: Option<(Option<&RouteAttrs>, &WireSet)>,
        report: &mut UpdateReport,
    ) {
        let family = self.family;
        let Some(p) = sh.peer(peer) else {
            return;
        };
        let pass_through = p.config.import.is_pass_through();
        let limit = max_prefix(p, family);
        let mut count = p.counters.get(&family).map_or(0, |c| c.accepted);
        // A path accepted with the count within the limit allows the
        // limit to be reported again.
        let mut under = false;
        let given = set.map(|(_, s)| (s.clone(), sh.reachable(&s.next_hop())));
        let mut rejected = 0u64;
        for nlri in nlris {
            let Some((key, path_id, extra)) = K::from_nlri(family, nlri) else {
                report.ignored = report.ignored.saturating_add(1);
                continue;
            };
            let accepted = match (set, &given) {
                (Some(_), Some((s, reachable))) if pass_through => Some((s.clone(), *reachable)),
                (Some((a, s)), Some((g, reachable))) => {
                    let prefix = key.prefix().or_else(|| crate::key::nlri_prefix(nlri));
                    import_policy(sh, peer, family, prefix, a, s).map(|x| {
                        let r = if x.same(g) {
                            *reachable
                        } else {
                            sh.reachable(&x.next_hop())
                        };
                        (x, r)
                    })
                }
                _ => None,
            };
            let Some((set, reachable)) = accepted else {
                rejected = rejected.saturating_add(1);
                // A refused announcement replaces what the neighbor had.
                if self.remove_path(sh, peer, &key, path_id) {
                    count = count.saturating_sub(1);
                }
                continue;
            };
            let FamilyRib {
                loc,
                out,
                log,
                paths,
                ..
            } = self;
            let Some((id, created)) = loc.entry(key.clone()) else {
                continue;
            };
            let Some(dest) = loc.at_mut(id) else {
                continue;
            };
            let exists = dest.paths().iter().any(|p| p.is(peer, path_id));
            if !exists {
                if let Some(m) = limit {
                    if count.saturating_add(1) > m.limit {
                        if let Some(p) = sh.peer_mut(peer) {
                            under = false;
                            if p.max_reported.insert(family) {
                                report.max_prefix = Some(MaxPrefixHit {
                                    family,
                                    limit: m.limit,
                                    count: count.saturating_add(1),
                                    action: m.action,
                                });
                            }
                        }
                        if m.action != MaxPrefixAction::Warn {
                            rejected = rejected.saturating_add(1);
                            if created {
                                loc.discard(&key, id);
                            }
                            continue;
                        }
                    }
                }
            }
            report.announced = report.announced.saturating_add(1);
            if dest.is_empty() {
                // The only path: best if its next hop can be used, as the
                // decision would find (the common case of a full table).
                let mut path = Path::new(set, peer, path_id, extra);
                if reachable {
                    path.set(flag::BEST);
                }
                dest.upsert(path);
                loc.changed(id, &key, true);
                *paths = paths.saturating_add(1);
                count = count.saturating_add(1);
                under |= limit.is_some_and(|m| count <= m.limit);
                // Not reachable: no best path, nothing to hint at.
                touch(out, log, &key, id, reachable, ANY);
                continue;
            }
            let before = best_sig(dest);
            let new_attrs = set.addr();
            let new_extra = extra.clone();
            let old = dest.upsert(Path::new(set, peer, path_id, extra));
            let same = old
                .as_ref()
                .is_some_and(|o| o.attrs.addr() == new_attrs && o.extra == new_extra);
            sh.decide_after(dest.paths_mut(), old.as_ref());
            if same {
                // Only flags (stale) changed: nothing anyone sees.
                continue;
            }
            let changed = before != best_sig(dest);
            let h = if changed { ANY } else { hint(dest) };
            match old {
                // Released once the comparisons by address above are done.
                Some(o) => sh.release(o),
                None => {
                    *paths = paths.saturating_add(1);
                    count = count.saturating_add(1);
                    under |= limit.is_some_and(|m| count <= m.limit);
                }
            }
            touch(out, log, &key, id, changed, h);
        }
        report.rejected = report
            .rejected
            .saturating_add(u32::try_from(rejected).unwrap_or(u32::MAX));
        if let Some(p) = sh.peer_mut(peer) {
            let c = p.counter(family);
            c.rejected = c.rejected.saturating_add(rejected);
            c.accepted = count;
            // Reported again only after dropping back under the limit.
            if under {
                p.max_reported.remove(&family);
            }
        }
    }

    /// Bring into the cache what applying many UPDATEs' prefixes will read
    /// of the index, a stage at a time for all of them ([`Dests::warm`]):
    /// far more cache misses in flight than looking one prefix up after
    /// another gives.
    pub fn warm_many<'n>(&self, nlris: impl Iterator<Item = Nlri<'n>>) {
        let keys: Vec<K> = nlris
            .filter_map(|n| K::from_nlri(self.family, n).map(|(k, _, _)| k))
            .collect();
        std::hint::black_box(self.loc.warm(&keys));
    }

    /// A locally originated route.
    pub fn insert_local(&mut self, sh: &mut Shared, nlri: Nlri<'_>, set: WireSet) -> bool {
        let Some((key, path_id, extra)) = K::from_nlri(self.family, nlri) else {
            return false;
        };
        self.upsert(sh, key, Path::new(set, LOCAL, path_id, extra));
        true
    }

    /// Keep a route before import policy.
    pub fn pre_insert(&mut self, sh: &mut Shared, peer: u32, nlri: Nlri<'_>, attrs: WireSet) {
        if let Some((key, id, extra)) = K::from_nlri(self.family, nlri) {
            let old = self.pre.entry(peer).or_default().insert(
                (key, id),
                PrePath {
                    attrs,
                    extra,
                    stale: false,
                },
            );
            if let Some(old) = old {
                sh.interner.release(old.attrs);
            }
        }
    }

    /// Forget a kept pre-policy route.
    pub fn pre_remove(&mut self, sh: &mut Shared, peer: u32, nlri: Nlri<'_>) {
        let Some(map) = self.pre.get_mut(&peer) else {
            return;
        };
        if let Some(old) =
            K::from_nlri(self.family, nlri).and_then(|(key, id, _)| map.remove(&(key, id)))
        {
            sh.interner.release(old.attrs);
        }
    }

    /// Forget every kept pre-policy route of a neighbor.
    pub fn pre_drop(&mut self, peer: u32) {
        self.pre.remove(&peer);
    }

    /// A neighbor's kept pre-policy routes: (NLRI, attributes, stale).
    pub fn pre_routes(&self, peer: u32) -> Vec<(NlriList, WireSet, bool)> {
        let Some(map) = self.pre.get(&peer) else {
            return Vec::new();
        };
        map.iter()
            .map(|((key, id), p)| {
                let mut nlri =
                    NlriList::empty_for(self.family).unwrap_or(NlriList::Prefixes(Vec::new()));
                key.push_nlri(self.family, *id, &p.extra, &mut nlri);
                (nlri, p.attrs.clone(), p.stale)
            })
            .collect()
    }

    /// Decide again every destination with a path of `peer` (its BGP
    /// identifier changed).
    pub fn redecide_peer(&mut self, sh: &Shared, peer: u32) {
        let FamilyRib { loc, out, log, .. } = self;
        loc.for_each_mut(|key, id, d| {
            if d.paths().iter().any(|p| p.peer() == peer) {
                let before = best_sig(d);
                sh.decide(d.paths_mut());
                let changed = before != best_sig(d);
                let h = if changed { ANY } else { hint(d) };
                touch(out, log, key, id, changed, h);
            }
        });
    }

    /// Every path of the neighbors `of` picks, as views (for Flowspec
    /// validation, [`crate::flow_validation`]).
    pub fn paths_of(&self, of: &dyn Fn(u32) -> bool) -> Vec<(RouteView, bool)> {
        let mut out = Vec::new();
        for (key, d) in self.loc.iter() {
            for p in d.paths() {
                if p.peer() != LOCAL && of(p.peer()) {
                    out.push((self.path_view(key, p), p.has(flag::INVALID)));
                }
            }
        }
        out
    }

    /// Mark a neighbor's path valid or not (RFC 8955 §6); the destination
    /// is decided again and sent when that changes its best path.
    pub fn set_invalid(&mut self, sh: &Shared, peer: u32, nlri: Nlri<'_>, invalid: bool) {
        let Some((key, id, _)) = K::from_nlri(self.family, nlri) else {
            return;
        };
        let FamilyRib { loc, out, log, .. } = self;
        let Some(num) = loc.id(&key) else {
            return;
        };
        let Some(d) = loc.at_mut(num) else {
            return;
        };
        let mut changed = false;
        for p in d.paths_mut() {
            if p.is(peer, id) && p.has(flag::INVALID) != invalid {
                if invalid {
                    p.set(flag::INVALID);
                } else {
                    p.clear(flag::INVALID);
                }
                changed = true;
            }
        }
        if changed {
            let before = best_sig(d);
            sh.decide(d.paths_mut());
            let best_changed = before != best_sig(d);
            let h = if best_changed { ANY } else { hint(d) };
            touch(out, log, &key, num, best_changed, h);
        }
    }

    /// Mark one path of a neighbor stale (re-import of stale routes).
    pub fn mark_one_stale(&mut self, peer: u32, nlri: Nlri<'_>) {
        let Some((key, id, _)) = K::from_nlri(self.family, nlri) else {
            return;
        };
        if let Some(d) = self.loc.id(&key).and_then(|n| self.loc.at_mut(n)) {
            for p in d.paths_mut() {
                if p.is(peer, id) {
                    p.set(flag::STALE);
                }
            }
        }
    }

    /// Mark every path of a neighbor stale (graceful restart, RFC 4724
    /// §4.2). Nothing else changes: stale paths are used as before.
    pub fn mark_stale(&mut self, _sh: &mut Shared, peer: u32) {
        self.loc.for_each_mut(|_, _, d| {
            for p in d.paths_mut() {
                if p.peer() == peer {
                    p.set(flag::STALE);
                }
            }
        });
        if let Some(map) = self.pre.get_mut(&peer) {
            for p in map.values_mut() {
                p.stale = true;
            }
        }
    }

    /// Turn a neighbor's stale paths long-lived stale (RFC 9494 §4.2):
    /// LLGR_STALE added, least preferred; paths with NO_LLGR are removed.
    pub fn make_long_lived(&mut self, sh: &mut Shared, peer: u32) {
        let mut converted: HashMap<usize, WireSet> = HashMap::new();
        let FamilyRib {
            loc,
            out,
            log,
            family,
            paths,
            ..
        } = self;
        let mut removed = 0usize;
        loc.for_each_mut(|key, id, d| {
            let touches = d
                .paths()
                .iter()
                .any(|p| p.peer() == peer && p.has(flag::STALE) && !p.has(flag::LLGR));
            if !touches {
                return;
            }
            let before = best_sig(d);
            let gone = d.retain(|p| {
                !(p.peer() == peer
                    && p.has(flag::STALE)
                    && p.attrs.facts().has(community_bit::NO_LLGR))
            });
            removed = removed.saturating_add(gone.len());
            for p in d.paths_mut() {
                if p.peer() == peer && p.has(flag::STALE) && !p.has(flag::LLGR) {
                    let set = converted
                        .entry(p.attrs.addr())
                        .or_insert_with(|| {
                            let mut a = p.attrs.attributes();
                            if !a.attributes.communities.contains(&Community::LLGR_STALE) {
                                a.attributes.communities.push(Community::LLGR_STALE);
                            }
                            sh.interner.intern(&a)
                        })
                        .clone();
                    p.attrs = set;
                    p.set(flag::LLGR);
                }
            }
            if d.is_empty() {
                touch(out, log, key, id, true, ANY);
                return;
            }
            sh.decide(d.paths_mut());
            // The signature holds the attribute set: a best path that
            // stays best with LLGR_STALE added is a change too.
            let changed = before != best_sig(d);
            let h = if changed { ANY } else { hint(d) };
            touch(out, log, key, id, changed, h);
        });
        *paths = paths.saturating_sub(removed);
        if removed > 0 {
            if let Some(p) = sh.peer_mut(peer) {
                let c = p.counter(*family);
                c.accepted = c
                    .accepted
                    .saturating_sub(u32::try_from(removed).unwrap_or(u32::MAX));
            }
        }
    }

    /// Remove a neighbor's paths: all of them, or only the stale ones
    /// (End-of-RIB, restart timer). Kept pre-policy routes go the same way.
    pub fn remove_peer_paths(&mut self, sh: &mut Shared, peer: u32, only_stale: bool) {
        let FamilyRib {
            loc,
            out,
            log,
            family,
            paths,
            pre,
            ..
        } = self;
        // A neighbor with a large share of the table (a full table's going
        // down): one purge at the end costs less than finding each of its
        // sets in the interner on its own.
        let held = sh
            .peer(peer)
            .and_then(|p| p.counters.get(family))
            .map_or(0, |c| c.accepted as usize);
        let bulk = held >= sh.interner.len() / 4;
        let mut removed = 0usize;
        loc.for_each_mut(|key, id, d| {
            let before = best_sig(d);
            let gone = d.retain(|p| !(p.peer() == peer && (!only_stale || p.has(flag::STALE))));
            if gone.is_empty() {
                return;
            }
            removed = removed.saturating_add(gone.len());
            if d.is_empty() {
                touch(out, log, key, id, true, ANY);
            } else {
                sh.decide(d.paths_mut());
                let changed = before != best_sig(d);
                let h = if changed { ANY } else { hint(d) };
                touch(out, log, key, id, changed, h);
            }
            if !bulk {
                for p in gone {
                    sh.release(p);
                }
            }
        });
        *paths = paths.saturating_sub(removed);
        if let Some(p) = sh.peer_mut(peer) {
            let c = p.counter(*family);
            c.accepted = c
                .accepted
                .saturating_sub(u32::try_from(removed).unwrap_or(u32::MAX));
            p.max_reported.remove(family);
        }
        if only_stale {
            if let Some(map) = pre.get_mut(&peer) {
                map.retain(|_, p| !p.stale);
            }
        } else {
            pre.remove(&peer);
        }
        // After the kept pre-policy routes went too: their sets with them.
        if bulk {
            sh.purge();
        }
    }

    /// What neighbor `to` should have for a destination, into `out`: the
    /// routes injected for it there if there are any, else the RIB's
    /// export of the destination's paths.
    // The arguments are the export context and the two sources; a struct
    // for them would live for one call.
    #[allow(clippy::too_many_arguments)]
    fn desired(
        sh: &Shared,
        memo: &mut ExportMemo,
        to: u32,
        family: Family,
        key: &K,
        dest: Option<&Dest<K::Extra>>,
        injected: Option<&InjectTable<K>>,
        out: &mut Vec<Want<K::Extra>>,
    ) {
        out.clear();
        let prefix = key.prefix();
        let Some(p) = sh.peer(to) else {
            return;
        };
        let mode = p.add_path_send(family);
        if let Some(inj) = injected {
            if Self::desired_injected(sh, memo, to, family, key, inj, mode.is_some(), out) {
                return;
            }
        }
        let Some(dest) = dest else {
            return;
        };
        let rs_client = p.config.route_server_client;
        let want = |sh: &Shared, path: &Path<K::Extra>, e: Rc<Exported>| Want {
            id: sh.send_id(path),
            hash: nonzero_hash(K::sent_hash(e.hash, &path.extra, &sh.hasher)),
            exported: e,
            extra: path.extra.clone(),
        };
        match mode {
            None => {
                let Some(best) = dest.best() else {
                    return;
                };
                if let Some(e) = sh.export(memo, to, family, prefix, best) {
                    out.push(want(sh, best, e));
                    return;
                }
                if rs_client {
                    // RFC 7947 §2.3.2: a route server client gets the best
                    // path it is allowed to have, not nothing, when the
                    // overall best is withheld from it (path hiding).
                    let paths = dest.paths();
                    if best.peer() == to {
                        // Withheld as its own: the runner-up, when the
                        // decision found it, is what ranking would give
                        // first (unless export refuses it too).
                        let second = paths.iter().find(|p| p.has(flag::RUNNER_UP));
                        if let Some((p, e)) =
                            second.and_then(|p| Some((p, sh.export(memo, to, family, prefix, p)?)))
                        {
                            out.push(want(sh, p, e));
                            return;
                        }
                    }
                    let mut first = true;
                    rank(sh, paths, |i| {
                        if std::mem::take(&mut first) {
                            // The best, withheld.
                            return true;
                        }
                        match paths
                            .get(i)
                            .and_then(|p| Some((p, sh.export(memo, to, family, prefix, p)?)))
                        {
                            Some((p, e)) => {
                                out.push(want(sh, p, e));
                                false
                            }
                            None => true,
                        }
                    });
                }
            }
            Some(mode) => {
                let n = match mode {
                    AddPathSend::Best(n) => usize::from(n),
                    AddPathSend::All => usize::MAX,
                };
                let paths = dest.paths();
                if n > 0 {
                    rank(sh, paths, |i| {
                        if let Some(p) = paths.get(i) {
                            if let Some(e) = sh.export(memo, to, family, prefix, p) {
                                out.push(want(sh, p, e));
                            }
                        }
                        out.len() < n
                    });
                }
            }
        }
    }

    /// The routes injected for `to` at `key`, into `out`; false when there
    /// are none. Without ADD-PATH the neighbor can hold one route per
    /// destination: the one with the lowest path identifier. With it, all
    /// of them, with the path identifiers they were given.
    #[allow(clippy::too_many_arguments)]
    fn desired_injected(
        sh: &Shared,
        memo: &mut ExportMemo,
        to: u32,
        family: Family,
        key: &K,
        inj: &InjectTable<K>,
        add_path: bool,
        out: &mut Vec<Want<K::Extra>>,
    ) -> bool {
        let mut any = false;
        for (id, r) in injected_at(inj, key) {
            any = true;
            if let Some(e) = sh.export_injected(memo, to, family, key.prefix(), r) {
                out.push(Want {
                    id,
                    hash: nonzero_hash(K::sent_hash(e.hash, &r.extra, &sh.hasher)),
                    exported: e,
                    extra: r.extra.clone(),
                });
            }
            if !add_path {
                break;
            }
        }
        any
    }

    /// The next destination of a walk after `from`: of the table, or of
    /// the routes injected for the neighbor, whichever comes first.
    /// Returns the key and its number (`None` only for an injected route
    /// without one, which cannot happen: injecting numbers the key).
    fn walk_next(
        loc: &Dests<K, K::Extra>,
        inj: Option<&InjectTable<K>>,
        from: Option<&K>,
    ) -> Option<(K, Option<u32>)> {
        let a = match from {
            None => loc.first(),
            Some(f) => loc.next_after(f),
        };
        let b = inj
            .and_then(|m| match from {
                None => m.first(),
                Some(f) => m.next_after(&(f.clone(), u32::MAX)),
            })
            .map(|((k, _), _)| k);
        match (a, b) {
            (Some((a, id)), Some(b)) if a <= b => Some((a.clone(), Some(id))),
            (_, Some(b)) => Some((b.clone(), loc.id(b))),
            (Some((a, id)), None) => Some((a.clone(), Some(id))),
            (None, None) => None,
        }
    }

    /// Produce messages for a neighbor, about `budget` bytes (at least
    /// something when `first` and anything is due), appended to `out` back
    /// to back; returns the bytes appended. Export results come from and
    /// go to `memo`, shared by the round's passes.
    // As for `desired`: a struct for the arguments would live for one call.
    #[allow(clippy::too_many_arguments)]
    pub fn take(
        &mut self,
        sh: &mut Shared,
        memo: &mut ExportMemo,
        peer: u32,
        session: &SessionInfo,
        budget: usize,
        first: bool,
        out: &mut Vec<u8>,
    ) -> usize {
        let family = self.family;
        let start = out.len();
        // Which changes besides those of the best path this neighbor needs:
        // all of them with ADD-PATH, or for a route server client with an
        // export policy or over iBGP (anything may hold the best path back
        // from it); those the hint names for a plain route server client;
        // none for the others.
        let (wants_all, hinted) = match sh.peer(peer) {
            Some(p) if p.add_path_send(family).is_some() => (true, false),
            Some(p) if p.config.route_server_client => {
                let all = !p.config.export.is_pass_through() || !p.ebgp;
                (all, !all)
            }
            _ => (false, false),
        };
        let FamilyRib {
            loc,
            out: outs,
            inject,
            log,
            room,
            ..
        } = self;
        let Some(st) = outs.get_mut(&peer) else {
            return 0;
        };
        let inj = inject.get(&peer).filter(|m| !m.is_empty());
        if let Some(w) = st.walk.as_mut().filter(|w| w.borr) {
            // RFC 7313 §4: the BoRR goes before the re-advertisement.
            w.borr = false;
            out.extend_from_slice(
                &Message::RouteRefresh(RouteRefresh {
                    family,
                    subtype: RefreshSubtype::Begin,
                })
                .to_bytes(&session.encode),
            );
        }
        let wire_ids = st.add_path;
        let mut batch = Batch::new(family, session.encode, std::mem::take(room));
        let mut eor = false;
        let mut eorr = false;
        let mut wants: Vec<Want<K::Extra>> = Vec::new();
        let mut sent: Vec<(u32, u64)> = Vec::new();
        let mut now: Vec<(u32, u64)> = Vec::new();
        let log_end = log.end();
        loop {
            // What is due: this neighbor's own marks, then the change log,
            // then the walk.
            let (key, id, from_walk, from_log, force) = if let Some(k) = st.dirty.pop_first() {
                let id = loc.id(&k);
                (k, id, false, false, false)
            } else if st.cursor < log_end {
                let Some(c) = log.get(st.cursor) else {
                    st.cursor = log_end;
                    continue;
                };
                // A fresh walk will get to the destination anyway.
                let wanted = c.best() || wants_all || (hinted && (c.hint == ANY || c.hint == peer));
                if !wanted || st.walk.as_ref().is_some_and(|w| w.covers(&c.key)) {
                    st.cursor += 1;
                    continue;
                }
                (c.key.clone(), Some(c.id), false, true, false)
            } else if let Some(w) = &st.walk {
                match Self::walk_next(loc, inj, w.from.as_ref()) {
                    Some((k, id)) => (k, id, true, false, w.force),
                    None => {
                        if let Some(w) = st.walk.take() {
                            eor |= w.eor;
                            eorr |= w.eorr;
                        }
                        break;
                    }
                }
            } else {
                break;
            };
            let dest = id.and_then(|id| loc.at(id));
            Self::desired(sh, memo, peer, family, &key, dest, inj, &mut wants);
            match id {
                Some(id) => st.adj.get(id, &mut sent),
                None => sent.clear(),
            }
            let withdrawn = |s: &(u32, u64)| {
                if wire_ids {
                    !wants.iter().any(|w| w.id == s.0)
                } else {
                    wants.is_empty()
                }
            };
            let changed = |w: &Want<K::Extra>| {
                force
                    || !sent
                        .iter()
                        .any(|s| (!wire_ids || s.0 == w.id) && s.1 == w.hash)
            };
            let pid = batch.path_id_len();
            let mut cost = 0usize;
            for _ in sent.iter().filter(|s| withdrawn(s)) {
                cost = cost
                    .saturating_add(batch.withdraw_cost(key.wire_len(&K::Extra::default()) + pid));
            }
            for w in wants.iter().filter(|w| changed(w)) {
                cost = cost
                    .saturating_add(batch.announce_cost(&w.exported, key.wire_len(&w.extra) + pid));
            }
            let used = batch.bytes;
            if cost > 0 && used.saturating_add(cost) > budget && (used > 0 || !first) {
                // Not taken: a log entry stays where the cursor is, a walk
                // goes on from where it was.
                if !from_walk && !from_log {
                    st.dirty.insert(key);
                }
                break;
            }
            if from_log {
                st.cursor += 1;
            }
            if cost == 0 && sent.len() == wants.len() {
                // Nothing to send and nothing to record.
                if from_walk {
                    if let Some(w) = st.walk.as_mut() {
                        w.from = Some(key);
                    }
                }
                continue;
            }
            // Committed: this destination goes out in this call.
            for s in sent.iter().filter(|s| withdrawn(s)) {
                batch.withdraw(&key, wire_ids.then_some(s.0));
            }
            for w in wants.iter().filter(|w| changed(w)) {
                batch.announce(&key, wire_ids.then_some(w.id), &w.exported, &w.extra);
            }
            now.clear();
            now.extend(wants.iter().map(|w| (w.id, w.hash)));
            st.sent_paths = st
                .sent_paths
                .saturating_sub(u32::try_from(sent.len()).unwrap_or(u32::MAX))
                .saturating_add(u32::try_from(now.len()).unwrap_or(u32::MAX));
            // A key without a number has nothing sent for it yet, and
            // only injected routes to send (injecting numbers the key, so
            // this is for safety): numbered now, idle.
            let id = match id {
                None if !now.is_empty() => loc.entry(key.clone()).map(|(id, created)| {
                    if created {
                        loc.keep_idle(id, key.clone());
                    }
                    id
                }),
                id => id,
            };
            if let Some(id) = id {
                st.adj.set(id, &now);
            }
            if from_walk {
                if let Some(w) = st.walk.as_mut() {
                    w.from = Some(key);
                }
            }
        }
        batch.encode(out);
        *room = batch.into_room();
        if eor {
            out.extend_from_slice(&end_of_rib(family, &session.encode));
        }
        if eorr {
            out.extend_from_slice(
                &Message::RouteRefresh(RouteRefresh {
                    family,
                    subtype: RefreshSubtype::End,
                })
                .to_bytes(&session.encode),
            );
        }
        self.trim_log();
        out.len().saturating_sub(start)
    }

    /// Every path of the destination of `nlri`.
    pub fn destination(&self, sh: &Shared, nlri: Nlri<'_>) -> Option<DestinationView> {
        let (key, _, _) = K::from_nlri(self.family, nlri)?;
        let dest = self.loc.get_live(&key)?;
        let step = dest
            .best()
            .and_then(|_| sh.decide_index(dest.paths()).map(|(_, step)| step));
        Some(DestinationView {
            family: self.family,
            paths: self.path_views(sh, &key, dest.paths()),
            step,
        })
    }

    /// The paths of one destination for queries: the best first, the
    /// others in arrival order.
    fn path_views(&self, sh: &Shared, key: &K, paths: &[Path<K::Extra>]) -> Vec<PathView> {
        let mut views: Vec<PathView> = paths
            .iter()
            .map(|p| PathView {
                route: self.path_view(key, p),
                best: p.has(flag::BEST),
                llgr_stale: p.attrs.facts().has(community_bit::LLGR_STALE),
                ineligible: if p.has(flag::INVALID) {
                    Some(Ineligible::FlowspecValidation)
                } else {
                    (!sh.reachable(&p.attrs.next_hop())).then_some(Ineligible::UnreachableNextHop)
                },
            })
            .collect();
        views.sort_by_key(|v| !v.best);
        views
    }

    /// Up to `limit` destinations in key order after the key of `after`
    /// (from the start when `None`), each with every path, also those of
    /// destinations without a best path; the decision step is not worked
    /// out (`None`). Pages of a walk of the whole table, for table dumps.
    pub fn destinations_from(
        &self,
        sh: &Shared,
        after: Option<Nlri<'_>>,
        limit: usize,
    ) -> Vec<DestinationView> {
        let start = match after {
            None => Bound::Unbounded,
            Some(n) => match K::from_nlri(self.family, n) {
                Some((k, _, _)) => Bound::Excluded(k),
                None => return Vec::new(),
            },
        };
        self.loc
            .range_from(start)
            .take(limit)
            .map(|(k, d)| DestinationView {
                family: self.family,
                paths: self.path_views(sh, k, d.paths()),
                step: None,
            })
            .collect()
    }

    /// The path `peer` has for `nlri` (the NLRI's path identifier
    /// included) and the best path: two views of one destination, without
    /// rerunning the decision or copying the other paths (see
    /// [`crate::Rib::observe`]).
    pub fn observe(
        &self,
        nlri: Nlri<'_>,
        peer: Option<u32>,
    ) -> (Option<RouteView>, Option<RouteView>) {
        let Some((key, path_id, _)) = K::from_nlri(self.family, nlri) else {
            return (None, None);
        };
        let Some(dest) = self.loc.get_live(&key) else {
            return (None, None);
        };
        let paths = dest.paths();
        let mine = peer.and_then(|peer| {
            paths
                .iter()
                .find(|p| p.peer() == peer && p.path_id() == path_id)
        });
        let best = paths.iter().find(|p| p.has(flag::BEST));
        (
            mine.map(|p| self.path_view(&key, p)),
            best.map(|p| self.path_view(&key, p)),
        )
    }

    fn path_view(&self, key: &K, p: &Path<K::Extra>) -> RouteView {
        self.path_view_in(key, p, p.attrs.view())
    }

    /// [`FamilyRib::path_view`] with the attributes already decoded.
    fn path_view_in(&self, key: &K, p: &Path<K::Extra>, attrs: AttrSet) -> RouteView {
        view(
            self.family,
            key,
            p.path_id(),
            &p.extra,
            attrs,
            (p.peer() != LOCAL).then_some(PeerId(p.peer())),
            p.has(flag::STALE),
        )
    }

    /// Best paths in key order, after the key of `after`.
    pub fn loc_rib_from<'a>(
        &'a self,
        _sh: &'a Shared,
        after: Option<Nlri<'_>>,
    ) -> Box<dyn Iterator<Item = RouteView> + 'a> {
        let range = match after {
            None => None,
            Some(n) => match K::from_nlri(self.family, n) {
                Some((k, _, _)) => Some(k),
                None => return Box::new(std::iter::empty()),
            },
        };
        let start = match range {
            None => Bound::Unbounded,
            Some(k) => Bound::Excluded(k),
        };
        let iter = self.loc.range_from(start);
        // The table is borrowed while the iterator lives: no set is freed.
        let mut shared = SharedViews::default();
        Box::new(iter.filter_map(move |(k, d)| {
            d.best()
                .map(|p| self.path_view_in(k, p, shared.of(&p.attrs)))
        }))
    }

    /// A neighbor's routes in key order, after or before import policy:
    /// those of the destinations after the one of `after` (from the start
    /// when `None`), at least `limit` of them when there are that many, the
    /// last destination's all in (ADD-PATH gives one several).
    pub fn adj_rib_in(
        &self,
        _sh: &Shared,
        peer: u32,
        pre_policy: bool,
        after: Option<Nlri<'_>>,
        limit: usize,
    ) -> Vec<RouteView> {
        let start = match after {
            None => None,
            Some(n) => match K::from_nlri(self.family, n) {
                Some((k, _, _)) => Some(k),
                None => return Vec::new(),
            },
        };
        let mut shared = SharedViews::default();
        let mut views = Vec::new();
        if pre_policy {
            let Some(map) = self.pre.get(&peer) else {
                return Vec::new();
            };
            // Every path identifier of the destination `after` is behind.
            let from = start.map_or(Bound::Unbounded, |k| Bound::Excluded((k, Some(u32::MAX))));
            let mut last: Option<&K> = None;
            for ((k, id), p) in map.range((from, Bound::Unbounded)) {
                if views.len() >= limit && last != Some(k) {
                    break;
                }
                last = Some(k);
                views.push(view(
                    self.family,
                    k,
                    *id,
                    &p.extra,
                    shared.of(&p.attrs),
                    Some(PeerId(peer)),
                    p.stale,
                ));
            }
            return views;
        }
        let from = start.map_or(Bound::Unbounded, Bound::Excluded);
        for (k, d) in self.loc.range_from(from) {
            if views.len() >= limit {
                break;
            }
            for p in d.paths().iter().filter(|p| p.peer() == peer) {
                views.push(self.path_view_in(k, p, shared.of(&p.attrs)));
            }
        }
        views
    }

    /// What a neighbor was last sent. Its Adj-RIB-Out keeps hashes only:
    /// the attributes shown are those of the current export, the same
    /// unless a change is still waiting to be sent.
    /// As [`FamilyRib::adj_rib_in`], a page: the destinations after the
    /// one of `after`, at least `limit` routes when there are that many.
    pub fn adj_rib_out(
        &self,
        sh: &Shared,
        peer: u32,
        after: Option<Nlri<'_>>,
        limit: usize,
    ) -> Vec<RouteView> {
        let Some(st) = self.out.get(&peer) else {
            return Vec::new();
        };
        let start = match after {
            None => Bound::Unbounded,
            Some(n) => match K::from_nlri(self.family, n) {
                Some((k, _, _)) => Bound::Excluded(k),
                None => return Vec::new(),
            },
        };
        let mut memo = ExportMemo::default();
        let mut wants = Vec::new();
        let mut views = Vec::new();
        // One decoded copy per export result, kept with the result so that
        // its address stands for it for the whole walk (a result made by
        // an export policy is not in the memo).
        let mut decoded: FastMap<usize, (Rc<Exported>, AttrSet)> = FastMap::default();
        let inj = self.inject.get(&peer);
        for (key, id) in self
            .loc
            .keys_from(start)
            .filter(|(_, id)| st.adj.holds(*id))
        {
            if views.len() >= limit {
                break;
            }
            let dest = self.loc.at(id);
            Self::desired(sh, &mut memo, peer, self.family, key, dest, inj, &mut wants);
            for w in &wants {
                let id = st.add_path.then_some(w.id);
                let attrs = decoded
                    .entry(Rc::as_ptr(&w.exported) as usize)
                    .or_insert_with(|| (Rc::clone(&w.exported), AttrSet::new(w.exported.attrs())))
                    .1
                    .clone();
                views.push(view(self.family, key, id, &w.extra, attrs, None, false));
            }
        }
        views
    }
}

impl<K: RouteKey + PrefixKey> FamilyRib<K> {
    /// The best path of the most specific destination containing `addr`.
    fn longest_match(&self, addr: K::Addr) -> Option<RouteView> {
        (0..=K::MAX_LEN).rev().find_map(|len| {
            let k = K::new(addr, len);
            let d = self.loc.get_live(&k)?;
            d.best().map(|p| self.path_view(&k, p))
        })
    }

    /// Best paths of `key` and its more specifics.
    pub fn more_specifics<'a>(
        &'a self,
        _sh: &'a Shared,
        key: K,
    ) -> impl Iterator<Item = RouteView> + 'a {
        self.loc
            .range_inclusive(key.range_start(), key.range_end())
            .filter_map(move |(k, d)| d.best().map(|p| self.path_view(k, p)))
    }
}

impl FamilyRib<V4Key> {
    /// [`FamilyRib::longest_match`] for IPv4.
    pub fn longest_match_v4(&self, _sh: &Shared, addr: Ipv4Addr) -> Option<RouteView> {
        self.longest_match(addr)
    }
}

impl FamilyRib<V6Key> {
    /// [`FamilyRib::longest_match`] for IPv6.
    pub fn longest_match_v6(&self, _sh: &Shared, addr: Ipv6Addr) -> Option<RouteView> {
        self.longest_match(addr)
    }
}
