//! Helpers for tests (the core's own and the server's): the services the
//! test command started. Panicking is how a test fails, so it is allowed here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

/// The Redis the test command started, if any. When the test command asks for
/// every service (`REQUIRE_SERVICES=1`), a missing one fails the test instead
/// of skipping it.
pub fn redis_url() -> Option<String> {
    service_url("TEST_REDIS_URL")
}

/// A PostgreSQL server URL (without a database name) the test command started.
pub fn postgres_url() -> Option<String> {
    service_url("TEST_POSTGRES_URL")
}

pub fn service_url(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("REQUIRE_SERVICES").is_ok_and(|v| v == "1") => {
            panic!("{var} is not set; run the tests through scripts/test.sh")
        }
        _ => {
            eprintln!("skipped: {var} is not set (scripts/test.sh sets it)");
            None
        }
    }
}

/// Creates a new, empty database on the PostgreSQL server at `server_url`
/// (e.g. `postgres://postgres@127.0.0.1:5433`) and returns its URL.
pub async fn fresh_postgres_database(server_url: &str) -> String {
    use sqlx::Connection;
    let name = format!("test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&format!("{server_url}/postgres")).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await.unwrap();
    format!("{server_url}/{name}")
}

/// Whether a command-line tool the tests use (e.g. `tesseract`) is installed;
/// under `REQUIRE_SERVICES=1` a missing one fails the test.
pub fn tool(name: &str) -> bool {
    let found = std::process::Command::new(name).arg("--version").output().is_ok();
    if !found {
        if std::env::var("REQUIRE_SERVICES").is_ok_and(|v| v == "1") {
            panic!("{name} is not installed; run the tests through scripts/test.sh");
        }
        eprintln!("skipped: {name} is not installed (scripts/setup.sh installs it)");
    }
    found
}

/// A person signed in (session `s1`, by SMS, never expiring) and a client
/// registered, in `db` (migrated here): what the OpenID Connect tables hang
/// on. Returns the user's id and the client's id.
pub async fn oidc_person(db: &crate::core::db::Database, now_ms: i64) -> (i64, String) {
    use crate::core::{
        db::{NewSession, NewUser},
        oidc::clients::NewClient,
        password_hashing::PasswordHash,
    };
    use crate::rules::{Mobile, Username};
    db.migrate().await.unwrap();
    let (username, mobile) = (Username::parse("Grantee1").unwrap(), Mobile::parse("13900139000").unwrap());
    let hash = PasswordHash::from_stored("$argon2id$x".into());
    let new_user = NewUser {
        username: &username,
        mobile: &mobile,
        nickname: None,
        password_hash: &hash,
        now_ms,
        locale: crate::i18n::Locale::REFERENCE,
    };
    let user = db.insert_user(&new_user).await.unwrap();
    let session = NewSession {
        id: "s1",
        user_id: user.id,
        password_version: user.password_version,
        now_ms,
        expires_at: i64::MAX,
        client_ip: "127.0.0.1",
        user_agent: "test",
        remember: false,
        method: "sms",
    };
    assert!(db.create_session(&session).await.unwrap());
    let client = NewClient::parse("Demo 商城", &["https://rp.example/cb".into()], &[], false, true).unwrap();
    let (client, _) = db.insert_client(&client).await.unwrap();
    (user.id, client.client_id)
}

/// A migrated SQLite database in a folder of its own (remove it after).
pub async fn sqlite_database() -> (crate::core::db::Database, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("db-{}", uuid::Uuid::new_v4().simple()));
    let db = crate::core::db::Database::connect(&format!("sqlite://{}/app.db", dir.display())).await.unwrap();
    db.migrate().await.unwrap();
    (db, dir)
}

/// A migrated database on the PostgreSQL server the test command started.
pub async fn postgres_database() -> Option<crate::core::db::Database> {
    let url = fresh_postgres_database(&postgres_url()?).await;
    let db = crate::core::db::Database::connect(&url).await.unwrap();
    db.migrate().await.unwrap();
    Some(db)
}
