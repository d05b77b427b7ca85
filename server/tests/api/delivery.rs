//! The delivery queue end to end: a send only enqueues; the worker delivers
//! through Ronglian (a fake one on a local port), retries, expires, fails for
//! good and gives the cooldown back, on each queue backend.

use crate::{
    fake_ronglian::{Answer, FakeRonglian},
    helpers::*,
};
use app::core::delivery::DeliveryRecord;
use std::time::Duration;

/// Where the queue lives: the SQLite file, PostgreSQL, or Redis (beside a
/// SQLite database).
#[derive(Clone, Copy, Debug)]
enum On {
    Sqlite,
    Postgres,
    Redis,
}

async fn app_with(on: On, url: &str, extra: &[(&'static str, &str)]) -> Option<TestApp> {
    let mut env = FakeRonglian::env(url);
    env.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
    let (db, store, queue) = match on {
        On::Sqlite => (Db::Sqlite, StoreKind::Memory, "sqlite"),
        On::Postgres => (Db::Postgres, StoreKind::Memory, "postgres"),
        On::Redis => (Db::Sqlite, StoreKind::Redis, "redis"),
    };
    let app = spawn(Spawn { db, store, env, ..Spawn::default() }).await?;
    assert_eq!(app.core.queue.backend_name(), queue);
    Some(app)
}

/// The newest delivery record, once it reaches `state` (within 30 s).
async fn newest_in_state(app: &TestApp, state: &str) -> DeliveryRecord {
    for _ in 0..300 {
        let records = app.core.db.list_deliveries(None, 1).await.unwrap();
        if let Some(r) = records.into_iter().next()
            && r.state == state
        {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no delivery reached {state}: {:?}", app.core.db.list_deliveries(None, 5).await.unwrap());
}

async fn a_send_returns_before_the_provider_answers(on: On) {
    let (fake, url) = FakeRonglian::start(vec![], Answer::Slow(Duration::from_secs(3))).await;
    let Some(app) = app_with(on, &url, &[]).await else { return };
    let response = app.send_sms("13500135000", "register").await;
    assert_eq!(response.status(), 200);
    assert_eq!(fake.answered(), 0, "the visitor's answer came before the provider's");
    let record = newest_in_state(&app, "sent").await;
    assert_eq!(fake.answered(), 1);
    let received = fake.received();
    assert!(received[0].well_formed, "path, signature, headers and body as documented");
    assert_eq!(received[0].to, "13500135000");
    assert_eq!(received[0].datas[1], "5", "the template gets the code's life in minutes");
    assert!(record.provider_message_id.is_some());
    assert_eq!((record.attempts, record.recipient.as_str()), (1, "135****5000"));
}

async fn a_provider_that_fails_twice_then_succeeds_delivers_one_sms(on: On) {
    let script = vec![Answer::Status("160000"), Answer::Http(503)];
    let (fake, url) = FakeRonglian::start(script, Answer::Success).await;
    let Some(app) = app_with(on, &url, &[("DELIVERY_RETRY_FIRST_SECONDS", "1")]).await else { return };
    assert_eq!(app.send_sms("13500135001", "register").await.status(), 200);
    let record = newest_in_state(&app, "sent").await;
    assert_eq!(record.attempts, 3);
    assert_eq!(fake.answered(), 3);
    // Nothing further is sent once it is delivered.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(fake.answered(), 3);
    let codes: Vec<_> = fake.received().iter().map(|r| r.datas[0].clone()).collect();
    assert!(codes.windows(2).all(|w| w[0] == w[1]), "every attempt carries the same code");
}

async fn a_provider_down_for_the_whole_window_leaves_one_failed_job_that_retry_delivers(on: On) {
    let (fake, url) = FakeRonglian::start(vec![], Answer::Http(502)).await;
    let env = [("DELIVERY_RETRY_FIRST_SECONDS", "1"), ("DELIVERY_MAX_ATTEMPTS", "3"), ("SMS_CODE_TTL_SECONDS", "600")];
    let Some(app) = app_with(on, &url, &env).await else { return };
    assert_eq!(app.send_sms("13500135002", "register").await.status(), 200);
    let failed = newest_in_state(&app, "failed").await;
    assert_eq!(failed.attempts, 3);
    assert!(failed.last_error.as_deref().unwrap().starts_with("http_502"), "{failed:?}");
    let listed = app::core::use_cases::list_jobs(&app.core, app::core::use_cases::JobFilter::Failed).await.unwrap();
    assert_eq!(listed.len(), 1);

    fake.switch_to(Answer::Success);
    let retried = app::core::use_cases::retry_job(&app.core, &failed.id).await.unwrap();
    assert_eq!(retried.state, "queued");
    let sent = newest_in_state(&app, "sent").await;
    assert_eq!((sent.id, sent.attempts), (failed.id.clone(), 4));
    assert!(app::core::use_cases::retry_job(&app.core, &failed.id).await.is_err(), "only failed jobs are retried");
}

async fn a_blacklisted_number_gives_the_cooldown_back_and_says_why(on: On) {
    let (_fake, url) = FakeRonglian::start(vec![], Answer::Status("160034")).await;
    let Some(app) = app_with(on, &url, &[]).await else { return };
    assert_eq!(app.send_sms("13500135003", "register").await.status(), 200);
    let failed = newest_in_state(&app, "failed").await;
    assert_eq!(failed.attempts, 1, "a final answer is not retried");
    let cooldown = body(app.get("/api/v1/sms_codes/13500135003/cooldown?purpose=register").await).await;
    assert_eq!(cooldown["seconds"], 0, "the number may ask again at once: {cooldown}");
    assert_eq!(cooldown["refusal"]["code"], "sms_provider_blocked", "{cooldown}");
    assert!(cooldown["refusal"]["message"].as_str().unwrap().contains("无法接收"));
}

async fn an_expired_code_is_not_sent(on: On) {
    let (fake, url) = FakeRonglian::start(vec![], Answer::Status("160050")).await;
    let env = [("DELIVERY_RETRY_FIRST_SECONDS", "2"), ("SMS_CODE_TTL_SECONDS", "1")];
    let Some(app) = app_with(on, &url, &env).await else { return };
    assert_eq!(app.send_sms("13500135004", "register").await.status(), 200);
    let expired = newest_in_state(&app, "expired").await;
    assert_eq!(expired.attempts, 1);
    assert_eq!(fake.answered(), 1, "the retry after the code died was dropped, not sent");
}

async fn a_bad_signature_is_a_configuration_failure_not_retried(on: On) {
    let (fake, url) = FakeRonglian::start(vec![], Answer::Success).await;
    let Some(app) =
        app_with(on, &url, &[("RONGLIAN_AUTH_TOKEN", "not-the-token"), ("DELIVERY_RETRY_FIRST_SECONDS", "1")]).await
    else {
        return;
    };
    assert_eq!(app.send_sms("13500135005", "register").await.status(), 200);
    let failed = newest_in_state(&app, "failed").await;
    assert!(failed.last_error.as_deref().unwrap().starts_with("111109"), "{failed:?}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(fake.answered(), 1);
}

macro_rules! on_each_queue {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            use super::*;
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(On::Sqlite).await })*
        }
        mod postgres {
            use super::*;
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(On::Postgres).await })*
        }
        mod redis {
            use super::*;
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(On::Redis).await })*
        }
    };
}

async fn a_finished_task_forgets_its_code_once_the_code_is_dead(on: On) {
    let (_fake, url) = FakeRonglian::start(vec![], Answer::Success).await;
    let Some(app) = app_with(on, &url, &[("SMS_CODE_TTL_SECONDS", "2")]).await else { return };
    assert_eq!(app.send_sms("13500135006", "register").await.status(), 200);
    let sent = newest_in_state(&app, "sent").await;
    let task = sent.task_id.unwrap();
    assert!(app.core.queue.job(&task).await.unwrap().is_some(), "kept while the code lives, for a retry");
    for _ in 0..100 {
        if app.core.queue.job(&task).await.unwrap().is_none() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the task holding the code outlived the code");
}

on_each_queue!(
    a_finished_task_forgets_its_code_once_the_code_is_dead,
    a_send_returns_before_the_provider_answers,
    a_provider_that_fails_twice_then_succeeds_delivers_one_sms,
    a_provider_down_for_the_whole_window_leaves_one_failed_job_that_retry_delivers,
    a_blacklisted_number_gives_the_cooldown_back_and_says_why,
    an_expired_code_is_not_sent,
    a_bad_signature_is_a_configuration_failure_not_retried,
);
