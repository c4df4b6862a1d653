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

/// A byte sink that compresses as the reader decompresses
/// ([`crate::Compression`]): plain, gzip or bzip2. [`CompressedWriter::finish`]
/// writes the compressor's trailer; dropping it without does so too, but
/// loses any error.
pub enum CompressedWriter<W: Write> {
    /// Not compressed.
    Plain(W),
    /// gzip (RFC 1952).
    Gzip(flate2::write::GzEncoder<W>),
    /// bzip2.
    Bzip2(bzip2::write::BzEncoder<W>),
}

impl<W: Write> std::fmt::Debug for CompressedWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CompressedWriter::Plain(_) => "CompressedWriter::Plain",
            CompressedWriter::Gzip(_) => "CompressedWriter::Gzip",
            CompressedWriter::Bzip2(_) => "CompressedWriter::Bzip2",
        })
    }
}

impl<W: Write> CompressedWriter<W> {
    /// A writer into `inner` compressing with `compression` (default
    /// levels: gzip 6, bzip2 9, as the command-line tools).
    pub fn new(inner: W, compression: crate::Compression) -> Self {
        match compression {
            crate::Compression::None => CompressedWriter::Plain(inner),
            crate::Compression::Gzip => CompressedWriter::Gzip(flate2::write::GzEncoder::new(
                inner,
                flate2::Compression::default(),
            )),
            crate::Compression::Bzip2 => CompressedWriter::Bzip2(bzip2::write::BzEncoder::new(
                inner,
                bzip2::Compression::best(),
            )),
        }
    }

    /// Write the compressor's trailer and flush; the underlying writer.
    pub fn finish(self) -> std::io::Result<W> {
        match self {
            CompressedWriter::Plain(mut w) => {
                w.flush()?;
                Ok(w)
            }
            CompressedWriter::Gzip(g) => {
                let mut w = g.finish()?;
                w.flush()?;
                Ok(w)
            }
            CompressedWriter::Bzip2(b) => {
                let mut w = b.finish()?;
                w.flush()?;
                Ok(w)
            }
        }
    }
}

impl<W: Write> Write for CompressedWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            CompressedWriter::Plain(w) => w.write(buf),
            CompressedWriter::Gzip(w) => w.write(buf),
            CompressedWriter::Bzip2(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            CompressedWriter::Plain(w) => w.flush(),
            CompressedWriter::Gzip(w) => w.flush(),
            CompressedWriter::Bzip2(w) => w.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bgp4mp::{Bgp4mp, Bgp4mpEvent};
    use crate::{Body, Compression, MrtReader, Record};

    #[test]
    fn compressed_files_read_back() {
        let record = Record {
            timestamp: 1_700_000_000,
            microseconds: Some(5),
            body: Body::Bgp4mp(Bgp4mp {
                peer_as: 65001,
                local_as: 65000,
                interface: 0,
                peer_ip: "192.0.2.1".parse().unwrap(),
                local_ip: "192.0.2.2".parse().unwrap(),
                as4: true,
                event: Bgp4mpEvent::StateChange { old: 5, new: 6 },
            }),
        };
        for c in [Compression::None, Compression::Gzip, Compression::Bzip2] {
            let mut w = MrtWriter::new(CompressedWriter::new(Vec::new(), c));
            w.write(&record).unwrap();
            w.write(&record).unwrap();
            let bytes = w.into_inner().unwrap().finish().unwrap();
            let mut r = MrtReader::new(&bytes[..]).unwrap();
            assert_eq!(r.compression(), c);
            assert_eq!(r.next().unwrap().unwrap(), record);
            assert_eq!(r.next().unwrap().unwrap(), record);
            assert!(r.next().is_none());
        }
    }
}
