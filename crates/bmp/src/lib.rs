//! `ribbit-bmp`: BGP Monitoring Protocol version 3 (RFC 7854), with the
//! Adj-RIB-Out of RFC 8671 and the Loc-RIB of RFC 9069, encoded and decoded.
//!
//! A BMP session is a TCP stream from the monitored router to a collector:
//! one Initiation, then any number of Peer Up, Route Monitoring, Statistics
//! Report and Peer Down messages, and a Termination. Every message starts
//! with the common header (RFC 7854 §4.1):
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |    Version    |         Message Length (whole message)        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  (length...)  |   Msg. Type   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! The messages about one peer follow with the per-peer header
//! ([`PeerHeader`]). BGP PDUs inside BMP messages (UPDATEs, OPENs,
//! NOTIFICATIONs) are carried as whole BGP messages, header included, and
//! kept here as bytes: decoding them needs the session's context (4-octet
//! AS, ADD-PATH), which is `ribbit-wire`'s business.
//!
//! [`decode`] reads one message from a byte slice and never panics on any
//! input; [`frame_len`] tells a stream reader how long the next one is.
//! [`Message::encode`] writes one. Nothing here opens a socket.
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

mod error;
mod message;
#[cfg(test)]
mod tests;

pub use error::Error;
pub use message::{
    decode, frame_len, Message, MessageType, PeerDownReason, PeerHeader, PeerType, PeerUp, Stat,
    StatValue, Tlv,
};

/// The BMP version this crate speaks (RFC 7854 §4.1).
pub const VERSION: u8 = 3;
/// Bytes of the common header.
pub const COMMON_HEADER_LEN: usize = 6;
/// Bytes of the per-peer header (RFC 7854 §4.2).
pub const PER_PEER_HEADER_LEN: usize = 42;
/// The longest message [`decode`] and [`frame_len`] accept: a Peer Up with
/// two extended (RFC 8654) OPENs and its TLVs fits well within it, and a
/// garbled length cannot make a reader wait for gigabytes.
pub const MAX_MESSAGE_LEN: u32 = 1 << 20;

/// Per-peer header flags (RFC 7854 §4.2, RFC 8671 §4, RFC 9069 §4.2).
pub mod flags {
    /// V: the peer address is IPv6.
    pub const V: u8 = 0x80;
    /// L: post-policy (after import policy; or, with [`O`], after export
    /// policy).
    pub const L: u8 = 0x40;
    /// A: the UPDATEs use the legacy 2-octet AS_PATH.
    pub const A: u8 = 0x20;
    /// O: Adj-RIB-Out (RFC 8671) rather than Adj-RIB-In.
    pub const O: u8 = 0x10;
    /// F: on a Loc-RIB peer (type 3), the Loc-RIB is filtered (RFC 9069
    /// §4.2). Same bit as [`V`], which Loc-RIB peers do not use.
    pub const F: u8 = 0x80;
}

/// Information TLV types of Initiation, Peer Up and Termination messages.
pub mod info {
    /// Free-form UTF-8 string (RFC 7854 §4.4).
    pub const STRING: u16 = 0;
    /// sysDescr (Initiation; RFC 7854 §4.4).
    pub const SYS_DESCR: u16 = 1;
    /// sysName (Initiation; RFC 7854 §4.4).
    pub const SYS_NAME: u16 = 2;
    /// VRF/Table name (Peer Up; RFC 9069 §5.3).
    pub const VRF_TABLE_NAME: u16 = 3;
    /// Termination reason, 2 bytes (RFC 7854 §4.5).
    pub const TERMINATION_REASON: u16 = 1;
}

/// Termination reasons (RFC 7854 §4.5).
pub mod termination {
    /// Session administratively closed.
    pub const ADMIN_CLOSE: u16 = 0;
    /// Unspecified reason.
    pub const UNSPECIFIED: u16 = 1;
    /// Out of resources.
    pub const OUT_OF_RESOURCES: u16 = 2;
    /// Redundant connection.
    pub const REDUNDANT: u16 = 3;
    /// Session permanently administratively closed.
    pub const PERMANENT_ADMIN_CLOSE: u16 = 4;
}

/// Statistics types (RFC 7854 §4.8, RFC 8671 §5).
pub mod stat {
    /// Prefixes rejected by inbound policy (32-bit counter).
    pub const REJECTED: u16 = 0;
    /// Duplicate prefix advertisements (32-bit counter).
    pub const DUPLICATE_PREFIX: u16 = 1;
    /// Duplicate withdraws (32-bit counter).
    pub const DUPLICATE_WITHDRAW: u16 = 2;
    /// Updates invalidated by a CLUSTER_LIST loop (32-bit counter).
    pub const CLUSTER_LIST_LOOP: u16 = 3;
    /// Updates invalidated by an AS_PATH loop (32-bit counter).
    pub const AS_PATH_LOOP: u16 = 4;
    /// Updates invalidated by ORIGINATOR_ID (32-bit counter).
    pub const ORIGINATOR_ID: u16 = 5;
    /// Updates invalidated by an AS_CONFED loop (32-bit counter).
    pub const AS_CONFED_LOOP: u16 = 6;
    /// Routes in the Adj-RIBs-In (64-bit gauge).
    pub const ADJ_RIB_IN: u16 = 7;
    /// Routes in the Loc-RIB (64-bit gauge).
    pub const LOC_RIB: u16 = 8;
    /// Routes in the Adj-RIB-In per AFI/SAFI.
    pub const ADJ_RIB_IN_PER_AFI_SAFI: u16 = 9;
    /// Routes in the Loc-RIB per AFI/SAFI.
    pub const LOC_RIB_PER_AFI_SAFI: u16 = 10;
    /// Updates treated as withdraw (RFC 7606; 32-bit counter).
    pub const TREAT_AS_WITHDRAW: u16 = 11;
    /// Prefixes treated as withdraw (32-bit counter).
    pub const PREFIXES_TREAT_AS_WITHDRAW: u16 = 12;
    /// Duplicate update messages (32-bit counter).
    pub const DUPLICATE_UPDATE: u16 = 13;
    /// Routes in the pre-policy Adj-RIB-Out (RFC 8671; 64-bit gauge).
    pub const ADJ_RIB_OUT_PRE: u16 = 14;
    /// Routes in the post-policy Adj-RIB-Out (RFC 8671; 64-bit gauge).
    pub const ADJ_RIB_OUT_POST: u16 = 15;
    /// Routes in the pre-policy Adj-RIB-Out per AFI/SAFI (RFC 8671).
    pub const ADJ_RIB_OUT_PRE_PER_AFI_SAFI: u16 = 16;
    /// Routes in the post-policy Adj-RIB-Out per AFI/SAFI (RFC 8671).
    pub const ADJ_RIB_OUT_POST_PER_AFI_SAFI: u16 = 17;
}
