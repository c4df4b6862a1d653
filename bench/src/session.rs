//! A minimal blocking BGP session for the harness: OPEN exchange,
//! KEEPALIVEs from a thread, and framing of received messages. Just enough
//! to drive a target as fast as it reads; no state machine beyond that.

use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use ribbit_wire::{Capability, DecodeContext, EncodeContext, Family, Message, Notification, Open};
use socket2::{Domain, Socket, Type};

/// Who we are on a session.
#[derive(Debug, Clone, Copy)]
pub struct Speaker {
    /// Our AS.
    pub asn: u32,
    /// Our BGP identifier.
    pub router_id: Ipv4Addr,
    /// Our hold time (seconds).
    pub hold_time: u16,
}

/// Errors of the harness's sessions.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// Socket trouble.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The peer sent something the codec refused.
    #[error("peer sent a bad message: {0}")]
    Decode(#[from] ribbit_wire::DecodeError),
    /// The peer closed the session with a NOTIFICATION.
    #[error("peer sent NOTIFICATION {0:?}")]
    Notification(Notification),
    /// Something else than what the OPEN exchange expects.
    #[error("unexpected {0} during the OPEN exchange")]
    Unexpected(&'static str),
    /// Connecting did not succeed in time.
    #[error("could not connect to {0} in time: {1}")]
    ConnectTimeout(SocketAddr, io::Error),
}

/// Connect from `local` (port chosen by the system) to `remote`, retrying
/// refused connections until `timeout` (the target may still be starting).
pub fn connect(
    local: IpAddr,
    remote: SocketAddr,
    timeout: Duration,
) -> Result<TcpStream, SessionError> {
    let deadline = Instant::now() + timeout;
    loop {
        let attempt = (|| {
            let s = Socket::new(Domain::for_address(remote), Type::STREAM, None)?;
            s.set_reuse_address(true)?;
            s.bind(&SocketAddr::new(local, 0).into())?;
            s.connect_timeout(&remote.into(), Duration::from_secs(2))?;
            Ok::<TcpStream, io::Error>(s.into())
        })();
        match attempt {
            Ok(s) => {
                s.set_nodelay(true)?;
                return Ok(s);
            }
            Err(e) if Instant::now() >= deadline => {
                return Err(SessionError::ConnectTimeout(remote, e))
            }
            Err(_) => thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// Listen on `addr` (for the floor run, where the monitor is the passive side).
pub fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let s = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    s.set_reuse_address(true)?;
    s.bind(&addr.into())?;
    s.listen(16)?;
    Ok(s.into())
}

/// Frames BGP messages out of a byte stream.
#[derive(Debug)]
pub struct MessageReader {
    stream: TcpStream,
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl MessageReader {
    /// A reader over `stream`.
    pub fn new(stream: TcpStream) -> Self {
        MessageReader {
            stream,
            buf: vec![0; 1 << 20],
            start: 0,
            end: 0,
        }
    }

    /// The next whole message (header included); `None` when the peer closed.
    pub fn next_message(&mut self) -> io::Result<Option<&[u8]>> {
        loop {
            let avail = self.end - self.start;
            if avail >= 19 {
                let b = &self.buf[self.start..self.end];
                let len = usize::from(u16::from_be_bytes([b[16], b[17]]));
                if len < 19 {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, "bad BGP length"));
                }
                if avail >= len {
                    let at = self.start;
                    self.start += len;
                    return Ok(Some(&self.buf[at..at + len]));
                }
            }
            if self.start > 0 && self.buf.len() - self.end < 65_536 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            let n = self.stream.read(&mut self.buf[self.end..])?;
            if n == 0 {
                return Ok(None);
            }
            self.end += n;
        }
    }
}

/// An established session: the writing half shared with the KEEPALIVE
/// thread, the reading half framed.
#[derive(Debug)]
pub struct Session {
    /// Where messages are written; hold the lock for a whole message or more.
    pub writer: Arc<Mutex<TcpStream>>,
    /// Received messages.
    pub reader: MessageReader,
    /// The peer's OPEN.
    pub peer_open: Open,
    /// How to decode what the peer sends.
    pub decode: DecodeContext,
    /// How to encode what we send.
    pub encode: EncodeContext,
    stop: Arc<AtomicBool>,
}

impl Session {
    /// Exchange OPENs and KEEPALIVEs on a connected stream (RFC 4271 §8:
    /// OpenSent, OpenConfirm, Established), then start sending KEEPALIVEs
    /// every hold time / 3.
    pub fn establish(
        stream: TcpStream,
        me: &Speaker,
        families: &[Family],
    ) -> Result<Session, SessionError> {
        let mut caps: Vec<Capability> = families
            .iter()
            .map(|f| Capability::Multiprotocol(*f))
            .collect();
        caps.push(Capability::RouteRefresh);
        caps.push(Capability::FourOctetAs(me.asn));
        let open = Open::new(me.asn, me.hold_time, me.router_id, caps);
        let ctx = EncodeContext::default();
        let mut w = stream.try_clone()?;
        w.write_all(&Message::Open(open).to_bytes(&ctx))?;
        let mut reader = MessageReader::new(stream.try_clone()?);
        let dctx = DecodeContext::default();
        let Some(m) = reader.next_message()? else {
            return Err(SessionError::Unexpected("end of stream"));
        };
        let peer_open = match Message::decode(m, &dctx)? {
            Message::Open(o) => o,
            Message::Notification(n) => return Err(SessionError::Notification(n)),
            _ => return Err(SessionError::Unexpected("message before OPEN")),
        };
        w.write_all(&Message::Keepalive.to_bytes(&ctx))?;
        let Some(m) = reader.next_message()? else {
            return Err(SessionError::Unexpected("end of stream"));
        };
        match Message::decode(m, &dctx)? {
            Message::Keepalive => {}
            Message::Notification(n) => return Err(SessionError::Notification(n)),
            _ => return Err(SessionError::Unexpected("message before KEEPALIVE")),
        }
        let four = peer_open
            .capabilities
            .iter()
            .any(|c| matches!(c, Capability::FourOctetAs(_)));
        let hold = me.hold_time.min(peer_open.hold_time);
        let writer = Arc::new(Mutex::new(w));
        let stop = Arc::new(AtomicBool::new(false));
        if hold > 0 {
            let (writer, stop) = (writer.clone(), stop.clone());
            let every = Duration::from_secs(u64::from(hold / 3).max(1));
            let keepalive = Message::Keepalive.to_bytes(&ctx);
            thread::spawn(move || {
                let mut last = Instant::now();
                while !stop.load(Ordering::Relaxed) {
                    thread::sleep(Duration::from_millis(100));
                    if last.elapsed() >= every {
                        last = Instant::now();
                        let Ok(mut w) = writer.lock() else { return };
                        if w.write_all(&keepalive).is_err() {
                            return;
                        }
                    }
                }
            });
        }
        Ok(Session {
            writer,
            reader,
            peer_open,
            decode: DecodeContext {
                four_octet_as: four,
                extended_message: false,
                ..DecodeContext::default()
            },
            encode: EncodeContext {
                four_octet_as: four,
                ..EncodeContext::default()
            },
            stop,
        })
    }

    /// A handle that stops the KEEPALIVE thread and closes the socket.
    pub fn closer(&self) -> io::Result<Closer> {
        Ok(Closer {
            socket: Arc::new(self.reader.stream.try_clone()?),
            stop: self.stop.clone(),
        })
    }
}

/// Ends a session from another thread.
#[derive(Debug, Clone)]
pub struct Closer {
    // Not the writer: a write blocked on a full socket holds its lock.
    socket: Arc<TcpStream>,
    stop: Arc<AtomicBool>,
}

impl Closer {
    /// Stop the KEEPALIVEs and shut the socket down (the reader sees the end).
    pub fn close(&self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.socket.shutdown(std::net::Shutdown::Both);
    }
}
