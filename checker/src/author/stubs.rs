//! The check that `diff -r exercises/0N-* solutions/0N-*` is exactly the
//! student's work: every line the exercise has and the solution lacks is a
//! comment or a `todo!("exercise N: ...")` of exercise N itself. The same
//! holds for an attack lab's starter and its reference attack, where the
//! stub is a `todo!("attack lab: ...")` (a client) or a comment (a page).

use std::fs;
use std::path::{Path, PathBuf};

use crate::attack::{Kind, Lab};
use crate::cargo::Flavour;
use crate::course::Exercise;

/// Every file below `dir`, as paths relative to it, sorted.
fn files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        for entry in fs::read_dir(&next)? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else if let Ok(relative) = path.strip_prefix(dir) {
                found.push(relative.to_path_buf());
            }
        }
    }
    found.sort();
    Ok(found)
}

/// The lines of `old` that are not part of a longest common subsequence
/// with `new`: what a diff would show as removed from `old`.
fn lines_only_in<'a>(old: &[&'a str], new: &[&str]) -> Vec<&'a str> {
    let mut common = vec![vec![0u32; new.len() + 1]; old.len() + 1];
    for i in (0..old.len()).rev() {
        for j in (0..new.len()).rev() {
            common[i][j] = if old[i] == new[j] {
                common[i + 1][j + 1] + 1
            } else {
                common[i + 1][j].max(common[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut only) = (0, 0, Vec::new());
    while i < old.len() {
        if j < new.len() && old[i] == new[j] {
            i += 1;
            j += 1;
        } else if j < new.len() && common[i][j + 1] >= common[i + 1][j] {
            j += 1;
        } else {
            only.push(old[i]);
            i += 1;
        }
    }
    only
}

/// What is wrong with the pair `exercises/0N-*`, `solutions/0N-*`; empty
/// when the exercise differs from its solution only in its own stubs.
pub fn stub_problems(root: &Path, exercise: &Exercise) -> Vec<String> {
    let dir = exercise.dir();
    let number = exercise.number;
    let exercise_dir = root.join("exercises").join(&dir);
    let solution_dir = root.join("solutions").join(&dir);
    let (listed, solution_listed) = match (files(&exercise_dir), files(&solution_dir)) {
        (Ok(listed), Ok(solution_listed)) => (listed, solution_listed),
        (Err(error), _) | (_, Err(error)) => {
            return vec![format!("{dir}: cannot be read: {error}")];
        }
    };
    if listed != solution_listed {
        return vec![format!("{dir}: exercise and solution hold different files")];
    }
    let mut problems = Vec::new();
    let mut stubs = 0;
    for file in listed {
        let read = |dir: &Path| fs::read_to_string(dir.join(&file)).unwrap_or_default();
        let exercise_text = read(&exercise_dir);
        let solution_text = read(&solution_dir);
        let exercise_lines: Vec<&str> = exercise_text.lines().collect();
        let solution_lines: Vec<&str> = solution_text.lines().collect();
        for line in lines_only_in(&exercise_lines, &solution_lines) {
            let line = line.trim();
            if let Some(todo) = line.split("todo!(\"").nth(1) {
                stubs += 1;
                if !todo.starts_with(&format!("exercise {number}: ")) {
                    problems.push(format!("{dir}: a stub of another exercise: {line}"));
                }
            } else if !line.starts_with("//") {
                problems.push(format!(
                    "{dir}/{}: a line the solution does not have, and not a stub: {line}",
                    file.display()
                ));
            }
        }
        if solution_text.contains("todo!(\"") {
            problems.push(format!("{dir}: the solution has a todo!()"));
        }
    }
    if stubs == 0 {
        problems.push(format!(
            "{dir}: the exercise has no stub left (is it the solution, or filled in?)"
        ));
    }
    problems
}

/// What is wrong with an attack lab's starter and its reference attack;
/// empty when the starter differs from the reference only in its stub.
pub fn attack_stub_problems(root: &Path, lab: &Lab) -> Vec<String> {
    let starter_file = lab.source(Flavour::Exercises);
    let read = |file: &str| fs::read_to_string(root.join(file));
    let (starter, reference) = match (read(&starter_file), read(&lab.source(Flavour::Solutions))) {
        (Ok(starter), Ok(reference)) => (starter, reference),
        (Err(error), _) | (_, Err(error)) => {
            return vec![format!("{}: cannot be read: {error}", lab.name)];
        }
    };
    let starter_lines: Vec<&str> = starter.lines().collect();
    let reference_lines: Vec<&str> = reference.lines().collect();
    let only: Vec<&str> = lines_only_in(&starter_lines, &reference_lines)
        .into_iter()
        .map(str::trim)
        .collect();
    let mut problems: Vec<String> = only
        .iter()
        .filter(|line| !line.starts_with("//") && !line.starts_with("todo!(\"attack lab: "))
        .map(|line| {
            format!("{starter_file}: a line the reference does not have, and not a stub: {line}")
        })
        .collect();
    let stubbed = match lab.kind {
        Kind::Client { .. } => only.iter().any(|line| line.starts_with("todo!(")),
        Kind::Page => !only.is_empty(),
    };
    if !stubbed {
        problems.push(format!(
            "{starter_file}: the starter has no stub left (is it the reference, or filled in?)"
        ));
    }
    problems
}
