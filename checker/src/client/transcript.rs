//! The frames of one row, in the order the checker saw them: shared by the
//! row's sockets, which append to it, and the runner, which reports it.

use std::sync::{Arc, Mutex};

/// The frames of one row, in the order the checker saw them.
#[derive(Clone, Default)]
pub struct Transcript(Arc<Mutex<Vec<String>>>);

impl Transcript {
    pub fn push(&self, line: String) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(line);
    }

    pub fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}
