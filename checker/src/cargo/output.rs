//! What the student sees of cargo's stderr while the checker builds.
//!
//! Most of it says nothing to a student whose build is fine: `Compiling
//! exercises` and `Finished dev profile` before every report. So it is
//! captured, and shown:
//!
//! - for a build that fails: everything, compiler errors as rustc wrote them;
//! - for a build that works: its warnings (about the student's code), not
//!   cargo's status lines;
//! - for a build still running after [`LIVE_AFTER`] (a first build, a
//!   changed dependency, a lock held by another cargo): everything, live
//!   from then on, so that a minute of compiling is not a silent minute.
//!
//! Compiler messages beyond [`SHOWN_MESSAGE_LINES`] are cut, with a note
//! naming the cargo command that shows them all: the first errors are the
//! ones to fix, and the rest often follow from them. Cargo colours its
//! output only when the checker's stderr is a terminal and `NO_COLOR` is
//! not set, as the checker's own output would.

use std::io::IsTerminal;
use std::time::Duration;

/// A build still running after this long is doing more than recompiling
/// the student's file (about a second): from then on its output is shown
/// as it comes.
pub(super) const LIVE_AFTER: Duration = Duration::from_secs(3);

/// Lines of compiler messages shown before the rest is cut: at the end of
/// the message under way then (a blank line), or at twice this in any case.
const SHOWN_MESSAGE_LINES: usize = 60;

/// Whether output to `stream` may be coloured: only on a terminal, and
/// never when `NO_COLOR` is set to anything (<https://no-color.org>).
pub(super) fn colour_wanted(stream: &impl IsTerminal) -> bool {
    let no_colour = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
    !no_colour && stream.is_terminal()
}

/// What the student sees of cargo's stderr (see the module's comment).
#[derive(Default)]
pub(super) struct CargoOutput {
    /// Lines not shown yet: everything before the build went live.
    held: Vec<String>,
    live: bool,
    /// Compiler message lines shown, and those cut after the limit.
    shown_messages: usize,
    cut_messages: usize,
    /// Set at the first message boundary past the limit.
    cutting: bool,
}

impl CargoOutput {
    /// Whether the build's output is shown as it comes.
    pub(super) fn is_live(&self) -> bool {
        self.live
    }

    pub(super) fn line(&mut self, line: String) {
        if !self.live {
            self.held.push(line);
        } else if self.admit(&line) {
            eprintln!("{line}");
        }
    }

    pub(super) fn go_live(&mut self) {
        self.live = true;
        for line in std::mem::take(&mut self.held) {
            if self.admit(&line) {
                eprintln!("{line}");
            }
        }
    }

    /// Whether a line is shown: cargo's status lines always, compiler
    /// messages up to the limit.
    fn admit(&mut self, line: &str) -> bool {
        if is_status_line(line) {
            return true;
        }
        let blank = without_colour(line).trim().is_empty();
        if (self.shown_messages + 1 >= SHOWN_MESSAGE_LINES && blank)
            || self.shown_messages >= 2 * SHOWN_MESSAGE_LINES
        {
            self.cutting = true;
        }
        if self.cutting {
            self.cut_messages += 1;
        } else {
            self.shown_messages += 1;
        }
        !self.cutting
    }

    /// The lines held back that are worth showing at the end of the build:
    /// all of them after a failure, the compiler's warnings after a success.
    fn held_to_show(&mut self, failed: bool) -> Vec<String> {
        let held = std::mem::take(&mut self.held);
        held.into_iter()
            .filter(|line| failed || !is_status_line(line))
            .filter(|line| self.admit(line))
            .collect()
    }

    /// Shows what [`CargoOutput::held_to_show`] says, and the note on what
    /// was cut.
    pub(super) fn finish(mut self, failed: bool, rerun: &str) {
        for line in self.held_to_show(failed) {
            eprintln!("{line}");
        }
        if self.cut_messages > 0 {
            eprintln!(
                "… {} more lines: run `{rerun}` to see them all",
                self.cut_messages
            );
        }
    }
}

/// Cargo's own status lines, `   Compiling board v0.1.0 (...)` or
/// `    Finished `dev` profile ...`: a capitalised verb right-aligned in
/// twelve columns (colour codes aside), unlike rustc's `error[E0308]: ...`
/// and the lines of a diagnostic.
fn is_status_line(line: &str) -> bool {
    let plain = without_colour(line);
    let Some((verb_column, rest)) = plain.split_at_checked(12) else {
        return false;
    };
    let verb = verb_column.trim_start();
    rest.starts_with(' ')
        && verb.starts_with(|c: char| c.is_ascii_uppercase())
        && verb.chars().all(|c| c.is_ascii_alphabetic())
}

/// The text of a line without its ANSI colour codes (`ESC [ ... m`).
fn without_colour(line: &str) -> String {
    let mut plain = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for code in chars.by_ref() {
                if code.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_cargo_status_lines_from_compiler_messages() {
        assert!(is_status_line(
            "   Compiling exercises v0.1.0 (/work/exercises)"
        ));
        assert!(is_status_line(
            "    Finished `dev` profile [unoptimized + debuginfo] target(s) in 0.52s"
        ));
        assert!(is_status_line(
            "\u{1b}[1m\u{1b}[32m    Finished\u{1b}[0m `dev` profile"
        ));
        assert!(is_status_line(
            "    Blocking waiting for file lock on build directory"
        ));
        assert!(!is_status_line("error[E0308]: mismatched types"));
        assert!(!is_status_line(" --> exercises/03-rooms/main.rs:10:5"));
        assert!(!is_status_line("   |         ^^^^^^^^^^^ expected `u8`"));
        assert!(!is_status_line("warning: unused variable: `socket`"));
        assert!(!is_status_line(""));
    }

    #[test]
    fn a_quick_build_shows_warnings_alone_and_a_failed_one_everything() {
        let lines = [
            "   Compiling exercises v0.1.0 (/w/exercises)",
            "warning: unused variable: `socket`",
            "    Finished `dev` profile [unoptimized + debuginfo] target(s) in 0.52s",
        ];
        let held = |failed| {
            let mut output = CargoOutput::default();
            lines
                .iter()
                .for_each(|line| output.line((*line).to_owned()));
            output.held_to_show(failed)
        };
        assert_eq!(held(false), [lines[1]]);
        assert_eq!(held(true), lines);
    }

    #[test]
    fn long_compiler_output_is_cut_at_the_end_of_a_message() {
        let mut output = CargoOutput::default();
        let error = ["error[E0308]: mismatched types", "  --> main.rs:1:1", ""];
        let errors = (0..40).flat_map(|_| error);
        let shown = errors.filter(|line| output.admit(line)).count();
        // Twenty whole messages, the blank line after the last one cut.
        assert_eq!(shown, SHOWN_MESSAGE_LINES - 1);
        assert_eq!(output.cut_messages, 40 * error.len() - shown);
        assert!(
            output.admit("    Finished `dev` profile"),
            "status lines are kept"
        );

        let mut endless = CargoOutput::default();
        let shown = (0..500).filter(|_| endless.admit("  | x")).count();
        assert_eq!(shown, 2 * SHOWN_MESSAGE_LINES);
    }
}
