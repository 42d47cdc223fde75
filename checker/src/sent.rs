//! What a row sent, kept once for two readers: the `request:` line of its
//! report and the command that redoes it by hand
//! ([`crate::report::by_hand`]).
//!
//! A check states its request once, as the [`Request`] or socket it used;
//! the description and the command are both derived from that, so they
//! cannot disagree and no row writes its own command.

use crate::request::{Request, Upgrade};

/// A row's request: its description and, when it can be redone by hand,
/// what redoes it.
#[derive(Clone, Debug, Default)]
pub struct Sent {
    pub text: String,
    pub redo: Option<Redo>,
}

/// What a failed row's last command redoes.
#[derive(Clone, Debug)]
pub enum Redo {
    /// An HTTP request: a `curl` line.
    Http(Request),
    /// A socket: `checker connect`, or `curl` for the upgrade when the
    /// socket carried what `connect` cannot say (a made-up credential, two
    /// at once).
    Socket(Socket),
    /// A server start with these settings: the start command itself.
    Start(Vec<(String, String)>),
}

/// A socket as a row opened it, and the text frames it sent.
#[derive(Clone, Debug)]
pub struct Socket {
    pub upgrade: Upgrade,
    /// The port of the row's server, to be replaced by the student's in
    /// the headers that name it (the server's own `Origin`).
    pub port: u16,
    /// The first text frame sent, in full: an auth frame makes the socket
    /// a first-message one.
    pub first_frame: Option<String>,
    /// The last frame sent, as the report shows it.
    pub last_frame: Option<String>,
}

impl Sent {
    /// A description with nothing to redo by hand.
    pub fn text(text: impl Into<String>) -> Self {
        Sent {
            text: text.into(),
            redo: None,
        }
    }

    /// Starting a server with `settings`.
    pub fn start(settings: &[(&str, &str)]) -> Self {
        let shown: Vec<String> = settings.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let text = if shown.is_empty() {
            "start the server".to_owned()
        } else {
            format!("start the server with {}", shown.join(" "))
        };
        Sent {
            text,
            redo: Some(Redo::Start(
                settings
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            )),
        }
    }

    /// The same request, its description followed by `more` (what the row
    /// did with it: waited, answered pings).
    pub fn then(mut self, more: &str) -> Self {
        self.text.push_str(more);
        self
    }

    /// The same request, its description preceded by `context`.
    pub fn after(mut self, context: &str) -> Self {
        self.text = format!("{context}{}", self.text);
        self
    }
}

impl From<String> for Sent {
    fn from(text: String) -> Self {
        Sent::text(text)
    }
}

impl From<&String> for Sent {
    fn from(text: &String) -> Self {
        Sent::text(text.as_str())
    }
}

impl From<&str> for Sent {
    fn from(text: &str) -> Self {
        Sent::text(text)
    }
}

impl From<&Request> for Sent {
    fn from(request: &Request) -> Self {
        Sent {
            text: request.describe(),
            redo: Some(Redo::Http(request.clone())),
        }
    }
}

impl From<Request> for Sent {
    fn from(request: Request) -> Self {
        Sent::from(&request)
    }
}
