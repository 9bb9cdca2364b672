//! Fennec's admin console: the page shell, the routes and the pages.
#![recursion_limit = "256"]

pub mod api;
mod components;
pub mod error;
mod pages;
#[cfg(feature = "ssr")]
mod ssr;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::components::{Redirect, Route, Router, Routes};
use leptos_router::{lazy_route, path, Lazy, LazyRoute};

/// The HTML document around the console, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <AutoReload options=options.clone() />
                // Named by their content hash when built with hash-files, so they can be cached
                // for a year.
                <HashedStylesheet id="fennec" options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body class="min-h-screen bg-slate-50 text-slate-900 antialiased">
                <App />
            </body>
        </html>
    }
}

/// A page whose code the browser fetches when it is first shown, rather than with the rest of
/// the console: with `cargo leptos build --split`, each one is its own part of the WASM bundle.
/// Without splitting (as in `cargo leptos watch`) the page is simply part of the one bundle.
macro_rules! lazy_page {
    ($route:ident, $page:path) => {
        struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(_this: Self) -> AnyView {
                $page().into_any()
            }
        }
    };
}

lazy_page!(HomePage, pages::home::Home);
lazy_page!(SetupPage, pages::setup::Setup);
lazy_page!(LoginPage, pages::login::Login);
lazy_page!(ApplicationsPage, pages::applications::Applications);
lazy_page!(ResourceWizardPage, pages::resource_wizard::ResourceWizard);
lazy_page!(ClientWizardPage, pages::client_wizard::ClientWizard);
lazy_page!(
    ApplicationEditPage,
    pages::application_edit::ApplicationEdit
);
lazy_page!(AuditTrailPage, pages::audit::AuditTrail);
lazy_page!(SettingsPage, pages::settings::EnvironmentSettings);

/// The console's routes.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();

    view! {
        <Title text="Fennec" />
        <Router>
            <Routes fallback=pages::NotFound>
                <Route path=path!("/") view=|| view! { <Redirect path="/console" /> } />
                <Route path=path!("/console") view={Lazy::<HomePage>::new()} />
                <Route path=path!("/console/setup") view={Lazy::<SetupPage>::new()} />
                <Route path=path!("/console/login") view={Lazy::<LoginPage>::new()} />
                <Route
                    path=path!("/console/:tenant/:env/applications")
                    view={Lazy::<ApplicationsPage>::new()}
                />
                <Route
                    path=path!("/console/:tenant/:env/applications/new-resource")
                    view={Lazy::<ResourceWizardPage>::new()}
                />
                <Route
                    path=path!("/console/:tenant/:env/applications/new-client")
                    view={Lazy::<ClientWizardPage>::new()}
                />
                <Route
                    path=path!("/console/:tenant/:env/applications/:app")
                    view={Lazy::<ApplicationEditPage>::new()}
                />
                <Route
                    path=path!("/console/:tenant/:env/audit")
                    view={Lazy::<AuditTrailPage>::new()}
                />
                <Route
                    path=path!("/console/:tenant/:env/settings")
                    view={Lazy::<SettingsPage>::new()}
                />
            </Routes>
        </Router>
    }
}
