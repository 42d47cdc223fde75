//! Rows `ws.*`: authenticating the upgrade with a cookie or a token in the URL, and the rejections.

use serde_json::json;

use super::{Ctx, member, other_member, unknown_secret};
use crate::client::{FRAME_LIMIT, Upgrade};
use crate::report::Failure;
use crate::rows::{FRESH, Row, check};

/// The rows this module grades, in the order they are reported.
pub static ROWS: &[Row] = &[
    Row {
        id: "ws.cookie",
        exercise: 1,
        retired_after: None,
        name: "a cookie upgrade is answered with the authenticated frame",
        book: "cookie-upgrade.md#reading-the-cookie-in-the-upgrade",
        setup: FRESH,
        hint: "Read the session cookie from the upgrade request's headers, look the user up, and send {\"type\":\"authenticated\",\"user\":U} first.",
        check: check!(cookie_socket),
    },
    Row {
        id: "ws.cookie-own-user",
        exercise: 1,
        retired_after: None,
        name: "a cookie socket is its own session's user, not the last one to log in",
        book: "cookie-upgrade.md#reading-the-cookie-in-the-upgrade",
        setup: FRESH,
        hint: "Take the user from the session the upgrade's cookie names (session row, then user row), never from the latest login or any other state shared between requests.",
        check: check!(cookie_own_user),
    },
    Row {
        id: "ws.no-credential",
        exercise: 2,
        // From exercise 5 on a socket without credentials waits for its auth
        // frame instead (the first-message rows grade that).
        retired_after: Some(4),
        name: "a socket without credentials gets Unauthorized and close 4001",
        book: "cookie-upgrade.md#rejecting-a-socket",
        setup: FRESH,
        hint: "Accept the upgrade, then send {\"error\":\"Unauthorized\"} and close with 4001 'Unauthorized'.",
        check: check!(no_credential),
    },
    Row {
        id: "ws.unknown-session",
        exercise: 2,
        retired_after: None,
        name: "an unknown or empty session id gets Invalid session and close 4001",
        book: "cookie-upgrade.md#rejecting-a-socket",
        setup: FRESH,
        hint: "A session cookie that is present but unknown (or empty) is Invalid session, not Unauthorized: send the frame, then close 4001.",
        check: check!(unknown_session),
    },
    Row {
        id: "ws.deleted-user",
        exercise: 2,
        retired_after: None,
        name: "a session whose user was deleted is closed 4001 User not found",
        book: "cookie-upgrade.md#rejecting-a-socket",
        setup: FRESH,
        hint: "Look the user up in the database at connect time; when the row is gone, close 4001 'User not found'.",
        check: check!(deleted_user),
    },
    Row {
        id: "ws.token",
        exercise: 4,
        retired_after: None,
        name: "/ws?token= is answered with the authenticated frame",
        book: "token-in-url.md#reading-the-token",
        setup: FRESH,
        hint: "Read the token query parameter of the upgrade, look up its user and send the authenticated frame.",
        check: check!(token_socket),
    },
    Row {
        id: "ws.token-wins",
        exercise: 4,
        retired_after: None,
        name: "a token parameter wins over a cookie and never falls back to it",
        book: "token-in-url.md#reading-the-token",
        setup: FRESH,
        hint: "Decide the approach from the request first (a token parameter, even empty, means token) and never try the cookie after a bad token.",
        check: check!(token_wins),
    },
    Row {
        id: "ws.token-invalid",
        exercise: 4,
        retired_after: None,
        name: "an unknown or empty token gets Invalid token and close 4001",
        book: "token-in-url.md#reading-the-token",
        setup: FRESH,
        hint: "An unknown or empty token gets {\"error\":\"Invalid token\"}, then close 4001 'Invalid token'.",
        check: check!(token_invalid),
    },
    Row {
        id: "ws.token-first",
        exercise: 4,
        retired_after: None,
        name: "with several token parameters, the first one counts",
        book: "token-in-url.md#reading-the-token",
        setup: FRESH,
        hint: "Take the first `token` of the query string (iterate over the pairs and stop at the first), not the last, which is what a map of the query keeps.",
        check: check!(token_first),
    },
];

pub async fn cookie_socket(ctx: Ctx) -> Result<(), Failure> {
    let mut ws = ctx.cookie_socket(member()).await?;
    // The socket stays open and says nothing more until asked. Exercise 1
    // handles no messages, so there is no probe to ask with: a short wait.
    ws.expect_quiet().await
}

/// Two users log in before either upgrades, the other one last: each
/// socket must be greeted as the user of its own session, whoever logged
/// in most recently.
pub async fn cookie_own_user(ctx: Ctx) -> Result<(), Failure> {
    let first = member();
    let last = other_member(first);
    let first_session = ctx.login(first).await?;
    let last_session = ctx.login(last).await?;
    let label = format!("{} (after {} logged in)", first.username, last.username);
    ctx.authenticated(&label, Upgrade::cookie(&first_session), first)
        .await?;
    ctx.authenticated(last.username, Upgrade::cookie(&last_session), last)
        .await
        .map(|_| ())
}

pub async fn no_credential(ctx: Ctx) -> Result<(), Failure> {
    let mut ws = ctx.socket("anonymous", Upgrade::bare()).await?;
    ws.expect_rejection("Unauthorized", 4001, "Unauthorized")
        .await
}

pub async fn unknown_session(ctx: Ctx) -> Result<(), Failure> {
    for (label, session) in [("unknown", unknown_secret()), ("empty", String::new())] {
        let mut ws = ctx.socket(label, Upgrade::cookie(&session)).await?;
        ws.expect_rejection("Invalid session", 4001, "Invalid session")
            .await?;
    }
    Ok(())
}

pub async fn deleted_user(ctx: Ctx) -> Result<(), Failure> {
    let user = member();
    let session = ctx.login(user).await?;
    ctx.sql("DELETE FROM users WHERE id = ?1", vec![json!(user.id)])
        .await?;
    let mut ws = ctx.socket(user.username, Upgrade::cookie(&session)).await?;
    ws.expect_close_allowing_error(4001, "User not found", FRAME_LIMIT)
        .await
        .map(|_| ())
}

pub async fn token_socket(ctx: Ctx) -> Result<(), Failure> {
    let user = member();
    let token = ctx.token_for(user).await?;
    ctx.authenticated(user.username, Upgrade::token(&token), user)
        .await
        .map(|_| ())
}

pub async fn token_wins(ctx: Ctx) -> Result<(), Failure> {
    let token_user = member();
    let cookie_user = other_member(token_user);
    let token = ctx.token_for(token_user).await?;
    let session = ctx.login(cookie_user).await?;
    let cookie = format!("session={session}");
    let both = Upgrade::token(&token).header("Cookie", &cookie);
    ctx.authenticated(token_user.username, both, token_user)
        .await?;
    for (label, bad) in [
        ("bad-token", unknown_secret()),
        ("empty-token", String::new()),
    ] {
        let mut ws = ctx
            .socket(label, Upgrade::token(&bad).header("Cookie", &cookie))
            .await?;
        ws.expect_rejection("Invalid token", 4001, "Invalid token")
            .await?;
    }
    Ok(())
}

pub async fn token_invalid(ctx: Ctx) -> Result<(), Failure> {
    for (label, bad) in [
        ("unknown-token", unknown_secret()),
        ("empty-token", String::new()),
    ] {
        let mut ws = ctx.socket(label, Upgrade::token(&bad)).await?;
        ws.expect_rejection("Invalid token", 4001, "Invalid token")
            .await?;
    }
    Ok(())
}

/// `/ws?token=A&token=B` is A's socket: the first parameter counts, whether
/// it is the good token or the bad one.
pub async fn token_first(ctx: Ctx) -> Result<(), Failure> {
    let user = member();
    let token = ctx.token_for(user).await?;
    let bad = unknown_secret();
    let good_first = Upgrade::token(&format!("{token}&token={bad}"));
    ctx.authenticated("good-token-first", good_first, user)
        .await?;
    let mut ws = ctx
        .socket(
            "bad-token-first",
            Upgrade::token(&format!("{bad}&token={token}")),
        )
        .await?;
    ws.expect_rejection("Invalid token", 4001, "Invalid token")
        .await
}
