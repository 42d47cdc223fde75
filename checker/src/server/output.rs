//! A server's captured output: both pipes read line by line into one log
//! in arrival order, bounded, and what a report shows of it.

use std::sync::{Arc, Mutex, MutexGuard};

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::{Notify, oneshot};

/// How many lines of server output a diagnosis shows.
const SHOWN_OUTPUT_LINES: usize = 25;

/// Lines kept per server; a runaway logger cannot exhaust memory.
const KEPT_OUTPUT_LINES: usize = 20_000;

/// Which pipe a line of output came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stream {
    Stdout,
    Stderr,
}

/// Everything a server printed, in arrival order.
#[derive(Default)]
pub(super) struct OutputLog {
    pub(super) lines: Vec<(Stream, String)>,
    pub(super) closed_pipes: usize,
}

/// Reads one pipe line by line into the shared log. The first stdout line is
/// also handed to whoever waits for the listening line; `None` means the pipe
/// closed before any line.
pub(super) async fn collect(
    pipe: impl AsyncRead + Unpin,
    stream: Stream,
    output: Arc<Mutex<OutputLog>>,
    changed: Arc<Notify>,
    mut first_line: Option<oneshot::Sender<Option<String>>>,
) {
    let mut reader = BufReader::new(pipe);
    let mut buffer = Vec::new();
    loop {
        buffer.clear();
        match reader.read_until(b'\n', &mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let line = String::from_utf8_lossy(&buffer)
            .trim_end_matches(['\n', '\r'])
            .to_owned();
        if let Some(sender) = first_line.take() {
            let _ = sender.send(Some(line.clone()));
        }
        {
            let mut log = lock(&output);
            if log.lines.len() >= KEPT_OUTPUT_LINES {
                log.lines.remove(0);
            }
            log.lines.push((stream, line));
        }
        changed.notify_waiters();
    }
    if let Some(sender) = first_line.take() {
        let _ = sender.send(None);
    }
    lock(&output).closed_pipes += 1;
    changed.notify_waiters();
}

pub(super) fn lock(output: &Mutex<OutputLog>) -> MutexGuard<'_, OutputLog> {
    output
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

const BACKTRACE_OMITTED: &str = "(backtrace omitted)";

/// `  12: tokio::runtime::...` and `             at /path/file.rs:1:2`.
fn is_backtrace_line(line: &str) -> bool {
    let trimmed = line.trim_start();
    let indented = trimmed.len() < line.len();
    let frame = trimmed.split_once(": ").is_some_and(|(number, _)| {
        !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit())
    });
    indented && (frame || trimmed.starts_with("at ")) || line == "stack backtrace:"
}

/// The last [`SHOWN_OUTPUT_LINES`] lines of a server's output, after a
/// note saying how many earlier lines were left out and how to see them:
/// a server logging every frame fills a report otherwise. Backtrace frames
/// (printed when the caller has RUST_BACKTRACE set) are left out too: the
/// panic line and the server's own logs say more in fewer lines.
pub(super) fn tail<'a>(lines: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut shown: Vec<String> = Vec::new();
    for line in lines {
        if is_backtrace_line(line) {
            if shown.last().is_none_or(|last| last != BACKTRACE_OMITTED) {
                shown.push(BACKTRACE_OMITTED.to_owned());
            }
        } else {
            shown.push(line.to_owned());
        }
    }
    let skip = shown.len().saturating_sub(SHOWN_OUTPUT_LINES);
    let mut tail = shown.split_off(skip);
    if skip > 0 {
        tail.insert(
            0,
            format!(
                "… {skip} earlier lines not shown: to see all it prints, run the server \
                 yourself (`PORT=3000 cargo run -p exercises --bin exercise-NN`) and \
                 repeat the row's steps with `cargo run -p checker -- connect`"
            ),
        );
    }
    tail
}

/// Parses `listening on http://127.0.0.1:PORT`, the exact first line that
/// the contract asks for, and returns a usable (non-zero) port.
pub(crate) fn parse_listening_line(line: &str) -> Option<u16> {
    let port = line.strip_prefix("listening on http://127.0.0.1:")?;
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    port.parse::<u16>().ok().filter(|&port| port != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_backtrace_lines() {
        assert!(is_backtrace_line("stack backtrace:"));
        assert!(is_backtrace_line("  12: tokio::runtime::task::raw::poll"));
        assert!(is_backtrace_line(
            "             at /rustc/abc/library/std/src/panic.rs:359:14"
        ));
        assert!(!is_backtrace_line(
            "thread 'main' panicked at src/main.rs:3:5:"
        ));
        assert!(!is_backtrace_line("not yet implemented"));
        assert!(!is_backtrace_line(
            "2026-11-25T10:00:00Z  INFO request: GET /ws"
        ));
    }

    #[test]
    fn a_long_output_is_cut_with_a_note_and_backtraces_are_left_out() {
        let lines: Vec<String> = (1..=40).map(|n| format!("line {n}")).collect();
        let shown = tail(lines.iter().map(String::as_str));
        assert_eq!(shown.len(), SHOWN_OUTPUT_LINES + 1);
        assert!(
            shown[0].starts_with("… 15 earlier lines not shown"),
            "{}",
            shown[0]
        );
        assert_eq!(shown[1], "line 16");
        assert_eq!(shown.last().map(String::as_str), Some("line 40"));

        let short = ["panicked at src/main.rs:3:5:", "stack backtrace:", "  0: f"];
        assert_eq!(
            tail(short.into_iter()),
            ["panicked at src/main.rs:3:5:", BACKTRACE_OMITTED]
        );
    }

    #[test]
    fn listening_line_is_exact() {
        assert_eq!(
            parse_listening_line("listening on http://127.0.0.1:4000"),
            Some(4000)
        );
        assert_eq!(
            parse_listening_line("listening on http://127.0.0.1:0"),
            None
        );
        assert_eq!(parse_listening_line("listening on http://127.0.0.1:"), None);
        assert_eq!(
            parse_listening_line("listening on http://127.0.0.1:70000"),
            None
        );
        assert_eq!(
            parse_listening_line("listening on http://localhost:4000"),
            None
        );
        assert_eq!(
            parse_listening_line("Listening on http://127.0.0.1:4000"),
            None
        );
        assert_eq!(
            parse_listening_line("listening on http://127.0.0.1:4000/"),
            None
        );
        assert_eq!(
            parse_listening_line("listening on http://127.0.0.1:+40"),
            None
        );
    }
}
