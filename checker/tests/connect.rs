//! `checker connect` against a running solution server, driven the way a
//! student drives it: lines written to its stdin, its stdout read as it
//! prints, stdin closed at the end.
//!
//! Solution 8 is the first server that knows every approach (tickets and
//! the bearer header arrive in exercise 8). Each test starts one on a free
//! port and a fresh database, and every wait is bounded: a checker or a
//! server still running at the end of a test is killed, never left behind.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::Value;

mod support;

/// Generous for a loaded machine; a session takes well under a second.
const LIMIT: Duration = Duration::from_secs(30);

/// Solution 8, built by the same cargo that runs the tests.
fn solution_binary() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| support::build_binary("solutions", "solution-08"))
}

/// Every line a child prints, as it prints it; `None` once the pipe closed.
fn lines_of(pipe: impl Read + Send + 'static) -> Receiver<Option<String>> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            match line {
                Ok(line) => {
                    if sender.send(Some(line)).is_err() {
                        return;
                    }
                }
                Err(_) => break,
            }
        }
        let _ = sender.send(None);
    });
    receiver
}

/// A running solution server, killed when the test is done with it.
struct Server {
    child: Child,
    port: u16,
    _database: tempfile::TempDir,
}

impl Server {
    fn start() -> Server {
        let database = tempfile::tempdir().expect("a temporary directory");
        let mut child = Command::new(solution_binary())
            .env("PORT", "0")
            .env("DATABASE_PATH", database.path().join("board.sqlite"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the server starts");
        let lines = lines_of(child.stdout.take().expect("piped"));
        let first = lines.recv_timeout(LIMIT);
        let port = match &first {
            Ok(Some(line)) => line
                .strip_prefix("listening on http://127.0.0.1:")
                .and_then(|port| port.parse().ok()),
            _ => None,
        };
        let Some(port) = port else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the server did not print its listening line: {first:?}");
        };
        Server {
            child,
            port,
            _database: database,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `checker connect` as a child, with its stdin held by the test.
struct Connect {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Receiver<Option<String>>,
    stderr: Receiver<Option<String>>,
    printed: Vec<String>,
    deadline: Instant,
}

impl Connect {
    fn start(port: u16, args: &[&str]) -> Connect {
        let mut child = Command::new(env!("CARGO_BIN_EXE_checker"))
            .arg("connect")
            .args(["--port", &port.to_string()])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the checker starts");
        Connect {
            stdin: child.stdin.take(),
            stdout: lines_of(child.stdout.take().expect("piped")),
            stderr: lines_of(child.stderr.take().expect("piped")),
            child,
            printed: Vec::new(),
            deadline: Instant::now() + LIMIT,
        }
    }

    /// Waits for a printed frame (`← {...}`) that `wanted` accepts.
    fn expect_frame(&mut self, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        loop {
            let left = self.deadline.saturating_duration_since(Instant::now());
            match self.stdout.recv_timeout(left) {
                Ok(Some(line)) => {
                    self.printed.push(line.clone());
                    let frame = line
                        .strip_prefix("← ")
                        .and_then(|text| serde_json::from_str::<Value>(text).ok());
                    if let Some(frame) = frame.filter(|frame| wanted(frame)) {
                        return frame;
                    }
                }
                Ok(None) => self.fail(&format!("the output ended before {what}")),
                Err(RecvTimeoutError::Timeout) => self.fail(&format!("no {what} within {LIMIT:?}")),
                Err(RecvTimeoutError::Disconnected) => self.fail("the output reader stopped"),
            }
        }
    }

    fn type_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        writeln!(stdin, "{line}").expect("the checker reads stdin");
    }

    /// Closes stdin (or not), waits for the end of the output and the exit
    /// status, and returns both.
    fn finish(mut self, close_stdin: bool) -> (Option<i32>, String) {
        if close_stdin {
            drop(self.stdin.take());
        }
        loop {
            let left = self.deadline.saturating_duration_since(Instant::now());
            match self.stdout.recv_timeout(left) {
                Ok(Some(line)) => self.printed.push(line),
                Ok(None) => break,
                Err(_) => self.fail("the checker did not exit"),
            }
        }
        // The output ended, so the process is exiting: this wait is short.
        let status = self.child.wait().expect("waiting works");
        let mut output = self.printed.join("\n");
        while let Ok(Some(line)) = self.stderr.recv_timeout(Duration::from_secs(1)) {
            output.push_str(&format!("\nstderr: {line}"));
        }
        (status.code(), output)
    }

    fn fail(&mut self, why: &str) -> ! {
        let _ = self.child.kill();
        let _ = self.child.wait();
        panic!("{why}; printed so far:\n{}", self.printed.join("\n"));
    }
}

impl Drop for Connect {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn authenticated_as(name: &'static str) -> impl Fn(&Value) -> bool {
    move |frame| frame["type"] == "authenticated" && frame["user"]["name"] == name
}

#[test]
fn every_approach_authenticates_joins_and_closes_cleanly_at_the_end_of_input() {
    let server = Server::start();
    let approaches: [(&[&str], &str); 5] = [
        (&[], "Alice"),
        (&["--token", "--as", "bob"], "Bob"),
        (&["--first-message", "--as", "bob"], "Bob"),
        (&["--ticket"], "Alice"),
        (&["--bearer", "--as", "alice"], "Alice"),
    ];
    for (args, name) in approaches {
        let mut connect = Connect::start(server.port, args);
        connect.expect_frame("the authenticated frame", authenticated_as(name));
        connect.type_line(r#"{"type":"join","boardId":"board-1"}"#);
        let joined = connect.expect_frame("the join's answer", |frame| frame["type"] == "joined");
        assert_eq!(joined["boardId"], "board-1");
        let (code, output) = connect.finish(true);
        assert_eq!(code, Some(0), "{args:?}:\n{output}");
        assert!(
            output.contains("→ close 1000\n") && output.contains("← close 1000 ''"),
            "{args:?}: no close handshake at the end of input:\n{output}"
        );
    }
}

#[test]
fn a_close_from_the_server_is_printed_with_its_code_and_reason_and_ends_the_session() {
    let server = Server::start();
    // No credential: from exercise 5 on the server waits for an auth frame,
    // and anything else first closes the socket 4001.
    let mut connect = Connect::start(server.port, &["--no-credential"]);
    connect.type_line(r#"{"type":"join","boardId":"board-1"}"#);
    let (code, output) = connect.finish(false);
    assert_eq!(code, Some(0), "{output}");
    assert!(
        output.contains("← close 4001 'Unauthorized'"),
        "the close is not shown:\n{output}"
    );
}

#[test]
fn a_refused_upgrade_shows_the_status_and_the_body() {
    let server = Server::start();
    let connect = Connect::start(server.port, &["--origin", "http://evil.example"]);
    let (code, output) = connect.finish(true);
    assert_eq!(code, Some(1), "{output}");
    assert!(
        output.contains("← HTTP 403 Forbidden")
            && output.contains(r#"{"error":"Forbidden origin"}"#),
        "the refusal is not shown:\n{output}"
    );
}

#[test]
fn no_server_on_the_port_says_so() {
    // A port that was free a moment ago; nothing listens on it now.
    let port = std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let connect = Connect::start(port, &[]);
    let (code, output) = connect.finish(true);
    assert_eq!(code, Some(2), "{output}");
    assert!(
        output.contains("no server answered on 127.0.0.1:"),
        "{output}"
    );
}
