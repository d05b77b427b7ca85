//! The `#[server]` functions the pages call: each reads its input, calls one
//! use case in `core`, and maps the error through `AppError`. Wire types are in
//! `crate::wire`; everything behind `ssr` stays on the server.

mod account;
mod consent;
mod deletion;
mod legal;
mod recovery;
mod sign_in;
mod sms;
mod texts;
mod user_centre;

pub use account::*;
pub use consent::*;
pub use deletion::*;
pub use legal::*;
pub use recovery::*;
pub use sign_in::*;
pub use sms::*;
pub use texts::*;
pub use user_centre::*;

#[cfg(feature = "ssr")]
pub(crate) mod context {
    //! What every server function needs from the request, in one place.
    use crate::{
        core::{Client, Core, tokens, use_cases},
        error::AppError,
    };
    use leptos::prelude::*;

    pub fn core() -> Result<Core, AppError> {
        use_context::<Core>().ok_or_else(|| {
            tracing::error!("Core missing from the Leptos context");
            AppError::unexpected()
        })
    }

    pub async fn request_parts() -> Result<http::request::Parts, AppError> {
        leptos_axum::extract::<http::request::Parts>().await.map_err(|_| AppError::unexpected())
    }

    pub async fn client(core: &Core) -> Result<Client, AppError> {
        Ok(core.client_of(&request_parts().await?))
    }

    /// The session token in the request's cookie, if any.
    pub async fn session_token() -> Result<Option<String>, AppError> {
        let parts = request_parts().await?;
        let secure = core()?.settings.secure_cookies;
        Ok(crate::core::tokens::token_from_request(&parts.headers, secure).map(str::to_owned))
    }

    /// The signed-in user, if any (a bad or ended session reads as none).
    pub async fn signed_in(core: &Core) -> Result<Option<use_cases::Authenticated>, AppError> {
        let token = session_token().await?;
        use_cases::authenticate(core, token.as_deref()).await.map_err(|e| fail(use_cases::SessionError::from(e)))
    }

    /// The signed-in user, or a 401.
    pub async fn authenticated(core: &Core) -> Result<use_cases::Authenticated, AppError> {
        signed_in(core).await?.ok_or_else(|| fail(use_cases::SessionError::SignedOut))
    }

    fn set_cookie(cookie: String) {
        if let (Some(response), Ok(value)) =
            (use_context::<leptos_axum::ResponseOptions>(), http::HeaderValue::from_str(&cookie))
        {
            response.append_header(http::header::SET_COOKIE, value);
        }
    }

    /// Puts a new session's token in the cookie.
    pub fn set_session_cookie(core: &Core, signed_in: &crate::wire::SignedIn) {
        let max_age = use_cases::cookie_max_age(core, signed_in.remember);
        set_cookie(tokens::session_cookie(&signed_in.token, max_age, core.settings.secure_cookies));
    }

    pub fn clear_session_cookie(core: &Core) {
        set_cookie(tokens::cleared_cookie(core.settings.secure_cookies));
    }

    /// The error with its message in the request's language: what a server
    /// function sends (the browser has only its page's texts).
    pub fn said(error: impl Into<AppError>) -> AppError {
        error.into().said_in(&crate::i18n::Texts::here())
    }

    /// Sets the response status from the error, and hands it back, its
    /// message in the request's language. A plain
    /// form post (no WASM yet) keeps the redirect back to its page instead,
    /// where the error travels in the URL and shows beside its field.
    pub fn fail(error: impl Into<AppError>) -> AppError {
        let error = said(error);
        let form_post = use_context::<http::request::Parts>().is_some_and(|parts| {
            parts
                .headers
                .get(http::header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("text/html"))
        });
        if let (Some(response), false) = (use_context::<leptos_axum::ResponseOptions>(), form_post) {
            if let Ok(status) = http::StatusCode::from_u16(error.kind.status()) {
                response.set_status(status);
            }
            if let Some(seconds) = error.retry_after {
                response.insert_header(http::header::RETRY_AFTER, http::HeaderValue::from(seconds));
            }
        }
        error
    }
}
