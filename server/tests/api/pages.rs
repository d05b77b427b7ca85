use crate::helpers::*;

#[tokio::test]
async fn the_register_page_arrives_as_complete_html() {
    let app = spawn_app().await;
    let response = app.get("/register").await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    for needle in [
        r#"<html lang="zh-CN""#,
        r#"name="viewport""#,
        r#"<label for="mobile">手机号"#,
        r#"name="mobile""#,
        r#"name="sms_code""#,
        r#"name="password""#,
        r#"name="password2""#,
        r#"name="username""#,
        r#"name="nickname""#,
        r#"name="allow""#,
        r#"href="/agreement""#,
        "获取验证码",
        "/api/v1/image_codes/",
        r#"href="/register""#,
    ] {
        assert!(html.contains(needle), "missing {needle}");
    }
}

#[tokio::test]
async fn the_header_names_the_signed_in_user_in_the_server_html() {
    let app = spawn_app().await;
    let code = app.register_code("13300133000").await;
    let mut form = registration("13300133000", &code, Some("Nightingale"));
    form["nickname"] = serde_json::json!("夜莺");
    assert_eq!(app.register(&form).await.status(), 201);
    // The client kept the cookie.
    let html = app.get("/").await.text().await.unwrap();
    assert!(html.contains("夜莺"), "the header shows the nickname");
    let anonymous = reqwest::get(app.url("/")).await.unwrap().text().await.unwrap();
    assert!(!anonymous.contains("夜莺"));
}

#[tokio::test]
async fn the_register_form_works_without_javascript() {
    let app = spawn_app().await;
    let code = app.register_code("13300133001").await;
    let response = app
        .client
        .post(app.url("/api/register"))
        .header("accept", "text/html")
        .header("referer", app.url("/register"))
        .form(&[
            ("mobile", "13300133001"),
            ("password", "tangerine-Kite-42"),
            ("password2", "tangerine-Kite-42"),
            ("sms_code", code.as_str()),
            ("username", ""),
            ("nickname", "Heron"),
            ("allow", "on"),
        ])
        .send()
        .await
        .unwrap();
    assert!(response.status().is_redirection(), "{}", response.status());
    assert_eq!(response.headers()["location"], "/");
    assert!(response.headers()["set-cookie"].to_str().unwrap().starts_with("auth_token="));
    assert!(app.get("/").await.text().await.unwrap().contains("Heron"));
}

#[tokio::test]
async fn unknown_pages_are_404() {
    let app = spawn_app().await;
    let response = app.get("/no-such-page").await;
    assert_eq!(response.status(), 404);
    assert!(response.text().await.unwrap().contains("页面不存在"));
}

#[tokio::test]
async fn without_javascript_an_error_comes_back_beside_its_field() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/api/register"))
        .header("accept", "text/html")
        .header("referer", app.url("/register"))
        .form(&[("mobile", "13300133002"), ("password", "x"), ("password2", "x"), ("sms_code", "1"), ("allow", "on")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(&app.url("/register?")), "{location}");
    let html = app.client.get(&location).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("短信验证码为6位数字"), "the error shows on the page");
}
