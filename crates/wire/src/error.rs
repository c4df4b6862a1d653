//! Typed decode errors and what RFC 4271 §6 and RFC 7606 say to do about them.
//!
//! A [`DecodeError`] is fatal for the session: it carries the NOTIFICATION
//! (code, subcode, data) that must be sent before closing. Errors inside an
//! UPDATE's path attributes that RFC 7606 allows to survive are not
//! `DecodeError`s: they are [`AttributeIssue`]s reported beside the decoded
//! update, with the [`Action`] the receiver must take.

use crate::notification::Notification;
use crate::reader::Truncated;

/// What a receiver must do about an error in an UPDATE (RFC 7606 §2), from
/// the weakest to the strongest: when several errors occur the strongest wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    /// Drop the attribute, keep the routes (RFC 7606 §2 "attribute discard").
    AttributeDiscard,
    /// Handle every route the UPDATE announces as withdrawn (RFC 7606 §2).
    TreatAsWithdraw,
    /// Send the NOTIFICATION and reset the session (RFC 4271 §6.3).
    SessionReset,
}

/// Why a message could not be decoded. Each variant maps to exactly one
/// NOTIFICATION code and subcode (RFC 4271 §4.5, §6).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Reason {
    /// The 16-byte marker is not all ones (§6.1: Connection Not Synchronized).
    #[error("the marker is not sixteen 0xff bytes")]
    BadMarker,
    /// The length field is out of range for the message type (§6.1).
    #[error("message length {length} is not allowed here (at most {max})")]
    BadLength {
        /// The length field's value.
        length: u16,
        /// The largest length allowed in this context.
        max: u16,
    },
    /// Unknown message type (§6.1).
    #[error("unknown message type {0}")]
    BadType(u8),
    /// OPEN with a version other than 4 (§6.2).
    #[error("unsupported BGP version {0} (only 4 is spoken)")]
    UnsupportedVersion(u8),
    /// OPEN with an invalid BGP Identifier (§6.2, RFC 6286).
    #[error("invalid BGP identifier {0}")]
    BadBgpIdentifier(std::net::Ipv4Addr),
    /// OPEN hold time of 1 or 2 seconds (§6.2).
    #[error("unacceptable hold time {0} (must be 0 or at least 3)")]
    UnacceptableHoldTime(u16),
    /// OPEN optional parameter that is not a capability (§6.2, RFC 5492).
    #[error("unsupported optional parameter type {0}")]
    UnsupportedOptionalParameter(u8),
    /// OPEN whose fields contradict their lengths (§6.2, no subcode).
    #[error("malformed OPEN: {0}")]
    MalformedOpen(&'static str),
    /// UPDATE whose length fields do not add up (§6.3).
    #[error("malformed attribute list: {0}")]
    MalformedAttributeList(&'static str),
    /// A well-known attribute that Ribbit does not know (§6.3).
    #[error("unrecognized well-known attribute {0}")]
    UnrecognizedWellKnown(u8),
    /// A mandatory well-known attribute is missing (§6.3).
    #[error("missing well-known attribute {0}")]
    MissingWellKnown(u8),
    /// Attribute flags that contradict the attribute type (§6.3).
    #[error("attribute {type_code} has wrong flags {flags:#04x}")]
    AttributeFlags {
        /// Attribute type code.
        type_code: u8,
        /// The flags received.
        flags: u8,
    },
    /// Attribute length that is wrong for the attribute type (§6.3).
    #[error("attribute {type_code} has wrong length {length}")]
    AttributeLength {
        /// Attribute type code.
        type_code: u8,
        /// The length received.
        length: u16,
    },
    /// ORIGIN with an undefined value (§6.3).
    #[error("invalid ORIGIN {0}")]
    InvalidOrigin(u8),
    /// Syntactically invalid NEXT_HOP (§6.3).
    #[error("invalid NEXT_HOP: {0}")]
    InvalidNextHop(&'static str),
    /// An optional attribute that is recognised but malformed (§6.3).
    #[error("malformed optional attribute {type_code}: {detail}")]
    OptionalAttribute {
        /// Attribute type code.
        type_code: u8,
        /// What was wrong.
        detail: &'static str,
    },
    /// NLRI that cannot be parsed (§6.3 Invalid Network Field).
    #[error("invalid NLRI: {0}")]
    InvalidNetwork(&'static str),
    /// Malformed AS_PATH (§6.3).
    #[error("malformed AS_PATH: {0}")]
    MalformedAsPath(&'static str),
    /// A field shorter than its content (the subcode depends on the message).
    #[error("{what} truncated ({cause})")]
    Truncated {
        /// Which field.
        what: &'static str,
        /// Where and by how much.
        cause: Truncated,
        /// The NOTIFICATION code and subcode that apply in this context.
        code: (u8, u8),
    },
    /// ROUTE-REFRESH of the wrong length (RFC 7313 §5).
    #[error("ROUTE-REFRESH has invalid length {0}")]
    BadRouteRefreshLength(u16),
    /// A NOTIFICATION too short to hold its code and subcode. RFC 4271 §6.4
    /// says a NOTIFICATION is never answered with one; the session just closes.
    #[error("NOTIFICATION too short")]
    ShortNotification,
}

impl Reason {
    /// The NOTIFICATION code and subcode that RFC 4271 §6 prescribes.
    pub fn code(&self) -> (u8, u8) {
        use crate::notification::{code, subcode};
        match self {
            Reason::BadMarker => (code::MESSAGE_HEADER, subcode::CONNECTION_NOT_SYNCHRONIZED),
            Reason::BadLength { .. } | Reason::ShortNotification => {
                (code::MESSAGE_HEADER, subcode::BAD_MESSAGE_LENGTH)
            }
            Reason::BadType(_) => (code::MESSAGE_HEADER, subcode::BAD_MESSAGE_TYPE),
            Reason::UnsupportedVersion(_) => (code::OPEN, subcode::UNSUPPORTED_VERSION),
            Reason::BadBgpIdentifier(_) => (code::OPEN, subcode::BAD_BGP_IDENTIFIER),
            Reason::UnacceptableHoldTime(_) => (code::OPEN, subcode::UNACCEPTABLE_HOLD_TIME),
            Reason::UnsupportedOptionalParameter(_) => {
                (code::OPEN, subcode::UNSUPPORTED_OPTIONAL_PARAMETER)
            }
            Reason::MalformedOpen(_) => (code::OPEN, 0),
            Reason::MalformedAttributeList(_) => (code::UPDATE, subcode::MALFORMED_ATTRIBUTE_LIST),
            Reason::UnrecognizedWellKnown(_) => (code::UPDATE, subcode::UNRECOGNIZED_WELL_KNOWN),
            Reason::MissingWellKnown(_) => (code::UPDATE, subcode::MISSING_WELL_KNOWN),
            Reason::AttributeFlags { .. } => (code::UPDATE, subcode::ATTRIBUTE_FLAGS_ERROR),
            Reason::AttributeLength { .. } => (code::UPDATE, subcode::ATTRIBUTE_LENGTH_ERROR),
            Reason::InvalidOrigin(_) => (code::UPDATE, subcode::INVALID_ORIGIN),
            Reason::InvalidNextHop(_) => (code::UPDATE, subcode::INVALID_NEXT_HOP),
            Reason::OptionalAttribute { .. } => (code::UPDATE, subcode::OPTIONAL_ATTRIBUTE_ERROR),
            Reason::InvalidNetwork(_) => (code::UPDATE, subcode::INVALID_NETWORK_FIELD),
            Reason::MalformedAsPath(_) => (code::UPDATE, subcode::MALFORMED_AS_PATH),
            Reason::Truncated { code, .. } => *code,
            Reason::BadRouteRefreshLength(_) => {
                (code::ROUTE_REFRESH, subcode::INVALID_ROUTE_REFRESH_LENGTH)
            }
        }
    }
}

/// A message that cannot be accepted: the session must be reset with
/// [`DecodeError::notification`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("byte {offset}: {reason}")]
pub struct DecodeError {
    /// Offset of the offending byte from the start of the message (marker included).
    pub offset: usize,
    /// What was wrong.
    pub reason: Reason,
    /// The NOTIFICATION data field RFC 4271 §6 asks for (often the offending bytes).
    pub data: Vec<u8>,
}

impl DecodeError {
    /// An error at `offset` with empty NOTIFICATION data.
    pub fn new(offset: usize, reason: Reason) -> Self {
        DecodeError {
            offset,
            reason,
            data: Vec::new(),
        }
    }

    /// Attach the NOTIFICATION data field.
    pub fn with_data(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.data = data.into();
        self
    }

    /// A truncation, with the NOTIFICATION code that applies where it happened.
    pub fn truncated(what: &'static str, cause: Truncated, code: (u8, u8)) -> Self {
        DecodeError::new(cause.offset, Reason::Truncated { what, cause, code })
    }

    /// Whether RFC 4271 §6.4 forbids answering with a NOTIFICATION.
    pub fn is_silent(&self) -> bool {
        matches!(self.reason, Reason::ShortNotification)
    }

    /// The NOTIFICATION to send before closing the session.
    pub fn notification(&self) -> Notification {
        let (code, subcode) = self.reason.code();
        Notification::new(code, subcode, self.data.clone())
    }
}

/// An error in one path attribute that RFC 7606 lets the session survive.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("byte {offset}: {reason} ({action:?})")]
pub struct AttributeIssue {
    /// Offset of the attribute from the start of the message.
    pub offset: usize,
    /// The attribute type code.
    pub type_code: u8,
    /// What was wrong (as the NOTIFICATION would have said it).
    pub reason: Reason,
    /// What the receiver must do.
    pub action: Action,
}
