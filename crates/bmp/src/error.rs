//! What can go wrong with a BMP message, and where.

/// A BMP message that could not be decoded or encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A field ended before its declared length.
    #[error("truncated {what} at byte {offset}: needed {needed} byte(s), {available} left")]
    Truncated {
        /// The field being read.
        what: &'static str,
        /// Offset of the field from the start of the message.
        offset: usize,
        /// Bytes the field needed.
        needed: usize,
        /// Bytes that were left.
        available: usize,
    },
    /// The common header names a version other than 3 (RFC 7854 §4.1).
    #[error("BMP version {0} is not supported (only 3)")]
    Version(u8),
    /// The common header's length is below the header's own size or above
    /// the decoder's limit.
    #[error("BMP message length {length} out of range (6..={max})")]
    Length {
        /// The declared length.
        length: u32,
        /// The largest length accepted.
        max: u32,
    },
    /// A field holds a value the format does not allow.
    #[error("malformed {what} at byte {offset}")]
    Malformed {
        /// The field.
        what: &'static str,
        /// Its offset from the start of the message.
        offset: usize,
    },
    /// Bytes left over after the last field of a message that has no
    /// trailing TLVs.
    #[error("{count} byte(s) left over at byte {offset} of a {what}")]
    Trailing {
        /// The message type.
        what: &'static str,
        /// Offset of the first extra byte.
        offset: usize,
        /// How many bytes.
        count: usize,
    },
    /// A message or field too long for its length field.
    #[error("cannot encode {what}: {len} bytes do not fit its length field")]
    TooLong {
        /// The field.
        what: &'static str,
        /// Its length.
        len: usize,
    },
    /// A BGP PDU to encode that is not one whole BGP message (RFC 4271 §4.1
    /// header with a matching length).
    #[error("cannot encode {what}: not one whole BGP message")]
    NotBgp {
        /// Where the PDU goes.
        what: &'static str,
    },
}
