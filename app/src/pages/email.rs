//! The account's e-mail: the user centre's section (bind with the password
//! and a code sent to the account's mobile, resend the link, remove), and
//! `/email/verify?token=`, the page the verification link opens, signed in
//! or not.

use crate::i18n::Texts;
use crate::{
    api::{BindEmail, RemoveEmail, ResendEmailLink, VerifyEmail, email_link_status, email_status},
    components::{Captcha, FieldMessage, FormErrors, Note, SmsCodeFields, TextField},
    rules::{Email, SmsCode},
    wire::EmailLink,
};
use leptos::{ev::SubmitEvent, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// `/email/verify?token=...`: shows the address the link would verify and
/// asks the person to confirm (opening it verifies nothing: mail scanners
/// open links too); `?verified=1` is where a confirmation lands.
#[component]
pub fn VerifyEmailPage() -> impl IntoView {
    let query = use_query_map();
    // Reactive: a confirmation (with WASM) navigates here within the page.
    let verified = Memo::new(move |_| query.read().get("verified").is_some());
    let token = query.read_untracked().get("token").unwrap_or_default();
    let status = {
        let token = token.clone();
        // Once verified there is no link left to look at.
        crate::wire::resource(
            move || verified.get(),
            move |done| {
                let token = token.clone();
                async move { if done { Ok(EmailLink::default()) } else { email_link_status(token).await } }
            },
        )
    };
    let texts = Texts::here();
    let body = move || {
        if verified.get() {
            return view! {
                <p class="field-message hint" role="status" data-testid="email-verified">
                    {texts.email_verified()}
                </p>
                <p>
                    <a href="/user">{texts.email_to_user_centre()}</a>
                </p>
            }
            .into_any();
        }
        let token = token.clone();
        view! {
            <Transition fallback=move || view! { <p>{texts.email_loading()}</p> }>
                {move || {
                    let token = token.clone();
                    Suspend::new(async move {
                        match status.await {
                            Ok(link) => view! { <ConfirmEmail token link /> }.into_any(),
                            Err(e) => view! { <LinkRefused message=e.say(&texts) /> }.into_any(),
                        }
                    })
                }}
            </Transition>
        }
        .into_any()
    };
    view! {
        <Title text=texts.email_verify_title() />
        <section class="card">
            <h1>{texts.email_verify_title()}</h1>
            {body}
        </section>
    }
}

#[component]
fn ConfirmEmail(token: String, link: EmailLink) -> impl IntoView {
    let EmailLink { email, account } = link;
    let action = ServerAction::<VerifyEmail>::new();
    let server = FormErrors::of(action);
    let texts = Texts::here();
    view! {
        <p>
            {texts.email_confirm_bind()} <strong>{email}</strong> {texts.email_confirm_to()}
            <strong data-testid="link-account">{account}</strong> {texts.email_confirm_then()}
        </p>
        <p class="muted">{texts.email_not_you()}</p>
        <ActionForm action=action attr:class="form">
            <p class="form-error" role="alert">
                {move || server.general()}
            </p>
            <input type="hidden" name="token" value=token />
            <button type="submit" class="primary" disabled=move || action.pending().get()>
                {move || if action.pending().get() { texts.email_verifying() } else { texts.email_verify() }}
            </button>
        </ActionForm>
    }
}

#[component]
fn LinkRefused(message: String) -> impl IntoView {
    let texts = Texts::here();
    view! {
        <p class="form-error" role="alert" data-testid="link-refused">
            {message}
        </p>
        <p>
            <a href="/user">{texts.email_resend_from_user_centre()}</a>
        </p>
    }
}

/// The user centre's e-mail section. Binding asks for a code sent to the
/// account's `mobile` for `bind_email` (`captcha` guards its send; made at
/// the top of the page, outside any `Suspend`).
#[component]
pub fn EmailSection(mobile: String, captcha: Captcha) -> impl IntoView {
    let bind = ServerAction::<BindEmail>::new();
    let resend = ServerAction::<ResendEmailLink>::new();
    let remove = ServerAction::<RemoveEmail>::new();
    let status = crate::wire::resource(
        move || (bind.version().get(), resend.version().get(), remove.version().get()),
        |_| email_status(),
    );
    let email = RwSignal::new(String::new());
    let [password, remove_password] = std::array::from_fn(|_| RwSignal::new(String::new()));
    let email_error = RwSignal::new(None::<String>);
    let mobile = RwSignal::new(mobile);
    let (sms_code, sms_error, mobile_error) = (RwSignal::new(String::new()), RwSignal::new(None), RwSignal::new(None));
    let texts = Texts::here();
    let on_submit = move |ev: SubmitEvent| {
        email_error.set(Email::parse(&email.get_untracked()).err().map(|e| texts.say(&e.text())));
        sms_error.set(SmsCode::parse(&sms_code.get_untracked()).err().map(|e| texts.say(&e.text())));
        if email_error.get_untracked().is_some() || sms_error.get_untracked().is_some() {
            ev.prevent_default();
        }
    };
    let bind_errors = FormErrors::of(bind);
    let remove_errors = FormErrors::of(remove);
    let resend_note = move || match resend.value().get() {
        Some(Ok(_)) => Some(Note::Hint(texts.email_resent().into())),
        Some(Err(e)) => Some(Note::Error(e.say(&texts))),
        None => None,
    };
    view! {
        <section class="card">
            <h2>{texts.email_heading()}</h2>
            <Transition fallback=move || view! { <p>{texts.email_loading()}</p> }>
                {move || Suspend::new(async move {
                    let Ok(Some(now)) = status.await else { return ().into_any() };
                    let verified = now.verified.clone();
                    view! {
                        <p data-testid="email-verified">
                            {match verified {
                                Some(address) => texts.email_verified_address(address),
                                None => texts.email_none_verified().into(),
                            }}
                        </p>
                        {now
                            .pending
                            .clone()
                            .map(|address| {
                                let expired = now.pending_expired;
                                view! {
                                    <p data-testid="email-pending">
                                        {if expired {
                                            texts.email_pending_expired(&address)
                                        } else {
                                            texts.email_pending(&address)
                                        }}
                                    </p>
                                    <ActionForm action=resend attr:class="inline-form">
                                        <button type="submit" class="secondary">{texts.email_resend()}</button>
                                    </ActionForm>
                                }
                            })}
                    }
                        .into_any()
                })}
            </Transition>
            <FieldMessage id="resend-email-note" note=Signal::derive(resend_note) />
            <div class="form-checks" on:submit:capture=on_submit>
                <ActionForm action=bind attr:novalidate=true attr:class="form">
                    <p class="form-error" role="alert">
                        {move || bind_errors.general()}
                    </p>
                    <TextField
                        id="bind-email"
                        name="email"
                        label=texts.email_new()
                        input_type="email"
                        autocomplete="email"
                        value=email
                        note=bind_errors.note(email_error, "email")
                        on_edit=Callback::new(move |()| email_error.set(None))
                    />
                    <TextField
                        id="bind-email-password"
                        name="password"
                        label=texts.email_password()
                        input_type="password"
                        autocomplete="current-password"
                        value=password
                        note=Signal::derive(move || bind_errors.field("password").map(Note::Error))
                    />
                    <p class="muted">{texts.email_code_to_own_mobile()}</p>
                    <SmsCodeFields
                        purpose="bind_email"
                        captcha
                        mobile
                        mobile_ready=Signal::derive(|| true)
                        mobile_error
                        sms_code
                        sms_error
                        server_error=Signal::derive(move || bind_errors.field("sms_code"))
                        own_number=true
                    />
                    <FieldMessage id="bind-mobile-note" note=Signal::derive(move || mobile_error.get().map(Note::Error)) />
                    <p class="field-message hint" role="status">
                        {move || {
                            matches!(bind.value().get(), Some(Ok(_)))
                                .then_some(texts.email_sent())
                        }}
                    </p>
                    <button type="submit" class="primary">{texts.email_send()}</button>
                </ActionForm>
            </div>
            <details class="remove-email">
                <summary>{texts.email_remove_heading()}</summary>
                <ActionForm action=remove attr:class="form">
                    <p class="form-error" role="alert">
                        {move || remove_errors.general()}
                    </p>
                    <TextField
                        id="remove-email-password"
                        name="password"
                        label=texts.email_password()
                        input_type="password"
                        autocomplete="current-password"
                        value=remove_password
                        note=Signal::derive(move || remove_errors.field("password").map(Note::Error))
                    />
                    <button type="submit" class="secondary">{texts.email_remove()}</button>
                </ActionForm>
            </details>
        </section>
    }
}
