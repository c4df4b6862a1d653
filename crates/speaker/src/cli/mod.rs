//! The subcommands of the `ribbit` binary.

pub mod decode;
pub mod encode;
pub mod input;
pub mod mrt;
pub mod run;
