//! The table of rows, and which of them a run grades: the rows of an
//! exercise, narrowed to `--row`.
//!
//! Kept apart from grading so that the rules (a row is graded from its
//! exercise on until it retires; a `--row` must name a row the exercise
//! grades) are stated once, for the command line and the author checks.

use std::sync::LazyLock;

use crate::checks::{
    bearer, close, cluster, db, expiry, first_message, flood, heartbeat, limits, login, logout,
    logs, me, messages, origin, page, protocol, recheck, requests, rooms, server, shutdown,
    tickets, tokens, upgrade, ws,
};
use crate::rows::Row;

/// The rows graded in `exercise`, narrowed to `only` if it is not empty.
pub fn graded_rows(exercise: u8, only: &[String]) -> Vec<&'static Row> {
    ROWS.iter()
        .filter(|row| row.graded_in(exercise))
        .filter(|row| only.is_empty() || only.iter().any(|id| id == row.id))
        .collect()
}

/// The row with this id.
pub fn row(id: &str) -> Option<&'static Row> {
    ROWS.iter().find(|row| row.id == id)
}

/// An error for the first id in `only` that names no row.
pub fn check_ids(only: &[String]) -> Result<(), String> {
    match only.iter().find(|id| row(id).is_none()) {
        Some(unknown) => Err(format!(
            "there is no row {unknown:?}; `--list-rows` prints them all"
        )),
        None => Ok(()),
    }
}

/// The rows of one exercise for `checker N` and `--server-cmd`: a `--row`
/// that this exercise does not grade is an error.
pub fn single_selection(number: u8, only: &[String]) -> Result<Vec<&'static Row>, String> {
    check_ids(only)?;
    for id in only {
        let Some(row) = row(id) else { continue };
        if !row.graded_in(number) {
            let until = row
                .retired_after
                .map_or("on".to_owned(), |last| format!("to {last}"));
            return Err(format!(
                "row {id} is not graded in exercise {number} (it is graded from exercise {} {until})",
                row.exercise
            ));
        }
    }
    Ok(graded_rows(number, only))
}

/// The one table of rows: every check module's rows, ordered by the
/// exercise that introduces them (and, within an exercise, in the order
/// of the modules below), which is the order reports list them in.
pub static ROWS: LazyLock<Vec<Row>> = LazyLock::new(|| {
    let mut rows: Vec<Row> = [
        server::ROWS,
        login::ROWS,
        me::ROWS,
        ws::ROWS,
        rooms::ROWS,
        messages::ROWS,
        tokens::ROWS,
        tickets::ROWS,
        bearer::ROWS,
        logs::ROWS,
        first_message::ROWS,
        expiry::ROWS,
        logout::ROWS,
        close::ROWS,
        shutdown::ROWS,
        origin::ROWS,
        page::ROWS,
        heartbeat::ROWS,
        recheck::ROWS,
        limits::ROWS,
        cluster::ROWS,
        flood::ROWS,
        requests::ROWS,
        protocol::ROWS,
        upgrade::ROWS,
        db::ROWS,
    ]
    .concat();
    rows.sort_by_key(|row| row.exercise);
    rows
});
