//! Rows `bearer.*`: an API token in the `Authorization` header of the
//! upgrade request, checked before the upgrade (exercise 8).
//!
//! A client that sends a header can read an HTTP answer, so a bad one is
//! refused with 401 and `WWW-Authenticate: Bearer`, and no socket opens.

use serde_json::json;

use super::origin::BROWSER_AUTHORIZATION;
use super::{Ctx, ensure, member, other_member, unknown_secret};
use crate::client::Upgrade;
use crate::failure::Failure;
use crate::rows::{Row, SIGNED_IN, check};

/// The rows this module grades, in the order they are reported.
pub(crate) static ROWS: &[Row] = &[
    Row {
        id: "bearer.ok",
        exercise: 8,
        retired_after: None,
        name: "Authorization: Bearer <token> authenticates the token's user (scheme in any case)",
        book: "tickets.md#the-bearer-header",
        setup: SIGNED_IN,
        hint: "In authenticate_bearer, accept the Bearer scheme in any letter case and look the token up like a URL token.",
        check: check!(ok),
    },
    Row {
        id: "bearer.invalid",
        exercise: 8,
        retired_after: None,
        name: "a Bearer header with a wrong or empty token gets 401 with WWW-Authenticate: Bearer, no upgrade",
        book: "tickets.md#the-bearer-header",
        setup: SIGNED_IN,
        hint: "In bearer_refusal, answer 401 {\"error\":\"Invalid token\"} with WWW-Authenticate: Bearer; upgrade sends it, before any socket, whenever authenticate_bearer finds no user, whatever cookie comes with the header.",
        check: check!(invalid),
    },
    Row {
        id: "bearer.basic-ignored",
        exercise: 8,
        retired_after: None,
        name: "a Basic or Negotiate Authorization header is not a bearer attempt: the session cookie beside it authenticates",
        book: "tickets.md#the-bearer-header",
        setup: SIGNED_IN,
        hint: "In authenticate_bearer, only the Bearer scheme (in any letter case) is a bearer attempt; a header of another scheme is credentials a browser added by itself, so the upgrade goes on with the cookie, never a 401.",
        check: check!(basic_ignored),
    },
];

pub(crate) async fn ok(ctx: Ctx) -> Result<(), Failure> {
    let user = member();
    let token = ctx.token_for(user).await?;
    // The other member's cookie rides along: the header decides.
    let cookie = ctx.session(other_member(user)).await?;
    for scheme in ["Bearer", "bearer"] {
        ctx.authenticated(
            user.username,
            Upgrade::bare()
                .header("Authorization", &format!("{scheme} {token}"))
                .header("Cookie", &format!("session={cookie}")),
            user,
        )
        .await?;
    }
    Ok(())
}

pub(crate) async fn invalid(ctx: Ctx) -> Result<(), Failure> {
    let user = member();
    let session = ctx.session(user).await?;
    // The session cookie rides along: a bad bearer header never falls back
    // to it.
    let headers = [format!("Bearer {}", unknown_secret()), "Bearer ".to_owned()];
    for header in &headers {
        let upgrade = Upgrade::bare()
            .header("Authorization", header)
            .header("Cookie", &format!("session={session}"));
        let request = upgrade.as_http_request();
        let response = ctx.send(request.clone()).await?;
        let challenge = response
            .header("www-authenticate")
            .is_some_and(|value| value.trim().to_ascii_lowercase().starts_with("bearer"));
        ensure(
            response.is(401, &json!({"error": "Invalid token"})) && challenge,
            &request,
            "HTTP 401, WWW-Authenticate: Bearer, body {\"error\":\"Invalid token\"}, no upgrade",
            format!(
                "{} (WWW-Authenticate: {})",
                response.describe(),
                response.header("www-authenticate").unwrap_or("none")
            ),
        )?;
    }
    Ok(())
}

pub(crate) async fn basic_ignored(ctx: Ctx) -> Result<(), Failure> {
    let user = member();
    let session = ctx.session(user).await?;
    for authorization in BROWSER_AUTHORIZATION {
        ctx.authenticated(
            user.username,
            Upgrade::cookie(&session).header("Authorization", authorization),
            user,
        )
        .await?;
    }
    Ok(())
}
