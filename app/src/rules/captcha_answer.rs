//! What a person types for the image captcha.

/// Characters drawn on captchas: no look-alikes (0/O, 1/l/I), upper case only
/// because answers are compared case-insensitively.
pub const CAPTCHA_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
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
    pub fn message(&self) -> &'static str {
        match self {
            CaptchaAnswerError::Empty => "请输入图片验证码",
            CaptchaAnswerError::Invalid => "图片验证码为4个字母或数字",
        }
    }
}

impl CaptchaAnswer {
    /// Accepts any case; stores the upper-case form.
    pub fn parse(raw: &str) -> Result<CaptchaAnswer, CaptchaAnswerError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(CaptchaAnswerError::Empty);
        }
        if raw.chars().count() == CAPTCHA_LEN && raw.chars().all(|c| c.is_ascii_alphanumeric()) {
            Ok(CaptchaAnswer(raw.to_ascii_uppercase()))
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
        assert_eq!(CaptchaAnswer::parse("ab3d").unwrap().as_str(), "AB3D");
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
        for c in b"0O1lI" {
            assert!(!CAPTCHA_ALPHABET.contains(c));
        }
    }
}
