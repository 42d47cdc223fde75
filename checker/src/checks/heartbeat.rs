//! Rows `heartbeat.*`: pings at `PING_INTERVAL_MS`, a silent socket dropped
//! and announced, an answering socket kept (exercise 9).
//!
//! Each row's server pings every 200 ms, so the whole module waits about a
//! second and a half. A socket "stops answering" when its client stops
//! reading it ([`Ws::stop_reading`]): the client answers a ping only while it
//! reads, as a browser tab on a machine that went to sleep would not.

use std::time::{Duration, Instant};

use super::rooms::{BOARD_1, join, user_joined, user_left};
use super::{Ctx, User, ensure, member, other_member};
use crate::client::{Event, probe, probe_answer, seconds};
use crate::client::{Upgrade, Ws};
use crate::failure::Failure;
use crate::rows::{Row, Setup, check};

/// The rows' `PING_INTERVAL_MS`, as the setting and as the interval.
const PING_SETTING: (&str, &str) = ("PING_INTERVAL_MS", "200");
const INTERVAL: Duration = Duration::from_millis(200);

/// Slack for scheduling on a busy machine, on either side of a deadline.
const SLACK: Duration = Duration::from_millis(100);

/// The rows this module grades, in the order they are reported.
pub(crate) static ROWS: &[Row] = &[
    Row {
        id: "heartbeat.pings",
        exercise: 9,
        retired_after: None,
        name: "an authenticated socket is pinged every PING_INTERVAL_MS",
        book: "long-lived.md#heartbeats",
        setup: Setup::SignedIn(&[PING_SETTING]),
        hint: "In serve_socket, ping every PING_INTERVAL_MS from the loop (an interval that first fires one interval after the socket opens).",
        check: check!(pings),
    },
    Row {
        id: "heartbeat.silent-dropped",
        exercise: 9,
        retired_after: None,
        name: "a socket silent for two intervals is dropped, and its boards hear user_left in time",
        book: "long-lived.md#heartbeats",
        setup: Setup::SignedIn(&[PING_SETTING]),
        hint: "In serve_socket, end the socket as PingTimeout once it has been silent (not even a pong) for two intervals, without waiting for an answer; finish abandons it, and leaving its boards tells the others.",
        check: check!(silent_dropped),
    },
    Row {
        id: "heartbeat.answering-kept",
        exercise: 9,
        retired_after: None,
        name: "a socket that answers pings stays open past several intervals",
        book: "long-lived.md#heartbeats",
        setup: Setup::SignedIn(&[PING_SETTING]),
        hint: "In serve_socket, measure the silence with the socket's own clock of when the client last sent anything, a pong included, or a quiet but live socket is dropped.",
        check: check!(answering_kept),
    },
    Row {
        id: "heartbeat.messages-kept",
        exercise: 9,
        retired_after: None,
        name: "a socket that sends messages but answers no ping stays open",
        book: "long-lived.md#heartbeats",
        setup: Setup::SignedIn(&[PING_SETTING]),
        hint: "In serve_socket, count any frame from the client as hearing from it (socket.silent_for does), a message as much as a pong: silence is measured from the last frame, not from the last pong.",
        check: check!(messages_kept),
    },
];

/// `heartbeat.messages-kept` sends a message this often, half an interval.
const MESSAGE_EVERY: Duration = Duration::from_millis(100);
/// And this many: five intervals of messages, and no pong.
const MESSAGES: usize = 10;

pub(crate) async fn pings(ctx: Ctx) -> Result<(), Failure> {
    let mut ws = ctx.cookie_socket(member()).await?;
    let mut last = Instant::now();
    for number in 1..=3 {
        let limit = INTERVAL * 2 + SLACK;
        let request = ws
            .request()
            .then(&format!(", then waited for ping {number}"));
        match ws.next_ping(limit).await {
            Ok(()) => {}
            Err(event) => {
                return Err(Failure::new(
                    request.clone(),
                    format!("a ping within {} (PING_INTERVAL_MS=200)", seconds(limit)),
                    event.describe(),
                ));
            }
        }
        let gap = last.elapsed();
        ensure(
            number == 1 || gap + SLACK >= INTERVAL,
            request,
            "pings about 200 ms apart, not faster",
            format!("ping {number} {} ms after the one before", gap.as_millis()),
        )?;
        last = Instant::now();
    }
    Ok(())
}

/// A listening socket and a silent one, both in board-1. Both users log in
/// first: a login checks a password, which takes a while on a busy machine,
/// and a socket already open then would miss pings it was meant to answer.
/// The silent socket joins last, so its join is the last frame it sends;
/// the instant returned is when that join was answered.
async fn listener_and_silent(ctx: &Ctx) -> Result<(Ws, &'static User, Ws, Instant), Failure> {
    let silent = member();
    let listening = other_member(silent);
    let listening_session = ctx.session(listening).await?;
    let silent_session = ctx.session(silent).await?;
    let mut listener = ctx
        .authenticated(
            listening.username,
            Upgrade::cookie(&listening_session),
            listening,
        )
        .await?;
    join(&mut listener, BOARD_1, 1).await?;
    let mut silent_ws = ctx
        .authenticated(silent.username, Upgrade::cookie(&silent_session), silent)
        .await?;
    join(&mut silent_ws, BOARD_1, 2).await?;
    silent_ws.stop_reading();
    let last_frame = Instant::now();
    listener.expect_json(&user_joined(silent, 2)).await?;
    Ok((listener, silent, silent_ws, last_frame))
}

pub(crate) async fn silent_dropped(ctx: Ctx) -> Result<(), Failure> {
    // The silent socket's last frame was its join: from then on its client
    // reads nothing, so it answers no ping.
    let (mut listener, silent, silent_ws, last_frame) = listener_and_silent(&ctx).await?;
    let earliest = INTERVAL * 2 - SLACK;
    let latest = INTERVAL * 2 + Duration::from_secs(1) + SLACK;
    let event = listener.next_event(latest).await;
    let after = last_frame.elapsed();
    let expected = user_left(silent, 1);
    let request = listener
        .request()
        .after(&format!(
            "{} stopped reading after joining {BOARD_1} (PING_INTERVAL_MS=200); ",
            silent.username
        ))
        .then(" waited");
    drop(silent_ws);
    match event.json() {
        Some(frame) if crate::json::matches(&expected, &frame) => ensure(
            after >= earliest,
            request,
            format!("{expected} after 2 x PING_INTERVAL_MS, not sooner"),
            format!("user_left after {} ms", after.as_millis()),
        ),
        _ => Err(Failure::new(
            request,
            format!("{expected} within {}", seconds(latest)),
            event.describe(),
        )),
    }
}

pub(crate) async fn answering_kept(ctx: Ctx) -> Result<(), Failure> {
    let mut ws = ctx.cookie_socket(member()).await?;
    // Reading answers the pings; nothing else should arrive for a while.
    let watch = INTERVAL * 5;
    let event = ws.next_event(watch).await;
    if !matches!(event, Event::Silence(_)) {
        return Err(Failure::new(
            ws.request()
                .then(&format!(", answering pings for {}", seconds(watch))),
            "the socket to stay open",
            event.describe(),
        ));
    }
    ws.probe().await
}

pub(crate) async fn messages_kept(ctx: Ctx) -> Result<(), Failure> {
    let mut ws = ctx.cookie_socket(member()).await?;
    // Not read while it sends, so the pings go unanswered: only the
    // messages say that the client is there.
    ws.stop_reading();
    for _ in 0..MESSAGES {
        tokio::time::sleep(MESSAGE_EVERY).await;
        if ws.send_json(&probe()).await.is_err() {
            break;
        }
    }
    let request = ws.request().then(&format!(
        " every {} for {}, reading nothing meanwhile (PING_INTERVAL_MS=200)",
        seconds(MESSAGE_EVERY),
        seconds(MESSAGE_EVERY * MESSAGES as u32)
    ));
    // Read now: every answer, and the pings that went unanswered meanwhile;
    // without a ping the socket was never put to the test.
    ws.resume_reading();
    let mut pinged = false;
    let mut answered = 0;
    while answered < MESSAGES {
        match ws.next_ping(crate::client::FRAME_LIMIT).await {
            Ok(()) => pinged = true,
            Err(event) if event.json().is_some_and(|frame| frame == probe_answer()) => {
                answered += 1;
            }
            Err(event) => {
                return Err(Failure::new(
                    request,
                    format!("every probe answered {}, the socket open", probe_answer()),
                    event.describe(),
                ));
            }
        }
    }
    ensure(
        pinged,
        request,
        "pings while the socket sent, left unanswered",
        "no ping at all",
    )?;
    ws.probe().await
}
