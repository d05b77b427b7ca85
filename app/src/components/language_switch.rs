//! The language switch on every page: one button per locale, each named in
//! its own language, in a plain form that posts to `/lang`, which sets the
//! cookie and goes back to the page the post came from (its `Referer`:
//! `server/src/language.rs`). A full page load on purpose: the page is
//! drawn again, and hydrates, in the chosen language, with only that
//! language's texts.
//!
//! The shell draws it after the app, on the server only: it needs nothing
//! of the WASM (the page it was on is the post's `Referer`, current after
//! client-side navigations too), and as part of the app it cost the first
//! page's WASM 11 KB (3.8 KB on the wire).

use crate::i18n::{Locale, SWITCH_PATH, Texts};
use leptos::prelude::*;

#[component]
pub fn LanguageSwitch() -> impl IntoView {
    let texts = Texts::here();
    view! {
        <form method="post" action=SWITCH_PATH class="language-switch" aria-label=texts.language_label()>
            {Locale::all()
                .map(|locale| {
                    let current = locale == texts.locale();
                    view! {
                        <button
                            type="submit"
                            name="lang"
                            value=locale.tag()
                            lang=locale.tag()
                            class="link"
                            aria-pressed=if current { "true" } else { "false" }
                        >
                            {locale.name()}
                        </button>
                    }
                })
                .collect_view()}
        </form>
    }
}
