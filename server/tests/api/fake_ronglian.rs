//! A fake Ronglian server on a local port: it checks what the real one
//! checks (path, signature, Authorization, content type, body) and answers
//! from a script: success, any status code, an HTTP error, slowly, or never.

use axum::{Router, body::Bytes, extract::State, http::HeaderMap, response::IntoResponse, routing::post};
use serde_json::{Value, json};
use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::Duration,
};

pub const SID: &str = "ACCOUNTSID0000000000000000000001";
pub const TOKEN: &str = "AUTHTOKEN00000000000000000000001";
pub const APP_ID: &str = "APPID000000000000000000000000001";
pub const TEMPLATE_ID: &str = "1";
/// The "password changed" notice's template (`RONGLIAN_NOTICE_TEMPLATE_ID`).
pub const NOTICE_TEMPLATE_ID: &str = "2";

/// One answer the fake gives.
#[derive(Clone, Debug)]
pub enum Answer {
    Success,
    /// `{"statusCode": code}` with HTTP 200.
    Status(&'static str),
    /// An HTTP error status with no Ronglian body.
    Http(u16),
    /// Success, after this long.
    Slow(Duration),
}

#[derive(Clone, Debug)]
pub struct Received {
    pub to: String,
    pub template_id: String,
    pub datas: Vec<String>,
    /// Whether path, signature, headers and body were as documented.
    pub well_formed: bool,
}

#[derive(Clone, Default)]
pub struct FakeRonglian {
    script: Arc<Mutex<VecDeque<Answer>>>,
    /// What to answer once the script is used up.
    then: Arc<Mutex<Option<Answer>>>,
    pub received: Arc<Mutex<Vec<Received>>>,
    pub answered: Arc<Mutex<usize>>,
}

impl FakeRonglian {
    /// Starts the fake; answers `script` in order, then `then` for ever.
    pub async fn start(script: Vec<Answer>, then: Answer) -> (FakeRonglian, String) {
        let fake = FakeRonglian {
            script: Arc::new(Mutex::new(script.into())),
            then: Arc::new(Mutex::new(Some(then))),
            ..FakeRonglian::default()
        };
        let router = Router::new()
            .route("/2013-12-26/Accounts/{sid}/SMS/TemplateSMS", post(template_sms))
            .with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        (fake, url)
    }

    /// From now on, answer `answer`.
    pub fn switch_to(&self, answer: Answer) {
        self.script.lock().unwrap().clear();
        *self.then.lock().unwrap() = Some(answer);
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    pub fn answered(&self) -> usize {
        *self.answered.lock().unwrap()
    }

    /// The settings that point a server at this fake.
    pub fn env(url: &str) -> Vec<(&'static str, String)> {
        vec![
            ("SMS_PROVIDER", "ronglian".into()),
            ("RONGLIAN_ACCOUNT_SID", SID.into()),
            ("RONGLIAN_AUTH_TOKEN", TOKEN.into()),
            ("RONGLIAN_APP_ID", APP_ID.into()),
            ("RONGLIAN_TEMPLATE_ID", TEMPLATE_ID.into()),
            ("RONGLIAN_BASE_URL", url.into()),
        ]
    }
}

async fn template_sms(
    State(fake): State<FakeRonglian>,
    axum::extract::Path(sid): axum::extract::Path<String>,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    // The timestamp is inside the Authorization header; the signature must match it.
    let authorization = header("authorization");
    let decoded = base64_decode(&authorization);
    let ts = decoded.strip_prefix(&format!("{SID}:")).unwrap_or("").to_owned();
    let (sig, expected_authorization) = app::core::sms::ronglian::sign(SID, TOKEN, &ts);
    let datas: Vec<String> = body["datas"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    let well_formed = sid == SID
        && ts.len() == 14
        && query.get("sig") == Some(&sig)
        && authorization == expected_authorization
        && !authorization.starts_with("Basic")
        && header("accept") == "application/json"
        && header("content-type") == "application/json;charset=utf-8"
        && body["appId"] == APP_ID
        && datas.len() == 2
        && ((body["templateId"] == TEMPLATE_ID && datas[0].len() == 6) || body["templateId"] == NOTICE_TEMPLATE_ID);
    fake.received.lock().unwrap().push(Received {
        to: body["to"].as_str().unwrap_or("").to_owned(),
        template_id: body["templateId"].as_str().unwrap_or("").to_owned(),
        datas,
        well_formed,
    });
    let answer = {
        let next = fake.script.lock().unwrap().pop_front();
        next.or_else(|| fake.then.lock().unwrap().clone()).unwrap_or(Answer::Success)
    };
    let response = if !well_formed {
        axum::Json(json!({ "statusCode": "111109", "statusMsg": "签名验证失败" })).into_response()
    } else {
        match answer {
            Answer::Success => success(),
            Answer::Slow(wait) => {
                tokio::time::sleep(wait).await;
                success()
            }
            Answer::Status(code) => axum::Json(json!({ "statusCode": code, "statusMsg": "fake" })).into_response(),
            Answer::Http(status) => {
                (axum::http::StatusCode::from_u16(status).unwrap(), "upstream trouble").into_response()
            }
        }
    };
    *fake.answered.lock().unwrap() += 1;
    response
}

fn success() -> axum::response::Response {
    let id = uuid::Uuid::new_v4().simple().to_string();
    axum::Json(
        json!({ "statusCode": "000000", "templateSMS": { "smsMessageSid": id, "dateCreated": "20240101120000" } }),
    )
    .into_response()
}

/// Standard base64, enough for the header (the test has no base64 crate).
fn base64_decode(s: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = vec![];
    for c in s.bytes().filter(|c| *c != b'=') {
        let Some(v) = ALPHABET.iter().position(|a| *a == c) else { return String::new() };
        bits = (bits << 6) | v as u32;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    String::from_utf8(out).unwrap_or_default()
}
