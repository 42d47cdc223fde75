//! Logins made once for each graded program and kept for its rows.
//!
//! Checking a password is the costliest thing a server does, and nearly
//! every row needs a user's session before it gets to what it grades. So
//! before the rows run, the runner logs alice, bob and carol in once, on a
//! server of its own, and each row set up with
//! [`Setup::SignedIn`](crate::rows::Setup) starts its server on a copy of
//! that server's database. The contract keeps sessions in the database
//! file across restarts, so such a server knows the three sessions from
//! its start, and the row's first [`Ctx::session`](crate::ctx::Ctx::session)
//! of each user is the kept session, which its transcript says, instead of
//! a login. A row that grades logging in calls `Ctx::login`, which always
//! logs in. The row still gets a server and a database of its own. What
//! this saves a student is measured in the book (`what-it-costs.md`, "The
//! password hash, once per login").
//!
//! Whether that holds for the program is tried before any row: a server
//! started on a copy must answer `GET /api/me` for every kept session with
//! its user. When anything fails (a login, a restart that forgets
//! sessions, a stub that panics), nothing is kept and every row logs in
//! for real, exactly as it would without this; the rows that grade logins
//! and restarts then say what is wrong. Rows about the login itself stay
//! on a fresh database.

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::future::join_all;
use serde_json::json;

use crate::client::Request;
use crate::ctx::log_in;
use crate::run_env::RunEnv;
use crate::server::{Server, start};
use crate::users::{ALICE, BOB, CAROL, User};

/// The whole preparation gets this long. A program slower than that (a
/// login that hangs, say) gets no kept sessions, and its rows find out why.
const PREPARE_LIMIT: Duration = Duration::from_secs(5);

/// The users logged in before the rows: every seeded user.
const USERS: [&User; 3] = [&ALICE, &BOB, &CAROL];

/// A database file holding one session per seeded user, and those sessions.
pub(crate) struct SignedIn {
    database: PathBuf,
    sessions: Vec<(&'static str, String)>,
}

impl SignedIn {
    /// Logs the seeded users in on `server` (running on `database`), stops
    /// it, and keeps a snapshot of its database if a server started on a
    /// copy knows every session. `None` when anything about that fails.
    pub(crate) async fn prepare(env: &RunEnv, server: Server, database: &Path) -> Option<SignedIn> {
        tokio::time::timeout(PREPARE_LIMIT, prepare(env, server, database))
            .await
            .ok()
            .flatten()
    }

    /// The sessions, one per seeded user, by username.
    pub(crate) fn sessions(&self) -> Vec<(&'static str, String)> {
        self.sessions.clone()
    }

    /// Makes `path` a copy of the database that holds the sessions.
    pub(crate) fn copy_to(&self, path: &Path) -> std::io::Result<()> {
        std::fs::copy(&self.database, path).map(drop)
    }
}

async fn prepare(env: &RunEnv, server: Server, database: &Path) -> Option<SignedIn> {
    let port = server.port();
    let logins = join_all(USERS.map(|user| log_in(port, user))).await;
    // SIGKILL, as after every row: what the logins committed is in the
    // database file and its write-ahead log, which the snapshot reads.
    server.discard().await;
    let sessions = USERS
        .iter()
        .zip(logins)
        .map(|(user, login)| login.ok().map(|session| (user.username, session)))
        .collect::<Option<Vec<_>>>()?;
    let kept = SignedIn {
        database: snapshot(database, env.fresh_database()).await?,
        sessions,
    };
    kept.known_after_restart(env).await.then_some(kept)
}

/// Writes the database at `from` (with whatever its write-ahead log holds)
/// into one self-contained file at `to`, so that a row copies one file.
async fn snapshot(from: &Path, to: PathBuf) -> Option<PathBuf> {
    let from = from.to_owned();
    tokio::task::spawn_blocking(move || {
        let connection = rusqlite::Connection::open(&from).ok()?;
        connection.busy_timeout(Duration::from_secs(2)).ok()?;
        connection.execute("VACUUM INTO ?1", [to.to_str()?]).ok()?;
        Some(to)
    })
    .await
    .ok()
    .flatten()
}

impl SignedIn {
    /// Whether a server started on a copy answers `GET /api/me` for every
    /// kept session with that session's user.
    async fn known_after_restart(&self, env: &RunEnv) -> bool {
        let database = env.fresh_database();
        if self.copy_to(&database).is_err() {
            return false;
        }
        let Ok(server) = start(&env.launch(&database, &[])).await else {
            return false;
        };
        let port = server.port();
        let answers = join_all(
            USERS
                .iter()
                .zip(&self.sessions)
                .map(|(user, (_, session))| {
                    let request = Request::get("/api/me").cookie(session);
                    async move {
                        request
                            .send(port)
                            .await
                            .is_ok_and(|response| response.is(200, &json!({"user": user.json()})))
                    }
                }),
        )
        .await;
        server.discard().await;
        answers.into_iter().all(|known| known)
    }
}
