//! `[[neighbor]]`: one BGP peer and the session with it.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use ribbit_wire::capability::AddPathMode;
use ribbit_wire::{Family, FamilySet};
use serde::Deserialize;
use toml::de::DeTable;
use toml::Spanned;

use super::global::{hold_time, seconds, Global, BGP_PORT};
use super::report::Report;
use super::route::{self, RouteConfig};
use super::values::{asn, host_address, number};

/// The longest TCP-MD5 key: RFC 2385 leaves it open, Linux takes 80 bytes
/// (`TCP_MD5SIG_MAXKEYLEN`), and a longer key is refused, never cut.
pub const MD5_MAX_LEN: usize = 80;

/// A TCP-MD5 key (RFC 2385), 1 to 80 bytes. Its `Debug` form hides it, so
/// that logging a configuration does not leak it.
#[derive(Clone, PartialEq, Eq)]
pub struct Md5Password(String);

impl Md5Password {
    /// The key as the socket option takes it.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Md5Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Md5Password(<hidden>)")
    }
}

/// `[[neighbor]]`, checked, with the defaults of `[global]` filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeighborConfig {
    /// The peer's address (`address`).
    pub address: IpAddr,
    /// The peer's port we connect to (`port`).
    pub port: u16,
    /// Our address on the session (`local-address`): connections out are
    /// made from it. `None`: the system picks the source address.
    pub local_address: Option<IpAddr>,
    /// The peer's AS (`asn`): its OPEN must carry it.
    pub peer_asn: u32,
    /// Our AS on this session (`local-asn`, else `[global] asn`).
    pub local_asn: u32,
    /// Free text for people (`description`).
    pub description: Option<String>,
    /// Whether the session is started (`enabled`). A disabled neighbor's
    /// connections are refused.
    pub enabled: bool,
    /// Never connect out; wait for the peer (`passive`).
    pub passive: bool,
    /// The families offered in our OPEN (`families`), in the order given.
    pub families: Vec<Family>,
    /// The hold time we propose (`hold-time`), seconds, 0 or 3 to 65535.
    pub hold_time: u16,
    /// The base of the connect-retry back-off (`connect-retry`).
    pub connect_retry: Duration,
    /// RFC 4271 DelayOpen (`delay-open`): wait this long for the peer's
    /// OPEN before sending ours.
    pub delay_open: Option<Duration>,
    /// The TCP-MD5 key (`md5-password`).
    pub md5_password: Option<Md5Password>,
    /// GTSM (`ttl-security`, RFC 5082): how many hops away the peer may be.
    pub ttl_security: Option<u8>,
    /// The TTL of our packets to an eBGP peer more than one hop away (`multihop`).
    pub multihop: Option<u8>,
    /// Offer route refresh (`route-refresh`).
    pub route_refresh: bool,
    /// Offer enhanced route refresh too (`enhanced-route-refresh`; needs `route-refresh`).
    pub enhanced_route_refresh: bool,
    /// Offer extended messages, up to 65535 bytes (`extended-message`, RFC 8654).
    pub extended_message: bool,
    /// ADD-PATH modes offered per family (`add-path`, RFC 7911), in family order.
    pub add_path: Vec<(Family, AddPathMode)>,
    /// Routes announced to this neighbor only (`[[neighbor.route]]`).
    pub routes: Vec<RouteConfig>,
    /// The line of the neighbor's table in the file, for later messages.
    pub line: usize,
}

impl NeighborConfig {
    /// Whether the peer is in another AS.
    pub fn is_ebgp(&self) -> bool {
        self.local_asn != self.peer_asn
    }

    /// The families as a set.
    pub fn family_set(&self) -> FamilySet {
        let mut set = FamilySet::EMPTY;
        for f in &self.families {
            set.insert(*f);
        }
        set
    }

    /// The ADD-PATH mode offered for a family.
    pub fn add_path_mode(&self, family: Family) -> Option<AddPathMode> {
        self.add_path
            .iter()
            .find(|(f, _)| *f == family)
            .map(|(_, m)| *m)
    }

    /// The TTL to set on the session's packets: 255 with `ttl-security`,
    /// the `multihop` value if given, 1 for other eBGP peers (directly
    /// connected), and `None` (the system's default) for iBGP.
    pub fn outgoing_ttl(&self) -> Option<u8> {
        match (self.ttl_security, self.multihop) {
            (Some(_), _) => Some(255),
            (None, Some(ttl)) => Some(ttl),
            (None, None) if self.is_ebgp() => Some(1),
            (None, None) => None,
        }
    }

    /// With `ttl-security`, the smallest TTL accepted on the peer's
    /// packets: 256 minus the number of hops (RFC 5082 §3).
    pub fn minimum_ttl(&self) -> Option<u8> {
        self.ttl_security
            .map(|hops| u8::try_from(256 - u16::from(hops)).unwrap_or(255))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawNeighbor {
    address: Option<Spanned<String>>,
    port: Option<Spanned<i64>>,
    local_address: Option<Spanned<String>>,
    asn: Option<Spanned<i64>>,
    local_asn: Option<Spanned<i64>>,
    description: Option<String>,
    enabled: Option<bool>,
    passive: Option<bool>,
    families: Option<Spanned<Vec<Spanned<String>>>>,
    hold_time: Option<Spanned<i64>>,
    connect_retry: Option<Spanned<i64>>,
    delay_open: Option<Spanned<i64>>,
    md5_password: Option<Spanned<String>>,
    ttl_security: Option<Spanned<i64>>,
    multihop: Option<Spanned<i64>>,
    route_refresh: Option<bool>,
    enhanced_route_refresh: Option<Spanned<bool>>,
    extended_message: Option<bool>,
    add_path: Option<BTreeMap<Spanned<String>, Spanned<String>>>,
    // `route` (the `[[neighbor.route]]` tables) is taken out before
    // deserializing, so that each route is read and reported on its own.
}

/// Read one `[[neighbor]]` table.
pub(super) fn read(
    r: &mut Report<'_>,
    global: &Global,
    mut table: Spanned<DeTable<'_>>,
) -> Option<NeighborConfig> {
    let span = table.span();
    let line = r.line(span.start);
    let named = table
        .get_ref()
        .get("address")
        .and_then(|v| v.get_ref().as_str())
        .map(|a| a.trim().to_string());
    let ctx = match &named {
        Some(a) => format!("neighbor {a}"),
        None => "neighbor".to_string(),
    };
    let ctx = ctx.as_str();

    let route_entry = table.get_mut().remove_entry("route");
    let raw = r.deserialize::<RawNeighbor>(table, ctx);

    // Routes are read even when the neighbor has problems, to report theirs.
    let mut routes = Vec::new();
    if let Some((key, value)) = route_entry {
        for t in r.tables(&key.span(), value, "neighbor.route", ctx) {
            routes.extend(route::read(r, ctx, t));
        }
    }
    let raw = raw?;
    let mut ok = true;

    let address = match &raw.address {
        Some(v) => host_address(r, ctx, "address", v),
        None => {
            r.error(&span, ctx, "address is required");
            None
        }
    };
    if let Some(IpAddr::V6(a)) = address {
        if a.is_unicast_link_local() {
            r.error(
                &raw.address.as_ref().map_or(span.clone(), |v| v.span()),
                ctx,
                format!("address {a} is link-local, which needs an interface (not supported yet)"),
            );
            ok = false;
        }
    }
    let port = match &raw.port {
        Some(v) => number(r, ctx, "port", v, 1..=65535),
        None => Some(BGP_PORT),
    };
    let local_address = match &raw.local_address {
        Some(v) => {
            let local = host_address(r, ctx, "local-address", v);
            if let (Some(l), Some(a)) = (local, address) {
                if l.is_ipv4() != a.is_ipv4() {
                    r.error(
                        &v.span(),
                        ctx,
                        format!("local-address {l} and address {a} are not of the same IP version"),
                    );
                    ok = false;
                }
            }
            ok &= local.is_some();
            local
        }
        None => None,
    };
    let peer_asn = match &raw.asn {
        Some(v) => asn(r, ctx, "asn", v),
        None => {
            r.error(&span, ctx, "asn is required (the peer's AS)");
            None
        }
    };
    let local_asn = match &raw.local_asn {
        Some(v) => asn(r, ctx, "local-asn", v),
        None => Some(global.asn),
    };
    let families = families(r, ctx, raw.families.as_ref(), address);
    let hold_time = match &raw.hold_time {
        Some(v) => hold_time(r, ctx, v),
        None => Some(global.hold_time),
    };
    let connect_retry = match &raw.connect_retry {
        Some(v) => seconds(r, ctx, "connect-retry", v),
        None => Some(global.connect_retry),
    };
    let delay_open = match &raw.delay_open {
        Some(v) => {
            let d = seconds(r, ctx, "delay-open", v);
            ok &= d.is_some();
            d
        }
        None => None,
    };
    let md5_password = match &raw.md5_password {
        Some(v) => {
            let key = v.get_ref();
            if key.is_empty() {
                r.error(
                    &v.span(),
                    ctx,
                    "md5-password is empty (leave the key out for no password)",
                );
                ok = false;
            } else if key.len() > MD5_MAX_LEN {
                r.error(
                    &v.span(),
                    ctx,
                    format!(
                        "md5-password is {} bytes long; TCP-MD5 keys are at most {MD5_MAX_LEN} bytes (RFC 2385, Linux TCP_MD5SIG_MAXKEYLEN) and are never truncated",
                        key.len()
                    ),
                );
                ok = false;
            }
            Some(Md5Password(key.clone()))
        }
        None => None,
    };
    let ttl_security = match &raw.ttl_security {
        Some(v) => {
            let t = number(r, ctx, "ttl-security", v, 1..=254);
            ok &= t.is_some();
            t
        }
        None => None,
    };
    let multihop = match &raw.multihop {
        Some(v) => {
            let t = number(r, ctx, "multihop", v, 1..=255);
            ok &= t.is_some();
            if raw.ttl_security.is_some() {
                r.error(
                    &v.span(),
                    ctx,
                    "multihop and ttl-security cannot both be set (with ttl-security the TTL is always 255; its value is the number of hops)",
                );
                ok = false;
            }
            t
        }
        None => None,
    };
    let enhanced_route_refresh = match &raw.enhanced_route_refresh {
        Some(v) if *v.get_ref() && raw.route_refresh == Some(false) => {
            r.error(
                &v.span(),
                ctx,
                "enhanced-route-refresh needs route-refresh (RFC 7313 extends RFC 2918)",
            );
            ok = false;
            false
        }
        Some(v) => *v.get_ref(),
        None => raw.route_refresh.unwrap_or(true),
    };
    let add_path = add_path(r, ctx, raw.add_path.as_ref(), families.as_deref());
    ok &= add_path.is_some();

    if let Some(fams) = &families {
        for route in &routes {
            if !fams.contains(&route.family()) {
                r.error_at_line(
                    route.line,
                    ctx,
                    format!(
                        "route {} is {}, which is not in this neighbor's families ({})",
                        route.prefix,
                        route.family(),
                        names(fams)
                    ),
                );
                ok = false;
            }
        }
    }
    duplicate_routes(r, ctx, &routes);

    if !ok {
        return None;
    }
    Some(NeighborConfig {
        address: address?,
        port: port?,
        local_address,
        peer_asn: peer_asn?,
        local_asn: local_asn?,
        description: raw.description,
        enabled: raw.enabled.unwrap_or(true),
        passive: raw.passive.unwrap_or(false),
        families: families?,
        hold_time: hold_time?,
        connect_retry: connect_retry?,
        delay_open,
        md5_password,
        ttl_security,
        multihop,
        route_refresh: raw.route_refresh.unwrap_or(true),
        enhanced_route_refresh,
        extended_message: raw.extended_message.unwrap_or(true),
        add_path: add_path?,
        routes,
        line,
    })
}

fn names(families: &[Family]) -> String {
    families
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Families Ribbit can carry: those whose NLRI it knows.
fn family(r: &mut Report<'_>, ctx: &str, key: &str, v: &Spanned<String>) -> Option<Family> {
    let text = v.get_ref().trim();
    match text.parse::<Family>() {
        Ok(f) if Family::known().any(|k| k == f) => Some(f),
        Ok(f) => {
            r.error(
                &v.span(),
                ctx,
                format!(
                    "{key}: Ribbit cannot carry {f} (it knows {})",
                    names(&Family::known().collect::<Vec<_>>())
                ),
            );
            None
        }
        Err(e) => {
            r.error(&v.span(), ctx, format!("{key}: {e}"));
            None
        }
    }
}

/// `families`, or the unicast family of the neighbor's address.
fn families(
    r: &mut Report<'_>,
    ctx: &str,
    raw: Option<&Spanned<Vec<Spanned<String>>>>,
    address: Option<IpAddr>,
) -> Option<Vec<Family>> {
    let Some(list) = raw else {
        return address.map(|a| match a {
            IpAddr::V4(_) => vec![Family::IPV4_UNICAST],
            IpAddr::V6(_) => vec![Family::IPV6_UNICAST],
        });
    };
    if list.get_ref().is_empty() {
        r.error(
            &list.span(),
            ctx,
            "families is empty (leave it out for the unicast family of the address)",
        );
        return None;
    }
    let mut out: Vec<Family> = Vec::new();
    let mut ok = true;
    for item in list.get_ref() {
        match family(r, ctx, "families", item) {
            Some(f) if out.contains(&f) => {
                r.error(&item.span(), ctx, format!("families lists {f} twice"));
                ok = false;
            }
            Some(f) => out.push(f),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

/// `add-path`: a table of family = "receive" | "send" | "both".
fn add_path(
    r: &mut Report<'_>,
    ctx: &str,
    raw: Option<&BTreeMap<Spanned<String>, Spanned<String>>>,
    families: Option<&[Family]>,
) -> Option<Vec<(Family, AddPathMode)>> {
    let mut out = Vec::new();
    let mut ok = true;
    for (key, value) in raw.into_iter().flatten() {
        let Some(f) = family(r, ctx, "add-path", key) else {
            ok = false;
            continue;
        };
        if let Some(fams) = families {
            if !fams.contains(&f) {
                r.error(
                    &key.span(),
                    ctx,
                    format!(
                        "add-path: {f} is not in this neighbor's families ({})",
                        names(fams)
                    ),
                );
                ok = false;
            }
        }
        let mode = match value.get_ref().trim() {
            "receive" => AddPathMode::Receive,
            "send" => AddPathMode::Send,
            "both" => AddPathMode::Both,
            other => {
                r.error(
                    &value.span(),
                    ctx,
                    format!("add-path {f} = {other:?} is not receive, send or both"),
                );
                ok = false;
                continue;
            }
        };
        out.push((f, mode));
    }
    out.sort_by_key(|(f, _)| *f);
    ok.then_some(out)
}

/// The same prefix and path identifier twice in one list of routes (no
/// path identifier is 0, as on the wire).
pub(super) fn duplicate_routes(r: &mut Report<'_>, ctx: &str, routes: &[RouteConfig]) {
    for (i, route) in routes.iter().enumerate() {
        if let Some(first) = routes[..i].iter().find(|o| {
            o.prefix == route.prefix && o.path_id.unwrap_or(0) == route.path_id.unwrap_or(0)
        }) {
            let id = match route.path_id.unwrap_or(0) {
                0 => String::new(),
                p => format!(" path-id {p}"),
            };
            r.error_at_line(
                route.line,
                ctx,
                format!(
                    "route {}{id} is given twice (first at line {})",
                    route.prefix, first.line
                ),
            );
        }
    }
}
