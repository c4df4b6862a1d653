//! NOTIFICATION messages (RFC 4271 §4.5) and their codes, with the shutdown
//! communication of RFC 8203 / RFC 9003.
//!
//! ```text
//!  0                   1                   2                   3
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  | Error code    | Error subcode |   Data (variable)             |
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use crate::error::{DecodeError, Reason};
use crate::reader::Reader;

/// Error codes (RFC 4271 §4.5, RFC 7313 §5, RFC 9687).
pub mod code {
    /// Message Header Error.
    pub const MESSAGE_HEADER: u8 = 1;
    /// OPEN Message Error.
    pub const OPEN: u8 = 2;
    /// UPDATE Message Error.
    pub const UPDATE: u8 = 3;
    /// Hold Timer Expired.
    pub const HOLD_TIMER_EXPIRED: u8 = 4;
    /// Finite State Machine Error.
    pub const FSM: u8 = 5;
    /// Cease.
    pub const CEASE: u8 = 6;
    /// ROUTE-REFRESH Message Error (RFC 7313).
    pub const ROUTE_REFRESH: u8 = 7;
    /// Send Hold Timer Expired (RFC 9687).
    pub const SEND_HOLD_TIMER_EXPIRED: u8 = 8;
}

/// Error subcodes, grouped by the code they belong to.
pub mod subcode {
    /// 1/1
    pub const CONNECTION_NOT_SYNCHRONIZED: u8 = 1;
    /// 1/2
    pub const BAD_MESSAGE_LENGTH: u8 = 2;
    /// 1/3
    pub const BAD_MESSAGE_TYPE: u8 = 3;
    /// 2/1
    pub const UNSUPPORTED_VERSION: u8 = 1;
    /// 2/2
    pub const BAD_PEER_AS: u8 = 2;
    /// 2/3
    pub const BAD_BGP_IDENTIFIER: u8 = 3;
    /// 2/4
    pub const UNSUPPORTED_OPTIONAL_PARAMETER: u8 = 4;
    /// 2/6
    pub const UNACCEPTABLE_HOLD_TIME: u8 = 6;
    /// 2/7 (RFC 5492)
    pub const UNSUPPORTED_CAPABILITY: u8 = 7;
    /// 2/11 (RFC 9234)
    pub const ROLE_MISMATCH: u8 = 11;
    /// 3/1
    pub const MALFORMED_ATTRIBUTE_LIST: u8 = 1;
    /// 3/2
    pub const UNRECOGNIZED_WELL_KNOWN: u8 = 2;
    /// 3/3
    pub const MISSING_WELL_KNOWN: u8 = 3;
    /// 3/4
    pub const ATTRIBUTE_FLAGS_ERROR: u8 = 4;
    /// 3/5
    pub const ATTRIBUTE_LENGTH_ERROR: u8 = 5;
    /// 3/6
    pub const INVALID_ORIGIN: u8 = 6;
    /// 3/8
    pub const INVALID_NEXT_HOP: u8 = 8;
    /// 3/9
    pub const OPTIONAL_ATTRIBUTE_ERROR: u8 = 9;
    /// 3/10
    pub const INVALID_NETWORK_FIELD: u8 = 10;
    /// 3/11
    pub const MALFORMED_AS_PATH: u8 = 11;
    /// 5/1 (RFC 6608)
    pub const FSM_UNEXPECTED_IN_OPENSENT: u8 = 1;
    /// 5/2 (RFC 6608)
    pub const FSM_UNEXPECTED_IN_OPENCONFIRM: u8 = 2;
    /// 5/3 (RFC 6608)
    pub const FSM_UNEXPECTED_IN_ESTABLISHED: u8 = 3;
    /// 6/1 (RFC 4486)
    pub const MAX_PREFIXES_REACHED: u8 = 1;
    /// 6/2 (RFC 4486, RFC 9003)
    pub const ADMINISTRATIVE_SHUTDOWN: u8 = 2;
    /// 6/3
    pub const PEER_DECONFIGURED: u8 = 3;
    /// 6/4 (RFC 4486, RFC 9003)
    pub const ADMINISTRATIVE_RESET: u8 = 4;
    /// 6/5
    pub const CONNECTION_REJECTED: u8 = 5;
    /// 6/6
    pub const OTHER_CONFIGURATION_CHANGE: u8 = 6;
    /// 6/7
    pub const CONNECTION_COLLISION_RESOLUTION: u8 = 7;
    /// 6/8
    pub const OUT_OF_RESOURCES: u8 = 8;
    /// 6/9 (RFC 8538)
    pub const HARD_RESET: u8 = 9;
    /// 6/10 (RFC 9384)
    pub const BFD_DOWN: u8 = 10;
    /// 7/1 (RFC 7313)
    pub const INVALID_ROUTE_REFRESH_LENGTH: u8 = 1;
}

/// The name of an error code.
pub fn code_name(code: u8) -> &'static str {
    match code {
        1 => "Message Header Error",
        2 => "OPEN Message Error",
        3 => "UPDATE Message Error",
        4 => "Hold Timer Expired",
        5 => "Finite State Machine Error",
        6 => "Cease",
        7 => "ROUTE-REFRESH Message Error",
        8 => "Send Hold Timer Expired",
        _ => "Unknown error code",
    }
}

/// The name of a subcode within its code (`"Unspecific"` for 0).
pub fn subcode_name(code: u8, subcode: u8) -> &'static str {
    match (code, subcode) {
        (_, 0) => "Unspecific",
        (1, 1) => "Connection Not Synchronized",
        (1, 2) => "Bad Message Length",
        (1, 3) => "Bad Message Type",
        (2, 1) => "Unsupported Version Number",
        (2, 2) => "Bad Peer AS",
        (2, 3) => "Bad BGP Identifier",
        (2, 4) => "Unsupported Optional Parameter",
        (2, 5) => "Authentication Failure",
        (2, 6) => "Unacceptable Hold Time",
        (2, 7) => "Unsupported Capability",
        (2, 11) => "Role Mismatch",
        (3, 1) => "Malformed Attribute List",
        (3, 2) => "Unrecognized Well-known Attribute",
        (3, 3) => "Missing Well-known Attribute",
        (3, 4) => "Attribute Flags Error",
        (3, 5) => "Attribute Length Error",
        (3, 6) => "Invalid ORIGIN Attribute",
        (3, 7) => "AS Routing Loop",
        (3, 8) => "Invalid NEXT_HOP Attribute",
        (3, 9) => "Optional Attribute Error",
        (3, 10) => "Invalid Network Field",
        (3, 11) => "Malformed AS_PATH",
        (5, 1) => "Receive Unexpected Message in OpenSent State",
        (5, 2) => "Receive Unexpected Message in OpenConfirm State",
        (5, 3) => "Receive Unexpected Message in Established State",
        (6, 1) => "Maximum Number of Prefixes Reached",
        (6, 2) => "Administrative Shutdown",
        (6, 3) => "Peer De-configured",
        (6, 4) => "Administrative Reset",
        (6, 5) => "Connection Rejected",
        (6, 6) => "Other Configuration Change",
        (6, 7) => "Connection Collision Resolution",
        (6, 8) => "Out of Resources",
        (6, 9) => "Hard Reset",
        (6, 10) => "BFD Down",
        (7, 1) => "Invalid Message Length",
        _ => "Unknown subcode",
    }
}

/// A NOTIFICATION message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Notification {
    /// Error code.
    pub code: u8,
    /// Error subcode.
    pub subcode: u8,
    /// Data, whose meaning depends on code and subcode.
    pub data: Vec<u8>,
}

/// The longest shutdown communication RFC 9003 allows, in bytes of UTF-8.
pub const MAX_SHUTDOWN_MESSAGE: usize = 255;

impl Notification {
    /// A NOTIFICATION from its fields.
    pub fn new(code: u8, subcode: u8, data: impl Into<Vec<u8>>) -> Self {
        Notification {
            code,
            subcode,
            data: data.into(),
        }
    }

    /// A Cease with a shutdown communication (RFC 9003): subcode 2
    /// (Administrative Shutdown) or 4 (Administrative Reset). A message longer
    /// than 255 bytes is cut at the last character boundary that fits.
    pub fn shutdown(subcode: u8, message: &str) -> Self {
        let mut end = message.len().min(MAX_SHUTDOWN_MESSAGE);
        while !message.is_char_boundary(end) {
            end = end.saturating_sub(1);
        }
        let text = message.get(..end).unwrap_or_default().as_bytes();
        let mut data = Vec::with_capacity(text.len().saturating_add(1));
        data.push(u8::try_from(text.len()).unwrap_or(u8::MAX));
        data.extend_from_slice(text);
        Notification::new(code::CEASE, subcode, data)
    }

    /// The name of the code.
    pub fn code_name(&self) -> &'static str {
        code_name(self.code)
    }

    /// The name of the subcode.
    pub fn subcode_name(&self) -> &'static str {
        subcode_name(self.code, self.subcode)
    }

    /// The shutdown communication of a Cease/Administrative Shutdown or Reset,
    /// when the data holds a well-formed one (RFC 9003 §2).
    pub fn shutdown_message(&self) -> Option<&str> {
        if self.code != code::CEASE
            || !matches!(
                self.subcode,
                subcode::ADMINISTRATIVE_SHUTDOWN | subcode::ADMINISTRATIVE_RESET
            )
        {
            return None;
        }
        let (len, text) = self.data.split_first()?;
        let text = text.get(..usize::from(*len))?;
        std::str::from_utf8(text).ok()
    }

    /// Decode the body (after the 19-byte header).
    pub fn decode(body: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body, crate::HEADER_LEN);
        let code = r
            .u8()
            .map_err(|t| DecodeError::new(t.offset, Reason::ShortNotification))?;
        let subcode = r
            .u8()
            .map_err(|t| DecodeError::new(t.offset, Reason::ShortNotification))?;
        Ok(Notification::new(code, subcode, r.take_rest()))
    }

    /// Append the body.
    pub fn encode_body(&self, out: &mut Vec<u8>) {
        out.push(self.code);
        out.push(self.subcode);
        out.extend_from_slice(&self.data);
    }
}

impl std::fmt::Display for Notification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}) / {} ({})",
            self.code_name(),
            self.code,
            self.subcode_name(),
            self.subcode
        )?;
        if let Some(msg) = self.shutdown_message() {
            write!(f, ": {msg:?}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shutdown_communication() {
        let n = Notification::shutdown(subcode::ADMINISTRATIVE_SHUTDOWN, "maintenance");
        assert_eq!(n.data[0], 11);
        assert_eq!(n.shutdown_message(), Some("maintenance"));
        assert_eq!(
            n.to_string(),
            "Cease (6) / Administrative Shutdown (2): \"maintenance\""
        );
        // Over-long messages are cut on a character boundary.
        let long = "é".repeat(200);
        let n = Notification::shutdown(subcode::ADMINISTRATIVE_RESET, &long);
        assert_eq!(n.data[0], 254);
        assert_eq!(n.shutdown_message().map(|s| s.len()), Some(254));
    }

    #[test]
    fn decode_needs_code_and_subcode() {
        assert!(Notification::decode(&[6]).unwrap_err().is_silent());
        let n = Notification::decode(&[3, 11, 0xde, 0xad]).unwrap();
        assert_eq!(n.subcode_name(), "Malformed AS_PATH");
        assert_eq!(n.data, vec![0xde, 0xad]);
    }
}
