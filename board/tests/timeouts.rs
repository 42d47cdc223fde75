//! `REQUEST_TIMEOUT_MS` through a real server on 127.0.0.1 and raw TCP:
//! slow headers and idle connections are closed, a stalled body is answered
//! 408, and an upgraded socket is left alone.

mod common;

use std::time::{Duration, Instant};

use common::{PATIENCE, TestServer, closed_by_server, echoes, read_response};
use serde_json::json;
use tokio::{io::AsyncWriteExt, task::JoinSet};

/// The timeout the tests run with: short, so they are quick, and long
/// enough that a loaded machine does not trip it while a test is acting.
const TIMEOUT: Duration = Duration::from_millis(300);
const TIMEOUT_SETTING: (&str, &str) = ("REQUEST_TIMEOUT_MS", "300");

/// Asserts that something the server did on its clock took at least
/// [`TIMEOUT`] (allowing a little for timer granularity).
fn not_before_the_timeout(since: Instant) {
    assert!(
        since.elapsed() >= TIMEOUT - Duration::from_millis(20),
        "closed after {:?}, before the timeout",
        since.elapsed()
    );
}

#[tokio::test]
async fn headers_that_never_finish_are_cut_off() {
    let server = TestServer::start(&[TIMEOUT_SETTING]).await;
    let mut stream = server.connect().await;
    let started = Instant::now();
    stream
        .write_all(b"GET /api/me HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await
        .unwrap();
    closed_by_server(&mut stream).await;
    not_before_the_timeout(started);
}

#[tokio::test]
async fn headers_sent_a_byte_at_a_time_are_cut_off_at_the_timeout() {
    // Every byte comes well within the timeout, but the whole header does
    // not: the clock is on the headers, not on each read.
    let server = TestServer::start(&[TIMEOUT_SETTING]).await;
    let mut stream = server.connect().await;
    let started = Instant::now();
    let request =
        b"GET /api/me HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    for byte in request {
        if stream.write_all(&[*byte]).await.is_err() {
            break;
        }
        tokio::time::sleep(TIMEOUT / 10).await;
    }
    closed_by_server(&mut stream).await;
    not_before_the_timeout(started);
    assert!(
        started.elapsed() < TIMEOUT * 3,
        "the trickle kept it open for {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_stalled_body_is_a_408_and_the_connection_is_closed() {
    let server = TestServer::start(&[TIMEOUT_SETTING]).await;
    let mut stream = server.connect().await;
    stream
        .write_all(
            b"POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\n\
              Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"username\":",
        )
        .await
        .unwrap();
    let started = Instant::now();
    let response = read_response(&mut stream).await;
    not_before_the_timeout(started);
    assert_eq!(response.status, 408);
    assert!(
        response.headers.contains("content-type: application/json"),
        "{}",
        response.headers
    );
    assert_eq!(response.body, json!({ "error": "Request timeout" }));
    // The connection, and with it what was read of the body, is gone.
    closed_by_server(&mut stream).await;
}

#[tokio::test]
async fn a_slow_body_within_the_setting_is_read_whole() {
    // A body that pauses longer than the other tests' timeout but finishes
    // within this server's: it is the setting that counts, and the handler
    // gets all of the body.
    let server = TestServer::start(&[("REQUEST_TIMEOUT_MS", "3000")]).await;
    let mut stream = server.connect().await;
    let body = r#"{"username":"alice","password":"alice-password"}"#;
    let head = format!(
        "POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body.as_bytes()[..10]).await.unwrap();
    tokio::time::sleep(TIMEOUT * 2).await;
    stream.write_all(&body.as_bytes()[10..]).await.unwrap();
    let response = read_response(&mut stream).await;
    assert_eq!(response.status, 200, "{:?}", response.body);
    assert_eq!(response.body["user"]["id"], "user-alice");
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_413() {
    let server = TestServer::start(&[TIMEOUT_SETTING]).await;
    let mut stream = server.connect().await;
    let body = vec![b' '; 2 * 1024 * 1024 + 1];
    let head = format!(
        "POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // The server may answer before it has read everything.
    let _ = stream.write_all(&body).await;
    let response = read_response(&mut stream).await;
    assert_eq!(response.status, 413);
    assert_eq!(response.body, json!({ "error": "Request body too large" }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_closed_and_do_not_lock_clients_out() {
    const IDLE: u16 = 2000;
    common::allow_open_files(2 * u64::from(IDLE) + 100);
    let server = TestServer::start(&[TIMEOUT_SETTING]).await;
    let mut idle = Vec::with_capacity(usize::from(IDLE));
    for _ in 0..IDLE {
        idle.push(server.connect().await);
    }
    // A real client is served while they are all open...
    let mut client = server.connect().await;
    client
        .write_all(b"GET /api/me HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(read_response(&mut client).await.status, 401);
    // ...and every one of them is closed by the server.
    let mut closing: JoinSet<()> = idle
        .into_iter()
        .map(|mut stream| async move { closed_by_server(&mut stream).await })
        .collect();
    while let Some(closed) = closing.join_next().await {
        closed.unwrap();
    }
    // So is the real client's kept-alive connection, once it goes quiet.
    closed_by_server(&mut client).await;
}

#[tokio::test]
async fn a_client_still_sending_headers_does_not_hold_up_shutdown() {
    // A timeout far longer than shutdown may take: the connection is not
    // cut off by it but by shutdown's own bound.
    let server = TestServer::start(&[("REQUEST_TIMEOUT_MS", "600000")]).await;
    let mut slow = server.connect().await;
    slow.write_all(b"GET /api/me HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await
        .unwrap();
    let mut idle = server.connect().await;
    // Both connections are being served before shutdown begins.
    let mut client = server.connect().await;
    client
        .write_all(b"GET /api/me HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(read_response(&mut client).await.status, 401);

    server.app.shut_down();
    tokio::time::timeout(Duration::from_secs(2), server.serving)
        .await
        .expect("shutdown within the contract's 2 seconds")
        .unwrap();
    closed_by_server(&mut idle).await;
}

#[tokio::test]
async fn an_upgraded_socket_is_not_timed() {
    let server = TestServer::start(&[TIMEOUT_SETTING]).await;
    let mut socket = server.websocket().await;
    // Nothing to wait for here but time itself: quiet for several
    // timeouts, the socket must still be there.
    tokio::time::sleep(TIMEOUT * 3).await;
    tokio::time::timeout(PATIENCE, echoes(&mut socket, "still here"))
        .await
        .unwrap();
}
