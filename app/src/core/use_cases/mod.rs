//! The use cases, one file each, named by what they do. Each takes the raw
//! input from either door, parses it into rule types first, and returns its
//! own error enum, which converts into the wire `AppError` in one place.
//!
//! Most return a `BoxFuture` made here rather than being `async fn`s: a
//! future's state machine is compiled by every crate that polls it, unless
//! that crate shares its dependencies' generic code, which rustc does only
//! at opt-level 0 and 1. The server is built at 3, so it compiled each use
//! case it calls (and the queries under it) a second time, at the slowest
//! level (issue 23: 30 % of its LLVM IR). Boxed, each is compiled once, in
//! this crate. Left as `async fn` are those on the request paths whose CPU
//! per answer is measured (`bench/`): the availability checks, the
//! captcha, the proof-of-work challenge, the session check, and sign-in.

mod account;
mod admin;
mod check_availability;
mod checks;
mod deletion;
mod email_binding;
mod issue_captcha;
mod jobs;
mod legal;
mod login;
mod mail_test;
mod notices;
mod oidc;
mod oidc_admin;
mod password_attempts;
mod proof_of_work;
mod recovery;
mod register;
mod send_sms_code;
mod sessions;
mod sms_login;
mod sms_test;

pub use account::{
    AccountError as ProfileError, change_password, describe_user, export_my_data, login_history, profile,
    update_nickname,
};
pub use admin::{
    AccountShown, AdminError, CreateUser, create_user, find_account, set_active, set_password, show_account,
};
pub use check_availability::{AvailabilityError, count_mobile, count_username};
pub use deletion::{
    DeletionError, OperatorDeletion, cancel_deletion, delete_account, erase_due_accounts, erase_when_due,
    request_deletion,
};
pub use email_binding::{
    EmailBindingError, VerifyEmailError, bind_email, email_link_status, email_status, remove_email, resend_email_link,
    verify_email,
};
pub use issue_captcha::{CaptchaError, issue_captcha};
pub use jobs::{JobFilter, JobsError, list_jobs, purge_failed_jobs, retry_job};
pub use legal::{LegalError, accept_text, legal_document, list_acceptances, texts_to_accept};
pub use login::{LoginError, ask_login_captcha, clock_time_cst, login, login_needs_captcha};
pub use mail_test::{MailTestError, send_test_mail};
pub use oidc::{
    Authorize, AuthorizeError, AuthorizeParams, ClientCredentials, ConsentDecision, LoggedOut, LogoutParams,
    TokenError, TokenForm, TokenQueryForm, TokenResponse, UserinfoError, authorize, consent_request, decide_consent,
    exchange_code, introspect, oidc_logout, revoke, userinfo,
};
pub use oidc_admin::{
    ClientRegistration, OidcAdminError, create_client, delete_client, list_clients, list_signing_keys,
    rotate_client_secret, rotate_signing_keys, set_client_enabled, show_client,
};
pub use proof_of_work::{PowError, issue_pow_challenge, prepare_captcha_with_challenge};
pub use recovery::{
    RecoveryError, email_removal_offer, forgot_password, remove_email_after_reset, reset_link_status, reset_password,
};
pub use register::{RegisterError, register};
pub use send_sms_code::{SendSmsCodeError, send_sms_code, sms_cooldown};
pub use sessions::{
    Authenticated, SessionError, authenticate, cookie_max_age, end_all_sessions, end_session, list_applications,
    list_sessions, logout, remember_locale, revoke_application,
};
pub use sms_login::{SmsLoginError, sms_login};
pub use sms_test::{SmsTestError, send_test_sms};

// Store keys and the clock live in the core, below the worker and the use
// cases alike; named here so that each use case reaches them as `super::`.
pub(crate) use crate::core::{now_ms, store::keys};
use std::time::Duration;

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
