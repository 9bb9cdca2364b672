//! Fennec's domain operations: first start, sign-in, registrations and token issuance.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::assertion::{
    claimed_client_id, verify_assertion, AssertionKey, AssertionRules, TokenEndpoint,
    ASSERTION_ALGORITHMS,
};
use crate::certificate::{parse_certificate, ClientCertificate};
use crate::error::TokenError;
use crate::hashing::HashingLimiter;
use crate::keys::{LoadedKey, SigningAlg, SigningKey};
use crate::proven::ProvenSecrets;
use crate::recent::Recent;
use crate::replay::{ClaimFailed, ReplayLedger};
use crate::request::{parse_token_request, ClientCredentials, HttpTokenRequest, TokenRequest};
use crate::rules::{self, ClientAuthMethod};
use crate::scope::{resolve_scopes, split_scope_param, Grant};
use crate::secret::{self, Secret, StoredSecret};
use crate::store::{
    AdminRow, ApplicationRow, AssertionClaim, AuditEntry, GrantRow, InitialSetup, NewApplication,
    NewCertificate, NewEnvironment, NewSecret, NewSigningKey, SecretRow, SetupRefused,
    SigningKeyRow, Store, StoreError,
};
use crate::throttle::FailureThrottle;
use crate::token::{mint_access_token, AccessTokenRequest, TokenResponse};
use crate::views::{
    AdminView, ApplicationKind, ApplicationSummary, CertificateView, CreatedClient,
    EnvironmentUrls, EnvironmentView, FieldError, GrantInput, ResourceOption, SecretView,
    SigningKeyView,
};

mod control;
mod manage;
pub use control::{ControlAccess, ControlCaller, ControlRefusal};
pub use manage::{
    check_notes, SecretInput, MAX_CLIENT_SECRETS, MAX_TOKEN_LIFETIME_SECS, MIN_TOKEN_LIFETIME_SECS,
};

/// How long a console session lasts.
pub const SESSION_LIFETIME_SECS: i64 = 12 * 60 * 60;
/// Default access token lifetime of a new client (SPEC 3.7).
pub const DEFAULT_TOKEN_LIFETIME_SECS: i64 = 3600;
/// Minimum length of an administrator's password.
pub const MIN_PASSWORD_LEN: usize = 12;
/// Most certificates a `private_key_jwt` client may hold (SPEC 3.5).
pub const MAX_CLIENT_CERTIFICATES: usize = 4;
/// How often, at most, expired assertion ids are removed from the replay store.
const ASSERTION_PRUNE_INTERVAL_SECS: i64 = 60;
/// How long past its assertion's expiry a used `jti` is kept before it is removed.
const ASSERTION_PRUNE_MARGIN_SECS: i64 = 60;
/// Longest wait between publishing a next signing key and its first signature.
pub const MAX_ROTATION_GRACE_SECS: i64 = 30 * 86_400;
/// Default wait between publishing a next signing key and its first signature, so that
/// resource servers that cache the JWKS for up to a day fetch it in time.
pub const DEFAULT_ROTATION_GRACE_SECS: i64 = 86_400;
/// How long after a secret's removal every process keeps refusing to remember it, and so how
/// far the clocks of instances may differ before a removal could be missed by a sweep. Far
/// longer than a secret check waits for its hashing thread and what it read may be reused.
pub const REMOVED_SECRETS_WINDOW_SECS: i64 = 60;
/// Most clients whose proven secrets one process remembers (a few hundred bytes each).
const PROVEN_SECRETS_LIMIT: usize = 200_000;
/// How long the token endpoint uses what it read about a client or a signing key. Another
/// instance's change is seen within this time (the bound is one second).
const RECENT_TTL: std::time::Duration = std::time::Duration::from_millis(500);
/// Most clients (and environments) whose recently read state one process keeps.
const RECENT_CLIENTS_LIMIT: usize = 10_000;
/// Most clients and sources whose failed authentications one process counts at a time.
const FAILURE_KEYS_LIMIT: usize = 100_000;
/// Failed sign-ins tolerated before each further attempt must wait.
const FREE_LOGIN_FAILURES: i64 = 5;

pub use crate::rules::MASTER_ENVIRONMENT;

/// Tenant names that would hide parts of Fennec's own URL space.
const RESERVED_TENANT_NAMES: &[&str] = &["api", "console", "pkg"];

/// A failure of a console operation. Messages are safe to show to the administrator.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("Some fields need attention.")]
    Invalid(Vec<FieldError>),
    /// A name (or certificate) that must be unique is already in use.
    #[error("{}", .0.message)]
    Taken(FieldError),
    #[error("{0} was not found.")]
    NotFound(String),
    #[error("Please sign in.")]
    Unauthenticated,
    #[error("This setup link is not valid or was already used.")]
    SetupRefused,
    #[error("The username or password is not correct.")]
    SignInFailed,
    #[error("Too many failed sign-ins. Wait {0} s and try again.")]
    Throttled(i64),
    /// The change would take something away from others; the message names what, and the
    /// administrator may confirm it.
    #[error("{0}")]
    NeedsConfirmation(String),
    #[error("The database cannot be reached right now. Try again in a moment.")]
    Unavailable,
    #[error("Something went wrong on the server. The details are in its log.")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        // An outage is logged by the store once per burst, not here once per request.
        match e.is_unavailable() {
            true => ServiceError::Unavailable,
            false => ServiceError::Internal(Box::new(e)),
        }
    }
}

fn taken(field: &str, message: impl Into<String>) -> ServiceError {
    ServiceError::Taken(FieldError {
        field: field.to_string(),
        message: message.into(),
    })
}

fn invalid(field: &str, message: impl Into<String>) -> ServiceError {
    ServiceError::Invalid(vec![FieldError {
        field: field.to_string(),
        message: message.into(),
    }])
}

/// A fresh console session token, to be put in the session cookie.
pub struct SessionToken(pub String);

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken(***)")
    }
}

/// The administrator behind a valid session.
#[derive(Debug, Clone)]
pub struct Admin {
    pub id: String,
    pub username: String,
}

/// What the first-start page sends.
#[derive(Debug, Clone)]
pub struct SetupInput {
    pub token: String,
    pub username: String,
    pub password: Secret,
    pub tenant: String,
}

/// What the resource wizard sends.
#[derive(Debug, Clone)]
pub struct NewResourceInput {
    pub display_name: String,
    pub name: String,
    pub scopes: Vec<String>,
}

/// What the client wizard sends.
#[derive(Debug, Clone)]
pub struct NewClientInput {
    pub display_name: String,
    pub name: String,
    pub auth_method: ClientAuthMethod,
    pub grants: Vec<GrantInput>,
    /// Public certificates (DER in standard base64) of a `private_key_jwt` client.
    pub certificates: Vec<String>,
}

/// Where a token request arrived: the environment and, for application URLs, the app segment.
#[derive(Debug, Clone)]
pub struct TokenTarget<'a> {
    pub tenant: &'a str,
    pub environment: &'a str,
    pub application: Option<&'a str>,
}

/// What the token endpoint reads about a client: its registration, secrets and grants, and for
/// a `private_key_jwt` client its parsed certificates and the environment's audience rule.
struct ClientSnapshot {
    app: ApplicationRow,
    secrets: Vec<SecretRow>,
    grants: Vec<GrantRow>,
    certificates: Vec<AssertionKey>,
    strict_audience: bool,
}

/// Grant rows gathered per resource, in their order.
fn group_grants(rows: Vec<GrantRow>) -> Vec<Grant> {
    let mut grants: Vec<Grant> = Vec::new();
    for row in rows {
        match grants.iter_mut().find(|g| g.resource == row.resource_name) {
            Some(grant) => grant.scopes.push(row.scope),
            None => grants.push(Grant {
                resource: row.resource_name,
                scopes: vec![row.scope],
            }),
        }
    }
    grants
}

/// The recording of an assertion's `jti`, under way.
struct PendingClaim(tokio::task::JoinHandle<Result<bool, ClaimFailed>>);

impl PendingClaim {
    /// Whether this was the assertion's first use; an error when it could not be recorded.
    async fn first_use(self) -> Result<bool, TokenError> {
        match self.0.await {
            Ok(Ok(first_use)) => Ok(first_use),
            Ok(Err(ClaimFailed)) | Err(_) => Err(TokenError::TemporarilyUnavailable),
        }
    }
}

/// Fennec's domain service, shared by the console and the token endpoint; cheap to clone.
#[derive(Clone)]
pub struct Fennec {
    store: Store,
    public_url: Arc<str>,
    loaded_keys: Arc<Mutex<HashMap<String, Arc<LoadedKey>>>>,
    dummy_hash: Arc<str>,
    hashing: HashingLimiter,
    proven: Arc<ProvenSecrets>,
    recent_clients: Arc<Recent<Arc<ClientSnapshot>>>,
    /// The signer of each environment, with the time a next key takes over, if one is due.
    recent_signers: Arc<Recent<(Arc<LoadedKey>, Option<i64>)>>,
    client_failures: Arc<FailureThrottle>,
    source_failures: Arc<FailureThrottle>,
    last_assertion_prune: Arc<std::sync::atomic::AtomicI64>,
    /// Assertion ids already used, recorded in shared writes.
    replay: Arc<ReplayLedger>,
}

impl Fennec {
    /// Builds the service over a store, with the public base URL of every issuer.
    pub fn new(store: Store, public_url: &str) -> Result<Fennec, ServiceError> {
        // Verifying against this hash when a user or client is unknown keeps timing uniform.
        let dummy = Secret::generate();
        let dummy_hash = secret::hash_secret(&dummy).map_err(internal)?;
        Ok(Fennec {
            store,
            public_url: public_url.trim_end_matches('/').into(),
            loaded_keys: Arc::default(),
            dummy_hash: dummy_hash.into(),
            hashing: HashingLimiter::per_core(),
            proven: Arc::new(ProvenSecrets::new(PROVEN_SECRETS_LIMIT)),
            recent_clients: Arc::new(Recent::new(RECENT_TTL, RECENT_CLIENTS_LIMIT)),
            recent_signers: Arc::new(Recent::new(RECENT_TTL, RECENT_CLIENTS_LIMIT)),
            client_failures: Arc::new(FailureThrottle::new(
                FAILURE_KEYS_LIMIT,
                crate::throttle::FREE_CLIENT_FAILURES,
            )),
            source_failures: Arc::new(FailureThrottle::new(
                FAILURE_KEYS_LIMIT,
                crate::throttle::FREE_SOURCE_FAILURES,
            )),
            last_assertion_prune: Arc::default(),
            replay: Arc::new(ReplayLedger::new()),
        })
    }

    /// The public base URL, without a trailing slash.
    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// Issuer of an environment (SPEC 1.5).
    pub fn issuer(&self, tenant: &str, env: &str) -> String {
        format!("{}/{tenant}/{env}/", self.public_url)
    }

    /// URLs of an environment for the console's summary cards.
    pub fn environment_urls(&self, tenant: &str, env: &str) -> EnvironmentUrls {
        let authority = self.issuer(tenant, env);
        EnvironmentUrls {
            metadata_url: format!("{authority}.well-known/openid-configuration"),
            token_url: format!("{authority}oauth/token"),
            authority,
        }
    }

    /// The URLs of an environment that exists; `NotFound` otherwise.
    pub async fn existing_environment_urls(
        &self,
        tenant: &str,
        env: &str,
    ) -> Result<EnvironmentUrls, ServiceError> {
        self.require_environment(tenant, env).await?;
        Ok(self.environment_urls(tenant, env))
    }

    /// Token URL of one application (SPEC 1.7).
    pub fn application_token_url(&self, tenant: &str, env: &str, app: &str) -> String {
        format!("{}{app}/oauth/token", self.issuer(tenant, env))
    }

    /// On an empty database, makes a new one-time setup token and returns it; else `None`.
    pub async fn prepare_setup(&self, now: i64) -> Result<Option<String>, ServiceError> {
        if self.store.has_admin().await? {
            return Ok(None);
        }
        let token = random_token();
        self.store
            .replace_setup_token(&sha256_b64(&token), now)
            .await?;
        Ok(Some(token))
    }

    /// Whether a setup token can still be used.
    pub async fn setup_token_is_valid(&self, token: &str) -> Result<bool, ServiceError> {
        Ok(self.store.setup_token_is_valid(&sha256_b64(token)).await?)
    }

    /// Creates the first administrator and tenant, consuming the setup token.
    pub async fn complete_setup(
        &self,
        input: SetupInput,
        now: i64,
    ) -> Result<SessionToken, ServiceError> {
        let mut errors = Vec::new();
        let username = check_username(&input.username, &mut errors);
        if input.password.expose().chars().count() < MIN_PASSWORD_LEN {
            errors.push(FieldError {
                field: "password".into(),
                message: format!("Use at least {MIN_PASSWORD_LEN} characters."),
            });
        }
        let tenant = check_tenant_name(&input.tenant, &mut errors);
        if !errors.is_empty() {
            return Err(ServiceError::Invalid(errors));
        }
        if !self.setup_token_is_valid(&input.token).await? {
            return Err(ServiceError::SetupRefused);
        }

        let password = input.password;
        let password_hash = self
            .hash(move || secret::hash_password(password.expose()))
            .await?;
        let environments = vec![
            new_environment("-", "Production", 0)?,
            new_environment(MASTER_ENVIRONMENT, "Master", 1000)?,
        ];
        let session = random_token();
        let admin = AdminRow {
            id: uuid::Uuid::new_v4().to_string(),
            username: username.clone(),
            password_hash,
        };
        let setup = InitialSetup {
            setup_token_hash: sha256_b64(&input.token),
            admin,
            tenant: tenant.clone(),
            environments,
            session_token_hash: sha256_b64(&session),
            session_expires_at: now + SESSION_LIFETIME_SECS,
            audit: AuditEntry {
                at: now,
                actor: username.clone(),
                tenant: Some(tenant.clone()),
                environment: None,
                action: "tenant.created".into(),
                target: Some(tenant.clone()),
                detail: "first start: administrator and tenant with environments - and master"
                    .into(),
            },
            now,
        };
        match self.store.complete_setup(&setup).await {
            Ok(()) => {}
            Err(SetupRefused::InvalidToken) => return Err(ServiceError::SetupRefused),
            Err(SetupRefused::Store(e)) => return Err(e.into()),
        }

        tracing::info!(admin.username = %username, tenant = %tenant, "first administrator created");
        Ok(SessionToken(session))
    }

    /// Signs an administrator in; unknown users and wrong passwords look the same.
    pub async fn sign_in(
        &self,
        username: &str,
        password: Secret,
        now: i64,
    ) -> Result<SessionToken, ServiceError> {
        let username = username.trim().to_lowercase();
        let known_form = rules::normalize_name(&username).is_ok();
        if known_form {
            let claim = self
                .store
                .claim_login_attempt(&username, now, FREE_LOGIN_FAILURES)
                .await?;
            if let Err(wait) = claim {
                return Err(ServiceError::Throttled(wait));
            }
        }

        let admin = match known_form {
            true => self.store.admin_by_username(&username).await?,
            false => None,
        };
        let hash = admin
            .as_ref()
            .map(|a| a.password_hash.clone())
            .unwrap_or_else(|| self.dummy_hash.to_string());
        let matches = self
            .hashing
            .run(move || secret::verify_password(password.expose(), &hash))
            .await
            .map_err(internal)?;

        match admin {
            Some(admin) if matches => {
                self.store.clear_login_failures(&username).await?;
                let session = random_token();
                self.store
                    .insert_session(
                        &sha256_b64(&session),
                        &admin.id,
                        now,
                        now + SESSION_LIFETIME_SECS,
                    )
                    .await?;
                tracing::info!(admin.username = %username, "administrator signed in");
                Ok(SessionToken(session))
            }
            // The typed username is not logged: people type passwords into that field.
            _ => {
                tracing::warn!("failed sign-in");
                Err(ServiceError::SignInFailed)
            }
        }
    }

    /// The administrator of a session token, if the session is valid.
    pub async fn session_admin(
        &self,
        token: &str,
        now: i64,
    ) -> Result<Option<Admin>, ServiceError> {
        let row = self.store.session_admin(&sha256_b64(token), now).await?;
        Ok(row.map(|a| Admin {
            id: a.id,
            username: a.username,
        }))
    }

    /// Ends a session.
    pub async fn sign_out(&self, token: &str) -> Result<(), ServiceError> {
        Ok(self.store.delete_session(&sha256_b64(token)).await?)
    }

    /// The administrator with the tenants they manage.
    pub async fn admin_view(&self, admin: &Admin) -> Result<AdminView, ServiceError> {
        Ok(AdminView {
            username: admin.username.clone(),
            tenants: self.store.tenants().await?,
        })
    }

    /// The environments of a tenant, Production first and `master` last.
    pub async fn environments(
        &self,
        _admin: &Admin,
        tenant: &str,
    ) -> Result<Vec<EnvironmentView>, ServiceError> {
        let rows = self.store.environments(tenant).await?;
        if rows.is_empty() {
            return Err(ServiceError::NotFound(format!("The tenant {tenant}")));
        }
        Ok(rows
            .into_iter()
            .map(|e| EnvironmentView {
                name: e.name,
                display_name: e.display_name,
            })
            .collect())
    }

    /// The registrations of an environment, for the Applications list.
    pub async fn applications(
        &self,
        _admin: &Admin,
        tenant: &str,
        env: &str,
    ) -> Result<Vec<ApplicationSummary>, ServiceError> {
        self.require_environment(tenant, env).await?;
        let apps = self.store.applications(tenant, env).await?;
        let scopes = self.store.environment_scopes(tenant, env).await?;

        Ok(apps
            .into_iter()
            .map(|app| {
                let requestable_scopes = scopes
                    .iter()
                    .filter(|s| app.is_resource && s.application_id == app.id)
                    .map(|s| format!("{}:{}", app.name, s.scope))
                    .collect();
                let token_url = app
                    .is_client
                    .then(|| self.application_token_url(tenant, env, &app.name));
                ApplicationSummary {
                    kind: ApplicationKind::of(app.is_resource, app.is_client),
                    name: app.name,
                    display_name: app.display_name,
                    requestable_scopes,
                    token_url,
                }
            })
            .collect())
    }

    /// The environment's resources with their scopes, for the grants picker.
    pub async fn resource_options(
        &self,
        _admin: &Admin,
        tenant: &str,
        env: &str,
    ) -> Result<Vec<ResourceOption>, ServiceError> {
        self.require_environment(tenant, env).await?;
        let apps = self.store.applications(tenant, env).await?;
        let scopes = self.store.environment_scopes(tenant, env).await?;

        Ok(apps
            .into_iter()
            .filter(|a| a.is_resource)
            .map(|a| ResourceOption {
                scopes: scopes
                    .iter()
                    .filter(|s| s.application_id == a.id)
                    .map(|s| s.scope.clone())
                    .collect(),
                name: a.name,
                display_name: a.display_name,
            })
            .collect())
    }

    /// Registers an OAuth 2.0 resource (an API with scopes).
    pub async fn create_resource(
        &self,
        admin: &Admin,
        tenant: &str,
        env: &str,
        input: NewResourceInput,
        now: i64,
    ) -> Result<ApplicationSummary, ServiceError> {
        self.require_environment(tenant, env).await?;
        if env == MASTER_ENVIRONMENT {
            return Err(invalid(
                "environment",
                "The master environment holds only clients that automate Fennec; \
                 register resources in another environment.",
            ));
        }
        let mut errors = Vec::new();
        let display_name = check_display_name(&input.display_name, &mut errors);
        let name = check_application_name(&input.name, &mut errors);
        let scopes: Vec<String> = input.scopes.iter().map(|s| s.trim().to_string()).collect();
        if let Err(e) = rules::check_scope_list(&scopes) {
            errors.push(FieldError {
                field: "scopes".into(),
                message: e.to_string(),
            });
        }
        if !errors.is_empty() {
            return Err(ServiceError::Invalid(errors));
        }

        let app = NewApplication {
            id: uuid::Uuid::new_v4().to_string(),
            tenant: tenant.to_string(),
            environment: env.to_string(),
            name: name.clone(),
            display_name: display_name.clone(),
            is_resource: true,
            is_client: false,
            auth_method: None,
            token_lifetime_secs: DEFAULT_TOKEN_LIFETIME_SECS,
            scopes: scopes.clone(),
            grants: Vec::new(),
            secret: None,
            certificates: Vec::new(),
            created_at: now,
        };
        let audit = AuditEntry {
            at: now,
            actor: admin.username.clone(),
            tenant: Some(tenant.to_string()),
            environment: Some(env.to_string()),
            action: "resource.created".into(),
            target: Some(name.clone()),
            detail: format!("scopes: {}", scopes.join(" ")),
        };
        self.insert_application(&app, &audit).await?;

        tracing::info!(admin.username = %admin.username, tenant, env, application.name = %name, "resource created");
        Ok(ApplicationSummary {
            requestable_scopes: scopes.iter().map(|s| format!("{name}:{s}")).collect(),
            name,
            display_name,
            kind: ApplicationKind::Resource,
            token_url: None,
        })
    }

    /// Registers an OAuth 2.0 client with a generated secret, shown only in the result.
    pub async fn create_client(
        &self,
        admin: &Admin,
        tenant: &str,
        env: &str,
        input: NewClientInput,
        now: i64,
    ) -> Result<CreatedClient, ServiceError> {
        self.require_environment(tenant, env).await?;
        let mut errors = Vec::new();
        let display_name = check_display_name(&input.display_name, &mut errors);
        let name = check_application_name(&input.name, &mut errors);
        let certificates = check_certificates(input.auth_method, &input.certificates, &mut errors);
        let grants = self
            .check_grants(tenant, env, &input.grants, &mut errors)
            .await?;
        if !errors.is_empty() {
            return Err(ServiceError::Invalid(errors));
        }

        let uses_secret = input.auth_method != ClientAuthMethod::PrivateKeyJwt;
        let secret = uses_secret.then(Secret::generate);
        let new_secret = match &secret {
            Some(secret) => {
                let info = secret::secret_info(secret.expose());
                let to_hash = secret.clone();
                let hash = self.hash(move || secret::hash_secret(&to_hash)).await?;
                Some(NewSecret {
                    id: uuid::Uuid::new_v4().to_string(),
                    hash,
                    info,
                    expires_at: None,
                })
            }
            None => None,
        };
        let scope: Vec<String> = grants.iter().map(|g| g.2.clone()).collect();
        let app = NewApplication {
            id: uuid::Uuid::new_v4().to_string(),
            tenant: tenant.to_string(),
            environment: env.to_string(),
            name: name.clone(),
            display_name,
            is_resource: false,
            is_client: true,
            auth_method: Some(input.auth_method.as_str().to_string()),
            token_lifetime_secs: DEFAULT_TOKEN_LIFETIME_SECS,
            scopes: Vec::new(),
            grants: grants.into_iter().map(|(id, s, _)| (id, s)).collect(),
            secret: new_secret,
            certificates: certificates
                .iter()
                .map(|c| NewCertificate {
                    id: uuid::Uuid::new_v4().to_string(),
                    der: c.der.clone(),
                    sha256_thumbprint: c.sha256_thumbprint.clone(),
                })
                .collect(),
            created_at: now,
        };
        let credentials = match uses_secret {
            true => "one secret generated".to_string(),
            false => {
                let kids: Vec<&str> = certificates.iter().map(|c| c.x5t.as_str()).collect();
                format!("certificates: {}", kids.join(" "))
            }
        };
        let audit = AuditEntry {
            at: now,
            actor: admin.username.clone(),
            tenant: Some(tenant.to_string()),
            environment: Some(env.to_string()),
            action: "client.created".into(),
            target: Some(name.clone()),
            detail: format!(
                "method: {}; grants: {}; {credentials}",
                input.auth_method.as_str(),
                scope.join(" ")
            ),
        };
        self.insert_application(&app, &audit).await?;

        tracing::info!(admin.username = %admin.username, tenant, env, client.id = %name, "client created");
        Ok(CreatedClient {
            token_url: self.application_token_url(tenant, env, &name),
            client_id: name,
            auth_method: input.auth_method,
            secret: secret.map(|s| s.expose().to_string()),
            scope: scope.join(" "),
        })
    }

    /// Reads an uploaded public certificate for the console's list, with the rules of SPEC 3.5.
    pub fn inspect_certificate(
        &self,
        _admin: &Admin,
        der_base64: &str,
    ) -> Result<CertificateView, ServiceError> {
        base64::engine::general_purpose::STANDARD
            .decode(der_base64.trim())
            .map_err(|_| crate::certificate::CertificateError::NotACertificate)
            .and_then(|der| parse_certificate(&der))
            .map(|cert| cert.view())
            .map_err(|e| invalid("certificates", e.to_string()))
    }

    /// Switches whether client assertions in an environment must name only the issuer as
    /// their audience (RFC 7523bis, FAPI 2.0).
    pub async fn set_strict_assertion_audience(
        &self,
        admin: &Admin,
        tenant: &str,
        env: &str,
        strict: bool,
        now: i64,
    ) -> Result<(), ServiceError> {
        let audit = AuditEntry {
            at: now,
            actor: admin.username.clone(),
            tenant: Some(tenant.to_string()),
            environment: Some(env.to_string()),
            action: "environment.assertion_audience_changed".into(),
            target: Some(env.to_string()),
            detail: match strict {
                true => "client assertions must name the issuer only".into(),
                false => "client assertions may name the issuer or the token endpoint".into(),
            },
        };
        match self
            .store
            .set_strict_assertion_audience(tenant, env, strict, &audit)
            .await?
        {
            true => Ok(()),
            false => Err(ServiceError::NotFound(format!("Environment {env}"))),
        }
    }

    /// Whether client assertions in an environment must name only the issuer as audience.
    pub async fn strict_assertion_audience(
        &self,
        tenant: &str,
        env: &str,
    ) -> Result<bool, ServiceError> {
        Ok(self.store.strict_assertion_audience(tenant, env).await?)
    }

    /// Answers a token request (SPEC 4); the caller only adapts HTTP to and from this.
    pub async fn issue_token(
        &self,
        target: TokenTarget<'_>,
        http: &HttpTokenRequest<'_>,
        now: i64,
    ) -> Result<TokenResponse, TokenError> {
        self.issue_token_from(target, http, None, now).await
    }

    /// Answers a token request that came from `source` (the peer's address, when known):
    /// repeated failed secrets for one client or from one source are refused early, without
    /// hashing, unless the secret is one this process has already proven.
    pub async fn issue_token_from(
        &self,
        target: TokenTarget<'_>,
        http: &HttpTokenRequest<'_>,
        source: Option<&str>,
        now: i64,
    ) -> Result<TokenResponse, TokenError> {
        let request = parse_token_request(http)?;
        let tried_header = request.credentials.tried_authorization_header();
        let refuse = |description: &str| TokenError::InvalidClient {
            description: description.to_string(),
            tried_authorization_header: tried_header,
        };

        let path_client = match target.application {
            Some(segment) => {
                Some(application_from_segment(segment).ok_or_else(|| refuse("Unknown client."))?)
            }
            None => None,
        };
        let presented_id = match &request.credentials {
            ClientCredentials::Basic { client_id, .. }
            | ClientCredentials::Post { client_id, .. } => client_id.clone(),
            ClientCredentials::Assertion { assertion, .. } => path_client
                .clone()
                .or_else(|| claimed_client_id(assertion))
                .or_else(|| request.client_id_param.clone())
                .ok_or_else(|| refuse("The client assertion names no client."))?,
            ClientCredentials::None => {
                return Err(refuse("Client authentication is required."));
            }
        };
        if let Some(path_client) = &path_client {
            if *path_client != presented_id {
                return Err(refuse("The credentials are for another client."));
            }
        }
        if let Some(param) = &request.client_id_param {
            if *param != presented_id {
                return Err(TokenError::InvalidRequest(
                    "client_id names a different client than the credentials.".into(),
                ));
            }
        }

        let snapshot = self
            .client_snapshot(target.tenant, target.environment, &presented_id)
            .await?;
        let app = snapshot
            .as_ref()
            .map(|s| s.app.clone())
            .filter(|a| a.is_client);
        let secrets: &[SecretRow] = snapshot.as_ref().map_or(&[], |s| &s.secrets);
        let mut pending_claim = None;
        let authenticated = match &request.credentials {
            ClientCredentials::Basic { secret, .. } | ClientCredentials::Post { secret, .. } => {
                let method = request.credentials.method();
                let client_key = format!("{}/{}/{presented_id}", target.tenant, target.environment);
                let wait = [
                    self.client_failures.wait_for(&client_key, now),
                    source.and_then(|s| self.source_failures.wait_for(s, now)),
                ]
                .into_iter()
                .flatten()
                .max();
                let checked = self
                    .check_client_secret(app.as_ref(), secrets, method, secret.clone(), wait, now)
                    .await?;
                if checked.is_none() {
                    self.client_failures.record_failure(&client_key, now);
                    if let Some(source) = source {
                        self.source_failures.record_failure(source, now);
                    }
                }
                checked
            }
            ClientCredentials::Assertion { assertion, .. } => {
                let (Some(app), Some(snapshot)) = (app, snapshot.as_ref()) else {
                    return Err(refuse("Client authentication failed."));
                };
                let (app, claim) = self
                    .check_client_assertion(&target, app, snapshot, assertion, now)
                    .await
                    .map_err(|message| refuse(&message))?;
                pending_claim = Some(claim);
                Some(app)
            }
            ClientCredentials::None => None,
        };
        let Some(app) = authenticated else {
            return Err(refuse("Client authentication failed."));
        };
        // The token is made while the assertion's use is being recorded; the answer decides
        // whether it is handed out, and a replay is reported before any later error, as if
        // the check had come first.
        let outcome = self
            .grant_token(&target, &request, &app, snapshot.as_ref(), now)
            .await;
        if let Some(claim) = pending_claim {
            if !claim.first_use().await? {
                tracing::warn!(client.id = %app.name, "client assertion replayed");
                return Err(refuse("This client assertion was already used."));
            }
        }
        let (response, audiences) = outcome?;
        tracing::info!(
            tenant = target.tenant,
            env = target.environment,
            client.id = %app.name,
            token.audience = %audiences,
            "access token issued"
        );
        Ok(response)
    }

    /// Everything after client authentication: the grant switch, the scopes and the token,
    /// with the audiences it names.
    async fn grant_token(
        &self,
        target: &TokenTarget<'_>,
        request: &TokenRequest,
        app: &ApplicationRow,
        snapshot: Option<&Arc<ClientSnapshot>>,
        now: i64,
    ) -> Result<(TokenResponse, String), TokenError> {
        if !app.client_credentials_enabled {
            return Err(TokenError::UnauthorizedClient(
                "The client credentials grant is disabled for this client.".into(),
            ));
        }

        let grants = match snapshot {
            Some(snapshot) if snapshot.app.id == app.id => group_grants(snapshot.grants.clone()),
            _ => self.grants_of(&app.id).await?,
        };
        let requested = split_scope_param(request.scope.as_deref().unwrap_or(""));
        let granted = resolve_scopes(&requested, &grants, &app.name)?;
        let key = self
            .primary_key(target.tenant, target.environment, now)
            .await?;
        let issuer = self.issuer(target.tenant, target.environment);
        let access_token = mint_access_token(
            &key,
            &AccessTokenRequest {
                issuer: &issuer,
                client_id: &app.name,
                granted: &granted,
                lifetime_secs: app.token_lifetime_secs,
                now,
            },
        )?;

        let response = TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: app.token_lifetime_secs,
            scope: (!granted.scopes.is_empty()).then(|| granted.scopes.join(" ")),
        };
        Ok((response, granted.audiences.join(" ")))
    }

    /// Discovery metadata of an environment or one of its applications (SPEC 1.6, 1.7, 5.2).
    pub async fn metadata(
        &self,
        tenant: &str,
        env: &str,
        application: Option<&str>,
    ) -> Result<Option<serde_json::Value>, ServiceError> {
        if self.store.environment(tenant, env).await?.is_none() {
            return Ok(None);
        }
        let issuer = self.issuer(tenant, env);
        let mut doc = serde_json::json!({
            "issuer": issuer,
            "token_endpoint": format!("{issuer}oauth/token"),
            "jwks_uri": format!("{issuer}.well-known/openid-configuration/keys"),
            "grant_types_supported": ["client_credentials"],
            "token_endpoint_auth_methods_supported":
                ["client_secret_post", "client_secret_basic", "private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGORITHMS,
            // RFC 8414 requires the member; no authorization endpoint means no response types.
            "response_types_supported": [],
        });

        if let Some(segment) = application {
            let Some(name) = application_from_segment(segment) else {
                return Ok(None);
            };
            let Some(app) = self.store.application(tenant, env, &name).await? else {
                return Ok(None);
            };
            if !app.is_client {
                return Ok(None);
            }
            doc["token_endpoint"] = self.application_token_url(tenant, env, &app.name).into();
            let scopes: Vec<String> = self
                .store
                .client_grants(&app.id)
                .await?
                .into_iter()
                .map(|g| format!("{}:{}", g.resource_name, g.scope))
                .collect();
            doc["scopes_supported"] = scopes.into();
        }
        Ok(Some(doc))
    }

    /// The signing keys published at `now` as a JWK Set: the signer, the next key (before it
    /// signs, so that caches hold it in time) and retired keys whose tokens may still be live.
    pub async fn jwks(
        &self,
        tenant: &str,
        env: &str,
        now: i64,
    ) -> Result<Option<serde_json::Value>, ServiceError> {
        if self.store.environment(tenant, env).await?.is_none() {
            return Ok(None);
        }
        let keys = self
            .current_keys(tenant, env, now)
            .await?
            .into_iter()
            .map(signing_key_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(crate::keys::jwks(&keys).map_err(internal)?))
    }

    /// The environment's published signing keys, signer first (SPEC 5.1).
    pub async fn signing_key_list(
        &self,
        _admin: &Admin,
        tenant: &str,
        env: &str,
        now: i64,
    ) -> Result<Vec<SigningKeyView>, ServiceError> {
        self.require_environment(tenant, env).await?;
        let keys = self.current_keys(tenant, env, now).await?;
        Ok(keys
            .into_iter()
            .map(|k| SigningKeyView {
                kid: k.kid,
                alg: k.alg,
                state: k.state,
                created_at: k.created_at,
                activates_at: k.activates_at,
                retires_at: k.retires_at,
            })
            .collect())
    }

    /// Starts a key rotation: a new key, of `alg` or the signer's algorithm, is published at
    /// once and signs from `grace_secs` on (0: at once). The old signer stays published for
    /// the longest token lifetime of the environment's clients after that.
    pub async fn rotate_signing_key(
        &self,
        admin: &Admin,
        tenant: &str,
        env: &str,
        alg: Option<SigningAlg>,
        grace_secs: i64,
        now: i64,
    ) -> Result<SigningKeyView, ServiceError> {
        self.require_environment(tenant, env).await?;
        if !(0..=MAX_ROTATION_GRACE_SECS).contains(&grace_secs) {
            return Err(invalid(
                "grace",
                format!("The grace period is 0 to {MAX_ROTATION_GRACE_SECS} seconds."),
            ));
        }
        let alg = match alg {
            Some(alg) => alg,
            None => self
                .current_keys(tenant, env, now)
                .await?
                .into_iter()
                .find(|k| k.state == "primary")
                .and_then(|k| k.alg.parse::<SigningAlg>().ok())
                .unwrap_or(SigningAlg::RS256),
        };

        // RSA key generation takes a noticeable moment: keep it off the async threads.
        let key = tokio::task::spawn_blocking(move || SigningKey::generate(alg))
            .await
            .map_err(internal)?
            .map_err(internal)?;
        let new_key = NewSigningKey {
            kid: key.kid.clone(),
            alg: key.alg.as_str().to_string(),
            private_der: key.private_pkcs8_der.clone(),
        };
        let activates_at = now + grace_secs;
        let audit = AuditEntry {
            at: now,
            actor: admin.username.clone(),
            tenant: Some(tenant.to_string()),
            environment: Some(env.to_string()),
            action: "signing_key.rotation_started".into(),
            target: Some(key.kid.clone()),
            detail: format!("{alg} key published, signs from {}", utc(activates_at)),
        };
        if !self
            .store
            .insert_next_key(tenant, env, &new_key, activates_at, &audit)
            .await?
        {
            return Err(invalid(
                "rotation",
                "A rotation is already under way: its next key has not started signing yet.",
            ));
        }

        let keys = self.signing_key_list(admin, tenant, env, now).await?;
        keys.into_iter()
            .find(|k| k.kid == key.kid)
            .ok_or_else(|| internal("the new signing key is not listed"))
    }

    /// The published keys at `now`, after making a next key whose time has come the signer
    /// (the old one stays published while its tokens live). Reads once when nothing is due.
    async fn current_keys(
        &self,
        tenant: &str,
        env: &str,
        now: i64,
    ) -> Result<Vec<SigningKeyRow>, StoreError> {
        let keys = self.store.signing_keys(tenant, env, now).await?;
        let due = keys
            .iter()
            .any(|k| k.state == "next" && k.activates_at.is_some_and(|at| at <= now));
        if !due {
            return Ok(keys);
        }
        let longest = self.store.longest_token_lifetime(tenant, env).await?;
        let retire_after = longest.unwrap_or(DEFAULT_TOKEN_LIFETIME_SECS);
        if self
            .store
            .promote_due_key(tenant, env, now, retire_after)
            .await?
        {
            tracing::info!(tenant, env, "the next signing key now signs tokens");
        }
        self.store.signing_keys(tenant, env, now).await
    }

    /// The stored secrets of a client, oldest first, without their values.
    pub async fn client_secret_list(
        &self,
        _admin: &Admin,
        tenant: &str,
        env: &str,
        app: &str,
    ) -> Result<Vec<SecretView>, ServiceError> {
        let client = self.require_client(tenant, env, app).await?;
        self.client_secret_views(&client.id).await
    }

    async fn client_secret_views(&self, client_id: &str) -> Result<Vec<SecretView>, ServiceError> {
        let secrets = self.store.client_secrets(client_id).await?;
        Ok(secrets
            .into_iter()
            .map(|s| SecretView {
                id: s.id,
                info: s.info,
                created_at: s.created_at,
                expires_at: s.expires_at,
            })
            .collect())
    }

    /// Removes one secret of a client; it authenticates no request from then on.
    pub async fn remove_client_secret(
        &self,
        admin: &Admin,
        tenant: &str,
        env: &str,
        app: &str,
        secret_id: &str,
        now: i64,
    ) -> Result<(), ServiceError> {
        let client = self.require_client(tenant, env, app).await?;
        let audit = AuditEntry {
            at: now,
            actor: admin.username.clone(),
            tenant: Some(tenant.to_string()),
            environment: Some(env.to_string()),
            action: "client_secret.removed".into(),
            target: Some(client.name.clone()),
            detail: format!("secret {secret_id}"),
        };
        self.proven.forget(&client.id);
        match self
            .store
            .delete_client_secret(&client.id, secret_id, &audit)
            .await?
        {
            true => {
                self.sweep_after_removal(now).await;
                Ok(())
            }
            false => Err(ServiceError::NotFound("The secret".into())),
        }
    }

    async fn require_client(
        &self,
        tenant: &str,
        env: &str,
        app: &str,
    ) -> Result<ApplicationRow, ServiceError> {
        match self.require_application(tenant, env, app).await {
            Ok(row) if row.is_client => Ok(row),
            Ok(_) | Err(ServiceError::NotFound(_)) => {
                Err(ServiceError::NotFound(format!("The client {app}")))
            }
            Err(e) => Err(e),
        }
    }

    /// The newest audit records of a tenant.
    pub async fn audit_log(
        &self,
        _admin: &Admin,
        tenant: &str,
    ) -> Result<Vec<AuditEntry>, ServiceError> {
        Ok(self.store.audit_log(tenant, None, 200).await?)
    }

    async fn require_environment(&self, tenant: &str, env: &str) -> Result<(), ServiceError> {
        match self.store.environment(tenant, env).await? {
            Some(_) => Ok(()),
            None => Err(ServiceError::NotFound(format!(
                "The environment {tenant}/{env}"
            ))),
        }
    }

    async fn insert_application(
        &self,
        app: &NewApplication,
        audit: &AuditEntry,
    ) -> Result<(), ServiceError> {
        match self.store.insert_application(app, audit).await {
            Ok(()) => Ok(()),
            Err(e) if e.is_unique_violation() => Err(taken(
                "name",
                format!("The name {} is already used in this environment.", app.name),
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// Checks the wizard's grants against the environment's resources; returns
    /// (resource id, scope, `{resource}:{scope}`) in the order given, without repeats.
    async fn check_grants(
        &self,
        tenant: &str,
        env: &str,
        grants: &[GrantInput],
        errors: &mut Vec<FieldError>,
    ) -> Result<Vec<(String, String, String)>, ServiceError> {
        let apps = self.store.applications(tenant, env).await?;
        let scopes = self.store.environment_scopes(tenant, env).await?;
        let mut checked = Vec::new();

        for grant in grants {
            let wanted = grant.resource.trim().to_lowercase();
            if grant.scopes.is_empty() {
                errors.push(FieldError {
                    field: "grants".into(),
                    message: format!("Choose at least one scope of {wanted}."),
                });
                continue;
            }
            let Some(resource) = apps.iter().find(|a| a.is_resource && a.name == wanted) else {
                errors.push(FieldError {
                    field: "grants".into(),
                    message: format!("There is no resource named {}.", grant.resource),
                });
                continue;
            };
            for scope in &grant.scopes {
                let exists = scopes
                    .iter()
                    .any(|s| s.application_id == resource.id && s.scope == *scope);
                if !exists {
                    errors.push(FieldError {
                        field: "grants".into(),
                        message: format!("{} has no scope named {scope}.", resource.name),
                    });
                    continue;
                }
                let full = format!("{}:{scope}", resource.name);
                if !checked
                    .iter()
                    .any(|(_, _, f): &(String, String, String)| *f == full)
                {
                    checked.push((resource.id.clone(), scope.clone(), full));
                }
            }
        }
        Ok(checked)
    }

    /// Runs the secret check for a client, spending the same effort when the client is unknown.
    async fn check_client_secret(
        &self,
        app: Option<&ApplicationRow>,
        secrets: &[SecretRow],
        method: Option<ClientAuthMethod>,
        presented: Secret,
        refused_for: Option<i64>,
        now: i64,
    ) -> Result<Option<ApplicationRow>, TokenError> {
        let registered_method = app
            .and_then(|a| a.auth_method.as_deref())
            .and_then(|m| m.parse::<ClientAuthMethod>().ok());
        let usable = app.is_some() && method.is_some() && registered_method == method;
        let stored: Vec<StoredSecret> = match app {
            Some(_) if usable => secrets
                .iter()
                .map(|s| StoredSecret {
                    id: s.id.clone(),
                    hash: s.hash.clone(),
                    info: s.info.clone(),
                    expires_at: s.expires_at,
                })
                .collect(),
            _ => Vec::new(),
        };

        // A secret this process already proved skips Argon2; the memo is consulted only for
        // the secrets just read as unexpired, so a removed or expired one never passes.
        if let Some(app) = app.filter(|_| usable) {
            // All unexpired secrets, not only those the presented one may be: a wrong secret
            // must not make the memo forget the right one.
            let current: Vec<&StoredSecret> =
                stored.iter().filter(|s| !s.is_expired(now)).collect();
            if self.proven.check(&app.id, &current, presented.expose()) {
                return Ok(Some(app.clone()));
            }
        }
        // Refused for now: no hashing until the wait is over.
        if let Some(wait) = refused_for {
            return Err(TokenError::TooManyAttempts { retry_after: wait });
        }

        let decoy = self.dummy_hash.clone();
        let to_check = presented.clone();
        let matched = self
            .hashing
            .run(move || secret::matching_secret_evenly(to_check.expose(), &stored, now, &decoy))
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "secret verification failed to run");
                TokenError::ServerError
            })?;
        match (app, matched) {
            (Some(app), Some(secret_id)) if usable => {
                let expires_at = secrets
                    .iter()
                    .find(|s| s.id == secret_id)
                    .and_then(|s| s.expires_at);
                self.proven
                    .remember(&app.id, &secret_id, expires_at, presented.expose());
                Ok(Some(app.clone()))
            }
            _ => Ok(None),
        }
    }

    /// Drops this process's proven-secret tags (see [`ProvenSecrets`]) of secrets that expired
    /// by `now`, and of secrets removed by any instance in the last
    /// [`REMOVED_SECRETS_WINDOW_SECS`], which are not remembered again meanwhile.
    pub async fn sweep_proven_secrets(&self, now: i64) -> Result<(), StoreError> {
        self.proven.drop_expired(now);
        let since = now.saturating_sub(REMOVED_SECRETS_WINDOW_SECS);
        let removed = self.store.secrets_removed_since(since).await?;
        self.proven.note_removed(removed);
        Ok(())
    }

    /// Sweeps at once after this process removed secrets, so that a check already under way
    /// cannot bring their tags back; a failure leaves it to the next regular sweep.
    async fn sweep_after_removal(&self, now: i64) {
        if let Err(e) = self.sweep_proven_secrets(now).await {
            if !e.is_unavailable() {
                tracing::warn!(error = %e, "could not sweep proven secrets after a removal");
            }
        }
    }

    /// Runs [`Fennec::sweep_proven_secrets`] every `interval`, so that the tag of a secret
    /// removed at another instance, or expired, outlives it by no more than that and one read.
    /// Never returns; spawn it beside the server. While the store cannot be reached the tags
    /// stay, and the sweep after the store is back drops what went meanwhile.
    pub async fn sweep_proven_secrets_every(self, interval: std::time::Duration) {
        let mut tick = tokio::time::interval(interval.max(std::time::Duration::from_millis(1)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut failing = false;
        loop {
            tick.tick().await;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64);
            // An outage is logged by the store, once per outage; another failure once until
            // a sweep succeeds again.
            match self.sweep_proven_secrets(now).await {
                Ok(()) => failing = false,
                Err(e) if !e.is_unavailable() && !failing => {
                    failing = true;
                    tracing::warn!(error = %e, "could not sweep proven secrets");
                }
                Err(_) => {}
            }
        }
    }

    /// How many proven-secret tags this process holds (see [`ProvenSecrets`]).
    pub fn proven_secrets_held(&self) -> usize {
        self.proven.len()
    }

    /// Verifies a `private_key_jwt` assertion (SPEC 4.7) and starts using up its `jti`: the
    /// use is recorded while the caller goes on, and the caller must await the answer, which
    /// tells whether the assertion was new, before it hands anything out.
    async fn check_client_assertion(
        &self,
        target: &TokenTarget<'_>,
        app: ApplicationRow,
        snapshot: &ClientSnapshot,
        assertion: &str,
        now: i64,
    ) -> Result<(ApplicationRow, PendingClaim), String> {
        let method = app.auth_method.as_deref().and_then(|m| m.parse().ok());
        if method != Some(ClientAuthMethod::PrivateKeyJwt) {
            return Err("Client authentication failed.".to_string());
        }
        let certificates = &snapshot.certificates;
        let strict_audience = snapshot.strict_audience;
        let issuer = self.issuer(target.tenant, target.environment);
        let endpoint = match target.application {
            Some(_) => TokenEndpoint::Application(&app.name),
            None => TokenEndpoint::Environment,
        };
        let verified = verify_assertion(
            assertion,
            certificates,
            &AssertionRules {
                client_id: &app.name,
                issuer: &issuer,
                endpoint,
                strict_audience,
                now,
            },
        )
        .map_err(|e| {
            tracing::info!(client.id = %app.name, reason = %e, "client assertion refused");
            e.to_string()
        })?;

        self.prune_assertion_ids(now).await;
        let claim = AssertionClaim {
            application_id: app.id.clone(),
            jti: verified.jti,
            expires_at: verified.expires_at,
        };
        let (replay, store) = (self.replay.clone(), self.store.clone());
        // A task of its own: the use is recorded even if this request goes away meanwhile.
        let first_use = tokio::spawn(async move { replay.claim(&store, claim, now).await });
        // A task spawned here waits, as a rule, until this one stops for something; stopping
        // now lets the write reach the database before the token is signed rather than after.
        tokio::task::yield_now().await;
        Ok((app, PendingClaim(first_use)))
    }

    /// Removes expired assertion ids, at most once a minute per process.
    async fn prune_assertion_ids(&self, now: i64) {
        use std::sync::atomic::Ordering;
        let last = self.last_assertion_prune.load(Ordering::Relaxed);
        if now - last < ASSERTION_PRUNE_INTERVAL_SECS {
            return;
        }
        if self
            .last_assertion_prune
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
        {
            return;
        }
        // A use may wait a moment between its check and its write; an id kept a minute past
        // its assertion's expiry cannot be forgotten while a replay of it is still on its way.
        let forget_before = now.saturating_sub(ASSERTION_PRUNE_MARGIN_SECS);
        if let Err(e) = self.store.prune_assertion_ids(forget_before).await {
            tracing::warn!(error = %e, "could not prune expired assertion ids");
        }
    }

    async fn grants_of(&self, client_app_id: &str) -> Result<Vec<Grant>, TokenError> {
        let rows = self
            .store
            .client_grants(client_app_id)
            .await
            .map_err(store_failure)?;
        Ok(group_grants(rows))
    }

    /// A registration with its secrets and grants as the token endpoint needs them, read at
    /// most once per moment (see [`crate::recent`]); `None` for an unknown name.
    async fn client_snapshot(
        &self,
        tenant: &str,
        env: &str,
        name: &str,
    ) -> Result<Option<Arc<ClientSnapshot>>, TokenError> {
        let key = format!("{tenant}/{env}/{name}");
        let generation = self.store.generation();
        if let Some(snapshot) = self.recent_clients.get(&key, generation) {
            return Ok(Some(snapshot));
        }
        let Some(app) = self
            .store
            .application(tenant, env, name)
            .await
            .map_err(store_failure)?
        else {
            return Ok(None);
        };
        let secrets = self
            .store
            .client_secrets(&app.id)
            .await
            .map_err(store_failure)?;
        let grants = self
            .store
            .client_grants(&app.id)
            .await
            .map_err(store_failure)?;
        // Only clients that sign assertions need their certificates and the audience rule.
        let signs = app.auth_method.as_deref() == Some(ClientAuthMethod::PrivateKeyJwt.as_str());
        let (certificates, strict_audience) = match signs {
            true => (
                self.parsed_certificates(&app.id).await?,
                self.store
                    .strict_assertion_audience(tenant, env)
                    .await
                    .map_err(store_failure)?,
            ),
            false => (Vec::new(), false),
        };
        let snapshot = Arc::new(ClientSnapshot {
            app,
            secrets,
            grants,
            certificates,
            strict_audience,
        });
        self.recent_clients.put(key, generation, snapshot.clone());
        Ok(Some(snapshot))
    }

    /// A client's stored certificates, parsed; one that no longer parses is logged and skipped.
    async fn parsed_certificates(
        &self,
        client_app_id: &str,
    ) -> Result<Vec<AssertionKey>, TokenError> {
        Ok(self
            .store
            .client_certificates(client_app_id)
            .await
            .map_err(store_failure)?
            .into_iter()
            .filter_map(|row| match parse_certificate(&row.der) {
                Ok(cert) => Some(AssertionKey::new(cert)),
                Err(e) => {
                    tracing::error!(certificate.id = %row.id, error = %e, "a stored client certificate no longer parses");
                    None
                }
            })
            .collect())
    }

    /// The environment's primary signing key, parsed once per process and looked up at most
    /// once per moment (see [`crate::recent`]).
    async fn primary_key(
        &self,
        tenant: &str,
        env: &str,
        now: i64,
    ) -> Result<Arc<LoadedKey>, TokenError> {
        let cache_key = format!("{tenant}/{env}");
        let generation = self.store.generation();
        if let Some((key, switch_at)) = self.recent_signers.get(&cache_key, generation) {
            // Kept only until a next key is due to take over.
            if switch_at.is_none_or(|at| now < at) {
                return Ok(key);
            }
        }

        let rows = self
            .current_keys(tenant, env, now)
            .await
            .map_err(store_failure)?;
        let switch_at = rows
            .iter()
            .filter(|k| k.state == "next")
            .filter_map(|k| k.activates_at)
            .min();
        let Some(row) = rows.into_iter().find(|k| k.state == "primary") else {
            tracing::error!(tenant, env, "environment has no primary signing key");
            return Err(TokenError::ServerError);
        };
        let key = self.loaded_key(row).map_err(|e| {
            tracing::error!(error = %e, "signing key cannot be loaded");
            TokenError::ServerError
        })?;
        self.recent_signers
            .put(cache_key, generation, (key.clone(), switch_at));
        Ok(key)
    }

    /// A stored signing key, parsed once per process.
    fn loaded_key(&self, row: SigningKeyRow) -> Result<Arc<LoadedKey>, ServiceError> {
        if let Some(key) = self.cached_key(&row.kid) {
            return Ok(key);
        }
        let kid = row.kid.clone();
        let loaded =
            signing_key_from_row(row).and_then(|k| LoadedKey::load(&k).map_err(internal))?;
        let loaded = Arc::new(loaded);
        if let Ok(mut cache) = self.loaded_keys.lock() {
            cache.insert(kid, loaded.clone());
        }
        Ok(loaded)
    }

    /// How many Argon2 hashes or verifications this process has started.
    pub fn hashing_runs(&self) -> u64 {
        self.hashing.runs()
    }

    /// Runs fallible hashing work through the bounded hashing pool.
    async fn hash<T, E>(
        &self,
        work: impl FnOnce() -> Result<T, E> + Send + 'static,
    ) -> Result<T, ServiceError>
    where
        T: Send + 'static,
        E: Into<Box<dyn std::error::Error + Send + Sync>> + Send + 'static,
    {
        self.hashing
            .run(work)
            .await
            .map_err(internal)?
            .map_err(internal)
    }

    fn cached_key(&self, kid: &str) -> Option<Arc<LoadedKey>> {
        self.loaded_keys.lock().ok()?.get(kid).cloned()
    }
}

/// A time in seconds since 1970 as an RFC 3339 UTC timestamp, for audit details.
pub(crate) fn utc(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| secs.to_string())
}

/// A signing algorithm as an administrator names it: `RS256` or `ES256` (SPEC 5.1).
pub fn parse_signing_alg(value: &str) -> Result<SigningAlg, ServiceError> {
    value
        .trim()
        .to_ascii_uppercase()
        .parse()
        .map_err(|_| invalid("alg", "The signing algorithm is RS256 or ES256."))
}

/// The application name in a URL segment, without a `(…)` selector (SPEC 1.3).
pub fn application_from_segment(segment: &str) -> Option<String> {
    let name = match segment.find('(') {
        Some(open) if segment.ends_with(')') => &segment[..open],
        Some(_) => return None,
        None => segment,
    };
    rules::normalize_name(name).ok()
}

fn new_environment(
    name: &str,
    display_name: &str,
    sort_order: i64,
) -> Result<NewEnvironment, ServiceError> {
    let key = SigningKey::generate(SigningAlg::RS256).map_err(internal)?;
    Ok(NewEnvironment {
        name: name.to_string(),
        display_name: display_name.to_string(),
        sort_order,
        key_kid: key.kid.clone(),
        key_alg: key.alg.as_str().to_string(),
        key_der: key.private_pkcs8_der.clone(),
    })
}

fn signing_key_from_row(row: crate::store::SigningKeyRow) -> Result<SigningKey, ServiceError> {
    let alg = row
        .alg
        .parse::<SigningAlg>()
        .map_err(|_| internal(format!("unknown signing algorithm {}", row.alg)))?;
    Ok(SigningKey {
        kid: row.kid,
        alg,
        private_pkcs8_der: row.private_der,
    })
}

fn check_username(input: &str, errors: &mut Vec<FieldError>) -> String {
    match rules::normalize_name(input) {
        Ok(name) => name,
        Err(e) => {
            errors.push(FieldError {
                field: "username".into(),
                message: e.to_string(),
            });
            String::new()
        }
    }
}

fn check_tenant_name(input: &str, errors: &mut Vec<FieldError>) -> String {
    match rules::normalize_name(input) {
        Ok(name) if RESERVED_TENANT_NAMES.contains(&name.as_str()) => {
            errors.push(FieldError {
                field: "tenant".into(),
                message: format!("{name} is reserved by Fennec; choose another name."),
            });
            name
        }
        Ok(name) => name,
        Err(e) => {
            errors.push(FieldError {
                field: "tenant".into(),
                message: e.to_string(),
            });
            String::new()
        }
    }
}

fn check_application_name(input: &str, errors: &mut Vec<FieldError>) -> String {
    if input.trim().is_empty() {
        return crate::names::generate_name();
    }
    match rules::normalize_name(input) {
        Ok(name) => name,
        Err(e) => {
            errors.push(FieldError {
                field: "name".into(),
                message: e.to_string(),
            });
            String::new()
        }
    }
}

/// Reads the uploaded certificates of a new client and applies SPEC 3.5: needed for
/// `private_key_jwt` (one to four, no duplicates), refused for the secret methods.
fn check_certificates(
    method: ClientAuthMethod,
    uploads: &[String],
    errors: &mut Vec<FieldError>,
) -> Vec<ClientCertificate> {
    let mut refuse = |message: String| {
        errors.push(FieldError {
            field: "certificates".into(),
            message,
        })
    };
    if method != ClientAuthMethod::PrivateKeyJwt {
        if !uploads.is_empty() {
            refuse(
                "Certificates are used only by clients that authenticate with private key JWT."
                    .into(),
            );
        }
        return Vec::new();
    }
    if uploads.is_empty() {
        refuse("A private key JWT client needs at least one certificate.".into());
        return Vec::new();
    }
    if uploads.len() > MAX_CLIENT_CERTIFICATES {
        refuse(format!(
            "A client can have at most {MAX_CLIENT_CERTIFICATES} certificates."
        ));
        return Vec::new();
    }
    let mut accepted: Vec<ClientCertificate> = Vec::new();
    for (index, upload) in uploads.iter().enumerate() {
        let number = index + 1;
        let parsed = base64::engine::general_purpose::STANDARD
            .decode(upload.trim())
            .map_err(|_| crate::certificate::CertificateError::NotACertificate)
            .and_then(|der| parse_certificate(&der));
        match parsed {
            Ok(cert)
                if accepted
                    .iter()
                    .any(|c| c.sha256_thumbprint == cert.sha256_thumbprint) =>
            {
                refuse(format!(
                    "Certificate {number} is a duplicate of an earlier one."
                ));
            }
            Ok(cert) => accepted.push(cert),
            Err(e) => refuse(format!("Certificate {number}: {e}")),
        }
    }
    accepted
}

fn check_display_name(input: &str, errors: &mut Vec<FieldError>) -> String {
    match rules::check_display_name(input) {
        Ok(name) => name,
        Err(e) => {
            errors.push(FieldError {
                field: "display_name".into(),
                message: e.to_string(),
            });
            String::new()
        }
    }
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Tokens with 256 bits of entropy need no slow hash: SHA-256 keeps them unusable if leaked.
fn sha256_b64(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

fn internal(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> ServiceError {
    ServiceError::Internal(e.into())
}

fn store_failure(e: StoreError) -> TokenError {
    // An outage is logged by the store once per burst; anything else is logged here.
    if !e.is_unavailable() {
        tracing::error!(error = %e, "database failure while issuing a token");
    }
    TokenError::TemporarilyUnavailable
}
