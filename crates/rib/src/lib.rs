//! `ribbit-rib`: the routing tables of Ribbit, without I/O.
//!
//! [`Rib`] is the whole of it. The runtime adds neighbors
//! ([`Rib::add_peer`]), reports their sessions going up and down
//! ([`Rib::peer_up`], [`Rib::peer_down`]), hands over decoded UPDATEs
//! ([`Rib::apply_update`]) and pulls, per neighbor and when its socket has
//! room, the encoded messages it is due ([`Rib::take_messages`]). Inside:
//!
//! - Per family, one table of destinations (IPv4 and IPv6 prefixes as
//!   fixed-size keys, labeled, VPN and Flowspec by their NLRI bytes, in
//!   dense sorted runs, `chunk_map`). A destination holds every path every
//!   neighbor sent for it (16 bytes each, one inline without allocation),
//!   the best one flagged: the Adj-RIBs-In after policy and the Loc-RIB
//!   are one structure. A pre-policy copy is kept per neighbor on request
//!   (soft reconfiguration).
//! - Attribute sets are interned once each, in wire form (next hop and
//!   encoded attributes in one allocation, [`intern::WireSet`]); the values
//!   the decision compares are read from the bytes, and the decoded form
//!   is made on demand for policies and queries.
//! - The decision ([`decision::best_path`], RFC 4271 §9.1.2.2 by
//!   elimination, independent of arrival order) runs again for a
//!   destination whenever one of its paths changes.
//! - Import rules: LOCAL_PREF from eBGP ignored, loops (own AS with
//!   allow-own-as, ORIGINATOR_ID, CLUSTER_ID), BLACKHOLE, RFC 9234 route
//!   leaks, RFC 7606 treat-as-withdraw, prefix limits, then the import
//!   policy ([`policy::PolicyChain`]).
//! - Export rules (eBGP, iBGP, route reflection, route server, well-known
//!   communities, OTC) decided per attribute set and applied to the wire
//!   form directly, then the export policy.
//! - Per neighbor and family, the Adj-RIB-Out keeps a 64-bit hash of what
//!   was last sent per destination (and path identifier), and what is due
//!   is what one change log per family holds past the neighbor's cursor
//!   plus, after the session comes up or a ROUTE-REFRESH, a cursor walking
//!   the table. A destination that changes many times before it is sent is
//!   sent once, in its latest state.
//! - Routes injected for a neighbor ([`Rib::inject`]: a program's
//!   announcements, static routes), with ExaBGP's semantics, sent through
//!   the same machinery.
//! - ADD-PATH receive and send (best N or all), graceful restart (stale
//!   paths, End-of-RIB, long-lived stale), locally originated routes, and
//!   queries (destination with the decision's reasons, Loc-RIB pages,
//!   longest match, more-specifics, Adj-RIB-In/Out, counters).
//!
//! `tests/full_table.rs` measures a full table through it.

mod chunk_map;
pub mod decision;
mod dests;
mod export;
mod family_rib;
mod fast_hash;
pub mod flow_validation;
pub mod intern;
mod key;
pub mod policy;
pub mod prefix;
pub mod rib;
pub mod route;
mod table;

pub use decision::{best_path, Candidate, Decision, DecisionOptions, PathFacts, PeerInfo, Step};
pub use intern::{AttrSet, Facts, Interner, WireSet};
pub use policy::{Outcome, PeerFacts, Policies, Policy, PolicyChain, Subject, Verdict};
pub use prefix::{AnyKey, PrefixKey, PrefixTable, V4Key, V6Key};
pub use rib::{
    AddPathSend, BlackholeAction, DestinationView, ExportMemo, FamilyStats, GracefulDown,
    Ineligible, InjectError, InjectNextHop, InjectedRoute, Injection, MaxPrefix, MaxPrefixAction,
    MaxPrefixHit, PathView, PeerConfig, PeerFamilyStats, PeerId, PeerStats, Reconfigured, Rib,
    RibOptions, RibStats, RouteView, SessionInfo, UpdateReport,
};
pub use route::RouteAttrs;
