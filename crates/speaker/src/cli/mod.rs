//! The subcommands of the `ribbit` binary.

pub mod client;
pub mod control;
pub mod decode;
pub mod demo;
pub mod encode;
pub mod healthcheck;
pub mod input;
pub mod monitor;
pub mod mrt;
pub mod neighbor;
pub mod rib;
pub mod run;
pub mod stats;
pub mod view;
