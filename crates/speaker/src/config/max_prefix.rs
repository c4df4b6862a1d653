//! `max-prefix` of a `[[neighbor]]`: how many prefixes a neighbor may
//! send per family, and what happens beyond.
//!
//! ```toml
//! max-prefix = 1000                     # every family, tear the session down
//! max-prefix = { limit = 1000, action = "warn" }
//! [[neighbor.max-prefix]]
//! family = "ipv6-unicast"
//! limit = 200
//! action = "teardown"
//! restart = 300
//! ```

use std::time::Duration;

use ribbit_wire::Family;
use serde::Deserialize;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::global::seconds;
use super::neighbor::{family, names};
use super::report::Report;
use super::values::number;

/// What happens when a neighbor sends more prefixes than its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MaxPrefixAction {
    /// `warn`: log it and keep every prefix.
    Warn,
    /// `withdraw-excess`: keep the session, but not the prefixes beyond
    /// the limit.
    WithdrawExcess,
    /// `teardown`: close the session with a CEASE NOTIFICATION, subcode
    /// "Maximum Number of Prefixes Reached" (RFC 4486 §4).
    Teardown,
}

/// One `max-prefix` entry, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MaxPrefixConfig {
    /// The family it counts (`family`); `None`: each of the neighbor's
    /// families that has no entry of its own, counted separately.
    pub family: Option<Family>,
    /// The most prefixes accepted (`limit`), 1 to 4294967295.
    pub limit: u32,
    /// What happens beyond (`action`, default `teardown`).
    pub action: MaxPrefixAction,
    /// With `teardown`: when to start the session again (`restart`);
    /// `None`: it stays down until restarted by hand.
    pub restart: Option<Duration>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawMaxPrefix {
    family: Option<Spanned<String>>,
    limit: Option<Spanned<i64>>,
    action: Option<Spanned<String>>,
    restart: Option<Spanned<i64>>,
}

/// Read `max-prefix`: an integer, a table, or a list of either.
/// `families` are the neighbor's, when known.
pub(super) fn read(
    r: &mut Report<'_>,
    ctx: &str,
    value: Spanned<DeValue<'_>>,
    families: Option<&[Family]>,
) -> Option<Vec<MaxPrefixConfig>> {
    let items: Vec<Spanned<DeValue<'_>>> = match value.get_ref() {
        DeValue::Array(_) => {
            let DeValue::Array(a) = value.into_inner() else {
                return None;
            };
            a.into_iter().collect()
        }
        _ => vec![value],
    };
    let mut out: Vec<(MaxPrefixConfig, usize)> = Vec::with_capacity(items.len());
    let mut ok = true;
    for item in items {
        let span = item.span();
        let line = r.line(span.start);
        match one(r, ctx, item, families) {
            Some(entry) => {
                if let Some((_, first)) = out.iter().find(|(e, _)| e.family == entry.family) {
                    let which = entry
                        .family
                        .map_or("all families".to_string(), |f| f.to_string());
                    r.error(
                        &span,
                        ctx,
                        format!("max-prefix for {which} is given twice (first at line {first})"),
                    );
                    ok = false;
                }
                out.push((entry, line));
            }
            None => ok = false,
        }
    }
    ok.then(|| out.into_iter().map(|(e, _)| e).collect())
}

fn one(
    r: &mut Report<'_>,
    ctx: &str,
    item: Spanned<DeValue<'_>>,
    families: Option<&[Family]>,
) -> Option<MaxPrefixConfig> {
    let span = item.span();
    match item.get_ref() {
        DeValue::Integer(_) => {
            let n = r.value::<Spanned<i64>>(item, ctx, "max-prefix")?;
            let limit = number(r, ctx, "max-prefix", &n, 1..=i64::from(u32::MAX))?;
            Some(MaxPrefixConfig {
                family: None,
                limit,
                action: MaxPrefixAction::Teardown,
                restart: None,
            })
        }
        DeValue::Table(_) => {
            let DeValue::Table(t) = item.into_inner() else {
                return None;
            };
            let table: Spanned<DeTable<'_>> = Spanned::new(span.clone(), t);
            let c = format!("{ctx}: max-prefix");
            let raw = r.deserialize::<RawMaxPrefix>(table, &c)?;
            entry(r, &c, &span, raw, families)
        }
        other => {
            r.error(
                &span,
                ctx,
                format!(
                    "max-prefix must be a number, a table such as {{ limit = 1000, action = \"warn\" }}, or a list of them, not {}",
                    other.type_str()
                ),
            );
            None
        }
    }
}

fn entry(
    r: &mut Report<'_>,
    ctx: &str,
    span: &std::ops::Range<usize>,
    raw: RawMaxPrefix,
    families: Option<&[Family]>,
) -> Option<MaxPrefixConfig> {
    let mut ok = true;
    let fam = match &raw.family {
        Some(v) => {
            let f = family(r, ctx, "family", v);
            if let (Some(f), Some(fams)) = (f, families) {
                if !fams.contains(&f) {
                    r.error(
                        &v.span(),
                        ctx,
                        format!(
                            "family {f} is not in this neighbor's families ({})",
                            names(fams)
                        ),
                    );
                    ok = false;
                }
            }
            ok &= f.is_some();
            f
        }
        None => None,
    };
    let limit = match &raw.limit {
        Some(v) => number(r, ctx, "limit", v, 1..=i64::from(u32::MAX)),
        None => {
            r.error(span, ctx, "limit is required");
            None
        }
    };
    let action = match &raw.action {
        None => Some(MaxPrefixAction::Teardown),
        Some(v) => match v.get_ref().trim() {
            "warn" => Some(MaxPrefixAction::Warn),
            "withdraw-excess" => Some(MaxPrefixAction::WithdrawExcess),
            "teardown" => Some(MaxPrefixAction::Teardown),
            other => {
                r.error(
                    &v.span(),
                    ctx,
                    format!("action {other:?} is not warn, withdraw-excess or teardown"),
                );
                None
            }
        },
    };
    let restart = match &raw.restart {
        None => Some(None),
        Some(v) => {
            let d = seconds(r, ctx, "restart", v);
            if action.is_some_and(|a| a != MaxPrefixAction::Teardown) {
                r.error(
                    &v.span(),
                    ctx,
                    "restart applies only to action teardown (the session stays up with the others)",
                );
                ok = false;
            }
            d.map(Some)
        }
    };
    if !ok {
        return None;
    }
    Some(MaxPrefixConfig {
        family: fam,
        limit: limit?,
        action: action?,
        restart: restart?,
    })
}
