//! The two clients a row talks to a server with: plain HTTP/1.1 requests on
//! hyper, and WebSocket connections on tokio-tungstenite.
//!
//! Both describe what they sent in the words of a report (`POST /api/login`,
//! `alice → {"type":"join",...}`), and every WebSocket frame in either
//! direction is appended to the row's transcript, so a failing row can show
//! the whole exchange. Every wait is bounded: a request or an upgrade gets
//! [`REQUEST_LIMIT`], a frame [`FRAME_LIMIT`] unless a row says otherwise.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};

use crate::json::matches;
use crate::report::Failure;

/// How long a server gets to answer an HTTP request or an upgrade.
pub const REQUEST_LIMIT: Duration = Duration::from_secs(5);

/// How long the checker waits for an expected frame.
pub const FRAME_LIMIT: Duration = Duration::from_secs(2);

/// Where nothing can be used as a probe (exercises 1 and 2 have no message
/// handling), "nothing more arrives" is checked by waiting this long.
pub const QUIET_LIMIT: Duration = Duration::from_millis(300);

/// A frame that no server knows; its answer, as the very next frame, proves
/// that nothing else was queued for that socket before it.
pub fn probe() -> Value {
    json!({"type": "probe"})
}

fn probe_answer() -> Value {
    json!({"error": "Unknown message type"})
}

/// The frames of one row, in the order the checker saw them.
#[derive(Clone, Default)]
pub struct Transcript(Arc<Mutex<Vec<String>>>);

impl Transcript {
    pub fn push(&self, line: String) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(line);
    }

    pub fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// An HTTP request as a row builds it.
#[derive(Clone, Debug)]
pub struct Request {
    method: &'static str,
    path: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Request {
    pub fn get(path: &str) -> Self {
        Request {
            method: "GET",
            path: path.to_owned(),
            headers: Vec::new(),
            body: String::new(),
        }
    }

    pub fn post(path: &str) -> Self {
        Request {
            method: "POST",
            path: path.to_owned(),
            headers: Vec::new(),
            body: String::new(),
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn cookie(self, session: &str) -> Self {
        self.header("Cookie", &format!("session={session}"))
    }

    /// A JSON body with `Content-Type: application/json`.
    pub fn json(self, body: &Value) -> Self {
        self.header("Content-Type", "application/json")
            .body(&body.to_string())
    }

    pub fn body(mut self, body: &str) -> Self {
        self.body = body.to_owned();
        self
    }

    /// `POST /api/login, Content-Type: application/json, body {...}`.
    pub fn describe(&self) -> String {
        let mut text = format!("{} {}", self.method, self.path);
        for (name, value) in &self.headers {
            text.push_str(&format!(", {name}: {value}"));
        }
        if !self.body.is_empty() {
            text.push_str(&format!(", body {}", shorten(&self.body)));
        } else if self.method == "POST" {
            text.push_str(", empty body");
        }
        text
    }

    /// Sends the request on a connection of its own (no pooling: a pooled
    /// idle connection would outlive a server the row restarts).
    pub async fn send(&self, port: u16) -> Result<Response, Failure> {
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(0)
            .build_http::<Full<Bytes>>();
        let mut builder = hyper::Request::builder()
            .method(self.method)
            .uri(format!("http://127.0.0.1:{port}{}", self.path));
        for (name, value) in &self.headers {
            builder = builder.header(name, value);
        }
        let request = builder
            .body(Full::new(Bytes::from(self.body.clone())))
            .expect("rows build valid requests");
        let failure = |got: String| Failure::new(self.describe(), "an HTTP response", got);
        let exchange = async {
            let response = client
                .request(request)
                .await
                .map_err(|e| format!("the request failed: {}", with_sources(&e)))?;
            let status = response.status().as_u16();
            let headers = response
                .headers()
                .iter()
                .map(|(name, value)| {
                    (
                        name.as_str().to_owned(),
                        String::from_utf8_lossy(value.as_bytes()).into_owned(),
                    )
                })
                .collect();
            // A 101 answer has no body to read: the connection now belongs
            // to the WebSocket, and this client simply drops it.
            let body = if status == 101 {
                Bytes::new()
            } else {
                response
                    .into_body()
                    .collect()
                    .await
                    .map_err(|e| format!("reading the body failed: {e}"))?
                    .to_bytes()
            };
            Ok::<_, String>(Response {
                status,
                headers,
                body: String::from_utf8_lossy(&body).into_owned(),
            })
        };
        match timeout(REQUEST_LIMIT, exchange).await {
            Err(_) => {
                Err(failure(format!("no response within {} s", REQUEST_LIMIT.as_secs())).hung())
            }
            Ok(Err(got)) => Err(failure(got)),
            Ok(Ok(response)) => Ok(response),
        }
    }
}

/// `client error (SendRequest): connection closed before message completed`:
/// hyper's own message names only the outermost layer.
fn with_sources(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

/// An HTTP response, as far as rows look at it.
#[derive(Clone, Debug)]
pub struct Response {
    pub status: u16,
    headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn headers_named(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.body).ok()
    }

    /// `401 {"error":"Unauthorized"}`.
    pub fn describe(&self) -> String {
        if self.body.is_empty() {
            format!("{} with an empty body", self.status)
        } else {
            format!("{} {}", self.status, shorten(&self.body))
        }
    }

    /// Whether the status is `status` and the body is JSON matching `body`.
    pub fn is(&self, status: u16, body: &Value) -> bool {
        self.status == status && self.json().is_some_and(|got| matches(body, &got))
    }
}

/// Long bodies and frames (the 64 KiB ones) are cut in reports.
fn shorten(text: &str) -> String {
    const SHOWN: usize = 120;
    if text.len() <= SHOWN {
        return text.to_owned();
    }
    let mut cut = SHOWN;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}… ({} bytes)", &text[..cut], text.len())
}

/// What a socket's upgrade request carries.
#[derive(Clone, Debug, Default)]
pub struct Upgrade {
    path: String,
    headers: Vec<(String, String)>,
}

impl Upgrade {
    /// `GET /ws` with no credential.
    pub fn bare() -> Self {
        Upgrade {
            path: "/ws".to_owned(),
            headers: Vec::new(),
        }
    }

    pub fn cookie(session: &str) -> Self {
        Upgrade::bare().header("Cookie", &format!("session={session}"))
    }

    /// `GET /ws?token=<token>`; the token is put in the URL as given.
    pub fn token(token: &str) -> Self {
        Upgrade {
            path: format!("/ws?token={token}"),
            headers: Vec::new(),
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn describe(&self) -> String {
        let mut text = format!("GET {}", self.path);
        for (name, value) in &self.headers {
            text.push_str(&format!(", {name}: {value}"));
        }
        if self.headers.is_empty() && !self.path.contains('?') {
            text.push_str(" (no cookie, no token)");
        }
        text
    }

    /// The same upgrade as a plain HTTP request, for rows that expect it to
    /// be refused with an HTTP answer instead of a socket.
    pub fn as_http_request(&self) -> Request {
        let mut request = Request::get(&self.path)
            .header("Connection", "Upgrade")
            .header("Upgrade", "websocket")
            .header("Sec-WebSocket-Version", "13")
            .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==");
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        request
    }
}

/// Something that happened on a socket, as a report names it.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    Text(String),
    Binary(usize),
    Close(Option<(u16, String)>),
    /// The connection ended without a close frame (or failed).
    Ended(String),
    Silence(Duration),
}

impl Event {
    pub fn json(&self) -> Option<Value> {
        match self {
            Event::Text(text) => serde_json::from_str(text).ok(),
            _ => None,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Event::Text(text) => format!("frame {}", shorten(text)),
            Event::Binary(len) => format!("a binary frame of {len} bytes"),
            Event::Close(Some((code, reason))) => format!("close {code} '{reason}'"),
            Event::Close(None) => "a close frame without a code".to_owned(),
            Event::Ended(how) => how.clone(),
            Event::Silence(limit) => format!("no frame within {}", seconds(*limit)),
        }
    }

    fn is_close(&self, code: u16, reason: &str) -> bool {
        matches!(self, Event::Close(Some((c, r))) if *c == code && r == reason)
    }
}

/// `2 s`, `300 ms`.
pub fn seconds(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{} s", duration.as_secs())
    } else if duration < Duration::from_secs(1) {
        format!("{} ms", duration.as_millis())
    } else {
        format!("{:.1} s", duration.as_secs_f64())
    }
}

/// `close 4001 'Unauthorized'`, the way [`Event::describe`] says it.
pub fn close_text(code: u16, reason: &str) -> String {
    format!("close {code} '{reason}'")
}

/// One WebSocket connection of a row.
pub struct Ws {
    label: String,
    upgrade: Upgrade,
    stream: WebSocketStream<TcpStream>,
    transcript: Transcript,
    last_sent: Option<String>,
}

impl Ws {
    /// Opens a socket; a refused upgrade is a failure naming the HTTP answer.
    pub async fn connect(
        port: u16,
        label: &str,
        upgrade: Upgrade,
        transcript: &Transcript,
    ) -> Result<Ws, Failure> {
        let failure = |got: String| {
            Failure::new(
                format!("{label}: {}", upgrade.describe()),
                "the upgrade to succeed",
                got,
            )
        };
        let mut request = format!("ws://127.0.0.1:{port}{}", upgrade.path)
            .into_client_request()
            .map_err(|e| failure(format!("the checker could not build the request: {e}")))?;
        for (name, value) in &upgrade.headers {
            let name =
                HeaderName::from_bytes(name.as_bytes()).expect("rows use valid header names");
            let value = HeaderValue::from_str(value).expect("rows use valid header values");
            request.headers_mut().append(name, value);
        }
        let handshake = async {
            let tcp = TcpStream::connect(("127.0.0.1", port))
                .await
                .map_err(|e| format!("could not connect: {e}"))?;
            tokio_tungstenite::client_async(request, tcp)
                .await
                .map_err(|e| match e {
                    tungstenite::Error::Http(response) => {
                        let body = response
                            .body()
                            .as_deref()
                            .map(|b| String::from_utf8_lossy(b).into_owned())
                            .unwrap_or_default();
                        format!(
                            "HTTP {} instead of an upgrade {}",
                            response.status().as_u16(),
                            shorten(&body)
                        )
                        .trim_end()
                        .to_owned()
                    }
                    tungstenite::Error::Protocol(
                        tungstenite::error::ProtocolError::HandshakeIncomplete,
                    ) => "the connection closed before the upgrade was answered".to_owned(),
                    other => format!("the upgrade failed: {other}"),
                })
        };
        transcript.push(format!("{label} → upgrade: {}", upgrade.describe()));
        match timeout(REQUEST_LIMIT, handshake).await {
            Err(_) => Err(failure(format!(
                "no answer to the upgrade within {} s",
                REQUEST_LIMIT.as_secs()
            ))
            .hung()),
            Ok(Err(got)) => {
                transcript.push(format!("{label} ← {got}"));
                Err(failure(got))
            }
            Ok(Ok((stream, _))) => Ok(Ws {
                label: label.to_owned(),
                upgrade,
                stream,
                transcript: transcript.clone(),
                last_sent: None,
            }),
        }
    }

    /// What a report shows as the request behind an expectation on this
    /// socket: the upgrade and the last frame sent.
    pub fn request(&self) -> String {
        let mut text = format!("{}: {}", self.label, self.upgrade.describe());
        if let Some(sent) = &self.last_sent {
            text.push_str(&format!(", then sent {sent}"));
        }
        text
    }

    async fn send(&mut self, message: Message, shown: String) -> Result<(), Failure> {
        self.transcript.push(format!("{} → {shown}", self.label));
        self.last_sent = Some(shown);
        match timeout(REQUEST_LIMIT, self.stream.send(message)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(Failure::new(
                self.request(),
                "the frame to be sent",
                format!("sending failed: {error}"),
            )),
            Err(_) => Err(Failure::new(
                self.request(),
                "the frame to be sent",
                "sending did not finish within 5 s",
            )
            .hung()),
        }
    }

    pub async fn send_json(&mut self, value: &Value) -> Result<(), Failure> {
        self.send_text(&value.to_string()).await
    }

    pub async fn send_text(&mut self, text: &str) -> Result<(), Failure> {
        self.send(Message::text(text.to_owned()), shorten(text))
            .await
    }

    pub async fn send_binary(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        let shown = format!("binary {}", shorten(&String::from_utf8_lossy(bytes)));
        self.send(Message::binary(bytes.to_vec()), shown).await
    }

    /// Sends a close frame with `code` and an empty reason.
    pub async fn send_close(&mut self, code: u16) -> Result<(), Failure> {
        let frame = CloseFrame {
            code: CloseCode::from(code),
            reason: "".into(),
        };
        self.send(Message::Close(Some(frame)), close_text(code, ""))
            .await
    }

    /// The next frame, close or end of the connection, waiting at most
    /// `limit`. Pings and pongs are not events.
    pub async fn next_event(&mut self, limit: Duration) -> Event {
        let deadline = Instant::now() + limit;
        let event = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let message = match timeout(left, self.stream.next()).await {
                Err(_) => break Event::Silence(limit),
                Ok(None) => {
                    break Event::Ended("the connection ended without a close frame".to_owned());
                }
                Ok(Some(Err(error))) => {
                    break Event::Ended(format!("the connection failed: {error}"));
                }
                Ok(Some(Ok(message))) => message,
            };
            match message {
                Message::Text(text) => break Event::Text(text.as_str().to_owned()),
                Message::Binary(bytes) => break Event::Binary(bytes.len()),
                Message::Close(frame) => {
                    break Event::Close(
                        frame.map(|f| (u16::from(f.code), f.reason.as_str().to_owned())),
                    );
                }
                Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => continue,
            }
        };
        if !matches!(event, Event::Silence(_)) {
            self.transcript
                .push(format!("{} ← {}", self.label, event.describe()));
        }
        event
    }

    fn unexpected(&self, expected: impl Into<String>, got: &Event) -> Failure {
        Failure::new(self.request(), expected, got.describe())
    }

    /// The next frame must be JSON matching `expected` (extra fields allowed).
    pub async fn expect_json(&mut self, expected: &Value) -> Result<Value, Failure> {
        let event = self.next_event(FRAME_LIMIT).await;
        match event.json() {
            Some(got) if matches(expected, &got) => Ok(got),
            _ => Err(self.unexpected(format!("frame {expected}"), &event)),
        }
    }

    /// The next event must be a close frame with this code and reason.
    pub async fn expect_close(&mut self, code: u16, reason: &str) -> Result<(), Failure> {
        self.expect_close_within(code, reason, FRAME_LIMIT)
            .await
            .map(|_| ())
    }

    /// Like [`Ws::expect_close`] with a custom bound; returns when it came.
    pub async fn expect_close_within(
        &mut self,
        code: u16,
        reason: &str,
        limit: Duration,
    ) -> Result<Instant, Failure> {
        let event = self.next_event(limit).await;
        if event.is_close(code, reason) {
            Ok(Instant::now())
        } else {
            Err(self.unexpected(close_text(code, reason), &event))
        }
    }

    /// PROTOCOL's "sends E, closes": the error frame, then the close.
    pub async fn expect_rejection(
        &mut self,
        error: &str,
        code: u16,
        reason: &str,
    ) -> Result<(), Failure> {
        self.expect_json(&json!({"error": error})).await?;
        self.expect_close(code, reason).await
    }

    /// A close that the protocol names without a frame: an error frame before
    /// it is allowed, not required. Returns when the close came.
    pub async fn expect_close_allowing_error(
        &mut self,
        code: u16,
        reason: &str,
        limit: Duration,
    ) -> Result<Instant, Failure> {
        let deadline = Instant::now() + limit;
        let mut event = self.next_event(limit).await;
        if event.json().is_some_and(|frame| frame["error"].is_string()) {
            event = self
                .next_event(deadline.saturating_duration_since(Instant::now()))
                .await;
        }
        if event.is_close(code, reason) {
            Ok(Instant::now())
        } else {
            Err(self.unexpected(close_text(code, reason), &event))
        }
    }

    /// A close whose reason is free (1000 answered, 1009): only the code
    /// counts, and an error frame before it is allowed.
    pub async fn expect_close_code(&mut self, code: u16) -> Result<(), Failure> {
        let mut event = self.next_event(FRAME_LIMIT).await;
        if event.json().is_some_and(|frame| frame["error"].is_string()) {
            event = self.next_event(FRAME_LIMIT).await;
        }
        match event {
            Event::Close(Some((got, _))) if got == code => Ok(()),
            _ => Err(self.unexpected(format!("close {code} (any reason)"), &event)),
        }
    }

    /// Sends the probe and expects its answer as the very next frame: proof
    /// that nothing else was queued for this socket and that it is open.
    pub async fn probe(&mut self) -> Result<(), Failure> {
        self.send_json(&probe()).await?;
        let event = self.next_event(FRAME_LIMIT).await;
        match event.json() {
            Some(got) if matches(&probe_answer(), &got) => Ok(()),
            _ => Err(self.unexpected(
                format!(
                    "the probe's answer {} as the next frame (nothing else before it)",
                    probe_answer()
                ),
                &event,
            )),
        }
    }

    /// Where no probe exists: nothing at all may arrive for [`QUIET_LIMIT`].
    pub async fn expect_quiet(&mut self) -> Result<(), Failure> {
        match self.next_event(QUIET_LIMIT).await {
            Event::Silence(_) => Ok(()),
            event => {
                Err(self.unexpected(format!("nothing within {}", seconds(QUIET_LIMIT)), &event))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_requests_and_events() {
        let request = Request::post("/api/login").json(&json!({"username": "alice"}));
        assert_eq!(
            request.describe(),
            r#"POST /api/login, Content-Type: application/json, body {"username":"alice"}"#
        );
        assert_eq!(
            Event::Close(Some((4001, "Unauthorized".into()))).describe(),
            "close 4001 'Unauthorized'"
        );
        assert_eq!(
            Event::Silence(FRAME_LIMIT).describe(),
            "no frame within 2 s"
        );
        assert_eq!(
            Event::Silence(QUIET_LIMIT).describe(),
            "no frame within 300 ms"
        );
        assert_eq!(Upgrade::bare().describe(), "GET /ws (no cookie, no token)");
    }

    #[test]
    fn shortens_long_text() {
        let long = "x".repeat(65_537);
        let shown = shorten(&long);
        assert!(shown.ends_with("… (65537 bytes)"));
        assert!(shown.len() < 300);
    }
}
