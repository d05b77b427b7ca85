//! `/api/docs`: the API reference for people, drawn in the browser by Swagger
//! UI from the document at `/api/v1/openapi.json` (the reference is the
//! document; docs/api.md is the guide). Swagger UI's files come from npm's
//! `swagger-ui-dist`, pinned in end2end/package.json; scripts/setup.sh
//! copies them into `public/vendor/swagger-ui/`, and the build puts them in
//! the site beside our own files, so the page fetches nothing from anywhere
//! else. Its start is our own file (`public/api-docs.js`), not an inline
//! script: the page runs under the same nonce-only policy as every page.

use crate::security::PageNonce;
use axum::{
    Extension, Router,
    http::header,
    response::{IntoResponse, Response},
    routing::get,
};

/// Where the page is.
pub const PATH: &str = "/api/docs";
/// Where the renderer's files are in the site (scripts/setup.sh puts them there).
pub const RENDERER_DIR: &str = "/vendor/swagger-ui";

pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route(PATH, get(page))
}

async fn page(Extension(nonce): Extension<PageNonce>) -> Response {
    let nonce = nonce.value();
    // Without script (or before it runs) the page still says where the
    // document is.
    let texts = crate::language::texts();
    let (lang, title, document) = (texts.locale().tag(), texts.plain_api_title(), texts.plain_api_document());
    let html = format!(
        "<!DOCTYPE html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title>\
         <link rel=\"icon\" href=\"/favicon.svg\" type=\"image/svg+xml\">\
         <link rel=\"stylesheet\" href=\"{RENDERER_DIR}/swagger-ui.css\"></head>\
         <body><main id=\"swagger-ui\" data-document=\"/api/v1/openapi.json\">\
         <p>{document}<a href=\"/api/v1/openapi.json\">/api/v1/openapi.json</a></p></main>\
         <script nonce=\"{nonce}\" src=\"{RENDERER_DIR}/swagger-ui-bundle.js\"></script>\
         <script nonce=\"{nonce}\" src=\"/api-docs.js\"></script></body></html>"
    );
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")], html).into_response()
}
