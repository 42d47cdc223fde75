//! A real Redis for the rows of exercise 10: Debian's `redis-server`,
//! started on a free port of 127.0.0.1 for one row, without persistence,
//! and stopped with the row's servers. Like a production Redis it requires
//! a password (a fresh random one each time), which the rows pass in
//! `REDIS_URL`.
//!
//! It runs as a server of the row (its own process group, killed at the
//! end of the row, on Ctrl-C and on drop), so nothing is left behind. When
//! `redis-server` is not installed, the row says how to install it instead
//! of failing with a connection error.

use std::net::TcpListener;
use std::path::PathBuf;
use std::time::Duration;

use crate::failure::Failure;
use crate::server::{Launch, Program, Server};

/// What Redis prints once it accepts connections.
const READY: &str = "Ready to accept connections";

/// How long Redis gets to start.
const START_LIMIT: Duration = Duration::from_secs(5);

/// A running Redis.
pub(crate) struct RedisServer {
    pub server: Server,
    /// `redis://:PASSWORD@127.0.0.1:PORT`.
    pub url: String,
    pub port: u16,
    password: String,
}

/// Where `redis-server` is on the `PATH`, if anywhere.
fn find() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("redis-server"))
        .find(|candidate| candidate.is_file())
}

/// A port no one listens on right now.
pub(crate) fn free_port() -> Result<u16, Failure> {
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|error| {
            Failure::new(
                "find a free port for Redis",
                "a free port on 127.0.0.1",
                error.to_string(),
            )
        })
}

/// Starts a Redis for one row.
pub(crate) async fn start(scratch: &std::path::Path) -> Result<RedisServer, Failure> {
    start_on(scratch, free_port()?, crate::users::unknown_secret()).await
}

/// Starts `stopped` again, on its port and with its password, as an
/// operator brings a Redis back after an outage. It starts empty: the
/// rows' Redis keeps nothing on disk.
pub(crate) async fn start_again(
    scratch: &std::path::Path,
    stopped: &RedisServer,
) -> Result<RedisServer, Failure> {
    start_on(scratch, stopped.port, stopped.password.clone()).await
}

async fn start_on(
    scratch: &std::path::Path,
    port: u16,
    password: String,
) -> Result<RedisServer, Failure> {
    let request = "start redis-server on a free port";
    let Some(binary) = find() else {
        return Err(Failure::new(
            request,
            "redis-server on the PATH (exercise 10's rows run a real Redis)",
            "no redis-server found; install it with `sudo apt-get install redis-server` \
             (Debian, Ubuntu) or `brew install redis` (macOS), then run the checker again",
        ));
    };
    // No snapshots, no append-only file: nothing of a row outlives it.
    let line = format!(
        "exec '{}' --port {port} --bind 127.0.0.1 --save '' --appendonly no --dir '{}' \
         --requirepass {password}",
        binary.display(),
        scratch.display()
    );
    let program = Program::Shell(line);
    let launch = Launch {
        program: &program,
        database_path: scratch,
        settings: &[],
        start_timeout: START_LIMIT,
        malloc: None,
    };
    let spawned = crate::server::spawn(&launch).map_err(|failure| {
        Failure::new(request, "a running redis-server", "it could not be started")
            .with_diagnosis(failure.summary, failure.output)
    })?;
    let server = spawned.into_server();
    if !server.wait_output_contains(READY, START_LIMIT).await {
        return Err(Failure::new(
            request,
            format!(
                "redis-server to print {READY:?} within {} s",
                START_LIMIT.as_secs()
            ),
            "it did not",
        )
        .with_diagnosis(
            "redis-server did not start".to_owned(),
            server.output_tail(),
        ));
    }
    Ok(RedisServer {
        server,
        url: format!("redis://:{password}@127.0.0.1:{port}"),
        port,
        password,
    })
}
