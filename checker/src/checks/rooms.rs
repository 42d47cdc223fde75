//! Rows `rooms.*`: joining, typing, leaving, closing, and forbidden boards.
//!
//! Whether a frame did *not* arrive is proven with the probe: an unknown
//! message type whose answer must be the very next frame on that socket.

use serde_json::{Value, json};

use super::{ALICE, BOB, CAROL, Ctx, User, member, other_member};
use crate::client::Ws;
use crate::failure::Failure;
use crate::rows::{Row, SIGNED_IN, check};

/// The rows this module grades, in the order they are reported.
pub(crate) static ROWS: &[Row] = &[
    Row {
        id: "rooms.join",
        exercise: 3,
        retired_after: None,
        name: "join answers joined and tells the others, viewers count sockets",
        book: "rooms.md#joining-a-board",
        setup: SIGNED_IN,
        hint: "In handle_text, on join add the socket's mailbox to the board, answer joined with the board's socket count and send user_joined to every other socket in it.",
        check: check!(join_board),
    },
    Row {
        id: "rooms.join-again",
        exercise: 3,
        retired_after: None,
        name: "joining again answers joined and tells nobody",
        book: "rooms.md#joining-a-board",
        setup: SIGNED_IN,
        hint: "In handle_text, a join of a board the socket is in already is answered joined again, without adding it twice or telling the others.",
        check: check!(join_again),
    },
    Row {
        id: "rooms.viewers-count-sockets",
        exercise: 3,
        retired_after: None,
        name: "two sockets of one user count as two viewers and hear each other",
        book: "rooms.md#joining-a-board",
        setup: SIGNED_IN,
        hint: "In handle_text, join with the socket's mailbox, not the user: a second socket of the same user is another viewer and hears the first.",
        check: check!(viewers_count_sockets),
    },
    Row {
        id: "rooms.typing",
        exercise: 3,
        retired_after: None,
        name: "typing reaches the others in the board only",
        book: "rooms.md#typing",
        setup: SIGNED_IN,
        hint: "In handle_text, send user_typing to every socket of the board except the sender's mailbox, and to no socket outside the board.",
        check: check!(typing),
    },
    Row {
        id: "rooms.typing-not-joined",
        exercise: 3,
        retired_after: None,
        name: "typing in a board not joined, even one the user may not see → Not in board, socket stays open",
        book: "rooms.md#typing",
        setup: SIGNED_IN,
        hint: "In handle_text, typing in a board the socket has not joined gets {\"error\":\"Not in board\"}, and the socket stays open; whether the user is a member of that board does not change the answer (recheck reads memberships only for boards the socket joined).",
        check: check!(typing_not_joined),
    },
    Row {
        id: "rooms.leave",
        exercise: 3,
        retired_after: None,
        name: "leave tells the others user_left, the sender hears nothing",
        book: "rooms.md#leaving-and-closing",
        setup: SIGNED_IN,
        hint: "In handle_text, on leave take the socket out of the board and send user_left with the new count to the others only; a board not joined is Not in board.",
        check: check!(leave),
    },
    Row {
        id: "rooms.close",
        exercise: 3,
        retired_after: None,
        name: "closing a socket sends user_left to its boards",
        book: "rooms.md#leaving-and-closing",
        setup: SIGNED_IN,
        hint: "In leave_all_boards, which runs when the socket's loop ends, for whatever reason, take the socket out of every board it joined and send user_left to the others in each.",
        check: check!(close),
    },
    Row {
        id: "rooms.forbidden",
        exercise: 6,
        retired_after: None,
        name: "joining a board the user may not see → Forbidden and close 4003",
        book: "close-codes.md#forbidden-boards",
        setup: SIGNED_IN,
        hint: "In handle_text, check the membership in the database before a join; a non-member or an unknown board ends the socket as Forbidden, which finish answers with {\"error\":\"Forbidden\"} and 4003.",
        check: check!(forbidden),
    },
    Row {
        id: "rooms.close-by-server",
        exercise: 6,
        retired_after: None,
        name: "a socket the server closes (4003) leaves its boards with user_left",
        book: "close-codes.md#forbidden-boards",
        setup: SIGNED_IN,
        hint: "End a forbidden socket by returning Forbidden from handle_text, not by closing it there: connect then runs leave_all_boards, so its boards hear user_left whatever ended it (the client, a 4002, a 4003, a 1009).",
        check: check!(close_by_server),
    },
    Row {
        id: "rooms.members",
        exercise: 6,
        retired_after: None,
        name: "every member may join each of their boards: Alice both, Bob board-1, Carol board-2",
        book: "close-codes.md#forbidden-boards",
        setup: SIGNED_IN,
        hint: "In handle_text's membership check, look up the pair (board, user), as board seeds them: board-1 has Alice and Bob, board-2 Alice and Carol.",
        check: check!(members),
    },
];

pub(crate) const BOARD_1: &str = "board-1";
pub(crate) const BOARD_2: &str = "board-2";

pub(crate) fn message(kind: &str, board: &str) -> Value {
    json!({"type": kind, "boardId": board})
}

/// Sends `join` and expects `joined` with the board's socket count.
pub(crate) async fn join(ws: &mut Ws, board: &str, viewers: u64) -> Result<(), Failure> {
    ws.send_json(&message("join", board)).await?;
    ws.expect_json(&json!({"type": "joined", "boardId": board, "viewers": viewers}))
        .await
        .map(|_| ())
}

pub(crate) fn user_joined(user: &User, viewers: u64) -> Value {
    json!({"type": "user_joined", "user": user.json(), "viewers": viewers})
}

pub(crate) fn user_left(user: &User, viewers: u64) -> Value {
    json!({"type": "user_left", "user": user.json(), "viewers": viewers})
}

fn user_typing(user: &User) -> Value {
    json!({"type": "user_typing", "user": user.json()})
}

pub(crate) fn error(message: &str) -> Value {
    json!({"error": message})
}

/// Two members in board-1: the first joined before the second and has heard
/// of it.
pub(crate) async fn two_in_board_1(
    ctx: &Ctx,
) -> Result<(&'static User, Ws, &'static User, Ws), Failure> {
    let first = member();
    let second = other_member(first);
    let mut a = ctx.cookie_socket(first).await?;
    let mut b = ctx.cookie_socket(second).await?;
    join(&mut a, BOARD_1, 1).await?;
    join(&mut b, BOARD_1, 2).await?;
    a.expect_json(&user_joined(second, 2)).await?;
    Ok((first, a, second, b))
}

pub(crate) async fn join_board(ctx: Ctx) -> Result<(), Failure> {
    two_in_board_1(&ctx).await.map(|_| ())
}

pub(crate) async fn join_again(ctx: Ctx) -> Result<(), Failure> {
    let (_, mut a, _, mut b) = two_in_board_1(&ctx).await?;
    join(&mut a, BOARD_1, 2).await?;
    b.probe().await?;
    a.probe().await
}

pub(crate) async fn viewers_count_sockets(ctx: Ctx) -> Result<(), Failure> {
    let user = member();
    let session = ctx.session(user).await?;
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

pub(crate) async fn typing(ctx: Ctx) -> Result<(), Failure> {
    let (typer, mut a, _, mut b) = two_in_board_1(&ctx).await?;
    let mut carol = ctx.cookie_socket(&CAROL).await?;
    join(&mut carol, BOARD_2, 1).await?;
    a.send_json(&message("typing", BOARD_1)).await?;
    b.expect_json(&user_typing(typer)).await?;
    a.probe().await?;
    carol.probe().await
}

/// Bob may see board-1 but not board-2: neither was joined, so both get
/// the same answer.
pub(crate) async fn typing_not_joined(ctx: Ctx) -> Result<(), Failure> {
    let mut ws = ctx.cookie_socket(&BOB).await?;
    for board in [BOARD_1, BOARD_2] {
        ws.send_json(&message("typing", board)).await?;
        ws.expect_json(&error("Not in board")).await?;
    }
    ws.probe().await
}

pub(crate) async fn leave(ctx: Ctx) -> Result<(), Failure> {
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

pub(crate) async fn close(ctx: Ctx) -> Result<(), Failure> {
    let (closer, a, _, mut b) = two_in_board_1(&ctx).await?;
    // Closed like a browser closes: the connection ends with the handshake.
    a.close(1000).await?;
    b.expect_json(&user_left(closer, 1)).await.map(|_| ())
}

pub(crate) async fn forbidden(ctx: Ctx) -> Result<(), Failure> {
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

/// The seeded memberships, each joined on a socket of its own: a missing
/// one is closed 4003 instead of answered `joined`.
pub(crate) async fn members(ctx: Ctx) -> Result<(), Failure> {
    let memberships: [(&User, &[&str]); 3] = [
        (&ALICE, &[BOARD_1, BOARD_2]),
        (&BOB, &[BOARD_1]),
        (&CAROL, &[BOARD_2]),
    ];
    // Every socket stays open to the end: a socket dropped here would reach
    // the server as a close while the next user joins the same board, and
    // that user would hear `user_left` before the probe's answer.
    let mut open = Vec::new();
    for (user, boards) in memberships {
        let mut ws = ctx.cookie_socket(user).await?;
        for board in boards {
            ws.send_json(&message("join", board)).await?;
            ws.expect_json(&json!({"type": "joined", "boardId": board}))
                .await?;
        }
        ws.probe().await?;
        open.push(ws);
    }
    Ok(())
}

/// The server ends one socket of board-1 (a forbidden join, 4003): the
/// other socket hears it leave, as for a client's close.
pub(crate) async fn close_by_server(ctx: Ctx) -> Result<(), Failure> {
    let (closer, mut a, _, mut b) = two_in_board_1(&ctx).await?;
    a.send_json(&message("join", "board-404")).await?;
    a.expect_rejection("Forbidden", 4003, "Forbidden").await?;
    b.expect_json(&user_left(closer, 1)).await?;
    b.probe().await
}
