//! Operators' view of the delivery queue (`server jobs ...`): the delivery
//! records, a failed job sent again, failed jobs forgotten. Never the code.

use super::{dependency_down, now_ms};
use crate::{
    core::{
        Core,
        db::DbError,
        delivery::{DeliveryJob, DeliveryRecord, QueueError, state},
    },
    error::AppError,
};
use futures::future::BoxFuture;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum JobsError {
    #[error("no job has the id {0}")]
    NotFound(String),
    #[error("job {0} has not failed (it is {1}); only failed jobs are retried")]
    NotFailed(String, String),
    #[error("job {0} can no longer be retried: its message is gone from the queue")]
    MessageGone(String),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Queue(#[from] QueueError),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobFilter {
    All,
    Failed,
}

/// How many records a listing shows, newest first.
const LIST_LIMIT: i64 = 500;

pub fn list_jobs<'a>(core: &'a Core, filter: JobFilter) -> BoxFuture<'a, Result<Vec<DeliveryRecord>, JobsError>> {
    Box::pin(async move {
        let state = (filter == JobFilter::Failed).then_some(state::FAILED);
        Ok(core.db.list_deliveries(state, LIST_LIMIT).await?)
    })
}

/// Sends a failed job again, from its first attempt's budget: the worker
/// takes it at once. Returns the record as the retry left it (`queued`).
pub fn retry_job<'a>(core: &'a Core, id: &'a str) -> BoxFuture<'a, Result<DeliveryRecord, JobsError>> {
    Box::pin(async move {
        let record = core.db.find_delivery(id).await?.ok_or_else(|| JobsError::NotFound(id.into()))?;
        if record.state != state::FAILED {
            return Err(JobsError::NotFailed(id.into(), record.state));
        }
        let last_task = record.task_id.as_deref().ok_or_else(|| JobsError::MessageGone(id.into()))?;
        let job = core.queue.job(last_task).await?.ok_or_else(|| JobsError::MessageGone(id.into()))?;
        let attempts = u32::try_from(record.attempts).unwrap_or(u32::MAX);
        let task_id = crate::core::delivery::new_task_id();
        // The record must wait for exactly this attempt before the task exists.
        if !core.db.requeue_delivery(id, &task_id, now_ms()).await? {
            return Err(JobsError::NotFailed(id.into(), "changing".into()));
        }
        // What the retry did, read before the task exists: once it is pushed the
        // worker may deliver it before a read after the push (seen on PostgreSQL,
        // whose queue is woken at once), and the operator would see `sent` for a
        // command that only queued.
        let requeued = core.db.find_delivery(id).await?.ok_or_else(|| JobsError::NotFound(id.into()))?;
        let again = DeliveryJob { attempt: attempts, queued_at_ms: now_ms(), ..job };
        core.queue.push_as(&task_id, again, Duration::ZERO).await?;
        Ok(requeued)
    })
}

/// Forgets every failed job; returns how many there were.
pub fn purge_failed_jobs<'a>(core: &'a Core) -> BoxFuture<'a, Result<u64, JobsError>> {
    Box::pin(async move { Ok(core.db.purge_failed_deliveries().await?) })
}

impl From<JobsError> for AppError {
    fn from(e: JobsError) -> AppError {
        match e {
            JobsError::NotFound(_) => AppError::not_found(),
            JobsError::Db(e) => dependency_down("jobs", "database", &e),
            JobsError::Queue(e) => dependency_down("jobs", "queue", &e),
            e => AppError::bad_request(e.to_string()),
        }
    }
}
