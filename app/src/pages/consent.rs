//! `/consent?request=…`: a third-party application (a client registered
//! with `--consent`) asks to sign the visitor in, and the visitor says yes
//! or no. Everything shown comes from the server's reading of the request
//! (the client's registered name, the scopes we know); nothing of the URL
//! is echoed. The answer goes back to the application either way.

use crate::i18n::Texts;
use crate::{
    api::{DecideConsent, consent_request},
    components::FormErrors,
    rules::{scope_meaning, scopes_meaning, sign_in_then, url_encode},
    wire::ConsentView,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::Redirect, hooks::use_query_map};

#[component]
pub fn ConsentPage() -> impl IntoView {
    let request = use_query_map().read_untracked().get("request").unwrap_or_default();
    let asked = {
        let request = request.clone();
        crate::wire::resource(|| (), move |()| consent_request(request.clone()))
    };
    let decide = ServerAction::<DecideConsent>::new();
    let texts = Texts::here();
    view! {
        <Title text=texts.consent_title() />
        <section class="card">
            <Transition fallback=move || view! { <p>{texts.consent_loading()}</p> }>
                {move || {
                    let request = request.clone();
                    Suspend::new(async move {
                        match asked.await {
                            Ok(Some(view)) => view! { <Ask view request decide /> }.into_any(),
                            Ok(None) => {
                                let back = format!("/consent?request={}", url_encode(&request));
                                view! { <Redirect path=sign_in_then(&back) /> }.into_any()
                            }
                            Err(e) => {
                                view! {
                                    <h1>{texts.consent_failed()}</h1>
                                    <p class="form-error" role="alert" data-testid="consent-error">
                                        {e.say(&texts)}
                                    </p>
                                    <p>
                                        <a href="/">{texts.consent_home()}</a>
                                    </p>
                                }
                                    .into_any()
                            }
                        }
                    })
                }}
            </Transition>
        </section>
    }
}

#[component]
fn Ask(view: ConsentView, request: String, decide: ServerAction<DecideConsent>) -> impl IntoView {
    let ConsentView { client_name, scopes, redirect_host } = view;
    let server = FormErrors::of(decide);
    let texts = Texts::here();
    let asked = texts.consent_asks(&client_name, scopes_meaning(&texts, scopes.iter().map(String::as_str)));
    let each = scopes
        .iter()
        .filter_map(|s| scope_meaning(&texts, s))
        .map(|meaning| view! { <li>{meaning}</li> })
        .collect_view();
    // Two forms, one answer each: a plain form post works before the page's
    // code has loaded, and the answer is never a guess from the button.
    let answer = move |allow: bool, label: &'static str, class: &'static str| {
        let request = request.clone();
        view! {
            <ActionForm action=decide attr:class="inline-form">
                <input type="hidden" name="request" value=request />
                <input type="hidden" name="allow" value=allow.to_string() />
                <button type="submit" class=class disabled=move || decide.pending().get()>
                    {label}
                </button>
            </ActionForm>
        }
    };
    view! {
        <h1>{texts.consent_heading(&client_name)}</h1>
        <p data-testid="consent-ask">{asked}</p>
        <ul class="scopes">{each}</ul>
        <p class="muted">
            {texts.consent_returns_to()} <strong data-testid="consent-host">{redirect_host}</strong>
            {texts.consent_revocable()}
        </p>
        <p class="form-error" role="alert">
            {move || server.general()}
        </p>
        <div class="actions">
            {answer(true, texts.consent_allow(), "primary")} {answer(false, texts.consent_deny(), "secondary")}
        </div>
    }
}
