//! How the checker words what it saw: long text cut short, durations,
//! close frames.

use std::time::Duration;

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
pub(crate) fn seconds(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{} s", duration.as_secs())
    } else if duration < Duration::from_secs(1) {
        format!("{} ms", duration.as_millis())
    } else {
        format!("{:.1} s", duration.as_secs_f64())
    }
}

/// `close 4001 'Unauthorized'`, the way [`Event::describe`] says it.
pub(crate) fn close_text(code: u16, reason: &str) -> String {
    format!("close {code} '{reason}'")
}
