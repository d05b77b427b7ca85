//! The one error shape both doors speak: server functions return it to the
//! pages, and the JSON API serialises it as `{"code", "message", "field"}`.
//! Use-case errors (in `core`) convert into it in one place each.

use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// What kind of failure this is; decides the HTTP status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{code}: {message}")]
pub struct AppError {
    pub kind: ErrorKind,
    /// A stable machine-readable code, e.g. `sms_code_wrong`.
    pub code: String,
    /// A plain-Chinese message for the person.
    pub message: String,
    /// The form field the message belongs beside, if any.
    pub field: Option<String>,
    /// Seconds until trying again makes sense (rate limits, cooldowns).
    pub retry_after: Option<u64>,
}

impl AppError {
    pub fn new(kind: ErrorKind, code: &str, message: impl Into<String>) -> AppError {
        AppError { kind, code: code.into(), message: message.into(), field: None, retry_after: None }
    }

    /// A rule broken by one field.
    pub fn field(field: &str, code: &str, message: impl Into<String>) -> AppError {
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

    pub fn rate_limited(code: &str, message: impl Into<String>, retry_after: u64) -> AppError {
        AppError { retry_after: Some(retry_after.max(1)), ..AppError::new(ErrorKind::RateLimited, code, message) }
    }

    pub fn unavailable() -> AppError {
        AppError::new(ErrorKind::Unavailable, "unavailable", "服务暂时不可用，请稍后再试")
    }

    /// Overloaded (e.g. the password-hashing queue is full).
    pub fn busy() -> AppError {
        AppError::new(ErrorKind::Unavailable, "busy", "服务繁忙，请稍后再试")
    }

    pub fn unexpected() -> AppError {
        AppError::new(ErrorKind::Unexpected, "unexpected", "服务器出错了，请稍后再试")
    }

    pub fn bad_request(message: impl Into<String>) -> AppError {
        AppError::new(ErrorKind::BadRequest, "bad_request", message)
    }

    pub fn not_found() -> AppError {
        AppError::new(ErrorKind::NotFound, "not_found", "页面不存在")
    }

    /// The message for `field`, if this error belongs beside it.
    pub fn message_for(&self, field: &str) -> Option<String> {
        (self.field.as_deref() == Some(field)).then(|| self.message.clone())
    }
}

impl FromServerFnError for AppError {
    type Encoder = crate::wire::Encoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Request(_) => {
                AppError::new(ErrorKind::Unavailable, "network", "网络连接失败，请检查网络后重试")
            }
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) => AppError::bad_request("请求格式不正确"),
            _ => AppError::unexpected(),
        }
    }
}
