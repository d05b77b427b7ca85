//! What an SMS code is for. A code sent for one purpose never works for another.

use crate::i18n::Text;
use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    Register,
    Login,
    ResetPassword,
    /// Binding or changing the account's e-mail: the phone is the account's
    /// root, so its owner says yes to a new address (the password alone
    /// could be someone who had it once).
    BindEmail,
    /// 注销: the account's owner confirms deleting it (an account made by
    /// SMS may never have typed a password).
    DeleteAccount,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown purpose")]
pub struct PurposeError;

impl PurposeError {
    pub fn text(&self) -> Text {
        Text::rule_purpose_unknown()
    }
}

impl Purpose {
    pub const ALL: [Purpose; 5] =
        [Purpose::Register, Purpose::Login, Purpose::ResetPassword, Purpose::BindEmail, Purpose::DeleteAccount];

    /// Whether the code goes to the signed-in account's own mobile, not to a
    /// number the form names.
    pub fn is_own_account(self) -> bool {
        matches!(self, Purpose::BindEmail | Purpose::DeleteAccount)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Register => "register",
            Purpose::Login => "login",
            Purpose::ResetPassword => "reset_password",
            Purpose::BindEmail => "bind_email",
            Purpose::DeleteAccount => "delete_account",
        }
    }
}

impl FromStr for Purpose {
    type Err = PurposeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "register" => Ok(Purpose::Register),
            "login" => Ok(Purpose::Login),
            "reset_password" => Ok(Purpose::ResetPassword),
            "bind_email" => Ok(Purpose::BindEmail),
            "delete_account" => Ok(Purpose::DeleteAccount),
            _ => Err(PurposeError),
        }
    }
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_purpose_parses_from_its_own_name() {
        for p in Purpose::ALL {
            assert_eq!(p.as_str().parse::<Purpose>(), Ok(p));
        }
    }

    #[test]
    fn unknown_purposes_are_refused() {
        assert_eq!("Register".parse::<Purpose>(), Err(PurposeError));
        assert_eq!("".parse::<Purpose>(), Err(PurposeError));
    }
}
