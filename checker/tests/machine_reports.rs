//! `--format json` and `--junit PATH` say what the text report says: the
//! JSON parses and its counts match its own rows and the closing line's
//! shape, and the JUnit XML parses with one test case per graded row, the
//! failed one carrying its report.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::{broken_server, checker, run};

#[test]
fn json_and_junit_agree_with_the_rows_graded() {
    let junit = tempfile::NamedTempFile::new().unwrap();
    let mut command = checker();
    command
        .env("BREAK_ROW", "ws.unknown-session")
        .arg("--server-cmd")
        .arg(format!("exec '{}'", broken_server().display()))
        .args(["--exercise", "3", "--format", "json", "--junit"])
        .arg(junit.path())
        .args([
            "--row",
            "ws.unknown-session",
            "--row",
            "login.ok",
            "--row",
            "me.ok",
        ]);
    let finished = run(command, Duration::from_secs(60));
    assert_eq!(finished.code, Some(1), "{}", finished.output());

    let document: Value =
        serde_json::from_str(&finished.stdout).expect("stdout is one JSON document");
    let rows = document["exercises"][0]["rows"].as_array().expect("rows");
    let failed: Vec<&Value> = rows.iter().filter(|r| r["status"] == "failed").collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(document["passed"], 2);
    assert_eq!(document["failed"], 1);
    assert_eq!(document["tally"], "2 passed, 1 failed");
    assert_eq!(failed[0]["id"], "ws.unknown-session");
    assert_eq!(failed[0]["expected"], "close 4001 'Invalid session'");
    assert!(
        failed[0]["frames"]
            .as_array()
            .is_some_and(|f| !f.is_empty())
    );

    let xml = std::fs::read_to_string(junit.path()).unwrap();
    let parsed = roxmltree::Document::parse(&xml).expect("the JUnit file is XML");
    let cases: Vec<roxmltree::Node<'_, '_>> = parsed
        .descendants()
        .filter(|node| node.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), 3, "one test case per row:\n{xml}");
    let failures: Vec<&roxmltree::Node<'_, '_>> = cases
        .iter()
        .filter(|case| case.children().any(|child| child.has_tag_name("failure")))
        .collect();
    assert_eq!(failures.len(), 1);
    let report = failures[0]
        .children()
        .find(|child| child.has_tag_name("failure"))
        .and_then(|failure| failure.text())
        .unwrap_or_default();
    assert!(
        report.contains("expected: close 4001 'Invalid session'"),
        "{report}"
    );
}
