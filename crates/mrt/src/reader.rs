//! Streaming reader: one record at a time, gzip and bzip2 recognised by
//! their magic numbers.

use std::io::{self, BufReader, Chain, Cursor, Read};

use flate2::bufread::MultiGzDecoder;

use crate::attrs::AttrDecoder;
use crate::error::{Error, ErrorKind};
use crate::{decode_body, decode_body_with, Header, Record, HEADER_LEN};

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
    /// The attribute decoder's buffers, reused by [`MrtReader::read_record`].
    decoder: AttrDecoder,
    /// The header and offset of the record in `buf`.
    current: Option<(Header, u64)>,
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
            decoder: AttrDecoder::default(),
            current: None,
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
        let Some(raw) = self.next_raw()? else {
            return Ok(None);
        };
        let (h, offset) = (raw.header(), raw.offset);
        decode_body_with(h, &self.buf, &mut self.decoder)
            .map(Some)
            .map_err(|e| e.at(offset))
    }

    /// Read the next record without decoding it: its header and its bytes,
    /// borrowed from the reader's buffer until the next call. Nothing is
    /// allocated once the buffer has grown to the largest record, which is
    /// what the views of [`crate::view`] and the bgpdump formatter build on.
    pub fn next_raw(&mut self) -> Result<Option<RawRecord<'_>>, Error> {
        if self.done {
            return Ok(None);
        }
        self.current = None;
        match self.fill() {
            Ok(Some((h, start))) => Ok(Some(RawRecord {
                timestamp: h.timestamp,
                mrt_type: h.mrt_type,
                subtype: h.subtype,
                message: &self.buf,
                offset: start,
            })),
            Ok(None) => {
                self.done = true;
                Ok(None)
            }
            Err(e) => {
                // The framing is lost: nothing after this can be trusted.
                self.done = true;
                Err(e)
            }
        }
    }

    /// The record the last [`MrtReader::next_raw`] read, again.
    pub(crate) fn current(&self) -> Option<RawRecord<'_>> {
        let (h, offset) = self.current?;
        Some(RawRecord {
            timestamp: h.timestamp,
            mrt_type: h.mrt_type,
            subtype: h.subtype,
            message: &self.buf,
            offset,
        })
    }

    /// Read one record's header and message into `buf`; the header and the
    /// record's offset, or `None` at a clean end of stream.
    fn fill(&mut self) -> Result<Option<(Header, u64)>, Error> {
        let start = self.offset;
        let mut head = [0u8; HEADER_LEN];
        let got =
            read_full(&mut self.source, &mut head).map_err(|e| Error::new(start, e.into()))?;
        if got == 0 {
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
        let len = usize::try_from(h.length).unwrap_or(usize::MAX);
        let read = if len <= EAGER_LEN {
            // The common case: one read into a buffer sized once.
            self.buf.resize(len, 0);
            read_full(&mut self.source, &mut self.buf)
        } else {
            // Grow with the data actually read, not with the declared length:
            // a truncated stream with a large length allocates nothing extra.
            self.buf.clear();
            (&mut self.source)
                .take(u64::from(h.length))
                .read_to_end(&mut self.buf)
        };
        let got = read.map_err(|e| Error::new(start, e.into()))?;
        let body_at = start.saturating_add(HEADER_LEN as u64);
        if got != len {
            return Err(Error::new(
                body_at,
                ErrorKind::Truncated {
                    what: "MRT message",
                    needed: u64::from(h.length),
                    available: got as u64,
                },
            ));
        }
        self.offset = body_at.saturating_add(u64::from(h.length));
        self.current = Some((h, start));
        Ok(Some((h, start)))
    }
}

/// Records up to this length are read with one buffer resize; longer ones
/// grow the buffer as their bytes arrive (see [`MrtReader::next_raw`]).
const EAGER_LEN: usize = 1 << 20;

/// One record as read, not yet decoded: the common header's fields and the
/// message bytes (RFC 6396 §2), borrowed from the reader.
#[derive(Debug, Clone, Copy)]
pub struct RawRecord<'a> {
    /// Seconds since the Unix epoch.
    pub timestamp: u32,
    /// The MRT type.
    pub mrt_type: u16,
    /// The subtype.
    pub subtype: u16,
    /// The message: everything after the 12-byte common header, the
    /// microsecond field of the `_ET` types included.
    pub message: &'a [u8],
    /// Offset of the record's header in the (decompressed) stream.
    pub offset: u64,
}

impl<'a> RawRecord<'a> {
    /// Split off the microsecond timestamp of the extended-timestamp types
    /// (RFC 6396 §3): the microseconds, the body after them, and the body's
    /// offset from the start of the record.
    pub fn split_microseconds(&self) -> Result<(Option<u32>, &'a [u8], usize), Error> {
        if !crate::mrt_type::is_extended(self.mrt_type) {
            return Ok((None, self.message, HEADER_LEN));
        }
        match self.message.split_first_chunk::<4>() {
            Some((us, rest)) => Ok((
                Some(u32::from_be_bytes(*us)),
                rest,
                HEADER_LEN.saturating_add(4),
            )),
            None => Err(Error::new(
                self.offset.saturating_add(HEADER_LEN as u64),
                ErrorKind::Truncated {
                    what: "microsecond timestamp",
                    needed: 4,
                    available: self.message.len() as u64,
                },
            )),
        }
    }

    /// Decode the whole record.
    pub fn decode(&self) -> Result<Record, Error> {
        decode_body(self.header(), self.message).map_err(|e| e.at(self.offset))
    }

    fn header(&self) -> Header {
        Header {
            timestamp: self.timestamp,
            mrt_type: self.mrt_type,
            subtype: self.subtype,
            length: u32::try_from(self.message.len()).unwrap_or(u32::MAX),
        }
    }

    /// The length of the whole record, header included.
    pub fn len(&self) -> u64 {
        (HEADER_LEN as u64).saturating_add(self.message.len() as u64)
    }

    /// Whether the message is empty (a record of the common header alone).
    pub fn is_empty(&self) -> bool {
        self.message.is_empty()
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
