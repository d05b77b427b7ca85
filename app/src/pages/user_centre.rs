//! `/user`, the user centre: profile, nickname, password, recent sign-ins,
//! active sessions and the applications signed in to through us. A
//! signed-out visitor is sent to sign in and comes back.

use crate::i18n::Texts;
use crate::{
    api::{ChangePassword, EndAllSessions, EndSession, RevokeApplication, UpdateNickname, UserCentreData, user_centre},
    components::{Captcha, FormErrors, Note, TextField, describe_browser, format_time},
    pages::EmailSection,
    rules::{accept_texts_path, deletion_path, scopes_meaning, sign_in_then},
    wire::ApplicationView,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;

#[component]
pub fn UserCentrePage() -> impl IntoView {
    let nickname = ServerAction::<UpdateNickname>::new();
    let password = ServerAction::<ChangePassword>::new();
    let end_one = ServerAction::<EndSession>::new();
    let end_all = ServerAction::<EndAllSessions>::new();
    let revoke = ServerAction::<RevokeApplication>::new();
    // Guards the code that binding an e-mail asks for; made here, outside
    // any Suspend, so that hydration finds the server's.
    let bind_captcha = Captcha::guarding_send("bind_email");
    // Fetched again after each change, so the page shows what is stored.
    let data = crate::wire::resource(
        move || (nickname.version().get(), password.version().get(), end_one.version().get(), revoke.version().get()),
        |_| user_centre(),
    );
    view! {
        <Title text="用户中心" />
        <Transition fallback=|| view! { <p class="card">"加载中…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(Some(centre)) if centre.profile.delete_after.is_some() => {
                        view! { <Redirect path=deletion_path("/user") /> }.into_any()
                    }
                    Ok(Some(centre)) if !centre.texts_to_accept.is_empty() => {
                        view! { <Redirect path=accept_texts_path("/user") /> }.into_any()
                    }
                    Ok(Some(centre)) => {
                        view! { <Centre centre nickname password end_one end_all revoke bind_captcha /> }.into_any()
                    }
                    Ok(None) => view! { <Redirect path=sign_in_then("/user") /> }.into_any(),
                    Err(e) => view! { <p class="card error">{e.say(&Texts::here())}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Centre(
    centre: UserCentreData,
    nickname: ServerAction<UpdateNickname>,
    password: ServerAction<ChangePassword>,
    end_one: ServerAction<EndSession>,
    end_all: ServerAction<EndAllSessions>,
    revoke: ServerAction<RevokeApplication>,
    bind_captcha: Captcha,
) -> impl IntoView {
    let UserCentreData { profile, sessions, history, applications, .. } = centre;
    let nickname_value = RwSignal::new(profile.nickname.clone());
    let [old, new, again] = std::array::from_fn(|_| RwSignal::new(String::new()));
    let password_done = move || matches!(password.value().get(), Some(Ok(())));
    let nickname_note = Signal::derive(move || match nickname.value().get() {
        Some(Ok(())) => Some(Note::Hint("昵称已保存".into())),
        _ => FormErrors::of(nickname).field("nickname").map(Note::Error),
    });
    let password_errors = FormErrors::of(password);
    let password_note =
        move |field: &'static str| Signal::derive(move || password_errors.field(field).map(Note::Error));
    view! {
        <section class="card">
            <h1>"用户中心"</h1>
            <dl class="profile">
                <dt>"用户名"</dt>
                <dd data-testid="profile-username">{profile.username.clone()}</dd>
                <dt>"手机号"</dt>
                <dd data-testid="profile-mobile">{profile.mobile.clone()}</dd>
                <dt>"邮箱"</dt>
                <dd>{profile.email.clone().unwrap_or_else(|| "未绑定".into())}</dd>
                <dt>"注册时间"</dt>
                <dd>{format_time(profile.created_at)}</dd>
                <dt>"上次登录"</dt>
                <dd>{profile.last_login_at.map(format_time).unwrap_or_else(|| "—".into())}</dd>
            </dl>
            // A plain download: the JSON API answers it as a file.
            <p>
                <a href="/api/v1/me/export" download="my-data.json" rel="external" data-testid="export-link">
                    "下载我的数据"
                </a>
            </p>
        </section>

        <EmailSection mobile=profile.mobile.clone() captcha=bind_captcha />

        <section class="card">
            <h2>"修改昵称"</h2>
            <ActionForm action=nickname attr:class="form">
                <TextField id="nickname" name="nickname" label="昵称" value=nickname_value note=nickname_note />
                <button type="submit" class="primary">"保存"</button>
            </ActionForm>
        </section>

        <section class="card">
            <h2>"修改密码"</h2>
            <p class="muted">"修改后，其他设备上的登录将全部退出。"</p>
            <ActionForm action=password attr:class="form">
                <TextField
                    id="old-password"
                    name="old_password"
                    label="原密码"
                    input_type="password"
                    autocomplete="current-password"
                    value=old
                    note=password_note("old_password")
                />
                <TextField
                    id="new-password"
                    name="new_password"
                    label="新密码"
                    input_type="password"
                    autocomplete="new-password"
                    value=new
                    note=password_note("new_password")
                />
                <TextField
                    id="new-password2"
                    name="new_password2"
                    label="确认新密码"
                    input_type="password"
                    autocomplete="new-password"
                    value=again
                    note=password_note("new_password2")
                />
                <p class="field-message hint" role="status">
                    {move || password_done().then_some("密码已修改")}
                </p>
                <button type="submit" class="primary">"修改密码"</button>
            </ActionForm>
        </section>

        <section class="card wide">
            <h2>"登录设备"</h2>
            <table class="list">
                <thead>
                    <tr>
                        <th scope="col">"设备"</th>
                        <th scope="col">"IP"</th>
                        <th scope="col">"登录时间"</th>
                        <th scope="col">"最近活动"</th>
                        <th scope="col">"操作"</th>
                    </tr>
                </thead>
                <tbody>
                    {sessions
                        .into_iter()
                        .map(|s| {
                            view! {
                                <tr data-testid="session-row">
                                    <td>
                                        {describe_browser(&s.user_agent)} {s.current.then_some(" （当前）")}
                                        {(!s.clients.is_empty())
                                            .then(|| {
                                                view! {
                                                    <span class="muted" data-testid="session-clients">
                                                        {format!(" 已登录：{}", s.clients.join("、"))}
                                                    </span>
                                                }
                                            })}
                                    </td>
                                    <td>{s.client_ip}</td>
                                    <td>{format_time(s.created_at)}</td>
                                    <td>{format_time(s.last_seen_at)}</td>
                                    <td>
                                        {(!s.current)
                                            .then(|| {
                                                view! {
                                                    <ActionForm action=end_one attr:class="inline-form">
                                                        <input type="hidden" name="id" value=s.id.clone() />
                                                        <button type="submit" class="link">"退出"</button>
                                                    </ActionForm>
                                                }
                                            })}
                                    </td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
            <ActionForm action=end_all attr:class="form">
                <button type="submit" class="secondary">"退出所有设备"</button>
            </ActionForm>
        </section>

        <Applications applications revoke />

        <section class="card wide">
            <h2>"最近登录记录"</h2>
            <table class="list">
                <thead>
                    <tr>
                        <th scope="col">"时间"</th>
                        <th scope="col">"IP"</th>
                        <th scope="col">"浏览器"</th>
                        <th scope="col">"方式"</th>
                        <th scope="col">"结果"</th>
                    </tr>
                </thead>
                <tbody>
                    {history
                        .into_iter()
                        .map(|a| {
                            view! {
                                <tr data-testid="history-row">
                                    <td>{format_time(a.created_at)}</td>
                                    <td>{a.client_ip}</td>
                                    <td>{describe_browser(&a.user_agent)}</td>
                                    <td>{method_name(&a.method)}</td>
                                    <td>{outcome_name(&a.outcome)}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </section>

        <section class="card">
            <h2>"注销账号"</h2>
            <p class="muted">"删除账号及手机号、邮箱、登录记录等全部数据。"</p>
            <p>
                <a href="/delete" data-testid="deletion-link">"注销账号"</a>
            </p>
        </section>
    }
}

/// The applications signed in to through us, each with "取消授权".
#[component]
fn Applications(applications: Vec<ApplicationView>, revoke: ServerAction<RevokeApplication>) -> impl IntoView {
    let errors = FormErrors::of(revoke);
    if applications.is_empty() {
        return view! {
            <section class="card wide">
                <h2>"已授权的应用"</h2>
                <p class="muted" data-testid="no-applications">"还没有用本账号登录过其他应用。"</p>
            </section>
        }
        .into_any();
    }
    let rows = applications
        .into_iter()
        .map(|app| {
            view! {
                <tr data-testid="application-row">
                    <td>{app.name.clone()}</td>
                    <td>{scopes_meaning(app.scopes.iter().map(String::as_str))}</td>
                    <td>{format_time(app.last_authorized_at)}</td>
                    <td>
                        <ActionForm action=revoke attr:class="inline-form">
                            <input type="hidden" name="client_id" value=app.client_id.clone() />
                            <button type="submit" class="link">"取消授权"</button>
                        </ActionForm>
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="card wide">
            <h2>"已授权的应用"</h2>
            <p class="form-error" role="alert">
                {move || errors.general()}
            </p>
            <table class="list">
                <thead>
                    <tr>
                        <th scope="col">"应用"</th>
                        <th scope="col">"可获取"</th>
                        <th scope="col">"授权时间"</th>
                        <th scope="col">"操作"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </section>
    }
    .into_any()
}

fn method_name(method: &str) -> &'static str {
    match method {
        "password" => "密码",
        "sms" => "短信",
        "register" => "注册",
        "reset_email" => "邮件重置密码",
        "reset_sms" => "短信重置密码",
        _ => "其他",
    }
}

fn outcome_name(outcome: &str) -> &'static str {
    match outcome {
        "success" => "成功",
        "wrong_password" => "密码错误",
        "locked" => "已锁定",
        "disabled" => "账号停用",
        _ => "失败",
    }
}
