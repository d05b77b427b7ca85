//! Sessions: every sign-in (and sign-up) starts one; the token names it, and
//! a token whose session has ended or expired is refused everywhere. Also
//! the applications (OpenID Connect clients) a person signed in to through
//! their sessions, and taking one back.

use super::{dependency_down, internal, now_ms};
use crate::i18n::Text;
use crate::{
    core::{
        Client, Core,
        db::{DbError, NewAttempt, NewSession, SessionRow, UserRow},
        tokens::{Claims, TokenError},
    },
    error::{AppError, ErrorCode, ErrorKind},
    wire::{ApplicationView, SessionView, SignedIn},
};
use futures::future::BoxFuture;
use std::time::Duration;

/// A request's signed-in user and the session it came with.
#[derive(Clone, Debug)]
pub struct Authenticated {
    pub user: UserRow,
    pub session: SessionRow,
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("not signed in")]
    SignedOut,
    #[error("no such session")]
    NoSuchSession,
    #[error("no such application")]
    NoSuchApplication,
    /// The password changed (or the account was disabled) while the sign-in
    /// was being checked.
    #[error("the account changed during the sign-in")]
    AccountChanged,
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Token(#[from] TokenError),
}

/// The cookie lifetime for a session: `None` ends with the browser.
pub fn cookie_max_age(core: &Core, remember: bool) -> Option<Duration> {
    remember.then_some(core.settings.remember_ttl)
}

/// Starts a session for `user` and records the successful attempt.
pub(crate) async fn start_session(
    core: &Core,
    client: &Client,
    user: &UserRow,
    remember: bool,
    method: &str,
) -> Result<SignedIn, SessionError> {
    let now = now_ms();
    let ttl = if remember { core.settings.remember_ttl } else { core.settings.session_ttl };
    let id = uuid::Uuid::new_v4().simple().to_string();
    let ip = client.ip.to_string();
    let started = core
        .db
        .create_session(&NewSession {
            id: &id,
            user_id: user.id,
            password_version: user.password_version,
            now_ms: now,
            expires_at: now + ttl.as_millis() as i64,
            client_ip: &ip,
            user_agent: &client.user_agent,
            remember,
            method,
        })
        .await?;
    if !started {
        record_attempt(core, client, user.id, method, "stale").await;
        return Err(SessionError::AccountChanged);
    }
    record_attempt(core, client, user.id, method, "success").await;
    core.db.set_last_login(user.id, now).await?;
    let token = core.tokens.issue(user.id, &id, ttl)?;
    let texts_to_accept = core.db.texts_to_accept(user.id, &core.settings.legal).await?;
    Ok(SignedIn {
        texts_to_accept,
        delete_after: user.delete_after,
        id: user.id,
        username: user.username.clone(),
        nickname: user.nickname.clone(),
        avatar: user.avatar.clone(),
        token,
        remember,
    })
}

/// Adds a line to the user's sign-in history; a failure here is logged, not
/// fatal (the history is a courtesy, the sign-in is what matters).
pub(crate) async fn record_attempt(core: &Core, client: &Client, user_id: i64, method: &str, outcome: &str) {
    let ip = client.ip.to_string();
    let attempt =
        NewAttempt { user_id, now_ms: now_ms(), client_ip: &ip, user_agent: &client.user_agent, method, outcome };
    if let Err(e) = core.db.record_attempt(&attempt).await {
        tracing::warn!(error = %e, "could not record a sign-in attempt");
    }
}

/// The signed-in user of a token: the signature, the expiry, the session
/// (not ended, not expired, this user's) and the user (active) must all hold.
pub async fn authenticate(core: &Core, token: Option<&str>) -> Result<Option<Authenticated>, DbError> {
    let Some(claims) = token.and_then(|t| core.tokens.verify(t).ok()) else { return Ok(None) };
    authenticate_claims(core, &claims).await
}

/// The language the person behind `token` switched to, kept with their
/// account (when signed in): mail and notices sent to them later follow.
pub async fn remember_locale(core: &Core, token: Option<&str>, locale: crate::i18n::Locale) -> Result<(), DbError> {
    if let Some(auth) = authenticate(core, token).await?
        && auth.user.locale != locale.tag()
    {
        core.db.set_locale(auth.user.id, locale).await?;
    }
    Ok(())
}

async fn authenticate_claims(core: &Core, claims: &Claims) -> Result<Option<Authenticated>, DbError> {
    let Some(user_id) = claims.user_id() else { return Ok(None) };
    let now = now_ms();
    let Some(session) = core.db.find_session(&claims.sid).await? else { return Ok(None) };
    if session.user_id != user_id || !session.is_live(now) {
        return Ok(None);
    }
    let Some(user) = core.db.find_user(user_id).await? else { return Ok(None) };
    if !user.is_active {
        return Ok(None);
    }
    // Most requests skip the write: the row was touched less than a minute ago.
    if session.needs_touch(now) {
        core.db.touch_session(&session.id, now).await?;
    }
    Ok(Some(Authenticated { user, session }))
}

/// Ends the session the request came with.
pub fn logout<'a>(core: &'a Core, auth: &'a Authenticated) -> BoxFuture<'a, Result<(), SessionError>> {
    Box::pin(async move {
        core.db.end_session(auth.user.id, &auth.session.id, now_ms()).await?;
        Ok(())
    })
}

/// The user's live sessions, each with the applications signed in
/// through it.
pub fn list_sessions<'a>(
    core: &'a Core,
    auth: &'a Authenticated,
) -> BoxFuture<'a, Result<Vec<SessionView>, SessionError>> {
    Box::pin(async move {
        let now = now_ms();
        let rows = core.db.live_sessions(auth.user.id, now).await?;
        let clients = core.db.session_clients(auth.user.id, now).await?;
        Ok(rows
            .into_iter()
            .map(|s| SessionView {
                current: s.id == auth.session.id,
                clients: clients.iter().filter(|c| c.session_id == s.id).map(|c| c.name.clone()).collect(),
                id: s.id,
                created_at: s.created_at,
                last_seen_at: s.last_seen_at,
                expires_at: s.expires_at,
                client_ip: s.client_ip,
                user_agent: s.user_agent,
            })
            .collect())
    })
}

/// The applications the user allowed or is signed in to through us.
pub fn list_applications<'a>(
    core: &'a Core,
    auth: &'a Authenticated,
) -> BoxFuture<'a, Result<Vec<ApplicationView>, SessionError>> {
    Box::pin(async move {
        let rows = core.db.applications(auth.user.id, now_ms()).await?;
        Ok(rows
            .into_iter()
            .map(|app| ApplicationView {
                scopes: app.scope.split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
                client_id: app.client_id,
                name: app.name,
                last_authorized_at: app.last_authorized_at,
            })
            .collect())
    })
}

/// "取消授权": the application's tokens stop at once, and a third party
/// asks for consent again next time.
pub fn revoke_application<'a>(
    core: &'a Core,
    auth: &'a Authenticated,
    client_id: &'a str,
) -> BoxFuture<'a, Result<(), SessionError>> {
    Box::pin(async move {
        if !core.db.revoke_application(auth.user.id, client_id, now_ms()).await? {
            return Err(SessionError::NoSuchApplication);
        }
        tracing::info!(user_id = auth.user.id, client_id, "an application's authorization was taken back");
        Ok(())
    })
}

/// Ends one of the user's own sessions.
pub fn end_session<'a>(
    core: &'a Core,
    auth: &'a Authenticated,
    id: &'a str,
) -> BoxFuture<'a, Result<(), SessionError>> {
    Box::pin(async move {
        if core.db.end_session(auth.user.id, id, now_ms()).await? { Ok(()) } else { Err(SessionError::NoSuchSession) }
    })
}

/// "Sign out everywhere": every session of the user, this one included.
pub fn end_all_sessions<'a>(core: &'a Core, auth: &'a Authenticated) -> BoxFuture<'a, Result<u64, SessionError>> {
    Box::pin(async move { Ok(core.db.end_sessions(auth.user.id, None, now_ms()).await?) })
}

impl From<SessionError> for AppError {
    fn from(e: SessionError) -> AppError {
        match e {
            SessionError::SignedOut => {
                AppError::new(ErrorKind::Unauthorized, ErrorCode::SignedOut, Text::error_signed_out())
            }
            SessionError::NoSuchSession => {
                AppError::new(ErrorKind::NotFound, ErrorCode::NoSuchSession, Text::error_no_such_session())
            }
            SessionError::NoSuchApplication => {
                AppError::new(ErrorKind::NotFound, ErrorCode::NoSuchApplication, Text::error_no_such_application())
            }
            SessionError::AccountChanged => {
                AppError::new(ErrorKind::Unauthorized, ErrorCode::AccountChanged, Text::error_account_changed())
            }
            SessionError::Db(e) => dependency_down("session", "database", &e),
            SessionError::Token(e) => internal("session", "token", &e),
        }
    }
}
