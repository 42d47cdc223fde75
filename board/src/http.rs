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

use crate::password::{self, Place};

use crate::{
    App,
    db::{DbError, Session, User},
};

/// The name of the session cookie.
pub const SESSION_COOKIE: &str = "session";

/// The REST routes, to be merged with an exercise's `/ws` route: all of
/// them, or (for an exercise that answers `POST /api/login` itself) all but
/// the login.
pub(crate) fn routes(answering_login: Login) -> Router<App> {
    let routes = Router::new()
        .route("/api/logout", post(logout))
        .route("/api/me", get(me))
        .route("/api/tokens", post(issue_token));
    match answering_login {
        Login::Board => routes.route("/api/login", post(login)),
        Login::Exercise => routes,
    }
}

/// Who answers `POST /api/login`.
#[derive(Clone, Copy, Debug)]
pub enum Login {
    /// board's own route, for exercises 1 to 10.
    Board,
    /// The exercise's routes (exercise 11, which bounds the password checks).
    Exercise,
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

/// `POST /api/login` as exercises 1 to 10 have it: every password check
/// runs as soon as it is asked for (exercise 11 bounds them, with its own
/// route built from [`login_attempt`], [`LoginAttempt::check`] and
/// [`logged_in`]).
async fn login(
    State(app): State<App>,
    jar: CookieJar,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let attempt = match login_attempt(&app, &headers, &body) {
        Ok(attempt) => attempt,
        Err(refusal) => return refusal,
    };
    let user = tokio::task::spawn_blocking(move || attempt.check())
        .await
        .unwrap_or(None);
    logged_in(&app, jar, user)
}

/// One login's password check, ready to run: the stored hash of the user
/// it names (or none, for a name nobody has) and the password to try.
pub struct LoginAttempt {
    record: Option<(User, String)>,
    password: String,
    place: Option<Place>,
}

impl LoginAttempt {
    /// Runs the check in `place` (exercise 11), with its memory, and keeps
    /// the place for as long as the attempt lives: until
    /// [`LoginAttempt::check`] has run.
    pub fn hold(&mut self, place: Place) {
        self.place = Some(place);
    }

    /// The user, if the password is theirs. This is the slow part on
    /// purpose: an Argon2id check, about 19 MiB of memory and tens of
    /// milliseconds of CPU. It blocks, so run it off the threads that drive
    /// the connections (`tokio::task::spawn_blocking`).
    pub fn check(mut self) -> Option<User> {
        verify_login(self.record, &self.password, self.place.as_mut())
    }
}

/// Reads a login request: its fields and the record of the user it names.
/// A malformed request is answered 400 here, and a database that cannot
/// answer as [`DbError`] does.
// The error is the answer itself, already built: a caller only returns it.
#[allow(clippy::result_large_err)]
pub fn login_attempt(
    app: &App,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<LoginAttempt, Response> {
    let (username, password) = login_fields(headers, body)
        .map_err(|problem| error_response(StatusCode::BAD_REQUEST, problem))?;
    let record = app
        .db
        .login_record(&username)
        .map_err(IntoResponse::into_response)?;
    Ok(LoginAttempt {
        record,
        password,
        place: None,
    })
}

/// The answer to a login whose check is done: 401 without a user, else a
/// new session, its cookie and the user.
pub fn logged_in(app: &App, jar: CookieJar, user: Option<User>) -> Response {
    let Some(user) = user else {
        return error_response(StatusCode::UNAUTHORIZED, "Invalid credentials");
    };
    let session_id = match app.db.create_session(&user.id, app.config.session_ttl) {
        Ok(session_id) => session_id,
        Err(error) => return error.into_response(),
    };
    // No Max-Age: the cookie lasts until the browser closes, and the
    // server decides how long the session itself lives.
    let cookie = Cookie::build((SESSION_COOKIE, session_id))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax);
    (jar.add(cookie), Json(json!({ "user": user }))).into_response()
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
fn verify_login(
    record: Option<(User, String)>,
    password: &str,
    place: Option<&mut Place>,
) -> Option<User> {
    let stored = record
        .as_ref()
        .map_or(STAND_IN_HASH, |(_, hash)| hash.as_str());
    let matches = password::verify(stored, password, place);
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
        let hash = argon2::PasswordHash::new(STAND_IN_HASH).expect("a well-formed hash");
        assert_eq!(hash.algorithm.as_str(), "argon2id");
        assert_eq!(verify_login(None, "anything", None), None);
    }

    #[test]
    fn only_the_right_password_verifies() {
        let db = crate::db::Database::open(":memory:").unwrap();
        let record = || db.login_record("alice");
        assert_eq!(
            verify_login(record().unwrap(), "alice-password", None)
                .unwrap()
                .id,
            "user-alice"
        );
        assert_eq!(verify_login(record().unwrap(), "bob-password", None), None);
    }
}
