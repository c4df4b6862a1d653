//! The API's write side: neighbors added, removed, enabled, disabled and
//! reset at run time, routes announced and withdrawn, the configuration
//! file read again.
//!
//! Nothing here has a grammar of its own. A neighbor in JSON is the body
//! of a `[[neighbor]]` table, checked by the configuration's parser
//! ([`Config::parse_neighbor`]); a route or Flowspec rule in JSON is a
//! `[[route]]` or `[[flow]]` table, checked by [`Config::parse`]; a text
//! body is ExaBGP's API commands, one per line, parsed by the process
//! API's parser ([`command::parse`]) and carried out by the same call as a
//! program's ([`dispatch::send_routes`]). A reload is the one SIGHUP does
//! ([`process::reload::reload`]).

use std::net::IpAddr;

use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use ribbit_exabgp::text::{Announcement, Command, Withdrawal};
use ribbit_wire::Family;
use serde_json::{Map, Value};

use super::model::{Done, ItemResult, NeighborDetail, ReloadAnswer, RouteErrors, RouteResults};
use super::ApiError;
use super::{query, AppState, NoParams};
use crate::announce::AnnounceError;
use crate::config::{Config, ConfigError, NeighborScope};
use crate::process::command::{self, Request};
use crate::process::dispatch::{self, Change};
use crate::process::{self};
use crate::speaker::NeighborError;

/// The longest shutdown communication (RFC 9003 §2: at most 255 octets).
const MAX_MESSAGE: usize = 255;

/// The name the configuration parser gives a request body in messages.
const BODY: &str = "request body";

/// Whether the two route endpoints announce or withdraw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verb {
    Announce,
    Withdraw,
}

impl Verb {
    fn word(self) -> &'static str {
        match self {
            Verb::Announce => "announce",
            Verb::Withdraw => "withdraw",
        }
    }
}

// ---------------------------------------------------------------------------
// Bodies

/// The body as JSON (RFC 8259), with serde's line and column on error.
fn json_body(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("the body is not valid JSON: {e}")))
}

/// An optional JSON object body: empty means `{}`.
fn optional_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match json_body(body)? {
        Value::Object(m) => Ok(m),
        other => Err(ApiError::BadRequest(format!(
            "the body must be a JSON object, not {}",
            kind(&other)
        ))),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The members of a JSON object as the text of a TOML table, for the
/// configuration's parser. JSON's `null` has no TOML form: it is refused
/// with the key it was given for.
fn toml_table(obj: &Map<String, Value>, at: &str) -> Result<String, ApiError> {
    fn nulls(v: &Value, path: &str, out: &mut Vec<String>) {
        match v {
            Value::Null => out.push(path.to_string()),
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    nulls(x, &format!("{path}[{i}]"), out);
                }
            }
            Value::Object(m) => {
                for (k, x) in m {
                    nulls(x, &format!("{path}.{k}"), out);
                }
            }
            _ => {}
        }
    }
    let mut found = Vec::new();
    for (k, v) in obj {
        nulls(v, k, &mut found);
    }
    if let Some(first) = found.first() {
        return Err(ApiError::BadRequest(format!(
            "{at}{first} is null: leave the key out instead"
        )));
    }
    toml::to_string(obj)
        .map_err(|e| ApiError::BadRequest(format!("{at}cannot be read as a table: {e}")))
}

/// The problems of a configuration error in one line, without the places
/// in the TOML text the body was turned into (they are not the body's).
fn problems(e: &ConfigError, at: &str) -> String {
    let list: Vec<String> = e
        .problems()
        .iter()
        .map(|p| format!("{at}{}", p.message))
        .collect();
    if list.is_empty() {
        format!("{at}{e}")
    } else {
        list.join("; ")
    }
}

fn neighbor_error(e: NeighborError) -> ApiError {
    match e {
        NeighborError::Unknown(a) => ApiError::NotFound(format!("no neighbor {a}")),
        NeighborError::Exists(a) => ApiError::Conflict(format!(
            "neighbor {a} already exists (DELETE /v1/neighbors/{a} first to replace it)"
        )),
        NeighborError::Stopped => ApiError::Unavailable(e.to_string()),
        NeighborError::Invalid(c) => ApiError::BadRequest(problems(&c, "")),
        NeighborError::Md5 { .. } => ApiError::Internal(e.to_string()),
    }
}

fn announce_error(e: AnnounceError) -> ApiError {
    match e {
        AnnounceError::UnknownNeighbor(a) => ApiError::NotFound(format!("no neighbor {a}")),
        AnnounceError::Stopped => ApiError::Unavailable(e.to_string()),
        _ => ApiError::BadRequest(e.to_string()),
    }
}

// ---------------------------------------------------------------------------
// Neighbors

/// `POST /v1/neighbors`: the body is a `[[neighbor]]` table in JSON.
pub(super) async fn add_neighbor(
    State(s): State<AppState>,
    params: Result<Query<NoParams>, QueryRejection>,
    body: Bytes,
) -> Result<(StatusCode, Json<NeighborDetail>), ApiError> {
    params?;
    let obj = match json_body(&body)? {
        Value::Object(m) => m,
        other => {
            return Err(ApiError::BadRequest(format!(
                "the body must be a JSON object with the keys of a [[neighbor]] table, not {}",
                kind(&other)
            )))
        }
    };
    let text = toml_table(&obj, "")?;
    let config = s.speaker.config_snapshot();
    let n = config
        .parse_neighbor(&text, BODY)
        .map_err(|e| ApiError::BadRequest(problems(&e, "")))?;
    let address = n.address;
    s.speaker.add_neighbor_config(n).map_err(neighbor_error)?;
    Ok((StatusCode::CREATED, Json(s.detail(address).await?)))
}

/// `DELETE /v1/neighbors/{address}`.
pub(super) async fn remove_neighbor(
    State(s): State<AppState>,
    params: Result<Query<NoParams>, QueryRejection>,
    address: Result<Path<String>, PathRejection>,
) -> Result<Json<Done>, ApiError> {
    params?;
    let Path(address) = address?;
    let addr = s.neighbor(query::address(&address)?)?.address;
    s.speaker
        .remove_neighbor(addr)
        .await
        .map_err(neighbor_error)?;
    Ok(Json(done(addr, "removed")))
}

fn done(neighbor: IpAddr, action: &'static str) -> Done {
    Done {
        neighbor,
        action,
        direction: None,
        families: Vec::new(),
    }
}

/// The optional `{"message": "..."}` of disable and reset: the shutdown
/// communication (RFC 9003).
fn message(body: &[u8]) -> Result<Option<String>, ApiError> {
    let mut obj = optional_object(body)?;
    let message = match obj.remove("message") {
        None => None,
        Some(Value::String(m)) if m.len() > MAX_MESSAGE => {
            return Err(ApiError::BadRequest(format!(
                "message: {} bytes, at most {MAX_MESSAGE} fit in a shutdown communication (RFC 9003)",
                m.len()
            )))
        }
        Some(Value::String(m)) => Some(m),
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "message must be a string, not {}",
                kind(&other)
            )))
        }
    };
    if let Some(k) = obj.keys().next() {
        return Err(ApiError::BadRequest(format!(
            "unknown key {k} (the body takes message only)"
        )));
    }
    Ok(message)
}

/// Mark a neighbor enabled or disabled in the running configuration, so
/// that the list, the detail and a later reload see what was done.
fn set_enabled(s: &AppState, addr: IpAddr, enabled: bool) {
    if let Some(mut n) = s.speaker.neighbor_config(addr) {
        n.enabled = enabled;
        s.speaker.update_neighbor_config(n);
    }
}

/// `POST /v1/neighbors/{address}/enable`.
pub(super) async fn enable(
    State(s): State<AppState>,
    params: Result<Query<NoParams>, QueryRejection>,
    address: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Result<Json<Done>, ApiError> {
    params?;
    let Path(address) = address?;
    let addr = s.neighbor(query::address(&address)?)?.address;
    let obj = optional_object(&body)?;
    if let Some(k) = obj.keys().next() {
        return Err(ApiError::BadRequest(format!(
            "unknown key {k} (enable takes no body)"
        )));
    }
    s.speaker
        .enable_neighbor(addr)
        .await
        .map_err(neighbor_error)?;
    set_enabled(&s, addr, true);
    Ok(Json(done(addr, "enabled")))
}

/// `POST /v1/neighbors/{address}/disable`: Cease / Administrative
/// Shutdown with the message; the session stays down until enabled.
pub(super) async fn disable(
    State(s): State<AppState>,
    params: Result<Query<NoParams>, QueryRejection>,
    address: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Result<Json<Done>, ApiError> {
    params?;
    let Path(address) = address?;
    let addr = s.neighbor(query::address(&address)?)?.address;
    let message = message(&body)?;
    s.speaker
        .disable_neighbor(addr, message)
        .await
        .map_err(neighbor_error)?;
    set_enabled(&s, addr, false);
    Ok(Json(done(addr, "disabled")))
}

/// `POST /v1/neighbors/{address}/reset`: Cease / Administrative Reset
/// with the message; the session comes up again.
pub(super) async fn reset(
    State(s): State<AppState>,
    params: Result<Query<NoParams>, QueryRejection>,
    address: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Result<Json<Done>, ApiError> {
    params?;
    let Path(address) = address?;
    let n = s.neighbor(query::address(&address)?)?;
    let message = message(&body)?;
    if !n.enabled {
        return Err(ApiError::Conflict(format!(
            "neighbor {} is disabled: enable it rather than reset it",
            n.address
        )));
    }
    s.speaker
        .reset_neighbor(n.address, message)
        .await
        .map_err(neighbor_error)?;
    Ok(Json(done(n.address, "reset")))
}

/// `POST /v1/neighbors/{address}/soft-reset`, `{"direction": "in" | "out"
/// | "both", "family": "..."}`, as `gobgp neighbor X softreset[in|out]`:
/// in asks the neighbor for its routes again with a ROUTE-REFRESH (RFC
/// 2918) and they pass the import policy again; out sends the neighbor our
/// routes again. Both by default; every negotiated family by default.
pub(super) async fn soft_reset(
    State(s): State<AppState>,
    params: Result<Query<NoParams>, QueryRejection>,
    address: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Result<Json<Done>, ApiError> {
    params?;
    let Path(address) = address?;
    let n = s.running(query::address(&address)?)?;
    let mut obj = optional_object(&body)?;
    let direction = match obj.remove("direction") {
        None => "both",
        Some(Value::String(d)) => match d.as_str() {
            "in" => "in",
            "out" => "out",
            "both" => "both",
            _ => {
                return Err(ApiError::BadRequest(format!(
                    "direction {d:?} is not in, out or both"
                )))
            }
        },
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "direction must be a string (in, out or both), not {}",
                kind(&other)
            )))
        }
    };
    let family = match obj.remove("family") {
        None => None,
        Some(Value::String(f)) => Some(query::family(&f)?),
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "family must be a string such as ipv4-unicast, not {}",
                kind(&other)
            )))
        }
    };
    if let Some(k) = obj.keys().next() {
        return Err(ApiError::BadRequest(format!(
            "unknown key {k} (the body takes direction and family)"
        )));
    }
    let info = super::ask("the session", s.speaker.neighbor_info(n.address)).await?;
    let Some(session) = info.session else {
        return Err(ApiError::Conflict(format!(
            "neighbor {} is not established (it is {}): there is nothing to refresh",
            n.address,
            super::model::state_name(Some(info.state))
        )));
    };
    let negotiated: Vec<Family> = session
        .families
        .iter()
        .filter_map(|f| f.parse().ok())
        .collect();
    let families = match family {
        Some(f) if !negotiated.contains(&f) => {
            return Err(ApiError::BadRequest(format!(
                "family {f} was not negotiated with neighbor {} (it has {})",
                n.address,
                session.families.join(", ")
            )))
        }
        Some(f) => vec![f],
        None => negotiated,
    };
    if direction != "out" && !session.route_refresh {
        return Err(ApiError::Conflict(format!(
            "neighbor {} did not announce route refresh (RFC 2918): a soft reset in cannot ask it for its routes; reset the session instead",
            n.address
        )));
    }
    for f in &families {
        if direction != "out" && !s.speaker.route_refresh(n.address, *f).await {
            return Err(ApiError::NotFound(format!("no neighbor {}", n.address)));
        }
        if direction != "in" {
            s.speaker
                .send_again(n.address, *f)
                .await
                .map_err(neighbor_error)?;
        }
    }
    Ok(Json(Done {
        neighbor: n.address,
        action: "soft-reset",
        direction: Some(direction),
        families: families.iter().map(ToString::to_string).collect(),
    }))
}

// ---------------------------------------------------------------------------
// Routes

/// Whether the body is text (ExaBGP's commands) or JSON, by its
/// Content-Type; none means JSON.
fn is_text(headers: &HeaderMap) -> Result<bool, ApiError> {
    let Some(v) = headers.get(header::CONTENT_TYPE) else {
        return Ok(false);
    };
    let v = v.to_str().unwrap_or("");
    let essence = v.split(';').next().unwrap_or("").trim();
    if essence.eq_ignore_ascii_case("text/plain") {
        Ok(true)
    } else if essence.eq_ignore_ascii_case("application/json") {
        Ok(false)
    } else {
        Err(ApiError::UnsupportedMediaType(format!(
            "Content-Type {v:?}: the body is application/json (routes as [[route]] or [[flow]] tables) or text/plain (ExaBGP commands, one per line)"
        )))
    }
}

/// `POST /v1/announce`.
pub(super) async fn announce(
    State(s): State<AppState>,
    params: Result<Query<NoParams>, QueryRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    params?;
    routes(s, Verb::Announce, headers, body).await
}

/// `POST /v1/withdraw`.
pub(super) async fn withdraw(
    State(s): State<AppState>,
    params: Result<Query<NoParams>, QueryRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    params?;
    routes(s, Verb::Withdraw, headers, body).await
}

/// `POST /v1/announce` and `POST /v1/withdraw`.
async fn routes(
    s: AppState,
    verb: Verb,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    if is_text(&headers)? {
        let text = std::str::from_utf8(&body)
            .map_err(|e| ApiError::BadRequest(format!("the text body is not UTF-8: {e}")))?;
        return text_routes(&s, verb, text).await;
    }
    json_routes(&s, verb, &body).await
}

/// A JSON body: one route or rule object, or an array of them, each with
/// an optional `neighbors` list. All are checked before any is sent.
async fn json_routes(s: &AppState, verb: Verb, body: &[u8]) -> Result<Response, ApiError> {
    let items = match json_body(body)? {
        Value::Array(a) if a.is_empty() => {
            return Err(ApiError::BadRequest(
                "the body is an empty array: nothing to do".to_string(),
            ))
        }
        Value::Array(a) => a,
        v @ Value::Object(_) => vec![v],
        other => {
            return Err(ApiError::BadRequest(format!(
                "the body must be a route object or an array of them, not {}",
                kind(&other)
            )))
        }
    };
    let several = items.len() > 1;
    let mut parsed: Vec<(Vec<IpAddr>, Announcement)> = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let at = if several {
            format!("item {}: ", i + 1)
        } else {
            String::new()
        };
        parsed.push(json_item(s, item, &at)?);
    }
    // Every item's neighbors and family checked before the first is sent.
    for (neighbors, a) in &parsed {
        s.speaker
            .targets(neighbors, a.family)
            .map_err(announce_error)?;
    }
    let mut results = Vec::with_capacity(parsed.len());
    for (i, (neighbors, a)) in parsed.into_iter().enumerate() {
        let change = match verb {
            Verb::Announce => Change::Announce(vec![a]),
            Verb::Withdraw => Change::Withdraw(vec![Withdrawal {
                family: a.family,
                nlri: a.nlri,
            }]),
        };
        send(s, &neighbors, change).await?;
        results.push(ItemResult {
            item: i + 1,
            command: None,
            ok: true,
            error: None,
        });
    }
    Ok(Json(RouteResults { results }).into_response())
}

/// Carry out a change, with the errors of the API.
async fn send(s: &AppState, neighbors: &[IpAddr], change: Change) -> Result<(), ApiError> {
    // The speaker's own checks first, for their typed errors; then the one
    // call every program's routes go through.
    let (family, what) = match &change {
        Change::Announce(v) => (v.first().map(|a| a.family), "announce"),
        Change::Withdraw(v) => (v.first().map(|w| w.family), "withdraw"),
    };
    if let Some(f) = family {
        s.speaker.targets(neighbors, f).map_err(announce_error)?;
    }
    super::ask(what, async {
        Some(dispatch::send_routes(&s.speaker, neighbors, change).await)
    })
    .await?
    .map_err(ApiError::BadRequest)
}

/// One JSON route or rule: its neighbors and the announcement.
fn json_item(s: &AppState, item: Value, at: &str) -> Result<(Vec<IpAddr>, Announcement), ApiError> {
    let Value::Object(mut obj) = item else {
        return Err(ApiError::BadRequest(format!(
            "{at}a route must be a JSON object, not {}",
            kind(&item)
        )));
    };
    let neighbors = match obj.remove("neighbors") {
        None => Vec::new(),
        Some(Value::Array(list)) => {
            let mut out = Vec::with_capacity(list.len());
            for v in list {
                let Value::String(text) = &v else {
                    return Err(ApiError::BadRequest(format!(
                        "{at}neighbors: {v} is not an address in a string"
                    )));
                };
                let addr: IpAddr = text.parse().map_err(|_| {
                    ApiError::BadRequest(format!("{at}neighbors: {text:?} is not an IP address"))
                })?;
                s.neighbor(addr)?;
                out.push(addr);
            }
            out
        }
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "{at}neighbors must be a list of addresses, not {}",
                kind(&other)
            )))
        }
    };
    let flow = obj.contains_key("match");
    // ExaBGP's word for LOCAL_PREF, beside the configuration's.
    if let Some(v) = obj.remove("local-preference") {
        if obj.contains_key("local-pref") {
            return Err(ApiError::BadRequest(format!(
                "{at}local-preference and local-pref are the same: give one"
            )));
        }
        obj.insert("local-pref".to_string(), v);
    }
    // A route's family is its prefix's; `family` may say it again.
    let family = if flow { None } else { obj.remove("family") };
    // Refused with the body's own key names before it is wrapped.
    toml_table(&obj, at)?;
    let (section, count) = if flow {
        ("flow", "rule")
    } else {
        ("route", "route")
    };
    // The item as the one `[[route]]` or `[[flow]]` of a configuration
    // with the speaker's `[global]`.
    let mut wrapper = Map::new();
    wrapper.insert(section.to_string(), Value::Array(vec![Value::Object(obj)]));
    let table = toml_table(&wrapper, at)?;
    let g = s.speaker.config_snapshot().global;
    let doc = format!(
        "{table}\n[global]\nasn = {}\nrouter-id = \"{}\"\nlisten = []\n",
        g.asn, g.router_id
    );
    let config = Config::parse(&doc, BODY).map_err(|e| ApiError::BadRequest(problems(&e, at)))?;
    let a = if flow {
        config.flows.first().map(|f| f.announcement())
    } else {
        config.routes.first().map(|r| r.announcement())
    }
    .ok_or_else(|| ApiError::BadRequest(format!("{at}no {count} in the body")))?;
    if let Some(f) = family {
        let named = match &f {
            Value::String(t) => query::family(t)?,
            other => {
                return Err(ApiError::BadRequest(format!(
                    "{at}family must be a string, not {}",
                    kind(other)
                )))
            }
        };
        if named != a.family {
            return Err(ApiError::BadRequest(format!(
                "{at}family {named} does not fit the prefix, which is {}",
                a.family
            )));
        }
    }
    Ok((neighbors, a))
}

/// A text body: ExaBGP's commands, one per line; empty lines and `#`
/// comments are skipped. The lines are carried out one after the other,
/// as a program's are: a failed line does not undo the others.
async fn text_routes(s: &AppState, verb: Verb, text: &str) -> Result<Response, ApiError> {
    let mut results = Vec::new();
    let mut first_error = None;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let r = text_line(s, verb, line).await;
        if let Err(e) = &r {
            first_error.get_or_insert_with(|| format!("line {}: {e}", i + 1));
        }
        results.push(ItemResult {
            item: i + 1,
            command: Some(line.to_string()),
            ok: r.is_ok(),
            error: r.err().map(|e| e.to_string()),
        });
    }
    if results.is_empty() {
        return Err(ApiError::BadRequest(format!(
            "the body has no command (one per line, such as `{} route 10.0.0.0/24 next-hop self`)",
            verb.word()
        )));
    }
    Ok(match first_error {
        None => Json(RouteResults { results }).into_response(),
        Some(error) => (
            StatusCode::BAD_REQUEST,
            Json(RouteErrors { error, results }),
        )
            .into_response(),
    })
}

async fn text_line(s: &AppState, verb: Verb, line: &str) -> Result<(), ApiError> {
    let parsed = command::parse(line).map_err(|e| ApiError::BadRequest(e.message))?;
    let Request::Route(cmd) = parsed.request else {
        return Err(ApiError::BadRequest(format!(
            "only {} commands are taken here (the others belong to the process API)",
            verb.word()
        )));
    };
    let neighbors = if cmd.neighbors.is_empty() {
        Vec::new()
    } else {
        dispatch::select(&s.speaker, &NeighborScope::All, &cmd.neighbors)
            .map_err(ApiError::NotFound)?
    };
    let change = match (verb, cmd.command) {
        (Verb::Announce, Command::Announce(a)) if a.watchdog.is_some() => {
            return Err(ApiError::BadRequest(
                "watchdogs belong to the process API, which keeps them per program".to_string(),
            ))
        }
        (Verb::Announce, Command::Announce(a)) => Change::Announce(vec![a]),
        (Verb::Withdraw, Command::Withdraw(w)) => Change::Withdraw(vec![w]),
        (Verb::Announce, Command::Withdraw(_)) => {
            return Err(ApiError::BadRequest(
                "a withdraw command: send it to /v1/withdraw".to_string(),
            ))
        }
        (Verb::Withdraw, Command::Announce(_)) => {
            return Err(ApiError::BadRequest(
                "an announce command: send it to /v1/announce".to_string(),
            ))
        }
        _ => {
            return Err(ApiError::BadRequest(format!(
                "only {} route commands are taken here (End-of-RIB, route refresh and watchdogs belong to the process API; see POST /v1/neighbors/{{address}}/soft-reset)",
                verb.word()
            )))
        }
    };
    send(s, &neighbors, change).await
}

// ---------------------------------------------------------------------------
// Reload

/// `POST /v1/reload`: the configuration file `ribbit run` was started
/// with, read again and applied by difference, as on SIGHUP.
pub(super) async fn reload(
    State(s): State<AppState>,
    params: Result<Query<NoParams>, QueryRejection>,
    body: Bytes,
) -> Result<Json<ReloadAnswer>, ApiError> {
    params?;
    let obj = optional_object(&body)?;
    if let Some(k) = obj.keys().next() {
        return Err(ApiError::BadRequest(format!(
            "unknown key {k} (reload takes no body)"
        )));
    }
    let Some(path) = &s.config_file else {
        return Err(ApiError::Conflict(
            "this speaker was not started from a configuration file (ribbit run --config FILE): there is no file to read again".to_string(),
        ));
    };
    let report = process::reload::reload(&s.speaker, path, false)
        .await
        .map_err(|e| match e {
            process::reload::ReloadError::Config(e) => ApiError::BadRequest(format!(
                "the configuration was not applied: {}",
                e.to_string().replace('\n', "; ")
            )),
            e @ process::reload::ReloadError::Apply(_) => ApiError::Internal(e.to_string()),
        })?;
    let touched = |a: &IpAddr| {
        report.added.contains(a)
            || report.removed.contains(a)
            || report.reset.contains(a)
            || report.rerouted.contains(a)
    };
    let untouched = s
        .speaker
        .neighbor_addresses()
        .into_iter()
        .filter(|a| !touched(a))
        .collect();
    Ok(Json(ReloadAnswer {
        file: path.display().to_string(),
        added: report.added.clone(),
        removed: report.removed.clone(),
        reset: report.reset.clone(),
        changed: report.rerouted.clone(),
        untouched,
        needs_restart: report.needs_restart.clone(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn json_becomes_a_toml_table_and_null_is_refused_by_name() {
        let t = toml_table(
            &obj(serde_json::json!({"address": "192.0.2.1", "asn": 65001, "families": ["ipv4-unicast"]})),
            "",
        )
        .unwrap();
        let back: toml::Table = toml::from_str(&t).unwrap();
        assert_eq!(back["asn"].as_integer(), Some(65001));
        assert_eq!(back["families"][0].as_str(), Some("ipv4-unicast"));
        let e = toml_table(
            &obj(serde_json::json!({"match": {"destination": null}})),
            "item 2: ",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "item 2: match.destination is null: leave the key out instead"
        );
    }

    #[test]
    fn the_content_type_picks_the_form() {
        let mut h = HeaderMap::new();
        assert!(!is_text(&h).unwrap());
        h.insert(
            header::CONTENT_TYPE,
            "text/plain; charset=utf-8".parse().unwrap(),
        );
        assert!(is_text(&h).unwrap());
        h.insert(header::CONTENT_TYPE, "Application/JSON".parse().unwrap());
        assert!(!is_text(&h).unwrap());
        h.insert(header::CONTENT_TYPE, "application/xml".parse().unwrap());
        assert!(matches!(
            is_text(&h),
            Err(ApiError::UnsupportedMediaType(_))
        ));
    }

    #[test]
    fn the_shutdown_message_is_checked() {
        assert_eq!(message(b"").unwrap(), None);
        assert_eq!(
            message(br#"{"message": "bye"}"#).unwrap().as_deref(),
            Some("bye")
        );
        let long = format!(r#"{{"message": "{}"}}"#, "x".repeat(256));
        assert!(message(long.as_bytes())
            .unwrap_err()
            .to_string()
            .contains("RFC 9003"));
        assert!(message(br#"{"message": 3}"#).is_err());
        assert!(message(br#"{"msg": "x"}"#)
            .unwrap_err()
            .to_string()
            .contains("unknown key msg"));
        assert!(message(b"[1]").is_err());
        assert!(message(b"{")
            .unwrap_err()
            .to_string()
            .contains("not valid JSON"));
    }
}
