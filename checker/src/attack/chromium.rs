//! A real Chromium for the CSWSH lab, driven over WebDriver (chromedriver,
//! through `fantoccini`), as `solutions/tests/browser.rs` drives it.
//!
//! Only a browser shows the attack as it is: it attaches the board's
//! session cookie to another site's upgrade by itself, and sends an
//! `Origin` that the page's script cannot change. The student's page is
//! untrusted code, so this Chromium reaches nothing but 127.0.0.1, where
//! the checker's own servers are: every other host name resolves to
//! nothing, and every request that is not to a loopback address goes to
//! a proxy that does not exist (Chromium never proxies loopback).
//!
//! [`Browser::close`] ends the session, so that chromedriver quits its
//! Chromium and reaps it, then ends chromedriver. As a fallback, whichever
//! way the row ends, chromedriver runs in a process group of its own, with
//! the Chromium it starts, and the whole group is killed when [`Browser`]
//! is dropped. Every wait has a deadline.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator, wd::Capabilities};
use hyper_util::client::legacy::connect::HttpConnector;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::time::{Instant, timeout};

/// How long a page, a DOM condition or chromedriver's first line may take.
const WAIT: Duration = Duration::from_secs(15);
/// How long a new Chromium may take to start on a busy 2-core machine.
const BROWSER_START: Duration = Duration::from_secs(60);
/// How often a DOM condition is checked while waiting for it.
const POLL: Duration = Duration::from_millis(50);

pub(super) const INSTALL_HINT: &str = "this lab drives a real browser: install Chromium and \
     its WebDriver with `apt-get install chromium chromium-driver` (Debian's packages)";

/// Chromium's switches: headless, no background traffic, and no network
/// but 127.0.0.1 (see the module's comment).
const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-breakpad",
    "--disable-crash-reporter",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    "--proxy-server=http://0.0.0.0:9",
];

/// chromedriver, its Chromium, and the WebDriver session.
pub(super) struct Browser {
    pub(super) client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(id) = self.driver.id().and_then(|id| i32::try_from(id).ok()) {
            let _ = killpg(Pid::from_raw(id), Signal::SIGKILL);
        }
        // The killed group is reaped by tokio's orphan queue.
        let _ = self.driver.start_kill();
    }
}

impl Browser {
    /// Starts chromedriver and one Chromium with an empty profile.
    pub(super) async fn start() -> Result<Browser, String> {
        let chromium = find_program("chromium").ok_or(format!("no `chromium`: {INSTALL_HINT}"))?;
        let driver =
            find_program("chromedriver").ok_or(format!("no `chromedriver`: {INSTALL_HINT}"))?;
        // `--port=0` lets chromedriver pick a free port; it prints which.
        let mut child = Command::new(&driver)
            .arg("--port=0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(|error| format!("starting {}: {error}", driver.display()))?;
        let mut lines = BufReader::new(child.stdout.take().expect("stdout is piped")).lines();
        let port = timeout(WAIT, async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(rest) = line.split("started successfully on port ").nth(1) {
                    return Some(rest.trim_end_matches('.').to_owned());
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
        .ok_or(format!(
            "chromedriver did not say it started within {WAIT:?}"
        ))?;
        // The rest of its output is not read; dropping the pipe would make
        // its next write fail, so it is kept open by a task that drains it.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let profile = tempfile::tempdir().map_err(|error| error.to_string())?;
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|&flag| flag.to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let capabilities: Capabilities = serde_json::from_value(json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": chromium, "args": args },
            // Bounds on chromedriver's own waits, which default to minutes.
            "timeouts": { "pageLoad": WAIT.as_millis(), "script": WAIT.as_millis() },
        }))
        .expect("valid capabilities");
        let mut builder = ClientBuilder::new(HttpConnector::new());
        builder.capabilities(capabilities);
        let client = timeout(
            BROWSER_START,
            builder.connect(&format!("http://127.0.0.1:{port}")),
        )
        .await
        .map_err(|_| format!("Chromium did not start within {BROWSER_START:?}"))?
        .map_err(|error| format!("starting a Chromium session: {error}"))?;
        Ok(Browser {
            client,
            driver: child,
            _profile: profile,
        })
    }

    /// Ends the session (Chromium quits) and chromedriver, both bounded.
    pub(super) async fn close(mut self) {
        let _ = timeout(WAIT, self.client.clone().close()).await;
        let _ = self.driver.start_kill();
        let _ = timeout(WAIT, self.driver.wait()).await;
    }

    pub(super) async fn goto(&self, url: &str) -> Result<(), String> {
        self.client
            .goto(url)
            .await
            .map_err(|error| format!("opening {url}: {error}"))
    }

    /// Logs in through the board page at `base` and waits until its socket
    /// is authenticated as `name`.
    pub(super) async fn log_in(
        &self,
        base: &str,
        username: &str,
        name: &str,
    ) -> Result<(), String> {
        self.goto(base).await?;
        let password = format!("{username}-password");
        for (id, text) in [("username", username), ("password", password.as_str())] {
            let field = self.client.find(Locator::Id(id)).await;
            let field = field.map_err(|error| format!("the board page's #{id}: {error}"))?;
            field
                .send_keys(text)
                .await
                .map_err(|error| error.to_string())?;
        }
        let submit = self
            .client
            .find(Locator::Css("#login-form button[type=submit]"))
            .await
            .map_err(|error| format!("the board page's login button: {error}"))?;
        submit.click().await.map_err(|error| error.to_string())?;
        self.wait_for_text("status", &format!("Socket authenticated as {name}."))
            .await
    }

    /// Waits until the element with this id shows text containing `expected`.
    async fn wait_for_text(&self, id: &str, expected: &str) -> Result<(), String> {
        const TEXT: &str = "const element = document.getElementById(arguments[0]);
            return element ? element.textContent.replace(/\\s+/g, ' ') : '';";
        let deadline = Instant::now() + WAIT;
        loop {
            let text = self
                .client
                .execute(TEXT, vec![json!(id)])
                .await
                .map_err(|error| format!("reading #{id}: {error}"))?;
            let text = text.as_str().unwrap_or_default().to_owned();
            if text.contains(expected) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "#{id} showed {text:?}, not {expected:?}, after {WAIT:?}"
                ));
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}
