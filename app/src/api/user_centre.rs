//! Server functions for the user centre (`/user`).

use crate::{
    error::AppError,
    wire::{ApplicationView, AttemptView, Profile, SessionView},
};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Everything the user centre shows, in one call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserCentreData {
    pub profile: Profile,
    pub sessions: Vec<SessionView>,
    pub history: Vec<AttemptView>,
    pub applications: Vec<ApplicationView>,
    /// Texts to accept before the centre is shown (`/accept` first).
    pub texts_to_accept: Vec<crate::rules::LegalKind>,
}

/// The user centre's data; `None` when signed out (the page then sends the
/// visitor to sign in).
#[server(endpoint = "user_centre", output = crate::wire::Answer)]
pub async fn user_centre() -> Result<Option<UserCentreData>, AppError> {
    use super::context::*;
    use crate::core::use_cases;
    let core = core()?;
    let Some(auth) = signed_in(&core).await? else { return Ok(None) };
    let sessions = use_cases::list_sessions(&core, &auth).await.map_err(fail)?;
    let history = use_cases::login_history(&core, &auth).await.map_err(fail)?;
    let applications = use_cases::list_applications(&core, &auth).await.map_err(fail)?;
    let texts_to_accept = use_cases::texts_to_accept(&core, &auth).await.map_err(fail)?;
    let profile = use_cases::profile(&auth);
    Ok(Some(UserCentreData { profile, sessions, history, applications, texts_to_accept }))
}

#[server(endpoint = "update_nickname", output = crate::wire::Answer)]
pub async fn update_nickname(nickname: String) -> Result<(), AppError> {
    use super::context::*;
    let core = core()?;
    let auth = authenticated(&core).await?;
    crate::core::use_cases::update_nickname(&core, &auth, &nickname).await.map_err(fail)?;
    Ok(())
}

#[server(endpoint = "change_password", output = crate::wire::Answer)]
pub async fn change_password(
    old_password: String,
    new_password: String,
    new_password2: String,
) -> Result<(), AppError> {
    use super::context::*;
    use crate::wire::ChangePasswordForm;
    let core = core()?;
    let auth = authenticated(&core).await?;
    let client = client(&core).await?;
    let form = ChangePasswordForm { old_password, new_password, new_password2 };
    crate::core::use_cases::change_password(&core, &client, &auth, &form).await.map_err(fail)
}

#[server(endpoint = "end_session", output = crate::wire::Answer)]
pub async fn end_session(id: String) -> Result<(), AppError> {
    use super::context::*;
    let core = core()?;
    let auth = authenticated(&core).await?;
    crate::core::use_cases::end_session(&core, &auth, &id).await.map_err(fail)?;
    if id == auth.session.id {
        clear_session_cookie(&core);
    }
    Ok(())
}

/// "Sign out everywhere", this browser included.
#[server(endpoint = "end_all_sessions", output = crate::wire::Answer)]
pub async fn end_all_sessions() -> Result<(), AppError> {
    use super::context::*;
    let core = core()?;
    let auth = authenticated(&core).await?;
    crate::core::use_cases::end_all_sessions(&core, &auth).await.map_err(fail)?;
    clear_session_cookie(&core);
    leptos_axum::redirect("/login");
    Ok(())
}

/// "取消授权": an application's tokens stop, and its consent is forgotten.
#[server(endpoint = "revoke_application", output = crate::wire::Answer)]
pub async fn revoke_application(client_id: String) -> Result<(), AppError> {
    use super::context::*;
    let core = core()?;
    let auth = authenticated(&core).await?;
    crate::core::use_cases::revoke_application(&core, &auth, &client_id).await.map_err(fail)
}
