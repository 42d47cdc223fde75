//! The socket of `checker connect`: its upgrade, and the conversation that
//! prints what the server sends while sending what the student types.
//!
//! This is not the rows' [`crate::client::Ws`], on purpose. A row's socket
//! lives at `/ws`, sends a frame and then waits, within a bound, for the
//! frame it expects, recording both in a transcript and shortening long
//! ones for a report. A person's socket may live at another `--path`,
//! stays open as long as they like, and must show a frame the moment it
//! arrives even while they are typing the next one, in full. So the stream
//! is split: one half is read, the other written, both inside one
//! `select!` together with stdin and Ctrl-C. What the two share is reused:
//! the bounds ([`REQUEST_LIMIT`], [`FRAME_LIMIT`]) and the wording of
//! closes and binary frames ([`Event::describe`]). Like the rows' client,
//! it answers a server's close the moment it reads it and then ends the
//! connection, as a browser does: a server may leave its boards only once
//! that answer (or the end of the connection) has come.
//!
//! stdin is read on a thread of its own, as tokio recommends for
//! interactive input: a blocking read that never ends (a terminal nobody
//! types in) then cannot hold up the runtime when the socket closes first.

use std::io::{BufRead, IsTerminal};
use std::time::Instant;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tokio::time::timeout;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};

use super::stop::Stop;
use crate::client::{Event, FRAME_LIMIT, REQUEST_LIMIT};

type Socket = WebSocketStream<TcpStream>;

/// What the upgrade request carries, and the frame to send first.
#[derive(Debug)]
pub(crate) struct Handshake {
    /// The path and query of `GET`.
    target: String,
    headers: Vec<(String, String)>,
    first_frame: Option<String>,
}

impl Handshake {
    pub(crate) fn new(path: &str) -> Self {
        Handshake {
            target: path.to_owned(),
            headers: Vec::new(),
            first_frame: None,
        }
    }

    pub(crate) fn header(&mut self, name: &str, value: &str) {
        self.headers.push((name.to_owned(), value.to_owned()));
    }

    /// Adds `name=value` to the query; the value is put in as given, as the
    /// rows do (tokens and tickets are URL-safe).
    pub(crate) fn query(&mut self, name: &str, value: &str) {
        let separator = if self.target.contains('?') { '&' } else { '?' };
        self.target.push_str(&format!("{separator}{name}={value}"));
    }

    pub(crate) fn send_first(&mut self, frame: String) {
        self.first_frame = Some(frame);
    }

    /// The frame to send as soon as the socket is open (the auth frame).
    pub(crate) fn first_frame(&self) -> Option<&str> {
        self.first_frame.as_deref()
    }

    /// `GET /ws?token=..., Origin: http://evil.example (upgrade)`.
    fn describe(&self) -> String {
        let mut text = format!("GET {}", self.target);
        for (name, value) in &self.headers {
            text.push_str(&format!(", {name}: {value}"));
        }
        text + " (upgrade)"
    }
}

/// Opens the socket, printing the upgrade and its answer. A refusal is
/// printed as the server sent it: status, `WWW-Authenticate` and body.
pub(crate) async fn open(port: u16, handshake: &Handshake) -> Result<Socket, Stop> {
    println!("→ {}", handshake.describe());
    let unusable = |what: String| Stop {
        message: format!("the upgrade cannot be sent: {what}"),
        code: 2,
    };
    let mut request = format!("ws://127.0.0.1:{port}{}", handshake.target)
        .into_client_request()
        .map_err(|error| unusable(error.to_string()))?;
    for (name, value) in &handshake.headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|error| unusable(format!("{name}: {error}")))?;
        let value = HeaderValue::from_str(value)
            .map_err(|error| unusable(format!("{name}: {value:?}: {error}")))?;
        request.headers_mut().append(name, value);
    }
    let tcp = match timeout(REQUEST_LIMIT, TcpStream::connect(("127.0.0.1", port))).await {
        Ok(Ok(tcp)) => tcp,
        Ok(Err(error)) => return Err(Stop::unreachable(port, &error.to_string())),
        Err(_) => return Err(Stop::unreachable(port, "the connection timed out")),
    };
    match timeout(REQUEST_LIMIT, tokio_tungstenite::client_async(request, tcp)).await {
        Err(_) => Err(Stop::refused(format!(
            "the server did not answer the upgrade within {} s",
            REQUEST_LIMIT.as_secs()
        ))),
        Ok(Err(tungstenite::Error::Http(response))) => {
            let status = response.status();
            println!(
                "← HTTP {} {}",
                status.as_u16(),
                status.canonical_reason().unwrap_or_default()
            );
            if let Some(challenge) = response.headers().get("www-authenticate") {
                println!(
                    "← WWW-Authenticate: {}",
                    String::from_utf8_lossy(challenge.as_bytes())
                );
            }
            if let Some(body) = response.body().as_deref().filter(|body| !body.is_empty()) {
                println!("← {}", String::from_utf8_lossy(body));
            }
            Err(Stop::refused(format!(
                "the server refused the upgrade with HTTP {}: no socket was opened",
                status.as_u16()
            )))
        }
        Ok(Err(error)) => Err(Stop::refused(format!("the upgrade failed: {error}"))),
        Ok(Ok((socket, _))) => {
            println!("← 101 Switching Protocols: the socket is open");
            Ok(socket)
        }
    }
}

/// How the conversation came to an end.
enum Ending {
    /// The server sent a close frame, or the connection ended.
    ByServer,
    /// stdin reached its end (Ctrl-D).
    EndOfInput,
    Interrupted,
}

/// Sends `first_frame` if any, then prints every frame and sends every
/// typed line until either side ends the socket. Returns the exit status.
pub(crate) async fn converse(socket: Socket, first_frame: Option<&str>) -> u8 {
    let (mut sink, mut frames) = socket.split();
    let mut interrupts = match signal(SignalKind::interrupt()) {
        Ok(interrupts) => interrupts,
        Err(error) => {
            eprintln!("error: could not listen for Ctrl-C: {error}");
            return 2;
        }
    };
    let typing = std::io::stdin().is_terminal();
    if typing {
        eprintln!("(type a frame and press Enter to send it; Ctrl-D closes the socket)");
    }
    if let Some(frame) = first_frame
        && !send(&mut sink, frame, true).await
    {
        return 0;
    }
    let mut lines = stdin_lines();
    let ending = loop {
        tokio::select! {
            message = frames.next() => {
                if !show(message) {
                    break Ending::ByServer;
                }
            }
            line = lines.recv() => match line {
                // A stray Enter is not worth an empty frame.
                Some(line) if line.trim().is_empty() => {}
                // A terminal already shows what was typed; piped input is
                // echoed so that the output reads as a whole conversation.
                Some(line) => {
                    if !send(&mut sink, &line, !typing).await {
                        break Ending::ByServer;
                    }
                }
                None => break Ending::EndOfInput,
            },
            _ = interrupts.recv() => break Ending::Interrupted,
        }
    };
    match ending {
        Ending::ByServer => answer(&mut sink).await,
        Ending::EndOfInput | Ending::Interrupted => close(&mut sink, &mut frames).await,
    }
    match ending {
        Ending::Interrupted => 130,
        _ => 0,
    }
}

/// Prints one arrival; returns whether the socket is still open.
fn show(message: Option<Result<Message, tungstenite::Error>>) -> bool {
    let event = match message {
        None => Event::Ended("the connection ended without a close frame".to_owned()),
        Some(Err(error)) => Event::Ended(format!("the connection failed: {error}")),
        Some(Ok(Message::Text(text))) => {
            println!("← {}", text.as_str());
            return true;
        }
        Some(Ok(Message::Ping(_))) => {
            println!("← ping (answered with a pong)");
            return true;
        }
        Some(Ok(Message::Pong(_) | Message::Frame(_))) => return true,
        Some(Ok(Message::Binary(bytes))) => Event::Binary(bytes.len()),
        Some(Ok(Message::Close(frame))) => {
            Event::Close(frame.map(|f| (u16::from(f.code), f.reason.as_str().to_owned())))
        }
    };
    println!("← {}", event.describe());
    !matches!(event, Event::Close(_) | Event::Ended(_))
}

/// Sends a text frame; says whether the socket took it.
async fn send(sink: &mut SplitSink<Socket, Message>, text: &str, echo: bool) -> bool {
    if echo {
        println!("→ {text}");
    }
    match timeout(REQUEST_LIMIT, sink.send(Message::text(text.to_owned()))).await {
        Ok(Ok(())) => true,
        Ok(Err(error)) => {
            println!("← sending failed: {error}");
            false
        }
        Err(_) => {
            println!(
                "← sending did not finish within {} s",
                REQUEST_LIMIT.as_secs()
            );
            false
        }
    }
}

/// Closes with 1000 and prints what arrives until the server's close
/// answer, the end of the connection, or [`FRAME_LIMIT`].
async fn close(sink: &mut SplitSink<Socket, Message>, frames: &mut SplitStream<Socket>) {
    println!("→ close 1000");
    let frame = CloseFrame {
        code: CloseCode::Normal,
        reason: "".into(),
    };
    if let Err(error) = sink.send(Message::Close(Some(frame))).await {
        println!("← the close frame could not be sent: {error}");
        return;
    }
    let deadline = Instant::now() + FRAME_LIMIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match timeout(left, frames.next()).await {
            Err(_) => {
                println!(
                    "← no close frame within {} s: giving up on the answer",
                    FRAME_LIMIT.as_secs()
                );
                return;
            }
            Ok(message) => {
                if !show(message) {
                    return;
                }
            }
        }
    }
}

/// Answers the server's close at once, as a browser does: tungstenite
/// queued its answer (echoing the code) when it read the close, and sends it
/// only on a flush, a write or the next read. The connection ends when
/// [`converse`] returns and drops the socket. After a connection that ended
/// without a close, or a failed send, the flush fails, which changes nothing.
async fn answer(sink: &mut SplitSink<Socket, Message>) {
    let _ = timeout(REQUEST_LIMIT, sink.flush()).await;
}

/// The lines of stdin, read on a thread of their own; the channel closes
/// at the end of input (or at input that is not UTF-8, which is said).
fn stdin_lines() -> mpsc::Receiver<String> {
    let (sender, receiver) = mpsc::channel(16);
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            match line {
                Ok(line) => {
                    if sender.blocking_send(line).is_err() {
                        return;
                    }
                }
                Err(error) => {
                    eprintln!("error: reading stdin: {error}; closing the socket");
                    return;
                }
            }
        }
    });
    receiver
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_the_upgrade_with_its_query_and_headers() {
        let mut handshake = Handshake::new("/ws");
        handshake.query("token", "abc");
        handshake.query("x", "1");
        handshake.header("Origin", "http://evil.example");
        assert_eq!(
            handshake.describe(),
            "GET /ws?token=abc&x=1, Origin: http://evil.example (upgrade)"
        );
    }
}
