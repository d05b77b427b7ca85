//! Server functions for accounts: who is signed in, availability checks,
//! registration, and the development outbox.
// A server function's arguments are its form's fields (the register form
// has eight); the lint cannot be allowed on the function through `#[server]`.
#![allow(clippy::too_many_arguments)]

use crate::{
    error::AppError,
    wire::{OutboxEntry, SessionInfo},
};
use leptos::prelude::*;

/// Who is signed in, and the settings the browser-side rules follow.
#[server(endpoint = "session_info", output = crate::wire::Answer)]
pub async fn get_session_info() -> Result<SessionInfo, AppError> {
    use super::context::*;
    let core = core()?;
    let user = signed_in(&core).await?.map(|auth| crate::wire::UserView {
        id: auth.user.id,
        username: auth.user.username,
        nickname: auth.user.nickname,
    });
    Ok(SessionInfo { user, password_policy: core.settings.password_policy, dev_outbox: core.outbox.is_some() })
}

#[server(endpoint = "mobile_count", output = crate::wire::Answer)]
pub async fn mobile_count(mobile: String) -> Result<i64, AppError> {
    use super::context::*;
    let core = core()?;
    let client = client(&core).await?;
    crate::core::use_cases::count_mobile(&core, &client, &mobile).await.map_err(fail)
}

#[server(endpoint = "username_count", output = crate::wire::Answer)]
pub async fn username_count(username: String) -> Result<i64, AppError> {
    use super::context::*;
    let core = core()?;
    let client = client(&core).await?;
    crate::core::use_cases::count_username(&core, &client, &username).await.map_err(fail)
}

/// The register form. On success the person is signed in (cookie) and sent
/// to `next` when it is a path on this site (a sign-in another site asked
/// for), else to the home page; this works without WASM too.
#[server(endpoint = "register", output = crate::wire::Answer)]
pub async fn register(
    mobile: String,
    password: String,
    password2: String,
    sms_code: String,
    #[server(default)] username: Option<String>,
    #[server(default)] nickname: Option<String>,
    #[server(default)] allow: Option<String>,
    #[server(default)] next: Option<String>,
) -> Result<(), AppError> {
    use super::context::*;
    use crate::wire::RegisterForm;
    let core = core()?;
    let client = client(&core).await?;
    let form = RegisterForm {
        mobile,
        password,
        password2,
        sms_code,
        username,
        nickname,
        allow: super::sign_in::checked(allow),
    };
    let signed_in = crate::core::use_cases::register(&core, &client, &form).await.map_err(fail)?;
    set_session_cookie(&core, &signed_in);
    super::sign_in::go_next(next, &signed_in);
    Ok(())
}

/// The delivery records, newest first; an error outside development (like
/// the outbox, whose page shows them).
#[server(endpoint = "dev_deliveries", output = crate::wire::Answer)]
pub async fn dev_deliveries() -> Result<Vec<crate::wire::DeliveryView>, AppError> {
    use super::context::*;
    use crate::core::use_cases::{JobFilter, list_jobs};
    let core = core()?;
    if core.outbox.is_none() {
        return Err(fail(AppError::not_found()));
    }
    let records = list_jobs(&core, JobFilter::All).await.map_err(fail)?;
    Ok(records.iter().take(100).map(|r| r.view()).collect())
}

/// The development outbox, newest first; an error outside development.
#[server(endpoint = "dev_outbox", output = crate::wire::Answer)]
pub async fn dev_outbox() -> Result<Vec<OutboxEntry>, AppError> {
    use super::context::*;
    let core = core()?;
    match &core.outbox {
        Some(outbox) => outbox.entries().await.map_err(|e| {
            tracing::error!(error = %e, "dev outbox: database unavailable");
            fail(AppError::unavailable())
        }),
        None => Err(fail(AppError::not_found())),
    }
}
