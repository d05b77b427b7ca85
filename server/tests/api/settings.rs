//! Each limit setting, at a value other than its default, through the
//! running server: a test that passes on the default as well proves nothing.
//! Expiry is reached by moving the in-process store's clock forward
//! (`Store::advance_clock`), not by sleeping.

use crate::helpers::*;
use serde_json::json;
use std::time::Duration;

async fn app_with(env: &[(&'static str, &str)]) -> TestApp {
    let env = env.iter().map(|(k, v)| (*k, v.to_string())).collect();
    spawn(Spawn { env, ..Spawn::default() }).await.unwrap()
}

fn later(app: &TestApp, seconds: u64) {
    assert!(app.core.store.advance_clock(Duration::from_secs(seconds)), "the in-process store");
}

#[tokio::test]
async fn sms_code_ttl_seconds_sets_when_a_code_dies() {
    let app = app_with(&[("SMS_CODE_TTL_SECONDS", "120")]).await;
    let (early, late) = ("13700137000", "13700137001");
    let (early_code, late_code) = (app.register_code(early).await, app.register_code(late).await);
    later(&app, 110);
    assert_eq!(app.register(&registration(early, &early_code, None)).await.status(), 201, "alive at 110 s");
    later(&app, 11);
    // Dead at 121 s, where the default (300 s) would still take it.
    let response = app.register(&registration(late, &late_code, None)).await;
    assert_error(response, 422, "sms_code_expired", Some("sms_code")).await;
}

#[tokio::test]
async fn sms_resend_interval_seconds_sets_the_cooldown() {
    let app = app_with(&[("SMS_RESEND_INTERVAL_SECONDS", "90")]).await;
    let first = body(app.send_sms("13700137010", "register").await).await;
    assert_eq!(first["resend_after"], 90, "{first}");
    later(&app, 80);
    // Past the default 60 s, still inside 90 s.
    let refused =
        assert_error(app.send_sms("13700137010", "register").await, 429, "sms_cooldown", Some("sms_code")).await;
    assert!((9..=10).contains(&refused["retry_after"].as_u64().unwrap()), "{refused}");
    later(&app, 11);
    assert_eq!(app.send_sms("13700137010", "register").await.status(), 200);
}

#[tokio::test]
async fn sms_max_attempts_sets_how_many_wrong_codes_kill_one() {
    let app = app_with(&[("SMS_MAX_ATTEMPTS", "2")]).await;
    let code = app.register_code("13700137020").await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let response = app.register(&registration("13700137020", wrong, None)).await;
    let first = assert_error(response, 422, "sms_code_wrong", Some("sms_code")).await;
    assert!(first["message"].as_str().unwrap().contains("还可以再试1次"), "{first}");
    let response = app.register(&registration("13700137020", wrong, None)).await;
    assert_error(response, 422, "sms_code_dead", Some("sms_code")).await;
    // Dead for the right code too: the default (5) would still take it.
    let response = app.register(&registration("13700137020", &code, None)).await;
    assert_error(response, 422, "sms_code_expired", Some("sms_code")).await;
}

#[tokio::test]
async fn captcha_ttl_seconds_sets_when_a_captcha_dies() {
    let app = app_with(&[("CAPTCHA_TTL_SECONDS", "30")]).await;
    let send = |id: &str, text: &str| json!({ "mobile": "13700137030", "purpose": "register", "image_code_id": id, "text": text });
    let (alive, alive_answer) = app.captcha().await;
    let (dead, dead_answer) = app.captcha().await;
    later(&app, 25);
    assert_eq!(app.post_json("/api/v1/sms_codes", &send(&alive, &alive_answer)).await.status(), 200);
    later(&app, 6);
    // Dead at 31 s, where the default (300 s) would still take it.
    let response = app.post_json("/api/v1/sms_codes", &send(&dead, &dead_answer)).await;
    assert_error(response, 422, "image_code_expired", Some("text")).await;
}

#[tokio::test]
async fn login_captcha_after_failures_sets_when_the_captcha_is_asked() {
    let app = app_with(&[("LOGIN_CAPTCHA_AFTER_FAILURES", "2")]).await;
    app.user("13700137040", "Plover40").await;
    for _ in 0..2 {
        let response = app.login_with(&app.new_browser(), &login_form("Plover40", "wrong-password")).await;
        assert_eq!(response.status(), 401);
    }
    // The third attempt, which the default (3) would let through unasked.
    let response = app.login_with(&app.new_browser(), &login_form("Plover40", PASSWORD)).await;
    assert_error(response, 422, "image_code_required", Some("text")).await;
    // The failures are counted in their window: once it is over, no captcha.
    later(&app, 15 * 60 + 1);
    assert_eq!(app.login_with(&app.new_browser(), &login_form("Plover40", PASSWORD)).await.status(), 200);
}

#[tokio::test]
async fn remember_me_ttl_seconds_sets_how_long_a_remembered_sign_in_lasts() {
    let app = app_with(&[("REMEMBER_ME_TTL_SECONDS", "7200")]).await;
    let id = app.user("13700137050", "Plover50").await;
    let before = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let mut form = login_form("Plover50", PASSWORD);
    form["remember"] = json!(true);
    let response = app.login_with(&app.new_browser(), &form).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=7200"));
    let sessions = app.core.db.live_sessions(id, before).await.unwrap();
    let remembered = sessions.iter().find(|s| s.remember).expect("the remembered session");
    let lasts = remembered.expires_at - before;
    assert!((7_190_000..=7_210_000).contains(&lasts), "the session ends with the cookie: {lasts} ms");
}

/// The configured cost must be the one a stored hash is made with: a cost
/// equal to the crate's default would pass even if the setting were ignored.
#[tokio::test]
async fn argon2_settings_reach_the_stored_hash() {
    let app = app_with(&[("ARGON2_MEMORY_KIB", "2048"), ("ARGON2_ITERATIONS", "3")]).await;
    let id = app.user("13700137060", "Plover60").await;
    let user = app.core.db.find_user(id).await.unwrap().unwrap();
    assert!(user.password_hash.starts_with("$argon2id$v=19$m=2048,t=3,p=1$"), "{}", user.password_hash);
    assert_eq!(app.login_with(&app.new_browser(), &login_form("Plover60", PASSWORD)).await.status(), 200);
}
