//! Issue an image captcha: a fresh answer stored under the caller's id for
//! five minutes (one use, right or wrong), drawn as a PNG off the async
//! threads. Captchas are cheap to ask for and dear to draw: each address gets
//! `CAPTCHAS_PER_MINUTE`, drawing has a bound of its own (a flood of captchas
//! never takes the password hashes' turns), and the answer is stored only
//! once its image exists (refused requests leave nothing behind).

use super::{dependency_down, internal, keys, seconds_up};
use crate::{
    core::{
        Client, Core, captcha,
        cpu::CpuJobError,
        store::{Hit, StoreError},
    },
    error::AppError,
};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum CaptchaError {
    #[error("bad captcha id")]
    BadId,
    #[error("too many captchas from one address")]
    RateLimited { retry_after: Duration },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Cpu(#[from] CpuJobError),
}

// The id is a log field only once parsed: raw input never reaches a log.
#[tracing::instrument(name = "issue_captcha", skip_all, fields(id = tracing::field::Empty))]
pub async fn issue_captcha(core: &Core, client: &Client, id: &str) -> Result<Vec<u8>, CaptchaError> {
    let id = uuid::Uuid::parse_str(id).map_err(|_| CaptchaError::BadId)?;
    tracing::Span::current().record("id", tracing::field::display(&id));
    let window = Duration::from_secs(60);
    if let Hit::Limited { retry_after } =
        core.store.hit(&keys::captchas(&client.network()), window, core.settings.captchas_per_minute).await?
    {
        return Err(CaptchaError::RateLimited { retry_after });
    }
    let answer = captcha::new_answer();
    let drawn = answer.clone();
    let png = core.captcha_cpu.run(move || captcha::draw_png(&drawn)).await?;
    core.store.put(&keys::captcha(&id), &answer, core.settings.captcha_ttl).await?;
    if let Some(outbox) = &core.outbox
        && let Err(e) = outbox.record("captcha", &id.to_string(), "图片验证码", &answer).await
    {
        tracing::warn!(error = %e, "captcha: the dev outbox could not keep the answer");
    }
    Ok(png)
}

impl From<CaptchaError> for AppError {
    fn from(e: CaptchaError) -> AppError {
        match e {
            CaptchaError::BadId => AppError::bad_request("图片验证码编号不正确"),
            CaptchaError::RateLimited { retry_after } => {
                AppError::rate_limited("too_many_captchas", "图片验证码请求太频繁，请稍后再试", seconds_up(retry_after))
            }
            CaptchaError::Store(e) => dependency_down("captcha", "store", &e),
            CaptchaError::Cpu(CpuJobError::Busy) => AppError::busy(),
            CaptchaError::Cpu(e) => internal("captcha", "drawing", &e),
        }
    }
}
