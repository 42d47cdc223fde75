//! The registry of live process groups: every server the checker started
//! and has not stopped yet, so that Ctrl-C and every exit path can kill
//! them, and a count of servers not yet reaped.
//!
//! This is the checker's one piece of global state, on purpose: a server
//! must die with the checker however the checker ends (a finished run, an
//! error, a Ctrl-C that drops whatever was running), and the code that
//! runs then (`cli::main` after the runtime's work, whichever way that
//! ended) holds no value of the run to ask. Every spawn registers its
//! group here and every stop removes it, so the cleanup needs nothing
//! passed to it.

use std::collections::HashSet;
use std::sync::{LazyLock, Mutex, MutexGuard};
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::sync::watch;

/// Process groups that may still have members.
static LIVE_GROUPS: Mutex<Option<HashSet<i32>>> = Mutex::new(None);

pub(super) fn live_groups() -> MutexGuard<'static, Option<HashSet<i32>>> {
    // A poisoned lock only means a thread panicked while holding it; the set
    // itself is still valid and killing the groups matters more.
    LIVE_GROUPS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// How many servers have been spawned and not yet reaped (waited for).
pub(super) static UNREAPED: LazyLock<watch::Sender<usize>> =
    LazyLock::new(|| watch::Sender::new(0));

/// Waits, at most `limit`, until every server the checker spawned has been
/// reaped, so that none is left behind as a zombie when the checker exits.
pub(crate) async fn all_reaped(limit: Duration) {
    let mut unreaped = UNREAPED.subscribe();
    let _ = tokio::time::timeout(limit, unreaped.wait_for(|count| *count == 0)).await;
}

/// Kills every process group the checker started and has not stopped yet.
/// Called on Ctrl-C and before the checker exits.
pub(crate) fn kill_all_live() {
    let groups: Vec<i32> = live_groups()
        .as_mut()
        .map(|set| set.drain().collect())
        .unwrap_or_default();
    for pgid in groups {
        let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
    }
}
