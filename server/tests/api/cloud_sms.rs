//! `SMS_PROVIDER=aliyun` and `tencent`, and `SMS_FALLBACK_PROVIDER`: a fake
//! provider on a local port checks each request as the real one does (the
//! signature recomputed from what arrived, by the documented algorithm whose
//! published examples the senders' unit tests reproduce; the action, the
//! version, the parameters) and answers from a script. When the official
//! Python SDKs are installed (`SMS_SDK_PYTHON`, made by scripts/test.sh),
//! the fake must accept their requests too, so it checks what Aliyun and
//! Tencent check, not what our senders happen to send.

use crate::helpers::*;
use app::core::sms::{aliyun, tencent};
use axum::{Router, body::Bytes, extract::State, http::HeaderMap, routing::post};
use serde_json::{Value, json};
use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::Duration,
};

const ALIYUN_ID: &str = "LTAI5tTestKeyId";
const ALIYUN_SECRET: &str = "aliyun-test-secret-0123456789";
const TENCENT_ID: &str = "AKIDTestSecretId";
const TENCENT_KEY: &str = "tencent-test-secret-0123456789";
const SIGN_NAME: &str = "某某商城";

/// One scripted answer: a status, a body, after a pause.
#[derive(Clone, Debug)]
struct Reply(u16, String, Duration);

fn ok(body: Value) -> Reply {
    Reply(200, body.to_string(), Duration::ZERO)
}

fn aliyun_code(code: &str) -> Reply {
    ok(json!({ "Code": code, "Message": "scripted", "RequestId": "r" }))
}

fn aliyun_ok() -> Reply {
    ok(json!({ "Code": "OK", "Message": "OK", "BizId": "900619746936498440^0", "RequestId": "r" }))
}

fn tencent_result(code: &str) -> Reply {
    ok(json!({ "Response": { "SendStatusSet": [{
        "SerialNo": "2640:1234567890", "PhoneNumber": "+8613500135000", "Fee": 1,
        "SessionContext": "", "Code": code, "Message": "scripted", "IsoCode": "CN"
    }], "RequestId": "r" } }))
}

fn tencent_error(code: &str) -> Reply {
    ok(json!({ "Response": { "Error": { "Code": code, "Message": "scripted" }, "RequestId": "r" } }))
}

/// What arrived, and whether it was as documented.
#[derive(Clone, Debug)]
struct Received {
    /// The parameters: Aliyun's query, or Tencent's JSON body.
    params: Value,
    well_formed: bool,
}

#[derive(Clone)]
struct FakeProvider {
    script: Arc<Mutex<VecDeque<Reply>>>,
    then: Reply,
    received: Arc<Mutex<Vec<Received>>>,
}

impl FakeProvider {
    async fn start(script: Vec<Reply>, then: Reply) -> (FakeProvider, String) {
        let fake = FakeProvider {
            script: Arc::new(Mutex::new(script.into())),
            then,
            received: Arc::new(Mutex::new(Vec::new())),
        };
        let router = Router::new().route("/", post(receive)).with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        (fake, url)
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

async fn receive(
    State(fake): State<FakeProvider>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (axum::http::StatusCode, String) {
    let received = if headers.contains_key("x-acs-action") {
        check_aliyun(uri.query().unwrap_or(""), &headers, &body)
    } else {
        check_tencent(&headers, &body)
    };
    let well_formed = received.well_formed;
    fake.received.lock().unwrap().push(received);
    let Reply(status, answer, pause) = {
        let next = fake.script.lock().unwrap().pop_front();
        next.unwrap_or_else(|| fake.then.clone())
    };
    if !well_formed {
        // What the real ones answer to a bad signature.
        return (axum::http::StatusCode::BAD_REQUEST, json!({ "Code": "SignatureDoesNotMatch" }).to_string());
    }
    tokio::time::sleep(pause).await;
    (axum::http::StatusCode::from_u16(status).unwrap(), answer)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

/// Aliyun's V3 check: the headers the Authorization names, as they
/// arrived; the query as it arrived; the body's hash; a fresh date.
fn check_aliyun(raw_query: &str, headers: &HeaderMap, body: &[u8]) -> Received {
    let authorization = header(headers, "authorization");
    let signed_headers = authorization.split("SignedHeaders=").nth(1).and_then(|s| s.split(',').next()).unwrap_or("");
    let named: Vec<(&str, &str)> = signed_headers.split(';').map(|name| (name, header(headers, name))).collect();
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(raw_query.as_bytes()).into_owned().collect();
    let query: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let request = aliyun::SignedRequest { method: "POST", query: &query, headers: &named, body };
    let expected = aliyun::authorization(ALIYUN_ID, ALIYUN_SECRET, &request);
    let date = chrono::DateTime::parse_from_rfc3339(header(headers, "x-acs-date"));
    let fresh = date.is_ok_and(|d| (chrono::Utc::now() - d.to_utc()).num_seconds().abs() < 900);
    let required =
        ["host", "x-acs-action", "x-acs-content-sha256", "x-acs-date", "x-acs-signature-nonce", "x-acs-version"];
    let params: serde_json::Map<String, Value> =
        pairs.iter().map(|(k, v)| (k.clone(), Value::from(v.as_str()))).collect();
    let well_formed = authorization == expected
        && fresh
        && required.iter().all(|name| signed_headers.split(';').any(|n| n == *name))
        && header(headers, "x-acs-content-sha256") == app::core::sms::sha256_hex(body)
        && header(headers, "x-acs-action") == "SendSms"
        && header(headers, "x-acs-version") == "2017-05-25"
        && params.get("SignName").and_then(Value::as_str) == Some(SIGN_NAME)
        && params.get("PhoneNumbers").and_then(Value::as_str).is_some_and(|n| n.len() == 11)
        && params
            .get("TemplateParam")
            .and_then(Value::as_str)
            .is_some_and(|p| serde_json::from_str::<Value>(p).is_ok_and(|v| v.is_object()));
    Received { params: Value::Object(params), well_formed }
}

/// Tencent's TC3 check: the key chain over what arrived.
fn check_tencent(headers: &HeaderMap, body: &[u8]) -> Received {
    let timestamp: i64 = header(headers, "x-tc-timestamp").parse().unwrap_or(0);
    let request = tencent::SignedRequest {
        host: header(headers, "host"),
        content_type: header(headers, "content-type"),
        payload: body,
        timestamp,
        service: "sms",
    };
    let expected = tencent::authorization(TENCENT_ID, TENCENT_KEY, &request);
    let params: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let well_formed = header(headers, "authorization") == expected
        && (chrono::Utc::now().timestamp() - timestamp).abs() < 300
        && header(headers, "content-type").starts_with("application/json")
        && header(headers, "x-tc-action") == "SendSms"
        && header(headers, "x-tc-version") == "2021-01-11"
        && header(headers, "x-tc-region") == "ap-guangzhou"
        && params["SmsSdkAppId"] == "1400006666"
        && params["SignName"] == SIGN_NAME
        && params["PhoneNumberSet"][0].as_str().is_some_and(|n| n.starts_with("+86") && n.len() == 14)
        && params["TemplateParamSet"].is_array();
    Received { params, well_formed }
}

fn aliyun_env(url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("ALIYUN_ACCESS_KEY_ID", ALIYUN_ID.into()),
        ("ALIYUN_ACCESS_KEY_SECRET", ALIYUN_SECRET.into()),
        ("ALIYUN_SMS_SIGN_NAME", SIGN_NAME.into()),
        ("ALIYUN_SMS_TEMPLATE_CODE", "SMS_154950909".into()),
        ("ALIYUN_SMS_ENDPOINT", url.into()),
    ]
}

fn tencent_env(url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("TENCENT_SECRET_ID", TENCENT_ID.into()),
        ("TENCENT_SECRET_KEY", TENCENT_KEY.into()),
        ("TENCENT_SMS_SDK_APP_ID", "1400006666".into()),
        ("TENCENT_SMS_SIGN_NAME", SIGN_NAME.into()),
        ("TENCENT_SMS_TEMPLATE_ID", "449739".into()),
        ("TENCENT_SMS_TEMPLATE_PARAMS", "code,minutes".into()),
        ("TENCENT_SMS_ENDPOINT", url.into()),
    ]
}

/// How long the server waits for a fake's answer. Generous: a test server
/// shares two cores with the whole suite, and a late answer from a busy fake
/// would read as a timeout and be tried again, which is not what these tests
/// are about (one of them is, with a slower fake: `SLOW_ANSWER`).
const READ_TIMEOUT_SECONDS: u64 = 5;
const SLOW_ANSWER: Duration = Duration::from_secs(READ_TIMEOUT_SECONDS + 5);

/// A server whose SMS go to `primary` (and `fallback`), retrying after a
/// second, at most `attempts` times.
async fn app_with(primary: (&'static str, &str), fallback: Option<(&'static str, &str)>, attempts: u32) -> TestApp {
    let env_of = |(name, url): (&'static str, &str)| if name == "aliyun" { aliyun_env(url) } else { tencent_env(url) };
    let mut env = vec![
        ("SMS_PROVIDER", primary.0.to_owned()),
        ("DELIVERY_RETRY_FIRST_SECONDS", "1".into()),
        ("DELIVERY_MAX_ATTEMPTS", attempts.to_string()),
        ("SMS_READ_TIMEOUT_SECONDS", READ_TIMEOUT_SECONDS.to_string()),
    ];
    env.extend(env_of(primary));
    if let Some(fallback) = fallback {
        env.push(("SMS_FALLBACK_PROVIDER", fallback.0.to_owned()));
        env.extend(env_of(fallback));
    }
    spawn(Spawn { env, ..Spawn::default() }).await.unwrap()
}

/// The delivery of the code sent to `mobile`, once it ended (within a
/// minute: a retry waits for the queue's next look, which a loaded machine
/// running the whole suite delays).
async fn ended(app: &TestApp, mobile: &str) -> app::core::delivery::DeliveryRecord {
    let masked = app::rules::Mobile::parse(mobile).unwrap().masked();
    for _ in 0..600 {
        let records = app.core.db.list_deliveries(None, 50).await.unwrap();
        if let Some(r) = records.into_iter().find(|r| r.recipient == masked)
            && ["sent", "failed"].contains(&r.state.as_str())
        {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no delivery to {mobile} ended");
}

/// The reason the visitor hears why `mobile`'s code did not come.
///
/// The worker writes the record's end a moment before the reason the visitor
/// hears (`delivery::worker::fail`: the record first, it is what keeps the
/// message from being sent again), so this asks until the answer is the
/// `expected` one or two seconds have passed, and returns the last answer.
async fn refusal_of(app: &TestApp, mobile: &str, expected: Option<&str>) -> Option<String> {
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    loop {
        let cooldown = body(app.get(&format!("/api/v1/sms_codes/{mobile}/cooldown?purpose=register")).await).await;
        let refusal = cooldown["refusal"]["code"].as_str().map(str::to_owned);
        if refusal.as_deref() == expected || std::time::Instant::now() > deadline {
            return refusal;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aliyun_gets_a_signed_send_sms_and_its_codes_decide_retry_or_refusal() {
    let (fake, url) = FakeProvider::start(vec![aliyun_code("isp.SYSTEM_ERROR")], aliyun_ok()).await;
    let app = app_with(("aliyun", &url), None, 3).await;
    // A retryable error, retried to delivery.
    assert_eq!(app.send_sms("13500135101", "register").await.status(), 200);
    let sent = ended(&app, "13500135101").await;
    assert_eq!((sent.state.as_str(), sent.attempts, sent.provider.as_str()), ("sent", 2, "aliyun"), "{sent:?}");
    assert_eq!(sent.provider_message_id.as_deref(), Some("900619746936498440^0"));
    assert_eq!(sent.error_code.as_deref(), Some("isp.SYSTEM_ERROR"), "the retried error's code is kept");
    let received = fake.received();
    assert_eq!(received.len(), 2);
    for r in &received {
        assert!(r.well_formed, "{r:?}");
        assert_eq!(r.params["PhoneNumbers"], "13500135101");
        assert_eq!(r.params["TemplateCode"], "SMS_154950909");
        assert_eq!(r.params["OutId"], sent.id.as_str(), "our delivery id, the same on each try");
        let values: Value = serde_json::from_str(r.params["TemplateParam"].as_str().unwrap()).unwrap();
        assert!(values["code"].as_str().is_some_and(|c| c.len() == 6), "{values}");
    }

    // Each final class is tried once; the visitor hears a number's problem.
    let cases = [
        ("13500135102", "isv.MOBILE_NUMBER_ILLEGAL", Some("sms_provider_invalid_number")),
        ("13500135103", "isv.BUSINESS_LIMIT_CONTROL", Some("sms_provider_too_frequent")),
        ("13500135104", "isv.DAY_LIMIT_CONTROL", Some("sms_provider_daily_limit")),
        ("13500135105", "isv.AMOUNT_NOT_ENOUGH", None),
        ("13500135106", "SignatureDoesNotMatch", None),
    ];
    for (mobile, code, refusal) in cases {
        fake.script.lock().unwrap().push_back(aliyun_code(code));
        let before = fake.received().len();
        assert_eq!(app.send_sms(mobile, "register").await.status(), 200);
        let failed = ended(&app, mobile).await;
        assert_eq!((failed.state.as_str(), failed.attempts), ("failed", 1), "{code}: {failed:?}");
        assert_eq!(failed.error_code.as_deref(), Some(code));
        assert_eq!(fake.received().len(), before + 1, "{code}: tried once");
        assert_eq!(refusal_of(&app, mobile, refusal).await.as_deref(), refusal, "{code}");
    }
    // A code no one documented: once more, then final.
    fake.script.lock().unwrap().extend([aliyun_code("isv.NEW_THING"), aliyun_code("isv.NEW_THING")]);
    assert_eq!(app.send_sms("13500135107", "register").await.status(), 200);
    let unknown = ended(&app, "13500135107").await;
    assert_eq!((unknown.state.as_str(), unknown.attempts), ("failed", 2), "{unknown:?}");
    // A secret never reaches a record.
    let records = serde_json::to_string(&app.core.db.list_deliveries(None, 50).await.unwrap()).unwrap();
    assert!(!records.contains(ALIYUN_SECRET));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tencent_gets_a_signed_send_sms_and_a_numbers_own_result_decides() {
    let (fake, url) = FakeProvider::start(vec![tencent_error("InternalError.Timeout")], tencent_result("Ok")).await;
    let app = app_with(("tencent", &url), None, 3).await;
    assert_eq!(app.send_sms("13500135111", "register").await.status(), 200);
    let sent = ended(&app, "13500135111").await;
    assert_eq!((sent.state.as_str(), sent.attempts, sent.provider.as_str()), ("sent", 2, "tencent"));
    assert_eq!(sent.provider_message_id.as_deref(), Some("2640:1234567890"));
    for r in fake.received() {
        assert!(r.well_formed, "{r:?}");
        assert_eq!(r.params["PhoneNumberSet"], json!(["+8613500135111"]));
        assert_eq!(r.params["TemplateId"], "449739");
        assert_eq!(r.params["SessionContext"], sent.id.as_str());
        let values = r.params["TemplateParamSet"].as_array().unwrap();
        assert!(values.len() == 2 && values[0].as_str().unwrap().len() == 6 && values[1] == "5", "{values:?}");
    }
    // A per-number result inside an HTTP 200, and a request-level error.
    let cases = [
        ("13500135112", tencent_result("LimitExceeded.PhoneNumberDailyLimit"), Some("sms_provider_daily_limit")),
        (
            "13500135113",
            tencent_result("LimitExceeded.PhoneNumberThirtySecondLimit"),
            Some("sms_provider_too_frequent"),
        ),
        (
            "13500135114",
            tencent_result("InvalidParameterValue.IncorrectPhoneNumber"),
            Some("sms_provider_invalid_number"),
        ),
        ("13500135115", tencent_result("FailedOperation.PhoneNumberInBlacklist"), Some("sms_provider_blocked")),
        ("13500135116", tencent_error("AuthFailure.SignatureFailure"), None),
        ("13500135117", tencent_error("FailedOperation.InsufficientBalanceInSmsPackage"), None),
    ];
    for (mobile, reply, refusal) in cases {
        fake.script.lock().unwrap().push_back(reply);
        let before = fake.received().len();
        assert_eq!(app.send_sms(mobile, "register").await.status(), 200);
        let failed = ended(&app, mobile).await;
        assert_eq!((failed.state.as_str(), failed.attempts), ("failed", 1), "{mobile}: {failed:?}");
        assert_eq!(fake.received().len(), before + 1, "{mobile}: tried once");
        assert_eq!(refusal_of(&app, mobile, refusal).await.as_deref(), refusal, "{mobile}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fallback_takes_over_what_the_primary_cannot_send_and_nothing_else() {
    let (primary, primary_url) = FakeProvider::start(vec![], aliyun_code("isv.AMOUNT_NOT_ENOUGH")).await;
    let (fallback, fallback_url) = FakeProvider::start(vec![], tencent_result("Ok")).await;
    let app = app_with(("aliyun", &primary_url), Some(("tencent", &fallback_url)), 2).await;
    // The primary's account is out of money: the fallback sends it, at once.
    assert_eq!(app.send_sms("13500135121", "register").await.status(), 200);
    let sent = ended(&app, "13500135121").await;
    assert_eq!((sent.state.as_str(), sent.attempts, sent.provider.as_str()), ("sent", 1, "tencent"));
    assert_eq!((primary.received().len(), fallback.received().len()), (1, 1));
    assert!(fallback.received()[0].well_formed);

    // A bad number is the number's, not the account's: no second provider.
    primary.script.lock().unwrap().push_back(aliyun_code("isv.MOBILE_NUMBER_ILLEGAL"));
    assert_eq!(app.send_sms("13500135122", "register").await.status(), 200);
    let failed = ended(&app, "13500135122").await;
    assert_eq!((failed.state.as_str(), failed.provider.as_str()), ("failed", "aliyun"));
    // So is a per-number limit.
    primary.script.lock().unwrap().push_back(aliyun_code("isv.BUSINESS_LIMIT_CONTROL"));
    assert_eq!(app.send_sms("13500135123", "register").await.status(), 200);
    assert_eq!(ended(&app, "13500135123").await.provider, "aliyun");
    assert_eq!(fallback.received().len(), 1, "the fallback heard nothing of either");

    // The primary down through its retries: the fallback gets one try, and
    // its own failure is final.
    primary.script.lock().unwrap().extend([aliyun_code("isp.SYSTEM_ERROR"), aliyun_code("isp.SYSTEM_ERROR")]);
    fallback.script.lock().unwrap().push_back(tencent_error("InternalError.Timeout"));
    assert_eq!(app.send_sms("13500135124", "register").await.status(), 200);
    let given_up = ended(&app, "13500135124").await;
    assert_eq!((given_up.state.as_str(), given_up.attempts, given_up.provider.as_str()), ("failed", 2, "tencent"));
    assert_eq!(fallback.received().len(), 2, "one try at the fallback");
    primary.script.lock().unwrap().extend([aliyun_code("isp.SYSTEM_ERROR"), aliyun_code("isp.SYSTEM_ERROR")]);
    assert_eq!(app.send_sms("13500135125", "register").await.status(), 200);
    let rescued = ended(&app, "13500135125").await;
    assert_eq!((rescued.state.as_str(), rescued.attempts, rescued.provider.as_str()), ("sent", 2, "tencent"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_that_does_not_answer_in_time_is_tried_again() {
    let slow = Reply(200, json!({ "Code": "OK", "BizId": "late" }).to_string(), SLOW_ANSWER);
    let (fake, url) = FakeProvider::start(vec![slow], aliyun_ok()).await;
    let app = app_with(("aliyun", &url), None, 3).await;
    assert_eq!(app.send_sms("13500135131", "register").await.status(), 200);
    let sent = ended(&app, "13500135131").await;
    assert_eq!((sent.state.as_str(), sent.attempts, sent.error_code.as_deref()), ("sent", 2, Some("timeout")));
    assert_eq!(sent.provider_message_id.as_deref(), Some("900619746936498440^0"));
    assert_eq!(fake.received().len(), 2);
}

/// `server sms test MOBILE`: one message now, and the provider's answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_test_sends_one_message_at_once_and_prints_the_answer() {
    let (fake, url) = FakeProvider::start(vec![], tencent_result("Ok")).await;
    let app = app_with(("tencent", &url), None, 3).await;
    let (ok, out) = app.cli(&["sms", "test", "13500135141"]).await;
    assert!(ok, "{out}");
    let answer: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(answer["provider"], "tencent");
    assert_eq!(answer["provider_message_id"], "2640:1234567890");
    assert_eq!(answer["to"], "135****5141");
    assert!(fake.received()[0].well_formed);
    fake.script.lock().unwrap().push_back(tencent_error("AuthFailure.SecretIdNotFound"));
    let (ok, _) = app.cli(&["sms", "test", "13500135141"]).await;
    assert!(!ok, "a refusal fails the command");
    let (ok, _) = app.cli(&["sms", "test", "123"]).await;
    assert!(!ok, "a bad number is refused before anything is sent");
    assert_eq!(fake.received().len(), 2);
}

/// The official SDKs (PyPI: alibabacloud-dysmsapi20170525,
/// tencentcloud-sdk-python-sms) sign their requests as their vendors do:
/// the fake must accept them, or its check is ours alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fakes_accept_the_official_sdks_requests() {
    let Ok(python) = std::env::var("SMS_SDK_PYTHON") else {
        assert!(std::env::var("REQUIRE_SERVICES").is_err(), "SMS_SDK_PYTHON must be set when services are required");
        eprintln!("skipped: SMS_SDK_PYTHON is not set");
        return;
    };
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../bench/sms-sdk/send.py");
    for (provider, then, id, secret) in
        [("aliyun", aliyun_ok(), ALIYUN_ID, ALIYUN_SECRET), ("tencent", tencent_result("Ok"), TENCENT_ID, TENCENT_KEY)]
    {
        let (fake, url) = FakeProvider::start(vec![], then).await;
        let mut command = std::process::Command::new(&python);
        command.args([script, provider, &url, id, secret, SIGN_NAME]);
        let out = tokio::task::spawn_blocking(move || command.output()).await.unwrap().unwrap();
        assert!(out.status.success(), "{provider}: {}", String::from_utf8_lossy(&out.stderr));
        let received = fake.received();
        assert_eq!(received.len(), 1, "{provider}");
        assert!(received[0].well_formed, "{provider}: the SDK's request was refused: {:?}", received[0]);
    }
}
