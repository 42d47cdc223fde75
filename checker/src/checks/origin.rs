//! Rows `origin.*`: refusing cookie upgrades from foreign origins.

use serde_json::json;

use super::{Ctx, member, unknown_secret};
use crate::client::Upgrade;
use crate::report::Failure;
use crate::rows::{FRESH, Row, Setup, check};

/// The rows this module grades, in the order they are reported.
pub static ROWS: &[Row] = &[
    Row {
        id: "origin.foreign",
        exercise: 7,
        retired_after: None,
        name: "a cookie upgrade from a foreign Origin is refused with 403",
        book: "origin-checks.md#refusing-foreign-origins",
        setup: FRESH,
        hint: "Before looking at the session, compare the Origin of a cookie upgrade with the allowed ones and answer 403 {\"error\":\"Forbidden origin\"}.",
        check: check!(foreign),
    },
    Row {
        id: "origin.own",
        exercise: 7,
        retired_after: None,
        name: "the server's own origins and no Origin are accepted",
        book: "origin-checks.md#own-and-allowed-origins",
        setup: FRESH,
        hint: "Allow http://127.0.0.1:PORT and http://localhost:PORT with the real port, compared case-insensitively, and requests without an Origin.",
        check: check!(own),
    },
    Row {
        id: "origin.allowed",
        exercise: 7,
        retired_after: None,
        name: "origins listed in ALLOWED_ORIGINS are accepted",
        book: "origin-checks.md#own-and-allowed-origins",
        setup: Setup::Server(&[(
            "ALLOWED_ORIGINS",
            " https://app.example/ ,http://other.test:8080",
        )]),
        hint: "Split ALLOWED_ORIGINS on commas, trim spaces and a trailing /, and compare scheme, host and port exactly (case aside).",
        check: check!(allowed),
    },
    Row {
        id: "origin.token-exempt",
        exercise: 7,
        retired_after: None,
        name: "token and credential-less upgrades are not origin-checked",
        book: "origin-checks.md#token-sockets",
        setup: FRESH,
        hint: "Check the Origin only for cookie upgrades: a token parameter or no credential at all skips the check.",
        check: check!(token_exempt),
    },
    Row {
        id: "origin.ticket-exempt",
        exercise: 8,
        retired_after: None,
        name: "ticket and bearer-header upgrades from a foreign Origin are accepted",
        book: "tickets.md#no-origin-check",
        setup: FRESH,
        hint: "Keep the Origin check to cookie upgrades: the browser attaches neither a ticket nor an Authorization header on its own.",
        check: check!(ticket_exempt),
    },
];

const FOREIGN: &str = "http://evil.example";

async fn expect_forbidden_origin(ctx: &Ctx, upgrade: Upgrade) -> Result<(), Failure> {
    let request = upgrade.as_http_request();
    let response = ctx.send(request.clone()).await?;
    let json_type = response.header("content-type").is_some_and(|value| {
        value
            .trim()
            .to_ascii_lowercase()
            .starts_with("application/json")
    });
    let expected = "HTTP 403, Content-Type: application/json, body {\"error\":\"Forbidden origin\"}, no upgrade";
    if response.is(403, &json!({"error": "Forbidden origin"})) && json_type {
        return Ok(());
    }
    let content_type = response.header("content-type").unwrap_or("none");
    Err(Failure::new(
        &request,
        expected,
        format!("{} (Content-Type: {content_type})", response.describe()),
    ))
}

pub async fn foreign(ctx: Ctx) -> Result<(), Failure> {
    let session = ctx.login(member()).await?;
    let port = ctx.port();
    let other_port = if port == u16::MAX { port - 1 } else { port + 1 };
    let origins = [
        FOREIGN.to_owned(),
        format!("http://127.0.0.1:{other_port}"),
        "null".to_owned(),
    ];
    for origin in &origins {
        expect_forbidden_origin(&ctx, Upgrade::cookie(&session).header("Origin", origin)).await?;
    }
    // Refused before any session lookup: an unknown session is refused alike.
    expect_forbidden_origin(
        &ctx,
        Upgrade::cookie(&unknown_secret()).header("Origin", FOREIGN),
    )
    .await
}

pub async fn own(ctx: Ctx) -> Result<(), Failure> {
    let user = member();
    let session = ctx.login(user).await?;
    let port = ctx.port();
    let origins = [
        format!("http://127.0.0.1:{port}"),
        format!("http://localhost:{port}"),
        format!("HTTP://LOCALHOST:{port}"),
    ];
    for origin in &origins {
        ctx.authenticated(
            user.username,
            Upgrade::cookie(&session).header("Origin", origin),
            user,
        )
        .await?;
    }
    ctx.authenticated(user.username, Upgrade::cookie(&session), user)
        .await
        .map(|_| ())
}

/// The row's server runs with
/// `ALLOWED_ORIGINS=" https://app.example/ ,http://other.test:8080"`.
pub async fn allowed(ctx: Ctx) -> Result<(), Failure> {
    let user = member();
    let session = ctx.login(user).await?;
    for origin in ["https://app.example", "http://other.test:8080"] {
        ctx.authenticated(
            user.username,
            Upgrade::cookie(&session).header("Origin", origin),
            user,
        )
        .await?;
    }
    // Another port is another origin.
    expect_forbidden_origin(
        &ctx,
        Upgrade::cookie(&session).header("Origin", "https://app.example:444"),
    )
    .await
}

pub async fn token_exempt(ctx: Ctx) -> Result<(), Failure> {
    let user = member();
    let session = ctx.login(user).await?;
    let token = ctx.issue_token(&session).await?;
    let by_token = Upgrade::token(&token).header("Origin", FOREIGN);
    ctx.authenticated(user.username, by_token, user).await?;
    let token_and_cookie = Upgrade::token(&token)
        .header("Cookie", &format!("session={session}"))
        .header("Origin", FOREIGN);
    ctx.authenticated(user.username, token_and_cookie, user)
        .await?;
    let mut first_message = ctx
        .socket("anonymous", Upgrade::bare().header("Origin", FOREIGN))
        .await?;
    first_message
        .send_json(&json!({"type": "auth", "token": token}))
        .await?;
    first_message
        .expect_json(&user.authenticated())
        .await
        .map(|_| ())
}

pub async fn ticket_exempt(ctx: Ctx) -> Result<(), Failure> {
    let user = member();
    let session = ctx.login(user).await?;
    let ticket = super::tickets::mint(&ctx, &session).await?;
    let by_ticket = Upgrade::ticket(&ticket)
        .header("Cookie", &format!("session={session}"))
        .header("Origin", FOREIGN);
    ctx.authenticated(user.username, by_ticket, user).await?;
    let token = ctx.issue_token(&session).await?;
    let by_header = Upgrade::bare()
        .header("Authorization", &format!("Bearer {token}"))
        .header("Origin", FOREIGN);
    ctx.authenticated(user.username, by_header, user)
        .await
        .map(|_| ())
}
