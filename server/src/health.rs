//! `GET /health/live` (the process answers) and `GET /health/ready` (the
//! database and the store answer too).

use app::core::Core;
use axum::{Json, Router, extract::State, http::StatusCode, routing::get};
use serde_json::{Value, json};

pub fn router<S: Clone + Send + Sync + 'static>(core: Core) -> Router<S> {
    Router::new().route("/live", get(live)).route("/ready", get(ready)).with_state(core)
}

async fn live() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

async fn ready(State(core): State<Core>) -> (StatusCode, Json<Value>) {
    let (database, store) = tokio::join!(core.db.ping(), core.store.ping());
    let word = |ok: bool| if ok { "ok" } else { "unavailable" };
    let ready = database.is_ok() && store.is_ok();
    if let Err(e) = &database {
        tracing::warn!(error = %e, "ready: database");
    }
    if let Err(e) = &store {
        tracing::warn!(error = %e, "ready: store");
    }
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(json!({ "status": word(ready), "database": word(database.is_ok()), "store": word(store.is_ok()) })))
}
