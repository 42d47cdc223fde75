//! The checker's exit statuses, for every command: 0 when every graded row
//! passed; 1 when a row failed or the exercise did not compile; [`USAGE`]
//! for a usage error or a checker that could not run at all;
//! [`INTERRUPTED`] after Ctrl-C.

/// A usage error, or a checker that could not run at all.
pub(crate) const USAGE: u8 = 2;

/// Stopped by Ctrl-C or SIGTERM.
pub(crate) const INTERRUPTED: u8 = 130;
