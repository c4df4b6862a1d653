//! The HTTP/JSON API (`docs/api.md`): what the speaker knows, for programs
//! and for the `ribbit` CLI, which is its client.
//!
//! ```text
//! GET /openapi.json                                   the contract
//! GET /v1/neighbors                                   every neighbor and its state
//! GET /v1/neighbors/{address}                         one, in detail, with counters
//! GET /v1/neighbors/{address}/adj-rib-in/{family}     what it sent us (?pre-policy=true)
//! GET /v1/neighbors/{address}/adj-rib-out/{family}    what we sent it
//! GET /v1/rib/{family}                                every path, the best and why
//! GET /v1/stats                                       table sizes, counters
//! GET /v1/events                                      NDJSON, one event per line
//! GET /metrics                                        Prometheus text format
//! POST /v1/neighbors                                  add one ([[neighbor]] in JSON)
//! DELETE /v1/neighbors/{address}                      remove one
//! POST /v1/neighbors/{address}/enable|disable|reset|soft-reset
//! POST /v1/announce, /v1/withdraw                     routes: JSON, or ExaBGP's text
//! POST /v1/reload                                     the configuration file again
//! ```
//!
//! The RIB endpoints take `prefix`, `longest-match` or `more-specifics`,
//! and `limit` / `after` for pages. Errors are `{"error": "..."}` with 400,
//! 401, 403, 404, 405, 409, 415, 500 or 503. The write side is in
//! `write.rs`.
//!
//! The server runs beside the speaker on the same runtime and only calls
//! the speaker's public methods; it holds no routes of its own. What it
//! keeps is what the events tell about each neighbor ([`events::Tracker`]).

pub mod error;
pub mod events;
pub mod metrics;
pub mod model;
pub mod query;
mod write;

use std::future::IntoFuture;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::config::{ApiToken, Config, NeighborConfig};
use crate::rib_task::AdjTable;
use crate::Speaker;

pub use error::ApiError;
use events::{EventFilter, EventsQuery, StreamGauge, Tracker};
use metrics::MetricsRegistry;
use model::{
    state_name, AdjRibPage, AdjRoute, Destination, FamilyCounters, MessageCounters, Negotiated,
    NeighborDetail, NeighborList, NeighborSummary, PrefixCounts, RibPage, Stats,
};
use query::{RibParams, Select};

/// The OpenAPI 3.1 document of the API, served at `/openapi.json`.
pub const OPENAPI: &str = include_str!("openapi.json");

/// How long a request waits for the speaker before it gives up with 503.
const PATIENCE: Duration = Duration::from_secs(10);
/// How long stopping waits for requests in progress.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// Why the API could not start.
#[derive(Debug, thiserror::Error)]
pub enum ApiStartError {
    /// Its address could not be bound.
    #[error("cannot listen on {addr} for the API: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

struct Inner {
    speaker: Arc<Speaker>,
    tracker: Arc<Tracker>,
    streams: Arc<StreamGauge>,
    /// The other parts of Ribbit that add to `/metrics`.
    metrics: Arc<MetricsRegistry>,
    stop: watch::Receiver<bool>,
    token: Option<ApiToken>,
    /// Answer only requests addressed to localhost or an IP address (see
    /// [`check_host`]).
    local_only: bool,
    /// The configuration file `POST /v1/reload` reads again.
    config_file: Option<PathBuf>,
}

type AppState = Arc<Inner>;

/// A running API server.
pub struct ApiServer {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    server: JoinHandle<std::io::Result<()>>,
    /// Ends by itself once `stop` is sent.
    tracker: Option<std::thread::JoinHandle<()>>,
    metrics: Arc<MetricsRegistry>,
}

impl ApiServer {
    /// Listen on `config.api.listen` and serve `speaker`. `config` gives the API its settings;
    /// the neighbors are the speaker's own, as they change at run time.
    pub async fn start(
        config: Arc<Config>,
        speaker: Arc<Speaker>,
    ) -> Result<ApiServer, ApiStartError> {
        let listener = ApiServer::bind(config.api.listen).await?;
        Ok(ApiServer::serve(listener, config, speaker))
    }

    /// Bind the API's address, before the speaker starts: an address in use
    /// stops `ribbit run` before any session comes up.
    pub async fn bind(listen: SocketAddr) -> Result<TcpListener, ApiStartError> {
        TcpListener::bind(listen)
            .await
            .map_err(|source| ApiStartError::Listen {
                addr: listen,
                source,
            })
    }

    /// Serve `speaker` on a bound listener, without a configuration file
    /// to reload (`POST /v1/reload` answers 409).
    pub fn serve(listener: TcpListener, config: Arc<Config>, speaker: Arc<Speaker>) -> ApiServer {
        ApiServer::serve_file(listener, config, speaker, None)
    }

    /// Serve `speaker` on a bound listener; `config_file` is the file
    /// `config` was read from, which `POST /v1/reload` reads again (the
    /// code SIGHUP runs).
    pub fn serve_file(
        listener: TcpListener,
        config: Arc<Config>,
        speaker: Arc<Speaker>,
        config_file: Option<PathBuf>,
    ) -> ApiServer {
        let addr = listener.local_addr().unwrap_or(config.api.listen);
        let (stop, stop_rx) = watch::channel(false);
        let tracker = Arc::new(Tracker::default());
        let tracker_task = events::spawn_tracker(
            speaker.subscribe_sessions().into_receiver(),
            Arc::clone(&tracker),
            stop_rx.clone(),
        )
        .map_err(|e| warn!(error = %e, "cannot start the neighbor tracker: no uptimes or last errors in the API"))
        .ok();
        let metrics = Arc::new(MetricsRegistry::default());
        let state = Arc::new(Inner {
            speaker,
            tracker,
            streams: Arc::new(StreamGauge::default()),
            metrics: Arc::clone(&metrics),
            stop: stop_rx.clone(),
            token: config.api.token.clone(),
            local_only: !config.api.allow_remote,
            config_file,
        });
        let app = router(state);
        let mut shutdown = stop_rx;
        let server = tokio::spawn(
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = shutdown.changed().await;
                })
                .into_future(),
        );
        info!(%addr, "API listening");
        ApiServer {
            addr,
            stop,
            server,
            tracker: tracker_task,
            metrics,
        }
    }

    /// Where other parts of Ribbit add their metrics to `/metrics`
    /// ([`metrics::MetricsSource`]).
    pub fn metrics(&self) -> Arc<MetricsRegistry> {
        Arc::clone(&self.metrics)
    }

    /// The address the API listens on (with the port really bound).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stop: close the event streams, let requests in progress finish (for
    /// a few seconds at most) and close the listener.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let mut server = self.server;
        if tokio::time::timeout(STOP_GRACE, &mut server).await.is_err() {
            warn!("API requests still running after {STOP_GRACE:?}; stopped");
            server.abort();
        }
        if let Some(t) = self.tracker {
            // It saw `stop` and ends within a moment: wait without holding
            // a worker.
            let _ = tokio::task::spawn_blocking(move || t.join()).await;
        }
    }
}

fn router(state: AppState) -> Router {
    let v1 = Router::new()
        .route("/v1/neighbors", get(neighbors).post(write::add_neighbor))
        .route(
            "/v1/neighbors/{address}",
            get(neighbor).delete(write::remove_neighbor),
        )
        .route("/v1/neighbors/{address}/enable", post(write::enable))
        .route("/v1/neighbors/{address}/disable", post(write::disable))
        .route("/v1/neighbors/{address}/reset", post(write::reset))
        .route(
            "/v1/neighbors/{address}/soft-reset",
            post(write::soft_reset),
        )
        .route("/v1/announce", post(write::announce))
        .route("/v1/withdraw", post(write::withdraw))
        .route("/v1/reload", post(write::reload))
        .route(
            "/v1/neighbors/{address}/adj-rib-in/{family}",
            get(adj_rib_in),
        )
        .route(
            "/v1/neighbors/{address}/adj-rib-out/{family}",
            get(adj_rib_out),
        )
        .route("/v1/rib/{family}", get(rib))
        .route("/v1/stats", get(stats))
        .route("/v1/events", get(events))
        // Behind the token like /v1/: the metrics name the neighbors and
        // their state, and Prometheus sends a bearer token
        // (`authorization` in a scrape config).
        .route("/metrics", get(metrics::metrics))
        .route_layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            check_token,
        ));
    Router::new()
        .route("/openapi.json", get(openapi))
        .merge(v1)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            check_host,
        ))
        .with_state(state)
}

// ---------------------------------------------------------------------------
// Access

/// Compare without stopping at the first difference, so that the time a
/// wrong token takes does not tell how much of it was right.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The bearer token, when one is configured (RFC 6750 §2.1).
fn token_problem(token: &ApiToken, headers: &HeaderMap) -> Option<String> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Some(
            "this API needs a token: send Authorization: Bearer TOKEN (ribbit --token, or RIBBIT_TOKEN)"
                .to_string(),
        );
    };
    let text = value.to_str().unwrap_or("");
    let (scheme, given) = text.split_once(' ').unwrap_or((text, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Some(format!(
            "the Authorization header must be Bearer TOKEN, not {}",
            if scheme.is_empty() { "empty" } else { scheme }
        ));
    }
    if !same(given.trim().as_bytes(), token.as_str().as_bytes()) {
        return Some("wrong token".to_string());
    }
    None
}

async fn check_token(State(s): State<AppState>, req: Request, next: Next) -> Response {
    if let Some(token) = &s.token {
        if let Some(problem) = token_problem(token, req.headers()) {
            return ApiError::Unauthorized(problem).into_response();
        }
    }
    next.run(req).await
}

/// The host a request names (the Host header without its port).
fn host_name(value: &str) -> &str {
    if let Some(rest) = value.strip_prefix('[') {
        // [v6]:port
        return rest.split(']').next().unwrap_or(rest);
    }
    value.rsplit_once(':').map_or(value, |(h, _)| h)
}

/// A web page the operator visits could make the browser send requests to
/// 127.0.0.1 under a name of its own that it points there (DNS
/// rebinding), and read the answers as the same origin. Real clients of a
/// local API address it by IP address or as localhost, so requests for any
/// other name are refused when the API is local.
async fn check_host(State(s): State<AppState>, req: Request, next: Next) -> Response {
    if s.local_only {
        if let Some(value) = req.headers().get(header::HOST) {
            let text = value.to_str().unwrap_or("");
            let host = host_name(text);
            if host.parse::<IpAddr>().is_err() && !host.eq_ignore_ascii_case("localhost") {
                return ApiError::Forbidden(format!(
                    "Host {text:?}: the API answers requests addressed to localhost or an IP address (it listens on a loopback address; see allow-remote)"
                ))
                .into_response();
            }
        }
    }
    next.run(req).await
}

async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::NotFound(format!(
        "no endpoint {method} {} (the endpoints are listed in /openapi.json)",
        uri.path()
    ))
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::MethodNotAllowed(format!(
        "{method} is not allowed on {}: it answers {}",
        uri.path(),
        allowed(uri.path())
    ))
}

/// The methods a path answers, for the message of a 405.
fn allowed(path: &str) -> &'static str {
    let parts: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    match parts.as_slice() {
        ["", "v1", "neighbors"] => "GET, POST",
        ["", "v1", "neighbors", _] => "GET, DELETE",
        ["", "v1", "neighbors", _, "enable" | "disable" | "reset" | "soft-reset"]
        | ["", "v1", "announce" | "withdraw" | "reload"] => "POST",
        _ => "GET",
    }
}

// ---------------------------------------------------------------------------
// Helpers

/// Wait for the speaker, at most [`PATIENCE`]; `None` from it means it
/// is going away.
async fn ask<T>(
    what: &str,
    fut: impl std::future::Future<Output = Option<T>>,
) -> Result<T, ApiError> {
    match tokio::time::timeout(PATIENCE, fut).await {
        Ok(Some(t)) => Ok(t),
        Ok(None) => Err(ApiError::Unavailable(format!(
            "the speaker did not answer for {what} (it is shutting down)"
        ))),
        Err(_) => Err(ApiError::Unavailable(format!(
            "the speaker did not answer for {what} within {} s",
            PATIENCE.as_secs()
        ))),
    }
}

impl Inner {
    /// A neighbor as the speaker runs it now (neighbors come and go at run
    /// time: the speaker's list, not the file's, is the truth).
    fn neighbor(&self, addr: IpAddr) -> Result<NeighborConfig, ApiError> {
        self.speaker.neighbor_config(addr).ok_or_else(|| {
            let all = self.speaker.neighbor_addresses();
            let known: Vec<String> = all.iter().take(8).map(ToString::to_string).collect();
            let more = if all.len() > known.len() { ", ..." } else { "" };
            ApiError::NotFound(if known.is_empty() {
                format!("no neighbor {addr} (none is configured)")
            } else {
                format!(
                    "no neighbor {addr} (the neighbors are {}{more})",
                    known.join(", ")
                )
            })
        })
    }

    /// An enabled neighbor, for the questions only a running one answers.
    fn running(&self, addr: IpAddr) -> Result<NeighborConfig, ApiError> {
        let n = self.neighbor(addr)?;
        if !n.enabled {
            return Err(ApiError::NotFound(format!(
                "neighbor {addr} is disabled (enabled = false in the configuration): it has no routes"
            )));
        }
        Ok(n)
    }

    /// The state of a neighbor and since when, as its task tells it
    /// ([`Speaker::neighbor_info`]), as in the detail.
    async fn state(&self, n: &NeighborConfig) -> (&'static str, Option<u64>) {
        if !n.enabled {
            return (state_name(None), None);
        }
        let info = tokio::time::timeout(PATIENCE, self.speaker.neighbor_info(n.address))
            .await
            .unwrap_or_default();
        match info {
            Some(i) => (state_name(Some(i.state)), i.since),
            // A running neighbor that does not answer is going away: Idle.
            None => (state_name(Some(ribbit_fsm::State::Idle)), None),
        }
    }
}

// ---------------------------------------------------------------------------
// Handlers

async fn openapi() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        OPENAPI,
    )
        .into_response()
}

/// The query of the endpoints that take no parameters: refusing unknown
/// ones says at once that a parameter was misspelled or misplaced.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct NoParams {}

async fn neighbors(
    State(s): State<AppState>,
    params: Result<Query<NoParams>, QueryRejection>,
) -> Result<Json<NeighborList>, ApiError> {
    params?;
    let stats = ask("its counters", s.speaker.rib_stats()).await?;
    let neighbors = s.speaker.config_snapshot().neighbors;
    let mut out = Vec::with_capacity(neighbors.len());
    for n in &neighbors {
        let (state, since) = s.state(n).await;
        let prefixes = stats
            .peers
            .iter()
            .find(|p| p.address == n.address)
            .map(|p| PrefixCounts::sum(&p.families))
            .unwrap_or_default();
        out.push(NeighborSummary {
            address: n.address,
            asn: n.peer_asn,
            local_asn: n.local_asn,
            description: n.description.clone(),
            state,
            state_since: since,
            prefixes,
        });
    }
    Ok(Json(NeighborList { neighbors: out }))
}

async fn neighbor(
    State(s): State<AppState>,
    address: Result<Path<String>, PathRejection>,
    params: Result<Query<NoParams>, QueryRejection>,
) -> Result<Json<NeighborDetail>, ApiError> {
    let Path(address) = address?;
    params?;
    Ok(Json(s.detail(query::address(&address)?).await?))
}

impl Inner {
    /// A neighbor in detail: its configuration, what its session
    /// negotiated and counted ([`Speaker::neighbor_info`]) and the RIB's
    /// counters.
    async fn detail(&self, addr: IpAddr) -> Result<NeighborDetail, ApiError> {
        let n = self.neighbor(addr)?;
        let stats = ask("its counters", self.speaker.rib_stats()).await?;
        let track = self.tracker.get(n.address);
        let mut d = NeighborDetail::from_config(&n);
        if n.enabled {
            let info = tokio::time::timeout(PATIENCE, self.speaker.neighbor_info(n.address))
                .await
                .unwrap_or_default();
            // A running neighbor that does not answer is going away: Idle.
            d.state = state_name(Some(
                info.as_ref().map_or(ribbit_fsm::State::Idle, |i| i.state),
            ));
            if let Some(info) = info {
                d.state_since = info.since;
                d.established_count = info.established;
                d.session = info.session.as_ref().map(Negotiated::new);
                d.messages_received = MessageCounters::new(&info.received);
                d.updates_received = info.received.update;
                d.messages_sent = MessageCounters::new(&info.sent);
                d.last_down = info.last_down;
            }
        }
        d.last_notification = track.last_notification;
        if let Some(p) = stats.peers.iter().find(|p| p.address == n.address) {
            d.prefixes = PrefixCounts::sum(&p.families);
            d.counters = p.families.iter().map(FamilyCounters::new).collect();
        }
        Ok(d)
    }
}

/// Select, page and answer an Adj-RIB.
fn adj_page(
    neighbor: IpAddr,
    family: ribbit_wire::Family,
    table: &'static str,
    routes: Vec<crate::peer::ReceivedRoute>,
    q: &query::Checked,
) -> AdjRibPage {
    // Selected and paged first, so that only the page is made into JSON
    // (a full table is a million routes; a page is a few hundred).
    let mut routes: Vec<&crate::peer::ReceivedRoute> = routes
        .iter()
        .filter(|r| r.family == family && query::selected(&r.nlri, q.select))
        .collect();
    if matches!(q.select, Select::LongestMatch(_)) {
        query::longest(&mut routes, |r| &r.nlri);
    }
    let next = query::page(&mut routes, |r| &r.nlri, q.limit, q.after.as_ref());
    AdjRibPage {
        neighbor,
        family: family.to_string(),
        table,
        routes: routes.into_iter().map(AdjRoute::new).collect(),
        next,
    }
}

/// A page of a prefix family's Adj-RIB straight from the table, in its
/// order (as the Loc-RIB's comes): not a copy of a full table per page.
/// `None` for the queries it does not answer (a selection, another kind
/// of family, a text cursor).
async fn adj_fast_page(
    speaker: &Speaker,
    addr: IpAddr,
    family: ribbit_wire::Family,
    paged: AdjTable,
    table: &'static str,
    q: &query::Checked,
) -> Option<Result<AdjRibPage, ApiError>> {
    let (after, limit) = q.table_page(family)?;
    let after = after.map(|p| {
        ribbit_wire::NlriList::Prefixes(vec![ribbit_wire::nlri::PrefixNlri {
            path_id: None,
            prefix: p.trunc(),
        }])
    });
    let page = speaker.adj_rib_page(addr, family, paged, after, limit.saturating_add(1));
    let page = match ask("the Adj-RIB", page).await {
        Ok(p) => p,
        Err(e) => return Some(Err(e)),
    };
    let mut routes: Vec<&crate::peer::ReceivedRoute> = page.routes.iter().collect();
    let next = query::page(&mut routes, |r| &r.nlri, Some(limit), None);
    Some(Ok(AdjRibPage {
        neighbor: addr,
        family: family.to_string(),
        table,
        routes: routes.into_iter().map(AdjRoute::new).collect(),
        next,
    }))
}

async fn adj_rib_in(
    State(s): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
    params: Result<Query<RibParams>, QueryRejection>,
) -> Result<Json<AdjRibPage>, ApiError> {
    let Path((address, family)) = path?;
    let Query(params) = params?;
    let addr = query::address(&address)?;
    let family = query::family(&family)?;
    let n = s.running(addr)?;
    let q = params.check(family)?;
    if q.pre_policy && !n.keep_adj_rib_in {
        return Err(ApiError::BadRequest(format!(
            "pre-policy: neighbor {addr} does not keep its routes before import policy (set keep-adj-rib-in = true for it)"
        )));
    }
    let table = if q.pre_policy {
        "adj-rib-in-pre-policy"
    } else {
        "adj-rib-in"
    };
    let paged = AdjTable::In {
        pre_policy: q.pre_policy,
    };
    if let Some(page) = adj_fast_page(&s.speaker, addr, family, paged, table, &q).await {
        return page.map(Json);
    }
    let routes = if q.pre_policy {
        ask("the Adj-RIB-In", s.speaker.adj_rib_in_pre_policy(addr)).await?
    } else {
        ask("the Adj-RIB-In", s.speaker.adj_rib_in(addr)).await?
    };
    Ok(Json(adj_page(addr, family, table, routes, &q)))
}

async fn adj_rib_out(
    State(s): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
    params: Result<Query<RibParams>, QueryRejection>,
) -> Result<Json<AdjRibPage>, ApiError> {
    let Path((address, family)) = path?;
    let Query(params) = params?;
    let addr = query::address(&address)?;
    let family = query::family(&family)?;
    s.running(addr)?;
    let q = params.check(family)?;
    if params.pre_policy.is_some() {
        return Err(ApiError::BadRequest(
            "pre-policy applies to the Adj-RIB-In only".to_string(),
        ));
    }
    let table = "adj-rib-out";
    if let Some(page) = adj_fast_page(&s.speaker, addr, family, AdjTable::Out, table, &q).await {
        return page.map(Json);
    }
    let routes = ask("the Adj-RIB-Out", s.speaker.adj_rib_out(addr)).await?;
    Ok(Json(adj_page(addr, family, table, routes, &q)))
}

async fn rib(
    State(s): State<AppState>,
    family: Result<Path<String>, PathRejection>,
    params: Result<Query<RibParams>, QueryRejection>,
) -> Result<Json<RibPage>, ApiError> {
    let Path(family) = family?;
    let Query(params) = params?;
    let family = query::family(&family)?;
    let q = params.check(family)?;
    if params.pre_policy.is_some() {
        return Err(ApiError::BadRequest(
            "pre-policy applies to the Adj-RIB-In only".to_string(),
        ));
    }
    let sp = &s.speaker;
    // A page of a prefix family comes straight from the table, in its
    // order: no walk of the whole table per page.
    if let Some((after, limit)) = q.table_page(family) {
        let mut lines = ask("the RIB", sp.page(family, after, limit.saturating_add(1))).await?;
        let next = (lines.len() > limit).then(|| {
            lines.truncate(limit);
            lines.last().map(|l| l.nlri.clone()).unwrap_or_default()
        });
        return Ok(Json(RibPage {
            family: family.to_string(),
            destinations: lines.into_iter().map(Destination::new).collect(),
            next,
        }));
    }
    let lines = match q.select {
        Select::All => ask("the RIB", sp.paths(family, None)).await?,
        Select::MoreSpecifics(p) => ask("the RIB", sp.paths(family, Some(p))).await?,
        Select::Exact(p) => ask("the RIB", sp.destination(family, p)).await?,
        Select::LongestMatch(a) => ask("the RIB", sp.longest_match(family, a)).await?,
    };
    let mut destinations: Vec<Destination> = lines.into_iter().map(Destination::new).collect();
    let next = query::page(&mut destinations, |d| &d.nlri, q.limit, q.after.as_ref());
    Ok(Json(RibPage {
        family: family.to_string(),
        destinations,
        next,
    }))
}

async fn stats(
    State(s): State<AppState>,
    params: Result<Query<NoParams>, QueryRejection>,
) -> Result<Json<Stats>, ApiError> {
    params?;
    let stats = ask("its counters", s.speaker.rib_stats()).await?;
    Ok(Json(Stats::new(&stats, s.streams.get())))
}

async fn events(
    State(s): State<AppState>,
    params: Result<Query<EventsQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(params) = params?;
    let known: Vec<IpAddr> = s.speaker.neighbor_addresses();
    let filter = EventFilter::parse(&params, &known)?;
    // Subscribed before the answer's head goes out: a client that has the
    // head gets every event from then on.
    let queue = s
        .speaker
        .config_snapshot_ref(|c| c.global.event_buffer)
        .unwrap_or(crate::config::DEFAULT_EVENT_BUFFER);
    let lines = events::stream(
        s.speaker.subscribe().into_receiver(),
        filter,
        Arc::clone(&s.speaker),
        s.stop.clone(),
        Arc::clone(&s.streams),
        queue,
    );
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/x-ndjson"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(lines),
    )
        .into_response())
}
