//! Request-level protection: cross-site requests cannot act with a user's
//! cookie, pages show only errors the server sent, and every response
//! carries the security headers.

use app::{
    core::{Core, tokens},
    error::AppError,
};
use axum::{
    extract::Request,
    http::{HeaderMap, HeaderValue, Method, header},
    response::{IntoResponse, Response},
};
use std::future::Future;

/// The methods the site answers, as a name with no allocation (a metrics
/// label); `None` for anything else.
pub fn known_method(method: &Method) -> Option<&'static str> {
    Some(match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => return None,
    })
}

/// Any token is a method to HTTP, up to the length of a request line: one
/// kept as a metrics label or a log field is memory kept for ever (2,000
/// distinct 100 KB methods took RSS from 28 to 620 MB, and one `/metrics`
/// scrape answered 3.8 GB). Metrics count every other method as `other`; a
/// method longer than any registered one (`UPDATEREDIRECTREF`, 17) gets 501
/// here, the outermost layer, before even the log line names it. A short
/// one (`TRACE`, `QUERY`) goes on to the routes, which answer 405 with
/// `Allow`: a 5xx would read as our failure (Schemathesis said so).
pub async fn known_methods_only<F>(request: Request, next: impl FnOnce(Request) -> F) -> Response
where
    F: Future<Output = Response>,
{
    if known_method(request.method()).is_none() && request.method().as_str().len() > LONGEST_METHOD {
        return axum::http::StatusCode::NOT_IMPLEMENTED.into_response();
    }
    next(request).await
}

/// The longest method a route may be asked with (IANA's longest has 17).
const LONGEST_METHOD: usize = 20;

/// A request that changes state must not come from another site, with or
/// without a cookie: a cross-site form post of our sign-in form with the
/// attacker's credentials would sign the visitor in as the attacker (login
/// CSRF), and one of our sign-out would sign them out.
///
/// Browsers say where a request comes from: `Origin` (every modern browser on
/// a POST), else `Sec-Fetch-Site`. Either must say "this site" (`same-origin`,
/// or `none`: typed by the person). A request with neither is not from a
/// browser page (an app, curl) and is judged by its token as any other; if it
/// still carries our cookie, its `Referer` must name this site.
///
/// The OpenID Connect endpoints other sites call are the exception
/// (`oidc::CROSS_SITE_PATHS`): the token and userinfo endpoints act on no
/// cookie, and an authorization request is a cross-site navigation by design
/// (as a GET or a form post), answered only at the client's registered URI.
pub async fn same_origin_for_cookies<F>(request: Request, next: impl FnOnce(Request) -> F) -> Response
where
    F: Future<Output = Response>,
{
    let changes_state = !matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS)
        && !crate::oidc::CROSS_SITE_PATHS.contains(&request.uri().path());
    if changes_state && !from_this_site(request.headers()) {
        tracing::warn!(path = %request.uri().path(), "refused a cross-site request");
        let error = AppError::new(
            app::error::ErrorKind::Forbidden,
            app::error::ErrorCode::CrossSiteRequest,
            app::i18n::Text::error_cross_site(),
        );
        return crate::api_v1::ApiError(error).into_response();
    }
    next(request).await
}

/// Whether a state-changing request may be taken as this site's own.
fn from_this_site(headers: &HeaderMap) -> bool {
    let header = |name: &header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    if headers.contains_key(header::ORIGIN) {
        return same_origin(headers, header::ORIGIN);
    }
    if let Some(site) = header(&header::HeaderName::from_static("sec-fetch-site")) {
        return matches!(site, "same-origin" | "none");
    }
    !uses_cookie_auth(headers) || same_origin(headers, header::REFERER)
}

/// Whether the request carries our session cookie (and no bearer token).
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

/// Whether `claim` (`Origin` or `Referer`) names the host the request was
/// sent to.
fn same_origin(headers: &HeaderMap, claim: header::HeaderName) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else { return false };
    let claimed = headers.get(claim).and_then(|v| v.to_str().ok()).and_then(authority);
    claimed.is_some_and(|origin| origin.eq_ignore_ascii_case(host))
}

/// Whether a request came straight from this machine: a loopback peer, and
/// no forwarding header (a reverse proxy on this host connects from loopback
/// too, on behalf of anyone).
pub fn direct_from_this_host(peer: Option<std::net::IpAddr>, headers: &HeaderMap) -> bool {
    let forwarded = ["x-forwarded-for", "forwarded", "x-real-ip"].iter().any(|h| headers.contains_key(*h));
    peer.is_some_and(|ip| ip.to_canonical().is_loopback()) && !forwarded
}

/// Whether `path` shows the development outbox (every code and captcha
/// answer) or its delivery records: the page, the JSON API, the server
/// functions.
fn shows_the_outbox(path: &str) -> bool {
    ["/dev/", "/api/v1/dev/", "/api/dev_"].iter().any(|prefix| path.starts_with(prefix))
}

/// The development outbox answers only the developer's own machine: never a
/// request from another host nor one that came through a proxy, whatever
/// address the server listens on. (A test server on a shared host is
/// otherwise an open book of every code it sends.)
pub async fn outbox_only_to_this_host<F>(request: Request, next: impl FnOnce(Request) -> F) -> Response
where
    F: Future<Output = Response>,
{
    if shows_the_outbox(request.uri().path()) {
        let peer = request.extensions().get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
        if !direct_from_this_host(peer, request.headers()) {
            tracing::warn!(path = %request.uri().path(), "refused the dev outbox to a request not from this host");
            return crate::api_v1::ApiError(AppError::not_found()).into_response();
        }
    }
    next(request).await
}

/// The query keys of an error carried back to a page in its URL.
const ERROR_PATH: &str = "__path";
const ERROR: &str = "__err";
const ERROR_TAG: &str = "__sig";
/// What the tag of an error in a URL is for (no other tag can stand in).
const ERROR_TAG_PURPOSE: &str = "action_error";

/// A form posted without JavaScript whose server function fails is sent back
/// to its page with the error in the URL (`?__path=...&__err=base64(json)`),
/// and the page shows the error's message. Anyone can write such a link, with
/// any message: so the server tags the errors it sends back, and a page asked
/// with an error that is not tagged, or tagged for another, is redirected to
/// itself without it. A page thus shows only messages the product wrote.
pub async fn errors_in_urls_are_ours<F>(core: &Core, request: Request, next: impl FnOnce(Request) -> F) -> Response
where
    F: Future<Output = Response>,
{
    let query = request.uri().query().unwrap_or("");
    let pairs: Vec<(String, String)> =
        if matches!(*request.method(), Method::GET | Method::HEAD) && query.contains("__") {
            url::form_urlencoded::parse(query.as_bytes()).into_owned().collect()
        } else {
            Vec::new()
        };
    if pairs.iter().any(|(k, _)| is_error_key(k)) {
        let tagged = match (last_value(&pairs, ERROR_PATH), last_value(&pairs, ERROR), last_value(&pairs, ERROR_TAG)) {
            (Some(path), Some(error), Some(tag)) => {
                core.tokens.tag_matches(ERROR_TAG_PURPOSE, &error_message(path, error), tag)
            }
            _ => false,
        };
        if !tagged {
            let kept = without_error(&pairs);
            let path = request.uri().path();
            let location = if kept.is_empty() { path.to_owned() } else { format!("{path}?{kept}") };
            return (axum::http::StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response();
        }
    }
    let mut response = next(request).await;
    if response.status().is_redirection()
        && let Some(location) = response.headers().get(header::LOCATION).and_then(|v| v.to_str().ok())
        && location.contains(ERROR)
        && let Some(tagged) = tag_error(core, location)
        && let Ok(value) = HeaderValue::from_str(&tagged)
    {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// What an error's tag covers: the server function's path and the error.
fn error_message(path: &str, error: &str) -> String {
    format!("{path}\n{error}")
}

fn is_error_key(key: &str) -> bool {
    [ERROR_PATH, ERROR, ERROR_TAG].contains(&key)
}

/// The value of the last `key` in the query `pairs` (leptos appends).
fn last_value<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// The query `pairs` without an error's keys, encoded again.
fn without_error(pairs: &[(String, String)]) -> String {
    let mut kept = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs.iter().filter(|(k, _)| !is_error_key(k)) {
        kept.append_pair(k, v);
    }
    kept.finish()
}

/// `location` (absolute, as leptos writes it, or a path) with one error and
/// its tag: the last `__path`/`__err` leptos appended, any older ones (the
/// form's page had an error already) gone.
fn tag_error(core: &Core, location: &str) -> Option<String> {
    let base = url::Url::parse("http://placeholder.invalid").ok()?;
    let url = url::Url::parse(location).or_else(|_| base.join(location)).ok()?;
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let (path, error) = (last_value(&pairs, ERROR_PATH)?, last_value(&pairs, ERROR)?);
    let tag = core.tokens.tag(ERROR_TAG_PURPOSE, &error_message(path, error));
    let mut query = url::form_urlencoded::Serializer::new(without_error(&pairs));
    query.append_pair(ERROR_PATH, path).append_pair(ERROR, error).append_pair(ERROR_TAG, &tag);
    let mut tagged = url.clone();
    tagged.set_query(Some(&query.finish()));
    Some(if url.host_str() == base.host_str() { tagged[url::Position::BeforePath..].to_owned() } else { tagged.into() })
}

/// This request's CSP nonce, made here, before the page is rendered: Leptos
/// puts it on its scripts (`startup::router` provides it as the page's
/// `Nonce`), and `security_headers` names it in the page's policy. The
/// policy used to travel through Leptos' `ResponseOptions`, and once in a
/// while a page went out with the default policy instead, which blocked all
/// its scripts and styles: a dead page. Owned here, the two cannot part.
///
/// Drawn on first use: most answers (the API, files) are not pages and need
/// none, and drawing one was a system call on every request.
#[derive(Clone, Debug, Default)]
pub struct PageNonce(std::sync::Arc<std::sync::OnceLock<String>>);

impl PageNonce {
    /// 128 random bits (a v4 UUID has 122), in characters a nonce may hold.
    pub fn value(&self) -> &str {
        self.0.get_or_init(|| uuid::Uuid::new_v4().simple().to_string())
    }
}

/// The Content-Security-Policy of an HTML page: scripts only with this
/// response's nonce (and what they load), so no injected inline script runs.
fn page_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'nonce-{nonce}' 'strict-dynamic' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'"
    )
}

/// Headers for every response: HTML pages get the nonce-based CSP, the rest
/// (JSON, images, files) one that allows nothing. Over https (`secure`:
/// cookies are `Secure`), HSTS for a year.
pub async fn security_headers<F>(secure: bool, mut request: Request, next: impl FnOnce(Request) -> F) -> Response
where
    F: Future<Output = Response>,
{
    let nonce = PageNonce::default();
    request.extensions_mut().insert(nonce.clone());
    let mut response = next(request).await;
    let headers = response.headers_mut();
    // Room for what this step adds, at once (not by doubling, twice).
    headers.reserve(8);
    let is_page =
        headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("text/html"));
    // A page that wrote its own policy (`/dev/captchas`) keeps it.
    if is_page
        && !headers.contains_key(header::CONTENT_SECURITY_POLICY)
        && let Ok(policy) = HeaderValue::from_str(&page_policy(nonce.value()))
    {
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    // A page is drawn in the request's language (`app::i18n`).
    if is_page {
        headers.append(header::VARY, HeaderValue::from_static("accept-language, cookie"));
    }
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
        let host = (header::HOST, "a.example:3000");
        assert!(from_this_site(&headers(&[host.clone(), (header::ORIGIN, "http://a.example:3000")])));
        assert!(!from_this_site(&headers(&[host.clone(), (header::ORIGIN, "http://evil.example")])));
        assert!(!from_this_site(&headers(&[host.clone(), (header::ORIGIN, "null")])));
        let fetch_site = |v| (header::HeaderName::from_static("sec-fetch-site"), v);
        assert!(from_this_site(&headers(&[host.clone(), fetch_site("same-origin")])));
        assert!(from_this_site(&headers(&[host.clone(), fetch_site("none")])));
        assert!(!from_this_site(&headers(&[host.clone(), fetch_site("same-site")])));
        assert!(!from_this_site(&headers(&[host.clone(), fetch_site("cross-site")])));
        // Neither header: not a browser page; with our cookie, the Referer decides.
        assert!(from_this_site(&headers(std::slice::from_ref(&host))));
        assert!(!from_this_site(&headers(&[host.clone(), (header::COOKIE, "auth_token=x")])));
        let referer = (header::REFERER, "http://a.example:3000/user");
        assert!(from_this_site(&headers(&[host.clone(), (header::COOKIE, "auth_token=x"), referer])));
    }

    #[test]
    fn only_cookie_authenticated_requests_are_checked() {
        assert!(uses_cookie_auth(&headers(&[(header::COOKIE, "auth_token=x")])));
        assert!(!uses_cookie_auth(&headers(&[(header::COOKIE, "other=x")])));
        assert!(!uses_cookie_auth(&headers(&[(header::COOKIE, "auth_token=x"), (header::AUTHORIZATION, "Bearer x")])));
    }
}
