//! The named sets (`[prefix-sets]`, `[as-path-sets]`, `[community-sets]`,
//! `[extended-community-sets]`, `[large-community-sets]`) and the policies
//! (`[[policy]]` with their `[[policy.rule]]`), read into the types of
//! `ribbit_rib::policy`, which evaluates them.
//!
//! Each set and each policy is read on its own, and so is each rule's
//! `match` and `then` (and the `not` and community tables inside them), so
//! that the messages name the key at fault in its own table and one mistake
//! does not hide the next. A reference to a set that does not exist is
//! reported where it is written; a reference to a set that exists but had
//! problems is not reported again.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::ops::Range;
use std::sync::Arc;

use ribbit_rib::policy::{
    parse_address_or_prefix, Action, Amount, AsPathSet, CommunityEdit, CommunitySet,
    CommunityValue, Condition, Entry, NextHopAction, Policy, PrefixEntry, PrefixSet, Rule, Verdict,
};
use ribbit_wire::attribute::{Community, ExtendedCommunity, LargeCommunity};
use ribbit_wire::Origin;
use serde::de::IgnoredAny;
use serde::Deserialize;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::neighbor::family;
use super::report::{suggestion, unknown_key, Report};
use super::values::{asns, items, number, Strings};

/// The sections of named sets, with the name of one set in messages.
pub(super) const SET_SECTIONS: [(&str, &str); 5] = [
    ("prefix-sets", "prefix set"),
    ("as-path-sets", "AS-path set"),
    ("community-sets", "community set"),
    ("extended-community-sets", "extended community set"),
    ("large-community-sets", "large community set"),
];

/// The longest AS-path prepend, so that a typo cannot make a path of
/// thousands of ASes.
pub const MAX_PREPEND: u8 = 32;

/// The named sets read so far.
#[derive(Default)]
pub(super) struct Sets {
    prefix: BTreeMap<String, Arc<PrefixSet>>,
    as_path: BTreeMap<String, Arc<AsPathSet>>,
    community: BTreeMap<String, Arc<CommunitySet<Community>>>,
    extended: BTreeMap<String, Arc<CommunitySet<ExtendedCommunity>>>,
    large: BTreeMap<String, Arc<CommunitySet<LargeCommunity>>>,
    /// `(section, name)` of the sets that had problems.
    broken: BTreeSet<(&'static str, String)>,
}

/// Names of sets and policies: what a network engineer types, and what is
/// safe to print and to use in an API path.
pub(super) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

pub(super) fn name_problem(what: &str, name: &str) -> String {
    format!("{what} name {name:?} may only have letters, digits, -, _ and . (and cannot be empty)")
}

/// Read one set section (`section` is one of [`SET_SECTIONS`]).
pub(super) fn read_sets(
    r: &mut Report<'_>,
    sets: &mut Sets,
    section: &'static str,
    key_span: &Range<usize>,
    value: Spanned<DeValue<'_>>,
) {
    let singular = section.trim_end_matches('s');
    let span = value.span();
    let DeValue::Table(table) = value.into_inner() else {
        let at = if span.is_empty() { key_span } else { &span };
        r.error(
            at,
            "",
            format!("{section} must be a table: [{section}], one name = [entries] per line"),
        );
        return;
    };
    for (name, v) in table {
        let name_span = name.span();
        let name = name.get_ref().to_string();
        let ctx = format!("{singular} {name}");
        if !valid_name(&name) {
            r.error(&name_span, "", name_problem(singular, &name));
            continue;
        }
        let Some(list) = r.value::<Spanned<Strings>>(v, &ctx, "entries") else {
            sets.broken.insert((section, name));
            continue;
        };
        let entries = items(&list);
        let ok = match section {
            "prefix-sets" => prefix_set(r, &ctx, "", &name, &entries)
                .map(|s| sets.prefix.insert(name.clone(), s))
                .is_some(),
            "as-path-sets" => as_path_set(r, &ctx, "", &name, &list.span(), &entries)
                .map(|s| sets.as_path.insert(name.clone(), s))
                .is_some(),
            "community-sets" => community_set(r, &ctx, "", &name, &entries)
                .map(|s| sets.community.insert(name.clone(), s))
                .is_some(),
            "extended-community-sets" => community_set(r, &ctx, "", &name, &entries)
                .map(|s| sets.extended.insert(name.clone(), s))
                .is_some(),
            _ => community_set(r, &ctx, "", &name, &entries)
                .map(|s| sets.large.insert(name.clone(), s))
                .is_some(),
        };
        if !ok {
            sets.broken.insert((section, name));
        }
    }
}

/// `key: ` before a message when there is a key.
fn keyed(key: &str, message: impl std::fmt::Display) -> String {
    if key.is_empty() {
        message.to_string()
    } else {
        format!("{key}: {message}")
    }
}

fn prefix_set(
    r: &mut Report<'_>,
    ctx: &str,
    key: &str,
    name: &str,
    entries: &[Spanned<String>],
) -> Option<Arc<PrefixSet>> {
    let mut out = Vec::with_capacity(entries.len());
    let mut ok = true;
    for e in entries {
        match e.get_ref().parse::<PrefixEntry>() {
            Ok(p) => out.push(p),
            Err(err) => {
                r.error(&e.span(), ctx, keyed(key, err));
                ok = false;
            }
        }
    }
    ok.then(|| Arc::new(PrefixSet::new(name, out)))
}

fn as_path_set(
    r: &mut Report<'_>,
    ctx: &str,
    key: &str,
    name: &str,
    span: &Range<usize>,
    entries: &[Spanned<String>],
) -> Option<Arc<AsPathSet>> {
    let mut ok = true;
    // Each on its own first, so that the message points at its line.
    for e in entries {
        if let Err(err) = AsPathSet::new("", [e.get_ref().as_str()]) {
            r.error(&e.span(), ctx, keyed(key, err));
            ok = false;
        }
    }
    if !ok {
        return None;
    }
    match AsPathSet::new(name, entries.iter().map(|e| e.get_ref().clone())) {
        Ok(s) => Some(Arc::new(s)),
        Err(err) => {
            r.error(span, ctx, keyed(key, err));
            None
        }
    }
}

fn community_set<T: CommunityValue>(
    r: &mut Report<'_>,
    ctx: &str,
    key: &str,
    name: &str,
    entries: &[Spanned<String>],
) -> Option<Arc<CommunitySet<T>>> {
    let mut out = Vec::with_capacity(entries.len());
    let mut ok = true;
    for e in entries {
        match T::parse_entry(e.get_ref()) {
            Ok(entry) => out.push(entry),
            Err(err) => {
                r.error(&e.span(), ctx, keyed(key, err));
                ok = false;
            }
        }
    }
    ok.then(|| Arc::new(CommunitySet::new(name, out)))
}

/// The sets named in `value`, from `map`; unknown names are reported,
/// with a suggestion.
fn references<T>(
    r: &mut Report<'_>,
    ctx: &str,
    key: &str,
    value: &Spanned<Strings>,
    map: &BTreeMap<String, Arc<T>>,
    broken: &BTreeSet<(&'static str, String)>,
    section: &'static str,
) -> Option<Vec<Arc<T>>> {
    let what = SET_SECTIONS
        .iter()
        .find(|(s, _)| *s == section)
        .map_or("set", |(_, w)| *w);
    let names = non_empty(r, ctx, key, value)?;
    let known: Vec<&str> = map.keys().map(String::as_str).collect();
    let mut out = Vec::with_capacity(names.len());
    let mut ok = true;
    for n in &names {
        let name = n.get_ref().trim();
        if let Some(set) = map.get(name) {
            out.push(set.clone());
            continue;
        }
        ok = false;
        if broken.contains(&(section, name.to_string())) {
            continue;
        }
        let hint = match suggestion(name, &known) {
            Some(s) => format!(" (did you mean {s}?)"),
            None => String::new(),
        };
        r.error(
            &n.span(),
            ctx,
            format!("{key}: there is no {what} named {name:?}{hint}"),
        );
    }
    ok.then_some(out)
}

/// The items of a list that must not be empty.
fn non_empty(
    r: &mut Report<'_>,
    ctx: &str,
    key: &str,
    value: &Spanned<Strings>,
) -> Option<Vec<Spanned<String>>> {
    let list = items(value);
    if list.is_empty() {
        r.error(
            &value.span(),
            ctx,
            format!("{key} is empty (leave it out to match everything)"),
        );
        return None;
    }
    Some(list)
}

/// Each item parsed with `parse`; problems are reported as `key: message`.
fn each<T, E: std::fmt::Display>(
    r: &mut Report<'_>,
    ctx: &str,
    key: &str,
    value: &Spanned<Strings>,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Option<Vec<T>> {
    let list = non_empty(r, ctx, key, value)?;
    let mut out = Vec::with_capacity(list.len());
    let mut ok = true;
    for item in &list {
        match parse(item.get_ref().trim()) {
            Ok(t) => out.push(t),
            Err(e) => {
                r.error(&item.span(), ctx, keyed(key, e));
                ok = false;
            }
        }
    }
    ok.then_some(out)
}

/// Take `key` out of `table` when it is a table. `Ok(None)`: absent.
/// `Err`: present but not a table (recorded).
fn take_table<'i>(
    r: &mut Report<'_>,
    table: &mut Spanned<DeTable<'i>>,
    key: &str,
    ctx: &str,
    example: &str,
) -> Result<Option<Spanned<DeTable<'i>>>, ()> {
    let Some((k, v)) = table.get_mut().remove_entry(key) else {
        return Ok(None);
    };
    let span = v.span();
    match v.into_inner() {
        DeValue::Table(t) => Ok(Some(Spanned::new(span, t))),
        other => {
            let at = if span.is_empty() { k.span() } else { span };
            r.error(
                &at,
                ctx,
                format!(
                    "{key} must be a table such as {example}, not {}",
                    other.type_str()
                ),
            );
            Err(())
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawPolicy {
    name: Option<Spanned<String>>,
    // `rule` (the `[[policy.rule]]` tables) is taken out before; it is
    // named here for the list of keys in messages.
    #[allow(dead_code, reason = "always taken out before")]
    rule: Option<IgnoredAny>,
}

/// Read one `[[policy]]` table.
pub(super) fn read_policy(
    r: &mut Report<'_>,
    sets: &Sets,
    mut table: Spanned<DeTable<'_>>,
) -> Option<Policy> {
    let span = table.span();
    let named = table
        .get_ref()
        .get("name")
        .and_then(|v| v.get_ref().as_str())
        .map(|n| n.trim().to_string());
    let ctx = match &named {
        Some(n) => format!("policy {n}"),
        None => "policy".to_string(),
    };
    let ctx = ctx.as_str();
    let rule_entry = table.get_mut().remove_entry("rule");
    let raw = r.deserialize::<RawPolicy>(table, ctx);

    let mut rules = Vec::new();
    let mut ok = true;
    if let Some((key, value)) = rule_entry {
        for (i, t) in r
            .tables(&key.span(), value, "policy.rule", ctx)
            .into_iter()
            .enumerate()
        {
            match read_rule(r, sets, ctx, i.saturating_add(1), t) {
                Some(rule) => rules.push(rule),
                None => ok = false,
            }
        }
    }
    let raw = raw?;
    let name = match &raw.name {
        Some(n) if valid_name(n.get_ref().trim()) => n.get_ref().trim().to_string(),
        Some(n) => {
            r.error(&n.span(), ctx, name_problem("policy", n.get_ref()));
            return None;
        }
        None => {
            r.error(&span, ctx, "name is required");
            return None;
        }
    };
    ok.then_some(Policy { name, rules })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawRule {
    #[allow(dead_code, reason = "read for the messages, before deserializing")]
    name: Option<String>,
    // `match` and `then` are taken out before; they are named here for
    // the list of keys in messages.
    #[allow(dead_code, reason = "always taken out before")]
    #[serde(rename = "match")]
    match_: Option<IgnoredAny>,
    #[allow(dead_code, reason = "always taken out before")]
    then: Option<IgnoredAny>,
}

fn read_rule(
    r: &mut Report<'_>,
    sets: &Sets,
    policy_ctx: &str,
    index: usize,
    mut table: Spanned<DeTable<'_>>,
) -> Option<Rule> {
    let span = table.span();
    let name = table
        .get_ref()
        .get("name")
        .and_then(|v| v.get_ref().as_str())
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty());
    let ctx = match &name {
        Some(n) => format!("{policy_ctx}: rule {n}"),
        None => format!("{policy_ctx}: rule {index}"),
    };
    let ctx = ctx.as_str();
    let match_table = take_table(r, &mut table, "match", ctx, "{ prefix-set = \"name\" }");
    let then_entry = table.get_mut().remove_entry("then");
    let raw = r.deserialize::<RawRule>(table, ctx);

    let conditions = match match_table {
        Ok(Some(t)) => read_match(r, sets, &format!("{ctx}: match"), t),
        Ok(None) => Some(Vec::new()),
        Err(()) => None,
    };
    let then = match then_entry {
        None => {
            r.error(
                &span,
                ctx,
                "then is required (accept, reject, or a table of actions); without it the rule does nothing",
            );
            None
        }
        Some((key, value)) => {
            let vspan = value.span();
            match value.into_inner() {
                DeValue::String(s) => match s.parse::<Verdict>() {
                    Ok(v) => Some((Vec::new(), Some(v))),
                    Err(_) => {
                        r.error(
                            &vspan,
                            ctx,
                            format!(
                                "then {:?} is not accept, reject or a table of actions",
                                s.as_ref()
                            ),
                        );
                        None
                    }
                },
                DeValue::Table(t) => {
                    read_then(r, sets, &format!("{ctx}: then"), Spanned::new(vspan, t))
                }
                other => {
                    let at = if vspan.is_empty() { key.span() } else { vspan };
                    r.error(
                        &at,
                        ctx,
                        format!(
                            "then must be \"accept\", \"reject\" or a table of actions, not {}",
                            other.type_str()
                        ),
                    );
                    None
                }
            }
        }
    };
    raw?;
    let (actions, verdict) = then?;
    Some(Rule {
        name,
        conditions: conditions?,
        actions,
        verdict,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawMatch {
    prefix_set: Option<Spanned<Strings>>,
    prefix: Option<Spanned<Strings>>,
    as_path: Option<Spanned<Strings>>,
    as_path_set: Option<Spanned<Strings>>,
    as_path_length: Option<Spanned<toml::Value>>,
    communities: Option<Spanned<Strings>>,
    community_set: Option<Spanned<Strings>>,
    extended_communities: Option<Spanned<Strings>>,
    extended_community_set: Option<Spanned<Strings>>,
    large_communities: Option<Spanned<Strings>>,
    large_community_set: Option<Spanned<Strings>>,
    neighbor: Option<Spanned<Strings>>,
    neighbor_asn: Option<Spanned<toml::Value>>,
    source: Option<Spanned<Strings>>,
    source_asn: Option<Spanned<toml::Value>>,
    next_hop: Option<Spanned<Strings>>,
    origin: Option<Spanned<Strings>>,
    family: Option<Spanned<Strings>>,
    // `not` is taken out before; it is named here for the list of keys in
    // messages.
    #[allow(dead_code, reason = "always taken out before")]
    not: Option<IgnoredAny>,
}

/// One condition from an optional raw value; `ok` turns false on a problem.
fn add<T>(
    out: &mut Vec<Condition>,
    ok: &mut bool,
    value: Option<T>,
    read: impl FnOnce(T) -> Option<Condition>,
) {
    if let Some(v) = value {
        match read(v) {
            Some(c) => out.push(c),
            None => *ok = false,
        }
    }
}

fn read_match(
    r: &mut Report<'_>,
    sets: &Sets,
    ctx: &str,
    mut table: Spanned<DeTable<'_>>,
) -> Option<Vec<Condition>> {
    let not = take_table(r, &mut table, "not", ctx, "{ community-set = \"name\" }");
    let raw = r.deserialize::<RawMatch>(table, ctx);
    let negated = match not {
        Ok(Some(t)) => read_match(r, sets, &format!("{ctx}: not"), t).map(|cs| {
            cs.into_iter()
                .map(|c| Condition::Not(Box::new(c)))
                .collect()
        }),
        Ok(None) => Some(Vec::new()),
        Err(()) => None,
    };
    let raw = raw?;
    let mut out = Vec::new();
    let mut ok = true;
    let b = &sets.broken;
    add(&mut out, &mut ok, raw.prefix_set, |v| {
        references(r, ctx, "prefix-set", &v, &sets.prefix, b, "prefix-sets").map(Condition::Prefix)
    });
    add(&mut out, &mut ok, raw.prefix, |v| {
        let list = non_empty(r, ctx, "prefix", &v)?;
        prefix_set(r, ctx, "prefix", "", &list).map(|s| Condition::Prefix(vec![s]))
    });
    add(&mut out, &mut ok, raw.as_path, |v| {
        let list = non_empty(r, ctx, "as-path", &v)?;
        as_path_set(r, ctx, "as-path", "", &v.span(), &list).map(|s| Condition::AsPath(vec![s]))
    });
    add(&mut out, &mut ok, raw.as_path_set, |v| {
        references(r, ctx, "as-path-set", &v, &sets.as_path, b, "as-path-sets")
            .map(Condition::AsPath)
    });
    add(&mut out, &mut ok, raw.as_path_length, |v| {
        as_path_length(r, ctx, &v)
    });
    add(&mut out, &mut ok, raw.communities, |v| {
        let list = non_empty(r, ctx, "communities", &v)?;
        community_set(r, ctx, "communities", "", &list).map(|s| Condition::Communities(vec![s]))
    });
    add(&mut out, &mut ok, raw.community_set, |v| {
        references(
            r,
            ctx,
            "community-set",
            &v,
            &sets.community,
            b,
            "community-sets",
        )
        .map(Condition::Communities)
    });
    add(&mut out, &mut ok, raw.extended_communities, |v| {
        let list = non_empty(r, ctx, "extended-communities", &v)?;
        community_set(r, ctx, "extended-communities", "", &list)
            .map(|s| Condition::ExtendedCommunities(vec![s]))
    });
    add(&mut out, &mut ok, raw.extended_community_set, |v| {
        let (k, s) = ("extended-community-set", "extended-community-sets");
        references(r, ctx, k, &v, &sets.extended, b, s).map(Condition::ExtendedCommunities)
    });
    add(&mut out, &mut ok, raw.large_communities, |v| {
        let list = non_empty(r, ctx, "large-communities", &v)?;
        community_set(r, ctx, "large-communities", "", &list)
            .map(|s| Condition::LargeCommunities(vec![s]))
    });
    add(&mut out, &mut ok, raw.large_community_set, |v| {
        let (k, s) = ("large-community-set", "large-community-sets");
        references(r, ctx, k, &v, &sets.large, b, s).map(Condition::LargeCommunities)
    });
    add(&mut out, &mut ok, raw.neighbor, |v| {
        each(r, ctx, "neighbor", &v, parse_address_or_prefix).map(Condition::Neighbor)
    });
    add(&mut out, &mut ok, raw.neighbor_asn, |v| {
        asn_list(r, ctx, "neighbor-asn", &v).map(Condition::NeighborAsn)
    });
    add(&mut out, &mut ok, raw.source, |v| {
        each(r, ctx, "source", &v, parse_address_or_prefix).map(Condition::Source)
    });
    add(&mut out, &mut ok, raw.source_asn, |v| {
        asn_list(r, ctx, "source-asn", &v).map(Condition::SourceAsn)
    });
    add(&mut out, &mut ok, raw.next_hop, |v| {
        each(r, ctx, "next-hop", &v, parse_address_or_prefix).map(Condition::NextHop)
    });
    add(&mut out, &mut ok, raw.origin, |v| {
        each(r, ctx, "origin", &v, origin).map(Condition::Origin)
    });
    add(&mut out, &mut ok, raw.family, |v| {
        let list = non_empty(r, ctx, "family", &v)?;
        let mut families = Vec::with_capacity(list.len());
        for item in &list {
            families.push(family(r, ctx, "family", item));
        }
        families
            .into_iter()
            .collect::<Option<Vec<_>>>()
            .map(Condition::Family)
    });
    out.extend(negated?);
    ok.then_some(out)
}

fn origin(text: &str) -> Result<Origin, String> {
    text.parse::<Origin>()
        .map_err(|_| format!("{text:?} is not igp, egp or incomplete"))
}

fn asn_list(
    r: &mut Report<'_>,
    ctx: &str,
    key: &str,
    value: &Spanned<toml::Value>,
) -> Option<Vec<u32>> {
    let list = asns(r, ctx, key, value)?;
    if list.is_empty() {
        r.error(
            &value.span(),
            ctx,
            format!("{key} is empty (leave it out to match everything)"),
        );
        return None;
    }
    Some(list)
}

/// `as-path-length = N` or `{ min = N, max = M }` (either may be left out).
fn as_path_length(
    r: &mut Report<'_>,
    ctx: &str,
    value: &Spanned<toml::Value>,
) -> Option<Condition> {
    let span = value.span();
    let int = |r: &mut Report<'_>, key: &str, v: &toml::Value| -> Option<u32> {
        match v {
            toml::Value::Integer(n) => number(
                r,
                ctx,
                key,
                &Spanned::new(span.clone(), *n),
                0..=i64::from(u32::MAX),
            ),
            other => {
                r.error(
                    &span,
                    ctx,
                    format!("{key} must be an integer, not {}", other.type_str()),
                );
                None
            }
        }
    };
    match value.get_ref() {
        toml::Value::Integer(_) => {
            let n = int(r, "as-path-length", value.get_ref())?;
            Some(Condition::AsPathLength { min: n, max: n })
        }
        toml::Value::Table(t) => {
            let mut ok = true;
            for k in t.keys() {
                if k != "min" && k != "max" {
                    r.error(
                        &span,
                        ctx,
                        format!("as-path-length: {}", unknown_key(k, &["min", "max"])),
                    );
                    ok = false;
                }
            }
            if t.is_empty() {
                r.error(&span, ctx, "as-path-length needs min, max or both");
                return None;
            }
            let min = match t.get("min") {
                Some(v) => int(r, "as-path-length min", v),
                None => Some(0),
            };
            let max = match t.get("max") {
                Some(v) => int(r, "as-path-length max", v),
                None => Some(u32::MAX),
            };
            let (min, max) = (min?, max?);
            if min > max {
                r.error(
                    &span,
                    ctx,
                    format!("as-path-length min {min} is greater than max {max}"),
                );
                return None;
            }
            ok.then_some(Condition::AsPathLength { min, max })
        }
        other => {
            r.error(
                &span,
                ctx,
                format!(
                    "as-path-length must be an integer or a table such as {{ min = 1, max = 10 }}, not {}",
                    other.type_str()
                ),
            );
            None
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawThen {
    accept: Option<Spanned<bool>>,
    reject: Option<Spanned<bool>>,
    local_pref: Option<Spanned<toml::Value>>,
    med: Option<Spanned<toml::Value>>,
    origin: Option<Spanned<String>>,
    next_hop: Option<Spanned<String>>,
    as_path_prepend: Option<Spanned<toml::Value>>,
    // The three community tables are taken out before; they are named here
    // for the list of keys in messages.
    #[allow(dead_code, reason = "always taken out before")]
    communities: Option<IgnoredAny>,
    #[allow(dead_code, reason = "always taken out before")]
    extended_communities: Option<IgnoredAny>,
    #[allow(dead_code, reason = "always taken out before")]
    large_communities: Option<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawEdit {
    set: Option<Spanned<Strings>>,
    add: Option<Spanned<Strings>>,
    remove: Option<Spanned<Strings>>,
    remove_set: Option<Spanned<Strings>>,
}

fn read_then(
    r: &mut Report<'_>,
    sets: &Sets,
    ctx: &str,
    mut table: Spanned<DeTable<'_>>,
) -> Option<(Vec<Action>, Option<Verdict>)> {
    let span = table.span();
    let empty = table.get_ref().is_empty();
    let example = "{ add = [\"65000:1\"] }";
    let std = take_table(r, &mut table, "communities", ctx, example);
    let ext = take_table(r, &mut table, "extended-communities", ctx, example);
    let large = take_table(r, &mut table, "large-communities", ctx, example);
    let raw = r.deserialize::<RawThen>(table, ctx);
    if empty {
        r.error(
            &span,
            ctx,
            "is empty (write accept, reject, or the actions to take)",
        );
        return None;
    }
    let b = &sets.broken;
    let std = match std {
        Ok(Some(t)) => {
            let c = format!("{ctx}: communities");
            edit(r, &c, t, &sets.community, b, "community-sets")
                .map(|e| Some(Action::Communities(e)))
        }
        Ok(None) => Some(None),
        Err(()) => None,
    };
    let ext = match ext {
        Ok(Some(t)) => {
            let c = format!("{ctx}: extended-communities");
            edit(r, &c, t, &sets.extended, b, "extended-community-sets")
                .map(|e| Some(Action::ExtendedCommunities(e)))
        }
        Ok(None) => Some(None),
        Err(()) => None,
    };
    let large = match large {
        Ok(Some(t)) => {
            let c = format!("{ctx}: large-communities");
            edit(r, &c, t, &sets.large, b, "large-community-sets")
                .map(|e| Some(Action::LargeCommunities(e)))
        }
        Ok(None) => Some(None),
        Err(()) => None,
    };
    let raw = raw?;
    let mut ok = true;
    let mut actions = Vec::new();

    let verdict = match (&raw.accept, &raw.reject) {
        (Some(a), Some(j)) if *a.get_ref() && *j.get_ref() => {
            r.error(&j.span(), ctx, "accept and reject cannot both be true");
            ok = false;
            None
        }
        (Some(a), _) if !*a.get_ref() => {
            r.error(
                &a.span(),
                ctx,
                "accept = false is not allowed: leave accept out to go on with the next rule",
            );
            ok = false;
            None
        }
        (_, Some(j)) if !*j.get_ref() => {
            r.error(
                &j.span(),
                ctx,
                "reject = false is not allowed: leave reject out to go on with the next rule",
            );
            ok = false;
            None
        }
        (Some(_), _) => Some(Verdict::Accept),
        (_, Some(_)) => Some(Verdict::Reject),
        (None, None) => None,
    };
    if let Some(v) = &raw.origin {
        match origin(v.get_ref().trim()) {
            Ok(o) => actions.push(Action::Origin(o)),
            Err(e) => {
                r.error(&v.span(), ctx, format!("origin {e}"));
                ok = false;
            }
        }
    }
    if let Some(v) = &raw.as_path_prepend {
        match prepend(r, ctx, v) {
            Some(a) => actions.push(a),
            None => ok = false,
        }
    }
    if let Some(v) = &raw.next_hop {
        match next_hop(v.get_ref().trim()) {
            Ok(n) => actions.push(Action::NextHop(n)),
            Err(e) => {
                r.error(&v.span(), ctx, format!("next-hop {e}"));
                ok = false;
            }
        }
    }
    if let Some(v) = &raw.local_pref {
        match amount(r, ctx, "local-pref", v) {
            Some(a) => actions.push(Action::LocalPref(a)),
            None => ok = false,
        }
    }
    if let Some(v) = &raw.med {
        match amount(r, ctx, "med", v) {
            Some(a) => actions.push(Action::Med(a)),
            None => ok = false,
        }
    }
    for a in [std, ext, large] {
        match a {
            Some(Some(a)) => actions.push(a),
            Some(None) => {}
            None => ok = false,
        }
    }
    ok.then_some((actions, verdict))
}

/// `next-hop = "self" | "peer" | address`.
fn next_hop(text: &str) -> Result<NextHopAction, String> {
    match text {
        "self" => return Ok(NextHopAction::SelfAddress),
        "peer" => return Ok(NextHopAction::Peer),
        "unchanged" => {
            return Err(
                "\"unchanged\" is not an action: leave next-hop out, or set next-hop-unchanged on the neighbor"
                    .to_string(),
            )
        }
        _ => {}
    }
    match text.parse::<IpAddr>() {
        Ok(a) if a.is_unspecified() || a.is_multicast() => {
            Err(format!("{a} is not a unicast address"))
        }
        Ok(a) => Ok(NextHopAction::Address(a)),
        Err(_) => Err(format!("{text:?} is not self, peer or an IP address")),
    }
}

/// `N` (an integer) or `"N"`, `"+N"`, `"-N"`.
fn amount(
    r: &mut Report<'_>,
    ctx: &str,
    key: &str,
    value: &Spanned<toml::Value>,
) -> Option<Amount> {
    match value.get_ref() {
        toml::Value::Integer(n) => number(
            r,
            ctx,
            key,
            &Spanned::new(value.span(), *n),
            0..=i64::from(u32::MAX),
        )
        .map(Amount::Set),
        toml::Value::String(s) => match s.parse::<Amount>() {
            Ok(a) => Some(a),
            Err(e) => {
                r.error(&value.span(), ctx, format!("{key}: {e}"));
                None
            }
        },
        other => {
            r.error(
                &value.span(),
                ctx,
                format!(
                    "{key} must be an integer or a string such as \"+10\" or \"-10\", not {}",
                    other.type_str()
                ),
            );
            None
        }
    }
}

/// `as-path-prepend = N` (our AS N times) or `{ asn = A, count = N }`.
fn prepend(r: &mut Report<'_>, ctx: &str, value: &Spanned<toml::Value>) -> Option<Action> {
    let span = value.span();
    let count_of = |r: &mut Report<'_>, v: &toml::Value| -> Option<u8> {
        match v {
            toml::Value::Integer(n) => number(
                r,
                ctx,
                "as-path-prepend count",
                &Spanned::new(span.clone(), *n),
                1..=i64::from(MAX_PREPEND),
            ),
            other => {
                r.error(
                    &span,
                    ctx,
                    format!(
                        "as-path-prepend count must be an integer, not {}",
                        other.type_str()
                    ),
                );
                None
            }
        }
    };
    match value.get_ref() {
        toml::Value::Integer(_) => {
            let count = count_of(r, value.get_ref())?;
            Some(Action::AsPathPrepend { asn: None, count })
        }
        toml::Value::Table(t) => {
            let mut ok = true;
            for k in t.keys() {
                if k != "asn" && k != "count" {
                    r.error(
                        &span,
                        ctx,
                        format!("as-path-prepend: {}", unknown_key(k, &["asn", "count"])),
                    );
                    ok = false;
                }
            }
            let count = match t.get("count") {
                Some(v) => count_of(r, v),
                None => Some(1),
            };
            let asn = match t.get("asn") {
                Some(toml::Value::Integer(n)) => super::values::asn(
                    r,
                    ctx,
                    "as-path-prepend asn",
                    &Spanned::new(span.clone(), *n),
                )
                .map(Some),
                Some(other) => {
                    r.error(
                        &span,
                        ctx,
                        format!(
                            "as-path-prepend asn must be an integer, not {}",
                            other.type_str()
                        ),
                    );
                    None
                }
                None => Some(None),
            };
            let (count, asn) = (count?, asn?);
            ok.then_some(Action::AsPathPrepend { asn, count })
        }
        other => {
            r.error(
                &span,
                ctx,
                format!(
                    "as-path-prepend must be a count or a table such as {{ asn = 65000, count = 2 }}, not {}",
                    other.type_str()
                ),
            );
            None
        }
    }
}

/// A `communities = { set, add, remove, remove-set }` table of one kind.
fn edit<T: CommunityValue>(
    r: &mut Report<'_>,
    ctx: &str,
    table: Spanned<DeTable<'_>>,
    named: &BTreeMap<String, Arc<CommunitySet<T>>>,
    broken: &BTreeSet<(&'static str, String)>,
    section: &'static str,
) -> Option<CommunityEdit<T>> {
    let span = table.span();
    let raw = r.deserialize::<RawEdit>(table, ctx)?;
    if raw.set.is_none() && raw.add.is_none() && raw.remove.is_none() && raw.remove_set.is_none() {
        r.error(
            &span,
            ctx,
            "has nothing to do (give set, add, remove or remove-set)",
        );
        return None;
    }
    let mut ok = true;
    let values = |r: &mut Report<'_>, key: &str, v: &Spanned<Strings>| -> Option<Vec<T>> {
        let mut out = Vec::new();
        let mut ok = true;
        for item in items(v) {
            match T::parse_entry(item.get_ref()) {
                Ok(Entry::Exact(c)) => out.push(c),
                Ok(Entry::Pattern(_)) => {
                    r.error(
                        &item.span(),
                        ctx,
                        format!(
                            "{key}: {:?} is a pattern; {key} takes exact values (patterns go in remove)",
                            item.get_ref()
                        ),
                    );
                    ok = false;
                }
                Err(e) => {
                    r.error(&item.span(), ctx, format!("{key}: {e}"));
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    };
    let mut result = CommunityEdit::default();
    if let Some(v) = &raw.set {
        // `set = []` is allowed: it removes them all.
        match values(r, "set", v) {
            Some(list) => result.set = Some(list),
            None => ok = false,
        }
    }
    if let Some(v) = &raw.add {
        match values(r, "add", v) {
            Some(list) => result.add = list,
            None => ok = false,
        }
    }
    if let Some(v) = &raw.remove {
        match non_empty(r, ctx, "remove", v)
            .and_then(|list| community_set::<T>(r, ctx, "remove", "", &list))
        {
            Some(s) => result.remove.push(s),
            None => ok = false,
        }
    }
    if let Some(v) = &raw.remove_set {
        match references(r, ctx, "remove-set", v, named, broken, section) {
            Some(list) => result.remove.extend(list),
            None => ok = false,
        }
    }
    ok.then_some(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(valid_name("customer-in_v4.2"));
        assert!(!valid_name(""));
        assert!(!valid_name("a b"));
        assert!(!valid_name("ä"));
    }

    #[test]
    fn next_hops() {
        assert_eq!(next_hop("self"), Ok(NextHopAction::SelfAddress));
        assert_eq!(next_hop("peer"), Ok(NextHopAction::Peer));
        assert_eq!(
            next_hop("192.0.2.1"),
            Ok(NextHopAction::Address("192.0.2.1".parse().unwrap()))
        );
        assert_eq!(
            next_hop("0.0.0.0"),
            Err("0.0.0.0 is not a unicast address".into())
        );
        assert!(next_hop("unchanged")
            .unwrap_err()
            .contains("next-hop-unchanged"));
        assert_eq!(
            next_hop("me"),
            Err("\"me\" is not self, peer or an IP address".into())
        );
    }
}
