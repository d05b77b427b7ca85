//! Who a session token belongs to.

use crate::{core::Core, wire::UserView};

/// The active user a token names, or `None` for a missing, bad or expired
/// token, or an unknown or disabled user. Storage failures also read as
/// signed out, and are logged.
pub async fn current_user(core: &Core, token: Option<&str>) -> Option<UserView> {
    let claims = core.tokens.verify(token?).ok()?;
    match core.db.find_user(claims.user_id()?).await {
        Ok(Some(row)) if row.is_active => Some(UserView { id: row.id, username: row.username, nickname: row.nickname }),
        Ok(_) => None,
        Err(e) => {
            tracing::error!(error = %e, "current_user: database unavailable");
            None
        }
    }
}
