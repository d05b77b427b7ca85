//! Who is signed in, shared by every page: `Site` (in `lib.rs`) provides
//! it, the header and the pages read it.

use crate::{error::AppError, wire::SessionInfo};
use leptos::prelude::*;

/// Who is signed in, shared by every page; asked again on each navigation,
/// so that the header follows a sign-up (which ends on a redirect).
#[derive(Clone, Copy)]
pub struct Session {
    pub info: Resource<Result<SessionInfo, AppError>, crate::wire::ResourceCodec>,
}
