//! The development outbox: what the `outbox` SMS sender "sent" and every
//! captcha answer issued, kept in the database so that every server on it
//! shows one outbox. Exists only with `APP_ENV=development`.

use super::{
    db::{Database, DbError, on_pool},
    sms::{SmsAccepted, SmsFailure, SmsMessage, SmsSender},
};
use crate::wire::OutboxEntry;

/// Older entries are deleted, so the outbox cannot grow without bound.
const OUTBOX_CAPACITY: i64 = 1000;
/// How many entries a reader gets, newest first.
const OUTBOX_PAGE: i64 = 200;

#[derive(Clone)]
pub struct Outbox {
    db: Database,
}

#[derive(sqlx::FromRow)]
struct Row {
    kind: String,
    recipient: String,
    text: String,
    code: String,
    created_at: i64,
}

impl Outbox {
    pub fn new(db: Database) -> Outbox {
        Outbox { db }
    }

    pub async fn record(&self, kind: &str, to: &str, text: &str, code: &str) -> Result<(), DbError> {
        let insert = "INSERT INTO dev_outbox (kind, recipient, text, code, created_at) VALUES ($1, $2, $3, $4, $5)";
        let trim = "DELETE FROM dev_outbox WHERE id <= (SELECT MAX(id) FROM dev_outbox) - $1";
        let now = chrono::Utc::now().timestamp_millis();
        on_pool!(&self.db, |pool| {
            sqlx::query(insert).bind(kind).bind(to).bind(text).bind(code).bind(now).execute(pool).await?;
            sqlx::query(trim).bind(OUTBOX_CAPACITY).execute(pool).await.map(|_| ())
        })?;
        Ok(())
    }

    /// Newest first.
    pub async fn entries(&self) -> Result<Vec<OutboxEntry>, DbError> {
        let q = "SELECT kind, recipient, text, code, created_at FROM dev_outbox ORDER BY id DESC LIMIT $1";
        let rows = on_pool!(&self.db, |pool| sqlx::query_as::<_, Row>(q).bind(OUTBOX_PAGE).fetch_all(pool).await)?;
        Ok(rows
            .into_iter()
            .map(|r| OutboxEntry {
                kind: r.kind,
                to: r.recipient,
                text: r.text,
                code: r.code,
                created_at: chrono::DateTime::from_timestamp_millis(r.created_at)
                    .unwrap_or_default()
                    .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            })
            .collect())
    }
}

/// "Sends" by keeping the message in the outbox.
pub struct OutboxSender(pub Outbox);

#[async_trait::async_trait]
impl SmsSender for OutboxSender {
    fn name(&self) -> &'static str {
        "outbox"
    }

    async fn send(&self, message: &SmsMessage<'_>) -> Result<SmsAccepted, SmsFailure> {
        self.0
            .record("sms", message.to.as_str(), &message.text(), message.code().unwrap_or_default())
            .await
            .map_err(|e| SmsFailure::Temporary { code: "outbox".into(), message: e.to_string() })?;
        Ok(SmsAccepted::default())
    }
}
