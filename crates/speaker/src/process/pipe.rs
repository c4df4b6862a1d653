//! The size of the pipes between Ribbit and a program.
//!
//! Linux gives a pipe 64 KiB. A program that reads a table's events (a few
//! hundred bytes of JSON per UPDATE) then wakes up for every 64 KiB, and the
//! writer waits for it as often: for a full table, thousands of round
//! trips through the scheduler on each side. A pipe of 1 MiB (what an
//! unprivileged process may ask for by default, `/proc/sys/fs/pipe-max-size`)
//! lets each side move sixteen times as much per wake-up: in the receive
//! benchmark the program used about a quarter less CPU, and a million
//! prefixes reached it a seventh sooner (docs/benchmarks.md).
//!
//! A grown pipe counts 256 pages against its user's share
//! (`/proc/sys/fs/pipe-user-pages-soft`, 16,384 by default): the pipes of 32
//! programs fit in it; past it Linux refuses an unprivileged user, and those
//! pipes keep 64 KiB.
//!
//! With `net/sockopt.rs`, one of the two modules allowed `unsafe`: a single
//! `fcntl(2)` on a descriptor the caller owns, with an integer argument.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsFd, AsRawFd};

/// What the pipes to and from a program are grown to.
pub const PIPE_SIZE: usize = 1 << 20;

/// Grow the pipe behind `pipe` to `size` bytes (Linux rounds up to a power
/// of two pages); returns the size it has now. Fails when the system does
/// not allow that much (`EPERM` past `pipe-max-size` or the user's share of
/// pipe pages) or `pipe` is not a pipe (`EBADF`, `EINVAL`); the pipe is
/// then unchanged.
pub fn grow(pipe: &impl AsFd, size: usize) -> io::Result<usize> {
    let size = libc::c_int::try_from(size)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "pipe size too large"))?;
    let fd = pipe.as_fd();
    // SAFETY: `fd` is an open descriptor for the duration of the borrow;
    // F_SETPIPE_SZ takes an int by value and touches no memory of ours.
    let rc = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETPIPE_SZ, size) };
    usize::try_from(rc).map_err(|_| io::Error::last_os_error())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn a_grown_pipe_holds_a_megabyte_without_a_reader() {
        let (mut r, mut w) = io::pipe().unwrap();
        assert_eq!(grow(&w, PIPE_SIZE).unwrap(), PIPE_SIZE);
        // Far more than the 64 KiB of a default pipe, and nobody reads yet:
        // the write would block if the pipe had not grown.
        let text = vec![b'x'; PIPE_SIZE];
        w.write_all(&text).unwrap();
        drop(w);
        let mut back = Vec::new();
        r.read_to_end(&mut back).unwrap();
        assert_eq!(back, text);
    }

    #[test]
    fn a_file_is_not_a_pipe() {
        let f = std::fs::File::open("/dev/null").unwrap();
        assert!(grow(&f, PIPE_SIZE).is_err());
    }
}
