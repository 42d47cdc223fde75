//! The reports for machines: `--format json` (one document on stdout instead
//! of the text report) and `--junit PATH` (JUnit XML, which CI services and
//! GitHub Classroom's autograding show as test results).
//!
//! Both are made from the run's reports ([`crate::graded`]) once it is
//! over, the same values the exit status is counted from, so they cannot
//! disagree with each other or with it.
//! A failed row carries the lines the text report shows for it, so a
//! student reading a CI page sees what a terminal would have shown.

use serde_json::{Value, json};

use crate::graded::{ExerciseReport, Graded, RowResult, Totals};

use super::stubs::StubPanic;
use super::text::{Style, count_line, row_lines};

/// One graded exercise as JSON: its rows, or why it has none.
fn exercise_json(report: &ExerciseReport) -> Value {
    let exercise = report.exercise;
    let mut entry = json!({
        "number": exercise.number,
        "title": exercise.title,
        "rows": [],
    });
    match &report.graded {
        Graded::Rows(results) => {
            let style = Style::of(report, false);
            entry["status"] = json!("graded");
            entry["rows"] = results.iter().map(|r| row_json(r, &style)).collect();
        }
        Graded::DidNotCompile(message) => {
            entry["status"] = json!("did not compile");
            entry["compile_error"] = json!(message);
            entry["failed_rows"] = json!(report.row_count);
        }
        Graded::PassedBefore => {
            entry["status"] = json!("passed before");
            entry["skipped_rows"] = json!(report.row_count);
        }
    }
    entry
}

fn row_json(result: &RowResult, style: &Style) -> Value {
    let (status, expected, got, request) = match &result.outcome {
        Ok(()) => ("passed", Value::Null, Value::Null, Value::Null),
        Err(f) => ("failed", json!(f.expected), json!(f.got), json!(f.request)),
    };
    let report = match &result.outcome {
        Ok(()) => Value::Null,
        Err(_) => json!(row_lines(result, style).join("\n")),
    };
    // A row that failed only because the server panicked at an
    // unwritten stub names it, as its text report does.
    let stub = match &result.outcome {
        Err(failure) => StubPanic::of(failure).map_or(Value::Null, |stub| {
            json!({
                "file": stub.file,
                "line": stub.line,
                "column": stub.column,
                "name": stub.name(),
                "message": stub.message,
            })
        }),
        Ok(()) => Value::Null,
    };
    json!({
        "id": result.row.id,
        "name": result.row.name,
        "status": status,
        "request": request,
        "expected": expected,
        "got": got,
        "duration_ms": result.duration.as_millis() as u64,
        "frames": result.transcript,
        "report": report,
        "stub": stub,
    })
}

/// The JSON document: every exercise, and the counts of the closing line.
pub(crate) fn document(reports: &[ExerciseReport]) -> Value {
    let totals = Totals::of(reports);
    json!({
        "exercises": reports.iter().map(exercise_json).collect::<Vec<Value>>(),
        "passed": totals.passed,
        "failed": totals.failed,
        "tally": count_line(totals.passed, totals.failed),
    })
}

/// JUnit XML: one test suite per exercise, one test case per graded row;
/// a failed row's `<failure>` holds its report. An exercise that did not
/// compile is one failed test case with cargo's message.
pub(crate) fn junit(reports: &[ExerciseReport]) -> String {
    let record: Vec<Value> = reports.iter().map(exercise_json).collect();
    let mut xml =
        String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"checker\">\n");
    for exercise in record.iter() {
        let rows = exercise["rows"].as_array().cloned().unwrap_or_default();
        let name = format!(
            "exercise {} {}",
            exercise["number"],
            exercise["title"].as_str().unwrap_or_default()
        );
        let failures = rows.iter().filter(|r| r["status"] == "failed").count();
        let compile = exercise["compile_error"].as_str();
        xml.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\">\n",
            escape(&name),
            rows.len() + usize::from(compile.is_some()),
            failures + usize::from(compile.is_some())
        ));
        if let Some(message) = compile {
            xml.push_str(&format!(
                "    <testcase classname=\"{0}\" name=\"compile\"><failure message=\"did not compile\">{1}</failure></testcase>\n",
                escape(&name),
                escape(message)
            ));
        }
        for row in rows {
            let seconds = row["duration_ms"].as_u64().unwrap_or(0) as f64 / 1000.0;
            xml.push_str(&format!(
                "    <testcase classname=\"{}\" name=\"{}\" time=\"{seconds:.3}\"",
                escape(&name),
                escape(&format!(
                    "{}  {}",
                    row["id"].as_str().unwrap_or_default(),
                    row["name"].as_str().unwrap_or_default()
                ))
            ));
            match row["report"].as_str() {
                None => xml.push_str("/>\n"),
                Some(report) => xml.push_str(&format!(
                    "><failure message=\"{}\">{}</failure></testcase>\n",
                    escape(&format!(
                        "expected {}",
                        row["expected"].as_str().unwrap_or_default()
                    )),
                    escape(report)
                )),
            }
        }
        xml.push_str("  </testsuite>\n");
    }
    xml.push_str("</testsuites>\n");
    xml
}

/// XML text and attribute escaping; control characters other than tab
/// and newline cannot appear in XML 1.0 at all, so they are replaced.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\n' => out.push_str("&#10;"),
            '\t' | '\r' => out.push(' '),
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// `--format`: who reads the report.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    /// Lines for people (the default).
    #[default]
    Text,
    /// One JSON document on stdout: exercises, rows (id, status, expected,
    /// got, duration, frames, the stub a row waits for) and the counts.
    Json,
}

/// Prints the JSON document and writes the JUnit file, as asked; an
/// unwritable JUnit file is a checker error (exit status 2).
pub(crate) fn finish(
    reports: &[ExerciseReport],
    format: Format,
    junit_path: Option<&std::path::Path>,
) -> Result<(), String> {
    if format == Format::Json {
        println!(
            "{}",
            serde_json::to_string_pretty(&document(reports)).unwrap_or_default()
        );
    }
    if let Some(path) = junit_path {
        std::fs::write(path, junit(reports))
            .map_err(|error| format!("could not write {}: {error}", path.display()))?;
    }
    Ok(())
}
