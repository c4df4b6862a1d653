//! The BMP client (RFC 7854, RFC 8671, RFC 9069): the speaker reports its
//! sessions and routes to every `[[bmp]]` collector.
//!
//! One task per collector. It connects (actively, over TCP), sends the
//! Initiation, then for each established session a Peer Up and the views
//! of its routes the collector asked for, each followed by End-of-RIB per
//! family, and the Loc-RIB (peer type 3) when asked. From then on it
//! follows the sessions through a lossy tap ([`crate::tap`]): every UPDATE
//! received goes out as pre-policy Route Monitoring, every UPDATE sent as
//! Adj-RIB-Out Route Monitoring, ups and downs as Peer Up and Peer Down;
//! Statistics Reports go out on the interval, a Termination when the
//! speaker stops.
//!
//! The client never slows routing: the tap drops records when the
//! collector (or the client writing to it) falls behind. When that
//! happens, the collector session is reset and everything is sent again
//! from the RIB (RFC 7854 §3.3 lets the monitored router close the session
//! at any time; the collector starts over with the next). Memory per
//! collector is bounded by the tap's `queue` records and one write buffer.
//!
//! Post-policy Adj-RIB-In and Loc-RIB are sent from the RIB when the
//! collector session starts (and at each resync), then followed through
//! the RIB task's change feed ([`RibChange`]): after each UPDATE, the
//! neighbor's path and the best path of every NLRI it carried; after a
//! neighbor's paths go (session down, stale paths purged), the best paths
//! of what it held.

mod encode;

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use ribbit_bmp::{info, stat, termination, Message, Stat, StatValue, Tlv};
use ribbit_rib::{RibStats, RouteView};
use ribbit_wire::{EncodeContext, Family, NlriList};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tracing::{info, warn};

pub use encode::{Local, View};

use crate::api::metrics::{Exposition, Kind, MetricsSource};
use crate::config::BmpConfig;
use crate::rib_task::{Observer, RibChange, RibControl, RibQuery, RouteSource};
use crate::tap::{TapMode, TapReceiver, TapRecord, TapSession, Taps};

/// How long a connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one write may wait for the collector to read: past it, the
/// collector is considered stuck and the session reset.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// Bytes gathered before they are written.
const WRITE_CHUNK: usize = 64 * 1024;
/// Routes a dump asks the RIB for at a time.
const DUMP_PAGE: usize = 1000;
/// A collector session that lasted this long resets the back-off.
const STABLE: Duration = Duration::from_secs(60);
/// How long [`Clients::stop`] waits for each collector's Termination.
const STOP_WAIT: Duration = Duration::from_secs(2);

/// What is known of one collector, for logs and metrics.
#[derive(Debug)]
pub struct CollectorStatus {
    /// The collector.
    pub collector: SocketAddr,
    /// Whether a session with it is up (Initiation sent).
    pub up: AtomicBool,
    /// Tap records dropped because it was behind (each time, the session
    /// was reset and resynchronised).
    pub dropped: AtomicU64,
    /// Sessions started with it (the first, and each reconnect or resync).
    pub sessions: AtomicU64,
    /// Route Monitoring messages sent to it.
    pub route_monitoring: AtomicU64,
}

/// The running BMP clients of a speaker.
#[derive(Debug, Default)]
pub struct Clients {
    stop: Option<watch::Sender<bool>>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    status: Vec<Arc<CollectorStatus>>,
}

impl Clients {
    /// Start one client per collector; they follow the sessions through
    /// `taps` and read the routes through the RIB task's `rib` channel.
    pub fn start(
        configs: &[BmpConfig],
        local: &Local,
        taps: &Arc<Taps>,
        rib: &mpsc::UnboundedSender<RibControl>,
    ) -> Clients {
        if configs.is_empty() {
            return Clients::default();
        }
        let (stop, stopped) = watch::channel(false);
        let mut tasks = Vec::new();
        let mut status = Vec::new();
        for c in configs {
            let s = Arc::new(CollectorStatus {
                collector: c.collector,
                up: AtomicBool::new(false),
                dropped: AtomicU64::new(0),
                sessions: AtomicU64::new(0),
                route_monitoring: AtomicU64::new(0),
            });
            let feed_dropped = Arc::new(AtomicU64::new(0));
            let feed = (c.monitoring.post_policy || c.monitoring.loc_rib).then(|| {
                let (tx, rx) = mpsc::channel(c.queue);
                let _ = rib.send(RibControl::Observe(Observer {
                    tx,
                    dropped: Arc::clone(&feed_dropped),
                    post_policy: c.monitoring.post_policy,
                    loc_rib: c.monitoring.loc_rib,
                }));
                rx
            });
            let client = Client {
                feed,
                feed_dropped,
                loc_rib_up: false,
                config: c.clone(),
                local: local.clone(),
                rx: taps.open(TapMode::Lossy, c.queue, c.monitoring.adj_rib_out),
                taps: Arc::clone(taps),
                rib: rib.clone(),
                stopped: stopped.clone(),
                status: Arc::clone(&s),
                announced: HashMap::new(),
                out: Vec::new(),
            };
            let span = tracing::info_span!("bmp", collector = %c.collector);
            tasks.push(tokio::spawn(tracing::Instrument::instrument(
                client.run(),
                span,
            )));
            status.push(s);
        }
        Clients {
            stop: Some(stop),
            tasks: Mutex::new(tasks),
            status,
        }
    }

    /// Each collector's status.
    pub fn status(&self) -> &[Arc<CollectorStatus>] {
        &self.status
    }

    /// The collectors' metrics, for the HTTP API's `/metrics`.
    pub fn metrics(&self) -> Arc<Metrics> {
        Arc::new(Metrics(self.status.clone()))
    }

    /// Send each collector what is left (the Peer Downs of the sessions
    /// that just ended) and a Termination, and close; bounded by a couple
    /// of seconds per collector.
    pub async fn stop(&self) {
        if let Some(stop) = &self.stop {
            stop.send_replace(true);
        }
        let tasks: Vec<JoinHandle<()>> = self
            .tasks
            .lock()
            .map(|mut t| t.drain(..).collect())
            .unwrap_or_default();
        for t in tasks {
            let _ = tokio::time::timeout(STOP_WAIT, t).await;
        }
    }
}

/// Why a collector session ended.
#[derive(Debug)]
enum End {
    /// The speaker stops: Termination sent.
    Stopped,
    /// Start again (after the back-off): the connection failed, or records
    /// were dropped.
    Reset(String),
}

/// One collector.
struct Client {
    config: BmpConfig,
    local: Local,
    rx: TapReceiver,
    taps: Arc<Taps>,
    rib: mpsc::UnboundedSender<RibControl>,
    stopped: watch::Receiver<bool>,
    status: Arc<CollectorStatus>,
    /// Post-policy and Loc-RIB changes from the RIB, when the collector
    /// wants either.
    feed: Option<mpsc::Receiver<RibChange>>,
    /// Changes the RIB dropped because `feed` was full.
    feed_dropped: Arc<AtomicU64>,
    /// The sessions the collector was sent a Peer Up for, by neighbor.
    announced: HashMap<IpAddr, Arc<TapSession>>,
    /// Whether the collector was sent the Loc-RIB's Peer Up.
    loc_rib_up: bool,
    /// What is waiting to be written.
    out: Vec<u8>,
}

impl Client {
    async fn run(mut self) {
        let mut backoff = self.config.reconnect_backoff;
        loop {
            if *self.stopped.borrow() {
                return;
            }
            let connect =
                tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(self.config.collector));
            let stream = tokio::select! {
                r = connect => r,
                _ = self.stopped.changed() => return,
            };
            match stream {
                Ok(Ok(stream)) => {
                    let started = Instant::now();
                    let _ = stream.set_nodelay(true);
                    self.status.sessions.fetch_add(1, Ordering::Relaxed);
                    let end = self.session(stream).await;
                    self.status.up.store(false, Ordering::Relaxed);
                    self.announced.clear();
                    self.loc_rib_up = false;
                    self.out.clear();
                    match end {
                        End::Stopped => return,
                        End::Reset(why) => warn!(reason = %why, "collector session reset"),
                    }
                    if started.elapsed() >= STABLE {
                        backoff = self.config.reconnect_backoff;
                    }
                }
                Ok(Err(e)) => warn!(error = %e, "cannot connect to the collector"),
                Err(_) => warn!("connecting to the collector timed out"),
            }
            // Wait, throwing away what the taps report meanwhile: the next
            // session starts from the RIB.
            let wait = tokio::time::sleep(backoff);
            tokio::pin!(wait);
            loop {
                tokio::select! {
                    () = &mut wait => break,
                    _ = self.stopped.changed() => return,
                    r = self.rx.recv() => if r.is_none() { return },
                    Some(_) = next_change(&mut self.feed) => {}
                }
            }
            backoff = backoff
                .saturating_mul(2)
                .min(self.config.reconnect_backoff_max);
        }
    }

    /// One collector session, from Initiation to its end.
    async fn session(&mut self, mut stream: TcpStream) -> End {
        // What the taps and the RIB queued before now is covered by the
        // dump.
        while self.rx.try_recv().is_some() {}
        if let Some(f) = self.feed.as_mut() {
            while f.try_recv().is_ok() {}
        }
        let dropped_before = self.dropped();
        info!("collector connected");

        self.push(&Message::Initiation(vec![
            Tlv::string(info::SYS_DESCR, &self.config.sys_descr),
            Tlv::string(info::SYS_NAME, &self.config.sys_name),
        ]));
        if let Err(e) = self.initial(&mut stream).await {
            return e;
        }
        if let Err(e) = self.flush(&mut stream).await {
            return e;
        }
        self.status.up.store(true, Ordering::Relaxed);

        let mut stats = self
            .config
            .statistics_interval
            .map(|i| tokio::time::interval_at(tokio::time::Instant::now() + i, i));
        let mut scratch = [0u8; 512];
        loop {
            let tick = async {
                match stats.as_mut() {
                    Some(i) => i.tick().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                _ = self.stopped.changed() => {
                    // The Peer Downs of the sessions the speaker just
                    // stopped are queued: they go first.
                    while let Some(r) = self.rx.try_recv() {
                        self.record(r);
                    }
                    self.push(&Message::Termination(vec![Tlv {
                        kind: info::TERMINATION_REASON,
                        value: termination::ADMIN_CLOSE.to_be_bytes().to_vec(),
                    }]));
                    let _ = self.flush(&mut stream).await;
                    let _ = stream.shutdown().await;
                    info!("collector session terminated");
                    return End::Stopped;
                }
                r = stream.read(&mut scratch) => {
                    // A collector sends nothing (RFC 7854 §3.2); reading
                    // tells us when it closed.
                    match r {
                        Ok(0) => return End::Reset("the collector closed the connection".into()),
                        Ok(_) => {}
                        Err(e) => return End::Reset(format!("read: {e}")),
                    }
                }
                r = self.rx.recv() => {
                    let Some(r) = r else { return End::Stopped };
                    self.record(r);
                    // Take what else is queued before writing.
                    while self.out.len() < WRITE_CHUNK {
                        match self.rx.try_recv() {
                            Some(r) => self.record(r),
                            None => break,
                        }
                    }
                }
                Some(c) = next_change(&mut self.feed) => {
                    if let Err(e) = self.change(c) {
                        return e;
                    }
                }
                _ = tick => {
                    if let Err(e) = self.statistics().await {
                        return e;
                    }
                }
            }
            let dropped = self.dropped().saturating_sub(dropped_before);
            if dropped > 0 {
                self.status.dropped.fetch_add(dropped, Ordering::Relaxed);
                return End::Reset(format!(
                    "{dropped} record(s) dropped while the collector was behind: starting again"
                ));
            }
            if let Err(e) = self.flush(&mut stream).await {
                return e;
            }
        }
    }

    /// Records the taps and the RIB dropped for this collector so far.
    fn dropped(&self) -> u64 {
        self.rx
            .dropped()
            .saturating_add(self.feed_dropped.load(Ordering::Relaxed))
    }

    /// Peer Up and the routes of every established session, then the
    /// Loc-RIB.
    async fn initial(&mut self, stream: &mut TcpStream) -> Result<(), End> {
        let m = self.config.monitoring;
        for s in self.taps.established() {
            self.announce(&s);
            let families = s.negotiated.families.clone();
            let now = SystemTime::now();
            // The RIB keeps routes before import policy only with
            // `keep-adj-rib-in`; without, the list is empty and pre-policy
            // routes are those that arrive from now on.
            if m.pre_policy {
                let view = RouteSource::AdjRibIn {
                    peer: s.peer,
                    pre_policy: true,
                };
                let h = encode::peer_header(&s, View::PrePolicy, now);
                let ctx = encode::received_context(&s);
                self.dump(stream, view, &h, ctx, &families).await?;
            }
            if m.post_policy {
                let view = RouteSource::AdjRibIn {
                    peer: s.peer,
                    pre_policy: false,
                };
                let h = encode::peer_header(&s, View::PostPolicy, now);
                let ctx = encode::received_context(&s);
                self.dump(stream, view, &h, ctx, &families).await?;
            }
            if m.adj_rib_out {
                let view = RouteSource::AdjRibOut { peer: s.peer };
                let h = encode::peer_header(&s, View::AdjRibOut, now);
                let ctx = s.negotiated.encode_context();
                self.dump(stream, view, &h, ctx, &families).await?;
            }
            self.flush(stream).await?;
        }
        if m.loc_rib {
            // Peer Up names the families before any route comes: those
            // the tables hold, from the RIB's counters.
            let mut families: Vec<Family> = self
                .rib_stats()
                .await
                .map(|st| {
                    st.families
                        .iter()
                        .filter(|f| f.destinations > 0)
                        .map(|f| f.family)
                        .collect()
                })
                .unwrap_or_default();
            families.sort();
            families.dedup();
            if !families.contains(&Family::IPV4_UNICAST) {
                families.insert(0, Family::IPV4_UNICAST);
            }
            let now = SystemTime::now();
            self.push(&encode::loc_rib_up(&self.local, &families, now));
            self.loc_rib_up = true;
            let h = encode::loc_rib_header(&self.local, now);
            self.dump(
                stream,
                RouteSource::LocRib,
                &h,
                EncodeContext::default(),
                &families,
            )
            .await?;
        }
        Ok(())
    }

    /// A page of a view's routes in one family, and where the next starts.
    async fn routes(
        &self,
        view: RouteSource,
        family: Family,
        after: Option<NlriList>,
    ) -> Result<(Vec<RouteView>, Option<NlriList>), End> {
        let (reply, rx) = oneshot::channel();
        self.rib
            .send(RibControl::Query(RibQuery::Routes {
                view,
                family,
                after,
                limit: DUMP_PAGE,
                reply,
            }))
            .map_err(|_| End::Stopped)?;
        rx.await.map_err(|_| End::Stopped)
    }

    async fn rib_stats(&self) -> Option<RibStats> {
        let (reply, rx) = oneshot::channel();
        self.rib
            .send(RibControl::Query(RibQuery::Stats { reply }))
            .ok()?;
        rx.await.ok()
    }

    /// Route Monitoring for every route of a view, a page of the RIB at a
    /// time, each written before the next is asked for (the RIB task is
    /// held for a page, and the dump holds a page of memory), then
    /// End-of-RIB for `families` and the families the routes had.
    async fn dump(
        &mut self,
        stream: &mut TcpStream,
        view: RouteSource,
        header: &ribbit_bmp::PeerHeader,
        ctx: EncodeContext,
        families: &[Family],
    ) -> Result<(), End> {
        let mut all: BTreeSet<Family> = families.iter().copied().collect();
        for family in Family::known() {
            let mut after = None;
            loop {
                let (routes, next) = self.routes(view, family, after).await?;
                if !routes.is_empty() {
                    all.insert(family);
                }
                let n = encode::routes(&routes, header, ctx, &mut self.out);
                self.count(n);
                self.flush(stream).await?;
                match next {
                    Some(n) => after = Some(n),
                    None => break,
                }
            }
        }
        encode::end_of_rib(header, ctx, &all, &mut self.out);
        Ok(())
    }

    fn count(&self, n: usize) {
        self.status
            .route_monitoring
            .fetch_add(n as u64, Ordering::Relaxed);
    }

    /// A change the RIB reported: post-policy Route Monitoring of a
    /// neighbor the collector knows, or Loc-RIB Route Monitoring.
    fn change(&mut self, c: RibChange) -> Result<(), End> {
        let now = SystemTime::now();
        match c {
            RibChange::PostPolicy {
                peer,
                family,
                nlri,
                route,
            } => {
                let Some(s) = self.announced.get(&peer).cloned() else {
                    return Ok(());
                };
                let h = encode::peer_header(&s, View::PostPolicy, now);
                self.route(&h, encode::received_context(&s), family, &nlri, route);
            }
            RibChange::LocRib {
                family,
                nlri,
                route,
            } => {
                if self.loc_rib_up {
                    let h = encode::loc_rib_header(&self.local, now);
                    self.route(&h, EncodeContext::default(), family, &nlri, route);
                }
            }
            RibChange::Resync => {
                return Err(End::Reset(
                    "a neighbor's policies changed: sending everything again".into(),
                ))
            }
        }
        Ok(())
    }

    fn route(
        &mut self,
        header: &ribbit_bmp::PeerHeader,
        ctx: EncodeContext,
        family: Family,
        nlri: &ribbit_wire::NlriList,
        route: Option<RouteView>,
    ) {
        let n = match route {
            Some(r) => encode::routes(std::slice::from_ref(&r), header, ctx, &mut self.out),
            None => encode::withdraw(header, ctx, family, nlri, &mut self.out),
        };
        self.count(n);
    }

    /// A Peer Up for `s`, unless the collector has it.
    fn announce(&mut self, s: &Arc<TapSession>) {
        if self
            .announced
            .get(&s.peer)
            .is_some_and(|a| Arc::ptr_eq(a, s))
        {
            return;
        }
        self.push(&encode::peer_up(s));
        self.announced.insert(s.peer, Arc::clone(s));
    }

    /// Whether messages of `s` go to the collector: its Peer Up went out,
    /// or it is established and gets one now. Records of a session that
    /// ended before the collector heard of it are left out.
    fn follow(&mut self, s: &Arc<TapSession>) -> bool {
        if self
            .announced
            .get(&s.peer)
            .is_some_and(|a| Arc::ptr_eq(a, s))
        {
            return true;
        }
        if self.taps.is_established(s) {
            self.announce(s);
            return true;
        }
        false
    }

    /// One tap record, as BMP messages in the write buffer.
    fn record(&mut self, r: TapRecord) {
        let m = self.config.monitoring;
        match r {
            TapRecord::Up(s) => {
                if self.taps.is_established(&s) {
                    self.announce(&s);
                }
            }
            TapRecord::Received {
                session,
                at,
                message,
            } => {
                if m.pre_policy && encode::is_update(&message) && self.follow(&session) {
                    let h = encode::peer_header(&session, View::PrePolicy, at);
                    if h.route_monitoring(&message, &mut self.out).is_ok() {
                        self.status.route_monitoring.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            TapRecord::Sent {
                session,
                at,
                messages,
            } => {
                if !m.adj_rib_out || !self.follow(&session) {
                    return;
                }
                let h = encode::peer_header(&session, View::AdjRibOut, at);
                for u in encode::bgp_messages(&messages).filter(|u| encode::is_update(u)) {
                    if h.route_monitoring(u, &mut self.out).is_ok() {
                        self.status.route_monitoring.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            TapRecord::Down {
                session,
                at,
                reason,
            } => {
                let known = self
                    .announced
                    .get(&session.peer)
                    .is_some_and(|a| Arc::ptr_eq(a, &session));
                if known {
                    self.announced.remove(&session.peer);
                    self.push(&encode::peer_down(&session, &reason, at));
                }
            }
            TapRecord::State { .. } => {}
        }
    }

    /// A Statistics Report for each session the collector knows (RFC 7854
    /// §4.8), and one for the Loc-RIB when it is monitored. Only what the
    /// RIB counts exactly is reported: routes accepted (types 7 and 9,
    /// after import policy), routes advertised (RFC 8671 types 15 and 17)
    /// and the Loc-RIB's destinations (types 8 and 10).
    async fn statistics(&mut self) -> Result<(), End> {
        let Some(stats) = self.rib_stats().await else {
            return Err(End::Stopped);
        };
        let now = SystemTime::now();
        let sessions: Vec<Arc<TapSession>> = self.announced.values().cloned().collect();
        for s in sessions {
            let Some(p) = stats.peers.iter().find(|p| p.address == s.peer) else {
                continue;
            };
            let mut list = Vec::new();
            let (mut accepted, mut advertised) = (0u64, 0u64);
            for f in p.families.iter() {
                accepted = accepted.saturating_add(u64::from(f.accepted));
                advertised = advertised.saturating_add(u64::from(f.advertised));
            }
            list.push(gauge(stat::ADJ_RIB_IN, accepted));
            list.push(gauge(stat::ADJ_RIB_OUT_POST, advertised));
            for f in p.families.iter() {
                let Some(family) = f.family else { continue };
                list.push(family_gauge(
                    stat::ADJ_RIB_IN_PER_AFI_SAFI,
                    family,
                    u64::from(f.accepted),
                ));
                list.push(family_gauge(
                    stat::ADJ_RIB_OUT_POST_PER_AFI_SAFI,
                    family,
                    u64::from(f.advertised),
                ));
            }
            self.push(&Message::StatisticsReport {
                peer: encode::peer_header(&s, View::PrePolicy, now),
                stats: list,
            });
        }
        if self.config.monitoring.loc_rib {
            let total: usize = stats.families.iter().map(|f| f.destinations).sum();
            let mut list = vec![gauge(stat::LOC_RIB, total as u64)];
            for f in &stats.families {
                list.push(family_gauge(
                    stat::LOC_RIB_PER_AFI_SAFI,
                    f.family,
                    f.destinations as u64,
                ));
            }
            self.push(&Message::StatisticsReport {
                peer: encode::loc_rib_header(&self.local, now),
                stats: list,
            });
        }
        Ok(())
    }

    fn push(&mut self, m: &Message) {
        if let Err(e) = m.encode(&mut self.out) {
            warn!(error = %e, "BMP message not sent");
        }
    }

    /// Write what is buffered.
    async fn flush(&mut self, stream: &mut TcpStream) -> Result<(), End> {
        if self.out.is_empty() {
            return Ok(());
        }
        let r = tokio::time::timeout(WRITE_TIMEOUT, stream.write_all(&self.out)).await;
        self.out.clear();
        match r {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(End::Reset(format!("write: {e}"))),
            Err(_) => Err(End::Reset(format!(
                "the collector read nothing for {} s",
                WRITE_TIMEOUT.as_secs()
            ))),
        }
    }
}

/// A metric family: name, kind, help, and how to read it.
type MetricFamily = (
    &'static str,
    Kind,
    &'static str,
    fn(&CollectorStatus) -> u64,
);

/// The BMP collectors' metrics ([`MetricsSource`]): read from the
/// counters each client keeps, nothing computed at scrape time.
#[derive(Debug)]
pub struct Metrics(Vec<Arc<CollectorStatus>>);

impl MetricsSource for Metrics {
    fn collect(&self, out: &mut Exposition) {
        if self.0.is_empty() {
            return;
        }
        let names: Vec<String> = self.0.iter().map(|s| s.collector.to_string()).collect();
        let families: [MetricFamily; 4] = [
            (
                "ribbit_bmp_collector_up",
                Kind::Gauge,
                "Whether the BMP session with the collector is up (1) or not (0).",
                |s| u64::from(s.up.load(Ordering::Relaxed)),
            ),
            (
                "ribbit_bmp_dropped_total",
                Kind::Counter,
                "Records dropped because the collector was behind; each time the session was reset and resynchronised.",
                |s| s.dropped.load(Ordering::Relaxed),
            ),
            (
                "ribbit_bmp_sessions_total",
                Kind::Counter,
                "BMP sessions started with the collector (the first, reconnects and resyncs).",
                |s| s.sessions.load(Ordering::Relaxed),
            ),
            (
                "ribbit_bmp_route_monitoring_total",
                Kind::Counter,
                "Route Monitoring messages sent to the collector.",
                |s| s.route_monitoring.load(Ordering::Relaxed),
            ),
        ];
        for (name, kind, help, value) in families {
            let mut f = out.family(name, kind, help);
            for (s, collector) in self.0.iter().zip(&names) {
                f.sample(&[("collector", collector)], value(s));
            }
        }
    }
}

/// The next change of the RIB's feed; never, without one.
async fn next_change(feed: &mut Option<mpsc::Receiver<RibChange>>) -> Option<RibChange> {
    match feed {
        Some(f) => f.recv().await,
        None => std::future::pending().await,
    }
}

fn gauge(kind: u16, value: u64) -> Stat {
    Stat {
        kind,
        value: StatValue::Gauge(value),
    }
}

fn family_gauge(kind: u16, family: Family, value: u64) -> Stat {
    Stat {
        kind,
        value: StatValue::FamilyGauge {
            afi: family.afi.0,
            safi: family.safi.0,
            value,
        },
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("collector", &self.config.collector)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::net::Ipv4Addr;

    use bytes::Bytes;
    use ribbit_bmp::{decode, frame_len, PeerDownReason};
    use ribbit_fsm::{negotiate, LocalSettings};
    use tokio::net::TcpListener;

    /// An established session as the taps describe it.
    fn session() -> Arc<TapSession> {
        let local = LocalSettings {
            asn: 65000,
            peer_asn: 65001,
            router_id: Ipv4Addr::new(192, 0, 2, 1),
            hold_time: 90,
            families: vec![Family::IPV4_UNICAST],
            route_refresh: true,
            enhanced_route_refresh: false,
            extended_message: false,
            add_path: Vec::new(),
            extended_next_hop: Vec::new(),
            role: None,
            extra: Vec::new(),
        };
        let remote = LocalSettings {
            asn: 65001,
            peer_asn: 65000,
            router_id: Ipv4Addr::new(192, 0, 2, 2),
            ..local.clone()
        };
        let n = negotiate(&local, &local.open(), &remote.open()).unwrap();
        Arc::new(TapSession {
            peer: "127.0.10.22".parse().unwrap(),
            remote: Some("127.0.10.22:179".parse().unwrap()),
            local: Some("127.0.10.21:40000".parse().unwrap()),
            local_asn: 65000,
            peer_asn: 65001,
            peer_id: Ipv4Addr::new(192, 0, 2, 2),
            negotiated: Arc::new(n),
            up_at: SystemTime::now(),
        })
    }

    /// Hand a record to the recorders as a neighbor task does.
    fn emit(taps: &Taps, record: TapRecord) {
        taps.track(&record);
        for sink in taps.sinks() {
            if let Err(mpsc::error::TrySendError::Full(_)) = sink.tx.try_send(record.clone()) {
                sink.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Read `n` BMP messages, or fail after 5 s.
    async fn read(stream: &mut TcpStream, n: usize, buf: &mut Vec<u8>) -> Vec<Message> {
        let mut out = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), async {
            while out.len() < n {
                if let Some(len) = frame_len(buf).unwrap() {
                    if buf.len() >= len {
                        let (m, used) = decode(buf).unwrap();
                        buf.drain(..used);
                        out.push(m);
                        continue;
                    }
                }
                let mut chunk = [0u8; 4096];
                let got = stream.read(&mut chunk).await.unwrap();
                assert!(got > 0, "the client closed after {} message(s)", out.len());
                buf.extend_from_slice(&chunk[..got]);
            }
        })
        .await
        .expect("the client sent too few messages");
        out
    }

    /// A RIB that answers every query with empty tables.
    fn empty_rib() -> mpsc::UnboundedSender<RibControl> {
        let (tx, mut rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut observers = Vec::new();
            while let Some(c) = rx.recv().await {
                match c {
                    RibControl::Query(RibQuery::Routes { reply, .. }) => {
                        let _ = reply.send((Vec::new(), None));
                    }
                    RibControl::Query(RibQuery::Stats { reply }) => {
                        let _ = reply.send(RibStats {
                            families: Vec::new(),
                            attribute_sets: 0,
                            peers: Vec::new(),
                        });
                    }
                    RibControl::Observe(o) => observers.push(o),
                    _ => {}
                }
            }
        });
        tx
    }

    /// Records dropped by a lossy tap reset the collector session; the
    /// next one starts with the Initiation and the Peer Up of what is
    /// established, and the speaker's stop ends it with a Termination.
    #[tokio::test(flavor = "current_thread")]
    async fn dropped_records_start_the_collector_over() {
        let listener = TcpListener::bind("127.0.10.20:12020").await.unwrap();
        let mut config = BmpConfig::new(listener.local_addr().unwrap());
        config.queue = 16;
        config.statistics_interval = None;
        config.monitoring = crate::config::Monitoring {
            pre_policy: true,
            ..Default::default()
        };
        let taps = Arc::new(Taps::default());
        let local = Local {
            asn: 65000,
            router_id: Ipv4Addr::new(192, 0, 2, 1),
        };
        let clients = Clients::start(&[config], &local, &taps, &empty_rib());
        let s = session();
        emit(&taps, TapRecord::Up(Arc::clone(&s)));

        let (mut first, _) = listener.accept().await.unwrap();
        let mut buf = Vec::new();
        let m = read(&mut first, 3, &mut buf).await;
        assert!(matches!(&m[0], Message::Initiation(_)), "{m:?}");
        let Message::PeerUp(up) = &m[1] else {
            panic!("not a Peer Up: {:?}", m[1]);
        };
        assert_eq!(up.peer.address, s.peer);
        assert_eq!(up.peer.asn, 65001);
        assert_eq!(up.local_port, 40000);
        // The (empty) pre-policy dump's End-of-RIB: an empty UPDATE.
        assert!(
            matches!(&m[2], Message::RouteMonitoring { update, .. } if update.len() == 23),
            "{m:?}"
        );

        // An empty UPDATE, 100 times, faster than the client can take:
        // the tap holds 16.
        let update = ribbit_wire::Message::Update(ribbit_wire::Update::default())
            .to_bytes(&EncodeContext::default());
        for _ in 0..100 {
            emit(
                &taps,
                TapRecord::Received {
                    session: Arc::clone(&s),
                    at: SystemTime::now(),
                    message: Bytes::from(update.clone()),
                },
            );
        }
        // The first session ends without the records it lost...
        let mut rest = Vec::new();
        let closed = tokio::time::timeout(Duration::from_secs(5), first.read_to_end(&mut rest))
            .await
            .expect("the client did not close the first session");
        assert!(closed.is_ok());
        assert!(clients.status()[0].dropped.load(Ordering::Relaxed) >= 84);

        // ...and the next starts over.
        let (mut second, _) = tokio::time::timeout(Duration::from_secs(5), listener.accept())
            .await
            .expect("no reconnect")
            .unwrap();
        let mut buf = Vec::new();
        let m = read(&mut second, 3, &mut buf).await;
        assert!(matches!(&m[0], Message::Initiation(_)), "{m:?}");
        assert!(matches!(&m[1], Message::PeerUp(up) if up.peer.address == s.peer));
        assert!(matches!(&m[2], Message::RouteMonitoring { .. }), "{m:?}");
        assert_eq!(clients.status()[0].sessions.load(Ordering::Relaxed), 2);

        // A Peer Down, then the stop: Termination.
        emit(
            &taps,
            TapRecord::Down {
                session: Arc::clone(&s),
                at: SystemTime::now(),
                reason: ribbit_fsm::DownReason::ConnectionClosed,
            },
        );
        let stop = clients.stop();
        let read_all = read(&mut second, 2, &mut buf);
        let ((), m) = tokio::join!(stop, read_all);
        assert!(
            matches!(
                &m[0],
                Message::PeerDown {
                    reason: PeerDownReason::RemoteNoData,
                    ..
                }
            ),
            "{m:?}"
        );
        assert!(matches!(&m[1], Message::Termination(_)), "{m:?}");
    }

    #[test]
    fn metrics_name_each_collector() {
        let status = Arc::new(CollectorStatus {
            collector: "127.0.10.10:12010".parse().unwrap(),
            up: AtomicBool::new(true),
            dropped: AtomicU64::new(3),
            sessions: AtomicU64::new(2),
            route_monitoring: AtomicU64::new(40),
        });
        let mut out = Exposition::new();
        Metrics(vec![status]).collect(&mut out);
        let text = out.finish();
        for line in [
            "ribbit_bmp_collector_up{collector=\"127.0.10.10:12010\"} 1",
            "ribbit_bmp_dropped_total{collector=\"127.0.10.10:12010\"} 3",
            "ribbit_bmp_sessions_total{collector=\"127.0.10.10:12010\"} 2",
            "ribbit_bmp_route_monitoring_total{collector=\"127.0.10.10:12010\"} 40",
        ] {
            assert!(text.contains(line), "{line} missing from:\n{text}");
        }
    }
}
