//! Measures, against a running release server: the argon2 verify time at the
//! configured cost, sign-in throughput and p99 at 16 and 64 connections
//! against the bound `cores / verify time`, and the mobile-count and captcha
//! endpoints. Run through `bench/run.sh`, which starts the server.

use app::{
    core::{
        cpu::CpuLimiter,
        password_hashing::{HashParams, PasswordHasher},
    },
    rules::{Password, PasswordPolicy},
};
use std::time::{Duration, Instant};

const PASSWORD: &str = "tangerine-Kite-42";

struct Figures {
    ok: usize,
    refused: usize,
    latencies: Vec<Duration>,
    elapsed: Duration,
}

impl Figures {
    fn percentile(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let at = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[at]
    }

    fn per_second(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }

    fn line(&self, name: &str) -> String {
        format!(
            "{name:<34} {:>8.1}/s ok  p50 {:>7.1} ms  p99 {:>7.1} ms  ({} ok, {} refused)",
            self.per_second(),
            self.percentile(0.50).as_secs_f64() * 1000.0,
            self.percentile(0.99).as_secs_f64() * 1000.0,
            self.ok,
            self.refused
        )
    }
}

/// Runs `connections` workers, each repeating `request` until `duration` ends.
async fn load<F, Fut>(connections: usize, duration: Duration, request: F) -> Figures
where
    F: Fn(reqwest::Client, usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let started = Instant::now();
    let deadline = started + duration;
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..connections {
        let request = request.clone();
        workers.spawn(async move {
            let client = reqwest::Client::builder().pool_max_idle_per_host(1).build().expect("a client");
            let (mut ok, mut refused, mut latencies) = (0, 0, Vec::new());
            let mut n = 0;
            while Instant::now() < deadline {
                let t = Instant::now();
                if request(client.clone(), worker * 1_000_000 + n).await {
                    ok += 1;
                    latencies.push(t.elapsed());
                } else {
                    refused += 1;
                }
                n += 1;
            }
            (ok, refused, latencies)
        });
    }
    let mut figures = Figures { ok: 0, refused: 0, latencies: Vec::new(), elapsed: Duration::ZERO };
    for (ok, refused, latencies) in workers.join_all().await {
        figures.ok += ok;
        figures.refused += refused;
        figures.latencies.extend(latencies);
    }
    figures.elapsed = started.elapsed();
    figures.latencies.sort();
    figures
}

fn env_u32(var: &str, default: u32) -> u32 {
    std::env::var(var).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let base = std::env::var("BENCH_URL").unwrap_or_else(|_| "http://127.0.0.1:3000".into());
    let account = std::env::var("BENCH_ACCOUNT").unwrap_or_else(|_| "benchuser".into());
    let seconds = env_u32("BENCH_SECONDS", 10);
    let duration = Duration::from_secs(u64::from(seconds));
    let cores = std::thread::available_parallelism().map(usize::from).unwrap_or(1);

    // 1. argon2 verify at the configured cost, one at a time.
    let defaults = HashParams::default();
    let params = HashParams {
        memory_kib: env_u32("ARGON2_MEMORY_KIB", defaults.memory_kib),
        iterations: env_u32("ARGON2_ITERATIONS", defaults.iterations),
        lanes: env_u32("ARGON2_LANES", defaults.lanes),
    };
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

    // 2. Sign-in with the right password (each one hashes, stores a session).
    for connections in [16, 64] {
        let (base, account) = (base.clone(), account.clone());
        let figures = load(connections, duration, move |client, _| {
            let (url, account) = (format!("{base}/api/v1/login"), account.clone());
            async move {
                let body = serde_json::json!({ "account": account, "password": PASSWORD });
                client.post(url).json(&body).send().await.is_ok_and(|r| r.status().is_success())
            }
        })
        .await;
        println!(
            "{}  = {:.0}% of the bound",
            figures.line(&format!("POST /login, {connections} connections")),
            100.0 * figures.per_second() / bound
        );
    }

    // 3. The availability check and the captcha.
    let count_base = base.clone();
    let figures = load(16, duration, move |client, n| {
        let url = format!("{count_base}/api/v1/mobiles/13{:09}/count", n % 1_000_000_000);
        async move { client.get(url).send().await.is_ok_and(|r| r.status().is_success()) }
    })
    .await;
    println!("{}", figures.line("GET /mobiles/{m}/count, 16 conns"));
    let captcha_base = base.clone();
    let figures = load(16, duration, move |client, _| {
        let url = format!("{captcha_base}/api/v1/image_codes/{}", uuid::Uuid::new_v4());
        async move {
            match client.get(url).send().await {
                Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
                _ => false,
            }
        }
    })
    .await;
    println!("{}", figures.line("GET /image_codes/{uuid}, 16 conns"));
}
