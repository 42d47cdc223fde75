//! The checker behaves like the clients real servers meet, and explains the
//! mistakes of running one by hand.
//!
//! A server on Node's `ws` reports a socket closed only once its TCP
//! connection ends; the broken server imitates it with
//! `CLOSE_ON_TCP_END=1`, and must pass every row of the last exercise, as it
//! does without. When such a server closes a socket itself, it leaves the
//! socket's boards only once the client has answered its close (or ended
//! the connection), as a browser does at once; the broken server imitates
//! that with `CLEANUP_AFTER_CLOSE_HANDSHAKE=1`, and must pass every row of
//! the last exercise too: among them every row where the server closes a
//! socket (4003 for a forbidden board, 4002, 1009, 1001...) and another
//! socket waits for its `user_left`. And a `--server-cmd` without `exec`
//! leaves a shell between the checker and the server: the shutdown row must
//! say so.
//!
//! The two full runs of the last exercise are marked `#[ignore]`, for their
//! time: CI runs them, with `cargo test --workspace -- --ignored`.

mod support;

use std::time::Duration;

use checker::course;
use checker::plan::ROWS;
use support::{broken_server, checker, run};

const LIMIT: Duration = Duration::from_secs(120);

#[test]
#[ignore = "slow: CI runs it (cargo test --workspace -- --ignored)"]
fn a_server_that_reports_closes_at_the_end_of_tcp_passes_the_last_exercise() {
    passes_the_last_exercise_with("CLOSE_ON_TCP_END");
}

#[test]
#[ignore = "slow: CI runs it (cargo test --workspace -- --ignored)"]
fn a_server_that_leaves_boards_once_its_close_is_answered_passes_the_last_exercise() {
    passes_the_last_exercise_with("CLEANUP_AFTER_CLOSE_HANDSHAKE");
}

/// Grades the last exercise on the broken server with `mode` set to 1 and
/// no break: every row must pass.
fn passes_the_last_exercise_with(mode: &str) {
    let last = course::last();
    let graded = ROWS.iter().filter(|row| row.graded_in(last)).count();
    let mut command = checker();
    command
        .env(mode, "1")
        .arg("--server-cmd")
        .arg(format!("exec '{}'", broken_server().display()))
        .args(["--exercise", &last.to_string()]);
    let finished = run(command, LIMIT);
    assert_eq!(
        finished.stdout.lines().last(),
        Some(format!("{graded} passed, 0 failed").as_str()),
        "{mode}=1:\n{}",
        finished.output()
    );
    assert_eq!(finished.code, Some(0));
}

#[test]
fn a_server_cmd_without_exec_is_told_to_use_exec() {
    let mut command = checker();
    command
        .arg("--server-cmd")
        .arg(format!("'{}'", broken_server().display()))
        .args(["--exercise", &course::last().to_string()])
        .args(["--row", "shutdown.going-away"]);
    let finished = run(command, LIMIT);
    assert_eq!(finished.code, Some(1), "{}", finished.output());
    let got = finished
        .stdout
        .lines()
        .find(|line| line.trim_start().starts_with("got: "))
        .unwrap_or_default();
    assert!(
        got.contains("killed by SIGTERM") && got.contains("the shell") && got.contains("exec"),
        "the report does not explain the shell:\n{}",
        finished.output()
    );
}
