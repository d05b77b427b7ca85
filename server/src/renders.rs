//! Page renders, shared fairly between clients. A page's HTML is built whole
//! before its answer starts (`SsrMode::Async`), and that is most of the CPU
//! a GET costs. One client network (an IPv4 address, an IPv6 /64, as the
//! sign-in limits see it) renders at most [`RENDERS_PER_ADDRESS`] pages at
//! once; its other page requests wait their turn, within the request's
//! timeout. Measured before this (bench `readers`): 1,000 connections from
//! four addresses, each pipelining 16 page requests, had 1,000 renders share
//! two cores with everyone else (a person's sign-in took ~3 s meanwhile,
//! and glibc kept the ~230 MB those renders held at once).
//!
//! Only the render is waited for, never the sending: a client that reads
//! slowly holds its connection (bounded in `serve`), not a render slot.

use app::core::Core;
use axum::{extract::Request, response::Response};
use ipnet::IpNet;
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Pages one client network renders at once: a browser asks for one page
/// at a time, a few tabs or a household behind one address a few more.
pub const RENDERS_PER_ADDRESS: usize = 4;

/// The render slots of each client network that has a render running or
/// waiting; a network with none has no entry, so this holds no more than
/// the requests in flight.
#[derive(Clone, Default)]
pub struct RenderSlots(Arc<Mutex<HashMap<IpNet, Arc<Semaphore>>>>);

/// A render slot, given back (and its network forgotten when idle) on drop.
pub struct RenderSlot {
    slots: RenderSlots,
    net: IpNet,
    semaphore: Arc<Semaphore>,
    permit: Option<OwnedSemaphorePermit>,
}

impl RenderSlots {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpNet, Arc<Semaphore>>> {
        // Each step leaves the map whole: a poisoned lock is still usable.
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits for one of `net`'s slots.
    pub async fn enter(&self, net: IpNet) -> RenderSlot {
        let semaphore = self.lock().entry(net).or_insert_with(|| Arc::new(Semaphore::new(RENDERS_PER_ADDRESS))).clone();
        // Never closed: acquiring fails only on a closed semaphore.
        let permit = semaphore.clone().acquire_owned().await.ok();
        RenderSlot { slots: self.clone(), net, semaphore, permit }
    }

    /// Networks with a render running or waiting.
    pub fn networks(&self) -> usize {
        self.lock().len()
    }
}

impl Drop for RenderSlot {
    fn drop(&mut self) {
        drop(self.permit.take());
        let mut map = self.slots.lock();
        // The map's and ours are the only handles: no one else runs or waits.
        if Arc::strong_count(&self.semaphore) == 2 {
            map.remove(&self.net);
        }
    }
}

/// Whether `request` renders a page: a GET or HEAD outside the API, the
/// health checks, the OpenID Connect endpoints and the static assets.
fn renders_a_page(request: &Request) -> bool {
    let path = request.uri().path();
    matches!(*request.method(), http::Method::GET | http::Method::HEAD)
        && !["/api/", "/health", "/pkg/", "/metrics", "/oauth2/", "/.well-known/"]
            .iter()
            .any(|prefix| path.starts_with(prefix))
}

/// The middleware: a page render waits for one of its client's slots.
pub async fn one_at_a_time_per_client<F>(
    core: &Core,
    slots: &RenderSlots,
    request: Request,
    next: impl FnOnce(Request) -> F,
) -> Response
where
    F: std::future::Future<Output = Response>,
{
    if !renders_a_page(&request) {
        return next(request).await;
    }
    let (parts, body) = request.into_parts();
    let net = core.client_of(&parts).network();
    let slot = slots.enter(net).await;
    let response = next(Request::from_parts(parts, body)).await;
    drop(slot);
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn net(s: &str) -> IpNet {
        app::core::client::network_of(s.parse().unwrap())
    }

    #[tokio::test]
    async fn a_network_renders_its_share_and_others_go_ahead() {
        let slots = RenderSlots::default();
        let mut held = Vec::new();
        for _ in 0..RENDERS_PER_ADDRESS {
            held.push(slots.enter(net("203.0.113.7")).await);
        }
        let waiting = tokio::spawn({
            let slots = slots.clone();
            async move { slots.enter(net("203.0.113.7")).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished(), "past its share, a network waits");
        let other = tokio::time::timeout(Duration::from_secs(1), slots.enter(net("198.51.100.1"))).await;
        assert!(other.is_ok(), "another network does not wait behind it");
        // Another host of the same IPv6 /64 shares the /64's slots.
        drop(other);
        assert_eq!(slots.networks(), 1, "a network with nothing running is forgotten");
        held.pop();
        let next = tokio::time::timeout(Duration::from_secs(1), waiting).await.unwrap().unwrap();
        drop(next);
        held.clear();
        assert_eq!(slots.networks(), 0, "no entry outlives its renders");
    }

    #[tokio::test]
    async fn hosts_of_one_ipv6_64_share_its_slots() {
        let slots = RenderSlots::default();
        let mut held = Vec::new();
        for i in 0..RENDERS_PER_ADDRESS {
            held.push(slots.enter(net(&format!("2001:db8:1:2::{i}"))).await);
        }
        let same = tokio::time::timeout(Duration::from_millis(50), slots.enter(net("2001:db8:1:2::ff"))).await;
        assert!(same.is_err(), "the /64 is one network");
        let next = tokio::time::timeout(Duration::from_secs(1), slots.enter(net("2001:db8:1:3::1"))).await;
        assert!(next.is_ok());
    }

    #[test]
    fn only_page_requests_take_a_slot() {
        let request = |method: &str, path: &str| {
            Request::builder().method(method).uri(path).body(axum::body::Body::empty()).unwrap()
        };
        assert!(renders_a_page(&request("GET", "/register")));
        assert!(renders_a_page(&request("HEAD", "/")));
        assert!(renders_a_page(&request("GET", "/no-such-page")));
        for (method, path) in [
            ("POST", "/register"),
            ("GET", "/api/v1/me"),
            ("GET", "/health/live"),
            ("GET", "/pkg/x.wasm"),
            ("GET", "/oauth2/jwks"),
        ] {
            assert!(!renders_a_page(&request(method, path)), "{method} {path}");
        }
    }
}
