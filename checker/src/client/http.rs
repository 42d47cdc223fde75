//! Sending a [`Request`] on hyper, and the response as a report names it.

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use tokio::time::timeout;

use super::limits::REQUEST_LIMIT;
use crate::failure::Failure;
use crate::json::matches;
use crate::request::Request;
use crate::words::shorten;

impl Request {
    /// Sends the request on a connection of its own (no pooling: a pooled
    /// idle connection would outlive a server the row restarts).
    pub async fn send(&self, port: u16) -> Result<Response, Failure> {
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(0)
            .build_http::<Full<Bytes>>();
        let mut builder = hyper::Request::builder()
            .method(self.method())
            .uri(format!("http://127.0.0.1:{port}{}", self.path()));
        for (name, value) in self.headers() {
            builder = builder.header(name, value);
        }
        let request = builder
            .body(Full::new(Bytes::from(self.body_text().to_owned())))
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
