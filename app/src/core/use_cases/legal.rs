//! Accepting the privacy policy and the terms: what a person accepted and
//! when (for them to see, and for the operator to prove), and accepting a
//! new version. Registration records the first acceptance itself.

use super::{Authenticated, dependency_down, now_ms};
use crate::i18n::Text;
use crate::{
    core::{Client, Core, db::DbError, legal::NewAcceptance},
    error::{AppError, ErrorCode, ErrorKind},
    rules::LegalKind,
    wire::{AcceptanceView, LegalDocument},
};
use futures::future::BoxFuture;

#[derive(Debug, thiserror::Error)]
pub enum LegalError {
    #[error("no such text")]
    UnknownKind,
    /// The version accepted is not the one in force: the person read
    /// another text.
    #[error("not the current version")]
    NotCurrent,
    #[error(transparent)]
    Db(#[from] DbError),
}

/// A text as its page shows it.
pub fn legal_document(core: &Core, kind: LegalKind) -> LegalDocument {
    let text = core.settings.legal.get(kind);
    LegalDocument { kind, version: text.version.clone(), html: text.html.clone() }
}

/// The texts whose version in force the signed-in person has not accepted.
pub fn texts_to_accept<'a>(
    core: &'a Core,
    auth: &'a Authenticated,
) -> BoxFuture<'a, Result<Vec<LegalKind>, LegalError>> {
    Box::pin(async move { Ok(core.db.texts_to_accept(auth.user.id, &core.settings.legal).await?) })
}

/// Every acceptance of the signed-in person, the latest first.
pub fn list_acceptances<'a>(
    core: &'a Core,
    auth: &'a Authenticated,
) -> BoxFuture<'a, Result<Vec<AcceptanceView>, LegalError>> {
    Box::pin(async move {
        let rows = core.db.acceptances(auth.user.id).await?;
        Ok(rows
            .into_iter()
            .map(|row| AcceptanceView { kind: row.kind, version: row.version, accepted_at: row.accepted_at })
            .collect())
    })
}

/// Records that the signed-in person accepts `version` of `kind`, which
/// must be the version in force.
pub fn accept_text<'a>(
    core: &'a Core,
    client: &'a Client,
    auth: &'a Authenticated,
    kind: &'a str,
    version: &'a str,
) -> BoxFuture<'a, Result<(), LegalError>> {
    Box::pin(async move {
        let kind = LegalKind::parse(kind).ok_or(LegalError::UnknownKind)?;
        if core.settings.legal.get(kind).version != version {
            return Err(LegalError::NotCurrent);
        }
        let ip = client.ip.to_string();
        let accepted =
            NewAcceptance { kind, version, now_ms: now_ms(), client_ip: &ip, user_agent: &client.user_agent };
        core.db.record_acceptances(auth.user.id, &[accepted]).await?;
        tracing::info!(user_id = auth.user.id, kind = kind.as_str(), version, "a text was accepted");
        Ok(())
    })
}

impl From<LegalError> for AppError {
    fn from(e: LegalError) -> AppError {
        match e {
            LegalError::UnknownKind => {
                AppError::field("kind", ErrorCode::UnknownKind, Text::error_legal_unknown_kind())
            }
            LegalError::NotCurrent => AppError::new(
                ErrorKind::Conflict,
                ErrorCode::VersionNotCurrent,
                Text::error_legal_version_not_current(),
            ),
            LegalError::Db(e) => dependency_down("legal", "database", &e),
        }
    }
}
