//! Clients that break the WebSocket protocol, through a real server on
//! 127.0.0.1 and raw TCP: each malformed frame is answered with a close
//! frame carrying its code before the connection ends, only that socket
//! ends, and a handshake with a malformed key is refused with 400.

mod common;

use common::{
    GOOD_KEY, TestServer, closed_by_server, echoes, frame, read_frame, read_response,
    upgrade_request,
};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Sends `bytes` on a fresh socket (after one good message, so the socket
/// is known to work), and checks that the server answers with a close frame
/// with `code`, closes the connection, and ends that socket's task, while
/// another socket on the same server keeps working.
async fn is_closed_with(bytes: &[u8], code: u16) {
    let mut server = TestServer::start(&[]).await;
    let mut bystander = server.websocket().await;
    let mut offender = server.websocket().await;
    echoes(&mut offender, "before").await;

    offender.write_all(bytes).await.unwrap();
    let (opcode, payload) = read_frame(&mut offender).await;
    assert_eq!(opcode, 0x8, "a close frame");
    assert_eq!(u16::from_be_bytes([payload[0], payload[1]]), code);
    closed_by_server(&mut offender).await;
    server.socket_task_ends().await;

    echoes(&mut bystander, "after").await;
}

#[tokio::test]
async fn an_unmasked_frame_is_closed_1002() {
    is_closed_with(&frame(0x81, b"hi", false), 1002).await;
}

#[tokio::test]
async fn a_reserved_bit_is_closed_1002() {
    // FIN, RSV1 (no extension was negotiated that would give it a meaning), text.
    is_closed_with(&frame(0xc1, b"hi", true), 1002).await;
}

#[tokio::test]
async fn reserved_opcodes_are_closed_1002() {
    // 0x3 is a reserved data opcode, 0xb a reserved control opcode.
    is_closed_with(&frame(0x83, b"hi", true), 1002).await;
    is_closed_with(&frame(0x8b, b"", true), 1002).await;
}

#[tokio::test]
async fn a_fragmented_ping_is_closed_1002() {
    // A ping without FIN: control frames must not be fragmented.
    is_closed_with(&frame(0x09, b"", true), 1002).await;
}

#[tokio::test]
async fn a_continuation_without_a_start_is_closed_1002() {
    is_closed_with(&frame(0x80, b"hi", true), 1002).await;
}

#[tokio::test]
async fn a_one_byte_close_payload_is_closed_1002() {
    // A close payload is empty, or a two-byte code and an optional reason.
    is_closed_with(&frame(0x88, &[0x03], true), 1002).await;
}

#[tokio::test]
async fn a_close_code_no_endpoint_may_send_is_answered_1002() {
    // 1005 means "no code was given" and must never be on the wire. The
    // echo route ends as soon as it sees the close, so the answer is board's.
    is_closed_with(&frame(0x88, &1005_u16.to_be_bytes(), true), 1002).await;
}

#[tokio::test]
async fn an_ordinary_close_is_left_to_the_exercise() {
    // Answering a client's close 1000 is what exercise 6 teaches: board
    // must not do it for the exercise. The echo route ends without
    // answering, so the client hears no close frame.
    let mut server = TestServer::start(&[]).await;
    let mut socket = server.websocket().await;
    socket
        .write_all(&frame(0x88, &1000_u16.to_be_bytes(), true))
        .await
        .unwrap();
    server.socket_task_ends().await;
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(common::PATIENCE, socket.read_to_end(&mut rest)).await;
    assert!(rest.is_empty(), "board answered: {rest:?}");
}

#[tokio::test]
async fn text_that_is_not_utf8_is_closed_1007() {
    // 0xc3 opens a two-byte sequence; 0x28 ('(') cannot continue it.
    is_closed_with(&frame(0x81, &[b'a', 0xc3, 0x28], true), 1007).await;
}

#[tokio::test]
async fn text_split_inside_a_character_is_still_text() {
    // "é" is 0xc3 0xa9: across two fragments it is valid once put together.
    let mut server = TestServer::start(&[]).await;
    let mut socket = server.websocket().await;
    let first = frame(0x01, &[b'a', 0xc3], true);
    let rest = frame(0x80, &[0xa9], true);
    socket.write_all(&[first, rest].concat()).await.unwrap();
    let (opcode, payload) = read_frame(&mut socket).await;
    assert_eq!(opcode, 0x1);
    let answer: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(answer, json!({ "echo": "aé" }));
    echoes(&mut socket, "still open").await;
    assert!(server.socket_ended.try_recv().is_err());
}

#[tokio::test]
async fn a_malformed_websocket_key_is_a_400() {
    let server = TestServer::start(&[]).await;
    for key in [
        "",
        "c2hvcnQ=",                     // 5 bytes
        "dGhlIHNhbXBsZSBub25jZSE=",     // 17 bytes
        "not base64 at all, sorry",     // 24 characters, not the alphabet
        "dGhlIHNhbXBsZSBub25jZQ",       // unpadded
        "dGhlIHNhbXBsZSBub25jZQ==AAAA", // more after the padding
    ] {
        let mut stream = server.connect().await;
        stream
            .write_all(upgrade_request(key).as_bytes())
            .await
            .unwrap();
        let response = read_response(&mut stream).await;
        assert_eq!(response.status, 400, "{key:?}");
        assert!(
            response.headers.contains("content-type: application/json"),
            "{key:?}: {}",
            response.headers
        );
        assert_eq!(
            response.body,
            json!({ "error": "Invalid Sec-WebSocket-Key" }),
            "{key:?}"
        );
    }
    // The same request with a good key is upgraded.
    let mut stream = server.connect().await;
    stream
        .write_all(upgrade_request(GOOD_KEY).as_bytes())
        .await
        .unwrap();
    let head = common::read_head(&mut stream).await.unwrap();
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
}
