//! Errors of the reader and the writer, with the byte offset where they happened.

use ribbit_wire::DecodeError;

/// An MRT record that could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("MRT at byte {offset}: {kind}")]
pub struct Error {
    /// Offset from the start of the (decompressed) stream: where the
    /// offending field starts when decoding, where the record would have
    /// started when writing.
    pub offset: u64,
    /// What went wrong.
    pub kind: ErrorKind,
}

/// What went wrong with a record.
#[derive(Debug, thiserror::Error)]
pub enum ErrorKind {
    /// The underlying reader or writer failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The stream or a field ended before its declared length.
    #[error("truncated {what}: needed {needed} byte(s), {available} left")]
    Truncated {
        /// The field being read.
        what: &'static str,
        /// Bytes the field needed.
        needed: u64,
        /// Bytes that were left.
        available: u64,
    },
    /// A field holds a value the format does not allow.
    #[error("malformed {0}")]
    Malformed(&'static str),
    /// A record declares a length above the reader's limit (a garbled
    /// header would otherwise make the reader allocate gigabytes).
    #[error("record length {length} exceeds the limit of {max} bytes")]
    TooLong {
        /// The declared length.
        length: u64,
        /// The reader's limit.
        max: u64,
    },
    /// BGP content (path attributes, NLRI) that the BGP codec refused.
    #[error("BGP content: {0}")]
    Bgp(DecodeError),
    /// A record that cannot be written: a field does not fit its length
    /// field, or a combination the format has no encoding for.
    #[error("cannot encode: {0}")]
    Unencodable(&'static str),
}

impl Error {
    /// An error of `kind` at `offset`.
    pub fn new(offset: u64, kind: ErrorKind) -> Self {
        Error { offset, kind }
    }
}

/// A decoding error with an offset relative to the start of the record
/// (header included); the record's position in the stream is added when
/// it becomes an [`Error`].
#[derive(Debug)]
pub(crate) struct At {
    pub(crate) offset: usize,
    pub(crate) kind: ErrorKind,
}

impl At {
    pub(crate) fn new(offset: usize, kind: ErrorKind) -> Self {
        At { offset, kind }
    }

    pub(crate) fn malformed(offset: usize, what: &'static str) -> Self {
        At::new(offset, ErrorKind::Malformed(what))
    }

    /// Place the error in the stream: `record` is the record's offset.
    pub(crate) fn at(self, record: u64) -> Error {
        let rel = u64::try_from(self.offset).unwrap_or(u64::MAX);
        Error::new(record.saturating_add(rel), self.kind)
    }
}

/// Turn a bounds-check failure of the BGP codec's reader into a truncation.
pub(crate) fn truncated(what: &'static str) -> impl Fn(ribbit_wire::reader::Truncated) -> At {
    move |t| {
        At::new(
            t.offset,
            ErrorKind::Truncated {
                what,
                needed: u64::try_from(t.needed).unwrap_or(u64::MAX),
                available: u64::try_from(t.available).unwrap_or(u64::MAX),
            },
        )
    }
}
