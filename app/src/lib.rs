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
use leptos_router::path;

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

/// The console's routes.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();

    view! {
        <Title text="Fennec" />
        <Router>
            <Routes fallback=pages::NotFound>
                <Route path=path!("/") view=|| view! { <Redirect path="/console" /> } />
                <Route path=path!("/console") view=pages::home::Home />
                <Route path=path!("/console/setup") view=pages::setup::Setup />
                <Route path=path!("/console/login") view=pages::login::Login />
                <Route
                    path=path!("/console/:tenant/:env/applications")
                    view=pages::applications::Applications
                />
                <Route
                    path=path!("/console/:tenant/:env/applications/new-resource")
                    view=pages::resource_wizard::ResourceWizard
                />
                <Route
                    path=path!("/console/:tenant/:env/applications/new-client")
                    view=pages::client_wizard::ClientWizard
                />
                <Route
                    path=path!("/console/:tenant/:env/applications/:app")
                    view=pages::application_edit::ApplicationEdit
                />
                <Route
                    path=path!("/console/:tenant/:env/audit")
                    view=pages::audit::AuditTrail
                />
                <Route
                    path=path!("/console/:tenant/:env/settings")
                    view=pages::settings::EnvironmentSettings
                />
            </Routes>
        </Router>
    }
}
