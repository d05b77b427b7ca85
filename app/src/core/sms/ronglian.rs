//! Ronglian Cloud (容联云) template SMS, from its public REST documentation:
//! `POST {base}/2013-12-26/Accounts/{sid}/SMS/TemplateSMS?sig={SIG}` with
//! `SIG = UPPER(hex(MD5(sid + token + ts)))` and the header
//! `Authorization: base64(sid + ":" + ts)`, `ts` in China time. The template
//! gets two values: the code and its life in minutes.

use super::{
    SmsAccepted, SmsBody, SmsFailure, SmsMessage, SmsRefusal, SmsSender, body_excerpt, exchange, is_busy,
    missing_template, unreadable,
};
use base64::Engine;
use md5::{Digest, Md5};
use secrecy::{ExposeSecret, SecretString};

pub const PRODUCTION_BASE_URL: &str = "https://app.cloopen.com:8883";

#[derive(Clone, Debug)]
pub struct RonglianConfig {
    pub account_sid: String,
    pub auth_token: SecretString,
    pub app_id: String,
    pub template_id: String,
    /// The "password changed" notice's template (the time, the client
    /// address); without it no notice goes by SMS.
    pub notice_template_id: Option<String>,
    /// The 注销 notices' template (one variable: "将于<date>" when asked,
    /// "已于<date>" when done); without it they go by e-mail only.
    pub deletion_template_id: Option<String>,
    /// `https://app.cloopen.com:8883`, the sandbox, or a test server.
    pub base_url: String,
}

pub struct RonglianSender {
    config: RonglianConfig,
    client: reqwest::Client,
}

/// The request signature and the Authorization header for one timestamp.
pub fn sign(account_sid: &str, auth_token: &str, ts: &str) -> (String, String) {
    let digest = Md5::digest(format!("{account_sid}{auth_token}{ts}").as_bytes());
    let sig = digest.iter().map(|b| format!("{b:02X}")).collect();
    let authorization = base64::engine::general_purpose::STANDARD.encode(format!("{account_sid}:{ts}"));
    (sig, authorization)
}

/// `yyyyMMddHHmmss` in China time (UTC+8, no daylight saving).
pub fn timestamp(now: chrono::DateTime<chrono::Utc>) -> String {
    (now + chrono::Duration::hours(8)).format("%Y%m%d%H%M%S").to_string()
}

/// What a Ronglian `statusCode` means for the worker.
pub fn classify(status_code: &str, status_msg: &str) -> Result<(), SmsFailure> {
    let (code, message) = (status_code.to_owned(), status_msg.to_owned());
    let refused = |refusal| Err(SmsFailure::Refused { refusal, code: code.clone(), message: message.clone() });
    match status_code {
        "000000" => Ok(()),
        "160038" => refused(SmsRefusal::TooFrequent),
        "160039" | "160040" | "160041" => refused(SmsRefusal::DailyLimit),
        "160034" => refused(SmsRefusal::Blocked),
        // The number is not a valid mobile number.
        "160042" => refused(SmsRefusal::InvalidNumber),
        // The provider's own trouble: busy, or an internal error.
        "160000" | "160050" => Err(SmsFailure::Temporary { code, message }),
        // Signature, account, application, template...: ours to fix.
        _ => Err(SmsFailure::Misconfigured { code, message }),
    }
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Answer {
    status_code: String,
    #[serde(default)]
    status_msg: String,
    #[serde(default, rename = "templateSMS")]
    template_sms: Option<TemplateSms>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct TemplateSms {
    sms_message_sid: Option<String>,
}

impl RonglianSender {
    pub fn new(config: RonglianConfig, client: reqwest::Client) -> RonglianSender {
        RonglianSender { config, client }
    }
}

#[async_trait::async_trait]
impl SmsSender for RonglianSender {
    fn name(&self) -> &'static str {
        "ronglian"
    }

    fn sends_notices(&self) -> bool {
        self.config.notice_template_id.is_some()
    }

    fn sends_deletion_notices(&self) -> bool {
        self.config.deletion_template_id.is_some()
    }

    async fn send(&self, message: &SmsMessage<'_>) -> Result<SmsAccepted, SmsFailure> {
        let c = &self.config;
        let ts = timestamp(chrono::Utc::now());
        let (sig, authorization) = sign(&c.account_sid, c.auth_token.expose_secret(), &ts);
        let url = format!(
            "{}/2013-12-26/Accounts/{}/SMS/TemplateSMS?sig={sig}",
            c.base_url.trim_end_matches('/'),
            c.account_sid
        );
        let (template, datas) = match message.body {
            SmsBody::Code { code, minutes } => (&c.template_id, vec![code.to_owned(), minutes.to_string()]),
            SmsBody::Deletion { date, done } => match &c.deletion_template_id {
                Some(template) => (template, vec![super::deletion_when(date, done)]),
                None => return Err(missing_template("RONGLIAN_DELETION_TEMPLATE_ID")),
            },
            SmsBody::PasswordChanged { at, client_ip } => match &c.notice_template_id {
                Some(template) => (template, vec![at.to_owned(), client_ip.to_owned()]),
                None => return Err(missing_template("RONGLIAN_NOTICE_TEMPLATE_ID")),
            },
        };
        let body = serde_json::json!({
            "to": message.to.as_str(),
            "appId": c.app_id,
            "templateId": template,
            "datas": datas,
        });
        let request = self
            .client
            .post(url)
            .header("Accept", "application/json")
            .header("Content-Type", "application/json;charset=utf-8")
            .header("Authorization", authorization)
            .body(body.to_string());
        let (status, bytes) = exchange(request).await?;
        if is_busy(status) {
            return Err(SmsFailure::Temporary {
                code: format!("http_{}", status.as_u16()),
                message: body_excerpt(&bytes),
            });
        }
        let answer: Answer = serde_json::from_slice(&bytes).map_err(|_| unreadable(status, &bytes))?;
        classify(&answer.status_code, &answer.status_msg)?;
        Ok(SmsAccepted { message_id: answer.template_sms.and_then(|t| t.sms_message_sid) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_reproduces_the_published_vector() {
        let (sig, authorization) =
            sign("ACCOUNTSID0000000000000000000001", "AUTHTOKEN00000000000000000000001", "20240101120000");
        assert_eq!(sig, "1643D3AA93010800001ACD4F4038AAD4");
        assert_eq!(authorization, "QUNDT1VOVFNJRDAwMDAwMDAwMDAwMDAwMDAwMDAwMDE6MjAyNDAxMDExMjAwMDA=");
    }

    #[test]
    fn the_timestamp_is_china_time() {
        let utc = chrono::DateTime::parse_from_rfc3339("2024-01-01T20:30:05Z").unwrap().with_timezone(&chrono::Utc);
        assert_eq!(timestamp(utc), "20240102043005");
    }

    #[test]
    fn status_codes_fall_into_the_documented_classes() {
        assert_eq!(classify("000000", ""), Ok(()));
        let refusal = |c| match classify(c, "x") {
            Err(SmsFailure::Refused { refusal, .. }) => Some(refusal),
            _ => None,
        };
        assert_eq!(refusal("160038"), Some(SmsRefusal::TooFrequent));
        for c in ["160039", "160040", "160041"] {
            assert_eq!(refusal(c), Some(SmsRefusal::DailyLimit));
        }
        assert_eq!(refusal("160034"), Some(SmsRefusal::Blocked));
        assert_eq!(refusal("160042"), Some(SmsRefusal::InvalidNumber));
        for c in ["160000", "160050"] {
            assert!(matches!(classify(c, ""), Err(SmsFailure::Temporary { .. })), "{c}");
        }
        for c in ["111109", "112310", "160032"] {
            assert!(matches!(classify(c, ""), Err(SmsFailure::Misconfigured { .. })), "{c}");
        }
    }
}
