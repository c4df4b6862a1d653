//! The MRT recorder of `[mrt]`: what the speaker receives, in the files
//! route collectors write (RFC 6396).
//!
//! - Updates: every UPDATE received on an established session as a
//!   BGP4MP_ET MESSAGE_AS4 record (MESSAGE when the session uses 2-octet AS
//!   numbers, the `_ADDPATH` subtypes of RFC 8050 when the session receives
//!   ADD-PATH in the UPDATE's family), and every state change of a
//!   neighbor's state machine as STATE_CHANGE_AS4. They come from a
//!   lossless tap ([`crate::tap`]): when the disk is slow the sessions wait,
//!   nothing is lost. A thread of its own writes them, so disk I/O never
//!   stalls the runtime; a new file starts at each interval boundary
//!   (aligned on the Unix epoch), the previous one is then finished.
//! - Table: at each boundary of `table-interval`, a TABLE_DUMP_V2 snapshot:
//!   PEER_INDEX_TABLE, then RIB_IPV4_UNICAST / RIB_IPV6_UNICAST (and the
//!   multicast) records of every neighbor's accepted paths (the post-policy
//!   Adj-RIBs-In), RIB_GENERIC for other families, the `_ADDPATH` subtypes
//!   for paths received with a path identifier. The RIB is walked in pages of [`PAGE`] destinations, each
//!   one query, so that it serves its neighbors between two; files are
//!   written on blocking threads, under a temporary name renamed when done.
//!
//! Failures (a directory missing, a full disk) are logged once, until the
//! next success; the recorder never stops the speaker.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ribbit_fsm::State;
use ribbit_mrt::bgp4mp::{state, Bgp4mp, Bgp4mpEvent};
use ribbit_mrt::{
    Body, CompressedWriter, Compression, Peer, PeerIndexTable, Record, Rib, RibEntry, RibNlri,
    TableDumpV2,
};
use ribbit_rib::{DestinationView, PeerId};
use ribbit_wire::nlri::Nlri;
use ribbit_wire::{Afi, Family, NextHop, Safi};
use tokio::sync::{oneshot, watch};
use tracing::{info, warn};

use crate::config::{FilePattern, MrtConfig};
use crate::rib_task::{RibControl, RibHandle, RibQuery};
use crate::tap::{TapMode, TapReceiver, TapRecord, TapSession, Taps};

/// How many records the updates tap holds before sessions wait.
const TAP_CAPACITY: usize = 4096;
/// Destinations per RIB query of a table snapshot.
pub const PAGE: usize = 1024;
/// AS_TRANS (RFC 6793): a 4-octet AS number in a 2-octet field.
const AS_TRANS: u32 = 23456;

type FileWriter = CompressedWriter<BufWriter<File>>;

/// The running recorder.
#[derive(Debug)]
pub struct MrtDump {
    stop: watch::Sender<bool>,
    done: Mutex<Vec<oneshot::Receiver<()>>>,
}

impl MrtDump {
    /// Start the recorder. Call before the neighbors start, so that the tap
    /// sees every session. Must run within a tokio runtime.
    pub fn start(
        config: &MrtConfig,
        collector_id: Ipv4Addr,
        taps: &Arc<Taps>,
        rib: RibHandle,
    ) -> MrtDump {
        let (stop, stop_rx) = watch::channel(false);
        let mut done = Vec::new();
        if let Some(pattern) = &config.updates {
            let (tx, rx) = oneshot::channel();
            let tap = taps.open(TapMode::Lossless, TAP_CAPACITY, false);
            let updates = Updates {
                pattern: pattern.clone(),
                interval: config.updates_interval.as_secs(),
                compress: config.compress,
                file: None,
                warned: false,
            };
            let handle = tokio::runtime::Handle::current();
            let ticks = ticker(config.updates_interval.as_secs(), stop_rx.clone());
            let stop_rx = stop_rx.clone();
            let spawned = std::thread::Builder::new()
                .name("ribbit-mrt".into())
                .spawn(move || {
                    updates.run(&handle, tap, ticks, stop_rx);
                    let _ = tx.send(());
                });
            match spawned {
                Ok(_) => done.push(rx),
                Err(e) => warn!(error = %e, "mrt: cannot start the updates writer"),
            }
        }
        if let Some(pattern) = &config.table {
            let (tx, rx) = oneshot::channel();
            let tables = Tables {
                pattern: pattern.clone(),
                interval: config.table_interval.as_secs().max(1),
                compress: config.compress,
                collector_id,
                rib,
                warned: false,
            };
            tokio::spawn(async move {
                tables.run(stop_rx).await;
                let _ = tx.send(());
            });
            done.push(rx);
        }
        MrtDump {
            stop,
            done: Mutex::new(done),
        }
    }

    /// Stop: the updates file gets what the tap still holds and is
    /// finished; a snapshot being written is abandoned (its temporary file
    /// removed). Waits for both, at most 10 s.
    pub async fn stop(&self) {
        self.stop.send_replace(true);
        let done = std::mem::take(&mut *self.done.lock().unwrap_or_else(PoisonError::into_inner));
        for rx in done {
            let _ = tokio::time::timeout(Duration::from_secs(10), rx).await;
        }
    }
}

/// A tick at every boundary of `interval` seconds (none when 0) until
/// stopped. The updates thread waits on channels only, never on the
/// runtime's timers, so that a runtime shut down under it ends it instead
/// of making it panic.
fn ticker(interval: u64, mut stop: watch::Receiver<bool>) -> tokio::sync::mpsc::Receiver<()> {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    tokio::spawn(async move {
        loop {
            let wait = match interval {
                0 => None,
                i => {
                    let now = SystemTime::now()
                        .duration_since(UNIX_EPOCH)
                        .unwrap_or_default();
                    let next = period_start(now.as_secs(), i).saturating_add(i);
                    Some(Duration::from_secs(next).saturating_sub(now))
                }
            };
            tokio::select! {
                () = async {
                    match wait {
                        Some(d) => tokio::time::sleep(d).await,
                        None => std::future::pending().await,
                    }
                } => {
                    // A tick already waiting says the same.
                    let _ = tx.try_send(());
                }
                _ = stop.wait_for(|s| *s) => return,
                () = tx.closed() => return,
            }
        }
    });
    rx
}

/// Seconds since the epoch and microseconds of a time (0 before 1970,
/// saturated after 2106).
fn unix(t: SystemTime) -> (u64, u32) {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    (d.as_secs(), d.subsec_micros())
}

/// The start of the period of `secs`.
fn period_start(secs: u64, interval: u64) -> u64 {
    match interval {
        0 => 0,
        i => secs - secs % i,
    }
}

/// Open (append: a restart within one period adds to its file; the reader
/// reads concatenated gzip and bzip2 streams) a dump file.
fn open(path: &Path, compress: Compression, append: bool) -> std::io::Result<FileWriter> {
    let file = OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(path)?;
    Ok(CompressedWriter::new(
        BufWriter::with_capacity(256 * 1024, file),
        compress,
    ))
}

/// The updates file being written.
struct UpdatesFile {
    period: u64,
    path: PathBuf,
    writer: FileWriter,
    records: u64,
}

/// The updates writer (on a thread of its own).
struct Updates {
    pattern: FilePattern,
    interval: u64,
    compress: Compression,
    file: Option<UpdatesFile>,
    warned: bool,
}

/// What the updates thread waits for.
enum Wake {
    Record(Option<TapRecord>),
    Boundary,
    Stop,
}

impl Updates {
    fn run(
        mut self,
        handle: &tokio::runtime::Handle,
        mut tap: TapReceiver,
        mut ticks: tokio::sync::mpsc::Receiver<()>,
        mut stop: watch::Receiver<bool>,
    ) {
        let mut buf = Vec::with_capacity(4096);
        loop {
            let wake = handle.block_on(async {
                tokio::select! {
                    r = tap.recv() => Wake::Record(r),
                    t = ticks.recv() => match t {
                        Some(()) => Wake::Boundary,
                        // The runtime is going away.
                        None => Wake::Stop,
                    },
                    _ = stop.wait_for(|s| *s) => Wake::Stop,
                }
            });
            match wake {
                Wake::Record(Some(r)) => self.record(&r, &mut buf),
                Wake::Record(None) => break,
                Wake::Boundary => {
                    let now = period_start(unix(SystemTime::now()).0, self.interval);
                    if self.interval > 0 && self.file.as_ref().is_some_and(|f| f.period < now) {
                        self.close();
                    }
                }
                Wake::Stop => {
                    // What the neighbors reported while stopping: whatever
                    // the tap holds now, without waiting.
                    while let Some(r) = handle.block_on(async {
                        tokio::select! {
                            biased;
                            r = tap.recv() => r,
                            () = std::future::ready(()) => None,
                        }
                    }) {
                        self.record(&r, &mut buf);
                    }
                    break;
                }
            }
        }
        self.close();
    }

    fn fail(&mut self, what: &str, path: &Path, e: &dyn std::fmt::Display) {
        if !self.warned {
            self.warned = true;
            warn!(file = %path.display(), error = %e, "mrt: {what}; updates are not recorded until it works again");
        }
    }

    fn record(&mut self, r: &TapRecord, buf: &mut Vec<u8>) {
        let Some(record) = bgp4mp(r) else {
            return;
        };
        let secs = u64::from(record.timestamp);
        // A record stamped before the current file's period (it waited in
        // the tap) goes into the current file: files are never reopened.
        let current = self.file.as_ref().map(|f| f.period);
        let period = match self.interval {
            // One file, named after the time of its first record.
            0 => current.unwrap_or(secs),
            i => period_start(secs, i).max(current.unwrap_or(0)),
        };
        if self.file.as_ref().is_some_and(|f| f.period != period) {
            self.close();
        }
        if self.file.is_none() {
            let path = self.pattern.expand(period);
            match open(&path, self.compress, true) {
                Ok(writer) => {
                    info!(file = %path.display(), "mrt: recording updates");
                    self.file = Some(UpdatesFile {
                        period,
                        path,
                        writer,
                        records: 0,
                    });
                }
                Err(e) => {
                    self.fail("cannot open the updates file", &path, &e);
                    return;
                }
            }
        }
        buf.clear();
        if let Err(e) = record.encode(buf) {
            warn!(error = %e, "mrt: a record could not be encoded");
            return;
        }
        let Some(f) = self.file.as_mut() else {
            return;
        };
        match f.writer.write_all(buf) {
            Ok(()) => {
                f.records = f.records.saturating_add(1);
                self.warned = false;
            }
            Err(e) => {
                // What the buffer held is lost; the next record opens the
                // file again (appending: a new gzip or bzip2 stream).
                let path = f.path.clone();
                self.file = None;
                self.fail("cannot write the updates file", &path, &e);
            }
        }
    }

    fn close(&mut self) {
        let Some(f) = self.file.take() else {
            return;
        };
        match f.writer.finish() {
            Ok(_) => info!(file = %f.path.display(), records = f.records, "mrt: updates file done"),
            Err(e) => self.fail("cannot finish the updates file", &f.path, &e),
        }
    }
}

/// The state numbers of RFC 6396 §4.4.1.
fn state_number(s: State) -> u16 {
    match s {
        State::Idle => state::IDLE,
        State::Connect => state::CONNECT,
        State::Active => state::ACTIVE,
        State::OpenSent => state::OPEN_SENT,
        State::OpenConfirm => state::OPEN_CONFIRM,
        State::Established => state::ESTABLISHED,
    }
}

/// The unspecified address of `peer`'s family (our address when unknown).
fn unspecified_like(peer: IpAddr) -> IpAddr {
    match peer {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    }
}

/// `local` if of `peer`'s family, else the unspecified address of it (a
/// BGP4MP record has one address family for both).
fn same_family(peer: IpAddr, local: Option<IpAddr>) -> IpAddr {
    match local {
        Some(l) if l.is_ipv4() == peer.is_ipv4() => l,
        _ => unspecified_like(peer),
    }
}

/// The BGP4MP_ET record of a tap record: received UPDATEs and state
/// changes; `None` for the rest.
fn bgp4mp(r: &TapRecord) -> Option<Record> {
    let (at, body) = match r {
        TapRecord::Received {
            session,
            at,
            message,
        } => {
            // RFC 4271 §4.1: the type is the 19th octet; 2 is UPDATE.
            if message.get(18) != Some(&2) {
                return None;
            }
            (*at, message_record(session, message))
        }
        TapRecord::State {
            peer,
            local_asn,
            peer_asn,
            local,
            from,
            to,
            at,
        } => (
            *at,
            Bgp4mp {
                peer_as: *peer_asn,
                local_as: *local_asn,
                interface: 0,
                peer_ip: *peer,
                local_ip: same_family(*peer, *local),
                as4: true,
                event: Bgp4mpEvent::StateChange {
                    old: state_number(*from),
                    new: state_number(*to),
                },
            },
        ),
        TapRecord::Up(_) | TapRecord::Sent { .. } | TapRecord::Down { .. } => return None,
    };
    let (secs, micros) = unix(at);
    Some(Record {
        timestamp: u32::try_from(secs).unwrap_or(u32::MAX),
        microseconds: Some(micros),
        body: Body::Bgp4mp(body),
    })
}

fn message_record(session: &TapSession, message: &[u8]) -> Bgp4mp {
    let n = &session.negotiated;
    let peer_ip = session.remote.map_or(session.peer, |a| a.ip());
    // The AS fields take the width of the session's AS_PATHs (the subtype
    // says both); a 4-octet AS in a 2-octet field is AS_TRANS (RFC 6793).
    let asn = |a: u32| {
        if n.four_octet_as || a <= u32::from(u16::MAX) {
            a
        } else {
            AS_TRANS
        }
    };
    let add_path = update_family(message).is_some_and(|f| n.add_path_receive.contains(f));
    Bgp4mp {
        peer_as: asn(session.peer_asn),
        local_as: asn(session.local_asn),
        interface: 0,
        peer_ip,
        local_ip: same_family(peer_ip, session.local.map(|a| a.ip())),
        as4: n.four_octet_as,
        event: Bgp4mpEvent::Message {
            local: false,
            add_path,
            bytes: message.to_vec(),
        },
    }
}

/// The family of an UPDATE's routes: IPv4 unicast when it has withdrawn
/// routes or NLRI in its body (RFC 4271 §4.3), else the family of its
/// MP_REACH_NLRI or MP_UNREACH_NLRI (RFC 4760 §3, §4); `None` when it has
/// neither or is malformed. MRT's `_ADDPATH` subtypes apply to a whole
/// message, so this is what decides them.
///
/// ```text
///  Header (19) | Withdrawn Length (2) | Withdrawn | Attributes Length (2)
///  | Attributes: Flags (1) | Type (1) | Length (1, or 2 if Extended) | Value
///  | NLRI
/// ```
pub fn update_family(message: &[u8]) -> Option<Family> {
    let body = message.get(ribbit_wire::HEADER_LEN..)?;
    let (w, rest) = body.split_first_chunk::<2>()?;
    let withdrawn = usize::from(u16::from_be_bytes(*w));
    let rest = rest.get(withdrawn..)?;
    let (a, rest) = rest.split_first_chunk::<2>()?;
    let attrs_len = usize::from(u16::from_be_bytes(*a));
    let mut attrs = rest.get(..attrs_len)?;
    let nlri = rest.get(attrs_len..)?;
    if withdrawn > 0 || !nlri.is_empty() {
        return Some(Family::IPV4_UNICAST);
    }
    while let Some((&[flags, code], after)) = attrs.split_first_chunk::<2>() {
        let (len, after) = if flags & 0x10 != 0 {
            let (l, after) = after.split_first_chunk::<2>()?;
            (usize::from(u16::from_be_bytes(*l)), after)
        } else {
            let (l, after) = after.split_first()?;
            (usize::from(*l), after)
        };
        let value = after.get(..len)?;
        if code == 14 || code == 15 {
            if let Some(&[a0, a1, safi]) = value.first_chunk::<3>() {
                return Some(Family::new(Afi(u16::from_be_bytes([a0, a1])), Safi(safi)));
            }
            return None;
        }
        attrs = after.get(len..)?;
    }
    None
}

/// The table snapshot task.
struct Tables {
    pattern: FilePattern,
    interval: u64,
    compress: Compression,
    collector_id: Ipv4Addr,
    rib: RibHandle,
    warned: bool,
}

/// Why a snapshot failed.
#[derive(Debug, thiserror::Error)]
enum SnapshotError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("the RIB did not answer")]
    Rib,
    #[error("stopped")]
    Stopped,
    #[error("a blocking writer failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// What a snapshot wrote.
#[derive(Debug, Default)]
struct Counts {
    prefixes: u64,
    entries: u64,
}

impl Tables {
    async fn run(mut self, mut stop: watch::Receiver<bool>) {
        loop {
            let now = unix(SystemTime::now()).0;
            let next = period_start(now, self.interval).saturating_add(self.interval);
            let wait = Duration::from_secs(next.saturating_sub(now));
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            let path = self.pattern.expand(next);
            let started = std::time::Instant::now();
            match self.snapshot(&path, next, &stop).await {
                Ok(c) => {
                    self.warned = false;
                    info!(
                        file = %path.display(),
                        prefixes = c.prefixes,
                        entries = c.entries,
                        seconds = started.elapsed().as_secs_f64(),
                        "mrt: table snapshot written"
                    );
                }
                Err(SnapshotError::Stopped) => return,
                Err(e) if !self.warned => {
                    self.warned = true;
                    warn!(file = %path.display(), error = %e, "mrt: table snapshot failed; no snapshot until one works again");
                }
                Err(_) => {}
            }
        }
    }

    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> RibQuery,
    ) -> Result<T, SnapshotError> {
        let (reply, rx) = oneshot::channel();
        self.rib
            .control
            .send(RibControl::Query(make(reply)))
            .map_err(|_| SnapshotError::Rib)?;
        rx.await.map_err(|_| SnapshotError::Rib)
    }

    /// Write one snapshot to `path` (through a temporary file).
    async fn snapshot(
        &self,
        path: &Path,
        time: u64,
        stop: &watch::Receiver<bool>,
    ) -> Result<Counts, SnapshotError> {
        let mut partial = path.as_os_str().to_owned();
        partial.push(".partial");
        let partial = PathBuf::from(partial);
        let result = self.write_to(&partial, time, stop).await;
        let done = match result {
            Ok(c) => {
                let (from, to) = (partial.clone(), path.to_path_buf());
                tokio::task::spawn_blocking(move || std::fs::rename(from, to)).await??;
                Ok(c)
            }
            Err(e) => Err(e),
        };
        if done.is_err() {
            let p = partial.clone();
            let _ = tokio::task::spawn_blocking(move || std::fs::remove_file(p)).await;
        }
        done
    }

    async fn write_to(
        &self,
        partial: &Path,
        time: u64,
        stop: &watch::Receiver<bool>,
    ) -> Result<Counts, SnapshotError> {
        let timestamp = u32::try_from(time).unwrap_or(u32::MAX);
        let peers = self.ask(|reply| RibQuery::Peers { reply }).await?;
        // The index of each neighbor in the PEER_INDEX_TABLE.
        let index: Vec<(PeerId, u16)> = peers
            .iter()
            .zip(0u16..)
            .map(|((id, ..), i)| (*id, i))
            .collect();
        let table = PeerIndexTable {
            collector_id: self.collector_id,
            view_name: String::new(),
            peers: peers
                .iter()
                .take(usize::from(u16::MAX))
                .map(|(_, address, asn, bgp_id)| Peer {
                    bgp_id: *bgp_id,
                    address: *address,
                    asn: *asn,
                })
                .collect(),
        };
        let mut buf = Vec::with_capacity(512 * 1024);
        Record {
            timestamp,
            microseconds: None,
            body: Body::TableDumpV2(TableDumpV2::PeerIndexTable(table)),
        }
        .encode(&mut buf)
        .map_err(|e| std::io::Error::other(e.to_string()))?;
        let (file, compress) = (partial.to_path_buf(), self.compress);
        let mut writer =
            tokio::task::spawn_blocking(move || open(&file, compress, false)).await??;
        let mut counts = Counts::default();
        let mut sequence = 0u32;
        for family in Family::known() {
            let mut after = None;
            loop {
                if *stop.borrow() {
                    return Err(SnapshotError::Stopped);
                }
                let page = self
                    .ask(|reply| RibQuery::Dump {
                        family,
                        after,
                        limit: PAGE,
                        reply,
                    })
                    .await?;
                let Some(last) = page
                    .last()
                    .and_then(|d| d.paths.first())
                    .map(|p| p.route.nlri.clone())
                else {
                    break;
                };
                after = Some(last);
                for d in &page {
                    for rib in rib_records(d, &index, timestamp, &mut sequence) {
                        counts.entries = counts.entries.saturating_add(rib.entries.len() as u64);
                        Record {
                            timestamp,
                            microseconds: None,
                            body: Body::TableDumpV2(TableDumpV2::Rib(rib)),
                        }
                        .encode(&mut buf)
                        .map_err(|e| std::io::Error::other(e.to_string()))?;
                    }
                    counts.prefixes = counts.prefixes.saturating_add(1);
                }
                let bytes = std::mem::take(&mut buf);
                let (w, bytes) = tokio::task::spawn_blocking(move || {
                    let r = writer.write_all(&bytes);
                    (r.map(|()| writer), bytes)
                })
                .await?;
                writer = w?;
                buf = bytes;
                buf.clear();
                if page.len() < PAGE {
                    break;
                }
            }
        }
        let bytes = std::mem::take(&mut buf);
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            writer.write_all(&bytes)?;
            writer
                .finish()?
                .into_inner()
                .map_err(|e| e.into_error())?
                .sync_all()
        })
        .await??;
        Ok(counts)
    }
}

/// What a destination's RIB record names: its prefix for the families
/// with subtypes of their own (IPv4 and IPv6 unicast and multicast, RFC
/// 6396 §4.3.2), else its NLRI in a RIB_GENERIC record (§4.3.3: labeled,
/// VPN, Flowspec); and whether the record is RIB_GENERIC. `None` when it
/// has no path.
fn destination_nlri(d: &DestinationView) -> Option<(RibNlri, bool)> {
    let nlri = &d.paths.first()?.route.nlri;
    let specific = matches!(
        d.family,
        Family::IPV4_UNICAST
            | Family::IPV6_UNICAST
            | Family::IPV4_MULTICAST
            | Family::IPV6_MULTICAST
    );
    match (specific, nlri.iter().next()?) {
        (true, Nlri::Prefix(p)) => Some((RibNlri::Prefix(p.prefix), false)),
        // The path identifier goes in the entries, not in the NLRI (as
        // GoBGP and OpenBGPD write RIB_GENERIC_ADDPATH).
        _ => Some((RibNlri::Other(nlri.clone()), true)),
    }
}

/// The RIB records of one destination: the neighbors' paths without a
/// path identifier in the plain subtype, those with one in the ADD-PATH
/// subtype (RFC 8050 §4); our own routes are not dumped (they are no
/// neighbor's). The RIB does not keep when a path arrived: the originated
/// time is the snapshot's.
fn rib_records(
    d: &DestinationView,
    index: &[(PeerId, u16)],
    timestamp: u32,
    sequence: &mut u32,
) -> Vec<Rib> {
    let Some((nlri, generic)) = destination_nlri(d) else {
        return Vec::new();
    };
    // RFC 6396 §4.3.4: NEXT_HOP carries the IPv4 next hops of the IPv4
    // subtypes; MP_REACH_NLRI (next hop only) every other one.
    let classic = d.family.afi == Afi::IPV4 && !generic;
    let mut plain = Vec::new();
    let mut with_ids = Vec::new();
    for p in &d.paths {
        let Some(peer_index) = p
            .route
            .peer
            .and_then(|id| index.iter().find(|(i, _)| *i == id).map(|(_, n)| *n))
        else {
            continue;
        };
        let mut attributes = p.route.attrs.attributes.clone();
        // RFC 6396 §4.3.4: IPv4 next hops in NEXT_HOP, others in the short
        // MP_REACH_NLRI.
        let mp_next_hop = match p.route.attrs.next_hop {
            NextHop::V4(a) if classic => {
                attributes.next_hop = Some(a);
                None
            }
            NextHop::Empty => None,
            nh => Some(nh),
        };
        let entry = RibEntry {
            peer_index,
            originated: timestamp,
            path_id: p.route.path_id,
            attributes,
            mp_next_hop,
            issues: Vec::new(),
        };
        if entry.path_id.is_some() {
            with_ids.push(entry);
        } else {
            plain.push(entry);
        }
    }
    let mut out = Vec::new();
    for (add_path, entries) in [(false, plain), (true, with_ids)] {
        if entries.is_empty() {
            continue;
        }
        out.push(Rib {
            sequence: *sequence,
            family: d.family,
            generic,
            add_path,
            nlri: nlri.clone(),
            entries,
        });
        *sequence = sequence.wrapping_add(1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(withdrawn: &[u8], attrs: &[u8], nlri: &[u8]) -> Vec<u8> {
        let mut m = vec![0xff; 16];
        let len = 19 + 2 + withdrawn.len() + 2 + attrs.len() + nlri.len();
        m.extend_from_slice(&(len as u16).to_be_bytes());
        m.push(2);
        m.extend_from_slice(&(withdrawn.len() as u16).to_be_bytes());
        m.extend_from_slice(withdrawn);
        m.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
        m.extend_from_slice(attrs);
        m.extend_from_slice(nlri);
        m
    }

    #[test]
    fn the_family_of_an_update_is_found() {
        assert_eq!(
            update_family(&update(&[], &[0x40, 1, 1, 0], &[24, 10, 0, 0])),
            Some(Family::IPV4_UNICAST)
        );
        assert_eq!(
            update_family(&update(&[8, 10], &[], &[])),
            Some(Family::IPV4_UNICAST)
        );
        // ORIGIN, then MP_UNREACH_NLRI with an extended length: IPv6 unicast.
        let attrs = [0x40, 1, 1, 0, 0x90, 15, 0, 3, 0, 2, 1];
        assert_eq!(
            update_family(&update(&[], &attrs, &[])),
            Some(Family::IPV6_UNICAST)
        );
        // IPv4 End-of-RIB: nothing to tell.
        assert_eq!(update_family(&update(&[], &[], &[])), None);
        // Lengths past the end, a truncated header: no panic, no family.
        assert_eq!(update_family(&update(&[], &[0x40, 1, 9, 0], &[])), None);
        assert_eq!(update_family(&[0xff; 20]), None);
        let mut bad = update(&[], &[0x80, 14, 2, 0, 2], &[]);
        bad.truncate(bad.len() - 1);
        assert_eq!(update_family(&bad), None);
    }

    fn path(
        family: Family,
        prefix: &str,
        peer: Option<u32>,
        path_id: Option<u32>,
        next_hop: NextHop,
    ) -> ribbit_rib::PathView {
        let attributes = ribbit_wire::PathAttributes {
            origin: Some(ribbit_wire::Origin::Igp),
            as_path: Some(ribbit_wire::AsPath::sequence(vec![65001])),
            ..Default::default()
        };
        ribbit_rib::PathView {
            route: ribbit_rib::RouteView {
                family,
                nlri: ribbit_wire::NlriList::Prefixes(vec![ribbit_wire::nlri::PrefixNlri {
                    path_id,
                    prefix: prefix.parse().unwrap(),
                }]),
                path_id,
                attrs: ribbit_rib::AttrSet::new(ribbit_rib::RouteAttrs {
                    next_hop,
                    attributes,
                }),
                peer: peer.map(PeerId),
                stale: false,
            },
            best: false,
            llgr_stale: false,
            ineligible: None,
        }
    }

    #[test]
    fn rib_records_split_add_path_and_place_next_hops() {
        let v4: NextHop = NextHop::V4("192.0.2.1".parse().unwrap());
        let v6 = NextHop::V6 {
            global: "2001:db8::1".parse().unwrap(),
            link_local: None,
        };
        let index = [(PeerId(3), 0u16), (PeerId(5), 1u16)];
        let d = DestinationView {
            family: Family::IPV4_UNICAST,
            paths: vec![
                path(Family::IPV4_UNICAST, "10.0.0.0/8", Some(3), None, v4),
                // Our own route: no neighbor's, not dumped.
                path(Family::IPV4_UNICAST, "10.0.0.0/8", None, None, v4),
                path(Family::IPV4_UNICAST, "10.0.0.0/8", Some(5), Some(7), v6),
                // A neighbor the PEER_INDEX_TABLE does not have.
                path(Family::IPV4_UNICAST, "10.0.0.0/8", Some(9), None, v4),
            ],
            step: None,
        };
        let mut seq = u32::MAX;
        let recs = rib_records(&d, &index, 42, &mut seq);
        assert_eq!(recs.len(), 2);
        assert_eq!(seq, 1);
        let (plain, ids) = (&recs[0], &recs[1]);
        assert_eq!((plain.sequence, plain.add_path), (u32::MAX, false));
        assert_eq!((ids.sequence, ids.add_path), (0, true));
        assert_eq!(plain.entries.len(), 1);
        let e = &plain.entries[0];
        assert_eq!((e.peer_index, e.originated, e.path_id), (0, 42, None));
        assert_eq!(e.attributes.next_hop, Some("192.0.2.1".parse().unwrap()));
        assert_eq!(e.mp_next_hop, None);
        let e = &ids.entries[0];
        assert_eq!((e.peer_index, e.path_id), (1, Some(7)));
        // RFC 8950: an IPv6 next hop of IPv4 NLRI goes in MP_REACH_NLRI.
        assert_eq!((e.attributes.next_hop, e.mp_next_hop), (None, Some(v6)));
        // Every record encodes and decodes back.
        for r in recs {
            let record = Record {
                timestamp: 42,
                microseconds: None,
                body: Body::TableDumpV2(TableDumpV2::Rib(r)),
            };
            let mut out = Vec::new();
            record.encode(&mut out).unwrap();
            let (back, used) = ribbit_mrt::decode(&out).unwrap();
            assert_eq!(used, out.len());
            let (Body::TableDumpV2(TableDumpV2::Rib(a)), Body::TableDumpV2(TableDumpV2::Rib(b))) =
                (back.body, record.body)
            else {
                panic!()
            };
            assert_eq!(a.entries.len(), b.entries.len());
            assert_eq!(a.entries[0].next_hop(), b.entries[0].next_hop());
        }
    }

    #[test]
    fn other_families_are_rib_generic() {
        let nh = NextHop::V4("192.0.2.9".parse().unwrap());
        let mut p = path(Family::IPV4_LABELED, "10.0.0.0/8", Some(3), None, nh);
        p.route.nlri = ribbit_wire::NlriList::Labeled(vec![ribbit_wire::nlri::LabeledNlri {
            path_id: None,
            labels: vec![ribbit_wire::nlri::Label::new(100)],
            prefix: "10.0.0.0/8".parse().unwrap(),
        }]);
        let d = DestinationView {
            family: Family::IPV4_LABELED,
            paths: vec![p],
            step: None,
        };
        let mut seq = 0;
        let recs = rib_records(&d, &[(PeerId(3), 0)], 42, &mut seq);
        assert_eq!(recs.len(), 1);
        assert!(recs[0].generic);
        assert_eq!(recs[0].entries[0].mp_next_hop, Some(nh));
        assert_eq!(recs[0].entries[0].attributes.next_hop, None);
        let record = Record {
            timestamp: 42,
            microseconds: None,
            body: Body::TableDumpV2(TableDumpV2::Rib(recs[0].clone())),
        };
        let mut out = Vec::new();
        record.encode(&mut out).unwrap();
        assert_eq!(
            record.type_and_subtype().unwrap().1,
            ribbit_mrt::table_dump_v2::subtype::RIB_GENERIC
        );
        let (back, _) = ribbit_mrt::decode(&out).unwrap();
        let Body::TableDumpV2(TableDumpV2::Rib(rib)) = back.body else {
            panic!()
        };
        assert_eq!(rib.family, Family::IPV4_LABELED);
        // As encoded: the bottom-of-stack bit set on the last label.
        let RibNlri::Other(ribbit_wire::NlriList::Labeled(l)) = &rib.nlri else {
            panic!("{:?}", rib.nlri)
        };
        assert_eq!(l[0].prefix, "10.0.0.0/8".parse().unwrap());
        assert_eq!(l[0].labels, vec![ribbit_wire::nlri::Label(100 << 4 | 1)]);
        assert_eq!(rib.entries[0].next_hop(), Some(nh));
    }

    #[test]
    fn updates_become_bgp4mp_et_records() {
        use ribbit_fsm::State;
        let at = UNIX_EPOCH + Duration::from_micros(1_700_000_000_123_456);
        let r = bgp4mp(&TapRecord::State {
            peer: "2001:db8::2".parse().unwrap(),
            local_asn: 65000,
            peer_asn: 4_200_000_000,
            local: Some("192.0.2.1".parse().unwrap()),
            from: State::OpenConfirm,
            to: State::Established,
            at,
        })
        .unwrap();
        assert_eq!(
            (r.timestamp, r.microseconds),
            (1_700_000_000, Some(123_456))
        );
        let Body::Bgp4mp(b) = &r.body else { panic!() };
        assert_eq!(
            b.subtype().unwrap(),
            ribbit_mrt::bgp4mp::subtype::STATE_CHANGE_AS4
        );
        // Our address of the other family is left unspecified.
        assert_eq!(b.local_ip, "::".parse::<IpAddr>().unwrap());
        assert_eq!(b.event, Bgp4mpEvent::StateChange { old: 5, new: 6 });
    }

    fn state_at(secs: u64) -> TapRecord {
        TapRecord::State {
            peer: "192.0.2.2".parse().unwrap(),
            local_asn: 65000,
            peer_asn: 65001,
            local: None,
            from: State::Idle,
            to: State::Connect,
            at: UNIX_EPOCH + Duration::from_secs(secs),
        }
    }

    #[test]
    fn files_rotate_by_the_records_time_and_failures_do_not_stop_it() {
        let dir = std::env::temp_dir().join(format!("ribbit-mrt-rotate-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let pattern = format!("{}/u.%s.mrt.gz", dir.display());
        let mut u = Updates {
            pattern: FilePattern::new(&pattern).unwrap(),
            interval: 10,
            compress: Compression::Gzip,
            file: None,
            warned: false,
        };
        let mut buf = Vec::new();
        for secs in [1001, 1009, 1010, 1005, 1031] {
            u.record(&state_at(secs), &mut buf);
        }
        u.close();
        // 1005 came late: it stays in the file of 1010, never reopened.
        let count = |name: &str| {
            let f = std::fs::File::open(dir.join(name)).unwrap();
            ribbit_mrt::MrtReader::new(std::io::BufReader::new(f))
                .unwrap()
                .inspect(|r| assert!(r.is_ok(), "{r:?}"))
                .count()
        };
        assert_eq!(count("u.1000.mrt.gz"), 2);
        assert_eq!(count("u.1010.mrt.gz"), 2);
        assert_eq!(count("u.1030.mrt.gz"), 1);
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 3);

        // A directory that is not there: a warning, no file, no panic;
        // records are written again once it works.
        let mut u = Updates {
            pattern: FilePattern::new(&format!("{}/missing/u.%s.mrt", dir.display())).unwrap(),
            interval: 0,
            compress: Compression::None,
            file: None,
            warned: false,
        };
        u.record(&state_at(2000), &mut buf);
        assert!(u.warned && u.file.is_none());
        std::fs::create_dir_all(dir.join("missing")).unwrap();
        u.record(&state_at(2001), &mut buf);
        assert!(!u.warned);
        u.close();
        assert_eq!(count("missing/u.2001.mrt"), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn periods_align_on_the_epoch() {
        assert_eq!(period_start(1_000_007, 300), 999_900);
        assert_eq!(period_start(1_000_007, 0), 0);
        assert_eq!(period_start(600, 300), 600);
    }
}
