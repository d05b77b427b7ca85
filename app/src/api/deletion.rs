//! Server functions for the 注销 page (`/delete`).

use crate::{error::AppError, wire::DeletionStatus};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// What the 注销 page shows: the account (its mobile, masked), whether a
/// request waits and until when, and how long the cooling-off period is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletionPageData {
    pub mobile: String,
    pub delete_after: Option<i64>,
    pub wait_days: u64,
}

/// `None` when signed out (the page sends the visitor to sign in).
#[server(endpoint = "deletion_page", output = crate::wire::Answer)]
pub async fn deletion_page() -> Result<Option<DeletionPageData>, AppError> {
    use super::context::*;
    let core = core()?;
    let Some(auth) = signed_in(&core).await? else { return Ok(None) };
    let profile = crate::core::use_cases::profile(&auth);
    let wait_days = core.settings.deletion_wait.as_secs() / 86_400;
    Ok(Some(DeletionPageData { mobile: profile.mobile, delete_after: profile.delete_after, wait_days }))
}

/// 注销账号, with the password or a code for `delete_account`. Every
/// session ends, this browser's too.
#[server(endpoint = "request_deletion", output = crate::wire::Answer)]
pub async fn request_deletion(
    #[server(default)] password: String,
    #[server(default)] sms_code: String,
) -> Result<DeletionStatus, AppError> {
    use super::context::*;
    use crate::wire::DeletionForm;
    let core = core()?;
    let auth = authenticated(&core).await?;
    let client = client(&core).await?;
    let form = DeletionForm { password, sms_code };
    let status = crate::core::use_cases::request_deletion(&core, &client, &auth, &form).await.map_err(fail)?;
    clear_session_cookie(&core);
    Ok(status)
}

/// 撤销注销, then on to `next` (a path of this site).
#[server(endpoint = "cancel_deletion", output = crate::wire::Answer)]
pub async fn cancel_deletion(#[server(default)] next: Option<String>) -> Result<(), AppError> {
    use super::context::*;
    let core = core()?;
    let auth = authenticated(&core).await?;
    crate::core::use_cases::cancel_deletion(&core, &auth).await.map_err(fail)?;
    leptos_axum::redirect(next.as_deref().and_then(crate::rules::safe_next_path).unwrap_or("/user"));
    Ok(())
}
