//! The checks several use cases share: the image captcha, the SMS code, the
//! per-address lookup budget and recovery budget, and the pace of mailed
//! links. Each is one store step, and each refusal is worded once.

use super::{dependency_down, issue_captcha::StoredCaptcha, keys, seconds_up};
use crate::i18n::Text;
use crate::{
    core::{
        Client, Core,
        store::{CodeCheck, Hit, StoreError},
    },
    error::{AppError, ErrorCode},
    rules::{CaptchaAnswer, Mobile, Purpose, SmsCode},
};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum LookupRefusal {
    #[error("too many lookups")]
    TooMany { retry_after: std::time::Duration },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Counts one lookup from `client` against `LOOKUPS_PER_MINUTE`: the
/// availability checks and the sign-in captcha question share the budget, so
/// that neither can be used to list or probe accounts.
pub(crate) async fn count_lookup(core: &Core, client: &Client) -> Result<(), LookupRefusal> {
    let window = std::time::Duration::from_secs(60);
    match core.store.hit(&keys::lookups(&client.network()), window, core.settings.lookups_per_minute).await? {
        Hit::Allowed => Ok(()),
        Hit::Limited { retry_after } => Err(LookupRefusal::TooMany { retry_after }),
    }
}

/// An answer that says whether an account exists (Text::error_mobile_taken(), "该用户名
/// 已被使用"...) costs one lookup from `client`, like the availability
/// checks: past the budget, the refusal replaces the answer, so that no step
/// of a form becomes a free oracle of who is registered.
pub(crate) async fn costs_a_lookup<E: From<LookupRefusal>>(core: &Core, client: &Client, answer: E) -> E {
    match count_lookup(core, client).await {
        Ok(()) => answer,
        Err(refusal) => refusal.into(),
    }
}

/// Counts one recovery request from `client` (by e-mail, or a
/// `reset_password` code by SMS), refused or not; `Some(wait)` once the
/// address's hour is spent.
pub(crate) async fn count_recovery_request(core: &Core, client: &Client) -> Result<Option<Duration>, StoreError> {
    let hour = Duration::from_secs(3_600);
    Ok(
        match core.store.hit(&keys::recovery_ip(&client.network()), hour, core.settings.recovery_ip_hourly_cap).await? {
            Hit::Allowed => None,
            Hit::Limited { retry_after } => Some(retry_after),
        },
    )
}

/// The refusal once an address's recovery requests for the hour are spent.
pub(crate) fn too_many_recovery_requests(retry_after: Duration) -> AppError {
    AppError::rate_limited(ErrorCode::TooManyRecoveryRequests, Text::error_recovery_too_many(), seconds_up(retry_after))
}

/// Why a mailed link may not go now: the SMS rules, applied to links.
#[derive(Clone, Copy, Debug)]
pub(crate) enum LinkPace {
    Cooldown(std::time::Duration),
    DailyCap(std::time::Duration),
}

/// Counts one mailed link under a name (an address, an account) by the SMS
/// rules: one per resend interval, and at most `SMS_DAILY_CAP` a day; each
/// a store step of its own. `Some` says which one refuses, and for how long.
pub(crate) async fn pace_mailed_link(
    core: &Core,
    cooldown_key: &str,
    daily_key: &str,
) -> Result<Option<LinkPace>, StoreError> {
    let settings = &core.settings;
    if let Hit::Limited { retry_after } = core.store.hit(cooldown_key, settings.sms_resend_interval, 1).await? {
        return Ok(Some(LinkPace::Cooldown(retry_after)));
    }
    let day = std::time::Duration::from_secs(86_400);
    if let Hit::Limited { retry_after } = core.store.hit(daily_key, day, settings.sms_daily_cap).await? {
        return Ok(Some(LinkPace::DailyCap(retry_after)));
    }
    Ok(None)
}

impl From<LookupRefusal> for AppError {
    fn from(e: LookupRefusal) -> AppError {
        match e {
            LookupRefusal::TooMany { retry_after } => AppError::rate_limited(
                ErrorCode::TooManyLookups,
                Text::error_too_many_lookups(),
                seconds_up(retry_after),
            ),
            LookupRefusal::Store(e) => dependency_down("lookup", "store", &e),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CaptchaRefusal {
    #[error("the captcha expired or was used")]
    Expired,
    #[error("the captcha answer is wrong")]
    Wrong,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Takes the answer stored for captcha `id` (so it works once, right or
/// wrong) and compares it with `answer`, ignoring case. An id that is not a
/// UUID was never issued: it reads as expired. Returns the captcha's
/// instance, which a proof of work sent with it must be bound to.
pub(crate) async fn check_captcha(core: &Core, id: &str, answer: &CaptchaAnswer) -> Result<u64, CaptchaRefusal> {
    let id = uuid::Uuid::parse_str(id.trim()).map_err(|_| CaptchaRefusal::Expired)?;
    let stored = core.store.take(&keys::captcha(&id)).await?.as_deref().and_then(StoredCaptcha::parse);
    match stored {
        // Never drawn: nobody saw it, so nobody can have read it.
        None | Some(StoredCaptcha { drawn: false, .. }) => Err(CaptchaRefusal::Expired),
        Some(stored) if !stored.answer.eq_ignore_ascii_case(answer.as_str()) => Err(CaptchaRefusal::Wrong),
        Some(stored) => Ok(stored.instance),
    }
}

impl From<CaptchaRefusal> for AppError {
    fn from(e: CaptchaRefusal) -> AppError {
        match e {
            CaptchaRefusal::Expired => {
                AppError::field("text", ErrorCode::ImageCodeExpired, Text::error_image_code_expired())
            }
            CaptchaRefusal::Wrong => AppError::field("text", ErrorCode::ImageCodeWrong, Text::error_image_code_wrong()),
            CaptchaRefusal::Store(e) => dependency_down("captcha", "store", &e),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SmsCodeRefusal {
    #[error("no live SMS code")]
    Missing,
    #[error("wrong SMS code")]
    Wrong { attempts_left: u32 },
    #[error("wrong SMS code, and no tries left")]
    Dead,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Compares `code` with the one sent to `mobile` for `purpose`, counting a
/// wrong try. The code stays until `consume`d. Returns its store key.
pub(crate) async fn check_sms_code(
    core: &Core,
    purpose: Purpose,
    mobile: &Mobile,
    code: &SmsCode,
) -> Result<String, SmsCodeRefusal> {
    let key = keys::sms_code(purpose, mobile);
    match core.store.check_code(&key, code.as_str(), core.settings.sms_max_attempts).await? {
        CodeCheck::Match => Ok(key),
        CodeCheck::Missing => Err(SmsCodeRefusal::Missing),
        CodeCheck::Exhausted => Err(SmsCodeRefusal::Dead),
        CodeCheck::Mismatch { attempts_left } => Err(SmsCodeRefusal::Wrong { attempts_left }),
    }
}

impl From<SmsCodeRefusal> for AppError {
    fn from(e: SmsCodeRefusal) -> AppError {
        match e {
            SmsCodeRefusal::Missing => {
                AppError::field("sms_code", ErrorCode::SmsCodeExpired, Text::error_sms_code_expired())
            }
            SmsCodeRefusal::Wrong { attempts_left } => {
                AppError::field("sms_code", ErrorCode::SmsCodeWrong, Text::error_sms_code_wrong(attempts_left))
            }
            SmsCodeRefusal::Dead => AppError::field("sms_code", ErrorCode::SmsCodeDead, Text::error_sms_code_dead()),
            SmsCodeRefusal::Store(e) => dependency_down("sms_code", "store", &e),
        }
    }
}
