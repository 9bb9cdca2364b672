//! `/console/{tenant}/{env}/audit`: every change made to the tenant, newest first.

use leptos::prelude::*;

use crate::api::load_audit_trail;
use crate::components::{format_timestamp, use_tenant_env, ConsoleFrame, SECONDARY_BUTTON};

/// The tenant's audit trail with a filter by registration.
#[component]
pub fn AuditTrail() -> impl IntoView {
    view! {
        <ConsoleFrame>
            <AuditList />
        </ConsoleFrame>
    }
}

#[component]
fn AuditList() -> impl IntoView {
    let (tenant, _env) = use_tenant_env();
    let typed = RwSignal::new(String::new());
    let applied = RwSignal::new(String::new());
    let entries = Resource::new(
        move || (tenant.get(), applied.get()),
        |(t, target)| load_audit_trail(t, Some(target).filter(|s| !s.trim().is_empty())),
    );
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        applied.set(typed.get().trim().to_lowercase());
    };

    view! {
        <h1 class="mb-4 text-2xl font-semibold">"Audit trail"</h1>
        <form on:submit=submit class="mb-4 flex items-end gap-3">
            <label class="flex flex-col text-sm">
                "Registration"
                <input type="search" bind:value=typed placeholder="technical name, or part of it"
                    class="mt-1 rounded border border-slate-300 px-3 py-2 focus:outline-none focus:ring-2 focus:ring-sky-300" />
            </label>
            <button type="submit" class=SECONDARY_BUTTON>"Filter"</button>
        </form>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match entries.await {
                    Ok(list) if list.is_empty() => view! { <p>"No changes recorded."</p> }.into_any(),
                    Ok(list) => view! {
                        <table class="w-full border-collapse rounded bg-white text-sm shadow-sm">
                            <thead class="bg-slate-100 text-left">
                                <tr>
                                    <th class="px-3 py-2">"When"</th>
                                    <th class="px-3 py-2">"Who"</th>
                                    <th class="px-3 py-2">"Environment"</th>
                                    <th class="px-3 py-2">"What"</th>
                                    <th class="px-3 py-2">"Registration"</th>
                                    <th class="px-3 py-2">"Details"</th>
                                </tr>
                            </thead>
                            <tbody data-testid="audit-entries">
                                {list.into_iter().map(|e| view! {
                                    <tr class="border-t border-slate-200">
                                        <td class="px-3 py-2 whitespace-nowrap">{format_timestamp(e.at)}</td>
                                        <td class="px-3 py-2">{e.actor}</td>
                                        <td class="px-3 py-2"><code>{e.environment.unwrap_or_default()}</code></td>
                                        <td class="px-3 py-2"><code>{e.action}</code></td>
                                        <td class="px-3 py-2"><code>{e.target.unwrap_or_default()}</code></td>
                                        <td class="px-3 py-2 text-slate-700">{e.detail}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                    Err(e) => view! { <p role="alert" class="text-red-700">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}
