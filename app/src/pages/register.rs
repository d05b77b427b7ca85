//! `/register`: mobile, image captcha, SMS code, password twice, optional
//! username and nickname, and the user agreement. The server renders the whole
//! form; the WASM adds the live checks (the same `rules` the server runs), the
//! availability lookups and the resend countdown.

use crate::session::Session;
use crate::{
    api::{Register, mobile_count, username_count},
    components::{Captcha, FieldMessage, FormErrors, MobileField, Note, SmsCodeFields, TextField},
    error::AppError,
    i18n::Texts,
    rules::{Mobile, MobileError, Nickname, Password, PasswordPolicy, SmsCode, Username, passwords_match},
};
use leptos::{ev::SubmitEvent, prelude::*, server_fn::ServerFn, task::spawn_local};
use leptos_meta::Title;
use std::time::Duration;

const LOOKUP_DEBOUNCE: Duration = Duration::from_millis(300);

#[component]
pub fn RegisterPage() -> impl IntoView {
    let session = expect_context::<Session>();
    let captcha = Captcha::guarding_send("register");
    // Where to go once registered: a sign-in another site asked for.
    let query = leptos_router::hooks::use_query_map();
    let next = Signal::derive(move || query.read().get("next").unwrap_or_default());
    let login = move || match next.get() {
        next if next.is_empty() => "/login".to_owned(),
        next => crate::rules::sign_in_then(&next),
    };
    let texts = Texts::here();
    view! {
        <Title text=texts.register_title() />
        <section class="card">
            <h1>{texts.register_title()}</h1>
            <Transition fallback=move || view! { <p>{texts.register_loading()}</p> }>
                {move || Suspend::new(async move {
                    let policy = session.info.await.map(|i| i.password_policy).unwrap_or_default();
                    view! { <RegisterForm policy captcha next /> }
                })}
            </Transition>
            <p class="muted switch">{texts.register_have_account()} <a href=login>{texts.register_sign_in()}</a></p>
        </section>
    }
}

/// What the page knows about a value that must be free (mobile, username).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Availability {
    Unknown,
    Checking,
    Free,
    Taken,
    Failed(String),
}

/// Asks the server, after a pause in typing, whether a value is taken; an
/// answer that arrives after a newer question is dropped.
fn watch_availability<F, Fut>(value: Signal<Option<String>>, status: RwSignal<Availability>, lookup: F)
where
    F: Fn(String) -> Fut + Copy + 'static,
    Fut: std::future::Future<Output = Result<i64, AppError>> + 'static,
{
    let asked = StoredValue::new(0u64);
    Effect::new(move |_| {
        asked.update_value(|n| *n += 1);
        let Some(candidate) = value.get() else {
            status.set(Availability::Unknown);
            return;
        };
        let question = asked.get_value();
        status.set(Availability::Checking);
        set_timeout(
            move || {
                if asked.get_value() != question {
                    return;
                }
                spawn_local(async move {
                    let answer = lookup(candidate).await;
                    if asked.get_value() != question {
                        return;
                    }
                    status.set(match answer {
                        Ok(0) => Availability::Free,
                        Ok(_) => Availability::Taken,
                        Err(e) => Availability::Failed(e.say(&Texts::here())),
                    });
                });
            },
            LOOKUP_DEBOUNCE,
        );
    });
}

fn error_of<E>(result: Result<impl Sized, E>, message: impl Fn(E) -> String) -> Option<String> {
    result.err().map(message)
}

#[component]
fn RegisterForm(policy: PasswordPolicy, captcha: Captcha, next: Signal<String>) -> impl IntoView {
    // Created inside the route, where the router provides the error that a
    // form posted without WASM carries back in the URL.
    let action = ServerAction::<Register>::new();
    let texts = Texts::here();

    let mobile = RwSignal::new(String::new());
    let mobile_touched = RwSignal::new(false);
    let mobile_status = RwSignal::new(Availability::Unknown);
    let username = RwSignal::new(String::new());
    let username_status = RwSignal::new(Availability::Unknown);
    let nickname = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let password2 = RwSignal::new(String::new());
    let sms_code = RwSignal::new(String::new());
    let allow = RwSignal::new(false);
    // The errors the browser found itself, per field.
    let [mobile_error, sms_error, password_error, password2_error, username_error, nickname_error, allow_error] =
        std::array::from_fn(|_| RwSignal::new(None::<String>));

    let parsed_mobile = Memo::new(move |_| Mobile::parse(&mobile.get()));
    watch_availability(
        Signal::derive(move || parsed_mobile.get().ok().map(|m| m.to_string())),
        mobile_status,
        |m| async move { mobile_count(m).await },
    );
    watch_availability(
        Signal::derive(move || Username::parse(&username.get()).ok().map(|u| u.to_string())),
        username_status,
        |u| async move { username_count(u).await },
    );

    let check_password = move || {
        let mobile = parsed_mobile.get_untracked().ok();
        let name = Username::parse(&username.get_untracked()).ok();
        let result = Password::parse(&password.get_untracked(), policy, mobile.as_ref(), name.as_ref());
        password_error.set(error_of(result, |e| Texts::here().say(&e.text())));
    };
    let check_password2 = move || {
        let result = passwords_match(&password.get_untracked(), &password2.get_untracked());
        password2_error.set(error_of(result, |e| Texts::here().say(&e.text())));
    };
    let check_username = move || {
        username_error
            .set(error_of(Username::parse_optional(&username.get_untracked()), |e| Texts::here().say(&e.text())))
    };

    // Every rule again before the form leaves; any error keeps it here.
    let on_submit = move |ev: SubmitEvent| {
        mobile_touched.set(true);
        mobile_error.set(error_of(parsed_mobile.get_untracked(), |e| Texts::here().say(&e.text())));
        sms_error.set(error_of(SmsCode::parse(&sms_code.get_untracked()), |e| Texts::here().say(&e.text())));
        check_password();
        check_password2();
        check_username();
        nickname_error
            .set(error_of(Nickname::parse_optional(&nickname.get_untracked()), |e| Texts::here().say(&e.text())));
        allow_error.set((!allow.get_untracked()).then(|| Texts::here().rule_agreement_required().into()));
        let blocked =
            [mobile_error, sms_error, password_error, password2_error, username_error, nickname_error, allow_error]
                .iter()
                .any(|e| e.get_untracked().is_some())
                || mobile_status.get_untracked() == Availability::Taken
                || username_status.get_untracked() == Availability::Taken;
        if blocked {
            ev.prevent_default();
        }
    };

    // The server's answer to the last submit.
    let server = FormErrors::of(action);
    let server_error = move |field: &'static str| server.field(field);

    let mobile_note = Signal::derive(move || {
        if let Some(e) = mobile_error.get() {
            return Some(Note::Error(e));
        }
        match parsed_mobile.get() {
            Err(MobileError::Empty) => return server_error("mobile").map(Note::Error),
            Err(e) if mobile_touched.get() || mobile.get().chars().filter(char::is_ascii_digit).count() >= 11 => {
                return Some(Note::Error(Texts::here().say(&e.text())));
            }
            Err(_) => return None,
            Ok(_) => {}
        }
        match mobile_status.get() {
            Availability::Taken => Some(Note::Error(texts.register_mobile_taken().into())),
            Availability::Free => Some(Note::Hint(texts.register_mobile_free().into())),
            Availability::Checking => Some(Note::Hint(texts.register_checking().into())),
            Availability::Failed(e) => Some(Note::Error(e)),
            Availability::Unknown => server_error("mobile").map(Note::Error),
        }
    });
    let username_note = Signal::derive(move || {
        if let Some(e) = username_error.get() {
            return Some(Note::Error(e));
        }
        match username_status.get() {
            Availability::Taken => Some(Note::Error(texts.register_username_taken().into())),
            Availability::Free => Some(Note::Hint(texts.register_username_free().into())),
            Availability::Failed(e) => Some(Note::Error(e)),
            _ => server_error("username")
                .map(Note::Error)
                .or_else(|| Some(Note::Hint(texts.register_username_hint().into()))),
        }
    });
    let password_hint = texts.register_password_hint(policy.min_chars, policy.max_chars);
    let password_note = Signal::derive(move || {
        password_error
            .get()
            .or_else(|| server_error("password"))
            .map(Note::Error)
            .or_else(|| Some(Note::Hint(password_hint.clone())))
    });
    let mobile_ready = Signal::derive(move || parsed_mobile.get().is_ok() && mobile_status.get() == Availability::Free);
    let clear = |slot: RwSignal<Option<String>>| Callback::new(move |()| slot.set(None));
    let optional = |value: RwSignal<String>| Some(value.get_untracked()).filter(|v| !v.trim().is_empty());
    let on_send = move |ev: SubmitEvent| {
        // The checks above refused it: nothing to send.
        if ev.default_prevented() {
            return;
        }
        ev.prevent_default();
        action.dispatch(Register {
            mobile: mobile.get_untracked(),
            password: password.get_untracked(),
            password2: password2.get_untracked(),
            sms_code: sms_code.get_untracked(),
            username: optional(username),
            nickname: optional(nickname),
            allow: allow.get_untracked().then(|| "on".to_owned()),
            next: Some(next.get_untracked()).filter(|n| !n.is_empty()),
        });
    };

    view! {
        // The checks run in the capture phase on a wrapper, before the form's own
        // handler sends it (which then sees the submit refused).
        <div class="form-checks" on:submit:capture=on_submit>
            // A plain form (it posts without WASM too); once alive, the typed
            // call replaces the post: unlike `ActionForm`, no form decoding
            // (serde_qs) in the first page's WASM, 20 KB less on the wire.
            <form method="post" action=Register::url() novalidate class="form" on:submit=on_send>
                <p class="form-error" role="alert">
                    {move || server.general()}
                </p>
                <input type="hidden" name="next" value=next />

                <MobileField
                    id="mobile"
                    value=mobile
                    note=mobile_note
                    on_edit=clear(mobile_error)
                    on_leave=Callback::new(move |()| mobile_touched.set(true))
                />

                <SmsCodeFields
                    purpose="register"
                    captcha
                    mobile
                    mobile_ready
                    mobile_error
                    sms_code
                    sms_error
                    server_error=Signal::derive(move || server_error("sms_code"))
                />

                <TextField
                    id="password"
                    name="password"
                    label=texts.register_password()
                    input_type="password"
                    autocomplete="new-password"
                    value=password
                    note=password_note
                    on_edit=clear(password_error)
                    on_leave=Callback::new(move |()| check_password())
                />

                <TextField
                    id="password2"
                    name="password2"
                    label=texts.register_password2()
                    input_type="password"
                    autocomplete="new-password"
                    value=password2
                    note=server.note(password2_error, "password2")
                    on_edit=clear(password2_error)
                    on_leave=Callback::new(move |()| check_password2())
                />

                <TextField
                    id="username"
                    name="username"
                    label=texts.register_username()
                    autocomplete="username"
                    value=username
                    note=username_note
                    on_edit=clear(username_error)
                    on_leave=Callback::new(move |()| check_username())
                />

                <TextField
                    id="nickname"
                    name="nickname"
                    label=texts.register_nickname()
                    autocomplete="nickname"
                    value=nickname
                    note=server.note(nickname_error, "nickname")
                    on_edit=clear(nickname_error)
                />

                <div class="field checkbox">
                    <input
                        id="allow"
                        name="allow"
                        type="checkbox"
                        value="on"
                        aria-describedby="allow-message"
                        bind:checked=allow
                        on:change=move |_| allow_error.set(None)
                    />
                    <label for="allow">
                        {texts.register_agree()} <a href="/terms" target="_blank">{texts.register_terms()}</a>
                        {texts.register_agree_and()} <a href="/privacy" target="_blank">{texts.register_privacy()}</a>
                    </label>
                    <FieldMessage id="allow-message" note=server.note(allow_error, "allow") />
                </div>

                <button type="submit" class="primary" disabled=move || action.pending().get()>
                    {move || if action.pending().get() { texts.register_submitting() } else { texts.register_submit() }}
                </button>
            </form>
        </div>
    }
}
