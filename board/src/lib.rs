//! `board`: everything the exercise servers share, so that each exercise's
//! `main.rs` holds only what that exercise teaches.
//!
//! The workbook's server is a small board app: people log in, open a board,
//! and see who else is looking at it and who is typing. This crate is its
//! plumbing:
//!
//! - [`config`]: the settings, read from the environment;
//! - [`db`]: SQLite with users, boards, sessions and API tokens;
//! - [`http`]: the REST routes (login, logout, me, tokens) and the session cookie;
//! - [`page`]: the board page at `GET /`, for trying a server in a browser;
//! - [`rooms`]: which socket is in which board, and sending to the others;
//! - [`message`]: parsing what a client sends over a socket;
//! - [`socket`]: the WebSocket in the contract's terms (JSON frames, close codes);
//! - [`App`] and [`serve`]: the shared state, the request log, the listening
//!   line and graceful shutdown.
//!
//! Every server also gets the defences against hostile clients that no
//! exercise should have to repeat: a clock on each request's headers
//! (`connections`) and body (`timeouts`), a handshake refused when its key
//! is malformed (`handshake`), and sockets closed 1002/1007 when a client
//! breaks the WebSocket protocol ([`socket`]).
//!
//! An exercise adds one route, `/ws`, and hands it to [`run`]:
//!
//! ```no_run
//! use axum::{Router, routing::get};
//!
//! # async fn upgrade() {}
//! #[tokio::main]
//! async fn main() -> std::process::ExitCode {
//!     board::run(Router::new().route("/ws", get(upgrade))).await
//! }
//! ```
//!
//! Tests use [`App::new`], [`router`] and [`serve`] directly, to run a server
//! in-process on port 0 and stop it with [`App::shut_down`].

pub mod bus;
pub mod config;
mod connections;
pub mod db;
mod handshake;
pub mod http;
pub mod limits;
pub mod message;
pub mod page;
pub mod password;
pub mod rooms;
pub mod socket;
mod timeouts;

use std::{
    future::Future,
    io::Write,
    process::ExitCode,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use axum::{
    Router,
    extract::{DefaultBodyLimit, Request},
    middleware::Next,
    response::Response,
};
use tokio::{net::TcpListener, sync::broadcast};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

pub use crate::connections::{serve, serve_with_connect_info};

use crate::{
    bus::Bus,
    config::{Config, ConfigError},
    db::{Database, Session},
    http::Login,
    limits::UserSockets,
    password::PasswordChecks,
    rooms::Rooms,
};

/// The state every handler and socket task shares; cheap to clone.
#[derive(Clone)]
pub struct App {
    pub config: Arc<Config>,
    pub db: Database,
    pub rooms: Rooms,
    pub sessions: SessionEvents,
    /// The authenticated sockets each user holds open (exercise 9's limit).
    pub user_sockets: UserSockets,
    /// The bus to the other processes sharing `REDIS_URL` (exercise 10);
    /// `None` when this process works alone.
    pub bus: Option<Bus>,
    /// `LOGIN_CONCURRENCY` places for password checks (exercise 11's bound).
    pub password_checks: PasswordChecks,
    shutdown: CancellationToken,
    sockets: TaskTracker,
}

impl App {
    pub fn new(config: Config, db: Database) -> App {
        let password_checks = PasswordChecks::new(config.login_concurrency);
        App {
            config: Arc::new(config),
            db,
            rooms: Rooms::default(),
            sessions: SessionEvents::default(),
            user_sockets: UserSockets::default(),
            bus: None,
            password_checks,
            shutdown: CancellationToken::new(),
            sockets: TaskTracker::new(),
        }
    }

    /// Runs a socket's task so that shutdown waits for it to say goodbye.
    /// Wrap the future given to `WebSocketUpgrade::on_upgrade` in this.
    pub fn track<F: Future<Output = ()>>(
        &self,
        socket_task: F,
    ) -> impl Future<Output = ()> + use<F> {
        self.sockets.track_future(socket_task)
    }

    /// Resolves once the server has begun shutting down.
    pub async fn shutting_down(&self) {
        self.shutdown.cancelled().await;
    }

    /// Whether the server has begun shutting down.
    pub fn is_shutting_down(&self) -> bool {
        self.shutdown.is_cancelled()
    }

    /// Begins shutting down, as SIGTERM or Ctrl-C do.
    pub fn shut_down(&self) {
        self.shutdown.cancel();
    }

    /// Resolves when `session` ends: it reaches its expiry time, or it is
    /// deleted by a logout. Never resolves for a session that does neither.
    pub async fn session_ended(&self, session: &Session) {
        let mut ended = self.sessions.subscribe();
        // A logout announced between the socket's authentication and this
        // subscription was missed: the database, read once now that nothing
        // more can be missed, still tells.
        if let Ok(None) = self.db.session_by_key(&session.key) {
            return;
        }
        let expiry =
            UNIX_EPOCH + Duration::from_secs(u64::try_from(session.expires_at).unwrap_or(0));
        let time_left = expiry
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO);
        let expired = tokio::time::sleep(time_left);
        tokio::pin!(expired);
        loop {
            tokio::select! {
                () = &mut expired => return,
                key = ended.recv() => match key {
                    Ok(ended) if ended.key == session.key => return,
                    Ok(_) => {}
                    // Too many logouts at once to keep up with: ours may have
                    // been among them, so ask the database. If it cannot
                    // answer, the socket stays: its expiry still ends it.
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        if let Ok(None) = self.db.session_by_key(&session.key) {
                            return;
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => std::future::pending::<()>().await,
                },
            }
        }
    }
}

/// Tells open sockets that their session was ended by a logout.
///
/// A broadcast of session keys rather than a map of per-session channels:
/// nothing to register or clean up per socket, and a socket that falls
/// behind can still find out by asking the database.
#[derive(Clone)]
pub struct SessionEvents {
    sender: broadcast::Sender<SessionEnded>,
}

/// A session that ended, and whether it ended in this process (a logout
/// here) or was reported by another process over the bus (exercise 10),
/// so that a relay never sends a report back where it came from.
#[derive(Clone, Debug)]
pub struct SessionEnded {
    pub key: String,
    pub here: bool,
}

impl Default for SessionEvents {
    fn default() -> SessionEvents {
        SessionEvents {
            sender: broadcast::channel(256).0,
        }
    }
}

impl SessionEvents {
    /// Announces that the session with this key, ended in this process, no
    /// longer exists.
    pub fn ended(&self, key: &str) {
        self.announce(key, true);
    }

    /// Announces a session that another process reported ended.
    pub fn ended_elsewhere(&self, key: &str) {
        self.announce(key, false);
    }

    /// Every session ending from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<SessionEnded> {
        self.sender.subscribe()
    }

    fn announce(&self, key: &str, here: bool) {
        // No receivers just means no socket of any session is open.
        let _ = self.sender.send(SessionEnded {
            key: key.to_owned(),
            here,
        });
    }
}

/// Starts a server the way every exercise does: settings from the
/// environment, the database opened and seeded, `listening on ...` printed,
/// then serving until SIGTERM or Ctrl-C.
///
/// A bad setting ends the process with one line on stderr naming it and a
/// non-zero exit code, never with a panic.
///
/// The steps are public on their own ([`listen`], [`announce`], [`router`],
/// [`shut_down_on_signal`], [`serve`]) for servers that need to put
/// something between them, such as the workbook's tests.
pub async fn run(ws_routes: Router<App>) -> ExitCode {
    run_with(ws_routes, |_| async {}).await
}

/// [`run`], and once the server is up, `background(app)` in a task of its
/// own: for work that is not a request, such as relaying what other
/// processes publish on the bus (exercise 10).
pub async fn run_with<F, Fut>(ws_routes: Router<App>, background: F) -> ExitCode
where
    F: FnOnce(App) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    run_answering(ws_routes, Login::Board, background).await
}

/// [`run_with`] for a server whose `routes` answer `POST /api/login`
/// themselves (exercise 11, which bounds the password checks): board's own
/// login route is left out.
pub async fn run_with_own_login<F, Fut>(routes: Router<App>, background: F) -> ExitCode
where
    F: FnOnce(App) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    run_answering(routes, Login::Exercise, background).await
}

async fn run_answering<F, Fut>(routes: Router<App>, login: Login, background: F) -> ExitCode
where
    F: FnOnce(App) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    init_logging();
    match start(routes, login, background).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{error}");
            ExitCode::FAILURE
        }
    }
}

async fn start<F, Fut>(
    ws_routes: Router<App>,
    login: Login,
    background: F,
) -> Result<(), ConfigError>
where
    F: FnOnce(App) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut config = Config::from_env()?;
    let db = Database::open(&config.database_path)?;
    let bus = match &config.redis_url {
        Some(url) => Some(Bus::connect(url).await?),
        None => None,
    };
    let listener = listen(&mut config).await?;
    announce(config.port);
    let mut app = App::new(config, db);
    app.bus = bus;
    shut_down_on_signal(&app);
    tokio::spawn(background(app.clone()));
    serve(
        listener,
        app.clone(),
        router_answering(&app, ws_routes, login),
    )
    .await;
    Ok(())
}

/// Binds `config.port` on 127.0.0.1. Afterwards `config.port` is the real
/// port, also when `PORT=0` asked the OS to choose: the server's own origin
/// is built from it.
pub async fn listen(config: &mut Config) -> Result<TcpListener, ConfigError> {
    let listener = TcpListener::bind(("127.0.0.1", config.port))
        .await
        .map_err(|error| ConfigError {
            setting: "PORT",
            problem: format!("cannot listen on 127.0.0.1:{}: {error}", config.port),
        })?;
    config.port = listener
        .local_addr()
        .expect("a bound listener has an address")
        .port();
    Ok(listener)
}

/// Prints `listening on http://127.0.0.1:PORT` as the first line of stdout,
/// flushed: the checker and scripts wait for it.
pub fn announce(port: u16) {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on http://127.0.0.1:{port}")
        .and_then(|()| stdout.flush())
        .expect("stdout is writable");
}

/// The whole HTTP side: the board page, the REST routes, the exercise's
/// `/ws` route, and around them, from the outside in: the request log,
/// the body's deadline (`REQUEST_TIMEOUT_MS`) and size limit, and the
/// check of a WebSocket handshake's key.
pub fn router(app: &App, ws_routes: Router<App>) -> Router {
    router_answering(app, ws_routes, Login::Board)
}

/// [`router`], with `POST /api/login` answered by board or by `routes`.
pub fn router_answering(app: &App, routes: Router<App>, login: Login) -> Router {
    http::routes(login)
        .merge(page::routes())
        .merge(routes)
        .layer(axum::middleware::from_fn(handshake::check_key))
        .layer(axum::middleware::from_fn_with_state(
            app.config.request_timeout,
            timeouts::read_body_in_time,
        ))
        .layer(DefaultBodyLimit::max(timeouts::MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(log_request))
        .with_state(app.clone())
}

/// Starts shutting `app` down on SIGTERM or Ctrl-C.
pub fn shut_down_on_signal(app: &App) {
    let app = app.clone();
    tokio::spawn(async move {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .expect("installing a SIGTERM handler works on Unix");
        tokio::select! {
            _ = terminate.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        app.shut_down();
    });
}

/// Logs to stderr, plain text (no colours: the log is often read from a file
/// or by the checker).
pub fn init_logging() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(false)
        .init();
}

/// Logs each request, the upgrade included, with any `token` in the query
/// replaced by `[redacted]`: URLs end up in logs, and a log must not hand
/// out working credentials.
async fn log_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().map(redact_query);
    let response = next.run(request).await;
    let target = match query {
        Some(query) => format!("{path}?{query}"),
        None => path,
    };
    tracing::info!("{method} {target} {}", response.status().as_u16());
    response
}

/// Parameters whose values are credentials: an API token, a WebSocket ticket.
const SECRET_PARAMETERS: [&str; 2] = ["token", "ticket"];

/// Replaces the value of every `token` and `ticket` parameter with `[redacted]`,
/// whatever its case of percent-encoding, and keeps the rest as it was.
fn redact_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| {
            let name = pair.split('=').next().unwrap_or("");
            let decoded: String = form_urlencoded::parse(name.as_bytes())
                .next()
                .map(|(key, _)| key.into_owned())
                .unwrap_or_default();
            if SECRET_PARAMETERS.contains(&decoded.as_str()) {
                format!("{decoded}=[redacted]")
            } else {
                pair.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::redact_query;

    #[test]
    fn every_token_parameter_is_redacted() {
        assert_eq!(redact_query("token=abc"), "token=[redacted]");
        assert_eq!(
            redact_query("a=1&token=abc&token=def&b"),
            "a=1&token=[redacted]&token=[redacted]&b"
        );
        assert_eq!(redact_query("%74oken=abc"), "token=[redacted]");
        assert_eq!(redact_query("token"), "token=[redacted]");
        assert_eq!(redact_query("tokens=abc"), "tokens=abc");
        assert_eq!(redact_query("ticket=abc&x=1"), "ticket=[redacted]&x=1");
    }
}
