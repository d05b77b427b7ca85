use crate::helpers::*;
use futures::future::join_all;
use serde_json::{Value, json};

#[tokio::test]
async fn a_registration_signs_the_person_in_with_an_http_only_cookie() {
    let app = spawn_app().await;
    let code = app.register_code("13500135000").await;
    let mut form = registration("13500135000", &code, Some("Nightingale"));
    form["nickname"] = json!("夜莺");
    let response = app.register(&form).await;
    assert_eq!(response.status(), 201);
    let cookie = response.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.starts_with("auth_token=") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "plain http in development");
    let body = body(response).await;
    assert_eq!((body["username"].as_str(), body["nickname"].as_str()), (Some("Nightingale"), Some("夜莺")));
    let claims = app.core.tokens.verify(body["token"].as_str().unwrap()).unwrap();
    assert_eq!(claims.user_id(), body["id"].as_i64());
    let session = app.core.db.find_session(&claims.sid).await.unwrap().expect("a session record");
    assert!(!session.remember && session.ended_at.is_none());
    let row = app.core.db.find_user(body["id"].as_i64().unwrap()).await.unwrap().unwrap();
    assert!(row.password_hash.starts_with("$argon2id$"), "stored as argon2id");
    assert_eq!(row.mobile, "13500135000");
}

#[tokio::test]
async fn without_a_username_a_readable_one_is_generated_that_is_not_the_mobile() {
    let app = spawn_app().await;
    let body = app.register_user("13500135001", None).await;
    let username = body["username"].as_str().unwrap();
    assert!(username.starts_with("user") && username.len() == 10, "{username}");
    assert!(!username.contains("13500135001"));
}

/// The attack: one real SMS code, then registration after registration
/// with other people's usernames while the code lives ("taken" or not).
/// Each "taken" costs a lookup; past the budget the answer says nothing.
#[tokio::test]
async fn a_live_code_is_no_free_username_oracle() {
    let app = spawn(Spawn { env: vec![("LOOKUPS_PER_MINUTE", "2".to_string())], ..Spawn::default() }).await.unwrap();
    for (mobile, name) in [("13500135020", "Osprey01"), ("13500135021", "Osprey02"), ("13500135022", "Osprey03")] {
        app.register_user(mobile, Some(name)).await;
    }
    let code = app.register_code("13500135023").await;
    let probe = async |name: &str| app.register(&registration("13500135023", &code, Some(name))).await;
    assert_error(probe("Osprey01").await, 409, "username_taken", Some("username")).await;
    assert_error(probe("Osprey02").await, 409, "username_taken", Some("username")).await;
    assert_error(probe("Osprey03").await, 429, "too_many_lookups", None).await;
    // A name that is free still registers: the budget only hides the oracle.
    assert_eq!(probe("Osprey99").await.status(), 201);
}

#[tokio::test]
async fn usernames_are_unique_whatever_their_case() {
    let app = spawn_app().await;
    app.register_user("13500135002", Some("Nightingale")).await;
    let code = app.register_code("13500135003").await;
    let response = app.register(&registration("13500135003", &code, Some("NIGHTINGALE"))).await;
    assert_error(response, 409, "username_taken", Some("username")).await;
}

#[tokio::test]
async fn a_right_code_is_used_up_by_the_account_it_creates() {
    let app = spawn_app().await;
    let code = app.register_code("13500135004").await;
    assert_eq!(app.register(&registration("13500135004", &code, None)).await.status(), 201);
    let again = app.register(&registration("13500135004", &code, None)).await;
    assert_error(again, 422, "sms_code_expired", Some("sms_code")).await;
}

#[tokio::test]
async fn five_wrong_codes_kill_the_code() {
    let app = spawn_app().await;
    let code = app.register_code("13500135005").await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for left in (1..5).rev() {
        let body = assert_error(
            app.register(&registration("13500135005", wrong, None)).await,
            422,
            "sms_code_wrong",
            Some("sms_code"),
        )
        .await;
        assert_eq!(body["message"], format!("短信验证码错误，还可以再试{left}次"));
    }
    let body = assert_error(
        app.register(&registration("13500135005", wrong, None)).await,
        422,
        "sms_code_dead",
        Some("sms_code"),
    )
    .await;
    assert_eq!(body["message"], "短信验证码错误次数过多，请重新获取");
    // Dead: the right code no longer works either.
    assert_error(
        app.register(&registration("13500135005", &code, None)).await,
        422,
        "sms_code_expired",
        Some("sms_code"),
    )
    .await;
    assert_eq!(app.core.db.count_mobile(&app::rules::Mobile::parse("13500135005").unwrap()).await.unwrap(), 0);
}

/// Simultaneous submits for one number: one account, the rest a clear 4xx.
async fn duplicate_submits_create_one_account(db: Db) {
    let Some(app) = spawn(Spawn { db, ..Spawn::default() }).await else { return };
    let code = app.register_code("13500135007").await;
    let forms: Vec<Value> = (0..8).map(|i| registration("13500135007", &code, Some(&format!("racer{i:02}")))).collect();
    let responses = join_all(forms.iter().map(|f| app.register(f))).await;
    let mut created = 0;
    for response in responses {
        match response.status().as_u16() {
            201 => created += 1,
            409 => assert_eq!(body(response).await["code"], "mobile_taken"),
            422 => assert_eq!(body(response).await["code"], "sms_code_expired"),
            other => panic!("unexpected status {other}: {}", response.text().await.unwrap()),
        }
    }
    assert_eq!(created, 1);
    assert_eq!(app.core.db.count_mobile(&app::rules::Mobile::parse("13500135007").unwrap()).await.unwrap(), 1);
}

#[tokio::test]
async fn duplicate_submits_create_one_account_on_sqlite() {
    duplicate_submits_create_one_account(Db::Sqlite).await;
}

#[tokio::test]
async fn duplicate_submits_create_one_account_on_postgres() {
    duplicate_submits_create_one_account(Db::Postgres).await;
}

#[tokio::test]
async fn every_field_rule_is_checked_by_the_server_with_its_message() {
    let app = spawn_app().await;
    let code = app.register_code("13500135008").await;
    let base = registration("13500135008", &code, Some("Nightingale"));
    let cases: Vec<(&str, Value, &str, &str)> = vec![
        ("mobile", json!(""), "mobile_invalid", "请输入手机号"),
        ("mobile", json!("12345678901"), "mobile_invalid", "手机号格式不正确"),
        ("sms_code", json!(""), "sms_code_invalid", "请输入短信验证码"),
        ("sms_code", json!("12345"), "sms_code_invalid", "短信验证码为6位数字"),
        ("password", json!(""), "password_invalid", "请输入密码"),
        ("password", json!("Ab3$xyz"), "password_invalid", "密码长度应为8-20个字符"),
        ("password", json!("Ab3$xyzAb3$xyzAb3$xyz"), "password_invalid", "密码长度应为8-20个字符"),
        ("password", json!("password123"), "password_invalid", "密码太常见，请换一个更难猜的密码"),
        ("password", json!("13500135008"), "password_invalid", "密码不能与手机号或用户名相同"),
        ("password", json!("nightingale"), "password_invalid", "密码不能与手机号或用户名相同"),
        ("password2", json!("something-else-1"), "password_mismatch", "两次输入的密码不一致"),
        ("username", json!("abc"), "username_invalid", "用户名应为5-20个字符"),
        ("username", json!("1abcde"), "username_invalid", "用户名必须以字母开头"),
        ("username", json!("abc de"), "username_invalid", "用户名只能包含字母、数字、下划线和减号"),
        ("nickname", json!("长".repeat(21)), "nickname_invalid", "昵称不能超过20个字符"),
        ("allow", json!(false), "agreement_required", "请阅读并同意用户协议和隐私政策"),
    ];
    for (field, value, code, message) in cases {
        let mut form = base.clone();
        form[field] = value.clone();
        if field == "password" {
            form["password2"] = value;
        }
        let body = assert_error(app.register(&form).await, 422, code, Some(field)).await;
        assert_eq!(body["message"], message, "{field}");
    }
    // None of it changed anything: the code still works.
    assert_eq!(app.register(&base).await.status(), 201);
}

#[tokio::test]
async fn the_password_range_follows_the_setting() {
    let env = vec![("PASSWORD_MIN_LENGTH", "6".to_string()), ("PASSWORD_MAX_LENGTH", "16".to_string())];
    let app = spawn(Spawn { env, ..Spawn::default() }).await.unwrap();
    let code = app.register_code("13500135009").await;
    let mut form = registration("13500135009", &code, None);
    form["password"] = json!("Kite42");
    form["password2"] = json!("Kite42");
    assert_eq!(app.register(&form).await.status(), 201);
}

#[tokio::test]
async fn registration_works_on_postgres() {
    let Some(app) = spawn(Spawn { db: Db::Postgres, ..Spawn::default() }).await else { return };
    let body = app.register_user("13500135010", Some("PgUser1")).await;
    assert_eq!(body["username"], "PgUser1");
}

/// The attack: twenty guesses of one SMS code at the same instant. Each
/// check counts in one atomic step: at most SMS_MAX_ATTEMPTS (5) are
/// judged, the rest find the code dead, and none of the guesses registers.
async fn twenty_simultaneous_guesses_get_five_checks(store: StoreKind) {
    let Some(app) = spawn(Spawn { store, ..Spawn::default() }).await else { return };
    let code = app.register_code("13500135030").await;
    let guesses = (0..20).map(|i| {
        let guess = format!("{:06}", (code.parse::<u32>().unwrap() + 1 + i) % 1_000_000);
        let request = app.client.post(app.url("/api/v1/users")).json(&registration("13500135030", &guess, None)).send();
        async move { body(request.await.unwrap()).await["code"].as_str().unwrap().to_owned() }
    });
    let codes = futures::future::join_all(guesses).await;
    assert_eq!(codes.iter().filter(|c| *c == "sms_code_wrong").count(), 4, "{codes:?}");
    assert_eq!(codes.iter().filter(|c| *c == "sms_code_dead").count(), 1, "{codes:?}");
    assert_eq!(codes.iter().filter(|c| *c == "sms_code_expired").count(), 15, "{codes:?}");
    let response = app.register(&registration("13500135030", &code, None)).await;
    assert_error(response, 422, "sms_code_expired", Some("sms_code")).await;
}

on_each_store!(twenty_simultaneous_guesses_get_five_checks);
