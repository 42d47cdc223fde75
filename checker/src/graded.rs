//! What grading produces: a value per row and one report per exercise,
//! which every output reads (the text report, JSON, JUnit, the progress
//! the checker keeps between runs) and none changes.
//!
//! A row's result holds its outcome, its transcript and the secrets its
//! servers issued, so that the command redoing it by hand can be written
//! from the result alone, after its servers are gone.

use std::path::PathBuf;
use std::time::Duration;

use crate::cargo::Flavour;
use crate::course::Exercise;
use crate::failure::Failure;
use crate::issued::Issued;
use crate::rows::Row;

/// The outcome of one row.
pub struct RowResult {
    pub row: &'static Row,
    pub outcome: Result<(), Failure>,
    pub transcript: Vec<String>,
    /// From the row's start (its slot taken) to its servers stopped.
    pub duration: Duration,
    /// Whose each secret the row's servers gave was.
    pub issued: Issued,
}

impl RowResult {
    /// A row that failed before its check ran (its server did not start).
    pub fn not_run(row: &'static Row, failure: Failure) -> Self {
        RowResult {
            row,
            outcome: Err(failure),
            transcript: Vec::new(),
            duration: Duration::ZERO,
            issued: Issued::default(),
        }
    }
}

/// What became of one exercise.
pub(crate) enum Graded {
    /// Its rows ran: every result, in table order.
    Rows(Vec<RowResult>),
    /// It did not build; cargo's message.
    DidNotCompile(String),
    /// Its binary passed every row before and has not changed since.
    PassedBefore,
}

/// What was graded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Subject {
    /// An exercise or a solution the checker built from this workspace.
    Built(Flavour),
    /// A server started by `--server-cmd` with this shell command.
    Shell(String),
    /// The two rows of an attack lab.
    AttackLab,
}

/// One exercise (or one attack lab) graded: which program, and what came
/// of its rows.
pub(crate) struct ExerciseReport {
    pub exercise: &'static Exercise,
    /// How many rows were (or, not built, would have been) graded.
    pub row_count: usize,
    pub graded: Graded,
    pub subject: Subject,
    /// The binary that was graded (for the progress, which remembers which
    /// build passed).
    pub binary: Option<PathBuf>,
    /// Every row of the exercise was graded (no `--row`), so a pass is a
    /// pass of the whole exercise.
    pub complete: bool,
}

impl ExerciseReport {
    /// The student's own exercise, built by the checker: its outcome is
    /// the student's progress.
    pub(crate) fn students_own(&self) -> bool {
        self.subject == Subject::Built(Flavour::Exercises)
    }

    /// The results of the rows that ran (none when it did not build or
    /// was skipped).
    pub(crate) fn results(&self) -> &[RowResult] {
        match &self.graded {
            Graded::Rows(results) => results,
            _ => &[],
        }
    }

    /// The first row that failed, by id.
    pub(crate) fn first_failure(&self) -> Option<&'static str> {
        self.results()
            .iter()
            .find(|result| result.outcome.is_err())
            .map(|result| result.row.id)
    }

    /// Whether a row failed or the program did not build.
    pub(crate) fn failed(&self) -> bool {
        match &self.graded {
            Graded::DidNotCompile(_) => true,
            Graded::PassedBefore => false,
            Graded::Rows(_) => self.first_failure().is_some(),
        }
    }

    /// Passed and failed rows, counted as the closing line counts them: a
    /// skipped exercise's rows passed, an unbuilt one's failed.
    pub(crate) fn totals(&self) -> Totals {
        match &self.graded {
            Graded::DidNotCompile(_) => Totals {
                passed: 0,
                failed: self.row_count,
            },
            Graded::PassedBefore => Totals {
                passed: self.row_count,
                failed: 0,
            },
            Graded::Rows(results) => {
                let failed = results.iter().filter(|r| r.outcome.is_err()).count();
                Totals {
                    passed: results.len() - failed,
                    failed,
                }
            }
        }
    }
}

/// Counts over a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Totals {
    pub passed: usize,
    pub failed: usize,
}

impl Totals {
    /// The counts of every report.
    pub(crate) fn of(reports: &[ExerciseReport]) -> Totals {
        reports.iter().fold(Totals::default(), |sum, report| {
            let add = report.totals();
            Totals {
                passed: sum.passed + add.passed,
                failed: sum.failed + add.failed,
            }
        })
    }

    /// The exit status: 1 when a row failed.
    pub(crate) fn exit_code(&self) -> u8 {
        u8::from(self.failed > 0)
    }
}
