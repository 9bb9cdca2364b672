//! The "OAuth 2.0 — Client Credentials Grant" wizard: identity, authentication and grants.

use fennec_core::rules::ClientAuthMethod;
use fennec_core::views::{CertificateView, CreatedClient, GrantInput, ResourceOption};
use leptos::prelude::*;

use crate::api::{create_client, resource_options};
use crate::components::{
    server_field_error, technical_name_error, use_tenant_env, ConsoleFrame, CopyValue, FormError,
    TextField, PRIMARY_BUTTON, SECONDARY_BUTTON,
};
use crate::pages::certificates::CertificateUpload;

/// Registers a new client, then shows its secret once.
#[component]
pub fn ClientWizard() -> impl IntoView {
    view! {
        <ConsoleFrame>
            <ClientForm />
        </ConsoleFrame>
    }
}

type CreateInput = (
    String,
    String,
    String,
    String,
    ClientAuthMethod,
    Vec<GrantInput>,
    Vec<String>,
);

#[component]
fn ClientForm() -> impl IntoView {
    let (tenant, env) = use_tenant_env();
    let display_name = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let show_advanced = RwSignal::new(false);
    let method = RwSignal::new(ClientAuthMethod::ClientSecretPost);
    // (resource, scope) pairs, in the order they were ticked.
    let selected = RwSignal::new(Vec::<(String, String)>::new());
    let certificates = RwSignal::new(Vec::<CertificateView>::new());
    let resources = Resource::new(
        move || (tenant.get(), env.get()),
        |(t, e)| resource_options(t, e),
    );

    let action = Action::new(move |input: &CreateInput| {
        let (t, e, d, n, m, g, c) = input.clone();
        create_client(t, e, d, n, m, g, c)
    });
    let error = Signal::derive(move || action.value().get().and_then(Result::err));
    let server_field = move |field: &'static str| server_field_error(error, field);
    let name_problem = technical_name_error(name, server_field("name"));
    let list_url = move || format!("/console/{}/{}/applications", tenant.get(), env.get());

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let grants = grants_from_picker(selected.get());
        action.dispatch((
            tenant.get(),
            env.get(),
            display_name.get(),
            name.get(),
            method.get(),
            grants,
            match method.get() {
                ClientAuthMethod::PrivateKeyJwt => certificates
                    .get()
                    .into_iter()
                    .map(|c| c.der_base64)
                    .collect(),
                _ => Vec::new(),
            },
        ));
    };

    view! {
        {move || match action.value().get() {
            Some(Ok(created)) => view! { <ClientCreated created list_url=list_url() /> }.into_any(),
            _ => view! {
                <h1 class="mb-4 text-2xl font-semibold">"New OAuth 2.0 client (client credentials grant)"</h1>
                <form on:submit=submit novalidate class="max-w-2xl">
                    <FormError error />
                    <TextField label="Display name" value=display_name error=server_field("display_name") />
                    <label class="mb-4 flex items-center gap-2 text-sm">
                        <input type="checkbox" bind:checked=show_advanced />
                        "Show advanced"
                    </label>
                    <Show when=move || show_advanced.get()>
                        <TextField label="Client ID" value=name error=name_problem
                            hint="Left blank, a client ID is generated." />
                        <MethodSelect method error=server_field("auth_method") />
                    </Show>
                    <p class="mb-4 rounded bg-slate-100 px-3 py-2 text-sm">
                        "Authentication: " <strong>{move || method.get().as_str()}</strong>
                        {move || match method.get() {
                            ClientAuthMethod::PrivateKeyJwt => ". The client signs an assertion with the private key of one of its certificates; it has no secret.",
                            _ => ". A client secret is generated when you create the client and shown once.",
                        }}
                    </p>
                    <Show when=move || method.get() == ClientAuthMethod::PrivateKeyJwt>
                        <CertificateUpload certificates error=server_field("certificates") />
                    </Show>
                    <fieldset class="mb-4">
                        <legend class="mb-2 text-sm font-medium">"Resource grants"</legend>
                        <Suspense fallback=|| view! { <p>"Loading resources…"</p> }>
                            {move || Suspend::new(async move {
                                match resources.await {
                                    Ok(list) if list.is_empty() => view! {
                                        <p class="text-sm text-slate-600">"No resources in this environment yet. The client can still get tokens for itself."</p>
                                    }.into_any(),
                                    Ok(list) => list.into_iter().map(|r| view! { <GrantPicker resource=r selected /> }).collect_view().into_any(),
                                    Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                                }
                            })}
                        </Suspense>
                        <p class="text-sm text-red-700" role="alert">{move || server_field("grants").get()}</p>
                    </fieldset>
                    <div class="flex gap-3">
                        <button type="submit" class=PRIMARY_BUTTON disabled=move || action.pending().get()>"Create"</button>
                        <a class=SECONDARY_BUTTON href=list_url>"Cancel"</a>
                    </div>
                </form>
            }.into_any(),
        }}
    }
}

/// The client authentication method selector, with the server's message for it.
#[component]
pub fn MethodSelect(
    method: RwSignal<ClientAuthMethod>,
    #[prop(into)] error: Signal<Option<String>>,
) -> impl IntoView {
    let option = move |value: ClientAuthMethod, label: &'static str| {
        view! {
            <option value=value.as_str() selected=move || method.get() == value>{label}</option>
        }
    };
    view! {
        <label class="mb-4 block text-sm font-medium">
            "Client authentication method"
            <select
                class="mt-1 block w-full rounded border border-slate-300 px-3 py-2"
                on:change=move |ev| {
                    if let Ok(m) = event_target_value(&ev).parse::<ClientAuthMethod>() {
                        method.set(m);
                    }
                }
            >
                {option(ClientAuthMethod::ClientSecretPost, "client secret post")}
                {option(ClientAuthMethod::ClientSecretBasic, "client secret basic")}
                {option(ClientAuthMethod::PrivateKeyJwt, "private key JWT")}
            </select>
            <span class="text-sm font-normal text-red-700" role="alert">{move || error.get()}</span>
        </label>
    }
}

/// The (resource, scope) pairs ticked in [`GrantPicker`]s as grants, one per resource, in the
/// order they were ticked.
pub fn grants_from_picker(selected: Vec<(String, String)>) -> Vec<GrantInput> {
    let mut grants: Vec<GrantInput> = Vec::new();
    for (resource, scope) in selected {
        match grants.iter_mut().find(|g| g.resource == resource) {
            Some(g) => g.scopes.push(scope),
            None => grants.push(GrantInput {
                resource,
                scopes: vec![scope],
            }),
        }
    }
    grants
}

/// One resource's scopes as checkboxes.
#[component]
pub fn GrantPicker(
    resource: ResourceOption,
    selected: RwSignal<Vec<(String, String)>>,
) -> impl IntoView {
    let resource_name = resource.name.clone();
    view! {
        <div class="mb-3 rounded border border-slate-200 bg-white p-3" data-testid=format!("grant-{}", resource.name)>
            <div class="mb-1 font-medium">{resource.display_name.clone()} " " <code class="text-sm text-slate-600">{resource.name.clone()}</code></div>
            <div class="flex flex-wrap gap-4">
                {resource.scopes.into_iter().map(|scope| {
                    let key = (resource_name.clone(), scope.clone());
                    let checked_key = key.clone();
                    view! {
                        <label class="flex items-center gap-2 text-sm">
                            <input
                                type="checkbox"
                                aria-label=format!("{}:{}", key.0, key.1)
                                prop:checked=move || selected.get().contains(&checked_key)
                                on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    let key = key.clone();
                                    selected.update(|s| {
                                        s.retain(|k| *k != key);
                                        if on {
                                            s.push(key);
                                        }
                                    });
                                }
                            />
                            {scope.clone()}
                        </label>
                    }
                }).collect_view()}
            </div>
        </div>
    }
}

/// Shown once after creation: the secret (if any), the token URL and how to request a token.
#[component]
fn ClientCreated(created: CreatedClient, list_url: String) -> impl IntoView {
    let curl = curl_command(&created);
    let has_secret = created.secret.is_some();
    view! {
        <h1 class="mb-4 text-2xl font-semibold">"Client created"</h1>
        <Show when=move || has_secret>
            <div class="mb-4 rounded border border-amber-300 bg-amber-50 px-3 py-2 text-amber-900" role="alert">
                "Copy the client secret now. It will not be shown again."
            </div>
        </Show>
        <div class="max-w-3xl rounded border border-slate-200 bg-white p-4 shadow-sm">
            <CopyValue label="Client ID" value=created.client_id.clone() test_id="client-id" />
            {created.secret.clone().map(|secret| view! {
                <CopyValue label="Client secret" value=secret test_id="client-secret" />
            })}
            <CopyValue label="Token URL" value=created.token_url.clone() test_id="token-url" />
            <CopyValue label="Token request" value=curl test_id="curl-command" />
        </div>
        <a class=format!("mt-4 inline-block {SECONDARY_BUTTON}") href=list_url>"Back to applications"</a>
    }
}

fn curl_command(created: &CreatedClient) -> String {
    let scope = match created.scope.is_empty() {
        true => String::new(),
        false => format!(" -d 'scope={}'", created.scope),
    };
    let secret = created.secret.as_deref().unwrap_or_default();
    match created.auth_method {
        ClientAuthMethod::ClientSecretBasic => format!(
            "curl -s -X POST '{}' -u '{}:{secret}' -d grant_type=client_credentials{scope}",
            created.token_url, created.client_id
        ),
        ClientAuthMethod::PrivateKeyJwt => format!(
            "curl -s -X POST '{}' -d grant_type=client_credentials \\\n  \
             -d client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer \\\n  \
             -d \"client_assertion=$ASSERTION\"{scope}\n\
             # ASSERTION: a JWT signed with the certificate's private key; iss and sub '{}', \
             aud the token URL, a fresh jti, exp within the hour.",
            created.token_url, created.client_id
        ),
        _ => format!(
            "curl -s -X POST '{}' -d grant_type=client_credentials -d 'client_id={}' -d 'client_secret={secret}'{scope}",
            created.token_url, created.client_id
        ),
    }
}
