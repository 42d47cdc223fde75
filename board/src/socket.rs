//! A thin layer over axum's WebSocket that speaks in the contract's terms.
//!
//! Exercises read [`Incoming`] instead of raw messages (pings are answered by
//! the library and never reach them; an oversized message arrives as
//! [`Incoming::TooBig`] instead of an error to pick apart), send JSON frames,
//! and close with a code and a reason.
//!
//! A socket also remembers when it last heard from the client, pongs
//! included, so a heartbeat (exercise 9) can tell a live connection from one
//! that died without a close frame.
//!
//! A client that breaks RFC 6455 is told why before the connection ends:
//! [`Socket::recv`] closes it 1002 (a malformed frame) or 1007 (text that is
//! not UTF-8) by itself and returns `None`, so every exercise's loop treats
//! it like any connection that is gone. The library reports such a frame as
//! a read error and from then on refuses to read, but its writing side is
//! untouched (the error leaves the protocol state open), so a close frame
//! can still be sent; what cannot be done is wait for the client's answer,
//! which is why the connection ends right after it.

use std::{
    future::poll_fn,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll, Wake, Waker},
    time::{Duration, Instant},
};

use axum::extract::{
    WebSocketUpgrade,
    ws::{CloseFrame, Message, Utf8Bytes, WebSocket},
};
use futures_util::{SinkExt, Stream, task::AtomicWaker};
use serde_json::Value;
use tokio_tungstenite::tungstenite;

use crate::rooms::{Frame, Mailbox};

/// The largest message a client may send: 64 KiB of payload, after the
/// frames of a fragmented message are put together.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// How many bytes a socket reads from the network at a time.
///
/// The library's default is 128 KiB, and it zero-fills that whole buffer
/// before every read attempt, including one that finds nothing to read, so
/// a socket that has tried to read once keeps all of it resident. 1 KiB
/// holds anything a client of this contract sends; a larger message still
/// arrives whole, the buffer grows for it. What the small buffer saves per
/// socket and per upgrade: book/src/what-it-costs.md#buffers-per-socket.
pub const READ_BUFFER_BYTES: usize = 1024;

/// The upgrade settings every server wants besides the message size: the
/// small read buffer of [`READ_BUFFER_BYTES`]. Use it as
/// `board::socket::small_buffers(ws).max_message_size(MAX_MESSAGE_BYTES)`.
///
/// Only the upgrade can set the buffer: once a socket exists, neither axum
/// nor the library lets board change it, so a server that does not call
/// this keeps 128 KiB per socket, and each of its upgrades pays for the
/// kernel handing over those pages
/// (book/src/what-it-costs.md#buffers-per-socket).
pub fn small_buffers(upgrade: WebSocketUpgrade) -> WebSocketUpgrade {
    upgrade.read_buffer_size(READ_BUFFER_BYTES)
}

/// How long [`Socket::close`] waits for the client to answer a close frame.
const CLOSE_HANDSHAKE_TIMEOUT: Duration = Duration::from_millis(500);

/// How long one frame may wait to be written. A client that stops reading
/// fills its connection's buffers, and then a write waits for as long as
/// the client likes; meanwhile the socket's task cannot read, ping or hear
/// that the session ended. Past this the connection counts as gone.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);

/// The most frames from the rooms that [`Socket::send_queued`] puts into
/// one write. Sixteen `user_typing` frames are about 1.3 KiB: enough that
/// the write's cost is shared sixteen ways, and few enough that the
/// library's write buffer, which keeps the largest size it reached for the
/// socket's lifetime, stays small after a burst of joins
/// (book/src/what-it-costs.md#several-frames-in-one-write).
const FRAMES_PER_WRITE: usize = 16;

/// The close code for a frame that breaks RFC 6455.
const PROTOCOL_ERROR: u16 = 1002;

/// The close code and reason for a read error that means the client broke
/// RFC 6455, or `None` for one that means the connection is simply gone
/// (reset, closed without a close frame) and cannot be told anything.
fn violation(error: &tungstenite::Error) -> Option<(u16, &'static str)> {
    use tungstenite::error::ProtocolError::*;
    match error {
        // Section 8.1: text that is not UTF-8, in a message or in a close
        // frame's reason.
        tungstenite::Error::Utf8(_) => Some((1007, "Invalid UTF-8")),
        tungstenite::Error::Protocol(
            UnmaskedFrameFromClient
            | NonZeroReservedBits
            | InvalidOpcode(_)
            | UnknownControlFrameType(_)
            | UnknownDataFrameType(_)
            | FragmentedControlFrame
            | ControlFrameTooBig
            | UnexpectedContinueFrame
            | ExpectedFragment(_)
            | InvalidCloseSequence,
        ) => Some((PROTOCOL_ERROR, "Protocol error")),
        _ => None,
    }
}

/// What [`Socket::send_json`] sends: JSON, as the text of a frame.
pub trait JsonText {
    fn json_text(&self) -> Utf8Bytes;
}

impl JsonText for Value {
    fn json_text(&self) -> Utf8Bytes {
        self.to_string().into()
    }
}

impl JsonText for Frame {
    /// The text serialised once for every receiver of a broadcast.
    fn json_text(&self) -> Utf8Bytes {
        self.text()
    }
}

/// One upgraded connection.
pub struct Socket {
    ws: WebSocket,
    /// When the last frame of any kind (a pong too) came from the client.
    last_heard: Instant,
    /// A write took longer than [`SEND_TIMEOUT`]: the client stopped reading.
    stalled: bool,
    /// A close frame for a protocol violation was queued but may not have
    /// reached the network yet (its `recv` was cancelled while sending).
    failing: bool,
    /// Whether a protocol violation is answered with its close frame (see
    /// [`Socket::dropping_violations`]).
    answers_violations: bool,
    /// Whether the connection may have something to read (see [`ReadSignal`]).
    readable: Arc<ReadSignal>,
    /// The waker the connection is read with: it sets `readable`.
    read_waker: Waker,
}

/// Remembers whether the connection woke its task because it may have
/// something to read, so that [`Socket::recv`] reads only then.
///
/// A socket's task wakes for many reasons: a frame in its mailbox, a ping
/// to send, a timer. Each time, `select!` polls every branch, `recv` with
/// the others, and a read attempt is not cheap: the library zero-fills its
/// whole read buffer first (128 KiB unless the upgrade asked for less,
/// see [`small_buffers`]), then finds nothing to read. Reading on every
/// wake would cost each frame a socket delivers for the rooms two such
/// attempts: one when the frame wakes the task, one when the loop comes
/// round again. With the flag, a wake for anything but the connection
/// costs no read at all; what that saves per delivered frame:
/// book/src/what-it-costs.md#reading-only-when-there-is-something-to-read.
/// It does not change the memory per socket: the first read still fills
/// the buffer once.
struct ReadSignal {
    woken: AtomicBool,
    task: AtomicWaker,
}

impl Wake for ReadSignal {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.task.wake();
    }
}

/// What arrived from the client.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming {
    /// A text frame (or a fragmented text message, put together).
    Text(String),
    /// A binary frame; the contract has no use for one.
    Binary,
    /// The client's close frame.
    Close,
    /// A message over [`MAX_MESSAGE_BYTES`]; nothing more can be read after it.
    TooBig,
}

impl From<WebSocket> for Socket {
    fn from(ws: WebSocket) -> Socket {
        let readable = Arc::new(ReadSignal {
            // Nothing has been read yet: the first `recv` must try.
            woken: AtomicBool::new(true),
            task: AtomicWaker::new(),
        });
        Socket {
            ws,
            last_heard: Instant::now(),
            stalled: false,
            failing: false,
            answers_violations: true,
            read_waker: Waker::from(readable.clone()),
            readable,
        }
    }
}

impl Socket {
    /// A socket that ends a connection which breaks the protocol without
    /// telling it why: no close frame, so the client sees 1006. This is the
    /// mistake the workbook's broken server makes for the `protocol.*`
    /// rows; a server has no reason to want it.
    pub fn dropping_violations(mut self) -> Socket {
        self.answers_violations = false;
        self
    }

    /// The next message from the client, or `None` once the connection is
    /// gone (closed without a close frame, or broken).
    /// A client that stopped reading counts as gone too, and so does one
    /// that broke the protocol, once it has been sent its close frame (1002,
    /// or 1007 for text that is not UTF-8).
    pub async fn recv(&mut self) -> Option<Incoming> {
        if self.failing {
            self.finish_failing().await;
        }
        if self.stalled {
            return None;
        }
        loop {
            let message = poll_fn(|cx| self.poll_message(cx)).await?;
            self.last_heard = Instant::now();
            return match message {
                Ok(Message::Text(text)) => Some(Incoming::Text(text.to_string())),
                Ok(Message::Binary(_)) => Some(Incoming::Binary),
                Ok(Message::Close(frame)) => {
                    // A close code no endpoint may send (1005, 999...) is a
                    // protocol error: the library hands it over as 1002 and
                    // has queued 1002 as its answer, which board sends now,
                    // as for the other protocol errors. Answering any other
                    // close is the exercise's to do (exercise 6 teaches it).
                    if frame.is_some_and(|frame| frame.code == PROTOCOL_ERROR) {
                        let _ =
                            tokio::time::timeout(CLOSE_HANDSHAKE_TIMEOUT, self.ws.flush()).await;
                    }
                    Some(Incoming::Close)
                }
                Ok(Message::Ping(_) | Message::Pong(_)) => continue,
                Err(error) => {
                    let error = error.into_inner();
                    let error = error.downcast_ref::<tungstenite::Error>();
                    if let Some(tungstenite::Error::Capacity(_)) = error {
                        return Some(Incoming::TooBig);
                    }
                    if let Some((code, reason)) = error.and_then(violation)
                        && self.answers_violations
                    {
                        self.fail(code, reason).await;
                    }
                    None
                }
            };
        }
    }

    /// Sends the close frame for a protocol violation. The connection ends
    /// right after: the library reads nothing more, not even the client's
    /// answering close frame.
    async fn fail(&mut self, code: u16, reason: &'static str) {
        self.failing = true;
        // Queued at once, written as far as the client lets us: `send`
        // returns when it is flushed, `finish_failing` flushes the rest if
        // this is cancelled in between.
        self.send_close_frame(code, reason).await;
        self.failing = false;
    }

    /// Sends a close frame, waiting at most [`CLOSE_HANDSHAKE_TIMEOUT`] for
    /// the client to take it.
    async fn send_close_frame(&mut self, code: u16, reason: &str) {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        let _ = tokio::time::timeout(
            CLOSE_HANDSHAKE_TIMEOUT,
            self.ws.send(Message::Close(Some(frame))),
        )
        .await;
    }

    /// Flushes a violation's close frame that a cancelled `recv` left
    /// queued.
    async fn finish_failing(&mut self) {
        let _ = tokio::time::timeout(CLOSE_HANDSHAKE_TIMEOUT, self.ws.flush()).await;
        self.failing = false;
    }

    /// The next message from the connection, read only if the connection
    /// has woken the task since the last attempt found nothing.
    fn poll_message(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Message, axum::Error>>> {
        // The task's waker first, then the flag: a wake in between is not
        // lost, it wakes the task again.
        self.readable.task.register(cx.waker());
        if !self.readable.woken.swap(false, Ordering::AcqRel) {
            return Poll::Pending;
        }
        // Read with the waker that sets the flag: the connection wakes it
        // when there is something to read (or it closes).
        let mut read = Context::from_waker(&self.read_waker);
        match Pin::new(&mut self.ws).poll_next(&mut read) {
            Poll::Pending => Poll::Pending,
            ready => {
                // One read may have brought several frames: try again next time.
                self.readable.woken.store(true, Ordering::Release);
                ready
            }
        }
    }

    /// Sends one JSON text frame: a [`Value`], or a [`Frame`] from the rooms,
    /// already serialised. A client that has gone away cannot be told
    /// anything, so a failed send is not an error: the next `recv` returns
    /// `None` and the socket's task ends. The same goes for a client that
    /// has stopped reading: a write that does not finish in time marks the
    /// socket stalled.
    pub async fn send_json(&mut self, frame: &impl JsonText) {
        self.send(Message::Text(frame.json_text())).await;
    }

    /// Sends `first`, a frame from the rooms, together with the frames
    /// already waiting behind it in `mailbox` (up to a bound), in one write
    /// to the network.
    ///
    /// A write is a system call, and on this path it is most of what a
    /// frame costs: several frames queued for one socket go out for the
    /// price of one. A frame never waits for company; only what has
    /// already arrived is taken along. So this pays when frames reach a
    /// socket faster than it writes them, as when several people type at
    /// once, and changes nothing when they come one at a time: no second
    /// frame is waiting (book/src/what-it-costs.md#several-frames-in-one-write).
    pub async fn send_queued(&mut self, first: Frame, mailbox: &mut Mailbox) {
        if self.stalled {
            return;
        }
        let ws = &mut self.ws;
        let write = async {
            ws.feed(Message::Text(first.text())).await?;
            let behind = std::iter::from_fn(|| mailbox.try_next()).take(FRAMES_PER_WRITE - 1);
            for frame in behind {
                ws.feed(Message::Text(frame.text())).await?;
            }
            ws.flush().await
        };
        // A failed write is not an error here either (see `send_json`).
        if tokio::time::timeout(SEND_TIMEOUT, write).await.is_err() {
            self.stalled = true;
        }
    }

    async fn send(&mut self, message: Message) {
        if self.stalled {
            return;
        }
        if tokio::time::timeout(SEND_TIMEOUT, self.ws.send(message))
            .await
            .is_err()
        {
            self.stalled = true;
        }
    }

    /// How long the client has sent nothing at all, not even a pong.
    pub fn silent_for(&self) -> Duration {
        self.last_heard.elapsed()
    }

    /// Sends a ping frame; a live client answers with a pong, which
    /// [`Socket::recv`] counts as hearing from it.
    pub async fn ping(&mut self) {
        self.send(Message::Ping(Default::default())).await;
    }

    /// Sends `{"error": text}`.
    pub async fn send_error(&mut self, text: &str) {
        self.send_json(&serde_json::json!({ "error": text })).await;
    }

    /// Sends a close frame with `code` and `reason`, then waits briefly for
    /// the client's answering close frame so the closing handshake completes.
    ///
    /// If the client closed first, the library has already queued the answer
    /// (echoing the client's code); this call makes sure it is sent.
    pub async fn close(mut self, code: u16, reason: &str) {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        // After the client's own close frame the library refuses this send,
        // but it has already queued its answer; the reads below flush it.
        // A client that stopped reading gets no more than the time limit.
        let send = self.ws.send(Message::Close(Some(frame)));
        let _ = tokio::time::timeout(CLOSE_HANDSHAKE_TIMEOUT, send).await;
        let drain = async { while let Some(Ok(_)) = self.ws.recv().await {} };
        let _ = tokio::time::timeout(CLOSE_HANDSHAKE_TIMEOUT, drain).await;
    }

    /// Sends a close frame and drops the connection without waiting for an
    /// answer: for a client that has stopped answering at all.
    pub async fn abandon(mut self, code: u16, reason: &str) {
        self.send_close_frame(code, reason).await;
    }
}
