//! Issue an image captcha: a fresh answer stored under the caller's id for
//! five minutes (one use, right or wrong), drawn as a PNG off the async
//! threads. Captchas are cheap to ask for and dear to draw: each address gets
//! `CAPTCHAS_PER_MINUTE`, drawing has a bound of its own (a flood of captchas
//! never takes the password hashes' turns), and the answer is stored only
//! once its image exists (refused requests leave nothing behind).
//!
//! Each stored captcha has an *instance*, a random number of its own, which a
//! proof-of-work challenge is bound to: a challenge is issued only for a
//! live captcha, and works only with that very captcha, which is used once.
//! So a proof needs no record of its own to work once, and a new image under
//! an old id (a new instance) cannot take an old proof.

use super::{dependency_down, internal, keys, seconds_up};
use crate::i18n::Text;
use crate::{
    core::{
        Client, Core, captcha,
        cpu::CpuJobError,
        store::{Hit, StoreError},
    },
    error::{AppError, ErrorCode},
};
use rand::Rng;
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

/// A captcha as the store keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StoredCaptcha {
    pub answer: String,
    /// What a proof-of-work challenge for it is bound to.
    pub instance: u64,
    /// Whether its image was drawn: a page's captcha is stored before the
    /// browser asks for its image, and that first image shows this answer.
    /// Any image after the first is of a new answer (never several drawings
    /// of one answer, which would help a reader that votes).
    pub drawn: bool,
}

impl StoredCaptcha {
    fn new(drawn: bool) -> StoredCaptcha {
        StoredCaptcha { answer: captcha::new_answer(), instance: rand::rng().random(), drawn }
    }

    fn encode(&self) -> String {
        format!("{}:{:016x}:{}", self.answer, self.instance, u8::from(self.drawn))
    }

    /// `None` for anything this version did not write (an old value reads as
    /// expired: one more click for a person, once).
    pub(crate) fn parse(stored: &str) -> Option<StoredCaptcha> {
        let mut parts = stored.split(':');
        let (answer, instance, drawn) = (parts.next()?, parts.next()?, parts.next()?);
        let instance = u64::from_str_radix(instance, 16).ok()?;
        let drawn = match drawn {
            "0" => false,
            "1" => true,
            _ => return None,
        };
        parts.next().is_none().then(|| StoredCaptcha { answer: answer.to_owned(), instance, drawn })
    }
}

/// Counts one captcha from `client` against `CAPTCHAS_PER_MINUTE`.
async fn count_captcha(core: &Core, client: &Client) -> Result<(), CaptchaError> {
    let window = Duration::from_secs(60);
    match core.store.hit(&keys::captchas(&client.network()), window, core.settings.captchas_per_minute).await? {
        Hit::Allowed => Ok(()),
        Hit::Limited { retry_after } => Err(CaptchaError::RateLimited { retry_after }),
    }
}

/// Stores `stored` under `id`, and shows its answer in the dev outbox.
async fn keep(core: &Core, id: &uuid::Uuid, stored: &StoredCaptcha) -> Result<(), CaptchaError> {
    core.store.put(&keys::captcha(id), &stored.encode(), core.settings.captcha_ttl).await?;
    let captcha_label = crate::i18n::Texts::of(core.settings.default_locale).captcha_label();
    if let Some(outbox) = &core.outbox
        && let Err(e) = outbox.record("captcha", &id.to_string(), captcha_label, &stored.answer).await
    {
        tracing::warn!(error = %e, "captcha: the dev outbox could not keep the answer");
    }
    Ok(())
}

/// A page's captcha, stored before its image is asked for, so that its
/// proof-of-work challenge can be bound to it in the same answer. Counts
/// against `CAPTCHAS_PER_MINUTE` now; its first image does not count again.
pub(crate) async fn prepare_captcha(core: &Core, client: &Client) -> Result<(uuid::Uuid, u64), CaptchaError> {
    count_captcha(core, client).await?;
    let id = uuid::Uuid::new_v4();
    let stored = StoredCaptcha::new(false);
    keep(core, &id, &stored).await?;
    Ok((id, stored.instance))
}

// The id is a log field only once parsed: raw input never reaches a log.
#[tracing::instrument(name = "issue_captcha", skip_all, fields(id = tracing::field::Empty))]
pub async fn issue_captcha(core: &Core, client: &Client, id: &str) -> Result<Vec<u8>, CaptchaError> {
    let id = uuid::Uuid::parse_str(id).map_err(|_| CaptchaError::BadId)?;
    tracing::Span::current().record("id", tracing::field::display(&id));
    // Taken, so that two requests for one prepared image never both draw it.
    let prepared = match core.store.take(&keys::captcha(&id)).await? {
        Some(stored) => StoredCaptcha::parse(&stored).filter(|s| !s.drawn),
        None => None,
    };
    let fresh = prepared.is_none();
    if fresh {
        count_captcha(core, client).await?;
    }
    let stored = StoredCaptcha { drawn: true, ..prepared.unwrap_or_else(|| StoredCaptcha::new(true)) };
    let drawn = stored.answer.clone();
    let png = core.captcha_cpu.run(move || captcha::draw_png(&drawn)).await?;
    if fresh {
        keep(core, &id, &stored).await?;
    } else {
        core.store.put(&keys::captcha(&id), &stored.encode(), core.settings.captcha_ttl).await?;
    }
    Ok(png)
}

impl From<CaptchaError> for AppError {
    fn from(e: CaptchaError) -> AppError {
        match e {
            CaptchaError::BadId => AppError::bad_request(Text::error_captcha_bad_id()),
            CaptchaError::RateLimited { retry_after } => AppError::rate_limited(
                ErrorCode::TooManyCaptchas,
                Text::error_captcha_too_many(),
                seconds_up(retry_after),
            ),
            CaptchaError::Store(e) => dependency_down("captcha", "store", &e),
            CaptchaError::Cpu(CpuJobError::Busy) => AppError::busy(),
            CaptchaError::Cpu(e) => internal("captcha", "drawing", &e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::StoredCaptcha;

    #[test]
    fn a_stored_captcha_reads_back_as_written_and_nothing_else_reads() {
        for drawn in [false, true] {
            let stored = StoredCaptcha::new(drawn);
            assert_eq!(StoredCaptcha::parse(&stored.encode()), Some(stored));
        }
        for junk in ["AB3D", "AB3D:zz:1", "AB3D:00000000000000ff:2", "AB3D:00000000000000ff:1:x", ""] {
            assert_eq!(StoredCaptcha::parse(junk), None, "{junk}");
        }
    }
}
