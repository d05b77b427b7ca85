//! `/delete?next=…`, 注销账号: what is erased and when, confirmed with the
//! password or with a code sent to the account's own mobile. While a
//! request waits, the page says the date and offers 撤销注销 (where a
//! sign-in during the cooling-off period lands first, then goes on to
//! `next`). Linked from the user centre and from refusing changed texts.

use crate::i18n::Texts;
use crate::{
    api::{CancelDeletion, DeletionPageData, Logout, RequestDeletion, deletion_page},
    components::{Captcha, FieldMessage, FormErrors, Note, SmsCodeFields, TextField, format_time},
    rules::{deletion_path, safe_next_path, sign_in_then},
    wire::DeletionStatus,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::Redirect, hooks::use_query_map};

#[component]
pub fn DeletionPage() -> impl IntoView {
    let next = use_query_map().read_untracked().get("next");
    let next = next.as_deref().and_then(safe_next_path).unwrap_or("/user").to_owned();
    let request = ServerAction::<RequestDeletion>::new();
    // Made here, outside any Suspend, so that hydration finds the server's.
    let captcha = Captcha::guarding_send("delete_account");
    let data = crate::wire::resource(|| (), |()| deletion_page());
    let texts = Texts::here();
    view! {
        <Title text=texts.deletion_title() />
        <section class="card">
            <Transition fallback=move || view! { <p>{texts.deletion_loading()}</p> }>
                {move || {
                    let next = next.clone();
                    Suspend::new(async move {
                        match data.await {
                            Ok(Some(DeletionPageData { delete_after: Some(at), .. })) => {
                                view! { <Waiting at next /> }.into_any()
                            }
                            Ok(Some(page)) => view! { <Ask page request captcha /> }.into_any(),
                            Ok(None) => view! { <Redirect path=sign_in_then(&deletion_path(&next)) /> }.into_any(),
                            Err(e) => view! { <p class="form-error" role="alert">{e.say(&texts)}</p> }.into_any(),
                        }
                    })
                }}
            </Transition>
        </section>
    }
}

/// The request, with what it does and the proof it needs.
#[component]
fn Ask(page: DeletionPageData, request: ServerAction<RequestDeletion>, captcha: Captcha) -> impl IntoView {
    let errors = FormErrors::of(request);
    let password = RwSignal::new(String::new());
    let mobile = RwSignal::new(page.mobile.clone());
    let (sms_code, sms_error, mobile_error) = (RwSignal::new(String::new()), RwSignal::new(None), RwSignal::new(None));
    let texts = Texts::here();
    let when = match page.wait_days {
        0 => texts.deletion_at_once().to_owned(),
        days => texts.deletion_after_days(days),
    };
    // Once done the form is hidden, not dropped: the ActionForm that
    // dispatched must outlive its own answer.
    let done = move || request.value().get().and_then(Result::ok);
    view! {
        <h1>{texts.deletion_title()}</h1>
        {move || done().map(|done| view! { <Requested done /> })}
        <div hidden=move || done().is_some()>
        <p data-testid="deletion-when">{when}</p>
        <p>{texts.deletion_erases()}</p>
        <ul class="erased">
            <li>{texts.deletion_erases_identity()}</li>
            <li>{texts.deletion_erases_history()}</li>
            <li>{texts.deletion_erases_applications()}</li>
            <li>{texts.deletion_erases_deliveries()}</li>
        </ul>
        <p class="muted">{texts.deletion_fresh_start()}</p>
        <ActionForm action=request attr:class="form" attr:novalidate=true>
            <p class="form-error" role="alert">
                {move || errors.general()}
            </p>
            <TextField
                id="deletion-password"
                name="password"
                label=texts.deletion_password()
                input_type="password"
                autocomplete="current-password"
                value=password
                note=Signal::derive(move || errors.field("password").map(Note::Error))
            />
            <details class="deletion-sms">
                <summary>{texts.deletion_by_sms()}</summary>
                <p class="muted">{texts.deletion_code_to_own_mobile()}</p>
                <SmsCodeFields
                    purpose="delete_account"
                    captcha
                    mobile
                    mobile_ready=Signal::derive(|| true)
                    mobile_error
                    sms_code
                    sms_error
                    server_error=Signal::derive(move || errors.field("sms_code"))
                    own_number=true
                />
                <FieldMessage
                    id="deletion-mobile-note"
                    note=Signal::derive(move || mobile_error.get().map(Note::Error))
                />
            </details>
            <div class="actions">
                <button type="submit" class="danger" disabled=move || request.pending().get()>
                    {texts.deletion_title()}
                </button>
                <a class="button secondary" href="/user">
                    {texts.deletion_cancel()}
                </a>
            </div>
        </ActionForm>
        </div>
    }
}

/// A request waits: its date, and 撤销注销 (then on to `next`).
#[component]
fn Waiting(at: i64, next: String) -> impl IntoView {
    let cancel = ServerAction::<CancelDeletion>::new();
    let logout = ServerAction::<Logout>::new();
    let errors = FormErrors::of(cancel);
    let texts = Texts::here();
    view! {
        <h1>{texts.deletion_waiting()}</h1>
        <p data-testid="deletion-pending">{texts.deletion_on(format_time(at))}</p>
        <p class="muted">{texts.deletion_undo_note()}</p>
        <p class="form-error" role="alert">
            {move || errors.general()}
        </p>
        <div class="actions">
            <ActionForm action=cancel attr:class="inline-form">
                <input type="hidden" name="next" value=next />
                <button type="submit" class="primary" disabled=move || cancel.pending().get()>
                    {texts.deletion_undo()}
                </button>
            </ActionForm>
            <ActionForm action=logout attr:class="inline-form">
                <button type="submit" class="secondary">
                    {texts.deletion_sign_out()}
                </button>
            </ActionForm>
        </div>
    }
}

/// What a request just did: the date, or that the account is gone.
#[component]
fn Requested(done: DeletionStatus) -> impl IntoView {
    let texts = Texts::here();
    let said = match done.delete_after {
        Some(at) => texts.deletion_requested(format_time(at)),
        None => texts.deletion_erased().to_owned(),
    };
    view! {
        <p data-testid="deletion-done" role="status">{said}</p>
        <p>
            <a href="/">{texts.deletion_home()}</a>
        </p>
    }
}
