//! The report of a whole-course run (`cargo run -p checker` with no N): one
//! line per exercise, the rows of the first that fails, the progress line,
//! what to do next, and the count.
//!
//! With `--row`, an exercise that does not grade the selected rows is not
//! run at all; the progress line shows it as last graded (from
//! [`crate::progress`]) and says so, instead of "not graded", which would
//! read as if a passed exercise had been lost.

use std::collections::BTreeMap;

use crate::cargo::Flavour;
use crate::course::{EXERCISES, Exercise};
use crate::graded::{ExerciseReport, Graded, RowResult, Totals};
use crate::plan::graded_rows;
use crate::progress::Status;

use super::text::{Mark, Style, count_line, first_stub, print_row, print_stubs, progress_line};

/// The running state of a whole-course report.
pub(crate) struct Summary {
    flavour: Flavour,
    verbose: bool,
    selected_rows: bool,
    marks: Vec<(u8, Mark)>,
    /// The exercises that do not grade the selected rows, so are not run.
    outside_selection: Vec<u8>,
    totals: Totals,
    /// The first exercise that failed, and its first failing row (none when
    /// it did not compile).
    first_failure: Option<(&'static Exercise, Option<&'static str>)>,
    /// The stub that first failing row waited for, if it did.
    first_stub: Option<String>,
}

impl Summary {
    /// A summary of grading `rows` (every row when empty); `recorded` is
    /// the progress kept from earlier runs, by exercise directory.
    pub(crate) fn new(
        flavour: Flavour,
        verbose: bool,
        rows: &[String],
        recorded: &BTreeMap<String, Status>,
    ) -> Self {
        let (marks, outside_selection) = starting_marks(rows, recorded);
        Summary {
            flavour,
            verbose,
            selected_rows: !rows.is_empty(),
            marks,
            outside_selection,
            totals: Totals::default(),
            first_failure: None,
            first_stub: None,
        }
    }

    /// Prints one exercise's report.
    pub(crate) fn print_exercise(&mut self, report: &ExerciseReport) {
        let exercise = report.exercise;
        let row_count = report.row_count;
        let index = usize::from(exercise.number) - 1;
        let heading = format!("exercise {}  {}", exercise.number, exercise.title);
        let style = Style::of(report, self.verbose);
        let results = match &report.graded {
            Graded::DidNotCompile(message) => {
                println!("✗ {heading}: {message}");
                self.totals.failed += row_count;
                self.marks[index].1 = Mark::Failed;
                self.first_failure.get_or_insert((exercise, None));
                return;
            }
            Graded::PassedBefore => {
                println!(
                    "✓ {heading}: {row_count} rows passed, unchanged since (--fresh grades it again)"
                );
                self.totals.passed += row_count;
                self.marks[index].1 = Mark::Passed;
                return;
            }
            Graded::Rows(results) => results,
        };
        let add = report.totals();
        self.totals.passed += add.passed;
        self.totals.failed += add.failed;
        let failed: Vec<&RowResult> = results.iter().filter(|r| r.outcome.is_err()).collect();
        if failed.is_empty() {
            self.marks[index].1 = Mark::Passed;
            match results.len() {
                1 => println!("✓ {heading}: 1 row passes"),
                n => println!("✓ {heading}: {n} rows pass"),
            }
            if style.verbose {
                results.iter().for_each(|result| print_row(result, &style));
            }
            return;
        }
        self.marks[index].1 = Mark::Failed;
        println!(
            "✗ {heading}: {} of {} rows fail  ({})",
            failed.len(),
            results.len(),
            self.flavour.source(exercise)
        );
        results.iter().for_each(|result| print_row(result, &style));
        print_stubs(results, &style);
        if self.first_failure.is_none() {
            self.first_failure = Some((exercise, Some(failed[0].row.id)));
            self.first_stub = first_stub(results);
        }
    }

    /// The progress line, what to do next and the count.
    pub(crate) fn print_end(self) {
        println!("{}", progress_line(&self.marks));
        if !self.outside_selection.is_empty() {
            let numbers: Vec<String> = self.outside_selection.iter().map(u8::to_string).collect();
            let marked = match self.flavour {
                Flavour::Exercises => "; marked as last graded (`cargo run -p checker -- list`)",
                Flavour::Solutions => "",
            };
            println!(
                "not run: {}, which do not grade the selected rows{marked}",
                numbers.join(", ")
            );
        }
        let source = |exercise| self.flavour.source(exercise);
        match (self.first_failure, self.first_stub.as_deref()) {
            (None, _) if !self.selected_rows => {
                println!("next: nothing left, every exercise passes")
            }
            (None, _) => {
                println!("next: the selected rows pass; run without --row to grade everything")
            }
            (Some((exercise, None)), _) => println!(
                "next: make {} compile, then run `cargo run -p checker` again",
                source(exercise)
            ),
            (Some(_), Some(stub)) => println!(
                "next: write the stub {stub}, which the failing rows wait for, then run `cargo run -p checker` again"
            ),
            (Some((exercise, Some(row))), None) => {
                let solutions = if self.flavour == Flavour::Solutions {
                    " --solutions"
                } else {
                    ""
                };
                println!(
                    "next: fix the first FAIL above in {}, then re-run it alone with `cargo run -p checker -- {}{solutions} --row {row}`",
                    source(exercise),
                    exercise.number
                );
            }
        }
        println!("{}", count_line(self.totals.passed, self.totals.failed));
    }
}

/// The marks a run starts from, and the exercises it will not run: with
/// `rows` selected, an exercise that grades none of them shows its status
/// as last `recorded` (by exercise directory).
fn starting_marks(
    rows: &[String],
    recorded: &BTreeMap<String, Status>,
) -> (Vec<(u8, Mark)>, Vec<u8>) {
    let mut outside_selection = Vec::new();
    let marks = EXERCISES
        .iter()
        .map(|exercise| {
            if rows.is_empty() || !graded_rows(exercise.number, rows).is_empty() {
                return (exercise.number, Mark::NotGraded);
            }
            outside_selection.push(exercise.number);
            let mark = match recorded.get(&exercise.dir()) {
                Some(Status::Passed) => Mark::Passed,
                Some(Status::FailingAt(_) | Status::DidNotCompile) => Mark::Failed,
                None => Mark::NotGraded,
            };
            (exercise.number, mark)
        })
        .collect();
    (marks, outside_selection)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exercises_a_row_selection_skips_keep_their_last_status() {
        let recorded = crate::progress::read_from(
            "01-cookie-auth passed\n02-rejections failing ws.deleted-user\n",
        );
        let (marks, outside) = starting_marks(&["ws.token".to_owned()], &recorded);
        assert_eq!(outside, [1, 2, 3]);
        assert_eq!(
            &marks[..5],
            [
                (1, Mark::Passed),
                (2, Mark::Failed),
                (3, Mark::NotGraded),
                (4, Mark::NotGraded),
                (5, Mark::NotGraded),
            ]
        );
        let (marks, outside) = starting_marks(&[], &recorded);
        assert!(outside.is_empty());
        assert!(marks.iter().all(|(_, mark)| *mark == Mark::NotGraded));
    }
}
