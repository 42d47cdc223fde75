//! The checks behind the rows, grouped by the book chapter they grade, and the
//! context every check works with.
//!
//! A [`Ctx`] belongs to one row: the server the runner started for it (if
//! any), a way to start more on fresh database files, the row's transcript,
//! and helpers for the steps most rows share (log in, issue a token, open an
//! authenticated socket). Each helper fails with the evidence a report needs,
//! so a check reads as the list of steps the contract (the book's appendix) describes.

pub(crate) mod bearer;
pub(crate) mod close;
pub(crate) mod cluster;
pub(crate) mod db;
pub(crate) mod expiry;
pub(crate) mod first_message;
pub(crate) mod flood;
pub(crate) mod heartbeat;
pub(crate) mod limits;
pub(crate) mod login;
pub(crate) mod logout;
pub(crate) mod logs;
pub(crate) mod me;
pub(crate) mod messages;
pub(crate) mod origin;
pub(crate) mod page;
pub(crate) mod protocol;
pub(crate) mod recheck;
pub(crate) mod requests;
pub(crate) mod rooms;
pub(crate) mod server;
pub(crate) mod shutdown;
pub(crate) mod tickets;
pub(crate) mod tokens;
pub(crate) mod upgrade;
pub(crate) mod ws;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::client::{Request, Response};
use crate::failure::Failure;
use crate::sent::Sent;

pub(crate) use crate::ctx::Ctx;
pub(crate) use crate::users::{ALICE, BOB, CAROL, User, member, other_member, unknown_secret};

/// The contract gives a server 1 s to close the sockets of an ended
/// session; the rest is the checker's own scheduling slack.
pub(crate) const CLOSE_LIMIT: Duration = Duration::from_millis(1_200);

/// Seconds since the epoch, as the contract's `expires_at`.
pub(crate) fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Fails unless `condition` holds; for the checks that compare by hand.
pub(crate) fn ensure(
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
pub(crate) async fn expect_response(
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
