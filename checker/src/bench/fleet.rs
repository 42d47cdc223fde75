//! The load: many authenticated cookie sockets in one board, each read by a
//! task of its own, and the two things the bench makes them do (join, then
//! fan `typing` out).
//!
//! The client shares two cores with the server it measures, so it does as
//! little per frame as it can: a reader does not parse JSON, it looks for
//! the frame's `type` as a quoted word and bumps an atomic counter; only the
//! frame that completes what the bench waits for wakes it. Each socket reads
//! into a small buffer (the library's default is 128 KiB per socket).
//!
//! Logging in hashes a password, slow by design, so the bench logs in once
//! per user and opens every socket with one of the two cookies: a user may
//! hold many sockets, and the hash stays out of the per-upgrade figure.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderValue, header};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::{WebSocketStream, client_async_with_config};

use crate::client::{FRAME_LIMIT, REQUEST_LIMIT, Request};
use crate::cookie::SetCookie;

/// Upgrades in flight at once: enough to keep both cores of the server busy
/// without a listen backlog overflowing into SYN retries.
const UPGRADES_IN_FLIGHT: usize = 64;

/// A wait for frames fails when none of them has arrived for this long; the
/// whole wait may take longer, as long as frames keep coming (thousands of
/// sockets joining one board is millions of `user_joined` frames).
const STALL_LIMIT: Duration = Duration::from_secs(10);

/// How often a wait looks at closed sockets and error frames while the
/// frames it waits for are still coming.
const PROGRESS_CHECK: Duration = Duration::from_millis(250);

/// Sockets that join at once. Each join is announced to every socket
/// already in the board, and a server bounds each socket's queue (256 frames
/// in the reference, which closes 1013 a socket whose queue overflows with
/// frames it must not miss): all of them joining in one burst would queue
/// hundreds of `user_joined` per socket before any socket task could write
/// one out. In waves, no queue holds more than a wave's worth.
const JOIN_WAVE: usize = 64;

/// Enough for a burst of small frames in one read; larger frames still fit,
/// the library grows the buffer for them.
const READ_BUFFER: usize = 8 * 1024;

type Ws = WebSocketStream<TcpStream>;

/// The session cookies of the users whose sockets the bench opens (both are
/// members of `board-1`).
pub(crate) async fn log_in(port: u16) -> Result<Vec<String>, String> {
    let mut cookies = Vec::new();
    for (username, password) in [("alice", "alice-password"), ("bob", "bob-password")] {
        let body = json!({ "username": username, "password": password });
        let response = Request::post("/api/login")
            .json(&body)
            .send(port)
            .await
            .map_err(|failure| format!("logging in as {username}: {}", failure.got))?;
        let cookie = response
            .headers_named("set-cookie")
            .into_iter()
            .filter_map(SetCookie::parse)
            .find(|cookie| cookie.name == "session")
            .filter(|_| response.status == 200)
            .ok_or_else(|| {
                format!(
                    "logging in as {username}: expected 200 with a session cookie, got {}",
                    response.describe()
                )
            })?;
        cookies.push(cookie.value);
    }
    Ok(cookies)
}

/// Opens `count` cookie sockets, [`UPGRADES_IN_FLIGHT`] at a time, each
/// returned once its `authenticated` frame has arrived.
pub(crate) async fn open(port: u16, cookies: &[String], count: usize) -> Result<Vec<Ws>, String> {
    let opened: Vec<Result<Ws, String>> = futures_util::stream::iter(0..count)
        .map(|index| open_one(port, &cookies[index % cookies.len()]))
        .buffer_unordered(UPGRADES_IN_FLIGHT)
        .collect()
        .await;
    opened.into_iter().collect()
}

async fn open_one(port: u16, cookie: &str) -> Result<Ws, String> {
    let mut request = format!("ws://127.0.0.1:{port}/ws")
        .into_client_request()
        .map_err(|error| error.to_string())?;
    let value = HeaderValue::from_str(&format!("session={cookie}"))
        .map_err(|_| "the session cookie is not a valid header value".to_owned())?;
    request.headers_mut().insert(header::COOKIE, value);
    let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER);
    let handshake = async {
        let tcp = TcpStream::connect(("127.0.0.1", port))
            .await
            .map_err(|error| format!("could not connect: {error}"))?;
        // Frames are small and each one is awaited: no Nagle delay.
        tcp.set_nodelay(true)
            .map_err(|error| format!("could not set TCP_NODELAY: {error}"))?;
        client_async_with_config(request, tcp, Some(config))
            .await
            .map_err(|error| format!("the upgrade failed: {error}"))
    };
    let (mut ws, _) = timeout(REQUEST_LIMIT, handshake)
        .await
        .map_err(|_| format!("no answer to an upgrade within {REQUEST_LIMIT:?}"))??;
    match timeout(FRAME_LIMIT, ws.next()).await {
        Ok(Some(Ok(Message::Text(text)))) if kind(&text) == Kind::Authenticated => Ok(ws),
        Ok(Some(Ok(other))) => Err(format!(
            "a cookie socket's first frame was {other:?}, not `authenticated`"
        )),
        Ok(Some(Err(error))) => Err(format!("a cookie socket broke: {error}")),
        Ok(None) => Err("a cookie socket closed before `authenticated`".to_owned()),
        Err(_) => Err(format!(
            "no `authenticated` frame within {FRAME_LIMIT:?} of an upgrade"
        )),
    }
}

/// The frames the bench tells apart.
#[derive(Debug, PartialEq, Eq)]
enum Kind {
    Authenticated,
    Joined,
    UserJoined,
    UserTyping,
    Error,
    Other,
}

/// A frame's kind from its text, without parsing it: the `type` values are
/// distinct quoted words, and an error frame is the only one with `"error"`.
fn kind(text: &str) -> Kind {
    if text.contains("\"user_typing\"") {
        Kind::UserTyping
    } else if text.contains("\"user_joined\"") {
        Kind::UserJoined
    } else if text.contains("\"joined\"") {
        Kind::Joined
    } else if text.contains("\"authenticated\"") {
        Kind::Authenticated
    } else if text.contains("\"error\"") {
        Kind::Error
    } else {
        Kind::Other
    }
}

/// A count that one waiter can wait on until it reaches a goal.
#[derive(Default)]
struct Counter {
    count: AtomicU64,
    goal: AtomicU64,
    reached: Notify,
}

impl Counter {
    fn bump(&self) {
        let count = self.count.fetch_add(1, Ordering::SeqCst) + 1;
        // Only the frame that completes the goal wakes the waiter; a permit
        // stored by `notify_one` is not lost if the waiter is not parked yet.
        if count == self.goal.load(Ordering::SeqCst) {
            self.reached.notify_one();
        }
    }

    fn get(&self) -> u64 {
        self.count.load(Ordering::SeqCst)
    }
}

/// What every reader has seen, summed.
#[derive(Default)]
struct Tally {
    joined: Counter,
    user_joined: Counter,
    user_typing: Counter,
    errors: AtomicU64,
    closed: AtomicU64,
    /// How the first socket that closed was closed, for the error message.
    first_close: Mutex<Option<String>>,
}

/// The open sockets: their sending halves, and a reader task per socket.
pub(crate) struct Fleet {
    senders: Vec<SplitSink<Ws, Message>>,
    tally: Arc<Tally>,
    /// Dropping the fleet aborts the readers with it.
    _readers: JoinSet<()>,
}

impl Fleet {
    /// Starts reading every socket.
    pub(crate) fn new(sockets: Vec<Ws>) -> Fleet {
        let tally = Arc::new(Tally::default());
        let mut readers = JoinSet::new();
        let mut senders = Vec::with_capacity(sockets.len());
        for ws in sockets {
            let (sender, receiver) = ws.split();
            senders.push(sender);
            readers.spawn(read(receiver, tally.clone()));
        }
        Fleet {
            senders,
            tally,
            _readers: readers,
        }
    }

    /// Every socket joins `board-1`, [`JOIN_WAVE`] at a time; returns once
    /// each has its `joined` answer and every pair of sockets has heard of
    /// each other (`user_joined`, sent to whichever of the two joined first).
    pub(crate) async fn join_all(&mut self) -> Result<(), String> {
        let join = Utf8Bytes::from_static(r#"{"type":"join","boardId":"board-1"}"#);
        let mut joined = 0_u64;
        for wave in self.senders.chunks_mut(JOIN_WAVE) {
            for sender in wave.iter_mut() {
                sender
                    .send(Message::Text(join.clone()))
                    .await
                    .map_err(|error| format!("sending join: {error}"))?;
            }
            joined += wave.len() as u64;
            wait(&self.tally, &self.tally.joined, joined, "joined").await?;
            // A server that puts the join and its announcement under one
            // lock sends exactly one frame per pair; one that takes the lock
            // twice may send both ways for two sockets of the same wave, so
            // "at least".
            let pairs = joined * (joined - 1) / 2;
            wait(&self.tally, &self.tally.user_joined, pairs, "user_joined").await?;
        }
        Ok(())
    }

    /// One round: a `typing` from each of `typists` sockets, starting at
    /// socket `from`, sent together; returns how long it took until the
    /// last of the others received the last `user_typing`.
    pub(crate) async fn typing_round(
        &mut self,
        from: usize,
        typists: usize,
    ) -> Result<Duration, String> {
        let typing = Utf8Bytes::from_static(r#"{"type":"typing","boardId":"board-1"}"#);
        let receivers = self.senders.len() as u64 - 1;
        let goal = self.tally.user_typing.get() + typists as u64 * receivers;
        let sent = Instant::now();
        let count = self.senders.len();
        for typist in 0..typists {
            self.senders[(from + typist) % count]
                .send(Message::Text(typing.clone()))
                .await
                .map_err(|error| format!("sending typing: {error}"))?;
        }
        wait(&self.tally, &self.tally.user_typing, goal, "user_typing").await?;
        Ok(sent.elapsed())
    }

    pub(crate) fn len(&self) -> usize {
        self.senders.len()
    }
}

/// Waits until `counter` reaches `goal`, failing if a socket closed, an
/// error frame came, or nothing was counted for [`STALL_LIMIT`].
async fn wait(tally: &Tally, counter: &Counter, goal: u64, what: &str) -> Result<(), String> {
    counter.goal.store(goal, Ordering::SeqCst);
    let mut last_progress = (counter.get(), Instant::now());
    while counter.get() < goal {
        let _ = timeout(PROGRESS_CHECK, counter.reached.notified()).await;
        let count = counter.get();
        if count >= goal {
            break;
        }
        let closed = tally.closed.load(Ordering::SeqCst);
        let errors = tally.errors.load(Ordering::SeqCst);
        if closed > 0 || errors > 0 {
            let first_close = tally
                .first_close
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .clone()
                .unwrap_or_default();
            return Err(format!(
                "waiting for `{what}` frames ({count} of {goal}): {closed} sockets closed \
                 {first_close}and {errors} error frames arrived"
            ));
        }
        if count > last_progress.0 {
            last_progress = (count, Instant::now());
        } else if last_progress.1.elapsed() >= STALL_LIMIT {
            return Err(format!(
                "waiting for `{what}` frames: {count} of {goal} arrived, then none for {STALL_LIMIT:?}"
            ));
        }
    }
    Ok(())
}

/// Counts what one socket receives until it closes.
async fn read(mut receiver: SplitStream<Ws>, tally: Arc<Tally>) {
    let mut close = "(without a close frame) ".to_owned();
    while let Some(Ok(message)) = receiver.next().await {
        let text = match message {
            Message::Text(text) => text,
            Message::Close(frame) => {
                close = match frame {
                    Some(frame) => format!("(the first with {} {:?}) ", frame.code, frame.reason),
                    None => "(the first with an empty close frame) ".to_owned(),
                };
                continue;
            }
            _ => continue,
        };
        match kind(&text) {
            Kind::UserTyping => tally.user_typing.bump(),
            Kind::UserJoined => tally.user_joined.bump(),
            Kind::Joined => tally.joined.bump(),
            Kind::Error => {
                tally.errors.fetch_add(1, Ordering::SeqCst);
            }
            Kind::Authenticated | Kind::Other => {}
        }
    }
    tally
        .first_close
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .get_or_insert(close);
    tally.closed.fetch_add(1, Ordering::SeqCst);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_frames_apart_without_parsing() {
        let alice = r#""user":{"id":"user-alice","name":"Alice"}"#;
        assert_eq!(
            kind(&format!(r#"{{"type":"user_typing",{alice}}}"#)),
            Kind::UserTyping
        );
        assert_eq!(
            kind(&format!(
                r#"{{"type": "user_joined", {alice}, "viewers": 3}}"#
            )),
            Kind::UserJoined
        );
        assert_eq!(
            kind(r#"{"boardId":"board-1","type":"joined","viewers":3}"#),
            Kind::Joined
        );
        assert_eq!(
            kind(&format!(r#"{{"type":"authenticated",{alice}}}"#)),
            Kind::Authenticated
        );
        assert_eq!(kind(r#"{"error":"Not in board"}"#), Kind::Error);
        assert_eq!(
            kind(&format!(r#"{{"type":"user_left",{alice}}}"#)),
            Kind::Other
        );
    }
}
