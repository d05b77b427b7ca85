//! How SMS leave: a sender chosen by `SMS_PROVIDER`, called by the delivery
//! worker (never by a visitor's request). `outbox` keeps every message for
//! development (`/dev/outbox`); `log` writes them to the server log with the
//! code masked; `ronglian`, `aliyun` and `tencent` are those providers'
//! template-SMS APIs; `http` a signed JSON POST to a gateway of your own.
//! A provider's quirks (its signature, its codes) stay in its own module.
//!
//! A sender says what became of a message in one of five ways, and the
//! worker acts on the class, never on a provider's own codes.

pub mod aliyun;
pub mod http;
pub mod ronglian;
pub mod tencent;

pub use aliyun::{AliyunConfig, AliyunSender};
pub use http::{HttpGatewayConfig, HttpGatewaySender};
pub use ronglian::{PRODUCTION_BASE_URL as RONGLIAN_PRODUCTION_BASE_URL, RonglianConfig, RonglianSender};
pub use tencent::{TencentConfig, TencentSender};

use crate::{
    i18n::{Locale, Texts},
    rules::Mobile,
};
use std::time::Duration;

/// What an SMS says.
#[derive(Clone, Copy, Debug)]
pub enum SmsBody<'a> {
    /// A verification code, and how many minutes it lives.
    Code { code: &'a str, minutes: u64 },
    /// The account's password was reset: when, and from which client address.
    PasswordChanged { at: &'a str, client_ip: &'a str },
    /// 注销: the account will be erased at `date` (`done`: it was, then).
    Deletion { date: &'a str, done: bool },
}

/// How a deletion notice says its date to a provider's registered template
/// ("将于…" requested, "已于…" done): those templates are Chinese (a
/// mainland signature), so the words are the reference locale's.
pub fn deletion_when(date: &str, done: bool) -> String {
    let texts = Texts::of(Locale::REFERENCE);
    if done { texts.sms_when_done(date) } else { texts.sms_when_requested(date) }
}

/// One SMS to one number.
#[derive(Clone, Copy, Debug)]
pub struct SmsMessage<'a> {
    /// The delivery's id: the same on every attempt, for a provider that
    /// drops repeats.
    pub id: &'a str,
    pub to: &'a Mobile,
    pub body: SmsBody<'a>,
    /// The language its text is in (senders that send text; a provider's
    /// registered template has its own).
    pub locale: Locale,
}

impl SmsMessage<'_> {
    /// The text, for senders that send text.
    pub fn text(&self) -> String {
        let texts = Texts::of(self.locale);
        match self.body {
            SmsBody::Code { code, minutes } => texts.sms_code(minutes, code),
            SmsBody::PasswordChanged { at, client_ip } => texts.sms_password_changed(at, client_ip),
            SmsBody::Deletion { date, done: false } => texts.sms_deletion_requested(date),
            SmsBody::Deletion { date, done: true } => texts.sms_account_deleted(date),
        }
    }

    /// `code` or `password_changed`: what a gateway is asked to send.
    pub fn kind(&self) -> &'static str {
        match self.body {
            SmsBody::Code { .. } => "code",
            SmsBody::PasswordChanged { .. } => "password_changed",
            SmsBody::Deletion { done: false, .. } => "deletion_requested",
            SmsBody::Deletion { done: true, .. } => "account_deleted",
        }
    }

    /// The code it carries, if any: kept out of logs.
    pub fn code(&self) -> Option<&str> {
        match self.body {
            SmsBody::Code { code, .. } => Some(code),
            SmsBody::PasswordChanged { .. } | SmsBody::Deletion { .. } => None,
        }
    }
}

/// The provider took the message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SmsAccepted {
    /// The provider's id for the message, when it gives one.
    pub message_id: Option<String>,
}

/// Why the provider will never deliver this message, in words a visitor can
/// act on; the worker gives the number's cooldown back and the visitor sees
/// the message through the cooldown endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmsRefusal {
    /// The provider's own per-number frequency limit.
    TooFrequent,
    /// The provider's daily limit for the number.
    DailyLimit,
    /// The number cannot receive messages (blacklisted, unsubscribed).
    Blocked,
    /// The provider says the number does not exist.
    InvalidNumber,
}

impl SmsRefusal {
    pub fn code(self) -> &'static str {
        match self {
            SmsRefusal::TooFrequent => "sms_provider_too_frequent",
            SmsRefusal::DailyLimit => "sms_provider_daily_limit",
            SmsRefusal::Blocked => "sms_provider_blocked",
            SmsRefusal::InvalidNumber => "sms_provider_invalid_number",
        }
    }

    /// What the visitor is told.
    pub fn text(self) -> crate::i18n::Text {
        use crate::i18n::Text;
        match self {
            SmsRefusal::TooFrequent => Text::error_sms_too_frequent(),
            SmsRefusal::DailyLimit => Text::error_sms_daily_limit(),
            SmsRefusal::Blocked => Text::error_sms_blocked(),
            SmsRefusal::InvalidNumber => Text::error_sms_invalid_number(),
        }
    }

    pub fn from_code(code: &str) -> Option<SmsRefusal> {
        SmsRefusal::ALL.into_iter().find(|r| r.code() == code)
    }

    pub const ALL: [SmsRefusal; 4] =
        [SmsRefusal::TooFrequent, SmsRefusal::DailyLimit, SmsRefusal::Blocked, SmsRefusal::InvalidNumber];
}

/// What went wrong, by what the worker should do about it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SmsFailure {
    /// Worth trying again later: the provider is busy or down, the network
    /// failed, or it did not answer in time.
    #[error("temporary failure {code}: {message}")]
    Temporary { code: String, message: String },
    /// The provider refuses this number for a reason the visitor must hear.
    #[error("refused {code}: {message}")]
    Refused { refusal: SmsRefusal, code: String, message: String },
    /// Our account, signature or template is wrong: no message will get
    /// through until an operator fixes the configuration.
    #[error("configuration problem {code}: {message}")]
    Misconfigured { code: String, message: String },
    /// A code the provider did not document when this was written: tried
    /// once more (it may be passing trouble), then final.
    #[error("unknown answer {code}: {message}")]
    Unknown { code: String, message: String },
}

impl SmsFailure {
    /// The provider's code (or `http_503`, `timeout`...), for records and logs.
    pub fn code(&self) -> &str {
        match self {
            SmsFailure::Temporary { code, .. }
            | SmsFailure::Refused { code, .. }
            | SmsFailure::Misconfigured { code, .. }
            | SmsFailure::Unknown { code, .. } => code,
        }
    }

    /// Whether the provider refused for its own account's reasons (its
    /// signature, template, permissions, balance, our key): another
    /// provider may still send it.
    pub fn is_account_problem(&self) -> bool {
        matches!(self, SmsFailure::Misconfigured { .. })
    }
}

/// A provider's answer, by what the worker does about it; a provider's
/// `classify` picks one and `failure` attaches its code and message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Class {
    Refused(SmsRefusal),
    Temporary,
    Misconfigured,
    Unknown,
}

impl Class {
    pub(crate) fn failure(self, code: &str, message: &str) -> SmsFailure {
        let (code, message) = (code.to_owned(), message.chars().take(200).collect());
        match self {
            Class::Refused(refusal) => SmsFailure::Refused { refusal, code, message },
            Class::Temporary => SmsFailure::Temporary { code, message },
            Class::Misconfigured => SmsFailure::Misconfigured { code, message },
            Class::Unknown => SmsFailure::Unknown { code, message },
        }
    }
}

/// The failure of a notice whose template is not configured.
pub(crate) fn missing_template(var: &str) -> SmsFailure {
    Class::Misconfigured.failure("no_template", &format!("{var} is not set"))
}

/// Sends `request` and reads the whole answer; a transport failure (refused,
/// reset, timed out) is temporary.
pub(crate) async fn exchange(request: reqwest::RequestBuilder) -> Result<(reqwest::StatusCode, Vec<u8>), SmsFailure> {
    let response = request.send().await.map_err(|e| transport_failure(&e))?;
    let status = response.status();
    let bytes = response.bytes().await.map_err(|e| transport_failure(&e))?;
    Ok((status, bytes.to_vec()))
}

/// Whether the provider is busy or down (5xx, 429): worth another try.
pub(crate) fn is_busy(status: reqwest::StatusCode) -> bool {
    status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS
}

/// The failure for an answer a template provider's sender cannot read. A
/// 2xx may have been sent: still, retrying is the lesser harm than a code
/// that never arrives. Any other status is our configuration.
pub(crate) fn unreadable(status: reqwest::StatusCode, bytes: &[u8]) -> SmsFailure {
    if status.is_success() {
        Class::Temporary.failure("bad_answer", &body_excerpt(bytes))
    } else {
        Class::Misconfigured.failure(&format!("http_{}", status.as_u16()), &body_excerpt(bytes))
    }
}

/// The start of a body, for a record or a log line.
pub(crate) fn body_excerpt(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).chars().take(200).collect()
}

/// Hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// HMAC-SHA256 of `data` under `key`.
pub(crate) fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    use hmac::Mac;
    // HMAC takes a key of any length.
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// RFC 3986 percent-encoding: all but `A-Z a-z 0-9 - _ . ~`, as UTF-8.
pub(crate) fn rfc3986(text: &str) -> String {
    const UNRESERVED: &percent_encoding::AsciiSet =
        &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');
    percent_encoding::utf8_percent_encode(text, UNRESERVED).to_string()
}

/// The `Host` header a client sends for `url`: the port only when it is
/// not the scheme's own.
pub(crate) fn host_header(url: &url::Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

#[async_trait::async_trait]
pub trait SmsSender: Send + Sync {
    /// The provider's name, for records and logs (`ronglian`, `log`...).
    fn name(&self) -> &'static str;
    /// Whether this sender can send notices (a template provider needs a
    /// template for each kind); codes it always sends.
    fn sends_notices(&self) -> bool {
        true
    }
    /// Whether this sender can send the 注销 notices (its template).
    fn sends_deletion_notices(&self) -> bool {
        true
    }
    async fn send(&self, message: &SmsMessage<'_>) -> Result<SmsAccepted, SmsFailure>;
}

/// Writes each message to the log, the code masked.
pub struct LogSender;

#[async_trait::async_trait]
impl SmsSender for LogSender {
    fn name(&self) -> &'static str {
        "log"
    }

    async fn send(&self, message: &SmsMessage<'_>) -> Result<SmsAccepted, SmsFailure> {
        let text = match message.code() {
            Some(code) => message.text().replace(code, "******"),
            None => message.text(),
        };
        tracing::info!(to = %message.to.masked(), text = %text, "sms sent (log sender)");
        Ok(SmsAccepted::default())
    }
}

/// Timeouts for talking to a provider over HTTP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HttpTimeouts {
    pub connect: Duration,
    /// The whole answer, from the request sent to the body read.
    pub read: Duration,
}

impl Default for HttpTimeouts {
    fn default() -> Self {
        HttpTimeouts { connect: Duration::from_secs(2), read: Duration::from_secs(5) }
    }
}

/// An HTTPS client on rustls (no system OpenSSL) with the given timeouts.
pub fn http_client(timeouts: HttpTimeouts) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .connect_timeout(timeouts.connect)
        .timeout(timeouts.connect + timeouts.read)
        .redirect(reqwest::redirect::Policy::none())
        .build()
}

/// A transport error as a temporary failure: every one of them (refused,
/// reset, timed out) may succeed on a later try.
pub(crate) fn transport_failure(e: &reqwest::Error) -> SmsFailure {
    let code = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else {
        "network"
    };
    // Without the URL: it carries the request signature.
    SmsFailure::Temporary { code: code.into(), message: e.without_url_ref().to_string() }
}

trait WithoutUrl {
    fn without_url_ref(&self) -> String;
}

impl WithoutUrl for reqwest::Error {
    fn without_url_ref(&self) -> String {
        let mut text = self.to_string();
        if let Some(url) = self.url() {
            text = text.replace(url.as_str(), "<provider>");
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_is_found_again_by_its_code() {
        for r in SmsRefusal::ALL {
            assert_eq!(SmsRefusal::from_code(r.code()), Some(r));
        }
        assert_eq!(SmsRefusal::from_code("nonsense"), None);
    }

    #[test]
    fn the_text_names_the_code_and_its_life() {
        let mobile = Mobile::parse("13812345678").unwrap();
        let zh = Locale::REFERENCE;
        let code = SmsBody::Code { code: "042137", minutes: 5 };
        let text = SmsMessage { id: "d1", to: &mobile, body: code, locale: zh }.text();
        assert!(text.contains("042137") && text.contains("5分钟"));
        let english = SmsMessage { id: "d1", to: &mobile, body: code, locale: Locale::from_tag("en").unwrap() };
        assert!(english.text().starts_with("Your code is 042137. It's valid for 5 minutes."));
        let notice = SmsBody::PasswordChanged { at: "2026-11-30 13:05", client_ip: "203.0.113.9" };
        let message = SmsMessage { id: "d2", to: &mobile, body: notice, locale: zh };
        assert!(message.text().contains("2026-11-30 13:05") && message.text().contains("203.0.113.9"));
        let asked = SmsMessage {
            id: "d3",
            to: &mobile,
            body: SmsBody::Deletion { date: "12-13 14:05", done: false },
            locale: zh,
        };
        assert!(asked.text().contains("将于12-13 14:05注销") && asked.kind() == "deletion_requested");
        let gone = SmsMessage {
            id: "d4",
            to: &mobile,
            body: SmsBody::Deletion { date: "12-13 14:05", done: true },
            locale: zh,
        };
        assert!(gone.text().contains("已于12-13 14:05注销") && gone.code().is_none());
        assert_eq!((message.kind(), message.code()), ("password_changed", None));
    }
}
