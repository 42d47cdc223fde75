//! Rows `shutdown.*`: SIGTERM closes every socket 1001 and the process exits 0.

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use super::{Ctx, ensure, member};
use crate::client::{Upgrade, seconds};
use crate::report::Failure;
use crate::rows::{Row, SIGNED_IN, check};
use crate::server::{Program, STOP_GRACE, describe_status};

/// The rows this module grades, in the order they are reported.
pub static ROWS: &[Row] = &[Row {
    id: "shutdown.going-away",
    exercise: 6,
    retired_after: None,
    name: "on SIGTERM every socket gets 1001 Server shutting down and the process exits 0 within 2 s",
    book: "close-codes.md#shutting-down",
    setup: SIGNED_IN,
    hint: "board stops accepting on SIGTERM and returns from main once the sockets are closed; in finish, close ShuttingDown with 1001 'Server shutting down', and in Rejection::answer give ShuttingDown (a socket still waiting for its auth frame) the same close.",
    check: check!(going_away),
}];

pub async fn going_away(ctx: Ctx) -> Result<(), Failure> {
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
