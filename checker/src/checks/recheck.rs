//! Rows `recheck.*`: what the upgrade decided is read afresh before a
//! message is acted on, and at every ping tick for a socket that only
//! listens (exercise 9).
//!
//! The checker changes the database behind the server's back, as an
//! administrator would, while the socket stays open. The listener rows never
//! send a message: only the server's tick can notice the change, within
//! 2 x `PING_INTERVAL_MS` + 1 second.

use std::time::Duration;

use serde_json::json;

use super::rooms::{BOARD_1, join, message, two_in_board_1, user_left};
use super::{Ctx, member, unix_now};
use crate::client::{Upgrade, Ws};
use crate::failure::Failure;
use crate::rows::{Row, SIGNED_IN, Setup, check};

/// The listener rows' `PING_INTERVAL_MS`.
const PING_SETTING: (&str, &str) = ("PING_INTERVAL_MS", "200");

/// The contract's bound for a listener (2 x 200 ms + 1 s), plus slack for
/// scheduling on a busy machine.
const LISTENER_LIMIT: Duration = Duration::from_millis(2 * 200 + 1_000 + 100);

/// The rows this module grades, in the order they are reported.
pub(crate) static ROWS: &[Row] = &[
    Row {
        id: "recheck.deleted-user",
        exercise: 9,
        retired_after: None,
        name: "a user deleted while connected gets User not found and close 4001 at the next message",
        book: "long-lived.md#a-decision-goes-stale",
        setup: SIGNED_IN,
        hint: "In recheck, called before a message is acted on, read the user from the database again; when it is gone, end the socket as UserGone, which finish answers with User not found and 4001.",
        check: check!(deleted_user),
    },
    Row {
        id: "recheck.membership",
        exercise: 9,
        retired_after: None,
        name: "typing after the membership was removed gets Forbidden and close 4003; the others hear user_left",
        book: "long-lived.md#a-decision-goes-stale",
        setup: SIGNED_IN,
        hint: "In recheck, before acting on typing, read the membership again; when it is gone, end the socket as Forbidden (4003), which takes it out of its boards.",
        check: check!(membership),
    },
    Row {
        id: "recheck.listener-user",
        exercise: 9,
        retired_after: None,
        name: "a socket that only listens, token sockets included, gets User not found and close 4001 by a ping tick after its user is deleted",
        book: "long-lived.md#the-socket-that-only-listens",
        setup: Setup::SignedIn(&[PING_SETTING]),
        hint: "In serve_socket, at every ping tick, call recheck_listener; there, read the socket's user afresh, whatever credential opened the socket, and end it as UserGone when the user is gone.",
        check: check!(listener_user),
    },
    Row {
        id: "recheck.listener-membership",
        exercise: 9,
        retired_after: None,
        name: "a socket that only listens gets Forbidden and close 4003 by a ping tick after its membership is removed; the others hear user_left",
        book: "long-lived.md#the-socket-that-only-listens",
        setup: Setup::SignedIn(&[PING_SETTING]),
        hint: "In recheck_listener, called at every ping tick, read afresh the user's membership of every board the socket is in, and end it as Forbidden (4003) when one is gone.",
        check: check!(listener_membership),
    },
    Row {
        id: "recheck.listener-session",
        exercise: 9,
        retired_after: None,
        name: "a cookie socket that only listens is closed 4002 by a ping tick after its session's expires_at is moved into the past",
        book: "long-lived.md#the-socket-that-only-listens",
        setup: Setup::SignedIn(&[PING_SETTING]),
        hint: "In recheck_listener, called at every ping tick, read a cookie or ticket socket's session afresh: the expiry the socket was opened with may have changed since, and a session gone or past its expires_at ends the socket as SessionEnded.",
        check: check!(listener_session),
    },
];

pub(crate) async fn deleted_user(ctx: Ctx) -> Result<(), Failure> {
    let (user, mut ws, _, _other) = two_in_board_1(&ctx).await?;
    ctx.sql("DELETE FROM users WHERE id = ?1", vec![json!(user.id)])
        .await?;
    ws.send_json(&message("typing", BOARD_1)).await?;
    ws.expect_rejection("User not found", 4001, "User not found")
        .await
}

pub(crate) async fn membership(ctx: Ctx) -> Result<(), Failure> {
    let (user, mut ws, _, mut other) = two_in_board_1(&ctx).await?;
    ctx.sql(
        "DELETE FROM board_members WHERE board_id = ?1 AND user_id = ?2",
        vec![json!(BOARD_1), json!(user.id)],
    )
    .await?;
    ws.send_json(&message("typing", BOARD_1)).await?;
    ws.expect_rejection("Forbidden", 4003, "Forbidden").await?;
    other.expect_json(&user_left(user, 1)).await.map(|_| ())
}

/// The first frame `ws` gets must be `{"error": error}` within
/// [`LISTENER_LIMIT`], then the close.
async fn expect_listener_rejection(
    ws: &mut Ws,
    error: &str,
    code: u16,
    reason: &str,
) -> Result<(), Failure> {
    ws.expect_json_within(&json!({ "error": error }), LISTENER_LIMIT)
        .await?;
    ws.expect_close(code, reason).await
}

pub(crate) async fn listener_user(ctx: Ctx) -> Result<(), Failure> {
    let user = member();
    let token = ctx.token_for(user).await?;
    let label = format!("{}-token", user.username);
    let mut ws = ctx
        .authenticated(&label, Upgrade::token(&token), user)
        .await?;
    join(&mut ws, BOARD_1, 1).await?;
    ctx.sql("DELETE FROM users WHERE id = ?1", vec![json!(user.id)])
        .await?;
    expect_listener_rejection(&mut ws, "User not found", 4001, "User not found").await
}

pub(crate) async fn listener_membership(ctx: Ctx) -> Result<(), Failure> {
    let (user, mut ws, _, mut other) = two_in_board_1(&ctx).await?;
    ctx.sql(
        "DELETE FROM board_members WHERE board_id = ?1 AND user_id = ?2",
        vec![json!(BOARD_1), json!(user.id)],
    )
    .await?;
    expect_listener_rejection(&mut ws, "Forbidden", 4003, "Forbidden").await?;
    other.expect_json(&user_left(user, 1)).await.map(|_| ())
}

pub(crate) async fn listener_session(ctx: Ctx) -> Result<(), Failure> {
    let user = member();
    let mut ws = ctx.cookie_socket(user).await?;
    join(&mut ws, BOARD_1, 1).await?;
    let past = unix_now() as i64 - 60;
    ctx.sql(
        "UPDATE sessions SET expires_at = ?1 WHERE user_id = ?2",
        vec![json!(past), json!(user.id)],
    )
    .await?;
    ws.expect_close_allowing_error(4002, "Session expired", LISTENER_LIMIT)
        .await
        .map(|_| ())
}
