//! The rule that keeps stubs from dictating: a stub's comment states what
//! must hold and where the book explains it, never the calls that make it
//! hold. Concretely, no backticked name in a stub's comment may be a method
//! its finished body calls or a `Type::Variant` its body names.
//!
//! A rule about text is a blunt tool, so it is kept narrow: prose may talk
//! about "the session" or "the user", but not `app.db.session` or
//! `Rejection::UnknownSession`, which would turn the stub into transcription.

use std::collections::BTreeSet;

use super::markers::{Line, TemplateError, parse};

/// One stub of the template: its exercise, comment text and body.
struct StubText {
    line: usize,
    exercise: u8,
    comments: Vec<String>,
    body: Vec<String>,
}

/// The stubs of a template, nested ones included (each with its own body).
/// A note counts as a comment of the stub it stands in.
fn stubs(template: &str) -> Result<Vec<StubText>, TemplateError> {
    let mut open: Vec<StubText> = Vec::new();
    let mut done = Vec::new();
    for (line, read) in parse(template)? {
        match read {
            Line::Stub { exercise, .. } => open.push(StubText {
                line,
                exercise,
                comments: Vec::new(),
                body: Vec::new(),
            }),
            Line::End => done.extend(open.pop()),
            Line::StubComment(comment) | Line::Note { text: comment, .. } => {
                if let Some(current) = open.last_mut() {
                    current.comments.push(comment.to_owned());
                }
            }
            Line::Code { text, .. } => {
                for stub in &mut open {
                    stub.body.push(text.to_owned());
                }
            }
            _ => {}
        }
    }
    Ok(done)
}

/// Names a body uses: the methods it calls and the variants it names.
fn used_names(body: &[String]) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in body {
        let code = line.split("//").next().unwrap_or_default();
        for (index, _) in code.match_indices('.') {
            let rest = &code[index + 1..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() && rest[name.len()..].starts_with('(') {
                names.insert(name);
            }
        }
        for (index, _) in code.match_indices("::") {
            let rest = &code[index + 2..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if name.chars().next().is_some_and(char::is_uppercase) {
                names.insert(name);
            }
        }
    }
    names
}

/// The words inside backticks in a comment.
fn backticked_words(comment: &str) -> Vec<String> {
    comment
        .split('`')
        .skip(1)
        .step_by(2)
        .flat_map(|span| {
            span.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .filter(|word| !word.is_empty())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Every stub comment that names what its body does, as
/// `server.rs.in:LINE: exercise N's stub names `X``.
pub fn stub_giveaways(template: &str) -> Vec<String> {
    let stubs = match stubs(template) {
        Ok(stubs) => stubs,
        Err(error) => return vec![error.to_string()],
    };
    let mut problems = Vec::new();
    for stub in stubs {
        let used = used_names(&stub.body);
        for comment in &stub.comments {
            for word in backticked_words(comment) {
                if used.contains(&word) {
                    problems.push(format!(
                        "server.rs.in:{}: exercise {}'s stub names `{word}`, which its finished body uses: state the rule, not the call",
                        stub.line, stub.exercise
                    ));
                }
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stub_that_names_its_call_is_caught_and_a_rule_is_not() {
        let telling = "//@stub 1 \"x\"\n// Look it up with `app.db.session(id)`.\n//@solution\nlet s = app.db.session(id)?;\n//@end\n";
        let problems = stub_giveaways(telling);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("`session`"));
        let variant = "//@stub 2\n// Answer with `Rejection::UnknownSession`.\n//@solution\nErr(Rejection::UnknownSession)\n//@end\n";
        assert_eq!(stub_giveaways(variant).len(), 1);
        let note = "//@stub 2\n//@solution\n//@note 4 Add `Rejection::InvalidToken`.\nErr(Rejection::InvalidToken)\n//@end\n";
        assert_eq!(stub_giveaways(note).len(), 1);
        let rule = "//@stub 1 \"x\"\n// The session is read from the database now.\n//@solution\nlet s = app.db.session(id)?;\n//@end\n";
        assert!(stub_giveaways(rule).is_empty());
    }
}
