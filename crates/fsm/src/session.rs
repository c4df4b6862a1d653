//! The session with one peer: RFC 4271 §8 over up to two TCP connections
//! (§6.8 collision detection keeps both until one wins).
//!
//! The machine is driven from outside, the way quinn-proto is: the driver
//! passes [`Input`]s with the current time to [`Session::handle`], calls
//! [`Session::handle_timeout`] when [`Session::poll_timeout`] says so, and
//! carries out every [`Output`] from [`Session::poll_output`]. The machine
//! never reads a clock, opens a socket or sleeps.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ribbit_wire::message::{MessageType, MAX_MESSAGE_LEN};
use ribbit_wire::notification::{code, subcode};
use ribbit_wire::{
    Capability, DecodeContext, DecodeError, EncodeContext, Message, Notification, Open,
    RouteRefresh, Update,
};

use crate::negotiate::{negotiate, LocalSettings, Negotiated};

/// Identifies one TCP connection; chosen by the driver, unique per session.
pub type ConnId = u64;

/// The session states of RFC 4271 §8.2.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum State {
    /// Not started, stopped, or waiting before an automatic restart.
    Idle,
    /// Trying to open a TCP connection.
    Connect,
    /// Waiting for the peer to connect (and to retry).
    Active,
    /// OPEN sent, waiting for the peer's.
    OpenSent,
    /// OPENs exchanged, waiting for the KEEPALIVE that confirms.
    OpenConfirm,
    /// Exchanging UPDATEs.
    Established,
}

impl State {
    /// The name as RFC 4271 writes it.
    pub fn name(self) -> &'static str {
        match self {
            State::Idle => "Idle",
            State::Connect => "Connect",
            State::Active => "Active",
            State::OpenSent => "OpenSent",
            State::OpenConfirm => "OpenConfirm",
            State::Established => "Established",
        }
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Who opened a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// We connected to the peer.
    Outbound,
    /// The peer connected to us.
    Inbound,
}

/// Timing and behaviour of a session (RFC 4271 §8.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// What we offer in our OPEN and require of the peer's.
    pub local: LocalSettings,
    /// Never connect out; wait for the peer (RFC 4271 §8.1.1 PassiveTcpEstablishment).
    pub passive: bool,
    /// Base of the connect-retry back-off (RFC 4271 §10 suggests 120 s).
    pub connect_retry: Duration,
    /// Cap of the back-off between attempts.
    pub max_backoff: Duration,
    /// Wait this long for the peer's OPEN before sending ours (§8.1.1 DelayOpen).
    pub delay_open: Option<Duration>,
    /// Hold time while waiting for the peer's OPEN (§8.2.2: "large", 4 minutes suggested).
    pub open_hold: Duration,
    /// Close when our output has not drained for this long (RFC 9687). `None`
    /// means the RFC's default: the larger of 8 minutes and twice the hold time.
    pub send_hold: Option<Duration>,
}

impl SessionConfig {
    /// A configuration with the RFC's suggested timers and a 30 s retry base.
    pub fn new(local: LocalSettings) -> Self {
        SessionConfig {
            local,
            passive: false,
            connect_retry: Duration::from_secs(30),
            max_backoff: Duration::from_secs(300),
            delay_open: None,
            open_hold: Duration::from_secs(240),
            send_hold: None,
        }
    }
}

/// Something that happened on the transport or that the operator asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input<'a> {
    /// Start the session (RFC 4271 events 1 and 5, by `passive`).
    Start,
    /// Stop the session, with an optional shutdown communication (RFC 9003).
    Stop(Option<&'a str>),
    /// Stop the session with this NOTIFICATION (a Cease of another subcode:
    /// maximum number of prefixes reached, RFC 4486 §4, administrative
    /// reset...). Like `Stop`, the session stays down until `Start`.
    Cease(&'a Notification),
    /// Our outbound connection is up (event 16).
    Connected(ConnId),
    /// Our outbound connection attempt failed (event 18).
    ConnectFailed,
    /// The peer connected to us (event 17).
    Accepted(ConnId),
    /// A connection was closed or failed (event 18).
    Closed(ConnId),
    /// One whole message received on a connection, header included.
    Message(ConnId, &'a [u8]),
    /// Everything queued on a connection was written (RFC 9687 send hold).
    Flushed(ConnId),
}

/// Why an established session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DownReason {
    /// We sent this NOTIFICATION.
    NotificationSent(Notification),
    /// The peer sent this NOTIFICATION.
    NotificationReceived(Notification),
    /// The TCP connection closed without a NOTIFICATION.
    ConnectionClosed,
    /// The operator stopped the session.
    Stopped,
}

impl std::fmt::Display for DownReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DownReason::NotificationSent(n) => write!(f, "NOTIFICATION sent: {n}"),
            DownReason::NotificationReceived(n) => write!(f, "NOTIFICATION received: {n}"),
            DownReason::ConnectionClosed => f.write_str("connection closed"),
            DownReason::Stopped => f.write_str("stopped"),
        }
    }
}

/// What the driver must do or may want to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Open a TCP connection to the peer (abandoning any attempt in progress).
    Connect,
    /// Write these bytes on the connection.
    Send(ConnId, Vec<u8>),
    /// Close the connection once what was sent on it is written.
    Close(ConnId),
    /// The session state changed.
    StateChanged {
        /// The old state.
        from: State,
        /// The new state.
        to: State,
    },
    /// The session is up on this connection; the driver takes the codec
    /// contexts from the negotiated settings.
    Established(ConnId, Box<Negotiated>),
    /// An UPDATE, decoded with the negotiated context. RFC 7606 findings are in
    /// [`Update::issues`]; a treat-as-withdraw UPDATE is delivered as such.
    /// Shared from the start: a driver hands it to its RIB and its event
    /// listeners without copying it again.
    Update(Arc<Update>),
    /// A ROUTE-REFRESH (RFC 2918, RFC 7313) for a negotiated family.
    RouteRefresh(RouteRefresh),
    /// We sent a NOTIFICATION.
    NotificationSent(Notification),
    /// The peer sent a NOTIFICATION.
    NotificationReceived(Notification),
    /// The established session went down.
    Down(DownReason),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ConnState {
    /// TCP is up and the DelayOpen timer runs.
    Delayed,
    OpenSent,
    OpenConfirm,
    Established,
}

#[derive(Debug)]
struct Connection {
    id: ConnId,
    direction: Direction,
    state: ConnState,
    negotiated: Option<Negotiated>,
    hold: Option<Instant>,
    keepalive: Option<Instant>,
    delay_open: Option<Instant>,
    send_hold: Option<Instant>,
}

/// One BGP session.
#[derive(Debug)]
pub struct Session {
    config: SessionConfig,
    local_open: Open,
    running: bool,
    connecting: bool,
    connect_retry: Option<Instant>,
    idle_until: Option<Instant>,
    failures: u32,
    established_at: Option<Instant>,
    conns: Vec<Connection>,
    reported: State,
    outputs: VecDeque<Output>,
    rng: u64,
    /// UPDATEs given back ([`Session::recycle`]) to decode the next ones
    /// into.
    spares: Vec<Arc<Update>>,
}

/// Spare UPDATEs a session keeps ([`Session::recycle`]): a few, since a
/// route server's hundreds of sessions each keep theirs.
pub const SPARE_UPDATES: usize = 8;

/// How long an established session must stay up before the back-off resets:
/// a peer that accepts and then drops us must not cause a reconnect storm.
const STABLE: Duration = Duration::from_secs(60);

const DEFAULT_CONTEXT: DecodeContext = DecodeContext {
    four_octet_as: true,
    add_path: ribbit_wire::FamilySet::EMPTY,
    extended_message: false,
};

impl Session {
    /// A session in Idle. `seed` feeds the back-off jitter (RFC 4271 §10).
    pub fn new(config: SessionConfig, seed: u64) -> Session {
        let local_open = config.local.open();
        Session {
            config,
            local_open,
            running: false,
            connecting: false,
            connect_retry: None,
            idle_until: None,
            failures: 0,
            established_at: None,
            conns: Vec::with_capacity(2),
            reported: State::Idle,
            outputs: VecDeque::new(),
            rng: seed | 1,
            spares: Vec::new(),
        }
    }

    /// Give back an UPDATE this session produced ([`Output::Update`]) once
    /// nobody else holds it: a later UPDATE is decoded into it, reusing its
    /// memory, where decoding afresh costs several allocations (and, once
    /// shared across threads, frees on another thread). Up to
    /// [`SPARE_UPDATES`] are kept; one still shared is not used.
    pub fn recycle(&mut self, update: Arc<Update>) {
        if self.spares.len() < SPARE_UPDATES {
            self.spares.push(update);
        }
    }

    /// How many more UPDATEs [`Session::recycle`] would keep now.
    pub fn spare_room(&self) -> usize {
        SPARE_UPDATES.saturating_sub(self.spares.len())
    }

    /// The configuration.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// Set or clear the Restart State (R) bit of our Graceful Restart
    /// capability (RFC 4724 §3) in the OPENs sent from now on: set while
    /// we restart and defer route selection, clear afterwards. Connections
    /// that already sent their OPEN keep what they sent. Nothing happens
    /// without the capability.
    pub fn set_restarting(&mut self, restarting: bool) {
        for c in &mut self.config.local.extra {
            if let Capability::GracefulRestart { restarting: r, .. } = c {
                *r = restarting;
            }
        }
        self.local_open = self.config.local.open();
    }

    /// The current state: that of the most advanced connection.
    pub fn state(&self) -> State {
        let best = self.conns.iter().map(|c| match c.state {
            ConnState::Established => State::Established,
            ConnState::OpenConfirm => State::OpenConfirm,
            ConnState::OpenSent => State::OpenSent,
            ConnState::Delayed => match c.direction {
                Direction::Outbound => State::Connect,
                Direction::Inbound => State::Active,
            },
        });
        if let Some(s) = best.max() {
            return s;
        }
        if !self.running || self.idle_until.is_some() {
            State::Idle
        } else if self.connecting {
            State::Connect
        } else {
            State::Active
        }
    }

    /// What was negotiated, while established.
    pub fn negotiated(&self) -> Option<&Negotiated> {
        self.conns
            .iter()
            .find(|c| c.state == ConnState::Established)
            .and_then(|c| c.negotiated.as_ref())
    }

    /// The number of TCP connections the session holds (at most two).
    pub fn connections(&self) -> usize {
        self.conns.len()
    }

    /// The next thing for the driver to do.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When [`Session::handle_timeout`] must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let conn_timers = self
            .conns
            .iter()
            .flat_map(|c| [c.hold, c.keepalive, c.delay_open, c.send_hold]);
        [self.connect_retry, self.idle_until]
            .into_iter()
            .chain(conn_timers)
            .flatten()
            .min()
    }

    /// Handle one input.
    pub fn handle(&mut self, now: Instant, input: Input<'_>) {
        match input {
            Input::Start => self.start(now),
            Input::Stop(message) => self.stop(message),
            Input::Cease(n) => self.stop_with(n.clone()),
            // The driver owns connection ids; a duplicate one is its bug and is ignored.
            Input::Connected(id) | Input::Accepted(id) if self.index(id).is_some() => {}
            Input::Connected(id) => {
                if self.connecting && self.running && self.idle_until.is_none() && !self.busy() {
                    self.connecting = false;
                    self.connect_retry = None;
                    self.open_connection(now, id, Direction::Outbound);
                } else {
                    self.outputs.push_back(Output::Close(id));
                }
            }
            Input::ConnectFailed => {
                if self.connecting {
                    self.connecting = false;
                    // RFC 4271 §8.2.2 Connect, event 18: to Active, retry later.
                    self.failures = self.failures.saturating_add(1);
                    self.connect_retry = Some(now + self.backoff());
                }
            }
            Input::Accepted(id) => self.accept(now, id),
            Input::Closed(id) => {
                if let Some(i) = self.index(id) {
                    let conn = self.conns.remove(i);
                    self.connection_lost(now, conn, DownReason::ConnectionClosed);
                }
            }
            Input::Message(id, bytes) => self.message(now, id, bytes),
            Input::Flushed(id) => {
                if let Some(i) = self.index(id) {
                    if let Some(c) = self.conns.get_mut(i) {
                        c.send_hold = None;
                    }
                }
            }
        }
        self.report_state();
    }

    /// Fire every timer that is due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.idle_until.is_some_and(|t| t <= now) {
            self.idle_until = None;
            if self.running {
                self.begin(now);
            }
        }
        if self.connect_retry.is_some_and(|t| t <= now) {
            self.connect_retry = None;
            if self.connecting {
                // The attempt got no answer in time (a peer that drops our
                // SYNs): a failure like a refused one, so the wait grows.
                self.connecting = false;
                self.failures = self.failures.saturating_add(1);
            }
            // Connect or Active, ConnectRetryTimer_Expires (event 9): try again.
            if self.running && !self.config.passive && self.conns.is_empty() {
                self.connect(now);
            }
        }
        let due: Vec<(ConnId, Timer)> = self
            .conns
            .iter()
            .flat_map(|c| {
                [
                    (c.send_hold, Timer::SendHold),
                    (c.hold, Timer::Hold),
                    (c.delay_open, Timer::DelayOpen),
                    (c.keepalive, Timer::Keepalive),
                ]
                .into_iter()
                .filter(|(t, _)| t.is_some_and(|t| t <= now))
                .map(move |(_, timer)| (c.id, timer))
            })
            .collect();
        for (id, timer) in due {
            let Some(i) = self.index(id) else { continue };
            match timer {
                Timer::SendHold => {
                    // RFC 9687 §4: the peer does not read; close.
                    let n = Notification::new(code::SEND_HOLD_TIMER_EXPIRED, 0, Vec::new());
                    self.fail_connection(now, i, n);
                }
                Timer::Hold => {
                    let n = Notification::new(code::HOLD_TIMER_EXPIRED, 0, Vec::new());
                    self.fail_connection(now, i, n);
                }
                Timer::DelayOpen => {
                    if let Some(c) = self.conns.get_mut(i) {
                        c.delay_open = None;
                    }
                    self.send_open(now, i);
                }
                Timer::Keepalive => {
                    let interval = self
                        .conns
                        .get(i)
                        .and_then(|c| c.negotiated.as_ref())
                        .map(|n| n.keepalive);
                    self.send(now, i, &Message::Keepalive);
                    if let Some(c) = self.conns.get_mut(i) {
                        c.keepalive = interval.filter(|k| *k > 0).map(|k| now + secs(k));
                    }
                }
            }
        }
        self.report_state();
    }

    fn index(&self, id: ConnId) -> Option<usize> {
        self.conns.iter().position(|c| c.id == id)
    }

    fn report_state(&mut self) {
        let now_state = self.state();
        if now_state != self.reported {
            self.outputs.push_back(Output::StateChanged {
                from: self.reported,
                to: now_state,
            });
            self.reported = now_state;
        }
    }

    fn start(&mut self, now: Instant) {
        if self.running {
            return;
        }
        self.running = true;
        self.failures = 0;
        self.idle_until = None;
        self.begin(now);
    }

    /// Leave Idle: connect out, or wait for the peer.
    fn begin(&mut self, now: Instant) {
        if self.config.passive {
            self.connect_retry = None;
        } else {
            self.connect(now);
        }
    }

    fn connect(&mut self, now: Instant) {
        self.connecting = true;
        // The attempt itself is bounded by the retry timer (RFC 4271 §8.2.2).
        self.connect_retry = Some(now + self.backoff());
        self.outputs.push_back(Output::Connect);
    }

    /// The connect-retry interval: the base after the first failure, doubled
    /// for each further consecutive one up to the cap, times a jitter of
    /// 0.75 to 1 (RFC 4271 §10).
    fn backoff(&mut self) -> Duration {
        let base = self.config.connect_retry;
        let exponent = self.failures.saturating_sub(1).min(16);
        let doubled = base.saturating_mul(1u32.checked_shl(exponent).unwrap_or(u32::MAX));
        let capped = doubled.min(self.config.max_backoff.max(base));
        // xorshift64: deterministic per seed, good enough for jitter.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let jitter = 0.75 + 0.25 * ((self.rng >> 11) as f64 / (1u64 << 53) as f64);
        capped.mul_f64(jitter)
    }

    fn stop(&mut self, message: Option<&str>) {
        // RFC 8203 / RFC 9003: Cease / Administrative Shutdown, with the
        // operator's message when there is one.
        let n = match message {
            Some(text) => Notification::shutdown(subcode::ADMINISTRATIVE_SHUTDOWN, text),
            None => Notification::new(code::CEASE, subcode::ADMINISTRATIVE_SHUTDOWN, Vec::new()),
        };
        self.stop_with(n);
    }

    /// Event 2 (ManualStop) with the given NOTIFICATION.
    fn stop_with(&mut self, n: Notification) {
        if !self.running {
            return;
        }
        self.running = false;
        self.connecting = false;
        self.connect_retry = None;
        self.idle_until = None;
        let conns = std::mem::take(&mut self.conns);
        for c in conns {
            // Event 2 (ManualStop): a NOTIFICATION once an OPEN went out.
            if c.state != ConnState::Delayed {
                self.send_raw(
                    c.id,
                    Message::Notification(n.clone()).to_bytes(&EncodeContext::default()),
                );
                self.outputs.push_back(Output::NotificationSent(n.clone()));
            }
            self.outputs.push_back(Output::Close(c.id));
            if c.state == ConnState::Established {
                self.outputs.push_back(Output::Down(DownReason::Stopped));
            }
        }
    }

    fn accept(&mut self, now: Instant, id: ConnId) {
        let busy = self.busy();
        if !self.running || self.idle_until.is_some() || busy {
            // RFC 4271 §8.2.2 Idle refuses connections; with a session up or
            // two connections already, a third one is rejected (Cease 6/5).
            if busy {
                let n = Notification::new(code::CEASE, subcode::CONNECTION_REJECTED, Vec::new());
                self.send_raw(
                    id,
                    Message::Notification(n.clone()).to_bytes(&EncodeContext::default()),
                );
                self.outputs.push_back(Output::NotificationSent(n));
            }
            self.outputs.push_back(Output::Close(id));
            return;
        }
        self.open_connection(now, id, Direction::Inbound);
    }

    /// Whether a new connection must be turned away: two are held already
    /// (a collision in progress), or the session is up.
    fn busy(&self) -> bool {
        self.conns.len() >= 2 || self.conns.iter().any(|c| c.state == ConnState::Established)
    }

    fn open_connection(&mut self, now: Instant, id: ConnId, direction: Direction) {
        self.conns.push(Connection {
            id,
            direction,
            state: ConnState::Delayed,
            negotiated: None,
            hold: None,
            keepalive: None,
            delay_open: None,
            send_hold: None,
        });
        let i = self.conns.len().saturating_sub(1);
        match self.config.delay_open {
            Some(d) => {
                if let Some(c) = self.conns.get_mut(i) {
                    c.delay_open = Some(now + d);
                    c.hold = Some(now + self.config.open_hold);
                }
            }
            None => self.send_open(now, i),
        }
    }

    fn send_open(&mut self, now: Instant, i: usize) {
        let open = Message::Open(self.local_open.clone());
        self.send(now, i, &open);
        let hold = self.config.open_hold;
        if let Some(c) = self.conns.get_mut(i) {
            c.state = ConnState::OpenSent;
            c.hold = Some(now + hold);
        }
    }

    /// Queue a message on connection `i`, arming the send-hold timer.
    fn send(&mut self, now: Instant, i: usize, message: &Message) {
        let ctx = self
            .conns
            .get(i)
            .and_then(|c| c.negotiated.as_ref())
            .map(Negotiated::encode_context)
            .unwrap_or_default();
        let send_hold = self.send_hold_time(i);
        let Some(c) = self.conns.get_mut(i) else {
            return;
        };
        if c.send_hold.is_none() {
            c.send_hold = Some(now + send_hold);
        }
        let id = c.id;
        self.send_raw(id, message.to_bytes(&ctx));
    }

    fn send_raw(&mut self, id: ConnId, bytes: Vec<u8>) {
        self.outputs.push_back(Output::Send(id, bytes));
    }

    fn send_hold_time(&self, i: usize) -> Duration {
        self.config.send_hold.unwrap_or_else(|| {
            // RFC 9687 §3: max(8 minutes, 2 x hold time).
            let hold = self
                .conns
                .get(i)
                .and_then(|c| c.negotiated.as_ref())
                .map_or(self.config.local.hold_time, |n| n.hold_time);
            Duration::from_secs(480).max(secs(hold).saturating_mul(2))
        })
    }

    /// Send a NOTIFICATION on connection `i`, close it, and handle the loss.
    fn fail_connection(&mut self, now: Instant, i: usize, mut n: Notification) {
        if i >= self.conns.len() {
            return;
        }
        // The data (an offending attribute, say) may be longer than a message
        // the peer accepts: cut it to fit 4096 bytes, which every peer takes.
        n.data.truncate(MAX_MESSAGE_LEN.saturating_sub(21));
        let conn = self.conns.remove(i);
        self.send_raw(
            conn.id,
            Message::Notification(n.clone()).to_bytes(&EncodeContext::default()),
        );
        self.outputs.push_back(Output::NotificationSent(n.clone()));
        self.outputs.push_back(Output::Close(conn.id));
        self.connection_lost(now, conn, DownReason::NotificationSent(n));
    }

    /// A connection is gone (already removed from the table).
    fn connection_lost(&mut self, now: Instant, conn: Connection, reason: DownReason) {
        if conn.state == ConnState::Established {
            self.outputs.push_back(Output::Down(reason));
            let stable = self
                .established_at
                .is_some_and(|t| now.saturating_duration_since(t) >= STABLE);
            if stable {
                self.failures = 0;
            }
            self.established_at = None;
            // No UPDATE comes before the next session is up.
            self.spares = Vec::new();
        }
        if !self.conns.is_empty() || !self.running {
            // The other connection of a collision carries on.
            return;
        }
        // RFC 4271 §8.2.2: back to Idle; restart automatically after a
        // back-off that grows with each failure (§8.1.1 IdleHoldTimer).
        self.failures = self.failures.saturating_add(1);
        self.connecting = false;
        self.connect_retry = None;
        self.idle_until = Some(now + self.backoff());
    }

    /// An UPDATE's body, decoded into a spare UPDATE that nobody shares
    /// any more when there is one.
    fn decode_update(
        &mut self,
        body: &[u8],
        ctx: &DecodeContext,
    ) -> Result<Arc<Update>, DecodeError> {
        while let Some(mut spare) = self.spares.pop() {
            if let Some(u) = Arc::get_mut(&mut spare) {
                u.decode_into(body, ctx)?;
                return Ok(spare);
            }
        }
        Update::decode(body, ctx).map(Arc::new)
    }

    /// Every message from the peer shows it is alive (RFC 4271 §8.2.2:
    /// KEEPALIVE and UPDATE restart the hold timer; so does any other).
    fn alive(&mut self, now: Instant, i: usize) {
        if let Some(c) = self.conns.get_mut(i) {
            if let Some(n) = c.negotiated.as_ref() {
                c.hold = (n.hold_time > 0).then(|| now + secs(n.hold_time));
            }
        }
    }

    fn message(&mut self, now: Instant, id: ConnId, bytes: &[u8]) {
        let Some(i) = self.index(id) else { return };
        let Some(conn) = self.conns.get(i) else {
            return;
        };
        let ctx = conn
            .negotiated
            .as_ref()
            .map_or(DEFAULT_CONTEXT, Negotiated::decode_context);
        let state = conn.state;
        let (kind, body) = match Message::split(bytes, &ctx) {
            Ok(split) => split,
            Err(e) => return self.decode_failed(now, i, &e),
        };
        if kind == MessageType::Update && state == ConnState::Established {
            // The common case, shared as soon as it is decoded (into a
            // spare UPDATE when there is one).
            match self.decode_update(body, &ctx) {
                Ok(u) => {
                    self.alive(now, i);
                    self.outputs.push_back(Output::Update(u));
                }
                Err(e) => self.decode_failed(now, i, &e),
            }
            return;
        }
        let message = match Message::decode_body(kind, body, &ctx) {
            Ok(m) => m,
            Err(e) => return self.decode_failed(now, i, &e),
        };
        self.alive(now, i);
        match (state, message) {
            (_, Message::Notification(n)) => {
                self.outputs
                    .push_back(Output::NotificationReceived(n.clone()));
                let conn = self.conns.remove(i);
                self.outputs.push_back(Output::Close(conn.id));
                self.connection_lost(now, conn, DownReason::NotificationReceived(n));
            }
            (ConnState::Delayed | ConnState::OpenSent, Message::Open(open)) => {
                self.open_received(now, i, open)
            }
            (ConnState::OpenConfirm, Message::Keepalive) => self.establish(now, i),
            (ConnState::Established, Message::Keepalive) => {}
            // Taken before decoding (see above); here for the table of
            // states to be whole.
            (ConnState::Established, Message::Update(u)) => {
                self.outputs.push_back(Output::Update(Arc::new(u)))
            }
            (ConnState::Established, Message::RouteRefresh(rr)) => {
                let wanted = self
                    .conns
                    .get(i)
                    .and_then(|c| c.negotiated.as_ref())
                    .is_some_and(|n| n.route_refresh && n.families.contains(&rr.family));
                // RFC 7313 §5: a refresh for a family not negotiated is ignored.
                if wanted {
                    self.outputs.push_back(Output::RouteRefresh(rr));
                }
            }
            (state, _) => {
                // RFC 6608: the FSM error subcode names the state.
                let sub = match state {
                    ConnState::OpenSent => subcode::FSM_UNEXPECTED_IN_OPENSENT,
                    ConnState::OpenConfirm => subcode::FSM_UNEXPECTED_IN_OPENCONFIRM,
                    ConnState::Established => subcode::FSM_UNEXPECTED_IN_ESTABLISHED,
                    ConnState::Delayed => 0,
                };
                self.fail_connection(now, i, Notification::new(code::FSM, sub, Vec::new()));
            }
        }
    }

    fn decode_failed(&mut self, now: Instant, i: usize, e: &DecodeError) {
        if e.is_silent() {
            // RFC 4271 §6.4: never answer a NOTIFICATION with one.
            if i < self.conns.len() {
                let conn = self.conns.remove(i);
                self.outputs.push_back(Output::Close(conn.id));
                self.connection_lost(now, conn, DownReason::ConnectionClosed);
            }
            return;
        }
        self.fail_connection(now, i, e.notification());
    }

    fn open_received(&mut self, now: Instant, i: usize, open: Open) {
        let negotiated = match negotiate(&self.config.local, &self.local_open, &open) {
            Ok(n) => n,
            Err(n) => return self.fail_connection(now, i, n),
        };
        // DelayOpen running and the peer's OPEN arrived first (§8.2.2):
        // send ours now, then confirm.
        let delayed = self
            .conns
            .get(i)
            .is_some_and(|c| c.state == ConnState::Delayed);
        if delayed {
            if let Some(c) = self.conns.get_mut(i) {
                c.delay_open = None;
            }
            self.send_open(now, i);
        }
        let id = match self.conns.get(i) {
            Some(c) => c.id,
            None => return,
        };
        let peer_id = u32::from(open.router_id);
        let hold = negotiated.hold_time;
        let keepalive = negotiated.keepalive;
        if let Some(c) = self.conns.get_mut(i) {
            c.negotiated = Some(negotiated);
            c.state = ConnState::OpenConfirm;
            c.hold = (hold > 0).then(|| now + secs(hold));
            c.keepalive = (keepalive > 0).then(|| now + secs(keepalive));
        }
        // RFC 4271 §6.8: collision detection comes first. A connection that
        // loses it is closed with a Cease and must not send a KEEPALIVE: the
        // peer would take it as confirmation, establish on it and drop the
        // connection that won.
        self.resolve_collision(now, id, peer_id);
        if let Some(i) = self.index(id) {
            self.send(now, i, &Message::Keepalive);
        }
    }

    /// RFC 4271 §6.8: with two connections past OPEN, the one opened by the
    /// speaker with the higher BGP identifier survives.
    fn resolve_collision(&mut self, now: Instant, id: ConnId, peer_id: u32) {
        let confirmed: Vec<usize> = (0..self.conns.len())
            .filter(|&j| {
                self.conns
                    .get(j)
                    .is_some_and(|c| c.state == ConnState::OpenConfirm)
            })
            .collect();
        if confirmed.len() < 2
            && !self
                .conns
                .iter()
                .any(|c| c.state == ConnState::Established && c.id != id)
        {
            return;
        }
        let local_id = u32::from(self.config.local.router_id);
        let local_asn = self.config.local.asn;
        let peer_asn = self.config.local.peer_asn;
        // The loser is the connection opened by the speaker with the lower
        // identifier; with equal identifiers (possible between ASes), the
        // one with the lower AS number (RFC 6286 §2.3).
        let losing = if (local_id, local_asn) < (peer_id, peer_asn) {
            Direction::Outbound
        } else {
            Direction::Inbound
        };
        let established = self.conns.iter().any(|c| c.state == ConnState::Established);
        let loser = if established {
            self.index(id)
        } else {
            // Two connections of the same direction (a peer connecting
            // twice): the newer one goes.
            self.conns
                .iter()
                .position(|c| c.direction == losing)
                .or_else(|| self.index(id))
        };
        if let Some(j) = loser {
            let n = Notification::new(
                code::CEASE,
                subcode::CONNECTION_COLLISION_RESOLUTION,
                Vec::new(),
            );
            self.fail_connection(now, j, n);
        }
    }

    fn establish(&mut self, now: Instant, i: usize) {
        let Some(c) = self.conns.get_mut(i) else {
            return;
        };
        c.state = ConnState::Established;
        let Some(n) = c.negotiated.clone() else {
            return;
        };
        let id = c.id;
        self.established_at = Some(now);
        // The other connection of a collision loses (RFC 4271 §6.8).
        if let Some(j) = self.conns.iter().position(|c| c.id != id) {
            let n = Notification::new(
                code::CEASE,
                subcode::CONNECTION_COLLISION_RESOLUTION,
                Vec::new(),
            );
            self.fail_connection(now, j, n);
        }
        self.outputs.push_back(Output::Established(id, Box::new(n)));
    }
}

#[derive(Debug, Clone, Copy)]
enum Timer {
    SendHold,
    Hold,
    DelayOpen,
    Keepalive,
}

fn secs(s: u16) -> Duration {
    Duration::from_secs(u64::from(s))
}
