//! The board page: `GET /` and its script and style sheet, so that every
//! exercise and solution can be opened in a browser and tried by hand.
//!
//! The page is three plain files in `board/static/`, written without a
//! framework or a build step, and compiled into the binary with
//! `include_str!`: a server needs nothing beside its executable, and what
//! the browser runs is what the repository holds. Everything comes from the
//! server itself, never from another host, and the `Content-Security-Policy`
//! says so to the browser too: the page may load and connect to its own
//! origin only (`'self'` covers `ws:` to the same host and port).
//!
//! The page lives in `board` rather than in the exercises because it does
//! not change from one exercise to the next: it shows whatever the server
//! does so far, a socket that is refused or closed included.

use axum::{
    Router,
    http::{HeaderName, HeaderValue, header},
    response::IntoResponse,
    routing::get,
};

use crate::App;

const INDEX_HTML: &str = include_str!("../static/index.html");
const APP_JS: &str = include_str!("../static/app.js");
const STYLE_CSS: &str = include_str!("../static/style.css");

const CONTENT_SECURITY_POLICY: &str =
    "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The page's routes, to be merged with the REST routes and `/ws`.
pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route(
            "/",
            get(|| async { file("text/html; charset=utf-8", INDEX_HTML) }),
        )
        .route(
            "/static/app.js",
            get(|| async { file("text/javascript; charset=utf-8", APP_JS) }),
        )
        .route(
            "/static/style.css",
            get(|| async { file("text/css; charset=utf-8", STYLE_CSS) }),
        )
}

/// One embedded file with its content type. `no-cache` makes the browser
/// ask again each time (it gets the same bytes until the server is rebuilt),
/// so a student never looks at the page of an older build.
fn file(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    let headers: [(HeaderName, HeaderValue); 4] = [
        (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
    ];
    (headers, body)
}
