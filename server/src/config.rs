//! Configuration: one typed value, read once at start from environment
//! variables (and `.env` when present). A bad value names the variable and
//! what it accepts. `.env.example` lists every variable with its default.

use app::{
    core::{
        LoginCaptcha, Settings, TrustedProxies,
        delivery::DeliverySettings,
        mail::{SmtpConfig, SmtpSecurity},
        password_hashing::HashParams,
        sms::{
            AliyunConfig, HttpGatewayConfig, HttpTimeouts, RonglianConfig, TencentConfig, aliyun, tencent,
            tencent::CodeParams,
        },
    },
    rules::PasswordPolicy,
};
use secrecy::SecretString;
use std::{net::SocketAddr, path::PathBuf, str::FromStr, time::Duration};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppEnv {
    Development,
    Production,
}

/// Who sends SMS, with its settings (`SMS_PROVIDER`, and
/// `SMS_FALLBACK_PROVIDER` for a second one).
#[derive(Clone, Debug)]
pub enum SmsProvider {
    /// Keeps messages for `/dev/outbox` (development only).
    Outbox,
    /// Writes messages to the log, the code masked.
    Log,
    /// Ronglian Cloud's template SMS (`RONGLIAN_*`).
    Ronglian(RonglianConfig),
    /// A signed JSON POST to a gateway of your own (`SMS_HTTP_*`).
    Http(HttpGatewayConfig),
    /// Aliyun's dysmsapi (`ALIYUN_*`).
    Aliyun(AliyunConfig),
    /// Tencent Cloud's SMS (`TENCENT_*`).
    Tencent(TencentConfig),
}

impl SmsProvider {
    /// Its `SMS_PROVIDER` value.
    pub fn name(&self) -> &'static str {
        match self {
            SmsProvider::Outbox => "outbox",
            SmsProvider::Log => "log",
            SmsProvider::Ronglian(_) => "ronglian",
            SmsProvider::Http(_) => "http",
            SmsProvider::Aliyun(_) => "aliyun",
            SmsProvider::Tencent(_) => "tencent",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmailTransport {
    /// Keeps messages for `/dev/outbox` (development only).
    Outbox,
    /// Writes one line per message (recipient masked, no body).
    Log,
    /// An SMTP relay (`SMTP_*`, `MAIL_FROM`).
    Smtp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Debug)]
pub struct Config {
    pub app_env: AppEnv,
    /// Where to listen; `LEPTOS_SITE_ADDR`.
    pub site_addr: SocketAddr,
    pub database_url: String,
    pub redis_url: Option<String>,
    pub store_prefix: String,
    /// The in-process store's bound, in keys (`STORE_MAX_KEYS`).
    pub store_max_keys: usize,
    /// How long a client has to send a request's headers (and to wait
    /// between requests on one connection), and a request to be answered
    /// (`CLIENT_TIMEOUT_SECONDS`).
    pub client_timeout: Duration,
    /// Connections open at once (`MAX_CONNECTIONS`; fewer if the descriptor
    /// limit asks it).
    pub max_connections: usize,
    /// Connections open at once from one client network
    /// (`MAX_CONNECTIONS_PER_ADDRESS`).
    pub max_connections_per_address: usize,
    pub data_dir: PathBuf,
    /// `None`: generate one (development only) and keep it in `data_dir`.
    pub jwt_secret: Option<SecretString>,
    pub sms: SmsProvider,
    /// Another provider, for what `sms` refuses for its own account's
    /// reasons or cannot reach (`SMS_FALLBACK_PROVIDER`).
    pub sms_fallback: Option<SmsProvider>,
    pub sms_timeouts: HttpTimeouts,
    pub email_transport: EmailTransport,
    /// Set exactly when `email_transport` is `Smtp`.
    pub smtp: Option<SmtpConfig>,
    /// Where `/metrics` is served; `None`: on the main listener, to loopback.
    pub metrics_addr: Option<SocketAddr>,
    /// Whether `server` (serve) runs the delivery worker too.
    pub run_worker: bool,
    pub hash_params: HashParams,
    /// Password hashes computed at once (default: one per core).
    pub hash_concurrency: usize,
    /// Password hashes that may wait for a core before sign-ins get 503.
    pub hash_queue: usize,
    pub log_format: LogFormat,
    pub settings: Settings,
}

#[derive(Debug, thiserror::Error)]
#[error("configuration: {var}: {problem}")]
pub struct ConfigError {
    pub var: &'static str,
    pub problem: String,
}

/// `PUBLIC_URL`: an http(s) origin, optionally with a path; kept without
/// its trailing slash, so that links are `{PUBLIC_URL}/reset?...`.
fn parse_public_url(raw: &str) -> Result<String, String> {
    let url = raw.trim().trim_end_matches('/');
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !url.contains(['?', '#', ' ', '"', '<', '>']) => Ok(url.to_owned()),
        _ => Err(format!("{raw:?}: expected the site's address, like https://example.com")),
    }
}

fn bad(var: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError { var, problem: problem.into() }
}

/// A provider that sends through the network, by its name, with its
/// settings; `var` is the setting that named it.
fn sms_provider<F: Fn(&str) -> Option<String>>(
    vars: &Vars<F>,
    var: &'static str,
    name: &str,
) -> Result<SmsProvider, ConfigError> {
    let required = |setting: &'static str| {
        vars.optional(setting).ok_or_else(|| bad(setting, format!("must be set when {var}={name}")))
    };
    let http_url = |setting: &'static str, default: &str| {
        let raw = vars.string(setting, default);
        match url::Url::parse(raw.trim()) {
            Ok(url) if matches!(url.scheme(), "https" | "http") && url.host_str().is_some() => Ok(url),
            _ => Err(bad(setting, format!("{raw:?} is not an http(s) URL"))),
        }
    };
    Ok(match name {
        "ronglian" => SmsProvider::Ronglian(RonglianConfig {
            account_sid: required("RONGLIAN_ACCOUNT_SID")?,
            auth_token: SecretString::from(required("RONGLIAN_AUTH_TOKEN")?),
            app_id: required("RONGLIAN_APP_ID")?,
            template_id: required("RONGLIAN_TEMPLATE_ID")?,
            notice_template_id: vars.optional("RONGLIAN_NOTICE_TEMPLATE_ID"),
            deletion_template_id: vars.optional("RONGLIAN_DELETION_TEMPLATE_ID"),
            base_url: http_url("RONGLIAN_BASE_URL", app::core::sms::RONGLIAN_PRODUCTION_BASE_URL)?
                .as_str()
                .trim_end_matches('/')
                .to_owned(),
        }),
        "http" => {
            let url = required("SMS_HTTP_URL")?;
            http_url("SMS_HTTP_URL", "")?;
            let secret = vars.optional("SMS_HTTP_SECRET").unwrap_or_default();
            if secret.trim().len() < 32 {
                return Err(bad("SMS_HTTP_SECRET", format!("must be set to at least 32 characters when {var}=http")));
            }
            SmsProvider::Http(HttpGatewayConfig { url, secret: SecretString::from(secret) })
        }
        "aliyun" => SmsProvider::Aliyun(AliyunConfig {
            access_key_id: required("ALIYUN_ACCESS_KEY_ID")?,
            access_key_secret: SecretString::from(required("ALIYUN_ACCESS_KEY_SECRET")?),
            sign_name: required("ALIYUN_SMS_SIGN_NAME")?,
            template_code: required("ALIYUN_SMS_TEMPLATE_CODE")?,
            notice_template_code: vars.optional("ALIYUN_SMS_NOTICE_TEMPLATE_CODE"),
            deletion_template_code: vars.optional("ALIYUN_SMS_DELETION_TEMPLATE_CODE"),
            endpoint: http_url("ALIYUN_SMS_ENDPOINT", aliyun::PRODUCTION_ENDPOINT)?,
        }),
        "tencent" => {
            let raw = vars.string("TENCENT_SMS_TEMPLATE_PARAMS", "code");
            let template_params = CodeParams::parse(&raw)
                .ok_or_else(|| bad("TENCENT_SMS_TEMPLATE_PARAMS", format!("{raw:?}: expected code or code,minutes")))?;
            let region = vars.string("TENCENT_SMS_REGION", tencent::DEFAULT_REGION);
            if region.is_empty() || !region.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
                return Err(bad("TENCENT_SMS_REGION", format!("{region:?} is not a region like ap-guangzhou")));
            }
            SmsProvider::Tencent(TencentConfig {
                secret_id: required("TENCENT_SECRET_ID")?,
                secret_key: SecretString::from(required("TENCENT_SECRET_KEY")?),
                sdk_app_id: required("TENCENT_SMS_SDK_APP_ID")?,
                sign_name: required("TENCENT_SMS_SIGN_NAME")?,
                template_id: required("TENCENT_SMS_TEMPLATE_ID")?,
                template_params,
                notice_template_id: vars.optional("TENCENT_SMS_NOTICE_TEMPLATE_ID"),
                deletion_template_id: vars.optional("TENCENT_SMS_DELETION_TEMPLATE_ID"),
                region,
                endpoint: http_url("TENCENT_SMS_ENDPOINT", tencent::PRODUCTION_ENDPOINT)?,
            })
        }
        other => {
            let expected = if var == "SMS_PROVIDER" {
                "outbox, log, ronglian, aliyun, tencent or http"
            } else {
                "ronglian, aliyun, tencent or http"
            };
            return Err(bad(var, format!("{other:?}: expected {expected}")));
        }
    })
}

/// Reads variables through `get`, so that tests can pass their own.
struct Vars<F: Fn(&str) -> Option<String>>(F);

impl<F: Fn(&str) -> Option<String>> Vars<F> {
    fn string(&self, var: &'static str, default: &str) -> String {
        (self.0)(var).filter(|v| !v.trim().is_empty()).unwrap_or_else(|| default.to_owned())
    }

    fn optional(&self, var: &'static str) -> Option<String> {
        (self.0)(var).filter(|v| !v.trim().is_empty())
    }

    fn parse<T: FromStr>(&self, var: &'static str, default: T, what: &str) -> Result<T, ConfigError> {
        match self.optional(var) {
            None => Ok(default),
            Some(raw) => raw.trim().parse().map_err(|_| bad(var, format!("{raw:?} is not {what}"))),
        }
    }

    fn number(&self, var: &'static str, default: u32) -> Result<u32, ConfigError> {
        self.parse(var, default, "a whole number")
    }

    fn positive(&self, var: &'static str, default: u32) -> Result<u32, ConfigError> {
        match self.number(var, default)? {
            0 => Err(bad(var, "must be at least 1")),
            n => Ok(n),
        }
    }

    fn seconds(&self, var: &'static str, default: u64) -> Result<Duration, ConfigError> {
        Ok(Duration::from_secs(u64::from(self.positive(var, default as u32)?)))
    }

    fn flag(&self, var: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.optional(var).map(|v| v.trim().to_ascii_lowercase()) {
            None => Ok(default),
            Some(v) if ["1", "true", "yes", "on"].contains(&v.as_str()) => Ok(true),
            Some(v) if ["0", "false", "no", "off"].contains(&v.as_str()) => Ok(false),
            Some(v) => Err(bad(var, format!("{v:?} is not true or false"))),
        }
    }
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|var| std::env::var(var).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let vars = Vars(get);
        let app_env = match vars.string("APP_ENV", "development").as_str() {
            "development" => AppEnv::Development,
            "production" => AppEnv::Production,
            other => return Err(bad("APP_ENV", format!("{other:?}: expected development or production"))),
        };
        let production = app_env == AppEnv::Production;
        let site_addr =
            vars.parse("LEPTOS_SITE_ADDR", SocketAddr::from(([127, 0, 0, 1], 3000)), "an address like 127.0.0.1:3000")?;
        let jwt_secret = vars.optional("JWT_SECRET").map(SecretString::from);
        match &jwt_secret {
            None if production => {
                return Err(bad("JWT_SECRET", "must be set in production (a random string of at least 32 characters)"));
            }
            Some(s) if production && secrecy::ExposeSecret::expose_secret(s).len() < 32 => {
                return Err(bad("JWT_SECRET", "must be at least 32 characters in production"));
            }
            _ => {}
        }
        let public_url = match vars.optional("PUBLIC_URL") {
            None if production => {
                return Err(bad(
                    "PUBLIC_URL",
                    "must be set in production: the site's address, e.g. https://example.com",
                ));
            }
            None => format!("http://{site_addr}"),
            Some(url) => parse_public_url(&url).map_err(|problem| bad("PUBLIC_URL", problem))?,
        };
        let sms = match vars.string("SMS_PROVIDER", if production { "log" } else { "outbox" }).as_str() {
            "outbox" if production => return Err(bad("SMS_PROVIDER", "outbox exists only with APP_ENV=development")),
            "outbox" => SmsProvider::Outbox,
            "log" => SmsProvider::Log,
            name => sms_provider(&vars, "SMS_PROVIDER", name)?,
        };
        let sms_fallback = match vars.optional("SMS_FALLBACK_PROVIDER") {
            None => None,
            Some(name) if name.trim() == sms.name() => {
                return Err(bad("SMS_FALLBACK_PROVIDER", format!("{name:?} is the primary provider already")));
            }
            Some(name) => Some(sms_provider(&vars, "SMS_FALLBACK_PROVIDER", name.trim())?),
        };
        let sms_timeouts = HttpTimeouts {
            connect: vars.seconds("SMS_CONNECT_TIMEOUT_SECONDS", 2)?,
            read: vars.seconds("SMS_READ_TIMEOUT_SECONDS", 5)?,
        };
        let email_transport = match vars.string("EMAIL_TRANSPORT", if production { "log" } else { "outbox" }).as_str() {
            "outbox" if production => {
                return Err(bad("EMAIL_TRANSPORT", "outbox exists only with APP_ENV=development"));
            }
            "outbox" => EmailTransport::Outbox,
            "log" => EmailTransport::Log,
            "smtp" => EmailTransport::Smtp,
            other => return Err(bad("EMAIL_TRANSPORT", format!("{other:?}: expected outbox, log or smtp"))),
        };
        let smtp_timeout = vars.seconds("SMTP_TIMEOUT_SECONDS", 10)?;
        let smtp = match email_transport {
            EmailTransport::Smtp => {
                let raw = vars.string("SMTP_SECURITY", "starttls");
                let security = SmtpSecurity::parse(&raw)
                    .ok_or_else(|| bad("SMTP_SECURITY", format!("{raw:?}: expected starttls, tls or plain")))?;
                let required = |var: &'static str| {
                    vars.optional(var).ok_or_else(|| bad(var, "must be set when EMAIL_TRANSPORT=smtp"))
                };
                let config = SmtpConfig {
                    host: required("SMTP_HOST")?,
                    port: vars.parse("SMTP_PORT", security.default_port(), "a port number")?,
                    security,
                    user: vars.optional("SMTP_USER"),
                    password: vars.optional("SMTP_PASSWORD").map(SecretString::from),
                    from: required("MAIL_FROM")?,
                    timeout: smtp_timeout,
                };
                // Checked now, so that a bad MAIL_FROM stops the start.
                app::core::mail::smtp::check_from(&config.from).map_err(|problem| bad("MAIL_FROM", problem))?;
                if config.user.is_some() != config.password.is_some() {
                    return Err(bad("SMTP_PASSWORD", "SMTP_USER and SMTP_PASSWORD go together"));
                }
                Some(config)
            }
            _ => None,
        };
        let log_format = match vars.string("LOG_FORMAT", if production { "json" } else { "text" }).as_str() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => return Err(bad("LOG_FORMAT", format!("{other:?}: expected text or json"))),
        };
        let password_policy = PasswordPolicy {
            min_chars: vars.positive("PASSWORD_MIN_LENGTH", 8)? as usize,
            max_chars: vars.positive("PASSWORD_MAX_LENGTH", 20)? as usize,
        };
        if password_policy.min_chars > password_policy.max_chars {
            return Err(bad("PASSWORD_MIN_LENGTH", "must not exceed PASSWORD_MAX_LENGTH"));
        }
        let settings = Settings {
            password_policy,
            site_name: vars.optional("SITE_NAME"),
            public_url,
            reset_link_ttl: Duration::from_secs(60 * u64::from(vars.positive("RESET_LINK_TTL_MINUTES", 30)?)),
            email_link_ttl: Duration::from_secs(3600 * u64::from(vars.positive("EMAIL_LINK_TTL_HOURS", 24)?)),
            recovery_ip_hourly_cap: vars.positive("RECOVERY_IP_HOURLY_CAP", 10)?,
            sms_code_ttl: vars.seconds("SMS_CODE_TTL_SECONDS", 300)?,
            sms_resend_interval: vars.seconds("SMS_RESEND_INTERVAL_SECONDS", 60)?,
            sms_daily_cap: vars.positive("SMS_DAILY_CAP", 10)?,
            sms_ip_hourly_cap: vars.positive("SMS_IP_HOURLY_CAP", 20)?,
            sms_site_hourly_cap: vars.positive("SMS_SITE_HOURLY_CAP", 1000)?,
            sms_max_attempts: vars.positive("SMS_MAX_ATTEMPTS", 5)?,
            captcha_ttl: vars.seconds("CAPTCHA_TTL_SECONDS", 300)?,
            lookups_per_minute: vars.positive("LOOKUPS_PER_MINUTE", 30)?,
            captchas_per_minute: vars.positive("CAPTCHAS_PER_MINUTE", 20)?,
            pow_bits: match vars.number("POW_BITS", app::core::DEFAULT_POW_BITS)? {
                bits if bits > 24 => {
                    return Err(bad("POW_BITS", format!("{bits}: at most 24 (each bit doubles a person's wait)")));
                }
                bits => bits,
            },
            session_ttl: vars.seconds("SESSION_TTL_SECONDS", 86_400)?,
            default_locale: {
                let tag = vars.string("DEFAULT_LOCALE", app::i18n::Locale::REFERENCE.tag());
                app::i18n::Locale::from_tag(&tag).ok_or_else(|| {
                    let have: Vec<&str> = app::i18n::Locale::all().map(|l| l.tag()).collect();
                    bad("DEFAULT_LOCALE", format!("{tag:?}: expected one of {}", have.join(", ")))
                })?
            },
            oidc_token_ttl: vars.seconds("OIDC_ACCESS_TOKEN_SECONDS", 300)?,
            deletion_wait: match vars.number("ACCOUNT_DELETION_DAYS", 7)? {
                days if days > 365 => {
                    return Err(bad(
                        "ACCOUNT_DELETION_DAYS",
                        format!("{days}: at most 365 (PIPL: no unreasonable conditions)"),
                    ));
                }
                days => Duration::from_secs(u64::from(days) * 86_400),
            },
            legal: {
                let privacy = (vars.string("PRIVACY_POLICY_VERSION", "1"), vars.optional("PRIVACY_POLICY_FILE"));
                let terms = (vars.string("TERMS_VERSION", "1"), vars.optional("TERMS_FILE"));
                let texts = app::core::legal::LegalTexts::load(
                    (&privacy.0, privacy.1.as_deref().map(std::path::Path::new)),
                    (&terms.0, terms.1.as_deref().map(std::path::Path::new)),
                )
                .map_err(|problem| bad("PRIVACY_POLICY_FILE", problem))?;
                std::sync::Arc::new(texts)
            },
            oidc_access_token_alg: {
                let raw = vars.string("OIDC_ACCESS_TOKEN_ALG", "RS256");
                app::core::oidc::jws::Alg::parse(&raw)
                    .ok_or_else(|| bad("OIDC_ACCESS_TOKEN_ALG", format!("{raw:?}: expected RS256 or ES256")))?
            },
            remember_ttl: vars.seconds("REMEMBER_ME_TTL_SECONDS", 14 * 86_400)?,
            login_captcha: match vars.string("LOGIN_CAPTCHA", "after_failures").as_str() {
                "always" => LoginCaptcha::Always,
                "after_failures" => LoginCaptcha::AfterFailures,
                "never" => LoginCaptcha::Never,
                other => {
                    return Err(bad("LOGIN_CAPTCHA", format!("{other:?}: expected always, after_failures or never")));
                }
            },
            captcha_after_failures: vars.positive("LOGIN_CAPTCHA_AFTER_FAILURES", 3)?,
            captcha_after_address_failures: vars.positive("LOGIN_CAPTCHA_AFTER_ADDRESS_FAILURES", 20)?,
            failure_window: vars.seconds("LOGIN_FAILURE_WINDOW_SECONDS", 15 * 60)?,
            lockout_after_failures: vars.positive("LOCKOUT_AFTER_FAILURES", 10)?,
            lockout_duration: vars.seconds("LOCKOUT_SECONDS", 15 * 60)?,
            secure_cookies: vars.flag("SECURE_COOKIES", production)?,
            trusted_proxies: {
                if vars.optional("TRUST_FORWARDED_FOR").is_some() {
                    return Err(bad(
                        "TRUST_FORWARDED_FOR",
                        "was replaced by TRUSTED_PROXIES: list your reverse proxies' addresses or networks \
                         (e.g. TRUSTED_PROXIES=127.0.0.1 for a proxy on this host)",
                    ));
                }
                let list = vars.string("TRUSTED_PROXIES", "");
                TrustedProxies::parse(&list).map_err(|e| bad("TRUSTED_PROXIES", e.to_string()))?
            },
            delivery: DeliverySettings {
                max_attempts: vars.positive("DELIVERY_MAX_ATTEMPTS", 5)?,
                retry_first: vars.seconds("DELIVERY_RETRY_FIRST_SECONDS", 30)?,
                poll_interval: Duration::from_millis(u64::from(vars.positive("DELIVERY_POLL_MILLIS", 200)?)),
                concurrency: vars.positive("DELIVERY_CONCURRENCY", 8)? as usize,
                shutdown_grace: vars.seconds("DELIVERY_SHUTDOWN_SECONDS", 10)?,
                records_keep: Duration::from_secs(86_400 * u64::from(vars.positive("DELIVERY_RECORDS_KEEP_DAYS", 30)?)),
                // Longer than one send can take, so a live worker keeps its
                // claim (an SMTP conversation is several timed steps).
                lease: (sms_timeouts.connect + sms_timeouts.read).max(smtp_timeout * 3) + Duration::from_secs(10),
            },
        };
        let cores = std::thread::available_parallelism().map(usize::from).unwrap_or(1);
        let defaults = HashParams::default();
        let hash_params = HashParams {
            memory_kib: vars.positive("ARGON2_MEMORY_KIB", defaults.memory_kib)?,
            iterations: vars.positive("ARGON2_ITERATIONS", defaults.iterations)?,
            lanes: vars.positive("ARGON2_LANES", defaults.lanes)?,
        };
        Ok(Config {
            app_env,
            site_addr,
            database_url: vars.string("DATABASE_URL", "sqlite://data/app.db"),
            redis_url: vars.optional("REDIS_URL"),
            store_prefix: vars.string("STORE_PREFIX", "auth:"),
            store_max_keys: vars.positive("STORE_MAX_KEYS", app::core::store::MEMORY_STORE_CAPACITY as u32)? as usize,
            client_timeout: vars.seconds("CLIENT_TIMEOUT_SECONDS", 30)?,
            max_connections: vars.positive("MAX_CONNECTIONS", 4096)? as usize,
            max_connections_per_address: vars.positive("MAX_CONNECTIONS_PER_ADDRESS", 256)? as usize,
            data_dir: PathBuf::from(vars.string("DATA_DIR", "data")),
            jwt_secret,
            sms,
            sms_fallback,
            sms_timeouts,
            email_transport,
            smtp,
            metrics_addr: match vars.optional("METRICS_ADDR") {
                None => None,
                Some(raw) => Some(
                    raw.trim()
                        .parse()
                        .map_err(|_| bad("METRICS_ADDR", format!("{raw:?} is not an address like 127.0.0.1:9100")))?,
                ),
            },
            run_worker: vars.flag("RUN_WORKER", true)?,
            hash_params,
            hash_concurrency: vars.positive("HASH_CONCURRENCY", cores as u32)? as usize,
            hash_queue: vars.number("HASH_QUEUE_LIMIT", 64)? as usize,
            log_format,
            settings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn nothing_set_gives_the_development_defaults() {
        let c = config(&[]).unwrap();
        assert_eq!(c.app_env, AppEnv::Development);
        assert_eq!(c.database_url, "sqlite://data/app.db");
        assert!(matches!(c.sms, SmsProvider::Outbox));
        assert_eq!(c.settings.password_policy, PasswordPolicy { min_chars: 8, max_chars: 20 });
        assert_eq!(c.hash_params, HashParams { memory_kib: 19_456, iterations: 2, lanes: 1 });
        assert!(!c.settings.secure_cookies);
    }

    #[test]
    fn access_tokens_are_rs256_unless_es256_is_asked() {
        use app::core::oidc::jws::Alg;
        let too_long = "9".repeat(33);
        assert_eq!(config(&[("TERMS_VERSION", too_long.as_str())]).unwrap_err().var, "PRIVACY_POLICY_FILE");
        assert_eq!(config(&[("PRIVACY_POLICY_FILE", "/nonexistent.md")]).unwrap_err().var, "PRIVACY_POLICY_FILE");
        assert_eq!(config(&[("TERMS_VERSION", "2026-12")]).unwrap().settings.legal.terms.version, "2026-12");
        assert_eq!(config(&[]).unwrap().settings.oidc_access_token_alg, Alg::Rs256);
        assert_eq!(config(&[("OIDC_ACCESS_TOKEN_ALG", "ES256")]).unwrap().settings.oidc_access_token_alg, Alg::Es256);
        for bad in ["none", "HS256", "es256"] {
            assert!(config(&[("OIDC_ACCESS_TOKEN_ALG", bad)]).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_public_url_is_an_http_address_kept_without_its_trailing_slash() {
        assert_eq!(config(&[]).unwrap().settings.public_url, "http://127.0.0.1:3000");
        let url = |v: &str| config(&[("PUBLIC_URL", v)]).map(|c| c.settings.public_url);
        assert_eq!(url("https://example.com/auth/").unwrap(), "https://example.com/auth");
        for bad in ["example.com", "ftp://example.com", "https://", "https://a.example/?x=1", "javascript:alert(1)"] {
            assert_eq!(url(bad).unwrap_err().var, "PUBLIC_URL", "{bad}");
        }
    }

    #[test]
    fn production_without_a_jwt_secret_refuses_to_start_and_says_why() {
        let err = config(&[("APP_ENV", "production")]).unwrap_err();
        assert_eq!(err.var, "JWT_SECRET");
    }

    #[test]
    fn production_has_no_outbox_and_secure_cookies() {
        let secret = "s".repeat(32);
        let prod = [("APP_ENV", "production"), ("JWT_SECRET", secret.as_str())];
        assert_eq!(config(&prod).unwrap_err().var, "PUBLIC_URL");
        let c = config(&[prod[0], prod[1], ("PUBLIC_URL", "https://auth.example.com/")]).unwrap();
        assert_eq!(c.settings.public_url, "https://auth.example.com");
        assert!(matches!(c.sms, SmsProvider::Log));
        assert!(c.settings.secure_cookies);
        let err =
            config(&[prod[0], prod[1], ("PUBLIC_URL", "https://a.example"), ("SMS_PROVIDER", "outbox")]).unwrap_err();
        assert_eq!(err.var, "SMS_PROVIDER");
    }

    #[test]
    fn trusted_proxies_are_networks_and_the_old_flag_says_what_replaced_it() {
        assert!(config(&[]).unwrap().settings.trusted_proxies.is_empty(), "no proxy is trusted by default");
        let c = config(&[("TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1,::1")]).unwrap();
        assert_eq!(c.settings.trusted_proxies, TrustedProxies::parse("10.0.0.0/8,127.0.0.1,::1").unwrap());
        let err = config(&[("TRUSTED_PROXIES", "10.0.0.0/8,proxy.local")]).unwrap_err();
        assert_eq!(err.var, "TRUSTED_PROXIES");
        assert!(err.to_string().contains("proxy.local"), "{err}");
        let err = config(&[("TRUST_FORWARDED_FOR", "true")]).unwrap_err();
        assert!(err.to_string().contains("TRUSTED_PROXIES"), "{err}");
    }

    #[test]
    fn a_bad_number_names_its_variable() {
        let err = config(&[("SMS_DAILY_CAP", "ten")]).unwrap_err();
        assert_eq!(err.var, "SMS_DAILY_CAP");
        assert!(err.to_string().contains("\"ten\" is not a whole number"));
        assert_eq!(config(&[("SMS_DAILY_CAP", "0")]).unwrap_err().var, "SMS_DAILY_CAP");
    }

    #[test]
    fn ronglian_refuses_to_start_without_its_four_settings() {
        let all = [
            ("SMS_PROVIDER", "ronglian"),
            ("RONGLIAN_ACCOUNT_SID", "sid"),
            ("RONGLIAN_AUTH_TOKEN", "token"),
            ("RONGLIAN_APP_ID", "app"),
            ("RONGLIAN_TEMPLATE_ID", "1"),
        ];
        let SmsProvider::Ronglian(ronglian) = config(&all).unwrap().sms else { panic!("not ronglian") };
        assert_eq!(ronglian.base_url, "https://app.cloopen.com:8883");
        for missing in 1..all.len() {
            let partial: Vec<_> = all.iter().enumerate().filter(|(i, _)| *i != missing).map(|(_, p)| *p).collect();
            assert_eq!(config(&partial).unwrap_err().var, all[missing].0);
        }
    }

    const ALIYUN: [(&str, &str); 5] = [
        ("ALIYUN_ACCESS_KEY_ID", "LTAI5tExample"),
        ("ALIYUN_ACCESS_KEY_SECRET", "an-aliyun-secret"),
        ("ALIYUN_SMS_SIGN_NAME", "某某商城"),
        ("ALIYUN_SMS_TEMPLATE_CODE", "SMS_154950909"),
        ("ALIYUN_SMS_ENDPOINT", "http://127.0.0.1:9/"),
    ];
    const TENCENT: [(&str, &str); 5] = [
        ("TENCENT_SECRET_ID", "AKIDExample"),
        ("TENCENT_SECRET_KEY", "a-tencent-secret"),
        ("TENCENT_SMS_SDK_APP_ID", "1400006666"),
        ("TENCENT_SMS_SIGN_NAME", "某某商城"),
        ("TENCENT_SMS_TEMPLATE_ID", "449739"),
    ];

    #[test]
    fn aliyun_and_tencent_name_each_missing_setting_and_keep_their_secrets_out_of_sight() {
        let with = |provider: &'static str, settings: &[(&'static str, &'static str)]| {
            let mut all = vec![("SMS_PROVIDER", provider)];
            all.extend_from_slice(settings);
            all
        };
        let SmsProvider::Aliyun(aliyun) = config(&with("aliyun", &ALIYUN)).unwrap().sms else { panic!("not aliyun") };
        assert_eq!(aliyun.endpoint.as_str(), "http://127.0.0.1:9/");
        assert!(!format!("{aliyun:?}").contains("an-aliyun-secret"), "Debug shows no secret");
        let SmsProvider::Aliyun(aliyun) = config(&with("aliyun", &ALIYUN[..4])).unwrap().sms else { panic!() };
        assert_eq!(aliyun.endpoint.as_str(), "https://dysmsapi.aliyuncs.com/");
        for (missing, (var, _)) in ALIYUN.iter().enumerate().take(4) {
            let partial: Vec<_> = ALIYUN.iter().enumerate().filter(|(i, _)| *i != missing).map(|(_, p)| *p).collect();
            let err = config(&with("aliyun", &partial)).unwrap_err();
            assert_eq!(err.var, *var);
            assert!(err.to_string().contains("SMS_PROVIDER=aliyun"), "{err}");
        }
        let SmsProvider::Tencent(tencent) = config(&with("tencent", &TENCENT)).unwrap().sms else { panic!() };
        assert_eq!((tencent.region.as_str(), tencent.template_params), ("ap-guangzhou", CodeParams::Code));
        assert!(!format!("{tencent:?}").contains("a-tencent-secret"), "Debug shows no secret");
        for (missing, (var, _)) in TENCENT.iter().enumerate() {
            let partial: Vec<_> = TENCENT.iter().enumerate().filter(|(i, _)| *i != missing).map(|(_, p)| *p).collect();
            assert_eq!(config(&with("tencent", &partial)).unwrap_err().var, *var);
        }
        let mut bad_params = with("tencent", &TENCENT);
        bad_params.push(("TENCENT_SMS_TEMPLATE_PARAMS", "minutes"));
        assert_eq!(config(&bad_params).unwrap_err().var, "TENCENT_SMS_TEMPLATE_PARAMS");
        let mut bad_endpoint = with("tencent", &TENCENT);
        bad_endpoint.push(("TENCENT_SMS_ENDPOINT", "sms.tencentcloudapi.com"));
        assert_eq!(config(&bad_endpoint).unwrap_err().var, "TENCENT_SMS_ENDPOINT");
    }

    #[test]
    fn a_fallback_is_another_provider_with_its_own_settings() {
        let mut all = vec![("SMS_PROVIDER", "aliyun"), ("SMS_FALLBACK_PROVIDER", "tencent")];
        all.extend_from_slice(&ALIYUN);
        all.extend_from_slice(&TENCENT);
        let c = config(&all).unwrap();
        assert!(matches!((&c.sms, &c.sms_fallback), (SmsProvider::Aliyun(_), Some(SmsProvider::Tencent(_)))));
        let err = config(&all[..all.len() - 1]).unwrap_err();
        assert_eq!(err.var, "TENCENT_SMS_TEMPLATE_ID");
        assert!(err.to_string().contains("SMS_FALLBACK_PROVIDER=tencent"), "{err}");
        all[1] = ("SMS_FALLBACK_PROVIDER", "aliyun");
        assert_eq!(config(&all).unwrap_err().var, "SMS_FALLBACK_PROVIDER", "not the primary itself");
        all[1] = ("SMS_FALLBACK_PROVIDER", "log");
        assert_eq!(config(&all).unwrap_err().var, "SMS_FALLBACK_PROVIDER", "a fallback sends");
    }

    #[test]
    fn the_http_gateway_needs_a_url_and_a_long_secret() {
        let secret = "0123456789abcdef0123456789abcdef";
        let all =
            [("SMS_PROVIDER", "http"), ("SMS_HTTP_URL", "https://sms.example.com/send"), ("SMS_HTTP_SECRET", secret)];
        let SmsProvider::Http(gateway) = config(&all).unwrap().sms else { panic!("not http") };
        assert_eq!(gateway.url, "https://sms.example.com/send");
        assert_eq!(config(&all[..2]).unwrap_err().var, "SMS_HTTP_SECRET");
        assert_eq!(config(&[all[0], all[2]]).unwrap_err().var, "SMS_HTTP_URL");
        assert_eq!(config(&[all[0], all[1], ("SMS_HTTP_SECRET", "short")]).unwrap_err().var, "SMS_HTTP_SECRET");
        assert_eq!(config(&[all[0], ("SMS_HTTP_URL", "ftp://x"), all[2]]).unwrap_err().var, "SMS_HTTP_URL");
    }

    #[test]
    fn smtp_needs_a_host_and_a_sender_it_can_parse() {
        let all = [
            ("EMAIL_TRANSPORT", "smtp"),
            ("SMTP_HOST", "mail.example.com"),
            ("MAIL_FROM", "注册服务 <noreply@example.com>"),
        ];
        let c = config(&all).unwrap();
        assert_eq!(c.email_transport, EmailTransport::Smtp);
        let smtp = c.smtp.unwrap();
        assert_eq!((smtp.port, smtp.security), (587, SmtpSecurity::StartTls));
        assert_eq!(config(&all[..2]).unwrap_err().var, "MAIL_FROM");
        assert_eq!(config(&[all[0], all[2]]).unwrap_err().var, "SMTP_HOST");
        let bad_from = [all[0], all[1], ("MAIL_FROM", "not an address")];
        assert_eq!(config(&bad_from).unwrap_err().var, "MAIL_FROM");
        let tls = config(&[all[0], all[1], all[2], ("SMTP_SECURITY", "tls")]).unwrap().smtp.unwrap();
        assert_eq!((tls.port, tls.security), (465, SmtpSecurity::Tls));
        assert_eq!(config(&[all[0], all[1], all[2], ("SMTP_SECURITY", "ssl")]).unwrap_err().var, "SMTP_SECURITY");
        assert_eq!(config(&[all[0], all[1], all[2], ("SMTP_USER", "me")]).unwrap_err().var, "SMTP_PASSWORD");
        assert_eq!(config(&[]).unwrap().email_transport, EmailTransport::Outbox);
        let production = [
            ("APP_ENV", "production"),
            ("JWT_SECRET", "0123456789abcdef0123456789abcdef"),
            ("PUBLIC_URL", "https://a.example"),
        ];
        assert_eq!(config(&production).unwrap().email_transport, EmailTransport::Log);
    }

    #[test]
    fn delivery_settings_are_read_with_their_defaults() {
        let c = config(&[]).unwrap();
        assert_eq!((c.settings.delivery.max_attempts, c.settings.delivery.retry_first.as_secs()), (5, 30));
        assert_eq!((c.sms_timeouts.connect.as_secs(), c.sms_timeouts.read.as_secs()), (2, 5));
        let c = config(&[("DELIVERY_MAX_ATTEMPTS", "3"), ("DELIVERY_RETRY_FIRST_SECONDS", "1")]).unwrap();
        assert_eq!((c.settings.delivery.max_attempts, c.settings.delivery.retry_first.as_secs()), (3, 1));
        assert_eq!(config(&[("DELIVERY_MAX_ATTEMPTS", "0")]).unwrap_err().var, "DELIVERY_MAX_ATTEMPTS");
    }

    #[test]
    fn the_password_range_is_a_setting() {
        let c = config(&[("PASSWORD_MIN_LENGTH", "6"), ("PASSWORD_MAX_LENGTH", "16")]).unwrap();
        assert_eq!(c.settings.password_policy, PasswordPolicy { min_chars: 6, max_chars: 16 });
        assert!(config(&[("PASSWORD_MIN_LENGTH", "21")]).is_err());
    }
}
