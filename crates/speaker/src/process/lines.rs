//! A program's output, cut into lines where it was read.
//!
//! A program that announces a table writes megabytes at once. The lines
//! are taken from the buffer they were read into (no copy per line), and
//! when none is left whole, more is read at once if the pipe holds some
//! ([`Lines::read_now`]): only when the program has written nothing more
//! does the reader hand over what it batched and wait, so a table goes to
//! the speaker in large batches however the pipe cut it.

use std::io;
use std::ops::Range;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use tokio::io::{AsyncRead, ReadBuf};

/// What is read from the pipe at a time, at least.
const READ_SIZE: usize = 256 * 1024;

/// The longest line taken: a longer one is skipped (and reported as
/// [`Next::TooLong`]) rather than held in memory whole. An `attributes
/// ... nlri` command with a hundred thousand prefixes is about 2 MB.
pub const MAX_LINE: usize = 16 << 20;

/// What the buffer holds next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// A whole line: its place in the buffer ([`Lines::get`]), without its
    /// `\n`.
    Whole(Range<usize>),
    /// A line longer than the limit, skipped; its length so far.
    TooLong(usize),
}

/// Lines read from `R`.
#[derive(Debug)]
pub struct Lines<R> {
    inner: R,
    buf: Vec<u8>,
    /// The unread part of `buf`.
    start: usize,
    end: usize,
    /// How much of the unread part holds no `\n`.
    scanned: usize,
    /// The longest line taken.
    max: usize,
    /// A too long line is being skipped up to its end.
    skipping: bool,
    /// `inner` has ended.
    ended: bool,
}

impl<R: AsyncRead + Unpin> Lines<R> {
    /// Lines of `inner`, none longer than `max` bytes.
    pub fn new(inner: R, max: usize) -> Lines<R> {
        Lines {
            inner,
            buf: vec![0; READ_SIZE],
            start: 0,
            end: 0,
            scanned: 0,
            max,
            skipping: false,
            ended: false,
        }
    }

    /// The next line the buffer holds, if any. Once the input has ended, a
    /// last line without `\n` is a line too.
    pub fn next(&mut self) -> Option<Next> {
        let unread = self.buf.get(self.start..self.end).unwrap_or_default();
        // A long line arrives in many reads: each byte is looked at once.
        let fresh = unread.get(self.scanned..).unwrap_or_default();
        let newline = fresh.iter().position(|&b| b == b'\n');
        self.scanned = match newline {
            Some(_) => 0,
            None => unread.len(),
        };
        match newline.map(|i| i.saturating_add(unread.len().saturating_sub(fresh.len()))) {
            Some(len) => {
                let line = self.start..self.start.saturating_add(len);
                self.start = line.end.saturating_add(1);
                if std::mem::take(&mut self.skipping) {
                    // The end of a line already reported: go on after it.
                    return self.next();
                }
                if len > self.max {
                    return Some(Next::TooLong(len));
                }
                Some(Next::Whole(line))
            }
            None if unread.len() > self.max || (self.skipping && !unread.is_empty()) => {
                let len = unread.len();
                self.start = self.end;
                self.scanned = 0;
                let first = !std::mem::replace(&mut self.skipping, true);
                first.then_some(Next::TooLong(len))
            }
            None if self.ended && !unread.is_empty() && !self.skipping => {
                let line = self.start..self.end;
                self.start = self.end;
                self.scanned = 0;
                Some(Next::Whole(line))
            }
            None => None,
        }
    }

    /// Whether the input has ended (what is left is for [`Lines::next`]).
    pub fn ended(&self) -> bool {
        self.ended
    }

    /// The bytes of a line [`Lines::next`] gave.
    pub fn get(&self, line: Range<usize>) -> &[u8] {
        self.buf.get(line).unwrap_or_default()
    }

    /// Read more if the input has some now; `None` when it would have to
    /// wait. `Some(Ok(0))`: the input has ended.
    pub fn read_now(&mut self) -> Option<io::Result<usize>> {
        let mut cx = Context::from_waker(Waker::noop());
        match self.poll_read_more(&mut cx) {
            Poll::Ready(r) => Some(r),
            Poll::Pending => None,
        }
    }

    /// Read more, waiting for it. `Ok(0)`: the input has ended.
    pub async fn read(&mut self) -> io::Result<usize> {
        std::future::poll_fn(|cx| self.poll_read_more(cx)).await
    }

    fn poll_read_more(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        if self.ended {
            return Poll::Ready(Ok(0));
        }
        self.make_room();
        let free = self.buf.get_mut(self.end..).unwrap_or_default();
        let mut rb = ReadBuf::new(free);
        match Pin::new(&mut self.inner).poll_read(cx, &mut rb) {
            Poll::Ready(Ok(())) => {
                let n = rb.filled().len();
                self.end = self.end.saturating_add(n);
                self.ended = n == 0;
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    /// At least [`READ_SIZE`] free after the unread part: what is unread
    /// moves to the front, and the buffer grows for a long line.
    fn make_room(&mut self) {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
        if self.buf.len().saturating_sub(self.end) >= READ_SIZE {
            return;
        }
        self.buf.copy_within(self.start..self.end, 0);
        self.end = self.end.saturating_sub(self.start);
        self.start = 0;
        let want = self.end.saturating_add(READ_SIZE);
        if self.buf.len() < want {
            self.buf.resize(want, 0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use tokio::io::AsyncWriteExt;

    /// Gives `text` at most `chunk` bytes per read.
    struct Chunked {
        text: Vec<u8>,
        at: usize,
        chunk: usize,
    }

    impl AsyncRead for Chunked {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            let end = (self.at + self.chunk).min(self.text.len());
            let n = (end - self.at).min(buf.remaining());
            buf.put_slice(&self.text[self.at..self.at + n]);
            self.at += n;
            Poll::Ready(Ok(()))
        }
    }

    proptest! {
        /// However the input is cut, the lines are those of the text, a
        /// line longer than the limit reported once instead.
        #[test]
        fn lines_are_those_of_the_text(
            text in proptest::collection::vec(prop_oneof![Just(b'\n'), Just(b'a'), any::<u8>()], 0..400),
            chunk in 1usize..50,
            max in 1usize..40,
        ) {
            let mut pieces: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
            if text.last() == Some(&b'\n') || text.is_empty() {
                pieces.pop();
            }
            let want: Vec<Option<&[u8]>> = pieces
                .iter()
                .map(|p| (p.len() <= max).then_some(*p))
                .collect();
            let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let got = rt.block_on(async {
                let mut lines = Lines::new(Chunked { text: text.clone(), at: 0, chunk }, max);
                each(&mut lines).await
            });
            let got: Vec<Option<&[u8]>> = got.iter().map(|l| l.as_deref().ok()).collect();
            prop_assert_eq!(got, want);
        }
    }

    /// Every line of `lines` until the input ends (`Err(n)`: too long),
    /// reading with [`Lines::read`].
    async fn each<R: AsyncRead + Unpin>(lines: &mut Lines<R>) -> Vec<Result<Vec<u8>, usize>> {
        let mut out = Vec::new();
        loop {
            match lines.next() {
                Some(Next::Whole(r)) => out.push(Ok(lines.get(r).to_vec())),
                Some(Next::TooLong(n)) => out.push(Err(n)),
                None if lines.ended() => return out,
                None => {
                    lines.read().await.unwrap();
                }
            }
        }
    }

    /// [`each`] as text, `TooLong(n)` as `<n>`.
    async fn all<R: AsyncRead + Unpin>(lines: &mut Lines<R>) -> Vec<String> {
        each(lines)
            .await
            .into_iter()
            .map(|l| match l {
                Ok(text) => String::from_utf8_lossy(&text).into(),
                Err(n) => format!("<{n}>"),
            })
            .collect()
    }

    #[tokio::test]
    async fn lines_cut_anywhere_come_out_whole() {
        let (mut w, r) = tokio::io::duplex(7);
        let text = "announce route 10.0.0.0/24 next-hop self\n\nshow neighbor\nlast";
        let writer = tokio::spawn(async move {
            w.write_all(text.as_bytes()).await.unwrap();
        });
        let mut lines = Lines::new(r, MAX_LINE);
        let got = all(&mut lines).await;
        writer.await.unwrap();
        assert_eq!(
            got,
            [
                "announce route 10.0.0.0/24 next-hop self",
                "",
                "show neighbor",
                "last"
            ]
        );
    }

    #[tokio::test]
    async fn a_line_longer_than_the_buffer_grows_it() {
        let long = "x".repeat(3 * READ_SIZE + 5);
        let text = format!("a\n{long}\nb\n");
        let mut lines = Lines::new(text.as_bytes(), MAX_LINE);
        assert_eq!(all(&mut lines).await, ["a", long.as_str(), "b"]);
    }

    #[tokio::test]
    async fn a_line_over_the_limit_is_skipped_once_reported() {
        let text = format!("a\n{}\nb\n{}", "y".repeat(100), "z".repeat(11));
        let mut lines = Lines::new(text.as_bytes(), 10);
        let got = all(&mut lines).await;
        // Reported once, with what was read of it when it passed the limit.
        assert_eq!(got.len(), 4, "{got:?}");
        assert_eq!(got[0], "a");
        assert!(got[1].starts_with('<'), "{got:?}");
        assert_eq!(got[2], "b");
        assert_eq!(got[3], "<11>");
    }

    #[tokio::test]
    async fn read_now_does_not_wait() {
        let (mut w, r) = tokio::io::duplex(64);
        let mut lines = Lines::new(r, MAX_LINE);
        assert!(lines.read_now().is_none(), "nothing written yet");
        w.write_all(b"one\ntw").await.unwrap();
        assert_eq!(lines.read_now().map(|r| r.unwrap()), Some(6));
        let Some(Next::Whole(one)) = lines.next() else {
            panic!("a line expected");
        };
        assert_eq!(lines.get(one), b"one");
        assert_eq!(lines.next(), None, "half a line is not a line");
        assert!(lines.read_now().is_none());
        drop(w);
        assert_eq!(lines.read_now().map(|r| r.unwrap()), Some(0));
        let Some(Next::Whole(two)) = lines.next() else {
            panic!("the last line expected");
        };
        assert_eq!(lines.get(two), b"tw");
    }
}
