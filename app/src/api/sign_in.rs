//! Server functions for signing in and out.

use crate::error::AppError;
use leptos::prelude::*;

/// Whether signing in from this client to `account` (as typed, may be
/// empty) will ask for the captcha, by this client's own failures.
#[server(endpoint = "login_needs_captcha", output = crate::wire::Answer)]
pub async fn login_needs_captcha(account: String) -> Result<bool, AppError> {
    use super::context::*;
    let core = core()?;
    let client = client(&core).await?;
    crate::core::use_cases::login_needs_captcha(&core, &client, &account).await.map_err(fail)
}

/// Where to go after signing in: `next` when it is a path on this site;
/// by way of `/delete` while a 注销 waits (its person may cancel), and of
/// `/accept` when a text changed since the person accepted it.
#[cfg(feature = "ssr")]
pub(super) fn go_next(next: Option<String>, signed_in: &crate::wire::SignedIn) {
    let target = next.as_deref().and_then(crate::rules::safe_next_path).unwrap_or("/");
    if signed_in.delete_after.is_some() {
        leptos_axum::redirect(&crate::rules::deletion_path(target));
    } else if signed_in.texts_to_accept.is_empty() {
        leptos_axum::redirect(target);
    } else {
        leptos_axum::redirect(&crate::rules::accept_texts_path(target));
    }
}

#[server(endpoint = "login", output = crate::wire::Answer)]
pub async fn login(
    account: String,
    password: String,
    #[server(default)] remember: Option<String>,
    #[server(default)] image_code_id: Option<String>,
    #[server(default)] text: Option<String>,
    #[server(default)] next: Option<String>,
) -> Result<(), AppError> {
    use super::context::*;
    use crate::wire::LoginForm;
    let core = core()?;
    let client = client(&core).await?;
    let form = LoginForm { account, password, remember: checked(remember), image_code_id, text };
    let signed_in = crate::core::use_cases::login(&core, &client, &form).await.map_err(fail)?;
    set_session_cookie(&core, &signed_in);
    go_next(next, &signed_in);
    Ok(())
}

#[server(endpoint = "sms_login", output = crate::wire::Answer)]
pub async fn sms_login(
    mobile: String,
    sms_code: String,
    #[server(default)] remember: Option<String>,
    #[server(default)] next: Option<String>,
) -> Result<(), AppError> {
    use super::context::*;
    use crate::wire::SmsLoginForm;
    let core = core()?;
    let client = client(&core).await?;
    let form = SmsLoginForm { mobile, sms_code, remember: checked(remember) };
    let signed_in = crate::core::use_cases::sms_login(&core, &client, &form).await.map_err(fail)?;
    set_session_cookie(&core, &signed_in);
    go_next(next, &signed_in);
    Ok(())
}

#[server(endpoint = "logout", output = crate::wire::Answer)]
pub async fn logout() -> Result<(), AppError> {
    use super::context::*;
    let core = core()?;
    if let Some(auth) = signed_in(&core).await? {
        crate::core::use_cases::logout(&core, &auth).await.map_err(fail)?;
    }
    clear_session_cookie(&core);
    leptos_axum::redirect("/");
    Ok(())
}

/// A checkbox as a form sends it: present ("on") when ticked.
#[cfg(feature = "ssr")]
pub(crate) fn checked(value: Option<String>) -> bool {
    value.is_some_and(|v| !v.is_empty() && v != "false")
}
