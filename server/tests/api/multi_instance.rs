//! Two server processes sharing one PostgreSQL and one Redis behave as one.

use crate::helpers::*;
use futures::future::join_all;
use serde_json::json;

async fn two_instances() -> Option<(TestApp, TestApp)> {
    let database_url = fresh_postgres_database(&service("TEST_POSTGRES_URL")?).await;
    let prefix = format!("multi{}:", uuid::Uuid::new_v4().simple());
    let shared = || Spawn {
        db: Db::Postgres,
        store: StoreKind::Redis,
        database_url: Some(database_url.clone()),
        store_prefix: Some(prefix.clone()),
        ..Spawn::default()
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
