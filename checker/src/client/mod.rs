//! The two clients a row talks to a server with: plain HTTP/1.1 requests on
//! hyper, and WebSocket connections on tokio-tungstenite.
//!
//! Both describe what they sent in the words of a report (`POST /api/login`,
//! `alice → {"type":"join",...}`), and every WebSocket frame in either
//! direction is appended to the row's transcript, so a failing row can show
//! the whole exchange. Every wait is bounded: a request or an upgrade gets
//! [`REQUEST_LIMIT`], a frame [`FRAME_LIMIT`] unless a row says otherwise.
//!
//! `http` holds the HTTP client, `ws` the WebSocket client and its event
//! model, `expect` what a row expects of a socket's next frames.

mod expect;
mod http;
mod ws;

pub use expect::Symptom;
pub use http::{Request, Response};
pub use ws::{Event, Upgrade, Ws};

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

/// How long a server gets to answer an HTTP request or an upgrade.
pub const REQUEST_LIMIT: Duration = Duration::from_secs(5);

/// How long the checker waits for an expected frame.
pub const FRAME_LIMIT: Duration = Duration::from_secs(2);

/// Where nothing can be used as a probe (exercises 1 and 2 have no message
/// handling), "nothing more arrives" is checked by waiting this long.
pub const QUIET_LIMIT: Duration = Duration::from_millis(300);

/// A frame that no server knows; its answer, as the very next frame, proves
/// that nothing else was queued for that socket before it.
pub fn probe() -> Value {
    json!({"type": "probe"})
}

/// What every server answers the probe.
pub fn probe_answer() -> Value {
    json!({"error": "Unknown message type"})
}

/// The frames of one row, in the order the checker saw them.
#[derive(Clone, Default)]
pub struct Transcript(Arc<Mutex<Vec<String>>>);

impl Transcript {
    pub fn push(&self, line: String) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(line);
    }

    pub fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// Long bodies and frames (the 64 KiB ones) are cut in reports.
pub(crate) fn shorten(text: &str) -> String {
    const SHOWN: usize = 120;
    if text.len() <= SHOWN {
        return text.to_owned();
    }
    let mut cut = SHOWN;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}… ({} bytes)", &text[..cut], text.len())
}

/// `2 s`, `300 ms`.
pub fn seconds(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{} s", duration.as_secs())
    } else if duration < Duration::from_secs(1) {
        format!("{} ms", duration.as_millis())
    } else {
        format!("{:.1} s", duration.as_secs_f64())
    }
}

/// `close 4001 'Unauthorized'`, the way [`Event::describe`] says it.
pub fn close_text(code: u16, reason: &str) -> String {
    format!("close {code} '{reason}'")
}

#[cfg(test)]
mod tests {
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
