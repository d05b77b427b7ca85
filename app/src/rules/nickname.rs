//! Nicknames: what the header shows; free text up to 20 characters.

use crate::i18n::Text;
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
    #[error("invisible or direction-changing characters")]
    InvisibleCharacters,
}

impl NicknameError {
    pub fn text(&self) -> Text {
        match self {
            NicknameError::TooLong => Text::rule_nickname_too_long(NICKNAME_MAX_CHARS),
            NicknameError::ControlCharacters => Text::rule_nickname_control(),
            NicknameError::InvisibleCharacters => Text::rule_nickname_invisible(),
        }
    }
}

impl Nickname {
    pub fn parse(raw: &str) -> Result<Nickname, NicknameError> {
        let raw = raw.trim();
        if raw.chars().any(char::is_control) {
            return Err(NicknameError::ControlCharacters);
        }
        if has_invisible(raw) {
            return Err(NicknameError::InvisibleCharacters);
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

/// Bidi controls (which reorder what is shown around a nickname, e.g. to
/// fake another name) and zero-width characters (which make two names look
/// alike). A zero-width joiner stays allowed inside an emoji sequence.
fn has_invisible(raw: &str) -> bool {
    let emoji = |c: char| c >= '\u{1F000}' || ('\u{2600}'..='\u{27BF}').contains(&c) || c == '\u{FE0F}';
    let mut previous = None;
    for c in raw.chars() {
        let invisible = match c {
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}' => true,
            '\u{200B}' | '\u{200C}' | '\u{2060}' | '\u{FEFF}' | '\u{180E}' => true,
            '\u{200D}' => !previous.is_some_and(emoji),
            _ => false,
        };
        if invisible {
            return true;
        }
        previous = Some(c);
    }
    false
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
    fn bidi_controls_and_zero_width_characters_are_refused() {
        for bad in ["admin\u{202E}nimda", "a\u{2066}b", "张\u{200B}三", "\u{FEFF}小明", "a\u{200D}b", "x\u{200F}"] {
            assert_eq!(Nickname::parse(bad), Err(NicknameError::InvisibleCharacters), "{bad:?}");
        }
        // An emoji sequence keeps its joiner.
        assert!(Nickname::parse("一家\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}").is_ok());
    }

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
