//! The delivery queue: a visitor's request only enqueues a message; a worker
//! delivers it, retries with exponential backoff and jitter, and keeps a
//! record of what became of it. The queue is apalis, where it is both durable
//! and shared by every server (`Queue::choose`): in PostgreSQL when that is
//! the database; else in Redis when one is configured (several servers on
//! one SQLite file share Redis, not the file's lock); else in the SQLite file.
//!
//! Each attempt is one apalis task that is tried once: a temporary failure
//! enqueues the next attempt with `run_after` (durable backoff, which apalis'
//! own retry layer keeps only in memory) and the record says `retrying`.
//! Claiming an attempt is a conditional UPDATE of the record, so two workers
//! never send one attempt twice; only a crash between the provider's answer
//! and that UPDATE can repeat a message (at-least-once across crashes).

mod records;
pub mod worker;

pub use records::{Claim, DeliveryEnd, DeliveryRecord, NewDelivery, Unqueued, state};
pub(crate) use records::{INSERT_DELIVERY, write_deliveries};

use crate::core::{
    Core,
    db::{Database, DbError},
    mail::{Mail, mask_address},
    metrics::{self, DeliveryEvent},
    store::{SharedConnection, Store},
};
use crate::i18n::Locale;
use apalis::prelude::{TaskBuilder, TaskId, TaskSink};
use apalis_postgres::PostgresStorage;
use apalis_redis::RedisStorage;
use apalis_sqlite::SqliteStorage;
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How often apalis runs one task whose handler fails.
const HANDLER_ATTEMPTS: usize = 5;

/// The apalis queue name of delivery jobs.
pub const QUEUE_NAME: &str = "deliveries";

/// The numbers the worker follows (all settings).
#[derive(Clone, Debug)]
pub struct DeliverySettings {
    /// Attempts before a message is kept as failed.
    pub max_attempts: u32,
    /// The wait before the second attempt; each later wait doubles.
    pub retry_first: Duration,
    /// How often an idle worker looks for due jobs.
    pub poll_interval: Duration,
    /// Jobs one worker sends at once.
    pub concurrency: usize,
    /// On shutdown, how long running jobs may take to finish.
    pub shutdown_grace: Duration,
    /// How long a claimed attempt is ours before another worker may take it
    /// over (longer than the provider's timeouts).
    pub lease: Duration,
    /// How long the record of a message that ended is kept.
    pub records_keep: Duration,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        DeliverySettings {
            max_attempts: 5,
            retry_first: Duration::from_secs(30),
            poll_interval: Duration::from_millis(200),
            concurrency: 8,
            shutdown_grace: Duration::from_secs(10),
            lease: Duration::from_secs(30),
            records_keep: Duration::from_secs(30 * 86_400),
        }
    }
}

/// The wait before attempt `attempts + 1`, after `attempts` failed ones:
/// `first * 2^(attempts - 1)`, give or take 20 % so that a provider that comes
/// back is not hit by every waiting message in the same second.
pub fn backoff(first: Duration, attempts: u32, rng: &mut impl Rng) -> Duration {
    let base = first.saturating_mul(1u32 << attempts.saturating_sub(1).min(16));
    base.mul_f64(rng.random_range(0.8..=1.2))
}

/// A fresh id for a queue task.
pub fn new_task_id() -> String {
    ulid::Ulid::new().to_string()
}

/// One attempt at one message, as the queue carries it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DeliveryJob {
    pub delivery_id: String,
    /// Attempts made before this one.
    pub attempt: u32,
    pub message: JobMessage,
    /// When the message was first queued (ms), for the delivery latency.
    #[serde(default)]
    pub queued_at_ms: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
///
/// Each carries `lang`, the tag of the language it is worded in (the
/// person's, when it was queued); empty (a job queued before languages)
/// is the default's.
pub enum JobMessage {
    /// A verification code; worthless after `expires_at_ms`.
    SmsCode {
        mobile: String,
        purpose: String,
        code: String,
        minutes: u64,
        expires_at_ms: i64,
        #[serde(default)]
        lang: String,
    },
    /// An e-mail, rendered by the worker; worthless after `expires_at_ms`
    /// when it carries a code or link.
    Email {
        to: String,
        mail: Mail,
        expires_at_ms: Option<i64>,
        #[serde(default)]
        lang: String,
    },
    /// A password reset link for the account that verified `email`, if one
    /// did: the worker looks it up, so that the request that queued this did
    /// the same work whether or not the address has an account. `token` is
    /// the link's (the database keeps its hash from the first attempt on).
    PasswordResetLink {
        email: String,
        token: String,
        requested_at_ms: i64,
        expires_at_ms: i64,
        #[serde(default)]
        lang: String,
    },
    /// A notice by SMS (no code): the password was reset.
    SmsNotice {
        mobile: String,
        notice: SmsNotice,
        #[serde(default)]
        lang: String,
    },
}

/// What an SMS notice says, as the queue carries it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "notice", rename_all = "snake_case")]
pub enum SmsNotice {
    PasswordChanged {
        at: String,
        client_ip: String,
    },
    /// 注销 asked (the account goes at `date`) or done (`done`: gone at `date`).
    Deletion {
        date: String,
        done: bool,
    },
}

impl JobMessage {
    /// The language it is worded in (`default` when it names none we have).
    pub fn locale(&self, default: Locale) -> Locale {
        let (JobMessage::SmsCode { lang, .. }
        | JobMessage::Email { lang, .. }
        | JobMessage::PasswordResetLink { lang, .. }
        | JobMessage::SmsNotice { lang, .. }) = self;
        Locale::from_tag(lang).unwrap_or(default)
    }

    pub fn kind(&self) -> &'static str {
        match self {
            JobMessage::SmsCode { .. } => "sms_code",
            JobMessage::SmsNotice { .. } => "sms_notice",
            JobMessage::Email { .. } | JobMessage::PasswordResetLink { .. } => "email",
        }
    }

    /// Who delivers this kind of message: the SMS provider or the mail
    /// transport.
    pub fn provider(&self, core: &Core) -> &'static str {
        match self {
            JobMessage::SmsCode { .. } | JobMessage::SmsNotice { .. } => core.sms.name(),
            JobMessage::Email { .. } | JobMessage::PasswordResetLink { .. } => core.mail.name(),
        }
    }

    /// The recipient as records and logs show it: masked.
    pub fn recipient_masked(&self) -> String {
        match self {
            JobMessage::SmsCode { mobile, .. } | JobMessage::SmsNotice { mobile, .. } => {
                crate::rules::Mobile::parse(mobile).map_or_else(|_| "?".into(), |m| m.masked())
            }
            JobMessage::Email { to, .. } | JobMessage::PasswordResetLink { email: to, .. } => mask_address(to),
        }
    }

    /// What the message is for: the code's purpose, or the mail template.
    fn purpose(&self) -> &str {
        match self {
            JobMessage::SmsCode { purpose, .. } => purpose,
            JobMessage::Email { mail, .. } => mail.name(),
            JobMessage::PasswordResetLink { .. } => "password_reset",
            JobMessage::SmsNotice { notice: SmsNotice::PasswordChanged { .. }, .. } => "password_changed",
            JobMessage::SmsNotice { notice: SmsNotice::Deletion { done: false, .. }, .. } => "deletion_requested",
            JobMessage::SmsNotice { notice: SmsNotice::Deletion { done: true, .. }, .. } => "account_deleted",
        }
    }

    /// When the message stops being worth delivering.
    pub fn expires_at_ms(&self) -> Option<i64> {
        match self {
            JobMessage::SmsCode { expires_at_ms, .. } => Some(*expires_at_ms),
            JobMessage::Email { expires_at_ms, .. } => *expires_at_ms,
            JobMessage::PasswordResetLink { expires_at_ms, .. } => Some(*expires_at_ms),
            JobMessage::SmsNotice { .. } => None,
        }
    }
}

/// The record of `message` (for the account `for_user`, if it has one),
/// and its job, ready to write.
fn prepare(core: &Core, message: JobMessage, for_user: Option<i64>) -> (NewDelivery, DeliveryJob) {
    let now = crate::core::now_ms();
    let record = NewDelivery {
        id: uuid::Uuid::new_v4().simple().to_string(),
        kind: message.kind(),
        provider: message.provider(core),
        recipient: message.recipient_masked(),
        purpose: message.purpose().to_owned(),
        task_id: new_task_id(),
        now_ms: now,
        expires_at: message.expires_at_ms(),
        payload: None,
        user_id: for_user,
    };
    let job = DeliveryJob { delivery_id: record.id.clone(), attempt: 0, message, queued_at_ms: now };
    (record, job)
}

/// Hands a message (for the account `for_user`, if it has one) to the
/// queue, with a delivery record of its own; returns the record's id. The
/// worker takes it at once. A message that cannot be queued is an error the
/// caller reports (a code the person waits for).
pub async fn enqueue(core: &Core, message: JobMessage, for_user: Option<i64>) -> Result<String, QueueError> {
    let (record, job) = prepare(core, message, for_user);
    // The record first: a worker that takes the job at once must find it.
    core.db.insert_delivery(&record).await?;
    if let Err(e) = core.queue.push_as(&record.task_id, job, Duration::ZERO).await {
        // Never a job: its record must not say `queued` for ever.
        if let Err(forget) = core.db.forget_unqueued_delivery(&record.id).await {
            tracing::error!(error = %forget, delivery = %record.id, "could not forget the record of a job never queued");
        }
        return Err(e);
    }
    metrics::delivery(DeliveryEvent::Enqueued, record.kind, record.provider);
    Ok(record.id)
}

/// A notice's record with its job inside, for the transaction of the change
/// it reports (`write_deliveries!`): committed together or not at all.
/// After the commit, `queue_written` queues it; if the queue is away then,
/// the relay (`relay_unqueued`) does later.
pub fn written_with_change(core: &Core, message: JobMessage, for_user: Option<i64>) -> NewDelivery {
    let (mut record, job) = prepare(core, message, for_user);
    record.payload = Some(serde_json::to_string(&job).unwrap_or_else(|e| unreachable!("a job is plain data: {e}")));
    record
}

/// Queues the jobs of records written with a committed change. One the
/// queue refuses stays in its record for the relay: the change stands and
/// its notice is only late.
pub async fn queue_written(core: &Core, written: &[NewDelivery]) {
    for record in written {
        let Some(job) = record.payload.as_deref().and_then(|p| serde_json::from_str(p).ok()) else { continue };
        if let Err(e) = push_written(core, &record.id, &record.task_id, job).await {
            tracing::warn!(error = %e, delivery = %record.id, "a notice is written but not yet queued; the relay will");
        }
    }
}

/// How long a written record is left to the request that wrote it before
/// the relay queues it too (twice is harmless, never is not).
const RELAY_AFTER: Duration = Duration::from_secs(5);
/// Records the relay queues in one pass.
const RELAY_BATCH: i64 = 100;

/// Queues the jobs of records written with a change whose own request did
/// not (it died, or the queue was away): returns how many. Two relays, or a
/// relay and the request, may push one job twice: the attempt's idempotency
/// key keeps one task, and the record's claim one send.
pub async fn relay_unqueued(core: &Core) -> Result<usize, QueueError> {
    let before = crate::core::now_ms() - RELAY_AFTER.as_millis() as i64;
    let waiting = core.db.unqueued_deliveries(before, RELAY_BATCH).await?;
    for record in &waiting {
        match serde_json::from_str::<DeliveryJob>(&record.payload) {
            Ok(job) => {
                push_written(core, &record.id, &record.task_id, job).await?;
                tracing::info!(delivery = %record.id, "relayed a notice written with its change to the queue");
            }
            Err(e) => {
                tracing::error!(error = %e, delivery = %record.id, "a written notice cannot be read back; given up");
                let why = format!("malformed_payload: {e}");
                core.db.fail_unqueued_delivery(&record.id, &why, crate::core::now_ms()).await?;
            }
        }
    }
    Ok(waiting.len())
}

async fn push_written(core: &Core, id: &str, task_id: &str, job: DeliveryJob) -> Result<(), QueueError> {
    let (kind, provider) = (job.message.kind(), job.message.provider(core));
    core.queue.push_as(task_id, job, Duration::ZERO).await?;
    core.db.mark_delivery_queued(id).await?;
    metrics::delivery(DeliveryEvent::Enqueued, kind, provider);
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("the queue is unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

fn unavailable(e: impl std::fmt::Display) -> QueueError {
    QueueError::Unavailable(e.to_string())
}

/// The apalis storage delivery jobs live in.
#[derive(Clone)]
pub enum Queue {
    Sqlite(SqliteStorage<DeliveryJob>),
    Postgres(PostgresStorage<DeliveryJob>),
    Redis(Box<RedisStorage<DeliveryJob, SharedConnection>>),
}

impl Queue {
    /// PostgreSQL when it is the database: a commit there is as durable as
    /// the accounts, and Redis' durability rests on its AOF settings, which
    /// we do not control. Else Redis when the store is Redis: several servers
    /// sharing a Redis expect to share the work. Else the SQLite file.
    pub fn choose(db: &Database, store: &Store) -> Queue {
        match (db, store.redis_connection()) {
            (Database::Sqlite(..), Some((connection, prefix))) => Queue::in_redis(connection, prefix),
            _ => Queue::in_database(db),
        }
    }

    /// The queue in Redis, its keys under the store's prefix.
    pub fn in_redis(connection: SharedConnection, prefix: &str) -> Queue {
        Queue::Redis(Box::new(RedisStorage::new(connection).with_config(redis_config(prefix))))
    }

    /// The queue in the database itself.
    pub fn in_database(db: &Database) -> Queue {
        match db {
            Database::Sqlite(pool, _) => {
                let config = apalis_sqlite::Config::default().queue(QUEUE_NAME);
                Queue::Sqlite(SqliteStorage::new(pool).with_config(config))
            }
            Database::Postgres(pool) => {
                let config = apalis_postgres::Config::default().queue(QUEUE_NAME);
                Queue::Postgres(PostgresStorage::new(pool).with_config(config))
            }
        }
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            Queue::Sqlite(_) => "sqlite",
            Queue::Postgres(_) => "postgres",
            Queue::Redis(_) => "redis",
        }
    }

    /// Enqueues `job` to run after `delay`; returns the task id.
    pub async fn push(&self, job: DeliveryJob, delay: Duration) -> Result<String, QueueError> {
        let task_id = new_task_id();
        self.push_as(&task_id, job, delay).await?;
        Ok(task_id)
    }

    /// Enqueues `job` under a task id chosen beforehand (`new_task_id`).
    /// Pushing the same attempt of the same delivery twice leaves one task.
    pub async fn push_as(&self, task_id: &str, job: DeliveryJob, delay: Duration) -> Result<(), QueueError> {
        let key = format!("{}:{}", job.delivery_id, job.attempt);
        self.push_keyed(task_id, job, delay, key).await
    }

    /// Enqueues an attempt that is queued already (its task is running and
    /// found the attempt held by another worker) to look again after
    /// `delay`. It needs a key of its own: the attempt's key is taken, and a
    /// push under it would be silently dropped (a message lost). A look
    /// that finds the attempt still held pushes another.
    pub async fn push_held(&self, job: DeliveryJob, delay: Duration) -> Result<(), QueueError> {
        let task_id = new_task_id();
        let key = format!("{}:{}:held:{task_id}", job.delivery_id, job.attempt);
        self.push_keyed(&task_id, job, delay, key).await
    }

    async fn push_keyed(
        &self,
        task_id: &str,
        job: DeliveryJob,
        delay: Duration,
        idempotency_key: String,
    ) -> Result<(), QueueError> {
        let task_id: ulid::Ulid = task_id.parse().map_err(unavailable)?;
        let task = TaskBuilder::new(job)
            .task_id(TaskId::from_string(task_id.to_string()))
            // apalis' own retries only cover our handler failing (the
            // database or the queue away mid-job); provider failures are
            // our attempts, each a task of its own.
            .max_attempts(HANDLER_ATTEMPTS)
            .idempotency_key(idempotency_key)
            .run_after(delay)
            .build();
        match self {
            Queue::Sqlite(storage) => storage.clone().push_task(task).await.map_err(unavailable)?,
            Queue::Postgres(storage) => storage.clone().push_task(task).await.map_err(unavailable)?,
            Queue::Redis(storage) => (**storage).clone().push_task(task).await.map_err(unavailable)?,
        }
        Ok(())
    }

    /// Forgets finished tasks done more than `keep` ago: their payload holds
    /// the code, which must not outlive its use. Returns how many went.
    ///
    /// Our own DELETE on the database backends, scoped to our queue: apalis'
    /// `Vacuum` there spans every queue and ends in a full `VACUUM`, which
    /// rewrites the whole file. (The statement knows apalis' `Jobs` table;
    /// the delivery tests notice if a new apalis changes it.)
    pub async fn forget_finished(&self, db: &Database, keep: Duration) -> Result<u64, QueueError> {
        use apalis_core::backend::Vacuum;
        if let Queue::Redis(storage) = self {
            return Ok((**storage).clone().vacuum_before(keep).await.map_err(unavailable)? as u64);
        }
        let cutoff = (std::time::SystemTime::now() - keep)
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        const FINISHED: &str = "status IN ('Done', 'Failed', 'Killed') AND done_at IS NOT NULL";
        let done = match db {
            Database::Sqlite(pool, _) => {
                let q = format!("DELETE FROM Jobs WHERE job_type = $1 AND {FINISHED} AND done_at <= $2");
                sqlx::query(sqlx::AssertSqlSafe(q))
                    .bind(QUEUE_NAME)
                    .bind(cutoff)
                    .execute(pool)
                    .await
                    .map(|r| r.rows_affected())
            }
            Database::Postgres(pool) => {
                let q = format!(
                    "DELETE FROM apalis.jobs WHERE job_type = $1 AND {FINISHED} AND done_at <= to_timestamp($2)"
                );
                sqlx::query(sqlx::AssertSqlSafe(q))
                    .bind(QUEUE_NAME)
                    .bind(cutoff as f64)
                    .execute(pool)
                    .await
                    .map(|r| r.rows_affected())
            }
        };
        let done = done.map_err(DbError::from)?;
        // A finished task held a code or an address: the WAL's copies of
        // its pages go too (the file's were zeroed: `secure_delete`).
        if done > 0 {
            db.empty_the_wal().await;
        }
        Ok(done)
    }

    /// The job a task carries, if the task is still kept.
    pub async fn job(&self, task_id: &str) -> Result<Option<DeliveryJob>, QueueError> {
        use apalis::prelude::{Codec, FetchById};
        let id = TaskId::from_string(task_id);
        let task = match self {
            Queue::Sqlite(storage) => storage.clone().fetch_by_id(&id).await.map_err(unavailable)?,
            Queue::Postgres(storage) => storage.clone().fetch_by_id(&id).await.map_err(unavailable)?,
            Queue::Redis(storage) => (**storage).clone().fetch_by_id(&id).await.map_err(unavailable)?,
        };
        let Some(task) = task else { return Ok(None) };
        let codec = apalis_sqlite::JsonCodec::<Vec<u8>>::default();
        let job = <_ as Codec<DeliveryJob>>::decode(&codec, &task.args).map_err(unavailable)?;
        Ok(Some(job))
    }
}

/// apalis' Redis settings for our queue; `prefix` keeps apps (and tests)
/// that share a Redis apart. The worker adds its pace (`worker.rs`).
pub(crate) fn redis_config(prefix: &str) -> apalis_redis::Config {
    // An attempt's idempotency key only has to outlive the attempt.
    apalis_redis::Config::default()
        .queue(format!("{prefix}{QUEUE_NAME}"))
        .idempotency_ttl(Some(Duration::from_secs(86_400)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_wait_doubles_within_the_jitter() {
        let mut rng = rand::rng();
        let first = Duration::from_secs(30);
        for (attempts, base) in [(1u32, 30.0), (2, 60.0), (3, 120.0), (4, 240.0)] {
            for _ in 0..200 {
                let wait = backoff(first, attempts, &mut rng).as_secs_f64();
                assert!((base * 0.8..=base * 1.2).contains(&wait), "attempt {attempts}: {wait}");
            }
        }
    }

    #[test]
    fn the_default_schedule_spans_about_ten_minutes() {
        let settings = DeliverySettings::default();
        let mut rng = rand::rng();
        let total: f64 =
            (1..settings.max_attempts).map(|n| backoff(settings.retry_first, n, &mut rng).as_secs_f64()).sum();
        assert!((360.0..=540.0).contains(&total), "{total}");
    }
}
