//! Sign in with a mobile number and the SMS code sent for `login`. Not
//! subject to the password lockout, so that a stranger cannot lock the owner out.

use super::{
    dependency_down, keys,
    sessions::{SessionError, record_attempt, start_session},
};
use crate::{
    core::{Client, Core, db::DbError, store::CodeCheck, store::StoreError},
    error::{AppError, ErrorKind},
    rules::{Account, Mobile, MobileError, Purpose, SmsCode, SmsCodeError},
    wire::{SignedIn, SmsLoginForm},
};

#[derive(Debug, thiserror::Error)]
pub enum SmsLoginError {
    #[error(transparent)]
    Mobile(#[from] MobileError),
    #[error(transparent)]
    SmsCode(#[from] SmsCodeError),
    #[error("no live SMS code")]
    SmsCodeMissing,
    #[error("wrong SMS code")]
    SmsCodeWrong { attempts_left: u32 },
    #[error("wrong SMS code, and no tries left")]
    SmsCodeDead,
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
    let code_key = keys::sms_code(Purpose::Login, &mobile);
    match core.store.check_code(&code_key, code.as_str(), core.settings.sms_max_attempts).await? {
        CodeCheck::Match => {}
        CodeCheck::Missing => return Err(SmsLoginError::SmsCodeMissing),
        CodeCheck::Exhausted => return Err(SmsLoginError::SmsCodeDead),
        CodeCheck::Mismatch { attempts_left } => return Err(SmsLoginError::SmsCodeWrong { attempts_left }),
    }
    let Some(user) = core.db.find_user_by_account(&Account::Mobile(mobile)).await? else {
        return Err(SmsLoginError::NotRegistered);
    };
    if !user.is_active {
        record_attempt(core, client, user.id, "sms", "disabled").await;
        return Err(SmsLoginError::Disabled);
    }
    // One code, one sign-in: a second use of the same code finds nothing.
    if !core.store.consume_code(&code_key, code.as_str()).await? {
        return Err(SmsLoginError::SmsCodeMissing);
    }
    Ok(start_session(core, client, &user, form.remember, "sms").await?)
}

impl From<SmsLoginError> for AppError {
    fn from(e: SmsLoginError) -> AppError {
        use SmsLoginError as E;
        match e {
            E::Mobile(e) => AppError::field("mobile", "mobile_invalid", e.message()),
            E::SmsCode(e) => AppError::field("sms_code", "sms_code_invalid", e.message()),
            E::SmsCodeMissing => AppError::field("sms_code", "sms_code_expired", "短信验证码已失效，请重新获取"),
            E::SmsCodeWrong { attempts_left } => {
                AppError::field("sms_code", "sms_code_wrong", format!("短信验证码错误，还可以再试{attempts_left}次"))
            }
            E::SmsCodeDead => AppError::field("sms_code", "sms_code_dead", "短信验证码错误次数过多，请重新获取"),
            E::NotRegistered => AppError::field("mobile", "mobile_not_registered", "该手机号尚未注册"),
            E::Disabled => AppError::new(ErrorKind::Forbidden, "account_disabled", "该账号已被停用，请联系客服"),
            E::Store(e) => dependency_down("sms_login", "store", &e),
            E::Db(e) => dependency_down("sms_login", "database", &e),
            E::Session(e) => e.into(),
        }
    }
}
