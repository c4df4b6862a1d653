//! The lines waiting for a program to read them: one bounded queue per run
//! of the program, written to its standard input by a task of its own, so
//! that a program that stops reading holds up nothing but itself.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde::Serialize;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::Notify;

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

/// Event lines encoded straight into the buffer that is queued as a block
/// ([`Outbox::events`]): a burst of events costs no copy of its text and
/// one hand-over per block rather than a lock per line.
#[derive(Debug, Default)]
pub struct EventLines {
    /// The lines, each ended by `\n` (JSON text has no other).
    text: String,
    /// How many.
    lines: usize,
}

impl EventLines {
    /// Add the line `write` appends to the text it is given; it returns
    /// whether it wrote one (nothing is kept otherwise). Whether one was
    /// added.
    pub fn add(&mut self, write: impl FnOnce(&mut String) -> bool) -> bool {
        let start = self.text.len();
        if !write(&mut self.text) {
            self.text.truncate(start);
            return false;
        }
        self.text.push('\n');
        self.lines += 1;
        true
    }

    /// Lines held.
    pub fn len(&self) -> usize {
        self.lines
    }

    /// Whether no line is held.
    pub fn is_empty(&self) -> bool {
        self.lines == 0
    }

    /// Where the first `n` lines end in the text (1 ≤ `n` ≤ the lines
    /// held).
    fn end_of(&self, n: usize) -> usize {
        self.text
            .match_indices('\n')
            .nth(n.saturating_sub(1))
            .map_or(self.text.len(), |(i, _)| i + 1)
    }

    /// Whether they make a block: time to hand them over.
    pub fn is_full(&self) -> bool {
        self.text.len() >= BLOCK - BLOCK / 4
    }

    /// Forget the lines.
    fn clear(&mut self) {
        self.text.clear();
        self.lines = 0;
    }
}

/// The size of the blocks queued lines are kept in, and so of the writes
/// to the pipe: room in the queue is given back as each block is written,
/// not only once a large batch is.
const BLOCK: usize = 64 * 1024;

/// Written blocks kept to fill again (2 MiB): a burst's lines go into
/// memory already in use rather than into a buffer grown, copied and
/// faulted in page by page, and given back once written.
const SPARE_BLOCKS: usize = 32;

/// The queue shared by a program's [`Outbox`]es and its writer: text in
/// blocks rather than a line per slot, so that a burst of events costs one
/// hand-over and a few large writes instead of a wake-up and a small
/// write per line.
#[derive(Debug)]
struct Queue {
    pending: Mutex<Pending>,
    /// Wakes the writer: lines to write, or the last sender went.
    to_writer: Notify,
    /// Wakes senders waiting for room (or for the news that the writer went).
    room: Notify,
    capacity: usize,
}

/// Lines, each ended by `\n`, in one allocation of about [`BLOCK`] bytes
/// (a longer line has one of its own).
#[derive(Debug, Default)]
struct Block {
    /// The lines' text.
    text: Vec<u8>,
    /// How many lines it holds.
    lines: usize,
}

#[derive(Debug, Default)]
struct Pending {
    /// Lines not yet taken by the writer; the last block is being filled.
    blocks: VecDeque<Block>,
    /// Empty blocks to fill, at most [`SPARE_BLOCKS`].
    spare: Vec<Vec<u8>>,
    /// Lines queued and not yet written into the pipe (in `blocks`, or
    /// taken by the writer and being written): what the capacity bounds.
    lines: usize,
    /// Every outbox is gone: the writer ends once it has written the rest.
    senders_gone: bool,
    /// The writer is gone: nothing queued will be read.
    writer_gone: bool,
}

impl Pending {
    /// Append `line` and its end, in the last block if it fits there.
    fn append(&mut self, line: &str) {
        let need = line.len().saturating_add(1);
        let fits = self
            .blocks
            .back()
            .is_some_and(|b| b.text.capacity().saturating_sub(b.text.len()) >= need);
        if !fits {
            let mut text = self.spare.pop().unwrap_or_default();
            text.reserve_exact(BLOCK.max(need));
            self.blocks.push_back(Block { text, lines: 0 });
        }
        if let Some(b) = self.blocks.back_mut() {
            b.text.extend_from_slice(line.as_bytes());
            b.text.push(b'\n');
            b.lines += 1;
        }
    }

    /// Queue `text`, `lines` whole lines, as a block of its own (no copy);
    /// an empty buffer to fill next is given back in its place, a spare
    /// one when there is.
    fn append_block(&mut self, text: String, lines: usize) -> String {
        self.blocks.push_back(Block {
            text: text.into_bytes(),
            lines,
        });
        self.lines = self.lines.saturating_add(lines);
        match self.spare.pop() {
            // Spare blocks are kept empty: no text to check.
            Some(spare) => String::from_utf8(spare).unwrap_or_default(),
            None => String::with_capacity(BLOCK),
        }
    }

    /// A block written: its lines no longer count, its memory is kept to
    /// fill again while few are.
    fn written(&mut self, mut block: Block) {
        self.lines = self.lines.saturating_sub(block.lines);
        block.text.clear();
        if self.spare.len() < SPARE_BLOCKS && block.text.capacity() <= 2 * BLOCK {
            self.spare.push(block.text);
        }
    }
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        // Nothing panics while the lock is held; a poisoned lock still
        // holds consistent text and counts.
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Marks the senders gone when the last clone of an [`Outbox`] drops.
#[derive(Debug)]
struct Senders(Arc<Queue>);

impl Drop for Senders {
    fn drop(&mut self) {
        self.0.lock().senders_gone = true;
        self.0.to_writer.notify_one();
    }
}

/// The sending side of a program's queue.
///
/// Lines put with [`Outbox::events`] and [`Outbox::wait_put`] do not wake
/// the writer: [`Outbox::flush`] does (and so does a sender that has to
/// wait for room), so that a caller that queues a batch hands it over at
/// once. A writer still busy with earlier lines takes them along when it
/// next looks. Replies and [`Outbox::try_put`] lines wake it straight away.
#[derive(Debug, Clone)]
pub struct Outbox {
    /// The queue, shared by every clone: the last one gone ends the writer.
    senders: Arc<Senders>,
    policy: Overflow,
    counters: Arc<Counters>,
}

/// The writer's side of a program's queue ([`write_lines`]).
#[derive(Debug)]
pub struct Inbox {
    queue: Arc<Queue>,
}

impl Drop for Inbox {
    fn drop(&mut self) {
        self.queue.lock().writer_gone = true;
        self.queue.room.notify_waiters();
    }
}

impl Outbox {
    fn queue(&self) -> &Queue {
        &self.senders.0
    }

    /// A queue of `capacity` lines and the receiving end for the writer.
    pub fn new(capacity: usize, policy: Overflow, counters: Arc<Counters>) -> (Outbox, Inbox) {
        let queue = Arc::new(Queue {
            pending: Mutex::new(Pending::default()),
            to_writer: Notify::new(),
            room: Notify::new(),
            capacity: capacity.max(1),
        });
        (
            Outbox {
                senders: Arc::new(Senders(Arc::clone(&queue))),
                policy,
                counters,
            },
            Inbox { queue },
        )
    }

    /// Queue event lines, handed over by [`Outbox::flush`]; `lines` is
    /// left empty. Returns how many were dropped (queue full, `drop`
    /// policy: the last ones); with `block` this waits for room for all.
    pub async fn events(&self, lines: &mut EventLines) -> Result<u64, Closed> {
        loop {
            let queued = {
                let mut p = self.queue().lock();
                if p.writer_gone {
                    return Err(Closed);
                }
                let room = self.queue().capacity.saturating_sub(p.lines);
                let take = lines.len().min(room);
                if take == lines.len() && take > 0 {
                    let text = std::mem::take(&mut lines.text);
                    lines.text = p.append_block(text, take);
                    lines.lines = 0;
                } else if take > 0 {
                    // Part of them fit: the rest stays (its text moved to
                    // the front of a buffer of its own).
                    let rest = lines.text.split_off(lines.end_of(take));
                    let text = std::mem::replace(&mut lines.text, rest);
                    drop(p.append_block(text, take));
                    lines.lines -= take;
                }
                take
            };
            if queued > 0 {
                self.counters
                    .lines
                    .fetch_add(queued as u64, Ordering::Relaxed);
            }
            if lines.is_empty() {
                return Ok(0);
            }
            if self.policy == Overflow::Drop {
                let dropped = lines.len() as u64;
                self.counters
                    .events_dropped
                    .fetch_add(dropped, Ordering::Relaxed);
                lines.clear();
                return Ok(dropped);
            }
            let room = self.queue().room.notified();
            tokio::pin!(room);
            // Registered before looking again, so that room made in
            // between still wakes this sender.
            room.as_mut().enable();
            if self.queue().lock().lines < self.queue().capacity {
                continue;
            }
            // What is held must go out for room to come.
            self.flush();
            room.await;
        }
    }

    /// Queue a reply line, as events are queued, and hand it to the writer.
    pub async fn reply(&self, line: &str) -> Result<bool, Closed> {
        let queued = self.put(line).await?;
        self.flush();
        if !queued {
            bump(&self.counters.replies_dropped);
        }
        Ok(queued)
    }

    /// Queue a line whatever the policy, waiting for room (re-sync lines:
    /// dropping them would defeat their purpose); handed over by
    /// [`Outbox::flush`].
    pub async fn wait_put(&self, line: &str) -> Result<(), Closed> {
        loop {
            if self.push(line)? {
                return Ok(());
            }
            let room = self.queue().room.notified();
            tokio::pin!(room);
            // Registered before looking again, so that room made in
            // between still wakes this sender.
            room.as_mut().enable();
            if self.push(line)? {
                return Ok(());
            }
            // What is held must go out for room to come.
            self.flush();
            room.await;
        }
    }

    /// Queue a line if there is room now, whatever the policy, and hand it
    /// to the writer.
    pub fn try_put(&self, line: &str) -> bool {
        let ok = self.push(line) == Ok(true);
        self.flush();
        ok
    }

    /// Hand what is held to the writer.
    pub fn flush(&self) {
        self.queue().to_writer.notify_one();
    }

    async fn put(&self, line: &str) -> Result<bool, Closed> {
        match self.policy {
            Overflow::Block => {
                self.wait_put(line).await?;
                Ok(true)
            }
            Overflow::Drop => self.push(line),
        }
    }

    /// Append `line` if there is room.
    fn push(&self, line: &str) -> Result<bool, Closed> {
        let mut p = self.queue().lock();
        if p.writer_gone {
            return Err(Closed);
        }
        if p.lines >= self.queue().capacity {
            return Ok(false);
        }
        p.append(line);
        p.lines += 1;
        drop(p);
        bump(&self.counters.lines);
        Ok(true)
    }

    /// Lines waiting now (queued and not yet in the program's pipe).
    pub fn len(&self) -> usize {
        self.queue().lock().lines
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Room for this many more lines now.
    pub fn room(&self) -> usize {
        self.queue().capacity.saturating_sub(self.len())
    }

    /// The queue's size.
    pub fn capacity(&self) -> usize {
        self.queue().capacity
    }

    /// Whether the writer is gone.
    pub fn is_closed(&self) -> bool {
        self.queue().lock().writer_gone
    }

    /// The counters of the program.
    pub fn counters(&self) -> &Arc<Counters> {
        &self.counters
    }
}

/// Write the queued lines to `out` until every [`Outbox`] is gone and the
/// queue is empty, or `out` fails. Whatever is there when the writer looks
/// goes out in one batch, so that a line never waits in a buffer while the
/// program waits for it, and a burst goes out in large writes.
pub async fn write_lines<W: AsyncWrite + Unpin>(inbox: Inbox, mut out: W) {
    let queue = &inbox.queue;
    let mut batch = VecDeque::new();
    loop {
        let ended = {
            let mut p = queue.lock();
            std::mem::swap(&mut p.blocks, &mut batch);
            p.senders_gone
        };
        if batch.is_empty() {
            if ended {
                break;
            }
            queue.to_writer.notified().await;
            continue;
        }
        while let Some(block) = batch.pop_front() {
            if out.write_all(&block.text).await.is_err() {
                return;
            }
            queue.lock().written(block);
            queue.room.notify_waiters();
        }
        if out.flush().await.is_err() {
            return;
        }
    }
    let _ = out.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    /// One event line queued as the events task queues them: whether it
    /// was (not dropped).
    async fn event(out: &Outbox, line: &str) -> Result<bool, Closed> {
        let mut lines = EventLines::default();
        lines.add(|text| {
            text.push_str(line);
            true
        });
        Ok(out.events(&mut lines).await? == 0)
    }

    async fn read_exactly(r: &mut tokio::io::DuplexStream, n: usize) -> String {
        let mut buf = vec![0; n];
        r.read_exact(&mut buf).await.unwrap();
        String::from_utf8(buf).unwrap()
    }

    #[tokio::test]
    async fn drop_policy_counts_and_keeps_what_fits() {
        let counters = Arc::new(Counters::default());
        let (out, inbox) = Outbox::new(2, Overflow::Drop, Arc::clone(&counters));
        assert!(event(&out, "a").await.unwrap());
        assert!(out.reply("b").await.unwrap());
        assert!(!event(&out, "c").await.unwrap());
        assert!(!out.reply("d").await.unwrap());
        assert!(!out.try_put("e"));
        assert_eq!((out.len(), out.room()), (2, 0));
        let v = counters.values();
        assert_eq!((v.lines, v.events_dropped, v.replies_dropped), (2, 1, 1));
        let (w, mut r) = tokio::io::duplex(1024);
        let writer = tokio::spawn(write_lines(inbox, w));
        assert_eq!(read_exactly(&mut r, 4).await, "a\nb\n");
        drop(out);
        writer.await.unwrap();
        let mut rest = String::new();
        r.read_to_string(&mut rest).await.unwrap();
        assert_eq!(rest, "", "the writer ends with its senders");
    }

    #[tokio::test]
    async fn block_waits_for_room_and_a_closed_pipe_is_reported() {
        let (out, inbox) = Outbox::new(1, Overflow::Block, Arc::new(Counters::default()));
        event(&out, "x").await.unwrap();
        let o2 = out.clone();
        let blocked = tokio::spawn(async move { event(&o2, "y").await });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!blocked.is_finished(), "a full queue must make block wait");
        let (w, mut r) = tokio::io::duplex(1024);
        let writer = tokio::spawn(write_lines(inbox, w));
        // Waiting for room hands the held line to the writer.
        assert!(blocked.await.unwrap().unwrap());
        out.flush();
        assert_eq!(read_exactly(&mut r, 4).await, "x\ny\n");
        drop(r);
        assert!(out.reply("z").await.unwrap());
        writer.await.unwrap();
        assert!(out.is_closed());
        assert_eq!(event(&out, "w").await, Err(Closed));
        assert_eq!(out.wait_put("w").await, Err(Closed));
    }

    #[tokio::test]
    async fn events_are_held_until_flushed_and_replies_are_not() {
        let (out, inbox) = Outbox::new(8, Overflow::Block, Arc::new(Counters::default()));
        let (w, mut r) = tokio::io::duplex(1024);
        tokio::spawn(write_lines(inbox, w));
        // The writer has found the queue empty and waits.
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        event(&out, "one").await.unwrap();
        out.wait_put("two").await.unwrap();
        let mut buf = [0u8; 16];
        let early = tokio::time::timeout(std::time::Duration::from_millis(50), r.read(&mut buf));
        assert!(early.await.is_err(), "held lines must wait for flush");
        out.flush();
        assert_eq!(read_exactly(&mut r, 8).await, "one\ntwo\n");
        out.reply("three").await.unwrap();
        assert_eq!(read_exactly(&mut r, 6).await, "three\n");
    }

    fn event_lines(words: &[&str]) -> EventLines {
        let mut lines = EventLines::default();
        for w in words {
            assert!(lines.add(|out| {
                out.push_str(w);
                true
            }));
        }
        // A line its writer declines leaves nothing behind.
        assert!(!lines.add(|out| {
            out.push_str("half written");
            false
        }));
        lines
    }

    #[tokio::test]
    async fn event_lines_are_queued_whole_and_the_last_dropped_when_full() {
        let counters = Arc::new(Counters::default());
        let (out, inbox) = Outbox::new(3, Overflow::Drop, Arc::clone(&counters));
        let mut lines = event_lines(&["a", "b"]);
        assert_eq!(lines.len(), 2);
        assert_eq!(out.events(&mut lines).await, Ok(0));
        assert!(lines.is_empty());
        // One more fits: the last two of three are dropped.
        let mut lines = event_lines(&["c", "d", "e"]);
        assert_eq!(out.events(&mut lines).await, Ok(2));
        assert!(lines.is_empty());
        let v = counters.values();
        assert_eq!((v.lines, v.events_dropped), (3, 2));
        let (w, mut r) = tokio::io::duplex(1024);
        tokio::spawn(write_lines(inbox, w));
        drop(out);
        // Exactly the lines queued: nothing of the dropped ones follows.
        let mut all = String::new();
        r.read_to_string(&mut all).await.unwrap();
        assert_eq!(all, "a\nb\nc\n");
    }

    #[tokio::test]
    async fn event_lines_wait_for_room_with_block_and_keep_their_order() {
        let (out, inbox) = Outbox::new(2, Overflow::Block, Arc::new(Counters::default()));
        let o2 = out.clone();
        let sender = tokio::spawn(async move {
            let mut lines = event_lines(&["one", "two", "three", "four", "five"]);
            let dropped = o2.events(&mut lines).await;
            (dropped, lines.len())
        });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!sender.is_finished(), "a full queue must make block wait");
        assert_eq!(out.len(), 2);
        let (w, mut r) = tokio::io::duplex(1024);
        tokio::spawn(write_lines(inbox, w));
        // Waiting for room hands what is held to the writer, a part at a
        // time, in order.
        assert_eq!(sender.await.unwrap(), (Ok(0), 0));
        out.flush();
        assert_eq!(
            read_exactly(&mut r, 24).await,
            "one\ntwo\nthree\nfour\nfive\n"
        );
    }

    #[tokio::test]
    async fn room_comes_back_as_a_large_batch_is_written() {
        let lines = 2_000;
        let (out, inbox) = Outbox::new(lines, Overflow::Drop, Arc::new(Counters::default()));
        let line = "x".repeat(99);
        for _ in 0..lines {
            assert!(event(&out, &line).await.unwrap());
        }
        assert_eq!(out.room(), 0);
        // A pipe smaller than one block: the writer waits on the reader.
        let (w, mut r) = tokio::io::duplex(4096);
        tokio::spawn(write_lines(inbox, w));
        out.flush();
        let first = read_exactly(&mut r, 2 * BLOCK).await;
        // Whole lines, the last one cut where the read stopped.
        assert!(first.split('\n').all(|l| line.starts_with(l)));
        // The first block went into the pipe: its lines no longer count,
        // though the batch is not all written.
        let freed = out.room();
        let per_block = BLOCK / 100;
        assert!(
            freed >= per_block && freed % per_block == 0 && freed < lines,
            "room {freed}"
        );
        let rest = read_exactly(&mut r, lines * 100 - 2 * BLOCK).await;
        assert!(rest.ends_with('\n'));
        drop(out);
        let mut tail = Vec::new();
        r.read_to_end(&mut tail).await.unwrap();
        assert!(tail.is_empty());
    }
}
