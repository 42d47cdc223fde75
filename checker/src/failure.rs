//! Why a row failed: the error of every check and of both clients.
//!
//! A failure says what was sent, what was expected and what came back, in
//! the protocol's own terms, and may carry the cases a row tried, what the
//! server process itself did (it crashed, panicked or hung) and a hint for
//! the mistake the check recognised. It is a value the report reads; it
//! knows nothing of how the report prints it.

use crate::sent::{Redo, Sent};

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
