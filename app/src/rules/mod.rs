//! The rules: domain types that can only hold a valid value, and the messages
//! that explain a refusal. Compiled for the browser and the server alike, so the
//! page runs the very same checks the server runs. No I/O, no Leptos.

mod account;
mod captcha_answer;
mod legal;
mod mobile;
mod nickname;
mod password;
mod proof_of_work;
mod purpose;
mod sms_code;
mod username;

use crate::i18n::Texts;
pub use account::{Account, AccountError, Email, EmailError};
pub use captcha_answer::{CAPTCHA_ALPHABET, CAPTCHA_LEN, CaptchaAnswer, CaptchaAnswerError};
pub use legal::{LegalKind, accept_texts_path};
pub use mobile::{MOBILE_PATTERN, Mobile, MobileError};
pub use nickname::{NICKNAME_MAX_CHARS, Nickname, NicknameError};
pub use password::{Password, PasswordError, PasswordPolicy, passwords_match};
pub use proof_of_work::{Proof, leading_zero_bits, proves, search as search_proof};
pub use purpose::{Purpose, PurposeError};
pub use sms_code::{SMS_CODE_LEN, SmsCode, SmsCodeError};
pub use username::{USERNAME_MAX_CHARS, USERNAME_MIN_CHARS, USERNAME_PATTERN, Username, UsernameError};

/// What an OpenID Connect scope lets an application learn, as the consent
/// page and the user centre say it; `None` for a scope said by no words
/// (`openid` is the sign-in itself).
pub fn scope_meaning(texts: &Texts, scope: &str) -> Option<&'static str> {
    match scope {
        "profile" => Some(texts.scope_profile()),
        "phone" => Some(texts.scope_phone()),
        "email" => Some(texts.scope_email()),
        "offline_access" => Some(texts.scope_offline_access()),
        _ => None,
    }
}

/// What a set of scopes lets an application learn, in one phrase ("your
/// mobile number, your username and nickname"), or that it learns only
/// who you are.
pub fn scopes_meaning<'a>(texts: &Texts, scopes: impl IntoIterator<Item = &'a str>) -> String {
    let said: Vec<&str> = scopes.into_iter().filter_map(|scope| scope_meaning(texts, scope)).collect();
    if said.is_empty() { texts.scope_only_who().to_owned() } else { said.join(texts.scope_separator()) }
}

/// The longest `next` followed: an OpenID Connect authorization request
/// (up to 2,048 characters of query) travels through sign-in in it.
pub const NEXT_PATH_MAX: usize = 2200;

/// Where to go after signing in: only a path on this site (`/user`), never
/// another site (`//evil.example`, `https://...`, `/\evil`).
pub fn safe_next_path(raw: &str) -> Option<&str> {
    let ok = raw.starts_with('/')
        && !raw.starts_with("//")
        && !raw.contains('\\')
        && !raw.chars().any(char::is_control)
        && raw.len() <= NEXT_PATH_MAX;
    ok.then_some(raw)
}

/// The sign-in page, going on to `next` (a path of this site) once signed in.
pub fn sign_in_then(next: &str) -> String {
    format!("/login?next={}", url_encode(next))
}

/// The 注销 page, going on to `next` once its person has cancelled: where a
/// sign-in during the cooling-off period leads first.
pub fn deletion_path(next: &str) -> String {
    format!("/delete?next={}", url_encode(next))
}

/// `text` as one query value (`application/x-www-form-urlencoded`): what a
/// link that carries `next` on needs, in the browser and the server alike.
pub fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(byte as char),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_on_this_site_are_followed_after_sign_in() {
        assert_eq!(safe_next_path("/user"), Some("/user"));
        assert_eq!(safe_next_path("/user?tab=sessions"), Some("/user?tab=sessions"));
        for raw in ["//evil.example", "https://evil.example/", "/\\evil.example", "evil", "", "/\t/evil.example"] {
            assert_eq!(safe_next_path(raw), None, "{raw}");
        }
        // A sign-in another site asked for comes back whole.
        let authorize = format!("/oauth2/authorize?{}", "a".repeat(2048));
        assert_eq!(safe_next_path(&authorize), Some(authorize.as_str()));
        assert_eq!(safe_next_path(&format!("/{}", "a".repeat(NEXT_PATH_MAX))), None);
    }

    #[test]
    fn a_next_path_survives_a_link() {
        assert_eq!(url_encode("/oauth2/authorize?a=1&b=x y/é"), "%2Foauth2%2Fauthorize%3Fa%3D1%26b%3Dx%20y%2F%C3%A9");
    }
}
