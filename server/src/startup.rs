//! The composition root: builds the `Core` from the configuration, wires the
//! routes (Leptos pages and server functions, `/api/v1`, health) and serves.
//! Tests build the same `Application` on a random port.

use crate::{
    api_v1,
    config::{AppEnv, Config, EmailTransport, SmsProvider},
};
use anyhow::Context;
use app::core::{
    Core, CoreParts,
    cpu::CpuLimiter,
    db::Database,
    delivery::{self, Queue},
    mail::{LogMailSender, MailSender, OutboxMailSender, SmtpSender},
    oidc::keys::SigningKeys,
    outbox::{Outbox, OutboxSender},
    password_hashing::PasswordHasher,
    sms::{self, AliyunSender, HttpGatewaySender, LogSender, RonglianSender, SmsSender, TencentSender},
    store::Store,
    tokens::Tokens,
};
use axum::{Router, extract::DefaultBodyLimit};
use leptos::prelude::*;
use secrecy::SecretString;
use std::{net::SocketAddr, sync::Arc};
use tower_http::compression::CompressionLayer;

/// Captcha drawings that may wait for a turn before more get 503 `busy`.
const CAPTCHA_QUEUE: usize = 32;

/// Request bodies above this are refused with 413.
pub const BODY_LIMIT: usize = 64 * 1024;

pub struct Application {
    listener: tokio::net::TcpListener,
    router: Router,
    /// `/metrics` on a listener of its own (`METRICS_ADDR`).
    metrics: Option<(tokio::net::TcpListener, Router)>,
    core: Core,
    run_worker: bool,
    /// What the listeners allow each client.
    limits: crate::serve::ServeLimits,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        let core = build_core(&config).await?;
        let mut leptos_options =
            get_configuration(None).context("could not read the LEPTOS_* settings")?.leptos_options;
        leptos_options.site_addr = config.site_addr;
        leptos_options.hash_files = crate::static_files::serves_hashed_names(&leptos_options);
        crate::metrics::handle();
        let mut router = router(core.clone(), leptos_options, config.client_timeout);
        let metrics = match config.metrics_addr {
            Some(addr) => {
                let listener = tokio::net::TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("could not listen on {addr} (METRICS_ADDR)"))?;
                Some((listener, crate::metrics::router(core.clone())))
            }
            None => {
                router = router.merge(crate::metrics::loopback_router(core.clone()));
                None
            }
        };
        let listener = tokio::net::TcpListener::bind(config.site_addr)
            .await
            .with_context(|| format!("could not listen on {} (LEPTOS_SITE_ADDR)", config.site_addr))?;
        if core.outbox.is_some() && !config.site_addr.ip().is_loopback() {
            tracing::warn!(
                addr = %config.site_addr,
                "DEVELOPMENT MODE on a non-loopback address: the dev outbox (every SMS code, e-mail and captcha \
                 answer) exists on this server. It answers only requests from this machine that did not come \
                 through a proxy; set APP_ENV=production for anything others can reach"
            );
        }
        let descriptors = crate::serve::raise_descriptor_limit();
        let max_connections = crate::serve::connection_cap(config.max_connections, descriptors);
        if max_connections < config.max_connections {
            tracing::warn!(
                max_connections,
                descriptors,
                "MAX_CONNECTIONS is lowered to fit the descriptor limit (ulimit -n)"
            );
        }
        let limits = crate::serve::ServeLimits {
            client_timeout: config.client_timeout,
            max_connections,
            max_per_address: config.max_connections_per_address,
            trusted_proxies: core.settings.trusted_proxies.clone(),
            // The worker has as long to finish its deliveries: the two wait
            // side by side.
            shutdown_grace: core.settings.delivery.shutdown_grace,
        };
        Ok(Application { listener, router, metrics, core, run_worker: config.run_worker, limits })
    }

    pub fn address(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Where `/metrics` is served, when on a listener of its own.
    pub fn metrics_address(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().and_then(|(listener, _)| listener.local_addr().ok())
    }

    pub fn core(&self) -> Core {
        self.core.clone()
    }

    /// Serves (and runs the delivery worker, unless `RUN_WORKER=false`) until
    /// SIGTERM or Ctrl-C: then no new requests are taken, running requests
    /// and deliveries finish, and waiting jobs stay in the queue.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let wait = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|stop| *stop).await;
        };
        let worker = self.run_worker.then(|| tokio::spawn(run_worker(self.core.clone(), wait(stopped.clone()))));
        tokio::spawn(async move {
            shutdown_signal().await;
            let _ = stop.send(true);
        });
        if let Some((listener, router)) = self.metrics {
            tokio::spawn(crate::serve::serve(listener, router, self.limits.clone(), wait(stopped.clone())));
        }
        let served = crate::serve::serve(self.listener, self.router, self.limits, wait(stopped)).await;
        if let Some(worker) = worker {
            let _ = worker.await;
        }
        served
    }
}

/// Runs the delivery worker until `shutdown`; logs how it ended.
pub fn run_worker(
    core: Core,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> impl std::future::Future<Output = ()> {
    // Boxed, so that each caller (the binary, the tests) does not compile
    // the worker again for its own future (issue 23).
    run_worker_until(core, Box::pin(shutdown))
}

async fn run_worker_until(core: Core, shutdown: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>) {
    let name = format!("worker-{}-{}", std::process::id(), &uuid::Uuid::new_v4().simple().to_string()[..8]);
    tracing::info!(queue = core.queue.backend_name(), worker = %name, "delivery worker started");
    // Accounts whose 注销 date came are erased where notices are delivered.
    let erasure = tokio::spawn(app::core::use_cases::erase_when_due(core.clone()));
    match delivery::worker::run(core, name, shutdown).await {
        Ok(()) => tracing::info!("delivery worker stopped"),
        Err(e) => tracing::error!(error = %e, "delivery worker stopped"),
    }
    erasure.abort();
}

pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
}

pub async fn build_core(config: &Config) -> anyhow::Result<Core> {
    let db = Database::connect(&config.database_url).await.context("could not open the database (DATABASE_URL)")?;
    db.migrate().await.context("could not apply the database migrations")?;
    let store = match &config.redis_url {
        Some(url) => Store::redis(url, &config.store_prefix).context("bad REDIS_URL")?,
        None => Store::memory_with_capacity(&config.store_prefix, config.store_max_keys),
    };
    let hasher = PasswordHasher::new(config.hash_params, CpuLimiter::new(config.hash_concurrency, config.hash_queue))
        .context("bad ARGON2_* settings")?;
    // Captchas draw on half the cores at most, so that a flood of them slows
    // sign-ins a little instead of taking their turns.
    let cores = std::thread::available_parallelism().map(usize::from).unwrap_or(1);
    let captcha_cpu = CpuLimiter::new(cores.div_ceil(2), CAPTCHA_QUEUE);
    let secret = match &config.jwt_secret {
        Some(secret) => secret.clone(),
        None => development_secret(config)?,
    };
    let tokens = Tokens::new(secret);
    let outbox = (config.app_env == AppEnv::Development).then(|| Outbox::new(db.clone()));
    let sms = sms_sender(&config.sms, config, &outbox)?;
    let sms_fallback =
        config.sms_fallback.as_ref().map(|fallback| sms_sender(fallback, config, &outbox)).transpose()?;
    if let Some(fallback) = &sms_fallback {
        tracing::info!(
            primary = sms.name(),
            fallback = fallback.name(),
            "a second SMS provider takes over what the first cannot send"
        );
    }
    let mail: Arc<dyn MailSender> = match (config.email_transport, &outbox, &config.smtp) {
        (EmailTransport::Outbox, Some(outbox), _) => Arc::new(OutboxMailSender(outbox.clone())),
        (EmailTransport::Smtp, _, Some(smtp)) => {
            Arc::new(SmtpSender::new(smtp).map_err(anyhow::Error::msg).context("bad SMTP settings")?)
        }
        _ => Arc::new(LogMailSender),
    };
    let queue = Queue::choose(&db, &store);
    tracing::info!(
        database = db.backend_name(),
        store = store.backend_name(),
        queue = queue.backend_name(),
        sms = sms.name(),
        mail = mail.name(),
        "core ready"
    );
    let settings = config.settings.clone();
    let signing_keys = SigningKeys::new(db.clone(), settings.oidc_token_ttl);
    Ok(Core::new(CoreParts {
        db,
        store,
        hasher,
        tokens,
        sms,
        sms_fallback,
        mail,
        queue,
        outbox,
        captcha_cpu,
        signing_keys,
        settings,
    }))
}

/// The sender for `provider`, on one HTTPS client of its own.
fn sms_sender(provider: &SmsProvider, config: &Config, outbox: &Option<Outbox>) -> anyhow::Result<Arc<dyn SmsSender>> {
    let client = || sms::http_client(config.sms_timeouts).context("could not build the HTTPS client");
    Ok(match provider {
        SmsProvider::Outbox => match outbox {
            Some(outbox) => Arc::new(OutboxSender(outbox.clone())),
            None => Arc::new(LogSender),
        },
        SmsProvider::Log => Arc::new(LogSender),
        SmsProvider::Ronglian(settings) => Arc::new(RonglianSender::new(settings.clone(), client()?)),
        SmsProvider::Http(settings) => Arc::new(HttpGatewaySender::new(settings.clone(), client()?)),
        SmsProvider::Aliyun(settings) => Arc::new(AliyunSender::new(settings.clone(), client()?)),
        SmsProvider::Tencent(settings) => {
            // Tencent's default policy is stricter than ours: say so where
            // an operator looks when codes stop arriving.
            tracing::warn!(
                "Tencent Cloud SMS allows by default 1 message per number in 30 s for the same content and 2 per \
                 number per calendar day; raise its frequency limits in the SMS console (for verified business accounts) or \
                 people will be told their number has had the carrier's daily maximum after their second code"
            );
            Arc::new(TencentSender::new(settings.clone(), client()?))
        }
    })
}

/// In development without `JWT_SECRET`: a random secret kept in the data
/// folder, so that sessions survive a restart.
fn development_secret(config: &Config) -> anyhow::Result<SecretString> {
    let path = config.data_dir.join("jwt_secret");
    if let Ok(existing) = std::fs::read_to_string(&path)
        && existing.trim().len() >= 32
    {
        // Written by an older version, perhaps readable by others.
        #[cfg(unix)]
        if let Err(e) = std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600)) {
            tracing::warn!(path = %path.display(), error = %e, "could not make the JWT secret owner-only");
        }
        return Ok(SecretString::from(existing.trim().to_owned()));
    }
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("could not create {}", config.data_dir.display()))?;
    let secret = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    write_owner_only(&path, &secret).with_context(|| format!("could not write {}", path.display()))?;
    tracing::info!(path = %path.display(), "generated a development JWT secret");
    Ok(SecretString::from(secret))
}

/// Writes a secret readable by this user only (0600 on Unix).
fn write_owner_only(path: &std::path::Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    // An older file keeps its mode on open: narrow it too.
    #[cfg(unix)]
    file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    file.write_all(contents.as_bytes())
}

/// The whole site; `client_timeout` bounds each request (408 past it).
pub fn router(core: Core, leptos_options: LeptosOptions, client_timeout: std::time::Duration) -> Router {
    let secure = core.settings.secure_cookies;
    let default_locale = core.settings.default_locale;
    let hashed_names = leptos_options.hash_files;
    let context: app::page_router::RequestContext = {
        let core = core.clone();
        std::sync::Arc::new(move || {
            provide_context(core.clone());
            // The nonce `security_headers` made for this request, which it
            // names in the page's CSP (replacing the one leptos_axum drew).
            if let Some(parts) = use_context::<http::request::Parts>() {
                if let Some(nonce) = parts.extensions.get::<crate::security::PageNonce>() {
                    provide_context(leptos::nonce::Nonce::from_value(nonce.value()));
                }
                // The page's language (`app::i18n`).
                let locale = app::i18n::locale_of_request(&parts.headers, core.settings.default_locale);
                provide_context(app::i18n::Texts::of(locale));
            }
        })
    };
    let (api, oidc) = api_routes(&core);
    let mut router = Router::<LeptosOptions>::new();
    if core.outbox.is_some() {
        router = router.merge(crate::dev::router(core.clone()));
    }
    router
        .merge(app::page_router::page_router(&leptos_options, context))
        .nest("/api/v1", api)
        .merge(crate::api_docs::router())
        .merge(crate::language::router(crate::language::Switch {
            secure,
            default: core.settings.default_locale,
            core: core.clone(),
        }))
        .nest("/health", crate::health::router(core.clone()))
        .merge(oidc)
        .with_state(leptos_options)
        // Outermost last. Waiting for a render slot (`inner_steps`) counts
        // against the request's timeout.
        .layer(axum::middleware::from_fn_with_state(
            InnerSteps { core, slots: crate::renders::RenderSlots::default(), secure, hashed_names },
            inner_steps,
        ))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        // A body that never arrives must not hold the connection (nor a
        // handler) for ever; our own waits are shorter (3 s for a database
        // connection, the hashing queue's bound).
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            client_timeout,
        ))
        .layer(CompressionLayer::new())
        .layer(crate::telemetry::request_log())
        .layer(axum::middleware::from_fn_with_state(default_locale, outer_steps))
}

/// The steps of our own around every request come in two middlewares, each
/// a chain of plain calls: one future for the chain. As ten `from_fn`
/// layers, each boxed the next service and its future once more, a fifth of
/// a lookup's CPU (bench/: the mobile-count endpoint, issue 24).
///
/// Outside the request log: the request's language, then unknown long
/// methods refused before anything names them, then the counters, which see
/// every answer from the log line in (the 408s of the timeout too).
async fn outer_steps(
    axum::extract::State(default_locale): axum::extract::State<app::i18n::Locale>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    crate::language::request_locale(default_locale, request, |request| {
        crate::security::known_methods_only(request, |request| {
            crate::metrics::track(request, |request| next.run(request))
        })
    })
    .await
}

/// What the inner steps hold.
#[derive(Clone)]
struct InnerSteps {
    core: Core,
    slots: crate::renders::RenderSlots,
    /// Served over https: HSTS.
    secure: bool,
    /// The bundle has hashed names: cached for a year.
    hashed_names: bool,
}

/// Inside the timeout, outermost first: a page render waits for its
/// client's slot; static files get their cache policy, every answer its
/// security headers; the dev outbox only to this host, state changes only
/// from this site, errors in URLs only when ours; and a server function's
/// error gets its status.
async fn inner_steps(
    axum::extract::State(steps): axum::extract::State<InnerSteps>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use crate::{renders, security, static_files};
    let InnerSteps { core, slots, secure, hashed_names } = &steps;
    renders::one_at_a_time_per_client(core, slots, request, move |request| {
        static_files::cache_headers(*hashed_names, request, move |request| {
            security::security_headers(*secure, request, move |request| {
                security::outbox_only_to_this_host(request, move |request| {
                    security::same_origin_for_cookies(request, move |request| {
                        security::errors_in_urls_are_ours(core, request, move |request| async move {
                            server_fn_error_status(next.run(request).await).await
                        })
                    })
                })
            })
        })
    })
    .await
}

/// `/api/v1`'s router, the OpenID Connect endpoints', and the OpenAPI
/// document that describes both, which `/api/v1/openapi.json` serves.
fn api_routes(core: &Core) -> (Router<LeptosOptions>, Router<LeptosOptions>) {
    let (api, api_doc) = api_v1::routes(core.clone()).split_for_parts();
    let (oidc, oidc_doc) = crate::oidc::routes(core.clone());
    let mut document = api_v1::doc::root().nest("/api/v1", api_doc);
    document.merge(oidc_doc);
    let document = api_v1::doc::finish(document, core);
    let bytes = serde_json::to_vec(&document).unwrap_or_default();
    let api = api.layer(axum::Extension(api_v1::Document(bytes.into())));
    (api.with_state(()), oidc)
}

/// Server functions answer 500 for every error they raise before our code
/// runs (malformed arguments). Give those the status their `AppError` names,
/// so that bad input is a 4xx, never a 500.
async fn server_fn_error_status(response: axum::response::Response) -> axum::response::Response {
    if response.status() != axum::http::StatusCode::INTERNAL_SERVER_ERROR
        || !response.headers().contains_key("serverfnerror")
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, BODY_LIMIT).await.unwrap_or_default();
    if let Ok(error) = <app::wire::Encoding as leptos::server_fn::Decodes<app::error::AppError>>::decode(bytes.clone())
        && let Ok(status) = axum::http::StatusCode::from_u16(error.kind.status())
    {
        parts.status = status;
    }
    axum::response::Response::from_parts(parts, axum::body::Body::from(bytes))
}
