//! One guess at a secret (a password, a client's secret) against the
//! failure counters (`store::PasswordAttempt`): let through, made to wait
//! for the attempts in flight, or refused; then its outcome. The attempt is
//! a value that gives its place in flight back when dropped without an
//! outcome, so a client that leaves mid-hash holds nothing.

use super::keys;
use crate::{
    core::{
        Client, Core, Settings,
        store::{PASSWORD_ATTEMPT_HOLD, PasswordAttempt, PasswordGate, PasswordOutcome, Store, StoreError},
    },
    rules::Account,
};
use std::time::Duration;
use tokio::time::Instant;

/// How often a waiting attempt asks the gate again: a hash takes about
/// 10 ms a core, so the attempts it waits for end a few steps apart.
const WAIT_STEP: Duration = Duration::from_millis(15);

/// How long an attempt waits for those in flight before the answer is
/// "busy" (503): the hashing queue (`HASH_QUEUE_LIMIT`) holds about a second
/// of work, so only a flood waits this long.
const PATIENCE: Duration = Duration::from_secs(10);

/// The counters one attempt is counted against.
#[derive(Default)]
pub(super) struct AttemptKeys {
    /// The account's (or the client's) failures and lock.
    pub failures: String,
    pub lock: String,
    /// The address's failures.
    pub ip: String,
    /// This account's failures from this address, which the sign-in page may
    /// ask about.
    pub ip_account: Option<String>,
}

impl AttemptKeys {
    /// An account's counters: by user id when it exists (`keys::user_account`),
    /// else by what was typed; `typed`, when given, also keeps the pair's count.
    pub(super) fn account(account_key: &str, client: &Client, typed: Option<&Account>) -> AttemptKeys {
        let net = client.network();
        AttemptKeys {
            failures: keys::login_failures(account_key),
            lock: keys::login_lock(account_key),
            ip: keys::login_ip_failures(&net),
            ip_account: typed.map(|account| keys::login_ip_account_failures(&net, account)),
        }
    }
}

/// When the counts ask for the captcha; `None`: never.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct CaptchaThresholds {
    pub account: Option<u32>,
    pub address: Option<u32>,
}

impl CaptchaThresholds {
    pub(super) fn of(settings: &Settings) -> CaptchaThresholds {
        CaptchaThresholds {
            account: Some(settings.captcha_after_failures),
            address: Some(settings.captcha_after_address_failures),
        }
    }
}

/// One attempt, from the gate to its outcome.
pub(super) struct CountedAttempt {
    store: Store,
    keys: AttemptKeys,
    id: String,
    window: Duration,
    captcha: CaptchaThresholds,
    captcha_solved: bool,
    lock_after: u32,
    lock_for: Duration,
    /// Let through, and no outcome yet.
    in_flight: bool,
}

impl CountedAttempt {
    /// An attempt under the sign-in limits (`LOGIN_FAILURE_WINDOW_SECONDS`,
    /// `LOCKOUT_*`).
    pub(super) fn new(core: &Core, keys: AttemptKeys, captcha: CaptchaThresholds) -> CountedAttempt {
        let settings = &core.settings;
        CountedAttempt::with_lock(core, keys, captcha, settings.lockout_after_failures)
    }

    /// An attempt locked out after `lock_after` failures.
    pub(super) fn with_lock(
        core: &Core,
        keys: AttemptKeys,
        captcha: CaptchaThresholds,
        lock_after: u32,
    ) -> CountedAttempt {
        CountedAttempt {
            store: core.store.clone(),
            keys,
            id: uuid::Uuid::new_v4().simple().to_string(),
            window: core.settings.failure_window,
            captcha,
            captcha_solved: false,
            lock_after,
            lock_for: core.settings.lockout_duration,
            in_flight: false,
        }
    }

    fn request(&self) -> PasswordAttempt<'_> {
        PasswordAttempt {
            account_key: &self.keys.failures,
            lock_key: &self.keys.lock,
            ip_key: &self.keys.ip,
            ip_account_key: self.keys.ip_account.as_deref(),
            id: &self.id,
            hold: PASSWORD_ATTEMPT_HOLD,
            window: self.window,
            captcha_after: self.captcha.account,
            ip_captcha_after: self.captcha.address,
            captcha_solved: self.captcha_solved,
            lock_after: self.lock_after,
            lock_for: self.lock_for,
        }
    }

    /// A solved captcha came with the attempt: the captcha thresholds no
    /// longer hold it back (the lock still does).
    pub(super) fn captcha_solved(&mut self) {
        self.captcha_solved = true;
    }

    /// The gate's answer. While attempts in flight may decide this one, it
    /// waits for them (up to `PATIENCE`, then `Wait` is the answer: busy).
    pub(super) async fn gate(&mut self) -> Result<PasswordGate, StoreError> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let gate = self.store.gate_password_attempt(&self.request()).await?;
            self.in_flight = gate == PasswordGate::Proceed;
            if gate != PasswordGate::Wait || Instant::now() >= deadline {
                return Ok(gate);
            }
            tokio::time::sleep(WAIT_STEP).await;
        }
    }

    /// The verdict: counted, and the place in flight given back.
    pub(super) async fn settle(mut self, right: bool) -> Result<(), StoreError> {
        self.in_flight = false;
        let outcome = if right { PasswordOutcome::Right } else { PasswordOutcome::Wrong };
        self.store.settle_password_attempt(&self.request(), outcome).await
    }
}

impl Drop for CountedAttempt {
    /// Dropped in flight (the client left, the hash failed, a `?`): the
    /// place is given back, nothing counted. Spawned, as a drop cannot
    /// wait; if that fails too, the place lapses (`PASSWORD_ATTEMPT_HOLD`).
    fn drop(&mut self) {
        if !self.in_flight {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let abandoned = CountedAttempt {
            store: self.store.clone(),
            keys: std::mem::take(&mut self.keys),
            id: std::mem::take(&mut self.id),
            in_flight: false,
            ..*self
        };
        runtime.spawn(async move {
            let outcome = PasswordOutcome::Abandoned;
            if let Err(e) = abandoned.store.settle_password_attempt(&abandoned.request(), outcome).await {
                tracing::warn!(error = %e, "an abandoned password attempt keeps its place until it lapses");
            }
        });
    }
}
