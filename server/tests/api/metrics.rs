//! `GET /metrics`: Prometheus text with the HTTP counters by route template
//! and the delivery counters; on the main listener only for loopback clients
//! not behind a proxy, or on a listener of its own.

use crate::helpers::*;

async fn scrape(app: &TestApp) -> String {
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    response.text().await.unwrap()
}

/// The value of the sample line that starts with `series` (its labels in
/// the exporter's order), or 0.
fn sample(text: &str, series: &str) -> f64 {
    text.lines().find(|l| l.starts_with(series)).and_then(|l| l.rsplit(' ').next()).map_or(0.0, |v| v.parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_counted_by_route_template_and_deliveries_by_kind() {
    let app = spawn_app().await;
    let before = scrape(&app).await;
    let _ = app.register_code("13600136000").await;
    let delivered = r#"delivery_jobs_delivered_total{kind="sms_code",provider="outbox"}"#;
    // The worker counts a delivery once the send is recorded, a moment
    // after the outbox (where the code was read) has the message.
    let after = poll(5, || scrape(&app), |now| sample(now, delivered) > sample(&before, delivered)).await;

    let captcha = r#"http_requests_total{method="GET",route="/api/v1/image_codes/{id}",status="200"}"#;
    assert!(after.contains(captcha), "the route template, not the path:\n{after}");
    let captcha_lines = after.lines().filter(|l| l.contains("route=\"/api/v1/image_codes/"));
    assert!(
        captcha_lines.clone().all(|l| l.contains("/image_codes/{id}\"")),
        "a raw path as a label: {:?}",
        captcha_lines.collect::<Vec<_>>()
    );
    assert!(after.contains("http_request_duration_seconds_bucket{"), "latency histograms");
    let enqueued = r#"delivery_jobs_enqueued_total{kind="sms_code",provider="outbox"}"#;
    // Counters are process-wide (other tests' servers share this process).
    assert!(sample(&after, enqueued) >= sample(&before, enqueued) + 1.0, "{after}");
    assert!(sample(&after, delivered) >= sample(&before, delivered) + 1.0, "{after}");
    assert!(after.contains("delivery_latency_seconds_bucket{kind=\"sms_code\",provider=\"outbox\""), "{after}");
    assert!(after.lines().any(|l| l.starts_with("delivery_queue_depth ")), "{after}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_a_proxy_the_main_listener_hides_metrics() {
    let app = spawn_app().await;
    for header in ["x-forwarded-for", "forwarded", "x-real-ip"] {
        let response = app.client.get(app.url("/metrics")).header(header, "203.0.113.9").send().await.unwrap();
        assert_eq!(response.status(), 404, "{header}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_metrics_addr_metrics_have_a_listener_of_their_own() {
    let env = vec![("METRICS_ADDR", "127.0.0.1:0".to_string())];
    let app = spawn(Spawn { env, ..Spawn::default() }).await.unwrap();
    assert_eq!(app.get("/metrics").await.status(), 404, "not on the site's listener");
    let own = app.metrics_address.clone().unwrap();
    let response = reqwest::get(format!("{own}/metrics")).await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("delivery_queue_depth"));
}

/// Histogram samples are folded into their buckets on a timer, not only when
/// `/metrics` is scraped: a site that nobody scrapes kept every sample
/// (bench: RSS 20 → 70 MB after 2.6 million health checks; flat with it).
#[tokio::test]
async fn histograms_are_folded_without_a_scrape() {
    let _app = spawn_app().await;
    let threads: Vec<String> = std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .collect();
    assert!(threads.iter().any(|name| name.trim() == "metrics-upkeep"), "{threads:?}");
}
