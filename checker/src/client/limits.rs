//! How long the checker waits for a server, and the probe that proves
//! nothing else is queued: bounds every row shares.

use std::time::Duration;

use serde_json::{Value, json};

/// How long a server gets to answer an HTTP request or an upgrade.
pub(crate) const REQUEST_LIMIT: Duration = Duration::from_secs(5);

/// How long the checker waits for an expected frame.
pub(crate) const FRAME_LIMIT: Duration = Duration::from_secs(2);

/// Where nothing can be used as a probe (exercises 1 and 2 have no message
/// handling), "nothing more arrives" is checked by waiting this long.
pub(crate) const QUIET_LIMIT: Duration = Duration::from_millis(300);

/// A frame that no server knows; its answer, as the very next frame, proves
/// that nothing else was queued for that socket before it.
pub(crate) fn probe() -> Value {
    json!({"type": "probe"})
}

/// What every server answers the probe.
pub(crate) fn probe_answer() -> Value {
    json!({"error": "Unknown message type"})
}
