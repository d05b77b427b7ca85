//! E-mail through a real SMTP server (maildev, started by scripts/test.sh on
//! a free port; its REST API shows what it received): `server mail test`, a
//! queued message, and a relay that is down for a while.

use crate::helpers::*;
use app::core::{
    delivery::JobMessage,
    mail::{Mail, MailFailure},
    use_cases::{MailTestError, send_test_mail},
};
use serde_json::Value;
use std::time::Duration;
use tokio::process::{Child, Command};

const FROM: &str = "注册服务 <noreply@example.com>";

fn smtp_env(port: &str) -> Vec<(&'static str, String)> {
    vec![
        ("EMAIL_TRANSPORT", "smtp".into()),
        ("SMTP_HOST", "127.0.0.1".into()),
        ("SMTP_PORT", port.into()),
        ("SMTP_SECURITY", "plain".into()),
        ("MAIL_FROM", FROM.into()),
        ("SITE_NAME", "示例站".into()),
    ]
}

/// A fresh address per test, so that tests sharing one maildev never see
/// each other's mail.
fn address() -> String {
    format!("u{}@example.com", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// The messages maildev at `api` received for `to` (waits up to `secs`
/// for at least one).
async fn received(api: &str, to: &str, secs: u64) -> Vec<Value> {
    let client = reqwest::Client::new();
    for _ in 0..secs * 10 {
        if let Ok(r) = client.get(format!("{api}/api/email")).send().await
            && let Ok(Value::Array(all)) = r.json::<Value>().await
        {
            let mine: Vec<Value> = all.into_iter().filter(|m| m["to"][0]["address"] == to).collect();
            if !mine.is_empty() {
                return mine;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    vec![]
}

/// A test message to `to`, worded in `lang` (empty: the default).
fn email_job_in(to: &str, lang: &str) -> JobMessage {
    let mail = Mail::Test { site: "示例站".into() };
    JobMessage::Email { to: to.into(), mail, expires_at_ms: None, lang: lang.into() }
}

fn email_job(to: &str) -> JobMessage {
    email_job_in(to, "")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_test_sends_a_multipart_message_through_smtp() {
    let (Some(port), Some(api)) = (service("TEST_SMTP_PORT"), service("TEST_MAILDEV_URL")) else { return };
    let app = spawn(Spawn { env: smtp_env(&port), ..Spawn::default() }).await.unwrap();
    let to = address();
    let accepted = send_test_mail(&app.core, &to).await.unwrap();
    assert!(accepted.message_id.is_some(), "the relay's answer is kept");
    let mail = received(&api, &to, 10).await;
    assert_eq!(mail.len(), 1);
    let m = &mail[0];
    assert_eq!(
        (m["from"][0]["name"].as_str(), m["from"][0]["address"].as_str()),
        (Some("注册服务"), Some("noreply@example.com"))
    );
    assert_eq!(m["subject"], "示例站：测试邮件");
    assert!(m["text"].as_str().unwrap().contains("测试邮件"), "{m}");
    let html = m["html"].as_str().unwrap();
    assert!(html.contains("<p>这是一封来自示例站的测试邮件。</p>") && html.contains("lang=\"zh-CN\""), "{html}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_test_names_a_bad_address_and_a_relay_that_is_not_there() {
    let app = spawn(Spawn { env: smtp_env("1"), ..Spawn::default() }).await.unwrap();
    assert!(matches!(send_test_mail(&app.core, "not-an-address").await, Err(MailTestError::Address(_))));
    match send_test_mail(&app.core, &address()).await {
        Err(MailTestError::Failed { transport: "smtp", failure: MailFailure::Temporary { code, .. } }) => {
            assert_eq!(code, "connect")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_email_is_delivered_and_recorded() {
    let (Some(port), Some(api)) = (service("TEST_SMTP_PORT"), service("TEST_MAILDEV_URL")) else { return };
    let app = spawn(Spawn { env: smtp_env(&port), ..Spawn::default() }).await.unwrap();
    let to = address();
    let id = app::core::delivery::enqueue(&app.core, email_job(&to), None).await.unwrap();
    assert_eq!(received(&api, &to, 10).await.len(), 1);
    let record = until_state(&app, &id, "sent", 10).await;
    assert_eq!((record.kind.as_str(), record.provider.as_str(), record.purpose.as_str()), ("email", "smtp", "test"));
    assert!(record.recipient.ends_with("***@example.com"), "masked: {}", record.recipient);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_email_is_worded_in_its_language() {
    let (Some(port), Some(api)) = (service("TEST_SMTP_PORT"), service("TEST_MAILDEV_URL")) else { return };
    let app = spawn(Spawn { env: smtp_env(&port), ..Spawn::default() }).await.unwrap();
    let (english, unknown) = (address(), address());
    app::core::delivery::enqueue(&app.core, email_job_in(&english, "en"), None).await.unwrap();
    app::core::delivery::enqueue(&app.core, email_job_in(&unknown, "xx"), None).await.unwrap();
    let mail = received(&api, &english, 10).await;
    assert_eq!(mail[0]["subject"], "示例站: test e-mail");
    assert!(mail[0]["html"].as_str().unwrap().contains("lang=\"en\""), "{}", mail[0]);
    // A language we have no file for: the default's words.
    assert_eq!(received(&api, &unknown, 10).await[0]["subject"], "示例站：测试邮件");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_down_for_30_seconds_then_up_delivers_the_email() {
    let Some(maildev) = service("TEST_MAILDEV_BIN") else { return };
    let (smtp_port, web_port) = (free_port(), free_port());
    let mut env = smtp_env(&smtp_port.to_string());
    env.push(("DELIVERY_RETRY_FIRST_SECONDS", "5".into()));
    let app = spawn(Spawn { env, ..Spawn::default() }).await.unwrap();
    let to = address();
    let id = app::core::delivery::enqueue(&app.core, email_job(&to), None).await.unwrap();
    let retrying = until_state(&app, &id, "retrying", 10).await;
    assert!(retrying.last_error.as_deref().unwrap().starts_with("connect"), "{retrying:?}");

    tokio::time::sleep(Duration::from_secs(30)).await;
    let _relay = start_maildev(&maildev, smtp_port, web_port).await;
    let sent = until_state(&app, &id, "sent", 60).await;
    assert!(sent.attempts >= 4, "tried while the relay was down: {sent:?}");
    assert_eq!(received(&format!("http://127.0.0.1:{web_port}"), &to, 10).await.len(), 1, "delivered once");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A maildev of this test's own, stopped when the handle drops.
async fn start_maildev(bin: &str, smtp: u16, web: u16) -> Child {
    let dir = std::env::temp_dir().join(format!("maildev-{}", uuid::Uuid::new_v4().simple()));
    let child = Command::new(bin)
        .args(["--smtp", &smtp.to_string(), "--web", &web.to_string(), "--ip", "127.0.0.1", "--web-ip", "127.0.0.1"])
        .arg("--mail-directory")
        .arg(&dir)
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("maildev starts");
    for _ in 0..100 {
        if reqwest::get(format!("http://127.0.0.1:{web}/api/healthz")).await.is_ok_and(|r| r.status() == 200) {
            return child;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("maildev did not start");
}

async fn until_state(app: &TestApp, id: &str, state: &str, secs: u64) -> app::core::delivery::DeliveryRecord {
    for _ in 0..secs * 10 {
        let record = app.core.db.find_delivery(id).await.unwrap().unwrap();
        if record.state == state {
            return record;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{id} never reached {state}: {:?}", app.core.db.find_delivery(id).await.unwrap());
}
