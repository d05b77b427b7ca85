//! `server sms test MOBILE`: one message through the configured SMS
//! provider, at once and not through the queue, so that an operator sees
//! the provider's own answer while setting up a new account. It is the code
//! template with a code that opens nothing (none is stored).

use crate::{
    core::{
        Core,
        sms::{SmsAccepted, SmsBody, SmsFailure, SmsMessage},
    },
    rules::{Mobile, MobileError},
};
use futures::future::BoxFuture;

#[derive(Debug, thiserror::Error)]
pub enum SmsTestError {
    #[error("{0}")]
    Mobile(#[from] MobileError),
    #[error("the {provider} provider could not send: {failure}")]
    Failed { provider: &'static str, failure: SmsFailure },
}

pub fn send_test_sms<'a>(core: &'a Core, mobile: &'a str) -> BoxFuture<'a, Result<SmsAccepted, SmsTestError>> {
    Box::pin(async move {
        let to = Mobile::parse(mobile)?;
        let code = format!("{:06}", rand::random_range(0..1_000_000));
        let minutes = core.settings.sms_code_ttl.as_secs().div_ceil(60);
        let id = format!("test-{}", uuid::Uuid::new_v4().simple());
        let body = SmsBody::Code { code: &code, minutes };
        let message = SmsMessage { id: &id, to: &to, body, locale: core.settings.default_locale };
        core.sms.send(&message).await.map_err(|failure| SmsTestError::Failed { provider: core.sms.name(), failure })
    })
}
