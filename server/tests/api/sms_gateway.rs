//! `SMS_PROVIDER=http`: a fake gateway on a local port checks the signature
//! the way docs/sms-http.md tells gateway authors to, and answers from a
//! script; its answers decide sent, retried, refused or misconfigured.

use crate::helpers::*;
use app::core::sms::http::{SIGNATURE_HEADER, TIMESTAMP_HEADER, signature};
use axum::{Router, body::Bytes, extract::State, http::HeaderMap, routing::post};
use serde_json::Value;
use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::Duration,
};

const SECRET: &str = "gateway-secret-for-tests-0123456789";

#[derive(Clone, Default)]
struct Gateway {
    answers: Arc<Mutex<VecDeque<(u16, &'static str)>>>,
    /// Each request's body, and whether its signature and timestamp held.
    received: Arc<Mutex<Vec<(Value, bool)>>>,
}

async fn receive(State(gw): State<Gateway>, headers: HeaderMap, body: Bytes) -> (axum::http::StatusCode, String) {
    let timestamp = headers.get(TIMESTAMP_HEADER).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let signed = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let fresh = timestamp.parse::<i64>().is_ok_and(|t| (chrono_now() - t).abs() < 300);
    let valid = fresh && signed == signature(SECRET.as_bytes(), timestamp, &body);
    gw.received.lock().unwrap().push((serde_json::from_slice(&body).unwrap(), valid));
    let (status, answer) = gw.answers.lock().unwrap().pop_front().unwrap_or((200, r#"{"message_id":"gw-1"}"#));
    (axum::http::StatusCode::from_u16(status).unwrap(), answer.to_string())
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

async fn gateway(answers: Vec<(u16, &'static str)>) -> (Gateway, Vec<(&'static str, String)>) {
    let gw = Gateway { answers: Arc::new(Mutex::new(answers.into())), ..Gateway::default() };
    let router = Router::new().route("/send", post(receive)).with_state(gw.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/send", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    let env = vec![
        ("SMS_PROVIDER", "http".to_string()),
        ("SMS_HTTP_URL", url),
        ("SMS_HTTP_SECRET", SECRET.to_string()),
        ("DELIVERY_RETRY_FIRST_SECONDS", "1".to_string()),
    ];
    (gw, env)
}

async fn newest_final(app: &TestApp) -> app::core::delivery::DeliveryRecord {
    // Up to 30 s: a retry comes a second later, but a loaded machine running
    // the whole suite on two cores has kept one waiting over 10 s.
    for _ in 0..300 {
        let records = app.core.db.list_deliveries(None, 1).await.unwrap();
        if let Some(r) = records.into_iter().next()
            && ["sent", "failed"].contains(&r.state.as_str())
        {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no delivery ended: {:?}", app.core.db.list_deliveries(None, 1).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_gets_a_signed_request_and_a_busy_answer_is_retried() {
    let (gw, env) = gateway(vec![(503, "busy")]).await;
    let app = spawn(Spawn { env, ..Spawn::default() }).await.unwrap();
    assert_eq!(app.send_sms("13500135030", "register").await.status(), 200);
    let record = newest_final(&app).await;
    assert_eq!((record.state.as_str(), record.attempts), ("sent", 2));
    assert_eq!(record.provider_message_id.as_deref(), Some("gw-1"));
    let received = gw.received.lock().unwrap().clone();
    assert_eq!(received.len(), 2);
    for (body, valid) in &received {
        assert!(valid, "signed as documented, with a fresh timestamp");
        assert_eq!((body["to"].as_str(), body["id"].as_str()), (Some("13500135030"), Some(record.id.as_str())));
        assert!(body["code"].as_str().unwrap().len() == 6 && body["minutes"] == 5, "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_reaches_the_visitor_and_a_bad_signature_is_not_retried() {
    let (_gw, env) = gateway(vec![(422, r#"{"error":"daily_limit"}"#), (401, "bad signature")]).await;
    let app = spawn(Spawn { env, ..Spawn::default() }).await.unwrap();
    assert_eq!(app.send_sms("13500135031", "register").await.status(), 200);
    let refused = newest_final(&app).await;
    assert_eq!((refused.state.as_str(), refused.attempts), ("failed", 1));
    let cooldown = body(app.get("/api/v1/sms_codes/13500135031/cooldown?purpose=register").await).await;
    assert_eq!(
        (cooldown["seconds"].as_u64(), cooldown["refusal"]["code"].as_str()),
        (Some(0), Some("sms_provider_daily_limit"))
    );

    assert_eq!(app.send_sms("13500135032", "register").await.status(), 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let misconfigured = newest_final(&app).await;
    assert_eq!((misconfigured.state.as_str(), misconfigured.attempts), ("failed", 1));
    assert!(misconfigured.last_error.unwrap().starts_with("http_401"));
}

/// After a reset, an account without a verified e-mail is told by SMS: the
/// gateway gets a signed notice with the time and the client address, and
/// no code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_changed_notice_reaches_the_gateway_without_a_code() {
    use app::core::delivery::{JobMessage, SmsNotice, enqueue};
    let (gw, env) = gateway(vec![]).await;
    let app = spawn(Spawn { env, ..Spawn::default() }).await.unwrap();
    let notice =
        SmsNotice::PasswordChanged { at: "2026-11-30 13:05（北京时间）".into(), client_ip: "203.0.113.9".into() };
    enqueue(&app.core, JobMessage::SmsNotice { mobile: "13500135033".into(), notice, lang: String::new() }, None)
        .await
        .unwrap();
    let record = newest_final(&app).await;
    assert_eq!(
        (record.state.as_str(), record.kind.as_str(), record.purpose.as_str()),
        ("sent", "sms_notice", "password_changed")
    );
    let (body, valid) = gw.received.lock().unwrap()[0].clone();
    assert!(valid);
    assert_eq!((body["kind"].as_str(), body["client_ip"].as_str()), (Some("password_changed"), Some("203.0.113.9")));
    assert!(body.get("code").is_none() && body["text"].as_str().unwrap().contains("2026-11-30 13:05"), "{body}");
}
