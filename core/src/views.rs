//! What the console shows and sends: plain serialisable values shared by server and browser.

use serde::{Deserialize, Serialize};

/// Kind of an application registration, as the console's type badge names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ApplicationKind {
    Resource,
    Client,
    ClientAndResource,
}

impl ApplicationKind {
    /// Label of the console's type badge.
    pub fn label(self) -> &'static str {
        match self {
            ApplicationKind::Resource => "Resource",
            ApplicationKind::Client => "Client",
            ApplicationKind::ClientAndResource => "Client and Resource",
        }
    }

    /// The kind of a registration that is a resource, a client, or both.
    pub fn of(is_resource: bool, is_client: bool) -> ApplicationKind {
        match (is_resource, is_client) {
            (true, true) => ApplicationKind::ClientAndResource,
            (false, true) => ApplicationKind::Client,
            _ => ApplicationKind::Resource,
        }
    }
}

/// A tenant environment as listed in the console's selector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvironmentView {
    pub name: String,
    pub display_name: String,
}

/// The signed-in administrator and the tenants they can manage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminView {
    pub username: String,
    pub tenants: Vec<String>,
}

/// One row of the Applications list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationSummary {
    pub name: String,
    pub display_name: String,
    pub kind: ApplicationKind,
    /// `{resource}:{scope}` strings a client requests, for a resource; empty otherwise.
    pub requestable_scopes: Vec<String>,
    /// The client's token URL, for a client.
    pub token_url: Option<String>,
}

/// A resource with its scopes, as offered by the client wizard's grants picker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceOption {
    pub name: String,
    pub display_name: String,
    pub scopes: Vec<String>,
}

/// URLs of an environment that the wizards show on their summary cards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvironmentUrls {
    /// The issuer, also called the authority.
    pub authority: String,
    pub metadata_url: String,
    pub token_url: String,
}

/// A resource scope selection in the client wizard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantInput {
    pub resource: String,
    pub scopes: Vec<String>,
}

/// A client certificate for `private_key_jwt`, as the console lists it (SPEC 3.5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateView {
    /// The public certificate itself, DER in standard base64; sent back when the client is created.
    pub der_base64: String,
    pub subject: String,
    pub issuer: String,
    pub serial: String,
    /// Start of the validity period, in seconds since 1970.
    pub not_before: i64,
    /// End of the validity period, in seconds since 1970.
    pub not_after: i64,
    pub sha1_thumbprint: String,
    pub sha256_thumbprint: String,
    /// The key id client developers put in their assertion header (the `x5t` value).
    pub kid: String,
    pub key_type: String,
    pub key_size: u32,
}

impl CertificateView {
    /// Whether the certificate is inside its validity period at `now` (seconds since 1970).
    pub fn is_valid_at(&self, now: i64) -> bool {
        self.not_before <= now && now <= self.not_after
    }
}

/// The result of creating a client: the one and only time its secret is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedClient {
    pub client_id: String,
    pub auth_method: crate::rules::ClientAuthMethod,
    /// The generated secret; absent for a `private_key_jwt` client, which has none.
    pub secret: Option<String>,
    pub token_url: String,
    pub scope: String,
}

/// One field the server refused, with a message for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// One stored client secret as the console lists it: never the secret, only its first
/// characters when it is long enough to spare them (SPEC 3.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretView {
    pub id: String,
    /// The first three characters, shown as `abc...`; absent for short secrets.
    pub info: Option<String>,
    /// Seconds since 1970.
    pub created_at: i64,
    /// Seconds since 1970; absent when the secret does not expire.
    pub expires_at: Option<i64>,
}

/// One signing key of an environment, as its settings page lists it (SPEC 5.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningKeyView {
    pub kid: String,
    pub alg: String,
    /// `primary` (signs tokens), `next` (published, signs from `activates_at`) or `retired`
    /// (published until `retires_at` so that tokens it signed still verify).
    pub state: String,
    /// Seconds since 1970.
    pub created_at: i64,
    pub activates_at: Option<i64>,
    pub retires_at: Option<i64>,
}

/// Everything the edit view of one registration shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationDetails {
    pub name: String,
    pub display_name: String,
    pub notes: String,
    pub kind: ApplicationKind,
    /// The resource's scopes, in order; empty for a client only.
    pub scopes: Vec<String>,
    /// `{resource}:{scope}` strings a client requests, for a resource.
    pub requestable_scopes: Vec<String>,
    /// Names of the clients granted scopes of this resource.
    pub granted_to: Vec<String>,
    /// How the client authenticates; absent for a resource only.
    pub auth_method: Option<crate::rules::ClientAuthMethod>,
    pub grants: Vec<GrantInput>,
    pub token_lifetime_secs: i64,
    pub client_credentials_enabled: bool,
    pub secrets: Vec<SecretView>,
    pub certificates: Vec<CertificateView>,
    /// The client's token URL, for a client.
    pub token_url: Option<String>,
}

/// What the edit view saves: the whole editable state of a registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationChanges {
    pub display_name: String,
    /// The technical name (client id, audience); renaming moves the token URL.
    pub name: String,
    pub notes: String,
    pub is_resource: bool,
    pub is_client: bool,
    /// The resource's scopes, in order (ignored unless `is_resource`).
    pub scopes: Vec<String>,
    /// How the client authenticates (ignored unless `is_client`).
    pub auth_method: crate::rules::ClientAuthMethod,
    /// The client's grants (ignored unless `is_client`).
    pub grants: Vec<GrantInput>,
    pub token_lifetime_secs: i64,
    pub client_credentials_enabled: bool,
    /// Set once the administrator confirmed what the change does to clients: they lose the
    /// grants of removed scopes, or must ask a renamed resource by its new name.
    pub confirm_grant_removal: bool,
}

/// A secret just added to a client: its listing, and its value when the server generated it,
/// shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddedSecret {
    pub secret: SecretView,
    pub value: Option<String>,
}

/// One recorded change, as the audit trail page lists it. Never holds a secret value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditView {
    /// Seconds since 1970.
    pub at: i64,
    /// The administrator (or automation client) who made the change.
    pub actor: String,
    pub environment: Option<String>,
    /// What happened, e.g. `client_secret.added`.
    pub action: String,
    /// The registration (or environment, tenant, key) it happened to.
    pub target: Option<String>,
    pub detail: String,
}
