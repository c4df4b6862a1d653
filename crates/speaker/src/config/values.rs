//! Checks of single values shared by the sections: numbers in a range, AS
//! numbers, addresses. Each records its own problem and returns `None`.

use std::net::IpAddr;
use std::ops::RangeInclusive;
use std::str::FromStr;

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
