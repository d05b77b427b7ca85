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
    let texts = Texts::here();
    view! {
        <Title text=texts.user_title() />
        <Transition fallback=move || view! { <p class="card">{texts.user_loading()}</p> }>
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
                    Err(e) => view! { <p class="card error">{e.say(&texts)}</p> }.into_any(),
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
    let texts = Texts::here();
    let UserCentreData { profile, sessions, history, applications, .. } = centre;
    let nickname_value = RwSignal::new(profile.nickname.clone());
    let [old, new, again] = std::array::from_fn(|_| RwSignal::new(String::new()));
    let password_done = move || matches!(password.value().get(), Some(Ok(())));
    let nickname_note = Signal::derive(move || match nickname.value().get() {
        Some(Ok(())) => Some(Note::Hint(texts.user_nickname_saved().into())),
        _ => FormErrors::of(nickname).field("nickname").map(Note::Error),
    });
    let password_errors = FormErrors::of(password);
    let password_note =
        move |field: &'static str| Signal::derive(move || password_errors.field(field).map(Note::Error));
    view! {
        <section class="card">
            <h1>{texts.user_title()}</h1>
            <dl class="profile">
                <dt>{texts.user_username()}</dt>
                <dd data-testid="profile-username">{profile.username.clone()}</dd>
                <dt>{texts.user_mobile()}</dt>
                <dd data-testid="profile-mobile">{profile.mobile.clone()}</dd>
                <dt>{texts.user_email()}</dt>
                <dd>{profile.email.clone().unwrap_or_else(|| texts.user_email_none().into())}</dd>
                <dt>{texts.user_registered_at()}</dt>
                <dd>{format_time(profile.created_at)}</dd>
                <dt>{texts.user_last_sign_in()}</dt>
                <dd>{profile.last_login_at.map(format_time).unwrap_or_else(|| "—".into())}</dd>
            </dl>
            // A plain download: the JSON API answers it as a file.
            <p>
                <a href="/api/v1/me/export" download="my-data.json" rel="external" data-testid="export-link">
                    {texts.user_export()}
                </a>
            </p>
        </section>

        <EmailSection mobile=profile.mobile.clone() captcha=bind_captcha />

        <section class="card">
            <h2>{texts.user_nickname_heading()}</h2>
            <ActionForm action=nickname attr:class="form">
                <TextField
                    id="nickname"
                    name="nickname"
                    label=texts.user_nickname()
                    value=nickname_value
                    note=nickname_note
                />
                <button type="submit" class="primary">{texts.user_save()}</button>
            </ActionForm>
        </section>

        <section class="card">
            <h2>{texts.user_password_heading()}</h2>
            <p class="muted">{texts.user_password_note()}</p>
            <ActionForm action=password attr:class="form">
                <TextField
                    id="old-password"
                    name="old_password"
                    label=texts.user_old_password()
                    input_type="password"
                    autocomplete="current-password"
                    value=old
                    note=password_note("old_password")
                />
                <TextField
                    id="new-password"
                    name="new_password"
                    label=texts.user_new_password()
                    input_type="password"
                    autocomplete="new-password"
                    value=new
                    note=password_note("new_password")
                />
                <TextField
                    id="new-password2"
                    name="new_password2"
                    label=texts.user_new_password2()
                    input_type="password"
                    autocomplete="new-password"
                    value=again
                    note=password_note("new_password2")
                />
                <p class="field-message hint" role="status">
                    {move || password_done().then_some(texts.user_password_changed())}
                </p>
                <button type="submit" class="primary">{texts.user_change_password()}</button>
            </ActionForm>
        </section>

        // A wide card scrolls sideways on a phone (longer words in some
        // languages): focusable, so that a keyboard can scroll it.
        <section class="card wide" tabindex="0">
            <h2>{texts.user_sessions_heading()}</h2>
            <table class="list">
                <thead>
                    <tr>
                        <th scope="col">{texts.user_device()}</th>
                        <th scope="col">{texts.user_ip()}</th>
                        <th scope="col">{texts.user_signed_in_at()}</th>
                        <th scope="col">{texts.user_last_seen()}</th>
                        <th scope="col">{texts.user_action()}</th>
                    </tr>
                </thead>
                <tbody>
                    {sessions
                        .into_iter()
                        .map(|s| {
                            view! {
                                <tr data-testid="session-row">
                                    <td>
                                        {describe_browser(&texts, &s.user_agent)}
                                        {s.current.then_some(texts.user_current())}
                                        {(!s.clients.is_empty())
                                            .then(|| {
                                                view! {
                                                    <span class="muted" data-testid="session-clients">
                                                        {texts
                                                            .user_signed_in_to(
                                                                s.clients.join(texts.user_list_separator()),
                                                            )}
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
                                                        <button type="submit" class="link">
                                                            {texts.user_sign_out()}
                                                        </button>
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
                <button type="submit" class="secondary">{texts.user_sign_out_all()}</button>
            </ActionForm>
        </section>

        <Applications applications revoke />

        <section class="card wide" tabindex="0">
            <h2>{texts.user_history_heading()}</h2>
            <table class="list">
                <thead>
                    <tr>
                        <th scope="col">{texts.user_time()}</th>
                        <th scope="col">{texts.user_ip()}</th>
                        <th scope="col">{texts.user_browser()}</th>
                        <th scope="col">{texts.user_method()}</th>
                        <th scope="col">{texts.user_outcome()}</th>
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
                                    <td>{describe_browser(&texts, &a.user_agent)}</td>
                                    <td>{method_name(&texts, &a.method)}</td>
                                    <td>{outcome_name(&texts, &a.outcome)}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </section>

        <section class="card">
            <h2>{texts.user_deletion_heading()}</h2>
            <p class="muted">{texts.user_deletion_note()}</p>
            <p>
                <a href="/delete" data-testid="deletion-link">{texts.user_deletion_link()}</a>
            </p>
        </section>
    }
}

/// The applications signed in to through us, each with "取消授权".
#[component]
fn Applications(applications: Vec<ApplicationView>, revoke: ServerAction<RevokeApplication>) -> impl IntoView {
    let texts = Texts::here();
    let errors = FormErrors::of(revoke);
    if applications.is_empty() {
        return view! {
            <section class="card wide" tabindex="0">
                <h2>{texts.user_applications_heading()}</h2>
                <p class="muted" data-testid="no-applications">{texts.user_no_applications()}</p>
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
                    <td>{scopes_meaning(&texts, app.scopes.iter().map(String::as_str))}</td>
                    <td>{format_time(app.last_authorized_at)}</td>
                    <td>
                        <ActionForm action=revoke attr:class="inline-form">
                            <input type="hidden" name="client_id" value=app.client_id.clone() />
                            <button type="submit" class="link">{texts.user_revoke()}</button>
                        </ActionForm>
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="card wide" tabindex="0">
            <h2>{texts.user_applications_heading()}</h2>
            <p class="form-error" role="alert">
                {move || errors.general()}
            </p>
            <table class="list">
                <thead>
                    <tr>
                        <th scope="col">{texts.user_application()}</th>
                        <th scope="col">{texts.user_can_read()}</th>
                        <th scope="col">{texts.user_authorized_at()}</th>
                        <th scope="col">{texts.user_action()}</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </section>
    }
    .into_any()
}

fn method_name(texts: &Texts, method: &str) -> &'static str {
    match method {
        "password" => texts.user_method_password(),
        "sms" => texts.user_method_sms(),
        "register" => texts.user_method_register(),
        "reset_email" => texts.user_method_reset_email(),
        "reset_sms" => texts.user_method_reset_sms(),
        _ => texts.user_method_other(),
    }
}

fn outcome_name(texts: &Texts, outcome: &str) -> &'static str {
    match outcome {
        "success" => texts.user_outcome_success(),
        "wrong_password" => texts.user_outcome_wrong_password(),
        "locked" => texts.user_outcome_locked(),
        "disabled" => texts.user_outcome_disabled(),
        _ => texts.user_outcome_failed(),
    }
}
