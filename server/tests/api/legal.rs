//! The privacy policy and the terms: their pages, the acceptance recorded
//! with every registration, and accepting a new version (issue 19).

use crate::helpers::*;
use serde_json::{Value, json};

/// A server whose texts are at versions of the operator's own, the privacy
/// policy from the operator's file.
async fn with_texts(db: Db) -> Option<(TestApp, std::path::PathBuf)> {
    let file = std::env::temp_dir().join(format!("privacy-{}.md", uuid::Uuid::new_v4().simple()));
    std::fs::write(&file, "# 本站隐私政策\n\n我们只保存手机号。<script>alert(1)</script>\n").unwrap();
    let env = vec![
        ("PRIVACY_POLICY_VERSION", "2026-12-01".to_owned()),
        ("PRIVACY_POLICY_FILE", file.display().to_string()),
        ("TERMS_VERSION", "3".to_owned()),
    ];
    Some((spawn(Spawn { db, env, ..Spawn::default() }).await?, file))
}

async fn acceptances(app: &TestApp) -> Vec<Value> {
    let listed = body(app.client.get(app.url("/api/v1/me/consents")).send().await.unwrap()).await;
    listed.as_array().unwrap().clone()
}

async fn registration_records_what_was_accepted(db: Db) {
    let Some((app, file)) = with_texts(db).await else { return };
    let code = app.register_code("13600136001").await;
    assert_eq!(app.register(&registration("13600136001", &code, Some("Plover01"))).await.status(), 201);
    let records = acceptances(&app).await;
    let mut said: Vec<(String, String)> = records
        .iter()
        .map(|r| (r["kind"].as_str().unwrap().to_owned(), r["version"].as_str().unwrap().to_owned()))
        .collect();
    said.sort();
    assert_eq!(said, [("privacy".to_owned(), "2026-12-01".to_owned()), ("terms".to_owned(), "3".to_owned())]);
    assert!(records.iter().all(|r| r["accepted_at"].as_i64().unwrap() > 1_700_000_000_000), "{records:?}");

    // Only the version in force can be accepted; a wrong one changes nothing.
    let accept = |kind: &str, version: &str| {
        app.client.post(app.url("/api/v1/me/consents")).json(&json!({ "kind": kind, "version": version })).send()
    };
    assert_error(accept("privacy", "1").await.unwrap(), 409, "version_not_current", None).await;
    assert_error(accept("cookies", "1").await.unwrap(), 422, "unknown_kind", Some("kind")).await;
    assert_eq!(acceptances(&app).await.len(), 2);
    assert_eq!(accept("privacy", "2026-12-01").await.unwrap().status(), 204);
    let records = acceptances(&app).await;
    assert_eq!((records.len(), records[0]["kind"].as_str()), (3, Some("privacy")), "the latest first");

    // Signed out, there is nothing to list or accept.
    let stranger = app.new_browser();
    assert_eq!(stranger.get(app.url("/api/v1/me/consents")).send().await.unwrap().status(), 401);
    let _ = std::fs::remove_file(file);
}

#[tokio::test]
async fn registration_records_what_was_accepted_on_sqlite() {
    registration_records_what_was_accepted(Db::Sqlite).await;
}

#[tokio::test]
async fn registration_records_what_was_accepted_on_postgres() {
    registration_records_what_was_accepted(Db::Postgres).await;
}

#[tokio::test]
async fn a_refused_registration_records_nothing() {
    let app = spawn_app().await;
    let code = app.register_code("13600136002").await;
    let mut form = registration("13600136002", &code, Some("Plover02"));
    form["allow"] = json!(false);
    assert_error(app.register(&form).await, 422, "agreement_required", Some("allow")).await;
    let rows: i64 = match &app.core.db {
        app::core::db::Database::Sqlite(pool, _) => {
            sqlx::query_scalar("SELECT COUNT(*) FROM legal_acceptances").fetch_one(pool).await.unwrap()
        }
        app::core::db::Database::Postgres(pool) => {
            sqlx::query_scalar("SELECT COUNT(*) FROM legal_acceptances").fetch_one(pool).await.unwrap()
        }
    };
    assert_eq!(rows, 0);
}

#[tokio::test]
async fn the_texts_are_whole_in_the_servers_html_and_their_html_stays_text() {
    let Some((app, file)) = with_texts(Db::Sqlite).await else { return };
    let privacy = app.get("/privacy").await.text().await.unwrap();
    assert!(privacy.contains("本站隐私政策") && privacy.contains("我们只保存手机号"), "{privacy}");
    assert!(shown(&privacy).contains("版本：2026-12-01"));
    assert!(!privacy.contains("<script>alert(1)") && privacy.contains("&lt;script&gt;alert(1)"), "{privacy}");
    let terms = app.get("/terms").await.text().await.unwrap();
    assert!(
        shown(&terms).contains("用户协议") && shown(&terms).contains("版本：3"),
        "our text, the operator's version"
    );
    let texts = body(app.get("/api/v1/legal").await).await;
    assert_eq!(texts[0]["kind"], "privacy");
    assert_eq!(texts[0]["version"], "2026-12-01");
    assert!(texts[0]["url"].as_str().unwrap().ends_with("/privacy"));

    // Every page links both; the register box is never ticked for the visitor.
    let register = app.get("/register").await.text().await.unwrap();
    for link in [r#"href="/terms""#, r#"href="/privacy""#] {
        assert!(register.contains(link), "{link}");
    }
    let allow = register.split(r#"id="allow""#).nth(1).unwrap().split('>').next().unwrap();
    assert!(!allow.contains("checked"), "{allow}");
    let _ = std::fs::remove_file(file);
}

/// The operator publishes a new version of the terms: a person who
/// accepted the old one is asked again before going on, at sign-in (the
/// API says so, the page goes by `/accept`), at the user centre, and when
/// a site signs them in through us; an answer for a version no longer in
/// force changes nothing.
#[tokio::test]
async fn a_changed_text_is_asked_again_before_going_on() {
    let before = spawn_app().await;
    before.user("13600136010", "Plover10").await;
    let database_url = before.env["DATABASE_URL"].clone();
    let env = vec![("TERMS_VERSION", "2".to_owned())];
    let app = spawn(Spawn { database_url: Some(database_url), env, ..Spawn::default() }).await.unwrap();

    let api = app.new_browser();
    let signed_in = app.login_with(&api, &login_form("Plover10", PASSWORD)).await;
    assert_eq!(body(signed_in).await["texts_to_accept"], json!(["terms"]));
    let me = body(api.get(app.url("/api/v1/me")).send().await.unwrap()).await;
    assert_eq!(me["texts_to_accept"], json!(["terms"]));

    // The page's sign-in, without WASM: on to /accept, then where it was going.
    let browser = app.new_browser();
    let form = [("account", "Plover10"), ("password", PASSWORD), ("next", "/user")];
    let page_login = browser
        .post(app.url("/api/login"))
        .header("accept", "text/html")
        .header("referer", app.url("/login"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(page_login.headers()["location"], "/accept?next=%2Fuser");
    let centre = browser.get(app.url("/user")).send().await.unwrap();
    assert_eq!(centre.headers().get("location").map(|l| l.to_str().unwrap()), Some("/accept?next=%2Fuser"));
    let ask = browser.get(app.url("/accept?next=%2Fuser")).send().await.unwrap().text().await.unwrap();
    assert!(ask.contains("《用户协议》（版本：2）") && !ask.contains("《隐私政策》（版本"), "{ask}");

    // A site's sign-in through us waits for it too.
    let registration = app::core::use_cases::ClientRegistration {
        name: "Demo 商城",
        redirect_uris: &["https://rp.example/cb".to_owned()],
        post_logout_redirect_uris: &[],
        public: false,
        consent: false,
    };
    let (client, _) = app::core::use_cases::create_client(&app.core, &registration).await.unwrap();
    let authorize = format!(
        "/oauth2/authorize?client_id={}&redirect_uri=https%3A%2F%2Frp.example%2Fcb&response_type=code&scope=openid",
        client.client_id
    );
    let sent = browser.get(app.url(&authorize)).send().await.unwrap();
    let to = sent.headers()["location"].to_str().unwrap().to_owned();
    assert!(to.starts_with("/accept?next=%2Foauth2%2Fauthorize%3Fclient_id"), "{to}");
    let silent = browser.get(app.url(&format!("{authorize}&prompt=none"))).send().await.unwrap();
    assert!(silent.headers()["location"].to_str().unwrap().contains("error=interaction_required"));

    // An answer for the old version is refused; the one in force goes on.
    let answer = |version: &'static str| {
        browser.post(app.url("/api/accept_texts")).form(&[("terms", version), ("next", "/user")]).send()
    };
    assert_eq!(server_fn_error(answer("1").await.unwrap(), 409).await.code, "version_not_current");
    assert_eq!(
        body(browser.get(app.url("/api/v1/me")).send().await.unwrap()).await["texts_to_accept"],
        json!(["terms"])
    );
    let accepted = browser
        .post(app.url("/api/accept_texts"))
        .header("accept", "text/html")
        .header("referer", app.url("/accept"))
        .form(&[("terms", "2"), ("next", "/user")])
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.headers()["location"], "/user");
    assert_eq!(body(browser.get(app.url("/api/v1/me")).send().await.unwrap()).await["texts_to_accept"], json!([]));
    assert_eq!(browser.get(app.url("/user")).send().await.unwrap().status(), 200);
    let code = browser.get(app.url(&authorize)).send().await.unwrap();
    assert!(code.headers()["location"].to_str().unwrap().starts_with("https://rp.example/cb?code="));
    // A server still on version 1 (a rolling update) does not ask again.
    let old = before.new_browser();
    let signed_in = before.login_with(&old, &login_form("Plover10", PASSWORD)).await;
    assert_eq!(body(signed_in).await["texts_to_accept"], json!([]));
}

/// PIPL art. 45: a copy of what is kept, as a file; the person's own and
/// nobody else's, never the password hash.
#[tokio::test]
async fn a_person_takes_a_copy_of_everything_kept_of_them() {
    let app = spawn_app().await;
    let (_, browser) = app.signed_in_user("13600136020", "Plover20").await;
    let (_, other) = app.signed_in_user("13600136021", "Plover21").await;
    // Messages sent to each account: the copy lists its own, never a code.
    let own = app.sms_code_from(&browser, "13600136020", "delete_account").await;
    app.sms_code_from(&other, "13600136021", "delete_account").await;
    let response = browser.get(app.url("/api/v1/me/export")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert!(response.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
    let copy: Value = response.json().await.unwrap();
    assert_eq!(
        (copy["profile"]["mobile"].as_str(), copy["profile"]["username"].as_str()),
        (Some("13600136020"), Some("Plover20"))
    );
    assert_eq!(copy["consents"].as_array().unwrap().len(), 2, "{copy}");
    assert!(!copy["sessions"].as_array().unwrap().is_empty());
    let history = copy["login_history"].as_array().unwrap();
    assert!(history.iter().any(|a| a["method"] == "register") && history.iter().any(|a| a["method"] == "password"));
    let deliveries = copy["deliveries"].as_array().unwrap();
    assert_eq!(deliveries.len(), 1, "its own code, not the other account's: {copy}");
    assert_eq!(
        (deliveries[0]["purpose"].as_str(), deliveries[0]["recipient"].as_str()),
        (Some("delete_account"), Some("136****6020"))
    );
    let text = copy.to_string();
    // (Quoted: six digits alone could turn up inside a timestamp.)
    assert!(!text.contains(&format!("\"{own}\"")) && deliveries[0].get("code").is_none(), "never a code");
    assert!(!text.contains("13600136021") && !text.contains("Plover21"), "nobody else's");
    assert!(!text.contains("argon2"), "never the password hash");
    assert_eq!(app.new_browser().get(app.url("/api/v1/me/export")).send().await.unwrap().status(), 401);
    let centre = browser.get(app.url("/user")).send().await.unwrap().text().await.unwrap();
    assert!(centre.contains(r#"href="/api/v1/me/export""#) && shown(&centre).contains("下载我的数据"));
}
