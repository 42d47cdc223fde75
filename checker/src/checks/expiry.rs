//! Rows `expiry.*`: a session past its TTL, at connect and while connected.

use std::time::Duration;

use serde_json::json;

use super::{CLOSE_LIMIT, Ctx, User, ensure, member, unix_now};
use crate::client::{Upgrade, Ws};
use crate::failure::Failure;
use crate::rows::{Row, SIGNED_IN, Setup, check};

/// The session TTL of the rows that wait for a session to expire while its
/// sockets are open (see [`short_login`]).
pub(super) const SHORT_TTL_SETTING: (&str, &str) = ("SESSION_TTL_SECS", "1");

/// The rows this module grades, in the order they are reported.
pub(crate) static ROWS: &[Row] = &[
    Row {
        id: "expiry.at-connect",
        exercise: 6,
        retired_after: None,
        name: "an expired session gets Session expired and close 4002",
        book: "close-codes.md#expired-sessions",
        setup: SIGNED_IN,
        hint: "In authenticate_cookie, a session that is found but past its expires_at is SessionExpired, not UnknownSession; Rejection::answer gives it {\"error\":\"Session expired\"} and close 4002.",
        check: check!(expired_at_connect),
    },
    Row {
        id: "expiry.while-connected",
        exercise: 6,
        retired_after: None,
        name: "a session reaching its TTL closes its sockets 4002 within 1 s, token sockets stay",
        book: "close-codes.md#expired-sessions",
        setup: Setup::Server(&[SHORT_TTL_SETTING]),
        hint: "board ends a cookie socket's session when it reaches its expires_at (serve_socket returns SessionEnded); in finish, close that with 4002 'Session expired'. A token socket has no session and stays open.",
        check: check!(expired_while_connected),
    },
    Row {
        id: "expiry.hour-old",
        exercise: 6,
        retired_after: None,
        name: "a session expired 59 minutes ago still gets Session expired and close 4002",
        book: "close-codes.md#expired-sessions",
        setup: SIGNED_IN,
        hint: "In authenticate_cookie, every session that is found but expired is SessionExpired, however long ago it expired (board never purges them); a server of your own keeps expired sessions for at least an hour.",
        check: check!(expired_hour_ago),
    },
    Row {
        id: "expiry.expires-at",
        exercise: 6,
        retired_after: None,
        name: "expires_at is the login second plus SESSION_TTL_SECS (86400 by default)",
        book: "close-codes.md#expired-sessions",
        setup: Setup::OwnServers,
        hint: "board writes expires_at at login in the exercises; a server of your own stores the login time in whole seconds, rounded down, plus SESSION_TTL_SECS read from the environment (86400 by default).",
        check: check!(expires_at),
    },
];

pub(crate) async fn expired_at_connect(ctx: Ctx) -> Result<(), Failure> {
    expired_ago(ctx, 60).await
}

/// The contract keeps an expired session answered 4002 for at least an hour
/// after its expiry: 59 minutes is inside that hour, well past any "a
/// moment ago" a shorter purge would still keep.
pub(crate) async fn expired_hour_ago(ctx: Ctx) -> Result<(), Failure> {
    expired_ago(ctx, 59 * 60).await
}

/// Logs in, sets the session's `expires_at` to `seconds` ago, and expects
/// the cookie upgrade to be answered Session expired and 4002.
async fn expired_ago(ctx: Ctx, seconds: i64) -> Result<(), Failure> {
    let user = member();
    let session = ctx.session(user).await?;
    let past = unix_now() as i64 - seconds;
    let changed = ctx
        .sql(
            "UPDATE sessions SET expires_at = ?1 WHERE user_id = ?2",
            vec![json!(past), json!(user.id)],
        )
        .await?;
    ensure(
        changed > 0,
        format!(
            "UPDATE sessions SET expires_at = {past} WHERE user_id = '{}'",
            user.id
        ),
        "the session row of the login to change",
        "no row in the sessions table",
    )?;
    let mut ws = ctx.socket(user.username, Upgrade::cookie(&session)).await?;
    ws.expect_rejection("Session expired", 4002, "Session expired")
        .await
}

/// Logs `user` in on a server with `SESSION_TTL_SECS=1`, just after a
/// second begins: expires_at is the login second (rounded down) + 1, so
/// nearly a whole second is left to open sockets before it.
pub(super) async fn short_login(ctx: &Ctx, user: &User) -> Result<String, Failure> {
    let into_second = unix_now().fract();
    tokio::time::sleep(Duration::from_secs_f64(1.0 - into_second + 0.02)).await;
    ctx.session(user).await
}

/// `ws`, a socket of `user`'s session, must be closed 4002 once the clock
/// reaches the session's expires_at, not before and within [`CLOSE_LIMIT`].
pub(super) async fn closed_at_expiry(ctx: &Ctx, ws: &mut Ws, user: &User) -> Result<(), Failure> {
    let expires_at = ctx
        .sql_integer(
            "SELECT MAX(expires_at) FROM sessions WHERE user_id = ?1",
            vec![json!(user.id)],
        )
        .await? as f64;
    let latest = expires_at + CLOSE_LIMIT.as_secs_f64();
    let limit = Duration::from_secs_f64((latest - unix_now()).max(0.0));
    ws.expect_close_allowing_error(4002, "Session expired", limit)
        .await?;
    let closed_at = unix_now();
    ensure(
        closed_at >= expires_at - 0.05,
        ws.request(),
        format!("close 4002 'Session expired' once the clock reaches expires_at ({expires_at})"),
        format!(
            "the close {:.2} s before expires_at",
            expires_at - closed_at
        ),
    )
}

/// The row's server runs with `SESSION_TTL_SECS=1`.
pub(crate) async fn expired_while_connected(ctx: Ctx) -> Result<(), Failure> {
    let user = member();
    let session = short_login(&ctx, user).await?;
    let token = ctx.issue_token(&session).await?;
    let mut cookie_ws = ctx
        .authenticated(user.username, Upgrade::cookie(&session), user)
        .await?;
    let token_label = format!("{}-token", user.username);
    let mut token_ws = ctx
        .authenticated(&token_label, Upgrade::token(&token), user)
        .await?;
    closed_at_expiry(&ctx, &mut cookie_ws, user).await?;
    token_ws.probe().await
}

/// One login on a server with `settings`: its `expires_at` must be the
/// login second (rounded down) plus `ttl`.
async fn login_expires_at(
    ctx: &mut Ctx,
    settings: &[(&str, &str)],
    ttl: i64,
) -> Result<(), Failure> {
    let database = ctx.env().fresh_database();
    let server = ctx.start(&database, settings).await?;
    ctx.set_main(server, database);
    let user = member();
    let before = unix_now().floor() as i64;
    ctx.session(user).await?;
    let after = unix_now().floor() as i64;
    let expires_at = ctx
        .sql_integer(
            "SELECT MAX(expires_at) FROM sessions WHERE user_id = ?1",
            vec![json!(user.id)],
        )
        .await?;
    let setting = match settings {
        [] => "no SESSION_TTL_SECS".to_owned(),
        _ => format!("SESSION_TTL_SECS={ttl}"),
    };
    let expected = if before == after {
        format!("{} (the login second {before} + {ttl})", before + ttl)
    } else {
        format!(
            "{} to {} (the login second {before} to {after} + {ttl})",
            before + ttl,
            after + ttl
        )
    };
    ensure(
        (before + ttl..=after + ttl).contains(&expires_at),
        format!(
            "with {setting}, log {} in, then SELECT MAX(expires_at) FROM sessions WHERE user_id = '{}'",
            user.username, user.id
        ),
        format!("expires_at = {expected}"),
        format!(
            "expires_at = {expires_at} ({:+} s from the login second {before})",
            expires_at - before
        ),
    )
}

/// The default TTL, then a TTL set by the environment.
pub(crate) async fn expires_at(mut ctx: Ctx) -> Result<(), Failure> {
    login_expires_at(&mut ctx, &[], 86_400).await?;
    login_expires_at(&mut ctx, &[("SESSION_TTL_SECS", "7200")], 7_200).await
}
