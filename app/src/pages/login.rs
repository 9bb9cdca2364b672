//! `/console/login`: the administrator's sign-in form.

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

use crate::api::sign_in;
use crate::components::{mark_hydrated, FormError, TextField, PRIMARY_BUTTON};

/// Username and password sign-in.
#[component]
pub fn Login() -> impl IntoView {
    mark_hydrated();
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let action = Action::new(|(u, p): &(String, String)| sign_in(u.clone(), p.clone()));
    let navigate = use_navigate();

    Effect::new(move |_| {
        if let Some(Ok(())) = action.value().get() {
            navigate("/console", Default::default());
        }
    });
    let error = Signal::derive(move || action.value().get().and_then(Result::err));
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        action.dispatch((username.get(), password.get()));
    };

    view! {
        <main class="mx-auto max-w-sm px-4 py-16">
            <h1 class="mb-6 text-2xl font-semibold">"Sign in to Fennec"</h1>
            <form on:submit=submit novalidate>
                <FormError error />
                <TextField label="Username" value=username error=Signal::derive(|| None::<String>) autocomplete="username" />
                <TextField label="Password" value=password input_type="password" error=Signal::derive(|| None::<String>) autocomplete="current-password" />
                <button type="submit" class=PRIMARY_BUTTON disabled=move || action.pending().get()>
                    "Sign in"
                </button>
            </form>
        </main>
    }
}
