//! Keeps the course's layout honest: exercise N is solution N with only
//! exercise N's lesson stubbed out, so `diff -r exercises/0N-* solutions/0N-*`
//! is exactly the student's work, and both match the template they are
//! generated from (`scripts/server.rs.in`; the generator is here, so the
//! workbook needs nothing but Rust).

use std::{
    fs,
    path::{Path, PathBuf},
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

/// Said by every failure here: a student's own work changes the exercises.
const SHIPPED_STATE: &str = "These tests guard the exercises as the workbook ships them; once you \
     have filled in stubs they fail by design (grade your work with `cargo run -p checker`).";

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
    assert!(
        problems.is_empty(),
        "{}\n{SHIPPED_STATE}",
        problems.join("\n")
    );
}

/// One stub being read: which exercise it belongs to, the comment lines
/// and the `todo!()` that replace its body in that exercise.
struct Stub {
    exercise: u8,
    comments: Vec<String>,
    todo: String,
    written: bool,
}

/// Renders stage `stage` of `scripts/server.rs.in` (the server with the
/// lessons of exercises 1..=stage), as the exercise or as the solution.
/// The template's first lines explain its markers.
fn render(template: &str, stage: u8, exercise: bool) -> String {
    let in_range = |spec: &str| {
        let (low, high) = spec
            .trim()
            .split_once('-')
            .expect("a range is A-B, A- or -B");
        (low.is_empty() || stage >= low.parse().unwrap())
            && (high.is_empty() || stage <= high.parse().unwrap())
    };
    let indent = |line: &str| line[..line.len() - line.trim_start().len()].to_owned();
    let mut out: Vec<String> = Vec::new();
    let mut kept: Vec<bool> = Vec::new();
    let mut stub: Option<Stub> = None;
    for raw in template.lines() {
        let trimmed = raw.trim();
        if let Some(spec) = trimmed.strip_prefix("//@{") {
            kept.push(in_range(spec));
            continue;
        }
        if trimmed == "//@}" {
            kept.pop();
            continue;
        }
        if trimmed.starts_with("//@#") || kept.contains(&false) {
            continue;
        }
        let mut line = raw.to_owned();
        let mut arm = None;
        if let Some(at) = line.find(" //@arm ") {
            let (number, message) = line[at + 8..].split_once(' ').unwrap();
            arm = Some((number.parse::<u8>().unwrap(), message.to_owned()));
            line.truncate(at);
        }
        if let Some(at) = line.rfind(" //@")
            && line[at + 4..]
                .chars()
                .all(|c| c.is_ascii_digit() || c == '-')
        {
            if !in_range(&line[at + 4..]) {
                continue;
            }
            line.truncate(at);
        }
        let line = line.trim_end().to_owned();
        if let Some((number, message)) = arm
            && exercise
            && number == stage
        {
            let head = line.split("=> ").next().unwrap();
            out.push(format!("{head}=> todo!({message}),"));
            continue;
        }
        if let Some(note) = trimmed.strip_prefix("//@note ") {
            let (number, text) = note.split_once(' ').unwrap();
            if exercise && number.parse::<u8>().unwrap() == stage {
                out.push(format!("{}// {text}", indent(raw)));
            }
            continue;
        }
        if let Some(number) = trimmed.strip_prefix("//@stub ") {
            let exercise = number.parse().unwrap();
            stub = Some(Stub {
                exercise,
                comments: Vec::new(),
                todo: String::new(),
                written: false,
            });
            continue;
        }
        if let Some(current) = &mut stub {
            if let Some(comment) = trimmed.strip_prefix("//@|") {
                // One space after the marker; any more is the comment's own
                // indentation (a list item's continuation, say).
                let comment = comment.strip_prefix(' ').unwrap_or(comment);
                current.comments.push(comment.trim_end().to_owned());
            } else if let Some(todo) = trimmed.strip_prefix("//@todo ") {
                current.todo = todo.to_owned();
            } else if trimmed == "//@end" {
                stub = None;
            } else if exercise && stage == current.exercise {
                if !current.written {
                    let indent = indent(raw);
                    for comment in &current.comments {
                        out.push(format!("{indent}// {comment}").trim_end().to_owned());
                    }
                    out.push(format!("{indent}todo!({})", current.todo));
                    current.written = true;
                }
            } else {
                out.push(line);
            }
            continue;
        }
        out.push(line);
    }
    out.join("\n") + "\n"
}

/// The text without what rustfmt may change (white space, and a trailing
/// comma before a closing bracket), so that a rendered server and the
/// committed, formatted one compare equal.
fn unformatted(text: &str) -> String {
    let squeezed: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    squeezed
        .replace(",}", "}")
        .replace(",)", ")")
        .replace(",]", "]")
}

/// The fourteen servers are stages of one program, generated from
/// `scripts/server.rs.in`. To change them, edit the template, then run
/// `REGENERATE_SERVERS=1 cargo test -p checker --test exercises` and
/// `cargo fmt --all`, and commit all three.
#[test]
fn the_servers_match_their_template() {
    let template = fs::read_to_string(root().join("scripts/server.rs.in")).unwrap();
    let regenerate = std::env::var_os("REGENERATE_SERVERS").is_some();
    let mut stale = Vec::new();
    for (index, slug) in SLUGS.iter().enumerate() {
        let stage = u8::try_from(index + 1).unwrap();
        for (folder, exercise) in [("exercises", true), ("solutions", false)] {
            let rendered = render(&template, stage, exercise);
            let path = root().join(folder).join(slug).join("main.rs");
            if regenerate {
                fs::write(&path, rendered).unwrap();
            } else if unformatted(&rendered) != unformatted(&fs::read_to_string(&path).unwrap()) {
                stale.push(format!("{folder}/{slug}/main.rs"));
            }
        }
    }
    assert!(
        stale.is_empty(),
        "these files differ from scripts/server.rs.in: {stale:?}\n{SHIPPED_STATE}\n\
         Maintainers: edit the template, then run \
         `REGENERATE_SERVERS=1 cargo test -p checker --test exercises && cargo fmt --all`."
    );
}
