//! Rows of the first-message chapter: a socket that arrives without a cookie
//! or a token authenticates with its first frame, or is closed.

use std::time::{Duration, Instant};

use serde_json::json;

use super::contract::{BadSetting, expect_refusals};
use super::rooms::{BOARD_1, join, message};
use super::{Ctx, ensure, member, unknown_secret};
use crate::client::{FRAME_LIMIT, Upgrade, seconds};
use crate::report::Failure;

fn auth(token: &str) -> serde_json::Value {
    json!({"type": "auth", "token": token})
}

pub async fn auth_frame(ctx: Ctx) -> Result<(), Failure> {
    let user = member();
    let token = ctx.token_for(user).await?;
    let mut ws = ctx.socket(user.username, Upgrade::bare()).await?;
    ws.send_json(&auth(&token)).await?;
    ws.expect_json(&user.authenticated()).await.map(|_| ())
}

pub async fn in_order(ctx: Ctx) -> Result<(), Failure> {
    let user = member();
    let token = ctx.token_for(user).await?;
    let mut ws = ctx.socket(user.username, Upgrade::bare()).await?;
    // Back to back: the join is on the wire before the server has answered
    // the auth frame.
    ws.send_json(&auth(&token)).await?;
    ws.send_json(&message("join", BOARD_1)).await?;
    ws.expect_json(&user.authenticated()).await?;
    ws.expect_json(&json!({"type": "joined", "boardId": BOARD_1, "viewers": 1}))
        .await
        .map(|_| ())
}

pub async fn not_auth(ctx: Ctx) -> Result<(), Failure> {
    // A member already in board-1 would hear of a join that was acted on.
    let bystander = member();
    let token = ctx.token_for(bystander).await?;
    let mut watcher = ctx
        .authenticated(bystander.username, Upgrade::token(&token), bystander)
        .await?;
    join(&mut watcher, BOARD_1, 1).await?;
    let first_frames = [
        ("anonymous", message("join", BOARD_1)),
        ("no-token", json!({"type": "auth"})),
        ("number-token", json!({"type": "auth", "token": 5})),
    ];
    for (label, first) in first_frames {
        let mut ws = ctx.socket(label, Upgrade::bare()).await?;
        ws.send_json(&first).await?;
        ws.expect_close_allowing_error(4001, "Unauthorized", FRAME_LIMIT)
            .await?;
    }
    watcher.probe().await
}

pub async fn not_json(ctx: Ctx) -> Result<(), Failure> {
    let mut ws = ctx.socket("anonymous", Upgrade::bare()).await?;
    ws.send_text("hello").await?;
    ws.expect_close_allowing_error(4001, "Unauthorized", FRAME_LIMIT)
        .await
        .map(|_| ())
}

pub async fn wrong_token(ctx: Ctx) -> Result<(), Failure> {
    let mut ws = ctx.socket("anonymous", Upgrade::bare()).await?;
    ws.send_json(&auth(&unknown_secret())).await?;
    ws.expect_close_allowing_error(4001, "Invalid token", FRAME_LIMIT)
        .await
        .map(|_| ())
}

/// The row's server runs with `AUTH_TIMEOUT_MS=300`.
pub async fn timeout(ctx: Ctx) -> Result<(), Failure> {
    let auth_timeout = Duration::from_millis(300);
    // The server's clock starts when it accepts the upgrade, a little before
    // the checker sees the handshake finish.
    let earliest = Duration::from_millis(250);
    let latest = auth_timeout + Duration::from_secs(1) + Duration::from_millis(200);
    let mut ws = ctx.socket("anonymous", Upgrade::bare()).await?;
    let opened = Instant::now();
    let closed = ws
        .expect_close_allowing_error(4001, "Authentication timeout", latest)
        .await?;
    let after = closed.duration_since(opened);
    ensure(
        after >= earliest,
        ws.request(),
        format!(
            "close 4001 'Authentication timeout' after AUTH_TIMEOUT_MS=300 (not before {})",
            seconds(earliest)
        ),
        format!("the close after {} ms", after.as_millis()),
    )
}

pub async fn bad_auth_timeout(ctx: Ctx) -> Result<(), Failure> {
    let cases = ["0", "abc", "3600001"]
        .iter()
        .map(|value| BadSetting::new("AUTH_TIMEOUT_MS", value))
        .collect();
    expect_refusals(&ctx, cases).await
}
