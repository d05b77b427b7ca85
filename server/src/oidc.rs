//! The OpenID Connect provider's endpoints. So far the JWK Set: the public
//! halves of the signing keys, which anyone checks our tokens with.

use app::core::Core;
use axum::{
    Json, Router,
    extract::State,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};

/// Where the JWK Set is published.
pub const JWKS_PATH: &str = "/oauth2/jwks";

pub fn router(core: Core) -> Router<leptos::config::LeptosOptions> {
    Router::new().route(JWKS_PATH, get(jwks)).with_state(core)
}

/// The JWK Set. Caches may keep it a minute: a rotation publishes the new
/// keys at once (and the old ones until their tokens end), and a client
/// that meets an unknown `kid` fetches it again.
async fn jwks(State(core): State<Core>) -> Response {
    match core.signing_keys.current().await {
        Ok(keys) => {
            let mut response = Json(keys.jwks()).into_response();
            response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=60"));
            response
        }
        Err(e) => {
            tracing::error!(error = %e, "the signing keys are unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({ "error": "temporarily_unavailable" })))
                .into_response()
        }
    }
}
