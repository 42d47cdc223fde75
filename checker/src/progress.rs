//! The student's progress, kept between runs for `checker list`: which
//! exercises passed, which row each failing one stopped at, which were not
//! started.
//!
//! It lives in `.checker-progress` at the workspace root (git ignores it: it
//! is the student's state, not the workbook's). Each line names an exercise
//! by its directory (`03-rooms`) and a failure by its row id, the stable
//! names the book and `--row` use, never by position: adding a row or an
//! exercise to the course leaves every line meaning what it meant, and a
//! line naming something the course no longer has is skipped, not an error.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::cargo::Flavour;
use crate::course::{EXERCISES, Exercise};
use crate::plan;

/// The file, at the workspace root.
pub const FILE: &str = ".checker-progress";

/// What the last grading of an exercise found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    Passed,
    /// The first failing row, by id.
    FailingAt(String),
    DidNotCompile,
}

fn path() -> PathBuf {
    crate::cargo::workspace_root().join(FILE)
}

/// Reads the file: exercise directory → status. Lines it cannot read are
/// skipped (an older or newer checker may have written them).
pub fn read_from(text: &str) -> BTreeMap<String, Status> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let dir = words.next()?.to_owned();
            let status = match (words.next()?, words.next()) {
                ("passed", _) => Status::Passed,
                ("failing", Some(row)) => Status::FailingAt(row.to_owned()),
                ("did-not-compile", _) => Status::DidNotCompile,
                _ => return None,
            };
            Some((dir, status))
        })
        .collect()
}

fn read() -> BTreeMap<String, Status> {
    read_from(&std::fs::read_to_string(path()).unwrap_or_default())
}

/// Records the status of an exercise. A failure to write only loses the
/// status shown by `list`, so it is not reported.
pub fn record(exercise: &Exercise, status: Status) {
    let mut all = read();
    all.insert(exercise.dir(), status);
    let text: String = all
        .iter()
        .map(|(dir, status)| match status {
            Status::Passed => format!("{dir} passed\n"),
            Status::FailingAt(row) => format!("{dir} failing {row}\n"),
            Status::DidNotCompile => format!("{dir} did-not-compile\n"),
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
pub fn list_lines(file: &str) -> Vec<String> {
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

/// `checker list`.
pub fn list() -> u8 {
    let file = std::fs::read_to_string(path()).unwrap_or_default();
    // The attack labs have no status to remember: each run grades both rows.
    for line in list_lines(&file)
        .into_iter()
        .chain(crate::attack::list_lines())
    {
        println!("{}", line.trim_end());
    }
    0
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
