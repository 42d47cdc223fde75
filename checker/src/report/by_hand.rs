//! The command that ends every failed row's report: what the student pastes
//! to redo the row's request against their own server.
//!
//! A socket is redone with `checker connect`, an HTTP request with `curl`, a
//! server start with the start command; a row that only the checker can
//! redo (two processes, a restart, the database edited behind the server's
//! back) ends with the `--row` command that runs it again.
//!
//! The student's server listens on [`PORT`], started by the command the
//! report names, with the row's own settings. The row's secrets are not
//! reused (see [`super::sent`]): the command logs the same user in again.

use crate::cargo::Flavour;
use crate::checks::{ALICE, BOB, CAROL};
use crate::client::Request;
use crate::course::Exercise;
use crate::rows::{Row, Setup};

use super::Failure;
use super::sent::{Credential, Redo, Socket, owner};

/// The port of the commands: the servers' default.
pub const PORT: u16 = 3000;

/// How the student starts the graded server and runs the checker again.
#[derive(Clone, Debug)]
pub struct Commands {
    /// `cargo run -p exercises --bin exercise-04`, or the `--server-cmd`.
    start: String,
    /// `cargo run -p checker -- 4`, to which `--row ID` is added.
    pub rerun: String,
}

impl Commands {
    /// A binary the checker builds from this workspace.
    pub fn built(flavour: Flavour, exercise: &Exercise) -> Self {
        let (package, solutions) = match flavour {
            Flavour::Exercises => ("exercises", ""),
            Flavour::Solutions => ("solutions", " --solutions"),
        };
        Commands {
            start: format!("cargo run -p {package} --bin {}", flavour.bin(exercise)),
            rerun: format!("cargo run -p checker -- {}{solutions}", exercise.number),
        }
    }

    /// A server started by `--server-cmd`.
    pub fn shell(command: &str, exercise: &Exercise) -> Self {
        Commands {
            start: format!("sh -c {}", quote(command)),
            rerun: format!(
                "cargo run -p checker -- --server-cmd {} --exercise {}",
                quote(command),
                exercise.number
            ),
        }
    }

    /// The start command with `settings` in its environment.
    fn start_with(&self, settings: &[(String, String)]) -> String {
        let mut words: Vec<String> = settings
            .iter()
            .map(|(name, value)| format!("{name}={}", quote(value)))
            .collect();
        words.push(self.start.clone());
        words.join(" ")
    }
}

/// The last lines of a failed row's report: the command that redoes it.
pub fn lines(row: &Row, failure: &Failure, commands: &Commands) -> Vec<String> {
    let again = || vec![format!("again: {} --row {}", commands.rerun, row.id)];
    let settings = match row.setup {
        Setup::Server(settings) => settings,
        Setup::OwnServers => &[],
    };
    let mut environment: Vec<(String, String)> = settings
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    environment.push(("PORT".to_owned(), PORT.to_string()));
    let command = match (failure.redo.as_deref(), row.setup) {
        (Some(Redo::Start(settings)), _) => {
            return vec![format!("by hand: {}", commands.start_with(settings))];
        }
        (Some(Redo::Http(request)), Setup::Server(_)) => curl(request, None),
        (Some(Redo::Socket(socket)), Setup::Server(_)) => {
            connect(socket).unwrap_or_else(|| upgrade_by_curl(socket))
        }
        _ => return again(),
    };
    vec![
        format!(
            "by hand, with `{}` running:",
            commands.start_with(&environment)
        ),
        format!("    {command}"),
    ]
}

/// `checker connect` for a socket whose credential it can name: one (or
/// none) that the server issued to a seeded user, or an auth frame.
fn connect(socket: &Socket) -> Option<String> {
    let mut words = vec![format!("cargo run -p checker -- connect --port {PORT}")];
    let query = socket.upgrade.path().strip_prefix("/ws")?;
    let mut credentials = Vec::new();
    if let Some(query) = query.strip_prefix('?') {
        for pair in query.split('&') {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            match name {
                "token" => credentials.push(("--token", Credential::Token, value)),
                "ticket" => credentials.push(("--ticket", Credential::Ticket, value)),
                _ => return None,
            }
        }
    } else if !query.is_empty() {
        return None;
    }
    let mut origin = None;
    for (name, value) in socket.upgrade.headers() {
        match name.as_str() {
            "Cookie" => {
                credentials.push(("", Credential::Session, value.strip_prefix("session=")?))
            }
            "Authorization" => {
                credentials.push((
                    "--bearer",
                    Credential::Token,
                    value.strip_prefix("Bearer ")?,
                ));
            }
            "Origin" => {
                origin = Some(value.replace(&format!(":{}", socket.port), &format!(":{PORT}")))
            }
            _ => return None,
        }
    }
    let auth_frame = socket.first_frame.as_deref().and_then(auth_token);
    let mut frame_used = false;
    match credentials.as_slice() {
        [] => match auth_frame.and_then(|token| owner(&token)) {
            Some((Credential::Token, user)) => {
                words.push(format!("--as {user} --first-message"));
                frame_used = true;
            }
            _ => words.push("--no-credential".to_owned()),
        },
        [(flag, kind, value)] => match owner(value) {
            Some((issued, user)) if issued == *kind => {
                words.push(format!("--as {user}"));
                if !flag.is_empty() {
                    words.push((*flag).to_owned());
                }
            }
            _ => return None,
        },
        _ => return None,
    }
    if let Some(origin) = origin {
        words.push(format!("--origin {}", quote(&origin)));
    }
    let sent_after = match (&socket.last_frame, frame_used) {
        // The auth frame is the only one sent: --first-message sends it.
        (Some(_), true) if socket.first_frame.as_deref().map(shown) == socket.last_frame => None,
        (last, _) => last.as_ref(),
    };
    if let Some(frame) = sent_after {
        words.push(format!("  # then send {}", frame_to_type(frame)));
    }
    Some(words.join(" "))
}

/// A frame as the student would type it; a long one (cut in reports,
/// `xxx… (65537 bytes)`) by its size.
fn frame_to_type(frame: &str) -> String {
    match frame.rsplit_once("… (") {
        Some((_, size)) => format!("a text frame of {}", size.trim_end_matches(')')),
        None => frame.to_owned(),
    }
}

/// The token of an auth frame, `{"type":"auth","token":T}`.
fn auth_token(frame: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(frame).ok()?;
    (value["type"] == "auth")
        .then(|| value["token"].as_str().map(str::to_owned))
        .flatten()
}

/// A frame as the transcript shows it (long ones cut), to compare with the
/// last frame sent.
fn shown(frame: &str) -> String {
    crate::client::shorten(frame)
}

/// The upgrade as an HTTP request, for a socket `connect` cannot open as
/// the row did: curl prints the answer, and then the raw frames.
fn upgrade_by_curl(socket: &Socket) -> String {
    let mut line = curl(&socket.upgrade.as_http_request(), Some(socket.port));
    if let Some(frame) = &socket.last_frame {
        line.push_str(&format!(
            "  # curl sends no frames; the row then sent {frame}"
        ));
    }
    line
}

/// A `curl` line for `request`, preceded by the logins, tokens and tickets
/// its secrets stand for. `port` is the row's, where a header names it.
fn curl(request: &Request, port: Option<u16>) -> String {
    let mut script = Script::default();
    let base = format!("http://127.0.0.1:{PORT}");
    let mut words = vec!["curl -i".to_owned()];
    let upgrade = request
        .headers()
        .iter()
        .any(|(name, value)| name == "Upgrade" && value == "websocket");
    if upgrade {
        // A socket that opens stays open: stop after its first frames.
        words.push("-sS --max-time 3 --output -".to_owned());
    }
    if request.method() != "GET" {
        words.push(format!("-X {}", request.method()));
    }
    words.push(script.word(&format!("{base}{}", request.path())));
    let mut typed = false;
    for (name, value) in request.headers() {
        if name == "Cookie"
            && let Some(session) = value.strip_prefix("session=")
            && let Some((Credential::Session, user)) = owner(session)
        {
            words.push(format!("-b {}", script.login(user)));
            continue;
        }
        let value = match port {
            Some(port) if name == "Origin" => {
                value.replace(&format!(":{port}"), &format!(":{PORT}"))
            }
            _ => value.clone(),
        };
        typed |= name.eq_ignore_ascii_case("content-type");
        words.push(format!("-H {}", script.word(&format!("{name}: {value}"))));
    }
    if !request.body_text().is_empty() {
        if !typed {
            // curl adds a form Content-Type to a body; the row sent none.
            words.push("-H 'Content-Type:'".to_owned());
        }
        words.push(format!("-d {}", quote(request.body_text())));
    }
    script.steps.push(words.join(" "));
    script.steps.join(" && ")
}

/// The shell steps before a command: logins into cookie files, and tokens
/// and tickets into variables, each done once.
#[derive(Default)]
struct Script {
    steps: Vec<String>,
    /// Secrets and the variable that stands for each.
    variables: Vec<(String, String)>,
    logged_in: Vec<&'static str>,
}

impl Script {
    /// Logs `user` in once; the file that holds the session cookie.
    fn login(&mut self, user: &'static str) -> String {
        let jar = format!("/tmp/{user}.cookies");
        if !self.logged_in.contains(&user) {
            self.logged_in.push(user);
            let password = [&ALICE, &BOB, &CAROL]
                .iter()
                .find(|seeded| seeded.username == user)
                .map_or("", |seeded| seeded.password);
            // Written out, not serialised: the fields in the contract's order.
            let body = format!(r#"{{"username":"{user}","password":"{password}"}}"#);
            self.steps.push(format!(
                "curl -sS -o /dev/null -c {jar} -H 'Content-Type: application/json' -d {} http://127.0.0.1:{PORT}/api/login",
                quote(&body)
            ));
        }
        jar
    }

    /// A shell word for `text`, with each issued token or ticket in it
    /// replaced by a variable that a step sets from the student's server.
    fn word(&mut self, text: &str) -> String {
        let candidates = text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        for candidate in candidates {
            let (field, route, user) = match owner(candidate) {
                Some((Credential::Token, user)) => ("token", "/api/tokens", user),
                Some((Credential::Ticket, user)) => ("ticket", "/api/ws-ticket", user),
                _ => continue,
            };
            if self.variables.iter().any(|(secret, _)| secret == candidate) {
                continue;
            }
            let variable = format!("{}_{}", user.to_uppercase(), field.to_uppercase());
            let jar = self.login(user);
            self.steps.push(format!(
                "{variable}=$(curl -sS -X POST -b {jar} http://127.0.0.1:{PORT}{route} | sed 's/.*\"{field}\" *: *\"\\([^\"]*\\)\".*/\\1/')"
            ));
            self.variables.push((candidate.to_owned(), variable));
        }
        let mut text = text.to_owned();
        let mut uses_variables = false;
        for (secret, variable) in &self.variables {
            if text.contains(secret.as_str()) {
                text = text.replace(secret.as_str(), &format!("\u{0}{variable}\u{0}"));
                uses_variables = true;
            }
        }
        if !uses_variables {
            return quote(&text);
        }
        // Double quotes, so that the variables expand and nothing else does.
        let mut word = String::from("\"");
        for (index, part) in text.split('\u{0}').enumerate() {
            if index % 2 == 1 {
                word.push_str(&format!("${{{part}}}"));
            } else {
                for c in part.chars() {
                    if matches!(c, '"' | '\\' | '$' | '`') {
                        word.push('\\');
                    }
                    word.push(c);
                }
            }
        }
        word.push('"');
        word
    }
}

/// A shell word: as it is when it is plain, else in single quotes.
pub fn quote(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+%".contains(c));
    if plain {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}
