//! The markers of `scripts/server.rs.in`, read: every line of the
//! template parsed into a [`Line`], and the nesting of its blocks checked,
//! whatever the stage. The language itself is described in
//! [`super::template`], which renders the parsed lines.

use std::fmt;

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

/// The stages from `low` to `high`, both included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Stages {
    low: u8,
    high: u8,
}

impl Stages {
    /// Every stage: a line without a range.
    const ALL: Stages = Stages {
        low: 0,
        high: u8::MAX,
    };

    /// Reads `N`, `A-B`, `A-` or `-B`.
    fn parse(text: &str) -> Result<Stages, String> {
        let text = text.trim();
        let wrong = || format!("{text:?} is not a stage range: N, A-B, A- or -B");
        let (low, high) = text.split_once('-').unwrap_or((text, text));
        if low.is_empty() && high.is_empty() {
            return Err(wrong());
        }
        let end = |side: &str, open: u8| match side {
            "" => Ok(open),
            side => side.parse().map_err(|_| wrong()),
        };
        Ok(Stages {
            low: end(low, 0)?,
            high: end(high, u8::MAX)?,
        })
    }

    pub(super) fn contains(self, stage: u8) -> bool {
        (self.low..=self.high).contains(&stage)
    }
}

/// One line of the template, read.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Line<'a> {
    /// `//@# text`: nothing to render.
    Remark,
    /// `//@{ RANGE`: a block kept in these stages.
    Open(Stages),
    /// `//@| RANGE`: the block goes on, kept in these stages instead.
    Or(Stages),
    /// `//@}`: the end of a `//@{` block.
    Close,
    /// `//@stub N "message"`: a stub of exercise `exercise`, kept in `stages`.
    Stub {
        exercise: u8,
        stages: Stages,
        todo: Option<&'a str>,
    },
    /// A `//` line between `//@stub` and `//@solution`, trimmed.
    StubComment(&'a str),
    /// `//@solution`: the stub's body starts.
    Solution,
    /// `//@end`: the end of a stub.
    End,
    /// `//@note N text`: a comment line of exercise `exercise` only.
    Note {
        exercise: u8,
        indent: &'a str,
        text: &'a str,
    },
    /// Code (or a comment), kept in `stages`; in exercise `arm.0` the
    /// expression after its `=>` is `todo!(arm.1)`.
    Code {
        text: &'a str,
        stages: Stages,
        arm: Option<(u8, &'a str)>,
    },
}

/// Which block a marker opened, for the nesting check.
#[derive(Clone, Copy)]
enum Opened {
    /// `//@{`, until its `//@}`.
    Range,
    /// `//@stub`, until its `//@solution`.
    StubComment,
    /// `//@solution`, until the stub's `//@end`.
    StubBody,
}

/// Reads every line of the template and checks that its blocks nest: each
/// `//@{` is closed by its `//@}`, each `//@stub` has its `//@solution` and
/// its `//@end`. Returns the lines with their numbers (1-based).
pub(super) fn parse(template: &str) -> Result<Vec<(usize, Line<'_>)>, TemplateError> {
    let mut lines = Vec::new();
    let mut open: Vec<(usize, Opened)> = Vec::new();
    for (index, raw) in template.lines().enumerate() {
        let number = index + 1;
        let fail = |problem: String| TemplateError {
            line: number,
            problem,
        };
        let trimmed = raw.trim();
        if let Some((stub, Opened::StubComment)) = open.last()
            && !trimmed.contains("//@")
        {
            if !trimmed.starts_with("//") {
                return Err(fail(format!(
                    "the stub of line {stub} has `//` comment lines only before its `//@solution`"
                )));
            }
            lines.push((number, Line::StubComment(trimmed)));
            continue;
        }
        let line = read_line(raw).map_err(fail)?;
        nest(&mut open, number, &line).map_err(fail)?;
        lines.push((number, line));
    }
    let Some(&(line, opened)) = open.last() else {
        return Ok(lines);
    };
    let problem = match opened {
        Opened::Range => "`//@{` without its `//@}`",
        Opened::StubComment => "`//@stub` without its `//@solution`",
        Opened::StubBody => "`//@stub` without its `//@end`",
    };
    Err(TemplateError {
        line,
        problem: problem.into(),
    })
}

/// Checks that `line`, line `number` of the template, may stand inside the
/// blocks `open`, and opens or closes the block it marks.
fn nest(open: &mut Vec<(usize, Opened)>, number: usize, line: &Line<'_>) -> Result<(), String> {
    match (line, open.last().copied()) {
        (Line::Remark, _) => {}
        (Line::Solution, Some((stub, Opened::StubComment))) => {
            open.pop();
            open.push((stub, Opened::StubBody));
        }
        (Line::Solution, _) => {
            return Err("`//@solution` that follows no `//@stub` and its comment".into());
        }
        (_, Some((stub, Opened::StubComment))) => {
            return Err(format!(
                "the stub of line {stub} needs its `//@solution` before any other marker"
            ));
        }
        (Line::Open(_), _) => open.push((number, Opened::Range)),
        (Line::Stub { .. }, _) => open.push((number, Opened::StubComment)),
        (Line::Or(_), Some((_, Opened::Range))) => {}
        (Line::Or(_), _) => return Err("`//@|` outside a `//@{` block".into()),
        (Line::Close, Some((_, Opened::Range))) | (Line::End, Some((_, Opened::StubBody))) => {
            open.pop();
        }
        (Line::Close, None) => return Err("`//@}` without its `//@{`".into()),
        (Line::Close, Some((stub, _))) => {
            return Err(format!(
                "`//@}}` inside the stub of line {stub}: end the stub with `//@end` first"
            ));
        }
        (Line::End, None) => return Err("`//@end` without its `//@stub`".into()),
        (Line::End, Some((block, _))) => {
            return Err(format!(
                "`//@end` inside the `//@{{` block of line {block}: close it with `//@}}` first"
            ));
        }
        (Line::StubComment(_) | Line::Note { .. } | Line::Code { .. }, _) => {}
    }
    Ok(())
}

/// Reads one line on its own, outside a stub's comment.
fn read_line(raw: &str) -> Result<Line<'_>, String> {
    let trimmed = raw.trim();
    let Some(marker) = trimmed.strip_prefix("//@") else {
        let Some((code, marker)) = raw.split_once("//@") else {
            return Ok(Line::Code {
                text: raw.trim_end(),
                stages: Stages::ALL,
                arm: None,
            });
        };
        let text = code.trim_end();
        if let Some(arm) = marker.strip_prefix("arm ") {
            let Some((exercise, stages, Some(message))) = exercise_and_message(arm) else {
                return Err(
                    "`//@arm` needs an exercise number (N or N-) and a quoted message".into(),
                );
            };
            if !text.contains("=> ") {
                return Err("`//@arm` stands on a line without `=>`".into());
            }
            return Ok(Line::Code {
                text,
                stages,
                arm: Some((exercise, message)),
            });
        }
        if !marker.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
            return Err(format!("unknown marker {:?}", format!("//@{marker}")));
        }
        return Ok(Line::Code {
            text,
            stages: Stages::parse(marker)?,
            arm: None,
        });
    };
    let (name, rest) = marker.split_once(' ').unwrap_or((marker, ""));
    Ok(match name {
        "#" => Line::Remark,
        "{" => Line::Open(Stages::parse(rest)?),
        "|" => Line::Or(Stages::parse(rest)?),
        "}" if rest.trim().is_empty() => Line::Close,
        "solution" if rest.trim().is_empty() => Line::Solution,
        "end" if rest.trim().is_empty() => Line::End,
        "stub" => {
            let (exercise, stages, todo) = exercise_and_message(rest).ok_or(
                "`//@stub` needs an exercise number (N or N-), perhaps with a quoted message",
            )?;
            Line::Stub {
                exercise,
                stages,
                todo,
            }
        }
        "note" => {
            let (exercise, text) = rest
                .split_once(' ')
                .and_then(|(exercise, text)| Some((exercise.parse().ok()?, text)))
                .ok_or("`//@note` needs an exercise number and a text")?;
            Line::Note {
                exercise,
                indent: &raw[..raw.len() - raw.trim_start().len()],
                text,
            }
        }
        _ => return Err(format!("unknown marker {trimmed:?}")),
    })
}

/// Reads `N` or `N-`, then perhaps a quoted message: the exercise, the
/// stages it keeps, and the message.
fn exercise_and_message(text: &str) -> Option<(u8, Stages, Option<&str>)> {
    let (number, message) = match text.trim().split_once(' ') {
        Some((number, message)) => (number, Some(message.trim())),
        None => (text.trim(), None),
    };
    let (exercise, stages) = match number.strip_suffix('-') {
        Some(number) => {
            let exercise = number.parse().ok()?;
            (
                exercise,
                Stages {
                    low: exercise,
                    high: u8::MAX,
                },
            )
        }
        None => (number.parse().ok()?, Stages::ALL),
    };
    let quoted =
        |message: &&str| message.len() >= 2 && message.starts_with('"') && message.ends_with('"');
    match message {
        Some(message) if !quoted(&message) => None,
        message => Some((exercise, stages, message)),
    }
}
