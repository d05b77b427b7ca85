use crate::helpers::*;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn sign_in_with_a_username_a_mobile_or_a_verified_email() {
    let app = spawn_app().await;
    let id = app.user("13400134000", "Kestrel01").await;
    let email = app::rules::Email::parse("kestrel@example.com").unwrap();
    app.core.db.set_verified_email(id, &email).await.unwrap();
    for account in ["kestrel01", "+86 134-0013-4000", "Kestrel@Example.com"] {
        let response = app.login_with(&app.new_browser(), &login_form(account, PASSWORD)).await;
        assert_eq!(response.status(), 200, "{account}");
        let cookie = response.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(!cookie.contains("Max-Age"), "a browser-session cookie without remember me");
        let body = body(response).await;
        assert_eq!((body["id"].as_i64(), body["username"].as_str()), (Some(id), Some("Kestrel01")));
        assert!(body["token"].as_str().is_some() && body.get("avatar").is_some());
    }
}

#[tokio::test]
async fn remember_me_makes_a_fourteen_day_cookie() {
    let app = spawn_app().await;
    app.user("13400134001", "Kestrel02").await;
    let form = json!({ "account": "Kestrel02", "password": PASSWORD, "remember": true });
    let response = app.login_with(&app.new_browser(), &form).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=1209600"));
}

#[tokio::test]
async fn an_unverified_email_does_not_sign_in() {
    let app = spawn_app().await;
    let (_, browser) = app.signed_in_user("13400134002", "Kestrel03").await;
    assert_eq!(app.bind_email(&browser, "kestrel3@example.com").await.status(), 202);
    let response = app.login_with(&app.new_browser(), &login_form("kestrel3@example.com", PASSWORD)).await;
    assert_error(response, 401, "wrong_credentials", Some("password")).await;
}

#[tokio::test]
async fn an_unknown_account_and_a_wrong_password_get_the_same_answer() {
    let app = spawn_app().await;
    app.user("13400134003", "Kestrel04").await;
    let unknown = assert_error(
        app.login_with(&app.new_browser(), &login_form("Nobody99", PASSWORD)).await,
        401,
        "wrong_credentials",
        Some("password"),
    )
    .await;
    let wrong = assert_error(
        app.login_with(&app.new_browser(), &login_form("Kestrel04", "not-the-password")).await,
        401,
        "wrong_credentials",
        Some("password"),
    )
    .await;
    assert_eq!(unknown, wrong);
    assert_eq!(wrong["message"], "账号或密码错误");
}

#[tokio::test]
async fn the_captcha_is_asked_after_three_failures_and_then_works() {
    let app = spawn_app().await;
    app.user("13400134004", "Kestrel05").await;
    let browser = app.new_browser();
    let needs = || async {
        body(browser.get(app.url("/api/v1/login/captcha?account=Kestrel05")).send().await.unwrap()).await["required"]
            .clone()
    };
    assert_eq!(needs().await, false);
    for _ in 0..3 {
        assert_eq!(app.login_with(&browser, &login_form("Kestrel05", "wrong-password")).await.status(), 401);
    }
    assert_eq!(needs().await, true);
    assert_error(
        app.login_with(&browser, &login_form("Kestrel05", PASSWORD)).await,
        422,
        "image_code_required",
        Some("text"),
    )
    .await;
    let (id, answer) = app.captcha().await;
    let form = json!({ "account": "Kestrel05", "password": PASSWORD, "image_code_id": id, "text": answer });
    assert_eq!(app.login_with(&browser, &form).await.status(), 200);
}

#[tokio::test]
async fn with_the_captcha_always_on_the_first_attempt_needs_it() {
    let env = vec![("LOGIN_CAPTCHA", "always".to_string())];
    let app = spawn(Spawn { env, ..Spawn::default() }).await.unwrap();
    app.user("13400134005", "Kestrel06").await;
    assert_error(
        app.login_with(&app.new_browser(), &login_form("Kestrel06", PASSWORD)).await,
        422,
        "image_code_required",
        Some("text"),
    )
    .await;
}

#[tokio::test]
async fn with_the_captcha_never_on_failures_never_ask_for_it() {
    let env = vec![("LOGIN_CAPTCHA", "never".to_string())];
    let app = spawn(Spawn { env, ..Spawn::default() }).await.unwrap();
    app.user("13400134006", "Kestrel07").await;
    for _ in 0..5 {
        app.login_with(&app.new_browser(), &login_form("Kestrel07", "wrong-password")).await;
    }
    assert_eq!(app.login_with(&app.new_browser(), &login_form("Kestrel07", PASSWORD)).await.status(), 200);
}

fn lockout_env(window: &str, lock: &str) -> Vec<(&'static str, String)> {
    vec![
        ("LOGIN_CAPTCHA", "never".to_string()),
        ("LOCKOUT_AFTER_FAILURES", "3".to_string()),
        ("LOGIN_FAILURE_WINDOW_SECONDS", window.to_string()),
        ("LOCKOUT_SECONDS", lock.to_string()),
    ]
}

#[tokio::test]
async fn the_default_lockout_is_ten_failures_then_says_until_when_and_sms_still_works() {
    let env = vec![("LOGIN_CAPTCHA", "never".to_string())];
    let app = spawn(Spawn { env, ..Spawn::default() }).await.unwrap();
    app.user("13400134007", "Kestrel08").await;
    for _ in 0..9 {
        app.login_with(&app.new_browser(), &login_form("Kestrel08", "wrong-password")).await;
    }
    assert_eq!(
        app.login_with(&app.new_browser(), &login_form("Kestrel08", PASSWORD)).await.status(),
        200,
        "nine do not lock"
    );
    for _ in 0..10 {
        app.login_with(&app.new_browser(), &login_form("Kestrel08", "wrong-password")).await;
    }
    let response = app.login_with(&app.new_browser(), &login_form("13400134007", PASSWORD)).await;
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((890..=900).contains(&retry_after), "{retry_after}");
    let body = assert_error(response, 429, "account_locked", None).await;
    assert!(body["message"].as_str().unwrap().contains("锁定至"), "{body}");
    // SMS sign-in still works for the owner.
    let code = app.sms_code("13400134007", "login").await;
    let sms = app
        .new_browser()
        .post(app.url("/api/v1/sms_login"))
        .json(&json!({ "mobile": "13400134007", "sms_code": code }))
        .send();
    assert_eq!(sms.await.unwrap().status(), 200);
}

#[tokio::test]
async fn failures_outside_the_window_do_not_add_up() {
    let app = spawn(Spawn { env: lockout_env("1", "60"), ..Spawn::default() }).await.unwrap();
    app.user("13400134008", "Kestrel09").await;
    for _ in 0..2 {
        app.login_with(&app.new_browser(), &login_form("Kestrel09", "wrong-password")).await;
    }
    tokio::time::sleep(Duration::from_millis(1100)).await;
    for _ in 0..2 {
        app.login_with(&app.new_browser(), &login_form("Kestrel09", "wrong-password")).await;
    }
    assert_eq!(app.login_with(&app.new_browser(), &login_form("Kestrel09", PASSWORD)).await.status(), 200);
}

#[tokio::test]
async fn the_lock_ends_after_its_duration() {
    let app = spawn(Spawn { env: lockout_env("60", "1"), ..Spawn::default() }).await.unwrap();
    app.user("13400134009", "Kestrel10").await;
    for _ in 0..3 {
        app.login_with(&app.new_browser(), &login_form("Kestrel10", "wrong-password")).await;
    }
    assert_eq!(app.login_with(&app.new_browser(), &login_form("Kestrel10", PASSWORD)).await.status(), 429);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(app.login_with(&app.new_browser(), &login_form("Kestrel10", PASSWORD)).await.status(), 200);
}

/// The attack: wrong passwords for made-up names, a new counter each, until
/// the in-process store is full. Those counters are soft: the store forgets
/// them rather than answer 503 to everything that needs a new key, and it
/// keeps what protects a real account (its lock).
#[tokio::test]
async fn made_up_names_cannot_fill_the_store() {
    let mut env = lockout_env("600", "600");
    env.push(("STORE_MAX_KEYS", "48".to_string()));
    let app = spawn(Spawn { env, ..Spawn::default() }).await.unwrap();
    app.user("13400134090", "Kestrel90").await;
    for _ in 0..3 {
        app.login_with(&app.new_browser(), &login_form("Kestrel90", "wrong-password")).await;
    }
    let mut statuses = vec![];
    for i in 0..80 {
        let made_up = login_form(&format!("Nobody{i:03}"), "wrong-password");
        statuses.push(app.login_with(&app.new_browser(), &made_up).await.status().as_u16());
    }
    assert!(statuses.iter().all(|s| *s == 401), "{statuses:?}");
    let owner = app.login_with(&app.new_browser(), &login_form("Kestrel90", PASSWORD)).await;
    assert_error(owner, 429, "account_locked", None).await;
}

#[tokio::test]
async fn unknown_accounts_lock_like_known_ones() {
    let app = spawn(Spawn { env: lockout_env("60", "60"), ..Spawn::default() }).await.unwrap();
    for _ in 0..3 {
        app.login_with(&app.new_browser(), &login_form("Nobody99", "wrong-password")).await;
    }
    assert_error(app.login_with(&app.new_browser(), &login_form("Nobody99", "x")).await, 429, "account_locked", None)
        .await;
}

#[tokio::test]
async fn a_disabled_account_says_so_only_after_the_right_password() {
    let app = spawn_app().await;
    let id = app.user("13400134010", "Kestrel11").await;
    app.core.db.set_active(id, false).await.unwrap();
    assert_error(
        app.login_with(&app.new_browser(), &login_form("Kestrel11", "wrong-password")).await,
        401,
        "wrong_credentials",
        Some("password"),
    )
    .await;
    let body = assert_error(
        app.login_with(&app.new_browser(), &login_form("Kestrel11", PASSWORD)).await,
        403,
        "account_disabled",
        None,
    )
    .await;
    assert_eq!(body["message"], "该账号已被停用，请联系客服");
}

#[tokio::test]
async fn a_code_for_another_purpose_does_not_sign_in() {
    let app = spawn_app().await;
    app.user("13400134011", "Kestrel12").await;
    // A register code for a new number, used to sign in to that number.
    let code = app.register_code("13400134012").await;
    let form = json!({ "mobile": "13400134012", "sms_code": code });
    let response = app.new_browser().post(app.url("/api/v1/sms_login")).json(&form).send().await.unwrap();
    assert_error(response, 422, "sms_code_expired", Some("sms_code")).await;
    // A login code does not register either: the register code store is apart.
    let login_code = app.sms_code("13400134011", "login").await;
    let register =
        app.new_browser().post(app.url("/api/v1/users")).json(&registration("13400134012", &login_code, None));
    let status = register.send().await.unwrap().status().as_u16();
    assert!(status == 422 || login_code == code, "a login code registered an account");
}

#[tokio::test]
async fn sign_in_attempts_are_recorded_for_the_history() {
    let app = spawn_app().await;
    app.user("13400134013", "Kestrel13").await;
    let browser = app.new_browser();
    app.login_with(&browser, &login_form("Kestrel13", "wrong-password")).await;
    assert_eq!(app.login_with(&browser, &login_form("Kestrel13", PASSWORD)).await.status(), 200);
    let history = body(browser.get(app.url("/api/v1/me/logins")).send().await.unwrap()).await;
    let outcomes: Vec<&str> = history.as_array().unwrap().iter().map(|a| a["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["success", "wrong_password", "success"], "newest first; the sign-up counts");
    assert_eq!(history[0]["method"], "password");
    assert_eq!(history[0]["client_ip"], "127.0.0.1");
}

/// The attack: thirty wrong passwords for one account at the same instant.
/// Only the three the captcha threshold allows may get a password verdict.
async fn thirty_simultaneous_wrong_passwords_get_three_verdicts_then_the_captcha(store: StoreKind) {
    let Some(app) = spawn(Spawn { store, ..Spawn::default() }).await else { return };
    app.user("13400134020", "Kestrel20").await;
    let attempts = (0..30).map(|_| {
        let browser = app.new_browser();
        let url = app.url("/api/v1/login");
        async move { browser.post(url).json(&login_form("Kestrel20", "wrong-password")).send().await.unwrap().status() }
    });
    let statuses: Vec<u16> = futures::future::join_all(attempts).await.iter().map(|s| s.as_u16()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 3, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 422).count(), 27, "{statuses:?}");
}

/// The same burst with a solved captcha each: the lock (three here) holds.
async fn with_captchas_solved_a_burst_gets_no_more_verdicts_than_the_lock_allows(store: StoreKind) {
    let env = vec![("LOCKOUT_AFTER_FAILURES", "3".to_string()), ("LOGIN_CAPTCHA", "always".to_string())];
    let Some(app) = spawn(Spawn { store, env, ..Spawn::default() }).await else { return };
    app.user("13400134021", "Kestrel21").await;
    let mut forms = vec![];
    for _ in 0..12 {
        let (id, answer) = app.captcha().await;
        forms
            .push(json!({ "account": "Kestrel21", "password": "wrong-password", "image_code_id": id, "text": answer }));
    }
    let attempts = forms.iter().map(|form| {
        let browser = app.new_browser();
        let url = app.url("/api/v1/login");
        async move { browser.post(url).json(form).send().await.unwrap().status().as_u16() }
    });
    let statuses = futures::future::join_all(attempts).await;
    assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 3, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 9, "{statuses:?}");
}

/// `/login/captcha?account=` must not tell whether an account exists or is
/// under attack: it answers by the asking address only, and is limited.
#[tokio::test]
async fn the_captcha_question_answers_by_address_never_by_account() {
    let env = vec![("TRUSTED_PROXIES", "127.0.0.1".to_string()), ("LOOKUPS_PER_MINUTE", "4".to_string())];
    let app = spawn(Spawn { env, ..Spawn::default() }).await.unwrap();
    app.user("13400134030", "Kestrel30").await;
    let from = |ip: &'static str| move |request: reqwest::RequestBuilder| request.header("x-forwarded-for", ip);
    let (attacker, owner) = (from("203.0.113.50"), from("198.51.100.50"));
    for _ in 0..3 {
        let attempt =
            attacker(app.client.post(app.url("/api/v1/login")).json(&login_form("Kestrel30", "wrong-password")));
        assert_eq!(attempt.send().await.unwrap().status(), 401);
    }
    let asks =
        |request: reqwest::RequestBuilder| async { body(request.send().await.unwrap()).await["required"].clone() };
    let question = |account: &str| app.client.get(app.url(&format!("/api/v1/login/captcha?account={account}")));
    assert_eq!(asks(attacker(question("Kestrel30"))).await, true, "the failing address is asked");
    assert_eq!(asks(owner(question("Kestrel30"))).await, false, "no word about the account's failures");
    assert_eq!(asks(owner(question("Nobody77"))).await, false);
    // The account still wants the captcha: the owner hears it at the attempt.
    let attempt = owner(app.client.post(app.url("/api/v1/login")).json(&login_form("Kestrel30", PASSWORD)));
    assert_error(attempt.send().await.unwrap(), 422, "image_code_required", Some("text")).await;
    // Limited like the availability checks (4 a minute here).
    let _ = owner(question("a")).send().await.unwrap();
    let _ = owner(question("b")).send().await.unwrap();
    assert_error(owner(question("c")).send().await.unwrap(), 429, "too_many_lookups", None).await;
}

/// A flood against a locked account writes one history row, not one each:
/// the owner's own sign-ins stay in the history the user centre shows.
#[tokio::test]
async fn a_flood_against_a_locked_account_writes_one_history_row() {
    let app = spawn(Spawn { env: lockout_env("600", "600"), ..Spawn::default() }).await.unwrap();
    let id = app.user("13400134031", "Kestrel31").await;
    for _ in 0..3 {
        app.login_with(&app.new_browser(), &login_form("Kestrel31", "wrong-password")).await;
    }
    for _ in 0..20 {
        let refused = app.login_with(&app.new_browser(), &login_form("Kestrel31", "wrong-password")).await;
        assert_eq!(refused.status(), 429);
    }
    let history = app.core.db.recent_attempts(id, 100).await.unwrap();
    assert_eq!(history.iter().filter(|a| a.outcome == "locked").count(), 1, "{history:?}");
    assert_eq!(history.iter().filter(|a| a.outcome == "wrong_password").count(), 3);
}

/// Accounts `Crowd00`.. with the usual password, made by the operator's
/// door (sixty-four sign-ups from one address would meet its SMS cap).
async fn crowd(app: &TestApp, first_mobile: u32, n: u32) -> Vec<String> {
    let mut names = vec![];
    for i in 0..n {
        let (mobile, name) = (format!("1340{:07}", first_mobile + i), format!("Crowd{:02}x{first_mobile}", i));
        let user = app::core::use_cases::CreateUser {
            mobile: &mobile,
            password: PASSWORD,
            username: Some(&name),
            nickname: None,
            email: None,
            accepted: true,
        };
        app::core::use_cases::create_user(&app.core, &user).await.unwrap();
        names.push(name);
    }
    names
}

/// Each form sent at the same instant, from one address (this machine's),
/// each in a browser of its own; the statuses.
async fn all_at_once(app: &TestApp, forms: impl IntoIterator<Item = serde_json::Value>) -> Vec<u16> {
    let attempts = forms.into_iter().map(|form| {
        let browser = app.new_browser();
        let url = app.url("/api/v1/login");
        async move { browser.post(url).json(&form).send().await.unwrap().status().as_u16() }
    });
    futures::future::join_all(attempts).await
}

/// Sixty-four people behind one carrier NAT sign in at the same instant,
/// each to their own account, with the right password: attempts still being
/// checked are no failures, so none of them is asked for a captcha.
async fn sixty_four_right_passwords_from_one_address_all_sign_in(store: StoreKind) {
    let Some(app) = spawn(Spawn { store, ..Spawn::default() }).await else { return };
    let names = crowd(&app, 134_100, 64).await;
    let statuses = all_at_once(&app, names.iter().map(|name| login_form(name, PASSWORD))).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let asked = app.client.get(app.url("/api/v1/login/captcha?account=Crowd00x134100")).send().await.unwrap();
    assert_eq!(body(asked).await["required"], false);
}

/// One person's sixty-four tabs (or a script with the right password) at
/// the same instant: all signed in, none asked for the captcha.
async fn sixty_four_right_passwords_for_one_account_all_sign_in(store: StoreKind) {
    let Some(app) = spawn(Spawn { store, ..Spawn::default() }).await else { return };
    let names = crowd(&app, 134_200, 1).await;
    let statuses = all_at_once(&app, (0..64).map(|_| login_form(&names[0], PASSWORD))).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
}

/// Credential stuffing from one address: wrong passwords for forty
/// accounts at the same instant. Each account is far from its own
/// threshold, so the address's (20 by default) is what holds: that many
/// get a verdict, the rest are asked for the captcha.
async fn a_stuffing_burst_from_one_address_meets_the_captcha(store: StoreKind) {
    let Some(app) = spawn(Spawn { store, ..Spawn::default() }).await else { return };
    let mut names = crowd(&app, 134_300, 10).await;
    names.extend((0..30).map(|i| format!("Nobody{i:02}")));
    let statuses = all_at_once(&app, names.iter().map(|name| login_form(name, "wrong-password"))).await;
    assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 20, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 422).count(), 20, "{statuses:?}");
    let asked = app.client.get(app.url("/api/v1/login/captcha?account=Someone")).send().await.unwrap();
    assert_eq!(body(asked).await["required"], true, "the address is asked now, whatever the account");
}

on_each_store!(
    thirty_simultaneous_wrong_passwords_get_three_verdicts_then_the_captcha,
    with_captchas_solved_a_burst_gets_no_more_verdicts_than_the_lock_allows,
    sixty_four_right_passwords_from_one_address_all_sign_in,
    sixty_four_right_passwords_for_one_account_all_sign_in,
    a_stuffing_burst_from_one_address_meets_the_captcha,
);

/// The address's threshold is a setting of its own.
#[tokio::test]
async fn login_captcha_after_address_failures_sets_the_addresss_threshold() {
    let env = vec![("LOGIN_CAPTCHA_AFTER_ADDRESS_FAILURES", "2".to_string())];
    let app = spawn(Spawn { env, ..Spawn::default() }).await.unwrap();
    for name in ["Nobody50", "Nobody51"] {
        assert_eq!(app.login_with(&app.new_browser(), &login_form(name, "wrong-password")).await.status(), 401);
    }
    let third = app.login_with(&app.new_browser(), &login_form("Nobody52", "wrong-password")).await;
    assert_error(third, 422, "image_code_required", Some("text")).await;
}

/// A client that leaves while its password is being checked holds no
/// place in flight: the next attempt is not kept waiting for a verdict that
/// will never come, and nothing was counted against the account.
#[tokio::test]
async fn a_sign_in_abandoned_mid_hash_holds_no_place() {
    let env = vec![
        ("ARGON2_MEMORY_KIB", "65536".to_string()),
        ("ARGON2_ITERATIONS", "24".to_string()),
        ("LOGIN_CAPTCHA_AFTER_FAILURES", "1".to_string()),
    ];
    let app = spawn(Spawn { env, ..Spawn::default() }).await.unwrap();
    app.user("13400134041", "Kestrel41").await;
    let impatient = reqwest::Client::builder().timeout(Duration::from_millis(300)).build().unwrap();
    let left = impatient.post(app.url("/api/v1/login")).json(&login_form("Kestrel41", "wrong-password")).send().await;
    assert!(left.is_err_and(|e| e.is_timeout()), "the client left mid-hash");
    let next = app.login_with(&app.new_browser(), &login_form("Kestrel41", PASSWORD)).await;
    assert_eq!(next.status(), 200, "{:?}", body(next).await);
}

/// The attack: someone who has the old password signs in while its owner
/// resets it. The sign-in read the account and is verifying the old
/// password (slowly here: a costly hash) when the reset commits and ends
/// every session; a session it started after that would outlive the reset.
/// The session starts only if the password it checked is still the one.
#[tokio::test]
async fn a_sign_in_that_checked_the_old_password_gets_no_session_after_a_reset() {
    let env = vec![("ARGON2_MEMORY_KIB", "65536".to_string()), ("ARGON2_ITERATIONS", "24".to_string())];
    let app = spawn(Spawn { env, ..Spawn::default() }).await.unwrap();
    let id = app.user("13600137700", "Plover").await;
    let browser = app.new_browser();
    let started = std::time::Instant::now();
    let sign_in = tokio::spawn({
        let request = browser.post(app.url("/api/v1/login")).json(&login_form("Plover", PASSWORD)).send();
        async move { request.await.unwrap() }
    });
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let reset_hash = app::core::password_hashing::PasswordHash::from_stored("$argon2id$reset-by-owner".into());
    app.core.db.set_password_hash(id, &reset_hash, None, now_ms(), &[]).await.unwrap();
    let reset_at = started.elapsed();
    let answer = sign_in.await.unwrap();
    assert!(started.elapsed() > reset_at, "the sign-in was still being checked when the reset committed");
    assert_error(answer, 401, "account_changed", None).await;
    let live = app.core.db.live_sessions(id, now_ms()).await.unwrap();
    assert!(live.is_empty(), "a session outlived the reset: {live:?}");
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}
