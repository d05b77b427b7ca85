//! Register with a mobile number, a password and the SMS code sent for
//! `register`. A wrong code counts towards its limit; the right code is used
//! up only once the account exists. The unique index on the mobile decides
//! simultaneous submits: one account, the others a clear "taken". The
//! account is written with the acceptance of the privacy policy and the
//! terms (their current versions) in one transaction.

use super::{
    checks::{LookupRefusal, SmsCodeRefusal, check_sms_code, costs_a_lookup},
    dependency_down, internal, now_ms,
    sessions::{SessionError, start_session},
};
use crate::i18n::Text;
use crate::{
    core::{
        Client, Core,
        db::{DbError, InsertUserError, NewUser},
        legal::NewAcceptance,
        password_hashing::HashError,
        store::StoreError,
    },
    error::{AppError, ErrorCode},
    rules::{
        LegalKind, Mobile, MobileError, Nickname, NicknameError, Password, PasswordError, Purpose, SmsCode,
        SmsCodeError, Username, UsernameError, passwords_match,
    },
    wire::{RegisterForm, SignedIn},
};
use futures::future::BoxFuture;
use rand::Rng;

#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error(transparent)]
    Mobile(MobileError),
    #[error(transparent)]
    SmsCode(SmsCodeError),
    #[error(transparent)]
    Password(PasswordError),
    #[error(transparent)]
    Password2(PasswordError),
    #[error(transparent)]
    Username(UsernameError),
    #[error(transparent)]
    Nickname(NicknameError),
    #[error("the agreement was not accepted")]
    AgreementRequired,
    #[error(transparent)]
    SmsCodeRefused(#[from] SmsCodeRefusal),
    #[error("the mobile is taken")]
    MobileTaken,
    #[error("the username is taken")]
    UsernameTaken,
    #[error(transparent)]
    Lookup(#[from] LookupRefusal),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error(transparent)]
    Session(#[from] SessionError),
}

struct ValidRegistration {
    mobile: Mobile,
    sms_code: SmsCode,
    password: Password,
    username: Option<Username>,
    nickname: Option<Nickname>,
}

/// Every field rule, reported in the order the form shows the fields.
fn parse(core: &Core, form: &RegisterForm) -> Result<ValidRegistration, RegisterError> {
    let mobile = Mobile::parse(&form.mobile).map_err(RegisterError::Mobile)?;
    let username = Username::parse_optional(form.username.as_deref().unwrap_or(""));
    let sms_code = SmsCode::parse(&form.sms_code).map_err(RegisterError::SmsCode)?;
    let password = Password::parse(
        &form.password,
        core.settings.password_policy,
        Some(&mobile),
        username.as_ref().ok().and_then(Option::as_ref),
    )
    .map_err(RegisterError::Password)?;
    passwords_match(&form.password, &form.password2).map_err(RegisterError::Password2)?;
    let username = username.map_err(RegisterError::Username)?;
    let nickname = Nickname::parse_optional(form.nickname.as_deref().unwrap_or("")).map_err(RegisterError::Nickname)?;
    if !form.allow {
        return Err(RegisterError::AgreementRequired);
    }
    Ok(ValidRegistration { mobile, sms_code, password, username, nickname })
}

/// A readable name for those who gave none (the mobile number is never used
/// as a username).
fn generated_username() -> Username {
    let mut rng = rand::rng();
    Username::generated(std::array::from_fn(|_| rng.random()))
}

#[tracing::instrument(name = "register", skip_all)]
pub fn register<'a>(
    core: &'a Core,
    client: &'a Client,
    form: &'a RegisterForm,
) -> BoxFuture<'a, Result<SignedIn, RegisterError>> {
    Box::pin(async move {
        let valid = parse(core, form)?;
        let code_key = check_sms_code(core, Purpose::Register, &valid.mobile, &valid.sms_code).await?;
        // Cheap early answers before the expensive hash; the unique indexes
        // still decide any race after this point.
        if core.db.count_mobile(&valid.mobile).await? > 0 {
            return Err(RegisterError::MobileTaken);
        }
        // While the code lives, the form could probe usernames one after
        // another: each "taken" costs a lookup.
        if let Some(username) = &valid.username
            && core.db.count_username(username.as_str()).await? > 0
        {
            return Err(costs_a_lookup(core, client, RegisterError::UsernameTaken).await);
        }
        let password_hash = core.hasher.hash(&valid.password).await?;

        let ip = client.ip.to_string();
        let accepted: Vec<NewAcceptance> = LegalKind::ALL
            .into_iter()
            .map(|kind| NewAcceptance {
                kind,
                version: &core.settings.legal.get(kind).version,
                now_ms: now_ms(),
                client_ip: &ip,
                user_agent: &client.user_agent,
            })
            .collect();
        let mut attempts_left = 5;
        let user = loop {
            let username = valid.username.clone().unwrap_or_else(generated_username);
            let new = NewUser {
                username: &username,
                mobile: &valid.mobile,
                nickname: valid.nickname.as_ref(),
                password_hash: &password_hash,
                now_ms: now_ms(),
                locale: client.locale,
            };
            match core.db.insert_user_accepting(&new, &accepted).await {
                Ok(user) => break user,
                Err(InsertUserError::MobileTaken) => return Err(RegisterError::MobileTaken),
                Err(InsertUserError::UsernameTaken) if valid.username.is_none() && attempts_left > 0 => {
                    attempts_left -= 1
                }
                Err(InsertUserError::UsernameTaken) => {
                    return Err(costs_a_lookup(core, client, RegisterError::UsernameTaken).await);
                }
                Err(InsertUserError::Db(e)) => return Err(e.into()),
            }
        };
        // The account exists: the code is spent. Failing to delete it only lets it
        // expire on its own, and the mobile can no longer register anyway.
        if let Err(e) = core.store.consume_code(&code_key, valid.sms_code.as_str()).await {
            tracing::warn!(error = %e, "register: could not consume the SMS code");
        }
        tracing::info!(user_id = user.id, "registered");
        // A new account starts signed in, for a browser session.
        Ok(start_session(core, client, &user, false, "register").await?)
    })
}

impl From<RegisterError> for AppError {
    fn from(e: RegisterError) -> AppError {
        use RegisterError as E;
        match e {
            E::Mobile(e) => AppError::field("mobile", ErrorCode::MobileInvalid, e.text()),
            E::SmsCode(e) => AppError::field("sms_code", ErrorCode::SmsCodeInvalid, e.text()),
            E::Password(e) => AppError::field("password", ErrorCode::PasswordInvalid, e.text()),
            E::Password2(e) => AppError::field("password2", ErrorCode::PasswordMismatch, e.text()),
            E::Username(e) => AppError::field("username", ErrorCode::UsernameInvalid, e.text()),
            E::Nickname(e) => AppError::field("nickname", ErrorCode::NicknameInvalid, e.text()),
            E::AgreementRequired => {
                AppError::field("allow", ErrorCode::AgreementRequired, Text::rule_agreement_required())
            }
            E::SmsCodeRefused(e) => e.into(),
            E::MobileTaken => {
                AppError::field("mobile", ErrorCode::MobileTaken, Text::error_mobile_taken()).with_conflict()
            }
            E::UsernameTaken => {
                AppError::field("username", ErrorCode::UsernameTaken, Text::error_username_taken()).with_conflict()
            }
            E::Lookup(e) => e.into(),
            E::Store(e) => dependency_down("register", "store", &e),
            E::Db(e) => dependency_down("register", "database", &e),
            E::Hash(HashError::Busy) => AppError::busy(),
            E::Hash(e) => internal("register", "hashing", &e),
            E::Session(e) => e.into(),
        }
    }
}
