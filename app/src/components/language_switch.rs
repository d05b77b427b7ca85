//! The language switch on every page: one button per locale, each named in
//! its own language, in a plain form that posts to `/lang` with the page it
//! is on (`server/src/language.rs` sets the cookie and comes back). A full
//! page load on purpose: the page is drawn again, and hydrates, in the
//! chosen language, with only that language's texts.

use crate::i18n::{Locale, SWITCH_PATH, Texts};
use leptos::prelude::*;
use leptos_router::hooks::use_location;

#[component]
pub fn LanguageSwitch() -> impl IntoView {
    let texts = Texts::here();
    let location = use_location();
    // The page it is on, query included (`next` of a sign-in, an OpenID
    // Connect request): where the switch comes back to.
    let here = move || match location.search.get() {
        query if query.is_empty() => location.pathname.get(),
        query => format!("{}?{query}", location.pathname.get()),
    };
    view! {
        <form method="post" action=SWITCH_PATH class="language-switch" aria-label=texts.language_label()>
            <input type="hidden" name="next" value=here />
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
