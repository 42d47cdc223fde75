//! The board page in a real browser: Debian's Chromium, driven over
//! WebDriver (chromedriver, through the `fantoccini` crate), against the
//! solution servers.
//!
//! The workbook is about what a browser does on its own: it attaches the
//! session cookie to an upgrade, hides an `HttpOnly` cookie from script, sends
//! an `Origin` that script cannot change, and does all that for another
//! site's page too. A Rust WebSocket client only imitates that, so these
//! claims are shown here in the browser itself:
//!
//! - the session cookie is invisible to the page's script, yet its socket is
//!   authenticated as the logged-in user: the cookie rode on the upgrade;
//! - Alice's typing shows on Bob's page;
//! - a page from another origin on the same site gets a cookie socket to the
//!   exercise 6 server (cross-site WebSocket hijacking), and the exercise 7
//!   server refuses it with 403;
//! - logging out closes the page's socket with 4002, and the page says so;
//! - a page with no session is closed with 4001 (exercises 2 to 4).
//!
//! One test runs the scenarios in order, with one chromedriver and at most
//! two Chromium sessions at a time, which a 2-core machine runs comfortably.
//! Every process it starts is killed by a `Drop` guard, on failure too, and
//! every wait polls a DOM condition against a deadline: no fixed sleeps, no
//! unbounded waits. Without Chromium and chromedriver the test fails and says
//! how to install them, so that a green run always means the browser ran.
//!
//! `UPDATE_SCREENSHOTS=1` writes the screenshots into `book/src/images/`;
//! otherwise they go to a temporary directory, so a test run leaves the
//! working tree as it was.

use std::{
    io::{BufRead, BufReader, Read},
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex, mpsc},
    thread,
    time::{Duration, Instant},
};

use axum::{Router, response::Html, routing::get};
use fantoccini::{Client, ClientBuilder, Locator, wd::Capabilities};
use hyper_util::client::legacy::connect::HttpConnector;
use nix::{sys::signal::Signal, unistd::Pid};
use serde_json::json;
use tempfile::TempDir;

/// How long one thing may take to show up: a process's first line, a
/// page, a DOM condition.
const WAIT: Duration = Duration::from_secs(15);
/// How long a new Chromium may take to start: a cold start on a 2-core
/// machine busy with other tests was seen to take more than [`WAIT`].
const BROWSER_START: Duration = Duration::from_secs(60);
/// How long the whole scenario may take before the test gives up.
const WHOLE_TEST: Duration = Duration::from_secs(150);
/// How often a DOM condition is checked while waiting for it.
const POLL: Duration = Duration::from_millis(50);

const INSTALL_HINT: &str = "this test drives a real browser: install Chromium and its \
     WebDriver with `apt-get install chromium chromium-driver` (Debian's packages)";

/// Chromium's switches: headless, and none of the background traffic a
/// fresh profile would start (updates, sync, first-run pages), which a
/// machine without internet access would only wait for.
const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=960,1200",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_board_page_works_in_chromium() {
    let chromedriver = Chromedriver::start();
    let screenshots = Screenshots::new();
    tokio::time::timeout(WHOLE_TEST, scenarios(&chromedriver, &screenshots))
        .await
        .unwrap_or_else(|_| panic!("the browser scenarios did not finish within {WHOLE_TEST:?}"));
}

async fn scenarios(chromedriver: &Chromedriver, screenshots: &Screenshots) {
    let origin_checked = Server::start(env!("CARGO_BIN_EXE_solution-07"));
    let unchecked = Server::start(env!("CARGO_BIN_EXE_solution-06"));
    let rejecting = Server::start(env!("CARGO_BIN_EXE_solution-02"));
    let foreign = foreign_site().await;

    let alice = chromedriver.session().await;
    let bob = chromedriver.session().await;

    // The cookie is HttpOnly, yet the socket knows who Alice is.
    log_in(&alice, &origin_checked.base, "alice", "Alice").await;
    let cookies = alice.execute("return document.cookie", vec![]).await;
    let cookies = cookies.expect("document.cookie can be read");
    assert!(
        !cookies.as_str().unwrap_or_default().contains("session"),
        "the page's script sees the session cookie: {cookies}"
    );

    // Alice types; Bob, on the same board, sees it.
    log_in(&bob, &origin_checked.base, "bob", "Bob").await;
    wait_for_text(&bob, "viewers", "Viewing board-1: 2 viewers").await;
    wait_for_text(&alice, "viewers", "Viewing board-1: 2 viewers").await;
    find(&alice, "text")
        .await
        .send_keys("Hello Bob, I am writing the agenda")
        .await
        .expect("typing into the text box works");
    wait_for_text(&bob, "typing", "Alice is typing...").await;
    screenshots.take(&bob, "bob-sees-alice-typing.png").await;
    screenshots.take(&alice, "alice-typing.png").await;
    close(bob).await;

    // Another origin on the same site: the exercise 7 server refuses the
    // cookie upgrade with 403, which a page only sees as a failed socket.
    let attack = |server: &Server| {
        let target = server.base.replace("http://", "ws://");
        format!("{foreign}/?target={target}/ws")
    };
    goto(&alice, &attack(&origin_checked)).await;
    wait_for_text(&alice, "result", "Could not connect").await;
    assert!(
        origin_checked.log().contains("GET /ws 403"),
        "the exercise 7 server logs the refused upgrade:\n{}",
        origin_checked.log()
    );
    screenshots.take(&alice, "foreign-page-refused.png").await;

    // The exercise 6 server has no origin check: the foreign page gets a
    // socket as Alice and reads her board.
    log_in(&alice, &unchecked.base, "alice", "Alice").await;
    goto(&alice, &attack(&unchecked)).await;
    wait_for_text(&alice, "result", "Connected as Alice").await;
    wait_for_text(&alice, "frames", "\"joined\"").await;
    screenshots.take(&alice, "foreign-page-hijacked.png").await;

    // Logging out closes the socket with 4002, and the page explains it.
    goto(&alice, &unchecked.base).await;
    wait_for_text(&alice, "status", "Socket authenticated as Alice.").await;
    find(&alice, "logout").await.click().await.expect("log out");
    wait_for_text(&alice, "closed", "Closed with 4002.").await;
    wait_for_text(
        &alice,
        "closed",
        "Session ended: your session expired or you logged out.",
    )
    .await;
    wait_for_text(&alice, "closed", "\u{201c}Session expired\u{201d}").await;

    // With no session left, the exercise 2 server turns the socket away.
    goto(&alice, &rejecting.base).await;
    wait_for_text(&alice, "closed", "Closed with 4001.").await;
    wait_for_text(
        &alice,
        "closed",
        "Unauthorized: the server does not know who you are.",
    )
    .await;
    close(alice).await;
}

/// Opens the board page at `base`, logs in, and waits until the page's
/// socket is authenticated as `name`.
async fn log_in(client: &Client, base: &str, username: &str, name: &str) {
    goto(client, base).await;
    let field = |id| async move { find(client, id).await };
    let password = format!("{username}-password");
    field("username").await.send_keys(username).await.unwrap();
    field("password").await.send_keys(&password).await.unwrap();
    client
        .find(Locator::Css("#login-form button[type=submit]"))
        .await
        .expect("the login form has a submit button")
        .click()
        .await
        .unwrap();
    wait_for_text(
        client,
        "status",
        &format!("Socket authenticated as {name}."),
    )
    .await;
}

async fn goto(client: &Client, url: &str) {
    client
        .goto(url)
        .await
        .unwrap_or_else(|error| panic!("opening {url}: {error}"));
}

async fn find(client: &Client, id: &str) -> fantoccini::elements::Element {
    client
        .find(Locator::Id(id))
        .await
        .unwrap_or_else(|error| panic!("finding #{id}: {error}"))
}

/// Ends a browser session, which quits its Chromium.
async fn close(client: Client) {
    client.close().await.expect("closing the browser session");
}

/// Waits until the element with this id shows text containing `expected`,
/// and returns its text. Text inside a hidden element does not count.
async fn wait_for_text(client: &Client, id: &str, expected: &str) -> String {
    const VISIBLE_TEXT: &str = "const element = document.getElementById(arguments[0]);
        if (!element || element.closest('[hidden]')) { return ''; }
        return element.textContent.replace(/\\s+/g, ' ');";
    let deadline = Instant::now() + WAIT;
    loop {
        let text = client
            .execute(VISIBLE_TEXT, vec![json!(id)])
            .await
            .unwrap_or_else(|error| panic!("reading #{id}: {error}"));
        let text = text.as_str().unwrap_or_default().to_owned();
        if text.contains(expected) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "#{id} did not show {expected:?} within {WAIT:?}; it shows {text:?}"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// A page on another origin of the same site (127.0.0.1, another port), as
/// an attacker's page would be: it opens a socket to the URL in its
/// `target` parameter and reports what happened. Returns its base URL.
async fn foreign_site() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binding a port for the foreign page");
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = Router::new().route("/", get(|| async { Html(FOREIGN_PAGE) }));
    // Runs until the test's runtime ends.
    tokio::spawn(async move { axum::serve(listener, router).await });
    base
}

const FOREIGN_PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Another site</title>
<style>
  body { margin: 0 auto; max-width: 44rem; padding: 1rem 1.5rem; background: #fffbea;
         color: #1f2328; font: 16px/1.5 system-ui, sans-serif; }
  h1 { margin-top: 0.5rem; }
  code, ol { font-family: ui-monospace, monospace; font-size: 0.85rem; word-break: break-all; }
  #result { padding: 0.5rem 0.75rem; border-left: 4px solid #9a6700; background: #fff; }
</style>
</head>
<body>
<h1>Another site</h1>
<p>This page is not the board. It comes from <code id="origin"></code> and quietly opens a
socket to <code id="target"></code>. The browser attaches the board's session cookie to
that upgrade by itself.</p>
<p id="result" role="status">Connecting...</p>
<ol id="frames"></ol>
<script>
  const target = new URLSearchParams(location.search).get("target");
  document.getElementById("origin").textContent = location.origin;
  document.getElementById("target").textContent = target;
  const result = document.getElementById("result");
  const socket = new WebSocket(target);
  let opened = false;
  socket.onopen = () => { opened = true; };
  socket.onmessage = (event) => {
    const item = document.createElement("li");
    item.textContent = "\u2190 " + event.data;
    document.getElementById("frames").append(item);
    const frame = JSON.parse(event.data);
    if (frame.type === "authenticated") {
      result.textContent = `Connected as ${frame.user.name}: this page can now read and ` +
        `send everything ${frame.user.name} can. Cross-site WebSocket hijacking.`;
      socket.send(JSON.stringify({ type: "join", boardId: "board-1" }));
    }
  };
  socket.onclose = (event) => {
    if (!opened) {
      result.textContent = `Could not connect: the board server refused the socket ` +
        `(closed with ${event.code} before it opened). Your session is safe.`;
    }
  };
</script>
</body>
</html>
"#;

/// Where screenshots go: the book's images with `UPDATE_SCREENSHOTS=1`,
/// a temporary directory otherwise.
struct Screenshots {
    dir: PathBuf,
    _temporary: Option<TempDir>,
}

impl Screenshots {
    fn new() -> Screenshots {
        if std::env::var_os("UPDATE_SCREENSHOTS").is_some_and(|value| value == "1") {
            Screenshots {
                dir: book_images(),
                _temporary: None,
            }
        } else {
            let temporary = TempDir::new().expect("a temporary directory for screenshots");
            Screenshots {
                dir: temporary.path().to_owned(),
                _temporary: Some(temporary),
            }
        }
    }

    /// Saves a picture of the page's `<body>`: as tall as the content, with
    /// no empty viewport below it.
    async fn take(&self, client: &Client, name: &str) {
        let body = client
            .find(Locator::Css("body"))
            .await
            .expect("the page has a body");
        let png = body.screenshot().await.expect("taking a screenshot");
        let path = self.dir.join(name);
        std::fs::write(&path, png).unwrap_or_else(|error| panic!("writing {path:?}: {error}"));
    }
}

fn book_images() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../book/src/images")
}

/// A solution server on port 0 and its own database file; killed on drop.
struct Server {
    child: Child,
    base: String,
    stderr: Arc<Mutex<String>>,
    _dir: TempDir,
}

impl Server {
    fn start(binary: &str) -> Server {
        let dir = TempDir::new().expect("a temporary directory for the database");
        let child = Command::new(binary)
            .env("PORT", "0")
            .env("DATABASE_PATH", dir.path().join("board.db"))
            // The contract's defaults, whatever the environment says.
            .env_remove("ALLOWED_ORIGINS")
            .env_remove("SESSION_TTL_SECS")
            .env_remove("AUTH_TIMEOUT_MS")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("starting {binary}: {error}"));
        let mut server = Server {
            child,
            base: String::new(),
            stderr: Arc::default(),
            _dir: dir,
        };
        let stderr = server.child.stderr.take().unwrap();
        let log = Arc::clone(&server.stderr);
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = log.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let first = first_line(server.child.stdout.take().unwrap(), binary);
        server.base = first
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("{binary} printed {first:?}, not the listening line"))
            .to_owned();
        server
    }

    /// What the server has logged so far (one line per request).
    fn log(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The first line a process prints, waiting at most `WAIT`. A thread reads
/// the pipe to its end, so the process never blocks on a full pipe.
fn first_line(output: impl Read + Send + 'static, program: &str) -> String {
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(output).lines().map_while(Result::ok) {
            let _ = sender.send(line);
        }
    });
    receiver
        .recv_timeout(WAIT)
        .unwrap_or_else(|_| panic!("{program} printed no line within {WAIT:?}"))
}

/// chromedriver on a free port, in a process group of its own so that it
/// and every Chromium it started are killed together on drop.
struct Chromedriver {
    child: Child,
    url: String,
    chromium: PathBuf,
    /// One fresh `--user-data-dir` per browser session lives in here.
    profiles: TempDir,
}

impl Chromedriver {
    fn start() -> Chromedriver {
        let chromium = find_program("chromium")
            .unwrap_or_else(|| panic!("no `chromium` on PATH: {INSTALL_HINT}"));
        let driver = find_program("chromedriver")
            .unwrap_or_else(|| panic!("no `chromedriver` on PATH: {INSTALL_HINT}"));
        // `--port=0` lets chromedriver pick a free port; it prints which.
        let child = Command::new(&driver)
            .arg("--port=0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|error| panic!("starting {driver:?}: {error}; {INSTALL_HINT}"));
        let mut chromedriver = Chromedriver {
            child,
            url: String::new(),
            chromium,
            profiles: TempDir::new().expect("a temporary directory for browser profiles"),
        };
        let stdout = chromedriver.child.stdout.take().unwrap();
        let (sender, receiver) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = sender.send(line);
            }
        });
        let deadline = Instant::now() + WAIT;
        let port = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = receiver
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("chromedriver did not say it started within {WAIT:?}"));
            if let Some(rest) = line.split("started successfully on port ").nth(1) {
                break rest.trim_end_matches('.').to_owned();
            }
        };
        chromedriver.url = format!("http://127.0.0.1:{port}");
        chromedriver
    }

    /// A new browser session: its own Chromium with an empty profile, so
    /// its own cookies.
    async fn session(&self) -> Client {
        let profile = tempfile::tempdir_in(self.profiles.path()).expect("a browser profile");
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|&flag| flag.to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.keep().display()));
        let capabilities: Capabilities = serde_json::from_value(json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": self.chromium, "args": args },
            // Bounds on chromedriver's own waits, which default to minutes.
            "timeouts": { "pageLoad": WAIT.as_millis(), "script": WAIT.as_millis() },
        }))
        .unwrap();
        let mut builder = ClientBuilder::new(HttpConnector::new());
        builder.capabilities(capabilities);
        tokio::time::timeout(BROWSER_START, builder.connect(&self.url))
            .await
            .unwrap_or_else(|_| panic!("Chromium did not start within {BROWSER_START:?}"))
            .unwrap_or_else(|error| panic!("starting a Chromium session: {error}"))
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let group = Pid::from_raw(i32::try_from(self.child.id()).unwrap());
        let _ = nix::sys::signal::killpg(group, Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Every picture in `book/src/images` is used by the book, and every image the
/// book or the README shows exists, so a screenshot cannot go stale
/// unnoticed or be left behind.
#[test]
fn the_book_uses_every_image_and_every_image_exists() {
    let images = book_images();
    let mut texts = Vec::new();
    for entry in std::fs::read_dir(images.join("..")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|extension| extension == "md") {
            texts.push((path.clone(), std::fs::read_to_string(&path).unwrap()));
        }
    }
    let readme = Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    let readme_text = std::fs::read_to_string(&readme).unwrap();

    let referenced: Vec<(PathBuf, String)> = texts
        .iter()
        .chain([(readme, readme_text)].iter())
        .flat_map(|(path, text)| {
            image_references(text)
                .into_iter()
                .map(move |name| (path.clone(), name))
        })
        .collect();
    for (path, name) in &referenced {
        assert!(
            images.join(name).is_file(),
            "{path:?} shows images/{name}, which does not exist"
        );
    }
    for entry in std::fs::read_dir(&images).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        // The figures a plot was drawn from live beside it, for redrawing;
        // only pictures must be shown.
        if !(name.ends_with(".png") || name.ends_with(".svg")) {
            continue;
        }
        assert!(
            texts
                .iter()
                .any(|(_, text)| image_references(text).contains(&name)),
            "book/src/images/{name} is not used by any chapter"
        );
    }
}

/// The file names after each `images/` in a Markdown text.
fn image_references(text: &str) -> Vec<String> {
    text.split("images/")
        .skip(1)
        .map(|rest| {
            rest.chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
                .collect::<String>()
        })
        .filter(|name| !name.is_empty())
        .collect()
}
