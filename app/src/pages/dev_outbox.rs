//! The development outbox: every SMS and e-mail sent and captcha answer
//! issued, and the delivery records (whichever provider is configured),
//! newest first. Absent (404) outside development.

use crate::i18n::Texts;
use crate::{
    api::{dev_deliveries, dev_outbox},
    error::AppError,
};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn DevOutboxPage() -> impl IntoView {
    let refresh = RwSignal::new(0u32);
    let entries = crate::wire::resource(move || refresh.get(), |_| dev_outbox());
    let deliveries = crate::wire::resource(move || refresh.get(), |_| dev_deliveries());
    let texts = Texts::here();
    view! {
        <Title text=texts.outbox_title() />
        <section class="card wide">
            <h1>{texts.outbox_title()}</h1>
            <p class="muted">{texts.outbox_note()}</p>
            <button type="button" on:click=move |_| refresh.update(|n| *n += 1)>
                {texts.outbox_refresh()}
            </button>
            {table(
                entries,
                "outbox",
                texts.outbox_empty(),
                vec![texts.outbox_kind(), texts.outbox_to(), texts.outbox_code(), texts.outbox_text(), texts.outbox_time()],
                |e| {
                    view! {
                        <tr>
                            <td>{e.kind}</td>
                            <td>{e.to}</td>
                            <td class="code">{e.code}</td>
                            <td>{e.text}</td>
                            <td>{e.created_at}</td>
                        </tr>
                    }
                        .into_any()
                },
            )}
            <h2>{texts.outbox_deliveries()}</h2>
            <p class="muted">{texts.outbox_deliveries_note()}</p>
            {table(
                deliveries,
                "outbox deliveries",
                texts.outbox_no_deliveries(),
                vec![
                    texts.outbox_kind(),
                    texts.outbox_to(),
                    texts.outbox_provider(),
                    texts.outbox_state(),
                    texts.outbox_attempts(),
                    texts.outbox_last_error(),
                    texts.outbox_time(),
                ],
                |d| {
                    let state = d.state.clone();
                    view! {
                        <tr data-state=state>
                            <td>{d.kind}</td>
                            <td>{d.recipient}</td>
                            <td>{d.provider}</td>
                            <td>{d.state}</td>
                            <td>{d.attempts}</td>
                            <td>{d.last_error.unwrap_or_default()}</td>
                            <td>{d.updated_at}</td>
                        </tr>
                    }
                        .into_any()
                },
            )}
        </section>
    }
}

/// A table of what `rows` loads, one `row` each; `empty` when there is none.
fn table<T>(
    rows: Resource<Result<Vec<T>, AppError>, crate::wire::ResourceCodec>,
    class: &'static str,
    empty: &'static str,
    headings: Vec<&'static str>,
    row: fn(T) -> AnyView,
) -> impl IntoView
where
    T: Clone + Send + Sync + serde::Serialize + serde::de::DeserializeOwned + 'static,
{
    let texts = Texts::here();
    view! {
        <Transition fallback=move || view! { <p>{texts.outbox_loading()}</p> }>
            {move || {
                let headings = headings.clone();
                Suspend::new(async move {
                match rows.await {
                    Ok(list) if list.is_empty() => view! { <p>{empty}</p> }.into_any(),
                    Ok(list) => {
                        view! {
                            <table class=class>
                                <thead>
                                    <tr>
                                        {headings
                                            .iter()
                                            .map(|h| view! { <th scope="col">{*h}</th> })
                                            .collect_view()}
                                    </tr>
                                </thead>
                                <tbody>{list.into_iter().map(row).collect_view()}</tbody>
                            </table>
                        }
                            .into_any()
                    }
                    Err(e) => view! { <p class="error">{e.say(&texts)}</p> }.into_any(),
                }
            })
            }}
        </Transition>
    }
}
