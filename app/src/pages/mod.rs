//! The pages, one file each.

mod agreement;
mod dev_outbox;
mod home;
mod not_found;
mod register;

pub use agreement::AgreementPage;
pub use dev_outbox::DevOutboxPage;
pub use home::HomePage;
pub use not_found::NotFound;
pub use register::RegisterPage;
