//! Ribbit: a programmable BGP speaker and route server.
//!
//! This crate is the only one of Ribbit's that does I/O. For now it holds
//! the command line tools over the codec: `ribbit decode` and `ribbit encode`,
//! and Ribbit's JSON form of BGP messages ([`json`]).

pub mod announce;
pub mod api;
pub mod bmp;
pub mod builder;
pub mod cli;
pub mod config;
pub mod event_thread;
pub mod json;
pub mod mrt_dump;
pub mod mrt_routes;
pub mod net;
pub mod peer;
pub mod process;
pub mod reload;
pub mod rib_task;
pub mod rib_view;
pub mod route;
pub mod speaker;
pub mod speaker_api;
pub mod tap;

pub use builder::{Neighbor, SpeakerBuilder};
pub use speaker::Speaker;
