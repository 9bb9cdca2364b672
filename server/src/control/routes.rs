//! The Control API's handlers: each checks the caller's token against the tenant in its path,
//! calls one domain operation and shapes the answer. The annotations are the OpenAPI document.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use fennec_core::secret::Secret;
use fennec_core::service::{
    parse_signing_alg, Admin, Fennec, NewClientInput as DomainNewClient, NewResourceInput,
    SecretInput as DomainSecret, ServiceError, DEFAULT_ROTATION_GRACE_SECS,
};
use fennec_core::upload::certificates_in_file;
use fennec_core::views::{ApplicationChanges, ApplicationDetails, ApplicationKind, FieldError};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::model::*;
use super::problem::{Body, PathParams as Path, Problem, QueryParams as Query};
use super::{created, Caller};
use crate::now;

/// Every route of the Control API, each with its OpenAPI description.
pub fn collect(router: OpenApiRouter<Fennec>) -> OpenApiRouter<Fennec> {
    router
        .routes(routes!(list_tenants))
        .routes(routes!(get_tenant))
        .routes(routes!(list_environments, create_environment))
        .routes(routes!(get_environment, update_environment))
        .routes(routes!(list_resources, create_resource))
        .routes(routes!(get_resource, replace_resource, delete_resource))
        .routes(routes!(list_clients, create_client))
        .routes(routes!(get_client, replace_client, delete_client))
        .routes(routes!(list_secrets, add_secret))
        .routes(routes!(get_secret, delete_secret))
        .routes(routes!(list_certificates, add_certificate))
        .routes(routes!(get_certificate, delete_certificate))
        .routes(routes!(list_signing_keys, rotate_signing_key))
        .routes(routes!(get_signing_key))
        .routes(routes!(list_audit))
}

type Answer<T> = Result<T, Problem>;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
struct TenantPath {
    /// The tenant's name.
    tenant: String,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
struct EnvPath {
    /// The tenant's name.
    tenant: String,
    /// The environment's name (`-` is Production).
    env: String,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
struct AppPath {
    /// The tenant's name.
    tenant: String,
    /// The environment's name (`-` is Production).
    env: String,
    /// The registration's name (a client's client id, a resource's audience).
    name: String,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
struct ItemPath {
    /// The tenant's name.
    tenant: String,
    /// The environment's name (`-` is Production).
    env: String,
    /// The client's name.
    name: String,
    /// The secret's id, or the certificate's SHA-256 thumbprint.
    id: String,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
struct KeyPath {
    /// The tenant's name.
    tenant: String,
    /// The environment's name (`-` is Production).
    env: String,
    /// The key id.
    kid: String,
}

fn env_url(tenant: &str, env: &str) -> String {
    format!("/api/v1/tenants/{tenant}/environments/{env}")
}

// ---- Tenants ----

/// The tenants the token reaches: exactly its own.
#[utoipa::path(get, path = "/api/v1/tenants", tag = "Tenants",
    responses((status = 200, description = "The token's tenant.", body = [Tenant])))]
async fn list_tenants(State(fennec): State<Fennec>, caller: Caller) -> Answer<Json<Vec<Tenant>>> {
    let tenant = caller.0.tenant.clone();
    Ok(Json(vec![
        tenant_document(&fennec, &caller, &tenant).await?,
    ]))
}

/// A tenant with its environments.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}", tag = "Tenants", params(TenantPath),
    responses((status = 200, description = "The tenant.", body = Tenant)))]
async fn get_tenant(
    State(fennec): State<Fennec>,
    caller: Caller,
    Path(p): Path<TenantPath>,
) -> Answer<Json<Tenant>> {
    Ok(Json(tenant_document(&fennec, &caller, &p.tenant).await?))
}

async fn tenant_document(fennec: &Fennec, caller: &Caller, tenant: &str) -> Answer<Tenant> {
    Ok(Tenant {
        name: tenant.to_string(),
        environments: environment_documents(fennec, &caller.0.actor(), tenant).await?,
    })
}

async fn environment_documents(
    fennec: &Fennec,
    actor: &Admin,
    tenant: &str,
) -> Answer<Vec<Environment>> {
    Ok(fennec
        .environments(actor, tenant)
        .await?
        .into_iter()
        .map(|e| {
            let urls = fennec.environment_urls(tenant, &e.name);
            Environment::of(e, urls)
        })
        .collect())
}

// ---- Environments ----

/// The tenant's environments, Production first and `master` last.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/environments", tag = "Environments",
    params(TenantPath),
    responses((status = 200, description = "The environments.", body = [Environment])))]
async fn list_environments(
    State(fennec): State<Fennec>,
    caller: Caller,
    Path(p): Path<TenantPath>,
) -> Answer<Json<Vec<Environment>>> {
    Ok(Json(
        environment_documents(&fennec, &caller.0.actor(), &p.tenant).await?,
    ))
}

/// Adds an environment, with its own signing key and issuer.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/environments", tag = "Environments",
    params(TenantPath), request_body = EnvironmentInput,
    responses(
        (status = 201, description = "Created; `Location` names it.", body = Environment),
        (status = 409, description = "The name is taken.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Some fields need attention.", body = Problem, content_type = "application/problem+json")))]
async fn create_environment(
    State(fennec): State<Fennec>,
    caller: Caller,
    Path(p): Path<TenantPath>,
    Body(input): Body<EnvironmentInput>,
) -> Answer<Response> {
    let view = fennec
        .create_environment(
            &caller.0.actor(),
            &p.tenant,
            &input.name,
            &input.display_name,
            now(),
        )
        .await?;
    let urls = fennec.environment_urls(&p.tenant, &view.name);
    let location = env_url(&p.tenant, &view.name);
    Ok(created(location, Environment::of(view, urls)))
}

/// One environment.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/environments/{env}", tag = "Environments",
    params(EnvPath),
    responses(
        (status = 200, description = "The environment.", body = Environment),
        (status = 404, description = "No such environment.", body = Problem, content_type = "application/problem+json")))]
async fn get_environment(
    State(fennec): State<Fennec>,
    caller: Caller,
    Path(p): Path<EnvPath>,
) -> Answer<Json<Environment>> {
    environment_documents(&fennec, &caller.0.actor(), &p.tenant)
        .await?
        .into_iter()
        .find(|e| e.name == p.env)
        .map(Json)
        .ok_or_else(|| Problem::not_found(format!("The environment {} was not found.", p.env)))
}

/// Changes an environment's display name.
#[utoipa::path(put, path = "/api/v1/tenants/{tenant}/environments/{env}", tag = "Environments",
    params(EnvPath), request_body = EnvironmentUpdate,
    responses(
        (status = 200, description = "The environment as saved.", body = Environment),
        (status = 404, description = "No such environment.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Some fields need attention.", body = Problem, content_type = "application/problem+json")))]
async fn update_environment(
    State(fennec): State<Fennec>,
    caller: Caller,
    Path(p): Path<EnvPath>,
    Body(input): Body<EnvironmentUpdate>,
) -> Answer<Json<Environment>> {
    let view = fennec
        .rename_environment(
            &caller.0.actor(),
            &p.tenant,
            &p.env,
            &input.display_name,
            now(),
        )
        .await?;
    let urls = fennec.environment_urls(&p.tenant, &view.name);
    Ok(Json(Environment::of(view, urls)))
}

// ---- Resources ----

/// The environment's resources.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/environments/{env}/resources",
    tag = "Resources", params(EnvPath),
    responses(
        (status = 200, description = "The resources.", body = [Resource]),
        (status = 404, description = "No such environment.", body = Problem, content_type = "application/problem+json")))]
async fn list_resources(
    State(fennec): State<Fennec>,
    caller: Caller,
    Path(p): Path<EnvPath>,
) -> Answer<Json<Vec<Resource>>> {
    let details = registrations(&fennec, &caller, &p, |k| k != ApplicationKind::Client).await?;
    Ok(Json(details.into_iter().map(Resource::of).collect()))
}

/// Registers a resource (an API with scopes).
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/environments/{env}/resources",
    tag = "Resources", params(EnvPath), request_body = ResourceInput,
    responses(
        (status = 201, description = "Created; `Location` names it.", body = Resource),
        (status = 404, description = "No such environment.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The name is taken.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Some fields need attention.", body = Problem, content_type = "application/problem+json")))]
async fn create_resource(
    State(fennec): State<Fennec>,
    caller: Caller,
    Path(p): Path<EnvPath>,
    Body(input): Body<ResourceInput>,
) -> Answer<Response> {
    // Checked before anything is saved, so that bad notes leave no resource behind.
    fennec_core::service::check_notes(&input.notes)
        .map_err(|e| Problem::from(ServiceError::Invalid(vec![e])))?;
    let actor = caller.0.actor();
    let summary = fennec
        .create_resource(
            &actor,
            &p.tenant,
            &p.env,
            NewResourceInput {
                display_name: input.display_name.clone(),
                name: input.name.clone(),
                scopes: input.scopes.clone(),
            },
            now(),
        )
        .await?;
    let mut details = fennec
        .application_details(&actor, &p.tenant, &p.env, &summary.name)
        .await?;
    if !input.notes.trim().is_empty() {
        let mut changes = changes_of(&details);
        changes.notes = input.notes;
        details = fennec
            .update_application(&actor, &p.tenant, &p.env, &summary.name, changes, now())
            .await?;
    }
    let location = format!("{}/resources/{}", env_url(&p.tenant, &p.env), details.name);
    Ok(created(location, Resource::of(details)))
}

/// One resource.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/environments/{env}/resources/{name}",
    tag = "Resources", params(AppPath),
    responses(
        (status = 200, description = "The resource.", body = Resource),
        (status = 404, description = "No such resource.", body = Problem, content_type = "application/problem+json")))]
async fn get_resource(
    State(fennec): State<Fennec>,
    caller: Caller,
    Path(p): Path<AppPath>,
) -> Answer<Json<Resource>> {
    let details = registration(&fennec, &caller, &p, Role::Resource).await?;
    Ok(Json(Resource::of(details)))
}

/// Replaces a resource: names, notes and scopes. On a registration that is only a client, it
/// makes it a resource too. Removing scopes that clients are granted, or renaming a granted
/// resource, needs `?confirm=true` and takes those grants away.
#[utoipa::path(put, path = "/api/v1/tenants/{tenant}/environments/{env}/resources/{name}",
    tag = "Resources", params(AppPath, Confirmation), request_body = ResourceInput,
    responses(
        (status = 200, description = "The resource as saved.", body = Resource),
        (status = 404, description = "No such registration.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The new name is taken, or the change needs `?confirm=true`.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Some fields need attention.", body = Problem, content_type = "application/problem+json")))]
async fn replace_resource(
    State(fennec): State<Fennec>,
    caller: Caller,
    Path(p): Path<AppPath>,
    Query(confirmation): Query<Confirmation>,
    Body(input): Body<ResourceInput>,
) -> Answer<Json<Resource>> {
    let actor = caller.0.actor();
    let details = fennec
        .application_details(&actor, &p.tenant, &p.env, &p.name)
        .await?;
    let mut changes = changes_of(&details);
    changes.display_name = input.display_name;
    changes.name = input.name;
    changes.notes = input.notes;
    changes.is_resource = true;
    changes.scopes = input.scopes;
    changes.confirm_grant_removal = confirmation.confirm;
    let saved = fennec
        .update_application(&actor, &p.tenant, &p.env, &p.name, changes, now())
        .await?;
    Ok(Json(Resource::of(saved)))
}

/// Deletes a resource. On a registration that is also a client, only the resource goes.
/// A resource that clients are granted needs `?confirm=true`, and takes those grants away.
#[utoipa::path(delete, path = "/api/v1/tenants/{tenant}/environments/{env}/resources/{name}",
    tag = "Resources", params(AppPath, Confirmation),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, description = "No such resource.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Clients are granted it: repeat with `?confirm=true`.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "It is the built-in fennec-control resource.", body = Problem, content_type = "application/problem+json")))]
async fn delete_resource(
    State(fennec): State<Fennec>,
    caller: Caller,
    Path(p): Path<AppPath>,
    Query(confirmation): Query<Confirmation>,
) -> Answer<StatusCode> {
    let details = registration(&fennec, &caller, &p, Role::Resource).await?;
    let actor = caller.0.actor();
    match details.kind {
        ApplicationKind::ClientAndResource => {
            let mut changes = changes_of(&details);
            changes.is_resource = false;
            changes.confirm_grant_removal = confirmation.confirm;
            fennec
                .update_application(&actor, &p.tenant, &p.env, &p.name, changes, now())
                .await?;
        }
        _ => {
            fennec
                .delete_application(
                    &actor,
                    &p.tenant,
                    &p.env,
                    &p.name,
                    confirmation.confirm,
                    now(),
                )
                .await?;
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

// ---- Clients ----

/// The environment's clients.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/environments/{env}/clients",
    tag = "Clients", params(EnvPath),
    responses(
        (status = 200, description = "The clients.", body = [Client]),
        (status = 404, description = "No such environment.", body = Problem, content_type = "application/problem+json")))]
async fn list_clients(
    State(fennec): State<Fennec>,
    caller: Caller,
    Path(p): Path<EnvPath>,
) -> Answer<Json<Vec<Client>>> {
    let details = registrations(&fennec, &caller, &p, |k| k != ApplicationKind::Resource).await?;
    Ok(Json(details.into_iter().map(Client::of).collect()))
}

/// Registers a client of the client credentials grant. A secret is generated for the
/// `client_secret_*` methods and returned this once; a `private_key_jwt` client needs a
/// certificate. Set its token lifetime and notes afterwards with `PUT`.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/environments/{env}/clients",
    tag = "Clients", params(EnvPath), request_body = NewClientInput,
    responses(
        (status = 201, description = "Created; `Location` names it. The only time its secret is shown.", body = CreatedClient),
        (status = 404, description = "No such environment.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The name is taken.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Some fields need attention.", body = Problem, content_type = "application/problem+json")))]
async fn create_client(
    State(fennec): State<Fennec>,
    caller: Caller,
    Path(p): Path<EnvPath>,
    Body(input): Body<NewClientInput>,
) -> Answer<Response> {
    let mut certificates = Vec::new();
    for text in &input.certificates {
        certificates.extend(certificate_der_base64(text, "certificates")?);
    }
    let actor = caller.0.actor();
    let created_client = fennec
        .create_client(
            &actor,
            &p.tenant,
            &p.env,
            DomainNewClient {
                display_name: input.display_name,
                name: input.name,
                auth_method: input.auth_method.into(),
                grants: input.grants.into_iter().map(Into::into).collect(),
                certificates,
            },
            now(),
        )
        .await?;
    let details = fennec
        .application_details(&actor, &p.tenant, &p.env, &created_client.client_id)
        .await?;
    let location = format!("{}/clients/{}", env_url(&p.tenant, &p.env), details.name);
    let body = CreatedClient {
        client: Client::of(details),
        secret: created_client.secret,
    };
    Ok(created(location, body))
}

/// One client.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/environments/{env}/clients/{name}",
    tag = "Clients", params(AppPath),
    responses(
        (status = 200, description = "The client.", body = Client),
        (status = 404, description = "No such client.", body = Problem, content_type = "application/problem+json")))]
async fn get_client(
    State(fennec): State<Fennec>,
    caller: Caller,
    Path(p): Path<AppPath>,
) -> Answer<Json<Client>> {
    let details = registration(&fennec, &caller, &p, Role::Client).await?;
    Ok(Json(Client::of(details)))
}

/// Replaces a client: names, notes, method, grants, token lifetime and the grant switch. On
/// a registration that is only a resource, it makes it a client too (then add a secret or a
/// certificate). Its secrets and certificates are kept.
#[utoipa::path(put, path = "/api/v1/tenants/{tenant}/environments/{env}/clients/{name}",
    tag = "Clients", params(AppPath, Confirmation), request_body = ClientUpdate,
    responses(
        (status = 200, description = "The client as saved.", body = Client),
        (status = 404, description = "No such registration.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The new name is taken, or renaming a registration that is also a granted resource needs `?confirm=true`.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Some fields need attention.", body = Problem, content_type = "application/problem+json")))]
async fn replace_client(
    State(fennec): State<Fennec>,
    caller: Caller,
    Path(p): Path<AppPath>,
    Query(confirmation): Query<Confirmation>,
    Body(input): Body<ClientUpdate>,
) -> Answer<Json<Client>> {
    let actor = caller.0.actor();
    let details = fennec
        .application_details(&actor, &p.tenant, &p.env, &p.name)
        .await?;
    let mut changes = changes_of(&details);
    changes.display_name = input.display_name;
    changes.name = input.name;
    changes.notes = input.notes;
    changes.is_client = true;
    changes.auth_method = input.auth_method.into();
    changes.grants = input.grants.into_iter().map(Into::into).collect();
    changes.token_lifetime_secs = input.token_lifetime_secs;
    changes.client_credentials_enabled = input.client_credentials_enabled;
    changes.confirm_grant_removal = confirmation.confirm;
    let saved = fennec
        .update_application(&actor, &p.tenant, &p.env, &p.name, changes, now())
        .await?;
    Ok(Json(Client::of(saved)))
}

/// Deletes a client with its secrets, certificates and grants; it gets no token from then
/// on. On a registration that is also a resource, only the client goes.
#[utoipa::path(delete, path = "/api/v1/tenants/{tenant}/environments/{env}/clients/{name}",
    tag = "Clients", params(AppPath),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, description = "No such client.", body = Problem, content_type = "application/problem+json")))]
async fn delete_client(
    State(fennec): State<Fennec>,
    caller: Caller,
    Path(p): Path<AppPath>,
) -> Answer<StatusCode> {
    let details = registration(&fennec, &caller, &p, Role::Client).await?;
    let actor = caller.0.actor();
    match details.kind {
        ApplicationKind::ClientAndResource => {
            let mut changes = changes_of(&details);
            changes.is_client = false;
            fennec
                .update_application(&actor, &p.tenant, &p.env, &p.name, changes, now())
                .await?;
        }
        _ => {
            fennec
                .delete_application(&actor, &p.tenant, &p.env, &p.name, false, now())
                .await?;
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

// ---- Client secrets ----

/// The client's secrets: ids, first characters and dates, never the values.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/environments/{env}/clients/{name}/secrets",
    tag = "Client secrets", params(AppPath),
    responses(
        (status = 200, description = "The secrets.", body = [SecretInfo]),
        (status = 404, description = "No such client.", body = Problem, content_type = "application/problem+json")))]
async fn list_secrets(
    State(fennec): State<Fennec>,
    caller: Caller,
    Path(p): Path<AppPath>,
) -> Answer<Json<Vec<SecretInfo>>> {
    let secrets = fennec
        .client_secret_list(&caller.0.actor(), &p.tenant, &p.env, &p.name)
        .await?;
    Ok(Json(secrets.into_iter().map(SecretInfo::from).collect()))
}

/// Adds a secret, generated unless a value is given; a client has at most 10.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/environments/{env}/clients/{name}/secrets",
    tag = "Client secrets", params(AppPath), request_body = SecretInput,
    responses(
        (status = 201, description = "Added; `Location` names it. A generated value is shown this once.", body = CreatedSecret),
        (status = 404, description = "No such client.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Some fields need attention.", body = Problem, content_type = "application/problem+json")))]
async fn add_secret(
    State(fennec): State<Fennec>,
    caller: Caller,
    Path(p): Path<AppPath>,
    Body(input): Body<SecretInput>,
) -> Answer<Response> {
    let value = match input.value {
        Some(typed) => {
            Some(Secret::from_admin(&typed).map_err(|e| field_problem("value", &e.to_string()))?)
        }
        None => None,
    };
    let added = fennec
        .add_client_secret(
            &caller.0.actor(),
            &p.tenant,
            &p.env,
            &p.name,
            DomainSecret {
                value,
                expires_at: input.expires_at,
            },
            now(),
        )
        .await
        .map_err(|e| Problem::from(e).renaming_fields(&[("secret", "value")]))?;
    let location = format!(
        "{}/clients/{}/secrets/{}",
        env_url(&p.tenant, &p.env),
        p.name,
        added.secret.id
    );
    Ok(created(location, CreatedSecret::from(added)))
}

/// One secret of the client, without its value.
#[utoipa::path(get,
    path = "/api/v1/tenants/{tenant}/environments/{env}/clients/{name}/secrets/{id}",
    tag = "Client secrets", params(ItemPath),
    responses(
        (status = 200, description = "The secret.", body = SecretInfo),
        (status = 404, description = "No such client or secret.", body = Problem, content_type = "application/problem+json")))]
async fn get_secret(
    State(fennec): State<Fennec>,
    caller: Caller,
    Path(p): Path<ItemPath>,
) -> Answer<Json<SecretInfo>> {
    fennec
        .client_secret_list(&caller.0.actor(), &p.tenant, &p.env, &p.name)
        .await?
        .into_iter()
        .find(|s| s.id == p.id)
        .map(|s| Json(s.into()))
        .ok_or_else(|| Problem::not_found("The secret was not found."))
}

/// Removes a secret: it authenticates no request from then on, on any instance.
#[utoipa::path(delete,
    path = "/api/v1/tenants/{tenant}/environments/{env}/clients/{name}/secrets/{id}",
    tag = "Client secrets", params(ItemPath),
    responses(
        (status = 204, description = "Removed."),
        (status = 404, description = "No such client or secret.", body = Problem, content_type = "application/problem+json")))]
async fn delete_secret(
    State(fennec): State<Fennec>,
    caller: Caller,
    Path(p): Path<ItemPath>,
) -> Answer<StatusCode> {
    fennec
        .remove_client_secret(&caller.0.actor(), &p.tenant, &p.env, &p.name, &p.id, now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- Client certificates ----

/// The client's certificates, for `private_key_jwt`.
#[utoipa::path(get,
    path = "/api/v1/tenants/{tenant}/environments/{env}/clients/{name}/certificates",
    tag = "Client certificates", params(AppPath),
    responses(
        (status = 200, description = "The certificates.", body = [Certificate]),
        (status = 404, description = "No such client.", body = Problem, content_type = "application/problem+json")))]
async fn list_certificates(
    State(fennec): State<Fennec>,
    caller: Caller,
    Path(p): Path<AppPath>,
) -> Answer<Json<Vec<Certificate>>> {
    let details = registration(&fennec, &caller, &p, Role::Client).await?;
    Ok(Json(
        details
            .certificates
            .into_iter()
            .map(Certificate::from)
            .collect(),
    ))
}

/// Adds a public certificate (PEM or DER in base64); a client has at most 4.
#[utoipa::path(post,
    path = "/api/v1/tenants/{tenant}/environments/{env}/clients/{name}/certificates",
    tag = "Client certificates", params(AppPath), request_body = CertificateInput,
    responses(
        (status = 201, description = "Added; `Location` names it.", body = Certificate),
        (status = 404, description = "No such client.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The client has this certificate already.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a usable certificate, or too many.", body = Problem, content_type = "application/problem+json")))]
async fn add_certificate(
    State(fennec): State<Fennec>,
    caller: Caller,
    Path(p): Path<AppPath>,
    Body(input): Body<CertificateInput>,
) -> Answer<Response> {
    let mut found = certificate_der_base64(&input.certificate, "certificate")?;
    if found.len() != 1 {
        return Err(field_problem(
            "certificate",
            "Send one certificate per request.",
        ));
    }
    let der_base64 = found.remove(0);
    let view = fennec
        .add_client_certificate(
            &caller.0.actor(),
            &p.tenant,
            &p.env,
            &p.name,
            &der_base64,
            now(),
        )
        .await
        .map_err(|e| Problem::from(e).renaming_fields(&[("certificates", "certificate")]))?;
    let location = format!(
        "{}/clients/{}/certificates/{}",
        env_url(&p.tenant, &p.env),
        p.name,
        view.sha256_thumbprint
    );
    Ok(created(location, Certificate::from(view)))
}

/// One certificate of the client.
#[utoipa::path(get,
    path = "/api/v1/tenants/{tenant}/environments/{env}/clients/{name}/certificates/{id}",
    tag = "Client certificates", params(ItemPath),
    responses(
        (status = 200, description = "The certificate.", body = Certificate),
        (status = 404, description = "No such client or certificate.", body = Problem, content_type = "application/problem+json")))]
async fn get_certificate(
    State(fennec): State<Fennec>,
    caller: Caller,
    Path(p): Path<ItemPath>,
) -> Answer<Json<Certificate>> {
    let app = AppPath {
        tenant: p.tenant.clone(),
        env: p.env.clone(),
        name: p.name.clone(),
    };
    registration(&fennec, &caller, &app, Role::Client)
        .await?
        .certificates
        .into_iter()
        .find(|c| c.sha256_thumbprint == p.id)
        .map(|c| Json(c.into()))
        .ok_or_else(|| Problem::not_found("The certificate was not found."))
}

/// Removes a certificate; a `private_key_jwt` client keeps at least one.
#[utoipa::path(delete,
    path = "/api/v1/tenants/{tenant}/environments/{env}/clients/{name}/certificates/{id}",
    tag = "Client certificates", params(ItemPath),
    responses(
        (status = 204, description = "Removed."),
        (status = 404, description = "No such client or certificate.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "It is the client's last certificate.", body = Problem, content_type = "application/problem+json")))]
async fn delete_certificate(
    State(fennec): State<Fennec>,
    caller: Caller,
    Path(p): Path<ItemPath>,
) -> Answer<StatusCode> {
    fennec
        .remove_client_certificate(&caller.0.actor(), &p.tenant, &p.env, &p.name, &p.id, now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- Signing keys ----

/// The environment's published signing keys, signer first.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/environments/{env}/signing-keys",
    tag = "Signing keys", params(EnvPath),
    responses(
        (status = 200, description = "The keys.", body = [SigningKey]),
        (status = 404, description = "No such environment.", body = Problem, content_type = "application/problem+json")))]
async fn list_signing_keys(
    State(fennec): State<Fennec>,
    caller: Caller,
    Path(p): Path<EnvPath>,
) -> Answer<Json<Vec<SigningKey>>> {
    let keys = fennec
        .signing_key_list(&caller.0.actor(), &p.tenant, &p.env, now())
        .await?;
    Ok(Json(keys.into_iter().map(SigningKey::from).collect()))
}

/// Starts a key rotation: the new key is published at once and signs after the grace
/// period; the old signer stays published while its tokens live.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/environments/{env}/signing-keys",
    tag = "Signing keys", params(EnvPath), request_body = RotationInput,
    responses(
        (status = 201, description = "The next key; `Location` names it.", body = SigningKey),
        (status = 404, description = "No such environment.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A rotation is under way, or the fields need attention.", body = Problem, content_type = "application/problem+json")))]
async fn rotate_signing_key(
    State(fennec): State<Fennec>,
    caller: Caller,
    Path(p): Path<EnvPath>,
    Body(input): Body<RotationInput>,
) -> Answer<Response> {
    let alg = match input.alg.as_deref() {
        Some(alg) => Some(
            parse_signing_alg(alg)
                .map_err(|e| Problem::from(e).renaming_fields(&[("alg", "alg")]))?,
        ),
        None => None,
    };
    let grace = input.grace_secs.unwrap_or(DEFAULT_ROTATION_GRACE_SECS);
    let key = fennec
        .rotate_signing_key(&caller.0.actor(), &p.tenant, &p.env, alg, grace, now())
        .await
        .map_err(|e| Problem::from(e).renaming_fields(&[("grace", "grace_secs")]))?;
    let location = format!("{}/signing-keys/{}", env_url(&p.tenant, &p.env), key.kid);
    Ok(created(location, SigningKey::from(key)))
}

/// One published signing key.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/environments/{env}/signing-keys/{kid}",
    tag = "Signing keys", params(KeyPath),
    responses(
        (status = 200, description = "The key.", body = SigningKey),
        (status = 404, description = "No such environment or published key.", body = Problem, content_type = "application/problem+json")))]
async fn get_signing_key(
    State(fennec): State<Fennec>,
    caller: Caller,
    Path(p): Path<KeyPath>,
) -> Answer<Json<SigningKey>> {
    fennec
        .signing_key_list(&caller.0.actor(), &p.tenant, &p.env, now())
        .await?
        .into_iter()
        .find(|k| k.kid == p.kid)
        .map(|k| Json(k.into()))
        .ok_or_else(|| Problem::not_found("The signing key is not published."))
}

// ---- Audit trail ----

/// The tenant's newest recorded changes, newest first.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/audit", tag = "Audit trail",
    params(TenantPath, AuditQuery),
    responses((status = 200, description = "The records.", body = [AuditRecord])))]
async fn list_audit(
    State(fennec): State<Fennec>,
    caller: Caller,
    Path(p): Path<TenantPath>,
    Query(query): Query<AuditQuery>,
) -> Answer<Json<Vec<AuditRecord>>> {
    let records = fennec
        .audit_trail(&caller.0.actor(), &p.tenant, query.target.as_deref())
        .await?;
    Ok(Json(records.into_iter().map(AuditRecord::from).collect()))
}

// ---- Shared steps ----

/// Which side of a registration a route is about.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Resource,
    Client,
}

/// One registration in the role the route names; `404` when it does not play that role.
async fn registration(
    fennec: &Fennec,
    caller: &Caller,
    p: &AppPath,
    role: Role,
) -> Answer<ApplicationDetails> {
    let details = fennec
        .application_details(&caller.0.actor(), &p.tenant, &p.env, &p.name)
        .await
        .map_err(|e| match e {
            ServiceError::NotFound(_) => missing(role, &p.name),
            other => other.into(),
        })?;
    let plays = match role {
        Role::Resource => details.kind != ApplicationKind::Client,
        Role::Client => details.kind != ApplicationKind::Resource,
    };
    match plays {
        true => Ok(details),
        false => Err(missing(role, &p.name)),
    }
}

fn missing(role: Role, name: &str) -> Problem {
    let kind = match role {
        Role::Resource => "resource",
        Role::Client => "client",
    };
    Problem::not_found(format!("The {kind} {name} was not found."))
}

/// Every registration of an environment whose kind `wanted` accepts, in list order.
async fn registrations(
    fennec: &Fennec,
    caller: &Caller,
    p: &EnvPath,
    wanted: impl Fn(ApplicationKind) -> bool,
) -> Answer<Vec<ApplicationDetails>> {
    let actor = caller.0.actor();
    let mut found = Vec::new();
    for summary in fennec.applications(&actor, &p.tenant, &p.env).await? {
        if wanted(summary.kind) {
            found.push(
                fennec
                    .application_details(&actor, &p.tenant, &p.env, &summary.name)
                    .await?,
            );
        }
    }
    Ok(found)
}

/// The change that keeps a registration exactly as it is, to edit from.
fn changes_of(details: &ApplicationDetails) -> ApplicationChanges {
    ApplicationChanges {
        display_name: details.display_name.clone(),
        name: details.name.clone(),
        notes: details.notes.clone(),
        is_resource: details.kind != ApplicationKind::Client,
        is_client: details.kind != ApplicationKind::Resource,
        scopes: details.scopes.clone(),
        auth_method: details.auth_method.unwrap_or_default(),
        grants: details.grants.clone(),
        token_lifetime_secs: details.token_lifetime_secs,
        client_credentials_enabled: details.client_credentials_enabled,
        confirm_grant_removal: false,
    }
}

/// The certificates in a PEM or base64 DER text, as the domain takes them. A text that holds
/// a private key too is refused: the key must not travel, and now needs replacing.
fn certificate_der_base64(text: &str, field: &str) -> Answer<Vec<String>> {
    if text.contains("PRIVATE KEY-----") {
        return Err(field_problem(
            field,
            "Send only the public certificate. This text holds a private key, which must never \
             leave its owner: replace that key, since it has now been sent.",
        ));
    }
    certificates_in_file(text.trim().as_bytes())
        .map(|ders| ders.iter().map(|der| STANDARD.encode(der)).collect())
        .map_err(|e| field_problem(field, &e.to_string()))
}

fn field_problem(field: &str, message: &str) -> Problem {
    ServiceError::Invalid(vec![FieldError {
        field: field.to_string(),
        message: message.to_string(),
    }])
    .into()
}
