//! The home page.

use crate::{Session, wire::SessionInfo};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn HomePage() -> impl IntoView {
    let session = expect_context::<Session>();
    view! {
        <Title text="首页" />
        <section class="card">
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match session.info.await {
                        Ok(SessionInfo { user: Some(user), .. }) => {
                            view! {
                                <h1>{format!("欢迎，{}", user.display_name())}</h1>
                                <p>"你已登录。"</p>
                            }
                                .into_any()
                        }
                        _ => {
                            view! {
                                <h1>"欢迎"</h1>
                                <p>"用手机号注册一个账号，只需一分钟。"</p>
                                <p>
                                    <a class="button" href="/register">
                                        "立即注册"
                                    </a>
                                </p>
                            }
                                .into_any()
                        }
                    }
                })}
            </Transition>
        </section>
    }
}
