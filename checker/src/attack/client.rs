//! Running a student's attack client: the binary an attack lab builds from
//! `attacks/` (or `solutions/attacks/`), started against the row's server.
//!
//! The client's contract is deliberately small, so that its code is the
//! attack and nothing else: it reads where to connect and the credential it
//! attacks with from its environment, and prints every text frame it
//! receives on a line of its own, as received, and a close as `close CODE`.
//! The checker reads those lines (stdout and stderr, which shows a panic at
//! an unwritten stub) into the row's transcript, so a failed row shows what
//! the client saw.
//!
//! The process is killed when the [`Client`] is dropped, whichever way the
//! row ends, and every wait on it has a deadline: a lab never hangs on a
//! client that never exits.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::checks::Ctx;
use crate::failure::Failure;

/// A running attack client and the lines it has printed.
pub(super) struct Client {
    /// Held for its `kill_on_drop`.
    _child: Child,
    lines: mpsc::UnboundedReceiver<String>,
    /// Every line read so far, for [`Client::panic`].
    seen: Vec<String>,
}

impl Client {
    /// Starts the row's attack client with `env` (and nothing of the
    /// checker's own settings: the server's variables are not its business).
    pub(super) fn start(ctx: &Ctx, env: &[(&str, String)]) -> Result<Client, Failure> {
        let path = ctx
            .env()
            .attack
            .as_deref()
            .expect("attack rows run with an attack client");
        let described = describe(path, env);
        let mut child = Command::new(path)
            .envs(env.iter().map(|(name, value)| (name, value)))
            // A panic at the stub is reported by its message; a backtrace
            // in the row's transcript would bury it.
            .env_remove("RUST_BACKTRACE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|error| {
                Failure::new(
                    described.clone(),
                    "a running attack client",
                    error.to_string(),
                )
            })?;
        ctx.note(&format!("attack: started {described}"));
        let (sender, lines) = mpsc::unbounded_channel();
        forward(
            child.stdout.take().expect("stdout is piped"),
            "",
            sender.clone(),
        );
        forward(
            child.stderr.take().expect("stderr is piped"),
            "stderr| ",
            sender,
        );
        Ok(Client {
            _child: child,
            lines,
            seen: Vec::new(),
        })
    }

    /// Waits up to `limit` for a line that `wanted` accepts, noting every
    /// line read in the row's transcript. `None` when the limit passed or
    /// the client exited first.
    pub(super) async fn wait_for(
        &mut self,
        ctx: &Ctx,
        limit: Duration,
        mut wanted: impl FnMut(&str) -> bool,
    ) -> Option<String> {
        let deadline = Instant::now() + limit;
        loop {
            let line = tokio::time::timeout_at(deadline, self.lines.recv())
                .await
                .ok()??;
            ctx.note(&format!("attack ← {line}"));
            self.seen.push(line.clone());
            if wanted(&line) {
                return Some(line);
            }
        }
    }

    /// Every line the client prints until it exits, or until `limit`.
    pub(super) async fn until_exit(&mut self, ctx: &Ctx, limit: Duration) -> Vec<String> {
        let mut lines = Vec::new();
        self.wait_for(ctx, limit, |line| {
            lines.push(line.to_owned());
            false
        })
        .await;
        lines
    }
}

impl Client {
    /// Where and why the client panicked, if it did: Rust prints the place
    /// on one line and the message (a stub's `todo!`) on the next.
    pub(super) fn panic(&self) -> Option<String> {
        let at = self
            .seen
            .iter()
            .position(|line| line.contains(" panicked at "))?;
        let place = self.seen[at].trim_start_matches("stderr| ");
        let message = self
            .seen
            .get(at + 1)
            .map_or("", |line| line.trim_start_matches("stderr| "));
        Some(format!("your client panicked: {place} {message}"))
    }
}

/// Whether `line` is the JSON frame `expected`.
pub(super) fn is_frame(line: &str, expected: &Value) -> bool {
    serde_json::from_str::<Value>(line).is_ok_and(|frame| frame == *expected)
}

/// Sends each line of `stream` to `sender`, with `prefix`, until it closes
/// (the client exits or is killed).
fn forward(
    stream: impl AsyncRead + Unpin + Send + 'static,
    prefix: &'static str,
    sender: mpsc::UnboundedSender<String>,
) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if sender.send(format!("{prefix}{line}")).is_err() {
                break;
            }
        }
    });
}

/// `NAME=value ... path`, the way to run the client by hand.
fn describe(path: &Path, env: &[(&str, String)]) -> String {
    let mut words: Vec<String> = env
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    words.push(path.display().to_string());
    words.join(" ")
}
