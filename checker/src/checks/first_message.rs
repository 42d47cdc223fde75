//! Rows `first-message.*`: the token sent as the socket's first frame.

use std::time::{Duration, Instant};

use serde_json::json;

use super::rooms::{BOARD_1, join, message};
use super::{Ctx, ensure, member, unknown_secret};
use crate::client::{Event, FRAME_LIMIT, Upgrade, seconds};
use crate::failure::Failure;
use crate::rows::{Row, SIGNED_IN, Setup, check};

/// `first-message.timeout` runs its server with this setting, and expects
/// the close after this long.
const AUTH_TIMEOUT_SETTING: (&str, &str) = ("AUTH_TIMEOUT_MS", "300");
const AUTH_TIMEOUT: Duration = Duration::from_millis(300);

/// The rows this module grades, in the order they are reported.
pub(crate) static ROWS: &[Row] = &[
    Row {
        id: "first-message.auth",
        exercise: 5,
        retired_after: None,
        name: "an auth frame as the first message authenticates",
        book: "first-message.md#the-auth-frame",
        setup: SIGNED_IN,
        hint: "In authenticate_first_message (a socket with no cookie and no token), read one frame: {\"type\":\"auth\",\"token\":T} with a known token authenticates as the token's user.",
        check: check!(auth_frame),
    },
    Row {
        id: "first-message.in-order",
        exercise: 5,
        retired_after: None,
        name: "frames sent right after the auth frame are handled in order",
        book: "first-message.md#the-auth-frame",
        setup: SIGNED_IN,
        hint: "In authenticate_first_message, read the auth frame with the socket's own recv, the stream the message loop reads next, so that a frame right behind it is neither lost nor reordered.",
        check: check!(in_order),
    },
    Row {
        id: "first-message.not-auth",
        exercise: 5,
        retired_after: None,
        name: "any other first frame closes 4001 Unauthorized and is not acted on",
        book: "first-message.md#the-unauthenticated-window",
        setup: SIGNED_IN,
        hint: "In authenticate_first_message, any other first frame is NotAnAuthMessage and is not acted on; Rejection::answer closes it 4001 'Unauthorized'.",
        check: check!(not_auth),
    },
    Row {
        id: "first-message.not-json",
        exercise: 5,
        retired_after: None,
        name: "a first frame that is not JSON closes 4001 Unauthorized",
        book: "first-message.md#the-unauthenticated-window",
        setup: SIGNED_IN,
        hint: "In authenticate_first_message, a first frame that does not parse is NotAnAuthMessage too (not Invalid JSON): close 4001 'Unauthorized'.",
        check: check!(not_json),
    },
    Row {
        id: "first-message.wrong-token",
        exercise: 5,
        retired_after: None,
        name: "a wrong token in the auth frame closes 4001 Invalid token",
        book: "first-message.md#the-auth-frame",
        setup: SIGNED_IN,
        hint: "In authenticate_first_message, check the auth frame's token as a URL token is checked: an unknown one closes 4001 'Invalid token'.",
        check: check!(wrong_token),
    },
    Row {
        id: "first-message.timeout",
        exercise: 5,
        retired_after: None,
        name: "silence closes 4001 Authentication timeout after AUTH_TIMEOUT_MS",
        book: "first-message.md#the-timeout",
        setup: Setup::SignedIn(&[AUTH_TIMEOUT_SETTING]),
        hint: "In authenticate_first_message, wait for the first frame at most AUTH_TIMEOUT_MS (the app's config has it); when that runs out it is AuthTimeout, which Rejection::answer closes 4001 'Authentication timeout'.",
        check: check!(timeout),
    },
    Row {
        id: "first-message.binary",
        exercise: 5,
        retired_after: None,
        name: "a binary first frame closes 4001 Unauthorized",
        book: "first-message.md#the-unauthenticated-window",
        setup: SIGNED_IN,
        hint: "In authenticate_first_message, a first frame that is not text (a binary one) is NotAnAuthMessage too: answer it with close 4001 'Unauthorized', do not skip it and wait for another.",
        check: check!(binary),
    },
    Row {
        id: "first-message.timeout-cancelled",
        exercise: 5,
        retired_after: None,
        name: "an authenticated socket outlives AUTH_TIMEOUT_MS",
        book: "first-message.md#the-timeout",
        setup: Setup::SignedIn(&[AUTH_TIMEOUT_SETTING]),
        hint: "In authenticate_first_message, let AUTH_TIMEOUT_MS bound the wait for the first frame only (a timeout around that one recv), not a timer that outlives it and closes an authenticated socket.",
        check: check!(timeout_cancelled),
    },
];

fn auth(token: &str) -> serde_json::Value {
    json!({"type": "auth", "token": token})
}

pub(crate) async fn auth_frame(ctx: Ctx) -> Result<(), Failure> {
    let user = member();
    let token = ctx.token_for(user).await?;
    let mut ws = ctx.socket(user.username, Upgrade::bare()).await?;
    ws.send_json(&auth(&token)).await?;
    ws.expect_json(&user.authenticated()).await.map(|_| ())
}

pub(crate) async fn in_order(ctx: Ctx) -> Result<(), Failure> {
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

pub(crate) async fn not_auth(ctx: Ctx) -> Result<(), Failure> {
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

pub(crate) async fn not_json(ctx: Ctx) -> Result<(), Failure> {
    let mut ws = ctx.socket("anonymous", Upgrade::bare()).await?;
    ws.send_text("hello").await?;
    ws.expect_close_allowing_error(4001, "Unauthorized", FRAME_LIMIT)
        .await
        .map(|_| ())
}

pub(crate) async fn wrong_token(ctx: Ctx) -> Result<(), Failure> {
    let mut ws = ctx.socket("anonymous", Upgrade::bare()).await?;
    ws.send_json(&auth(&unknown_secret())).await?;
    ws.expect_close_allowing_error(4001, "Invalid token", FRAME_LIMIT)
        .await
        .map(|_| ())
}

/// The row's server runs with `AUTH_TIMEOUT_MS=300`.
pub(crate) async fn timeout(ctx: Ctx) -> Result<(), Failure> {
    let auth_timeout = AUTH_TIMEOUT;
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

pub(crate) async fn binary(ctx: Ctx) -> Result<(), Failure> {
    let mut ws = ctx.socket("anonymous", Upgrade::bare()).await?;
    ws.send_binary(b"auth").await?;
    ws.expect_close_allowing_error(4001, "Unauthorized", FRAME_LIMIT)
        .await
        .map(|_| ())
}

/// The row's server runs with `AUTH_TIMEOUT_MS=300`: the socket
/// authenticates at once and must still be open well after that.
pub(crate) async fn timeout_cancelled(ctx: Ctx) -> Result<(), Failure> {
    let user = member();
    let token = ctx.token_for(user).await?;
    let mut ws = ctx.socket(user.username, Upgrade::bare()).await?;
    ws.send_json(&auth(&token)).await?;
    ws.expect_json(&user.authenticated()).await?;
    // Nothing may come, so there is nothing to wait for but the clock: two
    // timeouts, counted from the upgrade, are past any timer it started.
    let watch = AUTH_TIMEOUT * 2;
    let event = ws.next_event(watch).await;
    if !matches!(event, Event::Silence(_)) {
        return Err(Failure::new(
            ws.request().then(&format!(
                ", then waited {} (AUTH_TIMEOUT_MS=300)",
                seconds(watch)
            )),
            "the authenticated socket to stay open",
            event.describe(),
        ));
    }
    ws.probe().await
}
