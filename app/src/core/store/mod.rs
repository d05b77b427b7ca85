//! Short-lived state: captcha answers, SMS codes and their attempt counters,
//! cooldowns and rate-limit windows. One interface, two backends: in-process
//! (the default) and Redis (`REDIS_URL`). Every step that must be atomic is one
//! operation here, and one Lua script in Redis, never a read followed by a write.

pub mod keys;
mod memory;
mod redis;
mod tally;

pub use self::memory::{DEFAULT_CAPACITY as MEMORY_STORE_CAPACITY, MemoryStore};
pub use self::redis::{RedisStore, SharedConnection};

use std::time::Duration;

/// Keys whose name starts with this are *soft*: per-address counters,
/// captcha answers and the password counters of accounts nobody has, which
/// anyone can make by asking (from new addresses, with made-up names). When
/// the in-process store is full, it forgets some soft keys to make room
/// rather than refuse every request that needs a new key: losing one costs a
/// fresh captcha, or an address's count starting over (and an attacker able
/// to fill the store has that many addresses anyway). Every other key (codes,
/// cooldowns, daily caps, lockouts, used proofs) stays until it expires; past
/// the bound, writing a new one is refused (503). In Redis it is only a name.
pub const SOFT: &str = "~";

/// Keys whose name starts with this are per-address counters: a client
/// network's sends, lookups, captchas, recovery requests and failed
/// passwords. Floods from many addresses are what they limit, so the
/// in-process store keeps them apart from its map, in a sketch of fixed size
/// (`tally`) that no flood can flush: a count may read high (a cell shared
/// with another address), never low. Their windows there are fixed epochs of
/// the window's length. In Redis it is only a name (run Redis with
/// `maxmemory-policy noeviction`, or counters may be evicted).
pub const PER_ADDRESS: &str = "@";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
}

/// The outcome of counting one event in a fixed window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hit {
    Allowed,
    /// Over the limit; the window ends after this long.
    Limited {
        retry_after: Duration,
    },
}

/// Everything `acquire_send_slot` checks and writes in one atomic step.
#[derive(Clone, Debug)]
pub struct SendSlotRequest<'a> {
    pub cooldown_key: &'a str,
    pub cooldown: Duration,
    pub day_key: &'a str,
    pub day_cap: u32,
    pub day_window: Duration,
    pub ip_key: &'a str,
    pub ip_cap: u32,
    pub ip_window: Duration,
    /// The site-wide budget, against SMS pumping through many numbers and
    /// addresses.
    pub site_key: &'a str,
    pub site_cap: u32,
    pub site_window: Duration,
    pub code_key: &'a str,
    pub code: &'a str,
    pub code_ttl: Duration,
    /// Deleted with the grant: what was said about the number's last code
    /// (a provider's refusal) no longer holds for the new one.
    pub notice_key: &'a str,
}

/// One password attempt, to be let through or not in a single step, and
/// later told its outcome.
///
/// Failures are counted when they happen (a wrong password's verdict), so
/// that right passwords never make anyone else's sign-in ask for a
/// captcha (many people share one address behind a carrier NAT). Attempts
/// let through whose verdict has not come are *in flight*: each holds a
/// place against the account's and the address's thresholds until its
/// outcome, so that thirty simultaneous attempts cannot all pass a check
/// made before any of them had a verdict. An attempt that could be decided
/// by those in flight waits for them (`PasswordGate::Wait`).
#[derive(Clone, Debug)]
pub struct PasswordAttempt<'a> {
    /// The account's failure counter and lock.
    pub account_key: &'a str,
    pub lock_key: &'a str,
    /// The client address's failure counter.
    pub ip_key: &'a str,
    /// Failures of this account from this address, which the sign-in page
    /// may be told (they are the asker's own); `None`: not kept.
    pub ip_account_key: Option<&'a str>,
    /// This attempt's name among those in flight (random, unique), and how
    /// long its place holds at most (`PASSWORD_ATTEMPT_HOLD`).
    pub id: &'a str,
    pub hold: Duration,
    pub window: Duration,
    /// Failures of the account after which the attempt needs a solved
    /// captcha; `None`: the account's count never asks for one.
    pub captcha_after: Option<u32>,
    /// Failures of the address after which the attempt needs a solved
    /// captcha; `None`: never.
    pub ip_captcha_after: Option<u32>,
    pub captcha_solved: bool,
    /// Failures of the account after which its password sign-in locks.
    pub lock_after: u32,
    pub lock_for: Duration,
}

/// How long an attempt's place in flight holds at most: a verdict that
/// never comes (a server that stopped mid-hash) frees it then. Longer than
/// any request lasts (`CLIENT_TIMEOUT_SECONDS` ends one, 30 s by default);
/// a request that ends without a verdict gives its place back at once.
pub const PASSWORD_ATTEMPT_HOLD: Duration = Duration::from_secs(120);

/// What the gate said.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasswordGate {
    /// In flight now: verify, then `settle_password_attempt` with the
    /// outcome.
    Proceed,
    /// Attempts in flight may decide this one (their failures would ask
    /// for the captcha or lock the account): ask again when they have.
    Wait,
    /// Not counted: a solved captcha must come with the attempt.
    CaptchaRequired,
    /// The account's password sign-in is locked (counted for the address).
    Locked { retry_after: Duration },
}

/// What became of an attempt in flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasswordOutcome {
    /// The password was right: the account's failures and lock are cleared.
    Right,
    /// A failure of the account and of the address; the one that reaches
    /// `lock_after` starts the lock.
    Wrong,
    /// No verdict (the client left, the hash failed): nothing is counted.
    Abandoned,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendSlot {
    /// The code is stored, the cooldown started and every cap counted.
    Granted,
    Cooldown {
        retry_after: Duration,
    },
    DailyCap {
        retry_after: Duration,
    },
    IpCap {
        retry_after: Duration,
    },
    /// The whole site's hourly budget is spent (SMS pumping?).
    SiteCap {
        retry_after: Duration,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeCheck {
    /// Right code; it stays until `consume_code`.
    Match,
    /// Wrong code; this many tries are left.
    Mismatch { attempts_left: u32 },
    /// Wrong code, and that was the last try: the code is gone.
    Exhausted,
    /// No code (never sent, expired, used, or killed by wrong tries).
    Missing,
}

/// The keys of one password attempt, with the store's prefix; and the
/// names of the sets of attempts in flight, one per counter.
struct AttemptKeys {
    account: String,
    lock: String,
    ip: String,
    ip_account: Option<String>,
    account_flights: String,
    ip_flights: String,
}

/// The sets of attempts in flight for an account and for an address.
pub(super) struct Flights<'a> {
    pub account: &'a str,
    pub ip: &'a str,
}

impl AttemptKeys {
    fn new(store: &Store, req: &PasswordAttempt<'_>) -> AttemptKeys {
        AttemptKeys {
            account: store.key(req.account_key),
            lock: store.key(req.lock_key),
            ip: store.key(req.ip_key),
            ip_account: req.ip_account_key.map(|key| store.key(key)),
            account_flights: store.key(&format!("{}:in-flight", req.account_key)),
            ip_flights: store.key(&format!("{}:in-flight", req.ip_key)),
        }
    }

    fn attempt<'a>(&'a self, req: &PasswordAttempt<'a>) -> PasswordAttempt<'a> {
        PasswordAttempt {
            account_key: &self.account,
            lock_key: &self.lock,
            ip_key: &self.ip,
            ip_account_key: self.ip_account.as_deref(),
            ..req.clone()
        }
    }

    fn flights(&self) -> Flights<'_> {
        Flights { account: &self.account_flights, ip: &self.ip_flights }
    }
}

#[derive(Clone)]
enum Backend {
    Memory(MemoryStore),
    Redis(RedisStore),
}

/// The store used by the use cases. Cloning shares the same state.
#[derive(Clone)]
pub struct Store {
    prefix: String,
    backend: Backend,
}

macro_rules! dispatch {
    ($self:ident, $method:ident ( $($arg:expr),* )) => {
        match &$self.backend {
            Backend::Memory(s) => s.$method($($arg),*).await,
            Backend::Redis(s) => s.$method($($arg),*).await,
        }
    };
}

impl Store {
    pub fn memory(prefix: &str) -> Store {
        Store::memory_with_capacity(prefix, MEMORY_STORE_CAPACITY)
    }

    /// The in-process store holding at most `capacity` keys.
    pub fn memory_with_capacity(prefix: &str, capacity: usize) -> Store {
        let memory =
            MemoryStore::with_capacity(capacity, &format!("{prefix}{SOFT}"), &format!("{prefix}{PER_ADDRESS}"));
        Store { prefix: prefix.into(), backend: Backend::Memory(memory) }
    }

    /// Moves the in-process store's clock forward by `by`, so that a test
    /// lets codes, captchas and windows expire without waiting. False with
    /// Redis, whose clock is its own.
    pub fn advance_clock(&self, by: std::time::Duration) -> bool {
        match &self.backend {
            Backend::Memory(s) => {
                s.advance_clock(by);
                true
            }
            Backend::Redis(_) => false,
        }
    }

    /// The time by this store's clock (Unix ms): the wall clock, moved
    /// forward by `advance_clock` in the in-process store. What waits for a
    /// date (a 注销) reads it, so that a test can let the date come.
    pub fn now_ms(&self) -> i64 {
        match &self.backend {
            Backend::Memory(s) => crate::core::now_ms() + s.ahead_ms(),
            Backend::Redis(_) => crate::core::now_ms(),
        }
    }

    pub fn redis(url: &str, prefix: &str) -> Result<Store, StoreError> {
        Ok(Store { prefix: prefix.into(), backend: Backend::Redis(RedisStore::new(url)?) })
    }

    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Memory(_) => "memory",
            Backend::Redis(_) => "redis",
        }
    }

    /// When the store is Redis: its connection and the key prefix, for the
    /// delivery queue that lives beside it.
    pub fn redis_connection(&self) -> Option<(SharedConnection, &str)> {
        match &self.backend {
            Backend::Memory(_) => None,
            Backend::Redis(s) => Some((s.shared_connection(), &self.prefix)),
        }
    }

    fn key(&self, key: &str) -> String {
        format!("{}{}", self.prefix, key)
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        dispatch!(self, ping())
    }

    /// Stores `value` under `key` for `ttl`, replacing what was there.
    pub async fn put(&self, key: &str, value: &str, ttl: Duration) -> Result<(), StoreError> {
        let key = self.key(key);
        dispatch!(self, put(&key, value, ttl))
    }

    /// Reads `key`, leaving it in place.
    pub async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        let key = self.key(key);
        dispatch!(self, get(&key))
    }

    /// Reads and deletes `key` in one step: a second `take` finds nothing.
    pub async fn take(&self, key: &str) -> Result<Option<String>, StoreError> {
        let key = self.key(key);
        dispatch!(self, take(&key))
    }

    /// How long `key` has left, if it exists.
    pub async fn ttl(&self, key: &str) -> Result<Option<Duration>, StoreError> {
        let key = self.key(key);
        dispatch!(self, ttl(&key))
    }

    /// The current count of the window `key` (0 when none is open), a
    /// counter counted with `window`.
    pub async fn count(&self, key: &str, window: Duration) -> Result<u64, StoreError> {
        let key = self.key(key);
        dispatch!(self, count(&key, window))
    }

    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        let key = self.key(key);
        dispatch!(self, delete(&[key.as_str()]))
    }

    /// Counts one event in the fixed window `key`; refuses past `limit`.
    pub async fn hit(&self, key: &str, window: Duration, limit: u32) -> Result<Hit, StoreError> {
        let key = self.key(key);
        dispatch!(self, hit(&key, window, limit))
    }

    /// Checks the cooldown and both caps, and if all allow, starts the cooldown,
    /// counts the send and stores the code with a fresh attempt counter.
    pub async fn acquire_send_slot(&self, req: &SendSlotRequest<'_>) -> Result<SendSlot, StoreError> {
        let (cooldown_key, day_key, ip_key, code_key) =
            (self.key(req.cooldown_key), self.key(req.day_key), self.key(req.ip_key), self.key(req.code_key));
        let notice_key = self.key(req.notice_key);
        let site_key = self.key(req.site_key);
        let req = SendSlotRequest {
            site_key: &site_key,
            cooldown_key: &cooldown_key,
            day_key: &day_key,
            ip_key: &ip_key,
            code_key: &code_key,
            notice_key: &notice_key,
            ..req.clone()
        };
        dispatch!(self, acquire_send_slot(&req))
    }

    /// Lets one password attempt through (in flight), makes it wait, or
    /// refuses it, in one atomic step. A lock is refused (and counted as a
    /// failure of the address). Past `captcha_after` failures of the
    /// account, or `ip_captcha_after` of the address, an attempt without a
    /// solved captcha is refused uncounted. An attempt whose failure, with
    /// those of every attempt in flight, could reach a threshold waits
    /// instead of passing: the captcha's (without a solved captcha), the
    /// lock's (with one).
    pub async fn gate_password_attempt(&self, req: &PasswordAttempt<'_>) -> Result<PasswordGate, StoreError> {
        let keys = AttemptKeys::new(self, req);
        dispatch!(self, gate_password_attempt(&keys.attempt(req), &keys.flights()))
    }

    /// Takes an attempt out of flight with its outcome, in one atomic step.
    pub async fn settle_password_attempt(
        &self,
        req: &PasswordAttempt<'_>,
        outcome: PasswordOutcome,
    ) -> Result<(), StoreError> {
        let keys = AttemptKeys::new(self, req);
        dispatch!(self, settle_password_attempt(&keys.attempt(req), &keys.flights(), outcome))
    }

    /// Undoes a granted slot whose message could not be sent: the code and the
    /// cooldown go, so the person may try again at once. The caps keep counting.
    pub async fn release_send_slot(&self, cooldown_key: &str, code_key: &str) -> Result<(), StoreError> {
        let (cooldown_key, code_key) = (self.key(cooldown_key), self.key(code_key));
        dispatch!(self, delete(&[cooldown_key.as_str(), code_key.as_str()]))
    }

    /// `release_send_slot` for a message that will never arrive, but only
    /// while its code is still the one stored: a newer send keeps its slot.
    pub async fn release_send_slot_if(
        &self,
        cooldown_key: &str,
        code_key: &str,
        code: &str,
    ) -> Result<bool, StoreError> {
        let (cooldown_key, code_key) = (self.key(cooldown_key), self.key(code_key));
        dispatch!(self, release_send_slot_if(&cooldown_key, &code_key, code))
    }

    /// Compares `submitted` with the stored code, counting a wrong try; after
    /// `max_attempts` wrong tries the code is deleted.
    pub async fn check_code(&self, key: &str, submitted: &str, max_attempts: u32) -> Result<CodeCheck, StoreError> {
        let key = self.key(key);
        dispatch!(self, check_code(&key, submitted, max_attempts))
    }

    /// Deletes the code if it still is `code`. True when this call used it up.
    pub async fn consume_code(&self, key: &str, code: &str) -> Result<bool, StoreError> {
        let key = self.key(key);
        dispatch!(self, consume_code(&key, code))
    }
}

#[cfg(test)]
pub(crate) mod suite;
