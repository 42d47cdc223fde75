//! Two ways the broken server behaves like a server on Node's `ws` library,
//! each correct, each one that a checker unlike a browser would wrongly fail:
//!
//! - `CLOSE_ON_TCP_END=1`: after a client's close, the socket is reported
//!   closed (so it leaves its boards and `user_left` is announced) only once
//!   the client's TCP connection has ended, not when the close handshake is
//!   done. RFC 6455 (7.1.1) has the client end the connection right after
//!   the handshake, as browsers do.
//! - `CLEANUP_AFTER_CLOSE_HANDSHAKE=1`: when the server closes a socket
//!   itself (4003, 4002, 1009...), it leaves the socket's boards only once
//!   the closing handshake is done: the client's answering close has come,
//!   or the connection has ended. A browser answers a close at once (RFC
//!   6455 5.5.1); `ws` waits up to 30 s for it.
//!
//! `checker/tests/real_clients.rs` grades the rows in these modes.
//!
//! axum's WebSocket does not show its TCP connection, so each connection's
//! file descriptor is duplicated when it is accepted and handed to the
//! `/ws` handler as connect info. After a client's close the socket's task
//! reads that duplicate until it sees the end of the connection. To close a
//! socket itself, the task sends the close frame and lets go of the
//! WebSocket without reading (the duplicate keeps the connection open),
//! then reads the duplicate until the client's close frame or the end.

use std::{
    os::fd::{AsFd, OwnedFd},
    sync::Arc,
    time::Duration,
};

use axum::Router;
use board::{App, socket::Socket};
use tokio::{
    io::AsyncReadExt,
    net::{TcpListener, TcpStream},
};

/// How long a socket waits for the client to end its connection after the
/// close handshake, or to answer the server's close: `ws`'s own
/// `closeTimeout`.
const LINGER: Duration = Duration::from_secs(30);

/// Whether this run reports closes only at the end of the TCP connection.
pub(crate) fn close_on_tcp_end() -> bool {
    std::env::var_os("CLOSE_ON_TCP_END").is_some_and(|value| value == "1")
}

/// Whether this run leaves the boards of a socket it closes itself only
/// once the closing handshake is done.
pub(crate) fn cleanup_after_close_handshake() -> bool {
    std::env::var_os("CLEANUP_AFTER_CLOSE_HANDSHAKE").is_some_and(|value| value == "1")
}

/// Whether connections are served with their [`TcpEnd`]: in either mode.
pub(crate) fn watched() -> bool {
    close_on_tcp_end() || cleanup_after_close_handshake()
}

/// A duplicate of one connection's socket, to watch for its end.
#[derive(Clone)]
pub(crate) struct TcpEnd(Option<Arc<OwnedFd>>);

impl TcpEnd {
    /// A duplicate of `tcp`'s descriptor, taken as the connection is accepted.
    fn of(tcp: &TcpStream) -> TcpEnd {
        TcpEnd(tcp.as_fd().try_clone_to_owned().ok().map(Arc::new))
    }
}

impl TcpEnd {
    /// Resolves once the client has ended the connection (or it failed),
    /// after [`LINGER`], or when the server shuts down. The caller has
    /// finished the close handshake, so whatever is still read is discarded.
    pub(crate) async fn ended(&self, app: &App) {
        self.read_until(app, |_| false).await;
    }

    /// Sends the server's own close (after `error`, if any) and resolves
    /// once the closing handshake is done, as `ws` sees it: the client's
    /// answering close has come or the connection has ended; or after
    /// [`LINGER`], or when the server shuts down.
    pub(crate) async fn close(
        &self,
        app: &App,
        mut socket: Socket,
        error: Option<&str>,
        code: u16,
        reason: &str,
    ) {
        if let Some(error) = error {
            socket.send_error(error).await;
        }
        // Sends the close frame without reading and lets go of the
        // WebSocket: the client's answer stays unread, for the duplicate.
        socket.abandon(code, reason).await;
        self.read_until(app, holds_close_frame).await;
    }

    /// Reads the duplicate until `done` says so of everything read, the
    /// connection ends (or fails), [`LINGER`] has passed, or the server
    /// shuts down.
    async fn read_until(&self, app: &App, done: fn(&[u8]) -> bool) {
        let Some(mut stream) = self.duplicate() else {
            return;
        };
        let read = async {
            let mut read = Vec::new();
            let mut buffer = [0u8; 512];
            while let Ok(count @ 1..) = stream.read(&mut buffer).await {
                read.extend_from_slice(&buffer[..count]);
                if done(&read) {
                    return;
                }
            }
        };
        tokio::select! {
            () = read => {}
            () = tokio::time::sleep(LINGER) => {}
            () = app.shutting_down() => {}
        }
    }

    fn duplicate(&self) -> Option<TcpStream> {
        let fd = self.0.as_ref()?.try_clone().ok()?;
        TcpStream::from_std(std::net::TcpStream::from(fd)).ok()
    }
}

/// Whether the frames a client sent (from a frame's start) hold a close
/// frame. Frames before it are skipped by their lengths; a frame not
/// complete yet means not yet.
fn holds_close_frame(bytes: &[u8]) -> bool {
    const CLOSE: u8 = 0x8;
    let mut rest = bytes;
    loop {
        let &[first, second, ..] = rest else {
            return false;
        };
        if first & 0x0F == CLOSE {
            return true;
        }
        let (length, header) = match second & 0x7F {
            126 => (
                rest.get(2..4)
                    .map(|b| u64::from(u16::from_be_bytes([b[0], b[1]]))),
                4,
            ),
            127 => (
                rest.get(2..10)
                    .and_then(|b| b.try_into().ok())
                    .map(u64::from_be_bytes),
                10,
            ),
            short => (Some(u64::from(short)), 2),
        };
        let mask = if second & 0x80 != 0 { 4 } else { 0 };
        let next = length
            .and_then(|length| usize::try_from(length).ok())
            .and_then(|length| length.checked_add(header + mask));
        match next.and_then(|next| rest.get(next..)) {
            Some(after) => rest = after,
            None => return false,
        }
    }
}

/// `board::serve`, with every connection's [`TcpEnd`] as connect info.
pub(crate) async fn serve(listener: TcpListener, app: App, router: Router) {
    board::serve_with_connect_info(listener, app, router, TcpEnd::of).await;
}
