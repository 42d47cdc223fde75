//! Running the rows of one graded exercise.
//!
//! Every row gets servers of its own on database files of its own (fresh,
//! or a copy of one where the seeded users are logged in: see
//! [`crate::signed_in`]), so rows are independent and can run side by side, also rows of different exercises
//! (as many at once as the run has row slots: see [`RunEnv`]); results are
//! still delivered in table order. After a row, its servers are diagnosed
//! (crashed, panicked, hung) and killed, whatever the check did.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::client::Transcript;
use crate::ctx::Ctx;
use crate::failure::Failure;
use crate::graded::RowResult;
use crate::issued::Issued;
use crate::rows::{Row, Setup};
use crate::run_env::RunEnv;
use crate::server::{Server, start};
use crate::signed_in::SignedIn;

/// A row that takes longer than this is stopped and reported as hung; the
/// longest rows (expiry, shutdown) need a few seconds.
const ROW_LIMIT: Duration = Duration::from_secs(30);

/// Starts one server to see whether the program starts at all, so that a
/// server that never prints its listening line is reported once, not once
/// per row. When some of `rows` are set up signed in, the seeded users are
/// then logged in on that server for them. Returns the failure to report.
pub(crate) async fn preflight(
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
pub(crate) fn not_started(rows: &[&'static Row], failure: Failure) -> Vec<RowResult> {
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
            RowResult::not_run(row, outcome)
        })
        .collect()
}

/// Runs `rows`, calling `each` with every result in table order.
///
/// Every row is spawned at once and waits for one of the run's row slots
/// ([`RunEnv::row_slot`]). A window of rows in table order would stall
/// behind a row that waits on the clock (a heartbeat, an expiry) while the
/// rows after it wait for no reason; this way such a row holds up only its
/// own slot. A spawned task also turns a bug in a check (a panic) into a
/// failed row instead of ending the checker.
pub(crate) async fn run_rows(
    env: Arc<RunEnv>,
    rows: Vec<&'static Row>,
    signed_in: Option<Arc<SignedIn>>,
    mut each: impl FnMut(RowResult),
) {
    let tasks: Vec<_> = rows
        .into_iter()
        .map(|row| {
            (
                row,
                tokio::spawn(run_row(env.clone(), row, signed_in.clone())),
            )
        })
        .collect();
    for (row, task) in tasks {
        each(match task.await {
            Ok(result) => result,
            Err(error) => RowResult::not_run(
                row,
                Failure::new(
                    row.id,
                    "the check to run",
                    format!("the checker itself failed: {error}"),
                ),
            ),
        });
    }
}

async fn run_row(
    env: Arc<RunEnv>,
    row: &'static Row,
    signed_in: Option<Arc<SignedIn>>,
) -> RowResult {
    let _slot = env.row_slot().await;
    let started = Instant::now();
    let transcript = Transcript::default();
    let servers: Arc<Mutex<Vec<Arc<Server>>>> = Arc::default();
    let issued = Issued::default();
    let mut ctx = Ctx::new(
        env.clone(),
        transcript.clone(),
        servers.clone(),
        issued.clone(),
    );
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
        issued,
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
