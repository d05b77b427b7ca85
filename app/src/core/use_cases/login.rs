//! Sign in with an account (username, mobile or verified e-mail) and a
//! password. An unknown account and a wrong password get the same answer in
//! about the same time (a dummy hash is verified). Failures are counted per
//! account and per client IP: past a few of the account's
//! (`LOGIN_CAPTCHA_AFTER_FAILURES`) or more of the address's
//! (`LOGIN_CAPTCHA_AFTER_ADDRESS_FAILURES`: many people share one address),
//! the captcha is asked; past more of the account's, its password sign-in is
//! locked for a while (SMS sign-in still works, so a stranger cannot lock the
//! owner out). Only verdicts count as failures: right passwords never make
//! anyone's sign-in ask for a captcha (`password_attempts`).

use super::{
    checks::{CaptchaRefusal, LookupRefusal, check_captcha, count_lookup},
    dependency_down, internal, keys, now_ms,
    password_attempts::{AttemptKeys, CaptchaThresholds, CountedAttempt},
    seconds_up,
    sessions::{SessionError, record_attempt, start_session},
};
use crate::i18n::Text;
use crate::{
    core::{
        Client, Core, LoginCaptcha,
        db::{DbError, UserRow},
        password_hashing::HashError,
        store::{Hit, PasswordGate, StoreError},
    },
    error::{AppError, ErrorCode, ErrorKind},
    rules::{Account, AccountError, CaptchaAnswer, CaptchaAnswerError},
    wire::{LoginForm, SignedIn},
};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error(transparent)]
    Account(#[from] AccountError),
    #[error("no password")]
    PasswordEmpty,
    #[error("the captcha is required")]
    CaptchaRequired,
    #[error(transparent)]
    CaptchaAnswer(#[from] CaptchaAnswerError),
    #[error(transparent)]
    Captcha(#[from] CaptchaRefusal),
    #[error("unknown account or wrong password")]
    WrongCredentials,
    #[error(transparent)]
    Lookup(#[from] LookupRefusal),
    #[error("password sign-in is locked")]
    Locked { until_ms: i64, retry_after: Duration },
    #[error("the account is disabled")]
    Disabled,
    /// Attempts for the same account or address stayed in flight too long.
    #[error("too many sign-ins in flight")]
    Busy,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error(transparent)]
    Session(#[from] SessionError),
}

/// The counters of one account: by user id when it exists (so that every
/// spelling counts once), else by what was typed (so that unknown accounts
/// behave like known ones).
fn account_key(account: &Account, user: Option<&UserRow>) -> String {
    user.map(|u| keys::user_account(u.id)).unwrap_or_else(|| keys::unknown_account(account))
}

/// Whether a sign-in from this client will ask for the captcha, as far as a
/// client may know: by its own failures (its address's, and its own for the
/// account it names), never by an account's from elsewhere (that would tell
/// anyone whether an account exists or is being attacked). An account with
/// failures from elsewhere still asks at the attempt (422
/// `image_code_required`), and the page shows the captcha then. `account`
/// is what was typed, if anything (unparsable: as none).
///
/// The sign-in page asks at every load; the answer tells the asker nothing
/// but what it did itself, so the page's question is not counted (people
/// behind one carrier NAT share an address and its budgets).
pub async fn login_needs_captcha(core: &Core, client: &Client, account: &str) -> Result<bool, LoginError> {
    let settings = &core.settings;
    if settings.login_captcha != LoginCaptcha::AfterFailures {
        return Ok(settings.login_captcha == LoginCaptcha::Always);
    }
    let net = client.network();
    let window = settings.failure_window;
    if core.store.count(&keys::login_ip_failures(&net), window).await?
        >= u64::from(settings.captcha_after_address_failures)
    {
        return Ok(true);
    }
    let Ok(account) = Account::parse(account) else { return Ok(false) };
    Ok(core.store.count(&keys::login_ip_account_failures(&net, &account), window).await?
        >= u64::from(settings.captcha_after_failures))
}

/// `login_needs_captcha` for the JSON API (`GET /login/captcha`), where
/// scripts ask: limited like the availability checks.
pub async fn ask_login_captcha(core: &Core, client: &Client, account: &str) -> Result<bool, LoginError> {
    count_lookup(core, client).await?;
    login_needs_captcha(core, client, account).await
}

#[tracing::instrument(name = "login", skip_all)]
pub async fn login(core: &Core, client: &Client, form: &LoginForm) -> Result<SignedIn, LoginError> {
    let account = Account::parse(&form.account)?;
    if form.password.is_empty() {
        return Err(LoginError::PasswordEmpty);
    }
    let user = core.db.find_user_by_account(&account).await?;
    let key = account_key(&account, user.as_ref());

    // One atomic step asks "captcha needed? locked?" and, if not, puts the
    // attempt in flight: so that thirty simultaneous attempts cannot all
    // pass a check made before any of them had a verdict. The ones that
    // could be decided by those in flight wait for them.
    let settings = &core.settings;
    let captcha = match settings.login_captcha {
        LoginCaptcha::AfterFailures => CaptchaThresholds::of(settings),
        _ => CaptchaThresholds::default(),
    };
    let mut attempt = CountedAttempt::new(core, AttemptKeys::account(&key, client, Some(&account)), captcha);
    let mut gate = match settings.login_captcha {
        LoginCaptcha::Always => PasswordGate::CaptchaRequired,
        _ => attempt.gate().await?,
    };
    if gate == PasswordGate::CaptchaRequired {
        // Only now is a captcha spent: one that was not needed stays unused.
        let (Some(id), Some(text)) = (form.image_code_id.as_deref(), form.text.as_deref()) else {
            return Err(LoginError::CaptchaRequired);
        };
        if text.trim().is_empty() {
            return Err(LoginError::CaptchaRequired);
        }
        check_captcha(core, id, &CaptchaAnswer::parse(text)?).await?;
        attempt.captcha_solved();
        gate = attempt.gate().await?;
    }
    match gate {
        PasswordGate::Proceed => {}
        PasswordGate::Wait => return Err(LoginError::Busy),
        PasswordGate::CaptchaRequired => return Err(LoginError::CaptchaRequired),
        PasswordGate::Locked { retry_after } => {
            // One history row per lock: a flood against a locked account must
            // not push the owner's real sign-ins out of the history.
            let first = core.store.hit(&keys::login_lock_noted(&key), retry_after, 1).await? == Hit::Allowed;
            if let Some(user) = &user
                && first
            {
                record_attempt(core, client, user.id, "password", "locked").await;
            }
            return Err(LoginError::Locked { until_ms: now_ms() + retry_after.as_millis() as i64, retry_after });
        }
    }

    let hash = user.as_ref().map(UserRow::password_hash);
    let right = core.hasher.verify_or_dummy(&form.password, hash.as_ref()).await?;
    attempt.settle(right).await?;
    if !right {
        if let Some(user) = &user {
            record_attempt(core, client, user.id, "password", "wrong_password").await;
        }
        return Err(LoginError::WrongCredentials);
    }
    // The password matched, so the user exists.
    let Some(user) = user else { return Err(LoginError::WrongCredentials) };
    if !user.is_active {
        record_attempt(core, client, user.id, "password", "disabled").await;
        return Err(LoginError::Disabled);
    }
    Ok(start_session(core, client, &user, form.remember, "password").await?)
}

/// `HH:MM` in China Standard Time (UTC+8), for "locked until".
pub fn clock_time_cst(unix_ms: i64) -> String {
    let minutes = (unix_ms.div_euclid(60_000) + 8 * 60).rem_euclid(24 * 60);
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

impl From<LoginError> for AppError {
    fn from(e: LoginError) -> AppError {
        use LoginError as E;
        match e {
            E::Account(e) => AppError::field("account", ErrorCode::AccountInvalid, e.text()),
            E::PasswordEmpty => AppError::field("password", ErrorCode::PasswordInvalid, Text::rule_password_empty()),
            E::CaptchaRequired => AppError::field("text", ErrorCode::ImageCodeRequired, Text::rule_captcha_empty()),
            E::CaptchaAnswer(e) => AppError::field("text", ErrorCode::ImageCodeInvalid, e.text()),
            E::Captcha(e) => e.into(),
            E::WrongCredentials => {
                AppError::new(ErrorKind::Unauthorized, ErrorCode::WrongCredentials, Text::error_wrong_credentials())
                    .with_field("password")
            }
            E::Locked { until_ms, retry_after } => AppError::rate_limited(
                ErrorCode::AccountLocked,
                Text::error_login_locked(clock_time_cst(until_ms)),
                seconds_up(retry_after),
            ),
            E::Lookup(e) => e.into(),
            E::Disabled => {
                AppError::new(ErrorKind::Forbidden, ErrorCode::AccountDisabled, Text::error_account_disabled())
            }
            E::Store(e) => dependency_down("login", "store", &e),
            E::Db(e) => dependency_down("login", "database", &e),
            E::Hash(HashError::Busy) | E::Busy => AppError::busy(),
            E::Hash(e) => internal("login", "hashing", &e),
            E::Session(e) => e.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_times_are_shown_in_china_time() {
        // 2026-11-23 11:40 UTC is 19:40 in Beijing.
        assert_eq!(clock_time_cst(1_795_434_000_000), "19:40");
        assert_eq!(clock_time_cst(0), "08:00");
    }
}
