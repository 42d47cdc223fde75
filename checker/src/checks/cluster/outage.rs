//! Rows `cluster.outage-*`: the processes of a cluster while their Redis is
//! gone, and once it is back on its port (exercise 11).
//!
//! The row stops the Redis the processes share, as an operator's restart
//! or a crash would, and starts it again on the same port with the same
//! password, and empty: the rows' Redis keeps nothing on disk.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{Cluster, cluster_and_redis, socket_on};
use crate::checks::rooms::{BOARD_1, join, message, user_joined};
use crate::checks::{ALICE, BOB, CAROL, Ctx, User, ensure};
use crate::client::{Event, Request, Upgrade, Ws, seconds};
use crate::failure::Failure;
use crate::json::matches;
use crate::redis_server;
use crate::sent::Sent;

/// How soon a socket on the same process must hear a typing frame while
/// the bus is gone: local delivery never waits for Redis.
const LOCAL_LIMIT: Duration = Duration::from_millis(500);

/// The contract: delivery across processes resumes within 2 s of Redis
/// coming back.
const RESUME_LIMIT: Duration = Duration::from_secs(2);

/// The rows' `PING_INTERVAL_MS`, as the setting and as the interval.
const PING_SETTING: (&str, &str) = ("PING_INTERVAL_MS", "200");
const PING_INTERVAL: Duration = Duration::from_millis(200);

/// How long the recovering row waits for each typing frame it sends while
/// it waits for the bus to come back: pub/sub loses what is published
/// before a process has subscribed again, so the row types again.
const RETYPE_AFTER: Duration = Duration::from_millis(250);

fn user_typing(user: &User) -> Value {
    json!({"type": "user_typing", "user": user.json()})
}

/// `user` types in board-1 on `from`, and `to` must hear it within `limit`.
async fn typing_heard(
    from: &mut Ws,
    user: &User,
    to: &mut Ws,
    limit: Duration,
) -> Result<(), Failure> {
    from.send_json(&message("typing", BOARD_1)).await?;
    to.expect_json_within(&user_typing(user), limit)
        .await
        .map(|_| ())
}

pub(super) async fn local(ctx: Ctx) -> Result<(), Failure> {
    let (Cluster { a, b: _b }, redis) = cluster_and_redis(&ctx, &[]).await?;
    let mut alice = socket_on(&ctx, a.port(), "alice@a", &ALICE).await?;
    let mut bob = socket_on(&ctx, a.port(), "bob@a", &BOB).await?;
    join(&mut alice, BOARD_1, 1).await?;
    join(&mut bob, BOARD_1, 2).await?;
    alice.expect_json(&user_joined(&BOB, 2)).await?;
    redis.server.stop().await;
    ctx.note("redis-server stopped");
    // Back and forth: each sender's loop must be free for its next message.
    for _ in 0..3 {
        typing_heard(&mut alice, &ALICE, &mut bob, LOCAL_LIMIT).await?;
        typing_heard(&mut bob, &BOB, &mut alice, LOCAL_LIMIT).await?;
    }
    Ok(())
}

pub(super) async fn recovers(ctx: Ctx) -> Result<(), Failure> {
    let (Cluster { a, b }, redis) = cluster_and_redis(&ctx, &[PING_SETTING]).await?;
    let mut alice = socket_on(&ctx, a.port(), "alice@a", &ALICE).await?;
    let mut bob = socket_on(&ctx, b.port(), "bob@b", &BOB).await?;
    join(&mut alice, BOARD_1, 1).await?;
    let mut late_for_bob = vec![user_joined(&ALICE, 1)];
    super::join_amid(&mut bob, BOARD_1, 2, &mut late_for_bob).await?;
    alice.expect_json(&user_joined(&BOB, 2)).await?;
    let carol_session = ctx.login_on(a.port(), &CAROL).await?;
    let mut carol = ctx
        .authenticated_on(b.port(), "carol@b", Upgrade::cookie(&carol_session), &CAROL)
        .await?;

    redis.server.stop().await;
    ctx.note("redis-server stopped");
    let logout = Request::post("/api/logout").cookie(&carol_session);
    let response = logout.send(a.port()).await?;
    ensure(
        response.status == 204,
        Sent::from(&logout).after("process A, while Redis is down: "),
        "204",
        response.describe(),
    )?;
    // The logout could not cross the bus: process B's tick reads the
    // session itself.
    let tick_limit = 2 * PING_INTERVAL + Duration::from_secs(1);
    carol
        .expect_close_allowing_error(4002, "Session expired", tick_limit)
        .await?;

    let redis = redis_server::start_again(ctx.env().dir(), &redis).await?;
    ctx.keep(redis.server);
    ctx.note("redis-server started again on the same port");
    let back = Instant::now();
    // Both ways: each process publishes, and each has subscribed again.
    heard_again(&mut bob, &BOB, &mut alice, &mut Vec::new(), back).await?;
    heard_again(&mut alice, &ALICE, &mut bob, &mut late_for_bob, back).await
}

/// `user` types in board-1 on `from` until `to` hears it, again after each
/// [`RETYPE_AFTER`] of silence (what is published while a process is still
/// reconnecting is lost), and at most until [`RESUME_LIMIT`] after `back`.
/// An event of the other process from before `to`'s join may still come
/// once (`late`).
async fn heard_again(
    from: &mut Ws,
    user: &User,
    to: &mut Ws,
    late: &mut Vec<Value>,
    back: Instant,
) -> Result<(), Failure> {
    loop {
        from.send_json(&message("typing", BOARD_1)).await?;
        let event = to.next_event(RETYPE_AFTER).await;
        let frame = event.json();
        if let Some(at) = frame
            .as_ref()
            .and_then(|frame| late.iter().position(|l| matches(l, frame)))
        {
            late.remove(at);
            continue;
        }
        match event {
            Event::Silence(_) if back.elapsed() < RESUME_LIMIT => {}
            _ if frame.is_some_and(|frame| matches(&user_typing(user), &frame)) => return Ok(()),
            event => {
                return Err(Failure::new(
                    from.request(),
                    format!(
                        "{} to hear {} within {} of Redis coming back",
                        to.label(),
                        user_typing(user),
                        seconds(RESUME_LIMIT)
                    ),
                    match event {
                        Event::Silence(_) => {
                            format!("no such frame, typed again every {}", seconds(RETYPE_AFTER))
                        }
                        event => event.describe(),
                    },
                ));
            }
        }
    }
}
