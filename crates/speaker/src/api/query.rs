//! The parameters of the RIB endpoints: families, addresses, prefixes,
//! which destinations (`prefix`, `longest-match`, `more-specifics`) and
//! pages (`limit`, `after`), each checked with a message that says what is
//! wrong.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::Deserialize;

use ribbit_wire::Family;

use super::error::ApiError;

/// The most destinations or routes one page may hold.
pub const MAX_LIMIT: usize = 100_000;

/// A family by Ribbit's name (`ipv4-unicast`, `ipv6-flowspec`, ...).
pub fn family(text: &str) -> Result<Family, ApiError> {
    text.parse::<Family>()
        .map_err(|e| ApiError::BadRequest(e.to_string()))
}

/// A neighbor's address in a path.
pub fn address(text: &str) -> Result<IpAddr, ApiError> {
    text.parse().map_err(|_| {
        ApiError::BadRequest(format!(
            "{text:?} is not an IP address (a neighbor's address)"
        ))
    })
}

/// Whether the family's destinations are IP prefixes the tables can look
/// up (`true` for IPv6); `None` for the families keyed by their whole NLRI
/// (labeled, VPN, Flowspec), which prefix queries do not apply to.
pub fn prefix_family(family: Family) -> Option<bool> {
    match family {
        f if f == Family::IPV4_UNICAST || f == Family::IPV4_MULTICAST => Some(false),
        f if f == Family::IPV6_UNICAST || f == Family::IPV6_MULTICAST => Some(true),
        _ => None,
    }
}

/// The query of the RIB endpoints, as text: the handlers check it with
/// [`RibParams::check`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RibParams {
    /// Exactly this prefix.
    pub prefix: Option<String>,
    /// The most specific prefix that contains this address.
    pub longest_match: Option<String>,
    /// This prefix and every prefix inside it.
    pub more_specifics: Option<String>,
    /// At most this many destinations (or routes).
    pub limit: Option<String>,
    /// Start after this destination (the `next` of the previous page).
    pub after: Option<String>,
    /// Adj-RIB-In only: the routes before import policy.
    pub pre_policy: Option<String>,
}

/// Which destinations a query asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Select {
    /// All of them.
    All,
    /// Exactly this prefix.
    Exact(IpNet),
    /// The most specific prefix containing this address.
    LongestMatch(IpAddr),
    /// This prefix and the prefixes inside it.
    MoreSpecifics(IpNet),
}

/// A checked RIB query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// Which destinations.
    pub select: Select,
    /// At most this many per page.
    pub limit: Option<usize>,
    /// Start after this destination.
    pub after: Option<Cursor>,
    /// Adj-RIB-In before import policy.
    pub pre_policy: bool,
}

/// Where a page starts: after a prefix (IP families, in table order) or
/// after an NLRI's text (the other families, in text order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cursor {
    /// After this prefix.
    Prefix(IpNet),
    /// After this NLRI text.
    Text(String),
}

fn prefix(key: &str, text: &str, family: Family, v6: bool) -> Result<IpNet, ApiError> {
    let t = text.trim();
    let net = match t.parse::<IpNet>() {
        Ok(n) => n,
        // An address alone is its host route, as in the command grammar.
        Err(_) => match t.parse::<IpAddr>() {
            Ok(a) => IpNet::from(a),
            Err(_) => {
                return Err(ApiError::BadRequest(format!(
                    "{key}: {t:?} is not a prefix (such as 10.0.0.0/24 or 2001:db8::/32)"
                )))
            }
        },
    };
    check_version(key, net.addr(), family, v6)?;
    if net.trunc() != net {
        return Err(ApiError::BadRequest(format!(
            "{key}: {net} has bits set beyond its length (did you mean {}?)",
            net.trunc()
        )));
    }
    Ok(net)
}

fn check_version(key: &str, addr: IpAddr, family: Family, v6: bool) -> Result<(), ApiError> {
    if addr.is_ipv6() != v6 {
        let (is, wants) = if v6 {
            ("IPv4", "IPv6")
        } else {
            ("IPv6", "IPv4")
        };
        return Err(ApiError::BadRequest(format!(
            "{key}: {addr} is {is}, and the family {family} is {wants}"
        )));
    }
    Ok(())
}

fn boolean(key: &str, text: &str) -> Result<bool, ApiError> {
    match text {
        "true" | "" => Ok(true),
        "false" => Ok(false),
        _ => Err(ApiError::BadRequest(format!(
            "{key}: {text:?} is not true or false"
        ))),
    }
}

impl RibParams {
    /// Check the query for `family`.
    pub fn check(&self, family: Family) -> Result<Checked, ApiError> {
        let given: Vec<&str> = [
            ("prefix", &self.prefix),
            ("longest-match", &self.longest_match),
            ("more-specifics", &self.more_specifics),
        ]
        .iter()
        .filter(|(_, v)| v.is_some())
        .map(|(k, _)| *k)
        .collect();
        if given.len() > 1 {
            return Err(ApiError::BadRequest(format!(
                "{} cannot be combined: give one of prefix, longest-match and more-specifics",
                given.join(" and ")
            )));
        }
        let ip = prefix_family(family);
        if let (Some(key), None) = (given.first(), ip) {
            return Err(ApiError::BadRequest(format!(
                "{key}: prefix lookups are for the unicast and multicast families; the destinations of {family} are looked up by listing them"
            )));
        }
        let v6 = ip.unwrap_or(false);
        let select = if let Some(t) = &self.prefix {
            Select::Exact(prefix("prefix", t, family, v6)?)
        } else if let Some(t) = &self.more_specifics {
            Select::MoreSpecifics(prefix("more-specifics", t, family, v6)?)
        } else if let Some(t) = &self.longest_match {
            let addr: IpAddr = t.trim().parse().map_err(|_| {
                ApiError::BadRequest(format!(
                    "longest-match: {t:?} is not an IP address (give an address, not a prefix)"
                ))
            })?;
            check_version("longest-match", addr, family, v6)?;
            Select::LongestMatch(addr)
        } else {
            Select::All
        };
        let limit = match &self.limit {
            None => None,
            Some(t) => match t.trim().parse::<usize>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => Some(n),
                _ => {
                    return Err(ApiError::BadRequest(format!(
                        "limit: {t:?} is not a number from 1 to {MAX_LIMIT}"
                    )))
                }
            },
        };
        let after = match (&self.after, ip) {
            (None, _) => None,
            (Some(t), Some(v6)) => Some(Cursor::Prefix(prefix("after", t, family, v6)?)),
            (Some(t), None) => Some(Cursor::Text(t.clone())),
        };
        let pre_policy = match &self.pre_policy {
            None => false,
            Some(t) => boolean("pre-policy", t)?,
        };
        Ok(Checked {
            select,
            limit,
            after,
            pre_policy,
        })
    }
}

fn after(item: &str, cursor: &Cursor) -> bool {
    match cursor {
        Cursor::Prefix(p) => item.parse::<IpNet>().map_or(true, |n| n > *p),
        Cursor::Text(t) => item > t.as_str(),
    }
}

/// Whether an item's destination is selected (for lists that are not
/// selected by the RIB: the Adj-RIBs).
pub fn selected(item: &str, select: Select) -> bool {
    let Ok(net) = item.parse::<IpNet>() else {
        return matches!(select, Select::All);
    };
    match select {
        Select::All => true,
        Select::Exact(p) => net == p,
        Select::MoreSpecifics(p) => p.contains(&net),
        // Resolved by the caller over the whole list (see `longest`).
        Select::LongestMatch(a) => net.contains(&a),
    }
}

/// Keep only the longest prefix among `items` that contains the address
/// (each item already contains it): every route of that prefix.
pub fn longest<T>(items: &mut Vec<T>, nlri: impl Fn(&T) -> &str) {
    let best = items
        .iter()
        .filter_map(|i| nlri(i).parse::<IpNet>().ok())
        .map(|n| n.prefix_len())
        .max();
    items.retain(|i| {
        nlri(i)
            .parse::<IpNet>()
            .is_ok_and(|n| Some(n.prefix_len()) == best)
    });
}

impl Checked {
    /// Where a page starts and how long it is, when it can come straight
    /// from the table in its order: every destination of a prefix family,
    /// a `limit`, no cursor or a prefix one.
    pub fn table_page(&self, family: Family) -> Option<(Option<IpNet>, usize)> {
        let limit = self.limit?;
        if self.select != Select::All
            || family.nlri_kind() != Some(ribbit_wire::family::NlriKind::Prefix)
        {
            return None;
        }
        match &self.after {
            None => Some((None, limit)),
            Some(Cursor::Prefix(p)) => Some((Some(*p), limit)),
            Some(Cursor::Text(_)) => None,
        }
    }
}

/// Where a destination goes in page order: prefixes as the tables order
/// them (address, then length), other NLRI (Flowspec rules, VPN routes)
/// by their text. A family's list holds one kind or the other.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum PageKey {
    Prefix(IpNet),
    Text(String),
}

impl PageKey {
    fn of(nlri: &str) -> PageKey {
        match nlri.parse::<IpNet>() {
            Ok(n) => PageKey::Prefix(n),
            Err(_) => PageKey::Text(nlri.to_string()),
        }
    }
}

/// Sort `items` into page order, drop those up to the cursor and cut the
/// page at `limit`, never between two routes of one destination (ADD-PATH
/// gives a destination several). Returns the cursor of the next page when
/// there is one.
pub fn page<T>(
    items: &mut Vec<T>,
    nlri: impl Fn(&T) -> &str,
    limit: Option<usize>,
    cursor: Option<&Cursor>,
) -> Option<String> {
    if let Some(c) = cursor {
        items.retain(|i| after(nlri(i), c));
    }
    // Each NLRI parsed once, not at every comparison (a full table is a
    // million of them); stable, so routes of one destination keep their
    // order.
    items.sort_by_cached_key(|i| PageKey::of(nlri(i)));
    let limit = limit?;
    if items.len() <= limit {
        return None;
    }
    let mut end = limit;
    let last = nlri(&items[limit - 1]).to_string();
    while end < items.len() && nlri(&items[end]) == last {
        end += 1;
    }
    if end == items.len() {
        return None;
    }
    items.truncate(end);
    Some(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> RibParams {
        let mut p = RibParams::default();
        for (k, v) in pairs {
            let v = Some(v.to_string());
            match *k {
                "prefix" => p.prefix = v,
                "longest-match" => p.longest_match = v,
                "more-specifics" => p.more_specifics = v,
                "limit" => p.limit = v,
                "after" => p.after = v,
                "pre-policy" => p.pre_policy = v,
                _ => panic!("{k}"),
            }
        }
        p
    }

    fn err(pairs: &[(&str, &str)], family: Family) -> String {
        match params(pairs).check(family) {
            Err(e) => e.to_string(),
            Ok(c) => panic!("{pairs:?} was accepted: {c:?}"),
        }
    }

    #[test]
    fn checks_say_what_is_wrong() {
        let v4 = Family::IPV4_UNICAST;
        assert_eq!(
            err(&[("prefix", "10.0.0.1/24")], v4),
            "prefix: 10.0.0.1/24 has bits set beyond its length (did you mean 10.0.0.0/24?)"
        );
        assert_eq!(
            err(&[("prefix", "10.0.0.0/33")], v4),
            "prefix: \"10.0.0.0/33\" is not a prefix (such as 10.0.0.0/24 or 2001:db8::/32)"
        );
        assert_eq!(
            err(&[("more-specifics", "2001:db8::/32")], v4),
            "more-specifics: 2001:db8:: is IPv6, and the family ipv4-unicast is IPv4"
        );
        assert_eq!(
            err(&[("prefix", "10.0.0.0/8"), ("longest-match", "10.0.0.1")], v4),
            "prefix and longest-match cannot be combined: give one of prefix, longest-match and more-specifics"
        );
        assert_eq!(
            err(&[("longest-match", "10.0.0.0/8")], v4),
            "longest-match: \"10.0.0.0/8\" is not an IP address (give an address, not a prefix)"
        );
        assert_eq!(
            err(&[("limit", "0")], v4),
            "limit: \"0\" is not a number from 1 to 100000"
        );
        assert_eq!(
            err(&[("pre-policy", "yes")], v4),
            "pre-policy: \"yes\" is not true or false"
        );
        assert!(err(&[("prefix", "10.0.0.0/8")], Family::IPV4_FLOWSPEC)
            .starts_with("prefix: prefix lookups are for the unicast and multicast families"));
    }

    #[test]
    fn an_address_alone_is_a_host_route() {
        let c = params(&[("prefix", "10.0.0.1")])
            .check(Family::IPV4_UNICAST)
            .unwrap();
        assert_eq!(c.select, Select::Exact("10.0.0.1/32".parse().unwrap()));
    }

    #[test]
    fn pages_follow_table_order_and_keep_destinations_whole() {
        let mut items = vec![
            "10.0.1.0/24",
            "10.0.0.0/24",
            "10.0.0.0/16",
            "9.0.0.0/8",
            "10.0.0.0/24",
        ];
        let next = page(&mut items, |s| s, Some(2), None);
        assert_eq!(items, vec!["9.0.0.0/8", "10.0.0.0/16"]);
        assert_eq!(next.as_deref(), Some("10.0.0.0/16"));
        let mut items = vec![
            "10.0.1.0/24",
            "10.0.0.0/24",
            "10.0.0.0/16",
            "9.0.0.0/8",
            "10.0.0.0/24",
        ];
        let cursor = Cursor::Prefix("10.0.0.0/16".parse().unwrap());
        let next = page(&mut items, |s| s, Some(1), Some(&cursor));
        // Both routes of 10.0.0.0/24 (ADD-PATH), though the limit is 1.
        assert_eq!(items, vec!["10.0.0.0/24", "10.0.0.0/24"]);
        assert_eq!(next.as_deref(), Some("10.0.0.0/24"));
        let mut items = vec!["10.0.1.0/24", "10.0.0.0/24"];
        assert_eq!(page(&mut items, |s| s, Some(2), None), None);
    }

    #[test]
    fn longest_keeps_the_longest_prefix() {
        let mut items = vec!["10.0.0.0/8", "10.0.0.0/24", "10.0.0.0/16", "10.0.0.0/24"];
        longest(&mut items, |s| s);
        assert_eq!(items, vec!["10.0.0.0/24", "10.0.0.0/24"]);
    }
}
