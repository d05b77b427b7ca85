//! "Is this mobile / username taken?", limited per client IP so that the
//! check cannot be used to list who is registered.

use super::{
    checks::{LookupRefusal, count_lookup},
    dependency_down,
};
use crate::{
    core::{Client, Core, db::DbError},
    error::{AppError, ErrorCode},
    rules::{Mobile, MobileError, Username, UsernameError},
};

#[derive(Debug, thiserror::Error)]
pub enum AvailabilityError {
    #[error(transparent)]
    Mobile(#[from] MobileError),
    #[error(transparent)]
    Username(#[from] UsernameError),
    #[error(transparent)]
    Lookup(#[from] LookupRefusal),
    #[error(transparent)]
    Db(#[from] DbError),
}

#[tracing::instrument(name = "count_mobile", skip_all)]
pub async fn count_mobile(core: &Core, client: &Client, mobile: &str) -> Result<i64, AvailabilityError> {
    let mobile = Mobile::parse(mobile)?;
    count_lookup(core, client).await?;
    Ok(core.db.count_mobile(&mobile).await?)
}

#[tracing::instrument(name = "count_username", skip_all)]
pub async fn count_username(core: &Core, client: &Client, username: &str) -> Result<i64, AvailabilityError> {
    let username = Username::parse(username)?;
    count_lookup(core, client).await?;
    Ok(core.db.count_username(username.as_str()).await?)
}

impl From<AvailabilityError> for AppError {
    fn from(e: AvailabilityError) -> AppError {
        match e {
            AvailabilityError::Mobile(e) => AppError::field("mobile", ErrorCode::MobileInvalid, e.text()),
            AvailabilityError::Username(e) => AppError::field("username", ErrorCode::UsernameInvalid, e.text()),
            AvailabilityError::Lookup(e) => e.into(),
            AvailabilityError::Db(e) => dependency_down("lookup", "database", &e),
        }
    }
}
