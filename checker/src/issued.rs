//! The secrets a server gave one row, and whose each was.
//!
//! A failed row ends with a command that redoes it by hand
//! ([`crate::report::by_hand`]), and that command cannot reuse the row's
//! secrets: the sessions, tokens and tickets it names belong to a server
//! that is gone by the time the student reads the report. So the helpers
//! that log in and ask for tokens and tickets record, in the row's
//! [`Issued`], whose each secret is, and the command logs that user in
//! again on the student's server instead. A secret the row was never given
//! (a made-up or empty one) is sent as it was: on any server it is unknown.
//!
//! The record belongs to the row: the runner hands it to the report with
//! the row's outcome and transcript.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// What kind of secret the server gave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Credential {
    Session,
    Token,
    Ticket,
}

/// Every secret a server gave one row, with its user. Cloning shares it:
/// the row's context records, the runner keeps a clone for the report.
#[derive(Clone, Debug, Default)]
pub struct Issued(Arc<Mutex<HashMap<String, (Credential, &'static str)>>>);

impl Issued {
    fn secrets(&self) -> MutexGuard<'_, HashMap<String, (Credential, &'static str)>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records that the server gave `secret`, of `kind`, to `username`.
    pub fn remember(&self, secret: &str, kind: Credential, username: &'static str) {
        if !secret.is_empty() {
            self.secrets().insert(secret.to_owned(), (kind, username));
        }
    }

    /// Records a secret issued to whoever `session` belongs to (a token or
    /// a ticket asked for with that session cookie).
    pub fn remember_for_session(&self, secret: &str, kind: Credential, session: &str) {
        if let Some((Credential::Session, username)) = self.owner(session) {
            self.remember(secret, kind, username);
        }
    }

    /// Whose `secret` is, and what kind it is; `None` for one the checker
    /// made up.
    pub fn owner(&self, secret: &str) -> Option<(Credential, &'static str)> {
        self.secrets().get(secret).copied()
    }
}
