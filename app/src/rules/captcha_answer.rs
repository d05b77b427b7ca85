//! What a person types for the image captcha.

use crate::i18n::Text;

/// Characters drawn on captchas: upper case only, because answers are
/// compared case-insensitively, and one of each look-alike pair: no 0/O,
/// 1/I/L; 2, 5 and 8 but not Z, S and B (which a person typing what they see
/// may type all the same: see `LOOK_ALIKES`).
pub const CAPTCHA_ALPHABET: &[u8] = b"ACDEFGHJKMNPQRTUVWXY23456789";

/// Letters a distorted digit may look like, read as that digit: a person who
/// types S for a 5 is right.
const LOOK_ALIKES: [(char, char); 3] = [('Z', '2'), ('S', '5'), ('B', '8')];
pub const CAPTCHA_LEN: usize = 4;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaptchaAnswer(String);

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CaptchaAnswerError {
    #[error("empty")]
    Empty,
    #[error("invalid")]
    Invalid,
}

impl CaptchaAnswerError {
    pub fn text(&self) -> Text {
        match self {
            CaptchaAnswerError::Empty => Text::rule_captcha_empty(),
            CaptchaAnswerError::Invalid => Text::rule_captcha_invalid(),
        }
    }
}

impl CaptchaAnswer {
    /// Accepts any case and look-alike letters; stores the upper-case form
    /// in the alphabet's own characters.
    pub fn parse(raw: &str) -> Result<CaptchaAnswer, CaptchaAnswerError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(CaptchaAnswerError::Empty);
        }
        if raw.chars().count() == CAPTCHA_LEN && raw.chars().all(|c| c.is_ascii_alphanumeric()) {
            let read_as_drawn = |c: char| {
                let c = c.to_ascii_uppercase();
                LOOK_ALIKES.iter().find(|(letter, _)| *letter == c).map_or(c, |(_, digit)| *digit)
            };
            Ok(CaptchaAnswer(raw.chars().map(read_as_drawn).collect()))
        } else {
            Err(CaptchaAnswerError::Invalid)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_upper_cased() {
        assert_eq!(CaptchaAnswer::parse("ac3d").unwrap().as_str(), "AC3D");
    }

    #[test]
    fn wrong_lengths_and_symbols_are_refused() {
        for raw in ["abc", "abcde", "ab-d"] {
            assert_eq!(CaptchaAnswer::parse(raw), Err(CaptchaAnswerError::Invalid));
        }
        assert_eq!(CaptchaAnswer::parse(" "), Err(CaptchaAnswerError::Empty));
    }

    #[test]
    fn the_alphabet_has_no_look_alikes() {
        for c in b"0O1lILZSB" {
            assert!(!CAPTCHA_ALPHABET.contains(c), "{}", *c as char);
        }
    }

    #[test]
    fn look_alike_letters_are_read_as_the_digits_drawn() {
        assert_eq!(CaptchaAnswer::parse("zsb7").unwrap().as_str(), "2587");
        assert_eq!(CaptchaAnswer::parse("Z5b7").unwrap().as_str(), "2587");
    }
}
