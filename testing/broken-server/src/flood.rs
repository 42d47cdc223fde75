//! Exercise 11: the login route with its password checks bounded, and the
//! breaks of the `flood.*` rows.

use std::time::Duration;

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::Response,
};
use axum_extra::extract::cookie::CookieJar;
use board::{
    App,
    http::{error_response, logged_in, login_attempt},
};

use crate::broken;

/// How long a login waits for a place among the checks.
const LOGIN_WAIT: Duration = Duration::from_secs(1);

/// `POST /api/login`, at most `LOGIN_CONCURRENCY` checks at once.
pub(crate) async fn login(
    State(app): State<App>,
    jar: CookieJar,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut attempt = match login_attempt(&app, &headers, &body) {
        Ok(attempt) => attempt,
        Err(refusal) => return refusal,
    };
    if broken("flood.busy") {
        // The break: a login waits for a place as long as it takes.
        attempt.hold(app.password_checks.place().await);
    } else if !broken("flood.bounded") {
        // (The `flood.bounded` break takes no place at all.)
        match tokio::time::timeout(LOGIN_WAIT, app.password_checks.place()).await {
            Ok(place) => attempt.hold(place),
            Err(_) => {
                let mut busy = error_response(StatusCode::SERVICE_UNAVAILABLE, "Busy");
                busy.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                return busy;
            }
        }
    }
    let user = tokio::task::spawn_blocking(move || attempt.check())
        .await
        .unwrap_or(None);
    logged_in(&app, jar, user)
}
