//! What a server's output says about it: its tail as a report shows it,
//! and whether it exited or panicked on its own during a row.

use std::sync::atomic::Ordering;

use super::Server;
use super::describe_status;
use super::output::{Stream, lock, tail};

impl Server {
    /// Every line printed so far on both streams, joined by newlines.
    pub fn all_output(&self) -> String {
        let log = lock(&self.output);
        let mut text = String::new();
        for (_, line) in &log.lines {
            text.push_str(line);
            text.push('\n');
        }
        text
    }

    /// The last stderr line that is not blank.
    pub fn last_stderr_line(&self) -> Option<String> {
        lock(&self.output)
            .lines
            .iter()
            .rev()
            .find(|(stream, line)| *stream == Stream::Stderr && !line.trim().is_empty())
            .map(|(_, line)| line.clone())
    }

    /// The tail of the output, as shown under a diagnosis: see [`tail`].
    pub fn output_tail(&self) -> Vec<String> {
        tail(
            lock(&self.output)
                .lines
                .iter()
                .map(|(_, line)| line.as_str()),
        )
    }

    /// The panic the output shows, if any: `: a todo!() stub was reached
    /// (<panic line>)` or ` (<panic line>)`.
    pub(super) fn panic_note(&self) -> Option<String> {
        let output = self.all_output();
        let mut lines = output.lines();
        let panic_line = lines.find(|line| line.contains("panicked at"))?.trim();
        // Since Rust 1.73 the panic message is on the line after the location.
        let message = lines
            .next()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with("note:"));
        let todo = if output.contains("not yet implemented") {
            ": a todo!() stub was reached"
        } else {
            ""
        };
        match message {
            Some(message) if panic_line.ends_with(':') => {
                Some(format!("{todo} ({panic_line} {message})"))
            }
            _ => Some(format!("{todo} ({panic_line})")),
        }
    }

    /// Whether the server stopped or panicked on its own during a row: one
    /// line saying so, or `None` when it looks healthy.
    pub fn trouble(&self) -> Option<String> {
        let exited = self
            .exit_status()
            .filter(|_| !self.signalled.load(Ordering::SeqCst));
        let note = self.panic_note();
        let summary = match (exited, &note) {
            (Some(status), _) => format!(
                "the server exited during the row ({})",
                describe_status(status)
            ),
            (None, Some(_)) => "the server panicked during the row".to_owned(),
            (None, None) => return None,
        };
        Some(summary + note.as_deref().unwrap_or_default())
    }
}
