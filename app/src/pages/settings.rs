//! The environment's settings page: its signing keys and their rotation, how strictly client
//! assertions name their audience, its display name, and new environments and tenants.

use fennec_core::views::SigningKeyView;
use leptos::prelude::*;

use crate::api::{
    create_environment, create_tenant, list_signing_keys, load_console_state,
    load_strict_assertion_audience, rename_environment, rotate_signing_key,
    save_strict_assertion_audience,
};
use crate::components::{
    format_timestamp, server_field_error, use_tenant_env, ConsoleFrame, FormError, TextField,
    PRIMARY_BUTTON, SECONDARY_BUTTON,
};

/// Settings of the environment named by the URL.
#[component]
pub fn EnvironmentSettings() -> impl IntoView {
    view! {
        <ConsoleFrame>
            <SettingsForm />
            <SigningKeys />
            <Environments />
        </ConsoleFrame>
    }
}

/// Longest grace period the form offers: the 30 days the server allows.
const MAX_GRACE_MINUTES: i64 = 30 * 24 * 60;

/// The published signing keys and the "Rotate" form (SPEC 5.1).
#[component]
fn SigningKeys() -> impl IntoView {
    let (tenant, env) = use_tenant_env();
    let rotate = Action::new(move |input: &(String, i64)| {
        rotate_signing_key(
            tenant.get_untracked(),
            env.get_untracked(),
            Some(input.0.clone()),
            Some(input.1),
        )
    });
    let keys = Resource::new(
        move || (tenant.get(), env.get(), rotate.version().get()),
        |(t, e, _)| list_signing_keys(t, e),
    );
    let alg = RwSignal::new("RS256".to_string());
    let grace_minutes = RwSignal::new("1440".to_string());
    let at_once = RwSignal::new(false);
    let error = Signal::derive(move || rotate.value().get().and_then(Result::err));
    let grace_error = RwSignal::new(None::<String>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let grace = match at_once.get() {
            true => Some(0),
            false => grace_minutes
                .get()
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|m| (0..=MAX_GRACE_MINUTES).contains(m))
                .map(|m| m * 60),
        };
        match grace {
            Some(secs) => {
                grace_error.set(None);
                rotate.dispatch((alg.get(), secs));
            }
            None => grace_error.set(Some(format!(
                "Give the grace period in whole minutes, 0 to {MAX_GRACE_MINUTES}."
            ))),
        }
    };

    view! {
        <section class="mt-8 max-w-3xl" aria-labelledby="keys-title">
            <h2 id="keys-title" class="mb-2 text-xl font-semibold">"Signing keys"</h2>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match keys.await {
                        Ok(list) => view! { <KeyTable list /> }.into_any(),
                        Err(e) => view! { <p role="alert" class="text-red-700">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
            <form on:submit=submit class="mt-4 rounded border border-slate-200 bg-white p-4">
                <FormError error=Signal::derive(move || error.get().filter(|e| e.field("grace").is_none())) />
                <p class="mb-2 text-sm text-red-700" role="alert" data-testid="rotate-error">
                    {move || error.get().and_then(|e| e.field("rotation").or_else(|| e.field("alg")))}
                </p>
                <label class="mb-4 block text-sm font-medium">
                    "Algorithm of the new key"
                    <select class="mt-1 block rounded border border-slate-300 px-3 py-2"
                        on:change=move |ev| alg.set(event_target_value(&ev))>
                        <option value="RS256" selected=true>"RS256 (RSA 2048)"</option>
                        <option value="ES256">"ES256 (P-256)"</option>
                    </select>
                </label>
                <TextField label="Grace period (minutes)" value=grace_minutes input_type="number"
                    hint="The new key is published at once and signs after this wait (1440 minutes is a day), so that resource servers caching the keys fetch it first."
                    error=Signal::derive(move || grace_error.get().or_else(|| server_field_error(error, "grace").get())) />
                <label class="mb-4 flex items-center gap-2 text-sm">
                    <input type="checkbox" bind:checked=at_once />
                    "Sign with the new key at once"
                </label>
                <button type="submit" class=PRIMARY_BUTTON disabled=move || rotate.pending().get()>"Rotate"</button>
                <span role="status" class="ml-3 text-sm text-green-800" data-testid="rotate-status">
                    {move || rotate.value().get().and_then(Result::ok).map(|k| format!("Key {} published.", k.kid))}
                </span>
            </form>
        </section>
    }
}

#[component]
fn KeyTable(list: Vec<SigningKeyView>) -> impl IntoView {
    view! {
        <table class="w-full border-collapse rounded bg-white text-sm shadow-sm">
            <thead class="bg-slate-100 text-left">
                <tr>
                    <th class="px-3 py-2">"Key ID"</th>
                    <th class="px-3 py-2">"Algorithm"</th>
                    <th class="px-3 py-2">"Created"</th>
                    <th class="px-3 py-2">"State"</th>
                </tr>
            </thead>
            <tbody data-testid="signing-keys">
                {list.into_iter().map(|k| {
                    let state = match k.state.as_str() {
                        "primary" => "signs tokens".to_string(),
                        "next" => format!("published, signs from {}", k.activates_at.map(format_timestamp).unwrap_or_default()),
                        _ => format!("retired, published until {}", k.retires_at.map(format_timestamp).unwrap_or_default()),
                    };
                    view! {
                        <tr class="border-t border-slate-200" data-testid=format!("key-{}", k.state)>
                            <td class="px-3 py-2"><code>{k.kid}</code></td>
                            <td class="px-3 py-2">{k.alg}</td>
                            <td class="px-3 py-2">{format_timestamp(k.created_at)}</td>
                            <td class="px-3 py-2">{state}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// The environment's display name, a new environment, and a new tenant.
#[component]
fn Environments() -> impl IntoView {
    let (tenant, env) = use_tenant_env();
    let shown_as = RwSignal::new(String::new());
    let state = Resource::new(move || tenant.get(), load_console_state);
    Effect::new(move |_| {
        if let Some(Ok(state)) = state.get() {
            let current = env.get();
            if let Some(e) = state.environments.iter().find(|e| e.name == current) {
                shown_as.set(e.display_name.clone());
            }
        }
    });
    let rename = Action::new(move |name: &String| {
        rename_environment(tenant.get_untracked(), env.get_untracked(), name.clone())
    });
    let new_name = RwSignal::new(String::new());
    let new_display = RwSignal::new(String::new());
    let create = Action::new(move |input: &(String, String)| {
        create_environment(tenant.get_untracked(), input.0.clone(), input.1.clone())
    });
    let tenant_name = RwSignal::new(String::new());
    let add_tenant = Action::new(move |name: &String| create_tenant(name.clone()));
    Effect::new(move |_| {
        if let Some(Ok(created)) = create.value().get() {
            let url = format!(
                "/console/{}/{}/applications",
                tenant.get_untracked(),
                created.name
            );
            let _ = window().location().set_href(&url);
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(created)) = add_tenant.value().get() {
            let _ = window()
                .location()
                .set_href(&format!("/console/{created}/-/applications"));
        }
    });
    let rename_error = Signal::derive(move || rename.value().get().and_then(Result::err));
    let create_error = Signal::derive(move || create.value().get().and_then(Result::err));
    let tenant_error = Signal::derive(move || add_tenant.value().get().and_then(Result::err));

    view! {
        <section class="mt-8 max-w-3xl" aria-labelledby="environments-title">
            <h2 id="environments-title" class="mb-2 text-xl font-semibold">"Environments and tenants"</h2>
            <form class="mb-4 rounded border border-slate-200 bg-white p-4"
                on:submit=move |ev| { ev.prevent_default(); rename.dispatch(shown_as.get()); }>
                <TextField label="Environment display name" value=shown_as error=server_field_error(rename_error, "display_name") />
                <button type="submit" class=SECONDARY_BUTTON>"Rename environment"</button>
                <span role="status" class="ml-3 text-sm text-green-800">
                    {move || rename.value().get().and_then(Result::ok).map(|e| format!("Now shown as {}.", e.display_name))}
                </span>
                <FormError error=Signal::derive(move || rename_error.get().filter(|e| e.field("display_name").is_none())) />
            </form>
            <form class="mb-4 rounded border border-slate-200 bg-white p-4"
                on:submit=move |ev| { ev.prevent_default(); create.dispatch((new_name.get(), new_display.get())); }>
                <TextField label="New environment name" value=new_name hint="For example test: a-z, 0-9, _ and -."
                    error=server_field_error(create_error, "name") />
                <TextField label="New environment display name" value=new_display error=server_field_error(create_error, "display_name") />
                <button type="submit" class=SECONDARY_BUTTON disabled=move || create.pending().get()>"Create environment"</button>
            </form>
            <form class="rounded border border-slate-200 bg-white p-4"
                on:submit=move |ev| { ev.prevent_default(); add_tenant.dispatch(tenant_name.get()); }>
                <TextField label="New tenant name" value=tenant_name error=server_field_error(tenant_error, "tenant") />
                <button type="submit" class=SECONDARY_BUTTON disabled=move || add_tenant.pending().get()>"Create tenant"</button>
            </form>
        </section>
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
