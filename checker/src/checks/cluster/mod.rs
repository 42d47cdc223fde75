//! Rows `cluster.*`: two server processes, one board (exercise 10), and
//! the same board through a Redis outage (exercise 11, in [`outage`]).
//!
//! Each row starts a real Redis and two processes of the server under test
//! on one database file and one `REDIS_URL`, then puts users on different
//! processes, the way a load balancer would.
//!
//! An event published on one process just before a socket joined the board
//! on the other may still reach that socket, once, before or after its
//! `joined` answer: each row lists such events as "late" for the socket,
//! and takes each of them at most once, wherever it comes.

mod outage;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::rooms::{BOARD_1, BOARD_2, message, user_left};
use super::{ALICE, BOB, CAROL, CLOSE_LIMIT, Ctx, User};
use crate::client::{Request, Symptom, Upgrade, Ws};
use crate::failure::{Failure, Hint};
use crate::redis_server::{self, RedisServer};
use crate::rows::{Row, Setup, check};
use crate::sent::Sent;
use crate::server::Server;

/// The rows this module grades, in the order they are reported.
pub(crate) static ROWS: &[Row] = &[
    Row {
        id: "cluster.rooms",
        exercise: 10,
        retired_after: None,
        name: "join, typing, leave and close on one process are heard on the other",
        book: "two-servers.md#what-crosses-the-bus",
        setup: Setup::OwnServers,
        hint: "Publish every room event (share_room_event) and hand what another process published to this process's sockets in that board (deliver).",
        check: check!(rooms),
    },
    Row {
        id: "cluster.viewers",
        exercise: 10,
        retired_after: None,
        name: "viewers counts the board's sockets on every process",
        book: "two-servers.md#counting-viewers",
        setup: Setup::OwnServers,
        hint: "Keep each board's sockets where every process sees them (count_on_bus), named so that two processes' socket ids cannot collide.",
        check: check!(viewers),
    },
    Row {
        id: "cluster.only-the-board",
        exercise: 10,
        retired_after: None,
        name: "across processes, a frame reaches only its board, and never its sender",
        book: "two-servers.md#delivering-what-others-publish",
        setup: Setup::OwnServers,
        hint: "Ignore your own process's messages when the bus brings them back, and deliver the others' only to sockets in the message's board.",
        check: check!(only_the_board),
    },
    Row {
        id: "cluster.ticket",
        exercise: 10,
        retired_after: None,
        name: "a ticket minted on one process is accepted on the other, once",
        book: "two-servers.md#what-stays-in-the-database",
        setup: Setup::OwnServers,
        hint: "Tickets live in the database every process shares, so exercise 8's authenticate_ticket, already here, works on either process: keep using a ticket up in one statement there, never in memory.",
        check: check!(ticket),
    },
    Row {
        id: "cluster.logout",
        exercise: 10,
        retired_after: None,
        name: "a logout on one process closes the session's sockets on the other 4002 within 1 s",
        book: "two-servers.md#what-crosses-the-bus",
        setup: Setup::OwnServers,
        hint: "Publish a session that ended here (share_session_ended) and end it on the other processes when it arrives (deliver).",
        check: check!(logout),
    },
    Row {
        id: "cluster.outage-local",
        exercise: 11,
        retired_after: None,
        name: "with Redis stopped, two sockets on one process keep hearing each other's typing at once",
        book: "under-attack.md#when-redis-goes-away",
        setup: Setup::OwnServers,
        hint: "In broadcast (and board_viewers), wait for the bus a bounded time only: while Redis is gone a command can wait seconds for it, and the sender's own loop, with its own board, waits there too.",
        check: check!(outage::local),
    },
    Row {
        id: "cluster.outage-recovers",
        exercise: 11,
        retired_after: None,
        name: "Redis restarted on its port: typing crosses processes again within 2 s, and a logout made while it was down closed its socket on the other process by a ping tick",
        book: "under-attack.md#when-redis-goes-away",
        setup: Setup::OwnServers,
        hint: "board reconnects to the bus by itself; the logout that could not cross it is caught by exercise 9's recheck_listener, which reads the session at every ping tick: keep that read, and keep every wait on the bus bounded.",
        check: check!(outage::recovers),
    },
];

/// A Redis and two processes on one database and one `REDIS_URL`.
struct Cluster {
    a: Arc<Server>,
    b: Arc<Server>,
}

async fn cluster(ctx: &Ctx) -> Result<Cluster, Failure> {
    let (cluster, redis) = cluster_and_redis(ctx, &[]).await?;
    ctx.keep(redis.server);
    Ok(cluster)
}

/// [`cluster`], with its processes started with `settings` too, and the
/// Redis left to the row, which may stop it.
async fn cluster_and_redis(
    ctx: &Ctx,
    settings: &[(&str, &str)],
) -> Result<(Cluster, RedisServer), Failure> {
    let redis = redis_server::start(ctx.env().dir()).await?;
    let database = ctx.env().fresh_database();
    let mut settings = settings.to_vec();
    settings.push(("REDIS_URL", redis.url.as_str()));
    let a = ctx.start(&database, &settings).await?;
    let b = ctx.start(&database, &settings).await?;
    Ok((Cluster { a, b }, redis))
}

/// `user`'s cookie socket on the process at `port`, labelled `label`.
async fn socket_on(ctx: &Ctx, port: u16, label: &str, user: &User) -> Result<Ws, Failure> {
    let session = ctx.login_on(port, user).await?;
    ctx.authenticated_on(port, label, Upgrade::cookie(&session), user)
        .await
}

async fn join(ws: &mut Ws, board: &str, viewers: u64) -> Result<(), Failure> {
    super::rooms::join(ws, board, viewers).await
}

/// Joins `board` while `late` events from the other process may still
/// arrive, before or after the `joined` answer.
async fn join_amid(
    ws: &mut Ws,
    board: &str,
    viewers: u64,
    late: &mut Vec<Value>,
) -> Result<(), Failure> {
    ws.send_json(&message("join", board)).await?;
    let joined = json!({"type": "joined", "boardId": board, "viewers": viewers});
    ws.expect_json_after(&joined, late).await.map(|_| ())
}

fn user_joined(user: &User, viewers: u64) -> Value {
    json!({"type": "user_joined", "user": user.json(), "viewers": viewers})
}

fn user_typing(user: &User) -> Value {
    json!({"type": "user_typing", "user": user.json()})
}

/// The mistake behind a socket that hears its own event, or one event
/// twice: the bus brings every message back to the process that published
/// it too, and `deliver` handed it to sockets this process had told already.
/// Rows about something else (counting, publishing) fail first on that echo
/// when a server makes it, and must not send the student there.
const ECHO: Hint = Hint {
    text: "In deliver, skip the messages your own process published: its sockets were told directly, and the copy the bus brings back is an echo (a socket hears its own event, or hears one twice).",
    book: "two-servers.md#delivering-what-others-publish",
};

/// A socket of a cluster row, and the room events it caused or heard: if
/// one of those comes again where another frame was expected, it is an
/// echo, and the report says so (see [`ECHO`]).
struct Member {
    ws: Ws,
    user: &'static User,
    echoes: Vec<Value>,
}

impl Member {
    /// `user`'s cookie socket on the process at `port`.
    async fn on(ctx: &Ctx, port: u16, label: &str, user: &'static User) -> Result<Member, Failure> {
        let ws = socket_on(ctx, port, label, user).await?;
        Ok(Member {
            ws,
            user,
            echoes: Vec::new(),
        })
    }

    async fn join(&mut self, board: &str, viewers: u64) -> Result<(), Failure> {
        join(&mut self.ws, board, viewers).await?;
        self.echoes.push(user_joined(self.user, viewers));
        Ok(())
    }

    /// Joins `board` while `late` events from the other process may still
    /// arrive, before or after the `joined` answer.
    async fn join_amid(
        &mut self,
        board: &str,
        viewers: u64,
        late: &mut Vec<Value>,
    ) -> Result<(), Failure> {
        join_amid(&mut self.ws, board, viewers, late).await?;
        self.echoes.push(user_joined(self.user, viewers));
        Ok(())
    }

    /// Sends `message`, which tells the others `event`.
    async fn cause(&mut self, message: &Value, event: Value) -> Result<(), Failure> {
        self.ws.send_json(message).await?;
        self.echoes.push(event);
        Ok(())
    }

    async fn hear(&mut self, expected: &Value) -> Result<(), Failure> {
        self.hear_after(expected, &mut Vec::new()).await
    }

    /// [`Ws::expect_json_after`], telling an echo.
    async fn hear_after(
        &mut self,
        expected: &Value,
        earlier: &mut Vec<Value>,
    ) -> Result<(), Failure> {
        let echo = Symptom {
            frames: &self.echoes,
            hint: &ECHO,
        };
        let heard = self
            .ws
            .expect_json_telling(expected, earlier, &echo)
            .await?;
        self.echoes.push(heard);
        Ok(())
    }
}

pub(crate) async fn rooms(ctx: Ctx) -> Result<(), Failure> {
    let Cluster { a, b } = cluster(&ctx).await?;
    let mut alice = Member::on(&ctx, a.port(), "alice@a", &ALICE).await?;
    let mut bob = Member::on(&ctx, b.port(), "bob@b", &BOB).await?;
    alice.join(BOARD_1, 1).await?;
    let mut late_for_bob = vec![user_joined(&ALICE, 1)];
    bob.join_amid(BOARD_1, 2, &mut late_for_bob).await?;
    alice.hear(&user_joined(&BOB, 2)).await?;
    bob.cause(&message("typing", BOARD_1), user_typing(&BOB))
        .await?;
    alice.hear(&user_typing(&BOB)).await?;
    alice
        .cause(&message("leave", BOARD_1), user_left(&ALICE, 1))
        .await?;
    bob.hear_after(&user_left(&ALICE, 1), &mut late_for_bob)
        .await?;
    alice.join(BOARD_1, 2).await?;
    bob.hear(&user_joined(&ALICE, 2)).await?;
    alice.ws.close(1000).await?;
    bob.hear(&user_left(&ALICE, 1)).await
}

pub(crate) async fn viewers(ctx: Ctx) -> Result<(), Failure> {
    let Cluster { a, b } = cluster(&ctx).await?;
    let mut alice = Member::on(&ctx, a.port(), "alice@a", &ALICE).await?;
    let mut bob = Member::on(&ctx, b.port(), "bob@b", &BOB).await?;
    let mut alice_again = Member::on(&ctx, b.port(), "alice@b", &ALICE).await?;
    alice.join(BOARD_1, 1).await?;
    let mut late_for_bob = vec![user_joined(&ALICE, 1)];
    bob.join_amid(BOARD_1, 2, &mut late_for_bob).await?;
    alice.hear(&user_joined(&BOB, 2)).await?;
    let mut late_for_alice_again = vec![user_joined(&ALICE, 1)];
    alice_again
        .join_amid(BOARD_1, 3, &mut late_for_alice_again)
        .await?;
    bob.hear_after(&user_joined(&ALICE, 3), &mut late_for_bob)
        .await?;
    alice.hear(&user_joined(&ALICE, 3)).await?;
    bob.cause(&message("leave", BOARD_1), user_left(&BOB, 2))
        .await?;
    alice.hear(&user_left(&BOB, 2)).await?;
    alice_again
        .hear_after(&user_left(&BOB, 2), &mut late_for_alice_again)
        .await
}

pub(crate) async fn only_the_board(ctx: Ctx) -> Result<(), Failure> {
    let Cluster { a, b } = cluster(&ctx).await?;
    let mut alice = socket_on(&ctx, a.port(), "alice@a", &ALICE).await?;
    let mut bob = socket_on(&ctx, b.port(), "bob@b", &BOB).await?;
    let mut carol_a = socket_on(&ctx, a.port(), "carol@a", &CAROL).await?;
    let mut carol_b = socket_on(&ctx, b.port(), "carol@b", &CAROL).await?;
    join(&mut carol_a, BOARD_2, 1).await?;
    let mut late_for_carol_b = vec![user_joined(&CAROL, 1)];
    join_amid(&mut carol_b, BOARD_2, 2, &mut late_for_carol_b).await?;
    carol_a.expect_json(&user_joined(&CAROL, 2)).await?;
    join(&mut alice, BOARD_1, 1).await?;
    let mut late_for_bob = vec![user_joined(&ALICE, 1)];
    join_amid(&mut bob, BOARD_1, 2, &mut late_for_bob).await?;
    alice.expect_json(&user_joined(&BOB, 2)).await?;
    alice.send_json(&message("typing", BOARD_1)).await?;
    bob.expect_json_after(
        &json!({"type": "user_typing", "user": ALICE.json()}),
        &mut late_for_bob,
    )
    .await?;
    // The probe's answer must be the next frame: nothing else was queued
    // (but an event from before a socket's join, which may come late).
    alice.probe().await?;
    carol_a.probe().await?;
    carol_b.probe_after(&mut late_for_carol_b).await
}

pub(crate) async fn ticket(ctx: Ctx) -> Result<(), Failure> {
    let Cluster { a, b } = cluster(&ctx).await?;
    let session = ctx.login_on(a.port(), &ALICE).await?;
    let mint = Request::post("/api/ws-ticket").cookie(&session);
    let response = mint.send(a.port()).await?;
    let Some(ticket) = response
        .json()
        .and_then(|body| body["ticket"].as_str().map(str::to_owned))
    else {
        return Err(Failure::new(
            Sent::from(&mint).after("process A: "),
            "201 {\"ticket\":<ticket>,\"expiresIn\":30}",
            response.describe(),
        ));
    };
    ctx.authenticated_on(b.port(), "alice@b", Upgrade::ticket(&ticket), &ALICE)
        .await?;
    let mut again = ctx
        .socket_on(a.port(), "again@a", Upgrade::ticket(&ticket))
        .await?;
    again
        .expect_rejection("Invalid ticket", 4001, "Invalid ticket")
        .await
}

/// How long the socket on B has been open when [`logout`] logs out on A.
///
/// Without the bus, B can still learn that a session ended by asking the
/// database, and a server does ask: at every ping tick (exercise 9; the
/// default `PING_INTERVAL_MS` puts the first one 30 s away), and once as
/// the socket starts watching its session, in case a logout came between
/// the upgrade's read and the watch. That first ask comes just after the
/// `authenticated` frame, and on a busy machine B's task can get to it
/// only after the client has read that frame and logged out on A: B then
/// closes the socket `4002` without a word from A, and a server that never
/// shares a logout passed about one run in four. Logging out this long
/// after the `authenticated` frame, B would have to be stalled for as long
/// to learn of it any other way than the bus.
const SETTLED: Duration = Duration::from_millis(500);

pub(crate) async fn logout(ctx: Ctx) -> Result<(), Failure> {
    let Cluster { a, b } = cluster(&ctx).await?;
    let session = ctx.login_on(a.port(), &ALICE).await?;
    let mut on_b = ctx
        .authenticated_on(b.port(), "alice@b", Upgrade::cookie(&session), &ALICE)
        .await?;
    tokio::time::sleep(SETTLED).await;
    let logout = Request::post("/api/logout").cookie(&session);
    let response = logout.send(a.port()).await?;
    if response.status != 204 {
        return Err(Failure::new(
            Sent::from(&logout).after("process A: "),
            "204",
            response.describe(),
        ));
    }
    on_b.expect_close_allowing_error(4002, "Session expired", CLOSE_LIMIT)
        .await
        .map(|_| ())
}
