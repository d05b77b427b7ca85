//! Password hashes: argon2id, computed off the async threads through the CPU
//! limiter. The hash is a secret-bearing string that never serialises.
//!
//! argon2's working memory (19 MiB at the default cost) is reused, one block
//! per hash running at once, instead of allocated and freed per hash: after
//! the first such block is freed, glibc raises its mmap threshold and serves
//! later ones from the heap, which then keeps hundreds of MB it never gives
//! back (measured: 600 wrong sign-ins left 206 MB; reused, RSS stays flat).

use super::cpu::{CpuJobError, CpuLimiter};
use crate::rules::Password;
use argon2::{
    Algorithm, Argon2, Block, Params, Version,
    password_hash::{
        self,
        phc::{Output, ParamsString, PasswordHash as ParsedHash, Salt},
    },
};
use std::fmt;
use std::sync::{Arc, Mutex};
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

impl From<password_hash::Error> for HashError {
    fn from(e: password_hash::Error) -> Self {
        HashError::Failed(e.to_string())
    }
}

impl From<password_hash::phc::Error> for HashError {
    fn from(e: password_hash::phc::Error) -> Self {
        HashError::Failed(e.to_string())
    }
}

impl From<argon2::Error> for HashError {
    fn from(e: argon2::Error) -> Self {
        HashError::Failed(e.to_string())
    }
}

/// argon2 working memory of the configured cost, kept for the next hash.
/// It holds at most one block per hash running at once (the CPU limiter's
/// permits), each allocated once.
#[derive(Clone)]
struct Memory {
    /// Blocks of the configured cost.
    blocks: usize,
    free: Arc<Mutex<Vec<Vec<Block>>>>,
}

impl Memory {
    fn new(params: &Params) -> Memory {
        Memory { blocks: params.block_count(), free: Arc::default() }
    }

    /// Runs `f` on `blocks` blocks: reused ones at the configured cost,
    /// one-off ones for a hash stored under another.
    fn with<T>(&self, blocks: usize, f: impl FnOnce(&mut [Block]) -> T) -> T {
        if blocks != self.blocks {
            return f(&mut vec![Block::default(); blocks]);
        }
        let reused = self.free.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut memory = reused.unwrap_or_else(|| vec![Block::default(); blocks]);
        let result = f(&mut memory);
        self.free.lock().unwrap_or_else(|e| e.into_inner()).push(memory);
        result
    }

    #[cfg(test)]
    fn kept(&self) -> usize {
        self.free.lock().unwrap().len()
    }
}

#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    cpu: CpuLimiter,
    memory: Memory,
    /// A hash of a random password, verified when an account does not exist,
    /// so that "no such account" takes as long as "wrong password".
    dummy: Arc<OnceCell<PasswordHash>>,
}

impl PasswordHasher {
    pub fn new(params: HashParams, cpu: CpuLimiter) -> Result<PasswordHasher, HashError> {
        let params = Params::new(params.memory_kib, params.iterations, params.lanes, None)
            .map_err(|e| HashError::Params(e.to_string()))?;
        Ok(PasswordHasher { memory: Memory::new(&params), params, cpu, dummy: Arc::new(OnceCell::new()) })
    }

    pub async fn hash(&self, password: &Password) -> Result<PasswordHash, HashError> {
        self.hash_str(password.expose().to_owned()).await
    }

    async fn hash_str(&self, password: String) -> Result<PasswordHash, HashError> {
        let (params, memory) = (self.params.clone(), self.memory.clone());
        self.cpu.run(move || hash_with(&memory, &params, password.as_bytes())).await?
    }

    /// True when `password` matches `hash`. The stored hash carries its own
    /// parameters, so hashes made under older settings still verify.
    pub async fn verify(&self, password: &str, hash: &PasswordHash) -> Result<bool, HashError> {
        let (memory, password, hash) = (self.memory.clone(), password.to_owned(), hash.0.clone());
        self.cpu.run(move || verify_with(&memory, password.as_bytes(), &hash)).await?
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

/// An argon2id hash of `password` under `params`, with a fresh salt, in
/// PHC form.
fn hash_with(memory: &Memory, params: &Params, password: &[u8]) -> Result<PasswordHash, HashError> {
    let salt = password_hash::generate_salt();
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    memory.with(params.block_count(), |m| argon2.hash_password_into_with_memory(password, &salt, &mut out, m))?;
    let phc = ParsedHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params.clone())?,
        salt: Some(Salt::new(&salt)?),
        hash: Some(Output::new(&out)?),
    };
    Ok(PasswordHash(phc.to_string()))
}

/// Whether `password` gives `stored` (PHC form) again, under the stored
/// algorithm, version and cost. The comparison is constant-time (`Output`).
fn verify_with(memory: &Memory, password: &[u8], stored: &str) -> Result<bool, HashError> {
    let parsed = ParsedHash::new(stored)?;
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return Err(HashError::Failed("the stored hash has no salt or output".into()));
    };
    let params = Params::try_from(&parsed)?;
    let algorithm = Algorithm::try_from(parsed.algorithm.as_str())?;
    let version = parsed.version.map(Version::try_from).transpose()?.unwrap_or_default();
    let argon2 = Argon2::new(algorithm, version, params.clone());
    let mut out = vec![0u8; expected.len()];
    memory.with(params.block_count(), |m| argon2.hash_password_into_with_memory(password, salt, &mut out, m))?;
    Ok(Output::new(&out)? == *expected)
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

    /// Reused memory holds the last hash's blocks: the result must be the
    /// standard one all the same, both ways.
    #[tokio::test]
    async fn hashes_on_reused_memory_are_standard_argon2id() {
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
        let hasher = cheap();
        let standard = Argon2::new(Algorithm::Argon2id, Version::V0x13, hasher.params.clone());
        for password in ["first-Password-1", "second-Password-2", "third-Password-3"] {
            let ours = hasher.hash_str(password.into()).await.unwrap();
            let parsed = ParsedHash::new(ours.as_str()).unwrap();
            assert!(standard.verify_password(password.as_bytes(), &parsed).is_ok(), "{}", ours.as_str());
            let theirs = standard.hash_password(password.as_bytes()).unwrap().to_string();
            assert!(hasher.verify(password, &PasswordHash(theirs.clone())).await.unwrap());
            assert!(!hasher.verify("wrong-Password-0", &PasswordHash(theirs)).await.unwrap());
        }
        assert_eq!(hasher.memory.kept(), 1, "one hash at a time: one block of memory, reused");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn memory_is_kept_for_at_most_the_hashes_that_run_at_once() {
        let params = HashParams { memory_kib: 1024, iterations: 1, lanes: 1 };
        let hasher = PasswordHasher::new(params, CpuLimiter::new(2, 64)).unwrap();
        let mut jobs = tokio::task::JoinSet::new();
        for i in 0..24 {
            let hasher = hasher.clone();
            jobs.spawn(async move { hasher.hash_str(format!("password-{i}")).await.unwrap() });
        }
        jobs.join_all().await;
        assert!((1..=2).contains(&hasher.memory.kept()), "{}", hasher.memory.kept());
    }

    #[tokio::test]
    async fn a_hash_stored_under_another_cost_still_verifies() {
        let hasher = cheap();
        let older =
            PasswordHasher::new(HashParams { memory_kib: 2048, iterations: 2, lanes: 1 }, CpuLimiter::new(1, 8))
                .unwrap()
                .hash_str("tangerine-Kite-42".into())
                .await
                .unwrap();
        assert!(older.as_str().starts_with("$argon2id$v=19$m=2048,t=2,p=1$"), "{}", older.as_str());
        assert!(hasher.verify("tangerine-Kite-42", &older).await.unwrap());
        assert!(!hasher.verify("tangerine-Kite-43", &older).await.unwrap());
        assert_eq!(hasher.memory.kept(), 0, "a one-off cost is not kept");
    }

    #[tokio::test]
    async fn a_malformed_stored_hash_is_an_error_not_a_match() {
        let hasher = cheap();
        for stored in ["", "$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ", "$bcrypt$nope"] {
            assert!(hasher.verify("x", &PasswordHash(stored.into())).await.is_err(), "{stored}");
        }
    }

    #[tokio::test]
    async fn two_hashes_of_one_password_differ_by_their_salt() {
        let hasher = cheap();
        let pw = Password::parse("tangerine-Kite-42", PasswordPolicy::default(), None, None).unwrap();
        assert_ne!(hasher.hash(&pw).await.unwrap().as_str(), hasher.hash(&pw).await.unwrap().as_str());
    }
}
