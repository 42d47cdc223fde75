//! Rows `origin.*`: refusing cookie upgrades from foreign origins.

use serde_json::json;

use super::{Ctx, User, member, unknown_secret};
use crate::client::Upgrade;
use crate::failure::Failure;
use crate::rows::{Row, SIGNED_IN, Setup, check};

/// The rows this module grades, in the order they are reported.
pub(crate) static ROWS: &[Row] = &[
    Row {
        id: "origin.foreign",
        exercise: 7,
        retired_after: None,
        name: "a cookie upgrade from a foreign Origin is refused with 403",
        book: "origin-checks.md#refusing-foreign-origins",
        setup: SIGNED_IN,
        hint: "In upgrade, before on_upgrade and before any session is looked at, refuse a cookie upgrade whose Origin origin_allowed rejects: 403 {\"error\":\"Forbidden origin\"}.",
        check: check!(foreign),
    },
    Row {
        id: "origin.own",
        exercise: 7,
        retired_after: None,
        name: "the server's own origins and no Origin are accepted",
        book: "origin-checks.md#own-and-allowed-origins",
        setup: SIGNED_IN,
        hint: "In origin_allowed, allow http://127.0.0.1:PORT and http://localhost:PORT with the port the server listens on (the app's config has it), compared case-insensitively; in upgrade, a request without an Origin is not checked.",
        check: check!(own),
    },
    Row {
        id: "origin.allowed",
        exercise: 7,
        retired_after: None,
        name: "origins listed in ALLOWED_ORIGINS are accepted",
        book: "origin-checks.md#own-and-allowed-origins",
        setup: Setup::SignedIn(&[(
            "ALLOWED_ORIGINS",
            " https://app.example/ ,http://other.test:8080",
        )]),
        hint: "board has split ALLOWED_ORIGINS, trimmed it and dropped a trailing / (the app's config holds the list): in origin_allowed, normalise the Origin the same way and compare whole origins, so that another port is another origin.",
        check: check!(allowed),
    },
    Row {
        id: "origin.token-exempt",
        exercise: 7,
        retired_after: None,
        name: "token and credential-less upgrades are not origin-checked",
        book: "origin-checks.md#token-sockets",
        setup: SIGNED_IN,
        hint: "In upgrade, check the Origin of cookie upgrades only: a token parameter or no credential at all skips the check.",
        check: check!(token_exempt),
    },
    Row {
        id: "origin.ticket-exempt",
        exercise: 8,
        retired_after: None,
        name: "ticket and bearer-header upgrades from a foreign Origin are accepted",
        book: "tickets.md#no-origin-check",
        setup: SIGNED_IN,
        hint: "The Origin check in upgrade is for cookie upgrades only: a browser attaches neither a ticket nor an Authorization header on its own, so those upgrades skip it even with a cookie alongside.",
        check: check!(ticket_exempt),
    },
    Row {
        id: "origin.basic-checked",
        exercise: 8,
        retired_after: None,
        name: "a cookie upgrade with a Basic or Negotiate Authorization header from a foreign Origin is refused with 403",
        book: "tickets.md#the-bearer-header",
        setup: SIGNED_IN,
        hint: "A browser behind HTTP authentication adds a Basic or Negotiate Authorization header by itself, with the cookie: in authenticate_bearer, such a header is not a bearer attempt, so the upgrade stays a cookie upgrade and upgrade checks its Origin.",
        check: check!(basic_checked),
    },
];

/// `Authorization` headers a browser adds to every request by itself behind
/// HTTP authentication: none of them is a bearer attempt.
pub(crate) const BROWSER_AUTHORIZATION: [&str; 2] = [
    "Basic YWxpY2U6cHc=",
    "Negotiate YIIGhgYGKwYBBQUCoIIGejCCBnagMDAu",
];

const FOREIGN: &str = "http://evil.example";

/// The cases of one row. Each is tried whatever became of the ones before
/// it, and a failure lists them all with what each got: which origins a
/// server refuses says more than the first one it got wrong, and next to
/// the server's own origin a refused `http://127.0.0.1:35183` reads as
/// "another port", not as the server's own.
struct Cases {
    port: u16,
    lines: Vec<String>,
    first_failure: Option<Failure>,
}

impl Cases {
    fn new(ctx: &Ctx) -> Self {
        Cases {
            port: ctx.port(),
            lines: Vec::new(),
            first_failure: None,
        }
    }

    /// Records one case: what it sent and what came back.
    fn record(&mut self, case: &str, outcome: Result<String, Failure>) {
        match outcome {
            Ok(got) => self.lines.push(format!("✓ {case} → {got}")),
            Err(failure) => {
                self.lines.push(format!(
                    "✗ {case} → {} (expected {})",
                    failure.got, failure.expected
                ));
                self.first_failure.get_or_insert(failure);
            }
        }
    }

    /// The first failure, reported with every case, or `Ok`.
    fn finish(self) -> Result<(), Failure> {
        let heading = format!(
            "cases (the server's own origin is http://127.0.0.1:{}):",
            self.port
        );
        match self.first_failure {
            None => Ok(()),
            Some(failure) => Err(failure.with_cases(&heading, self.lines)),
        }
    }
}

/// A cookie upgrade refused before it becomes a socket: what came back.
async fn expect_forbidden_origin(ctx: &Ctx, upgrade: Upgrade) -> Result<String, Failure> {
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
        return Ok(response.describe());
    }
    let content_type = response.header("content-type").unwrap_or("none");
    Err(Failure::new(
        &request,
        expected,
        format!("{} (Content-Type: {content_type})", response.describe()),
    ))
}

/// An upgrade that must be accepted and greeted as `user`.
async fn expect_accepted(ctx: &Ctx, upgrade: Upgrade, user: &User) -> Result<String, Failure> {
    ctx.authenticated(user.username, upgrade, user).await?;
    Ok(format!("101, authenticated as {}", user.username))
}

pub(crate) async fn foreign(ctx: Ctx) -> Result<(), Failure> {
    let session = ctx.session(member()).await?;
    let port = ctx.port();
    let other_port = if port == u16::MAX { port - 1 } else { port + 1 };
    let origins = [
        FOREIGN.to_owned(),
        format!("http://127.0.0.1:{other_port}"),
        "null".to_owned(),
    ];
    let mut cases = Cases::new(&ctx);
    for origin in &origins {
        let upgrade = Upgrade::cookie(&session).header("Origin", origin);
        let outcome = expect_forbidden_origin(&ctx, upgrade).await;
        cases.record(&format!("cookie, Origin: {origin}"), outcome);
    }
    // Refused before any session lookup: an unknown session is refused alike.
    let unknown = Upgrade::cookie(&unknown_secret()).header("Origin", FOREIGN);
    let outcome = expect_forbidden_origin(&ctx, unknown).await;
    cases.record(&format!("unknown session, Origin: {FOREIGN}"), outcome);
    cases.finish()
}

pub(crate) async fn own(ctx: Ctx) -> Result<(), Failure> {
    let user = member();
    let session = ctx.session(user).await?;
    let port = ctx.port();
    let origins = [
        format!("http://127.0.0.1:{port}"),
        format!("http://localhost:{port}"),
        format!("HTTP://LOCALHOST:{port}"),
    ];
    let mut cases = Cases::new(&ctx);
    for origin in &origins {
        let upgrade = Upgrade::cookie(&session).header("Origin", origin);
        let outcome = expect_accepted(&ctx, upgrade, user).await;
        cases.record(&format!("cookie, Origin: {origin}"), outcome);
    }
    let outcome = expect_accepted(&ctx, Upgrade::cookie(&session), user).await;
    cases.record("cookie, no Origin", outcome);
    cases.finish()
}

/// The row's server runs with
/// `ALLOWED_ORIGINS=" https://app.example/ ,http://other.test:8080"`.
pub(crate) async fn allowed(ctx: Ctx) -> Result<(), Failure> {
    let user = member();
    let session = ctx.session(user).await?;
    let mut cases = Cases::new(&ctx);
    for origin in ["https://app.example", "http://other.test:8080"] {
        let upgrade = Upgrade::cookie(&session).header("Origin", origin);
        let outcome = expect_accepted(&ctx, upgrade, user).await;
        cases.record(&format!("cookie, Origin: {origin}"), outcome);
    }
    // Another port is another origin.
    let other_port = "https://app.example:444";
    let upgrade = Upgrade::cookie(&session).header("Origin", other_port);
    let outcome = expect_forbidden_origin(&ctx, upgrade).await;
    cases.record(&format!("cookie, Origin: {other_port}"), outcome);
    cases.finish()
}

pub(crate) async fn token_exempt(ctx: Ctx) -> Result<(), Failure> {
    let user = member();
    let session = ctx.session(user).await?;
    let token = ctx.issue_token(&session).await?;
    let mut cases = Cases::new(&ctx);
    let by_token = Upgrade::token(&token).header("Origin", FOREIGN);
    let outcome = expect_accepted(&ctx, by_token, user).await;
    cases.record(&format!("token, Origin: {FOREIGN}"), outcome);
    let token_and_cookie = Upgrade::token(&token)
        .header("Cookie", &format!("session={session}"))
        .header("Origin", FOREIGN);
    let outcome = expect_accepted(&ctx, token_and_cookie, user).await;
    cases.record(&format!("token and cookie, Origin: {FOREIGN}"), outcome);
    let first_message = async {
        let bare = Upgrade::bare().header("Origin", FOREIGN);
        let mut ws = ctx.socket("anonymous", bare).await?;
        ws.send_json(&json!({"type": "auth", "token": token}))
            .await?;
        ws.expect_json(&user.authenticated()).await?;
        Ok(format!(
            "101, authenticated as {} by the auth frame",
            user.username
        ))
    };
    cases.record(
        &format!("no credential, then an auth frame, Origin: {FOREIGN}"),
        first_message.await,
    );
    cases.finish()
}

pub(crate) async fn ticket_exempt(ctx: Ctx) -> Result<(), Failure> {
    let user = member();
    let session = ctx.session(user).await?;
    let ticket = super::tickets::mint(&ctx, &session).await?;
    let token = ctx.issue_token(&session).await?;
    let mut cases = Cases::new(&ctx);
    let by_ticket = Upgrade::ticket(&ticket)
        .header("Cookie", &format!("session={session}"))
        .header("Origin", FOREIGN);
    let outcome = expect_accepted(&ctx, by_ticket, user).await;
    cases.record(&format!("ticket and cookie, Origin: {FOREIGN}"), outcome);
    let by_header = Upgrade::bare()
        .header("Authorization", &format!("Bearer {token}"))
        .header("Origin", FOREIGN);
    let outcome = expect_accepted(&ctx, by_header, user).await;
    cases.record(&format!("bearer header, Origin: {FOREIGN}"), outcome);
    cases.finish()
}

pub(crate) async fn basic_checked(ctx: Ctx) -> Result<(), Failure> {
    let session = ctx.session(member()).await?;
    let mut cases = Cases::new(&ctx);
    for authorization in BROWSER_AUTHORIZATION {
        let upgrade = Upgrade::cookie(&session)
            .header("Authorization", authorization)
            .header("Origin", FOREIGN);
        let outcome = expect_forbidden_origin(&ctx, upgrade).await;
        cases.record(
            &format!("cookie and Authorization: {authorization}, Origin: {FOREIGN}"),
            outcome,
        );
    }
    cases.finish()
}
