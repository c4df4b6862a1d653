//! The subcommands of the `ribbit` binary.

pub mod decode;
pub mod encode;
pub mod input;
pub mod run;
