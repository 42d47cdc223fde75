//! Rows `login.*`: `POST /api/login`, its answers and its session cookie.

use serde_json::json;

use super::{Ctx, ensure, expect_response, member};
use crate::client::Request;
use crate::cookie::session_cookie;
use crate::failure::Failure;
use crate::rows::{FRESH, Row, check};

/// The rows this module grades, in the order they are reported.
pub(crate) static ROWS: &[Row] = &[
    Row {
        id: "login.ok",
        exercise: 1,
        retired_after: None,
        name: "POST /api/login returns the user",
        book: "contract.md#http-api",
        setup: FRESH,
        hint: "board answers POST /api/login in the exercises; a server of your own answers 200 {\"user\":{\"id\",\"name\"}} and sets the session cookie.",
        check: check!(login_ok),
    },
    Row {
        id: "login.cookie",
        exercise: 1,
        retired_after: None,
        name: "the session cookie is HttpOnly, SameSite=Lax, Path=/",
        book: "cookie-upgrade.md#the-session-cookie",
        setup: FRESH,
        hint: "board sets this cookie in the exercises; a server of your own builds the Set-Cookie header as session=<id>; Path=/; HttpOnly; SameSite=Lax.",
        check: check!(login_cookie),
    },
    Row {
        id: "login.random-ids",
        exercise: 1,
        retired_after: None,
        name: "session ids are random, not derived from the user",
        book: "cookie-upgrade.md#the-session-cookie",
        setup: FRESH,
        hint: "board makes the session ids in the exercises; a server of your own makes them from at least 16 random bytes of a CSPRNG, encoded, never from the user's name or id.",
        check: check!(random_ids),
    },
    Row {
        id: "login.wrong-credentials",
        exercise: 1,
        retired_after: None,
        name: "wrong password or unknown user → 401 Invalid credentials",
        book: "contract.md#http-api",
        setup: FRESH,
        hint: "board answers logins in the exercises; a server of your own answers an unknown user and a wrong password alike: 401 {\"error\":\"Invalid credentials\"}.",
        check: check!(wrong_credentials),
    },
    Row {
        id: "login.malformed",
        exercise: 1,
        retired_after: None,
        name: "a malformed login body → 400 with an error",
        book: "contract.md#http-api",
        setup: FRESH,
        hint: "board answers logins in the exercises; a server of your own turns every rejection of its JSON extractor (bad JSON, a missing or mistyped field, no Content-Type) into 400 with a JSON {\"error\": ...} body.",
        check: check!(malformed_login),
    },
];

pub(crate) async fn login_ok(ctx: Ctx) -> Result<(), Failure> {
    ctx.login(member()).await.map(|_| ())
}

/// The contract: at least 128 random bits; 22 characters is the shortest common
/// encoding of that (base64 without padding).
const SHORTEST_SESSION_ID: usize = 22;

pub(crate) async fn login_cookie(ctx: Ctx) -> Result<(), Failure> {
    let user = member();
    let request = Request::post("/api/login")
        .json(&json!({"username": user.username, "password": user.password}));
    let response = ctx.send(request.clone()).await?;
    let headers = response.headers_named("set-cookie");
    let shown = if headers.is_empty() {
        "no Set-Cookie header".to_owned()
    } else {
        format!("Set-Cookie: {}", headers.join(" | "))
    };
    let expected = "Set-Cookie: session=<id>; Path=/; HttpOnly; SameSite=Lax (any order and case, Max-Age allowed)";
    let good = session_cookie(headers).is_some_and(|cookie| {
        !cookie.value.is_empty()
            && cookie.has("httponly")
            && cookie
                .attribute("samesite")
                .flatten()
                .is_some_and(|v| v.eq_ignore_ascii_case("lax"))
            && cookie.attribute("path").flatten() == Some("/")
    });
    ensure(
        response.status == 200 && good,
        &request,
        expected,
        format!("{}; {shown}", response.status),
    )
}

pub(crate) async fn random_ids(ctx: Ctx) -> Result<(), Failure> {
    let user = member();
    let first = ctx.login(user).await?;
    let second = ctx.login(user).await?;
    let request = format!("log {} in twice", user.username);
    ensure(
        first != second,
        &request,
        "two different session ids",
        format!("the same id twice: {first}"),
    )?;
    for id in [&first, &second] {
        let lower = id.to_ascii_lowercase();
        ensure(
            id.len() >= SHORTEST_SESSION_ID,
            &request,
            format!("session ids of at least {SHORTEST_SESSION_ID} characters (128 random bits)"),
            format!("{id} ({} characters)", id.len()),
        )?;
        ensure(
            !lower.contains(user.username) && !lower.contains(user.id),
            &request,
            "session ids that contain neither the username nor the user id",
            id.clone(),
        )?;
    }
    Ok(())
}

pub(crate) async fn wrong_credentials(ctx: Ctx) -> Result<(), Failure> {
    let user = member();
    let attempts = [
        (user.username, "wrong-password"),
        (user.username, super::other_member(user).password),
        ("mallory", "mallory-password"),
        ("", ""),
    ];
    for (username, password) in attempts {
        let request =
            Request::post("/api/login").json(&json!({"username": username, "password": password}));
        expect_response(&ctx, request, 401, &json!({"error": "Invalid credentials"})).await?;
    }
    Ok(())
}

pub(crate) async fn malformed_login(ctx: Ctx) -> Result<(), Failure> {
    let user = member();
    let json_body = |body: &str| {
        Request::post("/api/login")
            .header("Content-Type", "application/json")
            .body(body)
    };
    let requests = [
        json_body("{\"username\": \"alice\""),
        json_body(&json!({"username": user.username}).to_string()),
        json_body(&json!({"username": user.username, "password": 5}).to_string()),
        // A valid body that does not say it is JSON.
        Request::post("/api/login")
            .body(&json!({"username": user.username, "password": user.password}).to_string()),
    ];
    for request in requests {
        let response = ctx.send(request.clone()).await?;
        let has_error = response
            .json()
            .is_some_and(|body| body["error"].is_string());
        ensure(
            response.status == 400 && has_error,
            &request,
            "400 {\"error\":\"<message>\"}",
            response.describe(),
        )?;
    }
    Ok(())
}
