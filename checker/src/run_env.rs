//! What the rows of one grading run share: the program under grading, the
//! temporary directory of database files, and the row slots.
//!
//! A [`Run`] is made once per command and shared by every program it
//! grades (the solutions are graded side by side), so the slots bound the
//! rows running at once in the whole checker and every database file gets a
//! name of its own. A [`RunEnv`] is one program's view of that run: the
//! checks reach it through their context, the runner to start their servers.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{Semaphore, SemaphorePermit};

use crate::server::{Launch, Program};

/// Rows running at the same time, across every program being graded. Each
/// is mostly waiting on its server, and servers idle between frames, so this
/// is more than the cores; the CPU goes mostly to checking passwords at login.
const PARALLEL_ROWS: usize = 8;

/// One grading run: its database directory and its row slots.
pub struct Run {
    /// Removed, with every database file in it, when the run ends.
    dir: tempfile::TempDir,
    databases: AtomicUsize,
    row_slots: Semaphore,
    start_timeout: Duration,
}

impl Run {
    /// A run whose servers get `start_timeout` to print their listening
    /// line. Its database files go to a new temporary directory, in memory
    /// where the system has a tmpfs at `/dev/shm`: the rows grade what a
    /// server does with its database, never whether the disk keeps it (a
    /// restart finds the file either way), so the files need not outlive
    /// the run on a disk.
    pub fn new(start_timeout: Duration) -> std::io::Result<Arc<Run>> {
        let builder = || {
            let mut builder = tempfile::Builder::new();
            builder.prefix("checker-");
            builder
        };
        let memory = Path::new("/dev/shm");
        let dir = match memory.is_dir() {
            true => builder()
                .tempdir_in(memory)
                .or_else(|_| builder().tempdir())?,
            false => builder().tempdir()?,
        };
        Ok(Arc::new(Run {
            dir,
            databases: AtomicUsize::new(0),
            row_slots: Semaphore::new(PARALLEL_ROWS),
            start_timeout,
        }))
    }
}

/// One program graded in a [`Run`].
pub struct RunEnv {
    pub program: Program,
    run: Arc<Run>,
    /// In an attack lab (`checker attack`), the attack its rows run against
    /// the graded program: a built client, or a page; `None` in every
    /// other run.
    pub attack: Option<PathBuf>,
}

impl RunEnv {
    pub fn new(program: Program, run: &Arc<Run>) -> Self {
        RunEnv {
            program,
            run: run.clone(),
            attack: None,
        }
    }

    /// The same program, with an attack lab's attack for its rows to run.
    pub fn with_attack(mut self, attack: PathBuf) -> Self {
        self.attack = Some(attack);
        self
    }

    /// The run's temporary directory (for a Redis's files, say).
    pub fn dir(&self) -> &Path {
        self.run.dir.path()
    }

    pub fn start_timeout(&self) -> Duration {
        self.run.start_timeout
    }

    /// Waits for one of the run's row slots; the row holds it while it runs.
    pub async fn row_slot(&self) -> Option<SemaphorePermit<'_>> {
        // The semaphore is never closed, so acquiring fails only in theory;
        // a row then runs without a slot rather than not at all.
        self.run.row_slots.acquire().await.ok()
    }

    /// How to start the graded program on `database` with `settings`.
    pub fn launch<'a>(
        &'a self,
        database: &'a Path,
        settings: &'a [(String, String)],
    ) -> Launch<'a> {
        Launch {
            program: &self.program,
            database_path: database,
            settings,
            start_timeout: self.run.start_timeout,
            malloc: None,
        }
    }

    /// A database file that no server of the run has used yet.
    pub fn fresh_database(&self) -> PathBuf {
        let n = self.run.databases.fetch_add(1, Ordering::SeqCst);
        self.dir().join(format!("board-{n}.db"))
    }
}
