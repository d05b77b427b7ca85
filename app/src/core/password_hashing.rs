//! Password hashes: argon2id, computed off the async threads through the CPU
//! limiter. The hash is a secret-bearing string that never serialises.

use super::cpu::{CpuJobError, CpuLimiter};
use crate::rules::Password;
use argon2::{
    Algorithm, Argon2, Params, Version,
    password_hash::{PasswordHasher as _, PasswordVerifier as _, phc::PasswordHash as ParsedHash},
};
use std::fmt;
use std::sync::Arc;
use tokio::sync::OnceCell;

/// A PHC-format argon2 hash, as stored in `users.password_hash`.
#[derive(Clone)]
pub struct PasswordHash(String);

impl PasswordHash {
    pub fn from_stored(s: String) -> PasswordHash {
        PasswordHash(s)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(..)")
    }
}

/// argon2id cost parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashParams {
    pub memory_kib: u32,
    pub iterations: u32,
    pub lanes: u32,
}

impl Default for HashParams {
    /// OWASP's first recommendation: 19 MiB, 2 iterations, 1 lane.
    fn default() -> Self {
        HashParams { memory_kib: 19 * 1024, iterations: 2, lanes: 1 }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("bad argon2 parameters: {0}")]
    Params(String),
    #[error("hashing failed: {0}")]
    Failed(String),
    /// The hashing queue is full: the server is overloaded.
    #[error("too many hashes are waiting")]
    Busy,
}

impl From<CpuJobError> for HashError {
    fn from(e: CpuJobError) -> Self {
        match e {
            CpuJobError::Busy => HashError::Busy,
            CpuJobError::Failed(e) => HashError::Failed(e),
        }
    }
}

#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    cpu: CpuLimiter,
    /// A hash of a random password, verified when an account does not exist,
    /// so that "no such account" takes as long as "wrong password".
    dummy: Arc<OnceCell<PasswordHash>>,
}

impl PasswordHasher {
    pub fn new(params: HashParams, cpu: CpuLimiter) -> Result<PasswordHasher, HashError> {
        let params = Params::new(params.memory_kib, params.iterations, params.lanes, None)
            .map_err(|e| HashError::Params(e.to_string()))?;
        Ok(PasswordHasher { params, cpu, dummy: Arc::new(OnceCell::new()) })
    }

    fn argon2(params: Params) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
    }

    pub async fn hash(&self, password: &Password) -> Result<PasswordHash, HashError> {
        self.hash_str(password.expose().to_owned()).await
    }

    async fn hash_str(&self, password: String) -> Result<PasswordHash, HashError> {
        let params = self.params.clone();
        self.cpu
            .run(move || {
                Self::argon2(params)
                    .hash_password(password.as_bytes())
                    .map(|h| PasswordHash(h.to_string()))
                    .map_err(|e| HashError::Failed(e.to_string()))
            })
            .await?
    }

    /// True when `password` matches `hash`. The stored hash carries its own
    /// parameters, so hashes made under older settings still verify.
    pub async fn verify(&self, password: &str, hash: &PasswordHash) -> Result<bool, HashError> {
        let (params, password, hash) = (self.params.clone(), password.to_owned(), hash.0.clone());
        self.cpu
            .run(move || {
                let parsed = ParsedHash::new(&hash).map_err(|e| HashError::Failed(e.to_string()))?;
                Ok(Self::argon2(params).verify_password(password.as_bytes(), &parsed).is_ok())
            })
            .await?
    }

    /// True when `password` matches `hash`; when there is no hash (no such
    /// account), verifies against a dummy one and answers false.
    pub async fn verify_or_dummy(&self, password: &str, hash: Option<&PasswordHash>) -> Result<bool, HashError> {
        match hash {
            Some(hash) => self.verify(password, hash).await,
            None => {
                let dummy = self
                    .dummy
                    .get_or_try_init(|| self.hash_str(format!("{}{}", uuid::Uuid::new_v4(), uuid::Uuid::new_v4())))
                    .await?;
                self.verify(password, dummy).await?;
                Ok(false)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::PasswordPolicy;

    #[tokio::test]
    async fn a_hash_is_argon2id_with_the_configured_cost_and_verifies() {
        let hasher = PasswordHasher::new(HashParams::default(), CpuLimiter::new(1, 8)).unwrap();
        let pw = Password::parse("tangerine-Kite-42", PasswordPolicy::default(), None, None).unwrap();
        let hash = hasher.hash(&pw).await.unwrap();
        assert!(hash.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{}", hash.as_str());
        assert!(hasher.verify("tangerine-Kite-42", &hash).await.unwrap());
        assert!(!hasher.verify("tangerine-Kite-43", &hash).await.unwrap());
    }

    fn cheap() -> PasswordHasher {
        PasswordHasher::new(HashParams { memory_kib: 1024, iterations: 1, lanes: 1 }, CpuLimiter::new(1, 8)).unwrap()
    }

    #[tokio::test]
    async fn an_unknown_account_is_verified_against_a_dummy_and_fails() {
        let hasher = cheap();
        assert!(!hasher.verify_or_dummy("anything", None).await.unwrap());
        assert!(hasher.dummy.get().is_some(), "the dummy was really verified");
    }

    #[tokio::test]
    async fn two_hashes_of_one_password_differ_by_their_salt() {
        let hasher = cheap();
        let pw = Password::parse("tangerine-Kite-42", PasswordPolicy::default(), None, None).unwrap();
        assert_ne!(hasher.hash(&pw).await.unwrap().as_str(), hasher.hash(&pw).await.unwrap().as_str());
    }
}
