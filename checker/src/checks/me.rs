//! Rows `me.*`: `GET /api/me`.

use serde_json::json;

use super::{Ctx, expect_response, member, unknown_secret};
use crate::client::Request;
use crate::failure::Failure;
use crate::rows::{Row, SIGNED_IN, check};

/// The rows this module grades, in the order they are reported.
pub(crate) static ROWS: &[Row] = &[
    Row {
        id: "me.ok",
        exercise: 1,
        retired_after: None,
        name: "GET /api/me returns the logged-in user",
        book: "contract.md#http-api",
        setup: SIGNED_IN,
        hint: "board answers GET /api/me in the exercises; a server of your own reads the session cookie, looks the session and its user up in the database and answers {\"user\":{\"id\",\"name\"}}.",
        check: check!(me_ok),
    },
    Row {
        id: "me.unauthorized",
        exercise: 1,
        retired_after: None,
        name: "GET /api/me without a valid session → 401",
        book: "contract.md#http-api",
        setup: SIGNED_IN,
        hint: "board answers GET /api/me in the exercises; a server of your own answers a missing cookie and an unknown session id alike: 401 {\"error\":\"Unauthorized\"}.",
        check: check!(me_unauthorized),
    },
];

pub(crate) async fn me_ok(ctx: Ctx) -> Result<(), Failure> {
    let user = member();
    let session = ctx.session(user).await?;
    let request = Request::get("/api/me").cookie(&session);
    expect_response(&ctx, request, 200, &json!({"user": user.json()})).await?;
    Ok(())
}

pub(crate) async fn me_unauthorized(ctx: Ctx) -> Result<(), Failure> {
    let unauthorized = json!({"error": "Unauthorized"});
    expect_response(&ctx, Request::get("/api/me"), 401, &unauthorized).await?;
    let unknown = Request::get("/api/me").cookie(&unknown_secret());
    expect_response(&ctx, unknown, 401, &unauthorized).await?;
    Ok(())
}
