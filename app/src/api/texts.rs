//! A part of the catalogue for a page the browser goes to without the
//! server drawing it (`with_texts` in `lib.rs`), in the request's language.

use crate::error::AppError;
use leptos::prelude::*;

/// The texts of the browser's part `part` (`i18n::Texts::part`).
#[server(endpoint = "texts", output = crate::wire::Answer)]
pub async fn texts_part(part: String) -> Result<Vec<String>, AppError> {
    crate::i18n::Texts::here().part(&part).ok_or_else(AppError::not_found)
}

/// Fetches the parts the browser lacks and keeps them for the page's life
/// (on the server there is nothing to fetch). A part that cannot be
/// fetched leaves its texts empty: the page still works.
pub async fn load_texts(parts: &'static [&'static str]) {
    #[cfg(not(feature = "ssr"))]
    {
        let texts = crate::i18n::Texts::here();
        for part in parts.iter().filter(|part| !texts.has(part)) {
            if let Ok(fetched) = texts_part((*part).to_owned()).await {
                texts.install(part, fetched);
            }
        }
    }
    #[cfg(feature = "ssr")]
    let _ = parts;
}
