//! The checks behind the rows, grouped by the book chapter they grade, and the
//! context every check works with.
//!
//! A [`Ctx`] belongs to one row: the server the runner started for it (if
//! any), a way to start more on fresh database files, the row's transcript,
//! and helpers for the steps most rows share (log in, issue a token, open an
//! authenticated socket). Each helper fails with the evidence a report needs,
//! so a check reads as the list of steps the contract (the book's appendix) describes.

mod ctx;

pub mod bearer;
pub mod close;
pub mod cluster;
pub mod db;
pub mod expiry;
pub mod first_message;
pub mod flood;
pub mod heartbeat;
pub mod limits;
pub mod login;
pub mod logout;
pub mod logs;
pub mod me;
pub mod messages;
pub mod origin;
pub mod page;
pub mod protocol;
pub mod recheck;
pub mod requests;
pub mod rooms;
pub mod server;
pub mod shutdown;
pub mod tickets;
pub mod tokens;
pub mod upgrade;
pub mod ws;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::client::{Request, Response};
use crate::report::{Failure, Sent};

pub use ctx::{Ctx, RunEnv, log_in};

/// The contract gives a server 1 s to close the sockets of an ended
/// session; the rest is the checker's own scheduling slack.
pub const CLOSE_LIMIT: Duration = Duration::from_millis(1_200);

/// A seeded user (the contract's "Seeded data").
#[derive(Debug)]
pub struct User {
    pub id: &'static str,
    pub name: &'static str,
    pub username: &'static str,
    pub password: &'static str,
}

pub static ALICE: User = User {
    id: "user-alice",
    name: "Alice",
    username: "alice",
    password: "alice-password",
};
pub static BOB: User = User {
    id: "user-bob",
    name: "Bob",
    username: "bob",
    password: "bob-password",
};
/// Not in board-1: the outsider of the rooms rows.
pub static CAROL: User = User {
    id: "user-carol",
    name: "Carol",
    username: "carol",
    password: "carol-password",
};

impl User {
    /// `U` of the contract: `{"id":..,"name":..}`.
    pub fn json(&self) -> Value {
        json!({"id": self.id, "name": self.name})
    }

    pub fn authenticated(&self) -> Value {
        json!({"type": "authenticated", "user": self.json()})
    }
}

/// Alice or Bob, at random: both are members of board-1, and a server that
/// only works for one of them fails sooner or later.
pub fn member() -> &'static User {
    if rand::random_bool(0.5) { &ALICE } else { &BOB }
}

/// The other one of Alice and Bob.
pub fn other_member(user: &User) -> &'static User {
    if user.id == ALICE.id { &BOB } else { &ALICE }
}

/// A random string that no server has issued, for unknown sessions and tokens.
pub fn unknown_secret() -> String {
    rand::random::<[u8; 16]>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Seconds since the epoch, as the contract's `expires_at`.
pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Fails unless `condition` holds; for the checks that compare by hand.
pub fn ensure(
    condition: bool,
    request: impl Into<Sent>,
    expected: impl Into<String>,
    got: impl Into<String>,
) -> Result<(), Failure> {
    if condition {
        Ok(())
    } else {
        Err(Failure::new(request, expected, got))
    }
}

/// Sends `request` and expects `status` with a body matching `body`.
pub async fn expect_response(
    ctx: &Ctx,
    request: Request,
    status: u16,
    body: &Value,
) -> Result<Response, Failure> {
    let response = ctx.send(request.clone()).await?;
    ensure(
        response.is(status, body),
        &request,
        format!("{status} {body}"),
        response.describe(),
    )?;
    Ok(response)
}
