//! The event stream (`GET /v1/events`, NDJSON) and what the API learns
//! from the speaker's events about each neighbor (since when it is in its
//! state, its last NOTIFICATION), both fed by [`Speaker::subscribe`].
//!
//! [`Speaker::subscribe`]: crate::Speaker::subscribe

use std::collections::HashMap;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc, watch};

use ribbit_fsm::State;
use ribbit_wire::Family;

use super::error::ApiError;
use super::model::{state_name, AdjRoute, LastNotification};
use crate::event_thread::{self, Batches};
use crate::json;
use crate::peer::PeerEvent;
use crate::Speaker;

/// Lines an event stream may hold for a slow client before it stops
/// taking events from the speaker (and then reports the ones it lost).
const STREAM_QUEUE: usize = 64;

/// How long the speaker must be quiet before a re-sync reads the tables:
/// events are published before the RIB applies their UPDATEs, so a table
/// read in a burst could lack what the stream already said.
pub(crate) const RESYNC_QUIET: Duration = Duration::from_millis(100);

/// How long a due re-sync waits for a quiet speaker at most, once the
/// stream has caught up: a speaker that is never quiet for
/// [`RESYNC_QUIET`] (a busy peer's steady churn) must not put it off for
/// ever.
pub(crate) const RESYNC_PATIENCE: Duration = Duration::from_secs(1);

/// Whether a due re-sync may read the tables now (an event stream's, a
/// program's): its reader has taken every event there is, and the speaker
/// has been quiet for [`RESYNC_QUIET`] or the re-sync has waited
/// [`RESYNC_PATIENCE`].
pub(crate) fn resync_ready(caught_up: bool, quiet_for: Duration, waited: Duration) -> bool {
    caught_up && (quiet_for >= RESYNC_QUIET || waited >= RESYNC_PATIENCE)
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn now_float() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| (d.as_millis() as f64) / 1000.0)
}

/// What the API has seen of one neighbor.
#[derive(Debug, Clone, Default)]
pub struct Track {
    /// The state it last saw the session enter, and when; `None` when it
    /// has seen no change yet, or lost events since.
    pub state: Option<(State, u64)>,
    /// Times the session came up.
    pub established_count: u64,
    /// The last NOTIFICATION sent or received.
    pub last_notification: Option<LastNotification>,
}

/// What the API has seen of every neighbor since it started.
#[derive(Debug, Default)]
pub struct Tracker {
    neighbors: Mutex<HashMap<IpAddr, Track>>,
}

impl Tracker {
    /// What was seen of a neighbor.
    pub fn get(&self, peer: IpAddr) -> Track {
        // A panic while holding the lock cannot leave a half-updated
        // Track (each update is one assignment), so a poisoned lock is
        // still good to read.
        let map = self
            .neighbors
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        map.get(&peer).cloned().unwrap_or_default()
    }

    /// Take in one event.
    pub fn apply(&self, e: &PeerEvent) {
        let mut map = self
            .neighbors
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match e {
            PeerEvent::State { peer, to, .. } => {
                let t = map.entry(*peer).or_default();
                t.state = Some((*to, now_secs()));
                if *to == State::Established {
                    t.established_count += 1;
                }
            }
            // The tracker follows session events only (see
            // `Speaker::subscribe_sessions`); `Events::next` alone makes
            // `Lagged`, and this tracker reads the channel itself.
            PeerEvent::Update { .. } | PeerEvent::Lagged { .. } => {}
            PeerEvent::Notification {
                peer,
                received,
                notification: n,
            } => {
                map.entry(*peer).or_default().last_notification = Some(LastNotification {
                    direction: if *received { "received" } else { "sent" },
                    time: now_secs(),
                    code: n.code,
                    subcode: n.subcode,
                    code_name: n.code_name(),
                    subcode_name: n.subcode_name(),
                    shutdown_message: n.shutdown_message().map(str::to_string),
                });
            }
            PeerEvent::RouteRefresh { .. }
            | PeerEvent::Open { .. }
            | PeerEvent::Keepalive { .. }
            | PeerEvent::Negotiated { .. } => {}
        }
    }

    /// Events were lost: the states seen may be out of date, so they are
    /// forgotten until the next change.
    fn lost(&self) {
        let mut map = self
            .neighbors
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for t in map.values_mut() {
            t.state = None;
        }
    }
}

/// Feed `tracker` from the speaker's events until `stop` says so, on a
/// thread of its own (see [`crate::event_thread`]): it must keep up during
/// a full-table burst, or it would hold the burst's UPDATEs in memory.
pub fn spawn_tracker(
    rx: broadcast::Receiver<PeerEvent>,
    tracker: Arc<Tracker>,
    mut stop: watch::Receiver<bool>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    event_thread::spawn("api-tracker".to_string(), async move {
        let mut batches = Batches::new(rx);
        let mut batch = Vec::new();
        loop {
            let open = tokio::select! {
                open = batches.next(&mut batch) => open,
                _ = stop.changed() => return,
            };
            for e in batch.drain(..) {
                match e {
                    Ok(e) => tracker.apply(&e),
                    Err(_) => tracker.lost(),
                }
            }
            if !open {
                return;
            }
        }
    })
}

/// The kinds of event, as `type=` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// Session state changes.
    State,
    /// UPDATEs received (End-of-RIB included).
    Update,
    /// ROUTE-REFRESH messages received.
    RouteRefresh,
    /// NOTIFICATIONs sent or received.
    Notification,
    /// OPENs sent or received (only when asked for by `type`).
    Open,
    /// KEEPALIVEs sent or received (only when asked for by `type`).
    Keepalive,
    /// What a session negotiated as it came up (only when asked for).
    Negotiated,
}

impl EventType {
    const ALL: [(EventType, &'static str); 7] = [
        (EventType::State, "state"),
        (EventType::Update, "update"),
        (EventType::RouteRefresh, "route-refresh"),
        (EventType::Notification, "notification"),
        (EventType::Open, "open"),
        (EventType::Keepalive, "keepalive"),
        (EventType::Negotiated, "negotiated"),
    ];

    /// What a stream without `type` carries: the session messages (OPEN,
    /// KEEPALIVE, negotiation) only come when asked for, so that a stream
    /// is not a KEEPALIVE log by default.
    const DEFAULT: [EventType; 4] = [
        EventType::State,
        EventType::Update,
        EventType::RouteRefresh,
        EventType::Notification,
    ];

    fn of(e: &PeerEvent) -> Option<EventType> {
        match e {
            PeerEvent::State { .. } => Some(EventType::State),
            PeerEvent::Update { .. } => Some(EventType::Update),
            PeerEvent::RouteRefresh { .. } => Some(EventType::RouteRefresh),
            PeerEvent::Notification { .. } => Some(EventType::Notification),
            PeerEvent::Open { .. } => Some(EventType::Open),
            PeerEvent::Keepalive { .. } => Some(EventType::Keepalive),
            PeerEvent::Negotiated { .. } => Some(EventType::Negotiated),
            PeerEvent::Lagged { .. } => None,
        }
    }
}

/// The query of `GET /v1/events`, as text; [`EventFilter::parse`] checks it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// Neighbor addresses, comma-separated.
    pub neighbor: Option<String>,
    /// Family names, comma-separated.
    pub family: Option<String>,
    /// Event types, comma-separated.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// `true`: the current state and table first, and again after lost
    /// events.
    pub resync: Option<String>,
}

/// Which events a stream carries; `None` lets everything through.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    neighbors: Option<Vec<IpAddr>>,
    families: Option<Vec<Family>>,
    types: Option<Vec<EventType>>,
    /// Give the state and table of each neighbor in scope at the start and
    /// after lost events (`resync=true`).
    resync: bool,
}

fn list(text: &str) -> impl Iterator<Item = &str> {
    text.split(',').map(str::trim).filter(|s| !s.is_empty())
}

impl EventFilter {
    /// Check a query; `known` are the configured neighbors.
    pub fn parse(q: &EventsQuery, known: &[IpAddr]) -> Result<EventFilter, ApiError> {
        let mut f = EventFilter::default();
        if let Some(text) = &q.neighbor {
            let mut v = Vec::new();
            for item in list(text) {
                let addr: IpAddr = item.parse().map_err(|_| {
                    ApiError::BadRequest(format!("neighbor: {item:?} is not an IP address"))
                })?;
                if !known.contains(&addr) {
                    return Err(ApiError::NotFound(format!(
                        "neighbor: {addr} is not a configured neighbor"
                    )));
                }
                v.push(addr);
            }
            f.neighbors = Some(v);
        }
        if let Some(text) = &q.family {
            let mut v = Vec::new();
            for item in list(text) {
                v.push(super::query::family(item)?);
            }
            f.families = Some(v);
        }
        if let Some(text) = &q.kind {
            let mut v = Vec::new();
            for item in list(text) {
                let t = EventType::ALL
                    .iter()
                    .find(|(_, name)| *name == item)
                    .map(|(t, _)| *t)
                    .ok_or_else(|| {
                        ApiError::BadRequest(format!(
                            "type: unknown event type {item:?} (expected state, update, route-refresh, notification, open, keepalive or negotiated)"
                        ))
                    })?;
                v.push(t);
            }
            f.types = Some(v);
        }
        if let Some(text) = &q.resync {
            f.resync = match text.as_str() {
                "true" => true,
                "false" => false,
                other => {
                    return Err(ApiError::BadRequest(format!(
                        "resync: expected true or false, not {other:?}"
                    )))
                }
            };
        }
        Ok(f)
    }

    /// Whether the stream re-syncs (`resync=true`).
    pub fn resyncs(&self) -> bool {
        self.resync
    }

    fn neighbor_ok(&self, peer: IpAddr) -> bool {
        self.neighbors.as_ref().is_none_or(|v| v.contains(&peer))
    }

    fn type_ok(&self, kind: EventType) -> bool {
        match &self.types {
            Some(v) => v.contains(&kind),
            None => EventType::DEFAULT.contains(&kind),
        }
    }

    fn family_ok(&self, family: &str) -> bool {
        match &self.families {
            None => true,
            Some(v) => v.iter().any(|f| f.to_string() == family),
        }
    }

    /// A filter that lets every event through, the session messages
    /// included (a program's `receive` list has chosen already).
    pub fn everything() -> EventFilter {
        EventFilter {
            types: Some(EventType::ALL.iter().map(|(t, _)| *t).collect()),
            ..EventFilter::default()
        }
    }

    /// Whether the event's neighbor and type pass the filter (its
    /// families are checked when it is rendered).
    pub fn admits(&self, e: &PeerEvent) -> bool {
        let Some(peer) = e.peer() else {
            return false;
        };
        if !self.neighbor_ok(peer) {
            return false;
        }
        EventType::of(e).is_some_and(|kind| self.type_ok(kind))
    }

    /// The JSON line of an event, or `None` when the filter leaves it out.
    pub fn render(&self, e: &PeerEvent) -> Option<Bytes> {
        // Lost events are reported by the stream itself (`lost`).
        if !self.admits(e) {
            return None;
        }
        let peer = e.peer()?;
        let time = now_float();
        let event = match e {
            PeerEvent::State { from, to, .. } => Event::State {
                time,
                neighbor: peer,
                from: state_name(Some(*from)),
                to: state_name(Some(*to)),
            },
            PeerEvent::Update { update, .. } => {
                // Ribbit's JSON of the UPDATE (docs/json.md), less the
                // wire length, which the event does not carry.
                let mut u = json::Update::new(update, 0);
                if self.families.is_some() {
                    // Only the routes of the families asked for.
                    u.announced.retain(|r| self.family_ok(&r.family));
                    u.withdrawn.retain(|r| self.family_ok(&r.family));
                    u.undecoded.retain(|r| self.family_ok(&r.family));
                    u.end_of_rib = u.end_of_rib.filter(|f| self.family_ok(f));
                    if u.announced.is_empty()
                        && u.withdrawn.is_empty()
                        && u.undecoded.is_empty()
                        && u.end_of_rib.is_none()
                    {
                        return None;
                    }
                }
                Event::Update(Box::new(UpdateEvent {
                    time,
                    neighbor: peer,
                    withdrawn: u.withdrawn,
                    announced: u.announced,
                    attributes: u.attributes,
                    end_of_rib: u.end_of_rib,
                    undecoded: u.undecoded,
                    issues: u.issues,
                }))
            }
            PeerEvent::Lagged { .. } => return None,
            PeerEvent::RouteRefresh { refresh, .. } => {
                let family = refresh.family.to_string();
                if !self.family_ok(&family) {
                    return None;
                }
                Event::RouteRefresh {
                    time,
                    neighbor: peer,
                    family,
                    subtype: match refresh.subtype {
                        ribbit_wire::route_refresh::RefreshSubtype::Reserved(v) => {
                            format!("reserved-{v}")
                        }
                        s => s.name().to_string(),
                    },
                }
            }
            PeerEvent::Notification {
                received,
                notification: n,
                ..
            } => Event::Notification {
                time,
                neighbor: peer,
                direction: if *received { "received" } else { "sent" },
                code: n.code,
                subcode: n.subcode,
                code_name: n.code_name(),
                subcode_name: n.subcode_name(),
                data: n.data.iter().map(|b| format!("{b:02x}")).collect(),
                shutdown_message: n.shutdown_message().map(str::to_string),
            },
            PeerEvent::Open { received, open, .. } => Event::Open {
                time,
                neighbor: peer,
                direction: if *received { "received" } else { "sent" },
                open: json::Open::new(open, 0),
            },
            PeerEvent::Keepalive { received, .. } => Event::Keepalive {
                time,
                neighbor: peer,
                direction: if *received { "received" } else { "sent" },
            },
            PeerEvent::Negotiated { negotiated: n, .. } => Event::Negotiated {
                time,
                neighbor: peer,
                hold_time: n.hold_time,
                keepalive: n.keepalive,
                four_octet_as: n.four_octet_as,
                route_refresh: n.route_refresh,
                enhanced_route_refresh: n.enhanced_route_refresh,
                extended_message: n.extended_message_receive,
                families: n.families.iter().map(ToString::to_string).collect(),
                add_path_receive: n
                    .families
                    .iter()
                    .filter(|f| n.add_path_receive.contains(**f))
                    .map(ToString::to_string)
                    .collect(),
                add_path_send: n
                    .families
                    .iter()
                    .filter(|f| n.add_path_send.contains(**f))
                    .map(ToString::to_string)
                    .collect(),
            },
        };
        Some(line(&event))
    }
}

/// One line of the event stream. `type` says which.
#[derive(Debug, Serialize)]
#[serde(
    tag = "type",
    rename_all = "kebab-case",
    rename_all_fields = "kebab-case"
)]
pub enum Event {
    /// The session of a neighbor changed state.
    State {
        /// When the API saw it (Unix seconds, millisecond precision).
        time: f64,
        /// The neighbor.
        neighbor: IpAddr,
        /// The old state.
        from: &'static str,
        /// The new state.
        to: &'static str,
    },
    /// A neighbor sent an UPDATE (boxed: far larger than the others).
    Update(Box<UpdateEvent>),
    /// A neighbor sent a ROUTE-REFRESH.
    RouteRefresh {
        /// When the API saw it.
        time: f64,
        /// The neighbor.
        neighbor: IpAddr,
        /// The family.
        family: String,
        /// `refresh`, `begin`, `end` or `reserved-N`.
        subtype: String,
    },
    /// A NOTIFICATION was sent to or received from a neighbor.
    Notification {
        /// When the API saw it.
        time: f64,
        /// The neighbor.
        neighbor: IpAddr,
        /// `sent` or `received`.
        direction: &'static str,
        /// Error code.
        code: u8,
        /// Error subcode.
        subcode: u8,
        /// The code's name.
        code_name: &'static str,
        /// The subcode's name.
        subcode_name: &'static str,
        /// The data, hex.
        data: String,
        /// The RFC 9003 shutdown communication.
        #[serde(skip_serializing_if = "Option::is_none")]
        shutdown_message: Option<String>,
    },
    /// An OPEN was sent to or received from a neighbor.
    Open {
        /// When the API saw it.
        time: f64,
        /// The neighbor.
        neighbor: IpAddr,
        /// `sent` or `received`.
        direction: &'static str,
        /// The OPEN in Ribbit's JSON (docs/json.md; `length` is 0: the
        /// event does not carry it).
        open: json::Open,
    },
    /// A KEEPALIVE was sent to or received from a neighbor.
    Keepalive {
        /// When the API saw it.
        time: f64,
        /// The neighbor.
        neighbor: IpAddr,
        /// `sent` or `received`.
        direction: &'static str,
    },
    /// A session came up with this negotiated.
    Negotiated {
        /// When the API saw it.
        time: f64,
        /// The neighbor.
        neighbor: IpAddr,
        /// The hold time in force, seconds.
        hold_time: u16,
        /// The KEEPALIVE interval, seconds.
        keepalive: u16,
        /// Four-octet AS numbers (RFC 6793).
        four_octet_as: bool,
        /// Route refresh (RFC 2918).
        route_refresh: bool,
        /// Enhanced route refresh (RFC 7313).
        enhanced_route_refresh: bool,
        /// Extended messages from the neighbor (RFC 8654).
        extended_message: bool,
        /// The families both sides offered.
        families: Vec<String>,
        /// Families in which the neighbor sends several paths (RFC 7911).
        add_path_receive: Vec<String>,
        /// Families in which we send several paths.
        add_path_send: Vec<String>,
    },
    /// The stream fell behind and `count` events were lost.
    Lost {
        /// When.
        time: f64,
        /// How many events were lost.
        count: u64,
    },
    /// A re-sync: a neighbor's state now.
    ResyncState {
        /// The neighbor.
        neighbor: IpAddr,
        /// Its state (as in the neighbor list).
        state: &'static str,
    },
    /// A re-sync: up to [`ROUTES_PER_LINE`] routes of a neighbor's
    /// Adj-RIB-In (as received when it is kept, else as accepted).
    ResyncRoutes {
        /// The neighbor.
        neighbor: IpAddr,
        /// The routes.
        routes: Vec<AdjRoute>,
    },
    /// The end of a re-sync: what was known before it is replaced by what
    /// it said.
    ResyncEnd {
        /// When.
        time: f64,
        /// Neighbors it covered.
        neighbors: usize,
        /// Routes it gave.
        routes: usize,
    },
}

/// Routes a `resync-routes` line carries at most.
pub const ROUTES_PER_LINE: usize = 1000;

/// The members of an `update` event: Ribbit's JSON of the UPDATE
/// (docs/json.md) less its wire length, with the neighbor and the time.
#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct UpdateEvent {
    /// When the API saw it.
    pub time: f64,
    /// The neighbor.
    pub neighbor: IpAddr,
    /// Withdrawn routes.
    pub withdrawn: Vec<json::Route>,
    /// Announced routes.
    pub announced: Vec<json::Route>,
    /// The path attributes.
    pub attributes: json::Attributes,
    /// The family of an End-of-RIB marker.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_of_rib: Option<String>,
    /// NLRI of families Ribbit does not decode.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub undecoded: Vec<json::Undecoded>,
    /// Errors RFC 7606 let the session survive.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub issues: Vec<json::Issue>,
}

fn line(e: &Event) -> Bytes {
    // Serializing these types cannot fail: no maps with non-string keys,
    // no failing Serialize impls.
    let mut v = serde_json::to_vec(e).unwrap_or_default();
    v.push(b'\n');
    Bytes::from(v)
}

/// An event as one line of JSON text, without the newline (what a
/// program with `encoder = "ribbit"` is written).
pub fn text(e: &Event) -> String {
    serde_json::to_string(e).unwrap_or_default()
}

/// The current time as events give it (Unix seconds, milliseconds).
pub fn event_time() -> f64 {
    now_float()
}

/// Counts the open event streams; one is taken for each stream and given
/// back when its task ends.
#[derive(Debug, Default)]
pub struct StreamGauge(AtomicU64);

impl StreamGauge {
    /// Streams open now.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

struct GaugeGuard(Arc<StreamGauge>);

impl GaugeGuard {
    fn new(g: Arc<StreamGauge>) -> GaugeGuard {
        g.0.fetch_add(1, Ordering::Relaxed);
        GaugeGuard(g)
    }
}

impl Drop for GaugeGuard {
    fn drop(&mut self) {
        self.0 .0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The body of an event stream: the lines its task produces.
pub struct LineStream(mpsc::Receiver<Bytes>);

impl futures_core::Stream for LineStream {
    type Item = Result<Bytes, std::convert::Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx).map(|o| o.map(Ok))
    }
}

/// Start one event stream: it renders the events `filter` lets through
/// until the client goes away (the body is dropped) or the API stops.
///
/// A thread of its own takes the events off the speaker's buffer as they
/// come into a queue of up to `queue` events in front of the encoder
/// ([`crate::event_thread`]): rendering JSON is the slow part, and a burst
/// it cannot keep up with (a full table arriving) waits there rather than
/// in the speaker's buffer, which it would overrun. Memory follows how far
/// behind the stream is. Past `queue`, events are missed and reported with
/// a `lost` line; with `resync=true` a re-sync from `speaker`'s tables
/// follows once the stream has caught up and the speaker is quiet.
pub fn stream(
    rx: broadcast::Receiver<PeerEvent>,
    filter: EventFilter,
    speaker: Arc<Speaker>,
    mut stop: watch::Receiver<bool>,
    gauge: Arc<StreamGauge>,
    queue: usize,
) -> LineStream {
    let (tx, lines) = mpsc::channel(STREAM_QUEUE);
    let guard = GaugeGuard::new(gauge);
    let wanted = filter.clone();
    // It ends when the stream's task ends (the queue closes) or the
    // speaker goes away.
    let relay = event_thread::relay("api-stream".to_string(), rx, queue, move |e| {
        wanted.admits(e)
    });
    let events = match relay {
        Ok(events) => events,
        Err(e) => {
            tracing::warn!(error = %e, "cannot start an event stream's thread; the stream ends");
            return LineStream(lines);
        }
    };
    let mut task = StreamTask {
        events,
        // The first re-sync is due at once: subscribed before it reads
        // the tables, the stream misses nothing between the two.
        resync_due: filter.resync.then(Instant::now),
        filter,
        speaker,
        tx,
        last_event: Instant::now(),
    };
    tokio::spawn(async move {
        let _guard = guard;
        tokio::select! {
            () = task.run() => {}
            _ = stop.changed() => {}
        }
    });
    LineStream(lines)
}

/// The work of one event stream.
struct StreamTask {
    events: mpsc::Receiver<event_thread::Relayed>,
    filter: EventFilter,
    speaker: Arc<Speaker>,
    tx: mpsc::Sender<Bytes>,
    /// Since when a re-sync waits to be given.
    resync_due: Option<Instant>,
    /// When the last event came.
    last_event: Instant,
}

impl StreamTask {
    /// Until the client goes away or the speaker stops.
    async fn run(&mut self) {
        loop {
            let next = match self.resync_due {
                None => tokio::select! {
                    r = self.events.recv() => r,
                    // Nothing to say and the client is gone: without this,
                    // a stream whose filter lets nothing through would
                    // live on.
                    () = self.tx.closed() => return,
                },
                Some(since) => {
                    if resync_ready(
                        self.events.is_empty(),
                        self.last_event.elapsed(),
                        since.elapsed(),
                    ) {
                        self.resync_due = None;
                        if self.resync().await.is_err() {
                            return;
                        }
                        continue;
                    }
                    tokio::select! {
                        r = self.events.recv() => r,
                        () = self.tx.closed() => return,
                        () = tokio::time::sleep(RESYNC_QUIET / 4) => continue,
                    }
                }
            };
            self.last_event = Instant::now();
            let out = match next {
                Some(Ok(e)) => match self.filter.render(&e) {
                    Some(l) => l,
                    None => continue,
                },
                // The stream fell behind the speaker: say how much was
                // lost rather than silently skip it.
                Some(Err(count)) => {
                    if self.filter.resync && self.resync_due.is_none() {
                        self.resync_due = Some(Instant::now());
                    }
                    line(&Event::Lost {
                        time: now_float(),
                        count,
                    })
                }
                None => return,
            };
            if self.tx.send(out).await.is_err() {
                return;
            }
        }
    }

    /// The state and table of each neighbor in scope, then the end line.
    /// `Err`: the client is gone.
    async fn resync(&self) -> Result<(), ()> {
        let (mut neighbors, mut routes) = (0, 0);
        for peer in self.speaker.neighbor_addresses() {
            if !self.filter.neighbor_ok(peer) {
                continue;
            }
            neighbors += 1;
            if self.filter.type_ok(EventType::State) {
                let state = state_name(self.speaker.state(peer).await);
                self.send(&Event::ResyncState {
                    neighbor: peer,
                    state,
                })
                .await?;
            }
            if !self.filter.type_ok(EventType::Update) {
                continue;
            }
            let mut table = self
                .speaker
                .resync_table(peer, self.filter.families.as_deref());
            while let Some(page) = table.next_page().await {
                routes += page.len();
                for chunk in page.chunks(ROUTES_PER_LINE) {
                    self.send(&Event::ResyncRoutes {
                        neighbor: peer,
                        routes: chunk.iter().map(AdjRoute::new).collect(),
                    })
                    .await?;
                }
            }
        }
        self.send(&Event::ResyncEnd {
            time: now_float(),
            neighbors,
            routes,
        })
        .await
    }

    async fn send(&self, e: &Event) -> Result<(), ()> {
        self.tx.send(line(e)).await.map_err(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resync_waits_for_its_reader_and_a_quiet_speaker_but_not_for_ever() {
        let ms = Duration::from_millis;
        assert!(
            !resync_ready(false, ms(500), ms(5000)),
            "the reader is behind"
        );
        assert!(!resync_ready(true, ms(20), ms(300)), "a burst goes on");
        assert!(resync_ready(true, ms(100), ms(100)));
        assert!(resync_ready(true, ms(20), ms(1000)), "steady churn");
    }

    #[test]
    fn resync_is_true_or_false() {
        let q = |v: &str| EventsQuery {
            resync: Some(v.to_string()),
            ..EventsQuery::default()
        };
        assert!(EventFilter::parse(&q("true"), &[]).unwrap().resyncs());
        assert!(!EventFilter::parse(&q("false"), &[]).unwrap().resyncs());
        assert!(!EventFilter::parse(&EventsQuery::default(), &[])
            .unwrap()
            .resyncs());
        let err = EventFilter::parse(&q("1"), &[]).unwrap_err();
        assert_eq!(err.to_string(), "resync: expected true or false, not \"1\"");
    }
}
