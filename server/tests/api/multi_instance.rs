//! Two server processes sharing one PostgreSQL and one Redis behave as one.

use crate::helpers::*;
use futures::future::join_all;
use serde_json::json;

async fn two_instances() -> Option<(TestApp, TestApp)> {
    two_instances_with(vec![]).await
}

/// Two servers on one fresh PostgreSQL database and one Redis prefix, with
/// `env` on both.
async fn two_instances_with(env: Vec<(&'static str, String)>) -> Option<(TestApp, TestApp)> {
    let database_url = fresh_postgres_database(&service("TEST_POSTGRES_URL")?).await;
    let prefix = format!("multi{}:", uuid::Uuid::new_v4().simple());
    let shared = || Spawn {
        db: Db::Postgres,
        store: StoreKind::Redis,
        database_url: Some(database_url.clone()),
        store_prefix: Some(prefix.clone()),
        env: env.clone(),
    };
    Some((spawn(shared()).await?, spawn(shared()).await?))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn simultaneous_sends_split_across_two_instances_are_accepted_once() {
    let Some((a, b)) = two_instances().await else { return };
    let mut requests = vec![];
    for i in 0..12 {
        // Each instance issues its own captcha; the shared Redis holds them all.
        let app = if i % 2 == 0 { &a } else { &b };
        let (id, answer) = app.captcha().await;
        requests.push((
            app,
            json!({ "mobile": "13100131000", "purpose": "register", "image_code_id": id, "text": answer }),
        ));
    }
    let responses = join_all(requests.iter().map(|(app, form)| app.post_json("/api/v1/sms_codes", form))).await;
    let statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 11, "{statuses:?}");
    // One queue and one outbox in the shared database: both instances see the one SMS.
    assert_eq!(a.outbox_count("sms", "13100131000").await, 1);
    assert_eq!(b.outbox_count("sms", "13100131000").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn simultaneous_registrations_split_across_two_instances_create_one_account() {
    let Some((a, b)) = two_instances().await else { return };
    let code = a.register_code("13100131001").await;
    let forms: Vec<_> = (0..8).map(|i| registration("13100131001", &code, Some(&format!("twin{i:02}x")))).collect();
    let responses =
        join_all(forms.iter().enumerate().map(|(i, f)| if i % 2 == 0 { a.register(f) } else { b.register(f) })).await;
    let mut created = 0;
    for response in responses {
        match response.status().as_u16() {
            201 => created += 1,
            409 | 422 => {}
            other => panic!("unexpected status {other}: {}", response.text().await.unwrap()),
        }
    }
    assert_eq!(created, 1);
    let mobile = app::rules::Mobile::parse("13100131001").unwrap();
    assert_eq!(a.core.db.count_mobile(&mobile).await.unwrap(), 1);
    assert_eq!(b.core.db.count_mobile(&mobile).await.unwrap(), 1);
}

/// Other sites signing in through us, behind a load balancer: a code one
/// server issued is exchanged at the other, whose token the first answers;
/// both publish the same keys.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_openid_connect_code_from_one_instance_is_exchanged_at_the_other() {
    let env = vec![("PUBLIC_URL", "https://auth.example.test".to_string())];
    let Some((a, b)) = two_instances_with(env).await else { return };
    let (_, browser) = a.signed_in_user("13100131500", "Balancer1").await;
    let redirect = "https://rp.example/cb".to_owned();
    let registration = app::core::use_cases::ClientRegistration {
        name: "Demo",
        redirect_uris: std::slice::from_ref(&redirect),
        post_logout_redirect_uris: &[],
        public: false,
        consent: false,
    };
    let (client, secret) = app::core::use_cases::create_client(&a.core, &registration).await.unwrap();
    let secret = secret.unwrap().0;
    let mut authorize = url::Url::parse(&a.url("/oauth2/authorize")).unwrap();
    authorize
        .query_pairs_mut()
        .append_pair("client_id", &client.client_id)
        .append_pair("redirect_uri", &redirect)
        .append_pair("response_type", "code")
        .append_pair("scope", "openid phone");
    let answer = browser.get(authorize.as_str()).send().await.unwrap();
    let location = url::Url::parse(answer.headers()["location"].to_str().unwrap()).unwrap();
    let code = location.query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned();

    let form = [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", redirect.as_str())];
    let exchanged = reqwest::Client::new()
        .post(b.url("/oauth2/token"))
        .basic_auth(&client.client_id, Some(&secret))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(exchanged.status(), 200, "the other instance takes the code");
    let tokens: serde_json::Value = exchanged.json().await.unwrap();
    let info = reqwest::Client::new()
        .get(a.url("/oauth2/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(info.status(), 200, "and the first answers its token");
    assert_eq!(info.json::<serde_json::Value>().await.unwrap()["phone_number"], "+8613100131500");
    let (ja, jb) = (a.get("/oauth2/jwks").await, b.get("/oauth2/jwks").await);
    assert_eq!(ja.json::<serde_json::Value>().await.unwrap(), jb.json::<serde_json::Value>().await.unwrap());
}
