//! The home page.

use crate::{i18n::Texts, session::Session, wire::SessionInfo};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn HomePage() -> impl IntoView {
    let session = expect_context::<Session>();
    let texts = Texts::here();
    view! {
        <Title text=texts.home_title() />
        <section class="card">
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match session.info.await {
                        Ok(SessionInfo { user: Some(user), .. }) => {
                            view! {
                                <h1>{texts.home_welcome_name(user.display_name())}</h1>
                                <p>{texts.home_signed_in()}</p>
                            }
                                .into_any()
                        }
                        _ => {
                            view! {
                                <h1>{texts.home_welcome()}</h1>
                                <p>{texts.home_pitch()}</p>
                                <p>
                                    <a class="button" href="/register">
                                        {texts.home_register_now()}
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
