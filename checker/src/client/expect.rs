//! What a row expects of a socket's next frames: a JSON frame, a close
//! with a code and reason (within a bound, after an optional error frame),
//! a rejection, or nothing more.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::limits::{FRAME_LIMIT, QUIET_LIMIT, probe, probe_answer};
use super::socket_task::Event;
use super::ws::Ws;
use crate::failure::{Failure, Hint};
use crate::json::matches;
use crate::words::{close_text, seconds};

impl Ws {
    /// The next frame must be JSON matching `expected` (extra fields allowed).
    pub async fn expect_json(&mut self, expected: &Value) -> Result<Value, Failure> {
        self.json_frame(expected, FRAME_LIMIT, format!("frame {expected}"))
            .await
    }

    /// Like [`Ws::expect_json`] with a custom bound.
    pub async fn expect_json_within(
        &mut self,
        expected: &Value,
        limit: Duration,
    ) -> Result<Value, Failure> {
        let description = format!("frame {expected} within {}", seconds(limit));
        self.json_frame(expected, limit, description).await
    }

    async fn json_frame(
        &mut self,
        expected: &Value,
        limit: Duration,
        description: String,
    ) -> Result<Value, Failure> {
        let event = self.next_event(limit).await;
        match event.json() {
            Some(got) if matches(expected, &got) => Ok(got),
            _ => Err(self.unexpected(description, &event)),
        }
    }

    /// The next event must be a close frame with this code and reason.
    pub async fn expect_close(&mut self, code: u16, reason: &str) -> Result<(), Failure> {
        self.expect_close_within(code, reason, FRAME_LIMIT)
            .await
            .map(|_| ())
    }

    /// Like [`Ws::expect_close`] with a custom bound; returns when it came.
    pub async fn expect_close_within(
        &mut self,
        code: u16,
        reason: &str,
        limit: Duration,
    ) -> Result<Instant, Failure> {
        let event = self.next_event(limit).await;
        if event.is_close(code, reason) {
            Ok(Instant::now())
        } else {
            Err(self.unexpected(close_text(code, reason), &event))
        }
    }

    /// the contract's "sends E, closes": the error frame, then the close.
    pub async fn expect_rejection(
        &mut self,
        error: &str,
        code: u16,
        reason: &str,
    ) -> Result<(), Failure> {
        self.expect_json(&json!({"error": error})).await?;
        self.expect_close(code, reason).await
    }

    /// A close that the protocol names without a frame: an error frame before
    /// it is allowed, not required. Returns when the close came.
    pub async fn expect_close_allowing_error(
        &mut self,
        code: u16,
        reason: &str,
        limit: Duration,
    ) -> Result<Instant, Failure> {
        let deadline = Instant::now() + limit;
        let mut event = self.next_event(limit).await;
        if event.json().is_some_and(|frame| frame["error"].is_string()) {
            event = self
                .next_event(deadline.saturating_duration_since(Instant::now()))
                .await;
        }
        if event.is_close(code, reason) {
            Ok(Instant::now())
        } else {
            Err(self.unexpected(close_text(code, reason), &event))
        }
    }

    /// A close whose reason is free (1000 answered, 1009): only the code
    /// counts, and an error frame before it is allowed.
    pub async fn expect_close_code(&mut self, code: u16) -> Result<(), Failure> {
        let mut event = self.next_event(FRAME_LIMIT).await;
        if event.json().is_some_and(|frame| frame["error"].is_string()) {
            event = self.next_event(FRAME_LIMIT).await;
        }
        match event {
            Event::Close(Some((got, _))) if got == code => Ok(()),
            _ => Err(self.unexpected(format!("close {code} (any reason)"), &event)),
        }
    }

    /// Sends the probe and expects its answer as the very next frame: proof
    /// that nothing else was queued for this socket and that it is open.
    pub async fn probe(&mut self) -> Result<(), Failure> {
        self.send_json(&probe()).await?;
        let event = self.next_event(FRAME_LIMIT).await;
        match event.json() {
            Some(got) if matches(&probe_answer(), &got) => Ok(()),
            _ => Err(self.unexpected(
                format!(
                    "the probe's answer {} as the next frame (nothing else before it)",
                    probe_answer()
                ),
                &event,
            )),
        }
    }

    /// Like [`Ws::expect_json`] on a socket that joined a board on one
    /// process after `earlier` events of that board on another: pub/sub
    /// orders nothing across processes, so their frames may still be on
    /// their way when the join is answered. Each may come once, before the
    /// expected frame; it is then taken off `earlier`.
    pub async fn expect_json_after(
        &mut self,
        expected: &Value,
        earlier: &mut Vec<Value>,
    ) -> Result<Value, Failure> {
        self.expect_json_or(expected, earlier, None).await
    }

    /// Like [`Ws::expect_json_after`], for a row that knows a mistake by
    /// the frames it brings: when one of `symptom`'s frames comes instead of
    /// `expected`, the failure carries `symptom`'s hint, not the row's.
    pub async fn expect_json_telling(
        &mut self,
        expected: &Value,
        earlier: &mut Vec<Value>,
        symptom: &Symptom<'_>,
    ) -> Result<Value, Failure> {
        self.expect_json_or(expected, earlier, Some(symptom)).await
    }

    /// The one loop behind both: `symptom`, if any, names the mistake.
    async fn expect_json_or(
        &mut self,
        expected: &Value,
        earlier: &mut Vec<Value>,
        symptom: Option<&Symptom<'_>>,
    ) -> Result<Value, Failure> {
        loop {
            let event = self.next_event(FRAME_LIMIT).await;
            let failure = || self.unexpected(format!("frame {expected}"), &event);
            match event.json() {
                Some(got) if matches(expected, &got) => return Ok(got),
                Some(got) if take_earlier(earlier, &got) => {}
                got => {
                    let shown = |symptom: &&Symptom<'_>| {
                        got.as_ref()
                            .is_some_and(|got| symptom.frames.iter().any(|f| matches(f, got)))
                    };
                    return Err(match symptom.filter(shown) {
                        Some(symptom) => failure().with_hint(symptom.hint),
                        None => failure(),
                    });
                }
            }
        }
    }

    /// [`Ws::probe`] after `earlier` events, as [`Ws::expect_json_after`].
    pub async fn probe_after(&mut self, earlier: &mut Vec<Value>) -> Result<(), Failure> {
        self.send_json(&probe()).await?;
        self.expect_json_after(&probe_answer(), earlier)
            .await
            .map(|_| ())
    }

    /// Reads until a frame matching `expected` comes, passing over the
    /// frames of other sockets' doings: for rows that open many sockets in
    /// one board.
    pub async fn expect_json_amid(&mut self, expected: &Value) -> Result<(), Failure> {
        loop {
            let event = self.next_event(FRAME_LIMIT).await;
            match event.json() {
                Some(frame) if matches(expected, &frame) => return Ok(()),
                Some(_) => {}
                None => return Err(self.unexpected(format!("frame {expected}"), &event)),
            }
        }
    }

    /// How the socket ends: the close, the end of the connection, or silence
    /// for `limit`, passing over the frames that come before it.
    pub async fn ending(&mut self, limit: Duration) -> Event {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let event = self.next_event(left).await;
            if !matches!(event, Event::Text(_) | Event::Binary(_)) {
                return event;
            }
        }
    }

    /// Where no probe exists: nothing at all may arrive for [`QUIET_LIMIT`].
    pub async fn expect_quiet(&mut self) -> Result<(), Failure> {
        match self.next_event(QUIET_LIMIT).await {
            Event::Silence(_) => Ok(()),
            event => {
                Err(self.unexpected(format!("nothing within {}", seconds(QUIET_LIMIT)), &event))
            }
        }
    }
}

/// Frames that, coming where another was expected, show one mistake, and
/// the hint that names it (see [`Ws::expect_json_telling`]).
pub struct Symptom<'a> {
    pub frames: &'a [Value],
    pub hint: &'static Hint,
}

/// Takes `frame` off `earlier` if it is there (extra fields allowed, as
/// for every expected frame).
fn take_earlier(earlier: &mut Vec<Value>, frame: &Value) -> bool {
    match earlier.iter().position(|late| matches(late, frame)) {
        Some(index) => {
            earlier.remove(index);
            true
        }
        None => false,
    }
}
