//! Send an SMS code: after the proof of work and the image captcha, a
//! 6-digit code from a CSPRNG,
//! bound to its purpose, valid for a while. One atomic store step refuses a
//! resend inside the interval and enforces the per-number daily cap and the
//! per-IP hourly cap. The code is then handed to the delivery queue: the
//! visitor's answer never waits for the SMS provider.

use super::{
    checks::{
        CaptchaRefusal, LookupRefusal, check_captcha, costs_a_lookup, count_recovery_request,
        too_many_recovery_requests,
    },
    dependency_down, keys,
    proof_of_work::{PowRefusal, check_proof},
    seconds_up,
    sessions::Authenticated,
};
use crate::i18n::{Locale, Text};
use crate::{
    core::{
        Client, Core,
        db::DbError,
        delivery::{self, JobMessage, QueueError},
        sms::SmsRefusal,
        store::{SendSlot, SendSlotRequest, StoreError},
    },
    error::{AppError, ErrorCode},
    rules::{CaptchaAnswer, CaptchaAnswerError, Mobile, MobileError, Purpose, PurposeError, SmsCode},
    wire::{SendSmsCodeForm, SmsCooldown, SmsSent},
};
use futures::future::BoxFuture;
use rand::Rng;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum SendSmsCodeError {
    #[error(transparent)]
    Mobile(#[from] MobileError),
    #[error(transparent)]
    Purpose(#[from] PurposeError),
    #[error(transparent)]
    CaptchaAnswer(#[from] CaptchaAnswerError),
    #[error(transparent)]
    Pow(#[from] PowRefusal),
    #[error(transparent)]
    Captcha(#[from] CaptchaRefusal),
    #[error("a code for the account's own mobile needs a signed-in account")]
    SignInRequired,
    #[error("the mobile is already registered")]
    MobileTaken,
    #[error("no account has this mobile")]
    NotRegistered,
    #[error(transparent)]
    Lookup(#[from] LookupRefusal),
    #[error("cooldown")]
    Cooldown { retry_after: Duration },
    #[error("daily cap")]
    DailyCap { retry_after: Duration },
    #[error("IP cap")]
    IpCap { retry_after: Duration },
    #[error("site cap")]
    SiteCap { retry_after: Duration },
    #[error("recovery requests cap")]
    RecoveryCap { retry_after: Duration },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Queue(#[from] QueueError),
}

// The purpose is a log field only once parsed: raw input never reaches a log.
#[tracing::instrument(name = "send_sms_code", skip_all, fields(purpose = tracing::field::Empty))]
///
/// A code for `bind_email` or `delete_account` goes to the signed-in account's own mobile
/// (`signed_in`), whatever number the form names: only its owner may ask
/// for one, and the page never needs to hold the full number.
pub fn send_sms_code<'a>(
    core: &'a Core,
    client: &'a Client,
    signed_in: Option<&'a Authenticated>,
    form: &'a SendSmsCodeForm,
) -> BoxFuture<'a, Result<SmsSent, SendSmsCodeError>> {
    Box::pin(async move {
        let purpose: Purpose = form.purpose.parse()?;
        let mobile = match (purpose, signed_in) {
            (p, Some(auth)) if p.is_own_account() => Mobile::parse(&auth.user.mobile)?,
            (p, None) if p.is_own_account() => return Err(SendSmsCodeError::SignInRequired),
            _ => Mobile::parse(&form.mobile)?,
        };
        tracing::Span::current().record("purpose", purpose.as_str());
        // A reset code is a recovery request: it counts against the address's
        // recovery budget as well, refused or not.
        if purpose == Purpose::ResetPassword
            && let Some(retry_after) = count_recovery_request(core, client).await?
        {
            return Err(SendSmsCodeError::RecoveryCap { retry_after });
        }
        let answer = CaptchaAnswer::parse(&form.text)?;
        // The proof first: a refused proof leaves the captcha for another try,
        // and no captcha answer is judged without work paid for it. The proof
        // works once because the captcha it is bound to does.
        let bound_to = check_proof(core, &form.image_code_id, purpose, &form.pow_challenge, &form.pow_nonce)?;
        let instance = check_captcha(core, &form.image_code_id, &answer).await?;
        if bound_to.is_some_and(|bound_to| bound_to != instance) {
            return Err(PowRefusal::Invalid.into());
        }
        let account = core.db.user_id_by_mobile(&mobile).await?;
        let registered = account.is_some();
        // Each answer says whether the number has an account: it costs a lookup.
        match purpose {
            Purpose::Register if registered => {
                return Err(costs_a_lookup(core, client, SendSmsCodeError::MobileTaken).await);
            }
            Purpose::Login | Purpose::ResetPassword | Purpose::BindEmail | Purpose::DeleteAccount if !registered => {
                return Err(costs_a_lookup(core, client, SendSmsCodeError::NotRegistered).await);
            }
            _ => {}
        }

        let settings = &core.settings;
        let code = SmsCode::from_number(rand::rng().random_range(0..1_000_000));
        let (cooldown_key, code_key) = (keys::sms_cooldown(purpose, &mobile), keys::sms_code(purpose, &mobile));
        let (day_key, ip_key) = (keys::sms_daily(&mobile), keys::sms_ip_hourly(&client.network()));
        let notice_key = keys::sms_refusal(purpose, &mobile);
        let slot = SendSlotRequest {
            cooldown_key: &cooldown_key,
            cooldown: settings.sms_resend_interval,
            day_key: &day_key,
            day_cap: settings.sms_daily_cap,
            day_window: Duration::from_secs(86_400),
            ip_key: &ip_key,
            ip_cap: settings.sms_ip_hourly_cap,
            ip_window: Duration::from_secs(3_600),
            site_key: keys::SMS_SITE_HOURLY,
            site_cap: settings.sms_site_hourly_cap,
            site_window: Duration::from_secs(3_600),
            code_key: &code_key,
            code: code.as_str(),
            code_ttl: settings.sms_code_ttl,
            notice_key: &notice_key,
        };
        match core.store.acquire_send_slot(&slot).await? {
            SendSlot::Granted => {}
            SendSlot::Cooldown { retry_after } => return Err(SendSmsCodeError::Cooldown { retry_after }),
            SendSlot::DailyCap { retry_after } => return Err(SendSmsCodeError::DailyCap { retry_after }),
            SendSlot::IpCap { retry_after } => return Err(SendSmsCodeError::IpCap { retry_after }),
            SendSlot::SiteCap { retry_after } => {
                // Loud: either the site grew past its budget, or someone pumps
                // SMS through it (toll fraud) across many numbers and addresses.
                tracing::error!(
                    cap = settings.sms_site_hourly_cap,
                    "the site-wide hourly SMS budget is spent (SMS_SITE_HOURLY_CAP); sends are refused until the hour ends"
                );
                return Err(SendSmsCodeError::SiteCap { retry_after });
            }
        }

        if let Err(e) = enqueue(core, &mobile, purpose, &code, account, client.locale).await {
            // Nothing will be delivered: free the number for an immediate retry.
            if let Err(release) = core.store.release_send_slot(&cooldown_key, &code_key).await {
                tracing::error!(error = %release, "send_sms_code: could not release the slot");
            }
            return Err(e);
        }
        tracing::info!(to = %mobile.masked(), "sms code queued");
        Ok(SmsSent { resend_after: settings.sms_resend_interval.as_secs() })
    })
}

/// Hands the code to the delivery queue.
async fn enqueue(
    core: &Core,
    mobile: &Mobile,
    purpose: Purpose,
    code: &SmsCode,
    account: Option<i64>,
    locale: Locale,
) -> Result<(), SendSmsCodeError> {
    let ttl = core.settings.sms_code_ttl;
    let message = JobMessage::SmsCode {
        mobile: mobile.to_string(),
        purpose: purpose.to_string(),
        code: code.as_str().to_owned(),
        minutes: ttl.as_secs().div_ceil(60),
        expires_at_ms: super::now_ms() + ttl.as_millis() as i64,
        lang: locale.tag().to_owned(),
    };
    delivery::enqueue(core, message, account).await?;
    Ok(())
}

/// When another code for `purpose` may be sent to `mobile`, and why the
/// provider refused the last one, if it did (said in `locale`).
pub async fn sms_cooldown(
    core: &Core,
    locale: Locale,
    mobile: &str,
    purpose: &str,
) -> Result<SmsCooldown, SendSmsCodeError> {
    let mobile = Mobile::parse(mobile)?;
    let purpose: Purpose = purpose.parse()?;
    let left = core.store.ttl(&keys::sms_cooldown(purpose, &mobile)).await?;
    let refusal = core.store.get(&keys::sms_refusal(purpose, &mobile)).await?.and_then(|c| SmsRefusal::from_code(&c));
    Ok(SmsCooldown {
        seconds: left.map(seconds_up).unwrap_or(0),
        refusal: refusal.map(|r| crate::wire::SmsRefusalView {
            code: r.code().into(),
            message: crate::i18n::Texts::of(locale).say(&r.text()),
        }),
    })
}

impl From<SendSmsCodeError> for AppError {
    fn from(e: SendSmsCodeError) -> AppError {
        use SendSmsCodeError as E;
        match e {
            E::Mobile(e) => AppError::field("mobile", ErrorCode::MobileInvalid, e.text()),
            E::Purpose(e) => AppError::bad_request(e.text()).with_field("purpose"),
            E::CaptchaAnswer(e) => AppError::field("text", ErrorCode::ImageCodeInvalid, e.text()),
            E::Pow(e) => e.into(),
            E::Captcha(e) => e.into(),
            E::Lookup(e) => e.into(),
            E::SignInRequired => {
                AppError::new(crate::error::ErrorKind::Unauthorized, ErrorCode::SignedOut, Text::error_signed_out())
            }
            E::MobileTaken => {
                AppError::field("mobile", ErrorCode::MobileTaken, Text::error_mobile_taken()).with_conflict()
            }
            E::NotRegistered => {
                AppError::field("mobile", ErrorCode::MobileNotRegistered, Text::error_mobile_not_registered())
            }
            E::Cooldown { retry_after } => {
                let s = seconds_up(retry_after);
                AppError::rate_limited(ErrorCode::SmsCooldown, Text::error_sms_cooldown(s), s).with_field("sms_code")
            }
            E::DailyCap { retry_after } => {
                AppError::rate_limited(ErrorCode::SmsDailyCap, Text::error_sms_daily_cap(), seconds_up(retry_after))
                    .with_field("sms_code")
            }
            E::IpCap { retry_after } => {
                AppError::rate_limited(ErrorCode::SmsIpCap, Text::error_sms_ip_cap(), seconds_up(retry_after))
                    .with_field("sms_code")
            }
            E::SiteCap { retry_after } => {
                AppError::rate_limited(ErrorCode::SmsSiteCap, Text::error_sms_site_cap(), seconds_up(retry_after))
                    .with_field("sms_code")
            }
            E::RecoveryCap { retry_after } => too_many_recovery_requests(retry_after).with_field("sms_code"),
            E::Store(e) => dependency_down("send_sms_code", "store", &e),
            E::Db(e) => dependency_down("send_sms_code", "database", &e),
            E::Queue(e) => {
                tracing::error!(error = %e, "send_sms_code: the delivery queue is unavailable");
                AppError::new(
                    crate::error::ErrorKind::Unavailable,
                    ErrorCode::SmsSendFailed,
                    Text::error_sms_send_failed(),
                )
                .with_field("sms_code")
            }
        }
    }
}
