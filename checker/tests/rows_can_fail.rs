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
use checker::rows::{ROWS, Row};
use nix::{
    sys::signal::{Signal, kill},
    unistd::Pid,
};
mod support;

use support::{broken_server, workspace_root};

/// For each row, text its failure report must contain when the broken server
/// breaks that row: the row's own expectation (and, where the expectation
/// alone is shared by other ways to fail, what the break produces).
const EXPECTED: &[(&str, &[&str])] = &[
    (
        "server.listening",
        &["expected: `listening on http://127.0.0.1:PORT` as the first stdout line"],
    ),
    (
        "server.bad-settings",
        &["a last stderr line naming SESSION_TTL_SECS"],
    ),
    (
        "server.seeded",
        &[r#"expected: 200 {"user":{"id":"user-carol","name":"Carol"}}"#],
    ),
    (
        "server.restart-keeps-data",
        &[
            "after a restart on the same DATABASE_PATH",
            "(the session survives the restart)",
        ],
    ),
    (
        "login.ok",
        &[
            "request: POST /api/login",
            r#"expected: 200 {"user":{"id":"user-"#,
        ],
    ),
    (
        "login.cookie",
        &["expected: Set-Cookie: session=<id>; Path=/; HttpOnly; SameSite=Lax"],
    ),
    (
        "login.random-ids",
        &["expected: session ids that contain neither the username nor the user id"],
    ),
    (
        "login.wrong-credentials",
        &[r#"expected: 401 {"error":"Invalid credentials"}"#],
    ),
    (
        "login.malformed",
        &[r#"expected: 400 {"error":"<message>"}"#],
    ),
    (
        "me.ok",
        &[
            "request: GET /api/me, Cookie: session=",
            r#"expected: 200 {"user":"#,
        ],
    ),
    (
        "me.unauthorized",
        &[
            "request: GET /api/me\n",
            r#"expected: 401 {"error":"Unauthorized"}"#,
        ],
    ),
    (
        "ws.cookie",
        &[
            "GET /ws, Cookie: session=",
            r#"expected: frame {"type":"authenticated""#,
        ],
    ),
    (
        "ws.cookie-own-user",
        &[
            "logged in): GET /ws, Cookie: session=",
            r#"expected: frame {"type":"authenticated""#,
        ],
    ),
    (
        "ws.no-credential",
        &[
            r#"expected: frame {"error":"Unauthorized"}"#,
            "got: close 4001 'Unauthorized'",
        ],
    ),
    (
        "ws.unknown-session",
        &["expected: close 4001 'Invalid session'"],
    ),
    (
        "ws.deleted-user",
        &["expected: close 4001 'User not found'"],
    ),
    ("rooms.join", &[r#"expected: frame {"type":"user_joined""#]),
    (
        "rooms.join-again",
        &[
            "expected: the probe's answer",
            r#"got: frame {"type":"user_joined""#,
        ],
    ),
    (
        "rooms.viewers-count-sockets",
        &[r#"expected: frame {"boardId":"board-1","type":"joined","viewers":2}"#],
    ),
    (
        "rooms.typing",
        &["request: carol: ", r#"got: frame {"type":"user_typing""#],
    ),
    (
        "rooms.typing-not-joined",
        &[r#"expected: frame {"error":"Not in board"}"#],
    ),
    (
        "rooms.leave",
        &[
            "expected: the probe's answer",
            r#"got: frame {"type":"user_left""#,
        ],
    ),
    ("rooms.close", &[r#"expected: frame {"type":"user_left""#]),
    (
        "messages.invalid-json",
        &[
            "then sent binary",
            r#"expected: frame {"error":"Invalid JSON"}"#,
        ],
    ),
    (
        "messages.invalid-message",
        &[r#"expected: frame {"error":"Invalid message"}"#],
    ),
    (
        "messages.unknown-type",
        &[r#"expected: frame {"error":"Unknown message type"}"#],
    ),
    (
        "tokens.issue",
        &[
            "request: POST /api/tokens",
            r#"expected: 401 {"error":"Unauthorized"}"#,
        ],
    ),
    (
        "ws.token",
        &[
            "GET /ws?token=",
            r#"expected: frame {"type":"authenticated""#,
        ],
    ),
    (
        "ws.token-wins",
        &[
            "GET /ws?token=",
            "Cookie: session=",
            r#"expected: frame {"error":"Invalid token"}"#,
        ],
    ),
    (
        "ws.token-invalid",
        &[
            "empty-token: GET /ws?token=\n",
            r#"expected: frame {"error":"Invalid token"}"#,
        ],
    ),
    (
        "ws.token-first",
        &[
            "good-token-first: GET /ws?token=",
            r#"expected: frame {"type":"authenticated""#,
        ],
    ),
    (
        "logs.token-redacted",
        &["expected: no token value in stdout or stderr"],
    ),
    (
        "first-message.auth",
        &[
            r#"then sent {"token":"#,
            r#"expected: frame {"type":"authenticated""#,
        ],
    ),
    (
        "first-message.in-order",
        &[r#"expected: frame {"boardId":"board-1","type":"joined","viewers":1}"#],
    ),
    (
        "first-message.not-auth",
        &[
            r#"then sent {"boardId":"board-1","type":"join"}"#,
            "expected: close 4001 'Unauthorized'",
        ],
    ),
    (
        "first-message.not-json",
        &["then sent hello", "expected: close 4001 'Unauthorized'"],
    ),
    (
        "first-message.wrong-token",
        &["expected: close 4001 'Invalid token'"],
    ),
    (
        "first-message.timeout",
        &["expected: close 4001 'Authentication timeout'"],
    ),
    (
        "server.bad-auth-timeout",
        &["a last stderr line naming AUTH_TIMEOUT_MS"],
    ),
    (
        "expiry.at-connect",
        &[r#"expected: frame {"error":"Session expired"}"#],
    ),
    (
        "expiry.while-connected",
        &["expected: close 4002 'Session expired'"],
    ),
    (
        "expiry.hour-old",
        &[
            r#"expected: frame {"error":"Session expired"}"#,
            r#"got: frame {"error":"Invalid session"}"#,
        ],
    ),
    (
        "expiry.expires-at",
        &["with no SESSION_TTL_SECS, log ", "+ 86400)"],
    ),
    (
        "logout.ok",
        &["expected: 204 with Set-Cookie: session=; Path=/; Max-Age=0"],
    ),
    (
        "logout.closes-sockets",
        &["expected: close 4002 'Session expired'"],
    ),
    (
        "rooms.forbidden",
        &[r#"expected: frame {"error":"Forbidden"}"#],
    ),
    (
        "rooms.close-by-server",
        &[
            r#"expected: frame {"type":"user_left""#,
            "got: no frame within",
        ],
    ),
    (
        "rooms.members",
        &[r#"expected: frame {"boardId":"board-2","type":"joined"}"#],
    ),
    (
        "tokens.survive-logout",
        &[
            "token-after-logout: GET /ws?token=",
            r#"expected: frame {"type":"authenticated""#,
        ],
    ),
    (
        "close.normal",
        &["then sent close 1000", "expected: close 1000"],
    ),
    ("close.too-big", &["(65537 bytes)", "expected: close 1009"]),
    (
        "shutdown.going-away",
        &[
            "anonymous: GET /ws (no cookie, no token)",
            "expected: close 1001 'Server shutting down'",
        ],
    ),
    (
        "origin.foreign",
        &[
            r#"expected: HTTP 403, Content-Type: application/json, body {"error":"Forbidden origin"}"#,
        ],
    ),
    (
        "origin.own",
        &[
            "Origin: HTTP://LOCALHOST:",
            "expected: the upgrade to succeed",
        ],
    ),
    (
        "origin.allowed",
        &[
            "Origin: https://app.example\n",
            "expected: the upgrade to succeed",
        ],
    ),
    (
        "origin.token-exempt",
        &[
            "Origin: http://evil.example",
            "expected: the upgrade to succeed",
        ],
    ),
    (
        "server.bad-ticket-ttl",
        &[
            "start the server with TICKET_TTL_SECS=0",
            "a last stderr line naming TICKET_TTL_SECS",
        ],
    ),
    (
        "tickets.issue",
        &[
            "request: POST /api/ws-ticket, empty body",
            r#"expected: 401 {"error":"Unauthorized"}"#,
        ],
    ),
    (
        "tickets.once",
        &[
            "again: GET /ws?ticket=",
            r#"expected: frame {"error":"Invalid ticket"}"#,
        ],
    ),
    (
        "tickets.invalid",
        &[
            "empty: GET /ws?ticket=, Cookie: session=",
            r#"expected: frame {"error":"Invalid ticket"}"#,
        ],
    ),
    (
        "tickets.expired",
        &[
            "late: GET /ws?ticket=",
            r#"expected: frame {"error":"Ticket expired"}"#,
        ],
    ),
    (
        "tickets.session-ended",
        &[
            "after-logout: GET /ws?ticket=",
            r#"expected: frame {"error":"Invalid ticket"}"#,
        ],
    ),
    (
        "tickets.race",
        &[
            "two upgrades at once with one ticket",
            "got: 2 authenticated, 0 Invalid ticket",
        ],
    ),
    (
        "tickets.logout-closes",
        &["GET /ws?ticket=", "expected: close 4002 'Session expired'"],
    ),
    (
        "bearer.ok",
        &["Authorization: bearer ", "expected: the upgrade to succeed"],
    ),
    (
        "bearer.invalid",
        &[
            r#"expected: HTTP 401, WWW-Authenticate: Bearer, body {"error":"Invalid token"}, no upgrade"#,
            "(WWW-Authenticate: none)",
        ],
    ),
    (
        "logs.ticket-redacted",
        &[
            "expected: no ticket or token value in stdout or stderr",
            "got: the valid ticket in the output",
        ],
    ),
    (
        "origin.ticket-exempt",
        &[
            "GET /ws?ticket=",
            "Origin: http://evil.example",
            "expected: the upgrade to succeed",
        ],
    ),
    (
        "page.served",
        &[
            "expected: scripts, styles and links from the same server only",
            "got: the page loads https://",
        ],
    ),
    (
        "server.bad-limit-settings",
        &[
            "request: start the server with MESSAGE_RATE=0",
            "a last stderr line naming MESSAGE_RATE",
        ],
    ),
    (
        "heartbeat.pings",
        &["expected: a ping within 500 ms (PING_INTERVAL_MS=200)"],
    ),
    (
        "heartbeat.silent-dropped",
        &[
            r#"expected: {"type":"user_left","user":{"id":"user-"#,
            r#""viewers":1} within"#,
            "got: no frame within",
        ],
    ),
    (
        "heartbeat.answering-kept",
        &[
            "expected: the socket to stay open",
            "got: close 1001 'Ping timeout'",
        ],
    ),
    (
        "recheck.deleted-user",
        &[r#"expected: frame {"error":"User not found"}"#],
    ),
    (
        "recheck.membership",
        &[r#"expected: frame {"error":"Forbidden"}"#],
    ),
    (
        "limits.sockets-per-user",
        &[
            "expected: close 1008 'Too many connections'",
            r#"got: frame {"type":"authenticated""#,
        ],
    ),
    (
        "limits.message-rate",
        &[
            r#"expected: frame {"error":"Rate limited"}"#,
            "got: close 1008",
        ],
    ),
    (
        "server.bad-redis-url",
        &[
            "request: start the server with REDIS_URL=",
            "a last stderr line naming REDIS_URL",
        ],
    ),
    (
        "cluster.rooms",
        &[
            r#"expected: frame {"type":"user_joined","user":{"id":"user-bob","name":"Bob"},"viewers":2}"#,
        ],
    ),
    (
        "cluster.viewers",
        &[
            r#"expected: frame {"boardId":"board-1","type":"joined","viewers":2}"#,
            r#"got: frame {"boardId":"board-1","type":"joined","viewers":1}"#,
        ],
    ),
    (
        "cluster.only-the-board",
        &[
            "carol@a",
            r#"got: frame {"type":"user_joined","user":{"id":"user-carol","name":"Carol"},"viewers":1}"#,
        ],
    ),
    (
        "cluster.ticket",
        &[
            "request: alice@b: GET /ws?ticket=",
            r#"got: frame {"error":"Invalid ticket"}"#,
        ],
    ),
    (
        "cluster.logout",
        &["expected: close 4002 'Session expired'"],
    ),
];

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
