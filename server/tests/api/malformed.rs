use crate::helpers::*;

async fn post_raw(app: &TestApp, path: &str, content_type: &str, body: String) -> reqwest::Response {
    app.client.post(app.url(path)).header("content-type", content_type).body(body).send().await.unwrap()
}

#[tokio::test]
async fn malformed_json_is_a_400() {
    let app = spawn_app().await;
    for path in ["/api/v1/users", "/api/v1/sms_codes"] {
        assert_error(post_raw(&app, path, "application/json", "{\"mobile\": ".into()).await, 400, "bad_request", None)
            .await;
    }
}

#[tokio::test]
async fn wrong_types_and_missing_fields_are_a_422() {
    let app = spawn_app().await;
    let wrong = r#"{"mobile": 13800138000, "password": [], "password2": "x", "sms_code": "1"}"#;
    assert_error(post_raw(&app, "/api/v1/users", "application/json", wrong.into()).await, 422, "bad_request", None)
        .await;
    assert_error(post_raw(&app, "/api/v1/sms_codes", "application/json", "{}".into()).await, 422, "bad_request", None)
        .await;
}

#[tokio::test]
async fn a_missing_content_type_is_a_400() {
    let app = spawn_app().await;
    assert_error(post_raw(&app, "/api/v1/users", "text/plain", "{}".into()).await, 400, "bad_request", None).await;
}

#[tokio::test]
async fn an_unknown_purpose_is_a_400() {
    let app = spawn_app().await;
    let (id, answer) = app.captcha().await;
    let form =
        serde_json::json!({ "mobile": "13800138000", "purpose": "shopping", "image_code_id": id, "text": answer });
    assert_error(app.post_json("/api/v1/sms_codes", &form).await, 400, "bad_request", Some("purpose")).await;
    let cooldown = app.get("/api/v1/sms_codes/13800138000/cooldown?purpose=shopping").await;
    assert_error(cooldown, 400, "bad_request", Some("purpose")).await;
}

/// Found by Schemathesis: axum's own rejections were plain text.
#[tokio::test]
async fn a_repeated_query_parameter_or_a_path_that_is_not_utf8_is_a_json_400() {
    let app = spawn_app().await;
    let repeated = app.get("/api/v1/sms_codes/13800138000/cooldown?purpose=login&purpose=login").await;
    assert_error(repeated, 400, "bad_request", None).await;
    assert_error(app.get("/api/v1/mobiles/%FF/count").await, 400, "bad_request", None).await;
}

#[tokio::test]
async fn a_body_over_64_kib_is_a_413() {
    let app = spawn_app().await;
    let big = format!("{{\"mobile\": \"{}\"}}", "1".repeat(70 * 1024));
    assert_error(post_raw(&app, "/api/v1/users", "application/json", big).await, 413, "payload_too_large", None).await;
}

#[tokio::test]
async fn an_unknown_api_path_is_a_json_404() {
    let app = spawn_app().await;
    assert_error(app.get("/api/v1/nothing-here").await, 404, "not_found", None).await;
}

#[tokio::test]
async fn malformed_server_function_arguments_are_a_400() {
    let app = spawn_app().await;
    let response = post_raw(&app, "/api/register", "application/x-www-form-urlencoded", "garbage=1".into()).await;
    let error = server_fn_error(response, 400).await;
    assert_eq!((error.code.as_str(), error.field), ("bad_request", None));
    assert!(!error.message.to_string().is_empty());
}
