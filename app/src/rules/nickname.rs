//! Nicknames: what the header shows; free text up to 20 characters.

use std::fmt;

pub const NICKNAME_MAX_CHARS: usize = 20;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nickname(String);

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NicknameError {
    #[error("too long")]
    TooLong,
    #[error("control characters")]
    ControlCharacters,
}

impl NicknameError {
    pub fn message(&self) -> &'static str {
        match self {
            NicknameError::TooLong => "昵称不能超过20个字符",
            NicknameError::ControlCharacters => "昵称不能包含控制字符",
        }
    }
}

impl Nickname {
    pub fn parse(raw: &str) -> Result<Nickname, NicknameError> {
        let raw = raw.trim();
        if raw.chars().any(char::is_control) {
            return Err(NicknameError::ControlCharacters);
        }
        if raw.chars().count() > NICKNAME_MAX_CHARS {
            return Err(NicknameError::TooLong);
        }
        Ok(Nickname(raw.to_owned()))
    }

    /// An optional form field: blank means "none given".
    pub fn parse_optional(raw: &str) -> Result<Option<Nickname>, NicknameError> {
        if raw.trim().is_empty() { Ok(None) } else { Nickname::parse(raw).map(Some) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Nickname {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_nicknames_count_characters_not_bytes() {
        assert!(Nickname::parse(&"张".repeat(20)).is_ok());
        assert_eq!(Nickname::parse(&"张".repeat(21)), Err(NicknameError::TooLong));
    }

    #[test]
    fn control_characters_are_refused() {
        assert_eq!(Nickname::parse("a\u{0}b"), Err(NicknameError::ControlCharacters));
    }

    #[test]
    fn blank_means_none() {
        assert_eq!(Nickname::parse_optional(" "), Ok(None));
    }
}
