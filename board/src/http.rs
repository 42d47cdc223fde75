//! The REST routes: log in, log out, who am I, issue an API token.
//!
//! These are the same in every exercise; the sockets are what the exercises
//! teach. Errors are JSON bodies `{"error": ...}` with the status the
//! contract names, so a client (or the checker) never has to parse text.
//!
//! Cookies go through axum-extra's cookie jar, never through hand-written
//! header parsing: cookie syntax has enough corners (quoting, several
//! cookies in one header, several headers) that a home-made parser is a
//! classic source of authentication bugs.

use argon2::{Argon2, PasswordHash, PasswordVerifier};
use axum::{
    Json, Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use serde_json::{Value, json};

use crate::{
    App,
    db::{DbError, Session, User},
};

/// The name of the session cookie.
pub const SESSION_COOKIE: &str = "session";

/// The REST routes, to be merged with an exercise's `/ws` route.
pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/api/login", post(login))
        .route("/api/logout", post(logout))
        .route("/api/me", get(me))
        .route("/api/tokens", post(issue_token))
}

/// `{"error": text}` with `status`.
pub fn error_response(status: StatusCode, text: &str) -> Response {
    (status, Json(json!({ "error": text }))).into_response()
}

/// A failed query answers 500 with a generic body; the details go to the
/// server's log, where an operator can read them and a client cannot. A
/// database locked by another connection answers 503 "Database busy"
/// instead: the server is fine and the client may try again.
impl IntoResponse for DbError {
    fn into_response(self) -> Response {
        if self.is_busy() {
            tracing::warn!("{self}");
            return error_response(StatusCode::SERVICE_UNAVAILABLE, "Database busy");
        }
        tracing::error!("{self}");
        error_response(StatusCode::INTERNAL_SERVER_ERROR, "Internal error")
    }
}

/// 401 `{"error":"Unauthorized"}`.
pub fn unauthorized() -> Response {
    error_response(StatusCode::UNAUTHORIZED, "Unauthorized")
}

/// The session behind the request's cookie, if it is known, not expired and
/// its user still exists.
pub fn current_session(app: &App, jar: &CookieJar) -> Result<Option<(Session, User)>, DbError> {
    let Some(cookie) = jar.get(SESSION_COOKIE) else {
        return Ok(None);
    };
    let Some(session) = app.db.session(cookie.value())? else {
        return Ok(None);
    };
    if session.is_expired() {
        return Ok(None);
    }
    Ok(app.db.user(&session.user_id)?.map(|user| (session, user)))
}

async fn login(
    State(app): State<App>,
    jar: CookieJar,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, DbError> {
    let (username, password) = match login_fields(&headers, &body) {
        Ok(fields) => fields,
        Err(problem) => return Ok(error_response(StatusCode::BAD_REQUEST, problem)),
    };
    let record = app.db.login_record(&username)?;
    // Checking a password takes ~20 ms of CPU by design; keep it off the
    // threads that drive every other connection.
    let user = tokio::task::spawn_blocking(move || verify_login(record, &password))
        .await
        .expect("password check does not panic");
    let Some(user) = user else {
        return Ok(error_response(
            StatusCode::UNAUTHORIZED,
            "Invalid credentials",
        ));
    };
    // No Max-Age: the cookie lasts until the browser closes, and the
    // server decides how long the session itself lives.
    let session_id = app.db.create_session(&user.id, app.config.session_ttl)?;
    let cookie = Cookie::build((SESSION_COOKIE, session_id))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax);
    Ok((jar.add(cookie), Json(json!({ "user": user }))).into_response())
}

/// Reads `username` and `password` from a JSON body, or says what is wrong
/// with the request.
fn login_fields(headers: &HeaderMap, body: &[u8]) -> Result<(String, String), &'static str> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    let is_json = content_type
        .split(';')
        .next()
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err("Expected a JSON body (Content-Type: application/json)");
    }
    let body: Value = serde_json::from_slice(body).map_err(|_| "Body is not valid JSON")?;
    let field = |name| body.get(name).and_then(Value::as_str).map(str::to_owned);
    match (field("username"), field("password")) {
        (Some(username), Some(password)) => Ok((username, password)),
        _ => Err("Body must have string fields username and password"),
    }
}

/// What an unknown user's password is checked against: a valid Argon2id hash
/// (same parameters as real ones) of no password anyone has.
const STAND_IN_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c3RhbmQtaW4tc2FsdA$0ZhLwh5QUQzXQSL0XoWh2xrNbK8dWAfhsVnkh2Mw7eg";

/// Checks a password against the stored hash. An unknown user is checked
/// against a stand-in hash so that it takes as long as a wrong password:
/// otherwise the response time would tell an attacker which names exist.
fn verify_login(record: Option<(User, String)>, password: &str) -> Option<User> {
    let stored = record
        .as_ref()
        .map_or(STAND_IN_HASH, |(_, hash)| hash.as_str());
    let hash = PasswordHash::new(stored).ok()?;
    let matches = Argon2::default()
        .verify_password(password.as_bytes(), &hash)
        .is_ok();
    record.filter(|_| matches).map(|(user, _)| user)
}

async fn logout(State(app): State<App>, jar: CookieJar) -> Result<Response, DbError> {
    let Some((session, _)) = current_session(&app, &jar)? else {
        return Ok(unauthorized());
    };
    app.db.delete_session(&session.key)?;
    app.sessions.ended(&session.key);
    // The jar turns this into `session=; Path=/; Max-Age=0` (plus a past
    // `Expires` for old browsers). The path must match the one it was set with.
    Ok((
        StatusCode::NO_CONTENT,
        jar.remove(Cookie::build(SESSION_COOKIE).path("/")),
    )
        .into_response())
}

async fn me(State(app): State<App>, jar: CookieJar) -> Result<Response, DbError> {
    Ok(match current_session(&app, &jar)? {
        Some((_, user)) => Json(json!({ "user": user })).into_response(),
        None => unauthorized(),
    })
}

async fn issue_token(State(app): State<App>, jar: CookieJar) -> Result<Response, DbError> {
    let Some((_, user)) = current_session(&app, &jar)? else {
        return Ok(unauthorized());
    };
    let token = app.db.create_token(&user.id)?;
    Ok((StatusCode::CREATED, Json(json!({ "token": token }))).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stand_in_hash_costs_as_much_as_a_real_one() {
        let hash = PasswordHash::new(STAND_IN_HASH).expect("a well-formed hash");
        assert_eq!(hash.algorithm.as_str(), "argon2id");
        assert_eq!(verify_login(None, "anything"), None);
    }

    #[test]
    fn only_the_right_password_verifies() {
        let db = crate::db::Database::open(":memory:").unwrap();
        let record = || db.login_record("alice");
        assert_eq!(
            verify_login(record().unwrap(), "alice-password")
                .unwrap()
                .id,
            "user-alice"
        );
        assert_eq!(verify_login(record().unwrap(), "bob-password"), None);
    }
}
