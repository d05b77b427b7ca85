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

/// The attack: a new `X-Forwarded-For` on every request, to be someone new
/// each time. Without trusted proxies the header is not read at all; with
/// ours, only the entry our proxy appended counts; an IPv6 client rotating
/// through its /64 stays one client.
#[tokio::test]
async fn forged_forwarded_addresses_do_not_escape_the_limit() {
    let lookup = |app: &TestApp, n: usize, forwarded: String| {
        let request = app.client.get(app.url(&format!("/api/v1/mobiles/136001361{n:02}/count")));
        async move { request.header("x-forwarded-for", forwarded).send().await.unwrap().status().as_u16() }
    };
    let limited = |extra: Vec<(&'static str, String)>| {
        let mut env = vec![("LOOKUPS_PER_MINUTE", "3".to_string())];
        env.extend(extra);
        async move { spawn(Spawn { env, ..Spawn::default() }).await.unwrap() }
    };

    let direct = limited(vec![]).await;
    let mut statuses = Vec::new();
    for n in 0..4 {
        statuses.push(lookup(&direct, n, format!("203.0.113.{n}")).await);
    }
    assert_eq!(statuses, [200, 200, 200, 429], "no proxy is trusted: the header is ignored");

    let proxied = limited(vec![("TRUSTED_PROXIES", "127.0.0.1".into())]).await;
    let mut statuses = Vec::new();
    for n in 0..4 {
        // The client's own entry on the left, our proxy's on the right.
        statuses.push(lookup(&proxied, n, format!("198.51.100.{n}, 203.0.113.9")).await);
    }
    assert_eq!(statuses, [200, 200, 200, 429], "only the hop our proxy appended counts");
    assert_eq!(lookup(&proxied, 5, "203.0.113.10".into()).await, 200, "another client has its own limit");

    let mut statuses = Vec::new();
    for n in 0..4 {
        statuses.push(lookup(&proxied, n, format!("[2001:db8:5:6::{n:x}]:443")).await);
    }
    assert_eq!(statuses, [200, 200, 200, 429], "one /64 is one client");
    assert_eq!(lookup(&proxied, 9, "2001:db8:5:7::1".into()).await, 200, "the next /64 is another");
}

/// The attack: fill the in-process store (64 keys here) with captchas from
/// as many addresses, then look numbers up from one more address, far past
/// its limit. A full store used to forget soft keys to make room, the
/// lookup counter among them: every forgotten counter started again at
/// zero, and one address made 200 lookups against a limit of 30. Per-address
/// counters now live apart, in fixed memory, and the limit holds; on Redis
/// as well.
async fn the_lookup_limit_holds_while_the_store_is_full(store: StoreKind) {
    let env = vec![("STORE_MAX_KEYS", "64".to_string()), ("TRUSTED_PROXIES", "127.0.0.1".to_string())];
    let Some(app) = spawn(Spawn { store, env, ..Spawn::default() }).await else { return };
    let from = |address: String, path: String| {
        let request = app.client.get(app.url(&path)).header("x-forwarded-for", address);
        async move { request.send().await.unwrap().status().as_u16() }
    };
    let mut allowed = 0;
    for i in 0..200u32 {
        // Two captchas from new addresses for each lookup keep the store full.
        for j in 0..2 {
            let captcha = format!("/api/v1/image_codes/{}", uuid::Uuid::new_v4());
            assert_eq!(from(format!("10.7.{}.{}", j, i + 1), captcha).await, 200);
        }
        if from("203.0.113.30".into(), format!("/api/v1/mobiles/136001{i:05}/count")).await == 200 {
            allowed += 1;
        }
    }
    assert_eq!(allowed, 30, "one address's lookups past its limit of 30 a minute");
}

on_each_store!(the_lookup_limit_holds_while_the_store_is_full);
