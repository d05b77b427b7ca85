//! Tencent Cloud SMS (腾讯云短信): `SendSms`, API version 2021-01-11, signed
//! with Tencent's `TC3-HMAC-SHA256` ("Signature v3"): `POST /` with a JSON
//! body, the headers `X-TC-Action`, `X-TC-Version`, `X-TC-Timestamp`,
//! `X-TC-Region`, and `content-type;host` signed.
//!
//! The signature: a canonical request (method, `/`, an empty query,
//! `content-type` and `host` lines, their names, the body's SHA-256), then
//! `TC3-HMAC-SHA256\n<timestamp>\n<date>/sms/tc3_request\n<its SHA-256>`,
//! signed by the key chain `HMAC("TC3" + secret, date)` → `sms` →
//! `tc3_request`. The date is the timestamp's, in UTC.
//!
//! The answer is HTTP 200 either way: a request-level error in
//! `Response.Error`, else one result per number in `SendStatusSet`.
//! `SendSms` is not idempotent: see `aliyun` (the same holds here; our
//! delivery id goes in `SessionContext`).

use super::{
    Class, SmsAccepted, SmsBody, SmsFailure, SmsMessage, SmsRefusal, SmsSender, body_excerpt, exchange, hmac_sha256,
    is_busy, missing_template, sha256_hex, unreadable,
};
use secrecy::{ExposeSecret, SecretString};

pub const PRODUCTION_ENDPOINT: &str = "https://sms.tencentcloudapi.com";
pub const DEFAULT_REGION: &str = "ap-guangzhou";
pub const ACTION: &str = "SendSms";
pub const VERSION: &str = "2021-01-11";
pub const SERVICE: &str = "sms";
pub const ALGORITHM: &str = "TC3-HMAC-SHA256";
/// The body's type, as sent and as signed.
pub const CONTENT_TYPE: &str = "application/json; charset=utf-8";

/// What the code template's variables are, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeParams {
    /// `{1}`: the code.
    Code,
    /// `{1}`, `{2}`: the code, then its life in minutes.
    CodeMinutes,
}

impl CodeParams {
    /// `code` or `code,minutes` (`TENCENT_SMS_TEMPLATE_PARAMS`).
    pub fn parse(text: &str) -> Option<CodeParams> {
        match text.replace(' ', "").as_str() {
            "code" => Some(CodeParams::Code),
            "code,minutes" => Some(CodeParams::CodeMinutes),
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct TencentConfig {
    pub secret_id: String,
    pub secret_key: SecretString,
    /// `SmsSdkAppId`: the SMS application (`1400...`).
    pub sdk_app_id: String,
    /// The approved signature's content (签名内容).
    pub sign_name: String,
    pub template_id: String,
    pub template_params: CodeParams,
    /// The "password changed" notice's template (`{1}` time, `{2}` client
    /// address); without it no such notice goes by SMS.
    pub notice_template_id: Option<String>,
    /// The 注销 notices' template (`{1}`: "将于<date>" or "已于<date>");
    /// without it they go by e-mail only.
    pub deletion_template_id: Option<String>,
    pub region: String,
    /// `https://sms.tencentcloudapi.com`, or a test server.
    pub endpoint: url::Url,
}

pub struct TencentSender {
    config: TencentConfig,
    client: reqwest::Client,
}

/// The signed parts of one request.
pub struct SignedRequest<'a> {
    pub host: &'a str,
    pub content_type: &'a str,
    pub payload: &'a [u8],
    /// Unix seconds.
    pub timestamp: i64,
    pub service: &'a str,
}

/// The `Authorization` header for `request` under the key pair.
pub fn authorization(secret_id: &str, secret_key: &str, request: &SignedRequest<'_>) -> String {
    let date = chrono::DateTime::from_timestamp(request.timestamp, 0).unwrap_or_default().format("%Y-%m-%d");
    let canonical = format!(
        "POST\n/\n\ncontent-type:{}\nhost:{}\n\ncontent-type;host\n{}",
        request.content_type,
        request.host,
        sha256_hex(request.payload)
    );
    let scope = format!("{date}/{}/tc3_request", request.service);
    let string_to_sign = format!("{ALGORITHM}\n{}\n{scope}\n{}", request.timestamp, sha256_hex(canonical.as_bytes()));
    let date_key = hmac_sha256(format!("TC3{secret_key}").as_bytes(), date.to_string().as_bytes());
    let service_key = hmac_sha256(&date_key, request.service.as_bytes());
    let signing_key = hmac_sha256(&service_key, b"tc3_request");
    let signature = hex::encode(hmac_sha256(&signing_key, string_to_sign.as_bytes()));
    format!("{ALGORITHM} Credential={secret_id}/{scope}, SignedHeaders=content-type;host, Signature={signature}")
}

/// What a Tencent error code (`Response.Error.Code`, or a number's
/// `SendStatusSet[].Code`) means for the worker. `Ok(())` for `Ok`.
pub fn classify(code: &str, message: &str) -> Result<(), SmsFailure> {
    let class = match code {
        "Ok" => return Ok(()),
        "InvalidParameterValue.IncorrectPhoneNumber" => Class::Refused(SmsRefusal::InvalidNumber),
        "FailedOperation.PhoneNumberInBlacklist" | "FailedOperation.PhoneNumberOnBlacklist" => {
            Class::Refused(SmsRefusal::Blocked)
        }
        "LimitExceeded.PhoneNumberDailyLimit" | "LimitExceeded.PhoneNumberSameContentDailyLimit" => {
            Class::Refused(SmsRefusal::DailyLimit)
        }
        // The rest of the per-number limits: 30 s, an hour, the same content.
        c if c.starts_with("LimitExceeded.PhoneNumber") => Class::Refused(SmsRefusal::TooFrequent),
        // Tencent's own trouble, or its throttling of our calls.
        c if c.starts_with("InternalError") || c.starts_with("RequestLimitExceeded") => Class::Temporary,
        "ResourceUnavailable" | "ServiceUnavailable" => Class::Temporary,
        // The account's own: the key pair, signature, template, balance,
        // whitelist, the application's own limits.
        c if c.starts_with("AuthFailure")
            || c.starts_with("UnauthorizedOperation")
            || c.starts_with("FailedOperation")
            || c.starts_with("InvalidParameter")
            || c.starts_with("MissingParameter")
            || c.starts_with("UnsupportedOperation")
            || c.starts_with("LimitExceeded")
            || c.starts_with("UnknownParameter") =>
        {
            Class::Misconfigured
        }
        _ => Class::Unknown,
    };
    Err(class.failure(code, message))
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Answer {
    response: Response,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Response {
    #[serde(default)]
    error: Option<ApiError>,
    #[serde(default)]
    send_status_set: Vec<SendStatus>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ApiError {
    code: String,
    #[serde(default)]
    message: String,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SendStatus {
    code: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    serial_no: Option<String>,
}

impl TencentSender {
    pub fn new(config: TencentConfig, client: reqwest::Client) -> TencentSender {
        TencentSender { config, client }
    }

    /// The template and its values, in the template's order.
    fn template(&self, body: SmsBody<'_>) -> Result<(&str, Vec<String>), SmsFailure> {
        let c = &self.config;
        Ok(match body {
            SmsBody::Code { code, minutes } => match c.template_params {
                CodeParams::Code => (&c.template_id, vec![code.to_owned()]),
                CodeParams::CodeMinutes => (&c.template_id, vec![code.to_owned(), minutes.to_string()]),
            },
            SmsBody::PasswordChanged { at, client_ip } => (
                c.notice_template_id.as_deref().ok_or_else(|| missing_template("TENCENT_SMS_NOTICE_TEMPLATE_ID"))?,
                vec![at.to_owned(), client_ip.to_owned()],
            ),
            SmsBody::Deletion { date, done } => (
                c.deletion_template_id
                    .as_deref()
                    .ok_or_else(|| missing_template("TENCENT_SMS_DELETION_TEMPLATE_ID"))?,
                vec![super::deletion_when(date, done)],
            ),
        })
    }
}

#[async_trait::async_trait]
impl SmsSender for TencentSender {
    fn name(&self) -> &'static str {
        "tencent"
    }

    fn sends_notices(&self) -> bool {
        self.config.notice_template_id.is_some()
    }

    fn sends_deletion_notices(&self) -> bool {
        self.config.deletion_template_id.is_some()
    }

    async fn send(&self, message: &SmsMessage<'_>) -> Result<SmsAccepted, SmsFailure> {
        let c = &self.config;
        let (template, values) = self.template(message.body)?;
        let payload = serde_json::json!({
            "PhoneNumberSet": [format!("+86{}", message.to.as_str())],
            "SmsSdkAppId": c.sdk_app_id,
            "SignName": c.sign_name,
            "TemplateId": template,
            "TemplateParamSet": values,
            "SessionContext": message.id,
        })
        .to_string();
        let host = super::host_header(&c.endpoint);
        let timestamp = chrono::Utc::now().timestamp();
        let signed = SignedRequest {
            host: &host,
            content_type: CONTENT_TYPE,
            payload: payload.as_bytes(),
            timestamp,
            service: SERVICE,
        };
        let authorization = authorization(&c.secret_id, c.secret_key.expose_secret(), &signed);
        let mut url = c.endpoint.clone();
        url.set_path("/");
        let request = self
            .client
            .post(url)
            .header("Authorization", authorization)
            .header("Content-Type", CONTENT_TYPE)
            .header("X-TC-Action", ACTION)
            .header("X-TC-Version", VERSION)
            .header("X-TC-Timestamp", timestamp.to_string())
            .header("X-TC-Region", &c.region)
            .body(payload);
        let (status, bytes) = exchange(request).await?;
        if is_busy(status) {
            return Err(Class::Temporary.failure(&format!("http_{}", status.as_u16()), &body_excerpt(&bytes)));
        }
        let Ok(Answer { response }) = serde_json::from_slice::<Answer>(&bytes) else {
            return Err(unreadable(status, &bytes));
        };
        if let Some(error) = response.error {
            classify(&error.code, &error.message)?;
        }
        // One number sent, one result: its own code says what became of it.
        let Some(result) = response.send_status_set.into_iter().next() else {
            return Err(Class::Temporary.failure("bad_answer", &body_excerpt(&bytes)));
        };
        classify(&result.code, &result.message)?;
        Ok(SmsAccepted { message_id: result.serial_no })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tencent's worked example in "Signature v3" (CVM `DescribeInstances`,
    /// its documented key, timestamp and body).
    #[test]
    fn the_signature_reproduces_tencents_published_example() {
        let payload = r#"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#;
        assert_eq!(sha256_hex(payload.as_bytes()), "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064");
        let request = SignedRequest {
            host: "cvm.tencentcloudapi.com",
            content_type: CONTENT_TYPE,
            payload: payload.as_bytes(),
            timestamp: 1551113065,
            service: "cvm",
        };
        assert_eq!(
            authorization("AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******", "Gu5t9xGARNpq86cd98joQYCN3*******", &request),
            "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******/2019-02-25/cvm/tc3_request, \
             SignedHeaders=content-type;host, \
             Signature=2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c"
        );
    }

    #[test]
    fn codes_fall_into_the_documented_classes() {
        assert_eq!(classify("Ok", "send success"), Ok(()));
        let class = |c: &str| match classify(c, "m") {
            Err(SmsFailure::Refused { refusal, .. }) => format!("{refusal:?}"),
            Err(SmsFailure::Temporary { .. }) => "temporary".into(),
            Err(SmsFailure::Misconfigured { .. }) => "misconfigured".into(),
            Err(SmsFailure::Unknown { .. }) => "unknown".into(),
            Ok(()) => "ok".into(),
        };
        assert_eq!(class("InvalidParameterValue.IncorrectPhoneNumber"), "InvalidNumber");
        assert_eq!(class("FailedOperation.PhoneNumberInBlacklist"), "Blocked");
        assert_eq!(class("LimitExceeded.PhoneNumberDailyLimit"), "DailyLimit");
        for c in ["LimitExceeded.PhoneNumberThirtySecondLimit", "LimitExceeded.PhoneNumberOneHourLimit"] {
            assert_eq!(class(c), "TooFrequent", "{c}");
        }
        for c in [
            "FailedOperation.SignatureIncorrectOrUnapproved",
            "FailedOperation.TemplateIncorrectOrUnapproved",
            "FailedOperation.InsufficientBalanceInSmsPackage",
            "UnauthorizedOperation.RequestIpNotInWhitelist",
            "UnauthorizedOperation.SmsSdkAppIdVerifyFail",
            "AuthFailure.SignatureFailure",
            "AuthFailure.SecretIdNotFound",
            "LimitExceeded.DailyLimit",
        ] {
            assert_eq!(class(c), "misconfigured", "{c}");
        }
        for c in ["InternalError.Timeout", "InternalError", "RequestLimitExceeded"] {
            assert_eq!(class(c), "temporary", "{c}");
        }
        assert_eq!(class("SomethingNew.Entirely"), "unknown");
    }

    #[test]
    fn the_code_templates_values_are_named_in_order() {
        assert_eq!(CodeParams::parse("code"), Some(CodeParams::Code));
        assert_eq!(CodeParams::parse("code, minutes"), Some(CodeParams::CodeMinutes));
        assert_eq!(CodeParams::parse("minutes,code"), None);
    }
}
