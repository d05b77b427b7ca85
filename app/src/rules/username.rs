//! Usernames: 5-20 letters, digits, `_` or `-`, starting with a letter.
//! Unique case-insensitively (the database enforces that).

use crate::i18n::Text;
use std::fmt;

pub const USERNAME_MIN_CHARS: usize = 5;
pub const USERNAME_MAX_CHARS: usize = 20;
/// The rule as a regular expression, for the API's document (its counts are
/// the two above: a test holds them together).
pub const USERNAME_PATTERN: &str = "^[A-Za-z][A-Za-z0-9_-]{4,19}$";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Username(String);

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UsernameError {
    #[error("length")]
    Length,
    #[error("must start with a letter")]
    MustStartWithLetter,
    #[error("bad characters")]
    BadCharacters,
}

impl UsernameError {
    pub fn text(&self) -> Text {
        match self {
            UsernameError::Length => Text::rule_username_length(USERNAME_MIN_CHARS, USERNAME_MAX_CHARS),
            UsernameError::MustStartWithLetter => Text::rule_username_start(),
            UsernameError::BadCharacters => Text::rule_username_characters(),
        }
    }
}

impl Username {
    pub fn parse(raw: &str) -> Result<Username, UsernameError> {
        let raw = raw.trim();
        if !raw.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            return Err(UsernameError::BadCharacters);
        }
        if !(USERNAME_MIN_CHARS..=USERNAME_MAX_CHARS).contains(&raw.len()) {
            return Err(UsernameError::Length);
        }
        if !raw.starts_with(|c: char| c.is_ascii_alphabetic()) {
            return Err(UsernameError::MustStartWithLetter);
        }
        Ok(Username(raw.to_owned()))
    }

    /// An optional form field: blank means "none given".
    pub fn parse_optional(raw: &str) -> Result<Option<Username>, UsernameError> {
        if raw.trim().is_empty() { Ok(None) } else { Username::parse(raw).map(Some) }
    }

    /// `user` and six letters or digits picked by `random` (one byte each):
    /// always a valid username, readable, and unrelated to the mobile.
    pub fn generated(random: [u8; 6]) -> Username {
        const CHARS: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
        let tail: String = random.iter().map(|b| CHARS[*b as usize % CHARS.len()] as char).collect();
        Username(format!("user{tail}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pattern_says_what_parse_accepts() {
        let pattern = regex::Regex::new(USERNAME_PATTERN).unwrap();
        let mut samples = vec!["abcde".to_owned(), "abcd".into(), "a_b-c9".into(), "9abcde".into(), "_abcde".into()];
        samples.extend(["a".repeat(USERNAME_MAX_CHARS), "a".repeat(USERNAME_MAX_CHARS + 1), "abcd\u{e9}".into()]);
        samples.extend(["a".repeat(USERNAME_MIN_CHARS), "a".repeat(USERNAME_MIN_CHARS - 1), "abc de".into()]);
        for raw in samples {
            assert_eq!(pattern.is_match(&raw), Username::parse(&raw).is_ok(), "{raw}");
        }
    }

    #[test]
    fn letters_digits_underscore_and_dash_are_accepted() {
        assert_eq!(Username::parse("Alice_01-x").unwrap().as_str(), "Alice_01-x");
    }

    #[test]
    fn the_length_is_five_to_twenty() {
        assert_eq!(Username::parse("abcd"), Err(UsernameError::Length));
        assert!(Username::parse("abcde").is_ok());
        assert!(Username::parse(&"a".repeat(20)).is_ok());
        assert_eq!(Username::parse(&"a".repeat(21)), Err(UsernameError::Length));
    }

    #[test]
    fn it_must_start_with_a_letter_so_it_never_looks_like_a_mobile() {
        assert_eq!(Username::parse("13812345678"), Err(UsernameError::MustStartWithLetter));
        assert_eq!(Username::parse("_alice"), Err(UsernameError::MustStartWithLetter));
    }

    #[test]
    fn other_characters_are_refused() {
        for raw in ["ali ce", "alice!", "张三丰abc", "alice@x"] {
            assert_eq!(Username::parse(raw), Err(UsernameError::BadCharacters), "{raw}");
        }
    }

    #[test]
    fn generated_names_follow_the_rule() {
        for seed in [[0u8; 6], [255; 6], [1, 2, 3, 4, 5, 6]] {
            let name = Username::generated(seed);
            assert_eq!(Username::parse(name.as_str()), Ok(name));
        }
    }

    #[test]
    fn blank_means_none() {
        assert_eq!(Username::parse_optional("  "), Ok(None));
        assert!(Username::parse_optional("alice").unwrap().is_some());
    }
}
