//! Passwords: a length range (a setting, 8-20 by default), not one of the most
//! common passwords, not the mobile number or the username.

use super::{Mobile, Username};
use crate::i18n::Text;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The most common passwords, one per line, lower case (a bundled list).
const COMMON_PASSWORDS: &str = include_str!("common_passwords.txt");

/// The length range in characters. The seeds disagree (6-16 vs 8-20), so the
/// server reads it from its settings and tells the page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordPolicy {
    pub min_chars: usize,
    pub max_chars: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        PasswordPolicy { min_chars: 8, max_chars: 20 }
    }
}

/// A password that passed the policy. Never printed, never serialised.
#[derive(Clone)]
pub struct Password(String);

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("empty")]
    Empty,
    #[error("length")]
    Length { min_chars: usize, max_chars: usize },
    #[error("too common")]
    TooCommon,
    #[error("same as the account")]
    SameAsAccount,
    #[error("confirmation differs")]
    Mismatch,
}

impl PasswordError {
    pub fn text(&self) -> Text {
        match self {
            PasswordError::Empty => Text::rule_password_empty(),
            PasswordError::Length { min_chars, max_chars } => Text::rule_password_length(min_chars, max_chars),
            PasswordError::TooCommon => Text::rule_password_too_common(),
            PasswordError::SameAsAccount => Text::rule_password_same_as_account(),
            PasswordError::Mismatch => Text::rule_password_mismatch(),
        }
    }
}

impl Password {
    /// Checks `raw` against the policy and against the account it will protect.
    pub fn parse(
        raw: &str,
        policy: PasswordPolicy,
        mobile: Option<&Mobile>,
        username: Option<&Username>,
    ) -> Result<Password, PasswordError> {
        if raw.is_empty() {
            return Err(PasswordError::Empty);
        }
        let chars = raw.chars().count();
        if chars < policy.min_chars || chars > policy.max_chars {
            return Err(PasswordError::Length { min_chars: policy.min_chars, max_chars: policy.max_chars });
        }
        let lower = raw.to_lowercase();
        if is_common(&lower) {
            return Err(PasswordError::TooCommon);
        }
        let same_as_mobile = mobile.is_some_and(|m| raw == m.as_str());
        let same_as_username = username.is_some_and(|u| lower == u.as_str().to_lowercase());
        if same_as_mobile || same_as_username {
            return Err(PasswordError::SameAsAccount);
        }
        Ok(Password(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// The "password again" field must equal the first one.
pub fn passwords_match(password: &str, again: &str) -> Result<(), PasswordError> {
    if password == again { Ok(()) } else { Err(PasswordError::Mismatch) }
}

fn is_common(lower: &str) -> bool {
    COMMON_PASSWORDS.lines().any(|line| line == lower)
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(******)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::say;

    const POLICY: PasswordPolicy = PasswordPolicy { min_chars: 8, max_chars: 20 };

    fn parse(raw: &str) -> Result<Password, PasswordError> {
        Password::parse(raw, POLICY, None, None)
    }

    #[test]
    fn a_long_enough_uncommon_password_is_accepted() {
        assert!(parse("tangerine-Kite-42").is_ok());
    }

    #[test]
    fn the_length_range_comes_from_the_policy() {
        assert_eq!(parse("Ab3$xyz").err(), Some(PasswordError::Length { min_chars: 8, max_chars: 20 }));
        assert!(parse("Ab3$xyzq").is_ok());
        assert!(parse(&"Ab3$".repeat(5)).is_ok());
        assert!(parse(&format!("{}x", "Ab3$".repeat(5))).is_err());
        let short = PasswordPolicy { min_chars: 6, max_chars: 16 };
        assert!(Password::parse("Ab3$xy", short, None, None).is_ok());
        assert_eq!(say(PasswordError::Length { min_chars: 6, max_chars: 16 }.text()), "密码长度应为6-16个字符");
    }

    #[test]
    fn common_passwords_are_refused_in_any_case() {
        for raw in ["12345678", "password", "PassWord", "qwerty123", "iloveyou", "woaini1314"] {
            assert_eq!(parse(raw).err(), Some(PasswordError::TooCommon), "{raw}");
        }
    }

    #[test]
    fn the_mobile_or_username_is_refused_as_a_password() {
        let mobile = Mobile::parse("13812345678").unwrap();
        let username = Username::parse("Nightingale").unwrap();
        assert_eq!(
            Password::parse("13812345678", POLICY, Some(&mobile), None).err(),
            Some(PasswordError::SameAsAccount)
        );
        assert_eq!(
            Password::parse("nightingale", POLICY, None, Some(&username)).err(),
            Some(PasswordError::SameAsAccount)
        );
    }

    #[test]
    fn the_confirmation_must_match() {
        assert_eq!(passwords_match("abc", "abd"), Err(PasswordError::Mismatch));
        assert_eq!(passwords_match("abc", "abc"), Ok(()));
    }

    #[test]
    fn the_bundled_list_is_lower_case_and_non_empty() {
        assert!(COMMON_PASSWORDS.lines().count() > 100);
        assert!(COMMON_PASSWORDS.lines().all(|l| l == l.to_lowercase() && !l.is_empty()));
    }

    #[test]
    fn debug_output_hides_the_password() {
        assert!(!format!("{:?}", parse("tangerine-Kite-42").unwrap()).contains("tangerine"));
    }
}
