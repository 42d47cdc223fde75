//! The attacker's site for the CSWSH lab: a small HTTP server of the
//! checker's on 127.0.0.1 and a port of its own. Same site as the board
//! (127.0.0.1), another origin (another port): SameSite=Lax still sends the
//! board's cookie to a socket this page opens, which is the point of the
//! lab (book/src/origin-checks.md).
//!
//! `GET /` serves the student's page as it is on disk now, and `POST
//! /collect` is the attacker's collector: the page posts what it read of
//! Alice's board there. The page and the collector share the origin, so the
//! post needs no CORS. Every body posted is forwarded to the check.

use std::convert::Infallible;
use std::path::PathBuf;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

/// The running site; it stops accepting when dropped.
pub(super) struct AttackerSite {
    pub(super) base: String,
    /// The bodies posted to `/collect`, in order.
    pub(super) collected: mpsc::UnboundedReceiver<String>,
    accepting: AbortHandle,
}

impl Drop for AttackerSite {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

impl AttackerSite {
    /// Serves `page` on a free port of 127.0.0.1.
    pub(super) async fn start(page: PathBuf) -> std::io::Result<AttackerSite> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let (sender, collected) = mpsc::unbounded_channel();
        let accepting = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (page, sender) = (page.clone(), sender.clone());
                let service = hyper::service::service_fn(move |request| {
                    answer(request, page.clone(), sender.clone())
                });
                // A connection ends with the browser that opened it.
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service),
                );
            }
        })
        .abort_handle();
        Ok(AttackerSite {
            base,
            collected,
            accepting,
        })
    }
}

async fn answer(
    request: Request<Incoming>,
    page: PathBuf,
    collected: mpsc::UnboundedSender<String>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let reply = |status: StatusCode, content_type: &str, body: Vec<u8>| {
        Response::builder()
            .status(status)
            .header("Content-Type", content_type)
            .body(Full::new(Bytes::from(body)))
            .expect("a valid response")
    };
    Ok(match (request.method(), request.uri().path()) {
        (&Method::GET, "/") => match tokio::fs::read(&page).await {
            Ok(html) => reply(StatusCode::OK, "text/html; charset=utf-8", html),
            Err(error) => reply(
                StatusCode::NOT_FOUND,
                "text/plain",
                format!("{}: {error}", page.display()).into_bytes(),
            ),
        },
        (&Method::POST, "/collect") => {
            let body = request.into_body().collect().await;
            let body = body.map(|body| body.to_bytes()).unwrap_or_default();
            let _ = collected.send(String::from_utf8_lossy(&body).into_owned());
            reply(StatusCode::NO_CONTENT, "text/plain", Vec::new())
        }
        _ => reply(StatusCode::NOT_FOUND, "text/plain", Vec::new()),
    })
}
