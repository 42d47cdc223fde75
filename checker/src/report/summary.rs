//! The report of a whole-course run (`cargo run -p checker` with no N): one
//! line per exercise, the rows of the first that fails, the progress line,
//! what to do next, and the count.

use crate::cargo::Flavour;
use crate::course::{EXERCISES, Exercise};
use crate::grade::Totals;

use super::{Mark, RowResult, Style, count_line, print_row, progress_line};

/// What became of one exercise in a run without N.
pub enum ExerciseOutcome {
    DidNotCompile(String),
    /// Its binary passed every row before and has not changed since.
    PassedBefore,
    Graded(Vec<RowResult>),
}

/// The running state of a whole-course report.
pub struct Summary {
    flavour: Flavour,
    verbose: bool,
    selected_rows: bool,
    marks: Vec<(u8, Mark)>,
    totals: Totals,
    /// The first exercise that failed, and its first failing row (none when
    /// it did not compile).
    first_failure: Option<(&'static Exercise, Option<&'static str>)>,
}

impl Summary {
    pub fn new(flavour: Flavour, verbose: bool, selected_rows: bool) -> Self {
        Summary {
            flavour,
            verbose,
            selected_rows,
            marks: EXERCISES
                .iter()
                .map(|e| (e.number, Mark::NotGraded))
                .collect(),
            totals: Totals::default(),
            first_failure: None,
        }
    }

    /// Prints one exercise's outcome; says whether it failed.
    pub fn print_exercise(
        &mut self,
        exercise: &'static Exercise,
        row_count: usize,
        outcome: &ExerciseOutcome,
        stub: Option<(u8, String)>,
    ) -> bool {
        let index = usize::from(exercise.number) - 1;
        let heading = format!("exercise {}  {}", exercise.number, exercise.title);
        let style = Style {
            verbose: self.verbose,
            stub,
        };
        let results = match outcome {
            ExerciseOutcome::DidNotCompile(message) => {
                say!("✗ {heading}: {message}");
                self.totals.failed += row_count;
                self.marks[index].1 = Mark::Failed;
                self.first_failure.get_or_insert((exercise, None));
                return true;
            }
            ExerciseOutcome::PassedBefore => {
                say!(
                    "✓ {heading}: {row_count} rows passed, unchanged since (--fresh grades it again)"
                );
                self.totals.passed += row_count;
                self.marks[index].1 = Mark::Passed;
                return false;
            }
            ExerciseOutcome::Graded(results) => results,
        };
        self.totals.add(results);
        let failed: Vec<&RowResult> = results.iter().filter(|r| r.outcome.is_err()).collect();
        if failed.is_empty() {
            self.marks[index].1 = Mark::Passed;
            say!("✓ {heading}: {} rows pass", results.len());
            if style.verbose {
                results.iter().for_each(|result| print_row(result, &style));
            }
            return false;
        }
        self.marks[index].1 = Mark::Failed;
        say!(
            "✗ {heading}: {} of {} rows fail  ({})",
            failed.len(),
            results.len(),
            self.flavour.source(exercise)
        );
        results.iter().for_each(|result| print_row(result, &style));
        self.first_failure
            .get_or_insert((exercise, Some(failed[0].row.id)));
        true
    }

    /// The progress line, what to do next and the count; the exit status.
    pub fn print_end(self) -> u8 {
        say!("{}", progress_line(&self.marks));
        let source = |exercise| self.flavour.source(exercise);
        match self.first_failure {
            None if !self.selected_rows => say!("next: nothing left, every exercise passes"),
            None => say!("next: the selected rows pass; run without --row to grade everything"),
            Some((exercise, None)) => say!(
                "next: make {} compile, then run `cargo run -p checker` again",
                source(exercise)
            ),
            Some((exercise, Some(row))) => {
                let solutions = if self.flavour == Flavour::Solutions {
                    " --solutions"
                } else {
                    ""
                };
                say!(
                    "next: fix the first FAIL above in {}, then re-run it alone with `cargo run -p checker -- {}{solutions} --row {row}`",
                    source(exercise),
                    exercise.number
                );
            }
        }
        say!("{}", count_line(self.totals.passed, self.totals.failed));
        self.totals.exit_code()
    }
}
