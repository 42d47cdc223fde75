//! Rows `ws.*`: authenticating the upgrade with a cookie or a token in the URL, and the rejections.

use serde_json::json;

use super::{Ctx, member, other_member, unknown_secret};
use crate::client::{FRAME_LIMIT, Upgrade};
use crate::failure::Failure;
use crate::rows::{FRESH, Row, SIGNED_IN, check};

/// The rows this module grades, in the order they are reported.
pub(crate) static ROWS: &[Row] = &[
    Row {
        id: "ws.cookie",
        exercise: 1,
        retired_after: None,
        name: "a cookie upgrade is answered with the authenticated frame",
        book: "cookie-upgrade.md#reading-the-cookie-in-the-upgrade",
        setup: SIGNED_IN,
        hint: "read_credential has read the cookie already: in authenticate_cookie, look up the session it names, then the session's user, and in send_authenticated send {\"type\":\"authenticated\",\"user\":U} as the first frame.",
        check: check!(cookie_socket),
    },
    Row {
        id: "ws.cookie-own-user",
        exercise: 1,
        retired_after: None,
        name: "a cookie socket is its own session's user, not the last one to log in",
        book: "cookie-upgrade.md#reading-the-cookie-in-the-upgrade",
        // Real logins: the mistake this row catches remembers the last
        // login in the server's memory, which kept sessions never reach.
        setup: FRESH,
        hint: "In authenticate_cookie, take the user from the session the cookie names (the session row, then its user row), never from the latest login or any other state shared between requests.",
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
        setup: SIGNED_IN,
        hint: "In Rejection::answer, give NoCredential the error frame Unauthorized and close 4001 'Unauthorized', and in reject send the error frame (when there is one) before the close.",
        check: check!(no_credential),
    },
    Row {
        id: "ws.unknown-session",
        exercise: 2,
        retired_after: None,
        name: "an unknown or empty session id gets Invalid session and close 4001",
        book: "cookie-upgrade.md#rejecting-a-socket",
        setup: SIGNED_IN,
        hint: "authenticate_cookie turns an unknown (or empty) session into UnknownSession; in Rejection::answer it gets {\"error\":\"Invalid session\"} and close 4001 'Invalid session', not Unauthorized: a cookie was sent.",
        check: check!(unknown_session),
    },
    Row {
        id: "ws.deleted-user",
        exercise: 2,
        retired_after: None,
        name: "a session whose user was deleted is closed 4001 User not found",
        book: "cookie-upgrade.md#rejecting-a-socket",
        setup: SIGNED_IN,
        hint: "authenticate_cookie turns a session whose user is gone into UserNotFound; in Rejection::answer it gets close 4001 'User not found' (an error frame before it is allowed).",
        check: check!(deleted_user),
    },
    Row {
        id: "ws.token",
        exercise: 4,
        retired_after: None,
        name: "/ws?token= is answered with the authenticated frame",
        book: "token-in-url.md#reading-the-token",
        setup: SIGNED_IN,
        hint: "In with_token, let the token authenticate the socket, and in authenticate_token look up the token's user in the database, so that the socket is greeted as that user.",
        check: check!(token_socket),
    },
    Row {
        id: "ws.token-wins",
        exercise: 4,
        retired_after: None,
        name: "a token parameter wins over a cookie and never falls back to it",
        book: "token-in-url.md#which-credential-wins",
        setup: SIGNED_IN,
        hint: "In with_token, a token parameter (even an empty one) decides: the socket is a token socket, and a bad token is never retried as the cookie.",
        check: check!(token_wins),
    },
    Row {
        id: "ws.token-invalid",
        exercise: 4,
        retired_after: None,
        name: "an unknown or empty token gets Invalid token and close 4001",
        book: "token-in-url.md#reading-the-token",
        setup: SIGNED_IN,
        hint: "In authenticate_token, a token nobody issued (an empty one too) is InvalidToken; in Rejection::answer it gets {\"error\":\"Invalid token\"}, then close 4001 'Invalid token'.",
        check: check!(token_invalid),
    },
    Row {
        id: "ws.token-first",
        exercise: 4,
        retired_after: None,
        name: "with several token parameters, the first one counts",
        book: "token-in-url.md#reading-the-token",
        setup: SIGNED_IN,
        hint: "read_credential hands with_token the first `token` of the query (it walks the pairs in order; a map of the query would keep the last): authenticate with that one, good or bad.",
        check: check!(token_first),
    },
];

pub(crate) async fn cookie_socket(ctx: Ctx) -> Result<(), Failure> {
    let mut ws = ctx.cookie_socket(member()).await?;
    // The socket stays open and says nothing more until asked. Exercise 1
    // handles no messages, so there is no probe to ask with: a short wait.
    ws.expect_quiet().await
}

/// Two users log in before either upgrades, the other one last: each
/// socket must be greeted as the user of its own session, whoever logged
/// in most recently.
pub(crate) async fn cookie_own_user(ctx: Ctx) -> Result<(), Failure> {
    let first = member();
    let last = other_member(first);
    let first_session = ctx.session(first).await?;
    let last_session = ctx.session(last).await?;
    let label = format!("{} (after {} logged in)", first.username, last.username);
    ctx.authenticated(&label, Upgrade::cookie(&first_session), first)
        .await?;
    ctx.authenticated(last.username, Upgrade::cookie(&last_session), last)
        .await
        .map(|_| ())
}

pub(crate) async fn no_credential(ctx: Ctx) -> Result<(), Failure> {
    let mut ws = ctx.socket("anonymous", Upgrade::bare()).await?;
    ws.expect_rejection("Unauthorized", 4001, "Unauthorized")
        .await
}

pub(crate) async fn unknown_session(ctx: Ctx) -> Result<(), Failure> {
    for (label, session) in [("unknown", unknown_secret()), ("empty", String::new())] {
        let mut ws = ctx.socket(label, Upgrade::cookie(&session)).await?;
        ws.expect_rejection("Invalid session", 4001, "Invalid session")
            .await?;
    }
    Ok(())
}

pub(crate) async fn deleted_user(ctx: Ctx) -> Result<(), Failure> {
    let user = member();
    let session = ctx.session(user).await?;
    ctx.sql("DELETE FROM users WHERE id = ?1", vec![json!(user.id)])
        .await?;
    let mut ws = ctx.socket(user.username, Upgrade::cookie(&session)).await?;
    ws.expect_close_allowing_error(4001, "User not found", FRAME_LIMIT)
        .await
        .map(|_| ())
}

pub(crate) async fn token_socket(ctx: Ctx) -> Result<(), Failure> {
    let user = member();
    let token = ctx.token_for(user).await?;
    ctx.authenticated(user.username, Upgrade::token(&token), user)
        .await
        .map(|_| ())
}

pub(crate) async fn token_wins(ctx: Ctx) -> Result<(), Failure> {
    let token_user = member();
    let cookie_user = other_member(token_user);
    let token = ctx.token_for(token_user).await?;
    let session = ctx.session(cookie_user).await?;
    let cookie = format!("session={session}");
    // Each label names both credentials' owners: the request line shows
    // only secrets, and which user's cookie came along is the point.
    let with_cookie = format!("and {}'s cookie", cookie_user.username);
    let both = Upgrade::token(&token).header("Cookie", &cookie);
    let label = format!("{}'s token {with_cookie}", token_user.username);
    ctx.authenticated(&label, both, token_user).await?;
    for (token, bad) in [
        ("a bad token", unknown_secret()),
        ("an empty token", String::new()),
    ] {
        let label = format!("{token} {with_cookie}");
        let mut ws = ctx
            .socket(&label, Upgrade::token(&bad).header("Cookie", &cookie))
            .await?;
        ws.expect_rejection("Invalid token", 4001, "Invalid token")
            .await?;
    }
    Ok(())
}

pub(crate) async fn token_invalid(ctx: Ctx) -> Result<(), Failure> {
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
pub(crate) async fn token_first(ctx: Ctx) -> Result<(), Failure> {
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
