//! Rows `tickets.*`: `POST /api/ws-ticket` and the one-time tickets it
//! issues, used up by one upgrade (exercise 8).
//!
//! A ticket is minted by one user while another user logged in last, so a
//! server that answers with "whoever logged in last" instead of the
//! ticket's own session cannot pass.

use std::time::Duration;

use serde_json::{Value, json};

use super::{
    ALICE, BOB, CLOSE_LIMIT, Ctx, User, ensure, expect_response, member, other_member,
    unknown_secret,
};
use crate::client::{Request, Upgrade};
use crate::failure::Failure;
use crate::issued::Credential;
use crate::rows::{Row, SIGNED_IN, Setup, check};

/// `tickets.expired` runs its server with this TTL, and waits this long
/// after minting: a ticket may expire up to a second early, never late.
const TICKET_TTL_SETTING: (&str, &str) = ("TICKET_TTL_SECS", "1");
const PAST_TTL: Duration = Duration::from_millis(1_100);

/// Rounds of two upgrades racing with one ticket.
const RACE_ROUNDS: usize = 5;

/// At least 128 random bits, like session ids.
const SHORTEST_TICKET: usize = 22;

/// The rows this module grades, in the order they are reported.
pub(crate) static ROWS: &[Row] = &[
    Row {
        id: "tickets.issue",
        exercise: 8,
        retired_after: None,
        name: "POST /api/ws-ticket issues a random ticket (201, expiresIn), 401 without a session",
        book: "tickets.md#minting-a-ticket",
        setup: SIGNED_IN,
        hint: "In mint_ticket, require the caller's session, store a fresh random ticket (hashed) with its expiry and session, and answer 201 {\"ticket\",\"expiresIn\"}.",
        check: check!(issue),
    },
    Row {
        id: "tickets.once",
        exercise: 8,
        retired_after: None,
        name: "a ticket authenticates its own session's user, once",
        book: "tickets.md#using-a-ticket-up",
        setup: SIGNED_IN,
        hint: "In authenticate_ticket, find the ticket and use it up in the same step, and take the user from the ticket's session, not from anything else.",
        check: check!(once),
    },
    Row {
        id: "tickets.invalid",
        exercise: 8,
        retired_after: None,
        name: "an unknown or empty ticket gets Invalid ticket and close 4001, and never falls back",
        book: "tickets.md#using-a-ticket-up",
        setup: SIGNED_IN,
        hint: "In authenticate_ticket, a ticket that is not found (an empty one too) is InvalidTicket, which Rejection::answer closes with {\"error\":\"Invalid ticket\"} and 4001; read_credential already makes the ticket the only credential tried.",
        check: check!(invalid),
    },
    Row {
        id: "tickets.expired",
        exercise: 8,
        retired_after: None,
        name: "a ticket past TICKET_TTL_SECS gets Ticket expired and close 4001",
        book: "tickets.md#using-a-ticket-up",
        setup: Setup::SignedIn(&[TICKET_TTL_SETTING]),
        hint: "In authenticate_ticket, compare the ticket's stored expiry with the clock when it is used: past it is TicketExpired, which Rejection::answer closes with {\"error\":\"Ticket expired\"} and 4001.",
        check: check!(expired),
    },
    Row {
        id: "tickets.session-ended",
        exercise: 8,
        retired_after: None,
        name: "a ticket whose session logged out or expired gets Invalid ticket",
        book: "tickets.md#using-a-ticket-up",
        setup: SIGNED_IN,
        hint: "In authenticate_ticket, after using the ticket up, check that its session still exists and has not expired, and that its user exists; otherwise it is InvalidTicket.",
        check: check!(session_ended),
    },
    Row {
        id: "tickets.race",
        exercise: 8,
        retired_after: None,
        name: "two upgrades racing with one ticket: exactly one is authenticated",
        book: "tickets.md#using-a-ticket-up",
        setup: SIGNED_IN,
        hint: "In authenticate_ticket, find and use up the ticket in one statement the database runs atomically (a DELETE ... RETURNING, say), not a read followed by a write.",
        check: check!(race),
    },
    Row {
        id: "tickets.logout-closes",
        exercise: 8,
        retired_after: None,
        name: "a ticket socket is closed 4002 when its session logs out",
        book: "tickets.md#using-a-ticket-up",
        setup: SIGNED_IN,
        hint: "In authenticate_ticket, give the socket the session that minted the ticket, so that its logout ends the socket as it ends a cookie socket.",
        check: check!(logout_closes),
    },
    Row {
        id: "tickets.expiry-closes",
        exercise: 8,
        retired_after: None,
        name: "a ticket socket is closed 4002 when its session reaches its TTL",
        book: "tickets.md#the-socket-belongs-to-the-session",
        setup: Setup::Server(&[super::expiry::SHORT_TTL_SETTING]),
        hint: "In authenticate_ticket, give the socket the session that minted the ticket as it is stored, expires_at included, so that serve_socket ends it at the session's expiry as it ends a cookie socket.",
        check: check!(expiry_closes),
    },
];

/// `POST /api/ws-ticket` with a session cookie; the ticket.
pub(crate) async fn mint(ctx: &Ctx, session: &str) -> Result<String, Failure> {
    let request = Request::post("/api/ws-ticket").cookie(session);
    let response = ctx.send(request.clone()).await?;
    let ticket = response
        .json()
        .and_then(|body| body["ticket"].as_str().map(str::to_owned));
    match ticket {
        Some(ticket) if response.status == 201 => {
            ctx.issued_for_session(&ticket, Credential::Ticket, session);
            Ok(ticket)
        }
        _ => Err(Failure::new(
            &request,
            "201 {\"ticket\":<ticket>,\"expiresIn\":<seconds>}",
            response.describe(),
        )),
    }
}

/// Logs both board-1 members in, `user` first and the other one last.
async fn both_logged_in(ctx: &Ctx, user: &'static User) -> Result<String, Failure> {
    let session = ctx.session(user).await?;
    ctx.session(other_member(user)).await?;
    Ok(session)
}

pub(crate) async fn issue(ctx: Ctx) -> Result<(), Failure> {
    let user = member();
    let session = ctx.session(user).await?;
    let request = Request::post("/api/ws-ticket").cookie(&session);
    let response = ctx.send(request.clone()).await?;
    let body = response.json().unwrap_or(Value::Null);
    let first = body["ticket"].as_str().unwrap_or_default().to_owned();
    ensure(
        response.status == 201 && first.len() >= SHORTEST_TICKET && body["expiresIn"] == json!(30),
        &request,
        format!(
            "201 {{\"ticket\":<at least {SHORTEST_TICKET} random characters>,\"expiresIn\":30}} (TICKET_TTL_SECS is 30 by default)"
        ),
        response.describe(),
    )?;
    let second = mint(&ctx, &session).await?;
    ensure(
        first != second && !first.to_ascii_lowercase().contains(user.username),
        format!("POST /api/ws-ticket twice with {}'s session", user.username),
        "two different random tickets",
        format!("{first} and {second}"),
    )?;
    let unauthorized = json!({"error": "Unauthorized"});
    expect_response(&ctx, Request::post("/api/ws-ticket"), 401, &unauthorized).await?;
    expect_response(
        &ctx,
        Request::post("/api/ws-ticket").cookie(&unknown_secret()),
        401,
        &unauthorized,
    )
    .await
    .map(|_| ())
}

pub(crate) async fn once(ctx: Ctx) -> Result<(), Failure> {
    let user = member();
    let session = both_logged_in(&ctx, user).await?;
    let ticket = mint(&ctx, &session).await?;
    ctx.authenticated(user.username, Upgrade::ticket(&ticket), user)
        .await?;
    let mut again = ctx.socket("again", Upgrade::ticket(&ticket)).await?;
    again
        .expect_rejection("Invalid ticket", 4001, "Invalid ticket")
        .await
}

pub(crate) async fn invalid(ctx: Ctx) -> Result<(), Failure> {
    let user = member();
    let session = ctx.session(user).await?;
    let token = ctx.issue_token(&session).await?;
    let unknown = unknown_secret();
    let upgrades = [
        ("unknown", Upgrade::ticket(&unknown)),
        (
            "empty",
            Upgrade::ticket("").header("Cookie", &format!("session={session}")),
        ),
        (
            "unknown-with-token",
            Upgrade::query(&format!("ticket={unknown}&token={token}")),
        ),
    ];
    for (label, upgrade) in upgrades {
        let mut ws = ctx.socket(label, upgrade).await?;
        ws.expect_rejection("Invalid ticket", 4001, "Invalid ticket")
            .await?;
    }
    Ok(())
}

/// The row's server runs with `TICKET_TTL_SECS=1`.
pub(crate) async fn expired(ctx: Ctx) -> Result<(), Failure> {
    let session = ctx.session(member()).await?;
    let ticket = mint(&ctx, &session).await?;
    // The ticket's lifetime has to pass: nothing to wait for but the clock.
    tokio::time::sleep(PAST_TTL).await;
    let mut ws = ctx.socket("late", Upgrade::ticket(&ticket)).await?;
    ws.expect_rejection("Ticket expired", 4001, "Ticket expired")
        .await
}

pub(crate) async fn session_ended(ctx: Ctx) -> Result<(), Failure> {
    let logged_out = ctx.session(&ALICE).await?;
    let ticket = mint(&ctx, &logged_out).await?;
    let logout = Request::post("/api/logout").cookie(&logged_out);
    let response = ctx.send(logout.clone()).await?;
    ensure(response.status == 204, &logout, "204", response.describe())?;
    let mut ws = ctx.socket("after-logout", Upgrade::ticket(&ticket)).await?;
    ws.expect_rejection("Invalid ticket", 4001, "Invalid ticket")
        .await?;

    let expiring = ctx.session(&BOB).await?;
    let ticket = mint(&ctx, &expiring).await?;
    ctx.sql(
        "UPDATE sessions SET expires_at = ?1 WHERE user_id = ?2",
        vec![json!(super::unix_now() as i64 - 60), json!(BOB.id)],
    )
    .await?;
    let mut ws = ctx
        .socket("session-expired", Upgrade::ticket(&ticket))
        .await?;
    ws.expect_rejection("Invalid ticket", 4001, "Invalid ticket")
        .await
}

pub(crate) async fn race(ctx: Ctx) -> Result<(), Failure> {
    let user = member();
    let session = ctx.session(user).await?;
    for round in 1..=RACE_ROUNDS {
        let ticket = mint(&ctx, &session).await?;
        let (first, second) = tokio::join!(
            ctx.socket("first", Upgrade::ticket(&ticket)),
            ctx.socket("second", Upgrade::ticket(&ticket)),
        );
        let mut authenticated = 0;
        let mut rejected = 0;
        for ws in [first?, second?].iter_mut() {
            let frame = ws.next_event(crate::client::FRAME_LIMIT).await;
            match frame.json() {
                Some(frame) if frame == user.authenticated() => authenticated += 1,
                Some(frame) if frame == json!({"error": "Invalid ticket"}) => rejected += 1,
                _ => {}
            }
        }
        ensure(
            authenticated == 1 && rejected == 1,
            format!("round {round}: two upgrades at once with one ticket: GET /ws?ticket=<ticket>"),
            "exactly one authenticated frame and one {\"error\":\"Invalid ticket\"}",
            format!("{authenticated} authenticated, {rejected} Invalid ticket"),
        )?;
    }
    Ok(())
}

pub(crate) async fn logout_closes(ctx: Ctx) -> Result<(), Failure> {
    let user = member();
    let session = both_logged_in(&ctx, user).await?;
    let ticket = mint(&ctx, &session).await?;
    let mut ws = ctx
        .authenticated(user.username, Upgrade::ticket(&ticket), user)
        .await?;
    let logout = Request::post("/api/logout").cookie(&session);
    ctx.send(logout).await?;
    ws.expect_close_allowing_error(4002, "Session expired", CLOSE_LIMIT)
        .await
        .map(|_| ())
}

/// The row's server runs with `SESSION_TTL_SECS=1`.
pub(crate) async fn expiry_closes(ctx: Ctx) -> Result<(), Failure> {
    let user = member();
    let session = super::expiry::short_login(&ctx, user).await?;
    let ticket = mint(&ctx, &session).await?;
    let mut ws = ctx
        .authenticated(user.username, Upgrade::ticket(&ticket), user)
        .await?;
    super::expiry::closed_at_expiry(&ctx, &mut ws, user).await
}
