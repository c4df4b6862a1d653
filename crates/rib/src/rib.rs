//! The routing tables: [`Rib`] holds every neighbor's paths (the
//! Adj-RIBs-In, with an optional pre-policy copy), picks the best path of
//! each destination (the Loc-RIB) and keeps, per neighbor, only what was
//! last sent for each destination (the Adj-RIB-Out), producing the UPDATEs
//! that bring each neighbor up to date.
//!
//! Everything is driven by the runtime: it reports sessions going up and
//! down, hands over decoded UPDATEs, and pulls encoded messages per
//! neighbor with [`Rib::take_messages`] when the neighbor's socket has
//! room. Nothing here blocks, allocates per prefix beyond the table
//! itself, or remembers churn: a destination that changes a thousand
//! times before it is sent costs one entry and one UPDATE.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasher, RandomState};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::rc::Rc;

use ipnet::IpNet;
use ribbit_wire::attribute::{AsPath, Community, Origin};
use ribbit_wire::capability::Role;
use ribbit_wire::family::NlriKind;
use ribbit_wire::nlri::{Nlri, NlriList, PrefixNlri};
use ribbit_wire::route_refresh::{RefreshSubtype, RouteRefresh};
use ribbit_wire::update::{MpNlri, Update};
use ribbit_wire::{
    EncodeContext, EncodedAttributes, Family, Message, NextHop, PathAttributes, Safi,
};
use smallvec::SmallVec;

use crate::decision::{before_med, best_path, Candidate, DecisionOptions, PeerInfo, Step};
use crate::export::{self, Source, Target};
use crate::family_rib::AnyFamily;
use crate::fast_hash::FastMap;
use crate::flow_validation;
use crate::intern::{community_bit, AttrSet, Facts, Interner, WireSet};
use crate::key::RouteKey;
use crate::policy::{Outcome, PeerFacts, PolicyChain, Subject};
use crate::route::RouteAttrs;
use crate::table::{flag, Path, LOCAL};

/// A neighbor of the RIB, as returned by [`Rib::add_peer`]. Never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerId(pub u32);

impl std::fmt::Display for PeerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "peer#{}", self.0)
    }
}

/// What a received route carrying BLACKHOLE (RFC 7999) gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BlackholeAction {
    /// Accepted, with NO_EXPORT added unless it already has NO_EXPORT or
    /// NO_ADVERTISE (RFC 7999 §3.2).
    #[default]
    Accept,
    /// Rejected.
    Reject,
}

/// Settings of the whole RIB.
#[derive(Debug, Clone)]
pub struct RibOptions {
    /// Our AS.
    pub local_as: u32,
    /// Our BGP identifier.
    pub router_id: Ipv4Addr,
    /// The route reflection cluster identifier; `None`: the router ID
    /// (RFC 4456 §7).
    pub cluster_id: Option<Ipv4Addr>,
    /// Options of the decision process.
    pub decision: DecisionOptions,
    /// What a received route with BLACKHOLE gets.
    pub blackhole: BlackholeAction,
}

impl RibOptions {
    /// Defaults for everything but the AS and the router ID.
    pub fn new(local_as: u32, router_id: Ipv4Addr) -> RibOptions {
        RibOptions {
            local_as,
            router_id,
            cluster_id: None,
            decision: DecisionOptions::default(),
            blackhole: BlackholeAction::default(),
        }
    }
}

/// What happens when a neighbor sends more prefixes than its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaxPrefixAction {
    /// Only report it.
    Warn,
    /// Accept up to the limit and ignore further new prefixes.
    WithdrawExcess,
    /// Report it so that the runtime closes the session (RFC 4486 Cease,
    /// Maximum Number of Prefixes Reached); excess prefixes are ignored.
    Teardown,
}

/// A limit on the paths accepted from one neighbor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxPrefix {
    /// The family it applies to; `None`: each family separately.
    pub family: Option<Family>,
    /// The most paths accepted (after import policy, ADD-PATH paths
    /// counted one by one).
    pub limit: u32,
    /// What happens beyond it.
    pub action: MaxPrefixAction,
}

/// Which paths a neighbor that negotiated ADD-PATH send gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddPathSend {
    /// The best `n`, in decision order.
    Best(u8),
    /// Every eligible path.
    All,
}

/// A neighbor's configuration, as far as the tables are concerned.
#[derive(Debug, Clone)]
pub struct PeerConfig {
    /// Its address.
    pub address: IpAddr,
    /// Its AS.
    pub peer_as: u32,
    /// Our AS on this session (may differ from [`RibOptions::local_as`]).
    pub local_as: u32,
    /// A route reflector client of ours (RFC 4456).
    pub route_reflector_client: bool,
    /// A route server client of ours (RFC 7947).
    pub route_server_client: bool,
    /// Set the next hop to our address on export, for every route.
    pub next_hop_self: bool,
    /// eBGP: do not set the next hop to our address.
    pub next_hop_unchanged: bool,
    /// eBGP: pass MED on (not done by default, RFC 4271 §5.1.4).
    pub send_med: bool,
    /// How many times our AS may appear in a received AS_PATH.
    pub allow_own_as: u8,
    /// Import policy.
    pub import: PolicyChain,
    /// Export policy.
    pub export: PolicyChain,
    /// Prefix limits.
    pub max_prefix: Vec<MaxPrefix>,
    /// What to send per family where ADD-PATH send was negotiated
    /// (families not listed: the best path only).
    pub add_path_send: Vec<(Family, AddPathSend)>,
    /// Keep received routes before import policy (soft reconfiguration
    /// inbound), so that a policy change needs no ROUTE-REFRESH.
    pub keep_adj_rib_in: bool,
    /// Our role on this session (RFC 9234); the OTC rules of §5 apply
    /// when set.
    pub role: Option<Role>,
    /// Validate the Flowspec rules it sends (RFC 8955 §6; see
    /// [`crate::flow_validation`]). On by default for eBGP.
    pub flowspec_validation: bool,
}

impl PeerConfig {
    /// A neighbor with every option at its default.
    pub fn new(address: IpAddr, peer_as: u32, local_as: u32) -> PeerConfig {
        PeerConfig {
            address,
            peer_as,
            local_as,
            route_reflector_client: false,
            route_server_client: false,
            next_hop_self: false,
            next_hop_unchanged: false,
            send_med: false,
            allow_own_as: 0,
            import: PolicyChain::accept_all(),
            export: PolicyChain::accept_all(),
            max_prefix: Vec::new(),
            add_path_send: Vec::new(),
            keep_adj_rib_in: false,
            role: None,
            flowspec_validation: peer_as != local_as,
        }
    }

    /// Whether the session is eBGP.
    pub fn is_ebgp(&self) -> bool {
        self.peer_as != self.local_as
    }
}

/// What the runtime knows about an established session.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    /// The neighbor's BGP identifier.
    pub router_id: Ipv4Addr,
    /// The negotiated families.
    pub families: Vec<Family>,
    /// How to encode what we send.
    pub encode: EncodeContext,
    /// Our IPv4 address for next-hop self, if known.
    pub local_v4: Option<Ipv4Addr>,
    /// Our IPv6 address for next-hop self, if known.
    pub local_v6: Option<Ipv6Addr>,
    /// The neighbor negotiated long-lived graceful restart (RFC 9494) and
    /// takes long-lived stale routes.
    pub llgr: bool,
    /// The neighbor's Graceful Restart capability (RFC 4724 §3): `None`
    /// without one, else its Restart State (R) bit. While we restart,
    /// route selection waits for the End-of-RIB of the neighbors that
    /// offered it without the R bit ([`Rib::defer_selection`]).
    pub graceful_restart: Option<bool>,
}

/// How a session went down gracefully (RFC 4724, RFC 9494).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GracefulDown {
    /// Families whose paths stay, marked stale, until the neighbor's
    /// End-of-RIB or [`Rib::purge_stale`].
    pub families: Vec<Family>,
    /// Families whose paths then become long-lived stale (LLGR_STALE
    /// added, least preferred): at the [`Rib::purge_stale`] that ends the
    /// restart time when also in `families`, at once otherwise.
    pub long_lived: Vec<Family>,
}

/// A prefix limit that was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxPrefixHit {
    /// The family.
    pub family: Family,
    /// The limit.
    pub limit: u32,
    /// Paths the neighbor has (or tried to have) in the family.
    pub count: u32,
    /// The configured action; [`MaxPrefixAction::Teardown`] asks the
    /// runtime to close the session.
    pub action: MaxPrefixAction,
}

/// What [`Rib::apply_update`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpdateReport {
    /// Paths accepted (new or replaced).
    pub announced: u32,
    /// NLRI withdrawn (treat-as-withdraw included).
    pub withdrawn: u32,
    /// Announcements refused (loop, policy, route leak, BLACKHOLE,
    /// prefix limit).
    pub rejected: u32,
    /// NLRI ignored: families not negotiated, or not decodable.
    pub ignored: u32,
    /// A prefix limit reached by this UPDATE.
    pub max_prefix: Option<MaxPrefixHit>,
}

/// What [`Rib::reconfigure_peer`] needs from the runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reconfigured {
    /// Nothing: the import side was re-run from the kept routes (or did
    /// not change), and the export side is being re-sent.
    Done,
    /// The import policy changed and no pre-policy copy is kept: ask the
    /// neighbor for a ROUTE-REFRESH of these families.
    NeedsRefresh(Vec<Family>),
}

/// One route, for queries.
#[derive(Debug, Clone)]
pub struct RouteView {
    /// The family.
    pub family: Family,
    /// The NLRI (one element, path identifier included when there is one).
    pub nlri: NlriList,
    /// The ADD-PATH path identifier (received, or sent for Adj-RIB-Out).
    pub path_id: Option<u32>,
    /// Next hop and attributes.
    pub attrs: AttrSet,
    /// The neighbor it came from; `None` for our own routes and for
    /// Adj-RIB-Out entries.
    pub peer: Option<PeerId>,
    /// Kept while its neighbor restarts (graceful restart).
    pub stale: bool,
}

/// The next hop of an injected route ([`Injection`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InjectNextHop {
    /// This next hop, as it goes on the wire ([`NextHop::Empty`] for
    /// Flowspec rules without one; an IPv4 next hop of IPv6 NLRI as the
    /// IPv4-mapped address).
    Given(NextHop),
    /// Our address on the session (ExaBGP's `next-hop self`), resolved each
    /// time the route is sent, so that it follows the session through
    /// flaps.
    Local,
}

/// A route a program announces to neighbors (ExaBGP's `announce route`),
/// or a static route of the configuration; see [`Rib::inject`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Injection {
    /// The next hop.
    pub next_hop: InjectNextHop,
    /// The attributes as given (`next_hop` unused): ORIGIN IGP and an
    /// empty AS_PATH are added when missing (RFC 4271 §5.1.1, §5.1.2: an
    /// UPDATE that announces carries them); the session's rules are
    /// applied when sent.
    pub attributes: PathAttributes,
}

/// A route injected for a neighbor, as [`Rib::injected`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InjectedRoute {
    /// The family.
    pub family: Family,
    /// The NLRI (one element, with its path identifier when one was
    /// given).
    pub nlri: NlriList,
    /// The route: attributes as stored (ORIGIN and AS_PATH added when
    /// they were missing), before the session's rules.
    pub injection: Injection,
}

/// Why routes could not be injected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InjectError {
    /// No such neighbor.
    UnknownPeer(PeerId),
    /// The RIB has no tables for the family (it cannot decode its NLRI).
    Family(Family),
    /// A route of a family with next hops has none
    /// ([`InjectNextHop::Given`] with [`NextHop::Empty`]).
    MissingNextHop(Family),
}

impl std::fmt::Display for InjectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InjectError::UnknownPeer(p) => write!(f, "no neighbor {p}"),
            InjectError::Family(family) => write!(f, "routes of {family} cannot be held"),
            InjectError::MissingNextHop(family) => write!(f, "a {family} route needs a next hop"),
        }
    }
}

impl std::error::Error for InjectError {}

/// Why a path cannot be best.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ineligible {
    /// Its next hop is unspecified or one of our own addresses.
    UnreachableNextHop,
    /// A Flowspec rule that failed validation (RFC 8955 §6).
    FlowspecValidation,
}

/// One path of a destination, for [`Rib::destination`].
#[derive(Debug, Clone)]
pub struct PathView {
    /// The route.
    pub route: RouteView,
    /// Whether it is the best path.
    pub best: bool,
    /// Long-lived stale (LLGR_STALE): least preferred.
    pub llgr_stale: bool,
    /// Why it cannot be best, if it cannot.
    pub ineligible: Option<Ineligible>,
}

/// Every path of one destination and why the best one won.
#[derive(Debug, Clone)]
pub struct DestinationView {
    /// The family.
    pub family: Family,
    /// The paths, the best first.
    pub paths: Vec<PathView>,
    /// The step of the decision that picked the best path.
    pub step: Option<Step>,
}

/// Counters of one neighbor in one family.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PeerFamilyStats {
    /// The family.
    pub family: Option<Family>,
    /// Announcements received.
    pub received: u64,
    /// Paths currently accepted (after import policy).
    pub accepted: u32,
    /// Announcements refused.
    pub rejected: u64,
    /// Withdrawals received.
    pub withdrawn: u64,
    /// Paths currently advertised to the neighbor (its Adj-RIB-Out).
    pub advertised: u32,
    /// NLRI ignored (family not negotiated or not decodable).
    pub ignored: u64,
}

/// Counters of one neighbor.
#[derive(Debug, Clone)]
pub struct PeerStats {
    /// The neighbor.
    pub peer: PeerId,
    /// Its address.
    pub address: IpAddr,
    /// Whether its session is up.
    pub up: bool,
    /// Per family.
    pub families: Vec<PeerFamilyStats>,
}

/// Size of one family's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FamilyStats {
    /// The family.
    pub family: Family,
    /// Destinations with at least one path.
    pub destinations: usize,
    /// Paths.
    pub paths: usize,
}

/// Sizes and counters of the whole RIB.
#[derive(Debug, Clone)]
pub struct RibStats {
    /// Per family.
    pub families: Vec<FamilyStats>,
    /// Distinct attribute sets held.
    pub attribute_sets: usize,
    /// Per neighbor.
    pub peers: Vec<PeerStats>,
}

/// Where a neighbor's stale paths of one family are in graceful restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StaleState {
    /// Restarting (RFC 4724); `then_llgr`: long-lived stale when the timer
    /// runs out.
    Restarting { then_llgr: bool },
    /// Long-lived stale (RFC 9494).
    LongLived,
}

/// One neighbor.
#[derive(Debug)]
pub(crate) struct PeerState {
    pub config: PeerConfig,
    pub ebgp: bool,
    pub facts: PeerFacts,
    /// The last BGP identifier seen (kept for stale paths after a session
    /// went down).
    pub router_id: Ipv4Addr,
    pub session: Option<SessionInfo>,
    pub counters: BTreeMap<Family, PeerFamilyStats>,
    pub stale: BTreeMap<Family, StaleState>,
    /// Families whose prefix limit was reported (reported again only
    /// after dropping back under it).
    pub max_reported: HashSet<Family>,
    /// End-of-RIB due for families the tables do not handle.
    pub eor_only: Vec<Family>,
    /// BoRR and EoRR due for families the tables do not handle.
    pub refresh_only: Vec<Family>,
}

impl PeerState {
    pub fn counter(&mut self, family: Family) -> &mut PeerFamilyStats {
        self.counters.entry(family).or_insert(PeerFamilyStats {
            family: Some(family),
            ..PeerFamilyStats::default()
        })
    }

    /// Whether the session is up with `family` negotiated.
    pub fn up_with(&self, family: Family) -> bool {
        self.session
            .as_ref()
            .is_some_and(|s| s.families.contains(&family))
    }

    /// What the neighbor gets for `family` when ADD-PATH send was
    /// negotiated; `None` without ADD-PATH (best path only).
    pub fn add_path_send(&self, family: Family) -> Option<AddPathSend> {
        let s = self.session.as_ref()?;
        if !s.encode.add_path(family) {
            return None;
        }
        Some(
            self.config
                .add_path_send
                .iter()
                .find(|(f, _)| *f == family)
                .map_or(AddPathSend::Best(1), |(_, m)| *m),
        )
    }
}

/// Everything but the per-family tables, borrowed by them.
#[derive(Debug)]
pub(crate) struct Shared {
    pub options: RibOptions,
    pub cluster_id: Ipv4Addr,
    pub peers: Vec<Option<PeerState>>,
    pub interner: Interner,
    /// Interner size at which the next purge runs.
    pub purge_at: usize,
    /// Decisions [`Shared::decide_after`] found unchanged (for tests).
    #[cfg(test)]
    pub shortcuts: std::cell::Cell<u64>,
    /// ADD-PATH send identifiers of received (neighbor, path id) pairs.
    /// (Allocated while producing messages and answering queries alike,
    /// hence the cell.)
    pub send_ids: RefCell<SendIds>,
    /// Our addresses: next hops equal to one are unreachable.
    /// (A few addresses: a vector is the fastest set.)
    pub local_addrs: Vec<IpAddr>,
    /// Keyed at random: hashes stand for what was sent in the
    /// Adj-RIB-Out, and neighbors must not be able to make them collide.
    pub hasher: RandomState,
    /// Whether a route server client is configured: the decision then
    /// flags each destination's runner-up too ([`flag::RUNNER_UP`]).
    pub path_hiding: bool,
}

/// A path's attributes as sent to one neighbor, encoded for its session
/// (made while producing its messages, not kept).
#[derive(Debug)]
pub(crate) struct Exported {
    /// The decoded attributes, when they were made.
    attrs: Option<RouteAttrs>,
    /// The next hop.
    pub next_hop: NextHop,
    /// The attributes' encoding, next hop left out.
    pub encoded: EncodedAttributes,
    /// A hash of what is sent: what the Adj-RIB-Out keeps of it.
    pub hash: u64,
}

impl Exported {
    /// The decoded attributes.
    pub fn attrs(&self) -> RouteAttrs {
        match &self.attrs {
            Some(a) => a.clone(),
            None => RouteAttrs {
                next_hop: self.next_hop,
                attributes: crate::intern::decode(self.encoded.as_bytes()),
            },
        }
    }
}

/// The export rules result for a source set.
type Memoized = Option<Rc<Exported>>;

/// Export rules results, shared by the passes of one round (each
/// neighbor's messages produced one after the other, see
/// [`Rib::take_round`]), by source attribute set, source neighbor and
/// class of neighbor: neighbors equal in all that the rules read of them
/// (`export::Target`) get the same result, so ten route server clients
/// cost one computation per path, not ten.
///
/// Keyed by the set's address, which stands for the set while nothing is
/// interned: valid for a round during which no UPDATE is applied and no
/// neighbor's configuration or session changes ([`ExportMemo::clear`] it
/// between rounds; a query's walk has a memo of its own). Holding a
/// reference to each set instead cost two atomic operations on a cold
/// cache line per set and neighbor.
#[derive(Debug, Default)]
pub struct ExportMemo {
    ruled: FastMap<MemoKey, Memoized>,
    /// The last result looked up, by set, source, neighbor (not class)
    /// and family: the destinations of one UPDATE come one after the
    /// other, with the same set.
    last: Option<(MemoKey, Memoized)>,
    /// The classes of neighbor met in the round, numbered.
    classes: FastMap<export::Target, u32>,
    /// The class of each neighbor met in the round, and what the rules
    /// read of it.
    class_of: FastMap<u32, (u32, export::Target)>,
    /// Results of earlier rounds nobody holds any more, reused with their
    /// buffers: a full table makes one result per set and round, and
    /// two allocations each (the shared result, its bytes) were a third
    /// of the export rules' time.
    spare: Vec<Rc<Exported>>,
}

/// Results an [`ExportMemo`] keeps room for between rounds (a round that
/// held more, such as a walk over a table whose paths are all refused,
/// gives its room back).
const MEMO_KEPT: usize = 1 << 16;

/// Results an [`ExportMemo`] keeps for reuse between rounds: about as
/// many as a round of a full table makes.
const SPARE_KEPT: usize = 4096;

impl ExportMemo {
    /// Forget every result, for a new round (or after a change).
    pub fn clear(&mut self) {
        self.last = None;
        let room = SPARE_KEPT.saturating_sub(self.spare.len());
        self.spare.extend(
            self.ruled
                .drain()
                .filter_map(|(_, r)| r.filter(|r| Rc::strong_count(r) == 1))
                .take(room),
        );
        if self.ruled.capacity() > MEMO_KEPT {
            self.ruled = FastMap::default();
        }
        self.classes.clear();
        self.class_of.clear();
    }

    /// The class of neighbor `to` and what the rules read of it.
    fn class(&mut self, sh: &Shared, to: u32) -> Option<(u32, &export::Target)> {
        if !self.class_of.contains_key(&to) {
            let p = sh.peer(to)?;
            let session = p.session.as_ref()?;
            let t = export::Target::new(&p.config, session, p.ebgp, sh.cluster_id);
            let next = u32::try_from(self.classes.len()).ok()?;
            let n = *self.classes.entry(t.clone()).or_insert(next);
            self.class_of.insert(to, (n, t));
        }
        self.class_of.get(&to).map(|(n, t)| (*n, t))
    }

    /// The rules' result for the set at `addr` from `source`, sent to
    /// neighbor `to` in `family`: the one its class already has, else
    /// `rules` run on what they read of it. `None`: `to` has no session.
    fn ruled(
        &mut self,
        sh: &Shared,
        to: u32,
        addr: usize,
        source: u32,
        family: Family,
        rules: impl FnOnce(&export::Target, Vec<u8>) -> Option<Exported>,
    ) -> Option<Memoized> {
        let class = self.class(sh, to)?.0;
        let key = (addr, source, class, family);
        if let Some(r) = self.ruled.get(&key) {
            return Some(r.clone());
        }
        let (_, t) = self.class_of.get(&to)?;
        let r = rules(t, spare_buffer(&mut self.spare)).map(|e| share(&mut self.spare, e));
        self.ruled.insert(key, r.clone());
        Some(r)
    }
}

/// An empty buffer with the room of a spare result's bytes (the spare
/// stays in `spare`, its bytes gone), or a new one.
fn spare_buffer(spare: &mut [Rc<Exported>]) -> Vec<u8> {
    let mut buffer = spare
        .last_mut()
        .and_then(Rc::get_mut)
        .map(|s| std::mem::take(&mut s.encoded).into_bytes())
        .unwrap_or_default();
    buffer.clear();
    buffer
}

/// `e` shared, in the room of a spare result when there is one (spares
/// are held by nobody else: see [`ExportMemo::clear`]).
fn share(spare: &mut Vec<Rc<Exported>>, e: Exported) -> Rc<Exported> {
    if let Some(mut shared) = spare.pop() {
        if let Some(slot) = Rc::get_mut(&mut shared) {
            *slot = e;
            return shared;
        }
    }
    Rc::new(e)
}

/// What [`ExportMemo`] is keyed by: the source set's address, the source
/// (a neighbor, or one of the sources below), the class of neighbor
/// and family (the next hop of an injected route depends on it).
type MemoKey = (usize, u32, u32, Family);

/// ADD-PATH send identifiers of received (neighbor, path id) pairs.
#[derive(Debug, Default)]
pub(crate) struct SendIds {
    ids: HashMap<(u32, u32), u32>,
    next: u32,
}

/// The hash of what the wire path of the export rules sends: the bytes
/// sent are a function of the source set's content, the plan and the next
/// hop, so a hash of those three stands for them, and the set's content
/// hash (keyed SipHash, made once when it was interned) spares hashing the
/// exported bytes again. Mixed with a multiply-fold: the content hash is
/// keyed, so no neighbor can aim at a collision.
fn derived_hash(set: &WireSet, plan: &export::Plan, next_hop: NextHop) -> u64 {
    let mut h = crate::fast_hash::FastHasher::default();
    std::hash::Hash::hash(plan, &mut h);
    std::hash::Hash::hash(&next_hop, &mut h);
    let fold = |a: u64, b: u64| {
        let m = u128::from(a).wrapping_mul(u128::from(b));
        (m as u64) ^ ((m >> 64) as u64)
    };
    let x = fold(
        set.content_hash() ^ 0x9e37_79b9_7f4a_7c15,
        std::hash::Hasher::finish(&h) | 1,
    );
    fold(x ^ set.content_hash(), 0xd6e8_feb8_6659_fd93)
}

/// The smallest interner size at which purges run.
const PURGE_MIN: usize = 4096;

/// Sources of export results in [`ExportMemo`] besides neighbors (below
/// [`LOCAL`]) and our own paths ([`LOCAL`]): injected routes with a given
/// next hop, and with `next-hop self`.
const INJECTED: u32 = u32::MAX - 1;
const INJECTED_SELF: u32 = u32::MAX;

/// The next hop an address stands for in `family`: an IPv4 address for
/// IPv6 NLRI as the IPv4-mapped IPv6 address (Ribbit does not negotiate
/// RFC 8950's extended next hop, which would send it as it is), as
/// ExaBGP's `Announcement::wire_next_hop` does.
pub(crate) fn injected_next_hop(family: Family, addr: IpAddr) -> NextHop {
    match addr {
        IpAddr::V4(a) if family.is_ipv6() => NextHop::V6 {
            global: a.to_ipv6_mapped(),
            link_local: None,
        },
        IpAddr::V4(a) => NextHop::V4(a),
        IpAddr::V6(a) => NextHop::V6 {
            global: a,
            link_local: None,
        },
    }
}

/// The facts of a destination's paths, on the stack for the usual few.
pub type PathsFacts = SmallVec<[Facts; 8]>;

/// A destination's paths as the decision sees them, on the stack for the
/// usual few (the decision runs at every change of a destination).
pub type Candidates<'a> = SmallVec<[Candidate<'a, Facts>; 8]>;

impl Shared {
    pub fn peer(&self, idx: u32) -> Option<&PeerState> {
        self.peers.get(idx as usize).and_then(Option::as_ref)
    }

    pub fn peer_mut(&mut self, idx: u32) -> Option<&mut PeerState> {
        self.peers.get_mut(idx as usize).and_then(Option::as_mut)
    }

    /// Keep [`Shared::path_hiding`] true to the neighbors' configuration.
    fn note_path_hiding(&mut self) {
        self.path_hiding = self
            .peers
            .iter()
            .flatten()
            .any(|p| p.config.route_server_client);
    }

    /// Whether a next hop can be used (RFC 4271 §9.1.2). Without an IGP,
    /// every next hop is reachable except the unspecified address and our
    /// own addresses (a route through ourselves loops).
    pub fn reachable(&self, nh: &NextHop) -> bool {
        let addr: IpAddr = match nh {
            NextHop::Empty => return true,
            NextHop::V4(a) => IpAddr::V4(*a),
            NextHop::V6 { global, .. } => IpAddr::V6(*global),
        };
        !addr.is_unspecified() && !self.local_addrs.contains(&addr)
    }

    /// Whether a path may be best: its next hop is reachable and, for a
    /// Flowspec rule, it passed validation.
    fn eligible<X>(&self, p: &Path<X>) -> bool {
        !p.has(flag::INVALID) && self.reachable(&p.attrs.next_hop())
    }

    /// The decision's view of the neighbor of a path.
    fn peer_info(&self, idx: u32) -> Option<PeerInfo> {
        let p = self.peer(idx)?;
        Some(PeerInfo {
            address: p.config.address,
            router_id: p.router_id,
            ebgp: p.ebgp,
        })
    }

    /// The facts of each of `paths`, in order, read from their sets.
    pub fn facts<X>(paths: &[Path<X>]) -> PathsFacts {
        paths.iter().map(|p| p.attrs.facts()).collect()
    }

    /// Decision candidates for `paths`, whose facts are `facts`;
    /// long-lived stale paths (RFC 9494 §4.3: least preferred) take part
    /// only when nothing else is eligible.
    pub fn candidates<'a, X>(&self, paths: &[Path<X>], facts: &'a [Facts]) -> Candidates<'a> {
        let mut c: Candidates<'a> = paths
            .iter()
            .zip(facts)
            .enumerate()
            .map(|(i, (p, f))| Candidate {
                attributes: f,
                peer: if p.peer() == LOCAL {
                    None
                } else {
                    self.peer_info(p.peer())
                },
                reachable: self.eligible(p),
                igp_cost: None,
                // Paths are kept in arrival order.
                received: i as u64,
                path_id: p.path_id(),
            })
            .collect();
        let llgr = |f: &Facts| f.has(community_bit::LLGR_STALE);
        let fresh = facts.iter().zip(&c).any(|(f, c)| c.reachable && !llgr(f));
        if fresh {
            for (f, c) in facts.iter().zip(c.iter_mut()) {
                if llgr(f) {
                    c.reachable = false;
                }
            }
        }
        c
    }

    /// The best of `paths` and the step that decided.
    pub fn decide_index<X>(&self, paths: &[Path<X>]) -> Option<(usize, Step)> {
        if let [p] = paths {
            return self.eligible(p).then_some((0, Step::OnlyPath));
        }
        let facts = Shared::facts(paths);
        let c = self.candidates(paths, &facts);
        best_path(&c, self.options.decision).map(|d| (d.best, d.step))
    }

    /// Whether the flagged best path and runner-up of a destination stay
    /// as they are now that its last path arrived, replacing `old` if it
    /// had one: true when the new path and the replaced one are out before
    /// MED compares anything against both ([`decision::before_med`]),
    /// found by reading three sets where [`Shared::decide`] reads every
    /// path's (a route server's destinations have a path per client, and
    /// most arrivals lose). `false`: nothing is known, decide.
    ///
    /// [`decision::before_med`]: crate::decision::before_med
    pub fn unchanged_by<X>(&self, paths: &[Path<X>], old: Option<&Path<X>>) -> bool {
        let (Some(new), true) = (paths.last(), paths.len() >= 2) else {
            return false;
        };
        let Some(best) = paths.iter().find(|p| p.has(flag::BEST)) else {
            return false;
        };
        // A second path from the best's neighbor changes whether it needs
        // a runner-up.
        if new.peer() == best.peer() || old.is_some_and(|o| o.has(flag::BEST | flag::RUNNER_UP)) {
            return false;
        }
        let runner = paths.iter().find(|p| p.has(flag::RUNNER_UP));
        let alone = paths.iter().filter(|p| p.peer() == best.peer()).count() == 1;
        if self.path_hiding && alone && runner.is_none() {
            return false;
        }
        // Long-lived stale paths rank below every other (RFC 9494 §4.3),
        // which the key does not say: decided in full.
        let key = |p: &Path<X>| {
            let f = p.attrs.facts();
            (!f.has(community_bit::LLGR_STALE)).then(|| before_med(&f, p.peer() == LOCAL))
        };
        let Some(b) = key(best).filter(|_| self.eligible(best)) else {
            return false;
        };
        let r = match runner {
            Some(r) => match key(r).filter(|_| self.eligible(r)) {
                Some(k) => Some(k),
                None => return false,
            },
            None => None,
        };
        let out = |p: &Path<X>| {
            !self.eligible(p) || key(p).is_some_and(|k| k > b && r.is_none_or(|r| k > r))
        };
        out(new) && old.is_none_or(out)
    }

    /// [`Shared::decide`] after the last of `paths` arrived (replacing
    /// `old`), unless [`Shared::unchanged_by`] shows it would change
    /// nothing. Debug builds check that it would not.
    pub fn decide_after<X: Clone>(&self, paths: &mut [Path<X>], old: Option<&Path<X>>) {
        if !self.unchanged_by(paths, old) {
            self.decide(paths);
            return;
        }
        #[cfg(test)]
        self.shortcuts.set(self.shortcuts.get() + 1);
        #[cfg(debug_assertions)]
        {
            let mut full = paths.to_vec();
            self.decide(&mut full);
            let flags = |v: &[Path<X>]| -> Vec<(bool, bool)> {
                v.iter()
                    .map(|p| (p.has(flag::BEST), p.has(flag::RUNNER_UP)))
                    .collect()
            };
            debug_assert_eq!(flags(paths), flags(&full), "the decision's shortcut");
        }
    }

    /// Recompute the best path of a destination (flagged), and its
    /// runner-up ([`flag::RUNNER_UP`]) when a route server client may need
    /// it.
    pub fn decide<X>(&self, paths: &mut [Path<X>]) {
        let (winner, runner_up) = match paths {
            [p] => (self.eligible(p).then_some(0), None),
            _ => {
                let facts = Shared::facts(paths);
                let mut c = self.candidates(paths, &facts);
                match best_path(&c, self.options.decision) {
                    None => (None, None),
                    Some(d) => {
                        let from = paths.get(d.best).map(Path::peer);
                        let alone = paths.iter().filter(|p| Some(p.peer()) == from).count() == 1;
                        let runner_up = if alone && self.path_hiding {
                            // The same candidates less the best: what
                            // ranking the paths would find second.
                            if let Some(b) = c.get_mut(d.best) {
                                b.reachable = false;
                            }
                            best_path(&c, self.options.decision).map(|r| r.best)
                        } else {
                            None
                        };
                        (Some(d.best), runner_up)
                    }
                }
            }
        };
        for (i, p) in paths.iter_mut().enumerate() {
            p.clear(flag::BEST | flag::RUNNER_UP);
            if Some(i) == winner {
                p.set(flag::BEST);
            } else if Some(i) == runner_up {
                p.set(flag::RUNNER_UP);
            }
        }
    }

    /// The ADD-PATH identifier we send a path with: stable for the life of
    /// the path. Paths without a received identifier are told apart by
    /// their neighbor alone; the others get numbers from an allocator kept
    /// per (neighbor, received identifier), with the top bit set so that
    /// the two ranges never meet.
    pub fn send_id<X>(&self, p: &Path<X>) -> u32 {
        match p.path_id() {
            None => p.peer().wrapping_add(1),
            Some(id) => {
                let mut ids = self.send_ids.borrow_mut();
                if let Some(&s) = ids.ids.get(&(p.peer(), id)) {
                    return s;
                }
                ids.next = ids.next.wrapping_add(1) & 0x7fff_ffff;
                let s = 0x8000_0000 | ids.next;
                ids.ids.insert((p.peer(), id), s);
                s
            }
        }
    }

    fn source(&self, idx: u32) -> Option<(Source, Option<&PeerFacts>)> {
        if idx == LOCAL {
            return Some((
                Source {
                    local: true,
                    ebgp: false,
                    rr_client: false,
                    router_id: self.options.router_id,
                },
                None,
            ));
        }
        let p = self.peer(idx)?;
        Some((
            Source {
                local: false,
                ebgp: p.ebgp,
                rr_client: p.config.route_reflector_client,
                router_id: p.router_id,
            },
            Some(&p.facts),
        ))
    }

    /// What neighbor `to` gets for a path of `family` to `prefix`: the
    /// export rules (once per attribute set, source and class of neighbor
    /// in `memo`), then its export policy. `None`: nothing is sent.
    pub fn export<X>(
        &self,
        memo: &mut ExportMemo,
        to: u32,
        family: Family,
        prefix: Option<IpNet>,
        path: &Path<X>,
    ) -> Option<Rc<Exported>> {
        if path.peer() == to {
            // Never back to where it came from (RFC 4271 §9.2, RFC 7947).
            return None;
        }
        let target = self.peer(to)?;
        let pass_through = target.config.export.is_pass_through();
        let last = (path.attrs.addr(), path.peer(), to, family);
        let ruled = match &memo.last {
            Some((k, r)) if *k == last => r.clone(),
            _ => {
                let r = memo.ruled(
                    self,
                    to,
                    path.attrs.addr(),
                    path.peer(),
                    family,
                    |t, buf| self.export_rules(t, path, buf),
                )?;
                memo.last = Some((last, r.clone()));
                r
            }
        }?;
        if pass_through {
            return Some(ruled);
        }
        let (_, source_facts) = self.source(path.peer())?;
        let subject = Subject {
            family,
            prefix,
            peer: &target.facts,
            source: source_facts,
        };
        let typed = ruled.attrs();
        match target.config.export.apply(&subject, &typed) {
            Outcome::Reject => None,
            Outcome::Accept(None) => Some(ruled),
            Outcome::Accept(Some(changed)) => {
                let session = target.session.as_ref()?;
                self.exported(*changed, &session.encode).map(Rc::new)
            }
        }
    }

    /// The export rules applied to a path for a neighbor `t`: on the wire
    /// form when nothing needs the decoded attributes (no export policy,
    /// a 4-octet AS session), else on the decoded attributes. The wire
    /// form is written into `out` (empty, its room reused).
    fn export_rules<X>(&self, t: &Target, path: &Path<X>, mut out: Vec<u8>) -> Option<Exported> {
        let (source, _) = self.source(path.peer())?;
        let plan = export::plan(&source, t, &path.attrs.facts())?;
        if t.typed || !t.encode.four_octet_as {
            let mut attrs = path.attrs.attributes();
            export::apply(&plan, &mut attrs, t);
            return self.exported(attrs, &t.encode);
        }
        let bytes = path.attrs.attribute_bytes();
        out.reserve(bytes.len() + 16);
        export::apply_wire(&plan, bytes, &mut out);
        let encoded = EncodedAttributes::from_bytes(out)?;
        let next_hop = export::next_hop(&plan, path.attrs.next_hop(), t);
        let hash = derived_hash(&path.attrs, &plan, next_hop);
        self.finish_export_hashed(None, next_hop, encoded, &t.encode, hash)
    }

    /// What neighbor `to` is sent for a route injected for it (once per
    /// attribute set in `memo`): the attributes as given under
    /// [`export::injection_plan`], and the given next hop or, for `next-hop
    /// self`, our address on the session, then the neighbor's export
    /// policy. `None`: it cannot be sent (no address
    /// for `next-hop self`, or too large).
    pub fn export_injected<X>(
        &self,
        memo: &mut ExportMemo,
        to: u32,
        family: Family,
        prefix: Option<IpNet>,
        route: &crate::family_rib::Injected<X>,
    ) -> Option<Rc<Exported>> {
        let source = if route.next_hop_self {
            INJECTED_SELF
        } else {
            INJECTED
        };
        let ruled = memo.ruled(self, to, route.attrs.addr(), source, family, |t, buf| {
            self.injected_rules(t, family, &route.attrs, route.next_hop_self, buf)
        })??;
        // The neighbor's export policy applies to what we originate too,
        // as it does in BIRD and GoBGP (the source is local).
        let target = self.peer(to)?;
        if target.config.export.is_pass_through() {
            return Some(ruled);
        }
        let subject = Subject {
            family,
            prefix,
            peer: &target.facts,
            source: None,
        };
        match target.config.export.apply(&subject, &ruled.attrs()) {
            Outcome::Reject => None,
            Outcome::Accept(None) => Some(ruled),
            Outcome::Accept(Some(changed)) => {
                let session = target.session.as_ref()?;
                self.exported(*changed, &session.encode).map(Rc::new)
            }
        }
    }

    fn injected_rules(
        &self,
        t: &Target,
        family: Family,
        set: &WireSet,
        next_hop_self: bool,
        mut out: Vec<u8>,
    ) -> Option<Exported> {
        let next_hop = if next_hop_self {
            // Our address on the session: the one of the neighbor's
            // address family, as ExaBGP takes the socket's own address.
            let (v4, v6) = (t.local_v4.map(IpAddr::V4), t.local_v6.map(IpAddr::V6));
            let local = if t.ipv6_neighbor {
                v6.or(v4)
            } else {
                v4.or(v6)
            }?;
            injected_next_hop(family, local)
        } else {
            set.next_hop()
        };
        let plan = export::injection_plan(t);
        if !t.encode.four_octet_as {
            let mut attrs = set.attributes();
            export::apply(&plan, &mut attrs, t);
            attrs.next_hop = next_hop;
            return self.exported(attrs, &t.encode);
        }
        let bytes = set.attribute_bytes();
        out.reserve(bytes.len() + 8);
        export::apply_wire(&plan, bytes, &mut out);
        let encoded = EncodedAttributes::from_bytes(out)?;
        let hash = derived_hash(set, &plan, next_hop);
        self.finish_export_hashed(None, next_hop, encoded, &t.encode, hash)
    }

    /// Encode attributes for a session; `None` when they are too large to
    /// be sent in any UPDATE.
    fn exported(&self, attrs: RouteAttrs, ctx: &EncodeContext) -> Option<Exported> {
        let encoded = EncodedAttributes::new(&attrs.attributes, ctx.four_octet_as);
        let next_hop = attrs.next_hop;
        self.finish_export(Some(attrs), next_hop, encoded, ctx)
    }

    fn finish_export(
        &self,
        attrs: Option<RouteAttrs>,
        next_hop: NextHop,
        encoded: EncodedAttributes,
        ctx: &EncodeContext,
    ) -> Option<Exported> {
        let hash = self.hasher.hash_one((next_hop, encoded.as_bytes()));
        self.finish_export_hashed(attrs, next_hop, encoded, ctx, hash)
    }

    /// [`Shared::finish_export`] with the hash of what is sent given.
    fn finish_export_hashed(
        &self,
        attrs: Option<RouteAttrs>,
        next_hop: NextHop,
        encoded: EncodedAttributes,
        ctx: &EncodeContext,
        hash: u64,
    ) -> Option<Exported> {
        // Room for the header, MP_REACH_NLRI with the longest next hop and
        // one NLRI of the longest kind (a Flowspec rule can be longer: the
        // packer refuses what does not fit, see `Batch::encode`).
        let limit = ctx
            .max_message_len()
            .saturating_sub(ribbit_wire::HEADER_LEN + 4 + 60 + 64);
        if encoded.len() > limit {
            return None;
        }
        Some(Exported {
            attrs,
            next_hop,
            encoded,
            hash,
        })
    }

    /// Drop attribute sets nobody uses any more, once the interner has
    /// doubled since the last purge.
    pub fn maybe_purge(&mut self) {
        if self.interner.len() < self.purge_at {
            return;
        }
        self.purge();
    }

    /// A path that left the tables: its set leaves the interner too when
    /// nothing else holds it ([`Interner::release`]).
    pub fn release<X>(&mut self, path: Path<X>) {
        self.interner.release(path.attrs);
    }

    pub fn purge(&mut self) {
        self.interner.purge();
        self.purge_at = self.interner.len().saturating_mul(2).max(PURGE_MIN);
    }
}

/// Attributes accepted by the import rules (decoded when an import policy
/// will need them), and their interned copy.
type Accepted = (Option<Box<RouteAttrs>>, WireSet);

/// NLRI from the classic fields or from MP_REACH/MP_UNREACH.
#[derive(Clone, Copy)]
enum Nlris<'a> {
    Prefixes(&'a [PrefixNlri]),
    List(&'a NlriList),
}

impl<'a> Nlris<'a> {
    fn len(&self) -> usize {
        match self {
            Nlris::Prefixes(v) => v.len(),
            Nlris::List(l) => l.len(),
        }
    }

    fn iter(&self) -> Box<dyn Iterator<Item = Nlri<'a>> + 'a> {
        match *self {
            Nlris::Prefixes(v) => Box::new(v.iter().map(Nlri::Prefix)),
            Nlris::List(l) => l.iter(),
        }
    }
}

/// What one announcement becomes after the import rules.
enum Imported {
    /// Accepted as received.
    Unchanged,
    /// Accepted with changes.
    Changed(Box<RouteAttrs>),
    /// Refused.
    Reject,
}

/// The routing tables.
#[derive(Debug)]
pub struct Rib {
    pub(crate) sh: Shared,
    pub(crate) families: BTreeMap<Family, AnyFamily>,
    /// The destinations of validated Flowspec rules, by the unicast family
    /// they are validated against: a unicast change that overlaps one
    /// validates that family's rules again (RFC 8955 §6).
    flow_destinations: BTreeMap<Family, Vec<IpNet>>,
    /// While we restart (RFC 4724 §4.1), the neighbors whose End-of-RIB
    /// route selection waits for: `None` until the session is up, then
    /// the families still to end. Nothing is sent while it is `Some`.
    deferral: Option<BTreeMap<u32, Option<Vec<Family>>>>,
}

impl flow_validation::UnicastView for Rib {
    fn covering_best(&self, family: Family, prefix: IpNet) -> Option<flow_validation::Source> {
        // The longest covering prefix no longer than `prefix`: exact
        // lookups from the prefix up (at most 33 or 129; rules are few).
        let mut len = prefix.prefix_len();
        loop {
            let candidate = IpNet::new(prefix.network(), len).ok()?.trunc();
            if let Some(d) = self.destination_prefix(family, candidate) {
                if let Some(best) = d.paths.iter().find(|p| p.best) {
                    return Some(self.source_of(best.route.peer));
                }
            }
            len = len.checked_sub(1)?;
        }
    }

    fn more_specific_best_asns(&self, family: Family, prefix: IpNet) -> Vec<u32> {
        self.more_specifics(family, prefix)
            .map(|r| self.source_of(r.peer).asn)
            .collect()
    }
}

macro_rules! each {
    ($fam:expr, $t:ident => $body:expr) => {
        match $fam {
            AnyFamily::V4($t) => $body,
            AnyFamily::V6($t) => $body,
            AnyFamily::Other($t) => $body,
        }
    };
}

impl Rib {
    /// An empty RIB.
    pub fn new(options: RibOptions) -> Rib {
        Rib {
            sh: Shared {
                cluster_id: options.cluster_id.unwrap_or(options.router_id),
                options,
                peers: Vec::new(),
                interner: Interner::new(),
                purge_at: PURGE_MIN,
                #[cfg(test)]
                shortcuts: std::cell::Cell::new(0),
                send_ids: RefCell::new(SendIds::default()),
                local_addrs: Vec::new(),
                hasher: RandomState::new(),
                path_hiding: false,
            },
            families: BTreeMap::new(),
            flow_destinations: BTreeMap::new(),
            deferral: None,
        }
    }

    /// The options.
    pub fn options(&self) -> &RibOptions {
        &self.sh.options
    }

    /// Add a neighbor (its session down).
    pub fn add_peer(&mut self, config: PeerConfig) -> PeerId {
        let idx = u32::try_from(self.sh.peers.len()).unwrap_or(LOCAL.saturating_sub(1));
        let facts = PeerFacts {
            address: config.address,
            asn: config.peer_as,
            local_asn: config.local_as,
            local_address: None,
        };
        self.sh.peers.push(Some(PeerState {
            ebgp: config.is_ebgp(),
            config,
            facts,
            router_id: Ipv4Addr::UNSPECIFIED,
            session: None,
            counters: BTreeMap::new(),
            stale: BTreeMap::new(),
            max_reported: HashSet::new(),
            eor_only: Vec::new(),
            refresh_only: Vec::new(),
        }));
        self.sh.note_path_hiding();
        PeerId(idx)
    }

    /// A neighbor's configuration.
    pub fn peer_config(&self, peer: PeerId) -> Option<&PeerConfig> {
        self.sh.peer(peer.0).map(|p| &p.config)
    }

    /// The neighbors.
    pub fn peers(&self) -> impl Iterator<Item = PeerId> + '_ {
        self.sh
            .peers
            .iter()
            .enumerate()
            .filter(|(_, p)| p.is_some())
            .filter_map(|(i, _)| u32::try_from(i).ok().map(PeerId))
    }

    /// Remove a neighbor: its paths are withdrawn, its Adj-RIB-Out dropped.
    pub fn remove_peer(&mut self, peer: PeerId) {
        if self.sh.peer(peer.0).is_none() {
            return;
        }
        if let Some(waiting) = self.deferral.as_mut() {
            waiting.remove(&peer.0);
            self.deferral_check();
        }
        self.peer_down(peer, None);
        for fam in self.families.values_mut() {
            each!(fam, t => t.forget_peer(peer.0));
        }
        self.sh
            .send_ids
            .borrow_mut()
            .ids
            .retain(|k, _| k.0 != peer.0);
        if let Some(slot) = self.sh.peers.get_mut(peer.0 as usize) {
            *slot = None;
        }
        self.sh.note_path_hiding();
        self.sh.purge();
    }

    /// The neighbor of a path as Flowspec validation sees it; our own
    /// routes are our AS.
    fn source_of(&self, peer: Option<PeerId>) -> flow_validation::Source {
        match peer.and_then(|p| self.sh.peer(p.0).map(|q| (p, q))) {
            Some((p, q)) => flow_validation::Source {
                peer: p.0,
                asn: q.config.peer_as,
                ebgp: q.ebgp,
            },
            None => flow_validation::Source {
                peer: LOCAL,
                asn: self.sh.options.local_as,
                ebgp: false,
            },
        }
    }

    /// Create the tables of a family Ribbit decodes; false for others.
    fn ensure_family(&mut self, family: Family) -> bool {
        if let std::collections::btree_map::Entry::Vacant(e) = self.families.entry(family) {
            let Some(t) = AnyFamily::new(family) else {
                return false;
            };
            e.insert(t);
        }
        true
    }

    /// A neighbor's session is established: its whole Adj-RIB-Out is due
    /// (a walk of the Loc-RIB per family, then End-of-RIB).
    pub fn peer_up(&mut self, peer: PeerId, session: SessionInfo) {
        if let Some(waiting) = self.deferral.as_mut() {
            // RFC 4724 §4.1: only the neighbors that will send End-of-RIB
            // without waiting for ours count.
            match (waiting.get_mut(&peer.0), session.graceful_restart) {
                (Some(entry), Some(false)) => *entry = Some(session.families.clone()),
                (Some(_), None | Some(true)) => {
                    waiting.remove(&peer.0);
                }
                (None, _) => {}
            }
            self.deferral_check();
        }
        let Some(p) = self.sh.peer_mut(peer.0) else {
            return;
        };
        let new_router_id =
            p.router_id != session.router_id && p.counters.values().any(|c| c.accepted > 0);
        let ibgp = !p.ebgp;
        p.router_id = session.router_id;
        p.facts.local_address = match p.config.address {
            IpAddr::V4(_) => session.local_v4.map(IpAddr::V4),
            IpAddr::V6(_) => session.local_v6.map(IpAddr::V6),
        };
        let families = session.families.clone();
        let encode = session.encode;
        let add_path = |f: Family| encode.add_path(f);
        let local = [
            session.local_v4.map(IpAddr::V4),
            session.local_v6.map(IpAddr::V6),
        ];
        p.session = Some(session);
        p.eor_only.clear();
        p.refresh_only.clear();
        for a in local.into_iter().flatten() {
            if !self.sh.local_addrs.contains(&a) {
                self.sh.local_addrs.push(a);
            }
        }
        if new_router_id {
            // Its kept (stale) paths compare differently in the decision,
            // and carry the new identifier when reflected.
            let others: Vec<u32> = self
                .peers()
                .filter(|q| *q != peer && self.sh.peer(q.0).is_some_and(|q| q.session.is_some()))
                .map(|q| q.0)
                .collect();
            for t in self.families.values_mut() {
                each!(t, t => {
                    t.redecide_peer(&self.sh, peer.0);
                    if ibgp {
                        for &o in &others {
                            t.start_walk(o, false, false, None);
                        }
                    }
                });
            }
        }
        for family in families {
            self.ensure_family(family);
            match self.families.get_mut(&family) {
                Some(t) => {
                    each!(t, t => t.start_walk(peer.0, false, false, Some(add_path(family))))
                }
                None => {
                    if let Some(p) = self.sh.peer_mut(peer.0) {
                        p.eor_only.push(family);
                    }
                }
            }
        }
    }

    /// A neighbor's session went down. Without `graceful`, its paths are
    /// withdrawn now; with it, the paths of the families listed stay as
    /// stale (see [`GracefulDown`]) and the others are withdrawn. Either
    /// way what was sent to it is forgotten.
    pub fn peer_down(&mut self, peer: PeerId, graceful: Option<GracefulDown>) {
        let Some(p) = self.sh.peer_mut(peer.0) else {
            return;
        };
        p.session = None;
        p.facts.local_address = None;
        p.eor_only.clear();
        p.refresh_only.clear();
        p.max_reported.clear();
        let g = graceful.unwrap_or_default();
        let families: Vec<Family> = self.families.keys().copied().collect();
        for family in families {
            let in_gr = g.families.contains(&family);
            let in_llgr = g.long_lived.contains(&family);
            let state = if in_gr {
                Some(StaleState::Restarting { then_llgr: in_llgr })
            } else if in_llgr {
                Some(StaleState::LongLived)
            } else {
                None
            };
            let Some(t) = self.families.get_mut(&family) else {
                continue;
            };
            each!(t, t => {
                t.drop_out(peer.0);
                match state {
                    Some(StaleState::Restarting { .. }) => t.mark_stale(&mut self.sh, peer.0),
                    Some(StaleState::LongLived) => {
                        t.mark_stale(&mut self.sh, peer.0);
                        t.make_long_lived(&mut self.sh, peer.0);
                    }
                    None => t.remove_peer_paths(&mut self.sh, peer.0, false),
                }
            });
            if let Some(p) = self.sh.peer_mut(peer.0) {
                match state {
                    Some(s) => {
                        // Paths already stale from an earlier restart keep
                        // their state unless this one goes further.
                        let cur = p.stale.get(&family).copied();
                        if cur != Some(StaleState::LongLived) {
                            p.stale.insert(family, s);
                        }
                    }
                    None => {
                        p.stale.remove(&family);
                    }
                }
            }
        }
        self.refresh_local_addrs();
        // Its unicast routes may have been what made rules valid, or not.
        self.revalidate_all_flows();
        self.sh.maybe_purge();
    }

    fn refresh_local_addrs(&mut self) {
        let mut addrs = Vec::new();
        for p in self.sh.peers.iter().flatten() {
            if let Some(s) = &p.session {
                for a in [s.local_v4.map(IpAddr::V4), s.local_v6.map(IpAddr::V6)]
                    .into_iter()
                    .flatten()
                {
                    if !addrs.contains(&a) {
                        addrs.push(a);
                    }
                }
            }
        }
        self.sh.local_addrs = addrs;
    }

    /// The restart timer of a neighbor ran out for `family`: its stale
    /// paths are withdrawn, or become long-lived stale when
    /// [`GracefulDown::long_lived`] listed the family (a later call then
    /// withdraws them).
    pub fn purge_stale(&mut self, peer: PeerId, family: Family) {
        let Some(p) = self.sh.peer_mut(peer.0) else {
            return;
        };
        let state = p.stale.get(&family).copied();
        let to_llgr = state == Some(StaleState::Restarting { then_llgr: true });
        if to_llgr {
            p.stale.insert(family, StaleState::LongLived);
        } else {
            p.stale.remove(&family);
        }
        let Some(t) = self.families.get_mut(&family) else {
            return;
        };
        each!(t, t => {
            if to_llgr {
                t.make_long_lived(&mut self.sh, peer.0);
            } else {
                t.remove_peer_paths(&mut self.sh, peer.0, true);
            }
        });
        self.revalidate_all_flows();
        self.sh.maybe_purge();
    }

    /// Originate a route (a static route of the configuration): a path
    /// with no neighbor, exported like any best path. Returns false when
    /// the family or NLRI cannot be stored.
    pub fn originate(&mut self, family: Family, nlri: Nlri<'_>, attrs: RouteAttrs) -> bool {
        let set = self.sh.interner.intern(&attrs);
        self.ensure_family(family);
        let Some(t) = self.families.get_mut(&family) else {
            return false;
        };
        let ok = each!(t, t => t.insert_local(&mut self.sh, nlri, set));
        self.sh.maybe_purge();
        ok
    }

    /// Inject routes for neighbors, as a program announces them (ExaBGP's
    /// `announce route`, Ribbit's static routes): each NLRI of `nlri` goes
    /// to each of `peers` with `route`'s attributes, whatever the tables
    /// hold. Returns how many (neighbor, route) pairs were injected (NLRI
    /// that do not belong to `family` are skipped).
    ///
    /// What a neighbor gets, with ExaBGP's semantics:
    /// - the attributes as given, ORIGIN IGP and an empty AS_PATH added
    ///   when missing; on eBGP our AS prepended and LOCAL_PREF dropped
    ///   (RFC 4271 §5.1.2, §5.1.5), on iBGP LOCAL_PREF 100 when absent; no
    ///   export policy, no community rule, MED kept;
    /// - [`InjectNextHop::Local`] as our address on the session;
    /// - no part in the decision process, never sent to other neighbors;
    /// - precedence: for the destination, the injected routes replace,
    ///   for that neighbor only, whatever the decision would send it (all
    ///   its paths with ADD-PATH); when the last one is retracted the
    ///   RIB's own export of the destination comes back;
    /// - a later injection of the same NLRI and path identifier replaces
    ///   the earlier one; without ADD-PATH send the neighbor gets the
    ///   injected route with the lowest path identifier (none counts as
    ///   0), with it every one with its identifier;
    /// - they outlive sessions: sent (in key order with the RIB's
    ///   routes, before End-of-RIB) each time the session comes up, and
    ///   again on ROUTE-REFRESH (between BoRR and EoRR);
    /// - sent through the same machinery as the RIB's own routes: what is
    ///   due, grouped by attribute set and packed, the Adj-RIB-Out keeping
    ///   a hash of what was sent, so that an injection that changes
    ///   nothing sends nothing.
    pub fn inject(
        &mut self,
        peers: &[PeerId],
        family: Family,
        nlri: &NlriList,
        route: &Injection,
    ) -> Result<usize, InjectError> {
        if let Some(p) = peers.iter().find(|p| self.sh.peer(p.0).is_none()) {
            return Err(InjectError::UnknownPeer(*p));
        }
        let flowspec = matches!(
            family.nlri_kind(),
            Some(NlriKind::Flowspec | NlriKind::FlowspecVpn)
        );
        let (next_hop, next_hop_self) = match route.next_hop {
            InjectNextHop::Given(NextHop::Empty) if !flowspec => {
                return Err(InjectError::MissingNextHop(family))
            }
            InjectNextHop::Given(nh) => (nh, false),
            InjectNextHop::Local => (NextHop::Empty, true),
        };
        if !self.ensure_family(family) {
            return Err(InjectError::Family(family));
        }
        let a = &route.attributes;
        let set = if a.origin.is_some() && a.as_path.is_some() {
            self.sh.interner.intern_parts(next_hop, a)
        } else {
            let mut a = a.clone();
            a.origin.get_or_insert(Origin::Igp);
            a.as_path.get_or_insert_with(AsPath::default);
            self.sh.interner.intern_parts(next_hop, &a)
        };
        let Some(t) = self.families.get_mut(&family) else {
            return Err(InjectError::Family(family));
        };
        let mut n = 0usize;
        each!(t, t => {
            for p in peers {
                for one in nlri.iter() {
                    if t.inject(p.0, one, &set, next_hop_self) {
                        n = n.saturating_add(1);
                    }
                }
            }
        });
        self.sh.maybe_purge();
        Ok(n)
    }

    /// Withdraw routes injected for neighbors (ExaBGP's `withdraw route`):
    /// the RIB's own export of each destination, if any, takes their
    /// place. Returns how many (neighbor, route) pairs were withdrawn.
    pub fn retract(&mut self, peers: &[PeerId], family: Family, nlri: &NlriList) -> usize {
        let Some(t) = self.families.get_mut(&family) else {
            return 0;
        };
        let mut n = 0usize;
        each!(t, t => {
            for p in peers {
                for one in nlri.iter() {
                    if t.retract(p.0, one) {
                        n = n.saturating_add(1);
                    }
                }
            }
        });
        n
    }

    /// Withdraw every route injected for a neighbor, in every family (or
    /// one); returns how many.
    pub fn retract_all(&mut self, peer: PeerId, family: Option<Family>) -> usize {
        let mut n = 0usize;
        for (f, t) in self.families.iter_mut() {
            if family.is_none_or(|x| x == *f) {
                n = n.saturating_add(each!(t, t => t.retract_all(peer.0)));
            }
        }
        n
    }

    /// The routes injected for a neighbor in a family, in key order.
    pub fn injected(&self, peer: PeerId, family: Family) -> Vec<InjectedRoute> {
        let Some(t) = self.families.get(&family) else {
            return Vec::new();
        };
        each!(t, t => t.injected(peer.0))
            .into_iter()
            .map(|(nlri, set, next_hop_self)| {
                let attrs = set.attributes();
                InjectedRoute {
                    family,
                    nlri,
                    injection: Injection {
                        next_hop: if next_hop_self {
                            InjectNextHop::Local
                        } else {
                            InjectNextHop::Given(attrs.next_hop)
                        },
                        attributes: attrs.attributes,
                    },
                }
            })
            .collect()
    }

    /// The families the RIB has tables for.
    pub fn families(&self) -> impl Iterator<Item = Family> + '_ {
        self.families.keys().copied()
    }

    /// How many routes are injected for a neighbor, all families.
    pub fn injected_count(&self, peer: PeerId) -> usize {
        self.families
            .values()
            .map(|t| each!(t, t => t.injected_len(peer.0)))
            .sum()
    }

    /// Withdraw a route given to [`Rib::originate`]; returns whether it
    /// existed.
    pub fn withdraw_local(&mut self, family: Family, nlri: Nlri<'_>) -> bool {
        let Some(t) = self.families.get_mut(&family) else {
            return false;
        };
        each!(t, t => t.withdraw(&mut self.sh, LOCAL, nlri))
    }

    /// The import rules that do not depend on the prefix: LOCAL_PREF from
    /// eBGP ignored (RFC 4271 §5.1.5), loop detection (RFC 4271 §9.1.2,
    /// RFC 4456 §8), BLACKHOLE (RFC 7999 §3.2), route leaks (RFC 9234 §5).
    fn import_rules(&self, p: &PeerState, next_hop: NextHop, raw: &PathAttributes) -> Imported {
        let own = |asn: u32| {
            raw.as_path.as_ref().map_or(0usize, |path| {
                path.segments
                    .iter()
                    .map(|s| s.asns.iter().filter(|&&x| x == asn).count())
                    .sum()
            })
        };
        let limit = usize::from(p.config.allow_own_as);
        if own(self.sh.options.local_as) > limit
            || (p.config.local_as != self.sh.options.local_as && own(p.config.local_as) > limit)
        {
            return Imported::Reject;
        }
        if raw.originator_id == Some(self.sh.options.router_id)
            || raw.cluster_list.contains(&self.sh.cluster_id)
        {
            return Imported::Reject;
        }
        let blackhole = raw.communities.contains(&Community::BLACKHOLE);
        if blackhole && self.sh.options.blackhole == BlackholeAction::Reject {
            return Imported::Reject;
        }
        let add_no_export = blackhole
            && !raw.communities.contains(&Community::NO_EXPORT)
            && !raw.communities.contains(&Community::NO_ADVERTISE);
        let otc = match p.config.role {
            // From a customer or an RS client: OTC means a leak.
            Some(Role::Provider | Role::RouteServer) if raw.otc.is_some() => {
                return Imported::Reject;
            }
            // From a peer: OTC must be the peer's AS; added when absent.
            Some(Role::Peer) => match raw.otc {
                Some(v) if v != p.config.peer_as => return Imported::Reject,
                Some(_) => None,
                None => Some(p.config.peer_as),
            },
            // From a provider or a route server: added when absent.
            Some(Role::Customer | Role::RouteServerClient) if raw.otc.is_none() => {
                Some(p.config.peer_as)
            }
            _ => None,
        };
        let drop_lp = p.ebgp && raw.local_pref.is_some();
        if !drop_lp && !add_no_export && otc.is_none() {
            return Imported::Unchanged;
        }
        let mut a = RouteAttrs::new(raw.clone(), Some(next_hop));
        if drop_lp {
            a.attributes.local_pref = None;
        }
        if add_no_export {
            a.attributes.communities.push(Community::NO_EXPORT);
        }
        if otc.is_some() {
            a.attributes.otc = otc;
        }
        Imported::Changed(Box::new(a))
    }

    /// Bring into the cache what applying `updates` (about to be applied
    /// in this order) will read of the IPv4 unicast table, the family of a
    /// full table. Applying them one by one reaches the table at random
    /// places, one UPDATE's few prefixes at a time; this overlaps the cache
    /// misses of all of them. Changes nothing.
    pub fn warm<'u>(&self, updates: impl Iterator<Item = &'u Update>) {
        if let Some(AnyFamily::V4(t)) = self.families.get(&Family::IPV4_UNICAST) {
            t.warm_many(
                updates
                    .flat_map(|u| u.withdrawn.iter().chain(&u.announced))
                    .map(Nlri::Prefix),
            );
        }
    }

    /// Apply one decoded UPDATE of an established neighbor.
    pub fn apply_update(&mut self, peer: PeerId, update: &Update) -> UpdateReport {
        let mut report = UpdateReport::default();
        let Some(p) = self.sh.peer(peer.0) else {
            return report;
        };
        if p.session.is_none() {
            return report;
        }
        if let Some(family) = update.end_of_rib_family() {
            self.end_of_rib(peer, family);
            return report;
        }
        let withdraw_all = update.treat_as_withdraw();
        // Withdrawals first: an UPDATE may withdraw and announce the same
        // prefix (RFC 4271 §4.3 lets the announcement win).
        if !update.withdrawn.is_empty() {
            let list = Nlris::Prefixes(&update.withdrawn);
            self.withdraw_list(peer, Family::IPV4_UNICAST, list, &mut report);
        }
        if let Some(un) = &update.mp_unreach {
            match &un.nlri {
                MpNlri::Decoded(list) => {
                    self.withdraw_list(peer, un.family, Nlris::List(list), &mut report)
                }
                MpNlri::Raw(_) => self.ignore(peer, un.family, 1, &mut report),
            }
        }
        if !update.announced.is_empty() {
            let list = Nlris::Prefixes(&update.announced);
            if withdraw_all {
                self.withdraw_list(peer, Family::IPV4_UNICAST, list, &mut report);
            } else {
                let nh = update
                    .attributes
                    .next_hop
                    .map_or(NextHop::Empty, NextHop::V4);
                let a = &update.attributes;
                self.announce_list(peer, Family::IPV4_UNICAST, list, nh, a, &mut report);
            }
        }
        if let Some(reach) = &update.mp_reach {
            match &reach.nlri {
                MpNlri::Decoded(list) if withdraw_all => {
                    self.withdraw_list(peer, reach.family, Nlris::List(list), &mut report)
                }
                MpNlri::Decoded(list) => {
                    let (nh, a) = (reach.next_hop, &update.attributes);
                    self.announce_list(peer, reach.family, Nlris::List(list), nh, a, &mut report);
                }
                MpNlri::Raw(_) => self.ignore(peer, reach.family, 1, &mut report),
            }
        }
        self.revalidate_after(update);
        self.sh.maybe_purge();
        report
    }

    /// Validate Flowspec rules again after an UPDATE: the rules of its
    /// Flowspec family, or those whose destination overlaps a unicast
    /// prefix it changed. Nothing to do, and nothing looked at, while no
    /// validated rule is held.
    fn revalidate_after(&mut self, update: &Update) {
        let mut due: Vec<Family> = Vec::new();
        let mut check = |family: Family, prefixes: Vec<IpNet>| {
            if flow_validation::unicast_of(family).is_some() {
                due.push(family);
                return;
            }
            let Some(dests) = self.flow_destinations.get(&family) else {
                return;
            };
            if prefixes
                .iter()
                .any(|p| dests.iter().any(|d| d.contains(p) || p.contains(d)))
            {
                due.push(Family {
                    afi: family.afi,
                    safi: Safi::FLOWSPEC,
                });
            }
        };
        let prefixes = |list: &NlriList| -> Vec<IpNet> {
            match list {
                NlriList::Prefixes(v) => v.iter().map(|n| n.prefix).collect(),
                _ => Vec::new(),
            }
        };
        if self.flow_destinations.contains_key(&Family::IPV4_UNICAST) {
            let v4 = update.withdrawn.iter().chain(&update.announced);
            check(Family::IPV4_UNICAST, v4.map(|n| n.prefix).collect());
        }
        for (family, list) in [
            update.mp_unreach.as_ref().map(|u| (u.family, &u.nlri)),
            update.mp_reach.as_ref().map(|r| (r.family, &r.nlri)),
        ]
        .into_iter()
        .flatten()
        {
            // Only prefixes near a held rule matter: nothing is built for
            // the usual UPDATE.
            let relevant = flow_validation::unicast_of(family).is_some()
                || self.flow_destinations.contains_key(&family);
            if let (true, MpNlri::Decoded(list)) = (relevant, list) {
                check(family, prefixes(list));
            }
        }
        due.dedup();
        for family in due {
            self.revalidate_flows(family);
        }
    }

    /// Validate again every Flowspec rule held (after a neighbor went
    /// away, or changed its settings).
    fn revalidate_all_flows(&mut self) {
        let flows: Vec<Family> = self
            .families
            .keys()
            .copied()
            .filter(|f| flow_validation::unicast_of(*f).is_some())
            .collect();
        for family in flows {
            self.revalidate_flows(family);
        }
    }

    /// Validate every rule of a Flowspec family from the neighbors that
    /// validate (RFC 8955 §6), marking those that fail so that they are
    /// never best, and clearing the mark of those that pass now.
    fn revalidate_flows(&mut self, family: Family) {
        let Some(unicast) = flow_validation::unicast_of(family) else {
            return;
        };
        let validating: Vec<bool> = self
            .sh
            .peers
            .iter()
            .map(|p| p.as_ref().is_some_and(|p| p.config.flowspec_validation))
            .collect();
        let Some(table) = self.families.get(&family) else {
            self.flow_destinations.remove(&unicast);
            return;
        };
        let of = |peer: u32| validating.get(peer as usize).copied().unwrap_or(false);
        let paths = each!(table, t => t.paths_of(&of));
        let mut verdicts = Vec::with_capacity(paths.len());
        let mut destinations = Vec::new();
        for (route, was_invalid) in paths {
            let (Some(peer), NlriList::Flowspec(rules)) = (route.peer, &route.nlri) else {
                continue;
            };
            let Some(rule) = rules.first() else {
                continue;
            };
            let Some(p) = self.sh.peer(peer.0) else {
                continue;
            };
            let from = flow_validation::Source {
                peer: peer.0,
                asn: p.config.peer_as,
                ebgp: p.ebgp,
            };
            let as_path = route
                .attrs
                .get()
                .attributes
                .as_path
                .clone()
                .unwrap_or_default();
            let verdict = flow_validation::validate(family, rule, &as_path, from, &*self);
            for c in &rule.components {
                if let ribbit_wire::nlri::flowspec::Component::DestinationPrefix(d) = c {
                    destinations.push(d.prefix);
                }
            }
            let invalid = verdict.is_err();
            if invalid != was_invalid {
                verdicts.push((peer.0, route.nlri.clone(), invalid));
            }
        }
        destinations.sort();
        destinations.dedup();
        if destinations.is_empty() {
            self.flow_destinations.remove(&unicast);
        } else {
            self.flow_destinations.insert(unicast, destinations);
        }
        let Some(table) = self.families.get_mut(&family) else {
            return;
        };
        for (peer, nlri, invalid) in verdicts {
            if let Some(n) = nlri.iter().next() {
                each!(table, t => t.set_invalid(&self.sh, peer, n, invalid));
            }
        }
    }

    /// Why a neighbor's Flowspec rule is not feasible (RFC 8955 §6), as
    /// validation finds it now; `None` when it is, when the neighbor does
    /// not validate, or when the rule is not held.
    pub fn flow_invalid(
        &self,
        family: Family,
        peer: PeerId,
        rule: &ribbit_wire::nlri::FlowspecNlri,
    ) -> Option<flow_validation::FlowInvalid> {
        let p = self.sh.peer(peer.0)?;
        if !p.config.flowspec_validation {
            return None;
        }
        let list = NlriList::Flowspec(vec![rule.clone()]);
        let n = list.iter().next()?;
        let view = self.destination(family, n)?;
        let path = view.paths.iter().find(|v| v.route.peer == Some(peer))?;
        let as_path = path
            .route
            .attrs
            .get()
            .attributes
            .as_path
            .clone()
            .unwrap_or_default();
        let from = flow_validation::Source {
            peer: peer.0,
            asn: p.config.peer_as,
            ebgp: p.ebgp,
        };
        flow_validation::validate(family, rule, &as_path, from, self).err()
    }

    fn ignore(&mut self, peer: PeerId, family: Family, n: usize, report: &mut UpdateReport) {
        let n32 = u32::try_from(n).unwrap_or(u32::MAX);
        report.ignored = report.ignored.saturating_add(n32);
        if let Some(p) = self.sh.peer_mut(peer.0) {
            let c = p.counter(family);
            c.ignored = c.ignored.saturating_add(n as u64);
        }
    }

    fn negotiated(&self, peer: PeerId, family: Family) -> bool {
        self.sh.peer(peer.0).is_some_and(|p| p.up_with(family))
    }

    fn withdraw_list(
        &mut self,
        peer: PeerId,
        family: Family,
        list: Nlris<'_>,
        report: &mut UpdateReport,
    ) {
        if !self.negotiated(peer, family) || family.nlri_kind().is_none() {
            self.ignore(peer, family, list.len(), report);
            return;
        }
        self.ensure_family(family);
        let Some(t) = self.families.get_mut(&family) else {
            return;
        };
        let mut n = 0u32;
        each!(t, t => {
            for nlri in list.iter() {
                t.withdraw(&mut self.sh, peer.0, nlri);
                t.pre_remove(&mut self.sh, peer.0, nlri);
                n = n.saturating_add(1);
            }
        });
        each!(t, t => t.maybe_trim_log());
        report.withdrawn = report.withdrawn.saturating_add(n);
        if let Some(p) = self.sh.peer_mut(peer.0) {
            let c = p.counter(family);
            c.withdrawn = c.withdrawn.saturating_add(u64::from(n));
        }
    }

    fn announce_list(
        &mut self,
        peer: PeerId,
        family: Family,
        list: Nlris<'_>,
        next_hop: NextHop,
        raw: &PathAttributes,
        report: &mut UpdateReport,
    ) {
        if !self.negotiated(peer, family) || family.nlri_kind().is_none() {
            self.ignore(peer, family, list.len(), report);
            return;
        }
        let Some(p) = self.sh.peer(peer.0) else {
            return;
        };
        let keep_pre = p.config.keep_adj_rib_in;
        let typed_needed = !p.config.import.is_pass_through();
        let imported = self.import_rules(p, next_hop, raw);
        // The set as received, interned once: the pre-policy copy's, and
        // the path's when the import rules change nothing.
        let received = (keep_pre || matches!(imported, Imported::Unchanged))
            .then(|| self.sh.interner.intern_parts(next_hop, raw));
        let pre = received.as_ref().filter(|_| keep_pre).cloned();
        let set: Option<Accepted> = match imported {
            Imported::Unchanged => received.map(|set| {
                let typed =
                    typed_needed.then(|| Box::new(RouteAttrs::new(raw.clone(), Some(next_hop))));
                (typed, set)
            }),
            Imported::Changed(a) => {
                let set = self.sh.interner.intern(&a);
                Some((Some(a), set))
            }
            Imported::Reject => None,
        };
        if let Some(p) = self.sh.peer_mut(peer.0) {
            let c = p.counter(family);
            c.received = c.received.saturating_add(list.len() as u64);
        }
        if !self.ensure_family(family) {
            return;
        }
        let Some(t) = self.families.get_mut(&family) else {
            return;
        };
        let accepted = set.as_ref().map(|(a, s)| (a.as_deref(), s));
        each!(t, t => {
            if let Some(pre) = &pre {
                for nlri in list.iter() {
                    t.pre_insert(&mut self.sh, peer.0, nlri, pre.clone());
                }
            }
            match list {
                Nlris::Prefixes(v) => {
                    t.import_list(&mut self.sh, peer.0, v.iter().map(Nlri::Prefix), accepted, report)
                }
                Nlris::List(l) => t.import_list(&mut self.sh, peer.0, l.iter(), accepted, report),
            }
            t.maybe_trim_log();
        });
    }

    /// End-of-RIB from a neighbor: its stale paths of the family go.
    fn end_of_rib(&mut self, peer: PeerId, family: Family) {
        if let Some(waiting) = self.deferral.as_mut() {
            if let Some(Some(families)) = waiting.get_mut(&peer.0) {
                families.retain(|f| *f != family);
                if families.is_empty() {
                    waiting.remove(&peer.0);
                }
            }
            self.deferral_check();
        }
        // Paths are stale only while their neighbor's family is: without
        // that, nothing to sweep (a table's walk per neighbor and family at
        // the end of every initial exchange).
        let had_stale = self
            .sh
            .peer_mut(peer.0)
            .is_some_and(|p| p.stale.remove(&family).is_some());
        if !had_stale {
            return;
        }
        if let Some(t) = self.families.get_mut(&family) {
            each!(t, t => t.remove_peer_paths(&mut self.sh, peer.0, true));
        }
        self.revalidate_all_flows();
        self.sh.maybe_purge();
    }

    /// Change a neighbor's configuration. The import side is re-run from
    /// the pre-policy copy when one is kept, or needs a ROUTE-REFRESH
    /// when the import side changed; the export side is re-evaluated for
    /// every destination, and only differences are sent.
    pub fn reconfigure_peer(&mut self, peer: PeerId, config: PeerConfig) -> Reconfigured {
        let Some(p) = self.sh.peer_mut(peer.0) else {
            return Reconfigured::Done;
        };
        let old = std::mem::replace(&mut p.config, config);
        let new = &p.config;
        // PolicyChain has no equality; its Debug form shows every rule.
        let import_changed = format!("{:?}", old.import) != format!("{:?}", new.import)
            || old.allow_own_as != new.allow_own_as
            || old.role != new.role
            || old.local_as != new.local_as
            || old.peer_as != new.peer_as
            || old.max_prefix != new.max_prefix;
        let source_changed = old.route_reflector_client != new.route_reflector_client
            || old.peer_as != new.peer_as
            || old.local_as != new.local_as
            || old.address != new.address;
        p.ebgp = new.is_ebgp();
        p.facts.address = new.address;
        let rs_changed = old.route_server_client != new.route_server_client;
        p.facts.asn = new.peer_as;
        p.facts.local_asn = new.local_as;
        let kept = old.keep_adj_rib_in && new.keep_adj_rib_in;
        let keep_pre = new.keep_adj_rib_in;
        let session_families = p.session.as_ref().map(|s| s.families.clone());
        let mut result = Reconfigured::Done;
        if import_changed {
            if kept {
                let families: Vec<Family> = self.families.keys().copied().collect();
                for family in families {
                    self.reimport(peer, family);
                }
            } else if let Some(f) = &session_families {
                result = Reconfigured::NeedsRefresh(f.clone());
            }
        }
        if !keep_pre {
            for t in self.families.values_mut() {
                each!(t, t => t.pre_drop(peer.0));
            }
        }
        // Re-evaluate exports: this neighbor's, and everyone's when what
        // it is as a source changed.
        let targets: Vec<u32> = self
            .sh
            .peers
            .iter()
            .enumerate()
            .filter(|(i, q)| {
                q.as_ref().is_some_and(|q| q.session.is_some())
                    && (source_changed || *i == peer.0 as usize)
            })
            .filter_map(|(i, _)| u32::try_from(i).ok())
            .collect();
        for t in self.families.values_mut() {
            for &to in &targets {
                each!(t, t => t.start_walk(to, false, false, None));
            }
        }
        if rs_changed {
            // Destinations decided from now on flag their runner-up; the
            // others are ranked when needed, as without it.
            self.sh.note_path_hiding();
        }
        // Re-imported rules, or a change of `flowspec-validation`.
        self.revalidate_all_flows();
        self.sh.maybe_purge();
        result
    }

    /// Re-run import for every kept pre-policy route of a neighbor.
    fn reimport(&mut self, peer: PeerId, family: Family) {
        let Some(p) = self.sh.peer(peer.0) else {
            return;
        };
        if !p.up_with(family) && !p.stale.contains_key(&family) {
            return;
        }
        let Some(t) = self.families.get(&family) else {
            return;
        };
        let routes = each!(t, t => t.pre_routes(peer.0));
        let mut report = UpdateReport::default();
        let mut last: Option<(WireSet, Option<Accepted>)> = None;
        for (nlri, raw, stale) in routes {
            let set = match &last {
                Some((r, s)) if r.same(&raw) => s.clone(),
                _ => {
                    let Some(p) = self.sh.peer(peer.0) else {
                        return;
                    };
                    let typed = raw.attributes();
                    let s = match self.import_rules(p, typed.next_hop, &typed.attributes) {
                        Imported::Unchanged => Some((Some(Box::new(typed)), raw.clone())),
                        Imported::Changed(a) => {
                            let set = self.sh.interner.intern(&a);
                            Some((Some(a), set))
                        }
                        Imported::Reject => None,
                    };
                    last = Some((raw.clone(), s.clone()));
                    s
                }
            };
            let Some(t) = self.families.get_mut(&family) else {
                return;
            };
            for n in nlri.iter() {
                each!(t, t => {
                    t.import_one(
                        &mut self.sh,
                        peer.0,
                        n,
                        set.as_ref().map(|(a, s)| (a.as_deref(), s)),
                        &mut report,
                    );
                    if stale {
                        t.mark_one_stale(peer.0, n);
                    }
                });
            }
        }
    }

    /// A neighbor asked for a ROUTE-REFRESH of `family`: its Adj-RIB-Out
    /// of the family (injected routes included) is sent again in full;
    /// with `end_marker` (enhanced route refresh negotiated), framed by a
    /// BoRR before the first UPDATE and an EoRR after the last (RFC 7313
    /// §4).
    pub fn refresh(&mut self, peer: PeerId, family: Family, end_marker: bool) {
        if !self.negotiated(peer, family) {
            return;
        }
        self.ensure_family(family);
        match self.families.get_mut(&family) {
            Some(t) => each!(t, t => t.start_walk(peer.0, true, end_marker, None)),
            None => {
                if end_marker {
                    if let Some(p) = self.sh.peer_mut(peer.0) {
                        p.refresh_only.push(family);
                    }
                }
            }
        }
    }

    /// Defer route selection while we restart (RFC 4724 §4.1): nothing is
    /// sent to any neighbor until each of `peers` (those we offered
    /// graceful restart) sent End-of-RIB for each family of its session,
    /// or came up without the capability or with its R bit set, or
    /// [`Rib::end_deferral`] is called (the selection deferral timer ran
    /// out). Then every neighbor gets its table in one go, not the churn
    /// of tables arriving one after another.
    pub fn defer_selection(&mut self, peers: impl IntoIterator<Item = PeerId>) {
        let waiting: BTreeMap<u32, Option<Vec<Family>>> =
            peers.into_iter().map(|p| (p.0, None)).collect();
        self.deferral = (!waiting.is_empty()).then_some(waiting);
    }

    /// End the deferral of route selection now (its timer ran out).
    pub fn end_deferral(&mut self) {
        self.deferral = None;
    }

    /// Whether route selection is deferred (see [`Rib::defer_selection`]).
    pub fn deferring(&self) -> bool {
        self.deferral.is_some()
    }

    /// The deferral has no neighbor left to wait for: it ends.
    fn deferral_check(&mut self) {
        if self.deferral.as_ref().is_some_and(BTreeMap::is_empty) {
            self.deferral = None;
        }
    }

    /// An End-of-RIB for `family` to a neighbor on demand (ExaBGP's
    /// `announce eor`, RFC 4724 §2): it goes out after whatever is due for
    /// the neighbor in that family now, so a program that announces routes
    /// and then asks for End-of-RIB has it follow them. False when the
    /// session is not up with the family.
    pub fn send_end_of_rib(&mut self, peer: PeerId, family: Family) -> bool {
        if !self.negotiated(peer, family) {
            return false;
        }
        if let Some(p) = self.sh.peer_mut(peer.0) {
            if !p.eor_only.contains(&family) {
                p.eor_only.push(family);
            }
        }
        true
    }

    /// Whether messages are due for a neighbor.
    pub fn has_pending(&self, peer: PeerId) -> bool {
        if self.deferral.is_some() {
            return false;
        }
        let Some(p) = self.sh.peer(peer.0) else {
            return false;
        };
        if p.session.is_none() {
            return false;
        }
        !p.eor_only.is_empty()
            || !p.refresh_only.is_empty()
            || self
                .families
                .values()
                .any(|t| each!(t, t => t.has_pending(peer.0)))
    }

    /// The neighbors with messages due.
    pub fn pending_peers(&self) -> Vec<PeerId> {
        self.peers().filter(|&p| self.has_pending(p)).collect()
    }

    /// Append complete messages (header included) for a neighbor to `out`,
    /// one vector each; see [`Rib::take_into`], which it calls.
    pub fn take_messages(&mut self, peer: PeerId, budget: usize, out: &mut Vec<Vec<u8>>) -> usize {
        let mut buf = Vec::new();
        let n = self.take_into(peer, budget, &mut buf);
        split_messages(&buf, out);
        n
    }

    /// Append complete messages (header included) for a neighbor to `buf`,
    /// back to back, about `budget` bytes at most but at least one message
    /// when anything is due; returns the bytes appended. UPDATEs are
    /// grouped by attribute set and packed full; after the first complete
    /// pass over a family since [`Rib::peer_up`], one End-of-RIB (RFC 4724
    /// §2). The Adj-RIB-Out is updated as messages are produced.
    pub fn take_into(&mut self, peer: PeerId, budget: usize, buf: &mut Vec<u8>) -> usize {
        self.take_round(&mut ExportMemo::default(), peer, budget, buf)
    }

    /// [`Rib::take_into`] for one neighbor of a round: several neighbors'
    /// messages produced one after the other, with nothing applied or
    /// changed in between, share the export rules' results in `memo`
    /// (neighbors alike in what the rules read get one computation per
    /// path). [`ExportMemo::clear`] it before the next round.
    pub fn take_round(
        &mut self,
        memo: &mut ExportMemo,
        peer: PeerId,
        budget: usize,
        buf: &mut Vec<u8>,
    ) -> usize {
        if self.deferral.is_some() {
            return 0;
        }
        let Some(p) = self.sh.peer(peer.0) else {
            return 0;
        };
        let Some(session) = p.session.clone() else {
            return 0;
        };
        let mut used = 0usize;
        for family in &session.families {
            if used >= budget && used > 0 {
                break;
            }
            let Some(t) = self.families.get_mut(family) else {
                continue;
            };
            let left = budget.saturating_sub(used);
            used = used.saturating_add(
                each!(t, t => t.take(&mut self.sh, memo, peer.0, &session, left, used == 0, buf)),
            );
        }
        // An End-of-RIB waits for the family's pending messages: it ends
        // what was due when it was asked for.
        let busy: Vec<Family> = self
            .families
            .iter()
            .filter(|(_, t)| each!(t, t => t.has_pending(peer.0)))
            .map(|(f, _)| *f)
            .collect();
        if let Some(p) = self.sh.peer_mut(peer.0) {
            let (later, now): (Vec<Family>, Vec<Family>) = std::mem::take(&mut p.eor_only)
                .into_iter()
                .partition(|f| busy.contains(f));
            p.eor_only = later;
            for family in now {
                let bytes = end_of_rib(family, &session.encode);
                used = used.saturating_add(bytes.len());
                buf.extend_from_slice(&bytes);
            }
            for family in std::mem::take(&mut p.refresh_only) {
                for subtype in [RefreshSubtype::Begin, RefreshSubtype::End] {
                    let bytes = Message::RouteRefresh(RouteRefresh { family, subtype })
                        .to_bytes(&session.encode);
                    used = used.saturating_add(bytes.len());
                    buf.extend_from_slice(&bytes);
                }
            }
        }
        self.sh.maybe_purge();
        used
    }

    /// Every path of one destination, with the decision's verdict.
    pub fn destination(&self, family: Family, nlri: Nlri<'_>) -> Option<DestinationView> {
        let t = self.families.get(&family)?;
        each!(t, t => t.destination(&self.sh, nlri))
    }

    /// What a change observer (BMP) reports after an UPDATE of `peer`: the
    /// path `peer` has for `nlri` after import policy (the NLRI's path
    /// identifier included; `None` when it has none), and the best path
    /// of the destination. Cheaper than [`Rib::destination`]: no decision
    /// rerun, only these two paths copied.
    pub fn observe(
        &self,
        family: Family,
        nlri: Nlri<'_>,
        peer: Option<PeerId>,
    ) -> (Option<RouteView>, Option<RouteView>) {
        match self.families.get(&family) {
            None => (None, None),
            Some(t) => each!(t, t => t.observe(nlri, peer.map(|p| p.0))),
        }
    }

    /// [`Rib::destination`] of a prefix (unicast and multicast families).
    pub fn destination_prefix(&self, family: Family, prefix: IpNet) -> Option<DestinationView> {
        let n = PrefixNlri {
            path_id: None,
            prefix: prefix.trunc(),
        };
        self.destination(family, Nlri::Prefix(&n))
    }

    /// A page of every destination of a family with all its paths (the
    /// post-policy Adj-RIB-In of every neighbor, and our own routes): at
    /// most `limit` destinations after the destination of `after` (from
    /// the start when `None`), in key order. Pass the last destination's
    /// NLRI to get the next page. What table dumps walk.
    pub fn destinations_page(
        &self,
        family: Family,
        after: Option<Nlri<'_>>,
        limit: usize,
    ) -> Vec<DestinationView> {
        match self.families.get(&family) {
            None => Vec::new(),
            Some(t) => each!(t, t => t.destinations_from(&self.sh, after, limit)),
        }
    }

    /// The BGP identifier of a neighbor's session, or of its last one (zero
    /// before any).
    pub fn peer_router_id(&self, peer: PeerId) -> Option<Ipv4Addr> {
        self.sh.peer(peer.0).map(|p| p.router_id)
    }

    /// The best paths of a family, in key order (prefix order for IP
    /// families).
    pub fn loc_rib(&self, family: Family) -> Box<dyn Iterator<Item = RouteView> + '_> {
        match self.families.get(&family) {
            None => Box::new(std::iter::empty()),
            Some(t) => each!(t, t => Box::new(t.loc_rib_from(&self.sh, None))),
        }
    }

    /// A page of [`Rib::loc_rib`]: at most `limit` best paths after the
    /// destination of `after` (from the start when `None`). Pass the last
    /// route's NLRI to get the next page.
    pub fn loc_rib_page(
        &self,
        family: Family,
        after: Option<Nlri<'_>>,
        limit: usize,
    ) -> Vec<RouteView> {
        match self.families.get(&family) {
            None => Vec::new(),
            Some(t) => each!(t, t => t.loc_rib_from(&self.sh, after).take(limit).collect()),
        }
    }

    /// The best path of the most specific prefix containing `addr`.
    pub fn longest_match(&self, family: Family, addr: IpAddr) -> Option<RouteView> {
        match (self.families.get(&family)?, addr) {
            (AnyFamily::V4(t), IpAddr::V4(a)) => t.longest_match_v4(&self.sh, a),
            (AnyFamily::V6(t), IpAddr::V6(a)) => t.longest_match_v6(&self.sh, a),
            _ => None,
        }
    }

    /// The best paths of `prefix` and every more specific prefix.
    pub fn more_specifics(
        &self,
        family: Family,
        prefix: IpNet,
    ) -> Box<dyn Iterator<Item = RouteView> + '_> {
        match (self.families.get(&family), prefix) {
            (Some(AnyFamily::V4(t)), IpNet::V4(p)) => {
                Box::new(t.more_specifics(&self.sh, p.into()))
            }
            (Some(AnyFamily::V6(t)), IpNet::V6(p)) => {
                Box::new(t.more_specifics(&self.sh, p.into()))
            }
            _ => Box::new(std::iter::empty()),
        }
    }

    /// A neighbor's routes of a family: after import policy (the paths it
    /// has in the tables), or before (when kept, else empty).
    pub fn adj_rib_in(&self, peer: PeerId, family: Family, pre_policy: bool) -> Vec<RouteView> {
        self.adj_rib_in_page(peer, family, pre_policy, None, usize::MAX)
    }

    /// A page of [`Rib::adj_rib_in`] in key order: the routes of the
    /// destinations after the one of `after` (from the start when `None`),
    /// at least `limit` when there are that many, never cut inside a
    /// destination (ADD-PATH gives one several routes). A table read in
    /// pages holds the RIB for a page at a time, and its reader holds a
    /// page of memory.
    pub fn adj_rib_in_page(
        &self,
        peer: PeerId,
        family: Family,
        pre_policy: bool,
        after: Option<Nlri<'_>>,
        limit: usize,
    ) -> Vec<RouteView> {
        match self.families.get(&family) {
            None => Vec::new(),
            Some(t) => {
                each!(t, t => t.adj_rib_in(&self.sh, peer.0, pre_policy, after, limit))
            }
        }
    }

    /// What was last sent to a neighbor for a family (see
    /// [`Rib::take_messages`]). Only hashes of what was sent are kept: the
    /// attributes shown are the current export, which differs from what
    /// was sent only while a change waits to be sent.
    pub fn adj_rib_out(&self, peer: PeerId, family: Family) -> Vec<RouteView> {
        self.adj_rib_out_page(peer, family, None, usize::MAX)
    }

    /// A page of [`Rib::adj_rib_out`], as [`Rib::adj_rib_in_page`] gives
    /// one of the Adj-RIB-In.
    pub fn adj_rib_out_page(
        &self,
        peer: PeerId,
        family: Family,
        after: Option<Nlri<'_>>,
        limit: usize,
    ) -> Vec<RouteView> {
        match self.families.get(&family) {
            None => Vec::new(),
            Some(t) => each!(t, t => t.adj_rib_out(&self.sh, peer.0, after, limit)),
        }
    }

    /// Sizes and counters.
    pub fn stats(&self) -> RibStats {
        let families = self
            .families
            .iter()
            .map(|(f, t)| {
                let (destinations, paths) = each!(t, t => t.sizes());
                FamilyStats {
                    family: *f,
                    destinations,
                    paths,
                }
            })
            .collect();
        let peers = self
            .sh
            .peers
            .iter()
            .enumerate()
            .filter_map(|(i, p)| {
                let p = p.as_ref()?;
                let id = u32::try_from(i).ok()?;
                let mut per: BTreeMap<Family, PeerFamilyStats> = p.counters.clone();
                for f in p.session.iter().flat_map(|s| s.families.iter()) {
                    per.entry(*f).or_insert(PeerFamilyStats {
                        family: Some(*f),
                        ..PeerFamilyStats::default()
                    });
                }
                for (f, c) in per.iter_mut() {
                    if let Some(t) = self.families.get(f) {
                        c.advertised = each!(t, t => t.advertised(id));
                    }
                }
                let families = per.into_values().collect();
                Some(PeerStats {
                    peer: PeerId(id),
                    address: p.config.address,
                    up: p.session.is_some(),
                    families,
                })
            })
            .collect();
        RibStats {
            families,
            attribute_sets: self.sh.interner.len(),
            peers,
        }
    }
}

/// Split a buffer of whole messages into one vector per message.
pub(crate) fn split_messages(buf: &[u8], out: &mut Vec<Vec<u8>>) {
    let mut rest = buf;
    while let Some(len) = rest
        .get(16..18)
        .and_then(|b| <[u8; 2]>::try_from(b).ok())
        .map(|b| usize::from(u16::from_be_bytes(b)))
    {
        let Some((msg, tail)) = (len >= ribbit_wire::HEADER_LEN)
            .then(|| rest.split_at_checked(len))
            .flatten()
        else {
            break;
        };
        out.push(msg.to_vec());
        rest = tail;
    }
}

/// An End-of-RIB marker for `family` (RFC 4724 §2).
pub(crate) fn end_of_rib(family: Family, ctx: &EncodeContext) -> Vec<u8> {
    ribbit_wire::Message::Update(Update::end_of_rib(family)).to_bytes(ctx)
}

/// Build a [`RouteView`] of a key.
pub(crate) fn view<K: RouteKey>(
    family: Family,
    key: &K,
    path_id: Option<u32>,
    extra: &K::Extra,
    attrs: AttrSet,
    peer: Option<PeerId>,
    stale: bool,
) -> RouteView {
    let mut nlri = NlriList::empty_for(family).unwrap_or(NlriList::Prefixes(Vec::new()));
    key.push_nlri(family, path_id, extra, &mut nlri);
    RouteView {
        family,
        nlri,
        path_id,
        attrs,
        peer,
        stale,
    }
}

/// The import policy of a neighbor applied to one route: `attrs` after
/// the import rules, interned as `set`.
pub(crate) fn import_policy(
    sh: &mut Shared,
    peer: u32,
    family: Family,
    prefix: Option<IpNet>,
    attrs: Option<&RouteAttrs>,
    set: &WireSet,
) -> Option<WireSet> {
    let p = sh.peer(peer)?;
    if p.config.import.is_pass_through() {
        return Some(set.clone());
    }
    let subject = Subject {
        family,
        prefix,
        peer: &p.facts,
        source: Some(&p.facts),
    };
    let decoded;
    let attrs = match attrs {
        Some(a) => a,
        None => {
            decoded = set.attributes();
            &decoded
        }
    };
    match p.config.import.apply(&subject, attrs) {
        Outcome::Reject => None,
        Outcome::Accept(None) => Some(set.clone()),
        Outcome::Accept(Some(changed)) => Some(sh.interner.intern(&changed)),
    }
}

/// The prefix limit of a neighbor for a family, if any.
pub(crate) fn max_prefix(p: &PeerState, family: Family) -> Option<MaxPrefix> {
    p.config
        .max_prefix
        .iter()
        .find(|m| m.family == Some(family))
        .or_else(|| p.config.max_prefix.iter().find(|m| m.family.is_none()))
        .copied()
}

#[cfg(test)]
#[path = "rib_tests.rs"]
pub(crate) mod tests;

#[cfg(test)]
#[path = "rib_inject_tests.rs"]
mod inject_tests;

#[cfg(test)]
#[path = "rib_flow_tests.rs"]
mod flow_tests;
