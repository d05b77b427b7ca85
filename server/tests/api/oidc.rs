//! The OpenID Connect provider so far: clients registered from the command
//! line, and the JWK Set every server on one database publishes alike.

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
