//! Opening sockets the way a BGP session wants them: from a given local
//! address, with TCP-MD5 and TTL settings applied before the first SYN.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsFd;
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket, TcpStream};

use super::sockopt;

/// Transport settings of one peer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransportSettings {
    /// Our address on the session, if fixed.
    pub local_address: Option<IpAddr>,
    /// TCP-MD5 key (RFC 2385), at most 80 bytes.
    pub md5_key: Option<Vec<u8>>,
    /// The TTL (hop limit) of what we send: 255 with GTSM, the multihop
    /// value, or the system's default.
    pub outgoing_ttl: Option<u8>,
    /// GTSM (RFC 5082): the smallest TTL accepted from the peer.
    pub minimum_ttl: Option<u8>,
}

impl TransportSettings {
    /// Apply the TTL settings to a socket.
    pub fn apply_ttl(&self, fd: std::os::fd::BorrowedFd<'_>, ipv6: bool) -> io::Result<()> {
        if let Some(ttl) = self.outgoing_ttl {
            sockopt::set_ttl(fd, ipv6, ttl)?;
        }
        if let Some(min) = self.minimum_ttl {
            sockopt::set_min_ttl(fd, ipv6, min)?;
        }
        Ok(())
    }
}

/// Connect to `peer`, giving up after `timeout`.
pub async fn connect(
    peer: SocketAddr,
    settings: &TransportSettings,
    timeout: Duration,
) -> io::Result<TcpStream> {
    let socket = if peer.is_ipv6() {
        TcpSocket::new_v6()?
    } else {
        TcpSocket::new_v4()?
    };
    if let Some(key) = &settings.md5_key {
        sockopt::set_md5(socket.as_fd(), peer.ip(), key)?;
    }
    settings.apply_ttl(socket.as_fd(), peer.is_ipv6())?;
    if let Some(local) = settings.local_address {
        socket.bind(SocketAddr::new(local, 0))?;
    }
    tokio::time::timeout(timeout, socket.connect(peer))
        .await
        .map_err(|_| {
            io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no answer from {peer} within {timeout:?}"),
            )
        })?
}

/// Listen on `addr`. IPv6 sockets listen on IPv6 only, so that
/// `0.0.0.0:179` and `[::]:179` can both be bound.
pub fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv6() {
        let s = socket2::Socket::new(socket2::Domain::IPV6, socket2::Type::STREAM, None)?;
        s.set_only_v6(true)?;
        s
    } else {
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?
    };
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    TcpListener::from_std(socket.into())
}
