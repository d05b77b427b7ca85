//! 注销 in the database: a person's request (the date in `users.delete_after`,
//! every session ended, the notice written, one transaction), its
//! cancellation, and the erasure itself: every row of the account goes, not
//! a flag. What stays is `erased_accounts`: the id and the OpenID Connect
//! subject, so that neither is ever given to anyone else.
//!
//! On SQLite every connection runs with `secure_delete` (deleted content is
//! overwritten with zeros, in the table's pages and its indexes' alike), and
//! an erasure ends with a WAL checkpoint that empties the WAL: afterwards
//! neither the file nor its WAL holds the number or the address.

use crate::core::{
    db::{Database, DbError, END_SESSIONS, UserRow, on_pool},
    delivery::{NewDelivery, QUEUE_NAME, write_deliveries},
};

/// What was erased, for the notice and the log.
#[derive(Clone, Debug)]
pub struct Erased {
    pub user_id: i64,
    /// The number it had: the store's codes for it go too.
    pub mobile: String,
    /// The notice that the account is gone, written with the erasure.
    pub notice: Option<NewDelivery>,
}

/// The rows of an account, child tables first (foreign keys). `$1` is the id.
const ERASE_ROWS: &[&str] = &[
    "DELETE FROM oidc_refresh_tokens WHERE grant_id IN (SELECT id FROM oidc_grants WHERE user_id = $1)",
    "DELETE FROM oidc_grants WHERE user_id = $1",
    "DELETE FROM oidc_consents WHERE user_id = $1",
    "DELETE FROM legal_acceptances WHERE user_id = $1",
    "DELETE FROM login_attempts WHERE user_id = $1",
    "DELETE FROM sessions WHERE user_id = $1",
    "DELETE FROM email_verifications WHERE user_id = $1",
    "DELETE FROM password_resets WHERE user_id = $1",
    "DELETE FROM deliveries WHERE user_id = $1",
];

impl Database {
    /// Records a 注销 request: the account goes at `delete_after`, every
    /// session ends now, and `notices` are written, in one transaction.
    /// False (and nothing changed) when a request already waits.
    pub async fn request_deletion(
        &self,
        user_id: i64,
        delete_after: i64,
        now_ms: i64,
        notices: &[NewDelivery],
    ) -> Result<bool, DbError> {
        let set = "UPDATE users SET delete_after = $2 WHERE id = $1 AND delete_after IS NULL";
        Ok(on_pool!(self, |pool| async {
            let mut tx = pool.begin().await?;
            let set = sqlx::query(set).bind(user_id).bind(delete_after).execute(&mut *tx).await?;
            if set.rows_affected() == 0 {
                return Ok(false);
            }
            sqlx::query(END_SESSIONS).bind(user_id).bind(now_ms).bind("").execute(&mut *tx).await?;
            write_deliveries!(tx, notices).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(true)
        }
        .await)?)
    }

    /// Withdraws a waiting request (撤销注销); false when none waits (or the
    /// erasure won the race: the account is gone).
    pub async fn cancel_deletion(&self, user_id: i64) -> Result<bool, DbError> {
        let q = "UPDATE users SET delete_after = NULL WHERE id = $1 AND delete_after IS NOT NULL";
        let done = on_pool!(self, |pool| sqlx::query(q).bind(user_id).execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(done == 1)
    }

    /// Accounts whose date has come, the oldest first.
    pub async fn due_deletions(&self, now_ms: i64, limit: i64) -> Result<Vec<i64>, DbError> {
        let q = "SELECT id FROM users WHERE delete_after IS NOT NULL AND delete_after <= $1 \
                 ORDER BY delete_after LIMIT $2";
        Ok(on_pool!(self, |pool| sqlx::query_scalar(q).bind(now_ms).bind(limit).fetch_all(pool).await)?)
    }

    /// Erases the account `user_id`, in one transaction: when `due_by` is
    /// given only if its request still waits and its date is at or before
    /// it (a cancellation that commits first wins); else at once (an
    /// operator). `notice` makes the "account gone" notice from the row
    /// read inside the transaction. `None` when there was nothing to erase.
    pub async fn erase_user(
        &self,
        user_id: i64,
        due_by: Option<i64>,
        now_ms: i64,
        notice: impl FnOnce(&UserRow) -> Option<NewDelivery>,
    ) -> Result<Option<Erased>, DbError> {
        // The first write takes the row (PostgreSQL) or the file (SQLite):
        // a cancellation waits for this transaction, then finds nothing.
        let claim = match due_by {
            Some(_) => "UPDATE users SET is_active = FALSE WHERE id = $1 AND delete_after <= $2",
            None => "UPDATE users SET is_active = FALSE WHERE id = $1 AND $2 = $2",
        };
        let read = format!("SELECT {} FROM users WHERE id = $1", crate::core::db::USER_COLUMNS);
        let tombstone = "INSERT INTO erased_accounts (id, oidc_subject, erased_at) \
                         SELECT id, oidc_subject, $2 FROM users WHERE id = $1";
        let erased = on_pool!(self, |pool| async {
            let mut tx = pool.begin().await?;
            let claimed = sqlx::query(claim).bind(user_id).bind(due_by.unwrap_or(i64::MAX)).execute(&mut *tx).await?;
            if claimed.rows_affected() == 0 {
                return Ok(None);
            }
            let user: UserRow =
                sqlx::query_as(sqlx::AssertSqlSafe(read.as_str())).bind(user_id).fetch_one(&mut *tx).await?;
            for statement in ERASE_ROWS {
                sqlx::query(sqlx::AssertSqlSafe(*statement)).bind(user_id).execute(&mut *tx).await?;
            }
            // What the development outbox kept for this person.
            let outbox = "DELETE FROM dev_outbox WHERE recipient = $1 OR recipient = $2";
            let email = user.email.clone().unwrap_or_default();
            sqlx::query(outbox).bind(&user.mobile).bind(&email).execute(&mut *tx).await?;
            sqlx::query(tombstone).bind(user_id).bind(now_ms).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM users WHERE id = $1").bind(user_id).execute(&mut *tx).await?;
            let notice = notice(&user);
            write_deliveries!(tx, notice.iter()).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(Some((Erased { user_id, mobile: user.mobile.clone(), notice }, user)))
        }
        .await)?;
        let Some((erased, user)) = erased else { return Ok(None) };
        self.forget_finished_tasks_of(&[user.mobile.as_str(), user.email.as_deref().unwrap_or("")]).await?;
        self.empty_the_wal().await;
        Ok(Some(erased))
    }

    /// Deletes the finished delivery tasks that name any of `values` (a
    /// number, an address) in their message: the janitor would only forget
    /// them after a code's life. Matched as a JSON string, quotes included,
    /// so that `a@b.cn` never matches `aa@b.cn`. (A task still to run is
    /// left to deliver what was accepted; it goes once finished.)
    async fn forget_finished_tasks_of(&self, values: &[&str]) -> Result<(), DbError> {
        const FINISHED: &str = "status IN ('Done', 'Failed', 'Killed')";
        for value in values.iter().filter(|v| !v.is_empty()) {
            let quoted = serde_json::to_string(value).unwrap_or_default();
            match self {
                Database::Sqlite(pool, _) => {
                    let q = format!(
                        "DELETE FROM Jobs WHERE job_type = $1 AND {FINISHED} AND instr(CAST(job AS TEXT), $2) > 0"
                    );
                    sqlx::query(sqlx::AssertSqlSafe(q)).bind(QUEUE_NAME).bind(&quoted).execute(pool).await?;
                }
                Database::Postgres(pool) => {
                    let q = format!(
                        "DELETE FROM apalis.jobs WHERE job_type = $1 AND {FINISHED} AND strpos(job::text, $2) > 0"
                    );
                    sqlx::query(sqlx::AssertSqlSafe(q)).bind(QUEUE_NAME).bind(&quoted).execute(pool).await?;
                }
            }
        }
        Ok(())
    }

    /// SQLite: copies the WAL into the file and truncates it, so that the
    /// pages written before an erasure are nowhere but overwritten. A reader
    /// in the middle of a read can keep it from finishing: then the next
    /// erasure (or SQLite's own checkpoints) does it; logged.
    pub(crate) async fn empty_the_wal(&self) {
        let Database::Sqlite(pool, _) = self else { return };
        match sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(TRUNCATE)").fetch_one(pool).await {
            Ok((0, _, _)) => {}
            Ok((busy, log, done)) => {
                tracing::warn!(busy, log, done, "an erasure's WAL checkpoint did not finish; a later one will")
            }
            Err(e) => tracing::warn!(error = %e, "an erasure's WAL checkpoint failed; a later one will"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::test_support;

    const NOW: i64 = 1_700_000_000_000;
    const WEEK: i64 = 7 * 86_400_000;

    /// What both backends must show: a cancellation that commits before the
    /// erasure wins; the erasure takes every row that names the account and
    /// keeps its id and subject, which no new account is given.
    async fn erasure_suite(db: Database) {
        let (user_id, client_id) = test_support::oidc_person(&db, NOW).await;
        let subject = db.oidc_subject(user_id).await.unwrap();
        db.record_consent(user_id, &client_id, "openid", NOW).await.unwrap();

        assert!(db.request_deletion(user_id, NOW + WEEK, NOW, &[]).await.unwrap());
        assert!(!db.request_deletion(user_id, NOW + 2 * WEEK, NOW, &[]).await.unwrap(), "one request waits");
        assert!(db.find_session("s1").await.unwrap().unwrap().ended_at.is_some(), "its sessions ended");
        assert_eq!(db.due_deletions(NOW + WEEK - 1, 10).await.unwrap(), Vec::<i64>::new());
        assert_eq!(db.due_deletions(NOW + WEEK, 10).await.unwrap(), [user_id]);

        // The worker listed it as due; its owner cancels before it erases.
        assert!(db.cancel_deletion(user_id).await.unwrap());
        assert!(db.erase_user(user_id, Some(NOW + WEEK), NOW + WEEK, |_| None).await.unwrap().is_none());
        assert!(db.find_user(user_id).await.unwrap().is_some(), "a cancelled request erases nothing");
        // Not yet due: nothing either.
        assert!(db.request_deletion(user_id, NOW + WEEK, NOW, &[]).await.unwrap());
        assert!(db.erase_user(user_id, Some(NOW + WEEK - 1), NOW, |_| None).await.unwrap().is_none());

        let erased = db.erase_user(user_id, Some(NOW + WEEK), NOW + WEEK, |_| None).await.unwrap();
        assert_eq!(erased.map(|e| e.mobile), Some("13900139000".to_owned()));
        assert!(db.find_user(user_id).await.unwrap().is_none());
        assert!(db.find_session("s1").await.unwrap().is_none());
        assert!(db.consented_scope(user_id, &client_id).await.unwrap().is_none());
        let kept = "SELECT oidc_subject FROM erased_accounts WHERE id = $1";
        let kept: Option<String> =
            on_pool!(&db, |pool| sqlx::query_scalar(kept).bind(user_id).fetch_one(pool).await).unwrap();
        assert_eq!(kept, Some(subject.clone()), "the id and the subject stay, and nothing else");
        assert!(db.erase_user(user_id, None, NOW, |_| None).await.unwrap().is_none(), "nothing left");

        // A new account on the same number never gets the old subject, even
        // when the random draw would give it.
        let (again, _) = test_support::oidc_person(&db, NOW).await;
        assert_ne!(again, user_id, "ids are never reused");
        let take = crate::core::oidc::grants::TAKE_SUBJECT;
        let taken = on_pool!(&db, |pool| sqlx::query(take)
            .bind(again)
            .bind(&subject)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))
        .unwrap();
        assert_eq!(taken, 0);
        assert_ne!(db.oidc_subject(again).await.unwrap(), subject);
    }

    #[tokio::test]
    async fn erasure_takes_the_rows_and_keeps_the_subject_on_sqlite() {
        let (db, dir) = test_support::sqlite_database().await;
        erasure_suite(db).await;
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn erasure_takes_the_rows_and_keeps_the_subject_on_postgres() {
        let Some(db) = test_support::postgres_database().await else { return };
        erasure_suite(db).await;
    }
}
