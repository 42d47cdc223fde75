//! The second half of `REQUEST_TIMEOUT_MS`: a request's body must arrive
//! within it once the headers have.
//!
//! The first half, the headers, is hyper's to enforce while it parses them
//! (see [`crate::connections`]); a body is read later, by whatever extractor
//! a handler asks for, and hyper puts no clock on it. A client that sends
//! its headers and then trickles the body, or stops, would hold its
//! connection and the part of the body read so far for as long as it liked,
//! and a few thousand such clients are a cheap way to exhaust a server.
//!
//! So a middleware reads the whole body before any handler runs, with a
//! deadline, and hands the handler the bytes. That costs nothing extra: the
//! routes that take a body read all of it anyway, and their bodies are
//! small. A request without a body (every `GET`, the WebSocket upgrade
//! included) passes straight through. What the deadline stops, it frees:
//! the partial body is dropped with the request, and hyper closes the
//! connection after the 408 because the body was never read to its end.

use std::{error::Error, time::Duration};

use axum::{
    body::{Body, HttpBody},
    extract::{Request, State},
    http::StatusCode,
    middleware::Next,
    response::Response,
};
use http_body_util::LengthLimitError;

use crate::http::error_response;

/// The largest body a request may have: axum's own default, set on the
/// router with `DefaultBodyLimit` so that the extractors and
/// [`read_body_in_time`] apply the same limit.
pub(crate) const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// Reads the request's body within `timeout`, then runs the rest of the
/// stack with it. Too slow: 408 `{"error":"Request timeout"}`. Over
/// [`MAX_BODY_BYTES`]: 413. Broken off by the client: 400.
pub(crate) async fn read_body_in_time(
    State(timeout): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    if request.body().is_end_stream() {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let read = axum::body::to_bytes(body, MAX_BODY_BYTES);
    let bytes = match tokio::time::timeout(timeout, read).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(error)) => return unreadable(&error),
        Err(_) => return error_response(StatusCode::REQUEST_TIMEOUT, "Request timeout"),
    };
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// The answer to a body that could not be read: too large, or broken off
/// by the client (which is then most likely gone and hears nothing).
fn unreadable(error: &axum::Error) -> Response {
    if error
        .source()
        .is_some_and(|inner| inner.is::<LengthLimitError>())
    {
        error_response(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large")
    } else {
        error_response(StatusCode::BAD_REQUEST, "Incomplete request body")
    }
}
