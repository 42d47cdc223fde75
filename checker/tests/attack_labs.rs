//! The attack labs (`checker attack LAB`) can fail and can pass: an
//! attack that does nothing fails each lab's first row, the reference
//! attacks pass both rows against the solutions (the
//! CSWSH lab in a real Chromium: it needs `chromium` and `chromedriver`), and
//! the results reach `--format json` and `--junit` as rows do. `checker
//! list` names every lab with its command.
//!
//! The two tests that run the labs end to end take half a minute and are
//! marked `#[ignore]`: CI runs them, with
//! `cargo test --workspace -- --ignored`.

mod support;

use std::time::Duration;

use checker::attack::{Kind, LABS};
use serde_json::Value;
use support::{checker, run};

/// A lab builds its client, a target and an exercise, then runs two rows.
const LAB_LIMIT: Duration = Duration::from_secs(240);

/// Proof that each lab can fail: an attack that does nothing (a client that
/// exits at once, an empty page) fails the lab's first row, and the report
/// says what the attack did not achieve. The shipped starters are such
/// attacks; `checker verify` runs them as shipped. This test does not, so
/// that it stays green once a student has written their attack.
#[test]
#[ignore = "slow: CI runs it (cargo test --workspace -- --ignored)"]
fn an_attack_that_does_nothing_fails_every_lab() {
    let empty_page = tempfile::Builder::new().suffix(".html").tempfile().unwrap();
    for lab in LABS {
        let nothing = match lab.kind {
            Kind::Client { .. } => std::path::Path::new("/bin/true"),
            Kind::Page => empty_page.path(),
        };
        let mut command = checker();
        command
            .args([
                "attack",
                lab.name,
                "--solutions",
                "--format",
                "json",
                "--attack",
            ])
            .arg(nothing);
        let finished = run(command, LAB_LIMIT);
        assert_eq!(finished.code, Some(1), "{}", finished.output());
        let document: Value =
            serde_json::from_str(&finished.stdout).expect("stdout is one JSON document");
        let rows = &document["exercises"][0]["rows"];
        assert_eq!(rows[0]["id"], lab.rows[0].id, "{}", finished.output());
        assert_eq!(rows[0]["status"], "failed", "{}", finished.output());
        assert!(
            rows[0]["report"]
                .as_str()
                .is_some_and(|report| report.contains("expected: ")),
            "{}",
            finished.output()
        );
    }
}

#[test]
#[ignore = "slow: CI runs it (cargo test --workspace -- --ignored)"]
fn every_reference_attack_passes_and_is_reported_like_rows() {
    for lab in LABS {
        let junit = tempfile::NamedTempFile::new().unwrap();
        let mut command = checker();
        command
            .args([
                "attack",
                lab.name,
                "--solutions",
                "--format",
                "json",
                "--junit",
            ])
            .arg(junit.path());
        let finished = run(command, LAB_LIMIT);
        assert_eq!(finished.code, Some(0), "{}", finished.output());
        let document: Value =
            serde_json::from_str(&finished.stdout).expect("stdout is one JSON document");
        assert_eq!(document["tally"], "2 passed, 0 failed");
        let ids: Vec<&str> = document["exercises"][0]["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .filter_map(|row| row["id"].as_str())
            .collect();
        let expected: Vec<&str> = lab.rows.iter().map(|row| row.id).collect();
        assert_eq!(ids, expected);
        let xml = std::fs::read_to_string(junit.path()).unwrap();
        let parsed = roxmltree::Document::parse(&xml).expect("the JUnit file is XML");
        let cases = parsed
            .descendants()
            .filter(|node| node.has_tag_name("testcase"))
            .count();
        assert_eq!(cases, 2, "one test case per row:\n{xml}");
    }
}

#[test]
fn list_names_every_lab_and_its_command() {
    let mut command = checker();
    command.arg("list");
    let finished = run(command, Duration::from_secs(30));
    assert_eq!(finished.code, Some(0), "{}", finished.output());
    for lab in LABS {
        assert!(
            finished.stdout.contains(&lab.command()),
            "`checker list` names {}:\n{}",
            lab.command(),
            finished.output()
        );
    }
}

/// Every lab row points at a heading of its chapter, and the chapter names
/// the row, as the book does for every other row.
#[test]
fn every_lab_row_is_in_its_chapter() {
    for row in LABS.iter().flat_map(|lab| lab.rows) {
        let (file, anchor) = row.book.split_once('#').expect("file#anchor");
        let text = std::fs::read_to_string(support::workspace_root().join("book/src").join(file))
            .unwrap_or_else(|error| panic!("{}: {file}: {error}", row.id));
        let ids: Vec<String> = text
            .lines()
            .filter(|line| line.starts_with('#'))
            .map(|line| {
                line.trim_start_matches('#')
                    .trim()
                    .to_lowercase()
                    .chars()
                    .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-')
                    .collect::<String>()
                    .replace(' ', "-")
            })
            .collect();
        assert!(
            ids.iter().any(|id| id == anchor),
            "{}: no heading #{anchor} in {file}",
            row.id
        );
        assert!(
            text.contains(&format!("`{}`", row.id)),
            "{}: {file} does not name it",
            row.id
        );
    }
}
