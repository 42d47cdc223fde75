//! The context of one row: the server the runner started for it (if any),
//! a way to start more on fresh database files, the row's transcript, and
//! the steps most rows share (log in, issue a token, open an authenticated
//! socket, run SQL on the row's database).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use crate::client::{Request, Response, Transcript, Upgrade, Ws};
use crate::cookie::session_cookie;
use crate::failure::Failure;
use crate::issued::{Credential, Issued};
use crate::run_env::RunEnv;
use crate::sent::Sent;
use crate::server::{Server, Spawned};
use crate::users::User;

/// The context of one row.
pub struct Ctx {
    env: Arc<RunEnv>,
    transcript: Transcript,
    /// Every server started for this row, so that the runner can diagnose
    /// and stop them whatever the check did.
    servers: Arc<Mutex<Vec<Arc<Server>>>>,
    main: Option<(Arc<Server>, PathBuf)>,
    /// The secrets the row's servers gave it, for the report's commands.
    issued: Issued,
    /// Sessions of logins made before the row, by username, for the row's
    /// first [`Ctx::session`] of each user (see [`crate::signed_in`]).
    kept_sessions: Mutex<Vec<(&'static str, String)>>,
}

impl Ctx {
    pub fn new(
        env: Arc<RunEnv>,
        transcript: Transcript,
        servers: Arc<Mutex<Vec<Arc<Server>>>>,
        issued: Issued,
    ) -> Self {
        Ctx {
            env,
            transcript,
            servers,
            main: None,
            issued,
            kept_sessions: Mutex::default(),
        }
    }

    /// Makes `server` (on `database`) the row's server.
    pub fn set_main(&mut self, server: Arc<Server>, database: PathBuf) {
        self.main = Some((server, database));
    }

    pub fn env(&self) -> &RunEnv {
        &self.env
    }

    /// Adds a line to the row's transcript: something the row did that is
    /// neither a request nor a frame (stopping a Redis, say).
    pub fn note(&self, line: &str) {
        self.transcript.push(line.to_owned());
    }

    /// The row's server; rows with `Setup::Server` always have one.
    pub fn server(&self) -> &Arc<Server> {
        &self
            .main
            .as_ref()
            .expect("this row's setup starts a server")
            .0
    }

    pub fn port(&self) -> u16 {
        self.server().port()
    }

    pub fn database(&self) -> &Path {
        &self
            .main
            .as_ref()
            .expect("this row's setup starts a server")
            .1
    }

    fn settings(settings: &[(&str, &str)]) -> Vec<(String, String)> {
        settings
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// Spawns a server without waiting for its listening line.
    pub fn spawn(&self, database: &Path, settings: &[(&str, &str)]) -> Result<Spawned, Failure> {
        let owned = Ctx::settings(settings);
        crate::server::spawn(&self.env.launch(database, &owned)).map_err(|failure| {
            Failure::new(
                Sent::start(settings),
                "a running server",
                "it could not be started",
            )
            .with_diagnosis(failure.summary, failure.output)
        })
    }

    /// Starts a server on `database` and waits for its listening line.
    pub async fn start(
        &self,
        database: &Path,
        settings: &[(&str, &str)],
    ) -> Result<Arc<Server>, Failure> {
        let request = Sent::start(settings);
        let server = self
            .spawn(database, settings)?
            .listening(self.env.start_timeout())
            .await
            .map_err(|failure| {
                Failure::new(
                    request,
                    "`listening on http://127.0.0.1:PORT` as the first stdout line",
                    "see below",
                )
                .with_diagnosis(failure.summary, failure.output)
            })?;
        let server = Arc::new(server);
        self.servers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(server.clone());
        Ok(server)
    }

    /// Keeps a process that the row started itself (a Redis, say) among the
    /// row's servers, so the runner stops it with them.
    pub fn keep(&self, server: Server) -> Arc<Server> {
        let server = Arc::new(server);
        self.servers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(server.clone());
        server
    }

    /// Opens a socket to the server on `port`.
    pub async fn socket_on(&self, port: u16, label: &str, upgrade: Upgrade) -> Result<Ws, Failure> {
        Ws::connect(port, label, upgrade, &self.transcript).await
    }

    /// Opens a socket to the server on `port` and expects `user`'s
    /// authenticated frame first.
    pub async fn authenticated_on(
        &self,
        port: u16,
        label: &str,
        upgrade: Upgrade,
        user: &User,
    ) -> Result<Ws, Failure> {
        let mut ws = self.socket_on(port, label, upgrade).await?;
        ws.expect_json(&user.authenticated()).await?;
        Ok(ws)
    }

    /// Sends a request to the row's server.
    pub async fn send(&self, request: Request) -> Result<Response, Failure> {
        request.send(self.port()).await
    }

    /// Logs `user` in on the server at `port` (`POST /api/login`) and
    /// returns the session id from its cookie.
    pub async fn login_on(&self, port: u16, user: &User) -> Result<String, Failure> {
        let session = log_in(port, user).await?;
        self.issued
            .remember(&session, Credential::Session, user.username);
        Ok(session)
    }

    /// Logs `user` in on the row's server.
    pub async fn login(&self, user: &User) -> Result<String, Failure> {
        self.login_on(self.port(), user).await
    }

    /// A session of `user` on the row's server: on a row set up signed in
    /// ([`crate::rows::Setup::SignedIn`]), the first time for each user, the
    /// session kept from a login before the row (its transcript says so);
    /// otherwise a login. For rows about what comes after a login.
    pub async fn session(&self, user: &User) -> Result<String, Failure> {
        let kept = {
            let mut kept = self.kept_sessions.lock().unwrap_or_else(|p| p.into_inner());
            kept.iter()
                .position(|(username, _)| *username == user.username)
                .map(|at| kept.swap_remove(at).1)
        };
        let Some(session) = kept else {
            return self.login(user).await;
        };
        self.transcript.push(format!(
            "{}: the session of a login before this row (kept in the database file this server started on)",
            user.username
        ));
        self.issued
            .remember(&session, Credential::Session, user.username);
        Ok(session)
    }

    /// Gives the row the sessions kept for it before it ran, one per user.
    pub(crate) fn keep_sessions(&self, sessions: Vec<(&'static str, String)>) {
        *self.kept_sessions.lock().unwrap_or_else(|p| p.into_inner()) = sessions;
    }

    /// Records a token or ticket the server gave for `session`.
    pub fn issued_for_session(&self, secret: &str, kind: Credential, session: &str) {
        self.issued.remember_for_session(secret, kind, session);
    }

    /// Issues an API token for the session.
    pub async fn issue_token(&self, session: &str) -> Result<String, Failure> {
        let request = Request::post("/api/tokens").cookie(session);
        let response = self.send(request.clone()).await?;
        match response.json() {
            Some(body)
                if response.status == 201
                    && body["token"].as_str().is_some_and(|t| !t.is_empty()) =>
            {
                let token = body["token"].as_str().unwrap_or_default().to_owned();
                self.issued_for_session(&token, Credential::Token, session);
                Ok(token)
            }
            _ => Err(Failure::new(
                &request,
                "201 {\"token\":\"...\"}",
                response.describe(),
            )),
        }
    }

    /// A fresh API token for a [`Ctx::session`] of `user`.
    pub async fn token_for(&self, user: &User) -> Result<String, Failure> {
        let session = self.session(user).await?;
        self.issue_token(&session).await
    }

    /// Opens a socket on the row's server.
    pub async fn socket(&self, label: &str, upgrade: Upgrade) -> Result<Ws, Failure> {
        Ws::connect(self.port(), label, upgrade, &self.transcript).await
    }

    /// Opens a socket and expects `user`'s authenticated frame first.
    pub async fn authenticated(
        &self,
        label: &str,
        upgrade: Upgrade,
        user: &User,
    ) -> Result<Ws, Failure> {
        let mut ws = self.socket(label, upgrade).await?;
        ws.expect_json(&user.authenticated()).await?;
        Ok(ws)
    }

    /// Opens an authenticated cookie socket on a [`Ctx::session`] of `user`,
    /// labelled with the username.
    pub async fn cookie_socket(&self, user: &User) -> Result<Ws, Failure> {
        let session = self.session(user).await?;
        self.authenticated(user.username, Upgrade::cookie(&session), user)
            .await
    }

    /// Runs one statement on the row's database, as an administrator would
    /// behind the server's back. Returns the number of rows changed.
    pub async fn sql(&self, statement: &str, parameters: Vec<Value>) -> Result<usize, Failure> {
        self.on_database(
            statement,
            parameters,
            "the statement to run on DATABASE_PATH",
            |c, s, p| c.execute(s, p),
        )
        .await
    }

    /// Reads one integer from the row's database.
    pub async fn sql_integer(&self, query: &str, parameters: Vec<Value>) -> Result<i64, Failure> {
        self.on_database(
            query,
            parameters,
            "one integer from DATABASE_PATH",
            |c, q, p| c.query_row(q, p, |row| row.get(0)),
        )
        .await
    }

    /// Opens the row's database with the checker's own connection (foreign
    /// keys off, as the contract says) on a blocking thread, and runs `run` with
    /// the SQL and its parameters. A failure names the SQL and `expected`.
    async fn on_database<T: Send + 'static>(
        &self,
        sql: &str,
        parameters: Vec<Value>,
        expected: &str,
        run: impl FnOnce(
            &rusqlite::Connection,
            &str,
            rusqlite::ParamsFromIter<Vec<rusqlite::types::Value>>,
        ) -> rusqlite::Result<T>
        + Send
        + 'static,
    ) -> Result<T, Failure> {
        let path = self.database().to_owned();
        let shown = format!("{sql} with {}", Value::Array(parameters.clone()));
        let sql = sql.to_owned();
        let result = tokio::task::spawn_blocking(move || -> rusqlite::Result<T> {
            let connection = rusqlite::Connection::open(&path)?;
            connection.busy_timeout(Duration::from_secs(2))?;
            let parameters: Vec<rusqlite::types::Value> =
                parameters.iter().map(sql_value).collect();
            run(&connection, &sql, rusqlite::params_from_iter(parameters))
        })
        .await;
        let error = match result {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(error)) => error.to_string(),
            Err(error) => error.to_string(),
        };
        Err(Failure::new(shown, expected, error))
    }
}

/// Logs `user` in on the server at `port` (`POST /api/login`) and returns
/// the session id from its cookie.
pub(crate) async fn log_in(port: u16, user: &User) -> Result<String, Failure> {
    let request = Request::post("/api/login")
        .json(&json!({"username": user.username, "password": user.password}));
    let response = request.send(port).await?;
    let expected = format!("200 {{\"user\":{}}} with a session cookie", user.json());
    if !response.is(200, &json!({"user": user.json()})) {
        return Err(Failure::new(&request, expected, response.describe()));
    }
    match session_cookie(response.headers_named("set-cookie")) {
        Some(cookie) if !cookie.value.is_empty() => Ok(cookie.value),
        _ => Err(Failure::new(
            &request,
            expected,
            format!(
                "{} without a `Set-Cookie: session=...` header",
                response.describe()
            ),
        )),
    }
}

fn sql_value(value: &Value) -> rusqlite::types::Value {
    match value {
        Value::Number(n) => n.as_i64().map_or(
            rusqlite::types::Value::Null,
            rusqlite::types::Value::Integer,
        ),
        Value::String(s) => rusqlite::types::Value::Text(s.clone()),
        _ => rusqlite::types::Value::Null,
    }
}
