//! The text report: the lines of each row, the progress line and the
//! closing count, printed as rows finish.
//!
//! A failure always says what was sent, what was expected and what came
//! back, then ends with a command that redoes it by hand
//! ([`super::by_hand`]). A row that failed only because the server
//! panicked at an unwritten stub names the stub instead of its evidence,
//! and the stub is explained once after the rows ([`super::stubs`]). The
//! closing line `N passed, M failed` has exactly that shape because CI and
//! the tests read it.

use std::io::Write;

use crate::cargo::Flavour;
use crate::course::Exercise;
use crate::failure::Failure;
use crate::graded::{ExerciseReport, RowResult, Subject, Totals};
use crate::plan::ROWS;

use super::by_hand::{self, Commands};
use super::stubs::{self, INDENT, StubPanic};

/// How much to print and which file to point at.
#[derive(Clone)]
pub(crate) struct Style {
    pub verbose: bool,
    /// `exercises/0N-<slug>/main.rs` when the student's own stubs are graded,
    /// for rows that belong to that exercise's lesson.
    pub stub: Option<(u8, String)>,
    /// How the graded server is started and graded again, for the command
    /// that ends each failed row.
    pub commands: Option<Commands>,
}

impl Style {
    /// The style of `report`'s rows; `verbose` also shows passing rows'
    /// frames. The student's own exercise points its rows' hints at its
    /// stub file; a built or shell-started server ends each failed row
    /// with the commands that redo it.
    pub(crate) fn of(report: &ExerciseReport, verbose: bool) -> Style {
        let exercise = report.exercise;
        let stub = report
            .students_own()
            .then(|| (exercise.number, Flavour::Exercises.source(exercise)));
        let commands = match &report.subject {
            Subject::Built(flavour) => Some(Commands::built(*flavour, exercise)),
            Subject::Shell(command) => Some(Commands::shell(command, exercise)),
            Subject::AttackLab => None,
        };
        Style {
            verbose,
            stub,
            commands,
        }
    }
}

/// The lines printed for one row.
pub(crate) fn row_lines(result: &RowResult, style: &Style) -> Vec<String> {
    let row = result.row;
    let mut lines = Vec::new();
    match &result.outcome {
        Ok(()) => {
            lines.push(format!("PASS {}  {}", row.id, row.name));
            if style.verbose {
                push_frames(&mut lines, &result.transcript);
            }
        }
        Err(failure) => {
            lines.push(format!("FAIL {}  {}", row.id, row.name));
            match StubPanic::of(failure) {
                Some(stub) => {
                    lines.push(stubs::waiting_line(&stub));
                    lines.push(format!("{INDENT}request: {}", failure.request));
                }
                None => push_evidence(&mut lines, result, failure, style),
            }
            if let Some(commands) = &style.commands {
                let redo = by_hand::lines(row, failure, commands, &result.issued);
                lines.extend(redo.into_iter().map(|line| format!("{INDENT}{line}")));
            }
        }
    }
    lines
}

/// What was sent, expected and got, the cases and frames, the server's
/// trouble and the hint.
fn push_evidence(lines: &mut Vec<String>, result: &RowResult, failure: &Failure, style: &Style) {
    let row = result.row;
    lines.push(format!("{INDENT}request: {}", failure.request));
    lines.push(format!("{INDENT}expected: {}", failure.expected));
    lines.push(format!("{INDENT}got: {}", failure.got));
    if let Some((heading, cases)) = failure.cases.split_first() {
        lines.push(format!("{INDENT}{heading}"));
        for case in cases {
            lines.push(format!("{INDENT}{INDENT}{case}"));
        }
    }
    push_frames(lines, &result.transcript);
    if let Some(diagnosis) = &failure.diagnosis {
        lines.push(format!("{INDENT}server: {}", diagnosis.summary));
        for line in &diagnosis.output {
            lines.push(format!("{INDENT}{INDENT}server| {line}"));
        }
    }
    let (text, book) = failure
        .hint
        .map_or((row.hint, row.book), |hint| (hint.text, hint.book));
    let chapter = crate::course::chapter_title(book.split('#').next().unwrap_or(book));
    let mut hint = format!("{INDENT}hint: {text} — see \"{chapter}\", book/src/{book}");
    if let Some((exercise, stub)) = &style.stub
        && *exercise == row.exercise
    {
        hint.push_str(&format!(" and the stub in {stub}"));
    }
    lines.push(hint);
}

fn push_frames(lines: &mut Vec<String>, transcript: &[String]) {
    if transcript.is_empty() {
        return;
    }
    lines.push(format!("{INDENT}frames:"));
    for frame in transcript {
        lines.push(format!("{INDENT}{INDENT}{frame}"));
    }
}

/// How far each exercise got in a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mark {
    Passed,
    Failed,
    NotGraded,
}

/// `progress: 1 ✓  2 ✗  3 ·  ...`.
pub(crate) fn progress_line(marks: &[(u8, Mark)]) -> String {
    let marks: Vec<String> = marks
        .iter()
        .map(|(number, mark)| {
            let sign = match mark {
                Mark::Passed => "✓",
                Mark::Failed => "✗",
                Mark::NotGraded => "·",
            };
            format!("{number} {sign}")
        })
        .collect();
    format!("progress: {}", marks.join("  "))
}

/// The closing line, alone on its line.
pub(crate) fn count_line(passed: usize, failed: usize) -> String {
    format!("{passed} passed, {failed} failed")
}

pub(crate) fn print_count(totals: &Totals) {
    println!("{}", count_line(totals.passed, totals.failed));
}

/// Prints one row as [`row_lines`] renders it.
pub(crate) fn print_row(result: &RowResult, style: &Style) {
    print_lines(row_lines(result, style));
}

/// Prints, after the rows, one block per stub that rows waited for.
pub(crate) fn print_stubs(results: &[RowResult], style: &Style) {
    print_lines(stubs::block_lines(results, style.commands.as_ref()));
}

/// The stub the first failed row waited for, if it did: `with_token
/// (exercises/04-token-in-url/main.rs:105)`.
pub(crate) fn first_stub(results: &[RowResult]) -> Option<String> {
    let failure = results
        .iter()
        .find_map(|result| result.outcome.as_ref().err())?;
    StubPanic::of(failure).map(|stub| format!("{} ({})", stub.name(), stub.location()))
}

fn print_lines(lines: Vec<String>) {
    for line in lines {
        println!("{line}");
    }
}

/// `exercise 3  Rooms and typing  (exercises/03-rooms/main.rs)`.
pub(crate) fn print_heading(exercise: &Exercise, source: &str) {
    println!(
        "exercise {}  {}  ({source})",
        exercise.number, exercise.title
    );
}

/// A single exercise that did not build: cargo has shown why.
pub(crate) fn print_did_not_compile(message: &str, rows: usize) {
    println!("{message}");
    println!("{}", count_line(0, rows));
}

/// `--list-rows`: the table of rows, tab-separated, for people and `grep`.
pub(crate) fn print_row_table() {
    // Written without println!, which panics when a reader such as `head`
    // closes the pipe early.
    let mut out = std::io::stdout().lock();
    for row in ROWS.iter() {
        let retired = row.retired_after.map_or("-".to_owned(), |n| n.to_string());
        let line = format!(
            "{}\t{}\t{}\t{}\t{}\t{}",
            row.id,
            row.exercise,
            retired,
            row.name,
            row.book,
            row.chapter_title()
        );
        if writeln!(out, "{line}").is_err() {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_and_count_lines_have_their_shape() {
        let marks = [(1, Mark::Passed), (2, Mark::Failed), (3, Mark::NotGraded)];
        assert_eq!(progress_line(&marks), "progress: 1 ✓  2 ✗  3 ·");
        assert_eq!(count_line(12, 1), "12 passed, 1 failed");
    }

    #[test]
    fn a_failure_shows_its_evidence_and_the_stub() {
        let row = ROWS
            .iter()
            .find(|row| row.id == "ws.no-credential")
            .unwrap();
        let result = RowResult {
            row,
            outcome: Err(Failure::new(
                "anonymous: GET /ws",
                "frame {\"error\":\"Unauthorized\"}",
                "close 1000 ''",
            )),
            transcript: vec!["anonymous ← close 1000 ''".to_owned()],
            duration: std::time::Duration::ZERO,
            issued: Default::default(),
        };
        let style = Style {
            verbose: false,
            stub: Some((2, "exercises/02-rejections/main.rs".to_owned())),
            commands: None,
        };
        let lines = row_lines(&result, &style);
        assert_eq!(lines[0], format!("FAIL ws.no-credential  {}", row.name));
        assert!(lines.contains(&"    got: close 1000 ''".to_owned()));
        assert!(lines.contains(&"        anonymous ← close 1000 ''".to_owned()));
        let hint = lines.last().unwrap();
        assert!(hint.contains(
            "see \"Approach 1: the session cookie during the upgrade\", \
             book/src/cookie-upgrade.md#rejecting-a-socket"
        ));
        assert!(hint.ends_with("the stub in exercises/02-rejections/main.rs"));
    }
}
