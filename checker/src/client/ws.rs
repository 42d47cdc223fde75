//! One WebSocket connection of a row on tokio-tungstenite: what its upgrade
//! carries, and the frames it sends and reads.
//!
//! The connection itself is owned by a task that reads it continuously, as
//! a browser does ([`super::socket_task`] says why); a [`Ws`] is the row's
//! end of that task: its sends go through it, and what arrived comes back
//! from it in order, with the row's transcript and the words a report
//! shows.

use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};

use super::limits::{FRAME_LIMIT, REQUEST_LIMIT};
use super::socket_task::{ALREADY_ENDED, Arrival, Command, Event, drive};
use super::transcript::Transcript;
use crate::failure::Failure;
use crate::request::Upgrade;
use crate::sent::{Redo, Sent, Socket};
use crate::words::{close_text, shorten};

/// The request line of a socket (`alice: GET /ws..., then sent ...`) and
/// what redoes it: `frames` are the first text frame and the last frame
/// sent, once the socket is open.
fn sent(
    label: &str,
    upgrade: &Upgrade,
    port: u16,
    frames: Option<(Option<String>, Option<String>)>,
) -> Sent {
    let (first_frame, last_frame) = frames.unwrap_or_default();
    let mut text = format!("{label}: {}", upgrade.describe());
    if let Some(last) = &last_frame {
        text.push_str(&format!(", then sent {last}"));
    }
    Sent {
        text,
        redo: Some(Redo::Socket(Socket {
            upgrade: upgrade.clone(),
            port,
            first_frame,
            last_frame,
        })),
    }
}

/// One WebSocket connection of a row.
pub struct Ws {
    label: String,
    upgrade: Upgrade,
    port: u16,
    commands: mpsc::UnboundedSender<Command>,
    arrivals: mpsc::UnboundedReceiver<Arrival>,
    transcript: Transcript,
    /// The first text frame sent, in full, and the last frame sent, as
    /// shown: what the report's request line and its command name.
    first_text: Option<String>,
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
                sent(label, &upgrade, port, None),
                "the upgrade to succeed",
                got,
            )
        };
        let mut request = format!("ws://127.0.0.1:{port}{}", upgrade.path())
            .into_client_request()
            .map_err(|e| failure(format!("the checker could not build the request: {e}")))?;
        for (name, value) in upgrade.headers() {
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
            Ok(Ok((stream, _))) => {
                let (commands, commanded) = mpsc::unbounded_channel();
                let (arrived, arrivals) = mpsc::unbounded_channel();
                tokio::spawn(drive(stream, commanded, arrived));
                Ok(Ws {
                    label: label.to_owned(),
                    upgrade,
                    port,
                    commands,
                    arrivals,
                    transcript: transcript.clone(),
                    first_text: None,
                    last_sent: None,
                })
            }
        }
    }

    /// The name the report gives this socket.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// What a report shows as the request behind an expectation on this
    /// socket: the upgrade and the last frame sent.
    pub fn request(&self) -> Sent {
        let frames = (self.first_text.clone(), self.last_sent.clone());
        sent(&self.label, &self.upgrade, self.port, Some(frames))
    }

    async fn send(&mut self, message: Message, shown: String) -> Result<(), Failure> {
        self.transcript.push(format!("{} → {shown}", self.label));
        self.last_sent = Some(shown);
        let (done, sent) = oneshot::channel();
        // The task has ended (a close came, or the connection ended) if it
        // takes no command, or drops this one unanswered.
        let _ = self.commands.send(Command::Send(message, done));
        match timeout(REQUEST_LIMIT, sent).await {
            Ok(Ok(Ok(()))) => Ok(()),
            Ok(Ok(Err(error))) => Err(Failure::new(
                self.request(),
                "the frame to be sent",
                format!("sending failed: {error}"),
            )),
            Ok(Err(_)) => Err(Failure::new(
                self.request(),
                "the frame to be sent",
                format!("sending failed: {ALREADY_ENDED}"),
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
        self.first_text.get_or_insert_with(|| text.to_owned());
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

    /// Closes the socket the way a real client does (RFC 6455 7.1.1): sends
    /// a close frame with `code`, waits for the server's answering close
    /// (or the end of the connection, at most [`FRAME_LIMIT`]), and the TCP
    /// connection ends: the socket's task drops it when the answer comes,
    /// dropping `self` does otherwise. Returns how the wait ended.
    ///
    /// Holding the connection open after the handshake would grade the
    /// server's library instead of the server: some (Node's `ws`) report a
    /// socket closed only once its TCP connection ends, and a browser
    /// ends it right after the handshake.
    pub async fn close(mut self, code: u16) -> Result<Event, Failure> {
        self.send_close(code).await?;
        let deadline = Instant::now() + FRAME_LIMIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let event = self.next_event(left).await;
            if matches!(event, Event::Close(_) | Event::Ended(_) | Event::Silence(_)) {
                return Ok(event);
            }
        }
    }

    /// The next frame, close or end of the connection, waiting at most
    /// `limit`. Pings and pongs are not events.
    pub async fn next_event(&mut self, limit: Duration) -> Event {
        let deadline = Instant::now() + limit;
        let event = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next_arrival(left).await {
                None => break Event::Silence(limit),
                Some(Arrival::Ping) => continue,
                Some(Arrival::Event(event)) => break event,
            }
        };
        if !matches!(event, Event::Silence(_)) {
            self.transcript
                .push(format!("{} ← {}", self.label, event.describe()));
        }
        event
    }

    /// Waits at most `limit` for the server's next ping (the socket's task
    /// has answered it), and says whether one came. A frame, a close or the
    /// end of the connection before it is returned as what came instead.
    pub async fn next_ping(&mut self, limit: Duration) -> Result<(), Event> {
        match self.next_arrival(limit).await {
            None => Err(Event::Silence(limit)),
            Some(Arrival::Ping) => {
                self.transcript.push(format!("{} ← ping", self.label));
                Ok(())
            }
            Some(Arrival::Event(event)) => Err(event),
        }
    }

    /// The next arrival within `left`, `None` if nothing came. Once the
    /// task has ended and everything it passed on was taken, every call
    /// says the connection had ended.
    async fn next_arrival(&mut self, left: Duration) -> Option<Arrival> {
        match timeout(left, self.arrivals.recv()).await {
            Err(_) => None,
            Ok(None) => Some(Arrival::Event(Event::Ended(ALREADY_ENDED.to_owned()))),
            Ok(Some(arrival)) => Some(arrival),
        }
    }

    /// Until [`Ws::resume_reading`], nothing is read from this socket, so the client answers
    /// no ping: a browser tab on a machine that went to sleep. What already
    /// arrived can still be taken with [`Ws::next_event`].
    pub fn stop_reading(&mut self) {
        let _ = self.commands.send(Command::StopReading);
    }

    /// Reads the connection again after [`Ws::stop_reading`]: what the
    /// server sent meanwhile arrives, and pings are answered again.
    pub fn resume_reading(&mut self) {
        let _ = self.commands.send(Command::ResumeReading);
    }

    /// Writes `bytes` to the connection as they are (`shown` in the
    /// transcript): a frame no WebSocket library would send.
    pub async fn send_raw(&mut self, bytes: &[u8], shown: &str) -> Result<(), Failure> {
        self.transcript.push(format!("{} → {shown}", self.label));
        self.last_sent = Some(shown.to_owned());
        let (done, written) = oneshot::channel();
        let _ = self.commands.send(Command::Raw(bytes.to_vec(), done));
        match timeout(REQUEST_LIMIT, written).await {
            Ok(Ok(Ok(()))) => Ok(()),
            Ok(Ok(Err(error))) => Err(Failure::new(
                self.request(),
                "the bytes to be written",
                format!("writing failed: {error}"),
            )),
            _ => Err(Failure::new(
                self.request(),
                "the bytes to be written",
                format!("writing failed: {ALREADY_ENDED}"),
            )),
        }
    }

    pub(super) fn unexpected(&self, expected: impl Into<String>, got: &Event) -> Failure {
        Failure::new(self.request(), expected, got.describe())
    }
}
