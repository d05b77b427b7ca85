//! Clients that never finish: half a request, headers that never end, a body
//! that never arrives, a kept-alive connection left doing nothing. Each is
//! closed once `CLIENT_TIMEOUT_SECONDS` has passed; none is held for ever
//! (each held connection is a file descriptor, and the process has a few
//! thousand).

use crate::{helpers::*, process::ServerProcess};
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

/// A server process of its own (what `/proc` shows of it is the server's
/// alone), on `env` added to the test defaults.
async fn server_process(env: Vec<(&'static str, String)>) -> (ServerProcess, TempDir) {
    let (env, dir) = setup(Spawn { env, ..Spawn::default() }).await.unwrap();
    (ServerProcess::start(&env, &dir.0).await, dir)
}

/// One request on a connection of its own, with what it said.
async fn raw_request(address: &str, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(address.trim_start_matches("http://")).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut said = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut said)).await.expect("an answer").unwrap();
    String::from_utf8_lossy(&said).into_owned()
}

/// The attack: methods are any token, as long as a request line. 300
/// requests with distinct 100 KB methods (each kept as a metrics label and
/// a log field, they took the process's memory up by tens of MB for good,
/// and `/metrics` with it). Refused with 501 before anything records them.
#[tokio::test]
async fn unknown_methods_are_refused_before_anything_records_them() {
    let (server, _dir) = server_process(vec![]).await;
    let address = &server.app.address;
    let metrics =
        || async { server.app.client.get(format!("{address}/metrics")).send().await.unwrap().text().await.unwrap() };
    let metrics_before = metrics().await;
    let rss_before = server.rss_kib();
    for i in 0..300 {
        let method = format!("{}{i}", "X".repeat(100_000));
        let request = format!("{method} /health/live HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        let said = raw_request(address, request.as_bytes()).await;
        assert!(said.starts_with("HTTP/1.1 501"), "{}", &said[..said.len().min(200)]);
    }
    let grown_kib = server.rss_kib().saturating_sub(rss_before);
    let metrics_after = metrics().await;
    assert!(!metrics_after.contains("XXXX"), "no method reached /metrics");
    assert!(
        metrics_after.len() < metrics_before.len() + 8_192,
        "/metrics grew from {} to {} bytes",
        metrics_before.len(),
        metrics_after.len()
    );
    // 300 methods of 100 KB are 30 MB: kept once, the growth is past this.
    assert!(grown_kib < 16 * 1024, "RSS grew by {grown_kib} KiB");
    // A known method still works, and is counted.
    assert_eq!(server.app.client.get(format!("{address}/health/live")).send().await.unwrap().status(), 200);
    // A method of a name's length that no route takes: 405 and what it takes.
    for method in ["TRACE", "QUERY"] {
        let request = format!("{method} /api/v1/legal HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        let said = raw_request(address, request.as_bytes()).await;
        assert!(said.starts_with("HTTP/1.1 405"), "{method}: {}", &said[..said.len().min(200)]);
        assert!(said.to_ascii_lowercase().contains("allow: get,head"), "{said}");
    }
}

/// `n` connections from `source` (another loopback address than the
/// tests' own), each pipelining `requests` for `path` and never reading a
/// byte of the answers, with a small receive window. Returns those the
/// server accepted and kept.
async fn clients_that_never_read(address: &str, source: &str, n: usize, path: &str, requests: usize) -> Vec<TcpStream> {
    let target: std::net::SocketAddr = address.trim_start_matches("http://").parse().unwrap();
    let pipelined = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").repeat(requests);
    let mut streams = Vec::new();
    for _ in 0..n {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(2048).unwrap();
        socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
        let Ok(mut stream) = socket.connect(target).await else { continue };
        if stream.write_all(pipelined.as_bytes()).await.is_ok() {
            streams.push(stream);
        }
    }
    streams
}

/// Polls `/health/live` from the tests' own address for `period`; fails if
/// one is not answered within `within`. A bound on starvation, not on
/// speed: the callers' attacks hold their connections for longer than the
/// probes take (their `CLIENT_TIMEOUT_SECONDS`, checked after the probes
/// with [`still_held`]), so each answer came while the attack held the
/// server. A starved server answers once the attack is let go, or never;
/// a loaded one (four tests and a release build on two cores) took 1.03 s.
async fn health_answers_throughout(address: &str, period: Duration, within: Duration) {
    let client = reqwest::Client::builder().timeout(within).build().unwrap();
    let until = tokio::time::Instant::now() + period;
    while tokio::time::Instant::now() < until {
        let answer = client.get(format!("{address}/health/live")).send().await;
        match answer {
            Ok(answer) => assert_eq!(answer.status(), 200, "/health/live under the attack"),
            Err(e) => panic!("/health/live was not answered within {within:?} under the attack: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The descriptors the server holds past `baseline`: what the attack still
/// holds of it.
fn still_held(server: &ServerProcess, baseline: usize) -> usize {
    server.open_descriptors().saturating_sub(baseline)
}

/// Waits (at most `limit`) until the server holds no more descriptors than
/// `baseline` plus its database pool's (SQLite: 8 connections, 2 each),
/// which the attack's requests may have opened; returns what it holds.
async fn descriptors_settle(server: &ServerProcess, baseline: usize, limit: Duration) -> usize {
    let until = tokio::time::Instant::now() + limit;
    loop {
        let open = server.open_descriptors();
        if open <= baseline + 16 || tokio::time::Instant::now() >= until {
            return open;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The attack: 300 clients from one address pipeline requests for a page
/// and never read the answers. One address now has at most
/// `MAX_CONNECTIONS_PER_ADDRESS` connections (past it, a 503 and the
/// connection closed at once), each closed once idle for
/// `CLIENT_TIMEOUT_SECONDS`; the descriptors come back, and a client from
/// elsewhere is answered throughout.
#[tokio::test]
async fn one_address_holds_at_most_its_cap_of_connections_and_others_are_answered() {
    // The attack is held for 15 s: longer than the probes take, however
    // slowly this machine answers them (see `health_answers_throughout`).
    let (server, _dir) =
        server_process(vec![("CLIENT_TIMEOUT_SECONDS", "15".into()), ("MAX_CONNECTIONS_PER_ADDRESS", "200".into())])
            .await;
    let address = server.app.address.clone();
    let baseline = server.open_descriptors();
    let attack = clients_that_never_read(&address, "127.0.0.2", 300, "/register", 4).await;
    health_answers_throughout(&address, Duration::from_secs(1), Duration::from_secs(3)).await;
    let held = still_held(&server, baseline);
    assert!(held <= 200 + 16, "one address holds {held} descriptors, past its cap of 200");
    assert!(held >= 100, "the attack held only {held} connections");
    health_answers_throughout(&address, Duration::from_secs(3), Duration::from_secs(3)).await;
    let held = still_held(&server, baseline);
    assert!(held >= 100, "the attack held only {held} connections by the end of the probes");
    let after = descriptors_settle(&server, baseline, Duration::from_secs(30)).await;
    assert!(after <= baseline + 16, "descriptors {baseline} before, {after} after the deadline");
    drop(attack);
}

/// A server process whose site has a file larger than a socket's buffers
/// (what the WASM bundle is to the real site), at `/pkg/large.bin`.
async fn server_with_a_large_file(mut env: Vec<(&'static str, String)>) -> (ServerProcess, TempDir) {
    let (mut settings, dir) = setup(Spawn::default()).await.unwrap();
    let site = dir.0.join("site");
    std::fs::create_dir_all(site.join("pkg")).unwrap();
    std::fs::write(site.join("pkg/large.bin"), vec![7u8; 2 << 20]).unwrap();
    env.push(("LEPTOS_SITE_ROOT", site.display().to_string()));
    settings.extend(env.into_iter().map(|(k, v)| (k.to_string(), v)));
    (ServerProcess::start(&settings, &dir.0).await, dir)
}

/// The attack: clients that ask for more than the kernel will buffer (a
/// large file, pipelined) and never read. The server's writes stop making
/// progress; with no write deadline, each connection (and the response
/// waiting in it) was held for ever. Now each is closed once its writes have
/// waited `CLIENT_TIMEOUT_SECONDS`.
#[tokio::test]
async fn a_client_that_stops_reading_is_closed_after_the_write_deadline() {
    let (server, _dir) = server_with_a_large_file(vec![("CLIENT_TIMEOUT_SECONDS", "8".into())]).await;
    let address = server.app.address.clone();
    let baseline = server.open_descriptors();
    let attack = clients_that_never_read(&address, "127.0.0.4", 20, "/pkg/large.bin", 8).await;
    assert_eq!(attack.len(), 20);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let held = still_held(&server, baseline);
    assert!(held >= 20, "the server holds {held} of the 20 connections while it writes");
    health_answers_throughout(&address, Duration::from_secs(1), Duration::from_secs(3)).await;
    let held = still_held(&server, baseline);
    assert!(held >= 20, "the server holds {held} of the 20 connections by the end of the probes");
    let after = descriptors_settle(&server, baseline, Duration::from_secs(20)).await;
    assert!(after <= baseline + 16, "descriptors {baseline} before, {after} after the write deadline");
    drop(attack);
}

/// The attack's other half: a server told to stop must not wait on clients
/// that never read what it is writing. SIGTERM ends the process within the
/// delivery grace (`DELIVERY_SHUTDOWN_SECONDS`) plus a little, whatever
/// they do.
#[tokio::test]
async fn clients_that_never_read_cannot_hold_a_stopping_server() {
    let (server, _dir) = server_with_a_large_file(vec![
        ("CLIENT_TIMEOUT_SECONDS", "120".into()),
        ("DELIVERY_SHUTDOWN_SECONDS", "2".into()),
    ])
    .await;
    let attack = clients_that_never_read(&server.app.address, "127.0.0.3", 20, "/pkg/large.bin", 8).await;
    assert_eq!(attack.len(), 20);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let started = std::time::Instant::now();
    server.terminate_within(Duration::from_secs(8)).await;
    assert!(started.elapsed() < Duration::from_secs(6), "stopped after {:?}", started.elapsed());
    drop(attack);
}
