//! `[[neighbor]]`: one BGP peer and the session with it.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use ribbit_rib::policy::Verdict;
use ribbit_wire::capability::{AddPathMode, Role};
use ribbit_wire::{Family, FamilySet};
use serde::de::IgnoredAny;
use serde::Deserialize;
use toml::de::DeTable;
use toml::Spanned;

use super::flow::{self, FlowConfig};
use super::global::{hold_time, seconds, Global, BGP_PORT};
use super::max_prefix::{self, MaxPrefixConfig};
use super::report::{suggestion, Report};
use super::route::{self, RouteConfig};
use super::values::{asn, host_address, items, number, Strings};

/// The graceful restart time offered when none is configured, in seconds.
pub const DEFAULT_GRACEFUL_RESTART_TIME: Duration = Duration::from_secs(120);
/// The most `allow-own-as` accepts.
pub const MAX_ALLOW_OWN_AS: u8 = 10;

/// How many paths per prefix are sent to a neighbor with which ADD-PATH
/// send (RFC 7911) was negotiated for the family (`add-path-send`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AddPathSendConfig {
    /// `"all"`: every path that passes the export policy.
    #[default]
    All,
    /// `N`: the N best, in the order of the decision process.
    Best(u8),
}

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
    /// Flowspec rules announced to this neighbor only (`[[neighbor.flow]]`).
    pub flows: Vec<FlowConfig>,
    /// The import policies, applied in this order to the routes the
    /// neighbor sends (`import`); each is the name of a `[[policy]]`.
    pub import: Vec<String>,
    /// What happens to a route that no import policy accepted or rejected
    /// (`import-default`, default accept).
    pub import_default: Verdict,
    /// The export policies, applied in this order to the routes sent to
    /// the neighbor (`export`).
    pub export: Vec<String>,
    /// What happens to a route that no export policy accepted or rejected
    /// (`export-default`, default accept).
    pub export_default: Verdict,
    /// The neighbor is a route reflector client (`route-reflector-client`,
    /// RFC 4456; iBGP only).
    pub route_reflector_client: bool,
    /// The neighbor is a client of this route server
    /// (`route-server-client`, RFC 7947; eBGP only).
    pub route_server_client: bool,
    /// Our address replaces the next hop of the routes sent
    /// (`next-hop-self`).
    pub next_hop_self: bool,
    /// The next hop of the routes sent is left as it is, also on eBGP
    /// (`next-hop-unchanged`; default: true for a route-server client,
    /// RFC 7947 §2.2, unless `next-hop-self`).
    pub next_hop_unchanged: bool,
    /// MED is sent (`send-med`; default: true on iBGP and to route-server
    /// clients, false to other eBGP neighbors, RFC 4271 §5.1.4).
    pub send_med: bool,
    /// How many times our own AS may be in a received AS path before the
    /// route is refused as a loop (`allow-own-as`, 0 to 10).
    pub allow_own_as: u8,
    /// Keep the routes received as they were before import policies
    /// (`keep-adj-rib-in`), so that a policy change is applied without
    /// asking the neighbor to send them again.
    pub keep_adj_rib_in: bool,
    /// Validate the Flowspec rules the neighbor sends (`flowspec-validation`,
    /// RFC 8955 §6 as revised by RFC 9117; default: true on eBGP, false
    /// on iBGP): a rule for a destination the neighbor does not route is
    /// kept but not used nor passed on.
    pub flowspec_validation: bool,
    /// Our BGP role on the session (`role`, RFC 9234), announced in our OPEN.
    pub role: Option<Role>,
    /// Prefix limits (`max-prefix`), at most one per family and one for
    /// all families.
    pub max_prefix: Vec<MaxPrefixConfig>,
    /// How many paths per prefix to send where ADD-PATH send was
    /// negotiated (`add-path-send`).
    pub add_path_send: AddPathSendConfig,
    /// Offer graceful restart (`graceful-restart`, RFC 4724).
    pub graceful_restart: bool,
    /// The restart time we announce (`graceful-restart-time`, 1 to 4095 s).
    pub graceful_restart_time: Duration,
    /// How long routes are kept as stale after the restart time, with
    /// long-lived graceful restart (`long-lived-stale-time`, RFC 9494);
    /// zero: no long-lived graceful restart.
    pub long_lived_stale_time: Duration,
    /// A table dump whose routes are announced to this neighbor
    /// (`inject-mrt`): TABLE_DUMP_V2 or TABLE_DUMP, plain, gzip or bzip2.
    pub inject_mrt: Option<std::path::PathBuf>,
    /// Which peer of the dump (`inject-mrt-peer`): its index in the
    /// PEER_INDEX_TABLE (TABLE_DUMP: in order of appearance), default 0.
    pub inject_mrt_peer: u16,
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

    /// The prefix limit of a family: its own entry, else the entry for all
    /// families.
    pub fn max_prefix_for(&self, family: Family) -> Option<&MaxPrefixConfig> {
        self.max_prefix
            .iter()
            .find(|m| m.family == Some(family))
            .or_else(|| self.max_prefix.iter().find(|m| m.family.is_none()))
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
    import: Option<Spanned<Strings>>,
    export: Option<Spanned<Strings>>,
    import_default: Option<Spanned<String>>,
    export_default: Option<Spanned<String>>,
    route_reflector_client: Option<Spanned<bool>>,
    route_server_client: Option<Spanned<bool>>,
    next_hop_self: Option<Spanned<bool>>,
    next_hop_unchanged: Option<Spanned<bool>>,
    send_med: Option<bool>,
    allow_own_as: Option<Spanned<i64>>,
    keep_adj_rib_in: Option<bool>,
    flowspec_validation: Option<bool>,
    role: Option<Spanned<String>>,
    add_path_send: Option<Spanned<toml::Value>>,
    graceful_restart: Option<bool>,
    graceful_restart_time: Option<Spanned<i64>>,
    long_lived_stale_time: Option<Spanned<i64>>,
    inject_mrt: Option<Spanned<String>>,
    inject_mrt_peer: Option<Spanned<i64>>,
    // `route` (the `[[neighbor.route]]` tables) and `max-prefix` are taken
    // out before deserializing, so that each is read and reported on its
    // own; they are named here for the list of keys in messages.
    #[allow(dead_code, reason = "always taken out before")]
    route: Option<IgnoredAny>,
    #[allow(dead_code, reason = "always taken out before")]
    flow: Option<IgnoredAny>,
    #[allow(dead_code, reason = "always taken out before")]
    max_prefix: Option<IgnoredAny>,
}

/// Read one `[[neighbor]]` table.
pub(super) fn read(
    r: &mut Report<'_>,
    global: &Global,
    policies: &BTreeMap<String, usize>,
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
    let flow_entry = table.get_mut().remove_entry("flow");
    let max_prefix_entry = table.get_mut().remove_entry("max-prefix");
    let raw = r.deserialize::<RawNeighbor>(table, ctx);

    // Routes are read even when the neighbor has problems, to report theirs.
    let mut routes = Vec::new();
    if let Some((key, value)) = route_entry {
        for t in r.tables(&key.span(), value, "neighbor.route", ctx) {
            routes.extend(route::read(r, ctx, t));
        }
    }
    let mut flows = Vec::new();
    if let Some((key, value)) = flow_entry {
        for t in r.tables(&key.span(), value, "neighbor.flow", ctx) {
            flows.extend(flow::read(r, ctx, t));
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
    if let Some(fams) = &families {
        for f in &flows {
            if !fams.contains(&f.family()) {
                r.error_at_line(
                    f.line,
                    ctx,
                    format!(
                        "flow {} is {}, which is not in this neighbor's families ({})",
                        f.rule.text().trim_start_matches("flow "),
                        f.family(),
                        names(fams)
                    ),
                );
                ok = false;
            }
        }
    }
    flow::duplicates(r, ctx, &flows);

    let max_prefix = match max_prefix_entry {
        Some((_, value)) => max_prefix::read(r, ctx, value, families.as_deref()),
        None => Some(Vec::new()),
    };
    ok &= max_prefix.is_some();
    let ebgp = match (peer_asn, local_asn) {
        (Some(p), Some(l)) => Some(p != l),
        _ => None,
    };
    let routing = routing(r, ctx, &raw, ebgp, policies, add_path.as_deref());
    ok &= routing.is_some();
    let inject_mrt = match &raw.inject_mrt {
        Some(v) if v.get_ref().trim().is_empty() => {
            r.error(
                &v.span(),
                ctx,
                "inject-mrt is empty (leave it out for no dump)",
            );
            ok = false;
            None
        }
        Some(v) => Some(std::path::PathBuf::from(v.get_ref())),
        None => None,
    };
    let inject_mrt_peer = match &raw.inject_mrt_peer {
        Some(v) => {
            if raw.inject_mrt.is_none() {
                r.error(
                    &v.span(),
                    ctx,
                    "inject-mrt-peer without inject-mrt (the dump)",
                );
                ok = false;
            }
            let i = number::<u16>(r, ctx, "inject-mrt-peer", v, 0..=65535);
            ok &= i.is_some();
            i.unwrap_or(0)
        }
        None => 0,
    };

    if !ok {
        return None;
    }
    let routing = routing?;
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
        flows,
        import: routing.import,
        import_default: routing.import_default,
        export: routing.export,
        export_default: routing.export_default,
        route_reflector_client: routing.route_reflector_client,
        route_server_client: routing.route_server_client,
        next_hop_self: routing.next_hop_self,
        next_hop_unchanged: routing.next_hop_unchanged,
        send_med: routing.send_med,
        allow_own_as: routing.allow_own_as,
        keep_adj_rib_in: raw.keep_adj_rib_in.unwrap_or(false),
        flowspec_validation: raw.flowspec_validation.unwrap_or(ebgp.unwrap_or(true)),
        role: routing.role,
        max_prefix: max_prefix?,
        add_path_send: routing.add_path_send,
        graceful_restart: routing.graceful_restart,
        graceful_restart_time: routing.graceful_restart_time,
        long_lived_stale_time: routing.long_lived_stale_time,
        inject_mrt,
        inject_mrt_peer,
        line,
    })
}

/// The settings of a neighbor that concern its routes rather than its
/// session, checked together because they depend on one another.
struct Routing {
    import: Vec<String>,
    import_default: Verdict,
    export: Vec<String>,
    export_default: Verdict,
    route_reflector_client: bool,
    route_server_client: bool,
    next_hop_self: bool,
    next_hop_unchanged: bool,
    send_med: bool,
    allow_own_as: u8,
    role: Option<Role>,
    add_path_send: AddPathSendConfig,
    graceful_restart: bool,
    graceful_restart_time: Duration,
    long_lived_stale_time: Duration,
}

/// Read and check [`Routing`]; `ebgp` is `None` when the AS numbers had
/// problems (already reported), and the checks that need it are skipped.
/// `policies` are the names of the policies in the file, with their lines.
fn routing(
    r: &mut Report<'_>,
    ctx: &str,
    raw: &RawNeighbor,
    ebgp: Option<bool>,
    policies: &BTreeMap<String, usize>,
    add_path: Option<&[(Family, AddPathMode)]>,
) -> Option<Routing> {
    let mut ok = true;
    let mut names = |r: &mut Report<'_>, key: &str, v: &Option<Spanned<Strings>>| {
        let Some(v) = v else {
            return Vec::new();
        };
        let known: Vec<&str> = policies.keys().map(String::as_str).collect();
        let mut out: Vec<String> = Vec::new();
        for item in items(v) {
            let name = item.get_ref().trim();
            if !policies.contains_key(name) {
                let hint = match suggestion(name, &known) {
                    Some(s) => format!(" (did you mean {s}?)"),
                    None => String::new(),
                };
                r.error(
                    &item.span(),
                    ctx,
                    format!("{key}: there is no policy named {name:?}{hint}"),
                );
                ok = false;
            } else if out.iter().any(|o| o == name) {
                r.error(&item.span(), ctx, format!("{key} lists {name} twice"));
                ok = false;
            } else {
                out.push(name.to_string());
            }
        }
        out
    };
    let import = names(r, "import", &raw.import);
    let export = names(r, "export", &raw.export);
    let mut verdict = |r: &mut Report<'_>, key: &str, v: &Option<Spanned<String>>| match v {
        None => Verdict::Accept,
        Some(v) => match v.get_ref().parse::<Verdict>() {
            Ok(d) => d,
            Err(_) => {
                r.error(
                    &v.span(),
                    ctx,
                    format!("{key} {:?} is not accept or reject", v.get_ref()),
                );
                ok = false;
                Verdict::Accept
            }
        },
    };
    let import_default = verdict(r, "import-default", &raw.import_default);
    let export_default = verdict(r, "export-default", &raw.export_default);

    let flag = |v: &Option<Spanned<bool>>| v.as_ref().is_some_and(|b| *b.get_ref());
    let rr_client = flag(&raw.route_reflector_client);
    let rs_client = flag(&raw.route_server_client);
    if let (Some(v), Some(true)) = (&raw.route_reflector_client, ebgp) {
        if *v.get_ref() {
            r.error(
                &v.span(),
                ctx,
                "route-reflector-client is for iBGP neighbors (RFC 4456); this one is in another AS",
            );
            ok = false;
        }
    }
    if let (Some(v), Some(false)) = (&raw.route_server_client, ebgp) {
        if *v.get_ref() {
            r.error(
                &v.span(),
                ctx,
                "route-server-client is for eBGP neighbors (RFC 7947); this one is in our AS",
            );
            ok = false;
        }
    }
    let nh_self = flag(&raw.next_hop_self);
    if let (Some(s), Some(u)) = (&raw.next_hop_self, &raw.next_hop_unchanged) {
        if *s.get_ref() && *u.get_ref() {
            r.error(
                &u.span(),
                ctx,
                "next-hop-self and next-hop-unchanged cannot both be true",
            );
            ok = false;
        }
    }
    let nh_unchanged = match &raw.next_hop_unchanged {
        Some(v) => *v.get_ref(),
        None => rs_client && !nh_self,
    };
    let send_med = raw
        .send_med
        .unwrap_or(rs_client || ebgp.is_some_and(|e| !e));
    let allow_own_as = match &raw.allow_own_as {
        Some(v) => {
            let n = number(r, ctx, "allow-own-as", v, 0..=i64::from(MAX_ALLOW_OWN_AS));
            ok &= n.is_some();
            n.unwrap_or(0)
        }
        None => 0,
    };
    let role = match &raw.role {
        None => None,
        Some(v) => {
            let text = v.get_ref().trim();
            let known = [
                Role::Provider,
                Role::Customer,
                Role::Peer,
                Role::RouteServer,
                Role::RouteServerClient,
            ];
            match known.into_iter().find(|k| k.name() == text) {
                None => {
                    r.error(
                        &v.span(),
                        ctx,
                        format!("role {text:?} is not provider, customer, peer, rs or rs-client"),
                    );
                    ok = false;
                    None
                }
                Some(_) if ebgp == Some(false) => {
                    r.error(
                        &v.span(),
                        ctx,
                        "role is for eBGP neighbors (RFC 9234 roles are relations between ASes); this one is in our AS",
                    );
                    ok = false;
                    None
                }
                Some(role) if (role == Role::RouteServer) != rs_client => {
                    let m = if rs_client {
                        format!("role {text} does not fit route-server-client = true (our role toward a route-server client is rs)")
                    } else {
                        "role rs needs route-server-client = true (it makes us the neighbor's route server)".to_string()
                    };
                    r.error(&v.span(), ctx, m);
                    ok = false;
                    None
                }
                Some(role) => Some(role),
            }
        }
    };
    let add_path_send = match &raw.add_path_send {
        None => AddPathSendConfig::All,
        Some(v) => {
            let sends = add_path.is_some_and(|modes| {
                modes
                    .iter()
                    .any(|(_, m)| matches!(m, AddPathMode::Send | AddPathMode::Both))
            });
            if add_path.is_some() && !sends {
                r.error(
                    &v.span(),
                    ctx,
                    "add-path-send needs add-path = \"send\" or \"both\" for some family",
                );
                ok = false;
            }
            match v.get_ref() {
                toml::Value::String(s) if s.trim() == "all" => AddPathSendConfig::All,
                toml::Value::Integer(n) => {
                    let n = number(
                        r,
                        ctx,
                        "add-path-send",
                        &Spanned::new(v.span(), *n),
                        1..=255,
                    );
                    ok &= n.is_some();
                    AddPathSendConfig::Best(n.unwrap_or(1))
                }
                other => {
                    let shown = match other {
                        toml::Value::String(s) => format!("{s:?}"),
                        o => o.type_str().to_string(),
                    };
                    r.error(
                        &v.span(),
                        ctx,
                        format!("add-path-send must be \"all\" or a number of paths from 1 to 255, not {shown}"),
                    );
                    ok = false;
                    AddPathSendConfig::All
                }
            }
        }
    };
    let graceful_restart = raw.graceful_restart.unwrap_or(false);
    let graceful_restart_time = match &raw.graceful_restart_time {
        None => DEFAULT_GRACEFUL_RESTART_TIME,
        Some(v) => {
            // 12 bits in the capability (RFC 4724 §3).
            let t = number::<u16>(r, ctx, "graceful-restart-time", v, 1..=4095);
            ok &= t.is_some();
            if !graceful_restart {
                r.error(
                    &v.span(),
                    ctx,
                    "graceful-restart-time needs graceful-restart = true",
                );
                ok = false;
            }
            t.map_or(DEFAULT_GRACEFUL_RESTART_TIME, |t| {
                Duration::from_secs(u64::from(t))
            })
        }
    };
    let long_lived_stale_time = match &raw.long_lived_stale_time {
        None => Duration::ZERO,
        Some(v) => {
            // 24 bits in the capability (RFC 9494 §2).
            let t = number::<u32>(r, ctx, "long-lived-stale-time", v, 0..=0x00FF_FFFF);
            ok &= t.is_some();
            if !graceful_restart && t.is_some_and(|t| t > 0) {
                r.error(
                    &v.span(),
                    ctx,
                    "long-lived-stale-time needs graceful-restart = true (Ribbit offers long-lived graceful restart together with graceful restart)",
                );
                ok = false;
            }
            Duration::from_secs(u64::from(t.unwrap_or(0)))
        }
    };
    ok.then_some(Routing {
        import,
        import_default,
        export,
        export_default,
        route_reflector_client: rr_client,
        route_server_client: rs_client,
        next_hop_self: nh_self,
        next_hop_unchanged: nh_unchanged,
        send_med,
        allow_own_as,
        role,
        add_path_send,
        graceful_restart,
        graceful_restart_time,
        long_lived_stale_time,
    })
}

pub(super) fn names(families: &[Family]) -> String {
    families
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Families Ribbit can carry: those whose NLRI it knows.
pub(super) fn family(
    r: &mut Report<'_>,
    ctx: &str,
    key: &str,
    v: &Spanned<String>,
) -> Option<Family> {
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
