//! Building the exercise and solution binaries with cargo.
//!
//! The checker asks cargo for the path of the binary it built (the
//! `compiler-artifact` message of `--message-format=json-render-diagnostics`)
//! instead of guessing `target/debug/...`, so `CARGO_TARGET_DIR` and any other
//! cargo configuration keep working.
//!
//! Cargo's stderr is captured rather than passed through: what the student
//! sees of it, and when, is [`output`]'s.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::course::Exercise;

mod output;

use output::{CargoOutput, LIVE_AFTER, colour_wanted};

/// The workspace this checker belongs to; builds run there.
pub(crate) fn workspace_root() -> &'static Path {
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
pub(crate) async fn build(flavour: Flavour, exercise: &Exercise) -> Result<PathBuf, String> {
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
pub(crate) async fn build_all(
    flavour: Flavour,
    exercises: &[&Exercise],
) -> Vec<Result<PathBuf, String>> {
    build_with(flavour, exercises, &[]).await
}

/// Builds one binary with `--release`, for `checker bench`: what a server
/// costs is only worth measuring optimised.
pub(crate) async fn build_release(
    flavour: Flavour,
    exercise: &Exercise,
) -> Result<PathBuf, String> {
    build_with(flavour, &[exercise], &["--release"])
        .await
        .pop()
        .expect("one result per exercise")
}

/// [`build_all`] with extra arguments for `cargo build`.
async fn build_with(
    flavour: Flavour,
    exercises: &[&Exercise],
    extra_args: &[&str],
) -> Vec<Result<PathBuf, String>> {
    let bins: Vec<String> = exercises
        .iter()
        .map(|exercise| flavour.bin(exercise))
        .collect();
    let executables = match build_bins(flavour.package(), &bins, extra_args).await {
        Ok(executables) => executables,
        Err(message) => return exercises.iter().map(|_| Err(message.clone())).collect(),
    };
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

/// Builds one binary of any package of the workspace (an attack lab's
/// client, the broken server) and returns its path, or a one-line
/// explanation naming `source`, the file to fix.
pub(crate) async fn build_bin(package: &str, bin: &str, source: &str) -> Result<PathBuf, String> {
    build_bins(package, &[bin.to_owned()], &[])
        .await?
        .pop()
        .flatten()
        .ok_or_else(|| format!("{bin} does not compile: fix the errors above ({source})"))
}

/// Builds `bins` of `package` in one cargo run; the path of each, or
/// `None` for one that did not build (cargo's errors are shown). An error
/// when cargo itself could not be run.
async fn build_bins(
    package: &str,
    bins: &[String],
    extra_args: &[&str],
) -> Result<Vec<Option<PathBuf>>, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(&cargo);
    command.args(["build", "--keep-going", "-p", package]);
    command.args(extra_args);
    for bin in bins {
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
            return Err(format!(
                "could not run {}: {error}",
                cargo.to_string_lossy()
            ));
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
            () = &mut live_after, if !shown.is_live() => shown.go_live(),
        }
    }
    let succeeded = child.wait().await.is_ok_and(|status| status.success());
    let failed_bins: Vec<&str> = bins
        .iter()
        .zip(&executables)
        .filter(|(_, executable)| executable.is_none())
        .map(|(bin, _)| bin.as_str())
        .collect();
    // The note on cut output names the binaries that failed, if any.
    let named_bins = if failed_bins.is_empty() {
        bins.iter().map(String::as_str).collect()
    } else {
        failed_bins.clone()
    };
    shown.finish(
        !succeeded || !failed_bins.is_empty(),
        &build_command(package, extra_args, &named_bins),
    );
    Ok(executables)
}

/// `cargo build -p exercises --bin exercise-03`: the build as the student
/// runs it to see all of its output.
fn build_command(package: &str, extra_args: &[&str], bins: &[&str]) -> String {
    let mut words = vec!["cargo", "build", "-p", package];
    words.extend(extra_args);
    for bin in bins {
        words.extend(["--bin", bin]);
    }
    words.join(" ")
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
        assert_eq!(
            build_command("solutions", &["--release"], &["solution-04"]),
            "cargo build -p solutions --release --bin solution-04"
        );
    }
}
