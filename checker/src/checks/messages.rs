//! Rows `messages.*`: the answers to messages that are not what the contract expects.

use serde_json::json;

use super::rooms::{BOARD_1, error, message};
use super::{Ctx, member};
use crate::failure::Failure;
use crate::rows::{Row, SIGNED_IN, check};

/// The rows this module grades, in the order they are reported.
pub(crate) static ROWS: &[Row] = &[
    Row {
        id: "messages.invalid-json",
        exercise: 3,
        retired_after: None,
        name: "text that is not JSON, or a binary frame → Invalid JSON, socket stays open",
        book: "rooms.md#bad-messages",
        setup: SIGNED_IN,
        hint: "In handle_text, text that ClientMessage::parse cannot read as JSON gets its error text (Invalid JSON) and the socket keeps reading; the loop answers binary frames already.",
        check: check!(invalid_json),
    },
    Row {
        id: "messages.invalid-message",
        exercise: 3,
        retired_after: None,
        name: "join/typing/leave without a string boardId → Invalid message",
        book: "rooms.md#bad-messages",
        setup: SIGNED_IN,
        hint: "In handle_text, a join, typing or leave without a string boardId is a parse error (Invalid message): send its error text and keep the socket open.",
        check: check!(invalid_message),
    },
    Row {
        id: "messages.unknown-type",
        exercise: 3,
        retired_after: None,
        name: "JSON without a known type → Unknown message type",
        book: "rooms.md#bad-messages",
        setup: SIGNED_IN,
        hint: "In handle_text, JSON whose type is missing or unknown is a parse error (Unknown message type): send its error text; the socket stays open.",
        check: check!(unknown_type),
    },
];

pub(crate) async fn invalid_json(ctx: Ctx) -> Result<(), Failure> {
    let mut ws = ctx.cookie_socket(member()).await?;
    ws.send_text("{\"type\": \"join\", ").await?;
    ws.expect_json(&error("Invalid JSON")).await?;
    // Valid JSON, but in a binary frame: still not a message.
    ws.send_binary(message("join", BOARD_1).to_string().as_bytes())
        .await?;
    ws.expect_json(&error("Invalid JSON")).await?;
    ws.probe().await
}

pub(crate) async fn invalid_message(ctx: Ctx) -> Result<(), Failure> {
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

pub(crate) async fn unknown_type(ctx: Ctx) -> Result<(), Failure> {
    let mut ws = ctx.cookie_socket(member()).await?;
    for message in [message("dance", BOARD_1), json!({"boardId": BOARD_1})] {
        ws.send_json(&message).await?;
        ws.expect_json(&error("Unknown message type")).await?;
    }
    ws.probe().await
}
