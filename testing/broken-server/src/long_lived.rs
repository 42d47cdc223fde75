//! Exercise 9: what keeps a long-lived socket honest (heartbeats, a fresh
//! check before every message and at every ping tick, the per-user socket
//! limit, the message rate), with the breaks of their rows. `main.rs`'s
//! serve loop asks [`Heartbeat`] when to ping and when to give up, and calls
//! [`recheck`], [`recheck_listener`] and [`socket_slot`] at the points the
//! contract names.

use std::{collections::HashMap, sync::Mutex, time::Duration};

use board::{
    App,
    db::{Session, User},
    limits::{SocketSlot, TokenBucket},
    message::ClientMessage,
    rooms::SocketId,
    socket::Incoming,
};
use tokio::time::{Instant, Interval};

use crate::{ENDED, FORBIDDEN, Goodbye, broken, lock};

pub(crate) const TOO_MANY: Goodbye = (None, 1008, "Too many connections");
pub(crate) const USER_GONE: Goodbye = (Some("User not found"), 4001, "User not found");
/// Sent without waiting for an answer: see [`crate::part`].
pub(crate) const PING_TIMEOUT: Goodbye = (None, 1001, "Ping timeout");
/// For the `heartbeat.messages-kept` break: how much later than the last
/// text or binary frame the client must have been heard for it to be a pong.
const PONG_MARGIN: Duration = Duration::from_millis(5);
/// The `limits.message-rate` break's answer to one message too many.
const RATE_CLOSE: Goodbye = (None, 1008, "Rate limited");

/// What the heartbeat wants done next.
pub(crate) enum Beat {
    Ping,
    /// The silence deadline passed; whether the socket really was silent
    /// is for [`Heartbeat::gone_silent`] to say, since a pong does not wake
    /// the serve loop.
    Deadline,
}

/// One socket's pings, silence deadline and message bucket.
pub(crate) struct Heartbeat {
    interval: Duration,
    pings: Interval,
    bucket: TokenBucket,
    /// When the client last sent a frame that is not a pong: the
    /// `heartbeat.answering-kept` break measures silence from here.
    last_frame: Instant,
    /// When the client was last heard without a text or binary frame, that
    /// is by a pong: the `heartbeat.messages-kept` break measures silence
    /// from here. Seen only when the serve loop comes round, which every
    /// ping does.
    last_pong: Instant,
}

/// For the `limits.rate-per-socket` break: one bucket per user, shared by
/// all of that user's sockets.
static USER_BUCKETS: Mutex<Option<HashMap<String, TokenBucket>>> = Mutex::new(None);

impl Heartbeat {
    pub(crate) fn new(app: &App) -> Heartbeat {
        let interval = app.config.ping_interval;
        Heartbeat {
            interval,
            pings: tokio::time::interval_at(Instant::now() + interval, interval),
            bucket: TokenBucket::new(app.config.message_rate),
            last_frame: Instant::now(),
            last_pong: Instant::now(),
        }
    }

    /// How long the client has been silent, as this server counts it.
    fn silence(&self, heard: Duration) -> Duration {
        if broken("heartbeat.answering-kept") {
            // The break: a pong is not hearing from the client.
            self.last_frame.elapsed()
        } else if broken("heartbeat.messages-kept") {
            // The break: only a pong is hearing from the client.
            self.last_pong.elapsed()
        } else {
            heard
        }
    }

    /// Keeps `last_pong` for the `heartbeat.messages-kept` break: heard
    /// after the last text or binary frame (with a margin, for two clocks
    /// read a moment apart) is heard by a pong.
    fn note_pong(&mut self, silent_for: Duration) {
        let heard_at = Instant::now() - silent_for;
        if heard_at > self.last_frame + PONG_MARGIN && heard_at > self.last_pong {
            self.last_pong = heard_at;
        }
    }

    /// Resolves at the next ping, or when `silent_for` (the socket's own
    /// count) reaches two intervals if nothing is heard before then.
    pub(crate) async fn next(&mut self, silent_for: Duration) -> Beat {
        self.note_pong(silent_for);
        let allowed = (2 * self.interval).saturating_sub(self.silence(silent_for));
        let deadline = async {
            if broken("heartbeat.silent-dropped") {
                // The break: only TCP ends a socket that went quiet.
                std::future::pending::<()>().await;
            }
            tokio::time::sleep(allowed).await;
        };
        tokio::select! {
            _ = self.pings.tick() => Beat::Ping,
            () = deadline => Beat::Deadline,
        }
    }

    /// Whether the socket has been silent for two intervals.
    pub(crate) fn gone_silent(&mut self, silent_for: Duration) -> bool {
        self.note_pong(silent_for);
        self.silence(silent_for) >= 2 * self.interval
    }

    /// Whether a ping goes out at a tick.
    pub(crate) fn pings(&self) -> bool {
        // The break: silent sockets are dropped, but nobody asks them to speak.
        !broken("heartbeat.pings")
    }

    /// Counts a text or binary frame of `user` against the rate: `Ok(true)`
    /// to act on it, `Ok(false)` to answer Rate limited, `Err` to end the
    /// socket.
    pub(crate) fn take(&mut self, app: &App, user: &User) -> Result<bool, Goodbye> {
        self.last_frame = Instant::now();
        let took = if broken("limits.rate-per-socket") {
            // The break: the user's sockets share one bucket.
            let mut buckets = lock(&USER_BUCKETS);
            buckets
                .get_or_insert_with(HashMap::new)
                .entry(user.id.clone())
                .or_insert_with(|| TokenBucket::new(app.config.message_rate))
                .try_take()
        } else {
            self.bucket.try_take()
        };
        match took {
            true => Ok(true),
            false if broken("limits.message-rate") => Err(RATE_CLOSE),
            false => Ok(false),
        }
    }
}

/// Whether a frame takes a token: every text or binary frame, or (the
/// `limits.rate-every-frame` break) only text that parses as JSON.
pub(crate) fn rated(incoming: Option<&Incoming>) -> bool {
    match incoming {
        Some(Incoming::Text(text)) if broken("limits.rate-every-frame") => {
            serde_json::from_str::<serde_json::Value>(text).is_ok()
        }
        Some(Incoming::Binary) => !broken("limits.rate-every-frame"),
        Some(Incoming::Text(_)) => true,
        _ => false,
    }
}

/// Whether a message that found the bucket empty is acted on all the same
/// (the `limits.limited-not-acted-on` break: told, then served).
pub(crate) fn served_when_limited() -> bool {
    broken("limits.limited-not-acted-on")
}

/// Reads afresh what the upgrade decided before `message` is acted on: the
/// user still exists, and a user typing in a board the socket joined is
/// still a member of it. (The `rooms.typing-not-joined` break reads the
/// membership of a board not joined too.)
pub(crate) fn recheck(
    app: &App,
    user: &User,
    socket: SocketId,
    message: &ClientMessage,
) -> Result<(), Goodbye> {
    if !broken("recheck.deleted-user") && matches!(app.db.user(&user.id), Ok(None)) {
        return Err(USER_GONE);
    }
    if let ClientMessage::Typing { board_id } = message
        && (app.rooms.contains(board_id, socket) || broken("rooms.typing-not-joined"))
        && !broken("recheck.membership")
        && matches!(app.db.is_member(board_id, &user.id), Ok(false))
    {
        return Err(FORBIDDEN);
    }
    Ok(())
}

/// At every ping tick, reads afresh what a socket that only listens relies
/// on: its session (cookie and ticket sockets), its user, and its user's
/// membership of each board it is in. A database that cannot answer ends
/// nothing: the next tick asks again.
pub(crate) fn recheck_listener(
    app: &App,
    user: &User,
    session: Option<&Session>,
    socket: SocketId,
) -> Result<(), Goodbye> {
    if let Some(session) = session
        && !broken("recheck.listener-session")
        && let Ok(current) = app.db.session_by_key(&session.key)
        && current.is_none_or(|current| current.is_expired())
    {
        return Err(ENDED);
    }
    if !broken("recheck.listener-user") && matches!(app.db.user(&user.id), Ok(None)) {
        return Err(USER_GONE);
    }
    if !broken("recheck.listener-membership") {
        for board_id in app.rooms.boards_of(socket) {
            if matches!(app.db.is_member(&board_id, &user.id), Ok(false)) {
                return Err(FORBIDDEN);
            }
        }
    }
    Ok(())
}

/// The socket's place among its user's open sockets, held for its life.
pub(crate) fn socket_slot(
    app: &App,
    user: &User,
    session: Option<&Session>,
) -> Result<SocketSlot, Goodbye> {
    // The break: the sockets are counted per session, not per user.
    let holder = match session {
        Some(session) if broken("limits.sockets-across-sessions") => &session.key,
        _ => &user.id,
    };
    app.user_sockets
        .try_open(holder, app.config.max_sockets_per_user)
        .ok_or(TOO_MANY)
}

/// Where the slot is claimed: before the greeting, or (the
/// `limits.sockets-per-user` break) after it, so that one socket too many
/// has already been told it is authenticated.
pub(crate) fn slot_before_greeting() -> bool {
    !broken("limits.sockets-per-user")
}
