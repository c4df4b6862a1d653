//! Checks of single values shared by the sections: numbers in a range, AS
//! numbers, addresses. Each records its own problem and returns `None`.

use std::net::IpAddr;
use std::ops::RangeInclusive;
use std::str::FromStr;
use std::time::Duration;

use ribbit_wire::attribute::AS_TRANS;
use toml::Spanned;

use super::report::Report;

/// An integer within `range`, converted to `T`.
pub(super) fn number<T: TryFrom<i64>>(
    r: &mut Report<'_>,
    context: &str,
    key: &str,
    value: &Spanned<i64>,
    range: RangeInclusive<i64>,
) -> Option<T> {
    let n = *value.get_ref();
    if range.contains(&n) {
        if let Ok(t) = T::try_from(n) {
            return Some(t);
        }
    }
    r.error(
        &value.span(),
        context,
        format!(
            "{key} {n} is out of range ({} to {})",
            range.start(),
            range.end()
        ),
    );
    None
}

/// A back-off that grows from a first wait to a longest one, in seconds
/// (`KEY` and `KEY-max`, each optional): the two waits with `defaults`
/// for what is not given, or `None` once a problem is recorded (a value
/// out of `first`/`longest`, or a first wait longer than the longest).
pub(super) fn backoff(
    r: &mut Report<'_>,
    context: &str,
    key: &str,
    given: (Option<&Spanned<i64>>, Option<&Spanned<i64>>),
    ranges: (RangeInclusive<i64>, RangeInclusive<i64>),
    defaults: (Duration, Duration),
    whole: &std::ops::Range<usize>,
) -> Option<(Duration, Duration)> {
    let max_key = format!("{key}-max");
    let mut ok = true;
    let mut read = |v: Option<&Spanned<i64>>, name: &str, range, default: Duration| match v {
        None => default,
        Some(v) => number::<u64>(r, context, name, v, range).map_or_else(
            || {
                ok = false;
                default
            },
            Duration::from_secs,
        ),
    };
    let first = read(given.0, key, ranges.0, defaults.0);
    let longest = read(given.1, &max_key, ranges.1, defaults.1);
    if !ok {
        return None;
    }
    if first > longest {
        let at = given.0.map_or_else(|| whole.clone(), Spanned::span);
        r.error(
            &at,
            context,
            format!(
                "{key} {} s is longer than {max_key} {} s",
                first.as_secs(),
                longest.as_secs()
            ),
        );
        return None;
    }
    Some((first, longest))
}

/// An AS number: 1 to 4294967295, but not AS_TRANS (RFC 6793) and not 0 (RFC 7607).
pub(super) fn asn(
    r: &mut Report<'_>,
    context: &str,
    key: &str,
    value: &Spanned<i64>,
) -> Option<u32> {
    let n = *value.get_ref();
    let problem = match n {
        0 => "is reserved (RFC 7607) and cannot be used",
        n if n == i64::from(AS_TRANS) => {
            "is AS_TRANS (RFC 6793), which stands in for 4-octet AS numbers and cannot be used"
        }
        _ => return number(r, context, key, value, 1..=i64::from(u32::MAX)),
    };
    r.error(&value.span(), context, format!("{key} {n} {problem}"));
    None
}

/// A value parsed with `FromStr`; `what` names the kind in the message
/// (`local-address "x" is not an IP address`).
pub(super) fn parsed<T: FromStr>(
    r: &mut Report<'_>,
    context: &str,
    key: &str,
    value: &Spanned<String>,
    what: &str,
) -> Option<T> {
    match value.get_ref().trim().parse() {
        Ok(t) => Some(t),
        Err(_) => {
            r.error(
                &value.span(),
                context,
                format!("{key} {:?} is not {what}", value.get_ref()),
            );
            None
        }
    }
}

/// An address a host can have: not unspecified, not multicast, not the
/// IPv4 broadcast address.
pub(super) fn host_address(
    r: &mut Report<'_>,
    context: &str,
    key: &str,
    value: &Spanned<String>,
) -> Option<IpAddr> {
    let addr: IpAddr = parsed(r, context, key, value, "an IP address")?;
    let bad = addr.is_unspecified()
        || addr.is_multicast()
        || matches!(addr, IpAddr::V4(a) if a.is_broadcast());
    if bad {
        r.error(
            &value.span(),
            context,
            format!("{key} {addr} is not a host address"),
        );
        return None;
    }
    Some(addr)
}

/// A string or a list of strings (`import = "p"` or `import = ["p", "q"]`).
pub(super) enum Strings {
    /// One string; its position is that of the whole value.
    One(String),
    /// A list, each item with its position.
    Many(Vec<Spanned<String>>),
}

impl<'de> serde::Deserialize<'de> for Strings {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Strings, D::Error> {
        struct Visitor;

        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Strings;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string or a list of strings")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Strings, E> {
                Ok(Strings::One(v.to_string()))
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Strings, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Spanned<String>>()? {
                    items.push(item);
                }
                Ok(Strings::Many(items))
            }
        }

        d.deserialize_any(Visitor)
    }
}

/// The items of a [`Strings`], each with its position.
pub(super) fn items(value: &Spanned<Strings>) -> Vec<Spanned<String>> {
    match value.get_ref() {
        Strings::One(s) => vec![Spanned::new(value.span(), s.clone())],
        Strings::Many(items) => items.clone(),
    }
}

/// An AS number, or a list of them, as a TOML value; each checked as
/// [`asn`] checks it. The position is that of the whole value.
pub(super) fn asns(
    r: &mut Report<'_>,
    context: &str,
    key: &str,
    value: &Spanned<toml::Value>,
) -> Option<Vec<u32>> {
    let span = value.span();
    let list: Vec<&toml::Value> = match value.get_ref() {
        toml::Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    let mut out = Vec::with_capacity(list.len());
    let mut ok = true;
    for item in list {
        match item {
            toml::Value::Integer(n) => {
                match asn(r, context, key, &Spanned::new(span.clone(), *n)) {
                    Some(a) => out.push(a),
                    None => ok = false,
                }
            }
            other => {
                r.error(
                    &span,
                    context,
                    format!(
                        "{key} must be an AS number or a list of them, not {}",
                        other.type_str()
                    ),
                );
                ok = false;
            }
        }
    }
    ok.then_some(out)
}
