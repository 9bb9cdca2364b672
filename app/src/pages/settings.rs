//! The environment's settings page: how strictly client assertions name their audience.

use leptos::prelude::*;

use crate::api::{load_strict_assertion_audience, save_strict_assertion_audience};
use crate::components::{use_tenant_env, ConsoleFrame, FormError, PRIMARY_BUTTON};

/// Settings of the environment named by the URL.
#[component]
pub fn EnvironmentSettings() -> impl IntoView {
    view! {
        <ConsoleFrame>
            <SettingsForm />
        </ConsoleFrame>
    }
}

#[component]
fn SettingsForm() -> impl IntoView {
    let (tenant, env) = use_tenant_env();
    let saved = Resource::new(
        move || (tenant.get(), env.get()),
        |(t, e)| load_strict_assertion_audience(t, e),
    );
    let strict = RwSignal::new(false);
    Effect::new(move |_| {
        if let Some(Ok(value)) = saved.get() {
            strict.set(value);
        }
    });
    let save = Action::new(move |value: &bool| {
        save_strict_assertion_audience(tenant.get_untracked(), env.get_untracked(), *value)
    });
    let error = Signal::derive(move || save.value().get().and_then(Result::err));
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        save.dispatch(strict.get());
    };

    view! {
        <h1 class="mb-4 text-2xl font-semibold">"Environment settings"</h1>
        <form on:submit=submit class="max-w-2xl">
            <FormError error />
            <fieldset class="mb-4 rounded border border-slate-200 bg-white p-4">
                <legend class="px-1 text-sm font-medium">"Client assertions (private key JWT)"</legend>
                <label class="flex items-start gap-2 text-sm">
                    <input type="checkbox" class="mt-1" bind:checked=strict />
                    <span>
                        "Strict audience: accept only the issuer, as a plain string, as an assertion's aud"
                        <span class="block text-xs text-slate-500">
                            "Off, the issuer or the token endpoint URL is accepted, also as a one-element array. On follows RFC 7523bis and FAPI 2.0."
                        </span>
                    </span>
                </label>
            </fieldset>
            <div class="flex items-center gap-3">
                <button type="submit" class=PRIMARY_BUTTON disabled=move || save.pending().get()>"Save"</button>
                <span role="status" class="text-sm text-green-800" data-testid="settings-status">
                    {move || matches!(save.value().get(), Some(Ok(()))).then_some("Saved.")}
                </span>
            </div>
        </form>
    }
}
