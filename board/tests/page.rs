//! The board page over real HTTP: `GET /` and the files it loads answer
//! with the right content types, and the page loads nothing from another
//! host. (solutions/tests/browser.rs shows it working in Chromium.)

use axum::Router;
use board::{App, config::Config, db::Database};
use http_body_util::{BodyExt, Empty};
use hyper::{StatusCode, body::Bytes, header};
use hyper_util::{client::legacy::Client, rt::TokioExecutor};

/// Starts a server in this test's runtime and returns its base URL.
async fn start_server() -> String {
    let mut config = Config::from_lookup(|name| (name == "PORT").then(|| "0".into())).unwrap();
    let db = Database::open(":memory:").unwrap();
    let listener = board::listen(&mut config).await.unwrap();
    let base = format!("http://127.0.0.1:{}", config.port);
    let app = App::new(config, db);
    tokio::spawn(board::serve(
        listener,
        app.clone(),
        board::router(&app, Router::new()),
    ));
    base
}

/// `GET url`: the status, the content type and the body as text.
async fn get(url: &str) -> (StatusCode, String, String) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let response = client.get(url.parse().unwrap()).await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        content_type,
        String::from_utf8(body.to_vec()).unwrap(),
    )
}

#[tokio::test]
async fn the_page_and_its_files_are_served_with_their_content_types() {
    let base = start_server().await;
    let (status, content_type, page) = get(&format!("{base}/")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, "text/html; charset=utf-8");
    for (path, expected) in [
        ("/static/app.js", "text/javascript; charset=utf-8"),
        ("/static/style.css", "text/css; charset=utf-8"),
    ] {
        assert!(
            page.contains(&format!("\"{path}\"")),
            "the page loads {path}"
        );
        let (status, content_type, body) = get(&format!("{base}{path}")).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(content_type, expected, "{path}");
        assert!(!body.is_empty(), "{path}");
    }
}

#[test]
fn the_page_loads_nothing_from_another_host() {
    for (name, text) in [
        ("index.html", include_str!("../static/index.html")),
        ("app.js", include_str!("../static/app.js")),
        ("style.css", include_str!("../static/style.css")),
    ] {
        for absolute in ["http://", "https://", "//cdn", "@import"] {
            assert!(!text.contains(absolute), "{name} contains {absolute}");
        }
    }
}
