use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn the_captcha_is_a_png_that_is_never_cached() {
    let app = spawn_app().await;
    let response = app.get(&format!("/api/v1/image_codes/{}", uuid::Uuid::new_v4())).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/png");
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(&response.bytes().await.unwrap()[..8], b"\x89PNG\r\n\x1a\n");
}

#[tokio::test]
async fn a_captcha_id_that_is_not_a_uuid_is_a_bad_request() {
    let app = spawn_app().await;
    assert_error(app.get("/api/v1/image_codes/not-a-uuid").await, 400, "bad_request", None).await;
}

#[tokio::test]
async fn the_answer_is_compared_case_insensitively() {
    let app = spawn_app().await;
    let (id, answer) = app.captcha().await;
    let form =
        json!({ "mobile": "13800138000", "purpose": "register", "image_code_id": id, "text": answer.to_lowercase() });
    assert_eq!(app.post_json("/api/v1/sms_codes", &form).await.status(), 200);
}

#[tokio::test]
async fn a_captcha_works_once_even_when_answered_right() {
    let app = spawn_app().await;
    let (id, answer) = app.captcha().await;
    let first = json!({ "mobile": "13800138001", "purpose": "register", "image_code_id": id, "text": answer });
    assert_eq!(app.post_json("/api/v1/sms_codes", &first).await.status(), 200);
    let again = json!({ "mobile": "13800138002", "purpose": "register", "image_code_id": id, "text": answer });
    assert_error(app.post_json("/api/v1/sms_codes", &again).await, 422, "image_code_expired", Some("text")).await;
}

#[tokio::test]
async fn a_wrong_answer_uses_the_captcha_up() {
    let app = spawn_app().await;
    let (id, answer) = app.captcha().await;
    let wrong = if answer == "AAAA" { "BBBB" } else { "AAAA" };
    let form = json!({ "mobile": "13800138003", "purpose": "register", "image_code_id": id, "text": wrong });
    assert_error(app.post_json("/api/v1/sms_codes", &form).await, 422, "image_code_wrong", Some("text")).await;
    let right = json!({ "mobile": "13800138003", "purpose": "register", "image_code_id": id, "text": answer });
    assert_error(app.post_json("/api/v1/sms_codes", &right).await, 422, "image_code_expired", Some("text")).await;
    assert_eq!(app.outbox_count("sms", "13800138003").await, 0);
}

/// The attack: captchas from one address as fast as it can ask. Past the
/// per-minute limit it gets 429, and a refused id holds no answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn captchas_from_one_address_are_capped_and_refused_ones_store_nothing() {
    let env = vec![("CAPTCHAS_PER_MINUTE", "5".to_string()), ("TRUSTED_PROXIES", "127.0.0.1".to_string())];
    let app = spawn(Spawn { env, ..Spawn::default() }).await.unwrap();
    let fetch = |id: String, from: &'static str| {
        app.client.get(app.url(&format!("/api/v1/image_codes/{id}"))).header("x-forwarded-for", from).send()
    };
    for _ in 0..5 {
        assert_eq!(fetch(uuid::Uuid::new_v4().to_string(), "203.0.113.7").await.unwrap().status(), 200);
    }
    let refused = uuid::Uuid::new_v4().to_string();
    let response = fetch(refused.clone(), "203.0.113.7").await.unwrap();
    assert!(response.headers().contains_key("retry-after"));
    assert_error(response, 429, "too_many_captchas", None).await;
    let outbox = app.core.outbox.as_ref().unwrap().entries().await.unwrap();
    assert!(!outbox.iter().any(|e| e.to == refused), "a refused captcha leaves no answer behind");
    assert_eq!(outbox.iter().filter(|e| e.kind == "captcha").count(), 5);
    assert_eq!(fetch(uuid::Uuid::new_v4().to_string(), "198.51.100.9").await.unwrap().status(), 200, "per address");
}

/// A flood of captchas from many addresses while a person signs in: drawing
/// has its own bound, so sign-in keeps its turns (the flood may hear 503
/// `busy`, never 500).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_captcha_flood_does_not_turn_sign_ins_into_503() {
    let env = vec![("TRUSTED_PROXIES", "127.0.0.1".to_string()), ("LOGIN_CAPTCHA", "never".to_string())];
    let app = spawn(Spawn { env, ..Spawn::default() }).await.unwrap();
    app.user("13800138090", "Plover90").await;
    let flood = (0..300).map(|i| {
        let url = app.url(&format!("/api/v1/image_codes/{}", uuid::Uuid::new_v4()));
        let from = format!("10.9.{}.{}", i / 250, i % 250 + 1);
        let client = app.client.clone();
        async move { client.get(url).header("x-forwarded-for", from).send().await.unwrap().status().as_u16() }
    });
    let sign_ins = (0..4).map(|_| async {
        app.login_with(&app.new_browser(), &login_form("Plover90", PASSWORD)).await.status().as_u16()
    });
    let (flood, sign_ins) = tokio::join!(futures::future::join_all(flood), futures::future::join_all(sign_ins));
    assert!(sign_ins.iter().all(|s| *s == 200), "{sign_ins:?}");
    assert!(flood.iter().all(|s| [200, 503].contains(s)), "{flood:?}");
}

/// The attack: captchas asked for from as many addresses as it takes to fill
/// the in-process store (each leaves an answer and an address's counter).
/// Those keys are soft: the full store forgets some of them rather than
/// refuse, so the flood never turns into 503s for everyone, and a person who
/// comes next registers as usual (their code, cooldown and cap are kept).
#[tokio::test]
async fn a_flood_that_fills_the_store_does_not_lock_people_out() {
    let env = vec![("STORE_MAX_KEYS", "64".to_string()), ("TRUSTED_PROXIES", "127.0.0.1".to_string())];
    let app = spawn(Spawn { env, ..Spawn::default() }).await.unwrap();
    let mut statuses = vec![];
    for i in 0..300 {
        let url = app.url(&format!("/api/v1/image_codes/{}", uuid::Uuid::new_v4()));
        let from = format!("10.8.{}.{}", i / 250, i % 250 + 1);
        statuses.push(app.client.get(url).header("x-forwarded-for", from).send().await.unwrap().status().as_u16());
    }
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    // The operator can see it happen.
    let metrics = app.get("/metrics").await.text().await.unwrap();
    let forgotten = metrics.lines().find_map(|l| l.strip_prefix("store_soft_keys_forgotten_total "));
    assert!(forgotten.is_some_and(|n| n.parse::<f64>().unwrap() >= 1.0), "{metrics}");
    app.user("13800138091", "Plover91").await;
    assert_eq!(app.login_with(&app.new_browser(), &login_form("Plover91", PASSWORD)).await.status(), 200);
}

/// The attack: one solved captcha, sent with ten requests at the same
/// instant. Taking the answer is one atomic step: one send goes through.
async fn one_captcha_sent_ten_times_at_once_works_once(store: StoreKind) {
    let Some(app) = spawn(Spawn { store, ..Spawn::default() }).await else { return };
    let (id, answer) = app.captcha().await;
    let sends = (0..10).map(|i| {
        let form =
            json!({ "mobile": format!("138001381{i:02}"), "purpose": "register", "image_code_id": id, "text": answer });
        let request = app.client.post(app.url("/api/v1/sms_codes")).json(&form).send();
        async move { request.await.unwrap().status().as_u16() }
    });
    let statuses = futures::future::join_all(sends).await;
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 422).count(), 9, "{statuses:?}");
}

on_each_store!(one_captcha_sent_ten_times_at_once_works_once);
