//! Rows `limits.*`: how many sockets one user may hold, and how fast one
//! socket may send (exercise 9).

use std::time::Duration;

use serde_json::json;

use super::{Ctx, member};
use crate::client::{Upgrade, probe};
use crate::report::Failure;
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
pub static ROWS: &[Row] = &[
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
];

pub async fn sockets_per_user(ctx: Ctx) -> Result<(), Failure> {
    let user = member();
    let session = ctx.login(user).await?;
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
        .expect_close_allowing_error(1008, "Too many connections", crate::client::FRAME_LIMIT)
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
        let event = again.next_event(crate::client::FRAME_LIMIT).await;
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

pub async fn message_rate(ctx: Ctx) -> Result<(), Failure> {
    // A new socket's bucket starts full: RATE messages sent at once are all
    // acted on, and one more is not.
    let mut ws = ctx.cookie_socket(member()).await?;
    for _ in 0..=RATE {
        ws.send_json(&probe()).await?;
    }
    let unknown = json!({"error": "Unknown message type"});
    for _ in 0..RATE {
        ws.expect_json(&unknown).await?;
    }
    ws.expect_json(&json!({"error": "Rate limited"})).await?;
    // The bucket refills with time, and nothing but the clock says when.
    tokio::time::sleep(Duration::from_secs(1)).await;
    ws.probe().await
}
