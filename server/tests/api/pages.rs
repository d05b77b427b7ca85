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
        r#"href="/terms""#,
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
    assert!(shown(&response.text().await.unwrap()).contains("页面不存在"));
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
    assert!(shown(&html).contains("短信验证码为6位数字"), "the error shows on the page");
}

/// The attack: a link to our page carrying an error the attacker wrote
/// (`?__path=...&__err=base64(json)`), so that our page shows their text
/// ("call 400-... to unlock your account"). Only errors the server itself
/// sent back are shown; a forged or altered one is dropped from the URL.
#[tokio::test]
async fn a_page_never_shows_an_error_written_into_its_url() {
    let app = spawn_app().await;
    let forged = r#"{"kind":"invalid","code":"mobile_invalid","message":"账号异常请致电4000000000","field":"mobile"}"#;
    let encoded = base64_url(forged.as_bytes());
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = |query: String| no_redirects.get(app.url(&format!("/register?{query}"))).send();
    let response = page(format!("__path=%2Fapi%2Fregister&__err={encoded}")).await.unwrap();
    assert_eq!(response.status(), 303, "the forged error is dropped from the URL");
    assert_eq!(response.headers()["location"], "/register");
    // Only the error's own keys are looked at: other parameters pass as they are.
    assert_eq!(page("from=__err__".into()).await.unwrap().status(), 200);
    let response = page("from=app&__sig=abc".into()).await.unwrap();
    assert_eq!(
        (response.status().as_u16(), response.headers()["location"].to_str().unwrap()),
        (303, "/register?from=app")
    );
    let followed = app.get(&format!("/register?__path=%2Fapi%2Fregister&__err={encoded}")).await;
    assert!(!followed.text().await.unwrap().contains("4000000000"));

    // A real one comes back signed, and shows; altered, it does not.
    let response = app
        .client
        .post(app.url("/api/register"))
        .header("accept", "text/html")
        .header("referer", app.url("/register?from=app"))
        .form(&[("mobile", "13300133003"), ("password", "x"), ("password2", "x"), ("sms_code", "1"), ("allow", "on")])
        .send()
        .await
        .unwrap();
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.contains("from=app") && location.contains("__sig="), "{location}");
    assert!(
        shown(&app.client.get(&location).send().await.unwrap().text().await.unwrap()).contains("短信验证码为6位数字")
    );
    let real_err = location.split("__err=").nth(1).unwrap().split('&').next().unwrap().to_owned();
    let altered = location.replace(&real_err, &encoded);
    let response = page(altered.split_once('?').unwrap().1.to_owned()).await.unwrap();
    assert_eq!(response.status(), 303, "a signature does not carry over to another error");
    assert_eq!(response.headers()["location"], "/register?from=app");
}

/// URL-safe base64 with padding, as leptos encodes `__err`.
fn base64_url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out.replace('=', "%3D")
}

/// Building a server generates its route list, which leptos does with every
/// resource in the process suppressed: renders of a server already serving
/// waited forever for their data (the stall that kept these tests serial).
/// Building others while one renders must leave every render finishing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn building_other_servers_never_stalls_a_render() {
    let app = spawn_app().await;
    let building = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let mut renders = tokio::task::JoinSet::new();
    for j in 0..8 {
        let (client, base, building) = (app.new_browser(), app.address.clone(), building.clone());
        renders.spawn(async move {
            let mut n = 0;
            while building.load(std::sync::atomic::Ordering::SeqCst) {
                let path = if (n + j) % 2 == 0 { "/register" } else { "/login" };
                let request = client.get(format!("{base}{path}")).send();
                let response = tokio::time::timeout(std::time::Duration::from_secs(15), request)
                    .await
                    .unwrap_or_else(|_| panic!("a render of {path} stalled"))
                    .unwrap();
                assert_eq!(response.status(), 200);
                assert!(response.text().await.unwrap().contains("</html>"));
                n += 1;
            }
        });
    }
    for _ in 0..20 {
        drop(spawn_app().await);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    building.store(false, std::sync::atomic::Ordering::SeqCst);
    renders.join_all().await;
}

/// `/dev/captchas`: forty fresh captchas beside their answers, for judging
/// by eye whether a person reads them (development only; see unavailable.rs).
#[tokio::test]
async fn the_captcha_samples_page_shows_forty_with_their_answers() {
    let app = spawn_app().await;
    let response = app.get("/dev/captchas").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert!(response.headers()["content-security-policy"].to_str().unwrap().contains("img-src data:"));
    let html = response.text().await.unwrap();
    assert_eq!(html.matches("<img src=\"data:image/png;base64,").count(), 40);
    let answers: Vec<&str> =
        html.split("<figcaption>").skip(1).map(|rest| rest.split("</figcaption>").next().unwrap()).collect();
    assert_eq!(answers.len(), 40);
    let alphabet = app::rules::CAPTCHA_ALPHABET;
    assert!(answers.iter().all(|a| a.len() == app::rules::CAPTCHA_LEN && a.bytes().all(|c| alphabet.contains(&c))));
    // Samples only: none of them is stored as a captcha anyone could answer.
    let outbox = body(app.get("/api/v1/dev/outbox").await).await;
    assert!(outbox.as_array().unwrap().iter().all(|e| e["kind"] != "captcha"), "{outbox}");
}

/// The recovery pages arrive whole, and a link's page says what is wrong
/// with it in the server's HTML (before any WASM), echoing nothing of it.
#[tokio::test]
async fn the_recovery_pages_arrive_as_complete_html() {
    let app = spawn_app().await;
    let forgot = app.get("/forgot").await.text().await.unwrap();
    for needle in [r#"name="email""#, "发送重置链接", r#"name="mobile""#, r#"name="sms_code""#, r#"name="password2""#]
    {
        assert!(forgot.contains(needle), "/forgot misses {needle}");
    }
    let login = app.get("/login").await.text().await.unwrap();
    assert!(login.contains(r#"href="/forgot""#), "the sign-in page links to recovery");
    let forged = "%3Cscript%3Ealert(1)%3C%2Fscript%3E";
    let reset = app.get(&format!("/reset?token={forged}")).await.text().await.unwrap();
    assert!(shown(&reset).contains("该重置链接无效") && reset.contains(r#"href="/forgot""#));
    assert!(!reset.contains("<script>alert(1)"));
    let verify = app.get(&format!("/email/verify?token={forged}")).await.text().await.unwrap();
    assert!(verify.contains("该验证链接无效") && !verify.contains("<script>alert(1)"));
}

/// Every page's scripts carry the nonce its Content-Security-Policy names:
/// a page whose policy and scripts parted would be dead in the browser
/// (every script and the WASM blocked). Each page, many times, and at once.
#[tokio::test]
async fn every_page_names_the_nonce_its_scripts_carry() {
    let app = spawn_app().await;
    let pages = ["/register", "/login", "/user", "/forgot", "/", "/no-such-page"];
    let renders = (0..48).map(|i| {
        let request = app.client.get(app.url(pages[i % pages.len()])).header("accept", "text/html").send();
        async move {
            let response = request.await.unwrap();
            let policy = response.headers()["content-security-policy"].to_str().unwrap().to_owned();
            (policy, response.text().await.unwrap())
        }
    });
    for (policy, html) in futures::future::join_all(renders).await {
        let nonce = policy.split("'nonce-").nth(1).and_then(|rest| rest.split('\'').next()).expect(&policy);
        let scripts = html.matches("<script").count();
        assert!(scripts > 0, "a page without scripts");
        assert_eq!(html.matches(&format!("nonce=\"{nonce}\"")).count(), scripts, "every script has the nonce");
    }
}
