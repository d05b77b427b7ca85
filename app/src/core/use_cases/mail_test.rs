//! `server mail test ADDRESS`: one message through the configured transport,
//! at once and not through the queue, so that an operator sees the relay's
//! own answer while setting it up.

use crate::{
    core::{
        Core,
        mail::{Email, Mail, MailAccepted, MailFailure},
    },
    rules::{Email as Address, EmailError},
};
use futures::future::BoxFuture;

#[derive(Debug, thiserror::Error)]
pub enum MailTestError {
    #[error("{0}")]
    Address(#[from] EmailError),
    #[error("the {transport} transport could not send: {failure}")]
    Failed { transport: &'static str, failure: MailFailure },
}

pub fn send_test_mail<'a>(core: &'a Core, address: &'a str) -> BoxFuture<'a, Result<MailAccepted, MailTestError>> {
    Box::pin(async move {
        let address = Address::parse(address)?;
        let texts = crate::i18n::Texts::of(core.settings.default_locale);
        let site = core.settings.site_name_in(core.settings.default_locale);
        let content = Mail::Test { site }.render(&texts);
        core.mail
            .send(&Email { to: address.as_str(), content: &content })
            .await
            .map_err(|failure| MailTestError::Failed { transport: core.mail.name(), failure })
    })
}
