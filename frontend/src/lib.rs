//! The browser entry: hydrates the server-rendered page, waiting first for
//! the page's own WASM when it is one of the lazily loaded routes, then marks
//! the body `data-hydrated` (what tests wait for: the whole page, its lazy
//! route included, is alive).

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    app::redirects::install();
    // `leptos::mount::hydrate_lazy`, and the mark once it has finished.
    wasm_bindgen_futures::spawn_local(async {
        let Some(body) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.body()) else { return };
        leptos::mount::hydrate_from_async(body.clone(), app::App).await.forget();
        let _ = body.set_attribute("data-hydrated", "true");
    });
}
