//! Rows `limits.*`: how many sockets one user may hold, and how fast one
//! socket may send (exercise 9).

use std::time::Duration;

use serde_json::json;

use super::rooms::{BOARD_1, message};
use super::{Ctx, member};
use crate::client::{FRAME_LIMIT, Upgrade, probe};
use crate::failure::Failure;
use crate::rows::{Row, Setup, check};

/// `limits.sockets-per-user` runs its server with this limit.
const SOCKETS_SETTING: (&str, &str) = ("MAX_SOCKETS_PER_USER", "2");
const MAX_SOCKETS: usize = 2;

/// `limits.message-rate` runs its server with this rate.
const RATE_SETTING: (&str, &str) = ("MESSAGE_RATE", "5");
const RATE: usize = 5;

/// How long a closed socket's slot may take to come back: the server lets
/// go of it once the socket's task has ended, a moment after the close.
const SLOT_RETURN_LIMIT: Duration = Duration::from_secs(1);
const SLOT_RETRY: Duration = Duration::from_millis(50);

/// The rows this module grades, in the order they are reported.
pub(crate) static ROWS: &[Row] = &[
    Row {
        id: "limits.sockets-per-user",
        exercise: 9,
        retired_after: None,
        name: "one socket over MAX_SOCKETS_PER_USER is closed 1008, the others stay, and a closed socket frees its place",
        book: "long-lived.md#how-many-sockets",
        setup: Setup::SignedIn(&[SOCKETS_SETTING]),
        hint: "In connect, call take_socket_slot before the socket is greeted and hold its slot for the socket's life; in take_socket_slot, one over MAX_SOCKETS_PER_USER is TooManyConnections, closed 1008 'Too many connections'.",
        check: check!(sockets_per_user),
    },
    Row {
        id: "limits.message-rate",
        exercise: 9,
        retired_after: None,
        name: "over MESSAGE_RATE a second, a message gets Rate limited; a second later they are acted on again",
        book: "long-lived.md#how-fast",
        setup: Setup::SignedIn(&[RATE_SETTING]),
        hint: "In serve_socket, take from the socket's bucket (MESSAGE_RATE) for every text or binary frame before acting on it; an empty bucket answers {\"error\":\"Rate limited\"} and leaves the socket open.",
        check: check!(message_rate),
    },
    Row {
        id: "limits.sockets-across-sessions",
        exercise: 9,
        retired_after: None,
        name: "MAX_SOCKETS_PER_USER counts the user's sockets whatever opened them",
        book: "long-lived.md#how-many-sockets",
        setup: Setup::SignedIn(&[SOCKETS_SETTING]),
        hint: "In take_socket_slot, count the sockets by the user's id, not by the session or the credential that opened them: a cookie socket and a token socket of one user share the limit.",
        check: check!(sockets_across_sessions),
    },
    Row {
        id: "limits.rate-per-socket",
        exercise: 9,
        retired_after: None,
        name: "each socket has a MESSAGE_RATE bucket of its own",
        book: "long-lived.md#how-fast",
        setup: Setup::SignedIn(&[RATE_SETTING]),
        hint: "In serve_socket, make the TokenBucket for this socket alone (a local of serve_socket), not one per user or one for the server: two sockets of one user may each send MESSAGE_RATE messages a second.",
        check: check!(rate_per_socket),
    },
    Row {
        id: "limits.rate-every-frame",
        exercise: 9,
        retired_after: None,
        name: "every text or binary frame takes a token, before it is parsed",
        book: "long-lived.md#how-fast",
        setup: Setup::SignedIn(&[RATE_SETTING]),
        hint: "In serve_socket, take from the bucket for every text or binary frame as it arrives, before it is parsed: a binary frame or text that is not JSON costs a token too.",
        check: check!(rate_every_frame),
    },
    Row {
        id: "limits.limited-not-acted-on",
        exercise: 9,
        retired_after: None,
        name: "a message that finds the bucket empty is not acted on",
        book: "long-lived.md#how-fast",
        setup: Setup::SignedIn(&[RATE_SETTING]),
        hint: "In serve_socket, a frame that finds the bucket empty gets {\"error\":\"Rate limited\"} and nothing else: answer it instead of handling it, never before handling it.",
        check: check!(limited_not_acted_on),
    },
];

pub(crate) async fn sockets_per_user(ctx: Ctx) -> Result<(), Failure> {
    let user = member();
    let session = ctx.session(user).await?;
    let mut open = Vec::new();
    for number in 1..=MAX_SOCKETS {
        let label = format!("{}-{number}", user.username);
        open.push(
            ctx.authenticated(&label, Upgrade::cookie(&session), user)
                .await?,
        );
    }
    let mut extra = ctx
        .socket("one-too-many", Upgrade::cookie(&session))
        .await?;
    extra
        .expect_close_allowing_error(1008, "Too many connections", FRAME_LIMIT)
        .await?;
    for ws in &mut open {
        ws.probe().await?;
    }
    if let Some(ws) = open.pop() {
        ws.close(1000).await?;
    }
    // The place comes back once the server's task for the closed socket has
    // ended; try again for a bounded time.
    let deadline = tokio::time::Instant::now() + SLOT_RETURN_LIMIT;
    loop {
        let mut again = ctx
            .socket("after-a-close", Upgrade::cookie(&session))
            .await?;
        let event = again.next_event(FRAME_LIMIT).await;
        if event
            .json()
            .is_some_and(|frame| frame == user.authenticated())
        {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(Failure::new(
                again.request(),
                format!(
                    "the authenticated frame: one of the {MAX_SOCKETS} sockets was closed, so its place is free"
                ),
                event.describe(),
            ));
        }
        tokio::time::sleep(SLOT_RETRY).await;
    }
}

pub(crate) async fn message_rate(ctx: Ctx) -> Result<(), Failure> {
    // A new socket's bucket starts full: RATE messages sent at once are all
    // acted on, and one more is not.
    let mut ws = ctx.cookie_socket(member()).await?;
    for _ in 0..=RATE {
        ws.send_json(&probe()).await?;
    }
    for _ in 0..RATE {
        ws.expect_json(&unknown_type()).await?;
    }
    ws.expect_json(&rate_limited()).await?;
    // The bucket refills with time, and nothing but the clock says when.
    tokio::time::sleep(Duration::from_secs(1)).await;
    ws.probe().await
}

/// A cookie socket and a token socket of one user fill its two places: a
/// third socket is one too many, whichever credential each came with.
pub(crate) async fn sockets_across_sessions(ctx: Ctx) -> Result<(), Failure> {
    let user = member();
    let session = ctx.session(user).await?;
    let token = ctx.issue_token(&session).await?;
    let mut cookie_ws = ctx
        .authenticated(user.username, Upgrade::cookie(&session), user)
        .await?;
    let token_label = format!("{}-token", user.username);
    let mut token_ws = ctx
        .authenticated(&token_label, Upgrade::token(&token), user)
        .await?;
    let mut extra = ctx
        .socket(
            "one-too-many (after a cookie and a token socket)",
            Upgrade::cookie(&session),
        )
        .await?;
    extra
        .expect_close_allowing_error(1008, "Too many connections", FRAME_LIMIT)
        .await?;
    cookie_ws.probe().await?;
    token_ws.probe().await
}

/// Two sockets of one user each send one more than a full bucket's worth
/// at once: each is answered as usual until its own bucket is empty, never
/// sooner, as it would be if one drew on the other's.
pub(crate) async fn rate_per_socket(ctx: Ctx) -> Result<(), Failure> {
    let user = member();
    let session = ctx.session(user).await?;
    let mut sockets = Vec::new();
    for number in 1..=2 {
        let label = format!("{}-{number}", user.username);
        sockets.push(
            ctx.authenticated(&label, Upgrade::cookie(&session), user)
                .await?,
        );
    }
    for ws in &mut sockets {
        for _ in 0..=RATE {
            ws.send_json(&probe()).await?;
        }
    }
    for ws in &mut sockets {
        let answers = std::iter::repeat_n(unknown_type(), RATE).chain([rate_limited()]);
        for (number, expected) in answers.enumerate() {
            let event = ws.next_event(FRAME_LIMIT).await;
            if !event.json().is_some_and(|frame| frame == expected) {
                return Err(Failure::new(
                    ws.request().after(&format!(
                        "two sockets of {}, {} probes sent on each at once (MESSAGE_RATE={RATE}); ",
                        user.username,
                        RATE + 1
                    )),
                    format!(
                        "answer {} on this socket: frame {expected}, from a bucket of its own",
                        number + 1
                    ),
                    event.describe(),
                ));
            }
        }
    }
    Ok(())
}

/// A full bucket's worth of frames that do not parse (binary, text that is
/// not JSON) empties it as well as any other message would.
pub(crate) async fn rate_every_frame(ctx: Ctx) -> Result<(), Failure> {
    let mut ws = ctx.cookie_socket(member()).await?;
    for number in 0..RATE {
        if number % 2 == 0 {
            ws.send_binary(b"not json").await?;
        } else {
            ws.send_text("not json").await?;
        }
    }
    ws.send_json(&probe()).await?;
    let invalid = json!({"error": "Invalid JSON"});
    for _ in 0..RATE {
        ws.expect_json(&invalid).await?;
    }
    ws.expect_json(&rate_limited()).await.map(|_| ())
}

/// A join that finds the bucket empty is answered Rate limited, and the
/// board is not joined: nothing follows the answer.
pub(crate) async fn limited_not_acted_on(ctx: Ctx) -> Result<(), Failure> {
    let mut ws = ctx.cookie_socket(member()).await?;
    for _ in 0..RATE {
        ws.send_json(&probe()).await?;
    }
    ws.send_json(&message("join", BOARD_1)).await?;
    for _ in 0..RATE {
        ws.expect_json(&unknown_type()).await?;
    }
    ws.expect_json(&rate_limited()).await?;
    // A probe would need a token the bucket has not got back yet, and an
    // acted-on join answers at once: a short wait for nothing is enough.
    ws.expect_quiet().await
}

fn unknown_type() -> serde_json::Value {
    json!({"error": "Unknown message type"})
}

fn rate_limited() -> serde_json::Value {
    json!({"error": "Rate limited"})
}
