//! A database that another connection holds locked, through a real server
//! on 127.0.0.1 and a real SQLite file: requests that need to write answer
//! 503 "Database busy" after the server's busy timeout instead of failing
//! or hanging, and once the lock is gone everything works again, with
//! nothing lost.

mod common;

use board::db::BUSY_TIMEOUT;
use common::{TestServer, request};
use serde_json::json;

const JSON: &str = "Content-Type: application/json\r\n";

fn credentials(username: &str) -> String {
    json!({ "username": username, "password": format!("{username}-password") }).to_string()
}

#[tokio::test]
async fn a_locked_database_is_a_503_until_the_lock_is_released() {
    let server = TestServer::start(&[]).await;
    let login = request(&server, "POST", "/api/login", JSON, &credentials("alice")).await;
    assert_eq!(login.status, 200);
    let cookie = login
        .headers
        .lines()
        .find_map(|line| line.strip_prefix("set-cookie: "))
        .and_then(|value| value.split(';').next())
        .unwrap()
        .to_owned();
    let with_cookie = format!("Cookie: {cookie}\r\n");
    let sessions = |admin: &rusqlite::Connection| -> i64 {
        admin
            .query_row("SELECT count(*) FROM sessions", [], |row| row.get(0))
            .unwrap()
    };

    // An administrator takes the write lock and keeps it.
    let admin = rusqlite::Connection::open(&server.database_path).unwrap();
    admin.execute_batch("BEGIN EXCLUSIVE").unwrap();
    admin
        .execute(
            "INSERT INTO board_members (board_id, user_id) VALUES ('board-1', 'user-carol')",
            [],
        )
        .unwrap();

    let started = std::time::Instant::now();
    let busy = request(&server, "POST", "/api/login", JSON, &credentials("bob")).await;
    assert!(
        started.elapsed() >= BUSY_TIMEOUT,
        "it waited for the lock first"
    );
    assert_eq!(busy.status, 503);
    assert!(busy.headers.contains("content-type: application/json"));
    assert_eq!(busy.body, json!({ "error": "Database busy" }));
    let busy = request(&server, "POST", "/api/tokens", &with_cookie, "").await;
    assert_eq!(
        (busy.status, busy.body),
        (503, json!({ "error": "Database busy" }))
    );
    // Reading does not need the write lock (the file is in WAL mode).
    let me = request(&server, "GET", "/api/me", &with_cookie, "").await;
    assert_eq!(me.status, 200);

    admin.execute_batch("COMMIT").unwrap();

    let login = request(&server, "POST", "/api/login", JSON, &credentials("bob")).await;
    assert_eq!(login.status, 200);
    let token = request(&server, "POST", "/api/tokens", &with_cookie, "").await;
    assert_eq!(token.status, 201);
    let me = request(&server, "GET", "/api/me", &with_cookie, "").await;
    assert_eq!(me.body["user"]["id"], "user-alice");
    // Nothing lost: alice's session and bob's new one, and no half of the
    // login refused during the lock; the administrator's write is there too.
    assert_eq!(sessions(&admin), 2);
    assert!(server.app.db.is_member("board-1", "user-carol").unwrap());
}
