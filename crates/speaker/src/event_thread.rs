//! Following the speaker's events on a thread of its own, in batches.
//!
//! Every subscriber of [`Speaker::subscribe`] keeps each event alive in the
//! speaker's buffer until it has read it: a subscriber that falls behind
//! during a burst of UPDATEs holds up to `event-buffer` decoded UPDATEs in
//! memory (tens of megabytes for a full table), and past that it misses
//! events. The subscribers inside Ribbit that must keep up whatever the
//! load (the API's neighbor tracker, the process API's forwarders) read on
//! a thread rather than a task: when the runtime's workers are busy with a
//! burst, the operating system still runs them within a few milliseconds.
//! They read in batches ([`Batches`]): one wake-up per batch rather than one
//! per event.
//!
//! [`Speaker::subscribe`]: crate::Speaker::subscribe

use std::future::Future;
use std::time::Duration;

use tokio::sync::broadcast::{
    self,
    error::{RecvError, TryRecvError},
};

use crate::peer::PeerEvent;

/// How long a reader pauses between batches during a burst of events: the
/// speaker's event buffer (65,536 events by default) lasts far longer even
/// at a full table's pace.
const BURST_PAUSE: Duration = Duration::from_millis(1);

/// Run `body` to its end on a new thread named `name`, with a small
/// runtime of its own (timers enabled).
pub fn spawn(
    name: String,
    body: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new().name(name).spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
        else {
            return;
        };
        rt.block_on(body);
    })
}

/// An event as the relays hand it on: the event, or how many were missed.
pub type Relayed = Result<PeerEvent, u64>;

/// Hand the events of `sub` that `keep` admits (and every report of missed
/// events) to a queue of `capacity`, on a thread named `name`, in batches:
/// a reader that encodes them (the slow part) falls behind in its own
/// queue, not in the speaker's buffer. The thread ends when the queue's
/// receiver is dropped or the speaker goes away. `Err`: the thread could
/// not start.
pub fn relay(
    name: String,
    sub: broadcast::Receiver<PeerEvent>,
    capacity: usize,
    keep: impl Fn(&PeerEvent) -> bool + Send + 'static,
) -> std::io::Result<tokio::sync::mpsc::Receiver<Relayed>> {
    let (fwd, rx) = tokio::sync::mpsc::channel::<Relayed>(capacity.max(1));
    spawn(name, async move {
        let mut batches = Batches::new(sub);
        let mut batch = Vec::new();
        loop {
            let open = tokio::select! {
                open = batches.next(&mut batch) => open,
                () = fwd.closed() => return,
            };
            for item in batch.drain(..) {
                let wanted = match &item {
                    Ok(e) => keep(e),
                    Err(_) => true,
                };
                if wanted && fwd.send(item).await.is_err() {
                    return;
                }
            }
            if !open {
                return;
            }
        }
    })?;
    Ok(rx)
}

/// A subscriber's events, taken in batches: the events that came, and
/// `Err(n)` where `n` events were missed.
#[derive(Debug)]
pub struct Batches {
    sub: broadcast::Receiver<PeerEvent>,
    /// The last batch held more than one event: pause before the next.
    burst: bool,
}

impl Batches {
    /// Batches of the events `sub` receives.
    pub fn new(sub: broadcast::Receiver<PeerEvent>) -> Batches {
        Batches { sub, burst: false }
    }

    /// Wait for the next event, then take every event already there into
    /// `out` (appended). False once the speaker is gone and `out` got
    /// nothing. Cancel-safe: an event is either in `out` or still waiting.
    pub async fn next(&mut self, out: &mut Vec<Relayed>) -> bool {
        if self.burst {
            // During a burst, what comes during a short pause is taken at
            // once; a quiet speaker's event is taken as soon as it comes.
            tokio::time::sleep(BURST_PAUSE).await;
        }
        let mut next = self.sub.recv().await;
        let start = out.len();
        loop {
            match next {
                Ok(e) => out.push(Ok(e)),
                Err(RecvError::Lagged(n)) => out.push(Err(n)),
                Err(RecvError::Closed) => break,
            }
            next = match self.sub.try_recv() {
                Ok(e) => Ok(e),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Lagged(n)) => Err(RecvError::Lagged(n)),
                Err(TryRecvError::Closed) => Err(RecvError::Closed),
            };
        }
        let taken = out.len() - start;
        self.burst = taken > 1;
        taken > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(n: u8) -> PeerEvent {
        PeerEvent::State {
            peer: std::net::IpAddr::from([127, 0, 0, n]),
            from: ribbit_fsm::State::Idle,
            to: ribbit_fsm::State::Connect,
        }
    }

    #[tokio::test]
    async fn batches_take_what_is_there_and_report_what_was_missed() {
        let (tx, rx) = broadcast::channel(4);
        let mut b = Batches::new(rx);
        let mut out = Vec::new();
        tx.send(state(1)).unwrap();
        assert!(b.next(&mut out).await);
        assert_eq!(out.len(), 1);
        out.clear();
        // Six events into a buffer of four: two missed, four taken.
        for n in 0..6 {
            tx.send(state(n)).unwrap();
        }
        assert!(b.next(&mut out).await);
        assert!(matches!(out[0], Err(2)), "{out:?}");
        assert_eq!(out.len(), 5);
        out.clear();
        drop(tx);
        assert!(!b.next(&mut out).await);
        assert!(out.is_empty());
    }
}
