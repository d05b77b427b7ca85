//! The `#[server]` functions the pages call: each reads its input, calls one
//! use case in `core`, and maps the error through `AppError`. Wire types are in
//! `crate::wire`; everything behind `ssr` stays on the server.

mod account;
mod sms;

pub use account::*;
pub use sms::*;

#[cfg(feature = "ssr")]
pub(crate) mod context {
    //! What every server function needs from the request, in one place.
    use crate::{
        core::{Client, Core},
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
        Ok(crate::core::tokens::token_from_request(&parts.headers).map(str::to_owned))
    }

    /// Sets the response status from the error, and hands it back. A plain
    /// form post (no WASM yet) keeps the redirect back to its page instead,
    /// where the error travels in the URL and shows beside its field.
    pub fn fail(error: impl Into<AppError>) -> AppError {
        let error = error.into();
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
