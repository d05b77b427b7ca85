//! "忘记密码" over the API: a reset link by e-mail, a code by SMS, and the
//! attacks on both (replays, races, forgeries, enumeration, floods).

use crate::helpers::*;
use reqwest::Client;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const NEW_PASSWORD: &str = "Lantern-Moth-77";

/// A user with a verified e-mail, signed in in a browser of their own.
async fn user_with_email(app: &TestApp, mobile: &str, username: &str, email: &str) -> (i64, Client) {
    let (id, browser) = app.signed_in_user(mobile, username).await;
    app.core.db.set_verified_email(id, &app::rules::Email::parse(email).unwrap()).await.unwrap();
    (id, browser)
}

async fn forgot(app: &TestApp, fields: Value) -> reqwest::Response {
    let (id, answer) = app.captcha().await;
    let mut form = json!({ "image_code_id": id, "text": answer });
    form.as_object_mut().unwrap().extend(fields.as_object().unwrap().clone());
    app.new_browser().post(app.url("/api/v1/password/forgot")).json(&form).send().await.unwrap()
}

/// Asks for a link for `email` and returns its token once mailed.
async fn reset_token(app: &TestApp, email: &str) -> String {
    assert_eq!(forgot(app, json!({ "email": email })).await.status(), 202);
    app.mailed_token(email).await
}

async fn reset(app: &TestApp, fields: Value) -> reqwest::Response {
    let mut form = json!({ "password": NEW_PASSWORD, "password2": NEW_PASSWORD });
    form.as_object_mut().unwrap().extend(fields.as_object().unwrap().clone());
    app.new_browser().post(app.url("/api/v1/password/reset")).json(&form).send().await.unwrap()
}

async fn link_status(app: &TestApp, token: &str) -> reqwest::Response {
    app.get(&format!("/api/v1/password/reset/{token}")).await
}

async fn signs_in(app: &TestApp, account: &str, password: &str) -> u16 {
    app.login_with(&app.new_browser(), &login_form(account, password)).await.status().as_u16()
}

async fn me(app: &TestApp, browser: &Client) -> u16 {
    browser.get(app.url("/api/v1/me")).send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn a_reset_link_sets_a_new_password_once_and_ends_every_session() {
    let app = spawn_app().await;
    let (id, browser) = user_with_email(&app, "13600136000", "Plover01", "plover@example.com").await;
    let answer = forgot(&app, json!({ "email": "Plover@Example.com" })).await;
    assert_eq!(answer.status(), 202);
    assert!(body(answer).await["message"].as_str().unwrap().contains("如果该邮箱已绑定账号"));
    let link = app.outbox_code("email", "plover@example.com").await.unwrap();
    assert!(link.starts_with("http://127.0.0.1:") && link.contains("/reset?token="), "{link}");
    let token = link.rsplit_once("token=").unwrap().1.to_owned();
    assert_eq!(body(link_status(&app, &token).await).await, json!({ "usable": true }));
    // Asked by address, its record learns the account once the worker
    // found it (its owner's export lists it; its erasure takes it).
    let records = app.core.db.deliveries_of(id).await.unwrap();
    assert!(records.iter().any(|r| r.purpose == "password_reset"), "{records:?}");

    assert_eq!(reset(&app, json!({ "token": token })).await.status(), 200);
    assert_eq!(me(&app, &browser).await, 401, "the session that was open ended");
    assert_eq!(signs_in(&app, "Plover01", PASSWORD).await, 401);
    assert_eq!(signs_in(&app, "Plover01", NEW_PASSWORD).await, 200);
    // Once.
    assert_error(reset(&app, json!({ "token": token })).await, 422, "link_used", None).await;
    assert_error(link_status(&app, &token).await, 422, "link_used", None).await;
    // The owner is told, and the history shows it.
    assert!(app.outbox_has("plover@example.com", "密码已重置").await);
    let attempts = app.core.db.recent_attempts(id, 10).await.unwrap();
    assert!(attempts.iter().any(|a| a.method == "reset_email" && a.outcome == "success"));
}

#[tokio::test]
async fn an_address_without_an_account_gets_the_same_answer_and_nothing_is_sent() {
    let app = spawn_app().await;
    user_with_email(&app, "13600136001", "Plover02", "known2@example.com").await;
    let known = forgot(&app, json!({ "email": "known2@example.com" })).await;
    let unknown = forgot(&app, json!({ "email": "nobody2@example.com" })).await;
    assert_eq!((known.status(), unknown.status()), (reqwest::StatusCode::ACCEPTED, reqwest::StatusCode::ACCEPTED));
    assert_eq!(body(known).await, body(unknown).await);
    assert_eq!(app.outbox_count("email", "nobody2@example.com").await, 0);
    assert_eq!(app.outbox_count("email", "known2@example.com").await, 1);
    let records = body(app.get("/api/v1/dev/deliveries").await).await;
    assert!(records.as_array().unwrap().iter().any(|r| r["state"] == "skipped"), "{records}");
    // Kept no longer than any other record of a message that ended.
    let later = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64 + 1;
    app.core.db.forget_old_deliveries(later).await.unwrap();
    assert!(
        app.core.db.list_deliveries(Some("skipped"), 10).await.unwrap().is_empty(),
        "skipped records are forgotten"
    );
}

/// The time of an answer must not tell a known address from an unknown one.
/// Compared over many tries and reported (not a timed assertion): the
/// request does the same work for both, the account is looked up later.
#[tokio::test]
async fn known_and_unknown_addresses_take_a_similar_time() {
    let app = spawn(Spawn { env: vec![("RECOVERY_IP_HOURLY_CAP", "1000".into())], ..Spawn::default() }).await.unwrap();
    user_with_email(&app, "13600136002", "Plover03", "known3@example.com").await;
    let (mut known, mut unknown) = (vec![], vec![]);
    for i in 0..40 {
        for (email, times) in
            [("known3@example.com".to_string(), &mut known), (format!("nobody3-{i}@example.com"), &mut unknown)]
        {
            let (id, answer) = app.captcha().await;
            let form = json!({ "email": email, "image_code_id": id, "text": answer });
            let started = Instant::now();
            let response = app.client.post(app.url("/api/v1/password/forgot")).json(&form).send().await.unwrap();
            let took = started.elapsed();
            // The known address meets its cooldown after the first: time
            // only the answers that queued a link, like the unknown ones.
            if response.status() == 202 {
                times.push(took);
            } else if email.starts_with("known") {
                app.core.store.advance_clock(Duration::from_secs(61));
                app.core.store.advance_clock(Duration::from_secs(86_400));
            }
        }
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let (k, u) = (median(&mut known), median(&mut unknown));
    println!("forgot by e-mail: known address median {k:?} of {}, unknown {u:?} of {}", known.len(), unknown.len());
    assert!(known.len() >= 5 && unknown.len() == 40);
}

/// Two resets with one link at the same instant: one wins.
async fn two_resets_with_one_link_at_once(db: Db) {
    let Some(app) = spawn(Spawn { db, ..Spawn::default() }).await else { return };
    user_with_email(&app, "13600136003", "Plover04", "race4@example.com").await;
    let token = reset_token(&app, "race4@example.com").await;
    let other = "Compass-Reed-58";
    let (a, b) = tokio::join!(
        reset(&app, json!({ "token": token })),
        reset(&app, json!({ "token": token, "password": other, "password2": other }))
    );
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 422]);
    let worked = [signs_in(&app, "Plover04", NEW_PASSWORD).await, signs_in(&app, "Plover04", other).await];
    assert_eq!(worked.iter().filter(|s| **s == 200).count(), 1, "{worked:?}");
    // The notices are written by the reset that won, in its transaction.
    let records = app.core.db.list_deliveries(None, 20).await.unwrap();
    let notices: Vec<_> = records.iter().filter(|r| r.purpose == "password_changed").collect();
    assert_eq!(notices.len(), 2, "one e-mail and one SMS: {notices:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_resets_with_one_link_at_once_on_sqlite() {
    two_resets_with_one_link_at_once(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_resets_with_one_link_at_once_on_postgres() {
    two_resets_with_one_link_at_once(Db::Postgres).await;
}

#[tokio::test]
async fn expired_forged_and_truncated_links_are_refused_and_say_why() {
    let app = spawn_app().await;
    user_with_email(&app, "13600136004", "Plover05", "links5@example.com").await;
    let token = reset_token(&app, "links5@example.com").await;
    let flipped = format!("{}{}", &token[..63], if token.ends_with('0') { '1' } else { '0' });
    for forged in [flipped.as_str(), &token[..32], "0".repeat(64).as_str(), &format!("{token}0")] {
        assert_error(link_status(&app, forged).await, 422, "link_unknown", None).await;
        assert_error(reset(&app, json!({ "token": forged })).await, 422, "link_unknown", None).await;
    }
    // A bad new password changes nothing: the link still works.
    let mismatch = reset(&app, json!({ "token": token, "password2": "Other-Pass-99" })).await;
    assert_error(mismatch, 422, "password_mismatch", Some("password2")).await;
    assert_error(
        reset(&app, json!({ "token": token, "password": "Plover05", "password2": "Plover05" })).await,
        422,
        "password_invalid",
        Some("password"),
    )
    .await;
    assert_eq!(link_status(&app, &token).await.status(), 200);
    app.sql("UPDATE password_resets SET expires_at = 1").await;
    assert_error(link_status(&app, &token).await, 422, "link_expired", None).await;
    assert_error(reset(&app, json!({ "token": token })).await, 422, "link_expired", None).await;
    assert_eq!(signs_in(&app, "Plover05", PASSWORD).await, 200);
}

#[tokio::test]
async fn a_password_changed_by_another_path_kills_the_link() {
    let app = spawn_app().await;
    let (_, browser) = user_with_email(&app, "13600136005", "Plover06", "other6@example.com").await;
    let token = reset_token(&app, "other6@example.com").await;
    let change =
        json!({ "old_password": PASSWORD, "new_password": "Compass-Reed-58", "new_password2": "Compass-Reed-58" });
    assert_eq!(browser.put(app.url("/api/v1/me/password")).json(&change).send().await.unwrap().status(), 204);
    assert_error(link_status(&app, &token).await, 422, "link_used", None).await;
    assert_error(reset(&app, json!({ "token": token })).await, 422, "link_used", None).await;
    assert_eq!(signs_in(&app, "Plover06", "Compass-Reed-58").await, 200);

    // And by the operator's CLI path (the same use case as `server user set-password`).
    app.core.store.advance_clock(Duration::from_secs(61));
    let token = reset_token(&app, "other6@example.com").await;
    app::core::use_cases::set_password(&app.core, "Plover06", "Harbor-Finch-31").await.unwrap();
    assert_error(reset(&app, json!({ "token": token })).await, 422, "link_used", None).await;
}

#[tokio::test]
async fn an_unverified_address_recovers_nothing() {
    let app = spawn_app().await;
    let (_, browser) = app.signed_in_user("13600136006", "Plover07").await;
    assert_eq!(app.bind_email(&browser, "waiting7@example.com").await.status(), 202);
    let verification = app.mailed_token("waiting7@example.com").await;
    assert_eq!(forgot(&app, json!({ "email": "waiting7@example.com" })).await.status(), 202);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // Only the verification link went there: no reset link.
    assert_eq!(app.mailed_token("waiting7@example.com").await, verification);
}

#[tokio::test]
async fn a_reset_by_sms_code_and_codes_keep_to_their_purpose() {
    let app = spawn_app().await;
    let (id, browser) = app.signed_in_user("13600136007", "Plover08").await;
    // A reset code does not sign in; a sign-in code does not reset.
    let login_code = app.sms_code("13600136007", "login").await;
    let wrong_purpose = reset(&app, json!({ "mobile": "13600136007", "sms_code": login_code })).await;
    assert_error(wrong_purpose, 422, "sms_code_expired", Some("sms_code")).await;

    let (captcha, answer) = app.captcha().await;
    let form = json!({ "mobile": "13600136007", "image_code_id": captcha, "text": answer });
    let sent = app.new_browser().post(app.url("/api/v1/password/forgot")).json(&form).send().await.unwrap();
    assert_eq!(sent.status(), 202);
    let code = app.next_sms_code("13600136007", &login_code).await;
    // (The sign-in code is still live: the reset code is just a wrong one.)
    let sms_login = json!({ "mobile": "13600136007", "sms_code": code });
    assert_error(app.post_json("/api/v1/sms_login", &sms_login).await, 422, "sms_code_wrong", Some("sms_code")).await;

    let done = reset(&app, json!({ "mobile": "13600136007", "sms_code": code })).await;
    assert_eq!(done.status(), 200);
    let done = body(done).await;
    assert_eq!(
        (&done["bound_email"], &done["remove_email_ticket"]),
        (&Value::Null, &Value::Null),
        "no e-mail, no offer"
    );
    assert_eq!(me(&app, &browser).await, 401);
    assert_eq!(signs_in(&app, "13600136007", NEW_PASSWORD).await, 200);
    assert_error(
        reset(&app, json!({ "mobile": "13600136007", "sms_code": code })).await,
        422,
        "sms_code_expired",
        Some("sms_code"),
    )
    .await;
    let attempts = app.core.db.recent_attempts(id, 10).await.unwrap();
    assert!(attempts.iter().any(|a| a.method == "reset_sms"));
    // No verified e-mail: the owner is told by SMS, with the client address.
    assert!(app.outbox_has("13600136007", "您的账号密码已于").await);
    assert!(app.outbox_has("13600136007", "来自127.0.0.1").await);
    // An unregistered number gets no code at all.
    let form = json!({ "mobile": "13600136099", "image_code_id": app.captcha().await.0, "text": "XXXX" });
    let refused = app.new_browser().post(app.url("/api/v1/password/forgot")).json(&form).send().await.unwrap();
    assert_eq!(refused.status(), 422);
}

#[tokio::test]
async fn a_reset_lifts_the_lockout() {
    let app = spawn(Spawn { env: vec![("LOGIN_CAPTCHA", "never".into())], ..Spawn::default() }).await.unwrap();
    user_with_email(&app, "13600136008", "Plover09", "locked9@example.com").await;
    for _ in 0..10 {
        app.login_with(&app.new_browser(), &login_form("Plover09", "wrong-Password-1")).await;
    }
    let locked = app.login_with(&app.new_browser(), &login_form("Plover09", PASSWORD)).await;
    assert_error(locked, 429, "account_locked", None).await;
    let token = reset_token(&app, "locked9@example.com").await;
    assert_eq!(reset(&app, json!({ "token": token })).await.status(), 200);
    assert_eq!(signs_in(&app, "Plover09", NEW_PASSWORD).await, 200);
}

#[tokio::test]
async fn recovery_requests_are_limited_per_client_and_per_address() {
    let app = spawn(Spawn { env: vec![("RECOVERY_IP_HOURLY_CAP", "4".into())], ..Spawn::default() }).await.unwrap();
    // The address's interval, once past the captcha; the same for any address.
    assert_eq!(forgot(&app, json!({ "email": "flood@example.com" })).await.status(), 202);
    assert_error(forgot(&app, json!({ "email": "flood@example.com" })).await, 429, "recovery_cooldown", None).await;
    // Wrong captchas count against the client's hour too.
    let wrong = json!({ "email": "flood2@example.com", "image_code_id": app.captcha().await.0, "text": "XXXX" });
    assert_eq!(app.post_json("/api/v1/password/forgot", &wrong).await.status(), 422);
    assert_eq!(forgot(&app, json!({ "email": "flood3@example.com" })).await.status(), 202);
    let over = forgot(&app, json!({ "email": "flood4@example.com" })).await;
    assert!(over.headers().contains_key("retry-after"));
    assert_error(over, 429, "too_many_recovery_requests", None).await;
    // A reset code by SMS is a recovery request too, by either door.
    let by_sms = app.send_sms("13600136050", "reset_password").await;
    assert_error(by_sms, 429, "too_many_recovery_requests", Some("sms_code")).await;
    assert_eq!(app.send_sms("13600136050", "register").await.status(), 200, "other codes are not");
    // Bad input is refused beside its field.
    let app = spawn_app().await;
    assert_error(forgot(&app, json!({ "email": "not an address" })).await, 422, "email_invalid", Some("email")).await;
    assert_error(forgot(&app, json!({})).await, 422, "address_required", Some("email")).await;
}

/// The attack: someone who had the password once binds and verifies their
/// own address (before binding asked for the phone's code), and asked for a
/// verification link just before the owner resets by SMS. After the reset:
/// the link is dead, both the phone and the bound address are told, and the
/// owner is shown the address (masked) with a ticket that removes it, after
/// which the intruder's `/forgot` reaches nobody.
#[tokio::test]
async fn a_reset_by_sms_shakes_off_an_address_someone_else_bound() {
    let app = spawn_app().await;
    let (id, browser) = user_with_email(&app, "13600136070", "Plover70", "intruder70@example.com").await;
    // A link the intruder asked for before the reset, to a second address.
    assert_eq!(app.bind_email(&browser, "second70@example.com").await.status(), 202);
    let waiting = app.mailed_token("second70@example.com").await;

    let code = app.sms_code("13600136070", "reset_password").await;
    let done = reset(&app, json!({ "mobile": "13600136070", "sms_code": code })).await;
    assert_eq!(done.status(), 200);
    let done = body(done).await;
    assert_eq!(done["bound_email"], "i***@example.com");
    let ticket = done["remove_email_ticket"].as_str().unwrap().to_owned();

    // The waiting link died with the old password.
    let opened = app.new_browser().get(app.url(&format!("/api/v1/email/verify/{waiting}"))).send().await.unwrap();
    assert_error(opened, 422, "link_used", None).await;
    // Both the phone and the bound address heard of the reset.
    assert!(app.outbox_has("13600136070", "您的账号密码已于").await);
    assert!(app.outbox_has("intruder70@example.com", "密码已重置").await);

    // Forged, tampered and made-up tickets remove nothing.
    let remove = |ticket: String| {
        let request = app.new_browser().post(app.url("/api/v1/password/remove-email"));
        async move { request.json(&json!({ "ticket": ticket })).send().await.unwrap() }
    };
    let (signed, tag) = ticket.rsplit_once('.').unwrap();
    let other_user = signed.replacen(&format!("{id}."), &format!("{}.", id + 1), 1);
    for forged in [format!("{other_user}.{tag}"), format!("{signed}.{}", "0".repeat(64)), "1.1.9999999999.00.00".into()]
    {
        assert_error(remove(forged).await, 422, "link_unknown", None).await;
    }
    assert_eq!(app.core.db.find_user(id).await.unwrap().unwrap().email.as_deref(), Some("intruder70@example.com"));
    // The owner removes it; then the intruder's recovery reaches nobody.
    assert_eq!(remove(ticket.clone()).await.status(), 204);
    assert_eq!(app.core.db.find_user(id).await.unwrap().unwrap().email, None);
    assert_eq!(forgot(&app, json!({ "email": "intruder70@example.com" })).await.status(), 202);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let links = app.outbox_count("email", "intruder70@example.com").await;
    assert_eq!(links, 1, "only the reset notice went there, no reset link");
    // Used, the ticket offers nothing more.
    assert_error(remove(ticket).await, 422, "link_used", None).await;
}

/// A ticket dies with the password it was made for.
#[tokio::test]
async fn a_removal_ticket_dies_with_the_next_password() {
    let app = spawn_app().await;
    let (id, _) = user_with_email(&app, "13600136071", "Plover71", "mine71@example.com").await;
    let code = app.sms_code("13600136071", "reset_password").await;
    let done = body(reset(&app, json!({ "mobile": "13600136071", "sms_code": code })).await).await;
    let ticket = done["remove_email_ticket"].as_str().unwrap().to_owned();
    app::core::use_cases::set_password(&app.core, "Plover71", "Harbor-Finch-31").await.unwrap();
    let request = app.new_browser().post(app.url("/api/v1/password/remove-email")).json(&json!({ "ticket": ticket }));
    assert_error(request.send().await.unwrap(), 422, "link_used", None).await;
    assert_eq!(app.core.db.find_user(id).await.unwrap().unwrap().email.as_deref(), Some("mine71@example.com"));
}

/// Every SMS costs money: notices spend the site's hourly SMS budget like
/// codes, so resets cannot send SMS past `SMS_SITE_HOURLY_CAP`. Here the
/// budget of 2 goes to the registration code and the reset code, and the
/// notice goes by e-mail only.
#[tokio::test]
async fn sms_notices_count_against_the_sites_sms_budget() {
    let app = spawn(Spawn { env: vec![("SMS_SITE_HOURLY_CAP", "2".into())], ..Spawn::default() }).await.unwrap();
    user_with_email(&app, "13600136072", "Plover72", "mine72@example.com").await;
    let code = app.sms_code("13600136072", "reset_password").await;
    assert_eq!(reset(&app, json!({ "mobile": "13600136072", "sms_code": code })).await.status(), 200);
    assert!(app.outbox_has("mine72@example.com", "密码已重置").await);
    assert!(!app.outbox_has("13600136072", "您的账号密码已于").await, "no SMS past the budget");
}

/// A reset commits while the queue is away (this server's Redis is down):
/// its notice was written in the reset's transaction, so nothing is lost;
/// the relay of a server whose queue works sends it. Before notices were
/// written with their change, the failed push lost the notice for good.
#[tokio::test]
async fn a_reset_while_the_queue_is_away_still_tells_the_owner() {
    let healthy = spawn_app().await;
    user_with_email(&healthy, "13600136090", "Plover90", "relay90@example.com").await;
    let token = reset_token(&healthy, "relay90@example.com").await;
    let env = vec![("REDIS_URL", "redis://127.0.0.1:1/".to_string())];
    let database_url = Some(healthy.env["DATABASE_URL"].clone());
    let broken = spawn(Spawn { env, database_url, ..Spawn::default() }).await.unwrap();

    assert_eq!(reset(&broken, json!({ "token": token })).await.status(), 200, "the reset stands");
    let waiting = broken.core.db.unqueued_deliveries(i64::MAX, 10).await.unwrap();
    assert_eq!(waiting.len(), 1, "the notice is written, not queued: {waiting:?}");
    let started = Instant::now();
    while !healthy.outbox_has("relay90@example.com", "密码已重置").await {
        assert!(started.elapsed() < Duration::from_secs(30), "the relay never queued the notice");
    }
    let sent = healthy.core.db.find_delivery(&waiting[0].id).await.unwrap().unwrap();
    assert_eq!((sent.state.as_str(), sent.attempts), ("sent", 1));
    assert!(healthy.core.db.unqueued_deliveries(i64::MAX, 10).await.unwrap().is_empty());
    assert_eq!(signs_in(&healthy, "Plover90", NEW_PASSWORD).await, 200);
}
