//! What the negotiated session changes about the bytes on the wire.
//!
//! BGP messages are not self-describing: whether an AS number takes two or
//! four octets, whether a prefix is preceded by an ADD-PATH path identifier,
//! and how long a message may be all depend on what the two speakers agreed in
//! their OPENs. The codec never guesses: the session passes these settings in.

use crate::family::{Family, FamilySet};
use crate::message::{MAX_EXTENDED_MESSAGE_LEN, MAX_MESSAGE_LEN};

/// Settings for decoding messages received on a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DecodeContext {
    /// Both sides announced the 4-octet AS capability (RFC 6793): AS_PATH and
    /// AGGREGATOR carry 4-octet AS numbers.
    pub four_octet_as: bool,
    /// Families for which we negotiated to receive ADD-PATH path identifiers
    /// (RFC 7911: we said "receive" and the peer said "send").
    pub add_path: FamilySet,
    /// We announced the Extended Message capability (RFC 8654), so UPDATE and
    /// ROUTE-REFRESH messages up to 65535 bytes are acceptable.
    pub extended_message: bool,
}

impl Default for DecodeContext {
    /// A modern session: 4-octet AS, no ADD-PATH, 4096-byte messages.
    fn default() -> Self {
        DecodeContext {
            four_octet_as: true,
            add_path: FamilySet::EMPTY,
            extended_message: false,
        }
    }
}

impl DecodeContext {
    /// Whether NLRI of `family` carry a path identifier.
    #[inline]
    pub fn add_path(&self, family: Family) -> bool {
        self.add_path.contains(family)
    }

    /// The largest UPDATE or ROUTE-REFRESH we accept. OPEN, KEEPALIVE and
    /// NOTIFICATION stay limited to 4096 bytes (RFC 8654 §3).
    pub fn max_message_len(&self) -> usize {
        if self.extended_message {
            MAX_EXTENDED_MESSAGE_LEN
        } else {
            MAX_MESSAGE_LEN
        }
    }
}

/// Settings for encoding messages sent on a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EncodeContext {
    /// Both sides announced the 4-octet AS capability. When false, AS_PATH is
    /// written with 2-octet AS numbers, AS_TRANS stands for the ones that do
    /// not fit, and AS4_PATH / AS4_AGGREGATOR carry the real ones (RFC 6793 §4.2.2).
    pub four_octet_as: bool,
    /// Families for which we negotiated to send ADD-PATH path identifiers.
    pub add_path: FamilySet,
    /// The peer announced the Extended Message capability (RFC 8654), so we
    /// may send UPDATEs up to 65535 bytes.
    pub extended_message: bool,
}

impl Default for EncodeContext {
    /// A modern session: 4-octet AS, no ADD-PATH, 4096-byte messages.
    fn default() -> Self {
        EncodeContext {
            four_octet_as: true,
            add_path: FamilySet::EMPTY,
            extended_message: false,
        }
    }
}

impl EncodeContext {
    /// Whether NLRI of `family` carry a path identifier.
    #[inline]
    pub fn add_path(&self, family: Family) -> bool {
        self.add_path.contains(family)
    }

    /// The largest UPDATE we may send.
    pub fn max_message_len(&self) -> usize {
        if self.extended_message {
            MAX_EXTENDED_MESSAGE_LEN
        } else {
            MAX_MESSAGE_LEN
        }
    }

    /// The decode context that reads back what this context writes: what one
    /// side sends with, the other receives with.
    pub fn mirror(&self) -> DecodeContext {
        DecodeContext {
            four_octet_as: self.four_octet_as,
            add_path: self.add_path,
            extended_message: self.extended_message,
        }
    }
}
