//! `/login`: a password tab (username, mobile or e-mail; the captcha exactly
//! when the server will ask for it; "remember me") and an SMS tab. After
//! signing in, the visitor returns to `next` when it is a path on this site.

use crate::{
    api::{Login, RemoveEmailAfterReset, SmsLogin, email_removal_offer, login_needs_captcha},
    components::{Captcha, CaptchaField, FormErrors, MobileAndCode, TextField, tab_button},
    i18n::Texts,
    rules::Account,
};
use leptos::{ev::SubmitEvent, prelude::*, task::spawn_local};
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tab {
    Password,
    Sms,
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let next = Signal::derive(move || query.read().get("next").unwrap_or_default());
    let tab = RwSignal::new(Tab::Password);
    // Created here, outside any Suspend, so that hydration finds them.
    let (password_captcha, sms_captcha) = (Captcha::new(), Captcha::guarding_send("login"));
    let captcha_at_first = crate::wire::resource(|| (), |_| login_needs_captcha(String::new()));
    let after_reset = move || query.read().get("reset").is_some();
    let texts = Texts::here();
    view! {
        <Title text=texts.login_title() />
        <section class="card">
            <h1>{texts.login_title()}</h1>
            <Show when=after_reset>
                <p class="field-message hint" role="status" data-testid="reset-done">
                    {texts.login_reset_done()}
                </p>
            </Show>
            <EmailRemovalOffer />
            <div role="tablist" class="tabs" aria-label=texts.login_methods()>
                {tab_button(tab, Tab::Password, texts.login_tab_password(), "password-login")}
                {tab_button(tab, Tab::Sms, texts.login_tab_sms(), "sms-login")}
            </div>
            <div id="password-login" role="tabpanel" hidden=move || tab.get() != Tab::Password>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        let first = captcha_at_first.await.unwrap_or(false);
                        view! { <PasswordLogin next captcha=password_captcha captcha_at_first=first /> }
                    })}
                </Transition>
            </div>
            <div id="sms-login" role="tabpanel" hidden=move || tab.get() != Tab::Sms>
                <SmsLoginForm next captcha=sms_captcha />
            </div>
            <p class="muted switch">
                {texts.login_no_account()}
                <a href=move || match next.get() {
                    next if next.is_empty() => "/register".to_owned(),
                    next => format!("/register?next={}", crate::rules::url_encode(&next)),
                }>{texts.login_register()}</a>
            </p>
        </section>
    }
}

/// After a reset by SMS of an account with a verified e-mail: that address
/// (masked) and a button to remove it, in case whoever bound it was not the
/// phone's owner (someone who once had the password). The address comes
/// from the signed ticket in `offer`, checked by the server: the page shows
/// nothing a URL can make up.
#[component]
fn EmailRemovalOffer() -> impl IntoView {
    let query = use_query_map();
    let ticket = query.read_untracked().get("offer").unwrap_or_default();
    let removed = move || query.read().get("removed").is_some();
    let offer = {
        let ticket = ticket.clone();
        crate::wire::resource(
            || (),
            move |_| {
                let ticket = ticket.clone();
                async move { if ticket.is_empty() { Ok(None) } else { email_removal_offer(ticket).await.map(Some) } }
            },
        )
    };
    let action = ServerAction::<RemoveEmailAfterReset>::new();
    let server = FormErrors::of(action);
    let texts = Texts::here();
    view! {
        <Show when=removed>
            <p class="field-message hint" role="status" data-testid="email-removed">
                {texts.login_email_removed()}
            </p>
        </Show>
        <Transition fallback=|| ()>
            {move || {
                let ticket = ticket.clone();
                Suspend::new(async move {
                    let Ok(Some(address)) = offer.await else { return ().into_any() };
                    if removed() {
                        return ().into_any();
                    }
                    view! {
                        <div class="notice" data-testid="email-removal-offer">
                            <p>
                                {texts.login_bound_email()} <strong>{address}</strong>
                                {texts.login_bound_email_after()}
                            </p>
                            <ActionForm action=action attr:class="inline-form">
                                <p class="form-error" role="alert">
                                    {move || server.general()}
                                </p>
                                <input type="hidden" name="ticket" value=ticket />
                                <button type="submit" class="secondary">{texts.login_remove_email()}</button>
                            </ActionForm>
                        </div>
                    }
                        .into_any()
                })
            }}
        </Transition>
    }
}

/// The "remember me" box and the hidden `next`, shared by both tabs.
#[component]
fn RememberAndNext(id: &'static str, next: Signal<String>) -> impl IntoView {
    let texts = Texts::here();
    view! {
        <input type="hidden" name="next" value=next />
        <div class="field checkbox">
            <input id=id name="remember" type="checkbox" value="on" />
            <label for=id>{texts.login_remember()}</label>
        </div>
    }
}

#[component]
fn PasswordLogin(next: Signal<String>, captcha: Captcha, captcha_at_first: bool) -> impl IntoView {
    let action = ServerAction::<Login>::new();
    // A site that sent the person here may name the account (`login_hint`).
    let hint = use_query_map().read_untracked().get("account").unwrap_or_default();
    let account = RwSignal::new(hint.chars().take(64).collect::<String>());
    let password = RwSignal::new(String::new());
    let captcha_text = RwSignal::new(String::new());
    let needs_captcha = RwSignal::new(captcha_at_first);
    let [account_error, password_error, text_error] = std::array::from_fn(|_| RwSignal::new(None::<String>));
    let texts = Texts::here();

    // Ask the server whether it will want the captcha from this client; once
    // shown, the captcha stays.
    let ask = move || {
        let account = account.get_untracked();
        spawn_local(async move {
            if let Ok(true) = login_needs_captcha(account).await {
                needs_captcha.set(true);
            }
        });
    };
    // After every refused attempt the answer may have changed; a used
    // captcha is replaced. The account itself may want one (failures from
    // elsewhere), which the server says only at the attempt.
    Effect::new(move |_| {
        if let Some(Err(e)) = action.value().get() {
            if e.code == crate::error::ErrorCode::ImageCodeRequired {
                needs_captcha.set(true);
            }
            captcha.refresh();
            captcha_text.set(String::new());
            ask();
        }
    });

    let on_submit = move |ev: SubmitEvent| {
        account_error.set(Account::parse(&account.get_untracked()).err().map(|e| Texts::here().say(&e.text())));
        password_error.set(password.get_untracked().is_empty().then(|| texts.login_password_required().into()));
        let missing_captcha = needs_captcha.get_untracked() && captcha_text.get_untracked().trim().is_empty();
        text_error.set(missing_captcha.then(|| texts.login_captcha_required().into()));
        if account_error.get_untracked().is_some() || password_error.get_untracked().is_some() || missing_captcha {
            ev.prevent_default();
        }
    };
    let server = FormErrors::of(action);
    let note = move |local, field| server.note(local, field);
    let clear = |slot: RwSignal<Option<String>>| Callback::new(move |()| slot.set(None));

    view! {
        // The checks run in the capture phase on a wrapper, before the form's own
        // handler sends it: an element's listener, not one forwarded through the
        // `ActionForm` component (with erased components, release builds lost it).
        <div class="form-checks" on:submit:capture=on_submit>
            <ActionForm action=action attr:novalidate=true attr:class="form">
                <p class="form-error" role="alert">
                    {move || server.general()}
                </p>
                <TextField
                    id="account"
                    name="account"
                    label=texts.login_account()
                    autocomplete="username"
                    placeholder=texts.login_account_placeholder()
                    value=account
                    note=note(account_error, "account")
                    on_edit=clear(account_error)
                    on_leave=Callback::new(move |()| ask())
                />
                <TextField
                    id="password"
                    name="password"
                    label=texts.login_password()
                    input_type="password"
                    autocomplete="current-password"
                    value=password
                    note=note(password_error, "password")
                    on_edit=clear(password_error)
                />
                <Show when=move || needs_captcha.get()>
                    <CaptchaField
                        captcha
                        id="login-captcha-text"
                        text=captcha_text
                        name="text"
                        note=note(text_error, "text")
                        on_edit=clear(text_error)
                    />
                </Show>
                <RememberAndNext id="remember" next />
                <p class="forgot-link">
                    <a href="/forgot">{texts.login_forgot()}</a>
                </p>
                <button type="submit" class="primary" disabled=move || action.pending().get()>
                    {move || if action.pending().get() { texts.login_submitting() } else { texts.login_submit() }}
                </button>
            </ActionForm>
        </div>
    }
}

#[component]
fn SmsLoginForm(next: Signal<String>, captcha: Captcha) -> impl IntoView {
    let action = ServerAction::<SmsLogin>::new();
    let number = MobileAndCode::new();
    let on_submit = move |ev: SubmitEvent| {
        if !number.check() {
            ev.prevent_default();
        }
    };
    let server = FormErrors::of(action);
    let texts = Texts::here();
    view! {
        // The checks run in the capture phase on a wrapper, before the form's own
        // handler sends it: an element's listener, not one forwarded through the
        // `ActionForm` component (with erased components, release builds lost it).
        <div class="form-checks" on:submit:capture=on_submit>
            <ActionForm action=action attr:novalidate=true attr:class="form">
                <p class="form-error" role="alert">
                    {move || server.general()}
                </p>
                {number.fields("sms-mobile", "login", captcha, server)}
                <RememberAndNext id="sms-remember" next />
                <button type="submit" class="primary" disabled=move || action.pending().get()>
                    {move || if action.pending().get() { texts.login_submitting() } else { texts.login_submit() }}
                </button>
            </ActionForm>
        </div>
    }
}
