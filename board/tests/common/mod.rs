//! What the hostile-client tests share: a server on 127.0.0.1 with settings
//! of the test's choosing and a `/ws` route that echoes, and a client that
//! speaks HTTP/1.1 and WebSocket frames byte by byte over a raw TCP
//! connection, so that a test can send exactly the malformed or slow input
//! a well-behaved client library would never produce.

#![allow(dead_code, unreachable_pub)] // each test file uses its own part

use std::{io, net::SocketAddr, time::Duration};

use axum::{
    Router,
    extract::{State, WebSocketUpgrade},
    response::Response,
    routing::get,
};
use board::{
    App,
    config::Config,
    db::Database,
    socket::{Incoming, MAX_MESSAGE_BYTES, Socket, small_buffers},
};
use serde_json::json;
use tempfile::TempDir;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    sync::mpsc,
    task::JoinHandle,
};

/// Longer than anything a passing test waits for: a test that would hang
/// without the behaviour it checks fails after this instead.
pub const PATIENCE: Duration = Duration::from_secs(5);

/// A valid `Sec-WebSocket-Key` (RFC 6455's example).
pub const GOOD_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// A server running in this test's runtime, on its own database file.
pub struct TestServer {
    pub app: App,
    pub addr: SocketAddr,
    pub database_path: String,
    /// One message each time a socket's task sees `recv` return `None` or
    /// a close, and ends.
    pub socket_ended: mpsc::UnboundedReceiver<()>,
    /// `board::serve`, which ends once shutdown is complete.
    pub serving: JoinHandle<()>,
    _dir: TempDir,
}

impl TestServer {
    /// Starts a server with `settings` on top of `PORT=0` and a fresh
    /// database file.
    pub async fn start(settings: &[(&str, &str)]) -> TestServer {
        let dir = TempDir::new().unwrap();
        let database_path = dir.path().join("board.db").to_str().unwrap().to_owned();
        let mut config = Config::from_lookup(|name| match name {
            "PORT" => Some("0".into()),
            "DATABASE_PATH" => Some(database_path.clone()),
            _ => settings
                .iter()
                .find(|(setting, _)| *setting == name)
                .map(|(_, value)| (*value).to_owned()),
        })
        .unwrap();
        let db = Database::open(&config.database_path).unwrap();
        let listener = board::listen(&mut config).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = App::new(config, db);
        let (ended, socket_ended) = mpsc::unbounded_channel();
        let ws = Router::new()
            .route("/ws", get(echo_upgrade))
            .layer(axum::Extension(ended));
        let serving = tokio::spawn(board::serve(listener, app.clone(), board::router(&app, ws)));
        TestServer {
            app,
            addr,
            database_path,
            socket_ended,
            serving,
            _dir: dir,
        }
    }

    /// A raw TCP connection to the server.
    pub async fn connect(&self) -> TcpStream {
        TcpStream::connect(self.addr).await.unwrap()
    }

    /// A raw connection upgraded to a WebSocket on `/ws`.
    pub async fn websocket(&self) -> TcpStream {
        let mut stream = self.connect().await;
        stream
            .write_all(upgrade_request(GOOD_KEY).as_bytes())
            .await
            .unwrap();
        let head = read_head(&mut stream).await.unwrap();
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        stream
    }

    /// Waits for a socket's task on the server to end.
    pub async fn socket_task_ends(&mut self) {
        tokio::time::timeout(PATIENCE, self.socket_ended.recv())
            .await
            .expect("the socket's task ended")
            .unwrap();
    }
}

/// The test server's `/ws`: answers each text message with
/// `{"echo": text}`. On the client's close frame it just ends, as the
/// simplest exercises do, so whatever the client hears then is board's.
async fn echo_upgrade(
    State(app): State<App>,
    axum::Extension(ended): axum::Extension<mpsc::UnboundedSender<()>>,
    upgrade: WebSocketUpgrade,
) -> Response {
    small_buffers(upgrade)
        .max_message_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |ws| {
            app.track(async move {
                let mut socket = Socket::from(ws);
                loop {
                    match socket.recv().await {
                        Some(Incoming::Text(text)) => {
                            socket.send_json(&json!({ "echo": text })).await
                        }
                        Some(Incoming::Binary | Incoming::TooBig) => {}
                        Some(Incoming::Close) | None => break,
                    }
                }
                let _ = ended.send(());
            })
        })
}

/// The handshake request for `/ws` with `key` as its `Sec-WebSocket-Key`.
pub fn upgrade_request(key: &str) -> String {
    format!(
        "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n\r\n"
    )
}

/// Reads a response's status line and headers, up to the blank line.
pub async fn read_head(stream: &mut TcpStream) -> io::Result<String> {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let byte = stream.read_u8().await?;
        head.push(byte);
    }
    Ok(String::from_utf8(head).unwrap())
}

/// A response read off a raw connection.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    /// The header section, lower-cased, to search with `contains`.
    pub headers: String,
    pub body: serde_json::Value,
}

/// Reads one response with a `Content-Length` body holding JSON.
pub async fn read_response(stream: &mut TcpStream) -> RawResponse {
    let head = tokio::time::timeout(PATIENCE, read_head(stream))
        .await
        .expect("a response in time")
        .expect("a response, not a closed connection");
    let status = head[9..12].parse().unwrap();
    let headers = head.to_ascii_lowercase();
    let length: usize = headers
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .map_or(0, |value| value.trim().parse().unwrap());
    let mut body = vec![0; length];
    stream.read_exact(&mut body).await.unwrap();
    let body = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    RawResponse {
        status,
        headers,
        body,
    }
}

/// Waits until the server closes the connection, reading (and discarding)
/// whatever comes before; panics after [`PATIENCE`].
pub async fn closed_by_server(stream: &mut TcpStream) {
    let mut sink = Vec::new();
    match tokio::time::timeout(PATIENCE, stream.read_to_end(&mut sink)).await {
        Ok(Ok(_)) => {}
        // Data the server had not read when it closed makes its kernel
        // reset the connection instead: closed all the same.
        Ok(Err(error)) if error.kind() == io::ErrorKind::ConnectionReset => {}
        Ok(Err(error)) => panic!("reading failed: {error}"),
        Err(_) => panic!("the server kept the connection open"),
    }
}

/// A client frame: `first` is the byte with FIN, RSV and the opcode; the
/// payload is masked (as a client must) unless `masked` is false.
pub fn frame(first: u8, payload: &[u8], masked: bool) -> Vec<u8> {
    assert!(payload.len() < 126, "short frames only");
    let length = u8::try_from(payload.len()).unwrap();
    if !masked {
        return [&[first, length], payload].concat();
    }
    let mask = [0x37, 0xfa, 0x21, 0x3d];
    let masked_payload = payload
        .iter()
        .zip(mask.iter().cycle())
        .map(|(byte, key)| byte ^ key);
    [first, 0x80 | length]
        .into_iter()
        .chain(mask)
        .chain(masked_payload)
        .collect()
}

/// A masked, final text frame.
pub fn text(payload: &str) -> Vec<u8> {
    frame(0x81, payload.as_bytes(), true)
}

/// Reads one frame from the server (which never masks):
/// `(opcode, payload)`.
pub async fn read_frame(stream: &mut TcpStream) -> (u8, Vec<u8>) {
    let read = async {
        let first = stream.read_u8().await?;
        let length = match stream.read_u8().await? & 0x7f {
            126 => usize::from(stream.read_u16().await?),
            127 => usize::try_from(stream.read_u64().await?).unwrap(),
            short => usize::from(short),
        };
        let mut payload = vec![0; length];
        stream.read_exact(&mut payload).await?;
        io::Result::Ok((first & 0x0f, payload))
    };
    tokio::time::timeout(PATIENCE, read)
        .await
        .expect("a frame in time")
        .expect("a frame, not a closed connection")
}

/// Sends `message` and expects the echo route's answer.
pub async fn echoes(stream: &mut TcpStream, message: &str) {
    stream.write_all(&text(message)).await.unwrap();
    let (opcode, payload) = read_frame(stream).await;
    assert_eq!(opcode, 0x1, "a text frame");
    let answer: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(answer, json!({ "echo": message }));
}

/// Raises this process's soft limit on open files to at least `needed`, as
/// far as the hard limit allows, for a test that holds many connections
/// (both of their ends are in this process).
pub fn allow_open_files(needed: u64) {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    if soft < needed {
        setrlimit(Resource::RLIMIT_NOFILE, needed.min(hard), hard).unwrap();
    }
}

/// Sends one request on a fresh connection and reads the response.
/// `extra` holds whole header lines, each ending in `\r\n`.
pub async fn request(
    server: &TestServer,
    method: &str,
    path: &str,
    extra: &str,
    body: &str,
) -> RawResponse {
    let mut stream = server.connect().await;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{extra}\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    read_response(&mut stream).await
}
