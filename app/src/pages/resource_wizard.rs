//! The "OAuth 2.0 — Resource (API)" wizard: display name, technical name and scopes.

use fennec_core::rules;
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use wasm_bindgen::JsCast;

use crate::api::{create_resource, load_environment_urls};
use crate::components::{
    server_field_error, technical_name_error, use_tenant_env, ConsoleFrame, FormError, TextField,
    PRIMARY_BUTTON, SECONDARY_BUTTON,
};

/// Registers a new resource.
#[component]
pub fn ResourceWizard() -> impl IntoView {
    view! {
        <ConsoleFrame>
            <ResourceForm />
        </ConsoleFrame>
    }
}

/// One row of the scopes editor; the id keeps rows apart while they are edited.
#[derive(Clone)]
struct ScopeRow {
    id: usize,
    value: RwSignal<String>,
}

#[component]
fn ResourceForm() -> impl IntoView {
    let (tenant, env) = use_tenant_env();
    let display_name = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let show_advanced = RwSignal::new(false);
    let next_id = StoredValue::new(1usize);
    let rows = RwSignal::new(vec![ScopeRow {
        id: 0,
        value: RwSignal::new(String::new()),
    }]);
    let urls = Resource::new(
        move || (tenant.get(), env.get()),
        |(t, e)| load_environment_urls(t, e),
    );
    let navigate = use_navigate();

    let action = Action::new(
        move |input: &(String, String, String, String, Vec<String>)| {
            let (t, e, d, n, s) = input.clone();
            create_resource(t, e, d, n, s)
        },
    );
    let list_url = move || format!("/console/{}/{}/applications", tenant.get(), env.get());
    Effect::new(move |_| {
        if let Some(Ok(_)) = action.value().get() {
            navigate(&list_url(), Default::default());
        }
    });
    let error = Signal::derive(move || action.value().get().and_then(Result::err));
    let server_field = move |field: &'static str| server_field_error(error, field);

    let scopes = move || {
        rows.get()
            .iter()
            .map(|r| r.value.get().trim().to_string())
            .collect::<Vec<_>>()
    };
    let scopes_problem = Signal::derive(move || {
        let list = scopes();
        let typed = list.iter().any(|s| !s.is_empty());
        match rules::check_scope_list(&list) {
            Err(e) if typed => Some(e.to_string()),
            _ => None,
        }
    });
    let name_problem = technical_name_error(name, server_field("name"));
    let shown_name = move || match rules::normalize_name(&name.get()) {
        Ok(n) => n,
        Err(_) => "(generated name)".to_string(),
    };

    let add_row = move |_| {
        let id = next_id.get_value();
        next_id.set_value(id + 1);
        rows.update(|r| {
            r.push(ScopeRow {
                id,
                value: RwSignal::new(String::new()),
            })
        });
        // Keyboard users continue in the row they just added.
        request_animation_frame(move || {
            if let Some(input) = document().get_element_by_id(&format!("scope-{id}")) {
                if let Ok(input) = input.dyn_into::<web_sys::HtmlElement>() {
                    let _ = input.focus();
                }
            }
        });
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        action.dispatch((
            tenant.get(),
            env.get(),
            display_name.get(),
            name.get(),
            scopes(),
        ));
    };

    view! {
        <h1 class="mb-4 text-2xl font-semibold">"New OAuth 2.0 resource (API)"</h1>
        <form on:submit=submit novalidate class="grid gap-6 md:grid-cols-[2fr_1fr]">
            <div>
                <FormError error />
                <TextField label="Display name" value=display_name error=server_field("display_name") />
                <label class="mb-4 flex items-center gap-2 text-sm">
                    <input type="checkbox" bind:checked=show_advanced />
                    "Show advanced"
                </label>
                <Show when=move || show_advanced.get()>
                    <TextField label="Technical name" value=name error=name_problem
                        hint="The audience of the tokens. Left blank, a name is generated." />
                </Show>
                <fieldset class="mb-4">
                    <legend class="mb-2 text-sm font-medium">"Scopes"</legend>
                    <For each=move || rows.get() key=|r| r.id let:row>
                        <ScopeRowEditor row=row.clone() rows />
                    </For>
                    <p class="text-sm text-red-700" role="alert" data-testid="scopes-error">
                        {move || scopes_problem.get().or_else(|| server_field("scopes").get()).unwrap_or_default()}
                    </p>
                    <button type="button" class=SECONDARY_BUTTON on:click=add_row>"Add scope"</button>
                </fieldset>
                <div class="flex gap-3">
                    <button type="submit" class=PRIMARY_BUTTON disabled=move || action.pending().get()>"Create"</button>
                    <a class=SECONDARY_BUTTON href=list_url>"Cancel"</a>
                </div>
            </div>
            <aside class="h-fit rounded border border-slate-200 bg-white p-4 text-sm shadow-sm" aria-label="Summary" data-testid="resource-summary">
                <h2 class="mb-2 font-semibold">"Summary"</h2>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        match urls.await {
                            Ok(u) => view! {
                                <div class="mb-2"><div class="font-medium">"Authority"</div><code class="break-all">{u.authority}</code></div>
                                <div class="mb-2"><div class="font-medium">"Metadata URL"</div><code class="break-all">{u.metadata_url}</code></div>
                            }.into_any(),
                            Err(e) => view! { <p class="mb-2 text-red-700" role="alert">{e.summary()}</p> }.into_any(),
                        }
                    })}
                </Suspense>
                <div class="font-medium">"Client requests scopes"</div>
                <ul class="list-inside list-disc" data-testid="requestable-scopes">
                    {move || requestable(scopes()).into_iter().map(|s| view! {
                        <li><code>{format!("{}:{s}", shown_name())}</code></li>
                    }).collect_view()}
                </ul>
            </aside>
        </form>
    }
}

/// The scopes a summary can promise: valid ones, each once, in the order typed.
fn requestable(scopes: Vec<String>) -> Vec<String> {
    let mut shown: Vec<String> = Vec::new();
    for scope in scopes {
        if rules::check_scope(&scope).is_ok() && !shown.contains(&scope) {
            shown.push(scope);
        }
    }
    shown
}

#[component]
fn ScopeRowEditor(row: ScopeRow, rows: RwSignal<Vec<ScopeRow>>) -> impl IntoView {
    let id = row.id;
    let value = row.value;
    let input_id = format!("scope-{id}");
    let error_id = format!("scope-{id}-error");
    let problem = move || {
        let v = value.get();
        match v.trim().is_empty() {
            true => None,
            false => rules::check_scope(v.trim()).err().map(|e| e.to_string()),
        }
    };
    let position = move || {
        rows.get()
            .iter()
            .position(|r| r.id == id)
            .map(|p| p + 1)
            .unwrap_or(0)
    };
    view! {
        <div class="mb-2 flex items-start gap-2">
            <label for=input_id.clone() class="w-20 pt-2 text-sm">{move || format!("Scope {}", position())}</label>
            <div class="flex-1">
                <input
                    id=input_id
                    type="text"
                    class="w-full rounded border border-slate-300 px-3 py-2 focus:outline-none focus:ring-2 focus:ring-sky-300"
                    aria-invalid=move || problem().is_some().to_string()
                    aria-describedby=error_id.clone()
                    bind:value=value
                />
                <p id=error_id class="text-xs text-red-700">{problem}</p>
            </div>
            <button
                type="button"
                class=SECONDARY_BUTTON
                aria-label=move || format!("Remove scope {}", position())
                disabled=move || rows.get().len() <= 1
                on:click=move |_| rows.update(|r| r.retain(|x| x.id != id))
            >
                "Remove"
            </button>
        </div>
    }
}
