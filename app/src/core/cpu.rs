//! CPU-heavy work (password hashing, drawing captchas) runs off the async
//! threads, at most one job per core at a time, so that latency and memory
//! stay bounded under load.

use std::sync::Arc;
use tokio::sync::Semaphore;

#[derive(Clone)]
pub struct CpuLimiter {
    permits: Arc<Semaphore>,
}

#[derive(Debug, thiserror::Error)]
#[error("a CPU job failed: {0}")]
pub struct CpuJobError(String);

impl CpuLimiter {
    pub fn new(jobs_at_once: usize) -> CpuLimiter {
        CpuLimiter { permits: Arc::new(Semaphore::new(jobs_at_once.max(1))) }
    }

    /// One job per core, as the machine reports its cores.
    pub fn per_core() -> CpuLimiter {
        CpuLimiter::new(std::thread::available_parallelism().map(usize::from).unwrap_or(1))
    }

    /// Runs `job` on the blocking pool once a permit is free.
    pub async fn run<T, F>(&self, job: F) -> Result<T, CpuJobError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let _permit = self.permits.acquire().await.map_err(|e| CpuJobError(e.to_string()))?;
        tokio::task::spawn_blocking(job).await.map_err(|e| CpuJobError(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn no_more_jobs_than_permits_run_at_once() {
        let limiter = CpuLimiter::new(2);
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let mut jobs = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let (limiter, running, peak) = (limiter.clone(), running.clone(), peak.clone());
            jobs.spawn(async move {
                limiter
                    .run(move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
                    .unwrap()
            });
        }
        jobs.join_all().await;
        assert_eq!(peak.load(Ordering::SeqCst), 2);
    }
}
