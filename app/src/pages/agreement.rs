//! `/privacy` and `/terms`: the texts a person accepts at registration, as
//! the operator wrote them (Markdown rendered on the server; ours until
//! then), with their version. The whole text is in the server's HTML.

use crate::i18n::Texts;
use crate::{api::legal_text, rules::LegalKind};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn PrivacyPage() -> impl IntoView {
    view! { <LegalPage kind=LegalKind::Privacy /> }
}

#[component]
pub fn TermsPage() -> impl IntoView {
    view! { <LegalPage kind=LegalKind::Terms /> }
}

#[component]
fn LegalPage(kind: LegalKind) -> impl IntoView {
    let text = crate::wire::resource(|| (), move |()| legal_text(kind));
    let texts = Texts::here();
    view! {
        <Title text=kind.title(&texts) />
        <article class="card prose">
            <Suspense fallback=move || view! { <p>{texts.legal_loading()}</p> }>
                {move || Suspend::new(async move {
                    match text.await {
                        Ok(document) => {
                            view! {
                                <div inner_html=document.html />
                                <p class="muted" data-testid="legal-version">
                                    {texts.legal_version(&document.version)}
                                </p>
                            }
                                .into_any()
                        }
                        Err(e) => view! { <p class="error">{e.say(&texts)}</p> }.into_any(),
                    }
                })}
            </Suspense>
            <p>
                <a href="/register">{texts.legal_back_to_register()}</a>
            </p>
        </article>
    }
}
