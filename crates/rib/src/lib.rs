//! `ribbit-rib`: the routing tables of Ribbit, without I/O.
//!
//! So far: the decision process ([`decision::best_path`]), which picks the
//! best of the paths to one destination by eliminating candidates step by
//! step as RFC 4271 §9.1.2.2 describes, so that the answer never depends on
//! the order the paths arrived in; and the attribute interner
//! ([`intern::Interner`]) that stores each distinct attribute set once; and
//! compact prefix keys in an ordered table ([`prefix::PrefixTable`]) with
//! longest-prefix match and more-specifics walks. The tables themselves
//! (Adj-RIB-In, Loc-RIB, Adj-RIB-Out) come next.

pub mod decision;
pub mod intern;
pub mod policy;
pub mod prefix;
pub mod route;

pub use decision::{best_path, Candidate, Decision, DecisionOptions, PeerInfo, Step};
pub use intern::{AttrSet, Interner};
pub use policy::{Outcome, PeerFacts, Policies, Policy, PolicyChain, Subject, Verdict};
pub use prefix::{AnyKey, PrefixKey, PrefixTable, V4Key, V6Key};
pub use route::RouteAttrs;
