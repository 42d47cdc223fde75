//! Everything that lists the exercises, checked against the one list in
//! `checker/src/course.rs`: the `[[bin]]` lists of `exercises/` and
//! `solutions/`, the book's summary, the introduction's, README's and the
//! appendix's tables, and the appendix's table of rows against the checker's
//! row table. Adding an exercise to the list and nothing else makes this
//! test name each place still missing it.

use std::{fs, path::Path};

use checker::course::{EXERCISES, Exercise};
use checker::plan::ROWS;

fn read(path: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    fs::read_to_string(root.join(path)).unwrap_or_else(|error| panic!("{path}: {error}"))
}

/// The rows of the Markdown table whose header line is `header`: each row
/// split into its trimmed cells.
fn table(text: &str, header: &str) -> Vec<Vec<String>> {
    text.lines()
        .skip_while(|line| line.trim() != header)
        .skip(2)
        .take_while(|line| line.starts_with('|'))
        .map(|line| {
            line.trim_matches('|')
                .split('|')
                .map(|cell| cell.trim().to_owned())
                .collect()
        })
        .collect()
}

/// Checks that a table has exactly one row per exercise, in order, each
/// passing `fits`; collects what is wrong.
fn check_table(
    problems: &mut Vec<String>,
    place: &str,
    rows: &[Vec<String>],
    fits: impl Fn(&Exercise, &[String]) -> bool,
) {
    if rows.len() != EXERCISES.len() {
        problems.push(format!(
            "{place}: {} rows for {} exercises",
            rows.len(),
            EXERCISES.len()
        ));
    }
    for exercise in EXERCISES {
        let row = rows
            .iter()
            .find(|row| row[0] == exercise.number.to_string());
        if !row.is_some_and(|row| fits(exercise, row)) {
            problems.push(format!(
                "{place}: no row for exercise {} ({}, chapter {})",
                exercise.number,
                exercise.dir(),
                exercise.chapter
            ));
        }
    }
}

#[test]
fn every_list_of_exercises_matches_the_course() {
    let mut problems = Vec::new();
    for (package, prefix) in [("exercises", "exercise"), ("solutions", "solution")] {
        let manifest = read(&format!("{package}/Cargo.toml"));
        let bins = manifest.matches("[[bin]]").count();
        if bins != EXERCISES.len() {
            problems.push(format!(
                "{package}/Cargo.toml: {bins} [[bin]]s for {} exercises",
                EXERCISES.len()
            ));
        }
        for exercise in EXERCISES {
            let bin = format!(
                "name = \"{prefix}-{:02}\"\npath = \"{}/main.rs\"",
                exercise.number,
                exercise.dir()
            );
            if !manifest.contains(&bin) {
                problems.push(format!("{package}/Cargo.toml: no [[bin]] with\n{bin}"));
            }
            let source = format!("{package}/{}/main.rs", exercise.dir());
            if !Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join(&source)
                .exists()
            {
                problems.push(format!("{source} does not exist"));
            }
        }
    }

    let summary = read("book/src/SUMMARY.md");
    for exercise in EXERCISES {
        let named = summary.lines().any(|line| {
            line.contains(&format!("]({})", exercise.chapter))
                && line.contains("exercise")
                && line
                    .split(|c: char| !c.is_ascii_digit())
                    .any(|number| number == exercise.number.to_string())
        });
        if !named {
            problems.push(format!(
                "book/src/SUMMARY.md: no entry for {} that says it is exercise {}",
                exercise.chapter, exercise.number
            ));
        }
    }

    let links_chapter = |exercise: &Exercise, row: &[String]| {
        row.iter()
            .any(|cell| cell.contains(&format!("({}", exercise.chapter)))
    };
    check_table(
        &mut problems,
        "book/src/introduction.md",
        &table(
            &read("book/src/introduction.md"),
            "| # | you build | chapter |",
        ),
        links_chapter,
    );
    let contract = read("book/src/contract.md");
    check_table(
        &mut problems,
        "book/src/contract.md (exercises)",
        &table(&contract, "| exercise | topic | chapter |"),
        links_chapter,
    );
    check_table(
        &mut problems,
        "README.md",
        &table(&read("README.md"), "| # | exercise | what you write |"),
        |exercise, row| row[1] == format!("`exercises/{}`", exercise.dir()),
    );

    let listed = table(&contract, "| row | exercise | what it checks |");
    for row in ROWS.iter() {
        let exercises = match row.retired_after {
            None => row.exercise.to_string(),
            Some(last) => format!("{} (to {last})", row.exercise),
        };
        let id = format!("`{}`", row.id);
        if !listed
            .iter()
            .any(|cells| cells[0] == id && cells[1] == exercises)
        {
            problems.push(format!(
                "book/src/contract.md (rows): no row `| {id} | {exercises} | ... |`"
            ));
        }
    }
    for cells in &listed {
        if !ROWS.iter().any(|row| cells[0] == format!("`{}`", row.id)) {
            problems.push(format!(
                "book/src/contract.md (rows): {} is not a row of the checker",
                cells[0]
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
