//! The Leptos app: pages and components, the server functions they call
//! (`api`), the rules shared by browser and server (`rules`), the wire types
//! (`wire`, `error`) and, on the server only, the auth core (`core`).

pub mod api;
pub mod components;
pub mod error;
pub mod pages;
pub mod rules;
pub mod wire;

#[cfg(feature = "ssr")]
pub mod core;

use error::AppError;
use leptos::prelude::*;
use leptos_meta::{HashedStylesheet, MetaTags, Title, provide_meta_context};
use leptos_router::{
    SsrMode, StaticSegment,
    components::{Route, Router, Routes},
};
use wire::SessionInfo;

pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    api::context::set_page_security_policy();
    view! {
        <!DOCTYPE html>
        <html lang="zh-CN">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="theme-color" content="#1f6feb" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                // Under its hashed name in a release build (static_files.rs).
                <HashedStylesheet options=options.clone() id="leptos" />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// Who is signed in, shared by every page; asked again on each navigation,
/// so that the header follows a sign-up (which ends on a redirect).
#[derive(Clone, Copy)]
pub struct Session {
    pub info: Resource<Result<SessionInfo, AppError>>,
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Effects run only in the browser: this marks the page as hydrated, for
    // tests and for styles that need the WASM.
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });

    view! {
        <Title text="手机号注册登录" />
        <Router>
            <Site />
        </Router>
    }
}

/// Everything inside the router (the session resource follows its location).
#[component]
fn Site() -> impl IntoView {
    let location = leptos_router::hooks::use_location();
    let info = Resource::new(move || location.pathname.get(), |_| api::get_session_info());
    provide_context(Session { info });

    view! {
        <components::Header />
        <main id="main">
            // Async: the whole page, form included, arrives as complete HTML.
            <Routes fallback=|| view! { <pages::NotFound /> }>
                <Route path=StaticSegment("") view=pages::HomePage ssr=SsrMode::Async />
                <Route path=StaticSegment("register") view=pages::RegisterPage ssr=SsrMode::Async />
                <Route path=StaticSegment("login") view=pages::LoginPage ssr=SsrMode::Async />
                <Route path=StaticSegment("user") view=pages::UserCentrePage ssr=SsrMode::Async />
                <Route path=StaticSegment("agreement") view=pages::AgreementPage ssr=SsrMode::Async />
                <Route path=(StaticSegment("dev"), StaticSegment("outbox")) view=pages::DevOutboxPage ssr=SsrMode::Async />
            </Routes>
        </main>
    }
}
