//! Attribute sets shared by every path that carries them.
//!
//! A full table has about a million prefixes but only 150,000 to 400,000
//! distinct attribute sets: storing each set once and pointing to it from
//! every path is most of the memory a RIB saves. [`Interner::intern`]
//! returns the one shared copy of a set (hash-consing); [`Interner::purge`]
//! drops the sets no path uses any more, so memory follows the table, not
//! its history.
//!
//! The shared copy is kept in wire form ([`WireSet`]): the encoded
//! attributes (4-octet AS numbers, RFC 6793) and the next hop, about 60
//! bytes for a typical Internet route where the decoded
//! [`PathAttributes`] takes over 300 with its vectors. What the tables
//! read often (the values the decision compares) is read straight from
//! the bytes ([`WireSet::facts`]); the decoded attributes are made on
//! demand ([`WireSet::attributes`]), when a policy or a query needs them
//! and once per set when it is exported.

use std::hash::{BuildHasher, RandomState};
use std::net::Ipv4Addr;
use std::sync::{Arc, OnceLock};

use hashbrown::HashTable;
use triomphe::ThinArc;

use ribbit_wire::attribute::{type_code, Community, Origin};
use ribbit_wire::update::Update;
use ribbit_wire::{DecodeContext, NextHop, PathAttributes};

use crate::decision::PathFacts;
use crate::route::RouteAttrs;

/// A route's next hop and attributes behind a shared handle, as the query
/// functions of [`crate::Rib`] return them. Cloning is cheap.
///
/// Made from an interned set ([`WireSet::view`]), it keeps the set's wire
/// form and decodes it the first time the attributes are read, on the
/// thread that reads them: a page of a full table's Loc-RIB or Adj-RIB-In
/// is made on the RIB's thread without decoding anything, and whoever
/// sends the routes on in wire form ([`AttrSet::wire`], BMP) never decodes
/// them at all. (An Adj-RIB-Out answer holds export results, decoded once
/// each when the answer is made.)
#[derive(Clone)]
pub struct AttrSet(Arc<Held>);

/// The attributes, decoded, whichever form the handle holds: a failing
/// comparison shows what differs, not bytes.
impl std::fmt::Debug for AttrSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("AttrSet").field(self.get()).finish()
    }
}

enum Held {
    Decoded(RouteAttrs),
    /// An interned set, and its decoded form once read.
    Wire {
        set: WireSet,
        decoded: OnceLock<RouteAttrs>,
    },
}

impl AttrSet {
    /// A handle to `attrs`.
    pub fn new(attrs: RouteAttrs) -> AttrSet {
        AttrSet(Arc::new(Held::Decoded(attrs)))
    }

    /// A handle to an interned set, decoded when first read.
    fn of_wire(set: WireSet) -> AttrSet {
        AttrSet(Arc::new(Held::Wire {
            set,
            decoded: OnceLock::new(),
        }))
    }

    /// The attributes (decoded now if they were not yet).
    pub fn get(&self) -> &RouteAttrs {
        match &*self.0 {
            Held::Decoded(a) => a,
            Held::Wire { set, decoded } => decoded.get_or_init(|| set.attributes()),
        }
    }

    /// The interned set these attributes are, in wire form, when they
    /// came from the tables: attribute bytes with 4-octet AS numbers
    /// ([`WireSet::attribute_bytes`]) and the next hop.
    pub fn wire(&self) -> Option<&WireSet> {
        match &*self.0 {
            Held::Decoded(_) => None,
            Held::Wire { set, .. } => Some(set),
        }
    }

    /// Whether two handles point to the same copy.
    pub fn same(&self, other: &AttrSet) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// How many handles share this copy.
    pub fn users(&self) -> usize {
        Arc::strong_count(&self.0)
    }

    /// The address of the copy: equal for handles of one copy, for as
    /// long as one lives (to share what is made from it).
    pub fn addr(&self) -> usize {
        Arc::as_ptr(&self.0) as usize
    }
}

/// One handle per attribute set for the routes of one answer: a full table
/// is a million routes over a few hundred thousand sets, and a handle per
/// route would be decoded once per route by whoever reads the answer (a
/// decoded copy each made a table's answer several hundred megabytes).
/// Keyed by the interned set's address, valid while no set is freed (for
/// one answer, made with the RIB borrowed).
#[derive(Debug, Default)]
pub(crate) struct SharedViews(crate::fast_hash::FastMap<usize, AttrSet>);

impl SharedViews {
    /// The handle of `set` in this answer, made once.
    pub fn of(&mut self, set: &WireSet) -> AttrSet {
        self.0
            .entry(set.addr())
            .or_insert_with(|| set.view())
            .clone()
    }
}

impl std::ops::Deref for AttrSet {
    type Target = RouteAttrs;

    fn deref(&self) -> &RouteAttrs {
        self.get()
    }
}

/// Equal when the attributes are.
impl PartialEq for AttrSet {
    fn eq(&self, other: &AttrSet) -> bool {
        self.same(other)
            || match (self.wire(), other.wire()) {
                // Interned by one interner: equal sets are one set.
                (Some(a), Some(b)) if a.same(b) => true,
                _ => self.get() == other.get(),
            }
    }
}

impl Eq for AttrSet {}

/// The shared copy of a set, in one allocation with its reference count:
/// as header the interner's keyed hash of the bytes; as slice the next hop
/// (a length byte, 0, 4, 16 or 32, and the address bytes), then the
/// attributes as `ribbit_wire::EncodedAttributes` writes them for 4-octet
/// AS sessions. A thin pointer (8 bytes), as each path holds one.
///
/// ```text
/// +-------+------+--------+---------+--------------------+
/// | count | hash | length | nh len  | nh | attributes    |
/// +-------+------+--------+---------+--------------------+
///   8 B     8 B    8 B      1 B       0-32 B + about 60 B
/// ```
type WireData = ThinArc<u64, u8>;

/// Append the next hop header of [`WireData`].
fn write_next_hop(nh: &NextHop, out: &mut Vec<u8>) {
    match nh {
        NextHop::Empty => out.push(0),
        NextHop::V4(a) => {
            out.push(4);
            out.extend_from_slice(&a.octets());
        }
        NextHop::V6 {
            global,
            link_local: None,
        } => {
            out.push(16);
            out.extend_from_slice(&global.octets());
        }
        NextHop::V6 {
            global,
            link_local: Some(ll),
        } => {
            out.push(32);
            out.extend_from_slice(&global.octets());
            out.extend_from_slice(&ll.octets());
        }
    }
}

/// Split [`WireData`] bytes into next hop and attributes.
fn read_next_hop(bytes: &[u8]) -> (NextHop, &[u8]) {
    let v6 = |b: &[u8]| <[u8; 16]>::try_from(b).ok().map(std::net::Ipv6Addr::from);
    match bytes {
        [4, rest @ ..] => match (rest.get(..4), rest.get(4..)) {
            (Some(a), Some(tail)) => match <[u8; 4]>::try_from(a) {
                Ok(a) => (NextHop::V4(Ipv4Addr::from(a)), tail),
                Err(_) => (NextHop::Empty, tail),
            },
            _ => (NextHop::Empty, &[]),
        },
        [16, rest @ ..] => match (rest.get(..16).and_then(v6), rest.get(16..)) {
            (Some(global), Some(tail)) => (
                NextHop::V6 {
                    global,
                    link_local: None,
                },
                tail,
            ),
            _ => (NextHop::Empty, &[]),
        },
        [32, rest @ ..] => match (
            rest.get(..16).and_then(v6),
            rest.get(16..32).and_then(v6),
            rest.get(32..),
        ) {
            (Some(global), Some(ll), Some(tail)) => (
                NextHop::V6 {
                    global,
                    link_local: Some(ll),
                },
                tail,
            ),
            _ => (NextHop::Empty, &[]),
        },
        [_, rest @ ..] => (NextHop::Empty, rest),
        [] => (NextHop::Empty, &[]),
    }
}

/// An interned attribute set in wire form. Equal sets interned by one
/// [`Interner`] are the same allocation, so comparing two is a pointer
/// comparison ([`WireSet::same`]).
#[derive(Debug, Clone)]
pub struct WireSet(WireData);

impl WireSet {
    /// The next hop.
    pub fn next_hop(&self) -> NextHop {
        read_next_hop(&self.0.slice).0
    }

    /// The attributes as `ribbit_wire::EncodedAttributes` encodes them for 4-octet AS
    /// sessions, next hop left out.
    pub fn attribute_bytes(&self) -> &[u8] {
        read_next_hop(&self.0.slice).1
    }

    /// The decoded attributes.
    pub fn attributes(&self) -> RouteAttrs {
        let (next_hop, bytes) = read_next_hop(&self.0.slice);
        RouteAttrs {
            next_hop,
            attributes: decode(bytes),
        }
    }

    /// A handle to the attributes, decoded when first read (see
    /// [`AttrSet`]).
    pub fn view(&self) -> AttrSet {
        AttrSet::of_wire(self.clone())
    }

    /// What the decision and the tables read, straight from the bytes.
    pub fn facts(&self) -> Facts {
        Facts::parse(self.attribute_bytes())
    }

    /// Whether two handles point to the same interned set.
    pub fn same(&self, other: &WireSet) -> bool {
        self.0.ptr() == other.0.ptr()
    }

    /// How many handles share this set (the interner's own included).
    pub fn users(&self) -> usize {
        ThinArc::strong_count(&self.0)
    }

    /// The address of the shared copy: equal for equal sets of one
    /// interner, for as long as the set lives.
    pub(crate) fn addr(&self) -> usize {
        self.0.ptr() as usize
    }

    /// A keyed hash of the set's content (next hop and attributes): equal
    /// for equal sets of one interner, and not something a neighbor can
    /// make collide (SipHash, keyed at random per interner).
    pub(crate) fn content_hash(&self) -> u64 {
        self.0.header.header
    }
}

/// Decode attributes that `EncodedAttributes` wrote: an UPDATE body with
/// only them, which the wire codec reads back exactly (no NLRI, so no
/// mandatory attribute is missing).
pub(crate) fn decode(bytes: &[u8]) -> PathAttributes {
    let Ok(len) = u16::try_from(bytes.len()) else {
        return PathAttributes::default();
    };
    let mut body = Vec::with_capacity(bytes.len() + 4);
    body.extend_from_slice(&[0, 0]);
    body.extend_from_slice(&len.to_be_bytes());
    body.extend_from_slice(bytes);
    Update::decode(&body, &DecodeContext::default())
        .map(|u| u.attributes)
        .unwrap_or_default()
}

/// The table of distinct attribute sets.
#[derive(Default)]
pub struct Interner {
    /// Each set once, found by its hash (kept in the set) and bytes.
    sets: HashTable<WireData>,
    /// Keyed at random: neighbors choose the bytes.
    hasher: RandomState,
    /// Where a set is encoded to be looked up (no allocation when found).
    scratch: Vec<u8>,
}

impl std::fmt::Debug for Interner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interner")
            .field("sets", &self.sets.len())
            .finish()
    }
}

impl Interner {
    /// An empty interner.
    pub fn new() -> Interner {
        Interner::default()
    }

    /// The shared copy of `attrs`, adding it if it is new. (Their
    /// `attributes.next_hop` is not part of the set: the next hop is
    /// `attrs.next_hop`.)
    pub fn intern(&mut self, attrs: &RouteAttrs) -> WireSet {
        self.intern_parts(attrs.next_hop, &attrs.attributes)
    }

    /// [`Interner::intern`] of a next hop and attributes held apart (as
    /// an UPDATE holds them; `attributes.next_hop` is ignored).
    pub fn intern_parts(&mut self, next_hop: NextHop, attributes: &PathAttributes) -> WireSet {
        let b = &mut self.scratch;
        b.clear();
        write_next_hop(&next_hop, b);
        // The layout of `EncodedAttributes::new`: every attribute but
        // NEXT_HOP, in type order.
        attributes.encode_range(0..=type_code::AS_PATH, true, b);
        attributes.encode_range(type_code::MED..=u8::MAX, true, b);
        let hash = self.hasher.hash_one(&b[..]);
        if let Some(e) = self.sets.find(hash, |e| e.slice == b[..]) {
            return WireSet(e.clone());
        }
        let shared = WireData::from_header_and_slice(hash, &b[..]);
        self.sets
            .insert_unique(hash, shared.clone(), |e| e.header.header);
        WireSet(shared)
    }

    /// Let go of a set that a path held. When nothing but the interner
    /// holds it any more it leaves the interner now: churn (sets replaced
    /// by new ones) then costs no memory beyond the table's, where waiting
    /// for [`Interner::purge`] let dead sets pile up to as many as the live
    /// ones. A set held elsewhere too (an Adj-RIB-In copy, an answer being
    /// read) stays until a purge finds it unused.
    pub fn release(&mut self, set: WireSet) {
        // This handle and the interner's: no other holder can make more.
        if set.users() != 2 {
            return;
        }
        let ptr = set.0.ptr();
        if let Ok(entry) = self.sets.find_entry(set.content_hash(), |e| e.ptr() == ptr) {
            entry.remove();
        }
    }

    /// Drop the sets that nothing but the interner holds; returns how many.
    pub fn purge(&mut self) -> usize {
        let before = self.sets.len();
        self.sets.retain(|e| ThinArc::strong_count(e) > 1);
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

/// Well-known communities the tables act on, as bits of [`Facts`].
pub mod community_bit {
    /// NO_EXPORT.
    pub const NO_EXPORT: u8 = 1;
    /// NO_ADVERTISE.
    pub const NO_ADVERTISE: u8 = 2;
    /// NO_EXPORT_SUBCONFED.
    pub const NO_EXPORT_SUBCONFED: u8 = 4;
    /// LLGR_STALE.
    pub const LLGR_STALE: u8 = 8;
    /// NO_LLGR.
    pub const NO_LLGR: u8 = 16;
    /// BLACKHOLE.
    pub const BLACKHOLE: u8 = 32;
}

/// The values of a set the decision compares, and the well-known
/// communities it carries, read from its wire form without allocating.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Facts {
    /// ORIGIN.
    pub origin: Option<Origin>,
    /// AS path length as the decision counts it.
    pub path_len: u32,
    /// The neighbouring AS.
    pub neighbor_as: Option<u32>,
    /// MULTI_EXIT_DISC.
    pub med: Option<u32>,
    /// LOCAL_PREF.
    pub local_pref: Option<u32>,
    /// ORIGINATOR_ID.
    pub originator_id: Option<Ipv4Addr>,
    /// CLUSTER_LIST entries.
    pub cluster_list_len: u32,
    /// OTC (RFC 9234).
    pub otc: Option<u32>,
    /// [`community_bit`]s.
    pub communities: u8,
}

fn be32(v: &[u8]) -> Option<u32> {
    <[u8; 4]>::try_from(v).ok().map(u32::from_be_bytes)
}

impl Facts {
    /// Read the facts of attributes encoded with 4-octet AS numbers.
    pub fn parse(mut bytes: &[u8]) -> Facts {
        let mut f = Facts::default();
        while let [flags, code, rest @ ..] = bytes {
            let (len, rest) = if flags & 0x10 != 0 {
                match rest {
                    [a, b, tail @ ..] => (usize::from(u16::from_be_bytes([*a, *b])), tail),
                    _ => break,
                }
            } else {
                match rest {
                    [a, tail @ ..] => (usize::from(*a), tail),
                    _ => break,
                }
            };
            let (Some(value), Some(next)) = (rest.get(..len), rest.get(len..)) else {
                break;
            };
            bytes = next;
            match *code {
                type_code::ORIGIN => {
                    f.origin = match value {
                        [0] => Some(Origin::Igp),
                        [1] => Some(Origin::Egp),
                        [2] => Some(Origin::Incomplete),
                        _ => None,
                    }
                }
                type_code::AS_PATH => f.read_as_path(value),
                type_code::MED => f.med = be32(value),
                type_code::LOCAL_PREF => f.local_pref = be32(value),
                type_code::ORIGINATOR_ID => f.originator_id = be32(value).map(Ipv4Addr::from),
                type_code::CLUSTER_LIST => {
                    f.cluster_list_len = u32::try_from(value.len() / 4).unwrap_or(u32::MAX)
                }
                type_code::OTC => f.otc = be32(value),
                type_code::COMMUNITIES => {
                    for c in value.chunks_exact(4).filter_map(be32) {
                        f.communities |= match Community(c) {
                            Community::NO_EXPORT => community_bit::NO_EXPORT,
                            Community::NO_ADVERTISE => community_bit::NO_ADVERTISE,
                            Community::NO_EXPORT_SUBCONFED => community_bit::NO_EXPORT_SUBCONFED,
                            Community::LLGR_STALE => community_bit::LLGR_STALE,
                            Community::NO_LLGR => community_bit::NO_LLGR,
                            Community::BLACKHOLE => community_bit::BLACKHOLE,
                            _ => 0,
                        };
                    }
                }
                _ => {}
            }
        }
        f
    }

    /// AS_PATH segments: type, count, count 4-octet AS numbers.
    fn read_as_path(&mut self, mut v: &[u8]) {
        while let [kind, count, rest @ ..] = v {
            let n = usize::from(*count);
            let Some(asns) = rest.get(..n * 4) else {
                break;
            };
            let confed = matches!(kind, 3 | 4);
            self.path_len = self.path_len.saturating_add(match kind {
                2 => u32::from(*count),
                1 => 1,
                _ => 0,
            });
            if !confed && self.neighbor_as.is_none() {
                self.neighbor_as = asns.get(..4).and_then(be32);
            }
            v = rest.get(n * 4..).unwrap_or_default();
        }
    }

    /// Whether a [`community_bit`] is set.
    pub fn has(&self, bit: u8) -> bool {
        self.communities & bit != 0
    }
}

impl PathFacts for Facts {
    fn local_pref(&self) -> Option<u32> {
        self.local_pref
    }

    fn path_len(&self) -> usize {
        self.path_len as usize
    }

    fn origin(&self) -> Option<Origin> {
        self.origin
    }

    fn med(&self) -> Option<u32> {
        self.med
    }

    fn neighbor_as(&self) -> Option<u32> {
        self.neighbor_as
    }

    fn originator_id(&self) -> Option<Ipv4Addr> {
        self.originator_id
    }

    fn cluster_list_len(&self) -> usize {
        self.cluster_list_len as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use ribbit_wire::attribute::{
        Aggregator, AsPath, LargeCommunity, RawAttribute, Segment, SegmentType,
    };
    use std::net::Ipv6Addr;

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
        let a = interner.intern(&attrs(65001, 1));
        let b = interner.intern(&attrs(65001, 1));
        let c = interner.intern(&attrs(65002, 1));
        assert!(a.same(&b));
        assert!(!a.same(&c));
        assert_eq!(interner.len(), 2);
        assert_eq!(a.users(), 3);
        assert_eq!(a.attributes(), attrs(65001, 1));
        drop(c);
        assert_eq!(interner.purge(), 1);
        assert_eq!(interner.len(), 1);
        drop((a, b));
        assert_eq!(interner.purge(), 1);
        assert!(interner.is_empty());
        // The next hop is part of the set.
        let mut other = attrs(65001, 1);
        other.next_hop = NextHop::V4("192.0.2.2".parse().unwrap());
        let x = interner.intern(&attrs(65001, 1));
        assert!(!x.same(&interner.intern(&other)));
    }

    #[test]
    fn a_released_set_leaves_once_nothing_else_holds_it() {
        let mut interner = Interner::new();
        let a = interner.intern(&attrs(65001, 1));
        let b = interner.intern(&attrs(65001, 1));
        let kept = interner.intern(&attrs(65002, 1));
        let elsewhere = kept.clone();
        // `b` still holds the first set.
        interner.release(a);
        assert_eq!(interner.len(), 2);
        interner.release(b);
        assert_eq!(interner.len(), 1);
        // Held outside the tables: it stays until a purge finds it unused.
        interner.release(kept);
        assert_eq!(interner.len(), 1);
        drop(elsewhere);
        assert_eq!(interner.purge(), 1);
        assert!(interner.is_empty());
        // Interned again, it is a new set.
        let again = interner.intern(&attrs(65001, 1));
        assert_eq!((interner.len(), again.users()), (1, 2));
    }

    #[test]
    fn a_table_shares_its_sets() {
        // 10,000 paths over 300 distinct sets: 300 allocations, not 10,000.
        let mut interner = Interner::new();
        let paths: Vec<WireSet> = (0..10_000u32)
            .map(|i| interner.intern(&attrs(64_512 + i % 300, 7)))
            .collect();
        assert_eq!(interner.len(), 300);
        assert!(paths[0].same(&paths[300]));
        assert_eq!(interner.purge(), 0);
    }

    fn segment() -> impl Strategy<Value = Segment> {
        (1u8..=4, proptest::collection::vec(any::<u32>(), 1..6)).prop_map(|(k, asns)| Segment {
            kind: match k {
                1 => SegmentType::Set,
                2 => SegmentType::Sequence,
                3 => SegmentType::ConfedSequence,
                _ => SegmentType::ConfedSet,
            },
            asns,
        })
    }

    prop_compose! {
        fn path_attributes()(
            origin in proptest::option::of(0u8..3),
            path in proptest::option::of(proptest::collection::vec(segment(), 0..4)),
            med in proptest::option::of(any::<u32>()),
            lp in proptest::option::of(any::<u32>()),
            atomic in any::<bool>(),
            agg in proptest::option::of((any::<u32>(), any::<u32>())),
            communities in proptest::collection::vec(any::<u32>(), 0..5),
            originator in proptest::option::of(any::<u32>()),
            clusters in proptest::collection::vec(any::<u32>(), 0..3),
            large in proptest::collection::vec((any::<u32>(), any::<u32>(), any::<u32>()), 0..3),
            otc in proptest::option::of(any::<u32>()),
            aigp in proptest::option::of(any::<u64>()),
            unknown in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..8)),
        ) -> PathAttributes {
            PathAttributes {
                origin: origin.map(|o| match o { 0 => Origin::Igp, 1 => Origin::Egp, _ => Origin::Incomplete }),
                as_path: path.map(|segments| AsPath { segments }),
                next_hop: None,
                med,
                local_pref: lp,
                atomic_aggregate: atomic,
                aggregator: agg.map(|(asn, a)| Aggregator { asn, address: Ipv4Addr::from(a) }),
                communities: communities.into_iter().map(Community).collect(),
                originator_id: originator.map(Ipv4Addr::from),
                cluster_list: clusters.into_iter().map(Ipv4Addr::from).collect(),
                extended_communities: Vec::new(),
                ipv6_extended_communities: Vec::new(),
                aigp,
                large_communities: large.into_iter().map(|(global, local1, local2)| LargeCommunity { global, local1, local2 }).collect(),
                otc,
                unknown: unknown.map(|value| vec![RawAttribute { flags: 0xC0, type_code: 200, value }]).unwrap_or_default(),
            }
        }
    }

    proptest! {
        /// The wire form gives back exactly the attributes (decoded now or
        /// through a handle), is what the codec encodes for a 4-octet AS
        /// session, and the facts read from it are those of the decoded
        /// attributes.
        #[test]
        fn wire_form_round_trips(a in path_attributes(), nh in 0u8..4, addr in any::<u128>()) {
            let mut interner = Interner::new();
            let v6 = std::net::Ipv6Addr::from(addr);
            let next_hop = match nh {
                0 => NextHop::Empty,
                1 => NextHop::V4(Ipv4Addr::from(addr as u32)),
                2 => NextHop::V6 { global: v6, link_local: None },
                _ => NextHop::V6 { global: v6, link_local: Some(Ipv6Addr::LOCALHOST) },
            };
            let r = RouteAttrs { next_hop, attributes: a.clone() };
            let set = interner.intern(&r);
            prop_assert_eq!(&set.attributes(), &r);
            prop_assert_eq!(set.next_hop(), next_hop);
            let encoded = ribbit_wire::EncodedAttributes::new(&a, true);
            prop_assert_eq!(set.attribute_bytes(), encoded.as_bytes());
            // What BMP sends as it is (`AttrSet::wire`), and what a
            // reader of the handle gets.
            prop_assert!(ribbit_wire::AttributesView::parse(set.attribute_bytes()).is_some());
            let view = set.view();
            prop_assert!(view.wire().is_some_and(|w| w.same(&set)));
            prop_assert_eq!(view.get(), &r);
            let f = set.facts();
            prop_assert_eq!(f.local_pref(), a.local_pref());
            prop_assert_eq!(f.path_len(), PathFacts::path_len(&a));
            prop_assert_eq!(f.origin(), a.origin);
            prop_assert_eq!(f.med(), a.med);
            prop_assert_eq!(f.neighbor_as(), PathFacts::neighbor_as(&a));
            prop_assert_eq!(f.originator_id(), a.originator_id);
            prop_assert_eq!(f.cluster_list_len(), a.cluster_list.len());
            prop_assert_eq!(f.otc, a.otc);
            prop_assert_eq!(f.has(community_bit::NO_EXPORT), a.communities.contains(&Community::NO_EXPORT));
        }
    }
}
