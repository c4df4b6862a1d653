//! `[[bmp]]`: BMP collectors (RFC 7854) the speaker reports to, one table
//! per collector.
//!
//! ```toml
//! [[bmp]]
//! address = "192.0.2.50"          # the collector (required)
//! port = 1790                     # default 1790, pmacct's
//! statistics-interval = 60        # seconds between Statistics Reports; 0: none
//! route-monitoring = ["pre-policy", "post-policy", "adj-rib-out", "loc-rib"]
//! sys-name = "edge-1"             # Initiation sysName (default "ribbit")
//! sys-descr = "Ribbit at the edge" # Initiation sysDescr (default "Ribbit <version>")
//! reconnect-backoff = 1           # first wait before connecting again, doubled each time
//! reconnect-backoff-max = 60      # longest wait
//! queue = 65536                   # records that may wait for the collector
//! ```

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use serde::Deserialize;
use toml::de::DeTable;
use toml::Spanned;

use super::report::Report;
use super::values::{backoff, host_address, number};

/// The collector port when `port` is not given: pmacct's default (BMP has
/// no IANA port).
pub const DEFAULT_BMP_PORT: u16 = 1790;
/// Seconds between Statistics Reports when `statistics-interval` is not
/// given.
pub const DEFAULT_STATISTICS_INTERVAL: Duration = Duration::from_secs(60);
/// Records that may wait for a collector when `queue` is not given.
pub const DEFAULT_BMP_QUEUE: usize = 65_536;
/// The first wait before connecting again to a collector.
pub const DEFAULT_RECONNECT_BACKOFF: Duration = Duration::from_secs(1);
/// The longest wait between two connection attempts.
pub const DEFAULT_RECONNECT_BACKOFF_MAX: Duration = Duration::from_secs(60);

/// Which views of the routes go to a collector (`route-monitoring`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Monitoring {
    /// `"pre-policy"`: the Adj-RIB-In before import policy: every UPDATE as
    /// received (RFC 7854 §2).
    pub pre_policy: bool,
    /// `"post-policy"`: the Adj-RIB-In after import policy (L flag).
    pub post_policy: bool,
    /// `"adj-rib-out"`: what is sent to each neighbor, after export policy
    /// (RFC 8671, O and L flags).
    pub adj_rib_out: bool,
    /// `"loc-rib"`: the best paths (RFC 9069, peer type 3).
    pub loc_rib: bool,
}

impl Monitoring {
    /// The names in `route-monitoring`.
    pub const NAMES: [&'static str; 4] = ["pre-policy", "post-policy", "adj-rib-out", "loc-rib"];

    /// Pre-policy and post-policy Adj-RIB-In: the default.
    pub const DEFAULT: Monitoring = Monitoring {
        pre_policy: true,
        post_policy: true,
        adj_rib_out: false,
        loc_rib: false,
    };

    fn set(&mut self, name: &str) -> bool {
        match name {
            "pre-policy" => self.pre_policy = true,
            "post-policy" => self.post_policy = true,
            "adj-rib-out" => self.adj_rib_out = true,
            "loc-rib" => self.loc_rib = true,
            _ => return false,
        }
        true
    }
}

/// One `[[bmp]]`, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BmpConfig {
    /// `address` and `port`: the collector.
    pub collector: SocketAddr,
    /// `statistics-interval`: time between Statistics Reports; `None` (0
    /// in the file): none are sent.
    pub statistics_interval: Option<Duration>,
    /// `route-monitoring`.
    pub monitoring: Monitoring,
    /// `sys-name`: the Initiation's sysName.
    pub sys_name: String,
    /// `sys-descr`: the Initiation's sysDescr.
    pub sys_descr: String,
    /// `reconnect-backoff`: the first wait before connecting again after a
    /// failure, doubled at each failure in a row.
    pub reconnect_backoff: Duration,
    /// `reconnect-backoff-max`: the longest wait.
    pub reconnect_backoff_max: Duration,
    /// `queue`: records (messages, session events) that may wait for the
    /// collector; past it they are dropped and the collector is
    /// re-synchronised.
    pub queue: usize,
    /// The line of the table in the file.
    pub line: usize,
}

impl BmpConfig {
    /// A collector at `collector` with the defaults of every optional key.
    pub fn new(collector: SocketAddr) -> BmpConfig {
        BmpConfig {
            collector,
            statistics_interval: Some(DEFAULT_STATISTICS_INTERVAL),
            monitoring: Monitoring::DEFAULT,
            sys_name: "ribbit".to_string(),
            sys_descr: format!("Ribbit {}", env!("CARGO_PKG_VERSION")),
            reconnect_backoff: DEFAULT_RECONNECT_BACKOFF,
            reconnect_backoff_max: DEFAULT_RECONNECT_BACKOFF_MAX,
            queue: DEFAULT_BMP_QUEUE,
            line: 0,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawBmp {
    address: Option<Spanned<String>>,
    port: Option<Spanned<i64>>,
    statistics_interval: Option<Spanned<i64>>,
    route_monitoring: Option<Spanned<Vec<Spanned<String>>>>,
    sys_name: Option<Spanned<String>>,
    sys_descr: Option<Spanned<String>>,
    reconnect_backoff: Option<Spanned<i64>>,
    reconnect_backoff_max: Option<Spanned<i64>>,
    queue: Option<Spanned<i64>>,
}

/// Read one `[[bmp]]`; `None` when it has problems (recorded in `r`).
pub(super) fn read(r: &mut Report<'_>, table: Spanned<DeTable<'_>>) -> Option<BmpConfig> {
    let line = r.line(table.span().start);
    let span = table.span();
    let raw: RawBmp = r.deserialize(table, "bmp")?;
    let Some(address) = raw.address else {
        r.error(
            &span,
            "bmp",
            "address is missing: the collector's IP address (address = \"192.0.2.50\")",
        );
        return None;
    };
    let ip: IpAddr = host_address(r, "bmp", "address", &address)?;
    let mut ok = true;
    let port = match &raw.port {
        None => DEFAULT_BMP_PORT,
        Some(v) => {
            number::<u16>(r, &format!("bmp {ip}"), "port", v, 1..=65535).unwrap_or_else(|| {
                ok = false;
                DEFAULT_BMP_PORT
            })
        }
    };
    let mut b = BmpConfig::new(SocketAddr::new(ip, port));
    b.line = line;
    let ctx = format!("bmp {}", b.collector);
    if let Some(v) = &raw.statistics_interval {
        match number::<u64>(r, &ctx, "statistics-interval", v, 0..=86_400) {
            Some(0) => b.statistics_interval = None,
            Some(s) => b.statistics_interval = Some(Duration::from_secs(s)),
            None => ok = false,
        }
    }
    if let Some(list) = &raw.route_monitoring {
        b.monitoring = Monitoring::default();
        for item in list.get_ref() {
            let word = item.get_ref().trim();
            if !b.monitoring.set(word) {
                r.error(
                    &item.span(),
                    &ctx,
                    format!(
                        "route-monitoring: {word:?} is not a view (expected {})",
                        Monitoring::NAMES.join(", ")
                    ),
                );
                ok = false;
            }
        }
    }
    for (key, value, out) in [
        ("sys-name", &raw.sys_name, &mut b.sys_name),
        ("sys-descr", &raw.sys_descr, &mut b.sys_descr),
    ] {
        let Some(v) = value else { continue };
        // An information TLV holds at most 65,535 bytes (RFC 7854 §4.4).
        if v.get_ref().is_empty() || v.get_ref().len() > 1024 {
            r.error(
                &v.span(),
                &ctx,
                format!("{key} must be 1 to 1024 bytes of text"),
            );
            ok = false;
        } else {
            *out = v.get_ref().clone();
        }
    }
    match backoff(
        r,
        &ctx,
        "reconnect-backoff",
        (
            raw.reconnect_backoff.as_ref(),
            raw.reconnect_backoff_max.as_ref(),
        ),
        (1..=3600, 1..=86_400),
        (b.reconnect_backoff, b.reconnect_backoff_max),
        &span,
    ) {
        Some((first, longest)) => {
            b.reconnect_backoff = first;
            b.reconnect_backoff_max = longest;
        }
        None => ok = false,
    }
    if let Some(q) = &raw.queue {
        match number::<usize>(r, &ctx, "queue", q, 16..=10_000_000) {
            Some(n) => b.queue = n,
            None => ok = false,
        }
    }
    ok.then_some(b)
}

/// Two tables for the same collector.
pub(super) fn duplicates(r: &mut Report<'_>, all: &[BmpConfig]) {
    for (i, b) in all.iter().enumerate() {
        if let Some(first) = all.iter().take(i).find(|o| o.collector == b.collector) {
            r.error_at_line(
                b.line,
                &format!("bmp {}", b.collector),
                format!(
                    "the collector is already that of the [[bmp]] at line {}",
                    first.line
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    const HEAD: &str = "[global]\nasn = 65000\nrouter-id = \"192.0.2.1\"\n";

    fn parse(body: &str) -> Result<Config, String> {
        Config::parse(&format!("{HEAD}{body}"), "t.toml").map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_and_every_key() {
        let c = parse("[[bmp]]\naddress = \"127.0.10.1\"\n").unwrap();
        let b = &c.bmp[0];
        assert_eq!(b.collector, "127.0.10.1:1790".parse().unwrap());
        assert_eq!(b.monitoring, Monitoring::DEFAULT);
        assert_eq!(b.statistics_interval, Some(DEFAULT_STATISTICS_INTERVAL));
        assert_eq!(b.sys_name, "ribbit");

        let c = parse(
            r#"
[[bmp]]
address = "127.0.10.1"
port = 12000
statistics-interval = 0
route-monitoring = ["loc-rib", "adj-rib-out"]
sys-name = "r1"
sys-descr = "test"
reconnect-backoff = 2
reconnect-backoff-max = 10
queue = 100

[[bmp]]
address = "::1"
port = 12001
"#,
        )
        .unwrap();
        let b = &c.bmp[0];
        assert_eq!(b.collector, "127.0.10.1:12000".parse().unwrap());
        assert_eq!(b.statistics_interval, None);
        assert!(b.monitoring.loc_rib && b.monitoring.adj_rib_out);
        assert!(!b.monitoring.pre_policy && !b.monitoring.post_policy);
        assert_eq!((b.sys_name.as_str(), b.sys_descr.as_str()), ("r1", "test"));
        assert_eq!(b.reconnect_backoff, Duration::from_secs(2));
        assert_eq!(b.reconnect_backoff_max, Duration::from_secs(10));
        assert_eq!(b.queue, 100);
        assert_eq!(c.bmp[1].collector, "[::1]:12001".parse().unwrap());
    }

    #[test]
    fn errors_name_the_key_and_value() {
        let e = parse("[[bmp]]\nport = 1\n").unwrap_err();
        assert!(e.contains("address is missing"), "{e}");
        let e = parse("[[bmp]]\naddress = \"127.0.10.1\"\nroute-monitoring = [\"post\"]\n")
            .unwrap_err();
        assert!(
            e.contains("route-monitoring: \"post\" is not a view"),
            "{e}"
        );
        let e = parse("[[bmp]]\naddress = \"127.0.10.1\"\nport = 0\n").unwrap_err();
        assert!(e.contains("port"), "{e}");
        let e = parse(
            "[[bmp]]\naddress = \"127.0.10.1\"\nreconnect-backoff = 9\nreconnect-backoff-max = 3\n",
        )
        .unwrap_err();
        assert!(e.contains("reconnect-backoff 9 s is longer"), "{e}");
        let e = parse("[[bmp]]\naddress = \"127.0.10.1\"\n[[bmp]]\naddress = \"127.0.10.1\"\n")
            .unwrap_err();
        assert!(e.contains("already that of the [[bmp]] at line"), "{e}");
        let e = parse("[[bmp]]\naddress = \"127.0.10.1\"\ncolector = 1\n").unwrap_err();
        assert!(e.contains("colector"), "{e}");
    }
}
