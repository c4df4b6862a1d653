//! `ribbit-wire`: the BGP-4 wire codec of Ribbit.
//!
//! Every message of RFC 4271 (OPEN, UPDATE, NOTIFICATION, KEEPALIVE) and
//! ROUTE-REFRESH (RFC 2918, RFC 7313), the capabilities and path attributes in
//! common use, and the NLRI of unicast, multicast, labeled, VPN and Flowspec
//! families, decoded and encoded. Decoding is strict and follows the
//! negotiated session ([`DecodeContext`]); it never panics on any input and
//! reports errors with the NOTIFICATION or RFC 7606 action they call for.
//!
//! This crate opens no socket and spawns nothing.
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic
    )
)]

pub mod attribute;
pub mod capability;
pub mod context;
pub mod error;
pub mod family;
pub mod message;
pub mod nlri;
pub mod notification;
pub mod open;
pub mod pack;
pub mod reader;
pub mod route_refresh;
#[cfg(test)]
mod testing;
pub mod text;
pub mod update;

pub use attribute::{AsPath, Origin, PathAttributes};
pub use capability::Capability;
pub use context::{DecodeContext, EncodeContext};
pub use error::{Action, AttributeIssue, DecodeError, Reason};
pub use family::{Afi, Family, FamilySet, Safi};
pub use message::{Message, MessageType, HEADER_LEN, MARKER};
pub use nlri::{Nlri, NlriList, Prefix};
pub use notification::Notification;
pub use open::Open;
pub use pack::{AttributesView, EncodedAttributes, UpdatePacker};
pub use route_refresh::RouteRefresh;
pub use update::{MpNlri, MpReach, MpUnreach, NextHop, Update};
