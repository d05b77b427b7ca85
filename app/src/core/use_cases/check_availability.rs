//! "Is this mobile / username taken?", limited per client IP so that the
//! check cannot be used to list who is registered.

use super::{dependency_down, keys, seconds_up};
use crate::{
    core::{
        Client, Core,
        db::DbError,
        store::{Hit, StoreError},
    },
    error::AppError,
    rules::{Mobile, MobileError, Username, UsernameError},
};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum AvailabilityError {
    #[error(transparent)]
    Mobile(#[from] MobileError),
    #[error(transparent)]
    Username(#[from] UsernameError),
    #[error("too many lookups")]
    RateLimited { retry_after: Duration },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Db(#[from] DbError),
}

async fn limit(core: &Core, client: &Client) -> Result<(), AvailabilityError> {
    let window = Duration::from_secs(60);
    match core.store.hit(&keys::lookups(&client.ip), window, core.settings.lookups_per_minute).await? {
        Hit::Allowed => Ok(()),
        Hit::Limited { retry_after } => Err(AvailabilityError::RateLimited { retry_after }),
    }
}

#[tracing::instrument(name = "count_mobile", skip_all)]
pub async fn count_mobile(core: &Core, client: &Client, mobile: &str) -> Result<i64, AvailabilityError> {
    let mobile = Mobile::parse(mobile)?;
    limit(core, client).await?;
    Ok(core.db.count_mobile(&mobile).await?)
}

#[tracing::instrument(name = "count_username", skip_all)]
pub async fn count_username(core: &Core, client: &Client, username: &str) -> Result<i64, AvailabilityError> {
    let username = Username::parse(username)?;
    limit(core, client).await?;
    Ok(core.db.count_username(username.as_str()).await?)
}

impl From<AvailabilityError> for AppError {
    fn from(e: AvailabilityError) -> AppError {
        match e {
            AvailabilityError::Mobile(e) => AppError::field("mobile", "mobile_invalid", e.message()),
            AvailabilityError::Username(e) => AppError::field("username", "username_invalid", e.message()),
            AvailabilityError::RateLimited { retry_after } => {
                AppError::rate_limited("too_many_lookups", "查询太频繁，请稍后再试", seconds_up(retry_after))
            }
            AvailabilityError::Store(e) => dependency_down("lookup", "store", &e),
            AvailabilityError::Db(e) => dependency_down("lookup", "database", &e),
        }
    }
}
