//! The checker behaves like the clients real servers meet, and explains the
//! mistakes of running one by hand.
//!
//! A server on Node's `ws` reports a socket closed only once its TCP
//! connection ends; the broken server imitates it with
//! `CLOSE_ON_TCP_END=1`, and must pass every row of the last exercise, as it
//! does without. And a `--server-cmd` without `exec` leaves a shell between
//! the checker and the server: the shutdown row must say so.

mod support;

use std::time::Duration;

use checker::course;
use checker::rows::ROWS;
use support::{broken_server, checker, run};

const LIMIT: Duration = Duration::from_secs(120);

#[test]
fn a_server_that_reports_closes_at_the_end_of_tcp_passes_the_last_exercise() {
    let last = course::last();
    let graded = ROWS.iter().filter(|row| row.graded_in(last)).count();
    let mut command = checker();
    command
        .env("CLOSE_ON_TCP_END", "1")
        .arg("--server-cmd")
        .arg(format!("exec '{}'", broken_server().display()))
        .args(["--exercise", &last.to_string()]);
    let finished = run(command, LIMIT);
    assert_eq!(
        finished.stdout.lines().last(),
        Some(format!("{graded} passed, 0 failed").as_str()),
        "{}",
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
