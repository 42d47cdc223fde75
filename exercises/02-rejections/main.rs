//! Exercise 2: reject the sockets that cannot be authenticated.
//!
//! Exercise 1 is done. Now every way the cookie can fail (no cookie, an
//! unknown session, a session whose user was deleted) gets its own error
//! frame and close code, so the client knows why it was turned away.
//!
//! Book: "Approach 1: the session cookie during the upgrade", section
//! "Rejecting a socket" (book/src/cookie-upgrade.md#rejecting-a-socket).
//!
//! In `exercises/` the lesson is left as `todo!()` stubs; `solutions/` has the
//! same file finished. Everything else (settings, database, REST routes,
//! rooms, shutdown) is the `board` crate.

use std::process::ExitCode;

use axum::{
    Router,
    extract::{State, WebSocketUpgrade, ws::WebSocket},
    response::Response,
    routing::get,
};
use axum_extra::extract::cookie::CookieJar;
use board::{
    App,
    db::{DbError, User},
    http::SESSION_COOKIE,
    socket::{MAX_MESSAGE_BYTES, Socket, small_buffers},
};

#[tokio::main]
async fn main() -> ExitCode {
    board::run(Router::new().route("/ws", get(upgrade))).await
}

/// What the upgrade request offers as proof of who is connecting.
enum Credential {
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
async fn upgrade(State(app): State<App>, ws: WebSocketUpgrade, jar: CookieJar) -> Response {
    let credential = read_credential(&jar);
    small_buffers(ws)
        .max_message_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |ws| {
            let connection = connect(app.clone(), ws, credential);
            app.track(connection)
        })
}
// ANCHOR_END: upgrade

// ANCHOR: read_credential
/// Which credential the upgrade request carries: the `session` cookie, if
/// there is one. (Exercise 4 adds a token in the URL.)
fn read_credential(jar: &CookieJar) -> Credential {
    let cookie = jar
        .get(SESSION_COOKIE)
        .map(|cookie| cookie.value().to_owned());
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

// ANCHOR: connect
/// The life of one socket: authenticate it, greet it, serve it, and say
/// goodbye.
async fn connect(app: App, ws: WebSocket, credential: Credential) {
    let mut socket = Socket::from(ws);
    let authenticated = authenticate(&app, credential);
    let identity = match authenticated {
        Ok(identity) => identity,
        Err(rejection) => return reject(socket, rejection).await,
    };
    send_authenticated(&mut socket, &identity.user).await;
    // Exercise 3 teaches what to do with messages; until then they are read
    // and ignored, which keeps the socket open until the client leaves.
    while socket.recv().await.is_some() {}
}
// ANCHOR_END: connect

/// Finds out who is connecting, with whichever credential the upgrade carried.
fn authenticate(app: &App, credential: Credential) -> Result<Identity, Rejection> {
    match credential {
        Credential::Cookie(session_id) => authenticate_cookie(app, &session_id),
        Credential::Missing => Err(Rejection::NoCredential),
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
    /// No credential at all.
    NoCredential,
    /// The cookie names no session.
    UnknownSession,
    /// The session's user no longer exists.
    UserNotFound,
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
        // Exercise 2: every rejection gets the answer the contract's table
        // "Authenticating" gives it: whether an error frame comes first, and
        // the close code and reason. A client reads these to decide what to
        // do next (log in again? give up?). A server fault is not the
        // client's doing: it gets the standard code for one.
        // Book: book/src/cookie-upgrade.md#rejecting-a-socket
        todo!("exercise 2: Rejection::answer: the contract's answer to each rejection")
    }
}
// ANCHOR_END: answer

// ANCHOR: reject
/// Sends a rejection's error frame (if it has one), then its close frame.
async fn reject(mut socket: Socket, rejection: Rejection) {
    // Exercise 2: tell the client why it is turned away, with the frames of
    // the rejection's answer, in the order the contract gives them.
    // Book: book/src/cookie-upgrade.md#rejecting-a-socket
    todo!("exercise 2: reject: send the rejection's frames")
}
// ANCHOR_END: reject
