//! `/console/{tenant}/{env}/applications/{app}`: the edit view of one registration, with its
//! secrets, certificates and deletion.

use fennec_core::views::{ApplicationChanges, ApplicationDetails, CertificateView, SecretView};
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_params_map};

use crate::api::{
    add_client_certificate, add_client_secret, delete_application, load_application,
    remove_client_certificate, remove_client_secret, resource_options, save_application,
};
use crate::components::{
    format_timestamp, now_secs, server_field_error, use_tenant_env, ConsoleFrame, CopyValue,
    FormError, TextField, PRIMARY_BUTTON, SECONDARY_BUTTON,
};
use crate::error::ConsoleError;
use crate::pages::certificates::CertificateUpload;
use crate::pages::client_wizard::{grants_from_picker, GrantPicker, MethodSelect};

/// The edit view of the registration named by the URL.
#[component]
pub fn ApplicationEdit() -> impl IntoView {
    view! {
        <ConsoleFrame>
            <EditLoader />
        </ConsoleFrame>
    }
}

#[component]
fn EditLoader() -> impl IntoView {
    let (tenant, env) = use_tenant_env();
    let params = use_params_map();
    let app = Memo::new(move |_| params.read().get("app").unwrap_or_default());
    let details = Resource::new(
        move || (tenant.get(), env.get(), app.get()),
        |(t, e, a)| load_application(t, e, a),
    );
    view! {
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match details.await {
                    Ok(details) => view! { <EditForm details /> }.into_any(),
                    Err(e) => view! { <p role="alert" class="text-red-700">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// One row of the scopes editor.
#[derive(Clone)]
struct ScopeRow {
    id: usize,
    value: RwSignal<String>,
}

#[component]
fn EditForm(details: ApplicationDetails) -> impl IntoView {
    let (tenant, env) = use_tenant_env();
    let navigate = use_navigate();
    let original_name = details.name.clone();
    let was_client = details.auth_method.is_some();
    let display_name = RwSignal::new(details.display_name.clone());
    let name = RwSignal::new(details.name.clone());
    let notes = RwSignal::new(details.notes.clone());
    let show_advanced = RwSignal::new(false);
    let is_resource = RwSignal::new(!details.scopes.is_empty());
    let is_client = RwSignal::new(details.auth_method.is_some());
    let method = RwSignal::new(details.auth_method.unwrap_or_default());
    let lifetime = RwSignal::new(details.token_lifetime_secs.to_string());
    let enabled = RwSignal::new(details.client_credentials_enabled);
    let selected = RwSignal::new(
        details
            .grants
            .iter()
            .flat_map(|g| g.scopes.iter().map(|s| (g.resource.clone(), s.clone())))
            .collect::<Vec<_>>(),
    );
    let next_id = StoredValue::new(details.scopes.len() + 1);
    let rows = RwSignal::new(
        details
            .scopes
            .iter()
            .enumerate()
            .map(|(id, s)| ScopeRow {
                id,
                value: RwSignal::new(s.clone()),
            })
            .collect::<Vec<_>>(),
    );
    let resources = Resource::new(
        move || (tenant.get(), env.get()),
        |(t, e)| resource_options(t, e),
    );

    let changes = move |confirm: bool| ApplicationChanges {
        display_name: display_name.get(),
        name: name.get(),
        notes: notes.get(),
        is_resource: is_resource.get(),
        is_client: is_client.get(),
        scopes: rows
            .get()
            .iter()
            .map(|r| r.value.get().trim().to_string())
            .collect(),
        auth_method: method.get(),
        grants: grants_from_picker(selected.get()),
        token_lifetime_secs: lifetime.get().trim().parse().unwrap_or(-1),
        client_credentials_enabled: enabled.get(),
        confirm_grant_removal: confirm,
    };
    let initial = RwSignal::new(untrack(|| changes(false)));
    let dirty = Memo::new(move |_| changes(false) != initial.get());
    guard_unsaved_changes(dirty);

    let save = Action::new({
        let original_name = original_name.clone();
        move |input: &ApplicationChanges| {
            save_application(
                tenant.get_untracked(),
                env.get_untracked(),
                original_name.clone(),
                input.clone(),
            )
        }
    });
    let error = Signal::derive(move || save.value().get().and_then(Result::err));
    let confirmation = Signal::derive(move || match error.get() {
        Some(ConsoleError::NeedsConfirmation(m)) => Some(m),
        _ => None,
    });
    let server_field = move |field: &'static str| server_field_error(error, field);
    let list_url = move || format!("/console/{}/{}/applications", tenant.get(), env.get());
    {
        let navigate = navigate.clone();
        let original_name = original_name.clone();
        Effect::new(move |_| {
            if let Some(Ok(saved)) = save.value().get() {
                initial.set(untrack(|| changes(false)));
                let url = format!("{}/{}", list_url(), saved.name);
                // Becoming or ceasing to be a client changes which sections the page has.
                if saved.auth_method.is_some() != was_client {
                    let _ = window().location().set_href(&url);
                } else if saved.name != original_name {
                    navigate(&url, Default::default());
                }
            }
        });
    }
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        save.dispatch(changes(false));
    };
    let cancel = move |_| {
        if !dirty.get()
            || window()
                .confirm_with_message("Discard the unsaved changes?")
                .unwrap_or(false)
        {
            initial.set(changes(false));
            let _ = window().location().set_href(&list_url());
        }
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
    };
    let renamed = {
        let original_name = original_name.clone();
        Signal::derive(move || name.get().trim().to_lowercase() != original_name)
    };
    let credentials = details.auth_method.is_some().then(|| {
        view! {
            <Secrets app=details.name.clone() initial=details.secrets.clone() />
            <Certificates app=details.name.clone() initial=details.certificates.clone() />
        }
    });

    view! {
        <h1 class="mb-1 text-2xl font-semibold">{details.display_name.clone()}</h1>
        <p class="mb-4 text-sm text-slate-600">
            <code>{details.name.clone()}</code>
            {details.token_url.clone().map(|u| view! { " · token URL " <code data-testid="edit-token-url">{u}</code> })}
        </p>
        <form on:submit=submit novalidate class="max-w-3xl">
            <FormError error=Signal::derive(move || error.get().filter(|_| confirmation.get().is_none())) />
            <Show when=move || confirmation.get().is_some()>
                <div class="mb-4 rounded border border-amber-300 bg-amber-50 px-3 py-2 text-sm text-amber-900" role="alert" data-testid="confirm-save">
                    <p class="mb-2">{move || confirmation.get().unwrap_or_default()}</p>
                    <button type="button" class=PRIMARY_BUTTON on:click=move |_| { save.dispatch(changes(true)); }>
                        "Confirm and save"
                    </button>
                </div>
            </Show>
            <TextField label="Display name" value=display_name error=server_field("display_name") />
            <div class="mb-4">
                <label for="field-notes" class="mb-1 block text-sm font-medium">"Notes"</label>
                <textarea id="field-notes" rows="3" bind:value=notes
                    class="w-full rounded border border-slate-300 px-3 py-2 focus:border-sky-500 focus:outline-none focus:ring-2 focus:ring-sky-300"></textarea>
                <p class="text-sm text-red-700" role="alert">{move || server_field("notes").get()}</p>
            </div>
            <label class="mb-4 flex items-center gap-2 text-sm">
                <input type="checkbox" bind:checked=show_advanced />
                "Show advanced"
            </label>
            <Show when=move || show_advanced.get()>
                <TextField label="Technical name" value=name error=server_field("name")
                    hint="The client ID and audience. Renaming keeps secrets, certificates and grants." />
                <Show when=move || renamed.get()>
                    <p class="mb-4 rounded bg-amber-50 px-3 py-2 text-sm text-amber-900" role="status" data-testid="rename-warning">
                        {move || match (is_client.get(), is_resource.get()) {
                            (true, false) => "Saving moves the token URL to the new name; the client must use the new client ID and URL.",
                            (false, true) => "Saving changes the audience of this API's tokens and the scope strings clients request; clients and the API must change too.",
                            _ => "Saving moves the token URL and changes the audience and scope strings; clients and the API must change too.",
                        }}
                    </p>
                </Show>
                <fieldset class="mb-4">
                    <legend class="mb-1 text-sm font-medium">"Registration type"</legend>
                    <label class="mr-6 inline-flex items-center gap-2 text-sm">
                        <input type="checkbox" bind:checked=is_resource /> "Resource (API)"
                    </label>
                    <label class="inline-flex items-center gap-2 text-sm">
                        <input type="checkbox" bind:checked=is_client /> "Client"
                    </label>
                    <p class="text-sm text-red-700" role="alert">{move || server_field("kind").get()}</p>
                </fieldset>
            </Show>

            <Show when=move || is_resource.get()>
                <fieldset class="mb-4 rounded border border-slate-200 bg-white p-4" data-testid="resource-tab">
                    <legend class="px-1 text-sm font-medium">"Resource scopes"</legend>
                    <For each=move || rows.get() key=|r| r.id let:row>
                        {
                            let id = row.id;
                            let number = move || rows.with(|r| r.iter().position(|x| x.id == id).map_or(0, |p| p + 1));
                            view! {
                                <div class="mb-2 flex items-center gap-2">
                                    <input type="text" bind:value=row.value
                                        aria-label=move || format!("Scope {}", number())
                                        class="flex-1 rounded border border-slate-300 px-3 py-1" />
                                    <button type="button" class=SECONDARY_BUTTON
                                        aria-label=move || match row.value.get().trim() {
                                            "" => format!("Remove scope {} (empty)", number()),
                                            value => format!("Remove scope {value}"),
                                        }
                                        on:click=move |_| rows.update(|r| r.retain(|x| x.id != id))>
                                        "Remove"
                                    </button>
                                </div>
                            }
                        }
                    </For>
                    <button type="button" class=SECONDARY_BUTTON on:click=add_row>"Add scope"</button>
                    <p class="mt-1 text-sm text-red-700" role="alert">{move || server_field("scopes").get()}</p>
                </fieldset>
            </Show>

            <Show when=move || is_client.get()>
                <fieldset class="mb-4 rounded border border-slate-200 bg-white p-4" data-testid="client-tab">
                    <legend class="px-1 text-sm font-medium">"Client"</legend>
                    <MethodSelect method error=server_field("auth_method") />
                    <TextField label="Access token lifetime (seconds)" value=lifetime input_type="number"
                        hint="300 to 86400." error=server_field("token_lifetime_secs") />
                    <label class="mb-4 flex items-center gap-2 text-sm">
                        <input type="checkbox" bind:checked=enabled />
                        "Client credentials grant enabled"
                    </label>
                    <div class="mb-2 text-sm font-medium">"Resource grants"</div>
                    <Suspense fallback=|| view! { <p>"Loading resources…"</p> }>
                        {move || Suspend::new(async move {
                            match resources.await {
                                Ok(list) => list.into_iter().map(|r| view! { <GrantPicker resource=r selected /> }).collect_view().into_any(),
                                Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                            }
                        })}
                    </Suspense>
                    <p class="text-sm text-red-700" role="alert">{move || server_field("grants").get()}</p>
                </fieldset>
            </Show>

            <div class="flex items-center gap-3">
                <button type="submit" class=PRIMARY_BUTTON disabled=move || save.pending().get()>"Save"</button>
                <button type="button" class=SECONDARY_BUTTON on:click=cancel>"Cancel"</button>
                <span role="status" class="text-sm text-green-800" data-testid="edit-status">
                    {move || matches!(save.value().get(), Some(Ok(_))).then_some("Saved.")}
                </span>
            </div>
        </form>

        {credentials}
        <DeleteSection app=details.name.clone() granted_to=details.granted_to.clone() />
    }
}

/// Warns before the page is left with unsaved changes (reload, close, links that leave it).
fn guard_unsaved_changes(dirty: Memo<bool>) {
    let handle = window_event_listener(leptos::ev::beforeunload, move |ev| {
        if dirty.get_untracked() {
            ev.prevent_default();
            ev.set_return_value("unsaved");
        }
    });
    on_cleanup(move || handle.remove());
}

/// The client's secrets: listed by their first characters, removable, and "Add secret".
#[component]
fn Secrets(app: String, initial: Vec<SecretView>) -> impl IntoView {
    let (tenant, env) = use_tenant_env();
    let secrets = RwSignal::new(initial);
    let typed = RwSignal::new(String::new());
    let expiry = RwSignal::new(String::new());
    let app = StoredValue::new(app);

    let add = Action::new(move |input: &(Option<String>, Option<i64>)| {
        add_client_secret(
            tenant.get_untracked(),
            env.get_untracked(),
            app.get_value(),
            input.0.clone(),
            input.1,
        )
    });
    let remove = Action::new(move |id: &String| {
        let id = id.clone();
        async move {
            remove_client_secret(
                tenant.get_untracked(),
                env.get_untracked(),
                app.get_value(),
                id.clone(),
            )
            .await
            .map(|()| id)
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(added)) = add.value().get() {
            secrets.update(|s| s.push(added.secret));
            typed.set(String::new());
            expiry.set(String::new());
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(id)) = remove.value().get() {
            secrets.update(|s| s.retain(|x| x.id != id));
        }
    });
    let add_error = Signal::derive(move || add.value().get().and_then(Result::err));
    let remove_error = Signal::derive(move || remove.value().get().and_then(Result::err));
    let expiry_error = RwSignal::new(None::<String>);
    let submit = move |_| {
        let expires_at = match expiry.get().trim() {
            "" => None,
            date => match parse_date(date) {
                Some(at) => Some(at),
                None => {
                    expiry_error.set(Some("Give the expiry as a date, YYYY-MM-DD.".into()));
                    return;
                }
            },
        };
        expiry_error.set(None);
        let value = Some(typed.get()).filter(|v| !v.is_empty());
        add.dispatch((value, expires_at));
    };
    let now = now_secs();

    view! {
        <section class="mt-8 max-w-3xl rounded border border-slate-200 bg-white p-4" aria-labelledby="secrets-title">
            <h2 id="secrets-title" class="mb-2 text-lg font-semibold">"Client secrets"</h2>
            <FormError error=remove_error />
            <ul class="mb-4 divide-y divide-slate-200" data-testid="secret-list">
                <For each=move || secrets.get() key=|s| s.id.clone() let:secret>
                    <li class="flex items-center gap-3 py-2 text-sm">
                        <code class="w-28">{secret.info.clone().map(|i| format!("{i}...")).unwrap_or_else(|| "no info".into())}</code>
                        <span>"created " {format_timestamp(secret.created_at)}</span>
                        <span class=if secret.expires_at.is_some_and(|at| at <= now) { "text-red-700" } else { "" }>
                            {secret.expires_at.map(|at| format!("expires {}", format_timestamp(at))).unwrap_or_else(|| "does not expire".into())}
                        </span>
                        <button type="button" class=format!("ml-auto {SECONDARY_BUTTON}")
                            aria-label=format!("Remove secret {}", secret.info.clone().unwrap_or_else(|| secret.id.clone()))
                            on:click={let id = secret.id.clone(); move |_| { remove.dispatch(id.clone()); }}>
                            "Remove"
                        </button>
                    </li>
                </For>
            </ul>
            {move || add.value().get().and_then(Result::ok).and_then(|a| a.value).map(|value| view! {
                <div class="mb-4 rounded border border-amber-300 bg-amber-50 p-3" role="alert">
                    <p class="mb-2 text-amber-900">"Copy the new secret now. It will not be shown again."</p>
                    <CopyValue label="New client secret" value test_id="new-secret" />
                </div>
            })}
            <FormError error=add_error />
            <TextField label="Secret value" value=typed input_type="password"
                hint="Leave blank to generate one. At least 8 characters when typed."
                error=server_field_error(add_error, "secret") />
            <TextField label="Expires on" value=expiry input_type="date"
                hint="Optional; the secret stops working at the start of that day (UTC)."
                error=Signal::derive(move || expiry_error.get().or_else(|| server_field_error(add_error, "expires_at").get())) />
            <button type="button" class=PRIMARY_BUTTON on:click=submit disabled=move || add.pending().get()>"Add secret"</button>
        </section>
    }
}

/// `YYYY-MM-DD` as the start of that day, UTC, in seconds since 1970.
fn parse_date(text: &str) -> Option<i64> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(text, &format).ok()?;
    Some(date.midnight().assume_utc().unix_timestamp())
}

/// The client's certificates for `private_key_jwt`: listed, added and removed at once.
#[component]
fn Certificates(app: String, initial: Vec<CertificateView>) -> impl IntoView {
    let (tenant, env) = use_tenant_env();
    let stored = RwSignal::new(initial);
    let staged = RwSignal::new(Vec::<CertificateView>::new());
    let app = StoredValue::new(app);
    let problem = RwSignal::new(None::<ConsoleError>);

    // A certificate read in the browser is registered as soon as it is accepted.
    Effect::new(move |_| {
        let pending = staged.get();
        if pending.is_empty() {
            return;
        }
        staged.set(Vec::new());
        for cert in pending {
            leptos::task::spawn_local(async move {
                match add_client_certificate(
                    tenant.get_untracked(),
                    env.get_untracked(),
                    app.get_value(),
                    cert.der_base64.clone(),
                )
                .await
                {
                    Ok(view) => stored.update(|s| s.push(view)),
                    Err(e) => problem.set(Some(e)),
                }
            });
        }
    });
    let remove = move |thumbprint: String| {
        leptos::task::spawn_local(async move {
            match remove_client_certificate(
                tenant.get_untracked(),
                env.get_untracked(),
                app.get_value(),
                thumbprint.clone(),
            )
            .await
            {
                Ok(()) => stored.update(|s| s.retain(|c| c.sha256_thumbprint != thumbprint)),
                Err(e) => problem.set(Some(e)),
            }
        });
    };
    let now = now_secs();

    view! {
        <section class="mt-8 max-w-3xl rounded border border-slate-200 bg-white p-4" aria-labelledby="certificates-title">
            <h2 id="certificates-title" class="mb-2 text-lg font-semibold">"Certificates (private key JWT)"</h2>
            <FormError error=Signal::derive(move || problem.get()) />
            <ul class="mb-4 divide-y divide-slate-200" data-testid="stored-certificates">
                <For each=move || stored.get() key=|c| c.sha256_thumbprint.clone() let:cert>
                    <li class="flex items-center gap-3 py-2 text-sm">
                        <span class="flex-1">
                            {cert.subject.clone()} " · kid " <code>{cert.kid.clone()}</code>
                            <span class=if cert.is_valid_at(now) { "block text-slate-600" } else { "block text-red-700" }>
                                {format!("valid {} to {}", format_timestamp(cert.not_before), format_timestamp(cert.not_after))}
                            </span>
                        </span>
                        <button type="button" class=SECONDARY_BUTTON
                            aria-label=format!("Remove certificate {}", cert.kid)
                            on:click={let t = cert.sha256_thumbprint.clone(); move |_| remove(t.clone())}>
                            "Remove"
                        </button>
                    </li>
                </For>
            </ul>
            <CertificateUpload certificates=staged error=Signal::derive(|| None::<String>) />
        </section>
    }
}

/// Delete, with a confirmation that names what goes with the registration.
#[component]
fn DeleteSection(app: String, granted_to: Vec<String>) -> impl IntoView {
    let (tenant, env) = use_tenant_env();
    let asking = RwSignal::new(false);
    let app = StoredValue::new(app);
    let delete = Action::new(move |confirm: &bool| {
        delete_application(
            tenant.get_untracked(),
            env.get_untracked(),
            app.get_value(),
            *confirm,
        )
    });
    let list_url = move || format!("/console/{}/{}/applications", tenant.get(), env.get());
    Effect::new(move |_| {
        if let Some(Ok(())) = delete.value().get() {
            let _ = window().location().set_href(&list_url());
        }
    });
    let error = Signal::derive(move || delete.value().get().and_then(Result::err));
    let consequences = match granted_to.is_empty() {
        true => "Its scopes, secrets and certificates are deleted with it.".to_string(),
        false => format!(
            "Its scopes, secrets and certificates are deleted with it, and these clients lose their grants: {}.",
            granted_to.join(", ")
        ),
    };
    let confirm = !granted_to.is_empty();

    view! {
        <section class="mt-8 max-w-3xl rounded border border-red-200 bg-white p-4">
            <h2 class="mb-2 text-lg font-semibold">"Delete"</h2>
            <FormError error />
            <Show when=move || asking.get() fallback=move || view! {
                <button type="button" class=SECONDARY_BUTTON on:click=move |_| asking.set(true)>"Delete application"</button>
            }>
                <div role="alertdialog" aria-labelledby="delete-question" class="rounded bg-red-50 p-3 text-sm">
                    <p id="delete-question" class="mb-2 font-medium">{format!("Delete {}?", app.get_value())}</p>
                    <p class="mb-3" data-testid="delete-consequences">{consequences.clone()}</p>
                    <div class="flex gap-3">
                        <button type="button" class="rounded bg-red-700 px-4 py-2 font-medium text-white hover:bg-red-800 focus:outline-none focus:ring-2 focus:ring-red-300"
                            on:click=move |_| { delete.dispatch(confirm); }>"Delete"</button>
                        <button type="button" class=SECONDARY_BUTTON on:click=move |_| asking.set(false)>"Keep it"</button>
                    </div>
                </div>
            </Show>
        </section>
    }
}
