//! What the core counts, each name in one place. It speaks the `metrics`
//! facade only: the server installs the Prometheus recorder (`/metrics`);
//! without one (the CLI, unit tests) these calls cost next to nothing.

use std::time::Duration;

/// Messages handed to the queue.
pub const DELIVERY_ENQUEUED: &str = "delivery_jobs_enqueued_total";
/// Messages the provider or relay accepted.
pub const DELIVERY_DELIVERED: &str = "delivery_jobs_delivered_total";
/// Attempts that failed for now and were queued again.
pub const DELIVERY_RETRIED: &str = "delivery_jobs_retried_total";
/// Messages kept as failed for good.
pub const DELIVERY_FAILED: &str = "delivery_jobs_failed_total";
/// Messages dropped because their code or link had expired.
pub const DELIVERY_EXPIRED: &str = "delivery_jobs_expired_total";
/// From queued to accepted by the provider, retries included.
pub const DELIVERY_LATENCY: &str = "delivery_latency_seconds";
/// Messages not yet sent nor given up (queued, sending, retrying).
pub const DELIVERY_QUEUE_DEPTH: &str = "delivery_queue_depth";

/// Soft keys (per-address counters, captcha answers) the full in-process
/// store forgot to make room: a flood from many addresses, or a bound too low.
pub const STORE_SOFT_KEYS_FORGOTTEN: &str = "store_soft_keys_forgotten_total";

/// What became of one delivery job, for the counters.
#[derive(Clone, Copy, Debug)]
pub enum DeliveryEvent {
    Enqueued,
    Delivered { latency: Duration },
    Retried,
    Failed,
    Expired,
}

pub fn delivery(event: DeliveryEvent, kind: &'static str, provider: &'static str) {
    let labels = [("kind", kind), ("provider", provider)];
    let name = match event {
        DeliveryEvent::Enqueued => DELIVERY_ENQUEUED,
        DeliveryEvent::Delivered { latency } => {
            metrics::histogram!(DELIVERY_LATENCY, &labels).record(latency.as_secs_f64());
            DELIVERY_DELIVERED
        }
        DeliveryEvent::Retried => DELIVERY_RETRIED,
        DeliveryEvent::Failed => DELIVERY_FAILED,
        DeliveryEvent::Expired => DELIVERY_EXPIRED,
    };
    metrics::counter!(name, &labels).increment(1);
}
