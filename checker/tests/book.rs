//! Keeps the book in step with the checker and the code: every row the
//! checker grades is explained in the book at the section its hint points
//! to, every exercise has its chapter, every `{{#include}}` finds its
//! anchor, and every link between chapters lands on a heading.
//!
//! This reads the Markdown directly, so it needs no mdBook installed; CI
//! also runs a real `mdbook build`.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::{Path, PathBuf},
};

use checker::course::EXERCISES;
use checker::plan::ROWS;

fn book_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../book/src")
}

/// Every chapter, by file name, with its text.
fn chapters() -> BTreeMap<String, String> {
    fs::read_dir(book_src())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .map(|path| {
            let name = path.file_name().unwrap().to_str().unwrap().to_owned();
            (name, fs::read_to_string(&path).unwrap())
        })
        .collect()
}

/// The ids mdBook gives a chapter's headings: the heading text, lower case,
/// spaces as dashes, punctuation dropped.
fn heading_ids(text: &str) -> BTreeSet<String> {
    let mut in_code_block = false;
    let mut ids = BTreeSet::new();
    for line in text.lines() {
        if line.starts_with("```") {
            in_code_block = !in_code_block;
        }
        if in_code_block || !line.starts_with('#') {
            continue;
        }
        let title = line
            .trim_start_matches('#')
            .trim()
            .replace("<code>", "")
            .replace("</code>", "");
        let id: String = title
            .to_lowercase()
            .chars()
            .filter_map(|c| match c {
                c if c.is_alphanumeric() || c == '_' || c == '-' => Some(c),
                c if c.is_whitespace() => Some('-'),
                _ => None,
            })
            .collect();
        ids.insert(id);
    }
    ids
}

/// Whether `file#anchor` names an existing chapter and, if given, heading.
fn target_exists(chapters: &BTreeMap<String, String>, target: &str) -> bool {
    let (file, anchor) = target.split_once('#').unwrap_or((target, ""));
    chapters
        .get(file)
        .is_some_and(|text| anchor.is_empty() || heading_ids(text).contains(anchor))
}

/// The checker's table: (id, book target, chapter title).
fn rows() -> Vec<(String, String, String)> {
    ROWS.iter()
        .map(|row| {
            (
                row.id.to_owned(),
                row.book.to_owned(),
                row.chapter_title().to_owned(),
            )
        })
        .collect()
}

#[test]
fn every_row_is_explained_where_its_hint_points() {
    let chapters = chapters();
    let rows = rows();
    assert!(rows.len() >= 40, "the table has {} rows", rows.len());
    let mut problems = Vec::new();
    for (id, target, title) in rows {
        if !target_exists(&chapters, &target) {
            problems.push(format!(
                "{id}: its hint points to {target}, which is not a heading in book/src"
            ));
        }
        let file = target.split('#').next().unwrap();
        if !chapters
            .get(file)
            .is_some_and(|text| text.starts_with(&format!("# {title}\n")))
        {
            problems.push(format!(
                "{id}: its hint calls {file} {title:?}, which is not the chapter's title"
            ));
        }
        if !chapters
            .get(file)
            .is_some_and(|text| text.contains(&format!("`{id}`")))
        {
            problems.push(format!("{id}: not mentioned in {file}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_exercise_has_its_chapter() {
    let chapters = chapters();
    for exercise in EXERCISES {
        let file = format!("exercises/{}/main.rs", exercise.dir());
        assert!(
            chapters
                .get(exercise.chapter)
                .is_some_and(|text| text.contains(&file)),
            "book/src/{} does not name {file}",
            exercise.chapter
        );
    }
}

#[test]
fn every_include_finds_its_anchor() {
    let mut problems = Vec::new();
    let mut count = 0;
    for (chapter, text) in chapters() {
        for include in text.split("{{#include ").skip(1) {
            let spec = include.split("}}").next().unwrap();
            let (path, anchor) = spec.rsplit_once(':').expect("includes name an anchor");
            count += 1;
            match fs::read_to_string(book_src().join(path)) {
                Err(_) => problems.push(format!("{chapter}: {path} does not exist")),
                Ok(code) => {
                    let start = format!("// ANCHOR: {anchor}\n");
                    let end = format!("// ANCHOR_END: {anchor}\n");
                    if !code.contains(&start) || !code.contains(&end) {
                        problems.push(format!("{chapter}: {path} has no anchor {anchor}"));
                    }
                }
            }
        }
    }
    assert!(count > 10, "only {count} includes");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_link_between_chapters_lands_on_a_heading() {
    let chapters = chapters();
    let mut problems = Vec::new();
    for (chapter, text) in &chapters {
        for link in text.split("](").skip(1) {
            let target = link.split(')').next().unwrap();
            if target.contains("://") || !(target.contains(".md") || target.starts_with('#')) {
                continue;
            }
            let target = if target.starts_with('#') {
                format!("{chapter}{target}")
            } else {
                target.to_owned()
            };
            if !target_exists(&chapters, &target) {
                problems.push(format!("{chapter}: link to {target} goes nowhere"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
