//! Building the exercise and solution binaries with cargo.
//!
//! The checker asks cargo for the path of the binary it built (the
//! `compiler-artifact` message of `--message-format=json-render-diagnostics`)
//! instead of guessing `target/debug/...`, so `CARGO_TARGET_DIR` and any other
//! cargo configuration keep working.
//!
//! Cargo's stderr is captured rather than passed through, because most of
//! it says nothing to a student whose build is fine: `Compiling exercises`
//! and `Finished dev profile` before every report. What is shown:
//!
//! - a build that fails: everything, compiler errors as rustc wrote them;
//! - a build that works: its warnings (about the student's code), not
//!   cargo's status lines;
//! - a build still running after [`LIVE_AFTER`] (a first build, a changed
//!   dependency, a lock held by another cargo): everything, live from then
//!   on, so that a minute of compiling is not a silent minute.
//!
//! Compiler messages beyond [`SHOWN_MESSAGE_LINES`] are cut, with a note
//! naming the cargo command that shows them all: the first errors are the
//! ones to fix, and the rest often follow from them. Cargo colours its
//! output only when the checker's stderr is a terminal and `NO_COLOR` is
//! not set, as the checker's own output would.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::course::Exercise;

/// The workspace this checker belongs to; builds run there.
pub fn workspace_root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// Whether the graded binaries are the student's exercises or the reference
/// solutions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavour {
    Exercises,
    Solutions,
}

impl Flavour {
    fn package(self) -> &'static str {
        match self {
            Flavour::Exercises => "exercises",
            Flavour::Solutions => "solutions",
        }
    }

    pub fn bin(self, exercise: &Exercise) -> String {
        format!(
            "{}-{:02}",
            self.package().trim_end_matches('s'),
            exercise.number
        )
    }

    /// The source file a student edits (or the solution's), relative to the
    /// workspace root.
    pub fn source(self, exercise: &Exercise) -> String {
        format!(
            "{}/{:02}-{}/main.rs",
            self.package(),
            exercise.number,
            exercise.slug
        )
    }
}

/// Builds one binary and returns its path, or a one-line explanation.
pub async fn build(flavour: Flavour, exercise: &Exercise) -> Result<PathBuf, String> {
    build_all(flavour, &[exercise])
        .await
        .pop()
        .expect("one result per exercise")
}

/// Builds the binaries of `exercises` in one cargo run and returns, for
/// each, its path or a one-line explanation.
///
/// One run instead of one per exercise: cargo checks what is fresh once and
/// compiles what is not in parallel. `--keep-going` builds every binary that
/// compiles, so a half-written exercise 3 does not stop exercises 1 and 2
/// from being graded; its errors are the only ones the student sees.
pub async fn build_all(flavour: Flavour, exercises: &[&Exercise]) -> Vec<Result<PathBuf, String>> {
    build_with(flavour, exercises, &[]).await
}

/// Builds one binary with `--release`, for `checker bench`: what a server
/// costs is only worth measuring optimised.
pub async fn build_release(flavour: Flavour, exercise: &Exercise) -> Result<PathBuf, String> {
    build_with(flavour, &[exercise], &["--release"])
        .await
        .pop()
        .expect("one result per exercise")
}

/// A build still running after this long is doing more than recompiling
/// the student's file (about a second): from then on its output is shown
/// as it comes.
const LIVE_AFTER: Duration = Duration::from_secs(3);

/// Lines of compiler messages shown before the rest is cut: at the end of
/// the message under way then (a blank line), or at twice this in any case.
const SHOWN_MESSAGE_LINES: usize = 60;

/// [`build_all`] with extra arguments for `cargo build`.
async fn build_with(
    flavour: Flavour,
    exercises: &[&Exercise],
    extra_args: &[&str],
) -> Vec<Result<PathBuf, String>> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let bins: Vec<String> = exercises
        .iter()
        .map(|exercise| flavour.bin(exercise))
        .collect();
    let mut command = Command::new(&cargo);
    command.args(["build", "--keep-going", "-p", flavour.package()]);
    command.args(extra_args);
    for bin in &bins {
        command.args(["--bin", bin]);
    }
    let colour = if colour_wanted(&std::io::stderr()) {
        "always"
    } else {
        "never"
    };
    let spawned = command
        .arg("--message-format=json-render-diagnostics")
        .args(["--color", colour])
        .current_dir(workspace_root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // A checker stopped by a signal takes its build with it.
        .kill_on_drop(true)
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(error) => {
            let message = format!("could not run {}: {error}", cargo.to_string_lossy());
            return exercises.iter().map(|_| Err(message.clone())).collect();
        }
    };

    let mut messages = BufReader::new(child.stdout.take().expect("stdout is piped")).lines();
    let mut progress = BufReader::new(child.stderr.take().expect("stderr is piped")).lines();
    let mut shown = CargoOutput::default();
    let mut executables: Vec<Option<PathBuf>> = vec![None; bins.len()];
    let (mut messages_open, mut progress_open) = (true, true);
    let live_after = tokio::time::sleep(LIVE_AFTER);
    tokio::pin!(live_after);
    while messages_open || progress_open {
        tokio::select! {
            line = messages.next_line(), if messages_open => match line {
                Ok(Some(line)) => {
                    for (bin, executable) in bins.iter().zip(&mut executables) {
                        if let Some(path) = artifact_executable(&line, bin) {
                            *executable = Some(path);
                        }
                    }
                }
                _ => messages_open = false,
            },
            line = progress.next_line(), if progress_open => match line {
                Ok(Some(line)) => shown.line(line),
                _ => progress_open = false,
            },
            () = &mut live_after, if !shown.live => shown.go_live(),
        }
    }
    let succeeded = child.wait().await.is_ok_and(|status| status.success());
    let failed_bins: Vec<&str> = bins
        .iter()
        .zip(&executables)
        .filter(|(_, executable)| executable.is_none())
        .map(|(bin, _)| bin.as_str())
        .collect();
    let rerun_bins = if failed_bins.is_empty() {
        bins.iter().map(String::as_str).collect()
    } else {
        failed_bins.clone()
    };
    let mut rerun = format!("cargo build -p {}", flavour.package());
    for arg in extra_args {
        rerun.push_str(&format!(" {arg}"));
    }
    for bin in rerun_bins {
        rerun.push_str(&format!(" --bin {bin}"));
    }
    shown.finish(!succeeded || !failed_bins.is_empty(), &rerun);

    let name = match flavour {
        Flavour::Exercises => "exercise",
        Flavour::Solutions => "solution",
    };
    exercises
        .iter()
        .zip(executables)
        .map(|(exercise, executable)| {
            executable.ok_or_else(|| {
                format!(
                    "{name} {} does not compile: fix the errors above ({})",
                    exercise.number,
                    flavour.source(exercise)
                )
            })
        })
        .collect()
}

/// Whether output to `stream` may be coloured: only on a terminal, and
/// never when `NO_COLOR` is set to anything (<https://no-color.org>).
pub fn colour_wanted(stream: &impl IsTerminal) -> bool {
    let no_colour = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
    !no_colour && stream.is_terminal()
}

/// What the student sees of cargo's stderr (see the module's comment).
#[derive(Default)]
struct CargoOutput {
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
    fn line(&mut self, line: String) {
        if !self.live {
            self.held.push(line);
        } else if self.admit(&line) {
            eprintln!("{line}");
        }
    }

    fn go_live(&mut self) {
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
    fn finish(mut self, failed: bool, rerun: &str) {
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

/// The `executable` of a `compiler-artifact` message for the binary `bin`.
fn artifact_executable(line: &str, bin: &str) -> Option<PathBuf> {
    let message: serde_json::Value = serde_json::from_str(line).ok()?;
    if message["reason"] != "compiler-artifact" || message["target"]["name"] != bin {
        return None;
    }
    message["executable"].as_str().map(PathBuf::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_executable_of_the_right_artifact() {
        let line = r#"{"reason":"compiler-artifact","target":{"name":"exercise-03","kind":["bin"]},"executable":"/t/debug/exercise-03","fresh":true}"#;
        assert_eq!(
            artifact_executable(line, "exercise-03"),
            Some(PathBuf::from("/t/debug/exercise-03"))
        );
        assert_eq!(artifact_executable(line, "exercise-04"), None);
        let library =
            r#"{"reason":"compiler-artifact","target":{"name":"board"},"executable":null}"#;
        assert_eq!(artifact_executable(library, "board"), None);
        assert_eq!(artifact_executable("not json", "board"), None);
    }

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

    #[test]
    fn names_binaries_and_sources() {
        let exercise = Exercise {
            number: 4,
            slug: "token-in-url",
            title: "Token in the URL",
            chapter: "token-in-url.md",
        };
        assert_eq!(Flavour::Exercises.bin(&exercise), "exercise-04");
        assert_eq!(Flavour::Solutions.bin(&exercise), "solution-04");
        assert_eq!(
            Flavour::Exercises.source(&exercise),
            "exercises/04-token-in-url/main.rs"
        );
    }
}
