//! Signing in to other sites through us: OpenID Connect Core 1.0, the
//! authorization code flow with PKCE (RFC 7636, S256 only). `authorize`
//! answers the browser a client sent (a code, an error for the client, or
//! our sign-in page first); `exchange_code` is the client's back channel;
//! `userinfo` answers an access token while its grant stands. With
//! `offline_access`, a refresh token comes too: each use gives a new one,
//! and a used one presented again revokes its whole family (the grant).
//!
//! Errors that must not go back to a client (an unknown client, a redirect
//! URI it did not register) are `AuthorizeError`, shown on a page of ours:
//! redirecting then would be an open redirect. Every other refusal goes back
//! to the registered URI with `error`, `state` and `iss` (RFC 9207).

use super::{
    Authenticated, now_ms,
    password_attempts::{AttemptKeys, CaptchaThresholds, CountedAttempt},
};
use crate::core::{
    Client, Core,
    db::DbError,
    oidc::{
        AUTHORIZE_PATH, CODE_TTL_MS, CONSENT_PAGE, SCOPES,
        clients::Client as OidcClient,
        consents::covers,
        grants::{LiveGrant, NewGrant, Redeemed, Refreshed},
        hash_secret, is_s256_challenge,
        jws::{self, Alg},
        keys::KeyError,
        new_secret, pkce_matches,
    },
    store::{PasswordGate, StoreError, keys},
};
use crate::i18n::Text;
use crate::{
    error::{AppError, ErrorCode, ErrorKind},
    wire::ConsentView,
};
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

/// The longest authorization request we take (its query): it travels again
/// through our sign-in page.
const REQUEST_MAX: usize = 2048;
/// Failed client authentications, per client and address, before that
/// address is refused for the client (like failed passwords, but per
/// address: a client's id is public, and no one may lock a site out).
const CLIENT_FAILURES_LOCK_AFTER: u32 = 10;

/// An authorization request's parameters, as sent (query or form).
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuthorizeParams {
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub response_type: Option<String>,
    pub response_mode: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub prompt: Option<String>,
    pub max_age: Option<String>,
    pub login_hint: Option<String>,
    /// The languages the person reads, most preferred first (OpenID
    /// Connect Core §3.1.2.1): our pages take the first we have, unless
    /// the person chose one here.
    pub ui_locales: Option<String>,
}

/// Where the browser goes next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Authorize {
    /// Back to the client, with a code or an error (a full URI).
    Redirect(String),
    /// Our sign-in page, then this request again (`next`, a path of ours).
    SignIn { next: String, login_hint: Option<String> },
    /// A third party asks: our consent page shows `request` (the
    /// authorization request, a query) and the person decides
    /// (`decide_consent`).
    Consent { request: String },
    /// A text the person accepted has changed: our page asks first, then
    /// this request again (`next`, a path of ours).
    AcceptTexts { next: String },
    /// The person asked for 注销 and signed in during the cooling-off
    /// period: our page says when the account goes and offers 撤销注销
    /// first, then this request again (`next`, a path of ours).
    DeletionPending { next: String },
}

impl Authorize {
    /// The URI the browser is sent to.
    pub fn location(&self) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        match self {
            Authorize::Redirect(to) => to.clone(),
            Authorize::SignIn { next, login_hint } => {
                query.append_pair("next", next);
                if let Some(hint) = login_hint {
                    query.append_pair("account", hint);
                }
                format!("/login?{}", query.finish())
            }
            Authorize::Consent { request } => {
                format!("{CONSENT_PAGE}?{}", query.append_pair("request", request).finish())
            }
            Authorize::AcceptTexts { next } => crate::rules::accept_texts_path(next),
            Authorize::DeletionPending { next } => crate::rules::deletion_path(next),
        }
    }
}

/// The person's answer on the consent page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsentDecision {
    Allow,
    Deny,
}

/// A request that cannot go back to its client: our page says why.
#[derive(Debug, thiserror::Error)]
pub enum AuthorizeError {
    #[error("unknown client_id")]
    UnknownClient,
    #[error("the client is disabled")]
    DisabledClient,
    #[error("the redirect_uri is not one the client registered")]
    BadRedirectUri,
    #[error("the request is too long")]
    TooLong,
    /// A parameter sent twice (RFC 6749 §3.1), or a request that is not a
    /// query at all.
    #[error("malformed request: {0}")]
    Malformed(String),
    #[error("unavailable: {0}")]
    Unavailable(String),
}

impl AuthorizeError {
    /// What our page tells the person.
    pub fn text(&self) -> Text {
        match self {
            AuthorizeError::UnknownClient => Text::error_unknown_client(),
            AuthorizeError::DisabledClient => Text::error_disabled_client(),
            AuthorizeError::BadRedirectUri => Text::error_bad_redirect_uri(),
            AuthorizeError::TooLong => Text::error_request_too_long(),
            AuthorizeError::Malformed(name) => Text::error_malformed_request(name),
            AuthorizeError::Unavailable(_) => Text::failure_unavailable(),
        }
    }
}

impl AuthorizeParams {
    /// The first of `ui_locales` we have a language for.
    pub fn ui_locale(&self) -> Option<crate::i18n::Locale> {
        self.ui_locales.as_deref()?.split_whitespace().find_map(crate::i18n::Locale::matching)
    }

    /// Reads a request's query (or form body): each parameter at most once.
    pub fn parse(query: &str) -> Result<AuthorizeParams, AuthorizeError> {
        let mut seen = std::collections::HashSet::new();
        for (name, _) in url::form_urlencoded::parse(query.as_bytes()) {
            if !seen.insert(name.clone()) {
                return Err(AuthorizeError::Malformed(name.chars().take(32).collect()));
            }
        }
        serde_urlencoded::from_str(query).map_err(|_| AuthorizeError::Malformed("?".into()))
    }
}

impl From<DbError> for AuthorizeError {
    fn from(e: DbError) -> Self {
        AuthorizeError::Unavailable(e.to_string())
    }
}

impl From<AuthorizeError> for AppError {
    fn from(e: AuthorizeError) -> AppError {
        let code = match &e {
            AuthorizeError::Unavailable(why) => {
                tracing::error!(error = %why, "an OpenID Connect request failed");
                return AppError::unavailable();
            }
            AuthorizeError::UnknownClient => ErrorCode::UnknownClient,
            AuthorizeError::DisabledClient => ErrorCode::DisabledClient,
            AuthorizeError::BadRedirectUri => ErrorCode::BadRedirectUri,
            AuthorizeError::TooLong => ErrorCode::RequestTooLong,
            AuthorizeError::Malformed(_) => ErrorCode::MalformedRequest,
        };
        AppError::new(ErrorKind::BadRequest, code, e.text())
    }
}

/// One refusal the client hears, at its redirect URI.
struct ClientError {
    error: &'static str,
    description: &'static str,
}

fn refuse(error: &'static str, description: &'static str) -> ClientError {
    ClientError { error, description }
}

/// Answers an authorization request. `signed_in` is the browser's session,
/// if any; `query` is the request as sent (for the way back from sign-in).
#[tracing::instrument(name = "oidc_authorize", skip_all)]
pub fn authorize<'a>(
    core: &'a Core,
    signed_in: Option<&'a Authenticated>,
    params: &'a AuthorizeParams,
    query: &'a str,
) -> BoxFuture<'a, Result<Authorize, AuthorizeError>> {
    Box::pin(async move { authorize_with(core, signed_in, params, query, None).await })
}

/// The person's answer on the consent page to `request` (the authorization
/// request it showed): a code for the client, or `access_denied`. The
/// request is checked again as a whole: nothing the page held is trusted.
#[tracing::instrument(name = "oidc_consent", skip_all)]
pub fn decide_consent<'a>(
    core: &'a Core,
    signed_in: Option<&'a Authenticated>,
    request: &'a str,
    decision: ConsentDecision,
) -> BoxFuture<'a, Result<Authorize, AuthorizeError>> {
    Box::pin(async move {
        let params = AuthorizeParams::parse(request)?;
        authorize_with(core, signed_in, &params, request, Some(decision)).await
    })
}

/// What the consent page shows for `request`: the client, what it asks
/// for, and where the answer goes.
pub fn consent_request<'a>(core: &'a Core, request: &'a str) -> BoxFuture<'a, Result<ConsentView, AuthorizeError>> {
    Box::pin(async move {
        let params = AuthorizeParams::parse(request)?;
        let (client, redirect_uri) = registered_client(core, &params, request).await?;
        let asked =
            parse_request(&client, &params).map_err(|refusal| AuthorizeError::Malformed(refusal.error.into()))?;
        let redirect_host = url::Url::parse(redirect_uri).ok().and_then(|u| u.host_str().map(str::to_owned));
        Ok(ConsentView {
            client_name: client.name,
            scopes: asked.scope.split(' ').map(str::to_owned).collect(),
            redirect_host: redirect_host
                .unwrap_or_else(|| redirect_uri.split(':').next().unwrap_or_default().to_owned()),
        })
    })
}

/// The request's client, enabled, and its redirect URI, registered: what
/// must hold before anything may go back to it.
async fn registered_client<'p>(
    core: &Core,
    params: &'p AuthorizeParams,
    query: &str,
) -> Result<(OidcClient, &'p str), AuthorizeError> {
    if query.len() > REQUEST_MAX {
        return Err(AuthorizeError::TooLong);
    }
    let client_id = params.client_id.as_deref().unwrap_or_default();
    let client = core.db.find_client(client_id).await?.ok_or(AuthorizeError::UnknownClient)?;
    if !client.enabled {
        return Err(AuthorizeError::DisabledClient);
    }
    let redirect_uri = params.redirect_uri.as_deref().filter(|uri| client.redirects_to(uri));
    let redirect_uri = redirect_uri.ok_or(AuthorizeError::BadRedirectUri)?;
    Ok((client, redirect_uri))
}

async fn authorize_with(
    core: &Core,
    signed_in: Option<&Authenticated>,
    params: &AuthorizeParams,
    query: &str,
    decision: Option<ConsentDecision>,
) -> Result<Authorize, AuthorizeError> {
    let (client, redirect_uri) = registered_client(core, params, query).await?;
    let back = |outcome: Result<String, ClientError>| {
        let mut url = url::Url::parse(redirect_uri).map_err(|_| AuthorizeError::BadRedirectUri)?;
        {
            let mut pairs = url.query_pairs_mut();
            match &outcome {
                Ok(code) => pairs.append_pair("code", code),
                Err(refusal) => {
                    pairs.append_pair("error", refusal.error).append_pair("error_description", refusal.description)
                }
            };
            if let Some(state) = &params.state {
                pairs.append_pair("state", state);
            }
            pairs.append_pair("iss", &core.settings.public_url);
        }
        Ok(Authorize::Redirect(url.into()))
    };
    let request = match parse_request(&client, params) {
        Ok(request) => request,
        Err(refusal) => return back(Err(refusal)),
    };
    let Some(auth) = signed_in.filter(|auth| fresh_enough(auth, &request)) else {
        if request.prompt_none {
            return back(Err(refuse("login_required", "the person is not signed in")));
        }
        return Ok(Authorize::SignIn {
            next: format!("{AUTHORIZE_PATH}?{}", without_login_prompt(query)),
            login_hint: params.login_hint.clone().filter(|hint| hint.len() <= 64),
        });
    };
    if auth.user.delete_after.is_some() {
        if request.prompt_none {
            return back(Err(refuse("interaction_required", "the person asked to delete the account")));
        }
        return Ok(Authorize::DeletionPending { next: format!("{AUTHORIZE_PATH}?{}", without_login_prompt(query)) });
    }
    if !core.db.texts_to_accept(auth.user.id, &core.settings.legal).await?.is_empty() {
        if request.prompt_none {
            return back(Err(refuse("interaction_required", "the person must accept the site's updated terms")));
        }
        return Ok(Authorize::AcceptTexts { next: format!("{AUTHORIZE_PATH}?{}", without_login_prompt(query)) });
    }
    match decision {
        Some(ConsentDecision::Deny) => {
            return back(Err(refuse("access_denied", "the person did not allow the application")));
        }
        Some(ConsentDecision::Allow) if client.consent => {
            core.db.record_consent(auth.user.id, &client.client_id, &request.scope, now_ms()).await?;
        }
        Some(ConsentDecision::Allow) => {}
        None if client.consent => {
            let given = core.db.consented_scope(auth.user.id, &client.client_id).await?;
            let covered = given.is_some_and(|given| covers(&given, &request.scope));
            if request.prompt_consent || !covered {
                if request.prompt_none {
                    return back(Err(refuse("consent_required", "the person has not allowed this application")));
                }
                return Ok(Authorize::Consent { request: without_login_prompt(query) });
            }
        }
        None => {}
    }
    let code = new_secret();
    let (code_hash, grant_id, now) = (hash_secret(&code), uuid::Uuid::new_v4().simple().to_string(), now_ms());
    core.db
        .insert_grant(&NewGrant {
            id: &grant_id,
            client_id: &client.client_id,
            user_id: auth.user.id,
            session_id: &auth.session.id,
            scope: &request.scope,
            nonce: params.nonce.as_deref(),
            redirect_uri,
            code_hash: &code_hash,
            code_challenge: params.code_challenge.as_deref(),
            code_expires_at: now + CODE_TTL_MS,
            now_ms: now,
        })
        .await?;
    tracing::info!(client_id = %client.client_id, user_id = auth.user.id, "authorization code issued");
    back(Ok(code))
}

/// What an authorization request asks, once it holds.
struct Request {
    /// The scopes we know, in our order.
    scope: String,
    prompt_none: bool,
    prompt_login: bool,
    /// Ask for consent even if it was given before.
    prompt_consent: bool,
    max_age: Option<i64>,
}

fn parse_request(client: &OidcClient, params: &AuthorizeParams) -> Result<Request, ClientError> {
    if params.response_mode.as_deref().is_some_and(|mode| mode != "query") {
        return Err(refuse("invalid_request", "only response_mode=query is supported"));
    }
    if params.response_type.as_deref() != Some("code") {
        return Err(refuse("unsupported_response_type", "only response_type=code is supported"));
    }
    let asked: Vec<&str> = params.scope.as_deref().unwrap_or_default().split(' ').collect();
    if !asked.contains(&"openid") {
        return Err(refuse("invalid_scope", "the openid scope is required"));
    }
    let scope = SCOPES.iter().filter(|known| asked.contains(known)).copied().collect::<Vec<_>>().join(" ");
    match (params.code_challenge.as_deref(), params.code_challenge_method.as_deref()) {
        (None, None) if client.public => {
            return Err(refuse("invalid_request", "PKCE is required: send code_challenge with S256"));
        }
        (None, None) => {}
        (Some(challenge), Some("S256")) if is_s256_challenge(challenge) => {}
        (Some(_), Some("S256")) => return Err(refuse("invalid_request", "code_challenge is not an S256 challenge")),
        (Some(_), None | Some("plain")) => {
            return Err(refuse("invalid_request", "code_challenge_method must be S256; plain is not supported"));
        }
        _ => return Err(refuse("invalid_request", "code_challenge and code_challenge_method=S256 go together")),
    }
    let prompts: Vec<&str> =
        params.prompt.as_deref().unwrap_or_default().split(' ').filter(|p| !p.is_empty()).collect();
    let prompt_none = prompts.contains(&"none");
    if prompt_none && prompts.len() > 1 {
        return Err(refuse("invalid_request", "prompt=none goes alone"));
    }
    let max_age = match params.max_age.as_deref() {
        None => None,
        Some(raw) => Some(
            raw.parse::<i64>()
                .ok()
                .filter(|age| *age >= 0)
                .ok_or_else(|| refuse("invalid_request", "max_age must be a number of seconds"))?,
        ),
    };
    Ok(Request {
        scope,
        prompt_none,
        prompt_login: prompts.contains(&"login"),
        prompt_consent: prompts.contains(&"consent"),
        max_age,
    })
}

/// Whether the session is recent enough for the request (`prompt=login`
/// wants a sign-in made for it: within the last minute; `max_age` within
/// that many seconds).
fn fresh_enough(auth: &Authenticated, request: &Request) -> bool {
    let age_s = (now_ms() - auth.session.created_at) / 1000;
    let login_ok = !request.prompt_login || age_s <= 60;
    let max_age_ok = request.max_age.is_none_or(|max| age_s <= max);
    login_ok && max_age_ok
}

/// The request again, without `login` among its prompts: after the fresh
/// sign-in it asked for, coming back must not ask for another.
fn without_login_prompt(query: &str) -> String {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .filter_map(|(k, v)| {
            if k != "prompt" {
                return Some((k.into_owned(), v.into_owned()));
            }
            let kept: Vec<&str> = v.split(' ').filter(|p| *p != "login" && !p.is_empty()).collect();
            (!kept.is_empty()).then(|| (k.into_owned(), kept.join(" ")))
        })
        .collect();
    url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

/// A token request's form (RFC 6749 §4.1.3).
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct TokenForm {
    pub grant_type: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

/// What the token endpoint answers.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    /// With a code; not with a refresh (OpenID Connect Core §12.2 lets it
    /// go, and it halves what a refresh costs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// With `offline_access`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub scope: String,
}

/// A refusal at the token endpoint (RFC 6749 §5.2).
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("{0}")]
    InvalidRequest(&'static str),
    /// The client did not authenticate; `basic`: it tried with HTTP Basic
    /// (the answer then names the scheme).
    #[error("{description}")]
    InvalidClient { description: &'static str, basic: bool },
    #[error("{0}")]
    InvalidGrant(&'static str),
    #[error("grant_type must be authorization_code or refresh_token")]
    UnsupportedGrantType,
    #[error("the service is unavailable")]
    Unavailable(String),
}

impl TokenError {
    /// The `error` code RFC 6749 names.
    pub fn code(&self) -> &'static str {
        match self {
            TokenError::InvalidRequest(_) => "invalid_request",
            TokenError::InvalidClient { .. } => "invalid_client",
            TokenError::InvalidGrant(_) => "invalid_grant",
            TokenError::UnsupportedGrantType => "unsupported_grant_type",
            TokenError::Unavailable(_) => "temporarily_unavailable",
        }
    }
}

impl From<DbError> for TokenError {
    fn from(e: DbError) -> Self {
        TokenError::Unavailable(e.to_string())
    }
}
impl From<StoreError> for TokenError {
    fn from(e: StoreError) -> Self {
        TokenError::Unavailable(e.to_string())
    }
}
impl From<KeyError> for TokenError {
    fn from(e: KeyError) -> Self {
        TokenError::Unavailable(e.to_string())
    }
}

/// The client's credentials as the request carried them: HTTP Basic
/// (`client_secret_basic`), the form (`client_secret_post`), or its id
/// alone (a public client).
pub struct ClientCredentials {
    pub basic: Option<(String, String)>,
}

/// The token endpoint: a code exchanged for tokens, or a refresh token for
/// fresh ones, for the client they were issued to.
#[tracing::instrument(name = "oidc_token", skip_all)]
pub fn exchange_code<'a>(
    core: &'a Core,
    caller: &'a Client,
    credentials: &'a ClientCredentials,
    form: &'a TokenForm,
) -> BoxFuture<'a, Result<TokenResponse, TokenError>> {
    Box::pin(async move {
        let client =
            authenticate_client(core, caller, credentials, form.client_id.as_deref(), form.client_secret.as_deref())
                .await?;
        match form.grant_type.as_deref() {
            Some("authorization_code") => redeem_code(core, &client, form).await,
            Some("refresh_token") => refresh(core, &client, form).await,
            _ => Err(TokenError::UnsupportedGrantType),
        }
    })
}

async fn redeem_code(core: &Core, client: &OidcClient, form: &TokenForm) -> Result<TokenResponse, TokenError> {
    let code = form.code.as_deref().ok_or(TokenError::InvalidRequest("code is required"))?;
    let grant = match core.db.redeem_code(&hash_secret(code), now_ms()).await? {
        Redeemed::Granted(grant) => grant,
        Redeemed::Replayed => {
            tracing::warn!(client_id = %client.client_id, "a code was used twice; its grant is revoked");
            return Err(TokenError::InvalidGrant("the code was used already; what it gave is revoked"));
        }
        Redeemed::Expired => return Err(TokenError::InvalidGrant("the code has expired")),
        Redeemed::Unknown => return Err(TokenError::InvalidGrant("the code is not valid")),
    };
    if grant.client_id != client.client_id {
        return Err(TokenError::InvalidGrant("the code was issued to another client"));
    }
    if form.redirect_uri.as_deref() != Some(grant.redirect_uri.as_str()) {
        return Err(TokenError::InvalidGrant("redirect_uri differs from the authorization request's"));
    }
    match (grant.code_challenge.as_deref(), form.code_verifier.as_deref()) {
        (Some(challenge), Some(verifier)) if pkce_matches(verifier, challenge) => {}
        (Some(_), Some(_)) => return Err(TokenError::InvalidGrant("code_verifier does not match the challenge")),
        (Some(_), None) => return Err(TokenError::InvalidGrant("code_verifier is required")),
        // A verifier for a code issued without a challenge: someone
        // stripped the challenge from the request (a PKCE downgrade).
        (None, Some(_)) => return Err(TokenError::InvalidGrant("the authorization request had no code_challenge")),
        (None, None) => {}
    }
    let live = core.db.live_grant(&grant.id, now_ms()).await?;
    let live = live.ok_or(TokenError::InvalidGrant("the sign-in behind the code has ended"))?;
    let mut response = issue_tokens(core, &live, Some(grant.nonce.as_deref())).await?;
    if live.scope.split(' ').any(|s| s == "offline_access") {
        let refresh_token = new_secret();
        let hash = hash_secret(&refresh_token);
        core.db.insert_refresh_token(&hash, &live.id, now_ms(), live.session_expires_at).await?;
        response.refresh_token = Some(refresh_token);
    }
    tracing::info!(client_id = %client.client_id, user_id = live.user_id, "tokens issued");
    Ok(response)
}

/// A refresh token for a new access token and a new refresh token; the one
/// presented is used up. Presented again, it revokes its family: someone
/// else has a copy (RFC 9700 §4.14.2).
async fn refresh(core: &Core, client: &OidcClient, form: &TokenForm) -> Result<TokenResponse, TokenError> {
    let token = form.refresh_token.as_deref().ok_or(TokenError::InvalidRequest("refresh_token is required"))?;
    let next = new_secret();
    let live = match core.db.rotate_refresh_token(&hash_secret(token), &hash_secret(&next), now_ms()).await? {
        Refreshed::Rotated { grant } => grant,
        Refreshed::Reused => {
            tracing::warn!(client_id = %client.client_id, "a refresh token was used twice; its family is revoked");
            return Err(TokenError::InvalidGrant("the refresh token was used already; its sign-in is revoked"));
        }
        Refreshed::Unknown => return Err(TokenError::InvalidGrant("the refresh token is not valid")),
    };
    let live = live.ok_or(TokenError::InvalidGrant("the sign-in behind the refresh token has ended"))?;
    if live.client_id != client.client_id {
        // Another client holds this client's token: it is stolen.
        core.db.revoke_grant(&live.id, now_ms()).await?;
        return Err(TokenError::InvalidGrant("the refresh token was issued to another client"));
    }
    let mut response = issue_tokens(core, &live, None).await?;
    response.refresh_token = Some(next);
    Ok(response)
}

/// Checks who is calling the token endpoint. A confidential client must
/// show its secret; failures count per client and address like failed
/// passwords, before the secret is compared, so that simultaneous guesses
/// get no more verdicts than the limit allows.
async fn authenticate_client(
    core: &Core,
    caller: &Client,
    credentials: &ClientCredentials,
    form_client_id: Option<&str>,
    form_secret: Option<&str>,
) -> Result<OidcClient, TokenError> {
    let basic = credentials.basic.is_some();
    let invalid = |description| TokenError::InvalidClient { description, basic };
    let (client_id, secret) = match (&credentials.basic, form_secret) {
        (Some(_), Some(_)) => return Err(TokenError::InvalidRequest("one client authentication method at a time")),
        (Some((id, secret)), None) => {
            if form_client_id.is_some_and(|form_id| form_id != id) {
                return Err(TokenError::InvalidRequest("client_id differs from the authenticated client"));
            }
            (id.as_str(), Some(secret.as_str()))
        }
        (None, secret) => (form_client_id.ok_or(invalid("client authentication is required"))?, secret),
    };
    let client = core.db.find_client(client_id).await?.ok_or(invalid("unknown client"))?;
    if !client.enabled {
        return Err(invalid("the client is disabled"));
    }
    if client.public {
        return match secret {
            None => Ok(client),
            Some(_) => Err(invalid("a public client has no secret")),
        };
    }
    let secret = secret.ok_or(invalid("the client secret is required"))?;
    let net = caller.network();
    let keys = AttemptKeys {
        failures: keys::oidc_client_failures(client_id, &net),
        lock: keys::oidc_client_lock(client_id, &net),
        ip: keys::oidc_client_failures_ip(&net),
        ip_account: None,
    };
    let mut attempt = CountedAttempt::with_lock(core, keys, CaptchaThresholds::default(), CLIENT_FAILURES_LOCK_AFTER);
    match attempt.gate().await? {
        PasswordGate::Proceed => {}
        PasswordGate::Wait | PasswordGate::CaptchaRequired => {
            return Err(TokenError::Unavailable("client authentications from this address are queueing".into()));
        }
        PasswordGate::Locked { .. } => {
            return Err(invalid("too many failed client authentications from this address; try later"));
        }
    }
    let right = client.secret_matches(secret);
    attempt.settle(right).await?;
    if !right {
        tracing::warn!(client_id, "a client secret was wrong");
        return Err(invalid("the client secret is wrong"));
    }
    Ok(client)
}

/// The claims of an ID token (OpenID Connect Core §2): what it must say,
/// and no more.
#[derive(Serialize)]
struct IdTokenClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    exp: i64,
    iat: i64,
    auth_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
    sid: String,
    amr: &'static [&'static str],
}

/// The claims of an access token (RFC 9068).
#[derive(Serialize, Deserialize)]
struct AccessTokenClaims {
    iss: String,
    sub: String,
    aud: String,
    client_id: String,
    exp: i64,
    iat: i64,
    jti: String,
    scope: String,
    /// The grant it belongs to: userinfo answers only while it stands.
    gid: String,
}

/// The `typ` of an access token (RFC 9068 §2.1).
const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// How the session was signed in, as `amr` (RFC 8176).
fn amr(method: &str) -> &'static [&'static str] {
    match method {
        "sms" => &["sms"],
        "register" => &["pwd", "sms"],
        _ => &["pwd"],
    }
}

/// An access token for `grant`, and an ID token when `id_token` is given
/// (with the request's nonce, if any).
async fn issue_tokens(
    core: &Core,
    grant: &LiveGrant,
    id_token: Option<Option<&str>>,
) -> Result<TokenResponse, TokenError> {
    let keys = core.signing_keys.current().await?;
    let signer = |alg: Alg| keys.signer(alg).ok_or_else(|| TokenError::Unavailable(format!("no {} key", alg.as_str())));
    // ID tokens are RS256, which every client checks; access tokens are
    // what `OIDC_ACCESS_TOKEN_ALG` says (ES256 signs in a twenty-fifth of
    // the time, for resource servers that check it).
    let (id_kid, id_key) = signer(Alg::Rs256)?;
    let (access_kid, access_key) = signer(core.settings.oidc_access_token_alg)?;
    let subject = match &grant.subject {
        Some(subject) => subject.clone(),
        None => core.db.oidc_subject(grant.user_id).await?,
    };
    let (now, ttl) = (now_ms() / 1000, core.settings.oidc_token_ttl.as_secs() as i64);
    let issuer = core.settings.public_url.as_str();
    let id_token = id_token.map(|nonce| IdTokenClaims {
        iss: issuer,
        sub: &subject,
        aud: &grant.client_id,
        exp: now + ttl,
        iat: now,
        auth_time: grant.auth_time / 1000,
        nonce,
        // The session, as this client may know it: not our session id.
        sid: core.tokens.tag("oidc-sid", &grant.session_id),
        amr: amr(&grant.method),
    });
    let access = AccessTokenClaims {
        iss: issuer.to_owned(),
        sub: subject.clone(),
        aud: grant.client_id.clone(),
        client_id: grant.client_id.clone(),
        exp: now + ttl,
        iat: now,
        jti: uuid::Uuid::new_v4().simple().to_string(),
        scope: grant.scope.clone(),
        gid: grant.id.clone(),
    };
    Ok(TokenResponse {
        id_token: id_token.map(|claims| sign_token(id_key, id_kid, None, &claims)).transpose()?,
        access_token: sign_token(access_key, access_kid, Some(ACCESS_TOKEN_TYP), &access)?,
        token_type: "Bearer",
        expires_in: ttl as u64,
        refresh_token: None,
        scope: grant.scope.clone(),
    })
}

/// Signs `claims` with `key`: a token, or why not.
fn sign_token(
    key: &jws::PrivateKey,
    kid: &str,
    typ: Option<&str>,
    claims: &impl Serialize,
) -> Result<String, TokenError> {
    jws::sign(key, kid, typ, claims).map_err(|e| TokenError::Unavailable(e.to_string()))
}

/// A refused access token at the userinfo endpoint (RFC 6750 §3.1).
#[derive(Debug, thiserror::Error)]
pub enum UserinfoError {
    #[error("{0}")]
    InvalidToken(&'static str),
    #[error("the service is unavailable")]
    Unavailable(String),
}

impl From<DbError> for UserinfoError {
    fn from(e: DbError) -> Self {
        UserinfoError::Unavailable(e.to_string())
    }
}
impl From<KeyError> for UserinfoError {
    fn from(e: KeyError) -> Self {
        UserinfoError::Unavailable(e.to_string())
    }
}

/// The claims an access token's scopes name, while its grant stands (the
/// session behind it live, the account active, nothing revoked).
#[tracing::instrument(name = "oidc_userinfo", skip_all)]
pub fn userinfo<'a>(
    core: &'a Core,
    bearer: Option<&'a str>,
) -> BoxFuture<'a, Result<serde_json::Value, UserinfoError>> {
    Box::pin(async move {
        let token = bearer.ok_or(UserinfoError::InvalidToken("an access token is required"))?;
        let claims = read_access_token(core, token).await?.map_err(UserinfoError::InvalidToken)?;
        let grant = core.db.live_grant(&claims.gid, now_ms()).await?;
        let grant = grant.filter(|g| g.client_id == claims.client_id);
        let grant = grant.ok_or(UserinfoError::InvalidToken("the sign-in behind the token has ended"))?;
        let user = core.db.find_user(grant.user_id).await?;
        let user = user.ok_or(UserinfoError::InvalidToken("the account is gone"))?;
        let scopes: Vec<&str> = grant.scope.split(' ').collect();
        let mut answer = serde_json::json!({ "sub": claims.sub });
        if scopes.contains(&"profile") {
            answer["preferred_username"] = user.username.clone().into();
            answer["nickname"] = user.nickname.clone().into();
        }
        if scopes.contains(&"phone") {
            answer["phone_number"] = format!("+86{}", user.mobile).into();
            answer["phone_number_verified"] = true.into();
        }
        if scopes.contains(&"email")
            && let Some(email) = user.email.as_deref().filter(|_| user.email_verified)
        {
            answer["email"] = email.into();
            answer["email_verified"] = true.into();
        }
        Ok(answer)
    })
}

/// An access token of ours, signed by a published key, of type `at+jwt`,
/// not expired; `Err(why)` when it is none of that. (Whether its grant
/// stands is the caller's question.)
async fn read_access_token(core: &Core, token: &str) -> Result<Result<AccessTokenClaims, &'static str>, KeyError> {
    let keys = core.signing_keys.current().await?;
    let Ok(checked) = jws::verify::<AccessTokenClaims>(token, |kid| keys.public_key(kid)) else {
        return Ok(Err("the access token is not valid"));
    };
    let claims = checked.claims;
    if checked.typ.as_deref() != Some(ACCESS_TOKEN_TYP) || claims.iss != core.settings.public_url {
        return Ok(Err("not an access token of ours"));
    }
    if claims.exp <= now_ms() / 1000 {
        return Ok(Err("the access token has expired"));
    }
    Ok(Ok(claims))
}

/// A revocation or introspection request's form (RFC 7009, RFC 7662).
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct TokenQueryForm {
    pub token: Option<String>,
    pub token_type_hint: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

/// The grant a token of ours belongs to, read without using it up: a
/// refresh token (by its hash), or an access token (by its signature).
async fn grant_of(core: &Core, token: &str) -> Result<Option<(String, TokenKind)>, TokenError> {
    if let Some(grant_id) = core.db.refresh_token_grant(&hash_secret(token), now_ms()).await? {
        return Ok(Some((grant_id, TokenKind::Refresh)));
    }
    Ok(read_access_token(core, token)
        .await?
        .ok()
        .map(|claims| (claims.gid.clone(), TokenKind::Access(Box::new(claims)))))
}

enum TokenKind {
    Refresh,
    Access(Box<AccessTokenClaims>),
}

/// Revokes a token the client holds (RFC 7009): its grant ends, so the
/// access and refresh tokens of that sign-in stop at once. A token that is
/// not ours, or not this client's, changes nothing, and the answer is the
/// same (§2.2: the client learns nothing from it).
#[tracing::instrument(name = "oidc_revoke", skip_all)]
pub fn revoke<'a>(
    core: &'a Core,
    caller: &'a Client,
    credentials: &'a ClientCredentials,
    form: &'a TokenQueryForm,
) -> BoxFuture<'a, Result<(), TokenError>> {
    Box::pin(async move {
        let client =
            authenticate_client(core, caller, credentials, form.client_id.as_deref(), form.client_secret.as_deref())
                .await?;
        let token = form.token.as_deref().ok_or(TokenError::InvalidRequest("token is required"))?;
        let Some((grant_id, _)) = grant_of(core, token).await? else { return Ok(()) };
        if core.db.grant_client(&grant_id).await?.as_deref() == Some(client.client_id.as_str()) {
            core.db.revoke_grant(&grant_id, now_ms()).await?;
            tracing::info!(client_id = %client.client_id, "a token was revoked by its client");
        }
        Ok(())
    })
}

/// Says whether a token is active, and what it is for (RFC 7662): for a
/// confidential client (a resource server is registered as one), and only
/// while the sign-in behind the token lasts.
#[tracing::instrument(name = "oidc_introspect", skip_all)]
pub fn introspect<'a>(
    core: &'a Core,
    caller: &'a Client,
    credentials: &'a ClientCredentials,
    form: &'a TokenQueryForm,
) -> BoxFuture<'a, Result<serde_json::Value, TokenError>> {
    Box::pin(async move {
        let client =
            authenticate_client(core, caller, credentials, form.client_id.as_deref(), form.client_secret.as_deref())
                .await?;
        if client.public {
            let basic = credentials.basic.is_some();
            return Err(TokenError::InvalidClient { description: "introspection is for confidential clients", basic });
        }
        let inactive = serde_json::json!({ "active": false });
        let token = form.token.as_deref().ok_or(TokenError::InvalidRequest("token is required"))?;
        let Some((grant_id, kind)) = grant_of(core, token).await? else { return Ok(inactive) };
        let Some(grant) = core.db.live_grant(&grant_id, now_ms()).await? else { return Ok(inactive) };
        let subject = core.db.oidc_subject(grant.user_id).await?;
        let mut answer = serde_json::json!({
            "active": true,
            "scope": grant.scope,
            "client_id": grant.client_id,
            "sub": subject,
            "iss": core.settings.public_url,
        });
        match kind {
            TokenKind::Access(claims) => {
                answer["token_type"] = "Bearer".into();
                answer["exp"] = claims.exp.into();
                answer["iat"] = claims.iat.into();
                answer["aud"] = claims.aud.into();
            }
            TokenKind::Refresh => {
                answer["token_type"] = "refresh_token".into();
                answer["exp"] = (grant.session_expires_at / 1000).into();
            }
        }
        Ok(answer)
    })
}

/// An RP-initiated sign-out request's parameters (OpenID Connect
/// RP-Initiated Logout 1.0).
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogoutParams {
    pub id_token_hint: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
    pub client_id: Option<String>,
}

/// What a sign-out request did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggedOut {
    /// The browser's session here was ended (its cookie goes too).
    pub ended: bool,
    /// Where the browser goes: the client's registered URI with `state`;
    /// `None`: our own page says the person is signed out (or how to).
    pub redirect: Option<String>,
}

/// The claims of an ID token a client sends back as a hint.
#[derive(Deserialize)]
struct IdTokenHint {
    iss: String,
    aud: String,
    sid: String,
}

/// Ends the browser's session when a client asks, with an ID token we
/// issued for that very session (`id_token_hint`; expired is fine): a page
/// elsewhere cannot sign people out by sending them here. Then back to a
/// post-logout URI the client registered, or to our page.
#[tracing::instrument(name = "oidc_logout", skip_all)]
pub fn oidc_logout<'a>(
    core: &'a Core,
    signed_in: Option<&'a Authenticated>,
    params: &'a LogoutParams,
) -> BoxFuture<'a, Result<LoggedOut, AuthorizeError>> {
    Box::pin(async move {
        let hint = match params.id_token_hint.as_deref() {
            None => None,
            Some(token) => {
                let keys = core.signing_keys.current().await.map_err(|e| AuthorizeError::Unavailable(e.to_string()))?;
                let read = jws::verify::<IdTokenHint>(token, |kid| keys.public_key(kid)).ok();
                let read = read.filter(|v| v.typ.is_none() && v.claims.iss == core.settings.public_url);
                Some(read.ok_or(AuthorizeError::Malformed("id_token_hint".into()))?.claims)
            }
        };
        let client_id = match (&hint, params.client_id.as_deref()) {
            (Some(hint), Some(id)) if hint.aud != id => return Err(AuthorizeError::Malformed("client_id".into())),
            (Some(hint), _) => Some(hint.aud.clone()),
            (None, id) => id.map(str::to_owned),
        };
        let redirect = match params.post_logout_redirect_uri.as_deref() {
            None => None,
            Some(uri) => {
                let client = match &client_id {
                    Some(id) => core.db.find_client(id).await?,
                    None => None,
                };
                let registered =
                    client.is_some_and(|c| c.enabled && c.post_logout_redirect_uris.iter().any(|r| r == uri));
                if !registered {
                    return Err(AuthorizeError::BadRedirectUri);
                }
                let mut url = url::Url::parse(uri).map_err(|_| AuthorizeError::BadRedirectUri)?;
                if let Some(state) = &params.state {
                    url.query_pairs_mut().append_pair("state", state);
                }
                Some(String::from(url))
            }
        };
        let ours = |auth: &Authenticated| {
            hint.as_ref().is_some_and(|hint| hint.sid == core.tokens.tag("oidc-sid", &auth.session.id))
        };
        let ended = match signed_in {
            Some(auth) if ours(auth) => {
                core.db.end_session(auth.user.id, &auth.session.id, now_ms()).await?;
                tracing::info!(user_id = auth.user.id, client_id = ?client_id, "signed out at a client's request");
                true
            }
            _ => false,
        };
        Ok(LoggedOut { ended, redirect })
    })
}
