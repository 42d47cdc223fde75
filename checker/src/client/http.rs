//! Plain HTTP/1.1 requests on hyper, described the way a report names them.

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use tokio::time::timeout;

use super::{REQUEST_LIMIT, shorten};
use crate::json::matches;
use crate::report::Failure;

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

    /// Sends the request on a connection of its own (no pooling: a pooled
    /// idle connection would outlive a server the row restarts).
    pub async fn send(&self, port: u16) -> Result<Response, Failure> {
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(0)
            .build_http::<Full<Bytes>>();
        let mut builder = hyper::Request::builder()
            .method(self.method)
            .uri(format!("http://127.0.0.1:{port}{}", self.path));
        for (name, value) in &self.headers {
            builder = builder.header(name, value);
        }
        let request = builder
            .body(Full::new(Bytes::from(self.body.clone())))
            .expect("rows build valid requests");
        let failure = |got: String| Failure::new(self, "an HTTP response", got);
        let exchange = async {
            let response = client
                .request(request)
                .await
                .map_err(|e| format!("the request failed: {}", with_sources(&e)))?;
            let status = response.status().as_u16();
            let headers = response
                .headers()
                .iter()
                .map(|(name, value)| {
                    (
                        name.as_str().to_owned(),
                        String::from_utf8_lossy(value.as_bytes()).into_owned(),
                    )
                })
                .collect();
            // A 101 answer has no body to read: the connection now belongs
            // to the WebSocket, and this client simply drops it.
            let body = if status == 101 {
                Bytes::new()
            } else {
                response
                    .into_body()
                    .collect()
                    .await
                    .map_err(|e| format!("reading the body failed: {e}"))?
                    .to_bytes()
            };
            Ok::<_, String>(Response {
                status,
                headers,
                body: String::from_utf8_lossy(&body).into_owned(),
            })
        };
        match timeout(REQUEST_LIMIT, exchange).await {
            Err(_) => {
                Err(failure(format!("no response within {} s", REQUEST_LIMIT.as_secs())).hung())
            }
            Ok(Err(got)) => Err(failure(got)),
            Ok(Ok(response)) => Ok(response),
        }
    }
}

/// `client error (SendRequest): connection closed before message completed`:
/// hyper's own message names only the outermost layer.
fn with_sources(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

/// An HTTP response, as far as rows look at it.
#[derive(Clone, Debug)]
pub struct Response {
    pub status: u16,
    headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn headers_named(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.body).ok()
    }

    /// `401 {"error":"Unauthorized"}`.
    pub fn describe(&self) -> String {
        if self.body.is_empty() {
            format!("{} with an empty body", self.status)
        } else {
            format!("{} {}", self.status, shorten(&self.body))
        }
    }

    /// Whether the status is `status` and the body is JSON matching `body`.
    pub fn is(&self, status: u16, body: &Value) -> bool {
        self.status == status && self.json().is_some_and(|got| matches(body, &got))
    }
}
