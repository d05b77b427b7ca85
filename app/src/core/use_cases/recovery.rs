//! "忘记密码": a reset link by e-mail, or a code by SMS, then a new password.
//!
//! By e-mail the request does the same work whether or not an account has
//! verified the address (captcha, limits, a fresh token, one job in the
//! queue); the worker looks the account up (`PasswordResetLink`), so the
//! answer and its time say nothing. The link's token is kept only as a hash,
//! works for `RESET_LINK_TTL_MINUTES`, once, and only while the password is
//! the one it was made for. By SMS the code is sent for `reset_password`
//! under the same rules as every code. After a reset every session ends,
//! the password counters are cleared, and the owner is told.

use super::{
    checks::{
        CaptchaRefusal, LinkPace, SmsCodeRefusal, check_captcha, check_sms_code, count_recovery_request,
        pace_mailed_link, too_many_recovery_requests,
    },
    dependency_down,
    email_binding::link_refusal,
    internal, keys,
    notices::{beijing_time, within_site_sms_budget},
    now_ms, seconds_up,
    send_sms_code::{SendSmsCodeError, send_sms_code},
    sessions::record_attempt,
};
use crate::i18n::{Text, Texts};
use crate::{
    core::{
        Client, Core,
        db::{DbError, LinkState, PasswordReset, UserRow},
        delivery::{self, JobMessage, NewDelivery, QueueError, SmsNotice},
        mail::{Mail, mask_address},
        password_hashing::HashError,
        store::StoreError,
        tokens::LinkToken,
    },
    error::{AppError, ErrorCode, ErrorKind},
    rules::{
        Account, CaptchaAnswer, CaptchaAnswerError, Email, EmailError, Mobile, MobileError, Password, PasswordError,
        Purpose, SmsCode, SmsCodeError, Username, passwords_match,
    },
    wire::{ForgotPasswordForm, PasswordResetDone, RecoverySent, ResetPasswordForm, SendSmsCodeForm},
};
use futures::future::BoxFuture;
use std::time::Duration;

/// What the person reads after asking by e-mail, whether or not an account
/// has the address.

#[derive(Debug, thiserror::Error)]
pub enum RecoveryError {
    #[error("neither an e-mail nor a mobile")]
    NoAddress,
    #[error(transparent)]
    Email(#[from] EmailError),
    #[error(transparent)]
    Mobile(#[from] MobileError),
    #[error(transparent)]
    CaptchaAnswer(#[from] CaptchaAnswerError),
    #[error(transparent)]
    Captcha(#[from] CaptchaRefusal),
    #[error(transparent)]
    Sms(#[from] SendSmsCodeError),
    #[error("too many recovery requests from this address")]
    TooMany { retry_after: Duration },
    #[error("wait before asking again")]
    Cooldown { retry_after: Duration },
    #[error("daily cap")]
    DailyCap { retry_after: Duration },
    #[error("the ticket to remove the e-mail does not work: {0:?}")]
    Ticket(LinkState),
    #[error("the link does not work: {0:?}")]
    Link(LinkState),
    #[error(transparent)]
    SmsCode(#[from] SmsCodeError),
    #[error(transparent)]
    SmsCodeRefused(#[from] SmsCodeRefusal),
    #[error("no account has this mobile")]
    NotRegistered,
    #[error("the account is disabled")]
    Disabled,
    #[error(transparent)]
    Password(PasswordError),
    #[error(transparent)]
    Password2(PasswordError),
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Queue(#[from] QueueError),
}

/// Asks for a reset link (`email`) or a reset code (`mobile`).
#[tracing::instrument(name = "forgot_password", skip_all)]
pub fn forgot_password<'a>(
    core: &'a Core,
    client: &'a Client,
    form: &'a ForgotPasswordForm,
) -> BoxFuture<'a, Result<RecoverySent, RecoveryError>> {
    Box::pin(async move {
        let by_email = !form.email.trim().is_empty();
        if !by_email && form.mobile.trim().is_empty() {
            return Err(RecoveryError::NoAddress);
        }
        if by_email {
            if let Some(retry_after) = count_recovery_request(core, client).await? {
                return Err(RecoveryError::TooMany { retry_after });
            }
            link_by_email(core, client, form).await
        } else {
            // `send_sms_code` counts it, for this door and `POST /sms_codes` alike.
            code_by_sms(core, client, form).await
        }
    })
}

async fn link_by_email(core: &Core, client: &Client, form: &ForgotPasswordForm) -> Result<RecoverySent, RecoveryError> {
    let email = Email::parse(&form.email)?;
    let answer = CaptchaAnswer::parse(&form.text)?;
    check_captcha(core, &form.image_code_id, &answer).await?;
    // Per address, once past the captcha: a stranger's wrong captchas do
    // not spend the owner's links.
    let (cooldown, daily) = (keys::recovery_cooldown(email.as_str()), keys::recovery_daily(email.as_str()));
    if let Some(pace) = pace_mailed_link(core, &cooldown, &daily).await? {
        return Err(pace.into());
    }
    let settings = &core.settings;
    let now = now_ms();
    let message = JobMessage::PasswordResetLink {
        email: email.as_str().to_owned(),
        token: LinkToken::generate().as_str().to_owned(),
        requested_at_ms: now,
        expires_at_ms: now + settings.reset_link_ttl.as_millis() as i64,
        // Worded for whoever asked: they read it now.
        lang: client.locale.tag().to_owned(),
    };
    // The account (if any) is the worker's to find: asking must not tell.
    delivery::enqueue(core, message, None).await?;
    let message = Texts::of(client.locale).answer_link_sent().to_owned();
    Ok(RecoverySent { message, resend_after: settings.sms_resend_interval.as_secs() })
}

async fn code_by_sms(core: &Core, client: &Client, form: &ForgotPasswordForm) -> Result<RecoverySent, RecoveryError> {
    let send = SendSmsCodeForm {
        mobile: form.mobile.clone(),
        purpose: Purpose::ResetPassword.as_str().into(),
        image_code_id: form.image_code_id.clone(),
        text: form.text.clone(),
        pow_challenge: form.pow_challenge.clone(),
        pow_nonce: form.pow_nonce.clone(),
    };
    let sent = send_sms_code(core, client, None, &send).await?;
    let message = Texts::of(client.locale).answer_code_sent().to_owned();
    Ok(RecoverySent { message, resend_after: sent.resend_after })
}

/// Whether a reset link works, as its page opens.
pub fn reset_link_status<'a>(core: &'a Core, raw_token: &'a str) -> BoxFuture<'a, Result<(), RecoveryError>> {
    Box::pin(async move {
        let token = LinkToken::parse(raw_token).ok_or(RecoveryError::Link(LinkState::Unknown))?;
        match core.db.password_reset_link(&token.hash(), now_ms()).await? {
            (LinkState::Usable, _) => Ok(()),
            (state, _) => Err(RecoveryError::Link(state)),
        }
    })
}

/// Sets a new password with a reset link (`token`) or a reset code
/// (`mobile` and `sms_code`). After a reset by SMS of an account with a
/// verified e-mail: the address, masked, and a ticket to remove it (the
/// phone's owner may not be the one who bound it).
#[tracing::instrument(name = "reset_password", skip_all)]
pub fn reset_password<'a>(
    core: &'a Core,
    client: &'a Client,
    form: &'a ResetPasswordForm,
) -> BoxFuture<'a, Result<PasswordResetDone, RecoveryError>> {
    Box::pin(async move {
        if form.token.trim().is_empty() {
            reset_by_code(core, client, form).await
        } else {
            reset_by_link(core, client, form).await?;
            // The link came to the address: it is the person's own.
            Ok(PasswordResetDone::default())
        }
    })
}

/// How long the ticket to remove the e-mail after a reset by SMS works.
const REMOVAL_TICKET_SECONDS: i64 = 600;
const REMOVAL_TICKET_PURPOSE: &str = "remove-email-after-reset";

/// A ticket to remove `user`'s e-mail, for the one who just set the password
/// that is now version `version`: signed, it names the account, the version
/// (any later change of password kills it), its expiry, and the masked
/// address it offers to remove (so the page that shows it echoes nothing
/// unsigned).
fn removal_ticket(core: &Core, user_id: i64, version: i64, masked: &str) -> String {
    let expires = now_ms() / 1000 + REMOVAL_TICKET_SECONDS;
    let shown = hex::encode(masked.as_bytes());
    let signed = format!("{user_id}.{version}.{expires}.{shown}");
    let tag = core.tokens.tag(REMOVAL_TICKET_PURPOSE, &signed);
    format!("{signed}.{tag}")
}

/// What a ticket says, once its tag, expiry and version hold: the account
/// and the masked address.
async fn read_removal_ticket(core: &Core, ticket: &str) -> Result<(UserRow, String), RecoveryError> {
    let refused = || RecoveryError::Ticket(LinkState::Unknown);
    let (signed, tag) = ticket.trim().rsplit_once('.').ok_or_else(refused)?;
    if !core.tokens.tag_matches(REMOVAL_TICKET_PURPOSE, signed, tag) {
        return Err(refused());
    }
    let fields: Vec<&str> = signed.split('.').collect();
    let [user_id, version, expires, shown] = fields[..] else { return Err(refused()) };
    let (user_id, version, expires): (i64, i64, i64) = (
        user_id.parse().map_err(|_| refused())?,
        version.parse().map_err(|_| refused())?,
        expires.parse().map_err(|_| refused())?,
    );
    if expires * 1000 <= now_ms() {
        return Err(RecoveryError::Ticket(LinkState::Expired));
    }
    let masked = hex::decode(shown).ok().and_then(|b| String::from_utf8(b).ok()).ok_or_else(refused)?;
    let user = core.db.find_user(user_id).await?.ok_or_else(refused)?;
    if user.password_version != version || !(user.email_verified && user.email.is_some()) {
        return Err(RecoveryError::Ticket(LinkState::Used));
    }
    Ok((user, masked))
}

/// The masked address a removal ticket offers to remove, while it works.
pub async fn email_removal_offer(core: &Core, ticket: &str) -> Result<String, RecoveryError> {
    Ok(read_removal_ticket(core, ticket).await?.1)
}

/// Removes the e-mail a ticket names (the phone's owner, after a reset by
/// SMS, said it is not theirs).
#[tracing::instrument(name = "remove_email_after_reset", skip_all)]
pub fn remove_email_after_reset<'a>(core: &'a Core, ticket: &'a str) -> BoxFuture<'a, Result<(), RecoveryError>> {
    Box::pin(async move {
        let (user, _) = read_removal_ticket(core, ticket).await?;
        core.db.remove_email(user.id).await?;
        tracing::info!(user_id = user.id, "e-mail removed after a reset by SMS");
        Ok(())
    })
}

async fn reset_by_link(core: &Core, client: &Client, form: &ResetPasswordForm) -> Result<(), RecoveryError> {
    let token = LinkToken::parse(&form.token).ok_or(RecoveryError::Link(LinkState::Unknown))?;
    let hash = token.hash();
    // Checked before the new password is hashed: a dead link costs no hash.
    let user = match core.db.password_reset_link(&hash, now_ms()).await? {
        (LinkState::Usable, Some(user_id)) => core.db.find_user(user_id).await?,
        (LinkState::Usable, None) => None,
        (state, _) => return Err(RecoveryError::Link(state)),
    };
    let user = user.ok_or(RecoveryError::Link(LinkState::Unknown))?;
    let new_hash = new_password_hash(core, &user, form).await?;
    let notices = password_changed_notices(core, client, &user).await;
    match core.db.reset_password_with_link(&hash, &new_hash, now_ms(), &notices).await? {
        PasswordReset::Reset { sessions_ended, .. } => {
            after_reset(core, client, &user, "reset_email", sessions_ended, &notices).await
        }
        PasswordReset::Refused(state) => Err(RecoveryError::Link(state)),
    }
}

async fn reset_by_code(
    core: &Core,
    client: &Client,
    form: &ResetPasswordForm,
) -> Result<PasswordResetDone, RecoveryError> {
    let mobile = Mobile::parse(&form.mobile)?;
    let code = SmsCode::parse(&form.sms_code)?;
    let code_key = check_sms_code(core, Purpose::ResetPassword, &mobile, &code).await?;
    let user = core.db.find_user_by_account(&Account::Mobile(mobile)).await?.ok_or(RecoveryError::NotRegistered)?;
    let new_hash = new_password_hash(core, &user, form).await?;
    // One code, one reset: of two at once, one finds the code gone.
    if !core.store.consume_code(&code_key, code.as_str()).await? {
        return Err(SmsCodeRefusal::Missing.into());
    }
    let notices = password_changed_notices(core, client, &user).await;
    let ended = core.db.set_password_hash(user.id, &new_hash, None, now_ms(), &notices).await?;
    after_reset(core, client, &user, "reset_sms", ended, &notices).await?;
    Ok(match user.email.as_deref().filter(|_| user.email_verified) {
        Some(address) => {
            let masked = mask_address(address);
            let ticket = removal_ticket(core, user.id, user.password_version + 1, &masked);
            PasswordResetDone { bound_email: Some(masked), remove_email_ticket: Some(ticket) }
        }
        None => PasswordResetDone::default(),
    })
}

/// The new password, by the registration rules, twice; then its hash.
async fn new_password_hash(
    core: &Core,
    user: &UserRow,
    form: &ResetPasswordForm,
) -> Result<crate::core::password_hashing::PasswordHash, RecoveryError> {
    if !user.is_active {
        return Err(RecoveryError::Disabled);
    }
    let mobile = Mobile::parse(&user.mobile).ok();
    let username = Username::parse(&user.username).ok();
    let password = Password::parse(&form.password, core.settings.password_policy, mobile.as_ref(), username.as_ref())
        .map_err(RecoveryError::Password)?;
    passwords_match(&form.password, &form.password2).map_err(RecoveryError::Password2)?;
    Ok(core.hasher.hash(&password).await?)
}

/// A new password is set and every session has ended with it (`ended` of
/// them), its notices written with it: the account's failure counts and
/// lock go, the attempt joins the history, and the notices are queued.
async fn after_reset(
    core: &Core,
    client: &Client,
    user: &UserRow,
    method: &str,
    ended: u64,
    notices: &[NewDelivery],
) -> Result<(), RecoveryError> {
    let account = keys::user_account(user.id);
    for key in [keys::login_failures(&account), keys::login_lock(&account), keys::login_lock_noted(&account)] {
        if let Err(e) = core.store.delete(&key).await {
            // The password is changed; a lock left over ends on its own.
            tracing::warn!(error = %e, "reset_password: could not clear the account's counters");
        }
    }
    record_attempt(core, client, user.id, method, "success").await;
    tracing::info!(user_id = user.id, sessions_ended = ended, method, "password reset");
    delivery::queue_written(core, notices).await;
    Ok(())
}

/// "Your password was changed", with the time and the client address: to
/// the verified e-mail, and by SMS (when the SMS sender has a notice
/// template), both: the phone is the account's root, and an address bound by
/// someone who had the password once must not be the only one told. Written
/// in the reset's transaction (`delivery::written_with_change`), so that the
/// reset and its notices stand or fall together. (The SMS budget is counted
/// here, before: a reset that then loses a race spends one count.)
async fn password_changed_notices(core: &Core, client: &Client, user: &UserRow) -> Vec<NewDelivery> {
    let locale = user.locale(core.settings.default_locale);
    let (at, lang) = (beijing_time(now_ms(), locale), locale.tag().to_owned());
    let client_ip = client.ip.to_string();
    let mut notices = Vec::new();
    if let Some(to) = user.email.clone().filter(|_| user.email_verified) {
        let mail = Mail::PasswordChanged {
            site: core.settings.site_name_in(locale),
            at: at.clone(),
            client_ip: client_ip.clone(),
        };
        notices.push(JobMessage::Email { to, mail, expires_at_ms: None, lang: lang.clone() });
    }
    if core.sms.sends_notices() && within_site_sms_budget(core).await {
        let notice = SmsNotice::PasswordChanged { at, client_ip };
        notices.push(JobMessage::SmsNotice { mobile: user.mobile.clone(), notice, lang });
    }
    if notices.is_empty() {
        tracing::warn!(user_id = user.id, "reset_password: no verified e-mail and no SMS notice template; not told");
    }
    notices.into_iter().map(|message| delivery::written_with_change(core, message, Some(user.id))).collect()
}

impl From<LinkPace> for RecoveryError {
    fn from(pace: LinkPace) -> Self {
        match pace {
            LinkPace::Cooldown(retry_after) => RecoveryError::Cooldown { retry_after },
            LinkPace::DailyCap(retry_after) => RecoveryError::DailyCap { retry_after },
        }
    }
}

impl From<RecoveryError> for AppError {
    fn from(e: RecoveryError) -> AppError {
        use RecoveryError as E;
        match e {
            E::NoAddress => AppError::field("email", ErrorCode::AddressRequired, Text::error_address_required()),
            E::Email(e) => AppError::field("email", ErrorCode::EmailInvalid, e.text()),
            E::Mobile(e) => AppError::field("mobile", ErrorCode::MobileInvalid, e.text()),
            E::CaptchaAnswer(e) => AppError::field("text", ErrorCode::ImageCodeInvalid, e.text()),
            E::Captcha(e) => e.into(),
            E::Sms(e) => e.into(),
            E::TooMany { retry_after } => too_many_recovery_requests(retry_after),
            E::Cooldown { retry_after } => AppError::rate_limited(
                ErrorCode::RecoveryCooldown,
                Text::error_recovery_cooldown(seconds_up(retry_after)),
                seconds_up(retry_after),
            ),
            E::DailyCap { retry_after } => AppError::rate_limited(
                ErrorCode::RecoveryDailyCap,
                Text::error_recovery_daily_cap(),
                seconds_up(retry_after),
            ),
            E::Link(state) => link_refusal(
                state,
                [Text::error_reset_link_expired, Text::error_reset_link_used, Text::error_reset_link_unknown],
            ),
            E::Ticket(state) => link_refusal(
                state,
                [Text::error_removal_link_expired, Text::error_removal_link_used, Text::error_removal_link_unknown],
            ),
            E::SmsCode(e) => AppError::field("sms_code", ErrorCode::SmsCodeInvalid, e.text()),
            E::SmsCodeRefused(e) => e.into(),
            E::NotRegistered => {
                AppError::field("mobile", ErrorCode::MobileNotRegistered, Text::error_mobile_not_registered())
            }
            E::Disabled => {
                AppError::new(ErrorKind::Forbidden, ErrorCode::AccountDisabled, Text::error_account_disabled())
            }
            E::Password(e) => AppError::field("password", ErrorCode::PasswordInvalid, e.text()),
            E::Password2(e) => AppError::field("password2", ErrorCode::PasswordMismatch, e.text()),
            E::Hash(HashError::Busy) => AppError::busy(),
            E::Hash(e) => internal("reset_password", "hashing", &e),
            E::Store(e) => dependency_down("reset_password", "store", &e),
            E::Db(e) => dependency_down("reset_password", "database", &e),
            E::Queue(e) => dependency_down("reset_password", "queue", &e),
        }
    }
}
