//! Pieces shared by pages.

mod field_message;
mod header;
mod text_field;

pub use field_message::{FieldMessage, Note};
pub use header::Header;
pub use text_field::TextField;
