//! Running the rows of one graded exercise.
//!
//! Every row gets servers of its own on database files of its own (fresh, or
//! a copy of one where the seeded users are logged in: see
//! [`crate::signed_in`]), so rows are independent and can run side by side, also rows of different exercises
//! (up to [`PARALLEL_ROWS`] at once in the whole checker); results are still
//! delivered in table order. After a row, its servers are diagnosed
//! (crashed, panicked, hung) and killed, whatever the check did.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::checks::{Ctx, RunEnv};
use crate::client::Transcript;
use crate::report::{Failure, RowResult};
use crate::rows::{Row, Setup};
use crate::server::{Server, start};
use crate::signed_in::SignedIn;
use crate::slots::Slots;

/// Rows running at the same time, across every exercise being graded. Each
/// is mostly waiting on its server, and servers idle between frames, so this
/// is more than the cores; the CPU goes mostly to checking passwords at login.
const PARALLEL_ROWS: usize = 8;

/// The slots of [`PARALLEL_ROWS`], shared by every exercise graded at once.
static ROW_SLOTS: Slots = Slots::new(PARALLEL_ROWS);

/// A row that takes longer than this is stopped and reported as hung; the
/// longest rows (expiry, shutdown) need a few seconds.
const ROW_LIMIT: Duration = Duration::from_secs(30);

/// Starts one server to see whether the program starts at all, so that a
/// server that never prints its listening line is reported once, not once
/// per row. When some of `rows` are set up signed in, the seeded users are
/// then logged in on that server for them. Returns the failure to report.
pub async fn preflight(
    env: &RunEnv,
    rows: &[&'static Row],
) -> Result<Option<Arc<SignedIn>>, Failure> {
    let database = env.fresh_database();
    match start(&env.launch(&database, &[])).await {
        Ok(server) => {
            if rows
                .iter()
                .any(|row| matches!(row.setup, Setup::SignedIn(_)))
            {
                Ok(SignedIn::prepare(env, server, &database)
                    .await
                    .map(Arc::new))
            } else {
                server.discard().await;
                Ok(None)
            }
        }
        Err(failure) => Err(failure
            .into_row_failure("start the server with PORT=0 and a fresh DATABASE_PATH".to_owned())),
    }
}

/// Reports every row as failed because the server does not start: the first
/// with the diagnosis, the others pointing at it.
pub fn not_started(rows: &[&'static Row], failure: Failure) -> Vec<RowResult> {
    let mut failure = Some(failure);
    rows.iter()
        .map(|&row| {
            let outcome = failure.take().unwrap_or_else(|| {
                Failure::new(
                    "(not run)",
                    "a server that starts",
                    format!("not run: the server does not start (see {})", rows[0].id),
                )
            });
            RowResult {
                row,
                outcome: Err(outcome),
                transcript: Vec::new(),
                duration: Duration::ZERO,
            }
        })
        .collect()
}

/// In which order the rows of one program take the [`ROW_SLOTS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartOrder {
    /// Table order, when rows are printed as they finish: the first ones
    /// should finish first.
    Table,
    /// Later exercises first, when nobody sees rows finish (programs graded
    /// side by side, or one after another). The later exercises' rows are
    /// the ones that wait on the clock (an expiry, heartbeats, a Redis);
    /// started last, one of them kept a grading waiting for up to two
    /// seconds after every other row was done, with a core idle.
    LaterExercisesFirst,
}

impl StartOrder {
    /// The row's priority for a slot (see [`Slots`]).
    fn priority(self, row: &Row) -> u8 {
        match self {
            StartOrder::Table => 0,
            StartOrder::LaterExercisesFirst => row.exercise,
        }
    }
}

/// Runs `rows`, calling `each` with every result in table order.
///
/// Every row is spawned at once and waits for one of the [`ROW_SLOTS`],
/// in `order`. A window of rows in table order would stall behind a row
/// that waits on the clock (a heartbeat, an expiry) while the rows after it
/// wait for no reason; this way such a row holds up only its own slot. A
/// spawned task also turns a bug in a check (a panic) into a failed row
/// instead of ending the checker.
pub async fn run_rows(
    env: Arc<RunEnv>,
    rows: Vec<&'static Row>,
    signed_in: Option<Arc<SignedIn>>,
    order: StartOrder,
    mut each: impl FnMut(RowResult),
) {
    let tasks: Vec<_> = rows
        .into_iter()
        .map(|row| {
            let task = run_row(env.clone(), row, signed_in.clone(), order.priority(row));
            (row, tokio::spawn(task))
        })
        .collect();
    for (row, task) in tasks {
        each(match task.await {
            Ok(result) => result,
            Err(error) => RowResult {
                row,
                outcome: Err(Failure::new(
                    row.id,
                    "the check to run",
                    format!("the checker itself failed: {error}"),
                )),
                transcript: Vec::new(),
                duration: Duration::ZERO,
            },
        });
    }
}

async fn run_row(
    env: Arc<RunEnv>,
    row: &'static Row,
    signed_in: Option<Arc<SignedIn>>,
    priority: u8,
) -> RowResult {
    let _slot = ROW_SLOTS.acquire(priority).await;
    let started = Instant::now();
    let transcript = Transcript::default();
    let servers: Arc<Mutex<Vec<Arc<Server>>>> = Arc::default();
    let mut ctx = Ctx::new(env.clone(), transcript.clone(), servers.clone());
    let outcome = async {
        if let Setup::Server(settings) | Setup::SignedIn(settings) = row.setup {
            let database = env.fresh_database();
            if let (Setup::SignedIn(_), Some(kept)) = (row.setup, &signed_in) {
                kept.copy_to(&database).map_err(|error| {
                    Failure::new(
                        format!("copy the signed-in database to {}", database.display()),
                        "a copy",
                        error.to_string(),
                    )
                })?;
                ctx.keep_sessions(kept.sessions());
            }
            let server = ctx.start(&database, settings).await?;
            ctx.set_main(server, database);
        }
        match tokio::time::timeout(ROW_LIMIT, (row.check)(ctx)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(Failure::new(
                row.id,
                format!("the row to finish within {} s", ROW_LIMIT.as_secs()),
                "it did not finish",
            )
            .hung()),
        }
    }
    .await;

    let servers: Vec<Arc<Server>> =
        std::mem::take(&mut *servers.lock().unwrap_or_else(|p| p.into_inner()));
    let outcome = match outcome {
        Err(failure) if failure.diagnosis.is_none() => Err(diagnose(failure, &servers).await),
        other => other,
    };
    futures_util::future::join_all(servers.iter().map(|server| server.discard())).await;
    RowResult {
        row,
        outcome,
        transcript: transcript.lines(),
        duration: started.elapsed(),
    }
}

/// Adds what is known about the servers to a failure: a crash or a panic
/// explains most failures better than the frame that did not come.
async fn diagnose(failure: Failure, servers: &[Arc<Server>]) -> Failure {
    for server in servers {
        if server.exit_status().is_some() {
            server.wait_output_closed(Duration::from_millis(300)).await;
        }
        if let Some(trouble) = server.trouble() {
            return failure.with_diagnosis(trouble, server.output_tail());
        }
    }
    match servers.first() {
        Some(server) if failure.hung => failure.with_diagnosis(
            "the server did not answer in time: a handler may be stuck (awaiting something that never comes, or a lock held across .await)".to_owned(),
            server.output_tail(),
        ),
        _ => failure,
    }
}
