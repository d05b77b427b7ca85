//! What an operator does to the OpenID Connect provider (`server clients
//! ...`, `server keys ...`): registers the sites that sign people in
//! through us, and rotates the signing keys. A client's secret is returned
//! once, when it is made; nothing here returns a private key.

use crate::core::{
    Core,
    db::DbError,
    oidc::{
        clients::{Client, ClientInputError, ClientSecret, NewClient},
        keys::{KeyError, KeyInfo},
    },
};

#[derive(Debug, thiserror::Error)]
pub enum OidcAdminError {
    #[error(transparent)]
    Input(#[from] ClientInputError),
    #[error("no client has the id {0}")]
    NoClient(String),
    #[error("client {0} is public: it has no secret (it uses PKCE)")]
    Public(String),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Keys(#[from] KeyError),
}

/// A client as an operator describes it.
pub struct ClientRegistration<'a> {
    pub name: &'a str,
    pub redirect_uris: &'a [String],
    pub post_logout_redirect_uris: &'a [String],
    /// No secret (an app, or a page): it must use PKCE.
    pub public: bool,
    /// A third party's site: people are asked before it learns who they are.
    pub consent: bool,
}

/// Registers a client; its secret, for a confidential one, is shown now
/// and never again.
pub async fn create_client(
    core: &Core,
    input: &ClientRegistration<'_>,
) -> Result<(Client, Option<ClientSecret>), OidcAdminError> {
    let new = NewClient::parse(
        input.name,
        input.redirect_uris,
        input.post_logout_redirect_uris,
        input.public,
        input.consent,
    )?;
    let (client, secret) = core.db.insert_client(&new).await?;
    tracing::info!(client_id = %client.client_id, public = client.public, "OpenID Connect client registered");
    Ok((client, secret))
}

pub async fn list_clients(core: &Core) -> Result<Vec<Client>, OidcAdminError> {
    Ok(core.db.list_clients().await?)
}

pub async fn show_client(core: &Core, client_id: &str) -> Result<Client, OidcAdminError> {
    core.db.find_client(client_id).await?.ok_or_else(|| OidcAdminError::NoClient(client_id.into()))
}

/// A disabled client can start no sign-in and exchange nothing.
pub async fn set_client_enabled(core: &Core, client_id: &str, enabled: bool) -> Result<Client, OidcAdminError> {
    if !core.db.set_client_enabled(client_id, enabled).await? {
        return Err(OidcAdminError::NoClient(client_id.into()));
    }
    show_client(core, client_id).await
}

/// A new secret for a confidential client; the old one stops working now.
pub async fn rotate_client_secret(core: &Core, client_id: &str) -> Result<(Client, ClientSecret), OidcAdminError> {
    let client = show_client(core, client_id).await?;
    if client.public {
        return Err(OidcAdminError::Public(client_id.into()));
    }
    let secret =
        core.db.rotate_client_secret(client_id).await?.ok_or_else(|| OidcAdminError::NoClient(client_id.into()))?;
    tracing::info!(client_id, "OpenID Connect client secret rotated");
    Ok((show_client(core, client_id).await?, secret))
}

pub async fn delete_client(core: &Core, client_id: &str) -> Result<(), OidcAdminError> {
    if !core.db.delete_client(client_id, super::now_ms()).await? {
        return Err(OidcAdminError::NoClient(client_id.into()));
    }
    tracing::info!(client_id, "OpenID Connect client deleted");
    Ok(())
}

/// Starts a new generation of signing keys (the old ones stay published
/// until their tokens expire); returns every key kept.
pub async fn rotate_signing_keys(core: &Core) -> Result<Vec<KeyInfo>, OidcAdminError> {
    // A first rotation on a database without keys makes generation 1 and
    // rotates to 2: harmless, and one rule.
    core.signing_keys.current().await?;
    let generation = core.signing_keys.rotate().await?;
    tracing::info!(generation, "OpenID Connect signing keys rotated");
    list_signing_keys(core).await
}

/// Every signing key kept, newest first (made on first need).
pub async fn list_signing_keys(core: &Core) -> Result<Vec<KeyInfo>, OidcAdminError> {
    core.signing_keys.current().await?;
    Ok(core.signing_keys.list().await?)
}
