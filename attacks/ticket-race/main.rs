//! Attack lab: the ticket race (exercise 8).
//!
//! A ticket must work once. A server that finds the ticket, then deletes
//! it, in two statements, lets two upgrades that arrive together both find
//! it before either deletes it. This client is that attacker: with one of
//! Alice's tickets, it tries to get two sockets. The book's section "Break
//! it first: the ticket race" (book/src/tickets.md) explains the race.
//!
//! What the checker gives and reads: `BOARD_WS` is the board's socket URL
//! (`ws://127.0.0.1:PORT/ws`), `TICKET` one ticket minted for Alice. Print
//! the first thing each socket receives, one line per socket ([`first_word`]
//! says it the checker's way). Run it with
//! `cargo run -p checker -- attack ticket-race`: it must get two
//! authenticated sockets from a server that checks then uses up, and one
//! from your exercise 8.

use futures_util::StreamExt;
use tokio_tungstenite::{connect_async, tungstenite::Message};

#[tokio::main]
async fn main() {
    let board = std::env::var("BOARD_WS").expect("BOARD_WS: ws://127.0.0.1:PORT/ws");
    let ticket = std::env::var("TICKET").expect("TICKET: one of Alice's tickets");
    race(&board, &ticket).await;
}

/// Redeems `ticket` on two upgrades at once, and prints what each socket
/// was told first.
async fn race(board: &str, ticket: &str) {
    // The attack: both upgrades must reach the server before either has
    // used the ticket up, so neither may wait for the other. Print one line
    // per socket. Book: book/src/tickets.md#break-it-first-the-ticket-race
    todo!("attack lab: race: redeem one ticket on two upgrades at once")
}

/// The first thing the server says on an upgrade to `url`: its first text
/// frame as received, `close CODE` if it closes first, or why there is no
/// socket at all.
async fn first_word(url: &str) -> String {
    let mut socket = match connect_async(url).await {
        Ok((socket, _)) => socket,
        Err(error) => return format!("no socket: {error}"),
    };
    while let Some(Ok(message)) = socket.next().await {
        match message {
            Message::Text(text) => return text.to_string(),
            Message::Close(frame) => {
                return format!(
                    "close {}",
                    frame.map_or(1005, |frame| u16::from(frame.code))
                );
            }
            _ => {}
        }
    }
    "the socket ended without a word".to_owned()
}
