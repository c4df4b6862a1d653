//! Message framing (RFC 4271 §4.1) and the [`Message`] type.
//!
//! ```text
//!  +---------------------------------------------------------------+
//!  |                     Marker (16 octets of 0xff)                |
//!  +-------------------------------+---------------+---------------+
//!  |          Length (2)           |   Type (1)    |  Body ...     |
//!  +-------------------------------+---------------+---------------+
//! ```

use crate::context::{DecodeContext, EncodeContext};
use crate::error::{DecodeError, Reason};
use crate::notification::{code, subcode, Notification};
use crate::open::Open;
use crate::reader::Reader;
use crate::route_refresh::RouteRefresh;
use crate::update::Update;

/// The all-ones marker that starts every message.
pub const MARKER: [u8; 16] = [0xff; 16];
/// Header length: marker, length, type.
pub const HEADER_LEN: usize = 19;
/// The largest message without RFC 8654 extended messages.
pub const MAX_MESSAGE_LEN: usize = 4096;
/// The largest extended message (RFC 8654).
pub const MAX_EXTENDED_MESSAGE_LEN: usize = 65535;

/// Message types (RFC 4271 §4.1, RFC 2918).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType {
    /// OPEN.
    Open = 1,
    /// UPDATE.
    Update = 2,
    /// NOTIFICATION.
    Notification = 3,
    /// KEEPALIVE.
    Keepalive = 4,
    /// ROUTE-REFRESH.
    RouteRefresh = 5,
}

impl MessageType {
    /// The type from its code.
    pub fn from_code(code: u8) -> Option<MessageType> {
        Some(match code {
            1 => MessageType::Open,
            2 => MessageType::Update,
            3 => MessageType::Notification,
            4 => MessageType::Keepalive,
            5 => MessageType::RouteRefresh,
            _ => return None,
        })
    }

    /// The upper-case name used in logs and JSON.
    pub fn name(self) -> &'static str {
        match self {
            MessageType::Open => "OPEN",
            MessageType::Update => "UPDATE",
            MessageType::Notification => "NOTIFICATION",
            MessageType::Keepalive => "KEEPALIVE",
            MessageType::RouteRefresh => "ROUTE-REFRESH",
        }
    }
}

/// A BGP message.
// UPDATE is much larger than the rest; messages are decoded one at a time
// and handed on, so boxing it would cost an allocation for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// OPEN.
    Open(Open),
    /// UPDATE.
    Update(Update),
    /// NOTIFICATION.
    Notification(Notification),
    /// KEEPALIVE.
    Keepalive,
    /// ROUTE-REFRESH.
    RouteRefresh(RouteRefresh),
}

/// A validated header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Total message length, header included.
    pub length: usize,
    /// Message type.
    pub kind: MessageType,
}

const HEADER_ERR: (u8, u8) = (code::MESSAGE_HEADER, subcode::BAD_MESSAGE_LENGTH);

impl Header {
    /// Check the header at the start of `buf` (RFC 4271 §6.1): marker, a
    /// length within what this type and the session allow, a known type.
    /// `Ok(None)` means fewer than 19 bytes are available yet.
    pub fn peek(buf: &[u8], ctx: &DecodeContext) -> Result<Option<Header>, DecodeError> {
        let mut r = Reader::new(buf, 0);
        let Ok(marker) = r.array::<16>() else {
            return Ok(None);
        };
        let (Ok(length), Ok(ty)) = (r.u16(), r.u8()) else {
            return Ok(None);
        };
        if marker != MARKER {
            return Err(DecodeError::new(0, Reason::BadMarker));
        }
        let kind = MessageType::from_code(ty)
            .ok_or_else(|| DecodeError::new(18, Reason::BadType(ty)).with_data([ty]))?;
        // RFC 8654 §3: the extension covers every message but OPEN and KEEPALIVE.
        let (min, max) = match kind {
            MessageType::Open => (29, MAX_MESSAGE_LEN),
            MessageType::Update => (23, ctx.max_message_len()),
            // A NOTIFICATION too short for its code and subcode is still
            // framed: it ends the session without an answer (RFC 4271 §6.4).
            MessageType::Notification => (19, ctx.max_message_len()),
            MessageType::Keepalive => (19, 19),
            MessageType::RouteRefresh => (23, ctx.max_message_len()),
        };
        let len = usize::from(length);
        if len < min || len > max {
            return Err(DecodeError::new(
                16,
                Reason::BadLength {
                    length,
                    max: u16::try_from(max).unwrap_or(u16::MAX),
                },
            )
            .with_data(length.to_be_bytes()));
        }
        Ok(Some(Header { length: len, kind }))
    }
}

impl Message {
    /// The type of the message.
    pub fn kind(&self) -> MessageType {
        match self {
            Message::Open(_) => MessageType::Open,
            Message::Update(_) => MessageType::Update,
            Message::Notification(_) => MessageType::Notification,
            Message::Keepalive => MessageType::Keepalive,
            Message::RouteRefresh(_) => MessageType::RouteRefresh,
        }
    }

    /// Decode one whole message (header included). `buf` must hold exactly
    /// one message; trailing bytes are a length error.
    pub fn decode(buf: &[u8], ctx: &DecodeContext) -> Result<Message, DecodeError> {
        let (kind, body) = Message::split(buf, ctx)?;
        Message::decode_body(kind, body, ctx)
    }

    /// Decode the body of a message of type `kind` (everything after its
    /// header, [`Message::split`]).
    pub fn decode_body(
        kind: MessageType,
        body: &[u8],
        ctx: &DecodeContext,
    ) -> Result<Message, DecodeError> {
        Ok(match kind {
            MessageType::Open => Message::Open(Open::decode(body)?),
            MessageType::Update => Message::Update(Update::decode(body, ctx)?),
            MessageType::Notification => Message::Notification(Notification::decode(body)?),
            MessageType::Keepalive => Message::Keepalive,
            MessageType::RouteRefresh => Message::RouteRefresh(RouteRefresh::decode(body)?),
        })
    }

    /// The type and body of one whole message, its header checked as
    /// [`Message::decode`] checks it: for a caller that decodes an UPDATE's
    /// body into an UPDATE it already has ([`Update::decode_into`]).
    pub fn split<'b>(
        buf: &'b [u8],
        ctx: &DecodeContext,
    ) -> Result<(MessageType, &'b [u8]), DecodeError> {
        let header = Header::peek(buf, ctx)?.ok_or_else(|| {
            DecodeError::new(
                0,
                Reason::Truncated {
                    what: "message header",
                    cause: crate::reader::Truncated {
                        offset: 0,
                        needed: HEADER_LEN,
                        available: buf.len(),
                    },
                    code: HEADER_ERR,
                },
            )
        })?;
        if header.length != buf.len() {
            let length = u16::try_from(header.length).unwrap_or(u16::MAX);
            return Err(DecodeError::new(
                16,
                Reason::BadLength {
                    length,
                    max: u16::try_from(buf.len()).unwrap_or(u16::MAX),
                },
            )
            .with_data(length.to_be_bytes()));
        }
        Ok((header.kind, buf.get(HEADER_LEN..).unwrap_or_default()))
    }

    /// Encode the whole message, header included. UPDATEs that do not fit
    /// the peer's maximum size are still written whole: split them first
    /// with [`crate::pack::UpdatePacker`], which never produces one that does not fit.
    pub fn encode(&self, ctx: &EncodeContext, out: &mut Vec<u8>) {
        let start = begin(out, self.kind());
        match self {
            Message::Open(o) => o.encode_body(out),
            Message::Update(u) => u.encode_body(ctx, out),
            Message::Notification(n) => n.encode_body(out),
            Message::Keepalive => {}
            Message::RouteRefresh(r) => r.encode_body(out),
        }
        finish(out, start);
    }

    /// Encode into a new buffer.
    pub fn to_bytes(&self, ctx: &EncodeContext) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        self.encode(ctx, &mut out);
        out
    }
}

/// Start a message of type `kind` in `out`; returns where it starts.
pub(crate) fn begin(out: &mut Vec<u8>, kind: MessageType) -> usize {
    let start = out.len();
    out.extend_from_slice(&MARKER);
    out.extend_from_slice(&[0, 0, kind as u8]);
    start
}

/// Write the length of the message that starts at `start`.
pub(crate) fn finish(out: &mut [u8], start: usize) {
    let len = out.len().saturating_sub(start);
    let [hi, lo] = u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes();
    if let Some(slot) = out.get_mut(start.saturating_add(16)..start.saturating_add(18)) {
        slot.copy_from_slice(&[hi, lo]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::hex;

    #[test]
    fn keepalive_round_trip() {
        let bytes = hex("ffffffffffffffffffffffffffffffff 0013 04");
        let ctx = DecodeContext::default();
        assert_eq!(Message::decode(&bytes, &ctx), Ok(Message::Keepalive));
        assert_eq!(
            Message::Keepalive.to_bytes(&EncodeContext::default()),
            bytes
        );
    }

    #[test]
    fn header_errors_name_the_notification() {
        let ctx = DecodeContext::default();
        let mut bad_marker = hex("ffffffffffffffffffffffffffffff00 0013 04");
        let e = Message::decode(&bad_marker, &ctx).unwrap_err();
        assert_eq!((e.notification().code, e.notification().subcode), (1, 1));
        bad_marker[15] = 0xff;
        bad_marker[18] = 9;
        let e = Message::decode(&bad_marker, &ctx).unwrap_err();
        assert_eq!(e.notification(), Notification::new(1, 3, vec![9]));
        // KEEPALIVE must be exactly 19 bytes (RFC 4271 §6.1); data is the length.
        let long = hex("ffffffffffffffffffffffffffffffff 0014 04 00");
        let e = Message::decode(&long, &ctx).unwrap_err();
        assert_eq!(e.notification(), Notification::new(1, 2, vec![0, 0x14]));
        // An UPDATE over 4096 bytes needs the extended message capability.
        let mut big = hex("ffffffffffffffffffffffffffffffff 1001 02");
        big.resize(0x1001, 0);
        let e = Message::decode(&big, &ctx).unwrap_err();
        assert_eq!(e.notification().subcode, 2);
        assert!(Header::peek(&big[..10], &ctx).unwrap().is_none());
    }
}
