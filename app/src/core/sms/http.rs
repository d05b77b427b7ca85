//! `SMS_PROVIDER=http`: any other provider, or an in-house gateway, behind a
//! JSON POST to `SMS_HTTP_URL`, signed with `SMS_HTTP_SECRET`:
//!
//! `X-Signature-Timestamp: <unix seconds>` and
//! `X-Signature: sha256=<hex(HMAC-SHA256(secret, timestamp + "." + body))>`,
//! so that the gateway can refuse forged and replayed requests (docs/sms-http.md
//! has the contract and a verification snippet).
//!
//! The answer decides the class: 2xx sent (`{"message_id": ...}` kept when
//! given); 4xx with `{"error": "too_frequent" | "daily_limit" | "blocked"}`
//! refused for that reason; 408, 429, 5xx and network trouble temporary;
//! any other 4xx (401: a bad signature) our configuration.

use super::{SmsAccepted, SmsBody, SmsFailure, SmsMessage, SmsRefusal, SmsSender, body_excerpt, exchange, hmac_sha256};
use secrecy::{ExposeSecret, SecretString};

pub const SIGNATURE_HEADER: &str = "X-Signature";
pub const TIMESTAMP_HEADER: &str = "X-Signature-Timestamp";

#[derive(Clone, Debug)]
pub struct HttpGatewayConfig {
    pub url: String,
    pub secret: SecretString,
}

pub struct HttpGatewaySender {
    config: HttpGatewayConfig,
    client: reqwest::Client,
}

/// `sha256=` and the hex HMAC-SHA256 of `timestamp.body` under `secret`.
pub fn signature(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    let signed = [timestamp.as_bytes(), b".", body].concat();
    format!("sha256={}", hex::encode(hmac_sha256(secret, &signed)))
}

impl HttpGatewaySender {
    pub fn new(config: HttpGatewayConfig, client: reqwest::Client) -> HttpGatewaySender {
        HttpGatewaySender { config, client }
    }
}

#[derive(serde::Deserialize, Default)]
struct Answer {
    #[serde(default)]
    message_id: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[async_trait::async_trait]
impl SmsSender for HttpGatewaySender {
    fn name(&self) -> &'static str {
        "http"
    }

    async fn send(&self, message: &SmsMessage<'_>) -> Result<SmsAccepted, SmsFailure> {
        let mut body = serde_json::json!({
            "id": message.id,
            "to": message.to.as_str(),
            "kind": message.kind(),
            "text": message.text(),
        });
        match message.body {
            SmsBody::Code { code, minutes } => {
                body["code"] = code.into();
                body["minutes"] = minutes.into();
            }
            SmsBody::PasswordChanged { at, client_ip } => {
                body["at"] = at.into();
                body["client_ip"] = client_ip.into();
            }
            SmsBody::Deletion { date, .. } => body["date"] = date.into(),
        }
        let body = body.to_string();
        let timestamp = chrono::Utc::now().timestamp().to_string();
        let signed = signature(self.config.secret.expose_secret().as_bytes(), &timestamp, body.as_bytes());
        let request = self
            .client
            .post(&self.config.url)
            .header("Content-Type", "application/json")
            .header(TIMESTAMP_HEADER, &timestamp)
            .header(SIGNATURE_HEADER, signed)
            .body(body);
        let (status, bytes) = exchange(request).await?;
        let answer: Answer = serde_json::from_slice(&bytes).unwrap_or_default();
        let code = format!("http_{}", status.as_u16());
        let message = body_excerpt(&bytes);
        if status.is_success() {
            return Ok(SmsAccepted { message_id: answer.message_id });
        }
        if status.is_server_error() || status.as_u16() == 408 || status.as_u16() == 429 {
            return Err(SmsFailure::Temporary { code, message });
        }
        let refusal = match answer.error.as_deref() {
            Some("too_frequent") => Some(SmsRefusal::TooFrequent),
            Some("daily_limit") => Some(SmsRefusal::DailyLimit),
            Some("blocked") => Some(SmsRefusal::Blocked),
            _ => None,
        };
        match refusal {
            Some(refusal) => Err(SmsFailure::Refused { refusal, code, message }),
            None => Err(SmsFailure::Misconfigured { code, message }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vector docs/sms-http.md gives gateway authors (computed there
    /// with Python's hmac module).
    #[test]
    fn the_signature_reproduces_the_documented_vector() {
        let body = r#"{"code":"123456","id":"0f8e2c1b9a7d4e6f8a1b2c3d4e5f6a7b","kind":"code","minutes":5,"text":"您的验证码是123456，5分钟内有效。如非本人操作，请忽略本短信。","to":"13812345678"}"#;
        assert_eq!(
            signature(b"gateway-secret-0123456789abcdef0123", "1767225600", body.as_bytes()),
            "sha256=7433670a260b9cc64b3ec613c9f0d9ef8194aaeb7602e99e470a9045b0a56ace"
        );
    }
}
