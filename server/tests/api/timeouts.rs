//! Slow clients cannot hold connections: request heads must arrive in time, idle keep-alive
//! connections close, and a request whose body trickles in is answered 408.

use std::time::Duration;

use serde_json::Value;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::helpers::{TestApp, create_database, shared_tempdir, test_config};

async fn app_with_short_timeouts(dir: &std::path::Path) -> TestApp {
    let mut config = test_config(Some(create_database().await), dir);
    config.http.header_read_timeout_secs = 1;
    config.http.request_timeout_secs = 1;
    TestApp::spawn(config).await
}

fn socket_address(app: &TestApp) -> String {
    app.address.trim_start_matches("http://").to_owned()
}

/// Reads until the server closes the connection; returns what it sent. Fails if it is still
/// open after `patience`, far beyond the configured limit.
async fn read_until_closed(stream: &mut TcpStream, patience: Duration) -> String {
    let mut received = Vec::new();
    let read = tokio::time::timeout(patience, stream.read_to_end(&mut received)).await;
    assert!(
        read.is_ok(),
        "the connection was still open after {patience:?}: {}",
        String::from_utf8_lossy(&received)
    );
    String::from_utf8_lossy(&received).into_owned()
}

#[tokio::test]
async fn a_request_head_sent_too_slowly_loses_its_connection() {
    let dir = shared_tempdir();
    let app = app_with_short_timeouts(dir.path()).await;
    let mut stream = TcpStream::connect(socket_address(&app)).await.unwrap();
    // Half a request head, then silence: the slow-loris pattern.
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap();
    let answer = read_until_closed(&mut stream, Duration::from_secs(15)).await;
    assert!(!answer.contains("200 OK"), "{answer}");

    // A connection that never sends anything is closed too.
    let mut silent = TcpStream::connect(socket_address(&app)).await.unwrap();
    read_until_closed(&mut silent, Duration::from_secs(15)).await;
    app.stop().await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_its_request() {
    let dir = shared_tempdir();
    let app = app_with_short_timeouts(dir.path()).await;
    let mut stream = TcpStream::connect(socket_address(&app)).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let answer = read_until_closed(&mut stream, Duration::from_secs(15)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    app.stop().await;
}

#[tokio::test]
async fn a_body_that_trickles_in_is_answered_408_with_a_structured_error() {
    let dir = shared_tempdir();
    let app = app_with_short_timeouts(dir.path()).await;
    let mut stream = TcpStream::connect(socket_address(&app)).await.unwrap();
    stream
        .write_all(
            b"POST /api/v1/auth/login HTTP/1.1\r\nHost: localhost\r\n\
              Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"email\":",
        )
        .await
        .unwrap();
    let answer = read_until_closed(&mut stream, Duration::from_secs(15)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    let body = &answer[answer.find("\r\n\r\n").unwrap() + 4..];
    let body: Value = serde_json::from_str(body).expect("a JSON error body");
    assert_eq!(body["code"], "request_timeout", "{body}");
    assert!(body["correlation_id"].is_string(), "{body}");

    // The server serves everyone else meanwhile and after.
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    app.stop().await;
}
