//! Every row of the checker can fail, and fails for its own reason.
//!
//! A row that passes every server proves nothing, so each row is run against
//! `testing/broken-server` with `BREAK_ROW=<that row>`, a server that makes
//! one plausible mistake for that row and no other, and must fail with that
//! row's own expectation in the report. The same server without a break must
//! pass every row of the last exercise, which shows that the breaks are its only
//! defects. Then the checker's own robustness: servers that never start,
//! exit at once or hang, and a Ctrl-C in the middle of a run, each diagnosed
//! in bounded time without leaving a process behind.
//!
//! The row-by-row test and the full run of the server without a break take
//! most of a minute, so they are marked `#[ignore]`: CI runs them, with
//! `cargo test --workspace -- --ignored`.

use std::{
    io::{BufRead, BufReader, Read},
    process::{Child, Command, Stdio},
    sync::{
        Mutex, MutexGuard,
        atomic::{AtomicUsize, Ordering},
        mpsc,
    },
    thread,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use checker::course;
use checker::plan::ROWS;
use checker::rows::Row;
use nix::{
    sys::signal::{Signal, kill},
    unistd::Pid,
};
mod support;

use support::{broken_server, workspace_root};

#[path = "rows_can_fail/expected.rs"]
mod expected;

use expected::EXPECTED;

/// A bound on one checker run, not a benchmark: generous for a loaded
/// machine, small enough that a hang fails the test instead of stalling it.
const RUN_LIMIT: Duration = Duration::from_secs(90);

/// The bound on the robustness runs.
const ROBUST_LIMIT: Duration = Duration::from_secs(20);

/// Checker runs at once in the row test.
const WORKERS: usize = 3;

/// Names the processes one checker run starts: the checker passes its
/// environment on to the servers it starts.
const MARKER: &str = "CHECKER_TEST_MARKER";

/// The tests that run many servers, or time-sensitive rows, take turns, so
/// that they do not slow each other into timing failures on a small machine.
fn heavy() -> MutexGuard<'static, ()> {
    static HEAVY: Mutex<()> = Mutex::new(());
    HEAVY
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn server_cmd() -> String {
    format!("exec '{}'", broken_server().display())
}

/// A value no other run uses.
fn unique_marker() -> String {
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    let count = COUNT.fetch_add(1, Ordering::Relaxed);
    format!("rows-can-fail-{}-{nanos}-{count}", std::process::id())
}

/// The checker with a clean slate: no break unless asked, and a marker.
fn checker(marker: &str) -> Command {
    let mut command = Command::new(assert_cmd::cargo::cargo_bin("checker"));
    command
        .current_dir(workspace_root())
        .env_remove("BREAK_ROW")
        .env(MARKER, marker)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// How a checker run ended.
struct Finished {
    /// `None` if it was killed by a signal, or by us at the limit.
    code: Option<i32>,
    timed_out: bool,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

impl Finished {
    fn output(&self) -> String {
        format!("{}\n--- stderr ---\n{}", self.stdout, self.stderr)
    }
}

fn collect(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut text = Vec::new();
        let _ = pipe.read_to_end(&mut text);
        String::from_utf8_lossy(&text).into_owned()
    })
}

/// Waits for `child` at most until `deadline`; kills it after that.
fn wait_until(child: &mut Child, deadline: Instant) -> (Option<i32>, bool) {
    loop {
        match child.try_wait().expect("waiting on the checker works") {
            Some(status) => return (status.code(), false),
            None if Instant::now() >= deadline => {
                let _ = child.kill();
                let status = child.wait().expect("a killed child can be reaped");
                return (status.code(), true);
            }
            None => thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// Runs the checker to its end (or to `limit`, then kills it).
fn run(mut command: Command, limit: Duration) -> Finished {
    let started = Instant::now();
    let mut child = command.spawn().expect("the checker starts");
    let stdout = collect(child.stdout.take().expect("piped"));
    let stderr = collect(child.stderr.take().expect("piped"));
    let (code, timed_out) = wait_until(&mut child, started + limit);
    let elapsed = started.elapsed();
    Finished {
        code,
        timed_out,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
        elapsed,
    }
}

/// Processes still carrying `marker` in their environment, after giving
/// processes that are being killed a moment to go.
fn survivors(marker: &str) -> Vec<String> {
    let needle = format!("{MARKER}={marker}");
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let found: Vec<String> = std::fs::read_dir("/proc")
            .expect("/proc is readable")
            .filter_map(Result::ok)
            .filter(|entry| {
                entry
                    .file_name()
                    .to_string_lossy()
                    .bytes()
                    .all(|b| b.is_ascii_digit())
            })
            .filter(|entry| {
                std::fs::read(entry.path().join("environ")).is_ok_and(|environ| {
                    environ
                        .split(|byte| *byte == 0)
                        .any(|variable| variable == needle.as_bytes())
                })
            })
            .map(|entry| {
                let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
                let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
                format!(
                    "pid {}: {}",
                    entry.file_name().to_string_lossy(),
                    cmdline.trim()
                )
            })
            .collect();
        if found.is_empty() || Instant::now() >= deadline {
            return found;
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// The last exercise that grades `row`.
fn last_exercise(row: &Row) -> u8 {
    row.retired_after.unwrap_or_else(course::last)
}

/// The lines of the report about `row`: its `FAIL`/`PASS` line and the
/// indented evidence under it.
fn report_of(stdout: &str, row: &str) -> Option<String> {
    let mut lines = stdout.lines();
    let first = lines.find(|line| {
        line.strip_prefix("FAIL ")
            .or_else(|| line.strip_prefix("PASS "))
            .is_some_and(|rest| rest.split_whitespace().next() == Some(row))
    })?;
    let evidence = lines.take_while(|line| line.starts_with(' ') || line.is_empty());
    Some(
        std::iter::once(first)
            .chain(evidence)
            .collect::<Vec<_>>()
            .join("\n")
            + "\n",
    )
}

/// Runs `row` against the server that breaks it; describes what is wrong.
fn breaking_fails(row: &Row) -> Result<(), String> {
    let Some((_, expected)) = EXPECTED.iter().find(|(id, _)| *id == row.id) else {
        return Err(format!(
            "{}: no expectation in EXPECTED; give broken-server a break for it and list its failure text here",
            row.id
        ));
    };
    let marker = unique_marker();
    let exercise = last_exercise(row).to_string();
    let mut command = checker(&marker);
    command
        .args([
            "--server-cmd",
            &server_cmd(),
            "--exercise",
            &exercise,
            "--row",
            row.id,
        ])
        .env("BREAK_ROW", row.id);
    let finished = run(command, RUN_LIMIT);
    let mut problems = Vec::new();
    if finished.timed_out {
        problems.push(format!("still running after {RUN_LIMIT:?}"));
    } else if finished.code != Some(1) {
        problems.push(format!("exit code {:?}, expected 1", finished.code));
    }
    match report_of(&finished.stdout, row.id) {
        Some(report) if !report.starts_with("FAIL ") => problems.push("the row passed".to_owned()),
        Some(report) => {
            for text in expected.iter().filter(|text| !report.contains(**text)) {
                problems.push(format!("the failure does not say {text:?}"));
            }
        }
        None => problems.push("no FAIL line for the row".to_owned()),
    }
    let left = survivors(&marker);
    if !left.is_empty() {
        problems.push(format!("processes left behind: {left:?}"));
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{} (BREAK_ROW={0}, --exercise {exercise}): {}\n{}",
        row.id,
        problems.join("; "),
        indent(&finished.output())
    ))
}

fn indent(text: &str) -> String {
    text.lines().map(|line| format!("    | {line}\n")).collect()
}

#[test]
#[ignore = "slow: CI runs it (cargo test --workspace -- --ignored)"]
fn every_row_fails_against_the_server_that_breaks_it() {
    let rows: &[Row] = &ROWS;
    broken_server();
    let _turn = heavy();
    let queue = Mutex::new(rows.iter());
    let problems = Mutex::new(Vec::new());
    thread::scope(|scope| {
        for _ in 0..WORKERS {
            scope.spawn(|| {
                loop {
                    let next = queue.lock().unwrap_or_else(|p| p.into_inner()).next();
                    let Some(row) = next else { break };
                    if let Err(problem) = breaking_fails(row) {
                        problems
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push(problem);
                    }
                }
            });
        }
    });
    let problems = problems.into_inner().unwrap_or_else(|p| p.into_inner());
    assert!(
        problems.is_empty(),
        "{} of {} rows did not fail as expected:\n\n{}",
        problems.len(),
        rows.len(),
        problems.join("\n")
    );
}

#[test]
#[ignore = "slow: CI runs it (cargo test --workspace -- --ignored)"]
fn the_server_without_a_break_passes_the_last_exercise() {
    let last = course::last();
    let graded = ROWS.iter().filter(|row| row.graded_in(last)).count();
    let command = server_cmd();
    let _turn = heavy();
    let marker = unique_marker();
    let mut checker = checker(&marker);
    checker.args(["--server-cmd", &command, "--exercise", &last.to_string()]);
    let finished = run(checker, RUN_LIMIT);
    let last = finished.stdout.lines().last().unwrap_or_default();
    assert!(
        finished.code == Some(0) && last == format!("{graded} passed, 0 failed"),
        "expected exit 0 and `{graded} passed, 0 failed`, got exit {:?}, last line {last:?}:\n{}",
        finished.code,
        indent(&finished.output())
    );
    assert_eq!(
        survivors(&marker),
        Vec::<String>::new(),
        "processes left behind"
    );
}

/// Runs one misbehaving server and expects `diagnosis` on one line of the
/// report, a failed run in bounded time, and nothing left running.
fn diagnosed(server: &str, args: &[&str], break_row: Option<&str>, diagnosis: &str) {
    let marker = unique_marker();
    let mut command = checker(&marker);
    command
        .args([
            "--server-cmd",
            server,
            "--exercise",
            &course::last().to_string(),
        ])
        .args(args);
    if let Some(row) = break_row {
        command.env("BREAK_ROW", row);
    }
    let finished = run(command, ROBUST_LIMIT);
    let output = finished.output();
    assert!(
        !finished.timed_out,
        "the checker was still running after {ROBUST_LIMIT:?}:\n{}",
        indent(&output)
    );
    assert_eq!(finished.code, Some(1), "exit code:\n{}", indent(&output));
    assert!(
        finished.stdout.lines().any(|line| line.contains(diagnosis)),
        "no line says {diagnosis:?}:\n{}",
        indent(&output)
    );
    assert!(
        finished.elapsed < ROBUST_LIMIT,
        "took {:?}",
        finished.elapsed
    );
    assert_eq!(
        survivors(&marker),
        Vec::<String>::new(),
        "processes left behind"
    );
}

#[test]
fn a_server_that_never_prints_the_listening_line() {
    diagnosed(
        "exec sleep 30",
        &["--start-timeout", "1"],
        None,
        "the server did not print `listening on http://127.0.0.1:PORT` within 1 s",
    );
}

#[test]
fn a_server_that_exits_at_once() {
    diagnosed(
        "exit 3",
        &[],
        None,
        "the server exited before printing the listening line (exit code 3)",
    );
}

#[test]
fn a_server_that_hangs_after_the_upgrade() {
    diagnosed(
        &server_cmd(),
        &["--row", "ws.cookie"],
        Some("hang-after-upgrade"),
        "got: no frame within",
    );
}

#[test]
fn ctrl_c_in_the_middle_of_a_run_stops_every_server() {
    let command = server_cmd();
    let _turn = heavy();
    let marker = unique_marker();
    let mut checker = checker(&marker);
    checker.args([
        "--server-cmd",
        &command,
        "--exercise",
        &course::last().to_string(),
    ]);
    let started = Instant::now();
    let mut child = checker.spawn().expect("the checker starts");
    let stderr = collect(child.stderr.take().expect("piped"));
    let (lines, arrived) = mpsc::channel();
    let stdout = BufReader::new(child.stdout.take().expect("piped"));
    let reader = thread::spawn(move || {
        let mut seen = Vec::new();
        for line in stdout.lines().map_while(Result::ok) {
            let _ = lines.send(line.clone());
            seen.push(line);
        }
        seen.join("\n")
    });
    // Interrupt once the run is under way: after its first PASS line.
    let deadline = started + ROBUST_LIMIT;
    let mut under_way = false;
    while let Ok(line) = arrived.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        if line.starts_with("PASS ") {
            under_way = true;
            break;
        }
    }
    let pid = Pid::from_raw(i32::try_from(child.id()).expect("a pid fits in i32"));
    let still_running = matches!(child.try_wait(), Ok(None));
    if under_way && still_running {
        kill(pid, Signal::SIGINT).expect("the checker can be signalled");
    }
    let interrupted = Instant::now();
    let (code, timed_out) = wait_until(&mut child, interrupted + Duration::from_secs(5));
    let stopped_in = interrupted.elapsed();
    let output = format!(
        "{}\n--- stderr ---\n{}",
        reader.join().unwrap_or_default(),
        stderr.join().unwrap_or_default()
    );
    assert!(
        under_way,
        "no PASS line within {ROBUST_LIMIT:?}:\n{}",
        indent(&output)
    );
    assert!(
        still_running,
        "the run ended before it could be interrupted:\n{}",
        indent(&output)
    );
    assert!(
        !timed_out,
        "the checker was still running 5 s after SIGINT:\n{}",
        indent(&output)
    );
    assert_eq!(
        code,
        Some(130),
        "exit code after SIGINT ({stopped_in:?} after it):\n{}",
        indent(&output)
    );
    assert!(
        output.contains("interrupted"),
        "the checker does not say it was interrupted:\n{}",
        indent(&output)
    );
    assert_eq!(
        survivors(&marker),
        Vec::<String>::new(),
        "processes left behind"
    );
}
