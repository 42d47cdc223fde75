//! Rows of the rooms chapter: joining, typing, leaving, closing, and the
//! answers to bad messages.
//!
//! Whether a frame did *not* arrive is proven with the probe: an unknown
//! message type whose answer must be the very next frame on that socket.

use serde_json::{Value, json};

use super::{CAROL, Ctx, User, member, other_member};
use crate::client::Ws;
use crate::report::Failure;

pub const BOARD_1: &str = "board-1";
const BOARD_2: &str = "board-2";

pub fn message(kind: &str, board: &str) -> Value {
    json!({"type": kind, "boardId": board})
}

/// Sends `join` and expects `joined` with the board's socket count.
pub async fn join(ws: &mut Ws, board: &str, viewers: u64) -> Result<(), Failure> {
    ws.send_json(&message("join", board)).await?;
    ws.expect_json(&json!({"type": "joined", "boardId": board, "viewers": viewers}))
        .await
        .map(|_| ())
}

fn user_joined(user: &User, viewers: u64) -> Value {
    json!({"type": "user_joined", "user": user.json(), "viewers": viewers})
}

fn user_left(user: &User, viewers: u64) -> Value {
    json!({"type": "user_left", "user": user.json(), "viewers": viewers})
}

fn user_typing(user: &User) -> Value {
    json!({"type": "user_typing", "user": user.json()})
}

fn error(message: &str) -> Value {
    json!({"error": message})
}

/// Two members in board-1: the first joined before the second and has heard
/// of it.
async fn two_in_board_1(ctx: &Ctx) -> Result<(&'static User, Ws, &'static User, Ws), Failure> {
    let first = member();
    let second = other_member(first);
    let mut a = ctx.cookie_socket(first).await?;
    let mut b = ctx.cookie_socket(second).await?;
    join(&mut a, BOARD_1, 1).await?;
    join(&mut b, BOARD_1, 2).await?;
    a.expect_json(&user_joined(second, 2)).await?;
    Ok((first, a, second, b))
}

pub async fn join_board(ctx: Ctx) -> Result<(), Failure> {
    two_in_board_1(&ctx).await.map(|_| ())
}

pub async fn join_again(ctx: Ctx) -> Result<(), Failure> {
    let (_, mut a, _, mut b) = two_in_board_1(&ctx).await?;
    join(&mut a, BOARD_1, 2).await?;
    b.probe().await?;
    a.probe().await
}

pub async fn viewers_count_sockets(ctx: Ctx) -> Result<(), Failure> {
    let user = member();
    let session = ctx.login(user).await?;
    let second_label = format!("{}#2", user.username);
    let mut one = ctx
        .authenticated(
            user.username,
            crate::client::Upgrade::cookie(&session),
            user,
        )
        .await?;
    let mut two = ctx
        .authenticated(
            &second_label,
            crate::client::Upgrade::cookie(&session),
            user,
        )
        .await?;
    join(&mut one, BOARD_1, 1).await?;
    join(&mut two, BOARD_1, 2).await?;
    one.expect_json(&user_joined(user, 2)).await?;
    two.send_json(&message("typing", BOARD_1)).await?;
    one.expect_json(&user_typing(user)).await?;
    one.send_json(&message("typing", BOARD_1)).await?;
    two.expect_json(&user_typing(user)).await?;
    one.probe().await?;
    two.probe().await
}

pub async fn typing(ctx: Ctx) -> Result<(), Failure> {
    let (typer, mut a, _, mut b) = two_in_board_1(&ctx).await?;
    let mut carol = ctx.cookie_socket(&CAROL).await?;
    join(&mut carol, BOARD_2, 1).await?;
    a.send_json(&message("typing", BOARD_1)).await?;
    b.expect_json(&user_typing(typer)).await?;
    a.probe().await?;
    carol.probe().await
}

pub async fn typing_not_joined(ctx: Ctx) -> Result<(), Failure> {
    let mut ws = ctx.cookie_socket(member()).await?;
    ws.send_json(&message("typing", BOARD_1)).await?;
    ws.expect_json(&error("Not in board")).await?;
    ws.probe().await
}

pub async fn leave(ctx: Ctx) -> Result<(), Failure> {
    let (leaver, mut a, _, mut b) = two_in_board_1(&ctx).await?;
    a.send_json(&message("leave", BOARD_1)).await?;
    b.expect_json(&user_left(leaver, 1)).await?;
    a.probe().await?;
    for board in [BOARD_1, BOARD_2] {
        a.send_json(&message("leave", board)).await?;
        a.expect_json(&error("Not in board")).await?;
    }
    b.probe().await
}

pub async fn close(ctx: Ctx) -> Result<(), Failure> {
    let (closer, mut a, _, mut b) = two_in_board_1(&ctx).await?;
    a.send_close(1000).await?;
    b.expect_json(&user_left(closer, 1)).await.map(|_| ())
}

pub async fn invalid_json(ctx: Ctx) -> Result<(), Failure> {
    let mut ws = ctx.cookie_socket(member()).await?;
    ws.send_text("{\"type\": \"join\", ").await?;
    ws.expect_json(&error("Invalid JSON")).await?;
    // Valid JSON, but in a binary frame: still not a message.
    ws.send_binary(message("join", BOARD_1).to_string().as_bytes())
        .await?;
    ws.expect_json(&error("Invalid JSON")).await?;
    ws.probe().await
}

pub async fn invalid_message(ctx: Ctx) -> Result<(), Failure> {
    let mut ws = ctx.cookie_socket(member()).await?;
    let messages = [
        json!({"type": "join"}),
        json!({"type": "typing", "boardId": 1}),
        json!({"type": "leave", "boardId": null}),
    ];
    for message in messages {
        ws.send_json(&message).await?;
        ws.expect_json(&error("Invalid message")).await?;
    }
    ws.probe().await
}

pub async fn unknown_type(ctx: Ctx) -> Result<(), Failure> {
    let mut ws = ctx.cookie_socket(member()).await?;
    for message in [message("dance", BOARD_1), json!({"boardId": BOARD_1})] {
        ws.send_json(&message).await?;
        ws.expect_json(&error("Unknown message type")).await?;
    }
    ws.probe().await
}
