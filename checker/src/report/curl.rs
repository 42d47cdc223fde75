//! The `curl` half of [`super::by_hand`]: an HTTP request, or an upgrade
//! that `checker connect` cannot open as the row did, as a shell line.
//!
//! The row's secrets are dead on the student's server, so the line first
//! gets fresh ones the way the row got them: it logs the user in into a
//! cookie file (`-c`, then `-b`), and asks for a token or a ticket with
//! that cookie into a shell variable. A secret the checker made up is sent
//! as it was.

use crate::issued::{Credential, Issued};
use crate::request::Request;
use crate::sent::Socket;
use crate::users::{ALICE, BOB, CAROL};

use super::shell::{PORT, frame_to_type, quote};

/// The upgrade as an HTTP request, for a socket `connect` cannot open as
/// the row did: curl prints the answer, and then the raw frames.
pub(super) fn upgrade_by_curl(socket: &Socket, issued: &Issued) -> String {
    let mut line = curl(&socket.upgrade.as_http_request(), Some(socket.port), issued);
    if let Some(frame) = &socket.last_frame {
        line.push_str(&format!(
            "  # curl sends no frames; the row then sent {}",
            frame_to_type(frame)
        ));
    }
    line
}

/// A `curl` line for `request`, preceded by the logins, tokens and tickets
/// its secrets stand for (whose each is, `issued` says). `port` is the
/// row's, where a header names it.
pub(super) fn curl(request: &Request, port: Option<u16>, issued: &Issued) -> String {
    let mut script = Script::new(issued);
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
            && let Some((Credential::Session, user)) = issued.owner(session)
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
struct Script<'a> {
    issued: &'a Issued,
    steps: Vec<String>,
    /// Secrets and the variable that stands for each.
    variables: Vec<(String, String)>,
    logged_in: Vec<&'static str>,
}

impl<'a> Script<'a> {
    fn new(issued: &'a Issued) -> Self {
        Script {
            issued,
            steps: Vec::new(),
            variables: Vec::new(),
            logged_in: Vec::new(),
        }
    }

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
            let (field, route, user) = match self.issued.owner(candidate) {
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::users::unknown_secret;

    #[test]
    fn a_login_is_the_request_as_sent() {
        let issued = Issued::default();
        let login = Request::post("/api/login")
            .json(&json!({"username": "alice", "password": "alice-password"}));
        assert_eq!(
            curl(&login, None, &issued),
            "curl -i -X POST http://127.0.0.1:3000/api/login -H 'Content-Type: application/json' \
             -d '{\"password\":\"alice-password\",\"username\":\"alice\"}'"
        );
        let untyped = Request::post("/api/login").body("{}");
        assert_eq!(
            curl(&untyped, None, &issued),
            "curl -i -X POST http://127.0.0.1:3000/api/login -H 'Content-Type:' -d '{}'"
        );
    }

    #[test]
    fn an_issued_session_is_a_fresh_login_and_a_made_up_one_is_sent_as_is() {
        let issued = Issued::default();
        let session = unknown_secret();
        issued.remember(&session, Credential::Session, "carol");
        assert_eq!(
            curl(&Request::get("/api/me").cookie(&session), None, &issued),
            "curl -sS -o /dev/null -c /tmp/carol.cookies -H 'Content-Type: application/json' \
             -d '{\"username\":\"carol\",\"password\":\"carol-password\"}' \
             http://127.0.0.1:3000/api/login && curl -i http://127.0.0.1:3000/api/me -b /tmp/carol.cookies"
        );
        let made_up = unknown_secret();
        assert_eq!(
            curl(&Request::get("/api/me").cookie(&made_up), None, &issued),
            format!("curl -i http://127.0.0.1:3000/api/me -H 'Cookie: session={made_up}'")
        );
    }

    #[test]
    fn an_issued_token_is_asked_for_again_into_a_variable() {
        let issued = Issued::default();
        let session = unknown_secret();
        issued.remember(&session, Credential::Session, "bob");
        let token = unknown_secret();
        issued.remember(&token, Credential::Token, "bob");
        let upgrade = crate::client::Upgrade::token(&token).header("Origin", "http://x.test:41234");
        let line = curl(&upgrade.as_http_request(), Some(41_234), &issued);
        assert!(
            line.contains(
                "BOB_TOKEN=$(curl -sS -X POST -b /tmp/bob.cookies http://127.0.0.1:3000/api/tokens"
            ),
            "{line}"
        );
        assert!(
            line.contains("\"http://127.0.0.1:3000/ws?token=${BOB_TOKEN}\""),
            "{line}"
        );
        assert!(line.contains("-H 'Origin: http://x.test:3000'"), "{line}");
        assert!(!line.contains(&token), "{line}");
    }
}
