//! Rows of the token-in-URL chapter: issuing API tokens, `/ws?token=`, the
//! token's precedence over a cookie, and keeping tokens out of the logs.

use std::time::Duration;

use serde_json::json;

use super::{Ctx, ensure, expect_response, member, other_member, unknown_secret};
use crate::client::{Request, Upgrade};
use crate::report::Failure;

/// At least 128 random bits, like session ids.
const SHORTEST_TOKEN: usize = 22;

/// How long the request log may lag behind the requests it logs.
const LOG_LIMIT: Duration = Duration::from_secs(1);

pub async fn issue(ctx: Ctx) -> Result<(), Failure> {
    let user = member();
    let session = ctx.login(user).await?;
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

pub async fn token_redacted(ctx: Ctx) -> Result<(), Failure> {
    let user = member();
    let token = ctx.token_for(user).await?;
    ctx.authenticated(user.username, Upgrade::token(&token), user)
        .await?;
    let bad = unknown_secret();
    let mut ws = ctx.socket("bad-token", Upgrade::token(&bad)).await?;
    ws.expect_rejection("Invalid token", 4001, "Invalid token")
        .await?;

    let request = format!(
        "GET /ws?token=<{}'s token> and GET /ws?token=<an unknown token>",
        user.username
    );
    let server = ctx.server();
    let redacted = server
        .wait_output_contains("token=[redacted]", LOG_LIMIT)
        .await;
    let output = server.all_output();
    for (which, value) in [("the valid token", &token), ("the invalid token", &bad)] {
        if let Some(line) = output.lines().find(|line| line.contains(value.as_str())) {
            return Err(Failure::new(
                &request,
                "no token value in stdout or stderr",
                format!("{which} in the output: {}", line.trim()),
            ));
        }
    }
    ensure(
        redacted,
        request,
        "request log lines showing token=[redacted]",
        format!(
            "no `token=[redacted]` in the output within {} s",
            LOG_LIMIT.as_secs()
        ),
    )
}
