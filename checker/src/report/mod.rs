//! What the student reads: one `PASS`/`FAIL` line per row, the evidence under
//! each failure, the progress over the exercises and the closing count.
//!
//! A failure always says what was sent, what was expected and what came back,
//! in the protocol's own terms (`close 4001 'Unauthorized'`, a JSON frame), so
//! that it can be compared with the contract (the book's appendix) without reading the
//! checker, and ends with a command that redoes it by hand ([`by_hand`]). A
//! row that failed only because the server panicked at an unwritten stub
//! names the stub instead of its evidence, and the stub is explained once
//! after the rows ([`stubs`]). The closing line `N passed, M failed` has
//! exactly that shape because CI and the tests read it.

/// Prints a line of the text report, unless `--format json` replaces it.
macro_rules! say {
    ($($arg:tt)*) => {
        if crate::report::machine::text() {
            println!($($arg)*)
        }
    };
}

pub mod by_hand;
mod curl;
pub mod machine;
pub mod sent;
mod stubs;
mod summary;

use std::io::Write;

pub use by_hand::Commands;
pub use sent::Sent;
pub use summary::{ExerciseOutcome, Summary};

use sent::Redo;
use stubs::StubPanic;

use crate::course::Exercise;
use crate::grade::Totals;
use crate::rows::{ROWS, Row};

/// Why a row failed.
#[derive(Debug)]
pub struct Failure {
    pub request: String,
    /// What redoes the request by hand, when one request can (boxed: a
    /// failure travels in every `Result` of a check).
    pub redo: Option<Box<Redo>>,
    pub expected: String,
    pub got: String,
    /// For a row that tries several cases and reports the first that
    /// failed: a heading, then one line per case with what it got. (A boxed
    /// slice, not a `Vec`: a failure travels in every `Result` of a check,
    /// and clippy holds it under 128 bytes.)
    pub cases: Box<[String]>,
    /// The server did not answer within a bound; worth a diagnosis even when
    /// it neither crashed nor panicked.
    pub hung: bool,
    pub diagnosis: Option<Box<Diagnosis>>,
    /// A hint for the mistake the check recognised in what came back, in
    /// place of the row's own, which names the row's usual cause: one row
    /// can fail for more than one mistake, and the report should name the
    /// one its frames show.
    pub hint: Option<&'static Hint>,
}

/// A hint and the book section that explains it, as a row has them.
#[derive(Clone, Copy, Debug)]
pub struct Hint {
    pub text: &'static str,
    /// `file#anchor` under `book/src/`.
    pub book: &'static str,
}

/// Something about the server process itself: it did not start, crashed,
/// panicked or hung. Shown with the tail of its output.
#[derive(Debug)]
pub struct Diagnosis {
    pub summary: String,
    pub output: Vec<String>,
}

impl Failure {
    pub fn new(
        request: impl Into<Sent>,
        expected: impl Into<String>,
        got: impl Into<String>,
    ) -> Self {
        let sent = request.into();
        Failure {
            request: sent.text,
            redo: sent.redo.map(Box::new),
            expected: expected.into(),
            got: got.into(),
            cases: Box::default(),
            hung: false,
            diagnosis: None,
            hint: None,
        }
    }

    /// The cases the row tried, shown under `cases:` with `heading`.
    pub fn with_cases(mut self, heading: &str, cases: Vec<String>) -> Self {
        self.cases = std::iter::once(heading.to_owned()).chain(cases).collect();
        self
    }

    /// Names the mistake behind this failure with `hint` instead of the
    /// row's usual one.
    pub fn with_hint(mut self, hint: &'static Hint) -> Self {
        self.hint = Some(hint);
        self
    }

    pub fn hung(mut self) -> Self {
        self.hung = true;
        self
    }

    pub fn with_diagnosis(mut self, summary: String, output: Vec<String>) -> Self {
        self.diagnosis = Some(Box::new(Diagnosis { summary, output }));
        self
    }
}

/// The outcome of one row.
pub struct RowResult {
    pub row: &'static Row,
    pub outcome: Result<(), Failure>,
    pub transcript: Vec<String>,
    /// From the row's start (its slot taken) to its servers stopped.
    pub duration: std::time::Duration,
}

/// How much to print and which file to point at.
pub struct Style {
    pub verbose: bool,
    /// `exercises/0N-<slug>/main.rs` when the student's own stubs are graded,
    /// for rows that belong to that exercise's lesson.
    pub stub: Option<(u8, String)>,
    /// How the graded server is started and graded again, for the command
    /// that ends each failed row.
    pub commands: Option<Commands>,
}

const INDENT: &str = "    ";

/// The lines printed for one row.
pub fn row_lines(result: &RowResult, style: &Style) -> Vec<String> {
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
                let redo = by_hand::lines(row, failure, commands);
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
pub enum Mark {
    Passed,
    Failed,
    NotGraded,
}

/// `progress: 1 ✓  2 ✗  3 ·  ...`.
pub fn progress_line(marks: &[(u8, Mark)]) -> String {
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
pub fn count_line(passed: usize, failed: usize) -> String {
    format!("{passed} passed, {failed} failed")
}

pub fn print_count(totals: &Totals) {
    say!("{}", count_line(totals.passed, totals.failed));
}

/// Prints one row as [`row_lines`] renders it.
pub fn print_row(result: &RowResult, style: &Style) {
    print_lines(row_lines(result, style));
}

/// Prints, after the rows, one block per stub that rows waited for.
pub fn print_stubs(results: &[RowResult], style: &Style) {
    print_lines(stubs::block_lines(results, style.commands.as_ref()));
}

/// The stub the first failed row waited for, if it did: `with_token
/// (exercises/04-token-in-url/main.rs:105)`.
pub fn first_stub(results: &[RowResult]) -> Option<String> {
    let failure = results
        .iter()
        .find_map(|result| result.outcome.as_ref().err())?;
    StubPanic::of(failure).map(|stub| format!("{} ({})", stub.name(), stub.location()))
}

fn print_lines(lines: Vec<String>) {
    for line in lines {
        say!("{line}");
    }
}

/// `exercise 3  Rooms and typing  (exercises/03-rooms/main.rs)`.
pub fn print_heading(exercise: &Exercise, source: &str) {
    say!(
        "exercise {}  {}  ({source})",
        exercise.number,
        exercise.title
    );
}

/// A single exercise that did not build: cargo has shown why.
pub fn print_did_not_compile(message: &str, rows: usize) {
    say!("{message}");
    say!("{}", count_line(0, rows));
}

/// `--list-rows`: the table of rows, tab-separated, for people and `grep`.
pub fn print_row_table() {
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
