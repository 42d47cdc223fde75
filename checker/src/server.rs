//! Starting, watching and stopping the server under test.
//!
//! Every server runs in a process group of its own, so that a signal reaches
//! the server even when it was started through `sh -c`, and so that nothing it
//! forked can outlive the checker: stopping sends SIGTERM to the whole group,
//! waits a bounded time, then sends SIGKILL. A registry of live groups lets
//! the Ctrl-C handler and every exit path kill whatever is still running, and
//! dropping a [`Server`] kills its group too, so a panicking check leaves no
//! process behind.
//!
//! The server's stdout and stderr are read continuously into one buffer in
//! arrival order: a check reads the logs from it, and a failing row shows its
//! tail as `server| ` lines.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command;
use tokio::sync::{Notify, oneshot, watch};
use tokio::time::timeout;

/// The settings of PROTOCOL's "Starting a server" table. The caller's own
/// values are removed so that a developer's shell cannot change a row.
pub const SETTINGS: [&str; 5] = [
    "PORT",
    "DATABASE_PATH",
    "SESSION_TTL_SECS",
    "AUTH_TIMEOUT_MS",
    "ALLOWED_ORIGINS",
];

/// How long a server gets to exit after SIGTERM before its group is killed
/// (PROTOCOL: a server exits within 2 seconds of SIGTERM).
pub const STOP_GRACE: Duration = Duration::from_secs(2);

/// How many lines of server output a diagnosis shows.
const SHOWN_OUTPUT_LINES: usize = 25;

/// Lines kept per server; a runaway logger cannot exhaust memory.
const KEPT_OUTPUT_LINES: usize = 20_000;

/// Process groups that may still have members.
static LIVE_GROUPS: Mutex<Option<HashSet<i32>>> = Mutex::new(None);

fn live_groups() -> MutexGuard<'static, Option<HashSet<i32>>> {
    // A poisoned lock only means a thread panicked while holding it; the set
    // itself is still valid and killing the groups matters more.
    LIVE_GROUPS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// How many servers have been spawned and not yet reaped (waited for).
static UNREAPED: LazyLock<watch::Sender<usize>> = LazyLock::new(|| watch::Sender::new(0));

/// Waits, at most `limit`, until every server the checker spawned has been
/// reaped, so that none is left behind as a zombie when the checker exits.
pub async fn all_reaped(limit: Duration) {
    let mut unreaped = UNREAPED.subscribe();
    let _ = tokio::time::timeout(limit, unreaped.wait_for(|count| *count == 0)).await;
}

/// Kills every process group the checker started and has not stopped yet.
/// Called on Ctrl-C and before the checker exits.
pub fn kill_all_live() {
    let groups: Vec<i32> = live_groups()
        .as_mut()
        .map(|set| set.drain().collect())
        .unwrap_or_default();
    for pgid in groups {
        let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
    }
}

/// What to run as a server.
#[derive(Clone, Debug)]
pub enum Program {
    /// A binary built by the checker; it runs in the workspace root.
    Binary(PathBuf),
    /// `--server-cmd`: run through `sh -c` in the checker's own directory.
    Shell(String),
}

/// Which pipe a line of output came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// Everything a server printed, in arrival order.
#[derive(Default)]
struct OutputLog {
    lines: Vec<(Stream, String)>,
    closed_pipes: usize,
}

/// Why a server could not be brought up: one line, and the output to show.
#[derive(Debug)]
pub struct StartFailure {
    pub summary: String,
    pub output: Vec<String>,
}

impl StartFailure {
    /// The failure of the row that tried to start the server.
    pub fn into_row_failure(self, request: String) -> crate::report::Failure {
        let label = if self.output.is_empty() {
            "it printed nothing"
        } else {
            "its output"
        };
        crate::report::Failure::new(
            request,
            "`listening on http://127.0.0.1:PORT` as the first stdout line",
            self.summary,
        )
        .with_diagnosis(label.to_owned(), self.output)
    }
}

/// A running (or finished) server process and everything known about it.
pub struct Server {
    pgid: i32,
    port: u16,
    output: Arc<Mutex<OutputLog>>,
    output_changed: Arc<Notify>,
    status: watch::Receiver<Option<ExitStatus>>,
    /// Set once the checker itself signalled the group, so that an exit it
    /// caused is not reported as a crash.
    signalled: AtomicBool,
}

/// Where and how to start a server; one per server instance.
pub struct Launch<'a> {
    pub program: &'a Program,
    pub database_path: &'a Path,
    pub settings: &'a [(String, String)],
    pub start_timeout: Duration,
}

/// A process that was spawned but whose listening line has not been judged.
pub struct Spawned {
    server: Server,
    first_line: oneshot::Receiver<Option<String>>,
}

impl Spawned {
    /// Gives access to the process without waiting for the listening line
    /// (the bad-settings rows expect it never to come).
    pub fn server(&self) -> &Server {
        &self.server
    }

    /// Waits for the first stdout line and checks it is the listening line.
    pub async fn listening(mut self, start_timeout: Duration) -> Result<Server, StartFailure> {
        let first = match timeout(start_timeout, &mut self.first_line).await {
            Err(_) => {
                let summary = format!(
                    "the server did not print `listening on http://127.0.0.1:PORT` within {} s",
                    start_timeout.as_secs_f64()
                );
                return Err(self.server.start_failure(summary).await);
            }
            Ok(line) => line.ok().flatten(),
        };
        let Some(first) = first else {
            let status = self.server.wait_exit(STOP_GRACE).await;
            let summary = match status {
                Some(status) => format!(
                    "the server exited before printing the listening line ({})",
                    describe_status(status)
                ),
                None => {
                    "the server closed its stdout before printing the listening line".to_owned()
                }
            };
            return Err(self.server.start_failure(summary).await);
        };
        match parse_listening_line(&first) {
            Some(port) => {
                self.server.port = port;
                Ok(self.server)
            }
            None => {
                let summary = format!(
                    "the server printed something else first: {first:?} (expected `listening on http://127.0.0.1:PORT`)"
                );
                Err(self.server.start_failure(summary).await)
            }
        }
    }
}

/// Spawns a server in a process group of its own, with a clean set of
/// settings, and starts collecting its output.
pub fn spawn(launch: &Launch<'_>) -> Result<Spawned, StartFailure> {
    let mut command = match launch.program {
        Program::Binary(path) => {
            let mut command = Command::new(path);
            command.current_dir(crate::cargo::workspace_root());
            command
        }
        Program::Shell(line) => {
            let mut command = Command::new("sh");
            command.arg("-c").arg(line);
            command
        }
    };
    for name in SETTINGS {
        command.env_remove(name);
    }
    command
        .env("PORT", "0")
        .env("DATABASE_PATH", launch.database_path)
        .envs(launch.settings.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = command.spawn().map_err(|error| StartFailure {
        summary: format!(
            "could not start the server ({}): {error}",
            describe_program(launch.program)
        ),
        output: Vec::new(),
    })?;
    let pgid = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .expect("a just-spawned child has a pid");
    live_groups().get_or_insert_with(HashSet::new).insert(pgid);

    let output = Arc::new(Mutex::new(OutputLog::default()));
    let output_changed = Arc::new(Notify::new());
    let (first_tx, first_rx) = oneshot::channel();
    if let Some(stdout) = child.stdout.take() {
        tokio::spawn(collect(
            stdout,
            Stream::Stdout,
            output.clone(),
            output_changed.clone(),
            Some(first_tx),
        ));
    }
    if let Some(stderr) = child.stderr.take() {
        tokio::spawn(collect(
            stderr,
            Stream::Stderr,
            output.clone(),
            output_changed.clone(),
            None,
        ));
    }
    let (status_tx, status_rx) = watch::channel(None);
    UNREAPED.send_modify(|count| *count += 1);
    tokio::spawn(async move {
        let status = child.wait().await.ok();
        UNREAPED.send_modify(|count| *count -= 1);
        let _ = status_tx.send(status);
    });
    Ok(Spawned {
        server: Server {
            pgid,
            port: 0,
            output,
            output_changed,
            status: status_rx,
            signalled: AtomicBool::new(false),
        },
        first_line: first_rx,
    })
}

/// Reads one pipe line by line into the shared log. The first stdout line is
/// also handed to whoever waits for the listening line; `None` means the pipe
/// closed before any line.
async fn collect(
    pipe: impl AsyncRead + Unpin,
    stream: Stream,
    output: Arc<Mutex<OutputLog>>,
    changed: Arc<Notify>,
    mut first_line: Option<oneshot::Sender<Option<String>>>,
) {
    let mut reader = BufReader::new(pipe);
    let mut buffer = Vec::new();
    loop {
        buffer.clear();
        match reader.read_until(b'\n', &mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let line = String::from_utf8_lossy(&buffer)
            .trim_end_matches(['\n', '\r'])
            .to_owned();
        if let Some(sender) = first_line.take() {
            let _ = sender.send(Some(line.clone()));
        }
        {
            let mut log = lock(&output);
            if log.lines.len() >= KEPT_OUTPUT_LINES {
                log.lines.remove(0);
            }
            log.lines.push((stream, line));
        }
        changed.notify_waiters();
    }
    if let Some(sender) = first_line.take() {
        let _ = sender.send(None);
    }
    lock(&output).closed_pipes += 1;
    changed.notify_waiters();
}

fn lock(output: &Mutex<OutputLog>) -> MutexGuard<'_, OutputLog> {
    output
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

const BACKTRACE_OMITTED: &str = "(backtrace omitted)";

/// `  12: tokio::runtime::...` and `             at /path/file.rs:1:2`.
fn is_backtrace_line(line: &str) -> bool {
    let trimmed = line.trim_start();
    let indented = trimmed.len() < line.len();
    let frame = trimmed.split_once(": ").is_some_and(|(number, _)| {
        !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit())
    });
    indented && (frame || trimmed.starts_with("at ")) || line == "stack backtrace:"
}

/// Parses `listening on http://127.0.0.1:PORT`, the exact first line that
/// PROTOCOL asks for, and returns a usable (non-zero) port.
pub fn parse_listening_line(line: &str) -> Option<u16> {
    let port = line.strip_prefix("listening on http://127.0.0.1:")?;
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    port.parse::<u16>().ok().filter(|&port| port != 0)
}

impl Server {
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The exit status, if the process has exited.
    pub fn exit_status(&self) -> Option<ExitStatus> {
        *self.status.borrow()
    }

    /// Waits up to `limit` for the process to exit.
    pub async fn wait_exit(&self, limit: Duration) -> Option<ExitStatus> {
        let mut status = self.status.clone();
        timeout(limit, status.wait_for(Option::is_some))
            .await
            .ok()
            .and_then(|result| result.ok().and_then(|status| *status))
    }

    /// Waits (bounded) until both pipes are closed, so that the last lines a
    /// process printed before exiting are in the log.
    pub async fn wait_output_closed(&self, limit: Duration) {
        let _ = timeout(limit, async {
            loop {
                let notified = self.output_changed.notified();
                if lock(&self.output).closed_pipes >= 2 {
                    return;
                }
                notified.await;
            }
        })
        .await;
    }

    /// Waits (bounded) until the output contains `needle`.
    pub async fn wait_output_contains(&self, needle: &str, limit: Duration) -> bool {
        timeout(limit, async {
            loop {
                let notified = self.output_changed.notified();
                if self.all_output().contains(needle) {
                    return;
                }
                notified.await;
            }
        })
        .await
        .is_ok()
    }

    /// Every line printed so far on both streams, joined by newlines.
    pub fn all_output(&self) -> String {
        let log = lock(&self.output);
        let mut text = String::new();
        for (_, line) in &log.lines {
            text.push_str(line);
            text.push('\n');
        }
        text
    }

    /// The last stderr line that is not blank.
    pub fn last_stderr_line(&self) -> Option<String> {
        lock(&self.output)
            .lines
            .iter()
            .rev()
            .find(|(stream, line)| *stream == Stream::Stderr && !line.trim().is_empty())
            .map(|(_, line)| line.clone())
    }

    /// The tail of the output, as shown under a diagnosis. Backtrace frames
    /// (printed when the caller has RUST_BACKTRACE set) are left out: the
    /// panic line and the server's own logs say more in fewer lines.
    pub fn output_tail(&self) -> Vec<String> {
        let log = lock(&self.output);
        let mut shown: Vec<String> = Vec::new();
        for (_, line) in &log.lines {
            if is_backtrace_line(line) {
                if shown.last().is_none_or(|last| last != BACKTRACE_OMITTED) {
                    shown.push(BACKTRACE_OMITTED.to_owned());
                }
            } else {
                shown.push(line.clone());
            }
        }
        let skip = shown.len().saturating_sub(SHOWN_OUTPUT_LINES);
        shown.split_off(skip)
    }

    /// The panic the output shows, if any: `: a todo!() stub was reached
    /// (<panic line>)` or ` (<panic line>)`.
    fn panic_note(&self) -> Option<String> {
        let output = self.all_output();
        let mut lines = output.lines();
        let panic_line = lines.find(|line| line.contains("panicked at"))?.trim();
        // Since Rust 1.73 the panic message is on the line after the location.
        let message = lines
            .next()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with("note:"));
        let todo = if output.contains("not yet implemented") {
            ": a todo!() stub was reached"
        } else {
            ""
        };
        match message {
            Some(message) if panic_line.ends_with(':') => {
                Some(format!("{todo} ({panic_line} {message})"))
            }
            _ => Some(format!("{todo} ({panic_line})")),
        }
    }

    /// Whether the server stopped or panicked on its own during a row: one
    /// line saying so, or `None` when it looks healthy.
    pub fn trouble(&self) -> Option<String> {
        let exited = self
            .exit_status()
            .filter(|_| !self.signalled.load(Ordering::SeqCst));
        let note = self.panic_note();
        let summary = match (exited, &note) {
            (Some(status), _) => format!(
                "the server exited during the row ({})",
                describe_status(status)
            ),
            (None, Some(_)) => "the server panicked during the row".to_owned(),
            (None, None) => return None,
        };
        Some(summary + note.as_deref().unwrap_or_default())
    }

    /// Sends a signal to the whole process group.
    pub fn signal(&self, signal: Signal) {
        self.signalled.store(true, Ordering::SeqCst);
        let _ = killpg(Pid::from_raw(self.pgid), signal);
    }

    /// SIGTERM, up to [`STOP_GRACE`] to exit, then SIGKILL. Returns the exit
    /// status if the process exited within the grace period.
    pub async fn stop(&self) -> Option<ExitStatus> {
        if self.exit_status().is_none() {
            self.signal(Signal::SIGTERM);
        }
        let status = self.wait_exit(STOP_GRACE).await;
        self.kill();
        status
    }

    /// Ends a server whose row is over: SIGKILL at once (its graceful
    /// shutdown is graded by its own row, not after every row), then a
    /// moment to reap it.
    pub async fn discard(&self) {
        self.kill();
        self.wait_exit(Duration::from_millis(500)).await;
    }

    /// SIGKILL to the group, which also ends anything the server forked.
    /// Only once: a group that left the registry was killed already.
    fn kill(&self) {
        let live = live_groups()
            .as_mut()
            .is_some_and(|set| set.remove(&self.pgid));
        if live {
            self.signal(Signal::SIGKILL);
        }
    }

    async fn start_failure(&self, mut summary: String) -> StartFailure {
        // The process is of no further use; kill it and give the pipes a
        // moment to deliver the last lines it printed.
        self.kill();
        self.wait_output_closed(Duration::from_millis(500)).await;
        if let Some(note) = self.panic_note() {
            summary.push_str(&note);
        }
        StartFailure {
            summary,
            output: self.output_tail(),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts a server and waits for its listening line.
pub async fn start(launch: &Launch<'_>) -> Result<Server, StartFailure> {
    spawn(launch)?.listening(launch.start_timeout).await
}

/// "exit code 1", "killed by SIGABRT" and the like.
pub fn describe_status(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(signal)) => match Signal::try_from(signal) {
            Ok(signal) => format!("killed by {signal}"),
            Err(_) => format!("killed by signal {signal}"),
        },
        (None, None) => status.to_string(),
    }
}

fn describe_program(program: &Program) -> String {
    match program {
        Program::Binary(path) => path.display().to_string(),
        Program::Shell(line) => format!("sh -c {line:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_backtrace_lines() {
        assert!(is_backtrace_line("stack backtrace:"));
        assert!(is_backtrace_line("  12: tokio::runtime::task::raw::poll"));
        assert!(is_backtrace_line(
            "             at /rustc/abc/library/std/src/panic.rs:359:14"
        ));
        assert!(!is_backtrace_line(
            "thread 'main' panicked at src/main.rs:3:5:"
        ));
        assert!(!is_backtrace_line("not yet implemented"));
        assert!(!is_backtrace_line(
            "2026-11-25T10:00:00Z  INFO request: GET /ws"
        ));
    }

    #[test]
    fn listening_line_is_exact() {
        assert_eq!(
            parse_listening_line("listening on http://127.0.0.1:4000"),
            Some(4000)
        );
        assert_eq!(
            parse_listening_line("listening on http://127.0.0.1:0"),
            None
        );
        assert_eq!(parse_listening_line("listening on http://127.0.0.1:"), None);
        assert_eq!(
            parse_listening_line("listening on http://127.0.0.1:70000"),
            None
        );
        assert_eq!(
            parse_listening_line("listening on http://localhost:4000"),
            None
        );
        assert_eq!(
            parse_listening_line("Listening on http://127.0.0.1:4000"),
            None
        );
        assert_eq!(
            parse_listening_line("listening on http://127.0.0.1:4000/"),
            None
        );
        assert_eq!(
            parse_listening_line("listening on http://127.0.0.1:+40"),
            None
        );
    }
}
