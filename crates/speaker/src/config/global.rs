//! `[global]`: who this speaker is and where it listens.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ops::Range;
use std::time::Duration;

use ribbit_rib::policy::Verdict;
use ribbit_rib::DecisionOptions;
use serde::Deserialize;
use toml::de::DeTable;
use toml::Spanned;

use super::report::Report;
use super::values::{asn, number, parsed};

/// The port of BGP (RFC 4271 §8.2.1).
pub const BGP_PORT: u16 = 179;
/// Hold time proposed when none is configured, in seconds.
pub const DEFAULT_HOLD_TIME: u16 = 90;
/// Base of the connect-retry back-off when none is configured.
pub const DEFAULT_CONNECT_RETRY: Duration = Duration::from_secs(30);

/// The listen addresses when `listen` is not given.
pub fn default_listen() -> Vec<SocketAddr> {
    vec![
        SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), BGP_PORT),
        SocketAddr::new(IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED), BGP_PORT),
    ]
}

/// `[global]`, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Global {
    /// Our AS (`asn`).
    pub asn: u32,
    /// Our BGP identifier (`router-id`).
    pub router_id: Ipv4Addr,
    /// Where to accept connections (`listen`); empty: nowhere.
    pub listen: Vec<SocketAddr>,
    /// Hold time neighbors propose unless they say otherwise (`hold-time`), seconds.
    pub hold_time: u16,
    /// Connect-retry base for neighbors unless they say otherwise (`connect-retry`).
    pub connect_retry: Duration,
    /// The CLUSTER_ID of route reflection (`cluster-id`, RFC 4456 §7;
    /// default: the router-id).
    pub cluster_id: Ipv4Addr,
    /// Compare MED between paths from different neighbouring ASes too
    /// (`always-compare-med`).
    pub always_compare_med: bool,
    /// Prefer the oldest of otherwise equal eBGP paths (`prefer-oldest`,
    /// RFC 5004).
    pub prefer_oldest: bool,
    /// What happens to routes that carry the BLACKHOLE community
    /// (`blackhole`, RFC 7999): accepted (then handled as the policies
    /// say) or rejected on import.
    pub blackhole: Verdict,
    /// How many events a subscriber (a `[[process]]` program, an HTTP
    /// event stream, a library subscriber) may fall behind before it misses
    /// some and gets a gap (`event-buffer`, default
    /// [`DEFAULT_EVENT_BUFFER`]).
    pub event_buffer: usize,
    /// How long route selection waits for the neighbors' End-of-RIB when
    /// the speaker restarts (`selection-deferral-time`, RFC 4724 §4.1's
    /// Selection_Deferral_Timer; default 360 s).
    pub selection_deferral_time: Duration,
    /// This start is a restart (RFC 4724 §4.1): our OPENs carry the
    /// Restart State bit and route selection is deferred. Not a
    /// configuration key: `ribbit run --graceful-restart` sets it (as
    /// `gobgpd --graceful-restart` does), a library sets it on its
    /// [`super::Config`].
    pub restarting: bool,
}

/// The default `selection-deferral-time`.
pub const DEFAULT_SELECTION_DEFERRAL: Duration = Duration::from_secs(360);

/// The default `event-buffer`. A program fed a full table reads in
/// bursts: with 4,096 it fell behind and needed a re-sync many times per
/// million prefixes (75,000 prefixes/s through the process API), with
/// 65,536 rarely (over 250,000/s, docs/benchmarks.md). An event is dropped
/// once every subscriber has it, so the buffer holds UPDATEs only while
/// someone is that far behind.
pub const DEFAULT_EVENT_BUFFER: usize = 65_536;

impl Global {
    /// The defaults, with placeholders where there are none; only used
    /// when a problem has been recorded.
    pub(super) fn placeholder() -> Global {
        Global {
            asn: 0,
            router_id: Ipv4Addr::UNSPECIFIED,
            listen: default_listen(),
            hold_time: DEFAULT_HOLD_TIME,
            connect_retry: DEFAULT_CONNECT_RETRY,
            cluster_id: Ipv4Addr::UNSPECIFIED,
            always_compare_med: false,
            prefer_oldest: false,
            blackhole: Verdict::Accept,
            event_buffer: DEFAULT_EVENT_BUFFER,
            selection_deferral_time: DEFAULT_SELECTION_DEFERRAL,
            restarting: false,
        }
    }

    /// The options of the decision process.
    pub fn decision_options(&self) -> DecisionOptions {
        DecisionOptions {
            always_compare_med: self.always_compare_med,
            prefer_oldest: self.prefer_oldest,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawGlobal {
    asn: Option<Spanned<i64>>,
    router_id: Option<Spanned<String>>,
    listen: Option<Vec<Spanned<String>>>,
    hold_time: Option<Spanned<i64>>,
    connect_retry: Option<Spanned<i64>>,
    cluster_id: Option<Spanned<toml::Value>>,
    always_compare_med: Option<bool>,
    deterministic_med: Option<Spanned<bool>>,
    prefer_oldest: Option<bool>,
    blackhole: Option<Spanned<String>>,
    event_buffer: Option<Spanned<i64>>,
    selection_deferral_time: Option<Spanned<i64>>,
}

/// Hold time: 0 (no keepalives, no hold timer) or 3 to 65535 seconds (RFC 4271 §4.2).
pub(super) fn hold_time(r: &mut Report<'_>, context: &str, value: &Spanned<i64>) -> Option<u16> {
    let n = *value.get_ref();
    match u16::try_from(n) {
        Ok(h) if h == 0 || h >= 3 => Some(h),
        _ => {
            r.error(
                &value.span(),
                context,
                format!("hold-time {n} is not allowed (0, or 3 to 65535)"),
            );
            None
        }
    }
}

/// A number of seconds from 1 to 65535.
pub(super) fn seconds(
    r: &mut Report<'_>,
    context: &str,
    key: &str,
    value: &Spanned<i64>,
) -> Option<Duration> {
    number::<u16>(r, context, key, value, 1..=65535).map(|s| Duration::from_secs(u64::from(s)))
}

/// Read `[global]`. `table` is `None` when the section is missing. The
/// result holds placeholders where there were problems; they are recorded
/// in `r`, so it is never used then.
pub(super) fn read(
    r: &mut Report<'_>,
    section: Option<(Range<usize>, Spanned<DeTable<'_>>)>,
) -> Global {
    const CTX: &str = "global";
    let mut g = Global::placeholder();
    let Some((key_span, table)) = section else {
        r.error_at_line(1, "", "[global] is missing (it needs at least asn)");
        return g;
    };
    let Some(raw) = r.deserialize::<RawGlobal>(table, CTX) else {
        return g;
    };
    match &raw.asn {
        Some(v) => g.asn = asn(r, CTX, "asn", v).unwrap_or(0),
        None => r.error(&key_span, CTX, "asn is required"),
    }
    if let Some(v) = &raw.hold_time {
        g.hold_time = hold_time(r, CTX, v).unwrap_or(DEFAULT_HOLD_TIME);
    }
    if let Some(v) = &raw.connect_retry {
        g.connect_retry = seconds(r, CTX, "connect-retry", v).unwrap_or(DEFAULT_CONNECT_RETRY);
    }
    if let Some(list) = &raw.listen {
        g.listen = listen(r, list);
    }
    match &raw.router_id {
        Some(v) => {
            if let Some(id) = parsed::<Ipv4Addr>(r, CTX, "router-id", v, "an IPv4 address") {
                if id.is_unspecified() {
                    r.error(&v.span(), CTX, "router-id 0.0.0.0 is not allowed");
                }
                g.router_id = id;
            }
        }
        None => match first_ipv4(&g.listen) {
            Some(id) => g.router_id = id,
            None => r.error(
                &key_span,
                CTX,
                "router-id is required (there is no IPv4 listen address other than 0.0.0.0 to take it from)",
            ),
        },
    }
    g.cluster_id = match &raw.cluster_id {
        Some(v) => cluster_id(r, v).unwrap_or(g.router_id),
        None => g.router_id,
    };
    g.always_compare_med = raw.always_compare_med.unwrap_or(false);
    g.prefer_oldest = raw.prefer_oldest.unwrap_or(false);
    if let Some(v) = &raw.deterministic_med {
        if !*v.get_ref() {
            r.error(
                &v.span(),
                CTX,
                "deterministic-med = false is not supported: Ribbit always compares MED within the paths from each neighbouring AS, whatever order they arrived in (RFC 4271 §9.1.2.2)",
            );
        }
    }
    if let Some(v) = &raw.event_buffer {
        g.event_buffer = number::<usize>(r, CTX, "event-buffer", v, 16..=16_777_216)
            .unwrap_or(DEFAULT_EVENT_BUFFER);
    }
    if let Some(v) = &raw.selection_deferral_time {
        g.selection_deferral_time =
            seconds(r, CTX, "selection-deferral-time", v).unwrap_or(DEFAULT_SELECTION_DEFERRAL);
    }
    if let Some(v) = &raw.blackhole {
        match v.get_ref().parse::<Verdict>() {
            Ok(d) => g.blackhole = d,
            Err(_) => r.error(
                &v.span(),
                CTX,
                format!("blackhole {:?} is not accept or reject", v.get_ref()),
            ),
        }
    }
    g
}

/// `cluster-id`: an IPv4 address, or a number as some daemons write it.
fn cluster_id(r: &mut Report<'_>, v: &Spanned<toml::Value>) -> Option<Ipv4Addr> {
    const CTX: &str = "global";
    let id = match v.get_ref() {
        toml::Value::String(s) => parsed::<Ipv4Addr>(
            r,
            CTX,
            "cluster-id",
            &Spanned::new(v.span(), s.clone()),
            "an IPv4 address",
        )?,
        toml::Value::Integer(n) => Ipv4Addr::from(number::<u32>(
            r,
            CTX,
            "cluster-id",
            &Spanned::new(v.span(), *n),
            0..=i64::from(u32::MAX),
        )?),
        other => {
            r.error(
                &v.span(),
                CTX,
                format!(
                    "cluster-id must be an IPv4 address such as \"192.0.2.1\" or a number, not {}",
                    other.type_str()
                ),
            );
            return None;
        }
    };
    if id.is_unspecified() {
        r.error(&v.span(), CTX, "cluster-id 0.0.0.0 is not allowed");
        return None;
    }
    Some(id)
}

/// The first specific IPv4 listen address: the default router-id.
fn first_ipv4(listen: &[SocketAddr]) -> Option<Ipv4Addr> {
    listen.iter().find_map(|a| match a.ip() {
        IpAddr::V4(v4) if !v4.is_unspecified() => Some(v4),
        _ => None,
    })
}

/// `listen`: `address:port`, `[v6]:port`, or an address alone for port 179.
fn listen(r: &mut Report<'_>, list: &[Spanned<String>]) -> Vec<SocketAddr> {
    const CTX: &str = "global";
    let mut out: Vec<SocketAddr> = Vec::new();
    for item in list {
        let text = item.get_ref().trim();
        let addr = text.parse::<SocketAddr>().ok().or_else(|| {
            text.trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<IpAddr>()
                .ok()
                .map(|ip| SocketAddr::new(ip, BGP_PORT))
        });
        let Some(addr) = addr else {
            r.error(
                &item.span(),
                CTX,
                format!(
                    "listen {text:?} is not a socket address (such as 192.0.2.1:179, [2001:db8::1]:179 or 192.0.2.1)"
                ),
            );
            continue;
        };
        if addr.port() == 0 {
            r.error(&item.span(), CTX, format!("listen {text:?} has port 0"));
        } else if addr.ip().is_multicast() {
            r.error(
                &item.span(),
                CTX,
                format!("listen {text:?} is a multicast address"),
            );
        } else if out.contains(&addr) {
            r.error(&item.span(), CTX, format!("listen {addr} is given twice"));
        } else {
            out.push(addr);
        }
    }
    out
}
