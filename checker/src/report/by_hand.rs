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
//! reused (see [`crate::issued`]): the command logs the same user in again.

use crate::cargo::Flavour;
use crate::course::Exercise;
use crate::failure::Failure;
use crate::issued::{Credential, Issued};
use crate::rows::{Row, Setup};
use crate::sent::{Redo, Socket};

use super::curl::{curl, upgrade_by_curl};
use super::shell::{PORT, frame_to_type, quote};

/// How the student starts the graded server and runs the checker again.
#[derive(Clone, Debug)]
pub(crate) struct Commands {
    /// `cargo run -p exercises --bin exercise-04`, or the `--server-cmd`.
    start: String,
    /// `cargo run -p checker -- 4`, to which `--row ID` is added.
    pub rerun: String,
}

impl Commands {
    /// A binary the checker builds from this workspace.
    pub(crate) fn built(flavour: Flavour, exercise: &Exercise) -> Self {
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
    pub(crate) fn shell(command: &str, exercise: &Exercise) -> Self {
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
/// `issued` holds whose each of the row's secrets was.
pub(crate) fn lines(
    row: &Row,
    failure: &Failure,
    commands: &Commands,
    issued: &Issued,
) -> Vec<String> {
    let again = || vec![format!("again: {} --row {}", commands.rerun, row.id)];
    let mut environment: Vec<(String, String)> = row
        .setup
        .settings()
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    environment.push(("PORT".to_owned(), PORT.to_string()));
    let command = match (failure.redo.as_deref(), row.setup) {
        (Some(Redo::Start(settings)), _) => {
            return vec![format!("by hand: {}", commands.start_with(settings))];
        }
        (Some(Redo::Http(request)), Setup::Server(_) | Setup::SignedIn(_)) => {
            curl(request, None, issued)
        }
        (Some(Redo::Socket(socket)), Setup::Server(_) | Setup::SignedIn(_)) => {
            connect(socket, issued).unwrap_or_else(|| upgrade_by_curl(socket, issued))
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
fn connect(socket: &Socket, issued: &Issued) -> Option<String> {
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
        [] => match auth_frame.and_then(|token| issued.owner(&token)) {
            Some((Credential::Token, user)) => {
                words.push(format!("--as {user} --first-message"));
                frame_used = true;
            }
            _ => words.push("--no-credential".to_owned()),
        },
        [(flag, kind, value)] => match issued.owner(value) {
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
    // With --first-message, connect sends the auth frame itself: only a
    // frame after it is left to type.
    let auth_only = frame_used
        && socket.first_frame.as_deref().map(crate::client::shorten) == socket.last_frame;
    let sent_after = socket.last_frame.as_ref().filter(|_| !auth_only);
    if let Some(frame) = sent_after {
        words.push(format!(" # then send {}", frame_to_type(frame)));
    }
    Some(words.join(" "))
}

/// The token of an auth frame, `{"type":"auth","token":T}`.
fn auth_token(frame: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(frame).ok()?;
    (value["type"] == "auth")
        .then(|| value["token"].as_str().map(str::to_owned))
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::Upgrade;
    use crate::users::unknown_secret;

    /// The port of the row's server in these tests.
    const ROW_PORT: u16 = 41_234;

    fn socket(upgrade: Upgrade, frames: &[&str]) -> Socket {
        Socket {
            upgrade,
            port: ROW_PORT,
            first_frame: frames.first().map(|frame| (*frame).to_owned()),
            last_frame: frames.last().map(|frame| (*frame).to_owned()),
        }
    }

    #[test]
    fn a_cookie_socket_logs_its_user_in_again_on_the_students_port() {
        let issued = Issued::default();
        let session = unknown_secret();
        issued.remember(&session, Credential::Session, "bob");
        let own_origin = format!("http://127.0.0.1:{ROW_PORT}");
        let upgrade = Upgrade::cookie(&session).header("Origin", &own_origin);
        let join = r#"{"boardId":"board-1","type":"join"}"#;
        assert_eq!(
            connect(&socket(upgrade, &[join]), &issued).as_deref(),
            Some(
                "cargo run -p checker -- connect --port 3000 --as bob --origin http://127.0.0.1:3000  \
                 # then send {\"boardId\":\"board-1\",\"type\":\"join\"}"
            )
        );
    }

    #[test]
    fn each_credential_has_its_flag() {
        let issued = Issued::default();
        let token = unknown_secret();
        issued.remember(&token, Credential::Token, "carol");
        let ticket = unknown_secret();
        issued.remember(&ticket, Credential::Ticket, "alice");
        let auth = format!(r#"{{"type":"auth","token":"{token}"}}"#);
        let cases = [
            (socket(Upgrade::token(&token), &[]), "--as carol --token"),
            (socket(Upgrade::ticket(&ticket), &[]), "--as alice --ticket"),
            (
                socket(
                    Upgrade::bare().header("Authorization", &format!("Bearer {token}")),
                    &[],
                ),
                "--as carol --bearer",
            ),
            (
                socket(Upgrade::bare(), &[&auth]),
                "--as carol --first-message",
            ),
            (socket(Upgrade::bare(), &[]), "--no-credential"),
        ];
        for (socket, flags) in cases {
            assert_eq!(
                connect(&socket, &issued),
                Some(format!(
                    "cargo run -p checker -- connect --port 3000 {flags}"
                )),
                "{socket:?}"
            );
        }
    }

    #[test]
    fn what_connect_cannot_say_is_redone_with_curl() {
        let issued = Issued::default();
        let session = unknown_secret();
        issued.remember(&session, Credential::Session, "alice");
        let made_up = Upgrade::token(&unknown_secret());
        let two_credentials =
            Upgrade::token(&unknown_secret()).header("Cookie", &format!("session={session}"));
        let lower_case_scheme = Upgrade::bare().header("Authorization", "bearer x");
        for upgrade in [made_up, two_credentials, lower_case_scheme] {
            let socket = socket(upgrade, &[]);
            assert_eq!(connect(&socket, &issued), None, "{socket:?}");
            assert!(
                upgrade_by_curl(&socket, &issued).contains("curl -i -sS --max-time 3 --output - "),
                "{}",
                upgrade_by_curl(&socket, &issued)
            );
        }
    }

    #[test]
    fn a_long_frame_or_a_close_is_named_for_typing() {
        assert_eq!(
            frame_to_type("xxxx… (65537 bytes)"),
            "a text frame of 65537 bytes"
        );
        assert_eq!(
            frame_to_type("close 1000 ''"),
            "close 1000 '' (Ctrl-D sends a close frame)"
        );
    }
}
