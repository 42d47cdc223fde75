//! Rows `upgrade.*`: an upgrade request whose `Sec-WebSocket-Key` is not what
//! RFC 6455 asks for (16 bytes, in base64) is refused with 400 before it
//! becomes a socket (exercise 11).

use super::{Ctx, ensure, member};
use crate::client::Request;
use crate::failure::Failure;
use crate::rows::{Row, SIGNED_IN, check};

/// The rows this module grades, in the order they are reported.
pub(crate) static ROWS: &[Row] = &[Row {
    id: "upgrade.bad-key",
    exercise: 11,
    retired_after: None,
    name: "an upgrade whose Sec-WebSocket-Key is short, empty or not base64 gets 400, not 101",
    book: "under-attack.md#protocol-errors",
    setup: SIGNED_IN,
    hint: "board refuses such an upgrade in the exercises; a server of your own checks that the key decodes from base64 to exactly 16 bytes before it answers 101, and answers 400 otherwise.",
    check: check!(bad_key),
}];

pub(crate) async fn bad_key(ctx: Ctx) -> Result<(), Failure> {
    let session = ctx.session(member()).await?;
    // Eight bytes in base64; nothing at all; and no base64.
    for key in ["c2hvcnRrZXk=", "", "not a base64 key!"] {
        let request = Request::get("/ws")
            .header("Connection", "Upgrade")
            .header("Upgrade", "websocket")
            .header("Sec-WebSocket-Version", "13")
            .header("Sec-WebSocket-Key", key)
            .cookie(&session);
        let response = ctx.send(request.clone()).await?;
        ensure(
            response.status == 400,
            &request,
            "HTTP 400, no upgrade",
            response.describe(),
        )?;
    }
    Ok(())
}
