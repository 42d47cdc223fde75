//! A row of the table of everything the checker grades ([`crate::plan::ROWS`]).
//!
//! One row is one property of the contract (the book's appendix). Its
//! `exercise` says where it becomes graded and `retired_after` where it
//! stops being graded, so grading exercise N runs exactly the rows with
//! `exercise <= N` that are not retired: an exercise keeps everything the
//! ones before it built. Ids are stable: the book, the tests and `--row`
//! name rows by them.
//!
//! Each check module (named after the id prefix it grades) declares its rows
//! next to its checks, so a row's settings and its check are read together;
//! [`crate::plan::ROWS`] gathers them into the one table everything else
//! reads.

use futures_util::future::BoxFuture;

use crate::ctx::Ctx;
use crate::failure::Failure;

/// A row's check: it gets the row's context and says what went wrong.
pub type Check = fn(Ctx) -> BoxFuture<'static, Result<(), Failure>>;

/// What the runner starts before the check runs.
#[derive(Clone, Copy, Debug)]
pub enum Setup {
    /// A fresh server on a fresh database, with these extra settings.
    Server(&'static [(&'static str, &'static str)]),
    /// A fresh server with these extra settings, started on a copy of a
    /// database where alice, bob and carol logged in before the rows ran:
    /// the row's `Ctx::session` of each user is that kept session, the
    /// first time, instead of a login (see `signed_in.rs`). For rows
    /// about what comes after a login, not about the login itself.
    SignedIn(&'static [(&'static str, &'static str)]),
    /// The check starts (and restarts, or expects to fail) its servers itself.
    OwnServers,
}

#[derive(Clone, Copy)]
pub struct Row {
    pub id: &'static str,
    pub exercise: u8,
    pub retired_after: Option<u8>,
    pub name: &'static str,
    /// `file#anchor` under `book/src/`.
    pub book: &'static str,
    pub setup: Setup,
    /// One sentence pointing at the usual cause of a failure.
    pub hint: &'static str,
    pub check: Check,
}

impl Row {
    /// The title of the chapter `book` points into.
    pub fn chapter_title(&self) -> &'static str {
        crate::course::chapter_title(self.book.split('#').next().unwrap_or(self.book))
    }

    /// Whether grading exercise `exercise` runs this row.
    pub fn graded_in(&self, exercise: u8) -> bool {
        self.exercise <= exercise && self.retired_after.is_none_or(|last| exercise <= last)
    }
}

/// Turns an `async fn(Ctx) -> Result<(), Failure>` into a [`Check`].
macro_rules! check_fn {
    ($check:path) => {
        |ctx| Box::pin($check(ctx))
    };
}

pub const FRESH: Setup = Setup::Server(&[]);

pub const SIGNED_IN: Setup = Setup::SignedIn(&[]);

impl Setup {
    /// The settings of the server the runner starts; none for a row that
    /// starts its own.
    pub fn settings(&self) -> &'static [(&'static str, &'static str)] {
        match self {
            Setup::Server(settings) | Setup::SignedIn(settings) => settings,
            Setup::OwnServers => &[],
        }
    }
}

pub(crate) use check_fn as check;
