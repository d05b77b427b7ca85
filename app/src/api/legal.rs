//! Server functions for the privacy policy and the terms pages.

use crate::{error::AppError, rules::LegalKind, wire::LegalDocument};
use leptos::prelude::*;

/// The text in force of `kind`, rendered.
#[server(endpoint = "legal_text", output = crate::wire::Answer)]
pub async fn legal_text(kind: LegalKind) -> Result<LegalDocument, AppError> {
    let core = super::context::core()?;
    Ok(crate::core::use_cases::legal_document(&core, kind))
}
