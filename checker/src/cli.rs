//! The command line: what `cargo run -p checker -- ...` accepts, and which
//! part of the library each command runs.
//!
//! ```text
//! cargo run -p checker                     grade the exercises in order, stop at the first that fails
//! cargo run -p checker -- 3                grade exercise 3 (its rows and those of 1 and 2)
//! cargo run -p checker -- watch            grade again on every save under exercises/
//! cargo run -p checker -- connect          talk to a running server by hand
//! cargo run -p checker -- --solutions      grade the reference solutions
//! cargo run -p checker -- --server-cmd "exec ./my-server" --exercise 4
//! cargo run -p checker -- attack ticket-race   an attack lab: your attack, then your defence
//! cargo run -p checker -- verify           the author checks (for maintainers)
//! cargo run -p checker -- regenerate       rewrite the servers from scripts/server.rs.in
//! ```
//!
//! `--help` is where a student learns the commands, so every command and
//! flag carries an example: clap shows a doc comment's first paragraph in
//! the short help (`-h`, the list of commands) and all of it in `--help`,
//! so the examples are second paragraphs.
//!
//! Exit status: 0 when every graded row passed; 1 when a row failed or the
//! exercise did not compile; 2 for a usage error or when the checker could
//! not run at all; 130 after Ctrl-C. The last line of a grading run that is
//! not interrupted is `N passed, M failed`.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::exit_status::{INTERRUPTED, USAGE};
use crate::grade::GradeArgs;
use crate::report::text;
use crate::{attack, author, grade, progress, server};

/// Grades a board server against the workbook's contract.
#[derive(Parser, Debug)]
#[command(
    name = "checker",
    args_conflicts_with_subcommands = true,
    after_help = "Examples:\n  \
                  cargo run -p checker                        grade your exercises, from the first unfinished\n  \
                  cargo run -p checker -- watch               the same on every save\n  \
                  cargo run -p checker -- 3 --row ws.cookie   one row of exercise 3 again\n  \
                  cargo run -p checker -- connect --token     talk to your running server\n  \
                  cargo run -p checker -- help connect        what a command does, with examples\n\n\
                  With --server-cmd the command runs through `sh -c`; start it with `exec` \
                  (\"exec ./server\") so that signals reach the server itself.\n\
                  Colour: only on a terminal, never when NO_COLOR is set.\n\
                  Exit status: 0 all rows passed, 1 a row failed or the exercise did not \
                  compile, 2 usage error, 130 interrupted."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    #[command(flatten)]
    grade: GradeArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// The author checks, for maintainers (they fail on a student's copy).
    ///
    /// The solutions pass, the shipped exercises fail at their own first
    /// row, exercises differ from solutions only in their stubs, the
    /// servers match their template, every row has a broken-server test.
    /// Example: `cargo run -p checker -- verify`.
    Verify,
    /// Every exercise with its status as last graded.
    ///
    /// Passed, failing at a row, or not started, with its book chapter and
    /// its stub file. Example: `cargo run -p checker -- list`.
    List,
    /// Rewrite the servers from their template, for maintainers.
    ///
    /// Writes every exercise and solution server from
    /// scripts/server.rs.in and formats them. Example: `cargo run -p
    /// checker -- regenerate`.
    Regenerate,
    /// Measure a server under load.
    ///
    /// Upgrades per second, server CPU per upgrade and per delivered frame,
    /// memory per socket, fan-out latency. Example: `cargo run --release -p
    /// checker -- bench 7 --solutions`.
    Bench(crate::bench::BenchArgs),
    /// Talk to a running server by hand.
    ///
    /// Logs in as a seeded user, opens the socket the way an approach does,
    /// prints every frame, close code and reason as they arrive, and sends
    /// each line you type as a text frame.
    Connect(crate::connect::ConnectArgs),
    /// Run an attack lab: your attack against a vulnerable server, then
    /// against your exercise.
    ///
    /// The attack must succeed against the vulnerable server and fail
    /// against your defence. Example: `cargo run -p checker -- attack
    /// ticket-race` (`checker list` names every lab).
    Attack(crate::attack::AttackArgs),
    /// Grade again whenever a file under exercises/ is saved.
    ///
    /// Each run is `cargo run -p checker`: the exercise you are working on,
    /// then the next once it passes. Ctrl-C stops it and every server.
    /// Example: `cargo run -p checker -- watch`.
    Watch(crate::watch::WatchArgs),
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Regenerate) = cli.command {
        return ExitCode::from(author::regenerate());
    }
    if let Some(Command::List) = cli.command {
        // The attack labs have no status to remember: each run grades both rows.
        for line in progress::recorded_list_lines()
            .into_iter()
            .chain(attack::list_lines())
        {
            println!("{}", line.trim_end());
        }
        return ExitCode::SUCCESS;
    }
    if cli.grade.list_rows {
        text::print_row_table();
        return ExitCode::SUCCESS;
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: could not start the async runtime: {error}");
            return ExitCode::from(USAGE);
        }
    };
    // `connect` ends on Ctrl-C by closing its socket, and starts no server.
    if let Some(Command::Connect(args)) = &cli.command {
        let code = runtime.block_on(crate::connect::run(args));
        runtime.shutdown_timeout(Duration::from_millis(100));
        return ExitCode::from(code);
    }
    let code = runtime.block_on(async {
        let work = async {
            match &cli.command {
                Some(Command::Verify) => author::verify().await,
                Some(Command::Bench(args)) => crate::bench::run(args).await,
                Some(Command::Attack(args)) => crate::attack::run(args).await,
                Some(Command::Watch(args)) => crate::watch::run(args).await,
                _ => grade::run(&cli.grade).await,
            }
        };
        tokio::select! {
            code = work => code,
            _ = interrupted() => {
                eprintln!("\ninterrupted: stopping every server");
                INTERRUPTED
            }
        }
    });
    // No server may outlive the checker, whichever way it ends. After an
    // interruption the killed servers are still children of the checker:
    // their waiter tasks reap them, so none is left behind as a zombie.
    server::kill_all_live();
    runtime.block_on(server::all_reaped(Duration::from_millis(500)));
    runtime.shutdown_timeout(Duration::from_millis(100));
    ExitCode::from(code)
}

/// Ctrl-C (or a SIGTERM sent to the checker).
async fn interrupted() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate()).ok();
    let terminated = async {
        match terminate.as_mut() {
            Some(terminate) => {
                terminate.recv().await;
            }
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminated => {}
    }
}
