//! Rows `tokens.*`: `POST /api/tokens`.

use serde_json::json;

use super::{Ctx, ensure, expect_response, member, unknown_secret};
use crate::client::Request;
use crate::report::Failure;
use crate::rows::{FRESH, Row, check};

/// The rows this module grades, in the order they are reported.
pub static ROWS: &[Row] = &[Row {
    id: "tokens.issue",
    exercise: 4,
    retired_after: None,
    name: "POST /api/tokens issues a random token (201), 401 without a session",
    book: "token-in-url.md#issuing-tokens",
    setup: FRESH,
    hint: "Require a valid session, store a new random token for its user and answer 201 {\"token\": ...}.",
    check: check!(issue),
}];

/// At least 128 random bits, like session ids.
const SHORTEST_TOKEN: usize = 22;

pub async fn issue(ctx: Ctx) -> Result<(), Failure> {
    let user = member();
    let session = ctx.login(user).await?;
    let first = ctx.issue_token(&session).await?;
    let second = ctx.issue_token(&session).await?;
    let request = format!("POST /api/tokens twice with {}'s session", user.username);
    ensure(
        first != second,
        &request,
        "two different tokens",
        format!("the same token twice: {first}"),
    )?;
    for token in [&first, &second] {
        ensure(
            token.len() >= SHORTEST_TOKEN && !token.to_ascii_lowercase().contains(user.username),
            &request,
            format!(
                "random tokens of at least {SHORTEST_TOKEN} characters, not containing the username"
            ),
            token.clone(),
        )?;
    }
    let unauthorized = json!({"error": "Unauthorized"});
    expect_response(&ctx, Request::post("/api/tokens"), 401, &unauthorized).await?;
    expect_response(
        &ctx,
        Request::post("/api/tokens").cookie(&unknown_secret()),
        401,
        &unauthorized,
    )
    .await?;
    Ok(())
}
