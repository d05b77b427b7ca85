//! The page's language: chosen per request (the `lang` cookie the switch
//! sets, else `Accept-Language`, else `DEFAULT_LOCALE`), named by `<html
//! lang>`, and carried to the browser as that locale's texts only.

use crate::helpers::*;
use serde_json::{Value, json};

async fn page(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> String {
    let mut request = reqwest::Client::new().get(app.url(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

fn texts_in(html: &str) -> &str {
    let start = html.find(r#"<meta name="texts" content=""#).expect("the page carries its texts") + 28;
    &html[start..start + html[start..].find('"').unwrap()]
}

#[tokio::test]
async fn the_page_is_drawn_in_the_cookies_language_else_accept_languages_else_the_default() {
    let app = spawn_app().await;
    let chinese = page(&app, "/", &[]).await;
    assert!(chinese.contains(r#"<html lang="zh-CN""#), "the default");
    assert!(shown(&chinese).contains("立即注册") && shown(&chinese).contains(">登录<"));

    let english = page(&app, "/", &[("accept-language", "en-GB,en;q=0.9,zh-CN;q=0.5")]).await;
    assert!(english.contains(r#"<html lang="en""#));
    assert!(shown(&english).contains("Sign up now") && shown(&english).contains(">Sign in<"));
    assert!(!english.contains("立即注册"));

    let chosen = page(&app, "/", &[("accept-language", "en"), ("cookie", "lang=zh-CN")]).await;
    assert!(chosen.contains(r#"<html lang="zh-CN""#), "the switch's cookie wins");
    let unknown = page(&app, "/", &[("accept-language", "fr"), ("cookie", "lang=xx")]).await;
    assert!(unknown.contains(r#"<html lang="zh-CN""#), "nothing we have: the default");

    let english_default =
        spawn(Spawn { env: vec![("DEFAULT_LOCALE", "en".into())], ..Spawn::default() }).await.unwrap();
    assert!(page(&english_default, "/", &[]).await.contains(r#"<html lang="en""#));
    assert!(page(&english_default, "/", &[("accept-language", "zh")]).await.contains(r#"<html lang="zh-CN""#));
}

#[tokio::test]
async fn a_default_locale_we_have_no_file_for_stops_the_start() {
    let env = [("DEFAULT_LOCALE", "fr")];
    let Err(error) =
        server::config::Config::from_lookup(|k| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string()))
    else {
        panic!("DEFAULT_LOCALE=fr was taken")
    };
    assert!(error.to_string().contains("DEFAULT_LOCALE"), "{error}");
}

#[tokio::test]
async fn the_browser_gets_the_pages_locale_texts_only() {
    let app = spawn_app().await;
    let chinese = page(&app, "/", &[]).await;
    let english = page(&app, "/", &[("accept-language", "en")]).await;
    let (zh, en) = (texts_in(&chinese), texts_in(&english));
    assert!(shown(zh).contains("立即注册") && !zh.contains("Sign up now"));
    assert!(shown(en).contains("Sign up now") && !en.contains("立即注册"));
    assert_eq!(zh.split('\u{1f}').count(), en.split('\u{1f}').count());
}

/// The switch's form, posted as the page posts it.
async fn switch(app: &TestApp, form: &[(&str, &str)]) -> reqwest::Response {
    browser_client(&app.address).post(app.url("/lang")).form(form).send().await.unwrap()
}

#[tokio::test]
async fn the_switch_sets_the_cookie_and_goes_back_to_the_page_it_was_on() {
    let app = spawn_app().await;
    let response = switch(&app, &[("lang", "en"), ("next", "/login?next=%2Fuser")]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/login?next=%2Fuser");
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("lang=en; Path=/; Max-Age=31536000; SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain http here");

    // The page the switch was on, from the post's Referer (the form names
    // none: it is drawn once, and the page may have moved on since).
    let from_page = browser_client(&app.address)
        .post(app.url("/lang"))
        .header("referer", app.url("/forgot?tab=sms"))
        .form(&[("lang", "en")])
        .send()
        .await
        .unwrap();
    assert_eq!(from_page.headers()["location"], "/forgot?tab=sms");

    // Only back to this site.
    for next in ["//evil.example", "https://evil.example/", "/\\evil.example", ""] {
        let response = switch(&app, &[("lang", "zh-CN"), ("next", next)]).await;
        assert_eq!(response.headers()["location"], "/", "{next:?}");
    }

    // A language we have no file for changes nothing, and says so.
    let client = browser_client(&app.address);
    let refused =
        client.post(app.url("/lang")).header("accept-language", "en").form(&[("lang", "xx")]).send().await.unwrap();
    assert_eq!(refused.status(), 400);
    assert!(refused.headers().get("set-cookie").is_none());
    assert_eq!(refused.text().await.unwrap(), "That language is not available.");

    // Another site's page cannot switch a visitor's language.
    let forged = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let forged = forged
        .post(app.url("/lang"))
        .header("origin", "https://evil.example")
        .form(&[("lang", "en")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    assert!(forged.headers().get("set-cookie").is_none());
}

/// A refusal is said in the request's language, by both doors: the JSON
/// API's `message` (from `Accept-Language`, the cookie first) and a server
/// function's error; the `code` stays the same.
#[tokio::test]
async fn refusals_come_in_the_requests_language() {
    // Eight wrong passwords from one address: not yet the captcha.
    let app =
        spawn(Spawn { env: vec![("LOGIN_CAPTCHA_AFTER_FAILURES", "20".into())], ..Spawn::default() }).await.unwrap();
    let wrong = json!({ "account": "13800138000", "password": "Whatever-123" });
    let bad_mobile = json!({ "mobile": "12345", "purpose": "register", "image_code_id": "x", "text": "abcd" });
    type Headers<'a> = &'a [(&'a str, &'a str)];
    let cases: [(Headers, &str, &str); 4] = [
        (&[], "账号或密码错误", "手机号格式不正确"),
        (
            &[("accept-language", "en-US,en;q=0.9")],
            "Wrong account or password.",
            "That isn't a valid mainland China mobile number.",
        ),
        (&[("accept-language", "en"), ("cookie", "lang=zh-CN")], "账号或密码错误", "手机号格式不正确"),
        (
            &[("accept-language", "fr"), ("cookie", "lang=en")],
            "Wrong account or password.",
            "That isn't a valid mainland China mobile number.",
        ),
    ];
    for (headers, refused, rule) in cases {
        let post = |path: &str, body: &Value| {
            let mut request = app.client.post(app.url(path)).json(body);
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            request.send()
        };
        let said =
            assert_error(post("/api/v1/login", &wrong).await.unwrap(), 401, "wrong_credentials", Some("password"))
                .await;
        assert_eq!(said["message"], refused, "{headers:?}");
        let said =
            assert_error(post("/api/v1/sms_codes", &bad_mobile).await.unwrap(), 422, "mobile_invalid", Some("mobile"))
                .await;
        assert_eq!(said["message"], rule, "{headers:?}");

        // The page's door: the server function says it before it leaves.
        let mut request = app
            .new_browser()
            .post(app.url("/api/login"))
            .form(&[("account", "13800138000"), ("password", "Whatever-123")]);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let error = server_fn_error(request.send().await.unwrap(), 401).await;
        assert_eq!(error.code, app::error::ErrorCode::WrongCredentials);
        assert_eq!(error.message, app::error::Message::Said(refused.to_owned()), "{headers:?}");
    }
}

/// A browser that reads English (its `Accept-Language`), with the cookies
/// and origin of `browser_client`.
fn english_browser(app: &TestApp) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("origin", app.address.parse().unwrap());
    headers.insert("accept-language", "en-GB,en;q=0.9".parse().unwrap());
    reqwest::Client::builder().default_headers(headers).cookie_store(true).build().unwrap()
}

/// What is sent is in the person's language: a code in the language of
/// whoever asked for it; the account keeps the language it registered in
/// (and the one it switches to), and its notices are worded in it.
#[tokio::test]
async fn codes_mail_and_notices_go_out_in_the_persons_language() {
    let app = spawn_app().await;
    let browser = english_browser(&app);
    let code = app.sms_code_from(&browser, "13700137001", "register").await;
    assert!(app.outbox_has("13700137001", &format!("Your code is {code}.")).await);

    // Registered in English: the account reads English.
    let registered = browser
        .post(app.url("/api/v1/users"))
        .json(&registration("13700137001", &code, Some("Wren01")))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), 201);
    let id = body(registered).await["id"].as_i64().unwrap();
    assert_eq!(app.core.db.find_user(id).await.unwrap().unwrap().locale, "en");

    // A reset link in the asker's language; the notice in the account's.
    let email = app::rules::Email::parse("wren01@example.com").unwrap();
    app.core.db.set_verified_email(id, &email).await.unwrap();
    let (captcha, answer) = app.captcha().await;
    let form = json!({ "email": "wren01@example.com", "image_code_id": captcha, "text": answer });
    let asked = browser.post(app.url("/api/v1/password/forgot")).json(&form).send().await.unwrap();
    assert_eq!(asked.status(), 202);
    assert!(body(asked).await["message"].as_str().unwrap().starts_with("If an account uses this e-mail address"));
    assert!(app.outbox_has("wren01@example.com", "reset your password").await);
    let token = app.mailed_token("wren01@example.com").await;
    let reset = json!({ "token": token, "password": "Lantern-Moth-77", "password2": "Lantern-Moth-77" });
    assert_eq!(
        app.new_browser().post(app.url("/api/v1/password/reset")).json(&reset).send().await.unwrap().status(),
        200
    );
    assert!(app.outbox_has("wren01@example.com", "was reset at").await, "the notice, in English");
    assert!(app.outbox_has("wren01@example.com", "(Beijing time)").await);

    // Switched to Chinese while signed in: the account follows.
    let (other, chinese) = app.signed_in_user("13700137002", "Wren02").await;
    app.core.db.set_locale(other, app::i18n::Locale::from_tag("en").unwrap()).await.unwrap();
    let switched = chinese
        .post(app.url("/lang"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("lang=zh-CN&next=/user")
        .send()
        .await
        .unwrap();
    assert_eq!(switched.status(), 303);
    assert_eq!(app.core.db.find_user(other).await.unwrap().unwrap().locale, "zh-CN");
}
