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
