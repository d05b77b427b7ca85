//! The shapes that cross the wire between browser and server: forms as
//! submitted, and what the use cases answer. Plain serde types for both
//! targets, and the encoding the pages use for them (`Encoding`).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// How the server functions' answers and errors travel, and how a resource's
/// value reaches the browser in the page: postcard, a compact binary encoding.
/// The pages decode them in the WASM, and serde_json's decoder (with the float
/// formatting its messages pull in) weighed about 20 KB of the first page's
/// bundle; postcard's is a few. The JSON API (`/api/v1`) stays JSON.
///
/// Postcard writes a struct's fields in order without names, so a wire type
/// must not skip fields (`skip_serializing_if`) or depend on self-describing
/// input (`untagged`, `flatten`): `tests::every_answer_survives_the_wire`.
pub type Encoding = server_fn::codec::PostcardEncoding;

/// The output of every `#[server]` function: `#[server(output = Answer)]`.
pub type Answer = server_fn::codec::Post<Encoding>;

/// The codec of every resource (its value is serialized into the page).
pub type ResourceCodec = codee::binary::PostcardCodec;

/// A resource whose value crosses the wire in `ResourceCodec`: what
/// `Resource::new` is to JSON.
#[track_caller]
pub fn resource<S, T, Fut>(
    source: impl Fn() -> S + Send + Sync + 'static,
    fetcher: impl Fn(S) -> Fut + Send + Sync + 'static,
) -> Resource<T, ResourceCodec>
where
    S: PartialEq + Clone + Send + Sync + 'static,
    T: Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
    Fut: Future<Output = T> + Send + 'static,
{
    Resource::new_with_options(source, fetcher, false)
}

/// `POST /sms_codes` and the send button: raw, unparsed input.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SendSmsCodeForm {
    pub mobile: String,
    pub purpose: String,
    pub image_code_id: String,
    pub text: String,
    /// The proof of work: the challenge issued with the captcha and the
    /// nonce found for it (empty when the proof is off).
    #[serde(default)]
    pub pow_challenge: String,
    #[serde(default)]
    pub pow_nonce: String,
}

/// A proof-of-work challenge: find a nonce such that
/// SHA-256(challenge ‖ nonce in decimal) starts with `bits` zero bits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PowChallenge {
    pub challenge: String,
    pub bits: u32,
}

/// A fresh captcha for the page: its id (the image is
/// `/api/v1/image_codes/{id}`) and, when the captcha guards a send, its
/// proof-of-work challenge (none when the proof is off).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptchaTicket {
    pub id: String,
    pub pow: Option<PowChallenge>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SmsSent {
    /// Seconds until another code may be sent to this number.
    pub resend_after: u64,
}

/// `POST /users` and the register form: raw, unparsed input.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RegisterForm {
    pub mobile: String,
    pub password: String,
    pub password2: String,
    pub sms_code: String,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub nickname: Option<String>,
    /// The user agreement box: a checked box arrives as "on" from a form.
    #[serde(default)]
    pub allow: bool,
}

/// The signed-in user, as the header and pages show them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    pub id: i64,
    pub username: String,
    pub nickname: String,
}

impl UserView {
    /// The nickname, else the username.
    pub fn display_name(&self) -> &str {
        if self.nickname.is_empty() { &self.username } else { &self.nickname }
    }
}

/// What every page needs from the server once: who is signed in, and the
/// settings the browser-side rules must follow.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub user: Option<UserView>,
    pub password_policy: crate::rules::PasswordPolicy,
    pub dev_outbox: bool,
}

/// `GET /sms_codes/{mobile}/cooldown`: seconds until the next send, and why
/// the provider refused the last code, if it did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SmsCooldown {
    pub seconds: u64,
    pub refusal: Option<SmsRefusalView>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SmsRefusalView {
    pub code: String,
    pub message: String,
}

/// A delivery record as the development outbox page shows it (masked
/// recipient, never the code).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryView {
    pub id: String,
    /// `sms_code` or `email`.
    pub kind: String,
    pub provider: String,
    pub recipient: String,
    /// `queued`, `sending`, `retrying`, `sent`, `failed` or `expired`.
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub updated_at: String,
}

/// One message kept by the development outbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OutboxEntry {
    /// `sms`, `email` or `captcha`.
    pub kind: String,
    pub to: String,
    pub text: String,
    pub code: String,
    pub created_at: String,
}

/// `POST /login` and the sign-in form: raw input.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LoginForm {
    pub account: String,
    pub password: String,
    #[serde(default)]
    pub remember: bool,
    /// The captcha, when the server asks for it.
    #[serde(default)]
    pub image_code_id: Option<String>,
    #[serde(default)]
    pub text: Option<String>,
}

/// `POST /sms_login` and the SMS tab of the sign-in page.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SmsLoginForm {
    pub mobile: String,
    pub sms_code: String,
    #[serde(default)]
    pub remember: bool,
}

/// A new session: what sign-up and sign-in answer (the seeds' payload).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SignedIn {
    pub id: i64,
    pub username: String,
    pub nickname: String,
    pub avatar: Option<String>,
    pub token: String,
    /// Whether the cookie outlives the browser ("remember me").
    pub remember: bool,
    /// Texts whose version in force the person has not accepted (changed
    /// since, or never recorded): the pages ask before going on.
    pub texts_to_accept: Vec<crate::rules::LegalKind>,
    /// 注销 requested: when the account will be erased (Unix ms); the pages
    /// say so and offer 撤销注销.
    pub delete_after: Option<i64>,
}

/// The user centre's profile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Profile {
    pub id: i64,
    pub username: String,
    /// `138****1234`
    pub mobile: String,
    pub email: Option<String>,
    pub nickname: String,
    /// Unix milliseconds.
    pub created_at: i64,
    pub last_login_at: Option<i64>,
    /// 注销 requested: when the account will be erased (Unix ms).
    pub delete_after: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SessionView {
    pub id: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    pub client_ip: String,
    pub user_agent: String,
    /// The session this request came with.
    pub current: bool,
    /// The applications (OpenID Connect clients) signed in through it.
    pub clients: Vec<String>,
}

/// An application a person signed in to through us (an OpenID Connect
/// client), as the user centre lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ApplicationView {
    pub client_id: String,
    pub name: String,
    /// The scopes it was given (`openid`, `profile`, `phone`, ...).
    pub scopes: Vec<String>,
    /// Unix milliseconds: its last authorization.
    pub last_authorized_at: i64,
}

/// A text a person accepts (the privacy policy or the terms), as its page
/// shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegalDocument {
    pub kind: crate::rules::LegalKind,
    pub version: String,
    /// Rendered from the operator's Markdown on the server.
    pub html: String,
}

/// One acceptance of a text: `kind` is `privacy` or `terms`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AcceptanceView {
    pub kind: String,
    pub version: String,
    /// Unix milliseconds.
    pub accepted_at: i64,
}

/// What the consent page shows: who asks, for what, and where the answer
/// goes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentView {
    pub client_name: String,
    pub scopes: Vec<String>,
    /// The host of the redirect URI (or its scheme, for an app's own).
    pub redirect_host: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AttemptView {
    pub created_at: i64,
    pub client_ip: String,
    pub user_agent: String,
    /// `password`, `sms`, or `register` (the session registering began).
    pub method: String,
    /// `success`, `wrong_password`, `locked` or `disabled`.
    pub outcome: String,
}

/// `PUT /me/password` and the change-password form.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ChangePasswordForm {
    pub old_password: String,
    pub new_password: String,
    pub new_password2: String,
}

/// `POST /me/deletion` (注销): the password, or a code sent to the
/// account's own mobile for `delete_account` (an account made by SMS may
/// never have typed a password). One of the two.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DeletionForm {
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub sms_code: String,
}

/// Where a 注销 stands: waiting for `delete_after` (Unix ms), or done.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DeletionStatus {
    pub delete_after: Option<i64>,
    /// The account is gone (no cooling-off).
    pub erased: bool,
}

/// `PUT /me/email`: bind (or change to) an address; the password proves
/// that the account's owner asks.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct BindEmailForm {
    pub email: String,
    pub password: String,
    /// A code sent to the account's own mobile for `bind_email`.
    #[serde(default)]
    pub sms_code: String,
}

/// What a verification link would do, as its page shows it before the
/// person confirms: the address, and the account's mobile, masked.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailLink {
    pub email: String,
    pub account: String,
}

/// The account's e-mail, as the user centre shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct EmailStatus {
    /// The verified address: it signs in and recovers.
    pub verified: Option<String>,
    /// An address waiting for its link to be opened.
    pub pending: Option<String>,
    /// The waiting address's link has expired: only "resend" helps.
    pub pending_expired: bool,
    /// Seconds until the link may be sent again.
    pub resend_after: u64,
}

/// `POST /password/forgot`: an e-mail or a mobile, and the image captcha.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ForgotPasswordForm {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub mobile: String,
    #[serde(default)]
    pub image_code_id: String,
    #[serde(default)]
    pub text: String,
    /// By mobile the code is sent as `POST /sms_codes` sends it: with the
    /// captcha's proof of work.
    #[serde(default)]
    pub pow_challenge: String,
    #[serde(default)]
    pub pow_nonce: String,
}

/// `POST /password/reset`: a link's token, or a mobile and its SMS code;
/// the new password twice.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ResetPasswordForm {
    #[serde(default)]
    pub token: String,
    #[serde(default)]
    pub mobile: String,
    #[serde(default)]
    pub sms_code: String,
    pub password: String,
    pub password2: String,
}

/// A password was reset. After a reset by SMS of an account with a verified
/// e-mail: that address, masked, and a ticket (10 minutes, until the next
/// change of password) to remove it, in case the phone's owner never bound
/// it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PasswordResetDone {
    pub bound_email: Option<String>,
    pub remove_email_ticket: Option<String>,
}

/// A recovery request was taken: what to tell the person, and when another
/// may be asked for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RecoverySent {
    pub message: String,
    pub resend_after: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        api::UserCentreData,
        error::{AppError, ErrorKind},
        rules::PasswordPolicy,
    };
    use codee::{Decoder, Encoder};
    use server_fn::{Decodes, Encodes};

    /// `value` as a server function answers it and as a resource carries it.
    fn survives<T>(value: T)
    where
        T: Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug + Clone,
    {
        let bytes = <Encoding as Encodes<T>>::encode(&value).unwrap();
        assert_eq!(<Encoding as Decodes<T>>::decode(bytes).unwrap(), value);
        let in_page: Result<T, AppError> = Ok(value);
        let bytes = <ResourceCodec as Encoder<_>>::encode(&in_page).unwrap();
        assert_eq!(<ResourceCodec as Decoder<Result<T, AppError>>>::decode(&bytes).unwrap(), in_page);
    }

    #[test]
    fn every_answer_survives_the_wire() {
        // Each optional field both empty and filled: a skipped field would
        // shift the ones after it.
        for (field, retry_after) in [(None, None), (Some("mobile".to_owned()), Some(60))] {
            let error = AppError {
                kind: ErrorKind::RateLimited,
                code: crate::error::ErrorCode::SmsCodeWrong,
                message: "慢一点".into(),
                field,
                retry_after,
            };
            survives(error.clone());
            let in_page: Result<u8, AppError> = Err(error);
            let bytes = <ResourceCodec as Encoder<_>>::encode(&in_page).unwrap();
            assert_eq!(<ResourceCodec as Decoder<Result<u8, AppError>>>::decode(&bytes).unwrap(), in_page);
        }
        let user = UserView { id: 7, username: "u".into(), nickname: String::new() };
        for user in [None, Some(user)] {
            survives(SessionInfo { user, password_policy: PasswordPolicy::default(), dev_outbox: true });
        }
        let pow = PowChallenge { challenge: "ab".into(), bits: 12 };
        for pow in [None, Some(pow)] {
            survives(CaptchaTicket { id: "id".into(), pow });
        }
        let refusal = SmsRefusalView { code: "blocked".into(), message: "号码无法接收短信".into() };
        for refusal in [None, Some(refusal)] {
            survives(SmsCooldown { seconds: 42, refusal });
        }
        survives(SmsSent { resend_after: 60 });
        survives(EmailLink { email: "a@b.cn".into(), account: "138****8000".into() });
        for (bound_email, remove_email_ticket) in [(None, None), (Some("a***@b.cn".to_owned()), Some("t".to_owned()))] {
            survives(PasswordResetDone { bound_email, remove_email_ticket });
        }
        survives(DeletionStatus { delete_after: Some(7), erased: false });
        survives(RecoverySent { message: "已发送".into(), resend_after: 60 });
        for (verified, pending) in [(None, None), (Some("a@b.cn".to_owned()), Some("c@d.cn".to_owned()))] {
            survives(EmailStatus { verified, pending, pending_expired: true, resend_after: 3 });
        }
        let profile = |email: Option<String>, last_login_at: Option<i64>| Profile {
            id: 1,
            username: "u".into(),
            mobile: "13800138000".into(),
            email,
            nickname: "n".into(),
            created_at: 1,
            last_login_at,
            delete_after: last_login_at.map(|t| t + 7),
        };
        let session = SessionView {
            id: "s".into(),
            created_at: 1,
            last_seen_at: 2,
            expires_at: 3,
            client_ip: "203.0.113.5".into(),
            user_agent: "ua".into(),
            current: true,
            clients: vec!["Demo 商城".into()],
        };
        let attempt = AttemptView {
            created_at: 1,
            client_ip: "ip".into(),
            user_agent: "ua".into(),
            method: "password".into(),
            outcome: "ok".into(),
        };
        let application = ApplicationView {
            client_id: "c".into(),
            name: "Demo 商城".into(),
            scopes: vec!["openid".into(), "phone".into()],
            last_authorized_at: 4,
        };
        for profile in [profile(None, None), profile(Some("a@b.cn".into()), Some(5))] {
            survives(Some(UserCentreData {
                profile,
                sessions: vec![session.clone()],
                history: vec![attempt.clone()],
                applications: vec![application.clone()],
                texts_to_accept: vec![crate::rules::LegalKind::Privacy],
            }));
        }
        survives(None::<UserCentreData>);
        survives(Some(ConsentView {
            client_name: "Demo 商城".into(),
            scopes: vec!["openid".into()],
            redirect_host: "shop.example".into(),
        }));
        survives(None::<ConsentView>);
        survives(LegalDocument { kind: crate::rules::LegalKind::Terms, version: "1".into(), html: "<p>x</p>".into() });
        for last_error in [None, Some("timeout".to_owned())] {
            survives(vec![DeliveryView {
                id: "d".into(),
                kind: "sms_code".into(),
                provider: "log".into(),
                recipient: "138****8000".into(),
                state: "sent".into(),
                attempts: 1,
                last_error,
                updated_at: "now".into(),
            }]);
        }
        survives((true, 3i64, "s".to_owned(), Some("t".to_owned())));
    }
}
