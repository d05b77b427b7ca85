//! The in-process backend: a map behind a mutex, with expiry. Each operation
//! holds the lock for its whole read-and-write, which makes it atomic. The
//! map has a bound: past it (after a sweep of what expired), it forgets a
//! batch of soft keys (`super::SOFT`); if that is not enough, an operation
//! that would add keys is refused whole, as an unavailable store (503),
//! instead of growing without end under a flood. Per-address counters
//! (`super::PER_ADDRESS`) are not in the map: they live in a sketch of fixed
//! size (`tally`) under the same lock, which no flood can flush.

use super::{
    CodeCheck, Flights, Hit, PasswordAttempt, PasswordGate, PasswordOutcome, SendSlot, SendSlotRequest, StoreError,
    tally::Tally,
};
use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};
// tokio's clock, so that tests can pause and advance time instead of sleeping.
use tokio::time::Instant;

#[derive(Clone, Debug)]
enum Value {
    Text(String),
    Count(u64),
    Code { code: String, attempts: u32 },
}

#[derive(Clone, Debug)]
struct Entry {
    value: Value,
    expires_at: Instant,
    /// May be forgotten early when the map is full (`super::SOFT`).
    soft: bool,
}

struct Map {
    entries: HashMap<String, Entry>,
    writes_since_sweep: usize,
    /// The most keys it holds.
    capacity: usize,
    /// Keys that start with this are soft (the store's prefix and `SOFT`);
    /// empty: none is.
    soft_prefix: String,
    /// Counters whose key starts with this (the store's prefix and
    /// `PER_ADDRESS`) are counted in `tally`; empty: none is.
    tally_prefix: String,
    tally: Tally,
    /// Password attempts in flight (`super::PasswordAttempt`), by set: their
    /// ids and until when each holds. Apart from the map: as many as
    /// requests in flight, each gone at its outcome.
    flights: HashMap<String, Vec<(String, Instant)>>,
}

/// Keys the in-process store holds at most by default: each is ~150 bytes
/// with its entry, so about 30 MB.
pub const DEFAULT_CAPACITY: usize = 200_000;

/// Sweep expired entries after this many writes, so that memory stays bounded
/// by what is live rather than by everything ever written.
const SWEEP_EVERY: usize = 1024;

impl Map {
    /// Whether `new_keys` more keys fit (sweeping what expired if needed).
    /// Checked before an operation writes anything, so a refusal leaves the
    /// map as it was.
    fn room(&mut self, new_keys: usize, now: Instant) -> Result<(), StoreError> {
        let capacity = self.capacity;
        if self.entries.len() + new_keys <= capacity {
            return Ok(());
        }
        self.entries.retain(|_, e| e.expires_at > now);
        self.writes_since_sweep = 0;
        if self.entries.len() + new_keys <= capacity {
            return Ok(());
        }
        // Full of live keys: forget soft ones, a sixteenth of the bound at a
        // time so that a flood does not pay for a pass over the map per key.
        // Which ones is the map's order: not the oldest, which would be the
        // real visitors', not the newest, which would be the flood's.
        let wanted = (self.entries.len() + new_keys - capacity).max(capacity / 16);
        let forgotten: Vec<String> =
            self.entries.iter().filter(|(_, e)| e.soft).map(|(k, _)| k.clone()).take(wanted).collect();
        for key in &forgotten {
            self.entries.remove(key);
        }
        if !forgotten.is_empty() {
            metrics::counter!(crate::core::metrics::STORE_SOFT_KEYS_FORGOTTEN).increment(forgotten.len() as u64);
            tracing::warn!(forgotten = forgotten.len(), capacity, "the in-process store is full; soft keys forgotten");
        }
        if self.entries.len() + new_keys <= capacity {
            return Ok(());
        }
        Err(StoreError::Unavailable(format!("the in-process store is full ({capacity} keys)")))
    }

    fn live(&mut self, key: &str, now: Instant) -> Option<&mut Entry> {
        if self.entries.get(key).is_some_and(|e| e.expires_at <= now) {
            self.entries.remove(key);
        }
        self.entries.get_mut(key)
    }

    fn remaining(&mut self, key: &str, now: Instant) -> Option<Duration> {
        self.live(key, now).map(|e| e.expires_at - now)
    }

    fn insert(&mut self, key: &str, value: Value, ttl: Duration, now: Instant) {
        self.writes_since_sweep += 1;
        if self.writes_since_sweep >= SWEEP_EVERY {
            self.entries.retain(|_, e| e.expires_at > now);
            self.writes_since_sweep = 0;
        }
        let soft = !self.soft_prefix.is_empty() && key.starts_with(&self.soft_prefix);
        self.entries.insert(key.to_owned(), Entry { value, expires_at: now + ttl, soft });
    }

    fn count(&mut self, key: &str, now: Instant) -> u64 {
        match self.live(key, now) {
            Some(Entry { value: Value::Count(n), .. }) => *n,
            _ => 0,
        }
    }

    /// Attempts in the flight set `key` that still hold.
    fn in_flight(&mut self, key: &str, now: Instant) -> u64 {
        let Some(set) = self.flights.get_mut(key) else { return 0 };
        set.retain(|(_, until)| *until > now);
        let n = set.len() as u64;
        if n == 0 {
            self.flights.remove(key);
        }
        n
    }

    fn take_off(&mut self, key: &str, id: &str) {
        if let Some(set) = self.flights.get_mut(key) {
            set.retain(|(other, _)| other != id);
            if set.is_empty() {
                self.flights.remove(key);
            }
        }
    }

    fn tallied(&self, key: &str) -> bool {
        !self.tally_prefix.is_empty() && key.starts_with(&self.tally_prefix)
    }

    /// A window counter's count, and how long its window has left (`None`:
    /// no window is open), wherever it lives.
    fn counter(&mut self, key: &str, window: Duration, now: Instant) -> (u64, Option<Duration>) {
        if self.tallied(key) {
            let n = self.tally.count(key, window, now);
            let left = self.tally.epoch_left(window, now);
            return (n, (n > 0).then_some(left));
        }
        (self.count(key, now), self.remaining(key, now))
    }

    /// Adds one to a window counter, wherever it lives; returns the count
    /// and how long its window has left.
    fn bump(&mut self, key: &str, window: Duration, now: Instant) -> (u64, Duration) {
        if self.tallied(key) {
            return self.tally.increment(key, window, now);
        }
        let n = self.increment(key, window, now);
        (n, self.remaining(key, now).unwrap_or(window))
    }

    /// Adds one to a window counter, starting the window on its first event.
    fn increment(&mut self, key: &str, window: Duration, now: Instant) -> u64 {
        match self.live(key, now) {
            Some(Entry { value: Value::Count(n), .. }) => {
                *n += 1;
                *n
            }
            _ => {
                self.insert(key, Value::Count(1), window, now);
                1
            }
        }
    }
}

#[derive(Clone)]
pub struct MemoryStore {
    map: Arc<Mutex<Map>>,
    /// How far this store's clock runs ahead of the process's (ms): moved
    /// only by `advance_clock`, so that tests can let a code or captcha
    /// expire without waiting for it, through the running server.
    ahead_ms: Arc<AtomicU64>,
}

impl MemoryStore {
    /// A store that holds at most `capacity` keys, of which those starting
    /// with `soft_prefix` are soft; counters starting with `tally_prefix`
    /// are counted apart, in fixed memory.
    pub fn with_capacity(capacity: usize, soft_prefix: &str, tally_prefix: &str) -> MemoryStore {
        let map = Map {
            entries: HashMap::new(),
            writes_since_sweep: 0,
            capacity: capacity.max(1),
            soft_prefix: soft_prefix.to_owned(),
            tally_prefix: tally_prefix.to_owned(),
            tally: Tally::new(Instant::now()),
            flights: HashMap::new(),
        };
        MemoryStore { map: Arc::new(Mutex::new(map)), ahead_ms: Arc::new(AtomicU64::new(0)) }
    }

    fn now(&self) -> Instant {
        Instant::now() + Duration::from_millis(self.ahead_ms.load(Ordering::SeqCst))
    }

    /// Moves this store's clock forward by `by` (for tests: what would
    /// expire in that time, expires now).
    pub fn advance_clock(&self, by: Duration) {
        self.ahead_ms.fetch_add(by.as_millis() as u64, Ordering::SeqCst);
    }

    /// How far `advance_clock` moved this store's clock (ms).
    pub fn ahead_ms(&self) -> i64 {
        self.ahead_ms.load(Ordering::SeqCst) as i64
    }

    fn lock(&self) -> MutexGuard<'_, Map> {
        // A panic while holding the lock cannot leave the map half-written
        // (every operation is a few plain assignments), so a poisoned lock is safe to reuse.
        self.map.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Ready when it takes a new key: a store full of keys it must keep
    /// refuses writes, and the readiness check says so.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let now = self.now();
        self.lock().room(1, now)
    }

    pub async fn put(&self, key: &str, value: &str, ttl: Duration) -> Result<(), StoreError> {
        let (mut map, now) = (self.lock(), self.now());
        map.room(1, now)?;
        map.insert(key, Value::Text(value.to_owned()), ttl, now);
        Ok(())
    }

    pub async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        let mut map = self.lock();
        Ok(match map.live(key, self.now()) {
            Some(Entry { value: Value::Text(text), .. }) => Some(text.clone()),
            _ => None,
        })
    }

    pub async fn take(&self, key: &str) -> Result<Option<String>, StoreError> {
        let mut map = self.lock();
        let now = self.now();
        map.live(key, now);
        Ok(match map.entries.remove(key) {
            Some(Entry { value: Value::Text(text), .. }) => Some(text),
            _ => None,
        })
    }

    pub async fn ttl(&self, key: &str) -> Result<Option<Duration>, StoreError> {
        Ok(self.lock().remaining(key, self.now()))
    }

    pub async fn count(&self, key: &str, window: Duration) -> Result<u64, StoreError> {
        Ok(self.lock().counter(key, window, self.now()).0)
    }

    pub async fn delete(&self, keys: &[&str]) -> Result<(), StoreError> {
        let mut map = self.lock();
        for key in keys {
            map.entries.remove(*key);
        }
        Ok(())
    }

    pub async fn hit(&self, key: &str, window: Duration, limit: u32) -> Result<Hit, StoreError> {
        let mut map = self.lock();
        let now = self.now();
        if !map.tallied(key) {
            map.room(1, now)?;
        }
        let (n, left) = map.bump(key, window, now);
        Ok(if n > u64::from(limit) { Hit::Limited { retry_after: left } } else { Hit::Allowed })
    }

    pub async fn acquire_send_slot(&self, req: &SendSlotRequest<'_>) -> Result<SendSlot, StoreError> {
        let mut map = self.lock();
        let now = self.now();
        if let Some(retry_after) = map.remaining(req.cooldown_key, now) {
            return Ok(SendSlot::Cooldown { retry_after });
        }
        if map.count(req.day_key, now) >= u64::from(req.day_cap) {
            let retry_after = map.remaining(req.day_key, now).unwrap_or(req.day_window);
            return Ok(SendSlot::DailyCap { retry_after });
        }
        if let (n, left) = map.counter(req.ip_key, req.ip_window, now)
            && n >= u64::from(req.ip_cap)
        {
            return Ok(SendSlot::IpCap { retry_after: left.unwrap_or(req.ip_window) });
        }
        if map.count(req.site_key, now) >= u64::from(req.site_cap) {
            let retry_after = map.remaining(req.site_key, now).unwrap_or(req.site_window);
            return Ok(SendSlot::SiteCap { retry_after });
        }
        map.room(5, now)?;
        map.insert(req.cooldown_key, Value::Text("1".into()), req.cooldown, now);
        map.increment(req.day_key, req.day_window, now);
        map.bump(req.ip_key, req.ip_window, now);
        map.increment(req.site_key, req.site_window, now);
        map.insert(req.code_key, Value::Code { code: req.code.to_owned(), attempts: 0 }, req.code_ttl, now);
        map.entries.remove(req.notice_key);
        Ok(SendSlot::Granted)
    }

    pub(super) async fn gate_password_attempt(
        &self,
        req: &PasswordAttempt<'_>,
        flights: &Flights<'_>,
    ) -> Result<PasswordGate, StoreError> {
        let mut map = self.lock();
        let now = self.now();
        if let Some(retry_after) = map.remaining(req.lock_key, now) {
            if !map.tallied(req.ip_key) {
                map.room(1, now)?;
            }
            map.bump(req.ip_key, req.window, now);
            return Ok(PasswordGate::Locked { retry_after });
        }
        let (account, ip) = (map.count(req.account_key, now), map.counter(req.ip_key, req.window, now).0);
        let (captcha_after, ip_captcha_after) = match req.captcha_solved {
            false => (req.captcha_after.filter(|n| *n > 0), req.ip_captcha_after.filter(|n| *n > 0)),
            true => (None, None),
        };
        if captcha_after.is_some_and(|n| account >= u64::from(n))
            || ip_captcha_after.is_some_and(|n| ip >= u64::from(n))
        {
            return Ok(PasswordGate::CaptchaRequired);
        }
        let account_limit = captcha_after.map_or(req.lock_after, |n| n.min(req.lock_after));
        if account + map.in_flight(flights.account, now) >= u64::from(account_limit)
            || ip_captcha_after.is_some_and(|n| ip + map.in_flight(flights.ip, now) >= u64::from(n))
        {
            return Ok(PasswordGate::Wait);
        }
        // Room for what the outcome writes (the account's failures, its lock
        // and the pair's count), checked here where a refusal costs nothing.
        map.room(3, now)?;
        let until = now + req.hold;
        for set in [flights.account, flights.ip] {
            map.flights.entry(set.to_owned()).or_default().push((req.id.to_owned(), until));
        }
        Ok(PasswordGate::Proceed)
    }

    pub(super) async fn settle_password_attempt(
        &self,
        req: &PasswordAttempt<'_>,
        flights: &Flights<'_>,
        outcome: PasswordOutcome,
    ) -> Result<(), StoreError> {
        let mut map = self.lock();
        let now = self.now();
        map.take_off(flights.account, req.id);
        map.take_off(flights.ip, req.id);
        match outcome {
            PasswordOutcome::Abandoned => {}
            PasswordOutcome::Right => {
                map.entries.remove(req.account_key);
                map.entries.remove(req.lock_key);
                if let Some(key) = req.ip_account_key {
                    map.entries.remove(key);
                }
            }
            PasswordOutcome::Wrong => {
                // Counted even if the store filled up since the gate made
                // room: a failure forgotten would open the limits.
                map.bump(req.ip_key, req.window, now);
                if let Some(key) = req.ip_account_key {
                    map.bump(key, req.window, now);
                }
                if map.increment(req.account_key, req.window, now) >= u64::from(req.lock_after) {
                    map.insert(req.lock_key, Value::Text("1".into()), req.lock_for, now);
                    map.entries.remove(req.account_key);
                }
            }
        }
        Ok(())
    }

    pub async fn check_code(&self, key: &str, submitted: &str, max_attempts: u32) -> Result<CodeCheck, StoreError> {
        let mut map = self.lock();
        let Some(Entry { value: Value::Code { code, attempts }, .. }) = map.live(key, self.now()) else {
            return Ok(CodeCheck::Missing);
        };
        if code == submitted {
            return Ok(CodeCheck::Match);
        }
        *attempts += 1;
        if *attempts >= max_attempts {
            map.entries.remove(key);
            return Ok(CodeCheck::Exhausted);
        }
        Ok(CodeCheck::Mismatch { attempts_left: max_attempts - *attempts })
    }

    pub async fn release_send_slot_if(
        &self,
        cooldown_key: &str,
        code_key: &str,
        code: &str,
    ) -> Result<bool, StoreError> {
        let mut map = self.lock();
        let matches = matches!(
            map.live(code_key, self.now()),
            Some(Entry { value: Value::Code { code: stored, .. }, .. }) if stored == code
        );
        if matches {
            map.entries.remove(code_key);
            map.entries.remove(cooldown_key);
        }
        Ok(matches)
    }

    pub async fn consume_code(&self, key: &str, submitted: &str) -> Result<bool, StoreError> {
        let mut map = self.lock();
        let matches = matches!(
            map.live(key, self.now()),
            Some(Entry { value: Value::Code { code, .. }, .. }) if code == submitted
        );
        if matches {
            map.entries.remove(key);
        }
        Ok(matches)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Store, suite};
    use super::*;

    /// The attack: short-lived state from a flood of new keys. Past the
    /// bound the store refuses (503), whole operations at a time, and takes
    /// keys again once some expire.
    #[tokio::test(start_paused = true)]
    async fn past_its_bound_the_store_refuses_new_keys_and_recovers_when_they_expire() {
        let store = MemoryStore::with_capacity(10, "~", "@");
        for i in 0..10 {
            store.put(&format!("k{i}"), "v", Duration::from_secs(60)).await.unwrap();
        }
        assert!(matches!(store.put("k10", "v", Duration::from_secs(60)).await, Err(StoreError::Unavailable(_))));
        assert!(matches!(store.hit("h", Duration::from_secs(60), 5).await, Err(StoreError::Unavailable(_))));
        assert_eq!(store.lock().entries.len(), 10, "never past the bound");
        assert!(store.ping().await.is_err(), "not ready while it refuses writes");
        tokio::time::advance(Duration::from_secs(61)).await;
        store.put("k10", "v", Duration::from_secs(60)).await.unwrap();
    }

    /// The attack: a flood of per-address counters (soft keys) from as many
    /// addresses. The full store forgets some of them instead of refusing,
    /// stays within its bound, and keeps every hard key (a code); a store
    /// full of hard keys refuses as before.
    #[tokio::test(start_paused = true)]
    async fn a_full_store_forgets_soft_keys_and_keeps_the_others() {
        let minute = Duration::from_secs(60);
        let store = MemoryStore::with_capacity(32, "t:~", "t:@");
        store.put("t:code", "123456", minute).await.unwrap();
        for i in 0..500 {
            assert_eq!(store.hit(&format!("t:~ip:{i}"), minute, 5).await.unwrap(), Hit::Allowed);
            assert!(store.lock().entries.len() <= 32, "never past the bound");
        }
        assert_eq!(store.get("t:code").await.unwrap().as_deref(), Some("123456"));
        store.put("t:code2", "654321", minute).await.unwrap();

        let hard = MemoryStore::with_capacity(8, "t:~", "t:@");
        for i in 0..8 {
            hard.put(&format!("t:code{i}"), "v", minute).await.unwrap();
        }
        assert!(matches!(hard.hit("t:~ip", minute, 5).await, Err(StoreError::Unavailable(_))));
        assert_eq!(hard.lock().entries.len(), 8);
    }

    #[tokio::test]
    async fn the_shared_store_suite_passes_in_process() {
        suite::run_all(|prefix| async move { Store::memory(&prefix) }).await;
    }

    #[tokio::test(start_paused = true)]
    async fn entries_expire_when_their_time_is_up() {
        let store = Store::memory("t:");
        store.put("k", "v", std::time::Duration::from_secs(300)).await.unwrap();
        tokio::time::advance(std::time::Duration::from_secs(299)).await;
        assert!(store.ttl("k").await.unwrap().is_some());
        tokio::time::advance(std::time::Duration::from_secs(1)).await;
        assert_eq!(store.take("k").await.unwrap(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_window_counter_starts_again_after_its_window() {
        use super::super::Hit;
        let store = Store::memory("t:");
        let minute = std::time::Duration::from_secs(60);
        for _ in 0..3 {
            assert_eq!(store.hit("w", minute, 3).await.unwrap(), Hit::Allowed);
        }
        assert!(matches!(store.hit("w", minute, 3).await.unwrap(), Hit::Limited { .. }));
        tokio::time::advance(minute).await;
        assert_eq!(store.hit("w", minute, 3).await.unwrap(), Hit::Allowed);
    }
}
