//! `ribbit-rib`: the routing tables of Ribbit, without I/O.
//!
//! [`Rib`] is the whole of it: the runtime adds neighbors, reports their
//! sessions going up and down, hands over decoded UPDATEs
//! ([`Rib::apply_update`]) and pulls the encoded messages each neighbor is
//! due ([`Rib::take_messages`]). Inside:
//! - every path of every neighbor, per destination, in compact per-family
//!   tables (IPv4 and IPv6 prefixes as fixed-size keys, other families by
//!   their NLRI bytes), the best one first: the Adj-RIBs-In after policy
//!   and the Loc-RIB in one structure, with an optional pre-policy copy;
//! - the decision process ([`decision::best_path`], RFC 4271 §9.1.2.2 by
//!   elimination, independent of arrival order), rerun for a destination
//!   whenever one of its paths changes;
//! - attribute sets interned once ([`intern::Interner`]), each with its
//!   wire encoding cached for re-sending;
//! - the import rules (loops, LOCAL_PREF from eBGP, BLACKHOLE, RFC 9234
//!   route leaks, prefix limits), the export rules (eBGP, iBGP, route
//!   reflection, route server, well-known communities, OTC), and the
//!   neighbors' policies ([`policy::PolicyChain`]);
//! - per neighbor, an Adj-RIB-Out holding only what was last sent per
//!   destination, and what is due: changed destinations plus a walk of the
//!   table after a session comes up or a ROUTE-REFRESH;
//! - graceful restart (stale paths, End-of-RIB, long-lived stale).

mod chunk_map;
pub mod decision;
mod export;
mod family_rib;
mod fast_hash;
pub mod intern;
mod key;
pub mod policy;
pub mod prefix;
pub mod rib;
pub mod route;
mod table;

pub use decision::{best_path, Candidate, Decision, DecisionOptions, PathFacts, PeerInfo, Step};
pub use intern::{AttrSet, Facts, Interner, WireSet};
pub use policy::{Outcome, PeerFacts, PolicyChain, Subject, Verdict};
pub use prefix::{AnyKey, PrefixKey, PrefixTable, V4Key, V6Key};
pub use rib::{
    AddPathSend, BlackholeAction, DestinationView, FamilyStats, GracefulDown, Ineligible,
    MaxPrefix, MaxPrefixAction, MaxPrefixHit, PathView, PeerConfig, PeerFamilyStats, PeerId,
    PeerStats, Reconfigured, Rib, RibOptions, RibStats, RouteView, SessionInfo, UpdateReport,
};
pub use route::RouteAttrs;
