//! Building the exercise and solution binaries with cargo.
//!
//! The checker asks cargo for the path of the binary it built (the
//! `compiler-artifact` message of `--message-format=json-render-diagnostics`)
//! instead of guessing `target/debug/...`, so `CARGO_TARGET_DIR` and any other
//! cargo configuration keep working. Cargo's stderr is passed through: the
//! student sees the usual progress and compiler errors, and the checker adds a
//! single line of its own when the build fails.

use std::path::{Path, PathBuf};
use std::process::Stdio;

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
    let spawned = command
        .arg("--message-format=json-render-diagnostics")
        .current_dir(workspace_root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
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

    let stdout = child.stdout.take().expect("stdout is piped");
    let mut lines = BufReader::new(stdout).lines();
    let mut executables: Vec<Option<PathBuf>> = vec![None; bins.len()];
    while let Ok(Some(line)) = lines.next_line().await {
        for (bin, executable) in bins.iter().zip(&mut executables) {
            if let Some(path) = artifact_executable(&line, bin) {
                *executable = Some(path);
            }
        }
    }
    // Whether cargo failed matters less than which binaries it produced.
    let _ = child.wait().await;
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
    }
}
