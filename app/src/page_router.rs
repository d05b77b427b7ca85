//! The pages, the server functions they call and the fallback (files, the
//! 404 page) as one axum router, for the server to mount.
//!
//! Built here rather than in `server` so that the render code — Leptos'
//! generic views, instantiated for our pages — is compiled with the app
//! (release profile: opt-level 1, at which `bench/` measured page renders
//! within a few per cent of 3) and not with the server crate, compiled at
//! opt-level 3 for its request path, where the render's instantiations were
//! a third of that crate's build (issue 23). The boundary is a plain
//! function of plain types, so that nothing generic crosses it.

use crate::{App, shell};
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{AxumRouteListing, LeptosRoutes, generate_route_list};
use std::sync::Arc;

/// What the server adds to every render's and server function's context
/// (the core, the request's nonce and language), besides the options.
pub type RequestContext = Arc<dyn Fn() + Send + Sync>;

/// The pages' routes and server functions, and the fallback for the rest.
pub fn page_router(options: &LeptosOptions, context: RequestContext) -> Router<LeptosOptions> {
    let context = move || context();
    let shell_options = options.clone();
    Router::new()
        .leptos_routes_with_context(options, routes(), context.clone(), move || shell(shell_options.clone()))
        .fallback(leptos_axum::file_and_error_handler_with_context(context, shell))
}

/// The app's routes, generated once per process.
///
/// Generating runs the app once with every resource suppressed, through a
/// flag that is global to the process (leptos' `SuppressResourceLoad`): a
/// page rendered anywhere in the process meanwhile never gets its data and
/// never finishes. A server generates before it serves, so it is never hit;
/// but a second router built while the first serves (the tests, several
/// servers in one process) stalled renders of the first. Once per process,
/// before any router exists, no render can overlap it.
fn routes() -> Vec<AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<AxumRouteListing>> = std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}
