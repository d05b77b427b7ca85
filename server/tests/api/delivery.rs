//! The delivery queue end to end: a send only enqueues; the worker delivers
//! through Ronglian (a fake one on a local port), retries, expires, fails for
//! good and gives the cooldown back, on each queue backend.

use crate::process::ServerProcess;
use crate::{
    fake_ronglian::{Answer, FakeRonglian},
    helpers::*,
};
use app::core::delivery::{DeliveryRecord, JobMessage};
use std::time::Duration;

/// Where the queue lives: the SQLite file, PostgreSQL, or Redis (beside a
/// SQLite database).
#[derive(Clone, Copy, Debug)]
enum On {
    Sqlite,
    Postgres,
    Redis,
}

impl On {
    fn name(self) -> &'static str {
        match self {
            On::Sqlite => "sqlite",
            On::Postgres => "postgres",
            On::Redis => "redis",
        }
    }

    /// A server with its queue here, sending through the fake at `url`.
    fn spawn(self, url: &str, extra: &[(&'static str, &str)]) -> Spawn {
        let mut env = FakeRonglian::env(url);
        env.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
        let (db, store) = match self {
            On::Sqlite => (Db::Sqlite, StoreKind::Memory),
            On::Postgres => (Db::Postgres, StoreKind::Memory),
            On::Redis => (Db::Sqlite, StoreKind::Redis),
        };
        Spawn { db, store, env, ..Spawn::default() }
    }
}

async fn app_with(on: On, url: &str, extra: &[(&'static str, &str)]) -> Option<TestApp> {
    let app = spawn(on.spawn(url, extra)).await?;
    assert_eq!(app.core.queue.backend_name(), on.name());
    Some(app)
}

/// A reset by SMS on an account without a verified e-mail: the notice goes
/// through its own template, with the time and the client address; without
/// that template nothing is queued (and the reset still stands).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_changed_notice_uses_its_own_ronglian_template() {
    use crate::fake_ronglian::NOTICE_TEMPLATE_ID;
    for with_template in [true, false] {
        let (fake, url) = FakeRonglian::start(vec![], Answer::Success).await;
        let extra: &[(&'static str, &str)] =
            if with_template { &[("RONGLIAN_NOTICE_TEMPLATE_ID", NOTICE_TEMPLATE_ID)] } else { &[] };
        let app = app_with(On::Sqlite, &url, extra).await.unwrap();
        let mobile = "13500135040";
        let user = app::core::use_cases::CreateUser {
            mobile,
            password: PASSWORD,
            username: Some("Notice01"),
            nickname: None,
            email: None,
            accepted: true,
        };
        app::core::use_cases::create_user(&app.core, &user).await.unwrap();
        assert_eq!(app.send_sms(mobile, "reset_password").await.status(), 200);
        let code = {
            let mut code = None;
            for _ in 0..50 {
                code = fake.received().iter().rev().find(|r| r.to == mobile).map(|r| r.datas[0].clone());
                if code.as_ref().is_some_and(|c| c.len() == 6) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            code.unwrap()
        };
        let form = serde_json::json!({ "mobile": mobile, "sms_code": code, "password": "Lantern-Moth-77", "password2": "Lantern-Moth-77" });
        assert_eq!(app.post_json("/api/v1/password/reset", &form).await.status(), 200);
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let notices: Vec<_> = fake.received().into_iter().filter(|r| r.template_id == NOTICE_TEMPLATE_ID).collect();
        if with_template {
            assert_eq!(notices.len(), 1, "{:?}", fake.received());
            assert!(notices[0].well_formed && notices[0].datas[1] == "127.0.0.1", "{notices:?}");
            assert!(notices[0].datas[0].contains("北京时间"));
        } else {
            assert!(notices.is_empty());
            let records = app.core.db.list_deliveries(None, 100).await.unwrap();
            assert!(records.iter().all(|r| r.kind != "sms_notice"), "nothing queued that cannot go");
        }
    }
}

/// Queues an SMS code to `mobile` straight through the core (no captcha, no
/// send limits: the queue is what is under test).
async fn queue_code(app: &TestApp, mobile: &str, code: &str) -> String {
    let message = JobMessage::SmsCode {
        mobile: mobile.into(),
        purpose: "register".into(),
        code: code.into(),
        minutes: 5,
        expires_at_ms: now_ms() + 300_000,
        lang: String::new(),
    };
    app::core::delivery::enqueue(&app.core, message, None).await.unwrap()
}

/// Waits (up to `secs`) until `n` deliveries are sent.
async fn until_sent(app: &TestApp, n: usize, secs: u64) {
    for _ in 0..secs * 10 {
        if app.core.db.list_deliveries(Some("sent"), 1000).await.unwrap().len() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let all = app.core.db.list_deliveries(None, 1000).await.unwrap();
    let sent = all.iter().filter(|r| r.state == "sent").count();
    panic!("{sent} of {n} sent after {secs} s: {:?}", all.iter().find(|r| r.state != "sent"));
}

/// Each number the fake received, with how many times.
fn per_recipient(fake: &FakeRonglian) -> std::collections::HashMap<String, usize> {
    let mut counts = std::collections::HashMap::new();
    for r in fake.received() {
        *counts.entry(r.to).or_insert(0) += 1;
    }
    counts
}

/// The newest delivery record, once it reaches `state` (within a minute:
/// a retry waits for the queue's next look, which a loaded machine running
/// the whole suite delays).
async fn newest_in_state(app: &TestApp, state: &str) -> DeliveryRecord {
    for _ in 0..600 {
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
    // What an operator runs: the binary, on the server's settings.
    let (ok, listed) = app.cli(&["jobs", "failed"]).await;
    assert!(ok);
    let listed: Vec<serde_json::Value> = listed.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0]["id"].as_str(), listed[0]["state"].as_str()), (Some(failed.id.as_str()), Some("failed")));
    assert!(listed[0]["last_error"].as_str().unwrap().starts_with("http_502"));

    fake.switch_to(Answer::Success);
    let (ok, retried) = app.cli(&["jobs", "retry", &failed.id]).await;
    assert!(ok, "{retried}");
    let retried: serde_json::Value = serde_json::from_str(retried.trim()).unwrap();
    assert_eq!(retried["state"], "queued");
    let sent = newest_in_state(&app, "sent").await;
    assert_eq!((sent.id, sent.attempts), (failed.id.clone(), 4));
    let (ok, _) = app.cli(&["jobs", "retry", &failed.id]).await;
    assert!(!ok, "only failed jobs are retried");
    assert_eq!(fake.received().iter().map(|r| r.datas[0].clone()).collect::<std::collections::HashSet<_>>().len(), 1);
}

async fn a_blacklisted_number_gives_the_cooldown_back_and_says_why(on: On) {
    let (_fake, url) = FakeRonglian::start(vec![], Answer::Status("160034")).await;
    let Some(app) = app_with(on, &url, &[]).await else { return };
    assert_eq!(app.send_sms("13500135003", "register").await.status(), 200);
    let failed = newest_in_state(&app, "failed").await;
    assert_eq!(failed.attempts, 1, "a final answer is not retried");
    // The worker records the failure, then gives the visitor's cooldown
    // back: the page polls, and so does this (a fresh clone's run read the
    // cooldown in between).
    let cooldown_url = "/api/v1/sms_codes/13500135003/cooldown?purpose=register";
    let cooldown = poll(5, || async { body(app.get(cooldown_url).await).await }, |c| c["seconds"] == 0).await;
    assert_eq!(cooldown["seconds"], 0, "the number may ask again at once: {cooldown}");
    assert_eq!(cooldown["refusal"]["code"], "sms_provider_blocked", "{cooldown}");
    assert!(cooldown["refusal"]["message"].as_str().unwrap().contains("无法接收"));
}

async fn an_expired_code_is_not_sent(on: On) {
    let (fake, url) = FakeRonglian::start(vec![], Answer::Status("160050")).await;
    // The retry comes after at least 0.8 × 3 s, less the second apalis'
    // `run_after` rounds down: over 1.4 s after the first attempt, so always
    // after the code died (with 2 s it could come 0.6 s after, and be sent).
    let env = [("DELIVERY_RETRY_FIRST_SECONDS", "3"), ("SMS_CODE_TTL_SECONDS", "1")];
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

async fn two_servers_deliver_200_queued_messages_exactly_once_each(on: On) {
    let (fake, url) = FakeRonglian::start(vec![], Answer::Success).await;
    let Some(first) = app_with(on, &url, &[]).await else { return };
    let mut shared = on.spawn(&url, &[]);
    shared.database_url = Some(first.env["DATABASE_URL"].clone());
    shared.store_prefix = Some(first.env["STORE_PREFIX"].clone());
    let second = spawn(shared).await.unwrap();
    for i in 0..200 {
        let app = if i % 2 == 0 { &first } else { &second };
        queue_code(app, &format!("1390000{i:04}"), "246810").await;
    }
    until_sent(&first, 200, 60).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let counts = per_recipient(&fake);
    assert_eq!(counts.len(), 200, "every message arrived");
    assert!(counts.values().all(|n| *n == 1), "none twice: {:?}", counts.iter().find(|(_, n)| **n > 1));
}

async fn a_server_killed_mid_send_delivers_the_message_after_a_restart(on: On) {
    // The provider holds the first answer: the kill comes while it is sent.
    let (fake, url) = FakeRonglian::start(vec![Answer::Slow(Duration::from_secs(120))], Answer::Success).await;
    let Some((env, dir)) = setup(on.spawn(&url, &[])).await else { return };
    let first = ServerProcess::start(&env, &dir.0).await;
    assert_eq!(first.app.send_sms("13500135020", "register").await.status(), 200);
    for _ in 0..100 {
        if !fake.received().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(fake.received().len(), 1, "the attempt is under way");
    first.kill().await;

    let again = ServerProcess::start(&env, &dir.0).await;
    // The dead worker's claim runs out (heartbeats missed, then its lease).
    until_sent(&again.app, 1, 90).await;
    let received = fake.received();
    assert_eq!(received.len(), 2, "sent again once, after the crash (at least once)");
    assert_eq!(received[0].datas[0], received[1].datas[0], "the same code");
    let _ = again.terminate().await;
}

async fn a_server_killed_after_enqueueing_delivers_after_a_restart(on: On) {
    let (fake, url) = FakeRonglian::start(vec![], Answer::Success).await;
    // The first server takes requests but runs no worker: the job waits.
    let Some((mut env, dir)) = setup(on.spawn(&url, &[])).await else { return };
    env.insert("RUN_WORKER".into(), "false".into());
    let first = ServerProcess::start(&env, &dir.0).await;
    assert_eq!(first.app.send_sms("13500135021", "register").await.status(), 200);
    first.kill().await;
    assert!(fake.received().is_empty());

    env.remove("RUN_WORKER");
    let again = ServerProcess::start(&env, &dir.0).await;
    until_sent(&again.app, 1, 30).await;
    assert_eq!(fake.received().len(), 1);
    let _ = again.terminate().await;
}

async fn sigterm_lets_running_jobs_finish_and_returns_the_rest(on: On) {
    let (fake, url) = FakeRonglian::start(vec![], Answer::Slow(Duration::from_secs(2))).await;
    let Some((env, dir)) = setup(on.spawn(&url, &[("DELIVERY_CONCURRENCY", "2")])).await else { return };
    let first = ServerProcess::start(&env, &dir.0).await;
    for i in 0..10 {
        queue_code(&first.app, &format!("1370000{i:04}"), "135790").await;
    }
    for _ in 0..100 {
        if !fake.received().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(first.terminate().await, "a clean exit");
    let started = fake.received().len();
    assert!((1..10).contains(&started), "{started} of 10 were under way");
    assert_eq!(fake.answered(), started, "every running job finished before the exit");

    let again = ServerProcess::start(&env, &dir.0).await;
    until_sent(&again.app, 10, 60).await;
    let counts = per_recipient(&fake);
    assert_eq!(counts.len(), 10, "the rest were delivered after the restart");
    assert!(counts.values().all(|n| *n == 1), "none twice: {counts:?}");
    let _ = again.terminate().await;
}

async fn old_records_of_ended_messages_are_forgotten_and_waiting_ones_kept(on: On) {
    // The first message is sent; the provider holds the second one's answer.
    let (fake, url) = FakeRonglian::start(vec![Answer::Success], Answer::Slow(Duration::from_secs(60))).await;
    let Some(app) = app_with(on, &url, &[]).await else { return };
    queue_code(&app, "13500135050", "333333").await;
    until_sent(&app, 1, 10).await;
    queue_code(&app, "13500135051", "444444").await;
    for _ in 0..100 {
        if fake.received().len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(app.core.db.count_waiting_deliveries().await.unwrap(), 1, "the second is being sent");
    let sent = app.core.db.list_deliveries(Some("sent"), 1).await.unwrap().remove(0);
    assert_eq!(app.core.db.forget_old_deliveries(sent.created_at).await.unwrap(), 0, "not older than itself");
    assert_eq!(app.core.db.forget_old_deliveries(now_ms() + 1).await.unwrap(), 1, "only the ended one");
    assert!(app.core.db.find_delivery(&sent.id).await.unwrap().is_none());
    assert_eq!(app.core.db.count_waiting_deliveries().await.unwrap(), 1, "the waiting one is kept");
}

on_each_queue!(
    old_records_of_ended_messages_are_forgotten_and_waiting_ones_kept,
    two_servers_deliver_200_queued_messages_exactly_once_each,
    a_server_killed_mid_send_delivers_the_message_after_a_restart,
    a_server_killed_after_enqueueing_delivers_after_a_restart,
    sigterm_lets_running_jobs_finish_and_returns_the_rest,
    a_finished_task_forgets_its_code_once_the_code_is_dead,
    a_send_returns_before_the_provider_answers,
    a_provider_that_fails_twice_then_succeeds_delivers_one_sms,
    a_provider_down_for_the_whole_window_leaves_one_failed_job_that_retry_delivers,
    a_blacklisted_number_gives_the_cooldown_back_and_says_why,
    an_expired_code_is_not_sent,
    a_bad_signature_is_a_configuration_failure_not_retried,
);

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// A Redis of this test's own on `port`, stopped when the handle drops.
async fn own_redis(port: u16) -> tokio::process::Child {
    let child = tokio::process::Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("redis-server starts");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return child;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("redis-server did not start");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_comes_back_after_its_queue_was_away() {
    if service("TEST_REDIS_URL").is_none() {
        return;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut redis = own_redis(port).await;
    let (fake, url) = FakeRonglian::start(vec![], Answer::Success).await;
    let mut options = On::Redis.spawn(&url, &[]);
    options.env.push(("REDIS_URL", format!("redis://127.0.0.1:{port}/")));
    let app = spawn(options).await.unwrap();
    queue_code(&app, "13500135040", "111111").await;
    until_sent(&app, 1, 10).await;

    redis.kill().await.unwrap();
    // Long enough for the worker to fail on its queue (it polls every 200 ms).
    tokio::time::sleep(Duration::from_secs(3)).await;
    let _redis = own_redis(port).await;
    let mut queued = None;
    for _ in 0..50 {
        let message = JobMessage::SmsCode {
            mobile: "13500135041".into(),
            purpose: "register".into(),
            code: "222222".into(),
            minutes: 5,
            expires_at_ms: now_ms() + 300_000,
            lang: String::new(),
        };
        if let Ok(id) = app::core::delivery::enqueue(&app.core, message, None).await {
            queued = Some(id);
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(queued.is_some(), "the queue takes messages again once Redis is back");
    until_sent(&app, 2, 30).await;
    assert_eq!(per_recipient(&fake).len(), 2);
}
