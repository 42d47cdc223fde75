//! The check that `diff -r exercises/0N-* solutions/0N-*` is exactly the
//! student's work: every line the exercise has and the solution lacks is a
//! comment or a `todo!("exercise N: ...")` of exercise N itself.

use std::fs;
use std::path::{Path, PathBuf};

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
