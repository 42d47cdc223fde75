//! Rows of the close-codes chapter: expired and ended sessions (4002),
//! forbidden boards (4003), normal closure, messages too big (1009) and
//! shutting down (1001).

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use serde_json::json;

use super::{BOB, CAROL, Ctx, ensure, expect_response, member, unix_now};
use crate::client::{Request, Upgrade, seconds};
use crate::cookie::session_cookie;
use crate::report::Failure;
use crate::server::{STOP_GRACE, describe_status};

/// PROTOCOL gives a server 1 s to close the sockets of an ended session; the
/// rest is the checker's own scheduling slack.
const CLOSE_LIMIT: Duration = Duration::from_millis(1_200);

/// The largest message a server must accept (64 KiB).
const LARGEST_MESSAGE: usize = 65_536;

pub async fn expired_at_connect(ctx: Ctx) -> Result<(), Failure> {
    let user = member();
    let session = ctx.login(user).await?;
    let past = unix_now() as i64 - 60;
    let changed = ctx
        .sql(
            "UPDATE sessions SET expires_at = ?1 WHERE user_id = ?2",
            vec![json!(past), json!(user.id)],
        )
        .await?;
    ensure(
        changed > 0,
        format!(
            "UPDATE sessions SET expires_at = {past} WHERE user_id = '{}'",
            user.id
        ),
        "the session row of the login to change",
        "no row in the sessions table",
    )?;
    let mut ws = ctx.socket(user.username, Upgrade::cookie(&session)).await?;
    ws.expect_rejection("Session expired", 4002, "Session expired")
        .await
}

/// The row's server runs with `SESSION_TTL_SECS=1`.
pub async fn expired_while_connected(ctx: Ctx) -> Result<(), Failure> {
    // expires_at is the login second (rounded down) + 1: log in just after a
    // second begins, so nearly a whole second is left to open the sockets.
    let into_second = unix_now().fract();
    tokio::time::sleep(Duration::from_secs_f64(1.0 - into_second + 0.02)).await;
    let user = member();
    let session = ctx.login(user).await?;
    let token = ctx.issue_token(&session).await?;
    let mut cookie_ws = ctx
        .authenticated(user.username, Upgrade::cookie(&session), user)
        .await?;
    let token_label = format!("{}-token", user.username);
    let mut token_ws = ctx
        .authenticated(&token_label, Upgrade::token(&token), user)
        .await?;
    let expires_at = ctx
        .sql_integer(
            "SELECT MAX(expires_at) FROM sessions WHERE user_id = ?1",
            vec![json!(user.id)],
        )
        .await? as f64;

    let latest = expires_at + CLOSE_LIMIT.as_secs_f64();
    let limit = Duration::from_secs_f64((latest - unix_now()).max(0.0));
    cookie_ws
        .expect_close_allowing_error(4002, "Session expired", limit)
        .await?;
    let closed_at = unix_now();
    ensure(
        closed_at >= expires_at - 0.05,
        cookie_ws.request(),
        format!("close 4002 'Session expired' once the clock reaches expires_at ({expires_at})"),
        format!(
            "the close {:.2} s before expires_at",
            expires_at - closed_at
        ),
    )?;
    token_ws.probe().await
}

pub async fn logout_ok(ctx: Ctx) -> Result<(), Failure> {
    let user = member();
    let session = ctx.login(user).await?;
    let logout = Request::post("/api/logout").cookie(&session);
    let response = ctx.send(logout.clone()).await?;
    let cleared = session_cookie(response.headers_named("set-cookie")).is_some_and(|cookie| {
        cookie.value.is_empty() && cookie.attribute("max-age").flatten() == Some("0")
    });
    let set_cookie = response.headers_named("set-cookie").join(" | ");
    ensure(
        response.status == 204 && cleared,
        logout.describe(),
        "204 with Set-Cookie: session=; Path=/; Max-Age=0",
        format!("{}; Set-Cookie: {set_cookie}", response.describe()),
    )?;
    let unauthorized = json!({"error": "Unauthorized"});
    let me = Request::get("/api/me").cookie(&session);
    expect_response(&ctx, me, 401, &unauthorized).await?;
    expect_response(&ctx, Request::post("/api/logout"), 401, &unauthorized).await?;
    expect_response(&ctx, logout, 401, &unauthorized).await?;
    Ok(())
}

pub async fn logout_closes_sockets(ctx: Ctx) -> Result<(), Failure> {
    let user = member();
    let ended = ctx.login(user).await?;
    let kept = ctx.login(user).await?;
    let mut ended_ws = ctx
        .authenticated(user.username, Upgrade::cookie(&ended), user)
        .await?;
    let kept_label = format!("{}-other-session", user.username);
    let mut kept_ws = ctx
        .authenticated(&kept_label, Upgrade::cookie(&kept), user)
        .await?;
    let logout = Request::post("/api/logout").cookie(&ended);
    let response = ctx.send(logout.clone()).await?;
    ensure(
        response.status == 204,
        logout.describe(),
        "204",
        response.describe(),
    )?;
    ended_ws
        .expect_close_allowing_error(4002, "Session expired", CLOSE_LIMIT)
        .await?;
    kept_ws.probe().await
}

pub async fn forbidden(ctx: Ctx) -> Result<(), Failure> {
    // Bob is not in board-2 and Carol is not in board-1.
    let (outsider, board) = if rand::random_bool(0.5) {
        (&BOB, "board-2")
    } else {
        (&CAROL, "board-1")
    };
    let mut ws = ctx.cookie_socket(outsider).await?;
    ws.send_json(&json!({"type": "join", "boardId": board}))
        .await?;
    ws.expect_rejection("Forbidden", 4003, "Forbidden").await?;
    let mut ws = ctx.cookie_socket(member()).await?;
    ws.send_json(&json!({"type": "join", "boardId": "board-404"}))
        .await?;
    ws.expect_rejection("Forbidden", 4003, "Forbidden").await
}

pub async fn normal_close(ctx: Ctx) -> Result<(), Failure> {
    let mut ws = ctx.cookie_socket(member()).await?;
    ws.send_close(1000).await?;
    ws.expect_close_code(1000).await
}

pub async fn too_big(ctx: Ctx) -> Result<(), Failure> {
    let mut ws = ctx.cookie_socket(member()).await?;
    ws.send_text(&"x".repeat(LARGEST_MESSAGE)).await?;
    ws.expect_json(&json!({"error": "Invalid JSON"})).await?;
    ws.send_text(&"x".repeat(LARGEST_MESSAGE + 1)).await?;
    ws.expect_close_code(1009).await
}

pub async fn going_away(ctx: Ctx) -> Result<(), Failure> {
    let user = member();
    let mut authenticated = ctx.cookie_socket(user).await?;
    // Still waiting for its auth frame when the signal comes.
    let mut pending = ctx.socket("anonymous", Upgrade::bare()).await?;
    let server = ctx.server();
    let signalled = Instant::now();
    server.signal(Signal::SIGTERM);
    authenticated
        .expect_close_allowing_error(1001, "Server shutting down", STOP_GRACE)
        .await?;
    pending
        .expect_close_allowing_error(1001, "Server shutting down", STOP_GRACE)
        .await?;
    let left = (STOP_GRACE + Duration::from_millis(300)).saturating_sub(signalled.elapsed());
    let status = server.wait_exit(left).await;
    let request = "SIGTERM to the server's process group";
    match status {
        None => Err(Failure::new(
            request,
            "exit code 0 within 2 s",
            format!("still running after {}", seconds(STOP_GRACE)),
        )),
        Some(status) => ensure(
            status.success(),
            request,
            "exit code 0 within 2 s",
            describe_status(status),
        ),
    }
}
