//! Managing what was registered: edit, rename, retype and delete registrations, their secrets
//! and certificates, environments and tenants, and reading the audit trail.

use super::*;
use crate::store::ApplicationUpdate;
use crate::views::{AddedSecret, ApplicationChanges, ApplicationDetails, AuditView};

/// Shortest access token lifetime a client may have (SPEC 3.7).
pub const MIN_TOKEN_LIFETIME_SECS: i64 = 300;
/// Longest access token lifetime a client may have (SPEC 3.7).
pub const MAX_TOKEN_LIFETIME_SECS: i64 = 86_400;
/// Most secrets a client may hold (SPEC 3.3).
pub const MAX_CLIENT_SECRETS: usize = 10;

/// A secret to add to a client: typed by the administrator, or generated when absent.
#[derive(Debug, Clone)]
pub struct SecretInput {
    pub value: Option<Secret>,
    /// Seconds since 1970; the secret no longer authenticates from then on.
    pub expires_at: Option<i64>,
}

impl Fennec {
    /// Everything the edit view of a registration shows.
    pub async fn application_details(
        &self,
        _admin: &Admin,
        tenant: &str,
        env: &str,
        app: &str,
    ) -> Result<ApplicationDetails, ServiceError> {
        let row = self.require_application(tenant, env, app).await?;
        let scopes = self.store.resource_scopes(&row.id).await?;
        let mut granted_to: Vec<String> = Vec::new();
        for grantee in self.store.resource_grantees(&row.id).await? {
            if !granted_to.contains(&grantee.client_name) {
                granted_to.push(grantee.client_name);
            }
        }
        let grants = self
            .grants_of(&row.id)
            .await
            .map_err(|_| internal("the grants of a client cannot be read"))?
            .into_iter()
            .map(|g| GrantInput {
                resource: g.resource,
                scopes: g.scopes,
            })
            .collect();
        let secrets = self.client_secret_views(&row.id).await?;
        let mut certificates = Vec::new();
        for stored in self.store.client_certificates(&row.id).await? {
            match parse_certificate(&stored.der) {
                Ok(cert) => certificates.push(cert.view()),
                Err(e) => {
                    tracing::error!(certificate.id = %stored.id, error = %e, "a stored client certificate no longer parses")
                }
            }
        }

        Ok(ApplicationDetails {
            requestable_scopes: match row.is_resource {
                true => scopes.iter().map(|s| format!("{}:{s}", row.name)).collect(),
                false => Vec::new(),
            },
            kind: ApplicationKind::of(row.is_resource, row.is_client),
            auth_method: match row.is_client {
                true => row.auth_method.as_deref().and_then(|m| m.parse().ok()),
                false => None,
            },
            token_url: row
                .is_client
                .then(|| self.application_token_url(tenant, env, &row.name)),
            scopes: if row.is_resource { scopes } else { Vec::new() },
            granted_to,
            grants,
            token_lifetime_secs: row.token_lifetime_secs,
            client_credentials_enabled: row.client_credentials_enabled,
            secrets,
            certificates,
            name: row.name,
            display_name: row.display_name,
            notes: row.notes,
        })
    }

    /// Saves the edit view: names, notes, type, scopes, method, grants, lifetime and the
    /// grant switch, all at once. Removing scopes that clients are granted needs
    /// `confirm_grant_removal`, and then removes those grants too (SPEC 2.3).
    pub async fn update_application(
        &self,
        admin: &Admin,
        tenant: &str,
        env: &str,
        app: &str,
        changes: ApplicationChanges,
        now: i64,
    ) -> Result<ApplicationDetails, ServiceError> {
        let row = self.require_application(tenant, env, app).await?;
        refuse_built_in(env, &row)?;
        let mut errors = Vec::new();
        let display_name = check_display_name(&changes.display_name, &mut errors);
        let name = match changes.name.trim().is_empty() {
            true => row.name.clone(),
            false => check_application_name(&changes.name, &mut errors),
        };
        let notes = changes.notes.trim().to_string();
        if let Err(e) = check_notes(&notes) {
            errors.push(e);
        }
        if !changes.is_resource && !changes.is_client {
            errors.push(field_error(
                "kind",
                "A registration is a resource, a client, or both.",
            ));
        }
        if changes.is_resource && env == MASTER_ENVIRONMENT {
            errors.push(field_error(
                "kind",
                "The master environment holds only clients that automate Fennec.",
            ));
        }

        let scopes: Vec<String> = match changes.is_resource {
            true => changes
                .scopes
                .iter()
                .map(|s| s.trim().to_string())
                .collect(),
            false => Vec::new(),
        };
        if changes.is_resource {
            if let Err(e) = rules::check_scope_list(&scopes) {
                errors.push(field_error("scopes", e.to_string()));
            }
        }

        let grants = match changes.is_client {
            true => {
                self.check_grants(tenant, env, &changes.grants, &mut errors)
                    .await?
            }
            false => Vec::new(),
        };
        if changes.is_client {
            let lifetime = changes.token_lifetime_secs;
            if !(MIN_TOKEN_LIFETIME_SECS..=MAX_TOKEN_LIFETIME_SECS).contains(&lifetime) {
                errors.push(field_error(
                    "token_lifetime_secs",
                    format!(
                        "The access token lifetime is {MIN_TOKEN_LIFETIME_SECS} to \
                         {MAX_TOKEN_LIFETIME_SECS} seconds."
                    ),
                ));
            }
            let needs_certificate = changes.auth_method == ClientAuthMethod::PrivateKeyJwt;
            if needs_certificate && self.store.client_certificates(&row.id).await?.is_empty() {
                errors.push(field_error(
                    "auth_method",
                    "Add a certificate before switching the client to private key JWT.",
                ));
            }
        }
        if !errors.is_empty() {
            return Err(ServiceError::Invalid(errors));
        }

        // Removing scopes that other clients are granted takes their grants too, and renaming
        // a granted resource changes what those clients must ask for: ask first.
        let stored_scopes = self.store.resource_scopes(&row.id).await?;
        let removed: Vec<&String> = stored_scopes
            .iter()
            .filter(|s| !scopes.contains(s))
            .collect();
        let grantees = self.store.resource_grantees(&row.id).await?;
        let names_of = |wanted: &dyn Fn(&str) -> bool| {
            grantees.iter().filter(|g| wanted(&g.scope)).fold(
                Vec::<String>::new(),
                |mut names, g| {
                    if !names.contains(&g.client_name) {
                        names.push(g.client_name.clone());
                    }
                    names
                },
            )
        };
        let affected = names_of(&|scope| removed.iter().any(|r| *r == scope));
        let renamed_for = match row.is_resource && name != row.name {
            true => names_of(&|_| true),
            false => Vec::new(),
        };
        if !changes.confirm_grant_removal {
            if !affected.is_empty() {
                let removed: Vec<&str> = removed.iter().map(|s| s.as_str()).collect();
                return Err(ServiceError::NeedsConfirmation(format!(
                    "Removing {} takes the grant away from {}. Confirm to remove the grants too.",
                    removed.join(", "),
                    affected.join(", ")
                )));
            }
            if !renamed_for.is_empty() {
                return Err(ServiceError::NeedsConfirmation(format!(
                    "Renaming {} to {name} changes the audience and the scope strings that {} \
                     request (they become {name}:…). Confirm to rename it.",
                    row.name,
                    renamed_for.join(", ")
                )));
            }
        }

        let update = ApplicationUpdate {
            id: row.id.clone(),
            name: name.clone(),
            display_name,
            notes,
            is_resource: changes.is_resource,
            is_client: changes.is_client,
            auth_method: changes
                .is_client
                .then(|| changes.auth_method.as_str().to_string()),
            token_lifetime_secs: match changes.is_client {
                true => changes.token_lifetime_secs,
                false => row.token_lifetime_secs,
            },
            client_credentials_enabled: changes.client_credentials_enabled,
            scopes: scopes.clone(),
            grants: grants
                .iter()
                .map(|(id, s, _)| (id.clone(), s.clone()))
                .collect(),
            drop_credentials: row.is_client && !changes.is_client,
        };
        let mut detail = vec![format!(
            "kind: {}",
            ApplicationKind::of(changes.is_resource, changes.is_client).label()
        )];
        if name != row.name {
            detail.push(format!("renamed from {}", row.name));
        }
        if changes.is_resource {
            detail.push(format!("scopes: {}", scopes.join(" ")));
        }
        if !affected.is_empty() {
            detail.push(format!("grants removed from: {}", affected.join(" ")));
        }
        if changes.is_client {
            let granted: Vec<&str> = grants.iter().map(|g| g.2.as_str()).collect();
            detail.push(format!(
                "method: {}; grants: {}; lifetime: {} s; client credentials {}",
                changes.auth_method.as_str(),
                granted.join(" "),
                changes.token_lifetime_secs,
                if changes.client_credentials_enabled {
                    "enabled"
                } else {
                    "disabled"
                }
            ));
        }
        if update.drop_credentials {
            detail.push("no longer a client: secrets and certificates removed".into());
        }
        let audit = self.audit_entry(admin, tenant, env, "application.updated", &name, now);
        let audit = AuditEntry {
            detail: detail.join("; "),
            ..audit
        };
        self.proven.forget(&row.id);
        match self.store.update_application(&update, &audit).await {
            Ok(()) => {}
            Err(e) if e.is_unique_violation() => {
                return Err(taken(
                    "name",
                    format!("The name {name} is already used in this environment."),
                ))
            }
            Err(e) => return Err(e.into()),
        }
        if update.drop_credentials {
            self.sweep_after_removal(now).await;
        }

        tracing::info!(admin.username = %admin.username, tenant, env, application.name = %name, "application updated");
        self.application_details(admin, tenant, env, &name).await
    }

    /// Deletes a registration with its scopes, secrets, certificates and grants. A resource
    /// that clients are granted is kept unless `confirm` is set (SPEC 2.3).
    pub async fn delete_application(
        &self,
        admin: &Admin,
        tenant: &str,
        env: &str,
        app: &str,
        confirm: bool,
        now: i64,
    ) -> Result<(), ServiceError> {
        let row = self.require_application(tenant, env, app).await?;
        refuse_built_in(env, &row)?;
        let mut clients: Vec<String> = Vec::new();
        for grantee in self.store.resource_grantees(&row.id).await? {
            if !clients.contains(&grantee.client_name) {
                clients.push(grantee.client_name);
            }
        }
        if !clients.is_empty() && !confirm {
            return Err(ServiceError::NeedsConfirmation(format!(
                "{} is granted to {}. Confirm to delete it and those grants.",
                row.name,
                clients.join(", ")
            )));
        }

        let mut detail = format!(
            "{} deleted",
            ApplicationKind::of(row.is_resource, row.is_client).label()
        );
        if !clients.is_empty() {
            detail.push_str(&format!("; grants removed from: {}", clients.join(" ")));
        }
        let audit = AuditEntry {
            detail,
            ..self.audit_entry(admin, tenant, env, "application.deleted", &row.name, now)
        };
        self.proven.forget(&row.id);
        if !self.store.delete_application(&row.id, &audit).await? {
            return Err(ServiceError::NotFound(format!("The application {app}")));
        }
        self.sweep_after_removal(now).await;
        tracing::info!(admin.username = %admin.username, tenant, env, application.name = %row.name, "application deleted");
        Ok(())
    }

    /// Adds a secret to a client (SPEC 3.3, 3.4): generated unless typed, at most ten, with
    /// an optional expiry. A generated value is returned this once.
    pub async fn add_client_secret(
        &self,
        admin: &Admin,
        tenant: &str,
        env: &str,
        app: &str,
        input: SecretInput,
        now: i64,
    ) -> Result<AddedSecret, ServiceError> {
        let client = self.require_client(tenant, env, app).await?;
        if let Some(expires_at) = input.expires_at {
            if expires_at <= now {
                return Err(invalid("expires_at", "The expiry must be in the future."));
            }
        }
        let generated = input.value.is_none();
        let secret = input.value.unwrap_or_else(Secret::generate);
        let info = secret::secret_info(secret.expose());
        let to_hash = secret.clone();
        let hash = self.hash(move || secret::hash_secret(&to_hash)).await?;
        let new_secret = NewSecret {
            id: uuid::Uuid::new_v4().to_string(),
            hash,
            info: info.clone(),
            expires_at: input.expires_at,
        };
        let expiry = match input.expires_at {
            Some(at) => format!("expires at {}", utc(at)),
            None => "does not expire".into(),
        };
        let origin = if generated { "generated" } else { "typed" };
        let audit = AuditEntry {
            detail: format!("secret {} {origin}, {expiry}", new_secret.id),
            ..self.audit_entry(admin, tenant, env, "client_secret.added", &client.name, now)
        };
        let max = MAX_CLIENT_SECRETS as i64;
        if !self
            .store
            .insert_client_secret(&client.id, &new_secret, max, &audit)
            .await?
        {
            return Err(invalid(
                "secret",
                format!(
                    "A client can have at most {MAX_CLIENT_SECRETS} secrets; remove one first."
                ),
            ));
        }
        Ok(AddedSecret {
            secret: SecretView {
                id: new_secret.id,
                info,
                created_at: now,
                expires_at: input.expires_at,
            },
            value: generated.then(|| secret.expose().to_string()),
        })
    }

    /// Adds a public certificate (DER in standard base64) to a client (SPEC 3.5).
    pub async fn add_client_certificate(
        &self,
        admin: &Admin,
        tenant: &str,
        env: &str,
        app: &str,
        der_base64: &str,
        now: i64,
    ) -> Result<CertificateView, ServiceError> {
        let client = self.require_client(tenant, env, app).await?;
        let cert = base64::engine::general_purpose::STANDARD
            .decode(der_base64.trim())
            .map_err(|_| crate::certificate::CertificateError::NotACertificate)
            .and_then(|der| parse_certificate(&der))
            .map_err(|e| invalid("certificates", e.to_string()))?;
        let new_cert = NewCertificate {
            id: uuid::Uuid::new_v4().to_string(),
            der: cert.der.clone(),
            sha256_thumbprint: cert.sha256_thumbprint.clone(),
        };
        let audit = AuditEntry {
            detail: format!("certificate {} ({})", cert.x5t, cert.subject),
            ..self.audit_entry(
                admin,
                tenant,
                env,
                "client_certificate.added",
                &client.name,
                now,
            )
        };
        let max = MAX_CLIENT_CERTIFICATES as i64;
        match self
            .store
            .insert_client_certificate(&client.id, &new_cert, max, &audit)
            .await
        {
            Ok(true) => Ok(cert.view()),
            Ok(false) => Err(invalid(
                "certificates",
                format!("A client can have at most {MAX_CLIENT_CERTIFICATES} certificates."),
            )),
            Err(e) if e.is_unique_violation() => Err(taken(
                "certificates",
                "This certificate is already registered for the client.",
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes a certificate, named by its SHA-256 thumbprint. A private key JWT client keeps
    /// at least one.
    pub async fn remove_client_certificate(
        &self,
        admin: &Admin,
        tenant: &str,
        env: &str,
        app: &str,
        sha256_thumbprint: &str,
        now: i64,
    ) -> Result<(), ServiceError> {
        let client = self.require_client(tenant, env, app).await?;
        let keep_one = client.auth_method.as_deref() == Some("private_key_jwt");
        let known = self
            .store
            .client_certificates(&client.id)
            .await?
            .iter()
            .filter_map(|c| parse_certificate(&c.der).ok())
            .any(|c| c.sha256_thumbprint == sha256_thumbprint);
        if !known {
            return Err(ServiceError::NotFound("The certificate".into()));
        }
        let audit = AuditEntry {
            detail: format!("certificate with SHA-256 thumbprint {sha256_thumbprint}"),
            ..self.audit_entry(
                admin,
                tenant,
                env,
                "client_certificate.removed",
                &client.name,
                now,
            )
        };
        match self
            .store
            .delete_client_certificate(&client.id, sha256_thumbprint, keep_one, &audit)
            .await?
        {
            true => Ok(()),
            false => Err(invalid(
                "certificates",
                "A private key JWT client needs at least one certificate; add another first.",
            )),
        }
    }

    /// Adds an environment (e.g. `test`) with its own RS256 signing key.
    pub async fn create_environment(
        &self,
        admin: &Admin,
        tenant: &str,
        name: &str,
        display_name: &str,
        now: i64,
    ) -> Result<EnvironmentView, ServiceError> {
        if self.store.environments(tenant).await?.is_empty() {
            return Err(ServiceError::NotFound(format!("The tenant {tenant}")));
        }
        let mut errors = Vec::new();
        let name = match rules::normalize_name(name) {
            Ok(name) => name,
            Err(e) => {
                errors.push(field_error("name", e.to_string()));
                String::new()
            }
        };
        let display_name = check_display_name(display_name, &mut errors);
        if !errors.is_empty() {
            return Err(ServiceError::Invalid(errors));
        }

        let env = tokio::task::spawn_blocking({
            let (name, display_name) = (name.clone(), display_name.clone());
            move || new_environment(&name, &display_name, 500)
        })
        .await
        .map_err(internal)??;
        let audit = AuditEntry {
            detail: format!("environment {name} ({display_name}) with an RS256 key"),
            environment: Some(name.clone()),
            ..self.audit_entry(admin, tenant, &name, "environment.created", &name, now)
        };
        match self.store.insert_environment(tenant, &env, &audit).await {
            Ok(()) => Ok(EnvironmentView { name, display_name }),
            Err(e) if e.is_unique_violation() => Err(taken(
                "name",
                format!("The tenant already has an environment named {name}."),
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// Changes the name an environment is shown by.
    pub async fn rename_environment(
        &self,
        admin: &Admin,
        tenant: &str,
        env: &str,
        display_name: &str,
        now: i64,
    ) -> Result<EnvironmentView, ServiceError> {
        let mut errors = Vec::new();
        let display_name = check_display_name(display_name, &mut errors);
        if !errors.is_empty() {
            return Err(ServiceError::Invalid(errors));
        }
        let audit = AuditEntry {
            detail: format!("shown as {display_name}"),
            ..self.audit_entry(admin, tenant, env, "environment.renamed", env, now)
        };
        match self
            .store
            .rename_environment(tenant, env, &display_name, &audit)
            .await?
        {
            true => Ok(EnvironmentView {
                name: env.to_string(),
                display_name,
            }),
            false => Err(ServiceError::NotFound(format!(
                "The environment {tenant}/{env}"
            ))),
        }
    }

    /// Creates another tenant, with its environments `-` (Production) and `master`.
    pub async fn create_tenant(
        &self,
        admin: &Admin,
        name: &str,
        now: i64,
    ) -> Result<String, ServiceError> {
        let mut errors = Vec::new();
        let tenant = check_tenant_name(name, &mut errors);
        if !errors.is_empty() {
            return Err(ServiceError::Invalid(errors));
        }
        let environments = tokio::task::spawn_blocking(|| {
            Ok::<_, ServiceError>(vec![
                new_environment("-", "Production", 0)?,
                new_environment(MASTER_ENVIRONMENT, "Master", 1000)?,
            ])
        })
        .await
        .map_err(internal)??;
        let audit = AuditEntry {
            environment: None,
            detail: "tenant with environments - and master".into(),
            ..self.audit_entry(admin, &tenant, "", "tenant.created", &tenant, now)
        };
        match self
            .store
            .insert_tenant(&tenant, &environments, &audit)
            .await
        {
            Ok(()) => Ok(tenant),
            Err(e) if e.is_unique_violation() => Err(taken(
                "tenant",
                format!("A tenant named {tenant} already exists."),
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// The newest audit records of a tenant, newest first; of one registration if named.
    pub async fn audit_trail(
        &self,
        _admin: &Admin,
        tenant: &str,
        target: Option<&str>,
    ) -> Result<Vec<AuditView>, ServiceError> {
        let target = target.map(str::trim).filter(|t| !t.is_empty());
        if target.is_some_and(|t| t.chars().count() > MAX_AUDIT_FILTER_CHARS) {
            return Err(invalid(
                "target",
                format!("The filter can have at most {MAX_AUDIT_FILTER_CHARS} characters."),
            ));
        }
        let entries = self.store.audit_log(tenant, target, 500).await?;
        Ok(entries
            .into_iter()
            .map(|e| AuditView {
                at: e.at,
                actor: e.actor,
                environment: e.environment,
                action: e.action,
                target: e.target,
                detail: e.detail,
            })
            .collect())
    }

    /// The registration of that name (matched as the console lower-cases it), or `NotFound`.
    pub(super) async fn require_application(
        &self,
        tenant: &str,
        env: &str,
        app: &str,
    ) -> Result<ApplicationRow, ServiceError> {
        let name = rules::normalize_name(app).unwrap_or_default();
        match self.store.application(tenant, env, &name).await? {
            Some(row) => Ok(row),
            None => Err(ServiceError::NotFound(format!("The application {app}"))),
        }
    }

    fn audit_entry(
        &self,
        admin: &Admin,
        tenant: &str,
        env: &str,
        action: &str,
        target: &str,
        now: i64,
    ) -> AuditEntry {
        AuditEntry {
            at: now,
            actor: admin.username.clone(),
            tenant: Some(tenant.to_string()),
            environment: Some(env.to_string()),
            action: action.to_string(),
            target: Some(target.to_string()),
            detail: String::new(),
        }
    }
}

/// Longest notes text on a registration.
const MAX_NOTES_CHARS: usize = 2_000;
/// Longest text the audit trail filter takes: longer than any name it could match.
const MAX_AUDIT_FILTER_CHARS: usize = 200;

/// The rule for a registration's notes, for callers that check them before saving.
pub fn check_notes(notes: &str) -> Result<(), FieldError> {
    match notes.trim().chars().count() > MAX_NOTES_CHARS {
        true => Err(field_error(
            "notes",
            format!("Notes can have at most {MAX_NOTES_CHARS} characters."),
        )),
        false => Ok(()),
    }
}

fn field_error(field: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.to_string(),
        message: message.into(),
    }
}

/// Refuses to change the built-in Control API resource: automation depends on its name and
/// scopes staying as they are.
fn refuse_built_in(env: &str, row: &ApplicationRow) -> Result<(), ServiceError> {
    match rules::is_control_resource(env, &row.name) {
        true => Err(invalid(
            "name",
            format!(
                "{} is built in: it guards the Control API and cannot be changed or deleted.",
                row.name
            ),
        )),
        false => Ok(()),
    }
}
