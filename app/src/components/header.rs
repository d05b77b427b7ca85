//! The site header: the brand, and who is signed in (known already in the
//! server-rendered HTML, so a reload never flashes the signed-out header).

use crate::{api::Logout, i18n::Texts, session::Session, wire::SessionInfo};
use leptos::{prelude::*, server_fn::ServerFn};

#[component]
pub fn Header() -> impl IntoView {
    let session = expect_context::<Session>();
    let texts = Texts::here();
    view! {
        <header class="site-header">
            <a href="/" class="brand">
                {texts.site_name()}
            </a>
            <nav aria-label=texts.site_account_nav()>
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
                                            {texts.site_sign_out()}
                                        </button>
                                    </form>
                                }
                                    .into_any()
                            }
                            _ => {
                                view! {
                                    <a href="/login">{texts.site_sign_in()}</a>
                                    <a href="/register">{texts.site_register()}</a>
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
