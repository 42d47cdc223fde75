//! The course as an instructor meets it: `--server-cmd` grades a server
//! started by any shell command. (That every solution passes all its rows,
//! and that each exercise as shipped fails at its own first row, are author
//! checks, `cargo run -p checker -- verify`, which CI runs: the second stops
//! holding, by design, once a student fills in a stub.)

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
