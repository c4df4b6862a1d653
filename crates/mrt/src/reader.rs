//! Streaming reader: one record at a time, gzip and bzip2 recognised by
//! their magic numbers.

use std::io::{self, BufReader, Chain, Cursor, Read};

use flate2::bufread::MultiGzDecoder;

use crate::error::{Error, ErrorKind};
use crate::{decode_body, Header, Record, HEADER_LEN};

/// How the stream was compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Not compressed.
    None,
    /// gzip (RFC 1952), several members allowed.
    Gzip,
    /// bzip2, several streams allowed.
    Bzip2,
}

type Raw<R> = BufReader<Chain<Cursor<Vec<u8>>, R>>;

/// The decompressed byte stream.
enum Source<R: Read> {
    Plain(Raw<R>),
    Gzip(Box<MultiGzDecoder<Raw<R>>>),
    Bzip2(Box<bzip2::bufread::MultiBzDecoder<Raw<R>>>),
}

impl<R: Read> Read for Source<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Source::Plain(r) => r.read(buf),
            Source::Gzip(r) => r.read(buf),
            Source::Bzip2(r) => r.read(buf),
        }
    }
}

/// The largest record accepted by default: far above any real record (a
/// RIB record with thousands of peers is a few hundred kilobytes) and low
/// enough that a garbled length cannot exhaust memory.
pub const DEFAULT_MAX_RECORD_LEN: u32 = 64 << 20;

/// An iterator over the records of an MRT stream.
///
/// Memory stays constant: one record is held at a time, in a buffer reused
/// from one record to the next. A record whose content is malformed yields
/// an `Err` and reading goes on with the next record (its length was
/// known); a truncated stream or an I/O error yields an `Err` and ends the
/// iteration. Offsets count bytes of the decompressed stream.
pub struct MrtReader<R: Read> {
    source: Source<R>,
    compression: Compression,
    buf: Vec<u8>,
    offset: u64,
    max_len: u32,
    done: bool,
}

impl<R: Read> MrtReader<R> {
    /// A reader over `inner`, which may be gzip or bzip2 compressed. Reads
    /// the first bytes to recognise the compression.
    pub fn new(mut inner: R) -> io::Result<Self> {
        let mut head = [0u8; 3];
        let mut n = 0;
        while let Some(rest) = head.get_mut(n..) {
            if rest.is_empty() {
                break;
            }
            match inner.read(rest) {
                Ok(0) => break,
                Ok(k) => n = n.saturating_add(k),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let head = head.get(..n).unwrap_or(&[]).to_vec();
        let compression = match head.as_slice() {
            [0x1f, 0x8b, ..] => Compression::Gzip,
            [b'B', b'Z', b'h'] => Compression::Bzip2,
            _ => Compression::None,
        };
        let raw = BufReader::with_capacity(1 << 16, Cursor::new(head).chain(inner));
        let source = match compression {
            Compression::None => Source::Plain(raw),
            Compression::Gzip => Source::Gzip(Box::new(MultiGzDecoder::new(raw))),
            Compression::Bzip2 => Source::Bzip2(Box::new(bzip2::bufread::MultiBzDecoder::new(raw))),
        };
        Ok(MrtReader {
            source,
            compression,
            buf: Vec::new(),
            offset: 0,
            max_len: DEFAULT_MAX_RECORD_LEN,
            done: false,
        })
    }

    /// Refuse records longer than `max` bytes (default [`DEFAULT_MAX_RECORD_LEN`]).
    pub fn with_max_record_len(mut self, max: u32) -> Self {
        self.max_len = max;
        self
    }

    /// The compression recognised.
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// Offset in the decompressed stream of the next record.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Read the next record; `Ok(None)` at the end of the stream.
    pub fn read_record(&mut self) -> Result<Option<Record>, Error> {
        if self.done {
            return Ok(None);
        }
        let result = self.read_inner();
        if matches!(
            &result,
            Err(Error {
                kind: ErrorKind::Io(_) | ErrorKind::Truncated { .. } | ErrorKind::TooLong { .. },
                ..
            })
        ) {
            // The framing is lost: nothing after this can be trusted.
            self.done = true;
        }
        result
    }

    fn read_inner(&mut self) -> Result<Option<Record>, Error> {
        let start = self.offset;
        let mut head = [0u8; HEADER_LEN];
        let got =
            read_full(&mut self.source, &mut head).map_err(|e| Error::new(start, e.into()))?;
        if got == 0 {
            self.done = true;
            return Ok(None);
        }
        if got < HEADER_LEN {
            return Err(Error::new(
                start,
                ErrorKind::Truncated {
                    what: "MRT header",
                    needed: HEADER_LEN as u64,
                    available: got as u64,
                },
            ));
        }
        let h = Header::parse(head);
        if h.length > self.max_len {
            return Err(Error::new(
                start.saturating_add(8),
                ErrorKind::TooLong {
                    length: u64::from(h.length),
                    max: u64::from(self.max_len),
                },
            ));
        }
        self.buf.clear();
        // Grow with the data actually read, not with the declared length:
        // a truncated stream with a large length allocates nothing extra.
        (&mut self.source)
            .take(u64::from(h.length))
            .read_to_end(&mut self.buf)
            .map_err(|e| Error::new(start, e.into()))?;
        let body_at = start.saturating_add(HEADER_LEN as u64);
        if self.buf.len() as u64 != u64::from(h.length) {
            return Err(Error::new(
                body_at,
                ErrorKind::Truncated {
                    what: "MRT message",
                    needed: u64::from(h.length),
                    available: self.buf.len() as u64,
                },
            ));
        }
        self.offset = body_at.saturating_add(u64::from(h.length));
        decode_body(h, &self.buf).map(Some).map_err(|e| e.at(start))
    }
}

/// Fill `buf` unless the stream ends first; returns the bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while let Some(rest) = buf.get_mut(n..) {
        if rest.is_empty() {
            break;
        }
        match r.read(rest) {
            Ok(0) => break,
            Ok(k) => n = n.saturating_add(k),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

impl<R: Read> Iterator for MrtReader<R> {
    type Item = Result<Record, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        self.read_record().transpose()
    }
}

impl<R: Read> std::fmt::Debug for MrtReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MrtReader")
            .field("compression", &self.compression)
            .field("offset", &self.offset)
            .field("max_len", &self.max_len)
            .finish_non_exhaustive()
    }
}
