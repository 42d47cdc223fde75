//! Rows `flood.*`: a flood of logins, the one request anyone may send
//! without a credential, keeps the server's memory and its other clients
//! safe (exercise 11).
//!
//! Each wrong password costs the server an Argon2id check of about 19 MiB.
//! The rows send many at once, each on a connection of its own as many
//! clients would, and look at the server from outside: its peak resident
//! memory (the checker knows the process group of every server it starts),
//! how fast `GET /api/me` answers meanwhile, and what each login was told.

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use serde_json::json;

use super::{ALICE, BOB, Ctx, ensure, member};
use crate::client::{Request, Response, seconds};
use crate::failure::Failure;
use crate::rows::{Row, Setup, check};
use crate::server::memory::peak_rss_kib;

/// The rows this module grades, in the order they are reported.
pub(crate) static ROWS: &[Row] = &[
    Row {
        id: "flood.bounded",
        exercise: 11,
        retired_after: None,
        name: "200 concurrent wrong-password logins keep the server under LOGIN_CONCURRENCY x 19 MiB + 100 MB, and GET /api/me answers within 500 ms meanwhile",
        book: "under-attack.md#bounding-the-password-checks",
        // One place: on a machine of two cores, one stays free for the
        // other clients, which is what the row's latency asks of a server.
        setup: Setup::SignedIn(&[("LOGIN_CONCURRENCY", "1")]),
        hint: "In check_password, take one of app.password_checks's places before the check runs, and keep it until the check has ended: never more checks at once than there are places.",
        check: check!(bounded),
    },
    Row {
        id: "flood.busy",
        exercise: 11,
        retired_after: None,
        name: "a login that waited a second for a password check is answered 503 Busy with Retry-After: 1, and the server logs in again afterwards",
        book: "under-attack.md#bounding-the-password-checks",
        setup: Setup::Server(&[("LOGIN_CONCURRENCY", "1")]),
        hint: "In check_password, wait for a place for LOGIN_WAIT at most and then give up with Busy; busy answers 503 {\"error\":\"Busy\"} with Retry-After: 1.",
        check: check!(busy),
    },
];

/// How many logins the bound row sends at once.
const FLOOD: usize = 200;

/// An Argon2id check with the default parameters holds 19 MiB.
const HASH_KIB: u64 = 19 * 1024;

/// The contract's allowance beside the checks' own memory: 100 MB.
const ALLOWANCE_KIB: u64 = 100_000_000 / 1024;

/// How fast `GET /api/me` must answer during the flood.
const ME_LIMIT: Duration = Duration::from_millis(500);

/// One wrong login, and how long its answer took.
async fn wrong_login(port: u16, number: usize) -> (Result<Response, Failure>, Duration) {
    let started = Instant::now();
    let user = if number.is_multiple_of(2) {
        &ALICE
    } else {
        &BOB
    };
    let request = Request::post("/api/login")
        .json(&json!({"username": user.username, "password": format!("wrong-{number}")}));
    (request.send(port).await, started.elapsed())
}

/// `count` wrong logins at once; the answers in the order they were sent.
async fn flood(port: u16, count: usize) -> Vec<(Result<Response, Failure>, Duration)> {
    join_all((0..count).map(|number| wrong_login(port, number))).await
}

fn login_request() -> Request {
    Request::post("/api/login").json(&json!({"username": "alice", "password": "wrong-N"}))
}

/// What a flood's answers were, counted: `401 ...: 120, 503 ...: 80`.
fn tally(answers: &[(Result<Response, Failure>, Duration)]) -> String {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for (answer, _) in answers {
        let text = match answer {
            Ok(response) => response.describe(),
            Err(failure) => failure.got.clone(),
        };
        match counts.iter_mut().find(|(seen, _)| *seen == text) {
            Some((_, count)) => *count += 1,
            None => counts.push((text, 1)),
        }
    }
    counts
        .iter()
        .map(|(text, count)| format!("{count} x {text}"))
        .collect::<Vec<_>>()
        .join("; ")
}

pub(crate) async fn bounded(ctx: Ctx) -> Result<(), Failure> {
    let session = ctx.session(member()).await?;
    let port = ctx.port();
    let pgid = ctx.server().pgid();
    let sent = format!(
        "{FLOOD} x {} at once, each on its own connection",
        login_request().describe()
    );
    let me = Request::get("/api/me").cookie(&session);
    let meanwhile = async {
        // Once the flood is under way, then a few times while it lasts, each
        // request sent once the one before it is answered.
        tokio::task::yield_now().await;
        for _ in 0..5 {
            let started = Instant::now();
            let response = me.send(port).await?;
            let took = started.elapsed();
            ensure(
                response.status == 200 && took <= ME_LIMIT,
                format!("during the flood, {}", me.describe()),
                format!("200 within {}", seconds(ME_LIMIT)),
                format!("{} after {}", response.describe(), seconds(took)),
            )?;
        }
        Ok::<_, Failure>(())
    };
    let (answers, me_answers) = tokio::join!(flood(port, FLOOD), meanwhile);
    // The memory first: an unbounded server fails on it, whatever it
    // answered and however slowly.
    let limit = HASH_KIB + ALLOWANCE_KIB;
    let Some(peak) = peak_rss_kib(pgid) else {
        return Err(Failure::new(
            sent.as_str(),
            "the server's peak memory, read from /proc",
            "the server's process group could not be read (the memory rows need Linux)",
        ));
    };
    ensure(
        peak <= limit,
        sent.as_str(),
        format!(
            "a peak resident memory under {} MiB (LOGIN_CONCURRENCY=1 x 19 MiB + 100 MB)",
            limit / 1024
        ),
        format!(
            "a peak of {} MiB; answers: {}",
            peak / 1024,
            tally(&answers)
        ),
    )?;
    let answered = answers.iter().all(|(answer, _)| {
        answer.as_ref().is_ok_and(|response| {
            response.is(401, &json!({"error": "Invalid credentials"}))
                || response.is(503, &json!({"error": "Busy"}))
        })
    });
    ensure(
        answered,
        sent.as_str(),
        "each answered 401 Invalid credentials or 503 Busy",
        tally(&answers),
    )?;
    me_answers
}

/// With one place and fifty logins at once, most must wait over a second.
pub(crate) async fn busy(ctx: Ctx) -> Result<(), Failure> {
    let port = ctx.port();
    let count = 50;
    let sent = format!(
        "{count} x {} at once, LOGIN_CONCURRENCY=1",
        login_request().describe()
    );
    let answers = flood(port, count).await;
    let is_busy = |response: &Response| {
        response.is(503, &json!({"error": "Busy"}))
            && response.header("retry-after").map(str::trim) == Some("1")
    };
    let busy: Vec<Duration> = answers
        .iter()
        .filter_map(|(answer, took)| answer.as_ref().ok().filter(|r| is_busy(r)).map(|_| *took))
        .collect();
    ensure(
        !busy.is_empty(),
        sent.as_str(),
        "some answered 503 {\"error\":\"Busy\"} with Retry-After: 1 (those that waited over a second)",
        tally(&answers),
    )?;
    let soonest = busy.iter().min().copied().unwrap_or_default();
    ensure(
        soonest + Duration::from_millis(50) >= Duration::from_secs(1),
        sent.as_str(),
        "503 Busy only for a login that waited over a second",
        format!("a 503 Busy after {}", seconds(soonest)),
    )?;
    // Every place is free again: a right password logs in.
    ctx.login(&ALICE).await.map_err(|mut failure| {
        failure.request = format!("after the flood: {}", failure.request);
        failure
    })?;
    Ok(())
}
