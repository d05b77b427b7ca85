//! The browser entry: hydrates the server-rendered page, waiting first for
//! the page's own WASM when it is one of the lazily loaded routes.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_lazy(app::App);
}
