//! What a person allowed, and where they are signed in: the consents given
//! to third-party clients (those registered with `--consent`), the
//! applications a person's live sign-ins reach (the user centre lists them
//! and takes them back), and the janitor's sweep of grants nothing can use
//! any more.

use crate::core::db::{Database, DbError, on_pool};

/// An application a person has signed in to, as the user centre lists it.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct ApplicationRow {
    pub client_id: String,
    pub name: String,
    /// The scopes it was given: the consent's, or else those of its grants.
    pub scope: String,
    /// The last authorization (ms), or the consent's time.
    pub last_authorized_at: i64,
}

/// One live sign-in of a client in one of a person's sessions.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct SessionClient {
    pub session_id: String,
    pub name: String,
}

/// Whether every scope of `asked` is among `given` (both space-separated).
pub fn covers(given: &str, asked: &str) -> bool {
    asked.split(' ').filter(|s| !s.is_empty()).all(|scope| given.split(' ').any(|g| g == scope))
}

/// The scopes of both, once each, in the order of `SCOPES`.
fn union(a: &str, b: &str) -> String {
    let all: Vec<&str> = a.split(' ').chain(b.split(' ')).collect();
    super::SCOPES.iter().filter(|known| all.contains(known)).copied().collect::<Vec<_>>().join(" ")
}

/// Grants that are live: not revoked, their code used, their session on.
const LIVE: &str = "g.revoked_at IS NULL AND g.code_used_at IS NOT NULL AND s.ended_at IS NULL AND s.expires_at > $2";

impl Database {
    /// The scopes `user_id` allowed `client_id`, if any.
    pub async fn consented_scope(&self, user_id: i64, client_id: &str) -> Result<Option<String>, DbError> {
        let q = "SELECT scope FROM oidc_consents WHERE user_id = $1 AND client_id = $2";
        Ok(on_pool!(self, |pool| sqlx::query_scalar(q).bind(user_id).bind(client_id).fetch_optional(pool).await)?)
    }

    /// Records that `user_id` allowed `client_id` the scopes of `scope`, on
    /// top of any allowed before.
    pub async fn record_consent(&self, user_id: i64, client_id: &str, scope: &str, now_ms: i64) -> Result<(), DbError> {
        let before = self.consented_scope(user_id, client_id).await?.unwrap_or_default();
        let q = "INSERT INTO oidc_consents (user_id, client_id, scope, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $4) ON CONFLICT (user_id, client_id) \
                 DO UPDATE SET scope = excluded.scope, updated_at = excluded.updated_at";
        let scope = union(&before, scope);
        on_pool!(self, |pool| sqlx::query(q)
            .bind(user_id)
            .bind(client_id)
            .bind(&scope)
            .bind(now_ms)
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// The applications `user_id` allowed or is signed in to now, the most
    /// recent first.
    pub async fn applications(&self, user_id: i64, now_ms: i64) -> Result<Vec<ApplicationRow>, DbError> {
        let signed_in = format!(
            "SELECT g.client_id, c.name, g.scope, g.created_at AS last_authorized_at \
             FROM oidc_grants g JOIN sessions s ON s.id = g.session_id JOIN oidc_clients c ON c.client_id = g.client_id \
             WHERE g.user_id = $1 AND {LIVE} ORDER BY g.created_at DESC"
        );
        let consented = "SELECT k.client_id, c.name, k.scope, k.updated_at AS last_authorized_at \
                         FROM oidc_consents k JOIN oidc_clients c ON c.client_id = k.client_id WHERE k.user_id = $1";
        let (grants, consents): (Vec<ApplicationRow>, Vec<ApplicationRow>) = on_pool!(self, |pool| async {
            let grants = sqlx::query_as(sqlx::AssertSqlSafe(signed_in.as_str()))
                .bind(user_id)
                .bind(now_ms)
                .fetch_all(pool)
                .await?;
            let consents = sqlx::query_as(consented).bind(user_id).fetch_all(pool).await?;
            Ok::<_, sqlx::Error>((grants, consents))
        }
        .await)?;
        let mut apps: Vec<ApplicationRow> = consents;
        for grant in grants {
            match apps.iter_mut().find(|app| app.client_id == grant.client_id) {
                Some(app) => {
                    app.last_authorized_at = app.last_authorized_at.max(grant.last_authorized_at);
                    app.scope = union(&app.scope, &grant.scope);
                }
                None => apps.push(grant),
            }
        }
        apps.sort_by(|a, b| b.last_authorized_at.cmp(&a.last_authorized_at).then(a.client_id.cmp(&b.client_id)));
        Ok(apps)
    }

    /// Takes back what `user_id` gave `client_id`: its consent, and every
    /// grant, so that its tokens stop at once. Whether there was anything.
    pub async fn revoke_application(&self, user_id: i64, client_id: &str, now_ms: i64) -> Result<bool, DbError> {
        let grants = "UPDATE oidc_grants SET revoked_at = $3 \
                      WHERE user_id = $1 AND client_id = $2 AND revoked_at IS NULL";
        let consent = "DELETE FROM oidc_consents WHERE user_id = $1 AND client_id = $2";
        let changed = on_pool!(self, |pool| async {
            let mut tx = pool.begin().await?;
            let revoked =
                sqlx::query(grants).bind(user_id).bind(client_id).bind(now_ms).execute(&mut *tx).await?.rows_affected();
            let forgotten = sqlx::query(consent).bind(user_id).bind(client_id).execute(&mut *tx).await?.rows_affected();
            tx.commit().await?;
            Ok::<_, sqlx::Error>(revoked + forgotten)
        }
        .await)?;
        Ok(changed > 0)
    }

    /// Which clients each live session of `user_id` signed in to.
    pub async fn session_clients(&self, user_id: i64, now_ms: i64) -> Result<Vec<SessionClient>, DbError> {
        let q = format!(
            "SELECT DISTINCT g.session_id, c.name FROM oidc_grants g JOIN sessions s ON s.id = g.session_id \
             JOIN oidc_clients c ON c.client_id = g.client_id WHERE g.user_id = $1 AND {LIVE} \
             ORDER BY g.session_id, c.name"
        );
        Ok(on_pool!(self, |pool| sqlx::query_as(sqlx::AssertSqlSafe(q.as_str()))
            .bind(user_id)
            .bind(now_ms)
            .fetch_all(pool)
            .await)?)
    }

    /// Forgets grants nothing can use any more (revoked, their code never
    /// used, or their session over, all before `before_ms`) and their
    /// refresh tokens, and refresh tokens past their time. Consents stay.
    pub async fn forget_dead_grants(&self, before_ms: i64) -> Result<u64, DbError> {
        let dead = "SELECT g.id FROM oidc_grants g JOIN sessions s ON s.id = g.session_id \
                    WHERE g.revoked_at < $1 OR (g.code_used_at IS NULL AND g.code_expires_at < $1) \
                    OR s.ended_at < $1 OR s.expires_at < $1";
        let tokens = format!("DELETE FROM oidc_refresh_tokens WHERE expires_at < $1 OR grant_id IN ({dead})");
        let grants = format!("DELETE FROM oidc_grants WHERE id IN ({dead})");
        Ok(on_pool!(self, |pool| async {
            let mut tx = pool.begin().await?;
            let tokens = sqlx::query(sqlx::AssertSqlSafe(tokens.as_str())).bind(before_ms).execute(&mut *tx).await?;
            let grants = sqlx::query(sqlx::AssertSqlSafe(grants.as_str())).bind(before_ms).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(tokens.rows_affected() + grants.rows_affected())
        }
        .await)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{db::NewSession, oidc::grants::NewGrant, test_support};

    const NOW: i64 = 1_700_000_000_000;
    const DAY: i64 = 86_400_000;

    /// Grants: `live` (code used, session on), `unused` (its code never
    /// used, long expired), `revoked` (long ago), `ended` (its session
    /// ended long ago); a refresh token each for `live` and `ended`.
    async fn grants(db: &Database, user_id: i64, client_id: &str) {
        let old_session = NewSession {
            id: "s-old",
            user_id,
            password_version: 0,
            now_ms: NOW - 10 * DAY,
            expires_at: i64::MAX,
            client_ip: "127.0.0.1",
            user_agent: "test",
            remember: false,
            method: "password",
        };
        assert!(db.create_session(&old_session).await.unwrap());
        db.end_sessions(user_id, Some("s1"), NOW - 9 * DAY).await.unwrap();
        for (id, session_id) in [("live", "s1"), ("unused", "s1"), ("revoked", "s1"), ("ended", "s-old")] {
            let grant = NewGrant {
                id,
                client_id,
                user_id,
                session_id,
                scope: "openid phone",
                nonce: None,
                redirect_uri: "https://rp.example/cb",
                code_hash: id,
                code_challenge: None,
                code_expires_at: NOW - 10 * DAY + 60_000,
                now_ms: NOW - 10 * DAY,
            };
            db.insert_grant(&grant).await.unwrap();
            if id != "unused" {
                assert!(matches!(
                    db.redeem_code(id, NOW - 10 * DAY).await.unwrap(),
                    crate::core::oidc::grants::Redeemed::Granted(_)
                ));
            }
        }
        db.revoke_grant("revoked", NOW - 9 * DAY).await.unwrap();
        db.insert_refresh_token("r-live", "live", NOW, NOW + DAY).await.unwrap();
        db.insert_refresh_token("r-ended", "ended", NOW - 10 * DAY, i64::MAX).await.unwrap();
    }

    async fn what_people_allowed_and_where_they_are_signed_in(db: Database) {
        let (user_id, client_id) = test_support::oidc_person(&db, NOW - 10 * DAY).await;
        grants(&db, user_id, &client_id).await;

        assert_eq!(db.consented_scope(user_id, &client_id).await.unwrap(), None);
        db.record_consent(user_id, &client_id, "openid phone", NOW).await.unwrap();
        db.record_consent(user_id, &client_id, "openid profile", NOW + 1).await.unwrap();
        let given = db.consented_scope(user_id, &client_id).await.unwrap().unwrap();
        assert_eq!(given, "openid profile phone", "a second consent adds to the first");

        let apps = db.applications(user_id, NOW).await.unwrap();
        assert_eq!(apps.len(), 1, "{apps:?}");
        assert_eq!((apps[0].name.as_str(), apps[0].scope.as_str()), ("Demo 商城", "openid profile phone"));
        let in_sessions = db.session_clients(user_id, NOW).await.unwrap();
        assert_eq!(in_sessions, vec![SessionClient { session_id: "s1".into(), name: "Demo 商城".into() }]);

        // The janitor forgets what nothing can use, and keeps the rest.
        let forgotten = db.forget_dead_grants(NOW - DAY).await.unwrap();
        assert_eq!(forgotten, 4, "three dead grants and one refresh token");
        assert!(db.live_grant("live", NOW).await.unwrap().is_some());
        assert_eq!(db.refresh_token_grant("r-live", NOW).await.unwrap().as_deref(), Some("live"));
        assert_eq!(db.grant_client("ended").await.unwrap(), None);
        assert_eq!(db.forget_dead_grants(NOW - DAY).await.unwrap(), 0);

        // Taking it back: the consent goes, the grant stops.
        assert!(!db.revoke_application(user_id + 1, &client_id, NOW).await.unwrap(), "not theirs to take");
        assert!(db.live_grant("live", NOW).await.unwrap().is_some());
        assert!(db.revoke_application(user_id, &client_id, NOW).await.unwrap());
        assert!(db.live_grant("live", NOW).await.unwrap().is_none());
        assert_eq!(db.consented_scope(user_id, &client_id).await.unwrap(), None);
        assert!(db.applications(user_id, NOW).await.unwrap().is_empty());
        assert!(!db.revoke_application(user_id, &client_id, NOW).await.unwrap());
    }

    #[tokio::test]
    async fn consents_on_sqlite() {
        let (db, dir) = test_support::sqlite_database().await;
        what_people_allowed_and_where_they_are_signed_in(db).await;
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn consents_on_postgres() {
        let Some(db) = test_support::postgres_database().await else { return };
        what_people_allowed_and_where_they_are_signed_in(db).await;
    }

    #[test]
    fn a_consent_covers_what_it_names_and_no_more() {
        assert!(covers("openid profile phone", "openid phone"));
        assert!(covers("openid phone", "openid  phone"));
        assert!(!covers("openid profile", "openid phone"));
        assert!(!covers("", "openid"));
        assert_eq!(union("openid phone", "profile openid"), "openid profile phone");
        assert_eq!(union("", "email"), "email");
    }
}
