//! Measure Ribbit's HTTP API on a loaded table (not a test).
//!
//! `api-query queries --api 127.0.9.100:11998 [--samples 2000] [--page 1000]`
//! times one-prefix lookups (exact `prefix=` and `longest-match=`) on one
//! kept-alive connection, over prefixes taken from the table itself, and a
//! walk of the whole IPv4 unicast table page by page (`limit`/`after`).
//!
//! `api-query events --api 127.0.9.100:11998 [--quiet 3]` subscribes to
//! `/v1/events`, prints `subscribed`, and counts the NDJSON lines and bytes
//! that arrive until none came for `--quiet` seconds after the first: the
//! stream's throughput to one subscriber while the table loads.
//!
//! HTTP/1.1 by hand over a `TcpStream` (the bench crate has no HTTP
//! client): requests carry `Content-Length`-framed JSON answers; the event
//! stream is chunked, and its lines are counted by their `}\n` ends (chunk
//! framing ends in `\r\n`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};

/// Measure the HTTP API of a running Ribbit.
#[derive(Debug, Parser)]
struct Args {
    /// The API's address.
    #[arg(long, default_value = "127.0.9.100:11998")]
    api: SocketAddr,
    /// The bearer token, if the API has one.
    #[arg(long)]
    token: Option<String>,
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, Subcommand)]
enum What {
    /// One-prefix lookups and a full-table page walk.
    Queries {
        /// Lookups of each kind.
        #[arg(long, default_value_t = 2000)]
        samples: usize,
        /// Destinations per page of the walk.
        #[arg(long, default_value_t = 1000)]
        page: usize,
    },
    /// The event stream's throughput to one subscriber.
    Events {
        /// Seconds without an event that end the count.
        #[arg(long, default_value_t = 3)]
        quiet: u64,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 600)]
        timeout: u64,
    },
}

type Error = Box<dyn std::error::Error>;

/// One kept-alive HTTP/1.1 connection.
struct Conn {
    addr: SocketAddr,
    token: Option<String>,
    reader: BufReader<TcpStream>,
}

impl Conn {
    fn open(addr: SocketAddr, token: Option<String>) -> Result<Conn, Error> {
        let s = TcpStream::connect(addr)?;
        s.set_nodelay(true)?;
        s.set_read_timeout(Some(Duration::from_secs(60)))?;
        Ok(Conn {
            addr,
            token,
            reader: BufReader::new(s),
        })
    }

    fn head(&self, path: &str) -> String {
        let mut req = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n", self.addr);
        if let Some(t) = &self.token {
            req.push_str(&format!("Authorization: Bearer {t}\r\n"));
        }
        req.push_str("\r\n");
        req
    }

    /// GET `path`: the status and the body (Content-Length framed).
    fn get(&mut self, path: &str) -> Result<(u16, Vec<u8>), Error> {
        let req = self.head(path);
        self.reader.get_mut().write_all(req.as_bytes())?;
        let (status, length) = self.read_head()?;
        let length = length.ok_or("an answer without Content-Length")?;
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body)?;
        Ok((status, body))
    }

    fn read_head(&mut self) -> Result<(u16, Option<usize>), Error> {
        let mut line = String::new();
        self.reader.read_line(&mut line)?;
        let status: u16 = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("not an HTTP answer: {line:?}"))?;
        let mut length = None;
        loop {
            line.clear();
            if self.reader.read_line(&mut line)? == 0 {
                return Err("the API closed the connection".into());
            }
            let l = line.trim_end();
            if l.is_empty() {
                return Ok((status, length));
            }
            if let Some((k, v)) = l.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().ok();
                }
            }
        }
    }
}

/// Percent-encode a query value.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Latencies in microseconds: mean, p50, p99, max.
fn summary(mut v: Vec<f64>) -> String {
    if v.is_empty() {
        return "no samples".to_string();
    }
    v.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let i = ((v.len() - 1) as f64 * q).round() as usize;
        v.get(i).copied().unwrap_or(0.0)
    };
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    format!(
        "n={} mean {:.0} µs, p50 {:.0} µs, p99 {:.0} µs, max {:.0} µs",
        v.len(),
        mean,
        at(0.5),
        at(0.99),
        at(1.0)
    )
}

fn queries(a: &Args, samples: usize, page: usize) -> Result<(), Error> {
    let mut c = Conn::open(a.api, a.token.clone())?;
    // The walk: every destination, page by page, on one connection.
    let t = Instant::now();
    let mut after: Option<String> = None;
    let mut pages = 0usize;
    let mut destinations = 0usize;
    let mut bytes = 0usize;
    let mut page_times = Vec::new();
    let mut picks: Vec<String> = Vec::new();
    let stride = 1_000_000 / samples.max(1);
    loop {
        let path = match &after {
            None => format!("/v1/rib/ipv4-unicast?limit={page}"),
            Some(c) => format!("/v1/rib/ipv4-unicast?limit={page}&after={}", enc(c)),
        };
        let p = Instant::now();
        let (status, body) = c.get(&path)?;
        page_times.push(p.elapsed().as_secs_f64() * 1e6);
        if status != 200 {
            return Err(format!("{path}: {status} {}", String::from_utf8_lossy(&body)).into());
        }
        bytes += body.len();
        let v: serde_json::Value = serde_json::from_slice(&body)?;
        let list = v["destinations"].as_array().cloned().unwrap_or_default();
        for (i, d) in list.iter().enumerate() {
            if (destinations + i).is_multiple_of(stride.max(1)) {
                if let Some(n) = d["nlri"].as_str() {
                    picks.push(n.to_string());
                }
            }
        }
        destinations += list.len();
        pages += 1;
        match v["next"].as_str() {
            Some(n) => after = Some(n.to_string()),
            None => break,
        }
    }
    let walk = t.elapsed().as_secs_f64();
    println!(
        "page walk: {destinations} destinations in {pages} pages of {page}, {:.2} s ({:.0} destinations/s, {:.1} MB of JSON)",
        walk,
        destinations as f64 / walk,
        bytes as f64 / 1e6
    );
    println!("  per page: {}", summary(page_times));
    picks.truncate(samples);
    if picks.is_empty() {
        return Ok(());
    }
    // Exact: the prefix itself.
    let mut exact = Vec::with_capacity(picks.len());
    for p in &picks {
        let path = format!("/v1/rib/ipv4-unicast?prefix={}", enc(p));
        let t = Instant::now();
        let (status, body) = c.get(&path)?;
        exact.push(t.elapsed().as_secs_f64() * 1e6);
        if status != 200 || !body.windows(p.len()).any(|w| w == p.as_bytes()) {
            return Err(format!("{path}: {status} {}", String::from_utf8_lossy(&body)).into());
        }
    }
    println!("exact prefix: {}", summary(exact));
    // Longest match: the prefix's first address.
    let mut longest = Vec::with_capacity(picks.len());
    for p in &picks {
        let addr = p.split('/').next().unwrap_or(p);
        let path = format!("/v1/rib/ipv4-unicast?longest-match={}", enc(addr));
        let t = Instant::now();
        let (status, body) = c.get(&path)?;
        longest.push(t.elapsed().as_secs_f64() * 1e6);
        if status != 200 || !body.windows(5).any(|w| w == b"nlri\"") {
            return Err(format!("{path}: {status} {}", String::from_utf8_lossy(&body)).into());
        }
    }
    println!("longest match: {}", summary(longest));
    Ok(())
}

fn events(a: &Args, quiet: u64, timeout: u64) -> Result<(), Error> {
    let mut c = Conn::open(a.api, a.token.clone())?;
    let req = c.head("/v1/events");
    c.reader.get_mut().write_all(req.as_bytes())?;
    let (status, _) = c.read_head()?;
    if status != 200 {
        return Err(format!("/v1/events: {status}").into());
    }
    c.reader
        .get_mut()
        .set_read_timeout(Some(Duration::from_millis(200)))?;
    println!("subscribed");
    let start = Instant::now();
    let mut first: Option<Instant> = None;
    let mut last = Instant::now();
    let (mut lines, mut bytes, mut lost_lines, mut missed) = (0u64, 0u64, 0u64, 0u64);
    let mut prev = 0u8;
    let mut buf = vec![0u8; 1 << 16];
    let mut tail: Vec<u8> = Vec::new();
    loop {
        if start.elapsed() > Duration::from_secs(timeout) {
            return Err("timed out".into());
        }
        if let Some(f) = first {
            if last.elapsed() > Duration::from_secs(quiet) {
                let span = last.duration_since(f).as_secs_f64().max(1e-9);
                println!(
                    "events: {lines} lines ({lost_lines} of them `lost`, standing for {missed} events missed), {:.1} MB in {:.2} s: {:.0} lines/s, {:.1} MB/s",
                    bytes as f64 / 1e6,
                    span,
                    lines as f64 / span,
                    bytes as f64 / 1e6 / span
                );
                return Ok(());
            }
        }
        let n = match c.reader.read(&mut buf) {
            Ok(0) => return Err("the stream ended".into()),
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                continue
            }
            Err(e) => return Err(e.into()),
        };
        let now = Instant::now();
        first.get_or_insert(now);
        last = now;
        bytes += n as u64;
        for &b in buf.iter().take(n) {
            if b == b'\n' && prev == b'}' {
                lines += 1;
                if tail.windows(13).any(|w| w == b"\"type\":\"lost\"") {
                    lost_lines += 1;
                    // `{"type":"lost","time":T,"count":N}`: the events it stands for.
                    let text = String::from_utf8_lossy(&tail);
                    missed += text
                        .split("\"count\":")
                        .nth(1)
                        .and_then(|r| r.trim_end_matches('}').parse::<u64>().ok())
                        .unwrap_or(0);
                }
                tail.clear();
            } else if tail.len() < 64 {
                tail.push(b);
            }
            prev = b;
        }
    }
}

fn main() -> Result<(), Error> {
    let a = Args::parse();
    match a.what {
        What::Queries { samples, page } => queries(&a, samples, page),
        What::Events { quiet, timeout } => events(&a, quiet, timeout),
    }
}
