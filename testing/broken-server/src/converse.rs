//! An authenticated socket's life after its greeting: the serve loop
//! (frames in, room frames out, heartbeats, the session's end, shutdown)
//! and what each message does, with the breaks of the rooms, messages and
//! close rows.

use std::{
    collections::HashSet,
    sync::{Mutex, MutexGuard},
};

use board::{
    App,
    db::{Session, User, unix_now},
    message::{BadMessage, ClientMessage},
    rooms::{Mailbox, SocketId},
    socket::{Incoming, Socket},
};
use serde_json::{Value, json};

use crate::{
    ENDED, FELL_BEHIND, FORBIDDEN, GOING_AWAY, Goodbye, NORMAL, TOO_BIG,
    breaks::broken,
    cluster,
    long_lived::{self, Beat, Heartbeat, PING_TIMEOUT},
};

/// Resolves when the cookie socket's session ends (never for a token socket).
async fn session_over(app: &App, session: Option<&Session>) {
    let Some(session) = session else {
        return std::future::pending().await;
    };
    if broken("expiry.while-connected") {
        // Pretend the session lives ten years: only a logout ends it.
        let mut immortal = session.clone();
        immortal.expires_at = unix_now() + 10 * 365 * 86_400;
        app.session_ended(&immortal).await;
    } else if broken("logout.closes-sockets") {
        tokio::time::sleep(session.time_left()).await;
    } else {
        app.session_ended(session).await;
    }
}

/// Serves an authenticated socket; returns how to say goodbye.
pub(crate) async fn converse(
    app: &App,
    socket: &mut Socket,
    user: &User,
    session: Option<&Session>,
    mailbox: &mut Mailbox,
) -> Option<Goodbye> {
    let over = session_over(app, session);
    tokio::pin!(over);
    let mut heartbeat = Heartbeat::new(app);
    loop {
        let silent_for = socket.silent_for();
        let incoming = tokio::select! {
            incoming = socket.recv() => incoming,
            frame = mailbox.next() => {
                let Some(frame) = frame else {
                    // The frames that overflow a queue at shutdown are the
                    // shutdown's own (the `shutdown.every-socket` break
                    // forgets it).
                    if app.is_shutting_down() && !broken("shutdown.every-socket") {
                        return Some(GOING_AWAY);
                    }
                    return Some(FELL_BEHIND);
                };
                socket.send_json(&frame).await;
                continue;
            }
            beat = heartbeat.next(silent_for) => {
                match beat {
                    Beat::Ping if heartbeat.pings() => {
                        socket.ping().await;
                        if let Err(goodbye) =
                            long_lived::recheck_listener(app, user, session, mailbox.id)
                        {
                            return Some(goodbye);
                        }
                    }
                    Beat::Ping => {}
                    Beat::Deadline if heartbeat.gone_silent(socket.silent_for()) => {
                        return Some(PING_TIMEOUT);
                    }
                    Beat::Deadline => {}
                }
                continue;
            }
            () = &mut over => return Some(ENDED),
            () = app.shutting_down() => return Some(GOING_AWAY),
        };
        if long_lived::rated(incoming.as_ref()) {
            match heartbeat.take(app, user) {
                Ok(true) => {}
                Ok(false) => {
                    socket.send_error("Rate limited").await;
                    if !long_lived::served_when_limited() {
                        continue;
                    }
                }
                Err(goodbye) => return Some(goodbye),
            }
        }
        match incoming {
            None => return None,
            Some(Incoming::Close) => return (!broken("close.normal")).then_some(NORMAL),
            Some(Incoming::TooBig) => return Some(TOO_BIG),
            Some(Incoming::Binary) if broken("messages.invalid-json") => {}
            Some(Incoming::Binary) => socket.send_error("Invalid JSON").await,
            Some(Incoming::Text(text)) => {
                if let Err(goodbye) = act(app, socket, user, mailbox, &text).await {
                    return Some(goodbye);
                }
            }
        }
    }
}

/// Who sits in which board: `(board, socket, user id)`, kept beside board's
/// rooms for the breaks that need users (viewer counts, every board).
static SEATS: Mutex<Vec<(String, SocketId, String)>> = Mutex::new(Vec::new());

pub(crate) fn seats() -> MutexGuard<'static, Vec<(String, SocketId, String)>> {
    SEATS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Acts on one text frame of an authenticated socket.
async fn act(
    app: &App,
    socket: &mut Socket,
    user: &User,
    mailbox: &Mailbox,
    text: &str,
) -> Result<(), Goodbye> {
    let error = match ClientMessage::parse(text) {
        Ok(message) => {
            long_lived::recheck(app, user, mailbox.id, &message)?;
            return obey(app, socket, user, mailbox, message).await;
        }
        Err(BadMessage::InvalidMessage) if broken("messages.invalid-message") => {
            BadMessage::UnknownType
        }
        Err(BadMessage::UnknownType)
            if broken("messages.unknown-type")
                && serde_json::from_str::<Value>(text).is_ok_and(|v| v.get("type").is_none()) =>
        {
            BadMessage::InvalidMessage
        }
        Err(bad) => bad,
    };
    socket.send_error(error.error_text()).await;
    Ok(())
}

async fn obey(
    app: &App,
    socket: &mut Socket,
    user: &User,
    mailbox: &Mailbox,
    message: ClientMessage,
) -> Result<(), Goodbye> {
    let me = mailbox.id;
    match message {
        ClientMessage::Join { board_id: board } => {
            let member = app.db.is_member(&board, &user.id).unwrap_or(false)
                && !(broken("rooms.members") && board == "board-2" && user.id == "user-alice");
            if !broken("rooms.forbidden") && !member {
                return Err(FORBIDDEN);
            }
            let joined_now = app.rooms.join(&board, mailbox);
            let first_time = joined_now.is_some();
            if first_time {
                seats().push((board.clone(), me, user.id.clone()));
            }
            let here = joined_now.unwrap_or_else(|| app.rooms.viewers(&board));
            let viewers = if broken("rooms.viewers-count-sockets") {
                let seats = seats();
                let users: HashSet<&str> = seats
                    .iter()
                    .filter(|(seat, _, _)| *seat == board)
                    .map(|(_, _, user)| user.as_str())
                    .collect();
                users.len()
            } else {
                cluster::viewers(app, &board, here).await
            };
            if (first_time || broken("rooms.join-again")) && !broken("rooms.join") {
                let joined = json!({ "type": "user_joined", "user": user, "viewers": viewers });
                cluster::broadcast(app, &board, me, &joined).await;
            }
            let answer = json!({ "type": "joined", "boardId": board, "viewers": viewers });
            socket.send_json(&answer).await;
        }
        ClientMessage::Typing { board_id: board } if app.rooms.contains(&board, me) => {
            let typing = json!({ "type": "user_typing", "user": user });
            let boards: HashSet<String> = if broken("rooms.typing") {
                seats().iter().map(|(seat, _, _)| seat.clone()).collect()
            } else {
                HashSet::from([board])
            };
            for board in boards {
                cluster::broadcast(app, &board, me, &typing).await;
            }
        }
        ClientMessage::Leave { board_id: board } => match app.rooms.leave(&board, me) {
            Some(here) => {
                seats().retain(|(seat, socket, _)| !(*seat == board && *socket == me));
                let viewers = cluster::viewers(app, &board, here).await;
                let left = json!({ "type": "user_left", "user": user, "viewers": viewers });
                cluster::broadcast(app, &board, me, &left).await;
                if broken("rooms.leave") {
                    socket.send_json(&left).await;
                }
            }
            None => socket.send_error("Not in board").await,
        },
        ClientMessage::Typing { .. } => socket.send_error("Not in board").await,
        ClientMessage::Auth { .. } => socket.send_error("Already authenticated").await,
    }
    Ok(())
}
