//! Delivery records: one row per message handed to the queue, saying what
//! became of it (queued, sending, retrying, sent, failed, expired, skipped). Each state
//! change is one conditional UPDATE, so two workers can never both claim one
//! attempt. The message itself (the code) is never in a record; a notice
//! written with the change it reports carries its job only until the job is
//! in the queue.

use crate::core::db::{Database, DbError, on_pool};

/// Where a delivery stands.
pub mod state {
    pub const QUEUED: &str = "queued";
    pub const SENDING: &str = "sending";
    pub const RETRYING: &str = "retrying";
    pub const SENT: &str = "sent";
    pub const FAILED: &str = "failed";
    pub const EXPIRED: &str = "expired";
    /// Nothing to send: a reset link asked for an address no account has
    /// verified (the asker was told the same as for a known one).
    pub const SKIPPED: &str = "skipped";
}

#[derive(Clone, Debug, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct DeliveryRecord {
    pub id: String,
    pub kind: String,
    pub provider: String,
    /// Masked: the record is for operators, not a phone book.
    pub recipient: String,
    pub purpose: String,
    pub state: String,
    pub attempts: i64,
    pub next_try_at: Option<i64>,
    pub lease_until: Option<i64>,
    pub last_error: Option<String>,
    /// The provider's code for `last_error`.
    pub error_code: Option<String>,
    pub provider_message_id: Option<String>,
    pub task_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub expires_at: Option<i64>,
}

impl DeliveryRecord {
    /// What the development outbox page shows of it.
    pub fn view(&self) -> crate::wire::DeliveryView {
        crate::wire::DeliveryView {
            id: self.id.clone(),
            kind: self.kind.clone(),
            provider: self.provider.clone(),
            recipient: self.recipient.clone(),
            state: self.state.clone(),
            attempts: self.attempts,
            last_error: self.last_error.clone(),
            updated_at: chrono::DateTime::from_timestamp_millis(self.updated_at)
                .unwrap_or_default()
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        }
    }
}

const COLUMNS: &str = "id, kind, provider, recipient, purpose, state, attempts, next_try_at, lease_until, last_error, \
                       error_code, provider_message_id, task_id, created_at, updated_at, expires_at";

/// A record about to be written: by `enqueue` just before its job is
/// queued, or (with `payload`) in the transaction of the change a notice
/// reports (`write_deliveries!`).
#[derive(Clone, Debug)]
pub struct NewDelivery {
    pub id: String,
    pub kind: &'static str,
    pub provider: &'static str,
    pub recipient: String,
    pub purpose: String,
    pub task_id: String,
    pub now_ms: i64,
    pub expires_at: Option<i64>,
    /// The job (JSON) until it is in the queue: written with a change, its
    /// record is how the job survives a queue that is away at the commit.
    pub payload: Option<String>,
    /// The account it is for, when it has one: its export lists the
    /// record, its erasure deletes it.
    pub user_id: Option<i64>,
}

pub(crate) const INSERT_DELIVERY: &str = "INSERT INTO deliveries (id, kind, provider, recipient, purpose, state, \
     attempts, task_id, created_at, updated_at, expires_at, payload, user_id) VALUES ($1, $2, $3, $4, $5, 'queued', 0, \
     $6, $7, $7, $8, $9, $10)";

/// Writes `$rows` (`&[NewDelivery]`) in the transaction `$tx`, with the
/// change they report. (A macro: one body for either backend's transaction.)
macro_rules! write_deliveries_impl {
    ($tx:expr, $rows:expr) => {
        async {
            for new in $rows {
                sqlx::query($crate::core::delivery::INSERT_DELIVERY)
                    .bind(new.id.as_str())
                    .bind(new.kind)
                    .bind(new.provider)
                    .bind(new.recipient.as_str())
                    .bind(new.purpose.as_str())
                    .bind(new.task_id.as_str())
                    .bind(new.now_ms)
                    .bind(new.expires_at)
                    .bind(new.payload.as_deref())
                    .bind(new.user_id)
                    .execute(&mut *$tx)
                    .await?;
            }
            Ok::<(), sqlx::Error>(())
        }
    };
}
pub(crate) use write_deliveries_impl as write_deliveries;

/// A record written with its change whose job is not known to be queued.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Unqueued {
    pub id: String,
    pub task_id: String,
    pub payload: String,
}

/// The outcome of trying to claim attempt `n` of a delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// This worker now owns the attempt.
    Claimed,
    /// Another worker holds it (or the attempt before) until this time
    /// (ms): try again then.
    Held { until_ms: i64 },
    /// Done, failed, expired, or a later attempt is already under way.
    Gone,
}

impl Database {
    pub async fn insert_delivery(&self, new: &NewDelivery) -> Result<(), DbError> {
        on_pool!(self, |pool| async {
            let mut conn = pool.acquire().await?;
            write_deliveries!(conn, std::slice::from_ref(new)).await
        }
        .await)?;
        Ok(())
    }

    /// Says that a written record's job is in the queue: its payload goes
    /// (it holds the recipient), and the relay passes it by.
    pub async fn mark_delivery_queued(&self, id: &str) -> Result<(), DbError> {
        let q = "UPDATE deliveries SET payload = NULL WHERE id = $1";
        on_pool!(self, |pool| sqlx::query(q).bind(id).execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Gives up a written record whose job cannot be read back (written by
    /// another version): failed, with why, and without its payload.
    pub async fn fail_unqueued_delivery(&self, id: &str, error: &str, now_ms: i64) -> Result<(), DbError> {
        let q = "UPDATE deliveries SET state = 'failed', payload = NULL, last_error = $2, updated_at = $3 \
                 WHERE id = $1 AND state = 'queued'";
        on_pool!(self, |pool| sqlx::query(q).bind(id).bind(error).bind(now_ms).execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Records written before `before_ms` whose jobs are not known to be
    /// queued, oldest first: what the relay queues.
    pub async fn unqueued_deliveries(&self, before_ms: i64, limit: i64) -> Result<Vec<Unqueued>, DbError> {
        let q = "SELECT id, task_id, payload FROM deliveries WHERE payload IS NOT NULL AND task_id IS NOT NULL \
                 AND created_at < $1 ORDER BY created_at LIMIT $2";
        Ok(on_pool!(self, |pool| sqlx::query_as::<_, Unqueued>(q).bind(before_ms).bind(limit).fetch_all(pool).await)?)
    }

    pub async fn find_delivery(&self, id: &str) -> Result<Option<DeliveryRecord>, DbError> {
        let q = format!("SELECT {COLUMNS} FROM deliveries WHERE id = $1");
        Ok(on_pool!(self, |pool| sqlx::query_as::<_, DeliveryRecord>(sqlx::AssertSqlSafe(q.as_str()))
            .bind(id)
            .fetch_optional(pool)
            .await)?)
    }

    /// Newest first; only `state` when given.
    pub async fn list_deliveries(&self, state: Option<&str>, limit: i64) -> Result<Vec<DeliveryRecord>, DbError> {
        let q = format!(
            "SELECT {COLUMNS} FROM deliveries WHERE ($1 = '' OR state = $1) ORDER BY created_at DESC, id DESC LIMIT $2"
        );
        Ok(on_pool!(self, |pool| sqlx::query_as::<_, DeliveryRecord>(sqlx::AssertSqlSafe(q.as_str()))
            .bind(state.unwrap_or(""))
            .bind(limit)
            .fetch_all(pool)
            .await)?)
    }

    /// Names the account a record's message is for, once the worker knows.
    pub async fn assign_delivery(&self, id: &str, user_id: i64) -> Result<(), DbError> {
        let q = "UPDATE deliveries SET user_id = $2 WHERE id = $1";
        on_pool!(self, |pool| sqlx::query(q).bind(id).bind(user_id).execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// The records of the messages sent to the account `user_id`, newest
    /// first (its owner's export).
    pub async fn deliveries_of(&self, user_id: i64) -> Result<Vec<DeliveryRecord>, DbError> {
        let q = format!("SELECT {COLUMNS} FROM deliveries WHERE user_id = $1 ORDER BY created_at DESC, id DESC");
        Ok(on_pool!(self, |pool| sqlx::query_as::<_, DeliveryRecord>(sqlx::AssertSqlSafe(q.as_str()))
            .bind(user_id)
            .fetch_all(pool)
            .await)?)
    }

    /// Claims attempt `attempt + 1`: only while the record is waiting for
    /// exactly that attempt, or a crashed worker's lease on it (or on the
    /// attempt before) has run out.
    pub async fn claim_delivery(&self, id: &str, attempt: u32, now_ms: i64, lease_ms: i64) -> Result<Claim, DbError> {
        // Claimable: the attempt is due; or the worker that held it (this
        // attempt, or the one before, which queues this attempt before it
        // records its end) died and its lease is over.
        let q = "UPDATE deliveries SET state = 'sending', attempts = $2 + 1, lease_until = $3 + $4, updated_at = $3 \
                 WHERE id = $1 AND ((state IN ('queued', 'retrying') AND attempts = $2) \
                 OR (state = 'sending' AND attempts IN ($2, $2 + 1) AND lease_until < $3))";
        let claimed = on_pool!(self, |pool| sqlx::query(q)
            .bind(id)
            .bind(i64::from(attempt))
            .bind(now_ms)
            .bind(lease_ms)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        if claimed == 1 {
            return Ok(Claim::Claimed);
        }
        let attempt = i64::from(attempt);
        Ok(match self.find_delivery(id).await? {
            Some(r) if r.state == state::SENDING && r.attempts == attempt + 1 => {
                Claim::Held { until_ms: r.lease_until.unwrap_or(now_ms) }
            }
            // The attempt before is recording its end: a moment away.
            Some(r) if r.state == state::SENDING && r.attempts == attempt => Claim::Held { until_ms: now_ms },
            _ => Claim::Gone,
        })
    }

    /// Ends the attempt this worker claimed. False when it was not ours.
    pub async fn finish_delivery(&self, id: &str, attempts: u32, end: &DeliveryEnd<'_>) -> Result<bool, DbError> {
        let q = "UPDATE deliveries SET state = $3, next_try_at = $4, last_error = COALESCE($5, last_error), \
                 provider_message_id = COALESCE($6, provider_message_id), task_id = COALESCE($7, task_id), \
                 lease_until = NULL, updated_at = $8, error_code = COALESCE($9, error_code), \
                 provider = COALESCE($10, provider) WHERE id = $1 AND attempts = $2 AND state = 'sending'";
        let done = on_pool!(self, |pool| sqlx::query(q)
            .bind(id)
            .bind(i64::from(attempts))
            .bind(end.state)
            .bind(end.next_try_at)
            .bind(end.error)
            .bind(end.message_id)
            .bind(end.task_id)
            .bind(end.now_ms)
            .bind(end.error_code)
            .bind(end.provider)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(done == 1)
    }

    /// Marks a waiting delivery expired (its code died before it was sent).
    pub async fn expire_delivery(&self, id: &str, now_ms: i64) -> Result<bool, DbError> {
        let q = "UPDATE deliveries SET state = 'expired', next_try_at = NULL, updated_at = $2 \
                 WHERE id = $1 AND state IN ('queued', 'retrying', 'sending')";
        let done =
            on_pool!(self, |pool| sqlx::query(q).bind(id).bind(now_ms).execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(done == 1)
    }

    /// Puts a failed delivery back in the queue under a new task.
    pub async fn requeue_delivery(&self, id: &str, task_id: &str, now_ms: i64) -> Result<bool, DbError> {
        let q = "UPDATE deliveries SET state = 'queued', next_try_at = NULL, task_id = $2, updated_at = $3 \
                 WHERE id = $1 AND state = 'failed'";
        let done = on_pool!(self, |pool| sqlx::query(q)
            .bind(id)
            .bind(task_id)
            .bind(now_ms)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(done == 1)
    }

    /// Messages not yet sent nor given up: the queue's depth, the same
    /// seen from every server.
    pub async fn count_waiting_deliveries(&self) -> Result<i64, DbError> {
        let q = "SELECT COUNT(*) FROM deliveries WHERE state IN ('queued', 'sending', 'retrying')";
        Ok(on_pool!(self, |pool| sqlx::query_scalar::<_, i64>(q).fetch_one(pool).await)?)
    }

    /// Forgets the records of messages that ended (sent, failed, expired)
    /// before `before_ms`, so that the table does not grow without bound.
    pub async fn forget_old_deliveries(&self, before_ms: i64) -> Result<u64, DbError> {
        let q = "DELETE FROM deliveries WHERE state IN ('sent', 'failed', 'expired', 'skipped') AND created_at < $1";
        Ok(on_pool!(self, |pool| sqlx::query(q).bind(before_ms).execute(pool).await.map(|r| r.rows_affected()))?)
    }

    /// Forgets the record of a message whose job could not be queued (it is
    /// still `queued`, and no worker will ever take it).
    pub async fn forget_unqueued_delivery(&self, id: &str) -> Result<bool, DbError> {
        let q = "DELETE FROM deliveries WHERE id = $1 AND state = 'queued'";
        Ok(on_pool!(self, |pool| sqlx::query(q).bind(id).execute(pool).await.map(|r| r.rows_affected() == 1))?)
    }

    /// Forgets every failed delivery; returns how many.
    pub async fn purge_failed_deliveries(&self) -> Result<u64, DbError> {
        let q = "DELETE FROM deliveries WHERE state = 'failed'";
        Ok(on_pool!(self, |pool| sqlx::query(q).execute(pool).await.map(|r| r.rows_affected()))?)
    }
}

/// How an attempt ended.
pub struct DeliveryEnd<'a> {
    pub state: &'a str,
    pub next_try_at: Option<i64>,
    pub error: Option<&'a str>,
    /// The provider's code for `error` (`isv.BUSINESS_LIMIT_CONTROL`,
    /// `http_503`, `timeout`...).
    pub error_code: Option<&'a str>,
    pub message_id: Option<&'a str>,
    /// Who made this attempt, when another than the record names (a
    /// fallback provider).
    pub provider: Option<&'a str>,
    /// The task that carries the next attempt, when one is queued.
    pub task_id: Option<&'a str>,
    pub now_ms: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::test_support;

    const LEASE: i64 = 30_000;

    /// A failed attempt queues the next one before its record says
    /// `retrying` (so that a crash in between loses nothing): the next
    /// attempt can start while the record still says `sending`.
    async fn an_attempt_that_starts_before_its_predecessor_ends_waits_for_it(db: Database) {
        db.migrate().await.unwrap();
        let now = 1_700_000_000_000;
        let new = NewDelivery {
            id: "d1".into(),
            kind: "sms_code",
            provider: "log",
            recipient: "138****0001".into(),
            purpose: "register".into(),
            task_id: "t1".into(),
            now_ms: now,
            expires_at: None,
            payload: None,
            user_id: None,
        };
        db.insert_delivery(&new).await.unwrap();
        assert_eq!(db.claim_delivery("d1", 0, now, LEASE).await.unwrap(), Claim::Claimed);
        assert_eq!(db.claim_delivery("d1", 0, now + 1, LEASE).await.unwrap(), Claim::Held { until_ms: now + LEASE });
        // Attempt 1 was queued by attempt 0, which has not recorded its end:
        // look again soon, the end is a moment away.
        assert_eq!(db.claim_delivery("d1", 1, now + 2, LEASE).await.unwrap(), Claim::Held { until_ms: now + 2 });
        // Attempt 0's worker died after queueing attempt 1: once its lease
        // is over, attempt 1 goes ahead.
        let later = now + LEASE + 1;
        assert_eq!(db.claim_delivery("d1", 1, later, LEASE).await.unwrap(), Claim::Claimed);
        let record = db.find_delivery("d1").await.unwrap().unwrap();
        assert_eq!((record.state.as_str(), record.attempts), (state::SENDING, 2));
        // The dead worker's end, written late, changes nothing.
        let retrying = DeliveryEnd {
            state: state::RETRYING,
            next_try_at: None,
            error: None,
            error_code: None,
            message_id: None,
            task_id: None,
            provider: None,
            now_ms: later,
        };
        assert!(!db.finish_delivery("d1", 1, &retrying).await.unwrap());
        assert_eq!(
            db.claim_delivery("d1", 1, later + 1, LEASE).await.unwrap(),
            Claim::Held { until_ms: later + LEASE }
        );
        assert_eq!(db.claim_delivery("d1", 0, later + 1, LEASE).await.unwrap(), Claim::Gone);
    }

    #[tokio::test]
    async fn claims_on_sqlite() {
        let dir = std::env::temp_dir().join(format!("records-{}", uuid::Uuid::new_v4().simple()));
        let url = format!("sqlite://{}/app.db", dir.display());
        an_attempt_that_starts_before_its_predecessor_ends_waits_for_it(Database::connect(&url).await.unwrap()).await;
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn claims_on_postgres() {
        let Some(server) = test_support::postgres_url() else { return };
        let url = test_support::fresh_postgres_database(&server).await;
        an_attempt_that_starts_before_its_predecessor_ends_waits_for_it(Database::connect(&url).await.unwrap()).await;
    }
}
