//! The OpenAPI 3.1 document's own parts: its root (title, tags, security
//! schemes), the error answers the handlers name (`Invalid`, `Limited`...),
//! and `finish`, which adds what every operation shares (a 503 when a
//! dependency is down, a 403 for a cross-site request) and the rules in
//! force (the mobile and username patterns, the code's six digits, the
//! password lengths from the settings) to the document the handlers made.

use app::{
    core::Core,
    rules::{MOBILE_PATTERN, NICKNAME_MAX_CHARS, Purpose, SMS_CODE_LEN, USERNAME_PATTERN},
};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use utoipa::{
    IntoResponses, OpenApi,
    openapi::{RefOr, response::Response},
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "mobile-auth",
        description = "Sign-up and sign-in with a mobile number, an SMS code and a password; the user centre; \
            recovery by e-mail or SMS; OpenID Connect for other sites. A guide with the flows and limits is \
            docs/api.md. Errors are `ErrorBody`; `message` is in the request's language (`lang` cookie, else `Accept-Language`), `code` is stable.",
        license(name = "MIT OR Apache-2.0")
    ),
    components(schemas(super::ErrorBody)),
    tags(
        (name = "codes", description = "Captchas, SMS codes and lookups before signing up or in"),
        (name = "sign-in", description = "Registration and the two ways to sign in"),
        (name = "account", description = "The signed-in person's account (the user centre)"),
        (name = "e-mail", description = "Binding and verifying an e-mail address"),
        (name = "recovery", description = "A forgotten password"),
        (name = "openid-connect", description = "Other sites signing in through us"),
        (name = "meta", description = "This document"),
        (name = "development", description = "Only when the development outbox is on"),
    )
)]
struct ApiDoc;

/// The document's root, before the handlers add their paths.
pub fn root() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// One error answer, with `ErrorBody` as its JSON (and `Retry-After` for
/// a 429).
fn error_response(status: u16, description: &str) -> RefOr<Response> {
    let mut response = json!({
        "description": description,
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ErrorBody" } } },
    });
    if status == 429 {
        response["headers"] = json!({ "Retry-After": {
            "description": "Seconds until trying again makes sense (also `retry_after` in the body)",
            "schema": { "type": "integer", "minimum": 1 },
        }});
    }
    serde_json::from_value(response).expect("an error response is a valid OpenAPI response")
}

/// Error answers a handler names in its `responses(...)`.
macro_rules! error_answers {
    ($($(#[$meta:meta])* $name:ident { $($status:literal => $description:literal),+ $(,)? })*) => {
        $(
            $(#[$meta])*
            pub struct $name;

            impl IntoResponses for $name {
                fn responses() -> BTreeMap<String, RefOr<Response>> {
                    [$(($status, $description)),+]
                        .into_iter()
                        .map(|(status, description)| (status.to_string(), error_response(status, description)))
                        .collect()
                }
            }
        )*
    };
}

error_answers! {
    /// The body is not what the operation reads.
    BadBody {
        400 => "`bad_request`: not JSON, or not `Content-Type: application/json`",
        413 => "`payload_too_large`: the body is over 64 KiB",
    }
    /// A rule is broken: `field` names the field, `code` the rule.
    Invalid { 422 => "A field breaks a rule (`field` names it), or one is missing or of the wrong type (`bad_request`)" }
    /// No session, or not a live one.
    SignedOut { 401 => "`signed_out`: no token, or its session ended" }
    /// A limit or cooldown: try again after `Retry-After` seconds.
    Limited { 429 => "A limit or cooldown (`code` says which); `Retry-After` says when to try again" }
    Missing { 404 => "No such thing on this account" }
    Conflict { 409 => "Conflicts with the account's state or another account (`code` says which)" }
}

/// The document as served: the handlers' paths under their prefixes, what
/// every operation shares, and the rules in force.
pub fn finish(document: utoipa::openapi::OpenApi, core: &Core) -> Value {
    let mut document = serde_json::to_value(document).expect("the document is JSON");
    shared_answers(&mut document);
    links(&mut document);
    security_schemes(&mut document, core);
    rules(&mut document, core);
    examples(&mut document);
    document
}

/// The examples (`examples.rs`) on their schemas and answers. (Those of
/// the development outbox find no place in production.)
fn examples(document: &mut Value) {
    for (name, example) in super::examples::schemas() {
        if let Some(schema) = document["components"]["schemas"].get_mut(&name).and_then(Value::as_object_mut) {
            schema.insert("examples".into(), json!([example]));
        }
    }
    for (path, method, status, example) in super::examples::answers() {
        // `get_mut`, not indexing: indexing would add what is missing.
        let answer = ["paths", path, method, "responses", status, "content", "application/json"]
            .into_iter()
            .try_fold(&mut *document, |value, key| value.get_mut(key));
        if let Some(media) = answer.and_then(Value::as_object_mut) {
            media.insert("example".into(), example);
        }
    }
}

/// A dependency down (503) can happen anywhere; a state-changing request
/// from another site's page is refused (403) everywhere but the OpenID
/// Connect endpoints other sites call.
fn shared_answers(document: &mut Value) {
    let cross_site_paths = crate::oidc::CROSS_SITE_PATHS;
    let Some(paths) = document["paths"].as_object_mut() else { return };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else { continue };
        for (method, operation) in item.iter_mut() {
            let responses = &mut operation["responses"];
            if responses.get("503").is_none() {
                responses["503"] = to_value(error_response(503, "`unavailable` or `busy`: try again later"));
            }
            let changes_state = !matches!(method.as_str(), "get" | "head" | "options");
            if changes_state && !cross_site_paths.contains(&path.as_str()) && responses.get("403").is_none() {
                responses["403"] = to_value(error_response(
                    403,
                    "`cross_site_request`: sent by another site's page (its `Origin` or `Sec-Fetch-Site` says so)",
                ));
            }
        }
    }
}

/// What one answer lets a client (and a stateful fuzzer) do next:
/// registered, sign in with the same mobile and password; a session listed,
/// end it.
fn links(document: &mut Value) {
    let paths = &mut document["paths"];
    let registered = &mut paths["/api/v1/users"]["post"]["responses"]["201"];
    if registered.is_object() {
        registered["links"] = json!({ "SignIn": {
            "operationId": "login",
            "requestBody": { "account": "$request.body#/mobile", "password": "$request.body#/password" },
            "description": "Sign in with what was registered",
        }});
    }
    let listed = &mut paths["/api/v1/me/sessions"]["get"]["responses"]["200"];
    if listed.is_object() {
        listed["links"] = json!({ "EndSession": {
            "operationId": "end_session",
            "parameters": { "id": "$response.body#/0/id" },
            "description": "End the first session listed",
        }});
    }
}

fn to_value(response: RefOr<Response>) -> Value {
    serde_json::to_value(response).expect("a response is JSON")
}

/// The session token, as `Authorization: Bearer` or as the cookie.
fn security_schemes(document: &mut Value, core: &Core) {
    let cookie = app::core::tokens::cookie_name(core.settings.secure_cookies);
    document["components"]["securitySchemes"] = json!({
        "bearer": {
            "type": "http", "scheme": "bearer",
            "description": "The `token` a sign-in answered",
        },
        "cookie": {
            "type": "apiKey", "in": "cookie", "name": cookie,
            "description": "The session cookie a sign-in set (what the pages use)",
        },
    });
}

/// Our own rules, where a request names them: from `app::rules` and the
/// settings in force.
fn rules(document: &mut Value, core: &Core) {
    let policy = core.settings.password_policy;
    let mobile = json!({ "pattern": MOBILE_PATTERN, "example": "13800138000",
        "description": "A mainland mobile number; spaces, dashes and a leading +86 or 0086 are accepted and removed" });
    let code = json!({ "pattern": format!("^[0-9]{{{SMS_CODE_LEN}}}$"), "example": "123456",
        "description": "The code the SMS carried" });
    let password = json!({ "minLength": policy.min_chars, "maxLength": policy.max_chars,
        "description": format!("{}-{} characters, not a common password, not all one kind of character",
            policy.min_chars, policy.max_chars) });
    let username = json!({ "pattern": USERNAME_PATTERN, "example": "xiaoming",
        "description": "Optional: a letter first, then letters, digits, `_` or `-`" });
    let nickname = json!({ "maxLength": NICKNAME_MAX_CHARS });
    let purpose = json!({ "enum": Purpose::ALL.map(Purpose::as_str) });
    let fields: [(&str, &str, &Value); 14] = [
        ("RegisterForm", "mobile", &mobile),
        ("RegisterForm", "sms_code", &code),
        ("RegisterForm", "password", &password),
        ("RegisterForm", "password2", &password),
        ("RegisterForm", "username", &username),
        ("RegisterForm", "nickname", &nickname),
        ("SmsLoginForm", "mobile", &mobile),
        ("SmsLoginForm", "sms_code", &code),
        ("SendSmsCodeForm", "mobile", &mobile),
        ("SendSmsCodeForm", "purpose", &purpose),
        ("ChangePasswordForm", "new_password", &password),
        ("ChangePasswordForm", "new_password2", &password),
        ("ResetPasswordForm", "password", &password),
        ("ResetPasswordForm", "password2", &password),
    ];
    for (schema, field, rule) in fields {
        merge(&mut document["components"]["schemas"][schema]["properties"][field], rule);
    }
    merge(&mut document["components"]["schemas"]["UpdateMe"]["properties"]["nickname"], &nickname);
    let uuid = json!({ "format": "uuid" });
    let parameters: [(&str, &str, &Value); 7] = [
        ("/api/v1/mobiles/{mobile}/count", "mobile", &mobile),
        ("/api/v1/sms_codes/{mobile}/cooldown", "mobile", &mobile),
        ("/api/v1/usernames/{username}/count", "username", &username),
        ("/api/v1/sms_codes/{mobile}/cooldown", "purpose", &purpose),
        ("/api/v1/image_codes/{id}/pow", "purpose", &purpose),
        ("/api/v1/image_codes/{id}", "id", &uuid),
        ("/api/v1/image_codes/{id}/pow", "id", &uuid),
    ];
    for (path, name, rule) in parameters {
        merge_parameter(document, path, name, rule);
    }
}

/// `rule`'s keys into a schema (or a property's schema), beside its own.
fn merge(target: &mut Value, rule: &Value) {
    if let (Some(target), Some(rule)) = (target.as_object_mut(), rule.as_object()) {
        for (key, value) in rule {
            target.insert(key.clone(), value.clone());
        }
    }
}

fn merge_parameter(document: &mut Value, path: &str, name: &str, rule: &Value) {
    let Some(operations) = document["paths"][path].as_object_mut() else { return };
    for operation in operations.values_mut() {
        let Some(parameters) = operation["parameters"].as_array_mut() else { continue };
        for parameter in parameters.iter_mut().filter(|p| p["name"] == name) {
            merge(&mut parameter["schema"], rule);
        }
    }
}
