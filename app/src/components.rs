//! Small building blocks shared by the console's pages.

use fennec_core::rules;
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_params_map};

use crate::api::{load_console_state, sign_out, ConsoleState};
use crate::error::ConsoleError;

/// The tenant and environment named by the current URL.
pub fn use_tenant_env() -> (Memo<String>, Memo<String>) {
    let params = use_params_map();
    let tenant = Memo::new(move |_| params.read().get("tenant").unwrap_or_default());
    let env = Memo::new(move |_| params.read().get("env").unwrap_or_else(|| "-".into()));
    (tenant, env)
}

/// Marks the document once the WASM has taken over, so that tests know the page is live.
pub fn mark_hydrated() {
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
}

/// The console header (tenant, environment selector, sign-out) around a page.
#[component]
pub fn ConsoleFrame(children: ChildrenFn) -> impl IntoView {
    mark_hydrated();
    let (tenant, env) = use_tenant_env();
    let state = Resource::new(move || tenant.get(), load_console_state);
    let navigate = use_navigate();
    let sign_out_action = Action::new(|_: &()| sign_out());

    let nav = navigate.clone();
    Effect::new(move |_| {
        if let Some(Err(ConsoleError::SignedOut)) = state.get() {
            nav("/console/login", Default::default());
        }
    });
    let nav = navigate.clone();
    Effect::new(move |_| {
        if let Some(Ok(())) = sign_out_action.value().get() {
            nav("/console/login", Default::default());
        }
    });

    // Full page loads, so that an edit view with unsaved changes can warn first.
    let switch_tenant = move |ev: leptos::ev::Event| {
        let url = format!("/console/{}/-/applications", event_target_value(&ev));
        let _ = window().location().set_href(&url);
    };
    let switch_env = move |ev: leptos::ev::Event| {
        let chosen = event_target_value(&ev);
        let url = format!("/console/{}/{}/applications", tenant.get(), chosen);
        let _ = window().location().set_href(&url);
    };

    view! {
        <header class="bg-slate-900 text-white">
            <div class="mx-auto flex max-w-5xl flex-wrap items-center gap-4 px-4 py-3">
                <a href="/console" class="text-lg font-semibold">"Fennec"</a>
                <Suspense fallback=move || view! {
                    <span class="rounded bg-slate-700 px-2 py-1 text-sm" data-testid="tenant-name">
                        "Tenant: " {move || tenant.get()}
                    </span>
                }>
                    {move || Suspend::new(async move {
                        let tenants = state.await.map(|s: ConsoleState| s.admin.tenants).unwrap_or_default();
                        let current = tenant.get();
                        if tenants.len() < 2 {
                            return view! {
                                <span class="rounded bg-slate-700 px-2 py-1 text-sm" data-testid="tenant-name">
                                    "Tenant: " {current}
                                </span>
                            }.into_any();
                        }
                        view! {
                            <label class="flex items-center gap-2 text-sm" data-testid="tenant-name">
                                "Tenant"
                                <select class="rounded bg-slate-800 px-2 py-1 text-white" on:change=switch_tenant>
                                    {tenants.into_iter().map(|t| {
                                        let selected = t == current;
                                        view! { <option value=t.clone() selected=selected>{t.clone()}</option> }
                                    }).collect_view()}
                                </select>
                            </label>
                        }.into_any()
                    })}
                </Suspense>
                <Suspense fallback=|| ()>
                    {move || {
                        Suspend::new(async move {
                        let environments = state.await.map(|s: ConsoleState| s.environments).unwrap_or_default();
                        let current = env.get();
                        view! {
                            <label class="flex items-center gap-2 text-sm">
                                "Environment"
                                <select
                                    class="rounded bg-slate-800 px-2 py-1 text-white"
                                    on:change=switch_env
                                >
                                    {environments
                                        .into_iter()
                                        .map(|e| {
                                            let selected = e.name == current;
                                            view! {
                                                <option value=e.name.clone() selected=selected>
                                                    {e.display_name}
                                                </option>
                                            }
                                        })
                                        .collect_view()}
                                </select>
                            </label>
                        }
                    })}}
                </Suspense>
                // Full page loads, so that an edit view with unsaved changes can warn first.
                <a
                    class="text-sm underline hover:text-sky-200 focus:outline-none focus:ring-2 focus:ring-sky-400"
                    rel="external"
                    href=move || format!("/console/{}/{}/applications", tenant.get(), env.get())
                >
                    "Applications"
                </a>
                <a
                    class="text-sm underline hover:text-sky-200 focus:outline-none focus:ring-2 focus:ring-sky-400"
                    rel="external"
                    href=move || format!("/console/{}/{}/settings", tenant.get(), env.get())
                >
                    "Environment settings"
                </a>
                <a
                    class="text-sm underline hover:text-sky-200 focus:outline-none focus:ring-2 focus:ring-sky-400"
                    rel="external"
                    href=move || format!("/console/{}/{}/audit", tenant.get(), env.get())
                >
                    "Audit trail"
                </a>
                <button
                    type="button"
                    class="ml-auto rounded border border-slate-500 px-3 py-1 text-sm hover:bg-slate-800 focus:outline-none focus:ring-2 focus:ring-sky-400"
                    on:click=move |_| {
                        sign_out_action.dispatch(());
                    }
                >
                    "Sign out"
                </button>
            </div>
        </header>
        <main class="mx-auto max-w-5xl px-4 py-6">{children()}</main>
    }
}

/// A labelled text input with an inline error message.
#[component]
pub fn TextField(
    label: &'static str,
    value: RwSignal<String>,
    #[prop(optional)] input_type: Option<&'static str>,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(into)] error: Signal<Option<String>>,
    #[prop(optional)] autocomplete: Option<&'static str>,
) -> impl IntoView {
    let id: String = format!("field-{}", label.to_lowercase())
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let error_id = format!("{id}-error");
    let hint_id = format!("{id}-hint");
    let described = match hint {
        Some(_) => format!("{error_id} {hint_id}"),
        None => error_id.clone(),
    };
    view! {
        <div class="mb-4">
            <label for=id.clone() class="mb-1 block text-sm font-medium">{label}</label>
            <input
                id=id
                type=input_type.unwrap_or("text")
                autocomplete=autocomplete.unwrap_or("off")
                class="w-full rounded border border-slate-300 px-3 py-2 focus:border-sky-500 focus:outline-none focus:ring-2 focus:ring-sky-300"
                aria-invalid=move || error.get().is_some().to_string()
                aria-describedby=described
                bind:value=value
            />
            {hint.map(|h| view! { <p id=hint_id class="mt-1 text-xs text-slate-500">{h}</p> })}
            <p id=error_id class="mt-1 text-sm text-red-700" role="alert">
                {move || error.get().unwrap_or_default()}
            </p>
        </div>
    }
}

/// A read-only value with a button that copies it to the clipboard.
#[component]
pub fn CopyValue(label: &'static str, value: String, test_id: &'static str) -> impl IntoView {
    let copied = RwSignal::new(false);
    let to_copy = value.clone();
    let copy = move |_| {
        let clipboard = window().navigator().clipboard();
        let _ = clipboard.write_text(&to_copy);
        copied.set(true);
    };
    view! {
        <div class="mb-3">
            <div class="text-sm font-medium">{label}</div>
            <div class="flex items-start gap-2">
                <code
                    class="block flex-1 break-all rounded bg-slate-100 px-2 py-1 text-sm"
                    data-testid=test_id
                >
                    {value}
                </code>
                <button
                    type="button"
                    class="rounded border border-slate-300 px-2 py-1 text-sm hover:bg-slate-100 focus:outline-none focus:ring-2 focus:ring-sky-300"
                    aria-label=format!("Copy {}", label.to_lowercase())
                    on:click=copy
                >
                    {move || if copied.get() { "Copied" } else { "Copy" }}
                </button>
            </div>
        </div>
    }
}

/// The red summary shown above a form that the server refused.
#[component]
pub fn FormError(#[prop(into)] error: Signal<Option<ConsoleError>>) -> impl IntoView {
    view! {
        <Show when=move || error.get().is_some()>
            <div class="mb-4 rounded border border-red-300 bg-red-50 px-3 py-2 text-sm text-red-800" role="alert" data-testid="form-error">
                {move || error.get().map(|e| e.summary()).unwrap_or_default()}
            </div>
        </Show>
    }
}

/// The server's message for one field of a refused form.
pub fn server_field_error(
    error: Signal<Option<ConsoleError>>,
    field: &'static str,
) -> Signal<Option<String>> {
    Signal::derive(move || error.get().and_then(|e| e.field(field)))
}

/// Feedback for an optional technical name: the naming rule while typing, else the server's.
pub fn technical_name_error(
    name: RwSignal<String>,
    server: Signal<Option<String>>,
) -> Signal<Option<String>> {
    Signal::derive(move || {
        let typed = name.get();
        if typed.trim().is_empty() {
            return server.get();
        }
        rules::normalize_name(&typed)
            .err()
            .map(|e| e.to_string())
            .or_else(|| server.get())
    })
}

/// The current time in seconds since 1970, from the browser's clock or the server's.
pub fn now_secs() -> i64 {
    #[cfg(target_arch = "wasm32")]
    {
        (js_sys::Date::now() / 1000.0) as i64
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default()
    }
}

/// A time in seconds since 1970 as `YYYY-MM-DD HH:MM UTC`.
pub fn format_timestamp(secs: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| secs.to_string())
}

/// Classes of the console's primary buttons.
pub const PRIMARY_BUTTON: &str = "rounded bg-sky-700 px-4 py-2 font-medium text-white hover:bg-sky-800 focus:outline-none focus:ring-2 focus:ring-sky-300 disabled:opacity-50";
/// Classes of the console's secondary buttons.
pub const SECONDARY_BUTTON: &str = "rounded border border-slate-300 bg-white px-4 py-2 hover:bg-slate-100 focus:outline-none focus:ring-2 focus:ring-sky-300";
