//! Rows `logout.*`: `POST /api/logout` and the sockets of the session it ends.

use serde_json::json;

use super::{CLOSE_LIMIT, Ctx, ensure, expect_response, member};
use crate::client::{Request, Upgrade};
use crate::cookie::session_cookie;
use crate::failure::Failure;
use crate::rows::{Row, SIGNED_IN, check};

/// The rows this module grades, in the order they are reported.
pub(crate) static ROWS: &[Row] = &[
    Row {
        id: "logout.ok",
        exercise: 6,
        retired_after: None,
        name: "POST /api/logout → 204, clears the cookie; 401 without a session",
        book: "close-codes.md#logging-out",
        setup: SIGNED_IN,
        hint: "board answers POST /api/logout in the exercises; a server of your own deletes the session row, answers 204 with session=; Path=/; Max-Age=0, and 401 when there is no valid session.",
        check: check!(logout_ok),
    },
    Row {
        id: "logout.closes-sockets",
        exercise: 6,
        retired_after: None,
        name: "logging out closes that session's sockets 4002 within 1 s",
        book: "close-codes.md#logging-out",
        setup: SIGNED_IN,
        hint: "board ends the sockets of exactly the session that logged out (serve_socket returns SessionEnded); in finish, close them 4002 'Session expired'. A server of your own closes that session's sockets only, not every socket of the user.",
        check: check!(logout_closes_sockets),
    },
];

pub(crate) async fn logout_ok(ctx: Ctx) -> Result<(), Failure> {
    let user = member();
    let session = ctx.session(user).await?;
    let logout = Request::post("/api/logout").cookie(&session);
    let response = ctx.send(logout.clone()).await?;
    let cleared = session_cookie(response.headers_named("set-cookie")).is_some_and(|cookie| {
        cookie.value.is_empty() && cookie.attribute("max-age").flatten() == Some("0")
    });
    let set_cookie = response.headers_named("set-cookie").join(" | ");
    ensure(
        response.status == 204 && cleared,
        &logout,
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

pub(crate) async fn logout_closes_sockets(ctx: Ctx) -> Result<(), Failure> {
    let user = member();
    let ended = ctx.session(user).await?;
    let kept = ctx.session(user).await?;
    let mut ended_ws = ctx
        .authenticated(user.username, Upgrade::cookie(&ended), user)
        .await?;
    let kept_label = format!("{}-other-session", user.username);
    let mut kept_ws = ctx
        .authenticated(&kept_label, Upgrade::cookie(&kept), user)
        .await?;
    let logout = Request::post("/api/logout").cookie(&ended);
    let response = ctx.send(logout.clone()).await?;
    ensure(response.status == 204, &logout, "204", response.describe())?;
    ended_ws
        .expect_close_allowing_error(4002, "Session expired", CLOSE_LIMIT)
        .await?;
    kept_ws.probe().await
}
