//! Rows `logs.*`: what the server's output must never show.

use std::time::Duration;

use super::{Ctx, ensure, member, unknown_secret};
use crate::client::{Request, Upgrade};
use crate::failure::Failure;
use crate::rows::{Row, SIGNED_IN, check};

/// The rows this module grades, in the order they are reported.
pub(crate) static ROWS: &[Row] = &[
    Row {
        id: "logs.token-redacted",
        exercise: 4,
        retired_after: None,
        name: "the request log shows token=[redacted], never the token",
        book: "token-in-url.md#tokens-leak-through-urls",
        setup: SIGNED_IN,
        hint: "board's request log shows token=[redacted] in the exercises, so never log the token yourself (in with_token or authenticate_token, say); a server of your own redacts the token parameter before the request line is logged, for valid and invalid tokens alike.",
        check: check!(token_redacted),
    },
    Row {
        id: "logs.refused-token",
        exercise: 4,
        retired_after: None,
        name: "a refused token never appears in the output either",
        book: "token-in-url.md#tokens-leak-through-urls",
        setup: SIGNED_IN,
        hint: "Never log a token the server refuses (in authenticate_token or Rejection::answer, say): an unknown token is often a good one mistyped, or someone else's, and a log keeps it.",
        check: check!(refused_token),
    },
    Row {
        id: "logs.ticket-redacted",
        exercise: 8,
        retired_after: None,
        name: "no ticket and no Authorization header in the output; tickets logged as ticket=[redacted]",
        book: "tickets.md#what-leaks-where",
        setup: SIGNED_IN,
        hint: "board's request log shows ticket=[redacted] and no headers in the exercises, so never log a ticket or the Authorization header yourself (in mint_ticket, authenticate_ticket or authenticate_bearer, say); a server of your own redacts the ticket like the token.",
        check: check!(ticket_redacted),
    },
];

/// How long the request log may lag behind the requests it logs.
const LOG_LIMIT: Duration = Duration::from_secs(1);

pub(crate) async fn token_redacted(ctx: Ctx) -> Result<(), Failure> {
    let user = member();
    let token = ctx.token_for(user).await?;
    ctx.authenticated(user.username, Upgrade::token(&token), user)
        .await?;
    let request = format!("GET /ws?token=<{}'s token>", user.username);
    let server = ctx.server();
    let redacted = server
        .wait_output_contains("token=[redacted]", LOG_LIMIT)
        .await;
    let output = logged_before(&ctx).await;
    if let Some(line) = output.lines().find(|line| line.contains(token.as_str())) {
        return Err(Failure::new(
            &request,
            "no token value in stdout or stderr",
            format!("the valid token in the output: {}", line.trim()),
        ));
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

pub(crate) async fn refused_token(ctx: Ctx) -> Result<(), Failure> {
    let bad = unknown_secret();
    let mut ws = ctx.socket("bad-token", Upgrade::token(&bad)).await?;
    ws.expect_rejection("Invalid token", 4001, "Invalid token")
        .await?;
    let output = logged_before(&ctx).await;
    match output.lines().find(|line| line.contains(bad.as_str())) {
        Some(line) => Err(Failure::new(
            "GET /ws?token=<an unknown token>",
            "no token value, valid or not, in stdout or stderr",
            format!("the refused token in the output: {}", line.trim()),
        )),
        None => Ok(()),
    }
}

/// Everything the server printed about the row's requests so far. A server
/// may log a socket's end after its close frame is on the way, so the
/// output is read once a later request, one of its own (a fence with a
/// made-up parameter), shows in the log: what came before it is there by
/// then. A server that does not log the query gets [`LOG_LIMIT`] instead.
async fn logged_before(ctx: &Ctx) -> String {
    let fence = format!("fence={}", unknown_secret());
    let server = ctx.server();
    if ctx
        .send(Request::get(&format!("/api/me?{fence}")))
        .await
        .is_ok()
    {
        server.wait_output_contains(&fence, LOG_LIMIT).await;
    }
    server.all_output()
}

pub(crate) async fn ticket_redacted(ctx: Ctx) -> Result<(), Failure> {
    let user = member();
    let session = ctx.session(user).await?;
    let ticket = super::tickets::mint(&ctx, &session).await?;
    ctx.authenticated(user.username, Upgrade::ticket(&ticket), user)
        .await?;
    let bad_ticket = unknown_secret();
    let mut ws = ctx
        .socket("bad-ticket", Upgrade::ticket(&bad_ticket))
        .await?;
    ws.expect_rejection("Invalid ticket", 4001, "Invalid ticket")
        .await?;
    let token = ctx.issue_token(&session).await?;
    ctx.authenticated(
        user.username,
        Upgrade::bare().header("Authorization", &format!("Bearer {token}")),
        user,
    )
    .await?;

    let request = format!(
        "GET /ws?ticket=<{}'s ticket>, GET /ws?ticket=<an unknown ticket>, GET /ws with Authorization: Bearer <token>",
        user.username
    );
    let server = ctx.server();
    let redacted = server
        .wait_output_contains("ticket=[redacted]", LOG_LIMIT)
        .await;
    let output = logged_before(&ctx).await;
    let secrets = [
        ("the valid ticket", &ticket),
        ("the invalid ticket", &bad_ticket),
        ("the bearer token", &token),
    ];
    for (which, value) in secrets {
        if let Some(line) = output.lines().find(|line| line.contains(value.as_str())) {
            return Err(Failure::new(
                &request,
                "no ticket or token value in stdout or stderr",
                format!("{which} in the output: {}", line.trim()),
            ));
        }
    }
    ensure(
        redacted,
        request,
        "request log lines showing ticket=[redacted]",
        format!(
            "no `ticket=[redacted]` in the output within {} s",
            LOG_LIMIT.as_secs()
        ),
    )
}
