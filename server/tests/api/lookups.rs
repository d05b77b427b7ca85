use crate::helpers::*;

#[tokio::test]
async fn counts_say_whether_a_mobile_or_username_is_taken() {
    let app = spawn_app().await;
    assert_eq!(body(app.get("/api/v1/mobiles/13600136000/count").await).await["count"], 0);
    app.register_user("13600136000", Some("Kingfisher")).await;
    assert_eq!(body(app.get("/api/v1/mobiles/13600136000/count").await).await["count"], 1);
    assert_eq!(body(app.get("/api/v1/mobiles/+86%20136-0013-6000/count").await).await["count"], 1);
    assert_eq!(body(app.get("/api/v1/usernames/kingFISHER/count").await).await["count"], 1);
    assert_eq!(body(app.get("/api/v1/usernames/Heron01/count").await).await["count"], 0);
}

#[tokio::test]
async fn malformed_values_are_field_errors() {
    let app = spawn_app().await;
    assert_error(app.get("/api/v1/mobiles/123/count").await, 422, "mobile_invalid", Some("mobile")).await;
    assert_error(app.get("/api/v1/usernames/ab/count").await, 422, "username_invalid", Some("username")).await;
}

#[tokio::test]
async fn lookups_are_limited_per_client() {
    let env = vec![("LOOKUPS_PER_MINUTE", "5".to_string())];
    let app = spawn(Spawn { env, ..Spawn::default() }).await.unwrap();
    for i in 0..5 {
        assert_eq!(app.get(&format!("/api/v1/mobiles/1360013600{i}/count")).await.status(), 200);
    }
    let response = app.get("/api/v1/usernames/Heron01/count").await;
    assert!(response.headers().contains_key("retry-after"));
    assert_error(response, 429, "too_many_lookups", None).await;
}

#[tokio::test]
async fn the_default_lookup_limit_is_thirty_a_minute() {
    let app = spawn_app().await;
    for i in 0..30 {
        assert_eq!(app.get(&format!("/api/v1/mobiles/136001360{i:02}/count")).await.status(), 200);
    }
    assert_eq!(app.get("/api/v1/mobiles/13600136099/count").await.status(), 429);
}
