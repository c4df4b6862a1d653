//! A bounds-checked cursor over wire bytes.
//!
//! Every read from untrusted input goes through [`Reader`]: it never indexes
//! out of range and never panics, it reports how far it got so that errors can
//! name the byte offset, and it keeps track of the absolute offset of its
//! window inside the whole message.

use std::net::{Ipv4Addr, Ipv6Addr};

/// Reading past the end of a field: the field is shorter than its content
/// claims. Callers turn this into the error the RFC prescribes for the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("truncated at byte {offset}: needed {needed} more byte(s), {available} left")]
pub struct Truncated {
    /// Absolute offset (from the start of the message) where the read began.
    pub offset: usize,
    /// Bytes the read needed.
    pub needed: usize,
    /// Bytes that were left.
    pub available: usize,
}

/// A cursor over a byte slice with an absolute base offset.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Reader<'a> {
    /// A reader over `buf`, whose first byte sits at absolute offset `base`
    /// in the message (used only for error reports).
    pub fn new(buf: &'a [u8], base: usize) -> Self {
        Reader { buf, pos: 0, base }
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// Whether everything was read.
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// Absolute offset of the next byte to read.
    pub fn offset(&self) -> usize {
        self.base.saturating_add(self.pos)
    }

    /// The unread bytes, without consuming them.
    pub fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or(&[])
    }

    fn truncated(&self, needed: usize) -> Truncated {
        Truncated {
            offset: self.offset(),
            needed,
            available: self.remaining(),
        }
    }

    /// Take the next `n` bytes.
    #[inline]
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], Truncated> {
        let end = self.pos.checked_add(n).ok_or_else(|| self.truncated(n))?;
        let out = self
            .buf
            .get(self.pos..end)
            .ok_or_else(|| self.truncated(n))?;
        self.pos = end;
        Ok(out)
    }

    /// Take the next `n` bytes as a sub-reader that keeps absolute offsets.
    pub fn sub(&mut self, n: usize) -> Result<Reader<'a>, Truncated> {
        let base = self.offset();
        Ok(Reader::new(self.take(n)?, base))
    }

    /// Take everything that is left.
    pub fn take_rest(&mut self) -> &'a [u8] {
        let out = self.rest();
        self.pos = self.buf.len();
        out
    }

    /// Take a fixed-size array.
    #[inline]
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], Truncated> {
        let bytes = self.take(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    /// One byte.
    #[inline]
    pub fn u8(&mut self) -> Result<u8, Truncated> {
        let b = *self.buf.get(self.pos).ok_or_else(|| self.truncated(1))?;
        self.pos = self.pos.saturating_add(1);
        Ok(b)
    }

    /// A big-endian u16.
    #[inline]
    pub fn u16(&mut self) -> Result<u16, Truncated> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    /// A big-endian u32.
    #[inline]
    pub fn u32(&mut self) -> Result<u32, Truncated> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    /// A big-endian u64.
    pub fn u64(&mut self) -> Result<u64, Truncated> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// An IPv4 address.
    pub fn ipv4(&mut self) -> Result<Ipv4Addr, Truncated> {
        Ok(Ipv4Addr::from(self.array::<4>()?))
    }

    /// An IPv6 address.
    pub fn ipv6(&mut self) -> Result<Ipv6Addr, Truncated> {
        Ok(Ipv6Addr::from(self.array::<16>()?))
    }

    /// Peek at the next byte without consuming it.
    pub fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_reports_offsets() {
        let mut r = Reader::new(&[1, 2, 3, 4, 5], 19);
        assert_eq!(r.u8(), Ok(1));
        assert_eq!(r.u16(), Ok(0x0203));
        assert_eq!(r.offset(), 22);
        let err = r.u32().unwrap_err();
        assert_eq!(
            err,
            Truncated {
                offset: 22,
                needed: 4,
                available: 2
            }
        );
        // A failed read consumes nothing.
        assert_eq!(r.remaining(), 2);
        let mut sub = r.sub(2).unwrap();
        assert_eq!(sub.offset(), 22);
        assert_eq!(sub.take_rest(), &[4, 5]);
        assert!(r.is_empty());
        assert!(r.take(usize::MAX).is_err());
    }
}
