//! The auth core: use cases and what they need (storage, short-lived state,
//! hashing, tokens, senders). Free of Leptos: it reads like a plain library,
//! reached alike by the pages' server functions, the JSON API and the CLI.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod captcha;
pub mod client;
pub mod cpu;
pub mod db;
pub mod deletion;
pub mod delivery;
pub mod legal;
pub mod mail;
pub mod metrics;
pub mod oidc;
pub mod outbox;
pub mod password_hashing;
pub mod sms;
pub mod store;
pub mod tokens;
pub mod use_cases;

pub mod test_support;

pub use client::{Client, TrustedProxies};

use crate::rules::PasswordPolicy;
use std::{net::IpAddr, ops::Deref, sync::Arc, time::Duration};

/// The time now, in Unix milliseconds: how the database, the records and
/// the tokens say it.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// `POW_BITS`' default: 65,536 hashes to try on average, well under a second
/// of a mid-range phone (measured: README, Benchmarks).
pub const DEFAULT_POW_BITS: u32 = 16;

/// The numbers the use cases follow. Every one is a setting (see the server's
/// configuration); the defaults are the issue's.
#[derive(Clone, Debug)]
pub struct Settings {
    pub password_policy: PasswordPolicy,
    /// The site's name as e-mails say it, in every language (`SITE_NAME`);
    /// none: each language's own (`site_name_in`).
    pub site_name: Option<String>,
    /// Where the site is reached (`https://example.com`, no trailing
    /// slash): the links e-mails carry start with it.
    pub public_url: String,
    /// How long a password reset link works.
    pub reset_link_ttl: Duration,
    /// How long an e-mail verification link works.
    pub email_link_ttl: Duration,
    /// Recovery requests from one client address in an hour.
    pub recovery_ip_hourly_cap: u32,
    pub sms_code_ttl: Duration,
    pub sms_resend_interval: Duration,
    pub sms_daily_cap: u32,
    pub sms_ip_hourly_cap: u32,
    /// Every SMS the site sends in an hour, whatever the number or address.
    pub sms_site_hourly_cap: u32,
    pub sms_max_attempts: u32,
    pub captcha_ttl: Duration,
    /// Availability checks (`/mobiles/{m}/count`...) per client IP per minute.
    pub lookups_per_minute: u32,
    /// Captcha images per client IP per minute.
    pub captchas_per_minute: u32,
    /// The proof of work's difficulty in zero bits (0: no proof), before the
    /// rise for a busy address.
    pub pow_bits: u32,
    /// How long a sign-in lasts without "remember me" (the cookie ends with
    /// the browser), and with it.
    pub session_ttl: Duration,
    pub remember_ttl: Duration,
    pub login_captcha: LoginCaptcha,
    /// Failures of one account after which the captcha is asked, under
    /// `LoginCaptcha::AfterFailures`.
    pub captcha_after_failures: u32,
    /// Failures from one client address (any accounts) after which the
    /// captcha is asked: higher, as many people share an address.
    pub captcha_after_address_failures: u32,
    /// The window in which sign-in failures are counted.
    pub failure_window: Duration,
    /// Failures of one account in the window that lock its password sign-in,
    /// and for how long.
    pub lockout_after_failures: u32,
    pub lockout_duration: Duration,
    /// Whether cookies get `Secure` (the site is served over https).
    pub secure_cookies: bool,
    /// Our reverse proxies: whose `X-Forwarded-For` entries are believed
    /// (none by default).
    pub trusted_proxies: TrustedProxies,
    /// Retries, backoff and the worker's pace.
    pub delivery: delivery::DeliverySettings,
    /// How long an OpenID Connect access or ID token is good for; a retired
    /// signing key stays published this long (and `KEYS_RELOAD`).
    pub oidc_token_ttl: Duration,
    /// What access tokens are signed with (ID tokens are RS256).
    pub oidc_access_token_alg: oidc::jws::Alg,
    /// The privacy policy and the terms a person accepts, with versions.
    pub legal: std::sync::Arc<legal::LegalTexts>,
    /// 注销's cooling-off period: a request waits this long before the
    /// account is erased (zero: at once).
    pub deletion_wait: Duration,
    /// The language of a request that asks for none we have (`i18n`).
    pub default_locale: crate::i18n::Locale,
}

impl Settings {
    /// The site's name for a message in `locale`: `SITE_NAME`, else the
    /// catalogue's (`site.name`).
    pub fn site_name_in(&self, locale: crate::i18n::Locale) -> String {
        self.site_name.clone().unwrap_or_else(|| crate::i18n::Texts::of(locale).site_name().to_owned())
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            password_policy: PasswordPolicy::default(),
            site_name: None,
            public_url: "http://127.0.0.1:3000".into(),
            reset_link_ttl: Duration::from_secs(30 * 60),
            email_link_ttl: Duration::from_secs(24 * 3600),
            recovery_ip_hourly_cap: 10,
            sms_code_ttl: Duration::from_secs(300),
            sms_resend_interval: Duration::from_secs(60),
            sms_daily_cap: 10,
            sms_ip_hourly_cap: 20,
            sms_site_hourly_cap: 1000,
            sms_max_attempts: 5,
            captcha_ttl: Duration::from_secs(300),
            lookups_per_minute: 30,
            captchas_per_minute: 20,
            pow_bits: DEFAULT_POW_BITS,
            session_ttl: Duration::from_secs(86_400),
            remember_ttl: Duration::from_secs(14 * 86_400),
            login_captcha: LoginCaptcha::AfterFailures,
            captcha_after_failures: 3,
            captcha_after_address_failures: 20,
            failure_window: Duration::from_secs(15 * 60),
            lockout_after_failures: 10,
            lockout_duration: Duration::from_secs(15 * 60),
            secure_cookies: false,
            trusted_proxies: TrustedProxies::default(),
            delivery: delivery::DeliverySettings::default(),
            oidc_token_ttl: Duration::from_secs(300),
            oidc_access_token_alg: oidc::jws::Alg::Rs256,
            legal: std::sync::Arc::new(legal::LegalTexts::default()),
            deletion_wait: Duration::from_secs(7 * 86_400),
            default_locale: crate::i18n::Locale::REFERENCE,
        }
    }
}

impl Settings {
    /// A link the site mails: `{PUBLIC_URL}{path}?token=...` (`path` is the
    /// page that opens it, e.g. `/reset`).
    pub fn mailed_link(&self, path: &str, token: &tokens::LinkToken) -> String {
        format!("{}{path}?token={}", self.public_url, token.as_str())
    }
}

/// When sign-in asks for the image captcha.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginCaptcha {
    Always,
    AfterFailures,
    Never,
}

/// Everything the use cases need, built once by the server.
pub struct CoreParts {
    pub db: db::Database,
    pub store: store::Store,
    pub hasher: password_hashing::PasswordHasher,
    pub tokens: tokens::Tokens,
    /// Where the worker sends SMS.
    pub sms: Arc<dyn sms::SmsSender>,
    /// Where an SMS goes when `sms` refuses it for its own account's
    /// reasons or cannot be reached after its retries (`SMS_FALLBACK_PROVIDER`).
    pub sms_fallback: Option<Arc<dyn sms::SmsSender>>,
    /// Where the worker sends e-mail.
    pub mail: Arc<dyn mail::MailSender>,
    /// Where messages wait for the worker.
    pub queue: delivery::Queue,
    /// The development outbox, when `APP_ENV=development`.
    pub outbox: Option<outbox::Outbox>,
    /// Drawing captchas: a bound of its own, apart from password hashing.
    pub captcha_cpu: cpu::CpuLimiter,
    /// The OpenID Connect signing keys, shared through the database.
    pub signing_keys: oidc::keys::SigningKeys,
    pub settings: Settings,
}

/// The one state value both doors share. Cloning is cheap.
#[derive(Clone)]
pub struct Core(Arc<CoreParts>);

impl Core {
    pub fn new(parts: CoreParts) -> Core {
        Core(Arc::new(parts))
    }
}

impl Core {
    /// Who is asking: the connection's peer, or the nearest hop that is not
    /// one of our proxies (`client::TrustedProxies`).
    pub fn client_of(&self, parts: &http::request::Parts) -> Client {
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map_or(IpAddr::from([127, 0, 0, 1]), |info| info.0.ip());
        let forwarded = parts.headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok());
        let user_agent = parts
            .headers
            .get(http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(256).collect())
            .unwrap_or_default();
        let locale = crate::i18n::locale_of_request(&parts.headers, self.settings.default_locale);
        Client { ip: self.settings.trusted_proxies.client_ip(peer, forwarded), user_agent, locale }
    }
}

impl Deref for Core {
    type Target = CoreParts;
    fn deref(&self) -> &CoreParts {
        &self.0
    }
}
