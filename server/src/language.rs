//! The language switch's door: `POST /lang` with `lang` (a locale's tag)
//! sets the `lang` cookie for a year and goes back to the page the switch
//! was on (`next` if the form names it, else the post's `Referer`; only a
//! path of this site), now drawn in the chosen language. A form post, so it
//! works before the WASM has loaded; like every state-changing request it
//! must come from this site (`security::same_origin_for_cookies`).
//!
//! And each request's language for what is said outside a page (the JSON
//! API's error messages): `request_locale` settles it once per request,
//! `texts` reads it.

use app::{
    i18n::{self, Locale},
    rules::safe_next_path,
};
use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
    routing::post,
};
use serde::Deserialize;

tokio::task_local! {
    static REQUEST_LOCALE: Locale;
}

/// Middleware: the request's locale (its `lang` cookie, else its
/// `Accept-Language`, else the default) for everything that answers it.
pub async fn request_locale<F>(
    default: Locale,
    request: axum::extract::Request,
    next: impl FnOnce(axum::extract::Request) -> F,
) -> Response
where
    F: std::future::Future<Output = Response>,
{
    let locale = i18n::locale_of_request(request.headers(), default);
    REQUEST_LOCALE.scope(locale, next(request)).await
}

/// The texts of the request being answered (the reference's outside one).
pub fn texts() -> i18n::Texts {
    i18n::Texts::of(REQUEST_LOCALE.try_with(|locale| *locale).unwrap_or(Locale::REFERENCE))
}

/// A year: the choice outlives the session.
const KEEP_SECONDS: u64 = 365 * 86_400;

/// What the switch needs of the settings.
#[derive(Clone)]
pub struct Switch {
    /// Cookies get `Secure` (the site is served over https).
    pub secure: bool,
    /// The language of an answer to a request that names none we have.
    pub default: Locale,
    /// Whose account keeps the choice, when the switch is pressed signed in.
    pub core: app::core::Core,
}

pub fn router<S: Clone + Send + Sync + 'static>(switch_settings: Switch) -> Router<S> {
    Router::new().route(i18n::SWITCH_PATH, post(switch)).with_state(switch_settings)
}

#[derive(Deserialize)]
struct SwitchForm {
    lang: String,
    #[serde(default)]
    next: String,
}

async fn switch(State(Switch { secure, default, core }): State<Switch>, headers: HeaderMap, body: Bytes) -> Response {
    let form: Option<SwitchForm> = serde_urlencoded::from_bytes(&body).ok();
    let Some((form, locale)) = form.and_then(|f| Locale::from_tag(&f.lang).map(|l| (f, l))) else {
        let texts = i18n::Texts::of(i18n::locale_of_request(&headers, default));
        return (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            texts.language_unknown(),
        )
            .into_response();
    };
    // Signed in: the account keeps it too (a failure costs only that).
    let token = app::core::tokens::token_from_request(&headers, secure);
    if let Err(e) = app::core::use_cases::remember_locale(&core, token, locale).await {
        tracing::warn!(error = %e, "the account's language could not be kept; the cookie still has it");
    }
    let cookie = i18n::lang_set_cookie(locale, Some(KEEP_SECONDS), secure);
    let referer = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| url::Url::parse(v).ok())
        .map(|url| url[url::Position::BeforePath..].to_owned())
        .unwrap_or_default();
    let next = if form.next.is_empty() { referer.as_str() } else { form.next.as_str() };
    let next = safe_next_path(next).unwrap_or("/");
    let mut response = Redirect::to(next).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}
