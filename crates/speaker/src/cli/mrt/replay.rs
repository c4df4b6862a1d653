//! `ribbit mrt replay FILE --to HOST:PORT`: send the routes of one peer of
//! a table dump into a BGP session, as fast as the peer reads them, then
//! End-of-RIB (RFC 4724 §2), and keep the session up until Ctrl-C (or exit
//! at once with `--exit-after-eor`). It is also the load generator of the
//! benchmarks: the UPDATEs are packed by attribute set and encoded before
//! the connection is opened, so the measurement starts with the first byte.
//!
//! The session is a real one: `ribbit_fsm::Session` runs the OPEN exchange,
//! the timers and the KEEPALIVEs; this driver only moves bytes. Sending
//! happens in a task of its own, so received messages (and the hold timer)
//! are handled while the peer is still reading the table.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;

use crate::mrt_routes::{Load, LoadError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::mpsc;

use ribbit_fsm::{Input, LocalSettings, Output, Session, SessionConfig};
use ribbit_wire::{DecodeContext, EncodeContext, Family, Message, NlriList, Update, UpdatePacker};

/// Arguments of `ribbit mrt replay`.
#[derive(Debug, Clone, Args)]
pub struct ReplayArgs {
    /// The dump: TABLE_DUMP_V2 or TABLE_DUMP, plain, gzip or bzip2.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The BGP speaker to send to.
    #[arg(long, value_name = "HOST:PORT")]
    pub to: String,
    /// Our address on the session (default: chosen by the system).
    #[arg(long, value_name = "ADDRESS")]
    pub local: Option<IpAddr>,
    /// Our AS (default: the AS of the dump's peer, whose AS paths start
    /// with it, so that nothing is prepended).
    #[arg(long, value_name = "ASN")]
    pub asn: Option<u32>,
    /// The peer's AS (default: taken from the OPEN the peer sends first).
    #[arg(long, value_name = "ASN")]
    pub peer_as: Option<u32>,
    /// Which peer of the dump to replay: its index in the PEER_INDEX_TABLE
    /// (TABLE_DUMP: in order of appearance).
    #[arg(long, value_name = "I", default_value_t = 0)]
    pub peer_index: usize,
    /// Our BGP identifier (default: the dump peer's).
    #[arg(long, value_name = "ID")]
    pub router_id: Option<Ipv4Addr>,
    /// Send this next hop instead of the dump's, for routes of its address
    /// family (repeatable: one IPv4, one IPv6).
    #[arg(long, value_name = "ADDRESS")]
    pub next_hop: Vec<IpAddr>,
    /// Hold time we propose, seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 90)]
    pub hold_time: u16,
    /// Close the session (Cease) once End-of-RIB is written, instead of
    /// staying up until Ctrl-C.
    #[arg(long)]
    pub exit_after_eor: bool,
    /// Give up connecting after this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub connect_timeout: u64,
}

/// Why a replay failed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The dump could not be read, or has no such peer.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The dump's peer has no route.
    #[error("{0}")]
    NoRoutes(String),
    /// An attribute set too large for one UPDATE.
    #[error("{0}")]
    TooLarge(#[from] ribbit_wire::pack::TooLarge),
    /// `--to` does not name a reachable address.
    #[error("--to {0}: {1}")]
    Address(String, String),
    /// Connecting failed.
    #[error("cannot connect to {0}: {1}")]
    Connect(SocketAddr, #[source] io::Error),
    /// The session did not come up or went down.
    #[error("{0}")]
    Session(String),
    /// The runtime could not start.
    #[error("cannot start the runtime: {0}")]
    Runtime(#[source] io::Error),
}

/// Read the routes of the chosen peer from the dump, with the AS and BGP
/// identifier given on the command line.
fn prepare(args: &ReplayArgs) -> Result<Load, ReplayError> {
    let mut load = crate::mrt_routes::load(&args.file, args.peer_index, &args.next_hop)?;
    if let Some(asn) = args.asn {
        load.asn = asn;
    }
    if let Some(id) = args.router_id {
        load.router_id = id;
    }
    Ok(load)
}

/// The UPDATEs of a load for one session, back to back, and the
/// End-of-RIB markers of its families.
struct Encoded {
    ctx: EncodeContext,
    updates: Vec<u8>,
    messages: usize,
    prefixes: usize,
    end_of_rib: Vec<u8>,
}

fn encode(load: &Load, ctx: EncodeContext, families: &[Family]) -> Result<Encoded, ReplayError> {
    let packer = UpdatePacker::new(ctx);
    let mut updates = Vec::new();
    let mut messages = 0usize;
    let mut prefixes = 0usize;
    for g in load.groups.iter().filter(|g| families.contains(&g.family)) {
        messages = messages.saturating_add(packer.announce(
            g.family,
            &g.attributes,
            g.next_hop,
            &NlriList::Prefixes(g.nlri.clone()),
            &mut updates,
        )?);
        prefixes = prefixes.saturating_add(g.nlri.len());
    }
    let mut end_of_rib = Vec::new();
    for f in families {
        Message::Update(Update::end_of_rib(*f)).encode(&ctx, &mut end_of_rib);
    }
    Ok(Encoded {
        ctx,
        updates,
        messages,
        prefixes,
        end_of_rib,
    })
}

/// Run `ribbit mrt replay`.
pub fn run(args: &ReplayArgs) -> Result<ExitCode, ReplayError> {
    let t = Instant::now();
    let load = prepare(args)?;
    let families = load.families();
    if load.prefixes == 0 {
        return Err(ReplayError::NoRoutes(format!(
            "{}: peer {} has no route to replay",
            args.file.display(),
            args.peer_index
        )));
    }
    // What a Ribbit-like peer negotiates: encode now, before connecting.
    let expected = EncodeContext {
        four_octet_as: true,
        ..EncodeContext::default()
    };
    let pre = encode(&load, expected, &families)?;
    eprintln!(
        "ribbit: replay: {} prefixes of AS {} in {} attribute sets, {} UPDATEs ({:.1} MB) ready in {:.2} s{}",
        load.prefixes,
        load.asn,
        load.groups.len(),
        pre.messages,
        pre.updates.len() as f64 / 1e6,
        t.elapsed().as_secs_f64(),
        if load.skipped > 0 {
            format!(", {} paths skipped (no next hop, treat-as-withdraw, or not a prefix)", load.skipped)
        } else {
            String::new()
        }
    );
    let remote = resolve(&args.to)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(ReplayError::Runtime)?;
    rt.block_on(drive(args, &load, pre, families, remote))
}

fn resolve(to: &str) -> Result<SocketAddr, ReplayError> {
    let mut addrs = to
        .to_socket_addrs()
        .map_err(|e| ReplayError::Address(to.to_string(), e.to_string()))?;
    addrs
        .next()
        .ok_or_else(|| ReplayError::Address(to.to_string(), "no address".into()))
}

async fn connect(
    remote: SocketAddr,
    local: Option<IpAddr>,
    timeout: Duration,
) -> Result<TcpStream, ReplayError> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let attempt = async {
            let s = if remote.is_ipv4() {
                TcpSocket::new_v4()?
            } else {
                TcpSocket::new_v6()?
            };
            if let Some(a) = local {
                s.bind(SocketAddr::new(a, 0))?;
            }
            s.connect(remote).await
        };
        match tokio::time::timeout(Duration::from_secs(5), attempt).await {
            Ok(Ok(s)) => {
                s.set_nodelay(true)
                    .map_err(|e| ReplayError::Connect(remote, e))?;
                return Ok(s);
            }
            Ok(Err(e)) if tokio::time::Instant::now() >= deadline => {
                return Err(ReplayError::Connect(remote, e))
            }
            Err(_) if tokio::time::Instant::now() >= deadline => {
                return Err(ReplayError::Connect(
                    remote,
                    io::Error::new(io::ErrorKind::TimedOut, "no answer"),
                ))
            }
            // Refused: the peer may still be starting.
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// Frame messages off the socket (RFC 4271 §4.1) and pass them on; `Err`
/// or the end of the channel when the connection ends.
async fn read_loop(mut rd: OwnedReadHalf, tx: mpsc::Sender<io::Result<Vec<u8>>>) {
    loop {
        let mut head = [0u8; ribbit_wire::HEADER_LEN];
        if let Err(e) = rd.read_exact(&mut head).await {
            let _ = tx.send(Err(e)).await;
            return;
        }
        let len = usize::from(u16::from_be_bytes([head[16], head[17]]));
        if len < ribbit_wire::HEADER_LEN {
            // The session's decoder reports the bad length.
            let _ = tx.send(Ok(head.to_vec())).await;
            return;
        }
        let mut msg = vec![0u8; len];
        msg[..ribbit_wire::HEADER_LEN].copy_from_slice(&head);
        if let Err(e) = rd.read_exact(&mut msg[ribbit_wire::HEADER_LEN..]).await {
            let _ = tx.send(Err(e)).await;
            return;
        }
        if tx.send(Ok(msg)).await.is_err() {
            return;
        }
    }
}

/// Write what is queued, in order; tell after each write.
async fn write_loop(
    mut wr: OwnedWriteHalf,
    mut rx: mpsc::Receiver<Vec<u8>>,
    written: mpsc::UnboundedSender<()>,
) {
    while let Some(chunk) = rx.recv().await {
        if wr.write_all(&chunk).await.is_err() {
            return;
        }
        let _ = written.send(());
    }
    let _ = wr.shutdown().await;
}

/// Bytes of UPDATEs per write.
const CHUNK: usize = 256 * 1024;
/// The connection's id for the session (there is one).
const CONN: u64 = 1;

async fn drive(
    args: &ReplayArgs,
    load: &Load,
    pre: Encoded,
    families: Vec<Family>,
    remote: SocketAddr,
) -> Result<ExitCode, ReplayError> {
    let stream = connect(
        remote,
        args.local,
        Duration::from_secs(args.connect_timeout),
    )
    .await?;
    let (rd, wr) = stream.into_split();
    let (in_tx, mut in_rx) = mpsc::channel(64);
    tokio::spawn(read_loop(rd, in_tx));

    // The peer's AS: given, or from its OPEN, which a speaker sends as
    // soon as the connection is up (RFC 4271 §8.2.2, Connect state).
    let mut first: Option<Vec<u8>> = None;
    let peer_as = match args.peer_as {
        Some(a) => a,
        None => {
            let msg = tokio::time::timeout(Duration::from_secs(10), in_rx.recv())
                .await
                .map_err(|_| {
                    ReplayError::Session(
                        "the peer sent no OPEN within 10 s: give its AS with --peer-as".into(),
                    )
                })?;
            let bytes = match msg {
                Some(Ok(b)) => b,
                _ => {
                    return Err(ReplayError::Session(
                        "the peer closed the connection before its OPEN".into(),
                    ))
                }
            };
            let asn = match Message::decode(&bytes, &DecodeContext::default()) {
                Ok(Message::Open(o)) => o.asn(),
                Ok(Message::Notification(n)) => {
                    return Err(ReplayError::Session(format!("the peer sent {n}")))
                }
                _ => {
                    return Err(ReplayError::Session(
                        "the peer's first message is not an OPEN".into(),
                    ))
                }
            };
            first = Some(bytes);
            asn
        }
    };

    let (out_tx, out_rx) = mpsc::channel::<Vec<u8>>(4);
    let (written_tx, mut written_rx) = mpsc::unbounded_channel();
    let writer = tokio::spawn(write_loop(wr, out_rx, written_tx));
    let mut out_tx = Some(out_tx);

    let settings = LocalSettings {
        asn: load.asn,
        peer_asn: peer_as,
        router_id: load.router_id,
        hold_time: args.hold_time,
        families: families.clone(),
        route_refresh: true,
        enhanced_route_refresh: false,
        extended_message: false,
        add_path: Vec::new(),
        extended_next_hop: Vec::new(),
        role: None,
        extra: Vec::new(),
    };
    let mut session = Session::new(SessionConfig::new(settings), u64::from(std::process::id()));
    let start = Instant::now();
    session.handle(start, Input::Start);

    let mut encoded: Option<Encoded> = Some(pre);
    // Bytes left to queue: the UPDATEs, then End-of-RIB.
    let mut pending: Option<(Vec<u8>, usize)> = None;
    let mut queued = 0u64;
    let mut done_writes = 0u64;
    let mut eor_queued = false;
    let mut reported = false;
    let mut stopping = false;
    let mut first_byte: Option<Instant> = None;
    let mut sent = (0usize, 0usize);
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(ReplayError::Runtime)?;

    loop {
        // Carry out what the session asks.
        while let Some(o) = session.poll_output() {
            match o {
                Output::Connect => {
                    session.handle(Instant::now(), Input::Connected(CONN));
                    if let Some(b) = first.take() {
                        session.handle(Instant::now(), Input::Message(CONN, &b));
                    }
                }
                Output::Send(_, bytes) => {
                    if let Some(tx) = &out_tx {
                        if tx.send(bytes).await.is_ok() {
                            queued += 1;
                        }
                    }
                }
                Output::Close(_) => {
                    out_tx = None;
                }
                Output::Established(_, n) => {
                    let ctx = n.encode_context();
                    let agreed: Vec<Family> = families
                        .iter()
                        .copied()
                        .filter(|f| n.families.contains(f))
                        .collect();
                    if agreed.len() < families.len() {
                        eprintln!(
                            "ribbit: replay: the peer did not agree to {}: not sent",
                            families
                                .iter()
                                .filter(|f| !agreed.contains(f))
                                .map(|f| f.to_string())
                                .collect::<Vec<_>>()
                                .join(", ")
                        );
                    }
                    let mut e = match encoded.take() {
                        Some(e) if e.ctx == ctx && agreed == families => e,
                        _ => encode(load, ctx, &agreed)?,
                    };
                    sent = (e.prefixes, e.messages);
                    let mut all = std::mem::take(&mut e.updates);
                    all.extend_from_slice(&e.end_of_rib);
                    pending = Some((all, 0));
                    eprintln!(
                        "ribbit: replay: session up with AS {} after {:.2} s, sending",
                        n.peer_asn,
                        start.elapsed().as_secs_f64()
                    );
                }
                Output::Down(reason) => {
                    if stopping {
                        drop(out_tx.take());
                        let _ = tokio::time::timeout(Duration::from_secs(5), writer).await;
                        return Ok(ExitCode::SUCCESS);
                    }
                    return Err(ReplayError::Session(format!("session down: {reason}")));
                }
                Output::NotificationReceived(n) => {
                    eprintln!("ribbit: replay: the peer sent {n}");
                }
                Output::StateChanged { .. }
                | Output::Update(_)
                | Output::RouteRefresh(_)
                | Output::NotificationSent(_) => {}
            }
        }
        if stopping && out_tx.is_none() {
            let _ = tokio::time::timeout(Duration::from_secs(5), writer).await;
            return Ok(ExitCode::SUCCESS);
        }
        if eor_queued && done_writes >= queued && !reported {
            reported = true;
            let secs = first_byte.map_or(0.0, |t| t.elapsed().as_secs_f64());
            eprintln!(
                "ribbit: replay: {} prefixes in {} UPDATEs and End-of-RIB written in {:.2} s ({:.0} prefixes/s)",
                sent.0,
                sent.1,
                secs,
                sent.0 as f64 / secs.max(1e-9)
            );
            if args.exit_after_eor {
                stopping = true;
                session.handle(Instant::now(), Input::Stop(None));
                continue;
            }
        }
        let timeout = session
            .poll_timeout()
            .map(tokio::time::Instant::from_std)
            .unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(3600));
        let can_send = pending.is_some() && out_tx.is_some();
        let tx = out_tx.clone();
        tokio::select! {
            msg = in_rx.recv() => match msg {
                Some(Ok(bytes)) => session.handle(Instant::now(), Input::Message(CONN, &bytes)),
                Some(Err(_)) | None => {
                    session.handle(Instant::now(), Input::Closed(CONN));
                    if !stopping && session.negotiated().is_none() && !matches!(session.state(), ribbit_fsm::State::Established) {
                        // Give the session a chance to report why.
                        while let Some(o) = session.poll_output() {
                            if let Output::NotificationReceived(n) = o {
                                return Err(ReplayError::Session(format!("the peer sent {n}")));
                            }
                        }
                        return Err(ReplayError::Session("the peer closed the connection".into()));
                    }
                }
            },
            () = tokio::time::sleep_until(timeout) => session.handle_timeout(Instant::now()),
            permit = async { match &tx { Some(t) => t.reserve().await.ok(), None => None } }, if can_send => {
                if let (Some(permit), Some((bytes, at))) = (permit, pending.as_mut()) {
                    let end = at.saturating_add(CHUNK).min(bytes.len());
                    let chunk = bytes.get(*at..end).unwrap_or(&[]).to_vec();
                    first_byte.get_or_insert_with(Instant::now);
                    permit.send(chunk);
                    queued += 1;
                    *at = end;
                    if end >= bytes.len() {
                        pending = None;
                        eor_queued = true;
                    }
                }
            }
            Some(()) = written_rx.recv() => {
                done_writes += 1;
                session.handle(Instant::now(), Input::Flushed(CONN));
            }
            _ = tokio::signal::ctrl_c(), if !stopping => {
                stopping = true;
                session.handle(Instant::now(), Input::Stop(None));
            }
            _ = term.recv(), if !stopping => {
                stopping = true;
                session.handle(Instant::now(), Input::Stop(None));
            }
        }
    }
}
