//! A deliberately breakable board server, for testing the checker.
//!
//! A checker row that can never fail proves nothing: it may not look at what
//! its name says. This server passes every row of exercise 10 when `BREAK_ROW`
//! is unset, and with `BREAK_ROW=<row id>` it makes the mistake a student
//! would plausibly make for that row (closing 1000 instead of 4001,
//! forgetting `HttpOnly`, accepting an expired session, ...). The checker's
//! tests (`checker/tests/rows_can_fail.rs`) run it once per row and expect
//! exactly that row to fail, with that row's expectation in the report.
//! `BREAK_ROW=hang-after-upgrade` accepts every upgrade and then never sends
//! anything, for the checker's robustness tests.
//! `CLOSE_ON_TCP_END=1` reports a socket closed only when its TCP connection
//! ends, and `CLEANUP_AFTER_CLOSE_HANDSHAKE=1` leaves the boards of a socket
//! it closes itself only once the client has answered the close (or ended
//! the connection), both like a server on Node's `ws` (see [`tcp_end`]).
//! Neither is a break: the server stays correct.
//!
//! It is its own compact program on top of `board`'s public pieces rather
//! than a copy of a solution: every break is one line of [`BREAKS`] plus a
//! `broken("row")` test at the one place that decides it, and REST breaks are
//! a middleware ([`rest::tamper`]) around the untouched `board` routes,
//! exercise 8's tickets and bearer header live in [`tickets`], exercise 9's
//! heartbeats and limits in [`long_lived`], and exercise 10's bus in
//! [`cluster`]; [`identify`] finds who a socket is and [`converse`] serves
//! it. Some breaks cannot help failing other rows too (a wrong listening
//! line, a login that never works): those rows build on the broken one.

use std::{
    process::ExitCode,
    sync::{Mutex, MutexGuard},
    time::Duration,
};

use axum::{
    Router,
    extract::{ConnectInfo, Extension, Query, State, WebSocketUpgrade},
    http::{HeaderMap, StatusCode, header},
    middleware,
    response::Response,
    routing::{get, post},
};
use axum_extra::extract::cookie::CookieJar;
use board::{
    App,
    config::{Config, ConfigError, normalize_origin},
    db::{Database, User},
    http::{Login, SESSION_COOKIE, error_response},
    socket::{MAX_MESSAGE_BYTES, Socket},
};
use serde_json::json;

mod breaks;
mod cluster;
mod converse;
mod flood;
mod identify;
mod long_lived;
mod rest;
mod tcp_end;
mod tickets;

use breaks::{ACTIVE, BREAKS, HANG, broken};
use converse::{converse, seats};
use identify::identify;
use long_lived::PING_TIMEOUT;
use rest::LAST_LOGIN;

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
const FELL_BEHIND: Goodbye = (None, 1013, "Try again later");

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
    if broken("requests.slow-headers") {
        // The break: requests are given ten minutes, whatever the setting.
        config.request_timeout = Duration::from_secs(600);
    }
    let path = config.database_path.clone();
    if broken("server.restart-keeps-data") {
        behind_the_back(&path, "DROP TABLE IF EXISTS sessions");
    }
    let db = Database::open(&path)?;
    let bus = cluster::connect(config.redis_url.as_deref()).await?;
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
    let mut app = App::new(config, db);
    app.bus = bus;
    board::shut_down_on_signal(&app);
    tokio::spawn(cluster::relay(app.clone()));
    let routes = Router::new()
        .route("/ws", get(upgrade))
        .route("/api/login", post(flood::login))
        .merge(tickets::routes());
    let router = board::router_answering(&app, routes, Login::Exercise)
        .layer(middleware::from_fn(rest::tamper));
    if tcp_end::watched() {
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
        "TICKET_TTL_SECS" => broken("server.bad-ticket-ttl"),
        "MESSAGE_RATE" => broken("server.bad-limit-settings"),
        "LOGIN_CONCURRENCY" => broken("server.bad-hostile-settings"),
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

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
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

// ----- The socket -----

/// Which credential an upgrade carries.
enum Credential {
    Ticket(String),
    /// A token, and (only for the token-wins break) the cookie to fall back to.
    Token(String, Option<String>),
    /// An `Authorization: Bearer` header's user, checked before the upgrade.
    Bearer(User),
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
    let ticket = tickets::ticket_param(&query);
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
    // The contract's order: ticket, token, Authorization: Bearer, cookie.
    let authorization = headers
        .get(header::AUTHORIZATION)
        .filter(|_| ticket.is_none() && token.is_none());
    let bearer = match authorization {
        Some(header) if tickets::is_bearer_attempt(header) => {
            let Some(user) = tickets::bearer(&app, header) else {
                return tickets::refusal();
            };
            Some(user)
        }
        _ => None,
    };
    let exempt = ticket.is_some()
        || bearer.is_some()
        || (authorization.is_some() && broken("origin.basic-checked"));
    let origin_matters = broken("origin.token-exempt")
        || (broken("origin.ticket-exempt") && exempt)
        || (!exempt && token.is_none() && cookie.is_some());
    if origin_matters && !origin_allowed(&app, &headers) {
        return error_response(StatusCode::FORBIDDEN, "Forbidden origin");
    }
    let credential = match (ticket, token, bearer, cookie) {
        (Some(ticket), ..) => Credential::Ticket(ticket),
        (None, Some(token), _, None) if token.is_empty() && broken("ws.token-invalid") => {
            Credential::Anonymous
        }
        (None, Some(token), _, cookie) => {
            Credential::Token(token, cookie.filter(|_| broken("ws.token-wins")))
        }
        (None, None, Some(user), _) => Credential::Bearer(user),
        (None, None, None, Some(cookie)) => Credential::Cookie(cookie),
        (None, None, None, None) => Credential::Anonymous,
    };
    let ws = if broken("close.too-big") {
        ws
    } else {
        ws.max_message_size(MAX_MESSAGE_BYTES)
    };
    // The `protocol.bad-frames` break takes a client's unmasked frame as if
    // it were masked.
    let ws = ws.accept_unmasked_frames(broken("protocol.bad-frames"));
    let tcp = tcp.map(|Extension(ConnectInfo(tcp))| tcp);
    ws.on_upgrade(move |ws| {
        let mut socket = Socket::from(ws);
        if broken("protocol.bad-utf8") {
            // The break: a connection that breaks the protocol just ends.
            socket = socket.dropping_violations();
        }
        let life = live(app.clone(), socket, credential, tcp);
        app.track(life)
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
/// With `CLOSE_ON_TCP_END=1`, a client's close takes effect only when its
/// connection ends; with `CLEANUP_AFTER_CLOSE_HANDSHAKE=1`, the server's own
/// close only once the client has answered it; both as with Node's `ws`
/// (see [`tcp_end`]).
async fn live(app: App, mut socket: Socket, credential: Credential, tcp: Option<tcp_end::TcpEnd>) {
    let pending_hear_shutdown = !broken("shutdown.going-away");
    // For the `first-message.timeout-cancelled` break: the auth timer of a
    // socket without a credential, left running after its auth frame.
    let auth_timer = matches!(credential, Credential::Anonymous)
        .then(|| tokio::time::Instant::now() + app.config.auth_timeout)
        .filter(|_| broken("first-message.timeout-cancelled"));
    let who = tokio::select! {
        who = identify(&app, &mut socket, credential) => who,
        () = app.shutting_down(), if pending_hear_shutdown => Err(GOING_AWAY),
    };
    let (user, session) = match who {
        Ok(who) => who,
        Err(goodbye) => return part(socket, Some(goodbye)).await,
    };
    let mut slot = None;
    if long_lived::slot_before_greeting() {
        match long_lived::socket_slot(&app, &user, session.as_ref()) {
            Ok(taken) => slot = Some(taken),
            Err(goodbye) => return part(socket, Some(goodbye)).await,
        }
    }
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
    let _slot = match slot {
        Some(slot) => slot,
        None => match long_lived::socket_slot(&app, &user, session.as_ref()) {
            Ok(slot) => slot,
            Err(goodbye) => return part(socket, Some(goodbye)).await,
        },
    };
    let mut mailbox = app.rooms.mailbox();
    let goodbye = match auth_timer {
        Some(deadline) => tokio::select! {
            goodbye = converse(&app, &mut socket, &user, session.as_ref(), &mut mailbox) => goodbye,
            () = tokio::time::sleep_until(deadline) => Some(TIMED_OUT),
        },
        None => converse(&app, &mut socket, &user, session.as_ref(), &mut mailbox).await,
    };
    if let (Some(tcp), Some(NORMAL)) = (&tcp, goodbye)
        && tcp_end::close_on_tcp_end()
    {
        // Answers the close (the read flushes it), then waits for the end.
        let _ = socket.recv().await;
        tcp.ended(&app).await;
    }
    let by_server = goodbye.is_some_and(|(_, code, _)| code != NORMAL.1);
    // With CLEANUP_AFTER_CLOSE_HANDSHAKE, the server's own close is answered
    // before the boards are left; a socket that stopped answering pings is
    // dropped without waiting, as `ws` terminates it.
    let mut socket = Some(socket);
    if let (Some(tcp), Some((error, code, reason))) = (&tcp, goodbye)
        && by_server
        && goodbye != Some(PING_TIMEOUT)
        && tcp_end::cleanup_after_close_handshake()
        && let Some(socket) = socket.take()
    {
        tcp.close(&app, socket, error, code, reason).await;
    }
    seats().retain(|(_, socket, _)| *socket != mailbox.id);
    let stays_seated = broken("rooms.close") || (broken("rooms.close-by-server") && by_server);
    if !stays_seated {
        for (board, here) in app.rooms.leave_all(mailbox.id) {
            let viewers = cluster::viewers(&app, &board, here).await;
            let left = json!({ "type": "user_left", "user": user, "viewers": viewers });
            cluster::broadcast(&app, &board, mailbox.id, &left).await;
        }
    }
    if let Some(socket) = socket {
        part(socket, goodbye).await;
    }
}

/// Sends the goodbye (if any: a vanished client gets none). A client that
/// stopped answering pings will not answer a close either: it is not waited
/// for.
async fn part(mut socket: Socket, goodbye: Option<Goodbye>) {
    let Some((error, code, reason)) = goodbye else {
        return;
    };
    if goodbye == Some(PING_TIMEOUT) {
        return socket.abandon(code, reason).await;
    }
    if let Some(error) = error {
        socket.send_error(error).await;
    }
    socket.close(code, reason).await;
}
