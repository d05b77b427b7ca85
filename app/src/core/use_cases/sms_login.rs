//! Sign in with a mobile number and the SMS code sent for `login`. Not
//! subject to the password lockout, so that a stranger cannot lock the owner out.

use super::{
    checks::{SmsCodeRefusal, check_sms_code},
    dependency_down,
    sessions::{SessionError, record_attempt, start_session},
};
use crate::i18n::Text;
use crate::{
    core::{Client, Core, db::DbError, store::StoreError},
    error::{AppError, ErrorCode, ErrorKind},
    rules::{Account, Mobile, MobileError, Purpose, SmsCode, SmsCodeError},
    wire::{SignedIn, SmsLoginForm},
};

#[derive(Debug, thiserror::Error)]
pub enum SmsLoginError {
    #[error(transparent)]
    Mobile(#[from] MobileError),
    #[error(transparent)]
    SmsCode(#[from] SmsCodeError),
    #[error(transparent)]
    SmsCodeRefused(#[from] SmsCodeRefusal),
    #[error("no account has this mobile")]
    NotRegistered,
    #[error("the account is disabled")]
    Disabled,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Session(#[from] SessionError),
}

#[tracing::instrument(name = "sms_login", skip_all)]
pub async fn sms_login(core: &Core, client: &Client, form: &SmsLoginForm) -> Result<SignedIn, SmsLoginError> {
    let mobile = Mobile::parse(&form.mobile)?;
    let code = SmsCode::parse(&form.sms_code)?;
    let code_key = check_sms_code(core, Purpose::Login, &mobile, &code).await?;
    let Some(user) = core.db.find_user_by_account(&Account::Mobile(mobile)).await? else {
        return Err(SmsLoginError::NotRegistered);
    };
    if !user.is_active {
        record_attempt(core, client, user.id, "sms", "disabled").await;
        return Err(SmsLoginError::Disabled);
    }
    // One code, one sign-in: a second use of the same code finds nothing.
    if !core.store.consume_code(&code_key, code.as_str()).await? {
        return Err(SmsCodeRefusal::Missing.into());
    }
    Ok(start_session(core, client, &user, form.remember, "sms").await?)
}

impl From<SmsLoginError> for AppError {
    fn from(e: SmsLoginError) -> AppError {
        use SmsLoginError as E;
        match e {
            E::Mobile(e) => AppError::field("mobile", ErrorCode::MobileInvalid, e.text()),
            E::SmsCode(e) => AppError::field("sms_code", ErrorCode::SmsCodeInvalid, e.text()),
            E::SmsCodeRefused(e) => e.into(),
            E::NotRegistered => {
                AppError::field("mobile", ErrorCode::MobileNotRegistered, Text::error_mobile_not_registered())
            }
            E::Disabled => {
                AppError::new(ErrorKind::Forbidden, ErrorCode::AccountDisabled, Text::error_account_disabled())
            }
            E::Store(e) => dependency_down("sms_login", "store", &e),
            E::Db(e) => dependency_down("sms_login", "database", &e),
            E::Session(e) => e.into(),
        }
    }
}
