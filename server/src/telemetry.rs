//! Logs: structured (`tracing`), one line per request with method, path,
//! status and latency. Query strings, bodies and headers are never logged, so
//! no password, code, captcha answer or token reaches a log line; a mobile
//! number in a path is masked like everywhere else.

use crate::config::LogFormat;
use axum::http::{Request, Response};
use std::time::Duration;
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
        LogFormat::Text => registry.with(fmt::layer().compact().with_writer(writer)).try_init(),
    };
}

#[derive(Clone, Copy)]
pub struct RequestSpan;

impl<B> MakeSpan<B> for RequestSpan {
    fn make_span(&mut self, request: &Request<B>) -> Span {
        tracing::info_span!("request", method = %request.method(), path = %masked_path(request.uri().path()))
    }
}

/// The path with every run of 7 or more digits (a mobile number in
/// `/mobiles/{m}/count` or `/sms_codes/{m}/cooldown`) masked to its first 3
/// and last 4 digits: `13812345678` -> `138****5678`.
pub fn masked_path(path: &str) -> String {
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
    use super::masked_path;

    #[test]
    fn mobile_numbers_in_paths_are_masked() {
        assert_eq!(masked_path("/api/v1/mobiles/13812345678/count"), "/api/v1/mobiles/138****5678/count");
        assert_eq!(masked_path("/api/v1/sms_codes/13812345678"), "/api/v1/sms_codes/138****5678");
        assert_eq!(masked_path("/api/v1/me/sessions/42"), "/api/v1/me/sessions/42");
        assert_eq!(masked_path("/pkg/mobile_auth.wasm"), "/pkg/mobile_auth.wasm");
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
