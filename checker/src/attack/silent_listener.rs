//! The silent listener lab (exercise 9): the student's client joins
//! board-1 as Alice and only reads, while an administrator removes Alice
//! from the board's members.
//!
//! A server that re-checks only when a socket sends something never
//! notices: the client goes on receiving the board (the vulnerable target is
//! solution 8, which re-checks at no tick). Exercise 9 re-checks a listener
//! at every ping tick (`recheck_listener`), and closes it 4003 within
//! 2 x `PING_INTERVAL_MS` + 1 second of the removal.
//!
//! Both rows run the same steps, so their verdicts are comparable: remove
//! Alice, wait out the listener bound for a close, then have Bob type in
//! board-1 from the checker's socket and see whether the client hears it.

use std::time::Duration;

use serde_json::{Value, json};

use super::client::{Client, is_frame};
use super::join_any;
use crate::checks::rooms::{BOARD_1, message};
use crate::checks::{ALICE, BOB, Ctx};
use crate::client::FRAME_LIMIT;
use crate::failure::Failure;
use crate::rows::{Row, Setup, check};

/// The rows' `PING_INTERVAL_MS`.
const PING_SETTING: (&str, &str) = ("PING_INTERVAL_MS", "200");

/// The contract's bound for a listener (2 x 200 ms + 1 s), plus slack for
/// scheduling on a busy machine, as the `recheck.listener-*` rows allow.
const LISTENER_LIMIT: Duration = Duration::from_millis(2 * 200 + 1_000 + 100);

/// How long the client may take to connect and join.
const JOIN_LIMIT: Duration = Duration::from_secs(5);

/// The rows of the lab: the attack against solution 8, then against the
/// graded exercise 9.
pub static ROWS: &[Row] = &[
    Row {
        id: "attack.silent-listener.hears",
        exercise: 9,
        retired_after: None,
        name: "removed from board-1, your listening client still hears Bob type there on a server that re-checks only on messages",
        book: "long-lived.md#break-it-first-the-silent-listener",
        setup: Setup::SignedIn(&[PING_SETTING]),
        hint: "In attacks/silent-listener/main.rs, open a cookie socket with SESSION_COOKIE, join board-1, then only read: print every text frame, and the close code when the socket closes.",
        check: check!(hears),
    },
    Row {
        id: "attack.silent-listener.stopped",
        exercise: 9,
        retired_after: None,
        name: "against exercise 9, your listening client is closed 4003 within 2 x PING_INTERVAL_MS + 1 s of its removal",
        book: "long-lived.md#the-socket-that-only-listens",
        setup: Setup::SignedIn(&[PING_SETTING]),
        hint: "In serve_socket, at every ping tick, call recheck_listener; there, read the memberships of the socket's boards afresh and end the socket as Forbidden (4003) when one is gone.",
        check: check!(stopped),
    },
];

/// What became of the listener after its removal.
enum Fate {
    /// The client printed this close line within the bound.
    Closed(String),
    /// It stayed open and heard Bob type.
    Heard,
    /// It stayed open and heard nothing.
    Deaf,
}

pub async fn hears(ctx: Ctx) -> Result<(), Failure> {
    match listen(&ctx).await? {
        Fate::Heard => Ok(()),
        Fate::Closed(line) => Err(failure(&format!("the socket was closed: {line}"))),
        Fate::Deaf => Err(failure("no user_typing naming Bob")),
    }
}

pub async fn stopped(ctx: Ctx) -> Result<(), Failure> {
    let expected = format!("close 4003 within {LISTENER_LIMIT:?} of the removal");
    match listen(&ctx).await? {
        Fate::Closed(line) if line.trim() == "close 4003" => Ok(()),
        Fate::Closed(line) => Err(Failure::new(REQUEST, expected, line)),
        Fate::Heard => Err(Failure::new(
            REQUEST,
            expected,
            "still open, and it heard Bob type in board-1",
        )),
        Fate::Deaf => Err(Failure::new(REQUEST, expected, "no close line")),
    }
}

const REQUEST: &str = "your client as Alice: cookie socket, join board-1, then only reads; \
     the checker removes Alice from board-1's members, then Bob types in board-1";

fn failure(got: &str) -> Failure {
    Failure::new(
        REQUEST,
        "your client prints Bob's {\"type\":\"user_typing\"} frame: the socket still hears the board",
        got,
    )
}

/// The steps both rows run; what the client printed decides the fate.
async fn listen(ctx: &Ctx) -> Result<Fate, Failure> {
    let session = ctx.session(&ALICE).await?;
    let board = format!("ws://127.0.0.1:{}/ws", ctx.port());
    let cookie = format!("session={session}");
    let mut client = Client::start(ctx, &[("BOARD_WS", board), ("SESSION_COOKIE", cookie)])?;
    let joined = |line: &str| {
        serde_json::from_str::<Value>(line)
            .is_ok_and(|frame| frame["type"] == "joined" && frame["boardId"] == BOARD_1)
    };
    if client.wait_for(ctx, JOIN_LIMIT, joined).await.is_none() {
        return Err(Failure::new(
            REQUEST,
            "your client prints {\"type\":\"joined\",\"boardId\":\"board-1\",...}",
            client
                .panic()
                .unwrap_or_else(|| format!("no joined frame within {JOIN_LIMIT:?}")),
        ));
    }
    ctx.sql(
        "DELETE FROM board_members WHERE board_id = ?1 AND user_id = ?2",
        vec![json!(BOARD_1), json!(ALICE.id)],
    )
    .await?;
    let closed = |line: &str| line.starts_with("close ");
    if let Some(line) = client.wait_for(ctx, LISTENER_LIMIT, closed).await {
        return Ok(Fate::Closed(line));
    }
    let mut bob = ctx.cookie_socket(&BOB).await?;
    join_any(&mut bob).await?;
    bob.send_json(&message("typing", BOARD_1)).await?;
    let typing = json!({"type": "user_typing", "user": BOB.json()});
    let heard = client
        .wait_for(ctx, FRAME_LIMIT, |line| is_frame(line, &typing))
        .await;
    Ok(heard.map_or(Fate::Deaf, |_| Fate::Heard))
}
