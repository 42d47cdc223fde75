//! Exercise 8: one-time tickets (`POST /api/ws-ticket`, then one upgrade
//! with `?ticket=`) and the `Authorization: Bearer` header, with the breaks
//! of their rows. `main.rs` reads the credentials in the contract's order
//! (ticket, token, header, cookie) and calls in here.
//!
//! A ticket is stored hashed with the key of the session that minted it and
//! its expiry, in board's `ws_tickets` table, and is used up by one
//! `DELETE ... RETURNING`: of two upgrades racing with one ticket, only one
//! gets the row back.

use std::{sync::Mutex, time::Duration};

use axum::{
    Json, Router,
    extract::State,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::post,
};
use axum_extra::extract::cookie::CookieJar;
use board::{
    App,
    db::{DbError, Session, User, hash_secret, random_secret, unix_now},
    http::{current_session, error_response, unauthorized},
};
use rusqlite::{OptionalExtension, params};
use serde_json::json;

use crate::{Goodbye, broken, lock, rest::token_user};

const INVALID_TICKET: Goodbye = (Some("Invalid ticket"), 4001, "Invalid ticket");
const TICKET_EXPIRED: Goodbye = (Some("Ticket expired"), 4001, "Ticket expired");
const INTERNAL: Goodbye = (None, 1011, "Internal error");

/// For the `tickets.race` break: the time between reading a ticket and
/// deleting it, long enough for a second upgrade to read it too.
const RACE_WINDOW: Duration = Duration::from_millis(200);

/// For the `tickets.session-ended` break: the user each ticket was minted
/// for, by ticket hash (the ticket remembers its user, not its session).
static MINTED_FOR: Mutex<Vec<(String, User)>> = Mutex::new(Vec::new());

/// For the `cluster.ticket` break: the hashes of the tickets this process
/// minted, as if tickets lived in the process's memory.
static MINTED_HERE: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// `POST /api/ws-ticket`.
pub(crate) fn routes() -> Router<App> {
    Router::new().route("/api/ws-ticket", post(mint))
}

/// A ticket for one socket of the caller's session: 201
/// `{"ticket","expiresIn"}`, or 401 without a live session.
async fn mint(State(app): State<App>, jar: CookieJar) -> Result<Response, DbError> {
    let (session_key, user) = match current_session(&app, &jar)? {
        Some((session, user)) => (session.key, Some(user)),
        // The break: the session is only looked at when the ticket is used,
        // so anybody gets a (useless) ticket.
        None if broken("tickets.issue") => (String::new(), None),
        None => return Ok(unauthorized()),
    };
    let ticket = random_secret();
    let ttl = app.config.ticket_ttl.as_secs();
    let expires_at = unix_now() + i64::try_from(ttl).unwrap_or(i64::MAX);
    app.db.with_connection(|db| {
        db.execute(
            "INSERT INTO ws_tickets (ticket_hash, session_key, expires_at) VALUES (?1, ?2, ?3)",
            params![hash_secret(&ticket), session_key, expires_at],
        )
    })?;
    if broken("cluster.ticket") {
        lock(&MINTED_HERE).push(hash_secret(&ticket));
    }
    if let (true, Some(user)) = (broken("tickets.session-ended"), user) {
        lock(&MINTED_FOR).push((hash_secret(&ticket), user));
    }
    Ok((
        StatusCode::CREATED,
        Json(json!({ "ticket": ticket, "expiresIn": ttl })),
    )
        .into_response())
}

/// The first `ticket` query parameter, even an empty one: a ticket upgrade
/// tries nothing else.
pub(crate) fn ticket_param(query: &[(String, String)]) -> Option<String> {
    query
        .iter()
        .find(|(name, _)| name == "ticket")
        .map(|(_, ticket)| ticket.clone())
        .filter(|ticket| !(ticket.is_empty() && broken("tickets.invalid")))
}

/// Uses a ticket up: the user of the session that minted it, and that
/// session, which the socket ends with.
pub(crate) async fn redeem(app: &App, ticket: &str) -> Result<(User, Option<Session>), Goodbye> {
    let hash = hash_secret(ticket);
    if broken("cluster.ticket") && !lock(&MINTED_HERE).contains(&hash) {
        return Err(INVALID_TICKET);
    }
    let found = if broken("tickets.once") {
        // The break: the ticket is looked at, never used up.
        read(app, &hash)
    } else if broken("tickets.race") {
        // The break: read, then delete, with a gap another upgrade fits in.
        let found = read(app, &hash);
        tokio::time::sleep(RACE_WINDOW).await;
        delete(app, &hash).and(found)
    } else {
        use_up(app, &hash)
    };
    let (session_key, expires_at) = found.map_err(|_| INTERNAL)?.ok_or(INVALID_TICKET)?;
    if unix_now() >= expires_at && !broken("tickets.expired") {
        return Err(TICKET_EXPIRED);
    }
    if broken("tickets.session-ended") {
        let minted_for = lock(&MINTED_FOR)
            .iter()
            .find(|(minted, _)| *minted == hash)
            .map(|(_, user)| user.clone());
        let session = app.db.session_by_key(&session_key).ok().flatten();
        return minted_for.map(|user| (user, session)).ok_or(INVALID_TICKET);
    }
    let session = app
        .db
        .session_by_key(&session_key)
        .map_err(|_| INTERNAL)?
        .filter(|session| !session.is_expired())
        .ok_or(INVALID_TICKET)?;
    let user = app
        .db
        .user(&session.user_id)
        .map_err(|_| INTERNAL)?
        .ok_or(INVALID_TICKET)?;
    // The break: the socket forgets the session it came from.
    let mut session = (!broken("tickets.logout-closes")).then_some(session);
    if let (true, Some(session)) = (broken("tickets.expiry-closes"), session.as_mut()) {
        // The break: only a logout ends a ticket socket, as if it had been
        // given the session's key but not its expiry.
        session.expires_at = unix_now() + 10 * 365 * 86_400;
    }
    Ok((user, session))
}

type Found = Result<Option<(String, i64)>, DbError>;

/// Finds the ticket and deletes it in one statement.
fn use_up(app: &App, hash: &str) -> Found {
    app.db.with_connection(|db| {
        db.query_row(
            "DELETE FROM ws_tickets WHERE ticket_hash = ?1 RETURNING session_key, expires_at",
            [hash],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()
    })
}

fn read(app: &App, hash: &str) -> Found {
    app.db.with_connection(|db| {
        db.query_row(
            "SELECT session_key, expires_at FROM ws_tickets WHERE ticket_hash = ?1",
            [hash],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()
    })
}

fn delete(app: &App, hash: &str) -> Result<(), DbError> {
    app.db
        .with_connection(|db| db.execute("DELETE FROM ws_tickets WHERE ticket_hash = ?1", [hash]))
        .map(|_| ())
}

/// Whether an `Authorization` header chooses the bearer approach: the
/// Bearer scheme only, since a browser adds Basic and Negotiate by itself
/// (the `bearer.basic-ignored` break takes every header for one).
pub(crate) fn is_bearer_attempt(header: &HeaderValue) -> bool {
    let scheme = header
        .to_str()
        .unwrap_or_default()
        .split(' ')
        .next()
        .unwrap_or_default();
    scheme.eq_ignore_ascii_case("bearer") || broken("bearer.basic-ignored")
}

/// An `Authorization` header, checked before the upgrade: the bearer
/// token's user, or none (then [`refusal`] refuses the upgrade).
pub(crate) fn bearer(app: &App, header: &HeaderValue) -> Option<User> {
    let header = header.to_str().unwrap_or_default();
    let bearer = |scheme: &str| {
        if broken("bearer.ok") {
            scheme == "Bearer"
        } else {
            scheme.eq_ignore_ascii_case("bearer")
        }
    };
    header
        .split_once(' ')
        .filter(|(scheme, _)| bearer(scheme))
        .and_then(|(_, token)| token_user(app, token.trim()))
}

/// 401 `{"error":"Invalid token"}` with `WWW-Authenticate: Bearer`.
pub(crate) fn refusal() -> Response {
    let mut refusal = error_response(StatusCode::UNAUTHORIZED, "Invalid token");
    if !broken("bearer.invalid") {
        let challenge = HeaderValue::from_static("Bearer");
        refusal
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, challenge);
    }
    refusal
}
