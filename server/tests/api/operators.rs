use crate::helpers::*;
use futures::future::join_all;
use server::cli::{UserCommand, run_user_command};

#[tokio::test]
async fn operators_create_disable_enable_and_reset_users() {
    let app = spawn_app().await;
    let create = UserCommand::Create {
        mobile: "13000130000".into(),
        password: PASSWORD.into(),
        username: Some("Operator1".into()),
        nickname: Some("运维".into()),
        email: Some("op@example.com".into()),
        accepted: false,
    };
    run_user_command(&app.core, create).await.unwrap();
    let browser = app.new_browser();
    let signed_in = app.login_with(&browser, &login_form("op@example.com", PASSWORD)).await;
    assert_eq!(signed_in.status(), 200);
    // Nobody attested their consent: they are asked for both texts.
    assert_eq!(body(signed_in).await["texts_to_accept"], serde_json::json!(["privacy", "terms"]));

    run_user_command(&app.core, UserCommand::Disable { account: "Operator1".into() }).await.unwrap();
    assert_eq!(browser.get(app.url("/api/v1/me")).send().await.unwrap().status(), 401, "sessions ended");
    assert_error(app.login_with(&browser, &login_form("Operator1", PASSWORD)).await, 403, "account_disabled", None)
        .await;

    run_user_command(&app.core, UserCommand::Enable { account: "13000130000".into() }).await.unwrap();
    assert_eq!(app.login_with(&browser, &login_form("Operator1", PASSWORD)).await.status(), 200);

    let reset = UserCommand::SetPassword { account: "Operator1".into(), password: "Lantern-Moth-77".into() };
    run_user_command(&app.core, reset).await.unwrap();
    assert_eq!(browser.get(app.url("/api/v1/me")).send().await.unwrap().status(), 401, "sessions ended");
    assert_eq!(app.login_with(&browser, &login_form("Operator1", "Lantern-Moth-77")).await.status(), 200);
}

#[tokio::test]
async fn operators_get_the_rules_messages() {
    let app = spawn_app().await;
    let bad = UserCommand::Create {
        mobile: "12345".into(),
        password: PASSWORD.into(),
        username: None,
        nickname: None,
        email: None,
        accepted: true,
    };
    let error = run_user_command(&app.core, bad).await.unwrap_err();
    assert_eq!(error.to_string(), "mobile: 手机号格式不正确");
    let missing = run_user_command(&app.core, UserCommand::Show { account: "Nobody99".into() }).await.unwrap_err();
    assert_eq!(missing.to_string(), "no such account");
}

/// Past the hashing queue, sign-ins are refused with 503 at once instead of
/// queueing without bound; nothing is a 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_hashing_queue_answers_503() {
    // One hash at a time, whatever the machine's cores, and none waiting.
    let env = vec![
        ("HASH_CONCURRENCY", "1".to_string()),
        ("HASH_QUEUE_LIMIT", "0".to_string()),
        ("ARGON2_MEMORY_KIB", "19456".to_string()),
        ("ARGON2_ITERATIONS", "4".to_string()),
        ("LOGIN_CAPTCHA", "never".to_string()),
        ("LOCKOUT_AFTER_FAILURES", "1000".to_string()),
    ];
    let app = spawn(Spawn { env, ..Spawn::default() }).await.unwrap();
    app.user("13000130001", "Operator2").await;
    let browsers: Vec<_> = (0..32).map(|_| app.new_browser()).collect();
    let form = login_form("Operator2", PASSWORD);
    let responses = join_all(browsers.iter().map(|b| app.login_with(b, &form))).await;
    let statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    assert!(statuses.iter().all(|s| *s == 200 || *s == 503), "{statuses:?}");
    assert!(statuses.contains(&200) && statuses.contains(&503), "{statuses:?}");
    let busy = responses.into_iter().find(|r| r.status() == 503).unwrap();
    assert_eq!(body(busy).await["code"], "busy");
}
