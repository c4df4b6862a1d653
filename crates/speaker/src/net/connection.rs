//! One TCP connection of a session: a reader task that cuts the byte stream
//! into messages and a writer task that sends what it is given, each with a
//! bounded queue so that a slow side pushes back instead of growing memory.

use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use ribbit_fsm::ConnId;
use ribbit_wire::message::{MARKER, MAX_EXTENDED_MESSAGE_LEN};
use ribbit_wire::HEADER_LEN;

/// Messages a reader may have queued before it stops reading: the peer is
/// then held back by TCP flow control.
pub const READ_QUEUE: usize = 64;
/// Messages a writer may have queued.
pub const WRITE_QUEUE: usize = 256;
/// How many bytes of small queued messages a writer puts in one write.
const COALESCE: usize = 256 * 1024;
/// How long a writer may go on once its session let go of the connection
/// (to put a last NOTIFICATION on the wire) before the socket is closed
/// anyway: a peer that does not read would otherwise keep it open forever.
pub const LINGER: Duration = Duration::from_secs(5);

/// What a connection reports to its session.
#[derive(Debug)]
pub enum ConnEvent {
    /// One whole message, header included (or the bad header that ends the stream).
    Message(ConnId, BytesMut),
    /// The connection closed or failed.
    Closed(ConnId),
}

/// The session's side of a connection.
#[derive(Debug)]
pub struct Connection {
    /// The id the session knows it by.
    pub id: ConnId,
    writer: mpsc::Sender<Vec<u8>>,
    reader: JoinHandle<()>,
    /// The writer task; taken by [`Connection::close`], which waits for it.
    write_task: Option<JoinHandle<()>>,
}

impl Connection {
    /// Split `stream` into a reader and a writer task. Messages go to
    /// `events`; the id of the connection goes to `flushed` each time the
    /// writer has written everything it was given (RFC 9687 send hold).
    pub fn spawn(
        id: ConnId,
        stream: TcpStream,
        events: mpsc::Sender<ConnEvent>,
        flushed: mpsc::Sender<ConnId>,
    ) -> Connection {
        let _ = stream.set_nodelay(true);
        let (read_half, write_half) = stream.into_split();
        let (writer_tx, writer_rx) = mpsc::channel(WRITE_QUEUE);
        let reader = tokio::spawn(read_loop(id, read_half, events.clone()));
        let write_task = tokio::spawn(write_loop(id, write_half, writer_rx, flushed, events));
        Connection {
            id,
            writer: writer_tx,
            reader,
            write_task: Some(write_task),
        }
    }

    /// Close the connection: stop reading, queue `last` (a final
    /// NOTIFICATION, RFC 4271 §6) even if the writer's queue is full, and
    /// wait until the writer has put everything on the wire and closed the
    /// socket; all within [`LINGER`], after which the writer is stopped.
    pub async fn close(mut self, last: Vec<Vec<u8>>) {
        self.reader.abort();
        let deadline = tokio::time::Instant::now() + LINGER;
        for bytes in last {
            if tokio::time::timeout_at(deadline, self.writer.send(bytes))
                .await
                .is_err()
            {
                break;
            }
        }
        let writer = self.write_task.take();
        // Dropping the sender tells the writer there is nothing more.
        drop(self);
        if let Some(mut writer) = writer {
            if tokio::time::timeout_at(deadline, &mut writer)
                .await
                .is_err()
            {
                writer.abort();
            }
        }
    }

    /// Queue bytes for sending without waiting. Returns them back when the
    /// writer's queue is full, so the caller can keep them until it drains.
    pub fn try_send(&self, bytes: Vec<u8>) -> Result<(), Vec<u8>> {
        self.writer.try_send(bytes).map_err(|e| match e {
            mpsc::error::TrySendError::Full(b) | mpsc::error::TrySendError::Closed(b) => b,
        })
    }
}

impl Drop for Connection {
    /// Stop reading at once; the writer finishes what is queued (a final
    /// NOTIFICATION, say) and then closes the socket, or is stopped after
    /// [`LINGER`] if it cannot (the peer does not read), closing it then.
    fn drop(&mut self) {
        self.reader.abort();
        let Some(writer) = self.write_task.take() else {
            return;
        };
        let writer = writer.abort_handle();
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(async move {
                    tokio::time::sleep(LINGER).await;
                    writer.abort();
                });
            }
            Err(_) => writer.abort(),
        }
    }
}

async fn read_loop(
    id: ConnId,
    mut sock: tokio::net::tcp::OwnedReadHalf,
    events: mpsc::Sender<ConnEvent>,
) {
    let mut buf = BytesMut::with_capacity(64 * 1024);
    loop {
        // Hand over every whole message in the buffer.
        while buf.len() >= HEADER_LEN {
            let length = usize::from(u16::from_be_bytes([buf[16], buf[17]]));
            let bad_header =
                buf[..16] != MARKER || !(HEADER_LEN..=MAX_EXTENDED_MESSAGE_LEN).contains(&length);
            if bad_header {
                // The session decodes the header and answers with the right
                // NOTIFICATION; nothing after it can be framed.
                let header = buf.split_to(HEADER_LEN);
                let _ = events.send(ConnEvent::Message(id, header)).await;
                let _ = events.send(ConnEvent::Closed(id)).await;
                return;
            }
            if buf.len() < length {
                break;
            }
            let message = buf.split_to(length);
            if events.send(ConnEvent::Message(id, message)).await.is_err() {
                return;
            }
        }
        if buf.capacity() - buf.len() < MAX_EXTENDED_MESSAGE_LEN {
            buf.reserve(MAX_EXTENDED_MESSAGE_LEN);
        }
        match sock.read_buf(&mut buf).await {
            Ok(0) | Err(_) => {
                let _ = events.send(ConnEvent::Closed(id)).await;
                return;
            }
            Ok(_) => {}
        }
    }
}

async fn write_loop(
    id: ConnId,
    mut sock: tokio::net::tcp::OwnedWriteHalf,
    mut queue: mpsc::Receiver<Vec<u8>>,
    flushed: mpsc::Sender<ConnId>,
    events: mpsc::Sender<ConnEvent>,
) {
    let mut batch = BytesMut::new();
    while let Some(first) = queue.recv().await {
        // A large buffer (a batch of the RIB's messages) goes out as it is;
        // small messages queued together are coalesced into one write.
        let big = first.len() >= COALESCE / 4;
        if !big {
            batch.extend_from_slice(&first);
            while batch.len() < COALESCE {
                match queue.try_recv() {
                    Ok(more) => batch.extend_from_slice(&more),
                    Err(_) => break,
                }
            }
        }
        let mut data: &[u8] = if big { &first } else { &batch };
        while !data.is_empty() {
            match sock.write(data).await {
                Ok(0) | Err(_) => {
                    let _ = events.send(ConnEvent::Closed(id)).await;
                    return;
                }
                Ok(n) => data = data.get(n..).unwrap_or_default(),
            }
        }
        batch.clear();
        // Progress: the peer takes what we send (RFC 9687). A report that
        // finds the channel full is dropped: one is already on its way.
        let _ = flushed.try_send(id);
    }
    // The session let go of the connection: close after what was queued.
    let _ = tokio::time::timeout(LINGER, sock.shutdown()).await;
}
