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
//!
//! `groups` keeps the registry of live process groups, `output` the
//! captured output and what it reveals (a panic, a backtrace to omit).

mod diagnosis;
mod groups;
pub(crate) mod memory;
mod output;

use groups::{UNREAPED, live_groups};
pub(crate) use groups::{all_reaped, kill_all_live};
pub(crate) use output::Stream;
pub(crate) use output::parse_listening_line;
use output::{OutputLog, collect, lock};

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::process::Command;
use tokio::sync::{Notify, oneshot, watch};
use tokio::time::timeout;

/// The settings of the contract's "Starting a server" table. The caller's own
/// values are removed so that a developer's shell cannot change a row.
pub(crate) const SETTINGS: [&str; 10] = [
    "PORT",
    "DATABASE_PATH",
    "SESSION_TTL_SECS",
    "AUTH_TIMEOUT_MS",
    "ALLOWED_ORIGINS",
    "TICKET_TTL_SECS",
    "PING_INTERVAL_MS",
    "MAX_SOCKETS_PER_USER",
    "MESSAGE_RATE",
    "REDIS_URL",
];

/// How long a server gets to exit after SIGTERM before its group is killed
/// (the contract: a server exits within 2 seconds of SIGTERM).
pub(crate) const STOP_GRACE: Duration = Duration::from_secs(2);

/// What to run as a server.
#[derive(Clone, Debug)]
pub enum Program {
    /// A binary built by the checker; it runs in the workspace root.
    Binary(PathBuf),
    /// `--server-cmd`: run through `sh -c` in the checker's own directory.
    Shell(String),
}

/// Why a server could not be brought up: one line, and the output to show.
#[derive(Debug)]
pub struct StartFailure {
    pub summary: String,
    pub output: Vec<String>,
}

impl StartFailure {
    /// The failure of the row that tried to start the server.
    pub fn into_row_failure(self, request: String) -> crate::failure::Failure {
        let label = if self.output.is_empty() {
            "it printed nothing"
        } else {
            "its output"
        };
        crate::failure::Failure::new(
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
    /// glibc's allocator settings (`GLIBC_TUNABLES`) for a server that is
    /// measured, not graded; a graded server runs with the environment's.
    pub malloc: Option<&'static str>,
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

    /// The process, for a program that prints no listening line (Redis).
    pub fn into_server(self) -> Server {
        self.server
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
pub(crate) fn spawn(launch: &Launch<'_>) -> Result<Spawned, StartFailure> {
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
    if let Some(malloc) = launch.malloc
        && std::env::var_os("GLIBC_TUNABLES").is_none()
    {
        command.env("GLIBC_TUNABLES", malloc);
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

impl Server {
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's process group (its id is the spawned process's pid):
    /// `checker bench` reads the CPU and memory of its members.
    pub fn pgid(&self) -> i32 {
        self.pgid
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
pub(crate) async fn start(launch: &Launch<'_>) -> Result<Server, StartFailure> {
    spawn(launch)?.listening(launch.start_timeout).await
}

/// "exit code 1", "killed by SIGABRT" and the like.
pub(crate) fn describe_status(status: ExitStatus) -> String {
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
