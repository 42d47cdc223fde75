//! Accepting TCP connections and serving HTTP/1.1 on each, with a clock on
//! the request headers.
//!
//! `axum::serve` would do all of this but one thing: it offers no way to set
//! hyper's header read timeout, so a client could open a connection and
//! send its headers a byte at a time, or nothing at all, for as long as it
//! liked; a few thousand such connections hold as many tasks and buffers
//! and can use up the process's file descriptors, and then real clients
//! cannot connect. The loop below is what `axum::serve` does, with hyper's
//! HTTP/1 connection builder configured directly: a timer, the header
//! timeout, and upgrades (the WebSocket handshake hands the connection over
//! to its socket, which the timeout then no longer concerns).
//!
//! hyper starts the header clock whenever it waits for a request: on a new
//! connection, and again on a kept-alive one after each response. So a
//! connection that never sends anything is closed after the same timeout.
//! When it fires hyper just closes the connection: there may not even be a
//! request to answer.
//!
//! Shutdown is graceful, and bounded: the listener closes, each connection
//! finishes the request it is in (an idle one closes at once), the open
//! sockets say goodbye, and whatever is still not done after
//! [`DRAIN_TIMEOUT`] is dropped with the process.
//!
//! HTTP/2 is not offered: the workbook's servers and clients speak
//! HTTP/1.1, which is also the only version a WebSocket handshake uses here.

use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    service::TowerToHyperService,
};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::App;

/// How long shutdown waits for open connections to finish their requests
/// and for open sockets to send their close frames. This keeps the whole
/// exit within the contract's 2 seconds, also for a client that never
/// answers, or one still sending its headers.
const DRAIN_TIMEOUT: Duration = Duration::from_millis(1500);

/// How long to wait before accepting again after the listener failed for a
/// reason other than one client's connection (typically: out of file
/// descriptors). Retrying at once would spin; meanwhile the header timeout
/// is closing connections and freeing descriptors, so not much longer.
const ACCEPT_RETRY: Duration = Duration::from_millis(250);

/// Serves `router` on `listener` until [`App::shut_down`], each request's
/// headers within `REQUEST_TIMEOUT_MS`; then waits (boundedly) for open
/// connections to finish their requests and for open sockets to finish
/// their closing handshake.
pub async fn serve(listener: TcpListener, app: App, router: Router) {
    serve_each(listener, app, move |_| router.clone()).await;
}

/// [`serve`], with `info(connection)` as every request's
/// [`ConnectInfo`](axum::extract::ConnectInfo), for a server that needs
/// something of the TCP connection itself in a handler (the workbook's
/// broken server watches when a connection ends).
pub async fn serve_with_connect_info<C>(
    listener: TcpListener,
    app: App,
    router: Router,
    info: impl Fn(&TcpStream) -> C + Send + 'static,
) where
    C: Clone + Send + Sync + 'static,
{
    let with_info = move |tcp: &TcpStream| {
        router
            .clone()
            .layer(axum::Extension(axum::extract::ConnectInfo(info(tcp))))
    };
    serve_each(listener, app, with_info).await;
}

/// Serves each connection with the router `router_for` makes for it.
async fn serve_each(
    listener: TcpListener,
    app: App,
    router_for: impl Fn(&TcpStream) -> Router + Send + 'static,
) {
    let connections = TaskTracker::new();
    accept(
        listener,
        router_for,
        app.config.request_timeout,
        &app.shutdown,
        &connections,
    )
    .await;
    connections.close();
    app.sockets.close();
    // Connections first: one that is finishing an upgrade has yet to
    // start the socket task that shutdown must wait for.
    let drained = async {
        connections.wait().await;
        app.sockets.wait().await;
    };
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, drained).await;
}

/// Accepts connections on `listener` and serves `router` on each, in tasks
/// tracked by `connections`, until `shutdown` is cancelled. Then it stops
/// accepting and asks every open connection to finish gracefully: an idle
/// one closes now, one in the middle of a request once it is answered.
async fn accept(
    listener: TcpListener,
    router_for: impl Fn(&TcpStream) -> Router,
    header_timeout: Duration,
    shutdown: &CancellationToken,
    connections: &TaskTracker,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.cancelled() => return,
        };
        let tcp = match accepted {
            Ok((tcp, _)) => tcp,
            Err(error) if is_one_clients_error(&error) => continue,
            Err(error) => {
                tracing::error!("cannot accept a connection: {error}");
                tokio::select! {
                    () = tokio::time::sleep(ACCEPT_RETRY) => continue,
                    () = shutdown.cancelled() => return,
                }
            }
        };
        // Frames are small and each one is read as it comes: without
        // TCP_NODELAY a frame written while an earlier one is unacknowledged
        // waits for the acknowledgement (Nagle's algorithm), up to a
        // delayed-ACK timer of 40 ms, so in a burst of frames to one socket
        // (a wave of joins, a busy board) each one can wait that long
        // (book/src/what-it-costs.md#waiting-is-not-working-nagles-algorithm).
        // A socket that cannot take the option still works, only slower.
        let _ = tcp.set_nodelay(true);
        let router = router_for(&tcp);
        connections.spawn(serve_connection(
            tcp,
            router,
            header_timeout,
            shutdown.clone(),
        ));
    }
}

/// Serves HTTP on one connection until the client closes it, a request's
/// headers take longer than `header_timeout`, a request is upgraded to a
/// WebSocket, or shutdown closes it gracefully.
async fn serve_connection(
    tcp: TcpStream,
    router: Router,
    header_timeout: Duration,
    shutdown: CancellationToken,
) {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    let connection = builder
        .serve_connection(TokioIo::new(tcp), TowerToHyperService::new(router))
        .with_upgrades();
    tokio::pin!(connection);
    // A connection that ends in error (the client went away, its headers
    // were too slow or malformed) concerns only that client: nothing to do.
    tokio::select! {
        _ = connection.as_mut() => return,
        () = shutdown.cancelled() => {}
    }
    connection.as_mut().graceful_shutdown();
    let _ = connection.await;
}

/// Whether an accept error concerns only the one connection being accepted
/// (it was reset or aborted before it could be taken), so the next accept
/// can follow at once.
fn is_one_clients_error(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}
