//! The two kinds of link the site mails: an e-mail verification (an address
//! a user asked to bind, until its link is followed) and a password reset.
//! Rows hold only the SHA-256 of a link's token. Each use is one
//! conditional UPDATE, so of two simultaneous uses one wins, on both
//! backends.

use super::{Database, DbError, on_pool, unique_violation};
use crate::{
    core::delivery::{NewDelivery, write_deliveries},
    rules::Email,
};

/// Why a link does not work (or that it does).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkState {
    Usable,
    Expired,
    /// Followed already, or (a reset link) the password changed since.
    Used,
    Unknown,
}

/// An address waiting for its verification link.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct PendingEmail {
    pub email: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// What following a verification link did.
#[derive(Clone, Debug)]
pub enum EmailVerification {
    Verified {
        user_id: i64,
        email: String,
        /// The notice written with the change (to the address it replaced),
        /// for the caller to queue (`delivery::queue_written`).
        notice: Option<Box<NewDelivery>>,
    },
    /// Another account verified this address first (the unique index said so).
    Taken,
    Refused(LinkState),
}

/// What using a reset link did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PasswordReset {
    Reset { user_id: i64, sessions_ended: u64 },
    Refused(LinkState),
}

#[derive(sqlx::FromRow)]
struct LinkRow {
    user_id: i64,
    expires_at: i64,
    used_at: Option<i64>,
    /// Reset links: whether the password is still the one the link may replace.
    current: bool,
}

impl LinkRow {
    fn state(&self, now_ms: i64) -> LinkState {
        if self.used_at.is_some() || !self.current {
            LinkState::Used
        } else if self.expires_at <= now_ms {
            LinkState::Expired
        } else {
            LinkState::Usable
        }
    }
}

impl Database {
    /// Starts (or starts over) the binding of `email` to the user: any older
    /// waiting link of theirs stops working.
    pub async fn start_email_verification(
        &self,
        user_id: i64,
        email: &Email,
        token_hash: &str,
        now_ms: i64,
        expires_at: i64,
    ) -> Result<(), DbError> {
        let forget = "DELETE FROM email_verifications WHERE user_id = $1 AND used_at IS NULL";
        let insert = "INSERT INTO email_verifications (token_hash, user_id, email, created_at, expires_at) \
                      VALUES ($1, $2, $3, $4, $5)";
        on_pool!(self, |pool| async {
            let mut tx = pool.begin().await?;
            sqlx::query(forget).bind(user_id).execute(&mut *tx).await?;
            sqlx::query(insert)
                .bind(token_hash)
                .bind(user_id)
                .bind(email.as_str())
                .bind(now_ms)
                .bind(expires_at)
                .execute(&mut *tx)
                .await?;
            tx.commit().await
        }
        .await)?;
        Ok(())
    }

    /// The address the user asked to bind and has not verified, if any (an
    /// expired one too: the user centre offers to send it again).
    pub async fn pending_email(&self, user_id: i64) -> Result<Option<PendingEmail>, DbError> {
        let q = "SELECT email, created_at, expires_at FROM email_verifications \
                 WHERE user_id = $1 AND used_at IS NULL ORDER BY created_at DESC LIMIT 1";
        Ok(on_pool!(self, |pool| sqlx::query_as::<_, PendingEmail>(q).bind(user_id).fetch_optional(pool).await)?)
    }

    /// Follows a verification link: marks it used and makes its address the
    /// user's verified one, in one transaction; the unique index on verified
    /// addresses decides between two accounts. `notice` is given the address
    /// it replaces and the new one; the notice it makes is written in the
    /// same transaction.
    pub async fn verify_email(
        &self,
        token_hash: &str,
        now_ms: i64,
        notice: impl FnOnce(i64, Option<&str>, &str) -> Option<NewDelivery>,
    ) -> Result<EmailVerification, DbError> {
        // A write first, so that SQLite takes its write lock at once.
        let claim = "UPDATE email_verifications SET used_at = $2 \
                     WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING user_id, email";
        let previous = "SELECT email FROM users WHERE id = $1";
        let set = "UPDATE users SET email = $2, email_verified = TRUE WHERE id = $1";
        let outcome = on_pool!(self, |pool| async {
            let mut tx = pool.begin().await?;
            let Some((user_id, email)) = sqlx::query_as::<_, (i64, String)>(claim)
                .bind(token_hash)
                .bind(now_ms)
                .fetch_optional(&mut *tx)
                .await?
            else {
                return Ok(None);
            };
            let previous: Option<String> =
                sqlx::query_scalar(previous).bind(user_id).fetch_optional(&mut *tx).await?.flatten();
            match sqlx::query(set).bind(user_id).bind(&email).execute(&mut *tx).await {
                Ok(_) => {}
                Err(e) if unique_violation(&e).is_some() => return Ok(Some(EmailVerification::Taken)),
                Err(e) => return Err(e),
            }
            let notice = notice(user_id, previous.as_deref(), &email).map(Box::new);
            write_deliveries!(tx, notice.iter().map(|n| &**n)).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(Some(EmailVerification::Verified { user_id, email, notice }))
        }
        .await)?;
        match outcome {
            Some(done) => Ok(done),
            None => Ok(EmailVerification::Refused(self.link_state(VERIFY_STATE, token_hash, now_ms).await?.0)),
        }
    }

    /// Whether a verification link works now, and (when it does) the address
    /// it would verify. Reads only.
    pub async fn email_verification_link(
        &self,
        token_hash: &str,
        now_ms: i64,
    ) -> Result<(LinkState, Option<(String, String)>), DbError> {
        let (state, _) = self.link_state(VERIFY_STATE, token_hash, now_ms).await?;
        if state != LinkState::Usable {
            return Ok((state, None));
        }
        // The address, and the mobile of the account it would be bound to.
        let q = "SELECT v.email, u.mobile FROM email_verifications v JOIN users u ON u.id = v.user_id \
                 WHERE v.token_hash = $1";
        let found = on_pool!(self, |pool| sqlx::query_as::<_, (String, String)>(q)
            .bind(token_hash)
            .fetch_optional(pool)
            .await)?;
        Ok((state, found))
    }

    /// Unbinds the verified address and forgets any waiting one.
    pub async fn remove_email(&self, user_id: i64) -> Result<bool, DbError> {
        let forget = "DELETE FROM email_verifications WHERE user_id = $1 AND used_at IS NULL";
        let clear = "UPDATE users SET email = NULL, email_verified = FALSE WHERE id = $1 AND email IS NOT NULL";
        let cleared = on_pool!(self, |pool| async {
            let mut tx = pool.begin().await?;
            let cleared = sqlx::query(clear).bind(user_id).execute(&mut *tx).await?.rows_affected();
            let forgot = sqlx::query(forget).bind(user_id).execute(&mut *tx).await?.rows_affected();
            tx.commit().await?;
            Ok::<_, sqlx::Error>(cleared + forgot)
        }
        .await)?;
        Ok(cleared > 0)
    }

    /// Keeps a reset link for the user's current password. Idempotent: a
    /// retried delivery of the same link writes nothing new.
    pub async fn insert_password_reset(
        &self,
        token_hash: &str,
        user_id: i64,
        password_version: i64,
        now_ms: i64,
        expires_at: i64,
    ) -> Result<(), DbError> {
        let q = "INSERT INTO password_resets (token_hash, user_id, password_version, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (token_hash) DO NOTHING";
        on_pool!(self, |pool| sqlx::query(q)
            .bind(token_hash)
            .bind(user_id)
            .bind(password_version)
            .bind(now_ms)
            .bind(expires_at)
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Whether a reset link works now, and for whom.
    pub async fn password_reset_link(
        &self,
        token_hash: &str,
        now_ms: i64,
    ) -> Result<(LinkState, Option<i64>), DbError> {
        self.link_state(RESET_STATE, token_hash, now_ms).await
    }

    /// Uses a reset link: marks it used, sets the new password, ends every
    /// session and writes `notices`, in one transaction, only while the
    /// password is the one the link was made for. Of two simultaneous uses
    /// one wins.
    pub async fn reset_password_with_link(
        &self,
        token_hash: &str,
        new_hash: &super::PasswordHash,
        now_ms: i64,
        notices: &[NewDelivery],
    ) -> Result<PasswordReset, DbError> {
        let claim = "UPDATE password_resets SET used_at = $2 \
                     WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING user_id, password_version";
        let set = "UPDATE users SET password_hash = $2, password_version = password_version + 1 \
                   WHERE id = $1 AND password_version = $3";
        let reset = on_pool!(self, |pool| async {
            let mut tx = pool.begin().await?;
            let Some((user_id, version)) =
                sqlx::query_as::<_, (i64, i64)>(claim).bind(token_hash).bind(now_ms).fetch_optional(&mut *tx).await?
            else {
                return Ok(None);
            };
            let changed =
                sqlx::query(set).bind(user_id).bind(new_hash.as_str()).bind(version).execute(&mut *tx).await?;
            if changed.rows_affected() != 1 {
                // The password changed since the link was made: it is dead.
                return Ok(None);
            }
            // Every session and waiting e-mail link ends with the old
            // password, in the same step.
            let ended = super::end_what_a_new_password_ends!(tx, user_id, "", now_ms).await?;
            write_deliveries!(tx, notices).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(Some((user_id, ended)))
        }
        .await)?;
        match reset {
            Some((user_id, sessions_ended)) => Ok(PasswordReset::Reset { user_id, sessions_ended }),
            None => Ok(PasswordReset::Refused(self.link_state(RESET_STATE, token_hash, now_ms).await?.0)),
        }
    }

    /// A link's state, and the user it was made for when it exists.
    async fn link_state(
        &self,
        query: &'static str,
        token_hash: &str,
        now_ms: i64,
    ) -> Result<(LinkState, Option<i64>), DbError> {
        let row: Option<LinkRow> =
            on_pool!(self, |pool| sqlx::query_as::<_, LinkRow>(query).bind(token_hash).fetch_optional(pool).await)?;
        Ok(row.map_or((LinkState::Unknown, None), |r| (r.state(now_ms), Some(r.user_id))))
    }

    /// Forgets links that ended (used or expired) before `before_ms`.
    pub async fn forget_old_links(&self, before_ms: i64) -> Result<u64, DbError> {
        let mut forgotten = 0;
        for table in ["email_verifications", "password_resets"] {
            let q = format!("DELETE FROM {table} WHERE expires_at < $1");
            forgotten += on_pool!(self, |pool| sqlx::query(sqlx::AssertSqlSafe(q.clone()))
                .bind(before_ms)
                .execute(pool)
                .await
                .map(|r| r.rows_affected()))?;
        }
        Ok(forgotten)
    }
}

/// A verification link's state.
const VERIFY_STATE: &str =
    "SELECT user_id, expires_at, used_at, TRUE AS current FROM email_verifications WHERE token_hash = $1";

/// A reset link's state: it is current while the password is the one the
/// link was made for.
const RESET_STATE: &str = "SELECT r.user_id, r.expires_at, r.used_at, (u.password_version = r.password_version) AS current \
                           FROM password_resets r JOIN users u ON u.id = r.user_id WHERE r.token_hash = $1";
