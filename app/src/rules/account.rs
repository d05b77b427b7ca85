//! What a person types to sign in: a username, a mobile number (in any
//! accepted spelling) or an e-mail address.

use super::{Mobile, Username};
use crate::i18n::Text;
use std::fmt;

/// An e-mail address, lower-cased: a bare address (`local@domain`), nothing
/// around it. The address is proven by the mail that verifies it, not by a
/// pattern; but only a bare one is taken, since what is typed here becomes
/// the `To` of our own mail (`名字 <a@b.com>` would put the typist's words in
/// it) and the name of its limits (one address must have one name).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid e-mail")]
pub struct EmailError;

impl EmailError {
    pub fn text(&self) -> Text {
        Text::rule_email_invalid()
    }
}

impl Email {
    pub fn parse(raw: &str) -> Result<Email, EmailError> {
        let raw = raw.trim();
        let (local, domain) = raw.rsplit_once('@').ok_or(EmailError)?;
        // The local part: RFC 5322's dot-atom (no quoted strings, no
        // comments), at most 64 characters.
        let atom = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c);
        let dot_atom =
            |part: &str| !part.is_empty() && part.split('.').all(|piece| !piece.is_empty() && piece.chars().all(atom));
        // The domain: two or more labels of letters, digits and inner
        // hyphens (an internationalised name in its xn-- form).
        let label = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        };
        let valid = raw.len() <= 254
            && local.len() <= 64
            && dot_atom(local)
            && domain.split('.').count() >= 2
            && domain.split('.').all(label);
        if valid { Ok(Email(raw.to_ascii_lowercase())) } else { Err(EmailError) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Account {
    Username(Username),
    Mobile(Mobile),
    Email(Email),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    #[error("empty")]
    Empty,
    #[error("unrecognised")]
    Unrecognised,
}

impl AccountError {
    pub fn text(&self) -> Text {
        match self {
            AccountError::Empty => Text::rule_account_empty(),
            AccountError::Unrecognised => Text::rule_account_unrecognised(),
        }
    }
}

impl Account {
    /// An `@` means an e-mail; a valid mobile spelling means a mobile; else a
    /// username (which must start with a letter, so it never looks like a number).
    pub fn parse(raw: &str) -> Result<Account, AccountError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(AccountError::Empty);
        }
        if raw.contains('@') {
            return Email::parse(raw).map(Account::Email).map_err(|_| AccountError::Unrecognised);
        }
        if let Ok(mobile) = Mobile::parse(raw) {
            return Ok(Account::Mobile(mobile));
        }
        Username::parse(raw).map(Account::Username).map_err(|_| AccountError::Unrecognised)
    }

    /// A stable name for counters: the same account spelled two ways (with
    /// or without `+86`, in another case) counts once.
    pub fn key(&self) -> String {
        match self {
            Account::Username(u) => format!("u:{}", u.as_str().to_lowercase()),
            Account::Mobile(m) => format!("m:{m}"),
            Account::Email(e) => format!("e:{e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::say;

    #[test]
    fn each_kind_of_account_is_recognised() {
        assert!(matches!(Account::parse("alice_01"), Ok(Account::Username(_))));
        assert!(matches!(Account::parse("+86 138-1234-5678"), Ok(Account::Mobile(m)) if m.as_str() == "13812345678"));
        assert!(
            matches!(Account::parse(" Alice@Example.COM "), Ok(Account::Email(e)) if e.as_str() == "alice@example.com")
        );
    }

    #[test]
    fn anything_else_is_refused_with_a_message() {
        assert_eq!(Account::parse(""), Err(AccountError::Empty));
        for raw in ["12345", "a@b", "al", "@example.com", "a b@example.com"] {
            assert_eq!(Account::parse(raw), Err(AccountError::Unrecognised), "{raw}");
        }
        assert_eq!(say(AccountError::Empty.text()), "请输入用户名、手机号或邮箱");
    }

    #[test]
    fn one_account_spelled_two_ways_has_one_key() {
        assert_eq!(Account::parse("Alice_01").unwrap().key(), Account::parse("alice_01").unwrap().key());
        assert_eq!(Account::parse("13812345678").unwrap().key(), Account::parse("+8613812345678").unwrap().key());
    }

    /// A bare address only: nothing that could put other words in the `To`
    /// of our mail, or give one address a second name for its limits.
    #[test]
    fn only_a_bare_address_is_an_email() {
        for good in ["a@b.cn", "first.last+tag@mail.example.com", "12345@qq.com", "o'neil@xn--fiqs8s.cn"] {
            assert!(Email::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "Heron <heron@example.com>",
            "heron@example.com>",
            "<heron@example.com",
            "\"heron\"@example.com",
            "heron@example.com (comment)",
            "heron@[127.0.0.1]",
            "heron@localhost",
            "he..ron@example.com",
            ".heron@example.com",
            "heron.@example.com",
            "heron@-example.com",
            "heron@example..com",
            "heron@example.com.",
            "héron@example.com",
            "heron@例子.中国",
            "a,b@example.com",
            "a@b@example.com",
        ] {
            assert_eq!(Email::parse(bad), Err(EmailError), "{bad}");
        }
        assert_eq!(Email::parse(&format!("{}@example.com", "a".repeat(65))), Err(EmailError));
    }
}
