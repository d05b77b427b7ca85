//! Aliyun SMS (阿里云短信): dysmsapi `SendSms`, API version 2017-05-25,
//! signed with Aliyun's V3 signature (`ACS3-HMAC-SHA256`), sent as the
//! official SDK sends it: `POST /?<parameters>` with an empty body.
//!
//! The signature, from Aliyun's "V3 request structure and signature":
//! a canonical request (method, `/`, the sorted RFC 3986 query, the signed
//! headers as `name:value` lines, their names, the body's SHA-256), its
//! SHA-256 after `ACS3-HMAC-SHA256\n`, an HMAC-SHA256 of that under the
//! AccessKey secret, hex.
//!
//! `SendSms` is not idempotent: an answer lost to a timeout after Aliyun
//! took the message is retried, and the person may get two messages (the
//! same code, so either works). `OutId` carries our delivery id, so the
//! two can be matched in Aliyun's records.

use super::{
    Class, SmsAccepted, SmsBody, SmsFailure, SmsMessage, SmsRefusal, SmsSender, body_excerpt, exchange, hmac_sha256,
    is_busy, missing_template, rfc3986, sha256_hex, unreadable,
};
use secrecy::{ExposeSecret, SecretString};

pub const PRODUCTION_ENDPOINT: &str = "https://dysmsapi.aliyuncs.com";
pub const ACTION: &str = "SendSms";
pub const VERSION: &str = "2017-05-25";
pub const ALGORITHM: &str = "ACS3-HMAC-SHA256";

#[derive(Clone, Debug)]
pub struct AliyunConfig {
    pub access_key_id: String,
    pub access_key_secret: SecretString,
    /// The approved signature (签名), e.g. `某某商城`.
    pub sign_name: String,
    /// The code's template; its variable is `${code}`.
    pub template_code: String,
    /// The "password changed" notice's template (`${time}`, `${ip}`);
    /// without it no such notice goes by SMS.
    pub notice_template_code: Option<String>,
    /// The 注销 notices' template (`${when}`: "将于<date>" or "已于<date>");
    /// without it they go by e-mail only.
    pub deletion_template_code: Option<String>,
    /// `https://dysmsapi.aliyuncs.com`, or a test server.
    pub endpoint: url::Url,
}

pub struct AliyunSender {
    config: AliyunConfig,
    client: reqwest::Client,
}

/// One request's signed parts: what the Authorization header covers.
pub struct SignedRequest<'a> {
    pub method: &'a str,
    /// The query's parameters, unencoded, in any order.
    pub query: &'a [(&'a str, &'a str)],
    /// The headers to sign, names in lower case, in any order.
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
}

/// The sorted, RFC 3986-encoded query, as signed and as sent.
pub fn canonical_query(query: &[(&str, &str)]) -> String {
    let mut pairs: Vec<(String, String)> = query.iter().map(|(k, v)| (rfc3986(k), rfc3986(v))).collect();
    pairs.sort();
    pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

/// The canonical request of Aliyun's V3 signature (an RPC API: the path is `/`).
pub fn canonical_request(request: &SignedRequest<'_>) -> (String, String) {
    let mut headers: Vec<(String, &str)> =
        request.headers.iter().map(|(name, value)| (name.to_ascii_lowercase(), value.trim())).collect();
    headers.sort();
    let signed_headers = headers.iter().map(|(name, _)| name.as_str()).collect::<Vec<_>>().join(";");
    let lines: String = headers.iter().map(|(name, value)| format!("{name}:{value}\n")).collect();
    let canonical = format!(
        "{}\n/\n{}\n{lines}\n{signed_headers}\n{}",
        request.method,
        canonical_query(request.query),
        sha256_hex(request.body)
    );
    (canonical, signed_headers)
}

/// The `Authorization` header for `request` under the key pair.
pub fn authorization(access_key_id: &str, secret: &str, request: &SignedRequest<'_>) -> String {
    let (canonical, signed_headers) = canonical_request(request);
    let string_to_sign = format!("{ALGORITHM}\n{}", sha256_hex(canonical.as_bytes()));
    let signature = hex::encode(hmac_sha256(secret.as_bytes(), string_to_sign.as_bytes()));
    format!("{ALGORITHM} Credential={access_key_id},SignedHeaders={signed_headers},Signature={signature}")
}

/// What an Aliyun `Code` means for the worker. `Ok(())` for `OK`.
pub fn classify(code: &str, message: &str) -> Result<(), SmsFailure> {
    let failure = |kind: Class| kind.failure(code, message);
    match code {
        "OK" => Ok(()),
        "isv.MOBILE_NUMBER_ILLEGAL" | "isv.MOBILE_COUNT_OVER_LIMIT" => {
            Err(failure(Class::Refused(SmsRefusal::InvalidNumber)))
        }
        // The per-number flow control (minute, hour, day): Aliyun's own
        // limits beside ours.
        "isv.BUSINESS_LIMIT_CONTROL" => Err(failure(Class::Refused(SmsRefusal::TooFrequent))),
        "isv.DAY_LIMIT_CONTROL" | "isv.MONTH_LIMIT_CONTROL" => Err(failure(Class::Refused(SmsRefusal::DailyLimit))),
        "isv.BLACK_KEY_CONTROL_LIMIT" | "isv.PHONE_NUMBER_IN_BLACKLIST" | "isv.DENY_PHONE_NUMBER" => {
            Err(failure(Class::Refused(SmsRefusal::Blocked)))
        }
        // Aliyun's own trouble, or its throttling of our calls.
        "isp.SYSTEM_ERROR" | "isp.GATEWAY_ERROR" | "isv.SYSTEM_ERROR" | "SignatureNonceUsed" | "ServiceUnavailable"
        | "InternalError" => Err(failure(Class::Temporary)),
        c if c.starts_with("Throttling") => Err(failure(Class::Temporary)),
        // The account's own: signature, template, permissions, balance,
        // the key pair, our clock.
        "isv.AMOUNT_NOT_ENOUGH"
        | "isv.OUT_OF_SERVICE"
        | "isv.PRODUCT_UN_SUBSCRIPT"
        | "isv.PRODUCT_UNSUBSCRIBE"
        | "isv.ACCOUNT_NOT_EXISTS"
        | "isv.ACCOUNT_ABNORMAL"
        | "isv.SMS_SIGNATURE_ILLEGAL"
        | "isv.SIGN_NAME_ILLEGAL"
        | "isv.SMS_SIGN_ILLEGAL"
        | "isv.SMS_TEMPLATE_ILLEGAL"
        | "isv.TEMPLATE_MISSING_PARAMETERS"
        | "isv.TEMPLATE_PARAMS_ILLEGAL"
        | "isv.INVALID_PARAMETERS"
        | "isv.INVALID_JSON_PARAM"
        | "isv.PARAM_LENGTH_LIMIT"
        | "isv.PARAM_NOT_SUPPORT_URL"
        | "isv.EXTEND_CODE_ERROR"
        | "isv.DOMESTIC_NUMBER_NOT_SUPPORTED"
        | "isv.DENY_IP_RANGE"
        | "isv.SMS_CONTENT_ILLEGAL"
        | "isp.RAM_PERMISSION_DENY"
        | "SignatureDoesNotMatch"
        | "IncompleteSignature"
        | "InvalidTimeStamp.Expired"
        | "MissingParameter"
        | "InvalidParameter"
        | "InvalidVersion"
        | "InvalidAction.NotFound" => Err(failure(Class::Misconfigured)),
        c if c.starts_with("InvalidAccessKeyId") || c.starts_with("Forbidden") || c.starts_with("MissingParameter") => {
            Err(failure(Class::Misconfigured))
        }
        _ => Err(failure(Class::Unknown)),
    }
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Answer {
    code: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    biz_id: Option<String>,
}

impl AliyunSender {
    pub fn new(config: AliyunConfig, client: reqwest::Client) -> AliyunSender {
        AliyunSender { config, client }
    }

    /// The template and its values (JSON) for `body`.
    fn template(&self, body: SmsBody<'_>) -> Result<(&str, serde_json::Value), SmsFailure> {
        let c = &self.config;
        Ok(match body {
            SmsBody::Code { code, .. } => (&c.template_code, serde_json::json!({ "code": code })),
            SmsBody::PasswordChanged { at, client_ip } => (
                c.notice_template_code.as_deref().ok_or_else(|| missing_template("ALIYUN_SMS_NOTICE_TEMPLATE_CODE"))?,
                serde_json::json!({ "time": at, "ip": client_ip }),
            ),
            SmsBody::Deletion { date, done } => (
                c.deletion_template_code
                    .as_deref()
                    .ok_or_else(|| missing_template("ALIYUN_SMS_DELETION_TEMPLATE_CODE"))?,
                serde_json::json!({ "when": super::deletion_when(date, done) }),
            ),
        })
    }
}

#[async_trait::async_trait]
impl SmsSender for AliyunSender {
    fn name(&self) -> &'static str {
        "aliyun"
    }

    fn sends_notices(&self) -> bool {
        self.config.notice_template_code.is_some()
    }

    fn sends_deletion_notices(&self) -> bool {
        self.config.deletion_template_code.is_some()
    }

    async fn send(&self, message: &SmsMessage<'_>) -> Result<SmsAccepted, SmsFailure> {
        let c = &self.config;
        let (template, values) = self.template(message.body)?;
        let values = values.to_string();
        let query = [
            ("OutId", message.id),
            ("PhoneNumbers", message.to.as_str()),
            ("SignName", c.sign_name.as_str()),
            ("TemplateCode", template),
            ("TemplateParam", values.as_str()),
        ];
        let host = super::host_header(&c.endpoint);
        let date = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let nonce = hex::encode(rand::random::<[u8; 16]>());
        let empty = sha256_hex(b"");
        let headers = [
            ("host", host.as_str()),
            ("x-acs-action", ACTION),
            ("x-acs-content-sha256", empty.as_str()),
            ("x-acs-date", date.as_str()),
            ("x-acs-signature-nonce", nonce.as_str()),
            ("x-acs-version", VERSION),
        ];
        let signed = SignedRequest { method: "POST", query: &query, headers: &headers, body: b"" };
        let authorization = authorization(&c.access_key_id, c.access_key_secret.expose_secret(), &signed);
        let mut url = c.endpoint.clone();
        url.set_path("/");
        url.set_query(Some(&canonical_query(&query)));
        let mut request =
            self.client.post(url).header("Accept", "application/json").header("Authorization", authorization);
        for (name, value) in headers.iter().filter(|(name, _)| *name != "host") {
            request = request.header(*name, *value);
        }
        let (status, bytes) = exchange(request).await?;
        let answer = serde_json::from_slice::<Answer>(&bytes).ok();
        if is_busy(status) {
            let code = answer.map_or_else(|| format!("http_{}", status.as_u16()), |a| a.code);
            return Err(Class::Temporary.failure(&code, &body_excerpt(&bytes)));
        }
        match answer {
            // An error's code is in the body whatever the status (a 400
            // `SignatureDoesNotMatch`, a 200 `isv.BUSINESS_LIMIT_CONTROL`).
            Some(answer) => {
                classify(&answer.code, &answer.message)?;
                Ok(SmsAccepted { message_id: answer.biz_id })
            }
            None => Err(unreadable(status, &bytes)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Aliyun's worked example in "V3 request structure and signature"
    /// (ECS `RunInstances`, its documented key pair, date and nonce).
    #[test]
    fn the_signature_reproduces_aliyuns_published_example() {
        let query = [("ImageId", "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd"), ("RegionId", "cn-shanghai")];
        let empty = sha256_hex(b"");
        let headers = [
            ("x-acs-version", "2014-05-26"),
            ("host", "ecs.cn-shanghai.aliyuncs.com"),
            ("x-acs-action", "RunInstances"),
            ("x-acs-date", "2023-10-26T10:22:32Z"),
            ("x-acs-signature-nonce", "3156853299f313e23d1673dc12e1703d"),
            ("x-acs-content-sha256", empty.as_str()),
        ];
        let request = SignedRequest { method: "POST", query: &query, headers: &headers, body: b"" };
        let (canonical, _) = canonical_request(&request);
        assert_eq!(
            sha256_hex(canonical.as_bytes()),
            "7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259"
        );
        assert_eq!(
            authorization("YourAccessKeyId", "YourAccessKeySecret", &request),
            "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;x-acs-action;x-acs-content-sha256;\
             x-acs-date;x-acs-signature-nonce;x-acs-version,\
             Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
        );
    }

    #[test]
    fn the_query_is_encoded_as_rfc_3986_asks() {
        let query = [("TemplateParam", "{\"code\":\"042137\"}"), ("SignName", "某某 商城*~")];
        assert_eq!(
            canonical_query(&query),
            "SignName=%E6%9F%90%E6%9F%90%20%E5%95%86%E5%9F%8E%2A~&TemplateParam=%7B%22code%22%3A%22042137%22%7D"
        );
    }

    #[test]
    fn codes_fall_into_the_documented_classes() {
        assert_eq!(classify("OK", "OK"), Ok(()));
        let class = |c: &str| match classify(c, "m") {
            Err(SmsFailure::Refused { refusal, .. }) => format!("{refusal:?}"),
            Err(SmsFailure::Temporary { .. }) => "temporary".into(),
            Err(SmsFailure::Misconfigured { .. }) => "misconfigured".into(),
            Err(SmsFailure::Unknown { .. }) => "unknown".into(),
            Ok(()) => "ok".into(),
        };
        assert_eq!(class("isv.MOBILE_NUMBER_ILLEGAL"), "InvalidNumber");
        assert_eq!(class("isv.BUSINESS_LIMIT_CONTROL"), "TooFrequent");
        assert_eq!(class("isv.DAY_LIMIT_CONTROL"), "DailyLimit");
        for c in ["isv.AMOUNT_NOT_ENOUGH", "isv.OUT_OF_SERVICE", "SignatureDoesNotMatch", "isv.SMS_SIGNATURE_ILLEGAL"] {
            assert_eq!(class(c), "misconfigured", "{c}");
        }
        for c in ["InvalidAccessKeyId.NotFound", "Forbidden.RAM", "isv.SMS_TEMPLATE_ILLEGAL"] {
            assert_eq!(class(c), "misconfigured", "{c}");
        }
        for c in ["isp.SYSTEM_ERROR", "Throttling.User", "Throttling", "ServiceUnavailable"] {
            assert_eq!(class(c), "temporary", "{c}");
        }
        assert_eq!(class("isv.SOMETHING_NEW"), "unknown");
    }
}
