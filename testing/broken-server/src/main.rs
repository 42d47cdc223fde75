//! A deliberately breakable board server, for testing the checker.
//!
//! A checker row that can never fail proves nothing: it may not look at what
//! its name says. This server passes every row of exercise 7 when `BREAK_ROW`
//! is unset, and with `BREAK_ROW=<row id>` it makes the mistake a student
//! would plausibly make for that row (closing 1000 instead of 4001,
//! forgetting `HttpOnly`, accepting an expired session, ...). The checker's
//! tests (`checker/tests/rows_can_fail.rs`) run it once per row and expect
//! exactly that row to fail, with that row's expectation in the report.
//! `BREAK_ROW=hang-after-upgrade` accepts every upgrade and then never sends
//! anything, for the checker's robustness tests.
//! `CLOSE_ON_TCP_END=1` reports a socket closed only when its TCP connection
//! ends, like a server on Node's `ws` (see [`tcp_end`]).
//!
//! It is its own compact program on top of `board`'s public pieces rather
//! than a copy of a solution: every break is one line of [`BREAKS`] plus a
//! `broken("row")` test at the one place that decides it, and REST breaks are
//! a middleware ([`tamper`]) around the untouched `board` routes. Some breaks
//! cannot help failing other rows too (a wrong listening line, a login that
//! never works): those rows build on the broken one.

use std::{
    collections::HashSet,
    process::ExitCode,
    sync::{Mutex, MutexGuard, OnceLock},
    time::Duration,
};

use axum::{
    Router,
    body::{Body, to_bytes},
    extract::{ConnectInfo, Extension, Query, Request, State, WebSocketUpgrade},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::get,
};
use axum_extra::extract::cookie::CookieJar;
use board::{
    App,
    config::{Config, ConfigError, normalize_origin},
    db::{Database, Session, User, unix_now},
    http::{SESSION_COOKIE, error_response},
    message::{BadMessage, ClientMessage},
    rooms::{Mailbox, SocketId},
    socket::{Incoming, MAX_MESSAGE_BYTES, Socket},
};
use serde_json::{Value, json};

mod tcp_end;

/// The pseudo-row of the robustness test: upgrade, then silence.
const HANG: &str = "hang-after-upgrade";

/// Every break this server knows: the row it fails and the mistake it makes.
/// An unknown `BREAK_ROW` stops the server, so a typo cannot pass unnoticed.
const BREAKS: &[(&str, &str)] = &[
    (
        "server.listening",
        "prints the PORT it was asked for (0), not the bound one",
    ),
    (
        "server.bad-settings",
        "a bad SESSION_TTL_SECS falls back to the default",
    ),
    ("server.seeded", "Carol is not seeded"),
    (
        "server.restart-keeps-data",
        "drops the sessions table at every start",
    ),
    (
        "login.ok",
        "the login body is the bare user, without {\"user\": ...}",
    ),
    ("login.cookie", "the session cookie lacks HttpOnly"),
    ("login.random-ids", "session ids start with the user id"),
    (
        "login.wrong-credentials",
        "an unknown user gets 401 \"Unknown user\"",
    ),
    (
        "login.malformed",
        "a login without Content-Type is taken as JSON",
    ),
    (
        "me.ok",
        "/api/me answers the bare user, without {\"user\": ...}",
    ),
    (
        "me.unauthorized",
        "/api/me without a cookie answers 401 in plain text, not JSON",
    ),
    (
        "ws.cookie",
        "a cookie socket's authenticated frame shows the name in lower case",
    ),
    (
        "ws.cookie-own-user",
        "a cookie socket is greeted as the last user who logged in anywhere",
    ),
    (
        "ws.no-credential",
        "closes 4001 'Unauthorized' without the error frame",
    ),
    (
        "ws.unknown-session",
        "an unknown session is closed 1000, not 4001",
    ),
    (
        "ws.deleted-user",
        "a deleted user is answered as an invalid session",
    ),
    (
        "rooms.join",
        "the others in the board never hear user_joined",
    ),
    (
        "rooms.join-again",
        "joining again announces user_joined again",
    ),
    (
        "rooms.viewers-count-sockets",
        "viewers counts users, not sockets",
    ),
    (
        "rooms.typing",
        "typing reaches every board, not just its own",
    ),
    (
        "rooms.typing-not-joined",
        "typing outside a board is ignored silently",
    ),
    ("rooms.leave", "the leaver hears its own user_left"),
    ("rooms.close", "a closing socket leaves no board"),
    ("messages.invalid-json", "binary frames are ignored"),
    (
        "messages.invalid-message",
        "a missing boardId is an unknown message type",
    ),
    (
        "messages.unknown-type",
        "JSON without a type is an invalid message",
    ),
    (
        "tokens.issue",
        "POST /api/tokens without a session answers 403",
    ),
    ("ws.token", "the token query parameter is not read"),
    ("ws.token-wins", "a bad token falls back to the cookie"),
    (
        "ws.token-invalid",
        "an empty token without a cookie counts as no credential",
    ),
    ("ws.token-first", "the last token parameter counts"),
    (
        "logs.token-redacted",
        "every request with a query is logged raw",
    ),
    (
        "first-message.auth",
        "the auth frame's token is looked up as a session id",
    ),
    (
        "first-message.in-order",
        "frames behind the auth frame are dropped",
    ),
    (
        "first-message.not-auth",
        "a JSON first frame that is not auth gets an error, the socket stays",
    ),
    (
        "first-message.not-json",
        "a non-JSON first frame gets Invalid JSON, the socket stays",
    ),
    (
        "first-message.wrong-token",
        "a wrong first-message token closes 'Unauthorized'",
    ),
    (
        "first-message.timeout",
        "the auth timeout is 5 s whatever AUTH_TIMEOUT_MS says",
    ),
    (
        "server.bad-auth-timeout",
        "a bad AUTH_TIMEOUT_MS falls back to the default",
    ),
    (
        "expiry.at-connect",
        "an expired session is accepted at connect",
    ),
    (
        "expiry.while-connected",
        "only a logout ends a connected session",
    ),
    (
        "expiry.hour-old",
        "sessions expired more than ten minutes ago are purged",
    ),
    (
        "expiry.expires-at",
        "without SESSION_TTL_SECS, sessions last an hour",
    ),
    ("logout.ok", "logout does not clear the cookie"),
    (
        "logout.closes-sockets",
        "a logout leaves the session's sockets open",
    ),
    ("rooms.forbidden", "board membership is not checked"),
    ("rooms.members", "board-2 is seeded without Alice"),
    (
        "rooms.close-by-server",
        "only a close by the client leaves the socket's boards",
    ),
    (
        "tokens.survive-logout",
        "logout also revokes the tokens its session issued",
    ),
    ("close.normal", "a client's close is not answered"),
    ("close.too-big", "no limit on message size"),
    (
        "shutdown.going-away",
        "sockets still waiting for auth are not closed on shutdown",
    ),
    (
        "origin.foreign",
        "own origins are matched without their port",
    ),
    ("origin.own", "origins are compared case-sensitively"),
    ("origin.allowed", "ALLOWED_ORIGINS is ignored"),
    (
        "origin.token-exempt",
        "every upgrade with a foreign Origin is refused",
    ),
    (HANG, "accepts the upgrade, then sends nothing, ever"),
];

static ACTIVE: OnceLock<Option<&'static str>> = OnceLock::new();

/// The row this run breaks, if any.
fn active() -> Option<&'static str> {
    ACTIVE.get().copied().flatten()
}

fn broken(row: &str) -> bool {
    active() == Some(row)
}

/// How a socket is sent away: an optional error frame, then a close code and
/// reason.
type Goodbye = (Option<&'static str>, u16, &'static str);

const INVALID_SESSION: Goodbye = (Some("Invalid session"), 4001, "Invalid session");
const INVALID_TOKEN: Goodbye = (Some("Invalid token"), 4001, "Invalid token");
const USER_NOT_FOUND: Goodbye = (None, 4001, "User not found");
const EXPIRED: Goodbye = (Some("Session expired"), 4002, "Session expired");
const ENDED: Goodbye = (None, 4002, "Session expired");
const UNAUTHORIZED: Goodbye = (None, 4001, "Unauthorized");
const TIMED_OUT: Goodbye = (None, 4001, "Authentication timeout");
const FORBIDDEN: Goodbye = (Some("Forbidden"), 4003, "Forbidden");
const GOING_AWAY: Goodbye = (None, 1001, "Server shutting down");
const NORMAL: Goodbye = (None, 1000, "");
const TOO_BIG: Goodbye = (None, 1009, "Message too big");

#[tokio::main]
async fn main() -> ExitCode {
    board::init_logging();
    match start().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{error}");
            ExitCode::FAILURE
        }
    }
}

async fn start() -> Result<(), ConfigError> {
    let row = match std::env::var("BREAK_ROW") {
        Err(_) => None,
        Ok(wanted) => Some(
            BREAKS
                .iter()
                .map(|(row, _)| *row)
                .find(|row| *row == wanted)
                .ok_or_else(|| ConfigError {
                    setting: "BREAK_ROW",
                    problem: format!("no break for row {wanted:?}"),
                })?,
        ),
    };
    ACTIVE.set(row).expect("set once, at start");

    let mut config = lenient_config()?;
    if broken("expiry.expires-at") && std::env::var_os("SESSION_TTL_SECS").is_none() {
        config.session_ttl = Duration::from_secs(3_600);
    }
    let path = config.database_path.clone();
    if broken("server.restart-keeps-data") {
        behind_the_back(&path, "DROP TABLE IF EXISTS sessions");
    }
    let db = Database::open(&path)?;
    if broken("server.seeded") {
        behind_the_back(&path, "DELETE FROM users WHERE id = 'user-carol'");
    }
    let asked = config.port;
    let listener = board::listen(&mut config).await?;
    board::announce(if broken("server.listening") {
        asked
    } else {
        config.port
    });
    let app = App::new(config, db);
    board::shut_down_on_signal(&app);
    let router = board::router(&app, Router::new().route("/ws", get(upgrade)))
        .layer(middleware::from_fn(tamper));
    if tcp_end::on() {
        tcp_end::serve(listener, app, router).await;
    } else {
        board::serve(listener, app, router).await;
    }
    Ok(())
}

/// The settings, except that the setting a bad-settings break is about is
/// dropped (so its default applies) when its value is bad.
fn lenient_config() -> Result<Config, ConfigError> {
    let forgiven = |setting: &str| match setting {
        "SESSION_TTL_SECS" => broken("server.bad-settings"),
        "AUTH_TIMEOUT_MS" => broken("server.bad-auth-timeout"),
        _ => false,
    };
    let mut dropped: Vec<&'static str> = Vec::new();
    loop {
        let lookup = |name: &str| {
            (!dropped.contains(&name))
                .then(|| std::env::var(name).ok())
                .flatten()
        };
        match Config::from_lookup(lookup) {
            Err(error) if forgiven(error.setting) && !dropped.contains(&error.setting) => {
                dropped.push(error.setting);
            }
            result => return result,
        }
    }
}

/// Runs one statement on the database file through a connection of its own.
fn behind_the_back(path: &str, statement: &str) {
    if path == ":memory:" {
        return;
    }
    if let Ok(connection) = rusqlite::Connection::open(path) {
        let _ = connection.execute_batch(statement);
    }
}

// ----- REST breaks: a middleware around board's routes -----

/// Corrupts requests and responses of the REST routes for the REST rows.
async fn tamper(mut request: Request, next: Next) -> Response {
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
        _ => next.run(request).await,
    }
}

/// The last user who logged in, for the `ws.cookie-own-user` break.
static LAST_LOGIN: Mutex<Option<User>> = Mutex::new(None);

/// For the `tokens.survive-logout` break: which session issued which token,
/// and the tokens revoked by a logout of their session.
static ISSUED: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());
static REVOKED: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

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
fn token_user(app: &App, token: &str) -> Option<User> {
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

// ----- The socket -----

/// Which credential an upgrade carries.
enum Credential {
    /// A token, and (only for the token-wins break) the cookie to fall back to.
    Token(String, Option<String>),
    Cookie(String),
    Anonymous,
}

async fn upgrade(
    State(app): State<App>,
    ws: WebSocketUpgrade,
    Query(query): Query<Vec<(String, String)>>,
    jar: CookieJar,
    headers: HeaderMap,
    tcp: Option<Extension<ConnectInfo<tcp_end::TcpEnd>>>,
) -> Response {
    if broken(HANG) {
        return ws.on_upgrade(|socket| async move {
            let _held_open = socket;
            std::future::pending::<()>().await;
        });
    }
    let mut tokens = query
        .into_iter()
        .filter(|(name, _)| name == "token")
        .map(|(_, token)| token);
    let token = if broken("ws.token-first") {
        tokens.next_back()
    } else {
        tokens.next()
    }
    .filter(|_| !broken("ws.token"));
    let cookie = jar
        .get(SESSION_COOKIE)
        .map(|cookie| cookie.value().to_owned());
    let origin_matters = broken("origin.token-exempt") || (token.is_none() && cookie.is_some());
    if origin_matters && !origin_allowed(&app, &headers) {
        return error_response(StatusCode::FORBIDDEN, "Forbidden origin");
    }
    let credential = match (token, cookie) {
        (Some(token), None) if token.is_empty() && broken("ws.token-invalid") => {
            Credential::Anonymous
        }
        (Some(token), cookie) => {
            Credential::Token(token, cookie.filter(|_| broken("ws.token-wins")))
        }
        (None, Some(cookie)) => Credential::Cookie(cookie),
        (None, None) => Credential::Anonymous,
    };
    let ws = if broken("close.too-big") {
        ws
    } else {
        ws.max_message_size(MAX_MESSAGE_BYTES)
    };
    let tcp = tcp.map(|Extension(ConnectInfo(tcp))| tcp);
    ws.on_upgrade(move |ws| {
        let life = live(app.clone(), Socket::from(ws), credential, tcp);
        tcp_end::track(app.track(life))
    })
}

/// No `Origin`, the server's own, or one of `ALLOWED_ORIGINS`.
fn origin_allowed(app: &App, headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let origin = origin.to_str().unwrap_or("null");
    let origin = if broken("origin.own") {
        origin.trim().trim_end_matches('/').to_owned()
    } else {
        normalize_origin(origin)
    };
    let port = app.config.port;
    let own = |host: &str| {
        let without_port = format!("http://{host}");
        if broken("origin.foreign") {
            origin.starts_with(&without_port)
        } else {
            origin == format!("{without_port}:{port}")
        }
    };
    let listed = !broken("origin.allowed") && app.config.allowed_origins.contains(&origin);
    own("127.0.0.1") || own("localhost") || listed
}

/// One socket from its upgrade to its close.
/// With `tcp` (`CLOSE_ON_TCP_END=1`), a client's close takes effect only
/// when its connection ends, as with Node's `ws` (see [`tcp_end`]).
async fn live(app: App, mut socket: Socket, credential: Credential, tcp: Option<tcp_end::TcpEnd>) {
    let pending_hear_shutdown = !broken("shutdown.going-away");
    let who = tokio::select! {
        who = identify(&app, &mut socket, credential) => who,
        () = app.shutting_down(), if pending_hear_shutdown => Err(GOING_AWAY),
    };
    let (user, session) = match who {
        Ok(who) => who,
        Err(goodbye) => return part(socket, Some(goodbye)).await,
    };
    let last_login = lock(&LAST_LOGIN).clone();
    let shown = match (&session, last_login) {
        (Some(_), Some(last)) if broken("ws.cookie-own-user") => last,
        (Some(_), _) if broken("ws.cookie") => User {
            id: user.id.clone(),
            name: user.name.to_lowercase(),
        },
        _ => user.clone(),
    };
    socket
        .send_json(&json!({ "type": "authenticated", "user": shown }))
        .await;
    let mut mailbox = app.rooms.mailbox();
    let goodbye = converse(&app, &mut socket, &user, session.as_ref(), &mut mailbox).await;
    if let (Some(tcp), Some(NORMAL)) = (&tcp, goodbye) {
        // Answers the close (the read flushes it), then waits for the end.
        let _ = socket.recv().await;
        tcp.ended(&app).await;
    }
    seats().retain(|(_, socket, _)| *socket != mailbox.id);
    let by_server = goodbye.is_some_and(|(_, code, _)| code != NORMAL.1);
    let stays_seated = broken("rooms.close") || (broken("rooms.close-by-server") && by_server);
    if !stays_seated {
        for (board, viewers) in app.rooms.leave_all(mailbox.id) {
            let left = json!({ "type": "user_left", "user": user, "viewers": viewers });
            app.rooms.broadcast(&board, mailbox.id, &left);
        }
    }
    part(socket, goodbye).await;
}

/// Sends the goodbye (if any: a vanished client gets none).
async fn part(mut socket: Socket, goodbye: Option<Goodbye>) {
    let Some((error, code, reason)) = goodbye else {
        return;
    };
    if let Some(error) = error {
        socket.send_error(error).await;
    }
    socket.close(code, reason).await;
}

async fn identify(
    app: &App,
    socket: &mut Socket,
    credential: Credential,
) -> Result<(User, Option<Session>), Goodbye> {
    match credential {
        Credential::Cookie(id) => by_cookie(app, &id),
        Credential::Token(token, fallback) => match (token_user(app, &token), fallback) {
            (Some(user), _) => Ok((user, None)),
            (None, Some(cookie)) => by_cookie(app, &cookie),
            (None, None) => Err(INVALID_TOKEN),
        },
        Credential::Anonymous if broken("ws.no-credential") => Err(UNAUTHORIZED),
        Credential::Anonymous => by_first_frame(app, socket).await.map(|user| (user, None)),
    }
}

fn by_cookie(app: &App, id: &str) -> Result<(User, Option<Session>), Goodbye> {
    let unknown = if broken("ws.unknown-session") {
        (Some("Invalid session"), 1000, "Invalid session")
    } else {
        INVALID_SESSION
    };
    let session = app.db.session(id).ok().flatten().ok_or(unknown)?;
    if broken("expiry.hour-old") && session.expires_at < unix_now() - 600 {
        // As if a purge every ten minutes had deleted it.
        return Err(INVALID_SESSION);
    }
    if session.is_expired() && !broken("expiry.at-connect") {
        return Err(EXPIRED);
    }
    let missing_user = if broken("ws.deleted-user") {
        INVALID_SESSION
    } else {
        USER_NOT_FOUND
    };
    let user = app
        .db
        .user(&session.user_id)
        .ok()
        .flatten()
        .ok_or(missing_user)?;
    Ok((user, Some(session)))
}

/// First-message auth: the first frame must be `{"type":"auth","token":..}`.
async fn by_first_frame(app: &App, socket: &mut Socket) -> Result<User, Goodbye> {
    let patience = if broken("first-message.timeout") {
        Duration::from_secs(5)
    } else {
        app.config.auth_timeout
    };
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        let first = tokio::time::timeout_at(deadline, socket.recv())
            .await
            .map_err(|_| TIMED_OUT)?;
        let Some(Incoming::Text(text)) = first else {
            return Err(UNAUTHORIZED);
        };
        let token = match ClientMessage::parse(&text) {
            Ok(ClientMessage::Auth { token }) => token,
            Err(BadMessage::InvalidJson) if broken("first-message.not-json") => {
                socket.send_error("Invalid JSON").await;
                continue;
            }
            Err(BadMessage::InvalidJson) => return Err(UNAUTHORIZED),
            _ if broken("first-message.not-auth") => {
                socket.send_error("Unauthorized").await;
                continue;
            }
            _ => return Err(UNAUTHORIZED),
        };
        let user = if broken("first-message.auth") {
            let session = app.db.session(&token).ok().flatten();
            session.and_then(|session| app.db.user(&session.user_id).ok().flatten())
        } else {
            token_user(app, &token)
        };
        let wrong = if broken("first-message.wrong-token") {
            UNAUTHORIZED
        } else {
            INVALID_TOKEN
        };
        let user = user.ok_or(wrong)?;
        if broken("first-message.in-order") {
            let swallow = Duration::from_millis(100);
            while let Ok(Some(_)) = tokio::time::timeout(swallow, socket.recv()).await {}
        }
        return Ok(user);
    }
}

/// Resolves when the cookie socket's session ends (never for a token socket).
async fn session_over(app: &App, session: Option<&Session>) {
    let Some(session) = session else {
        return std::future::pending().await;
    };
    if broken("expiry.while-connected") {
        // Pretend the session lives ten years: only a logout ends it.
        let mut immortal = session.clone();
        immortal.expires_at = unix_now() + 10 * 365 * 86_400;
        app.session_ended(&immortal).await;
    } else if broken("logout.closes-sockets") {
        tokio::time::sleep(session.time_left()).await;
    } else {
        app.session_ended(session).await;
    }
}

/// Serves an authenticated socket; returns how to say goodbye.
async fn converse(
    app: &App,
    socket: &mut Socket,
    user: &User,
    session: Option<&Session>,
    mailbox: &mut Mailbox,
) -> Option<Goodbye> {
    let over = session_over(app, session);
    tokio::pin!(over);
    loop {
        let incoming = tokio::select! {
            incoming = socket.recv() => incoming,
            Some(frame) = mailbox.next() => {
                socket.send_json(&frame).await;
                continue;
            }
            () = &mut over => return Some(ENDED),
            () = app.shutting_down() => return Some(GOING_AWAY),
        };
        match incoming {
            None => return None,
            Some(Incoming::Close) => return (!broken("close.normal")).then_some(NORMAL),
            Some(Incoming::TooBig) => return Some(TOO_BIG),
            Some(Incoming::Binary) if broken("messages.invalid-json") => {}
            Some(Incoming::Binary) => socket.send_error("Invalid JSON").await,
            Some(Incoming::Text(text)) => {
                if let Err(goodbye) = act(app, socket, user, mailbox, &text).await {
                    return Some(goodbye);
                }
            }
        }
    }
}

/// Who sits in which board: `(board, socket, user id)`, kept beside board's
/// rooms for the breaks that need users (viewer counts, every board).
static SEATS: Mutex<Vec<(String, SocketId, String)>> = Mutex::new(Vec::new());

fn seats() -> MutexGuard<'static, Vec<(String, SocketId, String)>> {
    SEATS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Acts on one text frame of an authenticated socket.
async fn act(
    app: &App,
    socket: &mut Socket,
    user: &User,
    mailbox: &Mailbox,
    text: &str,
) -> Result<(), Goodbye> {
    let error = match ClientMessage::parse(text) {
        Ok(message) => return obey(app, socket, user, mailbox, message).await,
        Err(BadMessage::InvalidMessage) if broken("messages.invalid-message") => {
            BadMessage::UnknownType
        }
        Err(BadMessage::UnknownType)
            if broken("messages.unknown-type")
                && serde_json::from_str::<Value>(text).is_ok_and(|v| v.get("type").is_none()) =>
        {
            BadMessage::InvalidMessage
        }
        Err(bad) => bad,
    };
    socket.send_error(error.error_text()).await;
    Ok(())
}

async fn obey(
    app: &App,
    socket: &mut Socket,
    user: &User,
    mailbox: &Mailbox,
    message: ClientMessage,
) -> Result<(), Goodbye> {
    let me = mailbox.id;
    match message {
        ClientMessage::Join { board_id: board } => {
            let member = app.db.is_member(&board, &user.id).unwrap_or(false)
                && !(broken("rooms.members") && board == "board-2" && user.id == "user-alice");
            if !broken("rooms.forbidden") && !member {
                return Err(FORBIDDEN);
            }
            let first_time = app.rooms.join(&board, mailbox).is_some();
            if first_time {
                seats().push((board.clone(), me, user.id.clone()));
            }
            let viewers = if broken("rooms.viewers-count-sockets") {
                let seats = seats();
                let users: HashSet<&str> = seats
                    .iter()
                    .filter(|(seat, _, _)| *seat == board)
                    .map(|(_, _, user)| user.as_str())
                    .collect();
                users.len()
            } else {
                app.rooms.viewers(&board)
            };
            if (first_time || broken("rooms.join-again")) && !broken("rooms.join") {
                let joined = json!({ "type": "user_joined", "user": user, "viewers": viewers });
                app.rooms.broadcast(&board, me, &joined);
            }
            let answer = json!({ "type": "joined", "boardId": board, "viewers": viewers });
            socket.send_json(&answer).await;
        }
        ClientMessage::Typing { board_id: board } if app.rooms.contains(&board, me) => {
            let typing = json!({ "type": "user_typing", "user": user });
            let boards: HashSet<String> = if broken("rooms.typing") {
                seats().iter().map(|(seat, _, _)| seat.clone()).collect()
            } else {
                HashSet::from([board])
            };
            for board in boards {
                app.rooms.broadcast(&board, me, &typing);
            }
        }
        ClientMessage::Typing { .. } if broken("rooms.typing-not-joined") => {}
        ClientMessage::Leave { board_id: board } => match app.rooms.leave(&board, me) {
            Some(viewers) => {
                seats().retain(|(seat, socket, _)| !(*seat == board && *socket == me));
                let left = json!({ "type": "user_left", "user": user, "viewers": viewers });
                app.rooms.broadcast(&board, me, &left);
                if broken("rooms.leave") {
                    socket.send_json(&left).await;
                }
            }
            None => socket.send_error("Not in board").await,
        },
        ClientMessage::Typing { .. } => socket.send_error("Not in board").await,
        ClientMessage::Auth { .. } => socket.send_error("Already authenticated").await,
    }
    Ok(())
}
