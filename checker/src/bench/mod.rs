//! `checker bench`: what a server costs per socket and per frame.
//!
//! ```text
//! cargo run --release -p checker -- bench 7                 the student's exercise 7
//! cargo run --release -p checker -- bench 7 --solutions     the reference solution
//! cargo run --release -p checker -- bench --server-cmd "exec node server.js"
//! ```
//!
//! It starts the server the way grading does (its own process group,
//! `PORT=0`, a fresh database), logs in twice, opens `--sockets` cookie
//! sockets, has them all join `board-1` and sends `typing` in two phases:
//! from one socket at a time, each after the previous one reached
//! everybody; then from `--typists` sockets at once (8 unless told), as in
//! a busy board. It reports upgrades per second, the server's CPU per
//! upgrade, its memory per idle socket, and for each phase the CPU per
//! delivered frame and the fan-out latency.
//!
//! The two phases differ where a server can save: one at a time, every
//! receiver has one frame to write and a frame costs at least one write to
//! the network; several at once, frames queue for each receiver and a
//! server may write them together.
//!
//! The server is built with the checker's own profile: `cargo run
//! --release` measures a release build, which is the only kind worth
//! comparing; a debug checker (as in `cargo test`) measures a debug build
//! and says so. Where the time goes: [`fleet`] is the client side,
//! [`meter`] reads the server's CPU and memory, [`figures`] does the
//! arithmetic and the printing.

mod figures;
mod fleet;
mod meter;

use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};

use crate::cargo::{self, Flavour};
use crate::course;
use crate::exit_status::USAGE;
use crate::server::{self, Launch, Program, Server};

use figures::{Readings, Typing};
use fleet::Fleet;

/// How long the server gets to print its listening line (a release build
/// starts in milliseconds; a debug build under load in well under this).
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// glibc's allocator settings for the measured server: keep freed memory
/// for the next allocation (a threshold above a hash's 19 MiB, no
/// trimming, one arena), so that the memory per socket is what the sockets
/// hold, not what the allocator happened to keep or hand back. Servers not
/// on glibc ignore the variable; a value of the caller's own is left alone.
const MEASURING_MALLOC: &str = "glibc.malloc.mmap_threshold=33554432:\
     glibc.malloc.trim_threshold=1073741824:glibc.malloc.arena_max=1";

/// Frames the typing rounds aim for by default: enough that the CPU
/// figure does not hinge on a few scheduler ticks.
const FRAMES_PER_RUN: usize = 100_000;

/// Bounds on the default number of typing rounds: enough rounds for a p99,
/// and not forever for a small board.
const MIN_ROUNDS: usize = 50;
const MAX_ROUNDS: usize = 1000;

/// Sockets that send `typing` together in a round, unless `--typists` says.
const DEFAULT_TYPISTS: u32 = 8;

/// Measure a server under many authenticated sockets.
#[derive(Args, Debug)]
pub(crate) struct BenchArgs {
    /// Which exercise's server to measure (default: the last one).
    /// Example: `cargo run --release -p checker -- bench 9`.
    #[arg(value_name = "N", value_parser = course::parse_number, conflicts_with = "server_cmd")]
    pub exercise: Option<u8>,

    /// Measure the reference solution instead of the student's exercise.
    /// Example: `bench 10 --solutions`.
    #[arg(long, conflicts_with = "server_cmd")]
    pub solutions: bool,

    /// Measure any server: run this shell command (`exec` it, as for grading).
    /// Example: `bench --server-cmd "exec node server.js"`.
    #[arg(long, value_name = "COMMAND")]
    pub server_cmd: Option<String>,

    /// Authenticated sockets to open, all in board-1.
    /// Example: `bench 10 --solutions --sockets 5000`.
    #[arg(long, value_name = "N", default_value_t = 500,
          value_parser = clap::value_parser!(u32).range(2..))]
    pub sockets: u32,

    /// Rounds of `typing` to fan out (default: about 100,000 frames' worth,
    /// between 50 and 1000). Example: `bench --rounds 200`.
    #[arg(long, value_name = "R", value_parser = clap::value_parser!(u32).range(1..))]
    pub rounds: Option<u32>,

    /// After the rounds of one `typing` at a time, rounds in which this many
    /// sockets send `typing` together, as in a busy board where several
    /// people type at once; 1 skips them. Example: `bench --typists 16`.
    #[arg(long, value_name = "K", default_value_t = DEFAULT_TYPISTS,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub typists: u32,

    /// How to print the figures: text for people, json for tools.
    /// Example: `bench --format json`.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    Text,
    Json,
}

/// Runs the bench and prints its figures; the exit status (0, 1 when the
/// server did not stand up to the load, 2 when the bench could not run).
pub(crate) async fn run(args: &BenchArgs) -> u8 {
    let sockets = args.sockets as usize;
    if let Err(message) = meter::raise_open_files(sockets) {
        eprintln!("error: {message}");
        return USAGE;
    }
    let (program, description) = match program(args).await {
        Ok(found) => found,
        Err(message) => {
            eprintln!("error: {message}");
            return 1;
        }
    };
    let database = match tempfile::Builder::new().prefix("checker-bench-").tempdir() {
        Ok(dir) => dir,
        Err(error) => {
            eprintln!("error: could not create a temporary directory: {error}");
            return USAGE;
        }
    };
    let launch = Launch {
        program: &program,
        database_path: &database.path().join("bench.db"),
        settings: &limits(),
        start_timeout: START_TIMEOUT,
        malloc: Some(MEASURING_MALLOC),
    };
    let load = Load {
        sockets,
        typists: (args.typists as usize).min(sockets),
        rounds: args.rounds.map(|rounds| rounds as usize),
    };
    let server = match log_in(&launch).await {
        Ok(cookies) => start(&launch).await.map(|server| (server, cookies)),
        Err(message) => Err(message),
    };
    let (server, cookies) = match server {
        Ok(started) => started,
        Err(message) => {
            eprintln!("error: {message}");
            return 1;
        }
    };
    let measured = measure(&server, &cookies, description, &load).await;
    // Killed, not stopped: a graceful shutdown would close every socket
    // and fan `user_left` out to all the others, which measures nothing.
    server.discard().await;
    match measured {
        Ok(readings) => {
            match args.format {
                Format::Text => println!("{}", readings.text()),
                Format::Json => println!("{}", readings.json()),
            }
            0
        }
        Err(message) => {
            eprintln!("error: {message}");
            server
                .output_tail()
                .iter()
                .for_each(|line| eprintln!("server| {line}"));
            1
        }
    }
}

/// Starts a server; a failure is one message with the server's output.
async fn start(launch: &Launch<'_>) -> Result<Server, String> {
    server::start(launch).await.map_err(|failure| {
        let output = failure
            .output
            .iter()
            .map(|line| format!("\nserver| {line}"));
        failure.summary + &output.collect::<String>()
    })
}

/// Logs in on a server of its own and returns the session cookies.
///
/// The server that is measured is a second one on the same database file
/// (sessions live there, and the contract has a server read them afresh),
/// so it has never hashed a password: argon2 takes 19 MiB per hash, and a
/// server keeps what it freed resident for its next allocations, which
/// would hide the sockets' own memory from the RSS figure.
async fn log_in(launch: &Launch<'_>) -> Result<Vec<String>, String> {
    let server = start(launch).await?;
    let cookies = fleet::log_in(server.port()).await;
    server.discard().await;
    progress(format_args!("logged in as alice and bob"));
    cookies
}

/// What to start, built if it is one of the workbook's servers, and how
/// to name it in the report.
async fn program(args: &BenchArgs) -> Result<(Program, String), String> {
    if let Some(command) = &args.server_cmd {
        return Ok((
            Program::Shell(command.clone()),
            format!("sh -c {command:?}"),
        ));
    }
    let number = args.exercise.unwrap_or_else(course::last);
    let exercise = course::exercise(number).ok_or_else(|| format!("no exercise {number}"))?;
    let flavour = if args.solutions {
        Flavour::Solutions
    } else {
        Flavour::Exercises
    };
    let (path, profile) = if cfg!(debug_assertions) {
        eprintln!(
            "note: a debug checker measures a debug server; for figures worth comparing run \
             `cargo run --release -p checker -- bench`"
        );
        (cargo::build(flavour, exercise).await?, "debug")
    } else {
        (cargo::build_release(flavour, exercise).await?, "release")
    };
    let description = format!("{} ({profile})", flavour.source(exercise));
    Ok((Program::Binary(path), description))
}

/// From exercise 9 on a server limits sockets per user and messages per
/// second per socket; the bench opens many sockets with two users' cookies
/// and sends as fast as the server answers, so it lifts both limits to the
/// most the contract allows. Earlier servers ignore the two settings.
fn limits() -> Vec<(String, String)> {
    [
        ("MAX_SOCKETS_PER_USER", "10000"),
        ("MESSAGE_RATE", "100000"),
    ]
    .map(|(name, value)| (name.to_owned(), value.to_owned()))
    .to_vec()
}

fn default_rounds(sockets: usize, typists: usize) -> usize {
    (FRAMES_PER_RUN / (typists * (sockets - 1))).clamp(MIN_ROUNDS, MAX_ROUNDS)
}

/// What the bench does to the server.
struct Load {
    sockets: usize,
    /// Sockets that send `typing` together in a round of the busy phase.
    typists: usize,
    /// Rounds in each phase, unless [`default_rounds`] decides.
    rounds: Option<usize>,
}

impl Load {
    fn rounds(&self, typists: usize) -> usize {
        self.rounds
            .unwrap_or_else(|| default_rounds(self.sockets, typists))
    }
}

/// The phases, each bracketed by readings of the server.
async fn measure(
    server: &Server,
    cookies: &[String],
    description: String,
    load: &Load,
) -> Result<Readings, String> {
    let sockets = load.sockets;
    let port = server.port();
    let pgid = server.pgid();
    progress(format_args!("opening {sockets} sockets"));

    let before = meter::sample(pgid)?;
    let started = Instant::now();
    let opened = fleet::open(port, cookies, sockets).await?;
    let upgrade_time = started.elapsed();
    let upgraded = meter::sample(pgid)?;

    let mut fleet = Fleet::new(opened);
    progress(format_args!("every socket authenticated; joining board-1"));
    fleet.join_all().await?;

    progress(format_args!("every socket joined"));
    let one_at_a_time = typing(server, &mut fleet, 1, load.rounds(1)).await?;
    let busy = match load.typists {
        1 => None,
        typists => Some(typing(server, &mut fleet, typists, load.rounds(typists)).await?),
    };

    Ok(Readings {
        server: description,
        sockets,
        upgrade_time,
        upgrade_cpu: upgraded.cpu.saturating_sub(before.cpu),
        rss_before_kib: before.rss_kib,
        rss_idle_kib: upgraded.rss_kib,
        rss_loaded_kib: meter::sample(pgid)?.rss_kib,
        one_at_a_time,
        busy,
    })
}

/// A phase of `rounds` rounds, each with `typists` sockets sending `typing`
/// together, and the server's CPU over it.
async fn typing(
    server: &Server,
    fleet: &mut Fleet,
    typists: usize,
    rounds: usize,
) -> Result<Typing, String> {
    progress(format_args!("{rounds} rounds of {typists} typing at once"));
    let before = meter::sample(server.pgid())?;
    let mut latencies = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let from = round * typists % fleet.len();
        latencies.push(fleet.typing_round(from, typists).await?);
    }
    let after = meter::sample(server.pgid())?;
    Ok(Typing {
        typists,
        cpu: after.cpu.saturating_sub(before.cpu),
        frames: (rounds * typists * (fleet.len() - 1)) as u64,
        latencies,
    })
}

/// A line on stderr, so that stdout holds only the figures.
fn progress(message: std::fmt::Arguments<'_>) {
    eprintln!("bench: {message}");
}
