//! The renderer of `scripts/server.rs.in`, the template every exercise
//! and solution server is generated from.
//!
//! The servers are stages of one program: stage N has the lessons of
//! exercises 1..=N, and the exercise of stage N has exercise N's lesson
//! replaced by stubs. One template keeps the stages from drifting apart.
//!
//! The template is Rust with markers, comments that start `//@` (the
//! template's first lines list them too). A stage range is `N`, `A-B`, `A-`
//! or `-B`.
//!
//! - `//@# text`: a comment about the template.
//! - `code //@RANGE`: the line is kept in the stages of the range.
//! - `//@{ RANGE` ... `//@}`: the lines between are kept in those stages.
//!   `//@| RANGE` inside such a block starts an alternative: the lines
//!   after it are kept in its own range instead, so the versions of one
//!   piece of code stand one after another, in exercise order.
//! - `//@stub N "message"` ... `//@solution` ... `//@end`: exercise N's
//!   stub. In exercise N the `//` comment lines before `//@solution`, and
//!   `todo!("message")`, take the place of the body after it; without a
//!   message the body is left out and only the comments stand (a decision
//!   added to code that earlier rows run). `//@stub N-` also keeps the
//!   whole stub in stages N.. only. A stub may sit inside another's body.
//! - `//@note N text`: a comment line shown only in exercise N.
//! - `code => expr, //@arm N "message"`: in exercise N the expression is
//!   `todo!("message")`; `//@arm N- "message"` also keeps the line in
//!   stages N.. only.
//!
//! The servers are formatted with rustfmt after rendering, so what a stage
//! adds to a line (a parameter, a return type, `async`) can stand on a line
//! of its own with its range, and a signature is written once. (Not inside
//! a macro's braces, such as `tokio::select! { ... }`: rustfmt leaves those
//! as they are.)
//!
//! The template is read in two steps: `parse` checks every line and the
//! nesting of the blocks, whatever the stage, and [`render`] keeps the lines
//! of one stage. A marker written wrong is reported as
//! `server.rs.in:LINE: what is wrong`, so a maintainer goes straight to the
//! line.

use crate::cargo::Flavour;

use super::markers::{Line, TemplateError, parse};

/// Where the template lives, relative to the workspace root.
pub const TEMPLATE: &str = "scripts/server.rs.in";

/// A block being rendered: whether this stage keeps its lines, and for a
/// stub that this exercise replaces, what replaces it.
struct Block<'a> {
    keep: bool,
    replaced: Option<Replacement<'a>>,
}

/// What replaces a stub's body in its own exercise.
struct Replacement<'a> {
    line: usize,
    comments: Vec<&'a str>,
    todo: Option<&'a str>,
    written: bool,
}

/// Renders stage `stage` of the template as the exercise or the solution.
pub fn render(template: &str, stage: u8, flavour: Flavour) -> Result<String, TemplateError> {
    let exercise = flavour == Flavour::Exercises;
    let mut out: Vec<String> = Vec::new();
    // The open blocks, innermost last. A stub of a later exercise may sit
    // inside the body of an earlier one (a decision added to a function
    // written before).
    let mut blocks: Vec<Block<'_>> = Vec::new();
    for (number, line) in parse(template)? {
        let kept = blocks.iter().all(|block| block.keep);
        match line {
            Line::Remark | Line::Solution => {}
            Line::Open(stages) => blocks.push(Block {
                keep: stages.contains(stage),
                replaced: None,
            }),
            Line::Or(stages) => {
                if let Some(block) = blocks.last_mut() {
                    block.keep = stages.contains(stage);
                }
            }
            Line::Stub {
                exercise: stub,
                stages,
                todo,
            } => {
                let keep = stages.contains(stage);
                blocks.push(Block {
                    keep,
                    replaced: (exercise && stub == stage && kept && keep).then(|| Replacement {
                        line: number,
                        comments: Vec::new(),
                        todo,
                        written: false,
                    }),
                });
            }
            Line::StubComment(comment) => {
                if let Some(replaced) = blocks.last_mut().and_then(|block| block.replaced.as_mut())
                {
                    replaced.comments.push(comment);
                }
            }
            Line::Close | Line::End => {
                if let Some(Block {
                    replaced: Some(replaced),
                    ..
                }) = blocks.pop()
                    && !replaced.written
                {
                    return Err(TemplateError {
                        line: replaced.line,
                        problem: format!("exercise {stage}'s stub has no body to replace"),
                    });
                }
            }
            Line::Note {
                exercise: note,
                indent,
                text,
            } => {
                if kept && exercise && note == stage {
                    out.push(format!("{indent}// {text}"));
                }
            }
            Line::Code { text, stages, arm } => {
                if !kept || !stages.contains(stage) {
                    continue;
                }
                // The outermost stub of this exercise replaces everything
                // inside it: by its comments and, with a message, a `todo!()`.
                if let Some(replaced) = blocks.iter_mut().find_map(|block| block.replaced.as_mut())
                {
                    if !replaced.written {
                        let indent = &text[..text.len() - text.trim_start().len()];
                        for comment in &replaced.comments {
                            out.push(format!("{indent}{comment}"));
                        }
                        if let Some(todo) = replaced.todo {
                            out.push(format!("{indent}todo!({todo})"));
                        }
                        replaced.written = true;
                    }
                    continue;
                }
                match arm {
                    Some((arm, message)) if exercise && arm == stage => {
                        let head = text.split("=> ").next().unwrap_or(text);
                        out.push(format!("{head}=> todo!({message}),"));
                    }
                    _ => out.push(text.to_owned()),
                }
            }
        }
    }
    Ok(out.join("\n") + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = "\
//@# a comment about the template
//@{ 1
//! Exercise 1.
//@| 2-
//! Exercise 2 and later.
//@}
fn main() {
    one(); //@1
    two(); //@2-
    //@stub 2 \"exercise 2: say hello\"
    // Exercise 2: say hello.
    //@solution
    hello();
    //@stub 3-
    // Exercise 3: and goodbye.
    //@solution
    // Goodbye.
    goodbye();
    //@end
    //@end
    //@note 3 Exercise 3: one more answer.
    let answer = match question {
        Question::Old => 1,
        Question::New => 2, //@arm 3- \"exercise 3: answer the new question\"
    };
}
";

    fn stage(stage: u8, flavour: Flavour) -> String {
        render(TEMPLATE, stage, flavour).unwrap()
    }

    #[test]
    fn ranges_and_alternatives_keep_their_stages() {
        let one = stage(1, Flavour::Solutions);
        assert!(one.starts_with("//! Exercise 1.\nfn main() {\n    one();\n    hello();\n"));
        assert!(!one.contains("two();") && !one.contains("goodbye();") && !one.contains("New"));
        let three = stage(3, Flavour::Solutions);
        assert!(three.starts_with("//! Exercise 2 and later.\n"));
        assert!(three.contains("    two();\n    hello();\n    // Goodbye.\n    goodbye();\n"));
        assert!(three.contains("Question::New => 2,"));
    }

    #[test]
    fn an_exercise_has_its_own_stubs_and_only_those() {
        let two = stage(2, Flavour::Exercises);
        assert!(
            two.contains("    two();\n    // Exercise 2: say hello.\n    todo!(\"exercise 2: say hello\")\n    let answer"),
            "{two}"
        );
        assert!(!two.contains("hello();") && !two.contains("Exercise 3"));
        // A stub without a message leaves its comment alone, at the
        // indentation of the body it replaces; the note and the arm of
        // exercise 3 show in exercise 3 only.
        let three = stage(3, Flavour::Exercises);
        assert!(
            three.contains("    hello();\n    // Exercise 3: and goodbye.\n    // Exercise 3: one more answer.\n"),
            "{three}"
        );
        assert!(!three.contains("goodbye();") && !three.contains("// Goodbye."));
        assert!(three.contains("Question::New => todo!(\"exercise 3: answer the new question\"),"));
        // A stage without stubs of its own renders alike on both sides.
        assert_eq!(stage(4, Flavour::Exercises), stage(4, Flavour::Solutions));
    }

    /// The error `render` reports when `from` is replaced by `to` in the
    /// example template.
    fn mistake(from: &str, to: &str) -> String {
        assert!(TEMPLATE.contains(from), "{from:?}");
        let broken = TEMPLATE.replacen(from, to, 1);
        match render(&broken, 2, Flavour::Exercises) {
            Ok(_) => panic!("{to:?} in place of {from:?} was not reported"),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn every_mistake_names_its_line() {
        let cases = [
            (
                "two(); //@2-",
                "two(); //@two",
                "server.rs.in:9: unknown marker \"//@two\"",
            ),
            (
                "//@# a",
                "//@ a",
                "server.rs.in:1: unknown marker \"//@ a comment about the template\"",
            ),
            (
                "two(); //@2-",
                "two(); //@2-x",
                "server.rs.in:9: \"2-x\" is not a stage range: N, A-B, A- or -B",
            ),
            (
                "//@{ 1",
                "//@{ -",
                "server.rs.in:2: \"-\" is not a stage range: N, A-B, A- or -B",
            ),
            (
                "//@| 2-",
                "//@}\n//@| 2-",
                "server.rs.in:5: `//@|` outside a `//@{` block",
            ),
            (
                "//@}\n",
                "//@}\n//@}\n",
                "server.rs.in:7: `//@}` without its `//@{`",
            ),
            ("//@}\n", "", "server.rs.in:2: `//@{` without its `//@}`"),
            (
                "    //@end\n    //@note",
                "    //@}\n    //@note",
                "server.rs.in:20: `//@}` inside the stub of line 10: end the stub with `//@end` first",
            ),
            (
                "    goodbye();\n",
                "    goodbye();\n    //@{ 1-\n",
                "server.rs.in:20: `//@end` inside the `//@{` block of line 19: close it with `//@}` first",
            ),
            (
                "    //@end\n    //@end\n",
                "    //@end\n    //@end\n    //@end\n",
                "server.rs.in:21: `//@end` without its `//@stub`",
            ),
            (
                "    //@end\n    //@end\n",
                "    //@end\n",
                "server.rs.in:10: `//@stub` without its `//@end`",
            ),
            (
                "    //@solution\n    // Goodbye",
                "    //@solution\n    //@solution\n    // Goodbye",
                "server.rs.in:17: `//@solution` that follows no `//@stub` and its comment",
            ),
            (
                "    //@solution\n    hello",
                "    hello",
                "server.rs.in:12: the stub of line 10 has `//` comment lines only before its `//@solution`",
            ),
            (
                "    //@solution\n    // Goodbye",
                "    //@note 3 Goodbye.\n    // Goodbye",
                "server.rs.in:16: the stub of line 14 needs its `//@solution` before any other marker",
            ),
            (
                "//@stub 2 ",
                "//@stub two ",
                "server.rs.in:10: `//@stub` needs an exercise number (N or N-), perhaps with a quoted message",
            ),
            (
                "\"exercise 2: say hello\"",
                "exercise 2: say hello",
                "server.rs.in:10: `//@stub` needs an exercise number (N or N-), perhaps with a quoted message",
            ),
            (
                "hello();\n",
                "",
                "server.rs.in:10: exercise 2's stub has no body to replace",
            ),
            (
                "//@note 3 Exercise",
                "//@note Exercise",
                "server.rs.in:21: `//@note` needs an exercise number and a text",
            ),
            (
                "//@arm 3- \"exercise",
                "//@arm 3- exercise",
                "server.rs.in:24: `//@arm` needs an exercise number (N or N-) and a quoted message",
            ),
            (
                "Question::New => 2,",
                "Question::New,",
                "server.rs.in:24: `//@arm` stands on a line without `=>`",
            ),
        ];
        for (from, to, expected) in cases {
            assert_eq!(mistake(from, to), expected, "{to:?} in place of {from:?}");
        }
        let cut_short = "//@stub 1\n// Exercise 1: the comment, and then nothing.\n";
        assert_eq!(
            render(cut_short, 1, Flavour::Exercises)
                .unwrap_err()
                .to_string(),
            "server.rs.in:1: `//@stub` without its `//@solution`"
        );
    }
}
