//! The JSON API under `/api/v1`: the same use cases the pages call, with the
//! errors mapped to HTTP once, in `ApiError`. Documented in `docs/api.md`.

use app::{
    core::{Client, Core, tokens, use_cases},
    error::AppError,
    wire::{RegisterForm, SendSmsCodeForm},
};
use axum::{
    Json, Router,
    extract::{FromRequest, FromRequestParts, Path, Query, State, rejection::JsonRejection},
    http::{HeaderValue, StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde::Deserialize;
use serde_json::json;

pub fn router<S: Clone + Send + Sync + 'static>(core: Core) -> Router<S> {
    let dev_outbox = core.outbox.is_some();
    let mut router = Router::new()
        .route("/image_codes/{id}", get(image_code))
        .route("/sms_codes", post(send_sms_code))
        .route("/sms_codes/{mobile}/cooldown", get(sms_cooldown))
        .route("/mobiles/{mobile}/count", get(mobile_count))
        .route("/usernames/{username}/count", get(username_count))
        .route("/users", post(register));
    // The outbox exists only in development.
    if dev_outbox {
        router = router.route("/dev/outbox", get(outbox));
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
        let mut response = (status, Json(&self.0)).into_response();
        if let Some(seconds) = self.0.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
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

async fn not_found() -> ApiError {
    ApiError(AppError::not_found())
}

async fn image_code(State(core): State<Core>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let png = use_cases::issue_captcha(&core, &id).await?;
    Ok(([(header::CONTENT_TYPE, "image/png"), (header::CACHE_CONTROL, "no-store")], png).into_response())
}

async fn send_sms_code(
    State(core): State<Core>,
    ApiClient(client): ApiClient,
    ApiJson(form): ApiJson<SendSmsCodeForm>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let sent = use_cases::send_sms_code(&core, &client, &form).await?;
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
    let seconds = use_cases::sms_cooldown(&core, &mobile, &purpose).await?;
    Ok(Json(json!({ "seconds": seconds })))
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

async fn register(State(core): State<Core>, ApiJson(form): ApiJson<RegisterForm>) -> Result<Response, ApiError> {
    let registered = use_cases::register(&core, &form).await?;
    let cookie = tokens::session_cookie(&registered.token, None, core.settings.secure_cookies);
    let mut response = (StatusCode::CREATED, Json(&registered)).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

async fn outbox(State(core): State<Core>) -> Json<serde_json::Value> {
    let entries = core.outbox.as_ref().map(|o| o.entries()).unwrap_or_default();
    Json(json!(entries))
}
