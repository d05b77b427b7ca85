//! The JSON API under `/api/v1`: the same use cases the pages call, with the
//! errors mapped to HTTP once, in `ApiError`. Each handler declares its path,
//! input and answers beside its code (`#[utoipa::path]`), and `routes` makes
//! the router and the OpenAPI document from the same list: a route cannot
//! exist undescribed (`doc` holds the rest of the document; docs/api.md the
//! guide).

pub mod doc;
pub mod examples;

use app::i18n::Text;
use app::{
    core::{
        Client, Core,
        delivery::DeliveryRecord,
        tokens,
        use_cases::{self, Authenticated, SessionError},
    },
    error::{AppError, ErrorCode, ErrorKind},
    rules::LegalKind,
    wire::{
        AcceptanceView, ApplicationView, AttemptView, BindEmailForm, ChangePasswordForm, DeletionForm, DeletionStatus,
        EmailStatus, ForgotPasswordForm, LoginForm, OutboxEntry, PasswordResetDone, Profile, RecoverySent,
        RegisterForm, ResetPasswordForm, SendSmsCodeForm, SessionView, SignedIn, SmsCooldown, SmsLoginForm, SmsSent,
    },
};
use axum::{
    Extension, Json,
    extract::{FromRequest, FromRequestParts, Path, Query, State, rejection::JsonRejection},
    http::{HeaderValue, StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
};
use doc::{BadBody, Conflict, Invalid, Limited, Missing, SignedOut};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

/// Every route under `/api/v1`, each with its part of the document. The
/// development outbox's routes exist (and are described) only when it does.
pub fn routes(core: Core) -> OpenApiRouter {
    let dev_outbox = core.outbox.is_some();
    let mut router = OpenApiRouter::new()
        .routes(routes!(image_code))
        .routes(routes!(pow_challenge))
        .routes(routes!(send_sms_code))
        .routes(routes!(sms_cooldown))
        .routes(routes!(mobile_count))
        .routes(routes!(username_count))
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(login_captcha))
        .routes(routes!(sms_login))
        .routes(routes!(logout))
        .routes(routes!(me, update_me))
        .routes(routes!(change_password))
        .routes(routes!(sessions, end_all_sessions))
        .routes(routes!(end_session))
        .routes(routes!(logins))
        .routes(routes!(acceptances, accept_text))
        .routes(routes!(export))
        .routes(routes!(request_deletion, cancel_deletion))
        .routes(routes!(legal_texts))
        .routes(routes!(applications))
        .routes(routes!(revoke_application))
        .routes(routes!(email_status, bind_email, remove_email))
        .routes(routes!(resend_email_link))
        .routes(routes!(verify_email))
        .routes(routes!(forgot_password))
        .routes(routes!(reset_password))
        .routes(routes!(remove_email_after_reset))
        .routes(routes!(reset_link_status))
        .routes(routes!(openapi_json));
    if dev_outbox {
        router = router.routes(routes!(outbox)).routes(routes!(deliveries));
    }
    router.fallback(not_found).with_state(core)
}

/// The finished document, as `GET /api/v1/openapi.json` serves it.
#[derive(Clone)]
pub struct Document(pub axum::body::Bytes);

/// This document: OpenAPI 3.1, made from the code at start with the rules
/// in force (password lengths from the settings).
#[utoipa::path(get, path = "/openapi.json", tag = "meta",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json", body = Object)))]
async fn openapi_json(Extension(Document(bytes)): Extension<Document>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], bytes).into_response()
}

/// `AppError` as an HTTP response: its status, `Retry-After` when it has one,
/// and `ErrorBody` as JSON.
pub struct ApiError(pub AppError);

impl<E: Into<AppError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.kind.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let retry_after = self.0.retry_after;
        let body = ErrorBody {
            kind: self.0.kind,
            code: self.0.code,
            message: self.0.message.say(&crate::language::texts()),
            field: self.0.field,
            retry_after,
        };
        let mut response = (status, Json(body)).into_response();
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// Every error's body. `kind` decides the status; `code` is stable and
/// machine-readable; `message` is for the person, in the request's language
/// (its `lang` cookie, else `Accept-Language`, else `DEFAULT_LOCALE`); `field` names
/// the form field it belongs beside; `retry_after` (seconds, also sent as
/// the `Retry-After` header) comes with limits and cooldowns.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    kind: ErrorKind,
    code: ErrorCode,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after: Option<u64>,
}

/// `Json<T>` whose rejections (malformed JSON, wrong types, wrong content
/// type, too large) are JSON errors with a 4xx status.
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(ApiError(match rejection {
                JsonRejection::JsonDataError(_) => {
                    AppError::new(ErrorKind::Invalid, ErrorCode::BadRequest, Text::error_bad_fields())
                }
                JsonRejection::JsonSyntaxError(_) => AppError::bad_request(Text::error_bad_json()),
                JsonRejection::MissingJsonContentType(_) => AppError::bad_request(Text::error_bad_content_type()),
                r if r.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                    AppError::new(ErrorKind::TooLarge, ErrorCode::PayloadTooLarge, Text::error_too_large())
                }
                _ => AppError::bad_request(Text::failure_bad_request()),
            })),
        }
    }
}

/// `Query<T>` whose rejection (a repeated or malformed parameter) is a JSON
/// 400 like every other error here, not axum's plain text.
pub struct ApiQuery<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(ApiQuery(value)),
            Err(_) => Err(ApiError(AppError::bad_request(Text::error_bad_query()))),
        }
    }
}

/// `Path<T>` whose rejection (a segment that is not UTF-8 once decoded) is a
/// JSON 400.
pub struct ApiPath<T>(pub T);

impl<T: serde::de::DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(ApiPath(value)),
            Err(_) => Err(ApiError(AppError::bad_request(Text::error_bad_path()))),
        }
    }
}

/// The caller, as the core sees it.
pub struct ApiClient(pub Client);

impl FromRequestParts<Core> for ApiClient {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, core: &Core) -> Result<Self, Self::Rejection> {
        Ok(ApiClient(core.client_of(parts)))
    }
}

/// The signed-in user: the token comes as `Authorization: Bearer` or as the
/// cookie; its session must still be live. Otherwise a 401.
pub struct ApiAuth(pub Authenticated);

impl FromRequestParts<Core> for ApiAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, core: &Core) -> Result<Self, Self::Rejection> {
        let token = tokens::token_from_request(&parts.headers, core.settings.secure_cookies);
        match use_cases::authenticate(core, token).await {
            Ok(Some(auth)) => Ok(ApiAuth(auth)),
            Ok(None) => Err(SessionError::SignedOut.into()),
            Err(e) => Err(SessionError::from(e).into()),
        }
    }
}

/// A new session's answer (the seeds' payload, and whether the cookie
/// outlives the browser), and the cookie.
fn signed_in_response(core: &Core, status: StatusCode, signed_in: SignedIn) -> Response {
    let max_age = use_cases::cookie_max_age(core, signed_in.remember);
    let cookie = tokens::session_cookie(&signed_in.token, max_age, core.settings.secure_cookies);
    with_cookie((status, Json(signed_in)).into_response(), &cookie)
}

fn with_cookie(mut response: Response, cookie: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

fn cleared_cookie(core: &Core, status: StatusCode) -> Response {
    with_cookie(status.into_response(), &tokens::cleared_cookie(core.settings.secure_cookies))
}

/// Sign in with a username, mobile or verified e-mail and the password.
///
/// After three failures from one address the captcha is asked for
/// (`image_code_required`; see `GET /login/captcha`); ten failures lock the
/// account for a while (429 with `Retry-After`; SMS sign-in still works).
///
/// Refusals: `wrong_credentials` (401, field `password`); `image_code_required`,
/// `image_code_wrong`, `image_code_expired` (422, field `text`: send
/// `image_code_id` and `text`); `account_locked` (429); `account_disabled`
/// (403); `busy` (503: the password-hashing queue is full). `remember: true`
/// makes the session and cookie last 14 days; without it the cookie ends with
/// the browser and the token lasts a day.
#[utoipa::path(post, path = "/login", tag = "sign-in", request_body = LoginForm,
    responses(
        (status = 200, description = "Signed in: the token, also set as the session cookie", body = SignedIn),
        (status = 401, description = "`wrong_credentials`: the same answer for an unknown account", body = ErrorBody),
        (status = 403, description = "`account_disabled`, after the right password", body = ErrorBody),
        BadBody, Invalid, Limited,
    ))]
async fn login(
    State(core): State<Core>,
    ApiClient(client): ApiClient,
    ApiJson(form): ApiJson<LoginForm>,
) -> Result<Response, ApiError> {
    let signed_in = use_cases::login(&core, &client, &form).await?;
    Ok(signed_in_response(&core, StatusCode::OK, signed_in))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct AccountQuery {
    /// What the person typed as their account: the answer counts this
    /// caller's own failures for it (never anyone else's).
    account: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct CaptchaRequired {
    /// Whether the next sign-in from here must carry the captcha.
    required: bool,
}

/// Whether the next password sign-in from this address needs the captcha.
///
/// By this address's own failures, and its own for the named account (or
/// `LOGIN_CAPTCHA=always`), never by an account's failures from elsewhere,
/// so the answer says nothing about any account. Limited like the lookups
/// (`too_many_lookups`, 429).
#[utoipa::path(get, path = "/login/captcha", tag = "sign-in", params(AccountQuery),
    responses((status = 200, description = "The answer", body = CaptchaRequired), BadBody))]
async fn login_captcha(
    State(core): State<Core>,
    ApiClient(client): ApiClient,
    ApiQuery(query): ApiQuery<AccountQuery>,
) -> Result<Json<CaptchaRequired>, ApiError> {
    let account = query.account.unwrap_or_default();
    let required = use_cases::ask_login_captcha(&core, &client, &account).await?;
    Ok(Json(CaptchaRequired { required }))
}

/// Sign in with the mobile and a code sent for `login`.
///
/// Refusals: `mobile_invalid`, `mobile_not_registered`, `sms_code_wrong`
/// (with the tries left), `sms_code_dead`, `sms_code_expired` (422);
/// `account_disabled` (403).
#[utoipa::path(post, path = "/sms_login", tag = "sign-in", request_body = SmsLoginForm,
    responses(
        (status = 200, description = "Signed in: the token, also set as the session cookie", body = SignedIn),
        (status = 403, description = "`account_disabled`", body = ErrorBody),
        BadBody, Invalid, Limited,
    ))]
async fn sms_login(
    State(core): State<Core>,
    ApiClient(client): ApiClient,
    ApiJson(form): ApiJson<SmsLoginForm>,
) -> Result<Response, ApiError> {
    let signed_in = use_cases::sms_login(&core, &client, &form).await?;
    Ok(signed_in_response(&core, StatusCode::OK, signed_in))
}

/// End this session (the cookie is cleared too).
#[utoipa::path(post, path = "/logout", tag = "account", security(("bearer" = []), ("cookie" = [])),
    responses((status = 204, description = "Signed out"), SignedOut))]
async fn logout(State(core): State<Core>, ApiAuth(auth): ApiAuth) -> Result<Response, ApiError> {
    use_cases::logout(&core, &auth).await?;
    Ok(cleared_cookie(&core, StatusCode::NO_CONTENT))
}

/// The profile, and the texts to accept again.
#[derive(Serialize, ToSchema)]
struct Me {
    #[serde(flatten)]
    profile: Profile,
    /// Texts whose version in force this person has not accepted
    /// (`POST /me/consents`).
    texts_to_accept: Vec<LegalKind>,
}

/// The signed-in person's profile.
#[utoipa::path(get, path = "/me", tag = "account", security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "The profile", body = Me), SignedOut))]
async fn me(State(core): State<Core>, ApiAuth(auth): ApiAuth) -> Result<Json<Me>, ApiError> {
    let texts_to_accept = use_cases::texts_to_accept(&core, &auth).await?;
    Ok(Json(Me { profile: use_cases::profile(&auth), texts_to_accept }))
}

#[derive(Deserialize, ToSchema)]
struct UpdateMe {
    nickname: String,
}

/// Change the nickname (empty: none).
#[utoipa::path(patch, path = "/me", tag = "account", request_body = UpdateMe, security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "The profile as it is now", body = Profile), BadBody, Invalid, SignedOut))]
async fn update_me(
    State(core): State<Core>,
    ApiAuth(auth): ApiAuth,
    ApiJson(update): ApiJson<UpdateMe>,
) -> Result<Json<Profile>, ApiError> {
    Ok(Json(use_cases::update_nickname(&core, &auth, &update.nickname).await?))
}

/// Change the password; every other session ends.
///
/// Refusals: `old_password_wrong`, `password_invalid`, `password_mismatch`
/// (422); `password_checks_locked` (429).
#[utoipa::path(put, path = "/me/password", tag = "account", request_body = ChangePasswordForm,
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 204, description = "Changed"), BadBody, Invalid, SignedOut, Limited))]
async fn change_password(
    State(core): State<Core>,
    ApiClient(client): ApiClient,
    ApiAuth(auth): ApiAuth,
    ApiJson(form): ApiJson<ChangePasswordForm>,
) -> Result<StatusCode, ApiError> {
    use_cases::change_password(&core, &client, &auth, &form).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The live sessions of this account.
#[utoipa::path(get, path = "/me/sessions", tag = "account", security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Newest first", body = Vec<SessionView>), SignedOut))]
async fn sessions(State(core): State<Core>, ApiAuth(auth): ApiAuth) -> Result<Json<Vec<SessionView>>, ApiError> {
    Ok(Json(use_cases::list_sessions(&core, &auth).await?))
}

/// End one session of this account.
///
/// Its token is refused from then on. `no_such_session` (404).
#[utoipa::path(delete, path = "/me/sessions/{id}", tag = "account", security(("bearer" = []), ("cookie" = [])),
    params(("id" = String, Path, description = "A session's id, from `GET /me/sessions`")),
    responses((status = 204, description = "Ended"), SignedOut, Missing))]
async fn end_session(
    State(core): State<Core>,
    ApiAuth(auth): ApiAuth,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    use_cases::end_session(&core, &auth, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// End every session of this account, this one too.
#[utoipa::path(delete, path = "/me/sessions", tag = "account", security(("bearer" = []), ("cookie" = [])),
    responses((status = 204, description = "Ended"), SignedOut))]
async fn end_all_sessions(State(core): State<Core>, ApiAuth(auth): ApiAuth) -> Result<Response, ApiError> {
    use_cases::end_all_sessions(&core, &auth).await?;
    Ok(cleared_cookie(&core, StatusCode::NO_CONTENT))
}

/// 注销: delete this account, with the password or a code sent for
/// `delete_account`.
///
/// 202 with `delete_after` while the cooling-off period runs (every session
/// ends, this one too); 200 with `erased: true` when there is none.
///
/// `ACCOUNT_DELETION_DAYS` (7) decides the period; a notice goes to the
/// verified e-mail, else by SMS. Refusals: `password_wrong`, `proof_required`,
/// `sms_code_invalid`, `sms_code_wrong`, `sms_code_expired` (422);
/// `password_checks_locked` (429); `deletion_pending` (409).
#[utoipa::path(post, path = "/me/deletion", tag = "account", request_body = DeletionForm,
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "Erased at once (no cooling-off period)", body = DeletionStatus),
        (status = 202, description = "Erased at `delete_after` unless cancelled", body = DeletionStatus),
        BadBody, Invalid, SignedOut, Conflict, Limited,
    ))]
async fn request_deletion(
    State(core): State<Core>,
    ApiClient(client): ApiClient,
    ApiAuth(auth): ApiAuth,
    ApiJson(form): ApiJson<DeletionForm>,
) -> Result<Response, ApiError> {
    let status = use_cases::request_deletion(&core, &client, &auth, &form).await?;
    let code = if status.erased { StatusCode::OK } else { StatusCode::ACCEPTED };
    let response = (code, Json(status)).into_response();
    Ok(with_cookie(response, &tokens::cleared_cookie(core.settings.secure_cookies)))
}

/// 撤销注销, signed in during the cooling-off period.
///
/// `no_deletion_pending` (409).
#[utoipa::path(delete, path = "/me/deletion", tag = "account", security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Cancelled", body = DeletionStatus), SignedOut, Conflict))]
async fn cancel_deletion(State(core): State<Core>, ApiAuth(auth): ApiAuth) -> Result<Json<DeletionStatus>, ApiError> {
    Ok(Json(use_cases::cancel_deletion(&core, &auth).await?))
}

/// A copy of everything kept of this person, as a file to save.
///
/// The full profile (mobile and e-mail unmasked), consents with address and
/// user agent, sessions, every sign-in attempt, applications, and the records
/// of what was sent (never a code, never the password hash).
#[utoipa::path(get, path = "/me/export", tag = "account", security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The account, its sessions, sign-in history, acceptances, applications \
            and deliveries (never a code or a password hash)", body = Object),
        SignedOut,
    ))]
async fn export(State(core): State<Core>, ApiAuth(auth): ApiAuth) -> Result<Response, ApiError> {
    let mut response = Json(use_cases::export_my_data(&core, &auth).await?).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"my-data.json\""));
    Ok(response)
}

/// The texts this person accepted, and when.
#[utoipa::path(get, path = "/me/consents", tag = "account", security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Newest first", body = Vec<AcceptanceView>), SignedOut))]
async fn acceptances(State(core): State<Core>, ApiAuth(auth): ApiAuth) -> Result<Json<Vec<AcceptanceView>>, ApiError> {
    Ok(Json(use_cases::list_acceptances(&core, &auth).await?))
}

#[derive(Deserialize, ToSchema)]
struct AcceptForm {
    /// `privacy` or `terms`.
    kind: String,
    /// The version in force (`GET /legal`).
    version: String,
}

/// Accept the version in force of a text.
///
/// `version_not_current` (409: read `GET /legal`), `unknown_kind` (422).
#[utoipa::path(post, path = "/me/consents", tag = "account", request_body = AcceptForm,
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 204, description = "Recorded"), BadBody, Invalid, SignedOut, Conflict))]
async fn accept_text(
    State(core): State<Core>,
    ApiClient(client): ApiClient,
    ApiAuth(auth): ApiAuth,
    ApiJson(form): ApiJson<AcceptForm>,
) -> Result<StatusCode, ApiError> {
    use_cases::accept_text(&core, &client, &auth, &form.kind, &form.version).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
struct LegalText {
    kind: LegalKind,
    version: String,
    /// Where people read it.
    url: String,
}

/// The privacy policy and terms in force.
#[utoipa::path(get, path = "/legal", tag = "account",
    responses((status = 200, description = "Each text's version and page", body = Vec<LegalText>)))]
async fn legal_texts(State(core): State<Core>) -> Json<Vec<LegalText>> {
    Json(
        LegalKind::ALL
            .into_iter()
            .map(|kind| LegalText {
                kind,
                version: core.settings.legal.get(kind).version.clone(),
                url: format!("{}{}", core.settings.public_url, kind.path()),
            })
            .collect(),
    )
}

/// The applications this person signed in to through us.
#[utoipa::path(get, path = "/me/applications", tag = "account", security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Most recently authorized first", body = Vec<ApplicationView>), SignedOut))]
async fn applications(
    State(core): State<Core>,
    ApiAuth(auth): ApiAuth,
) -> Result<Json<Vec<ApplicationView>>, ApiError> {
    Ok(Json(use_cases::list_applications(&core, &auth).await?))
}

/// Take back an application's access: its tokens die at once.
///
/// Its consent is forgotten too. `no_such_application` (404).
#[utoipa::path(delete, path = "/me/applications/{client_id}", tag = "account",
    security(("bearer" = []), ("cookie" = [])),
    params(("client_id" = String, Path, description = "The application's client id")),
    responses((status = 204, description = "Revoked"), SignedOut, Missing))]
async fn revoke_application(
    State(core): State<Core>,
    ApiAuth(auth): ApiAuth,
    ApiPath(client_id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    use_cases::revoke_application(&core, &auth, &client_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The sign-ins to this account, newest first.
#[utoipa::path(get, path = "/me/logins", tag = "account", security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Newest first", body = Vec<AttemptView>), SignedOut))]
async fn logins(State(core): State<Core>, ApiAuth(auth): ApiAuth) -> Result<Json<Vec<AttemptView>>, ApiError> {
    Ok(Json(use_cases::login_history(&core, &auth).await?))
}

/// The account's e-mail: verified, waiting for its link, or none.
#[utoipa::path(get, path = "/me/email", tag = "e-mail", security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Where the e-mail stands", body = EmailStatus), SignedOut))]
async fn email_status(State(core): State<Core>, ApiAuth(auth): ApiAuth) -> Result<Json<EmailStatus>, ApiError> {
    Ok(Json(use_cases::email_status(&core, &auth).await?))
}

/// Bind (or change to) an address: a link goes to it, and it counts once
/// opened.
///
/// `sms_code` is a code sent to the account's own mobile for `bind_email`:
/// the phone is the account's root. Refusals: `password_wrong`,
/// `email_invalid`, `email_already_bound`, `sms_code_invalid`,
/// `sms_code_wrong`, `sms_code_expired` (422); `email_taken` (409: another
/// account verified it); `email_cooldown`, `email_daily_cap` (429).
#[utoipa::path(put, path = "/me/email", tag = "e-mail", request_body = BindEmailForm,
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 202, description = "The link is on its way", body = EmailStatus),
        BadBody, Invalid, SignedOut, Conflict, Limited))]
async fn bind_email(
    State(core): State<Core>,
    ApiClient(client): ApiClient,
    ApiAuth(auth): ApiAuth,
    ApiJson(form): ApiJson<BindEmailForm>,
) -> Result<(StatusCode, Json<EmailStatus>), ApiError> {
    Ok((StatusCode::ACCEPTED, Json(use_cases::bind_email(&core, &client, &auth, &form).await?)))
}

/// Send the waiting address's link again.
///
/// A new link replaces the waiting one. `no_pending_email` (422),
/// `email_cooldown` (429).
#[utoipa::path(post, path = "/me/email/resend", tag = "e-mail", security(("bearer" = []), ("cookie" = [])),
    responses((status = 202, description = "The link is on its way", body = EmailStatus), Invalid, SignedOut, Limited))]
async fn resend_email_link(
    State(core): State<Core>,
    ApiAuth(auth): ApiAuth,
) -> Result<(StatusCode, Json<EmailStatus>), ApiError> {
    Ok((StatusCode::ACCEPTED, Json(use_cases::resend_email_link(&core, &auth).await?)))
}

#[derive(Deserialize, ToSchema)]
struct PasswordBody {
    password: String,
}

/// Remove the account's e-mail (the password proves who asks).
///
/// Verified or waiting. `password_wrong`, `no_email` (422).
#[utoipa::path(delete, path = "/me/email", tag = "e-mail", request_body = PasswordBody,
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 204, description = "Removed"), BadBody, Invalid, SignedOut, Limited))]
async fn remove_email(
    State(core): State<Core>,
    ApiClient(client): ApiClient,
    ApiAuth(auth): ApiAuth,
    ApiJson(body): ApiJson<PasswordBody>,
) -> Result<StatusCode, ApiError> {
    use_cases::remove_email(&core, &client, &auth, &body.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
struct EmailVerified {
    email: String,
    verified: bool,
}

/// Open a verification link: the address counts from now on.
///
/// Call it when the person confirms, not when a link is merely opened (mail
/// scanners open links). `link_unknown`, `link_expired`, `link_used` (422);
/// `email_taken` (409).
#[utoipa::path(get, path = "/email/verify/{token}", tag = "e-mail",
    params(("token" = String, Path, description = "The link's token")),
    responses((status = 200, description = "Verified", body = EmailVerified), Invalid, Conflict))]
async fn verify_email(
    State(core): State<Core>,
    ApiClient(client): ApiClient,
    ApiPath(token): ApiPath<String>,
) -> Result<Json<EmailVerified>, ApiError> {
    let email = use_cases::verify_email(&core, &token, client.locale).await?;
    Ok(Json(EmailVerified { email, verified: true }))
}

/// Ask for a reset: a link to a verified e-mail, or a code to the mobile
/// (after the captcha). The answer is the same whether an account exists.
///
/// By e-mail: `email`, `image_code_id`, `text`. By SMS: `mobile`, the
/// captcha and its proof of work for `reset_password`, as `POST /sms_codes`
/// (with its refusals; an unregistered number: `mobile_not_registered`).
/// Refusals: `address_required`, `email_invalid`, `image_code_*` (422);
/// `too_many_recovery_requests` (429, every request counted),
/// `recovery_cooldown`, `recovery_daily_cap` (429).
#[utoipa::path(post, path = "/password/forgot", tag = "recovery", request_body = ForgotPasswordForm,
    responses((status = 202, description = "Sent, if there is an account to send to", body = RecoverySent),
        BadBody, Invalid, Limited))]
async fn forgot_password(
    State(core): State<Core>,
    ApiClient(client): ApiClient,
    ApiJson(form): ApiJson<ForgotPasswordForm>,
) -> Result<(StatusCode, Json<RecoverySent>), ApiError> {
    Ok((StatusCode::ACCEPTED, Json(use_cases::forgot_password(&core, &client, &form).await?)))
}

#[derive(Serialize, ToSchema)]
struct LinkUsable {
    usable: bool,
}

/// Whether a reset link can still be used (before the person types).
///
/// `link_unknown`, `link_expired`, `link_used` (422).
#[utoipa::path(get, path = "/password/reset/{token}", tag = "recovery",
    params(("token" = String, Path, description = "The link's token")),
    responses((status = 200, description = "Usable", body = LinkUsable), Invalid))]
async fn reset_link_status(
    State(core): State<Core>,
    ApiPath(token): ApiPath<String>,
) -> Result<Json<LinkUsable>, ApiError> {
    use_cases::reset_link_status(&core, &token).await?;
    Ok(Json(LinkUsable { usable: true }))
}

/// Set a new password with a link's token, or a mobile and its code for
/// `reset_password`; every session ends.
///
/// A link or a code works once. Sign-in failures and the lock are cleared,
/// a notice goes out, a waiting e-mail link dies. After a reset by SMS of an
/// account with a verified e-mail, the answer names it (masked) with a ticket
/// for `POST /password/remove-email`. Refusals: `password_invalid`,
/// `password_mismatch` (422, the link or code stays usable), `link_unknown`,
/// `link_expired`, `link_used`, the `sms_code_*` refusals (422).
#[utoipa::path(post, path = "/password/reset", tag = "recovery", request_body = ResetPasswordForm,
    responses((status = 200, description = "Reset", body = PasswordResetDone), BadBody, Invalid, Limited))]
async fn reset_password(
    State(core): State<Core>,
    ApiClient(client): ApiClient,
    ApiJson(form): ApiJson<ResetPasswordForm>,
) -> Result<Json<PasswordResetDone>, ApiError> {
    Ok(Json(use_cases::reset_password(&core, &client, &form).await?))
}

#[derive(Deserialize, ToSchema)]
struct RemovalTicket {
    /// `remove_email_ticket` from the reset's answer.
    ticket: String,
}

/// After a reset by SMS: remove the e-mail the reset's answer named.
///
/// The ticket is signed, works for 10 minutes and only until the password
/// changes again: `link_unknown`, `link_expired`, `link_used` (422).
#[utoipa::path(post, path = "/password/remove-email", tag = "recovery", request_body = RemovalTicket,
    responses((status = 204, description = "Removed"), BadBody, Invalid))]
async fn remove_email_after_reset(
    State(core): State<Core>,
    ApiJson(form): ApiJson<RemovalTicket>,
) -> Result<StatusCode, ApiError> {
    use_cases::remove_email_after_reset(&core, &form.ticket).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn not_found() -> ApiError {
    ApiError(AppError::not_found())
}

/// A captcha image for the id the client made up (a UUID); the same id
/// gets a new image each time, and only the newest answer works.
///
/// The answer (4 characters, case-insensitive) is kept 5 minutes and works
/// once, right or wrong. Limited per address (`too_many_captchas`, 429).
#[utoipa::path(get, path = "/image_codes/{id}", tag = "codes",
    params(("id" = String, Path, description = "A UUID the client made")),
    responses(
        (status = 200, description = "The captcha, never cached", content_type = "image/png", body = Vec<u8>),
        BadBody, Limited,
    ))]
async fn image_code(
    State(core): State<Core>,
    ApiClient(client): ApiClient,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let png = use_cases::issue_captcha(&core, &client, &id).await?;
    Ok(([(header::CONTENT_TYPE, "image/png"), (header::CACHE_CONTROL, "no-store")], png).into_response())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct PurposeQuery {
    /// `register` (the default), `login`, `reset_password`, `bind_email` or
    /// `delete_account`.
    purpose: Option<String>,
}

/// A proof-of-work challenge: find a nonce such that SHA-256(challenge ‖
/// nonce in decimal) starts with `bits` zero bits.
#[derive(Serialize, ToSchema)]
struct PowAnswer {
    /// Null when the proof is off.
    challenge: Option<String>,
    bits: u32,
}

/// The proof-of-work challenge for a captcha, for sending a code for
/// `purpose`.
///
/// Ask after the image: a challenge is issued only for a live captcha
/// (`image_code_expired`, 422); it is bound to that captcha and the purpose.
/// `bits` grows for an address that sent many codes in the hour.
/// `challenge` is null when no proof is needed (`POW_BITS=0`).
#[utoipa::path(get, path = "/image_codes/{id}/pow", tag = "codes",
    params(("id" = String, Path, description = "The captcha's id"), PurposeQuery),
    responses((status = 200, description = "The challenge", body = PowAnswer), BadBody, Invalid, Limited))]
async fn pow_challenge(
    State(core): State<Core>,
    ApiClient(client): ApiClient,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<PurposeQuery>,
) -> Result<Json<PowAnswer>, ApiError> {
    let purpose = query.purpose.unwrap_or_else(|| "register".into());
    let challenge = use_cases::issue_pow_challenge(&core, &client, &id, &purpose).await?;
    Ok(Json(match challenge {
        Some(c) => PowAnswer { challenge: Some(c.challenge), bits: c.bits },
        None => PowAnswer { challenge: None, bits: 0 },
    }))
}

/// Send a 6-digit code by SMS, after the captcha (and its proof of work).
///
/// `bind_email` and `delete_account` codes go to the signed-in account's own
/// number (send the token). One number gets a code a minute; one address
/// and the whole site have caps too (429 with `Retry-After`).
///
/// Refusals: `mobile_invalid`, `image_code_invalid`, `image_code_expired`,
/// `image_code_wrong`, `pow_required`, `pow_invalid`, `pow_expired` (422);
/// `mobile_taken` (409, for `register`), `mobile_not_registered` (422, for
/// `login` and `reset_password`); `sms_cooldown`, `sms_daily_cap`,
/// `sms_ip_cap`, `sms_site_cap`, `too_many_lookups` (429); `sms_send_failed`
/// (503: nothing was counted).
#[utoipa::path(post, path = "/sms_codes", tag = "codes", request_body = SendSmsCodeForm,
    security((), ("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Queued for sending", body = SmsSent),
        BadBody, Invalid, SignedOut, Conflict, Limited))]
async fn send_sms_code(
    State(core): State<Core>,
    ApiClient(client): ApiClient,
    headers: axum::http::HeaderMap,
    ApiJson(form): ApiJson<SendSmsCodeForm>,
) -> Result<Json<SmsSent>, ApiError> {
    // A bind_email or delete_account code goes to the signed-in account's
    // own number.
    let auth = if form.purpose.parse::<app::rules::Purpose>().is_ok_and(|p| p.is_own_account()) {
        let token = tokens::token_from_request(&headers, core.settings.secure_cookies);
        use_cases::authenticate(&core, token).await.map_err(SessionError::from)?
    } else {
        None
    };
    let sent = use_cases::send_sms_code(&core, &client, auth.as_ref(), &form).await?;
    Ok(Json(SmsSent { resend_after: sent.resend_after }))
}

/// Seconds until the next code to this number, and why the provider
/// refused the last one, if it did.
///
/// `refusal.code` is `sms_provider_too_frequent`, `sms_provider_daily_limit`,
/// `sms_provider_blocked` or `sms_provider_invalid_number` when the provider
/// refused the last code for good; the number may then ask again at once.
#[utoipa::path(get, path = "/sms_codes/{mobile}/cooldown", tag = "codes",
    params(("mobile" = String, Path, description = "The mobile number"), PurposeQuery),
    responses((status = 200, description = "The cooldown", body = SmsCooldown), BadBody, Invalid))]
async fn sms_cooldown(
    State(core): State<Core>,
    ApiClient(client): ApiClient,
    ApiPath(mobile): ApiPath<String>,
    ApiQuery(query): ApiQuery<PurposeQuery>,
) -> Result<Json<SmsCooldown>, ApiError> {
    let purpose = query.purpose.unwrap_or_else(|| "register".into());
    Ok(Json(use_cases::sms_cooldown(&core, client.locale, &mobile, &purpose).await?))
}

#[derive(Serialize, ToSchema)]
struct MobileCount {
    mobile: String,
    /// 1 when an account has this number, else 0.
    count: i64,
}

/// Whether a mobile is taken (the seeds' lookup; limited per address).
///
/// `LOOKUPS_PER_MINUTE` per address (`too_many_lookups`, 429), a budget
/// shared with every answer that says whether an account exists.
#[utoipa::path(get, path = "/mobiles/{mobile}/count", tag = "codes",
    params(("mobile" = String, Path, description = "The mobile number")),
    responses((status = 200, description = "The count", body = MobileCount), Invalid, Limited))]
async fn mobile_count(
    State(core): State<Core>,
    ApiClient(client): ApiClient,
    ApiPath(mobile): ApiPath<String>,
) -> Result<Json<MobileCount>, ApiError> {
    let count = use_cases::count_mobile(&core, &client, &mobile).await?;
    Ok(Json(MobileCount { mobile, count }))
}

#[derive(Serialize, ToSchema)]
struct UsernameCount {
    username: String,
    /// 1 when an account has this username, else 0.
    count: i64,
}

/// Whether a username is taken (limited per address).
#[utoipa::path(get, path = "/usernames/{username}/count", tag = "codes",
    params(("username" = String, Path, description = "The username")),
    responses((status = 200, description = "The count", body = UsernameCount), Invalid, Limited))]
async fn username_count(
    State(core): State<Core>,
    ApiClient(client): ApiClient,
    ApiPath(username): ApiPath<String>,
) -> Result<Json<UsernameCount>, ApiError> {
    let count = use_cases::count_username(&core, &client, &username).await?;
    Ok(Json(UsernameCount { username, count }))
}

/// Register with the mobile, a password and the code sent for `register`;
/// signed in at once.
///
/// The terms and privacy policy in force are accepted with `allow: true`
/// and recorded. Refusals: a field rule (422, `field` names it),
/// `sms_code_wrong` (with the tries left), `sms_code_dead`,
/// `sms_code_expired` (422); `mobile_taken`, `username_taken` (409; each
/// `username_taken` costs a lookup: `too_many_lookups`, 429). Simultaneous
/// submits for one number make one account.
#[utoipa::path(post, path = "/users", tag = "sign-in", request_body = RegisterForm,
    responses(
        (status = 201, description = "Registered and signed in: the token, also set as the session cookie",
            body = SignedIn),
        BadBody, Invalid, Conflict, Limited,
    ))]
async fn register(
    State(core): State<Core>,
    ApiClient(client): ApiClient,
    ApiJson(form): ApiJson<RegisterForm>,
) -> Result<Response, ApiError> {
    let signed_in = use_cases::register(&core, &client, &form).await?;
    Ok(signed_in_response(&core, StatusCode::CREATED, signed_in))
}

/// Development only: every message the outbox kept (codes included).
#[utoipa::path(get, path = "/dev/outbox", tag = "development",
    responses((status = 200, description = "Newest first", body = Vec<OutboxEntry>)))]
async fn outbox(State(core): State<Core>) -> Result<Json<Vec<OutboxEntry>>, ApiError> {
    let Some(outbox) = &core.outbox else { return Err(ApiError(AppError::not_found())) };
    let entries = outbox.entries().await.map_err(|e| {
        tracing::error!(error = %e, "dev outbox: database unavailable");
        ApiError(AppError::unavailable())
    })?;
    Ok(Json(entries))
}

/// Development only: the delivery records, newest first.
#[utoipa::path(get, path = "/dev/deliveries", tag = "development",
    responses((status = 200, description = "Newest first", body = Vec<DeliveryRecord>)))]
async fn deliveries(State(core): State<Core>) -> Result<Json<Vec<DeliveryRecord>>, ApiError> {
    Ok(Json(use_cases::list_jobs(&core, use_cases::JobFilter::All).await?))
}
