//! The account's e-mail address: bound by the signed-in user (with the
//! password and a code sent to the account's mobile: the phone is the
//! account's root, and someone who had the password once must not be able
//! to put their own address on it), proven by a link sent through the
//! delivery queue, and only then used to sign in and to recover. Until the
//! link is opened the old verified address (if any) stays; once it is, the
//! old one hears of the change. A change of password ends waiting links.

use super::{
    account::{OwnPasswordRefusal, check_own_password},
    checks::{LinkPace, LookupRefusal, SmsCodeRefusal, check_sms_code, costs_a_lookup, pace_mailed_link},
    dependency_down, keys, now_ms, seconds_up,
    sessions::Authenticated,
};
use crate::i18n::{Locale, Text};
use crate::{
    core::{
        Client, Core,
        db::{DbError, EmailVerification, LinkState},
        delivery::{self, JobMessage, QueueError},
        mail::{Mail, mask_address},
        store::StoreError,
        tokens::LinkToken,
    },
    error::{AppError, ErrorCode, ErrorKind},
    rules::{Account, Email, EmailError, Mobile, Purpose, SmsCode, SmsCodeError},
    wire::{BindEmailForm, EmailLink, EmailStatus},
};
use futures::future::BoxFuture;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum EmailBindingError {
    #[error(transparent)]
    Email(#[from] EmailError),
    #[error(transparent)]
    Password(OwnPasswordRefusal),
    #[error(transparent)]
    SmsCode(#[from] SmsCodeError),
    #[error(transparent)]
    SmsCodeRefused(#[from] SmsCodeRefusal),
    #[error("the address is this account's already")]
    AlreadyBound,
    #[error("another account has verified this address")]
    Taken,
    #[error(transparent)]
    Lookup(#[from] LookupRefusal),
    #[error("no address is waiting for its link")]
    NothingPending,
    #[error("no address is bound")]
    NothingBound,
    #[error("wait before sending again")]
    Cooldown { retry_after: Duration },
    #[error("daily cap")]
    DailyCap { retry_after: Duration },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Queue(#[from] QueueError),
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyEmailError {
    #[error("the link does not work: {0:?}")]
    Link(LinkState),
    #[error("another account has verified this address")]
    Taken,
    #[error(transparent)]
    Db(#[from] DbError),
}

/// The account's verified address and the one waiting for its link.
pub fn email_status<'a>(
    core: &'a Core,
    auth: &'a Authenticated,
) -> BoxFuture<'a, Result<EmailStatus, EmailBindingError>> {
    Box::pin(async move {
        let user = &auth.user;
        let pending = core.db.pending_email(user.id).await?;
        let resend_after = match &pending {
            Some(p) => match Email::parse(&p.email) {
                Ok(email) => resend_wait(core, user.id, &email).await?,
                Err(_) => 0,
            },
            None => 0,
        };
        Ok(EmailStatus {
            verified: user.email.clone().filter(|_| user.email_verified),
            pending_expired: pending.as_ref().is_some_and(|p| p.expires_at <= now_ms()),
            pending: pending.map(|p| p.email),
            resend_after,
        })
    })
}

/// Starts binding `form.email` to the account: checks the password and the
/// code sent to the account's mobile for `bind_email` (used up here), then
/// sends a verification link. The account keeps its verified address (if
/// any) until the link is opened.
#[tracing::instrument(name = "bind_email", skip_all, fields(user_id = auth.user.id))]
pub fn bind_email<'a>(
    core: &'a Core,
    client: &'a Client,
    auth: &'a Authenticated,
    form: &'a BindEmailForm,
) -> BoxFuture<'a, Result<EmailStatus, EmailBindingError>> {
    Box::pin(async move {
        let user = &auth.user;
        let email = Email::parse(&form.email)?;
        let code = SmsCode::parse(&form.sms_code)?;
        check_own_password(core, client, user, &form.password).await.map_err(EmailBindingError::Password)?;
        if user.email_verified && user.email.as_deref() == Some(email.as_str()) {
            return Err(EmailBindingError::AlreadyBound);
        }
        // Said now rather than after a wasted link; it tells whether an address
        // has an account, so it costs a lookup.
        if core.db.find_user_by_account(&Account::Email(email.clone())).await?.is_some() {
            return Err(costs_a_lookup(core, client, EmailBindingError::Taken).await);
        }
        // A link that cannot go now is said before the code is spent on it.
        let wait = resend_wait(core, user.id, &email).await?;
        if wait > 0 {
            return Err(EmailBindingError::Cooldown { retry_after: Duration::from_secs(wait) });
        }
        // Wrong tries count against the code like any other; of two binds at
        // once with one code, one finds it gone.
        let mobile = Mobile::parse(&user.mobile).map_err(|_| SmsCodeRefusal::Missing)?;
        let code_key = check_sms_code(core, Purpose::BindEmail, &mobile, &code).await?;
        if !core.store.consume_code(&code_key, code.as_str()).await? {
            return Err(SmsCodeRefusal::Missing.into());
        }
        send_link(core, user.id, &email, client.locale).await?;
        email_status(core, auth).await
    })
}

/// Sends the waiting address its link again (a new one: the old stops).
#[tracing::instrument(name = "resend_email_link", skip_all, fields(user_id = auth.user.id))]
pub fn resend_email_link<'a>(
    core: &'a Core,
    auth: &'a Authenticated,
) -> BoxFuture<'a, Result<EmailStatus, EmailBindingError>> {
    Box::pin(async move {
        let pending = core.db.pending_email(auth.user.id).await?.ok_or(EmailBindingError::NothingPending)?;
        let email = Email::parse(&pending.email).map_err(|_| EmailBindingError::NothingPending)?;
        send_link(core, auth.user.id, &email, auth.user.locale(core.settings.default_locale)).await?;
        email_status(core, auth).await
    })
}

/// Unbinds the address (verified or waiting), with the password. Sign-in
/// and recovery go on by mobile, which every account has.
#[tracing::instrument(name = "remove_email", skip_all, fields(user_id = auth.user.id))]
pub fn remove_email<'a>(
    core: &'a Core,
    client: &'a Client,
    auth: &'a Authenticated,
    password: &'a str,
) -> BoxFuture<'a, Result<EmailStatus, EmailBindingError>> {
    Box::pin(async move {
        check_own_password(core, client, &auth.user, password).await.map_err(EmailBindingError::Password)?;
        if !core.db.remove_email(auth.user.id).await? {
            return Err(EmailBindingError::NothingBound);
        }
        tracing::info!("e-mail removed");
        Ok(EmailStatus::default())
    })
}

/// The address a verification link would verify, and the account (its
/// mobile, masked) it would be bound to, while it works: what the page shows
/// before the person confirms. Opening a link verifies nothing, because mail
/// scanners open links too: a stranger who bound someone else's address
/// would otherwise have it verified by that person's scanner; and the
/// account is named, so that a person who did not ask sees it is not theirs.
pub async fn email_link_status(core: &Core, raw_token: &str) -> Result<EmailLink, VerifyEmailError> {
    let token = LinkToken::parse(raw_token).ok_or(VerifyEmailError::Link(LinkState::Unknown))?;
    match core.db.email_verification_link(&token.hash(), now_ms()).await? {
        (LinkState::Usable, Some((email, mobile))) => {
            let account = Mobile::parse(&mobile).map(|m| m.masked()).unwrap_or_default();
            Ok(EmailLink { email, account })
        }
        (LinkState::Usable, None) => Err(VerifyEmailError::Link(LinkState::Unknown)),
        (state, _) => Err(VerifyEmailError::Link(state)),
    }
}

/// Follows a verification link (the person confirmed), signed in or not:
/// the address becomes the account's verified one; the old verified address
/// gets a notice.
#[tracing::instrument(name = "verify_email", skip_all)]
pub fn verify_email<'a>(
    core: &'a Core,
    raw_token: &'a str,
    locale: Locale,
) -> BoxFuture<'a, Result<String, VerifyEmailError>> {
    Box::pin(async move {
        let token = LinkToken::parse(raw_token).ok_or(VerifyEmailError::Link(LinkState::Unknown))?;
        // The old address is told, in the change's own transaction.
        let notice = |user_id: i64, previous: Option<&str>, email: &str| {
            let old = previous.filter(|old| *old != email)?;
            let site = core.settings.site_name_in(locale);
            let mail = Mail::EmailChanged { site, new_address: mask_address(email) };
            let lang = locale.tag().to_owned();
            let message = JobMessage::Email { to: old.to_owned(), mail, expires_at_ms: None, lang };
            Some(delivery::written_with_change(core, message, Some(user_id)))
        };
        match core.db.verify_email(&token.hash(), now_ms(), notice).await? {
            EmailVerification::Verified { user_id, email, notice } => {
                tracing::info!(user_id, to = %mask_address(&email), "e-mail verified");
                if let Some(notice) = notice {
                    delivery::queue_written(core, std::slice::from_ref(&*notice)).await;
                }
                Ok(email)
            }
            EmailVerification::Taken => Err(VerifyEmailError::Taken),
            EmailVerification::Refused(state) => Err(VerifyEmailError::Link(state)),
        }
    })
}

/// Seconds before the waiting address may get another link.
async fn resend_wait(core: &Core, user_id: i64, email: &Email) -> Result<u64, StoreError> {
    let by_address = core.store.ttl(&keys::email_cooldown(email.as_str())).await?;
    let by_account = core.store.ttl(&keys::email_cooldown(&keys::user_account(user_id))).await?;
    Ok(by_address.max(by_account).map_or(0, seconds_up))
}

/// The SMS rules for a link: one per resend interval and a daily cap, per
/// address and per account; then a fresh link replaces any waiting one.
async fn send_link(core: &Core, user_id: i64, email: &Email, locale: Locale) -> Result<(), EmailBindingError> {
    let settings = &core.settings;
    let account = keys::user_account(user_id);
    for name in [email.as_str(), account.as_str()] {
        if let Some(pace) = pace_mailed_link(core, &keys::email_cooldown(name), &keys::email_daily(name)).await? {
            return Err(pace.into());
        }
    }
    let token = LinkToken::generate();
    let now = now_ms();
    let expires_at = now + settings.email_link_ttl.as_millis() as i64;
    core.db.start_email_verification(user_id, email, &token.hash(), now, expires_at).await?;
    let mail = Mail::VerifyEmail {
        site: settings.site_name_in(locale),
        link: settings.mailed_link("/email/verify", &token),
        hours: settings.email_link_ttl.as_secs().div_ceil(3600),
    };
    let lang = locale.tag().to_owned();
    let message = JobMessage::Email { to: email.as_str().to_owned(), mail, expires_at_ms: Some(expires_at), lang };
    delivery::enqueue(core, message, Some(user_id)).await?;
    tracing::info!(to = %mask_address(email.as_str()), "verification link queued");
    Ok(())
}

/// A link's state in words, for the pages and the API alike, from its
/// three texts: expired, used, unknown.
pub(super) fn link_refusal(state: LinkState, [expired, used, unknown]: [fn() -> Text; 3]) -> AppError {
    let (code, message) = match state {
        LinkState::Expired => (ErrorCode::LinkExpired, expired()),
        LinkState::Used => (ErrorCode::LinkUsed, used()),
        LinkState::Unknown | LinkState::Usable => (ErrorCode::LinkUnknown, unknown()),
    };
    AppError::new(ErrorKind::Invalid, code, message)
}

impl From<LinkPace> for EmailBindingError {
    fn from(pace: LinkPace) -> Self {
        match pace {
            LinkPace::Cooldown(retry_after) => EmailBindingError::Cooldown { retry_after },
            LinkPace::DailyCap(retry_after) => EmailBindingError::DailyCap { retry_after },
        }
    }
}

impl From<VerifyEmailError> for AppError {
    fn from(e: VerifyEmailError) -> AppError {
        match e {
            VerifyEmailError::Link(state) => link_refusal(
                state,
                [Text::error_verify_link_expired, Text::error_verify_link_used, Text::error_verify_link_unknown],
            ),
            VerifyEmailError::Taken => taken(),
            VerifyEmailError::Db(e) => dependency_down("verify_email", "database", &e),
        }
    }
}

fn taken() -> AppError {
    AppError::new(ErrorKind::Conflict, ErrorCode::EmailTaken, Text::error_email_taken()).with_field("email")
}

impl From<EmailBindingError> for AppError {
    fn from(e: EmailBindingError) -> AppError {
        use EmailBindingError as E;
        match e {
            E::Email(e) => AppError::field("email", ErrorCode::EmailInvalid, e.text()),
            E::Password(e) => e.into_app_error("password"),
            E::SmsCode(e) => AppError::field("sms_code", ErrorCode::SmsCodeInvalid, e.text()),
            E::SmsCodeRefused(e) => e.into(),
            E::AlreadyBound => {
                AppError::field("email", ErrorCode::EmailAlreadyBound, Text::error_email_already_bound())
            }
            E::Taken => taken(),
            E::Lookup(e) => e.into(),
            E::NothingPending => {
                AppError::new(ErrorKind::Invalid, ErrorCode::NoPendingEmail, Text::error_no_pending_email())
            }
            E::NothingBound => AppError::new(ErrorKind::Invalid, ErrorCode::NoEmail, Text::error_no_email()),
            E::Cooldown { retry_after } => AppError::rate_limited(
                ErrorCode::EmailCooldown,
                Text::error_email_cooldown(seconds_up(retry_after)),
                seconds_up(retry_after),
            ),
            E::DailyCap { retry_after } => {
                AppError::rate_limited(ErrorCode::EmailDailyCap, Text::error_email_daily_cap(), seconds_up(retry_after))
            }
            E::Store(e) => dependency_down("email", "store", &e),
            E::Db(e) => dependency_down("email", "database", &e),
            E::Queue(e) => dependency_down("email", "queue", &e),
        }
    }
}
