//! `ribbit mrt FILE…`: print the routes and messages of MRT dumps (RFC 6396),
//! one line each, as Ribbit JSON or in the one-line format of `bgpdump -m`;
//! `ribbit mrt replay`: send a dump's routes into a BGP session.
//!
//! Files are read as streams (gzip and bzip2 recognised by their first
//! bytes), one record at a time, so memory stays the same whatever their
//! size. A record that cannot be read is reported on standard error with
//! the file and the byte offset, and reading goes on with the next record
//! when the framing allows; the exit status is then 1.

pub mod replay;

use std::cell::Cell;
use std::fs::File;
use std::io::{self, IsTerminal, Read, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::rc::Rc;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;

use ribbit_mrt::bgp4mp::state;
use ribbit_mrt::bgpdump::Bgpdump;
use ribbit_mrt::filter::{Filter, Kind, PrefixMatch};
use ribbit_mrt::{
    Bgp4mp, Bgp4mpEvent, Body, MrtReader, PeerIndexTable, RawRecord, Record, Rib, RibNlri,
    TableDump, TableDumpV2,
};
use ribbit_wire::{Family, Message, NextHop, Prefix};

use crate::json;

/// Output format of `ribbit mrt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Ribbit JSON, one object per route or message (docs/mrt.md).
    Json,
    /// The one-line format of `bgpdump -m`, byte for byte.
    Bgpdump,
}

/// Kinds of line for `--type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LineType {
    /// Paths of RIB dumps (TABLE_DUMP, TABLE_DUMP_V2).
    Table,
    /// Routes announced by UPDATEs (BGP4MP).
    Update,
    /// Routes withdrawn by UPDATEs (BGP4MP).
    Withdraw,
    /// Session state changes (BGP4MP).
    State,
}

/// Arguments of `ribbit mrt`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct MrtArgs {
    /// `replay`, or nothing to print files.
    #[command(subcommand)]
    pub command: Option<MrtCommand>,
    /// What to print and how.
    #[command(flatten)]
    pub print: PrintArgs,
}

/// Subcommands of `ribbit mrt`.
#[derive(Debug, Subcommand)]
pub enum MrtCommand {
    /// Send a dump's routes into a BGP session, as fast as the peer takes them.
    Replay(replay::ReplayArgs),
}

/// Arguments of `ribbit mrt FILE…`.
#[derive(Debug, Args)]
pub struct PrintArgs {
    /// MRT files, plain, gzip or bzip2; `-` is standard input.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    pub format: Format,
    /// Only this prefix, exactly (repeatable).
    #[arg(long, value_name = "PREFIX")]
    pub prefix: Vec<Prefix>,
    /// Only this prefix and the prefixes inside it (repeatable).
    #[arg(long, value_name = "PREFIX")]
    pub more_specific: Vec<Prefix>,
    /// Only routes whose AS path ends with this AS (or holds it in a final
    /// AS_SET) (repeatable).
    #[arg(long, value_name = "ASN")]
    pub origin_as: Vec<u32>,
    /// Only routes and events of this peer (repeatable).
    #[arg(long, value_name = "ADDRESS")]
    pub peer: Vec<IpAddr>,
    /// Only lines of this kind (repeatable).
    #[arg(long = "type", value_enum, value_name = "TYPE")]
    pub kinds: Vec<LineType>,
    /// Never show the progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

/// A failure that stops `ribbit mrt` as a whole (exit status 2).
#[derive(Debug, thiserror::Error)]
pub enum MrtError {
    /// A file could not be opened.
    #[error("{path}: {source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The output could not be written (a full disk).
    #[error("cannot write the output: {0}")]
    Output(#[source] io::Error),
    /// A value could not be turned into JSON (never expected).
    #[error("cannot write JSON: {0}")]
    Json(#[source] serde_json::Error),
    /// `ribbit mrt replay` failed.
    #[error("{0}")]
    Replay(#[from] replay::ReplayError),
}

/// Run `ribbit mrt`.
pub fn run(args: &MrtArgs) -> Result<ExitCode, MrtError> {
    if let Some(MrtCommand::Replay(r)) = &args.command {
        return replay::run(r).map_err(MrtError::Replay);
    }
    let p = &args.print;
    let mut filter = Filter::default();
    filter
        .prefixes
        .extend(p.prefix.iter().map(|x| (x.trunc(), PrefixMatch::Exact)));
    filter.prefixes.extend(
        p.more_specific
            .iter()
            .map(|x| (x.trunc(), PrefixMatch::MoreSpecific)),
    );
    filter.origin_as.clone_from(&p.origin_as);
    filter.peers.clone_from(&p.peer);
    for k in &p.kinds {
        filter.allow(match k {
            LineType::Table => Kind::Table,
            LineType::Update => Kind::Update,
            LineType::Withdraw => Kind::Withdraw,
            LineType::State => Kind::State,
        });
    }
    let stdout = io::stdout();
    let mut out = Output {
        sink: stdout.lock(),
        buf: Vec::with_capacity(OUT_CHUNK * 2),
        closed: false,
    };
    let progress = !p.no_progress && io::stderr().is_terminal();
    let mut failed = false;
    for path in &p.files {
        failed |= print_file(path, p.format, &filter, &mut out, progress)?;
        if out.closed {
            break;
        }
    }
    out.flush()?;
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Bytes gathered before a write to standard output.
const OUT_CHUNK: usize = 1 << 16;

/// Standard output, written in large chunks. A reader that goes away (`|
/// head`) ends the output quietly.
struct Output<W: Write> {
    sink: W,
    buf: Vec<u8>,
    closed: bool,
}

impl<W: Write> Output<W> {
    fn maybe_flush(&mut self) -> Result<(), MrtError> {
        if self.buf.len() >= OUT_CHUNK {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), MrtError> {
        if self.closed {
            self.buf.clear();
            return Ok(());
        }
        let r = self
            .sink
            .write_all(&self.buf)
            .and_then(|()| self.sink.flush());
        self.buf.clear();
        match r {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(())
            }
            r => r.map_err(MrtError::Output),
        }
    }
}

/// Counts the bytes read from a file, for the progress bar.
struct Counting<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get().saturating_add(n as u64));
        Ok(n)
    }
}

/// The progress bar on standard error: shown once a file has taken a
/// second, redrawn at most ten times a second, erased at the end.
struct Progress {
    enabled: bool,
    name: String,
    total: Option<u64>,
    read: Rc<Cell<u64>>,
    started: Instant,
    last: Option<Instant>,
    records: u64,
}

impl Progress {
    fn tick(&mut self) {
        self.records = self.records.saturating_add(1);
        if !self.enabled || !self.records.is_multiple_of(1024) {
            return;
        }
        let now = Instant::now();
        if now.duration_since(self.started) < Duration::from_secs(1)
            || self
                .last
                .is_some_and(|l| now.duration_since(l) < Duration::from_millis(100))
        {
            return;
        }
        self.last = Some(now);
        let read = self.read.get();
        let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
        let line = match self.total {
            Some(total) if total > 0 => {
                let frac = (read as f64 / total as f64).clamp(0.0, 1.0);
                let width = 30usize;
                let filled = (frac * width as f64) as usize;
                format!(
                    "{} [{}{}] {:5.1} % {:.0}/{:.0} MiB, {} records",
                    self.name,
                    "#".repeat(filled),
                    " ".repeat(width.saturating_sub(filled)),
                    frac * 100.0,
                    mib(read),
                    mib(total),
                    self.records
                )
            }
            _ => format!(
                "{} {:.0} MiB, {} records",
                self.name,
                mib(read),
                self.records
            ),
        };
        let mut e = io::stderr().lock();
        let _ = write!(e, "\r\x1b[2K{line}");
        let _ = e.flush();
    }

    fn finish(&mut self) {
        if self.last.is_some() {
            let mut e = io::stderr().lock();
            let _ = write!(e, "\r\x1b[2K");
            let _ = e.flush();
            self.last = None;
        }
    }
}

/// Report a broken record; the caller goes on.
fn report(path: &Path, e: &ribbit_mrt::Error) {
    eprintln!("ribbit: {}: byte {}: {}", path.display(), e.offset, e.kind);
}

/// Print one file; returns whether some record was broken.
fn print_file<W: Write>(
    path: &Path,
    format: Format,
    filter: &Filter,
    out: &mut Output<W>,
    progress: bool,
) -> Result<bool, MrtError> {
    let open_err = |source| MrtError::Open {
        path: path.to_path_buf(),
        source,
    };
    let (input, total): (Box<dyn Read>, Option<u64>) = if path.as_os_str() == "-" {
        (Box::new(io::stdin().lock()), None)
    } else {
        let f = File::open(path).map_err(open_err)?;
        let len = f.metadata().ok().map(|m| m.len());
        (Box::new(f), len)
    };
    let count = Rc::new(Cell::new(0u64));
    let counting = Counting {
        inner: input,
        count: count.clone(),
    };
    let mut reader = MrtReader::new(counting).map_err(open_err)?;
    let mut bar = Progress {
        enabled: progress,
        name: path.display().to_string(),
        total,
        read: count,
        started: Instant::now(),
        last: None,
        records: 0,
    };
    let mut failed = false;
    let mut bgpdump = Bgpdump::new();
    let mut json = JsonPrinter::default();
    loop {
        let raw = match reader.next_raw() {
            Ok(Some(raw)) => raw,
            Ok(None) => break,
            Err(e) => {
                bar.finish();
                report(path, &e);
                failed = true;
                continue;
            }
        };
        bar.tick();
        let result = match format {
            Format::Bgpdump => {
                let r = bgpdump.format(&raw, filter, &mut out.buf).map(|_| ());
                for e in bgpdump.take_errors() {
                    bar.finish();
                    report(path, &e);
                    failed = true;
                }
                r
            }
            Format::Json => json.record(&raw, filter, &mut out.buf)?,
        };
        if let Err(e) = result {
            bar.finish();
            report(path, &e);
            failed = true;
        }
        out.maybe_flush()?;
        if out.closed {
            break;
        }
    }
    bar.finish();
    Ok(failed)
}

/// A peer or local end of a session.
#[derive(Debug, Serialize)]
struct Endpoint {
    address: IpAddr,
    asn: u32,
}

/// One line of `ribbit mrt` JSON (docs/mrt.md).
#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
struct JsonLine {
    /// `rib`, `announce`, `withdraw`, `state` or `message`.
    #[serde(rename = "type")]
    kind: &'static str,
    /// `table-dump`, `table-dump-v2`, `bgp4mp` or `bgp4mp-et`.
    record: &'static str,
    timestamp: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    microseconds: Option<u32>,
    peer: Endpoint,
    #[serde(skip_serializing_if = "Option::is_none")]
    local: Option<Endpoint>,
    /// BGP4MP messages: `received` or `sent` (the `_LOCAL` subtypes).
    #[serde(skip_serializing_if = "Option::is_none")]
    direction: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    originated: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    route: Option<json::Route>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attributes: Option<json::Attributes>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    issues: Vec<json::Issue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    old_state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    new_state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<json::Message>,
}

impl JsonLine {
    fn new(kind: &'static str, record: &Record, peer: Endpoint) -> JsonLine {
        JsonLine {
            kind,
            record: match &record.body {
                Body::TableDump(_) => "table-dump",
                Body::TableDumpV2(_) => "table-dump-v2",
                Body::Bgp4mp(_) if record.microseconds.is_some() => "bgp4mp-et",
                _ => "bgp4mp",
            },
            timestamp: record.timestamp,
            microseconds: record.microseconds,
            peer,
            local: None,
            direction: None,
            originated: None,
            route: None,
            attributes: None,
            issues: Vec::new(),
            old_state: None,
            new_state: None,
            message: None,
        }
    }
}

/// A state of RFC 6396 §4.4.1 by name.
fn state_name(s: u16) -> String {
    match s {
        state::IDLE => "idle".into(),
        state::CONNECT => "connect".into(),
        state::ACTIVE => "active".into(),
        state::OPEN_SENT => "open-sent".into(),
        state::OPEN_CONFIRM => "open-confirm".into(),
        state::ESTABLISHED => "established".into(),
        other => format!("state-{other}"),
    }
}

/// The route member of a line.
fn route(family: Family, prefix: Prefix, path_id: Option<u32>, nh: Option<NextHop>) -> json::Route {
    let (next_hop, link_local_next_hop) = match nh {
        None | Some(NextHop::Empty) => (None, None),
        Some(NextHop::V4(a)) => (Some(IpAddr::V4(a)), None),
        Some(NextHop::V6 { global, link_local }) => {
            (Some(IpAddr::V6(global)), link_local.map(IpAddr::V6))
        }
    };
    json::Route {
        family: family.to_string(),
        prefix: Some(prefix.to_string()),
        path_id,
        next_hop,
        link_local_next_hop,
        ..json::Route::default()
    }
}

fn issues(list: &[ribbit_wire::AttributeIssue]) -> Vec<json::Issue> {
    list.iter()
        .map(|i| json::Issue {
            offset: i.offset,
            type_code: i.type_code,
            action: match i.action {
                ribbit_wire::Action::AttributeDiscard => "attribute-discard",
                ribbit_wire::Action::TreatAsWithdraw => "treat-as-withdraw",
                ribbit_wire::Action::SessionReset => "session-reset",
            },
            reason: i.reason.to_string(),
        })
        .collect()
}

/// Ribbit JSON: the full decoder, one line per route or event.
#[derive(Default)]
struct JsonPrinter {
    peers: Option<PeerIndexTable>,
}

impl JsonPrinter {
    fn record(
        &mut self,
        raw: &RawRecord<'_>,
        filter: &Filter,
        out: &mut Vec<u8>,
    ) -> Result<Result<(), ribbit_mrt::Error>, MrtError> {
        let record = match raw.decode() {
            Ok(r) => r,
            Err(e) => return Ok(Err(e)),
        };
        let mut emit = |line: &JsonLine| -> Result<(), MrtError> {
            serde_json::to_writer(&mut *out, line).map_err(MrtError::Json)?;
            out.push(b'\n');
            Ok(())
        };
        match &record.body {
            Body::TableDumpV2(TableDumpV2::PeerIndexTable(t)) => {
                self.peers = Some(t.clone());
            }
            Body::TableDumpV2(TableDumpV2::Rib(rib)) => {
                return self.rib(raw, &record, rib, filter, &mut emit);
            }
            Body::TableDump(t) => table_dump(&record, t, filter, &mut emit)?,
            Body::Bgp4mp(b) => return bgp4mp(raw, &record, b, filter, &mut emit),
            Body::Other { .. } => {}
        }
        Ok(Ok(()))
    }

    fn rib(
        &self,
        raw: &RawRecord<'_>,
        record: &Record,
        rib: &Rib,
        filter: &Filter,
        emit: &mut impl FnMut(&JsonLine) -> Result<(), MrtError>,
    ) -> Result<Result<(), ribbit_mrt::Error>, MrtError> {
        if !filter.wants(Kind::Table) {
            return Ok(Ok(()));
        }
        let mut broken = None;
        for e in &rib.entries {
            let Some(peer) = self
                .peers
                .as_ref()
                .and_then(|t| t.peers.get(usize::from(e.peer_index)))
            else {
                broken = Some(ribbit_mrt::Error::new(
                    raw.offset,
                    ribbit_mrt::ErrorKind::Malformed(
                        "RIB entry of a peer index beyond the PEER_INDEX_TABLE",
                    ),
                ));
                continue;
            };
            if !filter.peer(peer.address) || !filter.origin_path(e.attributes.as_path.as_ref()) {
                continue;
            }
            let routes: Vec<json::Route> = match &rib.nlri {
                RibNlri::Prefix(p) => {
                    if !filter.prefix(p) {
                        continue;
                    }
                    vec![route(rib.family, *p, e.path_id, e.next_hop())]
                }
                RibNlri::Other(list) => {
                    if !filter.prefixes.is_empty() {
                        continue;
                    }
                    let (global, ll) = match e.next_hop() {
                        Some(NextHop::V4(a)) => (Some(IpAddr::V4(a)), None),
                        Some(NextHop::V6 { global, link_local }) => {
                            (Some(IpAddr::V6(global)), link_local.map(IpAddr::V6))
                        }
                        _ => (None, None),
                    };
                    json::routes(rib.family, list)
                        .map(|mut r| {
                            r.path_id = e.path_id;
                            r.next_hop = global;
                            r.link_local_next_hop = ll;
                            r
                        })
                        .collect()
                }
            };
            for r in routes {
                let mut line = JsonLine::new(
                    "rib",
                    record,
                    Endpoint {
                        address: peer.address,
                        asn: peer.asn,
                    },
                );
                line.originated = Some(e.originated);
                line.route = Some(r);
                line.attributes = Some(json::Attributes::new(&e.attributes));
                line.issues = issues(&e.issues);
                emit(&line)?;
            }
        }
        Ok(broken.map_or(Ok(()), Err))
    }
}

fn table_dump(
    record: &Record,
    t: &TableDump,
    filter: &Filter,
    emit: &mut impl FnMut(&JsonLine) -> Result<(), MrtError>,
) -> Result<(), MrtError> {
    if !filter.wants(Kind::Table)
        || !filter.peer(t.peer_ip)
        || !filter.prefix(&t.prefix)
        || !filter.origin_path(t.attributes.as_path.as_ref())
    {
        return Ok(());
    }
    let family = match t.prefix {
        Prefix::V4(_) => Family::IPV4_UNICAST,
        Prefix::V6(_) => Family::IPV6_UNICAST,
    };
    let nh = t
        .mp_next_hop
        .or_else(|| t.attributes.next_hop.map(NextHop::V4));
    let mut line = JsonLine::new(
        "rib",
        record,
        Endpoint {
            address: t.peer_ip,
            asn: u32::from(t.peer_as),
        },
    );
    line.originated = Some(t.originated);
    line.route = Some(route(family, t.prefix, None, nh));
    line.attributes = Some(json::Attributes::new(&t.attributes));
    line.issues = issues(&t.issues);
    emit(&line)
}

fn bgp4mp(
    raw: &RawRecord<'_>,
    record: &Record,
    b: &Bgp4mp,
    filter: &Filter,
    emit: &mut impl FnMut(&JsonLine) -> Result<(), MrtError>,
) -> Result<Result<(), ribbit_mrt::Error>, MrtError> {
    let peer = || Endpoint {
        address: b.peer_ip,
        asn: b.peer_as,
    };
    let local = || {
        Some(Endpoint {
            address: b.local_ip,
            asn: b.local_as,
        })
    };
    let (local_flag, bytes) = match &b.event {
        Bgp4mpEvent::StateChange { old, new } => {
            if filter.routeless(Kind::State, b.peer_ip) {
                let mut line = JsonLine::new("state", record, peer());
                line.local = local();
                line.old_state = Some(state_name(*old));
                line.new_state = Some(state_name(*new));
                emit(&line)?;
            }
            return Ok(Ok(()));
        }
        Bgp4mpEvent::Message { local, bytes, .. } => (*local, bytes),
    };
    let direction = Some(if local_flag { "sent" } else { "received" });
    let msg = match b.message() {
        Some(Ok(m)) => m,
        Some(Err(e)) => {
            // The BGP message starts after the BGP4MP header: point there.
            let header = raw.len().saturating_sub(bytes.len() as u64);
            return Ok(Err(ribbit_mrt::Error::new(
                raw.offset
                    .saturating_add(header)
                    .saturating_add(e.offset as u64),
                ribbit_mrt::ErrorKind::Bgp(e),
            )));
        }
        None => return Ok(Ok(())),
    };
    let Message::Update(u) = &msg else {
        if filter.routeless(Kind::Message, b.peer_ip) {
            let mut line = JsonLine::new("message", record, peer());
            line.local = local();
            line.direction = direction;
            line.message = Some(json::Message::new(&msg, bytes.len()));
            emit(&line)?;
        }
        return Ok(Ok(()));
    };
    let full = json::Message::new(&msg, bytes.len());
    let json::Message::Update(ju) = &full else {
        return Ok(Ok(()));
    };
    if ju.announced.is_empty() && ju.withdrawn.is_empty() {
        // End-of-RIB, or NLRI of families Ribbit does not decode.
        if filter.routeless(Kind::Message, b.peer_ip) {
            let mut line = JsonLine::new("message", record, peer());
            line.local = local();
            line.direction = direction;
            line.message = Some(full.clone());
            emit(&line)?;
        }
        return Ok(Ok(()));
    }
    if !filter.peer(b.peer_ip) {
        return Ok(Ok(()));
    }
    let keep = |r: &json::Route| {
        if filter.prefixes.is_empty() {
            return true;
        }
        r.prefix
            .as_deref()
            .and_then(|p| p.parse::<Prefix>().ok())
            .is_some_and(|p| filter.prefix(&p))
    };
    if filter.wants(Kind::Withdraw) && !filter.needs_origin() {
        for r in ju.withdrawn.iter().filter(|r| keep(r)) {
            let mut line = JsonLine::new("withdraw", record, peer());
            line.local = local();
            line.direction = direction;
            line.route = Some(r.clone());
            emit(&line)?;
        }
    }
    if filter.wants(Kind::Update) && filter.origin_path(u.attributes.as_path.as_ref()) {
        let attributes = json::Attributes::new(&u.attributes);
        let found = issues(&u.issues);
        for r in ju.announced.iter().filter(|r| keep(r)) {
            let mut line = JsonLine::new("announce", record, peer());
            line.local = local();
            line.direction = direction;
            line.route = Some(r.clone());
            line.attributes = Some(attributes.clone());
            line.issues.clone_from(&found);
            emit(&line)?;
        }
    }
    Ok(Ok(()))
}
