//! How the commands of a report are written for a shell: the port they
//! name, quoting, and a frame as the student would type it.

/// The port of the commands: the servers' default.
pub(super) const PORT: u16 = 3000;

/// A frame as the student would send it with `connect`, which sends each
/// typed line as a text frame and a close frame at Ctrl-D; a long frame
/// (cut in reports, `xxx… (65537 bytes)`) is named by its size.
pub(super) fn frame_to_type(frame: &str) -> String {
    if frame.starts_with("close ") {
        return format!("{frame} (Ctrl-D sends a close frame)");
    }
    match frame.rsplit_once("… (") {
        Some((_, size)) => format!("a text frame of {}", size.trim_end_matches(')')),
        None => frame.to_owned(),
    }
}

/// A shell word: as it is when it is plain, else in single quotes.
pub(super) fn quote(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+%".contains(c));
    if plain {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}
