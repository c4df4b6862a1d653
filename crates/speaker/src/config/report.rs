//! Problems found in a configuration file: where they are (file and line)
//! and one line that says what is wrong, naming the key.
//!
//! Every section is deserialized on its own (see [`Report::deserialize`]) so
//! that a mistake in one neighbor does not hide the mistakes in the next, and
//! serde's messages are rewritten into the words an operator expects
//! (`unknown key hold-tme (did you mean hold-time?)`).

use std::fmt;
use std::ops::Range;

use serde::de::DeserializeOwned;
use toml::de::{DeTable, DeValue, ValueDeserializer};
use toml::Spanned;

/// One thing wrong with a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file's name as given to [`Config::load`](super::Config::load) or
    /// [`Config::parse`](super::Config::parse).
    pub file: String,
    /// 1-based line of the key (or section) at fault.
    pub line: usize,
    /// What is wrong, starting with the section it is in
    /// (`neighbor 127.0.0.2: hold-time 2 is not allowed (0, or 3 to 65535)`).
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

/// Why a configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file was read and has problems: all of them, in line order, one
    /// per line of the message.
    #[error("{}", join(.0))]
    Invalid(Vec<Problem>),
}

impl ConfigError {
    /// The problems found (none when the file could not be read).
    pub fn problems(&self) -> &[Problem] {
        match self {
            ConfigError::Read { .. } => &[],
            ConfigError::Invalid(p) => p,
        }
    }
}

fn join(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// The problems of one file, as they are found.
pub(super) struct Report<'t> {
    file: &'t str,
    text: &'t str,
    problems: Vec<Problem>,
}

impl<'t> Report<'t> {
    pub(super) fn new(file: &'t str, text: &'t str) -> Self {
        Report {
            file,
            text,
            problems: Vec::new(),
        }
    }

    /// The 1-based line of a byte offset.
    pub(super) fn line(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text
            .as_bytes()
            .get(..end)
            .map_or(0, |b| b.iter().filter(|c| **c == b'\n').count())
            + 1
    }

    /// Record a problem at `span`, in the section named `context` (may be empty).
    pub(super) fn error(&mut self, span: &Range<usize>, context: &str, message: impl fmt::Display) {
        let line = self.line(span.start);
        self.error_at_line(line, context, message);
    }

    /// Record a problem at a line.
    pub(super) fn error_at_line(&mut self, line: usize, context: &str, message: impl fmt::Display) {
        let message = if context.is_empty() {
            message.to_string()
        } else {
            format!("{context}: {message}")
        };
        self.problems.push(Problem {
            file: self.file.to_string(),
            line,
            // One problem, one line.
            message: message.replace('\n', "; "),
        });
    }

    /// The problems in line order, or nothing.
    pub(super) fn finish(self) -> Result<(), ConfigError> {
        if self.problems.is_empty() {
            return Ok(());
        }
        Err(self.into_error())
    }

    /// The problems in line order.
    pub(super) fn into_error(mut self) -> ConfigError {
        self.problems.sort_by_key(|p| p.line);
        ConfigError::Invalid(self.problems)
    }

    /// Record a TOML syntax error, quoting the text at fault.
    pub(super) fn syntax(&mut self, e: &toml::de::Error) {
        let span = e.span().unwrap_or(0..0);
        let message = e.message().trim();
        let near = self
            .text
            .get(span.clone())
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.len() <= 60 && !t.contains('\n'));
        let mut message = match near {
            Some(t) => format!("TOML syntax: {message}: {t}"),
            None => format!("TOML syntax: {message}"),
        };
        // `router-id = 192.0.2.1` reads as a malformed number.
        if e.message().starts_with("invalid float") || e.message().starts_with("invalid integer") {
            message.push_str(" (addresses are written in quotes: \"192.0.2.1\")");
        }
        self.error(&span, "", message);
    }

    /// Deserialize one section (a table) into its raw struct, recording the
    /// problem if that fails. Keys are named in the messages.
    pub(super) fn deserialize<T: DeserializeOwned>(
        &mut self,
        table: Spanned<DeTable<'_>>,
        context: &str,
    ) -> Option<T> {
        let keys: Vec<(String, Range<usize>)> = table
            .get_ref()
            .iter()
            .map(|(k, v)| (k.get_ref().to_string(), k.span().start..v.span().end))
            .collect();
        let span = table.span();
        let value = Spanned::new(span.clone(), DeValue::Table(table.into_inner()));
        match T::deserialize(ValueDeserializer::from(value)) {
            Ok(t) => Some(t),
            Err(e) => {
                let at = e.span().unwrap_or(span);
                let key = keys
                    .iter()
                    .find(|(_, r)| r.contains(&at.start))
                    .map(|(k, _)| k.as_str());
                self.error(&at, context, describe(e.message(), key));
                None
            }
        }
    }

    /// Deserialize one value (not a table of keys) into `T`, recording the
    /// problem under the name `key` if that fails.
    pub(super) fn value<T: DeserializeOwned>(
        &mut self,
        value: Spanned<DeValue<'_>>,
        context: &str,
        key: &str,
    ) -> Option<T> {
        let span = value.span();
        match T::deserialize(ValueDeserializer::from(value)) {
            Ok(t) => Some(t),
            Err(e) => {
                let at = e.span().unwrap_or(span);
                self.error(&at, context, describe(e.message(), Some(key)));
                None
            }
        }
    }

    /// The tables of an array of tables (`[[neighbor]]`), or a problem if
    /// `value` is something else.
    pub(super) fn tables<'i>(
        &mut self,
        key_span: &Range<usize>,
        value: Spanned<DeValue<'i>>,
        name: &str,
        context: &str,
    ) -> Vec<Spanned<DeTable<'i>>> {
        let span = value.span();
        if let DeValue::Array(items) = value.get_ref() {
            let tables: Vec<_> = items
                .iter()
                .filter_map(|item| match item.get_ref() {
                    DeValue::Table(t) => Some(Spanned::new(item.span(), t.clone())),
                    _ => None,
                })
                .collect();
            if tables.len() == items.len() {
                return tables;
            }
        }
        let at = if span.is_empty() { key_span } else { &span };
        self.error(
            at,
            context,
            format!("{name} must be written [[{name}]], one table per entry"),
        );
        Vec::new()
    }
}

/// serde's message about a key, in an operator's words.
pub(super) fn describe(message: &str, key: Option<&str>) -> String {
    let m = message.trim();
    if let Some(rest) = m.strip_prefix("unknown field `") {
        if let Some((name, tail)) = rest.split_once('`') {
            // ", expected one of `a`, `b`" or ", expected `a`" or ", there are no fields"
            let expected: Vec<&str> = tail.split('`').skip(1).step_by(2).collect();
            return unknown_key(name, &expected);
        }
    }
    if let Some(rest) = m.strip_prefix("missing field `") {
        let name = rest.split('`').next().unwrap_or(rest);
        return format!("{name} is required");
    }
    let key = key.unwrap_or("value");
    if let Some(rest) = m.strip_prefix("invalid type: ") {
        if let Some((found, expected)) = rest.rsplit_once(", expected ") {
            // Integers beyond 64 bits come as i128 or u128.
            let big = found
                .strip_prefix("integer `")
                .and_then(|f| f.split_once('`'))
                .filter(|(_, tail)| tail.starts_with(" as "));
            if let Some((n, _)) = big {
                return format!("{key} {n} is out of range");
            }
            return format!("{key} must be {}, not {}", plain(expected), plain(found));
        }
    }
    if m == "integer number overflowed" {
        return format!("{key} is too large");
    }
    format!("{key}: {m}")
}

/// A message for an unknown key, with the key meant when it can be guessed.
pub(super) fn unknown_key(name: &str, expected: &[&str]) -> String {
    match suggestion(name, expected) {
        Some(s) => format!("unknown key {name} (did you mean {s}?)"),
        None if expected.is_empty() => format!("unknown key {name}"),
        None => format!(
            "unknown key {name} (expected one of: {})",
            expected.join(", ")
        ),
    }
}

/// Names other daemons use for a key, and Ribbit's.
const ALIASES: &[(&str, &str)] = &[
    ("as", "asn"),
    ("peer-as", "asn"),
    ("peer-asn", "asn"),
    ("remote-as", "asn"),
    ("local-as", "local-asn"),
    ("neighbor-address", "address"),
    ("peer-address", "address"),
    ("local-ip", "local-address"),
    ("source-address", "local-address"),
    ("update-source", "local-address"),
    ("password", "md5-password"),
    ("auth-password", "md5-password"),
    ("md5", "md5-password"),
    ("family", "families"),
    ("address-family", "families"),
    ("afi-safis", "families"),
    ("ebgp-multihop", "multihop"),
    ("gtsm", "ttl-security"),
    ("hold", "hold-time"),
    ("holdtime", "hold-time"),
    ("connect-retry-time", "connect-retry"),
    ("delay-open-time", "delay-open"),
    ("nexthop", "next-hop"),
    ("community", "communities"),
    ("large-community", "large-communities"),
    ("extended-community", "extended-communities"),
    ("local-preference", "local-pref"),
    ("aspath", "as-path"),
    ("listen-address", "listen"),
    ("routes", "route"),
    ("neighbors", "neighbor"),
    ("router_id", "router-id"),
    ("policies", "policy"),
    ("route-map", "policy"),
    ("filter", "policy"),
    ("prefix-list", "prefix-sets"),
    ("prefix-lists", "prefix-sets"),
    ("import-policy", "import"),
    ("export-policy", "export"),
    ("default-import-policy", "import-default"),
    ("default-export-policy", "export-default"),
    ("rr-client", "route-reflector-client"),
    ("rs-client", "route-server-client"),
    ("maximum-prefix", "max-prefix"),
    ("max-prefixes", "max-prefix"),
    ("prefix-limit", "max-prefix"),
    ("allowas-in", "allow-own-as"),
    ("allow-local-as", "allow-own-as"),
    ("local-role", "role"),
    ("bgp-role", "role"),
    ("send-max", "add-path-send"),
    ("restart-time", "graceful-restart-time"),
    ("llgr-stale-time", "long-lived-stale-time"),
    ("cluster", "cluster-id"),
    ("bestpath-compare-med", "always-compare-med"),
    ("conditions", "match"),
    ("actions", "then"),
    ("statement", "rule"),
    ("statements", "rule"),
    ("rules", "rule"),
    ("as-path-regex", "as-path"),
    ("aspath-regex", "as-path"),
    ("as-path-len", "as-path-length"),
    ("nexthop-self", "next-hop-self"),
    ("families", "family"),
    ("prepend", "as-path-prepend"),
    ("peer", "neighbor"),
    ("neighbor-as", "neighbor-asn"),
    ("source-as", "source-asn"),
    ("afi-safi", "family"),
];

pub(super) fn suggestion<'a>(name: &str, expected: &[&'a str]) -> Option<&'a str> {
    let lower = name.to_ascii_lowercase().replace('_', "-");
    if let Some(e) = expected.iter().find(|e| **e == lower) {
        return Some(e);
    }
    if let Some((_, to)) = ALIASES.iter().find(|(from, _)| *from == lower) {
        if let Some(e) = expected.iter().find(|e| *e == to) {
            return Some(e);
        }
    }
    expected
        .iter()
        .map(|e| (distance(&lower, e), *e))
        .filter(|(d, e)| *d <= 2 && *d < e.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, e)| e)
}

/// Levenshtein distance, for suggestions.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut row = Vec::with_capacity(b.len() + 1);
        row.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let substitute = prev[j] + usize::from(ca != *cb);
            let delete = prev[j + 1] + 1;
            let insert = row[j] + 1;
            row.push(substitute.min(delete).min(insert));
        }
        prev = row;
    }
    prev[b.len()]
}

/// serde's names of types, in words.
fn plain(s: &str) -> String {
    match s {
        "i64" | "u64" | "i32" | "u32" | "u16" | "u8" => "an integer".into(),
        "a sequence" | "sequence" => "a list".into(),
        "map" | "a map" => "a table".into(),
        "a boolean" => "true or false".into(),
        other => other.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys() {
        let m = "unknown field `hold-tme`, expected one of `address`, `hold-time`";
        assert_eq!(
            describe(m, None),
            "unknown key hold-tme (did you mean hold-time?)"
        );
        let m = "unknown field `peer-as`, expected one of `address`, `asn`";
        assert_eq!(describe(m, None), "unknown key peer-as (did you mean asn?)");
        let m = "unknown field `zzz`, expected one of `address`, `asn`";
        assert_eq!(
            describe(m, None),
            "unknown key zzz (expected one of: address, asn)"
        );
        let m = "unknown field `zzz`, expected `asn`";
        assert_eq!(describe(m, None), "unknown key zzz (expected one of: asn)");
        let m = "unknown field `zzz`, there are no fields";
        assert_eq!(describe(m, None), "unknown key zzz");
    }

    #[test]
    fn types() {
        let m = "invalid type: string \"90\", expected i64";
        assert_eq!(
            describe(m, Some("hold-time")),
            "hold-time must be an integer, not string \"90\""
        );
        assert_eq!(describe("missing field `asn`", None), "asn is required");
    }

    #[test]
    fn distances() {
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("hold-tme", "hold-time"), 1);
        assert_eq!(distance("abc", "abc"), 0);
    }
}
