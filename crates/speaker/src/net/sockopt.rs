//! Socket options BGP needs and std does not offer: TCP-MD5 signatures
//! (RFC 2385), GTSM (RFC 5082) and the TTL of eBGP multihop sessions.
//!
//! This is one of the two modules of Ribbit allowed to use `unsafe` (the
//! other: `process::pipe`): each block is a single `setsockopt(2)` call on
//! a descriptor the caller owns, with a pointer to a value that lives for
//! the whole call and its exact size.
#![allow(unsafe_code)]

use std::io;
use std::mem;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, BorrowedFd};

/// The longest TCP-MD5 key Linux accepts (`TCP_MD5SIG_MAXKEYLEN`). RFC 2385
/// sets no limit; a longer key is refused rather than cut.
pub const MD5_MAX_KEY_LEN: usize = 80;

/// `struct tcp_md5sig` of `<linux/tcp.h>`.
#[repr(C)]
struct TcpMd5Sig {
    addr: libc::sockaddr_storage,
    flags: u8,
    prefix_len: u8,
    key_len: u16,
    ifindex: libc::c_int,
    key: [u8; MD5_MAX_KEY_LEN],
}

fn setsockopt<T>(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
    value: &T,
) -> io::Result<()> {
    let len = libc::socklen_t::try_from(mem::size_of::<T>())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "option value too large"))?;
    // SAFETY: `fd` is a valid open descriptor for the duration of the borrow;
    // `value` points to `len` initialised bytes that outlive the call, and
    // the kernel only reads them.
    let rc =
        unsafe { libc::setsockopt(fd.as_raw_fd(), level, name, (value as *const T).cast(), len) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Sign every segment to and from `peer` with `key` (RFC 2385). An empty key
/// removes the signature. Set it on the listening socket (per peer) and on
/// an outgoing socket before `connect`.
pub fn set_md5(fd: BorrowedFd<'_>, peer: IpAddr, key: &[u8]) -> io::Result<()> {
    if key.len() > MD5_MAX_KEY_LEN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "TCP-MD5 key of {} bytes: at most {MD5_MAX_KEY_LEN} are allowed",
                key.len()
            ),
        ));
    }
    // SAFETY: sockaddr_storage is plain data for which all-zero is valid.
    let mut sig: TcpMd5Sig = unsafe { mem::zeroed() };
    match peer {
        IpAddr::V4(a) => {
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
            let sin = unsafe {
                &mut *(&mut sig.addr as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in>()
            };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_addr.s_addr = u32::from(a).to_be();
        }
        IpAddr::V6(a) => {
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
            let sin6 = unsafe {
                &mut *(&mut sig.addr as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in6>()
            };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_addr.s6_addr = a.octets();
        }
    }
    sig.key_len = u16::try_from(key.len()).unwrap_or(0);
    if let Some(dst) = sig.key.get_mut(..key.len()) {
        dst.copy_from_slice(key);
    }
    setsockopt(fd, libc::IPPROTO_TCP, libc::TCP_MD5SIG, &sig)
}

/// The TTL (IPv4) or hop limit (IPv6) of what we send.
pub fn set_ttl(fd: BorrowedFd<'_>, ipv6: bool, ttl: u8) -> io::Result<()> {
    let value = libc::c_int::from(ttl);
    if ipv6 {
        setsockopt(fd, libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS, &value)
    } else {
        setsockopt(fd, libc::IPPROTO_IP, libc::IP_TTL, &value)
    }
}

/// GTSM (RFC 5082 §3): drop what arrives with a TTL (hop limit) below
/// `min`. The sender side sets TTL 255 with [`set_ttl`].
pub fn set_min_ttl(fd: BorrowedFd<'_>, ipv6: bool, min: u8) -> io::Result<()> {
    let value = libc::c_int::from(min);
    if ipv6 {
        setsockopt(fd, libc::IPPROTO_IPV6, libc::IPV6_MINHOPCOUNT, &value)
    } else {
        setsockopt(fd, libc::IPPROTO_IP, libc::IP_MINTTL, &value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream};
    use std::os::fd::AsFd;

    #[test]
    fn md5_keys_longer_than_80_bytes_are_refused() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let err = set_md5(l.as_fd(), "127.0.0.2".parse().unwrap(), &[b'k'; 81]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("81 bytes"));
        set_md5(l.as_fd(), "127.0.0.2".parse().unwrap(), &[b'k'; 80]).unwrap();
    }

    #[test]
    fn md5_signed_connection_on_loopback() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        set_md5(l.as_fd(), "127.0.0.1".parse().unwrap(), b"secret").unwrap();
        // Without the key the SYN is dropped by the kernel: no connection.
        let plain = TcpStream::connect_timeout(&addr, std::time::Duration::from_millis(300));
        assert!(plain.is_err(), "an unsigned connection got through");
        // With it, the connection is made.
        let sock =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        set_md5(sock.as_fd(), "127.0.0.1".parse().unwrap(), b"secret").unwrap();
        sock.connect_timeout(&addr.into(), std::time::Duration::from_secs(2))
            .unwrap();
    }

    #[test]
    fn ttl_options_apply() {
        let s = TcpListener::bind("127.0.0.1:0").unwrap();
        set_ttl(s.as_fd(), false, 255).unwrap();
        set_min_ttl(s.as_fd(), false, 254).unwrap();
        if let Ok(s6) = TcpListener::bind("[::1]:0") {
            set_ttl(s6.as_fd(), true, 255).unwrap();
            set_min_ttl(s6.as_fd(), true, 254).unwrap();
        }
    }
}
