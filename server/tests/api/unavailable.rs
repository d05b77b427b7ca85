use crate::helpers::*;

/// Redis that is configured but not reachable: clear 503s, no panic, and the
/// server keeps answering.
#[tokio::test]
async fn an_unreachable_redis_gives_a_clear_503() {
    let env = vec![("REDIS_URL", "redis://127.0.0.1:1/".to_string())];
    let app = spawn(Spawn { env, ..Spawn::default() }).await.unwrap();
    let captcha = app.get(&format!("/api/v1/image_codes/{}", uuid::Uuid::new_v4())).await;
    let error = assert_error(captcha, 503, "unavailable", None).await;
    assert_eq!(error["message"], "服务暂时不可用，请稍后再试");
    let form = serde_json::json!({
        "mobile": "13800138000", "purpose": "register",
        "image_code_id": uuid::Uuid::new_v4().to_string(), "text": "ABCD"
    });
    assert_error(app.post_json("/api/v1/sms_codes", &form).await, 503, "unavailable", None).await;
    assert_error(app.register(&registration("13800138000", "123456", None)).await, 503, "unavailable", None).await;
    assert_error(app.get("/api/v1/mobiles/13800138000/count").await, 503, "unavailable", None).await;

    let ready = app.get("/health/ready").await;
    assert_eq!(ready.status(), 503);
    assert_eq!(body(ready).await["store"], "unavailable");
    assert_eq!(app.get("/health/live").await.status(), 200);
}

#[tokio::test]
async fn ready_says_ok_when_the_database_and_store_answer() {
    let app = spawn_app().await;
    let ready = app.get("/health/ready").await;
    assert_eq!(ready.status(), 200);
    assert_eq!(body(ready).await, serde_json::json!({ "status": "ok", "database": "ok", "store": "ok" }));
}

#[tokio::test]
async fn the_dev_outbox_does_not_exist_in_production() {
    let app = spawn_production().await;
    assert_eq!(app.get("/api/v1/dev/outbox").await.status(), 404);
    assert_eq!(app.get("/dev/outbox").await.status(), 404);
    assert_eq!(app.get("/dev/captchas").await.status(), 404);
    // Captcha answers are not recorded anywhere either.
    assert!(app.core.outbox.is_none());
}

/// The attack: reach a development server's outbox (every code it sent)
/// through a reverse proxy on its host, or with a forged forwarding header.
/// Only the developer's own direct requests see it.
#[tokio::test]
async fn the_dev_outbox_answers_only_direct_requests_from_this_host() {
    let app =
        spawn(Spawn { env: vec![("TRUSTED_PROXIES", "127.0.0.1".to_string())], ..Spawn::default() }).await.unwrap();
    app.register_code("13300133090").await;
    let paths =
        ["/api/v1/dev/outbox", "/api/v1/dev/deliveries", "/dev/outbox", "/api/dev_outbox", "/api/dev_deliveries"];
    for path in paths {
        let direct = if path.starts_with("/api/dev_") {
            app.client.post(app.url(path)).header("origin", app.address.clone()).send().await.unwrap()
        } else {
            app.get(path).await
        };
        assert_eq!(direct.status(), 200, "{path} directly from this host");
        for (header, value) in
            [("x-forwarded-for", "203.0.113.5"), ("forwarded", "for=203.0.113.5"), ("x-real-ip", "203.0.113.5")]
        {
            let proxied = app.client.get(app.url(path)).header(header, value).send().await.unwrap();
            assert_eq!(proxied.status(), 404, "{path} through a proxy ({header})");
        }
    }
}

/// A message whose job cannot be queued (the queue's Redis is away) leaves
/// no record saying `queued` for ever: the caller hears of the failure, and
/// the records show nothing that will never move.
#[tokio::test]
async fn a_job_that_could_not_be_queued_leaves_no_record() {
    use app::core::delivery::{JobMessage, enqueue};
    use app::core::mail::Mail;
    let env = vec![("REDIS_URL", "redis://127.0.0.1:1/".to_string())];
    let app = spawn(Spawn { env, ..Spawn::default() }).await.unwrap();
    let mail = Mail::EmailChanged { site: "测试".into(), new_address: "n***@example.com".into() };
    let message = JobMessage::Email { to: "old@example.com".into(), mail, expires_at_ms: None, lang: String::new() };
    assert!(enqueue(&app.core, message, None).await.is_err(), "the queue is away");
    assert!(app.core.db.list_deliveries(None, 10).await.unwrap().is_empty(), "no record left queued");
}
