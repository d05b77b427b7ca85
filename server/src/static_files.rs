//! How long browsers keep the static files. A release build
//! (`cargo leptos build --release --precompress --split`, `hash-files`) names the
//! bundle under `/pkg/` by a hash of its content and leaves the hashes in
//! `hash.txt` beside the server binary: those files never change under
//! their name, so a browser keeps them for a year without asking again, and
//! a visit after the first moves only the page. Without hashes (a build
//! with `hash-files` off) the bundle is revalidated on each use. Brotli (level 11) and gzip
//! copies made at build time are served by `leptos_axum`'s file handler.

use axum::{
    extract::Request,
    http::{HeaderValue, Method, header},
    response::Response,
};
use leptos::config::LeptosOptions;
use std::future::Future;

/// A year: the longest `max-age` browsers honour.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";
/// Files from `public/` (the favicon, the API reference page's renderer and
/// its start) keep their names across releases: a day, then asked again.
const PUBLIC_FILES: &str = "public, max-age=86400";

/// Whether this build serves its bundle under hashed names: the hashes file
/// is beside the binary (`LEPTOS_HASH_FILES=true` says so too).
pub fn serves_hashed_names(options: &LeptosOptions) -> bool {
    let beside_binary = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(options.hash_file.as_ref())))
        .is_some_and(|path| path.is_file());
    options.hash_files || beside_binary
}

/// Adds `Cache-Control` to static files the handler found (not to pages,
/// which say their own).
pub async fn cache_headers<F>(hashed: bool, request: Request, next: impl FnOnce(Request) -> F) -> Response
where
    F: Future<Output = Response>,
{
    let is_get = matches!(*request.method(), Method::GET | Method::HEAD);
    let bundle = request.uri().path().starts_with("/pkg/");
    let path = request.uri().path();
    let public_file = path == "/favicon.svg"
        || path == "/api-docs.js"
        || path.strip_prefix(crate::api_docs::RENDERER_DIR).is_some_and(|rest| rest.starts_with('/'));
    let mut response = next(request).await;
    if !is_get || !response.status().is_success() || response.headers().contains_key(header::CACHE_CONTROL) {
        return response;
    }
    let policy = match (bundle, public_file) {
        (true, _) if hashed => IMMUTABLE,
        (true, _) => REVALIDATE,
        (false, true) => PUBLIC_FILES,
        (false, false) => return response,
    };
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    response
}
