//! The sites that sign people in through us, registered by an operator
//! (`server clients ...`): a name, the exact redirect URIs, whether it is
//! confidential (a secret, shown once and kept only as its SHA-256) or
//! public (no secret: an app or a page, which must use PKCE), and whether
//! it asks the person's consent first (a third party's site).

use crate::core::{
    db::{Database, DbError, on_pool},
    now_ms,
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use sha2::{Digest, Sha256};

/// The longest redirect URI we keep (browsers handle far more; a client
/// needs far less).
const URI_MAX: usize = 2000;
const NAME_MAX: usize = 64;

/// A redirect URI a client may be sent back to, kept exactly as registered:
/// a request must name it character for character. Absolute, without a
/// fragment or credentials; `https`, or `http` on this machine's loopback
/// (a developer, a native app's local listener), or a private-use scheme
/// named after a domain (`com.example.app:/callback`, RFC 8252 §7.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedirectUri(String);

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClientInputError {
    #[error("redirect URI {0:?}: {1}")]
    RedirectUri(String, &'static str),
    #[error("the name must be 1 to {NAME_MAX} characters, without control characters")]
    Name,
    #[error("a client needs at least one redirect URI")]
    NoRedirectUri,
}

impl RedirectUri {
    pub fn parse(raw: &str) -> Result<RedirectUri, ClientInputError> {
        let refuse = |why| ClientInputError::RedirectUri(raw.to_owned(), why);
        if raw.len() > URI_MAX {
            return Err(refuse("too long"));
        }
        let url = url::Url::parse(raw).map_err(|_| refuse("not an absolute URI"))?;
        if url.as_str() != raw && url.as_str() != format!("{raw}/") {
            // What we keep must be what clients send: no spelling the parser
            // would change (case, dot segments, escapes) is let in.
            return Err(refuse("not in its normal form (as a browser would send it)"));
        }
        if url.fragment().is_some() {
            return Err(refuse("a fragment is not allowed"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(refuse("credentials are not allowed"));
        }
        let loopback = matches!(url.host(), Some(url::Host::Domain("localhost")))
            || matches!(url.host(), Some(url::Host::Ipv4(ip)) if ip.is_loopback())
            || matches!(url.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback());
        match url.scheme() {
            "https" => {}
            "http" if loopback => {}
            "http" => return Err(refuse("http only on the loopback; use https")),
            scheme if scheme.contains('.') => {}
            _ => return Err(refuse("https, loopback http, or a private-use scheme such as com.example.app")),
        }
        Ok(RedirectUri(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A client's name as the consent page shows it.
fn parse_name(raw: &str) -> Result<String, ClientInputError> {
    let name = raw.trim();
    let length = name.chars().count();
    if length == 0 || length > NAME_MAX || name.chars().any(char::is_control) {
        return Err(ClientInputError::Name);
    }
    Ok(name.to_owned())
}

/// What an operator asks for.
pub struct NewClient {
    pub name: String,
    pub redirect_uris: Vec<RedirectUri>,
    pub post_logout_redirect_uris: Vec<RedirectUri>,
    pub public: bool,
    pub consent: bool,
}

impl NewClient {
    pub fn parse(
        name: &str,
        redirect_uris: &[String],
        post_logout_redirect_uris: &[String],
        public: bool,
        consent: bool,
    ) -> Result<NewClient, ClientInputError> {
        let parse_all = |raw: &[String]| raw.iter().map(|u| RedirectUri::parse(u)).collect::<Result<Vec<_>, _>>();
        let redirect_uris = parse_all(redirect_uris)?;
        if redirect_uris.is_empty() {
            return Err(ClientInputError::NoRedirectUri);
        }
        Ok(NewClient {
            name: parse_name(name)?,
            redirect_uris,
            post_logout_redirect_uris: parse_all(post_logout_redirect_uris)?,
            public,
            consent,
        })
    }
}

/// A registered client, as stored; its secret only as a hash.
#[derive(Clone, Debug, sqlx::FromRow)]
struct ClientRow {
    client_id: String,
    name: String,
    secret_hash: Option<String>,
    redirect_uris: String,
    post_logout_redirect_uris: String,
    consent: bool,
    enabled: bool,
    created_at: i64,
    updated_at: i64,
}

/// A registered client.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Client {
    pub client_id: String,
    pub name: String,
    /// No secret: it must use PKCE.
    pub public: bool,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub consent: bool,
    pub enabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
    #[serde(skip)]
    secret_hash: Option<String>,
}

impl Client {
    /// Whether `presented` is this confidential client's secret. (The
    /// digests are compared, not the secrets: timing tells nothing of the
    /// secret through a hash.)
    pub fn secret_matches(&self, presented: &str) -> bool {
        self.secret_hash.as_deref().is_some_and(|hash| hash == secret_hash(presented))
    }

    /// Whether `uri` is one of its redirect URIs, exactly.
    pub fn redirects_to(&self, uri: &str) -> bool {
        self.redirect_uris.iter().any(|registered| registered == uri)
    }
}

impl TryFrom<ClientRow> for Client {
    type Error = DbError;
    fn try_from(row: ClientRow) -> Result<Client, DbError> {
        let list = |json: &str| {
            serde_json::from_str::<Vec<String>>(json)
                .map_err(|e| DbError::Unavailable(sqlx::Error::Decode(Box::new(e))))
        };
        Ok(Client {
            public: row.secret_hash.is_none(),
            redirect_uris: list(&row.redirect_uris)?,
            post_logout_redirect_uris: list(&row.post_logout_redirect_uris)?,
            client_id: row.client_id,
            name: row.name,
            consent: row.consent,
            enabled: row.enabled,
            created_at: row.created_at,
            updated_at: row.updated_at,
            secret_hash: row.secret_hash,
        })
    }
}

/// A client secret: 256 random bits, shown to the operator once.
pub struct ClientSecret(pub String);

impl ClientSecret {
    fn generate() -> ClientSecret {
        ClientSecret(B64.encode(rand::random::<[u8; 32]>()))
    }
}

fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

const COLUMNS: &str = "client_id, name, secret_hash, redirect_uris, post_logout_redirect_uris, consent, enabled, \
                       created_at, updated_at";

impl Database {
    /// Registers `new`; returns it, and its secret when it is confidential.
    pub async fn insert_client(&self, new: &NewClient) -> Result<(Client, Option<ClientSecret>), DbError> {
        let client_id = hex::encode(rand::random::<[u8; 16]>());
        let secret = (!new.public).then(ClientSecret::generate);
        let uris = |list: &[RedirectUri]| {
            serde_json::Value::from(list.iter().map(|u| u.as_str()).collect::<Vec<_>>()).to_string()
        };
        let now = now_ms();
        let q = format!("INSERT INTO oidc_clients ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, TRUE, $7, $7)");
        on_pool!(self, |pool| sqlx::query(sqlx::AssertSqlSafe(q.as_str()))
            .bind(&client_id)
            .bind(&new.name)
            .bind(secret.as_ref().map(|s| secret_hash(&s.0)))
            .bind(uris(&new.redirect_uris))
            .bind(uris(&new.post_logout_redirect_uris))
            .bind(new.consent)
            .bind(now)
            .execute(pool)
            .await
            .map(|_| ()))?;
        let client = self.find_client(&client_id).await?.ok_or(DbError::Unavailable(sqlx::Error::RowNotFound))?;
        Ok((client, secret))
    }

    pub async fn find_client(&self, client_id: &str) -> Result<Option<Client>, DbError> {
        let q = format!("SELECT {COLUMNS} FROM oidc_clients WHERE client_id = $1");
        let row: Option<ClientRow> = on_pool!(self, |pool| sqlx::query_as(sqlx::AssertSqlSafe(q.as_str()))
            .bind(client_id)
            .fetch_optional(pool)
            .await)?;
        row.map(Client::try_from).transpose()
    }

    /// Every client, oldest first.
    pub async fn list_clients(&self) -> Result<Vec<Client>, DbError> {
        let q = format!("SELECT {COLUMNS} FROM oidc_clients ORDER BY created_at, client_id");
        let rows: Vec<ClientRow> =
            on_pool!(self, |pool| sqlx::query_as(sqlx::AssertSqlSafe(q.as_str())).fetch_all(pool).await)?;
        rows.into_iter().map(Client::try_from).collect()
    }

    /// False when there is no such client.
    pub async fn set_client_enabled(&self, client_id: &str, enabled: bool) -> Result<bool, DbError> {
        let q = "UPDATE oidc_clients SET enabled = $2, updated_at = $3 WHERE client_id = $1";
        Ok(on_pool!(self, |pool| sqlx::query(q)
            .bind(client_id)
            .bind(enabled)
            .bind(now_ms())
            .execute(pool)
            .await
            .map(|r| r.rows_affected() == 1))?)
    }

    /// A new secret for a confidential client (the old one stops working);
    /// `None` when there is no such confidential client.
    pub async fn rotate_client_secret(&self, client_id: &str) -> Result<Option<ClientSecret>, DbError> {
        let secret = ClientSecret::generate();
        let q = "UPDATE oidc_clients SET secret_hash = $2, updated_at = $3 WHERE client_id = $1 \
                 AND secret_hash IS NOT NULL";
        let changed = on_pool!(self, |pool| sqlx::query(q)
            .bind(client_id)
            .bind(secret_hash(&secret.0))
            .bind(now_ms())
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok((changed == 1).then_some(secret))
    }

    /// Deletes a client, the consents people gave it and (revoked) its
    /// grants. False when there is no such client.
    pub async fn delete_client(&self, client_id: &str, now_ms: i64) -> Result<bool, DbError> {
        let grants = "UPDATE oidc_grants SET revoked_at = $2 WHERE client_id = $1 AND revoked_at IS NULL";
        let consents = "DELETE FROM oidc_consents WHERE client_id = $1";
        let client = "DELETE FROM oidc_clients WHERE client_id = $1";
        Ok(on_pool!(self, |pool| async {
            let mut tx = pool.begin().await?;
            sqlx::query(grants).bind(client_id).bind(now_ms).execute(&mut *tx).await?;
            sqlx::query(consents).bind(client_id).execute(&mut *tx).await?;
            let deleted = sqlx::query(client).bind(client_id).execute(&mut *tx).await?.rows_affected();
            tx.commit().await?;
            Ok::<_, sqlx::Error>(deleted == 1)
        }
        .await)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_are_kept_exactly_and_only_safe_ones() {
        for good in [
            "https://shop.example.com/oidc/callback",
            "https://shop.example.com/cb?from=oidc",
            "http://localhost:8080/callback",
            "http://127.0.0.1:5173/cb",
            "http://[::1]:9000/cb",
            "com.example.app:/oauth2redirect",
        ] {
            assert_eq!(RedirectUri::parse(good).map(|u| u.0), Ok(good.to_owned()));
        }
        for bad in [
            "/callback",
            "shop.example.com/cb",
            "https://shop.example.com/cb#frag",
            "https://user:pw@shop.example.com/cb",
            "http://shop.example.com/cb",
            "javascript:alert(1)",
            "data:text/html,x",
            "HTTPS://Shop.Example.com/cb",
            "https://shop.example.com/a/../cb",
            "",
        ] {
            assert!(RedirectUri::parse(bad).is_err(), "{bad}");
        }
        assert!(RedirectUri::parse(&format!("https://example.com/{}", "a".repeat(URI_MAX))).is_err());
    }

    #[test]
    fn a_name_is_short_and_printable() {
        assert_eq!(parse_name("  Demo 商城 "), Ok("Demo 商城".into()));
        for bad in ["", "   ", "a\nb", &"名".repeat(NAME_MAX + 1)] {
            assert_eq!(parse_name(bad), Err(ClientInputError::Name), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn a_secret_is_shown_once_and_kept_as_a_hash() {
        let dir = std::env::temp_dir().join(format!("clients-{}", uuid::Uuid::new_v4().simple()));
        let db = Database::connect(&format!("sqlite://{}/app.db", dir.display())).await.unwrap();
        db.migrate().await.unwrap();
        let new = NewClient::parse("Demo 商城", &["https://shop.example.com/cb".into()], &[], false, true).unwrap();
        let (client, secret) = db.insert_client(&new).await.unwrap();
        let secret = secret.unwrap();
        assert!(client.secret_matches(&secret.0) && !client.secret_matches("guess") && !client.public);
        let stored: String =
            on_pool!(&db, |pool| sqlx::query_scalar("SELECT secret_hash FROM oidc_clients").fetch_one(pool).await)
                .unwrap();
        assert!(!stored.contains(&secret.0), "only a hash is stored");
        assert!(!serde_json::to_string(&client).unwrap().contains(&stored), "nor printed");
        assert!(
            client.redirects_to("https://shop.example.com/cb") && !client.redirects_to("https://shop.example.com/cb/")
        );

        let rotated = db.rotate_client_secret(&client.client_id).await.unwrap().unwrap();
        let reread = db.find_client(&client.client_id).await.unwrap().unwrap();
        assert!(reread.secret_matches(&rotated.0) && !reread.secret_matches(&secret.0));

        let public = NewClient::parse("App", &["com.example.app:/cb".into()], &[], true, false).unwrap();
        let (public, none) = db.insert_client(&public).await.unwrap();
        assert!(none.is_none() && public.public && !public.secret_matches(""));
        assert!(db.rotate_client_secret(&public.client_id).await.unwrap().is_none(), "a public client has none");
        let _ = std::fs::remove_dir_all(dir);
    }
}
