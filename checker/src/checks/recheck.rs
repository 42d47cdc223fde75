//! Rows `recheck.*`: what the upgrade decided is read afresh before a
//! message is acted on (exercise 9).
//!
//! The checker changes the database behind the server's back, as an
//! administrator would, while the socket stays open.

use serde_json::json;

use super::Ctx;
use super::rooms::{BOARD_1, message, two_in_board_1, user_left};
use crate::report::Failure;
use crate::rows::{Row, SIGNED_IN, check};

/// The rows this module grades, in the order they are reported.
pub static ROWS: &[Row] = &[
    Row {
        id: "recheck.deleted-user",
        exercise: 9,
        retired_after: None,
        name: "a user deleted while connected gets User not found and close 4001 at the next message",
        book: "long-lived.md#a-decision-goes-stale",
        setup: SIGNED_IN,
        hint: "In recheck, called before a message is acted on, read the user from the database again; when it is gone, end the socket as UserGone, which finish answers with User not found and 4001.",
        check: check!(deleted_user),
    },
    Row {
        id: "recheck.membership",
        exercise: 9,
        retired_after: None,
        name: "typing after the membership was removed gets Forbidden and close 4003; the others hear user_left",
        book: "long-lived.md#a-decision-goes-stale",
        setup: SIGNED_IN,
        hint: "In recheck, before acting on typing, read the membership again; when it is gone, end the socket as Forbidden (4003), which takes it out of its boards.",
        check: check!(membership),
    },
];

pub async fn deleted_user(ctx: Ctx) -> Result<(), Failure> {
    let (user, mut ws, _, _other) = two_in_board_1(&ctx).await?;
    ctx.sql("DELETE FROM users WHERE id = ?1", vec![json!(user.id)])
        .await?;
    ws.send_json(&message("typing", BOARD_1)).await?;
    ws.expect_rejection("User not found", 4001, "User not found")
        .await
}

pub async fn membership(ctx: Ctx) -> Result<(), Failure> {
    let (user, mut ws, _, mut other) = two_in_board_1(&ctx).await?;
    ctx.sql(
        "DELETE FROM board_members WHERE board_id = ?1 AND user_id = ?2",
        vec![json!(BOARD_1), json!(user.id)],
    )
    .await?;
    ws.send_json(&message("typing", BOARD_1)).await?;
    ws.expect_rejection("Forbidden", 4003, "Forbidden").await?;
    other.expect_json(&user_left(user, 1)).await.map(|_| ())
}
