//! Server functions for the captcha and SMS codes.

use crate::{
    error::AppError,
    wire::{CaptchaTicket, SmsSent},
};
use leptos::prelude::*;

/// A fresh captcha id (the image is `GET /api/v1/image_codes/{id}`) and,
/// when it guards a send for `purpose`, its proof-of-work challenge, bound
/// to the captcha that the image will show.
#[server(endpoint = "new_captcha", output = crate::wire::Answer)]
pub async fn new_captcha(purpose: Option<String>) -> Result<CaptchaTicket, AppError> {
    use super::context::*;
    let Some(purpose) = purpose else { return Ok(CaptchaTicket { id: uuid::Uuid::new_v4().to_string(), pow: None }) };
    let core = core()?;
    let client = client(&core).await?;
    let (id, pow) =
        crate::core::use_cases::prepare_captcha_with_challenge(&core, &client, &purpose).await.map_err(fail)?;
    Ok(CaptchaTicket { id: id.to_string(), pow })
}

#[server(endpoint = "send_sms_code", output = crate::wire::Answer)]
pub async fn send_sms_code(
    mobile: String,
    purpose: String,
    image_code_id: String,
    text: String,
    pow_challenge: String,
    pow_nonce: String,
) -> Result<SmsSent, AppError> {
    use super::context::*;
    use crate::{core::use_cases, wire::SendSmsCodeForm};
    let core = core()?;
    let client = client(&core).await?;
    let form = SendSmsCodeForm { mobile, purpose, image_code_id, text, pow_challenge, pow_nonce };
    // A bind_email or delete_account code goes to the signed-in account's
    // own number.
    let own = form.purpose.parse::<crate::rules::Purpose>().is_ok_and(|p| p.is_own_account());
    let auth = if own { signed_in(&core).await? } else { None };
    use_cases::send_sms_code(&core, &client, auth.as_ref(), &form).await.map_err(fail)
}

/// Seconds until another code may be sent (0: now), and why the provider
/// refused the last code, if it did. (The macro names its own type
/// `SmsCooldown`, hence the path.)
#[server(endpoint = "sms_cooldown", output = crate::wire::Answer)]
pub async fn sms_cooldown(mobile: String, purpose: String) -> Result<crate::wire::SmsCooldown, AppError> {
    use super::context::*;
    let core = core()?;
    let locale = client(&core).await?.locale;
    crate::core::use_cases::sms_cooldown(&core, locale, &mobile, &purpose).await.map_err(fail)
}
