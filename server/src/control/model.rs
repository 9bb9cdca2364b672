//! The Control API's JSON documents, described for the OpenAPI document, and their
//! conversions from and to the domain's values.

use fennec_core::rules::ClientAuthMethod;
use fennec_core::views::{
    AddedSecret, ApplicationDetails, ApplicationKind, AuditView, CertificateView, EnvironmentView,
    GrantInput, SecretView, SigningKeyView,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A tenant and its environments.
#[derive(Debug, Serialize, ToSchema)]
pub struct Tenant {
    /// The tenant's name, the first segment of its URLs.
    pub name: String,
    pub environments: Vec<Environment>,
}

/// An environment: its own signing keys, issuer and registrations.
#[derive(Debug, Serialize, ToSchema)]
pub struct Environment {
    /// The environment's name (`-` is the Production environment).
    pub name: String,
    pub display_name: String,
    /// The issuer (`iss`) of its tokens, with its trailing slash.
    pub issuer: String,
    pub token_endpoint: String,
    pub metadata_url: String,
}

/// A new environment.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentInput {
    /// 1 to 50 characters of `a-z 0-9 _ -`; input is trimmed and lower-cased.
    pub name: String,
    pub display_name: String,
}

/// What can change about an environment.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentUpdate {
    pub display_name: String,
}

/// An OAuth 2.0 resource: an API with scopes, whose name is the `aud` of tokens for it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Resource {
    pub name: String,
    pub display_name: String,
    pub notes: String,
    /// The scopes, in order.
    pub scopes: Vec<String>,
    /// The `{resource}:{scope}` strings clients ask for.
    pub requestable_scopes: Vec<String>,
    /// The clients granted any of its scopes.
    pub granted_to: Vec<String>,
    /// Whether the same registration is also a client.
    pub is_client: bool,
}

/// A resource to register, or the full new state of one (`PUT`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceInput {
    /// 1 to 50 characters of `a-z 0-9 _ -`; generated when left empty on creation. A
    /// different name in a `PUT` renames the resource.
    #[serde(default)]
    pub name: String,
    pub display_name: String,
    /// 1 to 100 scopes.
    pub scopes: Vec<String>,
    #[serde(default)]
    pub notes: String,
}

/// How a client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    #[default]
    ClientSecretPost,
    ClientSecretBasic,
    PrivateKeyJwt,
}

impl From<AuthMethod> for ClientAuthMethod {
    fn from(method: AuthMethod) -> Self {
        match method {
            AuthMethod::ClientSecretPost => ClientAuthMethod::ClientSecretPost,
            AuthMethod::ClientSecretBasic => ClientAuthMethod::ClientSecretBasic,
            AuthMethod::PrivateKeyJwt => ClientAuthMethod::PrivateKeyJwt,
        }
    }
}

impl From<ClientAuthMethod> for AuthMethod {
    fn from(method: ClientAuthMethod) -> Self {
        match method {
            ClientAuthMethod::ClientSecretPost => AuthMethod::ClientSecretPost,
            ClientAuthMethod::ClientSecretBasic => AuthMethod::ClientSecretBasic,
            ClientAuthMethod::PrivateKeyJwt => AuthMethod::PrivateKeyJwt,
        }
    }
}

/// Scopes of one resource granted to a client.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    pub resource: String,
    pub scopes: Vec<String>,
}

impl From<Grant> for GrantInput {
    fn from(grant: Grant) -> Self {
        GrantInput {
            resource: grant.resource,
            scopes: grant.scopes,
        }
    }
}

impl From<GrantInput> for Grant {
    fn from(grant: GrantInput) -> Self {
        Grant {
            resource: grant.resource,
            scopes: grant.scopes,
        }
    }
}

/// An OAuth 2.0 client of the client credentials grant.
#[derive(Debug, Serialize, ToSchema)]
pub struct Client {
    /// The client id.
    pub name: String,
    pub display_name: String,
    pub notes: String,
    pub auth_method: AuthMethod,
    pub grants: Vec<Grant>,
    /// Lifetime of its access tokens, in seconds.
    pub token_lifetime_secs: i64,
    pub client_credentials_enabled: bool,
    /// Its own token URL; the environment's token endpoint serves it too.
    pub token_url: String,
    /// Whether the same registration is also a resource.
    pub is_resource: bool,
}

/// A client just registered: its one and only look at a generated secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedClient {
    #[serde(flatten)]
    pub client: Client,
    /// The generated secret, shown this once; `null` for a `private_key_jwt` client.
    pub secret: Option<String>,
}

/// A client to register.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewClientInput {
    /// 1 to 50 characters of `a-z 0-9 _ -`; generated when left empty.
    #[serde(default)]
    pub name: String,
    pub display_name: String,
    #[serde(default)]
    pub auth_method: AuthMethod,
    #[serde(default)]
    pub grants: Vec<Grant>,
    /// Public certificates (PEM, or DER in base64) of a `private_key_jwt` client.
    #[serde(default)]
    pub certificates: Vec<String>,
}

/// The full new state of a client (its secrets and certificates are managed on their own).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientUpdate {
    /// A different name renames the client: its client id and token URL change.
    #[serde(default)]
    pub name: String,
    pub display_name: String,
    #[serde(default)]
    pub notes: String,
    pub auth_method: AuthMethod,
    pub grants: Vec<Grant>,
    /// 300 to 86400 seconds.
    pub token_lifetime_secs: i64,
    pub client_credentials_enabled: bool,
}

/// A stored client secret: never its value.
#[derive(Debug, Serialize, ToSchema)]
pub struct SecretInfo {
    pub id: String,
    /// The secret's first three characters, for telling secrets apart; `null` for short ones.
    pub info: Option<String>,
    /// Seconds since 1970.
    pub created_at: i64,
    /// Seconds since 1970; `null` when the secret does not expire.
    pub expires_at: Option<i64>,
}

impl From<SecretView> for SecretInfo {
    fn from(secret: SecretView) -> Self {
        SecretInfo {
            id: secret.id,
            info: secret.info,
            created_at: secret.created_at,
            expires_at: secret.expires_at,
        }
    }
}

/// A secret to add: generated by Fennec unless a value is given.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretInput {
    /// A secret of your own; leave it out to have one generated.
    pub value: Option<String>,
    /// Seconds since 1970; the secret no longer authenticates from then on.
    pub expires_at: Option<i64>,
}

/// A secret just added, with its value this once when Fennec generated it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedSecret {
    #[serde(flatten)]
    pub secret: SecretInfo,
    /// The generated value, shown this once; `null` when the value was given.
    pub value: Option<String>,
}

impl From<AddedSecret> for CreatedSecret {
    fn from(added: AddedSecret) -> Self {
        CreatedSecret {
            secret: added.secret.into(),
            value: added.value,
        }
    }
}

/// A public certificate of a `private_key_jwt` client.
#[derive(Debug, Serialize, ToSchema)]
pub struct Certificate {
    /// The SHA-256 thumbprint, which identifies the certificate in this API.
    pub id: String,
    /// The `kid` client developers put in their assertion header (the `x5t` value).
    pub kid: String,
    pub subject: String,
    pub issuer: String,
    pub serial: String,
    /// Seconds since 1970.
    pub not_before: i64,
    /// Seconds since 1970.
    pub not_after: i64,
    pub sha1_thumbprint: String,
    pub key_type: String,
    pub key_size: u32,
    /// The certificate, DER in standard base64.
    pub der_base64: String,
}

impl From<CertificateView> for Certificate {
    fn from(cert: CertificateView) -> Self {
        Certificate {
            id: cert.sha256_thumbprint,
            kid: cert.kid,
            subject: cert.subject,
            issuer: cert.issuer,
            serial: cert.serial,
            not_before: cert.not_before,
            not_after: cert.not_after,
            sha1_thumbprint: cert.sha1_thumbprint,
            key_type: cert.key_type,
            key_size: cert.key_size,
            der_base64: cert.der_base64,
        }
    }
}

/// A certificate to add to a client.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CertificateInput {
    /// The public certificate, PEM or DER in base64. Never a private key.
    pub certificate: String,
}

/// A published signing key of an environment.
#[derive(Debug, Serialize, ToSchema)]
pub struct SigningKey {
    pub kid: String,
    /// `RS256` or `ES256`.
    pub alg: String,
    /// `primary` (signs tokens), `next` (published, signs from `activates_at`) or `retired`
    /// (published until `retires_at` so that the tokens it signed still verify).
    pub state: String,
    /// Seconds since 1970.
    pub created_at: i64,
    pub activates_at: Option<i64>,
    pub retires_at: Option<i64>,
}

impl From<SigningKeyView> for SigningKey {
    fn from(key: SigningKeyView) -> Self {
        SigningKey {
            kid: key.kid,
            alg: key.alg,
            state: key.state,
            created_at: key.created_at,
            activates_at: key.activates_at,
            retires_at: key.retires_at,
        }
    }
}

/// A key rotation to start.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotationInput {
    /// `RS256` or `ES256`; the current signer's algorithm when left out.
    pub alg: Option<String>,
    /// Seconds between publishing the new key and its first signature, 0 to 2592000; one
    /// day when left out, so that resource servers caching the key set fetch it in time.
    pub grace_secs: Option<i64>,
}

/// One recorded change. Never holds a secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditRecord {
    /// Seconds since 1970.
    pub at: i64,
    /// The administrator or automation client who made the change.
    pub actor: String,
    pub environment: Option<String>,
    /// What happened, e.g. `client_secret.added`.
    pub action: String,
    /// The registration, environment, tenant or key it happened to.
    pub target: Option<String>,
    pub detail: String,
}

impl From<AuditView> for AuditRecord {
    fn from(entry: AuditView) -> Self {
        AuditRecord {
            at: entry.at,
            actor: entry.actor,
            environment: entry.environment,
            action: entry.action,
            target: entry.target,
            detail: entry.detail,
        }
    }
}

/// Filters of the audit trail.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only records whose target contains this text.
    pub target: Option<String>,
}

/// Confirmation of a change that takes grants away from clients.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Confirmation {
    /// Set to `true` after a 409 `needs-confirmation` answer, to go ahead anyway.
    #[serde(default)]
    pub confirm: bool,
}

impl Environment {
    /// The document of an environment, with the URLs its clients and resource servers use.
    pub fn of(view: EnvironmentView, urls: fennec_core::views::EnvironmentUrls) -> Self {
        Environment {
            name: view.name,
            display_name: view.display_name,
            issuer: urls.authority,
            token_endpoint: urls.token_url,
            metadata_url: urls.metadata_url,
        }
    }
}

impl Resource {
    pub fn of(details: ApplicationDetails) -> Self {
        Resource {
            is_client: details.kind != ApplicationKind::Resource,
            name: details.name,
            display_name: details.display_name,
            notes: details.notes,
            scopes: details.scopes,
            requestable_scopes: details.requestable_scopes,
            granted_to: details.granted_to,
        }
    }
}

impl Client {
    pub fn of(details: ApplicationDetails) -> Self {
        Client {
            is_resource: details.kind != ApplicationKind::Client,
            auth_method: details.auth_method.unwrap_or_default().into(),
            grants: details.grants.into_iter().map(Grant::from).collect(),
            token_url: details.token_url.unwrap_or_default(),
            name: details.name,
            display_name: details.display_name,
            notes: details.notes,
            token_lifetime_secs: details.token_lifetime_secs,
            client_credentials_enabled: details.client_credentials_enabled,
        }
    }
}
