//! What the student and CI read, made from the values grading produced
//! ([`crate::graded`]): the text report ([`text`], and [`summary`] for a
//! whole-course run), the JSON document and the JUnit file ([`machine`]).
//!
//! Every failure ends with a command that redoes it by hand ([`by_hand`],
//! with [`curl`] and [`shell`]); a row that waited for an unwritten stub
//! names the stub ([`stubs`]).

pub(crate) mod by_hand;
mod curl;
pub(crate) mod machine;
mod shell;
mod stubs;
pub(crate) mod summary;
pub(crate) mod text;
