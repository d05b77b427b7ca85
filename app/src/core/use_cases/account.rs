//! The signed-in user's own account: profile, nickname, password, history,
//! and a copy of all of it to take away.

use super::{
    dependency_down, internal, keys, now_ms,
    password_attempts::{AttemptKeys, CaptchaThresholds, CountedAttempt},
    seconds_up,
    sessions::{Authenticated, SessionError},
};
use crate::i18n::Text;
use crate::{
    core::{
        Client, Core,
        db::{DbError, UserRow},
        password_hashing::HashError,
        store::{PasswordGate, StoreError},
    },
    error::{AppError, ErrorCode},
    rules::{Mobile, Nickname, NicknameError, Password, PasswordError, Username, passwords_match},
    wire::{AttemptView, ChangePasswordForm, Profile},
};
use futures::future::BoxFuture;

/// How many sign-in attempts the user centre shows.
const HISTORY_LENGTH: i64 = 10;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error(transparent)]
    Nickname(#[from] NicknameError),
    #[error(transparent)]
    OldPassword(OwnPasswordRefusal),
    #[error(transparent)]
    NewPassword(PasswordError),
    #[error(transparent)]
    NewPassword2(PasswordError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error(transparent)]
    Session(#[from] SessionError),
}

pub fn profile(auth: &Authenticated) -> Profile {
    let user = &auth.user;
    Profile {
        id: user.id,
        username: user.username.clone(),
        mobile: Mobile::parse(&user.mobile).map(|m| m.masked()).unwrap_or_default(),
        email: user.email.clone().filter(|_| user.email_verified),
        nickname: user.nickname.clone(),
        created_at: user.created_at,
        last_login_at: user.last_login_at,
        delete_after: user.delete_after,
    }
}

pub fn update_nickname<'a>(
    core: &'a Core,
    auth: &'a Authenticated,
    raw: &'a str,
) -> BoxFuture<'a, Result<Profile, AccountError>> {
    Box::pin(async move {
        let nickname = Nickname::parse(raw)?;
        core.db.set_nickname(auth.user.id, nickname.as_str()).await?;
        let mut updated = profile(auth);
        updated.nickname = nickname.as_str().to_owned();
        Ok(updated)
    })
}

/// Changes the password after checking the old one; every other session ends.
#[tracing::instrument(name = "change_password", skip_all)]
pub fn change_password<'a>(
    core: &'a Core,
    client: &'a Client,
    auth: &'a Authenticated,
    form: &'a ChangePasswordForm,
) -> BoxFuture<'a, Result<(), AccountError>> {
    Box::pin(async move {
        let user = &auth.user;
        check_own_password(core, client, user, &form.old_password).await.map_err(AccountError::OldPassword)?;
        let mobile = Mobile::parse(&user.mobile).ok();
        let username = Username::parse(&user.username).ok();
        let new =
            Password::parse(&form.new_password, core.settings.password_policy, mobile.as_ref(), username.as_ref())
                .map_err(AccountError::NewPassword)?;
        passwords_match(&form.new_password, &form.new_password2).map_err(AccountError::NewPassword2)?;
        let hash = core.hasher.hash(&new).await?;
        core.db.set_password_hash(user.id, &hash, Some(&auth.session.id), now_ms(), &[]).await?;
        tracing::info!(user_id = user.id, "password changed; other sessions ended");
        Ok(())
    })
}

#[derive(Debug, thiserror::Error)]
pub enum OwnPasswordRefusal {
    #[error("the password is wrong")]
    Wrong,
    /// Too many wrong passwords (here or at sign-in): checks wait.
    #[error("password checks are locked")]
    Locked { retry_after: std::time::Duration },
    /// Checks for the same account stayed in flight too long.
    #[error("too many password checks in flight")]
    Busy,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Hash(#[from] HashError),
}

/// The signed-in user's own password, asked again before what a stolen
/// session must not do alone (a new password, another e-mail). Guessed at
/// like a sign-in: the same counters and lock, counted before the hash, no
/// captcha (a signed-in page).
pub(super) async fn check_own_password(
    core: &Core,
    client: &Client,
    user: &UserRow,
    password: &str,
) -> Result<(), OwnPasswordRefusal> {
    let keys = AttemptKeys::account(&keys::user_account(user.id), client, None);
    let mut attempt = CountedAttempt::new(core, keys, CaptchaThresholds::default());
    match attempt.gate().await? {
        PasswordGate::Proceed => {}
        PasswordGate::Wait | PasswordGate::CaptchaRequired => return Err(OwnPasswordRefusal::Busy),
        PasswordGate::Locked { retry_after } => return Err(OwnPasswordRefusal::Locked { retry_after }),
    }
    let right = core.hasher.verify(password, &user.password_hash()).await?;
    attempt.settle(right).await?;
    if !right {
        return Err(OwnPasswordRefusal::Wrong);
    }
    Ok(())
}

impl OwnPasswordRefusal {
    /// The refusal, beside the form's password field `field`.
    pub(super) fn into_app_error(self, field: &str) -> AppError {
        match self {
            OwnPasswordRefusal::Wrong if field == "old_password" => {
                AppError::field(field, ErrorCode::OldPasswordWrong, Text::error_old_password_wrong())
            }
            OwnPasswordRefusal::Wrong => AppError::field(field, ErrorCode::PasswordWrong, Text::error_password_wrong()),
            OwnPasswordRefusal::Locked { retry_after } => AppError::rate_limited(
                ErrorCode::PasswordChecksLocked,
                Text::error_password_tries(),
                seconds_up(retry_after),
            )
            .with_field(field),
            OwnPasswordRefusal::Store(e) => dependency_down("account", "store", &e),
            OwnPasswordRefusal::Hash(HashError::Busy) | OwnPasswordRefusal::Busy => AppError::busy(),
            OwnPasswordRefusal::Hash(e) => internal("account", "hashing", &e),
        }
    }
}

/// The newest sign-in attempts on the account.
pub fn login_history<'a>(
    core: &'a Core,
    auth: &'a Authenticated,
) -> BoxFuture<'a, Result<Vec<AttemptView>, AccountError>> {
    Box::pin(async move { attempts(core, auth.user.id, HISTORY_LENGTH).await })
}

/// The latest `limit` sign-in attempts of `user_id`, as shown.
async fn attempts(core: &Core, user_id: i64, limit: i64) -> Result<Vec<AttemptView>, AccountError> {
    let rows = core.db.recent_attempts(user_id, limit).await?;
    Ok(rows
        .into_iter()
        .map(|a| AttemptView {
            created_at: a.created_at,
            client_ip: a.client_ip,
            user_agent: a.user_agent,
            method: a.method,
            outcome: a.outcome,
        })
        .collect())
}

/// An account in full, as an operator's commands print it and its owner's
/// export holds it; never the password hash.
pub fn describe_user(user: &UserRow) -> serde_json::Value {
    serde_json::json!({
        "id": user.id,
        "username": user.username,
        "mobile": user.mobile,
        "email": user.email,
        "email_verified": user.email_verified,
        "nickname": user.nickname,
        "is_active": user.is_active,
        "created_at": user.created_at,
        "last_login_at": user.last_login_at,
        "delete_after": user.delete_after,
    })
}

/// Everything this service keeps of the signed-in person that is theirs to
/// take (PIPL art. 45): the profile (the full mobile and e-mail: it is
/// their own), the texts accepted, the live sessions, the whole sign-in
/// history, the applications they allowed, and the records of the messages
/// sent to them (what, when, what became of it; never a code). One JSON
/// document. (A code sent before the account existed, to register, belongs
/// to no account and is not in it.)
pub fn export_my_data<'a>(
    core: &'a Core,
    auth: &'a Authenticated,
) -> BoxFuture<'a, Result<serde_json::Value, AccountError>> {
    Box::pin(async move {
        let user = &auth.user;
        let history = attempts(core, user.id, i64::MAX).await?;
        let consents: Vec<serde_json::Value> = core
            .db
            .acceptances(user.id)
            .await?
            .into_iter()
            .map(|a| {
                serde_json::json!({
                    "kind": a.kind, "version": a.version, "accepted_at": a.accepted_at,
                    "client_ip": a.client_ip, "user_agent": a.user_agent,
                })
            })
            .collect();
        let deliveries: Vec<serde_json::Value> = core
            .db
            .deliveries_of(user.id)
            .await?
            .into_iter()
            .map(|d| {
                serde_json::json!({
                    "kind": d.kind, "purpose": d.purpose, "recipient": d.recipient, "provider": d.provider,
                    "state": d.state, "created_at": d.created_at, "updated_at": d.updated_at,
                })
            })
            .collect();
        Ok(serde_json::json!({
            "exported_at": now_ms(),
            "profile": describe_user(user),
            "consents": consents,
            "sessions": super::list_sessions(core, auth).await?,
            "login_history": history,
            "applications": super::list_applications(core, auth).await?,
            "deliveries": deliveries,
        }))
    })
}

impl From<AccountError> for AppError {
    fn from(e: AccountError) -> AppError {
        use AccountError as E;
        match e {
            E::Nickname(e) => AppError::field("nickname", ErrorCode::NicknameInvalid, e.text()),
            E::OldPassword(e) => e.into_app_error("old_password"),
            E::NewPassword(e) => AppError::field("new_password", ErrorCode::PasswordInvalid, e.text()),
            E::NewPassword2(e) => AppError::field("new_password2", ErrorCode::PasswordMismatch, e.text()),
            E::Db(e) => dependency_down("account", "database", &e),
            E::Hash(HashError::Busy) => AppError::busy(),
            E::Hash(e) => internal("account", "hashing", &e),
            E::Session(e) => e.into(),
        }
    }
}
