//! Taps: what recorders see of the sessions.
//!
//! MRT dumps (RFC 6396) and BMP (RFC 7854) want the messages as they were
//! on the wire, with the session they belong to, and the sessions' ups and
//! downs with both OPENs. The event stream ([`crate::peer::PeerEvent`]) is
//! decoded and lossy by design (a slow subscriber misses events); a tap is
//! raw and says what happens when its recorder falls behind:
//!
//! - [`TapMode::Lossless`]: the neighbor task stops reading from the peer
//!   (and writing to it) until the recorder has room, as it does for the
//!   RIB. An MRT dump of updates loses nothing.
//! - [`TapMode::Lossy`]: the record is dropped and counted; the recorder
//!   sees the count and re-synchronises (a BMP session to a slow collector
//!   must never slow down routing).
//!
//! Every neighbor task holds the one [`Taps`] of the speaker, so a recorder
//! added at run time sees every session from then on.
//!
//! A lossy recorder that lost records starts again from what is established
//! now: [`Taps::established`] lists the sessions the taps saw come up and
//! not yet go down, whatever any recorder dropped (BMP resets its collector
//! and sends them all again, as RFC 7854 §3.3 allows).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::SystemTime;

use bytes::Bytes;
use ribbit_fsm::{DownReason, Negotiated, State};
use tokio::sync::mpsc;

/// How a tap copes with a recorder that falls behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TapMode {
    /// Hold the session back until the recorder has room.
    Lossless,
    /// Drop the record and count it in [`TapReceiver::dropped`].
    Lossy,
}

/// What the taps know of an established session; shared by every record of
/// that session.
#[derive(Debug)]
pub struct TapSession {
    /// The neighbor as configured.
    pub peer: IpAddr,
    /// The peer's end of the TCP connection.
    pub remote: Option<SocketAddr>,
    /// Our end of the TCP connection.
    pub local: Option<SocketAddr>,
    /// Our AS on this session.
    pub local_asn: u32,
    /// The peer's AS (from its OPEN, four-octet capability included).
    pub peer_asn: u32,
    /// The peer's BGP identifier.
    pub peer_id: Ipv4Addr,
    /// What the session negotiated, with both OPENs as exchanged.
    pub negotiated: Arc<Negotiated>,
    /// When the session came up.
    pub up_at: SystemTime,
}

/// One thing a tap reports.
#[derive(Debug, Clone)]
pub enum TapRecord {
    /// A session reached Established.
    Up(Arc<TapSession>),
    /// A message received on an established session: one whole message,
    /// header included.
    Received {
        /// The session.
        session: Arc<TapSession>,
        /// When it was read.
        at: SystemTime,
        /// The message.
        message: Bytes,
    },
    /// Messages sent on an established session (only to taps that asked
    /// for them): one or more whole messages, back to back.
    Sent {
        /// The session.
        session: Arc<TapSession>,
        /// When they were handed to the writer.
        at: SystemTime,
        /// The messages.
        messages: Bytes,
    },
    /// An established session ended.
    Down {
        /// The session.
        session: Arc<TapSession>,
        /// When.
        at: SystemTime,
        /// Why.
        reason: DownReason,
    },
    /// A state change of a neighbor's state machine (RFC 4271 §8.2.2).
    State {
        /// The neighbor as configured.
        peer: IpAddr,
        /// Our AS towards it.
        local_asn: u32,
        /// Its configured AS.
        peer_asn: u32,
        /// Our address, when a connection is up.
        local: Option<IpAddr>,
        /// The old state.
        from: State,
        /// The new state.
        to: State,
        /// When.
        at: SystemTime,
    },
}

/// A recorder's end of a tap.
#[derive(Debug)]
pub struct TapReceiver {
    rx: mpsc::Receiver<TapRecord>,
    dropped: Arc<AtomicU64>,
    taps: Arc<Taps>,
    id: u64,
}

impl TapReceiver {
    /// The next record; `None` once the speaker is gone.
    pub async fn recv(&mut self) -> Option<TapRecord> {
        self.rx.recv().await
    }

    /// The next record if one is waiting; `None` when none is (or the
    /// speaker is gone).
    pub fn try_recv(&mut self) -> Option<TapRecord> {
        self.rx.try_recv().ok()
    }

    /// Records dropped so far because this (lossy) recorder was behind.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl Drop for TapReceiver {
    fn drop(&mut self) {
        self.taps.remove(self.id);
    }
}

/// A recorder as the neighbor tasks see it.
#[derive(Debug, Clone)]
pub(crate) struct TapSink {
    pub(crate) id: u64,
    pub(crate) tx: mpsc::Sender<TapRecord>,
    pub(crate) mode: TapMode,
    pub(crate) wants_sent: bool,
    pub(crate) dropped: Arc<AtomicU64>,
}

/// The speaker's taps.
#[derive(Debug, Default)]
pub struct Taps {
    sinks: RwLock<Vec<TapSink>>,
    count: AtomicUsize,
    next_id: AtomicU64,
    /// The established sessions the taps know, by neighbor.
    established: RwLock<HashMap<IpAddr, Arc<TapSession>>>,
}

impl Taps {
    /// A new tap holding up to `capacity` records; `sent`: whether it also
    /// gets the messages we send.
    pub fn open(self: &Arc<Self>, mode: TapMode, capacity: usize, sent: bool) -> TapReceiver {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let dropped = Arc::new(AtomicU64::new(0));
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut sinks = self.sinks.write().unwrap_or_else(PoisonError::into_inner);
        sinks.push(TapSink {
            id,
            tx,
            mode,
            wants_sent: sent,
            dropped: Arc::clone(&dropped),
        });
        self.count.store(sinks.len(), Ordering::Release);
        TapReceiver {
            rx,
            dropped,
            taps: Arc::clone(self),
            id,
        }
    }

    fn remove(&self, id: u64) {
        let mut sinks = self.sinks.write().unwrap_or_else(PoisonError::into_inner);
        sinks.retain(|s| s.id != id);
        self.count.store(sinks.len(), Ordering::Release);
    }

    /// Whether any recorder listens (cheap: checked per message).
    pub(crate) fn active(&self) -> bool {
        self.count.load(Ordering::Acquire) > 0
    }

    /// Whether any recorder wants the messages we send.
    pub(crate) fn wants_sent(&self) -> bool {
        self.active()
            && self
                .sinks
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .iter()
                .any(|s| s.wants_sent)
    }

    /// Keep [`Taps::established`] up to date with a record about to be
    /// handed to the recorders (called for every record, before any
    /// recorder can drop it).
    pub(crate) fn track(&self, record: &TapRecord) {
        let mut established = self
            .established
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        match record {
            TapRecord::Up(s) => {
                established.insert(s.peer, Arc::clone(s));
            }
            TapRecord::Down { session, .. }
                if established
                    .get(&session.peer)
                    .is_some_and(|s| Arc::ptr_eq(s, session)) =>
            {
                established.remove(&session.peer);
            }
            _ => {}
        }
    }

    /// The sessions that came up while a recorder listened and have not
    /// gone down since, in no particular order.
    pub fn established(&self) -> Vec<Arc<TapSession>> {
        self.established
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }

    /// Whether `session` is one of [`Taps::established`] (the same session,
    /// not another one of the same neighbor).
    pub fn is_established(&self, session: &Arc<TapSession>) -> bool {
        self.established
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&session.peer)
            .is_some_and(|s| Arc::ptr_eq(s, session))
    }

    /// The recorders now.
    pub(crate) fn sinks(&self) -> Vec<TapSink> {
        self.sinks
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_dropped_receiver_leaves_the_taps() {
        let taps = Arc::new(Taps::default());
        assert!(!taps.active());
        let a = taps.open(TapMode::Lossless, 8, false);
        let b = taps.open(TapMode::Lossy, 8, true);
        assert!(taps.active());
        assert!(taps.wants_sent());
        drop(b);
        assert!(!taps.wants_sent());
        assert_eq!(taps.sinks().len(), 1);
        drop(a);
        assert!(!taps.active());
    }
}
