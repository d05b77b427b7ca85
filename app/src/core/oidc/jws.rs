//! Signed JSON Web Tokens in compact form (RFC 7515), RS256 and ES256 only
//! (RFC 7518), signed and checked by ring. Not through `jsonwebtoken` (the
//! tests' oracle here and for the session cookie, `core::tokens`): its
//! RustCrypto RSA parses the private key again on every signature (a few
//! milliseconds each), where ring keeps it parsed.
//! A token is checked only against a key we name by `kid`, with the key's
//! own algorithm: `alg: none`, or an algorithm other than the key's, is
//! refused whatever the header says.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use ring::{
    rand::SystemRandom,
    signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair},
};
use serde::{Serialize, de::DeserializeOwned};
use sha2::{Digest, Sha256};

/// The signature algorithms we sign with and publish.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Alg {
    /// RSASSA-PKCS1-v1_5 with SHA-256: every OpenID Connect client has it.
    Rs256,
    /// ECDSA with P-256 and SHA-256: smaller, and far cheaper to sign.
    Es256,
}

impl Alg {
    pub const ALL: [Alg; 2] = [Alg::Rs256, Alg::Es256];

    pub fn as_str(self) -> &'static str {
        match self {
            Alg::Rs256 => "RS256",
            Alg::Es256 => "ES256",
        }
    }

    pub fn parse(name: &str) -> Option<Alg> {
        Alg::ALL.into_iter().find(|alg| alg.as_str() == name)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum JwsError {
    #[error("the private key is unusable: {0}")]
    BadKey(String),
    #[error("signing failed")]
    Signing,
    /// Malformed, unsigned, signed by an unknown key, or with another
    /// algorithm than the key's, or a signature that does not verify.
    #[error("the token is not valid: {0}")]
    Invalid(&'static str),
}

/// A private signing key, parsed once.
pub enum PrivateKey {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

impl PrivateKey {
    /// Reads a PKCS#8 private key (DER) for `alg`.
    pub fn from_pkcs8(alg: Alg, der: &[u8]) -> Result<PrivateKey, JwsError> {
        let bad = |e: ring::error::KeyRejected| JwsError::BadKey(e.to_string());
        Ok(match alg {
            Alg::Rs256 => PrivateKey::Rsa(RsaKeyPair::from_pkcs8(der).map_err(bad)?),
            Alg::Es256 => PrivateKey::Ec(
                EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, der, &SystemRandom::new())
                    .map_err(bad)?,
            ),
        })
    }

    pub fn alg(&self) -> Alg {
        match self {
            PrivateKey::Rsa(_) => Alg::Rs256,
            PrivateKey::Ec(_) => Alg::Es256,
        }
    }

    /// The public half, as a JWK publishes it.
    pub fn public_key(&self) -> PublicKey {
        match self {
            PrivateKey::Rsa(pair) => {
                let parts = signature::RsaPublicKeyComponents::<Vec<u8>>::from(pair.public());
                PublicKey::Rsa { n: parts.n, e: parts.e }
            }
            PrivateKey::Ec(pair) => {
                // An uncompressed point: 0x04, then x and y (32 bytes each).
                let point = pair.public_key().as_ref();
                PublicKey::Ec { x: point[1..33].to_vec(), y: point[33..65].to_vec() }
            }
        }
    }

    fn sign(&self, input: &[u8]) -> Result<Vec<u8>, JwsError> {
        let rng = SystemRandom::new();
        match self {
            PrivateKey::Rsa(pair) => {
                let mut signature = vec![0; pair.public().modulus_len()];
                pair.sign(&signature::RSA_PKCS1_SHA256, &rng, input, &mut signature).map_err(|_| JwsError::Signing)?;
                Ok(signature)
            }
            PrivateKey::Ec(pair) => Ok(pair.sign(&rng, input).map_err(|_| JwsError::Signing)?.as_ref().to_vec()),
        }
    }
}

/// A public key, as a JWK carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublicKey {
    Rsa { n: Vec<u8>, e: Vec<u8> },
    Ec { x: Vec<u8>, y: Vec<u8> },
}

impl PublicKey {
    /// The JWK's required members, in the lexicographic order RFC 7638
    /// hashes them in.
    fn required_members(&self) -> serde_json::Value {
        match self {
            PublicKey::Rsa { n, e } => serde_json::json!({ "e": B64.encode(e), "kty": "RSA", "n": B64.encode(n) }),
            PublicKey::Ec { x, y } => {
                serde_json::json!({ "crv": "P-256", "kty": "EC", "x": B64.encode(x), "y": B64.encode(y) })
            }
        }
    }

    /// The JWK thumbprint (RFC 7638, SHA-256): the key's `kid`.
    pub fn thumbprint(&self) -> String {
        // serde_json writes object members sorted and without whitespace,
        // which is the form RFC 7638 hashes.
        B64.encode(Sha256::digest(self.required_members().to_string().as_bytes()))
    }

    /// The public JWK (RFC 7517) for `alg`, named `kid`.
    pub fn jwk(&self, alg: Alg, kid: &str) -> serde_json::Value {
        let mut jwk = self.required_members();
        jwk["use"] = "sig".into();
        jwk["alg"] = alg.as_str().into();
        jwk["kid"] = kid.into();
        jwk
    }

    fn verifies(&self, alg: Alg, input: &[u8], signature: &[u8]) -> bool {
        match (self, alg) {
            (PublicKey::Rsa { n, e }, Alg::Rs256) => signature::RsaPublicKeyComponents { n, e }
                .verify(&signature::RSA_PKCS1_2048_8192_SHA256, input, signature)
                .is_ok(),
            (PublicKey::Ec { x, y }, Alg::Es256) => {
                let point = [&[4u8][..], x, y].concat();
                signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .verify(input, signature)
                    .is_ok()
            }
            _ => false,
        }
    }
}

/// Signs `claims` with `key`, named `kid` in the header; `typ` when given
/// (`at+jwt` for access tokens, RFC 9068).
pub fn sign(key: &PrivateKey, kid: &str, typ: Option<&str>, claims: &impl Serialize) -> Result<String, JwsError> {
    let mut header = serde_json::json!({ "alg": key.alg().as_str(), "kid": kid });
    if let Some(typ) = typ {
        header["typ"] = typ.into();
    }
    let claims = serde_json::to_vec(claims).map_err(|_| JwsError::Signing)?;
    let mut token = format!("{}.{}", B64.encode(header.to_string()), B64.encode(claims));
    let signature = key.sign(token.as_bytes())?;
    token.push('.');
    token.push_str(&B64.encode(signature));
    Ok(token)
}

/// The header members a check needs.
#[derive(serde::Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
    typ: Option<String>,
}

/// A token whose signature holds: its `typ` and claims (whose times and
/// audience the caller checks).
#[derive(Debug)]
pub struct Verified<C> {
    pub typ: Option<String>,
    pub claims: C,
}

/// Checks `token`'s signature with the key `key_for` gives its `kid`, and
/// that key's algorithm only.
pub fn verify<C: DeserializeOwned>(
    token: &str,
    key_for: impl Fn(&str) -> Option<(Alg, PublicKey)>,
) -> Result<Verified<C>, JwsError> {
    let mut parts = token.split('.');
    let (Some(header), Some(claims), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwsError::Invalid("not a compact JWS"));
    };
    let decode = |part: &str| B64.decode(part).map_err(|_| JwsError::Invalid("not base64url"));
    let header: Header =
        serde_json::from_slice(&decode(header)?).map_err(|_| JwsError::Invalid("the header is not JSON"))?;
    let kid = header.kid.as_deref().ok_or(JwsError::Invalid("no kid"))?;
    let (alg, key) = key_for(kid).ok_or(JwsError::Invalid("an unknown key"))?;
    if Alg::parse(&header.alg) != Some(alg) {
        return Err(JwsError::Invalid("not the key's algorithm"));
    }
    let input_len = token.len() - signature.len() - 1;
    if !key.verifies(alg, &token.as_bytes()[..input_len], &decode(signature)?) {
        return Err(JwsError::Invalid("the signature does not verify"));
    }
    let claims = serde_json::from_slice(&decode(claims)?).map_err(|_| JwsError::Invalid("the claims are not JSON"))?;
    Ok(Verified { typ: header.typ, claims })
}

/// A new private key for `alg`, as PKCS#8 DER: RSA 2048 bits (ring makes
/// no RSA keys; the `rsa` crate does), P-256 by ring. Seconds of CPU for RSA
/// in a debug build: call it off the async threads.
pub fn generate_pkcs8(alg: Alg) -> Result<Vec<u8>, JwsError> {
    match alg {
        Alg::Rs256 => {
            use rsa::pkcs8::EncodePrivateKey;
            let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048)
                .map_err(|e| JwsError::BadKey(e.to_string()))?;
            Ok(key.to_pkcs8_der().map_err(|e| JwsError::BadKey(e.to_string()))?.as_bytes().to_vec())
        }
        Alg::Es256 => {
            let der = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .map_err(|_| JwsError::BadKey("P-256 key generation failed".into()))?;
            Ok(der.as_ref().to_vec())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn keys() -> Vec<PrivateKey> {
        Alg::ALL.into_iter().map(|alg| PrivateKey::from_pkcs8(alg, &generate_pkcs8(alg).unwrap()).unwrap()).collect()
    }

    /// What no one here wrote checks what we sign: `jsonwebtoken` (its
    /// RustCrypto backend), from the published JWK alone.
    #[test]
    fn another_implementation_verifies_our_tokens_from_the_jwk() {
        for key in keys() {
            let kid = key.public_key().thumbprint();
            let jwk: jsonwebtoken::jwk::Jwk =
                serde_json::from_value(key.public_key().jwk(key.alg(), &kid)).expect("a JWK jsonwebtoken reads");
            let claims = json!({ "sub": "42", "aud": "client", "exp": 4_000_000_000u64 });
            let token = sign(&key, &kid, Some("at+jwt"), &claims).unwrap();
            let decoding = jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap();
            let alg =
                if key.alg() == Alg::Rs256 { jsonwebtoken::Algorithm::RS256 } else { jsonwebtoken::Algorithm::ES256 };
            let mut validation = jsonwebtoken::Validation::new(alg);
            validation.set_audience(&["client"]);
            let read = jsonwebtoken::decode::<Value>(&token, &decoding, &validation).unwrap();
            assert_eq!(read.claims, claims);
            assert_eq!(read.header.kid.as_deref(), Some(kid.as_str()));
            assert_eq!(read.header.typ.as_deref(), Some("at+jwt"));
        }
    }

    #[test]
    fn our_check_refuses_what_an_attacker_would_send() {
        let [rsa, ec] = <[PrivateKey; 2]>::try_from(keys()).ok().unwrap();
        let (rsa_kid, ec_kid) = (rsa.public_key().thumbprint(), ec.public_key().thumbprint());
        let known = |kid: &str| {
            if kid == rsa_kid {
                Some((Alg::Rs256, rsa.public_key()))
            } else if kid == ec_kid {
                Some((Alg::Es256, ec.public_key()))
            } else {
                None
            }
        };
        let claims = json!({ "sub": "42" });
        let good = sign(&rsa, &rsa_kid, None, &claims).unwrap();
        assert_eq!(verify::<Value>(&good, known).unwrap().claims, claims);
        let (input, _) = good.rsplit_once('.').unwrap();
        let (header, body) = input.split_once('.').unwrap();

        // alg: none, with and without a signature.
        let none = B64.encode(json!({ "alg": "none", "kid": rsa_kid }).to_string());
        assert!(verify::<Value>(&format!("{none}.{body}."), known).is_err());
        assert!(verify::<Value>(&format!("{none}.{body}"), known).is_err());
        // Claims changed under a good signature.
        let forged = B64.encode(json!({ "sub": "1" }).to_string());
        let signature = good.rsplit_once('.').unwrap().1;
        assert!(verify::<Value>(&format!("{header}.{forged}.{signature}"), known).is_err());
        // Signed by a key of ours that is not the one named.
        let by_other = sign(&keys().remove(0), &rsa_kid, None, &claims).unwrap();
        assert!(verify::<Value>(&by_other, known).is_err());
        // The RSA key named with ES256 (algorithm confusion), an unknown kid.
        let confused = B64.encode(json!({ "alg": "ES256", "kid": rsa_kid }).to_string());
        assert!(verify::<Value>(&format!("{confused}.{body}.{signature}"), known).is_err());
        let unknown = sign(&ec, "someone-else", None, &claims).unwrap();
        assert!(verify::<Value>(&unknown, known).is_err());
        // Two signatures, or none.
        assert!(verify::<Value>(&format!("{good}.{signature}"), known).is_err());
        assert!(verify::<Value>(input, known).is_err());
        let ec_token = sign(&ec, &ec_kid, None, &claims).unwrap();
        assert_eq!(verify::<Value>(&ec_token, known).unwrap().claims, claims);
    }

    /// RFC 7638, section 3.1: the thumbprint of its example RSA key.
    #[test]
    fn the_kid_is_the_rfc_7638_thumbprint() {
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        let key = PublicKey::Rsa { n: B64.decode(n).unwrap(), e: B64.decode("AQAB").unwrap() };
        assert_eq!(key.thumbprint(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    }

    #[test]
    fn a_jwk_holds_no_private_part() {
        for key in keys() {
            let jwk = key.public_key().jwk(key.alg(), "k");
            for private in ["d", "p", "q", "dp", "dq", "qi"] {
                assert!(jwk.get(private).is_none(), "{private} in {jwk}");
            }
        }
    }
}
