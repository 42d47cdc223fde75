//! What a socket's upgrade request carries: the path with its query and
//! the headers, and the words a report names it with.

use super::request::Request;

/// What a socket's upgrade request carries.
#[derive(Clone, Debug, Default)]
pub struct Upgrade {
    path: String,
    headers: Vec<(String, String)>,
}

impl Upgrade {
    /// `GET /ws` with no credential.
    pub fn bare() -> Self {
        Upgrade {
            path: "/ws".to_owned(),
            headers: Vec::new(),
        }
    }

    pub fn cookie(session: &str) -> Self {
        Upgrade::bare().header("Cookie", &format!("session={session}"))
    }

    /// `GET /ws?token=<token>`; the token is put in the URL as given.
    pub fn token(token: &str) -> Self {
        Upgrade {
            path: format!("/ws?token={token}"),
            headers: Vec::new(),
        }
    }

    /// `GET /ws?ticket=<ticket>`; the ticket is put in the URL as given.
    pub fn ticket(ticket: &str) -> Self {
        Upgrade {
            path: format!("/ws?ticket={ticket}"),
            headers: Vec::new(),
        }
    }

    /// `GET /ws?<query>`, for rows that combine parameters.
    pub fn query(query: &str) -> Self {
        Upgrade {
            path: format!("/ws?{query}"),
            headers: Vec::new(),
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// `/ws` and its query string, as sent.
    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    pub fn describe(&self) -> String {
        let mut text = format!("GET {}", self.path);
        for (name, value) in &self.headers {
            text.push_str(&format!(", {name}: {value}"));
        }
        if self.headers.is_empty() && !self.path.contains('?') {
            text.push_str(" (no cookie, no token)");
        }
        text
    }

    /// The same upgrade as a plain HTTP request, for rows that expect it to
    /// be refused with an HTTP answer instead of a socket.
    pub fn as_http_request(&self) -> Request {
        let mut request = Request::get(&self.path)
            .header("Connection", "Upgrade")
            .header("Upgrade", "websocket")
            .header("Sec-WebSocket-Version", "13")
            .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==");
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        request
    }
}
