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
    view! {
        <Title text="注销账号" />
        <section class="card">
            <Transition fallback=|| view! { <p>"加载中…"</p> }>
                {move || {
                    let next = next.clone();
                    Suspend::new(async move {
                        match data.await {
                            Ok(Some(DeletionPageData { delete_after: Some(at), .. })) => {
                                view! { <Waiting at next /> }.into_any()
                            }
                            Ok(Some(page)) => view! { <Ask page request captcha /> }.into_any(),
                            Ok(None) => view! { <Redirect path=sign_in_then(&deletion_path(&next)) /> }.into_any(),
                            Err(e) => view! { <p class="form-error" role="alert">{e.say(&Texts::here())}</p> }.into_any(),
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
    let when = match page.wait_days {
        0 => "提交后账号立即注销，无法恢复。".to_owned(),
        days => format!("提交后所有设备立即退出登录；{days}天内再次登录可撤销注销，到期后账号将被永久删除，无法恢复。"),
    };
    // Once done the form is hidden, not dropped: the ActionForm that
    // dispatched must outlive its own answer.
    let done = move || request.value().get().and_then(Result::ok);
    view! {
        <h1>"注销账号"</h1>
        {move || done().map(|done| view! { <Requested done /> })}
        <div hidden=move || done().is_some()>
        <p data-testid="deletion-when">{when}</p>
        <p>"注销后将删除："</p>
        <ul class="erased">
            <li>"手机号、邮箱、用户名、昵称和密码"</li>
            <li>"登录记录、登录设备和已同意的协议记录"</li>
            <li>"授权过的第三方应用及其登录状态"</li>
            <li>"发给你的短信和邮件的发送记录"</li>
        </ul>
        <p class="muted">"注销后，此手机号和邮箱可以重新注册，但将是一个全新的账号。"</p>
        <ActionForm action=request attr:class="form" attr:novalidate=true>
            <p class="form-error" role="alert">
                {move || errors.general()}
            </p>
            <TextField
                id="deletion-password"
                name="password"
                label="当前密码"
                input_type="password"
                autocomplete="current-password"
                value=password
                note=Signal::derive(move || errors.field("password").map(Note::Error))
            />
            <details class="deletion-sms">
                <summary>"没有设置密码？用短信验证码确认"</summary>
                <p class="muted">"验证码将发送到账号绑定的手机号"</p>
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
                    "注销账号"
                </button>
                <a class="button secondary" href="/user">
                    "取消"
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
    view! {
        <h1>"账号注销中"</h1>
        <p data-testid="deletion-pending">{format!("你的账号将于{}（北京时间）注销。", format_time(at))}</p>
        <p class="muted">"撤销后账号恢复正常，可以继续使用；不撤销则到期后账号及其数据将被永久删除。"</p>
        <p class="form-error" role="alert">
            {move || errors.general()}
        </p>
        <div class="actions">
            <ActionForm action=cancel attr:class="inline-form">
                <input type="hidden" name="next" value=next />
                <button type="submit" class="primary" disabled=move || cancel.pending().get()>
                    "撤销注销"
                </button>
            </ActionForm>
            <ActionForm action=logout attr:class="inline-form">
                <button type="submit" class="secondary">
                    "退出登录"
                </button>
            </ActionForm>
        </div>
    }
}

/// What a request just did: the date, or that the account is gone.
#[component]
fn Requested(done: DeletionStatus) -> impl IntoView {
    let said = match done.delete_after {
        Some(at) => format!(
            "注销申请已提交，你的账号将于{}（北京时间）注销，所有设备都已退出登录。在此之前登录即可撤销。",
            format_time(at)
        ),
        None => "你的账号已注销，相关数据已删除。感谢你的使用。".to_owned(),
    };
    view! {
        <p data-testid="deletion-done" role="status">{said}</p>
        <p>
            <a href="/">"返回首页"</a>
        </p>
    }
}
