//! Issue an image captcha: a fresh answer stored under the caller's id for
//! five minutes (one use, right or wrong), drawn as a PNG off the async threads.

use super::{dependency_down, internal, keys};
use crate::{
    core::{Core, captcha},
    error::AppError,
};

#[derive(Debug, thiserror::Error)]
pub enum CaptchaError {
    #[error("bad captcha id")]
    BadId,
    #[error(transparent)]
    Store(#[from] crate::core::store::StoreError),
    #[error(transparent)]
    Cpu(#[from] crate::core::cpu::CpuJobError),
}

#[tracing::instrument(name = "issue_captcha", skip(core))]
pub async fn issue_captcha(core: &Core, id: &str) -> Result<Vec<u8>, CaptchaError> {
    let id = uuid::Uuid::parse_str(id).map_err(|_| CaptchaError::BadId)?;
    let answer = captcha::new_answer();
    core.store.put(&keys::captcha(&id), &answer, core.settings.captcha_ttl).await?;
    if let Some(outbox) = &core.outbox
        && let Err(e) = outbox.record("captcha", &id.to_string(), "图片验证码", &answer).await
    {
        tracing::warn!(error = %e, "captcha: the dev outbox could not keep the answer");
    }
    Ok(core.cpu.run(move || captcha::draw_png(&answer)).await?)
}

impl From<CaptchaError> for AppError {
    fn from(e: CaptchaError) -> AppError {
        match e {
            CaptchaError::BadId => AppError::bad_request("图片验证码编号不正确"),
            CaptchaError::Store(e) => dependency_down("captcha", "store", &e),
            CaptchaError::Cpu(e) => internal("captcha", "drawing", &e),
        }
    }
}
