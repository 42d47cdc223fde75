//! The task that owns one WebSocket connection, and the events it hands
//! the row.
//!
//! A browser reads its sockets all the time, whatever the page is doing, so
//! it answers a server's close frame the moment it arrives and then ends the
//! connection. A row reads a socket only when it expects something of it,
//! and tokio-tungstenite sends its answer to a close only on the next read,
//! write or flush: a socket the row is not reading (or has finished with)
//! would leave the server's close unanswered. Some servers leave their
//! boards only once the closing handshake is done (Node's `ws` waits up to
//! 30 s for it), so the checker would grade their library, not them.
//!
//! So each socket is owned by a task of its own ([`drive`]) that reads it
//! continuously, as a browser does, and hands the row what arrived through
//! a channel; the row's sends go through the task too. When a close frame
//! arrives, the task sends the library's answer (which echoes the server's
//! code, RFC 6455 5.5.1) at once and drops the connection, whatever the row
//! does next. Reading continuously also answers pings; a row that needs a
//! socket to stop answering them says so with [`super::Ws::stop_reading`].

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::time::timeout;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::{self, Message};

use super::limits::REQUEST_LIMIT;
use crate::words::{seconds, shorten};

/// Something that happened on a socket, as a report names it.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    Text(String),
    Binary(usize),
    Close(Option<(u16, String)>),
    /// The connection ended without a close frame (or failed), or had
    /// already ended when the row looked.
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

    pub fn is_close(&self, code: u16, reason: &str) -> bool {
        matches!(self, Event::Close(Some((c, r))) if *c == code && r == reason)
    }
}

/// What the socket's task hands the row, in the order it arrived.
pub(super) enum Arrival {
    Ping,
    /// A text, binary or close frame, or the end of the connection.
    Event(Event),
}

/// What the row asks of the socket's task.
pub(super) enum Command {
    /// Send a frame; the answer says whether it went out.
    Send(Message, oneshot::Sender<Result<(), tungstenite::Error>>),
    /// Stop reading: the socket answers no ping (and no close) until told
    /// to read again.
    StopReading,
    ResumeReading,
    /// Write these bytes to the connection as they are, outside the
    /// WebSocket framing: a frame that breaks RFC 6455 on purpose.
    Raw(Vec<u8>, oneshot::Sender<std::io::Result<()>>),
}

/// The text of an event after the task has ended the connection.
pub(super) const ALREADY_ENDED: &str = "the connection was already closed";

/// Owns one connection: reads it continuously, passing every arrival on,
/// and sends what the row asks it to. Returns (dropping the connection)
/// once a close frame has been answered, the connection has ended, or the
/// row has dropped its [`Ws`].
pub(super) async fn drive(
    mut stream: WebSocketStream<TcpStream>,
    mut commands: mpsc::UnboundedReceiver<Command>,
    arrivals: mpsc::UnboundedSender<Arrival>,
) {
    let mut reading = true;
    loop {
        tokio::select! {
            command = commands.recv() => match command {
                None => return,
                Some(Command::Send(message, done)) => {
                    let _ = done.send(stream.send(message).await);
                }
                Some(Command::StopReading) => reading = false,
                Some(Command::ResumeReading) => reading = true,
                Some(Command::Raw(bytes, done)) => {
                    let _ = done.send(stream.get_mut().write_all(&bytes).await);
                }
            },
            message = stream.next(), if reading => {
                let event = match message {
                    None => Event::Ended("the connection ended without a close frame".to_owned()),
                    Some(Err(error)) => Event::Ended(format!("the connection failed: {error}")),
                    Some(Ok(Message::Ping(_))) => {
                        let _ = arrivals.send(Arrival::Ping);
                        continue;
                    }
                    Some(Ok(Message::Pong(_) | Message::Frame(_))) => continue,
                    Some(Ok(Message::Text(text))) => Event::Text(text.as_str().to_owned()),
                    Some(Ok(Message::Binary(bytes))) => Event::Binary(bytes.len()),
                    Some(Ok(Message::Close(frame))) => Event::Close(
                        frame.map(|f| (u16::from(f.code), f.reason.as_str().to_owned())),
                    ),
                };
                let closed = matches!(event, Event::Close(_));
                let ended = matches!(event, Event::Ended(_));
                let _ = arrivals.send(Arrival::Event(event));
                if closed {
                    // The library queued its answer when it read the close
                    // (nothing, if the close answered the row's own); the
                    // flush sends it. A server that already dropped the
                    // connection makes it fail, which changes nothing.
                    let _ = timeout(REQUEST_LIMIT, stream.flush()).await;
                }
                if closed || ended {
                    return;
                }
            }
        }
    }
}
