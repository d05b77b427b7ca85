//! The proof of work that comes with each captcha used to send a code. The
//! server issues a challenge bound to the captcha id, the purpose and an
//! expiry (the captcha's), signed so that it needs no storage; the proof is
//! one SHA-256 to check and works once (one atomic store step). The
//! difficulty is `POW_BITS`, raised for an address with many recent sends or
//! refused sends, so that a person pays a fraction of a second and a farm
//! pays for every SMS it asks for. `POW_BITS=0` turns the proof off.

use super::{dependency_down, keys, now_ms};
use crate::{
    core::{
        Client, Core,
        store::{Hit, StoreError},
    },
    error::AppError,
    rules::{Purpose, PurposeError, proves},
    wire::PowChallenge,
};
use std::time::Duration;

/// Extra bits at most for a busy address: each doubles the work.
const MAX_EXTRA_BITS: u32 = 6;
/// Refused or granted sends from an address in the hour before its
/// difficulty rises by one bit; each further bit needs twice as many.
const SENDS_PER_EXTRA_BIT: u64 = 4;
const REFUSALS_WINDOW: Duration = Duration::from_secs(3_600);
/// The hardest challenge ever issued (`POW_BITS` at most 24, plus the rise):
/// a bound for settings made in code, not only by configuration.
const MAX_BITS: u32 = 32;
/// The format's version, first in every challenge.
const VERSION: &str = "1";

#[derive(Debug, thiserror::Error)]
pub enum PowError {
    #[error("bad captcha id")]
    BadId,
    #[error(transparent)]
    Purpose(#[from] PurposeError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A challenge for the captcha `id`, to be used to send a code for
/// `purpose`; `None` when the proof is off.
pub async fn issue_pow_challenge(
    core: &Core,
    client: &Client,
    id: &str,
    purpose: &str,
) -> Result<Option<PowChallenge>, PowError> {
    let id = uuid::Uuid::parse_str(id.trim()).map_err(|_| PowError::BadId)?;
    let purpose: Purpose = purpose.parse()?;
    let base = core.settings.pow_bits;
    if base == 0 {
        return Ok(None);
    }
    let bits = (base + extra_bits(core, client).await?).min(MAX_BITS);
    let expires_at = now_ms() / 1000 + core.settings.captcha_ttl.as_secs() as i64;
    let signed = format!("{VERSION}.{}.{purpose}.{bits}.{expires_at}", id.simple());
    let tag = core.tokens.short_tag("pow", &signed);
    Ok(Some(PowChallenge { challenge: format!("{signed}.{tag}"), bits }))
}

/// How much harder than `POW_BITS` this address's challenges are: one bit
/// once it has `SENDS_PER_EXTRA_BIT` sends and refusals in the hour, one
/// more each time that count doubles past it.
async fn extra_bits(core: &Core, client: &Client) -> Result<u32, StoreError> {
    let net = client.network();
    let recent =
        core.store.count(&keys::sms_ip_hourly(&net)).await? + core.store.count(&keys::send_refusals(&net)).await?;
    Ok((recent / SENDS_PER_EXTRA_BIT + 1).ilog2().min(MAX_EXTRA_BITS))
}

#[derive(Debug, thiserror::Error)]
pub enum PowRefusal {
    #[error("no proof of work")]
    Missing,
    #[error("the proof of work does not hold")]
    Invalid,
    #[error("the challenge expired")]
    Expired,
    #[error("the proof was used")]
    Used,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Checks the proof sent with the captcha `id` for `purpose`: a challenge we
/// issued for both, unexpired, solved, and not used before (it is used now).
pub(crate) async fn check_proof(
    core: &Core,
    id: &str,
    purpose: Purpose,
    challenge: &str,
    nonce: &str,
) -> Result<(), PowRefusal> {
    if core.settings.pow_bits == 0 {
        return Ok(());
    }
    let (challenge, nonce) = (challenge.trim(), nonce.trim());
    if challenge.is_empty() || nonce.is_empty() {
        return Err(PowRefusal::Missing);
    }
    let id = uuid::Uuid::parse_str(id.trim()).map_err(|_| PowRefusal::Invalid)?;
    let nonce: u64 = nonce.parse().map_err(|_| PowRefusal::Invalid)?;
    let (signed, tag) = challenge.rsplit_once('.').ok_or(PowRefusal::Invalid)?;
    if !core.tokens.short_tag_matches("pow", signed, tag) {
        return Err(PowRefusal::Invalid);
    }
    // Signed by us, so well formed; still parsed without trust.
    let fields: Vec<&str> = signed.split('.').collect();
    let [VERSION, for_id, for_purpose, bits, expires_at] = fields[..] else { return Err(PowRefusal::Invalid) };
    let bits: u32 = bits.parse().map_err(|_| PowRefusal::Invalid)?;
    let expires_at: i64 = expires_at.parse().map_err(|_| PowRefusal::Invalid)?;
    if for_id != id.simple().to_string() || for_purpose != purpose.as_str() {
        return Err(PowRefusal::Invalid);
    }
    let left = expires_at * 1000 - now_ms();
    if left <= 0 {
        return Err(PowRefusal::Expired);
    }
    if !proves(challenge, nonce, bits) {
        return Err(PowRefusal::Invalid);
    }
    // Once: the first use opens a window that lasts as long as the challenge.
    let window = Duration::from_millis(left as u64).max(Duration::from_secs(1));
    match core.store.hit(&keys::pow_used(tag), window, 1).await? {
        Hit::Allowed => Ok(()),
        Hit::Limited { .. } => Err(PowRefusal::Used),
    }
}

/// Counts a refused send from `client` (any refusal but our own failures):
/// it raises the address's next difficulty.
pub(crate) async fn count_refusal(core: &Core, client: &Client) {
    let key = keys::send_refusals(&client.network());
    if let Err(e) = core.store.hit(&key, REFUSALS_WINDOW, u32::MAX).await {
        tracing::warn!(error = %e, "proof of work: could not count a refused send");
    }
}

impl From<PowError> for AppError {
    fn from(e: PowError) -> AppError {
        match e {
            PowError::BadId => AppError::bad_request("图片验证码编号不正确"),
            PowError::Purpose(e) => AppError::bad_request(e.message()).with_field("purpose"),
            PowError::Store(e) => dependency_down("proof of work", "store", &e),
        }
    }
}

impl From<PowRefusal> for AppError {
    fn from(e: PowRefusal) -> AppError {
        match e {
            PowRefusal::Missing => {
                AppError::field("text", "pow_required", "请等待安全验证完成后再发送（需要工作量证明）")
            }
            PowRefusal::Invalid => AppError::field("text", "pow_invalid", "安全验证未通过，请点击图片换一张后重试"),
            PowRefusal::Expired => AppError::field("text", "pow_expired", "安全验证已过期，请点击图片换一张"),
            PowRefusal::Used => AppError::field("text", "pow_used", "安全验证已使用，请点击图片换一张"),
            PowRefusal::Store(e) => dependency_down("proof of work", "store", &e),
        }
    }
}
