//! The shapes that cross the wire between browser and server: forms as
//! submitted, and what the use cases answer. Plain serde types for both targets.

use serde::{Deserialize, Serialize};

/// `POST /sms_codes` and the send button: raw, unparsed input.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct SendSmsCodeForm {
    pub mobile: String,
    pub purpose: String,
    pub image_code_id: String,
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsSent {
    /// Seconds until another code may be sent to this number.
    pub resend_after: u64,
}

/// `POST /users` and the register form: raw, unparsed input.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RegisterForm {
    pub mobile: String,
    pub password: String,
    pub password2: String,
    pub sms_code: String,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub nickname: Option<String>,
    /// The user agreement box: a checked box arrives as "on" from a form.
    #[serde(default)]
    pub allow: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registered {
    pub id: i64,
    pub username: String,
    pub nickname: String,
    pub token: String,
}

/// The signed-in user, as the header and pages show them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    pub id: i64,
    pub username: String,
    pub nickname: String,
}

impl UserView {
    /// The nickname, else the username.
    pub fn display_name(&self) -> &str {
        if self.nickname.is_empty() { &self.username } else { &self.nickname }
    }
}

/// What every page needs from the server once: who is signed in, and the
/// settings the browser-side rules must follow.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub user: Option<UserView>,
    pub password_policy: crate::rules::PasswordPolicy,
    pub dev_outbox: bool,
}

/// One message kept by the development outbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// `sms` or `captcha`.
    pub kind: String,
    pub to: String,
    pub text: String,
    pub code: String,
    pub created_at: String,
}
