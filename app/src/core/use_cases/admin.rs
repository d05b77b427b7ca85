//! Operators' use cases (the `server user ...` commands, and test fixtures):
//! create a user without an SMS code, show, disable, enable, set a password.

use super::{dependency_down, internal, now_ms};
use crate::{
    core::{
        Core,
        db::{DbError, InsertUserError, NewUser, PendingEmail, SetEmailError, UserRow},
        legal::NewAcceptance,
        password_hashing::HashError,
    },
    error::AppError,
    rules::{
        Account, AccountError, Email, EmailError, LegalKind, Mobile, MobileError, Nickname, NicknameError, Password,
        PasswordError, Username, UsernameError,
    },
};
use futures::future::BoxFuture;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("mobile: {}", crate::i18n::say(.0.text()))]
    Mobile(#[from] MobileError),
    #[error("username: {}", crate::i18n::say(.0.text()))]
    Username(#[from] UsernameError),
    #[error("nickname: {}", crate::i18n::say(.0.text()))]
    Nickname(#[from] NicknameError),
    #[error("password: {}", crate::i18n::say(.0.text()))]
    Password(#[from] PasswordError),
    #[error("e-mail: {}", crate::i18n::say(.0.text()))]
    Email(#[from] EmailError),
    #[error("account: {}", crate::i18n::say(.0.text()))]
    Account(#[from] AccountError),
    #[error("no such account")]
    NoSuchAccount,
    #[error("the mobile number is taken")]
    MobileTaken,
    #[error("the username is taken")]
    UsernameTaken,
    #[error("the e-mail belongs to another account")]
    EmailTaken,
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error("deletion: {0}")]
    Deletion(#[from] super::deletion::DeletionError),
}

/// What an operator gives to create a user.
pub struct CreateUser<'a> {
    pub mobile: &'a str,
    pub password: &'a str,
    pub username: Option<&'a str>,
    pub nickname: Option<&'a str>,
    /// Attached as verified: the operator vouches for it.
    pub email: Option<&'a str>,
    /// The operator attests the person accepted the texts in force.
    pub accepted: bool,
}

pub fn create_user<'a>(core: &'a Core, input: &'a CreateUser<'a>) -> BoxFuture<'a, Result<UserRow, AdminError>> {
    Box::pin(async move {
        let mobile = Mobile::parse(input.mobile)?;
        let username = match input.username {
            Some(raw) => Username::parse(raw)?,
            None => {
                let random = *uuid::Uuid::new_v4().as_bytes();
                Username::generated(std::array::from_fn(|i| random[i]))
            }
        };
        let nickname = input.nickname.map(Nickname::parse).transpose()?;
        let email = input.email.map(Email::parse).transpose()?;
        let password = Password::parse(input.password, core.settings.password_policy, Some(&mobile), Some(&username))?;
        let hash = core.hasher.hash(&password).await?;
        let new = NewUser {
            username: &username,
            mobile: &mobile,
            nickname: nickname.as_ref(),
            password_hash: &hash,
            now_ms: now_ms(),
            locale: core.settings.default_locale,
        };
        // What an operator attests the person accepted, recorded as such.
        let attested: Vec<NewAcceptance> = LegalKind::ALL
            .into_iter()
            .filter(|_| input.accepted)
            .map(|kind| NewAcceptance {
                kind,
                version: &core.settings.legal.get(kind).version,
                now_ms: now_ms(),
                client_ip: "operator",
                user_agent: "server user create --accepted",
            })
            .collect();
        let user = core.db.insert_user_accepting(&new, &attested).await.map_err(|e| match e {
            InsertUserError::MobileTaken => AdminError::MobileTaken,
            InsertUserError::UsernameTaken => AdminError::UsernameTaken,
            InsertUserError::Db(e) => AdminError::Db(e),
        })?;
        if let Some(email) = &email {
            core.db.set_verified_email(user.id, email).await.map_err(|e| match e {
                SetEmailError::Taken => AdminError::EmailTaken,
                SetEmailError::Db(e) => AdminError::Db(e),
            })?;
        }
        find_account(core, input.mobile).await
    })
}

/// The user an account names (username, mobile or verified e-mail).
pub async fn find_account(core: &Core, raw: &str) -> Result<UserRow, AdminError> {
    let account = Account::parse(raw)?;
    core.db.find_user_by_account(&account).await?.ok_or(AdminError::NoSuchAccount)
}

/// An account as an operator is shown it: the user, and the address that
/// waits for its verification link, if one does (a support question: "I
/// bound my e-mail but cannot sign in with it").
#[derive(Debug)]
pub struct AccountShown {
    pub user: UserRow,
    pub pending_email: Option<PendingEmail>,
}

pub fn show_account<'a>(core: &'a Core, raw: &'a str) -> BoxFuture<'a, Result<AccountShown, AdminError>> {
    Box::pin(async move {
        let user = find_account(core, raw).await?;
        let pending_email = core.db.pending_email(user.id).await?;
        Ok(AccountShown { user, pending_email })
    })
}

/// Enables or disables an account; disabling ends its sessions.
pub fn set_active<'a>(core: &'a Core, raw: &'a str, active: bool) -> BoxFuture<'a, Result<UserRow, AdminError>> {
    Box::pin(async move {
        let user = find_account(core, raw).await?;
        core.db.set_active(user.id, active).await?;
        if !active {
            core.db.end_sessions(user.id, None, now_ms()).await?;
        }
        find_account(core, raw).await
    })
}

/// Sets a new password (the policy applies); every session ends.
pub fn set_password<'a>(core: &'a Core, raw: &'a str, password: &'a str) -> BoxFuture<'a, Result<UserRow, AdminError>> {
    Box::pin(async move {
        let user = find_account(core, raw).await?;
        let mobile = Mobile::parse(&user.mobile).ok();
        let username = Username::parse(&user.username).ok();
        let password = Password::parse(password, core.settings.password_policy, mobile.as_ref(), username.as_ref())?;
        let hash = core.hasher.hash(&password).await?;
        core.db.set_password_hash(user.id, &hash, None, now_ms(), &[]).await?;
        Ok(user)
    })
}

impl From<AdminError> for AppError {
    fn from(e: AdminError) -> AppError {
        match e {
            AdminError::Db(e) => dependency_down("admin", "database", &e),
            AdminError::Hash(e) => internal("admin", "hashing", &e),
            other => AppError::bad_request(other.to_string()),
        }
    }
}
