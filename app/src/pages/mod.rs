//! The console's pages, one module each.

pub mod application_edit;
pub mod applications;
pub mod audit;
pub mod certificates;
pub mod client_wizard;
pub mod home;
pub mod login;
pub mod resource_wizard;
pub mod settings;
pub mod setup;

use leptos::prelude::*;

/// Shown for any URL the console does not know.
#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <main class="mx-auto max-w-xl px-4 py-16">
            <h1 class="mb-2 text-2xl font-semibold">"Page not found"</h1>
            <a class="text-sky-700 underline" href="/console">"Go to the console"</a>
        </main>
    }
}
