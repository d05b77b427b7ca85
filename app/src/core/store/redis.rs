//! The Redis backend. Each compound step is a Lua script, which Redis runs
//! atomically, so several server processes sharing one Redis behave as one.

use super::{
    CodeCheck, Flights, Hit, PasswordAttempt, PasswordGate, PasswordOutcome, SendSlot, SendSlotRequest, StoreError,
};
use redis::{
    AsyncCommands, Client, Cmd, ErrorKind, Pipeline, RedisError, RedisFuture, Script, Value,
    aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig},
};
use std::{
    sync::{Arc, LazyLock},
    time::Duration,
};
use tokio::sync::OnceCell;

/// How long one Redis call may take before the request fails with 503.
const TIMEOUT: Duration = Duration::from_secs(2);

static HIT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"local n = redis.call('INCR', KEYS[1])
          if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
          if n > tonumber(ARGV[2]) then return redis.call('PTTL', KEYS[1]) end
          return -10",
    )
});

// Returns {outcome, ms}: 0 granted, 1 cooldown, 2 daily cap, 3 IP cap.
static ACQUIRE_SEND_SLOT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"local cooldown = redis.call('PTTL', KEYS[1])
          if cooldown > 0 then return {1, cooldown} end
          if tonumber(redis.call('GET', KEYS[2]) or '0') >= tonumber(ARGV[2]) then
            return {2, redis.call('PTTL', KEYS[2])}
          end
          if tonumber(redis.call('GET', KEYS[3]) or '0') >= tonumber(ARGV[4]) then
            return {3, redis.call('PTTL', KEYS[3])}
          end
          if tonumber(redis.call('GET', KEYS[6]) or '0') >= tonumber(ARGV[8]) then
            return {4, redis.call('PTTL', KEYS[6])}
          end
          redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
          if redis.call('INCR', KEYS[2]) == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[3]) end
          if redis.call('INCR', KEYS[3]) == 1 then redis.call('PEXPIRE', KEYS[3], ARGV[5]) end
          if redis.call('INCR', KEYS[6]) == 1 then redis.call('PEXPIRE', KEYS[6], ARGV[9]) end
          redis.call('DEL', KEYS[4])
          redis.call('HSET', KEYS[4], 'code', ARGV[6], 'attempts', 0)
          redis.call('PEXPIRE', KEYS[4], ARGV[7])
          redis.call('DEL', KEYS[5])
          return {0, 0}",
    )
});

// KEYS: account failures, lock, address failures, the account's and the
// address's attempts in flight (sorted sets: id scored by until when it
// holds, by Redis' clock). ARGV: window ms, the account's captcha threshold
// (0: none), captcha solved (1/0), lock threshold, lock ms, the address's
// captcha threshold (0: none), attempt id, hold ms.
// Returns {outcome, ms}: 0 proceed (in flight), 1 captcha required,
// 2 locked, 3 wait.
static GATE_PASSWORD_ATTEMPT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"local locked = redis.call('PTTL', KEYS[2])
          if locked > 0 then
            if redis.call('INCR', KEYS[3]) == 1 then redis.call('PEXPIRE', KEYS[3], ARGV[1]) end
            return {2, locked}
          end
          local account = tonumber(redis.call('GET', KEYS[1]) or '0')
          local ip = tonumber(redis.call('GET', KEYS[3]) or '0')
          local after, ip_after, lock_after = tonumber(ARGV[2]), tonumber(ARGV[6]), tonumber(ARGV[4])
          if ARGV[3] == '1' then after, ip_after = 0, 0 end
          if (after > 0 and account >= after) or (ip_after > 0 and ip >= ip_after) then return {1, 0} end
          local time = redis.call('TIME')
          local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
          redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now)
          redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', now)
          local account_limit = lock_after
          if after > 0 and after < lock_after then account_limit = after end
          if account + redis.call('ZCARD', KEYS[4]) >= account_limit then return {3, 0} end
          if ip_after > 0 and ip + redis.call('ZCARD', KEYS[5]) >= ip_after then return {3, 0} end
          for i = 4, 5 do
            redis.call('ZADD', KEYS[i], now + tonumber(ARGV[8]), ARGV[7])
            redis.call('PEXPIRE', KEYS[i], ARGV[8])
          end
          return {0, 0}",
    )
});

// KEYS: as the gate's, then the account's failures from the address (if
// kept). ARGV: attempt id, outcome (right, wrong, abandoned), window ms,
// lock threshold, lock ms.
static SETTLE_PASSWORD_ATTEMPT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"local function count(key)
            local n = redis.call('INCR', key)
            if n == 1 then redis.call('PEXPIRE', key, ARGV[3]) end
            return n
          end
          redis.call('ZREM', KEYS[4], ARGV[1])
          redis.call('ZREM', KEYS[5], ARGV[1])
          if ARGV[2] == 'right' then
            redis.call('DEL', KEYS[1], KEYS[2])
            if KEYS[6] then redis.call('DEL', KEYS[6]) end
          elseif ARGV[2] == 'wrong' then
            count(KEYS[3])
            if KEYS[6] then count(KEYS[6]) end
            if count(KEYS[1]) >= tonumber(ARGV[4]) then
              redis.call('SET', KEYS[2], '1', 'PX', ARGV[5])
              redis.call('DEL', KEYS[1])
            end
          end
          return 1",
    )
});

// Returns {outcome, attempts_left}: 0 missing, 1 match, 2 mismatch, 3 exhausted.
static CHECK_CODE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"local code = redis.call('HGET', KEYS[1], 'code')
          if not code then return {0, 0} end
          if code == ARGV[1] then return {1, 0} end
          local n = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
          if n >= tonumber(ARGV[2]) then
            redis.call('DEL', KEYS[1])
            return {3, 0}
          end
          return {2, tonumber(ARGV[2]) - n}",
    )
});

static CONSUME_CODE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"if redis.call('HGET', KEYS[1], 'code') == ARGV[1] then
            return redis.call('DEL', KEYS[1])
          end
          return 0",
    )
});

static RELEASE_SEND_SLOT_IF: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"if redis.call('HGET', KEYS[2], 'code') == ARGV[1] then
            return redis.call('DEL', KEYS[1], KEYS[2])
          end
          return 0",
    )
});

#[derive(Clone)]
pub struct RedisStore {
    client: Client,
    // Connected on first use, so that the server starts (and says it is not
    // ready) while Redis is down, and recovers when it comes back.
    connection: Arc<OnceCell<ConnectionManager>>,
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn ms(d: Duration) -> u64 {
    // Redis refuses a zero expiry; a millisecond is the shortest it takes.
    (d.as_millis() as u64).max(1)
}

fn from_ms(ms: i64) -> Duration {
    Duration::from_millis(ms.max(1) as u64)
}

impl RedisStore {
    pub fn new(url: &str) -> Result<RedisStore, StoreError> {
        let client = Client::open(url).map_err(unavailable)?;
        Ok(RedisStore { client, connection: Arc::new(OnceCell::new()) })
    }

    async fn conn(&self) -> Result<ConnectionManager, StoreError> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT))
            .set_number_of_retries(1);
        self.connection
            .get_or_try_init(|| async {
                tokio::time::timeout(TIMEOUT, self.client.get_connection_manager_with_config(config))
                    .await
                    .map_err(|_| unavailable("timed out connecting to Redis"))?
                    .map_err(unavailable)
            })
            .await
            .cloned()
    }

    /// The store's connection, for the delivery queue that lives beside it.
    pub fn shared_connection(&self) -> SharedConnection {
        SharedConnection(self.clone())
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        redis::cmd("PING").query_async::<String>(&mut conn).await.map_err(unavailable)?;
        Ok(())
    }

    pub async fn put(&self, key: &str, value: &str, ttl: Duration) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        conn.pset_ex::<_, _, ()>(key, value, ms(ttl)).await.map_err(unavailable)
    }

    pub async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        let mut conn = self.conn().await?;
        conn.get(key).await.map_err(unavailable)
    }

    pub async fn take(&self, key: &str) -> Result<Option<String>, StoreError> {
        let mut conn = self.conn().await?;
        conn.get_del(key).await.map_err(unavailable)
    }

    pub async fn ttl(&self, key: &str) -> Result<Option<Duration>, StoreError> {
        let mut conn = self.conn().await?;
        let left: i64 = conn.pttl(key).await.map_err(unavailable)?;
        Ok((left > 0).then(|| from_ms(left)))
    }

    pub async fn count(&self, key: &str, _window: Duration) -> Result<u64, StoreError> {
        let mut conn = self.conn().await?;
        let n: Option<u64> = conn.get(key).await.map_err(unavailable)?;
        Ok(n.unwrap_or(0))
    }

    pub async fn delete(&self, keys: &[&str]) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        conn.del::<_, ()>(keys).await.map_err(unavailable)
    }

    pub async fn hit(&self, key: &str, window: Duration, limit: u32) -> Result<Hit, StoreError> {
        let mut conn = self.conn().await?;
        let left: i64 = HIT.key(key).arg(ms(window)).arg(limit).invoke_async(&mut conn).await.map_err(unavailable)?;
        Ok(if left == -10 { Hit::Allowed } else { Hit::Limited { retry_after: from_ms(left) } })
    }

    pub async fn acquire_send_slot(&self, req: &SendSlotRequest<'_>) -> Result<SendSlot, StoreError> {
        let mut conn = self.conn().await?;
        let (outcome, left): (i64, i64) = ACQUIRE_SEND_SLOT
            .key(req.cooldown_key)
            .key(req.day_key)
            .key(req.ip_key)
            .key(req.code_key)
            .key(req.notice_key)
            .key(req.site_key)
            .arg(ms(req.cooldown))
            .arg(req.day_cap)
            .arg(ms(req.day_window))
            .arg(req.ip_cap)
            .arg(ms(req.ip_window))
            .arg(req.code)
            .arg(ms(req.code_ttl))
            .arg(req.site_cap)
            .arg(ms(req.site_window))
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        let retry_after = from_ms(left);
        Ok(match outcome {
            0 => SendSlot::Granted,
            1 => SendSlot::Cooldown { retry_after },
            2 => SendSlot::DailyCap { retry_after },
            3 => SendSlot::IpCap { retry_after },
            _ => SendSlot::SiteCap { retry_after },
        })
    }

    pub(super) async fn gate_password_attempt(
        &self,
        req: &PasswordAttempt<'_>,
        flights: &Flights<'_>,
    ) -> Result<PasswordGate, StoreError> {
        let mut conn = self.conn().await?;
        let (outcome, left): (i64, i64) = GATE_PASSWORD_ATTEMPT
            .key(req.account_key)
            .key(req.lock_key)
            .key(req.ip_key)
            .key(flights.account)
            .key(flights.ip)
            .arg(ms(req.window))
            .arg(req.captcha_after.unwrap_or(0))
            .arg(if req.captcha_solved { "1" } else { "0" })
            .arg(req.lock_after)
            .arg(ms(req.lock_for))
            .arg(req.ip_captcha_after.unwrap_or(0))
            .arg(req.id)
            .arg(ms(req.hold))
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(match outcome {
            0 => PasswordGate::Proceed,
            1 => PasswordGate::CaptchaRequired,
            2 => PasswordGate::Locked { retry_after: from_ms(left) },
            _ => PasswordGate::Wait,
        })
    }

    pub(super) async fn settle_password_attempt(
        &self,
        req: &PasswordAttempt<'_>,
        flights: &Flights<'_>,
        outcome: PasswordOutcome,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        let mut script = SETTLE_PASSWORD_ATTEMPT.key(req.account_key);
        script.key(req.lock_key).key(req.ip_key).key(flights.account).key(flights.ip);
        if let Some(key) = req.ip_account_key {
            script.key(key);
        }
        let outcome = match outcome {
            PasswordOutcome::Right => "right",
            PasswordOutcome::Wrong => "wrong",
            PasswordOutcome::Abandoned => "abandoned",
        };
        let _: i64 = script
            .arg(req.id)
            .arg(outcome)
            .arg(ms(req.window))
            .arg(req.lock_after)
            .arg(ms(req.lock_for))
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    pub async fn check_code(&self, key: &str, submitted: &str, max_attempts: u32) -> Result<CodeCheck, StoreError> {
        let mut conn = self.conn().await?;
        let (outcome, left): (i64, i64) =
            CHECK_CODE.key(key).arg(submitted).arg(max_attempts).invoke_async(&mut conn).await.map_err(unavailable)?;
        Ok(match outcome {
            0 => CodeCheck::Missing,
            1 => CodeCheck::Match,
            2 => CodeCheck::Mismatch { attempts_left: left.max(0) as u32 },
            _ => CodeCheck::Exhausted,
        })
    }

    pub async fn release_send_slot_if(
        &self,
        cooldown_key: &str,
        code_key: &str,
        code: &str,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn().await?;
        let deleted: i64 = RELEASE_SEND_SLOT_IF
            .key(cooldown_key)
            .key(code_key)
            .arg(code)
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(deleted > 0)
    }

    pub async fn consume_code(&self, key: &str, code: &str) -> Result<bool, StoreError> {
        let mut conn = self.conn().await?;
        let deleted: i64 = CONSUME_CODE.key(key).arg(code).invoke_async(&mut conn).await.map_err(unavailable)?;
        Ok(deleted == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Store, suite};

    /// The suite against a real Redis, when the test command started one.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn the_shared_store_suite_passes_against_redis() {
        let Some(url) = crate::core::test_support::redis_url() else { return };
        suite::run_all(|prefix| {
            let url = url.clone();
            async move { Store::redis(&url, &prefix).unwrap() }
        })
        .await;
    }

    #[tokio::test]
    async fn an_unreachable_redis_is_an_error_not_a_panic() {
        // Port 1 on loopback: nothing listens there.
        let store = Store::redis("redis://127.0.0.1:1/", "t:").unwrap();
        assert!(store.ping().await.is_err());
        assert!(store.take("k").await.is_err());
    }
}

/// The store's one multiplexed connection, lent to the delivery queue (apalis
/// takes any `ConnectionLike`). It connects on first use like the store, so
/// the server starts while Redis is down and the queue recovers with it.
#[derive(Clone)]
pub struct SharedConnection(RedisStore);

impl SharedConnection {
    async fn connection(&self) -> Result<ConnectionManager, RedisError> {
        self.0.conn().await.map_err(|e| RedisError::from((ErrorKind::Io, "Redis is unavailable", e.to_string())))
    }
}

impl ConnectionLike for SharedConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async move { self.connection().await?.req_packed_command(cmd).await })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(async move { self.connection().await?.req_packed_commands(pipeline, offset, count).await })
    }

    fn get_db(&self) -> i64 {
        self.0.client.get_connection_info().redis_settings().db()
    }
}
