//! An HTTP request as a row builds it, and the words a report names it with.
//!
//! Plain data: sending it is [`super::http`]'s, redoing it by hand is the
//! report's, so both read the same request.

use serde_json::Value;

use super::words::shorten;

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
