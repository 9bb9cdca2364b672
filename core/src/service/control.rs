//! Who may call the Control API: checking a Fennec access token from a tenant's master
//! environment, its `fennec-control` audience and scope, and that its client still holds them.

use super::*;
use crate::rules::{CONTROL_READ_SCOPE, CONTROL_RESOURCE, CONTROL_WRITE_SCOPE};
use crate::token::ACCESS_TOKEN_TYP;

/// What a Control API call needs from its token: reading, or changing (which includes reading).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ControlAccess {
    Read,
    Write,
}

impl ControlAccess {
    /// The scope string a token must carry for this access; `write` also allows reading.
    pub fn scope(self) -> String {
        let scope = match self {
            ControlAccess::Read => CONTROL_READ_SCOPE,
            ControlAccess::Write => CONTROL_WRITE_SCOPE,
        };
        format!("{CONTROL_RESOURCE}:{scope}")
    }
}

/// The automation client behind a valid Control API token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlCaller {
    /// The one tenant whose data the token reaches.
    pub tenant: String,
    /// The client id in the tenant's master environment.
    pub client: String,
    /// Whether the token carries, and the client is still granted, the write scope.
    pub can_write: bool,
}

impl ControlCaller {
    /// The caller as the domain operations name their actor, e.g. in the audit trail.
    pub fn actor(&self) -> Admin {
        Admin {
            id: format!("client:{}", self.client),
            username: format!("client {}", self.client),
        }
    }

    /// Whether the caller may act on `tenant` with `access`; the refusal says why not.
    pub fn permits(&self, tenant: &str, access: ControlAccess) -> Result<(), ControlRefusal> {
        if tenant != self.tenant {
            return Err(ControlRefusal::OtherTenant);
        }
        match access {
            ControlAccess::Write if !self.can_write => {
                Err(ControlRefusal::InsufficientScope(access.scope()))
            }
            _ => Ok(()),
        }
    }
}

/// Why a Control API call is refused (RFC 6750 §3.1). Messages are safe to send back.
#[derive(Debug, thiserror::Error)]
pub enum ControlRefusal {
    #[error("The request carries no bearer token.")]
    Missing,
    #[error("The access token is not valid: {0}")]
    InvalidToken(&'static str),
    #[error("The access token does not carry the scope {0}.")]
    InsufficientScope(String),
    #[error("The access token is for another tenant.")]
    OtherTenant,
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// The claims a Control API token must have; others are ignored.
#[derive(serde::Deserialize)]
struct ControlClaims {
    iss: String,
    #[serde(default)]
    aud: Audience,
    #[serde(default)]
    scope: String,
    client_id: Option<String>,
    sub: Option<String>,
    exp: Option<i64>,
    nbf: Option<i64>,
    iat: Option<i64>,
}

#[derive(serde::Deserialize, Default)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
    #[default]
    None,
}

impl Audience {
    fn contains(&self, wanted: &str) -> bool {
        match self {
            Audience::One(aud) => aud == wanted,
            Audience::Many(auds) => auds.iter().any(|a| a == wanted),
            Audience::None => false,
        }
    }
}

#[derive(serde::Deserialize)]
struct ControlHeader {
    alg: String,
    kid: Option<String>,
    typ: Option<String>,
}

impl Fennec {
    /// Checks a bearer token for the Control API at `now`, as a resource server would
    /// (RFC 9068 §4): issued by a tenant's master environment, signed by a key it publishes,
    /// `typ` `at+jwt`, in its validity period, for the `fennec-control` audience, with a
    /// Control API scope. The client must still exist there, be enabled and be granted what
    /// the token says, so withdrawing a grant takes effect at once.
    pub async fn authenticate_control(
        &self,
        token: &str,
        now: i64,
    ) -> Result<ControlCaller, ControlRefusal> {
        let bad = ControlRefusal::InvalidToken;
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("it is not a signed JWT."));
        };
        let header: ControlHeader =
            decode_json_part(header).ok_or(bad("its header is unreadable."))?;
        let claims: ControlClaims =
            decode_json_part(payload).ok_or(bad("its claims are unreadable."))?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| bad("its signature is unreadable."))?;

        let typ = header.typ.as_deref().unwrap_or("").to_ascii_lowercase();
        if typ != ACCESS_TOKEN_TYP && typ != "application/at+jwt" {
            return Err(bad("it is not an access token (typ at+jwt)."));
        }
        let tenant = self.master_tenant_of(&claims.iss).ok_or(bad(
            "it was not issued by a master environment of this Fennec.",
        ))?;
        let kid = header.kid.ok_or(bad("it names no signing key."))?;
        let published = self.current_keys(&tenant, MASTER_ENVIRONMENT, now).await;
        let row = published
            .map_err(ServiceError::from)?
            .into_iter()
            .find(|k| k.kid == kid)
            .ok_or(bad("its signing key is not published."))?;
        let key = self.loaded_key(row)?;
        let signed_part = token.len() - token.rsplit('.').next().map_or(0, str::len) - 1;
        if header.alg != key.alg().as_str()
            || !key.verify(&token.as_bytes()[..signed_part], &signature)
        {
            return Err(bad("its signature does not verify."));
        }

        match claims.exp {
            Some(exp) if exp > now => {}
            Some(_) => return Err(bad("it has expired.")),
            None => return Err(bad("it has no expiry.")),
        }
        if claims.nbf.is_some_and(|nbf| nbf > now) {
            return Err(bad("it is not valid yet."));
        }
        if !claims.aud.contains(CONTROL_RESOURCE) {
            return Err(bad("its audience is not fennec-control."));
        }
        let client = claims
            .client_id
            .or(claims.sub)
            .ok_or(bad("it names no client."))?;
        let token_level = access_level(&split_scope_param(&claims.scope));
        if token_level.is_none() {
            return Err(ControlRefusal::InsufficientScope(
                ControlAccess::Read.scope(),
            ));
        }

        let app = self
            .store
            .application(&tenant, MASTER_ENVIRONMENT, &client)
            .await
            .map_err(ServiceError::from)?
            .filter(|a| a.is_client && a.client_credentials_enabled)
            // A token issued before this client was registered belongs to an earlier client
            // of the same name, deleted since.
            .filter(|a| claims.iat.is_some_and(|iat| iat >= a.created_at))
            .ok_or(bad("its client no longer exists or is disabled."))?;
        let granted: Vec<String> = self
            .store
            .client_grants(&app.id)
            .await
            .map_err(ServiceError::from)?
            .into_iter()
            .map(|g| format!("{}:{}", g.resource_name, g.scope))
            .collect();
        // What the token says, as far as the client is still granted it.
        let Some(access) = token_level.min(access_level(&granted)) else {
            return Err(ControlRefusal::InsufficientScope(
                ControlAccess::Read.scope(),
            ));
        };
        Ok(ControlCaller {
            tenant,
            client,
            can_write: access == ControlAccess::Write,
        })
    }

    /// The tenant whose master environment has `issuer` as its issuer, if any.
    fn master_tenant_of(&self, issuer: &str) -> Option<String> {
        let tenant = issuer
            .strip_prefix(self.public_url())?
            .strip_prefix('/')?
            .strip_suffix(&format!("/{MASTER_ENVIRONMENT}/"))?;
        let normalized = rules::normalize_name(tenant).ok()?;
        (normalized == tenant).then(|| tenant.to_string())
    }
}

/// The most a list of scopes allows on the Control API, if anything.
fn access_level(scopes: &[String]) -> Option<ControlAccess> {
    [ControlAccess::Write, ControlAccess::Read]
        .into_iter()
        .find(|access| scopes.contains(&access.scope()))
}

/// One base64url part of a JWT, read as JSON.
fn decode_json_part<T: serde::de::DeserializeOwned>(part: &str) -> Option<T> {
    let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
    serde_json::from_slice(&bytes).ok()
}
