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
