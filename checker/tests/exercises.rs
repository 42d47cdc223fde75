//! Keeps the course's layout honest: exercise N is solution N with only
//! exercise N's lesson stubbed out, so `diff -r exercises/0N-* solutions/0N-*`
//! is exactly the student's work, and both match the template they are
//! generated from.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

const SLUGS: [&str; 7] = [
    "01-cookie-auth",
    "02-rejections",
    "03-rooms",
    "04-token-in-url",
    "05-first-message",
    "06-close-codes",
    "07-origin-checks",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every file below `dir`, as paths relative to it, sorted.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        for entry in fs::read_dir(&next).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                found.push(path.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    found.sort();
    found
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

#[test]
fn each_exercise_differs_from_its_solution_only_in_its_own_stubs() {
    let mut problems = Vec::new();
    for (index, slug) in SLUGS.iter().enumerate() {
        let number = index + 1;
        let exercise_dir = root().join("exercises").join(slug);
        let solution_dir = root().join("solutions").join(slug);
        let listed = files(&exercise_dir);
        if listed != files(&solution_dir) {
            problems.push(format!(
                "{slug}: exercise and solution hold different files"
            ));
            continue;
        }
        let mut stubs = 0;
        for file in listed {
            let exercise = fs::read_to_string(exercise_dir.join(&file)).unwrap();
            let solution = fs::read_to_string(solution_dir.join(&file)).unwrap();
            let exercise_lines: Vec<&str> = exercise.lines().collect();
            let solution_lines: Vec<&str> = solution.lines().collect();
            for line in lines_only_in(&exercise_lines, &solution_lines) {
                let line = line.trim();
                if let Some(todo) = line.split("todo!(\"").nth(1) {
                    stubs += 1;
                    if !todo.starts_with(&format!("exercise {number}: ")) {
                        problems.push(format!("{slug}: a stub of another exercise: {line}"));
                    }
                } else if !line.starts_with("//") {
                    problems.push(format!("{slug}/{}: not a stub: {line}", file.display()));
                }
            }
            if solution.contains("todo!(\"") {
                problems.push(format!("{slug}: the solution has a todo!()"));
            }
            if exercise.matches("todo!(\"").count() != exercise.matches("todo!(\"exercise").count()
            {
                problems.push(format!("{slug}: a todo!() without its exercise number"));
            }
        }
        if stubs == 0 {
            problems.push(format!("{slug}: the exercise has no stub"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_servers_match_their_template() {
    let out = std::env::temp_dir().join(format!("workbook-stages-{}", std::process::id()));
    let generated = Command::new("python3")
        .arg(root().join("scripts/stages.py"))
        .arg(&out)
        .status()
        .expect("python3 runs scripts/stages.py");
    assert!(generated.success());
    let mut stale = Vec::new();
    for folder in ["exercises", "solutions"] {
        for slug in SLUGS {
            let fresh = out.join(folder).join(slug).join("main.rs");
            let formatted = Command::new("rustfmt")
                .args(["--edition", "2024"])
                .arg(&fresh)
                .status()
                .expect("rustfmt runs");
            assert!(formatted.success());
            let committed = root().join(folder).join(slug).join("main.rs");
            if fs::read_to_string(&fresh).unwrap() != fs::read_to_string(&committed).unwrap() {
                stale.push(format!("{folder}/{slug}/main.rs"));
            }
        }
    }
    fs::remove_dir_all(&out).unwrap();
    assert!(
        stale.is_empty(),
        "these files differ from scripts/server.rs.in; edit the template, run \
         `python3 scripts/stages.py && cargo fmt --all` and commit both: {stale:?}"
    );
}
