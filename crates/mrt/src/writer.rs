//! Writing records to any [`std::io::Write`].

use std::io::Write;

use crate::error::{Error, ErrorKind};
use crate::Record;

/// Writes MRT records one after the other. Each record is encoded into a
/// buffer reused between records, then written whole; wrap the writer in a
/// [`std::io::BufWriter`] (and a compressor if wanted) for files.
#[derive(Debug)]
pub struct MrtWriter<W: Write> {
    inner: W,
    buf: Vec<u8>,
    offset: u64,
}

impl<W: Write> MrtWriter<W> {
    /// A writer into `inner`.
    pub fn new(inner: W) -> Self {
        MrtWriter {
            inner,
            buf: Vec::with_capacity(4096),
            offset: 0,
        }
    }

    /// Encode and write one record. A record that cannot be encoded is an
    /// error and nothing of it is written.
    pub fn write(&mut self, record: &Record) -> Result<(), Error> {
        self.buf.clear();
        record
            .encode(&mut self.buf)
            .map_err(|k| Error::new(self.offset, k))?;
        self.inner
            .write_all(&self.buf)
            .map_err(|e| Error::new(self.offset, ErrorKind::Io(e)))?;
        self.offset = self.offset.saturating_add(self.buf.len() as u64);
        Ok(())
    }

    /// Bytes written so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Flush the underlying writer.
    pub fn flush(&mut self) -> Result<(), Error> {
        self.inner
            .flush()
            .map_err(|e| Error::new(self.offset, ErrorKind::Io(e)))
    }

    /// The underlying writer.
    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    /// The underlying writer, after a flush.
    pub fn into_inner(mut self) -> Result<W, Error> {
        self.flush()?;
        Ok(self.inner)
    }
}
