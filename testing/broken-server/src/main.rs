//! A deliberately breakable board server, for testing the checker.
//!
//! A checker row that can never fail proves nothing: it may not look at what
//! its name says. This server passes every row of exercise 8 when `BREAK_ROW`
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
//! a middleware ([`rest::tamper`]) around the untouched `board` routes, and
//! exercise 8's tickets and bearer header live in [`tickets`]. Some breaks
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
    extract::{ConnectInfo, Extension, Query, State, WebSocketUpgrade},
    http::{HeaderMap, StatusCode, header},
    middleware,
    response::Response,
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

mod rest;
mod tcp_end;
mod tickets;

use rest::{LAST_LOGIN, token_user};

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
    (
        "server.bad-ticket-ttl",
        "a bad TICKET_TTL_SECS falls back to the default",
    ),
    (
        "tickets.issue",
        "POST /api/ws-ticket without a session still mints a ticket",
    ),
    ("tickets.once", "a ticket is read, never used up"),
    (
        "tickets.invalid",
        "an empty ticket counts as none: the cookie is tried",
    ),
    ("tickets.expired", "a ticket's expiry is never checked"),
    (
        "tickets.session-ended",
        "a ticket remembers its user, not its session",
    ),
    (
        "tickets.race",
        "a ticket is read, then deleted a moment later",
    ),
    (
        "tickets.logout-closes",
        "a ticket socket does not belong to its session",
    ),
    (
        "bearer.ok",
        "the Bearer scheme is compared case-sensitively",
    ),
    (
        "bearer.invalid",
        "the 401 for a bad header lacks WWW-Authenticate",
    ),
    (
        "logs.ticket-redacted",
        "ticket upgrades are logged with their raw URL",
    ),
    (
        "origin.ticket-exempt",
        "ticket and bearer upgrades are Origin-checked too",
    ),
    ("page.served", "the page loads its script from a CDN"),
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
    let routes = Router::new()
        .route("/ws", get(upgrade))
        .merge(tickets::routes());
    let router = board::router(&app, routes).layer(middleware::from_fn(rest::tamper));
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
        "TICKET_TTL_SECS" => broken("server.bad-ticket-ttl"),
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
    // The contract's order: ticket, token, Authorization header, cookie.
    let bearer = match headers.get(header::AUTHORIZATION) {
        Some(header) if ticket.is_none() && token.is_none() => {
            let Some(user) = tickets::bearer(&app, header) else {
                return tickets::refusal();
            };
            Some(user)
        }
        _ => None,
    };
    let exempt = ticket.is_some() || bearer.is_some();
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
        Credential::Ticket(ticket) => tickets::redeem(app, &ticket).await,
        Credential::Bearer(user) => Ok((user, None)),
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
