//! What a row sends: an HTTP request, or a socket's upgrade request, as a
//! row builds it, and the words a report names it with.
//!
//! Plain data: sending it is the client's ([`crate::client`]), redoing it
//! by hand is the report's, so both read the same request.

use serde_json::Value;

use crate::words::shorten;

/// An HTTP request as a row builds it.
#[derive(Clone, Debug)]
pub struct Request {
    method: &'static str,
    path: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Request {
    pub fn get(path: &str) -> Self {
        Request {
            method: "GET",
            path: path.to_owned(),
            headers: Vec::new(),
            body: String::new(),
        }
    }

    pub fn post(path: &str) -> Self {
        Request {
            method: "POST",
            path: path.to_owned(),
            headers: Vec::new(),
            body: String::new(),
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn cookie(self, session: &str) -> Self {
        self.header("Cookie", &format!("session={session}"))
    }

    /// A JSON body with `Content-Type: application/json`.
    pub fn json(self, body: &Value) -> Self {
        self.header("Content-Type", "application/json")
            .body(&body.to_string())
    }

    pub fn body(mut self, body: &str) -> Self {
        self.body = body.to_owned();
        self
    }

    pub fn method(&self) -> &str {
        self.method
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    pub fn body_text(&self) -> &str {
        &self.body
    }

    /// `POST /api/login, Content-Type: application/json, body {...}`.
    pub fn describe(&self) -> String {
        let mut text = format!("{} {}", self.method, self.path);
        for (name, value) in &self.headers {
            text.push_str(&format!(", {name}: {value}"));
        }
        if !self.body.is_empty() {
            text.push_str(&format!(", body {}", shorten(&self.body)));
        } else if self.method == "POST" {
            text.push_str(", empty body");
        }
        text
    }
}

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
