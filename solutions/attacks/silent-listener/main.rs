//! Attack lab: the silent listener (exercise 9).
//!
//! A server that checks who may read a board when a socket joins, and again
//! only when it sends something, never looks again at a socket that only
//! reads. This client is that listener: logged in as Alice, it joins
//! board-1 and then only reads, while an administrator removes Alice from
//! the board. The book's section "Break it first: the silent listener"
//! (book/src/long-lived.md) explains it.
//!
//! What the checker gives and reads: `BOARD_WS` is the board's socket URL
//! (`ws://127.0.0.1:PORT/ws`), `SESSION_COOKIE` the `Cookie` header of
//! Alice's session (`session=...`). Print everything the socket receives,
//! one line per message ([`show`] says it the checker's way). Run it with
//! `cargo run -p checker -- attack silent-listener`: it must still hear
//! Bob type on exercise 8's server, and be closed 4003 by your exercise 9.

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::{
    connect_async,
    tungstenite::{Message, client::IntoClientRequest, http::HeaderValue},
};

#[tokio::main]
async fn main() {
    let board = std::env::var("BOARD_WS").expect("BOARD_WS: ws://127.0.0.1:PORT/ws");
    let cookie = std::env::var("SESSION_COOKIE").expect("SESSION_COOKIE: session=...");
    listen(&board, &cookie).await;
}

/// Joins board-1 on a cookie socket, then only reads, printing every
/// message until the socket ends.
async fn listen(board: &str, cookie: &str) {
    let mut request = board
        .into_client_request()
        .expect("BOARD_WS is a ws:// URL");
    let cookie = HeaderValue::from_str(cookie).expect("SESSION_COOKIE is a header value");
    request.headers_mut().insert("Cookie", cookie);
    let (mut socket, _) = connect_async(request).await.expect("the upgrade succeeds");
    let join = r#"{"type":"join","boardId":"board-1"}"#;
    socket
        .send(Message::Text(join.into()))
        .await
        .expect("the join is sent");
    // From here on, only reads: whatever the server decides about this
    // socket, it decides without a word from it.
    while let Some(Ok(message)) = socket.next().await {
        if let Some(line) = show(&message) {
            println!("{line}");
        }
    }
}

/// A message as the checker reads it: a text frame as received, a close as
/// `close CODE`; `None` for the rest (pings and pongs, which the library
/// answers by itself while the socket is read).
fn show(message: &Message) -> Option<String> {
    match message {
        Message::Text(text) => Some(text.to_string()),
        Message::Close(frame) => Some(format!(
            "close {}",
            frame.as_ref().map_or(1005, |frame| u16::from(frame.code))
        )),
        _ => None,
    }
}
