//! The SQLite database: users, boards, sessions and API tokens.
//!
//! Sessions and users are read from the database every time a socket
//! connects, never from a copy in memory: an administrator (or the checker)
//! may delete a user or end a session behind the server's back, and the next
//! connection must see it. WAL mode lets that other process open the file
//! while the server has it open.
//!
//! One connection behind a mutex is enough here: every query is a primary-key
//! lookup that takes microseconds, so handing each to a blocking thread would
//! cost more than it saves. The slow part, checking a password, runs outside
//! the lock (see [`crate::http`]).
//!
//! A query can fail (the file is locked by an administrator's long write,
//! the disk is full, a table was dropped): every query returns a
//! [`DbError`] then instead of panicking, so the REST routes answer 503
//! (locked, see [`BUSY_TIMEOUT`]) or 500 (anything else) and a socket is
//! closed 1011, and the server keeps serving everyone else. A failed
//! statement changes nothing, so once the lock is gone every request works
//! again with nothing lost.
//!
//! Secrets are stored hashed: a session id or an API token is only ever kept
//! as its SHA-256, so a copy of the database file does not hand out working
//! credentials. The raw value exists only in the client's cookie or token.

use std::{
    path::Path,
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::config::ConfigError;

/// How long a statement waits for another connection's lock on the file
/// before it fails with [`DbError::is_busy`].
///
/// Other connections hold the lock briefly: the other server process of
/// exercise 10 writing a session, a WAL checkpoint; milliseconds. One second
/// rides those out many times over, and is what a client can be asked to
/// wait before being told "busy" (the contract's logins wait as long before
/// their 503). Longer would not help a lock held on purpose (an
/// administrator's open transaction), and the wait is not free: it blocks
/// the thread that runs the query and, behind [`Database`]'s mutex, every
/// other query of the process.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(1);

/// A query that failed. Its text is for the server's log, not for clients:
/// they get a generic "Internal error", or "Database busy".
#[derive(Debug)]
pub struct DbError(rusqlite::Error);

impl DbError {
    /// Whether the query failed only because another connection held the
    /// database locked for longer than [`BUSY_TIMEOUT`]: the same request
    /// may well work a moment later.
    pub fn is_busy(&self) -> bool {
        self.0.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
    }
}

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "database error: {}", self.0)
    }
}

impl std::error::Error for DbError {}

impl From<rusqlite::Error> for DbError {
    fn from(error: rusqlite::Error) -> Self {
        DbError(error)
    }
}

/// A user as the frames and REST bodies show it: `{"id":..,"name":..}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: String,
    pub name: String,
}

/// A login session, found by the raw id from the client's cookie.
#[derive(Clone, Debug)]
pub struct Session {
    /// The stored form of the session id (its SHA-256), which is how the
    /// rest of the server refers to a session without holding the secret.
    pub key: String,
    pub user_id: String,
    /// Unix seconds; the session is expired once the clock reaches it.
    pub expires_at: i64,
}

impl Session {
    /// Whether the session has reached its end.
    pub fn is_expired(&self) -> bool {
        unix_now() >= self.expires_at
    }

    /// How long until the session expires (zero if it already has).
    pub fn time_left(&self) -> Duration {
        let left = self.expires_at.saturating_sub(unix_now());
        Duration::from_secs(u64::try_from(left).unwrap_or(0))
    }
}

/// A seeded user: id, display name, login name, and the Argon2id hash of the
/// password.
///
/// The seed passwords are public (the contract lists them), so hashing them
/// afresh at every start would protect nothing, and would make every start
/// pay for three password hashes, slow on purpose; the checker starts a
/// fresh server for every row it grades. They were hashed once with
/// `Argon2::default()` and are verified exactly like the hash of any other
/// password.
const SEED_USERS: [(&str, &str, &str, &str); 3] = [
    (
        "user-alice",
        "Alice",
        "alice",
        "$argon2id$v=19$m=19456,t=2,p=1$fBV/6CkrC2cDQAY0lR0Nvw$pJfONSo467HF9APB+hg6uG0T4O2fTO/ZIBCEEPfobhM",
    ),
    (
        "user-bob",
        "Bob",
        "bob",
        "$argon2id$v=19$m=19456,t=2,p=1$GE71yKgt5zpSHx3rA/GgLw$IXLPr73axMsbeTuer46HUwBzp1+CQJ1xxL2iPmshopo",
    ),
    (
        "user-carol",
        "Carol",
        "carol",
        "$argon2id$v=19$m=19456,t=2,p=1$2PfTjf4YK95imKP8tDIx2g$5Fpp2GDFEMs+CGqKiNKKv+X6jslu+kmUeqwlQLku6sM",
    ),
];

/// The seeded boards and who may see them.
const SEED_BOARDS: [(&str, &str, &[&str]); 2] = [
    ("board-1", "Launch plan", &["user-alice", "user-bob"]),
    ("board-2", "Hiring", &["user-alice", "user-carol"]),
];

/// No foreign keys on purpose: the contract lets an administrator delete a
/// user while sessions still point at it, and the server must then answer
/// "User not found" rather than have the database cascade the delete.
const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS users (
        id            TEXT PRIMARY KEY,
        name          TEXT NOT NULL,
        username      TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS boards (
        id   TEXT PRIMARY KEY,
        name TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS board_members (
        board_id TEXT NOT NULL,
        user_id  TEXT NOT NULL,
        PRIMARY KEY (board_id, user_id)
    );
    CREATE TABLE IF NOT EXISTS sessions (
        id_hash    TEXT PRIMARY KEY,
        user_id    TEXT NOT NULL,
        expires_at INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS api_tokens (
        token_hash TEXT PRIMARY KEY,
        user_id    TEXT NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS ws_tickets (
        ticket_hash TEXT PRIMARY KEY,
        session_key TEXT NOT NULL,
        expires_at  INTEGER NOT NULL
    );
";

/// The server's handle on its database; cheap to clone.
///
/// Every query here is prepared once per connection and then taken from
/// rusqlite's statement cache (`prepare_cached`): parsing and planning the
/// SQL again on each call costs more than running it, and a cookie upgrade
/// makes three such reads
/// (book/src/what-it-costs.md#a-database-read-per-upgrade-and-per-message).
#[derive(Clone)]
pub struct Database {
    connection: Arc<Mutex<Connection>>,
}

impl Database {
    /// Opens (creating if missing) the database at `path`, creates the
    /// tables and inserts the seed rows that are missing.
    pub fn open(path: &str) -> Result<Database, ConfigError> {
        let error = |problem: String| ConfigError {
            setting: "DATABASE_PATH",
            problem,
        };
        if path != ":memory:"
            && let Some(parent) = Path::new(path).parent()
            && !parent.as_os_str().is_empty()
            && !parent.is_dir()
        {
            return Err(error(format!(
                "cannot create {path:?}: {} is not a directory",
                parent.display()
            )));
        }
        let connection =
            Connection::open(path).map_err(|e| error(format!("cannot open {path:?}: {e}")))?;
        let prepare = |connection: &Connection| -> rusqlite::Result<()> {
            connection.busy_timeout(BUSY_TIMEOUT)?;
            connection.pragma_update(None, "journal_mode", "WAL")?;
            connection.execute_batch(SCHEMA)?;
            // One transaction for the whole seed: one commit, so one sync of
            // the file, instead of one per row.
            let seeding = connection.unchecked_transaction()?;
            seed(&seeding)?;
            seeding.commit()
        };
        prepare(&connection).map_err(|e| error(format!("cannot use {path:?}: {e}")))?;
        Ok(Database {
            connection: Arc::new(Mutex::new(connection)),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite half-written
        // (each statement is atomic), so a poisoned lock is still usable.
        self.connection
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The user with this id, if it still exists.
    pub fn user(&self, user_id: &str) -> Result<Option<User>, DbError> {
        Ok(self
            .lock()
            .prepare_cached("SELECT id, name FROM users WHERE id = ?1")?
            .query_row([user_id], |row| {
                Ok(User {
                    id: row.get(0)?,
                    name: row.get(1)?,
                })
            })
            .optional()?)
    }

    /// The user and stored password hash for a login name.
    pub fn login_record(&self, username: &str) -> Result<Option<(User, String)>, DbError> {
        Ok(self
            .lock()
            .prepare_cached("SELECT id, name, password_hash FROM users WHERE username = ?1")?
            .query_row([username], |row| {
                Ok((
                    User {
                        id: row.get(0)?,
                        name: row.get(1)?,
                    },
                    row.get(2)?,
                ))
            })
            .optional()?)
    }

    /// Starts a session for `user_id` that lives for `ttl`, and returns the
    /// raw session id for the cookie. Only its hash is stored.
    pub fn create_session(&self, user_id: &str, ttl: Duration) -> Result<String, DbError> {
        let id = random_secret();
        // Whole seconds, rounded down, as the contract defines expiry.
        let expires_at = unix_now() + i64::try_from(ttl.as_secs()).expect("TTL is at most a year");
        self.lock()
            .prepare_cached(
                "INSERT INTO sessions (id_hash, user_id, expires_at) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![hash_secret(&id), user_id, expires_at])?;
        Ok(id)
    }

    /// The session with this raw id, expired or not: the caller decides,
    /// because an expired session is answered differently from an unknown one.
    /// Expired sessions are never purged here for that reason.
    pub fn session(&self, raw_id: &str) -> Result<Option<Session>, DbError> {
        self.session_by_key(&hash_secret(raw_id))
    }

    /// The session with this key (see [`Session::key`]).
    pub fn session_by_key(&self, key: &str) -> Result<Option<Session>, DbError> {
        Ok(self
            .lock()
            .prepare_cached("SELECT id_hash, user_id, expires_at FROM sessions WHERE id_hash = ?1")?
            .query_row([key], |row| {
                Ok(Session {
                    key: row.get(0)?,
                    user_id: row.get(1)?,
                    expires_at: row.get(2)?,
                })
            })
            .optional()?)
    }

    /// Deletes a session; returns whether it existed.
    pub fn delete_session(&self, key: &str) -> Result<bool, DbError> {
        Ok(self
            .lock()
            .prepare_cached("DELETE FROM sessions WHERE id_hash = ?1")?
            .execute([key])?
            > 0)
    }

    /// Issues a new API token for `user_id` and returns it. Only its hash is
    /// stored; tokens do not expire and survive logout.
    pub fn create_token(&self, user_id: &str) -> Result<String, DbError> {
        let token = random_secret();
        self.lock()
            .prepare_cached(
                "INSERT INTO api_tokens (token_hash, user_id, created_at) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![hash_secret(&token), user_id, unix_now()])?;
        Ok(token)
    }

    /// The user an API token belongs to, if the token is known and its user
    /// still exists.
    pub fn token_user(&self, token: &str) -> Result<Option<User>, DbError> {
        Ok(self
            .lock()
            .prepare_cached("SELECT users.id, users.name FROM api_tokens JOIN users ON users.id = api_tokens.user_id
                 WHERE api_tokens.token_hash = ?1")?
            .query_row(
                [hash_secret(token)],
                |row| Ok(User { id: row.get(0)?, name: row.get(1)? }),
            )
            .optional()?)
    }

    /// Runs `statement` on the connection. The lessons that are about SQL
    /// itself (a ticket used up by one atomic statement, in exercise 8)
    /// write their queries with this; everything else has a method here.
    pub fn with_connection<T>(
        &self,
        statement: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, DbError> {
        Ok(statement(&self.lock())?)
    }

    /// Whether `user_id` may see `board_id` (false for a board that does not exist).
    pub fn is_member(&self, board_id: &str, user_id: &str) -> Result<bool, DbError> {
        Ok(self
            .lock()
            .prepare_cached("SELECT 1 FROM board_members WHERE board_id = ?1 AND user_id = ?2")?
            .query_row([board_id, user_id], |_| Ok(()))
            .optional()?
            .is_some())
    }
}

/// Inserts the seed rows that are missing, and only those: a restart keeps
/// everything else (sessions, tokens) and brings back a deleted seed user.
fn seed(connection: &Connection) -> rusqlite::Result<()> {
    for (id, name, username, password_hash) in SEED_USERS {
        connection.execute(
            "INSERT OR IGNORE INTO users (id, name, username, password_hash) VALUES (?1, ?2, ?3, ?4)",
            [id, name, username, password_hash],
        )?;
    }
    for (board_id, name, members) in SEED_BOARDS {
        connection.execute(
            "INSERT OR IGNORE INTO boards (id, name) VALUES (?1, ?2)",
            [board_id, name],
        )?;
        for user_id in members {
            connection.execute(
                "INSERT OR IGNORE INTO board_members (board_id, user_id) VALUES (?1, ?2)",
                [board_id, user_id],
            )?;
        }
    }
    Ok(())
}

/// 128 bits from the operating system's CSPRNG (through `rand`'s thread
/// RNG, which is seeded from it), as 32 hex digits.
pub fn random_secret() -> String {
    rand::random::<[u8; 16]>()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The stored form of a session id or token. A fast hash is right here
/// (unlike for passwords): the input is 128 random bits, not something a
/// person chose, so there is nothing to guess.
pub fn hash_secret(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Seconds since the Unix epoch, rounded down.
pub fn unix_now() -> i64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970");
    i64::try_from(now.as_secs()).expect("seconds fit in i64")
}
