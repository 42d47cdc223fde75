//! `checker connect`: a WebSocket client for the student's own hands.
//!
//! ```text
//! PORT=3000 cargo run -p exercises --bin exercise-05      (in one terminal)
//! cargo run -p checker -- connect --first-message --as bob (in another)
//! ```
//!
//! It logs in over REST as a seeded user when the chosen approach needs a
//! credential, opens the socket the way that approach does (cookie by
//! default; `?token=`; a first `auth` frame; `?ticket=`; an
//! `Authorization: Bearer` header; or nothing at all), then prints every
//! frame, the close code and the reason as they arrive, and sends each line
//! typed on stdin as a text frame. The end of stdin (Ctrl-D) sends a close
//! frame and waits, at most two seconds, for the server's answer.
//!
//! The REST steps reuse the rows' HTTP client ([`Request`]), its
//! descriptions and the cookie parser, so what this prints reads like a
//! report's transcript: `→` what the client sent, `←` what came back, on
//! stdout; advice and errors go to stderr. Every request is printed, the
//! password and the token included: they are the seed's public passwords
//! and the student's own local server's tokens, and seeing them is the
//! point. The socket itself is opened in [`socket`].
//!
//! Exit status: 0 once a socket was open, whatever closed it; 1 when the
//! server refused (the login, a token, a ticket or the upgrade); 2 when no
//! server answered at all; 130 after Ctrl-C.

mod socket;
mod stop;

use clap::{ArgGroup, Args, ValueEnum};
use serde_json::{Value, json};

use crate::client::{Request, Response};
use crate::cookie::session_cookie;
use crate::users::{ALICE, BOB, CAROL, User};

use socket::Handshake;
use stop::Stop;

/// Connect to a running server and talk to it by hand.
#[derive(Args, Debug)]
#[command(
    group(ArgGroup::new("credential").multiple(false)),
    after_help = "Start a server first, in another terminal:\n  \
                  PORT=3000 cargo run -p exercises --bin exercise-05\n\
                  Then, for example:\n  \
                  cargo run -p checker -- connect                               the cookie, as Alice\n  \
                  cargo run -p checker -- connect --first-message --as bob      an auth frame, as Bob\n  \
                  cargo run -p checker -- connect --origin http://evil.example  a foreign page\n\
                  Type a frame such as {\"type\":\"join\",\"boardId\":\"board-1\"} and press \
                  Enter; Ctrl-D sends a close frame and waits for the answer.\n\
                  Exit status: 0 a socket was open, 1 the server refused, 2 no server \
                  answered, 130 interrupted."
)]
pub(crate) struct ConnectArgs {
    /// The seeded user to log in as (password: `<name>-password`).
    ///
    /// Example: `--as carol`, who is not a member of board-1.
    #[arg(long = "as", value_enum, value_name = "USER", default_value_t = Person::Alice)]
    pub user: Person,

    /// Put an API token in the URL: `GET /ws?token=...` (exercise 4 on).
    ///
    /// Example: `cargo run -p checker -- connect --token --as bob`.
    #[arg(long, group = "credential")]
    pub token: bool,

    /// Open the socket without a credential and send
    /// `{"type":"auth","token":...}` as its first frame (exercise 5 on).
    ///
    /// Example: `cargo run -p checker -- connect --first-message`.
    #[arg(long, group = "credential")]
    pub first_message: bool,

    /// Mint a one-time ticket (`POST /api/ws-ticket`) and open
    /// `GET /ws?ticket=...` (exercise 8 on).
    ///
    /// Example: `cargo run -p checker -- connect --ticket`.
    #[arg(long, group = "credential")]
    pub ticket: bool,

    /// Send an API token as `Authorization: Bearer ...` on the upgrade
    /// (exercise 8 on).
    ///
    /// Example: `cargo run -p checker -- connect --bearer`.
    #[arg(long, group = "credential")]
    pub bearer: bool,

    /// Log in nowhere and open the socket bare: the server should refuse it
    /// (exercises 2 to 4) or wait for an auth frame you type (exercise 5 on).
    ///
    /// Example: `cargo run -p checker -- connect --no-credential`, then
    /// type `{"type":"auth","token":"not-a-token"}`.
    #[arg(long, group = "credential")]
    pub no_credential: bool,

    /// Send this `Origin` header with the upgrade, as a browser on that
    /// page would (exercise 7 checks it).
    ///
    /// Example: `cargo run -p checker -- connect --origin http://evil.example`.
    #[arg(long, value_name = "URL")]
    pub origin: Option<String>,

    /// The port of the running server (its `listening on` line names it).
    ///
    /// Example: `--port 4000` for `PORT=4000 cargo run -p exercises --bin
    /// exercise-03`.
    #[arg(long, value_name = "N", default_value_t = 3000)]
    pub port: u16,

    /// Where the socket lives on the server.
    ///
    /// Example: `--path /socket` for a server of your own elsewhere.
    #[arg(long, value_name = "PATH", default_value = "/ws", value_parser = parse_path)]
    pub path: String,
}

/// The seeded users (the contract's "Seeded data").
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum Person {
    Alice,
    Bob,
    Carol,
}

impl Person {
    fn user(self) -> &'static User {
        match self {
            Person::Alice => &ALICE,
            Person::Bob => &BOB,
            Person::Carol => &CAROL,
        }
    }
}

/// How the socket proves who is on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Credential {
    Cookie,
    Token,
    FirstMessage,
    Ticket,
    Bearer,
}

impl ConnectArgs {
    /// The approach the flags name; `None` for `--no-credential`.
    fn credential(&self) -> Option<Credential> {
        match self {
            ConnectArgs {
                no_credential: true,
                ..
            } => None,
            ConnectArgs { token: true, .. } => Some(Credential::Token),
            ConnectArgs {
                first_message: true,
                ..
            } => Some(Credential::FirstMessage),
            ConnectArgs { ticket: true, .. } => Some(Credential::Ticket),
            ConnectArgs { bearer: true, .. } => Some(Credential::Bearer),
            _ => Some(Credential::Cookie),
        }
    }
}

fn parse_path(path: &str) -> Result<String, String> {
    if path.starts_with('/') {
        Ok(path.to_owned())
    } else {
        Err(format!("a path starts with `/`, as in /ws (got {path:?})"))
    }
}

/// `checker connect`: log in if needed, open the socket, talk until either
/// side closes it. Returns the exit status.
pub(crate) async fn run(args: &ConnectArgs) -> u8 {
    let opened = async {
        let handshake = prepare(args).await?;
        let socket = socket::open(args.port, &handshake).await?;
        Ok::<_, Stop>((socket, handshake))
    };
    match opened.await {
        Ok((socket, handshake)) => socket::converse(socket, handshake.first_frame()).await,
        Err(stop) => {
            eprintln!("error: {}", stop.message);
            stop.code
        }
    }
}

/// The REST steps the approach needs, and the upgrade they lead to.
async fn prepare(args: &ConnectArgs) -> Result<Handshake, Stop> {
    let mut handshake = Handshake::new(&args.path);
    if let Some(origin) = &args.origin {
        handshake.header("Origin", origin);
    }
    let Some(credential) = args.credential() else {
        return Ok(handshake);
    };
    let user = args.user.user();
    let session = login(args.port, user).await?;
    match credential {
        Credential::Cookie => handshake.header("Cookie", &format!("session={session}")),
        Credential::Token => {
            handshake.query("token", &issue(args.port, &session, Issued::Token).await?)
        }
        Credential::FirstMessage => {
            let token = issue(args.port, &session, Issued::Token).await?;
            handshake.send_first(json!({"type": "auth", "token": token}).to_string());
        }
        Credential::Ticket => {
            handshake.query("ticket", &issue(args.port, &session, Issued::Ticket).await?)
        }
        Credential::Bearer => {
            let token = issue(args.port, &session, Issued::Token).await?;
            handshake.header("Authorization", &format!("Bearer {token}"));
        }
    }
    Ok(handshake)
}

/// Sends one request, printing it and its answer.
async fn exchange(port: u16, request: Request) -> Result<Response, Stop> {
    println!("→ {}", request.describe());
    match request.send(port).await {
        Ok(response) => {
            println!("← {}", response.describe());
            Ok(response)
        }
        Err(failure) => Err(Stop::unreachable(port, &failure.got)),
    }
}

/// Logs `user` in and returns the session id from the `session` cookie.
async fn login(port: u16, user: &User) -> Result<String, Stop> {
    let request = Request::post("/api/login")
        .json(&json!({"username": user.username, "password": user.password}));
    let response = exchange(port, request).await?;
    let cookie = session_cookie(response.headers_named("set-cookie"))
        .map(|cookie| cookie.value)
        .filter(|value| !value.is_empty());
    match cookie {
        Some(session) if response.status == 200 => Ok(session),
        Some(_) => Err(Stop::refused(format!(
            "the login as {} answered {} instead of 200",
            user.username, response.status
        ))),
        None => Err(Stop::refused(format!(
            "the login as {} set no `session` cookie (POST /api/login, exercise 1)",
            user.username
        ))),
    }
}

/// What a logged-in session can ask for.
#[derive(Clone, Copy)]
enum Issued {
    Token,
    Ticket,
}

/// `POST /api/tokens` or `POST /api/ws-ticket` with the session; returns
/// the token or ticket from a `201` answer.
async fn issue(port: u16, session: &str, what: Issued) -> Result<String, Stop> {
    let (path, field, exercise) = match what {
        Issued::Token => ("/api/tokens", "token", 4),
        Issued::Ticket => ("/api/ws-ticket", "ticket", 8),
    };
    let response = exchange(port, Request::post(path).cookie(session)).await?;
    let issued = response
        .json()
        .as_ref()
        .and_then(|body| body.get(field))
        .and_then(Value::as_str)
        .filter(|value| !value.is_empty())
        .map(str::to_owned);
    match issued {
        Some(value) if response.status == 201 => Ok(value),
        _ => Err(Stop::refused(format!(
            "POST {path} did not answer 201 with a \"{field}\" (the contract's HTTP API, \
             exercise {exercise} on)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Command {
        #[command(flatten)]
        connect: ConnectArgs,
    }

    fn parse(args: &[&str]) -> Result<ConnectArgs, clap::Error> {
        let args = std::iter::once("connect").chain(args.iter().copied());
        Command::try_parse_from(args).map(|command| command.connect)
    }

    #[test]
    fn the_cookie_is_the_default_and_the_flags_exclude_each_other() {
        let args = parse(&[]).unwrap();
        assert_eq!(args.credential(), Some(Credential::Cookie));
        assert_eq!((args.port, args.path.as_str()), (3000, "/ws"));
        assert_eq!(
            parse(&["--ticket", "--as", "carol"]).unwrap().credential(),
            Some(Credential::Ticket)
        );
        assert_eq!(parse(&["--no-credential"]).unwrap().credential(), None);
        assert!(parse(&["--token", "--bearer"]).is_err());
        assert!(parse(&["--path", "ws"]).is_err());
    }
}
