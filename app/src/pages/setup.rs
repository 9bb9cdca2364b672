//! `/console/setup?token=…`: the one-time page that creates the first administrator and tenant.

use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::api::{complete_setup, setup_link_status};
use crate::components::{mark_hydrated, server_field_error, FormError, TextField, PRIMARY_BUTTON};

/// First-start setup, reachable only through the link the server logged.
#[component]
pub fn Setup() -> impl IntoView {
    mark_hydrated();
    let query = use_query_map();
    let token = Memo::new(move |_| query.read().get("token").unwrap_or_default());
    let status = Resource::new(move || token.get(), setup_link_status);

    view! {
        <main class="mx-auto max-w-md px-4 py-16">
            <h1 class="mb-6 text-2xl font-semibold">"Set up Fennec"</h1>
            <Suspense fallback=|| view! { <p>"Checking the setup link…"</p> }>
                {move || Suspend::new(async move {
                    match status.await {
                        Ok(true) => view! { <SetupForm token=token.get_untracked() /> }.into_any(),
                        Ok(false) => view! {
                            <p role="alert" class="rounded border border-red-300 bg-red-50 px-3 py-2 text-red-800">
                                "This setup link is not valid or was already used. Sign in instead."
                            </p>
                            <a class="mt-4 inline-block text-sky-700 underline" href="/console/login">"Sign in"</a>
                        }.into_any(),
                        Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </main>
    }
}

#[component]
fn SetupForm(token: String) -> impl IntoView {
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let tenant = RwSignal::new(String::new());
    let action = Action::new(move |(t, u, p, n): &(String, String, String, String)| {
        complete_setup(t.clone(), u.clone(), p.clone(), n.clone())
    });
    let navigate = use_navigate();

    Effect::new(move |_| {
        if let Some(Ok(tenant)) = action.value().get() {
            navigate(
                &format!("/console/{tenant}/-/applications"),
                Default::default(),
            );
        }
    });
    let error = Signal::derive(move || action.value().get().and_then(Result::err));
    let field = move |name: &'static str| server_field_error(error, name);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        action.dispatch((token.clone(), username.get(), password.get(), tenant.get()));
    };

    view! {
        <p class="mb-4 text-slate-600">
            "Create the first administrator and the first tenant. The tenant starts with the environments Production and master."
        </p>
        <form on:submit=submit novalidate>
            <FormError error />
            <TextField label="Username" value=username error=field("username") autocomplete="username"
                hint="1 to 50 characters: a-z, 0-9, _ and -." />
            <TextField label="Password" value=password input_type="password" error=field("password")
                autocomplete="new-password" hint="At least 12 characters." />
            <TextField label="Tenant name" value=tenant error=field("tenant")
                hint="1 to 50 characters: a-z, 0-9, _ and -." />
            <button type="submit" class=PRIMARY_BUTTON disabled=move || action.pending().get()>
                "Create administrator"
            </button>
        </form>
    }
}
