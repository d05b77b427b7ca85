//! Measures, against a running release server (started by `bench/run.sh`):
//! the argon2 verify time at the server's cost; sign-in throughput and p99 at
//! 16 and 64 connections against the bound `cores / verify time`; sign-ins
//! while 64 other clients send sign-ins and reset the connection 40 ms later;
//! page renders of `/register` and `/login` at 64 connections; the
//! availability checks (at 16 and 64 connections, beside the seeds' Django
//! stack's when `BENCH_PEER_URL` names it) and the captcha; a flood of recovery requests from as
//! many client addresses; a flood of sends with solved proofs of work and
//! wrong captcha answers from as many addresses; a thousand clients that
//! pipeline requests and never read. During the two floods a person signs
//! in, and their latency is the figure that matters. For OpenID Connect
//! (`BENCH_CLIENT_ID`, `BENCH_CLIENT_SECRET`: a client `bench/run.sh`
//! registers): code exchanges (an authorization and its token request),
//! refreshes and JWK Set fetches at 64 connections, and the CPU one
//! signature costs (RS256, ES256). Beside each figure:
//! the requests that were refused (non-2xx), failed (no answer) or timed
//! out, and the server's resident memory, threads and open descriptors
//! (`BENCH_SERVER_PID`), at the start, the peak and the end of the run; for
//! the lookups, its CPU time an answer too.
//! `BENCH_ONLY` picks sections (sign-in, pages, lookups, recovery, proofs,
//! readers, oidc), e.g. to run one flood for longer.
//!
//! The settings are read as the server reads them (`Config::from_env`), so
//! the hash cost measured is the one the server uses.

use app::{
    core::{cpu::CpuLimiter, password_hashing::PasswordHasher},
    rules::{Password, PasswordPolicy},
};
use server::config::Config;
use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};
use tokio::io::AsyncWriteExt;

const PASSWORD: &str = "tangerine-Kite-42";
/// A request not answered within this is counted as timed out.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Default)]
struct Figures {
    ok: usize,
    refused: usize,
    failed: usize,
    timed_out: usize,
    latencies: Vec<Duration>,
    elapsed: Duration,
}

impl Figures {
    /// The workers' figures as one, over the time since `started`.
    fn merged(workers: Vec<Figures>, started: Instant) -> Figures {
        let mut all = Figures::default();
        for figures in workers {
            all.ok += figures.ok;
            all.refused += figures.refused;
            all.failed += figures.failed;
            all.timed_out += figures.timed_out;
            all.latencies.extend(figures.latencies);
        }
        all.elapsed = started.elapsed();
        all.latencies.sort();
        all
    }

    fn percentile(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let at = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[at]
    }

    /// What the server answered (refusals too), at least 1 to divide by.
    fn answers(&self) -> usize {
        (self.ok + self.refused).max(1)
    }

    fn per_second(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }

    fn line(&self, name: &str) -> String {
        let latency = if self.ok == 0 {
            "no request succeeded".to_string()
        } else {
            format!(
                "p50 {:>7.1} ms  p99 {:>7.1} ms",
                self.percentile(0.50).as_secs_f64() * 1000.0,
                self.percentile(0.99).as_secs_f64() * 1000.0
            )
        };
        format!(
            "{name:<40} {:>8.1}/s ok  {latency}  ({} ok, {} refused, {} failed, {} timed out)",
            self.per_second(),
            self.ok,
            self.refused,
            self.failed,
            self.timed_out
        )
    }
}

/// The server process's resident memory (MB), threads and open
/// descriptors, from /proc.
fn server_usage(pid: Option<u32>) -> Option<(f64, u64, u64)> {
    let pid = pid?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        line.split_whitespace().nth(1)?.parse().ok()
    };
    let descriptors = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count() as u64;
    Some((field("VmRSS:")? as f64 / 1024.0, field("Threads:")?, descriptors))
}

/// The CPU time so far, user and system, of a process and its children (a
/// server that forks workers, like the peer's gunicorn), from /proc (in the
/// kernel's clock ticks, 100 a second on Linux).
fn server_cpu(pid: Option<u32>) -> Option<Duration> {
    let pid = pid?;
    // After the command's closing parenthesis, field 3 (state) comes first:
    // ppid (field 4) is the 2nd, utime (14) and stime (15) the 12th and 13th.
    let stat = |pid: &str| -> Option<(u64, u64)> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let fields: Vec<&str> = text.rsplit_once(')')?.1.split_whitespace().collect();
        let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
        Some((fields.get(1)?.parse().ok()?, ticks))
    };
    let own = stat(&pid.to_string())?.1;
    let children: u64 = std::fs::read_dir("/proc")
        .ok()?
        .filter_map(|entry| stat(entry.ok()?.file_name().to_str()?))
        .filter(|(ppid, _)| *ppid == u64::from(pid))
        .map(|(_, ticks)| ticks)
        .sum();
    Some(Duration::from_millis((own + children) * 10))
}

/// Samples the server's memory, threads and descriptors every 50 ms while a
/// run lasts, and its CPU time from the start to the end.
struct Usage {
    pid: Option<u32>,
    start: Option<(f64, u64, u64)>,
    start_cpu: Option<Duration>,
    peak_rss_kb: Arc<AtomicU64>,
    peak_threads: Arc<AtomicU64>,
    peak_descriptors: Arc<AtomicU64>,
    running: Arc<AtomicBool>,
}

impl Usage {
    fn watch(pid: Option<u32>) -> Usage {
        let start = server_usage(pid);
        let start_cpu = server_cpu(pid);
        let peaks = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let running = Arc::new(AtomicBool::new(true));
        let (rss, threads, descriptors, on) = (peaks.0.clone(), peaks.1.clone(), peaks.2.clone(), running.clone());
        tokio::spawn(async move {
            while on.load(Ordering::Relaxed) {
                if let Some((mb, n, fds)) = server_usage(pid) {
                    rss.fetch_max((mb * 1024.0) as u64, Ordering::Relaxed);
                    threads.fetch_max(n, Ordering::Relaxed);
                    descriptors.fetch_max(fds, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        Usage { pid, start, start_cpu, peak_rss_kb: peaks.0, peak_threads: peaks.1, peak_descriptors: peaks.2, running }
    }

    /// The server's CPU time for each answer of `figures` (ok or refused),
    /// the cost the run's rate hides when the load generator shares the cores.
    fn cpu_per_answer(&self, figures: &Figures) -> String {
        let Some(spent) = self.cpu_spent() else {
            return "    server CPU: (set BENCH_SERVER_PID to see it)".into();
        };
        format!(
            "    server CPU: {:.2} s over the run, {:.0} µs an answer",
            spent.as_secs_f64(),
            spent.as_secs_f64() * 1e6 / figures.answers() as f64
        )
    }

    /// The server's CPU seconds for each answer since `watch`.
    fn seconds_per_answer(&self, figures: &Figures) -> Option<f64> {
        Some(self.cpu_spent()?.as_secs_f64() / figures.answers() as f64)
    }

    /// The server's CPU time since `watch`.
    fn cpu_spent(&self) -> Option<Duration> {
        Some(server_cpu(self.pid)?.saturating_sub(self.start_cpu?))
    }

    fn line(self) -> String {
        self.running.store(false, Ordering::Relaxed);
        let (Some((start_mb, start_threads, start_fds)), Some((end_mb, end_threads, end_fds))) =
            (self.start, server_usage(self.pid))
        else {
            return "    server: (set BENCH_SERVER_PID to see its memory and threads)".into();
        };
        format!(
            "    server: RSS {start_mb:.0} MB at the start, {:.0} MB at the peak, {end_mb:.0} MB after; \
             threads {start_threads} / {} / {end_threads}; descriptors {start_fds} / {} / {end_fds}",
            self.peak_rss_kb.load(Ordering::Relaxed) as f64 / 1024.0,
            self.peak_threads.load(Ordering::Relaxed),
            self.peak_descriptors.load(Ordering::Relaxed),
        )
    }
}

/// Like `load`, for GETs of `path(n)` under `base` (`http://host:port`),
/// written and read by hand over plain keep-alive connections (a new one
/// when the server closes it, as gunicorn's sync workers do after each
/// answer). reqwest costs the load's side about as much CPU per request as
/// a lookup costs the server, and on two shared cores the client then set
/// the rate; this costs a fraction of it. Answers are read by their
/// `Content-Length` (ours and the peer's both send it).
async fn load_plain_gets<P>(base: &str, connections: usize, duration: Duration, path: P) -> Figures
where
    P: Fn(usize) -> String + Clone + Send + 'static,
{
    let host = base.trim_start_matches("http://").trim_end_matches('/').to_owned();
    let started = Instant::now();
    let deadline = started + duration;
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..connections {
        let (host, path) = (host.clone(), path.clone());
        workers.spawn(async move {
            let mut figures = Figures::default();
            let mut connection: Option<tokio::net::TcpStream> = None;
            let mut buffer = Vec::with_capacity(4096);
            let mut n = 0;
            while Instant::now() < deadline {
                let t = Instant::now();
                let request = format!("GET {} HTTP/1.1\r\nHost: {host}\r\n\r\n", path(worker * 1_000_000 + n));
                n += 1;
                let answer = tokio::time::timeout(REQUEST_TIMEOUT, async {
                    let stream = match connection.take() {
                        Some(stream) => stream,
                        None => {
                            let stream = tokio::net::TcpStream::connect(&host).await?;
                            stream.set_nodelay(true)?;
                            stream
                        }
                    };
                    plain_get(stream, request.as_bytes(), &mut buffer).await
                })
                .await;
                match answer {
                    Ok(Ok((status, stream))) => {
                        connection = stream;
                        if (200..300).contains(&status) {
                            figures.ok += 1;
                            figures.latencies.push(t.elapsed());
                        } else {
                            figures.refused += 1;
                        }
                    }
                    Ok(Err(_)) => {
                        figures.failed += 1;
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                    Err(_) => figures.timed_out += 1,
                }
            }
            figures
        });
    }
    Figures::merged(workers.join_all().await, started)
}

/// One request on `stream` and its whole answer: the status, and the stream
/// again unless the server said it closes it.
async fn plain_get(
    mut stream: tokio::net::TcpStream,
    request: &[u8],
    buffer: &mut Vec<u8>,
) -> std::io::Result<(u16, Option<tokio::net::TcpStream>)> {
    use tokio::io::AsyncReadExt;
    let broken = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
    stream.write_all(request).await?;
    buffer.clear();
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        if stream.read_buf(buffer).await? == 0 {
            return Err(broken("closed before the headers ended"));
        }
    };
    let head = std::str::from_utf8(&buffer[..head_end]).map_err(|_| broken("headers not UTF-8"))?.to_ascii_lowercase();
    let status = head.get(9..12).and_then(|s| s.parse().ok()).ok_or_else(|| broken("no status"))?;
    let header = |name: &str| {
        head.lines().find_map(|line| line.strip_prefix(name).and_then(|rest| rest.strip_prefix(':')).map(str::trim))
    };
    let length: usize = header("content-length").and_then(|v| v.parse().ok()).ok_or_else(|| broken("no length"))?;
    while buffer.len() < head_end + length {
        if stream.read_buf(buffer).await? == 0 {
            return Err(broken("closed before the body ended"));
        }
    }
    let closes = header("connection").is_some_and(|v| v == "close");
    Ok((status, (!closes).then_some(stream)))
}

/// Runs `connections` workers, each repeating `request` until `duration`
/// ends; a request counts as ok when it answers `expected` (2xx when
/// `None`) and its body arrives; any other answer is refused.
async fn load<F, Fut>(connections: usize, duration: Duration, expected: Option<u16>, request: F) -> Figures
where
    F: Fn(reqwest::Client, usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = reqwest::Result<reqwest::Response>> + Send,
{
    let started = Instant::now();
    let deadline = started + duration;
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..connections {
        let request = request.clone();
        workers.spawn(async move {
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .timeout(REQUEST_TIMEOUT)
                .build()
                .expect("a client");
            let mut figures = Figures::default();
            let mut n = 0;
            while Instant::now() < deadline {
                let t = Instant::now();
                let answer = match request(client.clone(), worker * 1_000_000 + n).await {
                    Ok(response)
                        if expected.map_or(response.status().is_success(), |s| response.status().as_u16() == s) =>
                    {
                        response.bytes().await.map(|_| true)
                    }
                    Ok(_) => Ok(false),
                    Err(e) => Err(e),
                };
                match answer {
                    Ok(true) => {
                        figures.ok += 1;
                        figures.latencies.push(t.elapsed());
                    }
                    Ok(false) => figures.refused += 1,
                    Err(e) if e.is_timeout() => figures.timed_out += 1,
                    Err(_) => {
                        figures.failed += 1;
                        // A refused connection must not become a busy loop.
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
                n += 1;
            }
            figures
        });
    }
    Figures::merged(workers.join_all().await, started)
}

/// Runs `connections` workers, each repeating `op` (which may send several
/// requests, and keeps its own state in `states[worker]`) until `duration`
/// ends; `op` says whether it succeeded.
async fn load_ops<S, F, Fut>(duration: Duration, states: Vec<S>, op: F) -> Figures
where
    S: Send + 'static,
    F: Fn(reqwest::Client, S) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = (S, reqwest::Result<bool>)> + Send,
{
    let started = Instant::now();
    let deadline = started + duration;
    let mut workers = tokio::task::JoinSet::new();
    for state in states {
        let op = op.clone();
        workers.spawn(async move {
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .timeout(REQUEST_TIMEOUT)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("a client");
            let (mut figures, mut state) = (Figures::default(), state);
            while Instant::now() < deadline {
                let t = Instant::now();
                let (next, outcome) = op(client.clone(), state).await;
                state = next;
                match outcome {
                    Ok(true) => {
                        figures.ok += 1;
                        figures.latencies.push(t.elapsed());
                    }
                    Ok(false) => figures.refused += 1,
                    Err(e) if e.is_timeout() => figures.timed_out += 1,
                    Err(_) => figures.failed += 1,
                }
            }
            figures
        });
    }
    Figures::merged(workers.join_all().await, started)
}

/// The OpenID Connect client `bench/run.sh` registered, and a signed-in
/// person's cookie.
#[derive(Clone)]
struct Oidc {
    base: String,
    client_id: String,
    secret: String,
    cookie: String,
}

const OIDC_REDIRECT: &str = "https://bench.example/cb";

impl Oidc {
    /// An authorization by the signed-in person, and its code exchanged:
    /// the token answer, when both worked.
    async fn sign_in(&self, client: &reqwest::Client, scope: &str) -> reqwest::Result<Option<serde_json::Value>> {
        let authorize = format!(
            "{}/oauth2/authorize?client_id={}&redirect_uri={}&response_type=code&scope={}",
            self.base,
            self.client_id,
            "https%3A%2F%2Fbench.example%2Fcb",
            scope.replace(' ', "+")
        );
        let answer = client.get(authorize).header("cookie", &self.cookie).send().await?;
        let Some(code) = answer
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .and_then(|l| l.split("code=").nth(1))
            .map(|c| c.split('&').next().unwrap_or(c).to_owned())
        else {
            return Ok(None);
        };
        let form = [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", OIDC_REDIRECT)];
        let tokens = client
            .post(format!("{}/oauth2/token", self.base))
            .basic_auth(&self.client_id, Some(&self.secret))
            .form(&form)
            .send()
            .await?;
        if !tokens.status().is_success() {
            return Ok(None);
        }
        Ok(Some(tokens.json().await?))
    }
}

/// Clients that send a sign-in and reset the connection `after` later,
/// again and again, until `stop`. Returns how many they sent.
fn disconnecting_clients(
    address: String,
    clients: usize,
    after: Duration,
    body: String,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinSet<usize> {
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let (address, body, stop) = (address.clone(), body.clone(), stop.clone());
        set.spawn(async move {
            let mut sent = 0;
            while !stop.load(Ordering::Relaxed) {
                let Ok(mut stream) = tokio::net::TcpStream::connect(&address).await else {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let request = format!(
                    "POST /api/v1/login HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
                     Content-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                if stream.write_all(request.as_bytes()).await.is_ok() {
                    sent += 1;
                }
                tokio::time::sleep(after).await;
                // A reset, not a polite close.
                let _ = stream.set_zero_linger();
                drop(stream);
            }
            sent
        });
    }
    set
}

/// Ours against the peer at 64 connections, in turns: five rounds of a
/// fifth of `duration` each, the peer's then ours. This machine's speed
/// drifts by tens of per cent within minutes, so two figures taken a minute
/// apart set the drift against the servers; each round's two are taken
/// under the same conditions, and the median round is the figure.
async fn side_by_side<P, Q>(peer: (&str, Option<u32>, P), ours: (&str, Option<u32>, Q), duration: Duration)
where
    P: Fn(usize) -> String + Clone + Send + 'static,
    Q: Fn(usize) -> String + Clone + Send + 'static,
{
    let ((peer, peer_pid, their_path), (base, pid, our_path)) = (peer, ours);
    const ROUNDS: u32 = 5;
    let slice = duration / ROUNDS;
    let (mut rates, mut cpus) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let usage = Usage::watch(peer_pid);
        let theirs = load_plain_gets(peer, 64, slice, their_path.clone()).await;
        let their_cpu = usage.seconds_per_answer(&theirs);
        let usage = Usage::watch(pid);
        let figures = load_plain_gets(base, 64, slice, our_path.clone()).await;
        rates.push(figures.per_second() / theirs.per_second().max(f64::MIN_POSITIVE));
        if let (Some(theirs), Some(ours)) = (their_cpu, usage.seconds_per_answer(&figures)) {
            cpus.push(theirs / ours.max(f64::MIN_POSITIVE));
        }
    }
    let median = |mut xs: Vec<f64>| -> (f64, String) {
        let listed = xs.iter().map(|x| format!("{x:.1}")).collect::<Vec<_>>().join(" ");
        xs.sort_by(f64::total_cmp);
        (xs.get(xs.len() / 2).copied().unwrap_or_default(), listed)
    };
    let (rate, rate_rounds) = median(rates);
    println!("    side by side with the peer, 64 conns, {ROUNDS} rounds in turn: {rate:.1}x its rate ({rate_rounds})");
    if !cpus.is_empty() {
        let (cpu, cpu_rounds) = median(cpus);
        println!("    and {cpu:.1}x less CPU an answer ({cpu_rounds})");
    }
}

/// Whether the section named `section` runs: all of them, or those named in
/// `BENCH_ONLY` (comma-separated: sign-in, pages, lookups, recovery).
fn runs(section: &str) -> bool {
    std::env::var("BENCH_ONLY").map_or(true, |only| only.split(',').any(|s| s.trim() == section))
}

fn env_u64(var: &str, default: u64) -> u64 {
    std::env::var(var).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let base = std::env::var("BENCH_URL").unwrap_or_else(|_| "http://127.0.0.1:3000".into());
    let account = std::env::var("BENCH_ACCOUNT").unwrap_or_else(|_| "benchuser".into());
    let victim = std::env::var("BENCH_OTHER_ACCOUNT").unwrap_or_else(|_| "benchother".into());
    let duration = Duration::from_secs(env_u64("BENCH_SECONDS", 10));
    let page_duration = Duration::from_secs(env_u64("BENCH_PAGE_SECONDS", 60));
    let pid = std::env::var("BENCH_SERVER_PID").ok().and_then(|p| p.parse().ok());
    let cores = std::thread::available_parallelism().map(usize::from).unwrap_or(1);
    let config = Config::from_env().unwrap_or_else(|e| panic!("the server's settings: {e}"));

    // The server must be up: figures of a server that is not are noise.
    let probe = reqwest::Client::new();
    match probe.get(format!("{base}/health/ready")).send().await {
        Ok(r) if r.status().is_success() => {}
        other => panic!("the server at {base} is not ready: {other:?}"),
    }

    if runs("sign-in") {
        // 1. argon2 verify at the server's cost, one at a time.
        let params = config.hash_params;
        let hasher = PasswordHasher::new(params, CpuLimiter::new(1, 0)).expect("argon2 parameters");
        let password = Password::parse(PASSWORD, PasswordPolicy::default(), None, None).expect("a valid password");
        let hash = hasher.hash(&password).await.expect("a hash");
        let rounds = 20;
        let started = Instant::now();
        for _ in 0..rounds {
            assert!(hasher.verify(PASSWORD, &hash).await.expect("verify"));
        }
        let verify = started.elapsed() / rounds;
        let bound = cores as f64 / verify.as_secs_f64();
        println!(
            "argon2id verify (m={} KiB, t={}, p={}): {:.1} ms; {cores} cores -> bound {bound:.1} sign-ins/s",
            params.memory_kib,
            params.iterations,
            params.lanes,
            verify.as_secs_f64() * 1000.0
        );

        let login = {
            let base = base.clone();
            move |account: String, password: &'static str| {
                let url = format!("{base}/api/v1/login");
                move |client: reqwest::Client, _| {
                    let body = serde_json::json!({ "account": account, "password": password });
                    client.post(url.clone()).json(&body).send()
                }
            }
        };

        // 2. Sign-in with the right password (each one hashes, stores a session).
        for connections in [16, 64] {
            let usage = Usage::watch(pid);
            let figures = load(connections, duration, None, login(account.clone(), PASSWORD)).await;
            println!(
                "{}  = {:.0}% of the bound",
                figures.line(&format!("POST /login, {connections} connections")),
                100.0 * figures.per_second() / bound
            );
            println!("{}", usage.line());
        }

        // 3. Wrong passwords, 8 at a time (the memory argon2 leaves behind).
        let usage = Usage::watch(pid);
        let figures = load(8, duration, Some(401), login(victim.clone(), "wrong-Password-1")).await;
        println!("{}", figures.line("POST /login wrong password (401), 8 conns"));
        println!("{}", usage.line());

        // 4. Sign-ins while 64 other clients send one and reset 40 ms later:
        // their hashes run to the end, inside the bound.
        let usage = Usage::watch(pid);
        let stop = Arc::new(AtomicBool::new(false));
        let address = base.trim_start_matches("http://").to_string();
        let body = serde_json::json!({ "account": victim, "password": "wrong-Password-2" }).to_string();
        let attackers = disconnecting_clients(address, 64, Duration::from_millis(40), body, stop.clone());
        let figures = load(8, duration, None, login(account.clone(), PASSWORD)).await;
        stop.store(true, Ordering::Relaxed);
        let sent: usize = attackers.join_all().await.into_iter().sum();
        println!("{}", figures.line("POST /login, 8 conns + 64 resetting"));
        println!("    ({sent} sign-ins sent and abandoned by the resetting clients)");
        println!("{}", usage.line());
    }

    if runs("pages") {
        // 5. Page renders, 64 connections: no render may stall.
        for page in ["/register", "/login"] {
            let usage = Usage::watch(pid);
            let url = format!("{base}{page}");
            let figures = load(64, page_duration, None, move |client, _| client.get(url.clone()).send()).await;
            println!("{}", figures.line(&format!("GET {page} (render), 64 conns")));
            println!("{}", usage.line());
        }
    }

    if runs("lookups") {
        // 6. The availability checks (plain GETs: `load_plain_gets`) and the
        // captcha. First the same check as the seeds' Django stack answers
        // it (bench/peer/, started by bench/run.sh when BENCH_PEER=1), in
        // the same run, to set ours against.
        let theirs = |n: usize| format!("/mobiles/13{:09}/count/", n % 1_000_000_000);
        let ours = |n: usize| format!("/api/v1/mobiles/13{:09}/count", n % 1_000_000_000);
        let peer = std::env::var("BENCH_PEER_URL").ok();
        let peer_pid = std::env::var("BENCH_PEER_PID").ok().and_then(|p| p.parse().ok());
        if let Some(peer) = &peer {
            let usage = Usage::watch(peer_pid);
            let figures = load_plain_gets(peer, 64, duration, theirs).await;
            println!("{}", figures.line("peer: GET /mobiles/{m}/count/, 64 conns"));
            println!("{}", usage.cpu_per_answer(&figures));
        }
        for connections in [16, 64] {
            let usage = Usage::watch(pid);
            let figures = load_plain_gets(&base, connections, duration, ours).await;
            println!("{}", figures.line(&format!("GET /mobiles/{{m}}/count, {connections} conns")));
            println!("{}", usage.cpu_per_answer(&figures));
            println!("{}", usage.line());
        }
        if let Some(peer) = &peer {
            side_by_side((peer, peer_pid, theirs), (&base, pid, ours), duration).await;
        }
        let usage = Usage::watch(pid);
        let figures = load_plain_gets(&base, 64, duration, |n| format!("/api/v1/usernames/user{n}/count")).await;
        println!("{}", figures.line("GET /usernames/{u}/count, 64 conns"));
        println!("{}", usage.cpu_per_answer(&figures));
        println!("{}", usage.line());
        let captcha_base = base.clone();
        let usage = Usage::watch(pid);
        // A flood of captchas: drawing has its own bound, memory must stay flat.
        let figures = load(64, duration, None, move |client, _| {
            client.get(format!("{captcha_base}/api/v1/image_codes/{}", uuid::Uuid::new_v4())).send()
        })
        .await;
        println!("{}", figures.line("GET /image_codes/{uuid}, 64 conns"));
        println!("{}", usage.cpu_per_answer(&figures));
        println!("{}", usage.line());
    }

    if runs("recovery") {
        // 7. A flood of recovery requests (wrong captchas), each from a client
        // address of its own (bench/run.sh trusts the forwarding header from this
        // host): every one is counted against its address, a key each in the
        // short-lived store, whose bound (`STORE_MAX_KEYS`) caps the memory.
        let forgot = format!("{base}/api/v1/password/forgot");
        let usage = Usage::watch(pid);
        let figures = load(64, duration, Some(422), move |client, n| {
            // n is worker × 10⁶ + count: 64 workers of under 2²⁰ requests each.
            let (worker, count) = (n / 1_000_000, n % 1_000_000);
            let address = std::net::Ipv4Addr::from((10u32 << 24) + ((worker << 20) | count) as u32).to_string();
            let body = serde_json::json!({ "email": "night@example.com", "image_code_id": "none", "text": "AAAA" });
            client.post(forgot.clone()).header("x-forwarded-for", address).json(&body).send()
        })
        .await;
        println!("{}", figures.line("POST /password/forgot (422), 64 conns"));
        println!("{}", usage.line());
    }

    let person = {
        let url = format!("{base}/api/v1/login");
        let account = account.clone();
        move |client: reqwest::Client, _| {
            client.post(url.clone()).json(&serde_json::json!({ "account": account, "password": PASSWORD })).send()
        }
    };

    if runs("proofs") {
        // 8. A flood of sends, each with a solved proof of work and a wrong
        // captcha answer, each from an address of its own, while a person
        // signs in. A used proof was a key the store had to keep, and such
        // a flood filled it; now each uses up only its own captcha.
        let base = base.clone();
        let usage = Usage::watch(pid);
        let flood = load(64, duration, Some(422), move |client, n| {
            let base = base.clone();
            async move {
                let (worker, count) = (n / 1_000_000, n % 1_000_000);
                let address = std::net::Ipv4Addr::from((11u32 << 24) + ((worker << 20) | count) as u32).to_string();
                let id = uuid::Uuid::new_v4();
                let from = |request: reqwest::RequestBuilder| request.header("x-forwarded-for", &address);
                from(client.get(format!("{base}/api/v1/image_codes/{id}"))).send().await?.bytes().await?;
                let pow = from(client.get(format!("{base}/api/v1/image_codes/{id}/pow?purpose=register")))
                    .send()
                    .await?
                    .json::<serde_json::Value>()
                    .await?;
                let challenge = pow["challenge"].as_str().unwrap_or_default().to_owned();
                let bits = pow["bits"].as_u64().unwrap_or(0) as u32;
                let nonce = app::rules::search_proof(&challenge, bits, 0, u64::MAX).unwrap_or(0);
                let body = serde_json::json!({ "mobile": format!("139{:08}", n % 100_000_000), "purpose": "register",
                    "image_code_id": id.to_string(), "text": "ACDE",
                    "pow_challenge": challenge, "pow_nonce": nonce.to_string() });
                from(client.post(format!("{base}/api/v1/sms_codes"))).json(&body).send().await
            }
        });
        let (flood, signing_in) = tokio::join!(flood, load(1, duration, None, person.clone()));
        println!("{}", flood.line("proof flood: captcha+pow+send, 64 conns"));
        println!("{}", signing_in.line("  meanwhile a person signs in, 1 conn"));
        println!("{}", usage.line());
    }

    if runs("readers") {
        // 9. A thousand clients (four loopback addresses) that pipeline
        // requests for `/register` and never read, while a person signs in:
        // each address has its cap, each connection its write deadline.
        let address: std::net::SocketAddr = base.trim_start_matches("http://").parse().expect("an address");
        let usage = Usage::watch(pid);
        let mut held = Vec::new();
        for source in ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"] {
            for _ in 0..250 {
                let Ok(socket) = tokio::net::TcpSocket::new_v4() else { continue };
                let _ = socket.set_recv_buffer_size(2048);
                if socket.bind(format!("{source}:0").parse().expect("a source")).is_err() {
                    continue;
                }
                let Ok(Ok(mut stream)) = tokio::time::timeout(Duration::from_secs(1), socket.connect(address)).await
                else {
                    continue;
                };
                let requests = "GET /register HTTP/1.1\r\nHost: bench\r\n\r\n".repeat(16);
                if stream.write_all(requests.as_bytes()).await.is_ok() {
                    held.push(stream);
                }
            }
        }
        let figures = load(1, duration, None, person.clone()).await;
        println!("never-reading clients: {} connected and sent", held.len());
        println!("{}", figures.line("  meanwhile a person signs in, 1 conn"));
        drop(held);
        tokio::time::sleep(Duration::from_secs(1)).await;
        println!("{}", usage.line());
    }

    if runs("oidc") {
        oidc_section(&base, &account, duration, pid).await;
    }
}

/// OpenID Connect (section 10): code exchanges, refreshes and JWK Set
/// fetches at 64 connections, and what one signature costs.
async fn oidc_section(base: &str, account: &str, duration: Duration, pid: Option<u32>) {
    use app::core::oidc::jws::{self, Alg, PrivateKey};
    for alg in Alg::ALL {
        let key = PrivateKey::from_pkcs8(alg, &jws::generate_pkcs8(alg).expect("a key")).expect("the key");
        let claims = serde_json::json!({ "iss": "https://auth.example.com", "sub": "0123456789abcdef", "exp": 4_000_000_000u64 });
        let rounds = if alg == Alg::Rs256 { 500 } else { 5_000 };
        let started = Instant::now();
        for _ in 0..rounds {
            std::hint::black_box(jws::sign(&key, "kid", Some("at+jwt"), &claims).expect("a signature"));
        }
        let each = started.elapsed() / rounds;
        println!("signing one token, {}: {:.3} ms of one core", alg.as_str(), each.as_secs_f64() * 1000.0);
    }
    let (Ok(client_id), Ok(secret)) = (std::env::var("BENCH_CLIENT_ID"), std::env::var("BENCH_CLIENT_SECRET")) else {
        println!("oidc: BENCH_CLIENT_ID and BENCH_CLIENT_SECRET unset (bench/run.sh registers a client); skipped");
        return;
    };
    let login = reqwest::Client::new()
        .post(format!("{base}/api/v1/login"))
        .json(&serde_json::json!({ "account": account, "password": PASSWORD }))
        .send()
        .await
        .expect("a sign-in");
    let cookie = login
        .headers()
        .get("set-cookie")
        .and_then(|c| c.to_str().ok())
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_owned();
    let oidc = Oidc { base: base.to_owned(), client_id, secret, cookie };

    let usage = Usage::watch(pid);
    let exchange = {
        let oidc = oidc.clone();
        move |client: reqwest::Client, (): ()| {
            let oidc = oidc.clone();
            async move {
                let outcome = oidc.sign_in(&client, "openid").await.map(|t| t.is_some());
                ((), outcome)
            }
        }
    };
    let figures = load_ops(duration, vec![(); 64], exchange).await;
    println!("{}", figures.line("OIDC code exchanges (authorize + token), 64 conns"));
    println!("{}", usage.line());

    // One refresh chain per connection: each refresh uses up its token.
    let setup = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("a client");
    let mut chains = Vec::new();
    for _ in 0..64 {
        let tokens = oidc.sign_in(&setup, "openid offline_access").await.expect("a sign-in").expect("tokens");
        chains.push(tokens["refresh_token"].as_str().expect("a refresh token").to_owned());
    }
    let usage = Usage::watch(pid);
    let refresh = {
        let oidc = oidc.clone();
        move |client: reqwest::Client, token: String| {
            let oidc = oidc.clone();
            async move {
                let form = [("grant_type", "refresh_token"), ("refresh_token", token.as_str())];
                let answer = client
                    .post(format!("{}/oauth2/token", oidc.base))
                    .basic_auth(&oidc.client_id, Some(&oidc.secret))
                    .form(&form)
                    .send()
                    .await;
                let answer = match answer {
                    Ok(answer) if answer.status().is_success() => answer.json::<serde_json::Value>().await,
                    Ok(_) => return (token, Ok(false)),
                    Err(e) => return (token, Err(e)),
                };
                match answer {
                    Ok(tokens) => match tokens["refresh_token"].as_str() {
                        Some(next) => (next.to_owned(), Ok(true)),
                        None => (token, Ok(false)),
                    },
                    Err(e) => (token, Err(e)),
                }
            }
        }
    };
    let figures = load_ops(duration, chains, refresh).await;
    println!("{}", figures.line("OIDC refreshes (rotating), 64 conns"));
    println!("{}", usage.line());

    let usage = Usage::watch(pid);
    let url = format!("{base}/oauth2/jwks");
    let figures = load(64, duration, None, move |client: reqwest::Client, _| client.get(url.clone()).send()).await;
    println!("{}", figures.line("GET /oauth2/jwks, 64 conns"));
    println!("{}", usage.line());
}
