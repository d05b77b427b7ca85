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
use futures::future::BoxFuture;

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
pub fn create_client<'a>(
    core: &'a Core,
    input: &'a ClientRegistration<'_>,
) -> BoxFuture<'a, Result<(Client, Option<ClientSecret>), OidcAdminError>> {
    Box::pin(async move {
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
    })
}

pub fn list_clients<'a>(core: &'a Core) -> BoxFuture<'a, Result<Vec<Client>, OidcAdminError>> {
    Box::pin(async move { Ok(core.db.list_clients().await?) })
}

pub fn show_client<'a>(core: &'a Core, client_id: &'a str) -> BoxFuture<'a, Result<Client, OidcAdminError>> {
    Box::pin(
        async move { core.db.find_client(client_id).await?.ok_or_else(|| OidcAdminError::NoClient(client_id.into())) },
    )
}

/// A disabled client can start no sign-in and exchange nothing.
pub fn set_client_enabled<'a>(
    core: &'a Core,
    client_id: &'a str,
    enabled: bool,
) -> BoxFuture<'a, Result<Client, OidcAdminError>> {
    Box::pin(async move {
        if !core.db.set_client_enabled(client_id, enabled).await? {
            return Err(OidcAdminError::NoClient(client_id.into()));
        }
        show_client(core, client_id).await
    })
}

/// A new secret for a confidential client; the old one stops working now.
pub fn rotate_client_secret<'a>(
    core: &'a Core,
    client_id: &'a str,
) -> BoxFuture<'a, Result<(Client, ClientSecret), OidcAdminError>> {
    Box::pin(async move {
        let client = show_client(core, client_id).await?;
        if client.public {
            return Err(OidcAdminError::Public(client_id.into()));
        }
        let secret =
            core.db.rotate_client_secret(client_id).await?.ok_or_else(|| OidcAdminError::NoClient(client_id.into()))?;
        tracing::info!(client_id, "OpenID Connect client secret rotated");
        Ok((show_client(core, client_id).await?, secret))
    })
}

pub fn delete_client<'a>(core: &'a Core, client_id: &'a str) -> BoxFuture<'a, Result<(), OidcAdminError>> {
    Box::pin(async move {
        if !core.db.delete_client(client_id, super::now_ms()).await? {
            return Err(OidcAdminError::NoClient(client_id.into()));
        }
        tracing::info!(client_id, "OpenID Connect client deleted");
        Ok(())
    })
}

/// Starts a new generation of signing keys (the old ones stay published
/// until their tokens expire); returns every key kept.
pub fn rotate_signing_keys<'a>(core: &'a Core) -> BoxFuture<'a, Result<Vec<KeyInfo>, OidcAdminError>> {
    Box::pin(async move {
        // A first rotation on a database without keys makes generation 1 and
        // rotates to 2: harmless, and one rule.
        core.signing_keys.current().await?;
        let generation = core.signing_keys.rotate().await?;
        tracing::info!(generation, "OpenID Connect signing keys rotated");
        list_signing_keys(core).await
    })
}

/// Every signing key kept, newest first (made on first need).
pub fn list_signing_keys<'a>(core: &'a Core) -> BoxFuture<'a, Result<Vec<KeyInfo>, OidcAdminError>> {
    Box::pin(async move {
        core.signing_keys.current().await?;
        Ok(core.signing_keys.list().await?)
    })
}
