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
    view! {
        <Title text="开发发件箱" />
        <section class="card wide">
            <h1>"开发发件箱"</h1>
            <p class="muted">"开发环境中发出的短信、邮件和图片验证码答案（最新的在前）。"</p>
            <button type="button" on:click=move |_| refresh.update(|n| *n += 1)>
                "刷新"
            </button>
            {table(
                entries,
                "outbox",
                "还没有消息。",
                &["类型", "接收方", "验证码", "内容", "时间"],
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
            <h2>"投递记录"</h2>
            <p class="muted">"每条短信和邮件交给发送队列后的去向：排队、发送中、重试、已发送、失败或过期。"</p>
            {table(
                deliveries,
                "outbox deliveries",
                "还没有投递记录。",
                &["类型", "接收方", "通道", "状态", "尝试", "最后错误", "时间"],
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
    headings: &'static [&'static str],
    row: fn(T) -> AnyView,
) -> impl IntoView
where
    T: Clone + Send + Sync + serde::Serialize + serde::de::DeserializeOwned + 'static,
{
    view! {
        <Transition fallback=|| view! { <p>"加载中…"</p> }>
            {move || Suspend::new(async move {
                match rows.await {
                    Ok(list) if list.is_empty() => view! { <p>{empty}</p> }.into_any(),
                    Ok(list) => {
                        view! {
                            <table class=class>
                                <thead>
                                    <tr>
                                        {headings.iter().map(|h| view! { <th scope="col">{*h}</th> }).collect_view()}
                                    </tr>
                                </thead>
                                <tbody>{list.into_iter().map(row).collect_view()}</tbody>
                            </table>
                        }
                            .into_any()
                    }
                    Err(e) => view! { <p class="error">{e.say(&Texts::here())}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}
