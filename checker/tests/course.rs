//! The course as a student and an instructor meet it: the solutions pass
//! every row, each exercise as shipped fails at the first row of its own
//! lesson (never at an earlier exercise's row), and `--server-cmd` grades a
//! server started by any shell command.

use std::{
    collections::HashMap,
    path::Path,
    process::{Command, Output},
};

fn checker(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_checker"))
        .args(args)
        .output()
        .expect("the checker runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Each row id with the exercise it is first graded in.
fn row_exercises() -> HashMap<String, u8> {
    stdout(&checker(&["--list-rows"]))
        .lines()
        .map(|line| {
            let mut fields = line.split('\t');
            let id = fields.next().unwrap().to_owned();
            (id, fields.next().unwrap().parse().unwrap())
        })
        .collect()
}

/// The ids of the rows a report marks FAIL, in report order.
fn failed_rows(report: &str) -> Vec<String> {
    report
        .lines()
        .filter_map(|line| line.strip_prefix("FAIL "))
        .map(|rest| rest.split_whitespace().next().unwrap().to_owned())
        .collect()
}

#[test]
fn the_solutions_pass_every_row() {
    let output = checker(&["--solutions"]);
    let report = stdout(&output);
    assert!(output.status.success(), "{}\n{report}", output.status);
    let last = report.lines().last().unwrap();
    assert!(last.ends_with(" passed, 0 failed"), "{last}");
    assert!(failed_rows(&report).is_empty());
}

#[test]
fn each_shipped_exercise_fails_at_its_own_first_row() {
    // This guards the exercises as shipped: once a student fills in stubs,
    // it fails by design, and says so.
    let shipped = "(this test checks the exercises as the workbook ships them; \
                   with your own work in them it fails by design)";
    let exercise_of = row_exercises();
    // The first row of each lesson that the stubs leave failing. Rows that
    // the `board` crate already passes (the server basics, issuing tokens,
    // a bad AUTH_TIMEOUT_MS) come before some of these.
    let first_own_failure = [
        "ws.cookie",
        "ws.no-credential",
        "rooms.join",
        "ws.token",
        "first-message.auth",
        "expiry.at-connect",
        "origin.foreign",
    ];
    for (index, expected) in first_own_failure.iter().enumerate() {
        let number = index + 1;
        let output = checker(&[&number.to_string()]);
        let report = stdout(&output);
        assert_eq!(
            output.status.code(),
            Some(1),
            "exercise {number} {shipped}:\n{report}"
        );
        let failed = failed_rows(&report);
        assert_eq!(
            failed.first().map(String::as_str),
            Some(*expected),
            "exercise {number} {shipped}:\n{report}"
        );
        let earlier: Vec<&String> = failed
            .iter()
            .filter(|id| usize::from(exercise_of[*id]) < number)
            .collect();
        assert!(
            earlier.is_empty(),
            "exercise {number} fails rows of earlier exercises: {earlier:?}\n{report}"
        );
    }
}

#[test]
fn server_cmd_grades_a_server_started_by_any_shell_command() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let build = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "build",
            "-p",
            "solutions",
            "--bin",
            "solution-03",
            "--message-format=json",
        ])
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(build.status.success());
    let executable = stdout(&build)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find_map(|message| message["executable"].as_str().map(str::to_owned))
        .expect("cargo reports the binary it built");
    // As a server in another language would be started: through a shell,
    // from its own directory, ending in `exec` so signals reach it.
    let command = format!("cd /tmp && echo starting >&2 && exec '{executable}'");
    let output = checker(&["--server-cmd", &command, "--exercise", "3"]);
    let report = stdout(&output);
    assert!(output.status.success(), "{report}");
    assert!(
        report
            .lines()
            .last()
            .unwrap()
            .ends_with(" passed, 0 failed"),
        "{report}"
    );
}
