//! The line under a form field: an error (announced to screen readers), or a
//! hint. Always present, so that the live region exists before it speaks.

use leptos::prelude::*;

/// What to show under a field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Note {
    Error(String),
    Hint(String),
}

#[component]
pub fn FieldMessage(
    /// The element id, named by the input's `aria-describedby`.
    #[prop(into)]
    id: String,
    #[prop(into)] note: Signal<Option<Note>>,
) -> impl IntoView {
    view! {
        <p
            id=id
            class=move || match note.get() {
                Some(Note::Error(_)) => "field-message error",
                Some(Note::Hint(_)) => "field-message hint",
                None => "field-message",
            }
            aria-live="polite"
        >
            {move || match note.get() {
                Some(Note::Error(text)) | Some(Note::Hint(text)) => text,
                None => String::new(),
            }}
        </p>
    }
}
