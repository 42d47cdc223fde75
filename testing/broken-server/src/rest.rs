//! The REST breaks: a middleware ([`tamper`]) around board's untouched
//! routes that corrupts a request or a response for the row being broken,
//! and the bookkeeping a few of those breaks need.

use std::sync::Mutex;

use axum::{
    body::{Body, to_bytes},
    extract::Request,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use board::{App, db::User, http::error_response};
use serde_json::Value;

use crate::{breaks::active, lock};

/// Corrupts requests and responses of the REST routes for the REST rows.
pub(crate) async fn tamper(mut request: Request, next: Next) -> Response {
    let Some(row) = active() else {
        return next.run(request).await;
    };
    let path = request.uri().path().to_owned();
    let at = |route: &str| path == route;
    match row {
        "login.ok" if at("/api/login") => unwrap_user(next.run(request).await).await,
        "me.ok" if at("/api/me") => unwrap_user(next.run(request).await).await,
        "login.cookie" if at("/api/login") => {
            let response = next.run(request).await;
            rewrite_set_cookies(response, |cookie| {
                Some(
                    cookie
                        .split(';')
                        .map(str::trim)
                        .filter(|part| !part.eq_ignore_ascii_case("httponly"))
                        .collect::<Vec<_>>()
                        .join("; "),
                )
            })
        }
        "logout.ok" if at("/api/logout") => rewrite_set_cookies(next.run(request).await, |_| None),
        "login.malformed" if at("/api/login") => {
            let headers = request.headers_mut();
            if !headers.contains_key(header::CONTENT_TYPE) {
                let json = HeaderValue::from_static("application/json");
                headers.insert(header::CONTENT_TYPE, json);
            }
            next.run(request).await
        }
        "me.unauthorized" if at("/api/me") && !has_session_cookie(request.headers()) => {
            (StatusCode::UNAUTHORIZED, "Unauthorized").into_response()
        }
        "tokens.issue" if at("/api/tokens") && !has_session_cookie(request.headers()) => {
            error_response(StatusCode::FORBIDDEN, "Forbidden")
        }
        "login.wrong-credentials" if at("/api/login") => {
            let (parts, body) = request.into_parts();
            let bytes = to_bytes(body, usize::MAX).await.unwrap_or_default();
            let username = serde_json::from_slice::<Value>(&bytes).unwrap_or_default()["username"]
                .as_str()
                .map(str::to_owned);
            let response = next
                .run(Request::from_parts(parts, Body::from(bytes)))
                .await;
            let seeded = ["alice", "bob", "carol"];
            if response.status() == StatusCode::UNAUTHORIZED
                && !username.is_some_and(|name| seeded.contains(&name.as_str()))
            {
                return error_response(StatusCode::UNAUTHORIZED, "Unknown user");
            }
            response
        }
        "login.random-ids" => {
            // Clients send the prefixed id back; strip the prefix so the
            // server still finds the session.
            let cookies: Vec<String> = request
                .headers()
                .get_all(header::COOKIE)
                .iter()
                .filter_map(|line| line.to_str().ok())
                .map(|line| {
                    line.split(';')
                        .map(|pair| match pair.trim().strip_prefix("session=") {
                            Some(id) => format!("session={}", id.rsplit('.').next().unwrap_or(id)),
                            None => pair.trim().to_owned(),
                        })
                        .collect::<Vec<_>>()
                        .join("; ")
                })
                .collect();
            set_all(request.headers_mut(), header::COOKIE, cookies);
            let response = next.run(request).await;
            if !at("/api/login") {
                return response;
            }
            let (parts, body) = split_json(response).await;
            let user_id = body["user"]["id"].as_str().unwrap_or_default().to_owned();
            let response = Response::from_parts(parts, Body::from(body.to_string()));
            rewrite_set_cookies(response, |cookie| {
                Some(cookie.replacen("session=", &format!("session={user_id}."), 1))
            })
        }
        "ws.cookie-own-user" if at("/api/login") => {
            let (parts, body) = split_json(next.run(request).await).await;
            if parts.status == StatusCode::OK {
                let user = &body["user"];
                let name = |field: &str| user[field].as_str().unwrap_or_default().to_owned();
                *lock(&LAST_LOGIN) = Some(User {
                    id: name("id"),
                    name: name("name"),
                });
            }
            Response::from_parts(parts, Body::from(body.to_string()))
        }
        "tokens.survive-logout" if at("/api/tokens") || at("/api/logout") => {
            let session = session_cookie(request.headers());
            let (parts, body) = split_json(next.run(request).await).await;
            if let Some(session) = session {
                if let Some(token) = body["token"].as_str() {
                    lock(&ISSUED).push((session, token.to_owned()));
                } else if parts.status == StatusCode::NO_CONTENT {
                    lock(&ISSUED).retain(|(issuer, token)| {
                        if *issuer == session {
                            lock(&REVOKED).push(token.clone());
                        }
                        *issuer != session
                    });
                }
            }
            let body = if body.is_null() {
                Body::empty()
            } else {
                Body::from(body.to_string())
            };
            Response::from_parts(parts, body)
        }
        "logs.token-redacted" => {
            if request.uri().query().is_some() {
                eprintln!("request {} {}", request.method(), request.uri());
            }
            next.run(request).await
        }
        "logs.ticket-redacted" => {
            // A log line of its own for ticket upgrades, which forgets the
            // redaction the request log does.
            if request
                .uri()
                .query()
                .is_some_and(|query| query.contains("ticket="))
            {
                eprintln!("ticket upgrade: {}", request.uri());
            }
            next.run(request).await
        }
        "page.served" if at("/") => {
            let (mut parts, body) = next.run(request).await.into_parts();
            parts.headers.remove(header::CONTENT_LENGTH);
            let bytes = to_bytes(body, usize::MAX).await.unwrap_or_default();
            let page = String::from_utf8_lossy(&bytes)
                .replace("src=\"/static/app.js\"", &format!("src=\"{CDN_SCRIPT}\""));
            Response::from_parts(parts, Body::from(page))
        }
        "requests.stalled-body" if request.headers().contains_key(header::CONTENT_LENGTH) => {
            // The break: the body is read here first, for as long as it takes,
            // before board's timed read ever sees the request.
            let (parts, body) = request.into_parts();
            let bytes = to_bytes(body, usize::MAX).await.unwrap_or_default();
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        "upgrade.bad-key" if request.headers().contains_key(header::SEC_WEBSOCKET_KEY) => {
            // The break: any key is taken, a malformed one made good.
            let good = HeaderValue::from_static("dGhlIHNhbXBsZSBub25jZQ==");
            request
                .headers_mut()
                .insert(header::SEC_WEBSOCKET_KEY, good);
            next.run(request).await
        }
        "db.locked" => {
            // The break: a locked database is a server error like any other.
            let response = next.run(request).await;
            if response.status() == StatusCode::SERVICE_UNAVAILABLE {
                error_response(StatusCode::INTERNAL_SERVER_ERROR, "Internal error")
            } else {
                response
            }
        }
        _ => next.run(request).await,
    }
}

/// Where the `page.served` break loads the page's script from.
const CDN_SCRIPT: &str = "https://cdn.jsdelivr.net/npm/board-client@1/app.js";

/// The last user who logged in, for the `ws.cookie-own-user` break.
pub(crate) static LAST_LOGIN: Mutex<Option<User>> = Mutex::new(None);

/// For the `tokens.survive-logout` break: which session issued which token,
/// and the tokens revoked by a logout of their session.
static ISSUED: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());
static REVOKED: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// The value of the request's `session` cookie, if it has one.
fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|line| line.to_str().ok())
        .flat_map(|line| line.split(';'))
        .find_map(|pair| pair.trim().strip_prefix("session=").map(str::to_owned))
}

/// The token's user, unless a logout revoked it (`tokens.survive-logout`).
pub(crate) fn token_user(app: &App, token: &str) -> Option<User> {
    if lock(&REVOKED).iter().any(|revoked| revoked == token) {
        return None;
    }
    app.db.token_user(token).ok().flatten()
}

fn has_session_cookie(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|line| line.to_str().ok())
        .any(|line| {
            line.split(';')
                .any(|pair| pair.trim().starts_with("session="))
        })
}

/// Replaces every `name` header with `values`.
fn set_all(headers: &mut HeaderMap, name: header::HeaderName, values: Vec<String>) {
    headers.remove(&name);
    for value in values {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.append(&name, value);
        }
    }
}

/// Applies `edit` to each `Set-Cookie` header; `None` drops it.
fn rewrite_set_cookies(mut response: Response, edit: impl Fn(&str) -> Option<String>) -> Response {
    let cookies = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter_map(edit)
        .collect();
    set_all(response.headers_mut(), header::SET_COOKIE, cookies);
    response
}

/// A response's head and its body as JSON (`null` if it is not JSON).
async fn split_json(response: Response) -> (axum::http::response::Parts, Value) {
    let (mut parts, body) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    let bytes = to_bytes(body, usize::MAX).await.unwrap_or_default();
    (parts, serde_json::from_slice(&bytes).unwrap_or_default())
}

/// `{"user": U}` becomes `U`.
async fn unwrap_user(response: Response) -> Response {
    let (parts, mut body) = split_json(response).await;
    if let Some(user) = body.get_mut("user") {
        body = user.take();
    }
    Response::from_parts(parts, Body::from(body.to_string()))
}
