//! `checker watch`: grade again whenever a file under `exercises/` is saved.
//!
//! Each run is the default grading run (`cargo run -p checker` with nothing
//! after it): it builds the exercises, skips those that passed unchanged,
//! and grades the first that is not finished. So the loop needs no notion
//! of "the current exercise" of its own: once the one being worked on
//! passes, the same run goes on to the next, and the next save grades that.
//! Compiler errors come through as the build shows them (see
//! [`crate::cargo`]).
//!
//! The files are watched with `notify` through its debouncer: an editor's
//! save is several events (write, rename, metadata), and one save should
//! be one run. What counts is a file written, created, renamed or removed,
//! not one merely opened: every build opens every source file, and would
//! otherwise start the next run, forever. And only `.rs` and `.toml` files
//! count, not an editor's swap, backup and lock files (`.main.rs.swp`,
//! `main.rs~`, `.#main.rs`).
//!
//! A save during a run does not stop it: the run ends, then the next one
//! starts at once with every save made meanwhile. Stopping a run halfway
//! would not stop it all: each row runs in a task of its own, with its
//! servers, which would go on beside the next run until they finished.
//!
//! The screen is cleared before each run when stdout is a terminal, so the
//! report on screen is always the latest one; into a file or a pipe the
//! runs follow each other. A watcher error is printed (it may have missed
//! a save), never swallowed. Ctrl-C is the command line's: it stops the
//! run and every server (see [`crate::cli`]).

use std::collections::BTreeSet;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::Duration;

use clap::Args;
use notify_debouncer_full::notify::event::{AccessKind, AccessMode};
use notify_debouncer_full::notify::{EventKind, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, DebouncedEvent, new_debouncer};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

use crate::exit_status::USAGE;
use crate::grade::GradeArgs;
use crate::{cargo, grade};

/// How long a file must be quiet before its events count as one save.
const DEBOUNCE: Duration = Duration::from_millis(300);

/// The directory watched, relative to the workspace root.
const WATCHED: &str = "exercises";

/// Grade again on every save.
#[derive(Args, Debug)]
pub(crate) struct WatchArgs {
    /// Also print the frames exchanged by passing rows, and every row of
    /// exercises that pass.
    ///
    /// Example: `cargo run -p checker -- watch --verbose`.
    #[arg(long)]
    pub verbose: bool,
}

/// `checker watch`: runs until Ctrl-C, or returns the exit status of a
/// watcher that could not start or stopped.
pub(crate) async fn run(args: &WatchArgs) -> u8 {
    let root = cargo::workspace_root();
    let watched = root.join(WATCHED);
    let (sender, mut changes) = unbounded_channel();
    let debouncer = new_debouncer(DEBOUNCE, None, move |batch: DebounceEventResult| {
        // The receiver is gone only when the watch is over.
        let _ = sender.send(batch);
    });
    let mut debouncer = match debouncer {
        Ok(debouncer) => debouncer,
        Err(error) => {
            eprintln!("error: could not start watching files: {error}");
            return USAGE;
        }
    };
    if let Err(error) = debouncer.watch(&watched, RecursiveMode::Recursive) {
        eprintln!("error: could not watch {}: {error}", watched.display());
        return USAGE;
    }
    let grading = GradeArgs {
        verbose: args.verbose,
        ..GradeArgs::default_run()
    };
    let mut cause = "started".to_owned();
    loop {
        clear_screen();
        println!("checker watch: grading ({cause})");
        grade::run(&grading).await;
        println!("watching {WATCHED}/: save a file to grade again, Ctrl-C to stop");
        cause = match next_save(&mut changes, root).await {
            Some(saved) => saved,
            None => {
                eprintln!("error: the file watcher stopped; run `checker watch` again");
                return USAGE;
            }
        };
    }
}

/// Waits for the next batch of saves that count and names them; every
/// batch already queued is taken too, so saves made during a run make one
/// run after it. `None` when the watcher has stopped.
async fn next_save(
    changes: &mut UnboundedReceiver<DebounceEventResult>,
    root: &Path,
) -> Option<String> {
    loop {
        let mut saved = BTreeSet::new();
        take(changes.recv().await?, root, &mut saved);
        while let Ok(batch) = changes.try_recv() {
            take(batch, root, &mut saved);
        }
        if !saved.is_empty() {
            let names: Vec<String> = saved.into_iter().collect();
            return Some(format!("saved: {}", names.join(", ")));
        }
    }
}

/// Adds the files of one batch that count to `saved`, relative to `root`;
/// prints the watcher's errors.
fn take(batch: DebounceEventResult, root: &Path, saved: &mut BTreeSet<String>) {
    match batch {
        Ok(events) => {
            for event in events {
                if event.need_rescan() {
                    // The kernel's queue overflowed: which files changed is
                    // lost, so grade rather than miss a save.
                    saved.insert("(events were lost)".to_owned());
                }
                for path in changed_sources(&event) {
                    let path = path.strip_prefix(root).unwrap_or(path);
                    saved.insert(path.display().to_string());
                }
            }
        }
        Err(errors) => {
            for error in errors {
                eprintln!(
                    "error: the file watcher failed ({error}); a save may have been \
                     missed: save again to grade"
                );
            }
        }
    }
}

/// The source files an event changed; none for a file only opened or read.
fn changed_sources(event: &DebouncedEvent) -> impl Iterator<Item = &std::path::PathBuf> {
    let changes = match event.kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        // Created, modified, removed, or a kind the backend could not tell.
        _ => true,
    };
    event
        .paths
        .iter()
        .filter(move |path| changes && is_source(path))
}

/// Whether a file is source: `.rs` or `.toml`, and not an editor's hidden
/// or lock file.
fn is_source(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|name| name.to_str()) else {
        return false;
    };
    let source = name.ends_with(".rs") || name.ends_with(".toml");
    source && !name.starts_with(['.', '#'])
}

/// Clears the terminal and its scrollback, so the report on screen is the
/// latest one alone; output into a file or pipe is left whole.
fn clear_screen() {
    let mut stdout = std::io::stdout();
    if stdout.is_terminal() {
        let _ = write!(stdout, "\x1b[2J\x1b[3J\x1b[H");
        let _ = stdout.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_source_files_count() {
        assert!(is_source(Path::new("/w/exercises/03-rooms/main.rs")));
        assert!(is_source(Path::new("/w/exercises/Cargo.toml")));
        assert!(!is_source(Path::new("/w/exercises/03-rooms/.main.rs.swp")));
        assert!(!is_source(Path::new("/w/exercises/03-rooms/main.rs~")));
        assert!(!is_source(Path::new("/w/exercises/03-rooms/.#main.rs")));
        assert!(!is_source(Path::new("/w/exercises/03-rooms/4913")));
        assert!(!is_source(Path::new("/w/exercises/03-rooms")));
    }

    #[test]
    fn a_file_written_counts_and_a_file_opened_does_not() {
        use notify_debouncer_full::notify::Event;
        use notify_debouncer_full::notify::event::{DataChange, ModifyKind};
        let main = std::path::PathBuf::from("/w/exercises/03-rooms/main.rs");
        let event = |kind| {
            DebouncedEvent::new(
                Event::new(kind).add_path(main.clone()),
                std::time::Instant::now(),
            )
        };
        let count = |kind| changed_sources(&event(kind)).count();
        assert_eq!(
            count(EventKind::Modify(ModifyKind::Data(DataChange::Any))),
            1
        );
        assert_eq!(
            count(EventKind::Access(AccessKind::Close(AccessMode::Write))),
            1
        );
        assert_eq!(
            count(EventKind::Access(AccessKind::Open(AccessMode::Any))),
            0
        );
        assert_eq!(
            count(EventKind::Access(AccessKind::Close(AccessMode::Read))),
            0
        );
    }
}
