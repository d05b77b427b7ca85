//! The 6-digit code sent by SMS.

use crate::i18n::Text;
use std::fmt;

pub const SMS_CODE_LEN: usize = 6;

#[derive(Clone, PartialEq, Eq)]
pub struct SmsCode(String);

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SmsCodeError {
    #[error("empty")]
    Empty,
    #[error("invalid")]
    Invalid,
}

impl SmsCodeError {
    pub fn text(&self) -> Text {
        match self {
            SmsCodeError::Empty => Text::rule_sms_code_empty(),
            SmsCodeError::Invalid => Text::rule_sms_code_invalid(),
        }
    }
}

impl SmsCode {
    pub fn parse(raw: &str) -> Result<SmsCode, SmsCodeError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(SmsCodeError::Empty);
        }
        if raw.len() == SMS_CODE_LEN && raw.bytes().all(|b| b.is_ascii_digit()) {
            Ok(SmsCode(raw.to_owned()))
        } else {
            Err(SmsCodeError::Invalid)
        }
    }

    /// Builds a code from a number below 10^6 (the server's generator).
    pub fn from_number(n: u32) -> SmsCode {
        SmsCode(format!("{:06}", n % 1_000_000))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

// Codes are secrets: they never appear in logs through Debug.
impl fmt::Debug for SmsCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SmsCode(******)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn six_digits_are_a_code() {
        assert_eq!(SmsCode::parse(" 012345 ").unwrap().as_str(), "012345");
    }

    #[test]
    fn other_shapes_are_refused() {
        for raw in ["12345", "1234567", "12a456", "１２３４５６"] {
            assert_eq!(SmsCode::parse(raw), Err(SmsCodeError::Invalid), "{raw}");
        }
        assert_eq!(SmsCode::parse(""), Err(SmsCodeError::Empty));
    }

    #[test]
    fn small_numbers_keep_their_leading_zeros() {
        assert_eq!(SmsCode::from_number(42).as_str(), "000042");
    }

    #[test]
    fn debug_output_hides_the_code() {
        assert!(!format!("{:?}", SmsCode::from_number(123456)).contains("123456"));
    }
}
