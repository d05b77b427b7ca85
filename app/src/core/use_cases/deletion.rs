//! 注销: a person deletes their own account (PIPL art. 47): with the
//! password, or with a code sent to the account's own mobile, and no other
//! condition. Every session ends at once; the account is erased when the
//! cooling-off period (`ACCOUNT_DELETION_DAYS`) ends, unless its owner signs
//! in and cancels before. A notice goes to the verified e-mail, else by SMS,
//! when the request is made and when the account is gone. Erasure deletes
//! the rows (`core::deletion`) and the codes waiting in the store.

use super::{
    account::{OwnPasswordRefusal, check_own_password},
    checks::{SmsCodeRefusal, check_sms_code},
    dependency_down, keys,
    notices::{beijing_time, within_site_sms_budget},
    now_ms,
    sessions::Authenticated,
};
use crate::i18n::Text;
use crate::{
    core::{
        Client, Core,
        db::{DbError, UserRow},
        delivery::{self, JobMessage, NewDelivery, SmsNotice},
        mail::Mail,
        store::StoreError,
    },
    error::{AppError, ErrorCode, ErrorKind},
    rules::{Account, Mobile, Purpose, SmsCode, SmsCodeError},
    wire::{DeletionForm, DeletionStatus},
};
use futures::future::BoxFuture;

#[derive(Debug, thiserror::Error)]
pub enum DeletionError {
    #[error("neither the password nor an SMS code was given")]
    NoProof,
    #[error(transparent)]
    Password(OwnPasswordRefusal),
    #[error(transparent)]
    SmsCode(#[from] SmsCodeError),
    #[error(transparent)]
    SmsCodeRefused(#[from] SmsCodeRefusal),
    #[error("a request already waits")]
    AlreadyRequested,
    #[error("no request waits")]
    NothingToCancel,
    #[error("no such account")]
    NoSuchAccount,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// The signed-in person asks to delete their account. With a cooling-off
/// period the answer says when it goes (`delete_after`); without one it is
/// gone when this returns.
#[tracing::instrument(name = "request_deletion", skip_all, fields(user_id = auth.user.id))]
pub fn request_deletion<'a>(
    core: &'a Core,
    client: &'a Client,
    auth: &'a Authenticated,
    form: &'a DeletionForm,
) -> BoxFuture<'a, Result<DeletionStatus, DeletionError>> {
    Box::pin(async move {
        let user = &auth.user;
        if user.delete_after.is_some() {
            return Err(DeletionError::AlreadyRequested);
        }
        prove_ownership(core, client, user, form).await?;
        schedule(core, user).await
    })
}

/// The owner's proof: the password when one is given, else the code sent
/// to the account's own mobile for `delete_account` (used up here).
async fn prove_ownership(
    core: &Core,
    client: &Client,
    user: &UserRow,
    form: &DeletionForm,
) -> Result<(), DeletionError> {
    if !form.password.is_empty() {
        return check_own_password(core, client, user, &form.password).await.map_err(DeletionError::Password);
    }
    if form.sms_code.is_empty() {
        return Err(DeletionError::NoProof);
    }
    let code = SmsCode::parse(&form.sms_code)?;
    let mobile = Mobile::parse(&user.mobile).map_err(|_| SmsCodeRefusal::Missing)?;
    let key = check_sms_code(core, Purpose::DeleteAccount, &mobile, &code).await?;
    // Of two requests at once with one code, one finds it gone.
    if !core.store.consume_code(&key, code.as_str()).await? {
        return Err(SmsCodeRefusal::Missing.into());
    }
    Ok(())
}

/// Starts the cooling-off period of `user` (or erases it now, when there is
/// none): shared by the person's request and an operator's.
async fn schedule(core: &Core, user: &UserRow) -> Result<DeletionStatus, DeletionError> {
    let wait = core.settings.deletion_wait;
    if wait.is_zero() {
        erase(core, user.id, None).await?;
        return Ok(DeletionStatus { delete_after: None, erased: true });
    }
    let now = now_ms();
    let delete_after = now + wait.as_millis() as i64;
    let locale = user.locale(core.settings.default_locale);
    let notices = notice(core, user, &beijing_time(delete_after, locale), false).await;
    if !core.db.request_deletion(user.id, delete_after, now, &notices).await? {
        return Err(DeletionError::AlreadyRequested);
    }
    delivery::queue_written(core, &notices).await;
    tracing::info!(delete_after, "account deletion requested; every session ended");
    Ok(DeletionStatus { delete_after: Some(delete_after), erased: false })
}

/// 撤销注销: the signed-in person keeps their account.
#[tracing::instrument(name = "cancel_deletion", skip_all, fields(user_id = auth.user.id))]
pub fn cancel_deletion<'a>(
    core: &'a Core,
    auth: &'a Authenticated,
) -> BoxFuture<'a, Result<DeletionStatus, DeletionError>> {
    Box::pin(async move {
        if !core.db.cancel_deletion(auth.user.id).await? {
            return Err(DeletionError::NothingToCancel);
        }
        tracing::info!("account deletion cancelled");
        Ok(DeletionStatus::default())
    })
}

/// Erases every account whose date has come by the store's clock; returns
/// how many. The worker runs it; a request cancelled in the meantime is
/// left alone (the erasure re-checks the date in its transaction).
pub async fn erase_due_accounts(core: &Core) -> Result<usize, DeletionError> {
    let now = core.store.now_ms();
    let mut erased = 0;
    for user_id in core.db.due_deletions(now, 100).await? {
        if erase(core, user_id, Some(now)).await? {
            erased += 1;
        }
    }
    Ok(erased)
}

/// How often the worker looks for accounts whose date has come (one
/// indexed query).
const ERASE_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Runs `erase_due_accounts` for ever, beside the delivery worker (which
/// delivers the notices it writes). Boxed, as most use cases are (see
/// `use_cases`).
pub fn erase_when_due(core: Core) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(erase_when_due_unboxed(core))
}

async fn erase_when_due_unboxed(core: Core) {
    let mut tick = tokio::time::interval(ERASE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match erase_due_accounts(&core).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(accounts = n, "erased the accounts whose deletion date came"),
            Err(e) => tracing::warn!(error = %e, "could not erase the accounts due; will try again"),
        }
    }
}

/// What an operator's `server user delete` did.
#[derive(Clone, Debug, serde::Serialize)]
pub struct OperatorDeletion {
    pub id: i64,
    #[serde(flatten)]
    pub status: DeletionStatus,
}

/// An operator deletes `account` (a username, mobile or e-mail): at once
/// with `now`, else with the cooling-off period a person's request has.
pub fn delete_account<'a>(
    core: &'a Core,
    account: &'a str,
    now: bool,
) -> BoxFuture<'a, Result<OperatorDeletion, DeletionError>> {
    Box::pin(async move {
        let account = Account::parse(account).map_err(|_| DeletionError::NoSuchAccount)?;
        let user = core.db.find_user_by_account(&account).await?.ok_or(DeletionError::NoSuchAccount)?;
        let status = if now {
            if !erase(core, user.id, None).await? {
                return Err(DeletionError::NoSuchAccount);
            }
            DeletionStatus { delete_after: None, erased: true }
        } else if user.delete_after.is_some() {
            return Err(DeletionError::AlreadyRequested);
        } else {
            schedule(core, &user).await?
        };
        Ok(OperatorDeletion { id: user.id, status })
    })
}

/// Erases `user_id` (when its date has come by `due_by`, or at once), then
/// forgets the codes waiting for its number, and queues the notice that it
/// is gone. False when there was nothing to erase.
async fn erase(core: &Core, user_id: i64, due_by: Option<i64>) -> Result<bool, DeletionError> {
    let Some(before) = core.db.find_user(user_id).await? else { return Ok(false) };
    let now = now_ms();
    let at = beijing_time(now, before.locale(core.settings.default_locale));
    // The notice is made from the row read inside the erasure (its address
    // is the last the account had); an SMS is counted against the budget
    // before, when it will be one.
    let sms_allowed = core.sms.sends_deletion_notices() && !before.email_verified && within_site_sms_budget(core).await;
    let make_notice = |user: &UserRow| notice_message(core, user, &at, true, sms_allowed);
    let Some(erased) = core.db.erase_user(user_id, due_by, now, make_notice).await? else { return Ok(false) };
    if let Ok(mobile) = Mobile::parse(&erased.mobile) {
        forget_codes(core, &mobile).await;
    }
    if let Some(notice) = &erased.notice {
        delivery::queue_written(core, std::slice::from_ref(notice)).await;
    }
    tracing::info!(user_id, "account erased");
    Ok(true)
}

/// The codes, cooldowns and refusals the store keeps for `mobile`: an
/// erased number leaves nothing waiting. (The daily count stays: it is a
/// limit, and goes by itself within the day.)
async fn forget_codes(core: &Core, mobile: &Mobile) {
    for purpose in Purpose::ALL {
        for key in
            [keys::sms_code(purpose, mobile), keys::sms_cooldown(purpose, mobile), keys::sms_refusal(purpose, mobile)]
        {
            if let Err(e) = core.store.delete(&key).await {
                tracing::warn!(error = %e, "an erased number's code could not be forgotten; it expires by itself");
            }
        }
    }
}

/// The notice of a request (`done` false) or of an erasure, for `user`.
async fn notice(core: &Core, user: &UserRow, date: &str, done: bool) -> Vec<NewDelivery> {
    let sms_allowed = core.sms.sends_deletion_notices() && !user.email_verified && within_site_sms_budget(core).await;
    notice_message(core, user, date, done, sms_allowed).into_iter().collect()
}

/// To the verified e-mail when there is one, else by SMS (`sms_allowed`).
fn notice_message(core: &Core, user: &UserRow, date: &str, done: bool, sms_allowed: bool) -> Option<NewDelivery> {
    let locale = user.locale(core.settings.default_locale);
    let (site, lang) = (core.settings.site_name_in(locale), locale.tag().to_owned());
    // The notice of an erasure belongs to no account: nothing is left to
    // tie it to, and its record holds only the masked recipient.
    let for_user = (!done).then_some(user.id);
    let message = match user.email.clone().filter(|_| user.email_verified) {
        Some(to) => {
            let mail = match done {
                false => Mail::DeletionRequested { site, date: date.to_owned() },
                true => Mail::AccountDeleted { site, at: date.to_owned() },
            };
            JobMessage::Email { to, mail, expires_at_ms: None, lang }
        }
        None if sms_allowed => JobMessage::SmsNotice {
            mobile: user.mobile.clone(),
            notice: SmsNotice::Deletion { date: date.to_owned(), done },
            lang,
        },
        None => {
            tracing::warn!(user_id = user.id, "deletion: no verified e-mail and no SMS deletion template; not told");
            return None;
        }
    };
    Some(delivery::written_with_change(core, message, for_user))
}

impl From<DeletionError> for AppError {
    fn from(e: DeletionError) -> AppError {
        use DeletionError as E;
        match e {
            E::NoProof => AppError::field("password", ErrorCode::ProofRequired, Text::error_proof_required()),
            E::Password(e) => e.into_app_error("password"),
            E::SmsCode(e) => AppError::field("sms_code", ErrorCode::SmsCodeInvalid, e.text()),
            E::SmsCodeRefused(e) => e.into(),
            E::AlreadyRequested => {
                AppError::new(ErrorKind::Conflict, ErrorCode::DeletionPending, Text::error_deletion_pending())
            }
            E::NothingToCancel => {
                AppError::new(ErrorKind::Conflict, ErrorCode::NoDeletionPending, Text::error_no_deletion_pending())
            }
            E::NoSuchAccount => {
                AppError::new(ErrorKind::NotFound, ErrorCode::NoSuchAccount, Text::error_no_such_account())
            }
            E::Store(e) => dependency_down("deletion", "store", &e),
            E::Db(e) => dependency_down("deletion", "database", &e),
        }
    }
}
