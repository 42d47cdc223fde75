//! The workbook's checker as a library: the course (its exercises and the
//! table of rows), the machinery that builds, starts and grades a server,
//! and the command line that drives it.
//!
//! `main.rs` only calls [`cli::main`]. The checker's own tests import the
//! course from here instead of parsing what the binary prints, so the
//! printed report stays a report, not an interface.

pub mod attack;
pub mod author;
pub mod bench;
pub mod cargo;
pub mod checks;
pub mod cli;
pub mod client;
pub mod connect;
pub mod cookie;
pub mod course;
pub mod exit_status;
pub mod failure;
pub mod grade;
pub mod graded;
pub mod issued;
pub mod json;
pub mod plan;
pub mod progress;
pub mod redis_server;
pub mod report;
pub mod rows;
pub mod run_env;
pub mod runner;
pub mod sent;
pub mod server;
pub mod users;
pub mod watch;
