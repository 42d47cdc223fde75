//! Grading: builds the servers a run asks for, runs their rows, and hands
//! every result to the report module to print.
//!
//! Three kinds of run: one exercise (`checker N`), any server started by a
//! shell command (`--server-cmd`), and the whole course in order (no N).
//! Which rows each grades is [`plan`]'s; what is printed is [`report`]'s.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;

use crate::cargo::{self, Flavour};
use crate::checks::RunEnv;
use crate::cli::{GradeArgs, USAGE};
use crate::course::{EXERCISES, Exercise};
use crate::plan::{self, graded_rows};
use crate::report::machine::{self, Format};
use crate::report::{self, Commands, ExerciseOutcome, RowResult, Style, Summary};
use crate::rows::Row;
use crate::runner::StartOrder;
use crate::server::Program;
use crate::{passes, progress, runner};

/// Counts over a whole run.
#[derive(Default)]
pub struct Totals {
    pub passed: usize,
    pub failed: usize,
}

impl Totals {
    pub fn add(&mut self, results: &[RowResult]) {
        let failed = results.iter().filter(|r| r.outcome.is_err()).count();
        self.failed += failed;
        self.passed += results.len() - failed;
    }

    pub fn exit_code(&self) -> u8 {
        u8::from(self.failed > 0)
    }
}

/// The default command: grade what `args` asks for and print it (as text
/// or JSON), and write the JUnit file if asked.
pub async fn run(args: &GradeArgs) -> u8 {
    if args.format == Format::Json {
        machine::json_instead_of_text();
    }
    let code = run_text(args).await;
    if code == USAGE {
        return code;
    }
    match machine::finish(args.format, args.junit.as_deref()) {
        Ok(()) => code,
        Err(message) => {
            eprintln!("error: {message}");
            USAGE
        }
    }
}

async fn run_text(args: &GradeArgs) -> u8 {
    if let Err(message) = plan::check_ids(&args.rows) {
        eprintln!("error: {message}");
        return USAGE;
    }
    let dir = match database_dir() {
        Ok(dir) => dir,
        Err(error) => {
            eprintln!("error: could not create a temporary directory: {error}");
            return USAGE;
        }
    };
    let start_timeout = Duration::from_secs(args.start_timeout);
    let env =
        |program: Program| Arc::new(RunEnv::new(program, dir.path().to_owned(), start_timeout));
    let flavour = if args.solutions {
        Flavour::Solutions
    } else {
        Flavour::Exercises
    };
    let number = match (&args.server_cmd, args.graded_exercise, args.exercise) {
        (Some(_), Some(number), _) | (None, _, Some(number)) => number,
        _ => return grade_all(args, flavour, &env).await,
    };
    let rows = match plan::single_selection(number, &args.rows) {
        Ok(rows) => rows,
        Err(message) => {
            eprintln!("error: {message}");
            return USAGE;
        }
    };
    let exercise = &EXERCISES[usize::from(number) - 1];
    if let Some(command) = &args.server_cmd {
        let style = Style {
            verbose: args.verbose,
            stub: None,
            commands: Some(Commands::shell(command, exercise)),
        };
        report::print_heading(exercise, &format!("server: sh -c {command:?}"));
        let program = Program::Shell(command.clone());
        return grade_and_count(exercise, env(program), rows, &style).await;
    }
    let program = match cargo::build(flavour, exercise).await {
        Ok(path) => Program::Binary(path),
        Err(message) => {
            report::print_did_not_compile(&message, rows.len());
            machine::record_not_compiled(exercise, rows.len(), &message);
            if flavour == Flavour::Exercises {
                progress::record(exercise, progress::Status::DidNotCompile);
            }
            return 1;
        }
    };
    report::print_heading(exercise, &flavour.source(exercise));
    let style = Style {
        verbose: args.verbose,
        stub: stub(flavour, exercise),
        commands: Some(Commands::built(flavour, exercise)),
    };
    let code = grade_and_count(exercise, env(program), rows, &style).await;
    if flavour == Flavour::Exercises {
        remember(exercise, &LAST_RESULTS, args.rows.is_empty());
    }
    code
}

/// The first failing row of the last graded exercise, or `None` when it
/// passed: for [`progress`].
static LAST_RESULTS: std::sync::Mutex<Option<Option<&'static str>>> = std::sync::Mutex::new(None);

/// Records a graded exercise's status for `checker list`; a pass only when
/// every row was graded.
fn remember(
    exercise: &Exercise,
    last: &std::sync::Mutex<Option<Option<&'static str>>>,
    complete: bool,
) {
    let first_failure = last.lock().unwrap_or_else(|p| p.into_inner()).take();
    match first_failure {
        Some(Some(row)) => progress::record(exercise, progress::Status::FailingAt(row.to_owned())),
        Some(None) if complete => progress::record(exercise, progress::Status::Passed),
        _ => {}
    }
}

fn first_failure(results: &[RowResult]) -> Option<&'static str> {
    results
        .iter()
        .find(|result| result.outcome.is_err())
        .map(|result| result.row.id)
}

/// A temporary directory for the run's database files, in memory where the
/// system has a tmpfs at `/dev/shm`.
///
/// Every row starts its servers on fresh database files, and SQLite syncs
/// each write to disk: creating and seeding a database took a server 90 ms
/// to its listening line on disk and 5 ms in memory, and every login (a
/// session written) paid a sync too. The rows grade what a server does
/// with its database, never whether the disk keeps it (a restart finds the
/// file either way), so the run's files need not outlive it on a disk.
pub fn database_dir() -> std::io::Result<tempfile::TempDir> {
    let builder = || {
        let mut builder = tempfile::Builder::new();
        builder.prefix("checker-");
        builder
    };
    let memory = Path::new("/dev/shm");
    if memory.is_dir()
        && let Ok(dir) = builder().tempdir_in(memory)
    {
        return Ok(dir);
    }
    builder().tempdir()
}

/// Grades one program, printing every row and the closing count.
async fn grade_and_count(
    exercise: &Exercise,
    env: Arc<RunEnv>,
    rows: Vec<&'static Row>,
    style: &Style,
) -> u8 {
    let results = grade(env, rows, Some(style)).await;
    report::print_stubs(&results, style);
    machine::record_rows(exercise, &results, style);
    *LAST_RESULTS.lock().unwrap_or_else(|p| p.into_inner()) = Some(first_failure(&results));
    let mut totals = Totals::default();
    totals.add(&results);
    report::print_count(&totals);
    totals.exit_code()
}

/// The student's stub file, named in the hints of the exercise's own rows.
fn stub(flavour: Flavour, exercise: &Exercise) -> Option<(u8, String)> {
    (flavour == Flavour::Exercises).then(|| (exercise.number, flavour.source(exercise)))
}

/// Grades rows on one program. With a style, every row is printed as soon
/// as it (and every row before it) is done.
pub async fn grade(
    env: Arc<RunEnv>,
    rows: Vec<&'static Row>,
    print: Option<&Style>,
) -> Vec<RowResult> {
    let signed_in = match runner::preflight(&env, &rows).await {
        Ok(signed_in) => signed_in,
        Err(failure) => {
            let results = runner::not_started(&rows, failure);
            if let Some(style) = print {
                results
                    .iter()
                    .for_each(|result| report::print_row(result, style));
            }
            return results;
        }
    };
    let mut results = Vec::new();
    let order = match print {
        Some(_) => StartOrder::Table,
        None => StartOrder::LaterExercisesFirst,
    };
    runner::run_rows(env, rows, signed_in, order, |result| {
        if let Some(style) = print {
            report::print_row(&result, style);
        }
        results.push(result);
    })
    .await;
    results
}

/// Grades one built binary; with `record`, a binary that passes every row
/// is remembered (see [`passes`]).
async fn grade_binary(
    path: &Path,
    rows: Vec<&'static Row>,
    record: bool,
    env: &impl Fn(Program) -> Arc<RunEnv>,
) -> ExerciseOutcome {
    let results = grade(env(Program::Binary(path.to_owned())), rows, None).await;
    if record && results.iter().all(|r| r.outcome.is_ok()) {
        passes::record_pass(path);
    }
    ExerciseOutcome::Graded(results)
}

/// No N: the exercises (or solutions) in order. Exercises stop at the first
/// one with a failing row; solutions are all graded.
///
/// All the binaries are built in one cargo run. The solutions are then
/// graded side by side (sharing the checker's row slots) and reported in
/// order. The exercises are graded one after the other, and one whose binary
/// passed before and has not changed since is skipped (see [`passes`]), so a
/// student working on exercise 6 waits for exercise 6 alone.
async fn grade_all(
    args: &GradeArgs,
    flavour: Flavour,
    env: &impl Fn(Program) -> Arc<RunEnv>,
) -> u8 {
    let graded: Vec<(&Exercise, Vec<&'static Row>)> = EXERCISES
        .iter()
        .map(|exercise| (exercise, graded_rows(exercise.number, &args.rows)))
        .filter(|(_, rows)| !rows.is_empty())
        .collect();
    let exercises: Vec<&Exercise> = graded.iter().map(|(exercise, _)| *exercise).collect();
    let builds = cargo::build_all(flavour, &exercises).await;
    let record = flavour == Flavour::Exercises && args.rows.is_empty();
    let skip_passed = record && !args.fresh;
    let side_by_side = match flavour {
        Flavour::Solutions => EXERCISES.len(),
        Flavour::Exercises => 1,
    };
    let mut gradings = futures_util::stream::iter(graded.into_iter().zip(builds))
        .map(|((exercise, rows), build)| async move {
            let row_count = rows.len();
            let outcome = match build {
                Err(message) => ExerciseOutcome::DidNotCompile(message),
                Ok(path) if skip_passed && passes::passed_before(&path) => {
                    ExerciseOutcome::PassedBefore
                }
                Ok(path) => grade_binary(&path, rows, record, env).await,
            };
            (exercise, row_count, outcome)
        })
        .buffered(side_by_side);
    let mut summary = Summary::new(flavour, args.verbose, &args.rows);
    while let Some((exercise, row_count, outcome)) = gradings.next().await {
        match &outcome {
            ExerciseOutcome::DidNotCompile(message) => {
                if record {
                    progress::record(exercise, progress::Status::DidNotCompile);
                }
                machine::record_not_compiled(exercise, row_count, message)
            }
            ExerciseOutcome::PassedBefore => machine::record_passed_before(exercise, row_count),
            ExerciseOutcome::Graded(results) => {
                if record {
                    progress::record(
                        exercise,
                        first_failure(results).map_or(progress::Status::Passed, |row| {
                            progress::Status::FailingAt(row.to_owned())
                        }),
                    );
                }
                let style = Style {
                    verbose: false,
                    stub: stub(flavour, exercise),
                    commands: Some(Commands::built(flavour, exercise)),
                };
                machine::record_rows(exercise, results, &style)
            }
        }
        let failed = summary.print_exercise(exercise, row_count, &outcome, stub(flavour, exercise));
        if failed && flavour == Flavour::Exercises {
            break;
        }
    }
    drop(gradings);
    summary.print_end()
}
