//! What a form's last submit got back from the server, read per field: the
//! same reading for every form.

use super::Note;
use crate::{error::AppError, i18n::Texts};
use leptos::{prelude::*, server_fn::ServerFn};

#[derive(Clone, Copy)]
pub struct FormErrors(Signal<Option<AppError>>, Texts);

impl FormErrors {
    pub fn of<S>(action: ServerAction<S>) -> FormErrors
    where
        S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
        S::Output: Clone + Send + Sync + 'static,
    {
        FormErrors(Signal::derive(move || action.value().get().and_then(Result::err)), Texts::here())
    }

    /// The server's message for `field`, if its error belongs there.
    pub fn field(self, field: &str) -> Option<String> {
        self.0.get().and_then(|e| e.message_for(field, &self.1))
    }

    /// A message that belongs to no field (shown above the form).
    pub fn general(self) -> Option<String> {
        self.0.get().filter(|e| e.field.is_none()).map(|e| e.say(&self.1))
    }

    /// The note under a field: the browser's own finding first, else the server's.
    pub fn note(self, local: RwSignal<Option<String>>, field: &'static str) -> Signal<Option<Note>> {
        Signal::derive(move || local.get().or_else(|| self.field(field)).map(Note::Error))
    }
}
