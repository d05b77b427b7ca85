//! The page for unknown addresses (status 404).

use crate::i18n::Texts;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    let texts = Texts::here();
    view! {
        <Title text=texts.not_found_title() />
        <section class="card">
            <h1>{texts.not_found_title()}</h1>
            <p>
                <a href="/">{texts.not_found_back_home()}</a>
            </p>
        </section>
    }
}
