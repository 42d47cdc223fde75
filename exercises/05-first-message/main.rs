//! Exercise 5: the token as the first message.
//!
//! Exercises 1-4 are done. A socket that arrives with no credential at all is
//! now accepted and given `AUTH_TIMEOUT_MS` to send `{"type":"auth","token":...}`
//! as its first frame; until it does, nothing it sends is acted on.
//!
//! Book: "Approach 3: the token as the first message" (book/src/first-message.md).
//!
//! In `exercises/` the lesson is left as `todo!()` stubs; `solutions/` has the
//! same file finished. Everything else (settings, database, REST routes,
//! rooms, shutdown) is the `board` crate.

use std::process::ExitCode;

use axum::{
    Router,
    extract::{Query, State, WebSocketUpgrade, ws::WebSocket},
    response::Response,
    routing::get,
};
use axum_extra::extract::cookie::CookieJar;
use board::{
    App,
    db::{DbError, User},
    http::SESSION_COOKIE,
    message::{BadMessage, ClientMessage},
    rooms::Mailbox,
    socket::{Incoming, MAX_MESSAGE_BYTES, Socket, small_buffers},
};
use serde_json::json;

#[tokio::main]
async fn main() -> ExitCode {
    board::run(Router::new().route("/ws", get(upgrade))).await
}

/// What the upgrade request offers as proof of who is connecting.
enum Credential {
    /// A `token` query parameter (even an empty one).
    Token(String),
    /// A `session` cookie (even an empty one).
    Cookie(String),
    /// No credential at all.
    Missing,
}

/// Who an authenticated socket belongs to.
struct Identity {
    user: User,
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
) -> Response {
    let credential = read_credential(&query, &jar);
    small_buffers(ws)
        .max_message_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |ws| {
            let connection = connect(app.clone(), ws, credential);
            app.track(connection)
        })
}
// ANCHOR_END: upgrade

// ANCHOR: read_credential
/// Which credential the upgrade request carries: a token in the URL (see
/// [`with_token`]), else the `session` cookie, else none.
fn read_credential(query: &[(String, String)], jar: &CookieJar) -> Credential {
    let cookie = jar
        .get(SESSION_COOKIE)
        .map(|cookie| cookie.value().to_owned());
    // The first `token` parameter, even an empty one.
    let token = query
        .iter()
        .find(|(name, _)| name == "token")
        .map(|(_, token)| token.clone());
    if let Some(token) = token {
        return with_token(token, cookie);
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
    let authenticated = authenticate(&app, &mut socket, credential).await;
    let identity = match authenticated {
        Ok(identity) => identity,
        Err(rejection) => return reject(socket, rejection).await,
    };
    send_authenticated(&mut socket, &identity.user).await;
    let mut mailbox = app.rooms.mailbox();
    serve_socket(&app, &mut socket, &identity, &mut mailbox).await;
    leave_all_boards(&app, &identity.user, &mailbox);
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
    let user = app
        .db
        .user(&session.user_id)?
        .ok_or(Rejection::UserNotFound)?;
    Ok(Identity { user })
}
// ANCHOR_END: authenticate_cookie

// ANCHOR: authenticate_token
/// Looks an API token up. A token is not tied to a login session, so a
/// token socket has none to expire with.
fn authenticate_token(app: &App, token: &str) -> Result<Identity, Rejection> {
    let user = app.db.token_user(token)?.ok_or(Rejection::InvalidToken)?;
    Ok(Identity { user })
}
// ANCHOR_END: authenticate_token

// ANCHOR: authenticate_first_message
/// A socket that came without a credential must send `{"type":"auth",...}`
/// first, within `AUTH_TIMEOUT_MS`. Anything else ends it: nothing a client
/// sends before it is authenticated may be acted on.
async fn authenticate_first_message(app: &App, socket: &mut Socket) -> Result<Identity, Rejection> {
    // Exercise 5: this socket came with no credential, so its first frame
    // must be the auth frame, within AUTH_TIMEOUT_MS. Decide what ends it
    // (anything else first, nothing in time) and make sure nothing it sends
    // before it is authenticated is acted on. The token in a good auth
    // frame is as trustworthy as one in a URL.
    // Book: book/src/first-message.md#the-auth-frame
    todo!("exercise 5: authenticate_first_message: wait for the auth frame")
}
// ANCHOR_END: authenticate_first_message

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
    /// The token is unknown (or empty).
    InvalidToken,
    /// The first frame was not an auth frame.
    NotAnAuthMessage,
    /// No auth frame within `AUTH_TIMEOUT_MS`.
    AuthTimeout,
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
        // Exercise 5: two more rejections to answer, as the contract says.
        // Book: book/src/first-message.md#the-unauthenticated-window
        let (error, code, reason) = match self {
            Rejection::UnknownSession => (Some("Invalid session"), 4001, "Invalid session"),
            Rejection::UserNotFound => (None, 4001, "User not found"),
            Rejection::InvalidToken => (Some("Invalid token"), 4001, "Invalid token"),
            Rejection::NotAnAuthMessage => todo!("exercise 5: answer a first frame not auth"),
            Rejection::AuthTimeout => todo!("exercise 5: answer no auth frame in time"),
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

// ANCHOR: serve_socket
/// Serves an authenticated socket until it ends: its own messages, and the
/// frames other sockets send it through the rooms.
async fn serve_socket(app: &App, socket: &mut Socket, identity: &Identity, mailbox: &mut Mailbox) {
    loop {
        tokio::select! {
            incoming = socket.recv() => match incoming {
                Some(Incoming::Text(text)) => {
                    handle_text(app, socket, &identity.user, mailbox, &text).await;
                }
                Some(Incoming::Binary) => socket.send_error(BadMessage::InvalidJson.error_text()).await,
                Some(Incoming::Close | Incoming::TooBig) | None => return,
            },
            frame = mailbox.next() => match frame {
                Some(frame) => socket.send_queued(frame, mailbox).await,
                None => return,
            },
        }
    }
}
// ANCHOR_END: serve_socket

// ANCHOR: handle_text
/// Acts on one text frame from an authenticated socket.
async fn handle_text(app: &App, socket: &mut Socket, user: &User, mailbox: &Mailbox, text: &str) {
    let message = match ClientMessage::parse(text) {
        Ok(message) => message,
        Err(bad) => {
            socket.send_error(bad.error_text()).await;
            return;
        }
    };
    match message {
        ClientMessage::Join { board_id } => {
            let viewers = match app.rooms.join(&board_id, mailbox) {
                Some(viewers) => {
                    let joined = json!({ "type": "user_joined", "user": user, "viewers": viewers });
                    app.rooms.broadcast(&board_id, mailbox.id, &joined);
                    viewers
                }
                // Already in: answer again, tell nobody.
                None => app.rooms.viewers(&board_id),
            };
            socket
                .send_json(&json!({ "type": "joined", "boardId": board_id, "viewers": viewers }))
                .await;
        }
        ClientMessage::Typing { board_id } => {
            if app.rooms.contains(&board_id, mailbox.id) {
                app.rooms.broadcast(
                    &board_id,
                    mailbox.id,
                    &json!({ "type": "user_typing", "user": user }),
                );
            } else {
                socket.send_error("Not in board").await;
            }
        }
        ClientMessage::Leave { board_id } => match app.rooms.leave(&board_id, mailbox.id) {
            Some(viewers) => {
                let left = json!({ "type": "user_left", "user": user, "viewers": viewers });
                app.rooms.broadcast(&board_id, mailbox.id, &left);
            }
            None => socket.send_error("Not in board").await,
        },
        ClientMessage::Auth { .. } => socket.send_error("Already authenticated").await,
    }
}
// ANCHOR_END: handle_text

// ANCHOR: leave_all_boards
/// A socket that ends leaves every board it was in, and the others hear of it.
fn leave_all_boards(app: &App, user: &User, mailbox: &Mailbox) {
    for (board_id, viewers) in app.rooms.leave_all(mailbox.id) {
        let left = json!({ "type": "user_left", "user": user, "viewers": viewers });
        app.rooms.broadcast(&board_id, mailbox.id, &left);
    }
}
// ANCHOR_END: leave_all_boards
