//! The delivery queue's pace: enqueue-to-provider latency (p50/p99) and jobs
//! per second, with a fake SMS gateway on a local port that answers at once.
//! The core is built in-process on its own SQLite file (or PostgreSQL with
//! BENCH_POSTGRES_URL, or the Redis queue with BENCH_REDIS_URL), exactly as
//! the server builds it; one worker runs with the default settings.
//!
//! Two figures: a steady trickle (latency without a backlog: polling and one
//! round trip) and a burst of queued messages (how fast a backlog drains).

use app::core::delivery::{JobMessage, enqueue};
use axum::{Router, body::Bytes, extract::State, routing::post};
use server::{config::Config, startup};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// When the gateway received each delivery id.
type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;

async fn gateway(State(arrivals): State<Arrivals>, body: Bytes) -> &'static str {
    let at = Instant::now();
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    if let Some(id) = body["id"].as_str() {
        arrivals.lock().unwrap_or_else(|e| e.into_inner()).insert(id.to_owned(), at);
    }
    r#"{"message_id":"bench"}"#
}

fn env_u64(var: &str, default: u64) -> u64 {
    std::env::var(var).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn message(n: u64) -> JobMessage {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    JobMessage::SmsCode {
        mobile: format!("139{:08}", n % 100_000_000),
        purpose: "register".into(),
        code: "123456".into(),
        minutes: 5,
        expires_at_ms: now.as_millis() as i64 + 300_000,
        lang: String::new(),
    }
}

/// Waits until every queued id has arrived (or 120 s), then reports.
async fn report(name: &str, queued: &[(String, Instant)], arrivals: &Arrivals, started: Instant) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let arrived = {
            let arrivals = arrivals.lock().unwrap_or_else(|e| e.into_inner());
            queued.iter().filter(|(id, _)| arrivals.contains_key(id)).count()
        };
        if arrived >= queued.len() || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let arrivals = arrivals.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let mut latencies: Vec<Duration> =
        queued.iter().filter_map(|(id, at)| arrivals.get(id).map(|got| got.duration_since(*at))).collect();
    latencies.sort();
    let last = queued.iter().filter_map(|(id, _)| arrivals.get(id)).max().copied().unwrap_or(started);
    let pct =
        |p: f64| latencies.get(((latencies.len().max(1) - 1) as f64 * p).round() as usize).copied().unwrap_or_default();
    println!(
        "{name:<36} {:>4} of {:>4} delivered  {:>7.1} jobs/s  p50 {:>7.1} ms  p99 {:>7.1} ms",
        latencies.len(),
        queued.len(),
        latencies.len() as f64 / last.duration_since(started).as_secs_f64().max(1e-9),
        pct(0.50).as_secs_f64() * 1000.0,
        pct(0.99).as_secs_f64() * 1000.0,
    );
}

#[tokio::main]
async fn main() {
    let arrivals: Arrivals = Arc::default();
    let router = Router::new().route("/send", post(gateway)).with_state(arrivals.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a local port");
    let gateway_url = format!("http://{}/send", listener.local_addr().expect("an address"));
    tokio::spawn(async move { axum::serve(listener, router).await });

    let dir = std::env::temp_dir().join(format!("mobile-auth-bench-delivery-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let mut env: HashMap<&str, String> = HashMap::from([
        ("DATABASE_URL", format!("sqlite://{}/app.db", dir.display())),
        ("DATA_DIR", dir.display().to_string()),
        ("JWT_SECRET", "bench-secret-bench-secret-bench-secret".into()),
        ("SMS_PROVIDER", "http".into()),
        ("SMS_HTTP_URL", gateway_url),
        ("SMS_HTTP_SECRET", "bench-gateway-secret-0123456789abcdef".into()),
        ("STORE_PREFIX", format!("bench{}:", std::process::id())),
    ]);
    if let Ok(url) = std::env::var("BENCH_POSTGRES_URL") {
        env.insert("DATABASE_URL", url);
    }
    if let Ok(url) = std::env::var("BENCH_REDIS_URL") {
        env.insert("REDIS_URL", url);
    }
    let config = Config::from_lookup(|k| env.get(k).cloned()).expect("bench configuration");
    let core = startup::build_core(&config).await.expect("a core");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(startup::run_worker(core.clone(), async move {
        let _ = stopped.await;
    }));
    let settings = &core.settings.delivery;
    println!(
        "delivery: queue {}, worker concurrency {}, poll every {} ms; fake gateway answers at once",
        core.queue.backend_name(),
        settings.concurrency,
        settings.poll_interval.as_millis()
    );

    // A steady trickle: 20 messages a second.
    let trickle = env_u64("BENCH_TRICKLE", 200);
    let started = Instant::now();
    let mut queued = Vec::new();
    for n in 0..trickle {
        let at = Instant::now();
        let id = enqueue(&core, message(n), None).await.expect("enqueued");
        queued.push((id, at));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    report("trickle, 20 messages/s", &queued, &arrivals, started).await;

    // A burst: every message queued as fast as one caller can.
    let burst = env_u64("BENCH_BURST", 2000);
    let started = Instant::now();
    let mut queued = Vec::new();
    for n in 0..burst {
        let at = Instant::now();
        let id = enqueue(&core, message(1_000_000 + n), None).await.expect("enqueued");
        queued.push((id, at));
    }
    let enqueue_rate = burst as f64 / started.elapsed().as_secs_f64();
    report(&format!("burst of {burst} ({enqueue_rate:.0} enqueued/s)"), &queued, &arrivals, started).await;

    let _ = stop.send(());
    let _ = worker.await;
    let _ = std::fs::remove_dir_all(&dir);
}
