//! Numbers and IPv4 addresses written as text, fast: the formatter
//! (`core::fmt`) costs more than the bytes when a line carries a dozen
//! numbers and a million lines go out (MRT dumps as bgpdump lines, UPDATE
//! events as ExaBGP JSON).

use std::net::Ipv4Addr;

/// Where text goes: bytes or a string, one ASCII byte at a time.
pub trait TextOut {
    /// Append one ASCII byte (below 128).
    fn push_ascii(&mut self, b: u8);
    /// Room for `n` more bytes.
    fn reserve_text(&mut self, n: usize);
}

// Inlined across crates: a call per byte would cost more than the byte.
impl TextOut for Vec<u8> {
    #[inline]
    fn push_ascii(&mut self, b: u8) {
        self.push(b);
    }

    #[inline]
    fn reserve_text(&mut self, n: usize) {
        self.reserve(n);
    }
}

impl TextOut for String {
    #[inline]
    fn push_ascii(&mut self, b: u8) {
        self.push(char::from(b & 0x7f));
    }

    #[inline]
    fn reserve_text(&mut self, n: usize) {
        self.reserve(n);
    }
}

/// "00" to "99": the digits of a number are written two at a time, half
/// the divisions of one at a time.
const PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// The decimal digits of `n`: a buffer and where they start in it.
pub fn digits(mut n: u32) -> ([u8; 10], usize) {
    let mut buf = [0u8; 10];
    let mut i = buf.len();
    // Ten digits at most: `i` stays within the buffer.
    while n >= 10 && i >= 2 {
        let pair = ((n % 100) as usize).wrapping_mul(2);
        n /= 100;
        i = i.saturating_sub(2);
        let to = buf.get_mut(i..i.saturating_add(2));
        if let (Some(to), Some(from)) = (to, PAIRS.get(pair..pair.saturating_add(2))) {
            to.copy_from_slice(from);
        }
    }
    // The odd digit in front (or the only one, 0 included).
    if n > 0 || i == buf.len() {
        i = i.saturating_sub(1);
        if let Some(d) = buf.get_mut(i) {
            *d = b'0'.saturating_add(n as u8);
        }
    }
    (buf, i)
}

/// Append a few ASCII bytes one by one: for the one to ten bytes of a
/// number, a call to `memcpy` (what `extend_from_slice` makes of a length
/// known only at run time) costs more than the copy.
pub fn push_short(out: &mut impl TextOut, bytes: &[u8]) {
    out.reserve_text(bytes.len());
    for b in bytes {
        out.push_ascii(*b);
    }
}

/// Append `n` in decimal.
pub fn push_u32(out: &mut impl TextOut, n: u32) {
    let (buf, i) = digits(n);
    push_short(out, buf.get(i..).unwrap_or(&[]));
}

/// Append `n` in decimal.
pub fn push_u64(out: &mut impl TextOut, n: u64) {
    match u32::try_from(n) {
        Ok(small) => push_u32(out, small),
        Err(_) => {
            // Above 4,294,967,295: the high digits, then the last nine.
            push_u64(out, n / 1_000_000_000);
            let low = u32::try_from(n % 1_000_000_000).unwrap_or(0);
            push_padded(out, low, 9);
        }
    }
}

/// Append `n` in decimal in at least `width` digits, zeros in front (C's
/// `%0*u`: microseconds after a decimal point, the low digits of a u64).
pub fn push_padded(out: &mut impl TextOut, n: u32, width: usize) {
    let (buf, i) = digits(n);
    let shown = buf.get(i..).unwrap_or(&[]);
    for _ in shown.len()..width {
        out.push_ascii(b'0');
    }
    push_short(out, shown);
}

/// Append an octet in decimal, without leading zeros.
pub fn push_u8(out: &mut impl TextOut, n: u8) {
    let (hundreds, tens, ones) = (n / 100, n / 10 % 10, n % 10);
    if n >= 100 {
        out.push_ascii(b'0'.wrapping_add(hundreds));
    }
    if n >= 10 {
        out.push_ascii(b'0'.wrapping_add(tens));
    }
    out.push_ascii(b'0'.wrapping_add(ones));
}

/// Append an IPv4 address in dotted decimal.
pub fn push_ipv4(out: &mut impl TextOut, a: Ipv4Addr) {
    let [a0, a1, a2, a3] = a.octets();
    out.reserve_text(15);
    push_u8(out, a0);
    out.push_ascii(b'.');
    push_u8(out, a1);
    out.push_ascii(b'.');
    push_u8(out, a2);
    out.push_ascii(b'.');
    push_u8(out, a3);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn the_same_text_as_the_formatter(n: u32, a: u32, big: u64) {
            let mut s = String::new();
            push_u32(&mut s, n);
            s.push(' ');
            push_ipv4(&mut s, Ipv4Addr::from(a));
            s.push(' ');
            push_u64(&mut s, big);
            prop_assert_eq!(s, format!("{n} {} {big}", Ipv4Addr::from(a)));
            let mut v = Vec::new();
            push_u32(&mut v, n);
            prop_assert_eq!(v, n.to_string().into_bytes());
        }
    }

    #[test]
    fn edges() {
        for n in [
            0,
            9,
            10,
            99,
            100,
            101,
            1_000,
            4_294_967_295,
            4_294_967_296,
            10_000_000_000,
            u64::MAX,
        ] {
            let mut s = String::new();
            push_u64(&mut s, n);
            assert_eq!(s, n.to_string());
        }
    }
}
