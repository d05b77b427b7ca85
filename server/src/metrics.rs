//! `GET /metrics` in the Prometheus text format (metrics-exporter-prometheus)
//! and the HTTP counters: requests by route template (never the raw path,
//! whose values are unbounded) and status, with latency histograms. The core
//! counts deliveries through the same `metrics` facade.
//!
//! Served on `METRICS_ADDR` when set; otherwise on the main listener, to
//! loopback clients that did not come through a proxy.

use app::core::{Core, metrics::DELIVERY_QUEUE_DEPTH};
use axum::{
    Router,
    extract::{ConnectInfo, MatchedPath, Request, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::{net::SocketAddr, sync::OnceLock, time::Instant};

pub const HTTP_REQUESTS: &str = "http_requests_total";
pub const HTTP_DURATION: &str = "http_request_duration_seconds";
/// Connections closed at once because their address had too many open.
pub const CONNECTIONS_REFUSED: &str = "http_connections_refused_total";

/// Buckets (seconds) for request and delivery latencies: a captcha takes
/// milliseconds, a sign-in a hash (~0.1 s), a delivery up to the provider's
/// timeouts, or minutes through retries.
const BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0];

/// How often recorded histogram samples are folded into their buckets.
const UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// The process-wide recorder, installed on first use (one per process: the
/// tests run several servers in one), with a thread of its own that folds
/// histogram samples into their buckets every few seconds. Without it the
/// recorder keeps every sample until `/metrics` is scraped, and a site that
/// nobody scrapes grew by ~16 bytes a request, for ever (bench: 20 → 70 MB
/// after 2.6 million health checks).
pub fn handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)
                .unwrap_or_else(|_| PrometheusBuilder::new());
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            // Another recorder (a test harness's) may be there already: then
            // ours still renders what is recorded through it.
            let _ = metrics::set_global_recorder(recorder);
            let upkeep = handle.clone();
            let spawned = std::thread::Builder::new().name("metrics-upkeep".into()).spawn(move || {
                loop {
                    std::thread::sleep(UPKEEP_EVERY);
                    upkeep.run_upkeep();
                }
            });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "metrics: no upkeep thread; histograms grow until scraped");
            }
            handle
        })
        .clone()
}

/// Counts every request by method, route template and status.
pub async fn track<F>(request: Request, next: impl FnOnce(Request) -> F) -> Response
where
    F: std::future::Future<Output = Response>,
{
    let started = Instant::now();
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str()).to_owned();
    let method = crate::security::known_method(request.method()).unwrap_or("other");
    let response = next(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!(HTTP_REQUESTS, "method" => method, "route" => route.clone(), "status" => status).increment(1);
    metrics::histogram!(HTTP_DURATION, "method" => method, "route" => route).record(started.elapsed().as_secs_f64());
    response
}

/// `/metrics` for a listener of its own (`METRICS_ADDR`).
pub fn router(core: Core) -> Router {
    Router::new().route("/metrics", get(render)).with_state(core)
}

/// `/metrics` on the main listener: loopback only, and not through a proxy
/// (a reverse proxy on this host connects from loopback too).
pub fn loopback_router(core: Core) -> Router {
    Router::new().route("/metrics", get(loopback_only)).with_state(core)
}

async fn loopback_only(
    State(core): State<Core>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    if !crate::security::direct_from_this_host(Some(peer.ip()), &headers) {
        return StatusCode::NOT_FOUND.into_response();
    }
    render(State(core)).await
}

async fn render(State(core): State<Core>) -> Response {
    // Read at scrape time from the records, so every server reports the
    // same depth, whoever queued the messages.
    match core.db.count_waiting_deliveries().await {
        Ok(n) => metrics::gauge!(DELIVERY_QUEUE_DEPTH).set(n as f64),
        Err(e) => tracing::warn!(error = %e, "metrics: could not count waiting deliveries"),
    }
    let handle = handle();
    handle.run_upkeep();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], handle.render()).into_response()
}
