//! `CLOSE_ON_TCP_END=1`: the broken server behaves like a server on Node's
//! `ws` library, which reports a socket closed (and so leaves its boards and
//! announces `user_left`) only once the client's TCP connection has ended,
//! not when the close handshake is done.
//!
//! Such a server is correct: RFC 6455 (7.1.1) has the client end the TCP
//! connection right after the handshake, as browsers do. A checker that
//! keeps the connection open after its close frame would wrongly fail it,
//! so `checker/tests/real_clients.rs` grades the last exercise in this mode.
//!
//! axum's WebSocket does not show its TCP connection, so each connection's
//! file descriptor is duplicated when it is accepted and handed to the
//! `/ws` handler as connect info; after a client's close the socket's task
//! reads that duplicate until it sees the end of the connection.

use std::{
    os::fd::{AsFd, OwnedFd},
    sync::{Arc, LazyLock},
    time::Duration,
};

use axum::{Router, extract::connect_info::Connected, serve::IncomingStream};
use board::App;
use tokio::{io::AsyncReadExt, net::TcpListener};
use tokio_util::task::TaskTracker;

/// How long a socket waits for the client to end its connection after the
/// close handshake: `ws`'s own `closeTimeout`.
const LINGER: Duration = Duration::from_secs(30);

/// How long shutdown waits for sockets to say goodbye, as `board::serve`.
const DRAIN: Duration = Duration::from_millis(1500);

/// Whether this run reports closes only at the end of the TCP connection.
pub(crate) fn on() -> bool {
    std::env::var_os("CLOSE_ON_TCP_END").is_some_and(|value| value == "1")
}

/// A duplicate of one connection's socket, to watch for its end.
#[derive(Clone)]
pub(crate) struct TcpEnd(Option<Arc<OwnedFd>>);

impl Connected<IncomingStream<'_, TcpListener>> for TcpEnd {
    fn connect_info(stream: IncomingStream<'_, TcpListener>) -> Self {
        TcpEnd(stream.io().as_fd().try_clone_to_owned().ok().map(Arc::new))
    }
}

impl TcpEnd {
    /// Resolves once the client has ended the connection (or it failed),
    /// after [`LINGER`], or when the server shuts down. The caller has
    /// finished the close handshake, so whatever is still read is discarded.
    pub(crate) async fn ended(&self, app: &App) {
        let stream = self
            .0
            .as_ref()
            .and_then(|fd| fd.try_clone().ok())
            .map(std::net::TcpStream::from)
            .and_then(|stream| tokio::net::TcpStream::from_std(stream).ok());
        let Some(mut stream) = stream else { return };
        let until_end = async {
            let mut buffer = [0u8; 512];
            while let Ok(1..) = stream.read(&mut buffer).await {}
        };
        tokio::select! {
            () = until_end => {}
            () = tokio::time::sleep(LINGER) => {}
            () = app.shutting_down() => {}
        }
    }
}

/// The sockets' tasks, so that shutdown waits for their goodbyes (what
/// `board::serve` does with its own tracker, which this mode cannot reach).
static SOCKETS: LazyLock<TaskTracker> = LazyLock::new(TaskTracker::new);

/// Runs a socket's task so that shutdown waits for it.
pub(crate) fn track<F: Future<Output = ()>>(task: F) -> impl Future<Output = ()> {
    SOCKETS.track_future(task)
}

/// `board::serve`, with every connection's [`TcpEnd`] as connect info.
pub(crate) async fn serve(listener: TcpListener, app: App, router: Router) {
    let stop = app.clone();
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<TcpEnd>(),
    )
    .with_graceful_shutdown(async move { stop.shutting_down().await })
    .await
    .expect("serving on a bound listener does not fail");
    SOCKETS.close();
    let _ = tokio::time::timeout(DRAIN, SOCKETS.wait()).await;
}
