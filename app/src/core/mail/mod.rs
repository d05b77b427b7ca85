//! How e-mail leaves: a transport chosen by `EMAIL_TRANSPORT`, called by the
//! delivery worker (and by `server mail test`), never by a visitor's request.
//! `smtp` sends through an SMTP relay (lettre, on rustls); `outbox` keeps
//! every message for development (`/dev/outbox`); `log` writes a line
//! without the body. What each message says lives in `templates`.

pub mod smtp;
pub mod templates;

pub use smtp::{SmtpConfig, SmtpSecurity, SmtpSender};
pub use templates::{Mail, Rendered};

use crate::core::outbox::Outbox;

/// One e-mail, rendered, to one address.
#[derive(Clone, Debug)]
pub struct Email<'a> {
    pub to: &'a str,
    pub content: &'a Rendered,
}

/// The relay took the message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MailAccepted {
    /// The relay's answer (often its queue id), when it gives one.
    pub message_id: Option<String>,
}

/// What went wrong, by what the worker should do about it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MailFailure {
    /// Worth trying again later: the relay is down, busy (4xx), or slow.
    #[error("temporary failure {code}: {message}")]
    Temporary { code: String, message: String },
    /// The relay refuses this message for good (5xx: no such mailbox...).
    #[error("refused {code}: {message}")]
    Refused { code: String, message: String },
    /// Our settings are wrong (authentication, TLS, sender address): no
    /// message will get through until an operator fixes them.
    #[error("configuration problem {code}: {message}")]
    Misconfigured { code: String, message: String },
}

impl MailFailure {
    /// The relay's reply code (or `connect`, `timeout`...), for records.
    pub fn code(&self) -> &str {
        match self {
            MailFailure::Temporary { code, .. }
            | MailFailure::Refused { code, .. }
            | MailFailure::Misconfigured { code, .. } => code,
        }
    }
}

#[async_trait::async_trait]
pub trait MailSender: Send + Sync {
    /// The transport's name, for records and logs (`smtp`, `log`...).
    fn name(&self) -> &'static str;
    async fn send(&self, email: &Email<'_>) -> Result<MailAccepted, MailFailure>;
}

/// Writes one line per message: to whom (masked) and the subject. Never the
/// body, which may hold a link that signs someone in.
pub struct LogMailSender;

#[async_trait::async_trait]
impl MailSender for LogMailSender {
    fn name(&self) -> &'static str {
        "log"
    }

    async fn send(&self, email: &Email<'_>) -> Result<MailAccepted, MailFailure> {
        tracing::info!(to = %mask_address(email.to), subject = %email.content.subject, "e-mail sent (log transport)");
        Ok(MailAccepted::default())
    }
}

/// "Sends" by keeping the message in the development outbox: the subject
/// and plain text, and the code or link a tester needs.
pub struct OutboxMailSender(pub Outbox);

#[async_trait::async_trait]
impl MailSender for OutboxMailSender {
    fn name(&self) -> &'static str {
        "outbox"
    }

    async fn send(&self, email: &Email<'_>) -> Result<MailAccepted, MailFailure> {
        let content = email.content;
        let text = format!("{}\n\n{}", content.subject, content.text);
        self.0
            .record("email", email.to, &text, content.key.as_deref().unwrap_or_default())
            .await
            .map_err(|e| MailFailure::Temporary { code: "outbox".into(), message: e.to_string() })?;
        Ok(MailAccepted::default())
    }
}

/// `zhang.san@example.com` → `z***@example.com`: enough for an operator to
/// tell messages apart, not a mailing list.
pub fn mask_address(address: &str) -> String {
    match address.rsplit_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_masked_to_its_first_letter_and_domain() {
        assert_eq!(mask_address("zhang.san@example.com"), "z***@example.com");
        assert_eq!(mask_address("李@例子.中国"), "李***@例子.中国");
        assert_eq!(mask_address("nonsense"), "***");
    }
}
