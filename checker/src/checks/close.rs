//! Rows `close.*`: the client's own close, and a message too big.

use serde_json::json;

use super::{Ctx, member};
use crate::failure::Failure;
use crate::rows::{Row, SIGNED_IN, check};

/// The rows this module grades, in the order they are reported.
pub(crate) static ROWS: &[Row] = &[
    Row {
        id: "close.normal",
        exercise: 6,
        retired_after: None,
        name: "a client close 1000 is answered with close 1000",
        book: "close-codes.md#normal-closure",
        setup: SIGNED_IN,
        hint: "In finish, answer ClientClosed (the client's close frame) with close 1000 instead of dropping the connection.",
        check: check!(normal_close),
    },
    Row {
        id: "close.too-big",
        exercise: 6,
        retired_after: None,
        name: "a message over 64 KiB closes 1009",
        book: "close-codes.md#messages-too-big",
        setup: SIGNED_IN,
        hint: "The upgrade caps messages at 65,536 bytes and the loop turns a bigger one into TooBig; in finish, close it 1009.",
        check: check!(too_big),
    },
];

/// The largest message a server must accept (64 KiB).
const LARGEST_MESSAGE: usize = 65_536;

pub(crate) async fn normal_close(ctx: Ctx) -> Result<(), Failure> {
    let mut ws = ctx.cookie_socket(member()).await?;
    ws.send_close(1000).await?;
    ws.expect_close_code(1000).await?;
    // The handshake is done: a real client ends the connection now.
    drop(ws);
    Ok(())
}

pub(crate) async fn too_big(ctx: Ctx) -> Result<(), Failure> {
    let mut ws = ctx.cookie_socket(member()).await?;
    ws.send_text(&"x".repeat(LARGEST_MESSAGE)).await?;
    ws.expect_json(&json!({"error": "Invalid JSON"})).await?;
    ws.send_text(&"x".repeat(LARGEST_MESSAGE + 1)).await?;
    ws.expect_close_code(1009).await
}
