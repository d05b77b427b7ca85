//! One example of each body the document describes, as a reader (or a
//! client's author) would want to see it whole: one account, 小明, from
//! registering to signing in elsewhere. `doc::finish` puts each on its
//! schema (`examples`); the answers with no schema of their own (the
//! discovery document, the keys, userinfo...) carry theirs beside their
//! handler. Tests: every request body and successful answer has one, and
//! each validates against its schema (server/tests/api/openapi.rs, with
//! openapi-schema-validator).

use app::{
    core::sms::SmsRefusal,
    i18n::{Locale, Text, Texts, say},
};
use serde_json::{Value, json};

/// Unix milliseconds: 2026-12-07 08:00 in Beijing.
const AT: i64 = 1_796_601_600_000;
const CAPTCHA_ID: &str = "6bb213bd-47cd-4261-b7e3-3146abf2e44a";
const POW_CHALLENGE: &str =
    "2.6bb213bd47cd4261b7e33146abf2e44a.a30d18f55fa057a8.register.16.1796602561.6e44c4398923cba74c950029407a5245";
const PASSWORD: &str = "Xiaoming-2026";
const NEW_PASSWORD: &str = "Spring-Rain-88";
const SESSION_TOKEN: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIiwiZXhwIjoxNzk2Njg4MDAwLCJpYXQiOjE3OTY2MDE2MDAsInNpZCI6IjdkYTNlMDI2MmYwYTQ5ZTNhZGNhOWI3MjQ1OWRiNDgzIn0.znxk8_htYlTnKbD0JOeLo7WI5HfYSD5Kb3D5o6ZoDsg";
const SESSION_ID: &str = "7da3e0262f0a49e3adca9b72459db483";
const USER_AGENT: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148";
const REDIRECT_URI: &str = "https://shop.example/callback";

/// Each schema's example, by the schema's name in the document.
pub fn schemas() -> serde_json::Map<String, Value> {
    [before_signing_up(), signing_in(), user_centre(), email(), recovery(), errors(), openid_connect(), development()]
        .into_iter()
        .flat_map(|part: Value| match part {
            Value::Object(examples) => examples,
            _ => unreachable!("each part is a JSON object"),
        })
        .collect()
}

/// Before signing up or in.
fn before_signing_up() -> Value {
    json!({
        "SendSmsCodeForm": {
            "mobile": "13800138000", "purpose": "register", "image_code_id": CAPTCHA_ID, "text": "VG5Q",
            "pow_challenge": POW_CHALLENGE, "pow_nonce": "48213",
        },
        "SmsSent": { "resend_after": 60 },
        "SmsCooldown": { "seconds": 42, "refusal": null },
        "SmsRefusalView": { "code": SmsRefusal::Blocked.code(), "message": say(SmsRefusal::Blocked.text()) },
        "PowAnswer": { "challenge": POW_CHALLENGE, "bits": 16 },
        "MobileCount": { "mobile": "13800138000", "count": 0 },
        "UsernameCount": { "username": "xiaoming", "count": 0 },
        "CaptchaRequired": { "required": false },
        "LegalText": { "kind": "privacy", "version": "1", "url": "https://auth.example/privacy" },
    })
}

/// Registering and signing in.
fn signing_in() -> Value {
    json!({
        "RegisterForm": {
            "mobile": "13800138000", "password": PASSWORD, "password2": PASSWORD, "sms_code": "073562",
            "username": "xiaoming", "nickname": "Xiao Ming", "allow": true,
        },
        "LoginForm": {
            "account": "xiaoming", "password": PASSWORD, "remember": true, "image_code_id": null, "text": null,
        },
        "SmsLoginForm": { "mobile": "13800138000", "sms_code": "073562", "remember": false },
        "SignedIn": {
            "id": 1, "username": "xiaoming", "nickname": "Xiao Ming", "avatar": null, "token": SESSION_TOKEN,
            "remember": true, "texts_to_accept": [], "delete_after": null,
        },
    })
}

/// The user centre.
fn user_centre() -> Value {
    json!({
        "Profile": profile(),
        "Me": me(),
        "UpdateMe": { "nickname": "Xiao Ming" },
        "ChangePasswordForm": { "old_password": PASSWORD, "new_password": NEW_PASSWORD, "new_password2": NEW_PASSWORD },
        "SessionView": {
            "id": SESSION_ID, "created_at": AT, "last_seen_at": AT + 60_000, "expires_at": AT + 86_400_000,
            "client_ip": "203.0.113.7", "user_agent": USER_AGENT, "current": true, "clients": ["shop"],
        },
        "AttemptView": {
            "created_at": AT, "client_ip": "203.0.113.7", "user_agent": USER_AGENT, "method": "password",
            "outcome": "success",
        },
        "AcceptanceView": { "kind": "privacy", "version": "1", "accepted_at": AT },
        "AcceptForm": { "kind": "privacy", "version": "2" },
        "ApplicationView": {
            "client_id": "shop", "name": "Demo Shop", "scopes": ["openid", "profile", "phone"],
            "last_authorized_at": AT,
        },
        "DeletionForm": { "password": PASSWORD, "sms_code": "" },
        "DeletionStatus": { "delete_after": AT + 15 * 86_400_000, "erased": false },
    })
}

/// E-mail.
fn email() -> Value {
    json!({
        "BindEmailForm": { "email": "xiaoming@example.com", "password": PASSWORD, "sms_code": "" },
        "EmailStatus": { "verified": null, "pending": "xiaoming@example.com", "pending_expired": false, "resend_after": 60 },
        "PasswordBody": { "password": PASSWORD },
        "EmailVerified": { "email": "xiaoming@example.com", "verified": true },
    })
}

/// Recovery.
fn recovery() -> Value {
    json!({
        "ForgotPasswordForm": {
            "email": "xiaoming@example.com", "mobile": "", "image_code_id": CAPTCHA_ID, "text": "VG5Q",
            "pow_challenge": "", "pow_nonce": "",
        },
        "RecoverySent": { "message": Texts::of(Locale::REFERENCE).answer_link_sent(), "resend_after": 60 },
        "LinkUsable": { "usable": true },
        "ResetPasswordForm": {
            "token": "", "mobile": "13800138000", "sms_code": "073562", "password": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        },
        "PasswordResetDone": { "bound_email": "x***@example.com", "remove_email_ticket": "4f1c9a7e0b2d4e6f8a1c3e5b7d9f0a2c" },
        "RemovalTicket": { "ticket": "4f1c9a7e0b2d4e6f8a1c3e5b7d9f0a2c" },
    })
}

/// Errors.
fn errors() -> Value {
    json!({
        "ErrorBody": {
            "kind": "invalid", "code": "sms_code_wrong", "message": say(Text::error_sms_code_wrong(4)), "field": "sms_code",
            "retry_after": null,
        },
        "OAuthError": { "error": "invalid_grant", "error_description": "the code was already used" },
    })
}

/// OpenID Connect.
fn openid_connect() -> Value {
    json!({
        "AuthorizeParams": {
            "response_type": "code", "client_id": "shop", "redirect_uri": REDIRECT_URI,
            "scope": "openid profile phone", "state": "af0ifjsldkj", "nonce": "n-0S6_WzA2Mj",
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "code_challenge_method": "S256",
            "response_mode": "query", "prompt": null, "max_age": null, "login_hint": null, "ui_locales": "en zh-CN",
        },
        "TokenForm": {
            "grant_type": "authorization_code", "code": "SplxlOBeZQQYbYS6WxSbIA", "redirect_uri": REDIRECT_URI,
            "code_verifier": "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", "client_id": "shop",
            "client_secret": null, "refresh_token": null,
        },
        "TokenResponse": {
            "access_token": "eyJhbGciOiJSUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
            "token_type": "Bearer", "expires_in": 600, "scope": "openid profile phone",
            "id_token": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIiwiYXVkIjoic2hvcCJ9.c2lnbmF0dXJl",
            "refresh_token": "8xLOxBtZp8",
        },
        "TokenQueryForm": {
            "token": "8xLOxBtZp8", "token_type_hint": "refresh_token", "client_id": "shop",
            "client_secret": "s3cr3t-from-clients-create",
        },
        "LogoutParams": {
            "id_token_hint": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIiwiYXVkIjoic2hvcCJ9.c2lnbmF0dXJl",
            "post_logout_redirect_uri": "https://shop.example/", "client_id": "shop", "state": "bye",
        },
    })
}

/// The development outbox.
fn development() -> Value {
    json!({
        "OutboxEntry": {
            "kind": "sms", "to": "13800138000", "text": Texts::of(Locale::REFERENCE).sms_code(5, "073562"),
            "code": "073562", "created_at": "2026-12-07T00:00:01.884Z",
        },
        "DeliveryRecord": {
            "id": "f8eef226ebf24b2092299e60199c32be", "kind": "sms_code", "provider": "outbox",
            "recipient": "138****8000", "purpose": "register", "state": "sent", "attempts": 1, "next_try_at": null,
            "lease_until": null, "last_error": null, "error_code": null, "provider_message_id": null,
            "task_id": "01M96XDW991B1EAWJ1WVK7AW41", "created_at": AT, "updated_at": AT + 85,
            "expires_at": AT + 300_000,
        },
    })
}

fn profile() -> Value {
    json!({
        "id": 1, "username": "xiaoming", "mobile": "138****8000", "email": "xiaoming@example.com",
        "nickname": "Xiao Ming", "created_at": AT, "last_login_at": AT + 60_000, "delete_after": null,
    })
}

/// `/me`'s answer: the profile and one field more.
fn me() -> Value {
    let mut me = profile();
    me["texts_to_accept"] = json!(["privacy"]);
    me
}

/// The answers with no schema of their own, by path, method and status.
pub fn answers() -> Vec<(&'static str, &'static str, &'static str, Value)> {
    let userinfo = json!({
        "sub": "1", "preferred_username": "xiaoming", "nickname": "Xiao Ming", "phone_number": "+8613800138000",
        "phone_number_verified": true,
    });
    vec![
        (
            "/api/v1/openapi.json",
            "get",
            "200",
            json!({
                "openapi": "3.1.0", "info": { "title": "mobile-auth", "version": "0.1.0" }, "paths": {},
            }),
        ),
        (
            "/api/v1/me/export",
            "get",
            "200",
            json!({
                "exported_at": AT, "profile": {
                    "id": 1, "username": "xiaoming", "mobile": "13800138000", "email": "xiaoming@example.com",
                    "email_verified": true, "nickname": "Xiao Ming", "is_active": true, "created_at": AT,
                    "last_login_at": AT + 60_000, "delete_after": null,
                },
                "sessions": [], "login_history": [], "applications": [], "deliveries": [],
                "consents": [{ "kind": "privacy", "version": "1", "accepted_at": AT, "client_ip": "203.0.113.7",
                    "user_agent": USER_AGENT }],
            }),
        ),
        (
            "/.well-known/openid-configuration",
            "get",
            "200",
            json!({
                "issuer": "https://auth.example", "authorization_endpoint": "https://auth.example/oauth2/authorize",
                "token_endpoint": "https://auth.example/oauth2/token", "jwks_uri": "https://auth.example/oauth2/jwks",
                "userinfo_endpoint": "https://auth.example/oauth2/userinfo", "response_types_supported": ["code"],
                "scopes_supported": ["openid", "profile", "phone", "email", "offline_access"],
                "code_challenge_methods_supported": ["S256"], "id_token_signing_alg_values_supported": ["RS256"],
                "subject_types_supported": ["public"],
            }),
        ),
        (
            "/oauth2/jwks",
            "get",
            "200",
            json!({ "keys": [{
                "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": "-6W00D8dvEaak-8wPjWucv1mVheO5XjHhmCMfbqdp9I",
                "x": "i0t-EJv9pcEyahRs-RXyQ4SuR-zeI394WZr44qbemD0", "y": "uD5b6fXoCPaHIK5E6RYty3dLEvOQiaToRo4hIn1X5b4",
            }]}),
        ),
        (
            "/oauth2/introspect",
            "post",
            "200",
            json!({
                "active": true, "token_type": "Bearer", "scope": "openid profile phone", "client_id": "shop", "sub": "1",
                "aud": "shop", "iss": "https://auth.example", "iat": AT / 1000, "exp": AT / 1000 + 600,
            }),
        ),
        ("/oauth2/userinfo", "get", "200", userinfo.clone()),
        ("/oauth2/userinfo", "post", "200", userinfo),
    ]
}
