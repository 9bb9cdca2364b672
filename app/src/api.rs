//! The console's server functions: thin adapters from the browser to Fennec's domain service.

use fennec_core::rules::ClientAuthMethod;
use fennec_core::views::{
    AddedSecret, AdminView, ApplicationChanges, ApplicationDetails, ApplicationSummary, AuditView,
    CertificateView, CreatedClient, EnvironmentUrls, EnvironmentView, GrantInput, ResourceOption,
    SecretView, SigningKeyView,
};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};

use crate::error::ConsoleError;
#[cfg(feature = "ssr")]
use crate::ssr::{fennec, map_error, now, require_admin, set_session_cookie};

/// What the console frame needs: who is signed in and the environments of the tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleState {
    pub admin: AdminView,
    pub environments: Vec<EnvironmentView>,
}

/// Whether a first-start setup link can still be used.
#[server(input = Json)]
pub async fn setup_link_status(token: String) -> Result<bool, ConsoleError> {
    fennec()?
        .setup_token_is_valid(&token)
        .await
        .map_err(map_error)
}

/// Creates the first administrator and tenant, signs them in and returns the tenant.
#[server(input = Json)]
pub async fn complete_setup(
    token: String,
    username: String,
    password: String,
    tenant: String,
) -> Result<String, ConsoleError> {
    use fennec_core::secret::Secret;
    use fennec_core::service::SetupInput;

    let fennec = fennec()?;
    let tenant_input = tenant.clone();
    let input = SetupInput {
        token,
        username,
        password: Secret::from_presented(password),
        tenant,
    };
    let session = fennec
        .complete_setup(input, now())
        .await
        .map_err(map_error)?;
    set_session_cookie(&fennec, &session);
    Ok(tenant_input.trim().to_lowercase())
}

/// Signs an administrator in and sets the session cookie.
#[server(input = Json)]
pub async fn sign_in(username: String, password: String) -> Result<(), ConsoleError> {
    use fennec_core::secret::Secret;

    let fennec = fennec()?;
    let session = fennec
        .sign_in(&username, Secret::from_presented(password), now())
        .await
        .map_err(map_error)?;
    set_session_cookie(&fennec, &session);
    Ok(())
}

/// Ends the current session.
#[server(input = Json)]
pub async fn sign_out() -> Result<(), ConsoleError> {
    let fennec = fennec()?;
    if let Some(token) = crate::ssr::session_token().await {
        fennec.sign_out(&token).await.map_err(map_error)?;
    }
    crate::ssr::clear_session_cookie();
    Ok(())
}

/// The signed-in administrator and their tenants.
#[server(input = Json)]
pub async fn current_admin() -> Result<AdminView, ConsoleError> {
    let (fennec, admin) = require_admin().await?;
    fennec.admin_view(&admin).await.map_err(map_error)
}

/// Everything the console frame shows for a tenant.
#[server(input = Json)]
pub async fn load_console_state(tenant: String) -> Result<ConsoleState, ConsoleError> {
    let (fennec, admin) = require_admin().await?;
    Ok(ConsoleState {
        environments: fennec
            .environments(&admin, &tenant)
            .await
            .map_err(map_error)?,
        admin: fennec.admin_view(&admin).await.map_err(map_error)?,
    })
}

/// The registrations of an environment.
#[server(input = Json)]
pub async fn list_applications(
    tenant: String,
    env: String,
) -> Result<Vec<ApplicationSummary>, ConsoleError> {
    let (fennec, admin) = require_admin().await?;
    fennec
        .applications(&admin, &tenant, &env)
        .await
        .map_err(map_error)
}

/// The URLs shown on the wizards' summary cards.
#[server(input = Json)]
pub async fn load_environment_urls(
    tenant: String,
    env: String,
) -> Result<EnvironmentUrls, ConsoleError> {
    let (fennec, _admin) = require_admin().await?;
    fennec
        .existing_environment_urls(&tenant, &env)
        .await
        .map_err(map_error)
}

/// The environment's resources and scopes, for the grants picker.
#[server(input = Json)]
pub async fn resource_options(
    tenant: String,
    env: String,
) -> Result<Vec<ResourceOption>, ConsoleError> {
    let (fennec, admin) = require_admin().await?;
    fennec
        .resource_options(&admin, &tenant, &env)
        .await
        .map_err(map_error)
}

/// Registers a resource (API).
#[server(input = Json)]
pub async fn create_resource(
    tenant: String,
    env: String,
    display_name: String,
    name: String,
    scopes: Vec<String>,
) -> Result<ApplicationSummary, ConsoleError> {
    use fennec_core::service::NewResourceInput;

    let (fennec, admin) = require_admin().await?;
    let input = NewResourceInput {
        display_name,
        name,
        scopes,
    };
    fennec
        .create_resource(&admin, &tenant, &env, input, now())
        .await
        .map_err(map_error)
}

/// Registers a client; the result carries its secret, shown this once.
#[server(input = Json)]
pub async fn create_client(
    tenant: String,
    env: String,
    display_name: String,
    name: String,
    auth_method: ClientAuthMethod,
    grants: Vec<GrantInput>,
    certificates: Vec<String>,
) -> Result<CreatedClient, ConsoleError> {
    use fennec_core::service::NewClientInput;

    let (fennec, admin) = require_admin().await?;
    crate::ssr::forbid_caching();
    let input = NewClientInput {
        display_name,
        name,
        auth_method,
        grants,
        certificates,
    };
    fennec
        .create_client(&admin, &tenant, &env, input, now())
        .await
        .map_err(map_error)
}

/// Reads an uploaded public certificate (DER in standard base64) for the wizard's list.
/// Only public certificates come here: PKCS#12 files are opened in the browser.
#[server(input = Json)]
pub async fn inspect_certificate(der_base64: String) -> Result<CertificateView, ConsoleError> {
    let (fennec, admin) = require_admin().await?;
    fennec
        .inspect_certificate(&admin, &der_base64)
        .map_err(map_error)
}

/// Whether the environment accepts only its issuer as a client assertion's audience.
#[server(input = Json)]
pub async fn load_strict_assertion_audience(
    tenant: String,
    env: String,
) -> Result<bool, ConsoleError> {
    let (fennec, _admin) = require_admin().await?;
    fennec
        .strict_assertion_audience(&tenant, &env)
        .await
        .map_err(map_error)
}

/// Switches the environment's strict assertion audience mode.
#[server(input = Json)]
pub async fn save_strict_assertion_audience(
    tenant: String,
    env: String,
    strict: bool,
) -> Result<(), ConsoleError> {
    let (fennec, admin) = require_admin().await?;
    fennec
        .set_strict_assertion_audience(&admin, &tenant, &env, strict, now())
        .await
        .map_err(map_error)
}

/// The environment's published signing keys, signer first.
#[server(input = Json)]
pub async fn list_signing_keys(
    tenant: String,
    env: String,
) -> Result<Vec<SigningKeyView>, ConsoleError> {
    let (fennec, admin) = require_admin().await?;
    fennec
        .signing_key_list(&admin, &tenant, &env, now())
        .await
        .map_err(map_error)
}

/// Starts a key rotation: `alg` `RS256` or `ES256` (the signer's when absent), signing after
/// `grace_secs` (24 hours when absent, 0 for at once).
#[server(input = Json)]
pub async fn rotate_signing_key(
    tenant: String,
    env: String,
    alg: Option<String>,
    grace_secs: Option<i64>,
) -> Result<SigningKeyView, ConsoleError> {
    use fennec_core::service::{parse_signing_alg, DEFAULT_ROTATION_GRACE_SECS};

    let (fennec, admin) = require_admin().await?;
    let alg = alg
        .as_deref()
        .map(parse_signing_alg)
        .transpose()
        .map_err(map_error)?;
    let grace = grace_secs.unwrap_or(DEFAULT_ROTATION_GRACE_SECS);
    fennec
        .rotate_signing_key(&admin, &tenant, &env, alg, grace, now())
        .await
        .map_err(map_error)
}

/// A client's stored secrets, without their values.
#[server(input = Json)]
pub async fn list_client_secrets(
    tenant: String,
    env: String,
    app: String,
) -> Result<Vec<SecretView>, ConsoleError> {
    let (fennec, admin) = require_admin().await?;
    fennec
        .client_secret_list(&admin, &tenant, &env, &app)
        .await
        .map_err(map_error)
}

/// Removes one secret of a client.
#[server(input = Json)]
pub async fn remove_client_secret(
    tenant: String,
    env: String,
    app: String,
    secret_id: String,
) -> Result<(), ConsoleError> {
    let (fennec, admin) = require_admin().await?;
    fennec
        .remove_client_secret(&admin, &tenant, &env, &app, &secret_id, now())
        .await
        .map_err(map_error)
}

/// Everything the edit view of one registration shows.
#[server(input = Json)]
pub async fn load_application(
    tenant: String,
    env: String,
    app: String,
) -> Result<ApplicationDetails, ConsoleError> {
    let (fennec, admin) = require_admin().await?;
    fennec
        .application_details(&admin, &tenant, &env, &app)
        .await
        .map_err(map_error)
}

/// Saves the edit view of one registration.
#[server(input = Json)]
pub async fn save_application(
    tenant: String,
    env: String,
    app: String,
    changes: ApplicationChanges,
) -> Result<ApplicationDetails, ConsoleError> {
    let (fennec, admin) = require_admin().await?;
    fennec
        .update_application(&admin, &tenant, &env, &app, changes, now())
        .await
        .map_err(map_error)
}

/// Deletes a registration; `confirm` once the console named what goes with it.
#[server(input = Json)]
pub async fn delete_application(
    tenant: String,
    env: String,
    app: String,
    confirm: bool,
) -> Result<(), ConsoleError> {
    let (fennec, admin) = require_admin().await?;
    fennec
        .delete_application(&admin, &tenant, &env, &app, confirm, now())
        .await
        .map_err(map_error)
}

/// Adds a secret to a client: the typed `value`, or a generated one returned this once.
#[server(input = Json)]
pub async fn add_client_secret(
    tenant: String,
    env: String,
    app: String,
    value: Option<String>,
    expires_at: Option<i64>,
) -> Result<AddedSecret, ConsoleError> {
    use fennec_core::secret::Secret;
    use fennec_core::service::{SecretInput, ServiceError};
    use fennec_core::views::FieldError;

    let (fennec, admin) = require_admin().await?;
    crate::ssr::forbid_caching();
    let value = match value.filter(|v| !v.is_empty()) {
        Some(typed) => Some(Secret::from_admin(&typed).map_err(|e| {
            map_error(ServiceError::Invalid(vec![FieldError {
                field: "secret".into(),
                message: e.to_string(),
            }]))
        })?),
        None => None,
    };
    let input = SecretInput { value, expires_at };
    fennec
        .add_client_secret(&admin, &tenant, &env, &app, input, now())
        .await
        .map_err(map_error)
}

/// Adds a public certificate (DER in standard base64) to a client.
#[server(input = Json)]
pub async fn add_client_certificate(
    tenant: String,
    env: String,
    app: String,
    der_base64: String,
) -> Result<CertificateView, ConsoleError> {
    let (fennec, admin) = require_admin().await?;
    fennec
        .add_client_certificate(&admin, &tenant, &env, &app, &der_base64, now())
        .await
        .map_err(map_error)
}

/// Removes a certificate of a client, named by its SHA-256 thumbprint.
#[server(input = Json)]
pub async fn remove_client_certificate(
    tenant: String,
    env: String,
    app: String,
    sha256_thumbprint: String,
) -> Result<(), ConsoleError> {
    let (fennec, admin) = require_admin().await?;
    fennec
        .remove_client_certificate(&admin, &tenant, &env, &app, &sha256_thumbprint, now())
        .await
        .map_err(map_error)
}

/// Adds an environment to a tenant.
#[server(input = Json)]
pub async fn create_environment(
    tenant: String,
    name: String,
    display_name: String,
) -> Result<EnvironmentView, ConsoleError> {
    let (fennec, admin) = require_admin().await?;
    fennec
        .create_environment(&admin, &tenant, &name, &display_name, now())
        .await
        .map_err(map_error)
}

/// Changes the name an environment is shown by.
#[server(input = Json)]
pub async fn rename_environment(
    tenant: String,
    env: String,
    display_name: String,
) -> Result<EnvironmentView, ConsoleError> {
    let (fennec, admin) = require_admin().await?;
    fennec
        .rename_environment(&admin, &tenant, &env, &display_name, now())
        .await
        .map_err(map_error)
}

/// Creates another tenant; returns its name.
#[server(input = Json)]
pub async fn create_tenant(name: String) -> Result<String, ConsoleError> {
    let (fennec, admin) = require_admin().await?;
    fennec
        .create_tenant(&admin, &name, now())
        .await
        .map_err(map_error)
}

/// The tenant's audit trail, newest first; of one registration if `target` names it.
#[server(input = Json)]
pub async fn load_audit_trail(
    tenant: String,
    target: Option<String>,
) -> Result<Vec<AuditView>, ConsoleError> {
    let (fennec, admin) = require_admin().await?;
    fennec
        .audit_trail(&admin, &tenant, target.as_deref())
        .await
        .map_err(map_error)
}
