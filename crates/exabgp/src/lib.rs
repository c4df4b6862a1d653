//! `ribbit-exabgp`: ExaBGP compatibility for Ribbit.
//!
//! Programs written for ExaBGP talk to it in two ways: they print commands
//! (`announce route 10.0.0.0/24 next-hop self`) and they read the JSON that
//! ExaBGP prints for every message it receives. This crate speaks both, so
//! that such programs run unchanged against Ribbit:
//!
//! - [`json`]: BGP messages in ExaBGP's API v4 JSON form;
//! - [`text`]: the API text commands, parsed and encoded into UPDATEs.

pub mod json;
pub mod text;
