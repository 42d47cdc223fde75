//! Rows `db.*`: a database that another connection holds locked is a
//! server's temporary fault, answered 503, and nothing is lost once it is
//! released (exercise 11).
//!
//! The row takes the lock the way an administrator's tool or a long
//! migration would: `BEGIN EXCLUSIVE` from a connection of its own. In WAL
//! mode that stops writers and lets readers on, so the row grades requests
//! that must write (a login creates a session; a ticket is a row).

use std::sync::mpsc;
use std::time::Duration;

use serde_json::json;

use super::{ALICE, BOB, Ctx, ensure};
use crate::client::Request;
use crate::failure::Failure;
use crate::rows::{Row, SIGNED_IN, check};
use crate::sent::Sent;

/// The rows this module grades, in the order they are reported.
pub(crate) static ROWS: &[Row] = &[Row {
    id: "db.locked",
    exercise: 11,
    retired_after: None,
    name: "while the database is locked, a login and a ticket get 503 Database busy; once released, logins work and no session was lost",
    book: "under-attack.md#when-the-database-fails",
    setup: SIGNED_IN,
    hint: "board answers a locked database 503 {\"error\":\"Database busy\"} in the exercises; a server of your own waits a bounded time for SQLite's lock (a busy timeout) and turns SQLITE_BUSY into that answer, never a panic or a hang.",
    check: check!(locked),
}];

/// How long the row holds the lock: longer than a server should wait for it.
const HELD: Duration = Duration::from_secs(4);

/// The lock, held by a thread of its own until it is dropped (or [`HELD`]
/// has passed, so that a row that fails early never leaves it behind).
struct Lock {
    release: mpsc::Sender<()>,
}

impl Lock {
    fn take(database: &std::path::Path) -> Result<Lock, String> {
        let connection = rusqlite::Connection::open(database).map_err(|error| error.to_string())?;
        connection
            .execute_batch("BEGIN EXCLUSIVE")
            .map_err(|error| error.to_string())?;
        let (release, released) = mpsc::channel::<()>();
        std::thread::spawn(move || {
            let _ = released.recv_timeout(HELD);
            let _ = connection.execute_batch("ROLLBACK");
        });
        Ok(Lock { release })
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = self.release.send(());
    }
}

pub(crate) async fn locked(ctx: Ctx) -> Result<(), Failure> {
    let session = ctx.session(&ALICE).await?;
    let database = ctx.database().to_owned();
    let locking = format!(
        "BEGIN EXCLUSIVE on {} from another connection",
        database.display()
    );
    let lock = tokio::task::spawn_blocking(move || Lock::take(&database))
        .await
        .map_err(|error| error.to_string())
        .and_then(|taken| taken)
        .map_err(|error| Failure::new(locking.as_str(), "the lock", error))?;
    ctx.note(&format!("{locking}: held"));
    let busy = json!({"error": "Database busy"});
    let requests = [
        Request::post("/api/login")
            .json(&json!({"username": BOB.username, "password": BOB.password})),
        Request::post("/api/ws-ticket").cookie(&session),
    ];
    for request in requests {
        let response = ctx.send(request.clone()).await?;
        ensure(
            response.is(503, &busy),
            Sent::from(&request).after("while the database is locked: "),
            format!("503 {busy}"),
            response.describe(),
        )?;
    }
    drop(lock);
    ctx.note("the lock released");
    // Nothing lost: the session from before the lock, and logins again.
    let me = Request::get("/api/me").cookie(&session);
    let response = ctx.send(me.clone()).await?;
    ensure(
        response.is(200, &json!({"user": ALICE.json()})),
        Sent::from(&me).after("after the lock was released: "),
        format!("200 {{\"user\":{}}}", ALICE.json()),
        response.describe(),
    )?;
    ctx.login(&BOB).await.map(|_| ())
}
