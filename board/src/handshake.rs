//! The WebSocket handshake's key, checked before any exercise sees the
//! upgrade.
//!
//! RFC 6455 (section 4.2.1) makes `Sec-WebSocket-Key` the base64 encoding of
//! 16 random bytes, and tells a server to answer anything else with 400
//! instead of switching protocols. axum only checks that the header is
//! there and hashes whatever it holds into the accept key, so a client
//! sending an empty, short or garbled key would get a working socket. The
//! check is a middleware on the whole router rather than code in each
//! exercise's upgrade handler: every exercise gets it, and no exercise's
//! authentication runs (or reads the database) for a handshake that was
//! never valid.

use axum::{
    extract::Request,
    http::{HeaderMap, StatusCode, header},
    middleware::Next,
    response::Response,
};

use crate::http::error_response;

/// Answers 400 `{"error":"Invalid Sec-WebSocket-Key"}` to a WebSocket
/// upgrade whose key is missing or not 16 bytes in base64; lets every other
/// request through untouched.
pub(crate) async fn check_key(request: Request, next: Next) -> Response {
    if is_websocket_upgrade(request.headers())
        && !request
            .headers()
            .get(header::SEC_WEBSOCKET_KEY)
            .is_some_and(|key| is_valid_key(key.as_bytes()))
    {
        return error_response(StatusCode::BAD_REQUEST, "Invalid Sec-WebSocket-Key");
    }
    next.run(request).await
}

/// Whether the request asks to become a WebSocket, as axum's extractor
/// decides it: `Upgrade: websocket`, in any case.
fn is_websocket_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"websocket"))
}

/// Whether `key` is exactly what base64 makes of 16 bytes: 22 characters of
/// the standard alphabet and `==`.
///
/// The 22nd character carries only two bits of the last byte; its other
/// four must be zero, as every encoder writes them. A key with those bits
/// set would decode to the same 16 bytes in a lenient decoder but is not
/// the encoding of any 16 bytes, so it is refused too.
fn is_valid_key(key: &[u8]) -> bool {
    let [digits @ .., b'=', b'='] = key else {
        return false;
    };
    let Some((&last, first)) = digits.split_last() else {
        return false;
    };
    digits.len() == 22
        && first.iter().all(|&byte| base64_value(byte).is_some())
        && base64_value(last).is_some_and(|value| value & 0b1111 == 0)
}

/// The value of one character of the standard base64 alphabet.
fn base64_value(byte: u8) -> Option<u8> {
    match byte {
        b'A'..=b'Z' => Some(byte - b'A'),
        b'a'..=b'z' => Some(byte - b'a' + 26),
        b'0'..=b'9' => Some(byte - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::is_valid_key;

    #[test]
    fn only_sixteen_bytes_in_base64_are_a_key() {
        // RFC 6455's example key, and the extremes of the alphabet.
        for key in [
            "dGhlIHNhbXBsZSBub25jZQ==",
            "AAAAAAAAAAAAAAAAAAAAAA==",
            "/////////////////////w==",
            "+++++++++++++++++++++A==",
        ] {
            assert!(is_valid_key(key.as_bytes()), "{key}");
        }
        for key in [
            "",
            "==",
            "dGhlIHNhbXBsZQ==",             // 10 bytes
            "dGhlIHNhbXBsZSBub25jZSE=",     // 17 bytes
            "dGhlIHNhbXBsZSBub25jZQ",       // no padding
            "dGhlIHNhbXBsZSBub25jZQ===",    // too much padding
            "dGhlIHNhbXBsZSBub25jZR==",     // stray bits in the last digit
            "dGhlIHNhbXBsZSBub25j*Q==",     // not the alphabet
            "dGhlIHNhbXBsZSBub25jZQ-_",     // URL-safe alphabet, no padding
            "dGhlIHNhbXBsZSBub25jZQ== ",    // trailing space
            "dGhlIHNhbXBsZSBub25jZQ==dGhl", // more after the padding
        ] {
            assert!(!is_valid_key(key.as_bytes()), "{key:?}");
        }
    }
}
