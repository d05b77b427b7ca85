//! `/register`: mobile, image captcha, SMS code, password twice, optional
//! username and nickname, and the user agreement. The server renders the whole
//! form; the WASM adds the live checks (the same `rules` the server runs), the
//! availability lookups and the resend countdown.

use crate::{
    Session,
    api::{Register, mobile_count, new_captcha_id, send_sms_code, sms_cooldown, username_count},
    components::{FieldMessage, Note, TextField},
    error::AppError,
    rules::{
        AGREEMENT_REQUIRED, CaptchaAnswer, Mobile, MobileError, Nickname, Password, PasswordPolicy, SmsCode, Username,
        passwords_match,
    },
};
use leptos::{ev::SubmitEvent, prelude::*, task::spawn_local};
use leptos_meta::Title;
use std::time::Duration;

/// Where the page remembers the number a code was sent to, so that the
/// countdown resumes after a reload (from what the server says is left).
const PENDING_MOBILE_KEY: &str = "register.sms_mobile";
const PURPOSE: &str = "register";
const LOOKUP_DEBOUNCE: Duration = Duration::from_millis(300);

#[component]
pub fn RegisterPage() -> impl IntoView {
    let session = expect_context::<Session>();
    // Created here, outside the Suspend below, so that the browser finds the
    // server's value while hydrating instead of fetching another id.
    let captcha_round = RwSignal::new(0u32);
    let captcha_id = Resource::new(move || captcha_round.get(), |_| new_captcha_id());
    view! {
        <Title text="注册" />
        <section class="card">
            <h1>"注册"</h1>
            <Transition fallback=|| view! { <p>"加载中…"</p> }>
                {move || Suspend::new(async move {
                    let policy = session.info.await.map(|i| i.password_policy).unwrap_or_default();
                    view! { <RegisterForm policy captcha_round captcha_id /> }
                })}
            </Transition>
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

/// The errors the browser found itself, per field.
#[derive(Clone, Copy)]
struct LocalErrors {
    mobile: RwSignal<Option<String>>,
    text: RwSignal<Option<String>>,
    sms_code: RwSignal<Option<String>>,
    password: RwSignal<Option<String>>,
    password2: RwSignal<Option<String>>,
    username: RwSignal<Option<String>>,
    nickname: RwSignal<Option<String>>,
    allow: RwSignal<Option<String>>,
}

impl LocalErrors {
    fn new() -> Self {
        LocalErrors {
            mobile: RwSignal::new(None),
            text: RwSignal::new(None),
            sms_code: RwSignal::new(None),
            password: RwSignal::new(None),
            password2: RwSignal::new(None),
            username: RwSignal::new(None),
            nickname: RwSignal::new(None),
            allow: RwSignal::new(None),
        }
    }

    fn for_field(&self, field: &str) -> Option<RwSignal<Option<String>>> {
        Some(match field {
            "mobile" => self.mobile,
            "text" | "image_code_id" => self.text,
            "sms_code" => self.sms_code,
            "password" => self.password,
            "password2" => self.password2,
            "username" => self.username,
            "nickname" => self.nickname,
            "allow" => self.allow,
            _ => return None,
        })
    }
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
        let Some(candidate) = value.get() else {
            asked.update_value(|n| *n += 1);
            status.set(Availability::Unknown);
            return;
        };
        asked.update_value(|n| *n += 1);
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
                        Err(e) => Availability::Failed(e.message),
                    });
                });
            },
            LOOKUP_DEBOUNCE,
        );
    });
}

fn local_storage() -> Option<web_sys::Storage> {
    window().local_storage().ok().flatten()
}

#[component]
fn RegisterForm(
    policy: PasswordPolicy,
    /// Bumped to show a new captcha.
    captcha_round: RwSignal<u32>,
    captcha_id: Resource<Result<String, AppError>>,
) -> impl IntoView {
    // Created inside the route, where the router provides the error that a
    // form posted without WASM carries back in the URL.
    let action = ServerAction::<Register>::new();
    let errors = LocalErrors::new();

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
    let captcha_text = RwSignal::new(String::new());
    let countdown = RwSignal::new(0u64);
    let ticker = StoredValue::new(None::<IntervalHandle>);
    let sending = RwSignal::new(false);
    let sms_note = RwSignal::new(None::<String>);

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

    let start_countdown = move |seconds: u64| {
        if let Some(handle) = ticker.get_value() {
            handle.clear();
        }
        countdown.set(seconds);
        let handle = set_interval_with_handle(
            move || {
                countdown.update(|n| *n = n.saturating_sub(1));
                if countdown.get_untracked() == 0
                    && let Some(handle) = ticker.get_value()
                {
                    handle.clear();
                }
            },
            Duration::from_secs(1),
        );
        ticker.set_value(handle.ok());
    };

    // After a reload: resume the countdown for the number a code went to.
    Effect::new(move |_| {
        let Some(saved) = local_storage().and_then(|s| s.get_item(PENDING_MOBILE_KEY).ok().flatten()) else {
            return;
        };
        mobile.set(saved.clone());
        spawn_local(async move {
            if let Ok(left) = sms_cooldown(saved, PURPOSE.into()).await
                && left > 0
            {
                start_countdown(left);
            }
        });
    });

    let new_captcha = move || {
        captcha_text.set(String::new());
        captcha_round.update(|n| *n += 1);
    };

    let send_code = move |_| {
        errors.text.set(None);
        errors.sms_code.set(None);
        sms_note.set(None);
        let number = match parsed_mobile.get_untracked() {
            Ok(m) => m,
            Err(e) => {
                mobile_touched.set(true);
                errors.mobile.set(Some(e.message().into()));
                return;
            }
        };
        let text = captcha_text.get_untracked();
        if let Err(e) = CaptchaAnswer::parse(&text) {
            errors.text.set(Some(e.message().into()));
            return;
        }
        let Some(Ok(id)) = captcha_id.get_untracked() else { return };
        sending.set(true);
        spawn_local(async move {
            let result = send_sms_code(number.to_string(), PURPOSE.into(), id, text).await;
            sending.set(false);
            // The captcha was used, right or wrong: show a fresh one.
            new_captcha();
            match result {
                Ok(sent) => {
                    if let Some(storage) = local_storage() {
                        let _ = storage.set_item(PENDING_MOBILE_KEY, number.as_str());
                    }
                    start_countdown(sent.resend_after);
                    sms_note.set(Some(format!("验证码已发送至{}，请查收短信", number.masked())));
                }
                Err(e) => {
                    if e.code == "sms_cooldown" {
                        start_countdown(e.retry_after.unwrap_or(0));
                    }
                    let slot = e.field.as_deref().and_then(|f| errors.for_field(f)).unwrap_or(errors.sms_code);
                    slot.set(Some(e.message));
                }
            }
        });
    };

    let check_password = move || {
        let mobile = parsed_mobile.get_untracked().ok();
        let name = Username::parse(&username.get_untracked()).ok();
        let result = Password::parse(&password.get_untracked(), policy, mobile.as_ref(), name.as_ref());
        errors.password.set(result.err().map(|e| e.message()));
    };
    let check_password2 = move || {
        let result = passwords_match(&password.get_untracked(), &password2.get_untracked());
        errors.password2.set(result.err().map(|e| e.message()));
    };

    // Every rule again before the form leaves; any error keeps it here.
    let on_submit = move |ev: SubmitEvent| {
        mobile_touched.set(true);
        errors.mobile.set(parsed_mobile.get_untracked().err().map(|e| e.message().into()));
        errors.sms_code.set(SmsCode::parse(&sms_code.get_untracked()).err().map(|e| e.message().into()));
        check_password();
        check_password2();
        errors.username.set(Username::parse_optional(&username.get_untracked()).err().map(|e| e.message().into()));
        errors.nickname.set(Nickname::parse_optional(&nickname.get_untracked()).err().map(|e| e.message().into()));
        errors.allow.set((!allow.get_untracked()).then(|| AGREEMENT_REQUIRED.into()));
        let blocked = [
            errors.mobile,
            errors.sms_code,
            errors.password,
            errors.password2,
            errors.username,
            errors.nickname,
            errors.allow,
        ]
        .iter()
        .any(|e| e.get_untracked().is_some())
            || mobile_status.get_untracked() == Availability::Taken
            || username_status.get_untracked() == Availability::Taken;
        if blocked {
            ev.prevent_default();
        }
    };

    // The server's answer to the last submit, for one field.
    let server_error =
        move |field: &'static str| action.value().get().and_then(Result::err).and_then(|e| e.message_for(field));
    let general_error =
        move || action.value().get().and_then(Result::err).filter(|e| e.field.is_none()).map(|e| e.message);
    let error_note = move |local: RwSignal<Option<String>>, field: &'static str| {
        Signal::derive(move || local.get().or_else(|| server_error(field)).map(Note::Error))
    };

    let mobile_note = Signal::derive(move || {
        if let Some(e) = errors.mobile.get() {
            return Some(Note::Error(e));
        }
        match parsed_mobile.get() {
            Err(MobileError::Empty) => return server_error("mobile").map(Note::Error),
            Err(e) if mobile_touched.get() || mobile.get().chars().filter(char::is_ascii_digit).count() >= 11 => {
                return Some(Note::Error(e.message().into()));
            }
            Err(_) => return None,
            Ok(_) => {}
        }
        match mobile_status.get() {
            Availability::Taken => Some(Note::Error("该手机号已注册".into())),
            Availability::Free => Some(Note::Hint("该手机号可以注册".into())),
            Availability::Checking => Some(Note::Hint("正在检查…".into())),
            Availability::Failed(e) => Some(Note::Error(e)),
            Availability::Unknown => server_error("mobile").map(Note::Error),
        }
    });
    let username_note = Signal::derive(move || {
        if let Some(e) = errors.username.get() {
            return Some(Note::Error(e));
        }
        match username_status.get() {
            Availability::Taken => Some(Note::Error("该用户名已被使用".into())),
            Availability::Free => Some(Note::Hint("该用户名可以使用".into())),
            Availability::Failed(e) => Some(Note::Error(e)),
            _ => server_error("username").map(Note::Error).or_else(|| {
                Some(Note::Hint("选填，5-20个字母、数字、下划线或减号，以字母开头；不填将自动生成".into()))
            }),
        }
    });
    let sms_note_signal = Signal::derive(move || {
        errors
            .sms_code
            .get()
            .or_else(|| server_error("sms_code"))
            .map(Note::Error)
            .or_else(|| sms_note.get().map(Note::Hint))
    });
    let password_hint = format!("{}-{}个字符，不能是常见密码", policy.min_chars, policy.max_chars);
    let password_note = Signal::derive(move || {
        errors
            .password
            .get()
            .or_else(|| server_error("password"))
            .map(Note::Error)
            .or_else(|| Some(Note::Hint(password_hint.clone())))
    });

    let can_send = move || {
        parsed_mobile.get().is_ok()
            && mobile_status.get() == Availability::Free
            && countdown.get() == 0
            && !sending.get()
    };
    let send_label = move || {
        if sending.get() {
            "发送中…".to_string()
        } else if countdown.get() > 0 {
            format!("{}秒后重新发送", countdown.get())
        } else {
            "获取验证码".to_string()
        }
    };
    let text_note = error_note(errors.text, "text");
    let password2_note = error_note(errors.password2, "password2");
    let nickname_note = error_note(errors.nickname, "nickname");
    let allow_note = error_note(errors.allow, "allow");
    let clear = |slot: RwSignal<Option<String>>| Callback::new(move |()| slot.set(None));

    view! {
        <ActionForm action=action on:submit:capture=on_submit attr:novalidate=true attr:class="form">
            <p class="form-error" role="alert">
                {general_error}
            </p>

            <TextField
                id="mobile"
                name="mobile"
                label="手机号"
                input_type="tel"
                inputmode="tel"
                autocomplete="tel"
                placeholder="11位手机号"
                value=mobile
                note=mobile_note
                on_edit=clear(errors.mobile)
                on_leave=Callback::new(move |()| mobile_touched.set(true))
            />

            <TextField
                id="captcha-text"
                label="图片验证码"
                autocomplete="off"
                placeholder="4个字符"
                maxlength="4"
                value=captcha_text
                note=text_note
                on_edit=clear(errors.text)
            >
                <Transition fallback=|| view! { <span class="captcha-placeholder"></span> }>
                    {move || Suspend::new(async move {
                        let id = captcha_id.await.unwrap_or_default();
                        view! {
                            <button
                                type="button"
                                class="captcha"
                                title="看不清？换一张"
                                aria-label="图片验证码，点击换一张"
                                on:click=move |_| new_captcha()
                            >
                                <img
                                    src=format!("/api/v1/image_codes/{id}")
                                    alt="图片验证码"
                                    width="130"
                                    height="48"
                                    data-captcha-id=id.clone()
                                />
                            </button>
                        }
                    })}
                </Transition>
            </TextField>

            <TextField
                id="sms-code"
                name="sms_code"
                label="短信验证码"
                inputmode="numeric"
                autocomplete="one-time-code"
                placeholder="6位数字"
                maxlength="6"
                value=sms_code
                note=sms_note_signal
                on_edit=clear(errors.sms_code)
            >
                <button type="button" class="secondary send-code" disabled=move || !can_send() on:click=send_code>
                    {send_label}
                </button>
            </TextField>

            <TextField
                id="password"
                name="password"
                label="密码"
                input_type="password"
                autocomplete="new-password"
                value=password
                note=password_note
                on_edit=clear(errors.password)
                on_leave=Callback::new(move |()| check_password())
            />

            <TextField
                id="password2"
                name="password2"
                label="确认密码"
                input_type="password"
                autocomplete="new-password"
                value=password2
                note=password2_note
                on_edit=clear(errors.password2)
                on_leave=Callback::new(move |()| check_password2())
            />

            <TextField
                id="username"
                name="username"
                label="用户名（选填）"
                autocomplete="username"
                value=username
                note=username_note
                on_edit=clear(errors.username)
                on_leave=Callback::new(move |()| {
                    errors.username.set(Username::parse_optional(&username.get_untracked()).err().map(|e| e.message().into()))
                })
            />

            <TextField
                id="nickname"
                name="nickname"
                label="昵称（选填）"
                autocomplete="nickname"
                value=nickname
                note=nickname_note
                on_edit=clear(errors.nickname)
            />

            <div class="field checkbox">
                <input
                    id="allow"
                    name="allow"
                    type="checkbox"
                    value="on"
                    aria-describedby="allow-message"
                    bind:checked=allow
                    on:change=move |_| errors.allow.set(None)
                />
                <label for="allow">"我已阅读并同意" <a href="/agreement" target="_blank">"《用户协议》"</a></label>
                <FieldMessage id="allow-message" note=allow_note />
            </div>

            <button type="submit" class="primary" disabled=move || action.pending().get()>
                {move || if action.pending().get() { "注册中…" } else { "注册" }}
            </button>
        </ActionForm>
    }
}
