//! Grants: one authorization of a client by a person, in one of their
//! sessions, and the code that carries it to the client. The code is kept
//! as its SHA-256, works once and for a minute; its use is one conditional
//! UPDATE, so of two uses at once one wins, and a second use revokes the
//! grant (RFC 6749 §4.1.2: whatever the first use was given stops working).
//! A grant lives while its session does: signing out, "sign out
//! everywhere", a new password or a disabled account end it.

use crate::core::db::{Database, DbError, on_pool};

/// A grant about to be written, with its code.
pub struct NewGrant<'a> {
    pub id: &'a str,
    pub client_id: &'a str,
    pub user_id: i64,
    pub session_id: &'a str,
    pub scope: &'a str,
    pub nonce: Option<&'a str>,
    pub redirect_uri: &'a str,
    pub code_hash: &'a str,
    pub code_challenge: Option<&'a str>,
    pub code_expires_at: i64,
    pub now_ms: i64,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct GrantRow {
    pub id: String,
    pub client_id: String,
    pub user_id: i64,
    pub session_id: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub redirect_uri: String,
    pub code_challenge: Option<String>,
    pub created_at: i64,
}

const GRANT_COLUMNS: &str =
    "id, client_id, user_id, session_id, scope, nonce, redirect_uri, code_challenge, created_at";

/// What presenting a code did.
#[derive(Debug)]
pub enum Redeemed {
    /// The code's first use, in time: its grant.
    Granted(GrantRow),
    /// Used before: its grant is revoked now.
    Replayed,
    /// Past its minute, or of a revoked grant.
    Expired,
    Unknown,
}

/// What presenting a refresh token did.
#[derive(Debug)]
pub enum Refreshed {
    /// Its first use, in time: it is used now and its successor written;
    /// the grant it belongs to, read in the same transaction (`None`: the
    /// sign-in behind it has ended).
    Rotated { grant: Option<LiveGrant> },
    /// Used before: a copy is in someone else's hands. Its grant is
    /// revoked now, and with it every token of the family.
    Reused,
    /// Past its time, or never ours.
    Unknown,
}

/// A live grant, with what its tokens say of the sign-in behind it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct LiveGrant {
    pub id: String,
    pub client_id: String,
    pub user_id: i64,
    pub session_id: String,
    pub scope: String,
    /// The session's start (ms): the ID token's `auth_time`.
    pub auth_time: i64,
    /// How the session was signed in.
    pub method: String,
    /// When the session ends (ms): a refresh token lasts no longer.
    pub session_expires_at: i64,
    /// The account's subject, once made (`oidc_subject` makes it).
    pub subject: Option<String>,
}

/// A grant by its id (`$1`) while it stands at `$2`: see `live_grant`.
const LIVE_GRANT: &str = "SELECT g.id, g.client_id, g.user_id, g.session_id, g.scope, s.created_at AS auth_time, \
    s.method, s.expires_at AS session_expires_at, u.oidc_subject AS subject \
    FROM oidc_grants g JOIN sessions s ON s.id = g.session_id JOIN users u ON u.id = g.user_id \
    JOIN oidc_clients c ON c.client_id = g.client_id \
    WHERE g.id = $1 AND g.revoked_at IS NULL AND s.ended_at IS NULL AND s.expires_at > $2 AND u.is_active AND c.enabled";

/// Gives account `$1` the subject `$2`: only if it has none, and only if no
/// erased account had it (a site must never take a new person for one who
/// left).
pub(crate) const TAKE_SUBJECT: &str = "UPDATE users SET oidc_subject = $2 WHERE id = $1 AND oidc_subject IS NULL \
     AND NOT EXISTS (SELECT 1 FROM erased_accounts WHERE oidc_subject = $2)";

impl Database {
    pub async fn insert_grant(&self, new: &NewGrant<'_>) -> Result<(), DbError> {
        let q = "INSERT INTO oidc_grants (id, client_id, user_id, session_id, scope, nonce, redirect_uri, code_hash, \
                 code_challenge, code_expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";
        on_pool!(self, |pool| sqlx::query(q)
            .bind(new.id)
            .bind(new.client_id)
            .bind(new.user_id)
            .bind(new.session_id)
            .bind(new.scope)
            .bind(new.nonce)
            .bind(new.redirect_uri)
            .bind(new.code_hash)
            .bind(new.code_challenge)
            .bind(new.code_expires_at)
            .bind(new.now_ms)
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Uses a code: once, within its minute, while its grant stands.
    pub async fn redeem_code(&self, code_hash: &str, now_ms: i64) -> Result<Redeemed, DbError> {
        let claim = format!(
            "UPDATE oidc_grants SET code_used_at = $2 WHERE code_hash = $1 AND code_used_at IS NULL \
             AND code_expires_at > $2 AND revoked_at IS NULL RETURNING {GRANT_COLUMNS}"
        );
        let claimed: Option<GrantRow> = on_pool!(self, |pool| sqlx::query_as(sqlx::AssertSqlSafe(claim.as_str()))
            .bind(code_hash)
            .bind(now_ms)
            .fetch_optional(pool)
            .await)?;
        if let Some(grant) = claimed {
            return Ok(Redeemed::Granted(grant));
        }
        let replay = "UPDATE oidc_grants SET revoked_at = COALESCE(revoked_at, $2) \
                      WHERE code_hash = $1 AND code_used_at IS NOT NULL";
        let replayed = on_pool!(self, |pool| sqlx::query(replay)
            .bind(code_hash)
            .bind(now_ms)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        if replayed == 1 {
            return Ok(Redeemed::Replayed);
        }
        let known = "SELECT COUNT(*) FROM oidc_grants WHERE code_hash = $1";
        let known: i64 = on_pool!(self, |pool| sqlx::query_scalar(known).bind(code_hash).fetch_one(pool).await)?;
        Ok(if known == 1 { Redeemed::Expired } else { Redeemed::Unknown })
    }

    /// The grant while it stands: not revoked, its session neither ended
    /// nor expired, its account active, its client registered and enabled.
    pub async fn live_grant(&self, grant_id: &str, now_ms: i64) -> Result<Option<LiveGrant>, DbError> {
        Ok(on_pool!(self, |pool| sqlx::query_as(LIVE_GRANT).bind(grant_id).bind(now_ms).fetch_optional(pool).await)?)
    }

    /// The subject clients know `user_id` by, made on first need (a read
    /// after that: no write per token), never one an erased account had.
    pub async fn oidc_subject(&self, user_id: i64) -> Result<String, DbError> {
        let read = "SELECT oidc_subject FROM users WHERE id = $1";
        let set = TAKE_SUBJECT;
        let fresh = hex::encode(rand::random::<[u8; 16]>());
        let subject: Option<String> = on_pool!(self, |pool| async {
            let known: Option<String> = sqlx::query_scalar(read).bind(user_id).fetch_one(pool).await?;
            if known.is_some() {
                return Ok(known);
            }
            sqlx::query(set).bind(user_id).bind(&fresh).execute(pool).await?;
            sqlx::query_scalar(read).bind(user_id).fetch_one(pool).await
        }
        .await)?;
        subject.ok_or(DbError::Unavailable(sqlx::Error::RowNotFound))
    }

    /// Writes a grant's first refresh token.
    pub async fn insert_refresh_token(
        &self,
        token_hash: &str,
        grant_id: &str,
        now_ms: i64,
        expires_at: i64,
    ) -> Result<(), DbError> {
        let q =
            "INSERT INTO oidc_refresh_tokens (token_hash, grant_id, created_at, expires_at) VALUES ($1, $2, $3, $4)";
        on_pool!(self, |pool| sqlx::query(q)
            .bind(token_hash)
            .bind(grant_id)
            .bind(now_ms)
            .bind(expires_at)
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Uses a refresh token and writes its successor (`next_hash`), in one
    /// transaction: of two uses at once, one rotates and the other finds it
    /// used, which revokes the grant.
    pub async fn rotate_refresh_token(
        &self,
        token_hash: &str,
        next_hash: &str,
        now_ms: i64,
    ) -> Result<Refreshed, DbError> {
        // The grant by its key (`EXISTS`), not `IN (every live grant)`: the
        // bench measured 171 refreshes/s with the list, SQLite scanning it
        // on each.
        let claim = "UPDATE oidc_refresh_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL \
                     AND expires_at > $2 AND EXISTS (SELECT 1 FROM oidc_grants g \
                     WHERE g.id = oidc_refresh_tokens.grant_id AND g.revoked_at IS NULL) \
                     RETURNING grant_id, expires_at";
        let next =
            "INSERT INTO oidc_refresh_tokens (token_hash, grant_id, created_at, expires_at) VALUES ($1, $2, $3, $4)";
        let reused = "UPDATE oidc_grants SET revoked_at = COALESCE(revoked_at, $2) \
                      WHERE id = (SELECT grant_id FROM oidc_refresh_tokens WHERE token_hash = $1 AND used_at IS NOT NULL)";
        Ok(on_pool!(self, |pool| async {
            let mut tx = pool.begin().await?;
            let claimed: Option<(String, i64)> =
                sqlx::query_as(claim).bind(token_hash).bind(now_ms).fetch_optional(&mut *tx).await?;
            let outcome = match claimed {
                Some((grant_id, expires_at)) => {
                    sqlx::query(next)
                        .bind(next_hash)
                        .bind(&grant_id)
                        .bind(now_ms)
                        .bind(expires_at)
                        .execute(&mut *tx)
                        .await?;
                    // Read here, not after: one transaction, one trip.
                    let grant =
                        sqlx::query_as(LIVE_GRANT).bind(&grant_id).bind(now_ms).fetch_optional(&mut *tx).await?;
                    Refreshed::Rotated { grant }
                }
                None => {
                    let revoked = sqlx::query(reused).bind(token_hash).bind(now_ms).execute(&mut *tx).await?;
                    if revoked.rows_affected() == 1 { Refreshed::Reused } else { Refreshed::Unknown }
                }
            };
            tx.commit().await?;
            Ok::<_, sqlx::Error>(outcome)
        }
        .await)?)
    }

    /// The grant of a refresh token that is neither used nor expired.
    pub async fn refresh_token_grant(&self, token_hash: &str, now_ms: i64) -> Result<Option<String>, DbError> {
        let q =
            "SELECT grant_id FROM oidc_refresh_tokens WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2";
        Ok(on_pool!(self, |pool| sqlx::query_scalar(q).bind(token_hash).bind(now_ms).fetch_optional(pool).await)?)
    }

    /// The client a grant was made for.
    pub async fn grant_client(&self, grant_id: &str) -> Result<Option<String>, DbError> {
        let q = "SELECT client_id FROM oidc_grants WHERE id = $1";
        Ok(on_pool!(self, |pool| sqlx::query_scalar(q).bind(grant_id).fetch_optional(pool).await)?)
    }

    /// Revokes a grant (its client's tokens stop at once).
    pub async fn revoke_grant(&self, grant_id: &str, now_ms: i64) -> Result<(), DbError> {
        let q = "UPDATE oidc_grants SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1";
        on_pool!(self, |pool| sqlx::query(q).bind(grant_id).bind(now_ms).execute(pool).await.map(|_| ()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::test_support;

    async fn a_code_works_once_and_a_replay_revokes_its_grant(db: Database) {
        let now = 1_700_000_000_000;
        let (user_id, client_id) = test_support::oidc_person(&db, now).await;
        let grant = |id: &'static str, code: &'static str| NewGrant {
            id,
            client_id: &client_id,
            user_id,
            session_id: "s1",
            scope: "openid",
            nonce: None,
            redirect_uri: "https://rp.example/cb",
            code_hash: code,
            code_challenge: None,
            code_expires_at: now + 60_000,
            now_ms: now,
        };
        db.insert_grant(&grant("g1", "h1")).await.unwrap();
        db.insert_grant(&grant("g2", "h2")).await.unwrap();
        db.insert_grant(&grant("g3", "h3")).await.unwrap();

        let (a, b) = tokio::join!(db.redeem_code("h1", now + 1), db.redeem_code("h1", now + 1));
        let outcomes = [a.unwrap(), b.unwrap()];
        assert_eq!(outcomes.iter().filter(|o| matches!(o, Redeemed::Granted(_))).count(), 1, "{outcomes:?}");
        assert!(outcomes.iter().any(|o| matches!(o, Redeemed::Replayed)), "{outcomes:?}");
        assert!(db.live_grant("g1", now + 2).await.unwrap().is_none(), "the replay revoked it");
        assert!(matches!(db.redeem_code("h2", now + 2).await.unwrap(), Redeemed::Granted(_)));
        let live = db.live_grant("g2", now + 2).await.unwrap().unwrap();
        assert_eq!((live.method.as_str(), live.auth_time), ("sms", now));
        assert!(matches!(db.redeem_code("h3", now + 60_000).await.unwrap(), Redeemed::Expired));
        assert!(matches!(db.redeem_code("nope", now).await.unwrap(), Redeemed::Unknown));
        // Refresh tokens rotate; a used one presented again revokes the family.
        db.insert_refresh_token("r1", "g2", now, now + 3_600_000).await.unwrap();
        let (a, b) =
            tokio::join!(db.rotate_refresh_token("r1", "r2", now + 5), db.rotate_refresh_token("r1", "r3", now + 5));
        let outcomes = [a.unwrap(), b.unwrap()];
        let rotated = |o: &Refreshed| matches!(o, Refreshed::Rotated { grant: Some(g) } if g.id == "g2");
        assert!(outcomes.iter().any(rotated), "{outcomes:?}");
        assert!(outcomes.iter().any(|o| matches!(o, Refreshed::Reused)), "{outcomes:?}");
        assert!(db.live_grant("g2", now + 6).await.unwrap().is_none(), "the reuse revoked the family");
        let successor = db.rotate_refresh_token("r2", "r4", now + 7).await.unwrap();
        assert!(matches!(successor, Refreshed::Unknown), "the successor died with its family: {successor:?}");
        assert!(matches!(db.rotate_refresh_token("nope", "r5", now + 7).await.unwrap(), Refreshed::Unknown));
        db.end_sessions(user_id, None, now + 3).await.unwrap();

        let subject = db.oidc_subject(user_id).await.unwrap();
        assert_eq!(subject.len(), 32);
        assert_eq!(db.oidc_subject(user_id).await.unwrap(), subject, "stable");
    }

    #[tokio::test]
    async fn codes_on_sqlite() {
        let (db, dir) = test_support::sqlite_database().await;
        a_code_works_once_and_a_replay_revokes_its_grant(db).await;
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn codes_on_postgres() {
        let Some(db) = test_support::postgres_database().await else { return };
        a_code_works_once_and_a_replay_revokes_its_grant(db).await;
    }
}
