//! `/accept?next=…`: a text the person accepted has changed (or was never
//! recorded): they read what is in force and accept it before going on,
//! or sign out. Reached after signing in, from the user centre, and from a
//! site's sign-in through us.

use crate::i18n::Texts;
use crate::{
    api::{AcceptTexts, Logout, texts_to_accept},
    components::FormErrors,
    rules::{LegalKind, safe_next_path, sign_in_then, url_encode},
    wire::LegalDocument,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::Redirect, hooks::use_query_map};

#[component]
pub fn AcceptPage() -> impl IntoView {
    let next = use_query_map().read_untracked().get("next");
    let next = next.as_deref().and_then(safe_next_path).unwrap_or("/").to_owned();
    let to_accept = crate::wire::resource(|| (), |()| texts_to_accept());
    let said = Texts::here();
    view! {
        <Title text=said.accept_title() />
        <section class="card">
            <Transition fallback=move || view! { <p>{said.accept_loading()}</p> }>
                {move || {
                    let next = next.clone();
                    Suspend::new(async move {
                        match to_accept.await {
                            Ok(Some(texts)) if texts.is_empty() => view! { <Redirect path=next /> }.into_any(),
                            Ok(Some(texts)) => view! { <Ask texts next /> }.into_any(),
                            Ok(None) => {
                                let back = format!("/accept?next={}", url_encode(&next));
                                view! { <Redirect path=sign_in_then(&back) /> }.into_any()
                            }
                            Err(e) => view! { <p class="form-error" role="alert">{e.say(&said)}</p> }.into_any(),
                        }
                    })
                }}
            </Transition>
        </section>
    }
}

#[component]
fn Ask(texts: Vec<LegalDocument>, next: String) -> impl IntoView {
    let accept = ServerAction::<AcceptTexts>::new();
    let logout = ServerAction::<Logout>::new();
    let errors = FormErrors::of(accept);
    let said = Texts::here();
    let names =
        texts.iter().map(|t| said.accept_quoted(t.kind.title(&said))).collect::<Vec<_>>().join(said.accept_and());
    let version_of = |kind: LegalKind| texts.iter().find(|t| t.kind == kind).map(|t| t.version.clone());
    let (privacy, terms) = (version_of(LegalKind::Privacy), version_of(LegalKind::Terms));
    let shown = texts
        .into_iter()
        .map(|text| {
            view! {
                <h2>{said.accept_versioned(text.kind.title(&said), &text.version)}</h2>
                <div class="prose legal-text" tabindex="0" inner_html=text.html />
            }
        })
        .collect_view();
    view! {
        <h1>{said.accept_title()}</h1>
        <p data-testid="accept-ask">{said.accept_ask(names)}</p>
        {shown}
        <p class="form-error" role="alert">
            {move || errors.general()}
        </p>
        <div class="actions">
            <ActionForm action=accept attr:class="inline-form">
                {privacy.map(|v| view! { <input type="hidden" name="privacy" value=v /> })}
                {terms.map(|v| view! { <input type="hidden" name="terms" value=v /> })}
                <input type="hidden" name="next" value=next />
                <button type="submit" class="primary" disabled=move || accept.pending().get()>
                    {said.accept_accept()}
                </button>
            </ActionForm>
            <ActionForm action=logout attr:class="inline-form">
                <button type="submit" class="secondary">
                    {said.accept_decline()}
                </button>
            </ActionForm>
        </div>
        <p class="muted">
            {said.accept_refuse()}
            <a href="/delete" data-testid="accept-refuse-delete">
                {said.accept_delete()}
            </a>
        </p>
    }
}
