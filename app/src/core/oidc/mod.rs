//! The OpenID Connect provider: other sites sign their users in through
//! us. `jws` signs and checks tokens; `keys` keeps the signing keys every
//! server shares; `clients` the sites an operator registered; `grants` each
//! authorization and its code; `consents` what a person allowed and where
//! they are signed in. The protocol itself is the `oidc` use case.

pub mod clients;
pub mod consents;
pub mod grants;
pub mod jws;
pub mod keys;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use sha2::{Digest, Sha256};

/// Where each endpoint is, below the issuer (`PUBLIC_URL`).
pub const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";
pub const AUTHORIZE_PATH: &str = "/oauth2/authorize";
pub const TOKEN_PATH: &str = "/oauth2/token";
pub const USERINFO_PATH: &str = "/oauth2/userinfo";
pub const JWKS_PATH: &str = "/oauth2/jwks";
pub const REVOCATION_PATH: &str = "/oauth2/revoke";
pub const INTROSPECTION_PATH: &str = "/oauth2/introspect";
pub const END_SESSION_PATH: &str = "/oauth2/logout";
/// The page (one of the app's) where a person allows a third party.
pub const CONSENT_PAGE: &str = "/consent";

/// The scopes we know; others are ignored (OpenID Connect Core §3.1.2.1).
/// `offline_access` asks for a refresh token.
pub const SCOPES: [&str; 5] = ["openid", "profile", "phone", "email", "offline_access"];

/// How long a code works.
pub const CODE_TTL_MS: i64 = 60_000;

/// The discovery document (OpenID Connect Discovery 1.0): what this
/// provider actually supports, and nothing it does not.
pub fn discovery(issuer: &str) -> serde_json::Value {
    let at = |path: &str| format!("{issuer}{path}");
    serde_json::json!({
        "issuer": issuer,
        "authorization_endpoint": at(AUTHORIZE_PATH),
        "token_endpoint": at(TOKEN_PATH),
        "userinfo_endpoint": at(USERINFO_PATH),
        "jwks_uri": at(JWKS_PATH),
        "revocation_endpoint": at(REVOCATION_PATH),
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint": at(INTROSPECTION_PATH),
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "end_session_endpoint": at(END_SESSION_PATH),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "userinfo_signing_alg_values_supported": [],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": SCOPES,
        "claims_supported": [
            "iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "sid", "amr",
            "preferred_username", "nickname", "phone_number", "phone_number_verified", "email", "email_verified",
        ],
        "prompt_values_supported": ["none", "login", "consent"],
        "ui_locales_supported": crate::i18n::Locale::all().map(crate::i18n::Locale::tag).collect::<Vec<_>>(),
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
    })
}

/// Whether `verifier` is a PKCE code verifier (RFC 7636 §4.1) whose S256
/// challenge is `challenge`.
pub fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    well_formed && B64.encode(Sha256::digest(verifier.as_bytes())) == challenge
}

/// Whether `challenge` can be an S256 challenge: 32 bytes in base64url.
pub fn is_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43 && B64.decode(challenge).is_ok_and(|bytes| bytes.len() == 32)
}

/// A code or token as its holder shows it: 256 random bits in base64url.
pub fn new_secret() -> String {
    B64.encode(rand::random::<[u8; 32]>())
}

/// What the database keeps of a code or token: its SHA-256, in hex.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636, Appendix B: its verifier and S256 challenge.
    #[test]
    fn pkce_follows_the_rfc_example() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(is_s256_challenge(challenge));
        assert!(pkce_matches(verifier, challenge));
        assert!(!pkce_matches(challenge, challenge), "plain is not S256");
        assert!(!pkce_matches(&verifier[1..], challenge));
        assert!(!pkce_matches("short", challenge));
        assert!(!is_s256_challenge("plain-challenge"));
    }
}
