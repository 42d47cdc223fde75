//! The checks behind the rows, grouped by the book chapter they grade, and the
//! context every check works with.
//!
//! A [`Ctx`] belongs to one row: the server the runner started for it (if
//! any), a way to start more on fresh database files, the row's transcript,
//! and helpers for the steps most rows share (log in, issue a token, open an
//! authenticated socket). Each helper fails with the evidence a report needs,
//! so a check reads as the list of steps the contract (the book's appendix) describes.

pub mod ctx;

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

use serde_json::Value;

use crate::client::{Request, Response};
use crate::failure::Failure;
use crate::sent::Sent;

pub use crate::users::{ALICE, BOB, CAROL, User, member, other_member, unknown_secret};
pub use ctx::Ctx;

/// The contract gives a server 1 s to close the sockets of an ended
/// session; the rest is the checker's own scheduling slack.
pub const CLOSE_LIMIT: Duration = Duration::from_millis(1_200);

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
