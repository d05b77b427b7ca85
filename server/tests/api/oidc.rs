//! The OpenID Connect provider: clients registered from the command line,
//! the JWK Set every server on one database publishes alike, and the
//! authorization code flow driven by a relying party no one here wrote (the
//! `openidconnect` crate: discovery, PKCE, the ID token checked against the
//! JWKS, userinfo), with the attacks on it.

use crate::helpers::*;
use app::core::oidc::jws::{self, Alg};
use serde_json::{Value, json};

fn lines(out: &str) -> Vec<Value> {
    out.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[tokio::test]
async fn operators_register_list_disable_rotate_and_delete_clients() {
    let app = spawn_app().await;
    let (ok, out) = app
        .cli(&[
            "clients",
            "create",
            "--name",
            "Demo 商城",
            "--redirect-uri",
            "https://shop.example.com/oidc/callback",
            "--redirect-uri",
            "http://127.0.0.1:8000/cb",
            "--post-logout-redirect-uri",
            "https://shop.example.com/",
            "--consent",
        ])
        .await;
    assert!(ok, "{out}");
    let created = &lines(&out)[0];
    let (id, secret) = (created["client_id"].as_str().unwrap(), created["client_secret"].as_str().unwrap());
    assert_eq!(created["public"], false);
    assert_eq!(created["consent"], true);
    assert_eq!(created["redirect_uris"], json!(["https://shop.example.com/oidc/callback", "http://127.0.0.1:8000/cb"]));
    assert!(secret.len() >= 43, "256 bits");
    let stored = app.core.db.find_client(id).await.unwrap().unwrap();
    assert!(stored.secret_matches(secret));

    // Shown once: no listing or showing repeats it, nor its hash.
    for args in [&["clients", "list"][..], &["clients", "show", id]] {
        let (ok, out) = app.cli(args).await;
        assert!(ok && out.contains(id) && !out.contains(secret) && !out.contains("secret"), "{out}");
    }
    let (ok, out) = app.cli(&["clients", "disable", id]).await;
    assert!(ok && lines(&out)[0]["enabled"] == false, "{out}");
    let (ok, out) = app.cli(&["clients", "enable", id]).await;
    assert!(ok && lines(&out)[0]["enabled"] == true, "{out}");
    let (ok, out) = app.cli(&["clients", "rotate-secret", id]).await;
    let rotated = lines(&out)[0]["client_secret"].as_str().unwrap().to_owned();
    assert!(ok && rotated != secret);
    let stored = app.core.db.find_client(id).await.unwrap().unwrap();
    assert!(stored.secret_matches(&rotated) && !stored.secret_matches(secret), "the old secret stopped working");

    let (ok, out) =
        app.cli(&["clients", "create", "--name", "App", "--redirect-uri", "com.example.app:/cb", "--public"]).await;
    let public = &lines(&out)[0];
    assert!(ok && public["public"] == true && public.get("client_secret").is_none(), "{out}");
    let (ok, _) = app.cli(&["clients", "rotate-secret", public["client_id"].as_str().unwrap()]).await;
    assert!(!ok, "a public client has no secret to rotate");

    let (ok, _) = app.cli(&["clients", "delete", id]).await;
    assert!(ok);
    assert!(app.core.db.find_client(id).await.unwrap().is_none());
    let (ok, _) = app.cli(&["clients", "show", id]).await;
    assert!(!ok);
}

#[tokio::test]
async fn a_redirect_uri_that_is_not_safe_registers_nothing() {
    let app = spawn_app().await;
    for uri in ["http://shop.example.com/cb", "https://shop.example.com/cb#x", "javascript:alert(1)", "/cb"] {
        let (ok, _) = app.cli(&["clients", "create", "--name", "Bad", "--redirect-uri", uri]).await;
        assert!(!ok, "{uri}");
    }
    let (ok, _) = app.cli(&["clients", "create", "--name", "", "--redirect-uri", "https://a.example/cb"]).await;
    assert!(!ok, "a name is needed");
    assert!(app.core.db.list_clients().await.unwrap().is_empty());
}

/// The JWK Set has the public halves only, and what no one here wrote
/// (`jsonwebtoken`) checks our signatures with it alone.
#[tokio::test]
async fn the_jwks_checks_our_tokens_and_holds_no_private_part() {
    let app = spawn_app().await;
    let response = app.get("/oauth2/jwks").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "public, max-age=60");
    let jwks: jsonwebtoken::jwk::JwkSet = response.json().await.unwrap();
    assert_eq!(jwks.keys.len(), 2);
    let raw = serde_json::to_value(&jwks).unwrap().to_string();
    for private in ["\"d\"", "\"p\"", "\"q\"", "\"dp\"", "\"dq\"", "\"qi\""] {
        assert!(!raw.contains(private), "{raw}");
    }
    let keys = app.core.signing_keys.current().await.unwrap();
    for (alg, theirs) in [(Alg::Rs256, jsonwebtoken::Algorithm::RS256), (Alg::Es256, jsonwebtoken::Algorithm::ES256)] {
        let (kid, key) = keys.signer(alg).unwrap();
        let token = jws::sign(key, kid, None, &json!({ "sub": "7", "exp": 4_000_000_000u64 })).unwrap();
        let jwk = jwks.find(kid).expect("the signing key is published");
        let checked = jsonwebtoken::decode::<Value>(
            &token,
            &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(),
            &jsonwebtoken::Validation::new(theirs),
        )
        .unwrap();
        assert_eq!(checked.claims["sub"], "7");
    }
}

/// Two servers on one database publish one set of keys, and a rotation
/// an operator runs keeps the old keys published beside the new.
async fn servers_on_one_database_share_the_keys(db: Db) {
    let Some(first) = spawn(Spawn { db, ..Spawn::default() }).await else { return };
    let database_url = Some(first.env["DATABASE_URL"].clone());
    let second = spawn(Spawn { database_url, ..Spawn::default() }).await.unwrap();
    let (a, b) = tokio::join!(first.get("/oauth2/jwks"), second.get("/oauth2/jwks"));
    let (a, b): (Value, Value) = (a.json().await.unwrap(), b.json().await.unwrap());
    assert_eq!(a, b, "one set, made once, whichever server asked first");

    let (ok, out) = first.cli(&["keys", "rotate"]).await;
    assert!(ok, "{out}");
    let keys = lines(&out);
    assert_eq!(keys.len(), 4, "{out}");
    assert_eq!(keys.iter().filter(|k| k["signing"] == true).count(), 2);
    for key in &keys {
        assert!(key.get("private_key").is_none() && !key.to_string().contains("MII"), "{key}");
    }
    // A server that reads the keys now signs with the new ones and
    // publishes all four.
    let third =
        spawn(Spawn { database_url: Some(first.env["DATABASE_URL"].clone()), ..Spawn::default() }).await.unwrap();
    let published: Value = third.get("/oauth2/jwks").await.json().await.unwrap();
    assert_eq!(published["keys"].as_array().unwrap().len(), 4);
    let now = third.core.signing_keys.current().await.unwrap();
    let new_kids: Vec<&str> =
        keys.iter().filter(|k| k["signing"] == true).map(|k| k["kid"].as_str().unwrap()).collect();
    assert!(new_kids.contains(&now.signer(Alg::Rs256).unwrap().0));
}

#[tokio::test]
async fn servers_on_one_sqlite_file_share_the_keys() {
    servers_on_one_database_share_the_keys(Db::Sqlite).await;
}

#[tokio::test]
async fn servers_on_one_postgres_share_the_keys() {
    servers_on_one_database_share_the_keys(Db::Postgres).await;
}

mod flow {
    use crate::helpers::*;
    use app::core::use_cases::{ClientRegistration, create_client};
    use openidconnect::{
        AuthenticationFlow, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
        OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
        core::{CoreClient, CoreProviderMetadata, CoreResponseType},
    };
    use serde_json::{Value, json};

    pub const REDIRECT: &str = "https://rp.example/oidc/callback";
    pub const AFTER_LOGOUT: &str = "https://rp.example/bye";

    /// A server whose issuer is its real address, a signed-in person, and
    /// a confidential client (or a public one).
    pub struct Fixture {
        pub app: TestApp,
        pub issuer: String,
        pub browser: reqwest::Client,
        pub user_id: i64,
        pub client_id: String,
        pub secret: Option<String>,
    }

    pub async fn fixture(public: bool) -> Fixture {
        fixture_with(public, vec![]).await
    }

    pub async fn fixture_with(public: bool, env: Vec<(&'static str, String)>) -> Fixture {
        fixture_of(public, false, env).await
    }

    /// A confidential client registered with `--consent` (a third party).
    pub async fn third_party() -> Fixture {
        fixture_of(false, true, vec![]).await
    }

    async fn fixture_of(public: bool, consent: bool, mut env: Vec<(&'static str, String)>) -> Fixture {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let issuer = format!("http://127.0.0.1:{port}");
        env.extend([("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}")), ("PUBLIC_URL", issuer.clone())]);
        let app = spawn(Spawn { env, ..Spawn::default() }).await.unwrap();
        let (user_id, browser) = app.signed_in_user("13700137000", "Oriole01").await;
        let registration = ClientRegistration {
            name: "Demo 商城",
            redirect_uris: &[REDIRECT.to_owned()],
            post_logout_redirect_uris: &[AFTER_LOGOUT.to_owned()],
            public,
            consent,
        };
        let (client, secret) = create_client(&app.core, &registration).await.unwrap();
        Fixture { app, issuer, browser, user_id, client_id: client.client_id, secret: secret.map(|s| s.0) }
    }

    pub fn http() -> openidconnect::reqwest::Client {
        // Following redirects opens a client to SSRF; the library says so too.
        openidconnect::reqwest::ClientBuilder::new()
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    /// The query of the redirect an authorization request got.
    pub async fn redirected(browser: &reqwest::Client, url: &str) -> (reqwest::StatusCode, String) {
        let response = browser.get(url).send().await.unwrap();
        let location = response.headers().get("location").map(|l| l.to_str().unwrap().to_owned()).unwrap_or_default();
        (response.status(), location)
    }

    pub fn param(location: &str, name: &str) -> Option<String> {
        let url = url::Url::parse(location).ok()?;
        url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
    }

    #[tokio::test]
    async fn a_relying_party_signs_a_person_in_with_pkce_and_reads_their_phone() {
        let f = fixture(false).await;
        let provider = CoreProviderMetadata::discover_async(IssuerUrl::new(f.issuer.clone()).unwrap(), &http())
            .await
            .expect("our discovery document and JWKS, as the library reads them");
        let client = CoreClient::from_provider_metadata(
            provider,
            ClientId::new(f.client_id.clone()),
            f.secret.clone().map(ClientSecret::new),
        )
        .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap());
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = client
            .authorize_url(
                AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("phone".into()))
            .add_scope(Scope::new("profile".into()))
            .add_scope(Scope::new("offline_access".into()))
            .set_pkce_challenge(challenge)
            .url();
        let (status, location) = redirected(&f.browser, url.as_str()).await;
        assert!(status.is_redirection() && location.starts_with(REDIRECT), "{status} {location}");
        assert_eq!(param(&location, "state").as_deref(), Some(state.secret().as_str()));
        assert_eq!(param(&location, "iss").as_deref(), Some(f.issuer.as_str()), "RFC 9207");
        let code = param(&location, "code").unwrap();

        let tokens = client
            .exchange_code(AuthorizationCode::new(code.clone()))
            .unwrap()
            .set_pkce_verifier(verifier)
            .request_async(&http())
            .await
            .expect("the library takes our token response");
        let id_token = tokens.id_token().expect("an ID token");
        let claims = id_token.claims(&client.id_token_verifier(), &nonce).expect("signature, iss, aud, exp, nonce");
        let subject = claims.subject().as_str().to_owned();
        assert!(subject.len() >= 32 && !subject.contains("13700137000") && !subject.contains("Oriole01"));
        assert!(claims.auth_time().is_some());
        let raw: Value = serde_json::from_slice(
            &base64::Engine::decode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                id_token.to_string().split('.').nth(1).unwrap(),
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(raw["amr"], json!(["pwd"]));
        assert!(raw.get("phone_number").is_none(), "the ID token says no more than it must: {raw}");

        let info: openidconnect::core::CoreUserInfoClaims = client
            .user_info(tokens.access_token().clone(), None)
            .unwrap()
            .request_async(&http())
            .await
            .expect("userinfo, as the library reads it");
        assert_eq!(info.subject().as_str(), subject);
        assert_eq!(info.phone_number().map(|p| p.as_str()), Some("+8613700137000"));
        assert_eq!(info.preferred_username().map(|u| u.as_str()), Some("Oriole01"));
        assert!(info.email().is_none(), "not asked for");

        // The library refreshes, and the refreshed access token works.
        let refreshed = client
            .exchange_refresh_token(tokens.refresh_token().expect("offline_access gives a refresh token"))
            .unwrap()
            .request_async(&http())
            .await
            .expect("the library takes our refresh answer");
        assert_ne!(refreshed.refresh_token().unwrap().secret(), tokens.refresh_token().unwrap().secret());
        let info: openidconnect::core::CoreUserInfoClaims =
            client.user_info(refreshed.access_token().clone(), None).unwrap().request_async(&http()).await.unwrap();
        assert_eq!(info.subject().as_str(), subject);

        // A second use of the code is refused, and what the first gave stops.
        let again = client
            .exchange_code(AuthorizationCode::new(code))
            .unwrap()
            .set_pkce_verifier(openidconnect::PkceCodeVerifier::new("x".repeat(43)))
            .request_async(&http())
            .await;
        assert!(again.is_err());
        let after: Result<openidconnect::core::CoreUserInfoClaims, _> =
            client.user_info(tokens.access_token().clone(), None).unwrap().request_async(&http()).await;
        assert!(after.is_err(), "the replay revoked the first exchange's tokens");
        let _ = f.user_id;
    }
}

/// The attacks on the flow, each by hand: what a stock library would never
/// send.
mod attacks {
    use super::flow::{AFTER_LOGOUT, Fixture, REDIRECT, fixture, fixture_with, param, redirected, third_party};
    use crate::helpers::{PASSWORD, login_form};
    use app::core::oidc::jws::{self, Alg};
    use reqwest::StatusCode;
    use serde_json::{Value, json};

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    /// An authorization request; `extra` adds parameters or replaces ours.
    pub(super) fn authorize_url(f: &Fixture, extra: &[(&str, &str)]) -> String {
        let mut url = url::Url::parse(&format!("{}/oauth2/authorize", f.issuer)).unwrap();
        let ours = [
            ("client_id", f.client_id.as_str()),
            ("redirect_uri", REDIRECT),
            ("response_type", "code"),
            ("scope", "openid phone"),
            ("state", "s-1"),
        ];
        for (k, v) in ours.iter().filter(|(k, _)| !extra.iter().any(|(e, _)| e == k)).chain(extra) {
            url.query_pairs_mut().append_pair(k, v);
        }
        url.into()
    }

    pub(super) async fn code(f: &Fixture, extra: &[(&str, &str)]) -> String {
        let (status, location) = redirected(&f.browser, &authorize_url(f, extra)).await;
        assert!(status.is_redirection(), "{status}");
        param(&location, "code").unwrap_or_else(|| panic!("no code: {location}"))
    }

    pub(super) async fn token(
        f: &Fixture,
        code: &str,
        verifier: Option<&str>,
        secret: Option<&str>,
    ) -> reqwest::Response {
        let mut form = vec![("grant_type", "authorization_code"), ("code", code), ("redirect_uri", REDIRECT)];
        if let Some(verifier) = verifier {
            form.push(("code_verifier", verifier));
        }
        let mut request = reqwest::Client::new().post(format!("{}/oauth2/token", f.issuer)).form(&form);
        match (secret, &f.secret) {
            (Some(secret), _) => request = request.basic_auth(&f.client_id, Some(secret)),
            (None, Some(secret)) => request = request.basic_auth(&f.client_id, Some(secret)),
            (None, None) => {
                form.push(("client_id", &f.client_id));
                request = reqwest::Client::new().post(format!("{}/oauth2/token", f.issuer)).form(&form);
            }
        }
        request.send().await.unwrap()
    }

    pub(super) async fn oauth_error(response: reqwest::Response) -> (StatusCode, String) {
        let status = response.status();
        assert_eq!(response.headers()["cache-control"], "no-store");
        let body: Value = response.json().await.unwrap();
        assert!(body["error_description"].as_str().is_some_and(|d| !d.is_empty()), "{body}");
        (status, body["error"].as_str().unwrap().to_owned())
    }

    pub(super) async fn refresh(f: &Fixture, refresh_token: &str) -> reqwest::Response {
        let form = [("grant_type", "refresh_token"), ("refresh_token", refresh_token)];
        let request = reqwest::Client::new().post(format!("{}/oauth2/token", f.issuer)).form(&form);
        request.basic_auth(&f.client_id, f.secret.as_deref()).send().await.unwrap()
    }

    pub(super) async fn userinfo(f: &Fixture, access_token: &str) -> StatusCode {
        let request = reqwest::Client::new().get(format!("{}/oauth2/userinfo", f.issuer)).bearer_auth(access_token);
        request.send().await.unwrap().status()
    }

    /// The same code twice at the same instant: at most one exchange gets
    /// tokens, and none of them works afterwards (the second use revoked the
    /// grant; if it came while the first was still being answered, the first
    /// is refused as well).
    #[tokio::test]
    async fn two_exchanges_of_one_code_at_once_leave_no_working_token() {
        let f = fixture(false).await;
        let code = code(&f, &[("code_challenge", CHALLENGE), ("code_challenge_method", "S256")]).await;
        let (a, b) = tokio::join!(token(&f, &code, Some(VERIFIER), None), token(&f, &code, Some(VERIFIER), None));
        let mut issued = Vec::new();
        for answer in [a, b] {
            if answer.status() == StatusCode::OK {
                issued.push(answer.json::<Value>().await.unwrap());
            } else {
                assert_eq!(oauth_error(answer).await, (StatusCode::BAD_REQUEST, "invalid_grant".into()));
            }
        }
        assert!(issued.len() <= 1, "{issued:?}");
        for tokens in issued {
            assert_eq!(userinfo(&f, tokens["access_token"].as_str().unwrap()).await, StatusCode::UNAUTHORIZED);
        }
        let again = token(&f, &code, Some(VERIFIER), None).await;
        assert_eq!(oauth_error(again).await, (StatusCode::BAD_REQUEST, "invalid_grant".into()));
    }

    /// A refresh token works once: each use gives the next; the used one,
    /// presented again (by whoever copied it), revokes the whole family,
    /// the tokens its rightful holder got since included.
    #[tokio::test]
    async fn a_reused_refresh_token_revokes_its_family() {
        let f = fixture(false).await;
        let c = code(&f, &[("scope", "openid offline_access")]).await;
        let first: Value = token(&f, &c, None, None).await.json().await.unwrap();
        let stolen = first["refresh_token"].as_str().expect("offline_access gives a refresh token").to_owned();
        let second: Value = refresh(&f, &stolen).await.json().await.unwrap();
        assert!(second.get("id_token").is_none(), "a refresh carries no ID token");
        let (access, next) = (second["access_token"].as_str().unwrap(), second["refresh_token"].as_str().unwrap());
        assert_ne!(next, stolen, "it rotates");
        assert_eq!(userinfo(&f, access).await, StatusCode::OK);

        assert_eq!(oauth_error(refresh(&f, &stolen).await).await, (StatusCode::BAD_REQUEST, "invalid_grant".into()));
        assert_eq!(userinfo(&f, access).await, StatusCode::UNAUTHORIZED, "the family is revoked at once");
        assert_eq!(oauth_error(refresh(&f, next).await).await.1, "invalid_grant");

        // Without offline_access, no refresh token.
        let c = code(&f, &[]).await;
        let plain: Value = token(&f, &c, None, None).await.json().await.unwrap();
        assert!(plain.get("refresh_token").is_none(), "{plain}");
    }

    /// One refresh token sent twice at the same instant: at most one new
    /// token comes back, and the family ends either way.
    #[tokio::test]
    async fn one_refresh_token_twice_at_once_ends_the_family() {
        let f = fixture(false).await;
        let c = code(&f, &[("scope", "openid offline_access")]).await;
        let first: Value = token(&f, &c, None, None).await.json().await.unwrap();
        let token_ = first["refresh_token"].as_str().unwrap();
        let (a, b) = tokio::join!(refresh(&f, token_), refresh(&f, token_));
        let mut rotated = Vec::new();
        for answer in [a, b] {
            if answer.status() == StatusCode::OK {
                rotated.push(answer.json::<Value>().await.unwrap());
            }
        }
        assert!(rotated.len() <= 1);
        for tokens in rotated {
            assert_eq!(userinfo(&f, tokens["access_token"].as_str().unwrap()).await, StatusCode::UNAUTHORIZED);
            assert_eq!(
                oauth_error(refresh(&f, tokens["refresh_token"].as_str().unwrap()).await).await.1,
                "invalid_grant"
            );
        }
    }

    async fn token_query(f: &Fixture, path: &str, token: &str, secret: Option<&str>) -> reqwest::Response {
        let request = reqwest::Client::new().post(format!("{}/oauth2/{path}", f.issuer)).form(&[("token", token)]);
        request.basic_auth(&f.client_id, secret.or(f.secret.as_deref())).send().await.unwrap()
    }

    /// Revocation (RFC 7009) ends the sign-in's tokens at once; introspection
    /// (RFC 7662) says so. Another client's, a made-up or a garbled token
    /// changes nothing and gets the same answer.
    #[tokio::test]
    async fn a_revoked_token_is_inactive_at_once_and_strangers_change_nothing() {
        let f = fixture(false).await;
        let c = code(&f, &[("scope", "openid phone offline_access")]).await;
        let tokens: Value = token(&f, &c, None, None).await.json().await.unwrap();
        let (access, refresh_token) =
            (tokens["access_token"].as_str().unwrap(), tokens["refresh_token"].as_str().unwrap());
        let active: Value = token_query(&f, "introspect", access, None).await.json().await.unwrap();
        assert_eq!(active["active"], true, "{active}");
        assert_eq!(
            (active["client_id"].as_str(), active["scope"].as_str()),
            (Some(f.client_id.as_str()), Some("openid phone offline_access"))
        );
        let active: Value = token_query(&f, "introspect", refresh_token, None).await.json().await.unwrap();
        assert_eq!((active["active"].as_bool(), active["token_type"].as_str()), (Some(true), Some("refresh_token")));

        // Another confidential client may not revoke it (and is told nothing).
        let registration = app::core::use_cases::ClientRegistration {
            name: "Other",
            redirect_uris: &["https://other.example/cb".to_owned()],
            post_logout_redirect_uris: &[],
            public: false,
            consent: false,
        };
        let (other, other_secret) = app::core::use_cases::create_client(&f.app.core, &registration).await.unwrap();
        let stranger = reqwest::Client::new()
            .post(format!("{}/oauth2/revoke", f.issuer))
            .basic_auth(&other.client_id, Some(other_secret.unwrap().0))
            .form(&[("token", access)])
            .send()
            .await
            .unwrap();
        assert_eq!(stranger.status(), StatusCode::OK);
        assert_eq!(userinfo(&f, access).await, StatusCode::OK, "a stranger's revocation changes nothing");
        for junk in ["not-a-token", "a.b.c", ""] {
            assert_eq!(token_query(&f, "revoke", junk, None).await.status(), StatusCode::OK, "{junk:?}");
        }
        let wrong_secret = token_query(&f, "revoke", access, Some("wrong")).await;
        assert_eq!(oauth_error(wrong_secret).await.1, "invalid_client");
        assert_eq!(userinfo(&f, access).await, StatusCode::OK);

        assert_eq!(token_query(&f, "revoke", refresh_token, None).await.status(), StatusCode::OK);
        assert_eq!(
            userinfo(&f, access).await,
            StatusCode::UNAUTHORIZED,
            "the access token died with its refresh token"
        );
        let inactive: Value = token_query(&f, "introspect", access, None).await.json().await.unwrap();
        assert_eq!(inactive, json!({ "active": false }));
        assert_eq!(oauth_error(refresh(&f, refresh_token).await).await.1, "invalid_grant");
    }

    fn logout_url(f: &Fixture, params: &[(&str, &str)]) -> String {
        let mut url = url::Url::parse(&format!("{}/oauth2/logout", f.issuer)).unwrap();
        url.query_pairs_mut().extend_pairs(params);
        url.into()
    }

    /// RP-initiated sign-out with the ID token of this very session: the
    /// session ends (its tokens with it) and the browser goes back to the
    /// client's registered URI with its state.
    #[tokio::test]
    async fn a_client_signs_its_person_out_here_with_their_id_token() {
        let f = fixture(false).await;
        let c = code(&f, &[]).await;
        let tokens: Value = token(&f, &c, None, None).await.json().await.unwrap();
        let (id_token, access) = (tokens["id_token"].as_str().unwrap(), tokens["access_token"].as_str().unwrap());
        let url = logout_url(
            &f,
            &[("id_token_hint", id_token), ("post_logout_redirect_uri", AFTER_LOGOUT), ("state", "bye-1")],
        );
        let response = f.browser.get(url).send().await.unwrap();
        assert!(response.status().is_redirection(), "{}", response.status());
        assert_eq!(response.headers()["location"], format!("{AFTER_LOGOUT}?state=bye-1"));
        assert!(response.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
        assert_eq!(userinfo(&f, access).await, StatusCode::UNAUTHORIZED);
        let me = f.browser.get(f.app.url("/api/v1/me")).send().await.unwrap();
        assert_eq!(me.status(), StatusCode::UNAUTHORIZED, "signed out here");
    }

    /// What a page elsewhere could send: no hint, a forged hint, another
    /// session's hint, or a URI the client did not register. None ends the
    /// session; none redirects anywhere unregistered.
    #[tokio::test]
    async fn a_sign_out_request_without_this_sessions_id_token_ends_nothing() {
        let f = fixture(false).await;
        let c = code(&f, &[]).await;
        let tokens: Value = token(&f, &c, None, None).await.json().await.unwrap();
        let id_token = tokens["id_token"].as_str().unwrap();
        // Another browser of the same person: its own session.
        let other = f.app.new_browser();
        assert_eq!(f.app.login_with(&other, &login_form("Oriole01", PASSWORD)).await.status(), 200);
        let (header, rest) = id_token.split_once('.').unwrap();
        let forged = format!("{header}.{}", rest.replacen(|c: char| c.is_ascii_alphanumeric(), "A", 3));
        for (browser, params) in [
            (&f.browser, vec![]),
            (&f.browser, vec![("id_token_hint", forged.as_str())]),
            (&other, vec![("id_token_hint", id_token)]),
        ] {
            let response = browser.get(logout_url(&f, &params)).send().await.unwrap();
            assert!(response.headers().get("set-cookie").is_none(), "{params:?}");
        }
        let unregistered =
            logout_url(&f, &[("id_token_hint", id_token), ("post_logout_redirect_uri", "https://evil.example/")]);
        let response = f.browser.get(unregistered).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert!(response.headers().get("location").is_none());
        for browser in [&f.browser, &other] {
            let me = browser.get(f.app.url("/api/v1/me")).send().await.unwrap();
            assert_eq!(me.status(), StatusCode::OK, "still signed in");
        }
        assert_eq!(userinfo(&f, tokens["access_token"].as_str().unwrap()).await, StatusCode::OK);
    }

    /// `OIDC_ACCESS_TOKEN_ALG=ES256`: access tokens signed with the P-256
    /// key (the ID token stays RS256), and answered as before.
    #[tokio::test]
    async fn access_tokens_may_be_signed_es256() {
        let f = fixture_with(false, vec![("OIDC_ACCESS_TOKEN_ALG", "ES256".into())]).await;
        let c = code(&f, &[]).await;
        let tokens: Value = token(&f, &c, None, None).await.json().await.unwrap();
        let alg = |token: &str| {
            let header = token.split('.').next().unwrap();
            let header: Value = serde_json::from_slice(
                &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header).unwrap(),
            )
            .unwrap();
            header["alg"].as_str().unwrap().to_owned()
        };
        assert_eq!(alg(tokens["access_token"].as_str().unwrap()), "ES256");
        assert_eq!(alg(tokens["id_token"].as_str().unwrap()), "RS256");
        assert_eq!(userinfo(&f, tokens["access_token"].as_str().unwrap()).await, StatusCode::OK);
    }

    #[tokio::test]
    async fn introspection_is_for_confidential_clients() {
        let f = fixture(true).await;
        let response = reqwest::Client::new()
            .post(format!("{}/oauth2/introspect", f.issuer))
            .form(&[("token", "x"), ("client_id", f.client_id.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(oauth_error(response).await, (StatusCode::UNAUTHORIZED, "invalid_client".into()));
    }

    #[tokio::test]
    async fn a_wrong_verifier_a_stripped_challenge_and_plain_are_refused() {
        let f = fixture(false).await;
        let with_challenge = [("code_challenge", CHALLENGE), ("code_challenge_method", "S256")];
        let wrong = "x".repeat(43);
        let c = code(&f, &with_challenge).await;
        assert_eq!(oauth_error(token(&f, &c, Some(&wrong), None).await).await.1, "invalid_grant");
        let c = code(&f, &with_challenge).await;
        assert_eq!(oauth_error(token(&f, &c, None, None).await).await.1, "invalid_grant", "no verifier");
        // PKCE downgrade: the request carried no challenge, the token request
        // a verifier (an attacker stripped the challenge).
        let c = code(&f, &[]).await;
        assert_eq!(oauth_error(token(&f, &c, Some(VERIFIER), None).await).await.1, "invalid_grant");
        for method in [
            vec![("code_challenge", VERIFIER), ("code_challenge_method", "plain")],
            vec![("code_challenge", CHALLENGE)],
        ] {
            let (status, location) = redirected(&f.browser, &authorize_url(&f, &method)).await;
            assert!(status.is_redirection() && location.starts_with(REDIRECT));
            assert_eq!(param(&location, "error").as_deref(), Some("invalid_request"), "{location}");
            assert_eq!(param(&location, "state").as_deref(), Some("s-1"));
        }
    }

    /// The request as a form post (OpenID Connect Core §3.1.2.1) from the
    /// site's page: answered like the query, though cross-site.
    #[tokio::test]
    async fn an_authorization_request_may_come_as_a_cross_site_form_post() {
        let f = fixture(false).await;
        let query = url::Url::parse(&authorize_url(&f, &[])).unwrap().query().unwrap().to_owned();
        let response = f
            .browser
            .post(format!("{}/oauth2/authorize", f.issuer))
            .header("origin", "https://rp.example")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(query)
            .send()
            .await
            .unwrap();
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        assert!(location.starts_with(REDIRECT) && param(&location, "code").is_some(), "{location}");
        assert_eq!(param(&location, "state").as_deref(), Some("s-1"));
    }

    #[tokio::test]
    async fn a_public_client_must_use_pkce() {
        let f = fixture(true).await;
        let (_, location) = redirected(&f.browser, &authorize_url(&f, &[])).await;
        assert_eq!(param(&location, "error").as_deref(), Some("invalid_request"), "{location}");
        assert!(param(&location, "code").is_none());
        let c = code(&f, &[("code_challenge", CHALLENGE), ("code_challenge_method", "S256")]).await;
        let ok = token(&f, &c, Some(VERIFIER), None).await;
        assert_eq!(ok.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn a_redirect_uri_that_differs_at_all_gets_our_page_and_no_redirect() {
        let f = fixture(false).await;
        for uri in [
            "https://rp.example/oidc/callbacK",
            "https://rp.example/oidc/callback/",
            "https://rp.example/oidc/callback?x=1",
            "https://rp.example/oidc/other",
            "https://evil.example/oidc/callback",
            "https://rp.example.evil.example/oidc/callback",
        ] {
            let mut url = url::Url::parse(&authorize_url(&f, &[])).unwrap();
            let pairs: Vec<(String, String)> = url
                .query_pairs()
                .map(|(k, v)| {
                    let v = if k == "redirect_uri" { uri.to_owned() } else { v.into_owned() };
                    (k.into_owned(), v)
                })
                .collect();
            url.query_pairs_mut().clear().extend_pairs(pairs);
            let response = f.browser.get(url.as_str()).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{uri}");
            assert!(response.headers().get("location").is_none(), "{uri}");
            assert!(response.text().await.unwrap().contains("回调地址"));
        }
        // A parameter twice (RFC 6749 §3.1 forbids it): which one counts?
        // Neither: our page says so.
        let twice = format!("{}&redirect_uri=https%3A%2F%2Fevil.example%2Fcb", authorize_url(&f, &[]));
        let response = f.browser.get(twice).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert!(response.headers().get("location").is_none());
        assert!(response.text().await.unwrap().contains("redirect_uri"));
        let unknown = authorize_url(&f, &[]).replace(&f.client_id, "not-a-client");
        let response = f.browser.get(unknown).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert!(response.headers().get("location").is_none());
    }

    /// `ui_locales`: our page asks in the first language of the site's list
    /// we have, unless the person chose one; discovery names ours.
    #[tokio::test]
    async fn our_pages_take_the_language_the_site_asked_for_unless_the_person_chose() {
        let f = third_party().await;
        let asked = f.browser.get(authorize_url(&f, &[("ui_locales", "fr-CA en")])).send().await.unwrap();
        assert!(asked.status().is_redirection());
        let location = asked.headers()["location"].to_str().unwrap().to_owned();
        assert!(location.starts_with("/consent?"), "{location}");
        let cookies: Vec<&str> = asked.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap()).collect();
        assert!(cookies.iter().any(|c| c.starts_with("lang=en;")), "{cookies:?}");
        let page = f.browser.get(format!("{}{location}", f.issuer)).send().await.unwrap().text().await.unwrap();
        assert!(page.contains(r#"<html lang="en""#));

        // Now the browser has a language: the site's wish changes nothing.
        let again = f.browser.get(authorize_url(&f, &[("ui_locales", "zh-CN")])).send().await.unwrap();
        assert!(again.headers().get_all("set-cookie").iter().all(|c| !c.to_str().unwrap().starts_with("lang=")));
        // Nothing we have: nothing set.
        let fresh = f.app.new_browser();
        let nothing = fresh.get(authorize_url(&f, &[("ui_locales", "fr de")])).send().await.unwrap();
        assert!(nothing.headers().get_all("set-cookie").iter().all(|c| !c.to_str().unwrap().starts_with("lang=")));

        let discovery = f.app.get("/.well-known/openid-configuration").await.json::<Value>().await.unwrap();
        assert_eq!(discovery["ui_locales_supported"], json!(["zh-CN", "en"]));
    }

    #[tokio::test]
    async fn tokens_signed_by_anyone_else_or_unsigned_are_refused() {
        let f = fixture(false).await;
        let c = code(&f, &[]).await;
        let tokens: Value = token(&f, &c, None, None).await.json().await.unwrap();
        let access = tokens["access_token"].as_str().unwrap();
        assert_eq!(userinfo(&f, access).await, StatusCode::OK);
        let (header, rest) = access.split_once('.').unwrap();
        let (claims, _) = rest.split_once('.').unwrap();
        let b64 = |v: &Value| base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, v.to_string());
        let kid: Value = serde_json::from_slice(
            &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header).unwrap(),
        )
        .unwrap();
        let none = b64(&json!({ "alg": "none", "typ": "at+jwt", "kid": kid["kid"] }));
        assert_eq!(userinfo(&f, &format!("{none}.{claims}.")).await, StatusCode::UNAUTHORIZED);
        // The same claims, signed by a key of the attacker's under our kid.
        let theirs = jws::PrivateKey::from_pkcs8(Alg::Rs256, &jws::generate_pkcs8(Alg::Rs256).unwrap()).unwrap();
        let claims: Value = serde_json::from_slice(
            &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, claims).unwrap(),
        )
        .unwrap();
        let forged = jws::sign(&theirs, kid["kid"].as_str().unwrap(), Some("at+jwt"), &claims).unwrap();
        assert_eq!(userinfo(&f, &forged).await, StatusCode::UNAUTHORIZED);
        // The ID token is not an access token.
        assert_eq!(userinfo(&f, tokens["id_token"].as_str().unwrap()).await, StatusCode::UNAUTHORIZED);
        let response = reqwest::Client::new().get(format!("{}/oauth2/userinfo", f.issuer)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(response.headers()["www-authenticate"].to_str().unwrap().starts_with("Bearer error=\"invalid_token\""));
    }

    #[tokio::test]
    async fn signing_out_everywhere_ends_the_tokens_and_the_codes() {
        let f = fixture(false).await;
        let c = code(&f, &[]).await;
        let tokens: Value = token(&f, &c, None, None).await.json().await.unwrap();
        let waiting = code(&f, &[]).await;
        let access = tokens["access_token"].as_str().unwrap();
        assert_eq!(userinfo(&f, access).await, StatusCode::OK);
        let offline = code(&f, &[("scope", "openid offline_access")]).await;
        let offline: Value = token(&f, &offline, None, None).await.json().await.unwrap();
        let out = f.browser.delete(f.app.url("/api/v1/me/sessions")).send().await.unwrap();
        assert!(out.status().is_success(), "{}", out.status());
        let refreshed = refresh(&f, offline["refresh_token"].as_str().unwrap()).await;
        assert_eq!(oauth_error(refreshed).await.1, "invalid_grant", "the refresh token ended with the sessions");
        assert_eq!(userinfo(&f, access).await, StatusCode::UNAUTHORIZED, "at once, not at the token's expiry");
        assert_eq!(oauth_error(token(&f, &waiting, None, None).await).await.1, "invalid_grant");
    }

    /// 50 guesses of a client's secret at the same instant, from one address:
    /// no more verdicts than the limit allows, and the address stays refused
    /// (even with the right secret) while another address goes on.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn fifty_guesses_of_a_client_secret_at_once_get_ten_verdicts() {
        let f = fixture_with(false, vec![("TRUSTED_PROXIES", "127.0.0.1".into())]).await;
        let guess = |from: &'static str, secret: String| {
            let request = reqwest::Client::new()
                .post(format!("{}/oauth2/token", f.issuer))
                .header("x-forwarded-for", from)
                .basic_auth(&f.client_id, Some(secret))
                .form(&[("grant_type", "authorization_code"), ("code", "nothing"), ("redirect_uri", REDIRECT)]);
            async move { request.send().await.unwrap() }
        };
        let answers = futures::future::join_all((0..50).map(|i| guess("203.0.113.9", format!("guess-{i}")))).await;
        let mut descriptions = Vec::new();
        for answer in answers {
            assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
            assert!(answer.headers()["www-authenticate"].to_str().unwrap().starts_with("Basic"));
            let body: Value = answer.json().await.unwrap();
            descriptions.push(body["error_description"].as_str().unwrap().to_owned());
        }
        let verdicts = descriptions.iter().filter(|d| d.contains("wrong")).count();
        assert!(verdicts <= 10, "{verdicts} guesses were judged");
        let right = f.secret.clone().unwrap();
        let locked = guess("203.0.113.9", right.clone()).await;
        assert_eq!(locked.status(), StatusCode::UNAUTHORIZED, "the address is refused while locked");
        let elsewhere = guess("198.51.100.7", right).await;
        let (status, error) = oauth_error(elsewhere).await;
        assert_eq!((status, error.as_str()), (StatusCode::BAD_REQUEST, "invalid_grant"), "the client itself works");
    }
}

/// The tokens a site gets for the fixture's signed-in person (`scope`),
/// through the authorization code flow.
async fn signed_in_tokens(f: &flow::Fixture, scope: &str) -> Value {
    let mut url = url::Url::parse(&format!("{}/oauth2/authorize", f.issuer)).unwrap();
    url.query_pairs_mut()
        .append_pair("client_id", &f.client_id)
        .append_pair("redirect_uri", flow::REDIRECT)
        .append_pair("response_type", "code")
        .append_pair("scope", scope);
    let (_, location) = flow::redirected(&f.browser, url.as_str()).await;
    let code = flow::param(&location, "code").unwrap();
    let form = [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", flow::REDIRECT)];
    reqwest::Client::new()
        .post(format!("{}/oauth2/token", f.issuer))
        .basic_auth(&f.client_id, f.secret.as_deref())
        .form(&form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// A new password (a reset, here) ends every session, and with them what
/// the sites were given: userinfo refuses at once, the refresh token stops.
#[tokio::test]
async fn a_password_reset_ends_what_sites_were_given() {
    use flow::fixture;
    let f = fixture(false).await;
    let tokens = signed_in_tokens(&f, "openid offline_access").await;
    let userinfo = || {
        reqwest::Client::new()
            .get(format!("{}/oauth2/userinfo", f.issuer))
            .bearer_auth(tokens["access_token"].as_str().unwrap())
            .send()
    };
    assert_eq!(userinfo().await.unwrap().status(), 200);
    let hash = app::core::password_hashing::PasswordHash::from_stored("$argon2id$reset".into());
    f.app.core.db.set_password_hash(f.user_id, &hash, None, app::core::now_ms(), &[]).await.unwrap();
    assert_eq!(userinfo().await.unwrap().status(), 401);
    let refresh = [("grant_type", "refresh_token"), ("refresh_token", tokens["refresh_token"].as_str().unwrap())];
    let refreshed = reqwest::Client::new()
        .post(format!("{}/oauth2/token", f.issuer))
        .basic_auth(&f.client_id, f.secret.as_deref())
        .form(&refresh)
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), 400);
}

/// 注销 ends what sites were given at once (every session ends); signing
/// in through us during the cooling-off period shows the date first; and
/// the erased account's subject is kept from anyone else.
#[tokio::test]
async fn a_deletion_ends_what_sites_were_given_and_its_subject_stays_erased() {
    use flow::{REDIRECT, fixture};
    let f = fixture(false).await;
    let authorize = |extra: &[(&str, &str)]| {
        let mut url = url::Url::parse(&format!("{}/oauth2/authorize", f.issuer)).unwrap();
        url.query_pairs_mut()
            .append_pair("client_id", &f.client_id)
            .append_pair("redirect_uri", REDIRECT)
            .append_pair("response_type", "code")
            .append_pair("scope", "openid")
            .extend_pairs(extra);
        url.to_string()
    };
    let tokens = signed_in_tokens(&f, "openid").await;
    let userinfo = || {
        reqwest::Client::new()
            .get(format!("{}/oauth2/userinfo", f.issuer))
            .bearer_auth(tokens["access_token"].as_str().unwrap())
            .send()
    };
    let subject = userinfo().await.unwrap().json::<Value>().await.unwrap()["sub"].as_str().unwrap().to_owned();
    let asked = f.browser.post(format!("{}/api/v1/me/deletion", f.issuer)).json(&json!({ "password": PASSWORD }));
    assert_eq!(asked.send().await.unwrap().status(), 202);
    assert_eq!(userinfo().await.unwrap().status(), 401, "its tokens died with its sessions");

    // Signed in again while it waits: a site's sign-in shows the date and
    // 撤销注销 first; one that may not show anything hears so.
    let again = f.app.new_browser();
    assert_eq!(f.app.login_with(&again, &login_form("Oriole01", PASSWORD)).await.status(), 200);
    let (_, location) = flow::redirected(&again, &authorize(&[])).await;
    assert!(location.starts_with("/delete?next=%2Foauth2%2Fauthorize%3F"), "{location}");
    let (_, location) = flow::redirected(&again, &authorize(&[("prompt", "none")])).await;
    assert_eq!(flow::param(&location, "error").as_deref(), Some("interaction_required"), "{location}");

    let (ok, _) = f.app.cli(&["user", "delete", "Oriole01", "--now"]).await;
    assert!(ok);
    let erased = "SELECT COUNT(*) FROM erased_accounts WHERE oidc_subject = $1";
    let app::core::db::Database::Sqlite(pool, _) = &f.app.core.db else { unreachable!() };
    let kept: i64 = sqlx::query_scalar(erased).bind(&subject).fetch_one(pool).await.unwrap();
    assert_eq!(kept, 1, "the subject is kept from anyone else");
}

/// Third parties (clients registered with `--consent`) ask the person
/// first; the user centre lists what was allowed and takes it back.
mod consent {
    use super::attacks::{authorize_url, code, oauth_error, refresh, token, userinfo};
    use super::flow::{Fixture, REDIRECT, param, redirected, third_party};
    use crate::helpers::*;
    use reqwest::StatusCode;
    use serde_json::Value;

    /// Where the authorization request sent the browser: our consent page,
    /// with the request to decide.
    async fn consent_page(f: &Fixture, extra: &[(&str, &str)]) -> String {
        let (status, location) = redirected(&f.browser, &authorize_url(f, extra)).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{location}");
        assert!(location.starts_with("/consent?request="), "{location}");
        let url = url::Url::parse(&format!("{}{location}", f.issuer)).unwrap();
        url.query_pairs().find(|(k, _)| k == "request").unwrap().1.into_owned()
    }

    /// The person's answer, as the page's form posts it without WASM.
    async fn decide(f: &Fixture, browser: &reqwest::Client, request: &str, allow: bool) -> reqwest::Response {
        browser
            .post(format!("{}/api/decide_consent", f.issuer))
            .header("accept", "text/html")
            .header("referer", format!("{}/consent", f.issuer))
            .form(&[("request", request), ("allow", if allow { "true" } else { "false" })])
            .send()
            .await
            .unwrap()
    }

    fn location(response: &reqwest::Response) -> String {
        response.headers().get("location").map(|l| l.to_str().unwrap().to_owned()).unwrap_or_default()
    }

    #[tokio::test]
    async fn a_third_party_asks_first_and_a_yes_is_remembered() {
        let f = third_party().await;
        let request = consent_page(&f, &[("state", "s-<b>1</b>")]).await;
        let page = f.browser.get(format!("{}/consent?request={}", f.issuer, app::rules::url_encode(&request)));
        let html = page.send().await.unwrap().text().await.unwrap();
        assert!(html.contains("Demo 商城 请求获取：你的手机号"), "{html}");
        assert!(html.contains("rp.example"), "it says where the answer goes");
        assert!(!html.contains("<b>1</b>"), "nothing of the URL is echoed");

        let yes = decide(&f, &f.browser, &request, true).await;
        let to = location(&yes);
        assert!(yes.status().is_redirection() && to.starts_with(REDIRECT), "{} {to}", yes.status());
        assert_eq!(param(&to, "state").as_deref(), Some("s-<b>1</b>"));
        assert_eq!(param(&to, "iss").as_deref(), Some(f.issuer.as_str()));
        let tokens: Value = token(&f, &param(&to, "code").unwrap(), None, None).await.json().await.unwrap();
        assert_eq!(userinfo(&f, tokens["access_token"].as_str().unwrap()).await, StatusCode::OK);

        // Asked again for what was allowed: no page.
        let again = code(&f, &[]).await;
        assert!(!again.is_empty());
        // prompt=consent asks anyway; a scope not allowed yet asks too.
        consent_page(&f, &[("prompt", "consent")]).await;
        consent_page(&f, &[("scope", "openid phone email")]).await;
        // ...and prompt=none cannot ask, so it says so to the client.
        let (_, to) =
            redirected(&f.browser, &authorize_url(&f, &[("scope", "openid email"), ("prompt", "none")])).await;
        assert_eq!(param(&to, "error").as_deref(), Some("consent_required"), "{to}");
        assert_eq!(param(&to, "state").as_deref(), Some("s-1"));
    }

    #[tokio::test]
    async fn a_no_goes_back_as_access_denied_and_allows_nothing() {
        let f = third_party().await;
        let request = consent_page(&f, &[]).await;
        let no = decide(&f, &f.browser, &request, false).await;
        let to = location(&no);
        assert!(to.starts_with(REDIRECT), "{to}");
        assert_eq!(param(&to, "error").as_deref(), Some("access_denied"));
        assert_eq!(param(&to, "state").as_deref(), Some("s-1"));
        assert!(param(&to, "code").is_none());
        // Nothing was remembered: the next request asks again.
        consent_page(&f, &[]).await;
        let listed: Value =
            body(f.browser.get(format!("{}/api/v1/me/applications", f.issuer)).send().await.unwrap()).await;
        assert_eq!(listed, serde_json::json!([]));
    }

    /// Another site posts "同意" for a visitor who is signed in here (a
    /// hidden form, or a click it tricked): refused, nothing recorded. And
    /// the authorization endpoint, which takes posts from anywhere, takes
    /// no answer at all.
    #[tokio::test]
    async fn another_site_cannot_answer_for_the_visitor() {
        let f = third_party().await;
        let request = consent_page(&f, &[]).await;
        let forged = f
            .browser
            .post(format!("{}/api/decide_consent", f.issuer))
            .header("origin", "https://evil.example")
            .header("accept", "text/html")
            .form(&[("request", request.as_str()), ("allow", "true")])
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status(), StatusCode::FORBIDDEN);
        let posted = f
            .browser
            .post(format!("{}/oauth2/authorize", f.issuer))
            .header("origin", "https://evil.example")
            .body(format!("{request}&allow=true&consent=allow"))
            .header("content-type", "application/x-www-form-urlencoded")
            .send()
            .await
            .unwrap();
        assert!(location(&posted).starts_with("/consent?"), "{}", location(&posted));
        consent_page(&f, &[]).await;
        // A request whose redirect URI is not the client's is refused on our
        // page, even with the person's yes.
        let bent = request.replace("rp.example", "evil.example");
        let yes = decide(&f, &f.browser, &bent, true).await;
        assert!(!location(&yes).contains("evil.example"), "{}", location(&yes));
        let refused = f.browser.post(format!("{}/api/decide_consent", f.issuer));
        let refused = refused.form(&[("request", bent.as_str()), ("allow", "true")]).send().await.unwrap();
        assert_eq!(server_fn_error(refused, 400).await.code, "bad_redirect_uri");
        // Signed out, a yes signs nobody in: it goes to sign in first.
        let stranger = f.app.new_browser();
        let yes = decide(&f, &stranger, &request, true).await;
        assert!(location(&yes).starts_with("/login?next="), "{}", location(&yes));
    }

    #[tokio::test]
    async fn taking_an_application_back_ends_its_tokens_and_it_asks_again() {
        let f = third_party().await;
        let request = consent_page(&f, &[("scope", "openid phone offline_access")]).await;
        let to = location(&decide(&f, &f.browser, &request, true).await);
        let tokens: Value = token(&f, &param(&to, "code").unwrap(), None, None).await.json().await.unwrap();
        let access = tokens["access_token"].as_str().unwrap();

        let listed = body(f.browser.get(format!("{}/api/v1/me/applications", f.issuer)).send().await.unwrap()).await;
        assert_eq!(listed[0]["name"], "Demo 商城", "{listed}");
        assert_eq!(listed[0]["scopes"], serde_json::json!(["openid", "phone", "offline_access"]));
        let sessions = body(f.browser.get(format!("{}/api/v1/me/sessions", f.issuer)).send().await.unwrap()).await;
        let current = sessions.as_array().unwrap().iter().find(|s| s["current"] == true).unwrap();
        assert_eq!(current["clients"], serde_json::json!(["Demo 商城"]), "{sessions}");
        let centre = f.browser.get(format!("{}/user", f.issuer)).send().await.unwrap().text().await.unwrap();
        assert!(centre.contains("取消授权") && centre.contains("你的手机号"), "{centre}");

        // Someone else cannot take it back for them.
        let (_, other) = f.app.signed_in_user("13700137099", "Osprey99").await;
        let theirs = other.delete(format!("{}/api/v1/me/applications/{}", f.issuer, f.client_id)).send().await.unwrap();
        assert_eq!(theirs.status(), StatusCode::NOT_FOUND);
        assert_eq!(userinfo(&f, access).await, StatusCode::OK);

        let url = format!("{}/api/v1/me/applications/{}", f.issuer, f.client_id);
        assert_eq!(f.browser.delete(&url).send().await.unwrap().status(), StatusCode::NO_CONTENT);
        assert_eq!(userinfo(&f, access).await, StatusCode::UNAUTHORIZED, "its tokens stop at once");
        let refreshed = refresh(&f, tokens["refresh_token"].as_str().unwrap()).await;
        assert_eq!(oauth_error(refreshed).await.1, "invalid_grant");
        assert_eq!(f.browser.delete(&url).send().await.unwrap().status(), StatusCode::NOT_FOUND);
        let listed = body(f.browser.get(format!("{}/api/v1/me/applications", f.issuer)).send().await.unwrap()).await;
        assert_eq!(listed, serde_json::json!([]));
        consent_page(&f, &[]).await;
    }
}
