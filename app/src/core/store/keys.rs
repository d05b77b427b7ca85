//! Store keys, in one place: the use cases and the delivery worker name
//! what they keep by these. Per-address counters are named so
//! (`store::PER_ADDRESS`): the in-process store keeps them in fixed memory.
//! Other keys a visitor makes just by asking (captcha answers, counters of
//! made-up account names) are soft (`store::SOFT`): a full in-process store
//! forgets them before it refuses.

use super::{PER_ADDRESS, SOFT};
use crate::rules::{Mobile, Purpose};

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
/// Failures of one account (as typed) from one network: what the sign-in
/// page may be told (the asker's own). Soft: only the page's hint.
pub fn login_ip_account_failures(net: &ipnet::IpNet, account: &crate::rules::Account) -> String {
    format!("{SOFT}login:fail-ip-account:{net}:{}", account.key())
}
pub fn login_lock(account_key: &str) -> String {
    per_account("login:lock:", account_key)
}
/// Set when a refusal of the locked account was written to its history.
pub fn login_lock_noted(account_key: &str) -> String {
    per_account("login:lock-noted:", account_key)
}
/// Failed authentications of an OpenID Connect client from one network,
/// and that network's lock for the client: per address, so that no one can
/// lock a site out (its client id is public). Soft: anyone with addresses
/// makes them, and a 256-bit secret is not guessed before one is forgotten.
pub fn oidc_client_failures(client_id: &str, net: &ipnet::IpNet) -> String {
    format!("{SOFT}oidc:client-fail:{client_id}:{net}")
}
pub fn oidc_client_lock(client_id: &str, net: &ipnet::IpNet) -> String {
    format!("{SOFT}oidc:client-lock:{client_id}:{net}")
}
/// Failed client authentications from one network, whatever the client.
pub fn oidc_client_failures_ip(net: &ipnet::IpNet) -> String {
    format!("{PER_ADDRESS}oidc:client-fail-ip:{net}")
}
