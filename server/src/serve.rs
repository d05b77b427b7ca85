//! The HTTP/1.1 accept loop: what `axum::serve` does, plus the bounds it
//! cannot set, so that no client holds what others need.
//!
//! - Time to send: a client has `client_timeout` to send a request's headers,
//!   and the same to wait between requests on a kept-alive connection; the
//!   request as a whole has the same (`TimeoutLayer` in `startup::router`:
//!   408), so a body that never arrives cannot hold a connection either.
//! - Time to read: a response that makes no progress for `client_timeout`
//!   (a client that pipelines requests and never reads the answers) ends its
//!   connection ([`WriteDeadline`]).
//! - Connections: at most `max_connections` at once (below the process's
//!   descriptor limit; past it, new ones wait in the kernel's backlog), and
//!   at most `max_per_address` from one client network (an IPv4 address or
//!   an IPv6 /64; our own proxies are not counted there), past which a new
//!   connection is answered 503 and closed at once.
//! - Shutdown: no new connections, running requests finish, idle
//!   connections close; whatever is still open after `shutdown_grace` is
//!   dropped, so that a client cannot hold a stopping server.

use app::core::client::TrustedProxies;
use axum::{Router, extract::ConnectInfo};
use hyper::{body::Incoming, server::conn::http1};
use hyper_util::rt::{TokioIo, TokioTimer};
use ipnet::IpNet;
use std::{
    collections::HashMap,
    future::Future,
    io,
    net::IpAddr,
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll},
    time::Duration,
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::TcpListener,
    sync::Semaphore,
    time::{Instant, Sleep},
};
use tower::ServiceExt;

/// What one listener allows its clients.
#[derive(Clone, Debug)]
pub struct ServeLimits {
    /// To send a request's headers, to leave a connection idle, and for a
    /// response to make progress (`CLIENT_TIMEOUT_SECONDS`).
    pub client_timeout: Duration,
    /// Connections open at once (`MAX_CONNECTIONS`).
    pub max_connections: usize,
    /// Connections open at once from one client network
    /// (`MAX_CONNECTIONS_PER_ADDRESS`).
    pub max_per_address: usize,
    /// Peers that are our own proxies: not counted per address.
    pub trusted_proxies: TrustedProxies,
    /// How long a stopping server waits for open connections.
    pub shutdown_grace: Duration,
}

/// The answer to a connection past its address's cap: written if the
/// socket takes it at once, never waited for.
const TOO_MANY_CONNECTIONS: &[u8] =
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\nRetry-After: 5\r\n\r\n";

/// Serves `router` on `listener` until `shutdown` resolves, then waits (at
/// most `limits.shutdown_grace`) for the connections' running requests.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ServeLimits,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let (force_close, forced) = tokio::sync::watch::channel(false);
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let per_address = PerAddress::default();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // A slot first: at the cap, connections wait in the kernel's
        // backlog, where they cost this process no descriptor.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, most likely: wait for some
                    // connections to close rather than spin.
                    tracing::warn!(error = %e, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let ip = peer.ip().to_canonical();
        let counted = if limits.trusted_proxies.trusts(ip) {
            None
        } else {
            match per_address.enter(ip, limits.max_per_address) {
                Some(counted) => Some(counted),
                None => {
                    metrics::counter!(crate::metrics::CONNECTIONS_REFUSED).increment(1);
                    let _ = stream.try_write(TOO_MANY_CONNECTIONS);
                    continue;
                }
            }
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: http::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(request)
        });
        let io = TokioIo::new(WriteDeadline::new(stream, limits.client_timeout));
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.client_timeout)
            .serve_connection(io, service);
        let connection = graceful.watch(connection);
        let mut forced = forced.clone();
        tokio::spawn(async move {
            tokio::select! {
                ended = connection => if let Err(e) = ended {
                    tracing::debug!(error = %e, "connection ended");
                },
                _ = forced.wait_for(|forced| *forced) => {}
            }
            drop(counted);
            drop(slot);
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown()).await.is_err() {
        let open = limits.max_connections.max(1) - slots.available_permits();
        tracing::warn!(open, "connections still open after the shutdown grace; closing them");
        let _ = force_close.send(true);
    }
    Ok(())
}

/// Open connections by client network; a network with none has no entry,
/// so this holds no more than the open connections.
#[derive(Clone, Default)]
struct PerAddress(Arc<Mutex<HashMap<IpNet, usize>>>);

/// One counted connection; uncounted when dropped.
struct Counted {
    map: PerAddress,
    net: IpNet,
}

impl PerAddress {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpNet, usize>> {
        // Each step is a plain count: a poisoned lock is still consistent.
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Counts a connection from `ip`, unless its network has `cap` already.
    fn enter(&self, ip: IpAddr, cap: usize) -> Option<Counted> {
        let net = app::core::client::network_of(ip);
        let mut map = self.lock();
        let open = map.entry(net).or_insert(0);
        if *open >= cap {
            return None;
        }
        *open += 1;
        drop(map);
        Some(Counted { map: self.clone(), net })
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        let mut map = self.map.lock();
        if let Some(open) = map.get_mut(&self.net) {
            *open -= 1;
            if *open == 0 {
                map.remove(&self.net);
            }
        }
    }
}

/// A stream whose writes fail with `TimedOut` once one has waited `limit`
/// without the peer taking a byte: hyper has no write timeout, and a client
/// that never reads would otherwise hold its connection (and the response
/// waiting in it) for ever. Any progress starts the wait again.
pub struct WriteDeadline<S> {
    inner: S,
    limit: Duration,
    timer: Pin<Box<Sleep>>,
    waiting: bool,
}

impl<S> WriteDeadline<S> {
    pub fn new(inner: S, limit: Duration) -> Self {
        WriteDeadline { inner, limit, timer: Box::pin(tokio::time::sleep(limit)), waiting: false }
    }

    /// What a write that returned `poll` means, given the deadline: bytes
    /// taken start the wait again; a write (or flush) that must wait arms
    /// the deadline if it is not armed, and fails once it has passed. A
    /// flush that returns at once is no progress (a TCP stream's always
    /// does): counted as such, hyper's write-then-flush would restart the
    /// wait for ever and the deadline would never come.
    fn judge<T>(
        &mut self,
        cx: &mut Context<'_>,
        poll: Poll<io::Result<T>>,
        progress: impl Fn(&T) -> bool,
    ) -> Poll<io::Result<T>> {
        match &poll {
            Poll::Ready(Ok(done)) => {
                if progress(done) {
                    self.waiting = false;
                }
                return poll;
            }
            Poll::Ready(Err(_)) => return poll,
            Poll::Pending => {}
        }
        if !self.waiting {
            self.waiting = true;
            self.timer.as_mut().reset(Instant::now() + self.limit);
        }
        match self.timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "the client stopped reading"))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for WriteDeadline<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for WriteDeadline<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.judge(cx, poll, |n| *n > 0)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.judge(cx, poll, |n| *n > 0)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_flush(cx);
        self.judge(cx, poll, |()| false)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_shutdown(cx);
        self.judge(cx, poll, |()| false)
    }
}

/// The descriptors this process may open, raised to the hard limit first
/// (the soft one is often 1,024; each connection takes one).
pub fn raise_descriptor_limit() -> u64 {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        Err(e) => {
            tracing::warn!(error = %e, "could not raise the descriptor limit");
            rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(1024, |(soft, _)| soft)
        }
    }
}

/// Descriptors kept for what is not a client: the database, Redis, SMTP and
/// the provider, log and data files.
pub const RESERVED_DESCRIPTORS: u64 = 128;

/// `wanted` connections at most, and few enough to leave the reserve.
pub fn connection_cap(wanted: usize, descriptor_limit: u64) -> usize {
    let fits = descriptor_limit.saturating_sub(RESERVED_DESCRIPTORS).max(16);
    wanted.min(usize::try_from(fits).unwrap_or(usize::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[test]
    fn the_connection_cap_leaves_descriptors_for_the_rest() {
        assert_eq!(connection_cap(4096, 1024), 1024 - RESERVED_DESCRIPTORS as usize);
        assert_eq!(connection_cap(4096, 1_048_576), 4096);
        assert_eq!(connection_cap(4096, 10), 16, "a tiny limit still serves someone");
    }

    #[test]
    fn one_network_gets_its_cap_and_a_slot_comes_back_when_its_connection_ends() {
        let map = PerAddress::default();
        let a: IpAddr = "2001:db8::1".parse().unwrap();
        let same_64: IpAddr = "2001:db8::ffff".parse().unwrap();
        let other: IpAddr = "2001:db8:0:1::1".parse().unwrap();
        let first = map.enter(a, 2).unwrap();
        let _second = map.enter(same_64, 2).unwrap();
        assert!(map.enter(a, 2).is_none(), "a /64 is one client");
        assert!(map.enter(other, 2).is_some(), "another /64 has its own");
        drop(first);
        assert!(map.enter(a, 2).is_some());
    }

    #[test]
    fn a_network_with_no_connection_leaves_no_entry() {
        let map = PerAddress::default();
        for i in 0..100u8 {
            drop(map.enter(IpAddr::from([10, 0, 0, i]), 4).unwrap());
        }
        assert!(map.lock().is_empty());
    }

    /// A peer that never reads: the write that cannot finish fails after the
    /// limit instead of waiting for ever.
    #[tokio::test(start_paused = true)]
    async fn a_write_nobody_reads_fails_after_the_limit() {
        let (ours, _theirs) = tokio::io::duplex(64);
        let mut stream = WriteDeadline::new(ours, Duration::from_secs(30));
        let write = stream.write_all(&[0u8; 1024]);
        let failed = tokio::time::timeout(Duration::from_secs(31), write).await.expect("not for ever");
        assert_eq!(failed.unwrap_err().kind(), io::ErrorKind::TimedOut);
    }

    /// hyper writes, then flushes, then writes again: a flush that returns
    /// at once (a TCP stream's always does) must not restart the wait, or a
    /// client that never reads is never cut off.
    #[tokio::test(start_paused = true)]
    async fn a_flush_between_blocked_writes_does_not_restart_the_wait() {
        use std::future::poll_fn;
        let (ours, _theirs) = tokio::io::duplex(64);
        let mut stream = WriteDeadline::new(ours, Duration::from_secs(30));
        stream.write_all(&[0u8; 64]).await.unwrap();
        let spin = async {
            loop {
                let pending = poll_fn(|cx| match Pin::new(&mut stream).poll_write(cx, &[0u8; 8]) {
                    Poll::Pending => Poll::Ready(None),
                    other => Poll::Ready(Some(other)),
                })
                .await;
                if let Some(Poll::Ready(result)) = pending {
                    return result;
                }
                stream.flush().await.unwrap();
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        };
        let ended = tokio::time::timeout(Duration::from_secs(40), spin).await.expect("cut off within the limit");
        assert_eq!(ended.unwrap_err().kind(), io::ErrorKind::TimedOut);
    }

    /// A slow reader that keeps taking bytes is not cut off.
    #[tokio::test(start_paused = true)]
    async fn progress_starts_the_wait_again() {
        use tokio::io::AsyncReadExt;
        let (ours, mut theirs) = tokio::io::duplex(64);
        let reader = tokio::spawn(async move {
            let mut buf = [0u8; 64];
            let mut total = 0;
            while total < 1024 {
                tokio::time::sleep(Duration::from_secs(20)).await;
                total += theirs.read(&mut buf).await.unwrap();
            }
        });
        let mut stream = WriteDeadline::new(ours, Duration::from_secs(30));
        stream.write_all(&[0u8; 1024]).await.expect("each wait was under the limit");
        reader.await.unwrap();
    }
}
