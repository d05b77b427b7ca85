//! The use cases, one file each, named by what they do. Each takes the raw
//! input from either door, parses it into rule types first, and returns its
//! own error enum, which converts into the wire `AppError` in one place.

mod check_availability;
mod current_user;
mod issue_captcha;
mod register;
mod send_sms_code;

pub use check_availability::{AvailabilityError, count_mobile, count_username};
pub use current_user::current_user;
pub use issue_captcha::{CaptchaError, issue_captcha};
pub use register::{RegisterError, register};
pub use send_sms_code::{SendSmsCodeError, send_sms_code, sms_cooldown};

use crate::rules::{Mobile, Purpose};
use std::time::Duration;

/// Store keys, in one place.
pub(crate) mod keys {
    use super::*;

    pub fn captcha(id: &uuid::Uuid) -> String {
        format!("captcha:{}", id.simple())
    }
    pub fn sms_code(purpose: Purpose, mobile: &Mobile) -> String {
        format!("sms:{purpose}:{mobile}:code")
    }
    pub fn sms_cooldown(purpose: Purpose, mobile: &Mobile) -> String {
        format!("sms:{purpose}:{mobile}:cooldown")
    }
    pub fn sms_daily(mobile: &Mobile) -> String {
        format!("sms:day:{mobile}")
    }
    pub fn sms_ip_hourly(ip: &std::net::IpAddr) -> String {
        format!("sms:ip:{ip}")
    }
    pub fn lookups(ip: &std::net::IpAddr) -> String {
        format!("lookup:ip:{ip}")
    }
}

/// Whole seconds for a person, rounded up so that "0 s left" never refuses.
pub(crate) fn seconds_up(d: Duration) -> u64 {
    d.as_millis().div_ceil(1000) as u64
}

/// A dependency failed: log why (server side only), tell the person to retry.
pub(crate) fn dependency_down(use_case: &str, what: &str, error: &dyn std::fmt::Display) -> crate::error::AppError {
    tracing::error!(error = %error, "{use_case}: {what} unavailable");
    crate::error::AppError::unavailable()
}

/// Our own failure: log why, tell the person something went wrong.
pub(crate) fn internal(use_case: &str, what: &str, error: &dyn std::fmt::Display) -> crate::error::AppError {
    tracing::error!(error = %error, "{use_case}: {what} failed");
    crate::error::AppError::unexpected()
}

pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
