//! Exercise 11: under attack.
//!
//! Exercises 1-10 are done. A public server meets clients that are many,
//! slow or malformed on purpose, and a Redis that goes away now and then.
//! board already times requests, closes broken frames with their code and
//! refuses a bad handshake; what is left is the server's own: bounding the
//! password checks anyone can ask for, and keeping a board alive while the
//! bus is gone.
//!
//! Book: "Under attack" (book/src/under-attack.md).
//!
//! In `exercises/` the lesson is left as `todo!()` stubs; `solutions/` has the
//! same file finished. Everything else (settings, database, REST routes,
//! rooms, shutdown) is the `board` crate.

use std::process::ExitCode;
use std::time::Duration;

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Query, State, WebSocketUpgrade, ws::WebSocket},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use axum_extra::extract::cookie::CookieJar;
use board::{
    App,
    bus::{Bus, BusError},
    config::normalize_origin,
    db::{DbError, Session, User, hash_secret, random_secret, unix_now},
    http::{
        LoginAttempt, SESSION_COOKIE, current_session, error_response, logged_in, login_attempt,
        unauthorized,
    },
    limits::{SocketSlot, TokenBucket},
    message::{BadMessage, ClientMessage},
    rooms::Mailbox,
    rooms::{FROM_ELSEWHERE, SocketId},
    socket::{Incoming, MAX_MESSAGE_BYTES, Socket, small_buffers},
};
use rusqlite::{OptionalExtension, params};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> ExitCode {
    let routes = Router::new()
        .route("/ws", get(upgrade))
        .route("/api/ws-ticket", post(mint_ticket));
    board::run_with_own_login(routes.route("/api/login", post(login)), relay).await
}

/// What the upgrade request offers as proof of who is connecting.
enum Credential {
    /// A `ticket` query parameter (even an empty one).
    Ticket(String),
    /// A `token` query parameter (even an empty one).
    Token(String),
    /// An `Authorization` header, before it is checked, and the `session`
    /// cookie that came with it (a browser adds both by itself).
    Authorization {
        header: String,
        cookie: Option<String>,
    },
    /// A bearer header's user, checked before the upgrade.
    Verified(User),
    /// A `session` cookie (even an empty one).
    Cookie(String),
    /// No credential at all.
    Missing,
}

/// Who an authenticated socket belongs to.
struct Identity {
    user: User,
    /// The login session of a cookie or ticket socket: when it ends, the
    /// socket ends. A token or bearer socket has none.
    session: Option<Session>,
}

// ANCHOR: upgrade
/// `GET /ws`: the upgrade request, the last HTTP request this socket makes.
/// Whatever it needs from the request is read here; after `on_upgrade` there
/// are only frames.
async fn upgrade(
    State(app): State<App>,
    ws: WebSocketUpgrade,
    Query(query): Query<Vec<(String, String)>>,
    jar: CookieJar,
    headers: HeaderMap,
) -> Response {
    let credential = read_credential(&query, &jar, &headers);
    // A bearer header is answered here, before the upgrade: a client that
    // sends one can read an HTTP status, and a refused request never
    // becomes a socket. A header of another scheme was not meant for this
    // server's sockets: the upgrade goes on with the cookie, if any.
    let credential = match credential {
        Credential::Authorization { header, cookie } => match authenticate_bearer(&app, &header) {
            Ok(BearerHeader::User(user)) => Credential::Verified(user),
            Ok(BearerHeader::Refused) => return bearer_refusal(),
            Ok(BearerHeader::OtherScheme) => cookie_credential(cookie),
            Err(error) => return error.into_response(),
        },
        credential => credential,
    };
    // Only a cookie rides along on a cross-site upgrade without the page's
    // say-so, so only cookie upgrades are checked. No `Origin` header at all
    // means a client that is not a browser: nothing to check.
    if matches!(credential, Credential::Cookie(_))
        && let Some(origin) = headers.get(header::ORIGIN)
        && !origin_allowed(&app, origin)
    {
        return error_response(StatusCode::FORBIDDEN, "Forbidden origin");
    }
    small_buffers(ws)
        .max_message_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |ws| {
            let connection = connect(app.clone(), ws, credential);
            app.track(connection)
        })
}
// ANCHOR_END: upgrade

// ANCHOR: origin_allowed
/// Whether a cookie upgrade from this `Origin` may go ahead: the server's
/// own origin, or one listed in `ALLOWED_ORIGINS`.
fn origin_allowed(app: &App, origin: &HeaderValue) -> bool {
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let origin = normalize_origin(origin);
    let port = app.config.port;
    let own = [
        format!("http://127.0.0.1:{port}"),
        format!("http://localhost:{port}"),
    ];
    own.contains(&origin) || app.config.allowed_origins.contains(&origin)
}
// ANCHOR_END: origin_allowed

// ANCHOR: read_credential
/// Which credential the upgrade request carries, in the contract's order:
/// a ticket, a token in the URL (see [`with_token`]), an `Authorization`
/// header, the `session` cookie, or none.
fn read_credential(query: &[(String, String)], jar: &CookieJar, headers: &HeaderMap) -> Credential {
    let cookie = jar
        .get(SESSION_COOKIE)
        .map(|cookie| cookie.value().to_owned());
    if let Some((_, ticket)) = query.iter().find(|(name, _)| name == "ticket") {
        return Credential::Ticket(ticket.clone());
    }
    // The first `token` parameter, even an empty one.
    let token = query
        .iter()
        .find(|(name, _)| name == "token")
        .map(|(_, token)| token.clone());
    if let Some(token) = token {
        return with_token(token, cookie);
    }
    // A header that is not text is passed on as empty: it holds no token.
    if let Some(header) = headers.get(header::AUTHORIZATION) {
        let header = header.to_str().unwrap_or_default().to_owned();
        return Credential::Authorization { header, cookie };
    }
    cookie_credential(cookie)
}
// ANCHOR_END: read_credential

/// The credential of a `session` cookie, or none without one. An empty
/// cookie is still a cookie: it names a session (one that does not exist),
/// which is not the same as bringing no credential at all.
fn cookie_credential(cookie: Option<String>) -> Credential {
    match cookie {
        Some(session_id) => Credential::Cookie(session_id),
        None => Credential::Missing,
    }
}

// ANCHOR: with_token
/// The credential of an upgrade that carries a token, and perhaps a session
/// cookie as well.
fn with_token(token: String, cookie: Option<String>) -> Credential {
    // The token wins, and it is the only one tried: a bad token must not
    // fall back to a good cookie, or the token check could be skipped just
    // by also sending a cookie.
    let _ = cookie;
    Credential::Token(token)
}
// ANCHOR_END: with_token

// ANCHOR: connect
/// The life of one socket: authenticate it, greet it, serve it, and say
/// goodbye.
async fn connect(app: App, ws: WebSocket, credential: Credential) {
    let mut socket = Socket::from(ws);
    // A socket still waiting for its auth frame is closed on shutdown too.
    let authenticated = tokio::select! {
        result = authenticate(&app, &mut socket, credential) => result,
        () = app.shutting_down() => Err(Rejection::ShuttingDown),
    };
    let identity = match authenticated {
        Ok(identity) => identity,
        Err(rejection) => return reject(socket, rejection).await,
    };
    // The slot is held until this function returns, whatever ends the socket.
    let _slot = match take_socket_slot(&app, &identity) {
        Ok(slot) => slot,
        Err(rejection) => return reject(socket, rejection).await,
    };
    send_authenticated(&mut socket, &identity.user).await;
    let mut mailbox = app.rooms.mailbox();
    let ending = serve_socket(&app, &mut socket, &identity, &mut mailbox).await;
    leave_all_boards(&app, &identity.user, &mailbox).await;
    finish(socket, ending).await;
}
// ANCHOR_END: connect

/// Finds out who is connecting, with whichever credential the upgrade carried.
async fn authenticate(
    app: &App,
    socket: &mut Socket,
    credential: Credential,
) -> Result<Identity, Rejection> {
    match credential {
        Credential::Cookie(session_id) => authenticate_cookie(app, &session_id),
        Credential::Token(token) => authenticate_token(app, &token),
        Credential::Ticket(ticket) => authenticate_ticket(app, &ticket),
        Credential::Verified(user) => Ok(Identity {
            user,
            session: None,
        }),
        // Authorization headers are checked before the upgrade; one that
        // got here unchecked is refused, never trusted.
        Credential::Authorization { .. } => Err(Rejection::InvalidToken),
        Credential::Missing => authenticate_first_message(app, socket).await,
    }
}

// ANCHOR: authenticate_cookie
/// Looks the session up in the database, then its user. Both are read fresh
/// for every socket: a session can be ended, and a user deleted, at any time.
fn authenticate_cookie(app: &App, session_id: &str) -> Result<Identity, Rejection> {
    let session = app
        .db
        .session(session_id)?
        .ok_or(Rejection::UnknownSession)?;
    // An expired session has its own answer: the client should log in
    // again, not wonder whether its cookie was forged.
    if session.is_expired() {
        return Err(Rejection::SessionExpired);
    }
    let user = app
        .db
        .user(&session.user_id)?
        .ok_or(Rejection::UserNotFound)?;
    Ok(Identity {
        user,
        session: Some(session),
    })
}
// ANCHOR_END: authenticate_cookie

// ANCHOR: authenticate_token
/// Looks an API token up. A token is not tied to a login session, so a
/// token socket has none to expire with.
fn authenticate_token(app: &App, token: &str) -> Result<Identity, Rejection> {
    let user = app.db.token_user(token)?.ok_or(Rejection::InvalidToken)?;
    Ok(Identity {
        user,
        session: None,
    })
}
// ANCHOR_END: authenticate_token

// ANCHOR: authenticate_first_message
/// A socket that came without a credential must send `{"type":"auth",...}`
/// first, within `AUTH_TIMEOUT_MS`. Anything else ends it: nothing a client
/// sends before it is authenticated may be acted on.
async fn authenticate_first_message(app: &App, socket: &mut Socket) -> Result<Identity, Rejection> {
    let first = tokio::time::timeout(app.config.auth_timeout, socket.recv())
        .await
        .map_err(|_| Rejection::AuthTimeout)?;
    let Some(Incoming::Text(text)) = first else {
        return Err(Rejection::NotAnAuthMessage);
    };
    let Ok(ClientMessage::Auth { token }) = ClientMessage::parse(&text) else {
        return Err(Rejection::NotAnAuthMessage);
    };
    authenticate_token(app, &token)
}
// ANCHOR_END: authenticate_first_message

// ANCHOR: mint_ticket
/// `POST /api/ws-ticket`: a ticket for one socket of the caller's session.
async fn mint_ticket(State(app): State<App>, jar: CookieJar) -> Result<Response, DbError> {
    let Some((session, _)) = current_session(&app, &jar)? else {
        return Ok(unauthorized());
    };
    let ticket = random_secret();
    let ttl = app.config.ticket_ttl.as_secs();
    // Whole seconds, rounded down: a ticket may expire up to a second early, never late.
    let expires_at = unix_now() + i64::try_from(ttl).unwrap_or(i64::MAX);
    app.db.with_connection(|db| {
        // Used tickets are deleted as they are used; expired ones go here,
        // so the table holds at most the last TICKET_TTL_SECS of minting.
        db.execute(
            "DELETE FROM ws_tickets WHERE expires_at <= ?1",
            [unix_now()],
        )?;
        db.execute(
            "INSERT INTO ws_tickets (ticket_hash, session_key, expires_at) VALUES (?1, ?2, ?3)",
            params![hash_secret(&ticket), session.key, expires_at],
        )
    })?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "ticket": ticket, "expiresIn": ttl })),
    )
        .into_response())
}
// ANCHOR_END: mint_ticket

// ANCHOR: authenticate_ticket
/// Uses a ticket up. The socket belongs to the session that minted it, so
/// that session's logout or expiry ends the socket as it ends a cookie socket.
fn authenticate_ticket(app: &App, ticket: &str) -> Result<Identity, Rejection> {
    // One statement finds the ticket and deletes it: of two upgrades racing
    // with one ticket, only one can get its row back.
    let redeemed = app.db.with_connection(|db| {
        db.query_row(
            "DELETE FROM ws_tickets WHERE ticket_hash = ?1 RETURNING session_key, expires_at",
            [hash_secret(ticket)],
            |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?)),
        )
        .optional()
    })?;
    let Some((session_key, expires_at)) = redeemed else {
        return Err(Rejection::InvalidTicket);
    };
    if unix_now() >= expires_at {
        return Err(Rejection::TicketExpired);
    }
    let session = app
        .db
        .session_by_key(&session_key)?
        .filter(|session| !session.is_expired())
        .ok_or(Rejection::InvalidTicket)?;
    let user = app
        .db
        .user(&session.user_id)?
        .ok_or(Rejection::InvalidTicket)?;
    Ok(Identity {
        user,
        session: Some(session),
    })
}
// ANCHOR_END: authenticate_ticket

/// What an `Authorization` header on the upgrade turns out to be.
enum BearerHeader {
    /// A bearer token the database knows: the socket is its user's.
    User(User),
    /// A bearer attempt that names nobody: refused before the upgrade.
    Refused,
    /// Credentials of another scheme, for someone other than this socket.
    OtherScheme,
}

// ANCHOR: authenticate_bearer
/// Checks an `Authorization` header before the upgrade.
fn authenticate_bearer(app: &App, header: &str) -> Result<BearerHeader, DbError> {
    let Some((scheme, token)) = header.split_once(' ') else {
        // A bare "Bearer" is a bearer attempt with an empty token.
        return Ok(if header.eq_ignore_ascii_case("bearer") {
            BearerHeader::Refused
        } else {
            BearerHeader::OtherScheme
        });
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Ok(BearerHeader::OtherScheme);
    }
    Ok(match app.db.token_user(token.trim())? {
        Some(user) => BearerHeader::User(user),
        None => BearerHeader::Refused,
    })
}
// ANCHOR_END: authenticate_bearer

// ANCHOR: bearer_refusal
/// The HTTP answer to a bad bearer header: no socket is opened.
fn bearer_refusal() -> Response {
    let mut refusal = error_response(StatusCode::UNAUTHORIZED, "Invalid token");
    refusal
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    refusal
}
// ANCHOR_END: bearer_refusal

// ANCHOR: take_socket_slot
/// The socket's place among its user's open sockets.
fn take_socket_slot(app: &App, identity: &Identity) -> Result<SocketSlot, Rejection> {
    app.user_sockets
        .try_open(&identity.user.id, app.config.max_sockets_per_user)
        .ok_or(Rejection::TooManyConnections)
}
// ANCHOR_END: take_socket_slot

// ANCHOR: recheck
/// Reads afresh what the upgrade decided, before a message is acted on.
fn recheck(
    app: &App,
    user: &User,
    mailbox: &Mailbox,
    message: &ClientMessage,
) -> Result<(), Ending> {
    if app.db.user(&user.id)?.is_none() {
        return Err(Ending::UserGone);
    }
    if let ClientMessage::Typing { board_id } = message
        && app.rooms.contains(board_id, mailbox.id)
        && !app.db.is_member(board_id, &user.id)?
    {
        return Err(Ending::Forbidden);
    }
    Ok(())
}
// ANCHOR_END: recheck

// ANCHOR: recheck_listener
/// Reads afresh, at every ping tick, what lets this socket go on hearing
/// its boards, whether or not it ever sends anything.
fn recheck_listener(app: &App, identity: &Identity, mailbox: &Mailbox) -> Result<(), Ending> {
    if let Some(session) = &identity.session
        && app
            .db
            .session_by_key(&session.key)?
            .is_none_or(|session| session.is_expired())
    {
        return Err(Ending::SessionEnded);
    }
    if app.db.user(&identity.user.id)?.is_none() {
        return Err(Ending::UserGone);
    }
    for board_id in app.rooms.boards_of(mailbox.id) {
        if !app.db.is_member(&board_id, &identity.user.id)? {
            return Err(Ending::Forbidden);
        }
    }
    Ok(())
}
// ANCHOR_END: recheck_listener

// ANCHOR: send_authenticated
/// Tells the client who it is: `{"type":"authenticated","user":{"id":..,"name":..}}`.
async fn send_authenticated(socket: &mut Socket, user: &User) {
    socket
        .send_json(&serde_json::json!({ "type": "authenticated", "user": user }))
        .await;
}
// ANCHOR_END: send_authenticated

// ANCHOR: rejection
/// Why a socket is turned away before it is authenticated.
enum Rejection {
    /// The cookie names no session.
    UnknownSession,
    /// The session's user no longer exists.
    UserNotFound,
    /// The session has reached its expiry time.
    SessionExpired,
    /// The token is unknown (or empty).
    InvalidToken,
    /// The first frame was not an auth frame.
    NotAnAuthMessage,
    /// No auth frame within `AUTH_TIMEOUT_MS`.
    AuthTimeout,
    /// The server shut down before the socket was authenticated.
    ShuttingDown,
    /// The ticket is unknown, empty, used, or its session has ended.
    InvalidTicket,
    /// The ticket is past its `TICKET_TTL_SECS`.
    TicketExpired,
    /// The user already holds `MAX_SOCKETS_PER_USER` open sockets.
    TooManyConnections,
    /// The database could not answer: the server's fault, not the client's.
    Internal,
}
// ANCHOR_END: rejection

/// A failed query rejects the socket instead of panicking its task; `?` on a
/// database call turns it into [`Rejection::Internal`].
impl From<DbError> for Rejection {
    fn from(error: DbError) -> Self {
        tracing::error!("{error}");
        Rejection::Internal
    }
}

/// How a rejection is told to the client: an optional error frame
/// `{"error": ...}`, then a close frame with a code and a reason.
struct Answer {
    error: Option<&'static str>,
    code: u16,
    reason: &'static str,
}

// ANCHOR: answer
impl Rejection {
    /// The contract's answer to each rejection. 4001 means "who are you?":
    /// the credential is missing or wrong, and logging in again may help.
    fn answer(&self) -> Answer {
        let (error, code, reason) = match self {
            Rejection::UnknownSession => (Some("Invalid session"), 4001, "Invalid session"),
            Rejection::UserNotFound => (None, 4001, "User not found"),
            Rejection::SessionExpired => (Some("Session expired"), 4002, "Session expired"),
            Rejection::InvalidToken => (Some("Invalid token"), 4001, "Invalid token"),
            Rejection::NotAnAuthMessage => (None, 4001, "Unauthorized"),
            Rejection::AuthTimeout => (None, 4001, "Authentication timeout"),
            Rejection::ShuttingDown => (None, 1001, "Server shutting down"),
            Rejection::InvalidTicket => (Some("Invalid ticket"), 4001, "Invalid ticket"),
            Rejection::TicketExpired => (Some("Ticket expired"), 4001, "Ticket expired"),
            Rejection::TooManyConnections => (None, 1008, "Too many connections"),
            Rejection::Internal => (None, 1011, "Internal error"),
        };
        Answer {
            error,
            code,
            reason,
        }
    }
}
// ANCHOR_END: answer

// ANCHOR: reject
/// Sends a rejection's error frame (if it has one), then its close frame.
async fn reject(mut socket: Socket, rejection: Rejection) {
    let answer = rejection.answer();
    if let Some(error) = answer.error {
        socket.send_error(error).await;
    }
    socket.close(answer.code, answer.reason).await;
}
// ANCHOR_END: reject

/// Why a socket's message loop ended; each reason has its own close frame.
enum Ending {
    /// The client sent a close frame.
    ClientClosed,
    /// The connection broke without a close frame.
    Gone,
    /// The session expired or was logged out.
    SessionEnded,
    /// The server is shutting down.
    ShuttingDown,
    /// The client sent a message over 64 KiB.
    TooBig,
    /// The user tried to join a board they are not a member of.
    Forbidden,
    /// The database could not answer.
    Internal,
    /// The socket fell too far behind the frames sent to it.
    FellBehind,
    /// The client sent nothing, not even a pong, for two ping intervals.
    PingTimeout,
    /// The user was deleted while the socket was open.
    UserGone,
}

/// A failed query ends the socket instead of panicking its task.
impl From<DbError> for Ending {
    fn from(error: DbError) -> Self {
        tracing::error!("{error}");
        Ending::Internal
    }
}

// ANCHOR: serve_socket
/// Serves an authenticated socket until it ends: its own messages, frames
/// other sockets send it through the rooms, and the events that end it from
/// outside (the session ending, the server shutting down).
async fn serve_socket(
    app: &App,
    socket: &mut Socket,
    identity: &Identity,
    mailbox: &mut Mailbox,
) -> Ending {
    let session_ended = async {
        match &identity.session {
            Some(session) => app.session_ended(session).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(session_ended);
    let mut pings = tokio::time::interval(app.config.ping_interval);
    pings.reset(); // the first ping one interval from now, not at once
    let mut bucket = TokenBucket::new(app.config.message_rate);
    loop {
        let silence_allowed = (2 * app.config.ping_interval).saturating_sub(socket.silent_for());
        tokio::select! {
            incoming = socket.recv() => match incoming {
                Some(Incoming::Text(_) | Incoming::Binary) if !bucket.try_take() => socket.send_error("Rate limited").await,
                Some(Incoming::Text(text)) => {
                    if let Err(ending) = handle_text(app, socket, &identity.user, mailbox, &text).await {
                        return ending;
                    }
                }
                Some(Incoming::Binary) => socket.send_error(BadMessage::InvalidJson.error_text()).await,
                Some(Incoming::Close) => return Ending::ClientClosed,
                Some(Incoming::TooBig) => return Ending::TooBig,
                None => return Ending::Gone,
            },
            frame = mailbox.next() => match frame {
                Some(frame) => socket.send_queued(frame, mailbox).await,
                // At shutdown every socket leaves at once, and the user_left
                // frames can overflow a queue: that socket is still told the
                // server is going away, not that it fell behind.
                None if app.is_shutting_down() => return Ending::ShuttingDown,
                None => return Ending::FellBehind,
            },
            () = &mut session_ended => return Ending::SessionEnded,
            () = app.shutting_down() => return Ending::ShuttingDown,
            _ = pings.tick() => {
                // The ping first: how often it goes out is what keeps a live
                // connection from looking silent, whatever the re-check costs.
                socket.ping().await;
                if let Err(ending) = recheck_listener(app, identity, mailbox) {
                    return ending;
                }
            }
            // A pong counts as hearing from the client but does not wake this
            // loop, so the deadline is checked again when it comes.
            () = tokio::time::sleep(silence_allowed) => {
                if socket.silent_for() >= 2 * app.config.ping_interval {
                    return Ending::PingTimeout;
                }
            }
        }
    }
}
// ANCHOR_END: serve_socket

// ANCHOR: handle_text
/// Acts on one text frame from an authenticated socket.
async fn handle_text(
    app: &App,
    socket: &mut Socket,
    user: &User,
    mailbox: &Mailbox,
    text: &str,
) -> Result<(), Ending> {
    let message = match ClientMessage::parse(text) {
        Ok(message) => message,
        Err(bad) => {
            socket.send_error(bad.error_text()).await;
            return Ok(());
        }
    };
    recheck(app, user, mailbox, &message)?;
    match message {
        ClientMessage::Join { board_id } => {
            if !app.db.is_member(&board_id, &user.id)? {
                return Err(Ending::Forbidden);
            }
            let viewers = match app.rooms.join(&board_id, mailbox) {
                Some(viewers) => {
                    let viewers =
                        board_viewers(app, &board_id, mailbox.id, Change::Joined, viewers).await;
                    let joined = json!({ "type": "user_joined", "user": user, "viewers": viewers });
                    broadcast(app, &board_id, mailbox.id, &joined).await;
                    viewers
                }
                // Already in: answer again, tell nobody.
                None => {
                    board_viewers(
                        app,
                        &board_id,
                        mailbox.id,
                        Change::None,
                        app.rooms.viewers(&board_id),
                    )
                    .await
                }
            };
            socket
                .send_json(&json!({ "type": "joined", "boardId": board_id, "viewers": viewers }))
                .await;
        }
        ClientMessage::Typing { board_id } => {
            if app.rooms.contains(&board_id, mailbox.id) {
                broadcast(
                    app,
                    &board_id,
                    mailbox.id,
                    &json!({ "type": "user_typing", "user": user }),
                )
                .await;
            } else {
                socket.send_error("Not in board").await;
            }
        }
        ClientMessage::Leave { board_id } => match app.rooms.leave(&board_id, mailbox.id) {
            Some(viewers) => {
                let viewers =
                    board_viewers(app, &board_id, mailbox.id, Change::Left, viewers).await;
                let left = json!({ "type": "user_left", "user": user, "viewers": viewers });
                broadcast(app, &board_id, mailbox.id, &left).await;
            }
            None => socket.send_error("Not in board").await,
        },
        ClientMessage::Auth { .. } => socket.send_error("Already authenticated").await,
    }
    Ok(())
}
// ANCHOR_END: handle_text

// ANCHOR: leave_all_boards
/// A socket that ends leaves every board it was in, and the others hear of it.
async fn leave_all_boards(app: &App, user: &User, mailbox: &Mailbox) {
    for (board_id, viewers) in app.rooms.leave_all(mailbox.id) {
        let viewers = board_viewers(app, &board_id, mailbox.id, Change::Left, viewers).await;
        let left = json!({ "type": "user_left", "user": user, "viewers": viewers });
        broadcast(app, &board_id, mailbox.id, &left).await;
    }
}
// ANCHOR_END: leave_all_boards

// ANCHOR: finish
/// Says goodbye with the close frame that tells the client why the socket ends.
async fn finish(mut socket: Socket, ending: Ending) {
    match ending {
        Ending::ClientClosed => socket.close(1000, "").await,
        Ending::SessionEnded => socket.close(4002, "Session expired").await,
        Ending::ShuttingDown => socket.close(1001, "Server shutting down").await,
        Ending::TooBig => socket.close(1009, "Message too big").await,
        Ending::Internal => socket.close(1011, "Internal error").await,
        Ending::FellBehind => socket.close(1013, "Try again later").await,
        // A client that answers nothing will not answer a close either.
        Ending::PingTimeout => socket.abandon(1001, "Ping timeout").await,
        Ending::UserGone => {
            socket.send_error("User not found").await;
            socket.close(4001, "User not found").await;
        }
        Ending::Forbidden => {
            socket.send_error("Forbidden").await;
            socket.close(4003, "Forbidden").await;
        }
        // Nobody is listening any more.
        Ending::Gone => {}
    }
}
// ANCHOR_END: finish

// ANCHOR: relay
/// Runs beside the server when `REDIS_URL` is set: hands what the other
/// processes publish to [`deliver`], and what ended here to
/// [`share_session_ended`].
async fn relay(app: App) {
    let Some(bus) = app.bus.clone() else {
        return;
    };
    let Some(mut published) = bus.messages() else {
        return;
    };
    let mut endings = app.sessions.subscribe();
    loop {
        tokio::select! {
            Some(payload) = published.recv() => deliver(&app, &bus, &payload),
            ended = endings.recv() => match ended {
                // A report from elsewhere is not sent back: it would echo forever.
                Ok(ended) if ended.here => {
                    if let Err(error) = share_session_ended(&bus, &ended.key).await {
                        tracing::warn!("{error}");
                    }
                }
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            },
            () = app.shutting_down() => return,
        }
    }
}
// ANCHOR_END: relay

// ANCHOR: broadcast
/// Tells the others in `board_id`: the sockets of this process directly,
/// the other processes' over the bus.
async fn broadcast(app: &App, board_id: &str, sender: SocketId, frame: &Value) {
    app.rooms.broadcast(board_id, sender, frame);
    let Some(bus) = &app.bus else {
        return;
    };
    let shared = share_room_event(bus, board_id, frame);
    let shared = within(BUS_WAIT, shared);
    if let Err(error) = shared.await {
        tracing::warn!("{error}");
    }
}
// ANCHOR_END: broadcast

// ANCHOR: share_room_event
/// Publishes a room event for the other processes' sockets in `board_id`.
async fn share_room_event(bus: &Bus, board_id: &str, frame: &Value) -> Result<(), BusError> {
    let message = json!({ "from": bus.process_id(), "board": board_id, "frame": frame });
    bus.publish(&message.to_string()).await
}
// ANCHOR_END: share_room_event

// ANCHOR: share_session_ended
/// Publishes a session that ended here (a logout), so that every process
/// closes that session's sockets.
async fn share_session_ended(bus: &Bus, key: &str) -> Result<(), BusError> {
    let message = json!({ "from": bus.process_id(), "sessionEnded": key });
    bus.publish(&message.to_string()).await
}
// ANCHOR_END: share_session_ended

// ANCHOR: deliver
/// Acts on one message from the bus.
fn deliver(app: &App, bus: &Bus, payload: &str) {
    let Ok(message) = serde_json::from_str::<Value>(payload) else {
        return;
    };
    if message["from"] == bus.process_id() {
        return;
    }
    if let (Some(board_id), Some(frame)) = (message["board"].as_str(), message.get("frame")) {
        app.rooms.broadcast(board_id, FROM_ELSEWHERE, frame);
    } else if let Some(key) = message["sessionEnded"].as_str() {
        app.sessions.ended_elsewhere(key);
    }
}
// ANCHOR_END: deliver

/// How a socket's membership of a board changed.
#[derive(Clone, Copy)]
enum Change {
    Joined,
    Left,
    None,
}

// ANCHOR: board_viewers
/// The board's viewers after `change`: `here` counts this process's own
/// sockets; with a bus, every process's are counted.
async fn board_viewers(
    app: &App,
    board_id: &str,
    socket: SocketId,
    change: Change,
    here: usize,
) -> usize {
    let Some(bus) = &app.bus else {
        return here;
    };
    let counted = count_on_bus(bus, board_id, socket, change);
    let counted = within(BUS_WAIT, counted);
    match counted.await {
        Ok(viewers) => viewers,
        Err(error) => {
            tracing::warn!("{error}");
            here
        }
    }
}
// ANCHOR_END: board_viewers

// ANCHOR: bus_wait
/// How long a socket's loop waits for the bus before it goes on without it:
/// a few round trips to a Redis that is there, far less than its reconnecting.
const BUS_WAIT: Duration = Duration::from_millis(250);

/// `command`, given up as timed out after `limit`.
async fn within<T>(
    limit: Duration,
    command: impl Future<Output = Result<T, BusError>>,
) -> Result<T, BusError> {
    tokio::time::timeout(limit, command)
        .await
        .unwrap_or(Err(BusError::TimedOut(limit)))
}
// ANCHOR_END: bus_wait

// ANCHOR: count_on_bus
/// Records `change` in the board's shared count and returns the count after it.
async fn count_on_bus(
    bus: &Bus,
    board_id: &str,
    socket: SocketId,
    change: Change,
) -> Result<usize, BusError> {
    let key = format!("viewers:{board_id}");
    let member = format!("{}:{socket}", bus.process_id());
    let mut pipe = redis::pipe();
    pipe.atomic();
    match change {
        Change::Joined => pipe.sadd(&key, &member).ignore(),
        Change::Left => pipe.srem(&key, &member).ignore(),
        Change::None => &mut pipe,
    };
    let (viewers,): (usize,) = pipe.scard(&key).query_async(&mut bus.connection()).await?;
    Ok(viewers)
}
// ANCHOR_END: count_on_bus

// ANCHOR: login
/// `POST /api/login`: the one request anyone may send without a credential,
/// and each one costs the server a password check.
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
    match check_password(&app, attempt).await {
        Ok(user) => logged_in(&app, jar, user),
        Err(Busy) => busy(),
    }
}
// ANCHOR_END: login

/// How long a login may wait for a place among the password checks before
/// it is answered Busy.
const LOGIN_WAIT: Duration = Duration::from_secs(1);

/// Too many password checks are waiting: try again later.
struct Busy;

// ANCHOR: check_password
/// Runs one login's password check (an Argon2id hash: about 19 MiB and tens
/// of milliseconds of CPU), at most `LOGIN_CONCURRENCY` at once.
async fn check_password(app: &App, mut attempt: LoginAttempt) -> Result<Option<User>, Busy> {
    let place = tokio::time::timeout(LOGIN_WAIT, app.password_checks.place())
        .await
        .map_err(|_| Busy)?;
    attempt.hold(place);
    // A check that has started runs to its end in its own thread, even if
    // the client gives up; what the attempt holds is let go when it ends.
    let checked = tokio::task::spawn_blocking(move || attempt.check());
    Ok(checked.await.unwrap_or(None))
}
// ANCHOR_END: check_password

// ANCHOR: busy
/// The answer to a login that found no place among the password checks.
fn busy() -> Response {
    let mut busy = error_response(StatusCode::SERVICE_UNAVAILABLE, "Busy");
    busy.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    busy
}
// ANCHOR_END: busy
