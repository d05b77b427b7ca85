//! Request-level protection: cross-site requests cannot act with a user's
//! cookie, and every response carries the security headers.

use app::{core::tokens, error::AppError};
use axum::{
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, Method, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

/// A request that changes state and authenticates by cookie must come from
/// this site: its `Origin` (or, failing that, `Referer`) must name the host it
/// was sent to. Bearer-token clients are not browsers and pass.
pub async fn same_origin_for_cookies(request: Request, next: Next) -> Response {
    let changes_state = !matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if changes_state && uses_cookie_auth(request.headers()) && !same_origin(request.headers()) {
        tracing::warn!(path = %request.uri().path(), "refused a cross-site request");
        let error = AppError::new(app::error::ErrorKind::Forbidden, "cross_site_request", "跨站请求被拒绝");
        return crate::api_v1::ApiError(error).into_response();
    }
    next.run(request).await
}

fn uses_cookie_auth(headers: &HeaderMap) -> bool {
    let bearer =
        headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("Bearer "));
    let cookie = headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).any(tokens::has_token_cookie);
    cookie && !bearer
}

/// The host part of `scheme://host[:port][/...]`.
fn authority(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    Some(rest.split('/').next().unwrap_or(rest))
}

fn same_origin(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else { return false };
    let claimed = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|v| v.to_str().ok())
        .and_then(authority);
    claimed.is_some_and(|origin| origin.eq_ignore_ascii_case(host))
}

/// Headers for every response; pages set their own nonce-based CSP, the
/// rest (JSON, images, files) get one that allows nothing. Over https
/// (`secure`: cookies are `Secure`), HSTS for a year.
pub async fn security_headers(State(secure): State<bool>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if secure {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000"));
    }
    let defaults = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "strict-origin-when-cross-origin"),
        (header::CONTENT_SECURITY_POLICY, "default-src 'none'; frame-ancestors 'none'"),
    ];
    for (name, value) in defaults {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    headers.insert("permissions-policy", HeaderValue::from_static("camera=(), microphone=(), geolocation=()"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(k.clone(), HeaderValue::from_str(v).unwrap());
        }
        map
    }

    #[test]
    fn the_origin_must_name_the_host() {
        assert!(same_origin(&headers(&[(header::HOST, "a.example:3000"), (header::ORIGIN, "http://a.example:3000")])));
        assert!(!same_origin(&headers(&[(header::HOST, "a.example:3000"), (header::ORIGIN, "http://evil.example")])));
        assert!(!same_origin(&headers(&[(header::HOST, "a.example"), (header::ORIGIN, "null")])));
        assert!(same_origin(&headers(&[(header::HOST, "a.example"), (header::REFERER, "https://a.example/user")])));
        assert!(!same_origin(&headers(&[(header::HOST, "a.example")])));
    }

    #[test]
    fn only_cookie_authenticated_requests_are_checked() {
        assert!(uses_cookie_auth(&headers(&[(header::COOKIE, "auth_token=x")])));
        assert!(!uses_cookie_auth(&headers(&[(header::COOKIE, "other=x")])));
        assert!(!uses_cookie_auth(&headers(&[(header::COOKIE, "auth_token=x"), (header::AUTHORIZATION, "Bearer x")])));
    }
}
