//! The author side: `verify` and `regenerate`, the checks and the generator
//! that keep the course consistent, kept apart from the student's tests.
//!
//! These hold for the workbook as it ships, not for a student's copy: once a
//! stub is filled in, "the exercise differs from its solution only in its
//! stubs" is false by design. So they are a command for maintainers and CI
//! (like rustlings' `dev check`), and `cargo test --workspace` stays green
//! for a student at every stage of their work.

mod giveaways;
mod markers;
mod stubs;
pub mod template;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use crate::attack::{LABS, lab_results};
use crate::cargo::{self, Flavour, workspace_root};
use crate::course::{EXERCISES, Exercise};
use crate::grade::grade;
use crate::graded::RowResult;
use crate::plan::ROWS;
use crate::plan::graded_rows;
use crate::run_env::{Run, RunEnv};
use crate::server::Program;
use template::{TEMPLATE, render};

pub use giveaways::stub_giveaways;
pub use stubs::{attack_stub_problems, stub_problems};

/// Formats Rust source with rustfmt, as `cargo fmt` would.
fn rustfmt(source: &str) -> Result<String, String> {
    use std::io::Write;
    let mut child = Command::new("rustfmt")
        .args(["--edition", "2024", "--emit", "stdout"])
        .current_dir(workspace_root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| {
            format!("could not run rustfmt ({error}); `rustup component add rustfmt`")
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(source.as_bytes())
            .map_err(|error| format!("rustfmt: {error}"))?;
    }
    let output = child
        .wait_with_output()
        .map_err(|error| format!("rustfmt: {error}"))?;
    if !output.status.success() {
        return Err(format!(
            "rustfmt refused the rendered server: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Every server rendered from the template and formatted, with its path.
fn rendered_servers(root: &Path) -> Result<Vec<(std::path::PathBuf, String)>, String> {
    let template = std::fs::read_to_string(root.join(TEMPLATE))
        .map_err(|error| format!("{TEMPLATE}: {error}"))?;
    let mut servers = Vec::new();
    for exercise in EXERCISES {
        for flavour in [Flavour::Exercises, Flavour::Solutions] {
            let text = render(&template, exercise.number, flavour).map_err(|e| e.to_string())?;
            servers.push((root.join(flavour.source(exercise)), rustfmt(&text)?));
        }
    }
    Ok(servers)
}

/// `checker regenerate`: writes every server from the template, formatted.
pub fn regenerate() -> u8 {
    let root = workspace_root();
    let servers = match rendered_servers(root) {
        Ok(servers) => servers,
        Err(message) => {
            eprintln!("error: {message}");
            return 1;
        }
    };
    for (path, text) in servers {
        if let Err(error) = std::fs::create_dir_all(path.parent().unwrap_or(root))
            .and_then(|()| std::fs::write(&path, text))
        {
            eprintln!("error: {}: {error}", path.display());
            return 1;
        }
        println!(
            "wrote {}",
            path.strip_prefix(root).unwrap_or(&path).display()
        );
    }
    0
}

/// The committed servers that differ from what the template renders.
fn stale_servers(root: &Path) -> Vec<String> {
    let servers = match rendered_servers(root) {
        Ok(servers) => servers,
        Err(message) => return vec![message],
    };
    servers
        .into_iter()
        .filter(|(path, text)| std::fs::read_to_string(path).ok().as_ref() != Some(text))
        .map(|(path, _)| {
            format!(
                "{} differs from {TEMPLATE}; edit the template and run `cargo run -p checker -- regenerate`",
                path.strip_prefix(root).unwrap_or(&path).display()
            )
        })
        .collect()
}

/// Rows without a break in the broken server, a failure text in its test,
/// or a mention in the chapter their hint points to.
pub fn row_coverage_problems(root: &Path) -> Vec<String> {
    let read = |path: &str| std::fs::read_to_string(root.join(path)).unwrap_or_default();
    // The broken server's table of breaks, one entry per row it can break.
    let broken_server = read("testing/broken-server/src/breaks.rs");
    let break_tests = read("checker/tests/rows_can_fail/expected.rs");
    let mut problems = Vec::new();
    for row in ROWS.iter() {
        let quoted = format!("\"{}\"", row.id);
        if !broken_server.contains(&quoted) {
            problems.push(format!(
                "{}: testing/broken-server/src/breaks.rs has no break for it",
                row.id
            ));
        }
        if !break_tests.contains(&quoted) {
            problems.push(format!(
                "{}: checker/tests/rows_can_fail/expected.rs does not list its failure text",
                row.id
            ));
        }
        let chapter = row.book.split('#').next().unwrap_or(row.book);
        if !read(&format!("book/src/{chapter}")).contains(&format!("`{}`", row.id)) {
            problems.push(format!("{}: book/src/{chapter} does not name it", row.id));
        }
    }
    problems
}

/// Builds every binary of one flavour and grades each with its rows.
async fn grade_course(
    flavour: Flavour,
) -> Vec<(&'static Exercise, Result<Vec<RowResult>, String>)> {
    let exercises: Vec<&Exercise> = EXERCISES.iter().collect();
    let builds = cargo::build_all(flavour, &exercises).await;
    let run = match Run::new(Duration::from_secs(10)) {
        Ok(run) => run,
        Err(error) => {
            let message = format!("could not create a temporary directory: {error}");
            return EXERCISES
                .iter()
                .map(|exercise| (exercise, Err(message.clone())))
                .collect();
        }
    };
    let gradings = EXERCISES.iter().zip(builds).map(|(exercise, build)| {
        let run = &run;
        async move {
            let results = match build {
                Err(message) => Err(message),
                Ok(path) => {
                    let env = Arc::new(RunEnv::new(Program::Binary(path), run));
                    Ok(grade(env, graded_rows(exercise.number, &[]), |_| {}).await)
                }
            };
            (exercise, results)
        }
    });
    futures_util::future::join_all(gradings).await
}

/// Solutions that fail a row, or do not build.
async fn failing_solutions() -> Vec<String> {
    let mut problems = Vec::new();
    for (exercise, results) in grade_course(Flavour::Solutions).await {
        match results {
            Err(message) => problems.push(format!("solution {}: {message}", exercise.number)),
            Ok(results) => {
                problems.extend(results.iter().filter(|result| result.outcome.is_err()).map(
                    |result| {
                        format!(
                            "solution {} fails {}{}",
                            exercise.number,
                            result.row.id,
                            why(result)
                        )
                    },
                ))
            }
        }
    }
    problems
}

/// Shipped exercises that pass, or fail first at another exercise's row.
async fn misplaced_exercise_failures() -> Vec<String> {
    let mut problems = Vec::new();
    for (exercise, results) in grade_course(Flavour::Exercises).await {
        let number = exercise.number;
        let results = match results {
            Err(message) => {
                problems.push(format!("exercise {number} does not build: {message}"));
                continue;
            }
            Ok(results) => results,
        };
        let failed: Vec<&RowResult> = results.iter().filter(|r| r.outcome.is_err()).collect();
        match failed.first() {
            None => problems.push(format!(
                "exercise {number} passes every row as shipped: are its stubs filled in?"
            )),
            Some(first) if first.row.exercise != number => problems.push(format!(
                "exercise {number} fails first at {}, a row of exercise {}, not at its own",
                first.row.id, first.row.exercise
            )),
            Some(_) => {}
        }
        problems.extend(
            failed
                .iter()
                .filter(|result| result.row.exercise < number)
                .map(|result| {
                    format!(
                        "exercise {number} fails {}, a row of exercise {} that it must still pass{}",
                        result.row.id,
                        result.row.exercise,
                        why(result)
                    )
                }),
        );
    }
    problems
}

/// Attack labs whose reference attack does not succeed against the
/// vulnerable server and fail against the solution, or whose shipped
/// starter already succeeds (it must fail its lab's first row).
async fn attack_lab_problems() -> Vec<String> {
    let mut problems = Vec::new();
    for lab in LABS {
        match lab_results(lab, Flavour::Solutions, None, false, |_| {}).await {
            Err(message) => problems.push(format!("attack lab {}: {message}", lab.name)),
            Ok(results) => {
                problems.extend(results.iter().filter(|result| result.outcome.is_err()).map(
                    |result| {
                        format!(
                            "the reference attack of {} fails {}{}",
                            lab.name,
                            result.row.id,
                            why(result)
                        )
                    },
                ))
            }
        }
        match lab_results(lab, Flavour::Exercises, None, false, |_| {}).await {
            Err(message) => problems.push(format!("attack lab {}: {message}", lab.name)),
            Ok(results) if results.first().is_some_and(|first| first.outcome.is_ok()) => problems
                .push(format!(
                    "the shipped starter of {} passes {}: is its stub filled in?",
                    lab.name, results[0].row.id
                )),
            Ok(_) => {}
        }
    }
    problems
}

/// What a failed row expected and got, so that a failure seen once in a
/// verify run can be understood without running it again.
fn why(result: &RowResult) -> String {
    match &result.outcome {
        Err(failure) => {
            let mut why = format!(": expected {}, got {}", failure.expected, failure.got);
            if let Some(diagnosis) = &failure.diagnosis {
                why.push_str(&format!(" ({})", diagnosis.summary));
            }
            why
        }
        Ok(()) => String::new(),
    }
}

/// Prints one check's verdict; says whether it passed.
fn verdict(name: &str, problems: &[String]) -> bool {
    if problems.is_empty() {
        println!("✓ {name}");
        return true;
    }
    println!("✗ {name}");
    for problem in problems {
        println!("    {problem}");
    }
    false
}

/// `checker verify`: every author check, each with its verdict.
pub async fn verify() -> u8 {
    let root = workspace_root();
    // The three gradings wait on servers far more than they compute, so
    // they run together, each with the row slots of a run of its own.
    let (solutions, exercises, labs) = tokio::join!(
        failing_solutions(),
        misplaced_exercise_failures(),
        attack_lab_problems()
    );
    let stubs: Vec<String> = EXERCISES
        .iter()
        .flat_map(|exercise| stub_problems(root, exercise))
        .chain(LABS.iter().flat_map(|lab| attack_stub_problems(root, lab)))
        .collect();
    let checks = [
        (
            "the servers match scripts/server.rs.in",
            stale_servers(root),
        ),
        (
            "each exercise (and attack starter) differs from its solution only in its own stubs",
            stubs,
        ),
        (
            "every row has a broken-server break and test, and is named in its chapter",
            row_coverage_problems(root),
        ),
        ("every solution passes all its rows", solutions),
        (
            "every shipped exercise fails at its own first row, never at an earlier exercise's",
            exercises,
        ),
        (
            "every reference attack succeeds against its vulnerable server and fails against \
             its solution; every shipped attack starter fails",
            labs,
        ),
    ];
    let failed = checks
        .iter()
        .filter(|(name, problems)| !verdict(name, problems))
        .count();
    println!("{} passed, {failed} failed", checks.len() - failed);
    u8::from(failed > 0)
}
