use crate::helpers::*;
use std::sync::{Arc, Mutex, OnceLock};

/// Everything every test in this binary logged (one global subscriber).
fn captured() -> Arc<Mutex<Vec<u8>>> {
    static BUFFER: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    BUFFER
        .get_or_init(|| {
            let buffer = Arc::new(Mutex::new(Vec::new()));
            let sink = buffer.clone();
            server::telemetry::init_with_writer(server::config::LogFormat::Json, move || Writer(sink.clone()));
            buffer
        })
        .clone()
}

struct Writer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Writer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn requests_are_logged_one_line_each_and_no_secret_reaches_the_log() {
    let logs = captured();
    let app = spawn_app().await;
    let (id, answer) = app.captcha().await;
    let form =
        serde_json::json!({ "mobile": "13200132000", "purpose": "register", "image_code_id": id, "text": answer });
    assert_eq!(app.post_json("/api/v1/sms_codes", &form).await.status(), 200);
    let code = app.outbox_code("sms", "13200132000").await.unwrap();
    let mut registration = registration("13200132000", &code, Some("Secretive1"));
    registration["password"] = serde_json::json!("Zq8-unlikely-Pw");
    registration["password2"] = serde_json::json!("Zq8-unlikely-Pw");
    // Other tests log beside this one: its request carries an id of its own.
    let request_id = uuid::Uuid::new_v4().simple().to_string();
    let response =
        app.client.post(app.url("/api/v1/users")).header("x-request-id", &request_id).json(&registration).send();
    let response = response.await.unwrap();
    assert_eq!(response.status(), 201);
    let token = body(response).await["token"].as_str().unwrap().to_owned();
    assert_eq!(app.get("/").await.status(), 200);

    let text = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    for secret in ["Zq8-unlikely-Pw", code.as_str(), answer.as_str(), token.as_str()] {
        assert!(!contains_word(&text, secret), "a secret reached the log");
    }
    let served: Vec<&str> =
        text.lines().filter(|l| l.contains("\"message\":\"served\"") && l.contains(&request_id)).collect();
    assert_eq!(served.len(), 1, "one line for the one registration request");
    let line: serde_json::Value = serde_json::from_str(served[0]).unwrap();
    assert_eq!(line["status"], 201);
    assert_eq!((line["span"]["method"].as_str(), line["span"]["path"].as_str()), (Some("POST"), Some("/api/v1/users")));
}

/// `word` with no letter or digit right before or after it: short secrets
/// (a 4-character answer) must not match inside unrelated numbers.
fn contains_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_alphanumeric()) && !after.is_some_and(|c| c.is_ascii_alphanumeric())
    })
}

/// A mobile number in a request path is masked in the request line, and raw
/// input (an unparsed purpose, a captcha id from the URL) never becomes a
/// log field: a forged value cannot write into the log.
#[tokio::test]
async fn paths_are_masked_and_raw_input_never_reaches_a_log_field() {
    let logs = captured();
    let app = spawn_app().await;
    assert_eq!(app.get("/api/v1/mobiles/13200132077/count").await.status(), 200);
    let (id, answer) = app.captcha().await;
    let forged = "register\",\"forged_field\":\"yes";
    let form = serde_json::json!({ "mobile": "13200132078", "purpose": forged, "image_code_id": id, "text": answer });
    assert_eq!(app.post_json("/api/v1/sms_codes", &form).await.status(), 400);
    assert_eq!(app.get("/api/v1/image_codes/not-a-uuid-forged_id_marker").await.status(), 400);

    let text = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    assert!(!text.contains("13200132077"), "the full number reached the log");
    assert!(text.contains("/api/v1/mobiles/132****2077/count"), "the masked path is there");
    assert!(!text.contains("forged_field"), "an unparsed purpose reached the log");
    let captcha_lines = text.lines().filter(|l| l.contains("issue_captcha"));
    assert!(
        captcha_lines.clone().all(|l| !l.contains("\"id\":\"not-a-uuid")),
        "{:?}",
        captcha_lines.collect::<Vec<_>>()
    );
}

/// A link's token never reaches the log: not in the path of the API that
/// checks it, nor from the worker that mails it.
#[tokio::test]
async fn link_tokens_never_reach_the_log() {
    let logs = captured();
    let app = spawn_app().await;
    let (id, _browser) = app.signed_in_user("13200132001", "Secretive2").await;
    app.core.db.set_verified_email(id, &app::rules::Email::parse("secretive2@example.com").unwrap()).await.unwrap();
    let (captcha, answer) = app.captcha().await;
    let forgot = serde_json::json!({ "email": "secretive2@example.com", "image_code_id": captcha, "text": answer });
    assert_eq!(app.post_json("/api/v1/password/forgot", &forgot).await.status(), 202);
    let token = app.mailed_token("secretive2@example.com").await;
    assert_eq!(app.get(&format!("/api/v1/password/reset/{token}")).await.status(), 200);
    assert_eq!(app.get(&format!("/api/v1/email/verify/{token}")).await.status(), 422);
    let text = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    assert!(!text.contains(&token), "a link's token reached the log");
    assert!(text.contains("/api/v1/password/reset/<token>"), "the request is logged, its token replaced");
}
