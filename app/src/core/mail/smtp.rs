//! The `smtp` transport: lettre's async SMTP client on rustls, with pooled
//! connections. Its settings are checked when the server starts (a bad
//! `MAIL_FROM` or TLS setup stops it there, not at the first message).

use super::{Email, MailAccepted, MailFailure, MailSender};
use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, MultiPart},
    transport::smtp::{
        Error as SmtpError,
        authentication::Credentials,
        client::{Tls, TlsParameters},
    },
};
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;

/// How the connection to the relay is secured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS, which must succeed (587).
    StartTls,
    /// TLS from the first byte (465).
    Tls,
    /// No encryption: only for a relay on the same host or network.
    Plain,
}

impl SmtpSecurity {
    pub fn parse(raw: &str) -> Option<SmtpSecurity> {
        match raw {
            "starttls" => Some(SmtpSecurity::StartTls),
            "tls" => Some(SmtpSecurity::Tls),
            "plain" => Some(SmtpSecurity::Plain),
            _ => None,
        }
    }

    /// The port this security usually runs on.
    pub fn default_port(self) -> u16 {
        match self {
            SmtpSecurity::StartTls => 587,
            SmtpSecurity::Tls => 465,
            SmtpSecurity::Plain => 25,
        }
    }
}

#[derive(Clone, Debug)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub user: Option<String>,
    pub password: Option<SecretString>,
    /// `名字 <address>` or a bare address.
    pub from: String,
    /// For each step of the conversation with the relay.
    pub timeout: Duration,
}

/// Whether `from` is an address, or `名字 <address>`.
pub fn check_from(from: &str) -> Result<(), String> {
    from.parse::<Mailbox>().map(|_| ()).map_err(|e| format!("{from:?} is not an address or `Name <address>`: {e}"))
}

pub struct SmtpSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpSender {
    /// Checks the settings and builds the transport (it connects on the
    /// first message).
    pub fn new(config: &SmtpConfig) -> Result<SmtpSender, String> {
        let from: Mailbox = config.from.parse().map_err(|e| format!("MAIL_FROM {:?}: {e}", config.from))?;
        let tls = |host: &str| TlsParameters::new(host.to_owned()).map_err(|e| format!("TLS for {host}: {e}"));
        let tls = match config.security {
            SmtpSecurity::StartTls => Tls::Required(tls(&config.host)?),
            SmtpSecurity::Tls => Tls::Wrapper(tls(&config.host)?),
            SmtpSecurity::Plain => Tls::None,
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
            .port(config.port)
            .tls(tls)
            .timeout(Some(config.timeout));
        match (&config.user, &config.password) {
            (Some(user), Some(password)) => {
                builder = builder.credentials(Credentials::new(user.clone(), password.expose_secret().to_owned()));
            }
            (None, None) => {}
            _ => return Err("SMTP_USER and SMTP_PASSWORD go together".into()),
        }
        Ok(SmtpSender { transport: builder.build(), from })
    }

    fn message(&self, email: &Email<'_>) -> Result<Message, MailFailure> {
        let to: Mailbox = email
            .to
            .parse()
            .map_err(|e| MailFailure::Refused { code: "invalid_address".into(), message: format!("{e}") })?;
        let content = email.content;
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(content.subject.clone())
            .multipart(MultiPart::alternative_plain_html(content.text.clone(), content.html.clone()))
            .map_err(|e| MailFailure::Misconfigured { code: "message".into(), message: e.to_string() })
    }
}

#[async_trait::async_trait]
impl MailSender for SmtpSender {
    fn name(&self) -> &'static str {
        "smtp"
    }

    async fn send(&self, email: &Email<'_>) -> Result<MailAccepted, MailFailure> {
        let message = self.message(email)?;
        let response = self.transport.send(message).await.map_err(|e| classify(&e))?;
        let answer: Vec<&str> = response.message().collect();
        let answer = answer.join(" ");
        Ok(MailAccepted { message_id: (!answer.is_empty()).then(|| answer.chars().take(120).collect()) })
    }
}

/// Sorts the relay's answer by what the worker should do about it.
pub fn classify(e: &SmtpError) -> MailFailure {
    let message = e.to_string();
    let code = e.status().map(|c| c.to_string());
    match code.as_deref() {
        // Authentication refused or required: our settings.
        Some(c @ ("530" | "534" | "535" | "538")) => MailFailure::Misconfigured { code: c.into(), message },
        Some(c) if e.is_permanent() => MailFailure::Refused { code: c.into(), message },
        Some(c) => MailFailure::Temporary { code: c.into(), message },
        None if e.is_tls() => MailFailure::Misconfigured { code: "tls".into(), message },
        None if e.is_client() => MailFailure::Misconfigured { code: "client".into(), message },
        None if e.is_timeout() => MailFailure::Temporary { code: "timeout".into(), message },
        None => MailFailure::Temporary { code: "connect".into(), message },
    }
}
