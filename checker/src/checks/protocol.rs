//! Rows `protocol.*`: a frame that breaks RFC 6455 is answered with a close
//! frame that says so (1002, or 1007 for text that is not UTF-8) before the
//! connection ends, and only that socket ends (exercise 11).
//!
//! No WebSocket library sends such frames, so the row writes their bytes to
//! the connection itself, masked as a client's frames must be (but for the
//! unmasked one).

use super::rooms::{BOARD_1, join, user_joined, user_left};
use super::{ALICE, BOB, Ctx};
use crate::client::{Upgrade, Ws};
use crate::failure::Failure;
use crate::rows::{Row, SIGNED_IN, check};

/// The rows this module grades, in the order they are reported.
pub(crate) static ROWS: &[Row] = &[
    Row {
        id: "protocol.bad-frames",
        exercise: 11,
        retired_after: None,
        name: "an unmasked frame, RSV bits, a reserved opcode, a fragmented ping, a lone continuation, a one-byte close: each gets close 1002, and its board hears user_left",
        book: "under-attack.md#protocol-errors",
        setup: SIGNED_IN,
        hint: "board closes such a frame 1002 in the exercises and its recv then says the connection is gone; a server of your own sends a close frame with code 1002 before it ends the connection, and leaves the socket's boards as for any socket that ends.",
        check: check!(bad_frames),
    },
    Row {
        id: "protocol.bad-utf8",
        exercise: 11,
        retired_after: None,
        name: "a text message that is not valid UTF-8 gets close 1007, and its board hears user_left",
        book: "under-attack.md#protocol-errors",
        setup: SIGNED_IN,
        hint: "board closes such a message 1007 in the exercises; a server of your own tells invalid UTF-8 (1007) from other protocol errors (1002) and sends the close frame before it ends the connection.",
        check: check!(bad_utf8),
    },
];

/// The masking key of the rows' frames: any four bytes will do.
const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// A client's frame: the first byte (FIN, RSV bits, opcode) as given, the
/// payload masked with [`MASK`]. Payloads here are under 126 bytes.
fn masked(first: u8, payload: &[u8]) -> Vec<u8> {
    let length = u8::try_from(payload.len()).expect("a short payload");
    let mut frame = vec![first, 0x80 | length];
    frame.extend_from_slice(&MASK);
    frame.extend(
        payload
            .iter()
            .enumerate()
            .map(|(at, byte)| byte ^ MASK[at % 4]),
    );
    frame
}

/// Each frame that breaks RFC 6455, as a report names it.
fn bad_frames_to_send() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("an unmasked text frame {}", vec![0x81, 0x02, b'{', b'}']),
        (
            "a text frame {} with RSV1 set, no extension agreed",
            masked(0xc1, b"{}"),
        ),
        ("a frame with the reserved opcode 0x3", masked(0x83, b"")),
        (
            "a ping without FIN (a fragmented control frame)",
            masked(0x09, b""),
        ),
        (
            "a continuation frame with no message to continue",
            masked(0x80, b"{}"),
        ),
        (
            "a close frame with a one-byte payload",
            masked(0x88, &[0x03]),
        ),
    ]
}

/// Alice watches board-1 while Bob's sockets join it and break the protocol.
async fn watcher(ctx: &Ctx) -> Result<(Ws, String), Failure> {
    let mut alice = ctx.cookie_socket(&ALICE).await?;
    join(&mut alice, BOARD_1, 1).await?;
    Ok((alice, ctx.session(&BOB).await?))
}

/// Bob joins board-1 beside `alice`, sends `bytes`, and must be closed
/// `code`, after which Alice hears him leave and goes on.
async fn breaks_protocol(
    ctx: &Ctx,
    alice: &mut Ws,
    bob_session: &str,
    (shown, bytes): (&str, Vec<u8>),
    code: u16,
) -> Result<(), Failure> {
    let mut bob = ctx
        .authenticated("bob", Upgrade::cookie(bob_session), &BOB)
        .await?;
    join(&mut bob, BOARD_1, 2).await?;
    alice.expect_json(&user_joined(&BOB, 2)).await?;
    bob.send_raw(&bytes, shown).await?;
    bob.expect_close_code(code).await?;
    alice.expect_json(&user_left(&BOB, 1)).await?;
    alice.probe().await
}

pub(crate) async fn bad_frames(ctx: Ctx) -> Result<(), Failure> {
    let (mut alice, bob_session) = watcher(&ctx).await?;
    for frame in bad_frames_to_send() {
        breaks_protocol(&ctx, &mut alice, &bob_session, frame, 1002).await?;
    }
    Ok(())
}

pub(crate) async fn bad_utf8(ctx: Ctx) -> Result<(), Failure> {
    let (mut alice, bob_session) = watcher(&ctx).await?;
    let frame = (
        "a text frame of the bytes ff fe fd, which are not UTF-8",
        masked(0x81, &[0xff, 0xfe, 0xfd]),
    );
    breaks_protocol(&ctx, &mut alice, &bob_session, frame, 1007).await
}
