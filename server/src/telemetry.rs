//! Logs: structured (`tracing`), one line per request with method, path,
//! status and latency, and the proxy's `X-Request-Id` when it is a plain
//! token. Query strings, bodies and other headers are never logged, so no
//! password, code, captcha answer or token reaches a log line; a mobile
//! number in a path is masked like everywhere else.

use crate::config::LogFormat;
use axum::http::{Request, Response};
use std::{io::IsTerminal, time::Duration};
use tower_http::{
    classify::{ServerErrorsAsFailures, SharedClassifier},
    trace::{MakeSpan, OnResponse, TraceLayer},
};
use tracing::Span;
use tracing_subscriber::{EnvFilter, fmt, prelude::*};

pub fn init(format: LogFormat) {
    init_with_writer(format, std::io::stdout);
}

/// The same subscriber, writing elsewhere (tests read what was logged).
pub fn init_with_writer<W>(format: LogFormat, writer: W)
where
    W: for<'a> fmt::MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let registry = tracing_subscriber::registry().with(filter);
    let _ = match format {
        LogFormat::Json => registry.with(fmt::layer().json().flatten_event(true).with_writer(writer)).try_init(),
        // Colours only for a person at a terminal, not into a file.
        LogFormat::Text => registry
            .with(fmt::layer().compact().with_ansi(std::io::stdout().is_terminal()).with_writer(writer))
            .try_init(),
    };
}

#[derive(Clone, Copy)]
pub struct RequestSpan;

impl<B> MakeSpan<B> for RequestSpan {
    fn make_span(&mut self, request: &Request<B>) -> Span {
        // Masked only when the span is written (below the log level, never).
        let path = Masked(request.uri().path());
        match request_id(request.headers()) {
            Some(id) => tracing::info_span!("request", method = %request.method(), path = %path, request_id = id),
            None => tracing::info_span!("request", method = %request.method(), path = %path),
        }
    }
}

/// The `X-Request-Id` a proxy set (to match our line with its own), when it
/// is a plain token: up to 64 letters, digits, `-` and `_`. Anything else is
/// not logged: a client must not write into the log.
fn request_id(headers: &axum::http::HeaderMap) -> Option<&str> {
    let id = headers.get("x-request-id")?.to_str().ok()?;
    let plain =
        !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    plain.then_some(id)
}

/// A path shown as `masked_path` shows it, made when it is formatted.
struct Masked<'a>(&'a str);

impl std::fmt::Display for Masked<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&masked_path(self.0))
    }
}

/// The path with every run of 7 or more digits (a mobile number in
/// `/mobiles/{m}/count` or `/sms_codes/{m}/cooldown`) masked to its first 3
/// and last 4 digits: `13812345678` -> `138****5678`; and a link's token
/// (`/password/reset/{token}`, `/email/verify/{token}`: 32 or more hex
/// digits) replaced whole, so that the log never holds a working link.
pub fn masked_path(path: &str) -> String {
    let is_token = |segment: &str| segment.len() >= 32 && segment.bytes().all(|b| b.is_ascii_hexdigit());
    if path.split('/').any(is_token) {
        let segments: Vec<&str> = path.split('/').map(|s| if is_token(s) { "<token>" } else { s }).collect();
        return masked_path(&segments.join("/"));
    }
    let mut out = String::with_capacity(path.len());
    let mut digits = String::new();
    let flush = |digits: &mut String, out: &mut String| {
        if digits.len() >= 7 {
            out.push_str(&digits[..3]);
            out.push_str("****");
            out.push_str(&digits[digits.len() - 4..]);
        } else {
            out.push_str(digits);
        }
        digits.clear();
    };
    for c in path.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            flush(&mut digits, &mut out);
            out.push(c);
        }
    }
    flush(&mut digits, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::{masked_path, request_id};

    #[test]
    fn only_a_plain_request_id_is_logged() {
        let with = |value: &str| {
            let mut headers = axum::http::HeaderMap::new();
            headers.insert("x-request-id", value.parse().unwrap());
            request_id(&headers).map(str::to_owned)
        };
        assert_eq!(with("3f2a-9c_01").as_deref(), Some("3f2a-9c_01"));
        assert_eq!(with("a\",\"forged\":\"x"), None);
        assert_eq!(with(&"a".repeat(65)), None);
        assert_eq!(with("two words"), None);
        assert_eq!(request_id(&axum::http::HeaderMap::new()), None);
    }

    #[test]
    fn mobile_numbers_in_paths_are_masked() {
        assert_eq!(masked_path("/api/v1/mobiles/13812345678/count"), "/api/v1/mobiles/138****5678/count");
        assert_eq!(masked_path("/api/v1/sms_codes/13812345678"), "/api/v1/sms_codes/138****5678");
        assert_eq!(masked_path("/api/v1/me/sessions/42"), "/api/v1/me/sessions/42");
        assert_eq!(masked_path("/pkg/mobile_auth.wasm"), "/pkg/mobile_auth.wasm");
    }

    #[test]
    fn link_tokens_in_paths_are_never_logged() {
        let token = "9f".repeat(32);
        assert_eq!(masked_path(&format!("/api/v1/password/reset/{token}")), "/api/v1/password/reset/<token>");
        assert_eq!(masked_path(&format!("/api/v1/email/verify/{token}/")), "/api/v1/email/verify/<token>/");
        // A captcha id (a UUID) and hashed asset names stay readable.
        let id = "2ba27ea8-da8c-42d7-b1bf-9a9b7c0d0fa6";
        assert_eq!(masked_path(&format!("/api/v1/image_codes/{id}")), format!("/api/v1/image_codes/{id}"));
    }
}

#[derive(Clone, Copy)]
pub struct ResponseLine;

impl<B> OnResponse<B> for ResponseLine {
    fn on_response(self, response: &Response<B>, latency: Duration, _span: &Span) {
        tracing::info!(status = response.status().as_u16(), latency_ms = latency.as_secs_f64() * 1000.0, "served");
    }
}

pub type RequestLog = TraceLayer<SharedClassifier<ServerErrorsAsFailures>, RequestSpan, (), ResponseLine, (), (), ()>;

pub fn request_log() -> RequestLog {
    TraceLayer::new_for_http()
        .make_span_with(RequestSpan)
        .on_request(())
        .on_response(ResponseLine)
        .on_body_chunk(())
        .on_eos(())
        .on_failure(())
}
