//! Rows `tokens.*`: `POST /api/tokens`.

use serde_json::json;

use super::{CLOSE_LIMIT, Ctx, ensure, expect_response, member, unknown_secret};
use crate::client::{Request, Upgrade};
use crate::failure::Failure;
use crate::rows::{Row, SIGNED_IN, check};

/// The rows this module grades, in the order they are reported.
pub(crate) static ROWS: &[Row] = &[
    Row {
        id: "tokens.issue",
        exercise: 4,
        retired_after: None,
        name: "POST /api/tokens issues a random token (201), 401 without a session",
        book: "token-in-url.md#issuing-tokens",
        setup: SIGNED_IN,
        hint: "board answers POST /api/tokens in the exercises; a server of your own requires a valid session, stores a new random token for its user and answers 201 {\"token\": ...}, and 401 without a session.",
        check: check!(issue),
    },
    Row {
        id: "tokens.survive-logout",
        exercise: 6,
        retired_after: None,
        name: "a logout leaves the session's tokens working and its token sockets open",
        book: "close-codes.md#logging-out",
        setup: SIGNED_IN,
        hint: "A token socket has no session (authenticate_token gives it none), so a logout never ends it: in finish, only SessionEnded gets 4002. A token belongs to its user; logout deletes the session, never the tokens.",
        check: check!(survive_logout),
    },
];

/// At least 128 random bits, like session ids.
const SHORTEST_TOKEN: usize = 22;

pub(crate) async fn issue(ctx: Ctx) -> Result<(), Failure> {
    let user = member();
    let session = ctx.session(user).await?;
    let first = ctx.issue_token(&session).await?;
    let second = ctx.issue_token(&session).await?;
    let request = format!("POST /api/tokens twice with {}'s session", user.username);
    ensure(
        first != second,
        &request,
        "two different tokens",
        format!("the same token twice: {first}"),
    )?;
    for token in [&first, &second] {
        ensure(
            token.len() >= SHORTEST_TOKEN && !token.to_ascii_lowercase().contains(user.username),
            &request,
            format!(
                "random tokens of at least {SHORTEST_TOKEN} characters, not containing the username"
            ),
            token.clone(),
        )?;
    }
    let unauthorized = json!({"error": "Unauthorized"});
    expect_response(&ctx, Request::post("/api/tokens"), 401, &unauthorized).await?;
    expect_response(
        &ctx,
        Request::post("/api/tokens").cookie(&unknown_secret()),
        401,
        &unauthorized,
    )
    .await?;
    Ok(())
}

/// A token issued by a session, and a socket it opened, outlive that
/// session's logout.
pub(crate) async fn survive_logout(ctx: Ctx) -> Result<(), Failure> {
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
    let logout = Request::post("/api/logout").cookie(&session);
    let response = ctx.send(logout.clone()).await?;
    ensure(response.status == 204, &logout, "204", response.describe())?;
    // The cookie socket's close shows that the logout has reached the
    // sockets; the token socket must still answer, with nothing before it.
    cookie_ws
        .expect_close_allowing_error(4002, "Session expired", CLOSE_LIMIT)
        .await?;
    token_ws.probe().await?;
    let after = format!("{}-token-after-logout", user.username);
    ctx.authenticated(&after, Upgrade::token(&token), user)
        .await?;
    let first_message = format!("{}-auth-frame-after-logout", user.username);
    let mut ws = ctx.socket(&first_message, Upgrade::bare()).await?;
    ws.send_json(&json!({"type": "auth", "token": token}))
        .await?;
    ws.expect_json(&user.authenticated()).await?;
    token_ws.probe().await
}
