//! The use cases, one file each, named by what they do. Each takes the raw
//! input from either door, parses it into rule types first, and returns its
//! own error enum, which converts into the wire `AppError` in one place.

mod account;
mod admin;
mod check_availability;
mod checks;
mod email_binding;
mod issue_captcha;
mod jobs;
mod login;
mod mail_test;
mod proof_of_work;
mod recovery;
mod register;
mod send_sms_code;
mod sessions;
mod sms_login;

pub use account::{AccountError as ProfileError, change_password, login_history, profile, update_nickname};
pub use admin::{
    AccountShown, AdminError, CreateUser, create_user, find_account, set_active, set_password, show_account,
};
pub use check_availability::{AvailabilityError, count_mobile, count_username};
pub use email_binding::{
    EmailBindingError, VerifyEmailError, bind_email, email_link_status, email_status, remove_email, resend_email_link,
    verify_email,
};
pub use issue_captcha::{CaptchaError, issue_captcha};
pub use jobs::{JobFilter, JobsError, list_jobs, purge_failed_jobs, retry_job};
pub use login::{LoginError, ask_login_captcha, clock_time_cst, login, login_needs_captcha};
pub use mail_test::{MailTestError, send_test_mail};
pub use proof_of_work::{PowError, issue_pow_challenge, prepare_captcha_with_challenge};
pub use recovery::{
    RecoveryError, email_removal_offer, forgot_password, remove_email_after_reset, reset_link_status, reset_password,
};
pub use register::{RegisterError, register};
pub use send_sms_code::{SendSmsCodeError, send_sms_code, sms_cooldown};
pub use sessions::{
    Authenticated, SessionError, authenticate, cookie_max_age, end_all_sessions, end_session, list_sessions, logout,
};
pub use sms_login::{SmsLoginError, sms_login};

use crate::rules::{Mobile, Purpose};
use std::time::Duration;

/// Store keys, in one place. Per-address counters are named so
/// (`store::PER_ADDRESS`): the in-process store keeps them in fixed memory.
/// Other keys a visitor makes just by asking (captcha answers, counters of
/// made-up account names) are soft (`store::SOFT`): a full in-process store
/// forgets them before it refuses.
pub(crate) mod keys {
    use super::*;
    use crate::core::store::{PER_ADDRESS, SOFT};

    pub fn captcha(id: &uuid::Uuid) -> String {
        format!("{SOFT}captcha:{}", id.simple())
    }
    pub fn sms_code(purpose: Purpose, mobile: &Mobile) -> String {
        format!("sms:{purpose}:{mobile}:code")
    }
    pub fn sms_cooldown(purpose: Purpose, mobile: &Mobile) -> String {
        format!("sms:{purpose}:{mobile}:cooldown")
    }
    /// Why the provider refused the last code for this number, if it did.
    pub fn sms_refusal(purpose: Purpose, mobile: &Mobile) -> String {
        format!("sms:{purpose}:{mobile}:refusal")
    }
    pub fn sms_daily(mobile: &Mobile) -> String {
        format!("sms:day:{mobile}")
    }
    pub fn sms_ip_hourly(net: &ipnet::IpNet) -> String {
        format!("{PER_ADDRESS}sms:ip:{net}")
    }
    /// Every SMS this site sends in the hour.
    pub const SMS_SITE_HOURLY: &str = "sms:site";
    pub fn captchas(net: &ipnet::IpNet) -> String {
        format!("{PER_ADDRESS}captcha:ip:{net}")
    }
    /// Verification links sent to an address or an account (`uid:N`): the
    /// resend interval, and the day's count.
    pub fn email_cooldown(name: &str) -> String {
        format!("email:cooldown:{name}")
    }
    pub fn email_daily(name: &str) -> String {
        format!("email:day:{name}")
    }
    /// Recovery requests from an address in the hour, whatever they name.
    pub fn recovery_ip(net: &ipnet::IpNet) -> String {
        format!("{PER_ADDRESS}recover:ip:{net}")
    }
    /// Reset links asked for an e-mail address (whether or not an account
    /// has it): the resend interval, and the day's count.
    pub fn recovery_cooldown(email: &str) -> String {
        format!("recover:cooldown:{email}")
    }
    pub fn recovery_daily(email: &str) -> String {
        format!("recover:day:{email}")
    }
    pub fn lookups(net: &ipnet::IpNet) -> String {
        format!("{PER_ADDRESS}lookup:ip:{net}")
    }
    /// The password counters' name for an existing account: its id, so that
    /// every spelling of it (username, mobile, e-mail) counts once.
    pub fn user_account(id: i64) -> String {
        format!("uid:{id}")
    }
    /// The password counters' name for an account nobody has: what was
    /// typed, soft, so that wrong passwords for made-up names (one new key
    /// each) cannot fill the store with keys it must keep.
    pub fn unknown_account(account: &crate::rules::Account) -> String {
        format!("{SOFT}{}", account.key())
    }
    /// `name` followed by an account's counters' name; soft when that is.
    fn per_account(name: &str, account_key: &str) -> String {
        match account_key.strip_prefix(SOFT) {
            Some(typed) => format!("{SOFT}{name}{typed}"),
            None => format!("{name}{account_key}"),
        }
    }
    pub fn login_failures(account_key: &str) -> String {
        per_account("login:fail:", account_key)
    }
    pub fn login_ip_failures(net: &ipnet::IpNet) -> String {
        format!("{PER_ADDRESS}login:fail-ip:{net}")
    }
    pub fn login_lock(account_key: &str) -> String {
        per_account("login:lock:", account_key)
    }
    /// Set when a refusal of the locked account was written to its history.
    pub fn login_lock_noted(account_key: &str) -> String {
        per_account("login:lock-noted:", account_key)
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
