//! `[[route]]` and `[[neighbor.route]]`: static routes to announce.

use std::net::IpAddr;

use ipnet::IpNet;
use ribbit_exabgp::text::{Announcement, NextHopSpec};
use ribbit_wire::attribute::{AsPath, Community, ExtendedCommunity, LargeCommunity};
use ribbit_wire::nlri::{PathId, PrefixNlri};
use ribbit_wire::{Family, NlriList, Origin, PathAttributes};
use serde::Deserialize;
use toml::de::DeTable;
use toml::Spanned;

use super::report::Report;
use super::values::{number, parsed};

/// A static route, checked. Its family is that of the prefix
/// (`ipv4-unicast` or `ipv6-unicast`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteConfig {
    /// The prefix (`prefix`), host bits clear.
    pub prefix: IpNet,
    /// The ADD-PATH path identifier (`path-id`), sent to peers that
    /// negotiated ADD-PATH send for the family.
    pub path_id: Option<PathId>,
    /// `next-hop`: an address, or `self` (our address on each session).
    pub next_hop: NextHopSpec,
    /// ORIGIN, AS_PATH, MED, LOCAL_PREF and communities as configured.
    /// `next_hop` is never set here (it is in [`RouteConfig::next_hop`]).
    pub attributes: PathAttributes,
    /// The line of the route's table in the file, for later messages.
    pub line: usize,
}

impl RouteConfig {
    /// The family: `ipv4-unicast` or `ipv6-unicast`.
    pub fn family(&self) -> Family {
        match self.prefix {
            IpNet::V4(_) => Family::IPV4_UNICAST,
            IpNet::V6(_) => Family::IPV6_UNICAST,
        }
    }

    /// The NLRI.
    pub fn nlri(&self) -> PrefixNlri {
        PrefixNlri {
            path_id: self.path_id,
            prefix: self.prefix,
        }
    }

    /// The route as an announcement of ExaBGP's grammar, the one form that
    /// the process API and the configuration share: the session encodes it
    /// with [`Announcement::encode`], which resolves `next-hop self` and
    /// applies the iBGP/eBGP defaults (our AS prepended on eBGP, LOCAL_PREF
    /// 100 on iBGP when not given).
    pub fn announcement(&self) -> Announcement {
        Announcement {
            family: self.family(),
            nlri: NlriList::Prefixes(vec![self.nlri()]),
            next_hop: self.next_hop,
            attributes: self.attributes.clone(),
            watchdog: None,
            held: false,
            name: None,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawRoute {
    prefix: Option<Spanned<String>>,
    next_hop: Option<Spanned<String>>,
    path_id: Option<Spanned<i64>>,
    origin: Option<Spanned<String>>,
    as_path: Option<Spanned<toml::Value>>,
    med: Option<Spanned<i64>>,
    local_pref: Option<Spanned<i64>>,
    communities: Option<Vec<Spanned<String>>>,
    large_communities: Option<Vec<Spanned<String>>>,
    extended_communities: Option<Vec<Spanned<String>>>,
}

/// The name of a route table in messages: `route 10.0.0.0/24`, under the
/// neighbor's name if it has one.
pub(super) fn context(parent: &str, table: &DeTable<'_>) -> String {
    let prefix = table
        .get("prefix")
        .and_then(|v| v.get_ref().as_str())
        .unwrap_or("")
        .trim();
    let own = if prefix.is_empty() {
        "route".to_string()
    } else {
        format!("route {prefix}")
    };
    if parent.is_empty() {
        own
    } else {
        format!("{parent}: {own}")
    }
}

/// Read one route table; `parent` names the neighbor it is under, if any.
pub(super) fn read(
    r: &mut Report<'_>,
    parent: &str,
    table: Spanned<DeTable<'_>>,
) -> Option<RouteConfig> {
    let ctx = context(parent, table.get_ref());
    let ctx = ctx.as_str();
    let span = table.span();
    let line = r.line(span.start);
    let raw: RawRoute = r.deserialize(table, ctx)?;
    let mut ok = true;

    let prefix = match &raw.prefix {
        Some(v) => prefix(r, ctx, v),
        None => {
            r.error(&span, ctx, "prefix is required");
            None
        }
    };

    let next_hop = match &raw.next_hop {
        None => Some(NextHopSpec::SelfAddress),
        Some(v) if v.get_ref().trim() == "self" => Some(NextHopSpec::SelfAddress),
        Some(v) => next_hop(r, ctx, v, prefix.as_ref()),
    };

    let mut attributes = PathAttributes {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath::default()),
        ..PathAttributes::default()
    };
    if let Some(v) = &raw.origin {
        match v.get_ref().parse::<Origin>() {
            Ok(o) => attributes.origin = Some(o),
            Err(_) => {
                r.error(
                    &v.span(),
                    ctx,
                    format!("origin {:?} is not igp, egp or incomplete", v.get_ref()),
                );
                ok = false;
            }
        }
    }
    if let Some(v) = &raw.as_path {
        match as_path(v.get_ref()) {
            Ok(p) => attributes.as_path = Some(p),
            Err(m) => {
                r.error(&v.span(), ctx, format!("as-path {m}"));
                ok = false;
            }
        }
    }
    if let Some(v) = &raw.med {
        attributes.med = number(r, ctx, "med", v, 0..=i64::from(u32::MAX));
        ok &= attributes.med.is_some();
    }
    if let Some(v) = &raw.local_pref {
        attributes.local_pref = number(r, ctx, "local-pref", v, 0..=i64::from(u32::MAX));
        ok &= attributes.local_pref.is_some();
    }
    let path_id = match &raw.path_id {
        Some(v) => {
            let id = number::<PathId>(r, ctx, "path-id", v, 0..=i64::from(u32::MAX));
            ok &= id.is_some();
            id
        }
        None => None,
    };
    ok &= list::<Community>(
        r,
        ctx,
        "communities",
        raw.communities.as_deref(),
        "a community (such as 65000:100 or no-export)",
        &mut attributes.communities,
    );
    ok &= list::<LargeCommunity>(
        r,
        ctx,
        "large-communities",
        raw.large_communities.as_deref(),
        "a large community (such as 65000:1:2)",
        &mut attributes.large_communities,
    );
    ok &= list::<ExtendedCommunity>(
        r,
        ctx,
        "extended-communities",
        raw.extended_communities.as_deref(),
        "an extended community (such as target:65000:100)",
        &mut attributes.extended_communities,
    );

    if !ok {
        return None;
    }
    Some(RouteConfig {
        prefix: prefix?,
        path_id,
        next_hop: next_hop?,
        attributes,
        line,
    })
}

/// A prefix with its length and no host bits.
fn prefix(r: &mut Report<'_>, ctx: &str, v: &Spanned<String>) -> Option<IpNet> {
    let text = v.get_ref().trim();
    let Ok(net) = text.parse::<IpNet>() else {
        let message = match text.parse::<IpAddr>() {
            Ok(IpAddr::V4(_)) => {
                format!("prefix {text} has no length (write {text}/32 for one address)")
            }
            Ok(IpAddr::V6(_)) => {
                format!("prefix {text} has no length (write {text}/128 for one address)")
            }
            Err(_) => format!("prefix {text:?} is not an IPv4 or IPv6 prefix"),
        };
        r.error(&v.span(), ctx, message);
        return None;
    };
    if net.trunc() != net {
        r.error(
            &v.span(),
            ctx,
            format!(
                "prefix {net} has host bits set (the network is {})",
                net.trunc()
            ),
        );
        return None;
    }
    Some(net)
}

fn next_hop(
    r: &mut Report<'_>,
    ctx: &str,
    v: &Spanned<String>,
    prefix: Option<&IpNet>,
) -> Option<NextHopSpec> {
    let addr: IpAddr = parsed(r, ctx, "next-hop", v, "self or an IP address")?;
    if addr.is_unspecified() || addr.is_multicast() {
        r.error(
            &v.span(),
            ctx,
            format!("next-hop {addr} is not a unicast address"),
        );
        return None;
    }
    if matches!((prefix, addr), (Some(IpNet::V4(_)), IpAddr::V6(_))) {
        r.error(
            &v.span(),
            ctx,
            format!("next-hop {addr} is IPv6, and an IPv4 prefix needs an IPv4 next-hop (extended next hop, RFC 8950, is not configurable yet)"),
        );
        return None;
    }
    Some(NextHopSpec::Address(addr))
}

/// `as-path`: a list of AS numbers, or the text form with sets in
/// parentheses (`"65001 65002 (65003 65004)"`).
fn as_path(v: &toml::Value) -> Result<AsPath, String> {
    let path = match v {
        toml::Value::Array(items) => {
            let mut asns = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    toml::Value::Integer(n) => asns.push(
                        u32::try_from(*n)
                            .map_err(|_| format!("AS {n} is out of range (1 to 4294967295)"))?,
                    ),
                    other => return Err(format!("must list AS numbers, not {}", other.type_str())),
                }
            }
            AsPath::sequence(asns)
        }
        toml::Value::String(s) => s.parse::<AsPath>().map_err(|_| {
            format!("{s:?} is not an AS path (such as \"65001 65002\" or \"65001 (65002 65003)\")")
        })?,
        other => {
            return Err(format!(
                "must be a list of AS numbers or a string, not {}",
                other.type_str()
            ))
        }
    };
    if path.contains(0) {
        return Err("contains AS 0, which is reserved (RFC 7607)".to_string());
    }
    Ok(path)
}

/// A list of strings parsed with `FromStr` into `out`; false if any failed.
fn list<T: std::str::FromStr>(
    r: &mut Report<'_>,
    ctx: &str,
    key: &str,
    items: Option<&[Spanned<String>]>,
    what: &str,
    out: &mut Vec<T>,
) -> bool {
    let mut ok = true;
    for item in items.unwrap_or_default() {
        match parsed(r, ctx, key, item, what) {
            Some(t) => out.push(t),
            None => ok = false,
        }
    }
    ok
}
