//! The workbook's checker: builds a board server, starts it, and grades it
//! against PROTOCOL over real HTTP and WebSocket connections, row by row.
//!
//! ```text
//! cargo run -p checker                     grade exercises 1..7, stop at the first that fails
//! cargo run -p checker -- 3                grade exercise 3 (its rows and those of 1 and 2)
//! cargo run -p checker -- --solutions      grade the seven reference solutions
//! cargo run -p checker -- --server-cmd "exec ./my-server" --exercise 4
//! ```
//!
//! Exit status: 0 when every graded row passed; 1 when a row failed or the
//! exercise did not compile; 2 for a usage error or when the checker could
//! not run at all; 130 after Ctrl-C. The last line of a run that is not
//! interrupted is `N passed, M failed`.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use futures_util::StreamExt;

use crate::cargo::{self, Flavour};
use crate::checks::RunEnv;
use crate::report::{Mark, RowResult, Style, count_line, progress_line, row_lines};
use crate::rows::{EXERCISES, Exercise, ROWS, Row};
use crate::server::Program;
use crate::{passes, runner, server};

/// Grades a board server against the workbook's protocol.
#[derive(Parser, Debug)]
#[command(
    name = "checker",
    after_help = "With --server-cmd the command runs through `sh -c`; start it with `exec` \
                  (\"exec ./server\") so that signals reach the server itself.\n\
                  Exit status: 0 all rows passed, 1 a row failed or the exercise did not \
                  compile, 2 usage error, 130 interrupted."
)]
struct Cli {
    /// Grade exercise N (1-7): its own rows and every earlier exercise's.
    #[arg(value_name = "N", value_parser = clap::value_parser!(u8).range(1..=7), conflicts_with = "server_cmd")]
    exercise: Option<u8>,

    /// Grade the reference solutions instead of the exercises.
    #[arg(long, conflicts_with = "server_cmd")]
    solutions: bool,

    /// Grade any server: run this shell command (no build step). Needs --exercise.
    #[arg(long, value_name = "COMMAND", requires = "graded_exercise")]
    server_cmd: Option<String>,

    /// With --server-cmd: which exercise's rows to grade (1-7).
    #[arg(
        long = "exercise",
        id = "graded_exercise",
        value_name = "N",
        value_parser = clap::value_parser!(u8).range(1..=7),
        requires = "server_cmd"
    )]
    graded_exercise: Option<u8>,

    /// Run only this row (repeatable); rows not graded in the exercise are not run.
    #[arg(long = "row", value_name = "ID")]
    rows: Vec<String>,

    /// Print the table of rows (id, exercise, retired after, name, book section,
    /// chapter title) and exit.
    #[arg(long)]
    list_rows: bool,

    /// Seconds to wait for a server's listening line.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    start_timeout: u64,

    /// Also print the frames exchanged by passing rows, and every row of
    /// exercises that pass.
    #[arg(long)]
    verbose: bool,

    /// Grade every exercise, also those whose binary passed before and has
    /// not changed since (the default run skips them).
    #[arg(long)]
    fresh: bool,
}

/// Exit status for usage errors and for a checker that could not run.
const USAGE: u8 = 2;

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.list_rows {
        // Written without println!, which panics when a reader such as
        // `head` closes the pipe early.
        let mut out = std::io::stdout().lock();
        for row in ROWS {
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
        return ExitCode::SUCCESS;
    }
    if let Some(unknown) = cli
        .rows
        .iter()
        .find(|id| !ROWS.iter().any(|row| row.id == id.as_str()))
    {
        eprintln!("error: there is no row {unknown:?}; `--list-rows` prints them all");
        return ExitCode::from(USAGE);
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: could not start the async runtime: {error}");
            return ExitCode::from(USAGE);
        }
    };
    let code = runtime.block_on(async {
        tokio::select! {
            code = run(&cli) => code,
            _ = interrupted() => {
                eprintln!("\ninterrupted: stopping every server");
                130
            }
        }
    });
    // No server may outlive the checker, whichever way it ends. After an
    // interruption the killed servers are still children of the checker:
    // their waiter tasks reap them, so none is left behind as a zombie.
    server::kill_all_live();
    runtime.block_on(server::all_reaped(Duration::from_millis(500)));
    runtime.shutdown_timeout(Duration::from_millis(100));
    ExitCode::from(code)
}

/// Ctrl-C (or a SIGTERM sent to the checker).
async fn interrupted() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate()).ok();
    let terminated = async {
        match terminate.as_mut() {
            Some(terminate) => {
                terminate.recv().await;
            }
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminated => {}
    }
}

/// The rows graded in `exercise`, narrowed to `--row` if given.
fn graded_rows(exercise: u8, only: &[String]) -> Vec<&'static Row> {
    ROWS.iter()
        .filter(|row| row.graded_in(exercise))
        .filter(|row| only.is_empty() || only.iter().any(|id| id == row.id))
        .collect()
}

fn exercise(number: u8) -> &'static Exercise {
    &EXERCISES[usize::from(number) - 1]
}

/// Counts over a whole run.
#[derive(Default)]
struct Totals {
    passed: usize,
    failed: usize,
}

impl Totals {
    fn add(&mut self, results: &[RowResult]) {
        let failed = results.iter().filter(|r| r.outcome.is_err()).count();
        self.failed += failed;
        self.passed += results.len() - failed;
    }

    fn exit_code(&self) -> u8 {
        u8::from(self.failed > 0)
    }
}

async fn run(cli: &Cli) -> u8 {
    let dir = match tempfile::Builder::new().prefix("checker-").tempdir() {
        Ok(dir) => dir,
        Err(error) => {
            eprintln!("error: could not create a temporary directory: {error}");
            return USAGE;
        }
    };
    let start_timeout = Duration::from_secs(cli.start_timeout);
    let env =
        |program: Program| Arc::new(RunEnv::new(program, dir.path().to_owned(), start_timeout));

    if let (Some(command), Some(number)) = (&cli.server_cmd, cli.graded_exercise) {
        let rows = match single_selection(number, &cli.rows) {
            Ok(rows) => rows,
            Err(code) => return code,
        };
        let exercise = exercise(number);
        println!(
            "exercise {number}  {}  (server: sh -c {command:?})",
            exercise.title
        );
        let style = Style {
            verbose: cli.verbose,
            stub: None,
        };
        return grade_and_count(env(Program::Shell(command.clone())), rows, &style).await;
    }

    let flavour = if cli.solutions {
        Flavour::Solutions
    } else {
        Flavour::Exercises
    };
    let Some(number) = cli.exercise else {
        return grade_all(cli, flavour, &env).await;
    };
    let rows = match single_selection(number, &cli.rows) {
        Ok(rows) => rows,
        Err(code) => return code,
    };
    let exercise = exercise(number);
    let program = match cargo::build(flavour, exercise).await {
        Ok(path) => Program::Binary(path),
        Err(message) => {
            println!("{message}");
            println!("{}", count_line(0, rows.len()));
            return 1;
        }
    };
    println!(
        "exercise {number}  {}  ({})",
        exercise.title,
        flavour.source(exercise)
    );
    let style = Style {
        verbose: cli.verbose,
        stub: stub(flavour, exercise),
    };
    grade_and_count(env(program), rows, &style).await
}

/// Grades one program, printing every row and the closing count.
async fn grade_and_count(env: Arc<RunEnv>, rows: Vec<&'static Row>, style: &Style) -> u8 {
    let results = grade(env, rows, Some(style)).await;
    let mut totals = Totals::default();
    totals.add(&results);
    println!("{}", count_line(totals.passed, totals.failed));
    totals.exit_code()
}

/// The rows of one exercise for `checker N` and `--server-cmd`: a `--row`
/// that this exercise does not grade is a usage error.
fn single_selection(number: u8, only: &[String]) -> Result<Vec<&'static Row>, u8> {
    for id in only {
        let row = ROWS
            .iter()
            .find(|row| row.id == id.as_str())
            .expect("row ids were checked");
        if !row.graded_in(number) {
            let until = row
                .retired_after
                .map_or("on".to_owned(), |last| format!("to {last}"));
            eprintln!(
                "error: row {id} is not graded in exercise {number} (it is graded from exercise {} {until})",
                row.exercise
            );
            return Err(USAGE);
        }
    }
    Ok(graded_rows(number, only))
}

/// The student's stub file, named in the hints of the exercise's own rows.
fn stub(flavour: Flavour, exercise: &Exercise) -> Option<(u8, String)> {
    (flavour == Flavour::Exercises).then(|| (exercise.number, flavour.source(exercise)))
}

/// Grades rows on one program. With a style, every row is printed as soon
/// as it (and every row before it) is done.
async fn grade(env: Arc<RunEnv>, rows: Vec<&'static Row>, print: Option<&Style>) -> Vec<RowResult> {
    if let Some(failure) = runner::preflight(&env).await {
        let results = runner::not_started(&rows, failure);
        if let Some(style) = print {
            results
                .iter()
                .for_each(|result| print_lines(row_lines(result, style)));
        }
        return results;
    }
    let mut results = Vec::new();
    runner::run_rows(env, rows, |result| {
        if let Some(style) = print {
            print_lines(row_lines(&result, style));
        }
        results.push(result);
    })
    .await;
    results
}

fn print_lines(lines: Vec<String>) {
    for line in lines {
        println!("{line}");
    }
}

/// What became of one exercise in a run without N.
enum Outcome {
    DidNotCompile(String),
    /// Its binary passed every row before and has not changed since.
    PassedBefore,
    Graded(Vec<RowResult>),
}

/// No N: the exercises (or solutions) in order. Exercises stop at the first
/// one with a failing row; solutions are all graded.
///
/// All the binaries are built in one cargo run. The solutions are then
/// graded side by side (sharing the checker's row slots) and reported in
/// order. The exercises are graded one after the other, and one whose binary
/// passed before and has not changed since is skipped (see [`passes`]), so a
/// student working on exercise 6 waits for exercise 6 alone.
async fn grade_all(cli: &Cli, flavour: Flavour, env: &impl Fn(Program) -> Arc<RunEnv>) -> u8 {
    let mut marks: Vec<(u8, Mark)> = EXERCISES
        .iter()
        .map(|e| (e.number, Mark::NotGraded))
        .collect();
    let mut totals = Totals::default();
    let mut first_failure: Option<(&Exercise, Option<&'static str>)> = None;
    let graded: Vec<(&Exercise, Vec<&'static Row>)> = EXERCISES
        .iter()
        .map(|exercise| (exercise, graded_rows(exercise.number, &cli.rows)))
        .filter(|(_, rows)| !rows.is_empty())
        .collect();
    let exercises: Vec<&Exercise> = graded.iter().map(|(exercise, _)| *exercise).collect();
    let builds = cargo::build_all(flavour, &exercises).await;
    let remember_passes = flavour == Flavour::Exercises && cli.rows.is_empty();
    let side_by_side = match flavour {
        Flavour::Solutions => EXERCISES.len(),
        Flavour::Exercises => 1,
    };
    let mut gradings = futures_util::stream::iter(graded.into_iter().zip(builds))
        .map(|((exercise, rows), build)| async move {
            let outcome = match build {
                Err(message) => Outcome::DidNotCompile(message),
                Ok(path) if remember_passes && !cli.fresh && passes::passed_before(&path) => {
                    Outcome::PassedBefore
                }
                Ok(path) => {
                    let results =
                        grade(env(Program::Binary(path.clone())), rows.clone(), None).await;
                    if remember_passes && results.iter().all(|r| r.outcome.is_ok()) {
                        passes::record_pass(&path);
                    }
                    Outcome::Graded(results)
                }
            };
            (exercise, rows.len(), outcome)
        })
        .buffered(side_by_side);
    while let Some((exercise, row_count, outcome)) = gradings.next().await {
        let index = usize::from(exercise.number) - 1;
        let heading = format!("exercise {}  {}", exercise.number, exercise.title);
        let style = Style {
            verbose: cli.verbose,
            stub: stub(flavour, exercise),
        };
        let results = match outcome {
            Outcome::DidNotCompile(message) => {
                println!("✗ {heading}: {message}");
                totals.failed += row_count;
                marks[index].1 = Mark::Failed;
                first_failure.get_or_insert((exercise, None));
                if flavour == Flavour::Exercises {
                    break;
                }
                continue;
            }
            Outcome::PassedBefore => {
                println!(
                    "✓ {heading}: {row_count} rows passed, unchanged since (--fresh grades it again)"
                );
                totals.passed += row_count;
                marks[index].1 = Mark::Passed;
                continue;
            }
            Outcome::Graded(results) => results,
        };
        totals.add(&results);
        let failed: Vec<&RowResult> = results.iter().filter(|r| r.outcome.is_err()).collect();
        if failed.is_empty() {
            marks[index].1 = Mark::Passed;
            println!("✓ {heading}: {} rows pass", results.len());
            if style.verbose {
                results
                    .iter()
                    .for_each(|result| print_lines(row_lines(result, &style)));
            }
            continue;
        }
        marks[index].1 = Mark::Failed;
        println!(
            "✗ {heading}: {} of {} rows fail  ({})",
            failed.len(),
            results.len(),
            flavour.source(exercise)
        );
        results
            .iter()
            .for_each(|result| print_lines(row_lines(result, &style)));
        first_failure.get_or_insert((exercise, Some(failed[0].row.id)));
        if flavour == Flavour::Exercises {
            break;
        }
    }
    drop(gradings);
    println!("{}", progress_line(&marks));
    match first_failure {
        None if cli.rows.is_empty() => println!("next: nothing left, every exercise passes"),
        None => println!("next: the selected rows pass; run without --row to grade everything"),
        Some((exercise, None)) => println!(
            "next: make {} compile, then run `cargo run -p checker` again",
            flavour.source(exercise)
        ),
        Some((exercise, Some(row))) => {
            let solutions = if flavour == Flavour::Solutions {
                " --solutions"
            } else {
                ""
            };
            println!(
                "next: fix the first FAIL above in {}, then re-run it alone with `cargo run -p checker -- {}{solutions} --row {row}`",
                flavour.source(exercise),
                exercise.number
            );
        }
    }
    println!("{}", count_line(totals.passed, totals.failed));
    totals.exit_code()
}
