//! 注销 (issue 19): a person deletes their own account with the password
//! or an SMS code; every session ends; signing in during the cooling-off
//! period shows the date and cancels; at the date the worker erases the
//! account (rows, not a flag) and the number registers again. On SQLite the
//! file and its WAL, read as bytes, hold neither the number nor the address.

use crate::helpers::*;
use serde_json::{Value, json};
use std::time::Duration;

const WEEK_MS: i64 = 7 * 86_400_000;

async fn me(app: &TestApp, browser: &reqwest::Client) -> reqwest::Response {
    browser.get(app.url("/api/v1/me")).send().await.unwrap()
}

async fn ask_deletion(app: &TestApp, browser: &reqwest::Client, form: Value) -> reqwest::Response {
    browser.post(app.url("/api/v1/me/deletion")).json(&form).send().await.unwrap()
}

async fn deletion_waits_for_its_date_and_a_sign_in_cancels_it(db: Db) {
    let Some(app) = spawn(Spawn { db, ..Spawn::default() }).await else { return };
    let (id, browser) = app.signed_in_user("13700137001", "Heron001").await;
    let other_device = app.new_browser();
    assert_eq!(app.login_with(&other_device, &login_form("Heron001", PASSWORD)).await.status(), 200);

    // A wrong password, or no proof at all: refused, and nothing changes.
    assert_error(
        ask_deletion(&app, &browser, json!({ "password": "wrong-Password-1" })).await,
        422,
        "password_wrong",
        Some("password"),
    )
    .await;
    assert_error(ask_deletion(&app, &browser, json!({})).await, 422, "proof_required", Some("password")).await;
    let unchanged = body(me(&app, &browser).await).await;
    assert_eq!(unchanged["delete_after"], Value::Null);
    assert_eq!(me(&app, &other_device).await.status(), 200);

    let before = app.core.store.now_ms();
    let asked = ask_deletion(&app, &browser, json!({ "password": PASSWORD })).await;
    assert_eq!(asked.status(), 202);
    let asked = body(asked).await;
    let delete_after = asked["delete_after"].as_i64().expect("the date");
    assert!((before + WEEK_MS..before + WEEK_MS + 60_000).contains(&delete_after), "{asked}");
    assert_eq!(asked["erased"], false);
    // Every session ended at once, on every device.
    assert_eq!(me(&app, &browser).await.status(), 401);
    assert_eq!(me(&app, &other_device).await.status(), 401);
    // The owner is told (no verified e-mail: by SMS), with the date.
    assert!(app.outbox_has("13700137001", "申请注销").await, "the request's notice");

    // Signing in during the cooling-off period says when, and may cancel.
    let back = app.new_browser();
    let signed_in = app.login_with(&back, &login_form("Heron001", PASSWORD)).await;
    assert_eq!(body(signed_in).await["delete_after"].as_i64(), Some(delete_after));
    assert_eq!(body(me(&app, &back).await).await["delete_after"].as_i64(), Some(delete_after));
    assert_error(ask_deletion(&app, &back, json!({ "password": PASSWORD })).await, 409, "deletion_pending", None).await;
    let cancelled = back.delete(app.url("/api/v1/me/deletion")).send().await.unwrap();
    assert_eq!(cancelled.status(), 200);
    assert_eq!(body(me(&app, &back).await).await["delete_after"], Value::Null);
    let again = back.delete(app.url("/api/v1/me/deletion")).send().await.unwrap();
    assert_error(again, 409, "no_deletion_pending", None).await;

    // Cancelled: the date passes and the account stays.
    app.core.store.advance_clock(Duration::from_millis(WEEK_MS as u64 + 60_000));
    if app.core.store.now_ms() > delete_after {
        assert_eq!(app::core::use_cases::erase_due_accounts(&app.core).await.unwrap(), 0);
    }
    assert!(app.core.db.find_user(id).await.unwrap().is_some());
    assert_eq!(me(&app, &back).await.status(), 200);
}

#[tokio::test]
async fn deletion_waits_for_its_date_and_a_sign_in_cancels_it_on_sqlite() {
    deletion_waits_for_its_date_and_a_sign_in_cancels_it(Db::Sqlite).await;
}

#[tokio::test]
async fn deletion_waits_for_its_date_and_a_sign_in_cancels_it_on_postgres() {
    deletion_waits_for_its_date_and_a_sign_in_cancels_it(Db::Postgres).await;
}

/// The worker erases at the date by the store's clock (no sleeping for a
/// week): the account is gone, its sessions with it, a notice goes out,
/// and the number registers again as a new account.
async fn the_worker_erases_the_account_when_its_date_comes(db: Db) {
    let Some(app) = spawn(Spawn { db, ..Spawn::default() }).await else { return };
    let (id, browser) = app.signed_in_user("13700137002", "Heron002").await;
    let token = body(app.login_with(&app.new_browser(), &login_form("Heron002", PASSWORD)).await).await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(ask_deletion(&app, &browser, json!({ "password": PASSWORD })).await.status(), 202);
    // Signed in again while it waits: that session too dies with the account.
    let during = app.new_browser();
    assert_eq!(app.login_with(&during, &login_form("Heron002", PASSWORD)).await.status(), 200);

    assert!(app.core.store.advance_clock(Duration::from_millis(WEEK_MS as u64 + 1_000)));
    let mut gone = false;
    for _ in 0..150 {
        if app.core.db.find_user(id).await.unwrap().is_none() {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(gone, "the worker erased the account once its date came");
    assert!(app.outbox_has("13700137002", "已于").await, "the owner hears that it is gone");
    assert_eq!(me(&app, &during).await.status(), 401);
    let bearer = app.client.get(app.url("/api/v1/me")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(bearer.status(), 401);
    assert_eq!(app.login_with(&app.new_browser(), &login_form("Heron002", PASSWORD)).await.status(), 401);
    // Nothing of it is left in the tables that name an account.
    for table in ["sessions", "login_attempts", "legal_acceptances", "deliveries"] {
        let q = format!("SELECT COUNT(*) FROM {table} WHERE user_id = $1");
        let left: i64 = match &app.core.db {
            app::core::db::Database::Sqlite(pool, _) => {
                sqlx::query_scalar(sqlx::AssertSqlSafe(q)).bind(id).fetch_one(pool).await.unwrap()
            }
            app::core::db::Database::Postgres(pool) => {
                sqlx::query_scalar(sqlx::AssertSqlSafe(q)).bind(id).fetch_one(pool).await.unwrap()
            }
        };
        assert_eq!(left, 0, "{table}");
    }

    // The number and the username are free: a new account, a new id.
    let again = app.register_user("13700137002", Some("Heron002")).await;
    assert_ne!(again["id"].as_i64(), Some(id));
}

#[tokio::test]
async fn the_worker_erases_the_account_when_its_date_comes_on_sqlite() {
    the_worker_erases_the_account_when_its_date_comes(Db::Sqlite).await;
}

#[tokio::test]
async fn the_worker_erases_the_account_when_its_date_comes_on_postgres() {
    the_worker_erases_the_account_when_its_date_comes(Db::Postgres).await;
}

/// An account that never typed a password confirms with a code sent to its
/// own mobile; a wrong code changes nothing, and one code works once even
/// when two requests carry it at the same instant.
async fn an_sms_code_confirms_a_deletion_once(db: Db, store: StoreKind) {
    let Some(app) = spawn(Spawn { db, store, ..Spawn::default() }).await else { return };
    let (_, browser) = app.signed_in_user("13700137003", "Heron003").await;
    // The code goes to the account's own number, whatever the form names.
    let code = app.sms_code_from(&browser, "13700137003", "delete_account").await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    assert_error(
        ask_deletion(&app, &browser, json!({ "sms_code": wrong })).await,
        422,
        "sms_code_wrong",
        Some("sms_code"),
    )
    .await;
    assert_error(
        ask_deletion(&app, &browser, json!({ "sms_code": "12ab" })).await,
        422,
        "sms_code_invalid",
        Some("sms_code"),
    )
    .await;
    assert_eq!(body(me(&app, &browser).await).await["delete_after"], Value::Null);

    // Two devices, one code, the same instant: one request is recorded.
    let second = app.new_browser();
    assert_eq!(app.login_with(&second, &login_form("Heron003", PASSWORD)).await.status(), 200);
    let form = json!({ "sms_code": code });
    let (a, b) = tokio::join!(ask_deletion(&app, &browser, form.clone()), ask_deletion(&app, &second, form));
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses[0], 202, "{statuses:?}");
    assert_ne!(statuses[1], 202, "{statuses:?}");
    // The registration's code, the deletion's, and one notice; a moment
    // more, so that a second notice would be seen too. (This counted to 2
    // before: it passed while the notice was still on its way, and failed
    // once in CI when the worker was quicker than the test.)
    let _ = app.outbox_count_reaching("sms", "13700137003", 3).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let entries = body(app.get("/api/v1/dev/outbox").await).await;
    let sent: Vec<&Value> = entries.as_array().unwrap().iter().filter(|e| e["to"] == "13700137003").collect();
    assert_eq!(sent.len(), 3, "a code to register, a code to delete, one notice: {sent:#?}; answers {statuses:?}");

    // Signed out, no code for delete_account is sent to anyone.
    let stranger = app.new_browser();
    let refused = app.send_sms_from(&stranger, "13700137003", "delete_account").await;
    assert_error(refused, 401, "signed_out", None).await;
}

#[tokio::test]
async fn an_sms_code_confirms_a_deletion_once_on_sqlite() {
    an_sms_code_confirms_a_deletion_once(Db::Sqlite, StoreKind::Memory).await;
}

#[tokio::test]
async fn an_sms_code_confirms_a_deletion_once_on_postgres_and_redis() {
    an_sms_code_confirms_a_deletion_once(Db::Postgres, StoreKind::Redis).await;
}

/// Every occurrence of `needle` in `haystack`.
fn holds(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// With no cooling-off the account goes at once. Afterwards the SQLite file
/// and its WAL, read as bytes, hold neither the number nor the address:
/// not in a row, not in an index, not in a free page, not in the queue.
#[tokio::test]
async fn after_erasure_the_database_file_holds_neither_the_number_nor_the_address() {
    let env = vec![
        ("ACCOUNT_DELETION_DAYS", "0".to_owned()),
        // Senders that keep nothing in the database (the outbox would).
        ("SMS_PROVIDER", "log".to_owned()),
        ("EMAIL_TRANSPORT", "log".to_owned()),
    ];
    let app = spawn(Spawn { env, ..Spawn::default() }).await.expect("SQLite needs no service");
    let (mobile, email) = ("13700137004", "erase.me.please@example.com");
    let args = ["user", "create", "--mobile", mobile, "--password", PASSWORD, "--username", "Heron004"];
    let (ok, _) = app.cli(&[&args[..], &["--email", email, "--accepted"]].concat()).await;
    assert!(ok);
    let browser = app.new_browser();
    assert_eq!(app.login_with(&browser, &login_form(email, PASSWORD)).await.status(), 200);
    assert_eq!(app.login_with(&app.new_browser(), &login_form(mobile, "wrong-Password-9")).await.status(), 401);
    // Messages that name the number and the address go through the queue.
    assert_eq!(app.send_sms(mobile, "login").await.status(), 200);
    let (captcha, answer) = app.captcha().await;
    let form = json!({ "email": email, "image_code_id": captcha, "text": answer });
    let forgot = app.post_json("/api/v1/password/forgot", &form).await;
    assert_eq!(forgot.status(), 202, "{:?}", forgot.text().await);
    let data_file = app.env["DATABASE_URL"].trim_start_matches("sqlite://").to_owned();
    let read_all = || {
        let mut bytes = std::fs::read(&data_file).unwrap();
        bytes.extend(std::fs::read(format!("{data_file}-wal")).unwrap_or_default());
        bytes
    };
    let delivered = |app: &TestApp| {
        let db = app.core.db.clone();
        async move {
            for _ in 0..100 {
                let records = db.list_deliveries(None, 50).await.unwrap();
                if records.iter().all(|r| !["queued", "sending", "retrying"].contains(&r.state.as_str())) {
                    return records.len();
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            panic!("deliveries still under way");
        }
    };
    assert!(delivered(&app).await >= 2);
    assert!(holds(&read_all(), mobile) && holds(&read_all(), email), "the test reads what it means to");

    let erased = ask_deletion(&app, &browser, json!({ "password": PASSWORD })).await;
    assert_eq!(erased.status(), 200);
    assert_eq!(body(erased).await, json!({ "delete_after": null, "erased": true }));
    // At once, the number: its finished tasks went with the account (the
    // janitor would keep them for a code's life).
    assert!(!holds(&read_all(), mobile), "the number outlived the erasure in the database file or its WAL");
    // The notice that it is gone goes to the address, then its task goes
    // too (the janitor's pass, here at once rather than after a code's life).
    // (apalis marks a task done just after its record says sent: asked
    // again until it has.)
    delivered(&app).await;
    let mut bytes = read_all();
    for _ in 0..50 {
        app.core.queue.forget_finished(&app.core.db, Duration::ZERO).await.unwrap();
        bytes = read_all();
        if !holds(&bytes, email) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!holds(&bytes, mobile), "the number is still in the database file or its WAL");
    if let Some(at) = bytes.windows(email.len()).position(|w| w == email.as_bytes()) {
        let from = at.saturating_sub(300);
        eprintln!(
            "DEBUG at {at} of {}: {:?}",
            bytes.len(),
            String::from_utf8_lossy(&bytes[from..(at + 100).min(bytes.len())])
        );
    }
    assert!(!holds(&bytes, email), "the address is still in the database file or its WAL");

    // What stays is an id, and the number registers again.
    assert_eq!(app.login_with(&app.new_browser(), &login_form(mobile, PASSWORD)).await.status(), 401);
    let (ok, _) = app.cli(&args).await;
    assert!(ok, "the number and the username are free again");
}

/// An operator's `server user delete`: with the cooling-off period, or at
/// once with `--now`; one JSON line each.
#[tokio::test]
async fn an_operator_deletes_an_account_from_the_command_line() {
    let app = spawn_app().await;
    let (id, browser) = app.signed_in_user("13700137005", "Heron005").await;
    let (ok, out) = app.cli(&["user", "delete", "Heron005"]).await;
    assert!(ok, "{out}");
    let printed: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(printed["id"].as_i64(), Some(id));
    assert!(printed["delete_after"].as_i64().is_some() && printed["erased"] == false, "{printed}");
    assert_eq!(me(&app, &browser).await.status(), 401, "its sessions ended");
    let (ok, out) = app.cli(&["user", "delete", "13700137005", "--now"]).await;
    assert!(ok, "{out}");
    let printed: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!((printed["id"].as_i64(), &printed["erased"]), (Some(id), &json!(true)));
    assert!(app.core.db.find_user(id).await.unwrap().is_none());
    let (ok, _) = app.cli(&["user", "delete", "13700137005", "--now"]).await;
    assert!(!ok, "nothing left to delete");
}
