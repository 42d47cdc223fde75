//! The default command: grade what the arguments ask for, then hand the
//! reports to every output.
//!
//! Three kinds of run: one exercise (`checker N`), any server started by a
//! shell command (`--server-cmd`), and the whole course in order (no N).
//! Which rows each grades is [`plan`]'s; running them is [`runner`]'s.
//! Grading produces one [`ExerciseReport`] per exercise; the text report
//! prints rows as they finish, and once the run is over the JSON document,
//! the JUnit file and the progress ([`progress`]) are made from the same
//! reports.

use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser};
use futures_util::StreamExt;

use crate::cargo::{self, Flavour};
use crate::course::{self, EXERCISES, Exercise};
use crate::exit_status::USAGE;
use crate::graded::{ExerciseReport, Graded, RowResult, Subject, Totals};
use crate::plan::{self, graded_rows};
use crate::report::machine::{self, Format};
use crate::report::summary::Summary;
use crate::report::text::{self, Style};
use crate::rows::Row;
use crate::run_env::{Run, RunEnv};
use crate::server::Program;
use crate::{progress, runner};

/// What to grade, and how to report it (the default command).
#[derive(Args, Debug)]
pub(crate) struct GradeArgs {
    /// Grade exercise N: its own rows and every earlier exercise's.
    ///
    /// Example: `cargo run -p checker -- 3`.
    #[arg(value_name = "N", value_parser = course::parse_number, conflicts_with = "server_cmd")]
    pub exercise: Option<u8>,

    /// Grade the reference solutions instead of the exercises.
    ///
    /// Example: `cargo run -p checker -- 3 --solutions`.
    #[arg(long, conflicts_with = "server_cmd")]
    pub solutions: bool,

    /// Grade any server: run this shell command (no build step). Needs --exercise.
    ///
    /// Example: `cargo run -p checker -- --server-cmd "exec python3 server.py"
    /// --exercise 7`.
    #[arg(long, value_name = "COMMAND", requires = "graded_exercise")]
    pub server_cmd: Option<String>,

    /// With --server-cmd: which exercise's rows to grade.
    ///
    /// Example: `--server-cmd "exec ./server" --exercise 4`.
    #[arg(
        long = "exercise",
        id = "graded_exercise",
        value_name = "N",
        value_parser = course::parse_number,
        requires = "server_cmd"
    )]
    pub graded_exercise: Option<u8>,

    /// Run only this row (repeatable); rows not graded in the exercise are not run.
    ///
    /// Example: `cargo run -p checker -- 3 --row ws.cookie` (`--list-rows`
    /// names them all).
    #[arg(long = "row", value_name = "ID")]
    pub rows: Vec<String>,

    /// Print the table of rows (id, exercise, retired after, name, book section,
    /// chapter title) and exit.
    ///
    /// Example: `cargo run -p checker -- --list-rows | grep origin`.
    #[arg(long)]
    pub list_rows: bool,

    /// Seconds to wait for a server's listening line.
    ///
    /// Example: `--start-timeout 30` for a server that is slow to start.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    pub start_timeout: u64,

    /// Also print the frames exchanged by passing rows, and every row of
    /// exercises that pass.
    ///
    /// Example: `cargo run -p checker -- 3 --verbose`.
    #[arg(long)]
    pub verbose: bool,

    /// Grade every exercise, also those whose binary passed before and has
    /// not changed since (the default run skips them).
    ///
    /// Example: `cargo run -p checker -- --fresh`.
    #[arg(long)]
    pub fresh: bool,

    /// `text` for people; `json` prints one document instead (exercises,
    /// rows with id, status, expected, got, duration and frames, counts).
    ///
    /// Example: `cargo run -p checker -- 3 --format json | jq .failed`.
    #[arg(long, value_enum, default_value_t)]
    pub format: crate::report::machine::Format,

    /// Also write JUnit XML to PATH: one test case per row, a failure
    /// carrying the row's report (CI test views, GitHub Classroom).
    ///
    /// Example: `cargo run -p checker -- --junit target/checker.xml`.
    #[arg(long, value_name = "PATH")]
    pub junit: Option<std::path::PathBuf>,
}

/// `cargo run -p checker` with nothing after it, parsed as the command
/// line would parse it.
#[derive(Parser)]
struct DefaultRun {
    #[command(flatten)]
    grade: GradeArgs,
}

impl GradeArgs {
    /// What `cargo run -p checker` with nothing after it grades: the
    /// exercises in order, from the first that is not finished.
    pub(crate) fn default_run() -> GradeArgs {
        DefaultRun::parse_from(["checker"]).grade
    }

    fn flavour(&self) -> Flavour {
        if self.solutions {
            Flavour::Solutions
        } else {
            Flavour::Exercises
        }
    }
}

/// Grades what `args` asks for, prints the text report as it goes (or the
/// JSON document at the end), writes the JUnit file if asked, and records
/// the student's progress. Returns the exit status.
pub(crate) async fn run(args: &GradeArgs) -> u8 {
    if let Err(message) = plan::check_ids(&args.rows) {
        eprintln!("error: {message}");
        return USAGE;
    }
    let run = match Run::new(Duration::from_secs(args.start_timeout)) {
        Ok(run) => run,
        Err(error) => {
            eprintln!("error: could not create a temporary directory: {error}");
            return USAGE;
        }
    };
    let text = args.format == Format::Text;
    let number = match (&args.server_cmd, args.graded_exercise, args.exercise) {
        (Some(_), Some(number), _) | (None, _, Some(number)) => Some(number),
        _ => None,
    };
    let reports = match number {
        Some(number) => match grade_one(args, &run, number, text).await {
            Ok(report) => vec![report],
            Err(message) => {
                eprintln!("error: {message}");
                return USAGE;
            }
        },
        None => grade_course(args, &run, text).await,
    };
    progress::record(&reports);
    if let Err(message) = machine::finish(&reports, args.format, args.junit.as_deref()) {
        eprintln!("error: {message}");
        return USAGE;
    }
    Totals::of(&reports).exit_code()
}

/// `checker N` and `--server-cmd`: one exercise, its heading first and
/// each row printed as it finishes, then the stubs its rows waited for and
/// the count.
async fn grade_one(
    args: &GradeArgs,
    run: &Arc<Run>,
    number: u8,
    text: bool,
) -> Result<ExerciseReport, String> {
    let rows = plan::single_selection(number, &args.rows)?;
    let exercise = &EXERCISES[usize::from(number) - 1];
    let flavour = args.flavour();
    let mut report = ExerciseReport {
        exercise,
        row_count: rows.len(),
        graded: Graded::PassedBefore,
        subject: Subject::Built(flavour),
        binary: None,
        complete: args.rows.is_empty(),
    };
    let mut source = flavour.source(exercise);
    let program = match &args.server_cmd {
        Some(command) => {
            source = format!("server: sh -c {command:?}");
            report.subject = Subject::Shell(command.clone());
            Program::Shell(command.clone())
        }
        None => match cargo::build(flavour, exercise).await {
            Ok(path) => {
                report.binary = Some(path.clone());
                Program::Binary(path)
            }
            Err(message) => {
                if text {
                    text::print_did_not_compile(&message, rows.len());
                }
                report.graded = Graded::DidNotCompile(message);
                return Ok(report);
            }
        },
    };
    let style = Style::of(&report, args.verbose);
    if text {
        text::print_heading(exercise, &source);
    }
    let env = Arc::new(RunEnv::new(program, run));
    let results = grade(env, rows, |result| {
        if text {
            text::print_row(result, &style);
        }
    })
    .await;
    if text {
        text::print_stubs(&results, &style);
    }
    report.graded = Graded::Rows(results);
    if text {
        text::print_count(&report.totals());
    }
    Ok(report)
}

/// Grades rows on one program, calling `each` with every result in table
/// order as soon as it (and every row before it) is done.
pub(crate) async fn grade(
    env: Arc<RunEnv>,
    rows: Vec<&'static Row>,
    mut each: impl FnMut(&RowResult),
) -> Vec<RowResult> {
    let signed_in = match runner::preflight(&env, &rows).await {
        Ok(signed_in) => signed_in,
        Err(failure) => {
            let results = runner::not_started(&rows, failure);
            results.iter().for_each(&mut each);
            return results;
        }
    };
    let mut results = Vec::new();
    runner::run_rows(env, rows, signed_in, |result| {
        each(&result);
        results.push(result);
    })
    .await;
    results
}

/// No N: the exercises (or solutions) in order. Exercises stop at the first
/// one with a failing row; solutions are all graded.
///
/// All the binaries are built in one cargo run. The solutions are then
/// graded side by side (sharing the run's row slots) and reported in
/// order. The exercises are graded one after the other, and one whose binary
/// passed before and has not changed since is skipped (see [`progress`]),
/// so a student working on exercise 6 waits for exercise 6 alone.
async fn grade_course(args: &GradeArgs, run: &Arc<Run>, text: bool) -> Vec<ExerciseReport> {
    let flavour = args.flavour();
    let graded: Vec<(&'static Exercise, Vec<&'static Row>)> = EXERCISES
        .iter()
        .map(|exercise| (exercise, graded_rows(exercise.number, &args.rows)))
        .filter(|(_, rows)| !rows.is_empty())
        .collect();
    let exercises: Vec<&Exercise> = graded.iter().map(|(exercise, _)| *exercise).collect();
    let builds = cargo::build_all(flavour, &exercises).await;
    let complete = args.rows.is_empty();
    let skip_passed = flavour == Flavour::Exercises && complete && !args.fresh;
    let side_by_side = match flavour {
        Flavour::Solutions => EXERCISES.len(),
        Flavour::Exercises => 1,
    };
    let mut gradings = futures_util::stream::iter(graded.into_iter().zip(builds))
        .map(|((exercise, rows), build)| async move {
            let row_count = rows.len();
            let (graded, binary) = match build {
                Err(message) => (Graded::DidNotCompile(message), None),
                Ok(path) if skip_passed && progress::passed_before(exercise, &path) => {
                    (Graded::PassedBefore, Some(path))
                }
                Ok(path) => {
                    let env = Arc::new(RunEnv::new(Program::Binary(path.clone()), run));
                    (Graded::Rows(grade(env, rows, |_| {}).await), Some(path))
                }
            };
            ExerciseReport {
                exercise,
                row_count,
                graded,
                subject: Subject::Built(flavour),
                binary,
                complete,
            }
        })
        .buffered(side_by_side);
    let recorded = match flavour {
        Flavour::Exercises if !complete => progress::read(),
        _ => Default::default(),
    };
    let mut summary = Summary::new(flavour, args.verbose, &args.rows, &recorded);
    let mut reports = Vec::new();
    while let Some(report) = gradings.next().await {
        if text {
            summary.print_exercise(&report);
        }
        let failed = report.failed();
        reports.push(report);
        if failed && flavour == Flavour::Exercises {
            break;
        }
    }
    drop(gradings);
    if text {
        summary.print_end();
    }
    reports
}
