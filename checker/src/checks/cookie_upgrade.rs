//! Rows of the cookie-upgrade chapter: the session cookie, the authenticated
//! frame of a cookie upgrade, and the sockets that are rejected.

use serde_json::json;

use super::{Ctx, ensure, member, unknown_secret};
use crate::client::{FRAME_LIMIT, Request, Upgrade};
use crate::cookie::session_cookie;
use crate::report::Failure;

/// PROTOCOL: at least 128 random bits; 22 characters is the shortest common
/// encoding of that (base64 without padding).
const SHORTEST_SESSION_ID: usize = 22;

pub async fn login_cookie(ctx: Ctx) -> Result<(), Failure> {
    let user = member();
    let request = Request::post("/api/login")
        .json(&json!({"username": user.username, "password": user.password}));
    let response = ctx.send(request.clone()).await?;
    let headers = response.headers_named("set-cookie");
    let shown = if headers.is_empty() {
        "no Set-Cookie header".to_owned()
    } else {
        format!("Set-Cookie: {}", headers.join(" | "))
    };
    let expected = "Set-Cookie: session=<id>; Path=/; HttpOnly; SameSite=Lax (any order and case, Max-Age allowed)";
    let good = session_cookie(headers).is_some_and(|cookie| {
        !cookie.value.is_empty()
            && cookie.has("httponly")
            && cookie
                .attribute("samesite")
                .flatten()
                .is_some_and(|v| v.eq_ignore_ascii_case("lax"))
            && cookie.attribute("path").flatten() == Some("/")
    });
    ensure(
        response.status == 200 && good,
        request.describe(),
        expected,
        format!("{}; {shown}", response.status),
    )
}

pub async fn random_ids(ctx: Ctx) -> Result<(), Failure> {
    let user = member();
    let first = ctx.login(user).await?;
    let second = ctx.login(user).await?;
    let request = format!("log {} in twice", user.username);
    ensure(
        first != second,
        &request,
        "two different session ids",
        format!("the same id twice: {first}"),
    )?;
    for id in [&first, &second] {
        let lower = id.to_ascii_lowercase();
        ensure(
            id.len() >= SHORTEST_SESSION_ID,
            &request,
            format!("session ids of at least {SHORTEST_SESSION_ID} characters (128 random bits)"),
            format!("{id} ({} characters)", id.len()),
        )?;
        ensure(
            !lower.contains(user.username) && !lower.contains(user.id),
            &request,
            "session ids that contain neither the username nor the user id",
            id.clone(),
        )?;
    }
    Ok(())
}

pub async fn cookie_socket(ctx: Ctx) -> Result<(), Failure> {
    let mut ws = ctx.cookie_socket(member()).await?;
    // The socket stays open and says nothing more until asked. Exercise 1
    // handles no messages, so there is no probe to ask with: a short wait.
    ws.expect_quiet().await
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
