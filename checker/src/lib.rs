//! The workbook's checker as a library: the course (its exercises and the
//! table of rows), the machinery that builds, starts and grades a server,
//! and the command line that drives it.
//!
//! `main.rs` only calls [`cli::main`]. The checker's own tests import the
//! course from here instead of parsing what the binary prints, so the
//! printed report stays a report, not an interface.

pub mod attack;
pub mod author;
mod bench;
mod cargo;
mod checks;
pub mod cli;
mod client;
mod connect;
mod cookie;
pub mod course;
mod ctx;
mod exit_status;
mod failure;
mod grade;
mod graded;
mod issued;
mod json;
pub mod plan;
mod progress;
mod redis_server;
mod report;
mod request;
pub mod rows;
mod run_env;
mod runner;
mod sent;
mod server;
mod signed_in;
mod users;
mod watch;
mod words;
