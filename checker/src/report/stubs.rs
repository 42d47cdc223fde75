//! Rows that wait for a stub: the server panicked at a `todo!()` the
//! student has not written yet, so the row could not be graded at all.
//!
//! Such a failure says nothing about the row's own behaviour, and its hint
//! would point at the wrong thing (a row about redacted logs, failing in
//! exercise 4 because the token stub is unwritten, would tell the student
//! to redact what `board` already redacts). So the row's report names the
//! stub instead, and the rows that panicked at one stub are explained once,
//! in a block after them: the stub, its message, the rows waiting on it and
//! the book section its comment points to.

use std::collections::BTreeMap;

use crate::failure::Failure;
use crate::graded::RowResult;

use super::by_hand::Commands;

/// The indent of every line under a row's `PASS`/`FAIL` line.
pub(super) const INDENT: &str = "    ";

/// A `todo!()` in the student's exercise that a server panicked at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct StubPanic {
    /// As the panic names it: `exercises/04-token-in-url/main.rs`.
    pub(super) file: String,
    pub(super) line: u32,
    pub(super) column: u32,
    /// The stub's own text: `exercise 4: with_token: decide which ...`.
    pub(super) message: String,
}

/// What the panic message of `todo!("...")` starts with.
const TODO: &str = "not yet implemented: ";

impl StubPanic {
    /// The stub a failed row's server panicked at, if it did. The runner's
    /// diagnosis quotes the first panic: `... panicked at FILE:LINE:COL:
    /// MESSAGE)`.
    pub(super) fn of(failure: &Failure) -> Option<StubPanic> {
        let summary = &failure.diagnosis.as_ref()?.summary;
        let (_, panic) = summary.split_once("panicked at ")?;
        let panic = panic.strip_suffix(')').unwrap_or(panic);
        let (location, message) = panic.split_once(": ")?;
        let mut parts = location.rsplitn(3, ':');
        let column = parts.next()?.parse().ok()?;
        let line = parts.next()?.parse().ok()?;
        let file = parts.next()?;
        let message = message.strip_prefix(TODO)?;
        file.contains("exercises/").then(|| StubPanic {
            file: file.to_owned(),
            line,
            column,
            message: message.to_owned(),
        })
    }

    /// `with_token`, the function the stub message names, or the stub's
    /// line when its message names none (`exercise 4: answer a bad token`).
    pub(super) fn name(&self) -> String {
        match self.message.splitn(3, ": ").collect::<Vec<_>>()[..] {
            [_, name, _] if !name.contains(' ') => name.to_owned(),
            _ => format!("the todo!() at line {}", self.line),
        }
    }

    /// `exercises/04-token-in-url/main.rs:105`.
    pub(super) fn location(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }

    /// The book section the stub's comment points to (`// Book: ...`, the
    /// nearest above it), when the file is the one the checker can read.
    fn book(&self) -> Option<String> {
        let path = crate::cargo::workspace_root().join(&self.file);
        book_above(&std::fs::read_to_string(path).ok()?, self.line)
    }
}

/// The `// Book: ...` line nearest above `line` in `source`, within 20
/// lines.
fn book_above(source: &str, line: u32) -> Option<String> {
    let above: Vec<&str> = source
        .lines()
        .take(usize::try_from(line).ok()?.saturating_sub(1))
        .collect();
    above
        .iter()
        .rev()
        .take(20)
        .find_map(|line| line.trim().strip_prefix("// Book: "))
        .map(str::to_owned)
}

/// The line that leads a waiting row's report, in place of its evidence
/// and hint.
pub(super) fn waiting_line(stub: &StubPanic) -> String {
    format!(
        "{INDENT}waits for {} ({}), still todo!(\"{}\"): the server panicked there, so this row is graded once that stub is written",
        stub.name(),
        stub.location(),
        stub.message
    )
}

/// The stubs that rows waited for, in the order of their first row, each
/// with its rows.
fn waiting(results: &[RowResult]) -> Vec<(StubPanic, Vec<&'static str>)> {
    let mut order: Vec<StubPanic> = Vec::new();
    let mut rows: BTreeMap<(String, u32), Vec<&'static str>> = BTreeMap::new();
    for result in results {
        let Err(failure) = &result.outcome else {
            continue;
        };
        let Some(stub) = StubPanic::of(failure) else {
            continue;
        };
        let key = (stub.file.clone(), stub.line);
        if !rows.contains_key(&key) {
            order.push(stub);
        }
        rows.entry(key).or_default().push(result.row.id);
    }
    order
        .into_iter()
        .map(|stub| {
            let ids = rows
                .remove(&(stub.file.clone(), stub.line))
                .unwrap_or_default();
            (stub, ids)
        })
        .collect()
}

/// One block per stub that rows waited for, after the rows, and the
/// command to run once they are written.
pub(super) fn block_lines(results: &[RowResult], commands: Option<&Commands>) -> Vec<String> {
    let waiting = waiting(results);
    let mut lines = Vec::new();
    for (stub, rows) in &waiting {
        let count = match rows.len() {
            1 => "1 row waits".to_owned(),
            n => format!("{n} rows wait"),
        };
        lines.push(format!(
            "STUB {}  todo!(\"{}\")",
            stub.location(),
            stub.message
        ));
        lines.push(format!(
            "{INDENT}{count} for it, graded once it is written: {}",
            rows.join(", ")
        ));
        if let Some(book) = stub.book() {
            lines.push(format!("{INDENT}read: {book} (the stub's comment)"));
        }
    }
    if let Some(commands) = commands.filter(|_| !waiting.is_empty()) {
        let stubs = if waiting.len() == 1 { "it" } else { "them" };
        lines.push(format!(
            "{INDENT}once you have written {stubs}: {}",
            commands.rerun
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn panicked(summary: &str) -> Failure {
        Failure::new("GET /ws", "a frame", "nothing").with_diagnosis(summary.to_owned(), Vec::new())
    }

    #[test]
    fn reads_the_stub_from_the_panic() {
        let failure = panicked(
            "the server panicked during the row: a todo!() stub was reached (thread 'tokio-rt-worker' (15388) panicked at exercises/04-token-in-url/main.rs:110:5: not yet implemented: exercise 4: with_token: decide which credential this upgrade is authenticated with)",
        );
        let stub = StubPanic::of(&failure).expect("a stub");
        assert_eq!(stub.location(), "exercises/04-token-in-url/main.rs:110");
        assert_eq!(stub.column, 5);
        assert_eq!(stub.name(), "with_token");
        assert_eq!(
            stub.message,
            "exercise 4: with_token: decide which credential this upgrade is authenticated with"
        );
    }

    /// A stub as the template writes one: the book is read from the
    /// comment above it. (The shipped file is not read here: a student
    /// who has written the stub no longer has it, and the tests pass at
    /// every stage of their work.)
    #[test]
    fn the_book_is_the_comment_above_the_stub() {
        let source = "fn with_token(token: String) -> Credential {\n    \
             // Exercise 4: this upgrade carries a token.\n    \
             // Book: book/src/token-in-url.md#which-credential-wins\n    \
             todo!(\"exercise 4: with_token: decide\")\n}\n";
        assert_eq!(
            book_above(source, 4).as_deref(),
            Some("book/src/token-in-url.md#which-credential-wins")
        );
        assert_eq!(book_above(source, 2), None, "nothing above the comment");
    }

    #[test]
    fn a_stub_without_a_function_name_is_named_by_its_line() {
        let failure = panicked(
            "the server panicked during the row: a todo!() stub was reached (thread 'x' panicked at exercises/04-token-in-url/main.rs:215:37: not yet implemented: exercise 4: answer a bad token)",
        );
        let stub = StubPanic::of(&failure).expect("a stub");
        assert_eq!(stub.name(), "the todo!() at line 215");
    }

    #[test]
    fn other_panics_are_not_stubs() {
        for summary in [
            "the server panicked during the row (thread 'x' panicked at exercises/01-cookie-auth/main.rs:3:5: index out of bounds)",
            "the server panicked during the row: a todo!() stub was reached (thread 'x' panicked at src/main.rs:3:5: not yet implemented)",
            "the server exited during the row (exit code 1)",
        ] {
            assert_eq!(StubPanic::of(&panicked(summary)), None, "{summary}");
        }
    }
}
