use crate::helpers::*;
use serde_json::json;
use std::time::Duration;

/// Signs `Kestrel` in through the API; returns the token.
async fn token(app: &TestApp, browser: &reqwest::Client, username: &str) -> String {
    let response = app.login_with(browser, &login_form(username, PASSWORD)).await;
    assert_eq!(response.status(), 200);
    body(response).await["token"].as_str().unwrap().to_owned()
}

async fn me_with_bearer(app: &TestApp, token: &str) -> u16 {
    reqwest::Client::new().get(app.url("/api/v1/me")).bearer_auth(token).send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn the_api_accepts_the_token_as_bearer_or_cookie() {
    let app = spawn_app().await;
    app.user("13700137000", "Heron001").await;
    let browser = app.new_browser();
    let token = token(&app, &browser, "Heron001").await;
    assert_eq!(me_with_bearer(&app, &token).await, 200);
    let me = body(browser.get(app.url("/api/v1/me")).send().await.unwrap()).await;
    assert_eq!(me["username"], "Heron001");
    assert_eq!(me["mobile"], "137****7000");
    assert_error(reqwest::get(app.url("/api/v1/me")).await.unwrap(), 401, "signed_out", None).await;
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let env = vec![("SESSION_TTL_SECONDS", "1".to_string())];
    let app = spawn(Spawn { env, ..Spawn::default() }).await.unwrap();
    app.user("13700137001", "Heron002").await;
    let token = token(&app, &app.new_browser(), "Heron002").await;
    assert_eq!(me_with_bearer(&app, &token).await, 200);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(me_with_bearer(&app, &token).await, 401);
}

#[tokio::test]
async fn a_token_replayed_after_sign_out_is_refused_everywhere() {
    let app = spawn_app().await;
    app.user("13700137002", "Heron003").await;
    let browser = app.new_browser();
    let token = token(&app, &browser, "Heron003").await;
    let out = browser.post(app.url("/api/v1/logout")).send().await.unwrap();
    assert_eq!(out.status(), 204);
    assert!(out.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
    assert_eq!(me_with_bearer(&app, &token).await, 401);
    // The page too: the header no longer knows the user.
    let page = reqwest::Client::new().get(app.url("/")).header("cookie", format!("auth_token={token}")).send();
    assert!(!page.await.unwrap().text().await.unwrap().contains("Heron003"));
}

#[tokio::test]
async fn tampered_foreign_and_unsigned_tokens_are_refused() {
    let app = spawn_app().await;
    let id = app.user("13700137003", "Heron004").await;
    let token = token(&app, &app.new_browser(), "Heron004").await;
    let parts: Vec<&str> = token.split('.').collect();
    let claims = app.core.tokens.verify(&token).unwrap();
    // Another user id in the payload, the signature kept.
    let forged_payload = serde_json::to_vec(
        &json!({ "sub": (id + 1).to_string(), "exp": claims.exp, "iat": claims.iat, "sid": claims.sid }),
    )
    .unwrap();
    let b64 = |bytes: &[u8]| base64_url(bytes);
    let tampered = format!("{}.{}.{}", parts[0], b64(&forged_payload), parts[2]);
    let unsigned = format!("{}.{}.", b64(br#"{"alg":"none","typ":"JWT"}"#), parts[1]);
    let other_key = app::core::tokens::Tokens::new(secrecy::SecretString::from("another-key".to_string()))
        .issue(id, &claims.sid, Duration::from_secs(3600))
        .unwrap();
    for bad in [tampered, unsigned, other_key, "garbage".to_string()] {
        assert_eq!(me_with_bearer(&app, &bad).await, 401, "{bad}");
    }
    assert_eq!(me_with_bearer(&app, &token).await, 200);
}

fn base64_url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

#[tokio::test]
async fn a_cross_origin_post_with_the_cookie_is_refused() {
    let app = spawn_app().await;
    app.user("13700137004", "Heron005").await;
    let browser = app.new_browser();
    token(&app, &browser, "Heron005").await;
    let evil = browser
        .patch(app.url("/api/v1/me"))
        .header("origin", "http://evil.example")
        .json(&json!({ "nickname": "pwned" }));
    assert_error(evil.send().await.unwrap(), 403, "cross_site_request", None).await;
    let evil_form = browser.post(app.url("/api/logout")).header("origin", "http://evil.example").send().await.unwrap();
    assert_eq!(evil_form.status(), 403);
    // Still signed in, nickname unchanged.
    let me = body(browser.get(app.url("/api/v1/me")).send().await.unwrap()).await;
    assert_eq!(me["nickname"], "");
    let ok = browser.patch(app.url("/api/v1/me")).json(&json!({ "nickname": "苍鹭" })).send().await.unwrap();
    assert_eq!(body(ok).await["nickname"], "苍鹭");
}

#[tokio::test]
async fn sessions_are_listed_and_ended_one_by_one_or_all_at_once() {
    let app = spawn_app().await;
    app.user("13700137005", "Heron006").await;
    let (phone, laptop) = (app.new_browser(), app.new_browser());
    let phone_token = token(&app, &phone, "Heron006").await;
    token(&app, &laptop, "Heron006").await;
    let sessions = body(laptop.get(app.url("/api/v1/me/sessions")).send().await.unwrap()).await;
    let sessions = sessions.as_array().unwrap().clone();
    assert_eq!(sessions.len(), 3, "sign-up, phone and laptop");
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    let phone_sid = app.core.tokens.verify(&phone_token).unwrap().sid;
    let end = laptop.delete(app.url(&format!("/api/v1/me/sessions/{phone_sid}"))).send().await.unwrap();
    assert_eq!(end.status(), 204);
    assert_eq!(me_with_bearer(&app, &phone_token).await, 401, "the ended session's token is refused");
    assert_eq!(laptop.get(app.url("/api/v1/me")).send().await.unwrap().status(), 200);
    let again = laptop.delete(app.url(&format!("/api/v1/me/sessions/{phone_sid}"))).send().await.unwrap();
    assert_error(again, 404, "no_such_session", None).await;
    assert_eq!(laptop.delete(app.url("/api/v1/me/sessions")).send().await.unwrap().status(), 204);
    assert_eq!(laptop.get(app.url("/api/v1/me")).send().await.unwrap().status(), 401);
}

#[tokio::test]
async fn changing_the_password_ends_every_other_session() {
    let app = spawn_app().await;
    app.user("13700137006", "Heron007").await;
    let (here, elsewhere) = (app.new_browser(), app.new_browser());
    token(&app, &here, "Heron007").await;
    let other = token(&app, &elsewhere, "Heron007").await;
    let change = |old: &str, new: &str| {
        here.put(app.url("/api/v1/me/password"))
            .json(&json!({ "old_password": old, "new_password": new, "new_password2": new }))
            .send()
    };
    assert_error(
        change("wrong-old-pw", "Lantern-Moth-77").await.unwrap(),
        422,
        "old_password_wrong",
        Some("old_password"),
    )
    .await;
    assert_error(change(PASSWORD, "short").await.unwrap(), 422, "password_invalid", Some("new_password")).await;
    assert_eq!(change(PASSWORD, "Lantern-Moth-77").await.unwrap().status(), 204);
    assert_eq!(me_with_bearer(&app, &other).await, 401, "the other session ended");
    assert_eq!(here.get(app.url("/api/v1/me")).send().await.unwrap().status(), 200, "this one goes on");
    assert_eq!(app.login_with(&app.new_browser(), &login_form("Heron007", PASSWORD)).await.status(), 401);
    assert_eq!(app.login_with(&app.new_browser(), &login_form("Heron007", "Lantern-Moth-77")).await.status(), 200);
}

#[tokio::test]
async fn an_off_site_next_is_ignored_after_sign_in() {
    let app = spawn_app().await;
    app.user("13700137007", "Heron008").await;
    for (next, expected) in [("/user", "/user"), ("//evil.example/x", "/"), ("https://evil.example/", "/")] {
        let response = app
            .new_browser()
            .post(app.url("/api/login"))
            .header("accept", "text/html")
            .header("referer", app.url("/login"))
            .form(&[("account", "Heron008"), ("password", PASSWORD), ("next", next)])
            .send()
            .await
            .unwrap();
        assert!(response.status().is_redirection(), "{next}: {}", response.status());
        assert_eq!(response.headers()["location"], expected, "{next}");
    }
}

#[tokio::test]
async fn pages_carry_a_nonce_based_content_security_policy() {
    let app = spawn_app().await;
    let response = app.get("/register").await;
    let csp = response.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(response.headers()["x-frame-options"], "DENY");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    let nonce = csp.split("'nonce-").nth(1).unwrap().split('\'').next().unwrap().to_owned();
    let html = response.text().await.unwrap();
    assert!(html.contains(&format!("nonce=\"{nonce}\"")), "the hydration script carries the nonce");
    let api = app.get("/health/live").await;
    assert!(api.headers()["content-security-policy"].to_str().unwrap().starts_with("default-src 'none'"));
}

/// The attack: a stolen session guessing the old password, fourteen at once.
/// Only as many as the lock allows are checked; the account locks.
async fn fourteen_simultaneous_wrong_old_passwords_get_only_the_lock_s_checks(store: StoreKind) {
    let env = vec![("LOCKOUT_AFTER_FAILURES", "3".to_string())];
    let Some(app) = spawn(Spawn { store, env, ..Spawn::default() }).await else { return };
    app.user("13700137020", "Heron020").await;
    let thief = app.new_browser();
    token(&app, &thief, "Heron020").await;
    let guesses = (0..14).map(|i| {
        let new = "Lantern-Moth-77";
        thief
            .put(app.url("/api/v1/me/password"))
            .json(&json!({ "old_password": format!("guess-{i:04}"), "new_password": new, "new_password2": new }))
            .send()
    });
    let statuses: Vec<u16> =
        futures::future::join_all(guesses).await.into_iter().map(|r| r.unwrap().status().as_u16()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 422).count(), 3, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 11, "{statuses:?}");
    // The same lock guards the password sign-in.
    assert_eq!(app.login_with(&app.new_browser(), &login_form("Heron020", PASSWORD)).await.status(), 429);
}

/// Over https (`SECURE_COOKIES=true`): the cookie is `__Host-` prefixed and
/// `Secure`, a planted unprefixed cookie is not read, and HSTS is sent.
#[tokio::test]
async fn secure_cookies_are_host_prefixed_and_come_with_hsts() {
    let env = vec![("SECURE_COOKIES", "true".to_string())];
    let app = spawn(Spawn { env, ..Spawn::default() }).await.unwrap();
    app.user("13700137030", "Heron030").await;
    let response = app.login_with(&app.new_browser(), &login_form("Heron030", PASSWORD)).await;
    assert_eq!(response.headers()["strict-transport-security"], "max-age=31536000");
    let cookie = response.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("__Host-auth_token=") && cookie.contains("; Secure") && cookie.contains("Path=/"));
    let token = body(response).await["token"].as_str().unwrap().to_owned();
    let me = |cookie: String| reqwest::Client::new().get(app.url("/api/v1/me")).header("cookie", cookie).send();
    assert_eq!(me(format!("__Host-auth_token={token}")).await.unwrap().status(), 200);
    assert_eq!(me(format!("auth_token={token}")).await.unwrap().status(), 401, "an unprefixed cookie is not read");

    let plain = spawn_app().await;
    assert!(!plain.get("/health/live").await.headers().contains_key("strict-transport-security"));
}

/// The development JWT secret signs every session: only its owner reads it.
#[cfg(unix)]
#[tokio::test]
async fn the_generated_jwt_secret_is_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let env = vec![("JWT_SECRET", String::new())];
    let app = spawn(Spawn { env, ..Spawn::default() }).await.unwrap();
    let path = std::path::Path::new(&app.env["DATA_DIR"]).join("jwt_secret");
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    // An older, world-readable one is narrowed at the next start.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut again = Spawn { env: vec![("JWT_SECRET", String::new())], ..Spawn::default() };
    again.env.push(("DATA_DIR", app.env["DATA_DIR"].clone()));
    let _second = spawn(again).await.unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
}

/// Login CSRF: another site posts our sign-in form with the attacker's own
/// credentials, so the visitor ends up signed in as the attacker. No cookie
/// is involved, and it must still be refused.
#[tokio::test]
async fn a_cross_site_sign_in_form_post_is_refused_without_any_cookie() {
    let app = spawn_app().await;
    app.user("13700137040", "Heron040").await;
    let fresh = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let form = [("account", "Heron040"), ("password", PASSWORD)];
    for (header, value) in [("origin", "https://evil.example"), ("origin", "null"), ("sec-fetch-site", "cross-site")] {
        let response = fresh.post(app.url("/api/login")).header(header, value).form(&form).send().await.unwrap();
        assert_eq!(response.status(), 403, "{header}: {value}");
        assert!(!response.headers().contains_key("set-cookie"), "{header}: {value}");
    }
    // The JSON API the same way; and a sign-out from another site.
    let api = fresh
        .post(app.url("/api/v1/login"))
        .header("origin", "https://evil.example")
        .json(&login_form("Heron040", PASSWORD));
    assert_error(api.send().await.unwrap(), 403, "cross_site_request", None).await;
    let same_site = fresh.post(app.url("/api/login")).header("sec-fetch-site", "same-site").form(&form);
    assert_eq!(same_site.send().await.unwrap().status(), 403, "a sibling subdomain is another site too");
    // Our own pages, and clients that are not browsers (neither header), pass.
    let ours =
        fresh.post(app.url("/api/v1/login")).header("origin", &app.address).json(&login_form("Heron040", PASSWORD));
    assert_eq!(ours.send().await.unwrap().status(), 200);
    let typed = fresh
        .post(app.url("/api/v1/login"))
        .header("sec-fetch-site", "same-origin")
        .json(&login_form("Heron040", PASSWORD));
    assert_eq!(typed.send().await.unwrap().status(), 200);
    let curl = reqwest::Client::new().post(app.url("/api/v1/login")).json(&login_form("Heron040", PASSWORD));
    assert_eq!(curl.send().await.unwrap().status(), 200);
}

on_each_store!(fourteen_simultaneous_wrong_old_passwords_get_only_the_lock_s_checks);
