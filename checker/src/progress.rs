//! The student's progress, kept between runs: which exercises passed (and
//! which build of each passed), which row each failing one stopped at,
//! which were not started.
//!
//! It lives in `.checker-progress` at the workspace root (git ignores it: it
//! is the student's state, not the workbook's). Each line names an exercise
//! by its directory (`03-rooms`) and a failure by its row id, the stable
//! names the book and `--row` use, never by position: adding a row or an
//! exercise to the course leaves every line meaning what it meant, and a
//! line naming something the course no longer has is skipped, not an error.
//!
//! Two readers: `checker list` shows the statuses, and the default run
//! skips an exercise whose binary passed every row and has not changed
//! since (like a test runner's cache), so a student working on exercise 6
//! waits for exercise 6 alone. A pass line carries the fingerprint of the
//! binary and of the checker that passed it: its length and modification
//! time, which cargo changes whenever it rewrites a binary, so a changed
//! exercise or a changed table of rows grades again. `checker N`,
//! `--solutions`, `--row` and `--fresh` always grade, which is what an
//! instructor's grading should do.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use crate::cargo::Flavour;
use crate::course::{EXERCISES, Exercise};
use crate::graded::{ExerciseReport, Graded};
use crate::plan;

/// The file, at the workspace root.
pub(crate) const FILE: &str = ".checker-progress";

/// What the last grading of an exercise found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    Passed,
    /// The first failing row, by id.
    FailingAt(String),
    DidNotCompile,
}

/// One line: the status, and for a pass the build that passed.
struct Entry {
    status: Status,
    build: Option<String>,
}

fn path() -> PathBuf {
    crate::cargo::workspace_root().join(FILE)
}

/// The fingerprint of a file: its length and modification time, or `None`
/// if it cannot be read.
fn fingerprint(path: &Path) -> Option<String> {
    let metadata = std::fs::metadata(path).ok()?;
    let modified = metadata.modified().ok()?.duration_since(UNIX_EPOCH).ok()?;
    Some(format!("{}:{}", metadata.len(), modified.as_nanos()))
}

/// The build a pass of `binary` by this checker is recorded with.
fn build(binary: &Path) -> Option<String> {
    let checker = fingerprint(&std::env::current_exe().ok()?)?;
    Some(format!("{}/{checker}", fingerprint(binary)?))
}

fn entries(text: &str) -> BTreeMap<String, Entry> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let dir = words.next()?.to_owned();
            let (status, build) = match (words.next()?, words.next()) {
                ("passed", build) => (Status::Passed, build.map(str::to_owned)),
                ("failing", Some(row)) => (Status::FailingAt(row.to_owned()), None),
                ("did-not-compile", _) => (Status::DidNotCompile, None),
                _ => return None,
            };
            Some((dir, Entry { status, build }))
        })
        .collect()
}

/// Reads the statuses: exercise directory → status. Lines it cannot read
/// are skipped (an older or newer checker may have written them).
pub(crate) fn read_from(text: &str) -> BTreeMap<String, Status> {
    entries(text)
        .into_iter()
        .map(|(dir, entry)| (dir, entry.status))
        .collect()
}

/// The statuses as last recorded.
pub(crate) fn read() -> BTreeMap<String, Status> {
    read_from(&std::fs::read_to_string(path()).unwrap_or_default())
}

/// Whether `binary`, exactly as it is now, passed every row of
/// `exercise` with this checker.
pub(crate) fn passed_before(exercise: &Exercise, binary: &Path) -> bool {
    let text = std::fs::read_to_string(path()).unwrap_or_default();
    let recorded = entries(&text);
    match (recorded.get(&exercise.dir()), build(binary)) {
        (Some(entry), Some(now)) => entry.build.as_deref() == Some(now.as_str()),
        _ => false,
    }
}

/// Records what the student's exercises in `reports` came to: a failure,
/// a build error, or (when every row was graded) a pass with the build
/// that passed. Solutions and `--server-cmd` programs are not the
/// student's progress and are left out. A failure to write only loses
/// what `list` shows and costs a regrade, so it is not reported.
pub(crate) fn record(reports: &[ExerciseReport]) {
    let mut all = entries(&std::fs::read_to_string(path()).unwrap_or_default());
    for report in reports.iter().filter(|report| report.students_own()) {
        let entry = match (&report.graded, report.first_failure()) {
            (Graded::DidNotCompile(_), _) => Entry {
                status: Status::DidNotCompile,
                build: None,
            },
            (Graded::Rows(_), Some(row)) => Entry {
                status: Status::FailingAt(row.to_owned()),
                build: None,
            },
            (Graded::Rows(_), None) if report.complete => Entry {
                status: Status::Passed,
                build: report.binary.as_deref().and_then(build),
            },
            _ => continue,
        };
        all.insert(report.exercise.dir(), entry);
    }
    let text: String = all
        .iter()
        .map(|(dir, entry)| match (&entry.status, &entry.build) {
            (Status::Passed, Some(build)) => format!("{dir} passed {build}\n"),
            (Status::Passed, None) => format!("{dir} passed\n"),
            (Status::FailingAt(row), _) => format!("{dir} failing {row}\n"),
            (Status::DidNotCompile, _) => format!("{dir} did-not-compile\n"),
        })
        .collect();
    let _ = std::fs::write(path(), text);
}

/// How `list` words a status.
fn describe(status: Option<&Status>) -> String {
    match status {
        None => "not started".to_owned(),
        Some(Status::Passed) => "passed".to_owned(),
        Some(Status::DidNotCompile) => "does not compile".to_owned(),
        Some(Status::FailingAt(id)) => match plan::row(id) {
            Some(row) => format!("failing at {id} ({})", row.name),
            // The row was renamed or removed since that run.
            None => format!("failing at {id} (a row the checker no longer has; run it again)"),
        },
    }
}

/// The lines of `list`: every exercise with its status, chapter and stub.
/// (The status goes last: its length varies the most.)
pub(crate) fn list_lines(file: &str) -> Vec<String> {
    let statuses = read_from(file);
    EXERCISES
        .iter()
        .map(|exercise| {
            format!(
                "{:>2}  {:<34} book/src/{:<18} {:<38} {}",
                exercise.number,
                exercise.title,
                exercise.chapter,
                Flavour::Exercises.source(exercise),
                describe(statuses.get(&exercise.dir())),
            )
        })
        .collect()
}

/// The lines of `list` for the progress as recorded.
pub(crate) fn recorded_list_lines() -> Vec<String> {
    list_lines(&std::fs::read_to_string(path()).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_naming_unknown_things_are_read_without_harm() {
        let read = read_from(
            "01-cookie-auth passed\n\
             03-rooms failing rooms.close\n\
             99-from-the-future passed\n\
             garbage\n\
             04-token-in-url failing rooms.not-a-row-anymore\n",
        );
        assert_eq!(read["01-cookie-auth"], Status::Passed);
        assert_eq!(read["03-rooms"], Status::FailingAt("rooms.close".into()));
        assert_eq!(read.len(), 4, "every well-formed line, unknown or not");
        assert!(describe(read.get("04-token-in-url")).contains("no longer has"));
        assert_eq!(describe(None), "not started");
    }

    #[test]
    fn a_pass_holds_until_the_binary_changes() {
        let dir = tempfile::tempdir().unwrap();
        let binary = dir.path().join("exercise-03");
        std::fs::write(&binary, "one build").unwrap();
        let now = build(&binary).unwrap();
        let line = format!("03-rooms passed {now}\n");
        assert_eq!(
            entries(&line)["03-rooms"].build.as_deref(),
            Some(now.as_str())
        );
        assert_eq!(read_from(&line)["03-rooms"], Status::Passed);
        std::fs::write(&binary, "another build").unwrap();
        assert_ne!(build(&binary).unwrap(), now);
    }

    #[test]
    fn list_shows_every_exercise_whatever_the_file_names() {
        let lines = list_lines(
            "03-rooms failing rooms.a-row-added-later\n99-an-exercise-added-later passed\n",
        );
        assert_eq!(lines.len(), EXERCISES.len());
        assert!(lines[2].ends_with(
            "failing at rooms.a-row-added-later (a row the checker no longer has; run it again)"
        ));
        assert!(lines[0].ends_with("not started"));
        assert!(lines[0].contains("book/src/cookie-upgrade.md"));
        assert!(lines[0].contains("exercises/01-cookie-auth/main.rs"));
    }
}
