//! The site header: the brand, and who is signed in (known already in the
//! server-rendered HTML, so a reload never flashes the signed-out header).

use crate::{Session, api::Logout, wire::SessionInfo};
use leptos::{prelude::*, server_fn::ServerFn};

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
                                let logout = ServerAction::<Logout>::new();
                                view! {
                                    <a href="/user" class="user-name" data-testid="signed-in-user">
                                        {user.display_name().to_owned()}
                                    </a>
                                    // A plain form (it posts without WASM too); once
                                    // alive, the typed call replaces the post.
                                    <form
                                        method="post"
                                        action=Logout::url()
                                        class="inline-form"
                                        on:submit=move |ev| {
                                            ev.prevent_default();
                                            logout.dispatch(Logout {});
                                        }
                                    >
                                        <button type="submit" class="link">
                                            "退出"
                                        </button>
                                    </form>
                                }
                                    .into_any()
                            }
                            _ => {
                                view! {
                                    <a href="/login">"登录"</a>
                                    <a href="/register">"注册"</a>
                                }
                                    .into_any()
                            }
                        }
                    })}
                </Transition>
            </nav>
        </header>
    }
}
