//! Session tokens: an HS256-signed JWT (RFC 7519) naming the user (`sub`),
//! its expiry (`exp`) and a session id (`sid`), carried in an HttpOnly
//! cookie. And the tokens of the links the site mails (`LinkToken`).
//!
//! The JWT is made here from the HMAC below, not by `jsonwebtoken`: its one
//! algorithm is a MAC and a base64url, and that crate's backend brings
//! P-256, P-384, Ed25519 and their arithmetic into the release build for it
//! (18 crates). `jsonwebtoken` is still what the tests check these tokens
//! with, both ways.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const COOKIE_NAME: &str = "auth_token";
/// The name over https: a `__Host-` cookie is accepted by browsers only
/// with `Secure`, `Path=/` and no `Domain`, so a sibling subdomain cannot
/// plant one (session fixation).
pub const SECURE_COOKIE_NAME: &str = "__Host-auth_token";

/// The token cookie's name: `__Host-` prefixed when cookies are secure.
pub fn cookie_name(secure: bool) -> &'static str {
    if secure { SECURE_COOKIE_NAME } else { COOKIE_NAME }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub exp: u64,
    pub iat: u64,
    pub sid: String,
}

impl Claims {
    pub fn user_id(&self) -> Option<i64> {
        self.sub.parse().ok()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the token is not valid: {0}")]
    Invalid(String),
    #[error("signing failed: {0}")]
    Signing(String),
}

#[derive(Clone)]
pub struct Tokens {
    secret: SecretString,
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// A short tag's length: half of HMAC-SHA256, still 2^128 forgeries.
const SHORT_TAG_BYTES: usize = 16;

impl Tokens {
    pub fn new(secret: SecretString) -> Tokens {
        Tokens { secret }
    }

    /// A token for `user_id` naming the session `session_id`, valid for `ttl`.
    pub fn issue(&self, user_id: i64, session_id: &str, ttl: Duration) -> Result<String, TokenError> {
        let now = unix_now();
        let claims =
            Claims { sub: user_id.to_string(), iat: now, exp: now + ttl.as_secs(), sid: session_id.to_owned() };
        let claims = serde_json::to_vec(&claims).map_err(|e| TokenError::Signing(e.to_string()))?;
        let mut token = format!("{}.{}", B64.encode(JWT_HEADER), B64.encode(claims));
        let tag = self.jwt_mac(token.as_bytes()).finalize().into_bytes();
        token.push('.');
        token.push_str(&B64.encode(tag));
        Ok(token)
    }

    /// The claims of `token` if its signature holds (HS256 only: `alg:
    /// none` and every other algorithm are refused, whatever the header
    /// says) and it has not expired (`exp` is the first second it is not
    /// valid, RFC 7519 4.1.4; no leeway).
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let invalid = |why: &str| TokenError::Invalid(why.to_owned());
        let mut parts = token.split('.');
        let (Some(header), Some(claims), Some(tag), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid("not a compact JWS"));
        };
        let decode = |part: &str| B64.decode(part).map_err(|_| invalid("not base64url"));
        let header: JwtHeader = serde_json::from_slice(&decode(header)?).map_err(|_| invalid("the header"))?;
        if header.alg != "HS256" {
            return Err(invalid("not HS256"));
        }
        let signed = &token.as_bytes()[..token.len() - tag.len() - 1];
        self.jwt_mac(signed).verify_slice(&decode(tag)?).map_err(|_| invalid("the signature does not verify"))?;
        let claims: Claims = serde_json::from_slice(&decode(claims)?).map_err(|_| invalid("the claims"))?;
        if unix_now() >= claims.exp {
            return Err(invalid("expired"));
        }
        Ok(claims)
    }

    /// A MAC of `message` under the secret, for `purpose` (so that a tag
    /// made for one use is never valid for another), URL-safe.
    pub fn tag(&self, purpose: &str, message: &str) -> String {
        hex::encode(self.mac(purpose, message).finalize().into_bytes())
    }

    /// Whether `tag` is `tag(purpose, message)`, compared in constant time.
    pub fn tag_matches(&self, purpose: &str, message: &str, tag: &str) -> bool {
        let Ok(bytes) = hex::decode(tag) else { return false };
        self.mac(purpose, message).verify_slice(&bytes).is_ok()
    }

    /// `tag` cut to its first 128 bits (32 hex digits), for where every
    /// byte costs: the proof-of-work challenge is hashed once per try.
    pub fn short_tag(&self, purpose: &str, message: &str) -> String {
        hex::encode(&self.mac(purpose, message).finalize().into_bytes()[..SHORT_TAG_BYTES])
    }

    /// Whether `tag` is `short_tag(purpose, message)`, in constant time.
    pub fn short_tag_matches(&self, purpose: &str, message: &str, tag: &str) -> bool {
        let Ok(bytes) = hex::decode(tag) else { return false };
        bytes.len() == SHORT_TAG_BYTES && self.mac(purpose, message).verify_truncated_left(&bytes).is_ok()
    }

    fn mac(&self, purpose: &str, message: &str) -> Hmac<Sha256> {
        let mut mac = self.keyed_mac();
        mac.update(purpose.as_bytes());
        mac.update(b"\0");
        mac.update(message.as_bytes());
        mac
    }

    /// The JWT's MAC: HMAC-SHA256 of the signing input under the secret
    /// alone (RFC 7518 3.2), which is what makes it HS256.
    fn jwt_mac(&self, signing_input: &[u8]) -> Hmac<Sha256> {
        let mut mac = self.keyed_mac();
        mac.update(signing_input);
        mac
    }

    /// HMAC-SHA256 keyed with the secret, nothing fed yet.
    fn keyed_mac(&self) -> Hmac<Sha256> {
        // HMAC takes a key of any length: this cannot fail.
        Hmac::<Sha256>::new_from_slice(self.secret.expose_secret().as_bytes()).unwrap_or_else(|_| unreachable!())
    }
}

/// The header every session token carries, as `jsonwebtoken` wrote it (so
/// a token is the same bytes it was).
const JWT_HEADER: &str = r#"{"typ":"JWT","alg":"HS256"}"#;

/// The header member a check reads.
#[derive(Deserialize)]
struct JwtHeader {
    alg: String,
}

/// The token of a link the site mails (a password reset, an e-mail
/// verification): 256 random bits as 64 hex digits. The database keeps only
/// its SHA-256, so a copy of the database opens no link.
#[derive(Clone, PartialEq, Eq)]
pub struct LinkToken(String);

impl LinkToken {
    const BYTES: usize = 32;

    pub fn generate() -> LinkToken {
        let bytes: [u8; Self::BYTES] = rand::random();
        LinkToken(hex::encode(bytes))
    }

    /// A token as a link brings it back: exactly the shape we issue (a
    /// truncated or padded one is not looked up at all).
    pub fn parse(raw: &str) -> Option<LinkToken> {
        let raw = raw.trim();
        let shaped =
            raw.len() == Self::BYTES * 2 && raw.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        shaped.then(|| LinkToken(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What the database keeps.
    pub fn hash(&self) -> String {
        use sha2::Digest;
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }
}

impl std::fmt::Debug for LinkToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkToken(..)")
    }
}

/// The `Set-Cookie` value carrying a token. `max_age: None` makes a
/// browser-session cookie.
pub fn session_cookie(token: &str, max_age: Option<Duration>, secure: bool) -> String {
    let mut cookie = format!("{}={token}; Path=/; HttpOnly; SameSite=Lax", cookie_name(secure));
    if let Some(age) = max_age {
        cookie.push_str(&format!("; Max-Age={}", age.as_secs()));
    }
    if secure {
        cookie.push_str("; Secure");
    }
    cookie
}

/// The `Set-Cookie` value that deletes the token cookie.
pub fn cleared_cookie(secure: bool) -> String {
    let mut cookie = format!("{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0", cookie_name(secure));
    if secure {
        cookie.push_str("; Secure");
    }
    cookie
}

/// The token in a `Cookie` request header, if any: only under the name the
/// site sets (over https an unprefixed cookie may have been planted).
pub fn token_from_cookie_header(header: &str, secure: bool) -> Option<&str> {
    cookie_value(header, cookie_name(secure)).filter(|v| !v.is_empty())
}

/// The value of cookie `name` in a `Cookie` request header, if it is there.
pub fn cookie_value<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').filter_map(|pair| pair.trim().split_once('=')).find(|(n, _)| *n == name).map(|(_, value)| value)
}

/// Whether a `Cookie` header carries a token cookie under either name.
pub fn has_token_cookie(header: &str) -> bool {
    token_from_cookie_header(header, false).is_some() || token_from_cookie_header(header, true).is_some()
}

/// The token of a request: `Authorization: Bearer`, else the cookie.
pub fn token_from_request(headers: &http::HeaderMap, secure: bool) -> Option<&str> {
    let bearer = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    bearer.or_else(|| {
        headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| token_from_cookie_header(v, secure))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    fn tokens(secret: &str) -> Tokens {
        Tokens::new(SecretString::from(secret.to_owned()))
    }

    #[test]
    fn an_issued_token_verifies_and_names_its_user() {
        let t = tokens("k1");
        let claims = t.verify(&t.issue(42, "s1", HOUR).unwrap()).unwrap();
        assert_eq!(claims.user_id(), Some(42));
        assert_eq!(claims.sid, "s1");
        assert!(claims.exp > claims.iat);
    }

    #[test]
    fn a_tag_holds_for_its_purpose_message_and_key_only() {
        let (ours, theirs) = (tokens(&"k".repeat(32)), tokens(&"j".repeat(32)));
        let tag = ours.tag("action_error", "/api/register\nabc");
        assert!(ours.tag_matches("action_error", "/api/register\nabc", &tag));
        assert!(!ours.tag_matches("action_error", "/api/register\nabd", &tag));
        assert!(!ours.tag_matches("other", "/api/register\nabc", &tag));
        assert!(!theirs.tag_matches("action_error", "/api/register\nabc", &tag));
        assert!(!ours.tag_matches("action_error", "/api/register\nabc", &tag[..62]));
        assert!(!ours.tag_matches("action_error", "/api/register\nabc", "zz"));
        assert!(!ours.tag_matches("action_error", "/api/register\nabc", "é"));
    }

    #[test]
    fn a_short_tag_is_the_tag_cut_and_holds_only_whole() {
        let (ours, theirs) = (tokens(&"k".repeat(32)), tokens(&"j".repeat(32)));
        let short = ours.short_tag("pow", "1.abc");
        assert_eq!(short.len(), 32);
        assert!(ours.tag("pow", "1.abc").starts_with(&short));
        assert!(ours.short_tag_matches("pow", "1.abc", &short));
        assert!(!ours.short_tag_matches("pow", "1.abd", &short));
        assert!(!ours.short_tag_matches("other", "1.abc", &short));
        assert!(!theirs.short_tag_matches("pow", "1.abc", &short));
        // Shorter or longer is not the tag, even when it starts the same.
        assert!(!ours.short_tag_matches("pow", "1.abc", &short[..30]));
        assert!(!ours.short_tag_matches("pow", "1.abc", &ours.tag("pow", "1.abc")));
        assert!(!ours.short_tag_matches("pow", "1.abc", ""));
    }

    #[test]
    fn a_link_token_is_256_random_bits_kept_as_a_hash() {
        let (a, b) = (LinkToken::generate(), LinkToken::generate());
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 64);
        assert_eq!(LinkToken::parse(a.as_str()), Some(a.clone()));
        assert_eq!(a.hash().len(), 64);
        assert_ne!(a.hash(), a.as_str());
        assert_ne!(a.hash(), b.hash());
        assert!(!format!("{a:?}").contains(a.as_str()), "never in logs");
        // Truncated, padded, upper-cased, or not hex: not a token.
        for bad in [&a.as_str()[..63], &format!("{}0", a.as_str()), &a.as_str().to_uppercase(), &"g".repeat(64), ""] {
            assert_eq!(LinkToken::parse(bad), None, "{bad}");
        }
    }

    /// What no one here wrote reads our tokens, and makes tokens we read
    /// (the cookies issued before we signed them ourselves stay valid).
    #[test]
    fn jsonwebtoken_reads_our_tokens_and_we_read_its() {
        use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
        let secret = "k".repeat(32);
        let t = tokens(&secret);
        let ours = t.issue(42, "s1", HOUR).unwrap();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "sub"]);
        let read = jsonwebtoken::decode::<Claims>(&ours, &DecodingKey::from_secret(secret.as_bytes()), &validation)
            .unwrap()
            .claims;
        assert_eq!(t.verify(&ours).unwrap(), read);
        let theirs =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &read, &EncodingKey::from_secret(secret.as_bytes()))
                .unwrap();
        assert_eq!(theirs, ours, "the same bytes as before");
        // Another header's form (members reordered, no typ) is still HS256.
        let other_header = jsonwebtoken::encode(
            &Header { typ: None, ..Header::new(Algorithm::HS256) },
            &read,
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap();
        assert_eq!(t.verify(&other_header).unwrap(), read);
    }

    #[test]
    fn another_algorithm_under_the_same_secret_is_refused() {
        use jsonwebtoken::{Algorithm, EncodingKey, Header};
        let secret = "k".repeat(32);
        let claims = tokens(&secret).verify(&tokens(&secret).issue(42, "s1", HOUR).unwrap()).unwrap();
        for alg in [Algorithm::HS384, Algorithm::HS512] {
            let token =
                jsonwebtoken::encode(&Header::new(alg), &claims, &EncodingKey::from_secret(secret.as_bytes())).unwrap();
            assert!(tokens(&secret).verify(&token).is_err(), "{alg:?}");
        }
    }

    #[test]
    fn a_token_without_its_claims_or_its_shape_is_refused() {
        let t = tokens("k1");
        let token = t.issue(42, "s1", HOUR).unwrap();
        let sign = |claims: &str| {
            let input = format!("{}.{}", B64.encode(JWT_HEADER), B64.encode(claims));
            let tag = B64.encode(t.jwt_mac(input.as_bytes()).finalize().into_bytes());
            format!("{input}.{tag}")
        };
        assert!(t.verify(&sign(r#"{"sub":"42","exp":99999999999,"iat":0,"sid":"s1"}"#)).is_ok(), "the control");
        assert!(t.verify(&sign(r#"{"sub":"42","iat":0,"sid":"s1"}"#)).is_err(), "no exp");
        assert!(t.verify(&sign(r#"{"exp":99999999999,"iat":0,"sid":"s1"}"#)).is_err(), "no sub");
        assert!(t.verify(&format!("{token}.")).is_err(), "four parts");
        assert!(t.verify(token.rsplit_once('.').unwrap().0).is_err(), "two parts");
        assert!(t.verify(&format!("{token}=")).is_err(), "padded");
        assert!(t.verify("").is_err());
    }

    #[test]
    fn a_token_signed_with_another_key_is_refused() {
        assert!(tokens("k2").verify(&tokens("k1").issue(42, "s1", HOUR).unwrap()).is_err());
    }

    #[test]
    fn a_tampered_token_is_refused() {
        let t = tokens("k1");
        let token = t.issue(42, "s1", HOUR).unwrap();
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        parts[1] = parts[1].chars().rev().collect();
        assert!(t.verify(&parts.join(".")).is_err());
    }

    #[test]
    fn an_expired_token_is_refused() {
        let t = tokens("k1");
        let token = t.issue(42, "s1", Duration::ZERO).unwrap();
        std::thread::sleep(Duration::from_millis(1100));
        assert!(t.verify(&token).is_err());
    }

    #[test]
    fn alg_none_is_refused() {
        let t = tokens("k1");
        let token = t.issue(42, "s1", HOUR).unwrap();
        let payload = token.split('.').nth(1).unwrap();
        // {"alg":"none","typ":"JWT"}
        let unsigned = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
        assert!(t.verify(&unsigned).is_err());
    }

    #[test]
    fn the_cookie_is_http_only_and_lax_and_secure_under_https() {
        let c = session_cookie("abc", None, false);
        assert_eq!(c, "auth_token=abc; Path=/; HttpOnly; SameSite=Lax");
        assert!(session_cookie("abc", Some(Duration::from_secs(60)), true).ends_with("; Max-Age=60; Secure"));
    }

    #[test]
    fn the_token_is_found_among_other_cookies() {
        assert_eq!(token_from_cookie_header("a=1; auth_token=xyz; b=2", false), Some("xyz"));
        assert_eq!(token_from_cookie_header("a=1", false), None);
        assert_eq!(token_from_cookie_header("auth_token=", false), None);
    }

    #[test]
    fn over_https_only_the_host_prefixed_cookie_counts() {
        let c = session_cookie("abc", None, true);
        assert!(c.starts_with("__Host-auth_token=abc; Path=/;") && c.ends_with("; Secure") && !c.contains("Domain"));
        assert!(cleared_cookie(true).starts_with("__Host-auth_token=;"));
        // A planted, unprefixed cookie is not read when the site is secure.
        assert_eq!(token_from_cookie_header("auth_token=planted", true), None);
        assert_eq!(token_from_cookie_header("auth_token=planted; __Host-auth_token=real", true), Some("real"));
        assert!(has_token_cookie("auth_token=x") && has_token_cookie("__Host-auth_token=x"));
    }
}
