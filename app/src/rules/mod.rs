//! The rules: domain types that can only hold a valid value, and the messages
//! that explain a refusal. Compiled for the browser and the server alike, so the
//! page runs the very same checks the server runs. No I/O, no Leptos.

mod captcha_answer;
mod mobile;
mod nickname;
mod password;
mod purpose;
mod sms_code;
mod username;

pub use captcha_answer::{CAPTCHA_ALPHABET, CAPTCHA_LEN, CaptchaAnswer, CaptchaAnswerError};
pub use mobile::{Mobile, MobileError};
pub use nickname::{NICKNAME_MAX_CHARS, Nickname, NicknameError};
pub use password::{Password, PasswordError, PasswordPolicy, passwords_match};
pub use purpose::{Purpose, PurposeError};
pub use sms_code::{SMS_CODE_LEN, SmsCode, SmsCodeError};
pub use username::{USERNAME_MAX_CHARS, USERNAME_MIN_CHARS, Username, UsernameError};

/// The message shown when the user agreement was not accepted.
pub const AGREEMENT_REQUIRED: &str = "请阅读并同意用户协议";
