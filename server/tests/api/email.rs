//! Binding an e-mail: a link proves it, only then it signs in; changing it,
//! removing it, the limits, and the attacks on the link.

use crate::helpers::*;
use reqwest::Client;
use serde_json::{Value, json};

/// Binds `email` with `password` and `code` (for `bind_email`, sent to the
/// account's mobile: `TestApp::bind_email_code`).
async fn bind_with(app: &TestApp, browser: &Client, email: &str, password: &str, code: &str) -> reqwest::Response {
    let form = json!({ "email": email, "password": password, "sms_code": code });
    browser.put(app.url("/api/v1/me/email")).json(&form).send().await.unwrap()
}

/// Binds `email` with the password and a fresh code.
async fn bind(app: &TestApp, browser: &Client, email: &str) -> reqwest::Response {
    app.bind_email(browser, email).await
}

/// A code that was never sent: for refusals the code is not reached by.
const UNSENT: &str = "000000";

async fn status(app: &TestApp, browser: &Client) -> Value {
    body(browser.get(app.url("/api/v1/me/email")).send().await.unwrap()).await
}

/// Opens a verification link from a client that is not signed in.
async fn open_link(app: &TestApp, token: &str) -> reqwest::Response {
    app.new_browser().get(app.url(&format!("/api/v1/email/verify/{token}"))).send().await.unwrap()
}

async fn signs_in(app: &TestApp, account: &str) -> u16 {
    app.login_with(&app.new_browser(), &login_form(account, PASSWORD)).await.status().as_u16()
}

#[tokio::test]
async fn an_address_is_bound_by_its_link_and_only_then_signs_in() {
    let app = spawn_app().await;
    let (_, browser) = app.signed_in_user("13500135000", "Heron01").await;
    let response = bind(&app, &browser, "  Heron@Example.COM ").await;
    assert_eq!(response.status(), 202);
    let waiting = body(response).await;
    assert_eq!(waiting["pending"], "heron@example.com");
    assert_eq!(waiting["verified"], Value::Null);
    assert!(waiting["resend_after"].as_u64().unwrap() > 50);
    // Waiting: it neither signs in nor shows on the profile.
    assert_eq!(signs_in(&app, "heron@example.com").await, 401);
    assert_eq!(body(browser.get(app.url("/api/v1/me")).send().await.unwrap()).await["email"], Value::Null);

    let token = app.mailed_token("heron@example.com").await;
    let opened = open_link(&app, &token).await;
    assert_eq!(opened.status(), 200);
    assert_eq!(body(opened).await["email"], "heron@example.com");
    let now = status(&app, &browser).await;
    assert_eq!((now["verified"].as_str(), &now["pending"]), (Some("heron@example.com"), &Value::Null));
    assert_eq!(signs_in(&app, "HERON@example.com").await, 200);
    // A link works once.
    assert_error(open_link(&app, &token).await, 422, "link_used", None).await;
}

#[tokio::test]
async fn binding_asks_for_the_password_and_a_wrong_one_sends_nothing() {
    let app = spawn_app().await;
    let (_, browser) = app.signed_in_user("13500135001", "Heron02").await;
    assert_error(
        bind_with(&app, &browser, "heron2@example.com", "wrong-Password-1", UNSENT).await,
        422,
        "password_wrong",
        Some("password"),
    )
    .await;
    assert_error(
        bind_with(&app, &browser, "not-an-address", PASSWORD, UNSENT).await,
        422,
        "email_invalid",
        Some("email"),
    )
    .await;
    assert_eq!(status(&app, &browser).await["pending"], Value::Null);
    assert_eq!(app.outbox_count("email", "heron2@example.com").await, 0);
    // Signed out: no binding at all.
    let anonymous = bind_with(&app, &app.new_browser(), "heron2@example.com", PASSWORD, UNSENT).await;
    assert_eq!(anonymous.status(), 401);
}

/// The attack: someone who had the password once (a shared computer, an
/// old leak) binds their own address, and with it could reset the password
/// for good. Binding also asks for a code sent to the account's mobile for
/// `bind_email`: without it, with a wrong one, with another number's or
/// another purpose's, nothing is bound and nothing is mailed.
#[tokio::test]
async fn binding_without_the_code_sent_to_the_accounts_phone_is_refused() {
    let app = spawn_app().await;
    let (_, browser) = app.signed_in_user("13500135020", "Heron20").await;
    let (_, other) = app.signed_in_user("13500135021", "Heron21").await;
    let attempt = |code: String| {
        let (app, browser) = (&app, &browser);
        async move { bind_with(app, browser, "intruder20@example.com", PASSWORD, &code).await }
    };
    assert_error(attempt(String::new()).await, 422, "sms_code_invalid", Some("sms_code")).await;
    assert_error(attempt(UNSENT.into()).await, 422, "sms_code_expired", Some("sms_code")).await;
    // Nobody asks for a bind_email code for someone else's number: signed
    // out it is refused, and signed in it goes to one's own number only.
    let anonymous = app.send_sms_from(&app.new_browser(), "13500135020", "bind_email").await;
    assert_error(anonymous, 401, "signed_out", None).await;
    let (_, stranger) = app.signed_in_user("13500135022", "Heron22").await;
    let (ours, theirs) = (app.outbox_count("sms", "13500135020").await, app.outbox_count("sms", "13500135022").await);
    assert_eq!(app.send_sms_from(&stranger, "13500135020", "bind_email").await.status(), 200);
    let reached = app.outbox_count_reaching("sms", "13500135022", theirs + 1).await;
    assert_eq!(reached, theirs + 1, "it went to the asker's own number");
    assert_eq!(app.outbox_count("sms", "13500135020").await, ours, "and not to the number named");
    // A code for another account's number, and one for another purpose.
    let theirs = app.bind_email_code(&other).await;
    assert_error(attempt(theirs).await, 422, "sms_code_expired", Some("sms_code")).await;
    let sign_in_code = app.sms_code("13500135020", "login").await;
    assert_error(attempt(sign_in_code).await, 422, "sms_code_expired", Some("sms_code")).await;
    // The real code, mistyped: a wrong try that counts.
    let code = app.bind_email_code(&browser).await;
    let wrong = if code == "123456" { "654321" } else { "123456" };
    assert_error(attempt(wrong.into()).await, 422, "sms_code_wrong", Some("sms_code")).await;
    assert_eq!(status(&app, &browser).await["pending"], Value::Null, "nothing bound");
    assert_eq!(app.outbox_count("email", "intruder20@example.com").await, 0, "nothing mailed");
    // The right code binds, once.
    assert_eq!(attempt(code.clone()).await.status(), 202);
    app.core.store.advance_clock(std::time::Duration::from_secs(61));
    assert_error(attempt(code).await, 422, "sms_code_expired", Some("sms_code")).await;
}

#[tokio::test]
async fn a_new_address_replaces_the_old_only_once_verified_and_the_old_one_hears_of_it() {
    let app = spawn_app().await;
    let (_, browser) = app.signed_in_user("13500135002", "Heron03").await;
    assert_eq!(bind(&app, &browser, "old3@example.com").await.status(), 202);
    assert_eq!(open_link(&app, &app.mailed_token("old3@example.com").await).await.status(), 200);

    // The account's own cooldown, across addresses: said before any code is
    // asked for (none could be sent yet: the number's own SMS interval).
    let early = bind_with(&app, &browser, "new3@example.com", PASSWORD, UNSENT).await;
    assert_error(early, 429, "email_cooldown", None).await;
    app.core.store.advance_clock(std::time::Duration::from_secs(61));
    assert_eq!(bind(&app, &browser, "new3@example.com").await.status(), 202);
    let both = status(&app, &browser).await;
    assert_eq!(
        (both["verified"].as_str(), both["pending"].as_str()),
        (Some("old3@example.com"), Some("new3@example.com"))
    );
    assert_eq!(signs_in(&app, "old3@example.com").await, 200, "the old address stays until the new one is verified");
    assert_eq!(open_link(&app, &app.mailed_token("new3@example.com").await).await.status(), 200);
    assert_eq!(signs_in(&app, "old3@example.com").await, 401);
    assert_eq!(signs_in(&app, "new3@example.com").await, 200);
    // The old address is told (masked new address, no link).
    assert!(app.outbox_has("old3@example.com", "账号邮箱已更换").await);
    assert!(app.outbox_has("old3@example.com", "n***@example.com").await);
}

#[tokio::test]
async fn changing_the_address_kills_the_waiting_link() {
    let app = spawn_app().await;
    let (_, browser) = app.signed_in_user("13500135003", "Heron04").await;
    assert_eq!(bind(&app, &browser, "first4@example.com").await.status(), 202);
    let first = app.mailed_token("first4@example.com").await;
    app.core.store.advance_clock(std::time::Duration::from_secs(61));
    assert_eq!(bind(&app, &browser, "second4@example.com").await.status(), 202);
    assert_error(open_link(&app, &first).await, 422, "link_unknown", None).await;
    assert_eq!(signs_in(&app, "first4@example.com").await, 401);
}

#[tokio::test]
async fn an_address_another_account_verified_is_refused() {
    let app = spawn_app().await;
    let (_, alice) = app.signed_in_user("13500135004", "Heron05").await;
    let (_, bob) = app.signed_in_user("13500135005", "Heron06").await;
    assert_eq!(bind(&app, &alice, "shared5@example.com").await.status(), 202);
    assert_eq!(open_link(&app, &app.mailed_token("shared5@example.com").await).await.status(), 200);
    assert_error(bind(&app, &bob, " SHARED5@example.com").await, 409, "email_taken", Some("email")).await;
}

/// Two accounts wait on one address and both links are opened at once: the
/// unique index lets exactly one verify it; the other hears it is taken.
async fn two_accounts_verifying_one_address_at_once(db: Db) {
    let Some(app) = spawn(Spawn { db, ..Spawn::default() }).await else { return };
    let (_, alice) = app.signed_in_user("13500135006", "Heron07").await;
    let alice_token = {
        assert_eq!(bind(&app, &alice, "race@example.com").await.status(), 202);
        app.mailed_token("race@example.com").await
    };
    let (_, bob) = app.signed_in_user("13500135007", "Heron08").await;
    // The address's own interval between links.
    assert_error(bind_with(&app, &bob, "Race@example.com", PASSWORD, UNSENT).await, 429, "email_cooldown", None).await;
    app.core.store.advance_clock(std::time::Duration::from_secs(61));
    assert_eq!(bind(&app, &bob, "Race@example.com").await.status(), 202);
    let bob_token = app.next_mailed_token("race@example.com", &alice_token).await;
    let (a, b) = tokio::join!(open_link(&app, &alice_token), open_link(&app, &bob_token));
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 409]);
    let verified = [status(&app, &alice).await, status(&app, &bob).await];
    assert_eq!(verified.iter().filter(|s| s["verified"] == "race@example.com").count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_accounts_verifying_one_address_at_once_on_sqlite() {
    two_accounts_verifying_one_address_at_once(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_accounts_verifying_one_address_at_once_on_postgres() {
    two_accounts_verifying_one_address_at_once(Db::Postgres).await;
}

#[tokio::test]
async fn a_resend_waits_out_the_interval_and_replaces_the_link() {
    let app = spawn_app().await;
    let (_, browser) = app.signed_in_user("13500135008", "Heron09").await;
    assert_eq!(bind(&app, &browser, "resend9@example.com").await.status(), 202);
    let first = app.mailed_token("resend9@example.com").await;
    let resend = || async { browser.post(app.url("/api/v1/me/email/resend")).send().await.unwrap() };
    let refused = assert_error(resend().await, 429, "email_cooldown", None).await;
    assert!(refused["message"].as_str().unwrap().contains("秒后再试"));
    app.core.store.advance_clock(std::time::Duration::from_secs(61));
    assert_eq!(resend().await.status(), 202);
    let second = app.next_mailed_token("resend9@example.com", &first).await;
    assert_error(open_link(&app, &first).await, 422, "link_unknown", None).await;
    assert_eq!(open_link(&app, &second).await.status(), 200);
}

#[tokio::test]
async fn forged_truncated_and_expired_links_are_refused_and_say_why() {
    let app = spawn_app().await;
    let (_, browser) = app.signed_in_user("13500135010", "Heron10").await;
    assert_eq!(bind(&app, &browser, "links10@example.com").await.status(), 202);
    let token = app.mailed_token("links10@example.com").await;
    let flipped = format!("{}{}", &token[..63], if token.ends_with('0') { '1' } else { '0' });
    for forged in [flipped.as_str(), &token[..40], "0".repeat(64).as_str(), "<script>", "%00"] {
        assert_error(open_link(&app, forged).await, 422, "link_unknown", None).await;
    }
    app.sql("UPDATE email_verifications SET expires_at = 1").await;
    assert_error(open_link(&app, &token).await, 422, "link_expired", None).await;
    let expired = status(&app, &browser).await;
    assert_eq!(
        (expired["pending"].as_str(), expired["pending_expired"].as_bool()),
        (Some("links10@example.com"), Some(true))
    );
    assert_eq!(signs_in(&app, "links10@example.com").await, 401);
}

#[tokio::test]
async fn the_address_is_removed_with_the_password() {
    let app = spawn_app().await;
    let (_, browser) = app.signed_in_user("13500135011", "Heron11").await;
    assert_eq!(bind(&app, &browser, "gone11@example.com").await.status(), 202);
    assert_eq!(open_link(&app, &app.mailed_token("gone11@example.com").await).await.status(), 200);
    let remove = |password: &'static str| {
        browser.delete(app.url("/api/v1/me/email")).json(&json!({ "password": password })).send()
    };
    assert_error(remove("wrong-Password-1").await.unwrap(), 422, "password_wrong", Some("password")).await;
    assert_eq!(signs_in(&app, "gone11@example.com").await, 200);
    assert_eq!(remove(PASSWORD).await.unwrap().status(), 204);
    assert_eq!(signs_in(&app, "gone11@example.com").await, 401);
    assert_eq!(
        status(&app, &browser).await,
        json!({ "verified": null, "pending": null, "pending_expired": false, "resend_after": 0 })
    );
    assert_error(remove(PASSWORD).await.unwrap(), 422, "no_email", None).await;
}

/// `server user show` tells an operator what the account's owner sees: the
/// verified address, and the one waiting for its link.
#[tokio::test]
async fn an_operator_sees_the_address_that_waits_for_its_link() {
    use server::cli::{UserCommand, run_user_command};
    let app = spawn_app().await;
    let (_, browser) = app.signed_in_user("13500135090", "Heron90").await;
    let show = || run_user_command(&app.core, UserCommand::Show { account: "Heron90".into() });
    let shown = show().await.unwrap();
    assert_eq!((&shown["email"], &shown["email_pending"]), (&Value::Null, &Value::Null));

    assert_eq!(bind(&app, &browser, "heron90@example.com").await.status(), 202);
    let shown = show().await.unwrap();
    assert_eq!(shown["email_pending"], "heron90@example.com");
    assert!(shown["email_pending_expires_at"].as_i64().unwrap() > shown["created_at"].as_i64().unwrap());
    assert_eq!(shown["email"], Value::Null);
    assert!(shown.get("password_hash").is_none());

    let token = app.mailed_token("heron90@example.com").await;
    assert_eq!(open_link(&app, &token).await.status(), 200);
    let shown = show().await.unwrap();
    assert_eq!((&shown["email"], &shown["email_verified"]), (&json!("heron90@example.com"), &json!(true)));
    assert_eq!(shown["email_pending"], Value::Null);
}

/// The page a verification link opens verifies nothing until the person
/// confirms: mail scanners open links too, and a stranger who bound this
/// address to their own account would otherwise get it verified by the
/// owner's scanner. The confirmation works without WASM (a form post).
#[tokio::test]
async fn the_link_page_asks_before_it_verifies() {
    let app = spawn_app().await;
    let (_, browser) = app.signed_in_user("13500135091", "Heron91").await;
    assert_eq!(bind(&app, &browser, "heron91@example.com").await.status(), 202);
    let token = app.mailed_token("heron91@example.com").await;

    // A scanner's visits: the page, twice, with no cookie.
    for _ in 0..2 {
        let page = app.new_browser().get(app.url(&format!("/email/verify?token={token}"))).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(html.contains("heron91@example.com") && shown(&html).contains("确认验证"), "{html}");
        // The account it would join, masked: a person who never asked sees it is not theirs.
        assert!(html.contains("135****5091") && !html.contains("13500135091"), "{html}");
    }
    assert_eq!(status(&app, &browser).await["pending"], "heron91@example.com");
    assert_eq!(signs_in(&app, "heron91@example.com").await, 401);

    // The person confirms, here without WASM.
    let confirm = app
        .new_browser()
        .post(app.url("/api/verify_email"))
        .header("accept", "text/html")
        .header("origin", app.address.clone())
        .header("referer", app.url(&format!("/email/verify?token={token}")))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert!(confirm.status().is_redirection(), "{}", confirm.status());
    assert_eq!(confirm.headers()["location"], "/email/verify?verified=1");
    let landed = app.get("/email/verify?verified=1").await;
    assert_eq!(landed.status(), 200);
    assert!(shown(&landed.text().await.unwrap()).contains("邮箱已验证"));
    assert_eq!(status(&app, &browser).await["verified"], "heron91@example.com");
    assert_eq!(signs_in(&app, "heron91@example.com").await, 200);

    // The used link's page says so, and offers nothing to confirm.
    let used = app.get(&format!("/email/verify?token={token}")).await.text().await.unwrap();
    // (The page's texts travel in its head: what it shows is its body.)
    let shown = &used[used.find("<body").unwrap()..];
    assert!(shown.contains("该验证链接已使用或已失效") && !shown.contains("确认验证"), "{used}");
}
