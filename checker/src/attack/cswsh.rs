//! The cross-site WebSocket hijacking lab (before exercise 7): the student
//! writes an attacker's page, and a real Chromium, where Alice is logged in
//! to the board, opens it.
//!
//! The page comes from the checker's attacker site (`AttackerSite`):
//! 127.0.0.1 on another port, the same site as the board and another
//! origin. Alice logs in through the board's own page, then visits the
//! attacker's; Bob, on the checker's socket, is in board-1 and types once
//! the page's socket has joined it. The attack worked when the page posted
//! Bob's `user_typing`, read from Alice's socket, to the attacker's
//! collector. Against exercise 6's server (solution 6: no Origin check) it
//! must work; against exercise 7 the page's upgrade must be refused with
//! 403 before it happens.

use std::time::Duration;

use super::attacker_site::AttackerSite;
use super::chromium::Browser;
use super::join_any;
use crate::checks::rooms::{BOARD_1, message};
use crate::checks::{ALICE, BOB, Ctx};
use crate::client::{Event, Ws};
use crate::failure::Failure;
use crate::rows::{FRESH, Row, check};

/// How long the page may take to open its socket and join board-1, or the
/// server to log the refusal of its upgrade.
const PAGE_LIMIT: Duration = Duration::from_secs(10);
/// How long the page may take to post what it read, once Bob has typed.
const POST_LIMIT: Duration = Duration::from_secs(5);

/// The rows of the lab: the page against solution 6, then against the
/// graded exercise 7.
pub static ROWS: &[Row] = &[
    Row {
        id: "attack.cswsh.hijacks",
        exercise: 7,
        retired_after: None,
        name: "your page, on another origin of the same site, reads Alice's board-1 through her cookie and posts Bob's typing to its collector",
        book: "origin-checks.md#break-it-first-hijack-a-socket",
        setup: FRESH,
        hint: "In attacks/cswsh/page.html, open a socket to the board URL of the page's `board` parameter (the browser adds Alice's cookie), join board-1 once authenticated, and POST every frame you receive to /collect on the page's own origin.",
        check: check!(hijacks),
    },
    Row {
        id: "attack.cswsh.refused",
        exercise: 7,
        retired_after: None,
        name: "against exercise 7, your page no longer gets in: its upgrade is refused with 403 before it happens",
        book: "origin-checks.md#refusing-foreign-origins",
        setup: FRESH,
        hint: "In upgrade, before on_upgrade and before any session is looked at, refuse a cookie upgrade whose Origin origin_allowed rejects: 403 {\"error\":\"Forbidden origin\"}.",
        check: check!(refused),
    },
];

/// How the attack went.
enum Outcome {
    /// The page posted this, naming Bob's typing.
    Read(String),
    /// The server logged `GET /ws 403` for the page's upgrade.
    Refused,
    /// The page's socket joined board-1 as Alice, but nothing naming Bob's
    /// typing reached the collector.
    JoinedButSilent,
    /// No socket of the page joined, and no 403 was logged.
    NotIn,
}

const REQUEST: &str = "Chromium: Alice logs in on the board page, then opens your page from \
     another origin (127.0.0.1, another port); Bob types in board-1";

pub async fn hijacks(ctx: Ctx) -> Result<(), Failure> {
    let expected = "your page posts Bob's {\"type\":\"user_typing\",...} to /collect";
    match attack(&ctx).await? {
        Outcome::Read(_) => Ok(()),
        Outcome::Refused => Err(Failure::new(
            REQUEST,
            expected,
            "the upgrade was refused: 403",
        )),
        Outcome::JoinedButSilent => Err(Failure::new(
            REQUEST,
            expected,
            "the page's socket joined board-1 as Alice, but nothing naming Bob's typing was posted",
        )),
        Outcome::NotIn => Err(Failure::new(
            REQUEST,
            expected,
            format!("no socket of the page joined board-1 within {PAGE_LIMIT:?}"),
        )),
    }
}

pub async fn refused(ctx: Ctx) -> Result<(), Failure> {
    let expected = "the page's upgrade refused with 403 (`GET /ws 403` in the server's log)";
    match attack(&ctx).await? {
        Outcome::Refused => Ok(()),
        Outcome::Read(posted) => Err(Failure::new(
            REQUEST,
            expected,
            format!("your page still gets in: it read Alice's board and posted {posted}"),
        )),
        Outcome::JoinedButSilent => Err(Failure::new(
            REQUEST,
            expected,
            "your page still gets in: its socket joined board-1 as Alice",
        )),
        Outcome::NotIn => Err(Failure::new(
            REQUEST,
            expected,
            "no 403 for a socket of your page: either the page opened none (the attack \
             comes first: attack.cswsh.hijacks), or the server refused the socket after the \
             upgrade instead of the upgrade itself",
        )),
    }
}

/// The steps both rows run.
async fn attack(ctx: &Ctx) -> Result<Outcome, Failure> {
    let page = ctx
        .env()
        .attack
        .clone()
        .expect("attack rows run with an attack");
    let trouble = |what: String| Failure::new(REQUEST, "the lab's browser and sites running", what);
    let mut site = AttackerSite::start(page)
        .await
        .map_err(|error| trouble(format!("the attacker's site did not start: {error}")))?;
    let browser = Browser::start().await.map_err(trouble)?;
    let outcome = attack_in(ctx, &browser, &mut site).await;
    browser.close().await;
    outcome
}

/// The attack, in a browser that [`attack`] closes however it ends.
async fn attack_in(
    ctx: &Ctx,
    browser: &Browser,
    site: &mut AttackerSite,
) -> Result<Outcome, Failure> {
    let trouble = |what: String| Failure::new(REQUEST, "the lab's browser and sites running", what);
    let base = format!("http://127.0.0.1:{}", ctx.port());
    browser
        .log_in(&base, "alice", "Alice")
        .await
        .map_err(trouble)?;
    ctx.note("chromium: alice logged in on the board page");
    let mut bob = ctx.cookie_socket(&BOB).await?;
    join_any(&mut bob).await?;
    let url = format!("{}/?board=ws://127.0.0.1:{}/ws", site.base, ctx.port());
    browser.goto(&url).await.map_err(trouble)?;
    ctx.note(&format!("chromium: alice opens {url}"));
    let refusal = ctx.server().wait_output_contains("GET /ws 403", PAGE_LIMIT);
    tokio::select! {
        refused = refusal => {
            return Ok(if refused { Outcome::Refused } else { Outcome::NotIn });
        }
        joined = alice_joins(&mut bob) => if !joined {
            return Ok(Outcome::NotIn);
        },
    }
    bob.send_json(&message("typing", BOARD_1)).await?;
    let posted = tokio::time::timeout(POST_LIMIT, async {
        while let Some(body) = site.collected.recv().await {
            ctx.note(&format!("collector ← {body}"));
            if names_bob_typing(&body) {
                return Some(body);
            }
        }
        None
    })
    .await;
    Ok(match posted {
        Ok(Some(body)) => Outcome::Read(body),
        _ => Outcome::JoinedButSilent,
    })
}

/// Whether Bob hears a `user_joined` naming Alice within [`PAGE_LIMIT`]:
/// the page's socket, authenticated as Alice, joined board-1.
async fn alice_joins(bob: &mut Ws) -> bool {
    let deadline = tokio::time::Instant::now() + PAGE_LIMIT;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match bob.next_event(left).await {
            event @ Event::Text(_) => {
                if event.json().is_some_and(|frame| {
                    frame["type"] == "user_joined" && frame["user"] == ALICE.json()
                }) {
                    return true;
                }
            }
            _ => return false,
        }
    }
}

/// Whether a posted body holds Bob's `user_typing`: as the frame itself,
/// or inside whatever the page wrapped it in.
fn names_bob_typing(body: &str) -> bool {
    body.contains("user_typing") && body.contains(BOB.id)
}
