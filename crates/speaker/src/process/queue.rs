//! The lines waiting for a program to read them: one bounded queue per run
//! of the program, written to its standard input by a task of its own, so
//! that a program that stops reading holds up nothing but itself.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde::Serialize;
use tokio::io::{AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::sync::mpsc;

use crate::config::Overflow;

/// What happened to a program so far, kept across its restarts.
#[derive(Debug, Default)]
pub struct Counters {
    /// Times it was started.
    pub starts: AtomicU64,
    /// Times it exited (or could not be started).
    pub exits: AtomicU64,
    /// Lines it wrote (commands).
    pub commands: AtomicU64,
    /// Commands answered with `error`.
    pub errors: AtomicU64,
    /// Lines queued for it (events and replies).
    pub lines: AtomicU64,
    /// Events not queued because the queue was full (`on-overflow = "drop"`).
    pub events_dropped: AtomicU64,
    /// Events it missed by falling behind the speaker.
    pub events_missed: AtomicU64,
    /// Replies not queued because the queue was full (`on-overflow = "drop"`).
    pub replies_dropped: AtomicU64,
    /// Gap events sent (each followed by a re-sync).
    pub gaps: AtomicU64,
}

/// A snapshot of [`Counters`], as `show processes` and the library show it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct CounterValues {
    /// Times started.
    pub starts: u64,
    /// Times exited.
    pub exits: u64,
    /// Command lines read.
    pub commands: u64,
    /// Commands answered with `error`.
    pub errors: u64,
    /// Lines queued for the program.
    pub lines: u64,
    /// Events dropped because the queue was full.
    pub events_dropped: u64,
    /// Events missed by falling behind the speaker.
    pub events_missed: u64,
    /// Replies dropped because the queue was full.
    pub replies_dropped: u64,
    /// Gap events sent.
    pub gaps: u64,
}

impl Counters {
    /// The values now.
    pub fn values(&self) -> CounterValues {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        CounterValues {
            starts: g(&self.starts),
            exits: g(&self.exits),
            commands: g(&self.commands),
            errors: g(&self.errors),
            lines: g(&self.lines),
            events_dropped: g(&self.events_dropped),
            events_missed: g(&self.events_missed),
            replies_dropped: g(&self.replies_dropped),
            gaps: g(&self.gaps),
        }
    }
}

/// Add one to a counter.
pub fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// The program's input is gone (it exited or closed it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the program's input is closed")]
pub struct Closed;

/// The sending side of a program's queue.
#[derive(Debug, Clone)]
pub struct Outbox {
    tx: mpsc::Sender<String>,
    policy: Overflow,
    capacity: usize,
    counters: Arc<Counters>,
}

impl Outbox {
    /// A queue of `capacity` lines and the receiving end for the writer.
    pub fn new(
        capacity: usize,
        policy: Overflow,
        counters: Arc<Counters>,
    ) -> (Outbox, mpsc::Receiver<String>) {
        let capacity = capacity.max(1);
        let (tx, rx) = mpsc::channel(capacity);
        (
            Outbox {
                tx,
                policy,
                capacity,
                counters,
            },
            rx,
        )
    }

    /// Queue an event line. `Ok(false)`: dropped (queue full, `drop`
    /// policy); with `block` this waits for room.
    pub async fn event(&self, line: String) -> Result<bool, Closed> {
        let queued = self.put(line).await?;
        if !queued {
            bump(&self.counters.events_dropped);
        }
        Ok(queued)
    }

    /// Queue a reply line, as events are queued.
    pub async fn reply(&self, line: String) -> Result<bool, Closed> {
        let queued = self.put(line).await?;
        if !queued {
            bump(&self.counters.replies_dropped);
        }
        Ok(queued)
    }

    /// Queue a line whatever the policy, waiting for room (re-sync lines:
    /// dropping them would defeat their purpose).
    pub async fn wait_put(&self, line: String) -> Result<(), Closed> {
        self.tx.send(line).await.map_err(|_| Closed)?;
        bump(&self.counters.lines);
        Ok(())
    }

    /// Queue a line if there is room now, whatever the policy.
    pub fn try_put(&self, line: String) -> bool {
        let ok = self.tx.try_send(line).is_ok();
        if ok {
            bump(&self.counters.lines);
        }
        ok
    }

    async fn put(&self, line: String) -> Result<bool, Closed> {
        match self.policy {
            Overflow::Block => {
                self.wait_put(line).await?;
                Ok(true)
            }
            Overflow::Drop => match self.tx.try_send(line) {
                Ok(()) => {
                    bump(&self.counters.lines);
                    Ok(true)
                }
                Err(mpsc::error::TrySendError::Full(_)) => Ok(false),
                Err(mpsc::error::TrySendError::Closed(_)) => Err(Closed),
            },
        }
    }

    /// Lines waiting now.
    pub fn len(&self) -> usize {
        self.capacity.saturating_sub(self.tx.capacity())
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Room for this many more lines now.
    pub fn room(&self) -> usize {
        self.tx.capacity()
    }

    /// The queue's size.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Whether the writer is gone.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }

    /// The counters of the program.
    pub fn counters(&self) -> &Arc<Counters> {
        &self.counters
    }
}

/// Write the queued lines to `out` until the queue is closed and empty or
/// `out` fails; flush whenever the queue runs dry, so that a line never
/// waits in a buffer while the program waits for it.
pub async fn write_lines<W: AsyncWrite + Unpin>(mut rx: mpsc::Receiver<String>, out: W) {
    let mut w = BufWriter::with_capacity(64 * 1024, out);
    while let Some(line) = rx.recv().await {
        if write_one(&mut w, &line).await.is_err() {
            return;
        }
        // Whatever else is already queued goes in the same write.
        while let Ok(line) = rx.try_recv() {
            if write_one(&mut w, &line).await.is_err() {
                return;
            }
        }
        if w.flush().await.is_err() {
            return;
        }
    }
    let _ = w.shutdown().await;
}

async fn write_one<W: AsyncWrite + Unpin>(w: &mut BufWriter<W>, line: &str) -> std::io::Result<()> {
    w.write_all(line.as_bytes()).await?;
    w.write_all(b"\n").await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn drop_policy_counts_and_block_waits() {
        let counters = Arc::new(Counters::default());
        let (out, mut rx) = Outbox::new(2, Overflow::Drop, Arc::clone(&counters));
        assert!(out.event("a".into()).await.unwrap());
        assert!(out.reply("b".into()).await.unwrap());
        assert!(!out.event("c".into()).await.unwrap());
        assert!(!out.reply("d".into()).await.unwrap());
        assert_eq!(out.len(), 2);
        let v = counters.values();
        assert_eq!((v.lines, v.events_dropped, v.replies_dropped), (2, 1, 1));
        assert_eq!(rx.recv().await.as_deref(), Some("a"));

        let (out, mut rx) = Outbox::new(1, Overflow::Block, Arc::new(Counters::default()));
        out.event("x".into()).await.unwrap();
        let o2 = out.clone();
        let blocked = tokio::spawn(async move { o2.event("y".into()).await });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!blocked.is_finished(), "a full queue must make block wait");
        assert_eq!(rx.recv().await.as_deref(), Some("x"));
        assert!(blocked.await.unwrap().unwrap());
        drop(rx);
        assert_eq!(out.event("z".into()).await, Err(Closed));
    }

    #[tokio::test]
    async fn writer_writes_lines() {
        let (out, rx) = Outbox::new(8, Overflow::Block, Arc::new(Counters::default()));
        out.event("one".into()).await.unwrap();
        out.reply("two".into()).await.unwrap();
        drop(out);
        let mut buf = Vec::new();
        write_lines(rx, &mut buf).await;
        assert_eq!(buf, b"one\ntwo\n");
    }
}
