//! The proof of work sent with a captcha to send a code: issued only for a
//! live captcha; refused when missing, forged, moved to another captcha or
//! purpose, expired or used again (also at the same instant); harder for a
//! busy address; and a flood of proofs leaves the store to people.

use crate::helpers::{PASSWORD, Spawn, StoreKind, TestApp, assert_error, body, on_each_store, registration, spawn};
use serde_json::{Value, json};

async fn app_with(store: StoreKind, env: &[(&'static str, &str)]) -> Option<TestApp> {
    let env = env.iter().map(|(k, v)| (*k, v.to_string())).collect();
    spawn(Spawn { store, env, ..Spawn::default() }).await
}

fn form(mobile: &str, purpose: &str, id: &str, answer: &str, pow: &(String, String)) -> Value {
    json!({ "mobile": mobile, "purpose": purpose, "image_code_id": id, "text": answer,
            "pow_challenge": pow.0, "pow_nonce": pow.1 })
}

async fn send(app: &TestApp, form: &Value) -> (u16, Value) {
    let response = app.post_json("/api/v1/sms_codes", form).await;
    (response.status().as_u16(), body(response).await)
}

#[tokio::test]
async fn a_send_without_a_proof_is_refused_and_the_captcha_stays_usable() {
    let app = app_with(StoreKind::Memory, &[("POW_BITS", "8")]).await.unwrap();
    let (id, answer) = app.captcha().await;
    let bare = json!({ "mobile": "13600136000", "purpose": "register", "image_code_id": id, "text": answer });
    let (status, refusal) = send(&app, &bare).await;
    assert_eq!(
        (status, refusal["code"].as_str(), refusal["field"].as_str()),
        (422, Some("pow_required"), Some("text"))
    );
    assert!(refusal["message"].as_str().unwrap().contains("安全验证"), "{refusal}");
    // The refusal came before the captcha was judged: it still works.
    let pow = app.solve_pow(&id, "register").await;
    let (status, sent) = send(&app, &form("13600136000", "register", &id, &answer, &pow)).await;
    assert_eq!(status, 200, "{sent}");
}

#[tokio::test]
async fn a_proof_holds_only_for_its_captcha_its_purpose_and_its_work() {
    let app = app_with(StoreKind::Memory, &[("POW_BITS", "8")]).await.unwrap();
    let (id, answer) = app.captcha().await;
    let (other_id, _) = app.captcha().await;
    let invalid = |reply: (u16, Value)| {
        assert_eq!((reply.0, reply.1["code"].as_str()), (422, Some("pow_invalid")), "{}", reply.1);
    };
    // Another captcha's proof.
    let theirs = app.solve_pow(&other_id, "register").await;
    invalid(send(&app, &form("13600136001", "register", &id, &answer, &theirs)).await);
    // The proof for sign-in codes, for a register code.
    let login = app.solve_pow(&id, "login").await;
    invalid(send(&app, &form("13600136001", "register", &id, &answer, &login)).await);
    // A challenge with fewer bits than issued, its tag kept.
    let (challenge, _) = app.solve_pow(&id, "register").await;
    let easier = challenge.replacen(".register.8.", ".register.1.", 1);
    assert_ne!(easier, challenge);
    let nonce = app::rules::search_proof(&easier, 1, 0, u64::MAX).unwrap().to_string();
    invalid(send(&app, &form("13600136001", "register", &id, &answer, &(easier, nonce))).await);
    // A made-up challenge, and a nonce that is not the work.
    let made_up = format!("1.{}.register.0.9999999999.{}", id.replace('-', ""), "0".repeat(64));
    invalid(send(&app, &form("13600136001", "register", &id, &answer, &(made_up, "0".into()))).await);
    let no_work = (0u64..).find(|n| !app::rules::proves(&challenge, *n, 8)).unwrap().to_string();
    invalid(send(&app, &form("13600136001", "register", &id, &answer, &(challenge.clone(), no_work))).await);
    for garbage in ["-1", "abc", "99999999999999999999999"] {
        invalid(send(&app, &form("13600136001", "register", &id, &answer, &(challenge.clone(), garbage.into()))).await);
    }
    // After all that the captcha is unjudged, and the real proof works.
    let pow = app.solve_pow(&id, "register").await;
    assert_eq!(send(&app, &form("13600136001", "register", &id, &answer, &pow)).await.0, 200);
}

/// The attack: one solved proof sent with ten requests at the same instant,
/// then again with a fresh image under the same captcha id. A proof is bound
/// to its captcha, which works once (one atomic step): it pays for one send,
/// and a new image under the old id is a new captcha that the old proof does
/// not fit.
async fn one_proof_sent_ten_times_at_once_pays_for_one_send(store: StoreKind) {
    let Some(app) = app_with(store, &[("POW_BITS", "8")]).await else { return };
    let (id, answer) = app.captcha().await;
    let pow = app.solve_pow(&id, "register").await;
    let sends = (0..10).map(|i| {
        let request = app.client.post(app.url("/api/v1/sms_codes"));
        let request = request.json(&form(&format!("136001361{i:02}"), "register", &id, &answer, &pow)).send();
        async move {
            let response = request.await.unwrap();
            (response.status().as_u16(), body(response).await["code"].as_str().map(str::to_owned))
        }
    });
    let replies = futures::future::join_all(sends).await;
    assert_eq!(replies.iter().filter(|r| r.0 == 200).count(), 1, "{replies:?}");
    let used = replies.iter().filter(|r| r.1.as_deref() == Some("image_code_expired")).count();
    assert_eq!(used, 9, "{replies:?}");
    // A new image under the same id: the old proof is spent.
    let response = app.get(&format!("/api/v1/image_codes/{id}")).await;
    assert_eq!(response.status(), 200);
    let answer = app.outbox_code("captcha", &id).await.unwrap();
    let (status, refusal) = send(&app, &form("13600136199", "register", &id, &answer, &pow)).await;
    assert_eq!((status, refusal["code"].as_str()), (422, Some("pow_invalid")));
}

on_each_store!(one_proof_sent_ten_times_at_once_pays_for_one_send);

/// A challenge is issued only for a live captcha: not for an id whose image
/// nobody asked for, nor for one already used.
#[tokio::test]
async fn a_challenge_needs_a_live_captcha() {
    let app = app_with(StoreKind::Memory, &[("POW_BITS", "4")]).await.unwrap();
    let response = app.get(&format!("/api/v1/image_codes/{}/pow?purpose=register", uuid::Uuid::new_v4())).await;
    assert_error(response, 422, "image_code_expired", Some("text")).await;
    let (id, answer) = app.captcha().await;
    let pow = app.solve_pow(&id, "register").await;
    assert_eq!(send(&app, &form("13600136150", "register", &id, &answer, &pow)).await.0, 200);
    let response = app.get(&format!("/api/v1/image_codes/{id}/pow?purpose=register")).await;
    assert_error(response, 422, "image_code_expired", Some("text")).await;
}

/// The attack: a flood of sends, each with a valid proof and a wrong answer,
/// each from an address of its own, into a store of 64 keys. Each used
/// proof was a key of its own, kept for minutes and never forgotten: the
/// flood filled the store, and then a person's captcha, sign-in and send all
/// failed (503). Now a proof is bound to its captcha and uses it up: the
/// flood leaves nothing a person needs to be forgotten or refused.
async fn a_flood_of_proofs_with_wrong_answers_leaves_the_store_to_people(store: StoreKind) {
    let env = [("POW_BITS", "2"), ("STORE_MAX_KEYS", "64"), ("TRUSTED_PROXIES", "127.0.0.1")];
    let Some(app) = app_with(store, &env).await else { return };
    for i in 0..200u32 {
        let from = format!("10.9.{}.{}", i / 200, i % 200 + 1);
        let id = uuid::Uuid::new_v4().to_string();
        let image = app.client.get(app.url(&format!("/api/v1/image_codes/{id}"))).header("x-forwarded-for", &from);
        assert_eq!(image.send().await.unwrap().status(), 200);
        let answer = app.outbox_code("captcha", &id).await.unwrap();
        let wrong = if answer == "ACDE" { "ACDF" } else { "ACDE" };
        let pow = app.client.get(app.url(&format!("/api/v1/image_codes/{id}/pow?purpose=register")));
        let pow = body(pow.header("x-forwarded-for", &from).send().await.unwrap()).await;
        let (challenge, bits) = (pow["challenge"].as_str().unwrap(), pow["bits"].as_u64().unwrap() as u32);
        let nonce = app::rules::search_proof(challenge, bits, 0, u64::MAX).unwrap().to_string();
        let flood = form(&format!("136002{i:05}"), "register", &id, wrong, &(challenge.to_owned(), nonce));
        let request = app.client.post(app.url("/api/v1/sms_codes")).header("x-forwarded-for", &from);
        let reply = request.json(&flood).send().await.unwrap();
        assert_eq!(reply.status(), 422, "{}", reply.text().await.unwrap());
    }
    // A person, after the flood: a code with a proof, registration, sign-in.
    let (id, answer) = app.captcha().await;
    let pow = app.solve_pow(&id, "register").await;
    let (status, sent) = send(&app, &form("13600136160", "register", &id, &answer, &pow)).await;
    assert_eq!(status, 200, "{sent}");
    let code = app.outbox_code("sms", "13600136160").await.unwrap();
    let registered = app.register(&registration("13600136160", &code, Some("Starling"))).await;
    assert_eq!(registered.status(), 201, "{:?}", registered.text().await);
    let signed_in = app.login_with(&app.new_browser(), &json!({ "account": "Starling", "password": PASSWORD })).await;
    assert_eq!(signed_in.status(), 200);
}

on_each_store!(a_flood_of_proofs_with_wrong_answers_leaves_the_store_to_people);

#[tokio::test]
async fn a_challenge_expires_with_its_captcha() {
    let app = app_with(StoreKind::Memory, &[("POW_BITS", "4"), ("CAPTCHA_TTL_SECONDS", "1")]).await.unwrap();
    let (id, answer) = app.captcha().await;
    let pow = app.solve_pow(&id, "register").await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let (status, refusal) = send(&app, &form("13600136200", "register", &id, &answer, &pow)).await;
    assert_eq!((status, refusal["code"].as_str()), (422, Some("pow_expired")), "{refusal}");
}

/// The work rises with the codes an address had sent in the hour, never with
/// its refused sends: many people share one address behind a carrier NAT,
/// and one person's junk (wrong captchas, no proof) must not make everyone's
/// page work harder.
#[tokio::test]
async fn the_work_rises_with_an_addresses_sends_never_with_its_junk() {
    let env = [("POW_BITS", "4"), ("TRUSTED_PROXIES", "127.0.0.1"), ("CAPTCHAS_PER_MINUTE", "100")];
    let app = app_with(StoreKind::Memory, &env).await.unwrap();
    // A live captcha from `address`, with its answer and challenge.
    let captcha_from = |address: &'static str| {
        let id = uuid::Uuid::new_v4().to_string();
        let image = app.client.get(app.url(&format!("/api/v1/image_codes/{id}")));
        let pow = app.client.get(app.url(&format!("/api/v1/image_codes/{id}/pow?purpose=register")));
        async move {
            assert_eq!(image.header("x-forwarded-for", address).send().await.unwrap().status(), 200);
            let pow = body(pow.header("x-forwarded-for", address).send().await.unwrap()).await;
            (id, pow["challenge"].as_str().unwrap().to_owned(), pow["bits"].as_u64().unwrap() as u32)
        }
    };
    let send_from = |address: &'static str, form: Value| {
        let request = app.client.post(app.url("/api/v1/sms_codes")).header("x-forwarded-for", address);
        async move { request.json(&form).send().await.unwrap().status().as_u16() }
    };
    let mut seen = vec![];
    for _ in 0..12 {
        let (id, _, bits) = captcha_from("203.0.113.7").await;
        seen.push(bits);
        let junk = json!({ "mobile": "13600136300", "purpose": "register", "image_code_id": id, "text": "ACDE" });
        assert_eq!(send_from("203.0.113.7", junk).await, 422);
    }
    assert!(seen.iter().all(|bits| *bits == 4), "junk raised the work: {seen:?}");
    let mut seen = vec![];
    for i in 0..13 {
        let (id, challenge, bits) = captcha_from("203.0.113.7").await;
        seen.push(bits);
        let answer = app.outbox_code("captcha", &id).await.unwrap();
        let nonce = app::rules::search_proof(&challenge, bits, 0, u64::MAX).unwrap().to_string();
        let form = form(&format!("136001363{i:02}"), "register", &id, &answer, &(challenge, nonce));
        assert_eq!(send_from("203.0.113.7", form).await, 200);
    }
    // One more bit after 4 sends, another after 12: each doubles the work.
    assert_eq!(seen, [4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5, 6], "{seen:?}");
    // Another address pays the base price.
    assert_eq!(captcha_from("198.51.100.9").await.2, 4);
}

#[tokio::test]
async fn pow_bits_zero_turns_the_proof_off() {
    let app = app_with(StoreKind::Memory, &[("POW_BITS", "0")]).await.unwrap();
    let (id, answer) = app.captcha().await;
    assert_eq!(app.pow_challenge(&id, "register").await, json!({ "challenge": null, "bits": 0 }));
    let bare = json!({ "mobile": "13600136400", "purpose": "register", "image_code_id": id, "text": answer });
    assert_eq!(send(&app, &bare).await.0, 200);
}

#[tokio::test]
async fn a_challenge_for_a_bad_id_or_purpose_is_a_clear_400() {
    let app = app_with(StoreKind::Memory, &[("POW_BITS", "8")]).await.unwrap();
    let response = app.get("/api/v1/image_codes/not-a-uuid/pow?purpose=register").await;
    assert_eq!(response.status(), 400);
    let id = uuid::Uuid::new_v4();
    let response = app.get(&format!("/api/v1/image_codes/{id}/pow?purpose=shopping")).await;
    assert_eq!(response.status(), 400);
    assert_eq!(body(response).await["field"], "purpose");
}
