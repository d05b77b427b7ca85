//! The OpenID Connect provider's endpoints (the protocol is the `oidc` use
//! case): discovery, the JWK Set, authorization, the token endpoint and
//! userinfo. Their answers are what the specifications say, for a stock
//! client library to read: OAuth error bodies, `no-store` on tokens, a
//! `WWW-Authenticate` on a refused access token.

use app::core::{
    Core,
    mail::templates::escape,
    oidc::{
        AUTHORIZE_PATH, DISCOVERY_PATH, END_SESSION_PATH, INTROSPECTION_PATH, JWKS_PATH, REVOCATION_PATH, TOKEN_PATH,
        USERINFO_PATH, discovery,
    },
    use_cases::{
        self, AuthorizeError, AuthorizeParams, ClientCredentials, LogoutParams, TokenError, TokenForm, TokenQueryForm,
        TokenResponse,
    },
};
use axum::{
    Json, Router,
    extract::{RawQuery, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Redirect, Response},
};
use base64::{Engine, engine::general_purpose::STANDARD as B64};
use leptos::config::LeptosOptions;
use utoipa_axum::{router::OpenApiRouter, routes};

/// The paths other sites' pages and servers call: no cookie of ours acts
/// there (so the cross-site check does not apply), and any origin may read
/// the answers (`Access-Control-Allow-Origin: *`, no credentials).
pub const CROSS_SITE_PATHS: [&str; 8] = [
    DISCOVERY_PATH,
    JWKS_PATH,
    AUTHORIZE_PATH,
    TOKEN_PATH,
    USERINFO_PATH,
    REVOCATION_PATH,
    INTROSPECTION_PATH,
    END_SESSION_PATH,
];

/// The endpoints, each with its part of the OpenAPI document.
pub fn routes(core: Core) -> (Router<LeptosOptions>, utoipa::openapi::OpenApi) {
    let (router, document) = OpenApiRouter::new()
        .routes(routes!(discovery_document))
        .routes(routes!(jwks))
        .routes(routes!(authorize_get, authorize_post))
        .routes(routes!(token, token_preflight))
        .routes(routes!(userinfo_get, userinfo_post, userinfo_preflight))
        .routes(routes!(revoke, revoke_preflight))
        .routes(routes!(introspect))
        .routes(routes!(logout_get, logout_post))
        .layer(axum::middleware::map_response(readable_by_any_origin))
        .with_state(core)
        .split_for_parts();
    (router.with_state(()), document)
}

/// An OAuth error (RFC 6749 §5.2).
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct OAuthError {
    /// `invalid_request`, `invalid_client`, `invalid_grant`,
    /// `unsupported_grant_type`, `invalid_token` or `temporarily_unavailable`.
    error: String,
    error_description: String,
}

async fn readable_by_any_origin(mut response: Response) -> Response {
    response.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    response
}

/// A browser asks before it sends `Authorization` from another origin.
#[utoipa::path(options, path = TOKEN_PATH, tag = "openid-connect",
    responses((status = 204, description = "CORS preflight: GET and POST with `authorization`, `content-type`")))]
async fn token_preflight() -> Response {
    preflight()
}

/// A browser asks before it sends `Authorization` from another origin.
#[utoipa::path(options, path = USERINFO_PATH, tag = "openid-connect",
    responses((status = 204, description = "CORS preflight: GET and POST with `authorization`, `content-type`")))]
async fn userinfo_preflight() -> Response {
    preflight()
}

/// A browser asks before it sends `Authorization` from another origin.
#[utoipa::path(options, path = REVOCATION_PATH, tag = "openid-connect",
    responses((status = 204, description = "CORS preflight: GET and POST with `authorization`, `content-type`")))]
async fn revoke_preflight() -> Response {
    preflight()
}

fn preflight() -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST"));
    headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("authorization, content-type"));
    headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    response
}

/// The provider's metadata (OpenID Connect Discovery 1.0).
#[utoipa::path(get, path = DISCOVERY_PATH, tag = "openid-connect",
    responses((status = 200, description = "The metadata; caches may keep it an hour", body = Object)))]
async fn discovery_document(State(core): State<Core>) -> Response {
    let mut response = Json(discovery(&core.settings.public_url)).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    response
}

/// The JWK Set. Caches may keep it a minute: a rotation publishes the new
/// keys at once (and the old ones until their tokens end), and a client
/// that meets an unknown `kid` fetches it again.
#[utoipa::path(get, path = JWKS_PATH, tag = "openid-connect",
    responses(
        (status = 200, description = "The public signing keys (`{\"keys\": [...]}`)", body = Object),
        (status = 503, description = "The keys cannot be read now", body = OAuthError),
    ))]
async fn jwks(State(core): State<Core>) -> Response {
    match core.signing_keys.current().await {
        Ok(keys) => {
            let mut response = Json(keys.jwks()).into_response();
            response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=60"));
            response
        }
        Err(e) => {
            tracing::error!(error = %e, "the signing keys are unavailable");
            oauth_error(StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable", "the signing keys are unavailable")
        }
    }
}

/// Start a sign-in for a client (the authorization code flow, PKCE).
///
/// Goes (302) to our sign-in, consent or texts page when the person must act,
/// else back to the client's `redirect_uri` with a `code` or an `error`. A
/// request that cannot go back (an unknown client or `redirect_uri`) is
/// refused on a page of ours.
#[utoipa::path(get, path = AUTHORIZE_PATH, tag = "openid-connect", params(AuthorizeParams),
    responses(
        (status = 303, description = "To the client, or to our page where the person acts", headers(("Location" = String))),
        (status = 400, description = "Cannot go back to the client: said on a page", content_type = "text/html", body = String),
        (status = 503, description = "Unavailable: said on a page", content_type = "text/html", body = String),
    ))]
async fn authorize_get(State(core): State<Core>, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    let query = query.unwrap_or_default();
    match AuthorizeParams::parse(&query) {
        Ok(params) => authorize(&core, &headers, &params, &query).await,
        Err(e) => error_page(&e),
    }
}

/// The same request as a form post (OpenID Connect Core §3.1.2.1): a form
/// body is a query, which comes back from sign-in as one.
#[utoipa::path(post, path = AUTHORIZE_PATH, tag = "openid-connect",
    request_body(content = AuthorizeParams, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "To the client, or to our page where the person acts", headers(("Location" = String))),
        (status = 400, description = "Cannot go back to the client: said on a page", content_type = "text/html", body = String),
        (status = 503, description = "Unavailable: said on a page", content_type = "text/html", body = String),
    ))]
async fn authorize_post(State(core): State<Core>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let query = String::from_utf8_lossy(&body);
    match AuthorizeParams::parse(&query) {
        Ok(params) => authorize(&core, &headers, &params, &query).await,
        Err(e) => error_page(&e),
    }
}

async fn authorize(core: &Core, headers: &HeaderMap, params: &AuthorizeParams, query: &str) -> Response {
    let token = app::core::tokens::token_from_request(headers, core.settings.secure_cookies);
    let signed_in = match use_cases::authenticate(core, token).await {
        Ok(signed_in) => signed_in,
        Err(e) => return error_page(&AuthorizeError::Unavailable(e.to_string())),
    };
    match use_cases::authorize(core, signed_in.as_ref(), params, query).await {
        Ok(next) => {
            let mut response = Redirect::to(&next.location()).into_response();
            // Our page asks the person something: in the language the site
            // asked for (`ui_locales`), unless the person chose one.
            if !matches!(next, use_cases::Authorize::Redirect(_))
                && app::i18n::lang_cookie(headers).is_none()
                && let Some(locale) = params.ui_locale()
            {
                let cookie = app::i18n::lang_set_cookie(locale, None, core.settings.secure_cookies);
                if let Ok(value) = HeaderValue::from_str(&cookie) {
                    response.headers_mut().append(header::SET_COOKIE, value);
                }
            }
            response
        }
        Err(e) => error_page(&e),
    }
}

/// A request that cannot go back to its client: said on a page of ours.
fn error_page(error: &AuthorizeError) -> Response {
    if let AuthorizeError::Unavailable(why) = error {
        tracing::error!(error = %why, "an OpenID Connect request failed");
    }
    let status = match error {
        AuthorizeError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    };
    let texts = crate::language::texts();
    message_page(status, texts.plain_request_failed(), &texts.say(&error.text()))
}

/// A plain page of ours: a title and one message.
fn message_page(status: StatusCode, title: &str, message: &str) -> Response {
    let texts = crate::language::texts();
    let (title, message, home) = (escape(title), escape(message), escape(texts.plain_home()));
    let page = format!(
        "<!DOCTYPE html><html lang=\"{}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title}</title></head>\
         <body><h1>{title}</h1><p data-testid=\"oidc-message\">{message}</p><p><a href=\"/\">{home}</a></p></body></html>",
        texts.locale().tag()
    );
    (status, Html(page)).into_response()
}

async fn back_channel<F: serde::de::DeserializeOwned>(
    core: &Core,
    request: axum::extract::Request,
) -> Result<(app::core::Client, ClientCredentials, F), Response> {
    let (parts, body) = request.into_parts();
    let caller = core.client_of(&parts);
    let basic = basic_credentials(&parts.headers).map_err(|()| {
        token_error(&TokenError::InvalidClient { description: "malformed Basic credentials", basic: true })
    })?;
    let bytes = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map_err(|_| token_error(&TokenError::InvalidRequest("the request body is too large")))?;
    let form = serde_urlencoded::from_bytes::<F>(&bytes).map_err(|_| {
        token_error(&TokenError::InvalidRequest("the body must be a form (application/x-www-form-urlencoded)"))
    })?;
    Ok((caller, ClientCredentials { basic }, form))
}

/// Revocation (RFC 7009): 200 whatever the token was, once the client
/// authenticated.
#[utoipa::path(post, path = REVOCATION_PATH, tag = "openid-connect",
    request_body(content = TokenQueryForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Revoked, or was no token of this client's"),
        (status = 400, description = "A malformed request", body = OAuthError),
        (status = 401, description = "`invalid_client`", body = OAuthError),
        (status = 503, description = "`temporarily_unavailable`", body = OAuthError),
    ))]
async fn revoke(State(core): State<Core>, request: axum::extract::Request) -> Response {
    let (caller, credentials, form) = match back_channel::<TokenQueryForm>(&core, request).await {
        Ok(read) => read,
        Err(refused) => return refused,
    };
    match use_cases::revoke(&core, &caller, &credentials, &form).await {
        Ok(()) => {
            let mut response = StatusCode::OK.into_response();
            no_store(&mut response);
            response
        }
        Err(e) => token_error(&e),
    }
}

/// Introspection (RFC 7662), for confidential clients.
#[utoipa::path(post, path = INTROSPECTION_PATH, tag = "openid-connect",
    request_body(content = TokenQueryForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "`{\"active\": false}`, or the token's claims with `active: true`", body = Object),
        (status = 400, description = "A malformed request", body = OAuthError),
        (status = 401, description = "`invalid_client`", body = OAuthError),
        (status = 503, description = "`temporarily_unavailable`", body = OAuthError),
    ))]
async fn introspect(State(core): State<Core>, request: axum::extract::Request) -> Response {
    let (caller, credentials, form) = match back_channel::<TokenQueryForm>(&core, request).await {
        Ok(read) => read,
        Err(refused) => return refused,
    };
    match use_cases::introspect(&core, &caller, &credentials, &form).await {
        Ok(answer) => {
            let mut response = Json(answer).into_response();
            no_store(&mut response);
            response
        }
        Err(e) => token_error(&e),
    }
}

/// Exchange a code (with its PKCE verifier), or a refresh token, for tokens.
#[utoipa::path(post, path = TOKEN_PATH, tag = "openid-connect",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The tokens (never cached)", body = TokenResponse),
        (status = 400, description = "`invalid_request`, `invalid_grant` or `unsupported_grant_type`", body = OAuthError),
        (status = 401, description = "`invalid_client`", body = OAuthError),
        (status = 503, description = "`temporarily_unavailable`", body = OAuthError),
    ))]
async fn token(State(core): State<Core>, request: axum::extract::Request) -> Response {
    let (caller, credentials, form) = match back_channel::<TokenForm>(&core, request).await {
        Ok(read) => read,
        Err(refused) => return refused,
    };
    match use_cases::exchange_code(&core, &caller, &credentials, &form).await {
        Ok(tokens) => {
            let mut response = Json(tokens).into_response();
            no_store(&mut response);
            response
        }
        Err(e) => token_error(&e),
    }
}

/// `client_secret_basic`: the id and secret, each form-urlencoded, in HTTP
/// Basic (RFC 6749 §2.3.1). `Err` for a Basic header that says nothing.
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, ()> {
    let Some(value) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else { return Ok(None) };
    let Some(encoded) = value.strip_prefix("Basic ") else { return Ok(None) };
    let decoded = B64.decode(encoded.trim()).map_err(|_| ())?;
    let decoded = String::from_utf8(decoded).map_err(|_| ())?;
    let (id, secret) = decoded.split_once(':').ok_or(())?;
    let unescape = |s: &str| {
        url::form_urlencoded::parse(format!("v={s}").as_bytes()).next().map(|(_, v)| v.into_owned()).ok_or(())
    };
    Ok(Some((unescape(id)?, unescape(secret)?)))
}

fn token_error(error: &TokenError) -> Response {
    let status = match error {
        TokenError::InvalidClient { .. } => StatusCode::UNAUTHORIZED,
        TokenError::Unavailable(why) => {
            tracing::error!(error = %why, "the token endpoint failed");
            StatusCode::SERVICE_UNAVAILABLE
        }
        _ => StatusCode::BAD_REQUEST,
    };
    let mut response = oauth_error(status, error.code(), &error.to_string());
    if let TokenError::InvalidClient { basic: true, .. } = error {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"oauth2\""));
    }
    response
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut response =
        (status, Json(serde_json::json!({ "error": error, "error_description": description }))).into_response();
    no_store(&mut response);
    response
}

fn no_store(response: &mut Response) {
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response.headers_mut().insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// The claims the access token's scopes allow.
#[utoipa::path(get, path = USERINFO_PATH, tag = "openid-connect", security(("bearer" = [])),
    responses(
        (status = 200, description = "`sub` and the claims of the granted scopes", body = Object),
        (status = 401, description = "`invalid_token` (also in `WWW-Authenticate`)", body = OAuthError),
        (status = 503, description = "`temporarily_unavailable`", body = OAuthError),
    ))]
async fn userinfo_get(State(core): State<Core>, headers: HeaderMap) -> Response {
    userinfo(&core, &headers).await
}

/// The claims the access token's scopes allow.
#[utoipa::path(post, path = USERINFO_PATH, tag = "openid-connect", security(("bearer" = [])),
    responses(
        (status = 200, description = "`sub` and the claims of the granted scopes", body = Object),
        (status = 401, description = "`invalid_token` (also in `WWW-Authenticate`)", body = OAuthError),
        (status = 503, description = "`temporarily_unavailable`", body = OAuthError),
    ))]
async fn userinfo_post(State(core): State<Core>, headers: HeaderMap) -> Response {
    userinfo(&core, &headers).await
}

async fn userinfo(core: &Core, headers: &HeaderMap) -> Response {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match use_cases::userinfo(core, bearer).await {
        Ok(claims) => {
            let mut response = Json(claims).into_response();
            no_store(&mut response);
            response
        }
        Err(use_cases::UserinfoError::InvalidToken(why)) => {
            let mut response = oauth_error(StatusCode::UNAUTHORIZED, "invalid_token", why);
            let challenge = format!("Bearer error=\"invalid_token\", error_description=\"{why}\"");
            if let Ok(value) = HeaderValue::from_str(&challenge) {
                response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
            }
            response
        }
        Err(use_cases::UserinfoError::Unavailable(why)) => {
            tracing::error!(error = %why, "userinfo failed");
            oauth_error(StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable", "try again later")
        }
    }
}

/// RP-initiated sign-out (OpenID Connect RP-Initiated Logout 1.0).
#[utoipa::path(get, path = END_SESSION_PATH, tag = "openid-connect", params(LogoutParams),
    responses(
        (status = 303, description = "Back to the client's `post_logout_redirect_uri`", headers(("Location" = String))),
        (status = 200, description = "Our page says what happened", content_type = "text/html", body = String),
        (status = 400, description = "A request we refuse: said on a page", content_type = "text/html", body = String),
    ))]
async fn logout_get(State(core): State<Core>, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    logout_request(&core, &headers, query.unwrap_or_default().as_bytes()).await
}

/// RP-initiated sign-out, as a form post.
#[utoipa::path(post, path = END_SESSION_PATH, tag = "openid-connect",
    request_body(content = LogoutParams, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Back to the client's `post_logout_redirect_uri`", headers(("Location" = String))),
        (status = 200, description = "Our page says what happened", content_type = "text/html", body = String),
        (status = 400, description = "A request we refuse: said on a page", content_type = "text/html", body = String),
    ))]
async fn logout_post(State(core): State<Core>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    logout_request(&core, &headers, &body).await
}

/// A sign-out request's parameters, as a query or a form body, read as
/// `authorize_post` reads its form: what is no form (or another content
/// type) is refused on our page, with the other refusals.
async fn logout_request(core: &Core, headers: &HeaderMap, form: &[u8]) -> Response {
    match serde_urlencoded::from_bytes::<LogoutParams>(form) {
        Ok(params) => logout(core, headers, &params).await,
        Err(_) => error_page(&AuthorizeError::Malformed("the request must be a form".into())),
    }
}

/// RP-initiated sign-out: the session ends only for an ID token we issued
/// for it (a cross-site request may ask; only the client that holds that
/// token can make it happen); then back to the client, or our page.
async fn logout(core: &Core, headers: &HeaderMap, params: &use_cases::LogoutParams) -> Response {
    let token = app::core::tokens::token_from_request(headers, core.settings.secure_cookies);
    let signed_in = match use_cases::authenticate(core, token).await {
        Ok(signed_in) => signed_in,
        Err(e) => return error_page(&AuthorizeError::Unavailable(e.to_string())),
    };
    match use_cases::oidc_logout(core, signed_in.as_ref(), params).await {
        Ok(done) => {
            let mut response = match done.redirect {
                Some(to) => Redirect::to(&to).into_response(),
                None if done.ended || signed_in.is_none() => {
                    let texts = crate::language::texts();
                    message_page(StatusCode::OK, texts.plain_signed_out_title(), texts.plain_signed_out())
                }
                None => {
                    let texts = crate::language::texts();
                    message_page(StatusCode::OK, texts.plain_logout_title(), texts.plain_logout_unconfirmed())
                }
            };
            if done.ended {
                let cleared = app::core::tokens::cleared_cookie(core.settings.secure_cookies);
                if let Ok(value) = HeaderValue::from_str(&cleared) {
                    response.headers_mut().append(header::SET_COOKIE, value);
                }
            }
            response
        }
        Err(e) => error_page(&e),
    }
}
