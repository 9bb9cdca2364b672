//! `/console`: sends the administrator to their first tenant's Production environment.

use leptos::prelude::*;
use leptos_router::components::Redirect;

use crate::api::current_admin;

/// Redirects to the first tenant's applications, or to the sign-in page.
#[component]
pub fn Home() -> impl IntoView {
    let admin = Resource::new(|| (), |_| current_admin());
    view! {
        <Suspense fallback=|| view! { <p class="p-8">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match admin.await {
                    Ok(admin) => match admin.tenants.first() {
                        Some(tenant) => {
                            view! { <Redirect path=format!("/console/{tenant}/-/applications") /> }
                                .into_any()
                        }
                        None => view! { <p class="p-8">"There is no tenant yet."</p> }.into_any(),
                    },
                    Err(_) => view! { <Redirect path="/console/login" /> }.into_any(),
                }
            })}
        </Suspense>
    }
}
