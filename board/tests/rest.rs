//! The REST routes and the database, through a real server on 127.0.0.1
//! and a real SQLite file: what every exercise inherits from `board`.

use std::time::Duration;

use axum::Router;
use board::{App, config::Config, db::Database};
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode, body::Bytes, header};
use hyper_util::{client::legacy::Client, rt::TokioExecutor};
use serde_json::{Value, json};
use tempfile::TempDir;

/// A server running in this test's runtime, on its own database file.
struct TestServer {
    app: App,
    base: String,
    _dir: TempDir,
    database_path: String,
}

impl TestServer {
    async fn start() -> TestServer {
        let dir = TempDir::new().unwrap();
        let database_path = dir.path().join("board.db").to_str().unwrap().to_owned();
        let mut config = Config::from_lookup(|name| match name {
            "PORT" => Some("0".into()),
            "DATABASE_PATH" => Some(database_path.clone()),
            _ => None,
        })
        .unwrap();
        let db = Database::open(&config.database_path).unwrap();
        let listener = board::listen(&mut config).await.unwrap();
        let base = format!("http://127.0.0.1:{}", config.port);
        let app = App::new(config, db);
        tokio::spawn(board::serve(
            listener,
            app.clone(),
            board::router(&app, Router::new()),
        ));
        TestServer {
            app,
            base,
            _dir: dir,
            database_path,
        }
    }

    /// Sends a request; returns the status, the `Set-Cookie` header (if
    /// any) and the body as JSON (`Null` if empty).
    async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (StatusCode, Option<String>, Value) {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(Full::new(Bytes::from(body.to_owned())))
            .unwrap();
        let client = Client::builder(TokioExecutor::new()).build_http();
        let response = client.request(request).await.unwrap();
        let status = response.status();
        let cookie = response
            .headers()
            .get(header::SET_COOKIE)
            .map(|value| value.to_str().unwrap().to_owned());
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        (status, cookie, body)
    }

    async fn login(&self, username: &str, password: &str) -> (StatusCode, Option<String>, Value) {
        let body = json!({ "username": username, "password": password }).to_string();
        self.send(
            Method::POST,
            "/api/login",
            &[("content-type", "application/json")],
            &body,
        )
        .await
    }

    /// Logs in and returns the `Cookie` header value for the session.
    async fn session_cookie(&self, username: &str) -> String {
        let (status, cookie, _) = self.login(username, &format!("{username}-password")).await;
        assert_eq!(status, StatusCode::OK);
        cookie.unwrap().split(';').next().unwrap().to_owned()
    }
}

#[tokio::test]
async fn login_sets_a_protected_session_cookie() {
    let server = TestServer::start().await;
    let (status, cookie, body) = server.login("alice", "alice-password").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({ "user": { "id": "user-alice", "name": "Alice" } })
    );
    let cookie = cookie.unwrap();
    let attributes: Vec<&str> = cookie.split(';').map(str::trim).collect();
    let id = attributes[0].strip_prefix("session=").unwrap();
    assert_eq!(id.len(), 32, "128 bits as hex");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(
            attributes.contains(&attribute),
            "{attribute} missing from {cookie}"
        );
    }
}

#[tokio::test]
async fn wrong_credentials_are_401_and_malformed_bodies_are_400() {
    let server = TestServer::start().await;
    for (username, password) in [("alice", "bob-password"), ("nobody", "x"), ("", "")] {
        let (status, cookie, body) = server.login(username, password).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{username}/{password}");
        assert_eq!(body, json!({ "error": "Invalid credentials" }));
        assert_eq!(cookie, None);
    }
    let json = [("content-type", "application/json")];
    for (headers, body) in [
        (&json[..], "not json"),
        (&json[..], r#"{"username":"alice"}"#),
        (&json[..], r#"{"username":"alice","password":7}"#),
        (
            &[][..],
            r#"{"username":"alice","password":"alice-password"}"#,
        ),
    ] {
        let (status, _, answer) = server.send(Method::POST, "/api/login", headers, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(answer["error"].is_string(), "{answer}");
    }
}

#[tokio::test]
async fn me_logout_and_tokens_need_a_live_session() {
    let server = TestServer::start().await;
    let cookie = server.session_cookie("bob").await;
    let with_cookie = [("cookie", cookie.as_str())];

    let (status, _, body) = server.send(Method::GET, "/api/me", &with_cookie, "").await;
    assert_eq!(
        (status, body),
        (
            StatusCode::OK,
            json!({ "user": { "id": "user-bob", "name": "Bob" } })
        )
    );

    let (status, _, body) = server
        .send(Method::POST, "/api/tokens", &with_cookie, "")
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let token = body["token"].as_str().unwrap();
    assert_eq!(
        server.app.db.token_user(token).unwrap().unwrap().id,
        "user-bob"
    );

    let (status, cleared, _) = server
        .send(Method::POST, "/api/logout", &with_cookie, "")
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let cleared = cleared.unwrap();
    assert!(
        cleared.starts_with("session=;")
            && cleared.contains("Max-Age=0")
            && cleared.contains("Path=/")
    );
    assert!(
        server.app.db.token_user(token).unwrap().is_some(),
        "tokens survive logout"
    );

    for (method, path) in [
        (Method::GET, "/api/me"),
        (Method::POST, "/api/logout"),
        (Method::POST, "/api/tokens"),
    ] {
        for headers in [&with_cookie[..], &[][..]] {
            let (status, _, body) = server.send(method.clone(), path, headers, "").await;
            assert_eq!(
                (status, body),
                (StatusCode::UNAUTHORIZED, json!({ "error": "Unauthorized" })),
                "{path}"
            );
        }
    }
}

#[tokio::test]
async fn an_expired_session_is_not_a_login() {
    let server = TestServer::start().await;
    let cookie = server.session_cookie("alice").await;
    let admin = rusqlite::Connection::open(&server.database_path).unwrap();
    admin
        .execute(
            "UPDATE sessions SET expires_at = 0 WHERE user_id = 'user-alice'",
            [],
        )
        .unwrap();
    let (status, _, _) = server
        .send(Method::GET, "/api/me", &[("cookie", &cookie)], "")
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn logout_ends_the_session_for_open_sockets() {
    let server = TestServer::start().await;
    let cookie = server.session_cookie("alice").await;
    let session_id = cookie.strip_prefix("session=").unwrap();
    let session = server.app.db.session(session_id).unwrap().unwrap();
    let app = server.app.clone();
    let ended = tokio::spawn(async move { app.session_ended(&session).await });
    tokio::task::yield_now().await;
    assert!(!ended.is_finished());
    server
        .send(Method::POST, "/api/logout", &[("cookie", &cookie)], "")
        .await;
    tokio::time::timeout(Duration::from_secs(1), ended)
        .await
        .unwrap()
        .unwrap();
}

#[test]
fn seeding_is_idempotent_and_restores_deleted_seed_users() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("board.db");
    let path = path.to_str().unwrap();
    let db = Database::open(path).unwrap();
    let session = db
        .create_session("user-carol", Duration::from_secs(60))
        .unwrap();
    drop(db);

    let admin = rusqlite::Connection::open(path).unwrap();
    admin
        .execute("DELETE FROM users WHERE id = 'user-carol'", [])
        .unwrap();
    let count = |admin: &rusqlite::Connection| -> i64 {
        admin
            .query_row("SELECT count(*) FROM users", [], |row| row.get(0))
            .unwrap()
    };
    assert_eq!(count(&admin), 2);

    let db = Database::open(path).unwrap();
    Database::open(path).unwrap();
    assert_eq!(count(&admin), 3, "carol is back, nobody is doubled");
    assert_eq!(
        db.session(&session).unwrap().unwrap().user_id,
        "user-carol",
        "sessions outlive a restart"
    );
    let member = |board, user| db.is_member(board, user).unwrap();
    assert!(member("board-2", "user-carol") && !member("board-1", "user-carol"));
    assert!(!member("board-9", "user-alice"));
}

#[test]
fn a_database_path_that_cannot_be_created_names_the_setting() {
    let error = Database::open("/nonexistent-dir/board.db").err().unwrap();
    assert_eq!(error.setting, "DATABASE_PATH");
}

#[tokio::test]
async fn a_database_error_is_a_500_and_the_server_keeps_serving() {
    let server = TestServer::start().await;
    let cookie = server.session_cookie("alice").await;
    // An administrator breaks the schema behind the server's back: issuing
    // a token now fails inside SQLite.
    let admin = rusqlite::Connection::open(&server.database_path).unwrap();
    admin.execute("DROP TABLE api_tokens", []).unwrap();
    let (status, _, body) = server
        .send(Method::POST, "/api/tokens", &[("cookie", &cookie)], "")
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body, json!({ "error": "Internal error" }));
    let (status, _, body) = server
        .send(Method::GET, "/api/me", &[("cookie", &cookie)], "")
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the handler's failure hurt nobody else"
    );
    assert_eq!(body["user"]["id"], "user-alice");
}
