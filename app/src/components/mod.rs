//! Pieces shared by pages.

mod field_message;
mod form_errors;
mod format;
mod header;
mod language_switch;
mod sms_code;
mod tabs;
mod text_field;

pub use field_message::{FieldMessage, Note};
pub use form_errors::FormErrors;
pub use format::{describe_browser, format_time};
pub use header::Header;
pub use language_switch::LanguageSwitch;
pub use sms_code::{Captcha, CaptchaField, MobileAndCode, SmsCodeFields};
pub use tabs::tab_button;
pub use text_field::{MobileField, TextField};
