//! `spawn_app` and one helper per endpoint.

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use server::{config::Config, startup::Application};
use std::collections::HashMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreKind {
    Memory,
    Redis,
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub core: app::core::Core,
    /// The settings it runs on (a second instance can share its database).
    pub env: HashMap<String, String>,
    /// `/metrics`' own listener, with `METRICS_ADDR`.
    pub metrics_address: Option<String>,
    _data_dir: Option<TempDir>,
}

/// Asks `probe` every 100 ms until `done` holds of its answer or `secs`
/// pass, and returns the last answer: for what the server finishes a moment
/// after it answered (the worker's records, counters, the cooldown it gives
/// back), so that the caller's assertion says what was seen.
pub async fn poll<T, F: Future<Output = T>>(secs: u64, mut probe: impl FnMut() -> F, done: impl Fn(&T) -> bool) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let seen = probe().await;
        if done(&seen) || std::time::Instant::now() >= deadline {
            return seen;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Removes the test's data folder when the test ends.
pub struct TempDir(pub std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub use app::core::test_support::{fresh_postgres_database, service_url as service};

pub struct Spawn {
    pub db: Db,
    pub store: StoreKind,
    /// Extra environment, e.g. `("SMS_DAILY_CAP", "2")`.
    pub env: Vec<(&'static str, String)>,
    /// Share this database URL / store prefix (several instances as one).
    pub database_url: Option<String>,
    pub store_prefix: Option<String>,
}

impl Default for Spawn {
    fn default() -> Self {
        Spawn { db: Db::Sqlite, store: StoreKind::Memory, env: vec![], database_url: None, store_prefix: None }
    }
}

/// A server on the default setup: SQLite and the in-process store.
pub async fn spawn_app() -> TestApp {
    spawn(Spawn::default()).await.expect("the default setup needs no services")
}

/// A server as production runs it (`APP_ENV=production`: no development
/// outbox or tools), on the default setup and the settings production needs.
pub async fn spawn_production() -> TestApp {
    let env = vec![
        ("APP_ENV", "production".to_string()),
        ("SMS_PROVIDER", "log".to_string()),
        ("PUBLIC_URL", "https://auth.example.com".to_string()),
    ];
    spawn(Spawn { env, ..Spawn::default() }).await.expect("the default setup needs no services")
}

/// `None` when a service this setup needs was not started (run by hand).
pub async fn spawn(options: Spawn) -> Option<TestApp> {
    let (env, dir) = setup(options).await?;
    let config = Config::from_lookup(|k| env.get(k).cloned()).expect("test configuration");
    let application = Application::build(config).await.expect("the app builds");
    let address = format!("http://{}", application.address());
    let metrics_address = application.metrics_address().map(|a| format!("http://{a}"));
    let core = application.core();
    tokio::spawn(application.run_until_stopped());
    let client = browser_client(&address);
    Some(TestApp { address, client, core, env, metrics_address, _data_dir: Some(dir) })
}

/// The settings (and a data folder) for a server on `options`.
pub async fn setup(options: Spawn) -> Option<(HashMap<String, String>, TempDir)> {
    let dir = std::env::temp_dir().join(format!("mobile-auth-test-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let database_url = match (options.database_url, options.db) {
        (Some(url), _) => url,
        (None, Db::Sqlite) => format!("sqlite://{}/app.db", dir.display()),
        (None, Db::Postgres) => fresh_postgres_database(&service("TEST_POSTGRES_URL")?).await,
    };
    let mut env: HashMap<String, String> = [
        ("APP_ENV", "development".to_string()),
        ("LEPTOS_SITE_ADDR", "127.0.0.1:0".into()),
        ("DATABASE_URL", database_url),
        ("DATA_DIR", dir.display().to_string()),
        ("JWT_SECRET", "test-secret-test-secret-test-secret".into()),
        // Cheap hashes keep the suite fast; the cost is tested in the core.
        ("ARGON2_MEMORY_KIB", "1024".into()),
        ("ARGON2_ITERATIONS", "1".into()),
        // Sends carry no proof of work, except in pow.rs, which tests it.
        ("POW_BITS", "0".into()),
        ("STORE_PREFIX", options.store_prefix.unwrap_or_else(|| format!("t{}:", uuid::Uuid::new_v4().simple()))),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    if options.store == StoreKind::Redis {
        env.insert("REDIS_URL".into(), service("TEST_REDIS_URL")?);
    }
    for (k, v) in options.env {
        env.insert(k.to_string(), v);
    }
    Some((env, TempDir(dir)))
}

/// A client that behaves like a browser on the site: it keeps cookies, does
/// not follow redirects (tests look at them), and sends its Origin.
pub fn browser_client(address: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("origin", reqwest::header::HeaderValue::from_str(address).unwrap());
    reqwest::Client::builder()
        // A server that never answers fails the test by name, not by hanging.
        .timeout(std::time::Duration::from_secs(30))
        .default_headers(headers)
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub async fn body(response: Response) -> Value {
    response.json().await.expect("a JSON body")
}

/// The error a server function answered, decoded as the pages decode it
/// (`app::wire::Encoding`), after checking its status.
pub async fn server_fn_error(response: Response, status: u16) -> app::error::AppError {
    use leptos::server_fn::Decodes;
    assert_eq!(response.status().as_u16(), status);
    assert!(response.headers().contains_key("serverfnerror"), "a server function's error");
    let bytes = response.bytes().await.unwrap();
    <app::wire::Encoding as Decodes<app::error::AppError>>::decode(bytes).expect("an encoded AppError")
}

impl TestApp {
    /// A server someone else runs (a child process) at `address`; `core` is
    /// ours, on the same database, to look at what it did.
    pub fn elsewhere(address: String, core: app::core::Core, env: HashMap<String, String>) -> TestApp {
        let client = browser_client(&address);
        TestApp { address, client, core, env, metrics_address: None, _data_dir: None }
    }

    /// Runs `server ARGS` (the built binary) on this server's settings, from
    /// an empty folder (no developer's `.env`): what an operator runs.
    /// Returns whether it succeeded, and stdout. Waits off the runtime: the
    /// server in this process must go on meanwhile (a test's runtime has one
    /// thread, and a worker stopped mid-transaction holds SQLite's lock).
    pub async fn cli(&self, args: &[&str]) -> (bool, String) {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_server"));
        command.args(args).envs(&self.env).env("RUST_LOG", "warn").current_dir(std::env::temp_dir());
        let out = tokio::task::spawn_blocking(move || command.output()).await.unwrap().expect("the server binary runs");
        if !out.status.success() {
            eprintln!("server {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        }
        (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned())
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.client.post(self.url(path)).json(body).send().await.unwrap()
    }

    /// Fetches a captcha image and reads its answer from the dev outbox.
    pub async fn captcha(&self) -> (String, String) {
        let id = uuid::Uuid::new_v4().to_string();
        let response = self.get(&format!("/api/v1/image_codes/{id}")).await;
        assert_eq!(response.status(), StatusCode::OK);
        let answer = self.outbox_code("captcha", &id).await.expect("the captcha answer is in the outbox");
        (id, answer)
    }

    /// The newest code of `kind` sent to `to`, from `GET /api/v1/dev/outbox`.
    /// SMS arrive through the delivery worker: wait for one (a few seconds).
    pub async fn outbox_code(&self, kind: &str, to: &str) -> Option<String> {
        for _ in 0..100 {
            let entries = body(self.get("/api/v1/dev/outbox").await).await;
            let found = entries
                .as_array()?
                .iter()
                .find(|e| e["kind"] == kind && e["to"] == to)
                .map(|e| e["code"].as_str().unwrap().to_owned());
            if found.is_some() {
                return found;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        None
    }

    /// How many messages of `kind` reached `to`, once the worker has had the
    /// time to deliver whatever was queued.
    /// How many messages of `kind` reached `to`, once there are `expected`
    /// of them (or after 10 s, whatever the count): the worker delivers
    /// after the request that queued a message has returned.
    pub async fn outbox_count_reaching(&self, kind: &str, to: &str, expected: usize) -> usize {
        let mut count = 0;
        for _ in 0..100 {
            let entries = body(self.get("/api/v1/dev/outbox").await).await;
            count = entries.as_array().unwrap().iter().filter(|e| e["kind"] == kind && e["to"] == to).count();
            if count >= expected {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        count
    }

    pub async fn outbox_count(&self, kind: &str, to: &str) -> usize {
        let _ = self.outbox_code(kind, to).await;
        tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
        let entries = body(self.get("/api/v1/dev/outbox").await).await;
        entries.as_array().unwrap().iter().filter(|e| e["kind"] == kind && e["to"] == to).count()
    }

    /// `GET /api/v1/image_codes/{id}/pow?purpose=...`, as JSON.
    pub async fn pow_challenge(&self, id: &str, purpose: &str) -> Value {
        body(self.get(&format!("/api/v1/image_codes/{id}/pow?purpose={purpose}")).await).await
    }

    /// The proof-of-work challenge for captcha `id` and `purpose`, solved:
    /// the form's `pow_challenge` and `pow_nonce`.
    pub async fn solve_pow(&self, id: &str, purpose: &str) -> (String, String) {
        let pow = self.pow_challenge(id, purpose).await;
        let challenge = pow["challenge"].as_str().expect("a challenge").to_owned();
        let bits = pow["bits"].as_u64().unwrap() as u32;
        let nonce = app::rules::search_proof(&challenge, bits, 0, u64::MAX).unwrap();
        (challenge, nonce.to_string())
    }

    /// `POST /api/v1/sms_codes` after solving a fresh captcha.
    pub async fn send_sms(&self, mobile: &str, purpose: &str) -> Response {
        self.send_sms_from(&self.client, mobile, purpose).await
    }

    /// `send_sms` from `browser` (with its cookies: a `bind_email` code goes
    /// to its signed-in account's own number).
    pub async fn send_sms_from(&self, browser: &reqwest::Client, mobile: &str, purpose: &str) -> Response {
        let (id, answer) = self.captcha().await;
        let form = json!({ "mobile": mobile, "purpose": purpose, "image_code_id": id, "text": answer });
        browser.post(self.url("/api/v1/sms_codes")).json(&form).send().await.unwrap()
    }

    /// Sends a register code and returns it.
    pub async fn register_code(&self, mobile: &str) -> String {
        self.sms_code(mobile, "register").await
    }

    /// Sends a code for `purpose` and returns it, once the worker has
    /// delivered it (an older code to the same number is not it).
    pub async fn sms_code(&self, mobile: &str, purpose: &str) -> String {
        self.sms_code_from(&self.client, mobile, purpose).await
    }

    /// `sms_code`, asked for from `browser`.
    pub async fn sms_code_from(&self, browser: &reqwest::Client, mobile: &str, purpose: &str) -> String {
        let sms_to = |entries: &Value| {
            let list = entries.as_array().unwrap().iter().filter(|e| e["kind"] == "sms" && e["to"] == mobile);
            list.map(|e| e["code"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
        };
        let before = sms_to(&body(self.get("/api/v1/dev/outbox").await).await).len();
        let response = self.send_sms_from(browser, mobile, purpose).await;
        assert_eq!(response.status(), StatusCode::OK, "{:?}", response.text().await);
        for _ in 0..100 {
            let codes = sms_to(&body(self.get("/api/v1/dev/outbox").await).await);
            if codes.len() > before {
                return codes[0].clone();
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("the {purpose} code for {mobile} never reached the outbox");
    }

    pub async fn register(&self, form: &Value) -> Response {
        self.post_json("/api/v1/users", form).await
    }

    /// A full registration; returns the 201 body.
    pub async fn register_user(&self, mobile: &str, username: Option<&str>) -> Value {
        let code = self.register_code(mobile).await;
        let response = self.register(&registration(mobile, &code, username)).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        body(response).await
    }
}

impl TestApp {
    /// A code for `bind_email`, sent to the mobile of the account signed in
    /// in `browser`: binding an e-mail asks for it.
    pub async fn bind_email_code(&self, browser: &reqwest::Client) -> String {
        let me = body(browser.get(self.url("/api/v1/me")).send().await.unwrap()).await;
        let user = self.core.db.find_user(me["id"].as_i64().expect("signed in")).await.unwrap().unwrap();
        self.sms_code_from(browser, &user.mobile, "bind_email").await
    }

    /// `PUT /api/v1/me/email` in `browser`, with a fresh `bind_email` code.
    pub async fn bind_email(&self, browser: &reqwest::Client, email: &str) -> Response {
        let code = self.bind_email_code(browser).await;
        let form = json!({ "email": email, "password": PASSWORD, "sms_code": code });
        browser.put(self.url("/api/v1/me/email")).json(&form).send().await.unwrap()
    }

    /// Another browser on the same site (its own cookies).
    pub fn new_browser(&self) -> reqwest::Client {
        browser_client(&self.address)
    }

    /// Registers a user (through the API, in a browser of its own) with the
    /// password `tangerine-Kite-42`; returns its id.
    pub async fn user(&self, mobile: &str, username: &str) -> i64 {
        let code = self.register_code(mobile).await;
        let response = self
            .new_browser()
            .post(self.url("/api/v1/users"))
            .json(&registration(mobile, &code, Some(username)))
            .send();
        let response = response.await.unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        body(response).await["id"].as_i64().unwrap()
    }

    /// Registers a user as `user` does and signs them in, in a browser of
    /// their own: returns the id and that browser.
    pub async fn signed_in_user(&self, mobile: &str, username: &str) -> (i64, reqwest::Client) {
        let id = self.user(mobile, username).await;
        let browser = self.new_browser();
        assert_eq!(self.login_with(&browser, &login_form(username, PASSWORD)).await.status(), 200);
        (id, browser)
    }

    /// The token of the newest link mailed to `to` (through the dev outbox).
    pub async fn mailed_token(&self, to: &str) -> String {
        let link = self.outbox_code("email", to).await.expect("a link in the outbox");
        link.rsplit_once("token=").expect("a token in the link").1.to_owned()
    }

    /// The token of a link mailed to `to` after the one holding `previous`.
    pub async fn next_mailed_token(&self, to: &str, previous: &str) -> String {
        for _ in 0..100 {
            let token = self.mailed_token(to).await;
            if token != previous {
                return token;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("no new link reached {to}");
    }

    /// Whether a message to `to` whose text holds `needle` reaches the dev
    /// outbox within a few seconds (the worker delivers it).
    pub async fn outbox_has(&self, to: &str, needle: &str) -> bool {
        for _ in 0..50 {
            let entries = body(self.get("/api/v1/dev/outbox").await).await;
            if entries.as_array().unwrap().iter().any(|e| e["to"] == to && e["text"].as_str().unwrap().contains(needle))
            {
                return true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        false
    }

    /// The newest SMS code sent to `mobile` other than `previous`.
    pub async fn next_sms_code(&self, mobile: &str, previous: &str) -> String {
        for _ in 0..100 {
            if let Some(code) = self.outbox_code("sms", mobile).await.filter(|c| c != previous) {
                return code;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("no new code reached {mobile}");
    }

    /// Runs one SQL statement on the app's database (to age a link...).
    pub async fn sql(&self, statement: &str) {
        use app::core::db::Database;
        let statement = sqlx::AssertSqlSafe(statement.to_owned());
        match &self.core.db {
            Database::Sqlite(pool, _) => sqlx::query(statement).execute(pool).await.map(|_| ()),
            Database::Postgres(pool) => sqlx::query(statement).execute(pool).await.map(|_| ()),
        }
        .unwrap();
    }

    /// `POST /api/v1/login` from `browser`.
    pub async fn login_with(&self, browser: &reqwest::Client, form: &Value) -> Response {
        browser.post(self.url("/api/v1/login")).json(form).send().await.unwrap()
    }
}

pub fn login_form(account: &str, password: &str) -> Value {
    json!({ "account": account, "password": password })
}

pub const PASSWORD: &str = "tangerine-Kite-42";

/// A valid registration form.
pub fn registration(mobile: &str, code: &str, username: Option<&str>) -> Value {
    json!({
        "mobile": mobile,
        "password": "tangerine-Kite-42",
        "password2": "tangerine-Kite-42",
        "sms_code": code,
        "username": username,
        "allow": true,
    })
}

/// Asserts the error JSON: status, code and field.
pub async fn assert_error(response: Response, status: u16, code: &str, field: Option<&str>) -> Value {
    assert_eq!(response.status().as_u16(), status, "status for {code}");
    let body = body(response).await;
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["field"].as_str(), field, "{body}");
    // As documented: a key only when it applies.
    assert_eq!(body.get("field").is_some(), field.is_some(), "{body}");
    assert_eq!(body.get("retry_after").is_some(), status == 429, "{body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    body
}

/// Runs the test `$name(store)` on each short-lived store: as
/// `$name::in_process` and `$name::with_redis` (which passes, doing
/// nothing, when no Redis was started; `REQUIRE_SERVICES=1` makes it fail).
macro_rules! on_each_store {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use crate::helpers::StoreKind;
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn in_process() {
                super::$name(StoreKind::Memory).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn with_redis() {
                super::$name(StoreKind::Redis).await
            }
        }
    )*};
}
pub(crate) use on_each_store;

/// What a page shows: its body. (Its head carries the page's texts to the
/// browser, so a text found in the whole page may be shown nowhere.)
pub fn shown(html: &str) -> &str {
    html.find("<body").map_or(html, |at| &html[at..])
}
