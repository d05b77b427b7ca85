//! The site header: the brand, and who is signed in (known already in the
//! server-rendered HTML).

use crate::{Session, wire::SessionInfo};
use leptos::prelude::*;

#[component]
pub fn Header() -> impl IntoView {
    let session = expect_context::<Session>();
    view! {
        <header class="site-header">
            <a href="/" class="brand">
                "手机号注册登录"
            </a>
            <nav aria-label="账户">
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        match session.info.await {
                            Ok(SessionInfo { user: Some(user), .. }) => {
                                view! {
                                    <span class="user-name" data-testid="signed-in-user">
                                        {user.display_name().to_owned()}
                                    </span>
                                }
                                    .into_any()
                            }
                            _ => view! { <a href="/register">"注册"</a> }.into_any(),
                        }
                    })}
                </Transition>
            </nav>
        </header>
    }
}
