//! How SMS leave: a sender chosen by `SMS_PROVIDER`. `outbox` keeps every
//! message (and every captcha answer issued) for development, shown at
//! `/dev/outbox`; `log` writes them to the server log. A real provider and a
//! job queue come later behind the same trait.

use crate::{rules::Mobile, wire::OutboxEntry};
use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
};

#[derive(Debug, thiserror::Error)]
#[error("the SMS could not be sent: {0}")]
pub struct SmsSendError(pub String);

#[async_trait::async_trait]
pub trait SmsSender: Send + Sync {
    /// Sends `text` to `to`. `code` is the secret inside `text`, passed apart so
    /// that senders which log can leave it out.
    async fn send(&self, to: &Mobile, text: &str, code: &str) -> Result<(), SmsSendError>;
}

/// The development outbox: the newest messages, in memory.
#[derive(Clone, Default)]
pub struct Outbox {
    entries: Arc<Mutex<VecDeque<OutboxEntry>>>,
}

/// Older entries fall off, so the outbox cannot grow without bound.
const OUTBOX_CAPACITY: usize = 1000;

impl Outbox {
    pub fn new() -> Outbox {
        Outbox::default()
    }

    pub fn record(&self, kind: &str, to: &str, text: &str, code: &str) {
        let entry = OutboxEntry {
            kind: kind.into(),
            to: to.into(),
            text: text.into(),
            code: code.into(),
            created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        };
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.push_front(entry);
        entries.truncate(OUTBOX_CAPACITY);
    }

    /// Newest first.
    pub fn entries(&self) -> Vec<OutboxEntry> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).iter().cloned().collect()
    }
}

pub struct OutboxSender(pub Outbox);

#[async_trait::async_trait]
impl SmsSender for OutboxSender {
    async fn send(&self, to: &Mobile, text: &str, code: &str) -> Result<(), SmsSendError> {
        self.0.record("sms", to.as_str(), text, code);
        Ok(())
    }
}

/// Writes each message to the log, the code masked.
pub struct LogSender;

#[async_trait::async_trait]
impl SmsSender for LogSender {
    async fn send(&self, to: &Mobile, text: &str, code: &str) -> Result<(), SmsSendError> {
        tracing::info!(to = %to.masked(), text = %text.replace(code, "******"), "sms sent (log sender)");
        Ok(())
    }
}

/// The text of a verification SMS.
pub fn verification_text(code: &str, minutes: u64) -> String {
    format!("您的验证码是{code}，{minutes}分钟内有效。如非本人操作，请忽略本短信。")
}
