//! Mainland China mobile numbers: `^1[3-9]\d{9}$`, accepting spaces, dashes and a
//! leading `+86` / `0086`.

use crate::i18n::Text;
use std::fmt;

/// The canonical form as a regular expression, for the API's document (what
/// `parse` accepts beyond it, it removes first).
pub const MOBILE_PATTERN: &str = r"^1[3-9][0-9]{9}$";

/// A mainland mobile number in its canonical 11-digit form.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Mobile(String);

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MobileError {
    #[error("empty")]
    Empty,
    #[error("invalid")]
    Invalid,
}

impl MobileError {
    pub fn text(&self) -> Text {
        match self {
            MobileError::Empty => Text::rule_mobile_empty(),
            MobileError::Invalid => Text::rule_mobile_invalid(),
        }
    }
}

impl Mobile {
    pub fn parse(raw: &str) -> Result<Mobile, MobileError> {
        let compact: String = raw.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
        if compact.is_empty() {
            return Err(MobileError::Empty);
        }
        let national = compact.strip_prefix("+86").or_else(|| compact.strip_prefix("0086")).unwrap_or(&compact);
        let bytes = national.as_bytes();
        let valid = bytes.len() == 11
            && bytes[0] == b'1'
            && (b'3'..=b'9').contains(&bytes[1])
            && bytes.iter().all(u8::is_ascii_digit);
        if valid { Ok(Mobile(national.to_owned())) } else { Err(MobileError::Invalid) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `138****1234`: for pages that show a number back to its owner.
    pub fn masked(&self) -> String {
        format!("{}****{}", &self.0[..3], &self.0[7..])
    }
}

impl fmt::Display for Mobile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::say;

    #[test]
    fn the_pattern_says_what_parse_keeps() {
        let pattern = regex::Regex::new(MOBILE_PATTERN).unwrap();
        for raw in
            ["13800138000", "19912345678", "12800138000", "1380013800", "138001380000", "23800138000", "1380013800a"]
        {
            assert_eq!(pattern.is_match(raw), Mobile::parse(raw).is_ok_and(|m| m.as_str() == raw), "{raw}");
        }
    }

    #[test]
    fn a_plain_eleven_digit_number_is_accepted() {
        assert_eq!(Mobile::parse("13812345678").unwrap().as_str(), "13812345678");
    }

    #[test]
    fn spaces_dashes_and_country_prefixes_are_normalised() {
        for raw in ["138 1234 5678", "138-1234-5678", "+86 138 1234 5678", "008613812345678", " +86-13812345678 "] {
            assert_eq!(Mobile::parse(raw).unwrap().as_str(), "13812345678", "{raw}");
        }
    }

    #[test]
    fn every_second_digit_from_3_to_9_is_accepted() {
        for d in 3..=9 {
            assert!(Mobile::parse(&format!("1{d}012345678")).is_ok());
        }
    }

    #[test]
    fn wrong_shapes_are_refused_with_the_format_message() {
        for raw in [
            "12812345678",
            "1381234567",
            "138123456789",
            "23812345678",
            "1381234567a",
            "+8513812345678",
            "86 13812345678",
            "１３８１２３４５６７８",
        ] {
            assert_eq!(Mobile::parse(raw), Err(MobileError::Invalid), "{raw}");
        }
        assert_eq!(say(MobileError::Invalid.text()), "手机号格式不正确");
    }

    #[test]
    fn an_empty_input_asks_for_a_number() {
        assert_eq!(Mobile::parse("  "), Err(MobileError::Empty));
        assert_eq!(say(MobileError::Empty.text()), "请输入手机号");
    }

    #[test]
    fn the_mask_hides_the_middle_four_digits() {
        assert_eq!(Mobile::parse("13812345678").unwrap().masked(), "138****5678");
    }

    #[test]
    fn any_valid_number_survives_a_round_trip_through_its_display() {
        // A small exhaustive property: every prefix 13..19 with varied tails.
        for second in 3..=9u64 {
            for tail in [0u64, 1, 123456789, 999999999, 500000000] {
                let s = format!("1{second}{tail:09}");
                let m = Mobile::parse(&s).unwrap();
                assert_eq!(Mobile::parse(&m.to_string()).unwrap(), m);
            }
        }
    }
}
