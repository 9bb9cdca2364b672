//! `/console/{tenant}/{env}/applications`: the registrations of an environment.

use fennec_core::views::{ApplicationKind, ApplicationSummary};
use leptos::html;
use leptos::prelude::*;

use crate::api::list_applications;
use crate::components::{use_tenant_env, ConsoleFrame, PRIMARY_BUTTON, SECONDARY_BUTTON};

/// The Applications list with its filter and the "New application" dialog.
#[component]
pub fn Applications() -> impl IntoView {
    view! {
        <ConsoleFrame>
            <ApplicationList />
        </ConsoleFrame>
    }
}

#[component]
fn ApplicationList() -> impl IntoView {
    let (tenant, env) = use_tenant_env();
    let apps = Resource::new(
        move || (tenant.get(), env.get()),
        |(t, e)| list_applications(t, e),
    );
    let filter = RwSignal::new(String::new());
    let dialog_open = RwSignal::new(false);
    let new_button = NodeRef::<html::Button>::new();
    // A filter typed for one environment would hide the next one's registrations.
    Effect::new(move |_| {
        env.track();
        filter.set(String::new());
    });
    let close_dialog = move || {
        dialog_open.set(false);
        if let Some(button) = new_button.get_untracked() {
            let _ = button.focus();
        }
    };

    view! {
        <div class="mb-4 flex flex-wrap items-end gap-4">
            <h1 class="text-2xl font-semibold">"Applications"</h1>
            <label class="ml-auto flex flex-col text-sm">
                "Filter applications"
                <input
                    type="search"
                    class="mt-1 rounded border border-slate-300 px-3 py-2 focus:outline-none focus:ring-2 focus:ring-sky-300"
                    bind:value=filter
                />
            </label>
            <button
                type="button"
                class=PRIMARY_BUTTON
                node_ref=new_button
                on:click=move |_| dialog_open.set(true)
            >
                "New application"
            </button>
        </div>
        <Show when=move || dialog_open.get()>
            <NewApplicationDialog on_close=close_dialog />
        </Show>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match apps.await {
                    Ok(list) => view! { <ApplicationTable list filter /> }.into_any(),
                    Err(e) => view! { <p role="alert" class="text-red-700">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn ApplicationTable(list: Vec<ApplicationSummary>, filter: RwSignal<String>) -> impl IntoView {
    let (tenant, env) = use_tenant_env();
    if list.is_empty() {
        return view! {
            <p class="rounded border border-dashed border-slate-300 p-6 text-slate-600">
                "No applications yet. Use \"New application\" to register a resource or a client."
            </p>
        }
        .into_any();
    }
    let visible = move || {
        let needle = filter.get().trim().to_lowercase();
        list.iter()
            .filter(|a| {
                needle.is_empty()
                    || a.name.contains(&needle)
                    || a.display_name.to_lowercase().contains(&needle)
            })
            .cloned()
            .collect::<Vec<_>>()
    };
    view! {
        <table class="w-full border-collapse overflow-hidden rounded bg-white shadow-sm">
            <thead class="bg-slate-100 text-left text-sm">
                <tr>
                    <th class="px-3 py-2">"Name"</th>
                    <th class="px-3 py-2">"Technical name"</th>
                    <th class="px-3 py-2">"Type"</th>
                    <th class="px-3 py-2">"Details"</th>
                </tr>
            </thead>
            <tbody>
                <For each=visible key=|a| a.name.clone() let:app>
                    <tr class="border-t border-slate-200 text-sm" data-testid=format!("application-{}", app.name)>
                        <td class="px-3 py-2 font-medium">
                            {if fennec_core::rules::is_control_resource(&env.get_untracked(), &app.name) {
                                // Automation depends on it staying as it is: nothing to edit.
                                view! {
                                    <span>{app.display_name.clone()}</span>
                                    " "
                                    <span class="rounded bg-slate-200 px-1.5 py-0.5 text-xs text-slate-700" data-testid="built-in">"Built in"</span>
                                }.into_any()
                            } else {
                                view! {
                                    <a class="text-sky-800 underline hover:text-sky-600 focus:outline-none focus:ring-2 focus:ring-sky-300"
                                        href=format!("/console/{}/{}/applications/{}", tenant.get_untracked(), env.get_untracked(), app.name)>
                                        {app.display_name.clone()}
                                    </a>
                                }.into_any()
                            }}
                        </td>
                        <td class="px-3 py-2"><code>{app.name.clone()}</code></td>
                        <td class="px-3 py-2"><KindBadge kind=app.kind /></td>
                        <td class="px-3 py-2 text-slate-600">
                            {if app.requestable_scopes.is_empty() {
                                app.token_url.clone().unwrap_or_default()
                            } else {
                                app.requestable_scopes.join(", ")
                            }}
                        </td>
                    </tr>
                </For>
            </tbody>
        </table>
    }
    .into_any()
}

#[component]
fn KindBadge(kind: ApplicationKind) -> impl IntoView {
    let colours = match kind {
        ApplicationKind::Resource => "bg-emerald-100 text-emerald-900",
        ApplicationKind::Client => "bg-sky-100 text-sky-900",
        ApplicationKind::ClientAndResource => "bg-violet-100 text-violet-900",
    };
    view! {
        <span class=format!("rounded px-2 py-0.5 text-xs font-medium {colours}")>{kind.label()}</span>
    }
}

/// The "New application" choice of registration type. Escape or Cancel closes it; Tab
/// stays inside it while it is open.
#[component]
fn NewApplicationDialog(on_close: impl Fn() + Clone + Send + Sync + 'static) -> impl IntoView {
    let (tenant, env) = use_tenant_env();
    let first_choice = NodeRef::<html::A>::new();
    let cancel = NodeRef::<html::Button>::new();
    Effect::new(move |_| {
        if let Some(link) = first_choice.get() {
            let _ = link.focus();
        }
    });
    let on_keydown = {
        let on_close = on_close.clone();
        move |ev: leptos::ev::KeyboardEvent| match ev.key().as_str() {
            "Escape" => on_close(),
            "Tab" => {
                let (Some(first), Some(last)) = (first_choice.get(), cancel.get()) else {
                    return;
                };
                let active = document().active_element();
                let on_first = active.as_ref() == Some(first.as_ref());
                let on_last = active.as_ref() == Some(last.as_ref());
                if ev.shift_key() && on_first {
                    ev.prevent_default();
                    let _ = last.focus();
                } else if !ev.shift_key() && on_last {
                    ev.prevent_default();
                    let _ = first.focus();
                }
            }
            _ => {}
        }
    };
    let base = move || format!("/console/{}/{}/applications", tenant.get(), env.get());
    let in_master = move || env.get() == "master";

    view! {
        <div
            class="fixed inset-0 z-10 flex items-center justify-center bg-slate-900/40 p-4"
            on:keydown=on_keydown
        >
            <div
                role="dialog"
                aria-modal="true"
                aria-labelledby="new-application-title"
                class="w-full max-w-lg rounded-lg bg-white p-6 shadow-xl"
            >
                <h2 id="new-application-title" class="mb-4 text-xl font-semibold">"New application"</h2>
                <div class="grid gap-3">
                    <a
                        node_ref=first_choice
                        href=move || format!("{}/new-client", base())
                        class="rounded border border-slate-300 p-4 hover:border-sky-500 hover:bg-sky-50 focus:outline-none focus:ring-2 focus:ring-sky-300"
                    >
                        <div class="font-medium">"OAuth 2.0 — Client Credentials Grant"</div>
                        <div class="text-sm text-slate-600">"A backend service that gets access tokens for APIs."</div>
                    </a>
                    <Show
                        when=move || !in_master()
                        fallback=|| view! {
                            <p class="text-sm text-slate-600">
                                "The master environment holds only clients that automate Fennec; register APIs in another environment."
                            </p>
                        }
                    >
                        <a
                            href=move || format!("{}/new-resource", base())
                            class="rounded border border-slate-300 p-4 hover:border-sky-500 hover:bg-sky-50 focus:outline-none focus:ring-2 focus:ring-sky-300"
                        >
                            <div class="font-medium">"OAuth 2.0 — Resource (API)"</div>
                            <div class="text-sm text-slate-600">"An API that accepts access tokens, with its scopes."</div>
                        </a>
                    </Show>
                </div>
                <div class="mt-4 text-right">
                    <button type="button" class=SECONDARY_BUTTON node_ref=cancel on:click=move |_| on_close()>"Cancel"</button>
                </div>
            </div>
        </div>
    }
}
