//! `ribbit-fsm`: the BGP session state machine of Ribbit (RFC 4271 §8),
//! with OPEN negotiation and connection collision detection, and no I/O.
//!
//! A [`Session`] takes [`Input`]s and the current time and produces
//! [`Output`]s: bytes to send, connections to open or close, state changes,
//! decoded UPDATEs. The tokio driver in the `ribbit` crate carries them out;
//! tests drive it directly, through every event sequence, in microseconds.

pub mod negotiate;
pub mod session;

pub use negotiate::{negotiate, LocalSettings, Negotiated, PeerGracefulRestart};
pub use session::{ConnId, Direction, DownReason, Input, Output, Session, SessionConfig, State};
