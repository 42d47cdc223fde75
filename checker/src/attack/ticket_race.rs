//! The ticket race lab (exercise 8): the student's client redeems one
//! ticket on two upgrades at once.
//!
//! Against a server that finds a ticket and then deletes it in two
//! statements, both upgrades read the ticket before either deletes it, so
//! one ticket opens two sockets. The vulnerable target is
//! `testing/broken-server` with its `tickets.race` break, which pauses
//! between the two statements: the race is then lost every time rather than
//! once in a while, so the lab's verdict does not depend on the machine's
//! timing. Against exercise 8's one statement (`DELETE ... RETURNING`), only
//! one upgrade gets the row back.

use std::time::Duration;

use super::client::{Client, is_frame};
use crate::checks::{ALICE, Ctx, ensure, tickets};
use crate::failure::Failure;
use crate::rows::{Row, SIGNED_IN, Setup, check};

/// The whole client run: two upgrades and their first frames.
const CLIENT_LIMIT: Duration = Duration::from_secs(10);

/// The break of `testing/broken-server` that checks, pauses, then uses up.
pub const RACY_SERVER: (&str, &str) = ("BREAK_ROW", "tickets.race");

/// The rows of the lab: the attack against the vulnerable server, then
/// against the graded exercise 8.
pub static ROWS: &[Row] = &[
    Row {
        id: "attack.ticket-race.wins",
        exercise: 8,
        retired_after: None,
        name: "your client gets two authenticated sockets from one ticket on a server that checks, then uses up",
        book: "tickets.md#break-it-first-the-ticket-race",
        setup: Setup::SignedIn(&[RACY_SERVER]),
        hint: "In attacks/ticket-race/main.rs, open both upgrades with the same ticket at the same time (start both before awaiting either) and print the first frame of each.",
        check: check!(wins),
    },
    Row {
        id: "attack.ticket-race.stopped",
        exercise: 8,
        retired_after: None,
        name: "against exercise 8's one statement, your client gets one authenticated socket, not two",
        book: "tickets.md#using-a-ticket-up",
        setup: SIGNED_IN,
        hint: "In authenticate_ticket, find and use up the ticket in one statement the database runs atomically (a DELETE ... RETURNING, say), not a read followed by a write.",
        check: check!(stopped),
    },
];

pub async fn wins(ctx: Ctx) -> Result<(), Failure> {
    let (request, authenticated, panic) = race(&ctx).await?;
    ensure(
        authenticated == 2,
        request,
        "two {\"type\":\"authenticated\"} frames: one ticket, two sockets",
        panic.unwrap_or_else(|| format!("{authenticated} authenticated")),
    )
}

pub async fn stopped(ctx: Ctx) -> Result<(), Failure> {
    let (request, authenticated, panic) = race(&ctx).await?;
    ensure(
        authenticated == 1,
        request,
        "exactly one {\"type\":\"authenticated\"} frame: the ticket works once",
        match authenticated {
            2 => "2 authenticated: the ticket opened both sockets".to_owned(),
            n => panic
                .unwrap_or_else(|| format!("{n} authenticated: is your client still attacking?")),
        },
    )
}

/// Mints a ticket for Alice, runs the client on it, and counts the
/// authenticated frames it printed; with the client's panic, if any.
async fn race(ctx: &Ctx) -> Result<(String, usize, Option<String>), Failure> {
    let session = ctx.session(&ALICE).await?;
    let ticket = tickets::mint(ctx, &session).await?;
    let board = format!("ws://127.0.0.1:{}/ws", ctx.port());
    let mut client = Client::start(ctx, &[("BOARD_WS", board), ("TICKET", ticket)])?;
    let lines = client.until_exit(ctx, CLIENT_LIMIT).await;
    let authenticated = lines
        .iter()
        .filter(|line| is_frame(line, &ALICE.authenticated()))
        .count();
    let request = "your client, with one ticket of Alice's: two upgrades GET /ws?ticket=<ticket>";
    Ok((request.to_owned(), authenticated, client.panic()))
}
