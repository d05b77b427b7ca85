//! The proof of work that comes with each captcha used to send a code. The
//! server issues a challenge only for a live captcha, bound to that captcha
//! (its id and instance), the purpose and an expiry (the captcha's), signed
//! so that it needs no storage; the proof is one SHA-256 to check, and works
//! once because the captcha it is bound to works once: checking it writes
//! nothing (a record per used proof was a key anyone could make, and a
//! flood of them filled the store). The
//! difficulty is `POW_BITS`, raised for an address with many recent sends
//! (never by refusals: a carrier NAT's neighbours would pay for one
//! person's junk), so that a person pays a fraction of a second and a farm
//! pays for every SMS it asks for. `POW_BITS=0` turns the proof off.

use super::{
    checks::CaptchaRefusal,
    dependency_down,
    issue_captcha::{CaptchaError, StoredCaptcha, prepare_captcha},
    keys, now_ms,
};
use crate::i18n::Text;
use crate::{
    core::{Client, Core, store::StoreError},
    error::{AppError, ErrorCode},
    rules::{Purpose, PurposeError, proves},
    wire::PowChallenge,
};
use std::time::Duration;

/// Extra bits at most for a busy address: each doubles the work.
const MAX_EXTRA_BITS: u32 = 6;
/// Codes sent for an address in the hour before its difficulty rises by one
/// bit; each further bit needs twice as many.
const SENDS_PER_EXTRA_BIT: u64 = 4;
const SENDS_WINDOW: Duration = Duration::from_secs(3_600);
/// The hardest challenge ever issued (`POW_BITS` at most 24, plus the rise):
/// a bound for settings made in code, not only by configuration.
const MAX_BITS: u32 = 32;
/// The format's version, first in every challenge (1 was bound to the id
/// alone).
const VERSION: &str = "2";

#[derive(Debug, thiserror::Error)]
pub enum PowError {
    #[error("bad captcha id")]
    BadId,
    #[error(transparent)]
    Purpose(#[from] PurposeError),
    #[error("no live captcha has this id")]
    NoCaptcha,
    #[error(transparent)]
    Captcha(#[from] CaptchaError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A challenge for the live captcha `id` (its image was asked for), to be
/// used to send a code for `purpose`; `None` when the proof is off.
pub async fn issue_pow_challenge(
    core: &Core,
    client: &Client,
    id: &str,
    purpose: &str,
) -> Result<Option<PowChallenge>, PowError> {
    let id = uuid::Uuid::parse_str(id.trim()).map_err(|_| PowError::BadId)?;
    let purpose: Purpose = purpose.parse()?;
    if core.settings.pow_bits == 0 {
        return Ok(None);
    }
    let stored = core.store.get(&keys::captcha(&id)).await?.as_deref().and_then(StoredCaptcha::parse);
    let instance = stored.ok_or(PowError::NoCaptcha)?.instance;
    Ok(Some(challenge(core, client, &id, instance, purpose).await?))
}

/// A page's captcha to send a code for `purpose`: a new captcha, stored
/// before its image is asked for, with its challenge (`None` when the proof
/// is off).
pub async fn prepare_captcha_with_challenge(
    core: &Core,
    client: &Client,
    purpose: &str,
) -> Result<(uuid::Uuid, Option<PowChallenge>), PowError> {
    let purpose: Purpose = purpose.parse()?;
    if core.settings.pow_bits == 0 {
        return Ok((uuid::Uuid::new_v4(), None));
    }
    let (id, instance) = prepare_captcha(core, client).await?;
    Ok((id, Some(challenge(core, client, &id, instance, purpose).await?)))
}

async fn challenge(
    core: &Core,
    client: &Client,
    id: &uuid::Uuid,
    instance: u64,
    purpose: Purpose,
) -> Result<PowChallenge, StoreError> {
    let bits = (core.settings.pow_bits + extra_bits(core, client).await?).min(MAX_BITS);
    let expires_at = now_ms() / 1000 + core.settings.captcha_ttl.as_secs() as i64;
    let signed = format!("{VERSION}.{}.{instance:016x}.{purpose}.{bits}.{expires_at}", id.simple());
    let tag = core.tokens.short_tag("pow", &signed);
    Ok(PowChallenge { challenge: format!("{signed}.{tag}"), bits })
}

/// How much harder than `POW_BITS` this address's challenges are: one bit
/// once it has had `SENDS_PER_EXTRA_BIT` codes sent in the hour, one more
/// each time that count doubles past it (`SMS_IP_HOURLY_CAP`, 20, bounds it
/// to 2 bits by default). Sends, not refusals: many people share one address
/// behind a carrier NAT, and one person's junk (wrong captchas, made-up
/// proofs) must not make everyone's page work harder; each of those already
/// cost its sender a captcha of the address's budget and its own work.
async fn extra_bits(core: &Core, client: &Client) -> Result<u32, StoreError> {
    let sent = core.store.count(&keys::sms_ip_hourly(&client.network()), SENDS_WINDOW).await?;
    Ok((sent / SENDS_PER_EXTRA_BIT + 1).ilog2().min(MAX_EXTRA_BITS))
}

#[derive(Debug, thiserror::Error)]
pub enum PowRefusal {
    #[error("no proof of work")]
    Missing,
    #[error("the proof of work does not hold")]
    Invalid,
    #[error("the challenge expired")]
    Expired,
}

/// Checks the proof sent with the captcha `id` for `purpose`: a challenge we
/// issued for both, unexpired and solved. Returns the captcha instance it is
/// bound to (`None` when the proof is off), which the captcha taken next must
/// have: that is what makes a proof work once. Reads and writes nothing, so
/// a refused proof leaves the captcha for another try.
pub(crate) fn check_proof(
    core: &Core,
    id: &str,
    purpose: Purpose,
    challenge: &str,
    nonce: &str,
) -> Result<Option<u64>, PowRefusal> {
    if core.settings.pow_bits == 0 {
        return Ok(None);
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
    let [VERSION, for_id, instance, for_purpose, bits, expires_at] = fields[..] else {
        return Err(PowRefusal::Invalid);
    };
    let instance = u64::from_str_radix(instance, 16).map_err(|_| PowRefusal::Invalid)?;
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
    Ok(Some(instance))
}

impl From<PowError> for AppError {
    fn from(e: PowError) -> AppError {
        match e {
            PowError::BadId => AppError::bad_request(Text::error_captcha_bad_id()),
            PowError::Purpose(e) => AppError::bad_request(e.text()).with_field("purpose"),
            PowError::NoCaptcha => CaptchaRefusal::Expired.into(),
            PowError::Captcha(e) => e.into(),
            PowError::Store(e) => dependency_down("proof of work", "store", &e),
        }
    }
}

impl From<PowRefusal> for AppError {
    fn from(e: PowRefusal) -> AppError {
        match e {
            PowRefusal::Missing => AppError::field("text", ErrorCode::PowRequired, Text::error_pow_required()),
            PowRefusal::Invalid => AppError::field("text", ErrorCode::PowInvalid, Text::error_pow_invalid()),
            PowRefusal::Expired => AppError::field("text", ErrorCode::PowExpired, Text::error_pow_expired()),
        }
    }
}
