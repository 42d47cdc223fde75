//! The two clients a row talks to a server with: plain HTTP/1.1 requests on
//! hyper, and WebSocket connections on tokio-tungstenite.
//!
//! Both describe what they sent in the words of a report (`POST /api/login`,
//! `alice → {"type":"join",...}`), and every WebSocket frame in either
//! direction is appended to the row's transcript, so a failing row can show
//! the whole exchange. Every wait is bounded: a request or an upgrade gets
//! [`REQUEST_LIMIT`], a frame [`FRAME_LIMIT`] unless a row says otherwise.
//!
//! What a row sends is plain data ([`crate::request`]) that the report
//! reads too; `http` sends a request, `ws` is the row's WebSocket client,
//! `socket_task` the task that reads each connection and the events it
//! hands on, `expect` what a row expects of a socket's next frames,
//! [`limits`] the bounds every wait shares and [`crate::words`] how the
//! client words what it saw.

mod expect;
mod http;
pub(crate) mod limits;
mod socket_task;
mod transcript;
mod ws;

pub(crate) use crate::request::{Request, Upgrade};
pub(crate) use crate::words::{seconds, shorten};
pub(crate) use expect::Symptom;
pub(crate) use http::Response;
pub(crate) use limits::{FRAME_LIMIT, REQUEST_LIMIT, probe, probe_answer};
pub(crate) use socket_task::Event;
pub(crate) use transcript::Transcript;
pub(crate) use ws::Ws;

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::limits::QUIET_LIMIT;
    use super::*;

    #[test]
    fn describes_requests_and_events() {
        let request = Request::post("/api/login").json(&json!({"username": "alice"}));
        assert_eq!(
            request.describe(),
            r#"POST /api/login, Content-Type: application/json, body {"username":"alice"}"#
        );
        assert_eq!(
            Event::Close(Some((4001, "Unauthorized".into()))).describe(),
            "close 4001 'Unauthorized'"
        );
        assert_eq!(
            Event::Silence(FRAME_LIMIT).describe(),
            "no frame within 2 s"
        );
        assert_eq!(
            Event::Silence(QUIET_LIMIT).describe(),
            "no frame within 300 ms"
        );
        assert_eq!(Upgrade::bare().describe(), "GET /ws (no cookie, no token)");
    }

    #[test]
    fn shortens_long_text() {
        let long = "x".repeat(65_537);
        let shown = shorten(&long);
        assert!(shown.ends_with("… (65537 bytes)"));
        assert!(shown.len() < 300);
    }
}
