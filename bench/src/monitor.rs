//! The receiving peer: counts the distinct prefixes it holds (announce and
//! withdraw aware) and notes when it first held the expected number, and
//! when the last UPDATE arrived.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Instant;

use ipnet::IpNet;
use ribbit_wire::attribute::Community;
use ribbit_wire::{Message, MpNlri, NlriList, Update};

use crate::session::Session;

/// What the monitor has seen so far, shared with the driver.
#[derive(Debug, Default)]
pub struct Progress {
    /// Distinct prefixes held now.
    pub held: AtomicUsize,
    /// UPDATEs received.
    pub updates: AtomicU64,
    /// When `held` first reached the expected count.
    pub complete_at: Mutex<Option<Instant>>,
    /// When the last UPDATE arrived.
    pub last_update_at: Mutex<Option<Instant>>,
    /// Why the session ended, if it did.
    pub ended: Mutex<Option<String>>,
    /// Churn: when the monitor first held every prefix with every watched
    /// prefix in its re-announced version.
    pub consistent_at: Mutex<Option<Instant>>,
    /// Churn: the fewest prefixes held after the table was complete.
    pub dipped_to: AtomicUsize,
}

/// Prefixes whose re-announcement the monitor waits for (churn), and the
/// community that marks the new version.
#[derive(Debug, Clone)]
pub struct Watch {
    /// The prefixes.
    pub prefixes: HashSet<u128>,
    /// The mark.
    pub mark: Community,
}

impl Watch {
    /// Watch `prefixes` for routes carrying `mark`.
    pub fn new(prefixes: &[IpNet], mark: Community) -> Watch {
        Watch {
            prefixes: prefixes.iter().map(key).collect(),
            mark,
        }
    }
}

/// The monitor's key of a prefix.
pub fn key(prefix: &IpNet) -> u128 {
    match prefix {
        IpNet::V4(p) => u128::from(u32::from(p.network())) << 8 | u128::from(p.prefix_len()),
        // IPv6 keys cannot collide with IPv4 ones: bit 127 of a /0..128 v6 key set apart.
        IpNet::V6(p) => {
            (u128::from(p.network()) >> 8 << 8 | u128::from(p.prefix_len())) ^ (1 << 127)
        }
    }
}

/// Count what arrives on `session` on a thread of its own until the session
/// ends; `expected` is the number of prefixes that makes the table complete.
pub fn spawn(
    mut session: Session,
    expected: usize,
    watch: Option<Watch>,
) -> (Arc<Progress>, thread::JoinHandle<()>) {
    let progress = Arc::new(Progress::default());
    progress.dipped_to.store(usize::MAX, Ordering::Relaxed);
    let p = progress.clone();
    let handle = thread::spawn(move || {
        let mut held: HashSet<u128> = HashSet::with_capacity(expected + expected / 8);
        // Watched prefixes held in their new version.
        let mut fresh: HashSet<u128> = HashSet::new();
        let mut complete = false;
        let mut update = Update::default();
        let ctx = session.decode;
        let end = loop {
            let m = match session.reader.next_message() {
                Ok(Some(m)) => m,
                Ok(None) => break "closed by the peer".to_string(),
                Err(e) => break e.to_string(),
            };
            // UPDATE is type 2 (byte 18): decode it into a reused value;
            // everything else through the general decoder.
            if m.get(18) == Some(&2) {
                if let Err(e) = update.decode_into(&m[19..], &ctx) {
                    break format!("bad UPDATE: {e}");
                }
                let now = Instant::now();
                let mut gone = |k: u128| {
                    held.remove(&k);
                    fresh.remove(&k);
                };
                for n in &update.withdrawn {
                    gone(key(&n.prefix));
                }
                if let Some(u) = &update.mp_unreach {
                    if let MpNlri::Decoded(NlriList::Prefixes(v)) = &u.nlri {
                        for n in v {
                            gone(key(&n.prefix));
                        }
                    }
                }
                let withdraw = update.treat_as_withdraw();
                let marked = watch
                    .as_ref()
                    .is_some_and(|w| update.attributes.communities.contains(&w.mark));
                let announced = update.announced.iter().chain(
                    update
                        .mp_reach
                        .as_ref()
                        .and_then(|r| match &r.nlri {
                            MpNlri::Decoded(NlriList::Prefixes(v)) => Some(v.iter()),
                            _ => None,
                        })
                        .into_iter()
                        .flatten(),
                );
                for n in announced {
                    let k = key(&n.prefix);
                    if withdraw {
                        held.remove(&k);
                        fresh.remove(&k);
                        continue;
                    }
                    held.insert(k);
                    if let Some(w) = &watch {
                        if marked && w.prefixes.contains(&k) {
                            fresh.insert(k);
                        } else {
                            fresh.remove(&k);
                        }
                    }
                }
                p.held.store(held.len(), Ordering::Relaxed);
                p.updates.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut l) = p.last_update_at.lock() {
                    *l = Some(now);
                }
                if held.len() >= expected {
                    complete = true;
                    if let Ok(mut c) = p.complete_at.lock() {
                        c.get_or_insert(now);
                    }
                }
                if complete {
                    p.dipped_to.fetch_min(held.len(), Ordering::Relaxed);
                }
                if let Some(w) = &watch {
                    if held.len() >= expected
                        && !w.prefixes.is_empty()
                        && fresh.len() == w.prefixes.len()
                    {
                        if let Ok(mut c) = p.consistent_at.lock() {
                            c.get_or_insert(now);
                        }
                    }
                }
            } else if let Ok(Message::Notification(n)) = Message::decode(m, &ctx) {
                break format!("NOTIFICATION {n:?}");
            }
        };
        if let Ok(mut e) = p.ended.lock() {
            *e = Some(end);
        }
    });
    (progress, handle)
}
