//! The renderer of `scripts/server.rs.in`, the template every exercise
//! and solution server is generated from.
//!
//! The servers are stages of one program: stage N has the lessons of
//! exercises 1..=N, and the exercise of stage N has exercise N's lesson
//! replaced by stubs. One template keeps the stages from drifting apart; the
//! template's first lines document its markers. A marker written wrong is
//! reported as `server.rs.in:LINE: what is wrong`, so a maintainer goes
//! straight to the line.

use std::fmt;

use crate::cargo::Flavour;

/// Where the template lives, relative to the workspace root.
pub const TEMPLATE: &str = "scripts/server.rs.in";

/// A mistake in the template, with its line number (1-based).
#[derive(Debug, PartialEq, Eq)]
pub struct TemplateError {
    pub line: usize,
    pub problem: String,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "server.rs.in:{}: {}", self.line, self.problem)
    }
}

/// One stub being read: which exercise it belongs to, the comment lines
/// and the `todo!()` that replace its body in that exercise.
struct Stub {
    exercise: u8,
    comments: Vec<String>,
    todo: String,
    written: bool,
}

/// Renders stage `stage` of the template as the exercise or the solution.
pub fn render(template: &str, stage: u8, flavour: Flavour) -> Result<String, TemplateError> {
    let exercise = flavour == Flavour::Exercises;
    let mut out: Vec<String> = Vec::new();
    let mut kept: Vec<bool> = Vec::new();
    // Open stubs, innermost last: a stub of a later exercise may sit inside
    // the body of an earlier one (a decision added to a function written
    // before).
    let mut stubs: Vec<(usize, Stub)> = Vec::new();
    for (index, raw) in template.lines().enumerate() {
        let number = index + 1;
        let fail = |problem: String| TemplateError {
            line: number,
            problem,
        };
        let trimmed = raw.trim();
        if let Some(spec) = trimmed.strip_prefix("//@{") {
            kept.push(in_range(spec, stage).map_err(fail)?);
            continue;
        }
        if trimmed == "//@}" {
            if kept.pop().is_none() {
                return Err(fail("`//@}` without its `//@{`".into()));
            }
            continue;
        }
        if trimmed.starts_with("//@#") || kept.contains(&false) {
            continue;
        }
        let mut line = raw.to_owned();
        let mut arm = None;
        if let Some(at) = line.find(" //@arm ") {
            let (arm_stage, message) = line[at + 8..]
                .split_once(' ')
                .ok_or_else(|| fail("`//@arm` needs an exercise number and a message".into()))?;
            arm = Some((parse_stage(arm_stage).map_err(fail)?, message.to_owned()));
            line.truncate(at);
        }
        if let Some(at) = line.rfind(" //@")
            && line[at + 4..]
                .chars()
                .all(|c| c.is_ascii_digit() || c == '-')
        {
            if !in_range(&line[at + 4..], stage).map_err(fail)? {
                continue;
            }
            line.truncate(at);
        }
        let line = line.trim_end().to_owned();
        if let Some((arm_stage, message)) = arm
            && exercise
            && arm_stage == stage
        {
            let head = line
                .split("=> ")
                .next()
                .filter(|_| line.contains("=> "))
                .ok_or_else(|| fail("`//@arm` stands on a line without `=>`".into()))?;
            out.push(format!("{head}=> todo!({message}),"));
            continue;
        }
        if let Some(note) = trimmed.strip_prefix("//@note ") {
            let (note_stage, text) = note
                .split_once(' ')
                .ok_or_else(|| fail("`//@note` needs an exercise number and a text".into()))?;
            if exercise && parse_stage(note_stage).map_err(fail)? == stage {
                out.push(format!("{}// {text}", indent(raw)));
            }
            continue;
        }
        if let Some(stub_stage) = trimmed.strip_prefix("//@stub ") {
            let stub_exercise = parse_stage(stub_stage).map_err(fail)?;
            stubs.push((
                number,
                Stub {
                    exercise: stub_exercise,
                    comments: Vec::new(),
                    todo: String::new(),
                    written: false,
                },
            ));
            continue;
        }
        if let Some((_, current)) = stubs.last_mut() {
            if let Some(comment) = trimmed.strip_prefix("//@|") {
                // One space after the marker; any more is the comment's own
                // indentation (a list item's continuation, say).
                let comment = comment.strip_prefix(' ').unwrap_or(comment);
                current.comments.push(comment.trim_end().to_owned());
                continue;
            }
            if let Some(todo) = trimmed.strip_prefix("//@todo ") {
                current.todo = todo.to_owned();
                continue;
            }
            if trimmed == "//@end" {
                let active = exercise && stage == current.exercise;
                if active && !current.written {
                    return Err(fail("a stub with no body to replace".into()));
                }
                stubs.pop();
                continue;
            }
        }
        // The outermost stub of this exercise replaces everything inside it:
        // with a `//@todo`, by its comments and a `todo!()`; without one (a
        // decision the student adds to code that already runs), by its
        // comments alone.
        if let Some((_, current)) = stubs
            .iter_mut()
            .find(|(_, stub)| exercise && stub.exercise == stage)
        {
            if !current.written {
                let indent = indent(raw);
                for comment in &current.comments {
                    out.push(format!("{indent}// {comment}").trim_end().to_owned());
                }
                if !current.todo.is_empty() {
                    out.push(format!("{indent}todo!({})", current.todo));
                }
                current.written = true;
            }
            continue;
        }
        if let Some(at) = line.find("//@") {
            return Err(fail(format!("unknown marker {:?}", &line[at..])));
        }
        out.push(line);
    }
    if let Some((line, _)) = stubs.last() {
        return Err(TemplateError {
            line: *line,
            problem: "`//@stub` without its `//@end`".into(),
        });
    }
    if !kept.is_empty() {
        return Err(TemplateError {
            line: template.lines().count(),
            problem: "a `//@{` block is not closed with `//@}`".into(),
        });
    }
    Ok(out.join("\n") + "\n")
}

fn indent(line: &str) -> String {
    line[..line.len() - line.trim_start().len()].to_owned()
}

fn parse_stage(text: &str) -> Result<u8, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("{text:?} is not an exercise number"))
}

/// Whether `stage` is in `A-B`, `A-` or `-B`.
fn in_range(spec: &str, stage: u8) -> Result<bool, String> {
    let (low, high) = spec
        .trim()
        .split_once('-')
        .ok_or_else(|| format!("{:?} is not a range A-B, A- or -B", spec.trim()))?;
    let low_ok = low.is_empty() || stage >= parse_stage(low)?;
    let high_ok = high.is_empty() || stage <= parse_stage(high)?;
    Ok(low_ok && high_ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = "\
//@# a comment about the template
fn main() {
    one(); //@1-1
    two(); //@2-
    //@stub 2
    //@| Exercise 2: say hello.
    //@todo \"exercise 2: say hello\"
    hello();
    //@end
}
";

    #[test]
    fn stages_keep_their_lines_and_stub_their_own_lesson() {
        let one = render(TEMPLATE, 1, Flavour::Exercises).unwrap();
        assert!(one.contains("one();") && !one.contains("two();") && one.contains("hello();"));
        let two = render(TEMPLATE, 2, Flavour::Exercises).unwrap();
        assert!(two.contains("// Exercise 2: say hello.\n    todo!(\"exercise 2: say hello\")"));
        assert!(!two.contains("hello();"));
        assert!(
            render(TEMPLATE, 2, Flavour::Solutions)
                .unwrap()
                .contains("hello();")
        );
    }

    #[test]
    fn a_mistake_names_its_line() {
        let broken = TEMPLATE
            .replace("//@2-", "//@2-x")
            .replace("//@1-1", "//@one");
        let error = render(&broken, 1, Flavour::Exercises).unwrap_err();
        assert_eq!(error.line, 3);
        assert!(
            error
                .to_string()
                .starts_with("server.rs.in:3: unknown marker"),
            "{error}"
        );
        let unclosed = TEMPLATE.replace("    //@end\n", "");
        let error = render(&unclosed, 2, Flavour::Exercises).unwrap_err();
        assert_eq!(
            error.to_string(),
            "server.rs.in:5: `//@stub` without its `//@end`"
        );
    }
}
