//! The provider's signing keys: one RS256 and one ES256 key per
//! generation, made on first need and kept in the database, so that every
//! server signs with the same keys and publishes the same set. `rotate`
//! starts a generation: the keys it replaces stop signing at once and stay
//! published until every token they signed has expired. Private keys leave
//! this module only as signatures: nothing here is `Debug` or serialised.

use super::jws::{self, Alg, JwsError, PrivateKey, PublicKey};
use crate::core::{
    db::{Database, DbError, on_pool},
    now_ms,
};
use base64::{Engine, engine::general_purpose::STANDARD as B64};
use std::{
    sync::Arc,
    time::{Duration, Instant},
};

/// How long a server signs with the keys it read before it reads them
/// again: a rotation reaches every server within this.
pub const KEYS_RELOAD: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Key(#[from] JwsError),
    #[error("a stored key is unreadable: {0}")]
    Stored(String),
}

#[derive(sqlx::FromRow)]
struct KeyRow {
    kid: String,
    alg: String,
    generation: i64,
    private_key: String,
    created_at: i64,
    retired_at: Option<i64>,
}

/// A key as an operator sees it: never its private part.
#[derive(Clone, Debug, serde::Serialize)]
pub struct KeyInfo {
    pub kid: String,
    pub alg: &'static str,
    pub generation: i64,
    pub created_at: i64,
    /// When it stopped signing; it is published until `published_until`.
    pub retired_at: Option<i64>,
    pub published_until: Option<i64>,
    pub signing: bool,
}

/// The keys as read at one moment.
pub struct KeySet {
    generation: i64,
    /// The current generation's keys, one per algorithm.
    signing: Vec<(String, PrivateKey)>,
    /// Every key still published: the current ones and the retired ones
    /// whose tokens may live yet.
    published: Vec<(String, Alg, PublicKey)>,
}

impl KeySet {
    /// The key that signs with `alg` now, and its `kid`.
    pub fn signer(&self, alg: Alg) -> Option<(&str, &PrivateKey)> {
        self.signing.iter().find(|(_, key)| key.alg() == alg).map(|(kid, key)| (kid.as_str(), key))
    }

    /// The published key named `kid`, with its algorithm.
    pub fn public_key(&self, kid: &str) -> Option<(Alg, PublicKey)> {
        self.published.iter().find(|(k, _, _)| k == kid).map(|(_, alg, key)| (*alg, key.clone()))
    }

    /// The JWK Set (RFC 7517): public parts only.
    pub fn jwks(&self) -> serde_json::Value {
        let keys: Vec<_> = self.published.iter().map(|(kid, alg, key)| key.jwk(*alg, kid)).collect();
        serde_json::json!({ "keys": keys })
    }

    pub fn generation(&self) -> i64 {
        self.generation
    }
}

/// The signing keys of one server: read from the database, kept for
/// `KEYS_RELOAD`.
pub struct SigningKeys {
    db: Database,
    /// How long a retired key stays published: the longest a token it
    /// signed can live, and the time other servers may still sign with it.
    published_after_retiring: Duration,
    loaded: tokio::sync::Mutex<Option<(Instant, Arc<KeySet>)>>,
}

impl SigningKeys {
    /// `token_lifetime`: the longest any token we sign lives.
    pub fn new(db: Database, token_lifetime: Duration) -> SigningKeys {
        SigningKeys {
            db,
            published_after_retiring: token_lifetime + KEYS_RELOAD,
            loaded: tokio::sync::Mutex::new(None),
        }
    }

    /// The keys now; the first call on a database without keys makes them
    /// (one request makes them, the others wait for it).
    pub async fn current(&self) -> Result<Arc<KeySet>, KeyError> {
        let mut loaded = self.loaded.lock().await;
        if let Some((at, set)) = loaded.as_ref()
            && at.elapsed() < KEYS_RELOAD
        {
            return Ok(set.clone());
        }
        let set = match self.read().await? {
            Some(set) => set,
            None => {
                self.make_generation(1).await?;
                self.read().await?.ok_or_else(|| KeyError::Stored("no keys after making them".into()))?
            }
        };
        let set = Arc::new(set);
        *loaded = Some((Instant::now(), set.clone()));
        Ok(set)
    }

    /// Starts a new generation of keys; the old ones stop signing (on every
    /// server within `KEYS_RELOAD`) and stay published until their tokens
    /// have expired; keys retired longer ago are forgotten. Returns the new
    /// generation.
    pub async fn rotate(&self) -> Result<i64, KeyError> {
        let newest: Option<i64> =
            on_pool!(&self.db, |pool| sqlx::query_scalar("SELECT MAX(generation) FROM oidc_keys")
                .fetch_one(pool)
                .await)
            .map_err(DbError::from)?;
        let generation = newest.unwrap_or(0) + 1;
        self.make_generation(generation).await?;
        let now = now_ms();
        let retire = "UPDATE oidc_keys SET retired_at = $2 WHERE generation < $1 AND retired_at IS NULL";
        let forget = "DELETE FROM oidc_keys WHERE retired_at IS NOT NULL AND retired_at < $1";
        let forget_before = now - self.published_after_retiring.as_millis() as i64;
        on_pool!(&self.db, |pool| async {
            sqlx::query(retire).bind(generation).bind(now).execute(pool).await?;
            sqlx::query(forget).bind(forget_before).execute(pool).await.map(|_| ())
        }
        .await)
        .map_err(DbError::from)?;
        *self.loaded.lock().await = None;
        Ok(generation)
    }

    /// Every key kept, newest first, as an operator sees it.
    pub async fn list(&self) -> Result<Vec<KeyInfo>, KeyError> {
        let q = "SELECT kid, alg, generation, private_key, created_at, retired_at FROM oidc_keys \
                 ORDER BY generation DESC, alg";
        let rows: Vec<KeyRow> =
            on_pool!(&self.db, |pool| sqlx::query_as(q).fetch_all(pool).await).map_err(DbError::from)?;
        let keep = self.published_after_retiring.as_millis() as i64;
        rows.iter()
            .map(|row| {
                let alg = Alg::parse(&row.alg).ok_or_else(|| KeyError::Stored(format!("algorithm {}", row.alg)))?;
                Ok(KeyInfo {
                    kid: row.kid.clone(),
                    alg: alg.as_str(),
                    generation: row.generation,
                    created_at: row.created_at,
                    retired_at: row.retired_at,
                    published_until: row.retired_at.map(|at| at + keep),
                    signing: row.retired_at.is_none(),
                })
            })
            .collect()
    }

    /// The published keys and the current generation's, or none if there
    /// is no current generation.
    async fn read(&self) -> Result<Option<KeySet>, KeyError> {
        let q = "SELECT kid, alg, generation, private_key, created_at, retired_at FROM oidc_keys \
                 WHERE retired_at IS NULL OR retired_at > $1 ORDER BY generation DESC, alg";
        let cutoff = now_ms() - self.published_after_retiring.as_millis() as i64;
        let rows: Vec<KeyRow> =
            on_pool!(&self.db, |pool| sqlx::query_as(q).bind(cutoff).fetch_all(pool).await).map_err(DbError::from)?;
        let Some(generation) = rows.iter().filter(|r| r.retired_at.is_none()).map(|r| r.generation).max() else {
            return Ok(None);
        };
        let mut set = KeySet { generation, signing: Vec::new(), published: Vec::new() };
        for row in rows {
            let alg = Alg::parse(&row.alg).ok_or_else(|| KeyError::Stored(format!("algorithm {}", row.alg)))?;
            let der = B64.decode(&row.private_key).map_err(|_| KeyError::Stored(format!("key {}", row.kid)))?;
            let key = PrivateKey::from_pkcs8(alg, &der)?;
            set.published.push((row.kid.clone(), alg, key.public_key()));
            if row.generation == generation && row.retired_at.is_none() {
                set.signing.push((row.kid, key));
            }
        }
        Ok(Some(set))
    }

    /// Makes generation `generation`'s keys, unless another server did: of
    /// two at once, the first key written for each algorithm stays.
    async fn make_generation(&self, generation: i64) -> Result<(), KeyError> {
        let made = tokio::task::spawn_blocking(|| {
            Alg::ALL.into_iter().map(|alg| Ok((alg, jws::generate_pkcs8(alg)?))).collect::<Result<Vec<_>, JwsError>>()
        })
        .await
        .map_err(|e| KeyError::Stored(e.to_string()))??;
        let insert = "INSERT INTO oidc_keys (kid, alg, generation, private_key, created_at) VALUES ($1, $2, $3, $4, $5) \
                      ON CONFLICT (generation, alg) DO NOTHING";
        let now = now_ms();
        for (alg, der) in made {
            let kid = PrivateKey::from_pkcs8(alg, &der)?.public_key().thumbprint();
            let private_key = B64.encode(&der);
            on_pool!(&self.db, |pool| sqlx::query(insert)
                .bind(&kid)
                .bind(alg.as_str())
                .bind(generation)
                .bind(&private_key)
                .bind(now)
                .execute(pool)
                .await
                .map(|_| ()))
            .map_err(DbError::from)?;
        }
        tracing::info!(generation, "made OpenID Connect signing keys");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::test_support;
    use serde_json::Value;

    async fn keys_on(db: &Database) -> SigningKeys {
        SigningKeys::new(db.clone(), Duration::from_secs(600))
    }

    /// Two servers on one database: the first need makes one set, which
    /// both sign with and publish, also when both need it at once.
    async fn servers_share_one_set_of_keys(db: Database) {
        db.migrate().await.unwrap();
        let (a, b) = (keys_on(&db).await, keys_on(&db).await);
        let (ka, kb) = tokio::join!(a.current(), b.current());
        let (ka, kb) = (ka.unwrap(), kb.unwrap());
        // Of two made at once, one per algorithm stays; a server that read
        // its own before the other's write reads again within KEYS_RELOAD.
        let fresh = keys_on(&db).await.current().await.unwrap();
        assert_eq!(fresh.jwks()["keys"].as_array().unwrap().len(), 2, "{}", fresh.jwks());
        for alg in Alg::ALL {
            let kid = fresh.signer(alg).unwrap().0;
            assert!(ka.public_key(kid).is_some() || kb.public_key(kid).is_some());
        }
        assert_eq!(a.list().await.unwrap().len(), 2);
    }

    #[tokio::test]
    async fn servers_share_one_set_on_sqlite() {
        let dir = std::env::temp_dir().join(format!("keys-{}", uuid::Uuid::new_v4().simple()));
        servers_share_one_set_of_keys(Database::connect(&format!("sqlite://{}/app.db", dir.display())).await.unwrap())
            .await;
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn servers_share_one_set_on_postgres() {
        let Some(server) = test_support::postgres_url() else { return };
        let url = test_support::fresh_postgres_database(&server).await;
        servers_share_one_set_of_keys(Database::connect(&url).await.unwrap()).await;
    }

    #[tokio::test]
    async fn a_rotation_signs_with_new_keys_and_publishes_the_old_until_their_tokens_end() {
        let dir = std::env::temp_dir().join(format!("keys-{}", uuid::Uuid::new_v4().simple()));
        let db = Database::connect(&format!("sqlite://{}/app.db", dir.display())).await.unwrap();
        db.migrate().await.unwrap();
        let keys = keys_on(&db).await;
        let first = keys.current().await.unwrap();
        let (old_kid, old_key) = first.signer(Alg::Rs256).unwrap();
        let old_token = jws::sign(old_key, old_kid, None, &serde_json::json!({ "sub": "1" })).unwrap();

        assert_eq!(keys.rotate().await.unwrap(), 2);
        let second = keys.current().await.unwrap();
        assert_eq!(second.generation(), 2);
        assert_ne!(second.signer(Alg::Rs256).unwrap().0, old_kid, "a new key signs");
        assert_eq!(second.jwks()["keys"].as_array().unwrap().len(), 4, "the old ones are still published");
        let checked: jws::Verified<Value> = jws::verify(&old_token, |kid| second.public_key(kid)).unwrap();
        assert_eq!(checked.claims["sub"], "1", "a token the old key signed still checks");
        let listed = keys.list().await.unwrap();
        assert_eq!(listed.iter().filter(|k| k.signing).count(), 2);
        assert!(listed.iter().filter(|k| !k.signing).all(|k| k.published_until.is_some()));

        // Once the old keys' tokens have all expired, they are gone.
        let long_ago = now_ms() - Duration::from_secs(3600).as_millis() as i64;
        on_pool!(&db, |pool| sqlx::query("UPDATE oidc_keys SET retired_at = $1 WHERE generation = 1")
            .bind(long_ago)
            .execute(pool)
            .await
            .map(|_| ()))
        .unwrap();
        *keys.loaded.lock().await = None;
        let third = keys.current().await.unwrap();
        assert_eq!(third.jwks()["keys"].as_array().unwrap().len(), 2);
        assert!(jws::verify::<Value>(&old_token, |kid| third.public_key(kid)).is_err());
        let _ = std::fs::remove_dir_all(dir);
    }
}
