//! A labelled text input with its message line: the label names the input,
//! the message is announced, and `aria-invalid` follows the message.

use super::{FieldMessage, Note};
use crate::i18n::Texts;
use leptos::prelude::*;

/// The mobile-number field (a phone keypad, autofill from the phone's own number).
#[component]
pub fn MobileField(
    id: &'static str,
    value: RwSignal<String>,
    #[prop(into)] note: Signal<Option<Note>>,
    #[prop(into)] on_edit: Callback<()>,
    #[prop(optional, into)] on_leave: Option<Callback<()>>,
) -> impl IntoView {
    let texts = Texts::here();
    view! {
        <TextField
            id=id
            name="mobile"
            label=texts.mobile_label()
            input_type="tel"
            inputmode="tel"
            autocomplete="tel"
            placeholder=texts.mobile_placeholder()
            value=value
            note=note
            on_edit=on_edit
            on_leave=on_leave.unwrap_or_else(|| Callback::new(|()| ()))
        />
    }
}

#[component]
pub fn TextField(
    /// The input's id; the message line is `{id}-message`.
    id: &'static str,
    /// The form field name; `None` keeps the value out of the form post.
    #[prop(optional)]
    name: Option<&'static str>,
    label: &'static str,
    #[prop(default = "text")] input_type: &'static str,
    #[prop(optional)] autocomplete: Option<&'static str>,
    #[prop(optional)] inputmode: Option<&'static str>,
    #[prop(optional)] placeholder: Option<&'static str>,
    #[prop(optional)] maxlength: Option<&'static str>,
    value: RwSignal<String>,
    #[prop(into)] note: Signal<Option<Note>>,
    /// Called on every edit (typically: drop a stale error).
    #[prop(optional, into)]
    on_edit: Option<Callback<()>>,
    /// Called when focus leaves the input (typically: check the rule).
    #[prop(optional, into)]
    on_leave: Option<Callback<()>>,
    /// What sits beside the input (a button, the captcha image).
    #[prop(optional)]
    children: Option<Children>,
) -> impl IntoView {
    let message_id = format!("{id}-message");
    keep_what_was_typed(id, value);
    let input = view! {
        <input
            id=id
            name=name
            type=input_type
            autocomplete=autocomplete
            inputmode=inputmode
            placeholder=placeholder
            maxlength=maxlength
            aria-describedby=message_id.clone()
            aria-invalid=move || matches!(note.get(), Some(Note::Error(_))).to_string()
            bind:value=value
            on:input=move |_| {
                if let Some(f) = on_edit {
                    f.run(())
                }
            }
            on:blur=move |_| {
                if let Some(f) = on_leave {
                    f.run(())
                }
            }
        />
    };
    view! {
        <div class="field">
            <label for=id>{label}</label>
            {match children {
                Some(beside) => view! { <div class="inline">{input} {beside()}</div> }.into_any(),
                None => input.into_any(),
            }}
            <FieldMessage id=message_id note=note />
        </div>
    }
}

/// What a person typed into the server-rendered page before its WASM arrived
/// (a slow phone network): hydration would write the empty signal over it,
/// so the signal takes the input's value first. Only while hydrating, when
/// the input with this id is the server's one for this field.
fn keep_what_was_typed(id: &str, value: RwSignal<String>) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let hydrating = Owner::current_shared_context().is_some_and(|sc| sc.during_hydration());
        if !hydrating || !value.get_untracked().is_empty() {
            return;
        }
        let typed = document()
            .get_element_by_id(id)
            .and_then(|e| e.dyn_into::<web_sys::HtmlInputElement>().ok())
            .map(|input| input.value())
            .filter(|v| !v.is_empty());
        if let Some(typed) = typed {
            value.set(typed);
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (id, value);
}
