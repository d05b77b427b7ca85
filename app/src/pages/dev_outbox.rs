//! The development outbox: every SMS sent and captcha answer issued, newest
//! first. Absent (404) outside development.

use crate::api::dev_outbox;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn DevOutboxPage() -> impl IntoView {
    let refresh = RwSignal::new(0u32);
    let entries = Resource::new(move || refresh.get(), |_| dev_outbox());
    view! {
        <Title text="开发发件箱" />
        <section class="card wide">
            <h1>"开发发件箱"</h1>
            <p class="muted">"开发环境中发出的短信和图片验证码答案（最新的在前）。"</p>
            <button type="button" on:click=move |_| refresh.update(|n| *n += 1)>
                "刷新"
            </button>
            <Transition fallback=|| view! { <p>"加载中…"</p> }>
                {move || Suspend::new(async move {
                    match entries.await {
                        Ok(list) if list.is_empty() => view! { <p>"还没有消息。"</p> }.into_any(),
                        Ok(list) => {
                            view! {
                                <table class="outbox">
                                    <thead>
                                        <tr>
                                            <th scope="col">"类型"</th>
                                            <th scope="col">"接收方"</th>
                                            <th scope="col">"验证码"</th>
                                            <th scope="col">"内容"</th>
                                            <th scope="col">"时间"</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {list
                                            .into_iter()
                                            .map(|e| {
                                                view! {
                                                    <tr>
                                                        <td>{e.kind}</td>
                                                        <td>{e.to}</td>
                                                        <td class="code">{e.code}</td>
                                                        <td>{e.text}</td>
                                                        <td>{e.created_at}</td>
                                                    </tr>
                                                }
                                            })
                                            .collect_view()}
                                    </tbody>
                                </table>
                            }
                                .into_any()
                        }
                        Err(e) => view! { <p class="error">{e.message}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}
