//! A tab button of a `role="tablist"`: selects `which` in `selected`, and
//! says so to assistive technology. Sign-in and recovery both use it.

use leptos::prelude::*;

pub fn tab_button<T>(selected: RwSignal<T>, which: T, label: &'static str, controls: &'static str) -> impl IntoView
where
    T: Copy + PartialEq + Send + Sync + 'static,
{
    view! {
        <button
            type="button"
            role="tab"
            aria-controls=controls
            aria-selected=move || (selected.get() == which).to_string()
            class:active=move || selected.get() == which
            on:click=move |_| selected.set(which)
        >
            {label}
        </button>
    }
}
