//! Remembers which exercise binaries passed, so that the student's loop
//! grades only what changed.
//!
//! `cargo run -p checker` grades the exercises in order. A student working
//! on exercise 6 has not touched exercises 1-5 since they passed; grading
//! them again on every run would make each verdict wait for five exercises'
//! rows. So when a binary passed every row, its fingerprint is written next
//! to it in the target directory, and the next default run skips an
//! exercise whose binary and checker are both unchanged (like a test
//! runner's cache).
//!
//! A fingerprint is the file's length and modification time: cargo rewrites
//! a binary whenever its source or any dependency changes. The checker's own
//! binary is part of it, so a changed table of rows invalidates every pass.
//! Only the default run uses this; `checker N`, `--solutions`, `--row` and
//! `--fresh` always grade, which is what an instructor's grading should do.

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

/// The file, in the directory of the graded binaries, that holds the passes.
const PASSES_FILE: &str = "checker-passes.txt";

/// The fingerprint of a file: its length and modification time, or `None`
/// if it cannot be read.
fn fingerprint(path: &Path) -> Option<String> {
    let metadata = std::fs::metadata(path).ok()?;
    let modified = metadata.modified().ok()?.duration_since(UNIX_EPOCH).ok()?;
    Some(format!("{}:{}", metadata.len(), modified.as_nanos()))
}

/// The line that records a pass of `binary` by this checker.
fn pass_line(binary: &Path) -> Option<String> {
    let checker = fingerprint(&std::env::current_exe().ok()?)?;
    Some(format!(
        "{} {} {checker}",
        binary.file_name()?.to_string_lossy(),
        fingerprint(binary)?
    ))
}

fn passes_file(binary: &Path) -> Option<PathBuf> {
    Some(binary.parent()?.join(PASSES_FILE))
}

/// Whether `binary`, exactly as it is now, passed every row of this checker.
pub fn passed_before(binary: &Path) -> bool {
    let (Some(line), Some(file)) = (pass_line(binary), passes_file(binary)) else {
        return false;
    };
    std::fs::read_to_string(file).is_ok_and(|passes| passes.lines().any(|pass| pass == line))
}

/// Records that `binary` passed every row. A failure to write only costs a
/// regrade next time, so it is not reported.
pub fn record_pass(binary: &Path) {
    let (Some(line), Some(file)) = (pass_line(binary), passes_file(binary)) else {
        return;
    };
    let name = format!(
        "{} ",
        binary.file_name().unwrap_or_default().to_string_lossy()
    );
    let mut passes: Vec<String> = std::fs::read_to_string(&file)
        .unwrap_or_default()
        .lines()
        .filter(|pass| !pass.starts_with(&name))
        .map(str::to_owned)
        .collect();
    passes.push(line);
    let _ = std::fs::write(file, passes.join("\n") + "\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pass_holds_until_the_binary_changes() {
        let dir = tempfile::tempdir().unwrap();
        let binary = dir.path().join("exercise-03");
        std::fs::write(&binary, "one build").unwrap();
        assert!(!passed_before(&binary));
        record_pass(&binary);
        assert!(passed_before(&binary));
        record_pass(&binary);
        let passes = std::fs::read_to_string(dir.path().join(PASSES_FILE)).unwrap();
        assert_eq!(passes.lines().count(), 1, "one line per binary");
        std::fs::write(&binary, "another build").unwrap();
        assert!(!passed_before(&binary));
    }
}
