//! What a failed row's report leads with and ends with.
//!
//! A row whose server panicked at an unwritten `todo!()` stub is reported
//! by that stub, and the rows waiting on one stub are explained in one
//! block, in the text report and consistently in the JSON and JUnit ones;
//! shown on exercise 4 as shipped. Every failed row ends with a command
//! that redoes it by hand: `curl` for a REST row, `checker connect` for a
//! socket; shown on the broken server. Each run is bounded and leaves no
//! process behind.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use support::{Finished, broken_server, checker, run, workspace_root};

/// A bound on one checker run, generous for a loaded two-core machine.
const RUN_LIMIT: Duration = Duration::from_secs(120);

/// Names the processes of one run: the checker passes its environment on
/// to the servers it starts.
const MARKER: &str = "CHECKER_REPORT_TEST_MARKER";

/// The stub the shipped exercise 4 reaches first, for every token upgrade.
const STUB: &str = "todo!(\"exercise 4: with_token:";

/// The rows of exercise 4 that reach that stub, in report order.
const WAITING: [&str; 3] = ["ws.token", "ws.token-invalid", "logs.token-redacted"];

fn unique_marker() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    format!("failure-reports-{}-{nanos}", std::process::id())
}

/// Processes still carrying `marker` in their environment, after giving the
/// ones being killed a moment to go.
fn survivors(marker: &str) -> Vec<String> {
    let needle = format!("{MARKER}={marker}");
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let found: Vec<String> = std::fs::read_dir("/proc")
            .expect("/proc is readable")
            .filter_map(Result::ok)
            .filter(|entry| {
                std::fs::read(entry.path().join("environ")).is_ok_and(|environ| {
                    environ
                        .split(|byte| *byte == 0)
                        .any(|variable| variable == needle.as_bytes())
                })
            })
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .collect();
        if found.is_empty() || Instant::now() >= deadline {
            return found;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs the checker with `args` (and `break_row` for the broken server),
/// and checks that it left nothing running.
fn grade(args: &[&str], break_row: Option<&str>) -> Finished {
    let marker = unique_marker();
    let mut command = checker();
    command.env(MARKER, &marker).args(args);
    if let Some(row) = break_row {
        command.env("BREAK_ROW", row);
    }
    let finished = run(command, RUN_LIMIT);
    assert_eq!(
        survivors(&marker),
        Vec::<String>::new(),
        "processes left behind"
    );
    finished
}

/// The lines of the report about `row`: its `FAIL`/`PASS` line and the
/// indented lines under it.
fn report_of<'a>(stdout: &'a str, row: &str) -> Vec<&'a str> {
    let heads = |line: &&str| {
        line.strip_prefix("FAIL ")
            .or_else(|| line.strip_prefix("PASS "))
            .is_some_and(|rest| rest.split_whitespace().next() == Some(row))
    };
    let mut lines = stdout.lines().skip_while(|line| !heads(line));
    let Some(first) = lines.next() else {
        return Vec::new();
    };
    std::iter::once(first)
        .chain(lines.take_while(|line| line.starts_with(' ')))
        .collect()
}

/// The exercise 4 binary as shipped, built by the same cargo that runs the
/// tests, and the line of its first stub; `None` once the stub is written
/// (a student's checkout), when there is nothing to show.
fn shipped_exercise_4() -> Option<(PathBuf, usize)> {
    let source =
        std::fs::read_to_string(workspace_root().join("exercises/04-token-in-url/main.rs"))
            .expect("exercise 4 is readable");
    let line = source.lines().position(|line| line.contains(STUB))? + 1;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "build",
            "-p",
            "exercises",
            "--bin",
            "exercise-04",
            "--message-format=json",
        ])
        .current_dir(workspace_root())
        .stderr(Stdio::inherit())
        .output()
        .expect("cargo runs");
    assert!(output.status.success(), "building exercise-04 failed");
    let binary = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|message| message["target"]["name"] == "exercise-04")
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
        .expect("cargo reports the exercise-04 executable");
    Some((binary, line))
}

/// `--server-cmd` for `binary`, with the rows of the stub and one that
/// passes; graded this way, the run leaves `.checker-progress` alone.
fn exercise_4_args(binary: &Path) -> Vec<String> {
    let mut args = vec![
        "--server-cmd".to_owned(),
        format!("exec '{}'", binary.display()),
        "--exercise".to_owned(),
        "4".to_owned(),
        "--row".to_owned(),
        "login.ok".to_owned(),
    ];
    for row in WAITING {
        args.extend(["--row".to_owned(), row.to_owned()]);
    }
    args
}

#[test]
fn rows_waiting_for_one_stub_are_reported_once_by_that_stub() {
    let Some((binary, line)) = shipped_exercise_4() else {
        eprintln!("exercise 4's with_token is written: no stub to report");
        return;
    };
    let junit = tempfile::NamedTempFile::new().unwrap();
    let mut args = exercise_4_args(&binary);
    args.extend(["--junit".to_owned(), junit.path().display().to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let finished = grade(&args, None);
    let stdout = &finished.stdout;
    assert_eq!(finished.code, Some(1), "{}", finished.output());
    assert_eq!(
        stdout.lines().last(),
        Some("1 passed, 3 failed"),
        "{stdout}"
    );

    let location = format!("exercises/04-token-in-url/main.rs:{line}");
    let blocks: Vec<&str> = stdout
        .lines()
        .filter(|report| report.starts_with("STUB "))
        .collect();
    assert_eq!(blocks.len(), 1, "one block for one stub:\n{stdout}");
    assert!(
        blocks[0].starts_with(&format!("STUB {location}  {STUB}")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "3 rows wait for it, graded once it is written: {}",
            WAITING.join(", ")
        )),
        "{stdout}"
    );
    // The panic is explained once, not as a server tail under every row.
    assert!(!stdout.contains("server| "), "{stdout}");
    for row in WAITING {
        let report = report_of(stdout, row);
        assert!(report[0].starts_with("FAIL "), "{row}:\n{stdout}");
        assert!(
            report[1].starts_with(&format!(
                "    waits for with_token ({location}), still {STUB}"
            )),
            "{row} leads with the stub:\n{}",
            report.join("\n")
        );
        assert!(
            !report.iter().any(|line| line.contains("hint:")),
            "{row} has no hint of its own:\n{}",
            report.join("\n")
        );
    }

    let xml = std::fs::read_to_string(junit.path()).unwrap();
    let parsed = roxmltree::Document::parse(&xml).expect("the JUnit file is XML");
    let failures: Vec<&str> = parsed
        .descendants()
        .filter(|node| node.has_tag_name("failure"))
        .filter_map(|node| node.text())
        .collect();
    assert_eq!(failures.len(), WAITING.len(), "{xml}");
    assert!(
        failures
            .iter()
            .all(|report| report.contains(&format!("waits for with_token ({location})"))),
        "{xml}"
    );

    let mut args = exercise_4_args(&binary);
    args.extend(["--format".to_owned(), "json".to_owned()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let finished = grade(&args, None);
    let document: Value =
        serde_json::from_str(&finished.stdout).expect("stdout is one JSON document");
    for row in document["exercises"][0]["rows"].as_array().expect("rows") {
        let waiting = WAITING.contains(&row["id"].as_str().unwrap_or_default());
        let status = if waiting { "failed" } else { "passed" };
        assert_eq!(row["status"], status, "{row}");
        if waiting {
            assert_eq!(row["stub"]["line"], line, "{row}");
            assert_eq!(row["stub"]["name"], "with_token", "{row}");
        } else {
            assert!(row["stub"].is_null(), "{row}");
        }
    }
    assert_eq!(document["failed"], 3);
}

/// The report of `row` failing on the broken server, and its last two
/// lines: the start command and the command that redoes it.
fn broken_row(row: &str) -> (String, String, String) {
    let server = format!("exec '{}'", broken_server().display());
    let finished = grade(
        &["--server-cmd", &server, "--exercise", "3", "--row", row],
        Some(row),
    );
    assert_eq!(finished.code, Some(1), "{}", finished.output());
    let report = report_of(&finished.stdout, row);
    assert!(
        report.first().is_some_and(|line| line.starts_with("FAIL ")),
        "{}",
        finished.output()
    );
    let [.., start, command] = report[..] else {
        panic!("a short report:\n{}", report.join("\n"));
    };
    (report.join("\n"), start.to_owned(), command.to_owned())
}

#[test]
fn a_failed_rest_row_ends_with_its_request_as_curl() {
    let (report, start, command) = broken_row("me.ok");
    assert!(
        start.starts_with("    by hand, with `PORT=3000 sh -c ") && start.ends_with("` running:"),
        "{report}"
    );
    // A fresh login into a cookie file, then the row's request with it.
    let login = "curl -sS -o /dev/null -c /tmp/";
    assert!(command.starts_with(&format!("        {login}")), "{report}");
    assert!(
        command.contains(
            "http://127.0.0.1:3000/api/login && curl -i http://127.0.0.1:3000/api/me -b /tmp/"
        ),
        "{report}"
    );
}

#[test]
fn a_failed_socket_row_ends_with_checker_connect() {
    let (report, start, command) = broken_row("ws.cookie");
    assert!(start.ends_with("` running:"), "{report}");
    let connect = "        cargo run -p checker -- connect --port 3000 --as ";
    assert!(command.starts_with(connect), "{report}");
    let user = &command[connect.len()..];
    assert!(["alice", "bob"].contains(&user), "{report}");
}

/// The hint line of `row` failing on the broken server with `break_row`.
fn hint_of(row: &str, break_row: &str) -> String {
    let server = format!("exec '{}'", broken_server().display());
    let finished = grade(
        &["--server-cmd", &server, "--exercise", "10", "--row", row],
        Some(break_row),
    );
    assert_eq!(finished.code, Some(1), "{}", finished.output());
    let report = report_of(&finished.stdout, row);
    report
        .iter()
        .find(|line| line.trim_start().starts_with("hint: "))
        .map(|line| (*line).to_owned())
        .unwrap_or_else(|| panic!("no hint line:\n{}", report.join("\n")))
}

#[test]
fn a_hint_follows_the_symptom_the_frames_show() {
    // A process that delivers its own messages again shows an echo in
    // cluster.viewers first (a socket hears its own join): the hint is the
    // echo's, not the row's own about counting on the bus.
    let echo = hint_of("cluster.viewers", "cluster.only-the-board");
    assert!(
        echo.contains("In deliver, skip the messages your own process published")
            && echo.contains("two-servers.md#delivering-what-others-publish"),
        "{echo}"
    );
    // A count of this process's sockets alone shows a wrong viewers number:
    // the row's own hint.
    let count = hint_of("cluster.viewers", "cluster.viewers");
    assert!(
        count.contains("count_on_bus") && count.contains("two-servers.md#counting-viewers"),
        "{count}"
    );
}
