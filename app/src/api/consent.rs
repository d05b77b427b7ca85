//! Server functions for the consent page (`/consent`): what a third-party
//! application asks, and the person's answer. The answer is a server
//! function, so the same-origin check guards it: another site cannot
//! submit "同意" for a visitor (the authorization endpoint itself takes
//! requests from anywhere).

use crate::{error::AppError, wire::ConsentView};
use leptos::prelude::*;

/// What `request` (an authorization request, as a query) asks; `None` when
/// signed out (the page then sends the visitor to sign in).
#[server(endpoint = "consent_request", output = crate::wire::Answer)]
pub async fn consent_request(request: String) -> Result<Option<ConsentView>, AppError> {
    use super::context::*;
    let core = core()?;
    if signed_in(&core).await?.is_none() {
        return Ok(None);
    }
    Ok(Some(crate::core::use_cases::consent_request(&core, &request).await.map_err(said)?))
}

/// The answer: back to the application with a code (`allow`) or with
/// `access_denied`.
#[server(endpoint = "decide_consent", output = crate::wire::Answer)]
pub async fn decide_consent(request: String, allow: bool) -> Result<(), AppError> {
    use super::context::*;
    use crate::core::use_cases::{self, ConsentDecision};
    let core = core()?;
    let auth = signed_in(&core).await?;
    let decision = if allow { ConsentDecision::Allow } else { ConsentDecision::Deny };
    let next = use_cases::decide_consent(&core, auth.as_ref(), &request, decision).await.map_err(said)?;
    leptos_axum::redirect(&next.location());
    Ok(())
}
