//! The page for unknown addresses (status 404).

use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="页面不存在" />
        <section class="card">
            <h1>"页面不存在"</h1>
            <p>
                <a href="/">"返回首页"</a>
            </p>
        </section>
    }
}
