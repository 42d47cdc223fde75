//! Rows `requests.*`: a client may take only `REQUEST_TIMEOUT_MS` to send a
//! request's headers, and then as long again for its body (exercise 11).
//!
//! A slow client is written by hand on a plain TCP connection: an HTTP
//! client library would finish its request at once. The rows' servers run
//! with `REQUEST_TIMEOUT_MS=500`, and give the server a second more for
//! the checker's own scheduling.

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{Ctx, ensure};
use crate::client::seconds;
use crate::failure::Failure;
use crate::rows::{Row, Setup, check};

/// The rows' `REQUEST_TIMEOUT_MS`, as the setting and as the timeout.
const TIMEOUT_SETTING: (&str, &str) = ("REQUEST_TIMEOUT_MS", "500");
const TIMEOUT: Duration = Duration::from_millis(500);

/// How long after the timeout the server may take to act on it.
const SLACK: Duration = Duration::from_secs(1);

/// The rows this module grades, in the order they are reported.
pub(crate) static ROWS: &[Row] = &[
    Row {
        id: "requests.slow-headers",
        exercise: 11,
        retired_after: None,
        name: "a connection that sends half its headers, or nothing, is closed (or answered 408) within REQUEST_TIMEOUT_MS",
        book: "under-attack.md#timing-requests",
        setup: Setup::Server(&[TIMEOUT_SETTING]),
        hint: "board times the headers in the exercises; a server of your own gives its HTTP server a header timeout of REQUEST_TIMEOUT_MS (hyper's header_read_timeout, with a timer), which also ends a connection that never sends a request.",
        check: check!(slow_headers),
    },
    Row {
        id: "requests.stalled-body",
        exercise: 11,
        retired_after: None,
        name: "a request whose body stops coming is answered 408 Request timeout within REQUEST_TIMEOUT_MS",
        book: "under-attack.md#timing-requests",
        setup: Setup::Server(&[TIMEOUT_SETTING]),
        hint: "board times the body in the exercises; a server of your own reads a request's body under a deadline of REQUEST_TIMEOUT_MS and answers 408 {\"error\":\"Request timeout\"} when it passes, dropping what it had read.",
        check: check!(stalled_body),
    },
];

/// What came back on a hand-written connection within the limit.
enum Answer {
    /// The server ended the connection (having sent these bytes first).
    Closed(Vec<u8>),
    /// The connection was still open at the limit (with these bytes read).
    StillOpen(Vec<u8>),
}

/// Connects, writes `sent`, and reads until the server ends the connection,
/// a whole response has come, or `limit` has passed.
async fn hand_written(port: u16, sent: &[u8], limit: Duration) -> Result<Answer, Failure> {
    let request = describe(sent);
    let mut tcp = TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|error| Failure::new(request.as_str(), "a TCP connection", error.to_string()))?;
    tcp.write_all(sent)
        .await
        .map_err(|error| Failure::new(request.as_str(), "the bytes written", error.to_string()))?;
    let deadline = Instant::now() + limit;
    let mut read = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, tcp.read(&mut buffer)).await {
            Err(_) => return Ok(Answer::StillOpen(read)),
            Ok(Ok(0) | Err(_)) => return Ok(Answer::Closed(read)),
            Ok(Ok(count)) => {
                read.extend_from_slice(&buffer[..count]);
                if whole_response(&read) {
                    return Ok(Answer::Closed(read));
                }
            }
        }
    }
}

/// Whether `read` holds a response's headers and as much body as they
/// announce.
fn whole_response(read: &[u8]) -> bool {
    let text = String::from_utf8_lossy(read);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    let length = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    body.len() >= length
}

/// `POST /api/login ...` as the report shows a hand-written request.
fn describe(sent: &[u8]) -> String {
    if sent.is_empty() {
        return "a TCP connection that sends nothing".to_owned();
    }
    format!(
        "a TCP connection that sends {:?} and then nothing",
        String::from_utf8_lossy(sent)
    )
}

/// The status line and body of a response, or how the connection ended.
fn shown(read: &[u8]) -> String {
    if read.is_empty() {
        return "the connection closed without a response".to_owned();
    }
    let text = String::from_utf8_lossy(read);
    let status = text.lines().next().unwrap_or_default();
    let body = text.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    format!("{status} {body}").trim().to_owned()
}

pub(crate) async fn slow_headers(ctx: Ctx) -> Result<(), Failure> {
    let limit = TIMEOUT + SLACK;
    let cases: [&[u8]; 2] = [
        b"POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty",
        b"",
    ];
    for sent in cases {
        let request = describe(sent);
        let expected = format!(
            "the connection closed, or 408 and closed, within {} (REQUEST_TIMEOUT_MS=500)",
            seconds(limit)
        );
        match hand_written(ctx.port(), sent, limit).await? {
            Answer::Closed(read) => ensure(
                read.is_empty() || read.starts_with(b"HTTP/1.1 408"),
                request.as_str(),
                expected,
                shown(&read),
            )?,
            Answer::StillOpen(read) => {
                return Err(Failure::new(
                    request.as_str(),
                    expected,
                    format!(
                        "the connection still open after {}{}",
                        seconds(limit),
                        if read.is_empty() {
                            String::new()
                        } else {
                            format!(", after {}", shown(&read))
                        }
                    ),
                ));
            }
        }
    }
    Ok(())
}

pub(crate) async fn stalled_body(ctx: Ctx) -> Result<(), Failure> {
    let limit = TIMEOUT + SLACK;
    let sent = b"POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"username\":";
    let request = describe(sent);
    let expected = format!(
        "408 {} within {} (REQUEST_TIMEOUT_MS=500)",
        json!({"error": "Request timeout"}),
        seconds(limit)
    );
    let read = match hand_written(ctx.port(), sent, limit).await? {
        Answer::Closed(read) => read,
        Answer::StillOpen(read) if read.is_empty() => {
            return Err(Failure::new(
                request.as_str(),
                expected,
                format!("no response within {}", seconds(limit)),
            ));
        }
        Answer::StillOpen(read) => read,
    };
    let text = String::from_utf8_lossy(&read);
    let body = text
        .split_once("\r\n\r\n")
        .and_then(|(_, body)| serde_json::from_str::<serde_json::Value>(body).ok());
    ensure(
        read.starts_with(b"HTTP/1.1 408") && body == Some(json!({"error": "Request timeout"})),
        request.as_str(),
        expected,
        shown(&read),
    )
}
