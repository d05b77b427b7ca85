//! CPU-heavy work (password hashing, drawing captchas) runs off the async
//! threads, at most one job per core at a time, so that latency and memory
//! stay bounded under load.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};
use tokio::sync::Semaphore;

#[derive(Clone)]
pub struct CpuLimiter {
    permits: Arc<Semaphore>,
    /// Jobs running or waiting; past `capacity` a new one is refused, so that
    /// a flood is answered with 503 instead of a growing queue.
    in_flight: Arc<AtomicUsize>,
    capacity: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum CpuJobError {
    #[error("too many CPU jobs are waiting")]
    Busy,
    #[error("a CPU job failed: {0}")]
    Failed(String),
}

/// Gives the queue place back however the job ends.
struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl CpuLimiter {
    /// `jobs_at_once` run; up to `max_waiting` more wait for a turn.
    pub fn new(jobs_at_once: usize, max_waiting: usize) -> CpuLimiter {
        let jobs_at_once = jobs_at_once.max(1);
        CpuLimiter {
            permits: Arc::new(Semaphore::new(jobs_at_once)),
            in_flight: Arc::new(AtomicUsize::new(0)),
            capacity: jobs_at_once + max_waiting,
        }
    }

    /// Runs `job` on the blocking pool once a permit is free, or refuses at
    /// once when the queue is full.
    ///
    /// The permit and the queue place travel with the job, not with the
    /// request: a blocking job cannot be stopped, so a client that drops
    /// the request (resets the connection) mid-job must not free a turn for
    /// another job while its own still runs.
    pub async fn run<T, F>(&self, job: F) -> Result<T, CpuJobError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let place = InFlight(self.in_flight.clone());
        if self.in_flight.fetch_add(1, Ordering::SeqCst) >= self.capacity {
            return Err(CpuJobError::Busy);
        }
        let permit = self.permits.clone().acquire_owned().await.map_err(|e| CpuJobError::Failed(e.to_string()))?;
        tokio::task::spawn_blocking(move || {
            let _held = (permit, place);
            job()
        })
        .await
        .map_err(|e| CpuJobError::Failed(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn no_more_jobs_than_permits_run_at_once() {
        let limiter = CpuLimiter::new(2, 100);
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

    /// The attack: start a job, then drop the request (a client that resets
    /// the connection). The job runs on; its permit and place must too.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_dropped_request_keeps_its_permit_and_place_until_the_job_ends() {
        let limiter = CpuLimiter::new(1, 0);
        let running = Arc::new(AtomicUsize::new(0));
        let overlapped = Arc::new(AtomicUsize::new(0));
        let job = |running: Arc<AtomicUsize>, overlapped: Arc<AtomicUsize>| {
            move || {
                if running.fetch_add(1, Ordering::SeqCst) > 0 {
                    overlapped.fetch_add(1, Ordering::SeqCst);
                }
                std::thread::sleep(std::time::Duration::from_millis(200));
                running.fetch_sub(1, Ordering::SeqCst);
            }
        };
        let first = limiter.run(job(running.clone(), overlapped.clone()));
        let dropped = tokio::time::timeout(std::time::Duration::from_millis(30), first).await;
        assert!(dropped.is_err(), "the request went away mid-job");
        assert!(running.load(Ordering::SeqCst) == 1, "the job itself runs on");
        assert!(matches!(limiter.run(|| ()).await, Err(CpuJobError::Busy)), "its place is still taken while it runs");
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        limiter.run(job(running.clone(), overlapped.clone())).await.unwrap();
        assert_eq!(overlapped.load(Ordering::SeqCst), 0, "never two jobs on one permit");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_dropped_request_never_lets_two_jobs_share_a_permit() {
        let limiter = CpuLimiter::new(1, 10);
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let job = |running: Arc<AtomicUsize>, peak: Arc<AtomicUsize>| {
            move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(100));
                running.fetch_sub(1, Ordering::SeqCst);
            }
        };
        let first = limiter.run(job(running.clone(), peak.clone()));
        let _ = tokio::time::timeout(std::time::Duration::from_millis(20), first).await;
        limiter.run(job(running.clone(), peak.clone())).await.unwrap();
        assert_eq!(peak.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_full_queue_refuses_at_once_and_frees_its_places_after() {
        let limiter = CpuLimiter::new(1, 2);
        let mut jobs = tokio::task::JoinSet::new();
        for _ in 0..6 {
            let limiter = limiter.clone();
            jobs.spawn(async move { limiter.run(|| std::thread::sleep(std::time::Duration::from_millis(100))).await });
        }
        let results = jobs.join_all().await;
        assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 3);
        assert!(results.iter().filter(|r| r.is_err()).all(|r| matches!(r, Err(CpuJobError::Busy))));
        assert!(limiter.run(|| ()).await.is_ok(), "places are given back");
    }
}
