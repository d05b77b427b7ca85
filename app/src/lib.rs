//! The Leptos app: pages and components, the server functions they call
//! (`api`), the rules shared by browser and server (`rules`), the wire types
//! (`wire`, `error`) and, on the server only, the auth core (`core`).

pub mod api;
pub mod components;
pub mod error;
pub mod i18n;
pub mod pages;
pub mod rules;
pub mod session;
pub mod wire;

#[cfg(feature = "ssr")]
pub mod core;
#[cfg(feature = "ssr")]
pub mod page_router;

use i18n::Texts;
use leptos::prelude::*;
use leptos_meta::{HashedStylesheet, MetaTags, Title, provide_meta_context};
use leptos_router::{
    Lazy, LazyRoute, SsrMode, StaticSegment,
    components::{Route, Router, Routes},
    lazy_route,
};
use session::Session;

/// The page around the app. Its Content-Security-Policy (with the nonce
/// Leptos puts on its scripts) is set by the server for every HTML response.
///
/// The page is in the request's language (`i18n`): `<html lang>` says which,
/// and `<meta name="texts">` carries that language's texts to the WASM.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let texts = Texts::here();
    // What every page has of the catalogue, and the page's own part. (The
    // shell is drawn by the server alone.)
    #[cfg(feature = "ssr")]
    let carried = {
        let path = use_context::<http::request::Parts>().map(|parts| parts.uri.path().to_owned());
        texts.for_browser(texts_of_page(&path.unwrap_or_default()))
    };
    #[cfg(not(feature = "ssr"))]
    let carried = String::new();
    view! {
        <!DOCTYPE html>
        <html lang=texts.locale().tag()>
            <head>
                <meta charset="utf-8" />
                <meta name="texts" content=carried />
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
                // Outside the app: drawn by the server alone (no WASM).
                <components::LanguageSwitch />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // The server provided this request's; the browser reads the page's.
    let texts = Texts::here();
    provide_context(texts);

    view! {
        <Title text=texts.site_name() />
        <Router>
            <Site />
        </Router>
    }
}

/// Where a server function's redirect goes, in the browser. Paths the
/// pages route are client-side navigations, as the router does them; any
/// other path of ours (an OpenID Connect authorization that a sign-in was
/// in the middle of) is a page load, which the server answers: the router
/// would show "page not found" for it. Set before the router sets its own
/// (the hook can be set once); `Site` gives it the router to navigate with.
#[cfg(feature = "hydrate")]
pub mod redirects {
    use leptos::prelude::*;
    use leptos_router::location::{BrowserUrl, LocationProvider};
    use std::sync::OnceLock;

    static ROUTER: OnceLock<Owner> = OnceLock::new();

    /// Call before hydrating.
    pub fn install() {
        let _ = leptos::server_fn::redirect::set_redirect_hook(|to: &str| {
            // Another site (a client's redirect URI, after consent) is a
            // page load too.
            let served_by_the_server = !to.starts_with('/') || to.starts_with("/oauth2/");
            match ROUTER.get() {
                Some(router) if !served_by_the_server => router.with(|| BrowserUrl::redirect(to)),
                _ => {
                    if let Some(window) = web_sys::window() {
                        let _ = window.location().set_href(to);
                    }
                }
            }
        });
    }

    /// Called inside the router: the owner client-side navigations run in.
    pub(crate) fn remember_router() {
        if let Some(owner) = Owner::current() {
            let _ = ROUTER.set(owner);
        }
    }
}

/// Everything inside the router (the session resource follows its location).
#[component]
fn Site() -> impl IntoView {
    #[cfg(feature = "hydrate")]
    redirects::remember_router();
    let location = leptos_router::hooks::use_location();
    let info = crate::wire::resource(move || location.pathname.get(), |_| api::get_session_info());
    provide_context(Session { info });
    let texts = Texts::here();

    view! {
        <components::Header />
        <main id="main">
            // Async: the whole page, form included, arrives as complete HTML.
            <Routes fallback=|| view! { <pages::NotFound /> }>
                // The register page, the first a visitor sees, is in the main
                // bundle; the others load their own WASM when first shown.
                <Route path=StaticSegment("register") view=pages::RegisterPage ssr=SsrMode::Async />
                <Route path=StaticSegment("") view={Lazy::<HomeRoute>::new()} ssr=SsrMode::Async />
                <Route path=StaticSegment("login") view={Lazy::<LoginRoute>::new()} ssr=SsrMode::Async />
                <Route path=StaticSegment("user") view={Lazy::<UserCentreRoute>::new()} ssr=SsrMode::Async />
                <Route path=StaticSegment("terms") view={Lazy::<TermsRoute>::new()} ssr=SsrMode::Async />
                // The terms' first address, kept for links made before.
                <Route path=StaticSegment("agreement") view={Lazy::<TermsRoute>::new()} ssr=SsrMode::Async />
                <Route path=StaticSegment("privacy") view={Lazy::<PrivacyRoute>::new()} ssr=SsrMode::Async />
                <Route path=StaticSegment("forgot") view={Lazy::<ForgotRoute>::new()} ssr=SsrMode::Async />
                <Route path=StaticSegment("reset") view={Lazy::<ResetRoute>::new()} ssr=SsrMode::Async />
                <Route path=StaticSegment("consent") view={Lazy::<ConsentRoute>::new()} ssr=SsrMode::Async />
                <Route path=StaticSegment("accept") view={Lazy::<AcceptRoute>::new()} ssr=SsrMode::Async />
                <Route path=StaticSegment("delete") view={Lazy::<DeletionRoute>::new()} ssr=SsrMode::Async />
                <Route
                    path=(StaticSegment("email"), StaticSegment("verify"))
                    view={Lazy::<VerifyEmailRoute>::new()}
                    ssr=SsrMode::Async
                />
                <Route
                    path=(StaticSegment("dev"), StaticSegment("outbox"))
                    view={Lazy::<DevOutboxRoute>::new()}
                    ssr=SsrMode::Async
                />
            </Routes>
        </main>
        <footer class="site-footer">
            <a href="/terms">{texts.site_terms()}</a>
            <a href="/privacy">{texts.site_privacy()}</a>
        </footer>
    }
}

/// The parts of the catalogue each later-loaded page needs beyond those
/// every page has (`i18n::model::EVERY_PAGE`), by its path: the page
/// carries them when it is the one the server draws, and fetches them when
/// the browser goes there (`with_texts`).
const PAGE_TEXTS: &[(&str, &[&str])] = &[
    ("/forgot", &["forgot"]),
    ("/reset", &["forgot"]),
    ("/user", &["user", "scope", "email"]),
    ("/email/verify", &["email"]),
    ("/delete", &["deletion"]),
    ("/accept", &["accept"]),
    ("/terms", &["legal"]),
    ("/privacy", &["legal"]),
    ("/agreement", &["legal"]),
    ("/dev/outbox", &["outbox"]),
    ("/consent", &["consent", "scope"]),
];

fn texts_of_page(path: &str) -> &'static [&'static str] {
    PAGE_TEXTS.iter().find(|(page, _)| *page == path).map_or(&[], |(_, parts)| parts)
}

/// `page`, once the browser has its texts: at once when the page carried
/// them (so it hydrates as drawn), else after fetching them (the browser
/// came from another page).
fn with_texts(page: fn() -> AnyView) -> AnyView {
    let path = leptos_router::hooks::use_location().pathname.get_untracked();
    let parts = texts_of_page(&path);
    let texts = Texts::here();
    if parts.iter().all(|part| texts.has(part)) {
        return page();
    }
    Suspend::new(async move {
        api::load_texts(parts).await;
        page()
    })
    .into_any()
}

/// A page whose code is split from the main bundle (`cargo leptos build
/// --split`): the browser fetches it when the page is first shown, and its
/// texts with it (`with_texts`).
macro_rules! lazy_page {
    ($($route:ident => $page:path),* $(,)?) => {$(
        struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(_this: Self) -> AnyView {
                with_texts(|| view! { <$page /> }.into_any())
            }
        }
    )*};
}

lazy_page! {
    HomeRoute => pages::HomePage,
    LoginRoute => pages::LoginPage,
    UserCentreRoute => pages::UserCentrePage,
    TermsRoute => pages::TermsPage,
    PrivacyRoute => pages::PrivacyPage,
    ForgotRoute => pages::ForgotPage,
    ResetRoute => pages::ResetPage,
    VerifyEmailRoute => pages::VerifyEmailPage,
    DevOutboxRoute => pages::DevOutboxPage,
    ConsentRoute => pages::ConsentPage,
    AcceptRoute => pages::AcceptPage,
    DeletionRoute => pages::DeletionPage,
}
