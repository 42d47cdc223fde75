//! Rows `page.*`: the board page at `GET /` (graded from exercise 8).
//!
//! Only what a client can see without running the page: it is HTML, and it
//! loads nothing from another host. The browser test in `solutions/tests`
//! drives it in a real Chromium.

use super::{Ctx, ensure};
use crate::client::Request;
use crate::failure::Failure;
use crate::rows::{FRESH, Row, check};

/// The rows this module grades, in the order they are reported.
pub(crate) static ROWS: &[Row] = &[Row {
    id: "page.served",
    exercise: 8,
    retired_after: None,
    name: "GET / serves the board page as HTML, with no third-party hosts",
    book: "tickets.md#the-board-page",
    setup: FRESH,
    hint: "board serves the page in the exercises; a server of your own serves it at / with Content-Type: text/html, and its scripts and styles from the same server.",
    check: check!(served),
}];

/// The URLs a page loads from: `src` and `href` attribute values.
fn loaded_urls(html: &str) -> Vec<String> {
    let mut urls = Vec::new();
    for attribute in ["src=\"", "href=\""] {
        for (index, _) in html.match_indices(attribute) {
            let rest = &html[index + attribute.len()..];
            urls.push(rest.split('"').next().unwrap_or_default().to_owned());
        }
    }
    urls
}

pub(crate) async fn served(ctx: Ctx) -> Result<(), Failure> {
    let request = Request::get("/");
    let response = ctx.send(request.clone()).await?;
    let html = response
        .header("content-type")
        .is_some_and(|value| value.trim().to_ascii_lowercase().starts_with("text/html"));
    ensure(
        response.status == 200 && html,
        &request,
        "200 with Content-Type: text/html",
        format!(
            "{} (Content-Type: {})",
            response.status,
            response.header("content-type").unwrap_or("none")
        ),
    )?;
    let foreign: Vec<String> = loaded_urls(&response.body)
        .into_iter()
        .filter(|url| {
            url.contains("//") && !url.contains("//127.0.0.1") && !url.contains("//localhost")
        })
        .collect();
    ensure(
        foreign.is_empty(),
        &request,
        "scripts, styles and links from the same server only",
        format!("the page loads {}", foreign.join(", ")),
    )
}
