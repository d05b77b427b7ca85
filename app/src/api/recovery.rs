//! Server functions for recovery (`/forgot`, `/reset`) and the account's
//! e-mail (the user centre, `/email/verify`).

//! (`#[server]` names a type after each function, `EmailStatus` among them:
//! the wire type of that name is written with its path.)

use crate::{error::AppError, wire::RecoverySent};
use leptos::prelude::*;

/// "忘记密码" by e-mail: the same answer whether or not an account has the address.
#[server(endpoint = "forgot_by_email", output = crate::wire::Answer)]
pub async fn forgot_by_email(email: String, image_code_id: String, text: String) -> Result<RecoverySent, AppError> {
    use super::context::*;
    use crate::wire::ForgotPasswordForm;
    let core = core()?;
    let client = client(&core).await?;
    let form = ForgotPasswordForm { email, image_code_id, text, ..ForgotPasswordForm::default() };
    crate::core::use_cases::forgot_password(&core, &client, &form).await.map_err(fail)
}

/// Whether a reset link still works, as its page opens.
#[server(endpoint = "reset_link_status", output = crate::wire::Answer)]
pub async fn reset_link_status(token: String) -> Result<(), AppError> {
    use super::context::*;
    let core = core()?;
    crate::core::use_cases::reset_link_status(&core, &token).await.map_err(fail)
}

/// Sets a new password with a link's token, or with a mobile and its reset
/// code; then the person signs in again (every session has ended). After a
/// reset by SMS of an account with a verified e-mail, the sign-in page offers
/// to remove that address (a signed ticket in its URL: it echoes nothing
/// else).
#[server(endpoint = "reset_password", output = crate::wire::Answer)]
pub async fn reset_password(
    #[server(default)] token: String,
    #[server(default)] mobile: String,
    #[server(default)] sms_code: String,
    password: String,
    password2: String,
) -> Result<(), AppError> {
    use super::context::*;
    use crate::wire::ResetPasswordForm;
    let core = core()?;
    let client = client(&core).await?;
    let form = ResetPasswordForm { token, mobile, sms_code, password, password2 };
    let done = crate::core::use_cases::reset_password(&core, &client, &form).await.map_err(fail)?;
    // This browser's session (if any) ended with the others.
    clear_session_cookie(&core);
    match done.remove_email_ticket {
        Some(ticket) => leptos_axum::redirect(&format!("/login?reset=1&offer={ticket}")),
        None => leptos_axum::redirect("/login?reset=1"),
    }
    Ok(())
}

/// The masked address a removal ticket (from a reset by SMS) offers to
/// remove; refused once the ticket no longer works.
#[server(endpoint = "email_removal_offer", output = crate::wire::Answer)]
pub async fn email_removal_offer(ticket: String) -> Result<String, AppError> {
    use super::context::*;
    let core = core()?;
    crate::core::use_cases::email_removal_offer(&core, &ticket).await.map_err(fail)
}

/// Removes the address a removal ticket names.
#[server(endpoint = "remove_email_after_reset", output = crate::wire::Answer)]
pub async fn remove_email_after_reset(ticket: String) -> Result<(), AppError> {
    use super::context::*;
    let core = core()?;
    crate::core::use_cases::remove_email_after_reset(&core, &ticket).await.map_err(fail)?;
    leptos_axum::redirect("/login?reset=1&removed=1");
    Ok(())
}

/// The account's e-mail; `None` when signed out.
#[server(endpoint = "email_status", output = crate::wire::Answer)]
pub async fn email_status() -> Result<Option<crate::wire::EmailStatus>, AppError> {
    use super::context::*;
    let core = core()?;
    let Some(auth) = signed_in(&core).await? else { return Ok(None) };
    crate::core::use_cases::email_status(&core, &auth).await.map(Some).map_err(fail)
}

#[server(endpoint = "bind_email", output = crate::wire::Answer)]
pub async fn bind_email(
    email: String,
    password: String,
    sms_code: String,
) -> Result<crate::wire::EmailStatus, AppError> {
    use super::context::*;
    use crate::wire::BindEmailForm;
    let core = core()?;
    let auth = authenticated(&core).await?;
    let client = client(&core).await?;
    let form = BindEmailForm { email, password, sms_code };
    crate::core::use_cases::bind_email(&core, &client, &auth, &form).await.map_err(fail)
}

#[server(endpoint = "resend_email_link", output = crate::wire::Answer)]
pub async fn resend_email_link() -> Result<crate::wire::EmailStatus, AppError> {
    use super::context::*;
    let core = core()?;
    let auth = authenticated(&core).await?;
    crate::core::use_cases::resend_email_link(&core, &auth).await.map_err(fail)
}

#[server(endpoint = "remove_email", output = crate::wire::Answer)]
pub async fn remove_email(password: String) -> Result<crate::wire::EmailStatus, AppError> {
    use super::context::*;
    let core = core()?;
    let auth = authenticated(&core).await?;
    let client = client(&core).await?;
    crate::core::use_cases::remove_email(&core, &client, &auth, &password).await.map_err(fail)
}

/// The address a verification link would verify, or why it does not work.
/// Verifies nothing: the page asks the person to confirm first.
#[server(endpoint = "email_link_status", output = crate::wire::Answer)]
pub async fn email_link_status(token: String) -> Result<crate::wire::EmailLink, AppError> {
    use super::context::*;
    let core = core()?;
    crate::core::use_cases::email_link_status(&core, &token).await.map_err(fail)
}

/// Follows a verification link, once the person confirmed: the address
/// verified, or why not; then the page says so.
#[server(endpoint = "verify_email", output = crate::wire::Answer)]
pub async fn verify_email(token: String) -> Result<String, AppError> {
    use super::context::*;
    let core = core()?;
    let locale = client(&core).await?.locale;
    let email = crate::core::use_cases::verify_email(&core, &token, locale).await.map_err(fail)?;
    leptos_axum::redirect("/email/verify?verified=1");
    Ok(email)
}
