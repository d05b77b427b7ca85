//! Server functions for the privacy policy and the terms pages.

use crate::{error::AppError, rules::LegalKind, wire::LegalDocument};
use leptos::prelude::*;

/// The text in force of `kind`, rendered.
#[server(endpoint = "legal_text", output = crate::wire::Answer)]
pub async fn legal_text(kind: LegalKind) -> Result<LegalDocument, AppError> {
    let core = super::context::core()?;
    Ok(crate::core::use_cases::legal_document(&core, kind))
}

/// The texts the signed-in person must accept before going on (each in
/// force, rendered); `None` when signed out.
#[server(endpoint = "texts_to_accept", output = crate::wire::Answer)]
pub async fn texts_to_accept() -> Result<Option<Vec<LegalDocument>>, AppError> {
    use super::context::*;
    use crate::core::use_cases;
    let core = core()?;
    let Some(auth) = signed_in(&core).await? else { return Ok(None) };
    let kinds = use_cases::texts_to_accept(&core, &auth).await.map_err(fail)?;
    Ok(Some(kinds.into_iter().map(|kind| use_cases::legal_document(&core, kind)).collect()))
}

/// Accepts the versions the page showed (each must still be in force),
/// then goes on to `next`.
#[server(endpoint = "accept_texts", output = crate::wire::Answer)]
pub async fn accept_texts(
    #[server(default)] privacy: Option<String>,
    #[server(default)] terms: Option<String>,
    #[server(default)] next: Option<String>,
) -> Result<(), AppError> {
    use super::context::*;
    let core = core()?;
    let auth = authenticated(&core).await?;
    let client = client(&core).await?;
    for (kind, version) in [(LegalKind::Privacy, privacy), (LegalKind::Terms, terms)] {
        if let Some(version) = version {
            crate::core::use_cases::accept_text(&core, &client, &auth, kind.as_str(), &version).await.map_err(fail)?;
        }
    }
    leptos_axum::redirect(next.as_deref().and_then(crate::rules::safe_next_path).unwrap_or("/"));
    Ok(())
}
