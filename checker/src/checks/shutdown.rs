//! Rows `shutdown.*`: SIGTERM closes every socket 1001 and the process exits 0,
//! also when the shutdown's own `user_left` frames overflow the sockets'
//! queues (exercise 11).

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use serde_json::json;

use futures_util::future::{join_all, try_join_all};

use super::rooms::{BOARD_1, BOARD_2, message};
use super::{ALICE, BOB, CAROL, Ctx, User, ensure, member};
use crate::client::{Upgrade, Ws, probe, probe_answer, seconds};
use crate::failure::Failure;
use crate::rows::{Row, SIGNED_IN, Setup, check};
use crate::server::{Program, STOP_GRACE, describe_status};

/// The rows this module grades, in the order they are reported.
pub(crate) static ROWS: &[Row] = &[
    Row {
        id: "shutdown.going-away",
        exercise: 6,
        retired_after: None,
        name: "on SIGTERM every socket gets 1001 Server shutting down and the process exits 0 within 2 s",
        book: "close-codes.md#shutting-down",
        setup: SIGNED_IN,
        hint: "board stops accepting on SIGTERM and returns from main once the sockets are closed; in finish, close ShuttingDown with 1001 'Server shutting down', and in Rejection::answer give ShuttingDown (a socket still waiting for its auth frame) the same close.",
        check: check!(going_away),
    },
    Row {
        id: "shutdown.every-socket",
        exercise: 11,
        retired_after: None,
        name: "on SIGTERM with two busy boards of 300 sockets each, every socket gets 1001, none 1013",
        book: "under-attack.md#shutting-down-under-load",
        setup: Setup::SignedIn(&[("MAX_SOCKETS_PER_USER", "10000")]),
        hint: "In serve_socket, a mailbox that overflows while the server is shutting down was filled by the shutdown's own user_left frames: end that socket as ShuttingDown (1001), not FellBehind (1013).",
        check: check!(every_socket),
    },
];

/// Sockets in each board of [`every_socket`]: more than a socket's queue
/// holds (256 frames), so that the `user_left` frames of a shutdown can
/// overflow it.
const PER_BOARD: usize = 300;

pub(crate) async fn going_away(ctx: Ctx) -> Result<(), Failure> {
    let user = member();
    let mut authenticated = ctx.cookie_socket(user).await?;
    // Still waiting for its auth frame when the signal comes.
    let mut pending = ctx.socket("anonymous", Upgrade::bare()).await?;
    let server = ctx.server();
    let signalled = Instant::now();
    server.signal(Signal::SIGTERM);
    authenticated
        .expect_close_allowing_error(1001, "Server shutting down", STOP_GRACE)
        .await?;
    pending
        .expect_close_allowing_error(1001, "Server shutting down", STOP_GRACE)
        .await?;
    let left = (STOP_GRACE + Duration::from_millis(300)).saturating_sub(signalled.elapsed());
    let status = server.wait_exit(left).await;
    let request = "SIGTERM to the server's process group";
    match status {
        None => Err(Failure::new(
            request,
            "exit code 0 within 2 s",
            format!("still running after {}", seconds(STOP_GRACE)),
        )),
        Some(status) => ensure(
            status.success(),
            request,
            "exit code 0 within 2 s",
            exit_got(&ctx.env().program, status),
        ),
    }
}

/// How the process ended, as a report says it. "killed by SIGTERM" from a
/// `--server-cmd` without `exec` is the shell, not the server: `sh -c` runs
/// the command as its child and dies of the checker's own signal, which a
/// student cannot guess from the status alone.
fn exit_got(program: &Program, status: ExitStatus) -> String {
    let described = describe_status(status);
    match program {
        Program::Shell(command)
            if status.signal() == Some(Signal::SIGTERM as i32)
                && !command.trim_start().starts_with("exec ") =>
        {
            format!(
                "{described}, but that process is the shell `sh -c {command:?}`, not the server: \
                 the shell runs the command as its child and died of the checker's own SIGTERM; \
                 start the command with `exec` (--server-cmd \"exec {}\") so that the server \
                 replaces the shell and gets the signal itself",
                command.trim()
            )
        }
        _ => described,
    }
}

/// The board's members, and the board.
const BOARDS: [(&str, [&User; 2]); 2] = [(BOARD_1, [&ALICE, &BOB]), (BOARD_2, [&ALICE, &CAROL])];

pub(crate) async fn every_socket(ctx: Ctx) -> Result<(), Failure> {
    let mut sessions = Vec::new();
    for user in [&ALICE, &BOB, &CAROL] {
        sessions.push((user.username, ctx.session(user).await?));
    }
    let session_of = |user: &User| {
        sessions
            .iter()
            .find(|(name, _)| *name == user.username)
            .map(|(_, session)| session.clone())
            .unwrap_or_default()
    };
    let mut sockets: Vec<Ws> = Vec::new();
    for (board, members) in BOARDS {
        for number in 0..PER_BOARD {
            let user = members[number % 2];
            let label = format!("{}-{board}-{number}", user.username);
            let mut ws = ctx
                .authenticated(&label, Upgrade::cookie(&session_of(user)), user)
                .await?;
            ws.send_json(&message("join", board)).await?;
            sockets.push(ws);
        }
    }
    // Busy boards: every socket's join is answered, and some type, when the
    // signal comes.
    let joined = json!({"type": "joined"});
    try_join_all(sockets.iter_mut().map(|ws| ws.expect_json_amid(&joined))).await?;
    // The probe's answer says the server has read the typing too: a server
    // that exits with frames unread resets the connection, and the close
    // frame before the reset can be lost.
    for ws in sockets.iter_mut().step_by(PER_BOARD / 10) {
        let board = if ws.label().contains(BOARD_1) {
            BOARD_1
        } else {
            BOARD_2
        };
        ws.send_json(&message("typing", board)).await?;
        ws.send_json(&probe()).await?;
        ws.expect_json_amid(&probe_answer()).await?;
    }
    ctx.server().signal(Signal::SIGTERM);
    let request = format!(
        "{} sockets in {BOARD_1} and {BOARD_2} ({PER_BOARD} each), some typing, then SIGTERM",
        2 * PER_BOARD
    );
    let endings = join_all(sockets.iter_mut().map(|ws| ws.ending(STOP_GRACE))).await;
    let wrong: Vec<String> = sockets
        .iter()
        .zip(&endings)
        .filter(|(_, ending)| !ending.is_close(1001, "Server shutting down"))
        .map(|(ws, ending)| format!("{}: {}", ws.label(), ending.describe()))
        .collect();
    ensure(
        wrong.is_empty(),
        request.as_str(),
        "close 1001 'Server shutting down' on every socket",
        format!(
            "{} of {} sockets ended otherwise: {}",
            wrong.len(),
            sockets.len(),
            wrong.iter().take(5).cloned().collect::<Vec<_>>().join("; ")
        ),
    )
}
