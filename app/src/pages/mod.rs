//! The pages, one file each.

mod accept;
mod agreement;
mod consent;
mod deletion;
mod dev_outbox;
mod email;
mod forgot;
mod home;
mod login;
mod not_found;
mod register;
mod user_centre;

pub use accept::AcceptPage;
pub use agreement::{PrivacyPage, TermsPage};
pub use consent::ConsentPage;
pub use deletion::DeletionPage;
pub use dev_outbox::DevOutboxPage;
pub use email::{EmailSection, VerifyEmailPage};
pub use forgot::{ForgotPage, ResetPage};
pub use home::HomePage;
pub use login::LoginPage;
pub use not_found::NotFound;
pub use register::RegisterPage;
pub use user_centre::UserCentrePage;
