//! The audit of the contract (`book/src/audit.md`) against the rows: every
//! line of its tables either names the rows that grade it or says it is not
//! graded, every row id it names is a row of the checker, and every row is
//! named at least once, so a new row cannot be added without saying which
//! line of the contract it grades.

use std::{collections::BTreeSet, fs, path::Path};

use checker::plan::ROWS;

const HEADER: &str = "| contract line | graded by |";

/// The `graded by` cell of every line of the audit's tables.
fn graded_by_cells() -> Vec<(String, String)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../book/src/audit.md");
    let text = fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path:?}: {error}"));
    let mut cells = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.trim() != HEADER {
            continue;
        }
        lines.next(); // | --- | --- |
        for line in lines.by_ref().take_while(|line| line.starts_with('|')) {
            let columns: Vec<&str> = line.trim().trim_matches('|').split('|').collect();
            assert_eq!(
                columns.len(),
                2,
                "book/src/audit.md: not a two-column line: {line}"
            );
            cells.push((columns[0].trim().to_owned(), columns[1].trim().to_owned()));
        }
    }
    cells
}

/// The code spans of a cell: in the `graded by` column, only row ids.
fn code_spans(cell: &str) -> Vec<&str> {
    cell.split('`').skip(1).step_by(2).collect()
}

#[test]
fn every_line_of_the_audit_names_real_rows_or_says_why_not() {
    let cells = graded_by_cells();
    assert!(
        cells.len() > 50,
        "book/src/audit.md: only {} lines under {HEADER:?}",
        cells.len()
    );
    let ids: BTreeSet<&str> = ROWS.iter().map(|row| row.id).collect();
    let mut problems = Vec::new();
    for (line, graded_by) in &cells {
        let spans = code_spans(graded_by);
        for span in &spans {
            if !ids.contains(span) {
                problems.push(format!("{line:?}: `{span}` is not a row of the checker"));
            }
        }
        let says_why_not =
            graded_by.starts_with("not graded") || graded_by.starts_with("not a duty");
        if spans.is_empty() && !says_why_not {
            problems.push(format!(
                "{line:?}: names no row and does not say \"not graded: why\""
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_row_grades_a_line_of_the_audit() {
    let named: BTreeSet<String> = graded_by_cells()
        .iter()
        .flat_map(|(_, graded_by)| code_spans(graded_by).into_iter().map(str::to_owned))
        .collect();
    let missing: Vec<&str> = ROWS
        .iter()
        .map(|row| row.id)
        .filter(|id| !named.contains(*id))
        .collect();
    assert!(
        missing.is_empty(),
        "rows that book/src/audit.md names for no line of the contract: {missing:?}"
    );
}
