//! Events as the lines a program reads: ExaBGP's API v4 JSON as ExaBGP 4.2
//! writes it to its processes, or Ribbit's own JSON (the lines of the HTTP
//! API's event stream).
//!
//! ExaBGP 4.2's shapes, as seen from a real ExaBGP 4.2.21 (the reference
//! of `docs/process.md`): every line has `exabgp` (`"4.0.1"`, the API
//! version), `time`, `host`, `pid`, `ppid`, `type`, and, for a neighbor,
//! `counter` (per neighbor) and `neighbor` with `address {local, peer}` and
//! `asn {local, peer}`. Messages add `direction` (`receive` or `send`) and
//! their content (`message`, `notification`, `route-refresh`); state
//! changes add `state` (`connected`, `up`, `down`) and, when down, a
//! `reason`. The content comes from `ribbit_exabgp::json`, whose `router-id`
//! member (ExaBGP 5) is left out here and whose `in`/`out` directions
//! become 4.2's `receive`/`send`.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

use ribbit_exabgp::json as exa;
use ribbit_fsm::State;
use ribbit_wire::text::{push_ipv4, push_padded, push_u32, push_u64};
use ribbit_wire::update::NextHop;
use ribbit_wire::{Family, Notification};

use crate::api::events::{self, Event, EventFilter};
use crate::api::model::{state_name, AdjRoute};
use crate::config::{Encoder, EventKind, NeighborConfig, NeighborScope};
use crate::peer::{PeerEvent, ReceivedRoute};

/// Routes per message when a table is written out (re-sync): big enough
/// to be cheap, small enough that one line stays a few hundred kilobytes.
pub use crate::api::events::ROUTES_PER_LINE;

/// What the ExaBGP envelope says about a neighbor: the session's ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ends {
    /// Our address: the configured `local-address`, else the address the
    /// speaker listens on for the neighbor's family, else unspecified.
    pub local_address: IpAddr,
    /// Our AS on the session.
    pub local_as: u32,
    /// The neighbor's AS.
    pub peer_as: u32,
}

impl Ends {
    /// The ends of a configured neighbor; `listen` are the speaker's
    /// listening addresses.
    pub fn of(n: &NeighborConfig, listen: &[std::net::SocketAddr]) -> Ends {
        let local_address = n.local_address.unwrap_or_else(|| {
            listen
                .iter()
                .map(std::net::SocketAddr::ip)
                .find(|a| a.is_ipv6() == n.address.is_ipv6() && !a.is_unspecified())
                .unwrap_or(if n.address.is_ipv6() {
                    IpAddr::V6(Ipv6Addr::UNSPECIFIED)
                } else {
                    IpAddr::V4(Ipv4Addr::UNSPECIFIED)
                })
        });
        Ends {
            local_address,
            local_as: n.local_asn,
            peer_as: n.peer_asn,
        }
    }
}

/// Where a neighbor's session is, for the `connected` / `up` / `down`
/// events of ExaBGP, which report changes of the connection rather than
/// every state of RFC 4271.
fn connected(s: State) -> bool {
    matches!(s, State::OpenSent | State::OpenConfirm | State::Established)
}

/// The seconds since the Unix epoch, as ExaBGP's `time`.
pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Why events are missing, in the gap event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GapCause {
    /// The program's queue was full (`on-overflow = "drop"`).
    QueueFull,
    /// The program fell further behind than the speaker's event buffer.
    FellBehind,
}

impl GapCause {
    fn text(self) -> &'static str {
        match self {
            GapCause::QueueFull => "queue full",
            GapCause::FellBehind => "fell behind the speaker",
        }
    }
}

/// What a program's lines say of one neighbor.
#[derive(Debug, Default)]
struct NeighborText {
    /// Its events counted so far (ExaBGP's `counter`).
    counter: u64,
    /// The envelope of its UPDATEs after `counter`, for these ends.
    update_head: Option<(Ends, String)>,
}

/// Turns the speaker's events into the lines of one program.
#[derive(Debug)]
pub struct EventEncoder {
    encoder: Encoder,
    receive: Vec<EventKind>,
    scope: NeighborScope,
    host: String,
    pid: u32,
    ppid: u32,
    /// The envelope's members between `time` and `counter`, the same in
    /// every event: `,"host":...,"pid":...,"ppid":...,"counter":`.
    after_time: String,
    /// Per neighbor: the events counted, and what its UPDATEs' envelope
    /// says of it.
    neighbors: HashMap<IpAddr, NeighborText>,
    /// The seconds of the last time written, and their text: they change
    /// once a second, the microseconds every event.
    seconds: (u64, String),
    /// The last NOTIFICATION of each neighbor since its connection came
    /// up, for the reason of the `down` that follows.
    last_notification: HashMap<IpAddr, (bool, Notification)>,
    /// Ribbit's JSON: every kind (`receive` has chosen already).
    ribbit: EventFilter,
}

impl EventEncoder {
    /// An encoder for a program with these settings.
    pub fn new(encoder: Encoder, receive: &[EventKind], scope: NeighborScope) -> EventEncoder {
        let host = host_name();
        let (pid, ppid) = (std::process::id(), parent_pid());
        let after_time = format!(
            ",\"host\":{},\"pid\":{pid},\"ppid\":{ppid},\"counter\":",
            Value::String(host.clone())
        );
        EventEncoder {
            encoder,
            receive: receive.to_vec(),
            scope,
            host,
            pid,
            ppid,
            after_time,
            neighbors: HashMap::new(),
            seconds: (0, String::new()),
            last_notification: HashMap::new(),
            ribbit: EventFilter::everything(),
        }
    }

    /// Whether the program receives events of this kind.
    pub fn receives(&self, k: EventKind) -> bool {
        self.receive.contains(&k)
    }

    /// Whether the program hears about `peer`.
    pub fn in_scope(&self, peer: IpAddr) -> bool {
        self.scope.contains(peer)
    }

    /// Append the line for one event to `out` (without its end of line);
    /// false, with nothing appended, when the program does not receive
    /// it. `ends` looks up a neighbor's session ends. One reused buffer
    /// rather than a string per line: a full table is a million lines.
    pub fn event(
        &mut self,
        e: &PeerEvent,
        ends: impl Fn(IpAddr) -> Option<Ends>,
        out: &mut String,
    ) -> bool {
        let Some(peer) = e.peer() else {
            return false;
        };
        if !self.scope.contains(peer) {
            return false;
        }
        // Remember NOTIFICATIONs even when they are not sent: they are the
        // reason of the next `down`.
        if let PeerEvent::Notification {
            received,
            notification,
            ..
        } = e
        {
            self.last_notification
                .insert(peer, (*received, notification.clone()));
        }
        let kind = match e {
            PeerEvent::State { .. } => EventKind::State,
            PeerEvent::Update { .. } => EventKind::Update,
            PeerEvent::RouteRefresh { .. } => EventKind::Refresh,
            PeerEvent::Notification { .. } => EventKind::Notification,
            // ExaBGP's `receive` lists what the neighbor sent.
            PeerEvent::Open { received, .. } if *received => EventKind::Open,
            PeerEvent::Keepalive { received, .. } if *received => EventKind::Keepalive,
            PeerEvent::Negotiated { .. } => EventKind::Negotiated,
            PeerEvent::Open { .. } | PeerEvent::Keepalive { .. } | PeerEvent::Lagged { .. } => {
                return false
            }
        };
        let reason = match e {
            PeerEvent::State { from, to, .. } if connected(*from) && !connected(*to) => {
                Some(self.down_reason(peer))
            }
            _ => None,
        };
        if let PeerEvent::State { to, .. } = e {
            if connected(*to) {
                // A new connection: an older NOTIFICATION is no reason.
                if matches!(to, State::OpenSent | State::OpenConfirm) {
                    self.last_notification.remove(&peer);
                }
            } else {
                self.last_notification.remove(&peer);
            }
        }
        if !self.receives(kind) {
            return false;
        }
        match self.encoder {
            Encoder::Ribbit => match self.ribbit.render(e) {
                Some(b) => match std::str::from_utf8(&b) {
                    Ok(text) => {
                        out.push_str(text.trim_end());
                        true
                    }
                    Err(_) => false,
                },
                None => false,
            },
            Encoder::Exabgp => match ends(peer) {
                Some(ends) => self.exabgp(e, peer, ends, reason, out),
                None => false,
            },
        }
    }

    fn down_reason(&self, peer: IpAddr) -> String {
        // ExaBGP's words ("peer reset, message [...] error[...]") with the
        // brackets it turns into parentheses in JSON.
        match self.last_notification.get(&peer) {
            Some((received, n)) => format!(
                "peer reset, message (notification {} ({},{})) error({} / {}{})",
                if *received { "received" } else { "sent" },
                n.code,
                n.subcode,
                n.code_name(),
                n.subcode_name(),
                n.shutdown_message()
                    .map(|m| format!(" / {m}"))
                    .unwrap_or_default()
            ),
            None => "peer reset, message (closing connection) error(the connection was closed)"
                .to_string(),
        }
    }

    /// The neighbor's text, its counter moved on for one more event.
    fn count_event(&mut self, peer: IpAddr) -> &mut NeighborText {
        let n = self.neighbors.entry(peer).or_default();
        n.counter += 1;
        n
    }

    /// ExaBGP's envelope for a neighbor: everything but `type` and the
    /// neighbor's own members.
    fn envelope(
        &mut self,
        kind: &str,
        peer: IpAddr,
        ends: Ends,
        neighbor: Map<String, Value>,
    ) -> Value {
        let mut n = Map::new();
        n.insert(
            "address".into(),
            json!({ "local": ends.local_address.to_string(), "peer": peer.to_string() }),
        );
        n.insert(
            "asn".into(),
            json!({ "local": ends.local_as, "peer": ends.peer_as }),
        );
        n.extend(neighbor);
        let counter = self.count_event(peer).counter;
        json!({
            "exabgp": exa::API_VERSION,
            "time": now(),
            "host": self.host,
            "pid": self.pid,
            "ppid": self.ppid,
            "counter": counter,
            "type": kind,
            "neighbor": n,
        })
    }

    /// An UPDATE's envelope as text, up to the members of `neighbor` after
    /// `asn` (the caller adds its own and closes both objects). What it
    /// says of the neighbor is written once per session's ends, not per
    /// UPDATE: a table is a million of them.
    fn update_envelope(&mut self, peer: IpAddr, ends: Ends, out: &mut String) {
        out.push_str("{\"exabgp\":\"");
        out.push_str(exa::API_VERSION);
        out.push_str("\",\"time\":");
        push_time(&mut self.seconds, out);
        out.push_str(&self.after_time);
        let n = self.count_event(peer);
        push_u64(out, n.counter);
        let head = match &mut n.update_head {
            Some((e, text)) if *e == ends => text,
            slot => {
                let mut text = String::new();
                text.push_str(",\"type\":\"update\",\"neighbor\":{\"address\":{\"local\":\"");
                push_ip(&mut text, ends.local_address);
                text.push_str("\",\"peer\":\"");
                push_ip(&mut text, peer);
                text.push_str("\"},\"asn\":{\"local\":");
                push_u32(&mut text, ends.local_as);
                text.push_str(",\"peer\":");
                push_u32(&mut text, ends.peer_as);
                text.push('}');
                &mut slot.insert((ends, text)).1
            }
        };
        out.push_str(head);
    }

    fn exabgp(
        &mut self,
        e: &PeerEvent,
        peer: IpAddr,
        ends: Ends,
        reason: Option<String>,
        out: &mut String,
    ) -> bool {
        let value = match e {
            PeerEvent::State { from, to, .. } => {
                let state = if *to == State::Established {
                    "up"
                } else if connected(*to) && !connected(*from) {
                    "connected"
                } else if reason.is_some() {
                    "down"
                } else {
                    // Idle <-> Connect <-> Active: ExaBGP says nothing.
                    return false;
                };
                let mut m = Map::new();
                m.insert("state".into(), json!(state));
                if let Some(r) = reason {
                    m.insert("reason".into(), json!(r));
                }
                self.envelope("state", peer, ends, m)
            }
            PeerEvent::Update { update, .. } => {
                // The common shapes are written directly: a tree of JSON
                // values costs several times more than the text, and a
                // program may be fed a million prefixes.
                out.reserve(update_text_size(update));
                self.update_envelope(peer, ends, out);
                out.push_str(",\"direction\":\"receive\",\"message\":");
                if !fast_update(update, out) {
                    out.push_str(&exa::update(update).to_string());
                }
                out.push_str("}}");
                return true;
            }
            PeerEvent::RouteRefresh { refresh, .. } => {
                let mut m = Map::new();
                m.insert("direction".into(), json!("receive"));
                m.insert("route-refresh".into(), exa::route_refresh(refresh));
                self.envelope("refresh", peer, ends, m)
            }
            PeerEvent::Notification {
                received,
                notification,
                ..
            } => {
                let mut m = Map::new();
                m.insert("direction".into(), json!(direction(*received)));
                m.insert("notification".into(), exa::notification(notification));
                self.envelope("notification", peer, ends, m)
            }
            PeerEvent::Open { received, open, .. } => {
                let mut m = Map::new();
                m.insert("direction".into(), json!(direction(*received)));
                m.insert("open".into(), exa::open(open));
                self.envelope("open", peer, ends, m)
            }
            PeerEvent::Keepalive { received, .. } => {
                let mut m = Map::new();
                m.insert("direction".into(), json!(direction(*received)));
                self.envelope("keepalive", peer, ends, m)
            }
            PeerEvent::Negotiated { negotiated, .. } => {
                let mut m = Map::new();
                m.insert("negotiated".into(), negotiated_json(negotiated));
                self.envelope("negotiated", peer, ends, m)
            }
            PeerEvent::Lagged { .. } => return false,
        };
        // Written into `out` rather than a string of its own.
        use std::fmt::Write as _;
        write!(out, "{value}").is_ok()
    }

    /// The line that says events were lost.
    pub fn gap(&self, missed: u64, cause: GapCause) -> String {
        match self.encoder {
            Encoder::Exabgp => json!({
                "exabgp": exa::API_VERSION,
                "time": now(),
                "host": self.host,
                "pid": self.pid,
                "ppid": self.ppid,
                "type": "gap",
                "gap": { "missed": missed, "reason": cause.text() },
            })
            .to_string(),
            // The event stream's own word for it.
            Encoder::Ribbit => json!({
                "type": "lost",
                "time": (now() * 1000.0).round() / 1000.0,
                "count": missed,
                "reason": cause.text(),
            })
            .to_string(),
        }
    }

    /// The lines that give a neighbor's state and table again after a gap:
    /// a state line (when the program receives states) and the routes of
    /// its Adj-RIB-In (when it receives updates).
    pub fn resync_neighbor(
        &mut self,
        peer: IpAddr,
        ends: Option<Ends>,
        state: Option<State>,
        routes: &[ReceivedRoute],
        out: &mut Vec<String>,
    ) {
        self.resync_state(peer, ends, state, out);
        self.resync_routes(peer, ends, routes, out);
    }

    /// A re-sync's state line of a neighbor, when the program receives
    /// states.
    pub fn resync_state(
        &mut self,
        peer: IpAddr,
        ends: Option<Ends>,
        state: Option<State>,
        out: &mut Vec<String>,
    ) {
        if !self.scope.contains(peer) || !self.receives(EventKind::State) {
            return;
        }
        match self.encoder {
            // The event stream's re-sync lines (docs/api.md).
            Encoder::Ribbit => out.push(events::text(&Event::ResyncState {
                neighbor: peer,
                state: state_name(state),
            })),
            Encoder::Exabgp => {
                let Some(ends) = ends else {
                    return;
                };
                let established = state == Some(State::Established);
                let mut m = Map::new();
                m.insert(
                    "state".into(),
                    json!(if established { "up" } else { "down" }),
                );
                if !established {
                    m.insert("reason".into(), json!("re-sync after a gap"));
                }
                out.push(self.envelope("state", peer, ends, m).to_string());
            }
        }
    }

    /// A re-sync's lines for routes of a neighbor's Adj-RIB-In (a table
    /// takes as many calls as it has pages), when the program receives
    /// updates.
    pub fn resync_routes(
        &mut self,
        peer: IpAddr,
        ends: Option<Ends>,
        routes: &[ReceivedRoute],
        out: &mut Vec<String>,
    ) {
        if !self.scope.contains(peer) || !self.receives(EventKind::Update) {
            return;
        }
        match self.encoder {
            Encoder::Ribbit => {
                for chunk in routes.chunks(ROUTES_PER_LINE) {
                    out.push(events::text(&Event::ResyncRoutes {
                        neighbor: peer,
                        routes: chunk.iter().map(AdjRoute::new).collect(),
                    }));
                }
            }
            Encoder::Exabgp => {
                let Some(ends) = ends else {
                    return;
                };
                for group in table_groups(routes) {
                    let Some(first) = group.first().copied() else {
                        continue;
                    };
                    let mut line = String::with_capacity(256 + group.len() * 32);
                    self.update_envelope(peer, ends, &mut line);
                    line.push_str(",\"direction\":\"receive\",\"message\":{\"update\":{");
                    let a = &first.attributes;
                    if usual_attributes(a) {
                        write_attributes(a, &mut line);
                    } else {
                        line.push_str("\"attribute\":");
                        line.push_str(&Value::Object(exa::attributes(a)).to_string());
                        line.push(',');
                    }
                    line.push_str("\"announce\":{");
                    line.push_str(&Value::String(exa::family_key(first.family)).to_string());
                    line.push_str(":{");
                    line.push_str(
                        &Value::String(next_hop_key(first.family, first.next_hop)).to_string(),
                    );
                    line.push_str(":[");
                    for (i, r) in group.iter().enumerate() {
                        if i > 0 {
                            line.push(',');
                        }
                        line.push_str("{\"nlri\":");
                        line.push_str(&Value::String(r.nlri.clone()).to_string());
                        if let Some(id) = r.path_id {
                            line.push_str(&format!(
                                ",\"path-information\":\"{}\"",
                                Ipv4Addr::from(id)
                            ));
                        }
                        line.push('}');
                    }
                    line.push_str("]}}}}}}");
                    out.push(line);
                }
            }
        }
    }

    /// The line that ends a re-sync.
    pub fn resync_end(&self, neighbors: usize, routes: usize) -> String {
        match self.encoder {
            Encoder::Exabgp => json!({
                "exabgp": exa::API_VERSION,
                "time": now(),
                "host": self.host,
                "pid": self.pid,
                "ppid": self.ppid,
                "type": "resync",
                "resync": { "neighbors": neighbors, "routes": routes },
            })
            .to_string(),
            Encoder::Ribbit => events::text(&Event::ResyncEnd {
                time: events::event_time(),
                neighbors,
                routes,
            }),
        }
    }

    /// ExaBGP's notice that it is stopping, sent before the program is
    /// stopped.
    pub fn shutdown(&self) -> Option<String> {
        match self.encoder {
            Encoder::Exabgp => Some(
                json!({
                    "exabgp": exa::API_VERSION,
                    "time": now(),
                    "host": self.host,
                    "pid": self.pid,
                    "ppid": self.ppid,
                    "type": "notification",
                    "notification": "shutdown",
                })
                .to_string(),
            ),
            Encoder::Ribbit => Some(
                json!({ "type": "shutdown", "time": (now() * 1000.0).round() / 1000.0 })
                    .to_string(),
            ),
        }
    }
}

/// The routes grouped by family, next hop and attributes (as one UPDATE
/// would carry them), in the order each group first appears, at most
/// [`ROUTES_PER_LINE`] a group.
fn table_groups(routes: &[ReceivedRoute]) -> Vec<Vec<&ReceivedRoute>> {
    type Key<'a> = (Family, Option<NextHop>, &'a ribbit_wire::PathAttributes);
    let mut index: HashMap<Key<'_>, usize> = HashMap::new();
    let mut groups: Vec<Vec<&ReceivedRoute>> = Vec::new();
    for r in routes {
        let key = (r.family, r.next_hop, r.attributes.as_ref());
        let slot = match index.get(&key) {
            Some(i) if groups.get(*i).is_some_and(|g| g.len() < ROUTES_PER_LINE) => *i,
            _ => {
                groups.push(Vec::new());
                let i = groups.len() - 1;
                index.insert(key, i);
                i
            }
        };
        if let Some(g) = groups.get_mut(slot) {
            g.push(r);
        }
    }
    groups
}

/// ExaBGP's `attribute` object for the usual attributes (the caller has
/// checked there are no others), members in alphabetical order, written
/// straight into `out`: `"attribute":{...},` or nothing when there is no
/// attribute to show.
fn write_attributes(a: &ribbit_wire::PathAttributes, out: &mut String) {
    use ribbit_wire::attribute::SegmentType;
    use std::fmt::Write as _;
    let start = out.len();
    let member = |out: &mut String, name: &str| {
        out.push_str(if out.len() == start {
            "\"attribute\":{"
        } else {
            ","
        });
        out.push('"');
        out.push_str(name);
        out.push_str("\":");
    };
    if let Some(agg) = a.aggregator {
        member(out, "aggregator");
        let _ = write!(out, "\"{}:{}\"", agg.asn, agg.address);
    }
    let segments = a
        .as_path
        .as_ref()
        .map_or(&[][..], |p| p.segments.as_slice());
    // The ASNs of the segments of one kind, in order, as one list.
    let asns_of = |out: &mut String, kind: SegmentType| {
        out.push('[');
        let mut first = true;
        for s in segments.iter().filter(|s| s.kind == kind) {
            for &n in &s.asns {
                if !first {
                    out.push(',');
                }
                first = false;
                push_u32(out, n);
            }
        }
        out.push(']');
    };
    let has = |kind: SegmentType| segments.iter().any(|s| s.kind == kind);
    if !segments.is_empty() {
        member(out, "as-path");
        asns_of(out, SegmentType::Sequence);
        if has(SegmentType::Set) {
            member(out, "as-set");
            asns_of(out, SegmentType::Set);
        }
    }
    if a.atomic_aggregate {
        member(out, "atomic-aggregate");
        out.push_str("true");
    }
    if !a.communities.is_empty() {
        member(out, "community");
        push_tuples(
            out,
            a.communities
                .iter()
                .map(|c| [u32::from(c.high()), u32::from(c.low())]),
        );
    }
    if !segments.is_empty() {
        member(out, "confederation-path");
        asns_of(out, SegmentType::ConfedSequence);
        if has(SegmentType::ConfedSet) {
            member(out, "confederation-set");
            asns_of(out, SegmentType::ConfedSet);
        }
    }
    if !a.large_communities.is_empty() {
        member(out, "large-community");
        push_tuples(
            out,
            a.large_communities
                .iter()
                .map(|c| [c.global, c.local1, c.local2]),
        );
    }
    if let Some(lp) = a.local_pref {
        member(out, "local-preference");
        push_u32(out, lp);
    }
    if let Some(med) = a.med {
        member(out, "med");
        push_u32(out, med);
    }
    if let Some(o) = a.origin {
        member(out, "origin");
        out.push('"');
        out.push_str(o.name());
        out.push('"');
    }
    if out.len() > start {
        out.push_str("},");
    }
}

/// A JSON list of lists of numbers: `[[1,2],[3,4]]` (communities, large
/// communities).
fn push_tuples<const N: usize>(out: &mut String, items: impl Iterator<Item = [u32; N]>) {
    out.push('[');
    for (i, t) in items.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('[');
        for (j, n) in t.into_iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            push_u32(out, n);
        }
        out.push(']');
    }
    out.push(']');
}

/// Now, in seconds since the epoch with microseconds, as [`now`] gives it
/// to the JSON events, without formatting a float; `seconds` keeps the
/// text of the whole seconds last written.
fn push_time(seconds: &mut (u64, String), out: &mut String) {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let (last, text) = seconds;
    if *last != d.as_secs() || text.is_empty() {
        *last = d.as_secs();
        text.clear();
        push_u64(text, d.as_secs());
    }
    out.push_str(text);
    out.push('.');
    push_padded(out, d.subsec_micros(), 6);
}

/// An address, IPv4 without the formatter.
fn push_ip(out: &mut String, a: IpAddr) {
    use std::fmt::Write as _;
    match a {
        IpAddr::V4(v4) => push_ipv4(out, v4),
        IpAddr::V6(v6) => {
            let _ = write!(out, "{v6}");
        }
    }
}

/// A prefix as `address/length`, IPv4 without the formatter.
fn push_prefix(out: &mut String, p: &ribbit_wire::Prefix) {
    use std::fmt::Write as _;
    match p {
        ipnet::IpNet::V4(n) => {
            push_ipv4(out, n.addr());
            out.push('/');
            push_u32(out, u32::from(n.prefix_len()));
        }
        ipnet::IpNet::V6(n) => {
            let _ = write!(out, "{n}");
        }
    }
}

/// Room for an UPDATE event's line, so that it is written without growing:
/// the envelope and attributes take a few hundred bytes, a prefix about 30
/// (`{"nlri":"198.51.100.0/24"},`).
fn update_text_size(u: &ribbit_wire::Update) -> usize {
    let mp = u.mp_reach.as_ref().map_or(0, |m| m.nlri.len())
        + u.mp_unreach.as_ref().map_or(0, |m| m.nlri.len());
    let prefixes = u.announced.len() + u.withdrawn.len() + mp;
    prefixes.saturating_mul(32).saturating_add(512)
}

/// Whether [`write_attributes`] covers every attribute present.
fn usual_attributes(a: &ribbit_wire::PathAttributes) -> bool {
    a.originator_id.is_none()
        && a.cluster_list.is_empty()
        && a.extended_communities.is_empty()
        && a.ipv6_extended_communities.is_empty()
        && a.aigp.is_none()
        && a.otc.is_none()
        && a.unknown.is_empty()
}

/// ExaBGP's `message` object of an UPDATE written as text, for UPDATEs of
/// plain prefixes with the usual attributes; false (nothing written) for
/// anything else, which goes through [`exa::update`]. Both give the same
/// members and values (a test compares them); this one in ExaBGP's order.
pub fn fast_update(u: &ribbit_wire::Update, out: &mut String) -> bool {
    use ribbit_wire::update::MpNlri;
    use ribbit_wire::NlriList;
    let a = &u.attributes;
    let plain_nlri = |m: &MpNlri| matches!(m, MpNlri::Decoded(NlriList::Prefixes(_)));
    if u.end_of_rib_family().is_some()
        || u.treat_as_withdraw()
        || !usual_attributes(a)
        || u.mp_reach.as_ref().is_some_and(|m| !plain_nlri(&m.nlri))
        || u.mp_unreach.as_ref().is_some_and(|m| !plain_nlri(&m.nlri))
    {
        return false;
    }
    let prefix = |out: &mut String, n: &ribbit_wire::nlri::PrefixNlri| {
        out.push_str("{\"nlri\":\"");
        push_prefix(out, &n.prefix);
        out.push('"');
        if let Some(id) = n.path_id {
            out.push_str(",\"path-information\":\"");
            push_ipv4(out, Ipv4Addr::from(id));
            out.push('"');
        }
        out.push('}');
    };
    let list = |out: &mut String, v: &[ribbit_wire::nlri::PrefixNlri]| {
        out.push('[');
        for (i, n) in v.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            prefix(out, n);
        }
        out.push(']');
    };
    // Announced: IPv4 under the NEXT_HOP, MP under its next hop; at most
    // one list of each kind, written in ExaBGP's order (by family name).
    let mp = u.mp_reach.as_ref().and_then(|m| match &m.nlri {
        MpNlri::Decoded(NlriList::Prefixes(v)) if !v.is_empty() => {
            Some((m.family, (Some(m.next_hop), v.as_slice())))
        }
        _ => None,
    });
    let plain = (!u.announced.is_empty()).then(|| {
        (
            Family::IPV4_UNICAST,
            (a.next_hop.map(NextHop::V4), u.announced.as_slice()),
        )
    });
    let Some(announce) = in_family_order([plain, mp]) else {
        return false;
    };
    // Attributes without anything announced (withdrawals that carry some,
    // or attributes alone) are shown too, as ExaBGP shows them: rare,
    // left to the general path.
    if announce.iter().all(Option::is_none) && !a.is_empty() {
        return false;
    }
    let mp_gone = u.mp_unreach.as_ref().and_then(|m| match &m.nlri {
        MpNlri::Decoded(NlriList::Prefixes(v)) if !v.is_empty() => Some((m.family, v.as_slice())),
        _ => None,
    });
    let plain_gone =
        (!u.withdrawn.is_empty()).then_some((Family::IPV4_UNICAST, u.withdrawn.as_slice()));
    let Some(withdraw) = in_family_order([plain_gone, mp_gone]) else {
        return false;
    };
    out.push_str("{\"update\":{");
    if announce.iter().any(Option::is_some) {
        // Followed by "announce": its comma is written with it.
        write_attributes(a, out);
    }
    let mut first = true;
    let mut sep = |out: &mut String| {
        if !first {
            out.push(',');
        }
        first = false;
    };
    if announce.iter().any(Option::is_some) {
        sep(out);
        out.push_str("\"announce\":{");
        for (i, (family, (hop, v))) in announce.iter().flatten().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push('"');
            exa::push_family_key(out, *family);
            out.push_str("\":{\"");
            push_next_hop_key(out, *family, *hop);
            out.push_str("\":");
            list(out, v);
            out.push('}');
        }
        out.push('}');
    }
    if withdraw.iter().any(Option::is_some) {
        sep(out);
        out.push_str("\"withdraw\":{");
        for (i, (family, v)) in withdraw.iter().flatten().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push('"');
            exa::push_family_key(out, *family);
            out.push_str("\":");
            list(out, v);
        }
        out.push('}');
    }
    out.push_str("}}");
    true
}

/// Two lists of an UPDATE (the IPv4 NLRI or withdrawn field, and the MP
/// one) in the order ExaBGP's map gives their families' names; `None` when
/// both are of one family (IPv4 unicast in both places), which would need
/// merging: rare enough for the general path.
fn in_family_order<T: Copy>(lists: [Option<(Family, T)>; 2]) -> Option<[Option<(Family, T)>; 2]> {
    // Names are `[a-z0-9-]+`, all above the space between them: comparing
    // (AFI name, SAFI name) orders them as their joined text does.
    let names = |f: Family| (exa::afi_name(f.afi), exa::safi_name(f.safi));
    match lists {
        [Some(x), Some(y)] if x.0 == y.0 => None,
        [Some(x), Some(y)] if names(y.0) < names(x.0) => Some([Some(y), Some(x)]),
        other => Some(other),
    }
}

/// ExaBGP's `direction` member.
fn direction(received: bool) -> &'static str {
    if received {
        "receive"
    } else {
        "send"
    }
}

/// ExaBGP's `negotiated` member: what both OPENs agreed on, families as
/// `"AFI SAFI"` strings.
fn negotiated_json(n: &ribbit_fsm::Negotiated) -> Value {
    let family = |f: &Family| exa::family_key(*f);
    let families: Vec<String> = n.families.iter().map(family).collect();
    let add_path = |set: &ribbit_wire::FamilySet| -> Vec<String> {
        n.families
            .iter()
            .filter(|f| set.contains(**f))
            .map(family)
            .collect()
    };
    let nexthop: Vec<String> = n
        .extended_next_hop
        .iter()
        .map(|(f, afi)| format!("{} {}", family(f), exa::afi_name(*afi)))
        .collect();
    json!({
        "message_size": if n.extended_message_receive { 65535 } else { 4096 },
        "hold_time": n.hold_time,
        "asn4": n.four_octet_as,
        "multisession": false,
        "operational": false,
        "refresh": if n.enhanced_route_refresh {
            "enhanced"
        } else if n.route_refresh {
            "normal"
        } else {
            "absent"
        },
        "families": families,
        "nexthop": nexthop,
        "add_path": { "send": add_path(&n.add_path_send), "receive": add_path(&n.add_path_receive) },
    })
}

fn next_hop_key(family: Family, nh: Option<NextHop>) -> String {
    let mut s = String::new();
    push_next_hop_key(&mut s, family, nh);
    s
}

/// [`exa::push_next_hop_key`] for a route of `family`.
fn push_next_hop_key(out: &mut String, family: Family, nh: Option<NextHop>) {
    let flowspec = family.safi == ribbit_wire::Safi::FLOWSPEC
        || family.safi == ribbit_wire::Safi::FLOWSPEC_VPN;
    exa::push_next_hop_key(out, nh, flowspec);
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".to_string())
}

fn parent_pid() -> u32 {
    // std has no getppid; /proc has it without unsafe code.
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // The name in parentheses may hold spaces: fields count after it.
            let after = s.rsplit_once(')')?.1;
            after.split_whitespace().nth(1)?.parse().ok()
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The line `enc` writes for `e`, if any.
    pub(super) fn line(
        enc: &mut EventEncoder,
        e: &PeerEvent,
        ends: impl Fn(IpAddr) -> Option<Ends>,
    ) -> Option<String> {
        let mut out = String::new();
        enc.event(e, ends, &mut out).then_some(out)
    }
    use ribbit_wire::{DecodeContext, Message, Update};
    use std::sync::Arc;

    fn ends() -> Option<Ends> {
        Some(Ends {
            local_address: "127.0.3.1".parse().unwrap(),
            local_as: 65001,
            peer_as: 65002,
        })
    }

    fn peer() -> IpAddr {
        "127.0.3.2".parse().unwrap()
    }

    fn all() -> Vec<EventKind> {
        EventKind::ALL.iter().map(|(k, _)| *k).collect()
    }

    fn update(hex: &str) -> Arc<Update> {
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        match Message::decode(&bytes, &DecodeContext::default()).unwrap() {
            Message::Update(u) => Arc::new(u),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn ribbit_resync_lines_are_the_event_streams() {
        let mut enc = EventEncoder::new(Encoder::Ribbit, &all(), NeighborScope::All);
        let route = |i: u32| ReceivedRoute {
            family: Family::IPV4_UNICAST,
            nlri: format!("10.{}.{}.0/24", i / 256, i % 256),
            path_id: None,
            next_hop: Some(NextHop::V4("192.0.2.1".parse().unwrap())),
            attributes: Arc::new(ribbit_wire::PathAttributes::default()),
        };
        let routes: Vec<ReceivedRoute> = (0..1001).map(route).collect();
        let mut lines = Vec::new();
        enc.resync_neighbor(peer(), None, Some(State::Established), &routes, &mut lines);
        let v: Vec<Value> = lines
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            v[0],
            json!({ "type": "resync-state", "neighbor": "127.0.3.2", "state": "established" })
        );
        // A thousand routes a line, in the HTTP API's route objects.
        assert_eq!(v.len(), 3, "{lines:?}");
        assert_eq!(v[1]["type"], "resync-routes");
        assert_eq!(v[1]["routes"].as_array().unwrap().len(), 1000);
        assert_eq!(
            v[2]["routes"],
            json!([{ "nlri": "10.3.232.0/24", "next-hop": "192.0.2.1", "attributes": {} }])
        );
        let end: Value = serde_json::from_str(&enc.resync_end(1, 1001)).unwrap();
        assert_eq!(end["type"], "resync-end");
        assert_eq!(
            (end["neighbors"].clone(), end["routes"].clone()),
            (json!(1), json!(1001))
        );
        assert!(end["time"].as_f64().is_some_and(|t| t > 0.0), "{end}");
    }

    #[test]
    fn exabgp_42_shapes() {
        let mut enc = EventEncoder::new(Encoder::Exabgp, &all(), NeighborScope::All);
        let state = |from, to| PeerEvent::State {
            peer: peer(),
            from,
            to,
        };
        let text = line(&mut enc, &state(State::Active, State::OpenSent), |_| ends()).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["exabgp"], "4.0.1");
        assert_eq!(v["type"], "state");
        assert_eq!(v["counter"], 1);
        assert_eq!(
            v["neighbor"],
            json!({ "address": { "local": "127.0.3.1", "peer": "127.0.3.2" },
                    "asn": { "local": 65001, "peer": 65002 }, "state": "connected" })
        );
        assert!(line(
            &mut enc,
            &state(State::OpenSent, State::OpenConfirm),
            |_| ends()
        )
        .is_none());
        let v: Value = serde_json::from_str(
            &line(
                &mut enc,
                &state(State::OpenConfirm, State::Established),
                |_| ends(),
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(v["neighbor"]["state"], "up");
        assert_eq!(v["counter"], 2);

        // What ExaBGP 4.2.21 wrote for this UPDATE from Ribbit, less
        // envelope: the same members and values.
        let cmd: ribbit_exabgp::text::Command =
            "announce route 10.8.0.0/24 next-hop 198.18.0.1 med 7 as-path [65002]"
                .parse()
                .unwrap();
        let bytes = cmd
            .encode(&ribbit_exabgp::text::EncodeSettings::default())
            .unwrap();
        let hex: String = bytes[0].iter().map(|b| format!("{b:02X}")).collect();
        let v: Value = serde_json::from_str(
            &line(
                &mut enc,
                &PeerEvent::Update {
                    peer: peer(),
                    update: update(&hex),
                },
                |_| ends(),
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(v["type"], "update");
        assert_eq!(v["counter"], 3);
        assert!(v["neighbor"].get("router-id").is_none());
        let expected: Value = serde_json::from_str(
            r#"{ "address": { "local": "127.0.3.1", "peer": "127.0.3.2" }, "asn": { "local": 65001, "peer": 65002 } , "direction": "receive", "message": { "update": { "attribute": { "origin": "igp", "as-path": [ 65002 ], "confederation-path": [], "med": 7 }, "announce": { "ipv4 unicast": { "198.18.0.1": [ { "nlri": "10.8.0.0/24" } ] } } } } }"#,
        )
        .unwrap();
        assert_eq!(v["neighbor"], expected);
        let n = Notification::new(6, 2, Vec::new());
        line(
            &mut enc,
            &PeerEvent::Notification {
                peer: peer(),
                received: true,
                notification: n,
            },
            |_| ends(),
        );
        let v: Value = serde_json::from_str(
            &line(&mut enc, &state(State::Established, State::Idle), |_| {
                ends()
            })
            .unwrap(),
        )
        .unwrap();
        assert_eq!(v["neighbor"]["state"], "down");
        assert!(v["neighbor"]["reason"]
            .as_str()
            .unwrap()
            .starts_with("peer reset, message (notification received (6,2)) error(Cease / "));
        // Idle -> Connect is nothing ExaBGP reports.
        assert!(line(&mut enc, &state(State::Idle, State::Connect), |_| ends()).is_none());
    }

    #[test]
    fn scope_and_receive() {
        let only: std::collections::BTreeSet<IpAddr> = ["127.0.3.9".parse().unwrap()].into();
        let mut enc = EventEncoder::new(Encoder::Exabgp, &all(), NeighborScope::Only(only));
        let e = PeerEvent::State {
            peer: peer(),
            from: State::OpenConfirm,
            to: State::Established,
        };
        assert!(line(&mut enc, &e, |_| ends()).is_none());
        let mut enc = EventEncoder::new(Encoder::Exabgp, &[EventKind::Update], NeighborScope::All);
        assert!(line(&mut enc, &e, |_| ends()).is_none());
        let mut enc = EventEncoder::new(Encoder::Ribbit, &[EventKind::State], NeighborScope::All);
        let v: Value = serde_json::from_str(&line(&mut enc, &e, |_| None).unwrap()).unwrap();
        assert_eq!(v["type"], "state");
        assert_eq!(v["to"], "established");
    }
}

#[cfg(test)]
mod fast {
    use super::*;
    use ribbit_exabgp::text::{Command, EncodeSettings};
    use ribbit_wire::DecodeContext;
    use ribbit_wire::Message;

    fn check(cmd: &str) -> bool {
        let c: Command = cmd.parse().unwrap();
        let ctx = EncodeSettings::default();
        let mut any = false;
        for bytes in c.encode(&ctx).unwrap() {
            let Message::Update(u) = Message::decode(&bytes, &DecodeContext::default()).unwrap()
            else {
                panic!()
            };
            let mut fast = String::new();
            if fast_update(&u, &mut fast) {
                any = true;
                // The same members and values (the fast path keeps
                // ExaBGP's order: attribute, announce, withdraw).
                let fast: Value = serde_json::from_str(&fast).unwrap();
                assert_eq!(fast, exa::update(&u), "{cmd}");
            }
        }
        any
    }

    #[test]
    fn same_json_as_the_general_path() {
        for cmd in [
            "announce route 10.0.0.0/24 next-hop 192.0.2.1",
            "announce attributes next-hop 198.18.0.1 med 7 local-preference 50 as-path [ 65002 65003 ( 1 2 ) ] community [65002:1 no-export] large-community [1:2:3] atomic-aggregate aggregator ( 65000:192.0.2.9 ) nlri 10.0.0.0/24 10.0.1.0/25",
            "announce route 2001:db8::/32 next-hop 2001:db8::1 origin egp",
            "announce ipv4 multicast 239.1.0.0/16 next-hop 192.0.2.1",
            "withdraw route 10.0.0.0/24",
            "withdraw route 2001:db8::/32",
            "announce route 10.0.0.0/24 next-hop 192.0.2.1 path-information 7",
        ] {
            assert!(check(cmd), "the fast path should take {cmd}");
        }
        // Others go the general way.
        assert!(!check(
            "announce route 10.0.0.0/24 next-hop 192.0.2.1 extended-community [target:1:1]"
        ));
        assert!(!check(
            "announce route 10.0.0.0/24 next-hop 192.0.2.1 rd 1:1 label 5"
        ));
    }

    /// Found by the `event_json` fuzz target: attributes with nothing
    /// announced are shown, as ExaBGP shows them, by either path.
    #[test]
    fn attributes_without_announcements_are_shown() {
        use ribbit_wire::{AsPath, Origin, Update};
        let attributes = ribbit_wire::PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::sequence(vec![65001])),
            med: Some(0),
            ..ribbit_wire::PathAttributes::default()
        };
        for withdrawn in [vec![], prefixes(&["10.9.0.0/24"])] {
            let u = Update {
                attributes: attributes.clone(),
                withdrawn,
                ..Update::default()
            };
            let mut fast = String::new();
            if fast_update(&u, &mut fast) {
                let value: Value = serde_json::from_str(&fast).unwrap();
                assert_eq!(value, exa::update(&u));
            }
            assert!(exa::update(&u)["update"]["attribute"]["med"] == 0);
        }
    }

    fn prefixes(list: &[&str]) -> Vec<ribbit_wire::nlri::PrefixNlri> {
        list.iter()
            .map(|p| ribbit_wire::nlri::PrefixNlri {
                path_id: None,
                prefix: p.parse().unwrap(),
            })
            .collect()
    }

    #[test]
    fn every_kind_of_segment_as_the_general_encoder_writes_it() {
        let mut u = ribbit_wire::Update {
            announced: prefixes(&["10.0.0.0/24"]),
            ..ribbit_wire::Update::default()
        };
        u.attributes.next_hop = Some("192.0.2.1".parse().unwrap());
        u.attributes.as_path = Some(
            "[ 64512 64513 ] { 64514 } 65001 ( 65010 65011 ) 65003 ( 65012 )"
                .parse()
                .unwrap(),
        );
        let mut fast = String::new();
        assert!(fast_update(&u, &mut fast));
        let value: Value = serde_json::from_str(&fast).unwrap();
        assert_eq!(value, exa::update(&u));
        let attribute = &value["update"]["attribute"];
        assert_eq!(attribute["as-path"], json!([65001, 65003]));
        assert_eq!(attribute["as-set"], json!([65010, 65011, 65012]));
        assert_eq!(attribute["confederation-path"], json!([64512, 64513]));
        assert_eq!(attribute["confederation-set"], json!([64514]));
    }

    #[test]
    fn both_lists_in_family_order() {
        use ribbit_wire::update::{MpNlri, MpReach, MpUnreach};
        use ribbit_wire::{NlriList, Update};
        let multicast = Family::new(ribbit_wire::Afi::IPV4, ribbit_wire::Safi(2));
        let mut u = Update {
            announced: prefixes(&["10.0.0.0/24"]),
            withdrawn: prefixes(&["10.9.0.0/24"]),
            mp_reach: Some(MpReach {
                family: multicast,
                next_hop: NextHop::V4("192.0.2.2".parse().unwrap()),
                nlri: MpNlri::Decoded(NlriList::Prefixes(prefixes(&["239.1.0.0/16"]))),
            }),
            mp_unreach: Some(MpUnreach {
                family: multicast,
                nlri: MpNlri::Decoded(NlriList::Prefixes(prefixes(&["239.2.0.0/16"]))),
            }),
            ..Update::default()
        };
        u.attributes.next_hop = Some("192.0.2.1".parse().unwrap());
        let mut fast = String::new();
        assert!(fast_update(&u, &mut fast));
        let value: Value = serde_json::from_str(&fast).unwrap();
        assert_eq!(value, exa::update(&u));
        // The map's order: "ipv4 multicast" before "ipv4 unicast", in both.
        let at = |what: &str, from: usize| from + fast[from..].find(what).unwrap();
        let withdraw = at("\"withdraw\"", 0);
        assert!(at("ipv4 multicast", 0) < at("ipv4 unicast", 0));
        assert!(at("ipv4 multicast", withdraw) < at("ipv4 unicast", withdraw));
        // IPv4 unicast in both places would need merging: nothing written.
        u.mp_reach.as_mut().unwrap().family = Family::IPV4_UNICAST;
        let mut out = String::new();
        assert!(!fast_update(&u, &mut out));
        assert!(out.is_empty());
    }
}

#[cfg(test)]
mod timing {
    use super::*;
    use ribbit_wire::{DecodeContext, Message};
    use std::sync::Arc;

    /// `cargo test --release -p ribbit --lib process::encode::timing -- --ignored --nocapture`
    #[test]
    #[ignore = "a timing, not a check: run in release, alone"]
    fn encode_speed() {
        let cmd: ribbit_exabgp::text::Command =
            "announce attributes next-hop 198.18.0.1 med 7 as-path [65002 65003 65004] community [65002:1 65002:2] nlri 10.0.0.0/24 10.0.1.0/24 10.0.2.0/24"
                .parse()
                .unwrap();
        let bytes = cmd
            .encode(&ribbit_exabgp::text::EncodeSettings::default())
            .unwrap();
        let u = match Message::decode(&bytes[0], &DecodeContext::default()).unwrap() {
            Message::Update(u) => Arc::new(u),
            _ => unreachable!(),
        };
        let mut enc = EventEncoder::new(Encoder::Exabgp, &[EventKind::Update], NeighborScope::All);
        let ends = Some(Ends {
            local_address: "127.0.0.1".parse().unwrap(),
            local_as: 1,
            peer_as: 2,
        });
        let e = PeerEvent::Update {
            peer: "127.0.0.2".parse().unwrap(),
            update: u,
        };
        let PeerEvent::Update { update, .. } = &e else {
            unreachable!()
        };
        let t = std::time::Instant::now();
        for _ in 0..100_000 {
            std::hint::black_box(ribbit_exabgp::json::update(update).to_string());
        }
        println!("update alone {:.2} us", t.elapsed().as_secs_f64() * 10.0);
        let t = std::time::Instant::now();
        for _ in 0..100_000 {
            std::hint::black_box(ribbit_exabgp::json::update(update));
        }
        println!(
            "update value only {:.2} us",
            t.elapsed().as_secs_f64() * 10.0
        );
        let t = std::time::Instant::now();
        let n = 100_000;
        let (mut bytes, mut out) = (0, String::new());
        for _ in 0..n {
            out.clear();
            enc.event(&e, |_| ends, &mut out);
            bytes += out.len();
        }
        let el = t.elapsed();
        println!(
            "{:.2} us per event, {} bytes",
            el.as_secs_f64() * 1e6 / n as f64,
            bytes / n
        );
    }
}
