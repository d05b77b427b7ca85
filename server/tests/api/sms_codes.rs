use crate::helpers::*;
use futures::future::join_all;
use serde_json::json;

#[tokio::test]
async fn a_code_is_six_digits_and_the_answer_says_when_to_resend() {
    let app = spawn_app().await;
    let response = app.send_sms("13900139000", "register").await;
    assert_eq!(response.status(), 200);
    assert_eq!(body(response).await["resend_after"], 60);
    let code = app.outbox_code("sms", "13900139000").await.unwrap();
    assert!(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()));
}

#[tokio::test]
async fn a_second_send_within_the_interval_is_refused_with_retry_after() {
    let app = spawn_app().await;
    assert_eq!(app.send_sms("13900139001", "register").await.status(), 200);
    let response = app.send_sms("13900139001", "register").await;
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((58..=60).contains(&retry_after), "{retry_after}");
    assert_error(response, 429, "sms_cooldown", Some("sms_code")).await;
    let cooldown = body(app.get("/api/v1/sms_codes/13900139001/cooldown?purpose=register").await).await;
    assert!((58..=60).contains(&cooldown["seconds"].as_u64().unwrap()));
    let other = body(app.get("/api/v1/sms_codes/13900139009/cooldown?purpose=register").await).await;
    assert_eq!(other["seconds"], 0);
}

/// Twelve simultaneous requests for one number send one SMS.
async fn twelve_simultaneous_sends_send_one_sms(store: StoreKind) {
    let Some(app) = spawn(Spawn { store, ..Spawn::default() }).await else { return };
    let mut forms = vec![];
    for _ in 0..12 {
        let (id, answer) = app.captcha().await;
        forms.push(json!({ "mobile": "13900139002", "purpose": "register", "image_code_id": id, "text": answer }));
    }
    let responses = join_all(forms.iter().map(|f| app.post_json("/api/v1/sms_codes", f))).await;
    let statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 11, "{statuses:?}");
    assert_eq!(app.outbox_count("sms", "13900139002").await, 1);
}

async fn the_daily_cap_counts_every_purpose(store: StoreKind) {
    let env = vec![("SMS_DAILY_CAP", "2".to_string())];
    let Some(app) = spawn(Spawn { store, env, ..Spawn::default() }).await else { return };
    // A register code (and the account it creates), then a login code: two.
    app.register_user("13900139003", None).await;
    assert_eq!(app.send_sms("13900139003", "login").await.status(), 200);
    assert_error(app.send_sms("13900139003", "reset_password").await, 429, "sms_daily_cap", Some("sms_code")).await;
}

async fn the_ip_cap_counts_every_number(store: StoreKind) {
    let env = vec![("SMS_IP_HOURLY_CAP", "3".to_string())];
    let Some(app) = spawn(Spawn { store, env, ..Spawn::default() }).await else { return };
    // Simultaneous sends to five numbers from one client: three pass.
    let mut forms = vec![];
    for i in 0..5 {
        let (id, answer) = app.captcha().await;
        forms.push(
            json!({ "mobile": format!("1370000000{i}"), "purpose": "register", "image_code_id": id, "text": answer }),
        );
    }
    let responses = join_all(forms.iter().map(|f| app.post_json("/api/v1/sms_codes", f))).await;
    let mut ok = 0;
    for response in responses {
        if response.status() == 200 {
            ok += 1;
        } else {
            assert_error(response, 429, "sms_ip_cap", Some("sms_code")).await;
        }
    }
    assert_eq!(ok, 3);
}

#[tokio::test]
async fn a_registered_number_gets_no_register_code() {
    let app = spawn_app().await;
    app.register_user("13900139004", None).await;
    assert_error(app.send_sms("13900139004", "register").await, 409, "mobile_taken", Some("mobile")).await;
}

/// The attack: use the send-code step as a "who is registered?" oracle,
/// one captcha per number. Each such answer costs a lookup: past
/// LOOKUPS_PER_MINUTE the answer is a refusal that says nothing.
#[tokio::test]
async fn registered_or_not_answers_count_against_the_lookup_budget() {
    let app = spawn(Spawn { env: vec![("LOOKUPS_PER_MINUTE", "3".to_string())], ..Spawn::default() }).await.unwrap();
    app.register_user("13900139010", None).await;
    assert_error(app.send_sms("13900139010", "register").await, 409, "mobile_taken", Some("mobile")).await;
    assert_error(app.send_sms("13900139011", "login").await, 422, "mobile_not_registered", Some("mobile")).await;
    assert_eq!(app.get("/api/v1/mobiles/13900139012/count").await.status(), 200, "the same budget");
    assert_error(app.send_sms("13900139010", "register").await, 429, "too_many_lookups", None).await;
    assert_error(app.send_sms("13900139013", "login").await, 429, "too_many_lookups", None).await;
    // A send that says nothing about accounts is not a lookup.
    assert_eq!(app.send_sms("13900139014", "register").await.status(), 200);
}

#[tokio::test]
async fn an_unregistered_number_gets_no_login_code() {
    let app = spawn_app().await;
    assert_error(app.send_sms("13900139006", "login").await, 422, "mobile_not_registered", Some("mobile")).await;
}

#[tokio::test]
async fn field_errors_come_before_the_captcha_is_spent() {
    let app = spawn_app().await;
    let (id, answer) = app.captcha().await;
    let bad = json!({ "mobile": "12345", "purpose": "register", "image_code_id": id, "text": answer });
    assert_error(app.post_json("/api/v1/sms_codes", &bad).await, 422, "mobile_invalid", Some("mobile")).await;
    let good = json!({ "mobile": "13900139005", "purpose": "register", "image_code_id": id, "text": answer });
    assert_eq!(app.post_json("/api/v1/sms_codes", &good).await.status(), 200);
}

/// SMS pumping: many numbers from many addresses, each under its own caps.
/// The site-wide hourly budget stops them all.
#[tokio::test]
async fn the_site_wide_hourly_budget_holds_across_numbers_and_addresses() {
    let env = vec![("SMS_SITE_HOURLY_CAP", "3".to_string()), ("TRUSTED_PROXIES", "127.0.0.1".to_string())];
    let app = spawn(Spawn { env, ..Spawn::default() }).await.unwrap();
    let mut statuses = vec![];
    for i in 0..5 {
        let from = format!("198.51.100.{}", i + 1);
        let id = uuid::Uuid::new_v4().to_string();
        let image = app.client.get(app.url(&format!("/api/v1/image_codes/{id}"))).header("x-forwarded-for", &from);
        assert_eq!(image.send().await.unwrap().status(), 200);
        let answer = app.outbox_code("captcha", &id).await.unwrap();
        let form =
            json!({ "mobile": format!("1350013{i:04}"), "purpose": "register", "image_code_id": id, "text": answer });
        let response = app.client.post(app.url("/api/v1/sms_codes")).header("x-forwarded-for", &from).json(&form);
        statuses.push(response.send().await.unwrap());
    }
    let last = statuses.pop().unwrap();
    assert_eq!(statuses.iter().filter(|r| r.status() == 200).count(), 3);
    assert_error(last, 429, "sms_site_cap", Some("sms_code")).await;
}

/// When the code cannot be handed to the queue (its table is away), the
/// visitor hears so and the number is free again at once: no cooldown for
/// a code that never left.
#[tokio::test]
async fn a_code_the_queue_refused_gives_the_number_back() {
    let app = spawn_app().await;
    let app::core::db::Database::Sqlite(pool, _) = &app.core.db else { panic!("the default setup is SQLite") };
    sqlx::query("ALTER TABLE deliveries RENAME TO deliveries_away").execute(pool).await.unwrap();
    let response = app.send_sms("13900139020", "register").await;
    assert_error(response, 503, "sms_send_failed", Some("sms_code")).await;
    let cooldown = body(app.get("/api/v1/sms_codes/13900139020/cooldown?purpose=register").await).await;
    assert_eq!(cooldown["seconds"], 0, "{cooldown}");
    sqlx::query("ALTER TABLE deliveries_away RENAME TO deliveries").execute(pool).await.unwrap();
    assert_eq!(app.send_sms("13900139020", "register").await.status(), 200, "asked again at once");
    assert!(app.outbox_code("sms", "13900139020").await.is_some());
}

on_each_store!(
    twelve_simultaneous_sends_send_one_sms,
    the_daily_cap_counts_every_purpose,
    the_ip_cap_counts_every_number
);
