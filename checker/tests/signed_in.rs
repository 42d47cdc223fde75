//! Most rows start on a copy of a database where the seed users logged in
//! before the rows (`checker::signed_in`): this is what those rows show, and
//! what becomes of a server that cannot use such a copy.
//!
//! A signed-in row that fails says in its frames where its session came
//! from. A server that forgets sessions at a restart cannot use the copied
//! sessions: its rows must log in for themselves, so that the restart row
//! is the only one to fail, as it was before any session was kept.

mod support;

use std::time::Duration;

use checker::plan::ROWS;
use checker::rows::Setup;
use support::{broken_server, checker, run};

const LIMIT: Duration = Duration::from_secs(120);

/// The line a row's frames get for a session it did not log in for.
const KEPT_SESSION: &str = "the session of a login before this row";

fn failed_rows(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .filter_map(|line| line.strip_prefix("FAIL "))
        .filter_map(|rest| rest.split_whitespace().next())
        .collect()
}

#[test]
fn a_failing_signed_in_row_says_where_its_session_came_from() {
    let row = ROWS
        .iter()
        .find(|row| row.id == "ws.cookie")
        .expect("ws.cookie is a row");
    assert!(matches!(row.setup, Setup::SignedIn(_)));
    let mut command = checker();
    command
        .env("BREAK_ROW", row.id)
        .arg("--server-cmd")
        .arg(format!("exec '{}'", broken_server().display()))
        .args(["--exercise", "1", "--row", row.id]);
    let finished = run(command, LIMIT);
    assert_eq!(
        failed_rows(&finished.stdout),
        [row.id],
        "{}",
        finished.output()
    );
    assert!(
        finished.stdout.contains(KEPT_SESSION),
        "the frames of ws.cookie do not say where its session came from:\n{}",
        finished.output()
    );
}

#[test]
fn a_server_that_forgets_sessions_at_a_restart_fails_that_row_alone() {
    let exercise = 9;
    let graded = ROWS.iter().filter(|row| row.graded_in(exercise)).count();
    let signed_in = ROWS
        .iter()
        .filter(|row| row.graded_in(exercise) && matches!(row.setup, Setup::SignedIn(_)))
        .count();
    assert!(signed_in > graded / 2, "most rows are signed in");
    let mut command = checker();
    command
        .env("BREAK_ROW", "server.restart-keeps-data")
        .arg("--server-cmd")
        .arg(format!("exec '{}'", broken_server().display()))
        .args(["--exercise", &exercise.to_string()]);
    let finished = run(command, LIMIT);
    assert_eq!(
        failed_rows(&finished.stdout),
        ["server.restart-keeps-data"],
        "{}",
        finished.output()
    );
    assert_eq!(
        finished.stdout.lines().last(),
        Some(format!("{} passed, 1 failed", graded - 1).as_str()),
        "{}",
        finished.output()
    );
}
