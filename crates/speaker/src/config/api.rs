//! `[api]`: the HTTP/JSON API (`docs/api.md`) that `ribbit neighbor`,
//! `ribbit rib` and `ribbit monitor` talk to.
//!
//! ```toml
//! [api]
//! listen = "127.0.0.1:50179"   # the default
//! token = "s3cret-s3cret"      # optional: clients send Authorization: Bearer s3cret-s3cret
//! ```
//!
//! The API listens on a loopback address unless `allow-remote = true` says
//! otherwise, and a remote API needs a token: whoever reaches it can read
//! every route (and, once the write side exists, change them).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ops::Range;

use serde::Deserialize;
use toml::de::DeTable;
use toml::Spanned;

use super::report::Report;

/// The API's port when `listen` gives none (and of the default address).
pub const DEFAULT_API_PORT: u16 = 50179;

/// Where the API listens when `listen` is not given.
pub const DEFAULT_API_LISTEN: SocketAddr =
    SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), DEFAULT_API_PORT);

/// A bearer token. Its `Debug` form hides it, so that logging a
/// configuration does not leak it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken(String);

impl ApiToken {
    /// A token; the configuration checks that it fits in an HTTP header.
    pub fn new(token: impl Into<String>) -> ApiToken {
        ApiToken(token.into())
    }

    /// The token as clients send it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiToken(<hidden>)")
    }
}

/// `[api]`, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiConfig {
    /// Whether `ribbit run` starts the API (`enabled`, default true).
    pub enabled: bool,
    /// Where it listens (`listen`, default 127.0.0.1:50179).
    pub listen: SocketAddr,
    /// The bearer token every request must carry (`token`); `None`: no
    /// token is asked for.
    pub token: Option<ApiToken>,
    /// Whether `listen` may be an address other hosts can reach
    /// (`allow-remote`, default false).
    pub allow_remote: bool,
}

impl Default for ApiConfig {
    fn default() -> ApiConfig {
        ApiConfig {
            enabled: true,
            listen: DEFAULT_API_LISTEN,
            token: None,
            allow_remote: false,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawApi {
    enabled: Option<bool>,
    listen: Option<Spanned<String>>,
    token: Option<Spanned<String>>,
    allow_remote: Option<bool>,
}

/// Read `[api]`; `None` when the section is missing (the defaults). The
/// result holds the defaults where there were problems; they are recorded
/// in `r`, so it is never used then.
pub(super) fn read(
    r: &mut Report<'_>,
    section: Option<(Range<usize>, Spanned<DeTable<'_>>)>,
) -> ApiConfig {
    const CTX: &str = "api";
    let mut api = ApiConfig::default();
    let Some((key_span, table)) = section else {
        return api;
    };
    let Some(raw) = r.deserialize::<RawApi>(table, CTX) else {
        return api;
    };
    api.enabled = raw.enabled.unwrap_or(true);
    api.allow_remote = raw.allow_remote.unwrap_or(false);
    if let Some(v) = &raw.token {
        let t = v.get_ref();
        // The token travels in an Authorization header: visible ASCII only,
        // so that it is sent and compared exactly as written.
        if t.is_empty() {
            r.error(&v.span(), CTX, "token is empty (leave it out for no token)");
        } else if !t.bytes().all(|b| b.is_ascii_graphic()) {
            r.error(
                &v.span(),
                CTX,
                "token must be printable ASCII without spaces (it is sent in an HTTP header)",
            );
        } else {
            api.token = Some(ApiToken::new(t.clone()));
        }
    }
    if let Some(v) = &raw.listen {
        if let Some(addr) = listen(r, v) {
            if !api.allow_remote && !addr.ip().is_loopback() {
                r.error(
                    &v.span(),
                    CTX,
                    format!(
                        "listen {addr} is not a loopback address: other hosts could reach the API (set allow-remote = true, with a token, if that is meant)"
                    ),
                );
            }
            api.listen = addr;
        }
    }
    if api.allow_remote && api.token.is_none() && raw.token.is_none() {
        r.error(
            &key_span,
            CTX,
            "allow-remote = true needs a token: without one, anyone who reaches the API can read every route",
        );
    }
    api
}

/// `listen`: `address:port`, `[v6]:port`, or an address alone for port 50179.
fn listen(r: &mut Report<'_>, v: &Spanned<String>) -> Option<SocketAddr> {
    const CTX: &str = "api";
    let text = v.get_ref().trim();
    let addr = text.parse::<SocketAddr>().ok().or_else(|| {
        text.trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .ok()
            .map(|ip| SocketAddr::new(ip, DEFAULT_API_PORT))
    });
    let Some(addr) = addr else {
        r.error(
            &v.span(),
            CTX,
            format!(
                "listen {text:?} is not a socket address (such as 127.0.0.1:50179, [::1]:50179 or 127.0.0.1)"
            ),
        );
        return None;
    };
    if addr.port() == 0 {
        r.error(&v.span(), CTX, format!("listen {text:?} has port 0"));
        return None;
    }
    if addr.ip().is_multicast() {
        r.error(
            &v.span(),
            CTX,
            format!("listen {text:?} is a multicast address"),
        );
        return None;
    }
    Some(addr)
}
