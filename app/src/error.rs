//! The one error shape both doors speak: server functions return it to the
//! pages, and the JSON API serialises it as `{"code", "message", "field"}`.
//! Use-case errors (in `core`) convert into it in one place each.

use crate::i18n::{Text, Texts};
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// What kind of failure this is; decides the HTTP status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum ErrorKind {
    /// The input breaks a rule: fix the field.
    Invalid,
    /// The request is not understood (malformed body, wrong types).
    BadRequest,
    /// No such page or endpoint.
    NotFound,
    /// The request body is over the size limit.
    TooLarge,
    /// Not signed in, or the token is not good.
    Unauthorized,
    /// Signed in, but not allowed (a disabled account, a cross-site request).
    Forbidden,
    /// The account or resource conflicts with an existing one.
    Conflict,
    /// Too many requests; try again after `retry_after` seconds.
    RateLimited,
    /// A dependency (database, store, SMS provider) is down.
    Unavailable,
    /// Our bug; details are in the server log only.
    Unexpected,
}

impl ErrorKind {
    pub fn status(self) -> u16 {
        match self {
            ErrorKind::Invalid => 422,
            ErrorKind::BadRequest => 400,
            ErrorKind::NotFound => 404,
            ErrorKind::TooLarge => 413,
            ErrorKind::Unauthorized => 401,
            ErrorKind::Forbidden => 403,
            ErrorKind::Conflict => 409,
            ErrorKind::RateLimited => 429,
            ErrorKind::Unavailable => 503,
            ErrorKind::Unexpected => 500,
        }
    }
}

/// Every machine-readable code an error can carry: one list, so that the
/// JSON API's document can name them all (`ErrorCode::ALL`) and a typo is a
/// compile error rather than a new code.
macro_rules! error_codes {
    ($($variant:ident = $code:literal,)*) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum ErrorCode {
            $($variant,)*
        }

        impl ErrorCode {
            pub const ALL: &[ErrorCode] = &[$(ErrorCode::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)*
                }
            }
        }
    };
}

error_codes! {
    AccountChanged = "account_changed",
    AccountDisabled = "account_disabled",
    AccountInvalid = "account_invalid",
    AccountLocked = "account_locked",
    AddressRequired = "address_required",
    AgreementRequired = "agreement_required",
    BadRedirectUri = "bad_redirect_uri",
    BadRequest = "bad_request",
    Busy = "busy",
    CrossSiteRequest = "cross_site_request",
    DeletionPending = "deletion_pending",
    DisabledClient = "disabled_client",
    EmailAlreadyBound = "email_already_bound",
    EmailCooldown = "email_cooldown",
    EmailDailyCap = "email_daily_cap",
    EmailInvalid = "email_invalid",
    EmailTaken = "email_taken",
    ImageCodeExpired = "image_code_expired",
    ImageCodeInvalid = "image_code_invalid",
    ImageCodeRequired = "image_code_required",
    ImageCodeWrong = "image_code_wrong",
    LinkExpired = "link_expired",
    LinkUnknown = "link_unknown",
    LinkUsed = "link_used",
    MalformedRequest = "malformed_request",
    MobileInvalid = "mobile_invalid",
    MobileNotRegistered = "mobile_not_registered",
    MobileTaken = "mobile_taken",
    Network = "network",
    NicknameInvalid = "nickname_invalid",
    NoDeletionPending = "no_deletion_pending",
    NoEmail = "no_email",
    NoPendingEmail = "no_pending_email",
    NoSuchAccount = "no_such_account",
    NoSuchApplication = "no_such_application",
    NoSuchSession = "no_such_session",
    NotFound = "not_found",
    OldPasswordWrong = "old_password_wrong",
    PasswordChecksLocked = "password_checks_locked",
    PasswordInvalid = "password_invalid",
    PasswordMismatch = "password_mismatch",
    PasswordWrong = "password_wrong",
    PayloadTooLarge = "payload_too_large",
    PowExpired = "pow_expired",
    PowInvalid = "pow_invalid",
    PowRequired = "pow_required",
    ProofRequired = "proof_required",
    RecoveryCooldown = "recovery_cooldown",
    RecoveryDailyCap = "recovery_daily_cap",
    RequestTooLong = "request_too_long",
    SignedOut = "signed_out",
    SmsCodeDead = "sms_code_dead",
    SmsCodeExpired = "sms_code_expired",
    SmsCodeInvalid = "sms_code_invalid",
    SmsCodeWrong = "sms_code_wrong",
    SmsCooldown = "sms_cooldown",
    SmsDailyCap = "sms_daily_cap",
    SmsIpCap = "sms_ip_cap",
    SmsSendFailed = "sms_send_failed",
    SmsSiteCap = "sms_site_cap",
    TooManyCaptchas = "too_many_captchas",
    TooManyLookups = "too_many_lookups",
    TooManyRecoveryRequests = "too_many_recovery_requests",
    Unavailable = "unavailable",
    Unexpected = "unexpected",
    UnknownClient = "unknown_client",
    UnknownKind = "unknown_kind",
    UsernameInvalid = "username_invalid",
    UsernameTaken = "username_taken",
    VersionNotCurrent = "version_not_current",
    WrongCredentials = "wrong_credentials",
}

#[cfg(test)]
#[test]
fn each_code_is_written_as_it_is_named() {
    for code in ErrorCode::ALL {
        assert_eq!(serde_json::to_value(code).unwrap(), code.as_str(), "{code:?}");
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// What an error says to the person: a text of the catalogue until the
/// request's language is known (where the error leaves the server: a
/// server function's `fail`, the JSON API's body), then its words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message {
    Text(Text),
    /// Already in a language, or none a person chose (a parser's detail).
    Said(String),
}

impl Message {
    /// In `texts`' language.
    pub fn say(&self, texts: &Texts) -> String {
        match self {
            Message::Text(text) => texts.say(text),
            Message::Said(said) => said.clone(),
        }
    }
}

impl From<Text> for Message {
    fn from(text: Text) -> Message {
        Message::Text(text)
    }
}

impl From<String> for Message {
    fn from(said: String) -> Message {
        Message::Said(said)
    }
}

impl From<&str> for Message {
    fn from(said: &str) -> Message {
        Message::Said(said.to_owned())
    }
}

/// In the reference locale on the server (logs); the browser's own texts
/// are not at hand here.
impl std::fmt::Display for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            #[cfg(feature = "ssr")]
            Message::Text(text) => f.write_str(&crate::i18n::say(text.clone())),
            #[cfg(not(feature = "ssr"))]
            Message::Text(text) => write!(f, "{text:?}"),
            Message::Said(said) => f.write_str(said),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{code}: {message}")]
pub struct AppError {
    pub kind: ErrorKind,
    /// A stable machine-readable code, e.g. `sms_code_wrong`.
    pub code: ErrorCode,
    /// What to tell the person (`Message::say`).
    pub message: Message,
    /// The form field the message belongs beside, if any.
    pub field: Option<String>,
    /// Seconds until trying again makes sense (rate limits, cooldowns).
    pub retry_after: Option<u64>,
}

impl AppError {
    pub fn new(kind: ErrorKind, code: ErrorCode, message: impl Into<Message>) -> AppError {
        AppError { kind, code, message: message.into(), field: None, retry_after: None }
    }

    /// A rule broken by one field.
    pub fn field(field: &str, code: ErrorCode, message: impl Into<Message>) -> AppError {
        AppError { field: Some(field.into()), ..AppError::new(ErrorKind::Invalid, code, message) }
    }

    pub fn with_field(mut self, field: &str) -> AppError {
        self.field = Some(field.into());
        self
    }

    /// The same error, reported as a conflict with existing data (409).
    pub fn with_conflict(mut self) -> AppError {
        self.kind = ErrorKind::Conflict;
        self
    }

    pub fn rate_limited(code: ErrorCode, message: impl Into<Message>, retry_after: u64) -> AppError {
        AppError { retry_after: Some(retry_after.max(1)), ..AppError::new(ErrorKind::RateLimited, code, message) }
    }

    pub fn unavailable() -> AppError {
        AppError::new(ErrorKind::Unavailable, ErrorCode::Unavailable, Text::failure_unavailable())
    }

    /// Overloaded (e.g. the password-hashing queue is full).
    pub fn busy() -> AppError {
        AppError::new(ErrorKind::Unavailable, ErrorCode::Busy, Text::failure_busy())
    }

    pub fn unexpected() -> AppError {
        AppError::new(ErrorKind::Unexpected, ErrorCode::Unexpected, Text::failure_unexpected())
    }

    pub fn bad_request(message: impl Into<Message>) -> AppError {
        AppError::new(ErrorKind::BadRequest, ErrorCode::BadRequest, message)
    }

    pub fn not_found() -> AppError {
        AppError::new(ErrorKind::NotFound, ErrorCode::NotFound, Text::failure_not_found())
    }

    /// The message for `field` in `texts`' language, if this error belongs
    /// beside it.
    pub fn message_for(&self, field: &str, texts: &Texts) -> Option<String> {
        (self.field.as_deref() == Some(field)).then(|| self.message.say(texts))
    }

    /// The message in `texts`' language.
    pub fn say(&self, texts: &Texts) -> String {
        self.message.say(texts)
    }

    /// The same error, its message put in `texts`' language: what leaves
    /// the server.
    pub fn said_in(mut self, texts: &Texts) -> AppError {
        self.message = Message::Said(self.message.say(texts));
        self
    }
}

impl FromServerFnError for AppError {
    type Encoder = crate::wire::Encoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Request(_) => {
                AppError::new(ErrorKind::Unavailable, ErrorCode::Network, Text::failure_network())
            }
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) => {
                AppError::bad_request(Text::failure_bad_request())
            }
            _ => AppError::unexpected(),
        }
    }
}
