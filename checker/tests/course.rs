//! The course as a student and an instructor meet it: the solutions pass
//! every row, and `--server-cmd` grades a server started by any shell
//! command. (That each exercise as shipped fails at its own first row is an
//! author check, `cargo run -p checker -- verify`: it stops holding, by
//! design, once a student fills in a stub.)

use std::{
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
