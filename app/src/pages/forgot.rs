//! `/forgot` ("忘记密码"): by e-mail (address and captcha: a link comes by
//! mail, or nothing, and the page says the same either way), or by SMS
//! (mobile, captcha, the code, the new password twice). `/reset?token=`:
//! the mailed link's page, which checks the link as it opens.

use crate::i18n::Texts;
use crate::{
    Session,
    api::{ForgotByEmail, ResetPassword, reset_link_status},
    components::{Captcha, CaptchaField, FormErrors, MobileAndCode, TextField, tab_button},
    rules::{Email, Password, PasswordPolicy, passwords_match},
};
use leptos::{ev::SubmitEvent, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Way {
    Email,
    Sms,
}

#[component]
pub fn ForgotPage() -> impl IntoView {
    let session = expect_context::<Session>();
    let texts = Texts::here();
    let way = RwSignal::new(Way::Email);
    // Created here, outside any Suspend, so that hydration finds them.
    let (email_captcha, sms_captcha) = (Captcha::new(), Captcha::guarding_send("reset_password"));
    view! {
        <Title text=texts.forgot_title() />
        <section class="card">
            <h1>{texts.forgot_title()}</h1>
            <div role="tablist" class="tabs" aria-label=texts.forgot_ways()>
                {tab_button(way, Way::Email, texts.forgot_by_email(), "forgot-email")}
                {tab_button(way, Way::Sms, texts.forgot_by_sms(), "forgot-sms")}
            </div>
            <div id="forgot-email" role="tabpanel" hidden=move || way.get() != Way::Email>
                <ByEmail captcha=email_captcha />
            </div>
            <div id="forgot-sms" role="tabpanel" hidden=move || way.get() != Way::Sms>
                <Transition fallback=move || view! { <p>{texts.forgot_loading()}</p> }>
                    {move || Suspend::new(async move {
                        let policy = session.info.await.map(|i| i.password_policy).unwrap_or_default();
                        view! { <BySms policy captcha=sms_captcha /> }
                    })}
                </Transition>
            </div>
            <p class="muted switch">
                {texts.forgot_remembered()} <a href="/login">{texts.forgot_back_to_sign_in()}</a>
            </p>
        </section>
    }
}

#[component]
fn ByEmail(captcha: Captcha) -> impl IntoView {
    let texts = Texts::here();
    let action = ServerAction::<ForgotByEmail>::new();
    let email = RwSignal::new(String::new());
    let text = RwSignal::new(String::new());
    let [email_error, text_error] = std::array::from_fn(|_| RwSignal::new(None::<String>));
    // Each answer used the captcha: show a new one.
    Effect::new(move |_| {
        if action.value().get().is_some() {
            captcha.refresh();
            text.set(String::new());
        }
    });
    let on_submit = move |ev: SubmitEvent| {
        email_error.set(Email::parse(&email.get_untracked()).err().map(|e| texts.say(&e.text())));
        text_error.set(text.get_untracked().trim().is_empty().then(|| texts.rule_captcha_empty().into()));
        if email_error.get_untracked().is_some() || text_error.get_untracked().is_some() {
            ev.prevent_default();
        }
    };
    let server = FormErrors::of(action);
    let sent = move || action.value().get().and_then(Result::ok).map(|s| s.message);
    view! {
        <div class="form-checks" on:submit:capture=on_submit>
            <ActionForm action=action attr:novalidate=true attr:class="form">
                <p class="form-error" role="alert">
                    {move || server.general()}
                </p>
                <TextField
                    id="forgot-email-address"
                    name="email"
                    label=texts.forgot_email_label()
                    input_type="email"
                    autocomplete="email"
                    placeholder=texts.forgot_email_placeholder()
                    value=email
                    note=server.note(email_error, "email")
                    on_edit=Callback::new(move |()| email_error.set(None))
                />
                <CaptchaField
                    captcha
                    id="forgot-email-captcha"
                    text
                    name="text"
                    note=server.note(text_error, "text")
                    on_edit=Callback::new(move |()| text_error.set(None))
                />
                <p class="field-message hint" role="status" data-testid="forgot-sent">
                    {sent}
                </p>
                <button type="submit" class="primary" disabled=move || action.pending().get()>
                    {move || if action.pending().get() { texts.forgot_sending() } else { texts.forgot_send_link() }}
                </button>
            </ActionForm>
        </div>
    }
}

/// The new password twice, checked in the browser by the registration rules
/// (the server checks them again, with the account's own mobile and name).
#[derive(Clone, Copy)]
struct NewPassword {
    password: RwSignal<String>,
    password2: RwSignal<String>,
    password_error: RwSignal<Option<String>>,
    password2_error: RwSignal<Option<String>>,
    policy: PasswordPolicy,
}

impl NewPassword {
    fn new(policy: PasswordPolicy) -> NewPassword {
        NewPassword {
            password: RwSignal::new(String::new()),
            password2: RwSignal::new(String::new()),
            password_error: RwSignal::new(None),
            password2_error: RwSignal::new(None),
            policy,
        }
    }

    /// Checks both fields; true when they hold.
    fn check(self) -> bool {
        let first = Password::parse(&self.password.get_untracked(), self.policy, None, None);
        let texts = Texts::here();
        self.password_error.set(first.err().map(|e| texts.say(&e.text())));
        let again = passwords_match(&self.password.get_untracked(), &self.password2.get_untracked());
        self.password2_error.set(again.err().map(|e| texts.say(&e.text())));
        self.password_error.get_untracked().is_none() && self.password2_error.get_untracked().is_none()
    }

    fn fields(self, server: FormErrors) -> impl IntoView {
        let texts = Texts::here();
        view! {
            <TextField
                id="reset-password"
                name="password"
                label=texts.forgot_new_password()
                input_type="password"
                autocomplete="new-password"
                value=self.password
                note=server.note(self.password_error, "password")
                on_edit=Callback::new(move |()| self.password_error.set(None))
            />
            <TextField
                id="reset-password2"
                name="password2"
                label=texts.forgot_new_password2()
                input_type="password"
                autocomplete="new-password"
                value=self.password2
                note=server.note(self.password2_error, "password2")
                on_edit=Callback::new(move |()| self.password2_error.set(None))
            />
        }
    }
}

#[component]
fn BySms(policy: PasswordPolicy, captcha: Captcha) -> impl IntoView {
    let texts = Texts::here();
    let action = ServerAction::<ResetPassword>::new();
    let number = MobileAndCode::new();
    let new_password = NewPassword::new(policy);
    let on_submit = move |ev: SubmitEvent| {
        // Both checked, so that every wrong field shows at once.
        let (number_holds, passwords_hold) = (number.check(), new_password.check());
        if !number_holds || !passwords_hold {
            ev.prevent_default();
        }
    };
    let server = FormErrors::of(action);
    view! {
        <div class="form-checks" on:submit:capture=on_submit>
            <ActionForm action=action attr:novalidate=true attr:class="form">
                <p class="form-error" role="alert">
                    {move || server.general()}
                </p>
                {number.fields("forgot-mobile", "reset_password", captcha, server)}
                {new_password.fields(server)}
                <button type="submit" class="primary" disabled=move || action.pending().get()>
                    {move || if action.pending().get() { texts.forgot_submitting() } else { texts.forgot_reset() }}
                </button>
            </ActionForm>
        </div>
    }
}

/// `/reset?token=...`: the link from the e-mail.
#[component]
pub fn ResetPage() -> impl IntoView {
    let session = expect_context::<Session>();
    let texts = Texts::here();
    let query = use_query_map();
    let token = query.read_untracked().get("token").unwrap_or_default();
    let status = {
        let token = token.clone();
        crate::wire::resource(|| (), move |_| reset_link_status(token.clone()))
    };
    view! {
        <Title text=texts.forgot_reset() />
        <section class="card">
            <h1>{texts.forgot_reset()}</h1>
            <Transition fallback=move || view! { <p>{texts.forgot_loading()}</p> }>
                {move || {
                    let token = token.clone();
                    Suspend::new(async move {
                        let policy = session.info.await.map(|i| i.password_policy).unwrap_or_default();
                        match status.await {
                            Ok(()) => view! { <ResetForm token policy /> }.into_any(),
                            Err(e) => {
                                view! {
                                    <p class="form-error" role="alert" data-testid="link-refused">
                                        {e.say(&texts)}
                                    </p>
                                    <p>
                                        <a href="/forgot">{texts.forgot_ask_again()}</a>
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
fn ResetForm(token: String, policy: PasswordPolicy) -> impl IntoView {
    let texts = Texts::here();
    let action = ServerAction::<ResetPassword>::new();
    let new_password = NewPassword::new(policy);
    let on_submit = move |ev: SubmitEvent| {
        if !new_password.check() {
            ev.prevent_default();
        }
    };
    let server = FormErrors::of(action);
    view! {
        <p class="muted">{texts.forgot_set_new()}</p>
        <div class="form-checks" on:submit:capture=on_submit>
            <ActionForm action=action attr:novalidate=true attr:class="form">
                <p class="form-error" role="alert">
                    {move || {
                        server.general().map(|m| view! { {m} " " <a href="/forgot">{texts.forgot_again()}</a> })
                    }}
                </p>
                <input type="hidden" name="token" value=token />
                {new_password.fields(server)}
                <button type="submit" class="primary" disabled=move || action.pending().get()>
                    {move || if action.pending().get() { texts.forgot_submitting() } else { texts.forgot_reset() }}
                </button>
            </ActionForm>
        </div>
    }
}
