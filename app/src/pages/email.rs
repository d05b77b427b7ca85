//! The account's e-mail: the user centre's section (bind with the password,
//! resend the link, remove), and `/email/verify?token=`, the page the
//! verification link opens, signed in or not.

use crate::{
    api::{BindEmail, RemoveEmail, ResendEmailLink, email_status, verify_email},
    components::{FieldMessage, FormErrors, Note, TextField},
    rules::Email,
};
use leptos::{ev::SubmitEvent, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// `/email/verify?token=...`
#[component]
pub fn VerifyEmailPage() -> impl IntoView {
    let query = use_query_map();
    let token = query.read_untracked().get("token").unwrap_or_default();
    let outcome = crate::wire::resource(|| (), move |_| verify_email(token.clone()));
    view! {
        <Title text="验证邮箱" />
        <section class="card">
            <h1>"验证邮箱"</h1>
            <Transition fallback=|| view! { <p>"验证中…"</p> }>
                {move || Suspend::new(async move {
                    match outcome.await {
                        Ok(email) => {
                            view! {
                                <p class="field-message hint" role="status" data-testid="email-verified">
                                    {format!("邮箱 {email} 已验证，可用于登录和找回密码。")}
                                </p>
                                <p>
                                    <a href="/user">"前往用户中心"</a>
                                </p>
                            }
                                .into_any()
                        }
                        Err(e) => {
                            view! {
                                <p class="form-error" role="alert" data-testid="link-refused">
                                    {e.message}
                                </p>
                                <p>
                                    <a href="/user">"在用户中心重新发送验证邮件"</a>
                                </p>
                            }
                                .into_any()
                        }
                    }
                })}
            </Transition>
        </section>
    }
}

/// The user centre's e-mail section.
#[component]
pub fn EmailSection() -> impl IntoView {
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
    let on_submit = move |ev: SubmitEvent| {
        email_error.set(Email::parse(&email.get_untracked()).err().map(|e| e.message().into()));
        if email_error.get_untracked().is_some() {
            ev.prevent_default();
        }
    };
    let bind_errors = FormErrors::of(bind);
    let remove_errors = FormErrors::of(remove);
    let resend_note = move || match resend.value().get() {
        Some(Ok(_)) => Some(Note::Hint("验证邮件已重新发送".into())),
        Some(Err(e)) => Some(Note::Error(e.message)),
        None => None,
    };
    view! {
        <section class="card">
            <h2>"邮箱"</h2>
            <Transition fallback=|| view! { <p>"加载中…"</p> }>
                {move || Suspend::new(async move {
                    let Ok(Some(now)) = status.await else { return ().into_any() };
                    let verified = now.verified.clone();
                    view! {
                        <p data-testid="email-verified">
                            {match verified {
                                Some(address) => format!("已验证：{address}"),
                                None => "尚未绑定已验证的邮箱".into(),
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
                                            format!("等待验证：{address}（链接已过期，请重新发送）")
                                        } else {
                                            format!("等待验证：{address}（请查收邮件并打开其中的链接）")
                                        }}
                                    </p>
                                    <ActionForm action=resend attr:class="inline-form">
                                        <button type="submit" class="secondary">"重新发送验证邮件"</button>
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
                        label="新邮箱"
                        input_type="email"
                        autocomplete="email"
                        value=email
                        note=bind_errors.note(email_error, "email")
                        on_edit=Callback::new(move |()| email_error.set(None))
                    />
                    <TextField
                        id="bind-email-password"
                        name="password"
                        label="当前密码"
                        input_type="password"
                        autocomplete="current-password"
                        value=password
                        note=Signal::derive(move || bind_errors.field("password").map(Note::Error))
                    />
                    <p class="field-message hint" role="status">
                        {move || {
                            matches!(bind.value().get(), Some(Ok(_)))
                                .then_some("验证邮件已发送，打开邮件中的链接后生效")
                        }}
                    </p>
                    <button type="submit" class="primary">"发送验证邮件"</button>
                </ActionForm>
            </div>
            <details class="remove-email">
                <summary>"解除邮箱绑定"</summary>
                <ActionForm action=remove attr:class="form">
                    <p class="form-error" role="alert">
                        {move || remove_errors.general()}
                    </p>
                    <TextField
                        id="remove-email-password"
                        name="password"
                        label="当前密码"
                        input_type="password"
                        autocomplete="current-password"
                        value=remove_password
                        note=Signal::derive(move || remove_errors.field("password").map(Note::Error))
                    />
                    <button type="submit" class="secondary">"解除绑定"</button>
                </ActionForm>
            </details>
        </section>
    }
}
