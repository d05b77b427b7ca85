//! The JSON API under `/api/v1`: the same use cases the pages call, with the
//! errors mapped to HTTP once, in `ApiError`. Documented in `docs/api.md`.

use app::{
    core::{
        Client, Core, tokens,
        use_cases::{self, Authenticated, SessionError},
    },
    error::AppError,
    wire::{
        BindEmailForm, ChangePasswordForm, DeletionForm, EmailStatus, ForgotPasswordForm, LoginForm, PasswordResetDone,
        RecoverySent, RegisterForm, ResetPasswordForm, SendSmsCodeForm, SignedIn, SmsLoginForm,
    },
};
use axum::{
    Json, Router,
    extract::{FromRequest, FromRequestParts, Path, Query, State, rejection::JsonRejection},
    http::{HeaderValue, StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
    routing::{delete, get, post, put},
};
use serde::Deserialize;
use serde_json::json;

pub fn router<S: Clone + Send + Sync + 'static>(core: Core) -> Router<S> {
    let dev_outbox = core.outbox.is_some();
    let mut router = Router::new()
        .route("/image_codes/{id}", get(image_code))
        .route("/image_codes/{id}/pow", get(pow_challenge))
        .route("/sms_codes", post(send_sms_code))
        .route("/sms_codes/{mobile}/cooldown", get(sms_cooldown))
        .route("/mobiles/{mobile}/count", get(mobile_count))
        .route("/usernames/{username}/count", get(username_count))
        .route("/users", post(register))
        .route("/login", post(login))
        .route("/login/captcha", get(login_captcha))
        .route("/sms_login", post(sms_login))
        .route("/logout", post(logout))
        .route("/me", get(me).patch(update_me))
        .route("/me/password", put(change_password))
        .route("/me/sessions", get(sessions).delete(end_all_sessions))
        .route("/me/sessions/{id}", delete(end_session))
        .route("/me/logins", get(logins))
        .route("/me/consents", get(acceptances).post(accept_text))
        .route("/me/export", get(export))
        .route("/me/deletion", post(request_deletion).delete(cancel_deletion))
        .route("/legal", get(legal_texts))
        .route("/me/applications", get(applications))
        .route("/me/applications/{client_id}", delete(revoke_application))
        .route("/me/email", get(email_status).put(bind_email).delete(remove_email))
        .route("/me/email/resend", post(resend_email_link))
        .route("/email/verify/{token}", get(verify_email))
        .route("/password/forgot", post(forgot_password))
        .route("/password/reset", post(reset_password))
        .route("/password/remove-email", post(remove_email_after_reset))
        .route("/password/reset/{token}", get(reset_link_status));
    // The outbox exists only in development.
    if dev_outbox {
        router = router.route("/dev/outbox", get(outbox)).route("/dev/deliveries", get(deliveries));
    }
    router.fallback(not_found).with_state(core)
}

/// `AppError` as an HTTP response: its status, `Retry-After` when it has one,
/// and `{"code", "message", "field"}` as JSON.
pub struct ApiError(pub AppError);

impl<E: Into<AppError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.kind.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = ErrorBody {
            kind: self.0.kind,
            code: &self.0.code,
            message: &self.0.message,
            field: self.0.field.as_deref(),
            retry_after: self.0.retry_after,
        };
        let mut response = (status, Json(body)).into_response();
        if let Some(seconds) = self.0.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// An error's JSON: `field` and `retry_after` only when they apply.
#[derive(serde::Serialize)]
struct ErrorBody<'a> {
    kind: app::error::ErrorKind,
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
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
        use app::error::ErrorKind;
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(ApiError(match rejection {
                JsonRejection::JsonDataError(_) => {
                    AppError::new(ErrorKind::Invalid, "bad_request", "请求字段缺失或类型不正确")
                }
                JsonRejection::JsonSyntaxError(_) => AppError::bad_request("请求不是合法的 JSON"),
                JsonRejection::MissingJsonContentType(_) => {
                    AppError::bad_request("请求须为 Content-Type: application/json")
                }
                r if r.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                    AppError::new(ErrorKind::TooLarge, "payload_too_large", "请求体过大")
                }
                _ => AppError::bad_request("请求格式不正确"),
            })),
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

/// A new session's answer: the seeds' payload, and the cookie.
fn signed_in_response(core: &Core, status: StatusCode, signed_in: &SignedIn) -> Response {
    let max_age = use_cases::cookie_max_age(core, signed_in.remember);
    let cookie = tokens::session_cookie(&signed_in.token, max_age, core.settings.secure_cookies);
    let body = json!({
        "id": signed_in.id,
        "username": signed_in.username,
        "nickname": signed_in.nickname,
        "avatar": signed_in.avatar,
        "token": signed_in.token,
        "texts_to_accept": signed_in.texts_to_accept,
        "delete_after": signed_in.delete_after,
    });
    with_cookie((status, Json(body)).into_response(), &cookie)
}

fn with_cookie(mut response: Response, cookie: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

async fn login(
    State(core): State<Core>,
    ApiClient(client): ApiClient,
    ApiJson(form): ApiJson<LoginForm>,
) -> Result<Response, ApiError> {
    let signed_in = use_cases::login(&core, &client, &form).await?;
    Ok(signed_in_response(&core, StatusCode::OK, &signed_in))
}

#[derive(Deserialize)]
struct AccountQuery {
    account: String,
}

async fn login_captcha(
    State(core): State<Core>,
    ApiClient(client): ApiClient,
    Query(query): Query<AccountQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    // `account` is accepted and not used: the answer never depends on one.
    let _ = query.account;
    let required = use_cases::ask_login_captcha(&core, &client).await?;
    Ok(Json(json!({ "required": required })))
}

async fn sms_login(
    State(core): State<Core>,
    ApiClient(client): ApiClient,
    ApiJson(form): ApiJson<SmsLoginForm>,
) -> Result<Response, ApiError> {
    let signed_in = use_cases::sms_login(&core, &client, &form).await?;
    Ok(signed_in_response(&core, StatusCode::OK, &signed_in))
}

async fn logout(State(core): State<Core>, ApiAuth(auth): ApiAuth) -> Result<Response, ApiError> {
    use_cases::logout(&core, &auth).await?;
    Ok(with_cookie(StatusCode::NO_CONTENT.into_response(), &tokens::cleared_cookie(core.settings.secure_cookies)))
}

/// The profile, and `texts_to_accept` (`["privacy", "terms"]`: texts whose
/// version in force this person has not accepted; `POST /me/consents`).
async fn me(State(core): State<Core>, ApiAuth(auth): ApiAuth) -> Result<Json<serde_json::Value>, ApiError> {
    let mut answer = serde_json::to_value(use_cases::profile(&auth)).map_err(|_| ApiError(AppError::unexpected()))?;
    answer["texts_to_accept"] = serde_json::to_value(use_cases::texts_to_accept(&core, &auth).await?)
        .map_err(|_| ApiError(AppError::unexpected()))?;
    Ok(Json(answer))
}

#[derive(Deserialize)]
struct UpdateMe {
    nickname: String,
}

async fn update_me(
    State(core): State<Core>,
    ApiAuth(auth): ApiAuth,
    ApiJson(update): ApiJson<UpdateMe>,
) -> Result<Json<app::wire::Profile>, ApiError> {
    Ok(Json(use_cases::update_nickname(&core, &auth, &update.nickname).await?))
}

async fn change_password(
    State(core): State<Core>,
    ApiClient(client): ApiClient,
    ApiAuth(auth): ApiAuth,
    ApiJson(form): ApiJson<ChangePasswordForm>,
) -> Result<StatusCode, ApiError> {
    use_cases::change_password(&core, &client, &auth, &form).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn sessions(
    State(core): State<Core>,
    ApiAuth(auth): ApiAuth,
) -> Result<Json<Vec<app::wire::SessionView>>, ApiError> {
    Ok(Json(use_cases::list_sessions(&core, &auth).await?))
}

async fn end_session(
    State(core): State<Core>,
    ApiAuth(auth): ApiAuth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    use_cases::end_session(&core, &auth, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn end_all_sessions(State(core): State<Core>, ApiAuth(auth): ApiAuth) -> Result<Response, ApiError> {
    use_cases::end_all_sessions(&core, &auth).await?;
    Ok(with_cookie(StatusCode::NO_CONTENT.into_response(), &tokens::cleared_cookie(core.settings.secure_cookies)))
}

/// 注销: `{"password"}` or `{"sms_code"}` (purpose `delete_account`). 202
/// with `delete_after` while the cooling-off period runs (every session
/// ended, this one too); 200 with `erased: true` when there is none.
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
async fn cancel_deletion(
    State(core): State<Core>,
    ApiAuth(auth): ApiAuth,
) -> Result<Json<app::wire::DeletionStatus>, ApiError> {
    Ok(Json(use_cases::cancel_deletion(&core, &auth).await?))
}

/// A copy of everything kept of this person, as a file to save.
async fn export(State(core): State<Core>, ApiAuth(auth): ApiAuth) -> Result<Response, ApiError> {
    let mut response = Json(use_cases::export_my_data(&core, &auth).await?).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"my-data.json\""));
    Ok(response)
}

async fn acceptances(
    State(core): State<Core>,
    ApiAuth(auth): ApiAuth,
) -> Result<Json<Vec<app::wire::AcceptanceView>>, ApiError> {
    Ok(Json(use_cases::list_acceptances(&core, &auth).await?))
}

/// `{"kind": "privacy" | "terms", "version": "..."}`: the version in force.
#[derive(serde::Deserialize)]
struct AcceptForm {
    kind: String,
    version: String,
}

async fn accept_text(
    State(core): State<Core>,
    ApiClient(client): ApiClient,
    ApiAuth(auth): ApiAuth,
    ApiJson(form): ApiJson<AcceptForm>,
) -> Result<StatusCode, ApiError> {
    use_cases::accept_text(&core, &client, &auth, &form.kind, &form.version).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The texts in force: `[{"kind", "version", "url"}]`.
async fn legal_texts(State(core): State<Core>) -> Json<serde_json::Value> {
    let texts: Vec<serde_json::Value> = app::rules::LegalKind::ALL
        .into_iter()
        .map(|kind| {
            serde_json::json!({
                "kind": kind.as_str(),
                "version": core.settings.legal.get(kind).version,
                "url": format!("{}{}", core.settings.public_url, kind.path()),
            })
        })
        .collect();
    Json(serde_json::Value::Array(texts))
}

async fn applications(
    State(core): State<Core>,
    ApiAuth(auth): ApiAuth,
) -> Result<Json<Vec<app::wire::ApplicationView>>, ApiError> {
    Ok(Json(use_cases::list_applications(&core, &auth).await?))
}

async fn revoke_application(
    State(core): State<Core>,
    ApiAuth(auth): ApiAuth,
    Path(client_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    use_cases::revoke_application(&core, &auth, &client_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn logins(
    State(core): State<Core>,
    ApiAuth(auth): ApiAuth,
) -> Result<Json<Vec<app::wire::AttemptView>>, ApiError> {
    Ok(Json(use_cases::login_history(&core, &auth).await?))
}

async fn email_status(State(core): State<Core>, ApiAuth(auth): ApiAuth) -> Result<Json<EmailStatus>, ApiError> {
    Ok(Json(use_cases::email_status(&core, &auth).await?))
}

async fn bind_email(
    State(core): State<Core>,
    ApiClient(client): ApiClient,
    ApiAuth(auth): ApiAuth,
    ApiJson(form): ApiJson<BindEmailForm>,
) -> Result<(StatusCode, Json<EmailStatus>), ApiError> {
    Ok((StatusCode::ACCEPTED, Json(use_cases::bind_email(&core, &client, &auth, &form).await?)))
}

async fn resend_email_link(
    State(core): State<Core>,
    ApiAuth(auth): ApiAuth,
) -> Result<(StatusCode, Json<EmailStatus>), ApiError> {
    Ok((StatusCode::ACCEPTED, Json(use_cases::resend_email_link(&core, &auth).await?)))
}

#[derive(Deserialize)]
struct PasswordBody {
    password: String,
}

async fn remove_email(
    State(core): State<Core>,
    ApiClient(client): ApiClient,
    ApiAuth(auth): ApiAuth,
    ApiJson(body): ApiJson<PasswordBody>,
) -> Result<StatusCode, ApiError> {
    use_cases::remove_email(&core, &client, &auth, &body.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn verify_email(
    State(core): State<Core>,
    Path(token): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let email = use_cases::verify_email(&core, &token).await?;
    Ok(Json(json!({ "email": email, "verified": true })))
}

async fn forgot_password(
    State(core): State<Core>,
    ApiClient(client): ApiClient,
    ApiJson(form): ApiJson<ForgotPasswordForm>,
) -> Result<(StatusCode, Json<RecoverySent>), ApiError> {
    Ok((StatusCode::ACCEPTED, Json(use_cases::forgot_password(&core, &client, &form).await?)))
}

async fn reset_link_status(
    State(core): State<Core>,
    Path(token): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    use_cases::reset_link_status(&core, &token).await?;
    Ok(Json(json!({ "usable": true })))
}

async fn reset_password(
    State(core): State<Core>,
    ApiClient(client): ApiClient,
    ApiJson(form): ApiJson<ResetPasswordForm>,
) -> Result<Json<PasswordResetDone>, ApiError> {
    Ok(Json(use_cases::reset_password(&core, &client, &form).await?))
}

#[derive(serde::Deserialize)]
struct RemovalTicket {
    ticket: String,
}

/// After a reset by SMS: removes the e-mail the reset's answer named.
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

async fn image_code(
    State(core): State<Core>,
    ApiClient(client): ApiClient,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let png = use_cases::issue_captcha(&core, &client, &id).await?;
    Ok(([(header::CONTENT_TYPE, "image/png"), (header::CACHE_CONTROL, "no-store")], png).into_response())
}

/// The proof-of-work challenge for captcha `id`, for sending a code for
/// `purpose` (default `register`); `challenge` is null when the proof is off.
async fn pow_challenge(
    State(core): State<Core>,
    ApiClient(client): ApiClient,
    Path(id): Path<String>,
    Query(query): Query<PurposeQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let purpose = query.purpose.unwrap_or_else(|| "register".into());
    let challenge = use_cases::issue_pow_challenge(&core, &client, &id, &purpose).await?;
    Ok(Json(match challenge {
        Some(c) => json!({ "challenge": c.challenge, "bits": c.bits }),
        None => json!({ "challenge": null, "bits": 0 }),
    }))
}

async fn send_sms_code(
    State(core): State<Core>,
    ApiClient(client): ApiClient,
    headers: axum::http::HeaderMap,
    ApiJson(form): ApiJson<SendSmsCodeForm>,
) -> Result<Json<serde_json::Value>, ApiError> {
    // A bind_email or delete_account code goes to the signed-in account's
    // own number.
    let auth = if form.purpose.parse::<app::rules::Purpose>().is_ok_and(|p| p.is_own_account()) {
        let token = tokens::token_from_request(&headers, core.settings.secure_cookies);
        use_cases::authenticate(&core, token).await.map_err(SessionError::from)?
    } else {
        None
    };
    let sent = use_cases::send_sms_code(&core, &client, auth.as_ref(), &form).await?;
    Ok(Json(json!({ "resend_after": sent.resend_after })))
}

#[derive(Deserialize)]
struct PurposeQuery {
    purpose: Option<String>,
}

async fn sms_cooldown(
    State(core): State<Core>,
    Path(mobile): Path<String>,
    Query(query): Query<PurposeQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let purpose = query.purpose.unwrap_or_else(|| "register".into());
    let cooldown = use_cases::sms_cooldown(&core, &mobile, &purpose).await?;
    Ok(Json(json!(cooldown)))
}

async fn mobile_count(
    State(core): State<Core>,
    ApiClient(client): ApiClient,
    Path(mobile): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let count = use_cases::count_mobile(&core, &client, &mobile).await?;
    Ok(Json(json!({ "mobile": mobile, "count": count })))
}

async fn username_count(
    State(core): State<Core>,
    ApiClient(client): ApiClient,
    Path(username): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let count = use_cases::count_username(&core, &client, &username).await?;
    Ok(Json(json!({ "username": username, "count": count })))
}

async fn register(
    State(core): State<Core>,
    ApiClient(client): ApiClient,
    ApiJson(form): ApiJson<RegisterForm>,
) -> Result<Response, ApiError> {
    let signed_in = use_cases::register(&core, &client, &form).await?;
    Ok(signed_in_response(&core, StatusCode::CREATED, &signed_in))
}

async fn outbox(State(core): State<Core>) -> Result<Json<serde_json::Value>, ApiError> {
    let Some(outbox) = &core.outbox else { return Err(ApiError(AppError::not_found())) };
    let entries = outbox.entries().await.map_err(|e| {
        tracing::error!(error = %e, "dev outbox: database unavailable");
        ApiError(AppError::unavailable())
    })?;
    Ok(Json(json!(entries)))
}

/// The delivery records, newest first (development only, like the outbox).
async fn deliveries(State(core): State<Core>) -> Result<Json<serde_json::Value>, ApiError> {
    let records = use_cases::list_jobs(&core, use_cases::JobFilter::All).await?;
    Ok(Json(json!(records)))
}
