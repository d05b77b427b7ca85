//! Clients that never finish: half a request, headers that never end, a body
//! that never arrives, a kept-alive connection left doing nothing. Each is
//! closed once `CLIENT_TIMEOUT_SECONDS` has passed; none is held for ever
//! (each held connection is a file descriptor, and the process has a few
//! thousand).

use crate::helpers::*;
use std::time::Duration;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

async fn impatient_app() -> TestApp {
    spawn(Spawn { env: vec![("CLIENT_TIMEOUT_SECONDS", "1".to_string())], ..Spawn::default() }).await.unwrap()
}

async fn connect(app: &TestApp, sends: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(app.address.trim_start_matches("http://")).await.unwrap();
    stream.write_all(sends).await.unwrap();
    stream
}

/// What the server said before it closed the connection; fails the test if
/// the connection is still open after 10 s (the server's limit here is 1 s).
async fn said_before_closing(stream: &mut TcpStream) -> String {
    let mut said = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut said)).await;
    assert!(read.is_ok(), "still open after 10 s; it said: {}", String::from_utf8_lossy(&said));
    String::from_utf8_lossy(&said).into_owned()
}

#[tokio::test]
async fn a_client_that_sends_nothing_is_closed() {
    let app = impatient_app().await;
    let mut stream = connect(&app, b"").await;
    assert_eq!(said_before_closing(&mut stream).await, "");
}

#[tokio::test]
async fn headers_that_never_end_are_closed() {
    let app = impatient_app().await;
    let mut stream = connect(&app, b"GET /register HTTP/1.1\r\nHost: localhost\r\nX-Slow: a").await;
    said_before_closing(&mut stream).await;
}

#[tokio::test]
async fn a_body_that_never_arrives_is_answered_408_and_closed() {
    let app = impatient_app().await;
    let head = "POST /api/v1/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
                Content-Length: 100\r\n\r\n{\"account\":";
    let mut stream = connect(&app, head.as_bytes()).await;
    let said = said_before_closing(&mut stream).await;
    assert!(said.starts_with("HTTP/1.1 408"), "{said}");
}

#[tokio::test]
async fn a_kept_alive_connection_left_idle_is_closed() {
    let app = impatient_app().await;
    let mut stream = connect(&app, b"GET /health/live HTTP/1.1\r\nHost: localhost\r\n\r\n").await;
    let said = said_before_closing(&mut stream).await;
    assert!(said.starts_with("HTTP/1.1 200"), "answered first: {said}");
}
